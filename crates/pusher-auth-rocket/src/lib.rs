//! Rocket integration for pusher-auth.
//!
//! ```toml
//! [dependencies]
//! pusher-auth-rocket = "0.1"
//! ```
//!
//! Rocket is not built on tower, so this crate answers the same endpoints natively, with the
//! same [`Endpoints`] logic and configuration as the tower layer: the same routes, statuses,
//! error codes and JSON bytes, and the same portable [`Authorizer`]. Your request guard (a
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
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 100 == user.id })
//!     .user(|user: User| async move { UserData::new(UserId::from(user.id)) });
//! let pusher = PusherAuthRoutes::new(Credentials::new("key", "secret")?, routes)
//!     .with_channel_path("/channels/authorize")
//!     .with_guard(|user: User| Some(user));
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
//! `POST` answers, and `GET`, `PUT`, `DELETE` and `PATCH` get the shared 405
//! `method_not_allowed` with `Allow: POST` (Rocket answers `HEAD` from the `GET` route).
//! `OPTIONS` is left to the app, so that a CORS fairing answers preflights. Mount them at `/`
//! for the configured paths; another base prefixes them, as it does any Rocket route. Routes,
//! not a fairing: Rocket fairings cannot answer requests, and routes show in Rocket's launch
//! log and collide loudly with an app route at the same path.
//!
//! # Users, guards and statuses
//!
//! Each guard given to [`PusherAuthRoutes::with_guard`] runs once per request, once the body
//! is read. What its map returns goes into the `http::Extensions` the authorizer sees, where
//! `ChannelRoutes<User>` reads `User`. A guard that forwards or fails with a 4xx status (no
//! cookie, a bad token) adds nothing, so the routes deny (403); a guard that fails with a 5xx
//! status (a database down, managed state missing) answers 500 `authorizer_error` and logs the
//! guard's error at `ERROR`.
//!
//! # Body limits
//!
//! The body is read with Rocket's `Data::open`, at most [`Endpoints::body_limit`] bytes (16 KiB,
//! 512 KiB for webhooks, or what `with_body_limit` and `with_webhook_body_limit` set), lowered by
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

use pusher_auth::endpoint::{Answer, Endpoints, Route as Endpoint, WithHooks};
use pusher_auth::{Credentials, SocketId};
use rocket::data::{ByteUnit, Data};
use rocket::futures::future::BoxFuture;
use rocket::http::{Method, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::route::{self, Handler, Route};

pub use pusher_auth::{self, Authorizer};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// What a handler or an authorizer usually needs, in one import.
pub mod prelude {
    pub use crate::{InvalidSocketId, PusherAuthRoutes, SenderSocket};
    pub use pusher_auth::authorizer::{ChannelDecision, ChannelRequest, UserDecision, UserRequest};
    pub use pusher_auth::routes::{Access, ChannelRoutes, Membership};
    pub use pusher_auth::{
        Authorizer, ChannelKind, ChannelName, Credentials, PresenceMember, SocketId, UserData,
        UserId,
    };
}

/// The name of the Rocket limit that lowers the channel and sign-in body limit
/// (`limits.pusher-auth` in `Rocket.toml`).
pub const LIMIT: &str = "pusher-auth";

/// The name of the Rocket limit that lowers the webhook body limit (`limits.pusher-webhook`).
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

/// Runs one guard: what it found, or why the request must fail.
trait Guard: Send + Sync {
    fn find<'a>(&'a self, req: &'a Request<'_>) -> BoxFuture<'a, Result<http::Extensions, String>>;
}

/// A `FromRequest` guard `G` whose value `map` turns into the `T` the authorizer reads.
struct MappedGuard<G, T, F> {
    map: F,
    types: PhantomData<fn() -> (G, T)>,
}

impl<G, T, F> Guard for MappedGuard<G, T, F>
where
    G: for<'r> FromRequest<'r> + Send + 'static,
    F: Fn(G) -> Option<T> + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    fn find<'a>(&'a self, req: &'a Request<'_>) -> BoxFuture<'a, Result<http::Extensions, String>> {
        Box::pin(async move {
            let mut found = http::Extensions::new();
            let guard = type_name::<G>();
            match req.guard::<G>().await {
                request::Outcome::Success(value) => {
                    if let Some(value) = (self.map)(value) {
                        found.insert(value);
                    }
                }
                // The guard's error is never logged: it may hold what the request carried (a
                // token, a cookie). Its type and the status say which guard and how.
                request::Outcome::Error((status, _)) if status.code >= 500 => {
                    return Err(format!("the request guard {guard} failed with {status}"));
                }
                request::Outcome::Error((status, _)) => {
                    tracing::debug!(target: "pusher_auth", guard, status = %status, "request guard refused the request");
                }
                request::Outcome::Forward(status) => {
                    tracing::debug!(target: "pusher_auth", guard, status = %status, "request guard forwarded the request");
                }
            }
            Ok(found)
        })
    }
}

/// The Pusher auth endpoints for a Rocket app, mounted as routes with
/// [`PusherAuthRoutes::routes`]: `rocket::build().mount("/", pusher.routes())`. The defaults
/// are those of every adapter (`POST /pusher/auth`, `POST /pusher/user-auth` when the
/// authorizer signs users in, no webhooks, 16 KiB bodies, 512 KiB webhooks).
pub struct PusherAuthRoutes<A> {
    inner: WithHooks<A, Arc<dyn Guard>>,
}

impl<A> Clone for PusherAuthRoutes<A> {
    fn clone(&self) -> Self {
        PusherAuthRoutes {
            inner: self.inner.clone(),
        }
    }
}

impl<A> std::fmt::Debug for PusherAuthRoutes<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherAuthRoutes")
            .field("endpoints", self.inner.endpoints())
            .field("guards", &self.inner.hooks().len())
            .finish()
    }
}

impl<A: Authorizer> PusherAuthRoutes<A> {
    /// Endpoints signing with `credentials` and deciding with `authorizer`.
    pub fn new(credentials: Credentials, authorizer: A) -> Self {
        Self::from_endpoints(Endpoints::new(credentials, authorizer))
    }

    /// The routes of already configured endpoints.
    pub fn from_endpoints(endpoints: Endpoints<A>) -> Self {
        PusherAuthRoutes {
            inner: WithHooks::new(endpoints),
        }
    }

    #[track_caller]
    fn map_endpoints(self, f: impl FnOnce(Endpoints<A>) -> Endpoints<A>) -> Self {
        PusherAuthRoutes {
            inner: self.inner.map_endpoints(f),
        }
    }

    pusher_auth::__endpoint_builders!();

    /// Runs the request guard `G` once per request and, when `map` returns a value, puts it in
    /// the request extensions the authorizer sees (`ChannelRoutes<T>` reads `T` there). When
    /// the guard is your user type, `map` is `Some`: `.with_guard(|user: CurrentUser|
    /// Some(user))`.
    ///
    /// A guard that forwards, or fails with a 4xx status (not logged in), adds nothing, so the
    /// authorizer denies (403); a guard that fails with a 5xx status (its backend is down,
    /// its managed state is missing) fails the request with a 500 `authorizer_error` and an
    /// error log line naming the guard.
    #[must_use]
    pub fn with_guard<G, T, F>(self, map: F) -> Self
    where
        G: for<'r> FromRequest<'r> + Send + 'static,
        F: Fn(G) -> Option<T> + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let guard: Arc<dyn Guard> = Arc::new(MappedGuard {
            map,
            types: PhantomData,
        });
        PusherAuthRoutes {
            inner: self.inner.push_hook(guard),
        }
    }

    /// The Rocket routes of the configured paths: `rocket.mount("/", pusher.routes())`.
    ///
    /// # Panics
    ///
    /// When two answered endpoints share a path.
    #[track_caller]
    pub fn routes(&self) -> Vec<Route> {
        self.inner.endpoints().check_paths();
        let mut routes = Vec::new();
        for (path, endpoint) in self.inner.endpoints().routes() {
            let name = match endpoint {
                Endpoint::Channel => "pusher-auth: channel authorization",
                Endpoint::User => "pusher-auth: user sign-in",
                _ => "pusher-auth: webhooks",
            };
            for method in METHODS {
                let handler = EndpointHandler {
                    routes: self.clone(),
                    endpoint,
                };
                let mut route = Route::new(method, path, handler);
                route.name = Some(name.into());
                routes.push(route);
            }
        }
        routes
    }

    async fn answer(&self, endpoint: Endpoint, req: &Request<'_>, data: Data<'_>) -> Answer {
        let endpoints = self.inner.endpoints();
        let Some(head) = request_head(req) else {
            return Answer::invalid_request();
        };
        let checked = match endpoints.precheck(endpoint, &head) {
            Ok(checked) => checked,
            Err(refusal) => return refusal,
        };
        let limit = body_limit(endpoints, endpoint, req);
        let declared = head
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Answer::payload_too_large(limit);
        }
        let body = match data.open(ByteUnit::from(limit)).into_bytes().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            Ok(_) => return Answer::payload_too_large(limit),
            Err(e) => {
                tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
                return Answer::body_read_error();
            }
        };
        // The guards run once the request has parsed, and never for webhooks.
        let guards = self.inner.hooks();
        let find_user = || async move {
            let mut found = http::Extensions::new();
            for guard in guards {
                match guard.find(req).await {
                    Ok(more) => found.extend(more),
                    Err(reason) => {
                        tracing::error!(target: "pusher_auth", error = %reason, "authorizer failed");
                        return Err(Answer::authorizer_error());
                    }
                }
            }
            Ok(found)
        };
        endpoints.answer_with(checked, head, &body, find_user).await
    }
}

impl<A> PusherAuthRoutes<A> {
    /// The configured endpoints.
    pub fn endpoints(&self) -> &Endpoints<A> {
        self.inner.endpoints()
    }
}

/// `rocket.mount("/", pusher)`, the same as `rocket.mount("/", pusher.routes())`.
impl<A: Authorizer> From<PusherAuthRoutes<A>> for Vec<Route> {
    #[track_caller]
    fn from(routes: PusherAuthRoutes<A>) -> Self {
        routes.routes()
    }
}

/// The smaller of the endpoint's limit and Rocket's configured limit for it.
fn body_limit<A>(endpoints: &Endpoints<A>, endpoint: Endpoint, req: &Request<'_>) -> usize {
    let limit = endpoints.body_limit(endpoint);
    let name = match endpoint {
        Endpoint::Webhook => WEBHOOK_LIMIT,
        _ => LIMIT,
    };
    match req.limits().get(name) {
        Some(rocket) => usize::try_from(rocket.as_u64()).map_or(limit, |r| r.min(limit)),
        None => limit,
    }
}

/// One endpoint at one method: the route's handler.
struct EndpointHandler<A> {
    routes: PusherAuthRoutes<A>,
    endpoint: Endpoint,
}

impl<A> Clone for EndpointHandler<A> {
    fn clone(&self) -> Self {
        EndpointHandler {
            routes: self.routes.clone(),
            endpoint: self.endpoint,
        }
    }
}

#[rocket::async_trait]
impl<A: Authorizer> Handler for EndpointHandler<A> {
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

/// The Rocket request head as `http::request::Parts` (method, URI, headers); `None` when one
/// of them does not convert.
fn request_head(req: &Request<'_>) -> Option<http::request::Parts> {
    let mut builder = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for header in req.headers().iter() {
        builder = builder.header(header.name().as_str(), header.value());
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
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

/// The sender's connection from Laravel Echo's `X-Socket-ID` header, to exclude it when
/// publishing (Laravel's `toOthers()`): `None` when the header is absent; a header that is not
/// a socket id fails the guard with a 400 and [`InvalidSocketId`].
///
/// Rocket sends a failed guard to its 400 catcher; to answer with this crate's JSON instead,
/// take `Result<SenderSocket, InvalidSocketId>` and return the error, which is a
/// [`Responder`]:
///
/// ```
/// use pusher_auth_rocket::{InvalidSocketId, SenderSocket};
///
/// #[rocket::post("/channels/send-message")]
/// fn send_message(sender: Result<SenderSocket, InvalidSocketId>) -> Result<&'static str, InvalidSocketId> {
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

impl SenderSocket {
    /// The header's name.
    pub const HEADER: &'static str = "x-socket-id";
}

/// `X-Socket-ID` is not a socket id: as a [`Responder`], a 400 with the JSON refusal
/// `invalid_socket_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSocketId;

impl std::fmt::Display for InvalidSocketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("X-Socket-ID is not a socket id")
    }
}

impl std::error::Error for InvalidSocketId {}

impl<'r> Responder<'r, 'static> for InvalidSocketId {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        const BODY: &str =
            r#"{"error":{"code":"invalid_socket_id","message":"X-Socket-ID is not a socket id"}}"#;
        Response::build()
            .status(Status::BadRequest)
            .raw_header("content-type", "application/json")
            .sized_body(BODY.len(), Cursor::new(BODY))
            .ok()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SenderSocket {
    type Error = InvalidSocketId;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, InvalidSocketId> {
        match req.headers().get_one(Self::HEADER) {
            None => request::Outcome::Success(SenderSocket(None)),
            Some(value) => match SocketId::new(value) {
                Ok(socket) => request::Outcome::Success(SenderSocket(Some(socket))),
                Err(_) => request::Outcome::Error((Status::BadRequest, InvalidSocketId)),
            },
        }
    }
}
