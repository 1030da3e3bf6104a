//! Session life cycle against a real server: reconnect after a restart or a
//! cut link (same session, ephemerals kept, watches re-registered with
//! catch-up events, streams resumed), expiry, close.

use crate::t30_streams::take;
use crate::{next_event, patient_client, wait_event, within};
use client::{
    AddWatchMode, Client, CreateMode, CreateOptions, Error, EventType, SessionEvent, SessionState,
};
use futures::StreamExt;
use std::time::Duration;
use testkit::proxy::{Fault, Proxy};
use testkit::{eventually, TestServer};

#[tokio::test]
async fn a_session_survives_a_server_restart() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = patient_client(&server.connect_string()).await?;
    let mut events = c.state_stream();
    let session = c.session_id();
    c.create("/e", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    c.create("/d", b"0", CreateOptions::default()).await?;
    let (_, _, data_watch) = c.get_data_watch("/d").await?;
    let mut stream = c.watch_from("/d", false, c.last_zxid()).await?;
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    assert_eq!(c.state(), SessionState::Suspended);
    server.restart().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Reconnected);
    assert_eq!(c.state(), SessionState::Connected);
    assert_eq!(c.session_id(), session, "same session");
    assert!(c.exists("/e").await?.is_some(), "ephemeral kept");
    let writer = Client::connect(&server.connect_string()).await?;
    let stat = writer.set_data("/d", b"1", None).await?;
    let event = within("re-registered data watch", data_watch).await??;
    assert_eq!(event.event_type, EventType::NodeDataChanged);
    assert_eq!(
        take(&mut stream, 1).await?,
        [(EventType::NodeDataChanged, stat.mzxid)]
    );
    Ok(())
}

// Guarantee: watches set before a disconnect see, once, the changes made while
// the client was away (ZooKeeper's setWatches catch-up).
#[tokio::test]
async fn changes_made_while_cut_off_arrive_after_the_reconnect() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let proxy = Proxy::start(server.addr()).await?;
    let c = patient_client(&proxy.addr().to_string()).await?;
    let writer = Client::connect(server.addr()).await?;
    for p in ["/d", "/x", "/c"] {
        c.create(p, b"", CreateOptions::default()).await?;
    }
    let session = c.session_id();
    let (_, _, changed) = c.get_data_watch("/d").await?;
    let (_, _, deleted) = c.get_data_watch("/x").await?;
    let (_, created) = c.exists_watch("/e").await?;
    let (_, children) = c.get_children_watch("/c").await?;
    let mut persistent = c.add_watch("/d", AddWatchMode::Persistent).await?;
    let mut stream = c.watch_from("/d", false, c.last_zxid()).await?;
    let mut events = c.state_stream();

    proxy.set(Fault::Drop);
    wait_event(&mut events, SessionEvent::Suspended).await?;
    let first = writer.set_data("/d", b"1", None).await?;
    let second = writer.set_data("/d", b"2", None).await?;
    writer.delete("/x", None).await?;
    writer.create("/e", b"", CreateOptions::default()).await?;
    writer.create("/c/k", b"", CreateOptions::default()).await?;
    // A request issued while suspended waits for the reconnect.
    let suspended_read = tokio::spawn({
        let c = c.clone();
        async move { c.get_data("/d").await }
    });
    proxy.set(Fault::Pass);
    wait_event(&mut events, SessionEvent::Reconnected).await?;
    assert_eq!(c.session_id(), session);

    let want = [
        (changed, EventType::NodeDataChanged, "/d"),
        (deleted, EventType::NodeDeleted, "/x"),
        (created, EventType::NodeCreated, "/e"),
        (children, EventType::NodeChildrenChanged, "/c"),
    ];
    for (watch, event_type, path) in want {
        let event = within("catch-up event", watch).await??;
        assert_eq!((event.event_type, event.path.as_str()), (event_type, path));
    }
    let (data, _) = within("the suspended read", suspended_read).await???;
    assert_eq!(data, b"2");
    // The stream resumes from its last event: both changes, once each.
    assert_eq!(
        take(&mut stream, 2).await?,
        [
            (EventType::NodeDataChanged, first.mzxid),
            (EventType::NodeDataChanged, second.mzxid)
        ]
    );
    // Persistent watches are re-registered. They get no catch-up of their
    // own, but the one notification for /d's data watch reaches them too
    // (fanned out as ZooKeeper's client does); then live changes follow.
    let third = writer.set_data("/d", b"3", None).await?;
    let mut zxids = Vec::new();
    while zxids.last() != Some(&third.mzxid) && zxids.len() < 2 {
        match within("persistent event", persistent.next()).await? {
            Some(e) if e.event_type == EventType::NodeDataChanged && e.path == "/d" => {
                zxids.push(e.zxid)
            }
            other => anyhow::bail!("persistent watch: {other:?}"),
        }
    }
    assert_eq!(zxids.last(), Some(&third.mzxid), "{zxids:?}");
    assert_eq!(
        take(&mut stream, 1).await?,
        [(EventType::NodeDataChanged, third.mzxid)]
    );
    Ok(())
}

#[tokio::test]
async fn a_silent_link_suspends_then_expires_the_session() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let proxy = Proxy::start(server.addr()).await?;
    let c = Client::builder(&proxy.addr().to_string())
        .session_timeout(Duration::from_millis(1200))
        .build()
        .await?;
    let observer = Client::connect(server.addr()).await?;
    let (path, _) = c
        .create("/gone", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    let (_, watch) = c.exists_watch("/never").await?;
    let mut stream = c.watch_from("/", true, c.last_zxid()).await?;
    let mut events = c.state_stream();
    proxy.set(Fault::Hold);
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    assert_eq!(next_event(&mut events).await?, SessionEvent::Expired);
    assert_eq!(c.state(), SessionState::Expired);
    assert_eq!(within("watch", watch).await?, Err(Error::SessionExpired));
    let last = within("stream end", stream.next()).await?;
    assert!(matches!(last, Some(Err(Error::SessionExpired))), "{last:?}");
    assert_eq!(c.exists("/").await, Err(Error::SessionExpired));
    eventually(
        Duration::from_secs(10),
        "the server expiring it",
        || async { matches!(observer.exists(&path).await, Ok(None)) },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_session_that_cannot_reach_any_server_expires() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = Client::builder(&server.connect_string())
        .session_timeout(Duration::from_millis(500))
        .build()
        .await?;
    let mut events = c.state_stream();
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    assert_eq!(next_event(&mut events).await?, SessionEvent::Expired);
    assert!(matches!(c.get_data("/").await, Err(Error::SessionExpired)));
    Ok(())
}

#[tokio::test]
async fn an_expired_session_is_refused_on_reconnect() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = patient_client(&server.connect_string()).await?;
    let mut events = c.state_stream();
    c.create("/gone", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    server.restart().await?;
    let observer = Client::connect(&server.connect_string()).await?;
    if let Some(handle) = server.handle() {
        assert!(handle.service().expire_session_now(c.session_id()).await);
    }
    // The client may have reattached before the expiry (Reconnected, then
    // Suspended when the server cuts it off); it must end Expired either way.
    wait_event(&mut events, SessionEvent::Expired).await?;
    assert_eq!(observer.exists("/gone").await?, None);
    Ok(())
}

#[tokio::test]
async fn close_while_suspended_does_not_wait_for_a_server() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let proxy = Proxy::start(server.addr()).await?;
    let c = patient_client(&proxy.addr().to_string()).await?;
    let mut events = c.state_stream();
    proxy.set(Fault::Drop);
    wait_event(&mut events, SessionEvent::Suspended).await?;
    let waiting = tokio::spawn({
        let c = c.clone();
        async move { c.exists("/").await }
    });
    within("close", c.close()).await??;
    assert_eq!(c.state(), SessionState::Closed);
    assert_eq!(next_event(&mut events).await?, SessionEvent::Closed);
    assert_eq!(
        within("queued request", waiting).await??,
        Err(Error::Closed)
    );
    Ok(())
}

#[tokio::test]
async fn dropping_every_handle_closes_the_session() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let observer = Client::connect(&server.connect_string()).await?;
    let c = patient_client(&server.connect_string()).await?;
    let (path, _) = c
        .create("/mine", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    drop(c);
    eventually(Duration::from_secs(5), "the ephemeral to go", || async {
        matches!(observer.exists(&path).await, Ok(None))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_dead_host_in_the_list_is_skipped() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?
    };
    for _ in 0..4 {
        // The starting host is random: try a few times to start on each.
        let c = Client::connect(vec![dead, server.addr()]).await?;
        c.sync("/").await?;
        c.close().await?;
    }
    Ok(())
}
