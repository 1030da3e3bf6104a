//! Guarantee: a 3-server cluster keeps every acknowledged write through
//! leader loss, partitions, catch-up by snapshot and membership changes, and
//! all servers converge to the same tree. Each guarantee runs on a cluster
//! of real `corral` processes and on one of in-process servers.

use anyhow::Context;
use client::{Client, CreateMode, CreateOptions, Error};
use core_server::replication::raft::AdminRequest;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions};
use testkit::eventually;
use testkit::proxy::{Fault, Proxy};

const LIMIT: Duration = Duration::from_secs(30);

async fn client_on(connect: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(connect)
        .session_timeout(Duration::from_secs(10))
        .build()
        .await?)
}

/// Writers creating distinct nodes under `/load` until `stop`; returns the
/// paths whose create was acknowledged.
fn start_writers(
    connect: String,
    writers: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<Vec<String>>>> {
    start_counted_writers(connect, writers, stop, Arc::new(AtomicUsize::new(0)))
}

/// Like [`start_writers`], counting acknowledged creates in `acked`.
fn start_counted_writers(
    connect: String,
    writers: usize,
    stop: Arc<AtomicBool>,
    acked_count: Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<Vec<String>>>> {
    (0..writers)
        .map(|w| {
            let connect = connect.clone();
            let stop = stop.clone();
            let acked_count = acked_count.clone();
            tokio::spawn(async move {
                let c = client_on(&connect).await?;
                let mut acked = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("/load/w{w}-{n}");
                    n += 1;
                    match c
                        .create(&path, b"x", CreateOptions::mode(CreateMode::Persistent))
                        .await
                    {
                        Ok(_) => {
                            acked.push(path);
                            acked_count.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Error::ConnectionLoss) => {}
                        Err(e) => anyhow::bail!("create {path}: {e}"),
                    }
                }
                Ok(acked)
            })
        })
        .collect()
}

async fn join_writers(
    handles: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<String>>>>,
) -> anyhow::Result<Vec<String>> {
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await??);
    }
    Ok(all)
}

/// Checks that every path is present, reading from server `id` only.
async fn assert_present<C: Cluster>(c: &C, id: u64, paths: &[String]) -> anyhow::Result<()> {
    let reader = client_on(&c.addr(id).to_string())
        .await
        .with_context(|| format!("connect to server {id}"))?;
    reader
        .sync("/")
        .await
        .with_context(|| format!("sync on server {id}"))?;
    let present: BTreeSet<String> = reader
        .get_children("/load")
        .await
        .with_context(|| format!("list on server {id}"))?
        .into_iter()
        .map(|name| format!("/load/{name}"))
        .collect();
    let missing: Vec<&String> = paths.iter().filter(|p| !present.contains(*p)).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "server {id} lost {} acknowledged writes, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    Ok(())
}

testkit::on_every_cluster!(
    killing_the_leader_under_load_loses_no_acknowledged_write,
    ClusterOptions::default()
);

async fn killing_the_leader_under_load_loses_no_acknowledged_write<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    let all = c.connect_string(&[1, 2, 3]);
    client_on(&all)
        .await?
        .create("/load", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let writers = start_writers(all.clone(), 4, stop.clone());
    let probe = client_on(&all).await?;
    let progress = Arc::new(StdMutex::new(0u64));
    let count = |p: Arc<StdMutex<u64>>, probe: &Client| {
        let probe = probe.clone();
        async move {
            if let Ok(stat) = probe.exists("/load").await {
                *p.lock().expect("lock") = stat.map_or(0, |s| s.num_children as u64);
            }
        }
    };
    eventually(LIMIT, "some writes before the kill", || {
        let p = progress.clone();
        let probe = &probe;
        async move {
            count(p.clone(), probe).await;
            *p.lock().expect("lock") >= 200
        }
    })
    .await?;
    let leader = c.leader(LIMIT).await?;
    c.crash(leader).await?;
    let before = *progress.lock().expect("lock");
    let new_leader = c.leader(LIMIT).await?;
    assert_ne!(new_leader, leader);
    eventually(LIMIT, "writes to continue under the new leader", || {
        let p = progress.clone();
        let probe = &probe;
        async move {
            count(p.clone(), probe).await;
            *p.lock().expect("lock") >= before + 200
        }
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    let acked = join_writers(writers).await?;
    c.restart(leader).await?;
    c.converged(&[1, 2, 3], LIMIT).await?;
    for id in [1, 2, 3] {
        assert_present(&c, id, &acked).await?;
    }
    Ok(())
}

testkit::on_every_cluster!(
    a_follower_that_was_down_catches_up_by_snapshot,
    ClusterOptions {
        snapshot_every: 100,
        ..ClusterOptions::default()
    }
);

async fn a_follower_that_was_down_catches_up_by_snapshot<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    let leader = c.leader(LIMIT).await?;
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).expect("3");
    let behind = c.status(follower).await?.last_log_index;
    c.crash(follower).await?;
    let live: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != follower).collect();
    let w = client_on(&c.connect_string(&live)).await?;
    w.create("/load", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    let mut acked = Vec::new();
    for n in 0..600 {
        let path = format!("/load/n{n}");
        w.create(&path, b"x", CreateOptions::mode(CreateMode::Persistent))
            .await?;
        acked.push(path);
    }
    let purged_past = c.status(leader).await?;
    assert!(
        purged_past.snapshot_index > behind + 100,
        "the leader compacted past the follower: {purged_past:?}"
    );
    c.restart(follower).await?;
    c.converged(&[1, 2, 3], LIMIT).await?;
    let caught_up = c.status(follower).await?;
    assert!(
        caught_up.snapshot_index > behind,
        "the follower installed a snapshot: {caught_up:?}"
    );
    assert_present(&c, follower, &acked).await?;
    Ok(())
}

testkit::on_every_cluster!(
    a_follower_that_was_down_catches_up_from_the_log_on_disk,
    ClusterOptions {
        settings: tiny_log_cache(),
        ..ClusterOptions::default()
    }
);

/// A log cache of 2 KiB: a few entries stay in memory, the rest are read
/// back from disk.
fn tiny_log_cache() -> core_server::config::settings::Settings {
    let mut settings = core_server::config::settings::Settings::new();
    settings.insert("log_cache_bytes".into(), toml::Value::Integer(2048));
    settings
}

async fn a_follower_that_was_down_catches_up_from_the_log_on_disk<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    let leader = c.leader(LIMIT).await?;
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).expect("3");
    c.crash(follower).await?;
    let live: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != follower).collect();
    let w = client_on(&c.connect_string(&live)).await?;
    w.create("/load", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    let mut acked = Vec::new();
    for n in 0..600 {
        let path = format!("/load/n{n}");
        w.create(
            &path,
            &[7u8; 100],
            CreateOptions::mode(CreateMode::Persistent),
        )
        .await?;
        acked.push(path);
    }
    c.restart(follower).await?;
    c.converged(&[1, 2, 3], LIMIT).await?;
    let caught_up = c.status(follower).await?;
    assert_eq!(
        caught_up.snapshot_index, 0,
        "no snapshot was taken: the follower replayed the leader's log: {caught_up:?}"
    );
    assert_present(&c, follower, &acked).await?;
    Ok(())
}

testkit::on_every_cluster!(
    a_cut_off_minority_cannot_commit_and_all_converge_after_healing,
    ClusterOptions::default()
);

async fn a_cut_off_minority_cannot_commit_and_all_converge_after_healing<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let old_leader = c.leader(LIMIT).await?;
    let majority: Vec<u64> = [1, 2, 3]
        .into_iter()
        .filter(|id| *id != old_leader)
        .collect();
    let on_minority = Client::builder(&c.addr(old_leader).to_string())
        .session_timeout(Duration::from_secs(2))
        .build()
        .await?;
    on_minority
        .create("/before", b"1", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    c.isolate(old_leader);
    // The cut-off leader cannot get a majority: the write is not acknowledged.
    let cut = on_minority
        .create(
            "/minority",
            b"x",
            CreateOptions::mode(CreateMode::Persistent),
        )
        .await;
    assert!(cut.is_err(), "a minority acknowledged a write: {cut:?}");
    // The majority elects a leader and goes on.
    let on_majority = client_on(&c.connect_string(&majority)).await?;
    eventually(LIMIT, "the majority to commit", || async {
        on_majority
            .create(
                "/majority",
                b"y",
                CreateOptions::mode(CreateMode::Persistent),
            )
            .await
            .is_ok()
            || on_majority
                .exists("/majority")
                .await
                .ok()
                .flatten()
                .is_some()
    })
    .await?;
    c.heal();
    c.converged(&[1, 2, 3], LIMIT).await?;
    for id in [1, 2, 3] {
        let r = client_on(&c.addr(id).to_string()).await?;
        r.sync("/").await?;
        assert!(r.exists("/majority").await?.is_some(), "server {id}");
        assert!(r.exists("/before").await?.is_some(), "server {id}");
        assert!(
            r.exists("/minority").await?.is_none(),
            "server {id} has a write only a minority saw"
        );
    }
    Ok(())
}

testkit::on_every_cluster!(
    a_session_survives_the_loss_of_its_server,
    ClusterOptions::default()
);

async fn a_session_survives_the_loss_of_its_server<C: Cluster>(mut c: C) -> anyhow::Result<()> {
    // The client reaches server 1 first: the others sit behind proxies that
    // refuse connections until server 1 is gone.
    let p2 = Proxy::start(c.addr(2)).await?;
    let p3 = Proxy::start(c.addr(3)).await?;
    p2.set(Fault::Drop);
    p3.set(Fault::Drop);
    let connect = format!("{},{},{}", c.addr(1), p2.addr(), p3.addr());
    let held = client_on(&connect).await.context("first connect")?;
    let session = held.session_id();
    held.create("/eph", b"mine", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    held.create("/w", b"0", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    let (_, _, watch) = held.get_data_watch("/w").await?;
    p2.set(Fault::Pass);
    p3.set(Fault::Pass);
    c.crash(1).await?;
    let other = client_on(&c.connect_string(&[2, 3])).await?;
    eventually(LIMIT, "the client to reconnect elsewhere", || async {
        held.exists("/eph").await.is_ok()
    })
    .await
    .with_context(|| format!("state {:?}", held.state()))?;
    assert_eq!(held.session_id(), session, "same session after failover");
    other.set_data("/w", b"1", None).await?;
    tokio::time::timeout(LIMIT, watch)
        .await
        .map_err(|_| anyhow::anyhow!("watch did not fire after failover"))??;
    assert!(other.exists("/eph").await?.is_some(), "ephemeral kept");

    // A session whose client goes silent expires on the leader, and its
    // ephemerals vanish on every server.
    let silent_link = Proxy::start(c.addr(2)).await?;
    let silent = Client::builder(&silent_link.addr().to_string())
        .session_timeout(Duration::from_millis(1000))
        .build()
        .await?;
    silent
        .create(
            "/eph-silent",
            b"",
            CreateOptions::mode(CreateMode::Ephemeral),
        )
        .await?;
    silent_link.set(Fault::Hold);
    c.restart(1).await?;
    for id in [1, 2, 3] {
        let r = client_on(&c.addr(id).to_string()).await?;
        eventually(LIMIT, "the silent session's ephemeral to go", || async {
            r.sync("/").await.is_ok() && matches!(r.exists("/eph-silent").await, Ok(None))
        })
        .await?;
    }
    assert!(other.exists("/eph").await?.is_some(), "live session kept");
    Ok(())
}

testkit::on_every_cluster!(
    adding_and_removing_servers_under_load_loses_nothing,
    ClusterOptions {
        spares: 1,
        ..ClusterOptions::default()
    }
);

async fn adding_and_removing_servers_under_load_loses_nothing<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let all = c.connect_string(&[1, 2, 3]);
    client_on(&all)
        .await?
        .create("/load", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let writers = start_counted_writers(all, 3, stop.clone(), progress.clone());
    let at_least = |n: usize| {
        let progress = progress.clone();
        async move {
            eventually(LIMIT, "writes to be acknowledged", || async {
                progress.load(Ordering::Relaxed) >= n
            })
            .await
        }
    };
    at_least(100).await?;
    let added = c
        .admin(
            1,
            AdminRequest::AddVoter {
                id: 4,
                node: c.peer_node(4),
            },
        )
        .await?;
    assert!(
        added.members.iter().any(|m| m.id == 4 && m.voter),
        "{added:?}"
    );
    let before_remove = progress.load(Ordering::Relaxed);
    at_least(before_remove + 100).await?;
    let leader = c.leader(LIMIT).await?;
    let removed_id = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let after = c
        .admin(leader, AdminRequest::Remove { id: removed_id })
        .await?;
    assert!(
        after.members.iter().all(|m| m.id != removed_id),
        "{after:?}"
    );
    let after_remove = progress.load(Ordering::Relaxed);
    at_least(after_remove + 100).await?;
    stop.store(true, Ordering::Relaxed);
    let acked = join_writers(writers).await?;
    assert!(acked.len() >= 300);
    let remaining: Vec<u64> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != removed_id)
        .collect();
    c.converged(&remaining, LIMIT).await?;
    for id in remaining {
        assert_present(&c, id, &acked).await?;
    }
    Ok(())
}

testkit::on_every_cluster!(
    an_observer_serves_reads_and_forwards_writes_without_voting,
    ClusterOptions {
        spares: 1,
        ..ClusterOptions::default()
    }
);

async fn an_observer_serves_reads_and_forwards_writes_without_voting<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    let status = c
        .admin(
            2,
            AdminRequest::AddLearner {
                id: 4,
                node: c.peer_node(4),
            },
        )
        .await?;
    assert!(
        status.members.iter().any(|m| m.id == 4 && !m.voter),
        "{status:?}"
    );
    let voters = c.connect_string(&[1, 2, 3]);
    client_on(&voters)
        .await?
        .create("/seen", b"1", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    let on_observer = client_on(&c.addr(4).to_string()).await?;
    on_observer.sync("/").await?;
    assert!(on_observer.exists("/seen").await?.is_some());
    on_observer
        .create(
            "/via-observer",
            b"2",
            CreateOptions::mode(CreateMode::Persistent),
        )
        .await?;
    // Losing the observer does not cost the voters their quorum.
    c.crash(4).await?;
    let w = client_on(&voters).await?;
    w.sync("/").await?;
    assert!(w.exists("/via-observer").await?.is_some());
    w.create("/after", b"3", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    c.converged(&[1, 2, 3], LIMIT).await?;
    Ok(())
}

testkit::on_every_cluster!(
    a_write_answered_as_unknown_before_it_was_sent_never_happens,
    ClusterOptions::default()
);

/// A follower that cannot reach its leader holds writes until the write
/// timeout and then answers ConnectionLoss. A write it had not sent by then
/// must be dropped, not sent once the leader is reachable again: the client
/// may already have looked for it and gone on without it (a protected create
/// that finds nothing creates again, and the late one blocks a lock's line
/// for good).
async fn a_write_answered_as_unknown_before_it_was_sent_never_happens<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let leader = c.leader(LIMIT).await?;
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).expect("3");
    let on_follower = Client::builder(&c.addr(follower).to_string())
        .session_timeout(Duration::from_secs(30))
        .build()
        .await?;
    let persistent = || CreateOptions::mode(CreateMode::Persistent);
    on_follower.create("/before", b"", persistent()).await?;
    // The follower still hears the leader (it keeps serving) but cannot
    // open a link to forward writes.
    c.links().set(follower, leader, Fault::Drop);
    let (first, second) = tokio::join!(
        on_follower.create("/unsent-1", b"", persistent()),
        on_follower.create("/unsent-2", b"", persistent()),
    );
    assert!(
        matches!(first, Err(Error::ConnectionLoss)),
        "first: {first:?}"
    );
    assert!(
        matches!(second, Err(Error::ConnectionLoss)),
        "second: {second:?}"
    );
    c.links().set(follower, leader, Fault::Pass);
    // Writes through the follower are forwarded in order: once this one is
    // through, whatever was queued before it was sent or dropped.
    eventually(LIMIT, "a write through the follower", || async {
        on_follower
            .create("/after", b"", persistent())
            .await
            .is_ok()
            || matches!(on_follower.exists("/after").await, Ok(Some(_)))
    })
    .await?;
    let reader = client_on(&c.connect_string(&[leader])).await?;
    reader.sync("/").await?;
    for path in ["/unsent-1", "/unsent-2"] {
        assert!(
            reader.exists(path).await?.is_none(),
            "{path} was answered ConnectionLoss before it was sent, and applied later"
        );
    }
    Ok(())
}
