//! [`ProcessCluster`]: a test cluster of real `corral serve` processes.
//! Servers can be killed with SIGKILL, restarted on the same port and data,
//! and paused with SIGSTOP.

use super::{bootstrap, Cluster, ClusterOptions, Links};
use crate::ProcessServer;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

/// One server of the cluster.
#[derive(Debug)]
struct Member {
    listen: SocketAddr,
    peer_listen: SocketAddr,
    data_dir: PathBuf,
    config_file: PathBuf,
    process: Option<ProcessServer>,
}

/// A running cluster of `corral serve` processes (the binary
/// [`crate::corral_binary`] finds); dropping it kills every server.
#[derive(Debug)]
pub struct ProcessCluster {
    binary: PathBuf,
    members: BTreeMap<u64, Member>,
    links: Links,
    _dir: tempfile::TempDir,
}

/// A server of a cluster about to start on prepared data: where it will
/// listen and where its data directory must be.
#[derive(Debug, Clone)]
pub struct PreparedServer {
    /// The server's id.
    pub id: u64,
    /// The native address it will listen on.
    pub addr: SocketAddr,
    /// The peer address it will listen on.
    pub peer_addr: SocketAddr,
    /// Its data directory (not yet created).
    pub data_dir: PathBuf,
}

impl ProcessCluster {
    /// Starts a cluster whose data directories are made by `prepare` before
    /// any server runs (for example by `corral restore` from a backup, which
    /// must know every member's address): no bootstrap, the servers boot
    /// from what `prepare` wrote; waits for a leader.
    ///
    /// Each server's port is picked by the OS (bind port 0) and released
    /// just before `prepare`, so the member list can name it; the server
    /// binds it again when it starts, as a restarted server does.
    pub async fn start_prepared(
        options: ClusterOptions,
        prepare: impl FnOnce(&[PreparedServer]) -> anyhow::Result<()>,
    ) -> anyhow::Result<ProcessCluster> {
        let dir = tempfile::tempdir()?;
        let ids = options.ids();
        let links = Links::start(&ids).await?;
        let secret = super::write_secret(dir.path())?;
        let mut members = BTreeMap::new();
        let mut prepared = Vec::new();
        for id in &ids {
            let settings = options.server_settings(*id, &links.routes_from(*id), &secret);
            let config_file = dir.path().join(format!("server-{id}.toml"));
            std::fs::write(&config_file, toml::to_string(&settings)?)?;
            let listen = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?;
            let peer_listen = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?;
            let data_dir = dir.path().join(format!("server-{id}"));
            prepared.push(PreparedServer {
                id: *id,
                addr: listen,
                peer_addr: peer_listen,
                data_dir: data_dir.clone(),
            });
            let member = Member {
                listen,
                peer_listen,
                data_dir,
                config_file,
                process: None,
            };
            members.insert(*id, member);
        }
        prepare(&prepared)?;
        let mut cluster = ProcessCluster {
            binary: crate::corral_binary().to_path_buf(),
            members,
            links,
            _dir: dir,
        };
        for id in &ids {
            cluster.start_member(*id)?;
            cluster.links.target(*id, cluster.peer_addr(*id));
        }
        cluster.leader(std::time::Duration::from_secs(20)).await?;
        Ok(cluster)
    }

    /// SIGKILLs server `id` (what [`Cluster::crash`] does, without awaiting).
    pub fn kill9(&mut self, id: u64) -> anyhow::Result<()> {
        if let Some(process) = self.members.get_mut(&id).and_then(|m| m.process.take()) {
            process.kill9()?;
        }
        Ok(())
    }

    /// SIGSTOPs server `id`.
    pub fn pause(&self, id: u64) -> anyhow::Result<()> {
        self.process(id)?.pause()
    }

    /// SIGCONTs server `id`.
    pub fn resume(&self, id: u64) -> anyhow::Result<()> {
        self.process(id)?.resume()
    }

    /// Server `id`'s resident set size, bytes.
    pub fn rss_bytes(&self, id: u64) -> anyhow::Result<u64> {
        self.process(id)?.rss_bytes()
    }

    fn process(&self, id: u64) -> anyhow::Result<&ProcessServer> {
        self.members
            .get(&id)
            .and_then(|m| m.process.as_ref())
            .ok_or_else(|| anyhow::anyhow!("server {id} is not running"))
    }

    /// Starts server `id` (stopping it first if it runs) on its port and data.
    fn start_member(&mut self, id: u64) -> anyhow::Result<()> {
        let member = self
            .members
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("no server {id}"))?;
        if let Some(process) = member.process.take() {
            process.kill9()?;
        }
        let config = member.config_file.to_string_lossy().into_owned();
        let peer = member.peer_listen.to_string();
        let process = ProcessServer::start(
            &self.binary,
            &member.data_dir,
            member.listen,
            &["--config", &config, "--peer-listen", &peer],
        )?;
        member.listen = process.addr();
        if let Some(peer) = process.peer_addr() {
            member.peer_listen = peer;
        }
        member.process = Some(process);
        Ok(())
    }
}

impl Cluster for ProcessCluster {
    async fn start(options: ClusterOptions) -> anyhow::Result<ProcessCluster> {
        let dir = tempfile::tempdir()?;
        let ids = options.ids();
        let links = Links::start(&ids).await?;
        let secret = super::write_secret(dir.path())?;
        let mut members = BTreeMap::new();
        for id in &ids {
            let settings = options.server_settings(*id, &links.routes_from(*id), &secret);
            let config_file = dir.path().join(format!("server-{id}.toml"));
            std::fs::write(&config_file, toml::to_string(&settings)?)?;
            let member = Member {
                // Each server picks its own port at its first start (a port
                // picked here and released could be taken by anyone before
                // the server binds it); restarts keep it.
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                peer_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                data_dir: dir.path().join(format!("server-{id}")),
                config_file,
                process: None,
            };
            members.insert(*id, member);
        }
        let mut cluster = ProcessCluster {
            binary: crate::corral_binary().to_path_buf(),
            members,
            links,
            _dir: dir,
        };
        for id in &ids {
            cluster.start_member(*id)?;
            cluster.links.target(*id, cluster.peer_addr(*id));
        }
        bootstrap(&cluster, options.voters).await?;
        Ok(cluster)
    }

    fn ids(&self) -> Vec<u64> {
        self.members.keys().copied().collect()
    }

    fn addr(&self, id: u64) -> SocketAddr {
        self.members[&id].listen
    }

    fn peer_addr(&self, id: u64) -> SocketAddr {
        self.members[&id].peer_listen
    }

    fn zk_addr(&self, id: u64) -> Option<SocketAddr> {
        self.members.get(&id)?.process.as_ref()?.zk_addr()
    }

    fn admin_addr(&self, id: u64) -> Option<SocketAddr> {
        self.members.get(&id)?.process.as_ref()?.admin_addr()
    }

    fn is_running(&self, id: u64) -> bool {
        self.members.get(&id).is_some_and(|m| m.process.is_some())
    }

    fn crash(&mut self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send {
        let killed = self.kill9(id);
        async move { killed }
    }

    fn restart(&mut self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send {
        let started = self.start_member(id);
        async move { started }
    }

    fn stall(&self, id: u64) -> anyhow::Result<()> {
        self.pause(id)
    }

    fn unstall(&self, id: u64) -> anyhow::Result<()> {
        self.resume(id)
    }

    fn links(&self) -> &Links {
        &self.links
    }
}
