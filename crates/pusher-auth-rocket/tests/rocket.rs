//! The Rocket adapter: request guards feeding the portable authorizer, limits, routes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../../../tests/support/logs.rs"]
mod logs;

use logs::Captured;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pusher_auth::testing::{verify_channel_auth, webhook_request};
use pusher_auth::{
    ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials, Endpoints,
    PresenceMember, SigninRequest, UserData, UserId, WebhookEvent, WebhookVerifier,
};
use pusher_auth_rocket::{PusherAuthRoutes, Refusal, SenderSocket, VerifiedWebhook};
use rocket::data::{Limits, ToByteUnit};
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Build, Rocket};

/// A Rocket guard (as a cookie or session guard would be): forwards without a `x-user` header.
struct Identity(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Identity {
    type Error = Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        match req.headers().get_one("x-user") {
            Some(u) => Outcome::Success(Identity(u.to_string())),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

#[derive(Clone)]
struct User(String);

fn credentials() -> Credentials {
    Credentials::new("key", "secret").unwrap()
}

fn endpoints() -> Endpoints<User> {
    Endpoints::new(
        credentials(),
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
    PusherAuthRoutes::new(endpoints()).with_guard(|identity: Identity| User(identity.0))
}

/// A quiet Rocket (no launch log), configured by `figment` changes.
fn rocket_with(limits: Option<Limits>) -> Rocket<Build> {
    let mut figment = rocket::Config::figment().merge(("log_level", "off"));
    if let Some(limits) = limits {
        figment = figment.merge(("limits", limits));
    }
    rocket::custom(figment)
}

async fn client(rocket: Rocket<Build>) -> Client {
    Client::tracked(rocket).await.unwrap()
}

async fn post<'c>(
    client: &'c Client,
    path: &'static str,
    user: Option<&'static str>,
    body: impl AsRef<[u8]>,
) -> LocalResponse<'c> {
    let mut request = client.post(path).header(ContentType::Form);
    if let Some(user) = user {
        request = request.header(Header::new("x-user", user));
    }
    request.body(body).dispatch().await
}

async fn code(response: LocalResponse<'_>) -> String {
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_bytes().await.unwrap()).unwrap();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[rocket::async_test]
async fn guards_feed_the_authorizer() {
    let client = client(rocket_with(None).mount("/", pusher().routes())).await;
    let response = post(
        &client,
        "/pusher/auth",
        Some("ann"),
        "socket_id=1.2&channel_name=presence-room",
    )
    .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    assert_eq!(
        response.headers().get_one("cache-control"),
        Some("no-store")
    );
    let body = response.into_bytes().await.unwrap();
    let verified = verify_channel_auth(&credentials(), "1.2", "presence-room", &body).unwrap();
    assert_eq!(verified.member().unwrap()["user_id"], "ann");
    // The guard forwards: no user, 403.
    let denied = post(
        &client,
        "/pusher/auth",
        None,
        "socket_id=1.2&channel_name=private-room",
    )
    .await;
    assert_eq!(denied.status(), Status::Forbidden);
    assert_eq!(code(denied).await, "forbidden");
}

#[rocket::async_test]
async fn bodies_over_the_limit_are_refused_with_or_without_a_length() {
    let client = client(rocket_with(None).mount("/", pusher())).await;
    // No Content-Length: the read stops at the limit.
    let response = post(&client, "/pusher/auth", Some("ann"), vec![b'a'; 1000]).await;
    assert_eq!(response.status(), Status::PayloadTooLarge);
    assert_eq!(code(response).await, "payload_too_large");
    // A declared Content-Length over the limit is refused before the read.
    let response = client
        .post("/pusher/auth")
        .header(ContentType::Form)
        .header(Header::new("content-length", "1000"))
        .body(vec![b'a'; 1000])
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::PayloadTooLarge);
    // Exactly the limit is read (and then refused as a malformed request, not as too large).
    let response = post(&client, "/pusher/auth", Some("ann"), vec![b'a'; 256]).await;
    assert_eq!(response.status(), Status::BadRequest);
}

#[rocket::async_test]
async fn rocket_limits_lower_the_body_limits() {
    let limits = Limits::default()
        .limit("pusher-auth", 64.bytes())
        .limit("pusher-webhook", 32.bytes());
    let pusher = PusherAuthRoutes::new(endpoints().with_webhooks(
        "/pusher/webhooks",
        |_: pusher_auth::webhook::Webhook, _: http::request::Parts| async {
            Ok::<_, Infallible>(())
        },
    ))
    .with_guard(|identity: Identity| User(identity.0));
    let client = client(rocket_with(Some(limits)).mount("/", pusher)).await;
    let body = format!("socket_id=1.2&channel_name=private-{}", "a".repeat(60));
    let response = post(&client, "/pusher/auth", Some("ann"), &body).await;
    assert_eq!(response.status(), Status::PayloadTooLarge);
    let text = response.into_string().await.unwrap();
    assert!(text.contains("the body exceeds 64 bytes"), "{text}");
    // Under Rocket's limit: answered.
    let ok = post(
        &client,
        "/pusher/auth",
        Some("ann"),
        "socket_id=1.2&channel_name=private-a",
    )
    .await;
    assert_eq!(ok.status(), Status::Ok);
    // Webhooks have their own.
    let hook = client
        .post("/pusher/webhooks")
        .header(ContentType::JSON)
        .body(vec![b' '; 40])
        .dispatch()
        .await;
    assert_eq!(hook.status(), Status::PayloadTooLarge);
    assert!(hook
        .into_string()
        .await
        .unwrap()
        .contains("exceeds 32 bytes"));
    // A Rocket limit above the endpoint's does not raise it.
    let limits = Limits::default().limit("pusher-auth", 1.mebibytes());
    let client = self::client(rocket_with(Some(limits)).mount("/", self::pusher())).await;
    let response = post(&client, "/pusher/auth", Some("ann"), vec![b'a'; 1000]).await;
    assert_eq!(response.status(), Status::PayloadTooLarge);
    assert!(response
        .into_string()
        .await
        .unwrap()
        .contains("exceeds 256 bytes"));
}

#[rocket::async_test]
async fn other_methods_get_the_shared_405_and_options_is_left_to_the_app() {
    let client = client(rocket_with(None).mount("/", pusher())).await;
    for method in [
        Method::Get,
        Method::Put,
        Method::Delete,
        Method::Patch,
        Method::Trace,
    ] {
        let response = client
            .req(method, "/pusher/auth")
            .header(ContentType::Form)
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::MethodNotAllowed, "{method}");
        assert_eq!(
            response.headers().get_one("allow"),
            Some("POST"),
            "{method}"
        );
        assert_eq!(code(response).await, "method_not_allowed");
    }
    // HEAD is answered from the GET route, without a body.
    let head = client.head("/pusher/auth").dispatch().await;
    assert_eq!(head.status(), Status::MethodNotAllowed);
    // OPTIONS is not ours: a CORS fairing or an app route answers it, else Rocket's 404.
    let options = client.options("/pusher/auth").dispatch().await;
    assert_eq!(options.status(), Status::NotFound);
}

#[rocket::async_test]
async fn other_paths_are_not_ours_and_a_base_prefixes_the_paths() {
    let client = client(rocket_with(None).mount("/api", pusher())).await;
    let response = post(
        &client,
        "/api/pusher/user-auth",
        Some("ann"),
        "socket_id=1.2",
    )
    .await;
    assert_eq!(response.status(), Status::NotFound);
    let response = post(
        &client,
        "/pusher/auth",
        Some("ann"),
        "socket_id=1.2&channel_name=private-a",
    )
    .await;
    assert_eq!(response.status(), Status::NotFound);
    let response = post(
        &client,
        "/api/pusher/auth",
        Some("ann"),
        "socket_id=1.2&channel_name=private-a",
    )
    .await;
    assert_eq!(response.status(), Status::Ok);
    // Rocket matches decoded, non-empty segments; the endpoints answer only their own path,
    // byte for byte, as under every other adapter.
    for path in [
        "/api/pusher/auth/",
        "//api/pusher//auth",
        "/api/pusher/%61uth",
    ] {
        let response = post(
            &client,
            path,
            Some("ann"),
            "socket_id=1.2&channel_name=private-a",
        )
        .await;
        assert_eq!(response.status(), Status::NotFound, "{path}");
    }
}

/// A guard whose backend is down: fails with a 500 (or, as configured, a 4xx).
struct Broken;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Broken {
    type Error = &'static str;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, &'static str> {
        let status = req
            .headers()
            .get_one("x-status")
            .and_then(|s| s.parse().ok())
            .and_then(Status::from_code)
            .unwrap_or(Status::InternalServerError);
        Outcome::Error((status, "session store down"))
    }
}

#[rocket::async_test]
async fn server_error_guards_stay_server_errors_and_client_errors_deny() {
    let routes = ChannelRoutes::new().private("room", |_: User, (): ()| async { true });
    let pusher = PusherAuthRoutes::new(Endpoints::new(credentials(), routes))
        .with_guard(|_: Broken| Some(User("x".into())));
    let client = client(rocket_with(None).mount("/", pusher)).await;
    let send = |status: &'static str| {
        client
            .post("/pusher/auth")
            .header(ContentType::Form)
            .header(Header::new("x-status", status))
            .body("socket_id=1.2&channel_name=private-room")
            .dispatch()
    };
    for status in ["500", "503"] {
        let response = send(status).await;
        assert_eq!(response.status(), Status::InternalServerError, "{status}");
        assert_eq!(code(response).await, "authorizer_error");
    }
    for status in ["401", "403", "400"] {
        let response = send(status).await;
        assert_eq!(response.status(), Status::Forbidden, "{status}");
        assert_eq!(code(response).await, "forbidden");
    }
    // Refusals that need no user do not ask the guard: the same answers as under tower,
    // with the guard's backend down.
    let refused = |body: &'static str| {
        client
            .post("/pusher/auth")
            .header(ContentType::Form)
            .body(body)
            .dispatch()
    };
    let public = refused("socket_id=1.2&channel_name=room").await;
    assert_eq!(public.status(), Status::BadRequest);
    let batch = refused("socket_id=1.2&channel_name[0]=room&channel_name[1]=bad%20name").await;
    assert_eq!(batch.status(), Status::Ok);
}

/// A guard whose error carries what the request sent.
struct Leaky;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Leaky {
    type Error = String;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, String> {
        let token = req.headers().get_one("authorization").unwrap_or_default();
        let status = if token.contains("down") {
            Status::InternalServerError
        } else {
            Status::Unauthorized
        };
        Outcome::Error((status, format!("rejected {token}")))
    }
}

#[rocket::async_test]
async fn guard_errors_are_never_logged() {
    let logs = Captured::default();
    let subscriber = logs.subscriber(tracing::Level::DEBUG);
    let _guard = tracing::subscriber::set_default(subscriber);
    let routes = ChannelRoutes::new().private("room", |_: User, (): ()| async { true });
    let pusher = PusherAuthRoutes::new(Endpoints::new(credentials(), routes))
        .with_guard(|_: Leaky| Some(User("x".into())));
    let client = client(rocket_with(None).mount("/", pusher)).await;
    for (token, status) in [
        ("Bearer SECRET-TOKEN-down", Status::InternalServerError),
        ("Bearer SECRET-TOKEN-jwt", Status::Forbidden),
    ] {
        let response = client
            .post("/pusher/auth")
            .header(ContentType::Form)
            .header(Header::new("authorization", token))
            .body("socket_id=1.2&channel_name=private-room")
            .dispatch()
            .await;
        assert_eq!(response.status(), status, "{token}");
    }
    let logged = logs.text();
    assert!(logged.contains("Leaky"), "the guard is named: {logged}");
    assert!(!logged.contains("SECRET-TOKEN"), "{logged}");
}

/// Counts how often it runs.
struct Counted(String);

static COUNTED: AtomicUsize = AtomicUsize::new(0);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Counted {
    type Error = Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        COUNTED.fetch_add(1, Ordering::SeqCst);
        match req.headers().get_one("x-user") {
            Some(u) => Outcome::Success(Counted(u.to_string())),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

#[rocket::async_test]
async fn routes_receive_the_user_the_guard_found_once_per_request() {
    let decided = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&decided);
    let routes = ChannelRoutes::new().private("orders.{id}", move |user: User, id: u64| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move { user.0 == "ann" && id == 7 }
    });
    let endpoints = Endpoints::new(credentials(), routes)
        .with_signin(|user: User, _: SigninRequest| async move {
            UserData::new(UserId::new(user.0).unwrap())
        })
        .for_laravel_echo();
    let pusher =
        PusherAuthRoutes::new(endpoints).with_guard(|counted: Counted| Some(User(counted.0)));
    let client = client(rocket_with(None).mount("/", pusher)).await;
    let ok = post(
        &client,
        "/broadcasting/auth",
        Some("ann"),
        "socket_id=1.2&channel_name=private-orders.7",
    )
    .await;
    assert_eq!(ok.status(), Status::Ok);
    let no = post(
        &client,
        "/broadcasting/auth",
        Some("bob"),
        "socket_id=1.2&channel_name=private-orders.7",
    )
    .await;
    assert_eq!(no.status(), Status::Forbidden);
    let signin = post(
        &client,
        "/broadcasting/user-auth",
        Some("ann"),
        "socket_id=1.2",
    )
    .await;
    assert_eq!(signin.status(), Status::Ok);
    pusher_auth::testing::verify_user_auth(
        &credentials(),
        "1.2",
        signin.into_bytes().await.unwrap().as_slice(),
    )
    .unwrap();
    // A batch of three: three decisions, one guard run.
    let before = COUNTED.load(Ordering::SeqCst);
    decided.store(0, Ordering::SeqCst);
    let batch = post(
        &client,
        "/broadcasting/auth",
        Some("ann"),
        "socket_id=1.2&channel_name[0]=private-orders.7&channel_name[1]=private-orders.8&channel_name[2]=private-orders.9",
    )
    .await;
    assert_eq!(batch.status(), Status::Ok);
    assert_eq!(decided.load(Ordering::SeqCst), 3);
    assert_eq!(COUNTED.load(Ordering::SeqCst) - before, 1);
}

#[rocket::async_test]
async fn webhook_verifier_and_limits_are_configurable() {
    use pusher_auth::webhook::Webhook;
    let pusher = PusherAuthRoutes::new(endpoints().with_webhook_verifier(
        "/pusher/webhooks",
        |_: Webhook, _: http::request::Parts| async { Ok::<_, Infallible>(()) },
        |v| v.with_max_age(std::time::Duration::from_secs(60)),
    ))
    .with_guard(|identity: Identity| User(identity.0));
    let client = client(rocket_with(None).mount("/", pusher)).await;
    let credentials = credentials();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let hook = |time_ms: u128, pad: usize| {
        let body = format!(
            r#"{{"time_ms":{time_ms},"events":[{{"name":"client_event","channel":"private-a","event":"client-x","data":"{}","socket_id":"1.1"}}]}}"#,
            "x".repeat(pad)
        );
        client
            .post("/pusher/webhooks")
            .header(ContentType::JSON)
            .header(Header::new("x-pusher-key", "key"))
            .header(Header::new(
                "x-pusher-signature",
                credentials.sign_hex(body.as_bytes()),
            ))
            .body(body)
            .dispatch()
    };
    // Larger than the 256-byte auth body limit set above: webhooks have their own.
    assert_eq!(hook(now_ms, 20_000).await.status(), Status::Ok);
    // Two minutes old: over the configured minute.
    let stale = hook(now_ms - 120_000, 10).await;
    assert_eq!(stale.status(), Status::Unauthorized);
    assert_eq!(code(stale).await, "expired");
}

#[rocket::post("/send")]
fn send(sender: SenderSocket) -> String {
    format!("{:?}", sender.0.map(|s| s.into_string()))
}

#[rocket::post("/send-json")]
fn send_json(sender: Result<SenderSocket, Refusal>) -> Result<&'static str, Refusal> {
    sender.map(|_| "sent")
}

#[rocket::async_test]
async fn sender_socket_reads_x_socket_id() {
    let client = client(rocket_with(None).mount("/", rocket::routes![send, send_json])).await;
    let send = |path: &'static str, header: Option<&'static str>| {
        let mut r = client.post(path);
        if let Some(h) = header {
            r = r.header(Header::new("x-socket-id", h));
        }
        r.dispatch()
    };
    let ok = send("/send", Some("1.2")).await;
    assert_eq!(ok.into_string().await.unwrap(), r#"Some("1.2")"#);
    let none = send("/send", None).await;
    assert_eq!(none.into_string().await.unwrap(), "None");
    let bad = send("/send", Some("1.2x")).await;
    assert_eq!(bad.status(), Status::BadRequest);
    // Taken as a `Result`, the error answers with the JSON refusal.
    let bad = send("/send-json", Some("1.2x")).await;
    assert_eq!(bad.status(), Status::BadRequest);
    assert_eq!(bad.content_type(), Some(ContentType::JSON));
    assert_eq!(code(bad).await, "invalid_socket_id");
    assert_eq!(send("/send-json", Some("1.2")).await.status(), Status::Ok);
}

/// The README's guard: the user id in a private cookie.
#[derive(Clone)]
struct CookieUser(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CookieUser {
    type Error = Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        match req.cookies().get_private("user_id") {
            Some(cookie) => Outcome::Success(CookieUser(cookie.value().to_owned())),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

#[rocket::post("/login/<name>")]
fn login(name: &str, cookies: &rocket::http::CookieJar<'_>) -> Status {
    cookies.add_private(("user_id", name.to_owned()));
    Status::NoContent
}

#[rocket::async_test]
async fn a_private_cookie_guard_feeds_the_routes() {
    let routes = ChannelRoutes::new()
        .private("orders.{id}", |user: CookieUser, id: u64| async move {
            user.0 == "ann" && id == 7
        });
    let endpoints =
        Endpoints::new(credentials(), routes).with_signin(
            |user: CookieUser, _: SigninRequest| async move {
                UserData::new(UserId::new(user.0).unwrap())
            },
        );
    let pusher = PusherAuthRoutes::new(endpoints).with_guard(|user: CookieUser| user);
    // A tracked client keeps the cookies it is sent.
    let client = client(
        rocket_with(None)
            .mount("/", pusher)
            .mount("/", rocket::routes![login]),
    )
    .await;
    let before = post(
        &client,
        "/pusher/auth",
        None,
        "socket_id=1.2&channel_name=private-orders.7",
    )
    .await;
    assert_eq!(before.status(), Status::Forbidden);
    assert_eq!(
        client.post("/login/ann").dispatch().await.status(),
        Status::NoContent
    );
    let after = post(
        &client,
        "/pusher/auth",
        None,
        "socket_id=1.2&channel_name=private-orders.7",
    )
    .await;
    assert_eq!(after.status(), Status::Ok);
    let signin = post(&client, "/pusher/user-auth", None, "socket_id=1.2").await;
    assert_eq!(signin.status(), Status::Ok);
    // Another user's cookie: the route denies.
    assert_eq!(
        client.post("/login/bob").dispatch().await.status(),
        Status::NoContent
    );
    let other = post(
        &client,
        "/pusher/auth",
        None,
        "socket_id=1.2&channel_name=private-orders.7",
    )
    .await;
    assert_eq!(other.status(), Status::Forbidden);
}

#[test]
fn debug_hides_the_secret() {
    let pusher = PusherAuthRoutes::new(Endpoints::new(
        Credentials::new("key", "very-secret-value").unwrap(),
        ChannelRoutes::<User>::new(),
    ));
    let debug = format!("{pusher:?}");
    assert!(debug.contains("PusherAuthRoutes"), "{debug}");
    assert!(!debug.contains("very-secret-value"), "{debug}");
}

/// Without a guard, routes for a user type fail at start-up, naming the fix.
#[test]
fn a_missing_guard_is_a_start_up_error() {
    let routes = ChannelRoutes::new().private("room", |_: User, (): ()| async { true });
    let pusher = PusherAuthRoutes::new(Endpoints::new(credentials(), routes));
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pusher.routes())).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("nothing finds that user") && message.contains("with_guard"),
        "{message}"
    );
    let anyone = |(): (), _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) };
    assert_eq!(
        PusherAuthRoutes::new(Endpoints::new(credentials(), anyone))
            .routes()
            .len(),
        7
    );
}

#[rocket::post("/pusher/webhooks", data = "<webhook>")]
fn webhooks(
    seen: &rocket::State<std::sync::Mutex<Vec<String>>>,
    webhook: Result<VerifiedWebhook, Refusal>,
) -> Result<Status, Refusal> {
    let VerifiedWebhook(webhook) = webhook?;
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
    Ok(Status::Ok)
}

/// Webhooks on an ordinary route: the handler takes managed state, the guard verifies.
#[rocket::async_test]
async fn verified_webhooks_reach_a_handler_with_managed_state() {
    let client = client(
        rocket_with(None)
            .manage(WebhookVerifier::new(credentials()))
            .manage(std::sync::Mutex::new(Vec::<String>::new()))
            .mount("/", rocket::routes![webhooks]),
    )
    .await;
    let send = |request: http::Request<String>| {
        let mut local = client.post(request.uri().to_string());
        for (name, value) in request.headers() {
            local = local.header(Header::new(
                name.as_str().to_owned(),
                value.to_str().unwrap().to_owned(),
            ));
        }
        local.body(request.into_body()).dispatch()
    };
    let event =
        serde_json::json!({"name": "member_added", "channel": "presence-team.3", "user_id": "7"});
    let ok = send(webhook_request(
        &credentials(),
        "/pusher/webhooks",
        [event.clone()],
    ))
    .await;
    assert_eq!(ok.status(), Status::Ok);
    let seen = client
        .rocket()
        .state::<std::sync::Mutex<Vec<String>>>()
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["7 joined presence-team.3"]);
    let forged = webhook_request(
        &Credentials::new("key", "other").unwrap(),
        "/pusher/webhooks",
        [event],
    );
    let refused = send(forged).await;
    assert_eq!(refused.status(), Status::Unauthorized);
    assert_eq!(code(refused).await, "bad_signature");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A webhook route without a managed verifier does not launch.
#[rocket::async_test]
async fn a_webhook_route_without_a_verifier_does_not_launch() {
    let rocket = rocket_with(None)
        .manage(std::sync::Mutex::new(Vec::<String>::new()))
        .mount("/", rocket::routes![webhooks]);
    let error = rocket.ignite().await.unwrap_err();
    assert!(
        matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{error:?}"
    );
}
