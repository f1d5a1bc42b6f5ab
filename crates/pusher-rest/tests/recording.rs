//! The recording client of the `testing` feature: what it keeps of each operation, its
//! assertions and their messages, simulated failures, and `verify_rest_request` on what the
//! real client sends.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use pusher_rest::testing::{verify_rest_request, Failure, RestVerifyError};
use pusher_rest::{BatchEvent, Client, Info, RetryPolicy, SocketId, UserId};
use serde_json::json;

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the assertion did not fail");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[tokio::test]
async fn every_operation_is_recorded_as_a_server_would_publish_it() {
    let (client, recorder) = Client::recording();
    let sender: SocketId = "1.2".parse().unwrap();
    client
        .trigger(
            ["private-chat", "lobby"],
            "message",
            &json!({"text": "hi", "n": 1}),
        )
        .exclude(sender.clone())
        .info(Info::new().subscription_count())
        .await
        .unwrap();
    let published =
        recorder.assert_triggered_with("lobby", "message", &json!({"n": 1, "text": "hi"}));
    assert_eq!(published.channels().len(), 2);
    assert_eq!(published.excluded(), Some(&sender));
    assert_eq!(published.info(), Info::new().subscription_count());
    assert!(!published.encrypted() && !published.from_batch());
    assert_eq!(published.data_text(), r#"{"n":1,"text":"hi"}"#);

    // Encrypted: one request per channel, decrypted with the recording client's master key.
    client
        .trigger(
            ["private-encrypted-a", "private-encrypted-b"],
            "secret",
            &json!({"pin": 1234}),
        )
        .await
        .unwrap();
    for channel in ["private-encrypted-a", "private-encrypted-b"] {
        let p = recorder.assert_triggered(channel, "secret");
        assert!(p.encrypted());
        assert_eq!(p.data(), &json!({"pin": 1234}));
    }
    // The body as sent stays encrypted.
    let sent = recorder.requests();
    let body = String::from_utf8(sent.last().unwrap().body().to_vec()).unwrap();
    assert!(
        body.contains("ciphertext") && !body.contains("1234"),
        "{body}"
    );

    // Text that is not JSON is kept as a string, as pusher-js hands it over.
    client.trigger("lobby", "note", "plain text").await.unwrap();
    assert_eq!(
        recorder.assert_triggered("lobby", "note").data(),
        &json!("plain text")
    );

    // A split trigger: one record per request, every channel covered.
    let rooms: Vec<String> = (0..250).map(|i| format!("room-{i}")).collect();
    client.trigger(&rooms, "tick", &1).await.unwrap();
    assert_eq!(recorder.triggered_on("room-249").len(), 1);
    let ticks: Vec<_> = recorder
        .published()
        .into_iter()
        .filter(|p| p.event() == "tick")
        .collect();
    assert_eq!(ticks.iter().map(|p| p.channels().len()).sum::<usize>(), 250);

    // Batches, users, termination, queries.
    client
        .trigger_batch([
            BatchEvent::new("game-1", "move", &json!({"x": 1})).unwrap(),
            BatchEvent::new("private-encrypted-game", "move", &json!({"x": 2})).unwrap(),
        ])
        .await
        .unwrap();
    assert!(recorder.assert_triggered("game-1", "move").from_batch());
    assert_eq!(
        recorder
            .assert_triggered("private-encrypted-game", "move")
            .data(),
        &json!({"x": 2})
    );
    let ada = UserId::new("ada").unwrap();
    client
        .send_to_user(&ada, "notice", &json!({"unread": 3}))
        .await
        .unwrap();
    assert_eq!(
        recorder.assert_sent_to_user("ada", "notice").data(),
        &json!({"unread": 3})
    );
    client.terminate_user_connections(&ada).await.unwrap();
    recorder.assert_terminated("ada");
    recorder.assert_not_triggered("lobby", "tick");

    recorder.answer_next(json!({"users": [{"id": "ada"}, {"id": 7}]}));
    let users = client.presence_users("presence-room").await.unwrap();
    assert_eq!(users, ["ada", "7"].map(|u| UserId::new(u).unwrap()));
    let list = client
        .channels()
        .filter_by_prefix("presence-")
        .info(Info::new().user_count())
        .await
        .unwrap();
    assert!(list.channels.is_empty());
    assert!(
        !client
            .channel_info("lobby", Info::new())
            .await
            .unwrap()
            .occupied
    );
    let query = recorder
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/channels"))
        .unwrap();
    assert_eq!(query.param("filter_by_prefix"), Some("presence-"));
    assert_eq!(query.param("info"), Some("user_count"));
    assert!(query.param("auth_signature").is_none());
}

#[tokio::test]
async fn the_limits_and_checks_are_those_of_the_real_client() {
    let (client, recorder) = Client::recording();
    assert!(client
        .trigger("chat", "e", &"x".repeat(10_241))
        .await
        .unwrap_err()
        .is_invalid_input());
    assert!(client
        .trigger("bad channel", "e", "x")
        .await
        .unwrap_err()
        .is_invalid_input());
    recorder.assert_nothing_published();
    assert!(recorder.requests().is_empty());

    // A builder's settings carry over.
    let (client, recorder) = Client::builder(common::credentials())
        .batch_size(2)
        .max_data_bytes(5)
        .build_recording()
        .unwrap();
    assert!(client
        .trigger("chat", "e", "123456")
        .await
        .unwrap_err()
        .is_invalid_input());
    let events: Vec<BatchEvent> = (0..5)
        .map(|i| BatchEvent::new("c", "e", &i).unwrap())
        .collect();
    client.trigger_batch(events).await.unwrap();
    assert_eq!(recorder.requests().len(), 3);
    // Events on one channel keep their order.
    let order: Vec<String> = recorder
        .published()
        .iter()
        .map(|p| p.data_text().to_owned())
        .collect();
    assert_eq!(order, ["0", "1", "2", "3", "4"]);
}

/// `build_recording` checks what it can without a network or the process environment: the
/// endpoint and limits, an explicit proxy, root certificates given as PEM.
#[test]
fn build_recording_checks_the_builders_settings() {
    use pusher_rest::{ConfigError, Error, Proxy};
    let builder = || Client::builder(common::credentials());
    #[allow(unused_mut)]
    let mut refused = vec![
        (builder().host("a b"), "invalid host"),
        (builder().batch_size(0), "batch_size"),
        (
            builder().proxy(Proxy::url("socks5://proxy.example:1080")),
            "only http:// proxies",
        ),
        (
            builder().proxy(Proxy::url("http://ada:pa55/w0rd@proxy.example:3128")),
            "not a proxy URL",
        ),
    ];
    #[cfg(feature = "rustls")]
    refused.push((
        builder().add_root_certificates_pem("not a certificate"),
        "holds no certificate",
    ));
    for (builder, expected) in refused {
        let err = builder.build_recording().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config(
                    ConfigError::InvalidHost(_)
                        | ConfigError::ZeroLimit(_)
                        | ConfigError::Proxy(_)
                        | ConfigError::Tls(_)
                )
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
    // A usable proxy is accepted, and never used.
    builder()
        .proxy(Proxy::url("http://proxy.example:3128"))
        .build_recording()
        .unwrap();
}

#[tokio::test]
async fn failures_can_be_simulated() {
    let (client, recorder) = Client::recording();
    recorder.fail_next(Failure::timeout());
    assert!(client
        .trigger("chat", "e", "x")
        .await
        .unwrap_err()
        .is_timeout());
    recorder.fail_next(Failure::status(503, "over capacity"));
    let err = client.trigger("chat", "e", "x").await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert!(err.to_string().contains("over capacity"), "{err}");
    recorder.fail_next(Failure::connection_refused());
    assert!(client
        .trigger("chat", "e", "x")
        .await
        .unwrap_err()
        .is_connection());
    recorder.assert_nothing_published();
    // Then requests succeed again.
    client.trigger("chat", "e", "x").await.unwrap();
    recorder.assert_published_count(1);

    // With retries: a refused connection and a 429 are retried, then it is published once.
    let (client, recorder) = Client::builder(common::credentials())
        .retry(RetryPolicy::new(3).initial_backoff(Duration::from_millis(1)))
        .build_recording()
        .unwrap();
    recorder.fail_next(Failure::connection_refused());
    recorder.fail_next(Failure::status(429, "slow down").retry_after(Duration::from_secs(0)));
    client.trigger("chat", "e", "x").await.unwrap();
    recorder.assert_published_count(1);
    // A 500 to a trigger is not retried.
    recorder.fail_next(Failure::status(500, "oops"));
    assert_eq!(
        client
            .trigger("chat", "e", "y")
            .await
            .unwrap_err()
            .status()
            .unwrap()
            .as_u16(),
        500
    );
    recorder.assert_published_count(1);

    // A failure part way through a split trigger: a Partial error, and only what was
    // delivered is recorded.
    let (client, recorder) = Client::builder(common::credentials())
        .split_concurrency(1)
        .build_recording()
        .unwrap();
    let rooms: Vec<String> = (0..150).map(|i| format!("room-{i}")).collect();
    client.trigger(&rooms, "warm-up", "x").await.unwrap();
    recorder.clear();
    recorder.answer_next(json!({}));
    recorder.fail_next(Failure::status(502, "bad gateway"));
    let err = client.trigger(&rooms, "tick", "x").await.unwrap_err();
    assert!(
        matches!(
            err,
            pusher_rest::Error::Partial {
                completed: 1,
                total: 2,
                ..
            }
        ),
        "{err:?}"
    );
    recorder.assert_triggered("room-0", "tick");
    recorder.assert_not_triggered("room-149", "tick");
}

#[tokio::test]
async fn assertions_say_what_was_published_instead() {
    let (client, recorder) = Client::recording();
    client
        .trigger("lobby", "message", &json!({"text": "hello"}))
        .await
        .unwrap();

    let message = panic_message(|| {
        recorder.assert_triggered("lobby", "typing");
    });
    assert!(
        message.contains("expected `typing` on `lobby`"),
        "{message}"
    );
    assert!(
        message.contains(r#"`message` on ["lobby"] with {"text":"hello"}"#),
        "{message}"
    );

    let message = panic_message(|| {
        recorder.assert_triggered_with("lobby", "message", &json!({"text": "bye"}));
    });
    assert!(
        message.contains(r#"with {"text":"bye"}"#) && message.contains("hello"),
        "{message}"
    );

    let message = panic_message(|| recorder.assert_nothing_published());
    assert!(
        message.contains("expected nothing published") && message.contains("lobby"),
        "{message}"
    );

    let message = panic_message(|| recorder.assert_published_count(2));
    assert!(
        message.contains("expected 2 published events, found 1"),
        "{message}"
    );

    let message = panic_message(|| recorder.assert_not_triggered("lobby", "message"));
    assert!(message.contains("but `message` on"), "{message}");

    let message = panic_message(|| {
        recorder.assert_sent_to_user("ada", "notice");
    });
    assert!(message.contains("sent to user `ada`"), "{message}");

    let message = panic_message(|| recorder.assert_terminated("ada"));
    assert!(message.contains("`ada` to be terminated"), "{message}");

    recorder.clear();
    let message = panic_message(|| {
        recorder.assert_triggered("lobby", "message");
    });
    assert!(message.contains("nothing was published"), "{message}");
}

/// What the real client sends verifies, and any change to it does not.
#[tokio::test]
async fn verify_rest_request_checks_what_the_client_sends() {
    let server = common::ok_server().await;
    let client = server.client().build().unwrap();
    client.trigger("chat", "e", &json!({"a": 1})).await.unwrap();
    client
        .channels()
        .filter_by_prefix("presence-")
        .await
        .unwrap();
    let credentials = common::credentials();
    for r in server.requests() {
        let verified =
            verify_rest_request(&credentials, &r.method, &r.path, &r.query, &r.body).unwrap();
        assert!(verified.timestamp() > 1_700_000_000);
    }
    let trigger = &server.requests()[0];
    let other_body = br#"{"name":"e","data":"{\"a\":2}","channels":["chat"]}"#;
    assert_eq!(
        verify_rest_request(
            &credentials,
            "POST",
            &trigger.path,
            &trigger.query,
            other_body
        ),
        Err(RestVerifyError::BodyMd5Mismatch)
    );
    let query = &server.requests()[1];
    let tampered = query.query.replace("presence-", "private-");
    assert!(matches!(
        verify_rest_request(&credentials, "GET", &query.path, &tampered, b""),
        Err(RestVerifyError::BadSignature { .. })
    ));
    assert!(matches!(
        verify_rest_request(
            &credentials,
            "GET",
            "/apps/other/channels",
            &query.query,
            b""
        ),
        Err(RestVerifyError::BadSignature { .. })
    ));
}
