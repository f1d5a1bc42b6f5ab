//! A tower layer and services that answer Pusher Channels authorization requests.
//!
//! [`PusherAuthLayer`] holds the app's credentials, the [`Authorizer`] that decides, and the
//! endpoint configuration (paths, limits, webhooks). Mount it either way:
//!
//! - **as routes** (the default with a router): [`PusherAuthLayer::channel_service`],
//!   [`user_service`](PusherAuthLayer::user_service) and
//!   [`webhook_service`](PusherAuthLayer::webhook_service) are plain services to mount at the
//!   configured paths (`pusher_auth_axum::RouterExt::pusher_auth` does it in one line). A route
//!   cannot be bypassed by a later fallback, merge or nest, and the app's other routes pay
//!   nothing.
//! - **as a layer** around a finished service (a whole router, a hyper service): the layer
//!   answers its own paths and passes every other request to the inner service untouched.
//!
//! ```
//! use pusher_auth::routes::ChannelRoutes;
//! use pusher_auth::Credentials;
//! use pusher_auth_tower::PusherAuthLayer;
//! use tower::ServiceBuilder;
//!
//! /// The logged-in user, which your login middleware puts in the request extensions.
//! #[derive(Clone)]
//! struct User { id: u64 }
//!
//! let routes = ChannelRoutes::new()
//!     .private("chat", |_user: User, (): ()| async { true })
//!     .private("orders.{id}", |user: User, order: u64| async move { order == user.id });
//! let layer = PusherAuthLayer::new(Credentials::new("app-key", "app-secret")?, routes)
//!     .with_channel_path("/channels/authorize");
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
//! | denied | 403 (the reason is logged, not sent) |
//! | not `POST` | 405 with `Allow: POST` (a layer passes `OPTIONS` on, for CORS preflights) |
//! | body over the limit (with or without `Content-Length`) | 413 |
//! | neither form nor JSON | 415 |
//! | authorizer error, or a decision that cannot be signed | 500 (detail logged, not sent) |
//!
//! Every answer is JSON with `Cache-Control: no-store`; refusals are
//! `{"error":{"code":"…","message":"…"}}` with the codes listed in [`pusher_auth::endpoint`].
//! Each decision is a `tracing` event (target `pusher_auth`, see
//! [`pusher_auth::endpoint`#logs]); secrets and auth strings are never logged.
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
//! use pusher_auth::authorizer::{ChannelDecision, ChannelRequest};
//! use pusher_auth::Credentials;
//! use pusher_auth_tower::PusherAuthLayer;
//! use tower_governor::{governor::GovernorConfigBuilder, GovernorLayer};
//! use tower_http::{catch_panic::CatchPanicLayer, cors::CorsLayer, csrf::CsrfLayer, timeout::TimeoutLayer};
//!
//! # async fn send_message() -> &'static str { "sent" }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let authorizer = |_request: ChannelRequest| async { Ok::<_, std::convert::Infallible>(ChannelDecision::Allow) };
//! let pusher = PusherAuthLayer::new(Credentials::new("app-key", "app-secret")?, authorizer)
//!     .with_channel_path("/channels/authorize");
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
use pusher_auth::authorizer::{Authorizer, BoxError, BoxFuture};
use pusher_auth::endpoint::{Endpoints, Route};
use pusher_auth::Credentials;
use tower_layer::Layer;
use tower_service::Service;

mod answer;
mod body;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use body::{AnswerBody, ResponseBody};
/// The core crate, re-exported so that its `testing` helpers (feature `testing`) need no
/// dependency of their own.
pub use pusher_auth;
pub use pusher_auth::endpoint::{
    Answer, DEFAULT_BODY_LIMIT, DEFAULT_WEBHOOK_BODY_LIMIT, LARAVEL_ECHO_PATHS, PUSHER_JS_PATHS,
};

/// The Pusher auth endpoints of one app, to mount as routes (its services) or as a layer.
///
/// Defaults: channels at `POST /pusher/auth`, user sign-in at `POST /pusher/user-auth` (the
/// pusher-js defaults; sign-in only when the authorizer signs users in), no webhooks, 16 KiB
/// bodies (512 KiB for webhooks), 100 channels a batch decided 16 at a time. The answers,
/// statuses and error codes are those of [`pusher_auth::endpoint`].
pub struct PusherAuthLayer<A> {
    endpoints: Endpoints<A>,
}

impl<A> Clone for PusherAuthLayer<A> {
    fn clone(&self) -> Self {
        PusherAuthLayer {
            endpoints: self.endpoints.clone(),
        }
    }
}

impl<A> fmt::Debug for PusherAuthLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuthLayer")
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

impl<A: Authorizer> PusherAuthLayer<A> {
    /// The endpoints signing with `credentials` and deciding with `authorizer`.
    pub fn new(credentials: Credentials, authorizer: A) -> Self {
        PusherAuthLayer {
            endpoints: Endpoints::new(credentials, authorizer),
        }
    }

    /// The layer of already configured endpoints.
    pub fn from_endpoints(endpoints: Endpoints<A>) -> Self {
        PusherAuthLayer { endpoints }
    }

    fn map_endpoints(self, f: impl FnOnce(Endpoints<A>) -> Endpoints<A>) -> Self {
        PusherAuthLayer {
            endpoints: f(self.endpoints),
        }
    }

    pusher_auth::__endpoint_builders!();
}

impl<A> PusherAuthLayer<A> {
    /// The configured endpoints.
    pub fn endpoints(&self) -> &Endpoints<A> {
        &self.endpoints
    }

    /// The channel authorization path.
    pub fn channel_path(&self) -> &str {
        self.endpoints.channel_path()
    }

    /// The user sign-in path, when sign-in is answered.
    pub fn user_path(&self) -> Option<&str> {
        self.endpoints.user_path()
    }

    /// The webhook path, if webhooks are configured.
    pub fn webhook_path(&self) -> Option<&str> {
        self.endpoints.webhook_path()
    }

    /// A standalone service answering channel authorization on **any** path, for mounting at
    /// a route (`Router::route_service("/pusher/auth", layer.channel_service())`).
    pub fn channel_service(&self) -> PusherAuthService<A> {
        self.service(Route::Channel)
    }

    /// A standalone service answering user sign-in on any path.
    pub fn user_service(&self) -> PusherAuthService<A> {
        self.service(Route::User)
    }

    /// A standalone service answering webhooks on any path (without
    /// [`PusherAuthLayer::with_webhooks`], every webhook gets a 500 `misconfigured`).
    pub fn webhook_service(&self) -> PusherAuthService<A> {
        self.service(Route::Webhook)
    }

    /// Every answered path with its standalone service: what to mount as routes.
    ///
    /// # Panics
    ///
    /// When two answered endpoints share a path ([`Endpoints::check_paths`]).
    #[track_caller]
    pub fn services(&self) -> impl Iterator<Item = (&str, PusherAuthService<A>)> {
        self.endpoints.check_paths();
        self.endpoints
            .routes()
            .map(|(path, route)| (path, self.service(route)))
    }

    fn service(&self, route: Route) -> PusherAuthService<A> {
        PusherAuthService {
            endpoints: self.endpoints.clone(),
            route,
        }
    }
}

impl<S, A> Layer<S> for PusherAuthLayer<A> {
    type Service = PusherAuth<S, A>;

    /// # Panics
    ///
    /// When two answered endpoints share a path ([`Endpoints::check_paths`]).
    fn layer(&self, inner: S) -> Self::Service {
        self.endpoints.check_paths();
        PusherAuth {
            inner,
            endpoints: self.endpoints.clone(),
        }
    }
}

/// The service [`PusherAuthLayer`] makes: answers its own paths, passes the rest (and every
/// `OPTIONS` request) to `S`. Its response body is [`ResponseBody`]: the inner service's body,
/// untouched, or the answer.
pub struct PusherAuth<S, A> {
    inner: S,
    endpoints: Endpoints<A>,
}

impl<S: Clone, A> Clone for PusherAuth<S, A> {
    fn clone(&self) -> Self {
        PusherAuth {
            inner: self.inner.clone(),
            endpoints: self.endpoints.clone(),
        }
    }
}

impl<S: fmt::Debug, A> fmt::Debug for PusherAuth<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuth")
            .field("inner", &self.inner)
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

impl<S, A, B, ResBody> Service<Request<B>> for PusherAuth<S, A>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    A: Authorizer,
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
        let route = match self.endpoints.route(request.uri().path()) {
            // Preflights belong to the app's CORS layer, wherever it sits.
            Some(_) if request.method() == Method::OPTIONS => None,
            route => route,
        };
        match route {
            None => ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(request),
                },
            },
            Some(route) => {
                let endpoints = self.endpoints.clone();
                let future =
                    Box::pin(async move { answer::answer(&endpoints, route, request).await });
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
pub struct PusherAuthService<A> {
    endpoints: Endpoints<A>,
    route: Route,
}

impl<A> Clone for PusherAuthService<A> {
    fn clone(&self) -> Self {
        PusherAuthService {
            endpoints: self.endpoints.clone(),
            route: self.route,
        }
    }
}

impl<A> fmt::Debug for PusherAuthService<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuthService")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl<A, B> Service<Request<B>> for PusherAuthService<A>
where
    A: Authorizer,
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
        let route = self.route;
        Box::pin(async move { Ok(answer::answer(&endpoints, route, request).await) })
    }
}
