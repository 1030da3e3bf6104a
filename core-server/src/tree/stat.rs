//! The client-visible `Stat` of a znode.

use serde::{Deserialize, Serialize};

/// A znode's metadata as clients see it (ZooKeeper's `Stat`, in jute order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stat {
    /// zxid of the create.
    pub czxid: i64,
    /// zxid of the last setData.
    pub mzxid: i64,
    /// Creation time, ms since the epoch.
    pub ctime: i64,
    /// Time of the last setData.
    pub mtime: i64,
    /// Number of setData calls (wrapping).
    pub version: i32,
    /// Child creations plus child deletions.
    pub cversion: i32,
    /// Number of setACL calls.
    pub aversion: i32,
    /// Owning session of an ephemeral node, else 0.
    pub ephemeral_owner: i64,
    /// Data length (0 for null data).
    pub data_length: i32,
    /// Number of direct children.
    pub num_children: i32,
    /// zxid of the last child create or delete.
    pub pzxid: i64,
}
