//! Snapshot files: `snap-<index, 20 digits>.snap` holding
//! `magic u32 | version u32 | index u64 | len u64 | crc32 u32 | payload`.
//! Written to a temporary file, fsynced, renamed, and the directory fsynced;
//! the two newest are kept.

use super::{io_err, sync_dir, StorageError};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: u32 = 0xC0AA_5A4F;
const VERSION: u32 = 1;
const HEADER: usize = 4 + 4 + 8 + 8 + 4;
const KEEP: usize = 2;

fn snapshot_indexes(dir: &Path) -> Result<Vec<u64>, StorageError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)
        .map_err(io_err("list", dir))?
        .filter_map(|e| e.ok())
    {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
            continue;
        }
        if let Some(index) = name
            .strip_prefix("snap-")
            .and_then(|n| n.strip_suffix(".snap"))
            .and_then(|n| n.parse().ok())
        {
            found.push(index);
        }
    }
    found.sort_unstable();
    Ok(found)
}

fn snapshot_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("snap-{index:020}.snap"))
}

/// Writes a snapshot of the state as of log index `last_index` durably, then
/// deletes all but the two newest snapshots.
pub fn write_snapshot(
    dir: &Path,
    last_index: u64,
    payload: &[u8],
) -> Result<PathBuf, StorageError> {
    fs::create_dir_all(dir).map_err(io_err("create dir", dir))?;
    let path = snapshot_path(dir, last_index);
    let tmp = dir.join(format!("snap-{last_index:020}.snap.tmp"));
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(&MAGIC.to_le_bytes());
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&last_index.to_le_bytes());
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    {
        let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
        file.write_all(&header).map_err(io_err("write", &tmp))?;
        file.write_all(payload).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("fsync", &tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err("rename", &tmp))?;
    sync_dir(dir)?;
    let indexes = snapshot_indexes(dir)?;
    if indexes.len() > KEEP {
        for old in &indexes[..indexes.len() - KEEP] {
            let old_path = snapshot_path(dir, *old);
            fs::remove_file(&old_path).map_err(io_err("remove", &old_path))?;
        }
        sync_dir(dir)?;
    }
    Ok(path)
}

fn read_snapshot(path: &Path) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err("read", path))?;
    if bytes.len() < HEADER {
        return Ok(None);
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let (magic, version, index, len, crc) =
        (u32_at(0), u32_at(4), u64_at(8), u64_at(16), u32_at(24));
    let payload = &bytes[HEADER..];
    if magic != MAGIC
        || version != VERSION
        || payload.len() as u64 != len
        || crc32fast::hash(payload) != crc
    {
        return Ok(None);
    }
    Ok(Some((index, payload.to_vec())))
}

/// The newest snapshot whose checksum is good, as (index, payload); corrupt
/// ones are skipped with a warning, leftover temporary files deleted.
pub fn load_latest(dir: &Path) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
    if !dir.exists() {
        return Ok(None);
    }
    for index in snapshot_indexes(dir)?.into_iter().rev() {
        let path = snapshot_path(dir, index);
        match read_snapshot(&path)? {
            Some(found) => return Ok(Some(found)),
            None => tracing::warn!(path = %path.display(), "skipping corrupt snapshot"),
        }
    }
    Ok(None)
}
