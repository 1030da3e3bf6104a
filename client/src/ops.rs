//! Option and result types of the client's operations.

use proto::v1;
use proto::CreateMode;
use std::time::Duration;

/// A znode's metadata (ZooKeeper's `Stat`).
pub type Stat = v1::Stat;

/// Options of a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateOptions {
    /// The create mode.
    pub mode: CreateMode,
    /// Time to live, for the TTL modes only.
    pub ttl: Option<Duration>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            mode: CreateMode::Persistent,
            ttl: None,
        }
    }
}

impl CreateOptions {
    /// Options for a mode without TTL.
    pub fn mode(mode: CreateMode) -> Self {
        CreateOptions { mode, ttl: None }
    }
}

/// One write of a [`Client::multi`].
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

/// One read of a [`Client::multi_read`].
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
