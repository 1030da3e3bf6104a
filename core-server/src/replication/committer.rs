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
        wal = Some(log);
        result?;
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
            last_snapshot = taken?;
            logged_bytes = 0;
        }
    }
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
