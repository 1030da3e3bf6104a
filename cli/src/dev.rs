//! `corral dev`: a local cluster in one process, its data under one folder.
//!
//! Server N listens on the base ports + N - 1 (its peer listener on a free
//! port). If a base port is taken on the first run, every server gets free
//! ports instead; the ports used are kept in `<dir>/ports` so the next run
//! finds the same cluster again (members are known to each other by
//! address). The cluster secret (`<dir>/cluster-secret`) and the super
//! user's password (`<dir>/admin-password`) are drawn on the first run.

use anyhow::{bail, Context};
use core_server::replication::raft::{AdminReply, AdminRequest, PeerNode};
use core_server::{Config, ServerError, ServerHandle};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Ports of one dev server: native, ZooKeeper, peer (0: a free one).
type Ports = (u16, u16, u16);

/// What every dev server shares: the secret file, the super digest, and
/// with `--tls` the dev PKI.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The cluster secret's file.
    pub secret_file: PathBuf,
    /// The super user's password.
    pub password: String,
    /// The dev CA and certificates (`--tls`).
    pub pki: Option<crate::dev_tls::DevPki>,
}

impl Credentials {
    /// Reads the dev cluster's credentials under `dir`, drawing them on the
    /// first run (files readable by the owner only).
    fn load_or_create(dir: &Path, tls: bool) -> anyhow::Result<Credentials> {
        let secret_file = dir.join("cluster-secret");
        let password_file = dir.join("admin-password");
        for file in [&secret_file, &password_file] {
            if !file.exists() {
                write_private(file, &random_hex())?;
            }
        }
        let password = std::fs::read_to_string(&password_file)
            .with_context(|| format!("cannot read {}", password_file.display()))?
            .trim()
            .to_string();
        let pki = match tls {
            true => Some(crate::dev_tls::DevPki::load_or_create(&dir.join("tls"))?),
            false => None,
        };
        Ok(Credentials {
            secret_file,
            password,
            pki,
        })
    }

    /// The super user's digest id.
    fn super_digest(&self) -> Option<String> {
        core_server::tree::acl::digest_id(&format!("super:{}", self.password))
    }
}

fn random_hex() -> String {
    use std::fmt::Write as _;
    let bytes: [u8; 24] = rand::random();
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn write_private(file: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .with_context(|| format!("cannot create {}", file.display()))?;
    writeln!(out, "{text}").with_context(|| format!("cannot write {}", file.display()))
}

/// Native and admin ports of server 1 by default; the others add their index.
const DEFAULT_PORT: u16 = 4181;
const DEFAULT_ADMIN_PORT: u16 = 8181;
/// ZooKeeper secure port of server 1 with `--tls` (ZooKeeper's customary 2281).
const DEFAULT_SECURE_PORT: u16 = 2281;

fn config(dir: &Path, index: u16, servers: u16, ports: Ports, credentials: &Credentials) -> Config {
    let (port, zk_port, peer_port) = ports;
    let local = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    // The admin listener takes the default ports alongside the default
    // native ports, and free ports otherwise.
    let defaults = port == DEFAULT_PORT + index;
    let admin_port = if defaults {
        DEFAULT_ADMIN_PORT + index
    } else {
        0
    };
    let config = Config {
        admin_listen: Some(local(admin_port)),
        data_dir: dir.join(format!("server-{}", index + 1)),
        listen: local(port),
        zk_listen: Some(local(zk_port)),
        four_letter_words: vec!["*".to_string()],
        node_id: (servers > 1).then_some(u64::from(index) + 1),
        heartbeat_ms: 100,
        election_timeout_ms: 500,
        peer_listen: Some(local(peer_port)),
        cluster_secret_file: Some(credentials.secret_file.clone()),
        super_digest: credentials.super_digest(),
        ..Config::default()
    };
    match &credentials.pki {
        Some(pki) => pki.apply(
            config,
            if defaults {
                DEFAULT_SECURE_PORT + index
            } else {
                0
            },
        ),
        None => config,
    }
}

fn read_ports(file: &Path) -> Option<Vec<Ports>> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .map(|line| {
            let mut parts = line.split(' ').map(|p| p.parse::<u16>().ok());
            Some((parts.next()??, parts.next()??, parts.next()??))
        })
        .collect()
}

async fn start_all(
    dir: &Path,
    ports: &[Ports],
    credentials: &Credentials,
) -> Result<Vec<ServerHandle>, (Vec<ServerHandle>, ServerError)> {
    let servers = ports.len() as u16;
    let mut started = Vec::new();
    for (i, ports) in ports.iter().enumerate() {
        match core_server::start(config(dir, i as u16, servers, *ports, credentials)).await {
            Ok(s) => started.push(s),
            Err(e) => return Err((started, e)),
        }
    }
    Ok(started)
}

/// Starts `servers` servers (a cluster when more than one) and, on a first
/// run, bootstraps the cluster; returns once a leader is elected, with the
/// credentials the servers share.
pub async fn start_cluster(
    dir: &Path,
    port: u16,
    zk_port: u16,
    servers: u16,
    tls: bool,
) -> anyhow::Result<(Vec<ServerHandle>, Credentials)> {
    if servers == 0 || servers > 9 {
        bail!("--servers must be between 1 and 9");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let credentials = Credentials::load_or_create(dir, tls)?;
    let ports_file = dir.join("ports");
    let remembered = read_ports(&ports_file).filter(|p| p.len() == servers as usize);
    let wanted: Vec<Ports> = match &remembered {
        Some(p) => p.clone(),
        None => (0..servers)
            .map(|i| {
                let shift = |base: u16| if base == 0 { 0 } else { base.saturating_add(i) };
                (shift(port), shift(zk_port), 0)
            })
            .collect(),
    };
    let handles = match start_all(dir, &wanted, &credentials).await {
        Ok(h) => h,
        Err((started, ServerError::Bind { addr, .. })) if remembered.is_none() => {
            eprintln!("corral dev: {addr} is in use; using free ports instead");
            for s in started {
                let _ = s.shutdown().await;
            }
            let free = vec![(0, 0, 0); servers as usize];
            start_all(dir, &free, &credentials)
                .await
                .map_err(|(_, e)| e)?
        }
        Err((_, e)) => return Err(e.into()),
    };
    let used: Vec<String> = handles
        .iter()
        .map(|h| {
            format!(
                "{} {} {}",
                h.addr().port(),
                h.zk_addr().map_or(0, |a| a.port()),
                h.peer_addr().map_or(0, |a| a.port())
            )
        })
        .collect();
    std::fs::write(&ports_file, used.join("\n"))
        .with_context(|| format!("cannot write {}", ports_file.display()))?;
    if servers > 1 {
        bootstrap(&handles).await?;
    }
    Ok((handles, credentials))
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
                    addr: h.peer_addr().map(|a| a.to_string()).unwrap_or_default(),
                    zk_addr: h.zk_addr().map(|a| a.to_string()),
                    client_addr: Some(h.addr().to_string()),
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
