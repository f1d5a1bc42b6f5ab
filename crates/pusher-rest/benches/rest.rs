//! REST client benchmarks, each beside its baselines in the same run:
//!
//! - `sign_trigger`: signing the body of a trigger request (`body_md5`, sorted parameters,
//!   HMAC-SHA256, the escaped query string) with `pusher_protocol::rest::sign_request`, beside
//!   `floor` (MD5 and a pre-keyed HMAC over the same bytes, hex-encoded: the least any signer
//!   does). The Node SDK's `createSignedQueryString` on the same inputs is timed by
//!   `tests/js/bench-rest-sign.js`; `scripts/bench-rest` prints both. Both read their inputs
//!   from `tests/js/bench-rest-sign-input.json`, and before timing anything this bench runs
//!   the Node SDK on them (`CHECK=1 node tests/js/bench-rest-sign.js`) and checks that it
//!   produced the same signed query string: a missing Node SDK fails the bench.
//! - `trigger_loopback`: one whole `trigger` call, one at a time, against a minimal HTTP server
//!   on 127.0.0.1 that answers `{}`: this crate's client beside the `pusher` crate 0.4.5 (whose
//!   signing code is private, so its cost can only be seen as part of a call).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::hint::black_box;
use std::net::SocketAddr;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use md5::{Digest, Md5};
use pusher_rest::rest::sign_request;
use pusher_rest::{Client, Credentials};
use serde::Serialize;
use sha2::Sha256;

const APP_ID: &str = "1";
const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";

/// The signing inputs, shared with the Node SDK's timing script.
#[derive(serde::Deserialize)]
struct SignInput {
    key: String,
    secret: String,
    method: String,
    path: String,
    /// The body of `trigger("my-channel", "my-event", {"message":"hello world"})`.
    body: String,
    timestamp: u64,
}

fn sign_input() -> SignInput {
    serde_json::from_str(include_str!("../../../tests/js/bench-rest-sign-input.json")).unwrap()
}

/// The Node SDK's signed query string for the same inputs.
fn node_signed_query() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    let out = std::process::Command::new("node")
        .arg("bench-rest-sign.js")
        .env("CHECK", "1")
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}; run scripts/install-test-tools"));
    assert!(
        out.status.success(),
        "node bench-rest-sign.js failed (run scripts/install-test-tools): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["query"].as_str().unwrap().to_owned()
}

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

/// MD5 and a pre-keyed HMAC over the string to sign, hex-encoded.
fn floor(mac: &Hmac<Sha256>, prefix: &[u8], body: &[u8]) -> String {
    let md5 = hex::encode(Md5::digest(body));
    let mut m = mac.clone();
    m.update(prefix);
    m.update(md5.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn signing(c: &mut Criterion) {
    let input = sign_input();
    let body = input.body.as_bytes();
    let credentials = Credentials::new(input.key.as_str(), &input.secret).unwrap();
    let mac = Hmac::<Sha256>::new_from_slice(input.secret.as_bytes()).unwrap();
    let sign = || {
        sign_request(
            &credentials,
            &input.method,
            &input.path,
            &[],
            black_box(body),
            black_box(input.timestamp),
        )
        .unwrap()
    };
    // Both sides sign the same inputs to the same query string (the Node SDK leaves values
    // unescaped: compare the canonical form), and the floor computes the same signature.
    let ours = sign();
    let node = node_signed_query();
    assert_eq!(
        format!(
            "{}&auth_signature={}",
            ours.canonical_query(),
            ours.auth_signature()
        ),
        node,
        "pusher-rest and the Node SDK sign the benchmark's inputs differently"
    );
    let prefix = format!(
        "{}\n{}\nauth_key={}&auth_timestamp={}&auth_version=1.0&body_md5=",
        input.method, input.path, input.key, input.timestamp
    );
    assert_eq!(floor(&mac, prefix.as_bytes(), body), ours.auth_signature());
    eprintln!(
        "sign_trigger: pusher-rest and the Node SDK produce the same signed query ({})",
        ours.auth_signature()
    );

    let mut g = c.benchmark_group("sign_trigger");
    g.bench_function("floor", |b| {
        b.iter(|| floor(&mac, prefix.as_bytes(), black_box(body)))
    });
    g.bench_function("pusher_rest", |b| b.iter(sign));
    g.finish();
}

/// A minimal HTTP/1.1 server answering `{}` to every request, on its own thread.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"{}",
                        ))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

fn trigger(c: &mut Criterion) {
    let addr = start_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let credentials = Credentials::new(KEY, SECRET)
        .unwrap()
        .with_app_id(APP_ID)
        .unwrap();
    let ours = Client::builder(credentials)
        .host("127.0.0.1")
        .port(addr.port())
        .build()
        .unwrap();
    let theirs = pusher::PusherBuilder::new(APP_ID, KEY, SECRET)
        .host(&format!("127.0.0.1:{}", addr.port()))
        .finalize();
    let message = Message {
        message: "hello world",
    };

    let mut g = c.benchmark_group("trigger_loopback");
    g.bench_function("pusher_rest", |b| {
        b.iter(|| {
            rt.block_on(ours.trigger("my-channel", "my-event", &message).send())
                .unwrap()
        })
    });
    g.bench_function("pusher_0_4_5", |b| {
        b.iter(|| {
            rt.block_on(theirs.trigger("my-channel", "my-event", &message))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, signing, trigger);
criterion_main!(benches);
