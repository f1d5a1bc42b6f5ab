//! The one error type of the client.

use std::time::Duration;

use http::{Method, StatusCode};
use pusher_protocol::rest::RestSignError;
use pusher_protocol::{ChannelName, NameError};

/// At most this many bytes of a server's error body are kept in [`Error::Status`] (and of
/// [`Error::Decode`]'s reason).
pub const MAX_ERROR_BODY: usize = 1024;

/// At most this many bytes of a non-2xx answer are read (64 KiB); the rest is left unread and
/// the connection closed.
pub(crate) const MAX_ERROR_READ: usize = 64 * 1024;

/// Everything that can go wrong, from building the client to reading an answer.
///
/// Input errors ([`Error::InvalidInput`]) are found before anything is sent; the others say
/// what happened on the wire. No variant carries the app secret, the master key or a request
/// signature: a server's answer that quotes the request (its line, its query string) is
/// redacted before it is kept. Text a server chose ([`Error::Status`]'s body, [`Error::Decode`]'s
/// reason, which may quote the answer) is also cut to [`MAX_ERROR_BODY`] bytes and has its
/// control characters replaced, so that it can go into a log line as is.
///
/// Every variant with fields is `#[non_exhaustive]`: match them with `..`, so that a field
/// added later does not break your code.
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
    #[non_exhaustive]
    Status {
        /// The request method.
        method: Method,
        /// The request path (without the signed query string).
        path: String,
        /// The status.
        status: StatusCode,
        /// The server's message: the first 64 KiB of the body (no more is read) as text, with
        /// any echo of the request's query string (which holds the signature) replaced by
        /// `<redacted>`, line breaks replaced by spaces and other control characters by U+FFFD,
        /// cut to [`MAX_ERROR_BODY`] bytes (ending in `…` when anything was left out).
        body: String,
        /// The server's `Retry-After` (seconds or an HTTP date), if it sent one.
        retry_after: Option<Duration>,
    },
    /// No complete answer arrived in time: within the per-attempt timeout
    /// ([`crate::ClientBuilder::timeout`]), or before the operation's deadline
    /// ([`crate::ClientBuilder::deadline`]) ran out; `deadline` says which.
    #[error("{method} {path} timed out after {timeout:?}{}", if *deadline { " (the operation's deadline)" } else { "" })]
    #[non_exhaustive]
    Timeout {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The limit that ran out: the attempt's timeout, or the operation's deadline when
        /// `deadline` is `true`.
        timeout: Duration,
        /// `true` when the operation's deadline ran out (during an attempt it had cut short,
        /// or before an attempt or a request of a split operation could start); `false` when
        /// one attempt used up its whole timeout.
        deadline: bool,
    },
    /// The connection could not be made, or broke before the answer was read.
    #[error("{method} {path} failed{}: {}", if *never_sent { " to connect (nothing was sent)" } else { "" }, Chain(source.as_ref()))]
    #[non_exhaustive]
    Connection {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// `true` when no connection could be established (name resolution, TCP, the proxy's
        /// tunnel, the TLS handshake, or the connect timeout): the request never left, so
        /// sending it again cannot deliver it twice. `false` when the connection broke later,
        /// and the server may have acted on the request.
        never_sent: bool,
        /// The transport's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request was polled outside a Tokio runtime (the client's connections and timers
    /// run on Tokio); nothing was sent. Call it from code that runs on a Tokio runtime, such
    /// as an axum, actix-web or Rocket handler, or `#[tokio::main]`.
    ///
    /// A runtime built without its time or IO driver (a `tokio::runtime::Builder` without
    /// `enable_all()`, `enable_time()` or `enable_io()`) is not detected: Tokio panics when the
    /// request starts its timer or its connection.
    #[error("{method} {path} was not sent: the Pusher client needs a Tokio runtime, and none is running")]
    #[non_exhaustive]
    NoRuntime {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
    },
    /// The server answered 2xx with a body that is not the expected JSON, or one larger than
    /// the operation reads: 16 MiB for the channel list, 256 KiB for every other operation.
    /// The server did act on the request.
    #[error("{method} {path}: cannot decode the answer: {reason}")]
    #[non_exhaustive]
    Decode {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// What did not match. It may quote the answer: that text is redacted, has its
        /// control characters replaced and is cut to [`MAX_ERROR_BODY`] bytes, as
        /// [`Error::Status`]'s body is.
        reason: String,
    },
    /// An operation that needs several requests (more than 100 channels, encrypted channels
    /// mixed with others, batches of more than the batch size) failed part way. Each of its
    /// requests, and so each of its channels (a trigger) or events (a batch), was delivered,
    /// possibly delivered, or not delivered: [`PartialDelivery`] lists them, with the error of
    /// every request that failed.
    ///
    /// When no request was delivered nor possibly delivered (so the whole operation may be
    /// sent again), or the operation needed one request only, the error is not `Partial` but
    /// the failed request's own error (the first, in the order of the requests).
    #[error("{completed} of {total} requests were delivered, {possibly_delivered} possibly, {} not: {source}{}",
        total.saturating_sub(completed + possibly_delivered),
        if delivery.other_errors.is_empty() { String::new() } else { format!(" (and {} more failed)", delivery.other_errors.len()) })]
    #[non_exhaustive]
    Partial {
        /// How many requests were delivered.
        completed: usize,
        /// How many requests were possibly delivered.
        possibly_delivered: usize,
        /// How many requests the operation needed.
        total: usize,
        /// The error of the first request to fail, in the order the requests were made.
        #[source]
        source: Box<Error>,
        /// Which channels or events were delivered, possibly delivered or not, and the errors
        /// of the other failed requests.
        delivery: Box<PartialDelivery>,
    },
}

/// What became of each channel (a trigger) or event (a batch) of an operation that failed part
/// way ([`Error::Partial`]). Each is in exactly one of three lists:
///
/// - **delivered**: its request was answered 2xx;
/// - **possibly delivered**: the server may have acted on its request without the client
///   learning so: no answer in time ([`Error::Timeout`]), a connection that broke after
///   sending, a 5xx (but a 503 with `Retry-After`), a 2xx answer that could not be read
///   ([`Error::Decode`]); or an earlier attempt of it (with
///   [`crate::RetryPolicy::retry_possibly_delivered`]) was one of these. Sending these again may
///   deliver them twice;
/// - **not delivered**: its request was refused (a 4xx, 429 included, or a 503 with
///   `Retry-After`), could not connect, or never started: after the first failure no further
///   request starts (those in flight finish). Sending these again is safe.
///
/// A trigger fills the `*_channels` lists (in the order of its channel list), a batch the
/// `*_events` lists (positions in the batch, 0-based, ascending); the others stay empty.
#[derive(Debug)]
#[non_exhaustive]
pub struct PartialDelivery {
    /// The channels of the delivered requests.
    pub delivered_channels: Vec<ChannelName>,
    /// The positions of the delivered events.
    pub delivered_events: Vec<usize>,
    /// The channels of the requests possibly delivered.
    pub possibly_delivered_channels: Vec<ChannelName>,
    /// The positions of the events possibly delivered.
    pub possibly_delivered_events: Vec<usize>,
    /// The channels of the requests not delivered.
    pub not_delivered_channels: Vec<ChannelName>,
    /// The positions of the events not delivered.
    pub not_delivered_events: Vec<usize>,
    /// The errors of the failed requests after the first ([`Error::Partial`]'s `source`), in
    /// the order the requests were made: several may fail at once, since the requests go out
    /// concurrently.
    pub other_errors: Vec<Error>,
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

    pub(crate) fn connection(
        method: &Method,
        path: &str,
        never_sent: bool,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Error {
        Error::Connection {
            method: method.clone(),
            path: path.to_owned(),
            never_sent,
            source,
        }
    }

    pub(crate) fn timeout(method: &Method, path: &str, timeout: Duration, deadline: bool) -> Error {
        Error::Timeout {
            method: method.clone(),
            path: path.to_owned(),
            timeout,
            deadline,
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
    /// A timeout or deadline was set to zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
    /// The proxy setting (explicit, or from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`) cannot be
    /// used. The message shows no more of it than its scheme, host and port (never a user name
    /// or password, nor a path).
    #[error("proxy: {0}")]
    Proxy(String),
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
    #[non_exhaustive]
    EventNameTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The event data (as sent, so after encryption for encrypted channels) is larger than the
    /// client's limit ([`crate::ClientBuilder::max_data_bytes`], 10 KB by default).
    #[error("event data is {size} bytes{}; at most {max} are allowed", channel.as_ref().map(|c| format!(" for channel `{c}`")).unwrap_or_default())]
    #[non_exhaustive]
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
    #[non_exhaustive]
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
    /// A typed channel definition (`Client::publish`) did not give a channel name or an event
    /// (its parameters do not fit its pattern, or its event type does not serialize as
    /// `{"event": name, "data": payload}`).
    #[error(transparent)]
    Channel(#[from] pusher_protocol::channel::ChannelError),
}

/// An error and its sources, `: `-separated: hyper's own message ("client error (Connect)")
/// says little without the cause under it (a refused tunnel, an unknown certificate issuer).
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// What replaces a redacted query string or signature.
pub(crate) const REDACTED: &str = "<redacted>";

/// A server's error body as text, safe to keep in an [`Error`] and to log (see
/// [`error_text`]). `cut` says the body was longer than what was read ([`MAX_ERROR_READ`]).
pub(crate) fn error_body(body: &[u8], signature: &str, cut: bool) -> String {
    error_text(&String::from_utf8_lossy(body), signature, cut)
}

/// Text a server chose (an error body, a decoding error that quotes the answer), safe to keep
/// in an [`Error`] and to log:
///
/// 1. at most [`MAX_ERROR_READ`] bytes of it are looked at; when the text was cut there (or
///    before, `cut`), its last run of query-string characters is dropped, since it may be the
///    start of a signature or of a parameter name that redaction would no longer recognise;
/// 2. every echo of the request's query string (which carries `auth_signature`) is replaced by
///    `<redacted>`, in one pass over the text;
/// 3. control characters are replaced (line breaks by a space, the others by U+FFFD), so that
///    the text cannot forge or break a log line;
/// 4. the text is cut to at most [`MAX_ERROR_BODY`] bytes on a character boundary, ending in
///    `…` when anything was left out.
///
/// Redaction does not depend on the echo being exact: the signature itself is removed wherever
/// it appears, and so is any run of query-string characters (from a `?`, `%3F` or `\u003f`)
/// that mentions one of the signed parameters (`auth_key`, `auth_signature`,
/// `auth_timestamp`, `auth_version`, `body_md5`), in any case, percent-encoded or
/// JSON-escaped.
pub(crate) fn error_text(text: &str, signature: &str, cut: bool) -> String {
    let mut text = text;
    let mut cut = cut;
    if text.len() > MAX_ERROR_READ {
        text = text
            .get(..floor_char_boundary(text, MAX_ERROR_READ))
            .unwrap_or_default();
        cut = true;
    }
    if cut {
        text = text.trim_end_matches(|c: char| c.is_ascii() && is_query_byte(c as u8));
    }
    let redacted = redact(text, signature, &mut 0);
    truncate(&without_controls(redacted.trim()), cut)
}

/// The parameters the signature adds to every query string.
const SIGNED_PARAMS: [&str; 5] = [
    "auth_key",
    "auth_signature",
    "auth_timestamp",
    "auth_version",
    "body_md5",
];

/// Replaces each run of query-string characters that names a signed parameter, and each
/// occurrence of `signature`, by `<redacted>`. One pass: the text is lowercased once (ASCII
/// only, so byte offsets stay those of `text`), and every byte is looked at a bounded number of
/// times; `work` counts those looks.
///
/// Offsets are byte offsets. Every query-string character is ASCII, and no byte of a
/// multi-byte UTF-8 character is, so the edges of a run always fall on character boundaries.
fn redact(text: &str, signature: &str, work: &mut usize) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    *work += bytes.len();
    let mut out = String::with_capacity(text.len());
    // `text[..kept]` is dealt with.
    let mut kept = 0;
    let mut at = 0;
    while at < bytes.len() {
        *work += 1;
        let rest = bytes.get(at..).unwrap_or_default();
        let names_a_param = matches!(rest.first(), Some(b'a' | b'b'))
            && SIGNED_PARAMS.iter().any(|p| rest.starts_with(p.as_bytes()));
        if !names_a_param {
            at += 1;
            continue;
        }
        // The run of query characters around the name: back to a `?` (also escaped as `%3F`
        // or `\u003f`) or the first character that cannot be in a query, forward to the next
        // such character. Both scans stay within `kept..` and end where the next search
        // starts, so no byte is scanned twice by them.
        let before = bytes.get(kept..at).unwrap_or_default();
        let run = before
            .iter()
            .rposition(|&b| b == b'?' || !is_query_byte(b))
            .map_or(0, |i| i + 1);
        *work += before.len() - run;
        let in_run = before.get(run..).unwrap_or_default();
        let escaped = [&b"%3f"[..], &b"\\u003f"[..]]
            .iter()
            .filter_map(|q| {
                *work += in_run.len();
                rfind(in_run, q).map(|i| i + q.len())
            })
            .max()
            .unwrap_or(0);
        let start = kept + run + escaped;
        let end = at
            + rest
                .iter()
                .position(|&b| !is_query_byte(b))
                .unwrap_or(rest.len());
        *work += end - at;
        out.push_str(text.get(kept..start).unwrap_or_default());
        out.push_str(REDACTED);
        kept = end;
        at = end;
    }
    out.push_str(text.get(kept..).unwrap_or_default());
    if signature.is_empty() {
        out
    } else {
        *work += out.len();
        out.replace(signature, REDACTED)
    }
}

/// The position of the last `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Bytes that may appear in an echoed query string: RFC 3986 query characters, and `\\` for
/// JSON escapes such as `\u0026`. All ASCII.
fn is_query_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'\\'
        )
}

/// `text` with its control characters replaced: line breaks (CR, LF, and the Unicode line and
/// paragraph separators) by a space, the other C0 and C1 controls and DEL by U+FFFD. Tabs stay.
fn without_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => c,
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// The largest character boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// `text` cut to at most [`MAX_ERROR_BODY`] bytes on a character boundary, ending in `…`
/// (counted in the limit) when cut here or before (`cut`).
fn truncate(text: &str, cut: bool) -> String {
    if text.len() <= MAX_ERROR_BODY && !cut {
        return text.to_owned();
    }
    let end = floor_char_boundary(text, MAX_ERROR_BODY - '…'.len_utf8());
    let mut out = text.get(..end).unwrap_or_default().to_owned();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_on_a_character_boundary() {
        assert_eq!(error_body(b"  short\n", "sig", false), "short");
        let long = "é".repeat(MAX_ERROR_BODY);
        let cut = error_body(long.as_bytes(), "sig", false);
        assert!(cut.len() <= MAX_ERROR_BODY, "{} bytes", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(error_body(&[0xff, b'a'], "sig", false), "\u{fffd}a");
    }

    #[test]
    fn echoed_query_strings_and_signatures_are_redacted() {
        let sig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let query = format!(
            "auth_key=k&auth_timestamp=1&auth_version=1.0&body_md5=00ff&auth_signature={sig}"
        );
        for (echo, keep) in [
            (
                format!("bad request: POST /apps/1/events?{query} HTTP/1.1"),
                "POST /apps/1/events?",
            ),
            (
                format!(
                    "{{\"url\":\"/apps/1/events?{}\"}}",
                    query.replace('&', "\\u0026")
                ),
                "/apps/1/events?",
            ),
            (format!("signature {sig} is wrong"), "signature"),
            (format!("got AUTH_SIGNATURE={} (cut", &sig[..20]), "got "),
            (
                format!("/apps/1/channels%3F{}", query.replace('&', "%26")),
                "/apps/1/channels",
            ),
            ("expected body_md5=abc".to_owned(), "expected "),
        ] {
            let shown = error_body(echo.as_bytes(), sig, false);
            assert!(!shown.contains(&sig[..16]), "{shown}");
            assert!(!shown.to_ascii_lowercase().contains("auth_"), "{shown}");
            assert!(!shown.contains("body_md5"), "{shown}");
            assert!(shown.contains(REDACTED) && shown.contains(keep), "{shown}");
        }
        // Text that names no signed parameter is kept.
        for kept in [
            r#"{"error":"Unknown app?"}"#,
            r#"{"error":"Invalid API signature","code":"auth_failed"}"#,
        ] {
            assert_eq!(error_body(kept.as_bytes(), sig, false), kept);
        }
        // Redaction comes before the cut: a signature across the cut never shows in part.
        let long = format!("{}?auth_signature={sig}", "x".repeat(MAX_ERROR_BODY - 30));
        let shown = error_body(long.as_bytes(), sig, false);
        assert!(!shown.contains(&sig[..8]), "{shown}");
    }

    /// The bytes redaction looks at grow linearly with the body, whatever it holds: a body of
    /// signed-parameter names, each its own token, costs a few passes over it, not one pass
    /// per name.
    #[test]
    fn redaction_work_is_linear_in_the_body() {
        let sig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for unit in [
            "auth_key ",
            "x?auth_signature=1\n",
            "é«body_md5»",
            "AUTH_VERSION\\u003f",
            "auth_key=1&auth_timestamp ",
            "a",
        ] {
            let mut costs = Vec::new();
            for len in [MAX_ERROR_READ / 4, MAX_ERROR_READ] {
                let body = unit.repeat(len / unit.len());
                let mut work = 0;
                let shown = redact(&body, sig, &mut work);
                assert!(shown.len() <= body.len() + REDACTED.len() * body.len() / 4);
                assert!(
                    work <= 16 * body.len(),
                    "{unit:?} x {}: {work} steps for {} bytes",
                    len / unit.len(),
                    body.len()
                );
                costs.push(work);
            }
            // Four times the body, at most about four times the work.
            assert!(costs[1] <= 5 * costs[0], "{unit:?}: {costs:?}");
        }
    }

    /// A body cut where it was read may end inside a signature or a parameter name that
    /// redaction no longer recognises: its last run of query characters is dropped.
    #[test]
    fn a_body_cut_mid_echo_shows_no_part_of_it() {
        let sig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for tail in [&sig[..40], "auth_sig", "x?auth_ke"] {
            let body = format!("{} {tail}", REDACTED.repeat(10));
            let shown = error_body(body.as_bytes(), sig, true);
            assert!(!shown.contains(tail), "{shown}");
            assert!(shown.ends_with('…'), "{shown}");
        }
        // Past MAX_ERROR_READ, text is cut the same way.
        let long = format!(
            "?auth_key={} signature {sig}",
            "k".repeat(MAX_ERROR_READ - 30)
        );
        let shown = error_text(&long, "not this one", false);
        assert!(!shown.contains("0123"), "{shown}");
    }

    #[test]
    fn text_before_an_echo_survives_multibyte_characters() {
        assert_eq!(
            error_body("valeur «auth_key=1» refusée".as_bytes(), "sig", false),
            "valeur «<redacted>» refusée"
        );
        assert_eq!(
            error_body("日本語auth_signature=abc".as_bytes(), "sig", false),
            "日本語<redacted>"
        );
    }

    #[test]
    fn control_characters_never_reach_a_log_line() {
        let shown = error_body(
            b"bad request\r\nWARN forged log line\x1b[31m red\x7f\tend\n",
            "sig",
            false,
        );
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\t'),
            "{shown:?}"
        );
        assert!(
            shown.contains("forged log line") && shown.contains("\tend"),
            "{shown:?}"
        );
    }

    /// An error stays small: a `Result<T, Error>` is returned by every operation.
    #[test]
    fn errors_are_small() {
        assert!(
            std::mem::size_of::<Error>() <= 128,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn helpers_see_through_partial_failures() {
        let status = Error::Status {
            method: Method::POST,
            path: "/apps/1/events".into(),
            status: StatusCode::BAD_GATEWAY,
            body: "bad gateway".into(),
            retry_after: None,
        };
        let partial = Error::Partial {
            completed: 1,
            possibly_delivered: 1,
            total: 3,
            source: Box::new(status),
            delivery: Box::new(PartialDelivery {
                delivered_channels: vec![],
                delivered_events: vec![0],
                possibly_delivered_channels: vec![],
                possibly_delivered_events: vec![1],
                not_delivered_channels: vec![],
                not_delivered_events: vec![2],
                other_errors: vec![Error::timeout(
                    &Method::POST,
                    "/apps/1/batch_events",
                    Duration::from_secs(5),
                    false,
                )],
            }),
        };
        assert_eq!(partial.status(), Some(StatusCode::BAD_GATEWAY));
        assert!(!partial.is_timeout() && !partial.is_connection());
        let shown = partial.to_string();
        assert!(
            shown.starts_with("1 of 3 requests were delivered, 1 possibly, 1 not: ")
                && shown.contains("HTTP 502")
                && shown.ends_with(" (and 1 more failed)"),
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
