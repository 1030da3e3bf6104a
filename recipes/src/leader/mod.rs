//! Leader election: [`LeaderLatch`] (leadership held until closed or lost)
//! and [`LeaderSelector`] (runs a task while leading, cancelled on loss).

mod latch;
mod selector;

pub use latch::LeaderLatch;
pub use selector::LeaderSelector;
