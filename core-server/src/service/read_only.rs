//! Read-only mode (ZooKeeper's `readonlymode.enabled`): a cluster member
//! cut off from the quorum serves the clients that allow it
//! (`canBeReadOnly`) with reads from its own tree, and refuses their writes
//! with NotReadOnly.
//!
//! A read-only session is this server's alone: a new one is not replicated
//! (there is no quorum to replicate it to), and ends with its connection;
//! an existing session may be reattached read-only. When the quorum is back
//! the read-only connections are closed (`housekeeping`), and the clients
//! come back read-write, as ZooKeeper's do once they find a read-write
//! server (a client that never saw one asks for a new session).

use super::connect::{initial_auth, ConnectArgs, Connected, Refusal};
use super::{Connection, Reply, Request, Service};
use crate::connection::{LiveConnection, Outbox};
use crate::session::{new_password, new_session_id};
use proto::ErrorCode;

/// The requests a read-only session may not make: ZooKeeper's
/// `ReadOnlyRequestProcessor` list (every write, multi, and sync).
pub(super) fn refuses(request: &Request) -> bool {
    super::is_pipelined_write(request) || matches!(request, Request::Sync { .. })
}

impl Service {
    /// True while this server serves read-only sessions: read-only mode is
    /// on and it is a cluster member out of touch with the quorum.
    pub fn is_read_only(&self) -> bool {
        self.inner.config.read_only_mode && !self.inner.replicator.is_serving()
    }

    /// Opens a read-only session for a client that allows one.
    pub(super) fn connect_read_only(
        &self,
        args: ConnectArgs,
        outbox: Outbox,
    ) -> Result<(Connection, Connected), Refusal> {
        let inner = &self.inner;
        let state = inner.state.read();
        if args.last_zxid_seen > state.last_zxid() {
            return Err((
                ErrorCode::ConnectionLoss,
                "read-only server is behind the client".into(),
            ));
        }
        let (session_id, password, timeout_ms, reattached) = if args.session_id == 0 {
            let mut id = new_session_id(inner.server_id);
            while state.session(id).is_some() {
                id = new_session_id(inner.server_id);
            }
            let timeout_ms = inner.config.negotiate_timeout(args.timeout_ms);
            (id, new_password(), timeout_ms, false)
        } else {
            let info = state.session(args.session_id).ok_or_else(|| {
                (
                    ErrorCode::SessionExpired,
                    "session expired or unknown".to_string(),
                )
            })?;
            if info.password != args.password {
                return Err((ErrorCode::AuthFailed, "wrong session password".into()));
            }
            (
                args.session_id,
                info.password.clone(),
                info.timeout_ms,
                true,
            )
        };
        let conn = self.next_conn_id();
        let auth = initial_auth(args.peer_ip);
        inner.state.connections().lock().open(
            outbox.clone(),
            LiveConnection {
                conn,
                session_id,
                peer: args.peer_ip,
                timeout_ms,
                read_only: true,
            },
            auth.clone(),
        );
        let zxid = state.last_zxid();
        drop(state);
        metrics::counter!("corral_read_only_sessions_total").increment(1);
        tracing::debug!(session_id, conn, reattached, "read-only session connected");
        let connection = Connection::new(conn, &args, session_id, outbox, auth, true);
        Ok((
            connection,
            Connected {
                session_id,
                password,
                timeout_ms,
                zxid,
                reattached,
                read_only: true,
            },
        ))
    }

    /// closeSession on a read-only connection: the connection ends; a
    /// replicated session it reattached stays until it expires.
    pub(super) fn close_read_only(
        &self,
        connection: &Connection,
    ) -> (i64, Result<Reply, ErrorCode>) {
        connection.outbox.close.cancel();
        (self.inner.state.last_zxid(), Ok(Reply::Done))
    }
}
