//! The HTTP side of the client: connectors (direct, through an HTTP proxy, TLS), each with its
//! connect timeout, and the pooled hyper client over them.
//!
//! The client talks to one server, so whether a proxy is used is decided once, when the client
//! is built, and the connector stack is chosen then:
//!
//! | server | proxy | stack |
//! |---|---|---|
//! | `http` | none | `HttpConnector` |
//! | `http` | yes | `HttpConnector` to the proxy, requests in absolute form (`Forward`) |
//! | `https` | none | `HttpsConnector<HttpConnector>` |
//! | `https` | yes | `HttpsConnector<Tunnel<HttpConnector>>` (hyper-util's `CONNECT` tunnel) |
//!
//! each wrapped in [`Timed`], which bounds the whole connection set-up (TCP, tunnel, TLS).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Request, Uri};
use http_body_util::Full;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::{Client as Legacy, ResponseFuture};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower_service::Service;

use crate::config::{is_loopback, shown_proxy, ClientBuilder, ProxyKind, ProxyVars, Scheme};
use crate::error::ConfigError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The pooled HTTP/1.1 client, over the connector stack the settings call for.
pub(crate) struct HttpTransport {
    client: Stack,
    /// `Proxy-Authorization` for requests in absolute form through a proxy.
    pub(crate) proxy_authorization: Option<HeaderValue>,
    /// The proxy, as shown (no user name or password).
    pub(crate) proxy_url: Option<String>,
}

enum Stack {
    Plain(Legacy<Timed<HttpConnector>, Full<Bytes>>),
    Forward(Legacy<Timed<Forward>, Full<Bytes>>),
    #[cfg(feature = "rustls")]
    Tls(Legacy<Timed<hyper_rustls::HttpsConnector<HttpConnector>>, Full<Bytes>>),
    #[cfg(feature = "rustls")]
    Tunnel(
        Legacy<
            Timed<
                hyper_rustls::HttpsConnector<
                    hyper_util::client::legacy::connect::proxy::Tunnel<HttpConnector>,
                >,
            >,
            Full<Bytes>,
        >,
    ),
}

impl HttpTransport {
    /// Builds the transport for `base` (`scheme://host[:port]`).
    pub(crate) fn new(
        builder: &ClientBuilder,
        scheme: Scheme,
        host: &str,
        base: &Uri,
    ) -> Result<HttpTransport, ConfigError> {
        let connect_timeout = builder.connect_timeout.min(builder.timeout);
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.enforce_http(false);

        let mut pool = Legacy::builder(TokioExecutor::new());
        pool.pool_timer(TokioTimer::new())
            .pool_idle_timeout(builder.pool_idle_timeout)
            .pool_max_idle_per_host(builder.pool_max_idle_per_host);

        let intercept = proxy_for(builder, host, base)?;
        // As shown: scheme, host and port (hyper-util leaves no user name in the URI, but
        // splits an unescaped `@` in a password at the first one).
        let proxy_url = intercept
            .as_ref()
            .map(|i| format!("{}/", shown_proxy(&i.uri().to_string())));
        let timed = |inner| Timed {
            inner,
            timeout: connect_timeout,
        };
        let (client, proxy_authorization) = match (scheme, intercept) {
            (Scheme::Http, None) => (Stack::Plain(pool.build(timed(http))), None),
            (Scheme::Http, Some(proxy)) => {
                let forward = Forward {
                    inner: http,
                    proxy: proxy.uri().clone(),
                };
                (
                    Stack::Forward(pool.build(Timed {
                        inner: forward,
                        timeout: connect_timeout,
                    })),
                    proxy.basic_auth().cloned(),
                )
            }
            #[cfg(feature = "rustls")]
            (Scheme::Https, None) => {
                let tls = https(&builder.tls, http)?;
                (
                    Stack::Tls(pool.build(Timed {
                        inner: tls,
                        timeout: connect_timeout,
                    })),
                    None,
                )
            }
            #[cfg(feature = "rustls")]
            (Scheme::Https, Some(proxy)) => {
                let mut tunnel = hyper_util::client::legacy::connect::proxy::Tunnel::new(
                    proxy.uri().clone(),
                    http,
                );
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let tls = https(&builder.tls, tunnel)?;
                (
                    Stack::Tunnel(pool.build(Timed {
                        inner: tls,
                        timeout: connect_timeout,
                    })),
                    None,
                )
            }
            #[cfg(not(feature = "rustls"))]
            (Scheme::Https, _) => return Err(ConfigError::TlsDisabled),
        };
        Ok(HttpTransport {
            client,
            proxy_authorization,
            proxy_url,
        })
    }

    /// Sends one request.
    pub(crate) fn request(&self, request: Request<Full<Bytes>>) -> ResponseFuture {
        match &self.client {
            Stack::Plain(c) => c.request(request),
            Stack::Forward(c) => c.request(request),
            #[cfg(feature = "rustls")]
            Stack::Tls(c) => c.request(request),
            #[cfg(feature = "rustls")]
            Stack::Tunnel(c) => c.request(request),
        }
    }
}

/// The checks of [`HttpTransport::new`] that need neither a network nor the process
/// environment, for the recording client: an explicit proxy setting ([`Proxy::url`], or the
/// values given to `ClientBuilder::from_vars`) and root certificates given as PEM.
///
/// [`Proxy::url`]: crate::Proxy::url
#[cfg(feature = "testing")]
pub(crate) fn check_offline(
    builder: &ClientBuilder,
    host: &str,
    base: &Uri,
) -> Result<(), ConfigError> {
    if !matches!(builder.proxy.kind, ProxyKind::Env) {
        proxy_for(builder, host, base)?;
    }
    #[cfg(feature = "rustls")]
    for (index, pem) in builder.tls.extra_roots_pem.iter().enumerate() {
        add_pem(&mut rustls::RootCertStore::empty(), pem, index)?;
    }
    Ok(())
}

/// The proxy for the server at `base`, if any, as the settings decide.
fn proxy_for(
    builder: &ClientBuilder,
    host: &str,
    base: &Uri,
) -> Result<Option<Intercept>, ConfigError> {
    let (matcher, source) = match &builder.proxy.kind {
        ProxyKind::None => return Ok(None),
        ProxyKind::Url { url, no_proxy } => {
            if url.trim().is_empty() {
                return Err(ConfigError::Proxy("the proxy URL is empty".into()));
            }
            (
                Matcher::builder()
                    .all(url.trim())
                    .no(no_proxy.as_str())
                    .build(),
                "the proxy URL",
            )
        }
        ProxyKind::Env | ProxyKind::Vars(_) => {
            // Environment proxies never apply to this machine (as Go's HTTP client decides).
            if is_loopback(host) {
                return Ok(None);
            }
            let vars = match &builder.proxy.kind {
                ProxyKind::Vars(vars) => vars.clone(),
                _ => ProxyVars::read(&std::env::var),
            };
            if vars.http.is_empty() && vars.https.is_empty() && vars.all.is_empty() {
                return Ok(None);
            }
            (
                Matcher::builder()
                    .http(vars.http.as_str())
                    .https(vars.https.as_str())
                    .all(vars.all.as_str())
                    .no(vars.no.as_str())
                    .build(),
                "HTTPS_PROXY, HTTP_PROXY or ALL_PROXY",
            )
        }
    };
    // The values that apply to this server's scheme.
    let configured = match &builder.proxy.kind {
        ProxyKind::Url { url, .. } => vec![url.clone()],
        kind => {
            let v = match kind {
                ProxyKind::Vars(v) => v.clone(),
                _ => ProxyVars::read(&std::env::var),
            };
            match base.scheme_str() {
                Some("https") => vec![v.https, v.all],
                _ => vec![v.http, v.all],
            }
        }
    };
    let not_a_proxy = |value: &str| {
        ConfigError::Proxy(format!(
            "{source} `{}` is not a proxy URL (http://[user:password@]host:port; a password's \
             `/`, `?`, `#` and `@` must be percent-encoded)",
            shown_proxy(value)
        ))
    };
    let Some(intercept) = matcher.intercept(base) else {
        // Either NO_PROXY matched, no variable applies to this scheme, or the value could not
        // be parsed: tell the last apart, so a typo is not silently a direct connection.
        for value in configured.iter().filter(|v| !v.trim().is_empty()) {
            if Matcher::builder()
                .all(value.trim())
                .build()
                .intercept(&Uri::from_static("http://example.com"))
                .is_none()
            {
                return Err(not_a_proxy(value));
            }
        }
        return Ok(None);
    };
    // The value that applies (the scheme's own, else ALL_PROXY) must name the host we would
    // show, the one after its last `@`: with an unescaped `/`, `?` or `#` in the password,
    // hyper-util reads the start of the password as the proxy's host and port
    // (`http://user:pa/ss@proxy` is the host `user`, port `pa`).
    if let Some(value) = configured.iter().find(|v| !v.trim().is_empty()) {
        let shown = shown_proxy(value);
        let host = shown.split_once("://").map_or(shown.as_str(), |(_, h)| h);
        let parsed = intercept.uri().authority().map(|a| a.as_str());
        if !parsed.is_some_and(|p| p.eq_ignore_ascii_case(host)) {
            return Err(not_a_proxy(value));
        }
    }
    match intercept.uri().scheme_str() {
        Some("http") => Ok(Some(intercept)),
        Some(other) => Err(ConfigError::Proxy(format!(
            "{source} `{}` uses {other}://; only http:// proxies are supported",
            shown_proxy(&intercept.uri().to_string())
        ))),
        None => Err(ConfigError::Proxy(format!("{source} has no scheme"))),
    }
}

/// The rustls connector builder: the caller's configuration, or one built from the root
/// certificate settings, with the aws-lc-rs provider.
#[cfg(feature = "rustls")]
fn https<H>(
    tls: &crate::config::TlsSettings,
    inner: H,
) -> Result<hyper_rustls::HttpsConnector<H>, ConfigError> {
    let config = match &tls.config {
        Some(config) => {
            let mut config = rustls::ClientConfig::clone(config);
            // hyper-rustls panics on a preset ALPN list; the client speaks HTTP/1.1 only.
            config.alpn_protocols.clear();
            config
        }
        None => {
            let roots = root_store(tls)?;
            let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| ConfigError::Tls(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
    };
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(inner))
}

#[cfg(feature = "rustls")]
fn root_store(tls: &crate::config::TlsSettings) -> Result<rustls::RootCertStore, ConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    if tls.webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    #[cfg(feature = "platform-roots")]
    if tls.platform_roots {
        let loaded = rustls_native_certs::load_native_certs();
        if loaded.certs.is_empty() {
            return Err(ConfigError::Tls(format!(
                "no root certificate could be read from the platform's store{}",
                loaded
                    .errors
                    .first()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )));
        }
        // Some stores hold certificates webpki cannot use; the others are enough.
        let _ = roots.add_parsable_certificates(loaded.certs);
    }
    for (index, pem) in tls.extra_roots_pem.iter().enumerate() {
        add_pem(&mut roots, pem, index)?;
    }
    if roots.is_empty() {
        return Err(ConfigError::Tls(
            "no root certificate is trusted: keep webpki_roots, or add a CA".into(),
        ));
    }
    Ok(roots)
}

/// Adds the certificates of `pem` (the `index`th PEM given, from 0) to `roots`: at least one,
/// each parsed.
#[cfg(feature = "rustls")]
fn add_pem(roots: &mut rustls::RootCertStore, pem: &[u8], index: usize) -> Result<(), ConfigError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert
            .map_err(|e| ConfigError::Tls(format!("root certificate PEM #{}: {e}", index + 1)))?;
        roots
            .add(cert)
            .map_err(|e| ConfigError::Tls(format!("root certificate PEM #{}: {e}", index + 1)))?;
        added += 1;
    }
    if added == 0 {
        return Err(ConfigError::Tls(format!(
            "root certificate PEM #{} holds no certificate",
            index + 1
        )));
    }
    Ok(())
}

/// A connector whose whole connection set-up (TCP, proxy tunnel, TLS handshake) is bounded.
#[derive(Clone)]
struct Timed<C> {
    inner: C,
    timeout: Duration,
}

/// The connect timeout ran out.
#[derive(Debug)]
struct ConnectTimeout(Duration);

impl std::fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no connection within the connect timeout of {:?}",
            self.0
        )
    }
}

impl std::error::Error for ConnectTimeout {}

impl<C> Service<Uri> for Timed<C>
where
    C: Service<Uri>,
    C::Response: Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = BoxFuture<Result<C::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

/// Connects to the proxy whatever the destination, and marks the connection as proxied, so
/// that hyper writes requests in absolute form (`POST http://host/apps/…`).
#[derive(Clone)]
struct Forward {
    inner: HttpConnector,
    proxy: Uri,
}

impl Service<Uri> for Forward {
    type Response = Proxied;
    type Error = BoxError;
    type Future = BoxFuture<Result<Proxied, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, _dst: Uri) -> Self::Future {
        let connecting = self.inner.call(self.proxy.clone());
        Box::pin(async move { Ok(Proxied(connecting.await?)) })
    }
}

/// A connection to a forwarding proxy.
struct Proxied(TokioIo<TcpStream>);

impl Connection for Proxied {
    fn connected(&self) -> Connected {
        self.0.connected().proxy(true)
    }
}

impl Read for Proxied {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl Write for Proxied {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}
