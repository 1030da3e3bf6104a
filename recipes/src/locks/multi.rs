//! Composite locks: [`MultiLock`] takes several mutexes, all or none, and
//! [`ReentrantGuard`] lets the holder of a mutex re-enter it.
//!
//! Ownership is a value: re-entering is `guard.reenter()`, which returns
//! another guard for the same hold; the lock node goes when the last of them
//! is released. (Curator keys reentrancy on the thread; async tasks have no
//! stable thread.) Suspended / Expired: as [`Mutex`].

use super::{Mutex, MutexGuard};
use crate::{FencingToken, Hold, Result};
use client::{Op, OpResult};
use std::sync::Arc;

/// A re-enterable hold of a mutex.
#[derive(Debug, Clone)]
pub struct ReentrantGuard(Arc<MutexGuard>);

impl ReentrantGuard {
    /// Wraps a fresh hold.
    pub fn new(guard: MutexGuard) -> ReentrantGuard {
        ReentrantGuard(Arc::new(guard))
    }

    /// Enters again: another guard for the same hold.
    pub fn reenter(&self) -> ReentrantGuard {
        ReentrantGuard(self.0.clone())
    }

    /// How many guards share this hold.
    pub fn depth(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// The hold's fencing token.
    pub fn fencing_token(&self) -> FencingToken {
        self.0.fencing_token()
    }

    /// Whether the lock is still held.
    pub fn hold(&self) -> Hold {
        self.0.hold()
    }

    /// The lock node.
    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// Writes only while the lock is held, at any depth
    /// ([`MutexGuard::guarded_multi`]).
    pub async fn guarded_multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        self.0.guarded_multi(ops).await
    }

    /// `set_data` guarded by this hold.
    pub async fn guarded_set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<()> {
        self.0.guarded_set_data(path, data, version).await
    }

    /// Leaves one level; the last release frees the lock.
    pub async fn release(self) -> Result<()> {
        match Arc::try_unwrap(self.0) {
            Ok(guard) => guard.release().await,
            Err(_) => Ok(()),
        }
    }
}

/// Several mutexes taken together.
#[derive(Debug, Clone)]
pub struct MultiLock {
    locks: Vec<(String, Mutex)>,
}

/// Holding every lock of a [`MultiLock`].
#[derive(Debug)]
pub struct MultiGuard {
    guards: Vec<MutexGuard>,
}

impl MultiLock {
    /// A lock over the mutexes at `paths` (taken in sorted order, so two
    /// multi-locks over overlapping sets cannot deadlock).
    pub fn new(client: client::Client, paths: &[&str]) -> MultiLock {
        let mut locks: Vec<(String, Mutex)> = paths
            .iter()
            .map(|p| (p.to_string(), Mutex::new(client.clone(), p)))
            .collect();
        locks.sort_by(|a, b| a.0.cmp(&b.0));
        locks.dedup_by(|a, b| a.0 == b.0);
        MultiLock { locks }
    }

    /// Takes every lock, or none (those taken are released on failure).
    pub async fn acquire(&self) -> Result<MultiGuard> {
        let mut guards = Vec::with_capacity(self.locks.len());
        for (_, lock) in &self.locks {
            match lock.acquire().await {
                Ok(guard) => guards.push(guard),
                Err(e) => {
                    for guard in guards {
                        let _ = guard.release().await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(MultiGuard { guards })
    }
}

impl MultiGuard {
    /// The fencing tokens, one per lock, in path order.
    pub fn fencing_tokens(&self) -> Vec<FencingToken> {
        self.guards.iter().map(MutexGuard::fencing_token).collect()
    }

    /// Releases every lock.
    pub async fn release(self) -> Result<()> {
        let mut first_error = Ok(());
        for guard in self.guards {
            if let Err(e) = guard.release().await {
                if first_error.is_ok() {
                    first_error = Err(e);
                }
            }
        }
        first_error
    }
}
