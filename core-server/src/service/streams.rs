//! Resumable watch streams: every change after a zxid, in order, none missed.
//!
//! A Corral addition (what etcd's revision watches give, on ZooKeeper's data
//! model). Each stream is a task that reads the event history from its cursor
//! and writes matching events to its connection with backpressure
//! (`send().await`), then waits for the next applied entry. If the stream
//! falls behind the history's floor it ends with a `Compacted` event. Events
//! of a stream are ordered among themselves by zxid; unlike one-shot watches
//! they are not ordered against the connection's responses. As with other
//! watches, an event on a node the connection may not READ is left out.

use crate::connection::{Outbox, Outgoing, SharedAuth, WatchedEvent};
use crate::state::ServerState;
use crate::tree::acl::{self, perms};
use crate::tree::{EventKind, TreeEvent};
use crate::watch::stream::StreamSpec;
use proto::ErrorCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 256;

/// Runs one stream until `cancel`, the connection closing, or compaction.
pub async fn run(
    state: Arc<ServerState>,
    spec: StreamSpec,
    outbox: Outbox,
    auth: SharedAuth,
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
            let readable = readable_events(&state, &auth, &spec, events);
            for event in readable {
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

/// The events of one entry that the stream matches and the connection may
/// READ (checked against each node's ACL as it was at the change).
fn readable_events<'e>(
    state: &ServerState,
    auth: &SharedAuth,
    spec: &StreamSpec,
    events: &'e [TreeEvent],
) -> Vec<&'e TreeEvent> {
    let sm = state.read();
    let held = auth.lock();
    events
        .iter()
        .filter(|e| spec.matches(e))
        .filter(|e| acl::check(sm.acl_list(e.acl), perms::READ, &held.0, held.1).is_ok())
        .collect()
}
