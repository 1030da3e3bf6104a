//! Shared values: [`SharedCount`] (versioned compare-and-set) and
//! [`DistributedAtomicLong`] (increments by compare-and-set with retries),
//! and unique increasing ids ([`ids::next_id`]).

mod count;
pub mod ids;

pub use count::{AtomicValue, DistributedAtomicLong, SharedCount};
