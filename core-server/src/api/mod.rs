//! Front ends: translating wire frames into service requests and back.
//!
//! Owns decoding, per-connection ordering and error mapping for each API. The
//! native API is gRPC ([`grpc`]); [`zk_wire`] speaks Apache ZooKeeper's own
//! protocol. Must not hold business logic: every request
//! goes through [`Service`](crate::service::Service).

pub mod grpc;
pub mod zk_wire;
