//! Conformance suite for [`Wal`]: every guarantee is one test body, run under
//! several segment sizes (one record per segment, a few per segment, one
//! segment for everything), so each holds across segment boundaries too.

use super::{Record, StorageError, Wal, WalOptions, MAX_PAYLOAD_BYTES};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const ONE_RECORD_PER_SEGMENT: WalOptions = WalOptions { segment_bytes: 1 };
const FEW_RECORDS_PER_SEGMENT: WalOptions = WalOptions { segment_bytes: 120 };
const SINGLE_SEGMENT: WalOptions = WalOptions {
    segment_bytes: 64 << 20,
};

/// Runs each named body under every segment size.
macro_rules! conformance {
    ($($body:ident),* $(,)?) => {
        mod one_record_per_segment {
            $(#[test] fn $body() { super::$body(super::ONE_RECORD_PER_SEGMENT) })*
        }
        mod few_records_per_segment {
            $(#[test] fn $body() { super::$body(super::FEW_RECORDS_PER_SEGMENT) })*
        }
        mod single_segment {
            $(#[test] fn $body() { super::$body(super::SINGLE_SEGMENT) })*
        }
    };
}

conformance!(
    appended_records_round_trip_through_reopen,
    reopen_then_append_continues_the_log,
    empty_log_accepts_any_first_index,
    empty_batch_is_a_noop,
    non_contiguous_append_is_refused_and_writes_nothing,
    oversized_payload_is_refused_and_writes_nothing,
    torn_tail_at_every_byte_offset_is_cut_and_log_stays_writable,
    zeroed_tail_is_cut,
    corruption_at_any_byte_of_a_record_cuts_there_and_removes_later_segments,
    gap_between_segments_cuts_the_log,
    segments_roll_at_configured_size_and_reopen_across_them,
    truncate_before_deletes_old_segments_and_reopen_never_resurrects_them,
    truncate_before_past_the_end_empties_the_log,
    truncate_after_removes_the_suffix_durably,
    truncate_after_below_first_index_empties_the_log,
    foreign_files_in_the_directory_are_ignored,
);

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn payload(index: u64) -> Vec<u8> {
    format!("record-{index};")
        .repeat(1 + (index % 3) as usize)
        .into_bytes()
}

fn records(range: RangeInclusive<u64>) -> Vec<Record> {
    range.map(|i| (i, payload(i))).collect()
}

fn open(dir: &Path, options: WalOptions) -> (Wal, Vec<Record>) {
    Wal::open(dir, options).expect("open wal")
}

/// Appends `range` in batches of up to four records.
fn append(wal: &mut Wal, range: RangeInclusive<u64>) {
    let all = records(range);
    for batch in all.chunks(4) {
        let refs: Vec<(u64, &[u8])> = batch.iter().map(|(i, p)| (*i, p.as_slice())).collect();
        wal.append(&refs).expect("append");
    }
}

/// A log in a fresh directory holding `range`, closed again.
fn log_with(range: RangeInclusive<u64>, options: WalOptions) -> (TempDir, PathBuf) {
    let tmp = tempdir();
    let dir = tmp.path().join("wal");
    let (mut wal, _) = open(&dir, options);
    append(&mut wal, range);
    (tmp, dir)
}

/// Segment files, oldest first, with the first index their name claims.
fn segment_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut files: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
            Some((digits.parse().ok()?, p))
        })
        .collect();
    files.sort();
    files
}

/// Where record `index` lives: (file, byte offset, encoded length).
fn locate(dir: &Path, index: u64) -> (PathBuf, u64, u64) {
    for (_, path) in segment_files(dir) {
        let bytes = fs::read(&path).expect("read segment");
        let mut at = 0usize;
        while at + 20 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
            let found = u64::from_le_bytes(bytes[at + 12..at + 20].try_into().expect("8 bytes"));
            let total = 20 + len as usize;
            if found == index {
                return (path, at as u64, total as u64);
            }
            at += total;
        }
    }
    panic!("record {index} not found");
}

fn set_len(path: &Path, len: u64) {
    let file = OpenOptions::new().write(true).open(path).expect("open");
    file.set_len(len).expect("set_len");
}

fn flip_bit(path: &Path, at: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at as usize] ^= 0x10;
    fs::write(path, bytes).expect("write");
}

// Guarantee: what append acknowledged, open returns, in order.
fn appended_records_round_trip_through_reopen(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=25, options);
    let (wal, got) = open(&dir, options);
    assert_eq!(got, records(1..=25));
    assert_eq!(wal.first_index(), Some(1));
    assert_eq!(wal.last_index(), Some(25));
}

// Guarantee: a reopened log continues where it ended, across many reopens.
fn reopen_then_append_continues_the_log(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=5, options);
    for round in 1..=3u64 {
        let (mut wal, got) = open(&dir, options);
        assert_eq!(got, records(1..=5 * round));
        append(&mut wal, 5 * round + 1..=5 * round + 5);
    }
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(1..=20));
}

// Guarantee: after a snapshot the log may start anywhere.
fn empty_log_accepts_any_first_index(options: WalOptions) {
    let (_tmp, dir) = log_with(1000..=1010, options);
    let (wal, got) = open(&dir, options);
    assert_eq!(got, records(1000..=1010));
    assert_eq!(wal.first_index(), Some(1000));
}

fn empty_batch_is_a_noop(options: WalOptions) {
    let tmp = tempdir();
    let (mut wal, _) = open(tmp.path(), options);
    wal.append(&[]).expect("empty append");
    assert_eq!(wal.last_index(), None);
    assert!(segment_files(tmp.path()).is_empty());
}

// Guarantee: indexes are strictly consecutive; a refused batch leaves no trace.
fn non_contiguous_append_is_refused_and_writes_nothing(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=3, options);
    let (mut wal, _) = open(&dir, options);
    let p = payload(0);
    for (batch, expected, got) in [
        (vec![(5, p.as_slice())], 4, 5),
        (vec![(3, p.as_slice())], 4, 3),
        (vec![(4, p.as_slice()), (6, p.as_slice())], 5, 6),
        (vec![(4, p.as_slice()), (4, p.as_slice())], 5, 4),
    ] {
        match wal.append(&batch) {
            Err(StorageError::NonContiguous {
                expected: e,
                got: g,
            }) => {
                assert_eq!((e, g), (expected, got));
            }
            other => panic!("expected NonContiguous, got {other:?}"),
        }
    }
    assert_eq!(wal.last_index(), Some(3));
    append(&mut wal, 4..=4);
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(1..=4));
}

fn oversized_payload_is_refused_and_writes_nothing(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=2, options);
    let (mut wal, _) = open(&dir, options);
    // Zeroed allocations are lazily mapped: this does not touch 1 GiB.
    let huge = vec![0u8; MAX_PAYLOAD_BYTES as usize + 1];
    let small = payload(3);
    let result = wal.append(&[(3, small.as_slice()), (4, huge.as_slice())]);
    assert!(
        matches!(result, Err(StorageError::TooLarge { .. })),
        "{result:?}"
    );
    drop(huge);
    append(&mut wal, 3..=3);
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(1..=3));
}

// Guarantee: a crash mid-write costs at most the unsynced tail, never the log.
fn torn_tail_at_every_byte_offset_is_cut_and_log_stays_writable(options: WalOptions) {
    let (_tmp, reference) = log_with(1..=6, options);
    let (_, _, record_len) = locate(&reference, 6);
    for kept in 0..record_len {
        let (_tmp, dir) = log_with(1..=6, options);
        let (path, offset, _) = locate(&dir, 6);
        set_len(&path, offset + kept);
        let (mut wal, got) = open(&dir, options);
        assert_eq!(got, records(1..=5), "tail torn after {kept} bytes");
        assert_eq!(wal.last_index(), Some(5));
        append(&mut wal, 6..=8);
        drop(wal);
        let (_, got) = open(&dir, options);
        assert_eq!(got, records(1..=8), "reopen after repair, torn at {kept}");
    }
}

// Guarantee: space the file system allocated but never filled is not data.
fn zeroed_tail_is_cut(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=4, options);
    let (_, last) = segment_files(&dir).pop().expect("a segment");
    let mut file = OpenOptions::new().append(true).open(&last).expect("open");
    file.write_all(&[0u8; 4096]).expect("write zeroes");
    drop(file);
    let (mut wal, got) = open(&dir, options);
    assert_eq!(got, records(1..=4));
    append(&mut wal, 5..=5);
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(1..=5));
}

// Guarantee: we keep exactly what is provably good: the prefix before the
// first damaged record, wherever it is, and nothing after it.
fn corruption_at_any_byte_of_a_record_cuts_there_and_removes_later_segments(options: WalOptions) {
    let (_tmp, reference) = log_with(1..=10, options);
    let (_, _, record_len) = locate(&reference, 6);
    for byte in 0..record_len {
        let (_tmp, dir) = log_with(1..=10, options);
        let (path, offset, _) = locate(&dir, 6);
        flip_bit(&path, offset + byte);
        let (mut wal, got) = open(&dir, options);
        assert_eq!(
            got,
            records(1..=5),
            "bit flipped at byte {byte} of record 6"
        );
        assert_eq!(wal.last_index(), Some(5));
        for (first, path) in segment_files(&dir) {
            assert!(first <= 5, "{} survived the cut", path.display());
        }
        append(&mut wal, 6..=7);
        let (_, got) = open(&dir, options);
        assert_eq!(got, records(1..=7));
    }
}

// Guarantee: a missing segment ends the log; nothing after a gap is returned.
fn gap_between_segments_cuts_the_log(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=30, options);
    let files = segment_files(&dir);
    if files.len() < 3 {
        return; // no middle segment to lose with this segment size
    }
    let (lost_first, lost) = &files[1];
    fs::remove_file(lost).expect("remove");
    let (wal, got) = open(&dir, options);
    assert_eq!(got, records(1..=lost_first - 1));
    assert_eq!(wal.last_index(), Some(lost_first - 1));
    assert_eq!(segment_files(&dir).len(), 1);
}

// Guarantee: segments stay near the configured size and are named after
// their first record.
fn segments_roll_at_configured_size_and_reopen_across_them(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=40, options);
    let files = segment_files(&dir);
    for (first, path) in &files {
        let (located, offset, _) = locate(&dir, *first);
        assert_eq!(
            (&located, offset),
            (path, 0),
            "{} is misnamed",
            path.display()
        );
        let len = fs::metadata(path).expect("stat").len();
        let (_, _, first_len) = locate(&dir, *first);
        assert!(
            len <= options.segment_bytes.max(first_len),
            "{} is {len} bytes",
            path.display()
        );
    }
    if options == SINGLE_SEGMENT {
        assert_eq!(files.len(), 1);
    }
    if options == ONE_RECORD_PER_SEGMENT {
        assert_eq!(files.len(), 40);
    }
    let (mut wal, got) = open(&dir, options);
    assert_eq!(got, records(1..=40));
    append(&mut wal, 41..=45);
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(1..=45));
}

// Guarantee: compaction frees whole segments and a restart never brings back
// anything older than the first kept segment.
fn truncate_before_deletes_old_segments_and_reopen_never_resurrects_them(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=50, options);
    let (mut wal, _) = open(&dir, options);
    let segments_before = segment_files(&dir).len();
    wal.truncate_before(30).expect("truncate_before");
    let first = wal.first_index().expect("records remain");
    assert!(first <= 30, "record 30 must be kept, first is {first}");
    assert_eq!(wal.last_index(), Some(50));
    let files = segment_files(&dir);
    assert_eq!(files.first().map(|f| f.0), Some(first));
    if segments_before > 1 {
        assert!(files.len() < segments_before, "no segment was deleted");
    }
    append(&mut wal, 51..=52);
    drop(wal);
    let (wal, got) = open(&dir, options);
    assert_eq!(got, records(first..=52));
    assert_eq!(wal.first_index(), Some(first));
    // Truncating at or below the first record changes nothing.
    let (mut wal, _) = open(&dir, options);
    let files = segment_files(&dir);
    wal.truncate_before(first).expect("noop truncate");
    assert_eq!(segment_files(&dir), files);
}

// Guarantee: a snapshot covering the whole log leaves an empty log that a
// restart does not refill and that accepts the index after the snapshot.
fn truncate_before_past_the_end_empties_the_log(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=20, options);
    let (mut wal, _) = open(&dir, options);
    wal.truncate_before(21).expect("truncate_before");
    assert_eq!((wal.first_index(), wal.last_index()), (None, None));
    assert!(segment_files(&dir).is_empty());
    drop(wal);
    let (mut wal, got) = open(&dir, options);
    assert!(got.is_empty());
    append(&mut wal, 500..=503);
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(500..=503));
}

// Guarantee: a conflicting suffix is gone for good, and new records replace it.
fn truncate_after_removes_the_suffix_durably(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=30, options);
    let (mut wal, _) = open(&dir, options);
    wal.truncate_after(30).expect("noop at last");
    wal.truncate_after(99).expect("noop past last");
    assert_eq!(wal.last_index(), Some(30));
    wal.truncate_after(17).expect("truncate_after");
    assert_eq!(wal.last_index(), Some(17));
    for (first, _) in segment_files(&dir) {
        assert!(first <= 17);
    }
    let replacement = b"from the new leader".to_vec();
    wal.append(&[(18, replacement.as_slice())]).expect("append");
    drop(wal);
    let (wal, got) = open(&dir, options);
    let mut expected = records(1..=17);
    expected.push((18, replacement));
    assert_eq!(got, expected);
    assert_eq!(wal.last_index(), Some(18));
}

fn truncate_after_below_first_index_empties_the_log(options: WalOptions) {
    let (_tmp, dir) = log_with(10..=20, options);
    let (mut wal, _) = open(&dir, options);
    wal.truncate_after(9).expect("truncate_after");
    assert_eq!((wal.first_index(), wal.last_index()), (None, None));
    append(&mut wal, 3..=4);
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(3..=4));
}

fn foreign_files_in_the_directory_are_ignored(options: WalOptions) {
    let (_tmp, dir) = log_with(1..=3, options);
    fs::write(dir.join("README"), b"not a segment").expect("write");
    fs::write(dir.join("wal-1.log"), b"not ours either").expect("write");
    let (_, got) = open(&dir, options);
    assert_eq!(got, records(1..=3));
    assert!(dir.join("README").exists());
}

// Guarantee: group commit. A batch costs one fdatasync per segment it writes
// to, however many records it carries.
#[test]
fn a_batch_costs_one_fdatasync_per_segment_touched() {
    for options in [
        SINGLE_SEGMENT,
        FEW_RECORDS_PER_SEGMENT,
        ONE_RECORD_PER_SEGMENT,
    ] {
        let tmp = tempdir();
        let (mut wal, _) = open(tmp.path(), options);
        let all = records(1..=50);
        let refs: Vec<(u64, &[u8])> = all.iter().map(|(i, p)| (*i, p.as_slice())).collect();
        wal.append(&refs).expect("append");
        assert_eq!(
            wal.data_syncs(),
            segment_files(tmp.path()).len() as u64,
            "{options:?}"
        );
        if options == SINGLE_SEGMENT {
            assert_eq!(wal.data_syncs(), 1);
        }
    }
}

#[test]
fn open_creates_missing_directories() {
    let tmp = tempdir();
    let dir = tmp.path().join("a").join("b").join("wal");
    let (wal, got) = open(&dir, WalOptions::default());
    assert!(got.is_empty() && dir.is_dir());
    assert_eq!((wal.first_index(), wal.last_index()), (None, None));
}

#[test]
fn default_segment_size_is_64_mib() {
    assert_eq!(WalOptions::default().segment_bytes, 64 * 1024 * 1024);
}

#[test]
fn a_batch_larger_than_a_segment_spans_segments_and_survives() {
    let tmp = tempdir();
    let options = FEW_RECORDS_PER_SEGMENT;
    let (mut wal, _) = open(tmp.path(), options);
    let all = records(1..=30);
    let refs: Vec<(u64, &[u8])> = all.iter().map(|(i, p)| (*i, p.as_slice())).collect();
    wal.append(&refs).expect("one big batch");
    assert!(segment_files(tmp.path()).len() > 1);
    let (_, got) = open(tmp.path(), options);
    assert_eq!(got, all);
}
