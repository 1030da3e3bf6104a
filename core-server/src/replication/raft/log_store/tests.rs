//! The log and state machine stores against openraft's own storage test
//! suite, plus Corral's durability checks across reopen.

use super::super::state_machine::{self, StateMachineStore, Waiters};
use super::super::types::{LogEntry, LogId, TypeConfig};
use super::LogStore;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader, Vote};
use std::sync::Arc;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), super::StorageError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = LogStore::open(dir.path(), 1 << 20).expect("open log");
        let (_, sm) = state_machine::open(
            1,
            &dir.path().join("snapshots"),
            (1000, 1 << 20),
            Arc::new(Waiters::default()),
        )
        .expect("open state machine");
        Ok((dir, log, sm))
    }
}

#[test]
fn passes_openraft_storage_suite() {
    Suite::test_all(Builder).expect("openraft storage suite");
}

fn blank(term: u64, index: u64) -> LogEntry {
    LogEntry {
        log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
        payload: EntryPayload::Blank,
    }
}

#[tokio::test]
async fn entries_vote_and_purge_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = LogStore::open(dir.path(), 1 << 20).expect("open");
        log.blocking_append((1..=10).map(|i| blank(1, i)))
            .await
            .expect("append");
        log.save_vote(&Vote::new(3, 2)).await.expect("vote");
        log.purge(LogId::new(CommittedLeaderId::new(1, 1), 4))
            .await
            .expect("purge");
        log.truncate(LogId::new(CommittedLeaderId::new(1, 1), 9))
            .await
            .expect("truncate");
    }
    let mut log = LogStore::open(dir.path(), 1 << 20).expect("reopen");
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(4));
    assert_eq!(state.last_log_id.map(|l| l.index), Some(8));
    assert_eq!(log.read_vote().await.expect("vote"), Some(Vote::new(3, 2)));
    let entries = log.try_get_log_entries(0..100).await.expect("read");
    let indexes: Vec<u64> = entries.iter().map(|e| e.log_id.index).collect();
    assert_eq!(indexes, vec![5, 6, 7, 8]);
}

#[tokio::test]
async fn an_append_past_the_end_replaces_a_stale_log() {
    // After a snapshot is installed, the next entry may start far past the
    // end of the local log: the stale entries go, the new ones are kept.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = LogStore::open(dir.path(), 1 << 20).expect("open");
        log.blocking_append((1..=3).map(|i| blank(1, i)))
            .await
            .expect("append");
        log.purge(LogId::new(CommittedLeaderId::new(2, 1), 20))
            .await
            .expect("purge past the end");
        log.blocking_append((21..=22).map(|i| blank(2, i)))
            .await
            .expect("append after the gap");
    }
    let mut log = LogStore::open(dir.path(), 1 << 20).expect("reopen");
    let entries = log.try_get_log_entries(0..100).await.expect("read");
    let indexes: Vec<u64> = entries.iter().map(|e| e.log_id.index).collect();
    assert_eq!(indexes, vec![21, 22]);
}

#[tokio::test]
async fn an_earlier_run_of_this_server_does_not_answer_this_runs_waiters() {
    use crate::txn::{Entry, Txn};
    use openraft::storage::RaftStateMachine;
    let dir = tempfile::tempdir().expect("tempdir");
    let waiters = Arc::new(Waiters::default());
    let (state, mut sm) = state_machine::open(
        1,
        &dir.path().join("snapshots"),
        (1000, 1 << 20),
        waiters.clone(),
    )
    .expect("open");
    let (token, mut rx) = waiters.register();
    let entry = |incarnation: u64, index: u64| LogEntry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(super::super::types::Batch {
            proposals: vec![super::super::types::Proposal {
                origin: 1,
                incarnation,
                token,
                entry: Entry {
                    time_ms: 0,
                    session_id: 0,
                    auth: Vec::new(),
                    is_super: true,
                    txn: Txn::Check {
                        path: "/".into(),
                        version: -1,
                    },
                },
            }],
        }),
    };
    // Same server id and token, proposed by a previous process.
    sm.apply([entry(waiters.incarnation().wrapping_add(1), 1)])
        .await
        .expect("apply");
    assert!(
        rx.try_recv().is_err(),
        "a stale proposal answered the waiter"
    );
    sm.apply([entry(waiters.incarnation(), 2)])
        .await
        .expect("apply");
    let committed = rx.try_recv().expect("answered").expect("committed");
    assert_eq!(committed.zxid, 2, "one zxid per applied proposal");
    assert_eq!(state.last_zxid(), 2);
}

#[tokio::test]
async fn appends_past_the_write_queue_budget_wait_for_the_disk_and_all_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // A budget smaller than any one entry: each append takes all of it
        // and the next waits until the writer has flushed the last.
        let mut log = LogStore::open(dir.path(), 1).expect("open");
        for i in 1..=20 {
            log.blocking_append([blank(1, i)]).await.expect("append");
        }
        assert_eq!(log.unwritten.available_permits(), 1, "budget given back");
    }
    let mut log = LogStore::open(dir.path(), 1).expect("reopen");
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_log_id.map(|id| id.index), Some(20));
}
