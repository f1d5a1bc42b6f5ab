//! The one error type of the client.

use std::time::Duration;

use http::{Method, StatusCode};
use pusher_protocol::rest::RestSignError;
use pusher_protocol::{ChannelName, NameError};

/// At most this many bytes of a server's error body are kept in [`Error::Status`].
pub const MAX_ERROR_BODY: usize = 1024;

/// Everything that can go wrong, from building the client to reading an answer.
///
/// Input errors ([`Error::InvalidInput`]) are found before anything is sent; the others say
/// what happened on the wire. No variant carries the app secret, the master key or a request
/// signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client's configuration is invalid.
    #[error("invalid Pusher client configuration: {0}")]
    Config(#[from] ConfigError),
    /// The request is invalid; nothing was sent.
    #[error("invalid Pusher request: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// The server answered with a status other than 2xx.
    #[error("{method} {path} answered HTTP {status}: {body}")]
    Status {
        /// The request method.
        method: Method,
        /// The request path (without the signed query string).
        path: String,
        /// The status.
        status: StatusCode,
        /// The server's message: the body as text, cut to [`MAX_ERROR_BODY`] bytes.
        body: String,
    },
    /// No complete answer arrived within the request timeout.
    #[error("{method} {path} timed out after {timeout:?}")]
    Timeout {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connection could not be made, or broke before the answer was read.
    #[error("{method} {path} failed: {source}")]
    Connection {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The transport's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request was polled outside a Tokio runtime (the client's connections and timers
    /// run on Tokio); nothing was sent. Call it from code that runs on a Tokio runtime, such
    /// as an axum, actix-web or Rocket handler, or `#[tokio::main]`.
    #[error("{method} {path} was not sent: the Pusher client needs a Tokio runtime, and none is running")]
    NoRuntime {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
    },
    /// The server answered 2xx with a body that is not the expected JSON.
    #[error("{method} {path}: cannot decode the answer: {reason}")]
    Decode {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// What did not match.
        reason: String,
    },
    /// An operation that needs several requests (more than 100 channels, encrypted channels
    /// mixed with others, batches of more than the batch size) failed part way: the first
    /// requests were delivered, then `source` stopped it.
    #[error("{completed} of {total} requests were delivered before this failure: {source}")]
    Partial {
        /// How many requests succeeded, in the order they are sent.
        completed: usize,
        /// How many requests the operation needed.
        total: usize,
        /// For `trigger`: the channels the delivered requests named (empty for
        /// `trigger_batch`).
        delivered_channels: Vec<ChannelName>,
        /// For `trigger_batch`: how many events, from the start of the batch, were delivered
        /// (0 for `trigger`).
        delivered_events: usize,
        /// The error that stopped the operation.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The HTTP status, for [`Error::Status`] (also inside [`Error::Partial`]).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Status { status, .. } => Some(*status),
            Error::Partial { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether nothing was sent because the input or configuration was invalid.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidInput(_) | Error::Config(_))
    }

    /// Whether the request timed out (also inside [`Error::Partial`]).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Partial { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    /// Whether the connection failed (also inside [`Error::Partial`]).
    pub fn is_connection(&self) -> bool {
        match self {
            Error::Connection { .. } => true,
            Error::Partial { source, .. } => source.is_connection(),
            _ => false,
        }
    }

    /// Whether a retry may succeed: a connection failure or a 5xx status.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Error::Connection { .. } => true,
            Error::Status { status, .. } => status.is_server_error(),
            _ => false,
        }
    }
}

impl From<NameError> for Error {
    /// An invalid channel name, socket id or user id is invalid input.
    fn from(e: NameError) -> Self {
        Error::InvalidInput(InvalidInput::Name(e))
    }
}

/// An invalid client configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The credentials are invalid, or an environment variable is missing or malformed.
    #[error(transparent)]
    Credentials(#[from] pusher_protocol::ConfigError),
    /// The credentials have no app id; REST paths need one.
    #[error("the credentials have no app id (set it with Credentials::with_app_id, PUSHER_APP_ID or the PUSHER_URL path)")]
    MissingAppId,
    /// The app id has characters a URL path cannot carry unescaped.
    #[error("the app id may only contain A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @")]
    InvalidAppId,
    /// The host is empty or not a valid host name or address.
    #[error("invalid host `{0}`")]
    InvalidHost(String),
    /// A port is not a number from 1 to 65535.
    #[error("invalid port `{0}`")]
    InvalidPort(String),
    /// The scheme is neither `http` nor `https`.
    #[error("invalid scheme `{0}`: use http or https")]
    InvalidScheme(String),
    /// The cluster name is empty or has characters a host name cannot have.
    #[error("invalid cluster `{0}`")]
    InvalidCluster(String),
    /// An `https` endpoint was configured, but the crate was built without its `rustls` feature.
    #[error("https needs the `rustls` feature of pusher-rest")]
    TlsDisabled,
    /// The TLS configuration could not be built.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A limit was set to zero.
    #[error("{0} must be at least 1")]
    ZeroLimit(&'static str),
}

/// A request that breaks a rule of the Pusher HTTP API, found before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A channel name, socket id or user id given as text is invalid.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A trigger names no channel.
    #[error("a trigger needs at least one channel")]
    NoChannels,
    /// The event name is empty.
    #[error("event name is empty")]
    EmptyEventName,
    /// The event name is longer than [`crate::MAX_EVENT_NAME_BYTES`].
    #[error("event name is {len} bytes long; at most {max} are allowed")]
    EventNameTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The event data (as sent, so after encryption for encrypted channels) is larger than the
    /// client's limit ([`crate::ClientBuilder::max_data_bytes`], 10 KB by default).
    #[error("event data is {size} bytes{}; at most {max} are allowed", channel.as_ref().map(|c| format!(" for channel `{c}`")).unwrap_or_default())]
    DataTooLarge {
        /// The encrypted channel whose payload is too large, if it is one.
        channel: Option<ChannelName>,
        /// The data's size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The event data could not be serialized to JSON.
    #[error("event data cannot be serialized to JSON: {0}")]
    Serialize(String),
    /// An event for a `private-encrypted-` channel, but no encryption master key is set.
    #[error("channel `{0}` is private-encrypted, but no encryption master key is configured")]
    NoMasterKey(ChannelName),
    /// The payload could not be encrypted.
    #[error("the payload for `{0}` could not be encrypted")]
    Encryption(ChannelName),
    /// The operation only applies to presence channels.
    #[error("channel `{0}` is not a presence channel; only presence channels have users")]
    NotPresence(ChannelName),
    /// A user id that must appear in a channel name (`#server-to-user-{id}`) or a URL path
    /// (`/users/{id}/terminate_connections`) has characters outside `A-Z a-z 0-9 _ - = @ , . ;`
    /// or is too long.
    #[error("user id `{id}` cannot be used here: {reason}")]
    UserIdNotAddressable {
        /// A short prefix of the id.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A channel-name prefix for the channel list has characters no channel name has.
    #[error("filter_by_prefix may only contain A-Z a-z 0-9 _ - = @ , . ;")]
    InvalidPrefix,
    /// The request could not be signed.
    #[error(transparent)]
    Sign(#[from] RestSignError),
}

/// `body` as text, cut to at most [`MAX_ERROR_BODY`] bytes on a character boundary.
pub(crate) fn truncate_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.len() <= MAX_ERROR_BODY {
        return trimmed.to_owned();
    }
    let mut end = MAX_ERROR_BODY;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = trimmed.get(..end).unwrap_or_default().to_owned();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_body(b"  short\n"), "short");
        let long = "é".repeat(MAX_ERROR_BODY);
        let cut = truncate_body(long.as_bytes());
        assert!(cut.len() <= MAX_ERROR_BODY + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate_body(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn helpers_see_through_partial_failures() {
        let status = Error::Status {
            method: Method::POST,
            path: "/apps/1/events".into(),
            status: StatusCode::BAD_GATEWAY,
            body: "bad gateway".into(),
        };
        assert!(status.is_retryable());
        let partial = Error::Partial {
            completed: 1,
            total: 2,
            delivered_channels: vec![],
            delivered_events: 0,
            source: Box::new(status),
        };
        assert_eq!(partial.status(), Some(StatusCode::BAD_GATEWAY));
        assert!(!partial.is_retryable());
        assert!(!partial.is_timeout() && !partial.is_connection());
        let shown = partial.to_string();
        assert!(
            shown.contains("1 of 2") && shown.contains("HTTP 502"),
            "{shown}"
        );
        let invalid = Error::from(InvalidInput::DataTooLarge {
            channel: None,
            size: 20_000,
            max: 10_240,
        });
        assert!(invalid.is_invalid_input());
        assert_eq!(
            invalid.to_string(),
            "invalid Pusher request: event data is 20000 bytes; at most 10240 are allowed"
        );
    }
}
