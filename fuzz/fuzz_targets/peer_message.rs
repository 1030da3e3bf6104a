//! Peer messages as the peer service decodes them (a blob's payload): the
//! Raft requests (append, vote, snapshot) and the operator commands.
#![no_main]

use core_server::replication::raft::types::TypeConfig;
use libfuzzer_sys::fuzz_target;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};

fuzz_target!(|data: &[u8]| {
    let payload = data;
    let _ = postcard::from_bytes::<AppendEntriesRequest<TypeConfig>>(payload);
    let _ = postcard::from_bytes::<VoteRequest<u64>>(payload);
    let _ = postcard::from_bytes::<InstallSnapshotRequest<TypeConfig>>(payload);
    let _ = postcard::from_bytes::<proto::admin::AdminRequest>(payload);
});
