//! Group membership (Curator's `GroupMember`): each member is an ephemeral
//! node `<group>/<id>` holding its data; the member list is the children.
//!
//! Suspended: the membership is in doubt ([`Hold::InDoubt`]); other members
//! still see it until the session expires. Expired: the node is gone and the
//! member is out ([`Hold::Lost`]); join again with a new client.

use crate::internals::contender::guaranteed_delete;
use crate::internals::paths::ensure_path;
use crate::internals::{Hold, HoldWatch};
use crate::Result;
use client::{AddWatchMode, Client, CreateMode, CreateOptions};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::BTreeMap;

/// This client's membership in a group.
#[derive(Debug)]
pub struct GroupMember {
    client: Client,
    group: String,
    path: String,
    hold: HoldWatch,
}

/// Every member's data, by id.
pub type Members = BTreeMap<String, Vec<u8>>;

impl GroupMember {
    /// Joins `group` as `id` with `data`. An id already taken by another live
    /// session is `NodeExists`.
    pub async fn join(client: Client, group: &str, id: &str, data: &[u8]) -> Result<GroupMember> {
        let group = group.trim_end_matches('/').to_string();
        ensure_path(&client, &group, false).await?;
        let path = format!("{group}/{id}");
        match client
            .create(&path, data, CreateOptions::mode(CreateMode::Ephemeral))
            .await
        {
            Ok(_) => {}
            Err(client::Error::NodeExists { .. }) => {
                // Ours already (a create whose answer was lost)?
                let stat = client.exists(&path).await?;
                if stat.map(|s| s.ephemeral_owner) != Some(client.session_id()) {
                    return Err(client::Error::NodeExists { path }.into());
                }
            }
            Err(e) => return Err(e.into()),
        }
        let hold = HoldWatch::track(&client, &path);
        Ok(GroupMember {
            client,
            group,
            path,
            hold,
        })
    }

    /// Whether this membership is still held.
    pub fn hold(&self) -> Hold {
        self.hold.get()
    }

    /// Replaces this member's data (heartbeats, status).
    pub async fn set_data(&self, data: &[u8]) -> Result<()> {
        self.client.set_data(&self.path, data, None).await?;
        Ok(())
    }

    /// The members now.
    pub async fn members(&self) -> Result<Members> {
        members(&self.client, &self.group).await
    }

    /// The member list now and after every change, as a stream (a persistent
    /// recursive watch on the group; re-read in full at each change).
    pub async fn watch(&self) -> Result<BoxStream<'static, Members>> {
        let events = self
            .client
            .add_watch(&self.group, AddWatchMode::PersistentRecursive)
            .await?;
        let first = self.members().await?;
        let (client, group) = (self.client.clone(), self.group.clone());
        let updates = events.then(move |_| {
            let (client, group) = (client.clone(), group.clone());
            async move { members(&client, &group).await.ok() }
        });
        Ok(futures::stream::once(async move { first })
            .chain(updates.filter_map(|m| async move { m }))
            .boxed())
    }

    /// Leaves the group.
    pub async fn leave(self) -> Result<()> {
        self.hold.end();
        guaranteed_delete(&self.client, &self.path).await
    }
}

/// The members of a group (id → data).
pub async fn members(client: &Client, group: &str) -> Result<Members> {
    let mut out = BTreeMap::new();
    for id in client.get_children(group).await? {
        match client.get_data(&format!("{group}/{id}")).await {
            Ok((data, _)) => {
                out.insert(id, data);
            }
            Err(client::Error::NoNode { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
