//! Every operation against a real sockudo server, with a pusher-js client (in Node) subscribed
//! to check what arrives: plain, presence and encrypted channels, a split trigger, exclusion,
//! batches, channel queries, presence members, sending to a user, terminating a user's
//! connections, and the server's 4xx answers.
//!
//! Needs `SOCKUDO_BIN` (set by `scripts/test`, the path `scripts/install-sockudo` prints) and
//! the Node packages of `tests/js` (`scripts/install-test-tools`); without them the test fails
//! and says so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pusher_rest::{BatchEvent, Client, Credentials, Error, Info, UserId};
use serde_json::{json, Value};

const APP_ID: &str = "rest-app";
const KEY: &str = "rest-key";
const SECRET: &str = "rest-secret";
const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";
const USER: &str = "rest-user";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A sockudo process, killed on drop.
struct Sockudo {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sockudo {
    fn start() -> Sockudo {
        let bin = std::env::var_os("SOCKUDO_BIN").unwrap_or_else(|| {
            panic!(
                "SOCKUDO_BIN is not set: this test runs against a real sockudo 5.2.0. Run it \
                 through scripts/test, or set SOCKUDO_BIN to the path scripts/install-sockudo prints"
            )
        });
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "SOCKUDO_BIN={} does not exist; run scripts/install-sockudo",
            bin.display()
        );
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("pusher-rest-sockudo-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = json!({
            "host": "127.0.0.1",
            "port": port,
            "queue": {"driver": "memory"},
            "metrics": {"enabled": false},
            "rate_limiter": {"enabled": false},
            "app_manager": {"driver": "memory", "array": {"apps": [{
                "id": APP_ID, "key": KEY, "secret": SECRET, "enabled": true,
                "policy": {"features": {"enable_client_messages": true, "enable_user_authentication": true}}
            }]}}
        });
        let config_file = dir.join("sockudo.json");
        std::fs::write(&config_file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.join("sockudo.log")).unwrap();
        let child = Command::new(&bin)
            .arg("--config")
            .arg(&config_file)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut sockudo = Sockudo { child, port, dir };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = sockudo.child.try_wait().unwrap() {
                panic!("sockudo exited with {status}:\n{}", sockudo.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "sockudo did not listen on {port} within 30 s:\n{}",
                sockudo.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sockudo
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("sockudo.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn client(&self) -> pusher_rest::ClientBuilder {
        Client::builder(
            Credentials::new(KEY, SECRET)
                .unwrap()
                .with_app_id(APP_ID)
                .unwrap()
                .with_encryption_master_key_base64(MASTER)
                .unwrap(),
        )
        .host("127.0.0.1")
        .port(self.port)
        .timeout(Duration::from_secs(5))
    }
}

impl Drop for Sockudo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The pusher-js client of `tests/js/rest-subscriber.js`, killed on drop.
struct Subscriber {
    child: Child,
    lines: mpsc::Receiver<Value>,
    socket_id: String,
}

impl Subscriber {
    fn start(port: u16, channels: &[String]) -> Subscriber {
        let dir = root().join("tests/js");
        assert!(
            dir.join("node_modules/pusher-js/package.json").exists(),
            "pusher-js is not installed in tests/js; run scripts/install-test-tools"
        );
        let mut child = Command::new("node")
            .arg("rest-subscriber.js")
            .current_dir(&dir)
            .env("WS_PORT", port.to_string())
            .env("APP_ID", APP_ID)
            .env("APP_KEY", KEY)
            .env("APP_SECRET", SECRET)
            .env("MASTER_KEY_BASE64", MASTER)
            .env("USER_ID", USER)
            .env("CHANNELS", channels.join(","))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}; run scripts/install-test-tools"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        let mut subscriber = Subscriber {
            child,
            lines,
            socket_id: String::new(),
        };
        let ready = subscriber.next(Duration::from_secs(30), |v| {
            v.get("ready").is_some() || v.get("error").is_some()
        });
        assert!(ready.get("error").is_none(), "subscriber failed: {ready}");
        subscriber.socket_id = ready["ready"].as_str().unwrap().to_owned();
        subscriber
    }

    /// The next line matching `wanted`; every other line read meanwhile is returned too.
    fn next(&self, within: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
        self.collect_until(within, wanted).0
    }

    fn collect_until(
        &self,
        within: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if wanted(&v) => return (v, seen),
                Ok(v) => seen.push(v),
                Err(_) => panic!("nothing matching arrived within {within:?}; seen: {seen:?}"),
            }
        }
    }

    /// The next `n` channel events, in the order they arrived.
    fn events(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        let mut events = Vec::new();
        while events.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if v.get("channel").is_some() => events.push(v),
                Ok(v) if v.get("error").is_some() => panic!("subscriber error: {v}"),
                Ok(_) => {}
                Err(_) => panic!(
                    "{} of {n} events arrived within {within:?}: {events:?}",
                    events.len()
                ),
            }
        }
        events
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs anything awaitable (operations and their builders) to completion.
fn block<F: std::future::IntoFuture>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    rt.block_on(f.into_future())
}

#[test]
fn sockudo_5_2_0_supports_every_operation() {
    let sockudo = Sockudo::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = sockudo.client().build().unwrap();
    let many: Vec<String> = (0..150).map(|i| format!("many-{i}")).collect();
    let mut channels: Vec<String> = [
        "public-1",
        "private-2",
        "presence-room",
        "private-encrypted-a",
        "private-encrypted-b",
    ]
    .map(String::from)
    .to_vec();
    channels.extend(many.iter().cloned());
    let sub = Subscriber::start(sockudo.port, &channels);
    let short = Duration::from_secs(10);

    // 1. One trigger on plain, private and two encrypted channels: four requests, and every
    //    channel receives the same value (pusher-js decrypts the encrypted ones).
    let data = json!({"text": "hello", "n": 1});
    let answer = block(
        &rt,
        client.trigger(
            [
                "public-1",
                "private-encrypted-a",
                "private-2",
                "private-encrypted-b",
            ],
            "mixed",
            &data,
        ),
    )
    .unwrap();
    assert!(answer.channels.is_empty());
    let mut got: Vec<(String, Value)> = sub
        .events(4, short)
        .into_iter()
        .map(|e| {
            assert_eq!(e["event"], "mixed", "{e}");
            (e["channel"].as_str().unwrap().to_owned(), e["data"].clone())
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            "private-2",
            "private-encrypted-a",
            "private-encrypted-b",
            "public-1"
        ]
        .map(|c| (c.to_owned(), data.clone()))
    );

    // 2. 150 channels: two requests; every channel receives it; info is reported.
    let answer = block(
        &rt,
        client
            .trigger(&many, "many", "raw text")
            .info(Info::new().subscription_count()),
    )
    .unwrap();
    let events = sub.events(150, short);
    let mut names: Vec<&str> = events
        .iter()
        .map(|e| e["channel"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = many.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(events.iter().all(|e| e["data"] == "raw text"));
    assert_eq!(answer.channels.len(), 150, "{answer:?}");
    assert_eq!(
        answer.channel("many-149").unwrap().subscription_count,
        Some(1)
    );

    // 3. Excluding the subscriber's own socket: it does not receive that event.
    let socket: pusher_rest::SocketId = sub.socket_id.parse().unwrap();
    block(
        &rt,
        client.trigger("public-1", "excluded", "x").exclude(socket),
    )
    .unwrap();
    block(&rt, client.trigger("public-1", "after", "y")).unwrap();
    let (after, before) = sub.collect_until(short, |v| v["event"] == "after");
    assert_eq!(after["data"], "y");
    assert!(
        before.iter().all(|v| v["event"] != "excluded"),
        "{before:?}"
    );

    // 4. A batch of 25: three requests, in order, with the attributes asked for.
    let batch: Vec<BatchEvent> = (0..25)
        .map(|i| {
            let channel = if i % 5 == 4 {
                "private-encrypted-a"
            } else {
                "public-1"
            };
            let e = BatchEvent::new(channel, "batch", &json!({ "i": i })).unwrap();
            if i == 3 {
                e.info(Info::new().subscription_count())
            } else {
                e
            }
        })
        .collect();
    let answer = block(&rt, client.trigger_batch(batch)).unwrap();
    assert_eq!(answer.attributes.len(), 25);
    assert_eq!(
        answer.attributes[3].subscription_count,
        Some(1),
        "{answer:?}"
    );
    let received: Vec<i64> = sub
        .events(25, short)
        .iter()
        .map(|e| e["data"]["i"].as_i64().unwrap())
        .collect();
    assert_eq!(received, (0..25).collect::<Vec<_>>());

    // 5. Channel queries.
    let list = block(&rt, client.channels()).unwrap();
    for name in [
        "public-1",
        "private-2",
        "presence-room",
        "many-0",
        "private-encrypted-b",
    ] {
        assert!(
            list.channels.contains_key(name),
            "{name} not in {:?}",
            list.channels.keys()
        );
    }
    let presence = block(
        &rt,
        client
            .channels()
            .filter_by_prefix("presence-")
            .info(Info::new().user_count()),
    )
    .unwrap();
    assert_eq!(
        presence.channels.keys().collect::<Vec<_>>(),
        ["presence-room"]
    );
    assert_eq!(presence.channels["presence-room"].user_count, Some(1));
    let info = block(
        &rt,
        client.channel_info("public-1", Info::new().subscription_count()),
    )
    .unwrap();
    assert!(info.occupied);
    assert_eq!(info.subscription_count, Some(1));
    let info = block(
        &rt,
        client.channel_info("presence-room", Info::new().user_count()),
    )
    .unwrap();
    assert_eq!(info.user_count, Some(1));
    let empty = block(&rt, client.channel_info("nobody-here", Info::new())).unwrap();
    assert!(!empty.occupied);

    // 6. Presence members.
    let users = block(&rt, client.presence_users("presence-room")).unwrap();
    assert_eq!(users, [UserId::new(USER).unwrap()]);
    assert!(block(&rt, client.presence_users("presence-empty"))
        .unwrap()
        .is_empty());

    // 7. To the signed-in user.
    let user = UserId::new(USER).unwrap();
    block(
        &rt,
        client.send_to_user(&user, "notice", &json!({"unread": 3})),
    )
    .unwrap();
    let notice = sub.next(short, |v| v.get("user_event").is_some());
    assert_eq!(
        notice,
        json!({"user_event": "notice", "data": {"unread": 3}})
    );

    // 8. 4xx answers from the server, as typed errors.
    let wrong_secret = Client::builder(
        Credentials::new(KEY, "not-the-secret")
            .unwrap()
            .with_app_id(APP_ID)
            .unwrap(),
    )
    .host("127.0.0.1")
    .port(sockudo.port)
    .build()
    .unwrap();
    match block(&rt, wrong_secret.trigger("public-1", "e", "x")).unwrap_err() {
        Error::Status { status, body, .. } => {
            assert_eq!(status.as_u16(), 401, "{body}");
            assert!(!body.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let wrong_app = Client::builder(
        Credentials::new(KEY, SECRET)
            .unwrap()
            .with_app_id("another-app")
            .unwrap(),
    )
    .host("127.0.0.1")
    .port(sockudo.port)
    .build()
    .unwrap();
    let status = block(&rt, wrong_app.channels())
        .unwrap_err()
        .status()
        .unwrap();
    assert!(status.is_client_error(), "{status}");
    // The server's own limits still apply where the client has none of its own: user_count
    // on a non-presence channel.
    let err = block(
        &rt,
        client.channel_info("public-1", Info::new().user_count()),
    )
    .unwrap_err();
    assert!(err.status().unwrap().is_client_error(), "{err}");

    // 9. Terminating the user's connections closes the subscriber's connection.
    block(&rt, client.terminate_user_connections(&user)).unwrap();
    let state = sub.next(short, |v| v.get("state").is_some());
    assert_ne!(state["state"], "connected", "{state}");

    drop(sub);
    drop(sockudo);
}
