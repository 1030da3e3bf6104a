//! Simulated clients and the history they record.
//!
//! Owns the workload: each client, with its own seeded RNG, finds a leader
//! and writes (setData), compare-and-sets (setData with a version), reads
//! (through the read index, linearizable) and creates sequential nodes,
//! one operation at a time. Writes go through the server's real proposal
//! path (its waiters and leader batcher) and are answered by its own apply,
//! as a Corral server answers its client. An operation without an answer
//! within the write timeout has an unknown outcome.

use crate::cluster::Node;
use crate::world::World;
use core_server::replication::raft::batcher::{self, Queued, Reply};
use core_server::replication::raft::types::Proposal;
use core_server::replication::Committed;
use core_server::tree::Acl;
use core_server::txn::{CreateTxn, Entry, OpResult, Txn};
use parking_lot::Mutex;
use proto::{CreateMode, ErrorCode};
use rand::rngs::StdRng;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use testkit::linearizability::{Event, Outcome, RegisterOp};

/// How long a client waits for an answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The registers the clients share.
pub const KEYS: usize = 3;
/// The parent of the sequential nodes.
pub const SEQ_PARENT: &str = "/seq";

/// An acknowledged sequential create.
#[derive(Debug, Clone)]
pub struct SeqCreate {
    /// Called at (virtual µs).
    pub call: u64,
    /// Answered at.
    pub ret: u64,
    /// The name it got.
    pub path: String,
}

/// What the clients saw.
#[derive(Debug, Default)]
pub struct History {
    /// Register operations, for the linearizability checker.
    pub registers: Vec<Event>,
    /// Acknowledged sequential creates.
    pub seq: Vec<SeqCreate>,
    /// The zxid of every acknowledged write.
    pub acked_zxids: Vec<i64>,
}

/// The path of register `k`.
pub fn key(k: usize) -> String {
    format!("/r{k}")
}

fn entry(world: &World, txn: Txn) -> Entry {
    Entry {
        time_ms: 1_700_000_000_000 + (world.now_us() / 1000) as i64,
        session_id: 0,
        auth: Vec::new(),
        is_super: true,
        txn,
    }
}

/// Proposes `txn` on `node` as a Corral server does for its client; `None`
/// if no answer came (the outcome is unknown).
pub async fn write(world: &World, node: &Node, txn: Txn) -> Option<Committed> {
    let (token, rx) = node.waiters.register();
    let proposal = Proposal {
        origin: node.id,
        incarnation: node.waiters.incarnation(),
        token,
        entry: entry(world, txn),
    };
    let size = batcher::txn_bytes(&proposal.entry.txn);
    let queued = Queued {
        proposal,
        reply: Reply::Local(node.waiters.clone()),
    };
    node.batcher.send(queued, size).await.ok()?;
    match tokio::time::timeout(WRITE_TIMEOUT, rx).await {
        Ok(Ok(Ok(committed))) => Some(committed),
        _ => None,
    }
}

/// A linearizable read of register `path` on `node`: the read index from a
/// quorum, then the tree once applied that far.
pub async fn read(node: &Node, path: &str) -> Option<(i64, i32)> {
    let (read_id, _) = tokio::time::timeout(WRITE_TIMEOUT, node.raft.get_read_log_id())
        .await
        .ok()?
        .ok()?;
    let index = read_id.map_or(0, |id| id.index);
    // Polled, not `wait_for`: a watch channel wakes its waiters in an order
    // drawn from tokio's unseeded RNG (decision 0016).
    let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
    while *node.applied.borrow() < index {
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let tree = node.state.read();
    let (data, stat) = tree.get_data(path).ok()?;
    let value = std::str::from_utf8(data.as_deref()?).ok()?.parse().ok()?;
    Some((value, stat.version))
}

/// A leader as a client finds one: a random server up, or the leader it
/// names.
fn find_leader(world: &World, rng: &mut StdRng) -> Option<Arc<Node>> {
    let ids = world.up_ids();
    if ids.is_empty() {
        return None;
    }
    let node = world.node(ids[rng.gen_range(0..ids.len())])?;
    if node.is_leader() {
        return Some(node);
    }
    let named = world.node(node.leader()?)?;
    named.is_leader().then_some(named)
}

/// Client `c`: operations until `until` (virtual µs).
pub async fn run(
    world: Arc<World>,
    c: usize,
    mut rng: StdRng,
    until: u64,
    history: Arc<Mutex<History>>,
) {
    let mut counter = 0i64;
    while world.now_us() < until {
        let Some(node) = find_leader(&world, &mut rng) else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        counter += 1;
        let k = rng.gen_range(0..KEYS);
        let path = key(k);
        let call = world.now_us();
        let pick = rng.gen_range(0..100);
        if pick < 25 {
            let seen = read(&node, &path).await;
            let outcome = match seen {
                Some(state) => Outcome::Read(state),
                None => Outcome::Unknown,
            };
            world.note(format_args!("c{c} n{} read {path} -> {seen:?}", node.id));
            if seen.is_some() {
                history.lock().registers.push(Event {
                    key: path,
                    call,
                    ret: Some(world.now_us()),
                    op: RegisterOp::Read,
                    outcome,
                });
            }
        } else if pick < 75 {
            let value = (c as i64 + 1) * 1_000_000 + counter;
            let (op, version) = if pick < 55 {
                (RegisterOp::Write(value), -1)
            } else {
                let expected = rng.gen_range(0..8);
                (
                    RegisterOp::Cas {
                        expected_version: expected,
                        value,
                    },
                    expected,
                )
            };
            let txn = Txn::SetData {
                path: path.clone(),
                data: Some(value.to_string().into_bytes()),
                version,
            };
            let answer = write(&world, &node, txn).await;
            let (outcome, zxid) = match &answer {
                None => (Some(Outcome::Unknown), None),
                Some(c) => match &c.applied.result {
                    Ok(OpResult::DataSet(_)) => (Some(Outcome::Ok), Some(c.zxid)),
                    Err(ErrorCode::BadVersion) => (Some(Outcome::CasFailed), Some(c.zxid)),
                    Ok(_) | Err(_) => (None, Some(c.zxid)),
                },
            };
            world.note(format_args!(
                "c{c} n{} set {path}={value} v{version} -> {outcome:?} zxid {zxid:?}",
                node.id
            ));
            let ret = world.now_us();
            let mut h = history.lock();
            if let Some(z) = zxid {
                h.acked_zxids.push(z);
            }
            if let Some(outcome) = outcome {
                h.registers.push(Event {
                    key: path,
                    call,
                    ret: (outcome != Outcome::Unknown).then_some(ret),
                    op,
                    outcome,
                });
            }
        } else {
            let txn = Txn::Create(CreateTxn {
                path: format!("{SEQ_PARENT}/n-"),
                data: None,
                mode: CreateMode::PersistentSequential,
                ttl_ms: 0,
                acl: Acl::open(),
            });
            let answer = write(&world, &node, txn).await;
            let ret = world.now_us();
            let created = answer.as_ref().and_then(|c| match &c.applied.result {
                Ok(OpResult::Created { path, .. }) => Some((path.clone(), c.zxid)),
                _ => None,
            });
            world.note(format_args!("c{c} n{} create seq -> {created:?}", node.id));
            if let Some((path, zxid)) = created {
                let mut h = history.lock();
                h.acked_zxids.push(zxid);
                h.seq.push(SeqCreate { call, ret, path });
            }
        }
        let pause = rng.gen_range(0..20);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}
