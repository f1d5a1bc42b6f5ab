//! The chat app on actix-web, built from the libraries actix users already use: sessions from
//! actix-session, kept server-side (in this process's memory, a bounded store, see [`memory`];
//! or in Redis when `REDIS_URL` is set, through actix-session's Redis store with the one
//! change [`redis_store`] explains; the cookie holds only the session key, signed and
//! encrypted with `CHAT_SESSION_KEY`), login from actix-identity, static files from
//! actix-files, actix-web's own timeouts, and the same channel routes and page as `axum-chat`.
//!
//! The routes are those of `axum-chat`. Every `POST` but the login and the webhooks needs the
//! session's `X-CSRF-Token`; the login is refused cross-site (`Sec-Fetch-Site` / `Origin`).
//! The connections a session was authorized for (the last 16, for `send-message` to exclude
//! the sender's own) are kept in the session, so any instance sharing the sessions sees them.
//!
//! Slow and idle clients, with actix-web's own settings: `CHAT_HEADER_TIMEOUT_MS` is
//! `client_request_timeout`, which runs from the moment a connection opens, so a connection
//! that sends nothing is closed as well as one that never finishes its head (chat scenario 14);
//! the app serves HTTP/1 only (`bind`, not `bind_auto_h2c`), so an HTTP/2 preface gets a 400
//! and the connection closes. actix-web bounds the head only: `CHAT_BODY_TIMEOUT_MS` is the deadline of the whole
//! request, body and handler included (a 408 `request_timeout`), and `CHAT_REQUEST_TIMEOUT_MS`
//! is not used. actix-web serves at most 25,000 connections per worker (its default
//! `max_connections`), with one worker per core of the machine.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_identity::{Identity, IdentityMiddleware};
use actix_session::config::{PersistentSession, SessionLifecycle};
use actix_session::{Session, SessionExt, SessionMiddleware};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, FromRequest, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use chat_common::hardening::{self, Limited, Limits, LiveSession, StillLoggedIn};
use chat_common::{BoxFuture, Chat, ChatPolicy, ChatUser, SendMessage, SocketLog, User, Whisper};
use futures_util::future::LocalBoxFuture;
use pusher_auth::authorizer::BoxError;
use pusher_auth::{Endpoints, SocketId};
use pusher_auth_actix_web::{PusherAuthRoutes, SenderSocket};
use serde::Deserialize;

const CSRF: &str = "csrf";

/// Where a session keeps the connections it was authorized for.
const SOCKETS: &str = "sockets";

/// The most connections a session remembers (the most recent).
const MAX_SOCKETS: usize = 16;

#[derive(Clone)]
struct AppState {
    chat: Chat,
}

fn error(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": { "code": code } }))
}

/// The logged-in user of a request: the identity's id is the name.
fn current_user(identity: Option<&Identity>) -> Option<User> {
    identity
        .and_then(|i| i.id().ok())
        .and_then(|id| User::from_name(&id))
}

/// The connections a session was authorized for, kept in the session itself (so in Redis when
/// sessions are, and every instance sees what another recorded).
fn session_sockets(session: &Session) -> Vec<String> {
    session
        .get::<Vec<String>>(SOCKETS)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A session's connections as one auth request sees them. actix-session's `Session` is not
/// `Send` and the channel policy's log must be, so the list is copied out of the session when
/// the user is extracted ([`SessionUser`]), the policy records into the copy, and
/// [`save_sockets`] writes a changed copy back into the session after the handler, before
/// `SessionMiddleware` stores it.
#[derive(Clone, Default)]
struct RequestSockets(Arc<Mutex<Recorded>>);

#[derive(Default)]
struct Recorded {
    sockets: Vec<String>,
    changed: bool,
}

impl RequestSockets {
    fn of(session: &Session) -> Self {
        RequestSockets(Arc::new(Mutex::new(Recorded {
            sockets: session_sockets(session),
            changed: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SocketLog for RequestSockets {
    fn record(&self, socket: SocketId) -> BoxFuture<()> {
        let mut recorded = self.lock();
        if !recorded.sockets.iter().any(|s| s == socket.as_str()) {
            recorded.sockets.push(socket.into_string());
            let excess = recorded.sockets.len().saturating_sub(MAX_SOCKETS);
            recorded.sockets.drain(..excess);
            recorded.changed = true;
        }
        Box::pin(async {})
    }

    fn contains(&self, socket: SocketId) -> BoxFuture<bool> {
        let found = self.lock().sockets.iter().any(|s| s == socket.as_str());
        Box::pin(async move { found })
    }
}

/// The session cookie's name.
const COOKIE: &str = "chat_session";

/// Whether a session key is still in the store, without touching the session: asked once an
/// auth request's body has been read (see [`hardening::StillLoggedIn`]).
trait Liveness: Send + Sync {
    fn live(&self, key: String) -> BoxFuture<Result<bool, BoxError>>;
}

/// How [`SessionUser`] finds its session again: the key that opens the cookie (which holds the
/// session key, encrypted), and the store.
#[derive(Clone)]
struct SessionProbe {
    key: Key,
    store: Arc<dyn Liveness>,
}

impl SessionProbe {
    /// The session key in the request's cookie (actix-session's private cookie), if any.
    fn session_key(&self, req: &HttpRequest) -> Option<String> {
        let mut jar = actix_web::cookie::CookieJar::new();
        jar.add_original(req.cookie(COOKIE)?);
        Some(jar.private(&self.key).get(COOKIE)?.value().to_owned())
    }
}

/// The logged-in user of an auth request, the user type of pusher-auth's endpoints: from
/// actix-identity, with the session's connections (a 401 when nobody is logged in, so pusher-js
/// gets a 403), and how to ask whether the session is still live.
#[derive(Clone)]
struct SessionUser(ChatUser, Option<(Arc<dyn Liveness>, Option<String>)>);

impl LiveSession for SessionUser {
    /// Still in the store. Without a session key, not live; without the probe (its app data
    /// missing from [`run`]), the app's mistake: an error, logged, never a silent denial.
    fn live(&self) -> BoxFuture<Result<bool, BoxError>> {
        match self.1.clone() {
            Some((store, Some(key))) => store.live(key),
            Some((_, None)) => Box::pin(async { Ok(false) }),
            None => Box::pin(async {
                tracing::error!("no SessionProbe in the app data: it is missing from the app");
                Err(BoxError::from("the session probe is missing"))
            }),
        }
    }
}

impl From<SessionUser> for ChatUser {
    fn from(user: SessionUser) -> Self {
        user.0
    }
}

impl FromRequest for SessionUser {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let identity = Identity::extract(&req).await?;
            let user = current_user(Some(&identity))
                .ok_or_else(|| actix_web::error::ErrorUnauthorized("not logged in"))?;
            let sockets = RequestSockets::of(&req.get_session());
            req.extensions_mut().insert(sockets.clone());
            let live = req
                .app_data::<web::Data<SessionProbe>>()
                .map(|probe| (Arc::clone(&probe.store), probe.session_key(&req)));
            Ok(SessionUser(
                ChatUser {
                    user,
                    sockets: Arc::new(sockets),
                },
                live,
            ))
        })
    }
}

/// Writes the connections the channel policy recorded during the request back into the
/// session (see [`RequestSockets`]). It runs inside `SessionMiddleware`, which stores the
/// changed session after it.
async fn save_sockets<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let res = next.call(req).await?;
    let recorded = res.request().extensions().get::<RequestSockets>().cloned();
    if let Some(recorded) = recorded {
        let recorded = recorded.lock();
        if recorded.changed {
            if let Err(e) = res
                .request()
                .get_session()
                .insert(SOCKETS, &recorded.sockets)
            {
                tracing::warn!(error = %e, "could not remember the connection");
            }
        }
    }
    Ok(res)
}

/// The path actix-web routes a request by: percent-decoded (`/%6Cogin` reaches `/login`'s
/// resource), unlike `req.path()`, the path as sent. A check that names a route compares this.
fn routed_path(req: &ServiceRequest) -> &str {
    req.match_info().as_str()
}

/// Refuses cross-site state-changing requests (a browser says so in `Sec-Fetch-Site`, or in
/// `Origin`), and, once someone is logged in, requests without the session's `X-CSRF-Token`.
async fn csrf(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    if req.method() == Method::POST && routed_path(&req) != "/pusher/webhooks" {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let cross_site = match header("sec-fetch-site") {
            Some(site) => !matches!(site, "same-origin" | "none"),
            None => header("origin").is_some_and(|origin| {
                let host = header("host").unwrap_or_default();
                origin.split_once("://").map(|(_, h)| h) != Some(host)
            }),
        };
        let token_ok = routed_path(&req) == "/login" || {
            let expected: Option<String> = req.get_session().get(CSRF).ok().flatten();
            chat_common::csrf_ok(expected.as_deref(), header("x-csrf-token"))
        };
        if cross_site || !token_ok {
            return Ok(req
                .into_response(error(StatusCode::FORBIDDEN, "csrf"))
                .map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Counts `req` against its per-address limit: the refusal (429 `too_many_requests` with
/// `Retry-After`) when past it. The address from the connection or, behind trusted proxies,
/// `X-Forwarded-For` (see [`chat_common::hardening`]). The limits missing from the app data is
/// the app's mistake: a 500, logged, never an unlimited route.
fn over_limit(req: &ServiceRequest, limited: Limited) -> Option<HttpResponse> {
    let Some(limits) = req.app_data::<web::Data<Limits>>() else {
        tracing::error!(
            "no Limits in the app data: the per-address limits are missing from the app"
        );
        return Some(error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error"));
    };
    let peer = req
        .peer_addr()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
    let forwarded = req.headers().get_all("x-forwarded-for");
    let client = limits.client(peer, forwarded.filter_map(|v| v.to_str().ok()));
    let refused = limits.check(limited, client).err()?;
    tracing::debug!(%client, ?limited, "rate limited");
    Some(
        HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", refused.retry_after_secs().to_string()))
            .content_type("application/json")
            .body(hardening::TooMany::BODY),
    )
}

/// The login's per-address limit, wrapped around the `/login` resource itself: whatever
/// spelling of the path actix-web routes there (`/%6Cogin`) counts.
async fn login_limit<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if let Some(answer) = over_limit(&req, Limited::Login) {
        return Ok(req.into_response(answer).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The auth endpoints' per-address limit, before anything else reads the request. Their
/// resources come from pusher-auth-actix-web (no wrap of the app's own), so this goes by the
/// path actix-web routes on ([`routed_path`]); those resources answer only their path as sent,
/// so another spelling counts here and then finds no route.
async fn auth_limit<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let limited =
        req.method() == Method::POST && Limited::of_path(routed_path(&req)) == Some(Limited::Auth);
    if limited {
        if let Some(answer) = over_limit(&req, Limited::Auth) {
            return Ok(req.into_response(answer).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

async fn index(
    state: web::Data<AppState>,
    identity: Option<Identity>,
    session: Session,
) -> HttpResponse {
    let user = current_user(identity.as_ref());
    let csrf: Option<String> = user.as_ref().and_then(|_| session.get(CSRF).ok().flatten());
    let page = chat_common::page(&state.chat.config, csrf.as_deref(), user.as_ref());
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            state.chat.page_policy().to_owned(),
        ))
        .body(page)
}

async fn pusher_js(state: web::Data<AppState>) -> actix_web::Result<actix_files::NamedFile> {
    Ok(actix_files::NamedFile::open_async(&state.chat.config.pusher_js).await?)
}

/// The page's script.
async fn chat_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(chat_common::CHAT_JS_TYPE)
        .body(chat_common::CHAT_JS)
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

async fn login(req: HttpRequest, session: Session, body: web::Json<Login>) -> HttpResponse {
    let Some(user) = User::from_name(&body.name) else {
        return error(StatusCode::BAD_REQUEST, "invalid_name");
    };
    // A new, empty session (actix-session renews the id and would keep the data: the previous
    // user's connections among it), then a new CSRF token in it. A failing random source
    // refuses the login rather than issue a weak token.
    session.clear();
    session.renew();
    let Ok(token) = chat_common::random_token() else {
        tracing::error!("the OS random source failed");
        return error(StatusCode::INTERNAL_SERVER_ERROR, "random");
    };
    if session.insert(CSRF, &token).is_err()
        || Identity::login(&req.extensions(), user.id.as_str().to_owned()).is_err()
    {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "session");
    }
    HttpResponse::Ok().json(serde_json::json!({ "name": user.name, "csrf": token }))
}

/// Ends the session. The user's connections end after it, in [`disconnect_after_logout`].
async fn logout(identity: Option<Identity>, session: Session) -> HttpResponse {
    let user = current_user(identity.as_ref());
    if let Some(identity) = identity {
        identity.logout();
    }
    session.purge();
    let mut response = HttpResponse::NoContent().finish();
    if let Some(user) = user {
        response.extensions_mut().insert(LoggedOut(user));
    }
    response
}

/// The user a logout answer is for, for [`disconnect_after_logout`].
struct LoggedOut(User);

/// Ends a logged-out user's connections once their session is gone from the store.
///
/// actix-session writes the store after the handler has returned: `SessionMiddleware` deletes
/// a purged session, awaiting the store, while it finishes the response. Ending the connections
/// from the handler would race that deletion, and a client reconnecting in between would sign
/// in again with the session. This middleware wraps `SessionMiddleware`, so it sees the answer
/// only once the deletion has succeeded (a failed one is an error without the [`LoggedOut`]
/// mark, and ends nothing); then the connections end in the background, so that a slow Pusher
/// does not hold the answer.
async fn disconnect_after_logout<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let chat = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.chat.clone());
    let mut res = next.call(req).await?;
    let logged_out = res.response_mut().extensions_mut().remove::<LoggedOut>();
    if let (Some(chat), Some(LoggedOut(user))) = (chat, logged_out) {
        chat.disconnect_in_background(user);
    }
    Ok(res)
}

fn publish_error(e: &chat_common::SendError) -> HttpResponse {
    error(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
        e.code(),
    )
}

async fn send_message(
    state: web::Data<AppState>,
    identity: Option<Identity>,
    session: Session,
    sender: SenderSocket,
    body: web::Json<SendMessage>,
) -> HttpResponse {
    let Some(user) = current_user(identity.as_ref()) else {
        return error(StatusCode::FORBIDDEN, "not_logged_in");
    };
    // Exclude the sender only if this session was authorized for that connection.
    let sender = chat_common::sender_to_exclude(sender.0, &RequestSockets::of(&session)).await;
    match state.chat.send_message(&user, &body, sender).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => publish_error(&e),
    }
}

async fn whisper(
    state: web::Data<AppState>,
    identity: Option<Identity>,
    body: web::Json<Whisper>,
) -> HttpResponse {
    let Some(user) = current_user(identity.as_ref()) else {
        return error(StatusCode::FORBIDDEN, "not_logged_in");
    };
    match state.chat.whisper(&user, &body).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => publish_error(&e),
    }
}

async fn stats(state: web::Data<AppState>, identity: Option<Identity>) -> HttpResponse {
    if current_user(identity.as_ref()).is_none() {
        return error(StatusCode::UNAUTHORIZED, "not_logged_in");
    }
    match state.chat.stats().await {
        Ok(stats) => HttpResponse::Ok().json(stats),
        Err(e) => publish_error(&e),
    }
}

async fn webhook_events(state: web::Data<AppState>, identity: Option<Identity>) -> HttpResponse {
    if current_user(identity.as_ref()).is_none() {
        return error(StatusCode::UNAUTHORIZED, "not_logged_in");
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.chat.webhooks.to_json())
}

/// The key that signs and encrypts the session cookie (which holds only the session key):
/// `CHAT_SESSION_KEY` (at least 64 bytes), or a random one (sessions then end with the
/// process). With sessions in Redis the key is required: instances sharing sessions must share
/// it, and a random one per instance would silently log users out between them.
fn session_key(shared: bool) -> Result<Key, Box<dyn std::error::Error>> {
    match std::env::var("CHAT_SESSION_KEY") {
        Ok(key) if !key.is_empty() => Ok(Key::try_from(key.as_bytes())
            .map_err(|_| "CHAT_SESSION_KEY must be at least 64 bytes")?),
        _ if shared => {
            Err("REDIS_URL is set: set CHAT_SESSION_KEY (at least 64 bytes, the same on every instance)".into())
        }
        _ => Ok(Key::try_generate().ok_or("the OS random source failed")?),
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    chat_common::init_logging();
    let chat = Chat::from_env()?;
    let limits = Limits::from_env()?;
    let key = session_key(chat.config.redis_url.is_some())?;
    match chat.config.redis_url.clone() {
        Some(url) => {
            tracing::info!("sessions in Redis");
            let store = redis_store::NoRevivalRedisStore::new(url.as_str()).await?;
            run(chat, store, key, limits).await
        }
        None => {
            let store =
                memory::MemorySessionStore::new(chat.config.session_idle, chat.config.max_sessions);
            run(chat, store, key, limits).await
        }
    }
}

/// The largest `/login` body: `{"name": …}` with a name of at most 32 characters.
const LOGIN_BODY: usize = 1024;
/// The largest `/channels/send-message` body: ten messages of 2,000 characters, even with every
/// character escaped as a surrogate pair (`\uD83D\uDE00`, 12 bytes).
const MESSAGE_BODY: usize = 256 * 1024;
/// The largest `/channels/whisper` body: one such message.
const WHISPER_BODY: usize = 32 * 1024;

fn json_limit(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit)
}

/// Serves the app with sessions in `store`, one worker per core.
async fn run<Store>(
    chat: Chat,
    store: Store,
    key: Key,
    limits: Limits,
) -> Result<(), Box<dyn std::error::Error>>
where
    Store: actix_session::storage::SessionStore + Liveness + Clone + Send + 'static,
{
    let config = Arc::clone(&chat.config);
    let state = AppState { chat: chat.clone() };
    // The page's paths, and Laravel Echo's defaults for Echo clients; both decide for the
    // `ChatUser` of each auth request, with the session's connections.
    let policy = ChatPolicy::new(&config.credentials);
    // Each re-checks the session once the request's body has been read.
    let user_of = |user: SessionUser| user;
    let pusher = PusherAuthRoutes::new(
        Endpoints::<SessionUser>::new(config.credentials.clone(), StillLoggedIn(policy.clone()))
            .with_signin(hardening::signin_if_live)
            .with_channel_path("/channels/authorize")
            .with_signin_path("/channels/user-auth")
            .with_webhooks("/pusher/webhooks", chat.webhooks.handler()),
    )
    .with_extractor(user_of);
    let echo = PusherAuthRoutes::new(
        Endpoints::<SessionUser>::new(config.credentials.clone(), StillLoggedIn(policy))
            .with_signin(hardening::signin_if_live)
            .for_laravel_echo(),
    )
    .with_extractor(user_of);
    let idle = actix_web::cookie::time::Duration::try_from(config.session_idle)
        .unwrap_or(actix_web::cookie::time::Duration::days(7));
    let bind = config.bind.clone();
    tracing::info!("chat on http://{bind}");
    let test_mode = config.test_mode;
    let secure = config.secure_cookies;
    let request_timeout = config.body_timeout;
    let probe = web::Data::new(SessionProbe {
        key: key.clone(),
        store: Arc::new(store.clone()),
    });
    let limits = web::Data::new(limits);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    tracing::info!("{workers} workers (one per core)");
    HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(store.clone(), key.clone())
            .cookie_name(COOKIE.into())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(secure)
            .session_lifecycle(SessionLifecycle::PersistentSession(
                PersistentSession::default().session_ttl(idle),
            ))
            .build();
        let mut app = App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(probe.clone())
            .app_data(limits.clone())
            .configure(|cfg| pusher.configure(cfg))
            .configure(|cfg| echo.configure(cfg))
            .route("/", web::get().to(index))
            .route("/pusher.min.js", web::get().to(pusher_js))
            .route("/chat.js", web::get().to(chat_js))
            .service(
                web::resource("/login")
                    .app_data(json_limit(LOGIN_BODY))
                    .wrap(from_fn(login_limit))
                    .route(web::post().to(login)),
            )
            .route("/logout", web::post().to(logout))
            .service(
                web::resource("/channels/send-message")
                    .app_data(json_limit(MESSAGE_BODY))
                    .route(web::post().to(send_message)),
            )
            .service(
                web::resource("/channels/whisper")
                    .app_data(json_limit(WHISPER_BODY))
                    .route(web::post().to(whisper)),
            )
            .route("/channels/stats", web::get().to(stats));
        if test_mode {
            app = app.route("/webhooks/events", web::get().to(webhook_events));
        }
        app.wrap(from_fn(csrf))
            .wrap(from_fn(save_sockets))
            .wrap(
                IdentityMiddleware::builder()
                    .visit_deadline(Some(config_idle(idle)))
                    .build(),
            )
            .wrap(sessions)
            .wrap(from_fn(disconnect_after_logout))
            .wrap(timeout::RequestTimeout(request_timeout))
            .wrap(from_fn(auth_limit))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Frame-Options", hardening::X_FRAME_OPTIONS))
                    .add(("X-Content-Type-Options", "nosniff")),
            )
    })
    // actix-web's own limits on slow clients: the request head, and the connection at close.
    .client_request_timeout(config.header_timeout)
    .client_disconnect_timeout(Duration::from_secs(1))
    .workers(workers)
    .bind(bind)?
    .run()
    .await?;
    Ok(())
}

fn config_idle(idle: actix_web::cookie::time::Duration) -> Duration {
    Duration::from_secs(u64::try_from(idle.whole_seconds()).unwrap_or(0))
}

mod memory {
    //! Sessions in this process's memory, for when there is no Redis: server-side, so a
    //! logged-out or expired session is gone (the cookie holds only the session key, and a
    //! session the store no longer has cannot be brought back by replaying it).
    //!
    //! Bounded: a moka cache of at most `CHAT_MAX_SESSIONS` sessions, each gone after the
    //! session idle time without use. Past the cap, the least recently used session is evicted
    //! to make room (moka's LRU policy: its default, TinyLFU, would refuse a new session that
    //! has not been read yet, and a flood of logins would log out whoever logs in during it).
    use std::collections::HashMap;

    use actix_session::storage::{
        generate_session_key, LoadError, SaveError, SessionKey, SessionStore, UpdateError,
    };
    use actix_web::cookie::time::Duration;
    use moka::ops::compute::Op;
    use moka::policy::EvictionPolicy;
    use moka::sync::Cache;

    type State = HashMap<String, String>;

    #[derive(Clone)]
    pub(crate) struct MemorySessionStore {
        sessions: Cache<String, State>,
    }

    impl MemorySessionStore {
        /// At most `max` sessions, each gone after `idle` without use.
        pub(crate) fn new(idle: std::time::Duration, max: u64) -> Self {
            MemorySessionStore {
                sessions: Cache::builder()
                    .max_capacity(max)
                    .eviction_policy(EvictionPolicy::lru())
                    .time_to_idle(idle)
                    .build(),
            }
        }

        #[cfg(test)]
        pub(crate) fn len(&self) -> u64 {
            self.sessions.run_pending_tasks();
            self.sessions.entry_count()
        }
    }

    /// Without touching the session (no use: its idle time does not start again).
    impl super::Liveness for MemorySessionStore {
        fn live(&self, key: String) -> super::BoxFuture<Result<bool, super::BoxError>> {
            let live = self.sessions.contains_key(&key);
            Box::pin(async move { Ok(live) })
        }
    }

    // The `ttl` actix-session passes is the session idle time the cache was built with.
    impl SessionStore for MemorySessionStore {
        async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
            Ok(self.sessions.get(key.as_ref()))
        }

        async fn save(&self, state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
            let key = generate_session_key();
            self.sessions.insert(key.as_ref().to_owned(), state);
            Ok(key)
        }

        /// Updates a session that is still here, and only then: a request that was under way
        /// when its session was deleted (a logout) or evicted does not bring it back when
        /// actix-session writes its changes at its end (actix-identity changes the session on
        /// every request). actix-session's Redis store would store the state under a new key
        /// instead; here the request's client stays logged out.
        async fn update(
            &self,
            key: SessionKey,
            state: State,
            _ttl: &Duration,
        ) -> Result<SessionKey, UpdateError> {
            self.sessions
                .entry(key.as_ref().to_owned())
                .and_compute_with(|stored| match stored {
                    Some(_) => Op::Put(state),
                    None => Op::Nop,
                });
            Ok(key)
        }

        async fn update_ttl(&self, key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
            // A read is a use: the idle time starts again.
            let _ = self.sessions.get(key.as_ref());
            Ok(())
        }

        /// Deleted through the entry, as updates write it: moka orders the two, so an update
        /// that read the session just before cannot write it back after (a plain
        /// `invalidate` is not ordered with `and_compute_with`).
        async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
            self.sessions
                .entry(key.as_ref().to_owned())
                .and_compute_with(|_| Op::<State>::Remove);
            Ok(())
        }
    }
}

mod redis_store {
    //! actix-session's Redis store, with one change: updating a session that is no longer in
    //! Redis writes nothing. actix-session's own store then saves the state under a new key
    //! and sends that key as the cookie, so a request under way when its session was deleted
    //! (a logout on any instance) or renewed (a login) brings the old session back, with its
    //! user, under a fresh key. actix-identity changes the session on every request, so every
    //! logged-in request goes through `update`.

    use actix_session::storage::{
        LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore, UpdateError,
    };
    use actix_web::cookie::time::Duration;
    use redis::aio::ConnectionManager;
    use std::collections::HashMap;

    type State = HashMap<String, String>;

    /// See the module docs.
    #[derive(Clone)]
    pub(crate) struct NoRevivalRedisStore {
        inner: RedisSessionStore,
        redis: ConnectionManager,
    }

    impl NoRevivalRedisStore {
        /// Connects to Redis at `url` (twice: actix-session keeps its connection private).
        pub(crate) async fn new(url: &str) -> anyhow::Result<Self> {
            Ok(NoRevivalRedisStore {
                inner: RedisSessionStore::new(url).await?,
                redis: ConnectionManager::new(redis::Client::open(url)?).await?,
            })
        }
    }

    /// `EXISTS key`; a failing Redis is an error (500), not a logged-out user.
    impl super::Liveness for NoRevivalRedisStore {
        fn live(&self, key: String) -> super::BoxFuture<Result<bool, super::BoxError>> {
            let mut redis = self.redis.clone();
            Box::pin(async move {
                let exists: bool = redis::cmd("EXISTS")
                    .arg(key)
                    .query_async(&mut redis)
                    .await
                    .map_err(super::BoxError::from)?;
                Ok(exists)
            })
        }
    }

    impl SessionStore for NoRevivalRedisStore {
        async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
            self.inner.load(key).await
        }

        async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
            self.inner.save(state, ttl).await
        }

        /// `SET key state XX EX ttl` (the key is the session key, as in actix-session's store):
        /// written only while the session exists. When it no longer does, the request's
        /// changes are dropped and the key kept, so the client's cookie names nothing.
        async fn update(
            &self,
            key: SessionKey,
            state: State,
            ttl: &Duration,
        ) -> Result<SessionKey, UpdateError> {
            let body =
                serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
            let written: Option<String> = redis::cmd("SET")
                .arg(key.as_ref())
                .arg(body)
                .arg("XX")
                .arg("EX")
                .arg(ttl.whole_seconds())
                .query_async(&mut self.redis.clone())
                .await
                .map_err(|e| UpdateError::Other(e.into()))?;
            if written.is_none() {
                tracing::debug!("a request's session ended while it ran: its changes are dropped");
            }
            Ok(key)
        }

        async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
            self.inner.update_ttl(key, ttl).await
        }

        async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
            self.inner.delete(key).await
        }
    }
}

mod timeout {
    //! A deadline for the whole request, a slow body included: actix-web bounds the request
    //! head itself (`client_request_timeout`), not the body.
    use std::future::{ready, Ready};
    use std::time::Duration;

    use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
    use actix_web::error::InternalError;
    use actix_web::{Error, HttpResponse};
    use futures_util::future::LocalBoxFuture;

    /// Answers 408 `request_timeout` when a request takes longer than the duration.
    #[derive(Clone, Copy)]
    pub(crate) struct RequestTimeout(pub(crate) Duration);

    impl<S, B> Transform<S, ServiceRequest> for RequestTimeout
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
        B: 'static,
    {
        type Response = ServiceResponse<B>;
        type Error = Error;
        type Transform = RequestTimeoutService<S>;
        type InitError = ();
        type Future = Ready<Result<Self::Transform, ()>>;

        fn new_transform(&self, service: S) -> Self::Future {
            ready(Ok(RequestTimeoutService {
                service,
                limit: self.0,
            }))
        }
    }

    pub(crate) struct RequestTimeoutService<S> {
        service: S,
        limit: Duration,
    }

    impl<S, B> Service<ServiceRequest> for RequestTimeoutService<S>
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
        B: 'static,
    {
        type Response = ServiceResponse<B>;
        type Error = Error;
        type Future = LocalBoxFuture<'static, Result<Self::Response, Error>>;

        forward_ready!(service);

        fn call(&self, req: ServiceRequest) -> Self::Future {
            let future = self.service.call(req);
            let limit = self.limit;
            Box::pin(async move {
                match tokio::time::timeout(limit, future).await {
                    Ok(result) => result,
                    Err(_) => Err(InternalError::from_response(
                        "request timeout",
                        HttpResponse::RequestTimeout()
                            .json(serde_json::json!({ "error": { "code": "request_timeout" } })),
                    )
                    .into()),
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_session::storage::{SessionKey, SessionStore};
    use std::collections::HashMap;

    async fn saved(store: &memory::MemorySessionStore) -> SessionKey {
        let ttl = actix_web::cookie::time::Duration::hours(1);
        let state = HashMap::from([("k".to_owned(), "v".to_owned())]);
        store
            .save(state, &ttl)
            .await
            .unwrap_or_else(|_| unreachable!("the memory store always saves"))
    }

    async fn live(store: &memory::MemorySessionStore, key: &SessionKey) -> bool {
        matches!(store.load(key).await, Ok(Some(_)))
    }

    #[actix_web::test]
    async fn past_the_cap_the_least_recently_used_session_goes_and_a_new_one_stays() {
        let store = memory::MemorySessionStore::new(Duration::from_secs(3600), 100);
        let used = saved(&store).await;
        let idle = saved(&store).await;
        for _ in 0..98 {
            saved(&store).await;
        }
        assert_eq!(store.len(), 100);
        // A flood of new sessions nobody reads: every login succeeds, the newest are kept
        // (even unread), and what goes is what was used least recently.
        let mut newest = Vec::new();
        for _ in 0..1000 {
            newest.push(saved(&store).await);
            if newest.len() % 50 == 0 {
                assert!(live(&store, &used).await);
            }
        }
        assert!(store.len() <= 100);
        assert!(!live(&store, &idle).await);
        assert!(live(&store, &used).await);
        for key in newest.iter().rev().take(50) {
            assert!(live(&store, key).await);
        }
    }

    #[actix_web::test]
    async fn a_session_unused_for_the_idle_time_is_gone() {
        let store = memory::MemorySessionStore::new(Duration::from_millis(100), 10);
        let used = saved(&store).await;
        let unused = saved(&store).await;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            assert!(live(&store, &used).await);
        }
        assert!(!live(&store, &unused).await);
        assert!(store.delete(&used).await.is_ok());
        assert!(!live(&store, &used).await);
    }

    #[actix_web::test]
    async fn an_update_does_not_bring_back_a_deleted_session() {
        let store = memory::MemorySessionStore::new(Duration::from_secs(3600), 10);
        let ttl = actix_web::cookie::time::Duration::hours(1);
        let key = saved(&store).await;
        let state = HashMap::from([("k".to_owned(), "changed".to_owned())]);
        let Ok(key) = store.update(key, state.clone(), &ttl).await else {
            unreachable!("the memory store always updates")
        };
        assert_eq!(store.load(&key).await.ok().flatten(), Some(state.clone()));
        // A logout deletes it; a request that loaded it before writes its changes at its end.
        assert!(store.delete(&key).await.is_ok());
        let Ok(key) = store.update(key, state, &ttl).await else {
            unreachable!("the memory store always updates")
        };
        assert!(!live(&store, &key).await);
    }

    /// Updates racing a delete on other threads (requests under way at a logout): once the
    /// delete is done, no update brings the session back.
    #[test]
    fn a_delete_is_not_undone_by_updates_racing_it() {
        use futures_util::FutureExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        let store = Arc::new(memory::MemorySessionStore::new(
            Duration::from_secs(3600),
            100,
        ));
        let ttl = actix_web::cookie::time::Duration::hours(1);
        for _ in 0..300 {
            let Some(Ok(key)) = store.save(HashMap::new(), &ttl).now_or_never() else {
                unreachable!("the memory store saves at once")
            };
            let deleted = Arc::new(AtomicBool::new(false));
            let updaters: Vec<_> = (0..3)
                .map(|_| {
                    let (store, deleted) = (store.clone(), deleted.clone());
                    let key: SessionKey = key
                        .as_ref()
                        .to_owned()
                        .try_into()
                        .unwrap_or_else(|_| unreachable!("a valid key"));
                    std::thread::spawn(move || {
                        let mut after = 0;
                        while after < 50 {
                            let state = HashMap::from([("k".to_owned(), "v".to_owned())]);
                            let copy: SessionKey = key
                                .as_ref()
                                .to_owned()
                                .try_into()
                                .unwrap_or_else(|_| unreachable!("a valid key"));
                            let _ = store.update(copy, state, &ttl).now_or_never();
                            if deleted.load(Ordering::SeqCst) {
                                after += 1;
                            }
                        }
                    })
                })
                .collect();
            let _ = store.delete(&key).now_or_never();
            deleted.store(true, Ordering::SeqCst);
            for updater in updaters {
                assert!(updater.join().is_ok());
            }
            let back = store
                .load(&key)
                .now_or_never()
                .and_then(|r| r.ok())
                .flatten();
            assert!(back.is_none(), "an update brought a deleted session back");
        }
    }

    fn socket(id: &str) -> SocketId {
        SocketId::new(id).unwrap_or_else(|_| unreachable!("a valid socket id"))
    }

    #[actix_web::test]
    async fn a_request_records_into_its_copy_the_last_16_and_says_so() {
        let log = RequestSockets::default();
        assert!(!log.contains(socket("1.1")).await);
        assert!(!log.lock().changed);
        log.record(socket("1.1")).await;
        assert!(log.contains(socket("1.1")).await);
        assert!(log.lock().changed);
        for i in 2..=20 {
            log.record(socket(&format!("1.{i}"))).await;
        }
        let recorded = log.lock();
        assert_eq!(recorded.sockets.len(), MAX_SOCKETS);
        assert_eq!(recorded.sockets.first().map(String::as_str), Some("1.5"));
        assert_eq!(recorded.sockets.last().map(String::as_str), Some("1.20"));
    }
}
