//! Apply semantics: Stat rules, sequence numbers, multi atomicity, sessions,
//! containers and TTL nodes, determinism.

use super::*;
use crate::tree::{Acl, AuthId, EventKind, StateMachine, TreeEvent};

pub(super) struct Log {
    pub(super) sm: StateMachine,
    pub(super) zxid: i64,
    pub(super) time: i64,
    pub(super) auth: Vec<AuthId>,
    pub(super) is_super: bool,
}

impl Log {
    pub(super) fn new() -> Log {
        let mut log = Log {
            sm: StateMachine::new(),
            zxid: 0,
            time: 1_000,
            auth: vec![AuthId::new("ip", "127.0.0.1")],
            is_super: false,
        };
        log.run(
            0,
            Txn::CreateSession {
                session_id: 7,
                password: vec![1; 16],
                timeout_ms: 5000,
            },
        )
        .result
        .expect("session");
        log
    }

    pub(super) fn run(&mut self, session_id: i64, txn: Txn) -> Applied {
        self.zxid += 1;
        self.time += 10;
        apply(
            &mut self.sm,
            self.zxid,
            &Entry {
                time_ms: self.time,
                session_id,
                auth: self.auth.clone(),
                is_super: self.is_super,
                txn,
            },
        )
    }

    pub(super) fn create(&mut self, path: &str, mode: CreateMode) -> Result<OpResult, ErrorCode> {
        self.run(7, create(path, mode, 0)).result
    }
}

pub(super) fn create(path: &str, mode: CreateMode, ttl_ms: i64) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data: Some(b"d".to_vec()),
        mode,
        ttl_ms,
        acl: Acl::open(),
    })
}

fn created_path(r: Result<OpResult, ErrorCode>) -> String {
    match r {
        Ok(OpResult::Created { path, .. }) => path,
        other => panic!("expected a create, got {other:?}"),
    }
}

#[test]
fn create_sets_stat_and_moves_parent_pzxid_and_cversion() {
    let mut log = Log::new();
    let applied = log.run(7, create("/a", CreateMode::Persistent, 0));
    let Ok(OpResult::Created { stat, .. }) = applied.result else {
        panic!("create failed")
    };
    assert_eq!((stat.czxid, stat.mzxid, stat.pzxid), (2, 2, 2));
    assert_eq!((stat.ctime, stat.mtime), (1020, 1020));
    assert_eq!(
        (stat.version, stat.cversion, stat.aversion, stat.data_length),
        (0, 0, 0, 1)
    );
    let root = log.sm.stat("/").expect("root");
    // Root starts at visible cversion -1 (ZooKeeper's quirk), so one create makes it 0.
    assert_eq!((root.pzxid, root.cversion, root.num_children), (2, 0, 2));
    assert_eq!(
        applied.events,
        vec![
            TreeEvent {
                kind: EventKind::NodeCreated,
                path: "/a".into(),
                acl: 0,
            },
            TreeEvent {
                kind: EventKind::NodeChildrenChanged,
                path: "/".into(),
                acl: 0,
            },
        ]
    );
}

#[test]
fn failed_writes_consume_a_zxid_and_change_nothing() {
    let mut log = Log::new();
    log.create("/a", CreateMode::Persistent).expect("create");
    let before = log.sm.digest();
    assert_eq!(
        log.create("/a", CreateMode::Persistent),
        Err(ErrorCode::NodeExists)
    );
    assert_eq!(log.sm.last_zxid(), 3);
    let mut same = log.sm.clone();
    same.last_zxid = 2;
    assert_eq!(same.digest(), before);
}

#[test]
fn set_data_versions_wrap_and_mismatches_are_bad_version() {
    let mut log = Log::new();
    log.create("/a", CreateMode::Persistent).expect("create");
    assert_eq!(
        log.run(
            7,
            Txn::SetData {
                path: "/a".into(),
                data: None,
                version: 3
            }
        )
        .result,
        Err(ErrorCode::BadVersion)
    );
    if let Some(n) = log.sm.nodes.get_mut("/a") {
        n.version = i32::MAX;
    }
    let r = log
        .run(
            7,
            Txn::SetData {
                path: "/a".into(),
                data: None,
                version: i32::MAX,
            },
        )
        .result;
    let Ok(OpResult::DataSet(stat)) = r else {
        panic!("setData failed: {r:?}")
    };
    assert_eq!(
        (stat.version, stat.data_length, stat.mzxid),
        (i32::MIN, 0, 4)
    );
    assert_eq!(
        log.sm.get_data("/a").map(|d| d.0),
        Ok(None),
        "null data stays null"
    );
}

#[test]
fn sequence_numbers_use_the_creation_counter_and_skip_failures() {
    let mut log = Log::new();
    log.create("/q", CreateMode::Persistent).expect("create");
    assert_eq!(
        created_path(log.create("/q/s-", CreateMode::PersistentSequential)),
        "/q/s-0000000000"
    );
    log.create("/q/x", CreateMode::Persistent)
        .expect("plain child");
    assert_eq!(
        log.create("/q/x", CreateMode::Persistent),
        Err(ErrorCode::NodeExists)
    );
    log.run(
        7,
        Txn::Delete {
            path: "/q/s-0000000000".into(),
            version: -1,
        },
    )
    .result
    .expect("delete");
    assert_eq!(
        created_path(log.create("/q/s-", CreateMode::EphemeralSequential)),
        "/q/s-0000000002"
    );
    if let Some(n) = log.sm.nodes.get_mut("/q") {
        n.stored_cversion = i32::MAX;
    }
    assert_eq!(
        created_path(log.create("/q/s-", CreateMode::PersistentSequential)),
        "/q/s-2147483647"
    );
    assert_eq!(
        created_path(log.create("/q/s-", CreateMode::PersistentSequential)),
        "/q/s--2147483648"
    );
}

#[test]
fn check_order_matches_zookeeper() {
    let mut log = Log::new();
    assert_eq!(
        log.create("/a//b", CreateMode::Persistent),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        log.create("/a/./b", CreateMode::Persistent),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        log.create("a", CreateMode::Persistent),
        Err(ErrorCode::BadArguments)
    );
    // The root's parent is the root itself, so `/` exists (as in ZooKeeper).
    assert_eq!(
        log.create("/", CreateMode::Persistent),
        Err(ErrorCode::NodeExists)
    );
    log.create("/a", CreateMode::Persistent).expect("create");
    assert_eq!(
        log.create("/a/", CreateMode::Persistent),
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(
        log.run(7, create("/t", CreateMode::PersistentWithTtl, 0))
            .result,
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(
        log.run(0, create("/e", CreateMode::Ephemeral, 0)).result,
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(
        log.run(99, create("/e", CreateMode::Ephemeral, 0)).result,
        Err(ErrorCode::SessionExpired)
    );
    assert_eq!(
        log.run(
            7,
            Txn::Check {
                path: "/a".into(),
                version: 0
            }
        )
        .result,
        Err(ErrorCode::Unimplemented),
        "a top-level check is refused"
    );
}

#[test]
fn a_failed_multi_rolls_back_everything_and_reports_per_op_codes() {
    let mut log = Log::new();
    log.create("/m", CreateMode::Persistent).expect("create");
    log.create("/m/old", CreateMode::Persistent)
        .expect("create");
    let before = log.sm.clone();
    let applied = log.run(
        7,
        Txn::Multi(vec![
            create("/m/s-", CreateMode::PersistentSequential, 0),
            Txn::Delete {
                path: "/m/old".into(),
                version: -1,
            },
            Txn::SetData {
                path: "/m".into(),
                data: Some(b"new".to_vec()),
                version: -1,
            },
            Txn::Check {
                path: "/m".into(),
                version: 0,
            },
            create("/m/never", CreateMode::Persistent, 0),
        ]),
    );
    assert_eq!(
        applied.result,
        Ok(OpResult::Multi(vec![
            Err(ErrorCode::Ok),
            Err(ErrorCode::Ok),
            Err(ErrorCode::Ok),
            Err(ErrorCode::BadVersion),
            Err(ErrorCode::RuntimeInconsistency),
        ]))
    );
    assert!(applied.events.is_empty(), "a failed multi fires nothing");
    let mut expected = before;
    expected.last_zxid = log.sm.last_zxid;
    assert_eq!(
        log.sm, expected,
        "tree, counters and indexes exactly as before"
    );
    assert_eq!(
        created_path(log.create("/m/s-", CreateMode::PersistentSequential)),
        "/m/s-0000000001"
    );
}

#[test]
fn multi_ops_see_earlier_ops() {
    let mut log = Log::new();
    let applied = log.run(
        7,
        Txn::Multi(vec![
            create("/n", CreateMode::Persistent, 0),
            Txn::Check {
                path: "/n".into(),
                version: 0,
            },
            Txn::SetData {
                path: "/n".into(),
                data: None,
                version: 0,
            },
            create("/n/s-", CreateMode::PersistentSequential, 0),
            create("/n/s-", CreateMode::PersistentSequential, 0),
            Txn::Multi(vec![]),
        ]),
    );
    let Ok(OpResult::Multi(results)) = applied.result else {
        panic!("multi")
    };
    assert_eq!(
        results.last(),
        Some(&Err(ErrorCode::BadArguments)),
        "nested multi refused"
    );
    let applied = log.run(
        7,
        Txn::Multi(vec![
            create("/n", CreateMode::Persistent, 0),
            Txn::SetData {
                path: "/n".into(),
                data: None,
                version: 0,
            },
            create("/n/s-", CreateMode::PersistentSequential, 0),
            create("/n/s-", CreateMode::PersistentSequential, 0),
        ]),
    );
    let Ok(OpResult::Multi(results)) = applied.result else {
        panic!("multi")
    };
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        log.sm.children("/n").map(|c| c.0),
        Ok(vec!["s-0000000000".into(), "s-0000000001".into()])
    );
    assert_eq!(applied.events.len(), 7);
    assert_eq!(
        log.run(7, Txn::Multi(vec![])).result,
        Ok(OpResult::Multi(vec![]))
    );
}

#[test]
fn closing_a_session_removes_its_ephemerals_with_events() {
    let mut log = Log::new();
    log.create("/g", CreateMode::Persistent).expect("create");
    log.create("/g/a", CreateMode::Ephemeral).expect("create");
    log.create("/g/b", CreateMode::Ephemeral).expect("create");
    assert_eq!(
        log.create("/g/a/kid", CreateMode::Persistent),
        Err(ErrorCode::NoChildrenForEphemerals)
    );
    assert_eq!(
        log.sm.ephemerals(7, "/g/"),
        vec!["/g/a".to_string(), "/g/b".to_string()]
    );
    let applied = log.run(0, Txn::CloseSession { session_id: 7 });
    assert_eq!(applied.result, Ok(OpResult::SessionClosed));
    assert_eq!(applied.events.len(), 4);
    assert_eq!(log.sm.children("/g").map(|c| c.0), Ok(vec![]));
    let g = log.sm.stat("/g").expect("g");
    assert_eq!((g.pzxid, g.cversion), (log.zxid, 4));
    assert!(log.sm.session(7).is_none());
    assert_eq!(
        log.run(0, Txn::CloseSession { session_id: 7 }).result,
        Err(ErrorCode::SessionExpired)
    );
}

#[test]
fn containers_and_ttl_nodes_are_reaped_only_when_they_qualify() {
    let mut log = Log::new();
    log.create("/box", CreateMode::Container).expect("create");
    assert!(
        log.sm.reap_candidates(log.time).is_empty(),
        "never-used container stays"
    );
    log.create("/box/a", CreateMode::Persistent)
        .expect("create");
    assert_eq!(
        log.run(
            0,
            Txn::DeleteContainer {
                path: "/box".into()
            }
        )
        .result,
        Err(ErrorCode::NotEmpty)
    );
    log.run(
        7,
        Txn::Delete {
            path: "/box/a".into(),
            version: -1,
        },
    )
    .result
    .expect("delete");
    assert_eq!(log.sm.reap_candidates(log.time), vec!["/box".to_string()]);
    assert_eq!(
        log.run(
            0,
            Txn::DeleteContainer {
                path: "/box".into()
            }
        )
        .result,
        Ok(OpResult::Deleted)
    );
    assert_eq!(log.sm.stat("/box").map(|s| s.ephemeral_owner), None);

    log.run(7, create("/ttl", CreateMode::PersistentWithTtl, 100))
        .result
        .expect("ttl");
    assert_eq!(log.sm.stat("/ttl").map(|s| s.ephemeral_owner), Some(0));
    assert!(log.sm.reap_candidates(log.time + 50).is_empty());
    assert_eq!(
        log.sm.reap_candidates(log.time + 200),
        vec!["/ttl".to_string()]
    );
    assert_eq!(
        log.run(
            0,
            Txn::DeleteContainer {
                path: "/ttl".into()
            }
        )
        .result,
        Err(ErrorCode::BadArguments)
    );
    log.time += 500;
    assert_eq!(
        log.run(
            0,
            Txn::DeleteContainer {
                path: "/ttl".into()
            }
        )
        .result,
        Ok(OpResult::Deleted)
    );
    log.create("/plain", CreateMode::Persistent)
        .expect("create");
    assert_eq!(
        log.run(
            0,
            Txn::DeleteContainer {
                path: "/plain".into()
            }
        )
        .result,
        Err(ErrorCode::BadArguments)
    );
}

#[test]
fn the_same_entries_give_the_same_state_and_snapshots_round_trip() {
    let script = |log: &mut Log| {
        for i in 0..50 {
            let _ = log.create(&format!("/n{}", i % 13), CreateMode::Persistent);
            let _ = log.create(&format!("/n{}/s-", i % 5), CreateMode::EphemeralSequential);
            let _ = log.run(
                7,
                Txn::Delete {
                    path: format!("/n{}", i % 7),
                    version: -1,
                },
            );
        }
    };
    let (mut a, mut b) = (Log::new(), Log::new());
    script(&mut a);
    script(&mut b);
    assert_eq!(a.sm.digest(), b.sm.digest());
    let bytes = postcard::to_allocvec(&a.sm).expect("encode");
    let restored: StateMachine = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(restored, a.sm);
    assert_eq!(restored.digest(), a.sm.digest());
}

#[test]
fn random_failed_multis_leave_the_state_exactly_as_before() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0AA);
    let mut log = Log::new();
    let paths = ["/r", "/r/a", "/r/b", "/r/a/x", "/s"];
    let (mut failed, mut applied) = (0, 0);
    for _ in 0..2_000 {
        let ops: Vec<Txn> = (0..rng.gen_range(1..5))
            .map(|_| {
                let path = paths[rng.gen_range(0..paths.len())].to_string();
                let version = if rng.gen_bool(0.5) {
                    -1
                } else {
                    rng.gen_range(0..3)
                };
                match rng.gen_range(0..5) {
                    0 => create(&path, CreateMode::Persistent, 0),
                    1 => create(&format!("{path}-"), CreateMode::PersistentSequential, 0),
                    2 => Txn::Delete { path, version },
                    3 => Txn::SetData {
                        path,
                        data: Some(vec![rng.gen()]),
                        version,
                    },
                    _ => Txn::Check { path, version },
                }
            })
            .collect();
        let mut before = log.sm.clone();
        let result = log.run(7, Txn::Multi(ops));
        let Ok(OpResult::Multi(results)) = result.result else {
            panic!("multi did not answer")
        };
        if results.iter().any(Result::is_err) {
            failed += 1;
            assert!(result.events.is_empty(), "a failed multi fires nothing");
            before.last_zxid = log.sm.last_zxid;
            assert_eq!(log.sm, before, "a failed multi changed the state");
        } else {
            applied += 1;
        }
    }
    assert!(
        failed > 100 && applied > 100,
        "both outcomes exercised: {failed} failed, {applied} applied"
    );
}

#[test]
fn data_is_encoded_as_before_byte_strings_were_used() {
    // The log and snapshots written before `serde_bytes` must still read:
    // postcard writes a byte string exactly as a sequence of u8.
    #[derive(serde::Serialize)]
    struct Plain {
        data: Option<Vec<u8>>,
    }
    #[derive(serde::Serialize)]
    struct Bytes {
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
    }
    for data in [
        None,
        Some(Vec::new()),
        Some((0..=255u8).cycle().take(1000).collect()),
    ] {
        let plain = postcard::to_allocvec(&Plain { data: data.clone() }).expect("encode");
        let bytes = postcard::to_allocvec(&Bytes { data: data.clone() }).expect("encode");
        assert_eq!(plain, bytes);
        let txn = Txn::SetData {
            path: "/a".into(),
            data,
            version: -1,
        };
        let back: Txn =
            postcard::from_bytes(&postcard::to_allocvec(&txn).expect("encode")).expect("decode");
        assert_eq!(back, txn);
    }
}
