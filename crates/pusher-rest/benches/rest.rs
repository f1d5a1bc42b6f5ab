//! REST client benchmarks, each beside its baselines in the same run:
//!
//! - `sign_trigger`: signing the body of a trigger request (`body_md5`, sorted parameters,
//!   HMAC-SHA256, the escaped query string) with `pusher_protocol::rest::sign_request`, beside
//!   `floor` (MD5 and a pre-keyed HMAC over the same bytes, hex-encoded: the least any signer
//!   does). The Node SDK's `createSignedQueryString` on the same inputs is timed by
//!   `tests/js/bench-rest-sign.js`; `scripts/bench-rest` prints both.
//! - `trigger_loopback`: one whole `trigger` call, one at a time, against a minimal HTTP server
//!   on 127.0.0.1 that answers `{}`: this crate's client beside the `pusher` crate 0.4.5 (whose
//!   signing code is private, so its cost can only be seen as part of a call).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

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
/// The body of `trigger("my-channel", "my-event", {"message":"hello world"})`.
const BODY: &[u8] =
    br#"{"name":"my-event","data":"{\"message\":\"hello world\"}","channels":["my-channel"]}"#;

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

fn floor(mac: &Hmac<Sha256>, body: &[u8]) -> String {
    let md5 = hex::encode(Md5::digest(body));
    let mut m = mac.clone();
    m.update(b"POST\n/apps/1/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=");
    m.update(md5.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn signing(c: &mut Criterion) {
    let credentials = Credentials::new(KEY, SECRET).unwrap();
    let mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    // The same inputs as tests/js/bench-rest-sign.js; at this timestamp the Node SDK signs
    // them with this signature.
    let check = sign_request(
        &credentials,
        "POST",
        "/apps/1/events",
        &[],
        BODY,
        1353088179,
    )
    .unwrap();
    assert_eq!(
        check.auth_signature(),
        "07978bd16520efc626f0ba51ecd82612e63b505ae9b1938b5bc833df933b454e"
    );
    let mut g = c.benchmark_group("sign_trigger");
    g.bench_function("floor", |b| b.iter(|| floor(&mac, black_box(BODY))));
    g.bench_function("pusher_rest", |b| {
        b.iter(|| {
            sign_request(
                &credentials,
                "POST",
                "/apps/1/events",
                &[],
                black_box(BODY),
                black_box(1353088179),
            )
            .unwrap()
        })
    });
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
