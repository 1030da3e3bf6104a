//! A cluster of real `corral serve` processes with a fault-injecting proxy
//! on every link between two servers.
//!
//! Server `i` dials server `j` through its own proxy `i→j` (`--peer-route`),
//! so a link can be cut or held in one direction or both, and a server can be
//! cut off from all others while its clients still reach it. Clients connect
//! to the servers' real addresses. Servers can be killed with SIGKILL,
//! restarted on the same port and data, and paused with SIGSTOP.

use crate::proxy::{Fault, Proxy};
use crate::ProcessServer;
use client::admin::{AdminClient, AdminRequest, ClusterStatus, PeerNode};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One server of the cluster.
#[derive(Debug)]
struct Member {
    listen: SocketAddr,
    data_dir: PathBuf,
    args: Vec<String>,
    process: Option<ProcessServer>,
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
    /// How long a write may wait to commit (`--write-timeout-ms`).
    pub write_timeout: Duration,
    /// Extra `corral serve` flags for every server.
    pub extra: Vec<String>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            voters: 3,
            spares: 0,
            snapshot_every: 100_000,
            write_timeout: Duration::from_secs(3),
            extra: Vec::new(),
        }
    }
}

/// A running test cluster; dropping it kills every server.
#[derive(Debug)]
pub struct ProcessCluster {
    binary: PathBuf,
    members: BTreeMap<u64, Member>,
    links: BTreeMap<(u64, u64), Proxy>,
    _dir: tempfile::TempDir,
}

impl ProcessCluster {
    /// Starts the servers, bootstraps the voters and waits for a leader.
    pub async fn start(binary: &Path, options: ClusterOptions) -> anyhow::Result<ProcessCluster> {
        let dir = tempfile::tempdir()?;
        let ids: Vec<u64> = (1..=options.voters + options.spares).collect();
        // Each server picks its own port at its first start (a port picked
        // here and released could be taken by anyone before the server binds
        // it); the links learn their targets once the servers listen.
        let mut links = BTreeMap::new();
        for from in &ids {
            for to in &ids {
                if from != to {
                    links.insert((*from, *to), Proxy::start_untargeted().await?);
                }
            }
        }
        let mut cluster = ProcessCluster {
            binary: binary.to_path_buf(),
            members: BTreeMap::new(),
            links,
            _dir: dir,
        };
        for id in &ids {
            let mut args: Vec<String> = vec![
                "--id".into(),
                id.to_string(),
                "--tick-ms".into(),
                "100".into(),
                "--min-session-timeout-ms".into(),
                "200".into(),
                "--max-session-timeout-ms".into(),
                "60000".into(),
                "--heartbeat-ms".into(),
                "50".into(),
                "--election-timeout-ms".into(),
                "300".into(),
                "--snapshot-every".into(),
                options.snapshot_every.to_string(),
                "--container-check-ms".into(),
                "100".into(),
                "--write-timeout-ms".into(),
                options.write_timeout.as_millis().to_string(),
            ];
            for to in &ids {
                if to != id {
                    args.push("--peer-route".into());
                    args.push(format!("{to}={}", cluster.links[&(*id, *to)].addr()));
                }
            }
            args.extend(options.extra.iter().cloned());
            let data_dir = cluster._dir.path().join(format!("server-{id}"));
            cluster.members.insert(
                *id,
                Member {
                    listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                    data_dir,
                    args,
                    process: None,
                },
            );
            cluster.restart(*id)?;
            let listen = cluster.members[id]
                .process
                .as_ref()
                .map(ProcessServer::addr)
                .ok_or_else(|| anyhow::anyhow!("server {id} did not start"))?;
            if let Some(member) = cluster.members.get_mut(id) {
                member.listen = listen;
            }
            for ((_, to), proxy) in &cluster.links {
                if to == id {
                    proxy.retarget(listen);
                }
            }
        }
        let voters: BTreeMap<u64, PeerNode> = (1..=options.voters)
            .map(|id| (id, cluster.peer_node(id)))
            .collect();
        AdminClient::new(cluster.addr(1).to_string())
            .initialize(voters)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bootstrap: {e}"))?;
        cluster.leader(Duration::from_secs(20)).await?;
        Ok(cluster)
    }

    /// The member entry for server `id` (its real address).
    pub fn peer_node(&self, id: u64) -> PeerNode {
        PeerNode {
            addr: self.addr(id).to_string(),
            zk_addr: None,
        }
    }

    /// Server `id`'s native address.
    pub fn addr(&self, id: u64) -> SocketAddr {
        self.members[&id].listen
    }

    /// Server `id`'s ZooKeeper-protocol address (while it runs).
    pub fn zk_addr(&self, id: u64) -> Option<SocketAddr> {
        self.members.get(&id)?.process.as_ref()?.zk_addr()
    }

    /// Server `id`'s resident set size, bytes.
    pub fn rss_bytes(&self, id: u64) -> anyhow::Result<u64> {
        match self.members.get(&id).and_then(|m| m.process.as_ref()) {
            Some(p) => p.rss_bytes(),
            None => anyhow::bail!("server {id} is not running"),
        }
    }

    /// Every server id, members or not.
    pub fn ids(&self) -> Vec<u64> {
        self.members.keys().copied().collect()
    }

    /// The connect string of the given servers.
    pub fn connect_string(&self, ids: &[u64]) -> String {
        let addrs: Vec<String> = ids.iter().map(|id| self.addr(*id).to_string()).collect();
        addrs.join(",")
    }

    /// Starts server `id` (again) on its port and data.
    pub fn restart(&mut self, id: u64) -> anyhow::Result<()> {
        let binary = self.binary.clone();
        let member = self
            .members
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("no server {id}"))?;
        if let Some(process) = member.process.take() {
            process.kill9()?;
        }
        let args: Vec<&str> = member.args.iter().map(String::as_str).collect();
        member.process = Some(ProcessServer::start(
            &binary,
            &member.data_dir,
            member.listen,
            &args,
        )?);
        Ok(())
    }

    /// SIGKILLs server `id`.
    pub fn kill9(&mut self, id: u64) -> anyhow::Result<()> {
        if let Some(process) = self.members.get_mut(&id).and_then(|m| m.process.take()) {
            process.kill9()?;
        }
        Ok(())
    }

    /// SIGSTOPs server `id`.
    pub fn pause(&self, id: u64) -> anyhow::Result<()> {
        match self.members.get(&id).and_then(|m| m.process.as_ref()) {
            Some(p) => p.pause(),
            None => anyhow::bail!("server {id} is not running"),
        }
    }

    /// SIGCONTs server `id`.
    pub fn resume(&self, id: u64) -> anyhow::Result<()> {
        match self.members.get(&id).and_then(|m| m.process.as_ref()) {
            Some(p) => p.resume(),
            None => anyhow::bail!("server {id} is not running"),
        }
    }

    /// Sets the fault on the link `from → to` (traffic `from` starts).
    pub fn set_link(&self, from: u64, to: u64, fault: Fault) {
        if let Some(proxy) = self.links.get(&(from, to)) {
            proxy.set(fault);
        }
    }

    /// Cuts server `id` off from every other server, both ways.
    pub fn isolate(&self, id: u64) {
        for ((from, to), proxy) in &self.links {
            if *from == id || *to == id {
                proxy.set(Fault::Drop);
            }
        }
    }

    /// Restores every link.
    pub fn heal(&self) {
        for proxy in self.links.values() {
            proxy.set(Fault::Pass);
        }
    }

    /// Server `id`'s view of the cluster.
    pub async fn status(&self, id: u64) -> anyhow::Result<ClusterStatus> {
        let status = tokio::time::timeout(
            Duration::from_secs(5),
            AdminClient::new(self.addr(id).to_string()).status(),
        )
        .await
        .map_err(|_| anyhow::anyhow!("status of server {id} timed out"))?;
        status.map_err(|e| anyhow::anyhow!("status of {id}: {e}"))
    }

    /// Runs an operator command on server `id`.
    pub async fn admin(&self, id: u64, request: AdminRequest) -> anyhow::Result<ClusterStatus> {
        use client::admin::AdminReply;
        match AdminClient::new(self.addr(id).to_string())
            .call(&request)
            .await?
        {
            AdminReply::Done(status) => Ok(status),
            AdminReply::Failed(failure) => Err(failure.into()),
        }
    }

    /// Waits until a running server says it is the leader; returns its id.
    pub async fn leader(&self, limit: Duration) -> anyhow::Result<u64> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            for (id, member) in &self.members {
                if member.process.is_none() {
                    continue;
                }
                if let Ok(status) = self.status(*id).await {
                    if status.role == "Leader" && status.leader == Some(*id) {
                        return Ok(*id);
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("no leader within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the given servers report the same zxid and tree digest;
    /// returns that digest.
    pub async fn converged(&self, ids: &[u64], limit: Duration) -> anyhow::Result<u64> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mut seen = Vec::new();
            for id in ids {
                if let Ok(status) = self.status(*id).await {
                    seen.push((status.zxid, status.digest));
                }
            }
            if seen.len() == ids.len() && seen.windows(2).all(|w| w[0] == w[1]) {
                return Ok(seen[0].1);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("servers {ids:?} did not converge within {limit:?}: {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
