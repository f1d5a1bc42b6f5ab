//! Where the client sends its requests, and how.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use pusher_protocol::Credentials;

use crate::error::{ConfigError, Error};
use crate::Client;

/// The request timeout used unless [`ClientBuilder::timeout`] sets another: 5 seconds, as the
/// official Python and Go SDKs use. It covers connecting, sending and reading the whole answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Retries on connection failures and 5xx answers, with exponential backoff. Off by default.
///
/// Triggers are not idempotent: a request that failed with a 5xx or a broken connection may
/// still have been delivered, and retrying it may deliver the event twice. Turn retries on
/// where a duplicate is better than a loss. Timeouts are never retried (the request may be in
/// progress), nor are 4xx answers or invalid input. Every attempt is signed afresh.
///
/// ```
/// use std::time::Duration;
/// use pusher_rest::RetryPolicy;
///
/// let retry = RetryPolicy::new(3).initial_backoff(Duration::from_millis(50));
/// assert_eq!(retry.backoff(0), Duration::from_millis(50));
/// assert_eq!(retry.backoff(2), Duration::from_millis(200));
/// assert_eq!(RetryPolicy::new(20).backoff(19), Duration::from_secs(2)); // the default cap
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
    };

    /// Up to `max_retries` retries after the first attempt, waiting 100 ms, 200 ms, 400 ms, …
    /// (at most 2 s) between them.
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

    /// The longest wait between two attempts.
    #[must_use]
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// How many retries follow a failed first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retry` (0 for the first retry).
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
    pub(crate) retry: RetryPolicy,
    pub(crate) max_data_bytes: usize,
    pub(crate) batch_size: usize,
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
            .field("retry", &self.retry)
            .field("max_data_bytes", &self.max_data_bytes)
            .field("batch_size", &self.batch_size)
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
            retry: RetryPolicy::NONE,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            batch_size: DEFAULT_BATCH_SIZE,
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
    /// - `PUSHER_ENCRYPTION_MASTER_KEY_BASE64`, optional, for `private-encrypted-` channels.
    ///
    /// A missing variable is an error naming it. Empty variables count as unset.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var_os(name).map(|v| v.into_string().map_err(|_| ())))
    }

    /// Like [`ClientBuilder::from_env`], reading variables through `get` (`None` for an unset
    /// variable, `Some(Err(()))` for one that is not valid Unicode).
    ///
    /// ```
    /// use pusher_rest::{ClientBuilder, ConfigError, Error};
    ///
    /// let vars = [("PUSHER_APP_ID", "1"), ("PUSHER_KEY", "k"), ("PUSHER_SECRET", "s"), ("PUSHER_CLUSTER", "ap2")];
    /// let get = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| Ok(v.to_string()));
    /// assert_eq!(ClientBuilder::from_vars(get)?.build()?.base_url(), "https://api-ap2.pusher.com");
    ///
    /// let missing = ClientBuilder::from_vars(|name| match name {
    ///     "PUSHER_APP_ID" | "PUSHER_KEY" => Some(Ok("x".into())),
    ///     _ => None,
    /// });
    /// assert!(missing.unwrap_err().to_string().contains("PUSHER_SECRET"));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_vars(
        get: impl Fn(&'static str) -> Option<Result<String, ()>>,
    ) -> Result<Self, Error> {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(Ok(v)) if v.trim().is_empty() => Ok(None),
                Some(Ok(v)) => Ok(Some(v.trim().to_owned())),
                Some(Err(())) => Err(pusher_protocol::ConfigError::VariableNotUnicode(name).into()),
            }
        };
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

    /// The time one request may take, connection included ([`DEFAULT_TIMEOUT`] unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries on connection failures and 5xx answers; off unless set (see [`RetryPolicy`]).
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
    /// larger batches are sent in several requests, in order.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// Checks the configuration and builds the client (with its connection pool).
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

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
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

    fn vars(pairs: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Option<Result<String, ()>> {
        let map: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        move |name| map.get(name).cloned().map(Ok)
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
        let not_unicode = ClientBuilder::from_vars(|n| (n == "PUSHER_URL").then_some(Err(())));
        assert!(not_unicode.unwrap_err().to_string().contains("PUSHER_URL"));
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
