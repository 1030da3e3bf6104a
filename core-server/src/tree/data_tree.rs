//! The state machine: every znode, the session table and the ephemeral index.
//!
//! Lookups go through a `HashMap` by full path; nothing that decides a result
//! or an event order iterates it (children and indexes are B-trees).

use super::acl::Acl;
use super::node::{Node, NodeKind};
use super::Stat;
use proto::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A session as replicated: what any server needs to accept it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Negotiated timeout.
    pub timeout_ms: i32,
    /// The 16-byte password.
    pub password: Vec<u8>,
}

/// The replicated state: znodes, sessions, and the last applied zxid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct StateMachine {
    pub(crate) nodes: HashMap<String, Node>,
    pub(crate) sessions: BTreeMap<i64, SessionInfo>,
    pub(crate) ephemerals: BTreeMap<i64, BTreeSet<String>>,
    /// Containers and TTL nodes, for the reaper.
    pub(crate) reapable: BTreeSet<String>,
    /// Distinct ACL lists; nodes refer to them by index (as ZooKeeper's ACL cache).
    pub(crate) acl_lists: Vec<Vec<Acl>>,
    pub(crate) acl_index: BTreeMap<Vec<Acl>, u32>,
    pub(crate) last_zxid: i64,
    /// Sum of path and data lengths over all nodes (ZooKeeper's
    /// `approximate_data_size`); kept up to date, not stored.
    #[serde(skip)]
    pub(crate) data_bytes: u64,
    /// The paths that have a quota: those with a limits node under
    /// `/zookeeper/quota` (ZooKeeper's quota `PathTrie`); kept up to date by
    /// [`link`](Self::link) and [`unlink`](Self::unlink), not stored.
    #[serde(skip)]
    pub(crate) quotas: BTreeSet<String>,
}

/// A [`StateMachine`] as stored (its fields in order, without what is
/// derived from them).
#[derive(Deserialize)]
struct Stored {
    nodes: HashMap<String, Node>,
    sessions: BTreeMap<i64, SessionInfo>,
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    reapable: BTreeSet<String>,
    acl_lists: Vec<Vec<Acl>>,
    acl_index: BTreeMap<Vec<Acl>, u32>,
    last_zxid: i64,
}

impl From<Stored> for StateMachine {
    fn from(s: Stored) -> Self {
        let data_bytes = s.nodes.iter().map(|(p, n)| node_bytes(p, n)).sum();
        let quotas = quotas_of(s.nodes.keys());
        StateMachine {
            nodes: s.nodes,
            sessions: s.sessions,
            ephemerals: s.ephemerals,
            reapable: s.reapable,
            acl_lists: s.acl_lists,
            acl_index: s.acl_index,
            last_zxid: s.last_zxid,
            data_bytes,
            quotas,
        }
    }
}

/// What one node adds to [`StateMachine::approximate_data_size`].
pub(crate) fn node_bytes(path: &str, node: &Node) -> u64 {
    (path.len() + node.data.as_ref().map_or(0, |d| d.len())) as u64
}

/// The paths the limits nodes among `paths` put a quota on. (ZooKeeper
/// rebuilds its trie from the leaf limits nodes when it loads a snapshot;
/// here the set is always exactly the limits nodes present, so a restarted
/// server has the set of one that never stopped.)
fn quotas_of<'a>(paths: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    paths
        .filter_map(|p| proto::quota::quota_of_limit_node(p))
        .map(str::to_string)
        .collect()
}

/// Paths that can never be deleted (ZooKeeper's `isSpecialPath`).
pub const SPECIAL_PATHS: [&str; 4] = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

impl Default for StateMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl StateMachine {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`,
    /// with ZooKeeper 3.8's visible quirks (root cversion -1, `/zookeeper`
    /// cversion -2, `/zookeeper/config` aversion -1, all zxids and times 0).
    pub fn new() -> Self {
        let mut nodes = HashMap::new();
        let mut root = Node::new(Some(Vec::new()), NodeKind::Persistent, 0, 0);
        root.children.insert("zookeeper".into());
        let mut zk = Node::new(Some(Vec::new()), NodeKind::Persistent, 0, 0);
        zk.children.insert("config".into());
        zk.children.insert("quota".into());
        let quota = Node::new(Some(Vec::new()), NodeKind::Persistent, 0, 0);
        let mut config = Node::new(Some(Vec::new()), NodeKind::Persistent, 0, 0);
        config.aversion = -1;
        config.acl = 1;
        nodes.insert("/".to_string(), root);
        nodes.insert("/zookeeper".to_string(), zk);
        nodes.insert("/zookeeper/quota".to_string(), quota);
        nodes.insert("/zookeeper/config".to_string(), config);
        let data_bytes = nodes.iter().map(|(p, n)| node_bytes(p, n)).sum();
        StateMachine {
            nodes,
            data_bytes,
            sessions: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            reapable: BTreeSet::new(),
            acl_lists: vec![Acl::open(), Acl::read_only()],
            acl_index: BTreeMap::from([(Acl::open(), 0), (Acl::read_only(), 1)]),
            last_zxid: 0,
            quotas: BTreeSet::new(),
        }
    }

    /// Sum of path and data lengths over all nodes, bytes (ZooKeeper's
    /// `approximate_data_size`).
    pub fn approximate_data_size(&self) -> u64 {
        self.data_bytes
    }

    /// The ACL list of a node.
    pub fn acl_of(&self, node: &Node) -> &[Acl] {
        self.acl_list(node.acl)
    }

    /// The ACL list at `index` of the ACL table (empty if there is none).
    pub fn acl_list(&self, index: u32) -> &[Acl] {
        self.acl_lists
            .get(index as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The node's ACL and Stat.
    pub fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        Ok((self.acl_of(node).to_vec(), node.stat()))
    }

    /// The index of an ACL list, adding it to the table if new.
    pub(crate) fn intern_acl(&mut self, acl: Vec<Acl>) -> u32 {
        if let Some(index) = self.acl_index.get(&acl) {
            return *index;
        }
        let index = self.acl_lists.len() as u32;
        self.acl_lists.push(acl.clone());
        self.acl_index.insert(acl, index);
        index
    }

    /// The zxid of the last applied entry.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The node at `path`.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The node's Stat, if it exists.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(Node::stat)
    }

    /// The node's data and Stat.
    pub fn get_data(&self, path: &str) -> Result<(Option<Vec<u8>>, Stat), ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        Ok((node.data().map(<[u8]>::to_vec), node.stat()))
    }

    /// The node's child names (sorted) and Stat.
    pub fn children(&self, path: &str) -> Result<(Vec<String>, Stat), ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        Ok((
            node.children.iter().map(|c| c.to_string()).collect(),
            node.stat(),
        ))
    }

    /// Number of all descendants of the node.
    pub fn all_children_number(&self, path: &str) -> Result<i32, ErrorCode> {
        if !self.nodes.contains_key(path) {
            return Err(ErrorCode::NoNode);
        }
        let mut count: i64 = 0;
        let mut stack = vec![path.to_string()];
        while let Some(p) = stack.pop() {
            if let Some(node) = self.nodes.get(&p) {
                for child in &node.children {
                    count += 1;
                    stack.push(proto::path::join(&p, child));
                }
            }
        }
        Ok(count.min(i32::MAX as i64) as i32)
    }

    /// The session's ephemeral paths starting with `prefix` ("" or "/" = all), sorted.
    pub fn ephemerals(&self, session_id: i64, prefix: &str) -> Vec<String> {
        let Some(paths) = self.ephemerals.get(&session_id) else {
            return Vec::new();
        };
        let all = prefix.is_empty() || prefix == "/";
        paths
            .iter()
            .filter(|p| all || p.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// How many ephemeral nodes exist.
    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    /// A session's replicated record.
    pub fn session(&self, session_id: i64) -> Option<&SessionInfo> {
        self.sessions.get(&session_id)
    }

    /// Every session, by id.
    pub fn sessions(&self) -> impl Iterator<Item = (i64, &SessionInfo)> {
        self.sessions.iter().map(|(id, info)| (*id, info))
    }

    /// Number of sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Containers and TTL nodes the reaper may delete at `now_ms`, sorted.
    pub fn reap_candidates(&self, now_ms: i64) -> Vec<String> {
        self.reapable
            .iter()
            .filter(|p| {
                self.nodes
                    .get(p.as_str())
                    .is_some_and(|n| n.is_reapable(now_ms))
            })
            .cloned()
            .collect()
    }

    /// The deepest path with a quota that is `path` or one of its ancestors
    /// (ZooKeeper's `getMaxPrefixWithQuota`; a quota on `/` counts for none).
    pub fn quota_prefix(&self, path: &str) -> Option<&str> {
        if self.quotas.is_empty() {
            return None;
        }
        let ends = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i > 0)
            .map(|(i, _)| i)
            .chain(std::iter::once(path.len()));
        ends.filter_map(|end| self.quotas.get(&path[..end]))
            .rfind(|quota| quota.as_str() != "/")
            .map(String::as_str)
    }

    /// The paths that have a quota, sorted.
    pub fn quota_paths(&self) -> impl Iterator<Item = &str> {
        self.quotas.iter().map(String::as_str)
    }

    /// Number of znodes, system nodes included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A deterministic digest of the whole state (paths, data, Stats,
    /// sessions); equal on every server that applied the same entries.
    /// Independent of map iteration order: per-node hashes are summed.
    pub fn digest(&self) -> u64 {
        let mut total = fnv(&self.last_zxid.to_be_bytes(), FNV_OFFSET);
        for (path, node) in &self.nodes {
            let mut h = fnv(path.as_bytes(), FNV_OFFSET);
            h = fnv(node.data().unwrap_or(b"\xff-null"), h);
            let s = node.stat();
            for v in [
                s.czxid,
                s.mzxid,
                s.ctime,
                s.mtime,
                s.ephemeral_owner,
                s.pzxid,
            ] {
                h = fnv(&v.to_be_bytes(), h);
            }
            for v in [
                s.version,
                s.cversion,
                s.aversion,
                s.data_length,
                s.num_children,
            ] {
                h = fnv(&v.to_be_bytes(), h);
            }
            total = total.wrapping_add(h);
        }
        for (id, info) in &self.sessions {
            let h = fnv(&id.to_be_bytes(), FNV_OFFSET);
            let h = fnv(&info.timeout_ms.to_be_bytes(), h);
            total = total.wrapping_add(fnv(&info.password, h));
        }
        total
    }

    // ---- mutation primitives used by txn::apply -------------------------

    /// Inserts `node` at `path` under its existing parent (no checks).
    pub(crate) fn link(&mut self, path: &str, node: Node) {
        let kind = node.kind;
        if let Some(parent) = proto::path::parent(path).and_then(|p| self.nodes.get_mut(p)) {
            parent.children.insert(proto::path::name(path).into());
        }
        match kind {
            NodeKind::Ephemeral(owner) => {
                self.ephemerals
                    .entry(owner)
                    .or_default()
                    .insert(path.to_string());
            }
            NodeKind::Container | NodeKind::Ttl(_) => {
                self.reapable.insert(path.to_string());
            }
            NodeKind::Persistent => {}
        }
        self.data_bytes += node_bytes(path, &node);
        if let Some(quota) = proto::quota::quota_of_limit_node(path) {
            self.quotas.insert(quota.to_string());
        }
        self.nodes.insert(path.to_string(), node);
    }

    /// Removes the node at `path` from its parent and the indexes; returns it.
    pub(crate) fn unlink(&mut self, path: &str) -> Option<Node> {
        let node = self.nodes.remove(path)?;
        self.data_bytes = self.data_bytes.saturating_sub(node_bytes(path, &node));
        if let Some(quota) = proto::quota::quota_of_limit_node(path) {
            self.quotas.remove(quota);
        }
        if let Some(parent) = proto::path::parent(path).and_then(|p| self.nodes.get_mut(p)) {
            parent.children.remove(proto::path::name(path));
        }
        match node.kind {
            NodeKind::Ephemeral(owner) => {
                if let Some(set) = self.ephemerals.get_mut(&owner) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&owner);
                    }
                }
            }
            NodeKind::Container | NodeKind::Ttl(_) => {
                self.reapable.remove(path);
            }
            NodeKind::Persistent => {}
        }
        Some(node)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for b in bytes {
        hash ^= *b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_tree_has_zookeeper_system_nodes_with_their_quirks() {
        let sm = StateMachine::new();
        let root = sm.stat("/").expect("root");
        assert_eq!((root.cversion, root.num_children, root.czxid), (-1, 1, 0));
        let zk = sm.stat("/zookeeper").expect("/zookeeper");
        assert_eq!((zk.cversion, zk.num_children), (-2, 2));
        assert_eq!(sm.stat("/zookeeper/config").map(|s| s.aversion), Some(-1));
        assert!(sm.stat("/zookeeper/quota").is_some());
        assert_eq!(sm.all_children_number("/"), Ok(3));
        assert_eq!(
            sm.children("/zookeeper").map(|c| c.0),
            Ok(vec!["config".to_string(), "quota".to_string()])
        );
    }

    #[test]
    fn digest_ignores_map_order_but_sees_every_change() {
        let a = StateMachine::new();
        let mut b = StateMachine::new();
        assert_eq!(a.digest(), b.digest());
        b.link(
            "/x",
            Node::new(Some(b"1".to_vec()), NodeKind::Persistent, 1, 1),
        );
        assert_ne!(a.digest(), b.digest());
    }
}
