//! Option and result types of the client's operations.

use proto::v1;
use proto::CreateMode;
use std::time::Duration;

/// A znode's metadata (ZooKeeper's `Stat`).
pub type Stat = v1::Stat;

/// Options of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// The create mode.
    pub mode: CreateMode,
    /// Time to live, for the TTL modes only.
    pub ttl: Option<Duration>,
    /// The node's ACL; empty means `world:anyone` with all permissions.
    pub acl: Vec<Acl>,
}

/// One ACL entry: permissions granted to an id of a scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// Permission bits ([`perms`]).
    pub perms: i32,
    /// Scheme: world, auth, digest or ip.
    pub scheme: String,
    /// The id within the scheme.
    pub id: String,
}

/// Permission bits (ZooKeeper's `ZooDefs.Perms`).
pub mod perms {
    /// Read data, list children.
    pub const READ: i32 = 1;
    /// Set data.
    pub const WRITE: i32 = 2;
    /// Create children.
    pub const CREATE: i32 = 4;
    /// Delete children.
    pub const DELETE: i32 = 8;
    /// Set the ACL.
    pub const ADMIN: i32 = 16;
    /// Everything.
    pub const ALL: i32 = 31;
}

impl Acl {
    /// An entry.
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    /// `world:anyone`, all permissions.
    pub fn open() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "world", "anyone")]
    }

    /// Every permission for whoever created the node (the `auth` scheme).
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "auth", "")]
    }

    /// `world:anyone`, read only.
    pub fn read_only() -> Vec<Acl> {
        vec![Acl::new(perms::READ, "world", "anyone")]
    }
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            mode: CreateMode::Persistent,
            ttl: None,
            acl: Vec::new(),
        }
    }
}

impl CreateOptions {
    /// Options for a mode without TTL.
    pub fn mode(mode: CreateMode) -> Self {
        CreateOptions {
            mode,
            ttl: None,
            acl: Vec::new(),
        }
    }
}

/// One write of a [`Client::multi`](crate::Client::multi).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op2 {
    /// Create a node.
    Create {
        /// Path.
        path: String,
        /// Data.
        data: Vec<u8>,
        /// Options.
        options: CreateOptions,
    },
    /// Delete a node (version `None` = any).
    Delete {
        /// Path.
        path: String,
        /// Expected version.
        version: Option<i32>,
    },
    /// Set data (version `None` = any).
    SetData {
        /// Path.
        path: String,
        /// Data.
        data: Vec<u8>,
        /// Expected version.
        version: Option<i32>,
    },
    /// Version check.
    Check {
        /// Path.
        path: String,
        /// Expected version.
        version: Option<i32>,
    },
}

/// The result of one op of a successful multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// A node was created.
    Created {
        /// Its path (chroot stripped).
        path: String,
        /// Its Stat.
        stat: Stat,
    },
    /// A node was deleted.
    Deleted,
    /// Data was set.
    DataSet(Stat),
    /// The check passed.
    Checked,
}

/// One read of a [`Client::multi_read`](crate::Client::multi_read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    /// getData.
    GetData(String),
    /// getChildren.
    GetChildren(String),
}

/// The result of one read of a multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// Data and Stat.
    Data(Vec<u8>, Stat),
    /// Children and Stat.
    Children(Vec<String>, Stat),
}
