//! Recovery from what a crash or a bad disk can leave: a snapshot and a
//! write-ahead log written through the real writers from fuzzed payloads,
//! then damaged (a torn tail, a flipped byte) as the input says, and read
//! back by the server's recovery. It must recover what is intact or answer
//! an error, never panic, and never allocate more than the bytes justify.
//!
//! Input: byte 0 picks the damage, bytes 1-2 where; the rest is split at
//! 0xFF bytes into the snapshot's tree bytes (first part, when byte 0 says
//! so) and the log's record payloads.
#![no_main]

use core_server::storage::{self, Wal, WalOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[damage, at_hi, at_lo], rest)) = data.split_first_chunk::<3>().map(|(h, r)| (h, r))
    else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let mut parts = rest.split(|b| *b == 0xFF);
    let snapshot_index = if damage & 1 == 1 {
        let tree = parts.next().unwrap_or_default();
        if storage::write_snapshot(&dir.path().join("snapshots"), 2, tree).is_err() {
            return;
        }
        2
    } else {
        0
    };
    let payloads: Vec<&[u8]> = parts.take(64).collect();
    let wal_dir = dir.path().join("wal");
    {
        let Ok((mut wal, _)) = Wal::open(&wal_dir, WalOptions::default()) else {
            return;
        };
        let records: Vec<(u64, &[u8])> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (snapshot_index + 1 + i as u64, *p))
            .collect();
        if !records.is_empty() && wal.append(&records).is_err() {
            return;
        }
    }
    // Damage the newest file of the log or the snapshot.
    let target = if damage & 2 == 2 {
        dir.path().join("snapshots")
    } else {
        wal_dir
    };
    let mut files: Vec<_> = std::fs::read_dir(&target)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    if let Some(file) = files.last() {
        if let Ok(mut bytes) = std::fs::read(file) {
            let at = usize::from(u16::from_be_bytes([at_hi, at_lo]));
            match damage >> 2 & 3 {
                1 if !bytes.is_empty() => bytes.truncate(at % bytes.len()),
                2 if !bytes.is_empty() => {
                    let i = at % bytes.len();
                    bytes[i] ^= 1 << (damage >> 4 & 7);
                }
                3 => bytes.extend_from_slice(&rest[..rest.len().min(64)]),
                _ => {}
            }
            let _ = std::fs::write(file, bytes);
        }
    }
    let _ = core_server::replication::recover(dir.path(), 1_000, 1 << 20);
});
