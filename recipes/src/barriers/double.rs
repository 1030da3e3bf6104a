//! A double barrier (Curator's `DistributedDoubleBarrier`): `enter` blocks
//! until `n` members have entered; `leave` blocks until every member has left.
//! Members are ephemeral nodes under the barrier path; the last to arrive
//! creates a `ready` node that releases everyone.
//!
//! Suspended: waits continue across the reconnect. Expired: the member's node
//! is gone (the others see it leave) and waits fail with `SessionLost`.

use crate::internals::paths::ensure_path;
use crate::{RecipeError, Result};
use client::{Client, CreateMode, CreateOptions, Error};
use std::time::Duration;
use tokio::time::Instant;

const READY: &str = "ready";

/// One member of a double barrier.
#[derive(Debug, Clone)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    member: String,
    count: usize,
}

impl DoubleBarrier {
    /// Member `id` of the barrier at `path` for `count` members.
    pub fn new(client: Client, path: &str, id: &str, count: usize) -> DoubleBarrier {
        let path = path.trim_end_matches('/').to_string();
        let member = format!("{path}/{id}");
        DoubleBarrier {
            client,
            path,
            member,
            count: count.max(1),
        }
    }

    async fn members(&self) -> Result<Vec<String>> {
        let mut children = self.client.get_children(&self.path).await?;
        children.retain(|c| c != READY);
        Ok(children)
    }

    async fn wait(watch: client::OneshotWatch, deadline: Instant) -> Result<bool> {
        match tokio::time::timeout_at(deadline, watch).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(Error::SessionExpired | Error::Closed)) => Err(RecipeError::SessionLost),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Ok(false),
        }
    }

    /// Enters and waits until `count` members are in; false after `timeout`.
    pub async fn enter(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        ensure_path(&self.client, &self.path, false).await?;
        let ready = format!("{}/{READY}", self.path);
        let (already, ready_watch) = self.client.exists_watch(&ready).await?;
        match self
            .client
            .create(
                &self.member,
                b"",
                CreateOptions::mode(CreateMode::Ephemeral),
            )
            .await
        {
            Ok(_) | Err(Error::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if already.is_some() {
            return Ok(true);
        }
        if self.members().await?.len() >= self.count {
            match self
                .client
                .create(&ready, b"", CreateOptions::default())
                .await
            {
                Ok(_) | Err(Error::NodeExists { .. }) => return Ok(true),
                Err(e) => return Err(e.into()),
            }
        }
        Self::wait(ready_watch, deadline).await
    }

    /// Leaves and waits until every member has left; false after `timeout`.
    pub async fn leave(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        match self.client.delete(&self.member, None).await {
            Ok(()) | Err(Error::NoNode { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        loop {
            let (children, watch) = self.client.get_children_watch(&self.path).await?;
            if children.iter().all(|c| c == READY) {
                // The last one out lowers the ready flag for the next round.
                match self
                    .client
                    .delete(&format!("{}/{READY}", self.path), None)
                    .await
                {
                    Ok(()) | Err(Error::NoNode { .. }) => return Ok(true),
                    Err(e) => return Err(e.into()),
                }
            }
            if !Self::wait(watch, deadline).await? {
                return Ok(false);
            }
        }
    }
}
