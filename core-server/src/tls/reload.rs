//! [`Reloading`]: a listener's current TLS configuration, replaced without a
//! restart when its files change (their modification times and sizes are
//! polled) or on SIGHUP. New handshakes take the configuration current when
//! they start; connections already up keep theirs. A reload that fails (a
//! half-written file, a key that does not match) keeps the old
//! configuration, logs an error and counts `corral_tls_reload_failures_total`.

use super::{server_config, TlsError, TlsFiles};
use parking_lot::{Mutex, RwLock};
use rustls::ServerConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// What identifies a version of a file: its modification time and size
/// (`None` while it cannot be read).
type Stamp = Option<(SystemTime, u64)>;

fn stamps(files: &TlsFiles) -> Vec<Stamp> {
    files
        .paths()
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

/// A TLS configuration that follows its files. Share one per set of files
/// (`Arc`) between listeners, and run [`Reloading::watch`] once for it.
#[derive(Debug)]
pub struct Reloading {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
    /// The files' stamps when they were last read.
    seen: Mutex<Vec<Stamp>>,
    /// Successful loads so far (1 after [`Reloading::load`]).
    generation: AtomicU64,
}

impl Reloading {
    /// Loads the files once; an error here is a start-up error.
    pub fn load(files: TlsFiles) -> Result<Arc<Reloading>, TlsError> {
        let seen = stamps(&files);
        let config = server_config::build(&files)?;
        Ok(Arc::new(Reloading {
            files,
            current: RwLock::new(config),
            seen: Mutex::new(seen),
            generation: AtomicU64::new(1),
        }))
    }

    /// The configuration new handshakes use.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current.read().clone()
    }

    /// The files this configuration is read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// How many times the files were loaded successfully (start-up counts).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Reads the files again now; on success new handshakes use them, on
    /// failure the configuration in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        // Stamped before reading: a write that lands while we read is seen
        // as a change at the next poll.
        *self.seen.lock() = stamps(&self.files);
        let config = server_config::build(&self.files)?;
        *self.current.write() = config;
        self.generation.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Reloads if any file changed since it was last read; `None` if none did.
    pub fn reload_if_changed(&self) -> Option<Result<(), TlsError>> {
        let now = stamps(&self.files);
        if *self.seen.lock() == now {
            return None;
        }
        Some(self.reload())
    }

    /// Reloads, logging and counting the outcome.
    fn reload_logged(&self, why: &'static str, result: Result<(), TlsError>) {
        match result {
            Ok(()) => tracing::info!(
                why,
                cert = %self.files.cert.display(),
                generation = self.generation(),
                "TLS certificates reloaded"
            ),
            Err(error) => {
                metrics::counter!("corral_tls_reload_failures_total").increment(1);
                tracing::error!(
                    why,
                    %error,
                    "TLS certificates not reloaded; the previous ones stay in use"
                );
            }
        }
    }

    /// Polls the files every `every` and reloads on change or on SIGHUP,
    /// until `stop`.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(error) => {
                tracing::warn!(%error, "no SIGHUP handler: TLS files are only polled");
                None
            }
        };
        let mut poll = tokio::time::interval(every.max(Duration::from_millis(1)));
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let hup = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            let woke = tokio::select! {
                _ = stop.cancelled() => return,
                _ = poll.tick() => None,
                got = hup => Some(got.is_some()),
            };
            match woke {
                None => {
                    if let Some(result) = self.reload_if_changed() {
                        self.reload_logged("files changed", result);
                    }
                }
                Some(true) => self.reload_logged("SIGHUP", self.reload()),
                // The signal stream ended: go on polling only.
                Some(false) => hangup = None,
            }
        }
    }
}
