//! The spring app as spring builds it: the routers registered with `add_router`, merged by the
//! web plugin, then the layers registered with `add_router_layer`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use http_body_util::BodyExt;
use pusher_auth::testing::{verify_channel_auth, verify_user_auth};
use pusher_auth_axum::prelude::Credentials;
use spring::plugin::ComponentRegistry;
use spring::App;
use spring_web::axum::body::Body;
use spring_web::axum::http::{header, Request, StatusCode};
use spring_web::{Router, RouterLayers, WebPlugin};
use tower::ServiceExt;

const FORM: &str = "application/x-www-form-urlencoded";

async fn send(
    router: &Router,
    path: &str,
    cookie: Option<&str>,
    content_type: &str,
    body: &'static str,
) -> spring_web::axum::response::Response {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap()
}

/// The app as spring builds it: what the web plugin serves, the merged router wrapped by the
/// registered layers.
async fn app(credentials: Credentials) -> Router {
    let mut builder = App::new();
    builder
        .use_config_str("[web]\nport = 3005\n")
        .add_plugin(WebPlugin);
    let app = spring_minimal::register(&mut builder, credentials)
        .build()
        .await
        .unwrap();
    let mut router: Router = app
        .get_component::<Router>()
        .expect("the web plugin's router");
    for layer in app
        .get_component_ref::<RouterLayers>()
        .expect("the session layer")
        .iter()
    {
        router = layer(router);
    }
    router
}

/// Logs in as ann and returns the session cookie.
async fn login(router: &Router) -> String {
    let login = send(
        router,
        "/login",
        None,
        "application/json",
        r#"{"id":"ann"}"#,
    )
    .await;
    assert_eq!(login.status(), StatusCode::NO_CONTENT);
    login
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

#[tokio::test]
async fn the_app_hooks_mount_the_endpoints_and_the_session_user_is_authorized() {
    let credentials = Credentials::new("key", "secret").unwrap();
    let router = app(credentials.clone()).await;

    let denied = send(
        &router,
        "/broadcasting/auth",
        None,
        FORM,
        "socket_id=1.2&channel_name=private-chat",
    )
    .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let cookie = login(&router).await;

    let presence = send(
        &router,
        "/broadcasting/auth",
        Some(&cookie),
        FORM,
        "socket_id=1.2&channel_name=presence-chat",
    )
    .await;
    assert_eq!(presence.status(), StatusCode::OK);
    let body = presence.into_body().collect().await.unwrap().to_bytes();
    let verified = verify_channel_auth(&credentials, "1.2", "presence-chat", &body).unwrap();
    assert_eq!(verified.member().unwrap()["user_id"], "ann");

    let signin = send(
        &router,
        "/broadcasting/user-auth",
        Some(&cookie),
        FORM,
        "socket_id=1.2",
    )
    .await;
    assert_eq!(signin.status(), StatusCode::OK);
    let body = signin.into_body().collect().await.unwrap().to_bytes();
    verify_user_auth(&credentials, "1.2", &body).unwrap();
}

/// Encrypted channels are offered only with an encryption master key; without one they are
/// denied.
#[tokio::test]
async fn encrypted_channels_need_a_master_key() {
    for master_key in [false, true] {
        let mut credentials = Credentials::new("key", "secret").unwrap();
        if master_key {
            credentials = credentials
                .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
                .unwrap();
        }
        let router = app(credentials.clone()).await;
        let cookie = login(&router).await;
        let encrypted = send(
            &router,
            "/broadcasting/auth",
            Some(&cookie),
            FORM,
            "socket_id=1.2&channel_name=private-encrypted-chat",
        )
        .await;
        if master_key {
            assert_eq!(encrypted.status(), StatusCode::OK);
            let body = encrypted.into_body().collect().await.unwrap().to_bytes();
            verify_channel_auth(&credentials, "1.2", "private-encrypted-chat", &body).unwrap();
        } else {
            assert_eq!(encrypted.status(), StatusCode::FORBIDDEN);
        }
    }
}
