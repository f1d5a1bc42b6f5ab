//! The whole example app: log in, then the session's user is authorized; without a session,
//! denied.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use poem::test::TestClient;
use poem::web::cookie::CookieKey;
use pusher_auth::testing::{verify_channel_auth, verify_user_auth};
use pusher_auth::Credentials;
use pusher_auth_tower::PusherAuthLayer;

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn the_session_user_is_authorized() {
    let credentials = Credentials::new("key", "secret").unwrap();
    let pusher =
        PusherAuthLayer::new(credentials.clone(), poem_minimal::routes()).for_laravel_echo();
    let client = TestClient::new(poem_minimal::app(&pusher, CookieKey::generate()));

    // Not logged in: denied.
    let denied = client
        .post("/broadcasting/auth")
        .content_type(FORM)
        .body("socket_id=1.2&channel_name=private-chat")
        .send()
        .await;
    denied.assert_status(poem::http::StatusCode::FORBIDDEN);

    let login = client
        .post("/login")
        .content_type(FORM)
        .body("name=ann")
        .send()
        .await;
    login.assert_status(poem::http::StatusCode::NO_CONTENT);
    let cookie = login
        .0
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();

    let presence = client
        .post("/broadcasting/auth")
        .header("cookie", &cookie)
        .content_type(FORM)
        .body("socket_id=1.2&channel_name=presence-chat")
        .send()
        .await;
    presence.assert_status_is_ok();
    let body = presence.0.into_body().into_bytes().await.unwrap();
    let verified = verify_channel_auth(&credentials, "1.2", "presence-chat", &body).unwrap();
    assert_eq!(verified.member().unwrap()["user_id"], "ann");

    let signin = client
        .post("/broadcasting/user-auth")
        .header("cookie", &cookie)
        .content_type(FORM)
        .body("socket_id=1.2")
        .send()
        .await;
    signin.assert_status_is_ok();
    let body = signin.0.into_body().into_bytes().await.unwrap();
    verify_user_auth(&credentials, "1.2", &body).unwrap();
}
