//! A typed configuration watcher: the node's data is JSON for `T`; every
//! version is delivered, in order, as it is written.
//!
//! Built on a persistent watch, which survives reconnects; after a reconnect
//! the node is re-read, so a change made while disconnected is delivered too
//! (intermediate versions may be skipped, the latest never is). Suspended:
//! no new versions until the reconnect. A read that loses its connection
//! (a failover) is tried again after a backoff (the waiting driver's
//! retry), not reported. Expired: the stream ends, after a `SessionLost`.

use crate::internals::{Step, Waiter, Wake};
use crate::{RecipeError, Result};
use client::{AddWatchMode, Client, CreateOptions, Error, PersistentWatch};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI32, Ordering};
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
        let events = client.add_watch(path, AddWatchMode::Persistent).await?;
        let (tx, rx) = mpsc::channel(64);
        let path = path.to_string();
        let task = tokio::spawn(async move {
            let ended = deliver(&client, &path, events, &tx).await;
            if let Err(RecipeError::SessionLost) = ended {
                let _ = tx.send(Err(RecipeError::SessionLost)).await;
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

/// Reads `path` after every event of its persistent watch (and after every
/// reconnect) and sends each new version to `tx`, until the consumer is gone
/// (`Ok`), the watch ends (`Closed`) or the session does (`SessionLost`). A
/// read that lost its connection is tried again after a backoff; other
/// errors are sent and the next event awaited.
async fn deliver<T: DeserializeOwned>(
    client: &Client,
    path: &str,
    events: PersistentWatch,
    tx: &mpsc::Sender<Result<Versioned<T>>>,
) -> Result<()> {
    // One wake at a time borrows the stream, between two looks.
    let events = &tokio::sync::Mutex::new(events);
    let last = &AtomicI32::new(-1);
    Waiter::new(client)
        .retry(RETRY_FIRST, RETRY_MAX)
        .until(|| async move {
            let sent = match read::<T>(client, path).await {
                Ok(Some(v)) if v.version != last.load(Ordering::Relaxed) => {
                    last.store(v.version, Ordering::Relaxed);
                    tx.send(Ok(v)).await.is_ok()
                }
                Ok(_) => true,
                // Retried by the waiter, or the end of the session.
                Err(RecipeError::Client(e))
                    if e.is_retryable() || matches!(e, Error::SessionExpired | Error::Closed) =>
                {
                    return Err(e.into())
                }
                Err(e) => tx.send(Err(e)).await.is_ok(),
            };
            if !sent {
                return Ok(Step::Done(()));
            }
            Ok(Step::Wait(Wake::on(async move {
                match events.lock().await.next().await {
                    Some(_) => Ok(()),
                    None => Err(RecipeError::Closed),
                }
            })))
        })
        .await
        // No deadline: the wait ends only with the consumer gone.
        .map(|_| ())
}

impl<T> Drop for ConfigWatcher<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
