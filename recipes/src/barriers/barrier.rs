//! A barrier (Curator's `DistributedBarrier`): while its node exists, waiters
//! block; removing it releases them all.
//!
//! Suspended: a waiter keeps waiting (its watch is re-registered on
//! reconnect). Expired: waiting fails with `SessionLost`.

use crate::internals::paths::ensure_path;
use crate::internals::{Step, Waiter, Wake};
use crate::Result;
use client::{Client, CreateOptions, Error};
use std::time::Duration;

/// A barrier at a path.
#[derive(Debug, Clone)]
pub struct Barrier {
    client: Client,
    path: String,
}

impl Barrier {
    /// The barrier at `path`.
    pub fn new(client: Client, path: &str) -> Barrier {
        Barrier {
            client,
            path: path.to_string(),
        }
    }

    /// Raises the barrier (creates its node).
    pub async fn set(&self) -> Result<()> {
        if let Some(parent) = self
            .path
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty())
        {
            ensure_path(&self.client, parent, false).await?;
        }
        match self
            .client
            .create(&self.path, b"", CreateOptions::default())
            .await
        {
            Ok(_) | Err(Error::NodeExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Lowers the barrier, releasing every waiter.
    pub async fn remove(&self) -> Result<()> {
        match self.client.delete(&self.path, None).await {
            Ok(()) | Err(Error::NoNode { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until the barrier is down; false after `timeout`.
    pub async fn wait(&self, timeout: Duration) -> Result<bool> {
        let (client, path) = (&self.client, self.path.as_str());
        let down = Waiter::new(client)
            .timeout(timeout)
            .until(|| async move {
                Ok(match client.exists_watch(path).await? {
                    (None, _) => Step::Done(()),
                    (Some(_), watch) => Step::Wait(Wake::watch(watch)),
                })
            })
            .await?;
        Ok(down.is_some())
    }
}
