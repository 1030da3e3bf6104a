//! The byte streams of the peer plane: plain TCP, or TLS when the members
//! use mutual TLS, on the accepting side (reporting its close, for the
//! pre-vote) and on the dialing side.

use crate::connection::watched::WatchedStream;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted peer connection, authenticated.
pub enum AcceptedPeer {
    /// Plain TCP (the cluster secret proved it).
    Plain(WatchedStream),
    /// Mutual TLS against the cluster CA.
    Tls(Box<tokio_rustls::server::TlsStream<WatchedStream>>),
}

/// A dialed peer connection, authenticated.
pub enum DialedPeer {
    /// Plain TCP (the cluster secret proved it).
    Plain(TcpStream),
    /// Mutual TLS against the cluster CA.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Connected for AcceptedPeer {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            AcceptedPeer::Plain(s) => s.connect_info(),
            AcceptedPeer::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

/// Delegates the tokio I/O traits of a two-variant stream enum.
macro_rules! delegate_io {
    ($ty:ident) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => Pin::new(s).poll_read(cx, buf),
                    $ty::Tls(s) => Pin::new(s).poll_read(cx, buf),
                }
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $ty::Plain(s) => Pin::new(s).poll_write(cx, buf),
                    $ty::Tls(s) => Pin::new(s).poll_write(cx, buf),
                }
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => Pin::new(s).poll_flush(cx),
                    $ty::Tls(s) => Pin::new(s).poll_flush(cx),
                }
            }

            fn poll_shutdown(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => Pin::new(s).poll_shutdown(cx),
                    $ty::Tls(s) => Pin::new(s).poll_shutdown(cx),
                }
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $ty::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                    $ty::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $ty::Plain(s) => s.is_write_vectored(),
                    $ty::Tls(s) => s.is_write_vectored(),
                }
            }
        }
    };
}

delegate_io!(AcceptedPeer);
delegate_io!(DialedPeer);
