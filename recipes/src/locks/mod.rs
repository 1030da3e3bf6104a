//! Locks: [`Mutex`] (non-reentrant; the guard is the ownership) and
//! [`Semaphore`] (at most N leases at once).

mod mutex;
mod semaphore;

pub use mutex::{Mutex, MutexGuard};
pub use semaphore::{Lease, Semaphore};
