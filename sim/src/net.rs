//! The simulated network between the servers' Raft instances.
//!
//! Owns the links: each RPC is delivered straight to the target's `Raft`
//! handle after a seeded delay, and its answer comes back after another.
//! Faults, all drawn from the network's own seeded RNG: links cut one way
//! or both (partitions), loss of a request or of its answer (the caller
//! then waits out its timeout, as over a dead TCP connection), duplication
//! (a second copy arrives later, after newer messages: reordering), and
//! delay ranges. Also notes, per server, when a leader last reached it
//! (the sim's election timers read it).

use core_server::replication::raft::runtime::RPC_TIMEOUT_FACTOR;
use core_server::replication::raft::types::{NodeId, PeerNode, Raft, TypeConfig};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Message fault settings.
#[derive(Debug, Clone, Copy)]
pub struct Weather {
    /// Probability a request (or an answer) is lost.
    pub loss: f64,
    /// Probability a request is delivered twice.
    pub duplicate: f64,
    /// One-way delay range, ms.
    pub delay_ms: (u64, u64),
}

impl Weather {
    /// A calm network: 1-3 ms, nothing lost.
    pub const CALM: Weather = Weather {
        loss: 0.0,
        duplicate: 0.0,
        delay_ms: (1, 3),
    };
}

struct State {
    rng: StdRng,
    /// (from, to) pairs that deliver nothing.
    cut: BTreeSet<(NodeId, NodeId)>,
    weather: Weather,
    up: BTreeMap<NodeId, Raft>,
    contact: BTreeMap<NodeId, Instant>,
}

/// The network.
pub struct Net {
    state: Mutex<State>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net").finish_non_exhaustive()
    }
}

/// The faults that decide one message's fate, drawn when it is sent.
struct Fate {
    cut_there: bool,
    lost: bool,
    there: Duration,
    duplicate: Option<Duration>,
}

impl Net {
    /// A calm, whole network drawing from `rng`.
    pub fn new(rng: StdRng) -> Arc<Net> {
        Arc::new(Net {
            state: Mutex::new(State {
                rng,
                cut: BTreeSet::new(),
                weather: Weather::CALM,
                up: BTreeMap::new(),
                contact: BTreeMap::new(),
            }),
        })
    }

    /// Connects a started server.
    pub fn attach(&self, id: NodeId, raft: Raft) {
        let mut s = self.state.lock();
        s.up.insert(id, raft);
        s.contact.insert(id, Instant::now());
    }

    /// Disconnects a crashed server.
    pub fn detach(&self, id: NodeId) {
        self.state.lock().up.remove(&id);
    }

    /// Cuts the link `from` → `to`.
    pub fn cut(&self, from: NodeId, to: NodeId) {
        self.state.lock().cut.insert((from, to));
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.state.lock().cut.clear();
    }

    /// Sets the message fault settings.
    pub fn set_weather(&self, weather: Weather) {
        self.state.lock().weather = weather;
    }

    /// How long since a leader's message last reached `id`.
    pub fn since_contact(&self, id: NodeId) -> Duration {
        let s = self.state.lock();
        s.contact.get(&id).map_or(Duration::MAX, |t| {
            Instant::now().saturating_duration_since(*t)
        })
    }

    /// A seeded draw in `lo..=hi` from the network's RNG (for timers).
    pub fn draw(&self, lo: u64, hi: u64) -> u64 {
        self.state.lock().rng.gen_range(lo..=hi.max(lo))
    }

    fn fate(&self, from: NodeId, to: NodeId) -> Fate {
        let mut s = self.state.lock();
        let w = s.weather;
        let cut_there = s.cut.contains(&(from, to));
        let lost = s.rng.gen_bool(w.loss);
        let there = Duration::from_millis(s.rng.gen_range(w.delay_ms.0..=w.delay_ms.1));
        let duplicate = s
            .rng
            .gen_bool(w.duplicate)
            .then(|| Duration::from_millis(s.rng.gen_range(w.delay_ms.0..=w.delay_ms.1 * 10 + 20)));
        Fate {
            cut_there,
            lost,
            there,
            duplicate,
        }
    }

    /// Whether the answer `to` → `from` is lost, and its delay.
    fn answer_fate(&self, from: NodeId, to: NodeId) -> (bool, Duration) {
        let mut s = self.state.lock();
        let w = s.weather;
        let lost = s.cut.contains(&(to, from)) || s.rng.gen_bool(w.loss);
        let back = Duration::from_millis(s.rng.gen_range(w.delay_ms.0..=w.delay_ms.1));
        (lost, back)
    }

    fn target(&self, to: NodeId) -> Option<Raft> {
        self.state.lock().up.get(&to).cloned()
    }

    fn touch(&self, to: NodeId) {
        self.state.lock().contact.insert(to, Instant::now());
    }

    /// Carries `request` from `from` to `to` and its answer back, through
    /// the faults; `call` hands it to the target's Raft.
    async fn exchange<Req, Resp, E, F, Fut>(
        self: &Arc<Net>,
        from: NodeId,
        to: NodeId,
        request: Req,
        call: F,
    ) -> Result<Resp, Failed<E>>
    where
        Req: Clone + Send + 'static,
        Resp: Send + 'static,
        E: std::error::Error + Send + 'static,
        F: Fn(Raft, Req) -> Fut + Send + Sync + Clone + 'static,
        Fut: std::future::Future<Output = Result<Resp, RaftError<NodeId, E>>> + Send,
    {
        let fate = self.fate(from, to);
        if fate.cut_there {
            tokio::time::sleep(fate.there).await;
            return Err(unreachable("link cut"));
        }
        if let Some(later) = fate.duplicate {
            let (net, copy, call) = (self.clone(), request.clone(), call.clone());
            tokio::spawn(async move {
                tokio::time::sleep(later).await;
                if let Some(raft) = net.target(to) {
                    let _ = call(raft, copy).await;
                }
            });
        }
        if fate.lost {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(fate.there).await;
        let Some(raft) = self.target(to) else {
            return Err(unreachable("server down"));
        };
        let answer = call(raft, request).await;
        let (lost, back) = self.answer_fate(from, to);
        if lost {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(back).await;
        match answer {
            Ok(resp) => Ok(resp),
            Err(RaftError::Fatal(_)) => Err(unreachable("server stopped")),
            Err(e) => Err(RPCError::RemoteError(RemoteError::new(to, e))),
        }
    }
}

type Failed<E> = RPCError<NodeId, PeerNode, RaftError<NodeId, E>>;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(&'static str);

/// A peer that cannot be reached. Reported as a network error, not as
/// `Unreachable`: openraft backs off from an unreachable peer in a `select!`
/// without `biased`, whose branch choice comes from tokio's unseeded RNG
/// and would make runs differ (decision 0016).
fn unreachable<E: std::error::Error>(why: &'static str) -> Failed<E> {
    RPCError::Network(NetworkError::new(&Message(why)))
}

/// openraft's network factory for one server.
#[derive(Debug, Clone)]
pub struct SimNetwork {
    /// The server using it.
    pub from: NodeId,
    /// The network.
    pub net: Arc<Net>,
}

impl RaftNetworkFactory<TypeConfig> for SimNetwork {
    type Network = SimConnection;

    async fn new_client(&mut self, target: NodeId, _node: &PeerNode) -> SimConnection {
        SimConnection {
            from: self.from,
            target,
            net: self.net.clone(),
        }
    }
}

/// The link from one server to another.
#[derive(Debug)]
pub struct SimConnection {
    from: NodeId,
    target: NodeId,
    net: Arc<Net>,
}

impl SimConnection {
    async fn timed<R, E: std::error::Error>(
        &self,
        option: &RPCOption,
        f: impl std::future::Future<Output = Result<R, Failed<E>>>,
    ) -> Result<R, Failed<E>> {
        let ttl = option.hard_ttl().saturating_mul(RPC_TIMEOUT_FACTOR);
        match tokio::time::timeout(ttl, f).await {
            Ok(r) => r,
            Err(_) => Err(RPCError::Timeout(openraft::error::Timeout {
                action: openraft::network::RPCTypes::AppendEntries,
                id: self.from,
                target: self.target,
                timeout: ttl,
            })),
        }
    }
}

impl RaftNetwork<TypeConfig> for SimConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, Failed<openraft::error::Infallible>> {
        let net = self.net.clone();
        let (from, to) = (self.from, self.target);
        let noting = net.clone();
        let call = move |raft: Raft, rpc: AppendEntriesRequest<TypeConfig>| {
            let noting = noting.clone();
            async move {
                let current = raft.metrics().borrow().vote;
                if rpc.vote >= current {
                    noting.touch(to);
                }
                raft.append_entries(rpc).await
            }
        };
        self.timed(&option, net.exchange(from, to, rpc, call)).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, Failed<InstallSnapshotError>> {
        let net = self.net.clone();
        let call = |raft: Raft, rpc: InstallSnapshotRequest<TypeConfig>| async move {
            raft.install_snapshot(rpc).await
        };
        self.timed(&option, net.exchange(self.from, self.target, rpc, call))
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, Failed<openraft::error::Infallible>> {
        let net = self.net.clone();
        let call = |raft: Raft, rpc: VoteRequest<NodeId>| async move { raft.vote(rpc).await };
        self.timed(&option, net.exchange(self.from, self.target, rpc, call))
            .await
    }
}
