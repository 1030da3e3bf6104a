//! Service discovery and heartbeats, on group membership.
//!
//! [`ServiceDiscovery`] registers instances of named services as ephemeral
//! nodes `<base>/<service>/<instance id>` holding a JSON payload (address,
//! port, anything), and lists or watches them. [`HeartbeatPublisher`] writes a
//! beat into a member's node at an interval; [`stale_members`] reports members
//! whose session is alive (the node exists) but whose last beat is older than
//! a limit: a stuck process that still holds its session.
//!
//! Suspended: registrations stay (other clients still see them until the
//! session expires); beats pause. Expired: registrations vanish; re-register
//! with a new client.

use super::group::{members, GroupMember};
use crate::{RecipeError, Result};
use client::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// Registers and finds service instances under a base path.
#[derive(Debug, Clone)]
pub struct ServiceDiscovery {
    client: Client,
    base: String,
}

impl ServiceDiscovery {
    /// Discovery under `base` (for example `/services`).
    pub fn new(client: Client, base: &str) -> ServiceDiscovery {
        ServiceDiscovery {
            client,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    fn group(&self, service: &str) -> String {
        format!("{}/{service}", self.base)
    }

    /// Registers instance `id` of `service` with `payload`; it stays
    /// registered while the returned membership and the session live.
    pub async fn register<T: Serialize>(
        &self,
        service: &str,
        id: &str,
        payload: &T,
    ) -> Result<GroupMember> {
        let data = serde_json::to_vec(payload).map_err(|e| RecipeError::Decode(e.to_string()))?;
        GroupMember::join(self.client.clone(), &self.group(service), id, &data).await
    }

    /// The instances of `service` now, by id.
    pub async fn instances<T: DeserializeOwned>(&self, service: &str) -> Result<Vec<(String, T)>> {
        let found = match members(&self.client, &self.group(service)).await {
            Ok(found) => found,
            Err(RecipeError::Client(client::Error::NoNode { .. })) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        found
            .into_iter()
            .map(|(id, data)| {
                let payload = serde_json::from_slice(&data)
                    .map_err(|e| RecipeError::Decode(e.to_string()))?;
                Ok((id, payload))
            })
            .collect()
    }
}

/// Writes a heartbeat (the publisher's wall-clock ms) into a node at an interval.
#[derive(Debug)]
pub struct HeartbeatPublisher {
    task: tokio::task::JoinHandle<()>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl HeartbeatPublisher {
    /// Beats into `path` (a member node) every `interval`.
    pub fn start(client: Client, path: &str, interval: Duration) -> HeartbeatPublisher {
        let path = path.to_string();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            loop {
                ticks.tick().await;
                let beat = format!("{{\"beat_ms\":{}}}", now_ms());
                match client.set_data(&path, beat.as_bytes(), None).await {
                    Ok(_) | Err(client::Error::ConnectionLoss) => {}
                    Err(_) => return,
                }
            }
        });
        HeartbeatPublisher { task }
    }

    /// Stops beating (the member then goes stale).
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for HeartbeatPublisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Members of `group` whose node still exists but was last written more than
/// `max_age` ago (server mtime against this machine's clock; keep clock skew
/// well below `max_age`).
pub async fn stale_members(client: &Client, group: &str, max_age: Duration) -> Result<Vec<String>> {
    let now = now_ms();
    let mut stale = Vec::new();
    for id in client.get_children(group).await? {
        if let Some(stat) = client.exists(&format!("{group}/{id}")).await? {
            if now - stat.mtime > max_age.as_millis() as i64 {
                stale.push(id);
            }
        }
    }
    Ok(stale)
}
