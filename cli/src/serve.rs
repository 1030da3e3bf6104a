//! `corral serve` and `corral dev`.

use super::signals::StopSignals;
use anyhow::Context;
use clap::Args;
use core_server::config::settings::{self, Settings};
use core_server::Config;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Flags of `corral serve`; each overrides the TOML file, which overrides defaults.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML file with settings (keys as in `Config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the log and snapshots live.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Native gRPC API address.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// ZooKeeper-protocol listener address (default 127.0.0.1:2181).
    #[arg(long)]
    zk_listen: Option<SocketAddr>,
    /// Turn the ZooKeeper-protocol listener off.
    #[arg(long)]
    no_zk: bool,
    /// Admin HTTP listener (`/livez`, `/readyz`, `/status`, `/metrics`,
    /// `/commands/NAME`; default 127.0.0.1:8181).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Turn the admin HTTP listener off.
    #[arg(long)]
    no_admin: bool,
    /// A member is ready (`/readyz`) while it has applied to within this
    /// many entries of its log's end.
    #[arg(long)]
    ready_lag_entries: Option<u64>,
    /// Super user digest id, `super:base64(sha1(super:password))`.
    #[arg(long)]
    super_digest: Option<String>,
    /// Four-letter words to answer (comma separated, `*` for all).
    #[arg(long, value_delimiter = ',')]
    four_letter_words: Option<Vec<String>>,
    /// ZooKeeper's tickTime in ms (session timeout bounds are 2 and 20 ticks).
    #[arg(long)]
    tick_ms: Option<u32>,
    /// Smallest session timeout granted, ms.
    #[arg(long)]
    min_session_timeout_ms: Option<u32>,
    /// Largest session timeout granted, ms.
    #[arg(long)]
    max_session_timeout_ms: Option<u32>,
    /// Largest node data, bytes.
    #[arg(long)]
    max_data_bytes: Option<usize>,
    /// Longest request frame on the ZooKeeper ports, bytes (ZooKeeper's
    /// jute.maxbuffer, default 1048575; a longer frame closes the connection).
    #[arg(long)]
    jute_maxbuffer_bytes: Option<usize>,
    /// Answer on the ZooKeeper ports as this ZooKeeper release does where
    /// releases differ: 3.9 (default) or 3.8 (3.8.0 exactly).
    #[arg(long)]
    zk_compat: Option<core_server::config::ZkCompat>,
    /// Read-only mode (ZooKeeper's readonlymode.enabled): when cut off from
    /// the quorum, keep serving reads to clients that allow read-only.
    #[arg(long)]
    read_only_mode: bool,
    /// Refuse creates and setData that go over a hard quota limit with
    /// QuotaExceeded (ZooKeeper's zookeeper.enforceQuota; default off).
    #[arg(long)]
    enforce_quota: bool,
    /// Snapshot and truncate the log every N entries.
    #[arg(long)]
    snapshot_every: Option<u64>,
    /// Container/TTL reaper interval, ms.
    #[arg(long)]
    container_check_ms: Option<u64>,
    /// Cluster mode: this server's id (without it, a standalone server).
    #[arg(long)]
    id: Option<u64>,
    /// A bootstrap voter, `ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]`
    /// (repeat for each; every member gets the same list): the address its
    /// peers dial, and the client addresses it advertises. Without any, a
    /// cluster member waits for `corral admin init` or `corral admin add`.
    #[arg(long = "member")]
    members: Vec<core_server::config::Member>,
    /// Leader heartbeat interval, ms.
    #[arg(long)]
    heartbeat_ms: Option<u64>,
    /// Smallest election timeout, ms (the largest is twice this).
    #[arg(long)]
    election_timeout_ms: Option<u64>,
    /// How long a write waits to commit and apply before ConnectionLoss, ms.
    #[arg(long)]
    write_timeout_ms: Option<u64>,
    /// Most connections from one client IP (ZooKeeper's maxClientCnxns; 0: no limit).
    #[arg(long)]
    max_client_cnxns: Option<usize>,
    /// Bytes queued for a client that does not read before it is disconnected.
    #[arg(long)]
    connection_queue_bytes: Option<usize>,
    /// How long a new connection may take to complete its handshake, ms.
    #[arg(long)]
    handshake_timeout_ms: Option<u64>,
    /// How long a started request frame may take to arrive whole, ms.
    #[arg(long)]
    frame_timeout_ms: Option<u64>,
    /// Bytes of partly received frames held across all connections.
    #[arg(long)]
    partial_frame_bytes: Option<usize>,
    /// Bytes of log kept past the last snapshot (a standalone server snapshots after half).
    #[arg(long)]
    log_retained_bytes: Option<usize>,
    /// Bytes of Raft log records waiting for the disk (cluster members).
    #[arg(long)]
    log_write_queue_bytes: Option<usize>,
    /// Bytes of the newest Raft log entries kept in memory (older ones are read from disk).
    #[arg(long)]
    log_cache_bytes: Option<usize>,
    /// Dial peer ID at HOST:PORT instead of its advertised address,
    /// `ID=HOST:PORT` (repeatable; for relays and fault-injection tests).
    #[arg(long = "peer-route")]
    peer_routes: Vec<core_server::config::Member>,
    /// Peer listener of a cluster member (Raft and forwarded writes; never
    /// served on the client ports). Required with `--id`.
    #[arg(long)]
    peer_listen: Option<SocketAddr>,
    /// File holding the cluster secret (at least 16 bytes) that members
    /// prove to each other. Required with `--id`; the same on every member.
    #[arg(long)]
    cluster_secret_file: Option<PathBuf>,
    /// An identity allowed to run operator commands beside the super user
    /// (`digest:USER:HASH`, `x509:CN=...`; repeatable).
    #[arg(long = "admin-identity")]
    admin_identities: Vec<String>,
    /// The ZooKeeper protocol over TLS (ZooKeeper's secureClientPort),
    /// HOST:PORT; needs --tls-cert and --tls-key.
    #[arg(long)]
    zk_secure_listen: Option<SocketAddr>,
    /// PEM certificate chain (the server's first): makes the native listener TLS only, and serves --zk-secure-listen.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// PEM bundle of client CAs: TLS clients must then present a
    /// certificate one of them signed (mutual TLS).
    #[arg(long)]
    tls_client_ca: Option<PathBuf>,
    /// Lowest TLS version offered: 1.2 (default) or 1.3.
    #[arg(long)]
    tls_min_version: Option<String>,
    /// How often the TLS files are checked for changes, ms (SIGHUP re-reads them too).
    #[arg(long)]
    tls_reload_ms: Option<u64>,
    /// Most TLS handshakes under way at once on the native listener.
    #[arg(long)]
    max_tls_handshakes: Option<usize>,
    /// The x509 id (subject DN, RFC 2253) that is the super user.
    #[arg(long)]
    x509_super_user: Option<String>,
    /// PEM certificate chain this member presents to its peers (mutual TLS
    /// on the peer plane; with --peer-tls-key and --peer-tls-ca).
    #[arg(long)]
    peer_tls_cert: Option<PathBuf>,
    /// PEM private key of --peer-tls-cert.
    #[arg(long)]
    peer_tls_key: Option<PathBuf>,
    /// PEM bundle of the cluster CA that signs every member's certificate.
    #[arg(long)]
    peer_tls_ca: Option<PathBuf>,
    /// SASL DIGEST-MD5 users: a JAAS file whose `Server` section names them
    /// as `user_NAME="password"` (ZooKeeper's java.security.auth.login.config).
    #[arg(long = "sasl-users")]
    sasl_users_file: Option<PathBuf>,
    /// The JAAS section read (ZooKeeper's zookeeper.sasl.serverconfig; default Server).
    #[arg(long)]
    sasl_server_section: Option<String>,
    /// A SASL user with super rights (ZooKeeper's zookeeper.superUser).
    #[arg(long)]
    sasl_super_user: Option<String>,
}

impl ServeArgs {
    /// The flags given, as settings keyed like `Config` (and the TOML file).
    fn settings(&self) -> anyhow::Result<Settings> {
        let mut t = Settings::new();
        put(&mut t, "data_dir", &self.data_dir)?;
        put(&mut t, "listen", &self.listen.map(|a| a.to_string()))?;
        put(&mut t, "zk_listen", &self.zk_listen.map(|a| a.to_string()))?;
        if self.no_zk {
            put(&mut t, "zk_listen", &Some("off"))?;
        }
        put(
            &mut t,
            "admin_listen",
            &self.admin_listen.map(|a| a.to_string()),
        )?;
        if self.no_admin {
            put(&mut t, "admin_listen", &Some("off"))?;
        }
        put(&mut t, "ready_lag_entries", &self.ready_lag_entries)?;
        put(&mut t, "super_digest", &self.super_digest)?;
        put(&mut t, "four_letter_words", &self.four_letter_words)?;
        put(&mut t, "tick_ms", &self.tick_ms)?;
        put(
            &mut t,
            "min_session_timeout_ms",
            &self.min_session_timeout_ms,
        )?;
        put(
            &mut t,
            "max_session_timeout_ms",
            &self.max_session_timeout_ms,
        )?;
        put(&mut t, "max_data_bytes", &self.max_data_bytes)?;
        put(&mut t, "jute_maxbuffer_bytes", &self.jute_maxbuffer_bytes)?;
        put(&mut t, "zk_compat", &self.zk_compat)?;
        put(
            &mut t,
            "read_only_mode",
            &self.read_only_mode.then_some(true),
        )?;
        if self.enforce_quota {
            put(&mut t, "enforce_quota", &Some(true))?;
        }
        put(&mut t, "max_connections_per_ip", &self.max_client_cnxns)?;
        put(
            &mut t,
            "connection_queue_bytes",
            &self.connection_queue_bytes,
        )?;
        put(&mut t, "handshake_timeout_ms", &self.handshake_timeout_ms)?;
        put(&mut t, "frame_timeout_ms", &self.frame_timeout_ms)?;
        put(&mut t, "partial_frame_bytes", &self.partial_frame_bytes)?;
        put(&mut t, "log_retained_bytes", &self.log_retained_bytes)?;
        put(&mut t, "log_write_queue_bytes", &self.log_write_queue_bytes)?;
        put(&mut t, "log_cache_bytes", &self.log_cache_bytes)?;
        put(&mut t, "snapshot_every", &self.snapshot_every)?;
        put(&mut t, "container_check_ms", &self.container_check_ms)?;
        put(&mut t, "node_id", &self.id)?;
        put(
            &mut t,
            "members",
            &Some(&self.members).filter(|m| !m.is_empty()),
        )?;
        put(&mut t, "heartbeat_ms", &self.heartbeat_ms)?;
        put(&mut t, "election_timeout_ms", &self.election_timeout_ms)?;
        put(&mut t, "write_timeout_ms", &self.write_timeout_ms)?;
        put(
            &mut t,
            "peer_routes",
            &Some(&self.peer_routes).filter(|m| !m.is_empty()),
        )?;
        put(
            &mut t,
            "peer_listen",
            &self.peer_listen.map(|a| a.to_string()),
        )?;
        put(&mut t, "cluster_secret_file", &self.cluster_secret_file)?;
        put(
            &mut t,
            "admin_identities",
            &Some(&self.admin_identities).filter(|m| !m.is_empty()),
        )?;
        put(
            &mut t,
            "zk_secure_listen",
            &self.zk_secure_listen.map(|a| a.to_string()),
        )?;
        put(&mut t, "tls_cert", &self.tls_cert)?;
        put(&mut t, "tls_key", &self.tls_key)?;
        put(&mut t, "tls_client_ca", &self.tls_client_ca)?;
        put(&mut t, "tls_min_version", &self.tls_min_version)?;
        put(&mut t, "tls_reload_ms", &self.tls_reload_ms)?;
        put(&mut t, "max_tls_handshakes", &self.max_tls_handshakes)?;
        put(&mut t, "x509_super_user", &self.x509_super_user)?;
        put(&mut t, "peer_tls_cert", &self.peer_tls_cert)?;
        put(&mut t, "peer_tls_key", &self.peer_tls_key)?;
        put(&mut t, "peer_tls_ca", &self.peer_tls_ca)?;
        put(&mut t, "sasl_users_file", &self.sasl_users_file)?;
        put(&mut t, "sasl_server_section", &self.sasl_server_section)?;
        put(&mut t, "sasl_super_user", &self.sasl_super_user)?;
        Ok(t)
    }

    /// The file's settings overridden by `CORRAL_<KEY>` environment
    /// variables, overridden by the flags, through the one path every
    /// configuration takes (`core_server::config::settings`).
    fn into_config(self) -> anyhow::Result<Config> {
        self.into_config_with_env(std::env::vars())
    }

    /// [`Self::into_config`] with the given environment.
    fn into_config_with_env(
        self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => settings::read_file(path)?,
            None => Settings::new(),
        };
        let env = settings::from_env(env);
        let flags = self.settings()?;
        Ok(settings::resolve(settings::merge([file, env, flags]))?)
    }
}

/// Sets `key` to `value` when the flag was given.
fn put<T: serde::Serialize>(t: &mut Settings, key: &str, value: &Option<T>) -> anyhow::Result<()> {
    if let Some(value) = value {
        let value = toml::Value::try_from(value).with_context(|| format!("flag for {key}"))?;
        t.insert(key.to_string(), value);
    }
    Ok(())
}

/// Flags of `corral dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Folder for all local data (one sub-folder per server).
    #[arg(long, default_value = "corral-dev")]
    dir: PathBuf,
    /// Native API port of server 1; servers 2 and 3 use the next ones (0: free ports).
    #[arg(long, default_value_t = 4181)]
    port: u16,
    /// ZooKeeper-protocol port of server 1; the others use the next ones (0: free ports).
    #[arg(long, default_value_t = 2181)]
    zk_port: u16,
    /// Number of servers (1 runs a standalone server).
    #[arg(long, default_value_t = 3)]
    servers: u16,
    /// Mutual TLS on every client port, with a throwaway CA and certificates
    /// made under `<dir>/tls` (and a ZooKeeper secure port beside the plain one).
    #[arg(long)]
    tls: bool,
}

/// Prints a line to stdout, ignoring a closed pipe: a server must not die
/// because whoever started it stopped reading its output.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Runs one server until SIGTERM or SIGINT.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut signals = StopSignals::install().context("cannot install signal handlers")?;
    let config = args.into_config()?;
    let server = core_server::start(config)
        .await
        .context("cannot start the server")?;
    // Machine-readable lines so scripts and test harnesses learn the ports;
    // `listening:` comes last.
    if let Some(zk) = server.zk_addr() {
        say!("zookeeper: {zk}");
    }
    if let Some(secure) = server.zk_secure_addr() {
        say!("zookeeper-secure: {secure}");
    }
    if let Some(admin) = server.admin_addr() {
        say!("admin: http://{admin}");
    }
    if let Some(peer) = server.peer_addr() {
        say!("peer: {peer}");
    }
    say!("listening: {}", server.addr());
    tokio::select! {
        signal = signals.recv() => tracing::info!(signal, "stopping"),
        _ = server.stopped() => {}
    }
    server
        .shutdown()
        .await
        .context("server stopped with an error")
}

/// Runs a local cluster (3 servers by default) in this process, with all
/// data under one folder, and prints how to connect.
pub async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let mut signals = StopSignals::install().context("cannot install signal handlers")?;
    let (servers, credentials) =
        super::dev::start_cluster(&args.dir, args.port, args.zk_port, args.servers, args.tls)
            .await
            .context("cannot start the dev cluster")?;
    let native: Vec<String> = servers.iter().map(|s| s.addr().to_string()).collect();
    let zk: Vec<String> = servers
        .iter()
        .filter_map(|s| s.zk_addr().map(|a| a.to_string()))
        .collect();
    say!(
        "corral dev: {} server(s), data under {}",
        servers.len(),
        args.dir.display()
    );
    say!("connect: {}", native.join(","));
    say!(
        "zookeeper connect: {}   (for ZooKeeper clients, e.g. zkCli.sh -server {})",
        zk.join(","),
        zk.join(",")
    );
    let admin: Vec<String> = servers
        .iter()
        .filter_map(|s| s.admin_addr().map(|a| format!("http://{a}")))
        .collect();
    if !admin.is_empty() {
        say!(
            "admin:   {}   (/ui, /status, /readyz, /metrics, /commands)",
            admin.join(" ")
        );
    }
    match &credentials.pki {
        None => {
            say!("try:     corral --server {} ls /", native.join(","));
            say!("         corral --server {} admin status", native[0]);
        }
        Some(pki) => {
            let secure: Vec<String> = servers
                .iter()
                .filter_map(|s| s.zk_secure_addr().map(|a| a.to_string()))
                .collect();
            for line in pki.instructions(&native.join(","), &secure.join(",")) {
                say!("{line}");
            }
        }
    }
    say!(
        "admin auth: super:{}   (corral admin --auth super:..., zkCli addauth digest super:...; kept in {})",
        credentials.password,
        args.dir.join("admin-password").display()
    );
    say!("stop with Ctrl-C (or SIGTERM)");
    let any_stopped = futures::future::select_all(servers.iter().map(|s| Box::pin(s.stopped())));
    tokio::select! {
        signal = signals.recv() => tracing::info!(signal, "stopping"),
        _ = any_stopped => {}
    }
    // Stop all first, then wait: each server's shutdown must not wait on a
    // peer that has not been told to stop yet.
    for server in &servers {
        server.stop();
    }
    let mut failed = None;
    for server in servers {
        if let Err(e) = server.wait().await {
            failed = Some(e);
        }
    }
    match failed {
        Some(e) => Err(e).context("a server stopped with an error"),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
