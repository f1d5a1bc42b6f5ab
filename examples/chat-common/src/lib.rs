//! What the chat examples share, so each example is only its framework's wiring:
//! configuration from the environment, an in-memory session store with CSRF tokens, the
//! portable authorizer (the same value under axum and actix-web), the publisher that triggers
//! `send-message` through the Pusher REST API, the webhook log, and the page.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use pusher_auth::authorizer::{ChannelDecision, ChannelRequest, UserDecision, UserRequest};
use pusher_auth::routes::ChannelRoutes;
use pusher_auth::webhook::Webhook;
use pusher_auth::{Credentials, PresenceMember, UserData, UserId};
use serde::Serialize;

/// Everything a chat app's handlers share, built once at start-up.
#[derive(Debug, Clone)]
pub struct Chat {
    /// The configuration.
    pub config: Arc<Config>,
    /// The sessions.
    pub sessions: Sessions,
    /// The REST client.
    pub publisher: Publisher,
    /// The verified webhooks.
    pub webhooks: WebhookLog,
}

impl Chat {
    /// Logging (`RUST_LOG`, default `info`), then the configuration from the environment
    /// (see [`Config::from_env`]).
    pub fn start() -> Result<Self, String> {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .init();
        let config = Config::from_env()?;
        Ok(Chat {
            publisher: config.publisher(),
            config: Arc::new(config),
            sessions: Sessions::default(),
            webhooks: WebhookLog::default(),
        })
    }
}

/// The body of `POST /channels/send-message`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SendMessage {
    /// The text, 1 to [`MAX_MESSAGE`] characters.
    pub message: String,
    /// The sender's connection, excluded from the broadcast when valid.
    pub socket_id: Option<String>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The text is empty or too long (400 `invalid_message`).
    InvalidMessage,
    /// The REST call failed (502 `trigger_failed`).
    TriggerFailed,
}

impl SendError {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            SendError::InvalidMessage => 400,
            SendError::TriggerFailed => 502,
        }
    }

    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            SendError::InvalidMessage => "invalid_message",
            SendError::TriggerFailed => "trigger_failed",
        }
    }
}

impl Chat {
    /// Validates and broadcasts a logged-in user's message.
    pub async fn send_message(
        &self,
        from: &CurrentUser,
        request: &SendMessage,
    ) -> Result<(), SendError> {
        if request.message.is_empty() || request.message.chars().count() > MAX_MESSAGE {
            return Err(SendError::InvalidMessage);
        }
        let socket = request
            .socket_id
            .as_deref()
            .filter(|s| pusher_auth::SocketId::new(*s).is_ok());
        self.publisher
            .send_message(from, &request.message, socket)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "send-message failed");
                SendError::TriggerFailed
            })
    }
}

/// The name of the session cookie.
pub const COOKIE: &str = "chat_session";

/// Where the demo runs and which Pusher-protocol server it talks to.
#[derive(Debug, Clone)]
pub struct Config {
    /// The app credentials (key, secret, optional master key).
    pub credentials: Credentials,
    /// The app id, for REST calls.
    pub app_id: String,
    /// The secret, for the REST client (the `pusher` crate wants it as text).
    secret: String,
    /// `HOST:PORT` of the REST API.
    pub api_host: String,
    /// What the page passes to pusher-js: `cluster`, or `wsHost`/`wsPort` for a local server.
    pub client: ClientConfig,
    /// The address the app listens on.
    pub bind: String,
    /// The pusher-js build the page loads.
    pub pusher_js: std::path::PathBuf,
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
    /// A self-hosted server such as sockudo.
    Local {
        /// Its host.
        #[serde(rename = "wsHost")]
        ws_host: String,
        /// Its port.
        #[serde(rename = "wsPort")]
        ws_port: u16,
    },
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

impl Config {
    /// Reads `PUSHER_APP_ID`, `PUSHER_KEY`, `PUSHER_SECRET`,
    /// `PUSHER_ENCRYPTION_MASTER_KEY_BASE64` (optional), and either `PUSHER_CLUSTER` (the real
    /// service) or `PUSHER_HOST`/`PUSHER_PORT` (a local server, default `127.0.0.1:6001`), plus
    /// `CHAT_ADDR` (default `127.0.0.1:3000`) and `PUSHER_JS` (the pusher-js build to serve).
    pub fn from_env() -> Result<Self, String> {
        let app_id = var("PUSHER_APP_ID", "app-id");
        let key = var("PUSHER_KEY", "app-key");
        let secret = var("PUSHER_SECRET", "app-secret");
        let mut credentials = Credentials::new(key, &secret)
            .and_then(|c| c.with_app_id(app_id.clone()))
            .map_err(|e| e.to_string())?;
        if let Ok(master) = std::env::var("PUSHER_ENCRYPTION_MASTER_KEY_BASE64") {
            if !master.is_empty() {
                credentials = credentials
                    .with_encryption_master_key_base64(&master)
                    .map_err(|e| e.to_string())?;
            }
        }
        let (api_host, client) = match std::env::var("PUSHER_CLUSTER")
            .ok()
            .filter(|c| !c.is_empty())
        {
            Some(cluster) => (
                format!("api-{cluster}.pusher.com"),
                ClientConfig::Cluster { cluster },
            ),
            None => {
                let host = var("PUSHER_HOST", "127.0.0.1");
                let port: u16 = var("PUSHER_PORT", "6001")
                    .parse()
                    .map_err(|_| "PUSHER_PORT is not a port number".to_string())?;
                (
                    format!("{host}:{port}"),
                    ClientConfig::Local {
                        ws_host: host,
                        ws_port: port,
                    },
                )
            }
        };
        let default_js = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/js/node_modules/pusher-js/dist/web/pusher-with-encryption.min.js"
        );
        Ok(Config {
            credentials,
            app_id,
            secret,
            api_host,
            client,
            bind: var("CHAT_ADDR", "127.0.0.1:3000"),
            pusher_js: var("PUSHER_JS", default_js).into(),
        })
    }

    /// The REST client that triggers events.
    pub fn publisher(&self) -> Publisher {
        let client = pusher::PusherBuilder::new(&self.app_id, self.credentials.key(), &self.secret)
            .host(&self.api_host)
            .finalize();
        Publisher {
            client: Arc::new(client),
        }
    }
}

/// A logged-in user, as the session middleware puts it in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user id (derived from the name).
    pub id: UserId,
    /// The display name.
    pub name: String,
}

/// One browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The CSRF token every state-changing request must send as `X-CSRF-Token`.
    pub csrf: String,
    /// The user, once logged in.
    pub user: Option<CurrentUser>,
}

/// Sessions in memory, keyed by an unguessable id in the session cookie.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

/// 128 random bits as hex.
fn token() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source; if it ever fails the app cannot issue safe tokens at all.
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("the OS random source failed");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    /// A new session: `(session id, CSRF token)`.
    pub fn create(&self) -> (String, String) {
        let (id, csrf) = (token(), token());
        self.lock().insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                user: None,
            },
        );
        (id, csrf)
    }

    /// The session with this id.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().get(id).cloned()
    }

    /// Logs the session in as `name`; `None` if the name is not usable (1 to 32 characters of
    /// letters, digits, `-` and `_`) or the session is unknown.
    pub fn login(&self, id: &str, name: &str) -> Option<CurrentUser> {
        let valid = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let user = CurrentUser {
            id: UserId::new(name).ok().filter(|_| valid)?,
            name: name.to_string(),
        };
        self.lock().get_mut(id)?.user = Some(user.clone());
        Some(user)
    }

    /// Logs the session out.
    pub fn logout(&self, id: &str) {
        if let Some(session) = self.lock().get_mut(id) {
            session.user = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The session id of a request: from the session cookie, or from `Authorization: Bearer …`
/// (for clients that cannot send cookies, such as pusher-js in Node or a cross-origin page).
pub fn session_id<'a>(cookie: Option<&'a str>, authorization: Option<&'a str>) -> Option<&'a str> {
    let from_cookie = cookie.and_then(|header| {
        header
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v)
    });
    from_cookie.or_else(|| {
        authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
    })
}

/// The `Set-Cookie` value for a new session.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

/// Checks a state-changing request's `X-CSRF-Token` against its session (constant time).
pub fn csrf_ok(session: Option<&Session>, header: Option<&str>) -> bool {
    match (session, header) {
        (Some(s), Some(h)) => {
            s.csrf.len() == h.len()
                && s.csrf
                    .bytes()
                    .zip(h.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        _ => false,
    }
}

#[derive(Serialize)]
struct MemberInfo<'a> {
    name: &'a str,
}

fn current_user(extensions: &pusher_auth::http::Extensions) -> Option<CurrentUser> {
    extensions.get::<CurrentUser>().cloned()
}

/// The chat's authorizer, the same value under every framework: logged-in users may join
/// `private-chat`, `private-room.N` (N a positive number), `presence-chat` (as themselves, with
/// their name) and `private-encrypted-chat`, and sign in as themselves.
pub fn authorizer() -> ChannelRoutes {
    ChannelRoutes::new()
        .private("chat", |req: ChannelRequest, (): ()| async move {
            Ok::<_, Infallible>(ChannelDecision::allow_if(
                current_user(req.extensions()).is_some(),
                "not logged in",
            ))
        })
        .private("room.{id}", |req: ChannelRequest, id: u32| async move {
            // Numbered rooms, open to every logged-in user (a parameter that is not a number
            // denies before this runs).
            Ok::<_, Infallible>(ChannelDecision::allow_if(
                current_user(req.extensions()).is_some() && id > 0,
                "not logged in",
            ))
        })
        .encrypted("chat", |req: ChannelRequest, (): ()| async move {
            Ok::<_, Infallible>(ChannelDecision::allow_if(
                current_user(req.extensions()).is_some(),
                "not logged in",
            ))
        })
        .presence("chat", |req: ChannelRequest, (): ()| async move {
            Ok::<_, Infallible>(match current_user(req.extensions()) {
                Some(user) => ChannelDecision::member(
                    PresenceMember::new(user.id.clone()).with_info(MemberInfo { name: &user.name }),
                ),
                None => ChannelDecision::deny("not logged in"),
            })
        })
        .user(|req: UserRequest| async move {
            Ok::<_, Infallible>(match current_user(req.extensions()) {
                Some(user) => UserDecision::sign_in(
                    UserData::new(user.id.clone()).with_info(MemberInfo { name: &user.name }),
                ),
                None => UserDecision::deny("not logged in"),
            })
        })
}

/// Triggers events through the Pusher REST API.
#[derive(Clone)]
pub struct Publisher {
    client: Arc<pusher::Pusher<hyper::client::HttpConnector>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Publisher")
    }
}

/// A chat message as it is broadcast.
#[derive(Debug, Clone, Serialize)]
pub struct Message<'a> {
    /// The sender's name, added by the server.
    pub name: &'a str,
    /// The text.
    pub message: &'a str,
}

/// The longest message accepted, in characters.
pub const MAX_MESSAGE: usize = 2000;

impl Publisher {
    /// Triggers `send-message` on `private-chat`, excluding the sender's own connection when
    /// its socket id is given.
    pub async fn send_message(
        &self,
        from: &CurrentUser,
        text: &str,
        socket_id: Option<&str>,
    ) -> Result<(), String> {
        let client = Arc::clone(&self.client);
        let payload = serde_json::json!(Message {
            name: &from.name,
            message: text
        });
        let socket = socket_id.map(str::to_owned);
        // The `pusher` crate panics when the server cannot be reached (its issue #30): run it
        // on its own task so a panic becomes an error here instead of a dropped connection.
        let task = tokio::spawn(async move {
            match socket {
                Some(socket) => {
                    client
                        .trigger_exclusive("private-chat", "send-message", payload, &socket)
                        .await
                }
                None => {
                    client
                        .trigger("private-chat", "send-message", payload)
                        .await
                }
            }
        });
        match task.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("trigger failed: {e}")),
            Err(_) => Err(
                "trigger failed: the REST client panicked (is the Pusher server reachable?)".into(),
            ),
        }
    }
}

/// Verified webhook events, newest last, for the page and the tests.
#[derive(Debug, Clone, Default)]
pub struct WebhookLog {
    events: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl WebhookLog {
    /// Records a verified webhook's events (at most the last 1,000 are kept).
    pub fn record(&self, webhook: &Webhook) {
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

/// The page, with the app key, the CSRF token and the client configuration filled in.
pub fn page(config: &Config, csrf: &str) -> String {
    let client = serde_json::json!({
        "key": config.credentials.key(),
        "server": config.client,
        "encrypted": config.credentials.has_encryption_master_key(),
    });
    include_str!("../static/index.html")
        .replace("{{CSRF}}", csrf)
        .replace("{{CONFIG}}", &client.to_string().replace('<', "\\u003c"))
}
