//! The auth endpoints, framework-free: their configuration (paths, limits, webhooks) and the
//! way from a request head and body to the exact answer.
//!
//! This module is for adapter authors. Every adapter (the tower layer, axum, actix-web) holds
//! an [`Endpoints`], reads the body its own way and hands it here, so all of them share one
//! configuration and give the same statuses, codes and JSON bytes.
//!
//! ```
//! use pusher_auth::endpoint::{Endpoints, Route};
//! use pusher_auth::testing::AllowPrivate;
//! use pusher_auth::Credentials;
//!
//! let endpoints = Endpoints::new(Credentials::new("key", "secret")?, AllowPrivate);
//! let (head, ()) = http::Request::post("/pusher/auth")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(())?
//!     .into_parts();
//! let route = endpoints.route(head.uri.path()).expect("the default channel path");
//! let checked = endpoints.precheck(route, &head).expect("POST with a form body");
//! let answer = block_on(endpoints.answer(checked, head, b"socket_id=1.2&channel_name=private-a"));
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
//! Success is status 200 with the signed JSON. Refusals are `{"error":{"code":"…","message":"…"}}`:
//!
//! | status | codes |
//! |---|---|
//! | 400 | `missing_field`, `duplicate_field`, `invalid_socket_id`, `invalid_channel_name`, `invalid_field_type`, `invalid_encoding`, `malformed_json`, `invalid_batch`, `batch_too_large`, `too_many_params`, `public_channel`, `body_read_error`, `invalid_request`, `invalid_body` (webhooks) |
//! | 401 | `wrong_key`, `malformed_signature`, `bad_signature`, `expired` (webhooks) |
//! | 403 | `forbidden` (the deny reason is logged, never sent) |
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
//! at `DEBUG` (with the socket id, channel, kind and the deny reason), malformed requests at
//! `DEBUG`, refused webhooks at `WARN`, and failures (authorizer errors, a decision that cannot
//! be signed, a failing extractor) at `ERROR`. Secrets, signatures and shared secrets are never
//! logged.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, StatusCode};
use pusher_protocol::{ChannelAuth, ChannelKind, ChannelName, Credentials, SignError, SocketId};

use crate::authorizer::{
    Authorizer, BoxError, ChannelDecision, ChannelRequest, RequestHead, UserDecision, UserRequest,
};
use crate::request::{
    parse_channel_request, parse_user_request, BatchOutcome, BatchResponse, BodyFormat,
    ChannelAuthRequest, Channels, Limits, UserAuthRequest,
};
use crate::webhook::{SharedWebhookHandler, WebhookError, WebhookHandler, WebhookVerifier};

/// The default body limit of the channel and sign-in endpoints: 16 KiB, room for a batch of
/// 100 long channel names.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The default body limit of the webhook endpoint: 512 KiB. Pusher batches webhook events, and
/// one client event alone may carry 10 KB of data; a webhook refused for its size is retried
/// until Pusher gives up, losing every event in it.
pub const DEFAULT_WEBHOOK_BODY_LIMIT: usize = 512 * 1024;

/// The paths pusher-js uses when none are configured.
pub const PUSHER_JS_PATHS: (&str, &str) = ("/pusher/auth", "/pusher/user-auth");

/// The paths Laravel Echo configures pusher-js with (`authEndpoint` and
/// `userAuthentication.endpoint`).
pub const LARAVEL_ECHO_PATHS: (&str, &str) = ("/broadcasting/auth", "/broadcasting/user-auth");

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// Channel authorization (pusher-js `channelAuthorization`), including batches.
    Channel,
    /// User sign-in (pusher-js `userAuthentication`).
    User,
    /// Webhooks from the Pusher server.
    Webhook,
}

/// A request that passed [`Endpoints::precheck`]: its route and body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    route: Route,
    format: Option<BodyFormat>,
}

/// One answer: a status and a JSON body, with fixed headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    status: StatusCode,
    code: Option<&'static str>,
    body: String,
}

impl Answer {
    fn ok(body: String) -> Self {
        Answer {
            status: StatusCode::OK,
            code: None,
            body,
        }
    }

    fn refuse(status: StatusCode, code: &'static str, message: &str) -> Self {
        let mut body = String::with_capacity(48 + message.len());
        body.push_str("{\"error\":{\"code\":\"");
        body.push_str(code);
        body.push_str("\",\"message\":");
        body.push_str(&serde_json::to_string(message).unwrap_or_else(|_| String::from("\"\"")));
        body.push_str("}}");
        Answer {
            status,
            code: Some(code),
            body,
        }
    }

    fn forbidden() -> Self {
        Answer::refuse(StatusCode::FORBIDDEN, "forbidden", "not authorized")
    }

    fn internal(code: &'static str) -> Self {
        Answer::refuse(StatusCode::INTERNAL_SERVER_ERROR, code, "internal error")
    }

    /// 413: the body is larger than `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Answer::refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("the body exceeds {limit} bytes"),
        )
    }

    /// 400: the body could not be read (the connection failed mid-body).
    pub fn body_read_error() -> Self {
        Answer::refuse(
            StatusCode::BAD_REQUEST,
            "body_read_error",
            "the body could not be read",
        )
    }

    /// 400: the request line or headers could not be read (an adapter could not convert
    /// them).
    pub fn invalid_request() -> Self {
        Answer::refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request line or headers could not be read",
        )
    }

    /// 500 `authorizer_error`: the authorizer, or what finds the user for it, failed (the
    /// adapter logs why; the client is told nothing more).
    pub fn authorizer_error() -> Self {
        Answer::internal("authorizer_error")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code of a refusal; `None` for a success.
    pub fn code(&self) -> Option<&'static str> {
        self.code
    }

    /// The JSON body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The JSON body, by value.
    pub fn into_body(self) -> String {
        self.body
    }

    /// The headers to send: `Content-Type: application/json`, `Cache-Control: no-store`, and
    /// `Allow: POST` on a 405.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
        let allow = (self.status == StatusCode::METHOD_NOT_ALLOWED)
            .then(|| (ALLOW, HeaderValue::from_static("POST")));
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ]
        .into_iter()
        .chain(allow)
    }
}

struct Webhooks {
    verifier: WebhookVerifier,
    handler: SharedWebhookHandler,
}

#[derive(Clone)]
struct Paths {
    channel: Cow<'static, str>,
    user: Option<Cow<'static, str>>,
    webhook: Option<Cow<'static, str>>,
}

/// The auth endpoints of one app: credentials, authorizer, paths, limits and the optional
/// webhook handler. Cheap to clone (one reference count).
///
/// Defaults: channels at `POST /pusher/auth`, user sign-in at `POST /pusher/user-auth` (the
/// pusher-js defaults; answered only when the authorizer [signs users
/// in](Authorizer::signs_in)), no webhooks, [`DEFAULT_BODY_LIMIT`],
/// [`DEFAULT_WEBHOOK_BODY_LIMIT`] and [`Limits::default`].
pub struct Endpoints<A> {
    inner: Arc<Inner<A>>,
}

struct Inner<A> {
    credentials: Credentials,
    authorizer: Arc<A>,
    signs_in: bool,
    paths: Paths,
    limits: Limits,
    body_limit: usize,
    webhook_body_limit: usize,
    webhooks: Option<Arc<Webhooks>>,
}

impl<A> Clone for Inner<A> {
    fn clone(&self) -> Self {
        Inner {
            credentials: self.credentials.clone(),
            authorizer: Arc::clone(&self.authorizer),
            signs_in: self.signs_in,
            paths: self.paths.clone(),
            limits: self.limits,
            body_limit: self.body_limit,
            webhook_body_limit: self.webhook_body_limit,
            webhooks: self.webhooks.clone(),
        }
    }
}

impl<A> Clone for Endpoints<A> {
    fn clone(&self) -> Self {
        Endpoints {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A> fmt::Debug for Endpoints<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("credentials", &self.inner.credentials)
            .field("channel_path", &self.inner.paths.channel)
            .field("user_path", &self.user_path())
            .field("webhook_path", &self.inner.paths.webhook)
            .field("limits", &self.inner.limits)
            .field("body_limit", &self.inner.body_limit)
            .field("webhook_body_limit", &self.inner.webhook_body_limit)
            .finish_non_exhaustive()
    }
}

/// Configured [`Endpoints`] and the hooks a native adapter runs to find the user (actix-web
/// extractors, Rocket guards), shared behind one `Arc`: cloning it, as a framework does per
/// worker or per route, is one reference count. Building it (`map_endpoints`, `push_hook`)
/// moves what it holds when it is not shared, and copies it only when it is.
///
/// ```
/// use pusher_auth::endpoint::{Endpoints, WithHooks};
/// use pusher_auth::testing::AllowPrivate;
/// use pusher_auth::Credentials;
///
/// let endpoints = Endpoints::new(Credentials::new("key", "secret")?, AllowPrivate);
/// let mounted = WithHooks::new(endpoints)
///     .map_endpoints(|e| e.for_laravel_echo())
///     .push_hook("find the user");
/// assert_eq!(mounted.endpoints().channel_path(), "/broadcasting/auth");
/// assert_eq!(mounted.hooks(), ["find the user"]);
/// # Ok::<(), pusher_auth::ConfigError>(())
/// ```
pub struct WithHooks<A, H> {
    inner: Arc<(Endpoints<A>, Vec<H>)>,
}

impl<A, H: Clone> WithHooks<A, H> {
    /// The endpoints, with no hook yet.
    pub fn new(endpoints: Endpoints<A>) -> Self {
        WithHooks {
            inner: Arc::new((endpoints, Vec::new())),
        }
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &Endpoints<A> {
        &self.inner.0
    }

    /// The hooks, in the order they were added.
    pub fn hooks(&self) -> &[H] {
        &self.inner.1
    }

    /// Reconfigures the endpoints (the adapters' builder methods come through here).
    #[must_use]
    #[track_caller]
    pub fn map_endpoints(self, f: impl FnOnce(Endpoints<A>) -> Endpoints<A>) -> Self {
        let (endpoints, hooks) = self.into_parts();
        WithHooks {
            inner: Arc::new((f(endpoints), hooks)),
        }
    }

    /// Adds a hook, run after those added before it.
    #[must_use]
    pub fn push_hook(self, hook: H) -> Self {
        let (endpoints, mut hooks) = self.into_parts();
        hooks.push(hook);
        WithHooks {
            inner: Arc::new((endpoints, hooks)),
        }
    }

    fn into_parts(self) -> (Endpoints<A>, Vec<H>) {
        Arc::try_unwrap(self.inner).unwrap_or_else(|shared| (shared.0.clone(), shared.1.clone()))
    }
}

impl<A, H> Clone for WithHooks<A, H> {
    fn clone(&self) -> Self {
        WithHooks {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A, H> fmt::Debug for WithHooks<A, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithHooks")
            .field("endpoints", &self.inner.0)
            .field("hooks", &self.inner.1.len())
            .finish()
    }
}

/// Checks a configured path: absolute, and plain (what every adapter's router takes
/// literally: no query, no spaces, no route-pattern characters).
#[track_caller]
#[allow(clippy::panic)]
fn check_path(path: &str, what: &str) {
    if !path.starts_with('/') {
        panic!("pusher-auth: the {what} path `{path}` must start with `/`");
    }
    // Every framework must read the path the same way: no pattern syntax, and nothing a
    // router would decode or collapse first (`%XX`, non-ASCII, empty segments).
    if path.contains(['?', '#', '{', '}', '*', ':', '<', '>', '%'])
        || path.contains("//")
        || path.bytes().any(|b| !b.is_ascii_graphic())
    {
        panic!("pusher-auth: the {what} path `{path}` must be a plain path (ASCII, no query, fragment, spaces, percent-encoding, empty segments or route-pattern characters)");
    }
}

impl<A: Authorizer> Endpoints<A> {
    /// Endpoints signing with `credentials` and deciding with `authorizer`, with the defaults
    /// above.
    pub fn new(credentials: Credentials, authorizer: A) -> Self {
        Endpoints {
            inner: Arc::new(Inner {
                credentials,
                signs_in: authorizer.signs_in(),
                authorizer: Arc::new(authorizer),
                paths: Paths {
                    channel: Cow::Borrowed(PUSHER_JS_PATHS.0),
                    user: Some(Cow::Borrowed(PUSHER_JS_PATHS.1)),
                    webhook: None,
                },
                limits: Limits::default(),
                body_limit: DEFAULT_BODY_LIMIT,
                webhook_body_limit: DEFAULT_WEBHOOK_BODY_LIMIT,
                webhooks: None,
            }),
        }
    }

    /// The configuration, for a builder method to change.
    fn config(&mut self) -> &mut Inner<A> {
        Arc::make_mut(&mut self.inner)
    }

    /// Answers channel authorization at `path` (pusher-js `channelAuthorization.endpoint`).
    ///
    /// # Panics
    ///
    /// When `path` does not start with `/`, has a query or spaces, or is another endpoint's.
    #[must_use]
    #[track_caller]
    pub fn with_channel_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        check_path(&path, "channel authorization");
        self.config().paths.channel = path;
        self
    }

    /// Answers user sign-in at `path` (pusher-js `userAuthentication.endpoint`), when the
    /// authorizer signs users in.
    ///
    /// # Panics
    ///
    /// As [`Endpoints::with_channel_path`].
    #[must_use]
    #[track_caller]
    pub fn with_user_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        check_path(&path, "user sign-in");
        self.config().paths.user = Some(path);
        self
    }

    /// Does not answer user sign-in, whatever the authorizer: requests to that path go on to
    /// the app.
    #[must_use]
    pub fn without_user_auth(mut self) -> Self {
        self.config().paths.user = None;
        self
    }

    /// Laravel Echo's paths: channels at `/broadcasting/auth`, sign-in at
    /// `/broadcasting/user-auth` (what Echo configures pusher-js with when the app sets no
    /// `authEndpoint`).
    #[must_use]
    #[track_caller]
    pub fn for_laravel_echo(self) -> Self {
        self.with_channel_path(LARAVEL_ECHO_PATHS.0)
            .with_user_path(LARAVEL_ECHO_PATHS.1)
    }

    /// Verifies webhooks at `path` and hands them to `handler`: 200 when it succeeds, 401 for a
    /// wrong key or signature or a webhook older than 5 minutes, 400 for a bad body, 500 when
    /// the handler fails.
    ///
    /// # Panics
    ///
    /// As [`Endpoints::with_channel_path`].
    #[must_use]
    #[track_caller]
    pub fn with_webhooks(
        self,
        path: impl Into<Cow<'static, str>>,
        handler: impl WebhookHandler,
    ) -> Self {
        self.with_webhook_verifier(path, handler, |v| v)
    }

    /// Like [`Endpoints::with_webhooks`], adjusting the verifier (for example
    /// [`WebhookVerifier::with_max_age`]).
    ///
    /// # Panics
    ///
    /// As [`Endpoints::with_channel_path`].
    #[must_use]
    #[track_caller]
    pub fn with_webhook_verifier(
        mut self,
        path: impl Into<Cow<'static, str>>,
        handler: impl WebhookHandler,
        configure: impl FnOnce(WebhookVerifier) -> WebhookVerifier,
    ) -> Self {
        let path = path.into();
        check_path(&path, "webhook");
        let verifier = configure(WebhookVerifier::new(self.inner.credentials.clone()));
        let config = self.config();
        config.webhooks = Some(Arc::new(Webhooks {
            verifier,
            handler: Arc::new(handler),
        }));
        config.paths.webhook = Some(path);
        self
    }

    /// The largest channel or sign-in body read, in bytes, whether or not the client sends
    /// `Content-Length`.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.config().body_limit = bytes;
        self
    }

    /// The largest webhook body read, in bytes.
    #[must_use]
    pub fn with_webhook_body_limit(mut self, bytes: usize) -> Self {
        self.config().webhook_body_limit = bytes;
        self
    }

    /// The batch, parameter and concurrency limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.config().limits = limits;
        self
    }
}

impl<A> Endpoints<A> {
    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &A {
        &self.inner.authorizer
    }

    /// The channel authorization path.
    pub fn channel_path(&self) -> &str {
        &self.inner.paths.channel
    }

    /// The user sign-in path, when sign-in is answered: a path is configured and the
    /// authorizer signs users in.
    pub fn user_path(&self) -> Option<&str> {
        self.inner
            .paths
            .user
            .as_deref()
            .filter(|_| self.inner.signs_in)
    }

    /// The webhook path, if webhooks are configured.
    pub fn webhook_path(&self) -> Option<&str> {
        self.inner.paths.webhook.as_deref()
    }

    /// Checks that the answered paths are distinct; adapters call it when they mount the
    /// endpoints, so a clash shows at start-up, whatever order the paths were set in.
    ///
    /// # Panics
    ///
    /// When two answered endpoints share a path.
    #[track_caller]
    #[allow(clippy::panic)]
    pub fn check_paths(&self) {
        let paths: Vec<(&str, Route)> = self.routes().collect();
        for (i, (path, route)) in paths.iter().enumerate() {
            if let Some((_, other)) = paths.iter().skip(i + 1).find(|(p, _)| p == path) {
                panic!("pusher-auth: the {route:?} and {other:?} endpoints are both at `{path}`");
            }
        }
    }

    /// Every path answered, with its route.
    pub fn routes(&self) -> impl Iterator<Item = (&str, Route)> {
        [
            Some((self.channel_path(), Route::Channel)),
            self.user_path().map(|p| (p, Route::User)),
            self.webhook_path().map(|p| (p, Route::Webhook)),
        ]
        .into_iter()
        .flatten()
    }

    /// The route answered at `path`, if any.
    pub fn route(&self, path: &str) -> Option<Route> {
        if path == self.inner.paths.channel {
            Some(Route::Channel)
        } else if self.user_path() == Some(path) {
            Some(Route::User)
        } else if self.webhook_path() == Some(path) {
            Some(Route::Webhook)
        } else {
            None
        }
    }

    /// The largest body an adapter should read for `route`, in bytes.
    pub fn body_limit(&self, route: Route) -> usize {
        match route {
            Route::Webhook => self.inner.webhook_body_limit,
            Route::Channel | Route::User => self.inner.body_limit,
        }
    }

    /// The batch, parameter and concurrency limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
}

impl<A: Authorizer> Endpoints<A> {
    /// What can be refused before the body is read: the method (405), the content type (415)
    /// and a declared `Content-Length` over the limit (413). The [`Checked`] it returns is what
    /// [`Endpoints::answer`] needs once the body has been read.
    pub fn precheck(&self, route: Route, head: &RequestHead) -> Result<Checked, Answer> {
        if head.method != Method::POST {
            return Err(Answer::refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use POST",
            ));
        }
        let format = match route {
            Route::Webhook => None,
            _ => Some(body_format(head)?),
        };
        let limit = self.body_limit(route);
        let declared = head
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Answer::payload_too_large(limit));
        }
        Ok(Checked { route, format })
    }

    /// Answers a prechecked request whose body has been read (at most
    /// [`Endpoints::body_limit`] bytes).
    pub async fn answer(&self, checked: Checked, head: RequestHead, body: &[u8]) -> Answer {
        self.answer_with(checked, head, body, || async {
            Ok(http::Extensions::new())
        })
        .await
    }

    /// [`Endpoints::answer`], with `find_user` run only when the authorizer is about to be
    /// asked: after the request has parsed, and after the refusals that need no user (a public
    /// channel, an encrypted channel without a master key; for a batch, only when some channel
    /// is left to decide). Never for a malformed request, never for a webhook. What it returns
    /// joins the request extensions the authorizer reads. This is how adapters whose framework
    /// finds the user outside the request head (actix-web and Rocket extractors) hand it over;
    /// an `Err` is answered as it is. A client's mistake is therefore answered the same way
    /// whether or not the user's backend is up.
    pub async fn answer_with<F, Fut>(
        &self,
        checked: Checked,
        mut head: RequestHead,
        body: &[u8],
        find_user: F,
    ) -> Answer
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<http::Extensions, Answer>>,
    {
        let limit = self.body_limit(checked.route);
        if body.len() > limit {
            return Answer::payload_too_large(limit);
        }
        let result = match (checked.route, checked.format) {
            (Route::Channel, Some(format)) => {
                match parse_channel_request(format, body, &self.inner.limits) {
                    Ok(parsed) => self.channel(parsed, head, find_user).await,
                    Err(e) => Err(bad_request(&e)),
                }
            }
            (Route::User, Some(format)) => {
                match parse_user_request(format, body, &self.inner.limits) {
                    Ok(parsed) => match find_user().await {
                        Ok(found) => {
                            head.extensions.extend(found);
                            self.user(parsed, head).await
                        }
                        Err(refusal) => Err(refusal),
                    },
                    Err(e) => Err(bad_request(&e)),
                }
            }
            _ => self.webhook(head, body).await,
        };
        result.unwrap_or_else(|refusal| refusal)
    }

    async fn channel<F, Fut>(
        &self,
        parsed: ChannelAuthRequest,
        mut head: RequestHead,
        find_user: F,
    ) -> Result<Answer, Answer>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<http::Extensions, Answer>>,
    {
        let (socket_id, channels, params) = parsed.into_parts();
        match channels {
            Channels::One(channel) => {
                refuse_early(&socket_id, &channel, &self.inner.credentials)?;
                head.extensions.extend(find_user().await?);
                let request = ChannelRequest::new(socket_id, channel, params, head);
                let decision = self
                    .inner
                    .authorizer
                    .authorize_channel(request.clone())
                    .await;
                self.sign(
                    request.socket_id(),
                    request.channel(),
                    decision.map_err(Into::into),
                    false,
                )
                .map(|auth| Answer::ok(auth.into_json()))
            }
            Channels::Batch(entries) => {
                // Invalid and public names are refused here; the rest are decided together.
                let mut outcomes: Vec<Option<BatchOutcome>> = Vec::with_capacity(entries.len());
                let mut pending = Vec::new();
                for entry in &entries {
                    let outcome = match entry.channel() {
                        Err(_) => Some(BatchOutcome::Refused(400)),
                        Ok(channel) => {
                            match refuse_early(&socket_id, channel, &self.inner.credentials) {
                                Err(refusal) => {
                                    Some(BatchOutcome::Refused(refusal.status.as_u16()))
                                }
                                Ok(()) => {
                                    pending.push(channel);
                                    None
                                }
                            }
                        }
                    };
                    outcomes.push(outcome);
                }
                let decisions = if pending.is_empty() {
                    Vec::new()
                } else {
                    head.extensions.extend(find_user().await?);
                    let shared = ChannelRequest::shared(params, head);
                    let requests = pending
                        .into_iter()
                        .map(|channel| {
                            ChannelRequest::sharing(socket_id.clone(), channel.clone(), &shared)
                        })
                        .collect();
                    self.inner
                        .authorizer
                        .authorize_channels(requests, self.inner.limits.batch_concurrency)
                        .await
                };
                // Each decision comes with the request it decides: signed for that channel,
                // whatever the order; a channel left undecided is refused.
                let mut decided: Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)> =
                    decisions
                        .into_iter()
                        .map(|(request, decision)| (request, decision.map_err(Into::into)))
                        .collect();
                let mut failures = 0usize;
                let mut answer = BatchResponse::default();
                for (entry, outcome) in entries.iter().zip(outcomes) {
                    let outcome = match outcome {
                        Some(outcome) => outcome,
                        None => {
                            let position = decided.iter().position(|(request, _)| {
                                request.socket_id() == &socket_id
                                    && request.channel().as_str() == entry.requested()
                            });
                            match position.map(|i| decided.swap_remove(i)) {
                                Some((request, decision)) => {
                                    match self.sign(
                                        request.socket_id(),
                                        request.channel(),
                                        decision,
                                        failures > 0,
                                    ) {
                                        Ok(auth) => BatchOutcome::Authorized(auth),
                                        Err(refusal) => {
                                            if refusal.status.is_server_error() {
                                                failures += 1;
                                            }
                                            BatchOutcome::Refused(refusal.status.as_u16())
                                        }
                                    }
                                }
                                None => {
                                    tracing::error!(target: "pusher_auth", channel = entry.requested(), "authorize_channels left a channel without a decision");
                                    BatchOutcome::Refused(500)
                                }
                            }
                        }
                    };
                    answer.push(entry.requested(), outcome);
                }
                if failures > 1 {
                    let more = failures - 1;
                    tracing::error!(target: "pusher_auth", more, "more channels of the batch failed after the one logged above");
                }
                Ok(Answer::ok(answer.to_json()))
            }
        }
    }

    /// Signs a decision, or refuses it; logs the outcome (a failure at `ERROR`, unless `quiet`:
    /// a batch logs its first failure and then a count, not up to 100 lines; denials are
    /// `DEBUG` either way).
    fn sign(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
        decision: Result<ChannelDecision, BoxError>,
        quiet: bool,
    ) -> Result<ChannelAuth, Answer> {
        let kind = channel.kind();
        let denied = |reason: &str| {
            tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "denied", reason, "channel authorization");
            Answer::forbidden()
        };
        let signed = match decision {
            Err(e) => {
                if e.downcast_ref::<crate::routes::Misconfigured>().is_some() {
                    if !quiet {
                        tracing::error!(target: "pusher_auth", channel = %channel, error = %e, "a channel route is misconfigured");
                    }
                    return Err(Answer::internal("misconfigured"));
                }
                if !quiet {
                    tracing::error!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "failed", error = %e, "channel authorizer failed");
                }
                return Err(Answer::internal("authorizer_error"));
            }
            Ok(ChannelDecision::Allow) if kind == ChannelKind::Presence => {
                if !quiet {
                    tracing::error!(target: "pusher_auth", channel = %channel, "the authorizer allowed a presence channel without member data; decide ChannelDecision::member(…) (channel routes: a presence route returning a Membership)");
                }
                return Err(Answer::internal("misconfigured"));
            }
            Ok(ChannelDecision::Allow) => {
                self.inner.credentials.authorize_channel(socket_id, channel)
            }
            Ok(ChannelDecision::Member(member)) => match member.channel_data() {
                Ok(data) => self
                    .inner
                    .credentials
                    .authorize_presence(socket_id, channel, data),
                Err(e) => {
                    if !quiet {
                        tracing::error!(target: "pusher_auth", channel = %channel, error = %e, "the decided presence member is invalid");
                    }
                    return Err(Answer::internal("misconfigured"));
                }
            },
            Ok(ChannelDecision::SignedInMember) => self
                .inner
                .credentials
                .authorize_signed_in_member(socket_id, channel),
            Ok(ChannelDecision::Deny(reason)) => return Err(denied(&reason)),
            Ok(ChannelDecision::Pass) => return Err(denied("no authorizer decided")),
        };
        match signed {
            Ok(auth) => {
                tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "allowed", "channel authorization");
                Ok(auth)
            }
            Err(e) => Err(misconfigured(&e)),
        }
    }

    async fn user(&self, parsed: UserAuthRequest, head: RequestHead) -> Result<Answer, Answer> {
        let (socket_id, params) = parsed.into_parts();
        let request = UserRequest::new(socket_id.clone(), params, head);
        match self.inner.authorizer.authenticate_user(request).await {
            Ok(UserDecision::SignIn(user)) => match user.user_data() {
                Ok(data) => {
                    let auth = self.inner.credentials.authenticate_user(&socket_id, data);
                    tracing::debug!(target: "pusher_auth", socket_id = %socket_id, user_id = ?data.id().as_str(), outcome = "signed_in", "user sign-in");
                    Ok(Answer::ok(auth.to_json()))
                }
                Err(e) => {
                    tracing::error!(target: "pusher_auth", socket_id = %socket_id, error = %e, "the decided user is invalid");
                    Err(Answer::internal("misconfigured"))
                }
            },
            Ok(UserDecision::Deny(reason)) => {
                tracing::debug!(target: "pusher_auth", socket_id = %socket_id, outcome = "denied", reason = %reason, "user sign-in");
                Err(Answer::forbidden())
            }
            Err(e) => {
                let e: BoxError = e.into();
                tracing::error!(target: "pusher_auth", socket_id = %socket_id, outcome = "failed", error = %e, "user authorizer failed");
                Err(Answer::internal("authorizer_error"))
            }
        }
    }

    async fn webhook(&self, head: RequestHead, body: &[u8]) -> Result<Answer, Answer> {
        let Some(webhooks) = &self.inner.webhooks else {
            tracing::error!(target: "pusher_auth", "a webhook arrived but no webhook handler is configured");
            return Err(Answer::internal("misconfigured"));
        };
        let header = |name: &str| {
            head.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let webhook = webhooks
            .verifier
            .verify(header("x-pusher-key"), header("x-pusher-signature"), body)
            .map_err(|e| {
                tracing::warn!(target: "pusher_auth", code = e.code(), error = %e, "webhook refused");
                let status = match e {
                    WebhookError::InvalidBody(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                // The answer names the window, not the measured age (logged above), so the
                // same webhook gets the same answer.
                let message = match &e {
                    WebhookError::Expired { max_ms, .. } => {
                        format!("the webhook's time_ms is more than {max_ms} ms from now")
                    }
                    other => other.to_string(),
                };
                Answer::refuse(status, e.code(), &message)
            })?;
        let events = webhook.events().len();
        match webhooks.handler.handle_dyn(webhook, head).await {
            Ok(()) => {
                tracing::debug!(target: "pusher_auth", events, "webhook handled");
                Ok(Answer::ok("{}".into()))
            }
            Err(e) => {
                tracing::error!(target: "pusher_auth", error = %e, "webhook handler failed");
                Err(Answer::internal("webhook_handler_error"))
            }
        }
    }
}

/// What is refused before the authorizer is asked: a public channel (400: it needs no
/// authorization), and an encrypted channel when the app has no encryption master key (403:
/// the app does not offer encrypted channels; an authorizer's "allow" could not be signed).
fn refuse_early(
    socket_id: &SocketId,
    channel: &ChannelName,
    credentials: &Credentials,
) -> Result<(), Answer> {
    match channel.kind() {
        ChannelKind::Public => {
            tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, outcome = "refused", reason = "public channels need no authorization", "channel authorization");
            Err(Answer::refuse(
                StatusCode::BAD_REQUEST,
                "public_channel",
                "public channels need no authorization",
            ))
        }
        ChannelKind::PrivateEncrypted if !credentials.has_encryption_master_key() => {
            tracing::debug!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, outcome = "denied", reason = "encrypted channels need an encryption master key, and none is configured", "channel authorization");
            Err(Answer::forbidden())
        }
        _ => Ok(()),
    }
}

fn bad_request(e: &crate::RequestError) -> Answer {
    tracing::debug!(target: "pusher_auth", code = e.code(), error = %e, "bad auth request");
    Answer::refuse(StatusCode::BAD_REQUEST, e.code(), &e.to_string())
}

fn misconfigured(e: &SignError) -> Answer {
    tracing::error!(target: "pusher_auth", error = %e, "the answer could not be signed");
    Answer::internal("misconfigured")
}

fn body_format(head: &RequestHead) -> Result<BodyFormat, Answer> {
    head.headers
        .get(CONTENT_TYPE)
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

/// The builder methods of [`Endpoints`], for adapters whose configuration type wraps one: the
/// same names, arguments and documentation in every adapter, so they cannot drift apart.
///
/// The adapter type must have a type parameter `A: Authorizer` and a method
/// `fn map_endpoints(self, f: impl FnOnce(Endpoints<A>) -> Endpoints<A>) -> Self`.
#[doc(hidden)]
#[macro_export]
macro_rules! __endpoint_builders {
    () => {
        /// Answers channel authorization at `path` (pusher-js `channelAuthorization.endpoint`).
        /// Default: `/pusher/auth`.
        ///
        /// # Panics
        ///
        /// When `path` does not start with `/`, has a query or spaces, or is another
        /// endpoint's.
        #[must_use]
        #[track_caller]
        pub fn with_channel_path(
            self,
            path: impl ::core::convert::Into<::std::borrow::Cow<'static, str>>,
        ) -> Self {
            let path = path.into();
            self.map_endpoints(|e| e.with_channel_path(path))
        }

        /// Answers user sign-in at `path` (pusher-js `userAuthentication.endpoint`) when the
        /// authorizer signs users in. Default: `/pusher/user-auth`.
        ///
        /// # Panics
        ///
        /// As [`with_channel_path`](Self::with_channel_path).
        #[must_use]
        #[track_caller]
        pub fn with_user_path(
            self,
            path: impl ::core::convert::Into<::std::borrow::Cow<'static, str>>,
        ) -> Self {
            let path = path.into();
            self.map_endpoints(|e| e.with_user_path(path))
        }

        /// Does not answer user sign-in, whatever the authorizer.
        #[must_use]
        pub fn without_user_auth(self) -> Self {
            self.map_endpoints(|e| e.without_user_auth())
        }

        /// Laravel Echo's paths: channels at `/broadcasting/auth`, sign-in at
        /// `/broadcasting/user-auth`, as Echo configures pusher-js by default.
        #[must_use]
        #[track_caller]
        pub fn for_laravel_echo(self) -> Self {
            self.map_endpoints(|e| e.for_laravel_echo())
        }

        /// Verifies webhooks at `path` and hands them to `handler`: 200 when it succeeds, 401
        /// for a wrong key or signature or a webhook more than 5 minutes old, 400 for a bad
        /// body, 500 when the handler fails.
        ///
        /// # Panics
        ///
        /// As [`with_channel_path`](Self::with_channel_path).
        #[must_use]
        #[track_caller]
        pub fn with_webhooks(
            self,
            path: impl ::core::convert::Into<::std::borrow::Cow<'static, str>>,
            handler: impl $crate::webhook::WebhookHandler,
        ) -> Self {
            let path = path.into();
            self.map_endpoints(|e| e.with_webhooks(path, handler))
        }

        /// Like [`with_webhooks`](Self::with_webhooks), adjusting the verifier (for example
        /// `WebhookVerifier::with_max_age`).
        ///
        /// # Panics
        ///
        /// As [`with_channel_path`](Self::with_channel_path).
        #[must_use]
        #[track_caller]
        pub fn with_webhook_verifier(
            self,
            path: impl ::core::convert::Into<::std::borrow::Cow<'static, str>>,
            handler: impl $crate::webhook::WebhookHandler,
            configure: impl ::core::ops::FnOnce(
                $crate::webhook::WebhookVerifier,
            ) -> $crate::webhook::WebhookVerifier,
        ) -> Self {
            let path = path.into();
            self.map_endpoints(|e| e.with_webhook_verifier(path, handler, configure))
        }

        /// The largest channel or sign-in body read, in bytes (default 16 KiB), whether or not
        /// the client sends `Content-Length`.
        #[must_use]
        pub fn with_body_limit(self, bytes: usize) -> Self {
            self.map_endpoints(|e| e.with_body_limit(bytes))
        }

        /// The largest webhook body read, in bytes (default 512 KiB).
        #[must_use]
        pub fn with_webhook_body_limit(self, bytes: usize) -> Self {
            self.map_endpoints(|e| e.with_webhook_body_limit(bytes))
        }

        /// The batch, parameter and concurrency limits.
        #[must_use]
        pub fn with_limits(self, limits: $crate::request::Limits) -> Self {
            self.map_endpoints(|e| e.with_limits(limits))
        }
    };
}
