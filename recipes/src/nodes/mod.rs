//! Nodes a client keeps: [`GroupMember`] (membership with a live member
//! list), [`ServiceDiscovery`], and heartbeats with stale-member detection.

mod discovery;
mod group;

pub use discovery::{stale_members, HeartbeatPublisher, ServiceDiscovery};
pub use group::{members, GroupMember, Members};
