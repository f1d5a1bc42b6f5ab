//! The auth endpoints, framework-free: from a request head and body to the exact answer.
//!
//! Every adapter (the tower layer, actix-web) reads the body its own way and hands it here, so
//! all of them give the same statuses, codes and JSON bytes.
//!
//! ```
//! use pusher_auth::authorizer::AllowPrivate;
//! use pusher_auth::endpoint::{Endpoints, Route};
//! use pusher_auth::Credentials;
//!
//! let endpoints = Endpoints::new(Credentials::new("key", "secret")?, AllowPrivate);
//! let (head, ()) = http::Request::post("/pusher/auth")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(())?
//!     .into_parts();
//! let checked = endpoints.precheck(Route::Channel, &head).expect("POST with a form body");
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
//! | 400 | `missing_field`, `duplicate_field`, `invalid_socket_id`, `invalid_channel_name`, `invalid_field_type`, `invalid_encoding`, `malformed_json`, `invalid_batch`, `batch_too_large`, `too_many_params`, `public_channel`, `body_read_error`, `invalid_body` (webhooks) |
//! | 401 | `wrong_key`, `malformed_signature`, `bad_signature`, `expired` (webhooks) |
//! | 403 | `forbidden` (the deny reason is logged, never sent) |
//! | 405 | `method_not_allowed` (with `Allow: POST`) |
//! | 413 | `payload_too_large` |
//! | 415 | `unsupported_media_type` |
//! | 500 | `authorizer_error`, `misconfigured`, `webhook_handler_error` (details logged, never sent) |
//!
//! Every answer is `application/json` with `Cache-Control: no-store`.

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, StatusCode};

use crate::authorizer::{
    Authorizer, BoxError, ChannelDecision, ChannelRequest, RequestHead, UserDecision, UserRequest,
};
use crate::credentials::Credentials;
use crate::names::{ChannelKind, ChannelName, SocketId};
use crate::request::{
    parse_channel_request, parse_user_request, BatchOutcome, BatchResponse, BodyFormat,
    ChannelAuthRequest, Channels, Limits, Params, UserAuthRequest,
};
use crate::sign::{ChannelAuth, SignError};
use crate::webhook::{SharedWebhookHandler, WebhookHandler, WebhookVerifier};
use crate::WebhookError;

/// The default body limit: 16 KiB, room for a batch of 100 long channel names.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

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
        crate::sign::push_json_string(&mut body, message);
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

    /// 404: no endpoint at this path (for standalone services).
    pub fn not_found() -> Self {
        Answer::refuse(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
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

/// The auth endpoints of one app: credentials, authorizer, limits and the optional webhook
/// handler. Cheap to clone.
pub struct Endpoints<A> {
    credentials: Credentials,
    authorizer: A,
    limits: Limits,
    body_limit: usize,
    webhooks: Option<Arc<Webhooks>>,
}

impl<A: Clone> Clone for Endpoints<A> {
    fn clone(&self) -> Self {
        Endpoints {
            credentials: self.credentials.clone(),
            authorizer: self.authorizer.clone(),
            limits: self.limits,
            body_limit: self.body_limit,
            webhooks: self.webhooks.clone(),
        }
    }
}

impl<A> fmt::Debug for Endpoints<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("credentials", &self.credentials)
            .field("limits", &self.limits)
            .field("body_limit", &self.body_limit)
            .field("webhooks", &self.webhooks.is_some())
            .finish_non_exhaustive()
    }
}

impl<A: Authorizer> Endpoints<A> {
    /// Endpoints signing with `credentials` and deciding with `authorizer`, with
    /// [`DEFAULT_BODY_LIMIT`], [`Limits::default`] and no webhook handler.
    pub fn new(credentials: Credentials, authorizer: A) -> Self {
        Endpoints {
            credentials,
            authorizer,
            limits: Limits::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            webhooks: None,
        }
    }

    /// Sets the batch and parameter limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the largest body, in bytes.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Handles webhooks with `handler`, verified by `verifier`.
    #[must_use]
    pub fn with_webhooks(
        mut self,
        verifier: WebhookVerifier,
        handler: impl WebhookHandler,
    ) -> Self {
        self.webhooks = Some(Arc::new(Webhooks {
            verifier,
            handler: Arc::new(handler),
        }));
        self
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The largest body an adapter should read, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// Whether a webhook handler is configured.
    pub fn has_webhooks(&self) -> bool {
        self.webhooks.is_some()
    }

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
        let declared = head
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.body_limit as u64) {
            return Err(Answer::payload_too_large(self.body_limit));
        }
        Ok(Checked { route, format })
    }

    /// Answers a prechecked request whose body has been read (at most
    /// [`Endpoints::body_limit`] bytes).
    pub async fn answer(&self, checked: Checked, head: RequestHead, body: &[u8]) -> Answer {
        if body.len() > self.body_limit {
            return Answer::payload_too_large(self.body_limit);
        }
        let result = match (checked.route, checked.format) {
            (Route::Channel, Some(format)) => {
                match parse_channel_request(format, body, &self.limits) {
                    Ok(parsed) => self.channel(parsed, head).await,
                    Err(e) => Err(bad_request(&e)),
                }
            }
            (Route::User, Some(format)) => match parse_user_request(format, body, &self.limits) {
                Ok(parsed) => self.user(parsed, head).await,
                Err(e) => Err(bad_request(&e)),
            },
            _ => self.webhook(head, body).await,
        };
        result.unwrap_or_else(|refusal| refusal)
    }

    async fn channel(
        &self,
        parsed: ChannelAuthRequest,
        head: RequestHead,
    ) -> Result<Answer, Answer> {
        let (socket_id, channels, params) = parsed.into_parts();
        let params = Arc::new(params);
        let head = Arc::new(head);
        match channels {
            Channels::One(channel) => self
                .decide(&socket_id, channel, &params, &head)
                .await
                .map(|auth| Answer::ok(auth.to_json())),
            Channels::Batch(entries) => {
                let mut answer = BatchResponse::default();
                for entry in entries {
                    let outcome = match entry.channel() {
                        Ok(channel) => {
                            self.decide(&socket_id, channel.clone(), &params, &head)
                                .await
                        }
                        Err(_) => Err(Answer::refuse(
                            StatusCode::BAD_REQUEST,
                            "invalid_channel_name",
                            "",
                        )),
                    };
                    let outcome = match outcome {
                        Ok(auth) => BatchOutcome::Authorized(auth),
                        Err(refusal) => BatchOutcome::Refused(refusal.status.as_u16()),
                    };
                    answer.push(entry.requested(), outcome);
                }
                Ok(Answer::ok(answer.to_json()))
            }
        }
    }

    async fn decide(
        &self,
        socket_id: &SocketId,
        channel: ChannelName,
        params: &Arc<Params>,
        head: &Arc<RequestHead>,
    ) -> Result<ChannelAuth, Answer> {
        let kind = channel.kind();
        let log = |outcome: &'static str, reason: &str| {
            tracing::info!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome, reason, "channel authorization");
        };
        if kind == ChannelKind::Public {
            log("refused", "public channels need no authorization");
            return Err(Answer::refuse(
                StatusCode::BAD_REQUEST,
                "public_channel",
                "public channels need no authorization",
            ));
        }
        let request = ChannelRequest::new(
            socket_id.clone(),
            channel.clone(),
            Arc::clone(params),
            Arc::clone(head),
        );
        let decision = match self.authorizer.authorize_channel(request).await {
            Ok(decision) => decision,
            Err(e) => {
                let e: BoxError = e.into();
                tracing::error!(target: "pusher_auth", socket_id = %socket_id, channel = %channel, kind = %kind, outcome = "failed", error = %e, "channel authorizer failed");
                return Err(Answer::internal("authorizer_error"));
            }
        };
        let signed = match decision {
            ChannelDecision::Allow if kind == ChannelKind::Presence => {
                tracing::error!(target: "pusher_auth", channel = %channel, "the authorizer allowed a presence channel without member data; decide ChannelDecision::member(…)");
                return Err(Answer::internal("misconfigured"));
            }
            ChannelDecision::Allow => self.credentials.authorize_channel(socket_id, &channel),
            ChannelDecision::Member(member) => self
                .credentials
                .authorize_member(socket_id, &channel, &member),
            ChannelDecision::SignedInMember => self
                .credentials
                .authorize_signed_in_member(socket_id, &channel),
            ChannelDecision::Deny(reason) => {
                log("denied", &reason);
                return Err(Answer::forbidden());
            }
            ChannelDecision::Pass => {
                log("denied", "no authorizer decided");
                return Err(Answer::forbidden());
            }
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
        let request = UserRequest::new(socket_id.clone(), Arc::new(params), Arc::new(head));
        match self.authorizer.authenticate_user(request).await {
            Ok(UserDecision::SignIn(user)) => {
                let auth = self
                    .credentials
                    .sign_in(&socket_id, &user)
                    .map_err(|e| misconfigured(&e))?;
                tracing::debug!(target: "pusher_auth", socket_id = %socket_id, user_id = %user.id(), outcome = "signed_in", "user sign-in");
                Ok(Answer::ok(auth.to_json()))
            }
            Ok(UserDecision::Deny(reason)) => {
                tracing::info!(target: "pusher_auth", socket_id = %socket_id, outcome = "denied", reason = %reason, "user sign-in");
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
        let Some(webhooks) = &self.webhooks else {
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
                tracing::warn!(target: "pusher_auth", code = e.code(), "webhook refused");
                let status = match e {
                    WebhookError::InvalidBody(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                Answer::refuse(status, e.code(), &e.to_string())
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
