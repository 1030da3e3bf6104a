//! Guarantee: on a 3-server cluster, writes and compare-and-sets are
//! linearizable, and so are reads made after `sync` or with the native
//! per-request linearizable option (both use the leader's read index), while
//! the leader is crashed and restarted, servers are cut off and stalled.
//! Operations without an answer are recorded as unknown, never as failed;
//! the history is checked by testkit's WGL-style checker (whose own tests
//! show it rejects a stale read). Runs on processes and in-process servers.

use client::Client;
use std::time::{Duration, Instant};
use testkit::cluster::{Cluster, ClusterOptions};
use testkit::linearizability::workload::{Reads, RegisterWorkload};
use testkit::linearizability::{check, Outcome, RegisterOp};

/// Each worker runs at least this many operations, and goes on until the
/// faults are over.
const OPS_PER_WORKER: u64 = 100;

testkit::on_every_cluster!(
    histories_under_leader_loss_and_partitions_are_linearizable,
    ClusterOptions::default()
);

async fn histories_under_leader_loss_and_partitions_are_linearizable<C: Cluster>(
    mut cluster: C,
) -> anyhow::Result<()> {
    let all = cluster.connect_string(&[1, 2, 3]);
    let workload = RegisterWorkload {
        reads: Reads::Linearizable,
        min_ops_per_worker: OPS_PER_WORKER,
        pace: Some(Duration::from_millis(5)),
    };
    workload.prepare(&Client::connect(&all).await?).await?;
    let mut clients = Vec::new();
    for _ in 0..4 {
        let client = Client::builder(&all)
            .session_timeout(Duration::from_secs(30))
            .build()
            .await?;
        clients.push(client);
    }
    let began = Instant::now();
    let running = workload.start(clients);
    // Faults while the clients run, each waiting for the cluster to recover
    // enough (a leader) before the next.
    let limit = Duration::from_secs(30);
    let leader = cluster.leader(limit).await?;
    cluster.crash(leader).await?;
    cluster.leader(limit).await?;
    cluster.restart(leader).await?;
    let leader = cluster.leader(limit).await?;
    cluster.isolate(leader);
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).expect("3");
    cluster.stall(follower)?;
    cluster.unstall(follower)?;
    cluster.leader(limit).await?;
    cluster.heal();
    println!("faults over at {} ms", began.elapsed().as_millis());
    let mut history = running.finish().await?;
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
