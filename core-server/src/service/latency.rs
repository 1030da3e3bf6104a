//! Request latency histograms, by operation and protocol
//! (`corral_request_duration_seconds{op, protocol}`). The handles are
//! registered once per server, so recording one is a lookup in an array and
//! an atomic push, never a map lookup by name.

use crate::request::Request;
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
pub const OPS: [&str; 22] = [
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
    }
}

/// The histograms of one server.
#[derive(Debug)]
pub struct Latency {
    native: Vec<metrics::Histogram>,
    zookeeper: Vec<metrics::Histogram>,
}

impl Default for Latency {
    fn default() -> Self {
        let register = |protocol: Protocol| {
            OPS.iter()
                .map(|op| {
                    metrics::histogram!(
                        "corral_request_duration_seconds",
                        "op" => *op,
                        "protocol" => protocol.name()
                    )
                })
                .collect()
        };
        Latency {
            native: register(Protocol::Native),
            zookeeper: register(Protocol::ZooKeeper),
        }
    }
}

impl Latency {
    /// Records one answered request.
    pub fn record(&self, protocol: Protocol, op: usize, took: Duration) {
        let table = match protocol {
            Protocol::Native => &self.native,
            Protocol::ZooKeeper => &self.zookeeper,
        };
        if let Some(histogram) = table.get(op) {
            histogram.record(took.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_distinct_name() {
        let names: std::collections::BTreeSet<_> = OPS.iter().collect();
        assert_eq!(names.len(), OPS.len());
        assert_eq!(OPS[op_index(&Request::WhoAmI)], "who_am_i");
        assert_eq!(OPS[op_index(&Request::CloseSession)], "close_session");
    }
}
