//! Building a rustls [`ClientConfig`] for a server that dials others with
//! mutual TLS (peers): trust only the given CA, present its own certificate.

use super::{pem, provider, TlsError, TlsFiles};
use rustls::ClientConfig;
use std::sync::Arc;

/// A client configuration from `files`: `client_ca` (required) is the only
/// trust anchor, `cert`/`key` the certificate presented; server names are
/// verified against the address dialed.
pub fn build_client(files: &TlsFiles) -> Result<Arc<ClientConfig>, TlsError> {
    let Some(ca) = &files.client_ca else {
        return Err(TlsError::Rustls(
            "a dialing configuration needs a CA to trust".into(),
        ));
    };
    let roots = pem::roots(ca)?;
    let chain = pem::certificates("certificate", &files.cert)?;
    let key = pem::private_key(&files.key)?;
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(files.min_version.protocol_versions())
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    Ok(Arc::new(config))
}
