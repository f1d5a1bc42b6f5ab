//! The chat app on axum, end to end.
//!
//! - `GET /` serves the page (and starts a session with a CSRF token);
//! - `POST /login` and `POST /logout` keep the user in the session;
//! - `POST /channels/authorize` and `POST /channels/user-auth` are the pusher-auth layer,
//!   deciding with the chat's authorizer from the user the session middleware found;
//! - `POST /channels/send-message` triggers `send-message` on `private-chat` with the sender's
//!   name, through the Pusher REST API;
//! - `POST /pusher/webhooks` verifies and records webhooks; `GET /webhooks/events` lists them.
//!
//! Every `POST` except webhooks needs the session's `X-CSRF-Token`. Configuration comes from
//! the environment (see `chat_common::Config::from_env`).

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chat_common::{Chat, CurrentUser, SendMessage};
use pusher_auth_axum::{PusherAuthLayer, RouterExt};
use serde::Deserialize;

type App = Chat;

/// The session id of the request, put in the extensions by [`sessions`].
#[derive(Clone)]
struct SessionId(String);

fn session_id(headers: &HeaderMap) -> Option<String> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    chat_common::session_id(header(COOKIE), header(AUTHORIZATION)).map(str::to_owned)
}

fn error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": { "code": code } })),
    )
        .into_response()
}

/// Finds the session, puts its user (if any) in the request extensions, and enforces the CSRF
/// token on every state-changing request. Starts a session on `GET /`.
async fn sessions(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let id = session_id(request.headers());
    let session = id.as_deref().and_then(|id| app.sessions.get(id));
    let is_webhook = request.uri().path() == "/pusher/webhooks";
    if request.method() == Method::POST && !is_webhook {
        let token = request
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if !chat_common::csrf_ok(session.as_ref(), token) {
            return error(StatusCode::FORBIDDEN, "csrf");
        }
    }
    if let (Some(id), Some(session)) = (id, &session) {
        request.extensions_mut().insert(SessionId(id));
        if let Some(user) = &session.user {
            request.extensions_mut().insert(user.clone());
        }
    }
    next.run(request).await
}

async fn index(State(app): State<App>, request: Request) -> Response {
    let existing = session_id(request.headers()).and_then(|id| app.sessions.get(&id));
    match existing {
        Some(session) => Html(chat_common::page(&app.config, &session.csrf)).into_response(),
        None => {
            let (id, csrf) = app.sessions.create();
            let mut response = Html(chat_common::page(&app.config, &csrf)).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&chat_common::set_cookie(&id)) {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            response
        }
    }
}

async fn pusher_js(State(app): State<App>) -> Response {
    match tokio::fs::read(&app.config.pusher_js).await {
        Ok(js) => ([(CONTENT_TYPE, "text/javascript")], js).into_response(),
        Err(e) => {
            tracing::error!(path = %app.config.pusher_js.display(), error = %e, "pusher-js is missing; run scripts/install-test-tools");
            error(StatusCode::NOT_FOUND, "pusher_js_missing")
        }
    }
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

async fn login(
    State(app): State<App>,
    session: Option<Extension<SessionId>>,
    Json(body): Json<Login>,
) -> Response {
    let Some(Extension(SessionId(id))) = session else {
        return error(StatusCode::UNAUTHORIZED, "no_session");
    };
    match app.sessions.login(&id, &body.name) {
        Some(user) => Json(serde_json::json!({ "name": user.name })).into_response(),
        None => error(StatusCode::BAD_REQUEST, "invalid_name"),
    }
}

async fn logout(State(app): State<App>, session: Option<Extension<SessionId>>) -> StatusCode {
    if let Some(Extension(SessionId(id))) = session {
        app.sessions.logout(&id);
    }
    StatusCode::NO_CONTENT
}

async fn me(user: Option<Extension<CurrentUser>>) -> Response {
    match user {
        Some(Extension(user)) => {
            Json(serde_json::json!({ "name": user.name, "id": user.id })).into_response()
        }
        None => error(StatusCode::UNAUTHORIZED, "not_logged_in"),
    }
}

async fn send_message(
    State(app): State<App>,
    user: Option<Extension<CurrentUser>>,
    Json(body): Json<SendMessage>,
) -> Response {
    let Some(Extension(user)) = user else {
        return error(StatusCode::FORBIDDEN, "not_logged_in");
    };
    match app.send_message(&user, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            e.code(),
        ),
    }
}

async fn webhook_events(State(app): State<App>) -> Response {
    ([(CONTENT_TYPE, "application/json")], app.webhooks.to_json()).into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = Chat::start()?;
    let config = app.config.clone();
    let webhooks = app.webhooks.clone();
    let layer = PusherAuthLayer::new(config.credentials.clone(), chat_common::authorizer())
        .with_channel_path("/channels/authorize")
        .with_user_path("/channels/user-auth")
        .with_webhooks("/pusher/webhooks", webhooks.handler());
    let router = Router::new()
        .route("/", get(index))
        .route("/pusher.min.js", get(pusher_js))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/channels/send-message", post(send_message))
        .route("/webhooks/events", get(webhook_events))
        .pusher_auth(layer)
        // Added after the layer, so it runs first and the authorizer sees the user.
        .layer(middleware::from_fn_with_state(app.clone(), sessions))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    tracing::info!("chat on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
