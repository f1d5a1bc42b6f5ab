//! The chat app on actix-web: the same routes, page and authorizer as `axum-chat`.
//!
//! The session is found from the cookie; an actix extractor
//! ([`pusher_auth_actix_web::PusherAuth::with_extractor`]) hands the logged-in user to the
//! portable authorizer, and a middleware enforces the CSRF token on every `POST` except
//! webhooks.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{ContentType, AUTHORIZATION, COOKIE};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chat_common::{Chat, CurrentUser, SendMessage, Sessions};
use pusher_auth_actix_web::PusherAuth;
use serde::Deserialize;

type AppState = Chat;

fn error(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": { "code": code } }))
}

fn session_id(req: &HttpRequest) -> Option<String> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    chat_common::session_id(header(COOKIE), header(AUTHORIZATION)).map(str::to_owned)
}

/// The logged-in user of a request, from its session.
fn user(req: &HttpRequest, sessions: &Sessions) -> Option<CurrentUser> {
    session_id(req)
        .and_then(|id| sessions.get(&id))
        .and_then(|s| s.user)
}

/// Enforces the session's CSRF token on every `POST` except webhooks.
async fn csrf(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    if req.method() == Method::POST && req.path() != "/pusher/webhooks" {
        let sessions = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.sessions.clone())
            .unwrap_or_default();
        let session = session_id(req.request()).and_then(|id| sessions.get(&id));
        let token = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if !chat_common::csrf_ok(session.as_ref(), token) {
            return Ok(req
                .into_response(error(StatusCode::FORBIDDEN, "csrf"))
                .map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

async fn index(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    match session_id(&req).and_then(|id| app.sessions.get(&id)) {
        Some(session) => HttpResponse::Ok()
            .content_type(ContentType::html())
            .body(chat_common::page(&app.config, &session.csrf)),
        None => {
            let (id, csrf) = app.sessions.create();
            HttpResponse::Ok()
                .content_type(ContentType::html())
                .insert_header(("set-cookie", chat_common::set_cookie(&id)))
                .body(chat_common::page(&app.config, &csrf))
        }
    }
}

async fn pusher_js(app: web::Data<AppState>) -> HttpResponse {
    match std::fs::read(&app.config.pusher_js) {
        Ok(js) => HttpResponse::Ok().content_type("text/javascript").body(js),
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

async fn login(req: HttpRequest, app: web::Data<AppState>, body: web::Json<Login>) -> HttpResponse {
    let Some(id) = session_id(&req) else {
        return error(StatusCode::UNAUTHORIZED, "no_session");
    };
    match app.sessions.login(&id, &body.name) {
        Some(user) => HttpResponse::Ok().json(serde_json::json!({ "name": user.name })),
        None => error(StatusCode::BAD_REQUEST, "invalid_name"),
    }
}

async fn logout(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    if let Some(id) = session_id(&req) {
        app.sessions.logout(&id);
    }
    HttpResponse::NoContent().finish()
}

async fn me(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    match user(&req, &app.sessions) {
        Some(user) => {
            HttpResponse::Ok().json(serde_json::json!({ "name": user.name, "id": user.id }))
        }
        None => error(StatusCode::UNAUTHORIZED, "not_logged_in"),
    }
}

async fn send_message(
    req: HttpRequest,
    app: web::Data<AppState>,
    body: web::Json<SendMessage>,
) -> HttpResponse {
    let Some(user) = user(&req, &app.sessions) else {
        return error(StatusCode::FORBIDDEN, "not_logged_in");
    };
    match app.send_message(&user, &body).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => error(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            e.code(),
        ),
    }
}

async fn webhook_events(app: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(app.webhooks.to_json())
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let state = Chat::start()?;
    let config = state.config.clone();
    let sessions = state.sessions.clone();
    let webhooks = state.webhooks.clone();
    let pusher = PusherAuth::new(config.credentials.clone(), chat_common::authorizer())
        .with_channel_path("/channels/authorize")
        .with_user_path("/channels/user-auth")
        .with_webhooks("/pusher/webhooks", webhooks.handler())
        .with_extractor(move |req: HttpRequest| user(&req, &sessions));
    let bind = config.bind.clone();
    tracing::info!("chat on http://{bind}");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(from_fn(csrf))
            .configure(|cfg| pusher.configure(cfg))
            .route("/", web::get().to(index))
            .route("/pusher.min.js", web::get().to(pusher_js))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .route("/me", web::get().to(me))
            .route("/channels/send-message", web::post().to(send_message))
            .route("/webhooks/events", web::get().to(webhook_events))
    })
    .workers(2)
    .bind(bind)?
    .run()
    .await?;
    Ok(())
}
