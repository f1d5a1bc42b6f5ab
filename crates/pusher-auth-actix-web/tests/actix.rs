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
use pusher_auth::testing::{verify_channel_auth, webhook_request};
use pusher_auth::{
    ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials, Endpoints,
    PresenceMember, SigninRequest, UserData, UserId, WebhookEvent, WebhookVerifier,
};
use pusher_auth_actix_web::{PusherAuthRoutes, SenderSocket, VerifiedWebhook};

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

fn endpoints() -> Endpoints<User> {
    Endpoints::new(
        Credentials::new("key", "secret").unwrap(),
        |User(name): User, req: ChannelRequest| async move {
            Ok::<_, Infallible>(match req.channel().kind() {
                ChannelKind::Presence => {
                    ChannelDecision::member(PresenceMember::new(UserId::new(name).unwrap()))
                }
                _ => ChannelDecision::Allow,
            })
        },
    )
    .with_body_limit(256)
}

fn pusher() -> PusherAuthRoutes<User> {
    PusherAuthRoutes::new(endpoints()).with_extractor(|identity: Identity| User(identity.0))
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
    // No sign-in handler: the sign-in path is the app's.
    let pusher = pusher();
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
    let pusher = PusherAuthRoutes::new(Endpoints::new(
        Credentials::new("key", "secret").unwrap(),
        routes,
    ))
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
    let routes = ChannelRoutes::new().private("orders.{id}", |user: User, id: u64| async move {
        user.0 == "ann" && id == 7
    });
    let endpoints = Endpoints::new(Credentials::new("key", "secret").unwrap(), routes)
        .with_signin(|user: User, _: SigninRequest| async move {
            UserData::new(UserId::new(user.0).unwrap())
        })
        .for_laravel_echo();
    let pusher = PusherAuthRoutes::new(endpoints)
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
    let pusher = PusherAuthRoutes::new(endpoints().with_webhook_verifier(
        "/pusher/webhooks",
        |_: Webhook, _: http::request::Parts| async { Ok::<_, Infallible>(()) },
        |v| v.with_max_age(std::time::Duration::from_secs(60)),
    ))
    .with_extractor(|identity: Identity| User(identity.0));
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
    let endpoints = Endpoints::new(Credentials::new("key", "secret").unwrap(), routes)
        .with_webhooks(
            "/pusher/webhooks",
            |_: pusher_auth::webhook::Webhook, _: http::request::Parts| async {
                Ok::<_, Infallible>(())
            },
        );
    let pusher =
        PusherAuthRoutes::new(endpoints).with_extractor(|_: Counted| Some(User("x".into())));
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
    // public channel (400), a batch with nothing left to decide (200, each channel refused on
    // its own).
    let public = test::call_service(&app, form("socket_id=1.2&channel_name=room")).await;
    assert_eq!(public.status(), 400);
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

/// Without an extractor, routes for a user type fail at start-up, naming the fix; an
/// authorizer for `()` needs none.
#[actix_web::test]
async fn a_missing_extractor_is_a_start_up_error() {
    let routes = ChannelRoutes::new().private("room", |_: User, (): ()| async { true });
    let pusher = PusherAuthRoutes::new(Endpoints::new(
        Credentials::new("key", "secret").unwrap(),
        routes,
    ));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = App::new().configure(|cfg| pusher.configure(cfg));
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("nothing finds that user") && message.contains("with_extractor"),
        "{message}"
    );
    let anyone = |(): (), _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) };
    let pusher = PusherAuthRoutes::new(Endpoints::new(
        Credentials::new("key", "secret").unwrap(),
        anyone,
    ));
    let _ = App::new().configure(|cfg| pusher.configure(cfg));
}

/// The recommended stack, actix-session + actix-identity: what each missing middleware and an
/// anonymous visitor give, as the crate docs say.
mod identity_stack {
    use super::*;
    use actix_identity::{Identity, IdentityMiddleware};
    use actix_session::storage::CookieSessionStore;
    use actix_session::SessionMiddleware;
    use actix_web::cookie::Key;
    use actix_web::{web, HttpMessage, HttpResponse};

    fn pusher() -> PusherAuthRoutes<User> {
        let routes = ChannelRoutes::new()
            .private("room", |user: User, (): ()| async move { user.0 == "ann" });
        PusherAuthRoutes::new(Endpoints::new(
            Credentials::new("key", "secret").unwrap(),
            routes,
        ))
        .with_extractor(|identity: Identity| identity.id().ok().map(User))
    }

    async fn login(req: HttpRequest) -> HttpResponse {
        Identity::login(&req.extensions(), "ann".into()).unwrap();
        HttpResponse::NoContent().finish()
    }

    fn auth() -> test::TestRequest {
        test::TestRequest::post()
            .uri("/pusher/auth")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("socket_id=1.2&channel_name=private-room")
    }

    #[actix_web::test]
    async fn each_missing_middleware_and_a_visitor_answer_as_documented() {
        let key = Key::generate();
        let full = pusher();
        // Both middlewares: a visitor is 403, a logged-in user 200.
        let app = test::init_service(
            App::new()
                .configure(|cfg| full.configure(cfg))
                .route("/login", web::post().to(login))
                .wrap(IdentityMiddleware::default())
                .wrap(SessionMiddleware::new(
                    CookieSessionStore::default(),
                    key.clone(),
                )),
        )
        .await;
        assert_eq!(
            test::call_service(&app, auth().to_request()).await.status(),
            403
        );
        let logged_in =
            test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
        let cookie = logged_in.response().cookies().next().unwrap().into_owned();
        let request = auth().cookie(cookie).to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 200);

        // Without IdentityMiddleware, actix-identity panics: a 500 `misconfigured`, not a
        // dropped connection.
        let no_identity = pusher();
        let app = test::init_service(App::new().configure(|cfg| no_identity.configure(cfg)).wrap(
            SessionMiddleware::new(CookieSessionStore::default(), key.clone()),
        ))
        .await;
        let response = test::call_service(&app, auth().to_request()).await;
        assert_eq!(response.status(), 500);
        let body: serde_json::Value =
            serde_json::from_slice(&test::read_body(response).await).unwrap();
        assert_eq!(body["error"]["code"], "misconfigured");

        // Without SessionMiddleware, actix-session hands out empty sessions: every request
        // looks anonymous, a 403 (the one mistake no extractor can tell from a visitor).
        let no_session = pusher();
        let app = test::init_service(
            App::new()
                .configure(|cfg| no_session.configure(cfg))
                .wrap(IdentityMiddleware::default()),
        )
        .await;
        assert_eq!(
            test::call_service(&app, auth().to_request()).await.status(),
            403
        );
    }
}

/// Webhooks on an ordinary route: the handler takes the app's data, the extractor verifies.
#[actix_web::test]
async fn verified_webhooks_reach_a_handler_with_app_data() {
    use actix_web::{web, HttpResponse};
    use std::sync::Mutex;
    async fn webhooks(
        seen: web::Data<Mutex<Vec<String>>>,
        VerifiedWebhook(webhook): VerifiedWebhook,
    ) -> HttpResponse {
        for event in webhook.events() {
            if let WebhookEvent::MemberAdded {
                channel, user_id, ..
            } = event
            {
                seen.lock()
                    .unwrap()
                    .push(format!("{user_id} joined {channel}"));
            }
        }
        HttpResponse::Ok().finish()
    }
    let credentials = Credentials::new("key", "secret").unwrap();
    let seen = web::Data::new(Mutex::new(Vec::<String>::new()));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(WebhookVerifier::new(credentials.clone())))
            .app_data(seen.clone())
            .route("/pusher/webhooks", web::post().to(webhooks)),
    )
    .await;
    let event =
        serde_json::json!({"name": "member_added", "channel": "presence-team.3", "user_id": "7"});
    let to_actix = |request: http::Request<String>| {
        let mut r = test::TestRequest::post().uri(&request.uri().to_string());
        for (name, value) in request.headers() {
            r = r.insert_header((name.as_str(), value.to_str().unwrap()));
        }
        r.set_payload(request.into_body()).to_request()
    };
    let ok = test::call_service(
        &app,
        to_actix(webhook_request(
            &credentials,
            "/pusher/webhooks",
            [event.clone()],
        )),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(*seen.lock().unwrap(), ["7 joined presence-team.3"]);
    let forged = webhook_request(
        &Credentials::new("key", "other").unwrap(),
        "/pusher/webhooks",
        [event],
    );
    let refused = test::call_service(&app, to_actix(forged)).await;
    assert_eq!(refused.status(), 401);
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(refused).await).unwrap();
    assert_eq!(body["error"]["code"], "bad_signature");
    assert_eq!(seen.lock().unwrap().len(), 1);
}
