//! The actix-web adapter: actix extractors feeding the portable authorizer, limits, routes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::convert::Infallible;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{test, App, FromRequest, HttpRequest};
use pusher_auth::authorizer::{ChannelDecision, ChannelRequest};
use pusher_auth::routes::ChannelRoutes;
use pusher_auth::testing::verify_channel_auth;
use pusher_auth::{ChannelKind, Credentials, PresenceMember, UserId};
use pusher_auth_actix_web::{PusherAuthRoutes, SenderSocket};

/// An actix-native extractor (as a session or identity extractor would be): fails without a
/// `x-user` header.
struct Identity(String);

impl FromRequest for Identity {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            match req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
                Some(u) => Ok(Identity(u.to_string())),
                None => Err(actix_web::error::ErrorUnauthorized("no identity")),
            },
        )
    }
}

#[derive(Clone)]
struct User(String);

fn pusher() -> PusherAuthRoutes<impl pusher_auth::Authorizer> {
    PusherAuthRoutes::new(
        Credentials::new("key", "secret").unwrap(),
        |req: ChannelRequest| async move {
            let Some(User(name)) = req.extensions().get::<User>().cloned() else {
                return Ok::<_, Infallible>(ChannelDecision::deny("no user"));
            };
            Ok(match req.channel().kind() {
                ChannelKind::Presence => {
                    ChannelDecision::member(PresenceMember::new(UserId::new(name).unwrap()))
                }
                _ => ChannelDecision::Allow,
            })
        },
    )
    .with_extractor(|identity: Identity| Some(User(identity.0)))
    .with_body_limit(256)
}

#[actix_web::test]
async fn actix_extractors_feed_the_authorizer() {
    let pusher = pusher();
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let request = |user: Option<&str>, channel: &str| {
        let mut r = test::TestRequest::post()
            .uri("/pusher/auth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!("socket_id=1.2&channel_name={channel}"));
        if let Some(u) = user {
            r = r.insert_header(("x-user", u));
        }
        r.to_request()
    };
    let response = test::call_service(&app, request(Some("ann"), "presence-room")).await;
    assert_eq!(response.status(), 200);
    let body = test::read_body(response).await;
    let verified = verify_channel_auth(
        &Credentials::new("key", "secret").unwrap(),
        "1.2",
        "presence-room",
        &body,
    )
    .unwrap();
    assert_eq!(verified.member().unwrap()["user_id"], "ann");
    // The extractor's rejection leaves no user: 403.
    assert_eq!(
        test::call_service(&app, request(None, "private-room"))
            .await
            .status(),
        403
    );
}

#[actix_web::test]
async fn bodies_over_the_limit_without_a_length_are_refused() {
    let pusher = pusher();
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let mut req = test::TestRequest::post()
        .uri("/pusher/auth")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("x-user", "ann"))
        .set_payload(vec![b'a'; 1000])
        .to_request();
    req.headers_mut().remove("content-length");
    let response = test::call_service(&app, req).await;
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(response).await).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[actix_web::test]
async fn other_paths_are_not_ours() {
    let pusher = pusher().without_user_auth();
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/pusher/user-auth")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 404);
    // actix-web matches decoded paths; the endpoints answer only their own path as sent.
    for path in ["/pusher/%61uth", "/pusher/auth/", "//pusher/auth"] {
        let response = test::call_service(
            &app,
            test::TestRequest::post()
                .uri(path)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("socket_id=1.2&channel_name=private-a")
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    // Under a scope, the prefix comes first.
    let full = self::pusher();
    let scoped = test::init_service(
        App::new().service(actix_web::web::scope("/api").configure(|cfg| full.configure(cfg))),
    )
    .await;
    let response = test::call_service(
        &scoped,
        test::TestRequest::post()
            .uri("/api/pusher/auth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("socket_id=1.2&channel_name=private-a")
            .to_request(),
    )
    .await;
    assert_ne!(response.status(), 404);
}

/// A session-like extractor whose middleware is missing: it fails with a 500.
struct BrokenSession;

impl FromRequest for BrokenSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(_: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Err(actix_web::error::ErrorInternalServerError(
            "session middleware missing",
        )))
    }
}

#[actix_web::test]
async fn server_error_rejections_stay_server_errors() {
    let routes = ChannelRoutes::new().private("room", |_: User, (): ()| async { true });
    let pusher = PusherAuthRoutes::new(Credentials::new("key", "secret").unwrap(), routes)
        .with_extractor(|_: BrokenSession| Some(User("x".into())));
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/pusher/auth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("socket_id=1.2&channel_name=private-room")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(response).await).unwrap();
    assert_eq!(body["error"]["code"], "authorizer_error");
}

#[actix_web::test]
async fn routes_receive_the_user_the_extractor_found() {
    let routes = ChannelRoutes::new()
        .private("orders.{id}", |user: User, id: u64| async move {
            user.0 == "ann" && id == 7
        })
        .user(|user: User| async move { pusher_auth::UserData::new(UserId::new(user.0).unwrap()) });
    let pusher = PusherAuthRoutes::new(Credentials::new("key", "secret").unwrap(), routes)
        .for_laravel_echo()
        .with_extractor(|identity: Identity| Some(User(identity.0)));
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let call = |path: &'static str, body: &'static str, user: &'static str| {
        test::TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(("x-user", user))
            .set_payload(body)
            .to_request()
    };
    let ok = test::call_service(
        &app,
        call(
            "/broadcasting/auth",
            "socket_id=1.2&channel_name=private-orders.7",
            "ann",
        ),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let no = test::call_service(
        &app,
        call(
            "/broadcasting/auth",
            "socket_id=1.2&channel_name=private-orders.7",
            "bob",
        ),
    )
    .await;
    assert_eq!(no.status(), 403);
    let signin = test::call_service(
        &app,
        call("/broadcasting/user-auth", "socket_id=1.2", "ann"),
    )
    .await;
    assert_eq!(signin.status(), 200);
}

#[actix_web::test]
async fn webhook_verifier_and_limits_are_configurable() {
    use pusher_auth::webhook::Webhook;
    let pusher = pusher().with_webhook_verifier(
        "/pusher/webhooks",
        |_: Webhook, _: http::request::Parts| async { Ok::<_, Infallible>(()) },
        |v| v.with_max_age(std::time::Duration::from_secs(60)),
    );
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let credentials = Credentials::new("key", "secret").unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let hook = |time_ms: u128, pad: usize| {
        let body = format!(
            r#"{{"time_ms":{time_ms},"events":[{{"name":"client_event","channel":"private-a","event":"client-x","data":"{}","socket_id":"1.1"}}]}}"#,
            "x".repeat(pad)
        );
        test::TestRequest::post()
            .uri("/pusher/webhooks")
            .insert_header(("content-type", "application/json"))
            .insert_header(("x-pusher-key", "key"))
            .insert_header(("x-pusher-signature", credentials.sign_hex(body.as_bytes())))
            .set_payload(body)
            .to_request()
    };
    // Larger than the 256-byte auth body limit set above: webhooks have their own.
    assert_eq!(
        test::call_service(&app, hook(now_ms, 20_000))
            .await
            .status(),
        200
    );
    // Two minutes old: over the configured minute.
    let stale = test::call_service(&app, hook(now_ms - 120_000, 10)).await;
    assert_eq!(stale.status(), 401);
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(stale).await).unwrap();
    assert_eq!(body["error"]["code"], "expired");
}

#[actix_web::test]
async fn sender_socket_reads_x_socket_id() {
    let app = test::init_service(App::new().route(
        "/send",
        actix_web::web::post().to(|SenderSocket(sender): SenderSocket| async move {
            format!("{:?}", sender.map(|s| s.into_string()))
        }),
    ))
    .await;
    let send = |header: Option<&'static str>| {
        let mut r = test::TestRequest::post().uri("/send");
        if let Some(h) = header {
            r = r.insert_header(("x-socket-id", h));
        }
        r.to_request()
    };
    let ok = test::call_service(&app, send(Some("1.2"))).await;
    assert_eq!(test::read_body(ok).await, r#"Some("1.2")"#);
    let none = test::call_service(&app, send(None)).await;
    assert_eq!(test::read_body(none).await, "None");
    let bad = test::call_service(&app, send(Some("1.2x"))).await;
    assert_eq!(bad.status(), 400);
}

/// Counts its runs: the extractor must not run for webhooks or malformed bodies.
struct Counted;

static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl FromRequest for Counted {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(_: &HttpRequest, _: &mut Payload) -> Self::Future {
        RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ready(Err(actix_web::error::ErrorInternalServerError(
            "store down",
        )))
    }
}

#[actix_web::test]
async fn extractors_run_only_for_requests_that_parse() {
    let routes = ChannelRoutes::new().private("room", |_: User, (): ()| async { true });
    let pusher = PusherAuthRoutes::new(Credentials::new("key", "secret").unwrap(), routes)
        .with_webhooks(
            "/pusher/webhooks",
            |_: pusher_auth::webhook::Webhook, _: http::request::Parts| async {
                Ok::<_, Infallible>(())
            },
        )
        .with_extractor(|_: Counted| Some(User("x".into())));
    let app = test::init_service(App::new().configure(|cfg| pusher.configure(cfg))).await;
    let form = |body: &'static str| {
        test::TestRequest::post()
            .uri("/pusher/auth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body)
            .to_request()
    };
    let before = RUNS.load(std::sync::atomic::Ordering::SeqCst);
    // Malformed: a 400, as under tower, whatever the extractor's backend.
    assert_eq!(
        test::call_service(&app, form("socket_id=1.2:"))
            .await
            .status(),
        400
    );
    // A webhook: verified without asking for a user.
    let hook = test::TestRequest::post()
        .uri("/pusher/webhooks")
        .insert_header(("content-type", "application/json"))
        .insert_header(("x-pusher-key", "key"))
        .insert_header(("x-pusher-signature", "0".repeat(64)))
        .set_payload("{}")
        .to_request();
    assert_eq!(test::call_service(&app, hook).await.status(), 401);
    // Refusals that need no user are answered as under tower, even with the backend down: a
    // public channel (400), an encrypted channel without a master key (403), a batch with
    // nothing left to decide (200, each channel refused on its own).
    let public = test::call_service(&app, form("socket_id=1.2&channel_name=room")).await;
    assert_eq!(public.status(), 400);
    let encrypted = test::call_service(
        &app,
        form("socket_id=1.2&channel_name=private-encrypted-room"),
    )
    .await;
    assert_eq!(encrypted.status(), 403);
    let batch = test::call_service(
        &app,
        form("socket_id=1.2&channel_name[0]=room&channel_name[1]=bad%20name"),
    )
    .await;
    assert_eq!(batch.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(batch).await).unwrap();
    assert_eq!(body["room"]["status"], 400, "{body}");
    assert_eq!(body["bad name"]["status"], 400, "{body}");
    assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), before);
    // A valid request runs it: its 500 stays a 500.
    let valid = test::call_service(&app, form("socket_id=1.2&channel_name=private-room")).await;
    assert_eq!(valid.status(), 500);
    assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), before + 1);
}
