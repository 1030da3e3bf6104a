//! The load generator: requests ads at a target rate, open loop, over many
//! keep-alive HTTP/1.1 connections (hyper's client), spread over the
//! workers. Each connection sends its requests on a fixed schedule whatever
//! the answers take (a slow answer delays the next request on that
//! connection, and its latency counts from when it was due, so queueing is
//! not hidden); a connection that fails moves to the next worker. The
//! workers are a [`Targets`] list that may change during the run (a load
//! balancer adding and removing backends): every connection then moves to
//! its place in the new list.

use crate::model::now_ms;
use crate::report::Tally;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::RwLock;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A request not answered in this time counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// A connection further behind its schedule than this skips ahead.
const MAX_LAG: Duration = Duration::from_secs(1);
/// Pause after a failed connection attempt.
const RECONNECT_PAUSE: Duration = Duration::from_millis(20);

/// The workers' HTTP addresses, changeable while the load runs.
#[derive(Debug, Default)]
pub struct Targets {
    list: RwLock<Vec<SocketAddr>>,
    generation: AtomicU64,
}

impl Targets {
    /// A list of `addrs`.
    pub fn new(addrs: Vec<SocketAddr>) -> Arc<Targets> {
        Arc::new(Targets {
            list: RwLock::new(addrs),
            generation: AtomicU64::new(0),
        })
    }

    /// Replaces the list; every connection moves to its place in it.
    pub fn set(&self, addrs: Vec<SocketAddr>) {
        *self.list.write() = addrs;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current list.
    pub fn get(&self) -> Vec<SocketAddr> {
        self.list.read().clone()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn pick(&self, n: usize) -> Option<SocketAddr> {
        let list = self.list.read();
        (!list.is_empty()).then(|| list[n % list.len()])
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Load {
    /// The workers' HTTP addresses.
    pub targets: Arc<Targets>,
    /// Requests per second, all connections together.
    pub rate: u64,
    /// Keep-alive connections.
    pub connections: usize,
    /// How long.
    pub duration: Duration,
}

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error(transparent)]
    Http(#[from] hyper::Error),
    #[error(transparent)]
    Build(#[from] hyper::http::Error),
    #[error("timed out")]
    Timeout,
    #[error("unexpected answer {0}")]
    Answer(StatusCode),
}

/// Runs `load` and returns what it counted.
pub async fn run(load: Load) -> anyhow::Result<Tally> {
    anyhow::ensure!(!load.targets.get().is_empty(), "no workers to load");
    anyhow::ensure!(load.rate > 0 && load.connections > 0, "nothing to send");
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + load.duration;
    let every = Duration::from_secs_f64(load.connections as f64 / load.rate as f64);
    let mut tasks = Vec::with_capacity(load.connections);
    for c in 0..load.connections {
        let first = start + every.mul_f64(c as f64 / load.connections as f64);
        let targets = load.targets.clone();
        tasks.push(tokio::spawn(connection(targets, c, first, every, end)));
    }
    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(&task.await?);
    }
    Ok(tally)
}

async fn connect(addr: SocketAddr) -> Option<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(sender)
}

/// One connection's schedule: a request every `every` from `first` until
/// `end`, to `targets[index % len]` (the next one after each failure, back
/// to its own place when the list changes).
async fn connection(
    targets: Arc<Targets>,
    index: usize,
    first: Instant,
    every: Duration,
    end: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut failures = 0;
    let mut generation = targets.generation();
    let mut addr = targets.pick(index);
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    let mut due = first;
    while due < end {
        tokio::time::sleep_until(due).await;
        let late = Instant::now().saturating_duration_since(due);
        if late > MAX_LAG {
            let skipped = (late.as_secs_f64() / every.as_secs_f64()) as u64;
            tally.missed += skipped;
            due += every.mul_f64(skipped as f64);
            continue;
        }
        *tally.sent.entry(now_ms() / 1000).or_default() += 1;
        if targets.generation() != generation {
            generation = targets.generation();
            failures = 0;
            let next = targets.pick(index);
            if next != addr {
                addr = next;
                sender = None;
            }
        }
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            sender = match addr {
                Some(a) => connect(a).await,
                None => None,
            };
        }
        let (Some(s), Some(a)) = (sender.as_mut(), addr) else {
            tally.errors += 1;
            failures += 1;
            addr = targets.pick(index + failures);
            tokio::time::sleep(RECONNECT_PAUSE).await;
            due += every;
            continue;
        };
        match request(s, a).await {
            Ok(answer) => {
                tally.latency.record(due.elapsed());
                match answer {
                    Some((campaign, second, worker)) => {
                        *tally
                            .ads
                            .entry(second)
                            .or_default()
                            .entry(campaign)
                            .or_default() += 1;
                        *tally.by_worker.entry(worker).or_default() += 1;
                    }
                    None => tally.no_ad += 1,
                }
            }
            Err(_) => {
                tally.errors += 1;
                sender = None;
                failures += 1;
                addr = targets.pick(index + failures);
            }
        }
        due += every;
    }
    tally
}

/// One `GET /ad`: `Some((campaign, second, worker))` for an ad, `None` for
/// "no ad".
async fn request(
    sender: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
) -> Result<Option<(String, u64, String)>, RequestError> {
    let req = Request::get("/ad")
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::new())?;
    let answer = async {
        sender.ready().await?;
        let res = sender.send_request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        Ok::<_, RequestError>((status, body))
    };
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, answer)
        .await
        .map_err(|_| RequestError::Timeout)??;
    match status {
        StatusCode::NO_CONTENT => Ok(None),
        StatusCode::OK => {
            let text = String::from_utf8_lossy(&body);
            let mut parts = text.split_whitespace();
            match (
                parts.next(),
                parts.next().and_then(|s| s.parse().ok()),
                parts.next(),
            ) {
                (Some(c), Some(second), Some(w)) => {
                    Ok(Some((c.to_string(), second, w.to_string())))
                }
                _ => Err(RequestError::Answer(status)),
            }
        }
        other => Err(RequestError::Answer(other)),
    }
}
