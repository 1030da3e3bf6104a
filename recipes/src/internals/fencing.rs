//! Fencing tokens and guarded writes.
//!
//! A lock, lease or leadership is represented by a node; its token is the
//! zxid that created it, which only grows, so a newer holder always has a
//! larger token. A resource that remembers the largest token it has seen can
//! refuse a stale holder. Inside Corral itself, a *guarded* write does better:
//! it is a multi whose first op checks that the holder's node still exists,
//! so a paused or partitioned old holder cannot overwrite the new one's work.

use crate::{RecipeError, Result};
use client::{Client, Op, OpResult};

/// A monotonically increasing token of a hold (the creating zxid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(pub i64);

/// Applies `ops` atomically only if the node at `holder` still exists;
/// otherwise `NotHolder` and nothing is written.
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
