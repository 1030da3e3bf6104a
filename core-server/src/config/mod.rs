//! One typed, validated server configuration, from flags or a TOML file
//! (both through [`settings`]).

mod compat;
mod sasl;
pub mod settings;
mod tls;

pub use compat::ZkCompat;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// ZooKeeper's default `jute.maxbuffer` (0xfffff): the default longest
/// request frame on the ZooKeeper ports.
pub const DEFAULT_JUTE_MAXBUFFER_BYTES: usize = 0xfffff;

/// Everything a server needs to know; passed down explicitly, never read from globals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the write-ahead log and snapshots live.
    pub data_dir: PathBuf,
    /// Address of the native gRPC API.
    pub listen: SocketAddr,
    /// ZooKeeper's tickTime: the unit of the session timeout bounds.
    pub tick_ms: u32,
    /// Smallest session timeout granted (default 2 ticks).
    pub min_session_timeout_ms: u32,
    /// Largest session timeout granted (default 20 ticks).
    pub max_session_timeout_ms: u32,
    /// Largest node data in bytes (default 1 MiB), on both front ends; on
    /// the ZooKeeper ports the frame limit (`jute_maxbuffer_bytes`) binds
    /// first at the defaults.
    pub max_data_bytes: usize,
    /// Largest native API request message in bytes (default 1 MiB + 64 KiB);
    /// a larger one ends the stream. Also the bound of a multi's encoded ops
    /// and of one request in the queues, so at least `jute_maxbuffer_bytes`.
    pub max_request_bytes: usize,
    /// ZooKeeper's `jute.maxbuffer`: the longest request frame (its length
    /// prefix excluded) the ZooKeeper ports accept, default 1,048,575 bytes
    /// (0xfffff, ZooKeeper's default, so 1 MiB of data is already over). A
    /// longer frame closes the connection without a reply, as ZooKeeper
    /// does; the session stays and may be reattached, that connection's
    /// watches go with it.
    pub jute_maxbuffer_bytes: usize,
    /// The ZooKeeper release the ZooKeeper ports answer like where releases
    /// differ (`"3.9"`, the default, or `"3.8"`).
    pub zk_compat: ZkCompat,
    /// Read-only mode (ZooKeeper's `readonlymode.enabled`): a cluster member
    /// cut off from the quorum keeps serving reads to sessions that asked
    /// for read-only (`canBeReadOnly`), refusing their writes with
    /// NotReadOnly, until the quorum returns. Off by default, as in ZooKeeper.
    pub read_only_mode: bool,
    /// Refuse a create or setData that goes over a hard quota limit (the
    /// `countHardLimit` / `byteHardLimit` of a `/zookeeper/quota` limits
    /// node) with QuotaExceeded: ZooKeeper's `zookeeper.enforceQuota`,
    /// default off as there. Each write is judged by the setting of the
    /// server that takes it, so set it alike on every member.
    pub enforce_quota: bool,
    /// Longest path in bytes.
    pub max_path_bytes: usize,
    /// Most live sessions this server accepts.
    pub max_sessions: usize,
    /// Most concurrent client connections.
    pub max_connections: usize,
    /// Write a snapshot (and truncate the log behind it) every this many entries.
    pub snapshot_every: u64,
    /// How often the container/TTL reaper runs.
    pub container_check_ms: u64,
    /// How many recent zxids of watch history are kept for resumable watches.
    pub history_entries: usize,
    /// At most this many bytes of watch history are kept.
    pub history_bytes: usize,
    /// Frames buffered per connection before a slow reader is disconnected.
    pub connection_queue: usize,
    /// Bytes buffered per connection (replies, events) before a slow reader
    /// is disconnected; one item larger than this is still delivered alone.
    pub connection_queue_bytes: usize,
    /// Most connections from one client IP on each client port, as
    /// ZooKeeper's `maxClientCnxns` (0: no limit).
    pub max_connections_per_ip: usize,
    /// How long a new connection may take to complete its handshake.
    pub handshake_timeout_ms: u64,
    /// How long a request frame, once its first byte arrived, may take to
    /// arrive whole.
    pub frame_timeout_ms: u64,
    /// Bytes of partly received request frames held across all connections;
    /// a connection whose frame does not fit is closed.
    pub partial_frame_bytes: usize,
    /// ZooKeeper wire protocol listener (`None`: off; `"off"` in a file).
    #[serde(with = "listener")]
    pub zk_listen: Option<SocketAddr>,
    /// Admin HTTP listener: `/livez`, `/readyz`, `/status`, `/metrics`,
    /// `/commands/NAME` (`None`: off; `"off"` in a file). Loopback by default.
    #[serde(with = "listener")]
    pub admin_listen: Option<SocketAddr>,
    /// Web console (`/ui` on the admin listener): most bytes of change
    /// events queued for one open node page; a page that falls behind is
    /// dropped (its browser reconnects) instead of growing memory.
    pub ui_event_queue_bytes: usize,
    /// Web console: most node pages with live updates open at once (each
    /// holds a session and a persistent watch while open).
    pub ui_live_pages: usize,
    /// Web console: most logged-in browsers remembered (each about 1 KiB:
    /// its `user:password`, at most 512 bytes, and two tokens); the oldest
    /// login is forgotten first.
    pub ui_logins: usize,
    /// Web console: samples kept for the live charts, one a second (each
    /// 64 bytes); 300 is five minutes.
    pub ui_chart_samples: usize,
    /// A cluster member is ready (`/readyz`) only while it has applied to
    /// within this many entries of its log's end.
    pub ready_lag_entries: u64,
    /// Digest id (`super:base64(sha1(super:password))`) of the super user.
    pub super_digest: Option<String>,
    /// Four-letter words answered on the ZooKeeper port (`*` = all), as
    /// ZooKeeper's `4lw.commands.whitelist` (default `srvr`).
    pub four_letter_words: Vec<String>,
    /// Cluster mode: this server's id (`None`: a standalone server).
    pub node_id: Option<u64>,
    /// Voters used to bootstrap a new cluster (ignored once the log holds a
    /// membership). Empty: wait to be initialized or added by an operator.
    pub members: Vec<Member>,
    /// Leader heartbeat interval in a cluster.
    pub heartbeat_ms: u64,
    /// Smallest election timeout (the largest is twice this).
    pub election_timeout_ms: u64,
    /// How long a write waits to be committed and applied on this server
    /// before the client is told the outcome is unknown (ConnectionLoss).
    pub write_timeout_ms: u64,
    /// Most proposals waiting in each cluster write queue (the leader's
    /// batcher, a follower's forwarder); a full queue makes writers wait.
    pub proposal_queue: usize,
    /// Most bytes of proposals waiting in each cluster write queue.
    pub proposal_queue_bytes: usize,
    /// Most bytes of Raft log entries a cluster member keeps (in memory and
    /// on disk) past its last snapshot: beyond it a snapshot is taken and the
    /// log purged, whatever the write volume. A standalone server snapshots
    /// (and truncates its log) after half of it.
    pub log_retained_bytes: usize,
    /// Most bytes of Raft log records a member holds for its log writer
    /// before they are on disk: past it, appends wait for the disk.
    pub log_write_queue_bytes: usize,
    /// Most bytes of the newest Raft log entries a member keeps in memory
    /// (for replication to followers that keep up, and for apply); older
    /// entries are read back from disk when a lagging follower needs them.
    pub log_cache_bytes: usize,
    /// Where to dial a peer instead of its advertised address (`ID=HOST:PORT`
    /// each): a relay, or a fault-injecting proxy in tests.
    pub peer_routes: Vec<Member>,
    /// The peer listener of a cluster member (Raft, forwarded writes, read
    /// indexes): required in a cluster; the client listeners serve no peer
    /// call (`None`: off; `"off"` in a file).
    #[serde(with = "listener")]
    pub peer_listen: Option<SocketAddr>,
    /// A file holding the cluster secret (at least 16 bytes) that peers
    /// prove to each other on every peer connection: required in a cluster.
    pub cluster_secret_file: Option<PathBuf>,
    /// Identities (`scheme:id`, as in ACLs: `digest:ops:HASH`, `x509:CN=ops`)
    /// allowed to run operator commands beside the super user.
    pub admin_identities: Vec<String>,
    /// The ZooKeeper protocol over TLS, as ZooKeeper's `secureClientPort`
    /// (`None`: off; `"off"` in a file). Needs `tls_cert` and `tls_key`.
    #[serde(with = "listener")]
    pub zk_secure_listen: Option<SocketAddr>,
    /// PEM certificate chain, the server's own first: set, the native
    /// listener is TLS only, and `zk_secure_listen` can serve.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// PEM bundle of client CAs: when set, TLS clients must present a
    /// certificate one of them signed (mutual TLS).
    pub tls_client_ca: Option<PathBuf>,
    /// Lowest TLS version offered: `"1.2"` or `"1.3"` (never lower).
    pub tls_min_version: String,
    /// Most TLS handshakes under way at once on the native listener; a
    /// connection beyond that is closed at once (each handshake holds a
    /// few tens of KiB until it finishes or `handshake_timeout_ms` passes).
    pub max_tls_handshakes: usize,
    /// How often the TLS files are checked for changes (they are also
    /// re-read on SIGHUP).
    pub tls_reload_ms: u64,
    /// The `x509` id (subject DN, RFC 2253) of the super user, as ZooKeeper's
    /// `zookeeper.X509AuthenticationProvider.superUser`.
    pub x509_super_user: Option<String>,
    /// PEM certificate chain this member presents to its peers (mutual TLS
    /// on the peer plane, with `peer_tls_key` and `peer_tls_ca`).
    pub peer_tls_cert: Option<PathBuf>,
    /// PEM private key of `peer_tls_cert`.
    pub peer_tls_key: Option<PathBuf>,
    /// PEM bundle of the cluster CA: a peer's certificate must verify
    /// against it, both ways.
    pub peer_tls_ca: Option<PathBuf>,
    /// SASL DIGEST-MD5 users: a JAAS file whose `sasl_server_section` lists
    /// them as `user_NAME="password"` (ZooKeeper's
    /// `java.security.auth.login.config`). `None`: SASL is not configured.
    pub sasl_users_file: Option<PathBuf>,
    /// The JAAS section read (ZooKeeper's `zookeeper.sasl.serverconfig`).
    pub sasl_server_section: String,
    /// A SASL user who is the super user (ZooKeeper's `zookeeper.superUser`).
    pub sasl_super_user: Option<String>,
}

/// A cluster member as configured:
/// `ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]`: the address its
/// peers dial (its `peer_listen`), and the client addresses it advertises
/// for connect strings. (`--peer-route` takes the first part only.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The member's id.
    pub id: u64,
    /// Its peer address.
    pub addr: String,
    /// Its ZooKeeper-protocol address, if any.
    #[serde(default)]
    pub zk_addr: Option<String>,
    /// Its native API address, if any.
    #[serde(default)]
    pub client_addr: Option<String>,
}

impl Member {
    /// The member's addresses, as the cluster's membership holds them.
    pub fn peer_node(&self) -> proto::admin::PeerNode {
        proto::admin::PeerNode {
            addr: self.addr.clone(),
            zk_addr: self.zk_addr.clone(),
            client_addr: self.client_addr.clone(),
        }
    }
}

/// The member syntax, for error messages.
const MEMBER_SYNTAX: &str = "expected ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]";

impl std::str::FromStr for Member {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason| ConfigError::Invalid {
            name: "members",
            reason,
        };
        let (id, addrs) = text.split_once('=').ok_or(bad(MEMBER_SYNTAX))?;
        let id: u64 = id.trim().parse().map_err(|_| bad(MEMBER_SYNTAX))?;
        if addrs.contains('/') {
            return Err(bad(
                "the ID=NATIVE/ZK form is gone: members are given by their peer address, \
                 ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]",
            ));
        }
        let mut parts = addrs.split(',');
        let addr = parts.next().unwrap_or_default().trim().to_string();
        if addr.is_empty() || addr.contains('=') {
            return Err(bad(MEMBER_SYNTAX));
        }
        let mut member = Member {
            id,
            addr,
            zk_addr: None,
            client_addr: None,
        };
        for part in parts {
            let slot = match part.split_once('=') {
                Some(("client", a)) => (&mut member.client_addr, a),
                Some(("zk", a)) => (&mut member.zk_addr, a),
                _ => return Err(bad(MEMBER_SYNTAX)),
            };
            if slot.0.is_some() || slot.1.trim().is_empty() {
                return Err(bad(MEMBER_SYNTAX));
            }
            *slot.0 = Some(slot.1.trim().to_string());
        }
        Ok(member)
    }
}

impl Default for Config {
    fn default() -> Self {
        let tick_ms = 2000;
        Config {
            data_dir: PathBuf::from("corral-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 4181)),
            tick_ms,
            min_session_timeout_ms: 2 * tick_ms,
            max_session_timeout_ms: 20 * tick_ms,
            max_data_bytes: proto::DEFAULT_MAX_DATA_BYTES,
            max_request_bytes: proto::DEFAULT_MAX_DATA_BYTES + 64 * 1024,
            jute_maxbuffer_bytes: DEFAULT_JUTE_MAXBUFFER_BYTES,
            zk_compat: ZkCompat::default(),
            read_only_mode: false,
            enforce_quota: false,
            max_path_bytes: 4096,
            max_sessions: 60_000,
            max_connections: 10_000,
            snapshot_every: 100_000,
            container_check_ms: 60_000,
            history_entries: 100_000,
            history_bytes: 8 << 20,
            connection_queue: 4096,
            connection_queue_bytes: 4 << 20,
            max_connections_per_ip: 60,
            handshake_timeout_ms: 10_000,
            frame_timeout_ms: 10_000,
            partial_frame_bytes: 64 << 20,
            zk_listen: Some(SocketAddr::from(([127, 0, 0, 1], 2181))),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8181))),
            ui_event_queue_bytes: 64 << 10,
            ui_live_pages: 32,
            ui_logins: 256,
            ui_chart_samples: 300,
            ready_lag_entries: 1000,
            super_digest: None,
            four_letter_words: vec!["srvr".to_string()],
            node_id: None,
            members: Vec::new(),
            heartbeat_ms: 100,
            election_timeout_ms: 500,
            write_timeout_ms: 10_000,
            peer_routes: Vec::new(),
            proposal_queue: 4096,
            proposal_queue_bytes: 64 << 20,
            log_retained_bytes: 256 << 20,
            log_write_queue_bytes: 64 << 20,
            // As much as the log may hold (`log_retained_bytes`): below it,
            // a follower that falls behind the cache under a heavy write load
            // is caught up through disk reads queued behind the leader's
            // appends, slowly enough to miss heartbeats (decision 0015).
            log_cache_bytes: 256 << 20,
            peer_listen: None,
            cluster_secret_file: None,
            admin_identities: Vec::new(),
            zk_secure_listen: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tls_min_version: "1.2".to_string(),
            tls_reload_ms: 10_000,
            max_tls_handshakes: 256,
            x509_super_user: None,
            peer_tls_cert: None,
            peer_tls_key: None,
            peer_tls_ca: None,
            sasl_users_file: None,
            sasl_server_section: "Server".to_string(),
            sasl_super_user: None,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is out of range.
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML file could not be parsed.
    #[error("cannot parse config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: toml::de::Error,
    },
    /// A setting is unknown or its value has the wrong type.
    #[error("bad settings: {source}")]
    Settings {
        /// What was wrong.
        source: toml::de::Error,
    },
    /// The SASL users file could not be loaded.
    #[error(transparent)]
    Sasl(#[from] crate::sasl::UsersError),
}

/// An optional listener address in a file: `"host:port"`, or `"off"`.
mod listener {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::net::SocketAddr;

    pub fn serialize<S: Serializer>(addr: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
        match addr {
            Some(addr) => s.collect_str(addr),
            None => s.serialize_str("off"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
        let text = String::deserialize(d)?;
        if text == "off" {
            return Ok(None);
        }
        text.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Reads a TOML file into a validated configuration (missing keys take
    /// their defaults, derived as [`settings`] says).
    pub fn from_toml_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        settings::resolve(settings::read_file(path)?)
    }

    /// Checks the values against each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, reason| Err(ConfigError::Invalid { name, reason });
        if self.tick_ms == 0 {
            return invalid("tick_ms", "must be positive");
        }
        if self.min_session_timeout_ms == 0
            || self.min_session_timeout_ms > self.max_session_timeout_ms
        {
            return invalid(
                "min_session_timeout_ms",
                "must be positive and at most max_session_timeout_ms",
            );
        }
        if self.max_session_timeout_ms > i32::MAX as u32 {
            return invalid("max_session_timeout_ms", "must fit in 31 bits");
        }
        if self.ui_event_queue_bytes < 1024 || self.ui_chart_samples < 2 {
            return invalid(
                "ui_event_queue_bytes",
                "must be at least 1024 (and ui_chart_samples at least 2)",
            );
        }
        if self.max_request_bytes < self.max_data_bytes {
            return invalid("max_request_bytes", "must be at least max_data_bytes");
        }
        if self.jute_maxbuffer_bytes < 1024 {
            return invalid("jute_maxbuffer_bytes", "must be at least 1024");
        }
        if self.max_request_bytes < self.jute_maxbuffer_bytes {
            return invalid("max_request_bytes", "must be at least jute_maxbuffer_bytes");
        }
        if self.max_path_bytes == 0 || self.max_sessions == 0 || self.max_connections == 0 {
            return invalid(
                "limits",
                "max_path_bytes, max_sessions and max_connections must be positive",
            );
        }
        if self.snapshot_every == 0 || self.history_entries == 0 || self.connection_queue < 16 {
            return invalid(
                "snapshot_every/history_entries/connection_queue",
                "must be positive (connection_queue at least 16)",
            );
        }
        if self.node_id.is_some()
            && (self.heartbeat_ms == 0 || self.election_timeout_ms < 3 * self.heartbeat_ms)
        {
            return invalid(
                "election_timeout_ms",
                "must be at least three heartbeats (heartbeat_ms positive)",
            );
        }
        if self.connection_queue_bytes == 0
            || self.handshake_timeout_ms == 0
            || self.frame_timeout_ms == 0
            || self.partial_frame_bytes < self.max_request_bytes
        {
            return invalid(
                "connection limits",
                "connection_queue_bytes, handshake_timeout_ms and frame_timeout_ms must be positive, partial_frame_bytes at least max_request_bytes",
            );
        }
        if self.proposal_queue == 0 || self.proposal_queue_bytes < self.max_request_bytes {
            return invalid(
                "proposal_queue",
                "proposal_queue must be positive, proposal_queue_bytes at least max_request_bytes",
            );
        }
        if self.log_retained_bytes < self.max_request_bytes {
            return invalid("log_retained_bytes", "must be at least max_request_bytes");
        }
        if self.log_write_queue_bytes == 0 {
            return invalid("log_write_queue_bytes", "must be positive");
        }
        if self.write_timeout_ms == 0 {
            return invalid("write_timeout_ms", "must be positive");
        }
        self.validate_sasl()?;
        if let Some(id) = self.node_id {
            if !self.members.is_empty() && !self.members.iter().any(|m| m.id == id) {
                return invalid("members", "must include this server's node_id");
            }
            if self.peer_listen.is_none() {
                return invalid(
                    "peer_listen",
                    "a cluster member needs a peer listener (--peer-listen HOST:PORT)",
                );
            }
            if self.cluster_secret_file.is_none() && self.peer_tls_files()?.is_none() {
                return invalid(
                    "cluster_secret_file",
                    "a cluster member needs peer credentials: the cluster secret (--cluster-secret-file FILE) or peer TLS (--peer-tls-cert, --peer-tls-key, --peer-tls-ca)",
                );
            }
        }
        self.validate_tls()?;
        Ok(())
    }

    /// Clamps a requested session timeout to the configured bounds.
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        let requested = requested_ms.max(0) as u32;
        requested.clamp(self.min_session_timeout_ms, self.max_session_timeout_ms) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_zookeeper_bounds() {
        let config = Config::default();
        config.validate().expect("defaults validate");
        assert_eq!(config.min_session_timeout_ms, 4000);
        assert_eq!(config.max_session_timeout_ms, 40000);
    }

    #[test]
    fn session_timeout_is_clamped_to_bounds() {
        let config = Config::default();
        assert_eq!(config.negotiate_timeout(100), 4000);
        assert_eq!(config.negotiate_timeout(-5), 4000);
        assert_eq!(config.negotiate_timeout(10_000), 10_000);
        assert_eq!(config.negotiate_timeout(i32::MAX), 40_000);
    }

    #[test]
    fn toml_with_unknown_keys_is_refused() {
        let parsed: Result<Config, _> = toml::from_str("no_such_key = 1");
        assert!(parsed.is_err());
        let parsed: Config = toml::from_str("tick_ms = 500").expect("parses");
        assert_eq!(parsed.tick_ms, 500);
    }

    #[test]
    fn inconsistent_bounds_are_refused() {
        let config = Config {
            min_session_timeout_ms: 5000,
            max_session_timeout_ms: 4000,
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}
