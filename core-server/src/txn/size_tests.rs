//! `approximate_data_size` (ZooKeeper's `zk_approximate_data_size`): the sum
//! of path and data lengths over all nodes, kept up to date by every change,
//! rolled back with a failed multi and recomputed when a tree is loaded.

use super::tests::Log;
use super::*;
use crate::tree::{Acl, StateMachine};

/// The size counted from scratch.
fn counted(sm: &StateMachine) -> u64 {
    sm.nodes
        .iter()
        .map(|(path, node)| (path.len() + node.data.as_ref().map_or(0, |d| d.len())) as u64)
        .sum()
}

fn create(path: &str, data: &[u8]) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data: Some(data.to_vec()),
        mode: CreateMode::Persistent,
        ttl_ms: 0,
        acl: Acl::open(),
    })
}

#[test]
fn the_size_follows_creates_updates_deletes_and_rollbacks() {
    let mut log = Log::new();
    let fresh = log.sm.approximate_data_size();
    assert_eq!(fresh, counted(&log.sm));
    log.run(7, create("/a", b"12345")).result.expect("create");
    assert_eq!(log.sm.approximate_data_size(), fresh + 2 + 5);
    let set = |data: Option<&[u8]>| Txn::SetData {
        path: "/a".into(),
        data: data.map(<[u8]>::to_vec),
        version: -1,
    };
    log.run(7, set(Some(b"123456789"))).result.expect("set");
    assert_eq!(log.sm.approximate_data_size(), fresh + 2 + 9);
    log.run(7, set(None)).result.expect("set null");
    assert_eq!(log.sm.approximate_data_size(), fresh + 2);
    log.run(7, set(Some(b"xy"))).result.expect("set");
    // A multi that fails after changing data and creating a node leaves
    // the size as it was.
    let before = log.sm.approximate_data_size();
    let failed = log.run(
        7,
        Txn::Multi(vec![
            set(Some(b"a much longer value")),
            create("/b", b"bbbb"),
            Txn::Check {
                path: "/a".into(),
                version: 99,
            },
        ]),
    );
    assert!(matches!(failed.result, Ok(OpResult::Multi(_))));
    assert_eq!(log.sm.approximate_data_size(), before);
    log.run(
        7,
        Txn::Delete {
            path: "/a".into(),
            version: -1,
        },
    )
    .result
    .expect("delete");
    assert_eq!(log.sm.approximate_data_size(), fresh);
    assert_eq!(log.sm.approximate_data_size(), counted(&log.sm));
}

#[test]
fn a_loaded_tree_counts_its_size_again() {
    let mut log = Log::new();
    log.run(7, create("/big", &[7; 1000]))
        .result
        .expect("create");
    let bytes = postcard::to_allocvec(&log.sm).expect("encode");
    let loaded: StateMachine = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(
        loaded.approximate_data_size(),
        log.sm.approximate_data_size()
    );
    assert_eq!(loaded, log.sm);
}
