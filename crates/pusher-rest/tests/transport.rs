//! The transport for self-hosted deployments, against servers on 127.0.0.1 that the tests
//! control: TLS behind a CA generated here (not trusted, then trusted), a `CONNECT` proxy
//! (tunnelling, refusing, silent) and a forwarding proxy for plain http, proxies from the
//! environment, `Retry-After` inside and past the deadline, the deadline during a backoff,
//! and a server that echoes the signed request in its error. Every test is bounded in time.
#![cfg(feature = "rustls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::env::VarError;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{ok_server, start, Reply};
use pusher_rest::{Client, ClientBuilder, ConfigError, Error, Proxy, RetryPolicy, Scheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("the test took more than 30 s")
}

// ---------------------------------------------------------------------------------------------
// A CA and a server certificate, made here.

struct Pki {
    ca_pem: String,
    server_config: Arc<rustls::ServerConfig>,
}

/// A CA, and a certificate it signs for `names` (host names or IP addresses).
fn make_pki(names: &[&str]) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pusher-rest test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_config: Arc::new(server_config),
    }
}

/// Terminates TLS on 127.0.0.1 and relays the plaintext to `backend`. Counts completed and
/// failed handshakes.
struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<Mutex<(usize, usize)>>,
}

async fn tls_front(config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> TlsFront {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handshakes = Arc::new(Mutex::new((0, 0)));
    let counts = handshakes.clone();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counts = counts.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(mut tls) => {
                        counts.lock().unwrap().0 += 1;
                        let mut plain = TcpStream::connect(backend).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                    Err(_) => counts.lock().unwrap().1 += 1,
                }
            });
        }
    });
    TlsFront { addr, handshakes }
}

// ---------------------------------------------------------------------------------------------
// A proxy.

#[derive(Clone, Copy)]
enum ProxyMode {
    /// `CONNECT`: tunnel to `to` (whatever host was asked for); absolute form: relay to `to`.
    Pass { to: SocketAddr },
    /// Answer every request with this status.
    Refuse(u16),
    /// Read the request, never answer.
    Silent,
}

struct TestProxy {
    addr: SocketAddr,
    /// The request heads it received (request line and headers).
    heads: Arc<Mutex<Vec<String>>>,
}

impl TestProxy {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    Some(head)
}

async fn start_proxy(mode: ProxyMode) -> TestProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(head) = read_head(&mut client).await else {
                    return;
                };
                let text = String::from_utf8_lossy(&head).into_owned();
                seen.lock().unwrap().push(text.clone());
                match mode {
                    ProxyMode::Silent => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    ProxyMode::Refuse(status) => {
                        let answer =
                            format!("HTTP/1.1 {status} Refused\r\ncontent-length: 0\r\n\r\n");
                        let _ = client.write_all(answer.as_bytes()).await;
                    }
                    ProxyMode::Pass { to } => {
                        let mut upstream = TcpStream::connect(to).await.unwrap();
                        if text.starts_with("CONNECT ") {
                            client
                                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                                .await
                                .unwrap();
                        } else {
                            // Absolute form: the server reads it as is.
                            upstream.write_all(&head).await.unwrap();
                        }
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                }
            });
        }
    });
    TestProxy { addr, heads }
}

fn vars(pairs: &[(&'static str, String)]) -> impl Fn(&'static str) -> Result<String, VarError> {
    let pairs = pairs.to_vec();
    move |name| {
        let base = [
            ("PUSHER_APP_ID", common::APP_ID.to_owned()),
            ("PUSHER_KEY", common::KEY.to_owned()),
            ("PUSHER_SECRET", common::SECRET.to_owned()),
        ];
        base.iter()
            .chain(pairs.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or(VarError::NotPresent)
    }
}

// ---------------------------------------------------------------------------------------------
// TLS.

#[tokio::test]
async fn a_server_behind_an_untrusted_ca_is_refused_before_anything_is_sent() {
    bounded(async {
        let backend = ok_server().await;
        let pki = make_pki(&["localhost", "127.0.0.1"]);
        let front = tls_front(pki.server_config.clone(), backend.addr).await;
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(front.addr.port())
            .scheme(Scheme::Https)
            .build()
            .unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        match &err {
            Error::Connection { never_sent, .. } => assert!(never_sent, "{err:?}"),
            other => panic!("{other:?}"),
        }
        // The message names the cause, not only hyper's "client error (Connect)".
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
        assert!(backend.requests().is_empty());
        assert_eq!(front.handshakes.lock().unwrap().0, 0);

        // A CA that did not sign this server's certificate does not help either.
        let other = make_pki(&["localhost"]);
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(front.addr.port())
            .scheme(Scheme::Https)
            .add_root_certificates_pem(&other.ca_pem)
            .build()
            .unwrap();
        assert!(client
            .trigger("chat", "e", "x")
            .await
            .unwrap_err()
            .is_connection());
        assert!(backend.requests().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_server_behind_a_trusted_internal_ca_is_reached() {
    bounded(async {
        let backend = ok_server().await;
        let pki = make_pki(&["localhost", "127.0.0.1"]);
        let front = tls_front(pki.server_config.clone(), backend.addr).await;
        // Only the internal CA: no public roots.
        let client = Client::builder(common::credentials())
            .host("localhost")
            .port(front.addr.port())
            .scheme(Scheme::Https)
            .webpki_roots(false)
            .add_root_certificates_pem(&pki.ca_pem)
            .build()
            .unwrap();
        assert_eq!(
            client.base_url(),
            format!("https://localhost:{}", front.addr.port())
        );
        client.trigger("chat", "e", "x").await.unwrap();
        client.channels().await.unwrap();
        let requests = backend.requests();
        assert_eq!(requests.len(), 2);
        assert!(requests.iter().all(|r| r.verified.is_ok()));
        assert_eq!(
            *front.handshakes.lock().unwrap(),
            (1, 0),
            "one kept-alive connection"
        );

        // The caller's own rustls configuration (with an ALPN list, which the client replaces).
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        roots
            .add(rustls::pki_types::CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(front.addr.port())
            .scheme(Scheme::Https)
            .tls_config(config)
            .build()
            .unwrap();
        client.trigger("chat", "e", "x").await.unwrap();
        assert_eq!(backend.requests().len(), 3);
    })
    .await;
}

#[test]
fn unusable_root_certificates_are_configuration_errors() {
    let build = |b: ClientBuilder| b.host("ws.example.com").build().unwrap_err();
    for (builder, expected) in [
        (
            Client::builder(common::credentials()).add_root_certificates_pem("not a certificate"),
            "holds no certificate",
        ),
        (
            Client::builder(common::credentials()).add_root_certificates_pem(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
            "root certificate PEM #1",
        ),
        (
            Client::builder(common::credentials()).webpki_roots(false),
            "no root certificate is trusted",
        ),
    ] {
        let err = build(builder);
        assert!(matches!(err, Error::Config(ConfigError::Tls(_))), "{err:?}");
        assert!(err.to_string().contains(expected), "{err}");
    }
    // A custom rustls configuration brings its own roots: root settings beside it would be
    // ignored (and a PEM never checked), so the combination is refused.
    let config = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
    };
    let custom = || Client::builder(common::credentials()).tls_config(config());
    for builder in [
        custom().add_root_certificates_pem("not a certificate"),
        Client::builder(common::credentials())
            .add_root_certificates_pem("not a certificate")
            .tls_config(config()),
        custom().webpki_roots(false),
    ] {
        let err = build(builder.clone());
        assert!(matches!(err, Error::Config(ConfigError::Tls(_))), "{err:?}");
        assert!(err.to_string().contains("tls_config"), "{err}");
        // Whatever the scheme.
        let err = builder.host("127.0.0.1").build().unwrap_err();
        assert!(err.to_string().contains("tls_config"), "{err}");
    }
    // The default (the Mozilla roots on) is no setting of its own.
    custom()
        .webpki_roots(true)
        .host("ws.example.com")
        .build()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Proxies.

#[tokio::test]
async fn https_through_a_connect_proxy_with_credentials() {
    bounded(async {
        let backend = ok_server().await;
        let pki = make_pki(&["pusher.test"]);
        let front = tls_front(pki.server_config.clone(), backend.addr).await;
        let proxy = start_proxy(ProxyMode::Pass { to: front.addr }).await;
        // The host does not resolve; only the proxy connects, to the TLS front.
        let client = Client::builder(common::credentials())
            .host("pusher.test")
            .port(8443)
            .proxy(Proxy::url(format!("http://ada:s3cret@{}", proxy.addr)))
            .add_root_certificates_pem(&pki.ca_pem)
            .build()
            .unwrap();
        assert_eq!(
            client.proxy_url(),
            Some(format!("{}/", proxy.url()).as_str())
        );
        let shown = format!("{client:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        client.trigger("chat", "e", "x").await.unwrap();
        client.channels().await.unwrap();
        let heads = proxy.heads();
        assert_eq!(heads.len(), 1, "one tunnel, kept alive: {heads:?}");
        assert!(
            heads[0].starts_with("CONNECT pusher.test:8443 HTTP/1.1\r\n"),
            "{heads:?}"
        );
        // Basic ada:s3cret
        assert!(heads[0].contains("Basic YWRhOnMzY3JldA=="), "{heads:?}");
        // The proxy saw no request: TLS end to end.
        assert!(!heads[0].contains("auth_signature"));
        assert_eq!(backend.requests().len(), 2);
        assert!(backend.requests().iter().all(|r| r.verified.is_ok()));
    })
    .await;
}

#[tokio::test]
async fn plain_http_through_a_forwarding_proxy() {
    bounded(async {
        let backend = ok_server().await;
        let proxy = start_proxy(ProxyMode::Pass { to: backend.addr }).await;
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(backend.addr.port())
            .proxy(Proxy::url(format!("http://ada:s3cret@{}", proxy.addr)))
            .build()
            .unwrap();
        client.trigger("chat", "e", "x").await.unwrap();
        let heads = proxy.heads();
        assert_eq!(heads.len(), 1);
        let expected = format!(
            "POST http://127.0.0.1:{}/apps/test-app/events?",
            backend.addr.port()
        );
        assert!(heads[0].starts_with(&expected), "{heads:?}");
        assert!(
            heads[0].contains("proxy-authorization: Basic YWRhOnMzY3JldA=="),
            "{heads:?}"
        );
        assert!(backend.requests()[0].verified.is_ok());

        // NO_PROXY for this host: direct.
        let client = Client::builder(common::credentials())
            .host("127.0.0.1")
            .port(backend.addr.port())
            .proxy(Proxy::url(proxy.url()).no_proxy("127.0.0.1"))
            .build()
            .unwrap();
        assert_eq!(client.proxy_url(), None);
        client.trigger("chat", "e", "x").await.unwrap();
        assert_eq!(proxy.heads().len(), 1);
        assert_eq!(backend.requests().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_refusing_proxy_is_a_connection_error_that_retries_may_repeat() {
    bounded(async {
        let proxy = start_proxy(ProxyMode::Refuse(403)).await;
        let client = Client::builder(common::credentials())
            .host("pusher.test")
            .proxy(Proxy::url(proxy.url()))
            .retry(RetryPolicy::new(2).initial_backoff(Duration::from_millis(10)))
            .build()
            .unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        match &err {
            Error::Connection { never_sent, .. } => assert!(never_sent),
            other => panic!("{other:?}"),
        }
        // Nothing reached a server, so the two retries were safe and were made.
        assert_eq!(proxy.heads().len(), 3);

        // Asking for credentials (407) fails the same way.
        let proxy = start_proxy(ProxyMode::Refuse(407)).await;
        let client = Client::builder(common::credentials())
            .host("pusher.test")
            .proxy(Proxy::url(proxy.url()))
            .build()
            .unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert!(
            err.to_string().contains("proxy authorization required"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_silent_proxy_hits_the_connect_timeout() {
    bounded(async {
        let proxy = start_proxy(ProxyMode::Silent).await;
        let client = Client::builder(common::credentials())
            .host("pusher.test")
            .proxy(Proxy::url(proxy.url()))
            .connect_timeout(Duration::from_millis(300))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
        match &err {
            Error::Connection { never_sent, .. } => assert!(never_sent),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("connect"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn proxies_from_the_environment() {
    bounded(async {
        let backend = ok_server().await;
        let pki = make_pki(&["pusher.test"]);
        let front = tls_front(pki.server_config.clone(), backend.addr).await;
        let proxy = start_proxy(ProxyMode::Pass { to: front.addr }).await;
        let from = |pairs: &[(&'static str, String)]| {
            ClientBuilder::from_vars(vars(pairs))
                .unwrap()
                .add_root_certificates_pem(&pki.ca_pem)
        };
        // https_proxy (lowercase) for an https server.
        let client = from(&[
            ("PUSHER_HOST", "pusher.test".into()),
            ("https_proxy", proxy.url()),
        ])
        .build()
        .unwrap();
        client.trigger("chat", "e", "x").await.unwrap();
        assert!(proxy.heads()[0].starts_with("CONNECT pusher.test:443 "));
        assert_eq!(backend.requests().len(), 1);

        let proxy_of = |pairs: &[(&'static str, String)]| {
            from(pairs)
                .build()
                .map(|c| c.proxy_url().map(str::to_owned))
        };
        let url = Some(format!("{}/", proxy.url()));
        // Uppercase wins; ALL_PROXY covers both schemes; HTTP_PROXY alone does not cover https.
        assert_eq!(
            proxy_of(&[
                ("PUSHER_HOST", "pusher.test".into()),
                ("HTTPS_PROXY", proxy.url()),
                ("https_proxy", "http://other:1".into())
            ])
            .unwrap(),
            url
        );
        assert_eq!(
            proxy_of(&[
                ("PUSHER_HOST", "pusher.test".into()),
                ("ALL_PROXY", proxy.url())
            ])
            .unwrap(),
            url
        );
        assert_eq!(
            proxy_of(&[
                ("PUSHER_HOST", "pusher.test".into()),
                ("HTTP_PROXY", proxy.url())
            ])
            .unwrap(),
            None
        );
        assert_eq!(
            proxy_of(&[
                ("PUSHER_HOST", "pusher.test".into()),
                ("PUSHER_SCHEME", "http".into()),
                ("HTTP_PROXY", proxy.url())
            ])
            .unwrap(),
            url
        );
        // NO_PROXY: a suffix, a list, `*`.
        for no in ["pusher.test", "example.com, .test", "*"] {
            assert_eq!(
                proxy_of(&[
                    ("PUSHER_HOST", "pusher.test".into()),
                    ("HTTPS_PROXY", proxy.url()),
                    ("NO_PROXY", no.into())
                ])
                .unwrap(),
                None,
                "{no}"
            );
        }
        // A loopback server is always reached directly.
        assert_eq!(
            proxy_of(&[
                ("PUSHER_HOST", "127.0.0.1".into()),
                ("HTTP_PROXY", proxy.url()),
                ("ALL_PROXY", proxy.url())
            ])
            .unwrap(),
            None
        );
        // In a CGI program, HTTP_PROXY may come from a request header (`Proxy:`): ignored for
        // an http server, in either case; ALL_PROXY cannot come from a header and still applies.
        for name in ["HTTP_PROXY", "http_proxy"] {
            assert_eq!(
                proxy_of(&[
                    ("PUSHER_HOST", "pusher.test".into()),
                    ("PUSHER_SCHEME", "http".into()),
                    (name, proxy.url()),
                    ("REQUEST_METHOD", "GET".into())
                ])
                .unwrap(),
                None,
                "{name}"
            );
        }
        assert_eq!(
            proxy_of(&[
                ("PUSHER_HOST", "pusher.test".into()),
                ("PUSHER_SCHEME", "http".into()),
                ("ALL_PROXY", proxy.url()),
                ("REQUEST_METHOD", "GET".into())
            ])
            .unwrap(),
            url
        );
        // Unusable settings are errors, never a silent direct connection, and never show the
        // password.
        for (value, expected) in [
            (
                "socks5://ada:pa55w0rd@127.0.0.1:1080",
                "only http:// proxies",
            ),
            (
                "https://ada:pa55w0rd@127.0.0.1:3128",
                "only http:// proxies",
            ),
            ("http://ada:pa55w0rd@bad host:1", "not a proxy URL"),
            // An unescaped `/` or `@` in the password: refused (read as is, the start of the
            // password would be the proxy's host), and shown only from the last `@`.
            ("http://ada:pa55/w0rd@127.0.0.1:3128", "not a proxy URL"),
            ("http://ada:pa55@w0rd@127.0.0.1:3128", "not a proxy URL"),
            // A path is no part of a proxy URL: ignored, and never shown.
            ("http://ada:pa55w0rd@127.0.0.1:3128/p?q#pa55w0rd", ""),
        ] {
            for builder in [
                from(&[
                    ("PUSHER_HOST", "pusher.test".into()),
                    ("HTTPS_PROXY", value.into()),
                ]),
                from(&[("PUSHER_HOST", "pusher.test".into())]).proxy(Proxy::url(value)),
            ] {
                let shown = format!("{builder:?}");
                assert!(
                    !shown.contains("pa55") && !shown.contains("w0rd"),
                    "{shown}"
                );
                let shown = match builder.build() {
                    Ok(client) if expected.is_empty() => {
                        assert_eq!(client.proxy_url(), Some("http://127.0.0.1:3128/"));
                        format!("{client:?}")
                    }
                    Ok(client) => panic!("{value}: built, through {:?}", client.proxy_url()),
                    Err(err) => {
                        let shown = format!("{err} {err:?}");
                        assert!(shown.contains(expected), "{value}: {shown}");
                        shown
                    }
                };
                assert!(
                    !shown.contains("pa55") && !shown.contains("w0rd"),
                    "{shown}"
                );
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Retry-After and the deadline.

fn retry_after_answer(value: String) -> Reply {
    Reply::AnswerWith(429, vec![("retry-after", value)], "slow down".into())
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_deadline() {
    bounded(async {
        // Seconds.
        let server = start(|n| {
            if n == 0 {
                retry_after_answer("1".into())
            } else {
                Reply::Answer(200, "{}".into())
            }
        })
        .await;
        let client = server
            .client()
            .retry(RetryPolicy::new(2).initial_backoff(Duration::from_millis(1)))
            .deadline(Duration::from_secs(5))
            .build()
            .unwrap();
        let started = Instant::now();
        client.trigger("chat", "e", "x").await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.requests().len(), 2);

        // An HTTP date, 2 s ahead (a whole-second clock: at least 1 s of wait).
        let server = start(|n| {
            if n == 0 {
                let at = SystemTime::now() + Duration::from_secs(2);
                Reply::AnswerWith(
                    503,
                    vec![("retry-after", httpdate::fmt_http_date(at))],
                    "busy".into(),
                )
            } else {
                Reply::Answer(200, "{}".into())
            }
        })
        .await;
        let client = server
            .client()
            .retry(RetryPolicy::new(2).initial_backoff(Duration::from_millis(1)))
            .deadline(Duration::from_secs(5))
            .build()
            .unwrap();
        let started = Instant::now();
        client.trigger("chat", "e", "x").await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.requests().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn retry_after_past_the_deadline_returns_at_once() {
    bounded(async {
        let server = start(|_| retry_after_answer("30".into())).await;
        let client = server
            .client()
            .retry(RetryPolicy::new(5))
            .deadline(Duration::from_secs(2))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        match &err {
            Error::Status {
                status,
                retry_after,
                ..
            } => {
                assert_eq!(status.as_u16(), 429);
                assert_eq!(*retry_after, Some(Duration::from_secs(30)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.requests().len(), 1);

        // A Retry-After too large to add to a clock is past any deadline, not a panic.
        let server = start(|_| retry_after_answer(u64::MAX.to_string())).await;
        let client = server.client().retry(RetryPolicy::new(5)).build().unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert_eq!(err.status().unwrap().as_u16(), 429);
        assert_eq!(server.requests().len(), 1);
        // So is a deadline too far away to represent.
        let server = start(|_| Reply::Answer(200, "{}".into())).await;
        let client = server.client().deadline(Duration::MAX).build().unwrap();
        client.trigger("chat", "e", "x").await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn the_deadline_ends_retries_during_a_backoff() {
    bounded(async {
        // Always 429, no Retry-After: backoffs of 400 ms, then 800 ms, which would end past the
        // 1 s deadline: the second 429 is returned at about 400 ms.
        let server = start(|_| Reply::Answer(429, "slow down".into())).await;
        let client = server
            .client()
            .retry(RetryPolicy::new(5).initial_backoff(Duration::from_millis(400)))
            .deadline(Duration::from_secs(1))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.status().unwrap(), 429);
        assert_eq!(server.requests().len(), 2);
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(1),
            "{took:?}"
        );

        // The backoff ends before the deadline, and the deadline cuts the next attempt.
        let server = start(|n| {
            if n == 0 {
                Reply::Answer(429, "slow down".into())
            } else {
                Reply::Hang
            }
        })
        .await;
        let client = server
            .client()
            .timeout(Duration::from_secs(10))
            .retry(RetryPolicy::new(5).initial_backoff(Duration::from_millis(100)))
            .deadline(Duration::from_millis(700))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        let took = started.elapsed();
        assert!(err.is_timeout(), "{err:?}");
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert_eq!(server.requests().len(), 2);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// No signature anywhere but on the wire.

#[tokio::test]
async fn a_server_that_echoes_the_request_does_not_leak_the_signature() {
    bounded(async {
        // The echo: the request line with its query string, the headers, as some proxies and
        // servers answer a bad request.
        let server = common::start_by_request(|_, request| {
            Reply::Answer(
                400,
                format!(
                    "Bad request: {} {}?{} HTTP/1.1\r\ncontent-type: application/json\r\n{{\"query\":\"{}\"}}",
                    request.method,
                    request.path,
                    request.query,
                    request.query.replace('&', "\\u0026")
                ),
            )
        })
        .await;
        let client = server.client().build().unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        let signature = server.requests()[0].param("auth_signature").unwrap().to_owned();
        let shown = format!("{err} {err:?} {err:#?}");
        assert!(!shown.contains(&signature), "{shown}");
        assert!(!shown.contains("auth_signature"), "{shown}");
        assert!(!shown.contains("auth_key"), "{shown}");
        assert!(shown.contains("Bad request: POST /apps/test-app/events?<redacted>"), "{shown}");
        // The same through a split operation's Partial error.
        let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let err = client.trigger(names, "e", "x").await.unwrap_err();
        let shown = format!("{err} {err:?}");
        for r in server.requests() {
            assert!(!shown.contains(r.param("auth_signature").unwrap()), "{shown}");
        }
        assert!(!shown.contains("auth_signature"), "{shown}");
    })
    .await;
}

/// The platform's roots (feature `platform-roots`): read at build time from the system store
/// (Debian's `ca-certificates` here), and a server whose CA is not in it is still refused.
#[cfg(feature = "platform-roots")]
#[tokio::test]
async fn platform_roots_come_from_the_system_store() {
    bounded(async {
        let backend = ok_server().await;
        let pki = make_pki(&["127.0.0.1"]);
        let front = tls_front(pki.server_config.clone(), backend.addr).await;
        let platform = || {
            Client::builder(common::credentials())
                .host("127.0.0.1")
                .port(front.addr.port())
                .scheme(Scheme::Https)
                .webpki_roots(false)
                .platform_roots(true)
        };
        // Without webpki's roots and without a CA, only the system store can make this build.
        let client = platform().build().unwrap();
        let err = client.trigger("chat", "e", "x").await.unwrap_err();
        assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
        // With the internal CA added, the same client reaches the server.
        let client = platform()
            .add_root_certificates_pem(&pki.ca_pem)
            .build()
            .unwrap();
        client.trigger("chat", "e", "x").await.unwrap();
        assert_eq!(backend.requests().len(), 1);
    })
    .await;
}
