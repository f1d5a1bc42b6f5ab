//! Signing benchmarks, each beside its baselines in the same run:
//! - `floor`: a pre-keyed `Hmac<Sha256>` cloned, updated with the same string-to-sign and
//!   hex-encoded: the least any signer can do;
//! - `pusher_0_4_5`: the crates.io `pusher` crate's `authenticate_*_channel`.
//!
//! Before timing anything, the bench checks that every signer it times signs correctly: each
//! auth string is `KEY:` followed by the floor's HMAC of the string to sign (written out here,
//! not taken from the crate), the private and presence answers equal the `pusher` crate's, the
//! encrypted channel's shared secret is SHA-256 of the channel name and the master key, and
//! both webhook verifiers accept the floor's signature with the same events and refuse a
//! wrong signature, key or body. A wrong signer panics here, so the bench (and
//! `scripts/bench-signing --smoke`) fails.
//!
//! `scripts/bench-signing` runs this and prints the ratios written in BENCHMARKS.md.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hint::black_box;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use pusher_protocol::webhook::WebhookVerifier;
use pusher_protocol::{ChannelName, Credentials, PresenceMember, SocketId, UserData, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};

const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";
const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";
/// The presence member and the signed-in user below, as the protocol serializes them.
const MEMBER_DATA: &str = r#"{"user_id":"42","user_info":{"name":"Ada"}}"#;
const USER_DATA: &str = r#"{"id":"42","user_info":{"name":"Ada"}}"#;
/// The webhook the `webhook` group verifies.
const WEBHOOK_BODY: &str = r#"{"time_ms":1700000000000,"events":[{"name":"member_added","channel":"presence-chat","user_id":"42"}]}"#;

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

/// The `{"auth", …}` answer of the `pusher` crate, parsed (its key order is a `HashMap`'s).
fn parsed(answer: &str) -> serde_json::Value {
    serde_json::from_str(answer).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"))
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
    let verifier = WebhookVerifier::new(credentials.clone()).without_max_age();
    // Every signer the bench times signs correctly, before anything is timed.
    {
        let expected_auth =
            |string_to_sign: &str| format!("{KEY}:{}", floor(&mac, string_to_sign.as_bytes()));

        // private
        let ours = credentials.authorize_channel(&socket, &private).unwrap();
        assert_eq!(
            ours.auth(),
            expected_auth("1234.1234:private-chat"),
            "private: the auth string is not KEY:HMAC(SOCKET_ID:CHANNEL)"
        );
        let theirs = pusher
            .authenticate_private_channel("private-chat", "1234.1234")
            .unwrap();
        assert_eq!(
            parsed(&ours.to_json()),
            parsed(&theirs),
            "private: the answer differs from the pusher crate's"
        );

        // presence
        let data = member.to_channel_data().unwrap();
        assert_eq!(
            data.as_str(),
            MEMBER_DATA,
            "presence: the member serializes differently"
        );
        let ours = credentials
            .authorize_presence(&socket, &presence, &data)
            .unwrap();
        assert_eq!(
            ours.auth(),
            expected_auth(&format!("1234.1234:presence-chat:{MEMBER_DATA}")),
            "presence: the auth string is not KEY:HMAC(SOCKET_ID:CHANNEL:CHANNEL_DATA)"
        );
        assert_eq!(
            ours.channel_data(),
            Some(MEMBER_DATA),
            "presence: channel_data is not the data signed"
        );
        let theirs = pusher
            .authenticate_presence_channel("presence-chat", "1234.1234", &their_member)
            .unwrap();
        assert_eq!(
            parsed(&ours.to_json()),
            parsed(&theirs),
            "presence: the answer differs from the pusher crate's"
        );

        // private-encrypted (the pusher crate has no counterpart)
        let ours = credentials.authorize_channel(&socket, &encrypted).unwrap();
        assert_eq!(
            ours.auth(),
            expected_auth("1234.1234:private-encrypted-chat"),
            "encrypted: the auth string is not KEY:HMAC(SOCKET_ID:CHANNEL)"
        );
        let master = base64::engine::general_purpose::STANDARD
            .decode(MASTER)
            .unwrap();
        let secret = Sha256::new()
            .chain_update(b"private-encrypted-chat")
            .chain_update(&master)
            .finalize();
        assert_eq!(
            ours.shared_secret(),
            Some(
                base64::engine::general_purpose::STANDARD
                    .encode(secret)
                    .as_str()
            ),
            "encrypted: the shared secret is not SHA-256(CHANNEL, MASTER_KEY)"
        );

        // user sign-in (the pusher crate has no counterpart)
        let data = user.to_user_data().unwrap();
        assert_eq!(
            data.as_str(),
            USER_DATA,
            "user: the user data serializes differently"
        );
        let ours = credentials.authenticate_user(&socket, &data);
        assert_eq!(
            ours.auth(),
            expected_auth(&format!("1234.1234::user::{USER_DATA}")),
            "user: the auth string is not KEY:HMAC(SOCKET_ID::user::USER_DATA)"
        );

        // webhooks: the same verdicts from both verifiers, with the same events when valid
        let good = floor(&mac, WEBHOOK_BODY.as_bytes());
        let ours = verifier
            .verify(KEY, &good, WEBHOOK_BODY.as_bytes())
            .expect("webhook: a correctly signed webhook was refused");
        let theirs = pusher
            .webhook(KEY, &good, WEBHOOK_BODY)
            .expect("webhook: the pusher crate refused a correctly signed webhook");
        assert_eq!(
            i64::try_from(ours.time_ms()).unwrap(),
            theirs.time_ms,
            "webhook: time_ms differs"
        );
        assert_eq!(
            serde_json::to_value(ours.events()).unwrap(),
            serde_json::to_value(&theirs.events).unwrap(),
            "webhook: the events differ from the pusher crate's"
        );
        let mut wrong = good.as_bytes().to_vec();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong).unwrap();
        let tampered = WEBHOOK_BODY.replace("\"42\"", "\"43\"");
        for (what, key, signature, body) in [
            ("a wrong signature", KEY, wrong.as_str(), WEBHOOK_BODY),
            ("another key", "another-key", good.as_str(), WEBHOOK_BODY),
            ("a changed body", KEY, good.as_str(), tampered.as_str()),
        ] {
            assert!(
                verifier.verify(key, signature, body.as_bytes()).is_err(),
                "webhook: accepted with {what}"
            );
            assert!(
                pusher.webhook(key, signature, body).is_err(),
                "webhook: the pusher crate accepted {what}"
            );
        }
        eprintln!("signers checked: private, presence, encrypted, user and webhook agree with the floor's HMAC and the pusher crate 0.4.5");
    }

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
    let body = WEBHOOK_BODY.as_bytes();
    let signature = floor(&mac, body);
    let body_str = WEBHOOK_BODY;
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
