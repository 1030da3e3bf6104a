//! Resumable watch streams: every change after a zxid, in order, none missed.
//!
//! A Corral addition (what etcd's revision watches give, on ZooKeeper's data
//! model). Each stream is a task that reads the [`EventHistory`](super::EventHistory)
//! from its cursor and writes matching events to its connection with
//! backpressure (`send().await`), then waits for the next applied entry. If the
//! stream falls behind the history's floor it ends with a `Compacted` event.
//! Events of a stream are ordered among themselves by zxid; unlike one-shot
//! watches they are not ordered against the connection's responses.

use super::Outbox;
use super::{Outgoing, WatchedEvent};
use crate::state::ServerState;
use crate::tree::{EventKind, TreeEvent};
use proto::ErrorCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a stream watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// The id events carry.
    pub stream_id: i64,
    /// The watched path.
    pub path: String,
    /// Include the subtree (created / deleted / data-changed, as a persistent
    /// recursive watch); otherwise all four kinds on the exact path.
    pub recursive: bool,
    /// Deliver changes with a greater zxid.
    pub from_zxid: i64,
}

impl StreamSpec {
    /// True if the stream reports this event.
    pub fn matches(&self, event: &TreeEvent) -> bool {
        if !self.recursive {
            return event.path == self.path;
        }
        if event.kind == EventKind::NodeChildrenChanged {
            return false;
        }
        self.path == "/"
            || event.path == self.path
            || (event.path.starts_with(&self.path)
                && event.path.as_bytes().get(self.path.len()) == Some(&b'/'))
    }
}

const BATCH: usize = 256;

/// Runs one stream until `cancel`, the connection closing, or compaction.
pub async fn run(
    state: Arc<ServerState>,
    spec: StreamSpec,
    outbox: Outbox,
    cancel: CancellationToken,
) {
    let mut applied = state.subscribe_applied();
    let mut cursor = spec.from_zxid;
    loop {
        let (batch, last) = {
            let history = state.history().lock();
            (history.since(cursor, BATCH), history.last())
        };
        let Some(batch) = batch else {
            let _ = outbox
                .tx
                .send(Outgoing::Event(WatchedEvent {
                    kind: EventKind::NodeDeleted,
                    path: spec.path.clone(),
                    zxid: cursor,
                    stream_id: spec.stream_id,
                    err: ErrorCode::Compacted,
                }))
                .await;
            return;
        };
        let caught_up = batch.len() < BATCH;
        for (zxid, events) in &batch {
            for event in events.iter().filter(|e| spec.matches(e)) {
                let out = Outgoing::Event(WatchedEvent {
                    kind: event.kind,
                    path: event.path.clone(),
                    zxid: *zxid,
                    stream_id: spec.stream_id,
                    err: ErrorCode::Ok,
                });
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    sent = outbox.tx.send(out) => if let Err(error) = sent {
                        if error == crate::connection::SendError::Overflow {
                            crate::connection::CloseReason::OutboundOverflow.record("any", None, 0);
                            outbox.close.cancel();
                        }
                        return;
                    },
                }
            }
            cursor = *zxid;
        }
        if caught_up {
            cursor = cursor.max(last);
            loop {
                if *applied.borrow_and_update() > cursor {
                    break;
                }
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    changed = applied.changed() => if changed.is_err() { return },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, recursive: bool) -> StreamSpec {
        StreamSpec {
            stream_id: 1,
            path: path.into(),
            recursive,
            from_zxid: 0,
        }
    }

    fn ev(kind: EventKind, path: &str) -> TreeEvent {
        TreeEvent {
            kind,
            path: path.into(),
        }
    }

    #[test]
    fn recursive_streams_match_the_subtree_only() {
        let s = spec("/a", true);
        assert!(s.matches(&ev(EventKind::NodeCreated, "/a")));
        assert!(s.matches(&ev(EventKind::NodeDataChanged, "/a/b/c")));
        assert!(!s.matches(&ev(EventKind::NodeCreated, "/ab")));
        assert!(!s.matches(&ev(EventKind::NodeChildrenChanged, "/a")));
        assert!(spec("/", true).matches(&ev(EventKind::NodeDeleted, "/x")));
    }

    #[test]
    fn exact_streams_match_all_kinds_on_the_path() {
        let s = spec("/a", false);
        assert!(s.matches(&ev(EventKind::NodeChildrenChanged, "/a")));
        assert!(!s.matches(&ev(EventKind::NodeCreated, "/a/b")));
    }
}
