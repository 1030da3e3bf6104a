//! A typed configuration watcher: the node's data is JSON for `T`; every
//! version is delivered, in order, as it is written.
//!
//! Built on a persistent watch, which survives reconnects; after a reconnect
//! the node is re-read, so a change made while disconnected is delivered too
//! (intermediate versions may be skipped, the latest never is). Suspended:
//! no new versions until the reconnect. A read that loses its connection
//! (a failover) is tried again, not reported. Expired: the stream ends.

use crate::{RecipeError, Result};
use client::{AddWatchMode, Client, CreateOptions, Error, SessionEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::sync::mpsc;

/// First pause before a read that lost its connection is tried again.
const RETRY_FIRST: Duration = Duration::from_millis(50);
/// Longest pause between such reads.
const RETRY_MAX: Duration = Duration::from_secs(1);

/// One version of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The node's data version.
    pub version: i32,
    /// The value.
    pub value: T,
}

/// Watches a JSON configuration node.
#[derive(Debug)]
pub struct ConfigWatcher<T> {
    rx: mpsc::Receiver<Result<Versioned<T>>>,
    task: tokio::task::JoinHandle<()>,
    _type: PhantomData<T>,
}

async fn read<T: DeserializeOwned>(client: &Client, path: &str) -> Result<Option<Versioned<T>>> {
    match client.get_data(path).await {
        Ok((data, stat)) => {
            let value =
                serde_json::from_slice(&data).map_err(|e| RecipeError::Decode(e.to_string()))?;
            Ok(Some(Versioned {
                version: stat.version,
                value,
            }))
        }
        Err(Error::NoNode { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes a new version of the configuration (creating the node if missing).
pub async fn publish<T: Serialize>(client: &Client, path: &str, value: &T) -> Result<i32> {
    let data = serde_json::to_vec(value).map_err(|e| RecipeError::Decode(e.to_string()))?;
    match client.set_data(path, &data, None).await {
        Ok(stat) => Ok(stat.version),
        Err(Error::NoNode { .. }) => {
            client.create(path, &data, CreateOptions::default()).await?;
            Ok(0)
        }
        Err(e) => Err(e.into()),
    }
}

impl<T: DeserializeOwned + Send + 'static> ConfigWatcher<T> {
    /// Starts watching `path`; the current version (if any) comes first.
    pub async fn start(client: Client, path: &str) -> Result<ConfigWatcher<T>> {
        let mut events = client.add_watch(path, AddWatchMode::Persistent).await?;
        let mut session = client.events();
        let (tx, rx) = mpsc::channel(64);
        let path = path.to_string();
        let task = tokio::spawn(async move {
            use futures::StreamExt;
            let mut last = -1;
            // Set after a read lost its connection: the read is tried again
            // after this pause (or a reconnect), never reported.
            let mut retry: Option<Duration> = None;
            loop {
                match read::<T>(&client, &path).await {
                    Ok(Some(v)) if v.version != last || last == -1 => {
                        retry = None;
                        last = v.version;
                        if tx.send(Ok(v)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => retry = None,
                    Err(RecipeError::Client(e)) if e.is_retryable() => {
                        retry = Some(retry.map_or(RETRY_FIRST, |d| (d * 2).min(RETRY_MAX)));
                    }
                    Err(e) => {
                        let fatal = matches!(
                            e,
                            RecipeError::Client(Error::SessionExpired | Error::Closed)
                        );
                        let _ = tx.send(Err(e)).await;
                        if fatal {
                            return;
                        }
                    }
                }
                let pause = async {
                    match retry {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    event = events.next() => if event.is_none() { return },
                    () = pause => {}
                    state = session.recv() => match state {
                        Ok(SessionEvent::Reconnected) => {}
                        Ok(SessionEvent::Expired | SessionEvent::Closed) => {
                            let _ = tx.send(Err(RecipeError::SessionLost)).await;
                            return;
                        }
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    },
                }
            }
        });
        Ok(ConfigWatcher {
            rx,
            task,
            _type: PhantomData,
        })
    }

    /// The next version (`None` once the watcher has ended).
    pub async fn next(&mut self) -> Option<Result<Versioned<T>>> {
        self.rx.recv().await
    }
}

impl<T> Drop for ConfigWatcher<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
