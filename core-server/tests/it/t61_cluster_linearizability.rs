//! Guarantee: on a 3-server cluster, writes and compare-and-sets are
//! linearizable, and so are reads made after `sync` or with the native
//! per-request linearizable option (both use the leader's read index), while the leader is killed and restarted, servers are cut off and
//! paused. Operations without an answer are recorded as unknown, never as
//! failed; the history is checked by testkit's WGL-style checker (whose own
//! tests show it rejects a stale read).

use client::{Client, CreateMode, CreateOptions, Error};
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};
use testkit::cluster::{ClusterOptions, ProcessCluster};
use testkit::linearizability::{check, Event, Outcome, RegisterOp};

const KEYS: [&str; 3] = ["/lin/a", "/lin/b", "/lin/c"];
/// Each worker runs at least this many operations, and goes on until the
/// faults are over.
const OPS_PER_WORKER: i64 = 100;

fn value_of(data: &[u8]) -> i64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn is_unknown(e: &Error) -> bool {
    matches!(e, Error::ConnectionLoss)
}

async fn one_op(
    c: &Client,
    rng: &mut rand::rngs::StdRng,
    known_version: &mut [i32; 3],
    value: i64,
) -> anyhow::Result<(String, RegisterOp, Outcome)> {
    let k = rng.gen_range(0..KEYS.len());
    let key = KEYS[k];
    let (op, outcome) = match rng.gen_range(0..3) {
        0 => {
            // Either ZooKeeper's idiom (sync, then read) or the native
            // per-request linearizable read.
            let read = if rng.gen_bool(0.5) {
                c.get_data_linearizable(key).await
            } else {
                match c.sync(key).await {
                    Ok(()) => c.get_data(key).await,
                    Err(e) => Err(e),
                }
            };
            match read {
                Ok((data, stat)) => {
                    known_version[k] = stat.version;
                    (
                        RegisterOp::Read,
                        Outcome::Read((value_of(&data), stat.version)),
                    )
                }
                Err(e) if is_unknown(&e) => (RegisterOp::Read, Outcome::Unknown),
                Err(e) => anyhow::bail!("read failed: {e}"),
            }
        }
        1 => match c.set_data(key, value.to_string().as_bytes(), None).await {
            Ok(_) => (RegisterOp::Write(value), Outcome::Ok),
            Err(e) if is_unknown(&e) => (RegisterOp::Write(value), Outcome::Unknown),
            Err(e) => anyhow::bail!("write failed: {e}"),
        },
        _ => {
            let op = RegisterOp::Cas {
                expected_version: known_version[k],
                value,
            };
            match c
                .set_data(key, value.to_string().as_bytes(), Some(known_version[k]))
                .await
            {
                Ok(stat) => {
                    known_version[k] = stat.version;
                    (op, Outcome::Ok)
                }
                Err(Error::BadVersion { .. }) => (op, Outcome::CasFailed),
                Err(e) if is_unknown(&e) => (op, Outcome::Unknown),
                Err(e) => anyhow::bail!("cas failed: {e}"),
            }
        }
    };
    Ok((key.to_string(), op, outcome))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn histories_under_leader_loss_and_partitions_are_linearizable() -> anyhow::Result<()> {
    let mut cluster =
        ProcessCluster::start(testkit::corral_binary(), ClusterOptions::default()).await?;
    let all = cluster.connect_string(&[1, 2, 3]);
    let setup = Client::connect(&all).await?;
    setup
        .create("/lin", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    for key in KEYS {
        setup
            .create(key, b"0", CreateOptions::mode(CreateMode::Persistent))
            .await?;
    }
    let history = Arc::new(StdMutex::new(Vec::<Event>::new()));
    let base = Instant::now();
    let now = move || base.elapsed().as_nanos() as u64;
    let faults_over = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for id in 0..4u64 {
        let faults_over = faults_over.clone();
        let c = Client::builder(&all)
            .session_timeout(Duration::from_secs(30))
            .build()
            .await?;
        let history = history.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(id);
            let mut known_version = [0i32; 3];
            // Paced, so that operations overlap every fault.
            let mut pace = tokio::time::interval(Duration::from_millis(5));
            let mut n = 0;
            while n < OPS_PER_WORKER || !faults_over.load(std::sync::atomic::Ordering::Relaxed) {
                pace.tick().await;
                n += 1;
                let call = now();
                let (key, op, outcome) =
                    one_op(&c, &mut rng, &mut known_version, id as i64 * 1000 + n).await?;
                let ret = (outcome != Outcome::Unknown).then(now);
                if let Ok(mut h) = history.lock() {
                    h.push(Event {
                        key,
                        call,
                        ret,
                        op,
                        outcome,
                    });
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    // Faults while the clients run, each waiting for the cluster to recover
    // enough (a leader) before the next.
    let limit = Duration::from_secs(30);
    let leader = cluster.leader(limit).await?;
    cluster.kill9(leader)?;
    cluster.leader(limit).await?;
    cluster.restart(leader)?;
    let leader = cluster.leader(limit).await?;
    cluster.isolate(leader);
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).expect("3");
    cluster.pause(follower)?;
    cluster.resume(follower)?;
    cluster.leader(limit).await?;
    cluster.heal();
    faults_over.store(true, std::sync::atomic::Ordering::Relaxed);
    println!("faults over at {} ms", base.elapsed().as_millis());
    for w in workers {
        w.await??;
    }
    let mut history = history
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert!(history.len() >= 4 * OPS_PER_WORKER as usize);
    // A read without an answer constrains nothing: leave it out.
    history.retain(|e| !(e.op == RegisterOp::Read && e.outcome == Outcome::Unknown));
    let unknown = history
        .iter()
        .filter(|e| e.outcome == Outcome::Unknown)
        .count();
    println!(
        "{} operations, {unknown} with unknown outcome",
        history.len()
    );
    let known = history.len() - unknown;
    assert!(
        known * 2 > history.len(),
        "most operations must have an answer for the check to mean something"
    );
    check(&history, (0, 0)).map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}
