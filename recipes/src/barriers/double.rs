//! A double barrier (Curator's `DistributedDoubleBarrier`): `enter` blocks
//! until `n` members have entered; `leave` blocks until every member has left.
//! Members are ephemeral nodes under the barrier path; the last to arrive
//! creates a `ready` node that releases everyone.
//!
//! Suspended: waits continue across the reconnect. Expired: the member's node
//! is gone (the others see it leave) and waits fail with `SessionLost`.

use crate::internals::paths::ensure_path;
use crate::internals::{Step, Waiter, Wake};
use crate::Result;
use client::{Client, CreateMode, CreateOptions, Error};
use std::time::Duration;

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

    /// Enters and waits until `count` members are in; false after `timeout`.
    /// Every wake-up re-checks (a spurious wake-up never lets anyone in).
    pub async fn enter(&self, timeout: Duration) -> Result<bool> {
        let waiter = Waiter::new(&self.client).timeout(timeout);
        ensure_path(&self.client, &self.path, false).await?;
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
        let ready = format!("{}/{READY}", self.path);
        let ready = ready.as_str();
        let entered = waiter
            .until(|| async move {
                // The flag is watched before the members are counted, so the
                // last member raising it after this look wakes us.
                let (flag, watch) = self.client.exists_watch(ready).await?;
                if flag.is_some() {
                    return Ok(Step::Done(()));
                }
                if self.members().await?.len() >= self.count {
                    match self
                        .client
                        .create(ready, b"", CreateOptions::default())
                        .await
                    {
                        Ok(_) | Err(Error::NodeExists { .. }) => return Ok(Step::Done(())),
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(Step::Wait(Wake::watch(watch)))
            })
            .await?;
        Ok(entered.is_some())
    }

    /// Leaves and waits until every member has left; false after `timeout`.
    pub async fn leave(&self, timeout: Duration) -> Result<bool> {
        let waiter = Waiter::new(&self.client).timeout(timeout);
        match self.client.delete(&self.member, None).await {
            Ok(()) | Err(Error::NoNode { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let ready = format!("{}/{READY}", self.path);
        let ready = ready.as_str();
        let left = waiter
            .until(|| async move {
                let (children, watch) = self.client.get_children_watch(&self.path).await?;
                if !children.iter().all(|c| c == READY) {
                    return Ok(Step::Wait(Wake::watch(watch)));
                }
                // The last one out lowers the ready flag for the next round.
                match self.client.delete(ready, None).await {
                    Ok(()) | Err(Error::NoNode { .. }) => Ok(Step::Done(())),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        Ok(left.is_some())
    }
}
