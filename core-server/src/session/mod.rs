//! Session liveness on this server: who pinged when, and who is due to expire.
//!
//! Owns the non-replicated half of sessions: deadlines refreshed by every frame a
//! client sends ([`SessionTracker`]). Which connection carries each session is
//! the connection table's (`connection::ConnectionTable`). The replicated half (ids, passwords, timeouts,
//! ephemerals) lives in the state machine; expiry is *proposed* as a replicated
//! close-session entry, never done here. Time comes from the caller.

mod tracker;

pub use tracker::SessionTracker;

use rand::RngCore;

/// A fresh, non-zero, positive session id that is not `i64::MIN`.
pub fn new_session_id(server_id: u8) -> i64 {
    let random = rand::thread_rng().next_u64() & 0x00ff_ffff_ffff_ffff;
    let id = ((server_id as i64 & 0x7f) << 56) | random as i64;
    if id == 0 {
        1
    } else {
        id
    }
}

/// A fresh 16-byte session password.
pub fn new_password() -> Vec<u8> {
    let mut password = vec![0u8; 16];
    rand::thread_rng().fill_bytes(&mut password);
    password
}
