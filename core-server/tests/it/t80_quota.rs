//! Guarantee: ZooKeeper 3.8's quotas on the ZooKeeper port (issue 14). The
//! quota nodes are made as zkCli's `setquota` makes them (plain creates under
//! `/zookeeper/quota`); the server keeps the stats node of the quota'd path
//! up to date across creates, setData and deletes, through a restart from a
//! snapshot and alike on every member of a cluster; a soft limit lets the
//! write through and is logged; a hard one refuses it with QuotaExceeded
//! (-125) when enforcement is on, and only then.

use crate::raw_zk::{self, Body, RawZk};
use core_server::config::Config;
use proto::ErrorCode;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions, InProcessCluster};
use testkit::eventually;

const LIMIT: Duration = Duration::from_secs(30);
const QUOTA_EXCEEDED: i32 = ErrorCode::QuotaExceeded as i32;

/// A create's error code (0: created).
async fn create(zk: &mut RawZk, path: &str, data: &[u8]) -> anyhow::Result<i32> {
    Ok(zk.call(&raw_zk::create(1, path, data)).await?.err)
}

/// A setData's error code (any version).
async fn set(zk: &mut RawZk, path: &str, data: &[u8]) -> anyhow::Result<i32> {
    Ok(zk.call(&raw_zk::set_data(2, path, data)).await?.err)
}

/// A delete's error code (any version).
async fn delete(zk: &mut RawZk, path: &str) -> anyhow::Result<i32> {
    let body = Body::default().string(path).i32(-1);
    Ok(zk
        .call(&raw_zk::request(3, raw_zk::OP_DELETE, body))
        .await?
        .err)
}

/// The data of `path` as text (after a sync, so it is the latest).
async fn get(zk: &mut RawZk, path: &str) -> anyhow::Result<String> {
    let synced = zk
        .call(&raw_zk::request(
            4,
            raw_zk::OP_SYNC,
            raw_zk::path_body(path),
        ))
        .await?;
    anyhow::ensure!(synced.err == 0, "sync {path}: {}", synced.err);
    let (reply, frame) = zk.call_frame(&raw_zk::get_data(5, path)).await?;
    anyhow::ensure!(reply.err == 0, "get {path}: {}", reply.err);
    let len = frame
        .get(16..20)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| anyhow::anyhow!("short getData reply"))?;
    let data = frame
        .get(20..20 + len.max(0) as usize)
        .ok_or_else(|| anyhow::anyhow!("short data"))?;
    Ok(String::from_utf8(data.to_vec())?)
}

/// zkCli 3.8's `setquota` for a path without a quota: the quota directory
/// of each component, the limits node, the stats node with zeros.
async fn setquota(zk: &mut RawZk, path: &str, limits: &str) -> anyhow::Result<()> {
    let mut dir = String::from(proto::quota::QUOTA_ROOT);
    for part in path.split('/').filter(|p| !p.is_empty()) {
        dir.push('/');
        dir.push_str(part);
        let code = create(zk, &dir, b"").await?;
        anyhow::ensure!(
            code == 0 || code == ErrorCode::NodeExists as i32,
            "{dir}: {code}"
        );
    }
    let limit_node = proto::quota::limit_path(path);
    let stat_node = proto::quota::stat_path(path);
    anyhow::ensure!(create(zk, &limit_node, limits.as_bytes()).await? == 0);
    anyhow::ensure!(create(zk, &stat_node, b"count=0,bytes=0").await? == 0);
    Ok(())
}

fn enforcing() -> Config {
    Config {
        enforce_quota: true,
        snapshot_every: 8,
        ..testkit::test_config()
    }
}

async fn zk_of(server: &testkit::TestServer) -> anyhow::Result<RawZk> {
    RawZk::connect(
        server
            .zk_addr()
            .ok_or_else(|| anyhow::anyhow!("no zk port"))?,
    )
    .await
}

#[tokio::test]
async fn count_and_bytes_limits_soft_and_hard_hold_through_a_restart() -> anyhow::Result<()> {
    let mut server = testkit::TestServer::start_with(enforcing()).await?;
    let mut zk = zk_of(&server).await?;
    let stats = "/zookeeper/quota/q/zookeeper_stats";
    assert_eq!(create(&mut zk, "/q", b"12345").await?, 0);
    assert_eq!(create(&mut zk, "/q/a", b"xy").await?, 0);
    // Soft count 3, hard bytes 12.
    setquota(
        &mut zk,
        "/q",
        "count=3,bytes=-1=;byteHardLimit=12;countHardLimit=-1",
    )
    .await?;
    assert_eq!(get(&mut zk, stats).await?, "count=2,bytes=7");
    assert_eq!(create(&mut zk, "/q/b", b"abc").await?, 0);
    assert_eq!(get(&mut zk, stats).await?, "count=3,bytes=10");
    // Over the soft count: allowed.
    assert_eq!(create(&mut zk, "/q/c", b"").await?, 0);
    assert_eq!(get(&mut zk, stats).await?, "count=4,bytes=10");
    // Over the hard bytes, by create and by setData: refused, nothing changes.
    assert_eq!(create(&mut zk, "/q/d", b"abc").await?, QUOTA_EXCEEDED);
    assert_eq!(set(&mut zk, "/q/a", b"xyzuvw").await?, QUOTA_EXCEEDED);
    assert_eq!(get(&mut zk, "/q/a").await?, "xy");
    assert_eq!(set(&mut zk, "/q/a", b"xyzu").await?, 0, "12 of 12");
    assert_eq!(delete(&mut zk, "/q/b").await?, 0);
    assert_eq!(get(&mut zk, stats).await?, "count=3,bytes=9");
    // Nodes outside the quota are not counted.
    assert_eq!(create(&mut zk, "/qq", b"0123456789abcdef").await?, 0);
    assert_eq!(get(&mut zk, stats).await?, "count=3,bytes=9");

    // A restart (from a snapshot: one every 8 entries) keeps the stats
    // exactly and the quota in force.
    drop(zk);
    server.restart().await?;
    let mut zk = zk_of(&server).await?;
    assert_eq!(get(&mut zk, stats).await?, "count=3,bytes=9");
    assert_eq!(create(&mut zk, "/q/e", b"0123").await?, QUOTA_EXCEEDED);
    assert_eq!(create(&mut zk, "/q/e", b"012").await?, 0);
    assert_eq!(get(&mut zk, stats).await?, "count=4,bytes=12");
    // delquota: the limits node goes, and with it the quota.
    assert_eq!(
        delete(&mut zk, "/zookeeper/quota/q/zookeeper_limits").await?,
        0
    );
    assert_eq!(create(&mut zk, "/q/f", b"more bytes").await?, 0);
    assert_eq!(
        get(&mut zk, stats).await?,
        "count=4,bytes=12",
        "no quota: not counted"
    );
    Ok(())
}

#[tokio::test]
async fn without_enforcement_a_hard_limit_refuses_nothing() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_of(&server).await?;
    assert_eq!(create(&mut zk, "/h", b"").await?, 0);
    setquota(&mut zk, "/h", "count=-1,bytes=-1=;countHardLimit=1").await?;
    assert_eq!(create(&mut zk, "/h/a", b"1").await?, 0);
    assert_eq!(create(&mut zk, "/h/b", b"1").await?, 0);
    assert_eq!(
        get(&mut zk, "/zookeeper/quota/h/zookeeper_stats").await?,
        "count=3,bytes=2"
    );
    Ok(())
}

#[tokio::test]
async fn a_soft_limit_is_logged_by_the_server_and_the_write_done() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("corral.log");
    let any_port = "127.0.0.1:0".parse()?;
    let mut server = testkit::ProcessServer::start_with_log(
        testkit::corral_binary(),
        &dir.path().join("data"),
        any_port,
        &["--enforce-quota"],
        &log,
    )?;
    let zk_addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk port"))?;
    let mut zk = RawZk::connect(zk_addr).await?;
    assert_eq!(create(&mut zk, "/s", b"").await?, 0);
    setquota(&mut zk, "/s", "count=2,bytes=-1=;byteHardLimit=3").await?;
    assert_eq!(create(&mut zk, "/s/a", b"").await?, 0);
    let quiet = std::fs::read_to_string(&log)?;
    assert!(!quiet.contains("Quota exceeded"), "within limits: {quiet}");
    assert_eq!(create(&mut zk, "/s/b", b"").await?, 0, "soft: allowed");
    assert_eq!(create(&mut zk, "/s/c", b"1234").await?, QUOTA_EXCEEDED);
    let lines = [
        "Quota exceeded: /s [current count=3, softCountLimit=2]",
        "Quota exceeded: /s [current bytes=4, hardByteLimit=3]",
    ];
    eventually(LIMIT, "the server to log both breaches", || async {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        lines
            .iter()
            .all(|line| text.lines().any(|l| l.contains("WARN") && l.contains(line)))
    })
    .await?;
    server.terminate(LIMIT)?;
    Ok(())
}

#[tokio::test]
async fn every_member_of_a_cluster_keeps_the_same_stats() -> anyhow::Result<()> {
    let mut options = ClusterOptions {
        snapshot_every: 10,
        ..ClusterOptions::default()
    };
    options
        .settings
        .insert("enforce_quota".into(), toml::Value::Boolean(true));
    let cluster = InProcessCluster::start(options).await?;
    let leader = cluster.leader(LIMIT).await?;
    // A member that follows no leader yet refuses clients at the handshake.
    eventually(LIMIT, "every server to follow the leader", || async {
        for id in cluster.ids() {
            let status = cluster.status(id).await;
            if !status.is_ok_and(|s| s.leader == Some(leader)) {
                return false;
            }
        }
        true
    })
    .await?;
    let mut zks = Vec::new();
    for id in cluster.ids() {
        let addr = cluster
            .zk_addr(id)
            .ok_or_else(|| anyhow::anyhow!("server {id} has no zk port"))?;
        zks.push((id, RawZk::connect(addr).await?));
    }
    let follower = zks
        .iter()
        .position(|(id, _)| *id != leader)
        .ok_or_else(|| anyhow::anyhow!("no follower"))?;
    let stats = "/zookeeper/quota/c/zookeeper_stats";
    {
        let zk = &mut zks[follower].1;
        assert_eq!(create(zk, "/c", b"root").await?, 0);
        setquota(zk, "/c", "count=-1,bytes=-1=;countHardLimit=6").await?;
    }
    // Writes through every member, one over the hard limit at the end.
    for (n, (_, zk)) in zks.iter_mut().enumerate() {
        assert_eq!(create(zk, &format!("/c/n{n}"), b"abc").await?, 0);
        assert_eq!(set(zk, &format!("/c/n{n}"), &vec![b'x'; n + 1]).await?, 0);
    }
    let zk = &mut zks[follower].1;
    assert_eq!(create(zk, "/c/d1", b"").await?, 0);
    assert_eq!(create(zk, "/c/d2", b"").await?, 0);
    assert_eq!(create(zk, "/c/d3", b"").await?, QUOTA_EXCEEDED);
    assert_eq!(delete(zk, "/c/n0").await?, 0);
    // 4 bytes of /c, then n1 and n2 with 2 and 3 bytes; /c, n1, n2, d1, d2.
    let want = "count=5,bytes=9";
    for (id, zk) in zks.iter_mut() {
        // get syncs first: each member answers as of the last write.
        assert_eq!(get(zk, stats).await?, want, "server {id}");
    }
    Ok(())
}
