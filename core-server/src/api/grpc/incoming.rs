//! The native listener's accepted connections, plain or over TLS.
//!
//! Owns turning accepted sockets into the streams tonic serves: Nagle's
//! algorithm off, bytes counted, and, when the listener has a certificate,
//! the TLS handshake. Handshakes never run in the accept loop: each runs on
//! its own task within `handshake_timeout_ms`, at most `max_tls_handshakes`
//! at once (a connection beyond that is closed at once and counted), so a
//! client that stalls its handshake delays nobody. What a verified client
//! certificate proves travels with the stream as [`NativeConnectInfo`].

use crate::connection::watched::WatchedStream;
use crate::connection::CloseReason;
use crate::tls::{client_identity, HandshakeError, TlsAcceptor};
use futures::{Stream, StreamExt};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

const PROTOCOL: &str = "grpc";

/// What the native API knows of a connection: where it comes from and the
/// `x509` id (subject DN) its verified client certificate proved. Tonic puts
/// it in every request's extensions ([`NativeConnectInfo::of`]).
#[derive(Debug, Clone, Default)]
pub struct NativeConnectInfo {
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// The subject DN of the client's verified certificate.
    pub x509: Option<String>,
}

impl NativeConnectInfo {
    /// The connection facts of a request (empty if it carries none).
    pub fn of<T>(request: &tonic::Request<T>) -> NativeConnectInfo {
        request
            .extensions()
            .get::<NativeConnectInfo>()
            .cloned()
            .unwrap_or_default()
    }
}

enum Inner {
    Plain(WatchedStream),
    Tls(Box<TlsStream<WatchedStream>>),
}

/// An accepted connection of the native listener.
pub struct NativeStream {
    inner: Inner,
    info: NativeConnectInfo,
}

impl Connected for NativeStream {
    type ConnectInfo = NativeConnectInfo;

    fn connect_info(&self) -> NativeConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for NativeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for NativeStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Plain(s) => s.is_write_vectored(),
            Inner::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// A freshly accepted socket: TCP_NODELAY on (small frames must not wait
/// for delayed ACKs), bytes counted.
fn prepare(stream: TcpStream) -> (WatchedStream, Option<SocketAddr>) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let peer = stream.peer_addr().ok();
    (WatchedStream::new(stream, None), peer)
}

/// The connections of the native listener: plain, or over TLS when `tls`
/// is given (at most `max_handshakes` handshakes at once), until `stop`.
pub fn incoming(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    max_handshakes: usize,
    stop: CancellationToken,
) -> Pin<Box<dyn Stream<Item = std::io::Result<NativeStream>> + Send>> {
    let Some(tls) = tls else {
        return Box::pin(TcpListenerStream::new(listener).map(|accepted| {
            accepted.map(|stream| {
                let (stream, remote_addr) = prepare(stream);
                NativeStream {
                    inner: Inner::Plain(stream),
                    info: NativeConnectInfo {
                        remote_addr,
                        x509: None,
                    },
                }
            })
        }));
    };
    let (tx, rx) = mpsc::channel(max_handshakes.max(1));
    tokio::spawn(accept_tls(listener, tls, max_handshakes, tx, stop));
    Box::pin(ReceiverStream::new(rx).map(Ok))
}

/// Accepts sockets and hands each to a handshake task; the finished
/// streams go to `tx`.
async fn accept_tls(
    listener: TcpListener,
    tls: TlsAcceptor,
    max_handshakes: usize,
    tx: mpsc::Sender<NativeStream>,
    stop: CancellationToken,
) {
    let handshakes = Arc::new(Semaphore::new(max_handshakes.max(1)));
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed on the native listener");
                    continue;
                }
            },
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            CloseReason::TooManyConnections.record(PROTOCOL, Some(peer), 0);
            drop(stream);
            continue;
        };
        let (tls, tx, stop) = (tls.clone(), tx.clone(), stop.clone());
        tokio::spawn(async move {
            let (stream, remote_addr) = prepare(stream);
            let accepted = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = tls.accept(stream) => accepted,
            };
            let proved = accepted.and_then(|s| Ok((client_identity(&s)?, s)));
            let (x509, stream) = match proved {
                Ok(pair) => pair,
                Err(error) => {
                    let reason = match error {
                        HandshakeError::Timeout => CloseReason::HandshakeTimeout,
                        _ => CloseReason::TlsHandshakeFailed,
                    };
                    tracing::info!(%peer, %error, "TLS handshake refused on the native listener");
                    reason.record(PROTOCOL, Some(peer), 0);
                    return;
                }
            };
            let stream = NativeStream {
                inner: Inner::Tls(Box::new(stream)),
                info: NativeConnectInfo { remote_addr, x509 },
            };
            // Held until tonic takes the stream: handshakes finished but not
            // yet served count against the bound too.
            let _ = tx.send(stream).await;
            drop(permit);
        });
    }
}
