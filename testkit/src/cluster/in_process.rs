//! [`InProcessCluster`]: a test cluster whose servers run inside the test
//! process, configured exactly as the process cluster's are (the same
//! settings through `core_server::config::settings`).

use super::{bootstrap, Cluster, ClusterOptions, Links};
use core_server::config::settings;
use core_server::{Config, ServerHandle};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

/// One server of the cluster.
#[derive(Debug)]
struct Member {
    config: Config,
    handle: Option<ServerHandle>,
}

/// A running cluster of in-process servers; dropping it stops every server
/// (without waiting for them: call [`Cluster::crash`] to wait).
#[derive(Debug)]
pub struct InProcessCluster {
    members: BTreeMap<u64, Member>,
    links: Links,
    _dir: tempfile::TempDir,
}

impl InProcessCluster {
    /// The running server `id`, for tests that look inside it.
    pub fn handle(&self, id: u64) -> Option<&ServerHandle> {
        self.members.get(&id)?.handle.as_ref()
    }

    async fn stop_member(&mut self, id: u64) -> anyhow::Result<()> {
        let member = self
            .members
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("no server {id}"))?;
        if let Some(handle) = member.handle.take() {
            handle.shutdown().await?;
        }
        Ok(())
    }

    async fn start_member(&mut self, id: u64) -> anyhow::Result<()> {
        self.stop_member(id).await?;
        let member = self
            .members
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("no server {id}"))?;
        let handle = core_server::start(member.config.clone()).await?;
        // Restarts keep the native and peer ports; the ZooKeeper port is
        // picked anew.
        member.config.listen = handle.addr();
        member.config.peer_listen = handle.peer_addr();
        member.handle = Some(handle);
        Ok(())
    }
}

impl Cluster for InProcessCluster {
    async fn start(options: ClusterOptions) -> anyhow::Result<InProcessCluster> {
        crate::log_to_test_output();
        let dir = tempfile::tempdir()?;
        let ids = options.ids();
        let links = Links::start(&ids).await?;
        let secret = super::write_secret(dir.path())?;
        let mut members = BTreeMap::new();
        for id in &ids {
            let mut settings = options.server_settings(*id, &links.routes_from(*id), &secret);
            let data_dir = dir.path().join(format!("server-{id}"));
            let text = |s: String| toml::Value::String(s);
            settings.insert("data_dir".into(), text(data_dir.display().to_string()));
            settings.insert("listen".into(), text("127.0.0.1:0".into()));
            settings.insert("zk_listen".into(), text("127.0.0.1:0".into()));
            settings.insert("admin_listen".into(), text("127.0.0.1:0".into()));
            settings.insert("peer_listen".into(), text("127.0.0.1:0".into()));
            let config = settings::resolve(settings)?;
            members.insert(
                *id,
                Member {
                    config,
                    handle: None,
                },
            );
        }
        let mut cluster = InProcessCluster {
            members,
            links,
            _dir: dir,
        };
        for id in &ids {
            cluster.start_member(*id).await?;
            cluster.links.target(*id, cluster.peer_addr(*id));
        }
        bootstrap(&cluster, options.voters).await?;
        Ok(cluster)
    }

    fn ids(&self) -> Vec<u64> {
        self.members.keys().copied().collect()
    }

    fn addr(&self, id: u64) -> SocketAddr {
        self.members[&id].config.listen
    }

    fn peer_addr(&self, id: u64) -> SocketAddr {
        let configured = self.members[&id].config.peer_listen;
        configured.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn zk_addr(&self, id: u64) -> Option<SocketAddr> {
        self.handle(id)?.zk_addr()
    }

    fn admin_addr(&self, id: u64) -> Option<SocketAddr> {
        self.handle(id)?.admin_addr()
    }

    fn is_running(&self, id: u64) -> bool {
        self.handle(id).is_some()
    }

    fn crash(&mut self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.stop_member(id)
    }

    fn restart(&mut self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.start_member(id)
    }

    fn stall(&self, id: u64) -> anyhow::Result<()> {
        self.links.hold(id);
        Ok(())
    }

    fn unstall(&self, id: u64) -> anyhow::Result<()> {
        self.links.release(id);
        Ok(())
    }

    fn links(&self) -> &Links {
        &self.links
    }
}

impl Drop for InProcessCluster {
    fn drop(&mut self) {
        for member in self.members.values() {
            if let Some(handle) = &member.handle {
                handle.stop();
            }
        }
    }
}
