//! Owns client-side watches: one-shot watches are futures ([`OneshotWatch`]),
//! persistent watches and resumable streams are `Stream`s ([`PersistentWatch`],
//! [`WatchStream`]), and the registry that fans notifications out.
//!
//! The server keeps one watch per (connection, kind, path) and sends one
//! notification per event; the registry hands it to every local waiter that
//! ZooKeeper's rules (reference §5.2) say it concerns:
//!
//! | event | one-shot waiters woken on the path | persistent | recursive (path or ancestor) |
//! |---|---|---|---|
//! | NodeCreated | data, exist | yes | yes |
//! | NodeDeleted | data, exist, child | yes | yes |
//! | NodeDataChanged | data, exist | yes | yes |
//! | NodeChildrenChanged | child | yes | no |
//!
//! Overflow policy (every channel is bounded):
//! - a one-shot watch holds at most one event (a `oneshot` channel);
//! - a [`PersistentWatch`] buffers [`WATCH_BUFFER`] events; a watcher whose
//!   buffer is full when an event arrives is dropped and its stream ends, so a
//!   slow consumer never stalls the connection or other watchers;
//! - a [`WatchStream`] buffers [`WATCH_BUFFER`] events; when it is full the
//!   client cancels the server-side stream and resumes it from the last
//!   delivered event once the consumer has drained half of the buffer, so a
//!   slow consumer loses nothing and the connection never blocks.

use crate::Error;
use futures::Stream;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot, Notify};

/// Events buffered per persistent watcher or resumable stream (see the
/// module's overflow policy).
pub const WATCH_BUFFER: usize = 4096;

/// What a watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The node was created.
    NodeCreated,
    /// The node was deleted.
    NodeDeleted,
    /// The node's data changed.
    NodeDataChanged,
    /// A child was created or deleted.
    NodeChildrenChanged,
}

impl EventType {
    /// From ZooKeeper's EventType number.
    pub fn from_i32(v: i32) -> Option<EventType> {
        Some(match v {
            1 => EventType::NodeCreated,
            2 => EventType::NodeDeleted,
            3 => EventType::NodeDataChanged,
            4 => EventType::NodeChildrenChanged,
            _ => return None,
        })
    }
}

/// A watch notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// Where (relative to the chroot).
    pub path: String,
    /// The zxid of the change.
    pub zxid: i64,
}

/// Kind of persistent watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddWatchMode {
    /// All four event types on the exact path.
    Persistent,
    /// Created / deleted / data-changed on the path and every descendant.
    PersistentRecursive,
}

/// Which watches to remove or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    /// Child watches.
    Children,
    /// Data and exist watches.
    Data,
    /// All watches on the path.
    Any,
    /// Persistent watches.
    Persistent,
    /// Persistent-recursive watches.
    PersistentRecursive,
}

/// A one-shot watch: resolves once with the event, or with an error if the
/// session ends first.
#[derive(Debug)]
pub struct OneshotWatch {
    pub(crate) rx: oneshot::Receiver<Result<WatchedEvent, Error>>,
}

impl Future for OneshotWatch {
    type Output = Result<WatchedEvent, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

/// A persistent watch: a stream of events that ends when the session ends, the
/// watch is removed, or the consumer let [`WATCH_BUFFER`] events pile up (see
/// the module's overflow policy). It survives reconnects, without catch-up
/// events of its own (ZooKeeper's rule).
#[derive(Debug)]
pub struct PersistentWatch {
    pub(crate) rx: mpsc::Receiver<WatchedEvent>,
}

impl Stream for PersistentWatch {
    type Item = WatchedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A resumable watch stream (Corral addition, from
/// [`Client::watch_from`](crate::Client::watch_from)): every change after a
/// zxid, in zxid order, none missed and none repeated across reconnects and
/// slow consumption. It ends with `Err(Compacted)` if the server no longer
/// holds the history needed to resume, or `Err(SessionExpired | Closed)` when
/// the session ends. Dropping it cancels the server-side stream.
#[derive(Debug)]
pub struct WatchStream {
    pub(crate) rx: mpsc::Receiver<Result<WatchedEvent, Error>>,
    pub(crate) signal: Arc<StallSignal>,
}

/// Set by the connection task when it paused a stream whose buffer was full;
/// the consumer clears it and wakes the task once it has drained half.
#[derive(Debug)]
pub(crate) struct StallSignal {
    pub(crate) stalled: AtomicBool,
    pub(crate) wake: Arc<Notify>,
}

impl StallSignal {
    pub(crate) fn new(wake: Arc<Notify>) -> Arc<StallSignal> {
        Arc::new(StallSignal {
            stalled: AtomicBool::new(false),
            wake,
        })
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        // Let the connection task notice, forget the stream and cancel it.
        self.rx.close();
        self.signal.wake.notify_one();
    }
}

impl Stream for WatchStream {
    type Item = Result<WatchedEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.rx.poll_recv(cx);
        if matches!(item, Poll::Ready(Some(_)))
            && self.signal.stalled.load(Ordering::Acquire)
            && self.rx.len() <= WATCH_BUFFER / 2
            && self.signal.stalled.swap(false, Ordering::AcqRel)
        {
            self.signal.wake.notify_one();
        }
        item
    }
}

/// The kinds of registration, mirroring the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Data,
    Exist,
    Child,
}

type Waiters = HashMap<String, Vec<oneshot::Sender<Result<WatchedEvent, Error>>>>;

/// Every local watcher, keyed by server-side path (chroot included).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    one_shot: HashMap<Kind, Waiters>,
    persistent: HashMap<String, Vec<mpsc::Sender<WatchedEvent>>>,
    recursive: HashMap<String, Vec<mpsc::Sender<WatchedEvent>>>,
}

fn deliver_all(
    list: Option<Vec<oneshot::Sender<Result<WatchedEvent, Error>>>>,
    event: &WatchedEvent,
) {
    for tx in list.into_iter().flatten() {
        let _ = tx.send(Ok(event.clone()));
    }
}

fn feed(
    map: &mut HashMap<String, Vec<mpsc::Sender<WatchedEvent>>>,
    path: &str,
    event: &WatchedEvent,
) {
    if let Some(list) = map.get_mut(path) {
        list.retain(|tx| tx.try_send(event.clone()).is_ok());
        if list.is_empty() {
            map.remove(path);
        }
    }
}

impl Registry {
    pub(crate) fn add_one_shot(
        &mut self,
        kind: Kind,
        path: &str,
        tx: oneshot::Sender<Result<WatchedEvent, Error>>,
    ) {
        self.one_shot
            .entry(kind)
            .or_default()
            .entry(path.to_string())
            .or_default()
            .push(tx);
    }

    pub(crate) fn add_persistent(
        &mut self,
        recursive: bool,
        path: &str,
        tx: mpsc::Sender<WatchedEvent>,
    ) {
        let map = if recursive {
            &mut self.recursive
        } else {
            &mut self.persistent
        };
        map.entry(path.to_string()).or_default().push(tx);
    }

    /// Drops local watchers of the given types on a path.
    pub(crate) fn remove(&mut self, path: &str, kind: WatcherType) {
        let one_shot: &[Kind] = match kind {
            WatcherType::Children => &[Kind::Child],
            WatcherType::Data => &[Kind::Data, Kind::Exist],
            WatcherType::Any => &[Kind::Data, Kind::Exist, Kind::Child],
            WatcherType::Persistent | WatcherType::PersistentRecursive => &[],
        };
        for k in one_shot {
            if let Some(m) = self.one_shot.get_mut(k) {
                m.remove(path);
            }
        }
        if matches!(kind, WatcherType::Persistent | WatcherType::Any) {
            self.persistent.remove(path);
        }
        if matches!(kind, WatcherType::PersistentRecursive | WatcherType::Any) {
            self.recursive.remove(path);
        }
    }

    /// Routes one server notification (`event.path` is the server-side path,
    /// `client_event` the one to hand out) following ZooKeeper's rules.
    pub(crate) fn dispatch(&mut self, server_path: &str, client_event: &WatchedEvent) {
        let take = |reg: &mut Registry, kind: Kind| {
            reg.one_shot
                .get_mut(&kind)
                .and_then(|m| m.remove(server_path))
        };
        match client_event.event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                deliver_all(take(self, Kind::Data), client_event);
                deliver_all(take(self, Kind::Exist), client_event);
            }
            EventType::NodeDeleted => {
                deliver_all(take(self, Kind::Data), client_event);
                deliver_all(take(self, Kind::Exist), client_event);
                deliver_all(take(self, Kind::Child), client_event);
            }
            EventType::NodeChildrenChanged => deliver_all(take(self, Kind::Child), client_event),
        }
        feed(&mut self.persistent, server_path, client_event);
        if client_event.event_type != EventType::NodeChildrenChanged {
            let mut ancestor = Some(server_path);
            while let Some(p) = ancestor {
                feed(&mut self.recursive, p, client_event);
                ancestor = proto::path::parent(p);
            }
        }
    }

    /// The lists to re-register after a reconnect.
    pub(crate) fn registrations(&mut self) -> proto::v1::SetWatchesOp {
        let keys = |m: Option<&mut Waiters>| -> Vec<String> {
            m.map(|m| {
                m.retain(|_, list| {
                    list.retain(|tx| !tx.is_closed());
                    !list.is_empty()
                });
                m.keys().cloned().collect()
            })
            .unwrap_or_default()
        };
        let data = keys(self.one_shot.get_mut(&Kind::Data));
        let exist = keys(self.one_shot.get_mut(&Kind::Exist));
        let child = keys(self.one_shot.get_mut(&Kind::Child));
        for map in [&mut self.persistent, &mut self.recursive] {
            map.retain(|_, list| {
                list.retain(|tx| !tx.is_closed());
                !list.is_empty()
            });
        }
        proto::v1::SetWatchesOp {
            relative_zxid: 0,
            data_watches: data,
            exist_watches: exist,
            child_watches: child,
            persistent_watches: self.persistent.keys().cloned().collect(),
            persistent_recursive_watches: self.recursive.keys().cloned().collect(),
        }
    }

    /// Splits re-registration lists into requests of at most about
    /// `max_bytes` of path text (ZooKeeper's client batches at 128 KiB), so a
    /// client with very many watches stays under the server's request size
    /// limit. Usually one request; none when there is nothing to register.
    pub(crate) fn batches(
        lists: proto::v1::SetWatchesOp,
        max_bytes: usize,
    ) -> Vec<proto::v1::SetWatchesOp> {
        let empty = proto::v1::SetWatchesOp {
            relative_zxid: lists.relative_zxid,
            ..Default::default()
        };
        let mut out: Vec<proto::v1::SetWatchesOp> = Vec::new();
        let mut current = empty.clone();
        let mut bytes = 0;
        let kinds = [
            lists.data_watches,
            lists.exist_watches,
            lists.child_watches,
            lists.persistent_watches,
            lists.persistent_recursive_watches,
        ];
        for (kind, paths) in kinds.into_iter().enumerate() {
            for path in paths {
                if bytes > 0 && bytes + path.len() > max_bytes {
                    out.push(std::mem::replace(&mut current, empty.clone()));
                    bytes = 0;
                }
                bytes += path.len() + 2;
                let list = match kind {
                    0 => &mut current.data_watches,
                    1 => &mut current.exist_watches,
                    2 => &mut current.child_watches,
                    3 => &mut current.persistent_watches,
                    _ => &mut current.persistent_recursive_watches,
                };
                list.push(path);
            }
        }
        if bytes > 0 {
            out.push(current);
        }
        out
    }

    /// Fails every watcher: the session is over.
    pub(crate) fn fail_all(&mut self, error: Error) {
        for (_, map) in self.one_shot.drain() {
            for (_, list) in map {
                for tx in list {
                    let _ = tx.send(Err(error.clone()));
                }
            }
        }
        self.persistent.clear();
        self.recursive.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: EventType, path: &str) -> WatchedEvent {
        WatchedEvent {
            event_type: t,
            path: path.into(),
            zxid: 1,
        }
    }

    #[test]
    fn delete_wakes_data_exist_and_child_waiters_once() {
        let mut reg = Registry::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let (tx3, mut rx3) = oneshot::channel();
        reg.add_one_shot(Kind::Data, "/a", tx1);
        reg.add_one_shot(Kind::Child, "/a", tx2);
        reg.add_one_shot(Kind::Child, "/b", tx3);
        reg.dispatch("/a", &ev(EventType::NodeDeleted, "/a"));
        assert!(matches!(rx1.try_recv(), Ok(Ok(_))));
        assert!(matches!(rx2.try_recv(), Ok(Ok(_))));
        assert!(rx3.try_recv().is_err(), "other paths untouched");
        assert!(reg.registrations().data_watches.is_empty());
    }

    #[test]
    fn child_waiters_ignore_data_changes() {
        let mut reg = Registry::default();
        let (tx, mut rx) = oneshot::channel();
        reg.add_one_shot(Kind::Child, "/a", tx);
        reg.dispatch("/a", &ev(EventType::NodeDataChanged, "/a"));
        assert!(rx.try_recv().is_err());
        assert_eq!(reg.registrations().child_watches, vec!["/a".to_string()]);
    }

    #[test]
    fn recursive_watchers_see_descendants_but_not_child_changes() {
        let mut reg = Registry::default();
        let (tx, mut rx) = mpsc::channel(8);
        reg.add_persistent(true, "/a", tx);
        reg.dispatch("/a/b/c", &ev(EventType::NodeCreated, "/a/b/c"));
        reg.dispatch("/a/b", &ev(EventType::NodeChildrenChanged, "/a/b"));
        reg.dispatch("/ab", &ev(EventType::NodeCreated, "/ab"));
        assert_eq!(rx.try_recv().map(|e| e.path), Ok("/a/b/c".to_string()));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn fail_all_resolves_every_one_shot_with_the_error() {
        let mut reg = Registry::default();
        let (tx, mut rx) = oneshot::channel();
        reg.add_one_shot(Kind::Exist, "/a", tx);
        reg.fail_all(Error::SessionExpired);
        assert_eq!(rx.try_recv(), Ok(Err(Error::SessionExpired)));
    }

    #[test]
    fn each_event_type_wakes_the_one_shot_kinds_zookeeper_names() {
        use EventType::*;
        let cases = [
            (NodeCreated, [true, true, false]),
            (NodeDeleted, [true, true, true]),
            (NodeDataChanged, [true, true, false]),
            (NodeChildrenChanged, [false, false, true]),
        ];
        for (event_type, woken) in cases {
            let mut reg = Registry::default();
            let mut rxs = Vec::new();
            for kind in [Kind::Data, Kind::Exist, Kind::Child] {
                let (tx, rx) = oneshot::channel();
                reg.add_one_shot(kind, "/a", tx);
                rxs.push(rx);
            }
            reg.dispatch("/a", &ev(event_type, "/a"));
            let got: Vec<bool> = rxs.iter_mut().map(|rx| rx.try_recv().is_ok()).collect();
            assert_eq!(got, woken, "{event_type:?}");
        }
    }

    #[test]
    fn persistent_watchers_see_all_four_types_on_their_path_only() {
        let mut reg = Registry::default();
        let (tx, mut rx) = mpsc::channel(8);
        reg.add_persistent(false, "/a", tx);
        for t in [
            EventType::NodeCreated,
            EventType::NodeDataChanged,
            EventType::NodeChildrenChanged,
            EventType::NodeDeleted,
        ] {
            reg.dispatch("/a", &ev(t, "/a"));
        }
        reg.dispatch("/a/b", &ev(EventType::NodeCreated, "/a/b"));
        let mut seen = Vec::new();
        while let Ok(e) = rx.try_recv() {
            seen.push(e.event_type);
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(
            !reg.registrations().persistent_watches.is_empty(),
            "not removed on fire"
        );
    }

    #[test]
    fn a_recursive_watch_on_the_root_sees_the_whole_tree() {
        let mut reg = Registry::default();
        let (tx, mut rx) = mpsc::channel(8);
        reg.add_persistent(true, "/", tx);
        reg.dispatch("/x/y", &ev(EventType::NodeDeleted, "/x/y"));
        assert_eq!(rx.try_recv().map(|e| e.path), Ok("/x/y".to_string()));
    }

    #[test]
    fn a_persistent_watcher_with_a_full_buffer_is_dropped_alone() {
        let mut reg = Registry::default();
        let (slow, mut slow_rx) = mpsc::channel(1);
        let (fast, mut fast_rx) = mpsc::channel(8);
        reg.add_persistent(false, "/a", slow);
        reg.add_persistent(false, "/a", fast);
        reg.dispatch("/a", &ev(EventType::NodeDataChanged, "/a"));
        reg.dispatch("/a", &ev(EventType::NodeDataChanged, "/a"));
        reg.dispatch("/a", &ev(EventType::NodeDataChanged, "/a"));
        assert!(slow_rx.try_recv().is_ok());
        assert_eq!(
            slow_rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected),
            "the slow watcher's stream ended"
        );
        let mut fast_count = 0;
        while fast_rx.try_recv().is_ok() {
            fast_count += 1;
        }
        assert_eq!(fast_count, 3, "the other watcher got everything");
    }

    #[test]
    fn set_watches_is_one_request_unless_the_paths_are_many() {
        let lists = proto::v1::SetWatchesOp {
            relative_zxid: 9,
            data_watches: vec!["/a".into(), "/b".into()],
            exist_watches: vec!["/c".into()],
            child_watches: vec![],
            persistent_watches: vec!["/d".into()],
            persistent_recursive_watches: vec!["/e".into()],
        };
        let one = Registry::batches(lists.clone(), 128 * 1024);
        assert_eq!(one, vec![lists.clone()]);
        let split = Registry::batches(lists, 8);
        assert_eq!(split.len(), 3, "{split:?}");
        assert!(split.iter().all(|b| b.relative_zxid == 9));
        let paths: usize = split
            .iter()
            .map(|b| {
                b.data_watches.len()
                    + b.exist_watches.len()
                    + b.persistent_watches.len()
                    + b.persistent_recursive_watches.len()
            })
            .sum();
        assert_eq!(paths, 5, "every path once");
        assert!(Registry::batches(Default::default(), 8).is_empty());
    }
}
