//! `oneshot` tests of the layer: every status and code, pass-through, batches, presence,
//! encrypted and sign-in answers (checked as a Pusher server would), channel routes, webhooks,
//! a table of malformed requests, and a property test that no body panics or gets a 5xx.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use pusher_auth::testing::{verify_channel_auth, verify_user_auth, webhook_signature};
use pusher_auth::{
    ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials, Endpoints, Limits,
    PresenceMember, Signin, SigninDecision, SigninRequest, UserData, UserId, Webhook, WebhookEvent,
};
use pusher_auth_tower::PusherAuthLayer;
use serde_json::{json, Value};
use tower::{service_fn, Layer, ServiceExt};

const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";
const SOCKET: &str = "123.456";

fn credentials() -> Credentials {
    Credentials::new("app-key", "app-secret")
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap()
}

/// A request body sent in chunks, with no length known in advance (like chunked encoding).
struct Chunked {
    chunks: VecDeque<Result<Bytes, &'static str>>,
}

impl Chunked {
    fn new(chunks: impl IntoIterator<Item = Result<Bytes, &'static str>>) -> Self {
        Chunked {
            chunks: chunks.into_iter().collect(),
        }
    }
}

impl Body for Chunked {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.chunks
                .pop_front()
                .map(|c| c.map(Frame::data).map_err(Into::into)),
        )
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[derive(Clone)]
struct LoggedIn(&'static str);

/// The authorizer of the chat app: logged-in users (header `x-user`, standing in for session
/// middleware) may join; presence members carry their name; `fail` channels error. It reads
/// the request itself, so it decides for `()`.
fn chat_authorizer() -> impl pusher_auth::Authorizer<()> {
    |(): (), req: ChannelRequest| async move {
        let user = req
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let from_extension = req.extensions().get::<LoggedIn>().map(|u| u.0.to_owned());
        let Some(user) = user.or(from_extension) else {
            return Ok(ChannelDecision::deny("not logged in"));
        };
        if req.channel().name_without_prefix().starts_with("fail") {
            return Err("database unavailable".into());
        }
        if req.channel().name_without_prefix() == "allow-presence-without-member" {
            return Ok(ChannelDecision::Allow);
        }
        if req.channel().name_without_prefix() == "signed-in-room" {
            return Ok(ChannelDecision::SignedInMember);
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(match req.channel().kind() {
            ChannelKind::Presence if req.channel().name_without_prefix() == "huge" => {
                ChannelDecision::member(
                    PresenceMember::new(UserId::new(user).unwrap())
                        .with_info(json!({"bio": "x".repeat(5000)})),
                )
            }
            ChannelKind::Presence => ChannelDecision::member(
                PresenceMember::new(UserId::new(user.clone()).unwrap())
                    .with_info(json!({"name": user})),
            ),
            _ if req.channel().name_without_prefix() == "secret" => {
                ChannelDecision::deny("staff only")
            }
            _ => ChannelDecision::Allow,
        })
    }
}

/// Sign-in for whoever `x-user` names.
fn chat_signin() -> impl Signin<()> {
    |(): (), req: SigninRequest| async move {
        match req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
            Some(user) => SigninDecision::user(
                UserData::new(UserId::new(user).unwrap()).with_info(json!({"name": user})),
            ),
            None => SigninDecision::deny("not logged in"),
        }
    }
}

/// The chat's endpoints: channels and sign-in.
fn endpoints() -> Endpoints<()> {
    Endpoints::new(credentials(), chat_authorizer()).with_signin(chat_signin())
}

fn layer() -> PusherAuthLayer<()> {
    PusherAuthLayer::new(endpoints())
}

async fn send_with<U: Clone + Send + Sync + 'static, B>(
    layer: &PusherAuthLayer<U>,
    req: Request<B>,
) -> (StatusCode, http::HeaderMap, String)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let svc = layer.layer(service_fn(|req: Request<B>| async move {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "inner {method} {path}"
        )))))
    }));
    let response = svc.oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn post(path: &str, body: &str, user: Option<&str>) -> Request<Full<Bytes>> {
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(u) = user {
        b = b.header("x-user", u);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

async fn send(req: Request<Full<Bytes>>) -> (StatusCode, http::HeaderMap, String) {
    send_with(&layer(), req).await
}

fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
        .to_string()
}

#[tokio::test]
async fn private_channel_is_signed_for_logged_in_users() {
    let (status, headers, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-chat",
        Some("alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    let expected = credentials()
        .authorize_channel(&SOCKET.parse().unwrap(), &"private-chat".parse().unwrap())
        .unwrap()
        .to_json();
    assert_eq!(body, expected);
    verify_channel_auth(&credentials(), SOCKET, "private-chat", body.as_bytes()).unwrap();
}

#[tokio::test]
async fn denied_is_403_without_the_reason() {
    let (status, headers, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-chat",
        None,
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(error_code(&body), "forbidden");
    assert!(
        !body.contains("logged in"),
        "the deny reason leaked: {body}"
    );
    let (status, _, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-secret",
        Some("bob"),
    ))
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert!(!body.contains("staff"));
}

#[tokio::test]
async fn extensions_from_earlier_middleware_reach_the_authorizer() {
    let mut req = post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-chat",
        None,
    );
    req.extensions_mut().insert(LoggedIn("carol"));
    assert_eq!(send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn presence_encrypted_and_signin_answers_verify() {
    let (status, _, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=presence-chat",
        Some("alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = verify_channel_auth(&credentials(), SOCKET, "presence-chat", body.as_bytes()).unwrap();
    assert_eq!(
        v.member().unwrap(),
        &json!({"user_id": "alice", "user_info": {"name": "alice"}})
    );

    let (status, _, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-encrypted-chat",
        Some("alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = verify_channel_auth(
        &credentials(),
        SOCKET,
        "private-encrypted-chat",
        body.as_bytes(),
    )
    .unwrap();
    assert!(v.shared_secret().is_some());

    let (status, _, body) = send(post(
        "/pusher/user-auth",
        "socket_id=123.456",
        Some("alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        verify_user_auth(&credentials(), SOCKET, body.as_bytes()).unwrap(),
        json!({"id": "alice", "user_info": {"name": "alice"}})
    );
    let (status, _, body) = send(post("/pusher/user-auth", "socket_id=123.456", None)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
}

#[tokio::test]
async fn signed_in_members_get_no_channel_data() {
    let (status, _, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=presence-signed-in-room",
        Some("alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expected = format!(
        "app-key:{}",
        credentials().sign_hex(b"123.456:presence-signed-in-room")
    );
    assert_eq!(body, json!({ "auth": expected }).to_string());
    // Only presence channels take this decision.
    let (status, _, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-signed-in-room",
        Some("alice"),
    ))
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured".into())
    );
}

#[tokio::test]
async fn json_bodies_work_like_forms() {
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/json")
        .header("x-user", "alice")
        .body(Full::new(Bytes::from(
            r#"{"socket_id":"123.456","channel_name":"private-chat"}"#,
        )))
        .unwrap();
    let (status, _, body) = send(req).await;
    assert_eq!(status, StatusCode::OK);
    verify_channel_auth(&credentials(), SOCKET, "private-chat", body.as_bytes()).unwrap();
}

#[tokio::test]
async fn other_routes_and_methods_pass_through() {
    for (method, path) in [
        (Method::GET, "/"),
        (Method::POST, "/channels/send-message"),
        (Method::GET, "/pusher/auth/x"),
        (Method::POST, "/pusher/authx"),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(path)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, _, body) = send(req).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, format!("inner {method} {path}"))
        );
    }
    // Without a sign-in handler, its path passes through.
    let layer = PusherAuthLayer::new(Endpoints::new(credentials(), chat_authorizer()));
    let (_, _, body) = send_with(
        &layer,
        post("/pusher/user-auth", "socket_id=1.1", Some("a")),
    )
    .await;
    assert_eq!(body, "inner POST /pusher/user-auth");
}

#[tokio::test]
async fn paths_are_configurable() {
    let layer = PusherAuthLayer::new(
        endpoints()
            .with_channel_path("/channels/authorize")
            .with_signin_path("/channels/signin"),
    );
    let (status, _, _) = send_with(
        &layer,
        post(
            "/channels/authorize",
            "socket_id=1.1&channel_name=private-chat",
            Some("a"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) =
        send_with(&layer, post("/channels/signin", "socket_id=1.1", Some("a"))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, body) = send_with(
        &layer,
        post(
            "/pusher/auth",
            "socket_id=1.1&channel_name=private-chat",
            Some("a"),
        ),
    )
    .await;
    assert_eq!(body, "inner POST /pusher/auth");
}

#[tokio::test]
async fn batches_decide_each_channel() {
    let body = "&socket_id=123.456&channel_name[0]=private-a&channel_name[1]=private-secret&channel_name[2]=presence-b&channel_name[3]=bad%20name&channel_name[4]=private-fail&channel_name[5]=private-encrypted-c&channel_name[6]=public";
    let (status, _, body) = send(post("/pusher/auth", body, Some("alice"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7);
    for ok in ["private-a", "presence-b", "private-encrypted-c"] {
        assert_eq!(v[ok]["status"], 200, "{ok}");
        verify_channel_auth(
            &credentials(),
            SOCKET,
            ok,
            v[ok]["data"].to_string().as_bytes(),
        )
        .unwrap();
    }
    assert_eq!(v["private-secret"], json!({"status": 403}));
    assert_eq!(v["bad name"], json!({"status": 400}));
    assert_eq!(v["private-fail"], json!({"status": 500}));
    assert_eq!(v["public"], json!({"status": 400}));
}

#[tokio::test]
async fn authorizer_failures_are_500_without_detail() {
    let (status, _, body) = send(post(
        "/pusher/auth",
        "socket_id=123.456&channel_name=private-fail",
        Some("a"),
    ))
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, "authorizer_error".into())
    );
    assert!(!body.contains("database"));
    for channel in ["presence-allow-presence-without-member", "presence-huge"] {
        let (status, _, body) = send(post(
            "/pusher/auth",
            &format!("socket_id=123.456&channel_name={channel}"),
            Some("a"),
        ))
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured".into()),
            "{channel}"
        );
    }
    // No master key configured, and the authorizer grants an encrypted channel: the app's
    // mistake (500 `misconfigured`), not the client's. An authorizer that denies it is still a
    // 403, and so is a client who is not logged in.
    let layer = PusherAuthLayer::new(Endpoints::new(
        Credentials::new("k", "s").unwrap(),
        chat_authorizer(),
    ));
    for (user, channel, expected) in [
        (
            Some("a"),
            "private-encrypted-x",
            (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured"),
        ),
        (
            Some("a"),
            "private-encrypted-secret",
            (StatusCode::FORBIDDEN, "forbidden"),
        ),
        (
            None,
            "private-encrypted-x",
            (StatusCode::FORBIDDEN, "forbidden"),
        ),
    ] {
        let (status, _, body) = send_with(
            &layer,
            post(
                "/pusher/auth",
                &format!("socket_id=1.1&channel_name={channel}"),
                user,
            ),
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            expected,
            "{channel} {user:?}"
        );
    }
}

#[tokio::test]
async fn body_limit_holds_with_and_without_content_length() {
    let layer = PusherAuthLayer::new(endpoints().with_body_limit(64));
    let long = format!("socket_id=1.1&channel_name=private-{}", "a".repeat(100));
    let (status, _, body) = send_with(&layer, post("/pusher/auth", &long, Some("a"))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Chunked::new(
            (0..10).map(|_| Ok(Bytes::from_static(b"aaaaaaaaaaaaaaaaaaaa"))),
        ))
        .unwrap();
    let (status, _, body) = send_with(&layer, req).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    // A lying Content-Length larger than the limit is refused before reading.
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", "100000")
        .body(Full::new(Bytes::from_static(b"socket_id=1.1")))
        .unwrap();
    assert_eq!(
        send_with(&layer, req).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A body that fails mid-read is the client's problem: 400.
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Chunked::new([
            Ok(Bytes::from_static(b"socket_id=1")),
            Err("connection reset"),
        ]))
        .unwrap();
    let (status, _, body) = send_with(&layer, req).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "body_read_error".into())
    );
    // Chunks that fit are read whole.
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-user", "a")
        .body(Chunked::new([
            Ok(Bytes::from_static(b"socket_id=1.1&chan")),
            Ok(Bytes::from_static(b"nel_name=private-x")),
        ]))
        .unwrap();
    assert_eq!(send_with(&layer, req).await.0, StatusCode::OK);
}

/// The user a login middleware would have put in the extensions (here: from `x-user`).
#[derive(Clone)]
struct Who(String);

#[tokio::test]
async fn channel_routes_under_the_layer() {
    let routes = ChannelRoutes::new()
        .channel(
            "chat.{room}",
            |_who: Who, room: u32| async move { room < 10 },
        )
        .presence("lobby", |who: Who, (): ()| async move {
            PresenceMember::new(UserId::new(who.0).unwrap())
        });
    let layer = PusherAuthLayer::new(Endpoints::new(credentials(), routes));
    let cases = [
        ("private-chat.1", Some("a"), StatusCode::OK),
        ("private-encrypted-chat.9", Some("a"), StatusCode::OK),
        ("private-chat.10", Some("a"), StatusCode::FORBIDDEN),
        ("private-chat.x", Some("a"), StatusCode::FORBIDDEN),
        ("private-chat.1.2", Some("a"), StatusCode::FORBIDDEN),
        ("private-chat", Some("a"), StatusCode::FORBIDDEN),
        ("private-chat.1", None, StatusCode::FORBIDDEN),
        // `.channel` routes never answer presence channels.
        ("presence-chat.1", Some("a"), StatusCode::FORBIDDEN),
        ("presence-lobby", Some("a|auth0"), StatusCode::OK),
        ("private-lobby", Some("a"), StatusCode::FORBIDDEN),
        ("presence-lobby", None, StatusCode::FORBIDDEN),
    ];
    for (channel, user, expected) in cases {
        // A login middleware in front of the layer: it inserts `Option<Who>` into every
        // request, `None` for a visitor.
        let svc = tower::ServiceBuilder::new()
            .map_request(|mut req: Request<Full<Bytes>>| {
                let who = req
                    .headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| Who(v.to_string()));
                req.extensions_mut().insert(who);
                req
            })
            .layer(layer.clone())
            .service(service_fn(|_req: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
            }));
        let req = post(
            "/pusher/auth",
            &format!("socket_id=1.1&channel_name={channel}"),
            user,
        );
        let response = svc.oneshot(req).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(status, expected, "{channel} {user:?}: {body}");
        if status == StatusCode::OK {
            verify_channel_auth(&credentials(), "1.1", channel, body.as_bytes()).unwrap();
        }
    }
    // Without the middleware, nobody can be found: the app's mistake, not a visitor.
    let (status, _, body) = send_with(
        &layer,
        post(
            "/pusher/auth",
            "socket_id=1.1&channel_name=private-chat.1",
            Some("a"),
        ),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured".into())
    );
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[tokio::test]
async fn webhook_route() {
    let seen: Arc<Mutex<Vec<WebhookEvent>>> = Arc::default();
    let record = Arc::clone(&seen);
    let layer = PusherAuthLayer::new(endpoints().with_webhooks(
        "/pusher/webhooks",
        move |webhook: Webhook, _head: http::request::Parts| {
            let record = Arc::clone(&record);
            async move {
                if webhook
                    .events()
                    .iter()
                    .any(|e| matches!(e, WebhookEvent::ChannelVacated { .. }))
                {
                    return Err("storage down");
                }
                record.lock().unwrap().extend(webhook.into_events());
                Ok(())
            }
        },
    ));
    let hook = |body: &str, key: &str, sig: Option<String>| {
        let sig = sig.unwrap_or_else(|| webhook_signature(&credentials(), body.as_bytes()));
        Request::post("/pusher/webhooks")
            .header("content-type", "application/json")
            .header("x-pusher-key", key)
            .header("x-pusher-signature", sig)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let body = &format!(
        r#"{{"time_ms":{},"events":[{{"name":"channel_occupied","channel":"private-chat"}}]}}"#,
        now_ms()
    );
    let (status, _, answer) = send_with(&layer, hook(body, "app-key", None)).await;
    assert_eq!((status, answer.as_str()), (StatusCode::OK, "{}"));
    assert!(
        matches!(
            seen.lock().unwrap().as_slice(),
            [WebhookEvent::ChannelOccupied { channel, .. }] if channel.as_str() == "private-chat"
        ),
        "{:?}",
        seen.lock().unwrap()
    );
    let forged = webhook_signature(
        &Credentials::new("app-key", "wrong").unwrap(),
        body.as_bytes(),
    );
    let (status, _, answer) = send_with(&layer, hook(body, "app-key", Some(forged))).await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::UNAUTHORIZED, "bad_signature".into())
    );
    let (status, _, answer) = send_with(&layer, hook(body, "other-key", None)).await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::UNAUTHORIZED, "wrong_key".into())
    );
    let (status, _, answer) = send_with(&layer, hook(body, "app-key", Some("zz".into()))).await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::UNAUTHORIZED, "malformed_signature".into())
    );
    let (status, _, answer) = send_with(&layer, hook("[1]", "app-key", None)).await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_body".into())
    );
    let vacated = &format!(
        r#"{{"time_ms":{},"events":[{{"name":"channel_vacated","channel":"private-chat"}}]}}"#,
        now_ms()
    );
    let (status, _, answer) = send_with(&layer, hook(vacated, "app-key", None)).await;
    assert_eq!(
        (status, error_code(&answer)),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "webhook_handler_error".into()
        )
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn standalone_services_answer_any_path() {
    let layer = layer();
    let svc = layer.channel_service();
    let response = svc
        .oneshot(post(
            "/anything",
            "socket_id=1.1&channel_name=private-a",
            Some("a"),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = layer
        .signin_service()
        .unwrap()
        .oneshot(post("/x", "socket_id=1.1", Some("a")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Without a webhook handler there is no webhook service.
    assert!(layer.webhook_service().is_none());
}

#[tokio::test]
async fn mounts_in_axum_both_ways() {
    use axum::routing::get;
    let app: axum::Router = axum::Router::new()
        .route("/", get(|| async { "home" }))
        .layer(layer());
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-user", "a")
        .body(axum::body::Body::from(
            "socket_id=1.1&channel_name=private-a",
        ))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .oneshot(Request::get("/").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "home"
    );

    let app: axum::Router =
        axum::Router::new().route_service("/channels/authorize", layer().channel_service());
    let req = Request::post("/channels/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-user", "a")
        .body(axum::body::Body::from(
            "socket_id=1.1&channel_name=private-a",
        ))
        .unwrap();
    assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK);
}

/// Malformed requests, each with its pinned status and code; none may be a 5xx.
#[tokio::test]
async fn malformed_requests_table() {
    type Case = (
        &'static str,
        Method,
        Option<&'static str>,
        Vec<u8>,
        StatusCode,
        &'static str,
    );
    let f = Some("application/x-www-form-urlencoded");
    let j = Some("application/json");
    let big_batch: String = (0..101)
        .map(|i| format!("&channel_name[{i}]=private-{i}"))
        .collect();
    let many_params: String = (0..65).map(|i| format!("&p{i}=v")).collect();
    let long_channel = format!("socket_id=1.1&channel_name=private-{}", "a".repeat(200));
    let long_socket = format!("socket_id={}.1&channel_name=private-a", "1".repeat(100));
    let deep_json = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let cases: Vec<Case> = vec![
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1".to_vec(),
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&socket_id=1.1&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "duplicate_field",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-a&channel_name=private-b".to_vec(),
            StatusCode::BAD_REQUEST,
            "duplicate_field",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1:&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=%3A1.1&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=%3A%0A1.1&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=12341234&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1foo&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=foo1.1&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=&channel_name=private-a".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            "socket_id=١٢.٣&channel_name=private-a".as_bytes().to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            long_socket.into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-a%3Ab".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_channel_name",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_channel_name",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=%23server-to-user-1".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_channel_name",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-a%0D%0AX-Injected:%201".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_channel_name",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-a%20b".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_channel_name",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            long_channel.into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_channel_name",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=public-chat".to_vec(),
            StatusCode::BAD_REQUEST,
            "public_channel",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-%FF".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-\xff".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name=private-a&channel_name[0]=private-b".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_batch",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name[x]=private-b".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_batch",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name[0]=private-a&channel_name[0]=private-b".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_batch",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            b"socket_id=1.1&channel_name[0=private-b".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_batch",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            format!("socket_id=1.1{big_batch}").into_bytes(),
            StatusCode::BAD_REQUEST,
            "batch_too_large",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            format!("socket_id=1.1&channel_name=private-a{many_params}").into_bytes(),
            StatusCode::BAD_REQUEST,
            "too_many_params",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            b"{".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            b"[]".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            deep_json.into_bytes(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            br#"{"socket_id":"1.1","channel_name":"private-a"}trailing"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            br#"{"socket_id":1.1,"channel_name":"private-a"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_field_type",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            br#"{"socket_id":"1.1","channel_name":{"a":1}}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_field_type",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            br#"{"socket_id":"1.1","socket_id":"1.1","channel_name":"private-a"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "duplicate_field",
        ),
        (
            "/pusher/auth",
            Method::POST,
            j,
            b"{\"socket_id\":\"1.1\",\"channel_name\":\"private-\xff\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/pusher/auth",
            Method::GET,
            None,
            b"".to_vec(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "/pusher/auth",
            Method::PUT,
            f,
            b"socket_id=1.1&channel_name=private-a".to_vec(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "/pusher/auth",
            Method::DELETE,
            None,
            b"".to_vec(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "/pusher/user-auth",
            Method::GET,
            None,
            b"".to_vec(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "/pusher/auth",
            Method::POST,
            None,
            b"socket_id=1.1&channel_name=private-a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "/pusher/auth",
            Method::POST,
            Some("text/plain"),
            b"socket_id=1.1&channel_name=private-a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "/pusher/auth",
            Method::POST,
            Some("multipart/form-data; boundary=x"),
            b"--x--".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "/pusher/auth",
            Method::POST,
            f,
            vec![b'a'; 20_000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "/pusher/user-auth",
            Method::POST,
            f,
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            "/pusher/user-auth",
            Method::POST,
            f,
            b"socket_id=1.1.1".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_socket_id",
        ),
        (
            "/pusher/user-auth",
            Method::POST,
            j,
            b"nope".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
    ];
    let total = cases.len();
    for (path, method, content_type, body, status, code) in cases {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("x-user", "alice");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(80)
            .collect::<String>();
        let (got, headers, answer) = send(b.body(Full::new(Bytes::from(body))).unwrap()).await;
        assert_eq!(
            (got, error_code(&answer).as_str()),
            (status, code),
            "{method} {path} {content_type:?} {shown}: {answer}"
        );
        assert!(!got.is_server_error());
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["content-type"], "application/json");
        if got == StatusCode::METHOD_NOT_ALLOWED {
            assert_eq!(headers["allow"], "POST");
        }
    }
    println!("{total} malformed requests answered with their documented status and code");
}

#[tokio::test]
async fn limits_are_configurable() {
    let layer = PusherAuthLayer::new(endpoints().with_limits(Limits::default().with_max_batch(2)));
    let (status, _, body) = send_with(&layer, post("/pusher/auth", "socket_id=1.1&channel_name[0]=private-a&channel_name[1]=private-b&channel_name[2]=private-c", Some("a"))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "batch_too_large".into())
    );
}

mod no_body_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
        #[test]
        fn no_body_panics_or_gets_a_5xx(body in proptest::collection::vec(any::<u8>(), 0..300), json in any::<bool>(), user in any::<bool>()) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let ct = if json { "application/json" } else { "application/x-www-form-urlencoded" };
            let mut b = Request::post("/pusher/auth").header("content-type", ct);
            if user { b = b.header("x-user", "alice"); }
            let (status, _, answer) = rt.block_on(send(b.body(Full::new(Bytes::from(body))).unwrap()));
            prop_assert!(!status.is_server_error(), "{status}: {answer}");
            prop_assert!(serde_json::from_str::<Value>(&answer).is_ok());
        }

        /// Well-formed requests, which get past parsing to the authorizer and the signer:
        /// every answer is a documented one, and every 200 verifies as a Pusher server would.
        #[test]
        fn requests_past_parsing_get_documented_answers(
            left in 0u64..u64::MAX, right in 0u64..u64::MAX,
            channels in proptest::collection::vec(
                (prop::sample::select(vec!["private-", "presence-", "private-encrypted-", "", "private-cache-"]),
                 "[A-Za-z0-9_=@,.;-]{1,30}|[a-z ]{1,5}"),
                1..6),
            batch in any::<bool>(),
            json in any::<bool>(),
            user in proptest::option::of("[a-z]{1,8}"),
            params in proptest::collection::vec(("p[a-z]{0,4}", "[ -~]{0,12}"), 0..3),
        ) {
            let socket = format!("{left}.{right}");
            let names: Vec<String> = channels
                .iter()
                .map(|(prefix, name)| format!("{prefix}{name}"))
                .filter(|n| !n.contains("fail"))
                .collect();
            prop_assume!(!names.is_empty());
            let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
            let (content_type, body) = if json {
                let channel = if batch { json!(names) } else { json!(names[0]) };
                let mut v = json!({"socket_id": socket, "channel_name": channel});
                for (k, val) in &params { v[k] = json!(val); }
                ("application/json", v.to_string())
            } else {
                let mut body = format!("socket_id={socket}");
                if batch {
                    for (i, n) in names.iter().enumerate() { body.push_str(&format!("&channel_name%5B{i}%5D={}", enc(n))); }
                } else {
                    body.push_str(&format!("&channel_name={}", enc(&names[0])));
                }
                for (k, v) in &params { body.push_str(&format!("&{}={}", enc(k), enc(v))); }
                ("application/x-www-form-urlencoded", body)
            };
            let mut b = Request::post("/pusher/auth").header("content-type", content_type);
            if let Some(u) = &user { b = b.header("x-user", u.as_str()); }
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let (status, _, answer) = rt.block_on(send(b.body(Full::new(Bytes::from(body))).unwrap()));
            prop_assert!(matches!(status.as_u16(), 200 | 400 | 403), "{status}: {answer}");
            let v: Value = serde_json::from_str(&answer).unwrap();
            if status == StatusCode::OK && !batch {
                verify_channel_auth(&credentials(), &socket, &names[0], answer.as_bytes()).unwrap();
            }
            if status == StatusCode::OK && batch {
                for (name, entry) in v.as_object().unwrap() {
                    let s = entry["status"].as_u64().unwrap();
                    prop_assert!(matches!(s, 200 | 400 | 403 | 500), "{name}: {entry}");
                    if s == 200 {
                        let data = serde_json::to_vec(&entry["data"]).unwrap();
                        verify_channel_auth(&credentials(), &socket, name, &data).unwrap();
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn webhooks_have_their_own_body_limit() {
    let endpoints = endpoints().with_webhooks(
        "/pusher/webhooks",
        |_: Webhook, _: http::request::Parts| async { Ok::<_, Infallible>(()) },
    );
    let layer = PusherAuthLayer::new(endpoints.clone());
    let hook = |events: usize| {
        // Client events of 1 KB each: Pusher batches many events in one webhook.
        let event = json!({"name": "client_event", "channel": "private-chat", "event": "client-typing", "data": "x".repeat(1000), "socket_id": "1.1"});
        let body = json!({"time_ms": now_ms() as u64, "events": vec![event; events]}).to_string();
        let sig = webhook_signature(&credentials(), body.as_bytes());
        let len = body.len();
        let req = Request::post("/pusher/webhooks")
            .header("content-type", "application/json")
            .header("x-pusher-key", "app-key")
            .header("x-pusher-signature", sig)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        (req, len)
    };
    // 100 events (~110 KB): far over the 16 KiB auth limit, well within the webhook limit.
    let (req, len) = hook(100);
    assert!(len > 100 * 1024);
    assert_eq!(send_with(&layer, req).await.0, StatusCode::OK);
    // Over 512 KiB: refused before the body is read.
    let (req, len) = hook(520);
    assert!(len > pusher_auth::DEFAULT_WEBHOOK_BODY_LIMIT);
    let (status, _, body) = send_with(&layer, req).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    // The auth endpoints keep their 16 KiB.
    let big = format!(
        "socket_id=1.1&channel_name=private-a&pad={}",
        "x".repeat(17 * 1024)
    );
    assert_eq!(
        send_with(&layer, post("/pusher/auth", &big, Some("a")))
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Both limits are configurable.
    let small = PusherAuthLayer::new(endpoints.with_webhook_body_limit(1024));
    let (req, _) = hook(2);
    assert_eq!(
        send_with(&small, req).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn the_sign_in_path_is_answered_only_with_a_sign_in_handler() {
    // A closure decides channels only: sign-in requests go on to the app.
    let channels_only = PusherAuthLayer::new(Endpoints::new(
        credentials(),
        |(): (), _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) },
    ));
    assert_eq!(channels_only.endpoints().signin_path(), None);
    assert!(channels_only.signin_service().is_none());
    let (_, _, body) = send_with(
        &channels_only,
        post("/pusher/user-auth", "socket_id=1.1", Some("a")),
    )
    .await;
    assert_eq!(body, "inner POST /pusher/user-auth");
    // Channel routes: the same, until a sign-in handler is given; no wrapper can lose it.
    let routes = ChannelRoutes::new().private("chat", |_: Who, (): ()| async { true });
    let routes_only = Endpoints::new(credentials(), routes.clone());
    assert_eq!(routes_only.signin_path(), None);
    let boxed = Endpoints::new(credentials(), pusher_auth::BoxAuthorizer::new(routes)).with_signin(
        |who: Who, _: SigninRequest| async move { UserData::new(UserId::new(who.0).unwrap()) },
    );
    assert_eq!(boxed.signin_path(), Some("/pusher/user-auth"));
    assert!(PusherAuthLayer::new(boxed).signin_service().is_some());
    // The Laravel Echo preset moves both paths.
    let echo = PusherAuthLayer::new(endpoints().for_laravel_echo());
    assert_eq!(
        (
            echo.endpoints().channel_path(),
            echo.endpoints().signin_path()
        ),
        ("/broadcasting/auth", Some("/broadcasting/user-auth"))
    );
    let (status, _, _) = send_with(
        &echo,
        post(
            "/broadcasting/auth",
            "socket_id=1.1&channel_name=private-chat",
            Some("a"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send_with(
        &echo,
        post("/broadcasting/user-auth", "socket_id=1.1", Some("a")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn paths_are_checked_when_configured() {
    let message = |f: fn()| {
        let err = std::panic::catch_unwind(f).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    assert_eq!(
        message(|| drop(PusherAuthLayer::new(
            endpoints().with_channel_path("pusher/auth")
        ))),
        "pusher-auth: the channel authorization path `pusher/auth` must start with `/`"
    );
    assert_eq!(
        message(|| drop(PusherAuthLayer::new(endpoints().with_channel_path("/a?b=1")))),
        "pusher-auth: the channel authorization path `/a?b=1` must be a plain path (ASCII, no query, fragment, spaces, percent-encoding, empty segments or route-pattern characters)"
    );
    assert_eq!(
        message(|| drop(PusherAuthLayer::new(endpoints().with_channel_path("/auth/{tenant}")))),
        "pusher-auth: the channel authorization path `/auth/{tenant}` must be a plain path (ASCII, no query, fragment, spaces, percent-encoding, empty segments or route-pattern characters)"
    );
    // Nothing a framework's router would decode or collapse first.
    for path in ["/pusher/%61uth", "/pusher//auth", "/pusher/äuth"] {
        let path: &'static str = path;
        let err = std::panic::catch_unwind(|| {
            drop(PusherAuthLayer::new(endpoints().with_channel_path(path)))
        })
        .unwrap_err();
        let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains("must be a plain path"), "{path}: {text}");
    }
    // A clash shows when the endpoints are mounted, whatever order the paths were set in.
    assert_eq!(
        message(|| {
            let clash = PusherAuthLayer::new(endpoints().with_signin_path("/pusher/auth"));
            let _ = clash.services().len();
        }),
        "pusher-auth: the channel authorization and sign-in endpoints are both at `/pusher/auth`"
    );
    assert_eq!(
        message(|| {
            let clash = PusherAuthLayer::new(endpoints().with_webhooks(
                "/pusher/user-auth",
                |_: Webhook, _: http::request::Parts| async { Ok::<_, Infallible>(()) },
            ));
            drop(clash.layer(service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            })));
        }),
        "pusher-auth: the sign-in and webhooks endpoints are both at `/pusher/user-auth`"
    );
    // Swapping the two paths is fine: the check sees the final configuration.
    let swapped = PusherAuthLayer::new(
        endpoints()
            .with_channel_path("/pusher/user-auth")
            .with_signin_path("/pusher/auth"),
    );
    assert_eq!(swapped.services().len(), 2);
}

#[tokio::test]
async fn an_empty_batch_is_refused() {
    let req = Request::post("/pusher/auth")
        .header("content-type", "application/json")
        .header("x-user", "a")
        .body(Full::new(Bytes::from_static(
            br#"{"socket_id":"1.1","channel_name":[]}"#,
        )))
        .unwrap();
    let (status, _, body) = send(req).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_batch".into())
    );
}

/// How many decisions run at once while a batch is decided.
#[derive(Clone, Default)]
struct InFlight {
    now: Arc<Mutex<(usize, usize)>>,
}

impl pusher_auth::Authorizer<()> for InFlight {
    type Error = Infallible;

    async fn authorize(
        &self,
        (): (),
        _request: ChannelRequest,
    ) -> Result<ChannelDecision, Infallible> {
        {
            let mut n = self.now.lock().unwrap();
            n.0 += 1;
            n.1 = n.1.max(n.0);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.now.lock().unwrap().0 -= 1;
        Ok(ChannelDecision::Allow)
    }
}

#[tokio::test]
async fn batches_are_decided_concurrently_within_the_limit() {
    let batch: String = (0..40)
        .map(|i| format!("&channel_name[{i}]=private-c{i}"))
        .collect();
    let body = format!("socket_id=1.1{batch}");
    for (limit, expected) in [(None, 16), (Some(1), 1), (Some(64), 40)] {
        let probe = InFlight::default();
        let mut endpoints = Endpoints::new(credentials(), probe.clone());
        if let Some(limit) = limit {
            endpoints = endpoints.with_limits(Limits::default().with_batch_concurrency(limit));
        }
        let layer = PusherAuthLayer::new(endpoints);
        let (status, _, answer) = send_with(&layer, post("/pusher/auth", &body, None)).await;
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_str(&answer).unwrap();
        // Every channel answered, in the order asked.
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 40);
        assert!(v.as_object().unwrap().values().all(|e| e["status"] == 200));
        assert_eq!(probe.now.lock().unwrap().1, expected, "limit {limit:?}");
    }
}

/// An authorizer whose batch answer comes back out of order and short of one channel, as a
/// careless `authorize_channels` override might return it.
#[derive(Clone)]
struct Shuffled;

impl pusher_auth::Authorizer<()> for Shuffled {
    type Error = Infallible;

    async fn authorize(
        &self,
        (): (),
        request: ChannelRequest,
    ) -> Result<ChannelDecision, Infallible> {
        Ok(ChannelDecision::allow_if(
            request.channel().as_str() == "private-public",
            "admins only",
        ))
    }

    async fn authorize_batch(
        &self,
        (): (),
        requests: Vec<ChannelRequest>,
        _concurrency: usize,
    ) -> Vec<(ChannelRequest, Result<ChannelDecision, Infallible>)> {
        let mut decided = Vec::new();
        for request in requests.into_iter().rev() {
            if request.channel().as_str() == "private-forgotten" {
                continue;
            }
            let decision = self.authorize((), request.clone()).await;
            decided.push((request, decision));
        }
        decided
    }
}

#[tokio::test]
async fn batch_decisions_are_signed_for_the_channel_they_decide() {
    let layer = PusherAuthLayer::new(Endpoints::new(credentials(), Shuffled));
    let body = "socket_id=1.1&channel_name[0]=private-public&channel_name[1]=private-admin&channel_name[2]=private-forgotten";
    let (status, _, answer) = send_with(&layer, post("/pusher/auth", body, None)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v["private-public"]["status"], 200);
    verify_channel_auth(
        &credentials(),
        "1.1",
        "private-public",
        &serde_json::to_vec(&v["private-public"]["data"]).unwrap(),
    )
    .unwrap();
    // Decided second but denied: never given the first channel's signature.
    assert_eq!(v["private-admin"], json!({"status": 403}));
    // Left without a decision: refused.
    assert_eq!(v["private-forgotten"], json!({"status": 500}));
}

/// A path clash panics when the layer is made, at the caller's line: not later, inside tower's
/// or axum's `Layer::layer`.
#[test]
fn a_path_clash_panics_where_the_layer_is_made() {
    let location = Arc::new(Mutex::new(None::<String>));
    let seen = Arc::clone(&location);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(l) = info.location() {
            *seen.lock().unwrap() = Some(l.file().to_owned());
        }
    }));
    let endpoints = endpoints().with_signin_path("/pusher/auth");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        PusherAuthLayer::new(endpoints)
    }));
    std::panic::set_hook(previous);
    assert!(
        panicked.is_err(),
        "two endpoints at one path must not make a layer"
    );
    let file = location.lock().unwrap().clone().unwrap_or_default();
    assert!(file.ends_with("layer.rs"), "the panic points at {file}");
}
