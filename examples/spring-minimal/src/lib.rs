//! The pusher-auth endpoints in a spring-rs app: spring-web serves an axum `Router`, so the
//! axum adapter fits as it stands, registered through the app builder's hooks.
//!
//! - `WebConfigurator::add_router` registers the router holding the endpoints
//!   (`RouterExt::pusher_auth`) and the app's own routes;
//! - `LayerConfigurator::add_router_layer` adds the session layer around the merged router, so
//!   the `CurrentUser` that the endpoints extract for the channel routes and the sign-in
//!   handler finds the session.
//!
//! ```text
//! PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run -p spring-minimal
//! curl -c jar -H 'content-type: application/json' -d '{"id":"ann"}' http://127.0.0.1:3005/login
//! curl -b jar -d 'socket_id=1.2&channel_name=private-chat' http://127.0.0.1:3005/broadcasting/auth
//! ```
//!
//! Loco, the better-known axum-based framework, mounts the same way (`Hooks::routes` and
//! `Hooks::after_routes`), but its smallest build adds 156 crates to the workspace and its
//! default one needs a database; spring-web with spring adds 52.

use pusher_auth_axum::prelude::*;
use serde::{Deserialize, Serialize};
use spring::app::AppBuilder;
use spring_web::axum::extract::FromRequestParts;
use spring_web::axum::http::request::Parts;
use spring_web::axum::http::StatusCode;
use spring_web::axum::routing::post;
use spring_web::axum::Json;
use spring_web::{LayerConfigurator, Router, WebConfigurator};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// Who is logged in, as the login handler stored it in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentUser {
    /// The user's id.
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(status, _)| status)?;
        match session.get::<CurrentUser>("user").await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(StatusCode::UNAUTHORIZED), // not logged in: pusher-js gets a 403
            Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR), // stays a 500, logged
        }
    }
}

/// The channel routes of the example: anyone logged in may join `private-chat` and
/// `presence-chat`, and `private-encrypted-chat` when `encrypted` (the credentials have an
/// encryption master key; without one the app offers no encrypted channels, and denies them).
pub fn routes(encrypted: bool) -> ChannelRoutes<CurrentUser> {
    let anyone = |_user: CurrentUser, (): ()| async { true };
    let routes = if encrypted {
        ChannelRoutes::new().channel("chat", anyone)
    } else {
        ChannelRoutes::new().private("chat", anyone)
    };
    routes.presence("chat", |user: CurrentUser, (): ()| async move {
        Some(PresenceMember::new(UserId::new(user.id).ok()?))
    })
}

/// The sign-in handler of the example: anyone logged in signs in as themselves (refused when
/// the name is not a valid user id).
pub async fn signin(user: CurrentUser, _request: SigninRequest) -> Option<UserData> {
    UserId::new(user.id).ok().map(UserData::new)
}

/// The example's endpoints at Laravel Echo's paths (`/broadcasting/auth` and
/// `/broadcasting/user-auth`): the [`routes`] (with encrypted channels when `credentials` have
/// an encryption master key) and [`signin`], for the [`CurrentUser`] that `pusher_auth`
/// extracts.
pub fn endpoints(credentials: Credentials) -> Endpoints<CurrentUser> {
    let encrypted = credentials.has_encryption_master_key();
    Endpoints::new(credentials, routes(encrypted))
        .with_signin(signin)
        .for_laravel_echo()
}

/// Logs in whoever asks: a demonstration, not authentication.
async fn login(session: Session, Json(user): Json<CurrentUser>) -> StatusCode {
    match session.insert("user", user).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Registers the example on a spring app: the login route and the pusher-auth endpoints
/// (Laravel Echo's paths) with `add_router`, the session layer around them with
/// `add_router_layer`.
pub fn register(app: &mut AppBuilder, credentials: Credentials) -> &mut AppBuilder {
    let store = MemoryStore::default();
    app.add_router(
        Router::new()
            .route("/login", post(login))
            .pusher_auth(endpoints(credentials)),
    )
    .add_router_layer(move |router| router.layer(SessionManagerLayer::new(store.clone())))
}
