//! The same requests, valid and invalid, sent through every adapter with one channel-routes
//! value: each answer's status and error code are pinned here, and every adapter's status,
//! headers and body must be identical, byte for byte, to the plain tower service's.
//!
//! The routes receive the user first. Each adapter finds it its own way, from the same `x-user`
//! header: tower from the request extensions (a middleware inserts `Option<User>`), axum
//! through a `FromRequestParts` extractor, actix-web through its extractor, Rocket through a
//! `FromRequest` guard, poem through a poem middleware and salvo through a hoop (both insert
//! `Option<User>` in the request extensions their tower compatibility hands to the standalone
//! services).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use pusher_auth::testing::{verify_channel_auth, verify_user_auth, webhook_signature};
use pusher_auth::{
    Access, ChannelRoutes, Credentials, Endpoints, PresenceMember, SigninRequest, UserData, UserId,
    Webhook,
};
use pusher_auth_axum::RouterExt;
use pusher_auth_tower::PusherAuthLayer;
use serde_json::{json, Value};
use tower::{service_fn, Layer, ServiceExt};

const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

fn credentials() -> Credentials {
    Credentials::new("conformance-key", "conformance-secret")
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap()
}

/// The logged-in user: the `x-user` header, found by each adapter its own way.
#[derive(Clone, Debug)]
struct User(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for User {
    type Rejection = http::StatusCode;
    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, http::StatusCode> {
        user_from(&parts.headers).ok_or(http::StatusCode::UNAUTHORIZED)
    }
}

/// The user as a Rocket request guard: forwards without the header, so the routes deny.
#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for User {
    type Error = Infallible;
    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Infallible> {
        match req.headers().get_one("x-user") {
            Some(user) => rocket::request::Outcome::Success(User(user.to_string())),
            None => rocket::request::Outcome::Forward(rocket::http::Status::Unauthorized),
        }
    }
}

fn user_from(headers: &http::HeaderMap) -> Option<User> {
    headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(|v| User(v.to_string()))
}

/// One routes value for every adapter.
fn routes() -> ChannelRoutes<User> {
    ChannelRoutes::new()
        .private("staff", |_: User, (): ()| async {
            Access::deny("staff only")
        })
        .private("boom", |_: User, (): ()| async {
            Err::<bool, _>("backend down")
        })
        .private("orders.{id}", |user: User, id: u64| async move {
            user.0 == "ann" && id == 7
        })
        .channel("{name}", |_: User, _name: String| async { true })
        .presence("{name}", |user: User, _name: String| async move {
            PresenceMember::new(UserId::new(user.0.clone()).unwrap())
                .with_info(json!({"name": user.0, "ünï": "☃\n\"q\""}))
        })
}

/// One configuration for every adapter: the routes, sign-in, the paths and webhooks.
fn endpoints() -> Endpoints<User> {
    Endpoints::new(credentials(), routes())
        .with_signin(|user: User, _: SigninRequest| async move {
            UserData::new(UserId::new(user.0).unwrap())
                .with_watchlist([UserId::new("friend").unwrap()])
        })
        .with_channel_path("/channels/authorize")
        .with_webhooks("/pusher/webhooks", webhook_handler)
}

async fn webhook_handler(webhook: Webhook, _head: http::request::Parts) -> Result<(), Infallible> {
    let _ = webhook.events();
    Ok(())
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// The pinned answer: status and error code (`None` for a success).
    status: u16,
    code: Option<&'static str>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn cases() -> Vec<Case> {
    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";
    let auth = |name, content_type: Option<&str>, user: Option<&str>, body: &[u8], status, code| {
        let mut headers = Vec::new();
        if let Some(ct) = content_type {
            headers.push(("content-type", ct.to_string()));
        }
        if let Some(u) = user {
            headers.push(("x-user", u.to_string()));
        }
        Case {
            name,
            method: "POST",
            path: "/channels/authorize",
            headers,
            body: body.to_vec(),
            status,
            code,
        }
    };
    let hook_body = |time_ms: u128| {
        format!(
            r#"{{"time_ms":{time_ms},"events":[{{"name":"member_added","channel":"presence-chat","user_id":"ann"}}]}}"#
        )
    };
    let fresh = hook_body(now_ms());
    let good_sig = webhook_signature(&credentials(), fresh.as_bytes());
    let stale = hook_body(now_ms() - 6 * 60 * 1000);
    let stale_sig = webhook_signature(&credentials(), stale.as_bytes());
    let junk = br#"{"time_ms":"soon"}"#;
    let junk_sig = webhook_signature(&credentials(), junk);
    let webhook = |name, key: &str, sig: &str, body: &[u8], status, code| Case {
        name,
        method: "POST",
        path: "/pusher/webhooks",
        headers: vec![
            ("content-type", JSON.into()),
            ("x-pusher-key", key.into()),
            ("x-pusher-signature", sig.into()),
        ],
        body: body.to_vec(),
        status,
        code,
    };
    let user_auth = |name, content_type: &str, user: Option<&str>, body: &[u8], status, code| {
        let mut c = auth(name, Some(content_type), user, body, status, code);
        c.path = "/pusher/user-auth";
        c
    };
    let method = |name, m: &'static str, status, code| {
        let mut c = auth(
            name,
            Some(FORM),
            Some("ann"),
            b"socket_id=1.2&channel_name=private-chat",
            status,
            code,
        );
        c.method = m;
        c
    };
    let other_path = |name, path| {
        let mut c = auth(
            name,
            Some(FORM),
            Some("ann"),
            b"socket_id=1.2&channel_name=private-chat",
            404,
            None,
        );
        c.path = path;
        c
    };
    vec![
        auth("private", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-chat", 200, None),
        auth("presence", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=presence-chat", 200, None),
        auth("encrypted", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-encrypted-chat", 200, None),
        auth("presence as JSON", Some(JSON), Some("ann"), br#"{"socket_id":"1.2","channel_name":"presence-chat","extra":[1]}"#, 200, None),
        auth("typed parameter", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-orders.7", 200, None),
        auth("typed parameter, another user", Some(FORM), Some("bob"), b"socket_id=1.2&channel_name=private-orders.7", 403, Some("forbidden")),
        auth("non-canonical number", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-orders.007", 403, Some("forbidden")),
        auth("batch", Some(FORM), Some("ann"), b"&socket_id=1.2&channel_name[0]=private-a&channel_name[1]=private-staff&channel_name[2]=presence-b&channel_name[3]=bad%20name&channel_name[4]=private-boom&channel_name[5]=public", 200, None),
        auth("empty JSON batch", Some(JSON), Some("ann"), br#"{"socket_id":"1.2","channel_name":[]}"#, 400, Some("invalid_batch")),
        auth("not logged in", Some(FORM), None, b"socket_id=1.2&channel_name=private-chat", 403, Some("forbidden")),
        auth("denied by a route", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-staff", 403, Some("forbidden")),
        auth("route error", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-boom", 500, Some("authorizer_error")),
        auth("public channel", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=public", 400, Some("public_channel")),
        auth("bad socket id", Some(FORM), Some("ann"), b"socket_id=1.2:&channel_name=private-chat", 400, Some("invalid_socket_id")),
        auth("bad channel name", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=private-a%3Ab", 400, Some("invalid_channel_name")),
        auth("no channel", Some(FORM), Some("ann"), b"socket_id=1.2", 400, Some("missing_field")),
        auth("socket id twice", Some(FORM), Some("ann"), b"socket_id=1.2&socket_id=1.2&channel_name=private-a", 400, Some("duplicate_field")),
        auth("invalid UTF-8", Some(FORM), Some("ann"), b"socket_id=1.2&channel_name=%FF", 400, Some("invalid_encoding")),
        auth("malformed JSON", Some(JSON), Some("ann"), b"{nope", 400, Some("malformed_json")),
        auth("text/plain", Some("text/plain"), Some("ann"), b"socket_id=1.2&channel_name=private-chat", 415, Some("unsupported_media_type")),
        auth("no content type", None, Some("ann"), b"socket_id=1.2&channel_name=private-chat", 415, Some("unsupported_media_type")),
        method("GET", "GET", 405, Some("method_not_allowed")),
        method("PUT", "PUT", 405, Some("method_not_allowed")),
        method("DELETE", "DELETE", 405, Some("method_not_allowed")),
        method("PATCH", "PATCH", 405, Some("method_not_allowed")),
        method("TRACE", "TRACE", 405, Some("method_not_allowed")),
        // Other spellings of the path are not the endpoint's (routers that decode or collapse
        // the path must not answer them): each framework's own 404.
        other_path("trailing slash", "/channels/authorize/"),
        other_path("empty segment", "//channels/authorize"),
        other_path("percent-encoded letter", "/channels/%61uthorize"),
        other_path("user path without sign-in configured here", "/channels/user-auth"),
        auth("20 KB body", Some(FORM), Some("ann"), &[b'x'; 20_000], 413, Some("payload_too_large")),
        user_auth("sign-in", FORM, Some("ann"), b"socket_id=1.2", 200, None),
        user_auth("sign-in, not logged in", FORM, None, b"socket_id=1.2", 403, Some("forbidden")),
        user_auth("sign-in, bad socket id", JSON, Some("ann"), br#"{"socket_id":"x"}"#, 400, Some("invalid_socket_id")),
        user_auth("sign-in with a channel list", JSON, Some("ann"), br#"{"socket_id":"1.2","channel_name":["a","b"]}"#, 200, None),
        webhook("webhook", "conformance-key", &good_sig, fresh.as_bytes(), 200, None),
        webhook("webhook, wrong signature", "conformance-key", &"0".repeat(64), fresh.as_bytes(), 401, Some("bad_signature")),
        webhook("webhook, other key", "other-key", &good_sig, fresh.as_bytes(), 401, Some("wrong_key")),
        webhook("webhook, signature not hex", "conformance-key", "nothex", fresh.as_bytes(), 401, Some("malformed_signature")),
        webhook("webhook, six minutes old", "conformance-key", &stale_sig, stale.as_bytes(), 401, Some("expired")),
        webhook("webhook, signed junk", "conformance-key", &junk_sig, junk, 400, Some("invalid_body")),
    ]
}

/// What an adapter answered: status, the headers the endpoints set, body.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn interesting(name: &str) -> bool {
    matches!(name, "content-type" | "cache-control" | "allow")
}

fn http_request(c: &Case) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::builder().method(c.method).uri(c.path);
    for (k, v) in &c.headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(c.body.clone()))).unwrap()
}

async fn observe_http<B: http_body::Body>(response: http::Response<B>) -> Observed
where
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect::<Vec<_>>();
    let headers = keep_interesting(headers);
    Observed {
        status: parts.status.as_u16(),
        headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

fn keep_interesting(headers: Vec<(&str, &[u8])>) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(k, _)| interesting(k))
        .map(|(k, v)| (k.to_string(), String::from_utf8(v.to_vec()).unwrap()))
        .collect();
    kept.sort();
    kept
}

fn layer() -> PusherAuthLayer<User> {
    PusherAuthLayer::new(endpoints())
}

/// Checks the pinned status and code, and that successes verify as a Pusher server would.
fn check_expected(c: &Case, observed: &Observed) {
    if c.status == 404 {
        // Not an endpoint: the framework's own 404, whatever its body.
        assert_eq!(observed.status, 404, "{}", c.name);
        return;
    }
    let body: Value = serde_json::from_slice(&observed.body)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e})", c.name));
    assert_eq!(observed.status, c.status, "{}: {body}", c.name);
    assert_eq!(body["error"]["code"].as_str(), c.code, "{}: {body}", c.name);
    if c.status != 200 {
        return;
    }
    let text = std::str::from_utf8(&observed.body).unwrap();
    match (c.path, c.name) {
        ("/pusher/webhooks", _) => assert_eq!(text, "{}"),
        ("/pusher/user-auth", _) => {
            verify_user_auth(&credentials(), "1.2", observed.body.as_slice()).unwrap();
        }
        (_, "batch") => {
            let expected = [
                ("private-a", 200),
                ("private-staff", 403),
                ("presence-b", 200),
                ("bad name", 400),
                ("private-boom", 500),
                ("public", 400),
            ];
            let entries = body.as_object().unwrap();
            assert_eq!(entries.len(), expected.len());
            // Answered in the order asked.
            let positions: Vec<usize> = expected
                .iter()
                .map(|(k, _)| text.find(&format!("\"{k}\":")).unwrap())
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
            for (channel, status) in expected {
                assert_eq!(entries[channel]["status"], status, "batch {channel}");
                if status == 200 {
                    let data = serde_json::to_vec(&entries[channel]["data"]).unwrap();
                    let verified =
                        verify_channel_auth(&credentials(), "1.2", channel, &data).unwrap();
                    if channel.starts_with("presence-") {
                        assert_eq!(
                            verified.member().map(|m| &m["user_id"]),
                            Some(&json!("ann")),
                            "batch {channel}"
                        );
                    }
                }
            }
        }
        _ => {
            let channel = String::from_utf8_lossy(&c.body)
                .split(['&', '"'])
                .find_map(|p| p.strip_prefix("channel_name="))
                .map(str::to_owned)
                .unwrap_or_else(|| "presence-chat".into());
            let verified =
                verify_channel_auth(&credentials(), "1.2", &channel, observed.body.as_slice())
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            // A presence answer must name the member the routes decided: ann.
            if channel.starts_with("presence-") {
                let member = verified
                    .member()
                    .unwrap_or_else(|| panic!("{}: a presence answer without a member", c.name));
                assert_eq!(member["user_id"], "ann", "{}", c.name);
                assert_eq!(member["user_info"]["name"], "ann", "{}", c.name);
            }
        }
    }
}

/// The plain tower layer around a 404 service, with a middleware putting the user in the
/// extensions.
async fn run_tower(cases: &[Case]) -> Vec<Observed> {
    let layer = layer();
    let mut observed = Vec::new();
    for c in cases {
        let inner = service_fn(|_req: http::Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(
                http::Response::builder()
                    .status(404)
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
        });
        let svc = tower::ServiceBuilder::new()
            .map_request(|mut req: http::Request<Full<Bytes>>| {
                let user = user_from(req.headers());
                req.extensions_mut().insert(user);
                req
            })
            .service(layer.layer(inner));
        observed.push(observe_http(svc.oneshot(http_request(c)).await.unwrap()).await);
    }
    observed
}

async fn run_axum(cases: &[Case], app: axum::Router) -> Vec<Observed> {
    let mut observed = Vec::new();
    for c in cases {
        let mut b = http::Request::builder().method(c.method).uri(c.path);
        for (k, v) in &c.headers {
            b = b.header(*k, v);
        }
        let req = b.body(axum::body::Body::from(c.body.clone())).unwrap();
        observed.push(observe_http(app.clone().oneshot(req).await.unwrap()).await);
    }
    observed
}

async fn run_actix(cases: &[Case]) -> Vec<Observed> {
    let pusher = pusher_auth_actix_web::PusherAuthRoutes::new(endpoints()).with_extractor(
        |req: actix_web::HttpRequest| {
            req.headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(|v| User(v.to_string()))
        },
    );
    let app =
        actix_web::test::init_service(actix_web::App::new().configure(|cfg| pusher.configure(cfg)))
            .await;
    let mut observed = Vec::new();
    for c in cases {
        let mut req = actix_web::test::TestRequest::default()
            .method(c.method.parse().unwrap())
            .uri(c.path);
        for (k, v) in &c.headers {
            req = req.insert_header((*k, v.as_str()));
        }
        let response =
            actix_web::test::call_service(&app, req.set_payload(c.body.clone()).to_request()).await;
        let status = response.status().as_u16();
        let headers = keep_interesting(
            response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()))
                .collect(),
        );
        let body = actix_web::test::read_body(response).await.to_vec();
        observed.push(Observed {
            status,
            headers,
            body,
        });
    }
    observed
}

async fn run_rocket(cases: &[Case]) -> Vec<Observed> {
    let pusher =
        pusher_auth_rocket::PusherAuthRoutes::new(endpoints()).with_guard(|user: User| user);
    let quiet = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(quiet).mount("/", pusher.routes());
    let client = rocket::local::asynchronous::Client::tracked(rocket)
        .await
        .unwrap();
    let mut observed = Vec::new();
    for c in cases {
        let mut req = client.req(c.method.parse().unwrap(), c.path);
        for (k, v) in &c.headers {
            req = req.header(rocket::http::Header::new(*k, v.clone()));
        }
        let response = req.body(&c.body).dispatch().await;
        let status = response.status().code;
        // Rocket keeps the names as written; HTTP/1 and HTTP/2 send them lowercase.
        let names: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|h| {
                (
                    h.name().as_str().to_ascii_lowercase(),
                    h.value().to_string(),
                )
            })
            .collect();
        let headers = keep_interesting(
            names
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()))
                .collect(),
        );
        let body = response.into_bytes().await.unwrap_or_default();
        observed.push(Observed {
            status,
            headers,
            body,
        });
    }
    observed
}

/// poem: the example's mounting through `tower-compat`, the user from a poem middleware.
async fn run_poem(cases: &[Case]) -> Vec<Observed> {
    use poem::EndpointExt;
    let app = poem_minimal::mount(poem::Route::new(), &layer()).with(poem_minimal::FindUser(
        |req: &poem::Request| user_from(req.headers()),
    ));
    let client = poem::test::TestClient::new(app);
    let mut observed = Vec::new();
    for c in cases {
        let mut req = client.request(c.method.parse().unwrap(), c.path);
        for (k, v) in &c.headers {
            req = req.header(*k, v);
        }
        let response = req.body(c.body.clone()).send().await.0;
        let status = response.status().as_u16();
        let headers = keep_interesting(
            response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()))
                .collect(),
        );
        let body = response.into_body().into_vec().await.unwrap();
        observed.push(Observed {
            status,
            headers,
            body,
        });
    }
    observed
}

/// salvo: the example's mounting through `tower-compat`, the user from a hoop.
async fn run_salvo(cases: &[Case]) -> Vec<Observed> {
    use salvo::test::ResponseExt;
    let router = salvo::Router::new().hoop(salvo_minimal::FindUser(
        |req: &salvo::Request, _: &salvo::Depot| user_from(req.headers()),
    ));
    let service = salvo::Service::new(salvo_minimal::mount(router, &layer()));
    let mut observed = Vec::new();
    for c in cases {
        let url = format!("http://127.0.0.1:5800{}", c.path);
        let mut req =
            salvo::test::RequestBuilder::new(url, c.method.parse::<http::Method>().unwrap());
        for (k, v) in &c.headers {
            req = req.add_header(*k, v.as_str(), false);
        }
        let mut response = req.body(c.body.clone()).send(&service).await;
        let status = response.status_code.map_or(0, |s| s.as_u16());
        let headers = keep_interesting(
            response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()))
                .collect(),
        );
        let body = response.take_bytes(None).await.unwrap().to_vec();
        observed.push(Observed {
            status,
            headers,
            body,
        });
    }
    observed
}

#[actix_web::test]
async fn every_adapter_answers_as_pinned_and_alike() {
    let cases = cases();
    let reference = run_tower(&cases).await;
    for (c, observed) in cases.iter().zip(&reference) {
        check_expected(c, observed);
    }
    let adapters: Vec<(&str, Vec<Observed>)> = vec![
        (
            "axum routes (RouterExt::pusher_auth)",
            run_axum(&cases, axum::Router::new().pusher_auth(endpoints())).await,
        ),
        (
            "axum layer (Router::layer)",
            run_axum(
                &cases,
                axum::Router::new()
                    .layer(layer())
                    .layer(axum::middleware::map_request(
                        |mut req: axum::extract::Request| async move {
                            let user = user_from(req.headers());
                            req.extensions_mut().insert(user);
                            req
                        },
                    )),
            )
            .await,
        ),
        ("actix-web", run_actix(&cases).await),
        ("rocket", run_rocket(&cases).await),
        ("poem (tower-compat)", run_poem(&cases).await),
        ("salvo (tower-compat)", run_salvo(&cases).await),
    ];
    let mut matrix = vec![("tower layer", cases.len())];
    for (adapter, observed) in &adapters {
        for ((c, got), expected) in cases.iter().zip(observed).zip(&reference) {
            if c.status == 404 {
                // The framework's own 404 (its body and headers are the framework's).
                assert_eq!(got.status, 404, "{adapter} answered `{}`", c.name);
                continue;
            }
            assert_eq!(got, expected, "{adapter} differs on `{}`", c.name);
        }
        matrix.push((adapter, observed.len()));
    }
    for (adapter, count) in &matrix {
        println!("conformance: {adapter}: {count}/{count} cases as pinned, byte-identical");
    }
    // The matrix: framework x cases, each identical to the tower reference.
    println!("conformance matrix ({} cases):", cases.len());
    println!("| framework | cases | identical to tower |");
    println!("|---|---|---|");
    for (adapter, count) in &matrix {
        println!("| {adapter} | {count} | {count}/{} |", cases.len());
    }
}
