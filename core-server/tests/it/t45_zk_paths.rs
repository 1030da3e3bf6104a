//! Guarantee: on the ZooKeeper port an invalid path is answered per
//! operation exactly as ZooKeeper 3.8's server answers it (issue 14; the
//! same table was taken from a live 3.8.0 server, and `t41_differential_raw`
//! compares against one); the native API keeps refusing it with
//! BadArguments.

use crate::raw::{self, RawSession};
use crate::raw_zk::{self, Body, RawZk};
use proto::ErrorCode;

const NO_NODE: i32 = ErrorCode::NoNode as i32;
const BAD: i32 = ErrorCode::BadArguments as i32;
const EXISTS: i32 = ErrorCode::NodeExists as i32;

async fn zk_session(server: &testkit::TestServer) -> anyhow::Result<RawZk> {
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    RawZk::connect(addr).await
}

/// One operation's error code for `path` (0: success).
async fn code(zk: &mut RawZk, opcode: i32, path: &str) -> anyhow::Result<i32> {
    let body = match opcode {
        raw_zk::OP_EXISTS | raw_zk::OP_GET_DATA | raw_zk::OP_GET_CHILDREN => {
            raw_zk::watch_body(path, false)
        }
        raw_zk::OP_SET_DATA => Body::default().string(path).bytes(b"").i32(-1),
        raw_zk::OP_DELETE => Body::default().string(path).i32(99),
        raw_zk::OP_CREATE => raw_zk::create_body(path, b"", 0, None),
        _ => raw_zk::path_body(path),
    };
    Ok(zk.call(&raw_zk::request(1, opcode, body)).await?.err)
}

#[tokio::test]
async fn each_operation_answers_an_invalid_path_as_zookeeper_does() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    assert_eq!(code(&mut zk, raw_zk::OP_CREATE, "/r").await?, 0);
    assert_eq!(code(&mut zk, raw_zk::OP_CREATE, "/r/a").await?, 0);
    use raw_zk::{
        OP_ALL_CHILDREN_NUMBER as COUNT, OP_CREATE as CREATE, OP_DELETE as DELETE,
        OP_EXISTS as EXISTS_OP, OP_GET_ACL as ACL, OP_GET_CHILDREN as KIDS, OP_GET_DATA as GET,
        OP_SET_DATA as SET, OP_SYNC as SYNC,
    };
    let ops = [GET, EXISTS_OP, KIDS, ACL, COUNT, SET, SYNC, DELETE, CREATE];
    // Per path: getData, exists, getChildren, getACL, getAllChildrenNumber,
    // setData, sync, delete, create (observed on ZooKeeper 3.8.0).
    let table: [(&str, [i32; 9]); 12] = [
        (
            "a",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, BAD, BAD,
            ],
        ),
        (
            "a/b",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, NO_NODE,
            ],
        ),
        (
            "/r/",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, BAD,
            ],
        ),
        (
            "/r//a",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, NO_NODE,
            ],
        ),
        (
            "/r/./a",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, NO_NODE,
            ],
        ),
        (
            "/r/.",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, BAD,
            ],
        ),
        (
            "/r/..",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, BAD,
            ],
        ),
        (
            "/r/a/",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, BAD,
            ],
        ),
        (
            "/r/a\0",
            [NO_NODE, BAD, NO_NODE, NO_NODE, NO_NODE, BAD, 0, BAD, BAD],
        ),
        (
            "/r/\u{1}",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, BAD,
            ],
        ),
        (
            "/r/missing/",
            [
                NO_NODE, NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD, 0, NO_NODE, NO_NODE,
            ],
        ),
        ("/", [0, 0, 0, 0, 0, 0, 0, BAD, EXISTS]),
    ];
    for (path, expected) in table {
        let mut got = [0; 9];
        for (i, opcode) in ops.iter().enumerate() {
            got[i] = code(&mut zk, *opcode, path).await?;
        }
        assert_eq!(got, expected, "{path:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_empty_path_reads_as_the_root_but_is_refused_by_writes() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    for opcode in [
        raw_zk::OP_GET_DATA,
        raw_zk::OP_EXISTS,
        raw_zk::OP_GET_CHILDREN,
        raw_zk::OP_GET_ACL,
        raw_zk::OP_ALL_CHILDREN_NUMBER,
        raw_zk::OP_SYNC,
    ] {
        assert_eq!(code(&mut zk, opcode, "").await?, 0, "op {opcode}");
    }
    for opcode in [raw_zk::OP_SET_DATA, raw_zk::OP_DELETE, raw_zk::OP_CREATE] {
        assert_eq!(code(&mut zk, opcode, "").await?, BAD, "op {opcode}");
    }
    Ok(())
}

#[tokio::test]
async fn a_sequential_create_may_end_with_a_slash() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    for path in ["/a", "/a/x", "/a/y", "/a/z"] {
        assert_eq!(code(&mut zk, raw_zk::OP_CREATE, path).await?, 0);
    }
    let (header, frame) = zk
        .call_frame(&raw_zk::request(
            2,
            raw_zk::OP_CREATE,
            raw_zk::create_body("/a/", b"", 2, None),
        ))
        .await?;
    assert_eq!(header.err, 0);
    assert_eq!(&frame[20..], b"/a/0000000003");
    Ok(())
}

#[tokio::test]
async fn exists_leaves_a_watch_on_the_path_as_given_but_not_with_a_nul() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    let check = |path: &str| {
        raw_zk::request(
            3,
            raw_zk::OP_CHECK_WATCHES,
            Body::default().string(path).i32(2),
        )
    };
    for path in ["/r/", "/./a", "/a//b"] {
        let exists = raw_zk::request(1, raw_zk::OP_EXISTS, raw_zk::watch_body(path, true));
        assert_eq!(zk.call(&exists).await?.err, NO_NODE, "{path:?}");
        assert_eq!(zk.call(&check(path)).await?.err, 0, "watch on {path:?}");
    }
    let exists = raw_zk::request(1, raw_zk::OP_EXISTS, raw_zk::watch_body("/a\0", true));
    assert_eq!(zk.call(&exists).await?.err, BAD);
    assert_eq!(
        zk.call(&check("/a\0")).await?.err,
        ErrorCode::NoWatcher.as_i32()
    );
    // getData on a missing node leaves no watch, whatever its path.
    let get = raw_zk::request(1, raw_zk::OP_GET_DATA, raw_zk::watch_body("/b/", true));
    assert_eq!(zk.call(&get).await?.err, NO_NODE);
    assert_eq!(
        zk.call(&check("/b/")).await?.err,
        ErrorCode::NoWatcher.as_i32()
    );
    // addWatch takes any path, as ZooKeeper's server does.
    let add = raw_zk::add_recursive_watch(4, "/c/");
    assert_eq!(zk.call(&add).await?.err, 0);
    Ok(())
}

#[tokio::test]
async fn a_path_over_the_length_limit_names_no_node_and_is_refused_by_writes() -> anyhow::Result<()>
{
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    let long = format!("/{}", "x".repeat(server.config().max_path_bytes));
    assert_eq!(code(&mut zk, raw_zk::OP_GET_DATA, &long).await?, NO_NODE);
    assert_eq!(code(&mut zk, raw_zk::OP_EXISTS, &long).await?, NO_NODE);
    assert_eq!(code(&mut zk, raw_zk::OP_CREATE, &long).await?, BAD);
    assert_eq!(code(&mut zk, raw_zk::OP_SET_DATA, &long).await?, BAD);
    Ok(())
}

#[tokio::test]
async fn the_native_api_refuses_every_invalid_path_with_bad_arguments() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.ok(raw::create("/r", b"")).await?;
    for path in [
        "",
        "a",
        "a/b",
        "/r/",
        "/r//a",
        "/r/./a",
        "/r/a\0",
        "/missing/",
    ] {
        assert_eq!(s.code(raw::get(path)).await?, BAD, "get {path:?}");
        assert_eq!(
            s.code(raw::exists(path, true)).await?,
            BAD,
            "exists {path:?}"
        );
        assert_eq!(
            s.code(raw::children(path, false)).await?,
            BAD,
            "children {path:?}"
        );
        assert_eq!(s.code(raw::delete(path, -1)).await?, BAD, "delete {path:?}");
        assert_eq!(
            s.code(raw::create(path, b"")).await?,
            BAD,
            "create {path:?}"
        );
    }
    // A sequential create may still end with a slash.
    let made = s
        .ok(raw::create_mode(
            "/r/",
            None,
            proto::CreateMode::PersistentSequential,
            0,
        ))
        .await?;
    assert_eq!(raw::created_path(&made).as_deref(), Some("/r/0000000000"));
    Ok(())
}

/// getAllChildrenNumber counts `path + "/"` prefixes in ZooKeeper's node
/// map, where the root is kept as both "" and "/": so "" counts one more
/// than "/" (found by the seeded differential against 3.8.0).
#[tokio::test]
async fn all_children_of_the_empty_path_count_the_root_too() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = zk_session(&server).await?;
    for path in ["/a", "/a/x"] {
        assert_eq!(code(&mut zk, raw_zk::OP_CREATE, path).await?, 0);
    }
    let mut counts = Vec::new();
    for path in ["/", ""] {
        let count = raw_zk::request(9, raw_zk::OP_ALL_CHILDREN_NUMBER, raw_zk::path_body(path));
        let (header, frame) = zk.call_frame(&count).await?;
        assert_eq!(header.err, 0);
        let bytes = frame
            .get(16..20)
            .ok_or_else(|| anyhow::anyhow!("short reply"))?;
        counts.push(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
    }
    // /zookeeper, /zookeeper/quota, /zookeeper/config, /a, /a/x.
    assert_eq!(counts, vec![5, 6]);
    Ok(())
}
