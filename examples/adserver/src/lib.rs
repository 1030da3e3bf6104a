//! `adserver`: an ad-serving fleet coordinated by Corral.
//!
//! Workers (separate processes) serve ads over HTTP ([`http`]) within their
//! share of every campaign's per-second budget ([`pacing`]). The shares come
//! from a coordinator elected with a leader latch ([`coordinator`]), which
//! splits each budget over the members whose heartbeats are fresh
//! ([`lease`]) and publishes the split with a guarded write; every worker
//! follows it with a config watcher ([`worker`]). A load generator
//! ([`loadgen`]) requests ads at a target rate; [`report`] turns its counts
//! into throughput, overspend and latency, and [`chart`] draws them.
//! [`fleet`] runs workers as processes, [`scenario`] is the measured run.

pub mod chart;
pub mod cluster;
pub mod coordinator;
pub mod fleet;
pub mod http;
pub mod lease;
pub mod loadgen;
pub mod model;
pub mod pacing;
pub mod report;
pub mod scenario;
pub mod worker;
