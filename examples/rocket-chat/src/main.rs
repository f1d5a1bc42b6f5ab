//! The chat app on Rocket 0.5, built from what Rocket offers: request guards for the session,
//! the user and `X-Socket-ID`, a data guard for JSON bodies, `NamedFile` for the static file,
//! catchers for JSON errors, and pusher-auth-rocket's routes receiving the logged-in user.
//! Rocket has no session library in common use, so the sessions are the app's own, kept
//! server-side (see [`sessions`]).
//!
//! The routes, statuses and JSON errors are those of `axum-chat` (a passed request deadline is
//! a 408 `request_timeout`, as in `actix-chat`; what Rocket answers itself, such as a path with
//! no route, is JSON too):
//! - `GET /` serves the page; an anonymous visitor gets no session at all;
//! - `POST /login` logs in by name (a new session id, a new CSRF token kept in the session);
//!   `POST /logout` ends the session, then (in the background) the user's realtime connections;
//! - `POST /channels/authorize` and `POST /channels/user-auth` (and Laravel Echo's
//!   `/broadcasting/auth` and `/broadcasting/user-auth`) are pusher-auth's routes;
//! - `POST /channels/send-message` publishes to the others (the sender's `X-Socket-ID` is
//!   excluded when the session was authorized for it), `POST /channels/whisper` to one user,
//!   `GET /channels/stats` queries the Pusher server;
//! - `POST /pusher/webhooks` verifies webhooks; `GET /webhooks/events` lists them (test mode
//!   only, logged in).
//!
//! Every `POST` but the webhooks is refused cross-site (`Sec-Fetch-Site` / `Origin`), and every
//! `POST` but the login and the webhooks needs the session's `X-CSRF-Token`. A Rocket fairing
//! cannot answer a request, so both checks live in [`Guarded`], which wraps the handler of every
//! route (pusher-auth's included) together with the request deadline.
//!
//! Configured by the same `CHAT_*` and `PUSHER_*` variables as the other examples (`CHAT_ADDR`
//! wins over `ROCKET_ADDRESS` and `ROCKET_PORT`; Rocket's other settings, such as
//! `ROCKET_KEEP_ALIVE` or `ROCKET_LOG_LEVEL`, apply; Rocket's own log is at `critical` unless
//! `ROCKET_LOG_LEVEL` is set).
//!
//! # What Rocket 0.5.2 cannot do here
//!
//! - **No deadline before routing.** No app code runs until Rocket has routed a request, and
//!   two reads come first, unbounded. Rocket builds its hyper server itself, with
//!   `header_read_timeout(None)` and no setting for it (the API that would take a custom
//!   listener is private in 0.5.2): a client that never finishes its request head keeps its
//!   connection, and so does an idle keep-alive connection (`ROCKET_KEEP_ALIVE=0` turns
//!   keep-alive off). Then Rocket reads the first 14 bytes of every body (its `_method` form
//!   override): a body that stops before them is never answered, not even a 413 for a
//!   `Content-Length` over the limit. About 1,015 silent connections stop it at the usual limit
//!   of 1,024 open files. `CHAT_HEADER_TIMEOUT_MS` is not used. The end-to-end suite states
//!   both gaps (chat scenario 14 and the bad-input suite).
//!
//!   **Deploy it behind the load balancer of `deploy/nginx.conf`**, bound to loopback (or a
//!   private address only nginx reaches): nginx reads every request head within
//!   `client_header_timeout` and every body within `client_body_timeout` before it opens a
//!   connection to the app, closes idle connections after `keepalive_timeout`, and opens at
//!   most `max_conns` connections to the app, so silent and stalled clients cost nginx a few
//!   hundred bytes each and the app nothing. One `server` line in `upstream chat_apps` (one
//!   instance, below), with `CHAT_TRUST_HOPS=1` (its cookies are then `Secure` by default). `tests/e2e/proxy.test.js` runs rocket-chat behind
//!   that file: 1,100 silent connections leave it answering, each closed by nginx, and a
//!   stalled body ends at nginx; straight at the app, Rocket keeps every one of them open.
//! - **Body and request deadlines are the app's own.** The JSON routes read their body within
//!   `CHAT_BODY_TIMEOUT_MS` (408 `request_timeout` after); pusher-auth-rocket's endpoints read
//!   theirs themselves, within the request deadline (`CHAT_REQUEST_TIMEOUT_MS`, 408
//!   `request_timeout`), which bounds every route.
//! - **One instance only.** Sessions live in this process's memory; two instances do not share
//!   logins, so `REDIS_URL` is refused at start-up and the multi-node suite does not run this
//!   app.

mod sessions;

use std::io::Cursor;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use chat_common::hardening::{self, Limited, Limits, LiveSession, StillLoggedIn};
use chat_common::{BoxFuture, Chat, ChatPolicy, ChatUser, SendError, SendMessage, User, Whisper};
use pusher_auth::authorizer::BoxError;
use pusher_auth::Endpoints;
use pusher_auth_rocket::{PusherAuthRoutes, SenderSocket};
use rocket::data::{self, ByteUnit, Data, FromData};
use rocket::fairing::AdHoc;
use rocket::fs::NamedFile;
use rocket::http::{ContentType, Cookie, CookieJar, Method, SameSite, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::content::RawJson;
use rocket::response::{self, Responder, Response};
use rocket::route::{self, Handler, Route};
use rocket::{Build, Rocket, State};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use sessions::{Active, Sessions, StartError};

/// The session cookie's name.
const COOKIE: &str = "chat_session";

/// The largest JSON body the app's own routes read (ten messages of 2,000 characters fit, even
/// with every character escaped as a surrogate pair).
const BODY_LIMIT: ByteUnit = ByteUnit::Kibibyte(256);
/// The largest `/login` body: `{"name": …}` with a name of at most 32 characters.
const LOGIN_BODY: ByteUnit = ByteUnit::Kibibyte(1);
/// The largest `/channels/whisper` body: one message.
const WHISPER_BODY: ByteUnit = ByteUnit::Kibibyte(32);

/// The body limit of the app's route at `path` (the route's own path, not the request's:
/// Rocket routes `//login` and `/%6Cogin` to `/login`): what it accepts, no more.
fn body_limit(path: &str) -> ByteUnit {
    match path {
        "/login" => LOGIN_BODY,
        "/channels/whisper" => WHISPER_BODY,
        _ => BODY_LIMIT,
    }
}

/// An error answer: its status and the JSON `{"error":{"code":…}}`.
#[derive(Debug, Clone, Copy)]
struct ApiError {
    status: Status,
    code: &'static str,
}

impl ApiError {
    const fn new(status: Status, code: &'static str) -> Self {
        ApiError { status, code }
    }

    const CSRF: ApiError = ApiError::new(Status::Forbidden, "csrf");
    const TIMEOUT: ApiError = ApiError::new(Status::RequestTimeout, "request_timeout");

    fn publish(e: &SendError) -> Self {
        ApiError::new(
            Status::from_code(e.status()).unwrap_or(Status::BadGateway),
            e.code(),
        )
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = serde_json::json!({ "error": { "code": self.code } }).to_string();
        Response::build()
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(body.len(), Cursor::new(body))
            .ok()
    }
}

/// Either refusal of `send-message`: the app's, or pusher-auth-rocket's for a bad `X-Socket-ID`.
#[derive(rocket::Responder)]
enum Refusal {
    Api(ApiError),
    Socket(pusher_auth_rocket::Refusal),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

impl From<pusher_auth_rocket::Refusal> for Refusal {
    fn from(e: pusher_auth_rocket::Refusal) -> Self {
        Refusal::Socket(e)
    }
}

/// The request's live session, looked up once per request from the cookie (and marked as used).
fn session_of<'a>(req: &'a Request<'_>) -> Option<&'a Active> {
    struct Cached(Option<Active>);
    let cached = req.local_cache(|| {
        let sessions = req.rocket().state::<Arc<Sessions>>();
        let cookie = req.cookies().get(COOKIE);
        Cached(
            sessions
                .zip(cookie)
                .and_then(|(sessions, c)| sessions.resume(c.value())),
        )
    });
    cached.0.as_ref()
}

/// The request's live session; forwards (401) when there is none.
struct CurrentSession(Active);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentSession {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match session_of(req) {
            Some(active) => request::Outcome::Success(CurrentSession(active.clone())),
            None => request::Outcome::Forward(Status::Unauthorized),
        }
    }
}

/// The logged-in user of a request, with the session's connections log: for the handlers and
/// as the guard of pusher-auth's endpoints (no session: no user, so pusher-js gets a 403; the
/// sessions missing: a 500). It can ask whether its session is still live (see
/// [`hardening::StillLoggedIn`]).
#[derive(Clone)]
struct CurrentUser(ChatUser, Arc<Sessions>, String);

impl LiveSession for CurrentUser {
    fn live(&self) -> BoxFuture<Result<bool, BoxError>> {
        let live = self.1.is_live(&self.2);
        Box::pin(async move { Ok(live) })
    }
}

impl From<CurrentUser> for ChatUser {
    fn from(user: CurrentUser) -> Self {
        user.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let Some(sessions) = req.rocket().state::<Arc<Sessions>>() else {
            return request::Outcome::Error((
                Status::InternalServerError,
                "the sessions are not managed",
            ));
        };
        match session_of(req) {
            Some(active) => request::Outcome::Success(CurrentUser(
                ChatUser {
                    user: active.user.clone(),
                    sockets: sessions.sockets(&active.id),
                },
                Arc::clone(sessions),
                active.id.clone(),
            )),
            None => request::Outcome::Forward(Status::Unauthorized),
        }
    }
}

/// A JSON body of the app's own routes: `application/json`, at most [`BODY_LIMIT`], read within
/// the body timeout (408 `request_timeout` after).
struct JsonBody<T>(T);

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Send> FromData<'r> for JsonBody<T> {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let fail = |e: ApiError| data::Outcome::Error((e.status, e));
        if !req.content_type().is_some_and(|ct| ct.is_json()) {
            return fail(ApiError::new(
                Status::UnsupportedMediaType,
                "unsupported_media_type",
            ));
        }
        let too_large = ApiError::new(Status::PayloadTooLarge, "payload_too_large");
        let declared = req
            .headers()
            .get_one("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        let limit = body_limit(req.route().map_or("", |route| route.uri.path()));
        if declared.is_some_and(|n| n > limit.as_u64()) {
            return fail(too_large);
        }
        let Some(chat) = req.rocket().state::<Chat>() else {
            return fail(ApiError::new(Status::InternalServerError, "internal_error"));
        };
        let read = data.open(limit).into_bytes();
        let body = match tokio::time::timeout(chat.config.body_timeout, read).await {
            Err(_) => return fail(ApiError::TIMEOUT),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "could not read the request body");
                return fail(ApiError::new(Status::BadRequest, "body_read_error"));
            }
            Ok(Ok(body)) if !body.is_complete() => return fail(too_large),
            Ok(Ok(body)) => body.into_inner(),
        };
        match serde_json::from_slice(&body) {
            Ok(value) => data::Outcome::Success(JsonBody(value)),
            Err(e) if e.is_data() => {
                fail(ApiError::new(Status::UnprocessableEntity, "invalid_body"))
            }
            Err(_) => fail(ApiError::new(Status::BadRequest, "malformed_json")),
        }
    }
}

/// What a route demands of a request before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Nothing (every method but `POST`, and the webhooks: they are signed).
    Nothing,
    /// Not cross-site (the login: there is no session to take a token from yet).
    SameSite,
    /// Not cross-site, and the session's `X-CSRF-Token` (every other `POST`).
    SameSiteAndToken,
}

impl Check {
    /// The check of a route, from its method and path: the one place that decides. (A form
    /// `POST` that Rocket turns into another method with `_method` reaches that method's route,
    /// and none of the app's other routes changes anything.)
    fn of(route: &Route) -> Check {
        if route.method != Method::Post {
            return Check::Nothing;
        }
        match route.uri.path() {
            "/pusher/webhooks" => Check::Nothing,
            "/login" => Check::SameSite,
            _ => Check::SameSiteAndToken,
        }
    }

    fn refuses(self, req: &Request<'_>) -> bool {
        match self {
            Check::Nothing => false,
            Check::SameSite => cross_site(req),
            Check::SameSiteAndToken => {
                let expected = session_of(req).map(|s| s.csrf.as_str());
                cross_site(req)
                    || !chat_common::csrf_ok(expected, req.headers().get_one("x-csrf-token"))
            }
        }
    }
}

/// Whether a browser says the request comes from another site: `Sec-Fetch-Site`, or else an
/// `Origin` that is not this host.
fn cross_site(req: &Request<'_>) -> bool {
    let header = |name: &str| req.headers().get_one(name);
    match header("sec-fetch-site") {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => header("origin").is_some_and(|origin| {
            let host = header("host").unwrap_or_default();
            origin.split_once("://").map(|(_, h)| h) != Some(host)
        }),
    }
}

/// A 429 `too_many_requests` with `Retry-After`.
struct TooMany(hardening::TooMany);

impl<'r> Responder<'r, 'static> for TooMany {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = hardening::TooMany::BODY;
        Response::build()
            .status(Status::TooManyRequests)
            .header(ContentType::JSON)
            .raw_header("Retry-After", self.0.retry_after_secs().to_string())
            .sized_body(body.len(), Cursor::new(body))
            .ok()
    }
}

/// Why a limited request is not admitted: past its limit, or the limits are not managed (the
/// app's mistake: a 500, logged, never an unlimited route).
enum NotAdmitted {
    TooMany(TooMany),
    NoLimits,
}

/// The per-address limit a request to `route` counts against, if it is limited: `Err` when
/// this one is past it. The address is the peer's, or, behind trusted proxies, from
/// `X-Forwarded-For` (see [`chat_common::hardening`]; Rocket's own `client_ip` would believe
/// any client's `X-Real-IP`).
fn rate_limit(limit: Option<Limited>, req: &Request<'_>) -> Result<(), NotAdmitted> {
    let Some(limit) = limit else {
        return Ok(());
    };
    let Some(limits) = req.rocket().state::<Limits>() else {
        tracing::error!("the per-address limits are not managed (`Rocket::manage(Limits)`)");
        return Err(NotAdmitted::NoLimits);
    };
    let peer = req
        .remote()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
    let client = limits.client(peer, req.headers().get("x-forwarded-for"));
    limits.check(limit, client).map_err(|refused| {
        tracing::debug!(%client, ?limit, "rate limited");
        NotAdmitted::TooMany(TooMany(refused))
    })
}

/// A route's handler behind its per-address limit (429), its [`Check`] (403 `csrf` when
/// refused) and the request deadline (408 `request_timeout`).
#[derive(Clone)]
struct Guarded {
    handler: Box<dyn Handler>,
    check: Check,
    limit: Option<Limited>,
    deadline: Duration,
}

#[rocket::async_trait]
impl Handler for Guarded {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        match rate_limit(self.limit, req) {
            Ok(()) => {}
            Err(NotAdmitted::TooMany(refused)) => return route::Outcome::from(req, refused),
            Err(NotAdmitted::NoLimits) => {
                return route::Outcome::from(
                    req,
                    ApiError::new(Status::InternalServerError, "internal_error"),
                )
            }
        }
        if self.check.refuses(req) {
            return route::Outcome::from(req, ApiError::CSRF);
        }
        match tokio::time::timeout(self.deadline, self.handler.handle(req, data)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(path = %req.uri().path(), "the request deadline passed");
                route::Outcome::from(req, ApiError::TIMEOUT)
            }
        }
    }
}

/// Every route behind its check and the request deadline.
fn guarded(routes: Vec<Route>, deadline: Duration) -> Vec<Route> {
    routes
        .into_iter()
        .map(|mut route| {
            let limit = (route.method == Method::Post)
                .then(|| Limited::of_path(route.uri.path()))
                .flatten();
            route.handler = Box::new(Guarded {
                handler: route.handler.clone(),
                check: Check::of(&route),
                limit,
                deadline,
            });
            route
        })
        .collect()
}

/// The page, with its content security policy (the same for every page, built at start-up).
struct Page {
    html: String,
    csp: String,
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(ContentType::HTML)
            .raw_header("Content-Security-Policy", self.csp)
            .sized_body(self.html.len(), Cursor::new(self.html))
            .ok()
    }
}

#[rocket::get("/")]
fn index(chat: &State<Chat>, session: Option<CurrentSession>) -> Page {
    let session = session.map(|s| s.0);
    let csrf = session.as_ref().map(|s| s.csrf.as_str());
    let user = session.as_ref().map(|s| &s.user);
    let html = chat_common::page(&chat.config, csrf, user);
    let csp = chat.page_policy().to_owned();
    Page { html, csp }
}

/// The page's script.
#[rocket::get("/chat.js")]
fn chat_js() -> (rocket::http::ContentType, &'static str) {
    (rocket::http::ContentType::JavaScript, chat_common::CHAT_JS)
}

/// The pusher-js build, read asynchronously (tokio's file I/O).
#[rocket::get("/pusher.min.js")]
async fn pusher_js(chat: &State<Chat>) -> Option<NamedFile> {
    NamedFile::open(&chat.config.pusher_js).await.ok()
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

#[rocket::post("/login", data = "<body>")]
fn login(
    chat: &State<Chat>,
    sessions: &State<Arc<Sessions>>,
    cookies: &CookieJar<'_>,
    body: Result<JsonBody<Login>, ApiError>,
) -> Result<RawJson<String>, ApiError> {
    let JsonBody(body) = body?;
    let user =
        User::from_name(&body.name).ok_or(ApiError::new(Status::BadRequest, "invalid_name"))?;
    // A new session id, whoever was logged in before: the session this request came with ends.
    // A failing random source refuses the login rather than issue a weak id or token.
    if let Some(old) = cookies.get(COOKIE) {
        sessions.end(old.value());
    }
    let session = sessions.start(user).map_err(|StartError::Random| {
        tracing::error!("the OS random source failed");
        ApiError::new(Status::InternalServerError, "random")
    })?;
    let cookie = Cookie::build((COOKIE, session.id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(chat.config.secure_cookies);
    cookies.add(cookie);
    let answer = serde_json::json!({ "name": session.user.name, "csrf": session.csrf });
    Ok(RawJson(answer.to_string()))
}

#[rocket::post("/logout")]
fn logout(
    chat: &State<Chat>,
    sessions: &State<Arc<Sessions>>,
    cookies: &CookieJar<'_>,
    session: Option<CurrentSession>,
) -> Status {
    if let Some(CurrentSession(session)) = session {
        // The session ends first, so that a connection reconnecting meanwhile cannot sign in
        // with it again; then the user's connections end, in the background (a slow Pusher
        // does not hold the answer).
        sessions.end(&session.id);
        chat.disconnect_in_background(session.user);
    }
    cookies.remove(COOKIE);
    Status::NoContent
}

#[rocket::post("/channels/send-message", data = "<body>")]
async fn send_message(
    chat: &State<Chat>,
    me: Option<CurrentUser>,
    sender: Result<SenderSocket, pusher_auth_rocket::Refusal>,
    body: Result<JsonBody<SendMessage>, ApiError>,
) -> Result<Status, Refusal> {
    let Some(CurrentUser(me, ..)) = me else {
        return Err(ApiError::new(Status::Forbidden, "not_logged_in").into());
    };
    let SenderSocket(sender) = sender?;
    let JsonBody(body) = body?;
    // Exclude the sender only if this session was authorized for that connection.
    let sender = chat_common::sender_to_exclude(sender, me.sockets.as_ref()).await;
    chat.send_message(&me.user, &body, sender)
        .await
        .map_err(|e| ApiError::publish(&e))?;
    Ok(Status::NoContent)
}

#[rocket::post("/channels/whisper", data = "<body>")]
async fn whisper(
    chat: &State<Chat>,
    me: Option<CurrentUser>,
    body: Result<JsonBody<Whisper>, ApiError>,
) -> Result<Status, ApiError> {
    let Some(CurrentUser(me, ..)) = me else {
        return Err(ApiError::new(Status::Forbidden, "not_logged_in"));
    };
    let JsonBody(body) = body?;
    chat.whisper(&me.user, &body)
        .await
        .map_err(|e| ApiError::publish(&e))?;
    Ok(Status::NoContent)
}

#[rocket::get("/channels/stats")]
async fn stats(
    chat: &State<Chat>,
    me: Option<CurrentSession>,
) -> Result<RawJson<String>, ApiError> {
    if me.is_none() {
        return Err(ApiError::new(Status::Unauthorized, "not_logged_in"));
    }
    match chat.stats().await {
        Ok(stats) => Ok(RawJson(stats.to_string())),
        Err(e) => Err(ApiError::publish(&e)),
    }
}

/// The recorded webhooks (mounted in test mode only).
#[rocket::get("/webhooks/events")]
fn webhook_events(
    chat: &State<Chat>,
    me: Option<CurrentSession>,
) -> Result<RawJson<String>, ApiError> {
    if me.is_none() {
        return Err(ApiError::new(Status::Unauthorized, "not_logged_in"));
    }
    Ok(RawJson(chat.webhooks.to_json()))
}

/// Every error Rocket answers itself (no route, a failed guard, a panic) as JSON.
#[rocket::catch(default)]
fn any_error(status: Status, _: &Request<'_>) -> ApiError {
    let code = match status.code {
        400 => "bad_request",
        401 => "not_logged_in",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "invalid_body",
        500..=599 => "internal_error",
        _ => "error",
    };
    ApiError::new(status, code)
}

/// The app on `rocket`: its state (the chat and the sessions), routes (each [`guarded`]) and
/// catchers.
fn app(chat: Chat, limits: Limits, rocket: Rocket<Build>) -> Rocket<Build> {
    let config = Arc::clone(&chat.config);
    // The page's paths, and Laravel Echo's defaults for Echo clients; both decide for the
    // `ChatUser` of the session, found by the `CurrentUser` guard.
    let policy = ChatPolicy::new(&config.credentials);
    // Each re-checks the session once the request's body has been read.
    let pusher = PusherAuthRoutes::new(
        Endpoints::<CurrentUser>::new(config.credentials.clone(), StillLoggedIn(policy.clone()))
            .with_signin(hardening::signin_if_live)
            .with_channel_path("/channels/authorize")
            .with_signin_path("/channels/user-auth")
            .with_webhooks("/pusher/webhooks", chat.webhooks.handler()),
    )
    .with_guard(|user: CurrentUser| user);
    let echo = PusherAuthRoutes::new(
        Endpoints::<CurrentUser>::new(config.credentials.clone(), StillLoggedIn(policy))
            .with_signin(hardening::signin_if_live)
            .for_laravel_echo(),
    )
    .with_guard(|user: CurrentUser| user);
    let mut routes = rocket::routes![
        index,
        pusher_js,
        chat_js,
        login,
        logout,
        send_message,
        whisper,
        stats
    ];
    if config.test_mode {
        routes.extend(rocket::routes![webhook_events]);
    }
    routes.extend(pusher.routes());
    routes.extend(echo.routes());
    let sessions = Arc::new(Sessions::new(config.session_idle, config.max_sessions));
    rocket
        .manage(chat)
        .manage(sessions)
        .manage(limits)
        // Rocket's default shield, with framing denied (its default allows the same origin).
        .attach(rocket::shield::Shield::default().enable(rocket::shield::Frame::Deny))
        .mount("/", guarded(routes, config.request_timeout))
        .register("/", rocket::catchers![any_error])
        .attach(AdHoc::on_liftoff("address", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                tracing::info!("chat on http://{}:{}", config.address, config.port);
            })
        }))
}

/// Rocket's configuration (`Rocket.toml`, `ROCKET_*`) with the app's address from `CHAT_ADDR`.
///
/// The profile is the one Rocket selected (`debug` in a debug build unless `ROCKET_PROFILE`
/// says otherwise), as `Config::try_from` keeps it: a plain `extract` drops it, and a `Config`
/// without it reads as the `default` profile, which Rocket treats as a release one. With
/// Rocket's `secrets` feature on (the workspace turns it on for the other Rocket crates) the
/// app then refused to start even in a debug build, for want of a secret key it does not use.
/// A release build with that feature on still needs `ROCKET_SECRET_KEY` (Rocket's rule): build
/// `-p rocket-chat` on its own, or set a key.
fn rocket_config(bind: &str) -> Result<rocket::Config, Box<dyn std::error::Error>> {
    let address = bind
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| format!("CHAT_ADDR `{bind}` names no address"))?;
    let mut rocket = rocket::Config::try_from(rocket::Config::figment())?;
    rocket.address = address.ip();
    rocket.port = address.port();
    if std::env::var_os("ROCKET_LOG_LEVEL").is_none() {
        rocket.log_level = rocket::config::LogLevel::Critical;
    }
    Ok(rocket)
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    chat_common::init_logging();
    let chat = Chat::from_env()?;
    if chat.config.redis_url.is_some() {
        return Err(
            "REDIS_URL is set, but rocket-chat keeps its sessions in this process's \
                    memory and cannot share them: run one instance, without REDIS_URL"
                .into(),
        );
    }
    let limits = Limits::from_env()?;
    let rocket = rocket::custom(rocket_config(&chat.config.bind)?);
    app(chat, limits, rocket)
        .launch()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod config_tests {
    /// In a debug build the app runs in Rocket's `debug` profile, where Rocket makes up a
    /// secret key when none is configured; it was `default`, and the app did not start when
    /// Rocket's `secrets` feature was on.
    #[test]
    fn the_configuration_keeps_rockets_profile() {
        let config = super::rocket_config("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.profile, rocket::Config::figment().profile().clone());
        if cfg!(debug_assertions) && std::env::var_os("ROCKET_PROFILE").is_none() {
            assert_eq!(config.profile, rocket::Config::DEBUG_PROFILE);
        }
        assert_eq!(config.port, 0);
    }
}

#[cfg(test)]
mod tests {
    //! The checks and the deadline of [`guarded`], on stand-in routes at the app's paths.
    use super::*;
    use rocket::http::Header;
    use rocket::local::asynchronous::{Client, LocalRequest};

    #[rocket::post("/channels/send-message")]
    fn changes_state() -> &'static str {
        "done"
    }

    #[rocket::get("/channels/stats")]
    fn reads() -> &'static str {
        "done"
    }

    #[rocket::post("/login")]
    fn logs_in() -> &'static str {
        "done"
    }

    #[rocket::post("/pusher/webhooks")]
    fn webhook() -> &'static str {
        "done"
    }

    #[rocket::post("/channels/whisper")]
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    }

    async fn app() -> (Client, Arc<Sessions>, Active) {
        let sessions = Arc::new(Sessions::new(Duration::from_secs(60), 10));
        let ann = sessions.start(User::from_name("ann").unwrap()).unwrap();
        let routes = rocket::routes![changes_state, reads, logs_in, webhook, slow];
        let config = rocket::Config {
            log_level: rocket::config::LogLevel::Off,
            ..rocket::Config::debug_default()
        };
        let rocket = rocket::custom(config)
            .manage(Arc::clone(&sessions))
            .manage(Limits::new(0, 0, 0))
            .mount("/", guarded(routes, Duration::from_millis(200)))
            .register("/", rocket::catchers![any_error]);
        (Client::untracked(rocket).await.unwrap(), sessions, ann)
    }

    /// The limits not managed: a limited route answers 500 instead of going unlimited.
    #[rocket::async_test]
    async fn without_the_limits_a_limited_route_fails_loudly() {
        let config = rocket::Config {
            log_level: rocket::config::LogLevel::Off,
            ..rocket::Config::debug_default()
        };
        let rocket = rocket::custom(config)
            .mount(
                "/",
                guarded(rocket::routes![logs_in, reads], Duration::from_secs(1)),
            )
            .register("/", rocket::catchers![any_error]);
        let client = Client::untracked(rocket).await.unwrap();
        assert!(is(
            answer(client.post("/login")).await,
            (500, r#"{"error":{"code":"internal_error"}}"#)
        ));
        assert!(is(
            answer(client.get("/channels/stats")).await,
            (200, "done")
        ));
    }

    fn as_ann<'c>(request: LocalRequest<'c>, ann: &Active) -> LocalRequest<'c> {
        with_token(request, ann, &ann.csrf)
    }

    fn with_token<'c>(request: LocalRequest<'c>, ann: &Active, token: &str) -> LocalRequest<'c> {
        request
            .cookie(Cookie::new(COOKIE, ann.id.clone()))
            .header(Header::new("x-csrf-token", token.to_owned()))
            .header(Header::new("host", "chat.example"))
    }

    async fn answer(request: LocalRequest<'_>) -> (u16, String) {
        let response = request.dispatch().await;
        let status = response.status().code;
        (status, response.into_string().await.unwrap_or_default())
    }

    const CSRF: (u16, &str) = (403, r#"{"error":{"code":"csrf"}}"#);

    fn is(got: (u16, String), want: (u16, &str)) -> bool {
        got.0 == want.0 && got.1 == want.1
    }

    #[rocket::async_test]
    async fn a_post_needs_the_sessions_token() {
        let (client, sessions, ann) = app().await;
        let post = || client.post("/channels/send-message");
        assert!(is(answer(as_ann(post(), &ann)).await, (200, "done")));
        let no_token = post()
            .cookie(Cookie::new(COOKIE, ann.id.clone()))
            .header(Header::new("host", "chat.example"));
        assert!(is(answer(no_token).await, CSRF));
        assert!(is(
            answer(with_token(post(), &ann, &"0".repeat(32))).await,
            CSRF
        ));
        assert!(is(answer(with_token(post(), &ann, "")).await, CSRF));
        // The token without its session, or of a session that ended, is worth nothing.
        let no_session = post().header(Header::new("x-csrf-token", ann.csrf.clone()));
        assert!(is(answer(no_session).await, CSRF));
        sessions.end(&ann.id);
        assert!(is(answer(as_ann(post(), &ann)).await, CSRF));
    }

    #[rocket::async_test]
    async fn cross_site_posts_are_refused_even_with_the_token() {
        let (client, _sessions, ann) = app().await;
        let post = |site: (&'static str, &'static str)| {
            as_ann(client.post("/channels/send-message"), &ann).header(Header::new(site.0, site.1))
        };
        for refused in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "https://evil.example"),
            ("origin", "null"),
        ] {
            assert!(is(answer(post(refused)).await, CSRF), "{refused:?}");
        }
        for allowed in [
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-site", "none"),
            ("origin", "https://chat.example"),
        ] {
            assert!(
                is(answer(post(allowed)).await, (200, "done")),
                "{allowed:?}"
            );
        }
    }

    #[rocket::async_test]
    async fn the_login_is_same_site_only_and_webhooks_and_reads_are_unchecked() {
        let (client, _sessions, _ann) = app().await;
        let cross = || Header::new("sec-fetch-site", "cross-site");
        assert!(is(answer(client.post("/login")).await, (200, "done")));
        assert!(is(
            answer(client.post("/login").header(cross())).await,
            CSRF
        ));
        assert!(is(
            answer(client.post("/pusher/webhooks").header(cross())).await,
            (200, "done")
        ));
        assert!(is(
            answer(client.get("/channels/stats").header(cross())).await,
            (200, "done")
        ));
    }

    #[rocket::async_test]
    async fn the_request_deadline_answers_408() {
        let (client, _sessions, ann) = app().await;
        let started = std::time::Instant::now();
        let got = answer(as_ann(client.post("/channels/whisper"), &ann)).await;
        assert!(is(got, (408, r#"{"error":{"code":"request_timeout"}}"#)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
