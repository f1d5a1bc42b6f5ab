//! The bodies of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), kept in a crate of the
//! workspace so that the committed corpora also run as ordinary tests (`tests/corpus.rs`). Each
//! function must never panic, whatever the input; the properties it checks panic on purpose
//! when they do not hold.
#![allow(clippy::panic)]

use std::sync::OnceLock;

use pusher_auth::adapter::{parse_channel_request, parse_signin_request, BodyFormat, Channels};
use pusher_auth::{
    ChannelData, ChannelName, ChannelRequest, ChannelRoutes, Credentials, Limits, Params,
    SerializedUserData, SocketId, UserId, WebhookVerifier,
};

/// The request parsers, in both formats; an accepted request holds valid names.
pub fn request(data: &[u8]) {
    for format in [BodyFormat::Form, BodyFormat::Json] {
        if let Ok(req) = parse_channel_request(format, data, &Limits::default()) {
            if SocketId::new(req.socket_id().as_str()).is_err() {
                panic!("an accepted socket id does not validate");
            }
            if let Channels::Batch(entries) = req.channels() {
                if entries.len() > Limits::default().max_batch {
                    panic!("batch limit not enforced");
                }
            }
        }
        let _ = parse_signin_request(format, data, &Limits::default());
    }
}

/// The name validators and the URL parser; validation is consistent with display.
pub fn names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(channel) = ChannelName::new(text) {
        let rebuilt = format!(
            "{}{}",
            channel.kind().prefix(),
            channel.name_without_prefix()
        );
        if rebuilt != text {
            panic!("kind prefix and name do not rebuild the channel name");
        }
    }
    let _ = SocketId::new(text);
    let _ = UserId::new(text);
    let _ = Credentials::from_url(text);
    let _ = BodyFormat::from_content_type(text);
}

/// Webhook verification: the first byte picks the signature (correct, or taken from the input),
/// the rest is the body. A correct signature over junk is a body error, never a panic.
pub fn webhook(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(credentials) = Credentials::new("fuzz-key", "fuzz-secret") else {
        return;
    };
    let verifier = WebhookVerifier::new(credentials.clone()).without_max_age();
    let (signature, body) = if mode % 2 == 0 {
        (credentials.sign_hex(rest), rest)
    } else {
        let split = rest.len().min(usize::from(mode) % 80);
        let (sig, body) = rest.split_at(split);
        (String::from_utf8_lossy(sig).into_owned(), body)
    };
    let _ = verifier.verify("fuzz-key", &signature, body);
    let _ = verifier.verify(&String::from_utf8_lossy(rest), &signature, body);
}

/// A parameter type with an enum, for route parameters.
#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Team {
    Red,
    Blue,
}

/// Named parameters into a struct.
#[derive(serde::Deserialize)]
struct Seat {
    row: u8,
    seat: u16,
}

/// Routes whose parameters are every shape the deserializer handles: one number, a string, an
/// enum, a tuple, a struct, a signed number, a boolean, an optional value.
fn routes() -> &'static ChannelRoutes<()> {
    static ROUTES: OnceLock<ChannelRoutes<()>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        ChannelRoutes::new()
            .private("n.{id}", |(): (), id: u64| async move { id % 2 == 0 })
            .private("s.{name}", |(): (), name: String| async move {
                !name.is_empty()
            })
            .private("t.{team}", |(): (), team: Team| async move {
                matches!(team, Team::Red | Team::Blue)
            })
            .private(
                "g-{a}-{b}.{c}",
                |(): (), (a, b, c): (i32, String, bool)| async move { a > 0 || b.len() > 1 || c },
            )
            .private("seat.{row}.{seat}", |(): (), s: Seat| async move {
                s.row < 10 && s.seat > 0
            })
            .private("o.{x}", |(): (), x: Option<f64>| async move {
                x.is_some_and(f64::is_finite)
            })
            .private("{a}.{b}.{c}.{d}", |(): (), _: serde_json::Value| async {
                true
            })
    })
}

/// Channel route matching and parameter parsing: any name the protocol accepts is decided (or
/// denied) without a panic and without an error (an error is a 500: never the client's doing).
pub fn route_params(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(channel) = ChannelName::new(format!("private-{text}")) else {
        return;
    };
    let (head, ()) = pusher_auth::http::Request::new(()).into_parts();
    let request = ChannelRequest::new(
        pusher_auth::testing::socket_id(),
        channel,
        Params::default(),
        head,
    );
    let decided = block_on(pusher_auth::Authorizer::authorize(routes(), (), request));
    if let Err(e) = decided {
        panic!("a client's channel name made the routes fail: {e}");
    }
}

/// Pre-serialized presence and sign-in data: whatever the validators accept signs, and reads
/// back as the same bytes.
pub fn channel_data(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(credentials) = Credentials::new("fuzz-key", "fuzz-secret") else {
        return;
    };
    let socket = pusher_auth::testing::socket_id();
    if let Ok(member) = ChannelData::new(text) {
        if member.as_str() != text {
            panic!("accepted channel_data is not kept byte for byte");
        }
        let Ok(channel) = ChannelName::new("presence-fuzz") else {
            return;
        };
        if credentials
            .authorize_presence(&socket, &channel, &member)
            .is_err()
        {
            panic!("accepted channel_data does not sign");
        }
    }
    if let Ok(user) = SerializedUserData::new(text) {
        if user.as_str() != text {
            panic!("accepted user_data is not kept byte for byte");
        }
        let _ = credentials.authenticate_user(&socket, &user);
    }
}

/// Polls a future that never waits on I/O to completion.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A current-thread runtime for the REST client's futures.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("a runtime: {e}"))
    })
}

/// The REST client's answers: the input (JSON, or a JSON string of the text when it is not
/// JSON) is the server's answer to each operation that reads one, through the recording
/// client's full path (status, decoding, the typed answer). Whatever a server answers is a
/// value or an [`pusher_rest::Error::Decode`], never a panic.
pub fn rest_answers(data: &[u8]) {
    let answer = serde_json::from_slice::<serde_json::Value>(data)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(data).into_owned()));
    let (client, recorder) = pusher_rest::Client::recording();
    let info = pusher_rest::Info::new().subscription_count().user_count();
    runtime().block_on(async {
        let decoded = |what: &str, result: Result<(), pusher_rest::Error>| match result {
            Ok(()) | Err(pusher_rest::Error::Decode { .. }) => {}
            Err(other) => panic!("{what}: an answer made another error than Decode: {other:?}"),
        };
        recorder.answer_next(answer.clone());
        let r = client
            .trigger("presence-a", "e", "x")
            .info(info)
            .send()
            .await;
        decoded("trigger", r.map(|_| ()));
        recorder.answer_next(answer.clone());
        let events = vec![pusher_rest::BatchEvent::new("private-a", "e", "x")
            .unwrap_or_else(|e| panic!("a valid event: {e}"))
            .info(info)];
        decoded(
            "trigger_batch",
            client.trigger_batch(events).await.map(|_| ()),
        );
        recorder.answer_next(answer.clone());
        decoded(
            "channels",
            client.channels().info(info).send().await.map(|_| ()),
        );
        recorder.answer_next(answer.clone());
        decoded(
            "channel_info",
            client.channel_info("presence-a", info).await.map(|_| ()),
        );
        recorder.answer_next(answer.clone());
        decoded(
            "presence_users",
            client.presence_users("presence-a").await.map(|_| ()),
        );
    });
}

/// The REST client's errors: the input is the body of an error answer (the first byte picks
/// the status), with a signed query string planted in it as a server that echoes the request
/// would. The error keeps the status, holds at most [`pusher_rest::MAX_ERROR_BODY`] bytes of
/// the body, and never the planted signature.
pub fn rest_errors(data: &[u8]) {
    const SIGNATURE: &str = "5f1b0c0e2bd0a1d3c6e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9";
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let status = 400 + u16::from(pick) % 200;
    let text = String::from_utf8_lossy(rest);
    let at = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .nth(usize::from(pick) % (text.chars().count() + 1))
        .unwrap_or(0);
    let (before, after) = text.split_at(at);
    let planted = match pick % 3 {
        0 => format!("?auth_key=k&auth_timestamp=1&auth_version=1.0&auth_signature={SIGNATURE}"),
        1 => format!("%3Fauth_signature%3D{SIGNATURE}%26auth_key%3Dk"),
        _ => format!("\\u003fbody_md5=0&auth_signature={SIGNATURE}"),
    };
    let body = format!("{before}{planted}{after}");
    let (client, recorder) = pusher_rest::Client::recording();
    recorder.fail_next(pusher_rest::testing::Failure::status(status, body));
    let result = runtime().block_on(client.trigger("private-a", "e", "x").send());
    let error = match result {
        Err(e) => e,
        Ok(_) => panic!("a scripted failure was answered as a success"),
    };
    let shown = format!("{error} {error:?}");
    if shown.contains(SIGNATURE) {
        panic!("the planted signature survived redaction: {shown}");
    }
    match &error {
        pusher_rest::Error::Status {
            status: s, body, ..
        } => {
            if *s != status {
                panic!("status {s} where {status} was answered");
            }
            if body.len() > pusher_rest::MAX_ERROR_BODY {
                panic!("an error body of {} bytes", body.len());
            }
        }
        other => panic!("an error answer made another error than Status: {other:?}"),
    }
}
