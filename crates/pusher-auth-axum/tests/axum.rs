//! The axum adapter: extractor-based authorizers and both mounting forms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use pusher_auth::testing::{verify_channel_auth, verify_user_auth, webhook_request};
use pusher_auth::{
    ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials, Endpoints,
    PresenceMember, SigninDecision, SigninRequest, UserData, UserId, WebhookEvent, WebhookVerifier,
};
use pusher_auth_axum::{PusherAuthLayer, RouterExt, SenderSocket, VerifiedWebhook};
use tower::ServiceExt;

#[derive(Clone)]
struct User {
    name: String,
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = (StatusCode, &'static str);
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("x-user").and_then(|v| v.to_str().ok()) {
            Some(name) => Ok(User {
                name: name.to_string(),
            }),
            None => Err((StatusCode::UNAUTHORIZED, "log in first")),
        }
    }
}

/// An extractor that needs the router state: the list of admins.
#[derive(Clone)]
struct Admins(Vec<&'static str>);

#[derive(Clone)]
struct Admin(String);

impl<S> FromRequestParts<S> for Admin
where
    Admins: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = StatusCode;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let State(admins) = State::<Admins>::from_request_parts(parts, state)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        let name = parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .ok_or(StatusCode::UNAUTHORIZED)?;
        admins
            .0
            .contains(&name)
            .then(|| Admin(name.to_string()))
            .ok_or(StatusCode::FORBIDDEN)
    }
}

fn credentials() -> Credentials {
    Credentials::new("key", "secret").unwrap()
}

fn endpoints() -> Endpoints<User> {
    let authorizer = |user: User, request: ChannelRequest| async move {
        Ok::<_, Infallible>(match request.channel().kind() {
            ChannelKind::Presence => ChannelDecision::member(
                PresenceMember::new(UserId::new(user.name.clone()).unwrap())
                    .with_info(serde_json::json!({"name": user.name})),
            ),
            _ => ChannelDecision::Allow,
        })
    };
    let signin = |user: User, _request: SigninRequest| async move {
        SigninDecision::user(UserData::new(UserId::new(user.name).unwrap()))
    };
    Endpoints::new(credentials(), authorizer)
        .with_signin(signin)
        .with_channel_path("/channels/authorize")
}

/// A login middleware for the layer form: `Option<User>` in every request.
async fn login(
    mut request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(|name| User {
            name: name.to_string(),
        });
    request.extensions_mut().insert(user);
    next.run(request).await
}

fn post(path: &str, body: &str, user: Option<&str>) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(u) = user {
        b = b.header("x-user", u);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, String) {
    let response = app.oneshot(req).await.unwrap();
    let status = response.status();
    (
        status,
        String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn extractor_users_decide_channels_and_sign_in() {
    for app in [
        Router::new()
            .route("/", get(|| async { "home" }))
            .pusher_auth(endpoints()),
        // Intercepting as a layer, with the user from a login middleware, answers the same.
        Router::new()
            .route("/", get(|| async { "home" }))
            .layer(PusherAuthLayer::new(endpoints()))
            .layer(axum::middleware::from_fn(login)),
    ] {
        let (status, body) = call(
            app.clone(),
            post(
                "/channels/authorize",
                "socket_id=1.2&channel_name=presence-room",
                Some("ann"),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v =
            verify_channel_auth(&credentials(), "1.2", "presence-room", body.as_bytes()).unwrap();
        assert_eq!(v.member().unwrap()["user_info"]["name"], "ann");
        // The extractor's 401 rejection denies: 403, without the rejection's body.
        let (status, body) = call(
            app.clone(),
            post(
                "/channels/authorize",
                "socket_id=1.2&channel_name=private-room",
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!body.contains("log in first"));
        let (status, body) = call(
            app.clone(),
            post("/pusher/user-auth", "socket_id=1.2", Some("ann")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            verify_user_auth(&credentials(), "1.2", body.as_bytes()).unwrap()["id"],
            "ann"
        );
        assert_eq!(
            call(
                app.clone(),
                post("/pusher/user-auth", "socket_id=1.2", None)
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            call(app, Request::get("/").body(Body::empty()).unwrap())
                .await
                .1,
            "home"
        );
    }
}

#[tokio::test]
async fn extractors_read_the_router_state() {
    let authorizer = |admin: Admin, _request: ChannelRequest| async move {
        Ok::<_, Infallible>(ChannelDecision::allow_if(!admin.0.is_empty(), "empty"))
    };
    let app = Router::new()
        .pusher_auth(Endpoints::new(credentials(), authorizer))
        .with_state(Admins(vec!["root"]));
    assert_eq!(
        call(
            app.clone(),
            post(
                "/pusher/auth",
                "socket_id=1.2&channel_name=private-ops",
                Some("root")
            )
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call(
            app.clone(),
            post(
                "/pusher/auth",
                "socket_id=1.2&channel_name=private-ops",
                Some("ann")
            )
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Sign-in was not configured: its path is not a route.
    assert_eq!(
        call(
            app,
            post("/pusher/user-auth", "socket_id=1.2", Some("root"))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

/// The endpoints are routes: whatever the app adds later, they keep answering.
#[tokio::test]
async fn later_fallbacks_merges_and_nesting_do_not_hide_the_endpoints() {
    let auth = |path: &str| post(path, "socket_id=1.2&channel_name=private-room", Some("ann"));
    let base = || {
        Router::new()
            .route("/", get(|| async { "home" }))
            .pusher_auth(endpoints())
    };
    let fallback = base().fallback(|| async { (StatusCode::NOT_FOUND, "app 404") });
    let fallback_service =
        base().fallback_service(tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>((StatusCode::NOT_FOUND, "static files").into_response())
        }));
    let merged =
        base().merge(Router::new().fallback(|| async { (StatusCode::NOT_FOUND, "merged 404") }));
    let merged_into = Router::new()
        .fallback(|| async { (StatusCode::NOT_FOUND, "outer 404") })
        .merge(base());
    for (name, app) in [
        ("fallback", fallback),
        ("fallback_service", fallback_service),
        ("merge", merged),
        ("merged into", merged_into),
    ] {
        let (status, body) = call(app.clone(), auth("/channels/authorize")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        verify_channel_auth(&credentials(), "1.2", "private-room", body.as_bytes()).unwrap();
        // The app's own routes and fallback still work.
        assert_eq!(
            call(app.clone(), Request::get("/").body(Body::empty()).unwrap())
                .await
                .1,
            "home"
        );
        assert_eq!(
            call(app, Request::get("/nope").body(Body::empty()).unwrap())
                .await
                .0,
            StatusCode::NOT_FOUND
        );
    }
    // Nested under /api, the endpoints move with the router.
    let nested = Router::new()
        .nest("/api", base())
        .fallback(|| async { (StatusCode::NOT_FOUND, "x") });
    assert_eq!(
        call(nested.clone(), auth("/api/channels/authorize"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(nested, auth("/channels/authorize")).await.0,
        StatusCode::NOT_FOUND
    );
}

/// An extractor that fails as a missing session layer does: with a 500.
#[derive(Clone)]
struct Broken;

impl<S: Send + Sync> FromRequestParts<S> for Broken {
    type Rejection = (StatusCode, &'static str);
    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "Can't extract session. Is `SessionManagerLayer` enabled?",
        ))
    }
}

#[tokio::test]
async fn server_error_rejections_stay_server_errors() {
    let allow =
        |_: Broken, _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) };
    let app = Router::new().pusher_auth(Endpoints::new(credentials(), allow));
    let (status, body) = call(
        app.clone(),
        post("/pusher/auth", "socket_id=1.2&channel_name=private-a", None),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body.contains("authorizer_error"), "{body}");
    // A batch whose user cannot be found fails whole, as one request.
    let batch = "socket_id=1.2&channel_name[0]=private-a&channel_name[1]=private-b";
    let (status, body) = call(app, post("/pusher/auth", batch, None)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    // A 401 rejection (not logged in) denies.
    let app = Router::new().pusher_auth(endpoints());
    let (status, _) = call(
        app,
        post(
            "/channels/authorize",
            "socket_id=1.2&channel_name=private-a",
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The real thing: tower-sessions' `Session` with its layer forgotten is a 500, with it a user.
#[tokio::test]
async fn tower_sessions_without_its_layer_is_a_500() {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
    let policy = |session: Session, _: ChannelRequest| async move {
        let user: Option<String> = session
            .get("user")
            .await
            .map_err(|e| Box::new(e) as pusher_auth::authorizer::BoxError)?;
        Ok::<_, pusher_auth::authorizer::BoxError>(ChannelDecision::allow_if(
            user.is_some(),
            "not logged in",
        ))
    };
    let pusher = Endpoints::new(credentials(), policy);
    let forgot = Router::new().pusher_auth(pusher.clone());
    let (status, _) = call(
        forgot,
        post("/pusher/auth", "socket_id=1.2&channel_name=private-a", None),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let with_layer = Router::new()
        .pusher_auth(pusher)
        .layer(SessionManagerLayer::new(MemoryStore::default()));
    let (status, _) = call(
        with_layer,
        post("/pusher/auth", "socket_id=1.2&channel_name=private-a", None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Counts its extractions.
#[derive(Clone)]
struct Counted;

static EXTRACTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl<S: Send + Sync> FromRequestParts<S> for Counted {
    type Rejection = StatusCode;
    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        EXTRACTIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Counted)
    }
}

#[tokio::test]
async fn a_batch_extracts_the_user_once() {
    let routes =
        ChannelRoutes::new().private("c.{n}", |_: Counted, n: u32| async move { n % 2 == 0 });
    let app = Router::new().pusher_auth(Endpoints::new(credentials(), routes));
    let batch: String = (0..100)
        .map(|i| format!("&channel_name[{i}]=private-c.{i}"))
        .collect();
    let before = EXTRACTIONS.load(std::sync::atomic::Ordering::SeqCst);
    let (status, body) = call(
        app,
        post("/pusher/auth", &format!("socket_id=1.2{batch}"), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        EXTRACTIONS.load(std::sync::atomic::Ordering::SeqCst) - before,
        1
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["private-c.2"]["status"], 200);
    assert_eq!(v["private-c.3"]["status"], 403);
}

#[tokio::test]
async fn channel_routes_receive_the_extracted_user() {
    let routes = ChannelRoutes::new()
        .private("orders.{id}", |user: User, id: u64| async move {
            user.name == "ann" && id == 7
        })
        .presence("chat", |user: User, (): ()| async move {
            PresenceMember::new(UserId::new(user.name.clone()).unwrap())
                .with_info(serde_json::json!({ "name": user.name }))
        });
    let app = Router::new().pusher_auth(
        Endpoints::new(credentials(), routes)
            .with_signin(|user: User, _: SigninRequest| async move {
                UserData::new(UserId::new(user.name).unwrap())
            })
            .for_laravel_echo(),
    );
    let ch = |name: &str, user: Option<&str>| {
        post(
            "/broadcasting/auth",
            &format!("socket_id=1.2&channel_name={name}"),
            user,
        )
    };
    assert_eq!(
        call(app.clone(), ch("private-orders.7", Some("ann")))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(app.clone(), ch("private-orders.7", Some("bob")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(app.clone(), ch("private-orders.007", Some("ann")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = call(app.clone(), ch("presence-chat", Some("ann"))).await;
    assert_eq!(status, StatusCode::OK);
    let verified =
        verify_channel_auth(&credentials(), "1.2", "presence-chat", body.as_bytes()).unwrap();
    assert_eq!(verified.member().unwrap()["user_info"]["name"], "ann");
    let (status, body) = call(
        app,
        post("/broadcasting/user-auth", "socket_id=1.2", Some("ann")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        verify_user_auth(&credentials(), "1.2", body.as_bytes()).unwrap()["id"],
        "ann"
    );
}

#[tokio::test]
async fn sender_socket_reads_x_socket_id() {
    let app = Router::new().route(
        "/send",
        axum::routing::post(|SenderSocket(sender): SenderSocket| async move {
            format!("{:?}", sender.map(|s| s.into_string()))
        }),
    );
    let send = |header: Option<&str>| {
        let mut b = Request::post("/send");
        if let Some(h) = header {
            b = b.header("x-socket-id", h);
        }
        b.body(Body::empty()).unwrap()
    };
    assert_eq!(
        call(app.clone(), send(Some("123.456"))).await,
        (StatusCode::OK, r#"Some("123.456")"#.into())
    );
    assert_eq!(
        call(app.clone(), send(None)).await,
        (StatusCode::OK, "None".into())
    );
    let (status, body) = call(app, send(Some("123.456:x"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_socket_id"));
}

#[tokio::test]
async fn routes_form_nests() {
    let app = Router::new().nest("/api", Router::new().pusher_auth(endpoints()));
    let (status, _) = call(
        app,
        post(
            "/api/channels/authorize",
            "socket_id=1.2&channel_name=private-room",
            Some("ann"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// axum-login, the recommended login stack: `AuthSession` with its layers missing is a 500
/// (the app's mistake), a visitor who is not logged in a 403, a logged-in user decides.
mod axum_login_stack {
    use super::*;
    // axum-login 0.18 builds on tower-sessions 0.14, which it re-exports.
    use axum_login::tower_sessions::{MemoryStore, SessionManagerLayer};
    use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend};

    #[derive(Debug, Clone)]
    struct Account(String);

    impl AuthUser for Account {
        type Id = String;
        fn id(&self) -> String {
            self.0.clone()
        }
        fn session_auth_hash(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }

    #[derive(Debug, Clone)]
    struct Accounts;

    impl AuthnBackend for Accounts {
        type User = Account;
        type Credentials = String;
        type Error = Infallible;
        async fn authenticate(&self, name: String) -> Result<Option<Account>, Infallible> {
            Ok(Some(Account(name)))
        }
        async fn get_user(&self, id: &String) -> Result<Option<Account>, Infallible> {
            Ok(Some(Account(id.clone())))
        }
    }

    /// The user type, as the README recommends: axum-login's session, then its user.
    #[derive(Clone)]
    struct CurrentUser(Account);

    impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
        type Rejection = StatusCode;
        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
            let auth = AuthSession::<Accounts>::from_request_parts(parts, state)
                .await
                .map_err(|(status, _)| status)?;
            auth.user.map(CurrentUser).ok_or(StatusCode::UNAUTHORIZED)
        }
    }

    fn app(with_layers: bool) -> Router {
        let routes = ChannelRoutes::new().private("chat", |user: CurrentUser, (): ()| async move {
            user.0 .0 == "ann"
        });
        let router = Router::new()
            .pusher_auth(Endpoints::new(credentials(), routes))
            .route(
                "/login",
                axum::routing::post(|mut auth: AuthSession<Accounts>, body: String| async move {
                    let account = auth.authenticate(body).await.unwrap().unwrap();
                    auth.login(&account).await.unwrap();
                    StatusCode::NO_CONTENT
                }),
            );
        if !with_layers {
            return router;
        }
        let sessions = SessionManagerLayer::new(MemoryStore::default());
        router.layer(AuthManagerLayerBuilder::new(Accounts, sessions).build())
    }

    #[tokio::test]
    async fn missing_layers_are_500_and_visitors_403() {
        let channel = || {
            post(
                "/pusher/auth",
                "socket_id=1.2&channel_name=private-chat",
                None,
            )
        };
        let (status, body) = call(app(false), channel()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let app = app(true);
        let (status, _) = call(app.clone(), channel()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Logged in: the session cookie carries the user to the routes.
        let response = app
            .clone()
            .oneshot(Request::post("/login").body(Body::from("ann")).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let mut request = channel();
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
        let (status, body) = call(app, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        verify_channel_auth(&credentials(), "1.2", "private-chat", body.as_bytes()).unwrap();
    }
}

/// Webhooks on an ordinary route: the handler has the router state, the extractor verifies.
#[tokio::test]
async fn verified_webhooks_reach_a_handler_with_the_router_state() {
    #[derive(Clone)]
    struct App {
        webhooks: WebhookVerifier,
        seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }
    impl FromRef<App> for WebhookVerifier {
        fn from_ref(app: &App) -> Self {
            app.webhooks.clone()
        }
    }
    async fn webhooks(
        State(app): State<App>,
        VerifiedWebhook(webhook): VerifiedWebhook,
    ) -> StatusCode {
        for event in webhook.events() {
            if let WebhookEvent::MemberAdded {
                channel, user_id, ..
            } = event
            {
                app.seen
                    .lock()
                    .unwrap()
                    .push(format!("{user_id} joined {channel}"));
            }
        }
        StatusCode::OK
    }
    let state = App {
        webhooks: WebhookVerifier::new(credentials()),
        seen: Default::default(),
    };
    let app: Router = Router::new()
        .route("/pusher/webhooks", axum::routing::post(webhooks))
        .with_state(state.clone());
    let event =
        serde_json::json!({"name": "member_added", "channel": "presence-team.3", "user_id": "7"});
    let request =
        webhook_request(&credentials(), "/pusher/webhooks", [event.clone()]).map(Body::from);
    assert_eq!(call(app.clone(), request).await.0, StatusCode::OK);
    assert_eq!(*state.seen.lock().unwrap(), ["7 joined presence-team.3"]);
    // Signed with another secret: 401 with the endpoints' refusal, and the handler never runs.
    let forged = webhook_request(
        &Credentials::new("key", "another secret").unwrap(),
        "/pusher/webhooks",
        [event],
    )
    .map(Body::from);
    let (status, body) = call(app, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("bad_signature"), "{body}");
    assert_eq!(state.seen.lock().unwrap().len(), 1);
}
