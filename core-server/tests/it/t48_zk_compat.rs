//! Guarantee: where ZooKeeper releases answer differently, the ZooKeeper
//! port answers as the latest 3.9 by default and as 3.8.0 with
//! `zk_compat = "3.8"` (`--zk-compat 3.8`): exists on a node without READ,
//! a create inside multi, the zxid of a notification (issue 14).

use crate::raw_zk::{self, Body, RawZk};
use core_server::config::ZkCompat;
use proto::ErrorCode;
use std::net::SocketAddr;

/// The test configuration, answering on the ZooKeeper port as `compat`.
pub fn config_as(compat: ZkCompat) -> core_server::Config {
    let mut config = testkit::test_config();
    config.zk_compat = compat;
    config
}

/// A server answering as `compat`, and its ZooKeeper address.
pub async fn zk_server(compat: ZkCompat) -> anyhow::Result<(testkit::TestServer, SocketAddr)> {
    let server = testkit::TestServer::start_with(config_as(compat)).await?;
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    Ok((server, addr))
}

async fn server(compat: ZkCompat) -> anyhow::Result<(testkit::TestServer, RawZk)> {
    let (server, addr) = zk_server(compat).await?;
    let zk = RawZk::connect(addr).await?;
    Ok((server, zk))
}

/// A create of `path` whose ACL lets anyone write but not read.
fn create_unreadable(xid: i32, path: &str) -> Vec<u8> {
    let body = Body::default()
        .string(path)
        .bytes(b"secret")
        .i32(1)
        .i32(2)
        .string("world")
        .string("anyone")
        .i32(0);
    raw_zk::request(xid, raw_zk::OP_CREATE, body)
}

/// What one server answers in each case that differs between releases:
/// exists' error on an unreadable node, the multi result types of a create,
/// a create2 and a container create, and a notification's zxid.
async fn answers(compat: ZkCompat) -> anyhow::Result<(i32, Vec<i32>, i64, i64)> {
    let (_server, mut zk) = server(compat).await?;
    assert_eq!(zk.call(&create_unreadable(1, "/hidden")).await?.err, 0);
    let exists = zk
        .call(&raw_zk::request(
            2,
            raw_zk::OP_EXISTS,
            raw_zk::watch_body("/hidden", false),
        ))
        .await?
        .err;
    let get = zk.call(&raw_zk::get_data(3, "/hidden")).await?.err;
    assert_eq!(
        get,
        ErrorCode::NoAuth.as_i32(),
        "getData needs READ in every release"
    );
    let ops = vec![
        (raw_zk::OP_CREATE, raw_zk::create_body("/a", b"", 0, None)),
        (raw_zk::OP_CREATE2, raw_zk::create_body("/b", b"", 0, None)),
        (
            raw_zk::OP_CREATE_CONTAINER,
            raw_zk::create_body("/c", b"", 4, None),
        ),
    ];
    let (header, frame) = zk.call_frame(&raw_zk::multi(4, ops)).await?;
    assert_eq!(header.err, 0);
    let results = raw_zk::multi_results(&frame)?;
    let paths: Vec<&str> = results.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(paths, ["/a", "/b", "/c"]);
    let types = results.iter().map(|r| r.0).collect();
    // A data watch on /a, fired by a setData.
    let watch = raw_zk::request(5, raw_zk::OP_GET_DATA, raw_zk::watch_body("/a", true));
    assert_eq!(zk.call(&watch).await?.err, 0);
    let (events, header) = zk
        .call_with_events(&raw_zk::set_data(6, "/a", b"x"))
        .await?;
    let (event, set_zxid) = match events.first() {
        Some(event) => (raw_zk::header(event)?.zxid, header.zxid),
        None => {
            // The notification may follow the reply.
            let (events, _) = zk.call_with_events(&raw_zk::get_data(7, "/a")).await?;
            let event = events
                .first()
                .ok_or_else(|| anyhow::anyhow!("no notification"))?;
            (raw_zk::header(event)?.zxid, header.zxid)
        }
    };
    Ok((exists, types, event, set_zxid))
}

#[tokio::test]
async fn the_default_answers_as_zookeeper_3_9() -> anyhow::Result<()> {
    let (exists, types, event_zxid, set_zxid) = answers(ZkCompat::V3_9).await?;
    assert_eq!(exists, ErrorCode::NoAuth.as_i32(), "ZOOKEEPER-2590");
    let create2 = raw_zk::OP_CREATE2;
    assert_eq!(
        types,
        vec![raw_zk::OP_CREATE, create2, create2],
        "ZOOKEEPER-4026"
    );
    assert_eq!(
        event_zxid, set_zxid,
        "a notification carries its change's zxid"
    );
    Ok(())
}

#[tokio::test]
async fn zk_compat_3_8_answers_as_zookeeper_3_8_0() -> anyhow::Result<()> {
    let (exists, types, event_zxid, _) = answers(ZkCompat::V3_8).await?;
    assert_eq!(exists, 0, "3.8.0's exists returns the Stat without READ");
    let create = raw_zk::OP_CREATE;
    assert_eq!(
        types,
        vec![create, create, raw_zk::OP_CREATE2],
        "only a container or TTL create keeps create2 and its Stat"
    );
    assert_eq!(event_zxid, -1, "3.8 notifications carry -1");
    Ok(())
}

/// checkWatches (Any) by a session with no watch of its own on a path that
/// another session watches: 3.8 finds the other's watch (its
/// `containsWatcher` looks only for a watcher set on the path), 3.9 does not
/// (ZOOKEEPER-4471).
async fn check_watches_of_another_session(compat: ZkCompat) -> anyhow::Result<i32> {
    let (server, mut watcher) = server(compat).await?;
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    let exists = raw_zk::request(1, raw_zk::OP_EXISTS, raw_zk::watch_body("/x", true));
    assert_eq!(watcher.call(&exists).await?.err, ErrorCode::NoNode.as_i32());
    let mut other = RawZk::connect(addr).await?;
    let check = Body::default().string("/x").i32(3);
    let check = raw_zk::request(1, raw_zk::OP_CHECK_WATCHES, check);
    let answer = other.call(&check).await?.err;
    let own = watcher.call(&check).await?.err;
    assert_eq!(own, 0, "the watching session always finds its watch");
    Ok(answer)
}

#[tokio::test]
async fn check_watches_sees_other_sessions_watches_only_as_3_8() -> anyhow::Result<()> {
    assert_eq!(check_watches_of_another_session(ZkCompat::V3_8).await?, 0);
    assert_eq!(
        check_watches_of_another_session(ZkCompat::V3_9).await?,
        ErrorCode::NoWatcher.as_i32()
    );
    Ok(())
}
