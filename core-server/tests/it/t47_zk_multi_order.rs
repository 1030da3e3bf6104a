//! Guarantee: a multi is validated in op order, as ZooKeeper 3.8 does: an
//! op invalid in itself is reported in its place (the ops before it OK or
//! their own error first, RuntimeInconsistency after), never by refusing the
//! whole multi; createTTL with a mode that is not a TTL mode is a plain
//! create inside a multi and BadArguments alone (issue 14).

use crate::raw::{self, RawSession};
use crate::raw_zk::{self, Body, RawZk};
use proto::ErrorCode;
use std::time::Duration;

const BAD: i32 = ErrorCode::BadArguments as i32;
const RI: i32 = ErrorCode::RuntimeInconsistency as i32;
const ERROR: i32 = -1;

fn create(path: &str, flags: i32) -> (i32, Body) {
    (
        raw_zk::OP_CREATE,
        raw_zk::create_body(path, b"", flags, None),
    )
}

fn create_ttl(path: &str, flags: i32, ttl: i64) -> (i32, Body) {
    (
        raw_zk::OP_CREATE_TTL,
        raw_zk::create_body(path, b"", flags, Some(ttl)),
    )
}

fn check(path: &str, version: i32) -> (i32, Body) {
    (raw_zk::OP_CHECK, Body::default().string(path).i32(version))
}

async fn multi(zk: &mut RawZk, ops: Vec<(i32, Body)>) -> anyhow::Result<Vec<(i32, i32, String)>> {
    let (header, frame) = zk.call_frame(&raw_zk::multi(9, ops)).await?;
    anyhow::ensure!(header.err == 0, "multi header err {}", header.err);
    raw_zk::multi_results(&frame)
}

fn codes(results: &[(i32, i32, String)]) -> Vec<(i32, i32)> {
    results.iter().map(|(t, e, _)| (*t, *e)).collect()
}

async fn zk_session(server: &testkit::TestServer) -> anyhow::Result<RawZk> {
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    RawZk::connect(addr).await
}

#[tokio::test]
async fn an_op_invalid_in_itself_is_reported_in_its_place() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    assert_eq!(zk.call(&raw_zk::create(1, "/r", b"")).await?.err, 0);
    // A TTL of 0 on a TTL mode, after a create that would succeed.
    let set = (
        raw_zk::OP_SET_DATA,
        Body::default().string("/r").bytes(b"").i32(-1),
    );
    let got = multi(
        &mut zk,
        vec![create("/r/a", 0), create_ttl("/r/t", 5, 0), set],
    )
    .await?;
    assert_eq!(codes(&got), vec![(ERROR, 0), (ERROR, BAD), (ERROR, RI)]);
    // An earlier op's own error comes first.
    let got = multi(&mut zk, vec![check("/r", 77), create_ttl("/r/t", 5, 0)]).await?;
    assert_eq!(
        codes(&got),
        vec![(ERROR, ErrorCode::BadVersion.as_i32()), (ERROR, RI)]
    );
    // A flag that names no create mode, in its place too.
    let got = multi(
        &mut zk,
        vec![create("/r/b", 0), create("/r/c", 7), create("/r/d", 0)],
    )
    .await?;
    assert_eq!(codes(&got), vec![(ERROR, 0), (ERROR, BAD), (ERROR, RI)]);
    let got = multi(&mut zk, vec![check("/r", 77), create("/r/c", 7)]).await?;
    assert_eq!(
        codes(&got),
        vec![(ERROR, ErrorCode::BadVersion.as_i32()), (ERROR, RI)]
    );
    // A path refused before the log also fails in its place.
    let long = format!("/r/{}", "x".repeat(server.config().max_path_bytes));
    let got = multi(&mut zk, vec![check("/r", 77), create(&long, 0)]).await?;
    assert_eq!(
        codes(&got),
        vec![(ERROR, ErrorCode::BadVersion.as_i32()), (ERROR, RI)]
    );
    // Nothing of the failed multis was created.
    let (_, frame) = zk
        .call_frame(&raw_zk::request(
            3,
            raw_zk::OP_GET_CHILDREN,
            raw_zk::watch_body("/r", false),
        ))
        .await?;
    assert_eq!(&frame[16..20], &0i32.to_be_bytes(), "no children");
    Ok(())
}

#[tokio::test]
async fn create_ttl_with_another_mode_is_a_plain_create_in_a_multi_and_refused_alone(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    assert_eq!(zk.call(&raw_zk::create(1, "/r", b"")).await?.err, 0);
    for (flags, ttl) in [(0, 100), (0, 0), (0, -1), (2, 5), (4, 100), (7, 100)] {
        let alone = raw_zk::request(
            2,
            raw_zk::OP_CREATE_TTL,
            raw_zk::create_body("/r/alone", b"", flags, Some(ttl)),
        );
        assert_eq!(zk.call(&alone).await?.err, BAD, "flags {flags} ttl {ttl}");
    }
    let got = multi(
        &mut zk,
        vec![
            create_ttl("/r/p", 0, 100),
            create_ttl("/r/s-", 2, 5),
            create_ttl("/r/box", 4, 100),
            create_ttl("/r/e", 1, 5),
        ],
    )
    .await?;
    assert_eq!(
        got,
        vec![
            (raw_zk::OP_CREATE, 0, "/r/p".to_string()),
            (raw_zk::OP_CREATE, 0, "/r/s-0000000001".to_string()),
            (raw_zk::OP_CREATE2, 0, "/r/box".to_string()),
            (raw_zk::OP_CREATE, 0, "/r/e".to_string()),
        ]
    );
    // A TTL flag through create (no TTL field) fails the whole request.
    let (header, _) = zk
        .call_frame(&raw_zk::multi(4, vec![create("/r/t", 5)]))
        .await?;
    assert_eq!(header.err, ErrorCode::MarshallingError.as_i32());
    Ok(())
}

#[tokio::test]
async fn the_container_flag_makes_a_container_inside_a_multi() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    let got = multi(
        &mut zk,
        vec![
            create("/box", 4),
            create("/box/item", 0),
            create("/plain", 0),
        ],
    )
    .await?;
    assert_eq!(
        got,
        vec![
            (raw_zk::OP_CREATE2, 0, "/box".to_string()),
            (raw_zk::OP_CREATE, 0, "/box/item".to_string()),
            (raw_zk::OP_CREATE, 0, "/plain".to_string()),
        ]
    );
    let delete = raw_zk::request(
        2,
        raw_zk::OP_DELETE,
        Body::default().string("/box/item").i32(-1),
    );
    assert_eq!(zk.call(&delete).await?.err, 0);
    testkit::eventually(Duration::from_secs(10), "the empty container is reaped", || async {
        let mut s = match RawSession::connect(server.addr()).await {
            Ok(s) => s,
            Err(_) => return false,
        };
        matches!(s.code(raw::exists("/box", false)).await, Ok(code) if code == ErrorCode::NoNode.as_i32())
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_native_api_reports_an_invalid_mode_in_its_place_too() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    use proto::v1::{multi_op_item::Op as M, request::Op, CreateOp, MultiOp, MultiOpItem};
    let item = |path: &str, mode: i32| MultiOpItem {
        op: Some(M::Create(CreateOp {
            path: path.into(),
            mode,
            ..Default::default()
        })),
    };
    let op = Op::Multi(MultiOp {
        ops: vec![item("/a", 0), item("/b", 7), item("/c", 0)],
    });
    let r = s.call(1, op).await?;
    assert_eq!(r.err, 0, "the multi itself is answered");
    let codes: Vec<i32> = match r.result {
        Some(proto::v1::response::Result::Multi(m)) => m.results.iter().map(|x| x.err).collect(),
        other => anyhow::bail!("not a multi result: {other:?}"),
    };
    assert_eq!(codes, vec![0, BAD, RI]);
    Ok(())
}
