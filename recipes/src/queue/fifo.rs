//! A FIFO queue (Curator's `SimpleDistributedQueue`): items are
//! persistent-sequential nodes `<path>/qn-<seq>`; a consumer takes the lowest
//! one by deleting it, so each item goes to exactly one consumer even with
//! many competing. An optional priority prefix orders items first by priority.
//!
//! Suspended: `put`/`take` wait for the reconnect; a `take` whose delete
//! answer was lost re-reads and may move on (the item then went to this
//! consumer or another, never to two). Expired: calls fail; items are
//! persistent and stay for other consumers.

use crate::internals::paths::{ensure_path, sequence_of};
use crate::internals::{Step, Waiter, Wake};
use crate::{RecipeError, Result};
use client::{Client, CreateMode, CreateOptions, Error};
use std::time::Duration;

/// A queue at a path.
#[derive(Debug, Clone)]
pub struct DistributedQueue {
    client: Client,
    path: String,
}

impl DistributedQueue {
    /// The queue at `path`.
    pub async fn new(client: Client, path: &str) -> Result<DistributedQueue> {
        let path = path.trim_end_matches('/').to_string();
        ensure_path(&client, &path, false).await?;
        Ok(DistributedQueue { client, path })
    }

    /// Adds an item.
    pub async fn put(&self, data: &[u8]) -> Result<()> {
        self.put_with_priority(data, 0).await
    }

    /// Adds an item with a priority (0..=999, lower first).
    pub async fn put_with_priority(&self, data: &[u8], priority: u16) -> Result<()> {
        let prefix = format!("{}/qn-{:03}-", self.path, priority.min(999));
        self.client
            .create(
                &prefix,
                data,
                CreateOptions::mode(CreateMode::PersistentSequential),
            )
            .await?;
        Ok(())
    }

    fn order_key(name: &str) -> (u32, i64) {
        let priority = name
            .get(3..6)
            .and_then(|p| p.parse().ok())
            .unwrap_or(u32::MAX);
        (priority, sequence_of(name).unwrap_or(i64::MAX))
    }

    /// Takes the first item, or `None` if the queue is empty.
    pub async fn poll(&self) -> Result<Option<Vec<u8>>> {
        let mut names = self.client.get_children(&self.path).await?;
        names.retain(|n| n.starts_with("qn-"));
        names.sort_by_key(|n| Self::order_key(n));
        for name in names {
            let path = format!("{}/{name}", self.path);
            let data = match self.client.get_data(&path).await {
                Ok((data, _)) => data,
                Err(Error::NoNode { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            match self.client.delete(&path, None).await {
                Ok(()) => return Ok(Some(data)),
                // Another consumer took it first.
                Err(Error::NoNode { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Takes the first item, waiting up to `timeout` for one to arrive
    /// (`Timeout` if none did).
    pub async fn take(&self, timeout: Duration) -> Result<Vec<u8>> {
        let item = Waiter::new(&self.client)
            .timeout(timeout)
            .until(|| async move {
                if let Some(item) = self.poll().await? {
                    return Ok(Step::Done(item));
                }
                let (children, watch) = self.client.get_children_watch(&self.path).await?;
                if children.iter().any(|n| n.starts_with("qn-")) {
                    return Ok(Step::Again);
                }
                Ok(Step::Wait(Wake::watch(watch)))
            })
            .await?;
        item.ok_or(RecipeError::Timeout)
    }
}
