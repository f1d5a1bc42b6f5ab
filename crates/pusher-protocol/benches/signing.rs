//! Signing benchmarks, each beside its baselines in the same run:
//! - `floor`: a pre-keyed `Hmac<Sha256>` cloned, updated with the same string-to-sign and
//!   hex-encoded: the least any signer can do;
//! - `pusher_0_4_5`: the crates.io `pusher` crate's `authenticate_*_channel`.
//!
//! `scripts/bench-signing` runs this and prints the ratios written in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use pusher_protocol::webhook::WebhookVerifier;
use pusher_protocol::{ChannelName, Credentials, PresenceMember, SocketId, UserData, UserId};
use serde::Serialize;
use sha2::Sha256;

const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";
const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

#[derive(Serialize)]
struct Info<'a> {
    name: &'a str,
}

/// Clone the keyed state, hash the message, hex-encode into one allocated `String`.
fn floor(mac: &Hmac<Sha256>, message: &[u8]) -> String {
    let mut m = mac.clone();
    m.update(message);
    let mut buf = [0u8; 64];
    hex::encode_to_slice(m.finalize().into_bytes(), &mut buf).unwrap();
    String::from(std::str::from_utf8(&buf).unwrap())
}

fn signing(c: &mut Criterion) {
    let credentials = Credentials::new(KEY, SECRET)
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap();
    let pusher = pusher::PusherBuilder::new("1", KEY, SECRET).finalize();
    let mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    let socket = SocketId::new("1234.1234").unwrap();
    let private = ChannelName::new("private-chat").unwrap();
    let presence = ChannelName::new("presence-chat").unwrap();
    let encrypted = ChannelName::new("private-encrypted-chat").unwrap();
    let member = PresenceMember::new(UserId::new("42").unwrap()).with_info(Info { name: "Ada" });
    let their_member = pusher::Member {
        user_id: "42",
        user_info: Some(HashMap::from([("name", "Ada")])),
    };
    let user = UserData::new(UserId::new("42").unwrap()).with_info(Info { name: "Ada" });

    let mut g = c.benchmark_group("private");
    g.bench_function("floor", |b| {
        b.iter(|| floor(&mac, black_box(b"1234.1234:private-chat")))
    });
    g.bench_function("pusher_auth", |b| {
        b.iter(|| {
            credentials
                .authorize_channel(black_box(&socket), black_box(&private))
                .unwrap()
        })
    });
    g.bench_function("pusher_auth_json", |b| {
        b.iter(|| {
            credentials
                .authorize_channel(black_box(&socket), black_box(&private))
                .unwrap()
                .to_json()
        })
    });
    g.bench_function("pusher_0_4_5", |b| {
        b.iter(|| {
            pusher
                .authenticate_private_channel(black_box("private-chat"), black_box("1234.1234"))
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("presence");
    let data = member.to_channel_data().unwrap();
    let sts = format!("1234.1234:presence-chat:{}", data.as_str());
    g.bench_function("floor", |b| {
        b.iter(|| floor(&mac, black_box(sts.as_bytes())))
    });
    g.bench_function("pusher_auth", |b| {
        b.iter(|| {
            credentials
                .authorize_presence(
                    black_box(&socket),
                    black_box(&presence),
                    &black_box(&member).to_channel_data().unwrap(),
                )
                .unwrap()
        })
    });
    g.bench_function("pusher_0_4_5", |b| {
        b.iter(|| {
            pusher
                .authenticate_presence_channel(
                    black_box("presence-chat"),
                    black_box("1234.1234"),
                    black_box(&their_member),
                )
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("encrypted");
    g.bench_function("floor", |b| {
        b.iter(|| floor(&mac, black_box(b"1234.1234:private-encrypted-chat")))
    });
    g.bench_function("pusher_auth", |b| {
        b.iter(|| {
            credentials
                .authorize_channel(black_box(&socket), black_box(&encrypted))
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("user");
    let data = user.to_user_data().unwrap();
    let sts = format!("1234.1234::user::{}", data.as_str());
    g.bench_function("floor", |b| {
        b.iter(|| floor(&mac, black_box(sts.as_bytes())))
    });
    g.bench_function("pusher_auth", |b| {
        b.iter(|| {
            credentials.authenticate_user(
                black_box(&socket),
                &black_box(&user).to_user_data().unwrap(),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("webhook");
    let body = br#"{"time_ms":1700000000000,"events":[{"name":"member_added","channel":"presence-chat","user_id":"42"}]}"#;
    let signature = credentials.sign_hex(body);
    let verifier = WebhookVerifier::new(credentials.clone()).without_max_age();
    let body_str = std::str::from_utf8(body).unwrap();
    g.bench_function("floor", |b| b.iter(|| floor(&mac, black_box(body))));
    g.bench_function("pusher_auth", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(KEY), black_box(&signature), black_box(body))
                .unwrap()
        })
    });
    g.bench_function("pusher_0_4_5", |b| {
        b.iter(|| {
            pusher
                .webhook(black_box(KEY), black_box(&signature), black_box(body_str))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
