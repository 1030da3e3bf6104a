//! Test clusters: one [`Cluster`] interface with two implementations, so a
//! guarantee is written once and runs on both (as etcd runs one test body
//! against in-process and binary clusters).
//!
//! - [`ProcessCluster`]: real `corral serve` processes, killed with SIGKILL
//!   and paused with SIGSTOP.
//! - [`InProcessCluster`]: the same servers inside the test process (quicker
//!   to start, and a debugger sees every server).
//!
//! Both put a fault-injecting proxy on every link between two servers
//! ([`Links`]): server `i` dials server `j` through its own proxy `i→j`
//! (`peer_routes`), so a link can be cut or held in one direction or both
//! while clients still reach every server at its real address. Both are
//! configured by the same settings table ([`ClusterOptions::server_settings`]),
//! which goes through the one configuration path of
//! `core_server::config::settings`. [`on_every_cluster!`](crate::on_every_cluster)
//! turns one test body into a test per implementation.

mod in_process;
mod links;
mod process;

pub use in_process::InProcessCluster;
pub use links::Links;
pub use process::{PreparedServer, ProcessCluster};

use crate::wait::eventually_ok;
use client::admin::{AdminClient, AdminReply, AdminRequest, ClusterStatus, PeerNode};
use core_server::config::settings::Settings;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// How long one status or admin call may take before it counts as failed.
const CALL_LIMIT: Duration = Duration::from_secs(5);

/// The super user's `USER:PASSWORD` on every test cluster (operator
/// commands need an administrator).
pub const ADMIN_AUTH: &str = "super:testkit-admin-password";

/// The super digest matching [`ADMIN_AUTH`].
pub fn admin_digest() -> String {
    core_server::tree::acl::digest_id(ADMIN_AUTH).unwrap_or_default()
}

/// Writes a cluster secret into `dir` for the servers of one test cluster;
/// returns the file.
pub fn write_secret(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let file = dir.join("cluster-secret");
    let secret: [u8; 16] = rand::random();
    let text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&file, text)?;
    Ok(file)
}

/// An admin client of the server at `addr`, as the test clusters' super user.
pub fn admin_client(addr: SocketAddr) -> AdminClient {
    AdminClient::new(addr.to_string()).with_digest(ADMIN_AUTH)
}

/// Timing and size of a test cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Servers that vote from the start (ids 1..=voters).
    pub voters: u64,
    /// Extra servers started but not members (ids after the voters), for
    /// membership-change tests.
    pub spares: u64,
    /// Snapshot every this many entries.
    pub snapshot_every: u64,
    /// How long a write may wait to commit (`write_timeout_ms`).
    pub write_timeout: Duration,
    /// More settings for every server, by `Config` key (they win over the
    /// ones above).
    pub settings: Settings,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            voters: 3,
            spares: 0,
            snapshot_every: 100_000,
            write_timeout: Duration::from_secs(3),
            settings: Settings::new(),
        }
    }
}

impl ClusterOptions {
    /// Every server id, voters first.
    pub fn ids(&self) -> Vec<u64> {
        (1..=self.voters + self.spares).collect()
    }

    /// Server `id`'s settings (by `Config` key): test timings (ticks of
    /// 100 ms, heartbeats every 50 ms, elections after 300 ms), every
    /// four-letter word allowed, its id, and
    /// its routes to the other servers (`routes`: id and the address to dial
    /// it at), the cluster secret in `secret_file` (unless the extra settings
    /// set `peer_tls_cert`: then TLS alone) and the super user of
    /// [`ADMIN_AUTH`]. The data directory and listeners are the
    /// implementation's.
    pub fn server_settings(
        &self,
        id: u64,
        routes: &[(u64, SocketAddr)],
        secret_file: &std::path::Path,
    ) -> Settings {
        let mut s = Settings::new();
        let text = |v: String| toml::Value::String(v);
        // With peer TLS in the extra settings, TLS alone authenticates peers.
        if !self.settings.contains_key("peer_tls_cert") {
            s.insert(
                "cluster_secret_file".into(),
                text(secret_file.display().to_string()),
            );
        }
        s.insert("super_digest".into(), text(admin_digest()));
        let int = |v: u64| toml::Value::Integer(i64::try_from(v).unwrap_or(i64::MAX));
        s.insert("node_id".into(), int(id));
        s.insert("tick_ms".into(), int(100));
        s.insert("min_session_timeout_ms".into(), int(200));
        s.insert("max_session_timeout_ms".into(), int(60_000));
        s.insert("heartbeat_ms".into(), int(50));
        s.insert("election_timeout_ms".into(), int(300));
        s.insert("snapshot_every".into(), int(self.snapshot_every));
        s.insert("container_check_ms".into(), int(100));
        let every_word = vec![toml::Value::String("*".into())];
        s.insert("four_letter_words".into(), toml::Value::Array(every_word));
        let write_timeout = u64::try_from(self.write_timeout.as_millis()).unwrap_or(u64::MAX);
        s.insert("write_timeout_ms".into(), int(write_timeout));
        let routes = routes
            .iter()
            .map(|(to, addr)| {
                let mut route = toml::Table::new();
                route.insert("id".into(), int(*to));
                route.insert("addr".into(), toml::Value::String(addr.to_string()));
                toml::Value::Table(route)
            })
            .collect();
        s.insert("peer_routes".into(), toml::Value::Array(routes));
        s.extend(self.settings.clone());
        s
    }
}

/// A running test cluster; dropping it stops every server.
///
/// Ids are 1..=voters+spares. Methods that change a server return futures
/// so that both implementations fit; the provided methods (status, leader,
/// convergence, links) are the same for both.
pub trait Cluster: Send + Sync + Sized {
    /// Starts the servers, bootstraps the voters and waits for a leader.
    fn start(options: ClusterOptions) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Every server id, members or not.
    fn ids(&self) -> Vec<u64>;

    /// Server `id`'s native address (the same across restarts).
    fn addr(&self, id: u64) -> SocketAddr;

    /// Server `id`'s peer address (the same across restarts).
    fn peer_addr(&self, id: u64) -> SocketAddr;

    /// Server `id`'s ZooKeeper-protocol address, while it runs.
    fn zk_addr(&self, id: u64) -> Option<SocketAddr>;

    /// Server `id`'s admin HTTP address, while it runs.
    fn admin_addr(&self, id: u64) -> Option<SocketAddr>;

    /// Whether server `id` runs.
    fn is_running(&self, id: u64) -> bool;

    /// Stops server `id` at once: its clients see their connections drop.
    /// A process is killed with SIGKILL; an in-process server is stopped
    /// (it closes its files, which a crash would not).
    fn crash(&mut self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Starts server `id` again (stopping it first if it runs) on its port
    /// and data.
    fn restart(&mut self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Freezes server `id` as far as the other servers can tell: a process
    /// is paused with SIGSTOP (its clients get no answers either); an
    /// in-process server has its links to and from the others held.
    fn stall(&self, id: u64) -> anyhow::Result<()>;

    /// Undoes [`Cluster::stall`].
    fn unstall(&self, id: u64) -> anyhow::Result<()>;

    /// The proxies between the servers.
    fn links(&self) -> &Links;

    /// The connect string of the given servers.
    fn connect_string(&self, ids: &[u64]) -> String {
        let addrs: Vec<String> = ids.iter().map(|id| self.addr(*id).to_string()).collect();
        addrs.join(",")
    }

    /// The member entry for server `id` (its real addresses).
    fn peer_node(&self, id: u64) -> PeerNode {
        PeerNode {
            addr: self.peer_addr(id).to_string(),
            zk_addr: None,
            client_addr: Some(self.addr(id).to_string()),
        }
    }

    /// Cuts server `id` off from every other server, both ways.
    fn isolate(&self, id: u64) {
        self.links().isolate(id);
    }

    /// Restores every link.
    fn heal(&self) {
        self.links().heal();
    }

    /// Server `id`'s view of the cluster.
    fn status(&self, id: u64) -> impl Future<Output = anyhow::Result<ClusterStatus>> + Send {
        status_at(self.addr(id), id)
    }

    /// Runs an operator command on server `id`.
    fn admin(
        &self,
        id: u64,
        request: AdminRequest,
    ) -> impl Future<Output = anyhow::Result<ClusterStatus>> + Send {
        let admin = admin_client(self.addr(id));
        async move {
            match admin.call(&request).await? {
                AdminReply::Done(status) => Ok(status),
                AdminReply::Failed(failure) => Err(failure.into()),
            }
        }
    }

    /// Waits until a running server says it is the leader; returns its id.
    fn leader(&self, limit: Duration) -> impl Future<Output = anyhow::Result<u64>> + Send {
        async move {
            eventually_ok(limit, "a leader", || async {
                for id in self.ids() {
                    if !self.is_running(id) {
                        continue;
                    }
                    if let Ok(status) = self.status(id).await {
                        if status.role == "Leader" && status.leader == Some(id) {
                            return Ok(id);
                        }
                    }
                }
                Err("no running server says it leads")
            })
            .await
        }
    }

    /// Waits until the given servers report the same zxid and tree digest;
    /// returns that digest.
    fn converged(
        &self,
        ids: &[u64],
        limit: Duration,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send {
        let ids = ids.to_vec();
        async move {
            let what = format!("servers {ids:?} to converge");
            eventually_ok(limit, &what, || async {
                let mut seen = Vec::new();
                for id in &ids {
                    match self.status(*id).await {
                        Ok(status) => seen.push((status.zxid, status.digest)),
                        Err(e) => return Err(format!("server {id}: {e}")),
                    }
                }
                match seen.first() {
                    Some(first) if seen.iter().all(|s| s == first) => Ok(first.1),
                    _ => Err(format!("(zxid, digest) by server: {seen:?}")),
                }
            })
            .await
        }
    }
}

/// The status of the server at `addr` (server `id`), within [`CALL_LIMIT`].
async fn status_at(addr: SocketAddr, id: u64) -> anyhow::Result<ClusterStatus> {
    let status = tokio::time::timeout(CALL_LIMIT, AdminClient::new(addr.to_string()).status())
        .await
        .map_err(|_| anyhow::anyhow!("status of server {id} timed out"))?;
    status.map_err(|e| anyhow::anyhow!("status of {id}: {e}"))
}

/// Bootstraps `voters` through server 1 and waits for a leader.
async fn bootstrap<C: Cluster>(cluster: &C, voters: u64) -> anyhow::Result<()> {
    let members = (1..=voters).map(|id| (id, cluster.peer_node(id))).collect();
    admin_client(cluster.addr(1))
        .initialize(members)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bootstrap: {e}"))?;
    cluster.leader(Duration::from_secs(20)).await?;
    Ok(())
}

/// Writes one test body once and runs it on every cluster implementation:
/// `on_every_cluster!(name, options)` makes module `name` with tests
/// `processes` and `in_process`, each starting its cluster with `options`
/// (an expression, evaluated in the calling module) and calling
/// `name(cluster)`, an `async fn name<C: Cluster>(c: C) -> anyhow::Result<()>`
/// of the calling module.
#[macro_export]
macro_rules! on_every_cluster {
    ($name:ident, $options:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::cluster::Cluster as _;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn processes() -> anyhow::Result<()> {
                let cluster = $crate::cluster::ProcessCluster::start($options).await?;
                super::$name(cluster).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn in_process() -> anyhow::Result<()> {
                let cluster = $crate::cluster::InProcessCluster::start($options).await?;
                super::$name(cluster).await
            }
        }
    };
}
