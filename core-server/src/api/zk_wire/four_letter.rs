//! Four-letter words on the ZooKeeper port: a connection whose first four
//! bytes spell a known command gets a plain-text answer and is closed.

use crate::service::Service;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The commands Corral answers.
pub const COMMANDS: [&str; 13] = [
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "wchs", "wchc", "wchp", "dump", "envi", "isro",
    "dirs",
];

/// The version string reported to tools.
pub use crate::admin::VERSION;

/// The command these four bytes spell, if any.
pub fn recognise(first: [u8; 4]) -> Option<&'static str> {
    COMMANDS.iter().copied().find(|c| c.as_bytes() == first)
}

fn allowed(service: &Service, command: &str) -> bool {
    let list = &service.config().four_letter_words;
    list.iter().any(|w| w == "*" || w == command)
}

/// The answer to a command.
pub fn answer(service: &Service, command: &str) -> String {
    if !allowed(service, command) {
        return format!("{command} is not executed because it is not in the whitelist.\n");
    }
    if NEED_SERVING.contains(&command) && !service.is_serving() && !service.is_read_only() {
        // ZooKeeper's answer from a server that is not serving.
        return "This ZooKeeper instance is not currently serving requests\n".to_string();
    }
    let state = service.state();
    let mut out = String::new();
    let facts = crate::admin::facts::Facts::gather(service);
    let (nodes, sessions, zxid) = (facts.nodes, facts.sessions, facts.zxid);
    let connections = service.live_connections();
    let watches = state.watches().lock().all();
    let stats = facts.stats;
    let mode = facts.mode.name();
    // ZooKeeper reports latency in ms: whole for min and max, the mean
    // with decimals.
    let ms = |micros: u64| micros / 1000;
    let avg_ms = stats.avg_micros as f64 / 1000.0;
    let server_summary = |out: &mut String| {
        let _ = writeln!(out, "Zookeeper version: {VERSION}");
        let _ = writeln!(
            out,
            "Latency min/avg/max: {}/{avg_ms:.4}/{}",
            ms(stats.min_micros),
            ms(stats.max_micros)
        );
        let _ = writeln!(out, "Received: {}", stats.received);
        let _ = writeln!(out, "Sent: {}", stats.answered);
        let _ = writeln!(out, "Connections: {}", connections.len());
        let _ = writeln!(out, "Outstanding: {}", stats.outstanding);
        let _ = writeln!(out, "Zxid: {zxid:#x}");
        let _ = writeln!(out, "Mode: {mode}");
        let _ = writeln!(out, "Node count: {nodes}");
    };
    match command {
        "ruok" => out.push_str("imok"),
        // ZooKeeper: "null" while no server runs (cut off, read-only mode off).
        "isro" => out.push_str(if service.is_read_only() {
            "ro"
        } else if service.is_serving() {
            "rw"
        } else {
            "null"
        }),
        "srvr" => server_summary(&mut out),
        "stat" => {
            let _ = writeln!(out, "Zookeeper version: {VERSION}");
            let _ = writeln!(out, "Clients:");
            for c in &connections {
                let peer = c.peer.map_or_else(|| "-".to_string(), |p| p.to_string());
                let _ = writeln!(
                    out,
                    " /{peer}[1](queued=0,recved=0,sent=0,sid={:#x})",
                    c.session_id
                );
            }
            out.push('\n');
            let mut rest = String::new();
            server_summary(&mut rest);
            out.push_str(rest.split_once('\n').map_or("", |(_, r)| r));
        }
        "mntr" => {
            for (k, v) in facts.mntr() {
                let _ = writeln!(out, "{k}\t{v}");
            }
        }
        "conf" => {
            let c = service.config();
            let _ = writeln!(out, "clientPort={}", c.zk_listen.map_or(0, |a| a.port()));
            let _ = writeln!(out, "dataDir={}", c.data_dir.display());
            let _ = writeln!(out, "tickTime={}", c.tick_ms);
            let _ = writeln!(out, "minSessionTimeout={}", c.min_session_timeout_ms);
            let _ = writeln!(out, "maxSessionTimeout={}", c.max_session_timeout_ms);
            let _ = writeln!(out, "maxClientCnxns={}", c.max_connections);
            let _ = writeln!(out, "jute.maxbuffer={}", c.jute_maxbuffer_bytes);
            let _ = writeln!(out, "serverId={}", service.zk_server_id());
        }
        "cons" => {
            for c in &connections {
                let peer = c.peer.map_or_else(|| "-".to_string(), |p| p.to_string());
                let _ = writeln!(
                    out,
                    " /{peer}[1](queued=0,sid={:#x},to={})",
                    c.session_id, c.timeout_ms
                );
            }
            out.push('\n');
        }
        "wchs" => {
            let conns: BTreeSet<_> = watches.iter().map(|(c, _)| *c).collect();
            let paths: BTreeSet<_> = watches.iter().map(|(_, p)| p).collect();
            let _ = writeln!(
                out,
                "{} connections watching {} paths",
                conns.len(),
                paths.len()
            );
            let _ = writeln!(out, "Total watches:{}", watches.len());
        }
        "wchc" | "wchp" => {
            let session_of: BTreeMap<_, _> =
                connections.iter().map(|c| (c.conn, c.session_id)).collect();
            let mut grouped: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (conn, path) in &watches {
                let sid = format!("{:#x}", session_of.get(conn).copied().unwrap_or(0));
                if command == "wchc" {
                    grouped.entry(sid).or_default().insert(path.clone());
                } else {
                    grouped.entry(path.clone()).or_default().insert(sid);
                }
            }
            for (key, values) in grouped {
                let _ = writeln!(out, "{key}");
                for v in values {
                    let _ = writeln!(out, "\t{v}");
                }
            }
        }
        "dump" => {
            let sm = state.read();
            let _ = writeln!(out, "SessionTracker dump:");
            let _ = writeln!(out, "Global Sessions({sessions}):");
            for (id, info) in sm.sessions() {
                let _ = writeln!(out, "{id:#x}\t{}ms", info.timeout_ms);
            }
            let _ = writeln!(out, "ephemeral nodes dump:");
            let _ = writeln!(
                out,
                "Sessions with Ephemerals ({}):",
                sm.sessions()
                    .filter(|(id, _)| !sm.ephemerals(*id, "").is_empty())
                    .count()
            );
            for (id, _) in sm.sessions() {
                let paths = sm.ephemerals(id, "");
                if !paths.is_empty() {
                    let _ = writeln!(out, "{id:#x}:");
                    for p in paths {
                        let _ = writeln!(out, "\t{p}");
                    }
                }
            }
        }
        "envi" => {
            let _ = writeln!(out, "Environment:");
            let _ = writeln!(out, "zookeeper.version={VERSION}");
            let _ = writeln!(out, "host.name=localhost");
            let _ = writeln!(out, "os.name={}", std::env::consts::OS);
            let _ = writeln!(out, "os.arch={}", std::env::consts::ARCH);
        }
        "dirs" => {
            use crate::admin::commands::dir_size;
            let c = service.config();
            let _ = writeln!(
                out,
                "datadir_size: {}",
                dir_size(&c.data_dir.join("snapshots"))
            );
            let _ = writeln!(out, "logdir_size: {}", dir_size(&c.data_dir.join("wal")));
        }
        _ => {}
    }
    out
}

/// The commands ZooKeeper answers only while it serves.
const NEED_SERVING: [&str; 8] = [
    "srvr", "stat", "mntr", "cons", "wchs", "wchc", "wchp", "dump",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_words_are_recognised() {
        assert_eq!(recognise(*b"ruok"), Some("ruok"));
        assert_eq!(recognise(*b"mntr"), Some("mntr"));
        assert_eq!(recognise([0, 0, 0, 45]), None);
        assert_eq!(recognise(*b"kill"), None);
    }
}
