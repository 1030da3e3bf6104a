//! The lowest TLS protocol version a listener offers: 1.2 or 1.3, never
//! lower (asked for explicitly, so a rustls default can never widen it).

use super::TlsError;
use rustls::SupportedProtocolVersion;

/// The lowest protocol version offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinVersion {
    /// TLS 1.2 and 1.3 (the default, as ZooKeeper's clients need 1.2).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

impl MinVersion {
    /// `"1.2"` or `"1.3"` (also `"TLSv1.2"`, `"TLSv1.3"`, as ZooKeeper
    /// spells its `ssl.protocol`); anything lower or unknown is refused.
    pub fn parse(text: &str) -> Result<MinVersion, TlsError> {
        let bare = text.trim();
        let bare = bare
            .strip_prefix("TLSv")
            .or_else(|| bare.strip_prefix("tlsv"))
            .unwrap_or(bare);
        match bare {
            "1.2" => Ok(MinVersion::Tls12),
            "1.3" => Ok(MinVersion::Tls13),
            _ => Err(TlsError::Version(text.to_string())),
        }
    }

    /// The protocol versions rustls is told to offer.
    pub fn protocol_versions(self) -> &'static [&'static SupportedProtocolVersion] {
        static BOTH: [&SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        static ONLY_1_3: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self {
            MinVersion::Tls12 => &BOTH,
            MinVersion::Tls13 => &ONLY_1_3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_1_2_and_1_3_are_accepted() {
        assert_eq!(MinVersion::parse("1.2").ok(), Some(MinVersion::Tls12));
        assert_eq!(MinVersion::parse("TLSv1.3").ok(), Some(MinVersion::Tls13));
        for low in ["1.0", "1.1", "TLSv1.1", "SSLv3", "", "2"] {
            assert!(
                matches!(MinVersion::parse(low), Err(TlsError::Version(_))),
                "{low}"
            );
        }
        assert_eq!(MinVersion::Tls13.protocol_versions().len(), 1);
    }
}
