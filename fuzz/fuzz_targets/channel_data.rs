//! Pre-serialized presence (`ChannelData::new`) and sign-in (`SerializedUserData::new`) data.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pusher_auth_fuzz_targets::channel_data(data));
