//! `GET /metrics`: Prometheus text through the `metrics` facade.
//!
//! Counters and histograms recorded on the request, log and peer paths go
//! to one process-wide recorder (metrics-exporter-prometheus), installed by
//! the first server the process starts. A server's own state (its role,
//! indexes, tree sizes, connections) is read at scrape time and written
//! after them, so several servers in one process (tests, `corral dev`) each
//! report their own; the recorder's series are then the process's sums.
//! Histograms are drained into their buckets every second by an upkeep
//! thread, so memory does not grow with load between scrapes.

use super::facts::Facts;
use super::AdminState;
use crate::replication::ServerMode;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

/// Bucket bounds of every `_seconds` histogram: 50 µs to 10 s.
pub const SECONDS_BUCKETS: [f64; 17] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Bucket bounds of every `_bytes` histogram: 64 B to 1 GiB.
pub const BYTES_BUCKETS: [f64; 13] = [
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
];

/// Bucket bounds of the proposals-per-batch histogram.
pub const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

struct Recorder {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();

/// Installs the process's recorder if none is (idempotent). `None` if
/// another recorder was installed first (a program embedding Corral with
/// its own): then `/metrics` has only the per-server series.
pub fn install() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), &BYTES_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("corral_batch_proposals".into()),
                        &BATCH_BUCKETS,
                    )
                })
                .and_then(PrometheusBuilder::install_recorder)
                .ok()?;
            describe();
            let process = metrics_process::Collector::default();
            process.describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("corral-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(1));
                    upkeep.run_upkeep();
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "no metrics upkeep thread: histograms grow until scraped");
            }
            Some(Recorder { handle, process })
        })
        .as_ref()
        .map(|r| &r.handle)
}

/// Help texts of the recorded series.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "corral_leader_changes_total",
        "Times this process's servers saw the leader change (or be lost)"
    );
    describe_counter!(
        "corral_proposals_committed_total",
        "Proposals this leader got committed by a majority"
    );
    describe_counter!(
        "corral_proposals_applied_total",
        "Transactions applied to the tree here"
    );
    describe_counter!(
        "corral_proposals_failed_total",
        "Proposals answered with a failure, by reason"
    );
    describe_counter!(
        "corral_proposals_abandoned_total",
        "Queued proposals dropped because their proposer stopped waiting"
    );
    describe_histogram!(
        "corral_log_fsync_duration_seconds",
        Unit::Seconds,
        "Time of one log fsync"
    );
    describe_histogram!(
        "corral_log_append_to_commit_seconds",
        Unit::Seconds,
        "From a batch handed to Raft on the leader to its commit"
    );
    describe_histogram!(
        "corral_snapshot_duration_seconds",
        Unit::Seconds,
        "Time to build and write one snapshot"
    );
    describe_histogram!(
        "corral_snapshot_size_bytes",
        Unit::Bytes,
        "Size of each snapshot written"
    );
    describe_histogram!(
        "corral_peer_round_trip_seconds",
        Unit::Seconds,
        "Round trip of a Raft message to a peer, by peer"
    );
    describe_counter!(
        "corral_peer_send_failures_total",
        "Raft messages to a peer that failed, by peer"
    );
    describe_counter!(
        "corral_peer_auth_failures_total",
        "Peer connections refused for a missing or wrong cluster proof or certificate"
    );
    describe_counter!(
        "corral_received_bytes_total",
        Unit::Bytes,
        "Bytes read from clients, by protocol"
    );
    describe_counter!(
        "corral_sent_bytes_total",
        Unit::Bytes,
        "Bytes written to clients, by protocol"
    );
    describe_counter!(
        "corral_admin_snapshots_total",
        "Snapshots streamed to administrators (/snapshot and the CLI)"
    );
    describe_counter!(
        "corral_storage_failures_total",
        "Log writes or fsyncs that failed: writes are refused until the log reopens"
    );
    describe_gauge!(
        "corral_storage_writable",
        "1 while the log takes writes, 0 after a disk failure until it reopens"
    );
    describe_counter!(
        "corral_tls_reload_failures_total",
        "Changed certificate or key files that failed to load (the old ones stay)"
    );
    describe_counter!("corral_sessions_created_total", "Sessions created here");
    describe_counter!(
        "corral_sessions_expired_total",
        "Sessions expired by this server"
    );
    describe_counter!(
        "corral_connections_closed_total",
        "Client connections closed, by reason and protocol"
    );
    describe_counter!(
        "corral_log_batches_total",
        "Log writes (each one fsync) of this process's servers"
    );
    describe_counter!(
        "corral_log_entries_total",
        "Records written to the log by this process's servers"
    );
    describe_counter!(
        "corral_raft_log_disk_reads_total",
        "Reads of Raft log entries no longer held in memory, from disk, by this process's servers"
    );
    describe_histogram!(
        "corral_batch_proposals",
        "Proposals per Raft entry on the leader"
    );
}

/// The whole scrape for the server behind `state`.
pub fn render(state: &AdminState) -> String {
    let mut out = String::new();
    if let Some(recorder) = RECORDER.get().and_then(Option::as_ref) {
        recorder.process.collect();
        out.push_str(&recorder.handle.render());
    }
    server_series(state, &mut out);
    state.service().latency().render(&mut out);
    out
}

/// Writes one gauge or counter with its help and type.
fn series(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    series(out, name, "gauge", help, &[("", value)]);
}

/// This server's own series, read now.
fn server_series(state: &AdminState, out: &mut String) {
    let service = state.service();
    let facts = Facts::gather(service);
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let leading = matches!(facts.mode, ServerMode::Leader | ServerMode::Standalone);
    let ready = super::health::readiness(service).is_ok();
    gauge(
        out,
        "corral_ready",
        "1 while /readyz says ready",
        flag(ready),
    );
    gauge(
        out,
        "corral_serving",
        "1 while this server serves clients",
        flag(facts.serving),
    );
    let raft = facts.raft.as_ref();
    let has_leader = super::health::leader_known(service);
    gauge(
        out,
        "corral_has_leader",
        "1 while this server knows a leader it is in touch with",
        flag(has_leader),
    );
    gauge(
        out,
        "corral_is_leader",
        "1 while this server leads (or stands alone)",
        flag(leading),
    );
    let node = service.replicator().raft_node();
    let changes = node.map_or(0, |n| n.leader_changes());
    series(
        out,
        "corral_server_leader_changes_total",
        "counter",
        "Times this server saw its leader change or be lost",
        &[("", changes as f64)],
    );
    let zxid = facts.zxid.max(0) as f64;
    let (term, last, applied, commit) = match raft {
        None => (0.0, zxid, zxid, zxid),
        Some(v) => (
            v.term as f64,
            v.last_log_index as f64,
            v.applied_index as f64,
            v.commit_index() as f64,
        ),
    };
    gauge(
        out,
        "corral_raft_term",
        "The current Raft term (0 standalone)",
        term,
    );
    gauge(
        out,
        "corral_raft_last_log_index",
        "Index of the last log entry",
        last,
    );
    gauge(
        out,
        "corral_raft_commit_index",
        "Index known committed (the leader's quorum index; elsewhere the applied index)",
        commit,
    );
    gauge(
        out,
        "corral_raft_applied_index",
        "Index of the last entry applied",
        applied,
    );
    if let Some(v) = raft {
        let lags: Vec<(String, f64)> = v
            .members
            .iter()
            .filter(|m| m.id != v.id)
            .filter_map(|m| Some((format!("peer=\"{}\"", m.id), v.lag(m)? as f64)))
            .collect();
        if !lags.is_empty() {
            let samples: Vec<(&str, f64)> = lags.iter().map(|(l, v)| (l.as_str(), *v)).collect();
            series(
                out,
                "corral_peer_lag_entries",
                "gauge",
                "On the leader: entries each peer is behind",
                &samples,
            );
        }
    }
    let pending = node.map_or(0, |n| n.pending_proposals());
    gauge(
        out,
        "corral_proposals_pending",
        "Proposals submitted here and not yet answered",
        pending as f64,
    );
    gauge(out, "corral_last_zxid", "The last zxid applied here", zxid);
    gauge(
        out,
        "corral_znodes",
        "Znodes in the tree",
        facts.nodes as f64,
    );
    gauge(
        out,
        "corral_sessions",
        "Live sessions",
        facts.sessions as f64,
    );
    gauge(
        out,
        "corral_ephemerals",
        "Ephemeral znodes",
        facts.ephemerals as f64,
    );
    gauge(
        out,
        "corral_watches",
        "Watches set on this server",
        facts.watches as f64,
    );
    gauge(
        out,
        "corral_approximate_data_bytes",
        "Sum of path and data lengths over all znodes",
        facts.data_bytes as f64,
    );
    gauge(
        out,
        "corral_connections",
        "Client connections to this server",
        facts.connections as f64,
    );
    gauge(
        out,
        "corral_requests_in_flight",
        "Requests received and not yet answered",
        facts.stats.outstanding as f64,
    );
    series(
        out,
        "corral_requests_total",
        "counter",
        "Requests received by this server",
        &[("", facts.stats.received as f64)],
    );
    gauge(
        out,
        "corral_uptime_seconds",
        "Seconds since this server started",
        state.uptime().as_secs_f64(),
    );
}
