//! Owns getting a session stream: one connect attempt to one host (gRPC
//! channel, `Connect` frame, first answer), and the loop that rotates over the
//! hosts with exponential backoff and jitter until one accepts or a deadline.

use super::Shared;
use crate::Error;
use backon::BackoffBuilder;
use proto::v1::corral_client::CorralClient;
use proto::v1::{client_frame::Frame, server_frame, ClientFrame, Connect, Connected, ServerFrame};
use proto::ErrorCode;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

/// Frames the task may have handed to gRPC but not yet written. Overflow
/// policy: backpressure (the task stops taking requests until there is room).
pub(crate) const OUTBOUND_FRAMES: usize = 256;

/// Longest single connect attempt (channel, handshake and first frame).
const ATTEMPT_TIMEOUT_MAX: Duration = Duration::from_secs(5);

/// An established session stream.
pub(crate) struct Link {
    /// Frames to the server.
    pub(crate) tx: mpsc::Sender<ClientFrame>,
    /// Frames from the server.
    pub(crate) rx: tonic::Streaming<ServerFrame>,
}

/// Why an attempt did not produce a session.
enum Refused {
    /// Try another server; the error says why this one did not do.
    Retry(Error),
    /// The session is gone (SessionExpired, AuthFailed).
    Fatal(Error),
}

/// The hosts, tried in turn from a random starting point (so a fleet of
/// clients spreads over the ensemble, like ZooKeeper's host shuffling).
#[derive(Debug)]
pub(crate) struct Hosts {
    list: Vec<String>,
    next: usize,
}

impl Hosts {
    pub(crate) fn new(list: Vec<String>) -> Hosts {
        let next = if list.is_empty() {
            0
        } else {
            rand::random::<usize>() % list.len()
        };
        Hosts { list, next }
    }

    fn take(&mut self) -> Option<&str> {
        let host = self.list.get(self.next % self.list.len().max(1))?;
        self.next = (self.next + 1) % self.list.len();
        Some(host)
    }

    fn len(&self) -> usize {
        self.list.len()
    }
}

async fn open(
    host: &str,
    connect: Connect,
    timeout: Duration,
    tls: Option<&crate::TlsConfig>,
) -> Result<(Link, Connected), Refused> {
    let retry = |detail: String| Refused::Retry(Error::Connect(format!("{host}: {detail}")));
    let endpoint = crate::tls::endpoint(host, timeout)
        .map_err(retry)?
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true);
    let attempt = async {
        let (channel, cause) = crate::tls::channel(endpoint, host, tls)
            .await
            .map_err(retry)?;
        let mut client = CorralClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let (tx, rx) = mpsc::channel(OUTBOUND_FRAMES);
        tx.send(ClientFrame {
            frame: Some(Frame::Connect(connect)),
        })
        .await
        .map_err(|_| retry("stream closed".into()))?;
        let mut inbound = client
            .session(ReceiverStream::new(rx))
            .await
            .map_err(|e| retry(cause.explain(crate::tls::status_text(&e))))?
            .into_inner();
        let first = inbound
            .message()
            .await
            .map_err(|e| retry(cause.explain(crate::tls::status_text(&e))))?;
        Ok((tx, inbound, first))
    };
    let (tx, inbound, first) = tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| retry("connect attempt timed out".into()))??;
    match first.and_then(|f| f.frame) {
        Some(server_frame::Frame::Connected(c)) => Ok((Link { tx, rx: inbound }, c)),
        Some(server_frame::Frame::Rejected(r)) => {
            let error = Error::from_wire(r.err, "");
            tracing::debug!(host, code = r.err, message = %r.message, "connect refused");
            match ErrorCode::try_from(r.err) {
                Ok(ErrorCode::SessionExpired | ErrorCode::AuthFailed) => Err(Refused::Fatal(error)),
                // ConnectionLoss: this server is behind our last zxid or not
                // serving; limits may clear: try the next host.
                _ => Err(Refused::Retry(error)),
            }
        }
        other => Err(retry(format!("unexpected first frame {other:?}"))),
    }
}

fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_secs(1))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Tries every host in turn, pausing with backoff after each full round,
/// until one accepts or `deadline` passes. Creates a session when
/// `shared.session_id` is 0, else reattaches it; on success the session id,
/// password and negotiated timeout are stored in `shared` (and, for a new
/// session, the server's zxid).
///
/// At the deadline: for a new session the last refusal (or
/// [`Error::Connect`]); for an existing one [`Error::SessionExpired`] (nobody
/// could have kept it alive that long). Cancellation-safe: dropping the future
/// drops the half-open attempt.
pub(crate) async fn establish(
    shared: &Shared,
    hosts: &mut Hosts,
    requested_ms: i32,
    deadline: Instant,
) -> Result<Link, Error> {
    let mut delays = backoff();
    let mut last_error = Error::Connect("no attempt made".into());
    let mut tried = 0usize;
    let session_id = shared.session_id.load(Ordering::Relaxed);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(if session_id == 0 {
                last_error
            } else {
                Error::SessionExpired
            });
        }
        let Some(host) = hosts.take().map(str::to_string) else {
            return Err(Error::Connect("no hosts".into()));
        };
        tried += 1;
        let connect = Connect {
            session_id,
            password: shared.password.lock().clone(),
            timeout_ms: requested_ms,
            last_zxid_seen: shared.last_zxid.load(Ordering::Relaxed),
        };
        let budget = (deadline - now).min(ATTEMPT_TIMEOUT_MAX);
        match open(&host, connect, budget, shared.tls.as_ref()).await {
            Ok((link, connected)) => {
                if session_id != 0 && connected.session_id != session_id {
                    // A server that hands out a different session instead of
                    // reattaching ours: ours is gone.
                    return Err(Error::SessionExpired);
                }
                shared
                    .session_id
                    .store(connected.session_id, Ordering::Relaxed);
                *shared.password.lock() = connected.password;
                shared
                    .timeout_ms
                    .store(i64::from(connected.timeout_ms), Ordering::Relaxed);
                if session_id == 0 {
                    // A new session starts at the server's present. On a
                    // reattach the zxid is not taken: SetWatches must carry
                    // the last zxid heard *before* the gap, or changes made
                    // meanwhile would get no catch-up event.
                    shared.seen(connected.zxid);
                }
                tracing::debug!(
                    host,
                    session = connected.session_id,
                    reattached = connected.reattached,
                    timeout_ms = connected.timeout_ms,
                    "session stream open"
                );
                return Ok(link);
            }
            Err(Refused::Fatal(error)) => return Err(error),
            Err(Refused::Retry(error)) => {
                tracing::debug!(host, %error, "connect attempt failed");
                // An attempt the deadline cut short says only that time ran
                // out; an earlier attempt's refusal (an untrusted
                // certificate, a full server) says why, so it is kept.
                let cut_short = budget < ATTEMPT_TIMEOUT_MAX && Instant::now() >= deadline;
                if !(cut_short && tried > 1) {
                    last_error = error;
                }
                if tried.is_multiple_of(hosts.len()) {
                    let pause = delays.next().unwrap_or(Duration::from_secs(1));
                    tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_rotate_over_the_whole_list() {
        let mut hosts = Hosts::new(vec!["a:1".into(), "b:2".into(), "c:3".into()]);
        let round: Vec<String> = (0..6)
            .filter_map(|_| hosts.take().map(str::to_string))
            .collect();
        let mut first: Vec<&String> = round[..3].iter().collect();
        first.sort();
        assert_eq!(first, ["a:1", "b:2", "c:3"], "each host once per round");
        assert_eq!(round[..3], round[3..], "same order every round");
        assert!(Hosts::new(Vec::new()).take().is_none());
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_bounded() {
        let delays: Vec<Duration> = backoff().take(20).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        assert!(delays[19] >= Duration::from_millis(500), "{delays:?}");
    }
}
