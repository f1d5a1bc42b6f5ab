//! axum integration for pusher-auth.
//!
//! - [`authorize_with`]: an [`Authorizer`] whose "user" is any axum extractor (your session
//!   extractor, an `axum-login` `AuthSession`, a bearer-token extractor): write
//!   `async fn(user, request) -> decision`. A rejected extraction is a 403, its status logged.
//! - [`RouterExt`]: mount the layer on a router in one line, as a layer
//!   ([`RouterExt::pusher_auth`]) or as routes ([`RouterExt::pusher_auth_routes`]).
//!
//! ```
//! use axum::extract::FromRequestParts;
//! use axum::http::{request::Parts, StatusCode};
//! use axum::Router;
//! use pusher_auth::authorizer::{ChannelDecision, ChannelRequest};
//! use pusher_auth::{ChannelKind, Credentials, PresenceMember, UserId};
//! use pusher_auth_axum::{authorize_with, PusherAuthLayer, RouterExt};
//!
//! /// The logged-in user, from a header here; from your session in a real app.
//! struct User { id: u64 }
//!
//! impl<S: Send + Sync> FromRequestParts<S> for User {
//!     type Rejection = StatusCode;
//!     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
//!         let id = parts.headers.get("x-user-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
//!         id.map(|id| User { id }).ok_or(StatusCode::UNAUTHORIZED)
//!     }
//! }
//!
//! let authorizer = authorize_with(|user: User, request: ChannelRequest| async move {
//!     Ok::<_, std::convert::Infallible>(match request.channel().kind() {
//!         ChannelKind::Presence => ChannelDecision::member(PresenceMember::new(UserId::from(user.id))),
//!         _ => ChannelDecision::Allow,
//!     })
//! });
//! let layer = PusherAuthLayer::new(Credentials::new("key", "secret")?, authorizer);
//! let app: Router = Router::new().pusher_auth(layer);
//! # Ok::<(), pusher_auth::ConfigError>(())
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::response::IntoResponse;
use axum::Router;
use pusher_auth::authorizer::{
    BoxError, ChannelDecision, ChannelRequest, UserDecision, UserRequest,
};
pub use pusher_auth::Authorizer;
pub use pusher_auth_tower::{PusherAuthLayer, PusherAuthService};

/// An authorizer that extracts `U` with axum's [`FromRequestParts`] and hands it to a closure.
/// Made by [`authorize_with`]; see [`ExtractAuthorizer::with_state`] for extractors that need
/// the router state, and [`ExtractAuthorizer::sign_in`] for user sign-in.
pub struct ExtractAuthorizer<U, F, G = NoSignIn, S = ()> {
    channel: F,
    user: G,
    state: S,
    _user: PhantomData<fn() -> U>,
}

/// The default sign-in half of an [`ExtractAuthorizer`]: every sign-in is denied.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSignIn;

impl<U, F: Clone, G: Clone, S: Clone> Clone for ExtractAuthorizer<U, F, G, S> {
    fn clone(&self) -> Self {
        ExtractAuthorizer {
            channel: self.channel.clone(),
            user: self.user.clone(),
            state: self.state.clone(),
            _user: PhantomData,
        }
    }
}

impl<U, F, G, S> std::fmt::Debug for ExtractAuthorizer<U, F, G, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractAuthorizer")
            .field("user", &std::any::type_name::<U>())
            .finish_non_exhaustive()
    }
}

/// An authorizer whose user is the axum extractor `U`: `f(user, request)` decides each
/// channel. When `U` rejects the request, the channel is denied (403) and the rejection's
/// status is logged.
pub fn authorize_with<U, F>(f: F) -> ExtractAuthorizer<U, F> {
    ExtractAuthorizer {
        channel: f,
        user: NoSignIn,
        state: (),
        _user: PhantomData,
    }
}

impl<U, F, G> ExtractAuthorizer<U, F, G, ()> {
    /// Runs the extractor with this router state (for extractors that read `State`).
    pub fn with_state<S>(self, state: S) -> ExtractAuthorizer<U, F, G, S> {
        ExtractAuthorizer {
            channel: self.channel,
            user: self.user,
            state,
            _user: PhantomData,
        }
    }
}

impl<U, F, G, S> ExtractAuthorizer<U, F, G, S> {
    /// Answers user sign-in with `g(user, request)`, `U` extracted as for channels.
    pub fn sign_in<G2>(self, g: G2) -> ExtractAuthorizer<U, F, G2, S> {
        ExtractAuthorizer {
            channel: self.channel,
            user: g,
            state: self.state,
            _user: PhantomData,
        }
    }
}

async fn extract<U, S>(head: &http::request::Parts, state: &S) -> Result<U, String>
where
    U: FromRequestParts<S>,
    U::Rejection: IntoResponse,
    S: Send + Sync,
{
    let mut parts = head.clone();
    U::from_request_parts(&mut parts, state)
        .await
        .map_err(|rejection| {
            let status = rejection.into_response().status();
            format!(
                "{} rejected the request ({status})",
                std::any::type_name::<U>()
            )
        })
}

/// The sign-in half of an [`ExtractAuthorizer`].
pub trait SignInWith<U>: Clone + Send + Sync + 'static {
    /// The error type.
    type Error: Into<BoxError> + Send + 'static;
    /// Decides a sign-in for the extracted user.
    fn sign_in(
        &self,
        user: U,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send;
}

impl<U> SignInWith<U> for NoSignIn {
    type Error = Infallible;
    fn sign_in(
        &self,
        user: U,
        _request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Infallible>> + Send {
        drop(user);
        std::future::ready(Ok(UserDecision::deny("user sign-in is not configured")))
    }
}

impl<U, G, Fut, E> SignInWith<U> for G
where
    G: Fn(U, UserRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<UserDecision, E>> + Send,
    E: Into<BoxError> + Send + 'static,
{
    type Error = E;
    fn sign_in(
        &self,
        user: U,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, E>> + Send {
        self(user, request)
    }
}

impl<U, F, Fut, E, G, S> Authorizer for ExtractAuthorizer<U, F, G, S>
where
    U: FromRequestParts<S> + Send + 'static,
    U::Rejection: IntoResponse,
    F: Fn(U, ChannelRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<ChannelDecision, E>> + Send,
    E: Into<BoxError> + Send + 'static,
    G: SignInWith<U>,
    S: Clone + Send + Sync + 'static,
{
    type Error = BoxError;

    async fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, BoxError> {
        match extract::<U, S>(request.head(), &self.state).await {
            Ok(user) => (self.channel)(user, request).await.map_err(Into::into),
            Err(reason) => Ok(ChannelDecision::deny(reason)),
        }
    }

    async fn authenticate_user(&self, request: UserRequest) -> Result<UserDecision, BoxError> {
        match extract::<U, S>(request.head(), &self.state).await {
            Ok(user) => self.user.sign_in(user, request).await.map_err(Into::into),
            Err(reason) => Ok(UserDecision::deny(reason)),
        }
    }
}

/// Mounting the layer on an axum [`Router`] in one line.
///
/// - [`RouterExt::pusher_auth`] adds the layer: it wraps every route and the fallback, so
///   its paths are answered even though the router has no route for them. Use it by default.
/// - [`RouterExt::pusher_auth_routes`] adds the endpoints as routes (`route_service`): use it
///   when the endpoints should sit among your routes, for example under `Router::nest`, or
///   behind route-specific layers (`route_layer`). axum panics if a route already exists at
///   the same path.
///
/// Either way, layers added **after** (outside) run first: add session and login layers after
/// this call so the authorizer sees what they put in the request.
///
/// For the least overhead on your other routes, wrap the finished router once instead:
/// `ServiceBuilder::new().layer(layer).service(router)`, served with
/// `axum::serve(listener, tower::make::Shared::new(service))`. `Router::layer` (like any layer
/// added that way) re-boxes every route, which costs about 6 % more instructions on a trivial
/// request; wrapping the router once costs 1 % (`scripts/bench-http-instructions`).
pub trait RouterExt<S>: Sized {
    /// Adds `layer` to the router (`Router::layer`).
    fn pusher_auth<A: Authorizer>(self, layer: PusherAuthLayer<A>) -> Self;
    /// Adds the layer's endpoints as routes at its configured paths.
    fn pusher_auth_routes<A: Authorizer>(self, layer: &PusherAuthLayer<A>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt<S> for Router<S> {
    fn pusher_auth<A: Authorizer>(self, layer: PusherAuthLayer<A>) -> Self {
        self.layer(layer)
    }

    fn pusher_auth_routes<A: Authorizer>(self, layer: &PusherAuthLayer<A>) -> Self {
        let mut router = self.route_service(layer.channel_path(), layer.channel_service());
        if let Some(path) = layer.user_path() {
            router = router.route_service(path, layer.user_service());
        }
        if let Some(path) = layer.webhook_path() {
            router = router.route_service(path, layer.webhook_service());
        }
        router
    }
}
