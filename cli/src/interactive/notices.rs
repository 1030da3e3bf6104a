//! Owns what waits to be printed between commands: fired one-shot watches
//! and session transitions as zkCli's `WATCHER::` blocks, the watches
//! `removewatches` may still drop, and the `printwatches` switch.

use super::format::{self, event_line, session_line, watcher_block};
use client::{Client, OneshotWatch, PersistentWatch, SessionEvent, WatcherType};
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::stream::{BoxStream, FuturesUnordered, SelectAll};
use futures::{FutureExt, StreamExt};
use std::collections::HashMap;
use tokio::sync::broadcast;

/// What a one-shot watch waits for, as `removewatches` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// A data or exist watch (`get -w`, `stat -w`).
    Data,
    /// A child watch (`ls -w`).
    Child,
}

impl WatchKind {
    fn is_removed_by(self, kind: WatcherType) -> bool {
        matches!(
            (self, kind),
            (_, WatcherType::Any)
                | (WatchKind::Data, WatcherType::Data)
                | (WatchKind::Child, WatcherType::Children)
        )
    }
}

/// Text waiting to be printed between commands: fired one-shot watches
/// (`get -w`, `ls -w`, `stat -w`) and session transitions, both as zkCli's
/// `WATCHER::` blocks. Watches are bounded by the session: each resolves
/// at the latest when it ends, or when `removewatches` drops it.
pub struct Notices {
    watches: FuturesUnordered<BoxFuture<'static, (u64, Option<String>)>>,
    pending: HashMap<u64, (String, WatchKind, AbortHandle)>,
    next_id: u64,
    /// `addWatch`'s persistent watches; each ends with the session or when
    /// `removewatches` removes it.
    persistent: SelectAll<BoxStream<'static, String>>,
    /// The paths of `addWatch`'s watches, for `removewatches`' notice.
    persistent_paths: Vec<String>,
    session: broadcast::Receiver<SessionEvent>,
    is_session_open: bool,
    is_session_shown: bool,
    is_printing: bool,
}

impl Notices {
    /// Notices of `client`'s session; transitions are printed only when
    /// `is_session_shown`.
    pub fn new(client: &Client, is_session_shown: bool) -> Self {
        Notices {
            watches: FuturesUnordered::new(),
            pending: HashMap::new(),
            next_id: 0,
            persistent: SelectAll::new(),
            persistent_paths: Vec::new(),
            session: client.events(),
            is_session_open: true,
            is_session_shown,
            is_printing: true,
        }
    }

    /// Prints `watch`'s event when it fires (nothing if the session ends
    /// first); `path` and `kind` say what `removewatches` may remove it as.
    pub fn watch(&mut self, watch: OneshotWatch, path: &str, kind: WatchKind) {
        let id = self.next_id;
        self.next_id += 1;
        let (abort, registration) = AbortHandle::new_pair();
        self.pending.insert(id, (path.to_string(), kind, abort));
        self.watches.push(
            async move {
                let text = match Abortable::new(watch, registration).await {
                    Ok(Ok(event)) => {
                        Some(watcher_block(&event_line(event.event_type, &event.path)))
                    }
                    _ => None,
                };
                (id, text)
            }
            .boxed(),
        );
    }

    /// Prints every event of a persistent watch (`addWatch`) until it ends.
    pub fn persistent(&mut self, watch: PersistentWatch, path: &str) {
        if !self.persistent_paths.iter().any(|p| p == path) {
            self.persistent_paths.push(path.to_string());
        }
        let texts = watch.map(|event| watcher_block(&event_line(event.event_type, &event.path)));
        self.persistent.push(texts.boxed());
    }

    /// Drops the pending watches on `path` that `kind` covers (with `Any`,
    /// `addWatch`'s too: the client ends their streams); returns the
    /// `WATCHER::` blocks zkCli prints for them (one per kind removed).
    pub fn remove(&mut self, path: &str, kind: WatcherType) -> Vec<String> {
        let mut removed: Vec<WatchKind> = Vec::new();
        self.pending.retain(|_, (watched, watch_kind, abort)| {
            let is_removed = watched == path && watch_kind.is_removed_by(kind);
            if is_removed {
                abort.abort();
                if !removed.contains(watch_kind) {
                    removed.push(*watch_kind);
                }
            }
            !is_removed
        });
        removed.sort_by_key(|k| *k == WatchKind::Child);
        let mut blocks: Vec<String> = removed
            .into_iter()
            .map(|k| format::watch_removed_line(k == WatchKind::Data, path))
            .collect();
        let persistent_before = self.persistent_paths.len();
        if kind == WatcherType::Any {
            self.persistent_paths.retain(|p| p != path);
        }
        if self.persistent_paths.len() < persistent_before {
            blocks.push(format!(
                "WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:{path}"
            ));
        }
        blocks.iter().map(|line| watcher_block(line)).collect()
    }

    /// Whether fired watches and session transitions are printed
    /// (`printwatches`).
    pub fn is_printing(&self) -> bool {
        self.is_printing
    }

    /// Turns printing on or off; notices that arrive while off are dropped.
    pub fn set_printing(&mut self, is_printing: bool) {
        self.is_printing = is_printing;
    }

    /// The next notice; pending while there is none. Cancellation-safe.
    pub async fn next(&mut self) -> String {
        loop {
            let text = tokio::select! {
                Some((id, text)) = self.watches.next(), if !self.watches.is_empty() => {
                    self.pending.remove(&id);
                    text
                }
                Some(text) = self.persistent.next(), if !self.persistent.is_empty() => Some(text),
                event = self.session.recv(), if self.is_session_open => match event {
                    // Closed is printed by whoever closes.
                    Ok(SessionEvent::Closed) => None,
                    Ok(event) if self.is_session_shown => Some(watcher_block(&session_line(event))),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Err(broadcast::error::RecvError::Closed) => {
                        self.is_session_open = false;
                        None
                    }
                },
                else => std::future::pending::<Option<String>>().await,
            };
            if let Some(text) = text.filter(|_| self.is_printing) {
                return text;
            }
        }
    }

    /// Every notice already there, without waiting.
    pub fn ready(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.next().now_or_never()).collect()
    }
}
