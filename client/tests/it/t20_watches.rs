//! One-shot, persistent and recursive watches against a real server.

use crate::within;
use client::{AddWatchMode, Client, CreateOptions, Error, EventType, WatchedEvent, WatcherType};
use futures::StreamExt;
use testkit::TestServer;

fn kind_and_path(e: &WatchedEvent) -> (EventType, &str) {
    (e.event_type, e.path.as_str())
}

// Guarantee: a one-shot watch fires once, before the client can read the new data.
#[tokio::test]
async fn one_shot_watches_fire_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let writer = Client::connect(&server.connect_string()).await?;
    c.create("/w", b"0", CreateOptions::default()).await?;
    let (_, _, data) = c.get_data_watch("/w").await?;
    let (_, children) = c.get_children_watch("/w").await?;
    let (stat, created) = c.exists_watch("/later").await?;
    assert_eq!(stat, None);
    writer.set_data("/w", b"1", None).await?;
    writer.set_data("/w", b"2", None).await?;
    writer.create("/w/k", b"", CreateOptions::default()).await?;
    writer
        .create("/later", b"", CreateOptions::default())
        .await?;
    let event = within("data watch", data).await??;
    assert_eq!(kind_and_path(&event), (EventType::NodeDataChanged, "/w"));
    let event = within("child watch", children).await??;
    assert_eq!(
        kind_and_path(&event),
        (EventType::NodeChildrenChanged, "/w")
    );
    let event = within("exist watch", created).await??;
    assert_eq!(kind_and_path(&event), (EventType::NodeCreated, "/later"));
    // Fired watches are gone on the server too.
    assert_eq!(
        c.check_watches("/w", WatcherType::Data).await,
        Err(Error::NoWatcher)
    );
    // A node's deletion wakes its data, exist and child watchers alike.
    let (_, _, data) = c.get_data_watch("/later").await?;
    let (_, exist) = c.exists_watch("/later").await?;
    let (_, children) = c.get_children_watch("/later").await?;
    writer.delete("/later", None).await?;
    for watch in [data, exist, children] {
        let event = within("deleted event", watch).await??;
        assert_eq!(kind_and_path(&event), (EventType::NodeDeleted, "/later"));
    }
    Ok(())
}

#[tokio::test]
async fn one_notification_wakes_every_local_watcher_of_the_path() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    c.create("/n", b"", CreateOptions::default()).await?;
    let (_, _, first) = c.get_data_watch("/n").await?;
    let (_, _, second) = c.get_data_watch("/n").await?;
    let (_, third) = c.exists_watch("/n").await?;
    c.set_data("/n", b"x", None).await?;
    for watch in [first, second, third] {
        let event = within("fan-out", watch).await??;
        assert_eq!(event.event_type, EventType::NodeDataChanged);
    }
    Ok(())
}

#[tokio::test]
async fn persistent_and_recursive_watches_keep_firing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let writer = Client::connect(&server.connect_string()).await?;
    let mut exact = c.add_watch("/w", AddWatchMode::Persistent).await?;
    let mut tree = c.add_watch("/w", AddWatchMode::PersistentRecursive).await?;
    writer.create("/w", b"0", CreateOptions::default()).await?;
    writer.set_data("/w", b"1", None).await?;
    writer.create("/w/k", b"", CreateOptions::default()).await?;
    writer.set_data("/w/k", b"1", None).await?;
    writer.delete("/w/k", None).await?;
    writer.create("/wx", b"", CreateOptions::default()).await?;
    writer.delete("/w", None).await?;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = within("persistent event", exact.next()).await?;
        seen.extend(event.map(|e| e.event_type));
    }
    assert_eq!(
        seen,
        [
            EventType::NodeCreated,
            EventType::NodeDataChanged,
            EventType::NodeChildrenChanged,
            EventType::NodeChildrenChanged,
            EventType::NodeDeleted,
        ]
    );
    let mut seen = Vec::new();
    for _ in 0..6 {
        let event = within("recursive event", tree.next()).await?;
        seen.extend(event.map(|e| (e.event_type, e.path)));
    }
    let want = [
        (EventType::NodeCreated, "/w"),
        (EventType::NodeDataChanged, "/w"),
        (EventType::NodeCreated, "/w/k"),
        (EventType::NodeDataChanged, "/w/k"),
        (EventType::NodeDeleted, "/w/k"),
        (EventType::NodeDeleted, "/w"),
    ];
    let want: Vec<(EventType, String)> = want.iter().map(|(t, p)| (*t, p.to_string())).collect();
    assert_eq!(seen, want, "no child events, nothing from /wx");
    c.check_watches("/w", WatcherType::Persistent).await?;
    c.remove_watches("/w", WatcherType::Persistent).await?;
    assert_eq!(
        c.remove_watches("/w", WatcherType::Persistent).await,
        Err(Error::NoWatcher)
    );
    assert_eq!(
        within("end of the removed watch", exact.next()).await?,
        None
    );
    c.remove_watches("/w", WatcherType::Any).await?;
    assert_eq!(within("end of the removed watch", tree.next()).await?, None);
    Ok(())
}

#[tokio::test]
async fn watches_end_with_the_session() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let (_, pending) = c.exists_watch("/never").await?;
    let mut stream = c.add_watch("/never", AddWatchMode::Persistent).await?;
    c.close().await?;
    assert_eq!(within("watch end", pending).await?, Err(Error::Closed));
    assert_eq!(within("stream end", stream.next()).await?, None);
    Ok(())
}
