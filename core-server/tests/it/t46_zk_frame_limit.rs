//! Guarantee: the ZooKeeper port's size limit is the whole request frame,
//! as ZooKeeper's jute.maxbuffer (1,048,575 bytes by default): a longer
//! frame closes the connection without a reply, the session survives and
//! can be reattached, and that connection's watches are gone (issue 14).

use crate::raw_zk::{self, Body, RawZk};
use std::net::SocketAddr;

fn zk_addr(server: &testkit::TestServer) -> anyhow::Result<SocketAddr> {
    server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))
}

/// A setData frame whose body (after the length prefix) is `frame_len` bytes.
fn set_data_of_frame_len(path: &str, frame_len: usize) -> Vec<u8> {
    let overhead = 4 + 4 + (4 + path.len()) + 4 + 4;
    let data = vec![b'x'; frame_len - overhead];
    let frame = raw_zk::set_data(1, path, &data);
    assert_eq!(frame.len(), 4 + frame_len);
    frame
}

#[tokio::test]
async fn a_frame_over_jute_maxbuffer_closes_the_connection_and_the_session_survives(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let limit = server.config().jute_maxbuffer_bytes;
    assert_eq!(limit, 1_048_575, "ZooKeeper's default");
    let addr = zk_addr(&server)?;
    let mut zk = RawZk::connect(addr).await?;
    assert_eq!(zk.call(&raw_zk::create(1, "/r", b"")).await?.err, 0);
    // A frame of exactly the limit is served.
    let at_limit = set_data_of_frame_len("/r", limit);
    assert_eq!(zk.call_or_closed(&at_limit).await?.map(|h| h.err), Some(0));
    // This connection leaves a watch, then sends one byte too many.
    let exists = raw_zk::request(2, raw_zk::OP_EXISTS, raw_zk::watch_body("/w", true));
    assert_eq!(
        zk.call(&exists).await?.err,
        proto::ErrorCode::NoNode.as_i32()
    );
    let over = set_data_of_frame_len("/r", limit + 1);
    assert_eq!(zk.call_or_closed(&over).await?, None, "closed, no reply");
    // The session survives: it can be reattached, and its data is intact.
    let (session_id, password) = (zk.session_id, zk.password.clone());
    let mut again = RawZk::reattach(addr, session_id, &password).await?;
    let (header, frame) = again.call_frame(&raw_zk::get_data(3, "/r")).await?;
    assert_eq!(header.err, 0);
    assert_eq!(
        frame.len(),
        16 + 4 + (limit - 20 - 2) + 68,
        "the data at the limit"
    );
    // The old connection's watch is gone: checkWatches finds none, and a
    // create of its path sends no notification before a later reply.
    let check = raw_zk::request(
        4,
        raw_zk::OP_CHECK_WATCHES,
        Body::default().string("/w").i32(2),
    );
    assert_eq!(
        again.call(&check).await?.err,
        proto::ErrorCode::NoWatcher.as_i32()
    );
    let mut other = RawZk::connect(addr).await?;
    assert_eq!(other.call(&raw_zk::create(1, "/w", b"")).await?.err, 0);
    let (events, header) = again
        .call_with_events(&raw_zk::request(
            5,
            raw_zk::OP_SYNC,
            raw_zk::path_body("/w"),
        ))
        .await?;
    assert_eq!(header.err, 0);
    assert!(events.is_empty(), "no notification: {events:?}");
    Ok(())
}

#[tokio::test]
async fn one_mib_of_data_is_over_the_limit_even_for_a_missing_node() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = zk_addr(&server)?;
    let mib = vec![b'y'; 1 << 20];
    let mut zk = RawZk::connect(addr).await?;
    assert_eq!(
        zk.call_or_closed(&raw_zk::set_data(1, "/missing", &mib))
            .await?,
        None,
        "closed instead of NoNode"
    );
    let mut zk = RawZk::connect(addr).await?;
    assert_eq!(
        zk.call_or_closed(&raw_zk::create(1, "/big", &mib)).await?,
        None
    );
    let mut zk = RawZk::connect(addr).await?;
    let get = raw_zk::get_data(2, "/big");
    assert_eq!(
        zk.call(&get).await?.err,
        proto::ErrorCode::NoNode.as_i32(),
        "nothing was written"
    );
    Ok(())
}

#[tokio::test]
async fn a_raised_jute_maxbuffer_lets_larger_frames_in() -> anyhow::Result<()> {
    let config = core_server::Config {
        jute_maxbuffer_bytes: 2 << 20,
        max_data_bytes: 2 << 20,
        max_request_bytes: (2 << 20) + 65536,
        partial_frame_bytes: 64 << 20,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let mut zk = RawZk::connect(zk_addr(&server)?).await?;
    let mib = vec![b'z'; 1 << 20];
    assert_eq!(
        zk.call_or_closed(&raw_zk::create(1, "/big", &mib))
            .await?
            .map(|h| h.err),
        Some(0)
    );
    Ok(())
}
