//! The log and state machine stores against openraft's own storage test
//! suite, plus Corral's durability checks across reopen.

use super::super::state_machine::{self, StateMachineStore, Waiters};
use super::super::types::{LogEntry, LogId, TypeConfig};
use super::LogStore;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader, Vote};
use std::sync::Arc;

/// Builds stores whose log keeps this many bytes of entries in memory.
struct Builder(usize);

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), super::StorageError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = LogStore::open(dir.path(), 1 << 20, self.0).expect("open log");
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
    Suite::test_all(Builder(1 << 20)).expect("openraft storage suite");
}

#[test]
fn passes_openraft_storage_suite_reading_every_entry_from_disk() {
    Suite::test_all(Builder(0)).expect("openraft storage suite, no cache");
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
        let mut log = LogStore::open(dir.path(), 1 << 20, 1 << 20).expect("open");
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
    let mut log = LogStore::open(dir.path(), 1 << 20, 1 << 20).expect("reopen");
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
        let mut log = LogStore::open(dir.path(), 1 << 20, 1 << 20).expect("open");
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
    let mut log = LogStore::open(dir.path(), 1 << 20, 1 << 20).expect("reopen");
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
        let mut log = LogStore::open(dir.path(), 1, 1 << 20).expect("open");
        for i in 1..=20 {
            log.blocking_append([blank(1, i)]).await.expect("append");
        }
        assert_eq!(log.unwritten.available_permits(), 1, "budget given back");
    }
    let mut log = LogStore::open(dir.path(), 1, 1 << 20).expect("reopen");
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_log_id.map(|id| id.index), Some(20));
}

fn indexes_and_terms(entries: &[LogEntry]) -> Vec<(u64, u64)> {
    entries
        .iter()
        .map(|e| (e.log_id.index, e.log_id.leader_id.term))
        .collect()
}

#[tokio::test]
async fn a_small_cache_keeps_only_the_newest_entries_and_reads_the_rest_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Terms change at 300 and 700, so log ids of uncached entries must come
    // from the runs, not from the cache.
    let term = |i: u64| match i {
        ..300 => 1,
        300..700 => 2,
        _ => 3,
    };
    let want = |range: std::ops::Range<u64>| range.map(|i| (i, term(i))).collect::<Vec<_>>();
    let cache = 64;
    {
        let mut log = LogStore::open(dir.path(), 1 << 20, cache).expect("open");
        for chunk in (1..=1000u64).collect::<Vec<_>>().chunks(7) {
            log.blocking_append(chunk.iter().map(|&i| blank(term(i), i)))
                .await
                .expect("append");
            assert!(log.cached_bytes() <= cache, "cache over its bound");
        }
        assert!(
            log.retained_bytes() > 10 * cache,
            "most of the log is on disk"
        );
        let all = log.try_get_log_entries(1..=1000).await.expect("read all");
        assert_eq!(indexes_and_terms(&all), want(1..1001));
        for (from, to) in [(1, 2), (299, 302), (650, 720), (990, 1001)] {
            let got = log.try_get_log_entries(from..to).await.expect("read");
            assert_eq!(indexes_and_terms(&got), want(from..to), "{from}..{to}");
        }
        // Truncating into the uncached part leaves a log id only the runs know.
        log.truncate(LogId::new(CommittedLeaderId::new(2, 1), 500))
            .await
            .expect("truncate");
        let state = log.get_log_state().await.expect("state");
        assert_eq!(
            state.last_log_id,
            Some(LogId::new(CommittedLeaderId::new(2, 1), 499))
        );
        log.blocking_append((500..=520).map(|i| blank(4, i)))
            .await
            .expect("append after truncate");
        log.purge(LogId::new(CommittedLeaderId::new(1, 1), 100))
            .await
            .expect("purge");
    }
    let mut log = LogStore::open(dir.path(), 1 << 20, cache).expect("reopen");
    assert!(log.cached_bytes() <= cache, "reopen keeps only the newest");
    let state = log.get_log_state().await.expect("state");
    assert_eq!(
        state.last_log_id,
        Some(LogId::new(CommittedLeaderId::new(4, 1), 520))
    );
    let all = log.try_get_log_entries(0..2000).await.expect("read all");
    let mut expected = want(101..500);
    expected.extend((500..=520).map(|i| (i, 4)));
    assert_eq!(indexes_and_terms(&all), expected);
}
