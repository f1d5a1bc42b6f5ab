//! pusher-auth on actix-web in one file: log in (actix-identity on actix-session), authorize
//! `private-chat` and `presence-chat`, sign in, and publish one event to the others. See the
//! README.
use actix_identity::{Identity, IdentityMiddleware};
use actix_session::{storage::CookieSessionStore, SessionMiddleware};
use actix_web::{cookie::Key, web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use pusher_auth_actix_web::prelude::*;
use serde::Deserialize;

/// Who is logged in: actix-identity's id is the name.
#[derive(Clone, Deserialize)]
struct User {
    name: String,
}

/// Logs in by name alone (`{"name": "ann"}`): check a password here in a real app.
async fn login(req: HttpRequest, user: web::Json<User>) -> HttpResponse {
    if UserId::new(user.name.as_str()).is_err() {
        return HttpResponse::BadRequest().finish();
    }
    match Identity::login(&req.extensions(), user.into_inner().name) {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[derive(Deserialize)]
struct Message {
    text: String,
}

/// Publishes the message on `private-chat` to everyone but the sender's own connection.
async fn send(
    pusher: web::Data<pusher_rest::Client>,
    identity: Identity,                 // not logged in: a 401
    SenderSocket(sender): SenderSocket, // X-Socket-ID
    message: web::Json<Message>,
) -> HttpResponse {
    let event = serde_json::json!({ "from": identity.id().ok(), "text": message.text });
    let trigger = pusher.trigger("private-chat", "message", &event);
    match trigger.exclude(sender).send().await {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(_) => HttpResponse::BadGateway().finish(),
    }
}

/// `pusher.signin()`: the connection signs in as the logged-in user.
async fn signin(user: User, _: SigninRequest) -> Option<UserData> {
    UserId::new(user.name).ok().map(UserData::new)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let routes = ChannelRoutes::new()
        .private("chat", |_user: User, (): ()| async { true })
        .presence("chat", |user: User, (): ()| async move {
            Some(PresenceMember::new(UserId::new(user.name).ok()?))
        });
    // PUSHER_KEY and PUSHER_SECRET here; pusher-rest adds PUSHER_APP_ID and PUSHER_HOST/PORT.
    let endpoints = Endpoints::new(Credentials::from_env()?, routes).with_signin(signin);
    // POST /pusher/auth and /pusher/user-auth (pusher-js's defaults), for the identity's user.
    let pusher = PusherAuthRoutes::new(endpoints)
        .with_extractor(|identity: Identity| identity.id().ok().map(|name| User { name }));
    let publisher = web::Data::new(pusher_rest::Client::from_env()?);
    let addr = std::env::var("MINIMAL_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let addr: std::net::SocketAddr = addr.parse()?;
    let key = Key::generate(); // signs and encrypts the cookie: load a fixed one in a real app
    HttpServer::new(move || {
        // Cookies over HTTPS only (`Secure`) unless the app is bound to loopback.
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_secure(!addr.ip().is_loopback());
        App::new()
            .app_data(publisher.clone())
            .app_data(web::JsonConfig::default().limit(4096)) // a login or a message
            .configure(|cfg| pusher.configure(cfg))
            .route("/login", web::post().to(login))
            .route("/send", web::post().to(send))
            .wrap(IdentityMiddleware::default())
            .wrap(sessions.build())
    })
    .bind(addr)?
    .run()
    .await?;
    Ok(())
}
