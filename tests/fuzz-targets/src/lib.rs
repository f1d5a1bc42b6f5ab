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
