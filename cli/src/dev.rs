//! `corral dev`: a local cluster in one process, its data under one folder.
//!
//! Server N listens on the base ports + N - 1. If a base port is taken on the
//! first run, every server gets free ports instead; the ports used are kept
//! in `<dir>/ports` so the next run finds the same cluster again (members
//! are known to each other by address).

use anyhow::{bail, Context};
use core_server::replication::raft::{AdminReply, AdminRequest, PeerNode};
use core_server::{Config, ServerError, ServerHandle};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Native and admin ports of server 1 by default; the others add their index.
const DEFAULT_PORT: u16 = 4181;
const DEFAULT_ADMIN_PORT: u16 = 8181;

fn config(dir: &Path, index: u16, servers: u16, port: u16, zk_port: u16) -> Config {
    let local = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    // The admin listener takes the default ports alongside the default
    // native ports, and free ports otherwise.
    let admin_port = if port == DEFAULT_PORT + index {
        DEFAULT_ADMIN_PORT + index
    } else {
        0
    };
    Config {
        admin_listen: Some(local(admin_port)),
        data_dir: dir.join(format!("server-{}", index + 1)),
        listen: local(port),
        zk_listen: Some(local(zk_port)),
        four_letter_words: vec!["*".to_string()],
        node_id: (servers > 1).then_some(u64::from(index) + 1),
        heartbeat_ms: 100,
        election_timeout_ms: 500,
        ..Config::default()
    }
}

fn read_ports(file: &Path) -> Option<Vec<(u16, u16)>> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .map(|line| {
            let (a, b) = line.split_once(' ')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

async fn start_all(
    dir: &Path,
    ports: &[(u16, u16)],
) -> Result<Vec<ServerHandle>, (Vec<ServerHandle>, ServerError)> {
    let servers = ports.len() as u16;
    let mut started = Vec::new();
    for (i, (port, zk_port)) in ports.iter().enumerate() {
        match core_server::start(config(dir, i as u16, servers, *port, *zk_port)).await {
            Ok(s) => started.push(s),
            Err(e) => return Err((started, e)),
        }
    }
    Ok(started)
}

/// Starts `servers` servers (a cluster when more than one) and, on a first
/// run, bootstraps the cluster; returns once a leader is elected.
pub async fn start_cluster(
    dir: &Path,
    port: u16,
    zk_port: u16,
    servers: u16,
) -> anyhow::Result<Vec<ServerHandle>> {
    if servers == 0 || servers > 9 {
        bail!("--servers must be between 1 and 9");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ports_file = dir.join("ports");
    let remembered = read_ports(&ports_file).filter(|p| p.len() == servers as usize);
    let wanted: Vec<(u16, u16)> = match &remembered {
        Some(p) => p.clone(),
        None => (0..servers)
            .map(|i| {
                let shift = |base: u16| if base == 0 { 0 } else { base.saturating_add(i) };
                (shift(port), shift(zk_port))
            })
            .collect(),
    };
    let handles = match start_all(dir, &wanted).await {
        Ok(h) => h,
        Err((started, ServerError::Bind { addr, .. })) if remembered.is_none() => {
            eprintln!("corral dev: {addr} is in use; using free ports instead");
            for s in started {
                let _ = s.shutdown().await;
            }
            let free = vec![(0, 0); servers as usize];
            start_all(dir, &free).await.map_err(|(_, e)| e)?
        }
        Err((_, e)) => return Err(e.into()),
    };
    let used: Vec<String> = handles
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h.addr().port(),
                h.zk_addr().map_or(0, |a| a.port())
            )
        })
        .collect();
    std::fs::write(&ports_file, used.join("\n"))
        .with_context(|| format!("cannot write {}", ports_file.display()))?;
    if servers > 1 {
        bootstrap(&handles).await?;
    }
    Ok(handles)
}

async fn bootstrap(handles: &[ServerHandle]) -> anyhow::Result<()> {
    let first = &handles[0];
    let known = first
        .cluster_status()
        .is_some_and(|s| !s.members.is_empty());
    if !known {
        let members: BTreeMap<u64, PeerNode> = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let node = PeerNode {
                    addr: h.addr().to_string(),
                    zk_addr: h.zk_addr().map(|a| a.to_string()),
                };
                (i as u64 + 1, node)
            })
            .collect();
        if let Some(AdminReply::Failed(reason)) =
            first.admin(AdminRequest::Initialize { members }).await
        {
            bail!("cannot bootstrap the cluster: {reason}");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let led = handles
            .iter()
            .all(|h| h.cluster_status().is_some_and(|s| s.leader.is_some()));
        if led {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no leader was elected within 15 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
