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
use pusher_auth::testing::verify_channel_auth;
use pusher_auth::{ChannelKind, Credentials, PresenceMember, UserId};
use pusher_auth_actix_web::PusherAuth;

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

fn pusher() -> PusherAuth<impl pusher_auth::Authorizer> {
    PusherAuth::new(
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
}
