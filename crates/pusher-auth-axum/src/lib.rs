//! axum integration for pusher-auth: channel routes that receive your user, found once per
//! request by any axum extractor (a tower-sessions `Session`, an axum-login `AuthSession`, your
//! own), mounted as real routes.
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
//!         id.map(|id| User { id, name: format!("user {id}") }).ok_or(StatusCode::UNAUTHORIZED)
//!     }
//! }
//!
//! let routes = ChannelRoutes::new()
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 100 == user.id })
//!     .presence("chat", |user: User, (): ()| async move {
//!         PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name }))
//!     })
//!     .user(|user: User| async move { UserData::new(UserId::from(user.id)) });
//!
//! let pusher = PusherAuthLayer::new(Credentials::new("app-key", "app-secret")?, authorize_with(routes))
//!     .for_laravel_echo(); // /broadcasting/auth and /broadcasting/user-auth
//! let app: Router = Router::new().pusher_auth(pusher);
//! # Ok::<(), pusher_auth::ConfigError>(())
//! ```
//!
//! - [`authorize_with`] turns a [`Policy<U>`] (channel routes for `U`, or a closure
//!   `Fn(U, ChannelRequest)`) into an [`Authorizer`] whose user `U` is an axum extractor. `U` is
//!   extracted once per request, however many channels a batch names. When the extractor
//!   rejects the request with a 4xx (not logged in), the channels are denied (403); with a 5xx
//!   (a session layer missing, a store down) the request fails with a 500 and an error log line,
//!   because that is a misconfiguration, not a denial.
//! - [`RouterExt::pusher_auth`] mounts the endpoints as routes: later fallbacks, merges and
//!   nesting cannot hide them.
//! - [`SenderSocket`] reads Laravel Echo's `X-Socket-ID`, to exclude the sender when publishing.

use std::future::Future;
use std::marker::PhantomData;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use pusher_auth::authorizer::{
    decide_all, with_user_auth, BoxError, ChannelDecision, ChannelRequest, Policy, UserDecision,
    UserRequest, WithUserAuth,
};
use pusher_auth::SocketId;

pub use pusher_auth::{self, Authorizer};
pub use pusher_auth_tower::{self, PusherAuthLayer, PusherAuthService};

/// What a handler or an authorizer usually needs, in one import.
pub mod prelude {
    pub use crate::{authorize_with, authorize_with_state, RouterExt, SenderSocket};
    pub use pusher_auth::authorizer::{ChannelDecision, ChannelRequest, UserDecision, UserRequest};
    pub use pusher_auth::routes::{Access, ChannelRoutes, Membership};
    pub use pusher_auth::{
        Authorizer, ChannelKind, ChannelName, Credentials, PresenceMember, SocketId, UserData,
        UserId,
    };
    pub use pusher_auth_tower::PusherAuthLayer;
}

/// An authorizer that extracts `U` with axum's [`FromRequestParts`] and asks a [`Policy<U>`].
/// Made by [`authorize_with`] (or [`authorize_with_state`] for extractors that need the router
/// state); [`ExtractAuthorizer::sign_in`] adds sign-in to a closure policy.
pub struct ExtractAuthorizer<U, P, S = ()> {
    policy: P,
    state: S,
    _user: PhantomData<fn() -> U>,
}

impl<U, P: Clone, S: Clone> Clone for ExtractAuthorizer<U, P, S> {
    fn clone(&self) -> Self {
        ExtractAuthorizer {
            policy: self.policy.clone(),
            state: self.state.clone(),
            _user: PhantomData,
        }
    }
}

impl<U, P, S> std::fmt::Debug for ExtractAuthorizer<U, P, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractAuthorizer")
            .field("user", &std::any::type_name::<U>())
            .field("state", &std::any::type_name::<S>())
            .finish_non_exhaustive()
    }
}

/// An authorizer whose user is the axum extractor `U`, deciding with `policy`: channel routes
/// for `U` ([`ChannelRoutes<U>`](pusher_auth::routes::ChannelRoutes)) or a closure
/// `|user: U, request: ChannelRequest| async move { … }` returning
/// `Result<ChannelDecision, E>`.
///
/// `U` must be `Clone` (it is extracted once and handed to each channel of a batch). A
/// rejection with a 4xx denies (403, the status logged at debug); a 5xx fails the request
/// (500 `authorizer_error`, logged as an error naming the extractor). For an extractor that
/// reads the router state, use [`authorize_with_state`].
pub fn authorize_with<U, P>(policy: P) -> ExtractAuthorizer<U, P>
where
    U: ExtractUser<()>,
    P: Policy<U>,
{
    authorize_with_state((), policy)
}

/// [`authorize_with`] for an extractor that reads the router state (a session store, a
/// database pool): `state` is the state you give `Router::with_state`, or any state the
/// extractor's `FromRef` bounds accept.
///
/// ```
/// use axum::extract::{FromRef, FromRequestParts, State};
/// use axum::http::{request::Parts, StatusCode};
/// use pusher_auth_axum::prelude::*;
/// use pusher_auth_axum::authorize_with_state;
///
/// #[derive(Clone)]
/// struct Db; // your pool
///
/// #[derive(Clone)]
/// struct User { id: u64 }
///
/// impl<S: Send + Sync> FromRequestParts<S> for User where Db: FromRef<S> {
///     type Rejection = StatusCode;
///     async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
///         let State(_db) = State::<Db>::from_request_parts(parts, state).await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
///         Ok(User { id: 7 })
///     }
/// }
///
/// let routes = ChannelRoutes::new().private("chat", |_user: User, (): ()| async { true });
/// let authorizer = authorize_with_state(Db, routes);
/// # fn check<A: Authorizer>(_: &A) {}
/// # check(&authorizer);
/// ```
pub fn authorize_with_state<U, P, S>(state: S, policy: P) -> ExtractAuthorizer<U, P, S>
where
    U: ExtractUser<S>,
    P: Policy<U>,
{
    ExtractAuthorizer {
        policy,
        state,
        _user: PhantomData,
    }
}

impl<U, P, S> ExtractAuthorizer<U, P, S> {
    /// Answers user sign-in with `g(user, request)`, `U` extracted as for channels (for closure
    /// policies; channel routes have [`ChannelRoutes::user`](pusher_auth::routes::ChannelRoutes::user)).
    pub fn sign_in<G>(self, g: G) -> ExtractAuthorizer<U, WithUserAuth<P, G>, S> {
        ExtractAuthorizer {
            policy: with_user_auth(self.policy, g),
            state: self.state,
            _user: PhantomData,
        }
    }
}

/// `U` can be extracted from a request with router state `S`: implemented for every
/// [`FromRequestParts<S>`] whose rejection is a response.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted with the router state `{S}`",
    label = "the user extractor of this authorizer",
    note = "if `{Self}` reads the router state (a session store, a database pool, `State<…>`), pass it: `authorize_with_state(state, routes)`, where the state implements `FromRef` for what the extractor needs",
    note = "otherwise, implement `axum::extract::FromRequestParts<S>` for `{Self}` (for all `S: Send + Sync` when it needs no state)"
)]
pub trait ExtractUser<S>: Sized + Send + 'static {
    /// Extracts the user, or the status of the rejection.
    fn extract(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Self, StatusCode>> + Send;
}

impl<U, S> ExtractUser<S> for U
where
    U: FromRequestParts<S> + Send + 'static,
    U::Rejection: IntoResponse,
    S: Send + Sync,
{
    async fn extract(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        U::from_request_parts(parts, state)
            .await
            .map_err(|rejection| rejection.into_response().status())
    }
}

/// The user, a denial (4xx), or a failure (5xx).
enum Extracted<U> {
    User(U),
    Denied(String),
    Failed(String),
}

async fn extract<U: ExtractUser<S>, S: Send + Sync>(
    head: &http::request::Parts,
    state: &S,
) -> Extracted<U> {
    let mut parts = head.clone();
    match U::extract(&mut parts, state).await {
        Ok(user) => Extracted::User(user),
        Err(status) if status.is_server_error() => Extracted::Failed(format!(
            "the extractor {} failed with {status}: a misconfiguration (is its layer, such as the session layer, added outside the pusher-auth routes?) or its backend is down",
            std::any::type_name::<U>()
        )),
        Err(status) => Extracted::Denied(format!(
            "{} rejected the request ({status})",
            std::any::type_name::<U>()
        )),
    }
}

impl<U, P, S> Authorizer for ExtractAuthorizer<U, P, S>
where
    U: ExtractUser<S> + Clone + Sync,
    P: Policy<U>,
    S: Send + Sync + 'static,
{
    type Error = BoxError;

    async fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, BoxError> {
        match extract::<U, S>(request.head(), &self.state).await {
            Extracted::User(user) => self
                .policy
                .authorize_channel(user, request)
                .await
                .map_err(Into::into),
            Extracted::Denied(reason) => Ok(ChannelDecision::deny(reason)),
            Extracted::Failed(reason) => Err(reason.into()),
        }
    }

    async fn authorize_channels(
        &self,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)> {
        let Some(first) = requests.first() else {
            return Vec::new();
        };
        // Every channel of the request shares its head: extract the user once.
        let user = match extract::<U, S>(first.head(), &self.state).await {
            Extracted::User(user) => user,
            Extracted::Denied(reason) => {
                return requests
                    .into_iter()
                    .map(|request| (request, Ok(ChannelDecision::deny(reason.clone()))))
                    .collect()
            }
            Extracted::Failed(reason) => {
                return requests
                    .into_iter()
                    .map(|request| (request, Err(reason.clone().into())))
                    .collect()
            }
        };
        decide_all(requests, concurrency, |request| {
            let user = user.clone();
            async move {
                self.policy
                    .authorize_channel(user, request)
                    .await
                    .map_err(Into::into)
            }
        })
        .await
    }

    async fn authenticate_user(&self, request: UserRequest) -> Result<UserDecision, BoxError> {
        match extract::<U, S>(request.head(), &self.state).await {
            Extracted::User(user) => self
                .policy
                .authenticate_user(user, request)
                .await
                .map_err(Into::into),
            Extracted::Denied(reason) => Ok(UserDecision::deny(reason)),
            Extracted::Failed(reason) => Err(reason.into()),
        }
    }

    fn signs_in(&self) -> bool {
        self.policy.signs_in()
    }
}

/// Mounting the endpoints on an axum [`Router`] in one line.
pub trait RouterExt<S>: Sized {
    /// Adds the endpoints as routes at their configured paths (`route_service`): the channel
    /// path, the sign-in path when the authorizer signs users in, and the webhook path when
    /// webhooks are configured.
    ///
    /// Routes are real routes: a `.fallback()` or `.fallback_service(ServeDir…)` added later, a
    /// `.merge()` with a router that has its own fallback, or nesting the router under `/api`
    /// (the paths then start with `/api`) cannot hide them. Layers added **after** this call
    /// (session and login layers, CORS, timeouts) wrap them, so add those after it. Only the
    /// endpoints' own requests reach pusher-auth: the app's other routes pay nothing.
    ///
    /// # Panics
    ///
    /// As `Router::route_service`: when a route already exists at one of the paths.
    fn pusher_auth<A: Authorizer>(self, layer: PusherAuthLayer<A>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt<S> for Router<S> {
    fn pusher_auth<A: Authorizer>(self, layer: PusherAuthLayer<A>) -> Self {
        layer.services().fold(self, |router, (path, service)| {
            router.route_service(path, service)
        })
    }
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

impl SenderSocket {
    /// The header's name.
    pub const HEADER: &'static str = "x-socket-id";
}

impl<S: Send + Sync> FromRequestParts<S> for SenderSocket {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let Some(value) = parts.headers.get(Self::HEADER) else {
            return Ok(SenderSocket(None));
        };
        match value.to_str().ok().map(SocketId::new) {
            Some(Ok(socket)) => Ok(SenderSocket(Some(socket))),
            _ => {
                let body = r#"{"error":{"code":"invalid_socket_id","message":"X-Socket-ID is not a socket id"}}"#;
                Err((
                    StatusCode::BAD_REQUEST,
                    [(http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response())
            }
        }
    }
}
