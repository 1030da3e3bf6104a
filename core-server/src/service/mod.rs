//! The single dispatch both front ends call: connect, handle a request, disconnect.
//!
//! Owns request semantics that are not the tree's: limits checked before a write
//! is proposed, turning requests into log entries, local reads with watch
//! registration, session establishment and reattachment, and the background
//! duties of a serving node (session expiry, container/TTL reaping). Must not
//! touch sockets or encodings: front ends translate their frames into
//! [`Request`] and [`Outgoing`](crate::connection::Outgoing) back into frames.

pub mod admins;
mod auth;
mod closing;
mod connect;
mod housekeeping;
pub mod latency;
mod paths;
pub mod pipeline;
mod read;
mod read_only;
mod sasl;
pub mod stats;
mod streams;
pub use crate::request;
mod watches;
mod write;
mod x509;

/// True for the requests that go through the log and may be pipelined.
pub fn is_pipelined_write(request: &Request) -> bool {
    matches!(
        request,
        Request::Create(_)
            | Request::Delete { .. }
            | Request::SetData { .. }
            | Request::SetAcl { .. }
            | Request::Multi(_)
    )
}

pub use connect::{ConnectArgs, Connected};
pub use request::{CreateArgs, MultiOp, ReadOp, Reply, Request, Response, SetWatches, WatcherType};
pub use write::PendingWrite;

use crate::clock::Clock;
use crate::config::Config;
use crate::connection::{ConnId, Outbox};
use crate::replication::Replicator;
use crate::session::SessionTracker;
use crate::state::ServerState;
use crate::tree::AuthId;
use parking_lot::Mutex;
use proto::ErrorCode;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A cheap handle on the serving node's request logic.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    state: Arc<ServerState>,
    replicator: Replicator,
    clock: Arc<dyn Clock>,
    tracker: Mutex<SessionTracker>,
    next_conn: AtomicU64,
    next_stream: AtomicI64,
    server_id: u8,
    stats: stats::RequestStats,
    latency: latency::Latency,
    /// Whether this server led at the last session sync.
    leading: AtomicBool,
    /// Sessions whose client asked to close while the close could not
    /// commit; retried in the background (`closing`).
    closing: Mutex<HashSet<i64>>,
    /// SASL users (`None`: SASL is not configured).
    sasl: Option<Arc<crate::sasl::SaslUsers>>,
}

pub use crate::connection::LiveConnection;

/// One established client connection and the session it carries.
#[derive(Debug)]
pub struct Connection {
    conn: ConnId,
    protocol: latency::Protocol,
    session_id: i64,
    outbox: Outbox,
    streams: Mutex<HashMap<i64, CancellationToken>>,
    /// Proven ids (ip always; digest after auth), and super-user status;
    /// shared with the connection table, which filters watch events by them.
    auth: crate::connection::SharedAuth,
    /// The connection's SASL exchange (ZooKeeper protocol).
    sasl: Mutex<crate::sasl::digest_md5::Exchange>,
    /// Served in read-only mode: reads only, writes are NotReadOnly.
    read_only: bool,
}

impl Connection {
    /// A connection carrying `session_id`, with the ids in `auth`.
    fn new(
        conn: ConnId,
        args: &ConnectArgs,
        session_id: i64,
        outbox: Outbox,
        auth: crate::connection::SharedAuth,
        read_only: bool,
    ) -> Connection {
        Connection {
            conn,
            protocol: args.protocol,
            session_id,
            outbox,
            streams: Mutex::new(HashMap::new()),
            auth,
            sasl: Mutex::new(Default::default()),
            read_only,
        }
    }

    /// The session this connection carries.
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// The connection's id on this server.
    pub fn id(&self) -> ConnId {
        self.conn
    }

    /// The connection's proven ids and whether it is the super user.
    pub fn auth(&self) -> (Vec<AuthId>, bool) {
        self.auth.lock().clone()
    }

    /// Cancelled when the server wants this connection closed (session moved
    /// or expired, queue overflow).
    pub fn close_token(&self) -> &CancellationToken {
        &self.outbox.close
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("server_id", &self.inner.server_id)
            .finish()
    }
}

impl Service {
    /// Builds the service over recovered state; every session found in the state
    /// gets a fresh timeout (its clients may come back). `sasl`: the users
    /// SASL clients may authenticate as (see [`Config::sasl_users`]).
    pub fn new(
        config: Config,
        state: Arc<ServerState>,
        replicator: Replicator,
        clock: Arc<dyn Clock>,
        server_id: u8,
        sasl: Option<crate::sasl::SaslUsers>,
    ) -> Self {
        // Standalone, this server leads from the start (no fresh timeouts
        // at the first session sync); a cluster member learns it later.
        let replicator_leads = replicator.is_leader();
        let mut tracker = SessionTracker::new();
        let now = clock.now();
        for (id, info) in state.read().sessions() {
            tracker.add(id, duration_ms(info.timeout_ms), now);
        }
        state
            .watches()
            .lock()
            .set_model(config.zk_compat.watch_model());
        Service {
            inner: Arc::new(Inner {
                config,
                state,
                replicator,
                clock,
                tracker: Mutex::new(tracker),
                next_conn: AtomicU64::new(1),
                next_stream: AtomicI64::new(1),
                server_id,
                stats: stats::RequestStats::default(),
                latency: latency::Latency::default(),
                leading: AtomicBool::new(replicator_leads),
                closing: Mutex::new(HashSet::new()),
                sasl: sasl.map(Arc::new),
            }),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The live state (for admin views and tests).
    pub fn state(&self) -> &Arc<ServerState> {
        &self.inner.state
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Records client activity (any frame) for the session.
    pub fn touch(&self, connection: &Connection) {
        let now = self.inner.clock.now();
        self.inner.tracker.lock().touch(connection.session_id, now);
    }

    /// Handles one request and produces its response. Requests of one
    /// connection must be handled one after another, in arrival order.
    pub async fn handle(&self, connection: &Connection, xid: i32, request: Request) -> Response {
        self.touch(connection);
        let arrived = self.inner.clock.now();
        self.inner.stats.received();
        let op = latency::op_index(&request);
        let (zxid, result) = match request {
            request if connection.read_only && read_only::refuses(&request) => {
                (self.inner.state.last_zxid(), Err(ErrorCode::NotReadOnly))
            }
            Request::CloseSession if connection.read_only => self.close_read_only(connection),
            Request::Create(_)
            | Request::Delete { .. }
            | Request::SetData { .. }
            | Request::SetAcl { .. }
            | Request::Multi(_)
            | Request::CloseSession => self.write(connection, request).await,
            Request::Sync { path } => self.sync(path).await,
            Request::AddWatch { .. }
            | Request::RemoveWatches { .. }
            | Request::CheckWatches { .. }
            | Request::SetWatches(_)
            | Request::WatchFrom { .. }
            | Request::CancelWatchFrom { .. } => self.watch_request(connection, request),
            Request::AddAuth { scheme, auth } => (
                self.inner.state.last_zxid(),
                self.add_auth(connection, &scheme, &auth),
            ),
            Request::WhoAmI => (self.inner.state.last_zxid(), Ok(self.who_am_i(connection))),
            // ZooKeeper answers SASL with zxid 0.
            Request::Sasl { token } => (0, self.sasl(connection, &token)),
            read => self.read(connection, read),
        };
        self.answered(connection, op, arrived);
        Response { xid, zxid, result }
    }

    /// Before a linearizable read: waits until this server has applied
    /// everything the cluster committed before the call.
    pub async fn linearize(&self) -> Result<(), ErrorCode> {
        self.inner.replicator.sync().await.map_err(|error| {
            tracing::debug!(%error, "linearizable read refused");
            ErrorCode::ConnectionLoss
        })
    }

    /// `sync`: waits until this server has applied everything the cluster
    /// committed before the call (the leader's read index).
    async fn sync(&self, path: String) -> (i64, Result<Reply, ErrorCode>) {
        let local = self.inner.state.last_zxid();
        match self.inner.replicator.sync().await {
            Ok(()) => (self.inner.state.last_zxid(), Ok(Reply::Synced(path))),
            Err(error) => {
                tracing::debug!(%error, "sync failed");
                (local, Err(ErrorCode::ConnectionLoss))
            }
        }
    }

    /// Forgets a connection: its watches and streams go, the session stays
    /// (until it expires or the client reattaches).
    pub fn disconnect(&self, connection: &Connection) {
        self.inner.state.watches().lock().detach(connection.conn);
        self.inner
            .state
            .connections()
            .lock()
            .remove(connection.conn);
        for (_, cancel) in connection.streams.lock().drain() {
            cancel.cancel();
        }
    }
}

impl Service {
    /// Connections open on this server, by id.
    pub fn live_connections(&self) -> Vec<LiveConnection> {
        self.inner.state.connections().lock().live()
    }

    /// Now, on the service's clock (when a request arrived).
    pub(crate) fn now(&self) -> std::time::Instant {
        self.inner.clock.now()
    }

    /// Counts a request answered (operation `op`, see [`latency::OPS`]),
    /// which arrived at `arrived` on `connection`.
    pub(crate) fn answered(&self, connection: &Connection, op: usize, arrived: std::time::Instant) {
        let took = self.inner.clock.now().saturating_duration_since(arrived);
        self.inner.stats.answered(took);
        self.inner.latency.record(connection.protocol, op, took);
    }

    /// The replication handle (role, cluster view).
    pub fn replicator(&self) -> &Replicator {
        &self.inner.replicator
    }

    /// Request latency histograms by operation and protocol.
    pub fn latency(&self) -> &latency::Latency {
        &self.inner.latency
    }

    /// Requests received and answered since start, and their latency.
    pub fn request_stats(&self) -> stats::StatsView {
        self.inner.stats.view()
    }

    /// This server's part (standalone, leader, follower, observer, looking).
    pub fn mode(&self) -> crate::replication::ServerMode {
        if self.is_read_only() {
            return crate::replication::ServerMode::ReadOnly;
        }
        self.inner.replicator.mode()
    }

    /// Whether this server may serve clients now (a cluster member in touch
    /// with a quorum, or standalone).
    pub fn is_serving(&self) -> bool {
        self.inner.replicator.is_serving()
    }

    /// ZooKeeper's server id: the cluster member id, 0 standalone.
    pub fn zk_server_id(&self) -> u64 {
        self.inner.config.node_id.unwrap_or(0)
    }
}

fn duration_ms(ms: i32) -> std::time::Duration {
    std::time::Duration::from_millis(ms.max(0) as u64)
}
