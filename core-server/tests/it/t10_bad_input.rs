//! Guarantee: bad input gets a typed error, never a panic, and other sessions
//! keep being served.

use crate::raw::{self, RawSession};
use proto::v1::{client_frame::Frame, request::Op, server_frame, ClientFrame};
use proto::ErrorCode;

#[tokio::test]
async fn request_without_an_operation_gets_marshalling_error_and_session_continues(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.send(1, None).await?;
    let r = s.response().await?;
    assert_eq!((r.xid, r.err), (1, ErrorCode::MarshallingError.as_i32()));
    let r = s.call(2, raw::create("/ok", b"x")).await?;
    assert_eq!(r.err, 0);
    Ok(())
}

#[tokio::test]
async fn unknown_create_mode_is_bad_arguments() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    let op = Op::Create(proto::v1::CreateOp {
        path: "/m".into(),
        data: None,
        mode: 7,
        ttl_ms: 0,
        ..Default::default()
    });
    let r = s.call(1, op).await?;
    assert_eq!(r.err, ErrorCode::BadArguments.as_i32());
    Ok(())
}

#[tokio::test]
async fn data_over_the_limit_is_refused_and_the_session_stays_usable() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    let big = vec![7u8; proto::DEFAULT_MAX_DATA_BYTES + 1];
    let r = s.call(1, raw::create("/big", &big)).await?;
    assert_eq!(r.err, ErrorCode::TooLarge.as_i32());
    let exact = vec![7u8; proto::DEFAULT_MAX_DATA_BYTES];
    let r = s.call(2, raw::create("/max", &exact)).await?;
    assert_eq!(r.err, 0, "exactly 1 MiB is accepted");
    let r = s.call(3, raw::get("/max")).await?;
    assert_eq!(
        raw::data_of(&r).map(|d| d.len()),
        Some(proto::DEFAULT_MAX_DATA_BYTES)
    );
    let r = s.call(4, raw::get("/big")).await?;
    assert_eq!(r.err, ErrorCode::NoNode.as_i32());
    Ok(())
}

#[tokio::test]
async fn an_oversized_frame_ends_only_its_own_stream() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut bystander = RawSession::connect(server.addr()).await?;
    let mut s = RawSession::connect(server.addr()).await?;
    let huge = vec![1u8; server.config().max_request_bytes + 1024];
    s.send(1, Some(raw::create("/huge", &huge))).await?;
    let ended = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), s.rx.message()).await? {
            Ok(Some(_)) => continue,
            Ok(None) => break true,
            Err(_status) => break true,
        }
    };
    assert!(ended);
    let r = bystander.call(1, raw::create("/still-fine", b"")).await?;
    assert_eq!(r.err, 0);
    // The session itself survives and can be reattached.
    let (tx, mut rx) = raw::open(
        server.addr(),
        raw::connect_frame(s.session_id, s.password.clone(), 30_000),
    )
    .await?;
    assert!(matches!(raw::next(&mut rx).await?, server_frame::Frame::Connected(c) if c.reattached));
    drop(tx);
    Ok(())
}

#[tokio::test]
async fn a_first_frame_that_is_not_connect_is_rejected() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let ping = ClientFrame {
        frame: Some(Frame::Ping(proto::v1::Ping {})),
    };
    let (_tx, mut rx) = raw::open(server.addr(), ping).await?;
    match raw::next(&mut rx).await? {
        server_frame::Frame::Rejected(r) => assert_eq!(r.err, ErrorCode::BadArguments.as_i32()),
        other => anyhow::bail!("expected a rejection, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn invalid_paths_are_bad_arguments_not_panics() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    for (xid, path) in ["", "a", "/a/", "/a//b", "/a/./b", "/\u{0}", "/x/.."]
        .iter()
        .enumerate()
    {
        let r = s.call(xid as i32, raw::create(path, b"")).await?;
        assert!(
            r.err == ErrorCode::BadArguments.as_i32() || r.err == ErrorCode::NoNode.as_i32(),
            "create {path:?} gave {}",
            r.err
        );
        let r = s.call(100 + xid as i32, raw::get(path)).await?;
        assert_eq!(r.err, ErrorCode::BadArguments.as_i32(), "get {path:?}");
    }
    let long = format!("/{}", "x".repeat(server.config().max_path_bytes));
    let r = s.call(200, raw::create(&long, b"")).await?;
    assert_eq!(r.err, ErrorCode::BadArguments.as_i32());
    Ok(())
}

#[tokio::test]
async fn reattaching_with_a_wrong_password_is_refused_and_the_owner_keeps_working(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut owner = RawSession::connect(server.addr()).await?;
    let (_tx, mut rx) = raw::open(
        server.addr(),
        raw::connect_frame(owner.session_id, vec![0u8; 16], 30_000),
    )
    .await?;
    match raw::next(&mut rx).await? {
        server_frame::Frame::Rejected(r) => assert_eq!(r.err, ErrorCode::AuthFailed.as_i32()),
        other => anyhow::bail!("expected a rejection, got {other:?}"),
    }
    let r = owner.call(1, raw::create("/owner-ok", b"")).await?;
    assert_eq!(r.err, 0);
    let (_tx, mut rx) = raw::open(
        server.addr(),
        raw::connect_frame(12345, vec![0u8; 16], 30_000),
    )
    .await?;
    match raw::next(&mut rx).await? {
        server_frame::Frame::Rejected(r) => assert_eq!(r.err, ErrorCode::SessionExpired.as_i32()),
        other => anyhow::bail!("expected a rejection, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn the_session_limit_is_enforced_with_a_typed_refusal() -> anyhow::Result<()> {
    let config = core_server::Config {
        max_sessions: 2,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let _a = RawSession::connect(server.addr()).await?;
    let _b = RawSession::connect(server.addr()).await?;
    let (_tx, mut rx) = raw::open(server.addr(), raw::connect_frame(0, vec![], 30_000)).await?;
    match raw::next(&mut rx).await? {
        server_frame::Frame::Rejected(r) => assert_eq!(r.err, ErrorCode::TooManySessions.as_i32()),
        other => anyhow::bail!("expected a refusal, got {other:?}"),
    }
    Ok(())
}
