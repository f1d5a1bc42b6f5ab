//! pusher-auth on axum in one file: log in (tower-sessions), authorize `private-chat` and
//! `presence-chat`, sign in, and publish one event to the others. See the README.
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::{request::Parts, StatusCode};
use axum::{routing::post, Json, Router};
use pusher_auth_axum::prelude::*;
use serde::{Deserialize, Serialize};
use tower_http::csrf::CsrfLayer;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// Who is logged in, as `/login` keeps it in the session.
#[derive(Clone, Serialize, Deserialize)]
struct User {
    name: String,
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|e| e.0)?;
        match session.get::<User>("user").await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(StatusCode::UNAUTHORIZED), // not logged in: pusher-js gets a 403
            Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// Logs in by name alone (`{"name": "ann"}`): check a password here in a real app.
async fn login(session: Session, Json(user): Json<User>) -> StatusCode {
    if UserId::new(user.name.as_str()).is_err() {
        return StatusCode::BAD_REQUEST;
    }
    // A new session id at login (no session fixation), then the user in the session.
    match session.cycle_id().await {
        Ok(()) if session.insert("user", user).await.is_ok() => StatusCode::NO_CONTENT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Deserialize)]
struct Message {
    text: String,
}

/// Publishes the message on `private-chat` to everyone but the sender's own connection.
async fn send(
    State(pusher): State<pusher_rest::Client>,
    user: User,
    SenderSocket(sender): SenderSocket, // X-Socket-ID
    Json(message): Json<Message>,
) -> StatusCode {
    let event = serde_json::json!({ "from": user.name, "text": message.text });
    let trigger = pusher.trigger("private-chat", "message", &event);
    let sent = trigger.exclude(sender).send().await;
    sent.map_or(StatusCode::BAD_GATEWAY, |_| StatusCode::NO_CONTENT)
}

/// `pusher.signin()`: the connection signs in as the logged-in user.
async fn signin(user: User, _: SigninRequest) -> Option<UserData> {
    UserId::new(user.name).ok().map(UserData::new)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let routes = ChannelRoutes::new()
        .private("chat", |_user: User, (): ()| async { true })
        .presence("chat", |user: User, (): ()| async move {
            Some(PresenceMember::new(UserId::new(user.name).ok()?))
        });
    // PUSHER_KEY and PUSHER_SECRET here; pusher-rest adds PUSHER_APP_ID and PUSHER_HOST/PORT.
    let endpoints = Endpoints::new(Credentials::from_env()?, routes).with_signin(signin);
    let addr = std::env::var("MINIMAL_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let addr: std::net::SocketAddr = addr.parse()?;
    // Cookies over HTTPS only (`Secure`) unless the app is bound to loopback.
    let sessions =
        SessionManagerLayer::new(MemoryStore::default()).with_secure(!addr.ip().is_loopback());
    let app = Router::new()
        .route("/login", post(login))
        .route("/send", post(send))
        .pusher_auth(endpoints) // POST /pusher/auth and /pusher/user-auth, pusher-js's defaults
        .layer(sessions)
        .layer(CsrfLayer::new()) // cross-site POSTs refused
        .layer(DefaultBodyLimit::max(4096)) // a login or a message, not megabytes
        .with_state(pusher_rest::Client::from_env()?);
    axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await?;
    Ok(())
}
