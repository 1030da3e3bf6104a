//! Building a rustls [`ServerConfig`] from [`TlsFiles`]: the `ring` provider,
//! explicit protocol versions, and, when a client CA is given, required and
//! verified client certificates.

use super::{pem, MinVersion, TlsError};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a listener's TLS material lives, and what it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key of that certificate.
    pub key: PathBuf,
    /// PEM bundle of CAs that sign client certificates. Given: every client
    /// must present a certificate that verifies against it (mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// The lowest protocol version offered.
    pub min_version: MinVersion,
}

impl TlsFiles {
    /// Every file this configuration reads (to watch for changes).
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.cert.clone(), self.key.clone()];
        paths.extend(self.client_ca.clone());
        paths
    }
}

/// The `ring` crypto provider (the only one this build has).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the files and builds a server configuration (ALPN none: the
/// ZooKeeper protocol does not negotiate one).
pub fn build(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = pem::certificates("certificate", &files.cert)?;
    let key = pem::private_key(&files.key)?;
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(files.min_version.protocol_versions())
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let roots = Arc::new(pem::roots(ca)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    Ok(Arc::new(config))
}
