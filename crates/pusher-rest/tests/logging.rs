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
            let client = server.client().build().unwrap();
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
