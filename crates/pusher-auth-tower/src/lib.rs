//! A tower layer that answers Pusher Channels authorization requests.
//!
//! Add [`PusherAuthLayer`] to your router and write who may join which channel (an
//! [`Authorizer`]). The layer answers `POST /pusher/auth` (channels, including pusher-js-auth
//! batches) and `POST /pusher/user-auth` (user sign-in), both configurable, and optionally a
//! webhook route; every other request passes through to your app untouched.
//!
//! ```
//! use axum::{routing::get, Router};
//! use pusher_auth::authorizer::{ChannelDecision, ChannelRequest};
//! use pusher_auth::Credentials;
//! use pusher_auth_tower::PusherAuthLayer;
//! use std::convert::Infallible;
//!
//! #[derive(Clone)]
//! struct User(String); // put into request extensions by your login middleware
//!
//! let credentials = Credentials::new("app-key", "app-secret")?;
//! let authorizer = |request: ChannelRequest| async move {
//!     let logged_in = request.extensions().get::<User>().is_some();
//!     Ok::<_, Infallible>(ChannelDecision::allow_if(logged_in, "not logged in"))
//! };
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "chat" }))
//!     .layer(PusherAuthLayer::new(credentials, authorizer).with_channel_path("/channels/authorize"));
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
//! | not `POST` | 405 with `Allow: POST` |
//! | body over the limit (with or without `Content-Length`) | 413 |
//! | neither form nor JSON | 415 |
//! | authorizer error, or a decision that cannot be signed | 500 (detail logged, not sent) |
//!
//! Every answer is JSON with `Cache-Control: no-store`; refusals are
//! `{"error":{"code":"…","message":"…"}}` with the codes listed in [`pusher_auth::endpoint`]. Each decision is
//! a `tracing` event (target `pusher_auth`) with the socket id, channel, kind, outcome and deny
//! reason; secrets and auth strings are never logged.
//!
//! # Composing with tower-http
//!
//! The layer does not re-implement CORS, CSRF, timeouts, panic catching or rate limits. Compose
//! them; with axum the last `.layer()` is the outermost, so add session or login layers after
//! this one so that they run first and fill the request extensions the authorizer reads:
//!
//! ```text
//! Router::new()
//!     .route("/channels/send-message", post(send_message))
//!     .layer(PusherAuthLayer::new(credentials, authorizer).with_channel_path("/channels/authorize"))
//!     .layer(session_layer)                                  // fills extensions before the layer runs
//!     .layer(CatchPanicLayer::new())                         // an authorizer panic becomes a 500
//!     .layer(TimeoutLayer::new(Duration::from_secs(10)))     // a hung authorizer is bounded
//!     .layer(CsrfLayer::new())                               // Sec-Fetch-Site / Origin check (tower-http 0.7)
//!     .layer(CorsLayer::new()                                // cross-origin pages with a bearer token
//!         .allow_origin(["https://app.example".parse()?])
//!         .allow_methods([Method::POST])
//!         .allow_headers([AUTHORIZATION, CONTENT_TYPE, HeaderName::from_static("x-csrf-token")]))
//!     .layer(GovernorLayer::new(governor_config));           // tower_governor: per-IP limits with a
//!                                                            // generous burst (pusher-js re-authorizes
//!                                                            // every channel on every reconnect)
//! ```

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use pusher_auth::authorizer::{Authorizer, BoxError, BoxFuture};
use pusher_auth::endpoint::{Endpoints, Route};
use pusher_auth::request::Limits;
use pusher_auth::webhook::WebhookVerifier;
use pusher_auth::Credentials;
use tower_layer::Layer;
use tower_service::Service;

mod answer;
pub mod webhook;

pub use pusher_auth::endpoint::{Answer, DEFAULT_BODY_LIMIT};
pub use webhook::WebhookHandler;

pub(crate) struct Config<A> {
    endpoints: Endpoints<A>,
    channel_path: Cow<'static, str>,
    user_path: Option<Cow<'static, str>>,
    webhook_path: Option<Cow<'static, str>>,
}

impl<A> Config<A> {
    fn route(&self, path: &str) -> Option<Route> {
        if path == self.channel_path {
            Some(Route::Channel)
        } else if self.user_path.as_deref() == Some(path) {
            Some(Route::User)
        } else if self.webhook_path.as_deref() == Some(path) {
            Some(Route::Webhook)
        } else {
            None
        }
    }
}

impl<A: Clone> Clone for Config<A> {
    fn clone(&self) -> Self {
        Config {
            endpoints: self.endpoints.clone(),
            channel_path: self.channel_path.clone(),
            user_path: self.user_path.clone(),
            webhook_path: self.webhook_path.clone(),
        }
    }
}

/// Answers Pusher auth requests on its paths and passes everything else to the inner service.
///
/// Defaults: channels at `POST /pusher/auth`, user sign-in at `POST /pusher/user-auth` (the
/// pusher-js defaults), no webhook route, a [`DEFAULT_BODY_LIMIT`] body limit, and
/// [`Limits::default`] (100 channels a batch). The answers, statuses and error codes are those
/// of [`pusher_auth::endpoint`].
pub struct PusherAuthLayer<A> {
    config: Arc<Config<A>>,
}

impl<A> Clone for PusherAuthLayer<A> {
    fn clone(&self) -> Self {
        PusherAuthLayer {
            config: Arc::clone(&self.config),
        }
    }
}

impl<A> fmt::Debug for PusherAuthLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuthLayer")
            .field("endpoints", &self.config.endpoints)
            .field("channel_path", &self.config.channel_path)
            .field("user_path", &self.config.user_path)
            .field("webhook_path", &self.config.webhook_path)
            .finish()
    }
}

impl<A: Authorizer> PusherAuthLayer<A> {
    /// A layer signing with `credentials` and deciding with `authorizer`.
    pub fn new(credentials: Credentials, authorizer: A) -> Self {
        PusherAuthLayer {
            config: Arc::new(Config {
                endpoints: Endpoints::new(credentials, authorizer),
                channel_path: Cow::Borrowed("/pusher/auth"),
                user_path: Some(Cow::Borrowed("/pusher/user-auth")),
                webhook_path: None,
            }),
        }
    }

    fn map(mut self, f: impl FnOnce(&mut Config<A>)) -> Self {
        let mut config = Arc::try_unwrap(self.config).unwrap_or_else(|shared| (*shared).clone());
        f(&mut config);
        self.config = Arc::new(config);
        self
    }

    /// Answers channel authorization at `path` (pusher-js `channelAuthorization.endpoint`).
    #[must_use]
    pub fn with_channel_path(self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        self.map(|c| c.channel_path = path)
    }

    /// Answers user sign-in at `path` (pusher-js `userAuthentication.endpoint`).
    #[must_use]
    pub fn with_user_path(self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        self.map(|c| c.user_path = Some(path))
    }

    /// Does not answer user sign-in; requests to that path pass through.
    #[must_use]
    pub fn without_user_auth(self) -> Self {
        self.map(|c| c.user_path = None)
    }

    /// Verifies webhooks at `path` and hands them to `handler`: 200 when it succeeds, 401 for a
    /// wrong key or signature, 400 for a bad body, 500 when the handler fails.
    #[must_use]
    pub fn with_webhooks(
        self,
        path: impl Into<Cow<'static, str>>,
        handler: impl WebhookHandler,
    ) -> Self {
        self.with_webhook_verifier(path, handler, |v| v)
    }

    /// Like [`PusherAuthLayer::with_webhooks`], adjusting the verifier (for example
    /// [`WebhookVerifier::with_max_age`]).
    #[must_use]
    pub fn with_webhook_verifier(
        self,
        path: impl Into<Cow<'static, str>>,
        handler: impl WebhookHandler,
        configure: impl FnOnce(WebhookVerifier) -> WebhookVerifier,
    ) -> Self {
        let path = path.into();
        self.map(|c| {
            let verifier = configure(WebhookVerifier::new(c.endpoints.credentials().clone()));
            c.endpoints = c.endpoints.clone().with_webhooks(verifier, handler);
            c.webhook_path = Some(path);
        })
    }

    /// The largest body read, in bytes, whether or not the client sends `Content-Length`.
    #[must_use]
    pub fn with_body_limit(self, bytes: usize) -> Self {
        self.map(|c| c.endpoints = c.endpoints.clone().with_body_limit(bytes))
    }

    /// The batch and parameter limits.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        self.map(|c| c.endpoints = c.endpoints.clone().with_limits(limits))
    }

    /// The channel authorization path.
    pub fn channel_path(&self) -> &str {
        &self.config.channel_path
    }

    /// The user sign-in path, unless sign-in is switched off.
    pub fn user_path(&self) -> Option<&str> {
        self.config.user_path.as_deref()
    }

    /// The webhook path, if webhooks are configured.
    pub fn webhook_path(&self) -> Option<&str> {
        self.config.webhook_path.as_deref()
    }

    /// A standalone service answering channel authorization on **any** path, for mounting at
    /// a route (`Router::route_service("/pusher/auth", layer.channel_service())`).
    pub fn channel_service(&self) -> PusherAuthService<A> {
        PusherAuthService {
            config: Arc::clone(&self.config),
            route: Route::Channel,
        }
    }

    /// A standalone service answering user sign-in on any path.
    pub fn user_service(&self) -> PusherAuthService<A> {
        PusherAuthService {
            config: Arc::clone(&self.config),
            route: Route::User,
        }
    }

    /// A standalone service answering webhooks on any path (requires
    /// [`PusherAuthLayer::with_webhooks`]; without it every webhook gets a 500).
    pub fn webhook_service(&self) -> PusherAuthService<A> {
        PusherAuthService {
            config: Arc::clone(&self.config),
            route: Route::Webhook,
        }
    }
}

impl<S, A> Layer<S> for PusherAuthLayer<A> {
    type Service = PusherAuth<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        PusherAuth {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`PusherAuthLayer`] makes: answers its own paths, passes the rest to `S`.
///
/// Its response body is the inner service's own (`ResBody: From<Bytes>`: axum's `Body`,
/// `Full<Bytes>`, …), so passing a request through adds no wrapping of the response.
pub struct PusherAuth<S, A> {
    inner: S,
    config: Arc<Config<A>>,
}

impl<S: Clone, A> Clone for PusherAuth<S, A> {
    fn clone(&self) -> Self {
        PusherAuth {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S: fmt::Debug, A> fmt::Debug for PusherAuth<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PusherAuth")
            .field("inner", &self.inner)
            .field("channel_path", &self.config.channel_path)
            .finish_non_exhaustive()
    }
}

impl<S, A, B, ResBody> Service<Request<B>> for PusherAuth<S, A>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    A: Authorizer,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.config.route(request.uri().path()) {
            None => ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(request),
                },
            },
            Some(route) => {
                let config = Arc::clone(&self.config);
                let future =
                    Box::pin(
                        async move { answer::answer(&config.endpoints, route, request).await },
                    );
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
        Answer { future: BoxFuture<'static, Response<Bytes>> },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Answer { future } => {
                future.as_mut().poll(cx).map(|r| Ok(r.map(ResBody::from)))
            }
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
    config: Arc<Config<A>>,
    route: Route,
}

impl<A> Clone for PusherAuthService<A> {
    fn clone(&self) -> Self {
        PusherAuthService {
            config: Arc::clone(&self.config),
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
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let route = self.route;
        Box::pin(async move {
            Ok(answer::answer(&config.endpoints, route, request)
                .await
                .map(Full::new))
        })
    }
}
