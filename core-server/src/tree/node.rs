//! One znode as stored: data, children, counters and kind.

use super::Stat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What kind of node this is, for lifecycle rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// Plain node.
    Persistent,
    /// Owned by a session.
    Ephemeral(i64),
    /// Deleted once its last child goes.
    Container,
    /// Deleted once childless and unmodified for this many ms.
    Ttl(i64),
}

/// A stored znode. `stored_cversion` counts child *creations* only (it is the
/// sequence counter); the visible cversion is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub(crate) data: Option<Box<[u8]>>,
    pub(crate) children: BTreeSet<Box<str>>,
    pub(crate) czxid: i64,
    pub(crate) mzxid: i64,
    pub(crate) pzxid: i64,
    pub(crate) ctime: i64,
    pub(crate) mtime: i64,
    pub(crate) version: i32,
    pub(crate) stored_cversion: i32,
    pub(crate) aversion: i32,
    pub(crate) kind: NodeKind,
    /// Index of the node's ACL list in the state machine's ACL table.
    pub(crate) acl: u32,
}

impl Node {
    /// A node created at `zxid`, `time_ms`.
    pub(crate) fn new(data: Option<Vec<u8>>, kind: NodeKind, zxid: i64, time_ms: i64) -> Node {
        Node {
            data: data.map(Vec::into_boxed_slice),
            children: BTreeSet::new(),
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            stored_cversion: 0,
            aversion: 0,
            kind,
            acl: 0,
        }
    }

    /// The Stat clients see: cversion = creations*2 - children (ZooKeeper's
    /// `copyStat`), ephemeralOwner 0 for containers and TTL nodes.
    pub fn stat(&self) -> Stat {
        let num_children = self.children.len() as i32;
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self
                .stored_cversion
                .wrapping_mul(2)
                .wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner: match self.kind {
                NodeKind::Ephemeral(owner) => owner,
                _ => 0,
            },
            data_length: self.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children,
            pzxid: self.pzxid,
        }
    }

    /// The data (`None` is null data).
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    /// Up to `limit` child names that start with `prefix` and sort after
    /// `after` ("": from the first), in order, and whether more follow.
    /// Costs a lookup in the ordered set plus the page, however many
    /// children the node has (the web console pages 100,000 so).
    pub fn children_page(&self, prefix: &str, after: &str, limit: usize) -> (Vec<String>, bool) {
        use std::ops::Bound;
        let start = if !after.is_empty() && after >= prefix {
            Bound::Excluded(after)
        } else {
            Bound::Included(prefix)
        };
        let mut names = self
            .children
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|name| name.starts_with(prefix))
            .take(limit.saturating_add(1))
            .map(|name| name.to_string());
        let page: Vec<String> = names.by_ref().take(limit).collect();
        let more = names.next().is_some();
        (page, more)
    }

    /// The owning session of an ephemeral node.
    pub fn ephemeral_owner(&self) -> Option<i64> {
        match self.kind {
            NodeKind::Ephemeral(owner) => Some(owner),
            _ => None,
        }
    }

    /// The node's kind.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// True if the reaper may delete it at `now_ms`.
    pub(crate) fn is_reapable(&self, now_ms: i64) -> bool {
        if !self.children.is_empty() {
            return false;
        }
        match self.kind {
            NodeKind::Container => self.stored_cversion > 0,
            NodeKind::Ttl(ttl) => now_ms.saturating_sub(self.mtime) > ttl,
            _ => false,
        }
    }
}
