//! TLS to a server's native listener (rustls on `ring`, no OpenSSL).
//!
//! Owns [`TlsConfig`] (the CA to trust, the client certificate to present
//! for mutual TLS, the name to verify) and opening a gRPC channel over it,
//! for sessions and for [`AdminClient`](crate::AdminClient) alike. A refused
//! handshake (an untrusted, expired or missing certificate) reports rustls'
//! own reason.

use crate::Error;
use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::{Channel, Endpoint};

/// How to reach a TLS listener: whom to trust and what to present.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
    /// True when a client certificate is presented.
    mutual: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .field("client_certificate", &self.mutual)
            .finish()
    }
}

fn invalid(reason: impl std::fmt::Display) -> Error {
    Error::InvalidTls(reason.to_string())
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| invalid(format!("{what} {}: {e}", path.display())))
}

impl TlsConfig {
    /// Trusts the CA certificates of `ca_pem` (PEM) alone; `identity` is a
    /// PEM certificate chain and its private key, presented when the server
    /// asks (mutual TLS).
    pub fn from_pem(ca_pem: &[u8], identity: Option<(&[u8], &[u8])>) -> Result<TlsConfig, Error> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| invalid(format!("CA: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| invalid(format!("CA not usable: {e}")))?;
        }
        if roots.is_empty() {
            return Err(invalid("CA: no CERTIFICATE block"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(invalid)?
            .with_root_certificates(roots);
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(cert_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(format!("certificate: {e}")))?;
                if chain.is_empty() {
                    return Err(invalid("certificate: no CERTIFICATE block"));
                }
                let key = PrivateKeyDer::from_pem_slice(key_pem)
                    .map_err(|e| invalid(format!("key: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| invalid(format!("certificate and key: {e}")))?
            }
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(TlsConfig {
            config: Arc::new(config),
            server_name: None,
            mutual: identity.is_some(),
        })
    }

    /// [`from_pem`](Self::from_pem) with the PEM read from files.
    pub fn from_pem_files(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<TlsConfig, Error> {
        let ca = read("CA", ca)?;
        match identity {
            None => TlsConfig::from_pem(&ca, None),
            Some((cert, key)) => {
                let (cert, key) = (read("certificate", cert)?, read("key", key)?);
                TlsConfig::from_pem(&ca, Some((&cert, &key)))
            }
        }
    }

    /// The name the server's certificate must carry (default: the host of
    /// the address dialed, a DNS name or an IP address).
    pub fn server_name(mut self, name: impl Into<String>) -> TlsConfig {
        self.server_name = Some(name.into());
        self
    }

    /// A gRPC channel to `host` (`host:port`) over TLS, for tools that speak
    /// the native protocol's messages themselves (a load generator).
    pub async fn channel(&self, host: &str) -> Result<Channel, Error> {
        let endpoint = endpoint(host, Duration::from_secs(10)).map_err(Error::Connect)?;
        let (channel, _) = channel(endpoint.tcp_nodelay(true), host, Some(self))
            .await
            .map_err(|e| Error::Connect(format!("{host}: {e}")))?;
        Ok(channel)
    }

    /// The name to verify for `host` (`host:port`).
    fn name_for(&self, host: &str) -> Result<ServerName<'static>, String> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => {
                let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
                bare.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string()
            }
        };
        ServerName::try_from(name.clone()).map_err(|_| format!("{name:?} is not a server name"))
    }
}

/// Every cause of `error`, outermost first, joined (tonic's transport error
/// says only "transport error" on its own).
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        next = cause.source();
    }
    text
}

/// What a gRPC status says, with the causes behind it (a TLS alert, a
/// reset connection).
pub(crate) fn status_text(status: &tonic::Status) -> String {
    use std::error::Error as _;
    match status.source() {
        Some(source) => format!("{}: {}", status.message(), causes(source)),
        None => status.message().to_string(),
    }
}

/// The first I/O error a TLS connection met, kept for the error message:
/// HTTP/2 cancels the call on a broken connection without saying why (a
/// TLS alert: the server refused the client certificate).
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkCause(Arc<Mutex<Option<String>>>);

impl LinkCause {
    fn record(&self, error: &std::io::Error) {
        let mut slot = self.0.lock();
        if slot.is_none() {
            *slot = Some(error.to_string());
        }
    }

    /// `text`, with the recorded cause if it does not say it already.
    pub(crate) fn explain(&self, text: String) -> String {
        match self.0.lock().as_deref() {
            Some(cause) if !text.contains(cause) => format!("{text} ({cause})"),
            _ => text,
        }
    }
}

/// A stream that records its first I/O error in a [`LinkCause`].
struct Recording<S> {
    inner: S,
    cause: LinkCause,
}

impl<S> Recording<S> {
    fn seen<T>(&self, polled: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        if let Poll::Ready(Err(error)) = &polled {
            self.cause.record(error);
        }
        polled
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.seen(polled)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.seen(polled)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.seen(polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.seen(polled)
    }
}

/// Opens a channel to `host` (`host:port`): plain HTTP/2, or over TLS;
/// the [`LinkCause`] explains a later failure of a TLS connection.
pub(crate) async fn channel(
    endpoint: Endpoint,
    host: &str,
    tls: Option<&TlsConfig>,
) -> Result<(Channel, LinkCause), String> {
    let cause = LinkCause::default();
    let Some(tls) = tls else {
        let channel = endpoint.connect().await.map_err(|e| causes(&e))?;
        return Ok((channel, cause));
    };
    let name = tls.name_for(host)?;
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let host = host.to_string();
    let recorded = cause.clone();
    let connect = tower::service_fn(move |_: tonic::transport::Uri| {
        let (connector, name, host) = (connector.clone(), name.clone(), host.clone());
        let cause = recorded.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(&host).await?;
            tcp.set_nodelay(true)?;
            let inner = connector.connect(name, tcp).await?;
            let stream = Recording { inner, cause };
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    let channel = endpoint
        .connect_with_connector(connect)
        .await
        .map_err(|e| causes(&e))?;
    Ok((channel, cause))
}

/// An endpoint for `host` with the keep-alive settings sessions use.
pub(crate) fn endpoint(host: &str, connect_timeout: Duration) -> Result<Endpoint, String> {
    Endpoint::from_shared(format!("http://{host}"))
        .map_err(|e| format!("bad address: {e}"))
        .map(|e| e.connect_timeout(connect_timeout))
}
