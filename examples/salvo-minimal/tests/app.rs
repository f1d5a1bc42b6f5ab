//! The whole example app: log in, then the session's user is authorized; without a session,
//! denied.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pusher_auth::testing::{verify_channel_auth, verify_user_auth};
use pusher_auth::Credentials;
use pusher_auth_tower::PusherAuthLayer;
use salvo::http::StatusCode;
use salvo::test::{ResponseExt, TestClient};
use salvo::Service;

const FORM: &str = "application/x-www-form-urlencoded";
const BASE: &str = "http://127.0.0.1:3004";

#[tokio::test]
async fn the_session_user_is_authorized() {
    let credentials = Credentials::new("key", "secret").unwrap();
    let pusher =
        PusherAuthLayer::new(credentials.clone(), salvo_minimal::routes()).for_laravel_echo();
    let service = Service::new(salvo_minimal::app(&pusher, &[7; 64]).unwrap());
    let post = |path: &str, cookie: Option<&str>, body: &'static str| {
        let mut request = TestClient::post(format!("{BASE}{path}"))
            .add_header("content-type", FORM, true)
            .body(body);
        if let Some(cookie) = cookie {
            request = request.add_header("cookie", cookie, true);
        }
        request
    };

    // Not logged in: denied.
    let denied = post(
        "/broadcasting/auth",
        None,
        "socket_id=1.2&channel_name=private-chat",
    )
    .send(&service)
    .await;
    assert_eq!(denied.status_code, Some(StatusCode::FORBIDDEN));

    let login = post("/login", None, "name=ann").send(&service).await;
    assert_eq!(login.status_code, Some(StatusCode::NO_CONTENT));
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();

    let mut presence = post(
        "/broadcasting/auth",
        Some(&cookie),
        "socket_id=1.2&channel_name=presence-chat",
    )
    .send(&service)
    .await;
    assert_eq!(presence.status_code, Some(StatusCode::OK));
    let body = presence.take_bytes(None).await.unwrap();
    let verified = verify_channel_auth(&credentials, "1.2", "presence-chat", &body).unwrap();
    assert_eq!(verified.member().unwrap()["user_id"], "ann");

    let mut signin = post("/broadcasting/user-auth", Some(&cookie), "socket_id=1.2")
        .send(&service)
        .await;
    assert_eq!(signin.status_code, Some(StatusCode::OK));
    let body = signin.take_bytes(None).await.unwrap();
    verify_user_auth(&credentials, "1.2", &body).unwrap();
}
