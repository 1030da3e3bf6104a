//! Quotas at apply: the stats nodes follow the subtree, limits are checked
//! as ZooKeeper 3.8's `checkQuota` does, and a restarted state machine
//! carries on exactly as one that never stopped.

use super::tests::Log;
use super::*;
use crate::tree::{Acl, StateMachine};

fn create(path: &str, data: Option<&[u8]>) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        mode: CreateMode::Persistent,
        ttl_ms: 0,
        acl: Acl::open(),
    })
}

fn set(path: &str, data: &[u8], version: i32) -> Txn {
    Txn::SetData {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    }
}

fn delete(path: &str) -> Txn {
    Txn::Delete {
        path: path.into(),
        version: -1,
    }
}

fn enforced(txn: Txn) -> Txn {
    Txn::QuotaEnforced(Box::new(txn))
}

fn data(log: &Log, path: &str) -> String {
    let (data, _) = log.sm.get_data(path).expect("node");
    String::from_utf8(data.unwrap_or_default()).expect("utf-8")
}

/// zkCli's `setquota` for a path that has no quota yet: the quota
/// directory, the limits node, then the stats node with zeros.
fn setquota(log: &mut Log, path: &str, limits: &str) {
    let mut dir = String::from(proto::quota::QUOTA_ROOT);
    for part in path.split('/').filter(|p| !p.is_empty()) {
        dir.push('/');
        dir.push_str(part);
        let _ = log.run(7, create(&dir, None));
    }
    let limit_node = proto::quota::limit_path(path);
    let stat_node = proto::quota::stat_path(path);
    log.run(7, create(&limit_node, Some(limits.as_bytes())))
        .result
        .expect("limits node");
    log.run(7, create(&stat_node, Some(b"count=0,bytes=0")))
        .result
        .expect("stats node");
}

fn quota_log() -> Log {
    let mut log = Log::new();
    log.run(7, create("/a", Some(b"12345"))).result.expect("/a");
    log.run(7, create("/a/b", Some(b"xy")))
        .result
        .expect("/a/b");
    log
}

#[test]
fn the_stats_node_starts_from_the_subtree_and_follows_it() {
    let mut log = quota_log();
    setquota(
        &mut log,
        "/a",
        "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=10",
    );
    let stats = "/zookeeper/quota/a/zookeeper_stats";
    assert_eq!(data(&log, stats), "count=2,bytes=7");
    let version = log.sm.stat(stats).expect("stats").version;
    log.run(7, create("/a/c", Some(b"abc")))
        .result
        .expect("create");
    assert_eq!(data(&log, stats), "count=3,bytes=10");
    log.run(7, create("/a/c/d", None))
        .result
        .expect("null data");
    assert_eq!(data(&log, stats), "count=4,bytes=10");
    let applied = log.run(7, set("/a/b", b"x", -1));
    assert!(applied.result.is_ok());
    assert_eq!(data(&log, stats), "count=4,bytes=9");
    assert!(
        !applied.events.iter().any(|e| e.path == stats),
        "a stats update fires no watch: {:?}",
        applied.events
    );
    log.run(7, delete("/a/c/d")).result.expect("delete");
    assert_eq!(data(&log, stats), "count=3,bytes=9");
    log.run(7, create("/ab", Some(b"elsewhere")))
        .result
        .expect("/ab");
    assert_eq!(data(&log, stats), "count=3,bytes=9", "/ab is not under /a");
    let stat = log.sm.stat(stats).expect("stats");
    assert_eq!(stat.version, version, "ZooKeeper rewrites the data only");
    assert_eq!(stat.data_length, "count=3,bytes=9".len() as i32);
}

#[test]
fn other_fields_of_the_stats_node_are_kept_and_count_and_bytes_lead() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=5,bytes=-1");
    let stats = "/zookeeper/quota/a/zookeeper_stats";
    log.run(7, set(stats, b"bytes=1;zeta=3,count=2", -1))
        .result
        .expect("a client may write it");
    log.run(7, create("/a/c", Some(b"abc")))
        .result
        .expect("create");
    assert_eq!(data(&log, stats), "count=3,bytes=4=;zeta=3");
}

#[test]
fn only_the_deepest_quota_counts_a_change() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=100,bytes=-1");
    setquota(&mut log, "/a/b", "count=100,bytes=-1");
    assert_eq!(
        data(&log, "/zookeeper/quota/a/b/zookeeper_stats"),
        "count=1,bytes=2"
    );
    log.run(7, create("/a/b/c", Some(b"1")))
        .result
        .expect("create");
    assert_eq!(
        data(&log, "/zookeeper/quota/a/b/zookeeper_stats"),
        "count=2,bytes=3"
    );
    assert_eq!(
        data(&log, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=7"
    );
    log.run(7, create("/a/x", Some(b"1")))
        .result
        .expect("create");
    assert_eq!(
        data(&log, "/zookeeper/quota/a/zookeeper_stats"),
        "count=3,bytes=8"
    );
}

#[test]
fn soft_limits_let_the_write_through_and_report_it() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=2,bytes=8");
    for txn in [create("/a/c", None), enforced(create("/a/d", None))] {
        let applied = log.run(7, txn);
        assert!(applied.result.is_ok(), "{:?}", applied.result);
        assert_eq!(
            applied.quota_breaches.len(),
            1,
            "{:?}",
            applied.quota_breaches
        );
    }
    let breach = &log.run(7, create("/a/e", Some(b"12"))).quota_breaches;
    assert_eq!(
        breach.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "Quota exceeded: /a [current count=5, softCountLimit=2]",
            "Quota exceeded: /a [current bytes=9, softByteLimit=8]",
        ]
    );
    assert!(log.run(7, create("/zzz", None)).quota_breaches.is_empty());
}

#[test]
fn hard_limits_refuse_only_when_enforced() {
    let mut log = quota_log();
    setquota(
        &mut log,
        "/a",
        "count=-1,bytes=-1=;byteHardLimit=9;countHardLimit=3",
    );
    let stats = "/zookeeper/quota/a/zookeeper_stats";
    log.run(7, enforced(create("/a/c", None)))
        .result
        .expect("3 of 3");
    let digest = log.sm.digest();
    let applied = log.run(7, enforced(create("/a/d", None)));
    assert_eq!(applied.result, Err(ErrorCode::QuotaExceeded));
    assert!(applied.events.is_empty());
    assert_eq!(
        applied.quota_breaches[0].to_string(),
        "Quota exceeded: /a [current count=4, hardCountLimit=3]"
    );
    assert_eq!(log.sm.stat("/a/d"), None);
    assert_ne!(log.sm.digest(), digest, "the zxid is consumed");
    assert_eq!(data(&log, stats), "count=3,bytes=7");
    // A setData adds no node: only the bytes limit counts, and it refuses
    // before the version is looked at (ZooKeeper's order).
    let applied = log.run(7, enforced(set("/a/b", b"xyzab", 99)));
    assert_eq!(applied.result, Err(ErrorCode::QuotaExceeded));
    assert_eq!(
        applied.quota_breaches[0].to_string(),
        "Quota exceeded: /a [current bytes=10, hardByteLimit=9]"
    );
    assert_eq!(
        log.run(7, enforced(set("/a/b", b"x", 99))).result.err(),
        Some(ErrorCode::BadVersion)
    );
    // Without enforcement the same writes go through (and are reported).
    let applied = log.run(7, create("/a/d", None));
    assert!(applied.result.is_ok());
    assert_eq!(applied.quota_breaches.len(), 1);
    log.run(7, set("/a/b", b"xyzab", -1))
        .result
        .expect("not enforced");
    assert_eq!(data(&log, stats), "count=4,bytes=10");
    // Over the limit already, even a write that shrinks is refused, as in
    // ZooKeeper (the new usage is compared, not the change).
    log.run(7, set("/a/b", b"0123456789", -1))
        .result
        .expect("not enforced");
    assert_eq!(
        log.run(7, enforced(set("/a/b", b"012345678", -1)))
            .result
            .err(),
        Some(ErrorCode::QuotaExceeded)
    );
    // Deletes are never refused.
    log.run(7, enforced(delete("/a/d"))).result.expect("delete");
}

#[test]
fn a_refused_op_in_a_multi_undoes_the_stats_of_the_ops_before_it() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=-1,bytes=-1=;countHardLimit=3");
    let stats = "/zookeeper/quota/a/zookeeper_stats";
    let before = (data(&log, stats), log.sm.approximate_data_size());
    let ops = vec![create("/a/c", Some(b"1")), create("/a/d", Some(b"2"))];
    let applied = log.run(7, enforced(Txn::Multi(ops.clone())));
    assert_eq!(
        applied.result,
        Ok(OpResult::Multi(vec![
            Err(ErrorCode::Ok),
            Err(ErrorCode::QuotaExceeded)
        ]))
    );
    assert_eq!((data(&log, stats), log.sm.approximate_data_size()), before);
    assert!(
        matches!(log.run(7, Txn::Multi(ops)).result, Ok(OpResult::Multi(r)) if r.iter().all(Result::is_ok))
    );
    assert_eq!(data(&log, stats), "count=4,bytes=9");
}

#[test]
fn a_deleted_limits_node_ends_the_quota_and_a_missing_stats_node_is_skipped() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=-1,bytes=-1=;countHardLimit=2");
    log.run(7, delete("/zookeeper/quota/a/zookeeper_stats"))
        .result
        .expect("stats");
    let applied = log.run(7, enforced(create("/a/c", None)));
    assert!(applied.result.is_ok(), "no stats node: allowed");
    log.run(7, delete("/zookeeper/quota/a/zookeeper_limits"))
        .result
        .expect("limits");
    assert_eq!(log.sm.quota_prefix("/a/c"), None);
    assert!(log.run(7, enforced(create("/a/d", None))).result.is_ok());
}

#[test]
fn unreadable_limits_refuse_when_enforced_and_unreadable_stats_stay() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=1,bytes=-1");
    let stats = "/zookeeper/quota/a/zookeeper_stats";
    log.run(7, set(stats, b"count", -1))
        .result
        .expect("garbage");
    log.run(7, create("/a/c", None))
        .result
        .expect("not enforced");
    assert_eq!(data(&log, stats), "count", "left alone");
    log.run(
        7,
        set("/zookeeper/quota/a/zookeeper_limits", b"count=x", -1),
    )
    .result
    .expect("garbage");
    assert_eq!(
        log.run(7, enforced(create("/a/d", None))).result.err(),
        Some(ErrorCode::MarshallingError)
    );
    assert!(log.run(7, create("/a/d", None)).result.is_ok());
}

#[test]
fn a_session_closing_takes_its_ephemerals_out_of_the_stats() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=10,bytes=-1");
    log.run(
        7,
        Txn::Create(CreateTxn {
            path: "/a/e".into(),
            data: Some(b"eph".to_vec()),
            mode: CreateMode::Ephemeral,
            ttl_ms: 0,
            acl: Acl::open(),
        }),
    )
    .result
    .expect("ephemeral");
    assert_eq!(
        data(&log, "/zookeeper/quota/a/zookeeper_stats"),
        "count=3,bytes=10"
    );
    log.run(0, Txn::CloseSession { session_id: 7 })
        .result
        .expect("close");
    assert_eq!(
        data(&log, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=7"
    );
}

#[test]
fn a_restored_state_machine_has_the_quotas_and_carries_on_alike() {
    let mut log = quota_log();
    setquota(&mut log, "/a", "count=-1,bytes=-1=;countHardLimit=4");
    let bytes = postcard::to_allocvec(&log.sm).expect("encode");
    let restored: StateMachine = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(restored.quota_paths().collect::<Vec<_>>(), ["/a"]);
    assert_eq!(restored, log.sm);
    let mut twin = Log::new();
    twin.sm = restored;
    twin.zxid = log.zxid;
    twin.time = log.time;
    for txn in [
        enforced(create("/a/c", Some(b"1"))),
        enforced(create("/a/d", Some(b"2"))),
        enforced(create("/a/e", Some(b"3"))),
        delete("/a/c"),
    ] {
        let (a, b) = (log.run(7, txn.clone()), twin.run(7, txn));
        assert_eq!((a.result, a.quota_breaches), (b.result, b.quota_breaches));
    }
    assert_eq!(log.sm.digest(), twin.sm.digest());
    assert_eq!(
        data(&twin, "/zookeeper/quota/a/zookeeper_stats"),
        "count=3,bytes=8"
    );
}
