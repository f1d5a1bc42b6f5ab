//! The whole example app: log in, then the session's user is authorized; without a session,
//! denied.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use poem::test::TestClient;
use poem::web::cookie::CookieKey;
use pusher_auth::testing::{verify_channel_auth, verify_user_auth};
use pusher_auth::Credentials;
use pusher_auth_tower::PusherAuthLayer;

const FORM: &str = "application/x-www-form-urlencoded";
const MASTER_KEY: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

/// Logs in as `name` and returns the session cookie.
async fn login<E: poem::Endpoint>(client: &TestClient<E>, name: &str) -> String {
    let login = client
        .post("/login")
        .content_type(FORM)
        .body(format!("name={name}"))
        .send()
        .await;
    login.assert_status(poem::http::StatusCode::NO_CONTENT);
    login
        .0
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

#[tokio::test]
async fn the_session_user_is_authorized() {
    let credentials = Credentials::new("key", "secret").unwrap();
    let pusher = PusherAuthLayer::new(poem_minimal::endpoints(credentials.clone()));
    let client = TestClient::new(poem_minimal::app(&pusher, CookieKey::generate()));

    // Not logged in: denied.
    let denied = client
        .post("/broadcasting/auth")
        .content_type(FORM)
        .body("socket_id=1.2&channel_name=private-chat")
        .send()
        .await;
    denied.assert_status(poem::http::StatusCode::FORBIDDEN);

    let cookie = login(&client, "ann").await;

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

/// Encrypted channels are offered only with an encryption master key; without one they are
/// denied.
#[tokio::test]
async fn encrypted_channels_need_a_master_key() {
    for master_key in [false, true] {
        let mut credentials = Credentials::new("key", "secret").unwrap();
        if master_key {
            credentials = credentials
                .with_encryption_master_key_base64(MASTER_KEY)
                .unwrap();
        }
        let pusher = PusherAuthLayer::new(poem_minimal::endpoints(credentials.clone()));
        let client = TestClient::new(poem_minimal::app(&pusher, CookieKey::generate()));
        let cookie = login(&client, "ann").await;
        let encrypted = client
            .post("/broadcasting/auth")
            .header("cookie", &cookie)
            .content_type(FORM)
            .body("socket_id=1.2&channel_name=private-encrypted-chat")
            .send()
            .await;
        if master_key {
            encrypted.assert_status_is_ok();
            let body = encrypted.0.into_body().into_bytes().await.unwrap();
            verify_channel_auth(&credentials, "1.2", "private-encrypted-chat", &body).unwrap();
        } else {
            encrypted.assert_status(poem::http::StatusCode::FORBIDDEN);
        }
    }
}
