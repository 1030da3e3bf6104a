//! Watches: per-connection registrations and their delivery.
//!
//! Owns the one-shot data / exist / child watches, persistent and
//! persistent-recursive watches ([`registry`]), and the bounded history of
//! recent changes and the matching rule behind resumable watch streams
//! ([`history`], [`stream`]). Watches are connection state, not replicated,
//! as in ZooKeeper. Registrations and events only: which connections exist,
//! and delivering to them, belong to [`crate::connection`]. Must not touch
//! the tree: it only consumes [`TreeEvent`](crate::tree::TreeEvent)s
//! produced by apply.

pub mod history;
pub mod manager;
pub mod registry;
pub mod stream;

pub use history::EventHistory;
pub use manager::Model as WatchModel;
pub use registry::{WatchKind, WatchRegistry};
