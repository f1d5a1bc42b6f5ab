//! The REST client's error answers: status kept, body bounded, signature redacted.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::rest_errors(data));
