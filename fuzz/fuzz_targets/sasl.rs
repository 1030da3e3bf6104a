//! SASL inputs from outside: a DIGEST-MD5 client response's directives and a
//! JAAS users file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = core_server::sasl::directives::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = core_server::sasl::jaas::parse(text);
        let _ = core_server::sasl::SaslUsers::from_jaas(text, "Server");
    }
});
