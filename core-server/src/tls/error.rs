//! Why TLS material could not be loaded or a TLS handshake failed.

use std::path::PathBuf;

/// Why a TLS server configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    Read {
        /// Which file: certificate, key or client CA.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A PEM file holds nothing usable (no certificate, no key) or does not parse.
    #[error("bad {what} file {path}: {reason}")]
    Pem {
        /// Which file.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A protocol version below TLS 1.2 (or one unknown) was asked for.
    #[error("unsupported TLS version {0:?}: the minimum is 1.2 (accepted: \"1.2\", \"1.3\")")]
    Version(String),
    /// rustls refused the material (a key that does not match the certificate,
    /// a client CA it cannot use).
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}

/// Why a TLS handshake with a client did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The handshake did not finish within its deadline.
    #[error("the TLS handshake did not finish in time")]
    Timeout,
    /// The peer spoke TLS wrongly or not at all, or its certificate was refused
    /// (missing, from an unknown CA, expired).
    #[error("TLS handshake failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The socket failed or was closed during the handshake.
    #[error("TLS handshake failed: {0}")]
    Io(std::io::Error),
    /// The verified client certificate could not be read for its identity.
    #[error("the client certificate's subject cannot be read: {0}")]
    Identity(String),
}

impl From<std::io::Error> for HandshakeError {
    /// rustls errors reach us wrapped in an `io::Error`; unwrap them so the
    /// log says what was wrong with the peer (e.g. its certificate).
    fn from(error: std::io::Error) -> Self {
        let tls = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned();
        match tls {
            Some(tls) => HandshakeError::Tls(tls),
            None => HandshakeError::Io(error),
        }
    }
}
