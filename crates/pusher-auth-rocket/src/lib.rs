//! Rocket integration for pusher-auth.
//!
//! ```toml
//! [dependencies]
//! pusher-auth-rocket = "0.1"
//! ```
//!
//! Rocket is not built on tower, so this crate answers the same endpoints natively, with the
//! same [`Endpoints`] configuration and logic as every other adapter: the same routes, statuses,
//! error codes and JSON bytes, and the same portable authorizer. Your request guard (a
//! `CurrentUser: FromRequest` over private cookies, a bearer token, a session) finds the user
//! once per request with [`PusherAuthRoutes::with_guard`], and channel routes for that user
//! type decide. The endpoints are Rocket routes, mounted like any other:
//!
//! ```
//! use pusher_auth_rocket::prelude::*;
//! use rocket::http::{ContentType, Header, Status};
//! use rocket::local::blocking::Client;
//! use rocket::request::{FromRequest, Outcome, Request};
//!
//! /// The logged-in user, as your guard finds it (here the `x-user-id` header; in a real app
//! /// a private cookie, see the crate README).
//! #[derive(Clone)]
//! struct User { id: u64 }
//!
//! #[rocket::async_trait]
//! impl<'r> FromRequest<'r> for User {
//!     type Error = ();
//!
//!     async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
//!         match req.headers().get_one("x-user-id").and_then(|v| v.parse().ok()) {
//!             Some(id) => Outcome::Success(User { id }),
//!             None => Outcome::Forward(Status::Unauthorized), // no user: pusher-js gets a 403
//!         }
//!     }
//! }
//!
//! let routes = ChannelRoutes::new()
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 100 == user.id });
//! let endpoints = Endpoints::new(Credentials::new("key", "secret")?, routes)
//!     .with_signin(|user: User, _: SigninRequest| async move { UserData::new(UserId::from(user.id)) })
//!     .with_channel_path("/channels/authorize");
//! let pusher = PusherAuthRoutes::new(endpoints).with_guard(|user: User| user);
//! let rocket = rocket::build().mount("/", pusher.routes());
//!
//! let client = Client::tracked(rocket)?;
//! let response = client
//!     .post("/channels/authorize")
//!     .header(ContentType::Form)
//!     .header(Header::new("x-user-id", "4"))
//!     .body("socket_id=1.2&channel_name=private-orders.412")
//!     .dispatch();
//! assert_eq!(response.status(), Status::Ok);
//! assert!(response.into_string().unwrap_or_default().starts_with(r#"{"auth":"key:"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Mounting
//!
//! [`PusherAuthRoutes::routes`] gives one Rocket route per method for each configured path:
//! `POST` answers, and `GET`, `PUT`, `DELETE`, `PATCH`, `TRACE` and `CONNECT` get the shared 405
//! `method_not_allowed` with `Allow: POST` (Rocket answers `HEAD` from the `GET` route).
//! `OPTIONS` is left to the app, so that a CORS fairing answers preflights. Mount them at `/`
//! for the configured paths; another base prefixes them, as it does any Rocket route. Routes,
//! not a fairing: Rocket fairings cannot answer requests, and routes show in Rocket's launch
//! log and collide loudly with an app route at the same path.
//!
//! # Users, guards and statuses
//!
//! The guard given to [`PusherAuthRoutes::with_guard`] runs once per request, once the body
//! has parsed (never for a malformed request or a webhook), and its map turns what it found
//! into the user the authorizer decides for:
//!
//! | the guard… | answer | log |
//! |---|---|---|
//! | succeeds, the map gives `Some(user)` (or the user) | the authorizer decides | `DEBUG` |
//! | succeeds and the map gives `None`, forwards, or fails with a 4xx (no cookie, a bad token) | 403, not logged in | `DEBUG` "not logged in" |
//! | fails with a 5xx (a database down, managed state missing) | 500 `authorizer_error` | `ERROR`, naming the guard (never its error value, which may hold what the request carried) |
//!
//! An authorizer for `()` needs no guard; for any other user type, [`PusherAuthRoutes::routes`]
//! without a guard panics at start-up, naming the fix.
//!
//! # Body limits
//!
//! The body is read with Rocket's `Data::open`, at most [`Endpoints::body_limit`] bytes (16 KiB,
//! 512 KiB for webhooks, or what `Endpoints::with_body_limit` and `with_webhook_body_limit` set), lowered by
//! Rocket's configured limits [`LIMIT`] and [`WEBHOOK_LIMIT`] when they are set (`Rocket.toml`:
//! `limits = { pusher-auth = "4 KiB" }`). A longer body is a 413 `payload_too_large`, with or
//! without `Content-Length`.
//!
//! The request head is converted to `http::request::Parts` for the authorizer (method, URI,
//! headers; Rocket does not expose the HTTP version, so it reads HTTP/1.1).

use std::any::type_name;
use std::io::Cursor;
use std::marker::PhantomData;
use std::sync::Arc;

use pusher_auth::adapter::{self, Answer, Endpoint, UserLookup};
use pusher_auth::webhook::{Webhook, WebhookVerifier};
use pusher_auth::{Endpoints, SocketId, DEFAULT_WEBHOOK_BODY_LIMIT};
use rocket::data::{self as rocket_data, ByteUnit, Data, FromData};
use rocket::futures::future::BoxFuture;
use rocket::http::{Method, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::route::{self, Handler, Route};
use rocket::State;

pub use pusher_auth;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// What an app usually needs, in one import: the endpoints and their decisions, the routes,
/// the guards, and the webhook types.
pub mod prelude {
    pub use crate::{PusherAuthRoutes, Refusal, SenderSocket, VerifiedWebhook};
    pub use pusher_auth::{
        Access, Authorizer, ChannelDecision, ChannelKind, ChannelName, ChannelRequest,
        ChannelRoutes, Credentials, Endpoints, Membership, PresenceMember, Signin, SigninDecision,
        SigninRequest, SocketId, UserData, UserId, Webhook, WebhookEvent, WebhookVerifier,
    };
}

/// The name of the Rocket limit that lowers the channel and sign-in body limit
/// (`limits.pusher-auth` in `Rocket.toml`).
pub const LIMIT: &str = "pusher-auth";

/// The name of the Rocket limit that lowers the webhook body limit (`limits.pusher-webhook`),
/// for the endpoints' webhooks and [`VerifiedWebhook`] alike.
pub const WEBHOOK_LIMIT: &str = "pusher-webhook";

/// The methods routed to the endpoints; every one but `POST` is answered 405, as by every
/// other adapter. `OPTIONS` is left to the app (a CORS fairing answers preflights), and `HEAD`
/// is Rocket's `GET` without the body.
const METHODS: [Method; 7] = [
    Method::Post,
    Method::Get,
    Method::Put,
    Method::Delete,
    Method::Patch,
    Method::Trace,
    Method::Connect,
];

/// Runs the guard and the map: what they say about the user.
trait Guard<U>: Send + Sync {
    fn find<'a>(&'a self, req: &'a Request<'_>) -> BoxFuture<'a, UserLookup<U>>;
}

/// A `FromRequest` guard `G` whose value `map` turns into the user.
struct MappedGuard<G, F> {
    map: F,
    guard: PhantomData<fn() -> G>,
}

impl<U, G, F, R> Guard<U> for MappedGuard<G, F>
where
    G: for<'r> FromRequest<'r> + Send + 'static,
    F: Fn(G) -> R + Send + Sync + 'static,
    R: Into<Option<U>>,
    U: Send + 'static,
{
    fn find<'a>(&'a self, req: &'a Request<'_>) -> BoxFuture<'a, UserLookup<U>> {
        Box::pin(async move {
            let guard = type_name::<G>();
            match req.guard::<G>().await {
                request::Outcome::Success(value) => match (self.map)(value).into() {
                    Some(user) => UserLookup::Found(user),
                    None => UserLookup::Anonymous(format!("no user in the {guard} found")),
                },
                // The guard's error is never logged: it may hold what the request carried (a
                // token, a cookie). Its type and the status say which guard and how.
                request::Outcome::Error((status, _)) if status.code >= 500 => {
                    UserLookup::Failed(format!("the request guard {guard} failed with {status}"))
                }
                request::Outcome::Error((status, _)) => UserLookup::Anonymous(format!(
                    "the request guard {guard} refused with {status}"
                )),
                request::Outcome::Forward(status) => UserLookup::Anonymous(format!(
                    "the request guard {guard} forwarded with {status}"
                )),
            }
        })
    }
}

/// The Pusher auth endpoints of a Rocket app, mounted as routes with
/// [`PusherAuthRoutes::routes`]: `rocket::build().mount("/", pusher.routes())`.
pub struct PusherAuthRoutes<U> {
    endpoints: Endpoints<U>,
    guard: Option<Arc<dyn Guard<U>>>,
}

impl<U> Clone for PusherAuthRoutes<U> {
    fn clone(&self) -> Self {
        PusherAuthRoutes {
            endpoints: self.endpoints.clone(),
            guard: self.guard.clone(),
        }
    }
}

impl<U> std::fmt::Debug for PusherAuthRoutes<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherAuthRoutes")
            .field("endpoints", &self.endpoints)
            .field("guard", &self.guard.is_some())
            .finish()
    }
}

impl<U> From<Endpoints<U>> for PusherAuthRoutes<U> {
    fn from(endpoints: Endpoints<U>) -> Self {
        PusherAuthRoutes {
            endpoints,
            guard: None,
        }
    }
}

impl<U: Clone + Send + Sync + 'static> PusherAuthRoutes<U> {
    /// The routes of `endpoints`.
    pub fn new(endpoints: Endpoints<U>) -> Self {
        Self::from(endpoints)
    }

    /// Finds the user with the request guard `G`, once per request: `map` turns what it found
    /// into the user (`Some(user)`, or the user itself), or says nobody is logged in (`None`).
    /// When the guard is your user type, the map is the identity: `.with_guard(|user:
    /// CurrentUser| user)`. A second call replaces the first. See the [crate docs](crate) for
    /// what each outcome answers.
    #[must_use]
    pub fn with_guard<G, F, R>(mut self, map: F) -> Self
    where
        G: for<'r> FromRequest<'r> + Send + 'static,
        F: Fn(G) -> R + Send + Sync + 'static,
        R: Into<Option<U>>,
    {
        self.guard = Some(Arc::new(MappedGuard {
            map,
            guard: PhantomData,
        }));
        self
    }

    /// The Rocket routes of the configured paths: `rocket.mount("/", pusher.routes())`.
    ///
    /// # Panics
    ///
    /// When the authorizer decides for a user type other than `()` and no guard finds it
    /// ([`with_guard`](Self::with_guard)), or when two answered endpoints share a path.
    #[track_caller]
    #[allow(clippy::panic)]
    pub fn routes(&self) -> Vec<Route> {
        if self.guard.is_none() && adapter::no_user::<U>().is_none() {
            panic!(
                "pusher-auth: the authorizer decides for `{}`, but nothing finds that user: add `.with_guard(|user: CurrentUser| user)` (any Rocket request guard) to the PusherAuthRoutes",
                type_name::<U>()
            );
        }
        let mut routes = Vec::new();
        for (path, endpoint) in adapter::mounts(&self.endpoints) {
            for method in METHODS {
                let handler = EndpointHandler {
                    routes: self.clone(),
                    endpoint,
                };
                let mut route = Route::new(method, path, handler);
                route.name = Some(format!("pusher-auth: {}", endpoint.name()).into());
                routes.push(route);
            }
        }
        routes
    }

    async fn answer(&self, endpoint: Endpoint, req: &Request<'_>, data: Data<'_>) -> Answer {
        let endpoints = &self.endpoints;
        let Some(head) = request_head(req) else {
            return Answer::invalid_request();
        };
        let checked = match adapter::precheck(endpoints, endpoint, &head) {
            Ok(checked) => checked,
            Err(refusal) => return refusal,
        };
        let limit = body_limit(adapter::body_limit(endpoints, endpoint), endpoint, req);
        let body = match read(data, limit, head.headers.get(http::header::CONTENT_LENGTH)).await {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let guard = self.guard.as_deref();
        let find_user = |head| async move {
            let user = match guard {
                Some(guard) => guard.find(req).await,
                None => UserLookup::Misconfigured(String::from(
                    "no request guard finds the user: give one with `PusherAuthRoutes::with_guard`",
                )),
            };
            (head, user)
        };
        adapter::answer(endpoints, checked, head, &body, find_user).await
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &Endpoints<U> {
        &self.endpoints
    }
}

/// `rocket.mount("/", pusher)`, the same as `rocket.mount("/", pusher.routes())`.
impl<U: Clone + Send + Sync + 'static> From<PusherAuthRoutes<U>> for Vec<Route> {
    #[track_caller]
    fn from(routes: PusherAuthRoutes<U>) -> Self {
        routes.routes()
    }
}

/// The smaller of the endpoint's limit and Rocket's configured limit for it.
fn body_limit(limit: usize, endpoint: Endpoint, req: &Request<'_>) -> usize {
    let name = match endpoint {
        Endpoint::Webhook => WEBHOOK_LIMIT,
        _ => LIMIT,
    };
    match req.limits().get(name) {
        Some(rocket) => usize::try_from(rocket.as_u64()).map_or(limit, |r| r.min(limit)),
        None => limit,
    }
}

/// Reads at most `limit` bytes of body: 413 beyond (declared or not), 400 when the connection
/// fails.
async fn read(
    data: Data<'_>,
    limit: usize,
    declared: Option<&http::HeaderValue>,
) -> Result<Vec<u8>, Answer> {
    let declared = declared
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Answer::payload_too_large(limit));
    }
    match data.open(ByteUnit::from(limit)).into_bytes().await {
        Ok(body) if body.is_complete() => Ok(body.into_inner()),
        Ok(_) => Err(Answer::payload_too_large(limit)),
        Err(e) => {
            tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
            Err(Answer::body_read_error())
        }
    }
}

/// One endpoint at one method: the route's handler.
struct EndpointHandler<U> {
    routes: PusherAuthRoutes<U>,
    endpoint: Endpoint,
}

impl<U> Clone for EndpointHandler<U> {
    fn clone(&self) -> Self {
        EndpointHandler {
            routes: self.routes.clone(),
            endpoint: self.endpoint,
        }
    }
}

#[rocket::async_trait]
impl<U: Clone + Send + Sync + 'static> Handler for EndpointHandler<U> {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        // Rocket matches decoded, non-empty segments: `/pusher/auth/`, `//pusher//auth` and
        // `/pusher/%61uth` would all reach this route. Only the configured path, byte for
        // byte, is answered (as under every other adapter); the rest go on to the app's
        // routes and catchers, so that rules keyed on the exact path cannot be sidestepped.
        // The route's own path includes the base it was mounted at.
        let configured = req.route().map(|route| route.uri.path());
        if configured != Some(req.uri().path().as_str()) {
            return route::Outcome::forward(data, Status::NotFound);
        }
        let answer = self.routes.answer(self.endpoint, req, data).await;
        route::Outcome::Success(respond(answer))
    }
}

/// The Rocket request head as `http::request::Parts` (method, URI, headers; Rocket does not
/// expose the HTTP version, so it reads HTTP/1.1); `None` when it does not convert.
fn request_head(req: &Request<'_>) -> Option<http::request::Parts> {
    let headers: Vec<_> = req.headers().iter().collect();
    adapter::request_head(
        req.method().as_str(),
        &req.uri().to_string(),
        http::Version::HTTP_11,
        headers
            .iter()
            .map(|header| (header.name().as_str(), header.value().as_bytes())),
    )
}

fn respond<'r>(answer: Answer) -> Response<'r> {
    let mut response = Response::build();
    response.status(Status::new(answer.status().as_u16()));
    for (name, value) in answer.headers() {
        if let Ok(value) = value.to_str() {
            response.raw_header(name.as_str().to_owned(), value.to_owned());
        }
    }
    let body = answer.into_body();
    response.sized_body(body.len(), Cursor::new(body));
    response.finalize()
}

/// A request refused by one of this crate's guards ([`SenderSocket`], [`VerifiedWebhook`]):
/// as a [`Responder`], the endpoints' JSON refusal with its status.
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

    /// The status as Rocket's type, for the guards' outcomes.
    fn rocket_status(&self) -> Status {
        Status::new(self.0.status().as_u16())
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

impl<'r> Responder<'r, 'static> for Refusal {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Ok(respond(self.0))
    }
}

/// The sender's connection from Laravel Echo's `X-Socket-ID` header, to exclude it when
/// publishing (Laravel's `toOthers()`): `None` when the header is absent; a header that is not
/// a socket id fails the guard with a 400 and a [`Refusal`].
///
/// Rocket sends a failed guard to its 400 catcher; to answer with this crate's JSON instead,
/// take `Result<SenderSocket, Refusal>` and return the error, which is a [`Responder`]:
///
/// ```
/// use pusher_auth_rocket::{Refusal, SenderSocket};
///
/// #[rocket::post("/channels/send-message")]
/// fn send_message(sender: Result<SenderSocket, Refusal>) -> Result<&'static str, Refusal> {
///     let SenderSocket(except) = sender?;
///     // trigger the event, excluding `except`
///     # let _ = except;
///     Ok("sent")
/// }
/// # let _ = rocket::build().mount("/", rocket::routes![send_message]);
/// ```
///
/// The header is the client's word: to exclude only a connection the session was authorized
/// for, check it against what your authorizer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderSocket(pub Option<SocketId>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SenderSocket {
    type Error = Refusal;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Refusal> {
        let value = req.headers().get_one(adapter::SOCKET_ID_HEADER);
        match adapter::sender_socket(value.map(str::as_bytes)) {
            Ok(socket) => request::Outcome::Success(SenderSocket(socket)),
            Err(answer) => {
                let refusal = Refusal(answer);
                request::Outcome::Error((refusal.rocket_status(), refusal))
            }
        }
    }
}

/// A webhook from the Pusher server, verified: a data guard for an ordinary route of your app,
/// so the handler takes `&State<…>` and any other guard. The verifier is managed state:
/// `rocket.manage(WebhookVerifier::new(credentials))`; without it, launch aborts (a
/// [`Sentinel`](rocket::Sentinel)), naming the fix.
///
/// The body is read up to 512 KiB ([`DEFAULT_WEBHOOK_BODY_LIMIT`], lowered by the Rocket limit
/// [`WEBHOOK_LIMIT`]; 413 beyond); a wrong key or signature, or a webhook more than 5 minutes
/// from now, is a 401, a body that is not a webhook a 400, each with the endpoints' JSON
/// refusal and a `WARN` line (at most one a minute; the others at `DEBUG`). Take `Result<VerifiedWebhook, Refusal>` to answer with that
/// refusal instead of Rocket's catchers. Answer 2xx once the events are handled; anything else
/// makes Pusher retry the webhook.
///
/// ```
/// use pusher_auth_rocket::prelude::*;
/// use rocket::http::Status;
/// use rocket::State;
///
/// struct Rooms; // your app's state
///
/// #[rocket::post("/pusher/webhooks", data = "<webhook>")]
/// fn webhooks(_rooms: &State<Rooms>, webhook: Result<VerifiedWebhook, Refusal>) -> Result<Status, Refusal> {
///     let VerifiedWebhook(webhook) = webhook?;
///     for event in webhook.events() {
///         if let WebhookEvent::MemberAdded { channel, user_id, .. } = event {
///             println!("{user_id} joined {channel}");
///         }
///     }
///     Ok(Status::Ok)
/// }
///
/// let credentials = Credentials::new("app-key", "app-secret")?;
/// let _rocket = rocket::build()
///     .manage(WebhookVerifier::new(credentials))
///     .manage(Rooms)
///     .mount("/", rocket::routes![webhooks]);
/// # Ok::<(), pusher_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook(pub Webhook);

/// A route that takes a [`VerifiedWebhook`] (also in a `Result` or `Option`) aborts launch when
/// no [`WebhookVerifier`] is managed: the mistake shows at start-up, not when Pusher sends its
/// first webhook (which a 500 would make it retry, then drop).
impl rocket::Sentinel for VerifiedWebhook {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        if rocket.state::<WebhookVerifier>().is_some() {
            return false;
        }
        tracing::error!(target: "pusher_auth", "VerifiedWebhook needs the verifier as managed state: rocket.manage(WebhookVerifier::new(credentials))");
        true
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for VerifiedWebhook {
    type Error = Refusal;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> rocket_data::Outcome<'r, Self> {
        let Some(verifier) = req.guard::<&State<WebhookVerifier>>().await.succeeded() else {
            let refusal = Refusal(adapter::misconfigured("VerifiedWebhook needs the verifier as managed state: rocket.manage(WebhookVerifier::new(credentials))"));
            return rocket_data::Outcome::Error((refusal.rocket_status(), refusal));
        };
        let limit = body_limit(DEFAULT_WEBHOOK_BODY_LIMIT, Endpoint::Webhook, req);
        let declared = req
            .headers()
            .get_one("content-length")
            .and_then(|v| http::HeaderValue::from_str(v).ok());
        let verified = match read(data, limit, declared.as_ref()).await {
            Ok(body) => adapter::verify_webhook(
                verifier,
                req.headers().get_one("x-pusher-key"),
                req.headers().get_one("x-pusher-signature"),
                &body,
            ),
            Err(refusal) => Err(refusal),
        };
        match verified {
            Ok(webhook) => rocket_data::Outcome::Success(VerifiedWebhook(webhook)),
            Err(answer) => {
                let refusal = Refusal(answer);
                rocket_data::Outcome::Error((refusal.rocket_status(), refusal))
            }
        }
    }
}
