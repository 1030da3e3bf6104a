//! The simulated world: the servers up, their disks, the network, the
//! virtual clock and the trace of what happened.

use crate::cluster::Node;
use crate::disk::Disk;
use crate::net::Net;
use core_server::replication::raft::types::NodeId;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::time::Instant;

/// Everything one run shares.
pub struct World {
    /// The network.
    pub net: Arc<Net>,
    /// Each server's disk, by id.
    pub disks: BTreeMap<NodeId, Arc<Disk>>,
    /// The servers up, by id.
    pub up: Mutex<BTreeMap<NodeId, Arc<Node>>>,
    trace: Mutex<Vec<String>>,
    start: Instant,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").finish_non_exhaustive()
    }
}

impl World {
    /// A world of these disks on this network, its clock starting now.
    pub fn new(net: Arc<Net>, disks: BTreeMap<NodeId, Arc<Disk>>) -> World {
        World {
            net,
            disks,
            up: Mutex::new(BTreeMap::new()),
            trace: Mutex::new(Vec::new()),
            start: Instant::now(),
        }
    }

    /// Virtual microseconds since the start.
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Notes a line in the trace, stamped with the virtual time.
    pub fn note(&self, line: impl std::fmt::Display) {
        let us = self.now_us();
        self.trace
            .lock()
            .push(format!("{:>6}.{:03}ms {line}", us / 1000, us % 1000));
    }

    /// The trace so far.
    pub fn trace(&self) -> Vec<String> {
        self.trace.lock().clone()
    }

    /// The server `id` if up.
    pub fn node(&self, id: NodeId) -> Option<Arc<Node>> {
        self.up.lock().get(&id).cloned()
    }

    /// The ids of the servers up.
    pub fn up_ids(&self) -> Vec<NodeId> {
        self.up.lock().keys().copied().collect()
    }

    /// A server up that believes it leads (the lowest id if several do).
    pub fn leader(&self) -> Option<Arc<Node>> {
        self.up.lock().values().find(|n| n.is_leader()).cloned()
    }
}
