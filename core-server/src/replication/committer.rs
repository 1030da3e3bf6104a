//! The single task that orders, persists and applies entries (group commit).

use super::{Committed, Proposal, ReplicationError, Replicator};
use crate::state::ServerState;
use crate::storage::{self, Wal};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Knobs of the committer.
#[derive(Debug, Clone)]
pub struct CommitterOptions {
    /// Where snapshots are written.
    pub snapshot_dir: PathBuf,
    /// The log's directory (reopened after a disk failure).
    pub wal_dir: PathBuf,
    /// Snapshot (and truncate the log) every this many entries.
    pub snapshot_every: u64,
    /// ... or once this many bytes of entries were logged since the last
    /// snapshot, whichever comes first: the log on disk stays bounded in
    /// bytes under large writes, not only in entries.
    pub snapshot_every_bytes: u64,
    /// Most entries in one fsync batch.
    pub max_batch: usize,
    /// Proposals queued before `propose` waits (backpressure).
    pub queue: usize,
}

/// Starts the committer. It stops when every [`Replicator`] is dropped or
/// `stop` is cancelled; on a storage failure it cancels `fatal` (the node must
/// stop: it can no longer promise durability) and stops.
pub fn spawn_committer(
    state: Arc<ServerState>,
    wal: Wal,
    options: CommitterOptions,
    stop: CancellationToken,
    fatal: CancellationToken,
) -> (Replicator, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(options.queue.max(1));
    let handle = tokio::spawn(async move {
        if let Err(error) = run(state, wal, options, rx, stop).await {
            tracing::error!(%error, "committer failed; stopping the node");
            fatal.cancel();
        }
    });
    (
        Replicator {
            backend: super::Backend::Local(tx),
        },
        handle,
    )
}

async fn run(
    state: Arc<ServerState>,
    wal: Wal,
    options: CommitterOptions,
    mut rx: mpsc::Receiver<Proposal>,
    stop: CancellationToken,
) -> Result<(), ReplicationError> {
    let mut wal = Some(wal);
    let mut next = state.last_zxid() + 1;
    let mut last_snapshot = state.last_zxid();
    let mut logged_bytes: u64 = 0;
    let mut batch: Vec<Proposal> = Vec::with_capacity(options.max_batch);
    metrics::gauge!("corral_storage_writable").set(1.0);
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            p = rx.recv() => match p { Some(p) => p, None => return Ok(()) },
        };
        batch.push(first);
        while batch.len() < options.max_batch {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(batch.len());
        for (i, proposal) in batch.iter().enumerate() {
            records.push((
                (next + i as i64) as u64,
                postcard::to_allocvec(&proposal.entry)?,
            ));
        }
        logged_bytes += records.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
        let mut log = wal.take().ok_or(ReplicationError::Stopped)?;
        let (log, result) = tokio::task::spawn_blocking(move || {
            let refs: Vec<(u64, &[u8])> = records.iter().map(|(i, b)| (*i, b.as_slice())).collect();
            let result = log.append(&refs);
            (log, result)
        })
        .await
        .map_err(|_| ReplicationError::Stopped)?;
        if let Err(error) = result {
            // Nothing of this batch is applied or acknowledged; the log is
            // cut back to what was before it when it reopens.
            drop(log);
            metrics::counter!("corral_storage_failures_total").increment(1);
            metrics::gauge!("corral_storage_writable").set(0.0);
            tracing::error!(%error, "the log cannot be written: refusing writes until it reopens");
            for proposal in batch.drain(..) {
                let _ = proposal
                    .reply
                    .send(Err(ReplicationError::StorageUnavailable));
            }
            match reopen_when_healthy(&options.wal_dir, next - 1, &mut rx, &stop).await {
                Some(log) => {
                    tracing::info!("the log is writable again; taking writes");
                    metrics::gauge!("corral_storage_writable").set(1.0);
                    wal = Some(log);
                    continue;
                }
                None => return Ok(()),
            }
        }
        wal = Some(log);
        metrics::counter!("corral_log_batches_total").increment(1);
        metrics::counter!("corral_log_entries_total").increment(batch.len() as u64);
        for proposal in batch.drain(..) {
            let zxid = next;
            next += 1;
            let applied = state.apply_committed(zxid, &proposal.entry);
            // The proposer may have gone away; the entry is committed regardless.
            let _ = proposal.reply.send(Ok(Committed { zxid, applied }));
        }
        let entries = (next - 1 - last_snapshot) as u64;
        if entries >= options.snapshot_every || logged_bytes >= options.snapshot_every_bytes {
            let log = wal.take().ok_or(ReplicationError::Stopped)?;
            let (log, taken) = snapshot(&state, log, options.snapshot_dir.clone()).await?;
            wal = Some(log);
            match taken {
                Ok(zxid) => {
                    last_snapshot = zxid;
                    logged_bytes = 0;
                }
                // The log keeps everything since the last good snapshot;
                // the next batch tries again.
                Err(error) => tracing::warn!(%error, "snapshot not written"),
            }
        }
    }
}

/// How often a failed disk is tried again.
const REOPEN_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// After a disk failure: refuses every proposal at once while it tries,
/// every [`REOPEN_EVERY`], to reopen the log cut back to `acknowledged` (the
/// last entry applied and answered). `None` when stopping.
async fn reopen_when_healthy(
    dir: &std::path::Path,
    acknowledged: i64,
    rx: &mut mpsc::Receiver<Proposal>,
    stop: &CancellationToken,
) -> Option<Wal> {
    let mut retry = tokio::time::interval(REOPEN_EVERY);
    retry.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return None,
            p = rx.recv() => match p {
                Some(p) => {
                    let _ = p.reply.send(Err(ReplicationError::StorageUnavailable));
                    continue;
                }
                None => return None,
            },
            _ = retry.tick() => {}
        }
        let dir = dir.to_path_buf();
        let reopened = tokio::task::spawn_blocking(move || reopen(&dir, acknowledged)).await;
        match reopened {
            Ok(Ok(wal)) => return Some(wal),
            Ok(Err(error)) => tracing::debug!(%error, "the log still cannot be written"),
            Err(_) => return None,
        }
    }
}

/// Opens the log, cuts it back to `acknowledged`, and proves the disk takes
/// writes again: the cut is synced. An acknowledged entry missing from the
/// log is refused (that would be a lost write, not a fault to ride out).
fn reopen(dir: &std::path::Path, acknowledged: i64) -> Result<Wal, storage::StorageError> {
    let (mut wal, _) = Wal::open(dir, storage::WalOptions::default())?;
    let acknowledged = acknowledged.max(0) as u64;
    if let Some(last) = wal.last_index().filter(|last| *last < acknowledged) {
        return Err(storage::StorageError::Shortened { last, acknowledged });
    }
    wal.truncate_after(acknowledged)?;
    wal.sync_probe()?;
    Ok(wal)
}

/// Writes a snapshot of the current state and truncates the log behind it.
async fn snapshot(
    state: &ServerState,
    mut wal: Wal,
    dir: PathBuf,
) -> Result<(Wal, Result<i64, ReplicationError>), ReplicationError> {
    let (zxid, bytes) = state.snapshot_bytes()?;
    tokio::task::spawn_blocking(move || {
        let result = storage::write_snapshot(&dir, zxid as u64, &bytes)
            .and_then(|_| wal.truncate_before(zxid as u64 + 1))
            .map(|_| zxid)
            .map_err(ReplicationError::from);
        if result.is_ok() {
            tracing::info!(zxid, bytes = bytes.len(), "snapshot written, log truncated");
        }
        (wal, result)
    })
    .await
    .map_err(|_| ReplicationError::Stopped)
}
