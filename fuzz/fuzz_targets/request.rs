//! The form, JSON and batch request parsers, for channel and user requests.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::request(data));
