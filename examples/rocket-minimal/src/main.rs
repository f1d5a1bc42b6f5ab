//! pusher-auth on Rocket in one file: log in (a private cookie), authorize `private-chat` and
//! `presence-chat`, sign in, and publish one event to the others. See the README.
use pusher_auth_rocket::prelude::*;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{serde::json::Json, State};
use serde::Deserialize;

/// Who is logged in: the name `/login` put in a private (encrypted, signed) cookie.
#[derive(Clone, Deserialize)]
struct User {
    name: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for User {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match req.cookies().get_private("user") {
            Some(cookie) => Outcome::Success(User {
                name: cookie.value().to_owned(),
            }),
            None => Outcome::Forward(Status::Unauthorized), // pusher-js gets a 403
        }
    }
}

/// Logs in by name alone (`{"name": "ann"}`): check a password here in a real app.
#[rocket::post("/login", format = "json", data = "<user>")] // JSON only: no cross-site form
fn login(user: Json<User>, cookies: &CookieJar<'_>, config: &rocket::Config) -> Status {
    if UserId::new(user.name.as_str()).is_err() {
        return Status::BadRequest;
    }
    // HttpOnly by default; over HTTPS only (`Secure`) unless the app is bound to loopback.
    let cookie = Cookie::build(("user", user.into_inner().name)).same_site(SameSite::Lax);
    cookies.add_private(cookie.secure(!config.address.is_loopback()));
    Status::NoContent
}

#[derive(Deserialize)]
struct Message {
    text: String,
}

/// Publishes the message on `private-chat` to everyone but the sender's own connection.
#[rocket::post("/send", format = "json", data = "<message>")]
async fn send(
    pusher: &State<pusher_rest::Client>,
    user: User,
    sender: Result<SenderSocket, Refusal>, // X-Socket-ID; a bad one is a 400
    message: Json<Message>,
) -> Result<Status, Refusal> {
    let event = serde_json::json!({ "from": user.name, "text": message.text });
    let trigger = pusher.trigger("private-chat", "message", &event);
    let sent = trigger.exclude(sender?.0).send().await;
    Ok(sent.map_or(Status::BadGateway, |_| Status::NoContent))
}

/// `pusher.signin()`: the connection signs in as the logged-in user.
async fn signin(user: User, _: SigninRequest) -> Option<UserData> {
    UserId::new(user.name).ok().map(UserData::new)
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let routes = ChannelRoutes::new()
        .private("chat", |_user: User, (): ()| async { true })
        .presence("chat", |user: User, (): ()| async move {
            Some(PresenceMember::new(UserId::new(user.name).ok()?))
        });
    // PUSHER_KEY and PUSHER_SECRET here; pusher-rest adds PUSHER_APP_ID and PUSHER_HOST/PORT.
    let endpoints = Endpoints::new(Credentials::from_env()?, routes).with_signin(signin);
    // POST /pusher/auth and /pusher/user-auth (pusher-js's defaults), for the guard's user.
    let pusher = PusherAuthRoutes::new(endpoints).with_guard(|user: User| user);
    let addr = std::env::var("MINIMAL_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let addr: std::net::SocketAddr = addr.parse()?;
    let config = rocket::Config::figment()
        .merge(("address", addr.ip()))
        .merge(("port", addr.port()))
        .merge(("limits.json", 4096)); // a login or a message
    let _ = rocket::custom(config)
        .manage(pusher_rest::Client::from_env()?)
        .mount("/", pusher.routes())
        .mount("/", rocket::routes![login, send])
        .launch()
        .await?;
    Ok(())
}
