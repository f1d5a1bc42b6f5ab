//! Channel route matching and typed parameters, for any channel name the protocol accepts.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::route_params(data));
