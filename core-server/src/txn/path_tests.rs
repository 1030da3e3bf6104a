//! Path checks at apply, which are ZooKeeper 3.8's PrepRequestProcessor's:
//! create and delete look the parent up before anything else (only a path
//! without any `/`, or with a NUL, is BadArguments first); setData and check
//! validate the whole path; the multi placeholder for an op invalid in itself
//! fails where it stands.

use super::tests::{create, Log};
use super::*;

fn delete(path: &str) -> Txn {
    Txn::Delete {
        path: path.into(),
        version: -1,
    }
}

fn set_data(path: &str) -> Txn {
    Txn::SetData {
        path: path.into(),
        data: None,
        version: -1,
    }
}

fn check(path: &str) -> Txn {
    Txn::Check {
        path: path.into(),
        version: -1,
    }
}

#[test]
fn create_reports_a_missing_parent_before_a_bad_name() {
    let mut log = Log::new();
    log.create("/a", CreateMode::Persistent).expect("create /a");
    for (path, code) in [
        ("", ErrorCode::BadArguments),
        ("a", ErrorCode::BadArguments),
        ("/a/b\0", ErrorCode::BadArguments),
        ("a/b", ErrorCode::NoNode),
        ("/missing/", ErrorCode::NoNode),
        ("/a//b", ErrorCode::NoNode),
        ("/a/./b", ErrorCode::NoNode),
        ("/a/", ErrorCode::BadArguments),
        ("/a/.", ErrorCode::BadArguments),
        ("/a/\u{1}", ErrorCode::BadArguments),
        ("/", ErrorCode::NodeExists),
        ("/zookeeper", ErrorCode::NodeExists),
    ] {
        assert_eq!(
            log.create(path, CreateMode::Persistent),
            Err(code),
            "create {path:?}"
        );
    }
}

#[test]
fn a_sequential_create_may_end_with_a_slash_and_names_the_node_by_its_digits() {
    let mut log = Log::new();
    log.create("/a", CreateMode::Persistent).expect("create /a");
    log.create("/a/x", CreateMode::Persistent)
        .expect("create /a/x");
    let made = log.create("/a/", CreateMode::PersistentSequential);
    assert!(
        matches!(&made, Ok(OpResult::Created { path, .. }) if path == "/a/0000000001"),
        "{made:?}"
    );
    // `.` followed by digits is an ordinary name.
    let made = log.create("/a/.", CreateMode::PersistentSequential);
    assert!(
        matches!(&made, Ok(OpResult::Created { path, .. }) if path == "/a/.0000000002"),
        "{made:?}"
    );
    assert_eq!(
        log.create("/a//", CreateMode::PersistentSequential),
        Err(ErrorCode::NoNode)
    );
}

#[test]
fn delete_is_no_node_except_without_a_slash_or_with_a_nul() {
    let mut log = Log::new();
    log.create("/a", CreateMode::Persistent).expect("create /a");
    for (path, code) in [
        ("", ErrorCode::BadArguments),
        ("a", ErrorCode::BadArguments),
        ("/a\0", ErrorCode::BadArguments),
        ("/", ErrorCode::BadArguments),
        ("a/b", ErrorCode::NoNode),
        ("/a/", ErrorCode::NoNode),
        ("/a//b", ErrorCode::NoNode),
        ("/a/./b", ErrorCode::NoNode),
        ("/a/..", ErrorCode::NoNode),
    ] {
        assert_eq!(
            log.run(7, delete(path)).result,
            Err(code),
            "delete {path:?}"
        );
    }
}

#[test]
fn set_data_and_check_validate_the_whole_path() {
    let mut log = Log::new();
    log.create("/a", CreateMode::Persistent).expect("create /a");
    for path in [
        "",
        "a",
        "a/b",
        "/a/",
        "/a//b",
        "/a/./b",
        "/a\0",
        "/missing/",
    ] {
        assert_eq!(
            log.run(7, set_data(path)).result,
            Err(ErrorCode::BadArguments),
            "setData {path:?}"
        );
        let multi = log.run(7, Txn::Multi(vec![check(path)])).result;
        assert_eq!(
            multi,
            Ok(OpResult::Multi(vec![Err(ErrorCode::BadArguments)])),
            "check {path:?}"
        );
    }
    assert_eq!(
        log.run(7, set_data("/missing")).result,
        Err(ErrorCode::NoNode)
    );
}

#[test]
fn the_bad_arguments_op_fails_in_place_and_earlier_failures_come_first() {
    let mut log = Log::new();
    let before = log.sm.digest();
    let ops = vec![
        create("/m", CreateMode::Persistent, 0),
        Txn::bad_arguments_op(),
        set_data("/m"),
    ];
    assert_eq!(
        log.run(7, Txn::Multi(ops)).result,
        Ok(OpResult::Multi(vec![
            Err(ErrorCode::Ok),
            Err(ErrorCode::BadArguments),
            Err(ErrorCode::RuntimeInconsistency),
        ]))
    );
    let ops = vec![
        Txn::Check {
            path: "/".into(),
            version: 77,
        },
        Txn::bad_arguments_op(),
    ];
    assert_eq!(
        log.run(7, Txn::Multi(ops)).result,
        Ok(OpResult::Multi(vec![
            Err(ErrorCode::BadVersion),
            Err(ErrorCode::RuntimeInconsistency),
        ]))
    );
    // Nothing changed but the zxid the failed multis consumed.
    log.sm.last_zxid -= 2;
    assert_eq!(log.sm.digest(), before);
}

#[test]
fn a_ttl_op_invalid_in_itself_fails_in_place_inside_a_multi() {
    let mut log = Log::new();
    let ops = vec![
        create("/m", CreateMode::Persistent, 0),
        create("/t", CreateMode::PersistentWithTtl, 0),
        create("/u", CreateMode::Persistent, 0),
    ];
    assert_eq!(
        log.run(7, Txn::Multi(ops)).result,
        Ok(OpResult::Multi(vec![
            Err(ErrorCode::Ok),
            Err(ErrorCode::BadArguments),
            Err(ErrorCode::RuntimeInconsistency),
        ]))
    );
    assert!(log.sm.node("/m").is_none(), "the multi was rolled back");
}
