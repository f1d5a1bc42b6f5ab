//! actix-web integration for pusher-auth.
//!
//! ```toml
//! [dependencies]
//! pusher-auth-actix-web = "0.1"
//! ```
//!
//! actix-web is not built on tower, so this crate answers the same endpoints natively, with
//! the same [`Endpoints`] configuration and logic as every other adapter: the same routes,
//! statuses, error codes and JSON bytes, and the same portable authorizer. Your session or
//! identity extractor (actix-identity, actix-session, your own) finds the user once per
//! request, given to [`PusherAuthRoutes::with_extractor`]. It runs on the request's head only
//! (the body is the endpoint's to read), so an extractor that reads the body (`web::Json`,
//! `web::Form`) sees an empty one:
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use pusher_auth_actix_web::prelude::*;
//!
//! /// The logged-in user, as your identity or session extractor knows it.
//! #[derive(Clone)]
//! struct User { id: u64 }
//!
//! # async fn run() -> std::io::Result<()> {
//! let routes = ChannelRoutes::new()
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 100 == user.id });
//! let endpoints = Endpoints::new(Credentials::new("key", "secret").unwrap(), routes)
//!     .with_signin(|user: User, _: SigninRequest| async move { UserData::new(UserId::from(user.id)) })
//!     .with_channel_path("/channels/authorize");
//! let pusher = PusherAuthRoutes::new(endpoints)
//!     // Any actix extractor: here the `x-user-id` header; in a real app
//!     // `actix_identity::Identity` (see the crate README).
//!     .with_extractor(|req: actix_web::HttpRequest| {
//!         req.headers().get("x-user-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).map(|id| User { id })
//!     });
//!
//! HttpServer::new(move || App::new().configure(|cfg| pusher.configure(cfg)))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! # }
//! ```
//!
//! # Users and statuses
//!
//! The extractor runs once per request, once the body has parsed (never for a malformed
//! request or a webhook), and its value goes through your `map` to the user type:
//!
//! | the extractor… | answer | log |
//! |---|---|---|
//! | succeeds, `map` gives `Some(user)` | the authorizer decides | `DEBUG` |
//! | succeeds, `map` gives `None`, or rejects with a 4xx (actix-identity's 401: no identity) | 403, not logged in | `DEBUG` "not logged in" |
//! | rejects with a 5xx (a store down) | 500 `authorizer_error` | `ERROR` |
//! | panics (actix-identity without `IdentityMiddleware`) | 500 `misconfigured` | `ERROR` (at most one a minute) |
//!
//! A panicking extractor is caught so that the client gets an answer, but the process's panic
//! hook has already run: the default hook prints the panic message to stderr each time, before
//! the `ERROR` line.
//!
//! One mistake cannot be told from a visitor: actix-session without its `SessionMiddleware`
//! gives every request an empty session (it never fails), so actix-identity then finds no
//! identity, and every request is a 403 "not logged in". Test your login flow once.
//!
//! An authorizer for `()` needs no extractor; for any other user type, [`configure`]
//! without [`with_extractor`] panics at start-up, naming the fix.
//!
//! [`configure`]: PusherAuthRoutes::configure
//! [`with_extractor`]: PusherAuthRoutes::with_extractor
//!
//! # Features
//!
//! - `testing`: `pusher_auth::testing` (reached as `pusher_auth_actix_web::pusher_auth::testing`):
//!   verify answers as a Pusher server would, build signed webhook requests.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use actix_web::http::StatusCode as ActixStatus;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::FutureExt;
use pusher_auth::adapter::{self, Answer, Endpoint, UserLookup};
use pusher_auth::webhook::{Webhook, WebhookVerifier};
use pusher_auth::{Endpoints, SocketId, DEFAULT_WEBHOOK_BODY_LIMIT};

pub use pusher_auth;

/// What an app usually needs, in one import: the endpoints and their decisions, the routes,
/// the extractors, and the webhook types.
pub mod prelude {
    pub use crate::{PusherAuthRoutes, Refusal, SenderSocket, VerifiedWebhook};
    pub use pusher_auth::{
        Access, Authorizer, ChannelDecision, ChannelKind, ChannelName, ChannelRequest,
        ChannelRoutes, Credentials, Endpoints, Membership, PresenceMember, Signin, SigninDecision,
        SigninRequest, SocketId, UserData, UserId, Webhook, WebhookEvent, WebhookVerifier,
    };
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;
/// Runs the extractor and the map: what they say about the user.
type Extractor<U> = Arc<dyn Fn(HttpRequest) -> LocalFuture<UserLookup<U>> + Send + Sync>;

/// The Pusher auth endpoints of an actix-web app, registered as routes with
/// [`PusherAuthRoutes::configure`]. Cheap to clone (reference counts), as `HttpServer::new`'s
/// factory does once per worker.
pub struct PusherAuthRoutes<U> {
    endpoints: Endpoints<U>,
    extractor: Option<Extractor<U>>,
}

impl<U> Clone for PusherAuthRoutes<U> {
    fn clone(&self) -> Self {
        PusherAuthRoutes {
            endpoints: self.endpoints.clone(),
            extractor: self.extractor.clone(),
        }
    }
}

impl<U> std::fmt::Debug for PusherAuthRoutes<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherAuthRoutes")
            .field("endpoints", &self.endpoints)
            .field("extractor", &self.extractor.is_some())
            .finish()
    }
}

impl<U> From<Endpoints<U>> for PusherAuthRoutes<U> {
    fn from(endpoints: Endpoints<U>) -> Self {
        PusherAuthRoutes {
            endpoints,
            extractor: None,
        }
    }
}

impl<U: Clone + Send + Sync + 'static> PusherAuthRoutes<U> {
    /// The routes of `endpoints`.
    pub fn new(endpoints: Endpoints<U>) -> Self {
        Self::from(endpoints)
    }

    /// Finds the user with the actix extractor `E`, once per request: `map` turns what it
    /// extracted into the user (`Some`), or says nobody is logged in (`None`). A second call
    /// replaces the first; to combine extractors, extract a tuple.
    ///
    /// actix extractors are often `!Send` (sessions, identities); `map` turns what they hold
    /// into the plain user type the authorizer decides for. See the [crate docs](crate) for
    /// what each outcome answers.
    ///
    /// ```
    /// use actix_identity::Identity;
    /// use pusher_auth_actix_web::prelude::*;
    ///
    /// #[derive(Clone)]
    /// struct User { id: u64 }
    ///
    /// let routes = ChannelRoutes::new().private("chat", |_user: User, (): ()| async { true });
    /// let endpoints = Endpoints::new(Credentials::new("key", "secret")?, routes);
    /// let pusher = PusherAuthRoutes::new(endpoints)
    ///     .with_extractor(|identity: Identity| identity.id().ok()?.parse().ok().map(|id| User { id }));
    /// # let _ = pusher;
    /// # Ok::<(), pusher_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_extractor<E, F, R>(mut self, map: F) -> Self
    where
        E: FromRequest + 'static,
        F: Fn(E) -> R + Send + Sync + 'static,
        R: Into<Option<U>>,
    {
        let map = Arc::new(map);
        let extractor: Extractor<U> = Arc::new(move |req: HttpRequest| {
            let map = Arc::clone(&map);
            let found = async move {
                let name = std::any::type_name::<E>();
                match E::extract(&req).await {
                    Ok(extracted) => match map(extracted).into() {
                        Some(user) => UserLookup::Found(user),
                        None => UserLookup::Anonymous(format!("no user in the {name} extracted")),
                    },
                    Err(e) => {
                        let e: actix_web::Error = e.into();
                        let status = e.as_response_error().status_code();
                        if status.is_server_error() {
                            UserLookup::Failed(format!(
                                "the extractor {name} failed with {status}: its backend is down, or its middleware is missing"
                            ))
                        } else {
                            UserLookup::Anonymous(format!(
                                "{name} rejected the request with {status}"
                            ))
                        }
                    }
                }
            };
            // An extractor whose middleware is missing may panic (actix-identity does): the
            // app's mistake, answered 500 `misconfigured` instead of a dropped connection.
            Box::pin(async move {
                AssertUnwindSafe(found).catch_unwind().await.unwrap_or_else(|_| {
                    UserLookup::Misconfigured(format!(
                        "the extractor {} (or the map given with it) panicked: a middleware it needs is missing from `App::wrap` (for actix-identity, `IdentityMiddleware` and, outside it, actix-session's `SessionMiddleware`), or the extractor or map has a bug",
                        std::any::type_name::<E>()
                    ))
                })
            })
        });
        self.extractor = Some(extractor);
        self
    }

    /// Registers the endpoints as routes: `App::new().configure(|cfg| pusher.configure(cfg))`.
    ///
    /// # Panics
    ///
    /// When the authorizer decides for a user type other than `()` and no extractor finds it
    /// ([`with_extractor`](Self::with_extractor)), or when two answered endpoints share a
    /// path.
    #[track_caller]
    #[allow(clippy::panic)]
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        if self.extractor.is_none() && adapter::no_user::<U>().is_none() {
            panic!(
                "pusher-auth: the authorizer decides for `{}`, but nothing finds that user: add `.with_extractor(|identity: Identity| …)` (any actix-web extractor) to the PusherAuthRoutes",
                std::any::type_name::<U>()
            );
        }
        for (path, endpoint) in adapter::mounts(&self.endpoints) {
            let this = self.clone();
            // actix-web matches the percent-decoded path (`/pusher/%61uth` is `/pusher/auth`);
            // only the configured path, as sent, is answered, as under every other adapter.
            // (A scope's prefix comes before it, hence `ends_with`.)
            let exact = path.to_owned();
            cfg.service(
                web::resource(path)
                    .guard(actix_web::guard::fn_guard(move |ctx| {
                        let sent = ctx.head().uri.path();
                        sent.strip_suffix(exact.as_str())
                            .is_some_and(|prefix| !prefix.ends_with('/'))
                    }))
                    .to(move |req: HttpRequest, payload: web::Payload| {
                        let this = this.clone();
                        async move { this.answer(endpoint, req, payload).await }
                    }),
            );
        }
    }

    async fn answer(
        &self,
        endpoint: Endpoint,
        req: HttpRequest,
        payload: web::Payload,
    ) -> HttpResponse {
        let endpoints = &self.endpoints;
        let Some(head) = request_head(&req) else {
            return respond(Answer::invalid_request());
        };
        let checked = match adapter::precheck(endpoints, endpoint, &head) {
            Ok(checked) => checked,
            Err(refusal) => return respond(refusal),
        };
        let body = match read(payload, adapter::body_limit(endpoints, endpoint)).await {
            Ok(body) => body,
            Err(refusal) => return respond(refusal),
        };
        let extractor = self.extractor.clone();
        let find_user = |head| async move {
            let user = match extractor {
                Some(extractor) => extractor(req).await,
                None => UserLookup::Misconfigured(String::from(
                    "no extractor finds the user: give one with `PusherAuthRoutes::with_extractor`",
                )),
            };
            (head, user)
        };
        respond(adapter::answer(endpoints, checked, head, &body, find_user).await)
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &Endpoints<U> {
        &self.endpoints
    }
}

/// Reads at most `limit` bytes of body: 413 beyond, 400 when the connection fails.
async fn read(payload: web::Payload, limit: usize) -> Result<web::Bytes, Answer> {
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => {
            tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
            Err(Answer::body_read_error())
        }
        Err(_) => Err(Answer::payload_too_large(limit)),
    }
}

/// The actix request head as `http::request::Parts`; `None` when it does not convert.
fn request_head(req: &HttpRequest) -> Option<http::request::Parts> {
    let version = match req.version() {
        actix_web::http::Version::HTTP_09 => http::Version::HTTP_09,
        actix_web::http::Version::HTTP_10 => http::Version::HTTP_10,
        actix_web::http::Version::HTTP_2 => http::Version::HTTP_2,
        actix_web::http::Version::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    adapter::request_head(
        req.method().as_str(),
        &req.uri().to_string(),
        version,
        req.headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}

fn respond(answer: Answer) -> HttpResponse {
    let status = ActixStatus::from_u16(answer.status().as_u16())
        .unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers() {
        response.insert_header((name.as_str(), value.as_bytes()));
    }
    response.body(answer.into_body())
}

/// A request refused by one of this crate's extractors ([`SenderSocket`],
/// [`VerifiedWebhook`]): answered with the endpoints' JSON refusal and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(Answer);

impl Refusal {
    /// The HTTP status sent.
    pub fn status(&self) -> http::StatusCode {
        self.0.status()
    }

    /// The error code sent (`{"error":{"code":…}}`), as the endpoints' table documents it.
    pub fn code(&self) -> Option<&'static str> {
        self.0.code()
    }

    /// The JSON body sent.
    pub fn body(&self) -> &str {
        self.0.body()
    }

    /// The answer sent, for adapters ([`pusher_auth::adapter`]).
    pub fn answer(&self) -> &Answer {
        &self.0
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.0.status().as_u16(),
            self.0.code().unwrap_or("refused")
        )
    }
}

impl std::error::Error for Refusal {}

impl ResponseError for Refusal {
    fn status_code(&self) -> ActixStatus {
        ActixStatus::from_u16(self.0.status().as_u16())
            .unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        respond(self.0.clone())
    }
}

/// The sender's connection from Laravel Echo's `X-Socket-ID` header, to exclude it when
/// publishing (Laravel's `toOthers()`): `None` when the header is absent; a header that is not
/// a socket id is a 400 `invalid_socket_id` ([`Refusal`]).
///
/// The header is the client's word: to exclude only a connection the session was authorized
/// for, check it against what your authorizer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderSocket(pub Option<SocketId>);

impl FromRequest for SenderSocket {
    type Error = Refusal;
    type Future = std::future::Ready<Result<Self, Refusal>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let value = req.headers().get(adapter::SOCKET_ID_HEADER);
        std::future::ready(
            adapter::sender_socket(value.map(|v| v.as_bytes()))
                .map(SenderSocket)
                .map_err(Refusal),
        )
    }
}

/// A webhook from the Pusher server, verified: an extractor for an ordinary route of your app,
/// so the handler takes `web::Data<…>` and anything else actix-web extracts. The verifier is
/// app data: `App::app_data(web::Data::new(WebhookVerifier::new(credentials)))` (without it,
/// a 500 `misconfigured`).
///
/// The body is read up to 512 KiB ([`DEFAULT_WEBHOOK_BODY_LIMIT`]; 413 beyond); a wrong key or
/// signature, or a webhook more than 5 minutes from now, is a 401, a body that is not a
/// webhook a 400, each with the endpoints' JSON refusal and a `WARN` line (at most one a
/// minute; the others at `DEBUG`). Answer 2xx once the events are handled; anything else makes
/// Pusher retry the webhook. The limit is fixed: for another one, read the body yourself and
/// call [`WebhookVerifier::verify`], or mount the endpoints' webhook path
/// (`Endpoints::with_webhooks` and `Endpoints::with_webhook_body_limit`).
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use pusher_auth_actix_web::prelude::*;
///
/// struct Rooms; // your app's state
///
/// async fn webhooks(_rooms: web::Data<Rooms>, VerifiedWebhook(webhook): VerifiedWebhook) -> HttpResponse {
///     for event in webhook.events() {
///         if let WebhookEvent::MemberAdded { channel, user_id, .. } = event {
///             println!("{user_id} joined {channel}");
///         }
///     }
///     HttpResponse::Ok().finish()
/// }
///
/// let credentials = Credentials::new("app-key", "app-secret")?;
/// let verifier = web::Data::new(WebhookVerifier::new(credentials));
/// let _app = App::new()
///     .app_data(verifier)
///     .app_data(web::Data::new(Rooms))
///     .route("/pusher/webhooks", web::post().to(webhooks));
/// # Ok::<(), pusher_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook(pub Webhook);

impl FromRequest for VerifiedWebhook {
    type Error = Refusal;
    type Future = LocalFuture<Result<Self, Refusal>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<WebhookVerifier>>().cloned();
        let payload = web::Payload::from_request(req, payload).into_inner();
        let req = req.clone();
        Box::pin(async move {
            let Some(verifier) = verifier else {
                return Err(Refusal(adapter::misconfigured("VerifiedWebhook needs the verifier as app data: App::app_data(web::Data::new(WebhookVerifier::new(credentials)))")));
            };
            let payload = payload.map_err(|_| Refusal(Answer::body_read_error()))?;
            let body = read(payload, DEFAULT_WEBHOOK_BODY_LIMIT)
                .await
                .map_err(Refusal)?;
            let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
            adapter::verify_webhook(
                &verifier,
                header("x-pusher-key"),
                header("x-pusher-signature"),
                &body,
            )
            .map(VerifiedWebhook)
            .map_err(Refusal)
        })
    }
}
