//! The sequential-node dance, once for every recipe (Curator's
//! `LockInternals`): each contender creates an ephemeral-sequential node
//! under a base path; order is the sequence number; a contender waits only
//! for the node `n` places ahead of it (no herd: one release wakes one
//! waiter).
//!
//! Creates are *protected*: the name starts with a random prefix, so if the
//! connection drops before the answer arrives, the contender finds the node it
//! may have created (same prefix, owned by its session) and adopts it instead
//! of leaving a ghost that would block everyone until the session ends.

use super::paths::{ensure_path, sequence_of};
use crate::{RecipeError, Result};
use client::{Client, CreateMode, CreateOptions, Error};
use rand::RngCore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::time::Instant;

/// A place in line: the node a contender created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Full path of the node.
    pub path: String,
    /// The node's name (last segment).
    pub name: String,
    /// Its sequence number.
    pub sequence: i64,
    /// The zxid that created it: a fencing token.
    pub czxid: i64,
}

/// Contenders for one base path.
#[derive(Debug, Clone)]
pub struct Contender {
    client: Client,
    base: String,
    label: String,
    wakeups: Arc<AtomicU64>,
}

impl Contender {
    /// Contenders under `base`, nodes named `<protection>-<label>-<seq>`.
    pub fn new(client: Client, base: &str, label: &str) -> Contender {
        Contender {
            client,
            base: base.trim_end_matches('/').to_string(),
            label: label.to_string(),
            wakeups: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The base path.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How many times a waiting contender of this value was woken by a watch
    /// (tests use it to show there is no herd).
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Joins the line with `data`; protected against a lost create.
    pub async fn enter(&self, data: &[u8]) -> Result<Ticket> {
        let mut id = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut id);
        let protection: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let prefix = format!("_c_{protection}-{}-", self.label);
        loop {
            ensure_path(&self.client, &self.base, true).await?;
            let path = format!("{}/{prefix}", self.base);
            match self
                .client
                .create(
                    &path,
                    data,
                    CreateOptions::mode(CreateMode::EphemeralSequential),
                )
                .await
            {
                Ok((path, stat)) => return self.ticket(path, stat.czxid),
                // The container was reaped between ensure_path and create.
                Err(Error::NoNode { .. }) => continue,
                // The create may have happened: find it before trying again,
                // and keep looking through further connection losses (giving
                // up here would leave an orphan node ahead of everyone).
                Err(Error::ConnectionLoss) => loop {
                    match self.adopt(&prefix).await {
                        Ok(Some(ticket)) => return Ok(ticket),
                        Ok(None) => break,
                        Err(RecipeError::Client(Error::ConnectionLoss)) => continue,
                        Err(e) => return Err(e),
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn ticket(&self, path: String, czxid: i64) -> Result<Ticket> {
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let sequence = sequence_of(&name)
            .ok_or_else(|| RecipeError::Decode(format!("no sequence in {name}")))?;
        Ok(Ticket {
            path,
            name,
            sequence,
            czxid,
        })
    }

    /// Finds a node created by this session with `prefix` (a create whose
    /// answer was lost).
    async fn adopt(&self, prefix: &str) -> Result<Option<Ticket>> {
        // The lost create may still be on its way through the log (a leader
        // failover commits it later): `sync` first, so that anything that
        // will ever commit from before this point is visible here.
        self.client.sync(&self.base).await?;
        let children = match self.client.get_children(&self.base).await {
            Ok(c) => c,
            Err(Error::NoNode { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        for name in children.into_iter().filter(|n| n.starts_with(prefix)) {
            let path = format!("{}/{name}", self.base);
            if let Some(stat) = self.client.exists(&path).await? {
                if stat.ephemeral_owner == self.client.session_id() {
                    return self.ticket(path, stat.czxid).map(Some);
                }
            }
        }
        Ok(None)
    }

    /// Every contender's node name in line order (optionally only those whose
    /// label is `label`).
    pub async fn line(&self, label: Option<&str>) -> Result<Vec<String>> {
        let mut children = match self.client.get_children(&self.base).await {
            Ok(c) => c,
            Err(Error::NoNode { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        children.retain(|n| n.starts_with("_c_") && sequence_of(n).is_some());
        if let Some(label) = label {
            let tag = format!("-{label}-");
            children.retain(|n| n.contains(&tag));
        }
        children.sort_by_key(|n| sequence_of(n).unwrap_or(i64::MAX));
        Ok(children)
    }

    /// Waits until `ticket` is among the first `n` of the line (of `label`
    /// entries, if given), watching only the node `n` places ahead. `false`
    /// if `deadline` passed first; `SessionLost` if the session ended;
    /// `Closed` if the ticket's node is gone (deleted by someone else).
    pub async fn wait_turn(
        &self,
        ticket: &Ticket,
        n: usize,
        label: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<bool> {
        loop {
            let line = self.line(label).await?;
            let Some(index) = line.iter().position(|name| *name == ticket.name) else {
                return Err(RecipeError::Closed);
            };
            if index < n.max(1) {
                return Ok(true);
            }
            let ahead = format!("{}/{}", self.base, line[index - n.max(1)]);
            let (stat, watch) = self.client.exists_watch(&ahead).await?;
            if stat.is_none() {
                continue;
            }
            let fired = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, watch).await {
                    Ok(fired) => fired,
                    Err(_) => return Ok(false),
                },
                None => watch.await,
            };
            match fired {
                Ok(_) => {
                    self.wakeups.fetch_add(1, Ordering::Relaxed);
                }
                Err(Error::SessionExpired) | Err(Error::Closed) => {
                    return Err(RecipeError::SessionLost)
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Joins the line and waits to be among the first `n`; gives up its place
    /// (deleting its node) on timeout (`None`) or error.
    pub async fn acquire(&self, n: usize, deadline: Option<Instant>) -> Result<Option<Ticket>> {
        let ticket = self.enter(b"").await?;
        match self.wait_turn(&ticket, n, None, deadline).await {
            Ok(true) => Ok(Some(ticket)),
            Ok(false) => {
                self.leave(&ticket).await?;
                Ok(None)
            }
            Err(e) => {
                let _ = self.leave(&ticket).await;
                Err(e)
            }
        }
    }

    /// Leaves the line: deletes the ticket's node, retrying through
    /// connection loss until it is gone or the session is (guaranteed delete).
    pub async fn leave(&self, ticket: &Ticket) -> Result<()> {
        guaranteed_delete(&self.client, &ticket.path).await
    }
}

/// Deletes `path`, retrying through connection loss; done when the node or
/// the session is gone.
pub async fn guaranteed_delete(client: &Client, path: &str) -> Result<()> {
    loop {
        match client.delete(path, None).await {
            Ok(())
            | Err(Error::NoNode { .. })
            | Err(Error::SessionExpired)
            | Err(Error::Closed) => return Ok(()),
            Err(Error::ConnectionLoss) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
