//! A tower layer and services that answer Pusher Channels authorization requests.
//!
//! [`PusherAuthLayer`] holds the app's [`Endpoints`] (credentials, the authorizer that decides
//! for your user type, the sign-in handler, paths, limits, webhooks). Mount it either way:
//!
//! - **as routes** (the default with a router): [`PusherAuthLayer::channel_service`],
//!   [`signin_service`](PusherAuthLayer::signin_service) and
//!   [`webhook_service`](PusherAuthLayer::webhook_service) are plain services to mount at the
//!   configured paths. A route cannot be bypassed by a later fallback, merge or nest, and the
//!   app's other routes pay nothing. (With axum, `pusher_auth_axum::RouterExt::pusher_auth`
//!   mounts them in one line and finds the user with an axum extractor instead.)
//! - **as a layer** around a finished service (a whole router, a hyper service): the layer
//!   answers its own paths and passes every other request to the inner service untouched.
//!
//! # The user
//!
//! In a plain tower stack the user comes from the request extensions: your login middleware
//! inserts `Option<User>` into **every** request, `Some(user)` for a logged-in user and `None`
//! for a visitor. `None` is a 403 (logged at `DEBUG` as "not logged in"); no `Option<User>` at
//! all means the middleware is missing, a 500 `misconfigured` with an `ERROR` line that says
//! so. An authorizer for `()` needs no user and no middleware.
//!
//! ```
//! use pusher_auth::{ChannelRoutes, Credentials, Endpoints};
//! use pusher_auth_tower::PusherAuthLayer;
//! use tower::ServiceBuilder;
//!
//! /// The logged-in user: your login middleware inserts `Option<User>` into every request.
//! #[derive(Clone)]
//! struct User { id: u64 }
//!
//! let routes = ChannelRoutes::new()
//!     .private("chat", |_user: User, (): ()| async { true })
//!     .private("orders.{id}", |user: User, order: u64| async move { order == user.id });
//! let endpoints = Endpoints::new(Credentials::new("app-key", "app-secret")?, routes)
//!     .with_channel_path("/channels/authorize");
//! let layer = PusherAuthLayer::new(endpoints);
//!
//! // Wrapping a finished service: the layer answers `/channels/authorize`, the rest passes.
//! let app = tower::service_fn(|_: http::Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("the app")))
//! });
//! let service = ServiceBuilder::new().layer(layer).service(app);
//! # fn assert_service<S: tower::Service<http::Request<String>>>(_: &S) {}
//! # assert_service(&service);
//! # Ok::<(), pusher_auth::ConfigError>(())
//! ```
//!
//! # What it answers
//!
//! | request | answer |
//! |---|---|
//! | authorized | 200, `{"auth":…}` (+ `channel_data` / `shared_secret`), or the keyed batch answer |
//! | malformed or invalid field | 400 |
//! | not logged in (`None::<User>`), or denied | 403 (the reason is logged, not sent) |
//! | not `POST` | 405 with `Allow: POST` (a layer passes `OPTIONS` on, for CORS preflights) |
//! | body over the limit (with or without `Content-Length`) | 413 |
//! | neither form nor JSON | 415 |
//! | authorizer error | 500 `authorizer_error` (detail logged, not sent) |
//! | the app's mistake: no `Option<User>` extension, an encrypted channel granted without a master key, a decision that cannot be signed | 500 `misconfigured` (logged at `ERROR`, at most once a minute) |
//!
//! Every answer is JSON with `Cache-Control: no-store`; refusals are
//! `{"error":{"code":"…","message":"…"}}` with the codes listed in [`pusher_auth::adapter`].
//! Each decision is a `tracing` event (target `pusher_auth`, see
//! [`pusher_auth::adapter`#logs]); secrets and auth strings are never logged.
//!
//! # Composing with tower-http
//!
//! The layer does not re-implement CORS, CSRF, timeouts, panic catching or rate limits. This
//! is the recommended stack, compiled as it stands (with axum each `.layer()` wraps what came
//! before, so the last one runs first):
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::post, Router};
//! use http::header::{AUTHORIZATION, CONTENT_TYPE};
//! use http::{HeaderName, HeaderValue, Method, StatusCode};
//! use pusher_auth::{ChannelDecision, ChannelRequest, Credentials, Endpoints};
//! use pusher_auth_tower::PusherAuthLayer;
//! use tower_governor::{governor::GovernorConfigBuilder, GovernorLayer};
//! use tower_http::{catch_panic::CatchPanicLayer, cors::CorsLayer, csrf::CsrfLayer, timeout::TimeoutLayer};
//!
//! # async fn send_message() -> &'static str { "sent" }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let authorizer = |(): (), _request: ChannelRequest| async { Ok::<_, std::convert::Infallible>(ChannelDecision::Allow) };
//! let endpoints = Endpoints::new(Credentials::new("app-key", "app-secret")?, authorizer)
//!     .with_channel_path("/channels/authorize");
//! let pusher = PusherAuthLayer::new(endpoints);
//! let governor = GovernorConfigBuilder::default()
//!     .per_second(2)
//!     .burst_size(60) // pusher-js re-authorizes every channel on every reconnect
//!     .finish()
//!     .ok_or("invalid rate limit")?;
//! let app: Router = Router::new()
//!     .route("/channels/send-message", post(send_message))
//!     .route_service("/channels/authorize", pusher.channel_service())
//!     // your session or login layer goes here, so it runs before the endpoints
//!     .layer(CatchPanicLayer::new()) // an authorizer panic becomes a 500
//!     .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(10)))
//!     .layer(CsrfLayer::new()) // Sec-Fetch-Site / Origin check, no token state
//!     .layer(
//!         CorsLayer::new() // cross-origin pages with a bearer token
//!             .allow_origin([HeaderValue::from_static("https://app.example")])
//!             .allow_methods([Method::POST])
//!             .allow_headers([AUTHORIZATION, CONTENT_TYPE, HeaderName::from_static("x-csrf-token")]),
//!     )
//!     .layer(GovernorLayer::new(governor)); // per-IP limits (serve with connect info)
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! When the layer wraps a finished service instead, put `CorsLayer` **outside** it: the layer
//! passes `OPTIONS` requests on (so a preflight reaches an inner `CorsLayer` too), but its own
//! answers get CORS headers only from a `CorsLayer` around it. With axum, `axum::serve` wants
//! axum's body type back: `ServiceBuilder::new().map_response(IntoResponse::into_response)
//! .layer(pusher_layer).service(router)`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use pusher_auth::adapter::{self as core_adapter, Endpoint};
use pusher_auth::authorizer::BoxError;
use pusher_auth::Endpoints;
use tower_layer::Layer;
use tower_service::Service;

/// A boxed, sendable future: the services' future type.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

mod answer;
mod body;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use body::{AnswerBody, ResponseBody};

/// For adapters of tower-based frameworks (as `pusher-auth-axum` is): the services' way of
/// reading the body and answering, with the user found the adapter's way. Apps never need it;
/// like the rest of this crate, it follows semantic versioning.
pub mod adapter {
    pub use crate::answer::{answer_with, into_response};
}
/// The core crate, re-exported: [`Endpoints`], the authorizer and its routes, and (feature
/// `testing`) `pusher_auth::testing`, with no dependency of its own.
pub use pusher_auth;

/// The Pusher auth endpoints of one app, to mount as routes (its services) or as a layer.
///
/// Made from [`Endpoints`] (which hold the configuration: paths, limits, sign-in, webhooks);
/// the answers, statuses and error codes are those of [`pusher_auth::adapter`].
pub struct PusherAuthLayer<U> {
    endpoints: Endpoints<U>,
}

impl<U> Clone for PusherAuthLayer<U> {
    fn clone(&self) -> Self {
        PusherAuthLayer {
            endpoints: self.endpoints.clone(),
        }
    }
}

impl<U> fmt::Debug for PusherAuthLayer<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuthLayer")
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

impl<U> From<Endpoints<U>> for PusherAuthLayer<U> {
    /// As [`PusherAuthLayer::new`].
    #[track_caller]
    fn from(endpoints: Endpoints<U>) -> Self {
        PusherAuthLayer::new(endpoints)
    }
}

impl<U> PusherAuthLayer<U> {
    /// The layer and services of `endpoints`.
    ///
    /// # Panics
    ///
    /// When two endpoints share a path (a sign-in or webhook path equal to the channel path),
    /// here, at the caller's line, rather than on the first request.
    #[track_caller]
    pub fn new(endpoints: Endpoints<U>) -> Self {
        let _ = core_adapter::mounts(&endpoints);
        PusherAuthLayer { endpoints }
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &Endpoints<U> {
        &self.endpoints
    }

    /// A standalone service answering channel authorization on **any** path, for mounting at
    /// a route (`Router::route_service("/pusher/auth", layer.channel_service())`).
    pub fn channel_service(&self) -> PusherAuthService<U> {
        self.service(Endpoint::Channel)
    }

    /// A standalone service answering sign-in on any path: `None` when the endpoints have no
    /// sign-in handler ([`Endpoints::with_signin`]).
    pub fn signin_service(&self) -> Option<PusherAuthService<U>> {
        self.endpoints
            .signin_path()
            .map(|_| self.service(Endpoint::Signin))
    }

    /// A standalone service answering webhooks on any path: `None` when the endpoints have no
    /// webhook handler ([`Endpoints::with_webhooks`]).
    pub fn webhook_service(&self) -> Option<PusherAuthService<U>> {
        self.endpoints
            .webhook_path()
            .map(|_| self.service(Endpoint::Webhook))
    }

    /// Every answered path with its standalone service: what to mount as routes.
    ///
    /// # Panics
    ///
    /// When two answered endpoints share a path.
    #[track_caller]
    pub fn services(&self) -> Vec<(&str, PusherAuthService<U>)> {
        core_adapter::mounts(&self.endpoints)
            .into_iter()
            .map(|(path, endpoint)| (path, self.service(endpoint)))
            .collect()
    }

    fn service(&self, endpoint: Endpoint) -> PusherAuthService<U> {
        PusherAuthService {
            endpoints: self.endpoints.clone(),
            endpoint,
        }
    }
}

impl<S, U> Layer<S> for PusherAuthLayer<U> {
    type Service = PusherAuth<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        PusherAuth {
            inner,
            endpoints: self.endpoints.clone(),
        }
    }
}

/// The service [`PusherAuthLayer`] makes: answers its own paths, passes the rest (and every
/// `OPTIONS` request) to `S`. Its response body is [`ResponseBody`]: the inner service's body,
/// untouched, or the answer.
pub struct PusherAuth<S, U> {
    inner: S,
    endpoints: Endpoints<U>,
}

impl<S: Clone, U> Clone for PusherAuth<S, U> {
    fn clone(&self) -> Self {
        PusherAuth {
            inner: self.inner.clone(),
            endpoints: self.endpoints.clone(),
        }
    }
}

impl<S: fmt::Debug, U> fmt::Debug for PusherAuth<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuth")
            .field("inner", &self.inner)
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

impl<S, U, B, ResBody> Service<Request<B>> for PusherAuth<S, U>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    U: Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let endpoint = match core_adapter::endpoint_at(&self.endpoints, request.uri().path()) {
            // Preflights belong to the app's CORS layer, wherever it sits.
            Some(_) if request.method() == Method::OPTIONS => None,
            endpoint => endpoint,
        };
        match endpoint {
            None => ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(request),
                },
            },
            Some(endpoint) => {
                let endpoints = self.endpoints.clone();
                let future =
                    Box::pin(async move { answer::answer(&endpoints, endpoint, request).await });
                ResponseFuture {
                    state: State::Answer { future },
                }
            }
        }
    }
}
pin_project! {
    /// The response future of [`PusherAuth`]: the inner service's future, unboxed, or the
    /// layer's own answer.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Answer { future: BoxFuture<'static, Response<AnswerBody>> },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|r| r.map(|response| response.map(ResponseBody::inner))),
            StateProj::Answer { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(ResponseBody::answer))),
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

/// A standalone service answering one endpoint on every path; see
/// [`PusherAuthLayer::channel_service`]. `Clone + Send + Sync`, `Error = Infallible`, with a
/// `Send + Sync` body, so poem's and salvo's tower compatibility accept it too.
pub struct PusherAuthService<U> {
    endpoints: Endpoints<U>,
    endpoint: Endpoint,
}

impl<U> Clone for PusherAuthService<U> {
    fn clone(&self) -> Self {
        PusherAuthService {
            endpoints: self.endpoints.clone(),
            endpoint: self.endpoint,
        }
    }
}

impl<U> fmt::Debug for PusherAuthService<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuthService")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl<U, B> Service<Request<B>> for PusherAuthService<U>
where
    U: Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<AnswerBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<AnswerBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let endpoints = self.endpoints.clone();
        let endpoint = self.endpoint;
        Box::pin(async move { Ok(answer::answer(&endpoints, endpoint, request).await) })
    }
}
