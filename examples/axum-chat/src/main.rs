//! The chat app on axum, built from the libraries axum users already use: sessions from
//! tower-sessions (in this process's memory, a bounded store, see [`memory`]; or in Redis when
//! `REDIS_URL` is set), login from axum-login, static files from tower-http, timeouts from
//! hyper and tower-http, and pusher-auth's channel routes receiving the logged-in user.
//!
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
//! Every `POST` but the webhooks is refused cross-site (tower-http's `CsrfLayer`); after login,
//! every `POST` but the webhooks also needs the session's `X-CSRF-Token`.
//!
//! Slow and idle clients: the server speaks HTTP/1 only (see [`serve`]), and a connection must
//! send a complete request head within `CHAT_HEADER_TIMEOUT_MS` of opening (or of the previous
//! answer), or it is closed: one that sends nothing, or an HTTP/2 preface, included. A body
//! may not pause for longer than `CHAT_BODY_TIMEOUT_MS` between its chunks (tower-http's
//! `RequestBodyTimeoutLayer`: the JSON routes then answer 400), and a request must be answered
//! within `CHAT_REQUEST_TIMEOUT_MS` (tower-http's `TimeoutLayer`: a 503), which also bounds a
//! body sent slowly but steadily. An answer the client does not read may stall for at most
//! [`WRITE_TIMEOUT`] before the connection is closed. At most [`MAX_CONNECTIONS`] connections
//! are served at once; more wait in the listener's backlog.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend};
use chat_common::hardening::{self, Limited, Limits, LiveSession, StillLoggedIn};
use chat_common::{BoxFuture, Chat, ChatPolicy, ChatUser, SendMessage, SocketLog, User, Whisper};
use pusher_auth::authorizer::BoxError;
use pusher_auth::{Endpoints, SocketId};
use pusher_auth_axum::{RouterExt, SenderSocket};
use serde::Deserialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::session::Id;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore};

/// A chat account for axum-login: the name is the id, and logging in is by name alone.
#[derive(Debug, Clone)]
struct Account(User);

impl AuthUser for Account {
    type Id = String;

    fn id(&self) -> String {
        self.0.id.as_str().to_owned()
    }

    fn session_auth_hash(&self) -> &[u8] {
        self.0.name.as_bytes()
    }
}

/// The accounts: any valid name is one (a real app would check a password here).
#[derive(Debug, Clone, Default)]
struct Accounts;

impl AuthnBackend for Accounts {
    type User = Account;
    type Credentials = String;
    type Error = Infallible;

    async fn authenticate(&self, name: String) -> Result<Option<Account>, Infallible> {
        Ok(User::from_name(&name).map(Account))
    }

    async fn get_user(&self, id: &String) -> Result<Option<Account>, Infallible> {
        Ok(User::from_name(id).map(Account))
    }
}

type Auth = AuthSession<Accounts>;

/// Where a session keeps its authorized connections: in the session itself (so in Redis when
/// sessions are), at most the 16 most recent.
struct SessionSockets(Session);

const SOCKETS: &str = "sockets";
const CSRF: &str = "csrf";

impl SocketLog for SessionSockets {
    fn record(&self, socket: SocketId) -> BoxFuture<()> {
        let session = self.0.clone();
        Box::pin(async move {
            let mut sockets: Vec<String> = session
                .get(SOCKETS)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            if !sockets.iter().any(|s| s == socket.as_str()) {
                sockets.push(socket.into_string());
                let excess = sockets.len().saturating_sub(16);
                sockets.drain(..excess);
                if let Err(e) = session.insert(SOCKETS, sockets).await {
                    tracing::warn!(error = %e, "could not remember the connection");
                }
            }
        })
    }

    fn contains(&self, socket: SocketId) -> BoxFuture<bool> {
        let session = self.0.clone();
        Box::pin(async move {
            let sockets: Vec<String> = session
                .get(SOCKETS)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            sockets.iter().any(|s| s == socket.as_str())
        })
    }
}

/// Whether a session is still in the store (asked once an auth request's body has been read:
/// see [`hardening::StillLoggedIn`]). Every request carries it (a layer of [`app`]).
#[derive(Clone)]
struct SessionProbe(Arc<dyn Fn(Id) -> BoxFuture<Result<bool, BoxError>> + Send + Sync>);

impl SessionProbe {
    /// A store that fails to answer is an error (500), not a logged-out user.
    fn of<Store: SessionStore + Clone>(store: Store) -> Self {
        SessionProbe(Arc::new(move |id| {
            let store = store.clone();
            Box::pin(async move {
                store
                    .load(&id)
                    .await
                    .map(|record| record.is_some())
                    .map_err(BoxError::from)
            })
        }))
    }
}

/// The logged-in user of a request, for handlers and for pusher-auth's endpoints (the user type
/// they extract, with the router's state): a 401 when nobody is logged in (pusher-js then gets
/// a 403), a 500 when axum-login's layer is missing (pusher-js then gets a 500).
#[derive(Clone)]
struct CurrentUser(ChatUser, Option<(SessionProbe, Option<Id>)>);

impl LiveSession for CurrentUser {
    /// Still in the store. Without a session id, not live; without the probe (its layer
    /// missing from [`app`]), the app's mistake: an error, logged, never a silent denial.
    fn live(&self) -> BoxFuture<Result<bool, BoxError>> {
        match self.1.clone() {
            Some((SessionProbe(probe), Some(id))) => probe(id),
            Some((_, None)) => Box::pin(async { Ok(false) }),
            None => Box::pin(async {
                tracing::error!(
                    "no SessionProbe in the request: its layer is missing from the router"
                );
                Err(BoxError::from("the session probe is missing"))
            }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let auth = Auth::from_request_parts(parts, state)
            .await
            .map_err(|(status, _)| status)?;
        let live = parts
            .extensions
            .get::<SessionProbe>()
            .cloned()
            .map(|probe| (probe, auth.session.id()));
        match auth.user {
            Some(Account(user)) => Ok(CurrentUser(
                ChatUser {
                    user,
                    sockets: Arc::new(SessionSockets(auth.session)),
                },
                live,
            )),
            None => Err(StatusCode::UNAUTHORIZED),
        }
    }
}

/// The chat's authorizer and sign-in handler take the `ChatUser` inside.
impl From<CurrentUser> for ChatUser {
    fn from(user: CurrentUser) -> Self {
        user.0
    }
}

fn error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": { "code": code } })),
    )
        .into_response()
}

/// After login, every state-changing request carries the session's `X-CSRF-Token` (compared
/// in constant time). Before login there is no session to protect; the login form is guarded
/// by `CsrfLayer` (cross-site requests refused) and its JSON body.
async fn csrf_token(session: Session, request: Request, next: Next) -> Response {
    let exempt = matches!(request.uri().path(), "/login" | "/pusher/webhooks");
    if request.method() == Method::POST && !exempt {
        let expected: Option<String> = session.get(CSRF).await.ok().flatten();
        let sent = request
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if !chat_common::csrf_ok(expected.as_deref(), sent) {
            return error(StatusCode::FORBIDDEN, "csrf");
        }
    }
    next.run(request).await
}

/// Per-address limits on the login and the auth endpoints (429 `too_many_requests` with
/// `Retry-After`), the address from the connection or, behind trusted proxies,
/// `X-Forwarded-For` (see [`chat_common::hardening`]).
async fn rate_limit(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let limited = (request.method() == Method::POST)
        .then(|| Limited::of_path(request.uri().path()))
        .flatten();
    if let Some(limited) = limited {
        let peer = request
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip());
        let forwarded = request.headers().get_all("x-forwarded-for");
        let client = limits.client(peer, forwarded.iter().filter_map(|v| v.to_str().ok()));
        if let Err(refused) = limits.check(limited, client) {
            tracing::debug!(%client, ?limited, "rate limited");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (
                        axum::http::header::RETRY_AFTER,
                        refused.retry_after_secs().to_string(),
                    ),
                    (axum::http::header::CONTENT_TYPE, "application/json".into()),
                ],
                hardening::TooMany::BODY,
            )
                .into_response();
        }
    }
    next.run(request).await
}

async fn index(State(chat): State<Chat>, auth: Auth) -> Response {
    let csrf: Option<String> = match &auth.user {
        Some(_) => auth.session.get(CSRF).await.ok().flatten(),
        None => None,
    };
    let user = auth.user.as_ref().map(|a| &a.0);
    let page = chat_common::page(&chat.config, csrf.as_deref(), user);
    (
        [(
            axum::http::header::CONTENT_SECURITY_POLICY,
            chat.page_policy().to_owned(),
        )],
        Html(page),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

async fn login(mut auth: Auth, Json(body): Json<Login>) -> Response {
    let Ok(Some(account)) = auth.authenticate(body.name).await else {
        return error(StatusCode::BAD_REQUEST, "invalid_name");
    };
    // A new, empty session, whoever was logged in before (axum-login cycles the id only for a
    // session not yet logged in, and keeps its data: the previous user's connections among
    // it), then a new CSRF token in it. A failing random source refuses the login rather than
    // issue a weak token.
    auth.session.clear().await;
    if auth.session.cycle_id().await.is_err() || auth.login(&account).await.is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "session");
    }
    let Ok(csrf) = chat_common::random_token() else {
        tracing::error!("the OS random source failed");
        return error(StatusCode::INTERNAL_SERVER_ERROR, "random");
    };
    if auth.session.insert(CSRF, &csrf).await.is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "session");
    }
    Json(serde_json::json!({ "name": account.0.name, "csrf": csrf })).into_response()
}

async fn logout(State(chat): State<Chat>, mut auth: Auth) -> StatusCode {
    // The session ends first (axum-login's `logout` deletes it from the store before it
    // returns), so that a connection reconnecting meanwhile cannot sign in with it again. Then
    // the user's connections end, in the background: a slow Pusher does not hold the answer.
    match auth.logout().await {
        Ok(user) => {
            if let Some(Account(user)) = user {
                chat.disconnect_in_background(user);
            }
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn send_message(
    State(chat): State<Chat>,
    CurrentUser(me, _): CurrentUser,
    SenderSocket(sender): SenderSocket,
    Json(body): Json<SendMessage>,
) -> Response {
    // Exclude the sender only if this session was authorized for that connection.
    let sender = chat_common::sender_to_exclude(sender, me.sockets.as_ref()).await;
    match chat.send_message(&me.user, &body, sender).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            e.code(),
        ),
    }
}

async fn whisper(
    State(chat): State<Chat>,
    CurrentUser(me, _): CurrentUser,
    Json(body): Json<Whisper>,
) -> Response {
    match chat.whisper(&me.user, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            e.code(),
        ),
    }
}

async fn stats(State(chat): State<Chat>, CurrentUser(_me, _): CurrentUser) -> Response {
    match chat.stats().await {
        Ok(stats) => Json(stats).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, e.code()),
    }
}

async fn webhook_events(State(chat): State<Chat>, CurrentUser(_me, _): CurrentUser) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        chat.webhooks.to_json(),
    )
        .into_response()
}

/// The largest `/login` body: `{"name": …}` with a name of at most 32 characters.
const LOGIN_BODY: usize = 1024;
/// The largest `/channels/send-message` body: ten messages of 2,000 characters, even with every
/// character escaped as a surrogate pair (`\uD83D\uDE00`, 12 bytes).
const MESSAGE_BODY: usize = 256 * 1024;
/// The largest `/channels/whisper` body: one such message.
const WHISPER_BODY: usize = 32 * 1024;

/// The app, with its session store and per-address limits.
fn app<Store: SessionStore + Clone>(chat: Chat, store: Store, limits: Limits) -> Router {
    let config = Arc::clone(&chat.config);
    // The page's paths, and Laravel Echo's defaults for Echo clients; both decide for the
    // `CurrentUser` that `pusher_auth` extracts.
    let policy = ChatPolicy::new(&config.credentials);
    // Each re-checks the session once the request's body has been read.
    let pusher =
        Endpoints::<CurrentUser>::new(config.credentials.clone(), StillLoggedIn(policy.clone()))
            .with_signin(hardening::signin_if_live)
            .with_channel_path("/channels/authorize")
            .with_signin_path("/channels/user-auth")
            .with_webhooks("/pusher/webhooks", chat.webhooks.handler());
    let echo = Endpoints::<CurrentUser>::new(config.credentials.clone(), StillLoggedIn(policy))
        .with_signin(hardening::signin_if_live)
        .for_laravel_echo();
    let probe = SessionProbe::of(store.clone());
    // Saved on every request that has a session (`always_save`): tower-sessions moves the
    // expiry on only when it saves, and a session is to expire when unused, not when
    // unchanged. An anonymous visitor still has no session, so nothing is saved for them.
    let sessions = SessionManagerLayer::new(store)
        .with_always_save(true)
        .with_name("chat_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(config.session_idle).unwrap_or(time::Duration::days(7)),
        ));
    let auth = AuthManagerLayerBuilder::new(Accounts, sessions).build();
    let mut router = Router::new()
        .route("/", get(index))
        .route_service("/pusher.min.js", ServeFile::new(&config.pusher_js))
        .route(
            "/chat.js",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, chat_common::CHAT_JS_TYPE)],
                    chat_common::CHAT_JS,
                )
            }),
        )
        .route(
            "/login",
            post(login).layer(DefaultBodyLimit::max(LOGIN_BODY)),
        )
        .route("/logout", post(logout))
        .route(
            "/channels/send-message",
            post(send_message).layer(DefaultBodyLimit::max(MESSAGE_BODY)),
        )
        .route(
            "/channels/whisper",
            post(whisper).layer(DefaultBodyLimit::max(WHISPER_BODY)),
        )
        .route("/channels/stats", get(stats));
    if config.test_mode {
        router = router.route("/webhooks/events", get(webhook_events));
    }
    router
        .pusher_auth(pusher)
        .pusher_auth(echo)
        .layer(middleware::from_fn(csrf_token))
        .layer(auth)
        .layer(axum::Extension(probe))
        .layer(CsrfLayer::new())
        .layer(middleware::from_fn_with_state(limits, rate_limit))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_FRAME_OPTIONS,
            axum::http::HeaderValue::from_static(hardening::X_FRAME_OPTIONS),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .layer(RequestBodyTimeoutLayer::new(config.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .with_state(chat)
}

/// The most connections served at once (each costs a task and its buffers). Past it, new
/// connections wait in the listener's backlog until one closes.
const MAX_CONNECTIONS: usize = 10_000;

/// Serves HTTP/1 only, every connection under the header timeout from its start: a client that
/// sends nothing, or an HTTP/2 preface, is cut off like one that never finishes its headers.
/// (hyper-util's `auto::Builder` reads the first bytes to tell the versions apart with no
/// deadline, and serves HTTP/2 without a header timeout.)
async fn serve(
    router: Router,
    config: &chat_common::Config,
) -> Result<(), Box<dyn std::error::Error>> {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    tracing::info!("chat on http://{}", listener.local_addr()?);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The peer's address, for the per-address limits.
        let service = TowerToHyperService::new(tower::Layer::layer(
            &axum::Extension(ConnectInfo(peer)),
            router.clone(),
        ));
        let stream = write_deadline::WriteDeadline::new(stream, WRITE_TIMEOUT);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    // Connections finish their requests, for a while.
    if tokio::time::timeout(config.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown were cut");
    }
    Ok(())
}

/// How long an answer may wait for a client that does not read it.
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

mod write_deadline {
    //! hyper bounds how long a client takes to send a request head, not how long it takes to
    //! read the answer: a client that never reads (a tiny receive window) would hold its
    //! connection, and one of the [`super::MAX_CONNECTIONS`], for good. This stream fails a
    //! write that makes no progress for a while, which ends the connection.

    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};
    use std::time::Duration;

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::time::Sleep;

    /// A stream whose writes (and flushes) fail with `TimedOut` after `limit` without progress.
    pub(crate) struct WriteDeadline<S> {
        inner: S,
        limit: Duration,
        stalled: Option<Pin<Box<Sleep>>>,
    }

    impl<S> WriteDeadline<S> {
        pub(crate) fn new(inner: S, limit: Duration) -> Self {
            WriteDeadline {
                inner,
                limit,
                stalled: None,
            }
        }

        /// Passes a ready result through (and forgets the stall); on `Pending`, starts or checks
        /// the stall's clock.
        fn watch<T>(
            &mut self,
            cx: &mut Context<'_>,
            polled: Poll<io::Result<T>>,
        ) -> Poll<io::Result<T>> {
            match polled {
                Poll::Ready(result) => {
                    self.stalled = None;
                    Poll::Ready(result)
                }
                Poll::Pending => {
                    let limit = self.limit;
                    let clock = self
                        .stalled
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                    ready!(clock.as_mut().poll(cx));
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read the answer",
                    )))
                }
            }
        }
    }

    impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
            self.watch(cx, polled)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let polled = Pin::new(&mut self.inner).poll_flush(cx);
            self.watch(cx, polled)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
            self.watch(cx, polled)
        }

        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use tokio::io::AsyncWriteExt;

        /// A peer that never reads: the write fails after the limit instead of waiting forever.
        #[tokio::test(start_paused = true)]
        async fn a_write_nobody_reads_fails_after_the_limit() {
            let (ours, _theirs) = tokio::io::duplex(64);
            let mut stream = WriteDeadline::new(ours, Duration::from_secs(10));
            let started = tokio::time::Instant::now();
            let result = stream.write_all(&[0; 1024]).await;
            assert_eq!(result.map_err(|e| e.kind()), Err(io::ErrorKind::TimedOut));
            assert!(started.elapsed() >= Duration::from_secs(10));
        }

        /// A peer that reads: writes of any size complete.
        #[tokio::test]
        async fn a_write_that_progresses_completes() {
            use tokio::io::AsyncReadExt;
            let (ours, mut theirs) = tokio::io::duplex(64);
            let mut stream = WriteDeadline::new(ours, Duration::from_secs(10));
            let reader = tokio::spawn(async move {
                let mut all = Vec::new();
                let _ = theirs.read_to_end(&mut all).await;
                all.len()
            });
            assert!(stream.write_all(&[7; 100_000]).await.is_ok());
            drop(stream);
            assert_eq!(reader.await.ok(), Some(100_000));
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    chat_common::init_logging();
    let chat = Chat::from_env()?;
    let limits = Limits::from_env()?;
    let config = Arc::clone(&chat.config);
    let router = match &config.redis_url {
        Some(url) => {
            use tower_sessions_redis_store::fred::prelude::{
                ClientLike, Config as RedisConfig, Pool,
            };
            let pool = Pool::new(RedisConfig::from_url(url)?, None, None, None, 2)?;
            pool.init().await?;
            tracing::info!("sessions in Redis");
            app(
                chat,
                tower_sessions_redis_store::RedisStore::new(pool),
                limits,
            )
        }
        None => app(chat, memory::BoundedStore::new(config.max_sessions), limits),
    };
    serve(router, &config).await
}

mod memory {
    //! Sessions in this process's memory, when there is no Redis: at most `CHAT_MAX_SESSIONS`,
    //! the least recently used evicted to make room for a new one, and each gone once its
    //! record expires.
    //!
    //! Not tower-sessions' `MemoryStore`, which never deletes an expired session and has no
    //! cap. Not `tower-sessions-moka-store` either: its cache admits new entries by frequency
    //! (moka's default TinyLFU policy), so once full it drops a new session that was not read
    //! before the cache's next upkeep, and a flood of logins would log out every user who
    //! logs in during it (scenario 12b of the chat suite fails with it). This is the same moka
    //! cache with its LRU policy.
    use std::time::{Duration, Instant};

    use async_trait::async_trait;
    use moka::ops::compute::Op;
    use moka::policy::EvictionPolicy;
    use moka::sync::Cache;
    use time::OffsetDateTime;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::{self, SessionStore};

    /// A bounded in-memory session store.
    #[derive(Debug, Clone)]
    pub(crate) struct BoundedStore {
        cache: Cache<Id, Record>,
    }

    impl BoundedStore {
        /// A store of at most `max` sessions.
        pub(crate) fn new(max: u64) -> Self {
            BoundedStore {
                cache: Cache::builder()
                    .max_capacity(max)
                    .eviction_policy(EvictionPolicy::lru())
                    .expire_after(UntilExpiry)
                    .build(),
            }
        }

        #[cfg(test)]
        fn len(&self) -> u64 {
            self.cache.run_pending_tasks();
            self.cache.entry_count()
        }
    }

    /// The time left until a record's expiry date (tower-sessions moves it on with each save).
    fn left(record: &Record) -> Duration {
        let left = record.expiry_date - OffsetDateTime::now_utc();
        if left.is_positive() {
            left.unsigned_abs()
        } else {
            Duration::ZERO
        }
    }

    struct UntilExpiry;

    impl moka::Expiry<Id, Record> for UntilExpiry {
        fn expire_after_create(&self, _: &Id, record: &Record, _: Instant) -> Option<Duration> {
            Some(left(record))
        }

        fn expire_after_update(
            &self,
            _: &Id,
            record: &Record,
            _: Instant,
            _: Option<Duration>,
        ) -> Option<Duration> {
            Some(left(record))
        }
    }

    #[async_trait]
    impl SessionStore for BoundedStore {
        async fn create(&self, record: &mut Record) -> session_store::Result<()> {
            while self.cache.contains_key(&record.id) {
                record.id = Id::default();
            }
            self.cache.insert(record.id, record.clone());
            Ok(())
        }

        /// Updates a session that is still here, and only then (Redis's `SET … XX`, as
        /// tower-sessions' Redis store does): a request that was under way when its session
        /// was deleted (a logout) or evicted does not bring it back when it saves at its end.
        async fn save(&self, record: &Record) -> session_store::Result<()> {
            self.cache
                .entry(record.id)
                .and_compute_with(|stored| match stored {
                    Some(_) => Op::Put(record.clone()),
                    None => Op::Nop,
                });
            Ok(())
        }

        async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
            Ok(self
                .cache
                .get(id)
                .filter(|record| record.expiry_date > OffsetDateTime::now_utc()))
        }

        /// Deleted through the entry, as saves update it: moka orders the two, so a save
        /// that read the session just before cannot write it back after (a plain
        /// `invalidate` is not ordered with `and_compute_with`).
        async fn delete(&self, id: &Id) -> session_store::Result<()> {
            self.cache
                .entry(*id)
                .and_compute_with(|_| Op::<Record>::Remove);
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::collections::HashMap;

        fn record(lives: time::Duration) -> Record {
            Record {
                id: Id::default(),
                data: HashMap::new(),
                expiry_date: OffsetDateTime::now_utc() + lives,
            }
        }

        async fn stored(store: &BoundedStore, lives: time::Duration) -> Id {
            let mut record = record(lives);
            assert!(store.create(&mut record).await.is_ok());
            record.id
        }

        async fn live(store: &BoundedStore, id: &Id) -> bool {
            matches!(store.load(id).await, Ok(Some(_)))
        }

        #[tokio::test]
        async fn past_the_cap_the_least_recently_used_goes_and_a_new_one_stays() {
            let store = BoundedStore::new(100);
            let hour = time::Duration::hours(1);
            let used = stored(&store, hour).await;
            let idle = stored(&store, hour).await;
            for _ in 0..98 {
                stored(&store, hour).await;
            }
            assert_eq!(store.len(), 100);
            assert!(live(&store, &used).await);
            // A flood of new sessions that nobody reads: each new one is kept, even unread,
            // and what goes is what was used least recently.
            let mut newest = Vec::new();
            for _ in 0..1000 {
                newest.push(stored(&store, hour).await);
                if newest.len() % 50 == 0 {
                    assert!(live(&store, &used).await);
                }
            }
            assert!(store.len() <= 100);
            assert!(!live(&store, &idle).await);
            assert!(live(&store, &used).await);
            for id in newest.iter().rev().take(50) {
                assert!(live(&store, id).await);
            }
        }

        #[tokio::test]
        async fn a_session_ends_at_its_expiry_or_when_deleted() {
            let store = BoundedStore::new(10);
            let brief = stored(&store, time::Duration::milliseconds(50)).await;
            let long = stored(&store, time::Duration::hours(1)).await;
            assert!(live(&store, &brief).await);
            tokio::time::sleep(Duration::from_millis(80)).await;
            assert!(!live(&store, &brief).await);
            assert!(store.delete(&long).await.is_ok());
            assert!(!live(&store, &long).await);
        }

        #[tokio::test]
        async fn a_save_does_not_bring_back_a_deleted_session() {
            let store = BoundedStore::new(10);
            let mut record = record(time::Duration::hours(1));
            assert!(store.create(&mut record).await.is_ok());
            record.data.insert("k".into(), "v".into());
            assert!(store.save(&record).await.is_ok());
            let saved = store.load(&record.id).await.ok().flatten();
            assert_eq!(saved.map(|r| r.data.len()), Some(1));
            // A logout deletes it; a request that loaded it before saves it at its end.
            assert!(store.delete(&record.id).await.is_ok());
            assert!(store.save(&record).await.is_ok());
            assert!(!live(&store, &record.id).await);
        }

        /// Saves racing a delete on other threads (requests under way at a logout): once the
        /// delete is done, no save brings the session back.
        #[test]
        fn a_delete_is_not_undone_by_saves_racing_it() {
            use futures_util::FutureExt;
            use std::sync::atomic::{AtomicBool, Ordering};
            use std::sync::Arc;
            let store = Arc::new(BoundedStore::new(100));
            for _ in 0..300 {
                let mut record = record(time::Duration::hours(1));
                assert_eq!(
                    store.create(&mut record).now_or_never().map(|r| r.is_ok()),
                    Some(true)
                );
                let deleted = Arc::new(AtomicBool::new(false));
                let savers: Vec<_> = (0..3)
                    .map(|_| {
                        let (store, record, deleted) =
                            (store.clone(), record.clone(), deleted.clone());
                        std::thread::spawn(move || {
                            // Keep saving until a while after the delete.
                            let mut after = 0;
                            while after < 50 {
                                let _ = store.save(&record).now_or_never();
                                if deleted.load(Ordering::SeqCst) {
                                    after += 1;
                                }
                            }
                        })
                    })
                    .collect();
                let _ = store.delete(&record.id).now_or_never();
                deleted.store(true, Ordering::SeqCst);
                for saver in savers {
                    assert!(saver.join().is_ok());
                }
                let back = store
                    .load(&record.id)
                    .now_or_never()
                    .and_then(|r| r.ok())
                    .flatten();
                assert!(back.is_none(), "a save brought a deleted session back");
            }
        }
    }
}
