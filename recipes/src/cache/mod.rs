//! One cache design (where Curator grew NodeCache, PathChildrenCache and
//! TreeCache before settling on CuratorCache): a local copy of a node, its
//! children, or its whole subtree, kept current from a persistent recursive
//! watch and rebuilt in full after every reconnect (changes made while the
//! client was away are picked up then).
//!
//! Suspended: the copy is served as it was (possibly stale) until the
//! reconnect rebuild. Expired: the cache stops updating and reports
//! `SessionLost` through [`Cache::events`].

use crate::internals::{Step, Waiter, Wake};
use crate::{RecipeError, Result};
use client::{AddWatchMode, Client, Error, SessionEvent, Stat};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The cached nodes: path → (data, stat).
type Map = std::sync::RwLock<BTreeMap<String, (Vec<u8>, Stat)>>;

/// What the cache covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// The root node only.
    Node,
    /// The root and its direct children.
    Children,
    /// The root and every descendant.
    Tree,
}

/// A change to the cached copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheEvent {
    /// A node entered the cache (created, or seen at a rebuild).
    Added(String),
    /// A cached node's data changed.
    Updated(String),
    /// A node left the cache.
    Removed(String),
    /// The whole copy was reloaded (after a reconnect).
    Rebuilt,
    /// The session expired; the cache no longer updates.
    SessionLost,
}

/// A live local copy of part of the tree.
#[derive(Debug)]
pub struct Cache {
    /// The client whose session waits on the cache follow.
    client: Client,
    nodes: Arc<Map>,
    events: broadcast::Sender<CacheEvent>,
    task: tokio::task::JoinHandle<()>,
}

fn depth(root: &str, path: &str) -> usize {
    let rest = if root == "/" {
        path
    } else {
        path.strip_prefix(root).unwrap_or(path)
    };
    rest.split('/').filter(|s| !s.is_empty()).count()
}

fn covers(mode: CacheMode, root: &str, path: &str) -> bool {
    let inside = root == "/" || path == root || path.starts_with(&format!("{root}/"));
    inside
        && match mode {
            CacheMode::Node => path == root,
            CacheMode::Children => depth(root, path) <= 1,
            CacheMode::Tree => true,
        }
}

async fn load(
    client: &Client,
    root: &str,
    mode: CacheMode,
) -> Result<BTreeMap<String, (Vec<u8>, Stat)>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_string()];
    while let Some(path) = pending.pop() {
        let (data, stat) = match client.get_data(&path).await {
            Ok(found) => found,
            Err(Error::NoNode { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let kids = stat.num_children > 0
            && mode != CacheMode::Node
            && (mode == CacheMode::Tree || path == root);
        out.insert(path.clone(), (data, stat));
        if kids {
            for child in client.get_children(&path).await.unwrap_or_default() {
                pending.push(if path == "/" {
                    format!("/{child}")
                } else {
                    format!("{path}/{child}")
                });
            }
        }
    }
    Ok(out)
}

impl Cache {
    /// Starts caching `root` in `mode`; returns once the first copy is loaded.
    pub async fn start(client: Client, root: &str, mode: CacheMode) -> Result<Cache> {
        let root = root.to_string();
        let mut watch = client
            .add_watch(&root, AddWatchMode::PersistentRecursive)
            .await?;
        let nodes: Arc<Map> = Arc::new(std::sync::RwLock::new(load(&client, &root, mode).await?));
        let (events, _) = broadcast::channel(1024);
        let mut session = client.events();
        let (task_nodes, task_events) = (nodes.clone(), events.clone());
        let waits_on = client.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = watch.next() => {
                        let Some(event) = event else { return };
                        if !covers(mode, &root, &event.path) {
                            continue;
                        }
                        let fresh = match client.get_data(&event.path).await {
                            Ok(found) => Some(found),
                            Err(Error::NoNode { .. }) => None,
                            Err(_) => continue,
                        };
                        let change = match task_nodes.write() {
                            Ok(mut map) => match fresh {
                                Some(entry) => match map.insert(event.path.clone(), entry) {
                                    Some(_) => CacheEvent::Updated(event.path),
                                    None => CacheEvent::Added(event.path),
                                },
                                None => {
                                    let prefix = format!("{}/", event.path);
                                    map.retain(|p, _| !p.starts_with(&prefix));
                                    match map.remove(&event.path) {
                                        Some(_) => CacheEvent::Removed(event.path),
                                        None => continue,
                                    }
                                }
                            },
                            Err(_) => return,
                        };
                        let _ = task_events.send(change);
                    }
                    state = session.recv() => match state {
                        Ok(SessionEvent::Reconnected) => {
                            if let Ok(fresh) = load(&client, &root, mode).await {
                                if let Ok(mut map) = task_nodes.write() {
                                    *map = fresh;
                                }
                                let _ = task_events.send(CacheEvent::Rebuilt);
                            }
                        }
                        Ok(SessionEvent::Expired | SessionEvent::Closed) => {
                            let _ = task_events.send(CacheEvent::SessionLost);
                            return;
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => return,
                    },
                }
            }
        });
        Ok(Cache {
            client: waits_on,
            nodes,
            events,
            task,
        })
    }

    /// The cached data and Stat of `path`.
    pub fn get(&self, path: &str) -> Option<(Vec<u8>, Stat)> {
        self.nodes.read().ok()?.get(path).cloned()
    }

    /// Every cached path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.nodes
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Changes from now on.
    pub fn events(&self) -> broadcast::Receiver<CacheEvent> {
        self.events.subscribe()
    }

    /// Waits until `check` holds for the cached copy (or `timeout`), checking
    /// again after every change.
    pub async fn wait_until(
        &self,
        timeout: std::time::Duration,
        check: impl Fn(&Cache) -> bool,
    ) -> Result<()> {
        let check = &check;
        let held = Waiter::new(&self.client)
            .timeout(timeout)
            .until(|| async move {
                // Subscribed before checking: a change made in between is
                // still seen.
                let mut events = self.events();
                if check(self) {
                    return Ok(Step::Done(()));
                }
                Ok(Step::Wait(Wake::on(async move {
                    match events.recv().await {
                        Ok(CacheEvent::SessionLost) => Err(RecipeError::SessionLost),
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Ok(()),
                        Err(broadcast::error::RecvError::Closed) => Err(RecipeError::Closed),
                    }
                })))
            })
            .await?;
        held.ok_or(RecipeError::Timeout)
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_cover_what_they_say() {
        assert!(covers(CacheMode::Node, "/a", "/a"));
        assert!(!covers(CacheMode::Node, "/a", "/a/b"));
        assert!(covers(CacheMode::Children, "/a", "/a/b"));
        assert!(!covers(CacheMode::Children, "/a", "/a/b/c"));
        assert!(covers(CacheMode::Tree, "/a", "/a/b/c"));
        assert!(!covers(CacheMode::Tree, "/a", "/ab"));
        assert!(covers(CacheMode::Children, "/", "/x"));
    }
}
