//! The pusher-auth endpoints in a spring-rs app: spring-web serves an axum `Router`, so the
//! axum adapter fits as it stands, registered through the app builder's hooks.
//!
//! - `WebConfigurator::add_router` registers the router holding the endpoints
//!   (`RouterExt::pusher_auth`) and the app's own routes;
//! - `LayerConfigurator::add_router_layer` adds the session layer around the merged router, so
//!   the `CurrentUser` extractor the channel routes receive finds the session.
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

/// The channel routes of the example: anyone logged in may join `private-chat`,
/// `private-encrypted-chat` and `presence-chat`, and sign in.
pub fn routes() -> ChannelRoutes<CurrentUser> {
    ChannelRoutes::new()
        .channel("chat", |_user: CurrentUser, (): ()| async { true })
        .presence("chat", |user: CurrentUser, (): ()| async move {
            Some(PresenceMember::new(UserId::new(user.id).ok()?))
        })
        .user(|user: CurrentUser| async move { UserId::new(user.id).ok().map(UserData::new) })
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
    let pusher = PusherAuthLayer::new(credentials, authorize_with(routes())).for_laravel_echo();
    let store = MemoryStore::default();
    app.add_router(
        Router::new()
            .route("/login", post(login))
            .pusher_auth(pusher),
    )
    .add_router_layer(move |router| router.layer(SessionManagerLayer::new(store.clone())))
}
