//! A read-write lock (Curator's `InterProcessReadWriteLock`): readers and
//! writers join one line under the lock path. A writer holds when it is first
//! in line; a reader holds when no writer is ahead of it. A reader arriving
//! after a waiting writer queues behind it (writer preference), so writers
//! are not starved. A write guard can be downgraded to a read guard without
//! letting another writer in between (as in Curator, the holder of the write
//! lock takes the read lock at once; its read node keeps the write node's
//! place in line, so a writer that was waiting waits for the read lock too).
//!
//! The order and the turns are the contender's ([`Turn`]): each waiter
//! watches one node, a writer the node just ahead of it, a reader the
//! nearest writer ahead of it, so a release wakes only those it unblocks.
//! Both guards offer guarded writes that only apply while they hold.
//! Suspended / Expired: as [`Mutex`](super::Mutex) (hold in doubt, then lost).

use crate::internals::{Contender, FencingToken, HeldNode, Hold, Ticket, Turn};
use crate::Result;
use client::{Op, OpResult};

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

    /// Joins the line as a `kind` node and waits for its `turn`; leaves the
    /// line again on error.
    async fn join(&self, kind: &str, turn: Turn<'_>) -> Result<Ticket> {
        let ticket = self.labelled(kind).enter(b"").await?;
        match self.contender.wait_turn(&ticket, turn, None).await {
            Ok(_) => Ok(ticket),
            Err(e) => {
                let _ = self.contender.leave(&ticket).await;
                Err(e)
            }
        }
    }

    /// Waits for the write lock: first in line.
    pub async fn write(&self) -> Result<RwGuard> {
        let ticket = self.join(WRITE, Turn::FirstOf(1)).await?;
        Ok(self.guard(ticket, true))
    }

    /// Waits for a read lock: no writer ahead.
    pub async fn read(&self) -> Result<RwGuard> {
        let ticket = self.join(READ, READER).await?;
        Ok(self.guard(ticket, false))
    }

    /// The contender for `kind` nodes: the kind is the node's data-free
    /// label, part of its name.
    fn labelled(&self, kind: &str) -> Contender {
        Contender::new(self.contender.client().clone(), self.contender.base(), kind)
    }

    fn guard(&self, ticket: Ticket, write: bool) -> RwGuard {
        let node = HeldNode::new(self.contender.client().clone(), ticket);
        RwGuard {
            contender: self.contender.clone(),
            node,
            write,
        }
    }
}

/// A reader's turn: no writer ahead.
const READER: Turn<'static> = Turn::NoneAhead { label: WRITE };

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

    /// The lock node (a read or a write node).
    pub fn path(&self) -> &str {
        &self.node.ticket().path
    }

    /// Writes only while this guard holds its lock, read or write (a multi
    /// that checks its node first); `NotHolder` otherwise.
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

    /// Turns a write lock into a read lock with no writer in between (a read
    /// guard is returned as it is). The holder of the write lock takes the
    /// read lock at once, without waiting for a turn (Curator: "a thread
    /// holding the write lock may take the read lock"): its read node joins
    /// the line beside the write node, while that node still exists
    /// ([`Contender::enter_beside`]), then the write node is released.
    /// Readers that waited behind the write lock now share it; a writer that
    /// waited behind it waits for the read lock as well.
    ///
    /// `NotHolder` if the write node is already gone (the write lock was
    /// lost), `SessionLost` if the session ended; no read node is left behind
    /// either way.
    pub async fn downgrade(self) -> Result<RwGuard> {
        if !self.write {
            return Ok(self);
        }
        let lock = ReadWriteLock {
            contender: self.contender.clone(),
        };
        let read = lock
            .labelled(READ)
            .enter_beside(self.node.ticket(), b"")
            .await?;
        let read = lock.guard(read, false);
        self.node.release().await?;
        Ok(read)
    }

    /// Releases the lock.
    pub async fn release(self) -> Result<()> {
        self.node.release().await
    }
}
