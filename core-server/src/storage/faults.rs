//! Disk faults on purpose: a [`DiskFaults`] registered for a data directory
//! makes the real log and snapshot files under it fail as a bad disk does
//! (EIO on a write or an fsync, ENOSPC, a read-only file system) or answer
//! slowly, until it is cleared. Nothing is registered unless a test does it,
//! so in a server the check is one lookup when the log is opened and one
//! relaxed load per write and per fsync.

use parking_lot::Mutex;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What goes wrong, as the error a system call would return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An I/O error (EIO).
    Io,
    /// No space left on the device (ENOSPC).
    NoSpace,
    /// A read-only file system (EROFS).
    ReadOnly,
}

impl Fault {
    fn errno(self) -> i32 {
        match self {
            Fault::Io => 5,
            Fault::NoSpace => 28,
            Fault::ReadOnly => 30,
        }
    }
}

/// Where a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Writing bytes, or creating a file.
    Write,
    /// `fdatasync` / `fsync`.
    Sync,
}

/// The faults in force for one data directory.
#[derive(Debug, Default)]
pub struct DiskFaults {
    write: AtomicI32,
    sync: AtomicI32,
    delay_us: AtomicU64,
}

impl DiskFaults {
    /// Makes every operation at `point` fail with `fault` from now on.
    pub fn fail(&self, point: FaultPoint, fault: Fault) {
        self.slot(point).store(fault.errno(), Ordering::Relaxed);
    }

    /// Delays every write and fsync by `delay` (a slow disk).
    pub fn slow(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.delay_us.store(us, Ordering::Relaxed);
    }

    /// Ends every fault: the disk works again.
    pub fn clear(&self) {
        self.write.store(0, Ordering::Relaxed);
        self.sync.store(0, Ordering::Relaxed);
        self.delay_us.store(0, Ordering::Relaxed);
    }

    fn slot(&self, point: FaultPoint) -> &AtomicI32 {
        match point {
            FaultPoint::Write => &self.write,
            FaultPoint::Sync => &self.sync,
        }
    }

    /// The outcome of an operation at `point`: delayed if the disk is slow,
    /// an error if a fault is set there.
    pub fn check(&self, point: FaultPoint) -> io::Result<()> {
        let delay = self.delay_us.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        match self.slot(point).load(Ordering::Relaxed) {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

/// Data directories with faults registered, weakly (a test that ends drops
/// its faults).
static REGISTRY: Mutex<Vec<(PathBuf, Weak<DiskFaults>)>> = Mutex::new(Vec::new());

/// Registers faults for everything stored under `dir` (a server's data
/// directory); they start cleared. Keep the handle: faults last while it does.
pub fn register(dir: &Path) -> Arc<DiskFaults> {
    let faults = Arc::new(DiskFaults::default());
    let mut registry = REGISTRY.lock();
    registry.retain(|(_, weak)| weak.strong_count() > 0);
    registry.push((dir.to_path_buf(), Arc::downgrade(&faults)));
    faults
}

/// The faults registered for a directory holding `path`, if any.
pub fn for_path(path: &Path) -> Option<Arc<DiskFaults>> {
    let registry = REGISTRY.lock();
    registry
        .iter()
        .filter(|(dir, _)| path.starts_with(dir))
        .find_map(|(_, weak)| weak.upgrade())
}

/// Checks `faults` (if any) at `point`.
pub fn check(faults: &Option<Arc<DiskFaults>>, point: FaultPoint) -> io::Result<()> {
    match faults {
        Some(faults) => faults.check(point),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_under_their_directory_until_cleared_or_dropped() {
        let faults = register(Path::new("/data/a"));
        assert!(for_path(Path::new("/data/b/wal")).is_none());
        let found = for_path(Path::new("/data/a/wal")).expect("registered");
        found.fail(FaultPoint::Sync, Fault::NoSpace);
        assert!(found.check(FaultPoint::Write).is_ok());
        let error = found.check(FaultPoint::Sync).expect_err("fails");
        assert_eq!(error.raw_os_error(), Some(28));
        found.clear();
        assert!(found.check(FaultPoint::Sync).is_ok());
        drop((found, faults));
        assert!(for_path(Path::new("/data/a/wal")).is_none());
    }
}
