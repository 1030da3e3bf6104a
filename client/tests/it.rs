//! Client against a real server on a loopback port: operations, errors,
//! watches, chroot, multi, reconnect and expiry. No fixed sleeps.

use client::{
    AddWatchMode, Client, CreateMode, CreateOptions, Error, EventType, Op, OpResult, SessionEvent,
    SessionState,
};
use futures::StreamExt;
use std::time::Duration;
use testkit::TestServer;

const WAIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(WAIT, f)
        .await
        .map_err(|_| anyhow::anyhow!("timed out waiting for {what}"))
}

async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<SessionEvent>,
) -> anyhow::Result<SessionEvent> {
    Ok(within("a session event", events.recv()).await??)
}

#[tokio::test]
async fn crud_round_trip_with_typed_errors() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    assert_eq!(c.state(), SessionState::Connected);
    let (path, stat) = c.create("/a", b"one", CreateOptions::default()).await?;
    assert_eq!((path.as_str(), stat.version), ("/a", 0));
    assert!(matches!(
        c.create("/a", b"", CreateOptions::default()).await,
        Err(Error::NodeExists { .. })
    ));
    let (data, _) = c.get_data("/a").await?;
    assert_eq!(data, b"one");
    assert!(matches!(
        c.set_data("/a", b"two", Some(7)).await,
        Err(Error::BadVersion { .. })
    ));
    assert_eq!(c.set_data("/a", b"two", Some(0)).await?.version, 1);
    c.create("/a/kid", b"", CreateOptions::default()).await?;
    assert!(matches!(
        c.delete("/a", None).await,
        Err(Error::NotEmpty { .. })
    ));
    assert_eq!(c.get_children("/a").await?, vec!["kid".to_string()]);
    assert_eq!(c.get_all_children_number("/a").await?, 1);
    assert!(matches!(
        c.get_data("/nope").await,
        Err(Error::NoNode { .. })
    ));
    assert_eq!(c.exists("/nope").await?, None);
    assert!(matches!(
        c.get_data("bad").await,
        Err(Error::InvalidPath { .. })
    ));
    let (e, _) = c
        .create(
            "/a/kid/s-",
            b"",
            CreateOptions::mode(CreateMode::EphemeralSequential),
        )
        .await?;
    assert_eq!(e, "/a/kid/s-0000000000");
    assert_eq!(c.get_ephemerals("/a").await?, vec![e.clone()]);
    assert!(c.get_data(&"/x".repeat(3000)).await.is_err());
    c.sync("/").await?;
    c.close().await?;
    assert_eq!(c.state(), SessionState::Closed);
    assert!(matches!(
        c.get_data("/a").await,
        Err(Error::Closed | Error::SessionExpired)
    ));
    let other = Client::connect(&server.connect_string()).await?;
    assert_eq!(
        other.exists(&e).await?,
        None,
        "closing the session removed its ephemerals"
    );
    Ok(())
}

#[tokio::test]
async fn chroot_prefixes_and_strips_paths() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let root = Client::connect(&server.connect_string()).await?;
    root.create("/app", b"", CreateOptions::default()).await?;
    let c = Client::connect(&format!("{}/app", server.connect_string())).await?;
    let (path, _) = c
        .create(
            "/s-",
            b"x",
            CreateOptions::mode(CreateMode::PersistentSequential),
        )
        .await?;
    assert_eq!(path, "/s-0000000000");
    assert_eq!(
        root.get_children("/app").await?,
        vec!["s-0000000000".to_string()]
    );
    let (_, watch) = c.exists_watch("/w").await?;
    root.create("/app/w", b"", CreateOptions::default()).await?;
    let event = within("created event", watch).await??;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeCreated, "/w")
    );
    assert_eq!(c.get_children("/").await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn one_shot_watches_fire_once_and_persistent_ones_keep_firing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let writer = Client::connect(&server.connect_string()).await?;
    c.create("/w", b"0", CreateOptions::default()).await?;
    let (_, _, data_watch) = c.get_data_watch("/w").await?;
    let (_, child_watch) = c.get_children_watch("/w").await?;
    let mut exact = c.add_watch("/w", AddWatchMode::Persistent).await?;
    let mut tree = c.add_watch("/w", AddWatchMode::PersistentRecursive).await?;
    writer.set_data("/w", b"1", None).await?;
    writer.set_data("/w", b"2", None).await?;
    writer.create("/w/k", b"", CreateOptions::default()).await?;
    let event = within("data event", data_watch).await??;
    assert_eq!(event.event_type, EventType::NodeDataChanged);
    let event = within("child event", child_watch).await??;
    assert_eq!(event.event_type, EventType::NodeChildrenChanged);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            within("persistent", exact.next())
                .await?
                .map(|e| e.event_type),
        );
    }
    assert_eq!(
        seen,
        vec![
            Some(EventType::NodeDataChanged),
            Some(EventType::NodeDataChanged),
            Some(EventType::NodeChildrenChanged)
        ]
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            within("recursive", tree.next())
                .await?
                .map(|e| (e.event_type, e.path)),
        );
    }
    assert_eq!(seen[2], Some((EventType::NodeCreated, "/w/k".to_string())));
    c.remove_watches("/w", client::WatcherType::Persistent)
        .await?;
    assert!(matches!(
        c.remove_watches("/w", client::WatcherType::Persistent)
            .await,
        Err(Error::NoWatcher)
    ));
    Ok(())
}

#[tokio::test]
async fn multi_reports_results_or_the_failing_code() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let results = c
        .multi(vec![
            Op::Create {
                path: "/m".into(),
                data: b"x".to_vec(),
                options: CreateOptions::default(),
            },
            Op::SetData {
                path: "/m".into(),
                data: b"y".to_vec(),
                version: Some(0),
            },
            Op::Check {
                path: "/m".into(),
                version: Some(1),
            },
        ])
        .await?;
    assert!(matches!(results[0], OpResult::Created { .. }));
    assert!(matches!(results[1], OpResult::DataSet(ref s) if s.version == 1));
    assert_eq!(results[2], OpResult::Checked);
    let failed = c
        .multi(vec![
            Op::Delete {
                path: "/m".into(),
                version: None,
            },
            Op::Check {
                path: "/m".into(),
                version: None,
            },
        ])
        .await;
    match failed {
        Err(Error::Multi { code, results }) => {
            assert_eq!(code, client::ErrorCode::NoNode);
            assert_eq!(
                results,
                vec![client::ErrorCode::Ok, client::ErrorCode::NoNode]
            );
        }
        other => anyhow::bail!("expected a multi failure, got {other:?}"),
    }
    assert!(
        c.exists("/m").await?.is_some(),
        "nothing of the failed multi applied"
    );
    Ok(())
}

#[tokio::test]
async fn a_session_survives_a_server_restart_with_its_ephemerals_and_watches() -> anyhow::Result<()>
{
    let mut server = TestServer::start().await?;
    let c = Client::builder(&server.connect_string())
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?;
    let mut events = c.events();
    let session = c.session_id();
    c.create("/e", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    c.create("/d", b"0", CreateOptions::default()).await?;
    let (_, _, data_watch) = c.get_data_watch("/d").await?;
    let mut stream = c.watch_from("/d", false, c.last_zxid()).await?;
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    server.restart().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Reconnected);
    assert_eq!(c.session_id(), session, "same session");
    assert!(c.exists("/e").await?.is_some(), "ephemeral kept");
    let writer = Client::connect(&server.connect_string()).await?;
    writer.set_data("/d", b"1", None).await?;
    let event = within("re-registered data watch", data_watch).await??;
    assert_eq!(event.event_type, EventType::NodeDataChanged);
    let resumed = within("resumed stream", stream.next()).await?;
    assert!(matches!(resumed, Some(Ok(ref e)) if e.event_type == EventType::NodeDataChanged));
    Ok(())
}

#[tokio::test]
async fn changes_made_while_disconnected_fire_catch_up_events() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = Client::builder(&server.connect_string())
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?;
    let mut events = c.events();
    c.create("/x", b"0", CreateOptions::default()).await?;
    let (_, _, watch) = c.get_data_watch("/x").await?;
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    server.restart().await?;
    // Another client changes /x before `c` is back (or just after): either way
    // the watch must fire exactly once.
    let writer = Client::connect(&server.connect_string()).await?;
    writer.set_data("/x", b"1", None).await?;
    let event = within("catch-up event", watch).await??;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDataChanged, "/x")
    );
    Ok(())
}

#[tokio::test]
async fn a_session_that_cannot_reach_any_server_expires() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = Client::builder(&server.connect_string())
        .session_timeout(Duration::from_millis(500))
        .build()
        .await?;
    let mut events = c.events();
    let (_, watch) = c.exists_watch("/never").await?;
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    assert_eq!(next_event(&mut events).await?, SessionEvent::Expired);
    assert_eq!(c.state(), SessionState::Expired);
    assert_eq!(
        within("watch failure", watch).await?,
        Err(Error::SessionExpired)
    );
    assert!(matches!(c.get_data("/").await, Err(Error::SessionExpired)));
    Ok(())
}

#[tokio::test]
async fn an_expired_session_is_refused_on_reconnect() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = Client::builder(&server.connect_string())
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?;
    let mut events = c.events();
    c.create("/gone", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    server.kill().await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    // Restart with the session's deadline already past: the server expires it.
    server.restart().await?;
    let killer = Client::connect(&server.connect_string()).await?;
    if let Some(handle) = server.handle() {
        let expired = handle.service().expire_session_now(c.session_id()).await;
        assert!(expired);
    }
    // The client may have reattached before the expiry (Reconnected, then
    // Suspended when the server cuts it off); it must end Expired either way.
    loop {
        match next_event(&mut events).await? {
            SessionEvent::Expired => break,
            SessionEvent::Reconnected | SessionEvent::Suspended => continue,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    assert_eq!(killer.exists("/gone").await?, None);
    Ok(())
}

#[tokio::test]
async fn acls_and_digest_auth_protect_nodes() -> anyhow::Result<()> {
    use client::{perms, Acl};
    let server = TestServer::start().await?;
    let bob = Client::connect(&server.connect_string()).await?;
    bob.add_auth("digest", b"bob:secret").await?;
    let options = CreateOptions {
        acl: Acl::creator_all(),
        ..CreateOptions::default()
    };
    bob.create("/bob", b"mine", options).await?;
    let (acl, _) = bob.get_acl("/bob").await?;
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].scheme, "digest");
    assert!(
        acl[0].id.starts_with("bob:") && !acl[0].id.ends_with(":x"),
        "the owner sees the digest"
    );
    let who = bob.who_am_i().await?;
    assert!(
        who.contains(&("digest".to_string(), "bob".to_string())),
        "{who:?}"
    );
    assert!(who.iter().any(|(scheme, _)| scheme == "ip"));

    let eve = Client::connect(&server.connect_string()).await?;
    assert!(matches!(
        eve.get_data("/bob").await,
        Err(Error::NoAuth { .. })
    ));
    assert!(matches!(
        eve.set_data("/bob", b"x", None).await,
        Err(Error::NoAuth { .. })
    ));
    assert!(matches!(
        eve.get_acl("/bob").await,
        Err(Error::NoAuth { .. })
    ));
    assert!(matches!(
        eve.add_auth("nope", b"x").await,
        Err(Error::AuthFailed)
    ));
    let denied = eve
        .create(
            "/e",
            b"",
            CreateOptions {
                acl: Acl::creator_all(),
                ..CreateOptions::default()
            },
        )
        .await;
    assert!(
        matches!(denied, Err(Error::InvalidAcl)),
        "auth ACL without an authenticated id"
    );
    eve.add_auth("digest", b"bob:secret").await?;
    assert_eq!(eve.get_data("/bob").await?.0, b"mine");

    let read_only = vec![Acl::new(perms::READ | perms::ADMIN, "world", "anyone")];
    bob.set_acl("/bob", &read_only, Some(0)).await?;
    let public = Client::connect(&server.connect_string()).await?;
    assert_eq!(public.get_data("/bob").await?.0, b"mine");
    assert!(matches!(
        bob.set_acl("/bob", &read_only, Some(0)).await,
        Err(Error::BadVersion { .. })
    ));
    Ok(())
}
