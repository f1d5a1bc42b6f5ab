//! Logging: one `tracing` event per HTTP exchange, with method, path, status and duration,
//! and never a secret or a signature. (Its own test binary: `tracing` caches, per call site,
//! whether anyone listens, and tests running in parallel without a subscriber would disable
//! the call sites for this one.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

#[path = "../../../tests/support/logs.rs"]
mod logs;

use logs::Captured;

use common::{start, Reply};

#[test]
fn one_tracing_event_per_request_without_secrets() {
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::DEBUG);
    let signatures = tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = start(|n| {
                if n == 1 {
                    Reply::Answer(403, "over quota".into())
                } else {
                    Reply::Answer(200, "{}".into())
                }
            })
            .await;
            // One request after another, so the split trigger stops at its failed first part.
            let client = server.client().split_concurrency(1).build().unwrap();
            let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
            client
                .trigger("private-encrypted-x", "e", "top secret")
                .await
                .unwrap();
            let _ = client.trigger(names, "e", "x").await.unwrap_err();
            server
                .requests()
                .iter()
                .map(|r| r.param("auth_signature").unwrap().to_owned())
                .collect::<Vec<_>>()
        })
    });
    let logs = captured.text();
    let events: Vec<&str> = logs.lines().filter(|l| l.contains("pusher_rest")).collect();
    assert_eq!(events.len(), 2, "{logs}");
    assert!(
        events[0].contains("DEBUG") && events[0].contains("method=POST"),
        "{logs}"
    );
    assert!(
        events[0].contains("path=\"/apps/test-app/events\"")
            || events[0].contains("path=/apps/test-app/events"),
        "{logs}"
    );
    assert!(
        events[0].contains("status=200") && events[0].contains("duration_ms="),
        "{logs}"
    );
    assert!(
        events[1].contains("WARN") && events[1].contains("status=403"),
        "{logs}"
    );
    for secret in [
        common::SECRET,
        &common::MASTER[..12],
        "auth_signature",
        "top secret",
    ] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }
    for signature in signatures {
        assert!(!logs.contains(&signature), "a signature was logged: {logs}");
    }
}

/// Plain `http` to a server that is not on this machine: one WARN when the client is built,
/// naming the server and what travels in the clear; none for a loopback server or once
/// acknowledged with `allow_plain_http`.
#[test]
fn plain_http_to_a_remote_server_is_a_warning_at_build_time() {
    use pusher_rest::{Client, Proxy, Scheme};
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::DEBUG);
    tracing::subscriber::with_default(subscriber, || {
        let remote = || {
            Client::builder(common::credentials())
                .host("pusher.internal.example")
                .scheme(Scheme::Http)
                .proxy(Proxy::none())
        };
        remote().build().unwrap();
        remote().allow_plain_http().build().unwrap();
        Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(6001)
            .build()
            .unwrap();
        Client::builder(common::credentials())
            .host("pusher.internal.example")
            .build()
            .unwrap();
    });
    let logs = captured.text();
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    for expected in [
        "http://pusher.internal.example",
        "unencrypted",
        "signatures",
        "allow_plain_http",
    ] {
        assert!(warnings[0].contains(expected), "{expected} missing: {logs}");
    }
}

/// Plain `http` through a proxy: the proxy reads everything, signatures included, even for a
/// server on this machine: one WARN naming the proxy, unless acknowledged with
/// `allow_plain_http`. A `*.localhost` name is not taken for this machine (a resolver may send
/// it to DNS): plain http to it warns as to any other host, and it is no longer http by
/// default.
#[test]
fn plain_http_through_a_proxy_or_to_a_localhost_name_is_a_warning() {
    use pusher_rest::{Client, Proxy, Scheme};
    let captured = Captured::default();
    let subscriber = captured.subscriber(tracing::Level::DEBUG);
    tracing::subscriber::with_default(subscriber, || {
        let proxied = || {
            Client::builder(common::credentials())
                .host("127.0.0.1")
                .port(6001)
                .proxy(Proxy::url("http://ada:pa55w0rd@proxy.example:3128"))
        };
        proxied().build().unwrap();
        proxied().allow_plain_http().build().unwrap();
        // https through the proxy is a CONNECT tunnel: nothing to say.
        proxied().scheme(Scheme::Https).build().unwrap();
        let named = Client::builder(common::credentials())
            .host("sockudo.localhost")
            .proxy(Proxy::none());
        assert_eq!(named.clone().build().unwrap().scheme(), Scheme::Https);
        named.scheme(Scheme::Http).build().unwrap();
    });
    let logs = captured.text();
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    for expected in [
        "http://127.0.0.1:6001",
        "http://proxy.example:3128",
        "signatures",
    ] {
        assert!(warnings[0].contains(expected), "{expected} missing: {logs}");
    }
    assert!(!logs.contains("pa55w0rd"), "{logs}");
    assert!(warnings[1].contains("http://sockudo.localhost"), "{logs}");
}
