//! ACL enforcement at apply: the caller's ids travel in the entry.

use super::tests::Log;
use super::*;
use crate::tree::acl::perms;
use crate::tree::{Acl, AuthId};

fn create_with(path: &str, acl: Vec<Acl>) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data: None,
        mode: CreateMode::Persistent,
        ttl_ms: 0,
        acl,
    })
}

const BOB: &str = "bob:h";

fn as_bob(log: &mut Log) {
    log.auth = vec![AuthId::new("ip", "127.0.0.1"), AuthId::new("digest", BOB)];
}

fn as_stranger(log: &mut Log) {
    log.auth = vec![AuthId::new("ip", "10.9.9.9")];
}

#[test]
fn auth_acl_expands_to_the_creator_and_locks_others_out() {
    let mut log = Log::new();
    as_bob(&mut log);
    log.run(
        7,
        create_with("/private", vec![Acl::new(perms::ALL, "auth", "")]),
    )
    .result
    .expect("create");
    assert_eq!(
        log.sm.get_acl("/private").map(|a| a.0),
        Ok(vec![Acl::new(perms::ALL, "digest", BOB)])
    );
    as_stranger(&mut log);
    let set = Txn::SetData {
        path: "/private".into(),
        data: None,
        version: -1,
    };
    assert_eq!(log.run(7, set.clone()).result, Err(ErrorCode::NoAuth));
    assert_eq!(
        log.run(7, create_with("/private/kid", Acl::open())).result,
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        log.run(7, create_with("/x", vec![Acl::new(perms::ALL, "auth", "")]))
            .result,
        Err(ErrorCode::InvalidAcl)
    );
    log.is_super = true;
    assert!(
        log.run(7, set).result.is_ok(),
        "the super user bypasses ACLs"
    );
}

#[test]
fn delete_needs_delete_on_the_parent_and_set_acl_needs_admin() {
    let mut log = Log::new();
    let parent = vec![Acl::new(perms::READ | perms::CREATE, "world", "anyone")];
    log.run(7, create_with("/p", parent))
        .result
        .expect("create");
    log.run(7, create_with("/p/c", Acl::open()))
        .result
        .expect("create child");
    assert_eq!(
        log.run(
            7,
            Txn::Delete {
                path: "/p/c".into(),
                version: -1
            }
        )
        .result,
        Err(ErrorCode::NoAuth)
    );
    let set_acl = |version| Txn::SetAcl {
        path: "/p".into(),
        acl: Acl::open(),
        version,
    };
    assert_eq!(log.run(7, set_acl(-1)).result, Err(ErrorCode::NoAuth));
    log.is_super = true;
    assert_eq!(log.run(7, set_acl(5)).result, Err(ErrorCode::BadVersion));
    let applied = log.run(7, set_acl(0));
    assert!(matches!(applied.result, Ok(OpResult::AclSet(s)) if s.aversion == 1));
    assert!(applied.events.is_empty(), "setACL fires no watch");
    log.is_super = false;
    assert!(log
        .run(
            7,
            Txn::Delete {
                path: "/p/c".into(),
                version: -1
            }
        )
        .result
        .is_ok());
}

#[test]
fn ip_acls_match_by_network() {
    let mut log = Log::new();
    log.run(
        7,
        create_with("/net", vec![Acl::new(perms::ALL, "ip", "127.0.0.0/8")]),
    )
    .result
    .expect("create");
    assert!(log
        .run(
            7,
            Txn::SetData {
                path: "/net".into(),
                data: None,
                version: -1
            }
        )
        .result
        .is_ok());
    as_stranger(&mut log);
    assert_eq!(
        log.run(
            7,
            Txn::SetData {
                path: "/net".into(),
                data: None,
                version: -1
            }
        )
        .result,
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        log.run(
            7,
            create_with("/bad", vec![Acl::new(perms::ALL, "ip", "nonsense")])
        )
        .result,
        Err(ErrorCode::InvalidAcl)
    );
}
