//! ZooKeeper's AdminServer commands (`GET /commands/NAME`) as JSON, with
//! its names, aliases and field names, for tools written against it. Every
//! answer carries `"command"` (the primary name) and `"error"` (null).

use super::facts::Facts;
use super::AdminState;
use crate::replication::ServerMode;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Each command: its primary name and its aliases.
pub const COMMANDS: [(&str, &[&str]); 15] = [
    ("ruok", &[]),
    ("server_stats", &["srvr"]),
    ("stats", &["stat"]),
    ("monitor", &["mntr"]),
    ("configuration", &["conf", "config"]),
    ("connections", &["cons"]),
    ("watch_summary", &["wchs"]),
    ("watches", &["wchc"]),
    ("watches_by_path", &["wchp"]),
    ("dump", &[]),
    ("environment", &["env", "envi"]),
    ("dirs", &[]),
    ("leader", &["lead"]),
    ("voting_view", &[]),
    ("is_read_only", &["isro"]),
];

/// The primary name of `name` (itself or an alias).
pub fn primary(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|(primary, aliases)| *primary == name || aliases.contains(&name))
        .map(|(primary, _)| *primary)
}

/// `GET /commands`: the commands and their links, as ZooKeeper lists them.
pub fn list() -> Value {
    let links: Vec<Value> = COMMANDS
        .iter()
        .map(|(name, aliases)| json!({"command": name, "aliases": aliases, "url": format!("/commands/{name}")}))
        .collect();
    json!({ "commands": links })
}

/// Runs command `name` (`None`: no such command).
pub fn run(state: &AdminState, name: &str) -> Option<Value> {
    let command = primary(name)?;
    let service = state.service();
    let facts = Facts::gather(service);
    let mut body = match command {
        "ruok" => Map::new(),
        "server_stats" => server_stats(state, &facts),
        "stats" => {
            let mut body = server_stats(state, &facts);
            body.insert("connections".into(), connections(state));
            body.insert("secure_connections".into(), json!([]));
            body
        }
        "monitor" => facts
            .mntr()
            .into_iter()
            .map(|(k, v)| {
                let key = k.trim_start_matches("zk_").to_string();
                let value = v
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| v.parse::<f64>().map(Value::from))
                    .unwrap_or(Value::String(v));
                (key, value)
            })
            .collect(),
        "configuration" => {
            let c = service.config();
            object(json!({
                "client_port": c.zk_listen.map_or(0, |a| a.port()),
                "data_dir": c.data_dir.display().to_string(),
                "data_log_dir": c.data_dir.display().to_string(),
                "tick_time": c.tick_ms,
                "max_client_cnxns": c.max_connections_per_ip,
                "min_session_timeout": c.min_session_timeout_ms,
                "max_session_timeout": c.max_session_timeout_ms,
                "server_id": service.zk_server_id(),
            }))
        }
        "connections" => {
            let mut body = Map::new();
            body.insert("connections".into(), connections(state));
            body.insert("secure_connections".into(), json!([]));
            body
        }
        "watch_summary" => {
            let watches = service.state().watches().lock().all();
            let conns: BTreeSet<_> = watches.iter().map(|(c, _)| *c).collect();
            let paths: BTreeSet<_> = watches.iter().map(|(_, p)| p).collect();
            object(json!({
                "num_connections": conns.len(),
                "num_paths": paths.len(),
                "num_total_watches": watches.len(),
            }))
        }
        "watches" | "watches_by_path" => {
            let watches = service.state().watches().lock().all();
            let session_of: BTreeMap<_, _> = service
                .live_connections()
                .into_iter()
                .map(|c| (c.conn, c.session_id))
                .collect();
            let mut by_session: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let mut by_path: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
            for (conn, path) in watches {
                let sid = session_of.get(&conn).copied().unwrap_or(0);
                if command == "watches" {
                    by_session
                        .entry(format!("{sid:#x}"))
                        .or_default()
                        .insert(path);
                } else {
                    by_path.entry(path).or_default().insert(sid);
                }
            }
            let grouped: Map<String, Value> = if command == "watches" {
                by_session.into_iter().map(|(k, v)| (k, json!(v))).collect()
            } else {
                by_path.into_iter().map(|(k, v)| (k, json!(v))).collect()
            };
            let key = if command == "watches" {
                "session_id_to_watched_paths"
            } else {
                "path_to_session_ids"
            };
            let mut body = Map::new();
            body.insert(key.into(), Value::Object(grouped));
            body
        }
        "dump" => {
            let sm = service.state().read();
            let mut expiry: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            let mut ephemerals = Map::new();
            for (id, info) in sm.sessions() {
                expiry
                    .entry(info.timeout_ms.to_string())
                    .or_default()
                    .push(id);
                let paths = sm.ephemerals(id, "");
                if !paths.is_empty() {
                    ephemerals.insert(id.to_string(), json!(paths));
                }
            }
            object(json!({
                "expiry_time_to_session_ids": expiry,
                "session_id_to_ephemeral_paths": ephemerals,
            }))
        }
        "environment" => object(json!({
            "zookeeper.version": super::VERSION,
            "host.name": "localhost",
            "os.name": std::env::consts::OS,
            "os.arch": std::env::consts::ARCH,
        })),
        "dirs" => {
            let c = service.config();
            object(json!({
                "datadir_size": dir_size(&c.data_dir.join("snapshots")),
                "logdir_size": dir_size(&c.data_dir.join("wal")),
            }))
        }
        "leader" => {
            let (is_leader, leader_id, leader_ip) = match &facts.raft {
                None => (true, 1, host(service.config().listen.ip().to_string())),
                Some(v) => {
                    let ip = v
                        .members
                        .iter()
                        .find(|m| Some(m.id) == v.leader)
                        .map(|m| host(m.addr.clone()));
                    (
                        facts.mode == ServerMode::Leader,
                        v.leader.unwrap_or(0),
                        ip.unwrap_or_default(),
                    )
                }
            };
            object(json!({"is_leader": is_leader, "leader_id": leader_id, "leader_ip": leader_ip}))
        }
        "voting_view" => {
            let mut config = Map::new();
            for m in facts.raft.iter().flat_map(|v| v.members.iter()) {
                let role = if m.voter { "participant" } else { "observer" };
                let client = m.zk_addr.clone().unwrap_or_default();
                config.insert(
                    m.id.to_string(),
                    Value::String(format!("{}:{role};{client}", m.addr)),
                );
            }
            let mut body = Map::new();
            body.insert("current_config".into(), Value::Object(config));
            body
        }
        "is_read_only" => object(json!({"read_only": service.is_read_only()})),
        _ => Map::new(),
    };
    body.insert("command".into(), Value::String(command.to_string()));
    body.insert("error".into(), Value::Null);
    Some(Value::Object(body))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The host part of `HOST:PORT`.
fn host(addr: String) -> String {
    addr.rsplit_once(':')
        .map_or(addr.clone(), |(h, _)| h.to_string())
}

fn server_stats(state: &AdminState, facts: &Facts) -> Map<String, Value> {
    let s = &facts.stats;
    let c = state.service().config();
    object(json!({
        "version": super::VERSION,
        "read_only": state.service().is_read_only(),
        "server_stats": {
            "packets_sent": s.answered,
            "packets_received": s.received,
            "avg_latency": s.avg_micros as f64 / 1000.0,
            "max_latency": s.max_micros / 1000,
            "min_latency": s.min_micros / 1000,
            "outstanding_requests": s.outstanding,
            "num_alive_client_connections": facts.connections,
            "last_processed_zxid": facts.zxid,
            "server_state": facts.mode.name(),
            "data_dir_size": dir_size(&c.data_dir.join("snapshots")),
            "log_dir_size": dir_size(&c.data_dir.join("wal")),
            "uptime": state.uptime().as_millis() as u64,
            "provider_null": false,
        },
        "node_count": facts.nodes,
    }))
}

fn connections(state: &AdminState) -> Value {
    let list: Vec<Value> = state
        .service()
        .live_connections()
        .into_iter()
        .map(|c| {
            json!({
                "remote_socket_address": c.peer.map(|p| p.to_string()),
                "session_id": format!("{:#x}", c.session_id),
                "session_timeout": c.timeout_ms,
            })
        })
        .collect();
    Value::Array(list)
}

/// Bytes of the files directly in `dir` (0 if it cannot be read).
pub fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_name_their_command() {
        assert_eq!(primary("mntr"), Some("monitor"));
        assert_eq!(primary("monitor"), Some("monitor"));
        assert_eq!(primary("srvr"), Some("server_stats"));
        assert_eq!(primary("kill"), None);
    }
}
