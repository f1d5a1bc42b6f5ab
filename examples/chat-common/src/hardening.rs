//! What the chat examples do against abuse, the same under every framework: per-address rate
//! limits on the login and the auth endpoints, the client's address behind a trusted load
//! balancer, the page's content security policy, and the re-check of the session once an
//! auth request's body has been read. Each example wires these into its framework (a
//! middleware, a request guard) in a few lines.
//!
//! # Rate limits
//!
//! `CHAT_LOGIN_PER_MINUTE` (default 10) logins and `CHAT_AUTH_PER_MINUTE` (default 600)
//! authorizations (channel and sign-in, on every auth path) per client address and minute,
//! each with a burst of the whole minute's worth; `0` turns a limit off. Past it: 429
//! `too_many_requests` with `Retry-After`. IPv6 clients are counted by their /64.
//!
//! Why these numbers: a flood of logins evicts the least recently used session once it passes
//! `CHAT_MAX_SESSIONS` (100,000 by default) in an in-memory store. At 10 logins a minute, one
//! address needs `CHAT_MAX_SESSIONS / 10` minutes (about 7 days at the defaults, the session
//! idle time) to evict anyone: a flood needs thousands of addresses, which the load balancer or
//! a firewall is the place to stop. pusher-js authorizes every channel again on each
//! reconnect, and users behind one NAT share an address, so the auth limit is generous.
//!
//! # The client's address
//!
//! `CHAT_TRUST_HOPS` (default 0): with 0, the address is the connection's peer, and
//! `X-Forwarded-For` is ignored (a client could write anything there). Behind a load balancer
//! that writes the header, set it to the number of proxies in front of the app: the client is
//! then that many entries from the right of `X-Forwarded-For` (`deploy/nginx.conf` replaces the
//! header with the address it sees, so 1). The app must then be reachable only through them.
//! Left at 0 behind a proxy, every client has the proxy's address, and each per-address limit
//! becomes one limit for everyone: the app warns once when a request from a loopback peer
//! carries `X-Forwarded-For` while no hop is trusted.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use pusher_auth::authorizer::BoxError;
use pusher_auth::{Authorizer, ChannelDecision, ChannelRequest, SigninDecision, SigninRequest};

use crate::{BoxFuture, ChatUser, ConfigError};

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// `POST /login`.
    Login,
    /// The auth endpoints (channel authorization and sign-in, every path).
    Auth,
}

impl Limited {
    /// The limit a request to `path` counts against, if any (`POST` only: the caller checks the
    /// method).
    pub fn of_path(path: &str) -> Option<Limited> {
        match path {
            "/login" => Some(Limited::Login),
            "/channels/authorize"
            | "/channels/user-auth"
            | "/broadcasting/auth"
            | "/broadcasting/user-auth" => Some(Limited::Auth),
            _ => None,
        }
    }
}

/// A refused request: come back after this long (`Retry-After`, in whole seconds, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany {
    /// When the next request from this address will be admitted.
    pub retry_after: Duration,
}

impl TooMany {
    /// The `Retry-After` value, in whole seconds (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs() + 1
    }

    /// The JSON body of the 429: `{"error":{"code":"too_many_requests"}}`.
    pub const BODY: &'static str = r#"{"error":{"code":"too_many_requests"}}"#;
}

struct Limit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl Limit {
    fn per_minute(n: u32) -> Option<Limit> {
        let n = NonZeroU32::new(n)?;
        Some(Limit {
            limiter: RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)),
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, client: IpAddr) -> Result<(), TooMany> {
        // Forget addresses whose bucket is full again, now and then, so that the map holds
        // only the addresses of the last minute or so.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| TooMany {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }
}

/// The per-address limits and how to find the address: built once, shared by every request.
#[derive(Clone)]
pub struct Limits {
    login: Option<Arc<Limit>>,
    auth: Option<Arc<Limit>>,
    trust_hops: usize,
    /// Whether the warning about an untrusted `X-Forwarded-For` from loopback was given.
    warned: Arc<AtomicBool>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("login", &self.login.is_some())
            .field("auth", &self.auth.is_some())
            .field("trust_hops", &self.trust_hops)
            .finish()
    }
}

impl Limits {
    /// Logins and authorizations per address and minute (0: no limit), and how many proxies in
    /// front of the app write `X-Forwarded-For`.
    pub fn new(login_per_minute: u32, auth_per_minute: u32, trust_hops: usize) -> Self {
        Limits {
            login: Limit::per_minute(login_per_minute).map(Arc::new),
            auth: Limit::per_minute(auth_per_minute).map(Arc::new),
            trust_hops,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// `CHAT_LOGIN_PER_MINUTE` (default 10), `CHAT_AUTH_PER_MINUTE` (default 600) and
    /// `CHAT_TRUST_HOPS` (default 0); see the [module docs](self).
    pub fn from_env() -> Result<Self, ConfigError> {
        let login = crate::bounded("CHAT_LOGIN_PER_MINUTE", 10, 0..=1_000_000)?;
        let auth = crate::bounded("CHAT_AUTH_PER_MINUTE", 600, 0..=1_000_000)?;
        Ok(Limits::new(
            u32::try_from(login).unwrap_or(u32::MAX),
            u32::try_from(auth).unwrap_or(u32::MAX),
            trust_hops_from_env()?,
        ))
    }

    /// Counts a request against `limit` for `client`.
    pub fn check(&self, limit: Limited, client: IpAddr) -> Result<(), TooMany> {
        let limit = match limit {
            Limited::Login => &self.login,
            Limited::Auth => &self.auth,
        };
        match limit {
            Some(limit) => limit.check(bucket(client)),
            None => Ok(()),
        }
    }

    /// The client's address: the peer's, or, behind `CHAT_TRUST_HOPS` proxies, the entry that
    /// many from the right of the `X-Forwarded-For` values (in order, as received). A chain
    /// shorter than that, or an entry that is not an address, is the peer's address: whoever
    /// sent it shares the proxy's bucket, and gains nothing by it.
    ///
    /// With no hop trusted, a request from a loopback peer that carries `X-Forwarded-For` is
    /// most likely from a proxy on the same machine that nobody told the app about: warned
    /// once (every client then shares the proxy's address, and its limits).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let entries: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        if self.trust_hops == 0 {
            if peer.is_loopback()
                && !entries.is_empty()
                && !self.warned.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    "a request from a loopback peer carries X-Forwarded-For, but CHAT_TRUST_HOPS \
                     is 0: behind a proxy every client has the proxy's address and shares its \
                     per-address limits; set CHAT_TRUST_HOPS to the number of proxies in front \
                     of the app (said once)"
                );
            }
            return peer;
        }
        entries
            .len()
            .checked_sub(self.trust_hops)
            .and_then(|i| entries.get(i))
            .and_then(|entry| entry.parse().ok())
            .unwrap_or(peer)
    }
}

/// IPv6 clients are counted by their /64 (one host usually has the whole of it).
fn bucket(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// `CHAT_TRUST_HOPS` (default 0, at most 16): how many proxies in front of the app write
/// `X-Forwarded-For`.
pub fn trust_hops_from_env() -> Result<usize, ConfigError> {
    let hops = crate::bounded("CHAT_TRUST_HOPS", 0, 0..=16)?;
    Ok(usize::try_from(hops).unwrap_or(16))
}

/// Whether a session cookie is `Secure` when `CHAT_SECURE_COOKIES` is not set: yes behind a
/// proxy (`trust_hops` > 0: the load balancer terminates TLS, wherever the app is bound), and
/// yes for an app bound to anything but loopback; no only for an app reached directly on a
/// loopback address (a local demo over plain HTTP). `CHAT_SECURE_COOKIES=0` or `=1` decides
/// instead.
pub fn secure_by_default(bind: &str, trust_hops: usize) -> bool {
    use std::net::ToSocketAddrs;
    if trust_hops > 0 {
        return true;
    }
    match bind.to_socket_addrs() {
        Ok(mut addrs) => !addrs.all(|a| a.ip().is_loopback()),
        Err(_) => true,
    }
}

/// Clickjacking: no page of the app may be framed.
pub const X_FRAME_OPTIONS: &str = "DENY";

/// The page's `Content-Security-Policy`, built once at start-up from the page's template and
/// sent unchanged with every page: nothing but what the page needs. Scripts only from the app
/// (`/pusher.min.js`, `/chat.js`: no inline script runs, whatever a rendered page contains),
/// the template's own inline `<style>` by its SHA-256, requests to the app itself and
/// WebSocket connections to the Pusher-protocol server's public address (`wss://` with
/// `CHAT_WS_TLS`, else `ws://`); no plugins, no frames, no framing, no base URI, forms only to
/// the app.
pub fn content_security_policy(client: &crate::ClientConfig) -> String {
    let styles = inline_hashes(crate::PAGE_TEMPLATE, "style");
    let connect = match client {
        crate::ClientConfig::Local {
            ws_host,
            ws_port,
            force_tls: true,
            ..
        } => format!("wss://{ws_host}:{ws_port}"),
        crate::ClientConfig::Local {
            ws_host, ws_port, ..
        } => format!("ws://{ws_host}:{ws_port}"),
        crate::ClientConfig::Cluster { cluster } => format!(
            "wss://ws-{cluster}.pusher.com https://sockjs-{cluster}.pusher.com https://stats.pusher.com"
        ),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'{styles}; \
         connect-src 'self' {connect}; img-src 'self' data:; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// `'sha256-…'` of the body of every inline `<tag>` (with no `src`, and not a JSON data block)
/// of `page` (the template), each preceded by a space.
fn inline_hashes(page: &str, tag: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut hashes = String::new();
    let mut rest = page;
    while let Some(start) = rest.find(&open) {
        let after = rest.get(start..).unwrap_or_default();
        let Some(head_end) = after.find('>') else {
            break;
        };
        let head = after.get(..head_end).unwrap_or_default();
        let body_and_more = after.get(head_end + 1..).unwrap_or_default();
        let Some(body_end) = body_and_more.find(&close) else {
            break;
        };
        let body = body_and_more.get(..body_end).unwrap_or_default();
        let data_block = head.contains("application/json");
        if !head.contains("src=") && !data_block && !body.is_empty() {
            let digest = sha2::Sha256::digest(body.as_bytes());
            let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push_str(&format!(" 'sha256-{encoded}'"));
        }
        rest = body_and_more
            .get(body_end + close.len()..)
            .unwrap_or_default();
    }
    hashes
}

/// Whether the session a request's user came from still exists: asked again by
/// [`StillLoggedIn`] once the auth request's body has been read, since the user is found when
/// the request's head arrives.
pub trait LiveSession {
    /// Whether the session is still live (not logged out, expired or evicted); an error when
    /// the session store cannot say (down, or not wired: the app's side, a 500).
    fn live(&self) -> BoxFuture<Result<bool, BoxError>>;
}

/// Why an authorization or a sign-in is refused when the session ended meanwhile.
pub const SESSION_ENDED: &str = "the session ended while the request was being read";

/// An authorizer that first asks whether the user's session is still live, then the inner
/// one: an auth request started before a logout and finished after it (its body sent slowly)
/// is denied, 403, instead of signed for a user who is gone. A store that cannot answer is an
/// error (500 `authorizer_error`, logged), not a denial: the app's side failed, not the user.
#[derive(Debug, Clone)]
pub struct StillLoggedIn<A>(pub A);

impl<U, A> Authorizer<U> for StillLoggedIn<A>
where
    U: LiveSession + Send + 'static,
    A: Authorizer<U>,
{
    type Error = BoxError;

    async fn authorize(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, BoxError> {
        if !user.live().await? {
            return Ok(ChannelDecision::deny(SESSION_ENDED));
        }
        self.0.authorize(user, request).await.map_err(Into::into)
    }
}

/// The chat's sign-in handler ([`crate::signin`]) behind the same re-check as
/// [`StillLoggedIn`] (a store that cannot answer: 500).
pub async fn signin_if_live<U>(user: U, request: SigninRequest) -> Result<SigninDecision, BoxError>
where
    U: LiveSession + Into<ChatUser>,
{
    if !user.live().await? {
        return Ok(SigninDecision::deny(SESSION_ENDED));
    }
    Ok(crate::signin(user, request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or_else(|_| unreachable!("a valid address"))
    }

    #[test]
    fn the_login_limit_refuses_past_its_burst_per_address() {
        let limits = Limits::new(10, 0, 0);
        let a = ip("192.0.2.1");
        for _ in 0..10 {
            assert_eq!(limits.check(Limited::Login, a), Ok(()));
        }
        let refused = limits.check(Limited::Login, a);
        assert!(
            matches!(refused, Err(t) if t.retry_after_secs() >= 1 && t.retry_after_secs() <= 7)
        );
        // Another address, and the auth limit (off here), are not affected.
        assert_eq!(limits.check(Limited::Login, ip("192.0.2.2")), Ok(()));
        for _ in 0..1000 {
            assert_eq!(limits.check(Limited::Auth, a), Ok(()));
        }
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let limits = Limits::new(1, 0, 0);
        assert_eq!(limits.check(Limited::Login, ip("2001:db8::1")), Ok(()));
        assert!(limits.check(Limited::Login, ip("2001:db8::2")).is_err());
        assert_eq!(limits.check(Limited::Login, ip("2001:db8:0:1::1")), Ok(()));
    }

    #[test]
    fn forwarded_for_is_trusted_only_as_configured() {
        let peer = ip("10.0.0.5");
        let direct = Limits::new(1, 1, 0);
        assert_eq!(direct.client(peer, ["203.0.113.9"]), peer);
        let behind_one = Limits::new(1, 1, 1);
        assert_eq!(behind_one.client(peer, ["203.0.113.9"]), ip("203.0.113.9"));
        // What the client wrote itself comes before what the proxy appended.
        assert_eq!(
            behind_one.client(peer, ["1.2.3.4, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            behind_one.client(peer, ["1.2.3.4", "203.0.113.9"]),
            ip("203.0.113.9")
        );
        let behind_two = Limits::new(1, 1, 2);
        assert_eq!(
            behind_two.client(peer, ["1.2.3.4, 203.0.113.9, 10.0.0.1"]),
            ip("203.0.113.9")
        );
        // Too short, or not an address: the peer.
        assert_eq!(behind_two.client(peer, ["203.0.113.9"]), peer);
        assert_eq!(behind_one.client(peer, ["unknown"]), peer);
        assert_eq!(behind_one.client(peer, []), peer);
    }

    #[test]
    fn an_untrusted_forwarded_for_from_loopback_is_warned_about_once() {
        let direct = Limits::new(1, 1, 0);
        assert_eq!(
            direct.client(ip("203.0.113.9"), ["1.2.3.4"]),
            ip("203.0.113.9")
        );
        assert!(!direct.warned.load(Ordering::Relaxed), "not from loopback");
        assert_eq!(direct.client(ip("127.0.0.1"), [" "]), ip("127.0.0.1"));
        assert!(
            !direct.warned.load(Ordering::Relaxed),
            "no address in the header"
        );
        assert_eq!(direct.client(ip("127.0.0.1"), ["1.2.3.4"]), ip("127.0.0.1"));
        assert!(direct.warned.load(Ordering::Relaxed));
        // Shared by every clone (each worker's copy).
        assert!(direct.clone().warned.load(Ordering::Relaxed));
        let behind = Limits::new(1, 1, 1);
        assert_eq!(behind.client(ip("127.0.0.1"), ["1.2.3.4"]), ip("1.2.3.4"));
        assert!(!behind.warned.load(Ordering::Relaxed));
    }

    #[test]
    fn cookies_are_secure_behind_a_proxy_or_unless_bound_to_loopback() {
        assert!(!secure_by_default("127.0.0.1:3000", 0));
        assert!(!secure_by_default("[::1]:3000", 0));
        assert!(!secure_by_default("localhost:3000", 0));
        assert!(secure_by_default("0.0.0.0:3000", 0));
        assert!(secure_by_default("10.0.0.7:3000", 0));
        assert!(secure_by_default("[::]:3000", 0));
        // Behind a load balancer on the same machine, which terminates TLS.
        assert!(secure_by_default("127.0.0.1:3000", 1));
        assert!(secure_by_default("[::1]:3000", 2));
    }

    fn local(tls: bool) -> crate::ClientConfig {
        crate::ClientConfig::Local {
            ws_host: "chat.example.com".into(),
            ws_port: 443,
            wss_port: 443,
            force_tls: tls,
        }
    }

    #[test]
    fn an_injected_inline_script_gets_no_hash() {
        // The policy is the template's: whatever a rendered page contains changes nothing.
        let csp = content_security_policy(&local(true));
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
    }

    #[test]
    fn the_policy_allows_the_templates_style_by_hash_and_the_public_websocket_only() {
        let csp = content_security_policy(&local(true));
        assert!(csp.contains("default-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("style-src 'self' 'sha256-"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' wss://chat.example.com:443;"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"));
        let plain = content_security_policy(&local(false));
        assert!(
            plain.contains("connect-src 'self' ws://chat.example.com:443;"),
            "{plain}"
        );
        let cluster = content_security_policy(&crate::ClientConfig::Cluster {
            cluster: "eu".into(),
        });
        assert!(cluster.contains("wss://ws-eu.pusher.com"), "{cluster}");
    }

    struct Probe(Result<bool, &'static str>);

    impl LiveSession for Probe {
        fn live(&self) -> BoxFuture<Result<bool, BoxError>> {
            let answer = self.0.map_err(BoxError::from);
            Box::pin(async move { answer })
        }
    }

    struct AllowAll;

    impl Authorizer<Probe> for AllowAll {
        type Error = BoxError;

        async fn authorize(
            &self,
            _: Probe,
            _: ChannelRequest,
        ) -> Result<ChannelDecision, BoxError> {
            Ok(ChannelDecision::Allow)
        }
    }

    #[tokio::test]
    async fn a_session_store_that_cannot_answer_is_an_error_not_a_denial() {
        let request = || {
            let (head, ()) = pusher_auth::http::Request::new(()).into_parts();
            ChannelRequest::new(
                pusher_auth::SocketId::new("1.2").unwrap_or_else(|_| unreachable!("valid")),
                "private-chat"
                    .parse()
                    .unwrap_or_else(|_| unreachable!("a valid channel name")),
                pusher_auth::Params::default(),
                head,
            )
        };
        let policy = StillLoggedIn(AllowAll);
        assert!(matches!(
            policy.authorize(Probe(Ok(true)), request()).await,
            Ok(ChannelDecision::Allow)
        ));
        assert!(matches!(
            policy.authorize(Probe(Ok(false)), request()).await,
            Ok(ChannelDecision::Deny(_))
        ));
        assert!(policy
            .authorize(Probe(Err("redis is down")), request())
            .await
            .is_err());
    }
}
