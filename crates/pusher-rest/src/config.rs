//! Where the client sends its requests, and how.

use std::env::VarError;
use std::fmt;
use std::str::FromStr;
#[cfg(feature = "rustls")]
use std::sync::Arc;
use std::time::Duration;

use pusher_protocol::Credentials;

use crate::error::{ConfigError, Error};
use crate::Client;

/// The time one attempt may take unless [`ClientBuilder::timeout`] sets another: 5 seconds, as
/// the official Python and Go SDKs use. It covers connecting, sending and reading the whole
/// answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The time a connection may take to be established (TCP, the proxy's tunnel, the TLS
/// handshake) unless [`ClientBuilder::connect_timeout`] sets another: 2 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The time a whole operation may take, retries, waits and split requests included, unless
/// [`ClientBuilder::deadline`] sets another: 10 seconds (or the per-attempt timeout, if that
/// is longer).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// How many requests of one split operation are in flight at once unless
/// [`ClientBuilder::split_concurrency`] says otherwise: 4.
pub const DEFAULT_SPLIT_CONCURRENCY: usize = 4;

/// How long an idle keep-alive connection is kept for reuse unless
/// [`ClientBuilder::pool_idle_timeout`] says otherwise: 30 seconds, below the idle timeouts of
/// common servers and load balancers (nginx closes after 75 s), so that a connection is not
/// reused just as the server closes it.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest event `data`, in bytes, that the client sends unless
/// [`ClientBuilder::max_data_bytes`] says otherwise: Pusher's documented 10 KB.
pub const DEFAULT_MAX_DATA_BYTES: usize = 10 * 1024;

/// How many events one `batch_events` request carries unless [`ClientBuilder::batch_size`]
/// says otherwise: 10, Pusher's limit on its multi-tenant clusters.
pub const DEFAULT_BATCH_SIZE: usize = 10;

/// The default host: Pusher's `mt1` cluster.
pub const DEFAULT_HOST: &str = "api-mt1.pusher.com";

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, for a local or private server.
    Http,
    /// HTTPS (needs the `rustls` feature, on by default).
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The scheme's usual port: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = ConfigError;

    /// `http` or `https`, in any case.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        if s.eq_ignore_ascii_case("http") {
            Ok(Scheme::Http)
        } else if s.eq_ignore_ascii_case("https") {
            Ok(Scheme::Https)
        } else {
            Err(ConfigError::InvalidScheme(s.chars().take(16).collect()))
        }
    }
}

/// Which failed requests are sent again, and how long to wait in between. Off by default.
///
/// With retries on ([`RetryPolicy::new`]), a request is sent again when it is safe:
///
/// - the connection could not be established (name resolution, TCP, the proxy's tunnel, the
///   TLS handshake, the connect timeout): the request never left, so it cannot arrive twice;
/// - the server answered 429 (too many requests), or 503 (unavailable) with a `Retry-After`:
///   it refused the request without acting on it. The `Retry-After` (seconds or an HTTP date)
///   is honoured when it fits in the operation's deadline; otherwise the 429 or 503 is
///   returned at once;
/// - for read operations (`GET`: channel lists, channel info, presence users), also any other
///   5xx (a 503 without `Retry-After` included), a timeout, or a connection that broke after
///   the request was sent: reading twice does no harm.
///
/// A trigger (and every other `POST`: batches, events to users, terminating connections) whose
/// request reached the server is **not** sent again by default, even on a 500, a 502, a 503
/// without `Retry-After` or a connection reset: Pusher may already have delivered the event,
/// and it has no idempotency key, so a retry can deliver the event twice. A 503 without
/// `Retry-After` is among them because proxies answer it after forwarding the request (Envoy
/// and Istio do when the upstream connection resets).
/// [`RetryPolicy::retry_possibly_delivered`] turns those retries on where a duplicate is better
/// than a loss. 4xx answers (but 429) and invalid input are never retried. Every attempt is
/// signed afresh, and no wait goes past the operation's deadline ([`ClientBuilder::deadline`]).
///
/// ```
/// use std::time::Duration;
/// use pusher_rest::RetryPolicy;
///
/// let retry = RetryPolicy::new(3).initial_backoff(Duration::from_millis(50));
/// assert_eq!(retry.backoff(0), Duration::from_millis(50));
/// assert_eq!(retry.backoff(2), Duration::from_millis(200));
/// assert_eq!(RetryPolicy::new(20).backoff(19), Duration::from_secs(2)); // the default cap
/// assert!(!retry.retries_possibly_delivered());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    possibly_delivered: bool,
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        possibly_delivered: false,
    };

    /// Up to `max_retries` retries after the first attempt, waiting 100 ms, 200 ms, 400 ms, …
    /// (at most 2 s) between them, or what the server's `Retry-After` says.
    pub fn new(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..RetryPolicy::NONE
        }
    }

    /// The wait before the first retry (doubled for each later one).
    #[must_use]
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// The longest wait between two attempts (a server's `Retry-After` is not capped by it,
    /// only by the deadline).
    #[must_use]
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// Also retry a `POST` (a trigger) that may have reached the server: any 5xx (a 503 without
    /// `Retry-After` included), a timeout, a connection that broke after the request was sent.
    /// The event may then be delivered twice; turn this on only where a duplicate is better than
    /// a loss.
    #[must_use]
    pub fn retry_possibly_delivered(mut self, yes: bool) -> Self {
        self.possibly_delivered = yes;
        self
    }

    /// How many retries follow a failed first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Whether requests that may have been delivered are retried too.
    pub fn retries_possibly_delivered(&self) -> bool {
        self.possibly_delivered
    }

    /// The wait before retry number `retry` (0 for the first retry) when the server gave no
    /// `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

/// Which HTTP proxy, if any, the client goes through.
///
/// - [`Proxy::from_env`] (the default): `HTTPS_PROXY` for an `https` server, `HTTP_PROXY` for
///   an `http` one, `ALL_PROXY` for both, each also in lowercase (the uppercase name wins, as
///   in Go's HTTP client, reqwest and hyper-util; curl prefers the lowercase one), and
///   `NO_PROXY`/`no_proxy` to go direct to some hosts (comma-separated names, which match
///   their subdomains too, IP addresses, CIDR ranges, or `*`). As Go's HTTP client does, a
///   loopback server (`localhost`, `127.0.0.0/8`, `::1`; not names under `.localhost`) is
///   always reached directly, and when `REQUEST_METHOD` is set (a CGI program, where any
///   client can set `HTTP_PROXY` through a `Proxy:` request header, "httpoxy") neither
///   `HTTP_PROXY` nor `http_proxy` is read; `ALL_PROXY` and `HTTPS_PROXY` still are.
/// - [`Proxy::url`]: this proxy, for every server (loopback included), except the hosts of
///   [`Proxy::no_proxy`].
/// - [`Proxy::none`]: always direct.
///
/// The proxy is an `http://` URL, optionally with a user name and password
/// (`http://user:pass@proxy:3128`, sent as `Proxy-Authorization: Basic`; `/`, `?`, `#` and `@`
/// in them must be percent-encoded, and a value where they are not is refused rather than
/// misread). `Debug` output and errors show only the proxy's scheme, host and port. An `https` server is
/// reached through a `CONNECT` tunnel (TLS end to end: the proxy sees only the host name); an
/// `http` server through requests in absolute form (the proxy sees everything, signatures
/// included). Proxies spoken to over TLS (`https://`) and SOCKS proxies are not supported: such
/// a setting is a [`ConfigError::Proxy`] at build time, never silently ignored.
///
/// ```
/// use pusher_rest::{Client, Credentials, Proxy};
///
/// let credentials = Credentials::new("key", "secret")?.with_app_id("1")?;
/// let client = Client::builder(credentials)
///     .cluster("eu")
///     .proxy(Proxy::url("http://proxy.internal:3128").no_proxy("internal.example.com"))
///     .build()?;
/// assert_eq!(client.proxy_url().as_deref(), Some("http://proxy.internal:3128/"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Proxy {
    pub(crate) kind: ProxyKind,
}

#[derive(Clone, Default)]
pub(crate) enum ProxyKind {
    None,
    /// The process environment, read when the client is built.
    #[default]
    Env,
    /// Values read through [`ClientBuilder::from_vars`].
    Vars(ProxyVars),
    Url {
        url: String,
        no_proxy: String,
    },
}

/// The proxy variables, as read.
#[derive(Clone, Default)]
pub(crate) struct ProxyVars {
    pub(crate) http: String,
    pub(crate) https: String,
    pub(crate) all: String,
    pub(crate) no: String,
}

impl ProxyVars {
    /// Reads the proxy variables through `get`: the uppercase name first, then the lowercase
    /// one, as Go's HTTP client, reqwest and hyper-util do (curl prefers the lowercase one).
    /// In a CGI program (`REQUEST_METHOD` set), neither `HTTP_PROXY` nor `http_proxy` is read:
    /// a client's `Proxy:` request header reaches the program as `HTTP_PROXY` ("httpoxy"), and
    /// the two cannot be told apart where names ignore case.
    pub(crate) fn read(get: &impl Fn(&'static str) -> Result<String, VarError>) -> ProxyVars {
        let first = |names: &[&'static str]| {
            names
                .iter()
                .copied()
                .find_map(|n| get(n).ok().filter(|v| !v.trim().is_empty()))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let cgi = get("REQUEST_METHOD").is_ok();
        ProxyVars {
            http: if cgi {
                String::new()
            } else {
                first(&["HTTP_PROXY", "http_proxy"])
            },
            https: first(&["HTTPS_PROXY", "https_proxy"]),
            all: first(&["ALL_PROXY", "all_proxy"]),
            no: first(&["NO_PROXY", "no_proxy"]),
        }
    }
}

impl Proxy {
    /// Always connect directly.
    pub fn none() -> Proxy {
        Proxy {
            kind: ProxyKind::None,
        }
    }

    /// The proxy the environment names (the default; see [`Proxy`]), read when the client is
    /// built.
    pub fn from_env() -> Proxy {
        Proxy {
            kind: ProxyKind::Env,
        }
    }

    /// Every request goes through this `http://[user:password@]host:port` proxy (loopback
    /// servers too), except to the hosts of [`Proxy::no_proxy`].
    pub fn url(url: impl Into<String>) -> Proxy {
        Proxy {
            kind: ProxyKind::Url {
                url: url.into(),
                no_proxy: String::new(),
            },
        }
    }

    /// Hosts reached directly, in `NO_PROXY` syntax (comma-separated host names, which match
    /// their subdomains too, IP addresses, CIDR ranges, or `*`). Only for [`Proxy::url`].
    #[must_use]
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Proxy {
        if let ProxyKind::Url { no_proxy, .. } = &mut self.kind {
            *no_proxy = hosts.into();
        }
        self
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ProxyKind::None => f.write_str("Proxy::none()"),
            ProxyKind::Env => f.write_str("Proxy::from_env()"),
            ProxyKind::Vars(v) => f
                .debug_struct("Proxy::from_vars")
                .field("http", &shown_proxy(&v.http))
                .field("https", &shown_proxy(&v.https))
                .field("all", &shown_proxy(&v.all))
                .field("no_proxy", &v.no)
                .finish(),
            ProxyKind::Url { url, no_proxy } => f
                .debug_struct("Proxy::url")
                .field("url", &shown_proxy(url))
                .field("no_proxy", no_proxy)
                .finish(),
        }
    }
}

/// A proxy setting as it may be shown: its scheme and host (and port), nothing else, at most
/// 80 characters. Everything up to the last `@` is taken for the user name and password, since
/// a password written unescaped may hold `/`, `?`, `#`, `:` or `@`; a path, query or fragment
/// after the host is left out too. A value that does not parse is shown the same way.
pub(crate) fn shown_proxy(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            (Some(scheme), rest)
        }
        _ => (None, url),
    };
    let after_userinfo = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = after_userinfo
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let shown = match scheme {
        Some(scheme) => format!("{scheme}://{host}"),
        None => host.to_owned(),
    };
    shown.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// The TLS settings of a builder.
#[derive(Clone)]
pub(crate) struct TlsSettings {
    pub(crate) webpki_roots: bool,
    pub(crate) platform_roots: bool,
    pub(crate) extra_roots_pem: Vec<Vec<u8>>,
    #[cfg(feature = "rustls")]
    pub(crate) config: Option<Arc<rustls::ClientConfig>>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            webpki_roots: true,
            platform_roots: false,
            extra_roots_pem: Vec::new(),
            #[cfg(feature = "rustls")]
            config: None,
        }
    }
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Tls");
        d.field("webpki_roots", &self.webpki_roots)
            .field("platform_roots", &self.platform_roots)
            .field("extra_roots_pem", &self.extra_roots_pem.len());
        #[cfg(feature = "rustls")]
        d.field("custom_config", &self.config.is_some());
        d.finish()
    }
}

/// Builds a [`Client`].
///
/// The endpoint, in order of precedence: [`ClientBuilder::host`] (with [`port`](Self::port) and
/// [`scheme`](Self::scheme)), else [`ClientBuilder::cluster`] (`api-{cluster}.pusher.com`),
/// else [`DEFAULT_HOST`]. The scheme is `https` unless set, except for a loopback host
/// (`localhost`, `127.x.x.x`, `::1`), where it is `http`: a local sockudo, soketi or Reverb.
/// The port is the scheme's usual one unless set.
///
/// ```
/// use std::time::Duration;
/// use pusher_rest::{Client, Credentials, Scheme};
///
/// let credentials = Credentials::new("app-key", "app-secret")?.with_app_id("app-id")?;
///
/// // Pusher itself, on the eu cluster.
/// let pusher = Client::builder(credentials.clone()).cluster("eu").build()?;
/// assert_eq!(pusher.base_url(), "https://api-eu.pusher.com");
///
/// // A local sockudo, soketi or Reverb: plain http is the default for a loopback host.
/// let local = Client::builder(credentials.clone())
///     .host("127.0.0.1")
///     .port(6001)
///     .timeout(Duration::from_secs(2))
///     .build()?;
/// assert_eq!(local.base_url(), "http://127.0.0.1:6001");
///
/// // A private server behind TLS on a custom port.
/// let private = Client::builder(credentials).host("ws.example.com").port(8443).build()?;
/// assert_eq!(private.base_url(), "https://ws.example.com:8443");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    pub(crate) credentials: Credentials,
    pub(crate) host: Option<String>,
    pub(crate) cluster: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) scheme: Option<Scheme>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_data_bytes: usize,
    pub(crate) batch_size: usize,
    pub(crate) split_concurrency: usize,
    pub(crate) pool_idle_timeout: Option<Duration>,
    pub(crate) pool_max_idle_per_host: usize,
    pub(crate) proxy: Proxy,
    pub(crate) allow_plain_http: bool,
    pub(crate) tls: TlsSettings,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("host", &self.host)
            .field("cluster", &self.cluster)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("max_data_bytes", &self.max_data_bytes)
            .field("batch_size", &self.batch_size)
            .field("split_concurrency", &self.split_concurrency)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("proxy", &self.proxy)
            .field("allow_plain_http", &self.allow_plain_http)
            .field("tls", &self.tls)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder for `credentials`, which must carry the app id
    /// ([`Credentials::with_app_id`]).
    pub fn new(credentials: Credentials) -> Self {
        ClientBuilder {
            credentials,
            host: None,
            cluster: None,
            port: None,
            scheme: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            deadline: None,
            retry: RetryPolicy::NONE,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            batch_size: DEFAULT_BATCH_SIZE,
            split_concurrency: DEFAULT_SPLIT_CONCURRENCY,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            proxy: Proxy::default(),
            allow_plain_http: false,
            tls: TlsSettings::default(),
        }
    }

    /// A builder from a `PUSHER_URL`-style URL: `http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID`.
    ///
    /// ```
    /// use pusher_rest::ClientBuilder;
    ///
    /// let client = ClientBuilder::from_url("http://app-key:app-secret@127.0.0.1:6001/apps/app-id")?.build()?;
    /// assert_eq!((client.base_url(), client.app_id()), ("http://127.0.0.1:6001", "app-id"));
    /// # Ok::<(), pusher_rest::Error>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let credentials = Credentials::from_url(url).map_err(ConfigError::from)?;
        let (scheme, rest) = url.split_once("://").ok_or(ConfigError::Credentials(
            pusher_protocol::ConfigError::InvalidUrl("scheme must be http:// or https://"),
        ))?;
        let scheme: Scheme = scheme.parse()?;
        let authority = rest.split('/').next().unwrap_or_default();
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = split_host_port(host_port)?;
        let mut builder = ClientBuilder::new(credentials).host(host).scheme(scheme);
        if let Some(port) = port {
            builder = builder.port(port);
        }
        Ok(builder)
    }

    /// A builder from the environment variables the Pusher SDKs and Laravel use:
    ///
    /// - `PUSHER_URL` (`http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID`), or `PUSHER_APP_ID`,
    ///   `PUSHER_KEY` and `PUSHER_SECRET`;
    /// - then, to pick the server: `PUSHER_HOST` (with `PUSHER_PORT` and `PUSHER_SCHEME`,
    ///   both optional), or `PUSHER_CLUSTER`; neither means Pusher's `mt1` cluster;
    /// - `PUSHER_ENCRYPTION_MASTER_KEY_BASE64`, optional, for `private-encrypted-` channels;
    /// - the proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, and their
    ///   lowercase forms; see [`Proxy`]).
    ///
    /// A missing variable is an error naming it. Empty variables count as unset.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(std::env::var)
    }

    /// Like [`ClientBuilder::from_env`], reading variables through `get`, which answers as
    /// [`std::env::var`] does: the value, [`VarError::NotPresent`] for an unset variable,
    /// [`VarError::NotUnicode`] for one that is not valid Unicode.
    ///
    /// ```
    /// use std::env::VarError;
    /// use pusher_rest::{ClientBuilder, Error};
    ///
    /// let vars = [("PUSHER_APP_ID", "1"), ("PUSHER_KEY", "k"), ("PUSHER_SECRET", "s"), ("PUSHER_CLUSTER", "ap2")];
    /// let get = |name: &str| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).ok_or(VarError::NotPresent)
    /// };
    /// assert_eq!(ClientBuilder::from_vars(get)?.build()?.base_url(), "https://api-ap2.pusher.com");
    ///
    /// let missing = ClientBuilder::from_vars(|name| match name {
    ///     "PUSHER_APP_ID" | "PUSHER_KEY" => Ok("x".into()),
    ///     _ => Err(VarError::NotPresent),
    /// });
    /// assert!(missing.unwrap_err().to_string().contains("PUSHER_SECRET"));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_vars(
        get: impl Fn(&'static str) -> Result<String, VarError>,
    ) -> Result<Self, Error> {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name) {
                Err(VarError::NotPresent) => Ok(None),
                Ok(v) if v.trim().is_empty() => Ok(None),
                Ok(v) => Ok(Some(v.trim().to_owned())),
                Err(VarError::NotUnicode(_)) => {
                    Err(pusher_protocol::ConfigError::VariableNotUnicode(name).into())
                }
            }
        };
        let proxy = Proxy {
            kind: ProxyKind::Vars(ProxyVars::read(&get)),
        };
        Ok(Self::from_pusher_vars(var)?.proxy(proxy))
    }

    fn from_pusher_vars(
        var: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<Self, Error> {
        if let Some(url) = var("PUSHER_URL")? {
            let mut builder = ClientBuilder::from_url(&url)?;
            if let Some(master) = var("PUSHER_ENCRYPTION_MASTER_KEY_BASE64")? {
                builder.credentials = builder
                    .credentials
                    .with_encryption_master_key_base64(&master)
                    .map_err(ConfigError::from)?;
            }
            return Ok(builder);
        }
        let missing =
            |name| ConfigError::Credentials(pusher_protocol::ConfigError::MissingVariable(name));
        let app_id = var("PUSHER_APP_ID")?.ok_or_else(|| missing("PUSHER_APP_ID"))?;
        let key = var("PUSHER_KEY")?.ok_or_else(|| missing("PUSHER_KEY"))?;
        let secret = var("PUSHER_SECRET")?.ok_or_else(|| missing("PUSHER_SECRET"))?;
        let mut credentials = Credentials::new(key, secret)
            .and_then(|c| c.with_app_id(app_id))
            .map_err(ConfigError::from)?;
        if let Some(master) = var("PUSHER_ENCRYPTION_MASTER_KEY_BASE64")? {
            credentials = credentials
                .with_encryption_master_key_base64(&master)
                .map_err(ConfigError::from)?;
        }
        let mut builder = ClientBuilder::new(credentials);
        if let Some(host) = var("PUSHER_HOST")? {
            builder = builder.host(host);
            if let Some(port) = var("PUSHER_PORT")? {
                let port = parse_port(&port)?;
                builder = builder.port(port);
            }
            if let Some(scheme) = var("PUSHER_SCHEME")? {
                builder = builder.scheme(scheme.parse()?);
            }
        } else if let Some(cluster) = var("PUSHER_CLUSTER")? {
            builder = builder.cluster(cluster);
        }
        Ok(builder)
    }

    /// The server's host name or IP address (no scheme, no port): a sockudo, soketi or Reverb
    /// server, or a Pusher endpoint. Takes precedence over [`ClientBuilder::cluster`].
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// A Pusher cluster (`mt1`, `eu`, `us2`, `ap1`, …): the host `api-{cluster}.pusher.com`.
    pub fn cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// The port (default: 443 for https, 80 for http).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The scheme (default: https, or http for a loopback host).
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// The time one attempt may take: connecting, sending, and reading the whole answer
    /// ([`DEFAULT_TIMEOUT`] unless set). Each retry gets it afresh, within the
    /// [`deadline`](Self::deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time establishing a connection may take: TCP, the proxy's `CONNECT` tunnel, the TLS
    /// handshake ([`DEFAULT_CONNECT_TIMEOUT`] unless set; never more than the attempt's
    /// timeout). A connection that cannot be made in time is an [`Error::Connection`] with
    /// `never_sent: true`, which retries may send again.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time a whole operation may take, from the first poll of its future to its answer:
    /// every attempt, every wait between retries, every request of a split operation
    /// ([`DEFAULT_DEADLINE`] unless set, or the attempt [`timeout`](Self::timeout) if that is
    /// longer). An attempt still running at the deadline ends as [`Error::Timeout`] with
    /// `deadline: true`; a retry whose wait would end past it is not made, and the last error
    /// is returned at once.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Which failed requests are sent again; none unless set (see [`RetryPolicy`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The largest event `data`, in bytes as sent, that the client accepts
    /// ([`DEFAULT_MAX_DATA_BYTES`] unless set). Raise it for a dedicated Pusher cluster or a
    /// self-hosted server configured for larger events.
    pub fn max_data_bytes(mut self, max: usize) -> Self {
        self.max_data_bytes = max;
        self
    }

    /// How many events one `batch_events` request carries ([`DEFAULT_BATCH_SIZE`] unless set);
    /// larger batches are sent in several requests.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// How many requests of one split operation (a trigger on more than 100 channels or on
    /// several encrypted channels, a batch larger than the batch size) are in flight at once
    /// ([`DEFAULT_SPLIT_CONCURRENCY`] unless set). `1` sends them one after another. Batch
    /// requests that share a channel are always sent one after another, in order, so events on
    /// one channel keep their order.
    pub fn split_concurrency(mut self, requests: usize) -> Self {
        self.split_concurrency = requests;
        self
    }

    /// How long an idle keep-alive connection is kept for reuse ([`DEFAULT_POOL_IDLE_TIMEOUT`]
    /// unless set); `None` keeps it until the server closes it.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// How many idle connections to the server are kept for reuse (no limit unless set; `0`
    /// opens a new connection for every request).
    pub fn pool_max_idle_per_host(mut self, connections: usize) -> Self {
        self.pool_max_idle_per_host = connections;
        self
    }

    /// The HTTP proxy ([`Proxy::from_env`] unless set).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Acknowledges that requests to a server that is not on this machine (anything but
    /// `localhost`, `127.0.0.0/8` and `[::1]`), or to any server through a proxy, go over plain
    /// `http`, and silences the warning [`build`](Self::build) logs otherwise. Over plain
    /// HTTP, anyone on the path (the proxy too) can read the event data (except on
    /// `private-encrypted-` channels), the channel names and socket ids, and the request
    /// signatures, which a Pusher-protocol server accepts for ten minutes: enough to replay a
    /// trigger. Fine on a private network you trust (a sockudo beside the app in the same
    /// container network).
    pub fn allow_plain_http(mut self) -> Self {
        self.allow_plain_http = true;
        self
    }

    /// Whether the Mozilla root certificates compiled into the client (`webpki-roots`) are
    /// trusted (default: yes). Turn them off to trust only an internal CA
    /// ([`add_root_certificates_pem`](Self::add_root_certificates_pem)) or the platform's
    /// roots.
    #[cfg(feature = "rustls")]
    pub fn webpki_roots(mut self, trust: bool) -> Self {
        self.tls.webpki_roots = trust;
        self
    }

    /// Whether the operating system's trusted root certificates are trusted too (default: no),
    /// read when the client is built (`rustls-native-certs`: the system store on Linux, the
    /// keychain on macOS, the certificate store on Windows). Use it where a company installs
    /// its CA on every machine.
    ///
    /// [`build`](Self::build) then reads the store synchronously: files on Linux, calls into
    /// the keychain or the certificate store elsewhere, which can take tens of milliseconds or
    /// more. Build the client once, at start-up (or inside `tokio::task::spawn_blocking`), not
    /// in an async task per request; clones share it.
    #[cfg(feature = "platform-roots")]
    pub fn platform_roots(mut self, trust: bool) -> Self {
        self.tls.platform_roots = trust;
        self
    }

    /// Also trusts the CA certificates of `pem` (one or more `-----BEGIN CERTIFICATE-----`
    /// blocks, e.g. the contents of `ca.crt`): a self-hosted server behind an internal CA.
    /// Checked by [`build`](Self::build): PEM text without a certificate, or with one that
    /// cannot be parsed, is a [`ConfigError::Tls`], and so is PEM given beside
    /// [`tls_config`](Self::tls_config), which would leave it unused.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.tls.extra_roots_pem.push(pem.as_ref().to_vec());
        self
    }

    /// Uses this rustls configuration for `https` (client certificates, another crypto
    /// provider, a custom verifier such as `rustls-platform-verifier`), instead of the one the
    /// client builds from the root-certificate settings. Its roots are the configuration's
    /// own: combined with [`add_root_certificates_pem`](Self::add_root_certificates_pem),
    /// `platform_roots(true)` or [`webpki_roots(false)`](Self::webpki_roots), which it would
    /// leave unused (and a PEM unchecked), [`build`](Self::build) fails with a
    /// [`ConfigError::Tls`]. Its ALPN protocols are replaced: the client speaks HTTP/1.1.
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls.config = Some(Arc::new(config));
        self
    }

    /// Checks the configuration and builds the client (with its connection pool). It does not
    /// touch the network, and needs no runtime. It blocks only to read the platform's root
    /// certificates when `platform_roots` (feature `platform-roots`) asks for them (and the
    /// proxy variables of the environment, a quick read); build once and clone.
    pub fn build(self) -> Result<Client, Error> {
        Client::from_builder(self)
    }

    /// The endpoint this configuration names: scheme, host, port.
    pub(crate) fn endpoint(&self) -> Result<(Scheme, String, u16), ConfigError> {
        let host = match (&self.host, &self.cluster) {
            (Some(host), _) => {
                check_host(host)?;
                host.clone()
            }
            (None, Some(cluster)) => {
                if cluster.is_empty()
                    || !cluster
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(ConfigError::InvalidCluster(
                        cluster.chars().take(64).collect(),
                    ));
                }
                format!("api-{cluster}.pusher.com")
            }
            (None, None) => DEFAULT_HOST.to_owned(),
        };
        let scheme = self.scheme.unwrap_or(if is_loopback(&host) {
            Scheme::Http
        } else {
            Scheme::Https
        });
        let port = self.port.unwrap_or_else(|| scheme.default_port());
        if port == 0 {
            return Err(ConfigError::InvalidPort("0".into()));
        }
        if self.max_data_bytes == 0 {
            return Err(ConfigError::ZeroLimit("max_data_bytes"));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::ZeroLimit("batch_size"));
        }
        if self.split_concurrency == 0 {
            return Err(ConfigError::ZeroLimit("split_concurrency"));
        }
        #[cfg(feature = "rustls")]
        if self.tls.config.is_some() {
            let ignored = [
                (
                    !self.tls.extra_roots_pem.is_empty(),
                    "add_root_certificates_pem",
                ),
                (self.tls.platform_roots, "platform_roots(true)"),
                (!self.tls.webpki_roots, "webpki_roots(false)"),
            ];
            if let Some((_, setting)) = ignored.iter().find(|(set, _)| *set) {
                return Err(ConfigError::Tls(format!(
                    "tls_config replaces the root certificate settings, so {setting} would be \
                     ignored: put the roots into the rustls::ClientConfig given to tls_config"
                )));
            }
        }
        for (name, value) in [
            ("timeout", Some(self.timeout)),
            ("connect_timeout", Some(self.connect_timeout)),
            ("deadline", self.deadline),
        ] {
            if value == Some(Duration::ZERO) {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        Ok((scheme, host, port))
    }
}

fn parse_port(port: &str) -> Result<u16, ConfigError> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ConfigError::InvalidPort(port.chars().take(16).collect())),
    }
}

/// `host[:port]` or `[v6][:port]`.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), ConfigError> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| ConfigError::InvalidHost(s.chars().take(64).collect()))?;
        let host = format!("[{host}]");
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(parse_port(port)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(ConfigError::InvalidHost(s.chars().take(64).collect())),
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_owned(), Some(parse_port(port)?))),
        None => Ok((s.to_owned(), None)),
    }
}

/// A host name (letters, digits, `-`, `.`, `_`), an IPv4 address, or an IPv6 address in
/// brackets.
fn check_host(host: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::InvalidHost(host.chars().take(64).collect());
    if host.is_empty() || host.len() > 253 {
        return Err(bad());
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| bad());
    }
    if host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Whether `host` is this machine: `localhost` itself, an address of `127.0.0.0/8`, or `[::1]`,
/// literally. Names under `.localhost` are not trusted: a resolver may send them to DNS.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        return v4.is_loopback();
    }
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
        .is_some_and(|v6| v6.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn creds() -> Credentials {
        Credentials::new("k", "s")
            .unwrap()
            .with_app_id("7")
            .unwrap()
    }

    fn endpoint(b: ClientBuilder) -> (Scheme, String, u16) {
        b.endpoint().unwrap()
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint(ClientBuilder::new(creds())),
            (Scheme::Https, DEFAULT_HOST.into(), 443)
        );
        assert_eq!(
            endpoint(ClientBuilder::new(creds()).cluster("eu")),
            (Scheme::Https, "api-eu.pusher.com".into(), 443)
        );
        // The host wins over the cluster; a loopback host defaults to http.
        assert_eq!(
            endpoint(
                ClientBuilder::new(creds())
                    .cluster("eu")
                    .host("localhost")
                    .port(6001)
            ),
            (Scheme::Http, "localhost".into(), 6001)
        );
        assert_eq!(
            endpoint(ClientBuilder::new(creds()).host("[::1]")),
            (Scheme::Http, "[::1]".into(), 80)
        );
        assert_eq!(
            endpoint(
                ClientBuilder::new(creds())
                    .host("127.0.0.1")
                    .scheme(Scheme::Https)
            ),
            (Scheme::Https, "127.0.0.1".into(), 443)
        );
        assert_eq!(
            endpoint(ClientBuilder::new(creds()).host("10.0.0.1")),
            (Scheme::Https, "10.0.0.1".into(), 443)
        );
        // Only localhost itself, 127.0.0.0/8 and ::1 are this machine.
        assert_eq!(
            endpoint(ClientBuilder::new(creds()).host("app.localhost")),
            (Scheme::Https, "app.localhost".into(), 443)
        );
        for (host, loopback) in [
            ("LocalHost", true),
            ("127.1.2.3", true),
            ("[::1]", true),
            ("app.localhost", false),
            ("localhost.example.com", false),
            ("128.0.0.1", false),
        ] {
            assert_eq!(is_loopback(host), loopback, "{host}");
        }
        for bad in ["", "a b", "h/x", "h?x", "user@h", "[zz]", "h:80"] {
            assert!(
                matches!(
                    ClientBuilder::new(creds()).host(bad).endpoint(),
                    Err(ConfigError::InvalidHost(_))
                ),
                "{bad:?}"
            );
        }
        for bad in ["", "e u", "eu.x"] {
            assert!(matches!(
                ClientBuilder::new(creds()).cluster(bad).endpoint(),
                Err(ConfigError::InvalidCluster(_))
            ));
        }
        assert_eq!(
            ClientBuilder::new(creds()).port(0).endpoint(),
            Err(ConfigError::InvalidPort("0".into()))
        );
        assert_eq!(
            ClientBuilder::new(creds()).batch_size(0).endpoint(),
            Err(ConfigError::ZeroLimit("batch_size"))
        );
    }

    #[test]
    fn urls() {
        let b = ClientBuilder::from_url("http://k:s@127.0.0.1:6001/apps/42").unwrap();
        assert_eq!(
            endpoint(b.clone()),
            (Scheme::Http, "127.0.0.1".into(), 6001)
        );
        assert_eq!(b.credentials.app_id(), Some("42"));
        let b = ClientBuilder::from_url("https://k:s%40x@api-eu.pusher.com/apps/42").unwrap();
        assert_eq!(
            endpoint(b),
            (Scheme::Https, "api-eu.pusher.com".into(), 443)
        );
        let b = ClientBuilder::from_url("http://k:s@[::1]:6001/apps/42").unwrap();
        assert_eq!(endpoint(b), (Scheme::Http, "[::1]".into(), 6001));
        assert!(ClientBuilder::from_url("http://k:s@h:99999/apps/1").is_err());
        assert!(ClientBuilder::from_url("ftp://k:s@h/apps/1").is_err());
        assert!(ClientBuilder::from_url("http://h/apps/1").is_err());
    }

    fn vars(pairs: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Result<String, VarError> {
        let map: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        move |name| map.get(name).cloned().ok_or(VarError::NotPresent)
    }

    #[test]
    fn env() {
        let base = [
            ("PUSHER_APP_ID", "1"),
            ("PUSHER_KEY", "k"),
            ("PUSHER_SECRET", "s"),
        ];
        let b = ClientBuilder::from_vars(vars(&base)).unwrap();
        assert_eq!(endpoint(b), (Scheme::Https, DEFAULT_HOST.into(), 443));
        let mut local = base.to_vec();
        local.extend([
            ("PUSHER_HOST", "127.0.0.1"),
            ("PUSHER_PORT", "6001"),
            ("PUSHER_CLUSTER", "eu"),
        ]);
        let b = ClientBuilder::from_vars(vars(&local)).unwrap();
        assert_eq!(endpoint(b), (Scheme::Http, "127.0.0.1".into(), 6001));
        let mut tls = base.to_vec();
        tls.extend([
            ("PUSHER_HOST", "ws.example.com"),
            ("PUSHER_SCHEME", "HTTP"),
            ("PUSHER_PORT", "8080"),
        ]);
        let b = ClientBuilder::from_vars(vars(&tls)).unwrap();
        assert_eq!(endpoint(b), (Scheme::Http, "ws.example.com".into(), 8080));
        let mut master = base.to_vec();
        master.push((
            "PUSHER_ENCRYPTION_MASTER_KEY_BASE64",
            "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=",
        ));
        assert!(ClientBuilder::from_vars(vars(&master))
            .unwrap()
            .credentials
            .has_encryption_master_key());
        let url = [
            ("PUSHER_URL", "http://k:s@127.0.0.1:6001/apps/3"),
            (
                "PUSHER_ENCRYPTION_MASTER_KEY_BASE64",
                "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=",
            ),
        ];
        let b = ClientBuilder::from_vars(vars(&url)).unwrap();
        assert!(b.credentials.has_encryption_master_key());
        assert_eq!(b.credentials.app_id(), Some("3"));

        for (missing, pairs) in [
            ("PUSHER_APP_ID", &base[1..]),
            ("PUSHER_KEY", &[base[0], base[2]][..]),
            ("PUSHER_SECRET", &base[..2]),
        ] {
            let err = ClientBuilder::from_vars(vars(pairs)).unwrap_err();
            assert!(err.to_string().contains(missing), "{err}");
        }
        let mut bad_port = base.to_vec();
        bad_port.extend([("PUSHER_HOST", "h"), ("PUSHER_PORT", "x")]);
        assert!(matches!(
            ClientBuilder::from_vars(vars(&bad_port)),
            Err(Error::Config(ConfigError::InvalidPort(_)))
        ));
        let mut bad_scheme = base.to_vec();
        bad_scheme.extend([("PUSHER_HOST", "h"), ("PUSHER_SCHEME", "ws")]);
        assert!(matches!(
            ClientBuilder::from_vars(vars(&bad_scheme)),
            Err(Error::Config(ConfigError::InvalidScheme(_)))
        ));
        let not_unicode = ClientBuilder::from_vars(|n| {
            Err(if n == "PUSHER_URL" {
                VarError::NotUnicode("\u{fffd}".into())
            } else {
                VarError::NotPresent
            })
        });
        assert!(not_unicode.unwrap_err().to_string().contains("PUSHER_URL"));
    }

    #[test]
    fn proxy_values_are_shown_without_their_password() {
        for (value, shown) in [
            ("http://ada:pa55w0rd@proxy:3128", "http://proxy:3128"),
            ("http://ada:pa55/w0rd@proxy:3128", "http://proxy:3128"),
            ("http://ada:pa55@w0rd@proxy:3128/", "http://proxy:3128"),
            ("http://ada:pa55?w0rd#x@proxy:3128", "http://proxy:3128"),
            ("ada:pa55://w0rd@proxy:3128", "proxy:3128"),
            ("ada:pa55w0rd@proxy:3128", "proxy:3128"),
            ("http://proxy:3128/path?pa55w0rd", "http://proxy:3128"),
            (" http://proxy:3128 ", "http://proxy:3128"),
            ("http://proxy\r\n:3128", "http://proxy:3128"),
            ("", ""),
        ] {
            assert_eq!(shown_proxy(value), shown, "{value:?}");
        }
        let debug = format!("{:?}", Proxy::url("http://ada:pa55/w0rd@proxy:3128"));
        assert!(
            !debug.contains("pa55") && !debug.contains("w0rd"),
            "{debug}"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let r = RetryPolicy::new(5)
            .initial_backoff(Duration::from_millis(10))
            .max_backoff(Duration::from_millis(35));
        let waits: Vec<_> = (0..5).map(|i| r.backoff(i).as_millis()).collect();
        assert_eq!(waits, [10, 20, 35, 35, 35]);
        assert_eq!(
            RetryPolicy::new(1).backoff(u32::MAX),
            Duration::from_secs(2)
        );
        assert_eq!(RetryPolicy::default(), RetryPolicy::NONE);
    }
}
