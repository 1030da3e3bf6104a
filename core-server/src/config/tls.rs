//! The TLS settings of a [`Config`]: their checks and the [`TlsFiles`] they
//! name.

use super::{Config, ConfigError};
use crate::tls::{MinVersion, TlsFiles};

impl Config {
    /// The TLS material of the secure listeners, if a certificate is set.
    pub fn tls_files(&self) -> Result<Option<TlsFiles>, ConfigError> {
        let min_version =
            MinVersion::parse(&self.tls_min_version).map_err(|_| ConfigError::Invalid {
                name: "tls_min_version",
                reason: "must be \"1.2\" or \"1.3\" (TLS below 1.2 is not offered)",
            })?;
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
                min_version,
            })),
            (None, None) if self.tls_client_ca.is_none() => Ok(None),
            _ => Err(ConfigError::Invalid {
                name: "tls_cert",
                reason: "tls_cert and tls_key go together (and tls_client_ca needs both)",
            }),
        }
    }

    /// The TLS material of the peer plane (mutual TLS against the cluster
    /// CA), if peer TLS is set: all three files, or none.
    pub fn peer_tls_files(&self) -> Result<Option<TlsFiles>, ConfigError> {
        let min_version =
            MinVersion::parse(&self.tls_min_version).map_err(|_| ConfigError::Invalid {
                name: "tls_min_version",
                reason: "must be \"1.2\" or \"1.3\" (TLS below 1.2 is not offered)",
            })?;
        match (&self.peer_tls_cert, &self.peer_tls_key, &self.peer_tls_ca) {
            (Some(cert), Some(key), Some(ca)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: Some(ca.clone()),
                min_version,
            })),
            (None, None, None) => Ok(None),
            _ => Err(ConfigError::Invalid {
                name: "peer_tls_cert",
                reason: "peer_tls_cert, peer_tls_key and peer_tls_ca go together",
            }),
        }
    }

    /// Checks the TLS settings against each other.
    pub(super) fn validate_tls(&self) -> Result<(), ConfigError> {
        let files = self.tls_files()?;
        self.peer_tls_files()?;
        if self.zk_secure_listen.is_some() && files.is_none() {
            return Err(ConfigError::Invalid {
                name: "zk_secure_listen",
                reason: "needs tls_cert and tls_key",
            });
        }
        if self.tls_reload_ms == 0 || self.max_tls_handshakes == 0 {
            return Err(ConfigError::Invalid {
                name: "tls_reload_ms",
                reason: "tls_reload_ms and max_tls_handshakes must be positive",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_below_1_2_is_a_config_error() {
        for low in ["1.0", "1.1", "TLSv1.1"] {
            let config = Config {
                tls_min_version: low.to_string(),
                ..Config::default()
            };
            assert!(
                matches!(
                    config.validate(),
                    Err(ConfigError::Invalid {
                        name: "tls_min_version",
                        ..
                    })
                ),
                "{low}"
            );
        }
    }

    #[test]
    fn a_secure_port_needs_a_certificate_and_key() {
        let config = Config {
            zk_secure_listen: "127.0.0.1:0".parse().ok(),
            ..Config::default()
        };
        assert!(config.validate().is_err());
        let config = Config {
            zk_secure_listen: "127.0.0.1:0".parse().ok(),
            tls_cert: Some("cert.pem".into()),
            ..Config::default()
        };
        assert!(config.validate().is_err());
        let config = Config {
            zk_secure_listen: "127.0.0.1:0".parse().ok(),
            tls_cert: Some("cert.pem".into()),
            tls_key: Some("key.pem".into()),
            tls_min_version: "1.3".into(),
            ..Config::default()
        };
        config.validate().expect("valid");
        let files = config.tls_files().expect("valid").expect("set");
        assert_eq!(files.min_version, MinVersion::Tls13);
    }
}
