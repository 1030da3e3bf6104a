//! Establishing a session on a connection: create a new one or reattach.

use super::{duration_ms, Connection, Service};
use crate::connection::{LiveConnection, Outbox, SharedAuth};
use crate::session::{new_password, new_session_id};
use crate::tree::AuthId;
use crate::txn::{Entry, Txn};
use parking_lot::Mutex;
use proto::ErrorCode;
use std::sync::Arc;

/// What a client asks for when it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectArgs {
    /// 0 for a new session, else the session to reattach.
    pub session_id: i64,
    /// The session's password when reattaching.
    pub password: Vec<u8>,
    /// Requested timeout.
    pub timeout_ms: i32,
    /// Highest zxid the client has seen.
    pub last_zxid_seen: i64,
    /// The client's IP address (its `ip` scheme id).
    pub peer_ip: Option<std::net::IpAddr>,
    /// The front end it came through.
    pub protocol: super::latency::Protocol,
    /// The client accepts a read-only session (ZooKeeper's `canBeReadOnly`).
    pub can_be_read_only: bool,
}

/// What the server grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The session id.
    pub session_id: i64,
    /// The session password.
    pub password: Vec<u8>,
    /// The negotiated timeout.
    pub timeout_ms: i32,
    /// The server's last applied zxid.
    pub zxid: i64,
    /// True when an existing session was reattached.
    pub reattached: bool,
    /// A read-only session (the server is cut off from the quorum).
    pub read_only: bool,
}

/// A new connection's ids: its `ip` only.
pub(super) fn initial_auth(peer_ip: Option<std::net::IpAddr>) -> SharedAuth {
    Arc::new(Mutex::new((
        peer_ip
            .map(|ip| vec![AuthId::new("ip", &ip.to_string())])
            .unwrap_or_default(),
        false,
    )))
}

/// Longest a connect waits for this server to catch up with the client.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A refused connect: the code and a human-readable reason.
pub type Refusal = (ErrorCode, String);

impl Service {
    /// Creates or reattaches a session for a new connection whose frames go to
    /// `outbox`. A wrong password is refused without disturbing the session's
    /// current connection.
    pub async fn connect(
        &self,
        args: ConnectArgs,
        outbox: Outbox,
    ) -> Result<(Connection, Connected), Refusal> {
        let inner = &self.inner;
        if !inner.replicator.is_serving() {
            if inner.config.read_only_mode && args.can_be_read_only {
                return self.connect_read_only(args, outbox);
            }
            return Err((
                ErrorCode::ConnectionLoss,
                "this server is not in touch with a quorum".into(),
            ));
        }
        if args.last_zxid_seen > inner.state.last_zxid() {
            // A server behind the client first tries to catch up (a follower
            // a little behind its leader); if it cannot, the client is refused
            // and moves on to another server.
            let limit = duration_ms(args.timeout_ms / 3).min(CATCH_UP_WAIT);
            let mut applied = inner.state.subscribe_applied();
            let _ =
                tokio::time::timeout(limit, applied.wait_for(|z| *z >= args.last_zxid_seen)).await;
        }
        let (session_id, password, timeout_ms, reattached) = if args.session_id == 0 {
            let (id, password, timeout_ms) = self.create_session(args.timeout_ms).await?;
            (id, password, timeout_ms, false)
        } else {
            let state = inner.state.read();
            let Some(info) = state.session(args.session_id) else {
                return Err((
                    ErrorCode::SessionExpired,
                    "session expired or unknown".into(),
                ));
            };
            if info.password != args.password {
                return Err((ErrorCode::AuthFailed, "wrong session password".into()));
            }
            if args.last_zxid_seen > state.last_zxid() {
                return Err((
                    ErrorCode::ConnectionLoss,
                    format!(
                        "server is behind the client (server zxid {}, client saw {})",
                        state.last_zxid(),
                        args.last_zxid_seen
                    ),
                ));
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
        {
            let now = inner.clock.now();
            let mut tracker = inner.tracker.lock();
            if !tracker.touch(session_id, now) {
                tracker.add(session_id, duration_ms(timeout_ms), now);
            }
        }
        // Opened under the read lock so the session cannot be closed
        // unnoticed between the checks above and the opening; the session's
        // previous connection, if any, is closed (the session moved).
        let zxid = {
            let state = inner.state.read();
            if state.session(session_id).is_none() {
                return Err((ErrorCode::SessionExpired, "session expired".into()));
            }
            inner.state.connections().lock().open(
                outbox.clone(),
                LiveConnection {
                    conn,
                    session_id,
                    peer: args.peer_ip,
                    timeout_ms,
                    read_only: false,
                },
                auth.clone(),
            );
            state.last_zxid()
        };
        let connection = Connection::new(conn, &args, session_id, outbox, auth, false);
        tracing::debug!(session_id, conn, reattached, "session connected");
        Ok((
            connection,
            Connected {
                session_id,
                password,
                timeout_ms,
                zxid,
                reattached,
                read_only: false,
            },
        ))
    }

    async fn create_session(&self, requested_ms: i32) -> Result<(i64, Vec<u8>, i32), Refusal> {
        let inner = &self.inner;
        let timeout_ms = inner.config.negotiate_timeout(requested_ms);
        let session_id = {
            let state = inner.state.read();
            if state.session_count() >= inner.config.max_sessions {
                return Err((
                    ErrorCode::TooManySessions,
                    format!("session limit of {} reached", inner.config.max_sessions),
                ));
            }
            let mut id = new_session_id(inner.server_id);
            while state.session(id).is_some() {
                id = new_session_id(inner.server_id);
            }
            id
        };
        let password = new_password();
        let entry = Entry {
            time_ms: inner.clock.wall_ms(),
            session_id: 0,
            auth: Vec::new(),
            is_super: true,
            txn: Txn::CreateSession {
                session_id,
                password: password.clone(),
                timeout_ms,
            },
        };
        let committed = inner
            .replicator
            .propose(entry)
            .await
            .map_err(|e| (ErrorCode::ConnectionLoss, e.to_string()))?;
        if let Err(code) = committed.applied.result {
            return Err((code, "session could not be created".into()));
        }
        metrics::counter!("corral_sessions_created_total").increment(1);
        Ok((session_id, password, timeout_ms))
    }
}
