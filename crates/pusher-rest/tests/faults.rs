//! Faults, against a local server the test controls: a server that is down, 4xx and 5xx
//! answers, a server that never answers, undecodable answers, invalid input that must never
//! reach the network, opt-in retries, and failures part way through split operations.
//! Every test is bounded in time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use common::{ok_server, start, start_by_request, Reply};
use pusher_rest::{
    BatchEvent, Client, ConfigError, Error, Info, InvalidInput, RetryPolicy, UserId, MAX_ERROR_BODY,
};

/// Runs `f` with a hard limit, so a hung client fails the test instead of stalling the suite.
async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the test took more than 20 s")
}

#[tokio::test]
async fn server_down_is_a_connection_error_within_the_timeout() {
    bounded(async {
        // A port that was just free: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(port)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(err.is_connection(), "{err:?}");
        match &err {
            Error::Connection { method, path, .. } => {
                assert_eq!(
                    (method.as_str(), path.as_str()),
                    ("POST", "/apps/test-app/events")
                );
            }
            other => panic!("{other:?}"),
        }
        // Every operation fails the same way, as a value.
        assert!(client.channels().await.unwrap_err().is_connection());
        assert!(client
            .channel_info("chat", Info::new())
            .await
            .unwrap_err()
            .is_connection());
        let user = UserId::new("u1").unwrap();
        assert!(client
            .terminate_user_connections(&user)
            .await
            .unwrap_err()
            .is_connection());
        // The message names the request, never the query string (which holds the signature).
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("auth_signature") && !shown.contains("auth_key"),
            "{shown}"
        );
    })
    .await;
}

#[tokio::test]
async fn client_errors_carry_status_and_body() {
    bounded(async {
        let server = start(|_| {
            Reply::Answer(
                401,
                r#"{"error":"Invalid API signature","code":"auth_failed"}"#.into(),
            )
        })
        .await;
        let client = server.client().build().unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        match &err {
            Error::Status {
                status,
                body,
                method,
                path,
                ..
            } => {
                assert_eq!(status.as_u16(), 401);
                assert_eq!(
                    body,
                    r#"{"error":"Invalid API signature","code":"auth_failed"}"#
                );
                assert_eq!(
                    (method.as_str(), path.as_str()),
                    ("POST", "/apps/test-app/events")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        // 4xx answers are not retried, even with retries on.
        let retrying = server.client().retry(RetryPolicy::new(3)).build().unwrap();
        let before = server.requests().len();
        assert_eq!(
            retrying
                .trigger("chat", "e", "x")
                .await
                .unwrap_err()
                .status()
                .unwrap(),
            401
        );
        assert_eq!(server.requests().len(), before + 1);
    })
    .await;
}

#[tokio::test]
async fn server_errors_carry_status_and_a_truncated_body() {
    bounded(async {
        let long = format!("upstream exploded: {}", "x".repeat(10_000));
        let server = start(move |_| Reply::Answer(503, long.clone())).await;
        let client = server.client().build().unwrap();
        let err = client.channels().await.unwrap_err();
        match &err {
            Error::Status { status, body, .. } => {
                assert_eq!(status.as_u16(), 503);
                assert!(body.starts_with("upstream exploded: xxx"));
                assert!(body.len() <= MAX_ERROR_BODY, "{}", body.len());
            }
            other => panic!("{other:?}"),
        }
        // Without a retry policy a 5xx is sent once.
        assert_eq!(server.requests().len(), 1);
    })
    .await;
}

/// A hostile error body (16 MiB of signed-parameter names, each its own token, or a body
/// that never ends) costs the client one bounded read and one bounded redaction: it gets the
/// status with the start of the body, redacted and cut, and stops reading.
#[tokio::test]
async fn a_hostile_error_body_is_read_only_so_far() {
    bounded(async {
        let chunk = Bytes::from("auth_key ".repeat(7282)); // 65,538 bytes
        for total in [Some(16 * 1024 * 1024), None] {
            let sent = Arc::new(AtomicUsize::new(0));
            let reply = Reply::Stream {
                status: 500,
                chunk: chunk.clone(),
                total,
                sent: sent.clone(),
            };
            let server = start(move |_| reply.clone()).await;
            let client = server.client().build().unwrap();
            let err = client.trigger("chat", "e", "x").await.unwrap_err();
            match &err {
                Error::Status { status, body, .. } => {
                    assert_eq!(status.as_u16(), 500);
                    assert!(body.len() <= MAX_ERROR_BODY, "{}", body.len());
                    assert!(body.starts_with("<redacted> <redacted>"), "{body}");
                    assert!(body.ends_with('…'), "{body}");
                    assert!(!body.contains("auth_"), "{body}");
                }
                other => panic!("{total:?}: {other:?}"),
            }
        }
    })
    .await;
}

/// Only the channel list may be long: every other answer is at most 256 KiB.
#[tokio::test]
async fn answers_are_limited_per_operation() {
    bounded(async {
        let padded = |len: usize| {
            let list = format!(r#"{{"channels":{{"a":{{}}}},"pad":"{}"}}"#, "x".repeat(len));
            Reply::Answer(200, list)
        };
        let server = start(move |n| padded(if n == 0 { 300 * 1024 } else { 1024 * 1024 })).await;
        let client = server.client().build().unwrap();
        match client.trigger("chat", "e", "x").await.unwrap_err() {
            Error::Decode { reason, .. } => {
                assert!(reason.contains("larger than 262144 bytes"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let list = client.channels().await.unwrap();
        assert_eq!(list.channels.len(), 1);
        // The same limits through the recording client.
        #[cfg(feature = "testing")]
        {
            let (client, recorder) = Client::recording();
            recorder.answer_next(serde_json::json!({ "pad": "x".repeat(300 * 1024) }));
            assert!(matches!(
                client.channel_info("chat", Info::new()).await.unwrap_err(),
                Error::Decode { .. }
            ));
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    bounded(async {
        let server = start(|_| Reply::Hang).await;
        let timeout = Duration::from_millis(300);
        let client = server.client().timeout(timeout).build().unwrap();
        let started = Instant::now();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        let took = started.elapsed();
        assert!(err.is_timeout(), "{err:?}");
        assert!(
            took >= timeout && took < timeout + Duration::from_secs(2),
            "{took:?}"
        );
        match err {
            Error::Timeout { timeout: t, .. } => assert_eq!(t, timeout),
            other => panic!("{other:?}"),
        }
        // Timeouts are never retried: the request may be in progress.
        let retrying = server
            .client()
            .timeout(timeout)
            .retry(RetryPolicy::new(3))
            .build()
            .unwrap();
        let before = server.requests().len();
        assert!(retrying
            .trigger("chat", "e", "x")
            .await
            .unwrap_err()
            .is_timeout());
        assert_eq!(server.requests().len(), before + 1);
    })
    .await;
}

/// A timeout says which limit ran out: the attempt's timeout, or the operation's deadline.
#[tokio::test]
async fn a_timeout_says_whether_the_deadline_ran_out() {
    bounded(async {
        let server = start(|_| Reply::Hang).await;
        let short = Duration::from_millis(300);
        for (timeout, deadline, by_deadline) in [
            (short, Duration::from_secs(10), false),
            (Duration::from_secs(10), short, true),
        ] {
            let client = server
                .client()
                .timeout(timeout)
                .deadline(deadline)
                .build()
                .unwrap();
            let err = client.channels().await.unwrap_err();
            assert!(err.is_timeout(), "{err:?}");
            let shown = err.to_string();
            assert_eq!(shown.contains("deadline"), by_deadline, "{shown}");
            assert!(shown.contains("300ms"), "{shown}");
            match err {
                Error::Timeout {
                    timeout: t,
                    deadline: d,
                    ..
                } => assert_eq!((t, d), (short, by_deadline)),
                other => panic!("{other:?}"),
            }
        }
        // The deadline also ends a split operation between requests.
        let client = server
            .client()
            .timeout(Duration::from_secs(10))
            .deadline(short)
            .split_concurrency(1)
            .build()
            .unwrap();
        let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let err = client.trigger(names, "e", "x").await.unwrap_err();
        assert!(err.to_string().contains("deadline"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn undecodable_answers_are_decode_errors() {
    bounded(async {
        let server = start(|_| Reply::Answer(200, "<html>not json</html>".into())).await;
        let client = server.client().build().unwrap();
        let err = client.channel_info("chat", Info::new()).await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        let err = client.presence_users("presence-x").await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        // A trigger's answer is read leniently, but it must still be JSON.
        assert!(matches!(
            client.trigger("chat", "e", "x").await.unwrap_err(),
            Error::Decode { .. }
        ));
        // An empty 200 answer to a trigger is fine ({}); to a user list it is not.
        let empty = start(|_| Reply::Answer(200, String::new())).await;
        let client = empty.client().build().unwrap();
        assert!(client
            .trigger("chat", "e", "x")
            .await
            .unwrap()
            .channels
            .is_empty());
        assert!(matches!(
            client.presence_users("presence-x").await.unwrap_err(),
            Error::Decode { .. }
        ));
    })
    .await;
}

/// A decoding error quotes the answer (serde_json's messages quote strings): what it quotes is
/// treated as an error body is, redacted, cut and without control characters.
#[tokio::test]
async fn a_decoding_error_quotes_the_answer_redacted_and_cut() {
    bounded(async {
        let server = start_by_request(|_, request| {
            let signature = request.param("auth_signature").unwrap().to_owned();
            let text = format!(
                "GET {}?{} HTTP/1.1\r\nforged: line\x1b[31m signature {signature} {}",
                request.path,
                request.query,
                "x".repeat(5000)
            );
            Reply::Answer(200, serde_json::json!({ "occupied": text }).to_string())
        })
        .await;
        let client = server.client().build().unwrap();
        let err = client.channel_info("chat", Info::new()).await.unwrap_err();
        let signature = server.requests()[0]
            .param("auth_signature")
            .unwrap()
            .to_owned();
        match &err {
            Error::Decode { reason, .. } => {
                assert!(reason.len() <= MAX_ERROR_BODY, "{} bytes", reason.len());
                assert!(reason.contains("<redacted>"), "{reason}");
                assert!(!reason.contains(&signature[..16]), "{reason}");
                assert!(!reason.contains("auth_"), "{reason}");
                assert!(
                    !reason.chars().any(|c| c.is_control() && c != '\t'),
                    "{reason:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn invalid_input_never_reaches_the_network() {
    bounded(async {
        let server = ok_server().await;
        let client = server.client().build().unwrap();
        let no_master = Client::builder(
            pusher_rest::Credentials::new(common::KEY, common::SECRET)
                .unwrap()
                .with_app_id(common::APP_ID)
                .unwrap(),
        )
        .host("127.0.0.1")
        .port(server.addr.port())
        .build()
        .unwrap();
        let big = "x".repeat(10 * 1024 + 1);
        let long_event = "e".repeat(201);
        let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let mut with_bad = names.clone();
        with_bad.push("bad channel".into());
        let email = UserId::new("ada@example.com").unwrap();
        let spaced = UserId::new("Ada Lovelace").unwrap();
        let slash = UserId::new("auth0|123/456").unwrap();

        let cases: Vec<(&str, Error)> = vec![
            ("oversize data", client.trigger("chat", "e", big.as_str()).await.unwrap_err()),
            // 10 KB of plaintext fits, but not once encrypted and base64-encoded.
            (
                "oversize encrypted data",
                client.trigger("private-encrypted-chat", "e", &"y".repeat(9_000)).await.unwrap_err(),
            ),
            ("long event name", client.trigger("chat", &long_event, "x").await.unwrap_err()),
            ("empty event name", client.trigger("chat", "", "x").await.unwrap_err()),
            ("bad channel", client.trigger("bad channel", "e", "x").await.unwrap_err()),
            ("bad channel among 150", client.trigger(with_bad, "e", "x").await.unwrap_err()),
            ("reserved channel", client.trigger("#server-to-user-1", "e", "x").await.unwrap_err()),
            ("no channel", client.trigger(Vec::<String>::new(), "e", "x").await.unwrap_err()),
            ("no master key", no_master.trigger("private-encrypted-x", "e", "x").await.unwrap_err()),
            (
                "no master key among others",
                no_master.trigger(["a", "private-encrypted-x"], "e", "x").await.unwrap_err(),
            ),
            ("users of a private channel", client.presence_users("private-x").await.unwrap_err()),
            ("bad channel info", client.channel_info("a b", Info::new()).await.unwrap_err()),
            ("bad prefix", client.channels().filter_by_prefix("a/").await.unwrap_err()),
            ("send to an id with a space", client.send_to_user(&spaced, "e", "x").await.unwrap_err()),
            ("terminate an id with a slash", client.terminate_user_connections(&slash).await.unwrap_err()),
            ("send to user, oversize", client.send_to_user(&email, "e", big.as_str()).await.unwrap_err()),
            ("send to user, long event", client.send_to_user(&email, &long_event, "x").await.unwrap_err()),
            (
                "batch with one oversize event",
                client
                    .trigger_batch([
                        BatchEvent::new("a", "e", "x").unwrap(),
                        BatchEvent::new("b", "e", big.as_str()).unwrap(),
                    ])
                    .await
                    .unwrap_err(),
            ),
            (
                "batch with an encrypted event and no key",
                no_master
                    .trigger_batch([BatchEvent::new("private-encrypted-x", "e", "x").unwrap()])
                    .await
                    .unwrap_err(),
            ),
        ];
        for (what, err) in &cases {
            assert!(err.is_invalid_input(), "{what}: {err:?}");
        }
        assert_eq!(server.connections(), 0, "invalid input opened a connection");
        assert!(server.requests().is_empty());

        // The exact errors.
        assert!(matches!(
            &cases[0].1,
            Error::InvalidInput(InvalidInput::DataTooLarge { channel: None, size: 10_241, max: 10_240, .. })
        ));
        assert!(matches!(
            &cases[1].1,
            Error::InvalidInput(InvalidInput::DataTooLarge { channel: Some(c), .. }) if c == "private-encrypted-chat"
        ));
        assert!(matches!(
            &cases[2].1,
            Error::InvalidInput(InvalidInput::EventNameTooLong { len: 201, max: 200, .. })
        ));
        assert!(matches!(&cases[7].1, Error::InvalidInput(InvalidInput::NoChannels)));
        assert!(matches!(&cases[8].1, Error::InvalidInput(InvalidInput::NoMasterKey(_))));
        assert!(matches!(&cases[10].1, Error::InvalidInput(InvalidInput::NotPresence(_))));
        assert!(matches!(&cases[13].1, Error::InvalidInput(InvalidInput::UserIdNotAddressable { .. })));
        assert!(matches!(&cases[14].1, Error::InvalidInput(InvalidInput::UserIdNotAddressable { .. })));

        // Batch events check their channel and name when they are made.
        assert!(BatchEvent::new("a b", "e", "x").unwrap_err().is_invalid_input());
        assert!(BatchEvent::new("a", &long_event, "x").unwrap_err().is_invalid_input());

        // The same requests, valid, do reach the server.
        client.trigger("chat", "e", "x").await.unwrap();
        client.send_to_user(&email, "e", "x").await.unwrap();
        assert_eq!(server.requests().len(), 2);
        assert!(server.connections() >= 1);
    })
    .await;
}

#[tokio::test]
async fn configuration_errors() {
    let no_app_id = pusher_rest::Credentials::new("k", "s").unwrap();
    assert!(matches!(
        Client::builder(no_app_id).build(),
        Err(Error::Config(ConfigError::MissingAppId))
    ));
    let odd_app_id = pusher_rest::Credentials::new("k", "s")
        .unwrap()
        .with_app_id("é")
        .unwrap();
    assert!(matches!(
        Client::builder(odd_app_id).build(),
        Err(Error::Config(ConfigError::InvalidAppId))
    ));
    assert!(matches!(
        Client::builder(common::credentials()).host("a b").build(),
        Err(Error::Config(ConfigError::InvalidHost(_)))
    ));
}

#[tokio::test]
async fn retries_are_opt_in_retry_5xx_and_stop() {
    bounded(async {
        // Fails twice with 503, then succeeds.
        let flaky = start(|n| {
            if n < 2 {
                Reply::Answer(503, "busy".into())
            } else {
                Reply::Answer(200, "{}".into())
            }
        })
        .await;
        let once = flaky.client().build().unwrap();
        assert_eq!(
            once.trigger("chat", "e", "x")
                .await
                .unwrap_err()
                .status()
                .unwrap(),
            503
        );
        assert_eq!(flaky.requests().len(), 1, "no retry unless asked for");

        // A read is retried (a 503 to a trigger only with Retry-After: see below).
        let retry = RetryPolicy::new(3).initial_backoff(Duration::from_millis(20));
        let retrying = flaky.client().retry(retry).build().unwrap();
        let started = Instant::now();
        retrying.channels().await.unwrap();
        // One more failure (request 1), then success (request 2): 20 ms of backoff.
        assert_eq!(flaky.requests().len(), 3);
        assert!(started.elapsed() >= Duration::from_millis(20));
        // Every attempt is signed afresh and verifies.
        assert!(flaky.requests().iter().all(|r| r.verified.is_ok()));

        // A 500 to a trigger may follow a delivery: not sent again unless asked for.
        let down = start(|_| Reply::Answer(500, "down".into())).await;
        let retry = RetryPolicy::new(2).initial_backoff(Duration::from_millis(10));
        let client = down.client().retry(retry).build().unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert_eq!(err.status().unwrap(), 500);
        assert_eq!(
            down.requests().len(),
            1,
            "a trigger answered 500 was sent again"
        );
        // A read is sent again: 1 + max_retries attempts, then the last error.
        let err = client.channels().await.unwrap_err();
        assert_eq!(err.status().unwrap(), 500);
        assert_eq!(down.requests().len(), 4);
        // Asked for: the trigger too.
        let client = down
            .client()
            .retry(retry.retry_possibly_delivered(true))
            .build()
            .unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert_eq!(err.status().unwrap(), 500);
        assert_eq!(down.requests().len(), 7);

        // Connection failures are retried too: a port nobody listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(port)
            .retry(RetryPolicy::new(2).initial_backoff(Duration::from_millis(100)))
            .build()
            .unwrap();
        let started = Instant::now();
        assert!(client
            .trigger("chat", "e", "x")
            .await
            .unwrap_err()
            .is_connection());
        // Two waits (100 ms, then 200 ms) show the two retries happened.
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
    })
    .await;
}

/// A 503 to a POST may come from a proxy that had already forwarded the request (Envoy and
/// Istio answer 503 after an upstream reset): it is sent again only when it carries a
/// `Retry-After` (a server refusing before acting) or when possibly delivered requests may be
/// retried. A 429 is retried either way, and a read after any 503.
#[tokio::test]
async fn a_503_to_a_trigger_is_retried_only_with_retry_after() {
    bounded(async {
        let retry = RetryPolicy::new(2).initial_backoff(Duration::from_millis(1));
        let first = |status: u16, retry_after: bool| {
            move |n: usize| match n {
                0 if retry_after => {
                    Reply::AnswerWith(status, vec![("retry-after", "0".into())], "busy".into())
                }
                0 => Reply::Answer(status, "upstream connect error or disconnect/reset".into()),
                _ => Reply::Answer(200, "{}".into()),
            }
        };
        // (status, Retry-After, retry_possibly_delivered, a read) → requests made.
        for (status, retry_after, possibly, read, requests) in [
            (503, false, false, false, 1),
            (503, true, false, false, 2),
            (503, false, true, false, 2),
            (503, false, false, true, 2),
            (429, false, false, false, 2),
        ] {
            let server = start(first(status, retry_after)).await;
            let client = server
                .client()
                .retry(retry.retry_possibly_delivered(possibly))
                .build()
                .unwrap();
            let result = if read {
                client.channels().await.map(|_| ())
            } else {
                client.trigger("chat", "e", "x").await.map(|_| ())
            };
            let case = (status, retry_after, possibly, read);
            assert_eq!(server.requests().len(), requests, "{case:?}");
            assert_eq!(result.is_ok(), requests == 2, "{case:?}: {result:?}");
        }
        // Every POST goes the same way: a batch, an event to a user.
        let server = start(first(503, false)).await;
        let client = server.client().retry(retry).build().unwrap();
        let batch = vec![BatchEvent::new("chat", "e", "x").unwrap()];
        assert_eq!(
            client
                .trigger_batch(batch)
                .await
                .unwrap_err()
                .status()
                .unwrap(),
            503
        );
        let user = UserId::new("ada").unwrap();
        client.send_to_user(&user, "e", "x").await.unwrap();
        assert_eq!(server.requests().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn split_operations_report_partial_delivery() {
    bounded(async {
        // A trigger on 150 channels: two requests, sent at once; the one for c100…c149 fails.
        let server = start_by_request(|_, request| {
            if request.json()["channels"][0] == "c100" {
                Reply::Answer(500, "failed".into())
            } else {
                Reply::Answer(200, "{}".into())
            }
        })
        .await;
        let client = server.client().build().unwrap();
        let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let err = client.trigger(names.clone(), "e", "x").await.unwrap_err();
        match &err {
            Error::Partial {
                completed,
                total,
                delivery,
                source,
                ..
            } => {
                assert_eq!((*completed, *total), (1, 2));
                let delivered: Vec<&str> = delivery
                    .delivered_channels
                    .iter()
                    .map(|c| c.as_str())
                    .collect();
                assert_eq!(delivered, names[..100]);
                assert!(delivery.delivered_events.is_empty());
                assert_eq!(source.status().unwrap(), 500);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.status().unwrap(), 500);
        assert_eq!(server.requests().len(), 2);

        // One request after another (split_concurrency 1): it stops at the failure.
        let server = start(|n| {
            if n < 2 {
                Reply::Answer(200, "{}".into())
            } else {
                Reply::Answer(502, "bad gateway".into())
            }
        })
        .await;
        let client = server.client().split_concurrency(1).build().unwrap();
        let events: Vec<BatchEvent> = (0..35)
            .map(|i| BatchEvent::new(format!("c{i}"), "e", &i).unwrap())
            .collect();
        match client.trigger_batch(events.clone()).await.unwrap_err() {
            Error::Partial {
                completed,
                total,
                delivery,
                ..
            } => {
                assert_eq!((completed, total), (2, 4));
                assert_eq!(delivery.delivered_events, (0..20).collect::<Vec<_>>());
                // The third was answered 502 (possibly delivered); the fourth never sent.
                assert_eq!(
                    delivery.possibly_delivered_events,
                    (20..30).collect::<Vec<_>>()
                );
                assert_eq!(delivery.not_delivered_events, (30..35).collect::<Vec<_>>());
            }
            other => panic!("{other:?}"),
        }
        // The fourth request was never sent.
        assert_eq!(server.requests().len(), 3);

        // Sent at once (four requests, no channel shared): the third fails, the others are
        // delivered, and the error says exactly which events.
        let server = start_by_request(|_, request| {
            if request.json()["batch"][0]["channel"] == "c20" {
                Reply::Answer(502, "bad gateway".into())
            } else {
                Reply::Answer(200, "{}".into())
            }
        })
        .await;
        let client = server.client().build().unwrap();
        match client.trigger_batch(events).await.unwrap_err() {
            Error::Partial {
                completed,
                total,
                delivery,
                source,
                ..
            } => {
                assert_eq!((completed, total), (3, 4));
                let expected: Vec<usize> = (0..20).chain(30..35).collect();
                assert_eq!(delivery.delivered_events, expected);
                assert_eq!(
                    delivery.possibly_delivered_events,
                    (20..30).collect::<Vec<_>>()
                );
                assert_eq!(source.status().unwrap(), 502);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.requests().len(), 4);

        // When nothing was delivered, nor possibly delivered, the error is the first failed
        // request's own: the whole operation can be sent again.
        let refusing = start(|_| Reply::Answer(400, "x".into())).await;
        let client = refusing.client().build().unwrap();
        assert!(matches!(
            client.trigger(names.clone(), "e", "x").await.unwrap_err(),
            Error::Status { .. }
        ));
        // A 500 may follow a delivery: every request possibly delivered, none surely.
        let down = start(|_| Reply::Answer(500, "x".into())).await;
        let client = down.client().build().unwrap();
        match client.trigger(names, "e", "x").await.unwrap_err() {
            Error::Partial {
                completed: 0,
                possibly_delivered: 2,
                delivery,
                ..
            } => assert_eq!(delivery.other_errors.len(), 1),
            other => panic!("{other:?}"),
        }
    })
    .await;
}

/// Requests of a split operation fail in different ways at once: the error says which
/// channels (or events) were delivered, which may have been (a timeout, a 5xx: the server may
/// have acted), and which were not (refused with a 4xx, or never sent), and keeps every
/// failure's error.
#[tokio::test]
async fn partial_errors_say_what_was_possibly_delivered() {
    bounded(async {
        // Four requests at once: delivered, refused, a 502, no answer.
        let server =
            start_by_request(
                |_, request| match request.json()["channels"][0].as_str().unwrap() {
                    "c0" => Reply::Answer(200, "{}".into()),
                    "c100" => Reply::Answer(400, "refused".into()),
                    "c200" => Reply::Answer(502, "bad gateway".into()),
                    _ => Reply::Hang,
                },
            )
            .await;
        let client = server
            .client()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let names: Vec<String> = (0..400).map(|i| format!("c{i}")).collect();
        let err = client.trigger(names.clone(), "e", "x").await.unwrap_err();
        let shown = err.to_string();
        match &err {
            Error::Partial {
                completed,
                possibly_delivered,
                total,
                source,
                delivery,
                ..
            } => {
                assert_eq!((*completed, *possibly_delivered, *total), (1, 2, 4));
                let names_of = |channels: &[pusher_rest::ChannelName]| -> Vec<String> {
                    channels.iter().map(|c| c.to_string()).collect()
                };
                assert_eq!(names_of(&delivery.delivered_channels), names[..100]);
                assert_eq!(names_of(&delivery.not_delivered_channels), names[100..200]);
                assert_eq!(
                    names_of(&delivery.possibly_delivered_channels),
                    names[200..]
                );
                assert!(delivery.delivered_events.is_empty());
                // The first failure in the order of the requests, then the others.
                assert_eq!(source.status().unwrap(), 400);
                assert_eq!(delivery.other_errors.len(), 2);
                assert_eq!(delivery.other_errors[0].status().unwrap(), 502);
                assert!(delivery.other_errors[1].is_timeout());
            }
            other => panic!("{other:?}"),
        }
        assert!(
            shown.contains("1 of 4 requests were delivered, 2 possibly, 1 not"),
            "{shown}"
        );

        // One after another: the second request times out, so the third and fourth are never
        // sent; the second's events may have arrived.
        let server = start(|n| {
            if n == 0 {
                Reply::Answer(200, "{}".into())
            } else {
                Reply::Hang
            }
        })
        .await;
        let client = server
            .client()
            .split_concurrency(1)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let events: Vec<BatchEvent> = (0..35)
            .map(|i| BatchEvent::new(format!("c{i}"), "e", &i).unwrap())
            .collect();
        match client.trigger_batch(events).await.unwrap_err() {
            Error::Partial {
                completed,
                possibly_delivered,
                source,
                delivery,
                ..
            } => {
                assert_eq!((completed, possibly_delivered), (1, 1));
                assert_eq!(delivery.delivered_events, (0..10).collect::<Vec<_>>());
                assert_eq!(
                    delivery.possibly_delivered_events,
                    (10..20).collect::<Vec<_>>()
                );
                assert_eq!(delivery.not_delivered_events, (20..35).collect::<Vec<_>>());
                assert!(source.is_timeout());
                assert!(delivery.other_errors.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.requests().len(), 2);

        // A request whose first attempt timed out stays possibly delivered, whatever its retry
        // is answered (here a refusal).
        let server = start(|n| match n {
            0 => Reply::Answer(200, "{}".into()),
            1 => Reply::Hang,
            _ => Reply::Answer(400, "refused".into()),
        })
        .await;
        let client = server
            .client()
            .split_concurrency(1)
            .timeout(Duration::from_millis(300))
            .retry(RetryPolicy::new(1).retry_possibly_delivered(true))
            .build()
            .unwrap();
        let events: Vec<BatchEvent> = (0..15)
            .map(|i| BatchEvent::new(format!("c{i}"), "e", &i).unwrap())
            .collect();
        match client.trigger_batch(events).await.unwrap_err() {
            Error::Partial {
                delivery, source, ..
            } => {
                assert_eq!(
                    delivery.possibly_delivered_events,
                    (10..15).collect::<Vec<_>>()
                );
                assert_eq!(source.status().unwrap(), 400);
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn debug_output_hides_secrets() {
    let client = Client::builder(common::credentials()).build().unwrap();
    let shown = format!("{client:?} {client:#?}");
    assert!(!shown.contains(common::SECRET), "{shown}");
    assert!(!shown.contains(&common::MASTER[..10]), "{shown}");
    assert!(shown.contains(common::KEY) && shown.contains("api-mt1.pusher.com"));
    let builder = Client::builder(common::credentials()).proxy(pusher_rest::Proxy::url(
        "http://ada:pr0xy-pass@127.0.0.1:3128",
    ));
    let shown = format!("{builder:?}");
    assert!(!shown.contains(common::SECRET) && !shown.contains(&common::MASTER[..10]));
    assert!(
        !shown.contains("pr0xy-pass") && shown.contains("127.0.0.1:3128"),
        "{shown}"
    );
    let client = builder.build().unwrap();
    let shown = format!("{client:?}");
    assert!(
        !shown.contains("pr0xy-pass") && shown.contains("127.0.0.1:3128"),
        "{shown}"
    );
    // Requests show what they are about, never their data or a signature.
    let trigger = client.trigger("chat", "e", "top secret data");
    let shown = format!("{trigger:?}");
    let shown = format!("{shown} {:?}", trigger.send());
    assert!(
        shown.contains("chat") && !shown.contains("top secret"),
        "{shown}"
    );
}

/// The comparison table of the README says the `pusher` crate 0.4.5 panics where this client
/// returns errors; this checks it.
#[tokio::test]
async fn the_pusher_crate_panics_where_this_client_returns_errors() {
    bounded(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let down = pusher::PusherBuilder::new(common::APP_ID, common::KEY, common::SECRET)
            .host(&format!("127.0.0.1:{port}"))
            .finalize();
        let joined = tokio::spawn(async move { down.trigger("chat", "e", "x").await }).await;
        assert!(joined.unwrap_err().is_panic(), "server down");

        let server = start(|_| Reply::Answer(200, "not json".into())).await;
        let not_json = pusher::PusherBuilder::new(common::APP_ID, common::KEY, common::SECRET)
            .host(&format!("127.0.0.1:{}", server.addr.port()))
            .finalize();
        let joined = tokio::spawn(async move { not_json.channels().await }).await;
        assert!(
            joined.unwrap_err().is_panic(),
            "200 with a body that is not JSON"
        );

        // This client: values.
        let client = server.client().build().unwrap();
        assert!(matches!(client.channels().await, Err(Error::Decode { .. })));
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(port)
            .build()
            .unwrap();
        assert!(client
            .trigger("chat", "e", "x")
            .await
            .unwrap_err()
            .is_connection());
    })
    .await;
}

/// HTTPS to a server that only speaks plain HTTP: the TLS handshake fails, as a value.
#[cfg(feature = "rustls")]
#[tokio::test]
async fn a_failed_tls_handshake_is_a_connection_error() {
    bounded(async {
        let server = ok_server().await;
        let client = server
            .client()
            .scheme(pusher_rest::Scheme::Https)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        assert_eq!(
            client.base_url(),
            format!("https://127.0.0.1:{}", server.addr.port())
        );
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert!(err.is_connection(), "{err:?}");
        assert!(server.requests().is_empty());
    })
    .await;
}

/// Polled outside a Tokio runtime (here by a bare executor), a request is an error that says
/// so, not a panic from inside hyper or Tokio's timer.
#[test]
fn outside_a_tokio_runtime_is_an_error_not_a_panic() {
    use std::future::IntoFuture;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    let client = Client::builder(common::credentials())
        .host("127.0.0.1")
        .port(9)
        .build()
        .unwrap();
    let mut request = pin!(client.trigger("chat", "e", "x").into_future());
    let mut cx = Context::from_waker(Waker::noop());
    match request.as_mut().poll(&mut cx) {
        Poll::Ready(Err(err @ Error::NoRuntime { .. })) => {
            assert!(err.to_string().contains("Tokio runtime"), "{err}");
            assert!(!err.is_connection() && !err.is_timeout(), "{err:?}");
        }
        other => panic!("expected NoRuntime, got {:?}", other.map(|r| r.map(|_| ()))),
    }
}

/// The documented limit of "errors, not panics": a runtime built without its time driver is
/// not detected, and Tokio panics when a request starts its timer. Should this ever become an
/// error, the crate docs (and `Error::NoRuntime`'s) must say so.
#[test]
fn a_runtime_without_timers_panics_as_documented() {
    let client = Client::builder(common::credentials())
        .host("127.0.0.1")
        .port(9)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(client.trigger("chat", "e", "x").send())
    }));
    let message = outcome.map(|_| ()).unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| message.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(message.contains("enable_time"), "{message}");
}
