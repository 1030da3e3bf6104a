//! Writes: limits checked here, then one log entry each, answered after commit.

use super::latency::Protocol;
use super::{Connection, CreateArgs, MultiOp, Reply, Request, Response, Service};
use crate::replication::Pending;
use crate::txn::{CreateTxn, Entry, OpResult, Txn};
use proto::ErrorCode;

/// The bytes one op of a multi takes in ZooKeeper's encoding: its header
/// (type, done, err), its path, and its own fields.
fn multi_op_bytes(op: &MultiOp) -> usize {
    const HEADER: usize = 4 + 1 + 4;
    let string = |s: &str| 4 + s.len();
    let buffer = |d: &Option<Vec<u8>>| 4 + d.as_ref().map_or(0, Vec::len);
    HEADER
        + match op {
            MultiOp::Create(args) => {
                string(&args.path)
                    + buffer(&args.data)
                    + 4
                    + args
                        .acl
                        .iter()
                        .map(|a| 4 + string(&a.scheme) + string(&a.id))
                        .sum::<usize>()
                    + 4
                    + 8
            }
            MultiOp::Delete { path, .. } | MultiOp::Check { path, .. } => string(path) + 4,
            MultiOp::SetData { path, data, .. } => string(path) + buffer(data) + 4,
            MultiOp::Invalid => 0,
        }
}

impl Service {
    fn check_data(&self, data: &Option<Vec<u8>>) -> Result<usize, ErrorCode> {
        let len = data.as_ref().map_or(0, Vec::len);
        if len > self.inner.config.max_data_bytes {
            Err(ErrorCode::TooLarge)
        } else {
            Ok(len)
        }
    }

    fn create_txn(&self, protocol: Protocol, args: CreateArgs) -> Result<Txn, ErrorCode> {
        self.check_write_path(protocol, &args.path, args.mode.is_sequential())?;
        self.check_data(&args.data)?;
        Ok(Txn::Create(CreateTxn {
            path: args.path,
            data: args.data,
            mode: args.mode,
            ttl_ms: args.ttl_ms.max(0),
            acl: args.acl,
        }))
    }

    /// One op of a multi as a sub-txn. An op whose path the front end's rules
    /// refuse, or that is invalid in itself, becomes
    /// [`Txn::bad_arguments_op`]: it fails in its place, so the ops before it
    /// decide first, as in ZooKeeper. Data over the limit refuses the whole
    /// request (it has no place in ZooKeeper's protocol).
    fn multi_op_txn(&self, protocol: Protocol, op: MultiOp) -> Result<Txn, ErrorCode> {
        let txn = match op {
            MultiOp::Create(args) => {
                // First, so that only a path refusal is left to map below.
                self.check_data(&args.data)?;
                self.create_txn(protocol, args)
            }
            MultiOp::Delete { path, version } => self
                .check_write_path(protocol, &path, false)
                .map(|_| Txn::Delete { path, version }),
            MultiOp::SetData {
                path,
                data,
                version,
            } => {
                self.check_data(&data)?;
                self.check_write_path(protocol, &path, false)
                    .map(|_| Txn::SetData {
                        path,
                        data,
                        version,
                    })
            }
            MultiOp::Check { path, version } => self
                .check_write_path(protocol, &path, false)
                .map(|_| Txn::Check { path, version }),
            MultiOp::Invalid => Err(ErrorCode::BadArguments),
        };
        Ok(txn.unwrap_or_else(|_| Txn::bad_arguments_op()))
    }

    /// Turns a write request into a log entry's command, enforcing limits
    /// and the path rules of the front end it came through (`paths.rs`).
    fn to_txn(&self, protocol: Protocol, request: Request) -> Result<Txn, ErrorCode> {
        Ok(match request {
            Request::Create(args) => self.create_txn(protocol, args)?,
            Request::Delete { path, version } => {
                self.check_write_path(protocol, &path, false)?;
                Txn::Delete { path, version }
            }
            Request::SetAcl { path, acl, version } => {
                self.check_write_path(protocol, &path, false)?;
                Txn::SetAcl { path, acl, version }
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                self.check_write_path(protocol, &path, false)?;
                self.check_data(&data)?;
                Txn::SetData {
                    path,
                    data,
                    version,
                }
            }
            Request::Multi(ops) => {
                // Counted as the request's own encoding (ZooKeeper's jute
                // sizes), so a multi that fits in a frame is never refused.
                let mut total = 0usize;
                let mut txns = Vec::with_capacity(ops.len());
                for op in ops {
                    total += multi_op_bytes(&op);
                    if total > self.inner.config.max_request_bytes {
                        return Err(ErrorCode::TooLarge);
                    }
                    txns.push(self.multi_op_txn(protocol, op)?);
                }
                Txn::Multi(txns)
            }
            _ => return Err(ErrorCode::Unimplemented),
        })
    }

    pub(super) async fn write(
        &self,
        connection: &Connection,
        request: Request,
    ) -> (i64, Result<Reply, ErrorCode>) {
        if matches!(request, Request::CloseSession) {
            let closed = self.close_requested(connection.session_id).await;
            let result = if closed {
                Ok(Reply::Done)
            } else {
                Err(ErrorCode::ConnectionLoss)
            };
            return (self.inner.state.last_zxid(), result);
        }
        let pending = self.submit_write(connection, 0, request).await;
        let response = pending.finish().await;
        (response.zxid, response.result)
    }

    /// Puts a create / delete / setData / multi into the log without waiting
    /// for it to commit. Writes submitted in order commit in order, so a
    /// connection may pipeline them and still answer in FIFO order; a read must
    /// wait for the connection's earlier writes (read-your-writes).
    pub async fn submit_write(
        &self,
        connection: &Connection,
        xid: i32,
        request: Request,
    ) -> PendingWrite {
        self.touch(connection);
        let inner = &self.inner;
        inner.stats.received();
        let zxid = inner.state.last_zxid();
        let txn = match self.to_txn(connection.protocol, request) {
            Ok(txn) => txn,
            Err(code) => {
                return PendingWrite::Ready(Response {
                    xid,
                    zxid,
                    result: Err(code),
                })
            }
        };
        // Hard quota limits refuse only writes the taking server enforces
        // them for; the flag travels in the entry so every server agrees.
        let txn = match txn {
            Txn::Create(_) | Txn::SetData { .. } | Txn::Multi(_) if inner.config.enforce_quota => {
                Txn::QuotaEnforced(Box::new(txn))
            }
            txn => txn,
        };
        let (auth, is_super) = connection.auth();
        let entry = Entry {
            time_ms: inner.clock.wall_ms(),
            session_id: connection.session_id,
            auth,
            is_super,
            txn,
        };
        match inner.replicator.submit(entry).await {
            Ok(pending) => PendingWrite::Waiting {
                xid,
                pending,
                fallback_zxid: zxid,
            },
            Err(error) => {
                tracing::warn!(%error, "write not accepted");
                PendingWrite::Ready(Response {
                    xid,
                    zxid,
                    result: Err(refusal(&error)),
                })
            }
        }
    }
}

/// What a client is told of a write the log did not take: NotReadOnly when
/// the disk refused it (nothing was applied; the server serves reads, as a
/// read-only ZooKeeper server does), ConnectionLoss (outcome unknown)
/// otherwise.
fn refusal(error: &crate::replication::ReplicationError) -> ErrorCode {
    match error {
        crate::replication::ReplicationError::StorageUnavailable => ErrorCode::NotReadOnly,
        _ => ErrorCode::ConnectionLoss,
    }
}

/// A write in flight; [`PendingWrite::finish`] yields its response.
#[derive(Debug)]
pub enum PendingWrite {
    /// Refused before reaching the log.
    Ready(Response),
    /// In the log, awaiting commit.
    Waiting {
        /// The request's xid.
        xid: i32,
        /// The commit to await.
        pending: Pending,
        /// zxid to report if the commit never comes.
        fallback_zxid: i64,
    },
}

impl PendingWrite {
    /// Waits for the commit and builds the response.
    pub async fn finish(self) -> Response {
        match self {
            PendingWrite::Ready(response) => response,
            PendingWrite::Waiting {
                xid,
                pending,
                fallback_zxid,
            } => match pending.wait().await {
                Ok(committed) => {
                    for breach in &committed.applied.quota_breaches {
                        tracing::warn!(quota = %breach.quota, "{breach}");
                    }
                    Response {
                        xid,
                        zxid: committed.zxid,
                        result: committed.applied.result.map(to_reply),
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "write not committed");
                    Response {
                        xid,
                        zxid: fallback_zxid,
                        result: Err(refusal(&error)),
                    }
                }
            },
        }
    }
}

fn to_reply(result: OpResult) -> Reply {
    match result {
        OpResult::Created { path, stat } => Reply::Created { path, stat },
        OpResult::DataSet(stat) | OpResult::AclSet(stat) => Reply::Stat(stat),
        OpResult::Multi(results) => Reply::Multi(results),
        OpResult::Deleted
        | OpResult::Checked
        | OpResult::SessionCreated
        | OpResult::SessionClosed => Reply::Done,
    }
}
