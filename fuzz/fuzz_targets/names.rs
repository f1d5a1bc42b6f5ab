//! The socket id, channel name and user id validators, and Credentials::from_url.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::names(data));
