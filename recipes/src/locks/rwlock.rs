//! A read-write lock (Curator's `InterProcessReadWriteLock`): readers and
//! writers join one line under the lock path. A writer holds when it is first
//! in line; a reader holds when no writer is ahead of it. A reader arriving
//! after a waiting writer queues behind it (writer preference), so writers
//! are not starved. A write guard can be downgraded to a read guard without
//! letting another writer in between.
//!
//! Each waiter watches one node: a writer the node just ahead of it, a reader
//! the nearest writer ahead of it, so a release wakes only those it unblocks.
//! Suspended / Expired: as [`Mutex`](super::Mutex) (hold in doubt, then lost).

use crate::internals::{Contender, FencingToken, HeldNode, Hold, Ticket};
use crate::{RecipeError, Result};
use client::Error;

/// A read-write lock at a path.
#[derive(Debug, Clone)]
pub struct ReadWriteLock {
    contender: Contender,
}

/// A held lock of either kind; release with [`RwGuard::release`].
#[derive(Debug)]
pub struct RwGuard {
    contender: Contender,
    node: HeldNode,
    write: bool,
}

const READ: &str = "read";
const WRITE: &str = "write";

impl ReadWriteLock {
    /// The lock at `path`.
    pub fn new(client: client::Client, path: &str) -> ReadWriteLock {
        ReadWriteLock {
            contender: Contender::new(client, path, "rw"),
        }
    }

    async fn enter(&self, kind: &str) -> Result<Ticket> {
        // The kind is the node's data-free label, part of its name.
        let labelled = Contender::new(self.contender.client().clone(), self.contender.base(), kind);
        labelled.enter(b"").await
    }

    /// Waits for the write lock.
    pub async fn write(&self) -> Result<RwGuard> {
        let ticket = self.enter(WRITE).await?;
        match self.contender.wait_turn(&ticket, 1, None, None).await {
            Ok(_) => Ok(self.guard(ticket, true)),
            Err(e) => {
                let _ = self.contender.leave(&ticket).await;
                Err(e)
            }
        }
    }

    /// Waits for a read lock.
    pub async fn read(&self) -> Result<RwGuard> {
        let ticket = self.enter(READ).await?;
        match self.wait_read(&ticket, None).await {
            Ok(()) => Ok(self.guard(ticket, false)),
            Err(e) => {
                let _ = self.contender.leave(&ticket).await;
                Err(e)
            }
        }
    }

    fn guard(&self, ticket: Ticket, write: bool) -> RwGuard {
        let node = HeldNode::new(self.contender.client().clone(), ticket);
        RwGuard {
            contender: self.contender.clone(),
            node,
            write,
        }
    }

    /// Waits until no writer (other than `except`) is ahead of `ticket`.
    async fn wait_read(&self, ticket: &Ticket, except: Option<&str>) -> Result<()> {
        let client = self.contender.client();
        let writer_tag = format!("-{WRITE}-");
        loop {
            let line = self.contender.line(None).await?;
            let index = line
                .iter()
                .position(|n| *n == ticket.name)
                .ok_or(RecipeError::Closed)?;
            let blocking = line[..index]
                .iter()
                .rev()
                .find(|n| n.contains(&writer_tag) && Some(n.as_str()) != except);
            let Some(writer) = blocking else {
                return Ok(());
            };
            let (stat, watch) = client
                .exists_watch(&format!("{}/{writer}", self.contender.base()))
                .await?;
            if stat.is_none() {
                continue;
            }
            match watch.await {
                Ok(_) => {}
                Err(Error::SessionExpired | Error::Closed) => return Err(RecipeError::SessionLost),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl RwGuard {
    /// True for a write lock.
    pub fn is_write(&self) -> bool {
        self.write
    }

    /// The hold's fencing token.
    pub fn fencing_token(&self) -> FencingToken {
        self.node.fencing_token()
    }

    /// Whether the lock is still held.
    pub fn hold(&self) -> Hold {
        self.node.hold()
    }

    /// Turns a write lock into a read lock with no writer in between: the
    /// read node is created while the write lock is held, then the write node
    /// is removed.
    pub async fn downgrade(self) -> Result<RwGuard> {
        if !self.write {
            return Ok(self);
        }
        let lock = ReadWriteLock {
            contender: self.contender.clone(),
        };
        let read = lock.enter(READ).await?;
        lock.wait_read(&read, Some(&self.node.ticket().name))
            .await?;
        self.node.release().await?;
        Ok(lock.guard(read, false))
    }

    /// Releases the lock.
    pub async fn release(self) -> Result<()> {
        self.node.release().await
    }
}
