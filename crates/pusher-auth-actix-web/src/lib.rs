//! actix-web integration for pusher-auth.
//!
//! ```toml
//! [dependencies]
//! pusher-auth-actix-web = "0.1"
//! ```
//!
//! actix-web is not built on tower, so this crate answers the same endpoints natively, with
//! the same [`Endpoints`] logic and configuration as the tower layer: the same routes, statuses,
//! error codes and JSON bytes, and the same portable [`Authorizer`]. Your session or identity
//! extractor (actix-session, actix-identity, your own) finds the user once per request with
//! [`PusherAuthRoutes::with_extractor`], and channel routes for that user type decide:
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
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 100 == user.id })
//!     .user(|user: User| async move { UserData::new(UserId::from(user.id)) });
//! let pusher = PusherAuthRoutes::new(Credentials::new("key", "secret").unwrap(), routes)
//!     .with_channel_path("/channels/authorize")
//!     // Any actix extractor: here the `x-user-id` header; in a real app
//!     // `actix_identity::Identity` or `actix_session::Session` (see the crate README).
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
//! The request head is converted to `http::request::Parts` for the authorizer; what the
//! extractors find goes into its extensions, where `ChannelRoutes<User>` reads `User`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use actix_web::http::StatusCode as ActixStatus;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use pusher_auth::endpoint::{Answer, Endpoints, WithHooks};
use pusher_auth::{Credentials, SocketId};

pub use pusher_auth::{self, Authorizer};

/// What a handler or an authorizer usually needs, in one import.
pub mod prelude {
    pub use crate::{PusherAuthRoutes, SenderSocket};
    pub use pusher_auth::authorizer::{ChannelDecision, ChannelRequest, UserDecision, UserRequest};
    pub use pusher_auth::routes::{Access, ChannelRoutes, Membership};
    pub use pusher_auth::{
        Authorizer, ChannelKind, ChannelName, Credentials, PresenceMember, SocketId, UserData,
        UserId,
    };
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;
/// Runs one extractor: what it found, or why the request must fail.
type Hook = Arc<dyn Fn(HttpRequest) -> LocalFuture<Result<http::Extensions, String>> + Send + Sync>;

/// The Pusher auth endpoints for an actix-web app, registered as routes with
/// [`PusherAuthRoutes::configure`]. The defaults are those of every adapter (`POST
/// /pusher/auth`, `POST /pusher/user-auth` when the authorizer signs users in, no webhooks,
/// 16 KiB bodies, 512 KiB webhooks).
pub struct PusherAuthRoutes<A> {
    inner: WithHooks<A, Hook>,
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
            .field("extractors", &self.inner.hooks().len())
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

    /// Runs the actix extractor `E` once per request and, when `map` returns a value, puts it
    /// in the request extensions the authorizer sees (`ChannelRoutes<T>` reads `T` there).
    ///
    /// actix extractors are often `!Send` (sessions, identities); `map` turns what they hold
    /// into a plain `T`. A rejection with a 4xx status (no identity) adds nothing, so the
    /// authorizer denies (403); a rejection with a 5xx status (a session middleware missing,
    /// a store down) fails the request with a 500 and an error log line.
    #[must_use]
    pub fn with_extractor<E, T, F>(self, map: F) -> Self
    where
        E: FromRequest + 'static,
        F: Fn(E) -> Option<T> + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let map = Arc::new(map);
        let hook: Hook = Arc::new(move |req: HttpRequest| {
            let map = Arc::clone(&map);
            Box::pin(async move {
                let mut extensions = http::Extensions::new();
                match E::extract(&req).await {
                    Ok(extracted) => {
                        if let Some(value) = map(extracted) {
                            extensions.insert(value);
                        }
                    }
                    Err(e) => {
                        let e: actix_web::Error = e.into();
                        let status = e.as_response_error().status_code();
                        let extractor = std::any::type_name::<E>();
                        if status.is_server_error() {
                            return Err(format!(
                                "the extractor {extractor} failed with {status}: a misconfiguration (is its middleware, such as the session middleware, registered?) or its backend is down"
                            ));
                        }
                        tracing::debug!(target: "pusher_auth", extractor, status = %status, "extractor rejected the request");
                    }
                }
                Ok(extensions)
            })
        });
        PusherAuthRoutes {
            inner: self.inner.push_hook(hook),
        }
    }

    /// Registers the endpoints as routes: `App::new().configure(|cfg| pusher.configure(cfg))`.
    ///
    /// # Panics
    ///
    /// When two answered endpoints share a path.
    #[track_caller]
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        self.inner.endpoints().check_paths();
        for (path, route) in self.inner.endpoints().routes() {
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
                        async move { this.answer(route, req, payload).await }
                    }),
            );
        }
    }

    async fn answer(
        &self,
        route: pusher_auth::endpoint::Route,
        req: HttpRequest,
        payload: web::Payload,
    ) -> HttpResponse {
        let endpoints = self.inner.endpoints();
        let Some(head) = request_head(&req) else {
            return respond(Answer::invalid_request());
        };
        let checked = match endpoints.precheck(route, &head) {
            Ok(checked) => checked,
            Err(refusal) => return respond(refusal),
        };
        let limit = endpoints.body_limit(route);
        let body = match payload.to_bytes_limited(limit).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
                return respond(Answer::body_read_error());
            }
            Err(_) => return respond(Answer::payload_too_large(limit)),
        };
        // The extractors run once the request has parsed, and never for webhooks.
        let hooks = self.inner.hooks();
        let find_user = || async move {
            let mut found = http::Extensions::new();
            for hook in hooks {
                match hook(req.clone()).await {
                    Ok(more) => found.extend(more),
                    Err(reason) => {
                        tracing::error!(target: "pusher_auth", error = %reason, "authorizer failed");
                        return Err(Answer::authorizer_error());
                    }
                }
            }
            Ok(found)
        };
        respond(endpoints.answer_with(checked, head, &body, find_user).await)
    }
}

impl<A> PusherAuthRoutes<A> {
    /// The configured endpoints.
    pub fn endpoints(&self) -> &Endpoints<A> {
        self.inner.endpoints()
    }
}

/// The actix request head as `http::request::Parts` (method, URI, version, headers); `None`
/// when one of them does not convert.
fn request_head(req: &HttpRequest) -> Option<http::request::Parts> {
    let version = match req.version() {
        actix_web::http::Version::HTTP_09 => http::Version::HTTP_09,
        actix_web::http::Version::HTTP_10 => http::Version::HTTP_10,
        actix_web::http::Version::HTTP_2 => http::Version::HTTP_2,
        actix_web::http::Version::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    let mut builder = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string())
        .version(version);
    for (name, value) in req.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
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

/// The sender's connection from Laravel Echo's `X-Socket-ID` header, to exclude it when
/// publishing (Laravel's `toOthers()`): `None` when the header is absent; a header that is not
/// a socket id is a 400 `invalid_socket_id`.
///
/// The header is the client's word: to exclude only a connection the session was authorized
/// for, check it against what your authorizer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderSocket(pub Option<SocketId>);

impl SenderSocket {
    /// The header's name.
    pub const HEADER: &'static str = "x-socket-id";
}

/// `X-Socket-ID` is not a socket id.
#[derive(Debug, thiserror::Error)]
#[error("X-Socket-ID is not a socket id")]
pub struct InvalidSocketId;

impl ResponseError for InvalidSocketId {
    fn status_code(&self) -> ActixStatus {
        ActixStatus::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::BadRequest()
            .content_type("application/json")
            .body(r#"{"error":{"code":"invalid_socket_id","message":"X-Socket-ID is not a socket id"}}"#)
    }
}

impl FromRequest for SenderSocket {
    type Error = InvalidSocketId;
    type Future = std::future::Ready<Result<Self, InvalidSocketId>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(match req.headers().get(Self::HEADER) {
            None => Ok(SenderSocket(None)),
            Some(value) => match value.to_str().ok().map(SocketId::new) {
                Some(Ok(socket)) => Ok(SenderSocket(Some(socket))),
                _ => Err(InvalidSocketId),
            },
        })
    }
}
