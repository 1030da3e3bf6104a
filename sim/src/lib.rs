//! A deterministic simulation of a whole Corral cluster in one process.
//!
//! Owns nothing of Corral's logic: it runs Corral's real openraft type
//! configuration, state machine adapter (`raft::state_machine`, the tree and
//! `txn::apply`), waiters and leader batcher for 3 or 5 servers inside one
//! single-threaded tokio runtime with paused (virtual) time, with only the
//! network ([`net`]) and the disks ([`disk`]) simulated, and every random
//! choice drawn from one seed. A run: bootstrap, a chaos phase of clients
//! against seeded faults ([`run`]), healing, then the invariants
//! ([`check`]). The same seed gives the same trace, byte for byte
//! (decision 0016), so a failing seed is reproduced with `SIM_SEED=<seed>`.

pub mod check;
pub mod client;
pub mod cluster;
pub mod disk;
pub mod net;
pub mod run;
pub mod world;

pub use run::{run_seed, Options, Outcome};
