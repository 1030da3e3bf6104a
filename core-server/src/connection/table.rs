//! The one table of live client connections on this server: each
//! connection's outbox, the session it carries, and which connection owns
//! each session. Delivering watch events, closing connections (one, a
//! session's, or all) and the admin view of connections all go through it.

use super::outgoing::{ConnId, Delivery, Outbox, Outgoing};
use super::{CloseReason, SendError};
use crate::tree::acl::{self, Acl, AuthId};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// A connection's proven ids and whether it is the super user: shared by the
/// connection (which adds ids as the client authenticates) and this table
/// (which checks READ before it queues a watch event).
pub type SharedAuth = Arc<Mutex<(Vec<AuthId>, bool)>>;

/// A connection as the admin views list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConnection {
    /// The connection id.
    pub conn: ConnId,
    /// Its session.
    pub session_id: i64,
    /// The client's address, if known.
    pub peer: Option<std::net::IpAddr>,
    /// The session's negotiated timeout.
    pub timeout_ms: i32,
    /// A read-only session, served while this server is cut off from the
    /// quorum (ZooKeeper's read-only mode).
    pub read_only: bool,
}

#[derive(Debug)]
struct Entry {
    outbox: Outbox,
    live: LiveConnection,
    auth: SharedAuth,
}

/// Every open connection and the owner of every connected session.
#[derive(Debug, Default)]
pub struct ConnectionTable {
    conns: HashMap<ConnId, Entry>,
    /// session id → the connection that carries it.
    owners: HashMap<i64, ConnId>,
}

impl ConnectionTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection carrying `live.session_id`; it becomes the session's
    /// owner, and the previous owner's connection is closed (the session
    /// moved), as ZooKeeper does.
    pub fn open(&mut self, outbox: Outbox, live: LiveConnection, auth: SharedAuth) {
        let (conn, session_id) = (live.conn, live.session_id);
        if let Some(previous) = self.owners.insert(session_id, conn) {
            if previous != conn {
                if let Some(entry) = self.conns.get(&previous) {
                    CloseReason::SessionMoved.record("any", None, session_id);
                    entry.outbox.close.cancel();
                }
            }
        }
        self.conns.insert(conn, Entry { outbox, live, auth });
    }

    /// Forgets a connection (it closed); its session stays, unowned, unless
    /// another connection already took it over.
    pub fn remove(&mut self, conn: ConnId) {
        if let Some(entry) = self.conns.remove(&conn) {
            let session_id = entry.live.session_id;
            if self.owners.get(&session_id) == Some(&conn) {
                self.owners.remove(&session_id);
            }
        }
    }

    /// Closes the connection that carries `session_id` (the session ended).
    pub fn close_session(&mut self, session_id: i64) {
        if let Some(conn) = self.owners.remove(&session_id) {
            if let Some(entry) = self.conns.get(&conn) {
                CloseReason::SessionEnded.record("any", None, session_id);
                entry.outbox.close.cancel();
            }
        }
    }

    /// Queues watch events without waiting (apply must never block). An
    /// event goes only to a connection with READ on its ACL (`acl_list`
    /// resolves [`Delivery::acl`]), as ZooKeeper 3.8.4+ / 3.9.2+ filter
    /// them. A connection whose queue is full or gone is closed; the
    /// connections closed so are returned, so their watches can be dropped.
    pub fn deliver<'a>(
        &mut self,
        deliveries: Vec<Delivery>,
        acl_list: impl Fn(u32) -> &'a [Acl],
    ) -> Vec<ConnId> {
        let mut closed = Vec::new();
        for Delivery { conn, event, acl } in deliveries {
            let Some(entry) = self.conns.get(&conn) else {
                continue;
            };
            let readable = {
                let held = entry.auth.lock();
                acl::check(acl_list(acl), acl::perms::READ, &held.0, held.1).is_ok()
            };
            if !readable {
                tracing::trace!(conn, path = %event.path, "watch event withheld: no READ");
                continue;
            }
            if let Err(error) = entry.outbox.tx.try_send(Outgoing::Event(event)) {
                if error == SendError::Overflow {
                    CloseReason::WatchQueueOverflow.record("any", None, entry.live.session_id);
                }
                entry.outbox.close.cancel();
                closed.push(conn);
                self.remove(conn);
            }
        }
        closed
    }

    /// Asks every connection to close (their clients reconnect); logs once
    /// and counts each close. Returns how many were open.
    pub fn close_all(&self, reason: CloseReason) -> usize {
        self.close_where(reason, |_| true)
    }

    /// As [`Self::close_all`], for the connections `which` picks.
    pub fn close_where(
        &self,
        reason: CloseReason,
        which: impl Fn(&LiveConnection) -> bool,
    ) -> usize {
        let mut closed = 0;
        for entry in self.conns.values().filter(|e| which(&e.live)) {
            if !entry.outbox.close.is_cancelled() {
                entry.outbox.close.cancel();
                closed += 1;
            }
        }
        if closed > 0 {
            metrics::counter!("corral_connections_closed_total", "reason" => reason.name(), "protocol" => "any")
                .increment(closed as u64);
            tracing::info!(
                reason = reason.name(),
                connections = closed,
                "server closed client connections"
            );
        }
        closed
    }

    /// The open connections, by id.
    pub fn live(&self) -> Vec<LiveConnection> {
        let mut list: Vec<LiveConnection> = self.conns.values().map(|e| e.live.clone()).collect();
        list.sort_by_key(|c| c.conn);
        list
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Number of sessions that have a connection here.
    pub fn connected_sessions(&self) -> usize {
        self.owners.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::outbound::{self, OutboundReceiver};
    use crate::connection::WatchedEvent;
    use crate::tree::EventKind;
    use tokio_util::sync::CancellationToken;

    fn open(
        table: &mut ConnectionTable,
        conn: ConnId,
        session_id: i64,
        frames: usize,
    ) -> (OutboundReceiver, CancellationToken) {
        let (tx, rx) = outbound::channel(frames, 1 << 20);
        let close = CancellationToken::new();
        table.open(
            Outbox {
                tx,
                close: close.clone(),
            },
            LiveConnection {
                conn,
                session_id,
                peer: None,
                timeout_ms: 4000,
                read_only: false,
            },
            Arc::new(Mutex::new((vec![AuthId::new("digest", "bob:x")], false))),
        );
        (rx, close)
    }

    /// An event for `conn` under ACL 0 of [`acls`].
    fn event(conn: ConnId, path: &str) -> Delivery {
        event_under(conn, path, 0)
    }

    fn event_under(conn: ConnId, path: &str, acl: u32) -> Delivery {
        Delivery {
            conn,
            event: WatchedEvent {
                kind: EventKind::NodeDataChanged,
                path: path.into(),
                zxid: 1,
                stream_id: 0,
                err: proto::ErrorCode::Ok,
            },
            acl,
        }
    }

    /// ACL 0: anyone may read; 1: only digest `bob:x`; 2: only `alice:y`.
    fn acls(index: u32) -> &'static [Acl] {
        static LISTS: std::sync::LazyLock<Vec<Vec<Acl>>> = std::sync::LazyLock::new(|| {
            vec![
                Acl::open(),
                vec![Acl::new(acl::perms::READ, "digest", "bob:x")],
                vec![Acl::new(
                    acl::perms::ALL & !acl::perms::READ,
                    "world",
                    "anyone",
                )],
            ]
        });
        LISTS.get(index as usize).map_or(&[], Vec::as_slice)
    }

    #[test]
    fn a_session_taken_over_closes_its_previous_connection() {
        let mut table = ConnectionTable::new();
        let (_rx, old) = open(&mut table, 10, 1, 16);
        let (_rx2, new) = open(&mut table, 11, 1, 16);
        assert!(old.is_cancelled());
        table.remove(10);
        assert_eq!(
            table.connected_sessions(),
            1,
            "a stale connection cannot release the new owner"
        );
        table.close_session(1);
        assert!(new.is_cancelled());
        assert_eq!(table.connected_sessions(), 0);
    }

    #[test]
    fn events_reach_their_connection_and_a_full_queue_closes_it() {
        let mut table = ConnectionTable::new();
        let (mut rx, _) = open(&mut table, 1, 1, 16);
        let (_rx2, slow) = open(&mut table, 2, 2, 1);
        let closed = table.deliver(vec![event(1, "/a"), event(2, "/a"), event(2, "/b")], acls);
        assert!(matches!(rx.try_recv(), Some(Outgoing::Event(e)) if e.path == "/a"));
        assert_eq!(closed, vec![2]);
        assert!(slow.is_cancelled());
        assert_eq!(
            table.live().iter().map(|c| c.conn).collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn close_all_closes_every_connection_once() {
        let mut table = ConnectionTable::new();
        let (_a, a) = open(&mut table, 1, 1, 16);
        let (_b, b) = open(&mut table, 2, 2, 16);
        assert_eq!(table.close_all(CloseReason::SnapshotInstalled), 2);
        assert!(a.is_cancelled() && b.is_cancelled());
        assert_eq!(table.close_all(CloseReason::SnapshotInstalled), 0);
    }

    #[test]
    fn an_event_goes_only_to_a_connection_that_may_read_the_node() {
        let mut table = ConnectionTable::new();
        let (mut rx, _) = open(&mut table, 1, 1, 16);
        let closed = table.deliver(
            vec![
                event_under(1, "/mine", 1),
                event_under(1, "/write-only", 2),
                event_under(1, "/open", 0),
            ],
            acls,
        );
        assert!(closed.is_empty());
        let paths: Vec<String> = std::iter::from_fn(|| match rx.try_recv() {
            Some(Outgoing::Event(e)) => Some(e.path),
            _ => None,
        })
        .collect();
        assert_eq!(paths, vec!["/mine".to_string(), "/open".to_string()]);
    }
}
