//! Leader latch, group membership, counters, queues, barriers and the config
//! watcher against a real server, with contention, expiry and reconnects.

use futures::StreamExt;
use recipes::{
    Barrier, ConfigWatcher, DistributedAtomicLong, DistributedQueue, DoubleBarrier, GroupMember,
    LeaderLatch, SharedCount,
};
use std::collections::BTreeSet;
use std::time::Duration;
use testkit::{eventually, TestServer};

mod common;
use common::{client, WAIT};

#[tokio::test]
async fn exactly_one_leader_and_a_successor_takes_over() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut latches = Vec::new();
    for i in 0..3 {
        latches
            .push(LeaderLatch::start(client(&server).await?, "/election", &format!("p{i}")).await?);
    }
    assert!(latches[0].await_leadership(WAIT).await?);
    eventually(WAIT, "one leader", || async {
        latches.iter().filter(|l| l.has_leadership()).count() == 1
    })
    .await?;
    assert_eq!(latches[1].leader_id().await?.as_deref(), Some("p0"));
    let first_token = latches[0].fencing_token();
    let leader = latches.remove(0);
    leader.close().await?;
    assert!(
        latches[0].await_leadership(WAIT).await?,
        "the next in line leads"
    );
    assert!(!latches[1].has_leadership());
    assert!(latches[0].fencing_token() > first_token);
    Ok(())
}

#[tokio::test]
async fn a_leader_whose_session_expires_is_told_and_replaced() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let a = client(&server).await?;
    let leader = LeaderLatch::start(a.clone(), "/election2", "a").await?;
    assert!(leader.await_leadership(WAIT).await?);
    let follower = LeaderLatch::start(client(&server).await?, "/election2", "b").await?;
    let mut state = leader.subscribe();
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    assert!(handle.service().expire_session_now(a.session_id()).await);
    tokio::time::timeout(WAIT, state.wait_for(|l| !*l)).await??;
    assert!(follower.await_leadership(WAIT).await?);
    Ok(())
}

#[tokio::test]
async fn group_members_see_joins_leaves_and_expiries() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let a = GroupMember::join(client(&server).await?, "/groups/web", "a", b"10.0.0.1").await?;
    let b_client = client(&server).await?;
    let b = GroupMember::join(b_client.clone(), "/groups/web", "b", b"10.0.0.2").await?;
    let mut view = a.watch().await?;
    let first = tokio::time::timeout(WAIT, view.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("ended"))?;
    assert_eq!(first.keys().cloned().collect::<Vec<_>>(), vec!["a", "b"]);
    assert!(matches!(
        GroupMember::join(client(&server).await?, "/groups/web", "a", b"").await,
        Err(recipes::RecipeError::Client(
            client::Error::NodeExists { .. }
        ))
    ));
    let c = GroupMember::join(client(&server).await?, "/groups/web", "c", b"10.0.0.3").await?;
    loop {
        let members = tokio::time::timeout(WAIT, view.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("ended"))?;
        if members.len() == 3 {
            assert_eq!(members.get("c").map(Vec::as_slice), Some(&b"10.0.0.3"[..]));
            break;
        }
    }
    c.leave().await?;
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    assert!(
        handle
            .service()
            .expire_session_now(b_client.session_id())
            .await
    );
    loop {
        let members = tokio::time::timeout(WAIT, view.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("ended"))?;
        if members.len() == 1 {
            assert!(members.contains_key("a"));
            break;
        }
    }
    eventually(WAIT, "b's membership lost", || async {
        b.hold() == recipes::Hold::Lost
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn counters_count_every_increment_exactly_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = client(&server).await?;
        tasks.push(tokio::spawn(async move {
            let counter = DistributedAtomicLong::new(c, "/counters/hits", 1000).await?;
            for _ in 0..25 {
                counter.increment().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let c = client(&server).await?;
    let shared = SharedCount::new(c, "/counters/hits", 0).await?;
    let (value, version) = shared.get().await?;
    assert_eq!(value, 100);
    assert!(
        !shared.try_set(5, version + 1).await?,
        "a stale version is refused"
    );
    assert!(shared.try_set(5, version).await?);
    Ok(())
}

#[tokio::test]
async fn every_queued_item_goes_to_exactly_one_consumer() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let producer = DistributedQueue::new(client(&server).await?, "/queues/jobs").await?;
    for i in 0..30 {
        producer.put(format!("job-{i}").as_bytes()).await?;
    }
    let mut consumers = Vec::new();
    for _ in 0..3 {
        let q = DistributedQueue::new(client(&server).await?, "/queues/jobs").await?;
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = q.poll().await? {
                got.push(String::from_utf8_lossy(&item).into_owned());
            }
            Ok::<_, anyhow::Error>(got)
        }));
    }
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.await??);
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!((all.len(), unique.len()), (30, 30), "each item taken once");
    // take() waits for an item; priorities come first.
    let waiting = tokio::spawn(async move { producer.take(WAIT).await });
    let q = DistributedQueue::new(client(&server).await?, "/queues/jobs").await?;
    q.put_with_priority(b"urgent", 0).await?;
    assert_eq!(waiting.await??, b"urgent");
    q.put_with_priority(b"later", 5).await?;
    q.put_with_priority(b"first", 1).await?;
    assert_eq!(q.poll().await?, Some(b"first".to_vec()));
    Ok(())
}

#[tokio::test]
async fn barriers_release_waiters_and_double_barriers_gather_late_members() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let barrier = Barrier::new(client(&server).await?, "/barriers/b");
    barrier.set().await?;
    let waiter = Barrier::new(client(&server).await?, "/barriers/b");
    let waiting = tokio::spawn(async move { waiter.wait(WAIT).await });
    assert!(
        !Barrier::new(client(&server).await?, "/barriers/b")
            .wait(Duration::from_millis(50))
            .await?
    );
    barrier.remove().await?;
    assert!(waiting.await??);

    let mut members = Vec::new();
    for i in 0..3 {
        members.push(DoubleBarrier::new(
            client(&server).await?,
            "/barriers/double",
            &format!("m{i}"),
            3,
        ));
    }
    let early: Vec<_> = members[..2]
        .iter()
        .cloned()
        .map(|m| tokio::spawn(async move { m.enter(WAIT).await }))
        .collect();
    let observer = client(&server).await?;
    eventually(WAIT, "two early members", || async {
        observer
            .get_children("/barriers/double")
            .await
            .map(|c| c.len() == 2)
            .unwrap_or(false)
    })
    .await?;
    assert!(
        early.iter().all(|t| !t.is_finished()),
        "nobody enters before all three arrive"
    );
    assert!(
        members[2].enter(WAIT).await?,
        "the late member lets everyone in"
    );
    for t in early {
        assert!(t.await??);
    }
    let leaving: Vec<_> = members
        .into_iter()
        .map(|m| tokio::spawn(async move { m.leave(WAIT).await }))
        .collect();
    for t in leaving {
        assert!(t.await??);
    }
    Ok(())
}

#[tokio::test]
async fn config_watcher_delivers_each_version_and_survives_a_reconnect() -> anyhow::Result<()> {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Settings {
        bid_cents: u32,
    }
    let mut server = TestServer::start().await?;
    let admin = client(&server).await?;
    recipes::config::publish(&admin, "/settings", &Settings { bid_cents: 10 }).await?;
    let mut watcher: ConfigWatcher<Settings> =
        ConfigWatcher::start(client(&server).await?, "/settings").await?;
    let v0 = tokio::time::timeout(WAIT, watcher.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("ended"))??;
    assert_eq!((v0.version, v0.value.bid_cents), (0, 10));
    recipes::config::publish(&admin, "/settings", &Settings { bid_cents: 12 }).await?;
    let v1 = tokio::time::timeout(WAIT, watcher.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("ended"))??;
    assert_eq!((v1.version, v1.value.bid_cents), (1, 12));
    server.restart().await?;
    let admin = client(&server).await?;
    recipes::config::publish(&admin, "/settings", &Settings { bid_cents: 15 }).await?;
    loop {
        let v = tokio::time::timeout(WAIT, watcher.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("ended"))??;
        if v.value.bid_cents == 15 {
            assert_eq!(v.version, 2);
            break;
        }
    }
    Ok(())
}
