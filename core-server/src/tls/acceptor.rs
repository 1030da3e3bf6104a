//! [`TlsAcceptor`]: the handle a listener uses to turn an accepted socket
//! into a TLS stream, with the configuration current at that moment and a
//! deadline on the handshake, and [`client_identity`] for what the client's
//! verified certificate proves. Any listener (ZooKeeper, native gRPC, peers)
//! can use it on any `AsyncRead + AsyncWrite` stream.

use super::{identity, HandshakeError, Reloading};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;

/// Accepts TLS on streams with a [`Reloading`] configuration.
#[derive(Debug, Clone)]
pub struct TlsAcceptor {
    config: Arc<Reloading>,
    handshake_timeout: Duration,
    /// ALPN protocols offered (none: the ZooKeeper protocol negotiates none).
    alpn: Vec<Vec<u8>>,
}

impl TlsAcceptor {
    /// An acceptor whose handshakes must finish within `handshake_timeout`.
    pub fn new(config: Arc<Reloading>, handshake_timeout: Duration) -> TlsAcceptor {
        TlsAcceptor {
            config,
            handshake_timeout,
            alpn: Vec::new(),
        }
    }

    /// The same acceptor, offering these ALPN protocols (`h2` for gRPC:
    /// gRPC clients refuse a TLS server that does not select it).
    pub fn with_alpn(mut self, protocols: &[&[u8]]) -> TlsAcceptor {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// The configuration it follows.
    pub fn config(&self) -> &Arc<Reloading> {
        &self.config
    }

    /// Runs the server side of the handshake on `stream`. Run it on the
    /// connection's own task, never in an accept loop: a client may stall
    /// it for up to the deadline.
    pub async fn accept<S>(&self, stream: S) -> Result<TlsStream<S>, HandshakeError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut config = self.config.current();
        if !self.alpn.is_empty() {
            let mut with_alpn = (*config).clone();
            with_alpn.alpn_protocols = self.alpn.clone();
            config = Arc::new(with_alpn);
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let handshake = acceptor.accept(stream).into_fallible();
        match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Err(_) => Err(HandshakeError::Timeout),
            Ok(Err((error, stream))) => {
                linger(stream).await;
                Err(HandshakeError::from(error))
            }
            Ok(Ok(stream)) => Ok(stream),
        }
    }
}

/// Most bytes read and dropped from a refused client while it is told why.
const LINGER_BYTES: usize = 64 * 1024;
/// Longest wait for a refused client to close.
const LINGER: Duration = Duration::from_secs(1);

/// Closes a refused connection so that the client reads the alert: rustls
/// has queued it, but closing a socket with unread input (a TLS 1.3 client
/// sends data right after its Finished, before the server judged its
/// certificate) resets the connection and the alert is lost. So the
/// write side is shut (the alert, then FIN) and what the client still
/// sends is read and dropped, for a bounded time and byte count.
async fn linger<S>(mut stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let drain = async {
        let _ = stream.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut read = 0;
        while read < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// What a verified client certificate proves: the ZooKeeper `x509` id of
/// the stream (its subject DN, RFC 2253), or `None` when the client sent no
/// certificate (a listener without a client CA asks for none).
pub fn client_identity<S>(stream: &TlsStream<S>) -> Result<Option<String>, HandshakeError> {
    let (_, session) = stream.get_ref();
    let Some(leaf) = session.peer_certificates().and_then(|chain| chain.first()) else {
        return Ok(None);
    };
    identity::subject_dn(leaf.as_ref())
        .map(Some)
        .map_err(HandshakeError::Identity)
}
