//! Snapshot and backup loading from arbitrary bytes: a tree as snapshots
//! hold it, and a backup file (header, CRC, digest, tree).
#![no_main]

use core_server::tree::StateMachine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = postcard::from_bytes::<StateMachine>(data);
    let _ = core_server::backup::Backup::from_bytes(data.to_vec());
});
