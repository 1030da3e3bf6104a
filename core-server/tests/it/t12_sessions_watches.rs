//! Guarantees: ephemerals go with their session (close and expiry) and fire
//! their watches; containers and TTL nodes are reaped; a watch event reaches a
//! client before the response of a later read that reflects the change.

use crate::raw::{self, RawSession};
use proto::v1::{request::Op, server_frame, EventType};
use proto::{CreateMode, ErrorCode};
use std::time::Duration;

#[tokio::test]
async fn closing_a_session_deletes_its_ephemerals_and_fires_watches() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut owner = RawSession::connect(server.addr()).await?;
    let mut watcher = RawSession::connect(server.addr()).await?;
    owner.ok(raw::create("/g", b"")).await?;
    owner
        .ok(raw::create_mode(
            "/g/m",
            Some(b""),
            CreateMode::Ephemeral,
            0,
        ))
        .await?;
    watcher.ok(raw::exists("/g/m", true)).await?;
    watcher.ok(raw::children("/g", true)).await?;
    owner
        .ok(Op::CloseSession(proto::v1::CloseSessionOp {}))
        .await?;
    let first = watcher.event().await?;
    let second = watcher.event().await?;
    assert_eq!(
        (first.r#type, first.path.as_str()),
        (EventType::NodeDeleted as i32, "/g/m")
    );
    assert_eq!(
        (second.r#type, second.path.as_str()),
        (EventType::NodeChildrenChanged as i32, "/g")
    );
    assert_eq!(
        watcher.code(raw::exists("/g/m", false)).await?,
        ErrorCode::NoNode.as_i32()
    );
    // A closed session cannot be reattached.
    let (_tx, mut rx) = raw::open(
        server.addr(),
        raw::connect_frame(owner.session_id, owner.password.clone(), 30_000),
    )
    .await?;
    assert!(
        matches!(raw::next(&mut rx).await?, server_frame::Frame::Rejected(r) if r.err == ErrorCode::SessionExpired.as_i32())
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_session_loses_its_ephemerals_and_watchers_are_told() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut watcher = RawSession::connect(server.addr()).await?;
    let mut owner = RawSession::connect_with_timeout(server.addr(), 300).await?;
    owner
        .ok(raw::create_mode(
            "/lease",
            Some(b""),
            CreateMode::Ephemeral,
            0,
        ))
        .await?;
    watcher.ok(raw::exists("/lease", true)).await?;
    // The owner goes silent (no pings): its session must expire.
    let event = watcher.event().await?;
    assert_eq!(
        (event.r#type, event.path.as_str()),
        (EventType::NodeDeleted as i32, "/lease")
    );
    // Its stream is closed by the server.
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), owner.rx.message()).await? {
            Ok(Some(_)) => continue,
            _ => break true,
        }
    };
    assert!(ended);
    Ok(())
}

#[tokio::test]
async fn containers_and_ttl_nodes_are_reaped() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.ok(raw::create_mode(
        "/box",
        Some(b""),
        CreateMode::Container,
        0,
    ))
    .await?;
    s.ok(raw::create("/box/item", b"")).await?;
    s.ok(raw::create_mode(
        "/ttl",
        Some(b""),
        CreateMode::PersistentWithTtl,
        50,
    ))
    .await?;
    s.ok(raw::exists("/box", true)).await?;
    s.ok(raw::exists("/ttl", true)).await?;
    s.ok(raw::delete("/box/item", -1)).await?;
    let mut deleted = vec![s.event().await?.path, s.event().await?.path];
    deleted.sort();
    assert_eq!(deleted, vec!["/box".to_string(), "/ttl".to_string()]);
    // A TTL without a TTL mode, or a TTL mode without a TTL, is refused.
    assert_eq!(
        s.code(raw::create_mode(
            "/t2",
            None,
            CreateMode::PersistentWithTtl,
            0
        ))
        .await?,
        ErrorCode::BadArguments.as_i32()
    );
    assert_eq!(
        s.code(raw::create_mode("/t3", None, CreateMode::Persistent, 10))
            .await?,
        ErrorCode::BadArguments.as_i32()
    );
    Ok(())
}

#[tokio::test]
async fn watch_event_arrives_before_the_response_of_a_read_that_sees_the_change(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut writer = RawSession::connect(server.addr()).await?;
    let mut reader = RawSession::connect(server.addr()).await?;
    writer.ok(raw::create("/w", b"0")).await?;
    for round in 1..=50 {
        reader.ok(raw::get_watch("/w")).await?;
        writer
            .ok(raw::set("/w", round.to_string().as_bytes(), -1))
            .await?;
        // Whatever the timing, a read that returns the new value must come after the event.
        reader.send(round, Some(raw::get("/w"))).await?;
        let mut saw_event = false;
        loop {
            match reader.frame().await? {
                server_frame::Frame::Event(e) => {
                    assert_eq!(e.r#type, EventType::NodeDataChanged as i32);
                    saw_event = true;
                }
                server_frame::Frame::Response(r) => {
                    let data = raw::data_of(&r).unwrap_or_default();
                    if data == round.to_string().into_bytes() {
                        assert!(
                            saw_event,
                            "round {round}: new data seen before its watch event"
                        );
                    }
                    break;
                }
                _ => {}
            }
        }
        if !saw_event {
            assert!(matches!(
                reader.frame().await?,
                server_frame::Frame::Event(_)
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn multi_is_all_or_nothing_with_zookeeper_result_codes() -> anyhow::Result<()> {
    use proto::v1::{multi_op_item::Op as M, MultiOp, MultiOpItem};
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.ok(raw::create("/m", b"")).await?;
    let item = |op| MultiOpItem { op: Some(op) };
    let failing = Op::Multi(MultiOp {
        ops: vec![
            item(M::Create(proto::v1::CreateOp {
                path: "/m/a".into(),
                data: None,
                mode: 0,
                ttl_ms: 0,
                ..Default::default()
            })),
            item(M::Check(proto::v1::CheckOp {
                path: "/m".into(),
                version: 7,
            })),
            item(M::SetData(proto::v1::SetDataOp {
                path: "/m".into(),
                data: None,
                version: -1,
            })),
        ],
    });
    let r = s.ok(failing).await?;
    let codes: Vec<i32> = match r.result {
        Some(proto::v1::response::Result::Multi(m)) => m.results.iter().map(|x| x.err).collect(),
        other => anyhow::bail!("expected multi results, got {other:?}"),
    };
    assert_eq!(
        codes,
        vec![
            0,
            ErrorCode::BadVersion.as_i32(),
            ErrorCode::RuntimeInconsistency.as_i32()
        ]
    );
    assert_eq!(
        s.code(raw::exists("/m/a", false)).await?,
        ErrorCode::NoNode.as_i32(),
        "nothing applied"
    );
    let ok = Op::Multi(MultiOp {
        ops: vec![
            item(M::Create(proto::v1::CreateOp {
                path: "/m/a".into(),
                data: None,
                mode: 0,
                ttl_ms: 0,
                ..Default::default()
            })),
            item(M::Check(proto::v1::CheckOp {
                path: "/m/a".into(),
                version: 0,
            })),
            item(M::SetData(proto::v1::SetDataOp {
                path: "/m/a".into(),
                data: Some(b"z".to_vec()),
                version: 0,
            })),
        ],
    });
    let r = s.ok(ok).await?;
    let codes: Vec<i32> = match r.result {
        Some(proto::v1::response::Result::Multi(m)) => m.results.iter().map(|x| x.err).collect(),
        other => anyhow::bail!("expected multi results, got {other:?}"),
    };
    assert_eq!(codes, vec![0, 0, 0]);
    assert_eq!(
        raw::data_of(&s.ok(raw::get("/m/a")).await?),
        Some(b"z".to_vec())
    );
    Ok(())
}

#[tokio::test]
async fn resumable_watch_delivers_every_change_after_a_zxid() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    let start = s.ok(raw::create("/r", b"")).await?.zxid;
    for i in 0..20 {
        s.ok(raw::create(&format!("/r/c{i}"), b"")).await?;
    }
    let mut w = RawSession::connect(server.addr()).await?;
    let op = Op::WatchFrom(proto::v1::WatchFromOp {
        path: "/r".into(),
        recursive: true,
        from_zxid: start,
    });
    w.ok(op).await?;
    for i in 20..25 {
        s.ok(raw::create(&format!("/r/c{i}"), b"")).await?;
    }
    let mut last = start;
    for i in 0..25 {
        let e = w.event().await?;
        assert_eq!(e.path, format!("/r/c{i}"));
        assert!(e.zxid > last, "in zxid order");
        last = e.zxid;
    }
    let stale = Op::WatchFrom(proto::v1::WatchFromOp {
        path: "/r".into(),
        recursive: true,
        from_zxid: -5,
    });
    assert_eq!(w.code(stale).await?, ErrorCode::Compacted.as_i32());
    Ok(())
}
