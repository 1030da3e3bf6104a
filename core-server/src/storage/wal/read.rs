//! Reading records back by index, for a caller that keeps only the newest
//! records in memory (the Raft log store: a lagging follower, or apply after
//! a restart, asks for older entries).
//!
//! Reads run on the thread that owns the [`Wal`], so they always see every
//! append and truncation made before them. A read in sequence (the next
//! index after the previous read) goes on from a remembered offset instead
//! of scanning its segment again; truncations forget that offset.

use super::super::segment::{SegmentReader, Step};
use super::{Record, StorageError, Wal};

/// Where the previous read stopped: the record `next` starts at byte
/// `offset` of the segment whose first index is `segment_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    segment_first: u64,
    next: u64,
    offset: u64,
}

impl Wal {
    /// The records with indexes in `from..to`, in order and consecutive from
    /// `from`, until `max_bytes` of payload are gathered (the record that
    /// crosses it is included, so a read returns at least one record when
    /// `from` is in the log). Indexes outside the log are absent, so the
    /// result may be shorter than asked, or empty.
    pub fn read_range(
        &mut self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<Record>, StorageError> {
        let mut out = Vec::new();
        let Some(last) = self.last_index else {
            return Ok(out);
        };
        let to = to.min(last.saturating_add(1));
        let first_kept = self.segments.partition_point(|s| s.first <= from);
        let Some(mut position) = first_kept.checked_sub(1) else {
            return Ok(out);
        };
        let mut next = from;
        let mut bytes = 0usize;
        while next < to {
            let Some(segment) = self.segments.get(position) else {
                break;
            };
            let (segment_first, path) = (segment.first, segment.path.clone());
            let start = match self.read_cursor {
                Some(c) if c.segment_first == segment_first && c.next <= next => c,
                _ => Cursor {
                    segment_first,
                    next: segment_first,
                    offset: 0,
                },
            };
            let mut reader = SegmentReader::open_at(&path, start.offset, start.next)?;
            loop {
                let offset = reader.offset();
                match reader.next_step()? {
                    Step::Record(index, _) if index < next => {}
                    Step::Record(index, payload) => {
                        if index >= to || (bytes >= max_bytes && !out.is_empty()) {
                            self.read_cursor = Some(Cursor {
                                segment_first,
                                next: index,
                                offset,
                            });
                            return Ok(out);
                        }
                        bytes = bytes.saturating_add(payload.len());
                        out.push((index, payload));
                        next = index.saturating_add(1);
                    }
                    Step::End => break,
                    Step::Defect(defect) => {
                        return Err(StorageError::Corrupt {
                            path,
                            offset,
                            detail: defect.to_string(),
                        })
                    }
                }
            }
            self.read_cursor = Some(Cursor {
                segment_first,
                next,
                offset: reader.offset(),
            });
            position += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Wal, WalOptions};

    fn payload(index: u64) -> Vec<u8> {
        vec![(index % 251) as u8; (index % 7 + 1) as usize * 10]
    }

    /// A log of records 1..=count in small segments.
    fn log(dir: &std::path::Path, count: u64) -> Wal {
        let options = WalOptions { segment_bytes: 300 };
        let (mut wal, _) = Wal::open(dir, options).expect("open");
        for index in 1..=count {
            let bytes = payload(index);
            wal.append(&[(index, &bytes)]).expect("append");
        }
        wal
    }

    fn indexes(records: &[(u64, Vec<u8>)]) -> Vec<u64> {
        records.iter().map(|r| r.0).collect()
    }

    #[test]
    fn reads_any_range_across_segments_with_the_right_payloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = log(dir.path(), 60);
        assert!(wal.segments.len() > 5, "the test needs several segments");
        for (from, to) in [(1, 61), (5, 9), (17, 43), (60, 61), (59, 100), (30, 30)] {
            let got = wal.read_range(from, to, usize::MAX).expect("read");
            let want: Vec<u64> = (from..to.min(61)).collect();
            assert_eq!(indexes(&got), want, "range {from}..{to}");
            for (index, bytes) in got {
                assert_eq!(bytes, payload(index));
            }
        }
        assert!(wal.read_range(61, 70, usize::MAX).expect("read").is_empty());
        assert!(wal.read_range(0, 1, usize::MAX).expect("read").is_empty());
    }

    #[test]
    fn sequential_reads_continue_and_stop_at_the_byte_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = log(dir.path(), 60);
        let mut next = 1;
        let mut seen = Vec::new();
        while next <= 60 {
            let got = wal.read_range(next, 61, 100).expect("read");
            assert!(!got.is_empty());
            let payload_bytes: usize = got.iter().map(|r| r.1.len()).sum();
            let last_len = got.last().map_or(0, |r| r.1.len());
            assert!(payload_bytes - last_len < 100, "stops once over budget");
            next = got.last().map_or(next, |r| r.0 + 1);
            seen.extend(indexes(&got));
        }
        assert_eq!(seen, (1..=60).collect::<Vec<_>>());
    }

    #[test]
    fn reads_see_appends_and_truncations_made_after_an_earlier_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = log(dir.path(), 20);
        assert_eq!(
            indexes(&wal.read_range(15, 21, usize::MAX).expect("read")).len(),
            6
        );
        let bytes = payload(21);
        wal.append(&[(21, &bytes)]).expect("append");
        assert_eq!(
            indexes(&wal.read_range(21, 22, usize::MAX).expect("read")),
            vec![21]
        );
        wal.truncate_after(17).expect("truncate after");
        let other = vec![9u8; 5];
        wal.append(&[(18, &other)]).expect("append");
        let got = wal.read_range(16, 30, usize::MAX).expect("read");
        assert_eq!(indexes(&got), vec![16, 17, 18]);
        assert_eq!(got[2].1, other);
        wal.truncate_before(10).expect("truncate before");
        let first = wal.first_index().expect("first");
        let got = wal.read_range(first, 19, usize::MAX).expect("read");
        assert_eq!(indexes(&got), (first..19).collect::<Vec<_>>());
    }
}
