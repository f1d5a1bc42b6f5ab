//! For adapter authors: how a framework hands a request to the [`Endpoints`] and gets the
//! answer back. Apps never need this module; they configure [`Endpoints`] and mount them with
//! their framework's adapter crate.
//!
//! # Stability
//!
//! This module follows semantic versioning like the rest of `pusher-auth`: an incompatible
//! change to it is a breaking release of the crate, with a CHANGELOG line, so that an adapter
//! outside this workspace can depend on `pusher-auth` as any crate does. It is kept apart so
//! that apps never need it and its docs speak to adapter authors. Everything an app uses
//! ([`Endpoints`], the [`Authorizer`](crate::Authorizer), channel routes, sign-in, webhooks) is
//! outside it.
//!
//! # The steps, for one request
//!
//! 1. [`endpoint_at`] (a layer in front of other routes) or a route mounted at each path of
//!    [`mounts`] tells which endpoint a request is for;
//! 2. [`precheck`] refuses, before the body is read, what the head alone decides: the method
//!    (405), the content type (415), a declared length over the limit (413);
//! 3. the adapter reads at most [`body_limit`] bytes of body;
//! 4. [`answer`] parses the body, finds the user through the adapter's `find_user` (only when
//!    an authorizer or sign-in handler is about to be asked, never for a malformed request or
//!    a webhook), decides, signs, logs, and returns the [`Answer`] to send.
//!
//! ```
//! use pusher_auth::adapter::{self, UserLookup};
//! use pusher_auth::testing::AllowPrivate;
//! use pusher_auth::{Credentials, Endpoints};
//!
//! let endpoints = Endpoints::new(Credentials::new("key", "secret")?, AllowPrivate);
//! let (head, ()) = http::Request::post("/pusher/auth")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(())?
//!     .into_parts();
//! let endpoint = adapter::endpoint_at(&endpoints, head.uri.path()).expect("the default channel path");
//! let checked = adapter::precheck(&endpoints, endpoint, &head).expect("POST with a form body");
//! let body = b"socket_id=1.2&channel_name=private-a";
//! // AllowPrivate decides for `()`: no user to find.
//! let find_user = |head| async move { (head, UserLookup::Found(())) };
//! let answer = block_on(adapter::answer(&endpoints, checked, head, body, find_user));
//! assert_eq!(answer.status(), http::StatusCode::OK);
//! assert!(answer.body().starts_with(r#"{"auth":"key:"#));
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Answers
//!
//! Success is status 200 with the signed JSON. Refusals are
//! `{"error":{"code":"…","message":"…"}}`:
//!
//! | status | codes |
//! |---|---|
//! | 400 | `missing_field`, `duplicate_field`, `invalid_socket_id`, `invalid_channel_name`, `invalid_field_type`, `invalid_encoding`, `malformed_json`, `invalid_batch`, `batch_too_large`, `too_many_params`, `public_channel`, `body_read_error`, `invalid_request`, `invalid_body` (webhooks) |
//! | 401 | `wrong_key`, `malformed_signature`, `bad_signature`, `expired` (webhooks) |
//! | 403 | `forbidden` (not logged in, or denied: the reason is logged, never sent) |
//! | 405 | `method_not_allowed` (with `Allow: POST`) |
//! | 413 | `payload_too_large` |
//! | 415 | `unsupported_media_type` |
//! | 500 | `authorizer_error`, `misconfigured`, `webhook_handler_error` (details logged, never sent) |
//!
//! Every answer is `application/json` with `Cache-Control: no-store`.
//!
//! # Logs
//!
//! Every decision is a `tracing` event with target `pusher_auth`: allowed and denied requests
//! (a user who is not logged in included) at `DEBUG`, with the socket id, channel, kind and the
//! reason; malformed requests at `DEBUG`; refused webhooks at `WARN` (at most one line a
//! minute per refusal code, the rest at `DEBUG`); failures (an authorizer, sign-in or webhook
//! handler error, a user lookup that failed) and the app's own mistakes (`misconfigured`) at
//! `ERROR`. Every `WARN` and `ERROR` line a client can cause goes out at most once a minute per
//! kind, the next line saying how many were held back, so that a client cannot flood the log.
//! Secrets, signatures and shared secrets are never logged.

mod answer;
mod dispatch;
mod head;

use std::any::Any;
use std::future::Future;

use http::header::CONTENT_LENGTH;
use http::{Method, StatusCode};

pub use answer::Answer;
pub use head::{request_head, sender_socket, SOCKET_ID_HEADER};

pub use crate::request::{
    parse_channel_request, parse_signin_request, BatchEntry, BatchOutcome, BatchResponse,
    BodyFormat, ChannelAuthRequest, Channels, SigninAuthRequest,
};

use crate::authorizer::RequestHead;
use crate::Endpoints;

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// Channel authorization (pusher-js `channelAuthorization`), batches included.
    Channel,
    /// Sign-in (pusher-js `userAuthentication`).
    Signin,
    /// Webhooks from the Pusher server.
    Webhook,
}

impl Endpoint {
    /// A name for logs and route listings: `channel authorization`, `sign-in`, `webhooks`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Channel => "channel authorization",
            Endpoint::Signin => "sign-in",
            Endpoint::Webhook => "webhooks",
        }
    }
}

/// A request that passed [`precheck`]: its endpoint and body format, what [`answer`] needs
/// once the body has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prechecked {
    endpoint: Endpoint,
    format: Option<BodyFormat>,
}

impl Prechecked {
    /// The endpoint.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }
}

/// What an adapter found out about the request's user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserLookup<U> {
    /// The user.
    Found(U),
    /// Nobody is logged in (the extractor or guard refused with a 4xx, the login middleware
    /// found no user): every channel and sign-in is refused with a 403, logged at `DEBUG` as
    /// "not logged in" with this reason.
    Anonymous(String),
    /// Finding the user failed (a session store down, an extractor failing with a 5xx): 500
    /// `authorizer_error`, logged at `ERROR` with this reason.
    Failed(String),
    /// The app is set up so that no user can be found (a missing layer or middleware): 500
    /// `misconfigured`, logged at `ERROR` (at most once a minute) with this reason, which
    /// should name the fix.
    Misconfigured(String),
}

/// The user of an authorizer that needs none: `Some(())` when `U` is `()`, so that adapters
/// (and [`answer`]) never ask the request for it.
pub fn no_user<U: Clone + 'static>() -> Option<U> {
    (&() as &dyn Any).downcast_ref::<U>().cloned()
}

/// The user of a plain tower stack, from the request extensions: the login middleware
/// inserts `Option<U>` into **every** request, `Some` for a logged-in user and `None` for an
/// anonymous one, so that a missing middleware ([`UserLookup::Misconfigured`]) is not mistaken
/// for a visitor who is not logged in ([`UserLookup::Anonymous`]).
///
/// ```
/// use pusher_auth::adapter::{user_from_extensions, UserLookup};
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct User(u64);
///
/// let (mut head, ()) = http::Request::new(()).into_parts();
/// assert!(matches!(user_from_extensions::<User>(&head), UserLookup::Misconfigured(_)));
/// head.extensions.insert(None::<User>);
/// assert!(matches!(user_from_extensions::<User>(&head), UserLookup::Anonymous(_)));
/// head.extensions.insert(Some(User(7)));
/// assert_eq!(user_from_extensions::<User>(&head), UserLookup::Found(User(7)));
/// ```
pub fn user_from_extensions<U: Clone + Send + Sync + 'static>(head: &RequestHead) -> UserLookup<U> {
    if let Some(user) = no_user::<U>() {
        return UserLookup::Found(user);
    }
    let name = std::any::type_name::<U>();
    match head.extensions.get::<Option<U>>() {
        Some(Some(user)) => UserLookup::Found(user.clone()),
        Some(None) => UserLookup::Anonymous(format!(
            "the login middleware put `None::<{name}>` in the request extensions"
        )),
        None if head.extensions.get::<U>().is_some() => UserLookup::Misconfigured(format!(
            "the request extensions hold a `{name}` but no `Option<{name}>`: the login middleware must insert `Option<{name}>` into every request (`None` when nobody is logged in), so that a missing middleware is not taken for an anonymous visitor"
        )),
        None => UserLookup::Misconfigured(format!(
            "no `Option<{name}>` in the request extensions: add the login middleware that inserts it into every request (`None` when nobody is logged in) outside the pusher-auth layer, so that it runs first; with axum, mount the endpoints with `Router::pusher_auth`, which extracts `{name}` with `FromRequestParts`"
        )),
    }
}

/// Answers a misconfiguration that an adapter found outside the endpoints (a webhook extractor
/// with no verifier in the app's state): logs `what`, which should name the fix, at `ERROR` (at
/// most once a minute), and answers 500 `misconfigured`.
pub fn misconfigured(what: &str) -> Answer {
    crate::log::ADAPTER_MISCONFIGURED.log(
        crate::log::LogKind::Adapter,
        what,
        &"the app is set up wrong",
    );
    Answer::misconfigured()
}

/// Verifies a webhook outside the endpoints (the adapters' webhook extractors): `key` and
/// `signature` are the `X-Pusher-Key` and `X-Pusher-Signature` headers, `body` the raw body.
/// A refusal is logged (at `WARN` at most once a minute, else at `DEBUG`) and answered as the endpoints answer it: 401 for a wrong key
/// or signature or an expired webhook, 400 for a body that is not a webhook.
pub fn verify_webhook(
    verifier: &crate::webhook::WebhookVerifier,
    key: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<crate::webhook::Webhook, Answer> {
    let webhook = verifier
        .verify(key.unwrap_or_default(), signature.unwrap_or_default(), body)
        .map_err(|e| dispatch::webhook_refusal(&e))?;
    dispatch::log_odd_events(&webhook);
    Ok(webhook)
}

/// The endpoint answered at `path`, if any (for a layer in front of other routes).
pub fn endpoint_at<U>(endpoints: &Endpoints<U>, path: &str) -> Option<Endpoint> {
    if path == endpoints.channel_path() {
        Some(Endpoint::Channel)
    } else if endpoints.signin_path() == Some(path) {
        Some(Endpoint::Signin)
    } else if endpoints.webhook_path() == Some(path) {
        Some(Endpoint::Webhook)
    } else {
        None
    }
}

/// Every answered path with its endpoint: what to mount as routes.
///
/// # Panics
///
/// When two answered endpoints share a path (adapters call it when they mount the endpoints,
/// so a clash shows at start-up, whatever order the paths were set in).
#[track_caller]
#[allow(clippy::panic)]
pub fn mounts<U>(endpoints: &Endpoints<U>) -> Vec<(&str, Endpoint)> {
    let mounts: Vec<(&str, Endpoint)> = [
        Some((endpoints.channel_path(), Endpoint::Channel)),
        endpoints.signin_path().map(|p| (p, Endpoint::Signin)),
        endpoints.webhook_path().map(|p| (p, Endpoint::Webhook)),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (i, (path, endpoint)) in mounts.iter().enumerate() {
        if let Some((_, other)) = mounts.iter().skip(i + 1).find(|(p, _)| p == path) {
            panic!(
                "pusher-auth: the {} and {} endpoints are both at `{path}`",
                endpoint.name(),
                other.name()
            );
        }
    }
    mounts
}

/// The largest body to read for `endpoint`, in bytes.
pub fn body_limit<U>(endpoints: &Endpoints<U>, endpoint: Endpoint) -> usize {
    match endpoint {
        Endpoint::Webhook => endpoints.webhook_body_limit(),
        Endpoint::Channel | Endpoint::Signin => endpoints.body_limit(),
    }
}

/// What can be refused before the body is read: the method (405), the content type (415) and
/// a declared `Content-Length` over the limit (413).
pub fn precheck<U>(
    endpoints: &Endpoints<U>,
    endpoint: Endpoint,
    head: &RequestHead,
) -> Result<Prechecked, Answer> {
    if head.method != Method::POST {
        return Err(Answer::method_not_allowed());
    }
    let format = match endpoint {
        Endpoint::Webhook => None,
        Endpoint::Channel | Endpoint::Signin => Some(body_format(head)?),
    };
    let limit = body_limit(endpoints, endpoint);
    let declared = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Answer::payload_too_large(limit));
    }
    Ok(Prechecked { endpoint, format })
}

fn body_format(head: &RequestHead) -> Result<BodyFormat, Answer> {
    head.headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(BodyFormat::from_content_type)
        .ok_or_else(|| {
            Answer::refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/x-www-form-urlencoded or application/json",
            )
        })
}

/// Answers a prechecked request whose body has been read (at most [`body_limit`] bytes).
///
/// `find_user` is the adapter's way to the user: it gets the request head (to read and
/// extend, as extractors do) and gives it back with what it found. It runs at most once, only
/// when an authorizer or sign-in handler is about to be asked: after the request parsed, after
/// the refusals that need no user (a public channel), never for a webhook, and never when the
/// user type is `()`. A client's mistake is therefore answered the same way whether or not the
/// user's backend is up, and a batch of 100 channels costs one lookup.
pub async fn answer<U, F, Fut>(
    endpoints: &Endpoints<U>,
    checked: Prechecked,
    head: RequestHead,
    body: &[u8],
    find_user: F,
) -> Answer
where
    U: Clone + Send + Sync + 'static,
    F: FnOnce(RequestHead) -> Fut,
    Fut: Future<Output = (RequestHead, UserLookup<U>)>,
{
    dispatch::Engine::new(endpoints)
        .answer(checked, head, body, find_user)
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::cell::Cell;
    use std::convert::Infallible;

    use super::*;
    use crate::authorizer::{ChannelDecision, ChannelRequest};
    use crate::{ChannelRoutes, Credentials, PresenceMember, SigninRequest, UserData, UserId};

    const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

    fn block_on<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[derive(Clone, Debug, PartialEq)]
    struct User(&'static str);

    fn credentials() -> Credentials {
        Credentials::new("key", "secret")
            .unwrap()
            .with_encryption_master_key_base64(MASTER)
            .unwrap()
    }

    fn endpoints() -> Endpoints<User> {
        let routes = ChannelRoutes::new()
            .private("chat", |user: User, (): ()| async move { user.0 == "ann" })
            .presence("chat", |user: User, (): ()| async move {
                PresenceMember::new(UserId::new(user.0).unwrap())
            })
            .presence("big", |_: User, (): ()| async move {
                PresenceMember::new(UserId::new("u").unwrap())
                    .with_info(serde_json::json!({ "bio": "x".repeat(2000) }))
            });
        Endpoints::new(credentials(), routes).with_signin(|user: User, _: SigninRequest| async move {
            UserData::new(UserId::new(user.0).unwrap())
        })
    }

    fn head(path: &str) -> RequestHead {
        http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    /// Answers `body` at `path`, finding `lookup` as the user; counts the lookups.
    fn answer_with(
        endpoints: &Endpoints<User>,
        path: &str,
        body: &str,
        lookup: UserLookup<User>,
        lookups: &Cell<usize>,
    ) -> Answer {
        let head = head(path);
        let endpoint = endpoint_at(endpoints, path).unwrap();
        let checked = precheck(endpoints, endpoint, &head).unwrap();
        let find_user = |head| {
            lookups.set(lookups.get() + 1);
            async move { (head, lookup) }
        };
        block_on(answer(endpoints, checked, head, body.as_bytes(), find_user))
    }

    fn found() -> UserLookup<User> {
        UserLookup::Found(User("ann"))
    }

    #[test]
    fn the_head_alone_refuses_method_type_and_declared_length() {
        let endpoints = endpoints();
        let mut get = head("/pusher/auth");
        get.method = http::Method::GET;
        let refused = precheck(&endpoints, Endpoint::Channel, &get).unwrap_err();
        assert_eq!(
            (refused.status().as_u16(), refused.code()),
            (405, Some("method_not_allowed"))
        );
        let mut text = head("/pusher/auth");
        text.headers
            .insert("content-type", "text/plain".parse().unwrap());
        let refused = precheck(&endpoints, Endpoint::Channel, &text).unwrap_err();
        assert_eq!(refused.status().as_u16(), 415);
        let mut long = head("/pusher/auth");
        long.headers
            .insert("content-length", "16385".parse().unwrap());
        let refused = precheck(&endpoints, Endpoint::Channel, &long).unwrap_err();
        assert_eq!(refused.status().as_u16(), 413);
        // Webhooks take any content type, and have their own limit.
        long.headers
            .insert("content-length", "100000".parse().unwrap());
        assert!(precheck(&endpoints, Endpoint::Webhook, &long).is_ok());
    }

    #[test]
    fn each_user_lookup_outcome_has_its_answer() {
        let endpoints = endpoints();
        let body = "socket_id=1.2&channel_name=private-chat";
        let cases = [
            (found(), 200, None),
            (UserLookup::Found(User("bob")), 403, Some("forbidden")),
            (
                UserLookup::Anonymous("no session".into()),
                403,
                Some("forbidden"),
            ),
            (
                UserLookup::Failed("store down".into()),
                500,
                Some("authorizer_error"),
            ),
            (
                UserLookup::Misconfigured("no layer".into()),
                500,
                Some("misconfigured"),
            ),
        ];
        for (lookup, status, code) in cases {
            let lookups = Cell::new(0);
            let answer = answer_with(&endpoints, "/pusher/auth", body, lookup.clone(), &lookups);
            assert_eq!(
                (answer.status().as_u16(), answer.code()),
                (status, code),
                "{lookup:?}"
            );
            assert_eq!(lookups.get(), 1);
        }
    }

    #[test]
    fn the_user_is_looked_up_once_and_only_when_asked() {
        let endpoints = endpoints();
        let cases = [
            // Malformed, public: refused before any lookup.
            ("socket_id=1.2:&channel_name=private-chat", 400, 0),
            ("socket_id=1.2&channel_name=public", 400, 0),
            // A batch of three, one of them public: one lookup.
            ("socket_id=1.2&channel_name[0]=private-chat&channel_name[1]=presence-chat&channel_name[2]=public", 200, 1),
            // A batch with nothing left to decide: no lookup.
            ("socket_id=1.2&channel_name[0]=public&channel_name[1]=bad%20name", 200, 0),
        ];
        for (body, status, expected) in cases {
            let lookups = Cell::new(0);
            let answer = answer_with(&endpoints, "/pusher/auth", body, found(), &lookups);
            assert_eq!(
                answer.status().as_u16(),
                status,
                "{body}: {}",
                answer.body()
            );
            assert_eq!(lookups.get(), expected, "{body}");
        }
        // An authorizer for `()` never asks.
        let anyone = Endpoints::new(credentials(), |(): (), _: ChannelRequest| async {
            Ok::<_, Infallible>(ChannelDecision::Allow)
        });
        let head = head("/pusher/auth");
        let checked = precheck(&anyone, Endpoint::Channel, &head).unwrap();
        let find_user = |_: RequestHead| async { panic!("no user to find") };
        let answer = block_on(answer(
            &anyone,
            checked,
            head,
            b"socket_id=1.2&channel_name=private-a",
            find_user,
        ));
        assert_eq!(answer.status().as_u16(), 200);
    }

    #[test]
    fn an_anonymous_batch_refuses_each_channel_it_would_decide() {
        let lookups = Cell::new(0);
        let body = "socket_id=1.2&channel_name[0]=private-chat&channel_name[1]=public";
        let answer = answer_with(
            &endpoints(),
            "/pusher/auth",
            body,
            UserLookup::Anonymous("no".into()),
            &lookups,
        );
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(
            answer.body(),
            r#"{"private-chat":{"status":403},"public":{"status":400}}"#
        );
    }

    #[test]
    fn the_apps_mistakes_are_misconfigured_and_the_clients_are_not() {
        let lookups = Cell::new(0);
        // Member info over 1 KB.
        let big = answer_with(
            &endpoints(),
            "/pusher/auth",
            "socket_id=1.2&channel_name=presence-big",
            found(),
            &lookups,
        );
        assert_eq!(
            (big.status().as_u16(), big.code()),
            (500, Some("misconfigured"))
        );
        // Granting an encrypted channel without a master key.
        let keyless = Endpoints::new(
            Credentials::new("key", "secret").unwrap(),
            |_: User, _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) },
        );
        let granted = answer_with(
            &keyless,
            "/pusher/auth",
            "socket_id=1.2&channel_name=private-encrypted-a",
            found(),
            &lookups,
        );
        assert_eq!(
            (granted.status().as_u16(), granted.code()),
            (500, Some("misconfigured"))
        );
        // A `Misconfigured` wrapped in the authorizer's own error still counts.
        #[derive(Debug)]
        struct Wrapped(crate::Misconfigured);
        impl std::fmt::Display for Wrapped {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the channel store is not set up")
            }
        }
        impl std::error::Error for Wrapped {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapping = Endpoints::new(credentials(), |_: User, _: ChannelRequest| async {
            Err::<ChannelDecision, _>(Wrapped(crate::Misconfigured::new("no channel store")))
        });
        let wrapped = answer_with(
            &wrapping,
            "/pusher/auth",
            "socket_id=1.2&channel_name=private-a",
            found(),
            &lookups,
        );
        assert_eq!(
            (wrapped.status().as_u16(), wrapped.code()),
            (500, Some("misconfigured"))
        );
        // A presence member within the limit: signed.
        let signed = answer_with(
            &endpoints(),
            "/pusher/auth",
            "socket_id=1.2&channel_name=presence-chat",
            found(),
            &lookups,
        );
        assert_eq!(signed.status().as_u16(), 200, "{}", signed.body());
    }

    #[test]
    fn an_answers_debug_output_holds_no_shared_secret() {
        let lookups = Cell::new(0);
        let endpoints = Endpoints::new(credentials(), |_: User, _: ChannelRequest| async {
            Ok::<_, Infallible>(ChannelDecision::Allow)
        });
        let answer = answer_with(
            &endpoints,
            "/pusher/auth",
            "socket_id=1.2&channel_name=private-encrypted-a",
            found(),
            &lookups,
        );
        let body: serde_json::Value = serde_json::from_str(answer.body()).unwrap();
        let secret = body["shared_secret"].as_str().unwrap();
        let shown = format!("{answer:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("200"), "{shown}");
    }

    #[test]
    #[should_panic(
        expected = "grants private-encrypted- channels, but the credentials have no encryption master key"
    )]
    fn routes_granting_encrypted_channels_need_a_master_key() {
        let routes = ChannelRoutes::new().channel("chat", |_: User, (): ()| async { true });
        let _ = Endpoints::new(Credentials::new("key", "secret").unwrap(), routes);
    }

    #[test]
    fn sign_in_is_answered_only_with_a_handler() {
        let lookups = Cell::new(0);
        let signed_in = answer_with(
            &endpoints(),
            "/pusher/user-auth",
            "socket_id=1.2",
            found(),
            &lookups,
        );
        assert_eq!(signed_in.status().as_u16(), 200, "{}", signed_in.body());
        assert!(
            signed_in.body().contains(r#"\"id\":\"ann\""#),
            "{}",
            signed_in.body()
        );
        let anonymous = answer_with(
            &endpoints(),
            "/pusher/user-auth",
            "socket_id=1.2",
            UserLookup::Anonymous("no".into()),
            &lookups,
        );
        assert_eq!(anonymous.status().as_u16(), 403);
        let routes_only = Endpoints::new(credentials(), ChannelRoutes::<User>::new());
        assert_eq!(endpoint_at(&routes_only, "/pusher/user-auth"), None);
        assert_eq!(mounts(&routes_only), [("/pusher/auth", Endpoint::Channel)]);
    }

    #[test]
    fn mounts_refuse_two_endpoints_at_one_path() {
        let clash = endpoints().with_signin_path("/pusher/auth");
        let panic =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mounts(&clash))).unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(message, "pusher-auth: the channel authorization and sign-in endpoints are both at `/pusher/auth`");
    }
}
