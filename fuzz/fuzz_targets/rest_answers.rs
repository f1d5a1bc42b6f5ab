//! The REST client's decoding of whatever a server answers.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::rest_answers(data));
