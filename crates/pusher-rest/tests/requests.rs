//! What each operation puts on the wire, as a local server sees it: method, path, query,
//! body, and a signature that verifies the way Pusher checks it; and how answers are read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use common::{ok_server, start, Reply};
use pusher_rest::encryption::decrypt;
use pusher_rest::{BatchEvent, ChannelName, Info, SocketId, UserId};
use serde_json::{json, Value};

#[derive(serde::Serialize)]
struct Message<'a> {
    text: &'a str,
    n: u32,
}

#[tokio::test]
async fn a_trigger_is_one_signed_post() {
    let server = ok_server().await;
    let client = server.client().build().unwrap();
    client
        .trigger(
            "private-chat",
            "message",
            &Message {
                text: "hé \"there\"",
                n: 1,
            },
        )
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/apps/test-app/events")
    );
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    r.verified.as_ref().unwrap();
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"name":"message","data":"{\"text\":\"hé \\\"there\\\"\",\"n\":1}","channels":["private-chat"]}"#
    );
    // Parameters sorted, signature last.
    let keys: Vec<&str> = r.params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "auth_key",
            "auth_timestamp",
            "auth_version",
            "body_md5",
            "auth_signature"
        ]
    );
}

#[tokio::test]
async fn exclusion_info_and_typed_attributes() {
    let server = start(|_| {
        Reply::Answer(
            200,
            r#"{"channels":{"presence-a":{"user_count":2,"subscription_count":3},"b":{"subscription_count":0}}}"#
                .into(),
        )
    })
    .await;
    let client = server.client().build().unwrap();
    let socket: SocketId = "123.456".parse().unwrap();
    let answer = client
        .trigger(["presence-a", "b"], "e", "raw text")
        .exclude(socket)
        .info(Info::new().user_count().subscription_count())
        .await
        .unwrap();
    assert_eq!(answer.channel("presence-a").unwrap().user_count, Some(2));
    assert_eq!(
        answer.channel("presence-a").unwrap().subscription_count,
        Some(3)
    );
    assert_eq!(answer.channel("b").unwrap().subscription_count, Some(0));
    assert_eq!(answer.channel("b").unwrap().user_count, None);
    let r = &server.requests()[0];
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"name":"e","data":"raw text","channels":["presence-a","b"],"socket_id":"123.456","info":"user_count,subscription_count"}"#
    );
    // An optional socket id passes straight through.
    client.trigger("b", "e", "x").exclude(None).await.unwrap();
    assert!(server.requests()[1].json().get("socket_id").is_none());
}

#[tokio::test]
async fn more_than_100_channels_are_split_in_order() {
    let server = ok_server().await;
    // One request after another, so the server sees them in the order they are made.
    let client = server.client().split_concurrency(1).build().unwrap();
    let names: Vec<String> = (0..250).map(|i| format!("room-{i}")).collect();
    client
        .trigger(&names, "tick", &json!({"at": 1}))
        .await
        .unwrap();
    let reqs = server.requests();
    let sizes: Vec<usize> = reqs
        .iter()
        .map(|r| r.json()["channels"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let sent: Vec<String> = reqs
        .iter()
        .flat_map(|r| r.json()["channels"].as_array().unwrap().clone())
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, names);
    for r in &reqs {
        r.verified.as_ref().unwrap();
        assert_eq!(r.json()["data"], r#"{"at":1}"#);
    }
}

#[tokio::test]
async fn encrypted_channels_get_one_request_each_and_plain_ones_share() {
    let server = ok_server().await;
    // One request after another, so the server sees them in the order they are made.
    let client = server.client().split_concurrency(1).build().unwrap();
    let data = Message {
        text: "secret",
        n: 7,
    };
    client
        .trigger(
            ["a", "private-encrypted-x", "b", "private-encrypted-y"],
            "e",
            &data,
        )
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].json()["channels"], json!(["a", "b"]));
    assert_eq!(reqs[0].json()["data"], r#"{"text":"secret","n":7}"#);
    let credentials = common::credentials();
    for (r, channel) in reqs[1..]
        .iter()
        .zip(["private-encrypted-x", "private-encrypted-y"])
    {
        r.verified.as_ref().unwrap();
        let body = r.json();
        assert_eq!(body["channels"], json!([channel]));
        let sealed = body["data"].as_str().unwrap();
        assert!(!sealed.contains("secret"));
        let channel: ChannelName = channel.parse().unwrap();
        assert_eq!(
            decrypt(&credentials, &channel, sealed).unwrap(),
            r#"{"text":"secret","n":7}"#
        );
        // The other channel's key does not open it.
        let other: ChannelName = "private-encrypted-z".parse().unwrap();
        assert!(decrypt(&credentials, &other, sealed).is_err());
    }
    // Two encrypted payloads never share a nonce.
    assert_ne!(
        reqs[1].json()["data"].as_str().unwrap()[..40],
        reqs[2].json()["data"].as_str().unwrap()[..40]
    );
}

#[tokio::test]
async fn batches_are_chunked_in_order_and_answers_aligned() {
    let server = start(|n| {
        if n == 0 {
            // The first chunk asked for info.
            let items: Vec<Value> = (0..10).map(|i| json!({"subscription_count": i})).collect();
            Reply::Answer(200, json!({ "batch": items }).to_string())
        } else {
            // Other servers answer without attributes: {} or {"batch":{}}.
            Reply::Answer(200, if n == 1 { "{}" } else { r#"{"batch":{}}"# }.into())
        }
    })
    .await;
    // One request after another: the server's answers follow the order of the requests.
    let client = server
        .client()
        .batch_size(10)
        .split_concurrency(1)
        .build()
        .unwrap();
    let events: Vec<BatchEvent> = (0..25)
        .map(|i| {
            let channel = if i == 12 {
                "private-encrypted-x".to_owned()
            } else {
                format!("c{i}")
            };
            let event = BatchEvent::new(channel, "e", &json!({ "i": i })).unwrap();
            if i < 10 {
                event.info(Info::new().subscription_count())
            } else {
                event
            }
        })
        .collect();
    let answer = client.trigger_batch(events).await.unwrap();
    assert_eq!(answer.attributes.len(), 25);
    assert_eq!(answer.attributes[3].subscription_count, Some(3));
    assert_eq!(answer.attributes[20].subscription_count, None);

    let reqs = server.requests();
    let sizes: Vec<usize> = reqs
        .iter()
        .map(|r| r.json()["batch"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [10, 10, 5]);
    let first = &reqs[0].json()["batch"][0];
    assert_eq!(
        first,
        &json!({"channel": "c0", "name": "e", "data": "{\"i\":0}", "info": "subscription_count"})
    );
    let encrypted = &reqs[1].json()["batch"][2];
    assert_eq!(encrypted["channel"], "private-encrypted-x");
    let channel: ChannelName = "private-encrypted-x".parse().unwrap();
    assert_eq!(
        decrypt(
            &common::credentials(),
            &channel,
            encrypted["data"].as_str().unwrap()
        )
        .unwrap(),
        r#"{"i":12}"#
    );
    assert!(reqs
        .iter()
        .all(|r| r.path == "/apps/test-app/batch_events" && r.verified.is_ok()));
    // An empty batch sends nothing.
    client.trigger_batch(Vec::new()).await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn channel_queries() {
    let server = start(|n| {
        Reply::Answer(
            200,
            match n {
                0 => r#"{"channels":{"presence-a":{"user_count":3},"presence-b":{}}}"#,
                1 => r#"{"occupied":true,"subscription_count":5}"#,
                2 => r#"{"users":[{"id":"1"},{"id":"ada"},{"id":42}]}"#,
                _ => r#"{"channels":{}}"#,
            }
            .into(),
        )
    })
    .await;
    let client = server.client().build().unwrap();
    let list = client
        .channels()
        .filter_by_prefix("presence-")
        .info(Info::new().user_count())
        .await
        .unwrap();
    assert_eq!(list.channels.len(), 2);
    assert_eq!(list.channels["presence-a"].user_count, Some(3));
    let info = client
        .channel_info("private-x", Info::new().subscription_count())
        .await
        .unwrap();
    assert!(info.occupied);
    assert_eq!(info.subscription_count, Some(5));
    let users = client.presence_users("presence-a").await.unwrap();
    assert_eq!(users, ["1", "ada", "42"].map(|u| UserId::new(u).unwrap()));
    assert!(client.channels().await.unwrap().channels.is_empty());

    let reqs = server.requests();
    let shape: Vec<(&str, &str, Option<&str>, Option<&str>)> = reqs
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.param("filter_by_prefix"),
                r.param("info"),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (
                "GET",
                "/apps/test-app/channels",
                Some("presence-"),
                Some("user_count")
            ),
            (
                "GET",
                "/apps/test-app/channels/private-x",
                None,
                Some("subscription_count")
            ),
            (
                "GET",
                "/apps/test-app/channels/presence-a/users",
                None,
                None
            ),
            ("GET", "/apps/test-app/channels", None, None),
        ]
    );
    for r in &reqs {
        r.verified.as_ref().unwrap();
        assert!(r.body.is_empty() && r.param("body_md5").is_none() && r.content_type.is_none());
    }
}

#[tokio::test]
async fn users() {
    let server = ok_server().await;
    let client = server.client().build().unwrap();
    let user = UserId::new("ada@example.com").unwrap();
    client
        .send_to_user(&user, "notice", &json!({"unread": 3}))
        .await
        .unwrap();
    client.terminate_user_connections(&user).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/apps/test-app/events");
    assert_eq!(
        std::str::from_utf8(&reqs[0].body).unwrap(),
        r##"{"name":"notice","data":"{\"unread\":3}","channels":["#server-to-user-ada@example.com"]}"##
    );
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        (
            "POST",
            "/apps/test-app/users/ada@example.com/terminate_connections"
        )
    );
    assert_eq!(&reqs[1].body[..], b"{}");
    assert!(reqs.iter().all(|r| r.verified.is_ok()));
}

#[tokio::test]
async fn connections_are_kept_alive_and_reused() {
    let server = ok_server().await;
    let client = server.client().build().unwrap();
    for i in 0..50 {
        client.trigger("chat", "e", &i).await.unwrap();
    }
    client.channels().await.unwrap();
    assert_eq!(server.requests().len(), 51);
    assert_eq!(
        server.connections(),
        1,
        "one keep-alive connection serves every request"
    );
}

/// Requests own a clone of the client: every operation's future is `Send + 'static`, so a
/// handler can spawn it and answer at once. (This test is also the compile test: with
/// borrowing builders, `tokio::spawn` would not accept these futures.)
#[tokio::test]
async fn requests_can_be_spawned() {
    fn owned<T: Send + 'static>(value: T) -> T {
        value
    }
    let server = ok_server().await;
    let client = server.client().build().unwrap();
    let user = UserId::new("ada").unwrap();
    let handles = vec![
        tokio::spawn(async move { Ok::<_, pusher_rest::Error>(()) }),
        {
            let t = owned(client.trigger("chat", "e", "spawned with send").send());
            tokio::spawn(async move { t.await.map(|_| ()) })
        },
        {
            let t = owned(std::future::IntoFuture::into_future(client.trigger(
                "chat",
                "e",
                "spawned with into_future",
            )));
            tokio::spawn(async move { t.await.map(|_| ()) })
        },
        {
            let t = owned(client.trigger_batch([BatchEvent::new("chat", "e", "batch").unwrap()]));
            tokio::spawn(async move { t.await.map(|_| ()) })
        },
        {
            let t = owned(client.send_to_user(&user, "e", "to ada"));
            tokio::spawn(t)
        },
        {
            let t = owned(client.channels().send());
            tokio::spawn(async move { t.await.map(|_| ()) })
        },
    ];
    // The client itself may go away: the requests hold their own handle.
    drop(client);
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
    let mut data: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            let body = r.json();
            body.get("data")
                .or_else(|| body["batch"][0].get("data"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    data.sort();
    assert_eq!(
        data,
        [
            "batch",
            "spawned with into_future",
            "spawned with send",
            "to ada"
        ]
    );
    assert_eq!(server.requests().len(), 5);
}

/// The requests of a split operation are in flight together: the server answers none until
/// all three have arrived (a client sending them one after another would wait forever and hit
/// its deadline).
#[tokio::test]
async fn split_requests_are_sent_concurrently() {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let b = barrier.clone();
    let server = start(move |_| Reply::Barrier(b.clone(), 200, "{}".into())).await;
    let client = server
        .client()
        .deadline(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let names: Vec<String> = (0..300).map(|i| format!("room-{i}")).collect();
    client.trigger(&names, "tick", "x").await.unwrap();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.max_in_flight(), 3);
    // Every channel exactly once, in order within each request.
    let mut sent: Vec<Vec<String>> = server
        .requests()
        .iter()
        .map(|r| {
            r.json()["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    sent.sort_by_key(|chunk| names.iter().position(|n| *n == chunk[0]).unwrap());
    assert_eq!(sent.concat(), names);

    // A batch of three requests on distinct channels: the same.
    let events: Vec<BatchEvent> = (0..25)
        .map(|i| BatchEvent::new(format!("c{i}"), "e", &i).unwrap())
        .collect();
    client.trigger_batch(events).await.unwrap();
    assert_eq!(server.requests().len(), 6);

    // At most split_concurrency at once: the first two wait for each other, so both are in
    // flight together; no third may join them.
    let pair = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let server = start(move |n| {
        if n < 2 {
            Reply::Barrier(pair.clone(), 200, "{}".into())
        } else {
            Reply::After(std::time::Duration::from_millis(20), 200, "{}".into())
        }
    })
    .await;
    let client = server.client().split_concurrency(2).build().unwrap();
    let names: Vec<String> = (0..500).map(|i| format!("room-{i}")).collect();
    client.trigger(&names, "tick", "x").await.unwrap();
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.max_in_flight(), 2);
}

/// Batch requests that share a channel go one after another, in the batch's order, so events
/// on one channel are never reordered; the others still go at once.
#[tokio::test]
async fn batch_requests_sharing_a_channel_keep_their_order() {
    // Requests 0 and 2 carry `shared`; request 1 does not. Requests 0 and 1 wait for each
    // other (so they must be in flight together); request 2 may only be sent once request 0
    // was answered, so it arrives after both.
    let pair = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let server = common::start_by_request(move |_, request| {
        if request.json()["batch"][0]["data"] == "20" {
            Reply::Answer(200, "{}".into())
        } else {
            Reply::Barrier(pair.clone(), 200, "{}".into())
        }
    })
    .await;
    let client = server
        .client()
        .deadline(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let events: Vec<BatchEvent> = (0..30)
        .map(|i| {
            let channel = if i == 3 || i == 25 {
                "shared".to_owned()
            } else {
                format!("c{i}")
            };
            BatchEvent::new(channel, "e", &i).unwrap()
        })
        .collect();
    client.trigger_batch(events).await.unwrap();
    let firsts: Vec<i64> = server
        .requests()
        .iter()
        .map(|r| {
            r.json()["batch"][0]["data"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(firsts.len(), 3);
    assert_eq!(
        firsts[2], 20,
        "request 2 went before request 0 was answered: {firsts:?}"
    );

    // Every request shares a channel: strictly one after another.
    let server =
        start(|_| Reply::After(std::time::Duration::from_millis(20), 200, "{}".into())).await;
    let client = server.client().build().unwrap();
    let events: Vec<BatchEvent> = (0..30)
        .map(|i| BatchEvent::new("same", "e", &i).unwrap())
        .collect();
    client.trigger_batch(events).await.unwrap();
    assert_eq!(server.max_in_flight(), 1);
    let order: Vec<i64> = server
        .requests()
        .iter()
        .flat_map(|r| r.json()["batch"].as_array().unwrap().clone())
        .map(|e| e["data"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(order, (0..30).collect::<Vec<i64>>());
}

/// The limits are checked for every request before the first is sent: a split operation with
/// one refused part sends nothing at all.
#[tokio::test]
async fn a_refused_part_sends_nothing() {
    let server = ok_server().await;
    let client = server.client().build().unwrap();
    // 250 plain channels fit; the encrypted channel's payload does not once encrypted.
    let mut names: Vec<String> = (0..250).map(|i| format!("room-{i}")).collect();
    names.push("private-encrypted-last".into());
    let err = client
        .trigger(names, "e", &"y".repeat(9_000))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    // A batch whose 23rd event is too large.
    let events: Vec<BatchEvent> = (0..25)
        .map(|i| {
            let data = if i == 22 {
                "z".repeat(10_241)
            } else {
                i.to_string()
            };
            BatchEvent::new(format!("c{i}"), "e", data.as_str()).unwrap()
        })
        .collect();
    let err = client.trigger_batch(events).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_eq!(server.connections(), 0);
    assert!(server.requests().is_empty());
}
