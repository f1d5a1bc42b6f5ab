//! What the chat examples share, and only what is framework-neutral: the configuration, the
//! channel routes and their authorizer (who may join what), the sign-in handler (who a
//! connection signs in as), message validation and publishing through `pusher-rest`, the
//! webhook log, and the page. Each example hands the authorizer and the sign-in handler to
//! `pusher_auth::Endpoints` and mounts them with its framework's adapter. Sessions, logins,
//! CSRF, static files and timeouts are each example's framework libraries (tower-sessions and
//! axum-login; actix-session and actix-identity), or, for Rocket, the example's own.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub mod channels;

use channels::{
    ChatChannel, ChatEvent, EncryptedChatChannel, MemberInfo, Message, PresenceChatChannel,
    RoomChannel, UserEvent,
};
use pusher_auth::authorizer::BoxError;
use pusher_auth::webhook::Webhook;
use pusher_auth::{
    Authorizer, ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials,
    PresenceMember, SigninDecision, SigninRequest, SocketId, UserData, UserId,
};
use pusher_rest::{BatchEvent, Client};
use serde::{Deserialize, Serialize};

pub mod hardening;

/// Why the app cannot start: a missing or invalid setting, named.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(&'static str, String),
    /// The REST client could not be configured.
    #[error("the REST client: {0}")]
    Rest(String),
}

/// Where the chat runs and which Pusher-protocol server it talks to.
///
/// Read from the environment by [`Config::from_env`]. There are no default credentials: a
/// missing `PUSHER_APP_ID`, `PUSHER_KEY` or `PUSHER_SECRET` (or `PUSHER_URL`) stops the app
/// with the variable's name. `Debug` never shows the secret.
///
/// Every `CHAT_*` variable is a field here but these: `CHAT_SESSION_KEY`, which only
/// `actix-chat` reads (the key that signs and encrypts its session cookie, at least 64 bytes;
/// a random one when unset, so sessions end with the process), and the per-address limits,
/// `CHAT_LOGIN_PER_MINUTE` and `CHAT_AUTH_PER_MINUTE`, which [`hardening::Limits::from_env`]
/// reads (with `CHAT_TRUST_HOPS`, which is a field here too). Where an example does not use a setting, or
/// uses it differently, the field says so.
#[derive(Clone)]
pub struct Config {
    /// The app credentials (key, secret, optional master key).
    pub credentials: Credentials,
    /// What the page passes to pusher-js: `cluster`, or, for a self-hosted server, the address
    /// browsers connect to: `CHAT_WS_HOST` (default `PUSHER_HOST`), `CHAT_WS_PORT` (default
    /// `PUSHER_PORT`, 6001) and `CHAT_WS_TLS=1` for `wss://` (default off). `PUSHER_HOST` and
    /// `PUSHER_PORT` are where the app itself publishes (the REST API, a sockudo node's own
    /// address behind a load balancer); the page's settings are the public address, the load
    /// balancer's. Each host is checked at start-up (a host name or an IP address; an IPv6
    /// address in brackets), since it goes into the page's `Content-Security-Policy` header.
    pub client: ClientConfig,
    /// The address the app listens on (`CHAT_ADDR`, default `127.0.0.1:3000`).
    pub bind: String,
    /// The pusher-js build the page loads (`PUSHER_JS`, default
    /// `examples/chat-common/js/node_modules/pusher-js/dist/web/pusher-with-encryption.min.js`).
    pub pusher_js: std::path::PathBuf,
    /// `REDIS_URL`: keep sessions in Redis (for more than one app instance). `rocket-chat`
    /// refuses to start with it: its sessions are in its own memory.
    pub redis_url: Option<String>,
    /// `CHAT_TRUST_HOPS` (default 0): how many proxies in front of the app write
    /// `X-Forwarded-For` (see [`hardening`]). More than 0 means the app is behind a load
    /// balancer, which terminates TLS: cookies are then `Secure` by default.
    pub trust_hops: usize,
    /// Session cookies only over HTTPS (`Secure`): by default behind a proxy
    /// (`CHAT_TRUST_HOPS` > 0) and for an app bound to anything but loopback, so not only for
    /// an app reached directly on loopback, a local demo (see
    /// [`hardening::secure_by_default`]); `CHAT_SECURE_COOKIES=1` or `=0` decides instead (`0`
    /// only to test a deployment over plain HTTP).
    pub secure_cookies: bool,
    /// `CHAT_SESSION_IDLE_SECS` (default 7 days): a session unused this long expires.
    pub session_idle: Duration,
    /// `CHAT_MAX_SESSIONS` (default 100,000): the most sessions an in-memory store keeps; past
    /// it, the least recently used one is evicted (its user logged out) to make room, so that a
    /// flood of logins neither grows memory without bound nor locks anyone out. A flood that
    /// large does log out the users who have not made a request for the longest (a chat user
    /// whose page only holds its websocket, say), so every example limits logins per client
    /// address (`CHAT_LOGIN_PER_MINUTE`, see [`hardening`]): one address then needs days to
    /// evict anyone. Not used for Redis, which bounds its memory itself (`maxmemory`).
    pub max_sessions: u64,
    /// `CHAT_TEST_MODE=1`: the test-only routes exist (`GET /webhooks/events`, still behind
    /// login).
    pub test_mode: bool,
    /// `CHAT_HEADER_TIMEOUT_MS` (default 5000): how long a connection may take to send a
    /// complete request head, counted from when it opens (or from the previous answer); the
    /// connection is closed after. `rocket-chat` cannot use it (Rocket 0.5.2 has no setting).
    pub header_timeout: Duration,
    /// `CHAT_BODY_TIMEOUT_MS` (default 5000): how long a client may take to send its body.
    /// After it, `axum-chat`'s JSON routes answer 400 (the body fails) and `rocket-chat`'s 408
    /// `request_timeout`; `actix-chat` uses it as the deadline of the whole request (408
    /// `request_timeout`), since actix-web bounds only the head.
    pub body_timeout: Duration,
    /// `CHAT_REQUEST_TIMEOUT_MS` (default 10000): how long a request may take in all, body and
    /// handler included: a 503 from `axum-chat`, a 408 `request_timeout` from `rocket-chat`.
    /// `actix-chat` does not use it (see `CHAT_BODY_TIMEOUT_MS`).
    pub request_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("credentials", &self.credentials)
            .field("client", &self.client)
            .field("bind", &self.bind)
            .field("redis", &self.redis_url.as_ref().map(|_| "<set>"))
            .field("trust_hops", &self.trust_hops)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_idle", &self.session_idle)
            .field("max_sessions", &self.max_sessions)
            .field("test_mode", &self.test_mode)
            .finish_non_exhaustive()
    }
}

/// How pusher-js in the page reaches the Pusher-protocol server.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ClientConfig {
    /// Pusher Channels by cluster.
    Cluster {
        /// The cluster, e.g. `eu`.
        cluster: String,
    },
    /// A self-hosted server such as sockudo, at its public address.
    Local {
        /// Its host, as browsers reach it.
        #[serde(rename = "wsHost")]
        ws_host: String,
        /// Its port for `ws://`.
        #[serde(rename = "wsPort")]
        ws_port: u16,
        /// Its port for `wss://` (pusher-js takes it apart from `wsPort`): the same port.
        #[serde(rename = "wssPort")]
        wss_port: u16,
        /// `wss://` (`CHAT_WS_TLS=1`), or `ws://`.
        #[serde(rename = "forceTLS")]
        force_tls: bool,
    },
}

/// Whether `host` can go into the page's configuration and its CSP header as it is: a DNS
/// name (letters, digits, `-`, `.`), an IPv4 address, or an IPv6 address in brackets.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with(['-', '.'])
}

/// A host variable, checked (see [`valid_host`]).
fn host_var(name: &'static str) -> Result<Option<String>, ConfigError> {
    match var(name)? {
        Some(host) if !valid_host(&host) => Err(ConfigError::Invalid(
            name,
            format!("`{host}` is not a host name or an IP address (IPv6 in brackets)"),
        )),
        other => Ok(other),
    }
}

fn var(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(ConfigError::Invalid(name, "not valid Unicode".into()))
        }
    }
}

fn number<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match var(name)? {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ConfigError::Invalid(name, format!("`{v}` is not a number"))),
    }
}

/// A number within `range`, or `default`: a zero timeout would cut every connection, and an
/// idle time of centuries overflows the stores' clocks.
fn bounded(
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let value = number(name, default)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid(
            name,
            format!("{value} is outside {}..={}", range.start(), range.end()),
        ))
    }
}

fn flag(name: &'static str) -> Result<bool, ConfigError> {
    Ok(matches!(var(name)?.as_deref(), Some("1" | "true" | "yes")))
}

impl Config {
    /// Reads the configuration: `PUSHER_APP_ID`, `PUSHER_KEY`, `PUSHER_SECRET` (or
    /// `PUSHER_URL`), `PUSHER_ENCRYPTION_MASTER_KEY_BASE64`, either `PUSHER_CLUSTER` or
    /// `PUSHER_HOST`/`PUSHER_PORT` (default 6001), and the optional `CHAT_*`, `REDIS_URL` and
    /// `PUSHER_JS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let credentials = Credentials::from_env().map_err(|e| match e {
            pusher_auth::ConfigError::MissingVariable(name) => ConfigError::Missing(name),
            other => ConfigError::Invalid("PUSHER_*", other.to_string()),
        })?;
        if credentials.app_id().is_none() {
            return Err(ConfigError::Missing("PUSHER_APP_ID"));
        }
        let client = match var("PUSHER_CLUSTER")? {
            Some(cluster) => {
                let valid = (1..=32).contains(&cluster.len())
                    && cluster
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !valid {
                    return Err(ConfigError::Invalid(
                        "PUSHER_CLUSTER",
                        format!("`{cluster}` is not a cluster name"),
                    ));
                }
                for name in ["CHAT_WS_HOST", "CHAT_WS_PORT", "CHAT_WS_TLS"] {
                    if var(name)?.is_some() {
                        return Err(ConfigError::Invalid(
                            name,
                            "set with PUSHER_CLUSTER: the page connects to Pusher's cluster".into(),
                        ));
                    }
                }
                ClientConfig::Cluster { cluster }
            }
            None => {
                let rest_host =
                    host_var("PUSHER_HOST")?.ok_or(ConfigError::Missing("PUSHER_HOST"))?;
                let rest_port = number("PUSHER_PORT", 6001)?;
                let ws_port = number("CHAT_WS_PORT", rest_port)?;
                ClientConfig::Local {
                    ws_host: host_var("CHAT_WS_HOST")?.unwrap_or(rest_host),
                    ws_port,
                    wss_port: ws_port,
                    force_tls: flag("CHAT_WS_TLS")?,
                }
            }
        };
        let max_sessions = number("CHAT_MAX_SESSIONS", 100_000)?;
        if max_sessions == 0 {
            return Err(ConfigError::Invalid(
                "CHAT_MAX_SESSIONS",
                "at least one session must fit".into(),
            ));
        }
        let default_js = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/js/node_modules/pusher-js/dist/web/pusher-with-encryption.min.js"
        );
        let bind = var("CHAT_ADDR")?.unwrap_or_else(|| "127.0.0.1:3000".into());
        let trust_hops = hardening::trust_hops_from_env()?;
        let secure_cookies = match var("CHAT_SECURE_COOKIES")?.as_deref() {
            None => hardening::secure_by_default(&bind, trust_hops),
            Some("1" | "true" | "yes") => true,
            Some("0" | "false" | "no") => false,
            Some(other) => {
                return Err(ConfigError::Invalid(
                    "CHAT_SECURE_COOKIES",
                    format!("`{other}` is neither 1 nor 0"),
                ))
            }
        };
        Ok(Config {
            credentials,
            client,
            bind,
            pusher_js: var("PUSHER_JS")?
                .unwrap_or_else(|| default_js.into())
                .into(),
            redis_url: var("REDIS_URL")?,
            trust_hops,
            secure_cookies,
            session_idle: Duration::from_secs(bounded(
                "CHAT_SESSION_IDLE_SECS",
                7 * 24 * 3600,
                1..=366 * 24 * 3600,
            )?),
            max_sessions,
            test_mode: flag("CHAT_TEST_MODE")?,
            header_timeout: Duration::from_millis(bounded(
                "CHAT_HEADER_TIMEOUT_MS",
                5000,
                1..=3_600_000,
            )?),
            body_timeout: Duration::from_millis(bounded(
                "CHAT_BODY_TIMEOUT_MS",
                5000,
                1..=3_600_000,
            )?),
            request_timeout: Duration::from_millis(bounded(
                "CHAT_REQUEST_TIMEOUT_MS",
                10_000,
                1..=3_600_000,
            )?),
        })
    }
}

/// Logging (`RUST_LOG`, default `info` with pusher-auth's decisions at `debug`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,pusher_auth=debug".into()),
        )
        .init();
}

/// A logged-in user, as the session keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user id (the name).
    pub id: UserId,
    /// The display name.
    pub name: String,
}

impl User {
    /// A user from the name typed at login: 1 to 32 letters, digits, `-` and `_`.
    pub fn from_name(name: &str) -> Option<User> {
        let valid = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return None;
        }
        Some(User {
            id: UserId::new(name).ok()?,
            name: name.to_string(),
        })
    }
}

/// A boxed, `Send` future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Where a session remembers the connections it was authorized for, so that `send-message`
/// excludes only a connection of the sender's own (Laravel's `toOthers()`), never one a
/// client merely names. Each example keeps it in the session itself, so that every instance
/// sharing the sessions (in Redis) sees the connections another instance authorized.
pub trait SocketLog: Send + Sync {
    /// Remembers `socket` as one of this session's connections.
    fn record(&self, socket: SocketId) -> BoxFuture<()>;
    /// Whether `socket` is one of this session's connections.
    fn contains(&self, socket: SocketId) -> BoxFuture<bool>;
}

/// The connection `send-message` leaves out: the one the client names (`X-Socket-ID`) when its
/// session was authorized for it, or none. A named connection the session does not hold is
/// logged (`INFO`, "the sender's connection is not excluded"): the message then reaches that
/// connection too. It happens when a message is sent before the authorization that recorded
/// the connection was saved in the session, or with a connection of another session.
pub async fn sender_to_exclude(
    named: Option<SocketId>,
    sockets: &dyn SocketLog,
) -> Option<SocketId> {
    let named = named?;
    if sockets.contains(named.clone()).await {
        Some(named)
    } else {
        tracing::info!(
            socket = %named.as_str(),
            "the sender's connection is not excluded: its session was not authorized for it"
        );
        None
    }
}

/// The user of one request, with where their session keeps its connections.
#[derive(Clone)]
pub struct ChatUser {
    /// Who.
    pub user: User,
    /// Their session's connections.
    pub sockets: Arc<dyn SocketLog>,
}

impl fmt::Debug for ChatUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatUser")
            .field("user", &self.user)
            .finish()
    }
}

/// The chat's channel routes, the same value under every framework, from the
/// [`channels`] definitions: logged-in users may join `private-chat`, numbered rooms
/// `private-room.N`, `presence-chat` (as themselves, with their name), and, when the app has an
/// encryption master key (`encrypted`), `private-encrypted-chat`. Signing in is [`signin`].
pub fn routes(encrypted: bool) -> ChannelRoutes<ChatUser> {
    let routes = ChannelRoutes::new()
        .route(|_user: ChatUser, ChatChannel| async { true })
        // A parameter that is not a canonical number denies before this runs.
        .route(|_user: ChatUser, room: RoomChannel| async move { room.id > 0 })
        .route(|chat: ChatUser, PresenceChatChannel| async move {
            PresenceMember::new(chat.user.id).with_info(MemberInfo {
                name: chat.user.name,
            })
        });
    // Without a master key the app offers no encrypted channel: no route grants one, so asking
    // for it is a 403 ("no channel route matches"), not a grant that could not be signed.
    if encrypted {
        routes.route(|_user: ChatUser, EncryptedChatChannel| async { true })
    } else {
        routes
    }
}

/// The chat's sign-in handler (`pusher.signin()`), the same under every framework: a
/// logged-in user signs in as themselves, with their name. For any user type that carries a
/// [`ChatUser`] (an example's own extractor or guard type), given to
/// `Endpoints::with_signin` beside [`ChatPolicy`].
pub async fn signin<U>(user: U, _request: SigninRequest) -> SigninDecision
where
    U: Into<ChatUser>,
{
    let chat: ChatUser = user.into();
    SigninDecision::user(UserData::new(chat.user.id).with_info(MemberInfo {
        name: chat.user.name,
    }))
}

/// The chat's authorizer: the [`routes`], and every connection they admit is remembered in the
/// session (for `send-message` to exclude the sender).
#[derive(Clone)]
pub struct ChatPolicy {
    routes: ChannelRoutes<ChatUser>,
}

impl ChatPolicy {
    /// The policy for `credentials`: with encrypted channels when they have an encryption
    /// master key.
    pub fn new(credentials: &Credentials) -> Self {
        ChatPolicy {
            routes: routes(credentials.has_encryption_master_key()),
        }
    }
}

impl fmt::Debug for ChatPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatPolicy")
            .field("routes", &self.routes)
            .finish()
    }
}

/// An authorizer for any user type that carries a [`ChatUser`] (an example's own extractor or
/// guard type).
impl<U> Authorizer<U> for ChatPolicy
where
    U: Into<ChatUser> + Send + 'static,
{
    type Error = BoxError;

    async fn authorize(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, BoxError> {
        let user: ChatUser = user.into();
        let sockets = Arc::clone(&user.sockets);
        let decision = Authorizer::authorize(&self.routes, user, request.clone()).await?;
        let admitted = matches!(
            decision,
            ChannelDecision::Allow | ChannelDecision::Member(_) | ChannelDecision::SignedInMember
        );
        if admitted && request.channel().kind() != ChannelKind::Public {
            sockets.record(request.socket_id().clone()).await;
        }
        Ok(decision)
    }
}

/// The longest message accepted, in characters.
pub const MAX_MESSAGE: usize = 2000;

/// The body of `POST /channels/send-message`: one message, or up to 10 sent as one batch.
#[derive(Debug, Clone, Deserialize)]
pub struct SendMessage {
    /// The text, 1 to [`MAX_MESSAGE`] characters.
    #[serde(default)]
    pub message: Option<String>,
    /// Several texts, sent in one batch request.
    #[serde(default)]
    pub messages: Vec<String>,
    /// Send on `private-encrypted-chat` (end-to-end encrypted) instead of `private-chat`.
    #[serde(default)]
    pub encrypted: bool,
}

/// The body of `POST /channels/whisper`: a message to one signed-in user.
#[derive(Debug, Clone, Deserialize)]
pub struct Whisper {
    /// The recipient's name.
    pub to: String,
    /// The text.
    pub message: String,
}

/// Why a message was not sent.
#[derive(Debug)]
pub enum SendError {
    /// The text is empty or too long, or there are no or too many messages (400
    /// `invalid_message`).
    InvalidMessage,
    /// The recipient is not a valid user name (400 `invalid_recipient`).
    InvalidRecipient,
    /// pusher-rest refused to send it (`Error::InvalidInput`, nothing was sent): the message is
    /// within [`MAX_MESSAGE`] characters but its event data is over Pusher's 10 KB once escaped
    /// as JSON or encrypted (413 `message_too_large`); an encrypted message with no master key
    /// configured (400 `encryption_unavailable`); any other input it refuses (400
    /// `invalid_message`). The client's request, not the server, is at fault.
    Refused(pusher_rest::InvalidInput),
    /// The REST call failed (502 `publish_failed`), or pusher-rest refused what the app
    /// itself chose (an event name, a channel, serialization: 500 `internal`); logged.
    Publish(pusher_rest::Error),
}

impl SendError {
    /// The error of a pusher-rest call: [`SendError::Refused`] for what it refused to send,
    /// [`SendError::Publish`] (logged) for everything else.
    fn from_rest(e: pusher_rest::Error) -> Self {
        use pusher_rest::InvalidInput as Input;
        match e {
            // What the client's message or recipient decides: its size once escaped or
            // encrypted, asking for encryption without a master key, a recipient's name.
            pusher_rest::Error::InvalidInput(
                input @ (Input::DataTooLarge { .. }
                | Input::NoMasterKey(_)
                | Input::Name(_)
                | Input::UserIdNotAddressable { .. }),
            ) => {
                tracing::debug!(error = %input, "the message was refused before sending");
                SendError::Refused(input)
            }
            // The rest (event names, channels, serializing, encrypting) is the app's own doing.
            e => {
                tracing::error!(error = %e, "publishing failed");
                SendError::Publish(e)
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            SendError::Refused(pusher_rest::InvalidInput::DataTooLarge { .. }) => 413,
            SendError::InvalidMessage | SendError::InvalidRecipient | SendError::Refused(_) => 400,
            SendError::Publish(pusher_rest::Error::InvalidInput(_)) => 500,
            SendError::Publish(_) => 502,
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::InvalidMessage => "invalid_message",
            SendError::InvalidRecipient => "invalid_recipient",
            SendError::Refused(pusher_rest::InvalidInput::DataTooLarge { .. }) => {
                "message_too_large"
            }
            SendError::Refused(pusher_rest::InvalidInput::NoMasterKey(_)) => {
                "encryption_unavailable"
            }
            SendError::Refused(_) => "invalid_message",
            SendError::Publish(pusher_rest::Error::InvalidInput(_)) => "internal",
            SendError::Publish(_) => "publish_failed",
        }
    }
}

fn valid_text(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= MAX_MESSAGE
}

/// Everything a chat app's handlers share, built once at start-up.
#[derive(Clone, Debug)]
pub struct Chat {
    /// The configuration.
    pub config: Arc<Config>,
    /// The REST client.
    pub publisher: Client,
    /// The verified webhooks.
    pub webhooks: WebhookLog,
    /// The page's `Content-Security-Policy`, built once ([`hardening::content_security_policy`]).
    page_policy: Arc<str>,
    /// Room for the background disconnects running at once.
    disconnects: Arc<tokio::sync::Semaphore>,
}

impl Chat {
    /// The configuration from the environment and the REST client for it.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let publisher = Client::from_env().map_err(|e| ConfigError::Rest(e.to_string()))?;
        Ok(Chat::new(config, publisher))
    }

    /// The chat for `config`, publishing through `publisher`.
    pub fn new(config: Config, publisher: Client) -> Self {
        Chat {
            page_policy: hardening::content_security_policy(&config.client).into(),
            config: Arc::new(config),
            publisher,
            webhooks: WebhookLog::default(),
            disconnects: Arc::new(tokio::sync::Semaphore::new(Self::MAX_DISCONNECTS)),
        }
    }

    /// The page's `Content-Security-Policy` header: the same for every page, built at start-up
    /// from the template, never from a rendered page.
    pub fn page_policy(&self) -> &str {
        &self.page_policy
    }

    /// Publishes a logged-in user's message (or batch of up to 10) on `private-chat` (or
    /// `private-encrypted-chat`), excluding `sender` — a connection of theirs, checked against
    /// their session by the caller.
    pub async fn send_message(
        &self,
        from: &User,
        request: &SendMessage,
        sender: Option<SocketId>,
    ) -> Result<(), SendError> {
        let texts: Vec<&str> = match (&request.message, request.messages.as_slice()) {
            (Some(one), []) => vec![one.as_str()],
            (None, many) if !many.is_empty() && many.len() <= 10 => {
                many.iter().map(String::as_str).collect()
            }
            _ => return Err(SendError::InvalidMessage),
        };
        if !texts.iter().all(|t| valid_text(t)) {
            return Err(SendError::InvalidMessage);
        }
        let events: Vec<ChatEvent> = texts
            .into_iter()
            .map(|text| {
                ChatEvent::SendMessage(Message {
                    name: from.name.clone(),
                    message: text.to_owned(),
                })
            })
            .collect();
        if request.encrypted {
            self.publish(&EncryptedChatChannel, events, sender).await
        } else {
            self.publish(&ChatChannel, events, sender).await
        }
    }

    /// Publishes `events` on `channel`, excluding `sender`: one trigger, or one batch.
    async fn publish<C>(
        &self,
        channel: &C,
        events: Vec<C::Event>,
        sender: Option<SocketId>,
    ) -> Result<(), SendError>
    where
        C: pusher_protocol::channel::Channel,
    {
        let result = if let [event] = events.as_slice() {
            self.publisher
                .publish(channel, event)
                .exclude(sender)
                .send()
                .await
                .map(drop)
        } else {
            let mut batch = Vec::with_capacity(events.len());
            for event in &events {
                let event = BatchEvent::publish(channel, event).map_err(SendError::from_rest)?;
                batch.push(event.exclude(sender.clone()));
            }
            self.publisher.trigger_batch(batch).await.map(drop)
        };
        result.map_err(SendError::from_rest)
    }

    /// Sends a message to one user's signed-in connections (`#server-to-user-{id}`).
    pub async fn whisper(&self, from: &User, request: &Whisper) -> Result<(), SendError> {
        let to = User::from_name(&request.to).ok_or(SendError::InvalidRecipient)?;
        if !valid_text(&request.message) {
            return Err(SendError::InvalidMessage);
        }
        let whisper = UserEvent::Whisper(Message {
            name: from.name.clone(),
            message: request.message.clone(),
        });
        self.publisher
            .send_event_to_user(&to.id, &whisper)
            .await
            .map(drop)
            .map_err(SendError::from_rest)
    }

    /// Ends the user's signed-in connections (at logout, every tab of theirs disconnects).
    pub async fn disconnect(&self, user: &User) {
        if let Err(e) = self.publisher.terminate_user_connections(&user.id).await {
            tracing::warn!(error = %e, "could not terminate the user's connections");
        }
    }

    /// [`disconnect`](Self::disconnect) in a task of its own, bounded by the REST client's
    /// timeout: a logout calls it once the session is gone, and answers without waiting for
    /// the Pusher server. Call it on a Tokio runtime (every example's handlers run on one).
    ///
    /// At most [`Chat::MAX_DISCONNECTS`] run at once: a flood of logouts (logging in costs
    /// nothing here) cannot pile up tasks and outbound requests. Past that, the logout still
    /// ends the session, and the user's connections are left to end on their own (they can no
    /// longer authorize anything), with a warning.
    pub fn disconnect_in_background(&self, user: User) {
        let Ok(permit) = Arc::clone(&self.disconnects).try_acquire_owned() else {
            tracing::warn!(
                max = Self::MAX_DISCONNECTS,
                "too many logouts at once: this user's connections are not ended"
            );
            return;
        };
        let chat = self.clone();
        let limit = self.publisher.timeout();
        tokio::spawn(async move {
            let _permit = permit;
            if tokio::time::timeout(limit, chat.disconnect(&user))
                .await
                .is_err()
            {
                tracing::warn!(?limit, "ending the user's connections timed out");
            }
        });
    }

    /// How many [`Chat::disconnect_in_background`] calls may run at once.
    pub const MAX_DISCONNECTS: usize = 64;

    /// Who is online and how busy the channels are: the presence members of `presence-chat`,
    /// the subscribers of `private-chat`, and every occupied channel.
    pub async fn stats(&self) -> Result<serde_json::Value, SendError> {
        use pusher_rest::Info;
        let publish = |e: pusher_rest::Error| {
            tracing::error!(error = %e, "stats failed");
            SendError::Publish(e)
        };
        // The names from the definitions, as everywhere else.
        use pusher_protocol::channel::{Channel as _, ChannelError};
        let name = |name: Result<pusher_auth::ChannelName, ChannelError>| {
            name.map_err(|e| publish(pusher_rest::InvalidInput::from(e).into()))
        };
        let members = self
            .publisher
            .presence_users(name(PresenceChatChannel.name())?)
            .await
            .map_err(publish)?;
        let chat = self
            .publisher
            .channel_info(name(ChatChannel.name())?, Info::new().subscription_count())
            .await
            .map_err(publish)?;
        let channels = self.publisher.channels().send().await.map_err(publish)?;
        let names: Vec<&String> = channels.channels.keys().collect();
        Ok(serde_json::json!({
            "online": members.iter().map(UserId::as_str).collect::<Vec<_>>(),
            "private_chat": { "occupied": chat.occupied, "subscription_count": chat.subscription_count },
            "channels": names,
        }))
    }
}

/// Verified webhook events, newest last (the last 1,000), for the test-mode route, and the
/// rooms (`private-room.{id}`) that have subscribers, read back through their definition.
#[derive(Debug, Clone, Default)]
pub struct WebhookLog {
    events: Arc<Mutex<Vec<serde_json::Value>>>,
    rooms: Arc<Mutex<std::collections::BTreeSet<u32>>>,
}

impl WebhookLog {
    /// Records a verified webhook's events.
    pub fn record(&self, webhook: &Webhook) {
        use pusher_auth::WebhookEvent;
        use pusher_protocol::channel::Channel as _;
        {
            let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
            for event in webhook.events() {
                // The channel's parameters from its definition: no string slicing.
                match event {
                    WebhookEvent::ChannelOccupied { channel, .. } => {
                        if let Some(room) = RoomChannel::parse(channel) {
                            rooms.insert(room.id);
                        }
                    }
                    WebhookEvent::ChannelVacated { channel, .. } => {
                        if let Some(room) = RoomChannel::parse(channel) {
                            rooms.remove(&room.id);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.extend(
            webhook
                .events()
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok()),
        );
        let excess = events.len().saturating_sub(1000);
        events.drain(..excess);
    }

    /// The rooms that have subscribers, by number, as the webhooks reported them.
    pub fn occupied_rooms(&self) -> Vec<u32> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect()
    }

    /// The webhook handler that records into this log.
    pub fn handler(&self) -> impl pusher_auth::webhook::WebhookHandler {
        let log = self.clone();
        move |webhook: Webhook, _head: pusher_auth::http::request::Parts| {
            let log = log.clone();
            async move {
                log.record(&webhook);
                Ok::<_, Infallible>(())
            }
        }
    }

    /// The recorded events as a JSON array.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&*self.events.lock().unwrap_or_else(PoisonError::into_inner))
            .unwrap_or_else(|_| "[]".into())
    }
}

/// 128 random bits as hex, from the OS; an error (never a weak token) if the OS cannot give
/// randomness.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether the `X-CSRF-Token` header matches the session's token, compared in constant time.
pub fn csrf_ok(expected: Option<&str>, header: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    match (expected, header) {
        (Some(e), Some(h)) if !e.is_empty() => bool::from(e.as_bytes().ct_eq(h.as_bytes())),
        _ => false,
    }
}

/// The page's script, served at `/chat.js` (the page runs no inline script, so a content
/// security policy can allow scripts from the app alone), type-checked against the channel
/// definitions by the test command.
pub const CHAT_JS: &str = include_str!("../static/chat.js");

/// The `Content-Type` of [`CHAT_JS`].
pub const CHAT_JS_TYPE: &str = "text/javascript; charset=utf-8";

/// The page's template: the CSRF token and the configuration are filled in by [`page`]; its
/// inline style is what the content security policy allows by hash.
pub const PAGE_TEMPLATE: &str = include_str!("../static/index.html");

/// The page, with the app key, the CSRF token (empty before login) and the client
/// configuration filled in.
pub fn page(config: &Config, csrf: Option<&str>, user: Option<&User>) -> String {
    let client = serde_json::json!({
        "key": config.credentials.key(),
        "server": config.client,
        "encrypted": config.credentials.has_encryption_master_key(),
        "user": user.map(|u| &u.name),
    });
    PAGE_TEMPLATE
        .replace("{{CSRF}}", csrf.unwrap_or_default())
        .replace("{{CONFIG}}", &client.to_string().replace('<', "\\u003c"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chat whose REST client points at a closed port: only what pusher-rest refuses before
    /// sending gets past the connection.
    fn chat(master_key: bool) -> Chat {
        let mut credentials = Credentials::new("key", "secret")
            .and_then(|c| c.with_app_id("1"))
            .unwrap_or_else(|_| unreachable!("valid credentials"));
        if master_key {
            credentials = credentials
                .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
                .unwrap_or_else(|_| unreachable!("a valid master key"));
        }
        let publisher = Client::builder(credentials.clone())
            .host("127.0.0.1")
            .port(1)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_else(|_| unreachable!("a valid client"));
        chat_publishing_with(credentials, publisher)
    }

    /// A chat whose publisher records what it would send (pusher-rest's recording client).
    fn recording_chat() -> (Chat, pusher_rest::testing::Recorder) {
        let credentials = Credentials::new("key", "secret")
            .and_then(|c| c.with_app_id("1"))
            .and_then(|c| {
                c.with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
            })
            .unwrap_or_else(|_| unreachable!("valid credentials"));
        let (publisher, recorder) = Client::builder(credentials.clone())
            .build_recording()
            .unwrap_or_else(|_| unreachable!("a valid client"));
        (chat_publishing_with(credentials, publisher), recorder)
    }

    fn chat_publishing_with(credentials: Credentials, publisher: Client) -> Chat {
        let config = Config {
            credentials,
            client: ClientConfig::Local {
                ws_host: "127.0.0.1".into(),
                ws_port: 1,
                wss_port: 1,
                force_tls: false,
            },
            bind: "127.0.0.1:0".into(),
            pusher_js: "pusher.min.js".into(),
            redis_url: None,
            trust_hops: 0,
            secure_cookies: false,
            session_idle: Duration::from_secs(60),
            max_sessions: 10,
            test_mode: false,
            header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        };
        Chat::new(config, publisher)
    }

    /// The only test that touches the environment (tests run on threads of one process).
    #[test]
    fn the_defaults_are_the_documented_ones() {
        for (name, value) in [
            ("PUSHER_APP_ID", "1"),
            ("PUSHER_KEY", "key"),
            ("PUSHER_SECRET", "secret"),
            ("PUSHER_HOST", "127.0.0.1"),
        ] {
            std::env::set_var(name, value);
        }
        for name in [
            "PUSHER_URL",
            "PUSHER_CLUSTER",
            "PUSHER_PORT",
            "CHAT_ADDR",
            "CHAT_WS_HOST",
            "CHAT_WS_PORT",
            "CHAT_WS_TLS",
            "CHAT_TRUST_HOPS",
            "CHAT_SECURE_COOKIES",
            "CHAT_SESSION_IDLE_SECS",
            "CHAT_MAX_SESSIONS",
            "CHAT_TEST_MODE",
            "CHAT_HEADER_TIMEOUT_MS",
            "CHAT_BODY_TIMEOUT_MS",
            "CHAT_REQUEST_TIMEOUT_MS",
            "REDIS_URL",
        ] {
            std::env::remove_var(name);
        }
        let config = Config::from_env().unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(config.bind, "127.0.0.1:3000");
        assert!(matches!(
            &config.client,
            ClientConfig::Local { ws_host, ws_port: 6001, wss_port: 6001, force_tls: false } if ws_host == "127.0.0.1"
        ));
        assert!(!config.secure_cookies && !config.test_mode && config.redis_url.is_none());
        assert_eq!(config.trust_hops, 0);
        // The page's public WebSocket address, apart from the REST target.
        std::env::set_var("CHAT_WS_HOST", "chat.example.com");
        std::env::set_var("CHAT_WS_PORT", "443");
        std::env::set_var("CHAT_WS_TLS", "1");
        let config = Config::from_env().unwrap_or_else(|e| unreachable!("{e}"));
        assert!(matches!(
            &config.client,
            ClientConfig::Local { ws_host, ws_port: 443, wss_port: 443, force_tls: true } if ws_host == "chat.example.com"
        ));
        std::env::set_var("PUSHER_CLUSTER", "eu");
        assert!(matches!(
            Config::from_env(),
            Err(ConfigError::Invalid("CHAT_WS_HOST", _))
        ));
        for name in [
            "PUSHER_CLUSTER",
            "CHAT_WS_HOST",
            "CHAT_WS_PORT",
            "CHAT_WS_TLS",
        ] {
            std::env::remove_var(name);
        }
        // What goes into the CSP header is checked.
        for (name, value) in [
            ("CHAT_WS_HOST", "evil.example; script-src *"),
            ("CHAT_WS_HOST", "[not-v6]"),
            ("PUSHER_HOST", "127.0.0.1 https:"),
            ("PUSHER_CLUSTER", "eu; script-src *"),
        ] {
            let before = std::env::var(name).ok();
            std::env::set_var(name, value);
            match Config::from_env() {
                Err(ConfigError::Invalid(refused, _)) => assert_eq!(refused, name),
                other => unreachable!("{name}={value}: {:?}", other.map(|_| ())),
            }
            match before {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
        std::env::set_var("CHAT_WS_HOST", "[::1]");
        assert!(Config::from_env().is_ok());
        std::env::remove_var("CHAT_WS_HOST");
        // Behind a proxy, cookies are Secure by default; the explicit setting decides.
        std::env::set_var("CHAT_TRUST_HOPS", "1");
        let config = Config::from_env().unwrap_or_else(|e| unreachable!("{e}"));
        assert!(config.secure_cookies && config.trust_hops == 1);
        std::env::set_var("CHAT_SECURE_COOKIES", "0");
        let config = Config::from_env().unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!config.secure_cookies);
        std::env::remove_var("CHAT_SECURE_COOKIES");
        std::env::remove_var("CHAT_TRUST_HOPS");
        assert_eq!(config.session_idle, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.max_sessions, 100_000);
        assert_eq!(config.header_timeout, Duration::from_millis(5000));
        assert_eq!(config.body_timeout, Duration::from_millis(5000));
        assert_eq!(config.request_timeout, Duration::from_millis(10_000));
        std::env::set_var("CHAT_MAX_SESSIONS", "0");
        assert!(matches!(
            Config::from_env(),
            Err(ConfigError::Invalid("CHAT_MAX_SESSIONS", _))
        ));
        std::env::remove_var("CHAT_MAX_SESSIONS");
        // Zero timeouts and idle times of centuries are refused, naming the variable.
        for (name, value) in [
            ("CHAT_HEADER_TIMEOUT_MS", "0"),
            ("CHAT_BODY_TIMEOUT_MS", "0"),
            ("CHAT_REQUEST_TIMEOUT_MS", "0"),
            ("CHAT_SESSION_IDLE_SECS", "0"),
            ("CHAT_SESSION_IDLE_SECS", "40000000000"),
        ] {
            std::env::set_var(name, value);
            match Config::from_env() {
                Err(ConfigError::Invalid(refused, _)) => assert_eq!(refused, name),
                other => unreachable!("{name}={value}: {:?}", other.map(|_| ())),
            }
            std::env::remove_var(name);
        }
    }

    fn ann() -> User {
        User::from_name("ann").unwrap_or_else(|| unreachable!("a valid name"))
    }

    /// A session's connections, in memory.
    #[derive(Default)]
    struct Sockets(Mutex<Vec<SocketId>>);

    impl SocketLog for Sockets {
        fn record(&self, socket: SocketId) -> BoxFuture<()> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(socket);
            Box::pin(async {})
        }

        fn contains(&self, socket: SocketId) -> BoxFuture<bool> {
            let found = self
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&socket);
            Box::pin(async move { found })
        }
    }

    fn request(socket: &str, channel: &str) -> ChannelRequest {
        let (head, ()) = pusher_auth::http::Request::new(()).into_parts();
        ChannelRequest::new(
            SocketId::new(socket).unwrap_or_else(|_| unreachable!("a valid socket id")),
            channel
                .parse()
                .unwrap_or_else(|_| unreachable!("a valid channel name")),
            pusher_auth::Params::default(),
            head,
        )
    }

    /// Ann, with her session's connections.
    fn ann_with(sockets: &Arc<Sockets>) -> ChatUser {
        ChatUser {
            user: ann(),
            sockets: Arc::clone(sockets) as Arc<dyn SocketLog>,
        }
    }

    fn credentials(master_key: bool) -> Credentials {
        let credentials =
            Credentials::new("key", "secret").unwrap_or_else(|_| unreachable!("valid credentials"));
        if master_key {
            credentials
                .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
                .unwrap_or_else(|_| unreachable!("a valid master key"))
        } else {
            credentials
        }
    }

    async fn decide(policy: &ChatPolicy, user: ChatUser, socket: &str, channel: &str) -> bool {
        match Authorizer::authorize(policy, user, request(socket, channel)).await {
            Ok(ChannelDecision::Allow | ChannelDecision::Member(_)) => true,
            Ok(ChannelDecision::Deny(_)) => false,
            other => unreachable!("{channel}: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_policy_decides_by_the_routes_and_remembers_what_it_admits() {
        let policy = ChatPolicy::new(&credentials(true));
        let sockets = Arc::new(Sockets::default());
        let admitted = [
            ("1.1", "private-chat"),
            ("1.2", "private-encrypted-chat"),
            ("1.3", "private-room.7"),
            ("1.4", "presence-chat"),
        ];
        for (socket, channel) in admitted {
            assert!(
                decide(&policy, ann_with(&sockets), socket, channel).await,
                "{channel}"
            );
        }
        for (socket, channel) in [
            ("2.1", "private-room.0"),
            ("2.2", "private-room.007"),
            ("2.3", "private-other"),
            ("2.4", "presence-room.1"),
        ] {
            assert!(
                !decide(&policy, ann_with(&sockets), socket, channel).await,
                "{channel}"
            );
        }
        let recorded: Vec<String> = sockets
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        assert_eq!(recorded, ["1.1", "1.2", "1.3", "1.4"]);
    }

    /// Without a master key the chat offers no encrypted channels: a denial (403), nothing
    /// remembered, and the other channels as before.
    #[tokio::test]
    async fn without_a_master_key_encrypted_channels_are_denied() {
        let policy = ChatPolicy::new(&credentials(false));
        let sockets = Arc::new(Sockets::default());
        let denied = Authorizer::authorize(
            &policy,
            ann_with(&sockets),
            request("1.1", "private-encrypted-chat"),
        )
        .await;
        assert!(
            matches!(&denied, Ok(ChannelDecision::Deny(reason)) if reason.contains("no channel route matches")),
            "{denied:?}"
        );
        assert!(decide(&policy, ann_with(&sockets), "1.2", "private-chat").await);
        let recorded = sockets
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        assert_eq!(recorded, 1);
    }

    #[tokio::test]
    async fn a_user_signs_in_as_themselves_with_their_name() {
        let (head, ()) = pusher_auth::http::Request::new(()).into_parts();
        let request = SigninRequest::new(
            SocketId::new("1.1").unwrap_or_else(|_| unreachable!("a valid socket id")),
            pusher_auth::Params::default(),
            head,
        );
        let sockets = Arc::new(Sockets::default());
        let decision = signin(ann_with(&sockets), request).await;
        let expected = SigninDecision::user(
            UserData::new(ann().id).with_info(serde_json::json!({ "name": "ann" })),
        );
        assert_eq!(decision, expected);
    }

    fn message(text: &str, encrypted: bool) -> SendMessage {
        SendMessage {
            message: Some(text.to_owned()),
            messages: Vec::new(),
            encrypted,
        }
    }

    async fn answer(chat: &Chat, request: &SendMessage) -> (u16, &'static str) {
        match chat.send_message(&ann(), request, None).await {
            Ok(()) => (204, ""),
            Err(e) => (e.status(), e.code()),
        }
    }

    fn socket(id: &str) -> SocketId {
        SocketId::new(id).unwrap_or_else(|_| unreachable!("a valid socket id"))
    }

    #[tokio::test]
    async fn a_message_is_published_on_private_chat_to_everyone_but_its_sender() {
        let (chat, recorder) = recording_chat();
        chat.send_message(&ann(), &message("hi", false), Some(socket("1.2")))
            .await
            .unwrap();
        let published = recorder.assert_triggered_with(
            "private-chat",
            "send-message",
            &serde_json::json!({"name": "ann", "message": "hi"}),
        );
        assert_eq!(published.excluded(), Some(&socket("1.2")));
        assert!(!published.encrypted());
        recorder.assert_published_count(1);
    }

    #[tokio::test]
    async fn an_encrypted_message_travels_encrypted() {
        let (chat, recorder) = recording_chat();
        chat.send_message(&ann(), &message("secret", true), None)
            .await
            .unwrap();
        let published = recorder.assert_triggered_with(
            "private-encrypted-chat",
            "send-message",
            &serde_json::json!({"name": "ann", "message": "secret"}),
        );
        assert!(published.encrypted());
        assert_eq!(published.excluded(), None);
        recorder.assert_not_triggered("private-chat", "send-message");
    }

    #[tokio::test]
    async fn several_messages_go_out_as_one_batch_in_order() {
        let (chat, recorder) = recording_chat();
        let batch = SendMessage {
            message: None,
            messages: vec!["one".into(), "two".into()],
            encrypted: false,
        };
        chat.send_message(&ann(), &batch, Some(socket("3.4")))
            .await
            .unwrap();
        recorder.assert_published_count(2);
        let texts: Vec<String> = recorder
            .published()
            .iter()
            .map(|p| p.data()["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(recorder.requests().len(), 1, "one batch request");
    }

    #[tokio::test]
    async fn a_whisper_reaches_only_its_recipient() {
        let (chat, recorder) = recording_chat();
        let whisper = Whisper {
            to: "bob".into(),
            message: "psst".into(),
        };
        chat.whisper(&ann(), &whisper).await.unwrap();
        let sent = recorder.assert_sent_to_user("bob", "whisper");
        assert_eq!(
            sent.data(),
            &serde_json::json!({"name": "ann", "message": "psst"})
        );
        recorder.assert_published_count(1);
    }

    #[tokio::test]
    async fn a_failing_pusher_server_is_a_502_and_nothing_is_recorded() {
        let (chat, recorder) = recording_chat();
        recorder.fail_next(pusher_rest::testing::Failure::status(503, "overloaded"));
        assert_eq!(
            answer(&chat, &message("hi", false)).await,
            (502, "publish_failed")
        );
        recorder.fail_next(pusher_rest::testing::Failure::timeout());
        assert_eq!(
            answer(&chat, &message("hi", false)).await,
            (502, "publish_failed")
        );
        recorder.assert_nothing_published();
    }

    #[tokio::test]
    async fn what_pusher_rest_refuses_is_the_clients_mistake() {
        let chat = chat(true);
        // Within 2,000 characters, over 10 KB as sent: escaped as JSON, or encrypted.
        let escaped = "\u{1}".repeat(MAX_MESSAGE);
        let emoji = "\u{1F600}".repeat(MAX_MESSAGE);
        let too_large = (413, "message_too_large");
        assert_eq!(answer(&chat, &message(&escaped, false)).await, too_large);
        assert_eq!(answer(&chat, &message(&emoji, true)).await, too_large);
        let batch = SendMessage {
            message: None,
            messages: vec!["fine".into(), escaped.clone()],
            encrypted: false,
        };
        assert_eq!(answer(&chat, &batch).await, too_large);
        let whisper = Whisper {
            to: "bob".into(),
            message: escaped,
        };
        let whispered = chat
            .whisper(&ann(), &whisper)
            .await
            .map_err(|e| (e.status(), e.code()));
        assert_eq!(whispered, Err(too_large));
        // Encryption asked of a server that has no master key.
        assert_eq!(
            answer(&self::chat(false), &message("hi", true)).await,
            (400, "encryption_unavailable")
        );
        // What reaches the network and fails there is the server's: a 502.
        assert_eq!(
            answer(&chat, &message("hi", false)).await,
            (502, "publish_failed")
        );
    }

    #[test]
    fn webhooks_name_rooms_through_their_definition() {
        use pusher_protocol::testing::SignedWebhook;
        let credentials = Credentials::new("key", "secret").unwrap();
        let verifier = pusher_auth::WebhookVerifier::new(credentials.clone());
        let log = WebhookLog::default();
        for events in [
            serde_json::json!([
                {"name": "channel_occupied", "channel": "private-room.3"},
                {"name": "channel_occupied", "channel": "private-room.12"},
                {"name": "channel_occupied", "channel": "private-room.x"},
                {"name": "channel_occupied", "channel": "presence-room.4"},
                {"name": "channel_occupied", "channel": "private-chat"},
            ]),
            serde_json::json!([{"name": "channel_vacated", "channel": "private-room.12"}]),
        ] {
            let events = events.as_array().unwrap().clone();
            let hook = SignedWebhook::now(&credentials, events);
            let webhook = verifier
                .verify(hook.key(), hook.signature(), hook.body().as_bytes())
                .unwrap();
            log.record(&webhook);
        }
        assert_eq!(log.occupied_rooms(), vec![3]);
    }

    /// What pusher-rest refuses in the app's own choices (event names, channels, serializing,
    /// encrypting) is the server's fault, not the client's.
    #[tokio::test]
    async fn what_pusher_rest_refuses_in_the_apps_choices_is_a_500() {
        use pusher_rest::InvalidInput;
        for input in [
            InvalidInput::Serialize("no".into()),
            InvalidInput::EmptyEventName,
            InvalidInput::NoChannels,
            InvalidInput::Channel(pusher_protocol::channel::ChannelError::EventShape(
                "no `event` string".into(),
            )),
        ] {
            let e = SendError::from_rest(pusher_rest::Error::InvalidInput(input));
            assert_eq!((e.status(), e.code()), (500, "internal"));
        }
        // Data over the limit is the client's: refused before anything is sent.
        let credentials = Credentials::new("key", "secret")
            .unwrap()
            .with_app_id("1")
            .unwrap();
        let publisher = Client::builder(credentials)
            .host("127.0.0.1")
            .port(1)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let too_large = publisher
            .trigger("private-chat", "message", &"x".repeat(20_000))
            .await
            .unwrap_err();
        assert!(matches!(
            too_large,
            pusher_rest::Error::InvalidInput(InvalidInput::DataTooLarge { .. })
        ));
        let client = SendError::from_rest(too_large);
        assert_eq!((client.status(), client.code()), (413, "message_too_large"));
    }
}
