//! Watch operations: persistent watches, removal and checks, resumable streams.

use crate::connection::streams::{self, NewStream};
use crate::connection::WatchReg;
use crate::watch::{
    AddWatchMode, PersistentWatch, StallSignal, WatchStream, WatcherType, WATCH_BUFFER,
};
use crate::{Client, Error};
use proto::v1::{self, request::Op};
use tokio::sync::mpsc;

impl Client {
    /// Adds a persistent (or recursive) watch: a stream that lasts until the
    /// session ends or the watch is removed. Survives reconnects.
    pub async fn add_watch(
        &self,
        path: &str,
        mode: AddWatchMode,
    ) -> Result<PersistentWatch, Error> {
        let server = self.server_path(path, false)?;
        let recursive = mode == AddWatchMode::PersistentRecursive;
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let wire_mode = if recursive {
            v1::AddWatchMode::PersistentRecursive
        } else {
            v1::AddWatchMode::Persistent
        };
        let op = Op::AddWatch(v1::AddWatchOp {
            path: server.clone(),
            mode: wire_mode as i32,
        });
        self.ok(
            op,
            server,
            Some(WatchReg::Persistent { recursive, tx }),
            path,
        )
        .await?;
        Ok(PersistentWatch { rx })
    }

    fn watcher_type(kind: WatcherType) -> i32 {
        (match kind {
            WatcherType::Children => v1::WatcherType::Children,
            WatcherType::Data => v1::WatcherType::Data,
            WatcherType::Any => v1::WatcherType::Any,
            WatcherType::Persistent => v1::WatcherType::Persistent,
            WatcherType::PersistentRecursive => v1::WatcherType::PersistentRecursive,
        }) as i32
    }

    /// Removes this session's watches of a type on a path (`NoWatcher` if none).
    pub async fn remove_watches(&self, path: &str, kind: WatcherType) -> Result<(), Error> {
        let server = self.server_path(path, false)?;
        let op = Op::RemoveWatches(v1::RemoveWatchesOp {
            path: server.clone(),
            r#type: Self::watcher_type(kind),
        });
        self.ok(op, server.clone(), None, path).await?;
        self.shared.registry.lock().remove(&server, kind);
        Ok(())
    }

    /// Succeeds if this session holds a watch of that type on the path.
    pub async fn check_watches(&self, path: &str, kind: WatcherType) -> Result<(), Error> {
        let server = self.server_path(path, false)?;
        let op = Op::CheckWatches(v1::CheckWatchesOp {
            path: server.clone(),
            r#type: Self::watcher_type(kind),
        });
        self.ok(op, server, None, path).await.map(|_| ())
    }

    /// A resumable watch stream (Corral addition): every change to `path` (or
    /// created / deleted / data-changed in its subtree when `recursive`) with
    /// zxid > `from_zxid`, in zxid order, exactly once: after a reconnect, or
    /// when the consumer falls [`WATCH_BUFFER`] events behind, the client
    /// resumes it from the last delivered event. Fails with
    /// [`Error::Compacted`] (now, or later as the stream's last item) if the
    /// server no longer holds history back to the point to resume from.
    /// Start from [`Client::last_zxid`] after a read to see every change
    /// after that read.
    pub async fn watch_from(
        &self,
        path: &str,
        recursive: bool,
        from_zxid: i64,
    ) -> Result<WatchStream, Error> {
        let server = self.server_path(path, false)?;
        let (tx, rx) = streams::channel();
        let signal = StallSignal::new(self.shared.stream_wake.clone());
        let reg = WatchReg::Stream(NewStream {
            path: server.clone(),
            recursive,
            from_zxid,
            tx,
            signal: signal.clone(),
        });
        let op = Op::WatchFrom(v1::WatchFromOp {
            path: server.clone(),
            recursive,
            from_zxid,
        });
        self.ok(op, server, Some(reg), path).await?;
        Ok(WatchStream { rx, signal })
    }
}
