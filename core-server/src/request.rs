//! The one internal request vocabulary both front ends translate into, and its replies.

use crate::tree::{Acl, Stat};
use crate::txn::OpResult;
use proto::{CreateMode, ErrorCode};

/// One client request, front-end neutral (one variant per operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// create / create2 / createContainer / createTTL.
    Create(CreateArgs),
    /// delete.
    Delete {
        /// Absolute path.
        path: String,
        /// Expected version or -1.
        version: i32,
    },
    /// exists, optionally leaving a watch.
    Exists {
        /// Absolute path.
        path: String,
        /// Leave an exist/data watch.
        watch: bool,
    },
    /// getData, optionally leaving a data watch.
    GetData {
        /// Absolute path.
        path: String,
        /// Leave a data watch.
        watch: bool,
    },
    /// setData.
    SetData {
        /// Absolute path.
        path: String,
        /// New data (`None` = null).
        data: Option<Vec<u8>>,
        /// Expected version or -1.
        version: i32,
    },
    /// getChildren / getChildren2, optionally leaving a child watch.
    GetChildren {
        /// Absolute path.
        path: String,
        /// Leave a child watch.
        watch: bool,
    },
    /// sync.
    Sync {
        /// Echoed back.
        path: String,
    },
    /// multi: atomic writes.
    Multi(Vec<MultiOp>),
    /// multiRead: independent reads.
    MultiRead(Vec<ReadOp>),
    /// getAllChildrenNumber.
    GetAllChildrenNumber {
        /// Absolute path.
        path: String,
    },
    /// getEphemerals of the calling session.
    GetEphemerals {
        /// Plain string prefix.
        prefix: String,
    },
    /// addWatch (persistent or recursive).
    AddWatch {
        /// Absolute path.
        path: String,
        /// Recursive rather than exact-path persistent.
        recursive: bool,
    },
    /// removeWatches.
    RemoveWatches {
        /// Absolute path.
        path: String,
        /// Which watches.
        kind: WatcherType,
    },
    /// checkWatches.
    CheckWatches {
        /// Absolute path.
        path: String,
        /// Which watches.
        kind: WatcherType,
    },
    /// setWatches / setWatches2 after a reconnect.
    SetWatches(SetWatches),
    /// Corral: a resumable watch stream from a zxid.
    WatchFrom {
        /// Absolute path.
        path: String,
        /// Include descendants.
        recursive: bool,
        /// Deliver changes after this zxid.
        from_zxid: i64,
    },
    /// Stop a resumable watch stream.
    CancelWatchFrom {
        /// The stream's id.
        stream_id: i64,
    },
    /// closeSession.
    CloseSession,
    /// getACL.
    GetAcl {
        /// Absolute path.
        path: String,
    },
    /// setACL.
    SetAcl {
        /// Absolute path.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
        /// Expected aversion or -1.
        version: i32,
    },
    /// auth: prove an identity for this connection.
    AddAuth {
        /// The scheme (digest).
        scheme: String,
        /// The credentials (`user:password` for digest).
        auth: Vec<u8>,
    },
    /// whoAmI: the ids this connection holds.
    WhoAmI,
    /// sasl: the client's next SASL token (ZooKeeper's GetSASLRequest).
    Sasl {
        /// The token (empty to start DIGEST-MD5).
        token: Vec<u8>,
    },
}

/// Arguments of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    /// Absolute path (before any suffix).
    pub path: String,
    /// The data (`None` = null).
    pub data: Option<Vec<u8>>,
    /// The mode.
    pub mode: CreateMode,
    /// TTL in ms for TTL modes, else 0 or -1.
    pub ttl_ms: i64,
    /// The requested ACL.
    pub acl: Vec<Acl>,
}

/// One write inside a multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create.
    Create(CreateArgs),
    /// delete.
    Delete {
        /// Absolute path.
        path: String,
        /// Expected version or -1.
        version: i32,
    },
    /// setData.
    SetData {
        /// Absolute path.
        path: String,
        /// New data.
        data: Option<Vec<u8>>,
        /// Expected version or -1.
        version: i32,
    },
    /// check.
    Check {
        /// Absolute path.
        path: String,
        /// Expected version or -1.
        version: i32,
    },
    /// An op invalid in itself (a create flag that names no mode): answered
    /// BadArguments in its place, after the ops before it had their say.
    Invalid,
}

/// One read inside a multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    /// getData.
    GetData(String),
    /// getChildren.
    GetChildren(String),
}

/// ZooKeeper's WatcherType, for removeWatches / checkWatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    /// Child watches.
    Children,
    /// Data and exist watches.
    Data,
    /// Everything.
    Any,
    /// Persistent watches.
    Persistent,
    /// Persistent-recursive watches.
    PersistentRecursive,
}

/// The watch lists a reconnecting client re-registers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetWatches {
    /// The client's last seen zxid.
    pub relative_zxid: i64,
    /// One-shot data watches.
    pub data: Vec<String>,
    /// One-shot exist watches.
    pub exist: Vec<String>,
    /// One-shot child watches.
    pub child: Vec<String>,
    /// Persistent watches.
    pub persistent: Vec<String>,
    /// Persistent-recursive watches.
    pub recursive: Vec<String>,
}

/// A successful request's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// create.
    Created {
        /// Final path.
        path: String,
        /// New Stat.
        stat: Stat,
    },
    /// exists, setData.
    Stat(Stat),
    /// getData.
    Data {
        /// The data (`None` = null).
        data: Option<Vec<u8>>,
        /// The Stat.
        stat: Stat,
    },
    /// getChildren.
    Children {
        /// Sorted child names.
        children: Vec<String>,
        /// The parent's Stat.
        stat: Stat,
    },
    /// sync.
    Synced(String),
    /// multi: per-op results with ZooKeeper's failure codes.
    Multi(Vec<Result<OpResult, ErrorCode>>),
    /// multiRead: per-op results.
    MultiRead(Vec<Result<Reply, ErrorCode>>),
    /// getAllChildrenNumber.
    Count(i32),
    /// getEphemerals.
    Paths(Vec<String>),
    /// watchFrom: the new stream's id.
    WatchStream(i64),
    /// getACL.
    Acl {
        /// The ACL (digests redacted for non-admins).
        acl: Vec<Acl>,
        /// The Stat.
        stat: Stat,
    },
    /// whoAmI: (scheme, user) pairs.
    WhoAmI(Vec<(String, String)>),
    /// sasl: the server's next token (`None`: null, as ZooKeeper sends
    /// when SASL is not configured).
    Sasl(Option<Vec<u8>>),
    /// Operations without a body (delete, watches, close).
    Done,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The request's xid.
    pub xid: i32,
    /// The last zxid applied when the answer was produced.
    pub zxid: i64,
    /// The result.
    pub result: Result<Reply, ErrorCode>,
}
