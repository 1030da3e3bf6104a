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
}

impl TlsAcceptor {
    /// An acceptor whose handshakes must finish within `handshake_timeout`.
    pub fn new(config: Arc<Reloading>, handshake_timeout: Duration) -> TlsAcceptor {
        TlsAcceptor {
            config,
            handshake_timeout,
        }
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
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config.current());
        match tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream)).await {
            Err(_) => Err(HandshakeError::Timeout),
            Ok(Err(error)) => Err(HandshakeError::from(error)),
            Ok(Ok(stream)) => Ok(stream),
        }
    }
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
