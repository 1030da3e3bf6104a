//! Counters stored in one node as decimal text.
//!
//! Suspended: operations wait for the reconnect (the client's behaviour); a
//! compare-and-set whose answer was lost may have applied: re-read before
//! retrying (the version tells). Expired: operations fail with the client's
//! `SessionExpired`; the stored value is unaffected.

use crate::internals::paths::ensure_path;
use crate::{RecipeError, Result};
use client::{Client, CreateOptions, Error};

/// A shared integer with versioned compare-and-set (Curator's `SharedCount`).
#[derive(Debug, Clone)]
pub struct SharedCount {
    client: Client,
    path: String,
}

fn decode(data: &[u8]) -> Result<i64> {
    if data.is_empty() {
        return Ok(0);
    }
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| RecipeError::Decode(String::from_utf8_lossy(data).into_owned()))
}

impl SharedCount {
    /// The counter at `path`, created with `seed` if missing.
    pub async fn new(client: Client, path: &str, seed: i64) -> Result<SharedCount> {
        if let Some(parent) = path
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty())
        {
            ensure_path(&client, parent, false).await?;
        }
        match client
            .create(path, seed.to_string().as_bytes(), CreateOptions::default())
            .await
        {
            Ok(_) | Err(Error::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(SharedCount {
            client,
            path: path.to_string(),
        })
    }

    /// The value and its version.
    pub async fn get(&self) -> Result<(i64, i32)> {
        let (data, stat) = self.client.get_data(&self.path).await?;
        Ok((decode(&data)?, stat.version))
    }

    /// Sets `value` only if the node is still at `version`; false if not.
    pub async fn try_set(&self, value: i64, version: i32) -> Result<bool> {
        match self
            .client
            .set_data(&self.path, value.to_string().as_bytes(), Some(version))
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::BadVersion { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets `value` unconditionally.
    pub async fn set(&self, value: i64) -> Result<()> {
        self.client
            .set_data(&self.path, value.to_string().as_bytes(), None)
            .await?;
        Ok(())
    }
}

/// The outcome of an atomic change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtomicValue {
    /// Value before.
    pub pre: i64,
    /// Value after.
    pub post: i64,
}

/// A counter changed atomically by compare-and-set loops (Curator's
/// `DistributedAtomicLong`, optimistic mode).
#[derive(Debug, Clone)]
pub struct DistributedAtomicLong {
    count: SharedCount,
    max_attempts: usize,
}

impl DistributedAtomicLong {
    /// The counter at `path` (created at 0), giving up after `max_attempts`
    /// lost races.
    pub async fn new(
        client: Client,
        path: &str,
        max_attempts: usize,
    ) -> Result<DistributedAtomicLong> {
        Ok(DistributedAtomicLong {
            count: SharedCount::new(client, path, 0).await?,
            max_attempts: max_attempts.max(1),
        })
    }

    /// The current value.
    pub async fn get(&self) -> Result<i64> {
        Ok(self.count.get().await?.0)
    }

    /// Adds `delta` atomically.
    pub async fn add(&self, delta: i64) -> Result<AtomicValue> {
        for _ in 0..self.max_attempts {
            let (pre, version) = self.count.get().await?;
            let post = pre.wrapping_add(delta);
            match self.count.try_set(post, version).await {
                Ok(true) => return Ok(AtomicValue { pre, post }),
                Ok(false) => continue,
                // The answer was lost: the write may have applied; a fresh
                // read and a version check settle it on the next round.
                Err(RecipeError::Client(Error::ConnectionLoss)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(RecipeError::Timeout)
    }

    /// Adds one.
    pub async fn increment(&self) -> Result<AtomicValue> {
        self.add(1).await
    }
}
