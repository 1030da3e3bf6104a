//! Tests of [`write_snapshot`] and [`load_latest`], one guarantee each.

use super::{load_latest, write_snapshot, StorageError};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn write(dir: &Path, index: u64, payload: &[u8]) -> PathBuf {
    write_snapshot(dir, index, payload).expect("write snapshot")
}

fn load(dir: &Path) -> Option<(u64, Vec<u8>)> {
    load_latest(dir).expect("load snapshot")
}

fn snapshot_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn flip_bit(path: &Path, at: usize) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at] ^= 0x01;
    fs::write(path, bytes).expect("write");
}

// Guarantee: what write_snapshot returned Ok for, load_latest returns.
#[test]
fn written_snapshot_loads_back() {
    let tmp = tempdir();
    let dir = tmp.path().join("snapshots");
    let path = write(&dir, 42, b"the whole tree");
    assert_eq!(path, dir.join("snap-00000000000000000042.snap"));
    assert_eq!(load(&dir), Some((42, b"the whole tree".to_vec())));
}

#[test]
fn empty_payload_round_trips() {
    let tmp = tempdir();
    write(tmp.path(), 7, b"");
    assert_eq!(load(tmp.path()), Some((7, Vec::new())));
}

#[test]
fn missing_or_empty_directory_has_no_snapshot() {
    let tmp = tempdir();
    assert_eq!(load(&tmp.path().join("never-created")), None);
    assert_eq!(load(tmp.path()), None);
}

#[test]
fn newest_snapshot_wins() {
    let tmp = tempdir();
    write(tmp.path(), 10, b"ten");
    write(tmp.path(), 20, b"twenty");
    assert_eq!(load(tmp.path()), Some((20, b"twenty".to_vec())));
}

// Guarantee: a damaged newest snapshot never loads; the previous one does.
#[test]
fn corrupt_newest_falls_back_to_previous_at_any_byte() {
    let payload = b"payload of the newest snapshot";
    let len = 28 + payload.len();
    for at in 0..len {
        let tmp = tempdir();
        write(tmp.path(), 10, b"older");
        let newest = write(tmp.path(), 20, payload);
        flip_bit(&newest, at);
        assert_eq!(
            load(tmp.path()),
            Some((10, b"older".to_vec())),
            "bit flipped at byte {at}"
        );
    }
}

#[test]
fn truncated_newest_falls_back_to_previous() {
    for keep in [0, 10, 27, 28, 30] {
        let tmp = tempdir();
        write(tmp.path(), 1, b"older");
        let newest = write(tmp.path(), 2, b"newest, to be truncated");
        let bytes = fs::read(&newest).expect("read");
        fs::write(&newest, &bytes[..keep]).expect("truncate");
        assert_eq!(
            load(tmp.path()),
            Some((1, b"older".to_vec())),
            "kept {keep} bytes"
        );
    }
}

#[test]
fn all_snapshots_corrupt_means_none() {
    let tmp = tempdir();
    let only = write(tmp.path(), 3, b"x");
    flip_bit(&only, 28);
    assert_eq!(load(tmp.path()), None);
}

// Guarantee: the header index is the one in the name; a renamed file is not trusted.
#[test]
fn snapshot_whose_name_disagrees_with_its_header_is_skipped() {
    let tmp = tempdir();
    write(tmp.path(), 5, b"five");
    let stray = write(tmp.path(), 6, b"six");
    fs::rename(&stray, tmp.path().join("snap-00000000000000000009.snap")).expect("rename");
    assert_eq!(load(tmp.path()), Some((5, b"five".to_vec())));
}

// Guarantee: an interrupted write is invisible and cleaned up.
#[test]
fn leftover_tmp_files_are_ignored_and_deleted() {
    let tmp = tempdir();
    write(tmp.path(), 5, b"five");
    let leftover = tmp.path().join("snap-00000000000000000009.snap.tmp");
    fs::write(&leftover, b"half a snapsh").expect("write tmp");
    assert_eq!(load(tmp.path()), Some((5, b"five".to_vec())));
    assert!(!leftover.exists());
}

#[test]
fn only_the_two_newest_snapshots_are_kept() {
    let tmp = tempdir();
    for index in [1, 2, 3, 4, 5] {
        write(tmp.path(), index * 10, format!("at {index}").as_bytes());
    }
    assert_eq!(
        snapshot_names(tmp.path()),
        vec![
            "snap-00000000000000000040.snap".to_string(),
            "snap-00000000000000000050.snap".to_string(),
        ]
    );
    assert_eq!(load(tmp.path()), Some((50, b"at 5".to_vec())));
}

#[test]
fn rewriting_the_same_index_replaces_it() {
    let tmp = tempdir();
    write(tmp.path(), 8, b"first");
    write(tmp.path(), 8, b"second");
    assert_eq!(load(tmp.path()), Some((8, b"second".to_vec())));
    assert_eq!(snapshot_names(tmp.path()).len(), 1);
}

#[test]
fn an_older_snapshot_written_late_is_not_deleted_at_once() {
    let tmp = tempdir();
    write(tmp.path(), 30, b"30");
    write(tmp.path(), 40, b"40");
    let late = write(tmp.path(), 10, b"10");
    assert!(late.exists());
    assert_eq!(load(tmp.path()), Some((40, b"40".to_vec())));
}

// Guarantee: a snapshot from a newer format is never silently skipped.
#[test]
fn intact_snapshot_of_unknown_version_is_an_error() {
    let tmp = tempdir();
    write(tmp.path(), 1, b"older");
    let newest = write(tmp.path(), 2, b"from the future");
    let mut bytes = fs::read(&newest).expect("read");
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[..24]);
    hasher.update(&bytes[28..]);
    let crc = hasher.finalize();
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
    fs::write(&newest, bytes).expect("write");
    match load_latest(tmp.path()) {
        Err(StorageError::UnsupportedVersion { version: 2, path }) => assert_eq!(path, newest),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}
