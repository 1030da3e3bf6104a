//! Leader election: [`LeaderLatch`] (leadership held until closed or lost)
//! and [`LeaderSelector`] (runs a task while leading, cancelled on loss),
//! both handing out a [`Leadership`] for guarded writes.

mod latch;
mod leadership;
mod selector;

pub use latch::LeaderLatch;
pub use leadership::Leadership;
pub use selector::LeaderSelector;
