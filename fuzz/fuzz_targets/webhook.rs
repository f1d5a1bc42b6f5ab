//! Webhook verification and parsing, with correct and arbitrary signatures.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::webhook(data));
