//! Snapshot files: owns writing one snapshot of the whole state machine
//! atomically and finding the newest intact one.
//!
//! A snapshot is the file `snap-{last_index:020}.snap`: a 28-byte header then
//! the payload (little endian):
//!
//! ```text
//! offset  size  field
//!      0     4  magic    0x4E53_5243 (the bytes "CRSN")
//!      4     4  version  1
//!      8     8  index    last log index the snapshot covers
//!     16     8  len      payload length in bytes
//!     24     4  crc32    CRC-32 (IEEE) of bytes 0..24 followed by the payload
//!     28   len  payload
//! ```
//!
//! It is written to `snap-{index:020}.snap.tmp`, fsynced, renamed into place
//! and the directory fsynced, so a crash leaves either the old set of
//! snapshots or the new one, plus perhaps a tmp file that [`load_latest`]
//! deletes. The two newest snapshots are kept so that a damaged newest one
//! can fall back to the previous. A directory must be used by one writer at a
//! time.

use super::{create_dir_durable, io_err, sync_dir, StorageError};
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Snapshot magic: the bytes `CRSN` when written little endian.
const MAGIC: u32 = 0x4E53_5243;
/// The only format version this build reads and writes.
const VERSION: u32 = 1;
const HEADER_BYTES: usize = 28;
/// Bytes of the header covered by the CRC (everything before the CRC).
const CRC_COVERED_HEADER_BYTES: usize = 24;
/// How many snapshots [`write_snapshot`] keeps.
const SNAPSHOTS_KEPT: usize = 2;
const TMP_SUFFIX: &str = ".tmp";

fn file_name(index: u64) -> String {
    format!("snap-{index:020}.snap")
}

fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snap-")?.strip_suffix(".snap")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn is_tmp_name(name: &str) -> bool {
    name.strip_suffix(TMP_SUFFIX)
        .and_then(parse_file_name)
        .is_some()
}

/// Durably writes a snapshot covering the log up to `last_index` and returns
/// its path, then deletes older snapshots so that the two with the highest
/// indexes remain (the one just written is never deleted).
///
/// Creates `dir` if needed. When this returns `Ok` the snapshot is on disk
/// and will be found by [`load_latest`]; failing to delete an old snapshot
/// only costs space and is logged, not returned. On `Err` the snapshot may or
/// may not have been written.
pub fn write_snapshot(
    dir: &Path,
    last_index: u64,
    payload: &[u8],
) -> Result<PathBuf, StorageError> {
    use crate::clock::Clock as _;
    let started = crate::clock::SystemClock.now();
    create_dir_durable(dir)?;
    let path = dir.join(file_name(last_index));
    super::faults::check(
        &super::faults::for_path(dir),
        super::faults::FaultPoint::Write,
    )
    .map_err(io_err("write snapshot", &path))?;
    let tmp = dir.join(format!("{}{TMP_SUFFIX}", file_name(last_index)));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io_err("create snapshot", &tmp))?;
    file.write_all(&header(last_index, payload))
        .and_then(|()| file.write_all(payload))
        .map_err(io_err("write snapshot", &tmp))?;
    file.sync_all().map_err(io_err("fsync snapshot", &tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err("rename snapshot", &tmp))?;
    sync_dir(dir)?;
    prune(dir, last_index);
    let took = crate::clock::SystemClock
        .now()
        .saturating_duration_since(started);
    metrics::histogram!("corral_snapshot_duration_seconds").record(took.as_secs_f64());
    metrics::histogram!("corral_snapshot_size_bytes").record(payload.len() as f64);
    Ok(path)
}

/// Returns the newest snapshot whose header and CRC check out, as
/// `(last_index, payload)`, or `None` if there is none (or `dir` does not
/// exist).
///
/// A damaged snapshot is skipped with a `tracing::warn` and the next older one
/// is tried. Leftover tmp files from an interrupted [`write_snapshot`] are
/// deleted. An intact snapshot in an unknown format version is an error
/// ([`StorageError::UnsupportedVersion`]), not skipped.
pub fn load_latest(dir: &Path) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("list dir", dir)(e)),
    };
    let mut snapshots = Vec::new();
    let mut leftovers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list dir", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(index) = parse_file_name(name) {
            snapshots.push((index, entry.path()));
        } else if is_tmp_name(name) {
            leftovers.push(entry.path());
        }
    }
    if !leftovers.is_empty() {
        for tmp in &leftovers {
            tracing::info!(file = %tmp.display(), "removing unfinished snapshot");
            fs::remove_file(tmp).map_err(io_err("remove snapshot tmp", tmp))?;
        }
        sync_dir(dir)?;
    }
    snapshots.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (index, path) in snapshots {
        let bytes = fs::read(&path).map_err(io_err("read snapshot", &path))?;
        match check(&path, index, &bytes)? {
            Ok(()) => {
                let mut payload = bytes;
                payload.drain(..HEADER_BYTES);
                return Ok(Some((index, payload)));
            }
            Err(reason) => tracing::warn!(
                file = %path.display(),
                reason,
                "skipping damaged snapshot; falling back to an older one"
            ),
        }
    }
    Ok(None)
}

fn header(index: u64, payload: &[u8]) -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    header[4..8].copy_from_slice(&VERSION.to_le_bytes());
    header[8..16].copy_from_slice(&index.to_le_bytes());
    header[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    let crc = crc(&header[..CRC_COVERED_HEADER_BYTES], payload);
    header[24..28].copy_from_slice(&crc.to_le_bytes());
    header
}

fn crc(covered_header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(covered_header);
    hasher.update(payload);
    hasher.finalize()
}

/// Checks a snapshot file's bytes: `Ok(Err(reason))` means damaged (skip it),
/// `Err` means intact but unreadable by this build.
fn check(path: &Path, name_index: u64, bytes: &[u8]) -> Result<Result<(), String>, StorageError> {
    if bytes.len() < HEADER_BYTES {
        return Ok(Err(format!(
            "{} bytes, shorter than the header",
            bytes.len()
        )));
    }
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let magic = u32_at(0);
    if magic != MAGIC {
        return Ok(Err(format!("bad magic {magic:#010x}")));
    }
    let payload = &bytes[HEADER_BYTES..];
    let len = u64_at(16);
    if len != payload.len() as u64 {
        return Ok(Err(format!(
            "header says {len} payload bytes, file has {}",
            payload.len()
        )));
    }
    if crc(&bytes[..CRC_COVERED_HEADER_BYTES], payload) != u32_at(24) {
        return Ok(Err("CRC mismatch".to_string()));
    }
    let version = u32_at(4);
    if version != VERSION {
        return Err(StorageError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    let index = u64_at(8);
    if index != name_index {
        return Ok(Err(format!("header index {index} does not match its name")));
    }
    Ok(Ok(()))
}

/// Deletes all snapshots but the [`SNAPSHOTS_KEPT`] newest, never `written`.
/// Failures are logged: the new snapshot is already durable.
fn prune(dir: &Path, written: u64) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "cannot list snapshots to prune");
            return;
        }
    };
    let mut indexes: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let index = e.file_name().to_str().and_then(parse_file_name)?;
            Some((index, e.path()))
        })
        .collect();
    indexes.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut removed_any = false;
    for (index, path) in indexes.into_iter().skip(SNAPSHOTS_KEPT) {
        if index == written {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => removed_any = true,
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "cannot remove old snapshot")
            }
        }
    }
    if removed_any {
        if let Err(error) = sync_dir(dir) {
            tracing::warn!(%error, "cannot fsync snapshot dir after pruning");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_tmp_names_are_recognised() {
        assert_eq!(file_name(5), "snap-00000000000000000005.snap");
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("snap-5.snap"), None);
        assert!(is_tmp_name("snap-00000000000000000005.snap.tmp"));
        assert!(!is_tmp_name("snap-00000000000000000005.snap"));
        assert!(!is_tmp_name("other.tmp"));
    }
}
