//! The storage conformance suite: what every log and snapshot store must do.

use super::*;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

fn payload(i: u64) -> Vec<u8> {
    format!("record-{i}-{}", "x".repeat((i % 7) as usize)).into_bytes()
}

fn append_range(wal: &mut Wal, from: u64, to: u64) {
    let owned: Vec<(u64, Vec<u8>)> = (from..=to).map(|i| (i, payload(i))).collect();
    let refs: Vec<(u64, &[u8])> = owned.iter().map(|(i, p)| (*i, p.as_slice())).collect();
    wal.append(&refs).expect("append");
}

fn indexes(records: &[Record]) -> Vec<u64> {
    records.iter().map(|(i, _)| *i).collect()
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

#[test]
fn reopen_returns_every_appended_record_in_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut wal, records) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    assert!(records.is_empty());
    append_range(&mut wal, 1, 50);
    append_range(&mut wal, 51, 60);
    assert_eq!(wal.last_index(), Some(60));
    drop(wal);
    let (wal, records) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(indexes(&records), (1..=60).collect::<Vec<_>>());
    assert_eq!(records[9].1, payload(10));
    assert_eq!((wal.first_index(), wal.last_index()), (Some(1), Some(60)));
}

#[test]
fn a_torn_tail_at_any_offset_is_cut_and_the_log_stays_writable() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    append_range(&mut wal, 1, 3);
    drop(wal);
    let seg = segments(dir.path()).pop().expect("segment");
    let full = fs::read(&seg).expect("read");
    let last_len = 20 + payload(3).len();
    for cut in 1..last_len {
        fs::write(&seg, &full[..full.len() - cut]).expect("tear");
        let (mut wal, records) = Wal::open(dir.path(), WalOptions::default()).expect("open torn");
        assert_eq!(indexes(&records), vec![1, 2], "cut {cut} bytes");
        append_range(&mut wal, 3, 4);
        drop(wal);
        let (_, records) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
        assert_eq!(indexes(&records), vec![1, 2, 3, 4]);
    }
}

#[test]
fn a_flipped_bit_cuts_the_log_at_that_record() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    append_range(&mut wal, 1, 10);
    drop(wal);
    let seg = segments(dir.path()).pop().expect("segment");
    let mut bytes = fs::read(&seg).expect("read");
    let offset: usize = (1..=4).map(|i| 20 + payload(i).len()).sum::<usize>() + 22;
    bytes[offset] ^= 0x10;
    fs::write(&seg, &bytes).expect("write");
    let (_, records) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    assert_eq!(indexes(&records), vec![1, 2, 3, 4]);
}

#[test]
fn segments_roll_and_truncation_never_resurrects_old_records() {
    let dir = tempfile::tempdir().expect("tmp");
    let options = WalOptions { segment_bytes: 200 };
    let (mut wal, _) = Wal::open(dir.path(), options).expect("open");
    for i in 1..=40 {
        append_range(&mut wal, i, i);
    }
    assert!(segments(dir.path()).len() > 3, "small segments roll");
    wal.truncate_before(30).expect("truncate");
    drop(wal);
    let (wal, records) = Wal::open(dir.path(), options).expect("reopen");
    let got = indexes(&records);
    assert_eq!(got.last(), Some(&40));
    assert!(got.contains(&30), "records at and after the cut point stay");
    assert!(
        got.first().is_some_and(|f| *f > 1),
        "whole old segments are gone"
    );
    assert!(got.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(wal.last_index(), Some(40));
}

#[test]
fn truncate_before_past_the_end_starts_a_fresh_segment() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    append_range(&mut wal, 1, 10);
    wal.truncate_before(11).expect("truncate");
    append_range(&mut wal, 11, 12);
    wal.truncate_before(11).expect("truncate again");
    drop(wal);
    let (_, records) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(indexes(&records), vec![11, 12]);
}

#[test]
fn truncate_after_removes_the_suffix() {
    let dir = tempfile::tempdir().expect("tmp");
    let options = WalOptions { segment_bytes: 150 };
    let (mut wal, _) = Wal::open(dir.path(), options).expect("open");
    for i in 1..=20 {
        append_range(&mut wal, i, i);
    }
    wal.truncate_after(7).expect("truncate");
    assert_eq!(wal.last_index(), Some(7));
    append_range(&mut wal, 8, 9);
    drop(wal);
    let (_, records) = Wal::open(dir.path(), options).expect("reopen");
    assert_eq!(indexes(&records), (1..=9).collect::<Vec<_>>());
}

#[test]
fn appends_must_continue_the_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    append_range(&mut wal, 5, 6);
    let err = wal
        .append(&[(9, b"x".as_slice())])
        .expect_err("gap refused");
    assert!(matches!(
        err,
        StorageError::NonContiguous {
            expected: 7,
            got: 9
        }
    ));
}

#[test]
fn snapshots_round_trip_and_a_corrupt_newest_falls_back() {
    let dir = tempfile::tempdir().expect("tmp");
    assert_eq!(load_latest(dir.path()).expect("load"), None);
    write_snapshot(dir.path(), 10, b"ten").expect("write");
    write_snapshot(dir.path(), 20, b"twenty").expect("write");
    assert_eq!(
        load_latest(dir.path()).expect("load"),
        Some((20, b"twenty".to_vec()))
    );
    let newest = dir.path().join(format!("snap-{:020}.snap", 20));
    let mut f = OpenOptions::new().append(true).open(&newest).expect("open");
    f.write_all(b"garbage").expect("corrupt");
    assert_eq!(
        load_latest(dir.path()).expect("load"),
        Some((10, b"ten".to_vec()))
    );
    fs::write(
        dir.path().join("snap-00000000000000000030.snap.tmp"),
        b"half",
    )
    .expect("tmp");
    write_snapshot(dir.path(), 40, b"forty").expect("write");
    write_snapshot(dir.path(), 50, b"fifty").expect("write");
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only the two newest snapshots are kept, tmp files removed"
    );
    assert_eq!(
        load_latest(dir.path()).expect("load"),
        Some((50, b"fifty".to_vec()))
    );
}
