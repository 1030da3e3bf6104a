//! Corral's wire vocabulary, shared by the server and the client.
//!
//! - [`v1`]: the gRPC messages and service generated from `proto/corral.proto`
//!   (one bidirectional session stream per client).
//! - [`ErrorCode`]: ZooKeeper's numeric error codes, plus Corral's own few.
//! - [`CreateMode`]: the seven create modes with their rules.
//! - [`path`]: znode path validation, exactly as ZooKeeper's client does it.
//! - [`quota`]: ZooKeeper's quota nodes and the text of their limits and stats.
//! - [`admin`]: cluster administration commands, refusals and status.
//!
//! No tokio and no server code lives here.

pub mod admin;
pub mod create_mode;
pub mod error_code;
pub mod path;
pub mod quota;

pub use create_mode::CreateMode;
pub use error_code::{ErrorCode, UnknownErrorCode};

/// Generated protobuf messages and the `Corral` gRPC service (package `corral.v1`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("corral.v1");
}

/// Generated messages and the internal `Peer` gRPC service between servers
/// (package `corral.peer.v1`; payloads are opaque postcard bytes, tagged
/// with their format version).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod peer {
    tonic::include_proto!("corral.peer.v1");
}

pub mod peer_format;

/// Largest node data accepted by default (ZooKeeper's `jute.maxbuffer`: 1 MiB).
pub const DEFAULT_MAX_DATA_BYTES: usize = 1024 * 1024;

/// Largest TTL in milliseconds (2^40 - 1, ZooKeeper's limit).
pub const MAX_TTL_MS: i64 = (1 << 40) - 1;
