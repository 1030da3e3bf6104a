//! Leader election: [`LeaderLatch`] (leadership held until closed or lost).

mod latch;

pub use latch::LeaderLatch;
