//! Guarantee: read-only mode, as ZooKeeper's `readonlymode.enabled`. A
//! member cut off from the quorum serves clients that allow read-only
//! with reads of its own tree, refuses their writes with NotReadOnly,
//! refuses clients that do not allow read-only, answers `isro` with `ro` (`null` when cut off without the setting),
//! and once the quorum is back closes the read-only sessions and serves
//! read-write again. Without the setting a cut-off member serves no one.

use crate::raw_zk::{self, RawZk};
use crate::t65_status_words::word;
use anyhow::Context;
use proto::ErrorCode;
use std::net::SocketAddr;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions};
use testkit::eventually_ok;

const LIMIT: Duration = Duration::from_secs(30);

async fn wait_isro<C: Cluster>(c: &C, id: u64, want: &str) -> anyhow::Result<()> {
    let addr = c
        .zk_addr(id)
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    eventually_ok(LIMIT, &format!("isro on {id} to say {want}"), || async {
        match word(addr, "isro").await {
            Ok(answer) if answer == want => Ok(()),
            Ok(answer) => Err(answer),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
    .map(|_| ())
}

/// A follower of the current leader, and its ZooKeeper address.
async fn a_follower<C: Cluster>(c: &C) -> anyhow::Result<(u64, SocketAddr)> {
    let leader = c.leader(LIMIT).await?;
    let follower = c
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .ok_or_else(|| anyhow::anyhow!("no follower"))?;
    let at = c
        .zk_addr(follower)
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    Ok((follower, at))
}

fn with_read_only_mode() -> ClusterOptions {
    let mut options = ClusterOptions::default();
    options
        .settings
        .insert("read_only_mode".into(), toml::Value::Boolean(true));
    options
}

testkit::on_every_cluster!(
    a_cut_off_member_serves_read_only_clients_until_the_quorum_returns,
    with_read_only_mode()
);

async fn a_cut_off_member_serves_read_only_clients_until_the_quorum_returns<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let (follower, at) = a_follower(&c).await?;
    wait_isro(&c, follower, "rw").await?;
    let mut writer = RawZk::connect(at).await?;
    let made = writer
        .call(&raw_zk::create(1, "/ro", b"x"))
        .await
        .context("create /ro")?;
    assert_eq!(made.err, 0);

    c.isolate(follower);
    wait_isro(&c, follower, "ro").await?;
    assert!(
        writer.drain_until_closed(LIMIT).await.0,
        "a read-write connection is closed when the quorum is lost"
    );
    let refused = RawZk::connect(at).await;
    assert!(
        refused.is_err(),
        "a client that does not allow read-only is refused"
    );
    let (mut reader, read_only) = RawZk::connect_allowing_read_only(at).await?;
    assert!(read_only, "the session is granted read-only");
    let (header, frame) = reader.call_frame(&raw_zk::get_data(1, "/ro")).await?;
    assert_eq!(header.err, 0, "reads are served");
    assert_eq!(frame.get(20..21), Some(&b"x"[..]));
    let create = reader
        .call(&raw_zk::create(2, "/new", b""))
        .await
        .context("read-only create")?;
    assert_eq!(create.err, ErrorCode::NotReadOnly.as_i32());
    let set = reader
        .call(&raw_zk::set_data(3, "/ro", b"y"))
        .await
        .context("read-only setData")?;
    assert_eq!(set.err, ErrorCode::NotReadOnly.as_i32());
    let srvr = word(at, "srvr").await?;
    assert!(srvr.contains("Mode: read-only"), "{srvr}");

    c.heal();
    wait_isro(&c, follower, "rw").await?;
    assert!(
        reader.drain_until_closed(LIMIT).await.0,
        "the read-only session ends when the quorum is back"
    );
    let mut back = eventually_ok(LIMIT, "a read-write session again", || async {
        RawZk::connect(at).await.map_err(|e| e.to_string())
    })
    .await?;
    let after = back
        .call(&raw_zk::create(1, "/after", b""))
        .await
        .context("create after")?;
    assert_eq!(after.err, 0);
    Ok(())
}

testkit::on_every_cluster!(
    without_read_only_mode_a_cut_off_member_serves_no_one,
    ClusterOptions::default()
);

async fn without_read_only_mode_a_cut_off_member_serves_no_one<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let (follower, at) = a_follower(&c).await?;
    wait_isro(&c, follower, "rw").await?;
    let mut before = RawZk::connect(at).await?;
    c.isolate(follower);
    assert!(
        before.drain_until_closed(LIMIT).await.0,
        "the cut-off follower closes its clients (it no longer serves stale reads)"
    );
    eventually_ok(LIMIT, "a read-only connect to be refused", || async {
        match RawZk::connect_allowing_read_only(at).await {
            Err(_) => Ok(()),
            Ok(_) => Err("accepted"),
        }
    })
    .await?;
    assert_eq!(
        word(at, "isro").await?,
        "null",
        "ZooKeeper's answer without a server"
    );
    Ok(())
}
