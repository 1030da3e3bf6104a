//! Peer authentication: mutual TLS against the cluster CA and/or the shared
//! cluster secret (a mutual challenge-response), run on every peer
//! connection before HTTP/2 starts, so a process without the credentials
//! cannot vote, append, install a snapshot or forward a write.
//!
//! Owns the handshakes, both sides of them: the listener's filter over
//! accepted connections and the dialer's connector for tonic channels.
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

use super::peer_stream::{AcceptedPeer, DialedPeer};
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
    /// Mutual TLS failed (no or an untrusted certificate, a name mismatch).
    #[error("peer TLS: {0}")]
    Tls(String),
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

/// What members prove to each other: the cluster secret, mutual TLS
/// against the cluster CA, or both (TLS first, the secret inside it).
#[derive(Debug, Clone)]
pub struct PeerCredentials {
    /// The shared secret, if configured.
    pub secret: Option<PeerSecret>,
    /// Mutual TLS, if configured.
    pub tls: Option<PeerTls>,
}

/// Mutual TLS on the peer plane: the listener's acceptor (client
/// certificates required, against the cluster CA) and the dialer's client
/// configuration, both following the same reloading files.
#[derive(Debug, Clone)]
pub struct PeerTls {
    acceptor: crate::tls::TlsAcceptor,
    client: Arc<parking_lot::Mutex<(u64, Arc<rustls::ClientConfig>)>>,
}

impl PeerTls {
    /// Peer TLS from `reloading` (its files name the cluster CA as client CA),
    /// handshakes within `handshake`.
    pub fn new(
        reloading: Arc<crate::tls::Reloading>,
        handshake: Duration,
    ) -> Result<PeerTls, crate::tls::TlsError> {
        let client = crate::tls::build_client(reloading.files())?;
        let generation = reloading.generation();
        Ok(PeerTls {
            acceptor: crate::tls::TlsAcceptor::new(reloading, handshake),
            client: Arc::new(parking_lot::Mutex::new((generation, client))),
        })
    }

    /// The client configuration of the files now in force (rebuilt after a
    /// reload; a failed rebuild keeps the previous one).
    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let reloading = self.acceptor.config();
        let generation = reloading.generation();
        let mut held = self.client.lock();
        if held.0 != generation {
            match crate::tls::build_client(reloading.files()) {
                Ok(config) => *held = (generation, config),
                Err(error) => {
                    tracing::error!(%error, "peer TLS client configuration not reloaded")
                }
            }
        }
        held.1.clone()
    }
}

/// Runs the listener's side of every configured proof on a fresh connection.
async fn accept_peer(
    stream: TcpStream,
    creds: &PeerCredentials,
    on_close: Option<OnClose>,
) -> Result<AcceptedPeer, HandshakeError> {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let watched = WatchedStream::new(stream, on_close);
    let Some(tls) = &creds.tls else {
        let mut plain = watched;
        if let Some(secret) = &creds.secret {
            accept(&mut plain, secret).await?;
        }
        return Ok(AcceptedPeer::Plain(plain));
    };
    let mut stream = tls
        .acceptor
        .accept(watched)
        .await
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    if let Some(secret) = &creds.secret {
        accept(&mut stream, secret).await?;
    }
    Ok(AcceptedPeer::Tls(Box::new(stream)))
}

/// Connections accepted on the peer listener that proved every configured
/// credential within `limit` (at most [`MAX_PENDING`] handshakes at once),
/// with TCP_NODELAY, each reporting its close; the others are closed and
/// counted (`corral_peer_auth_failures_total`).
pub fn authenticated(
    listener: TcpListener,
    creds: PeerCredentials,
    limit: Duration,
    on_close: Option<OnClose>,
) -> impl Stream<Item = std::io::Result<AcceptedPeer>> {
    let failures = metrics::counter!("corral_peer_auth_failures_total");
    tokio_stream::wrappers::TcpListenerStream::new(listener)
        .filter_map(|accepted| async move { accepted.ok() })
        .map(move |stream: TcpStream| {
            let (creds, on_close) = (creds.clone(), on_close.clone());
            async move {
                let from = stream.peer_addr().ok();
                let done = tokio::time::timeout(limit, accept_peer(stream, &creds, on_close)).await;
                done.unwrap_or(Err(HandshakeError::Timeout))
                    .map_err(|error| (from, error))
            }
        })
        .buffer_unordered(MAX_PENDING)
        .filter_map(move |handshake| {
            let failures = failures.clone();
            async move {
                match handshake {
                    Ok(stream) => Some(Ok(stream)),
                    Err((from, error)) => {
                        failures.increment(1);
                        tracing::warn!(?from, %error, "peer connection refused");
                        None
                    }
                }
            }
        })
}

/// How this server dials its peers: TCP with TCP_NODELAY, then TLS and/or
/// the secret handshake, within `limit`.
#[derive(Debug, Clone)]
pub struct PeerDialer {
    creds: PeerCredentials,
    limit: Duration,
}

impl PeerDialer {
    /// Dials proving `creds`; connecting and the handshakes take at most `limit`.
    pub fn new(creds: PeerCredentials, limit: Duration) -> PeerDialer {
        PeerDialer { creds, limit }
    }

    /// Dials with the cluster secret only.
    pub fn with_secret(secret: PeerSecret, limit: Duration) -> PeerDialer {
        PeerDialer::new(
            PeerCredentials {
                secret: Some(secret),
                tls: None,
            },
            limit,
        )
    }

    /// Connects to `host:port` and authenticates.
    pub async fn connect(&self, addr: &str) -> Result<DialedPeer, HandshakeError> {
        let work = async {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let Some(tls) = &self.creds.tls else {
                if let Some(secret) = &self.creds.secret {
                    dial(&mut stream, secret).await?;
                }
                return Ok(DialedPeer::Plain(stream));
            };
            let host = host_of(addr);
            let name = rustls_pki_types::ServerName::try_from(host.to_string())
                .map_err(|e| HandshakeError::Tls(format!("{addr}: {e}")))?;
            let connector = tokio_rustls::TlsConnector::from(tls.client_config());
            let mut stream = connector
                .connect(name, stream)
                .await
                .map_err(|e| HandshakeError::Tls(e.to_string()))?;
            if let Some(secret) = &self.creds.secret {
                dial(&mut stream, secret).await?;
            }
            Ok(DialedPeer::Tls(Box::new(stream)))
        };
        tokio::time::timeout(self.limit, work)
            .await
            .unwrap_or(Err(HandshakeError::Timeout))
    }
}

/// The host part of `host:port` (an IPv6 address without its brackets).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
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
