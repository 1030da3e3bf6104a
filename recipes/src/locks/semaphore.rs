//! A counting semaphore: at most `n` leases at once (Curator's
//! `InterProcessSemaphoreV2` algorithm on the shared contender). A would-be
//! holder first takes an internal mutex (`<path>/locks`), then joins
//! `<path>/leases`; while its lease node is not among the first `n` (the
//! contender's [`Turn::FirstOf`]) it watches the lease list (the lease just
//! ahead when `n` is 1). Only the mutex holder ever waits, so a release
//! wakes one waiter, not a herd. A lease
//! offers guarded writes that only apply while it is held.
//!
//! Suspended / Expired: as [`Mutex`](super::Mutex): the lease's [`Hold`] goes
//! `InDoubt`, then `Lost` once the session expires.

use crate::internals::{Contender, FencingToken, HeldNode, Hold, Ticket, Turn};
use crate::{RecipeError, Result};
use client::{Client, Op, OpResult};
use std::time::Duration;
use tokio::time::Instant;

/// A semaphore with `n` leases at a path.
#[derive(Debug, Clone)]
pub struct Semaphore {
    lock: super::Mutex,
    contender: Contender,
    leases: usize,
}

/// One lease; release with [`Lease::release`] (dropping releases in the background).
#[derive(Debug)]
pub struct Lease {
    node: HeldNode,
}

impl Semaphore {
    /// A semaphore allowing `leases` holders at once.
    pub fn new(client: Client, path: &str, leases: usize) -> Semaphore {
        let base = path.trim_end_matches('/');
        Semaphore {
            lock: super::Mutex::new(client.clone(), &format!("{base}/locks")),
            contender: Contender::new(client, &format!("{base}/leases"), "lease"),
            leases: leases.max(1),
        }
    }

    /// Waits for a lease.
    pub async fn acquire(&self) -> Result<Lease> {
        self.acquire_until(None).await?.ok_or(RecipeError::Timeout)
    }

    /// Waits at most `timeout` for a lease.
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<Lease>> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    async fn acquire_until(&self, deadline: Option<Instant>) -> Result<Option<Lease>> {
        let guard = match deadline {
            Some(deadline) => match self
                .lock
                .try_acquire(deadline.saturating_duration_since(Instant::now()))
                .await?
            {
                Some(guard) => guard,
                None => return Ok(None),
            },
            None => self.lock.acquire().await?,
        };
        let ticket = self.contender.enter(b"").await?;
        let held = self.wait_for_room(&ticket, deadline).await;
        let _ = guard.release().await;
        match held {
            Ok(true) => Ok(Some(Lease {
                node: HeldNode::new(self.contender.client().clone(), ticket),
            })),
            Ok(false) => {
                self.contender.leave(&ticket).await?;
                Ok(None)
            }
            Err(e) => {
                let _ = self.contender.leave(&ticket).await;
                Err(e)
            }
        }
    }

    /// While holding the internal mutex: waits until `ticket` is among the
    /// first `n` leases (the contender's order and turn).
    async fn wait_for_room(&self, ticket: &Ticket, deadline: Option<Instant>) -> Result<bool> {
        self.contender
            .wait_turn(ticket, Turn::FirstOf(self.leases), deadline)
            .await
    }
}

impl Lease {
    /// The lease's fencing token.
    pub fn fencing_token(&self) -> FencingToken {
        self.node.fencing_token()
    }

    /// Whether the lease is still held.
    pub fn hold(&self) -> Hold {
        self.node.hold()
    }

    /// The lease node.
    pub fn path(&self) -> &str {
        &self.node.ticket().path
    }

    /// Writes only while this lease is held (a multi that checks the lease
    /// node first); `NotHolder` otherwise.
    pub async fn guarded_multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        self.node.guarded_multi(ops).await
    }

    /// `set_data` guarded by this lease.
    pub async fn guarded_set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<()> {
        self.node.guarded_set_data(path, data, version).await
    }

    /// Gives the lease back.
    pub async fn release(self) -> Result<()> {
        self.node.release().await
    }
}
