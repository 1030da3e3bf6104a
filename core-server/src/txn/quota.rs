//! Quotas at apply: the stats nodes under `/zookeeper/quota` kept up to date
//! as the tree changes (ZooKeeper's `DataTree.updateQuotaStat` and
//! `updateQuotaForPath`), and the limits checked before a create or a setData
//! (its `ZooKeeperServer.checkQuota`).
//!
//! ZooKeeper checks in its leader's `PrepRequestProcessor`, against the tree
//! without the writes still in flight; here the check is decided at apply
//! (decision 0001), against the tree every earlier write made, so every
//! server decides alike. Whether hard limits refuse comes with the entry
//! ([`Txn::QuotaEnforced`](super::Txn::QuotaEnforced)), set by the server
//! that took the write from its `enforce_quota` setting. A breached limit is
//! reported in [`Applied::quota_breaches`](super::Applied) for that server to
//! log; nothing here logs.

use super::multi::Undo;
use crate::tree::StateMachine;
use proto::quota::{self, StatsTrack};
use proto::ErrorCode;
use std::fmt;

/// What the limits of one entry's writes decide, and what they breached.
#[derive(Debug, Default)]
pub(super) struct QuotaCtx {
    /// Hard limits refuse with QuotaExceeded (ZooKeeper's `zookeeper.enforceQuota`).
    pub(super) enforce: bool,
    /// Every limit a write went over, in order.
    pub(super) breaches: Vec<QuotaBreach>,
}

/// Which limit a write went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// The node count.
    Count,
    /// The data bytes.
    Bytes,
}

/// A limit a write went over: a soft one (the write is done) or a hard one
/// (refused with QuotaExceeded when enforcement is on). Displays as
/// ZooKeeper's log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaBreach {
    /// The path that has the quota.
    pub quota: String,
    /// Count or bytes.
    pub kind: QuotaKind,
    /// The usage the write would make.
    pub current: i64,
    /// The limit it goes over.
    pub limit: i64,
    /// The limit is a hard one.
    pub hard: bool,
}

impl fmt::Display for QuotaBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, limit) = match self.kind {
            QuotaKind::Count => ("count", "CountLimit"),
            QuotaKind::Bytes => ("bytes", "ByteLimit"),
        };
        let strength = if self.hard { "hard" } else { "soft" };
        write!(
            f,
            "Quota exceeded: {} [current {what}={}, {strength}{limit}={}]",
            self.quota, self.current, self.limit
        )
    }
}

/// The length ZooKeeper counts for data (null is 0).
pub(super) fn data_len(data: Option<&[u8]>) -> i64 {
    data.map_or(0, |d| d.len() as i64)
}

/// Checks a write of `path` that adds `count_diff` nodes and `bytes_diff`
/// bytes against the limits of its quota, as ZooKeeper's `checkQuota`:
/// a limit counts when the write changes what it limits; the hard limit
/// wins over the soft one; the write breaches when the new usage is over it.
/// A missing limits or stats node lets the write through; one that does not
/// parse refuses it with MarshallingError when enforcing (ZooKeeper's
/// PrepRequestProcessor answers an exception so), as a hard breach does
/// with QuotaExceeded.
pub(super) fn check(
    sm: &StateMachine,
    path: &str,
    bytes_diff: i64,
    count_diff: i64,
    ctx: &mut QuotaCtx,
) -> Result<(), ErrorCode> {
    let Some(prefix) = sm.quota_prefix(path) else {
        return Ok(());
    };
    let refuse = |code| if ctx.enforce { Err(code) } else { Ok(()) };
    let Some(limits) = read(sm, &quota::limit_path(prefix)) else {
        return Ok(());
    };
    let Ok(limits) = limits else {
        return refuse(ErrorCode::MarshallingError);
    };
    let check_count = count_diff != 0 && (limits.count() > -1 || limits.count_hard_limit() > -1);
    let check_bytes = bytes_diff != 0 && (limits.bytes() > -1 || limits.byte_hard_limit() > -1);
    if !check_count && !check_bytes {
        return Ok(());
    }
    let Some(stats) = read(sm, &quota::stat_path(prefix)) else {
        return Ok(());
    };
    let Ok(stats) = stats else {
        return refuse(ErrorCode::MarshallingError);
    };
    let checks = [
        (
            check_count,
            QuotaKind::Count,
            stats.count().wrapping_add(count_diff),
            limits.count_hard_limit(),
            limits.count(),
        ),
        (
            check_bytes,
            QuotaKind::Bytes,
            stats.bytes().wrapping_add(bytes_diff),
            limits.byte_hard_limit(),
            limits.bytes(),
        ),
    ];
    for (wanted, kind, current, hard_limit, soft_limit) in checks {
        if !wanted {
            continue;
        }
        let hard = hard_limit > -1;
        let limit = if hard { hard_limit } else { soft_limit };
        if current > limit {
            ctx.breaches.push(QuotaBreach {
                quota: prefix.to_string(),
                kind,
                current,
                limit,
                hard,
            });
            if hard {
                refuse(ErrorCode::QuotaExceeded)?;
            }
        }
    }
    Ok(())
}

/// The parsed data of the node at `path`, `None` if there is no such node
/// (null data parses as no fields).
fn read(sm: &StateMachine, path: &str) -> Option<Result<StatsTrack, quota::StatsError>> {
    let node = sm.nodes.get(path)?;
    Some(StatsTrack::parse(node.data().unwrap_or_default()))
}

/// After a node was created at `path` with `len` bytes (ZooKeeper's
/// `createNode` tail): a new stats node gets the usage of its path computed
/// from the tree (`updateQuotaForPath`; the limits node joined the quota set
/// when it was linked), then the quota over `path` counts one node more.
pub(super) fn created(sm: &mut StateMachine, path: &str, len: i64, undo: &mut Vec<Undo>) {
    if let Some(quota) = quota::quota_of_stat_node(path) {
        let (count, bytes) = subtree_usage(sm, if quota.is_empty() { "/" } else { quota });
        let mut stats = StatsTrack::new();
        stats.set(quota::COUNT, count);
        stats.set(quota::BYTES, bytes);
        write(sm, path, stats, undo);
    }
    changed(sm, path, len, 1, undo);
}

/// Adds `bytes_diff` bytes and `count_diff` nodes to the stats of the quota
/// over `path`, if there is one (ZooKeeper's `updateQuotaStat`): the stats
/// node's other fields are kept, its version and mzxid are not touched and
/// no watch fires. A missing stats node, or one whose data does not parse,
/// is left alone (ZooKeeper logs the first and throws on the second).
pub(super) fn changed(
    sm: &mut StateMachine,
    path: &str,
    bytes_diff: i64,
    count_diff: i64,
    undo: &mut Vec<Undo>,
) {
    let Some(prefix) = sm.quota_prefix(path) else {
        return;
    };
    let stat_path = quota::stat_path(prefix);
    let Some(Ok(mut stats)) = read(sm, &stat_path) else {
        return;
    };
    stats.set(quota::COUNT, stats.count().wrapping_add(count_diff));
    stats.set(quota::BYTES, stats.bytes().wrapping_add(bytes_diff));
    write(sm, &stat_path, stats, undo);
}

/// Replaces the data of the stats node at `path`, recording how to undo it.
fn write(sm: &mut StateMachine, path: &str, stats: StatsTrack, undo: &mut Vec<Undo>) {
    let Some(node) = sm.nodes.get_mut(path) else {
        return;
    };
    let new = stats.to_bytes().into_boxed_slice();
    let old_len = node.data.as_ref().map_or(0, |d| d.len()) as u64;
    sm.data_bytes = (sm.data_bytes + new.len() as u64).saturating_sub(old_len);
    let old = node.data.replace(new);
    undo.push(Undo::StatsData {
        path: path.to_string(),
        data: old,
    });
}

/// The nodes and data bytes of the subtree at `path`, itself included
/// (ZooKeeper's `getCounts`); (0, 0) if there is no such node.
fn subtree_usage(sm: &StateMachine, path: &str) -> (i64, i64) {
    let (mut count, mut bytes) = (0i64, 0i64);
    let mut stack = vec![path.to_string()];
    while let Some(p) = stack.pop() {
        let Some(node) = sm.nodes.get(&p) else {
            continue;
        };
        count += 1;
        bytes += data_len(node.data());
        for child in &node.children {
            stack.push(proto::path::join(&p, child));
        }
    }
    (count, bytes)
}
