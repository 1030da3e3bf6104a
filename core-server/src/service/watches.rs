//! Watch requests: persistent watches, removal, re-registration with catch-up
//! events after a reconnect, and resumable watch streams.

use super::{Connection, Reply, Request, Service, SetWatches};
use crate::connection::{Outgoing, WatchedEvent};
use crate::tree::EventKind;
use crate::watch::stream::StreamSpec;
use crate::watch::WatchKind;
use proto::ErrorCode;
use std::sync::atomic::Ordering;

impl Service {
    pub(super) fn watch_request(
        &self,
        connection: &Connection,
        request: Request,
    ) -> (i64, Result<Reply, ErrorCode>) {
        let zxid = self.inner.state.last_zxid();
        let result = match request {
            Request::AddWatch { path, recursive } => {
                self.check_watch_path(connection, &path).map(|_| {
                    let kind = if recursive {
                        WatchKind::Recursive
                    } else {
                        WatchKind::Persistent
                    };
                    self.inner
                        .state
                        .watches()
                        .lock()
                        .add(connection.conn, kind, &path);
                    Reply::Done
                })
            }
            Request::RemoveWatches { path, kind } => {
                let mut watches = self.inner.state.watches().lock();
                if watches.remove(connection.conn, kind, &path) {
                    Ok(Reply::Done)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            Request::CheckWatches { path, kind } => {
                let watches = self.inner.state.watches().lock();
                // ZooKeeper 3.8 walks the path's parents, which breaks on a
                // path without '/' (seeded differential, issue 14).
                let zk = connection.protocol == super::latency::Protocol::ZooKeeper;
                if zk && !path.is_empty() && !path.contains('/') {
                    return (zxid, Err(ErrorCode::MarshallingError));
                }
                if watches.check(connection.conn, kind, &path) {
                    Ok(Reply::Done)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            Request::SetWatches(lists) => self.set_watches(connection, lists),
            Request::WatchFrom {
                path,
                recursive,
                from_zxid,
            } => self
                .check_watch_path(connection, &path)
                .and_then(|_| self.watch_from(connection, path, recursive, from_zxid)),
            Request::CancelWatchFrom { stream_id } => {
                match connection.streams.lock().remove(&stream_id) {
                    Some(cancel) => {
                        cancel.cancel();
                        Ok(Reply::Done)
                    }
                    None => Err(ErrorCode::NoWatcher),
                }
            }
            _ => Err(ErrorCode::Unimplemented),
        };
        (zxid, result)
    }

    /// Re-registers a reconnecting client's watches, sending catch-up events for
    /// what changed after its last zxid (ZooKeeper's setWatches rules).
    fn set_watches(&self, connection: &Connection, lists: SetWatches) -> Result<Reply, ErrorCode> {
        for path in lists
            .data
            .iter()
            .chain(&lists.exist)
            .chain(&lists.child)
            .chain(&lists.persistent)
            .chain(&lists.recursive)
        {
            self.check_watch_path(connection, path)?;
        }
        let state = self.inner.state.read();
        let zxid = state.last_zxid();
        let rel = lists.relative_zxid;
        let mut catch_up = Vec::new();
        let mut watches = self.inner.state.watches().lock();
        let conn = connection.conn;
        for path in lists.data {
            match state.stat(&path) {
                None => catch_up.push((EventKind::NodeDeleted, path)),
                Some(stat) if stat.mzxid > rel => catch_up.push((EventKind::NodeDataChanged, path)),
                Some(_) => watches.add(conn, WatchKind::Data, &path),
            }
        }
        for path in lists.exist {
            match state.stat(&path) {
                Some(_) => catch_up.push((EventKind::NodeCreated, path)),
                None => watches.add(conn, WatchKind::Exist, &path),
            }
        }
        for path in lists.child {
            match state.stat(&path) {
                None => catch_up.push((EventKind::NodeDeleted, path)),
                Some(stat) if stat.pzxid > rel => {
                    catch_up.push((EventKind::NodeChildrenChanged, path))
                }
                Some(_) => watches.add(conn, WatchKind::Child, &path),
            }
        }
        for path in lists.persistent {
            watches.add(conn, WatchKind::Persistent, &path);
        }
        for path in lists.recursive {
            watches.add(conn, WatchKind::Recursive, &path);
        }
        drop(watches);
        drop(state);
        for (kind, path) in catch_up {
            let event = WatchedEvent {
                kind,
                path,
                zxid,
                stream_id: 0,
                err: ErrorCode::Ok,
            };
            if connection
                .outbox
                .tx
                .try_send(Outgoing::Event(event))
                .is_err()
            {
                crate::connection::CloseReason::WatchQueueOverflow.record(
                    "any",
                    None,
                    connection.session_id(),
                );
                connection.outbox.close.cancel();
                return Err(ErrorCode::ConnectionLoss);
            }
        }
        Ok(Reply::Done)
    }

    fn watch_from(
        &self,
        connection: &Connection,
        path: String,
        recursive: bool,
        from_zxid: i64,
    ) -> Result<Reply, ErrorCode> {
        if self
            .inner
            .state
            .history()
            .lock()
            .since(from_zxid, 0)
            .is_none()
        {
            return Err(ErrorCode::Compacted);
        }
        let stream_id = self.inner.next_stream.fetch_add(1, Ordering::Relaxed);
        // A child of the connection's close switch: the stream ends with its
        // connection, or alone when cancelled.
        let cancel = connection.outbox.close.child_token();
        connection.streams.lock().insert(stream_id, cancel.clone());
        let spec = StreamSpec {
            stream_id,
            path,
            recursive,
            from_zxid,
        };
        tokio::spawn(super::streams::run(
            self.inner.state.clone(),
            spec,
            connection.outbox.clone(),
            connection.auth.clone(),
            cancel,
        ));
        Ok(Reply::WatchStream(stream_id))
    }
}
