//! Guarantee: ZooKeeper's data model, Stat rules and sequential naming, seen
//! through the wire.

use crate::raw::{self, RawSession};
use proto::{CreateMode, ErrorCode};

#[tokio::test]
async fn stat_fields_follow_zookeeper_rules() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    let created = s.ok(raw::create("/a", b"abc")).await?;
    let st = raw::stat_of(&created).expect("create returns a Stat");
    assert_eq!(
        created.zxid, st.czxid,
        "a write's response carries its zxid"
    );
    assert_eq!(
        (st.czxid, st.mzxid, st.pzxid),
        (st.czxid, st.czxid, st.czxid)
    );
    assert_eq!((st.ctime, st.mtime), (st.ctime, st.ctime));
    assert!(st.ctime > 1_600_000_000_000, "ctime is wall-clock ms");
    assert_eq!((st.version, st.cversion, st.aversion), (0, 0, 0));
    assert_eq!(
        (st.ephemeral_owner, st.data_length, st.num_children),
        (0, 3, 0)
    );

    let set = s.ok(raw::set("/a", b"abcd", 0)).await?;
    let st2 = raw::stat_of(&set).expect("setData returns a Stat");
    assert_eq!(st2.czxid, st.czxid);
    assert!(st2.mzxid > st.mzxid);
    assert_eq!(st2.pzxid, st.pzxid, "setData does not move pzxid");
    assert_eq!((st2.version, st2.data_length), (1, 4));

    let child = s.ok(raw::create("/a/c", b"")).await?;
    let parent = raw::stat_of(&s.ok(raw::exists("/a", false)).await?).expect("stat");
    assert_eq!(parent.pzxid, child.zxid, "child create moves pzxid");
    assert_eq!(parent.mzxid, st2.mzxid, "child create does not move mzxid");
    assert_eq!((parent.cversion, parent.num_children), (1, 1));
    s.ok(raw::delete("/a/c", -1)).await?;
    let parent = raw::stat_of(&s.ok(raw::exists("/a", false)).await?).expect("stat");
    assert_eq!(
        (parent.cversion, parent.num_children),
        (2, 0),
        "visible cversion counts deletes too"
    );

    let null = s
        .ok(raw::create_mode("/null", None, CreateMode::Persistent, 0))
        .await?;
    assert_eq!(raw::stat_of(&null).map(|s| s.data_length), Some(0));
    let got = s.ok(raw::get("/null")).await?;
    assert_eq!(raw::data_of(&got), None, "null data stays null");
    Ok(())
}

#[tokio::test]
async fn sequential_names_share_the_parent_counter_and_keep_gaps() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.ok(raw::create("/q", b"")).await?;
    let seq = |s: &str| raw::create_mode(s, Some(b""), CreateMode::PersistentSequential, 0);
    let a = s.ok(seq("/q/s-")).await?;
    assert_eq!(raw::created_path(&a).as_deref(), Some("/q/s-0000000000"));
    let b = s.ok(seq("/q/s-")).await?;
    assert_eq!(raw::created_path(&b).as_deref(), Some("/q/s-0000000001"));
    s.ok(raw::delete("/q/s-0000000000", -1)).await?;
    s.ok(raw::create("/q/plain", b"")).await?;
    assert_eq!(
        s.code(raw::create("/q/plain", b"")).await?,
        ErrorCode::NodeExists.as_i32()
    );
    let c = s.ok(seq("/q/s-")).await?;
    assert_eq!(
        raw::created_path(&c).as_deref(),
        Some("/q/s-0000000003"),
        "plain children consume a number; failed creates do not"
    );
    let d = s.ok(seq("/q/")).await?;
    assert_eq!(raw::created_path(&d).as_deref(), Some("/q/0000000004"));
    Ok(())
}

#[tokio::test]
async fn version_conflicts_and_special_paths() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.ok(raw::create("/v", b"")).await?;
    assert_eq!(
        s.code(raw::set("/v", b"x", 5)).await?,
        ErrorCode::BadVersion.as_i32()
    );
    s.ok(raw::set("/v", b"x", 0)).await?;
    s.ok(raw::create("/v/kid", b"")).await?;
    assert_eq!(
        s.code(raw::delete("/v", 9)).await?,
        ErrorCode::BadVersion.as_i32(),
        "version before emptiness"
    );
    assert_eq!(
        s.code(raw::delete("/v", 1)).await?,
        ErrorCode::NotEmpty.as_i32()
    );
    assert_eq!(
        s.code(raw::delete("/missing", -1)).await?,
        ErrorCode::NoNode.as_i32()
    );
    assert_eq!(
        s.code(raw::create("/no/parent", b"")).await?,
        ErrorCode::NoNode.as_i32()
    );
    for special in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(
            s.code(raw::delete(special, -1)).await?,
            ErrorCode::BadArguments.as_i32(),
            "{special}"
        );
    }
    assert_eq!(
        s.code(raw::create("/zookeeper", b"")).await?,
        ErrorCode::NodeExists.as_i32()
    );
    let root = s.ok(raw::children("/", false)).await?;
    assert_eq!(
        raw::children_of(&root),
        vec!["v".to_string(), "zookeeper".to_string()]
    );
    Ok(())
}

#[tokio::test]
async fn ephemerals_cannot_have_children() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut s = RawSession::connect(server.addr()).await?;
    let e = s
        .ok(raw::create_mode("/e", Some(b""), CreateMode::Ephemeral, 0))
        .await?;
    assert_eq!(
        raw::stat_of(&e).map(|st| st.ephemeral_owner),
        Some(s.session_id)
    );
    assert_eq!(
        s.code(raw::create("/e/kid", b"")).await?,
        ErrorCode::NoChildrenForEphemerals.as_i32()
    );
    Ok(())
}
