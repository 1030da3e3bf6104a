//! Recipes on a 3-server cluster (of real `corral` processes, and of
//! in-process servers) while the cluster's leader is crashed: a mutex still never has two holders and every
//! acquisition completes; a leader latch keeps at most one leader and
//! converges on exactly one.

use client::Client;
use recipes::{LeaderLatch, Mutex};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions};
use testkit::eventually;

const LIMIT: Duration = Duration::from_secs(30);

async fn client(connect: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(connect)
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?)
}

testkit::on_every_cluster!(
    a_mutex_stays_exclusive_while_the_cluster_leader_dies,
    ClusterOptions::default()
);

async fn a_mutex_stays_exclusive_while_the_cluster_leader_dies<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    let all = c.connect_string(&[1, 2, 3]);
    let inside = Arc::new(AtomicUsize::new(0));
    let acquired = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let lock = Mutex::new(client(&all).await?, "/locks/cluster");
        let (inside, acquired) = (inside.clone(), acquired.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < 5 {
                // A failover may fail an attempt (outcome unknown): try again.
                let Ok(guard) = lock.acquire().await else {
                    continue;
                };
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
                acquired.fetch_add(1, Ordering::SeqCst);
                done += 1;
                // The lock recipe's guaranteed delete finishes a release
                // that a failover interrupted.
                let _ = guard.release().await;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    eventually(LIMIT, "a few acquisitions", || async {
        acquired.load(Ordering::SeqCst) >= 4
    })
    .await?;
    let leader = c.leader(LIMIT).await?;
    c.crash(leader).await?;
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .map_err(|_| anyhow::anyhow!("lock users stuck after failover"))???;
    }
    assert_eq!(acquired.load(Ordering::SeqCst), 20);
    Ok(())
}

testkit::on_every_cluster!(
    a_leader_latch_keeps_one_leader_through_a_cluster_failover,
    ClusterOptions::default()
);

async fn a_leader_latch_keeps_one_leader_through_a_cluster_failover<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    let all = c.connect_string(&[1, 2, 3]);
    let mut latches = Vec::new();
    for i in 0..3 {
        latches.push(Arc::new(
            LeaderLatch::start(client(&all).await?, "/latch/cluster", &format!("p{i}")).await?,
        ));
    }
    let leaders =
        |latches: &[Arc<LeaderLatch>]| latches.iter().filter(|l| l.has_leadership()).count();
    eventually(LIMIT, "one leader", || async { leaders(&latches) == 1 }).await?;
    // Watch for two leaders at once while the cluster fails over.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (latches, stop) = (latches.clone(), stop.clone());
        tokio::spawn(async move {
            let mut most = 0;
            while !stop.load(Ordering::Relaxed) {
                most = most.max(latches.iter().filter(|l| l.has_leadership()).count());
                tokio::task::yield_now().await;
            }
            most
        })
    };
    let leader = c.leader(LIMIT).await?;
    c.crash(leader).await?;
    c.leader(LIMIT).await?;
    eventually(LIMIT, "exactly one latch leader after failover", || async {
        leaders(&latches) == 1
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    assert!(sampler.await? <= 1, "two latch leaders at once");
    Ok(())
}

testkit::on_every_cluster!(
    semaphores_counters_and_groups_hold_through_a_cluster_failover,
    ClusterOptions::default()
);

async fn semaphores_counters_and_groups_hold_through_a_cluster_failover<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    use recipes::{DistributedAtomicLong, GroupMember, Semaphore};
    let all = c.connect_string(&[1, 2, 3]);
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(
            GroupMember::join(client(&all).await?, "/group/cluster", &format!("m{i}"), b"").await?,
        );
    }
    let holders = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let sem_client = client(&all).await?;
        println!("semaphore user session {:#x}", sem_client.session_id());
        let sem = Semaphore::new(sem_client, "/sem/cluster", 2);
        let counter =
            DistributedAtomicLong::new(client(&all).await?, "/count/cluster", 1000).await?;
        let (holders, most, acked) = (holders.clone(), most.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < 10 {
                let Ok(lease) = sem.acquire().await else {
                    continue;
                };
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                if counter.increment().await.is_ok() {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                holders.fetch_sub(1, Ordering::SeqCst);
                let _ = lease.release().await;
                done += 1;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    eventually(LIMIT, "some increments", || async {
        acked.load(Ordering::SeqCst) >= 4
    })
    .await?;
    let leader = c.leader(LIMIT).await?;
    c.crash(leader).await?;
    for t in tasks {
        if let Ok(done) = tokio::time::timeout(Duration::from_secs(60), t).await {
            done??;
            continue;
        }
        let look = client(&all).await?;
        for base in ["/sem/cluster/locks", "/sem/cluster/leases"] {
            for name in look.get_children(base).await.unwrap_or_default() {
                let stat = look.exists(&format!("{base}/{name}")).await?;
                println!(
                    "{base}/{name}: owner {:x?}",
                    stat.map(|s| s.ephemeral_owner)
                );
            }
        }
        anyhow::bail!("semaphore users stuck after failover");
    }
    assert!(
        most.load(Ordering::SeqCst) <= 2,
        "more than 2 leases at once"
    );
    let reader = client(&c.connect_string(&[1, 2, 3])).await?;
    // Right after a failover a follower may still send the read index to the
    // dead leader, and the sync then ends as ConnectionLoss (issue 9, item
    // 11: followers must switch to the new leader at once). Until that is
    // fixed, wait for a sync to succeed.
    eventually(LIMIT, "a sync succeeds after the failover", || async {
        reader.sync("/").await.is_ok()
    })
    .await?;
    let (data, _) = reader.get_data("/count/cluster").await?;
    let value: i64 = String::from_utf8_lossy(&data).trim().parse().unwrap_or(-1);
    let acked = acked.load(Ordering::SeqCst) as i64;
    assert!(
        value >= acked,
        "an acknowledged increment was lost: {value} < {acked}"
    );
    let listed = recipes::nodes::members(&reader, "/group/cluster").await?;
    assert_eq!(listed.len(), 3, "members kept their sessions: {listed:?}");
    Ok(())
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Settings {
    bid_cents: u32,
}

testkit::on_every_cluster!(
    caches_config_queues_barriers_and_rwlocks_hold_through_a_cluster_failover,
    ClusterOptions::default()
);

async fn caches_config_queues_barriers_and_rwlocks_hold_through_a_cluster_failover<C: Cluster>(
    mut c: C,
) -> anyhow::Result<()> {
    use recipes::{
        Cache, CacheMode, ConfigWatcher, DistributedQueue, DoubleBarrier, ReadWriteLock,
    };
    let all = c.connect_string(&[1, 2, 3]);
    let writer = client(&all).await?;
    writer.create("/cfg", b"root", Default::default()).await?;
    let cache = Cache::start(client(&all).await?, "/cfg", CacheMode::Tree).await?;
    recipes::config::publish(&writer, "/settings", &Settings { bid_cents: 10 }).await?;
    let mut watcher: ConfigWatcher<Settings> =
        ConfigWatcher::start(client(&all).await?, "/settings").await?;
    let queue = DistributedQueue::new(client(&all).await?, "/queue/cluster").await?;
    for i in 0..20 {
        queue.put(format!("item-{i}").as_bytes()).await?;
    }
    let rw = ReadWriteLock::new(client(&all).await?, "/rw/cluster");
    let read_guard = rw.read().await?;

    let leader = c.leader(LIMIT).await?;
    c.crash(leader).await?;
    // A request in flight at the kill ends as ConnectionLoss; once a new
    // leader is up, the clients' sessions carry on.
    c.leader(LIMIT).await?;
    eventually(LIMIT, "the writer to be served again", || async {
        writer.sync("/").await.is_ok()
    })
    .await?;

    // Config and cache see changes made after the failover.
    recipes::config::publish(&writer, "/settings", &Settings { bid_cents: 15 }).await?;
    writer
        .create("/cfg/after", b"x", Default::default())
        .await?;
    cache
        .wait_until(LIMIT, |c| c.get("/cfg/after").is_some())
        .await?;
    loop {
        let v = tokio::time::timeout(LIMIT, watcher.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("config watcher ended"))??;
        if v.value == (Settings { bid_cents: 15 }) {
            break;
        }
    }
    // Every queued item is taken exactly once by two consumers.
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let q = DistributedQueue::new(client(&all).await?, "/queue/cluster").await?;
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = q.poll().await? {
                got.push(String::from_utf8_lossy(&item).into_owned());
            }
            Ok::<_, anyhow::Error>(got)
        }));
    }
    let mut taken = Vec::new();
    for consumer in consumers {
        taken.extend(consumer.await??);
    }
    taken.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("item-{i}")).collect();
    expected.sort();
    assert_eq!(taken, expected, "each item exactly once");
    // A writer waits for the reader that held through the failover.
    let rw2 = ReadWriteLock::new(client(&all).await?, "/rw/cluster");
    let waiting_writer = tokio::spawn(async move { rw2.write().await });
    read_guard.release().await?;
    let write_guard = tokio::time::timeout(LIMIT, waiting_writer).await???;
    assert!(write_guard.is_write());
    write_guard.release().await?;
    // A double barrier with every member on the recovered cluster.
    let mut members = Vec::new();
    for i in 0..3 {
        let b = DoubleBarrier::new(client(&all).await?, "/barrier/cluster", &format!("b{i}"), 3);
        members.push(tokio::spawn(async move {
            let entered = b.enter(LIMIT).await?;
            let left = b.leave(LIMIT).await?;
            Ok::<_, anyhow::Error>(entered && left)
        }));
    }
    for m in members {
        assert!(m.await??, "a barrier member timed out");
    }
    Ok(())
}
