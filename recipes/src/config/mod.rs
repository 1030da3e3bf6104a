//! Configuration: [`ConfigWatcher`] delivers each new version of a typed
//! value stored as JSON in one node.

mod watcher;

pub use watcher::{publish, ConfigWatcher, Versioned};
