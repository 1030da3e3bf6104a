//! Seeding a new member's data directory from a tree (`corral restore`):
//! owns what Raft must find on disk so that a cluster restored from one
//! backup boots by itself.
//!
//! Every member gets the same two things: a Raft snapshot at log id
//! `(term 0, node 0, index 0)` (the id openraft gives the membership entry
//! of a freshly initialized cluster) holding the tree, with the given
//! members as its voters; and a log whose purge point and committed id are
//! that snapshot. openraft then starts as a member of an initialized cluster
//! that has applied its first entry, so no `admin init` is needed (and one
//! is refused), and the members elect a leader as after any restart. The
//! tree keeps its zxid: the next transaction gets the backup's zxid + 1
//! (decision 0005 counts zxids by applied transactions, not log indexes).

use super::types::{LogId, NodeId, PeerNode};
use super::{log_store, state_machine};
use crate::replication::ReplicationError;
use crate::storage;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Writes, under `dir`, a member's snapshot of `tree` (the postcard
/// `StateMachine`) with `members` as voters, and its log's state.
pub fn seed(
    dir: &Path,
    members: BTreeMap<NodeId, PeerNode>,
    tree: Vec<u8>,
) -> Result<(), ReplicationError> {
    let last = LogId::default();
    let voters: BTreeSet<NodeId> = members.keys().copied().collect();
    let membership = openraft::Membership::new(vec![voters], members);
    let snapshot = state_machine::restored_snapshot(last, membership, tree)?;
    storage::write_snapshot(&dir.join("snapshots"), last.index, &snapshot)?;
    log_store::write_restored_meta(dir, last)?;
    Ok(())
}
