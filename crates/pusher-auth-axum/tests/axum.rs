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
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use pusher_auth::authorizer::{ChannelDecision, ChannelRequest, UserDecision, UserRequest};
use pusher_auth::testing::{verify_channel_auth, verify_user_auth};
use pusher_auth::{ChannelKind, Credentials, PresenceMember, UserData, UserId};
use pusher_auth_axum::{authorize_with, PusherAuthLayer, RouterExt};
use tower::ServiceExt;

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

fn layer() -> PusherAuthLayer<impl pusher_auth::Authorizer> {
    let authorizer = authorize_with(|user: User, request: ChannelRequest| async move {
        Ok::<_, Infallible>(match request.channel().kind() {
            ChannelKind::Presence => ChannelDecision::member(
                PresenceMember::new(UserId::new(user.name.clone()).unwrap())
                    .with_info(serde_json::json!({"name": user.name})),
            ),
            _ => ChannelDecision::Allow,
        })
    })
    .sign_in(|user: User, _request: UserRequest| async move {
        Ok::<_, Infallible>(UserDecision::sign_in(UserData::new(
            UserId::new(user.name).unwrap(),
        )))
    });
    PusherAuthLayer::new(credentials(), authorizer).with_channel_path("/channels/authorize")
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
            .pusher_auth(layer()),
        Router::new()
            .route("/", get(|| async { "home" }))
            .pusher_auth_routes(&layer()),
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
        // The extractor's rejection is a 403, whatever its own status.
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
async fn extractors_with_state() {
    let authorizer = authorize_with(|admin: Admin, _request: ChannelRequest| async move {
        Ok::<_, Infallible>(ChannelDecision::allow_if(!admin.0.is_empty(), "empty"))
    })
    .with_state(Admins(vec!["root"]));
    let app = Router::new().pusher_auth(PusherAuthLayer::new(credentials(), authorizer));
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
    // Sign-in was not configured: denied.
    assert_eq!(
        call(
            app,
            post("/pusher/user-auth", "socket_id=1.2", Some("root"))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn routes_form_nests() {
    let app = Router::new().nest("/api", Router::new().pusher_auth_routes(&layer()));
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
