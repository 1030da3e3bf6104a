//! A TCP stream on the gRPC port that reports when it closes.
//!
//! The pre-vote (`replication::raft::prevote`) uses it to notice that the
//! connection its leader replicates over has closed, a leader killed or
//! stopped, without waiting out an election timeout of silence.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Called with the peer address of every accepted connection that closed.
pub type OnClose = Arc<dyn Fn(SocketAddr) + Send + Sync>;

/// An accepted TCP stream that calls its [`OnClose`] when dropped.
pub struct WatchedStream {
    inner: TcpStream,
    peer: Option<SocketAddr>,
    on_close: Option<OnClose>,
    /// Bytes read and written (`corral_{received,sent}_bytes_total`,
    /// `protocol="grpc"`: the native API and peer messages share the port).
    received: metrics::Counter,
    sent: metrics::Counter,
}

impl WatchedStream {
    /// Wraps `inner`; `on_close` (if any) hears of its end.
    pub fn new(inner: TcpStream, on_close: Option<OnClose>) -> Self {
        let peer = inner.peer_addr().ok();
        WatchedStream {
            inner,
            peer,
            received: metrics::counter!("corral_received_bytes_total", "protocol" => "grpc"),
            sent: metrics::counter!("corral_sent_bytes_total", "protocol" => "grpc"),
            on_close,
        }
    }
}

impl Drop for WatchedStream {
    fn drop(&mut self) {
        if let (Some(peer), Some(on_close)) = (self.peer, &self.on_close) {
            on_close(peer);
        }
    }
}

impl Connected for WatchedStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.inner.connect_info()
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if read > 0 {
            self.received.increment(read as u64);
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.sent.increment(*n as u64);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &polled {
            self.sent.increment(*n as u64);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn the_close_of_a_stream_is_reported_with_its_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let client_addr = client.local_addr().expect("local");
        let (accepted, _) = listener.accept().await.expect("accept");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let on_close: OnClose = Arc::new(move |peer| record.lock().push(peer));
        let mut watched = WatchedStream::new(accepted, Some(on_close));
        drop(client);
        let mut buf = [0u8; 8];
        assert_eq!(watched.read(&mut buf).await.expect("eof"), 0);
        assert!(seen.lock().is_empty(), "reported only when dropped");
        drop(watched);
        assert_eq!(seen.lock().as_slice(), &[client_addr]);
    }
}
