//! Locks: [`Mutex`] (non-reentrant; the guard is the ownership),
//! [`ReadWriteLock`] (writer preference, downgrade) and [`Semaphore`] (at most
//! N leases at once).

mod mutex;
mod rwlock;
mod semaphore;

pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{ReadWriteLock, RwGuard};
pub use semaphore::{Lease, Semaphore};
