//! The node page (`GET /ui/node?path=P`): breadcrumbs, Stat, ACL, the data
//! as text, pretty JSON or hex, and one page of children with a name
//! filter. Children come from the node's ordered set a page at a time
//! ([`Node::children_page`](crate::tree::Node::children_page)), so a node
//! with 100,000 children costs one lookup and one page per request.

use super::login::{self, Login};
use super::{html, Nav, UiError, UiState};
use crate::tree::acl::{self, perms};
use crate::tree::{NodeKind, Stat};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

/// Children on one page unless the query asks for another number.
pub const PAGE: usize = 100;
/// Most children on one page.
pub const MAX_PAGE: usize = 1000;
/// Most data bytes shown as hex (the rest is cut, and said so).
pub const MAX_HEX_BYTES: usize = 64 << 10;

/// The node page's query.
#[derive(Debug, Default, Deserialize)]
pub struct NodeQuery {
    /// The node (default `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// Children after this name.
    #[serde(default)]
    pub after: String,
    /// Children whose name starts with this.
    #[serde(default)]
    pub prefix: String,
    /// `text`, `json` or `hex`.
    #[serde(default)]
    pub format: String,
    /// Children per page.
    #[serde(default)]
    pub limit: Option<usize>,
    /// A message to show (after a write).
    #[serde(default)]
    pub done: String,
}

/// One child in the list.
#[derive(Debug)]
pub struct Child {
    name: String,
    /// Its path, encoded for a link.
    href: String,
}

impl Child {
    fn new(name: String, path: String) -> Child {
        Child {
            href: q(&path),
            name,
        }
    }
}

/// One ACL entry as shown.
#[derive(Debug)]
pub struct AclRow {
    perms: String,
    scheme: String,
    id: String,
}

#[derive(askama::Template)]
#[template(path = "ui/node.html")]
struct NodePage {
    nav: Nav,
    path: String,
    path_q: String,
    prefix_q: String,
    next_q: String,
    parent_q: String,
    crumbs: Vec<Child>,
    stat: Vec<(&'static str, String)>,
    kind: &'static str,
    version: i32,
    readable: bool,
    format: String,
    data: String,
    data_note: String,
    edit_text: String,
    acl: Vec<AclRow>,
    children: Vec<Child>,
    num_children: i32,
    prefix: String,
    after: String,
    more: bool,
    limit: usize,
    done: String,
}

/// `GET /ui`, `/ui/node`: the node page.
pub async fn page(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(query): Query<NodeQuery>,
) -> Result<Response, UiError> {
    let login = login::current(&state, &headers);
    let page = build(&state, login.as_ref(), query)?;
    html(&page)
}

fn build(state: &UiState, login: Option<&Login>, query: NodeQuery) -> Result<NodePage, UiError> {
    let path = query.path.unwrap_or_else(|| "/".to_string());
    let limit = query.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let (ids, is_super) = login::identities(state, login);
    let format = match query.format.as_str() {
        "json" | "hex" => query.format.clone(),
        _ => "text".to_string(),
    };
    let sm = state.service().state().read();
    let node = sm
        .node(&path)
        .ok_or_else(|| UiError::Refused(proto::ErrorCode::NoNode, format!("no node at {path}")))?;
    let stat = node.stat();
    let list = sm.acl_of(node);
    let readable = acl::check(list, perms::READ, &ids, is_super).is_ok();
    let admin = acl::check(list, perms::ADMIN, &ids, is_super).is_ok();
    let (data, data_note, edit_text);
    let mut children = Vec::new();
    let mut more = false;
    let mut acl_rows = Vec::new();
    if readable {
        let bytes = node.data();
        (data, data_note) = show(bytes, &format);
        edit_text = bytes
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let (names, has_more) = node.children_page(&query.prefix, &query.after, limit);
        more = has_more;
        children = names
            .into_iter()
            .map(|name| Child::new(name.clone(), join(&path, &name)))
            .collect();
        let shown = if admin {
            list.to_vec()
        } else {
            acl::redact(list)
        };
        acl_rows = shown
            .iter()
            .map(|a| AclRow {
                perms: perm_letters(a.perms),
                scheme: a.scheme.clone(),
                id: a.id.clone(),
            })
            .collect();
    } else {
        data = String::new();
        edit_text = String::new();
        data_note = "no access: the node's ACL does not let you READ it".to_string();
    }
    let kind = match node.kind() {
        NodeKind::Persistent => "persistent",
        NodeKind::Ephemeral(_) => "ephemeral",
        NodeKind::Container => "container",
        NodeKind::Ttl(_) => "TTL",
    };
    drop(sm);
    let next_after = children.last().map(|c| c.name.clone()).unwrap_or_default();
    Ok(NodePage {
        nav: login::nav(login),
        path_q: q(&path),
        prefix_q: q(&query.prefix),
        next_q: q(&next_after),
        parent_q: q(&parent(&path)),
        crumbs: crumbs(&path),
        stat: stat_rows(&stat),
        kind,
        version: stat.version,
        readable,
        format,
        data,
        data_note,
        edit_text,
        acl: acl_rows,
        children,
        num_children: stat.num_children,
        prefix: query.prefix,
        after: query.after,
        more,
        limit,
        done: query.done,
        path,
    })
}

/// The data in `format`, and a note (null data, not JSON, cut).
fn show(bytes: Option<&[u8]>, format: &str) -> (String, String) {
    let Some(bytes) = bytes else {
        return (String::new(), "null data".to_string());
    };
    match format {
        "json" => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value) => (
                serde_json::to_string_pretty(&value).unwrap_or_default(),
                String::new(),
            ),
            Err(error) => (
                String::from_utf8_lossy(bytes).into_owned(),
                format!("not JSON ({error}); shown as text"),
            ),
        },
        "hex" => {
            let shown = &bytes[..bytes.len().min(MAX_HEX_BYTES)];
            let note = if shown.len() < bytes.len() {
                format!("first {} of {} bytes", shown.len(), bytes.len())
            } else {
                String::new()
            };
            (hex_dump(shown), note)
        }
        _ => (String::from_utf8_lossy(bytes).into_owned(), String::new()),
    }
}

/// 16 bytes a line: offset, hex, printable characters.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = chunk
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() || *b == b' ' {
                    *b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:08x}  {:<47}  {text}\n",
            line * 16,
            hex.join(" ")
        ));
    }
    out
}

fn perm_letters(bits: i32) -> String {
    [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, letter)| *letter)
    .collect()
}

fn stat_rows(stat: &Stat) -> Vec<(&'static str, String)> {
    vec![
        ("czxid", format!("{:#x}", stat.czxid)),
        ("mzxid", format!("{:#x}", stat.mzxid)),
        ("pzxid", format!("{:#x}", stat.pzxid)),
        ("ctime", stat.ctime.to_string()),
        ("mtime", stat.mtime.to_string()),
        ("version", stat.version.to_string()),
        ("cversion", stat.cversion.to_string()),
        ("aversion", stat.aversion.to_string()),
        ("ephemeralOwner", format!("{:#x}", stat.ephemeral_owner)),
        ("dataLength", stat.data_length.to_string()),
        ("numChildren", stat.num_children.to_string()),
    ]
}

/// `parent/name`.
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The parent of `path` (`/` for `/` itself).
pub fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

fn crumbs(path: &str) -> Vec<Child> {
    let mut out = vec![Child::new("/".into(), "/".into())];
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        out.push(Child::new(part.to_string(), at.clone()));
    }
    out
}

/// `text` percent-encoded for a query string value.
pub fn q(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_dumps() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(q("/a b&c"), "/a%20b%26c");
        assert_eq!(perm_letters(perms::ALL), "cdrwa");
        assert!(hex_dump(b"hi\x00").starts_with("00000000  68 69 00"));
    }
}
