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
const MASTER_KEY: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

fn post(path: &str, cookie: Option<&str>, body: &'static str) -> salvo::test::RequestBuilder {
    let mut request = TestClient::post(format!("{BASE}{path}"))
        .add_header("content-type", FORM, true)
        .body(body);
    if let Some(cookie) = cookie {
        request = request.add_header("cookie", cookie, true);
    }
    request
}

/// Logs in as ann and returns the session cookie.
async fn login(service: &Service) -> String {
    let login = post("/login", None, "name=ann").send(service).await;
    assert_eq!(login.status_code, Some(StatusCode::NO_CONTENT));
    login
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
    let pusher = PusherAuthLayer::new(salvo_minimal::endpoints(credentials.clone()));
    let service = Service::new(salvo_minimal::app(&pusher, &[7; 64]).unwrap());

    // Not logged in: denied.
    let denied = post(
        "/broadcasting/auth",
        None,
        "socket_id=1.2&channel_name=private-chat",
    )
    .send(&service)
    .await;
    assert_eq!(denied.status_code, Some(StatusCode::FORBIDDEN));

    let cookie = login(&service).await;

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
        let pusher = PusherAuthLayer::new(salvo_minimal::endpoints(credentials.clone()));
        let service = Service::new(salvo_minimal::app(&pusher, &[7; 64]).unwrap());
        let cookie = login(&service).await;
        let mut encrypted = post(
            "/broadcasting/auth",
            Some(&cookie),
            "socket_id=1.2&channel_name=private-encrypted-chat",
        )
        .send(&service)
        .await;
        if master_key {
            assert_eq!(encrypted.status_code, Some(StatusCode::OK));
            let body = encrypted.take_bytes(None).await.unwrap();
            verify_channel_auth(&credentials, "1.2", "private-encrypted-chat", &body).unwrap();
        } else {
            assert_eq!(encrypted.status_code, Some(StatusCode::FORBIDDEN));
        }
    }
}
