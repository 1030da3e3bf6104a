//! Locks: [`Mutex`] (non-reentrant; the guard is the ownership; re-enter
//! with [`ReentrantGuard`]), [`MultiLock`] (all or none),
//! [`ReadWriteLock`] (writer preference, downgrade) and [`Semaphore`] (at most
//! N leases at once).

mod multi;
mod mutex;
mod rwlock;
mod semaphore;

pub use multi::{MultiGuard, MultiLock, ReentrantGuard};
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{ReadWriteLock, RwGuard};
pub use semaphore::{Lease, Semaphore};
