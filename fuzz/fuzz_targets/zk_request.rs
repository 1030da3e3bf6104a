//! A ZooKeeper request body as the ZooKeeper front end decodes it: the
//! first four bytes pick the opcode (so every request kind is reached), the
//! rest is the jute record. Decoding must answer an error, never panic.
#![no_main]

use core_server::api::zk_wire::{jute::Reader, records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    // Opcodes are small (-11..=106): fold the word onto them so most inputs
    // reach a real decoder, and keep the odd raw value too.
    let raw = i32::from_be_bytes(*head);
    let opcode = if head[0] & 0x80 == 0 {
        raw.rem_euclid(120) - 12
    } else {
        raw
    };
    let mut reader = Reader::new(body);
    let _ = records::decode(opcode, &mut reader);
});
