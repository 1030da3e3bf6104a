//! Shared values: [`SharedCount`] (versioned compare-and-set) and
//! [`DistributedAtomicLong`] (increments by compare-and-set with retries).

mod count;

pub use count::{AtomicValue, DistributedAtomicLong, SharedCount};
