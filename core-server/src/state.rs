//! The server's live state and its lock discipline.
//!
//! Owns the state machine (behind a read-write lock), the watch registry, the
//! table of live connections and the event history.
//! [`ServerState::apply_committed`] is the only way an entry changes the tree:
//! it applies the entry, queues its watch events on their connections and
//! records its history while still holding the write lock, so no reader can observe a
//! change before the notifications for it are queued (ZooKeeper's ordering
//! guarantee). Readers register watches while holding the read lock, so no
//! change can slip between a read and its watch.

use crate::connection::ConnectionTable;
use crate::tree::StateMachine;
use crate::txn::{self, Applied, Entry};
use crate::watch::{EventHistory, WatchRegistry};
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use tokio::sync::watch;

/// The state shared by the committer, the service and the background tasks.
#[derive(Debug)]
pub struct ServerState {
    sm: RwLock<StateMachine>,
    watches: Mutex<WatchRegistry>,
    connections: Mutex<ConnectionTable>,
    history: Mutex<EventHistory>,
    applied: watch::Sender<i64>,
    /// `corral_proposals_applied_total`, registered once (not looked up by
    /// name on every apply).
    applied_total: metrics::Counter,
}

impl ServerState {
    /// Wraps a recovered state machine; history (at most `history_entries`
    /// entries and `history_bytes` bytes) starts at its last zxid.
    pub fn new(sm: StateMachine, history_entries: usize, history_bytes: usize) -> Self {
        let last = sm.last_zxid();
        ServerState {
            sm: RwLock::new(sm),
            watches: Mutex::new(WatchRegistry::new()),
            connections: Mutex::new(ConnectionTable::new()),
            history: Mutex::new(EventHistory::with_budget(
                history_entries,
                history_bytes,
                last,
            )),
            applied: watch::Sender::new(last),
            applied_total: metrics::counter!("corral_proposals_applied_total"),
        }
    }

    /// Applies one committed entry: tree, watch events and history, in that
    /// order, under the write lock; then announces the new applied zxid.
    pub fn apply_committed(&self, zxid: i64, entry: &Entry) -> Applied {
        let applied = {
            let mut sm = self.sm.write();
            let applied = txn::apply(&mut sm, zxid, entry);
            let mut watches = self.watches.lock();
            let deliveries = watches.trigger(zxid, &applied.events);
            if !deliveries.is_empty() {
                // A connection too slow for its events is closed, and its
                // watches go with it.
                let acl_list = |index| sm.acl_list(index);
                for conn in self.connections.lock().deliver(deliveries, acl_list) {
                    watches.detach(conn);
                }
            }
            drop(watches);
            self.history.lock().push(zxid, &applied.events);
            applied
        };
        self.applied.send_replace(zxid);
        self.applied_total.increment(1);
        applied
    }

    /// Replaces the whole tree with one installed from a leader's snapshot.
    /// Watch history restarts at the snapshot (older resume points get
    /// `Compacted`), and every client connection on this server is closed:
    /// its client reconnects and re-registers its watches from its last zxid,
    /// which fires the events for what changed (ZooKeeper's learner does the
    /// same when it syncs by snapshot).
    pub fn install(&self, sm: StateMachine) {
        let last = sm.last_zxid();
        {
            let mut current = self.sm.write();
            *current = sm;
            self.connections
                .lock()
                .close_all(crate::connection::CloseReason::SnapshotInstalled);
            let mut history = self.history.lock();
            *history = history.restarted(last);
        }
        self.applied.send_replace(last);
    }

    /// Replays an entry during recovery: no watches exist yet, but history is kept.
    pub fn replay(&self, zxid: i64, entry: &Entry) {
        let mut sm = self.sm.write();
        let applied = txn::apply(&mut sm, zxid, entry);
        self.history.lock().push(zxid, &applied.events);
        drop(sm);
        self.applied.send_replace(zxid);
    }

    /// Read access to the state machine. Hold it briefly and never across `.await`.
    pub fn read(&self) -> RwLockReadGuard<'_, StateMachine> {
        self.sm.read()
    }

    /// The watch registry. Lock order: state machine first, then this.
    pub fn watches(&self) -> &Mutex<WatchRegistry> {
        &self.watches
    }

    /// The live connections and session owners. Lock order: state machine,
    /// watches, then this.
    pub fn connections(&self) -> &Mutex<ConnectionTable> {
        &self.connections
    }

    /// The event history. Lock order: state machine, watches, then this
    /// (never held together with the connections).
    pub fn history(&self) -> &Mutex<EventHistory> {
        &self.history
    }

    /// The last applied zxid.
    pub fn last_zxid(&self) -> i64 {
        *self.applied.borrow()
    }

    /// A receiver that changes whenever an entry is applied.
    pub fn subscribe_applied(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    /// Serializes the state machine for a snapshot: (last zxid, bytes).
    pub fn snapshot_bytes(&self) -> Result<(i64, Vec<u8>), postcard::Error> {
        let sm = self.sm.read();
        Ok((sm.last_zxid(), postcard::to_allocvec(&*sm)?))
    }
}
