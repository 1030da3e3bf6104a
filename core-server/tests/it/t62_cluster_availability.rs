//! Guarantees on availability under faults: a cluster member that comes
//! back after a pause cannot disrupt a leader that a quorum still follows
//! (decision 0006, the pre-vote); writes through a follower move to a new
//! leader while the old one is paused; a close asked for while no leader
//! exists is carried out once one does.

use client::{Client, CreateMode, CreateOptions, Error};
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions, ProcessCluster};
use testkit::eventually;

const LIMIT: Duration = Duration::from_secs(30);
/// What "at once" allows on a loaded 2-core machine.
const PROMPTLY: Duration = Duration::from_secs(4);

/// Writes to `path` for `period`; every write must be acknowledged.
async fn write_for(client: &Client, path: &str, period: Duration) -> anyhow::Result<usize> {
    let until = tokio::time::Instant::now() + period;
    let mut n = 0;
    while tokio::time::Instant::now() < until {
        client
            .set_data(path, format!("{n}").as_bytes(), None)
            .await
            .map_err(|e| anyhow::anyhow!("write {n} failed: {e}"))?;
        n += 1;
    }
    Ok(n)
}

/// A 3-server cluster, its leader and its two followers, once every server
/// follows that leader (a server that knows no leader refuses new sessions).
async fn started(options: ClusterOptions) -> anyhow::Result<(ProcessCluster, u64, [u64; 2])> {
    let cluster = ProcessCluster::start(options).await?;
    let leader = cluster.leader(LIMIT).await?;
    eventually(LIMIT, "every server to follow the leader", || async {
        for id in cluster.ids() {
            if !cluster
                .status(id)
                .await
                .is_ok_and(|s| s.leader == Some(leader))
            {
                return false;
            }
        }
        true
    })
    .await?;
    let followers: Vec<u64> = cluster
        .ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let [a, b] = followers[..] else {
        anyhow::bail!("expected two followers, got {followers:?}");
    };
    Ok((cluster, leader, [a, b]))
}

#[tokio::test]
async fn a_resumed_follower_does_not_depose_the_leader() -> anyhow::Result<()> {
    let (cluster, leader, [follower, _]) = started(ClusterOptions::default()).await?;
    let before = cluster.status(leader).await?;
    let client = Client::builder(&cluster.connect_string(&[leader]))
        .session_timeout(Duration::from_secs(10))
        .build()
        .await?;
    client
        .create("/r", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    cluster.pause(follower)?;
    // Paused for ten election timeouts (300 ms here) while the others
    // go on writing.
    let during = write_for(&client, "/r", Duration::from_secs(3)).await?;
    cluster.resume(follower)?;
    let after = write_for(&client, "/r", Duration::from_secs(3)).await?;
    assert!(during > 0 && after > 0);
    let now = cluster.status(leader).await?;
    assert_eq!(now.leader, Some(leader), "the leader is unchanged");
    assert_eq!(now.term, before.term, "no election happened");
    // The resumed follower caught up and follows the same leader.
    cluster.converged(&cluster.ids(), LIMIT).await?;
    Ok(())
}

#[tokio::test]
async fn writes_through_a_follower_move_to_the_new_leader_while_the_old_is_paused(
) -> anyhow::Result<()> {
    // A write timeout far beyond the time the test allows: a write left
    // waiting on the paused leader would fail the test, not time out.
    let (cluster, leader, [follower, _]) = started(ClusterOptions {
        write_timeout: Duration::from_secs(60),
        ..ClusterOptions::default()
    })
    .await?;
    let client = Client::builder(&cluster.connect_string(&[follower]))
        .session_timeout(Duration::from_secs(30))
        .build()
        .await?;
    client
        .create("/w", b"", CreateOptions::mode(CreateMode::Persistent))
        .await?;
    cluster.pause(leader)?;
    // A write sent now goes to the paused leader, which cannot answer it.
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.set_data("/w", b"x", None).await }
    });
    eventually(LIMIT, "the follower to learn of a new leader", || async {
        cluster
            .status(follower)
            .await
            .is_ok_and(|s| s.leader.is_some() && s.leader != Some(leader))
    })
    .await?;
    // Once the follower knows the new leader, the write in flight to the old
    // one ends at once (as unknown at worst): well before the peer
    // connection's keep-alive (5 s, then 10 s) could notice the pause.
    match tokio::time::timeout(PROMPTLY, in_flight).await?? {
        Ok(_) | Err(Error::ConnectionLoss) => {}
        Err(e) => anyhow::bail!("the write in flight failed: {e}"),
    }
    // The next write goes to the new leader.
    tokio::time::timeout(PROMPTLY, client.set_data("/w", b"y", None)).await??;
    let status = cluster.status(follower).await?;
    assert_ne!(status.leader, Some(leader), "a new leader took over");
    cluster.resume(leader)?;
    cluster.converged(&cluster.ids(), LIMIT).await?;
    Ok(())
}

#[tokio::test]
async fn a_close_asked_for_without_a_leader_is_carried_out_once_there_is_one() -> anyhow::Result<()>
{
    let (cluster, leader, [on, other]) = started(ClusterOptions::default()).await?;
    let owner = Client::builder(&cluster.connect_string(&[on]))
        .session_timeout(Duration::from_secs(60))
        .build()
        .await?;
    owner
        .create("/eph", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    // No leader and no quorum: the close cannot commit now.
    cluster.pause(leader)?;
    cluster.pause(other)?;
    owner.close().await?;
    cluster.resume(other)?;
    // Once the two form a quorum, the close is carried out: the ephemeral
    // goes long before the session's 60 s timeout could expire it.
    // `other` serves only once the two have elected a leader; until then a
    // connection to it is refused or closed.
    let watcher = tokio::sync::OnceCell::new();
    let connect = || {
        Client::builder(&cluster.connect_string(&[other]))
            .session_timeout(Duration::from_secs(30))
            .build()
    };
    eventually(
        Duration::from_secs(20),
        "the closed session's ephemeral to go",
        || async {
            let Ok(w) = watcher.get_or_try_init(connect).await else {
                return false;
            };
            w.sync("/").await.is_ok() && matches!(w.exists("/eph").await, Ok(None))
        },
    )
    .await?;
    cluster.resume(leader)?;
    Ok(())
}

#[tokio::test]
async fn an_unknown_outcome_closes_a_zookeeper_connection_instead_of_sending_connection_loss(
) -> anyhow::Result<()> {
    let (cluster, leader, [on, other]) = started(ClusterOptions::default()).await?;
    let zk = cluster
        .zk_addr(on)
        .ok_or_else(|| anyhow::anyhow!("no ZooKeeper port"))?;
    let mut raw = crate::raw_zk::RawZk::connect(zk).await?;
    let created = raw.call(&crate::raw_zk::create(1, "/u", b"")).await?;
    assert_eq!(created.err, 0);
    // No quorum: the write cannot commit, and after the write timeout its
    // outcome is unknown. ZooKeeper has no reply code for that (-4 is the
    // client's own): the connection is closed, and no frame carries -4.
    cluster.pause(leader)?;
    cluster.pause(other)?;
    use tokio::io::AsyncWriteExt;
    raw.stream
        .write_all(&crate::raw_zk::set_data(2, "/u", b"x"))
        .await?;
    let mut frames = Vec::new();
    let closed = loop {
        match tokio::time::timeout(LIMIT, crate::raw_zk::read_frame(&mut raw.stream)).await {
            Ok(Ok(Some(frame))) => frames.push(crate::raw_zk::header(&frame)?),
            Ok(Ok(None)) | Ok(Err(_)) => break true,
            Err(_) => break false,
        }
    };
    cluster.resume(leader)?;
    cluster.resume(other)?;
    assert!(closed, "the connection was closed");
    assert!(
        frames.iter().all(|h| h.err != -4),
        "no reply carries ConnectionLoss: {frames:?}"
    );
    Ok(())
}
