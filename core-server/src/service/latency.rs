//! Request latency histograms, by operation and protocol
//! (`corral_request_duration_seconds{op, protocol}`), kept per server in
//! fixed buckets and written at scrape time. (With the process-wide
//! recorder's histograms, read medians were 12-14% lower in one noisy
//! run: benches/README.md.)

use crate::request::Request;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The front end a connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The native gRPC API.
    Native,
    /// ZooKeeper's wire protocol.
    ZooKeeper,
}

impl Protocol {
    /// Its label value.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Native => "native",
            Protocol::ZooKeeper => "zookeeper",
        }
    }
}

/// Operation names, as ZooKeeper's per-op counters spell them.
pub const OPS: [&str; 23] = [
    "create",
    "delete",
    "exists",
    "get_data",
    "set_data",
    "get_children",
    "sync",
    "multi",
    "multi_read",
    "get_all_children_number",
    "get_ephemerals",
    "add_watch",
    "remove_watches",
    "check_watches",
    "set_watches",
    "watch_from",
    "cancel_watch_from",
    "close_session",
    "get_acl",
    "set_acl",
    "add_auth",
    "who_am_i",
    "sasl",
];

/// The index in [`OPS`] of a request's operation.
pub fn op_index(request: &Request) -> usize {
    match request {
        Request::Create(_) => 0,
        Request::Delete { .. } => 1,
        Request::Exists { .. } => 2,
        Request::GetData { .. } => 3,
        Request::SetData { .. } => 4,
        Request::GetChildren { .. } => 5,
        Request::Sync { .. } => 6,
        Request::Multi(_) => 7,
        Request::MultiRead(_) => 8,
        Request::GetAllChildrenNumber { .. } => 9,
        Request::GetEphemerals { .. } => 10,
        Request::AddWatch { .. } => 11,
        Request::RemoveWatches { .. } => 12,
        Request::CheckWatches { .. } => 13,
        Request::SetWatches(_) => 14,
        Request::WatchFrom { .. } => 15,
        Request::CancelWatchFrom { .. } => 16,
        Request::CloseSession => 17,
        Request::GetAcl { .. } => 18,
        Request::SetAcl { .. } => 19,
        Request::AddAuth { .. } => 20,
        Request::WhoAmI => 21,
        Request::Sasl { .. } => 22,
    }
}

/// Upper bounds of the buckets, µs (50 µs to 10 s, as the other
/// `_seconds` histograms).
const BOUNDS_MICROS: [u64; 17] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// One histogram: a count per bucket (the last one past every bound) and
/// the sum of the observations.
#[derive(Debug, Default)]
struct Cell {
    buckets: [AtomicU64; BOUNDS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

/// The histograms of one server, one per operation and protocol: fixed
/// buckets of relaxed atomic counters, so recording costs two atomic adds
/// and no allocation, and each server reports its own (even several in one
/// process).
#[derive(Debug)]
pub struct Latency {
    cells: Vec<Cell>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            cells: (0..2 * OPS.len()).map(|_| Cell::default()).collect(),
        }
    }
}

fn protocol_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Native => 0,
        Protocol::ZooKeeper => 1,
    }
}

impl Latency {
    /// Records one answered request.
    pub fn record(&self, protocol: Protocol, op: usize, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let Some(cell) = self.cells.get(protocol_index(protocol) * OPS.len() + op) else {
            return;
        };
        let bucket = BOUNDS_MICROS
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(BOUNDS_MICROS.len());
        if let Some(counter) = cell.buckets.get(bucket) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        cell.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Writes `corral_request_duration_seconds` in Prometheus text (only
    /// the operations seen).
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let name = "corral_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From a request's arrival to its answer, by operation and protocol"
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for protocol in [Protocol::Native, Protocol::ZooKeeper] {
            for (op, op_name) in OPS.iter().enumerate() {
                let Some(cell) = self.cells.get(protocol_index(protocol) * OPS.len() + op) else {
                    continue;
                };
                let counts: Vec<u64> = cell
                    .buckets
                    .iter()
                    .map(|b| b.load(Ordering::Relaxed))
                    .collect();
                let total: u64 = counts.iter().sum();
                if total == 0 {
                    continue;
                }
                let labels = format!("op=\"{op_name}\",protocol=\"{}\"", protocol.name());
                let mut cumulative = 0;
                for (i, count) in counts.iter().enumerate() {
                    cumulative += count;
                    let le = BOUNDS_MICROS
                        .get(i)
                        .map_or("+Inf".to_string(), |b| (*b as f64 / 1e6).to_string());
                    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
                }
                let sum = cell.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
                let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
            }
        }
    }
}

/// Requests answered so far, as the web console's charts sample them:
/// writes, reads, and the latency buckets of every operation together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// create, delete, setData, setACL and multi answered.
    pub writes: u64,
    /// exists, getData, getChildren, getACL, multiRead and the counts answered.
    pub reads: u64,
    /// Requests of any operation per bucket of [`Totals::p99_micros_since`].
    pub buckets: [u64; BOUNDS_MICROS.len() + 1],
}

/// Operations counted as writes in [`Totals`].
const WRITE_OPS: [usize; 5] = [0, 1, 4, 7, 19];
/// Operations counted as reads in [`Totals`].
const READ_OPS: [usize; 8] = [2, 3, 5, 8, 9, 10, 18, 21];

impl Totals {
    /// The 99th percentile latency of the requests answered between
    /// `earlier` and `self`, as the upper bound of its bucket in µs (`None`:
    /// none answered; past the last bound: the last bound).
    pub fn p99_micros_since(&self, earlier: &Totals) -> Option<u64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .zip(earlier.buckets.iter())
            .map(|(now, then)| now.saturating_sub(*then))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = total - total / 100;
        let mut seen = 0;
        for (i, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let last = BOUNDS_MICROS[BOUNDS_MICROS.len() - 1];
                return Some(BOUNDS_MICROS.get(i).copied().unwrap_or(last));
            }
        }
        None
    }
}

impl Latency {
    /// The answered requests so far (see [`Totals`]).
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for (index, cell) in self.cells.iter().enumerate() {
            let op = index % OPS.len();
            let mut count = 0;
            for (bucket, counter) in cell.buckets.iter().enumerate() {
                let n = counter.load(Ordering::Relaxed);
                count += n;
                if let Some(slot) = totals.buckets.get_mut(bucket) {
                    *slot += n;
                }
            }
            if WRITE_OPS.contains(&op) {
                totals.writes += count;
            } else if READ_OPS.contains(&op) {
                totals.reads += count;
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_split_writes_from_reads_and_give_a_p99() {
        let latency = Latency::default();
        let before = latency.totals();
        assert_eq!(latency.totals().p99_micros_since(&before), None);
        for _ in 0..99 {
            latency.record(Protocol::Native, 3, Duration::from_micros(80));
        }
        latency.record(Protocol::ZooKeeper, 0, Duration::from_millis(40));
        let after = latency.totals();
        assert_eq!((after.writes, after.reads), (1, 99));
        assert_eq!(after.p99_micros_since(&before), Some(100));
        latency.record(Protocol::ZooKeeper, 0, Duration::from_millis(40));
        assert_eq!(latency.totals().p99_micros_since(&before), Some(50_000));
    }

    #[test]
    fn every_operation_has_a_distinct_name() {
        let names: std::collections::BTreeSet<_> = OPS.iter().collect();
        assert_eq!(names.len(), OPS.len());
        assert_eq!(OPS[op_index(&Request::WhoAmI)], "who_am_i");
        assert_eq!(OPS[op_index(&Request::CloseSession)], "close_session");
    }

    #[test]
    fn buckets_are_cumulative_and_only_seen_operations_are_written() {
        let latency = Latency::default();
        let get = op_index(&Request::WhoAmI);
        latency.record(Protocol::ZooKeeper, get, Duration::from_micros(80));
        latency.record(Protocol::ZooKeeper, get, Duration::from_micros(3_000));
        latency.record(Protocol::ZooKeeper, get, Duration::from_secs(60));
        let mut out = String::new();
        latency.render(&mut out);
        let labels = "op=\"who_am_i\",protocol=\"zookeeper\"";
        for (le, count) in [
            ("0.00005", 0),
            ("0.0001", 1),
            ("0.005", 2),
            ("10", 2),
            ("+Inf", 3),
        ] {
            let line =
                format!("corral_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {count}");
            assert!(out.contains(&line), "{line} in\n{out}");
        }
        assert!(out.contains(&format!(
            "corral_request_duration_seconds_count{{{labels}}} 3"
        )));
        assert!(
            !out.contains("protocol=\"native\""),
            "no native request was seen"
        );
    }
}
