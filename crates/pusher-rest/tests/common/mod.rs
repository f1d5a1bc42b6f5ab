//! A local HTTP server the tests control: it counts connections, records every request,
//! verifies each signature as a Pusher server does, and answers from a script.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code,
    unreachable_pub,
    missing_docs
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use md5::{Digest, Md5};
use pusher_rest::{Client, Credentials};

pub const APP_ID: &str = "test-app";
pub const KEY: &str = "test-key";
pub const SECRET: &str = "test-secret";
pub const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

pub fn credentials() -> Credentials {
    Credentials::new(KEY, SECRET)
        .unwrap()
        .with_app_id(APP_ID)
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap()
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The decoded query parameters, in order.
    pub params: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// `Ok` if the signature verifies as a Pusher server checks it.
    pub verified: Result<(), String>,
}

impl Captured {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with request number `n` (0-based, across connections).
#[derive(Clone)]
pub enum Reply {
    /// Answer with this status and body.
    Answer(u16, String),
    /// Answer with this status, these headers (lowercase names) and body.
    AnswerWith(u16, Vec<(&'static str, String)>, String),
    /// Answer with this status and body after a delay.
    After(std::time::Duration, u16, String),
    /// Wait until as many requests as the barrier counts are waiting, then answer.
    Barrier(Arc<tokio::sync::Barrier>, u16, String),
    /// Never answer (the connection stays open).
    Hang,
    /// Answer with this status and a body that repeats `chunk` without end (or until
    /// `total` bytes when given); `sent` counts the bytes handed to the connection.
    Stream {
        status: u16,
        chunk: Bytes,
        total: Option<usize>,
        sent: Arc<AtomicUsize>,
    },
}

pub struct Server {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<Captured>>>,
    /// The most requests ever being answered at once.
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }

    /// A client for this server with the test credentials.
    pub fn client(&self) -> pusher_rest::ClientBuilder {
        Client::builder(credentials())
            .host("127.0.0.1")
            .port(self.addr.port())
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Verifies a request the way Pusher (and sockudo) do: decode the query, drop
/// `auth_signature`, lowercase and sort the keys, check `body_md5`, recompute the HMAC.
pub fn verify(
    credentials: &Credentials,
    method: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
) -> Result<(), String> {
    let mut signature = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in params {
        if k == "auth_signature" {
            signature = Some(v.clone());
        } else {
            pairs.push((k.to_lowercase(), v.clone()));
        }
    }
    let signature = signature.ok_or("no auth_signature")?;
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if get("auth_key").as_deref() != Some(credentials.key()) {
        return Err("wrong auth_key".into());
    }
    if get("auth_version").as_deref() != Some("1.0") {
        return Err("wrong auth_version".into());
    }
    let ts: i64 = get("auth_timestamp")
        .ok_or("no auth_timestamp")?
        .parse()
        .map_err(|_| "bad auth_timestamp")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts).abs() > 600 {
        return Err("timestamp out of range".into());
    }
    match get("body_md5") {
        Some(md5) if !body.is_empty() => {
            if md5 != hex::encode(Md5::digest(body)) {
                return Err("body_md5 mismatch".into());
            }
        }
        None if body.is_empty() => {}
        Some(_) => return Err("body_md5 without a body".into()),
        None => return Err("body without body_md5".into()),
    }
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let expected =
        credentials.sign_hex(format!("{method}\n{path}\n{}", query.join("&")).as_bytes());
    if expected == signature {
        Ok(())
    } else {
        Err(format!(
            "signature mismatch over {method}\n{path}\n{}",
            query.join("&")
        ))
    }
}

/// Starts a server on 127.0.0.1 that answers request `n` with `script(n)`.
pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
    start_by_request(move |n, _| script(n)).await
}

/// Starts a server on 127.0.0.1 that answers request `n` (as received) with `script(n, request)`.
pub async fn start_by_request(
    script: impl Fn(usize, &Captured) -> Reply + Send + Sync + 'static,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let counter = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    {
        let connections = connections.clone();
        let requests = requests.clone();
        let max_in_flight = max_in_flight.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let requests = requests.clone();
                let script = script.clone();
                let counter = counter.clone();
                let in_flight = in_flight.clone();
                let max_in_flight = max_in_flight.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let requests = requests.clone();
                            let script = script.clone();
                            let counter = counter.clone();
                            let in_flight = in_flight.clone();
                            let max_in_flight = max_in_flight.clone();
                            async move {
                                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                                max_in_flight.fetch_max(now, Ordering::SeqCst);
                                let _done = Decrement(in_flight);
                                let method = req.method().to_string();
                                let path = req.uri().path().to_owned();
                                let query = req.uri().query().unwrap_or_default().to_owned();
                                let content_type = req
                                    .headers()
                                    .get("content-type")
                                    .map(|v| v.to_str().unwrap().to_owned());
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let params: Vec<(String, String)> = query
                                    .split('&')
                                    .filter(|p| !p.is_empty())
                                    .map(|p| {
                                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                                        (percent_decode(k), percent_decode(v))
                                    })
                                    .collect();
                                let verified =
                                    verify(&credentials(), &method, &path, &params, &body);
                                let captured = Captured {
                                    method,
                                    path,
                                    query,
                                    params,
                                    content_type,
                                    body,
                                    verified,
                                };
                                let n = counter.fetch_add(1, Ordering::SeqCst);
                                let reply = script(n, &captured);
                                requests.lock().unwrap().push(captured);
                                match reply {
                                    Reply::Answer(status, body) => {
                                        let mut res = hyper::Response::new(full(body));
                                        *res.status_mut() =
                                            hyper::StatusCode::from_u16(status).unwrap();
                                        Ok::<_, Infallible>(res)
                                    }
                                    Reply::AnswerWith(status, headers, body) => {
                                        let mut res = hyper::Response::new(full(body));
                                        *res.status_mut() =
                                            hyper::StatusCode::from_u16(status).unwrap();
                                        for (name, value) in headers {
                                            res.headers_mut().insert(
                                                hyper::header::HeaderName::from_static(name),
                                                hyper::header::HeaderValue::from_str(&value)
                                                    .unwrap(),
                                            );
                                        }
                                        Ok::<_, Infallible>(res)
                                    }
                                    Reply::After(delay, status, body) => {
                                        tokio::time::sleep(delay).await;
                                        let mut res = hyper::Response::new(full(body));
                                        *res.status_mut() =
                                            hyper::StatusCode::from_u16(status).unwrap();
                                        Ok::<_, Infallible>(res)
                                    }
                                    Reply::Barrier(barrier, status, body) => {
                                        barrier.wait().await;
                                        let mut res = hyper::Response::new(full(body));
                                        *res.status_mut() =
                                            hyper::StatusCode::from_u16(status).unwrap();
                                        Ok::<_, Infallible>(res)
                                    }
                                    Reply::Hang => std::future::pending().await,
                                    Reply::Stream {
                                        status,
                                        chunk,
                                        total,
                                        sent,
                                    } => {
                                        let total = total.unwrap_or(usize::MAX);
                                        let frames =
                                            futures_util::stream::unfold(0usize, move |done| {
                                                let chunk = chunk.clone();
                                                let sent = sent.clone();
                                                async move {
                                                    if done >= total {
                                                        return None;
                                                    }
                                                    let take = chunk.len().min(total - done);
                                                    sent.fetch_add(take, Ordering::SeqCst);
                                                    let frame = hyper::body::Frame::data(
                                                        chunk.slice(..take),
                                                    );
                                                    Some((Ok::<_, Infallible>(frame), done + take))
                                                }
                                            });
                                        let mut res = hyper::Response::new(BodyExt::boxed(
                                            StreamBody::new(frames),
                                        ));
                                        *res.status_mut() =
                                            hyper::StatusCode::from_u16(status).unwrap();
                                        Ok::<_, Infallible>(res)
                                    }
                                }
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
    Server {
        addr,
        connections,
        requests,
        max_in_flight,
    }
}

fn full(body: String) -> BoxBody<Bytes, Infallible> {
    Full::new(Bytes::from(body)).boxed()
}

/// Decrements the count of requests being answered when the answer is done (or dropped).
struct Decrement(Arc<AtomicUsize>);

impl Drop for Decrement {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A server that answers every request with 200 `{}`.
pub async fn ok_server() -> Server {
    start(|_| Reply::Answer(200, "{}".into())).await
}
