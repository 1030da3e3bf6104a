//! Peer authentication with the shared cluster secret: a mutual
//! challenge-response run on every peer connection before HTTP/2 starts, so
//! a process without the secret cannot vote, append, install a snapshot or
//! forward a write.
//!
//! Owns the handshake, both sides of it: the listener's filter over accepted
//! connections and the dialer's connector for tonic channels.
//!
//! ```text
//! dialer   -> listener: "CRPA" 0x01 dialer_nonce[32]
//! listener -> dialer:   listener_nonce[32] HMAC(secret, "listener" | dialer_nonce | listener_nonce)
//! dialer   -> listener: HMAC(secret, "dialer" | dialer_nonce | listener_nonce)
//! ```
//!
//! Both proofs are bound to both fresh nonces and to a role, so none can be
//! replayed or reflected. Without TLS the traffic after the handshake is
//! neither encrypted nor integrity-protected: the secret keeps out processes
//! that do not hold it, not someone who can alter packets on the path
//! (`docs/security.md`).

use crate::connection::watched::{OnClose, WatchedStream};
use futures::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The first bytes a dialer sends.
const MAGIC: &[u8; 4] = b"CRPA";
/// The handshake's version.
const VERSION: u8 = 1;
/// Bytes of each nonce and each proof.
const LEN: usize = 32;
/// Fewest bytes a cluster secret may have.
pub const MIN_SECRET_BYTES: usize = 16;
/// Most peer handshakes under way at once on one listener.
const MAX_PENDING: usize = 64;

/// The shared cluster secret (never printed).
#[derive(Clone)]
pub struct PeerSecret(Arc<Vec<u8>>);

impl std::fmt::Debug for PeerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerSecret(..)")
    }
}

/// Why a cluster secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read the cluster secret file {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The secret is too short to resist guessing.
    #[error(
        "the cluster secret in {path} has {len} bytes; at least {MIN_SECRET_BYTES} are needed"
    )]
    TooShort {
        /// The file.
        path: std::path::PathBuf,
        /// Its length, without surrounding whitespace.
        len: usize,
    },
}

impl PeerSecret {
    /// A secret of these bytes (at least [`MIN_SECRET_BYTES`]; callers check).
    pub fn new(bytes: impl Into<Vec<u8>>) -> PeerSecret {
        PeerSecret(Arc::new(bytes.into()))
    }

    /// Reads the secret from a file: its contents without surrounding
    /// whitespace, at least [`MIN_SECRET_BYTES`] long.
    pub fn load(path: &Path) -> Result<PeerSecret, SecretError> {
        let bytes = std::fs::read(path).map_err(|source| SecretError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = bytes.trim_ascii();
        if text.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort {
                path: path.to_path_buf(),
                len: text.len(),
            });
        }
        Ok(PeerSecret::new(text.to_vec()))
    }

    fn proof(&self, role: &[u8], dialer: &[u8; LEN], listener: &[u8; LEN]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; the error cannot happen.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(role);
        mac.update(dialer);
        mac.update(listener);
        mac
    }
}

/// Why a peer handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The connection failed or closed.
    #[error("peer handshake: {0}")]
    Io(#[from] std::io::Error),
    /// The other side does not speak Corral's peer handshake.
    #[error("not a Corral peer (bad handshake preamble)")]
    NotAPeer,
    /// The other side does not hold the cluster secret.
    #[error("the other side does not hold the cluster secret")]
    WrongSecret,
    /// The handshake took too long.
    #[error("peer handshake timed out")]
    Timeout,
}

fn nonce() -> [u8; LEN] {
    let mut nonce = [0u8; LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    nonce
}

/// The dialer's side, on a fresh connection.
pub async fn dial<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    secret: &PeerSecret,
) -> Result<(), HandshakeError> {
    let mine = nonce();
    let mut hello = Vec::with_capacity(5 + LEN);
    hello.extend_from_slice(MAGIC);
    hello.push(VERSION);
    hello.extend_from_slice(&mine);
    stream.write_all(&hello).await?;
    let mut theirs = [0u8; LEN];
    stream.read_exact(&mut theirs).await?;
    let mut proof = [0u8; LEN];
    stream.read_exact(&mut proof).await?;
    secret
        .proof(b"listener", &mine, &theirs)
        .verify_slice(&proof)
        .map_err(|_| HandshakeError::WrongSecret)?;
    let answer = secret.proof(b"dialer", &mine, &theirs).finalize();
    stream.write_all(&answer.into_bytes()).await?;
    stream.flush().await?;
    Ok(())
}

/// The listener's side, on an accepted connection.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    secret: &PeerSecret,
) -> Result<(), HandshakeError> {
    let mut hello = [0u8; 5 + LEN];
    stream.read_exact(&mut hello).await?;
    if &hello[..4] != MAGIC || hello[4] != VERSION {
        return Err(HandshakeError::NotAPeer);
    }
    let mut theirs = [0u8; LEN];
    theirs.copy_from_slice(&hello[5..]);
    let mine = nonce();
    let proof = secret.proof(b"listener", &theirs, &mine).finalize();
    let mut reply = Vec::with_capacity(2 * LEN);
    reply.extend_from_slice(&mine);
    reply.extend_from_slice(&proof.into_bytes());
    stream.write_all(&reply).await?;
    stream.flush().await?;
    let mut answer = [0u8; LEN];
    stream.read_exact(&mut answer).await?;
    secret
        .proof(b"dialer", &theirs, &mine)
        .verify_slice(&answer)
        .map_err(|_| HandshakeError::WrongSecret)
}

/// Connections accepted on the peer listener that completed the handshake
/// within `limit` (at most [`MAX_PENDING`] at once), with TCP_NODELAY, each
/// reporting its close; the others are closed and counted
/// (`corral_peer_auth_failures_total`).
pub fn authenticated(
    listener: TcpListener,
    secret: PeerSecret,
    limit: Duration,
    on_close: Option<OnClose>,
) -> impl Stream<Item = std::io::Result<WatchedStream>> {
    let failures = metrics::counter!("corral_peer_auth_failures_total");
    tokio_stream::wrappers::TcpListenerStream::new(listener)
        .filter_map(|accepted| async move { accepted.ok() })
        .map(move |mut stream: TcpStream| {
            let secret = secret.clone();
            async move {
                let from = stream.peer_addr().ok();
                let done = tokio::time::timeout(limit, accept(&mut stream, &secret)).await;
                match done.unwrap_or(Err(HandshakeError::Timeout)) {
                    Ok(()) => Ok(stream),
                    Err(error) => Err((from, error)),
                }
            }
        })
        .buffer_unordered(MAX_PENDING)
        .filter_map(move |handshake| {
            let on_close = on_close.clone();
            let failures = failures.clone();
            async move {
                match handshake {
                    Ok(stream) => {
                        if let Err(error) = stream.set_nodelay(true) {
                            tracing::debug!(%error, "cannot set TCP_NODELAY");
                        }
                        Some(Ok(WatchedStream::new(stream, on_close)))
                    }
                    Err((from, error)) => {
                        failures.increment(1);
                        tracing::warn!(?from, %error, "peer connection refused");
                        None
                    }
                }
            }
        })
}

/// How this server dials its peers: TCP with TCP_NODELAY, then the
/// handshake, within `limit`.
#[derive(Debug, Clone)]
pub struct PeerDialer {
    secret: PeerSecret,
    limit: Duration,
}

impl PeerDialer {
    /// Dials with `secret`; connecting and the handshake take at most `limit`.
    pub fn new(secret: PeerSecret, limit: Duration) -> PeerDialer {
        PeerDialer { secret, limit }
    }

    /// Connects to `host:port` and authenticates.
    pub async fn connect(&self, addr: &str) -> Result<TcpStream, HandshakeError> {
        let work = async {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            dial(&mut stream, &self.secret).await?;
            Ok(stream)
        };
        tokio::time::timeout(self.limit, work)
            .await
            .unwrap_or(Err(HandshakeError::Timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair(dialer: &PeerSecret, listener: &PeerSecret) -> (bool, bool) {
        // Each side drops its end when done, as a real one closes its socket.
        let (mut a, mut b) = tokio::io::duplex(1024);
        let (d, l) = tokio::join!(
            async move {
                let result = dial(&mut a, dialer).await;
                drop(a);
                result
            },
            async move {
                let result = accept(&mut b, listener).await;
                drop(b);
                result
            }
        );
        (d.is_ok(), l.is_ok())
    }

    #[tokio::test]
    async fn the_same_secret_passes_both_ways() {
        let s = PeerSecret::new(b"0123456789abcdef".to_vec());
        assert_eq!(pair(&s, &s).await, (true, true));
    }

    #[tokio::test]
    async fn another_secret_fails_on_both_sides() {
        let a = PeerSecret::new(b"0123456789abcdef".to_vec());
        let b = PeerSecret::new(b"0123456789abcdeX".to_vec());
        assert_eq!(pair(&a, &b).await, (false, false));
    }

    #[tokio::test]
    async fn a_stranger_is_not_a_peer() {
        let s = PeerSecret::new(b"0123456789abcdef".to_vec());
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&[b'P'; 5 + LEN]).await.expect("write");
        assert!(matches!(
            accept(&mut b, &s).await,
            Err(HandshakeError::NotAPeer)
        ));
    }

    #[test]
    fn short_secrets_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "  short\n").expect("write");
        assert!(matches!(
            PeerSecret::load(&path),
            Err(SecretError::TooShort { len: 5, .. })
        ));
        std::fs::write(&path, "a-long-enough-secret\n").expect("write");
        assert!(PeerSecret::load(&path).is_ok());
    }
}
