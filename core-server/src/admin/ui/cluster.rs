//! Sessions and their ephemerals, watches by path, and the cluster's
//! members with role, lag and health: pages over the admin commands
//! (`dump`, `cons`, `wchp`) and `/status`, which compute them.

use super::login;
use super::tree::q;
use super::{html, Nav, UiError, UiState};
use crate::admin::{commands, health, status};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use std::collections::BTreeMap;

/// Most rows on the sessions and watches pages (the rest is counted).
pub const MAX_ROWS: usize = 1000;

/// A link to a node.
#[derive(Debug)]
pub struct PathLink {
    path: String,
    href: String,
}

impl PathLink {
    fn new(path: &str) -> PathLink {
        PathLink {
            path: path.to_string(),
            href: q(path),
        }
    }
}

/// One session as listed.
#[derive(Debug)]
pub struct SessionRow {
    id: String,
    timeout_ms: String,
    connected_here: bool,
    ephemerals: Vec<PathLink>,
}

#[derive(askama::Template)]
#[template(path = "ui/sessions.html")]
struct SessionsPage {
    nav: Nav,
    sessions: Vec<SessionRow>,
    hidden: usize,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /ui/sessions`.
pub async fn sessions(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let login = login::current(&state, &headers);
    let dump = commands::run(state.admin(), "dump").unwrap_or(Value::Null);
    let cons = commands::run(state.admin(), "cons").unwrap_or(Value::Null);
    let here: Vec<String> = cons["connections"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| c["session_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut rows: BTreeMap<i64, SessionRow> = BTreeMap::new();
    if let Some(expiry) = dump["expiry_time_to_session_ids"].as_object() {
        for (timeout, ids) in expiry {
            for id in ids
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
            {
                let hex = format!("{id:#x}");
                rows.insert(
                    id,
                    SessionRow {
                        connected_here: here.contains(&hex),
                        id: hex,
                        timeout_ms: timeout.clone(),
                        ephemerals: Vec::new(),
                    },
                );
            }
        }
    }
    if let Some(ephemerals) = dump["session_id_to_ephemeral_paths"].as_object() {
        for (id, paths) in ephemerals {
            let id: i64 = id.parse().unwrap_or(0);
            if let Some(row) = rows.get_mut(&id) {
                row.ephemerals = strings(paths).iter().map(|p| PathLink::new(p)).collect();
            }
        }
    }
    let hidden = rows.len().saturating_sub(MAX_ROWS);
    html(&SessionsPage {
        nav: login::nav(login.as_ref()),
        sessions: rows.into_values().take(MAX_ROWS).collect(),
        hidden,
    })
}

/// One watched path as listed.
#[derive(Debug)]
pub struct WatchRow {
    node: PathLink,
    sessions: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "ui/watches.html")]
struct WatchesPage {
    nav: Nav,
    watches: Vec<WatchRow>,
    hidden: usize,
}

/// `GET /ui/watches`: watches set on this server, by path.
pub async fn watches(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let login = login::current(&state, &headers);
    let wchp = commands::run(state.admin(), "wchp").unwrap_or(Value::Null);
    let mut rows = Vec::new();
    let mut total = 0;
    if let Some(by_path) = wchp["path_to_session_ids"].as_object() {
        total = by_path.len();
        for (path, ids) in by_path.iter().take(MAX_ROWS) {
            let sessions = ids
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .map(|id| format!("{id:#x}"))
                .collect();
            rows.push(WatchRow {
                node: PathLink::new(path),
                sessions,
            });
        }
    }
    html(&WatchesPage {
        nav: login::nav(login.as_ref()),
        hidden: total.saturating_sub(rows.len()),
        watches: rows,
    })
}

/// One member as listed.
#[derive(Debug)]
pub struct MemberRow {
    id: u64,
    addr: String,
    zk_addr: String,
    role: &'static str,
    lag: String,
    health: &'static str,
}

#[derive(askama::Template)]
#[template(path = "ui/members.html")]
struct MembersPage {
    nav: Nav,
    status: status::Status,
    ready: String,
    members: Vec<MemberRow>,
}

/// `GET /ui/members`: this server's status and the members it knows.
pub async fn members(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let login = login::current(&state, &headers);
    let status = status::Status::of(state.admin());
    let ready = match health::readiness(state.service()) {
        Ok(()) => "ready".to_string(),
        Err(why) => format!("not ready: {why}"),
    };
    let bound = state.service().config().ready_lag_entries;
    let members = status
        .members
        .iter()
        .map(|m| MemberRow {
            id: m.id,
            addr: m.addr.clone(),
            zk_addr: m.zk_addr.clone().unwrap_or_default(),
            role: m.role,
            lag: m.lag.map_or("unknown here".to_string(), |l| l.to_string()),
            health: match m.lag {
                _ if m.id == status.id => {
                    if status.ready {
                        "ready"
                    } else {
                        "not ready"
                    }
                }
                Some(lag) if lag <= bound => "in sync",
                Some(_) => "behind",
                None => "unknown (ask the leader)",
            },
        })
        .collect();
    html(&MembersPage {
        nav: login::nav(login.as_ref()),
        status,
        ready,
        members,
    })
}
