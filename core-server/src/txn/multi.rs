//! Atomic multi: apply ops in order, and on the first failure undo everything.
//!
//! Undo records the exact previous values, so a failed multi leaves the tree,
//! the sequence counters and the indexes bit-for-bit as they were, without
//! cloning the tree.

use super::apply::apply_op;
use super::quota::QuotaCtx;
use super::{Entry, OpResult, Txn};
use crate::tree::{Node, StateMachine, TreeEvent};
use proto::ErrorCode;

/// How to reverse one mutation.
#[derive(Debug)]
pub(super) enum Undo {
    /// A node was created under `parent`.
    Created {
        path: String,
        parent: String,
        parent_cversion: i32,
        parent_pzxid: i64,
    },
    /// A node was deleted.
    Deleted {
        path: String,
        node: Node,
        parent: String,
        parent_pzxid: i64,
    },
    /// A node's data was replaced.
    DataSet {
        path: String,
        data: Option<Box<[u8]>>,
        version: i32,
        mzxid: i64,
        mtime: i64,
    },
    /// A quota's stats node was rewritten (data only: ZooKeeper touches
    /// nothing else of it).
    StatsData {
        path: String,
        data: Option<Box<[u8]>>,
    },
}

fn rollback(sm: &mut StateMachine, undo: Vec<Undo>) {
    for step in undo.into_iter().rev() {
        match step {
            Undo::Created {
                path,
                parent,
                parent_cversion,
                parent_pzxid,
            } => {
                sm.unlink(&path);
                if let Some(p) = sm.nodes.get_mut(&parent) {
                    p.stored_cversion = parent_cversion;
                    p.pzxid = parent_pzxid;
                }
            }
            Undo::Deleted {
                path,
                node,
                parent,
                parent_pzxid,
            } => {
                sm.link(&path, node);
                if let Some(p) = sm.nodes.get_mut(&parent) {
                    p.pzxid = parent_pzxid;
                }
            }
            Undo::DataSet {
                path,
                data,
                version,
                mzxid,
                mtime,
            } => {
                if let Some(n) = sm.nodes.get_mut(&path) {
                    let len = |d: &Option<Box<[u8]>>| d.as_ref().map_or(0, |d| d.len()) as u64;
                    sm.data_bytes = (sm.data_bytes + len(&data)).saturating_sub(len(&n.data));
                    n.data = data;
                    n.version = version;
                    n.mzxid = mzxid;
                    n.mtime = mtime;
                }
            }
            Undo::StatsData { path, data } => {
                if let Some(n) = sm.nodes.get_mut(&path) {
                    let len = |d: &Option<Box<[u8]>>| d.as_ref().map_or(0, |d| d.len()) as u64;
                    sm.data_bytes = (sm.data_bytes + len(&data)).saturating_sub(len(&n.data));
                    n.data = data;
                }
            }
        }
    }
}

/// Applies a multi. On success every op's result; on failure ZooKeeper's codes
/// (`Ok` before the failing op, its code, `RuntimeInconsistency` after), the
/// state unchanged and no events.
pub(super) fn apply_multi(
    sm: &mut StateMachine,
    zxid: i64,
    entry: &Entry,
    ops: &[Txn],
    quotas: &mut QuotaCtx,
    events: &mut Vec<TreeEvent>,
) -> OpResult {
    let mut undo = Vec::new();
    let mut local_events = Vec::new();
    let mut results = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        match apply_op(sm, zxid, entry, op, &mut undo, quotas, &mut local_events) {
            Ok(result) => results.push(Ok(result)),
            Err(code) => {
                rollback(sm, undo);
                let mut codes = vec![Err(ErrorCode::Ok); i];
                codes.push(Err(code));
                codes.resize(ops.len(), Err(ErrorCode::RuntimeInconsistency));
                return OpResult::Multi(codes);
            }
        }
    }
    events.append(&mut local_events);
    OpResult::Multi(results)
}
