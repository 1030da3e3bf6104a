//! One simulated run: bootstrap, chaos, healing, verdict.
//!
//! Owns the fault schedule. Every step of the chaos phase draws one fault
//! from the seeded RNG: a server isolated both ways, a one-way cut, a
//! majority/minority split, links healed, a crash (the disk losing
//! unsynced writes, possibly torn), the leader crashed or isolated (leader
//! churn), several servers crashed at once (a power loss), crashed servers
//! restarted, stormy or calm weather (loss, duplication, delay, hence
//! reordering), a slow disk, a clock jump of the whole cluster.

use crate::check;
use crate::client::{self, History, KEYS, SEQ_PARENT};
use crate::cluster::{members, Node};
use crate::disk::Disk;
use crate::net::{Net, Weather};
use crate::world::World;
use core_server::replication::raft::types::NodeId;
use core_server::tree::Acl;
use core_server::txn::{CreateTxn, Txn};
use parking_lot::Mutex;
use proto::CreateMode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Servers (3 or 5).
    pub servers: u64,
    /// Clients.
    pub clients: usize,
    /// Virtual length of the chaos phase.
    pub chaos: Duration,
    /// The planted bug: disks acknowledge appends before their fsync.
    pub ack_before_sync: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            servers: 3,
            clients: 3,
            chaos: Duration::from_secs(15),
            ack_before_sync: false,
        }
    }
}

/// The result of one seed.
#[derive(Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The first invariant violated, if any.
    pub violation: Option<String>,
    /// What happened, one line per event.
    pub trace: Vec<String>,
    /// Register operations and sequential creates recorded.
    pub operations: usize,
}

/// Runs `seed` in a fresh single-threaded runtime on virtual time.
pub fn run_seed(seed: u64, options: &Options) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                seed,
                violation: Some(format!("no runtime: {e}")),
                trace: Vec::new(),
                operations: 0,
            }
        }
    };
    runtime.block_on(simulate(seed, options.clone()))
}

async fn simulate(seed: u64, options: Options) -> Outcome {
    let mut master = StdRng::seed_from_u64(seed);
    let net = Net::new(StdRng::seed_from_u64(master.gen()));
    let disks: BTreeMap<NodeId, Arc<Disk>> = (1..=options.servers)
        .map(|id| {
            let rng = StdRng::seed_from_u64(master.gen());
            (id, Disk::new(rng, options.ack_before_sync))
        })
        .collect();
    let world = Arc::new(World::new(net, disks));
    let history = Arc::new(Mutex::new(History::default()));
    let verdict = drive(&world, &mut master, &options, &history).await;
    let operations = {
        let h = history.lock();
        h.registers.len() + h.seq.len()
    };
    if let Err(v) = &verdict {
        world.note(format_args!("VIOLATION: {v}"));
    }
    let trace = world.trace();
    let ids = world.up_ids();
    for id in ids {
        crash(&world, id).await;
    }
    Outcome {
        seed,
        violation: verdict.err(),
        trace,
        operations,
    }
}

async fn start(world: &World, id: NodeId, bootstrap: bool) -> Result<(), String> {
    let disk = world.disks[&id].clone();
    let members = bootstrap.then(|| members(world.disks.len() as u64));
    let node = Node::start(id, disk, world.net.clone(), members)
        .await
        .map_err(|e| format!("n{id} did not start: {e}"))?;
    world.up.lock().insert(id, Arc::new(node));
    Ok(())
}

async fn crash(world: &World, id: NodeId) {
    let Some(node) = world.up.lock().remove(&id) else {
        return;
    };
    let (kept, lost) = node.crash(&world.net, &world.disks[&id]).await;
    world.note(format_args!(
        "n{id} crashed: {kept} unsynced writes kept, {lost} lost"
    ));
}

/// Waits (virtual time) until `f` holds, or `limit` passes.
async fn until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f()
}

/// A write retried on whichever server leads until it is answered.
async fn settle(world: &World, txn: Txn, limit: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Some(node) = world.leader() {
            if client::write(world, &node, txn.clone()).await.is_some() {
                return Ok(());
            }
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Err(format!("no answer to {txn:?} within {limit:?}"))
}

async fn drive(
    world: &Arc<World>,
    rng: &mut StdRng,
    options: &Options,
    history: &Arc<Mutex<History>>,
) -> Result<(), String> {
    let n = options.servers;
    for id in 1..=n {
        start(world, id, id == 1).await?;
    }
    world.note(format_args!(
        "{n} servers started, seed {:?}",
        rng.gen::<u32>()
    ));
    for k in 0..KEYS {
        settle(
            world,
            create(&client::key(k), Some(b"0".to_vec())),
            Duration::from_secs(30),
        )
        .await?;
    }
    settle(world, create(SEQ_PARENT, None), Duration::from_secs(30)).await?;
    world.note("registers created; chaos begins");
    let watcher = tokio::spawn(watch_leaders(world.clone()));
    let end = world.now_us() + options.chaos.as_micros() as u64;
    let clients: Vec<_> = (0..options.clients)
        .map(|c| {
            let rng = StdRng::seed_from_u64(rng.gen());
            tokio::spawn(client::run(world.clone(), c, rng, end, history.clone()))
        })
        .collect();
    while world.now_us() < end {
        let pause = rng.gen_range(200..1500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        fault(world, rng, n).await?;
    }
    for c in clients {
        c.await.map_err(|e| format!("client panicked: {e}"))?;
    }
    // Heal everything.
    world.net.heal();
    world.net.set_weather(Weather::CALM);
    for disk in world.disks.values() {
        *disk.fsync_ms.lock() = (1, 5);
    }
    for id in 1..=n {
        if world.node(id).is_none() {
            start(world, id, false).await?;
            world.note(format_args!("n{id} restarted"));
        }
    }
    world.note("healed");
    settle(
        world,
        Txn::Check {
            path: "/".into(),
            version: -1,
        },
        Duration::from_secs(60),
    )
    .await?;
    for k in 0..KEYS {
        let path = client::key(k);
        let call = world.now_us();
        let seen = final_read(world, &path).await?;
        world.note(format_args!("final read {path} -> {seen:?}"));
        history
            .lock()
            .registers
            .push(testkit::linearizability::Event {
                key: path,
                call,
                ret: Some(world.now_us()),
                op: testkit::linearizability::RegisterOp::Read,
                outcome: testkit::linearizability::Outcome::Read(seen),
            });
    }
    let leader = world.leader().ok_or("no leader after healing")?;
    let target = leader.last_log_index();
    let all_applied = until(Duration::from_secs(60), || {
        (1..=n).all(|id| {
            world
                .node(id)
                .is_some_and(|s| *s.applied.borrow() >= target)
        })
    })
    .await;
    let digests: Vec<(u64, i64, u64)> = (1..=n)
        .filter_map(|id| {
            let s = world.node(id)?;
            let tree = s.state.read();
            Some((id, tree.last_zxid(), tree.digest()))
        })
        .collect();
    watcher.abort();
    world.note(format_args!("digests {digests:?}"));
    if !all_applied {
        return Err(format!(
            "not every server applied through {target}: {digests:?}"
        ));
    }
    let h = history.lock();
    check::converged(&digests)?;
    check::nothing_lost(&h, &leader.state.read())?;
    check::sequential(&h)?;
    check::linearizable(&h)?;
    Ok(())
}

/// A linearizable read retried on whichever server leads, for 30 s.
async fn final_read(world: &World, path: &str) -> Result<(i64, i32), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if let Some(leader) = world.leader() {
            if let Some(seen) = client::read(&leader, path).await {
                return Ok(seen);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("no final read of {path} within 30 s"))
}

fn create(path: &str, data: Option<Vec<u8>>) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data,
        mode: CreateMode::Persistent,
        ttl_ms: 0,
        acl: Acl::open(),
    })
}

/// Notes each change of who leads, as the servers see it.
async fn watch_leaders(world: Arc<World>) {
    let mut last = String::new();
    loop {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let leaders: Vec<String> = world
            .up
            .lock()
            .values()
            .filter(|n| n.is_leader())
            .map(|n| {
                format!(
                    "n{} (term {})",
                    n.id,
                    n.raft.metrics().borrow().current_term
                )
            })
            .collect();
        let now = format!("leaders: {}", leaders.join(", "));
        if now != last {
            world.note(&now);
            last = now;
        }
    }
}

fn pick(rng: &mut StdRng, ids: &[NodeId]) -> Option<NodeId> {
    (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())])
}

async fn restart_all(world: &World, n: u64) -> Result<(), String> {
    for id in 1..=n {
        if world.node(id).is_none() {
            start(world, id, false).await?;
            world.note(format_args!("n{id} restarted"));
        }
    }
    Ok(())
}

/// Isolates `id` from every other server, both ways.
fn isolate(world: &World, id: NodeId, n: u64) {
    for other in (1..=n).filter(|o| *o != id) {
        world.net.cut(id, other);
        world.net.cut(other, id);
    }
}

async fn fault(world: &World, rng: &mut StdRng, n: u64) -> Result<(), String> {
    let up = world.up_ids();
    let all: Vec<NodeId> = (1..=n).collect();
    let leader = world.leader().map(|l| l.id);
    match rng.gen_range(0..12) {
        0 => {
            if let Some(id) = pick(rng, &all) {
                isolate(world, id, n);
                world.note(format_args!("partition: n{id} isolated"));
            }
        }
        1 => {
            let (a, b) = (pick(rng, &all), pick(rng, &all));
            if let (Some(a), Some(b)) = (a, b) {
                if a != b {
                    world.net.cut(a, b);
                    world.note(format_args!("one-way cut n{a} -> n{b}"));
                }
            }
        }
        2 => {
            let minority = (n - 1) / 2;
            let mut side = all.clone();
            let mut picked = Vec::new();
            for _ in 0..minority {
                let i = rng.gen_range(0..side.len());
                picked.push(side.remove(i));
            }
            for a in &picked {
                for b in &side {
                    world.net.cut(*a, *b);
                    world.net.cut(*b, *a);
                }
            }
            world.note(format_args!("partition: {picked:?} | {side:?}"));
        }
        3 => {
            world.net.heal();
            world.note("links healed");
        }
        4 => {
            if let Some(id) = pick(rng, &up) {
                crash(world, id).await;
            }
        }
        5 => {
            if let Some(id) = leader {
                world.note(format_args!("leader churn: crash leader n{id}"));
                crash(world, id).await;
            }
        }
        6 => {
            world.note("power loss: a majority crashes at once");
            let mut ids = all.clone();
            for _ in 0..(n / 2 + 1) {
                let i = rng.gen_range(0..ids.len());
                crash(world, ids.remove(i)).await;
            }
        }
        7 => restart_all(world, n).await?,
        8 => {
            let weather = if rng.gen_bool(0.5) {
                Weather {
                    loss: rng.gen_range(0.0..0.15),
                    duplicate: rng.gen_range(0.0..0.1),
                    delay_ms: (1, rng.gen_range(2..40)),
                }
            } else {
                Weather::CALM
            };
            world.note(format_args!("weather {weather:?}"));
            world.net.set_weather(weather);
        }
        9 => {
            if let Some(id) = pick(rng, &all) {
                let slow = if rng.gen_bool(0.6) {
                    (20, rng.gen_range(50..400))
                } else {
                    (1, 5)
                };
                *world.disks[&id].fsync_ms.lock() = slow;
                world.note(format_args!("n{id} disk fsync {slow:?} ms"));
            }
        }
        10 => {
            let jump = Duration::from_millis(rng.gen_range(300..3000));
            world.note(format_args!("clock jump of {jump:?}"));
            tokio::time::advance(jump).await;
        }
        _ => {
            if let Some(id) = leader {
                isolate(world, id, n);
                world.note(format_args!("leader churn: leader n{id} isolated"));
            }
        }
    }
    // Crashed servers come back, sooner or later.
    if rng.gen_bool(0.3) {
        let down: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|id| world.node(*id).is_none())
            .collect();
        if let Some(id) = pick(rng, &down) {
            start(world, id, false).await?;
            world.note(format_args!("n{id} restarted"));
        }
    }
    Ok(())
}
