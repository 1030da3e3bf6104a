//! A distributed mutex (Curator's `InterProcessSemaphoreMutex` semantics).
//!
//! Each `acquire` joins the line under the lock path with an
//! ephemeral-sequential node and waits for the node just ahead of it to go:
//! a release wakes exactly one waiter. The returned [`MutexGuard`] *is* the
//! ownership: it is non-reentrant (acquiring again waits behind yourself; use
//! [`ReentrantGuard`](super::ReentrantGuard) to re-enter) and releasing is
//! `guard.release()` (or dropping it, which deletes the node in the
//! background).
//!
//! On `Suspended` the guard's [`Hold`] turns `InDoubt`: stop acting as holder
//! until it is `Held` again. On `Expired` it turns `Lost`: the node is gone and
//! another client may hold the lock; guarded writes made through the guard are
//! refused from then on.

use crate::internals::{Contender, FencingToken, HeldNode, Hold};
use crate::{RecipeError, Result};
use client::{Client, Op, OpResult};
use std::time::Duration;
use tokio::time::Instant;

/// A mutex at a path.
#[derive(Debug, Clone)]
pub struct Mutex {
    contender: Contender,
}

/// Holding the mutex. Release with [`MutexGuard::release`]; dropping it
/// releases in the background.
#[derive(Debug)]
pub struct MutexGuard {
    node: HeldNode,
}

impl Mutex {
    /// A mutex whose contenders live under `path`.
    pub fn new(client: Client, path: &str) -> Mutex {
        Mutex {
            contender: Contender::new(client, path, "lock"),
        }
    }

    /// Waits until the lock is ours.
    pub async fn acquire(&self) -> Result<MutexGuard> {
        self.acquire_until(None).await?.ok_or(RecipeError::Timeout)
    }

    /// Waits at most `timeout`; `None` if the lock was not free in time (our
    /// place in line is given up).
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<MutexGuard>> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    async fn acquire_until(&self, deadline: Option<Instant>) -> Result<Option<MutexGuard>> {
        let ticket = self.contender.acquire(1, deadline).await?;
        Ok(ticket.map(|t| MutexGuard {
            node: HeldNode::new(self.contender.client().clone(), t),
        }))
    }

    /// How many times waiters of this value were woken (no-herd checks).
    pub fn wakeups(&self) -> u64 {
        self.contender.wakeups()
    }
}

impl MutexGuard {
    /// The fencing token of this hold: larger for every later holder.
    pub fn fencing_token(&self) -> FencingToken {
        self.node.fencing_token()
    }

    /// The lock node.
    pub fn path(&self) -> &str {
        &self.node.ticket().path
    }

    /// Whether the lock is still held.
    pub fn hold(&self) -> Hold {
        self.node.hold()
    }

    /// Completes when the lock is lost (session expired).
    pub async fn lost(&self) {
        self.node.lost().await
    }

    /// Writes only if this guard still holds the lock (a multi that checks the
    /// lock node first); `NotHolder` otherwise, also once the hold is known
    /// lost or the session expired.
    pub async fn guarded_multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        self.node.guarded_multi(ops).await
    }

    /// `set_data` guarded by this hold.
    pub async fn guarded_set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<()> {
        self.node.guarded_set_data(path, data, version).await
    }

    /// Releases the lock: deletes the node (through connection loss).
    pub async fn release(self) -> Result<()> {
        self.node.release().await
    }
}
