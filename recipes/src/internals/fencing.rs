//! Fencing tokens and guarded writes, for every holder.
//!
//! A lock, lease or leadership is represented by a node; its token is the
//! zxid that created it, which only grows, so a newer holder always has a
//! larger token. A resource that remembers the largest token it has seen can
//! refuse a stale holder. Inside Corral itself, a *guarded* write does better:
//! it is a multi whose first op checks that the holder's node still exists,
//! so a paused or partitioned old holder cannot overwrite the new one's work.
//!
//! Every holder (mutex, reentrant, read and write guards, semaphore leases,
//! leader latch and selector leadership) offers `guarded_multi` and
//! `guarded_set_data` through [`holder_multi`]. Checking that the node exists
//! is enough: once a contender's turn has come it lasts as long as its node,
//! since nodes only leave the line and newcomers join behind (or, for a
//! read-write lock's downgrade, beside the holder at the front, which moves
//! no one's turn). (A latch participant that has not led yet is refused
//! before anything is sent.)

use super::Hold;
use crate::{RecipeError, Result};
use client::{Client, Op, OpResult};

/// A monotonically increasing token of a hold (the creating zxid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(pub i64);

/// Applies `ops` atomically only if the node at `holder` still exists;
/// otherwise `NotHolder` and nothing is written. Any client may send it (a
/// fresh connection of a paused holder, a proxy acting for it).
pub async fn guarded_multi(client: &Client, holder: &str, ops: Vec<Op>) -> Result<Vec<OpResult>> {
    let mut all = Vec::with_capacity(ops.len() + 1);
    all.push(Op::Check {
        path: holder.to_string(),
        version: None,
    });
    all.extend(ops);
    match client.multi(all).await {
        Ok(mut results) => {
            results.remove(0);
            Ok(results)
        }
        Err(client::Error::Multi { results, .. })
            if results.first() == Some(&client::ErrorCode::NoNode) =>
        {
            Err(RecipeError::NotHolder)
        }
        Err(e) => Err(e.into()),
    }
}

/// A holder's own guarded write: `client` is the session that created the
/// node at `holder`, `hold` what the holder knows of it. Refused with
/// `NotHolder`, and nothing written, when the hold is already known lost (no
/// round trip), when the node is gone, or when the session has expired (its
/// node went with it). While the hold is in doubt the write is sent: the
/// server's check decides once the connection is back.
pub async fn holder_multi(
    client: &Client,
    holder: &str,
    hold: Hold,
    ops: Vec<Op>,
) -> Result<Vec<OpResult>> {
    if hold == Hold::Lost {
        return Err(RecipeError::NotHolder);
    }
    match guarded_multi(client, holder, ops).await {
        Err(RecipeError::Client(client::Error::SessionExpired)) => Err(RecipeError::NotHolder),
        other => other,
    }
}

/// The `set_data` op of a guarded `set_data`.
pub fn set_data_op(path: &str, data: &[u8], version: Option<i32>) -> Op {
    Op::SetData {
        path: path.to_string(),
        data: data.to_vec(),
        version,
    }
}
