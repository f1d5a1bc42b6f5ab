//! axum integration for pusher-auth: the auth endpoints as real routes of your `Router`, whose
//! channel routes receive your user, found once per request by any axum extractor (a
//! tower-sessions `Session`, an axum-login `AuthSession`, your own).
//!
//! ```toml
//! [dependencies]
//! pusher-auth-axum = "0.1"
//! ```
//!
//! ```
//! use axum::extract::FromRequestParts;
//! use axum::http::{request::Parts, StatusCode};
//! use axum::Router;
//! use pusher_auth_axum::prelude::*;
//!
//! /// The logged-in user. Here from a header; in a real app from your session (see the
//! /// crate README for tower-sessions and axum-login).
//! #[derive(Clone)]
//! struct User { id: u64, name: String }
//!
//! impl<S: Send + Sync> FromRequestParts<S> for User {
//!     type Rejection = StatusCode;
//!     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
//!         let id = parts.headers.get("x-user-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
//!         // A 4xx rejection: not logged in, so pusher-js gets a 403.
//!         id.map(|id| User { id, name: format!("user {id}") }).ok_or(StatusCode::UNAUTHORIZED)
//!     }
//! }
//!
//! let routes = ChannelRoutes::new()
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 100 == user.id })
//!     .presence("chat", |user: User, (): ()| async move {
//!         PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name }))
//!     });
//! let endpoints = Endpoints::new(Credentials::new("app-key", "app-secret")?, routes)
//!     .with_signin(|user: User, _: SigninRequest| async move { UserData::new(UserId::from(user.id)) })
//!     .for_laravel_echo(); // /broadcasting/auth and /broadcasting/user-auth
//! let app: Router = Router::new().pusher_auth(endpoints);
//! # Ok::<(), pusher_auth::ConfigError>(())
//! ```
//!
//! - [`RouterExt::pusher_auth`] mounts the endpoints as routes. The user type `U` of the
//!   authorizer is an axum extractor, run with the router's state, once per request however
//!   many channels a batch names, and only once the request has parsed. A rejection with a 4xx
//!   status means nobody is logged in: every channel is refused (403), logged at `DEBUG` as
//!   "not logged in". A rejection with a 5xx status (a session layer missing, a store down)
//!   fails the request with a 500 `authorizer_error` and an `ERROR` line, because that is not
//!   the client's doing. An authorizer for `()` needs no extractor.
//! - [`SenderSocket`] reads Laravel Echo's `X-Socket-ID`, to exclude the sender when publishing.
//! - [`VerifiedWebhook`] is an extractor for an ordinary route of your app that receives
//!   Pusher's webhooks, verified, with your router state at hand.
//! - `pusher_auth_tower::PusherAuthLayer` is the same endpoints as a tower layer, for wrapping
//!   a finished service; it finds the user in the request extensions instead.
//!
//! # Features
//!
//! - `testing`: `pusher_auth::testing` (reached as `pusher_auth_axum::pusher_auth::testing`):
//!   verify answers as a Pusher server would, build signed webhook requests.

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use pusher_auth::adapter::{self, Answer, Endpoint, UserLookup};
use pusher_auth::webhook::{Webhook, WebhookVerifier};
use pusher_auth::{Endpoints, SocketId, DEFAULT_WEBHOOK_BODY_LIMIT};

/// A boxed, sendable future: the handlers' future type.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

pub use pusher_auth;
pub use pusher_auth_tower::{self, PusherAuthLayer, PusherAuthService};

/// What an app usually needs, in one import: the endpoints and their decisions, the mounting,
/// the extractors, and the webhook types.
pub mod prelude {
    pub use crate::{RouterExt, SenderSocket, VerifiedWebhook};
    pub use pusher_auth::{
        Access, Authorizer, ChannelDecision, ChannelKind, ChannelName, ChannelRequest,
        ChannelRoutes, Credentials, Endpoints, Membership, PresenceMember, Signin, SigninDecision,
        SigninRequest, SocketId, UserData, UserId, Webhook, WebhookEvent, WebhookVerifier,
    };
}

/// Mounting the endpoints on an axum [`Router`] in one line. Implemented for [`Router`] only
/// (sealed), so that methods can be added to it in a minor release.
pub trait RouterExt<S>: sealed::Router + Sized {
    /// Adds the endpoints as routes at their configured paths: the channel path, the sign-in
    /// path when there is a sign-in handler, and the webhook path when webhooks are
    /// configured.
    ///
    /// The user type `U` is extracted with axum's [`FromRequestParts`] and the router's state
    /// (see the [crate docs](crate)); a user type that is not an extractor for this router's
    /// state does not compile.
    ///
    /// Routes are real routes: a `.fallback()` or `.fallback_service(ServeDir…)` added later, a
    /// `.merge()` with a router that has its own fallback, or nesting the router under `/api`
    /// (the paths then start with `/api`) cannot hide them. Layers added **after** this call
    /// (session and login layers, CORS, timeouts) wrap them, so add those after it. Only the
    /// endpoints' own requests reach pusher-auth: the app's other routes pay nothing.
    ///
    /// # Panics
    ///
    /// When two answered endpoints share a path, or (as `Router::route`) a route already
    /// exists at one of them.
    #[track_caller]
    fn pusher_auth<U>(self, endpoints: Endpoints<U>) -> Self
    where
        U: ExtractUser<S>;
}

impl<S: Clone + Send + Sync + 'static> RouterExt<S> for Router<S> {
    #[track_caller]
    fn pusher_auth<U>(self, endpoints: Endpoints<U>) -> Self
    where
        U: ExtractUser<S>,
    {
        let mut router = self;
        for (path, endpoint) in adapter::mounts(&endpoints) {
            let handler = EndpointHandler {
                endpoints: endpoints.clone(),
                endpoint,
            };
            router = router.route(path, any(handler));
        }
        router
    }
}

/// One endpoint as an axum handler: the request and the router state, straight to the shared
/// endpoint logic (no extractor runs before the body has parsed).
struct EndpointHandler<U> {
    endpoints: Endpoints<U>,
    endpoint: Endpoint,
}

impl<U> Clone for EndpointHandler<U> {
    fn clone(&self) -> Self {
        EndpointHandler {
            endpoints: self.endpoints.clone(),
            endpoint: self.endpoint,
        }
    }
}

/// The marker type of [`EndpointHandler`]'s `Handler` implementation.
#[derive(Debug, Clone, Copy)]
enum EndpointMarker {}

impl<U, S> Handler<EndpointMarker, S> for EndpointHandler<U>
where
    U: ExtractUser<S>,
    S: Clone + Send + Sync + 'static,
{
    type Future = BoxFuture<'static, Response>;

    fn call(self, request: Request, state: S) -> Self::Future {
        Box::pin(async move {
            let find_user = |mut head: Parts| async move {
                let user = <U as sealed::Extract<S>>::extract(&mut head, &state).await;
                (head, user)
            };
            pusher_auth_tower::adapter::answer_with(
                &self.endpoints,
                self.endpoint,
                request,
                find_user,
            )
            .await
            .map(Body::new)
        })
    }
}

/// The user type of the endpoints, extracted with the router state `S`: every
/// [`FromRequestParts<S>`] that is `Clone + Send + Sync + 'static`, whose rejection is a
/// response.
#[diagnostic::on_unimplemented(
    message = "the user type `{Self}` cannot be extracted from a request with the router state `{S}`",
    label = "the user type of these endpoints",
    note = "implement `axum::extract::FromRequestParts<S>` for `{Self}` (for every `S: Send + Sync` when it reads no state, or where `Db: FromRef<S>` when it reads a part of it), and derive `Clone`",
    note = "an authorizer that needs no user decides for `()`"
)]
pub trait ExtractUser<S>: sealed::Extract<S> + Clone + Send + Sync + 'static {}

impl<U: sealed::Extract<S> + Clone + Send + Sync + 'static, S> ExtractUser<S> for U {}

mod sealed {
    use pusher_auth::adapter::UserLookup;

    /// What [`RouterExt`](super::RouterExt) is implemented for (not nameable outside).
    pub trait Router {}

    impl<S> Router for axum::Router<S> {}

    /// How [`ExtractUser`](super::ExtractUser) runs the extractor (not nameable outside).
    pub trait Extract<S>: Sized {
        fn extract(
            parts: &mut axum::http::request::Parts,
            state: &S,
        ) -> impl std::future::Future<Output = UserLookup<Self>> + Send;
    }
}

impl<U, S> sealed::Extract<S> for U
where
    U: FromRequestParts<S> + Clone + Send + Sync + 'static,
    U::Rejection: IntoResponse,
    S: Send + Sync,
{
    async fn extract(parts: &mut Parts, state: &S) -> UserLookup<Self> {
        match U::from_request_parts(parts, state).await {
            Ok(user) => UserLookup::Found(user),
            Err(rejection) => {
                let status = rejection.into_response().status();
                let extractor = std::any::type_name::<U>();
                if status.is_server_error() {
                    UserLookup::Failed(format!(
                        "the extractor {extractor} failed with {status}: its layer (a session or login layer) is missing or added before the pusher-auth routes (add it after `.pusher_auth(…)`), or its backend is down"
                    ))
                } else {
                    UserLookup::Anonymous(format!("{extractor} rejected the request with {status}"))
                }
            }
        }
    }
}

/// Reads at most `limit` bytes of body: 413 beyond, 400 when the connection fails.
async fn read(body: Body, limit: usize) -> Result<axum::body::Bytes, Answer> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            Answer::payload_too_large(limit)
        } else {
            tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
            Answer::body_read_error()
        }
    })
}

/// The axum response of an answer.
fn respond(answer: Answer) -> Response {
    pusher_auth_tower::adapter::into_response(answer).map(Body::new)
}

/// The sender's connection from Laravel Echo's `X-Socket-ID` header, to exclude it when
/// publishing (Laravel's `toOthers()`): `None` when the header is absent.
///
/// A header that is not a valid socket id is a 400 `invalid_socket_id`. Note that the header is
/// the client's word: to exclude only a connection the session was authorized for, check it
/// against what your authorizer saw (the chat examples keep the authorized socket ids in the
/// session).
///
/// ```
/// use pusher_auth_axum::SenderSocket;
///
/// async fn send_message(SenderSocket(sender): SenderSocket) -> String {
///     format!("excluding {sender:?}")
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::post(send_message);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderSocket(pub Option<SocketId>);

impl<S: Send + Sync> FromRequestParts<S> for SenderSocket {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let value = parts.headers.get(adapter::SOCKET_ID_HEADER);
        adapter::sender_socket(value.map(|v| v.as_bytes()))
            .map(SenderSocket)
            .map_err(respond)
    }
}

/// A webhook from the Pusher server, verified: an extractor for an ordinary route of your
/// app, so the handler takes your router state (`State<App>`) and anything else axum
/// extracts. The verifier comes from the router state (`WebhookVerifier: FromRef<S>`).
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
/// use axum::extract::{FromRef, State};
/// use axum::http::StatusCode;
/// use axum::routing::post;
/// use axum::Router;
/// use pusher_auth_axum::prelude::*;
///
/// #[derive(Clone)]
/// struct App {
///     webhooks: WebhookVerifier,
///     // your database pool, your REST client…
/// }
///
/// impl FromRef<App> for WebhookVerifier {
///     fn from_ref(app: &App) -> Self {
///         app.webhooks.clone()
///     }
/// }
///
/// async fn webhooks(State(_app): State<App>, VerifiedWebhook(webhook): VerifiedWebhook) -> StatusCode {
///     for event in webhook.events() {
///         if let WebhookEvent::MemberAdded { channel, user_id, .. } = event {
///             println!("{user_id} joined {channel}");
///         }
///     }
///     StatusCode::OK
/// }
///
/// let credentials = Credentials::new("app-key", "app-secret")?;
/// let app: Router = Router::new()
///     .route("/pusher/webhooks", post(webhooks))
///     .with_state(App { webhooks: WebhookVerifier::new(credentials) });
/// # Ok::<(), pusher_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook(pub Webhook);

impl<S> FromRequest<S> for VerifiedWebhook
where
    WebhookVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let verifier = WebhookVerifier::from_ref(state);
        let (head, body) = request.into_parts();
        let body = read(body, DEFAULT_WEBHOOK_BODY_LIMIT)
            .await
            .map_err(respond)?;
        let header = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok());
        adapter::verify_webhook(
            &verifier,
            header("x-pusher-key"),
            header("x-pusher-signature"),
            &body,
        )
        .map(VerifiedWebhook)
        .map_err(respond)
    }
}
