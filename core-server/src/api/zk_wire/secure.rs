//! The secure port, as ZooKeeper's `secureClientPort`: the same protocol
//! over TLS. Each connection's TLS handshake runs on its own task with the
//! handshake deadline (`handshake_timeout_ms`); a verified client
//! certificate's subject becomes the connection's `x509` id.

use super::{accept_loop, connection, PROTOCOL};
use crate::connection::{ByteBudget, CloseReason};
use crate::service::Service;
use crate::tls::{client_identity, HandshakeError, TlsAcceptor};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Accepts ZooKeeper-protocol connections over TLS until `stop`.
pub async fn serve_secure(
    listener: TcpListener,
    service: Service,
    tls: TlsAcceptor,
    stop: CancellationToken,
) {
    accept_loop(listener, service, stop, Some(tls)).await
}

/// The TLS handshake, then the connection as on the plain port.
pub(super) async fn connection_over_tls(
    service: Service,
    tls: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    close: CancellationToken,
    partial: Arc<ByteBudget>,
) {
    let accepted = tokio::select! {
        _ = close.cancelled() => return,
        accepted = tls.accept(stream) => accepted,
    };
    let identity = accepted.and_then(|stream| Ok((client_identity(&stream)?, stream)));
    let (identity, stream) = match identity {
        Ok(pair) => pair,
        Err(error) => {
            let reason = match error {
                HandshakeError::Timeout => CloseReason::HandshakeTimeout,
                _ => CloseReason::TlsHandshakeFailed,
            };
            tracing::info!(%peer, %error, "TLS handshake refused on the ZooKeeper secure port");
            reason.record(PROTOCOL, Some(peer), 0);
            return;
        }
    };
    let (read, write) = tokio::io::split(stream);
    connection(service, read, write, peer, close, partial, identity).await;
}
