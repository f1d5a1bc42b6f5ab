//! The same requests, valid and invalid, sent through every adapter (the plain tower service,
//! axum, actix-web) with the same authorizer value: statuses, headers and bodies must be
//! identical byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::convert::Infallible;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use pusher_auth::authorizer::{
    with_user_auth, ChannelDecision, ChannelRequest, UserDecision, UserRequest,
};
use pusher_auth::testing::webhook_signature;
use pusher_auth::webhook::Webhook;
use pusher_auth::{Authorizer, ChannelKind, Credentials, PresenceMember, UserData, UserId};
use pusher_auth_axum::RouterExt;
use tower::{service_fn, Layer, ServiceExt};

const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

fn credentials() -> Credentials {
    Credentials::new("conformance-key", "conformance-secret")
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap()
}

/// One authorizer for every adapter: logged in by the `x-user` header.
fn authorizer() -> impl Authorizer {
    with_user_auth(
        |req: ChannelRequest| async move {
            let Some(user) = req
                .headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
            else {
                return Ok(ChannelDecision::deny("not logged in"));
            };
            if req.channel().name_without_prefix() == "boom" {
                return Err("backend down".into());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(match req.channel().kind() {
                ChannelKind::Presence => ChannelDecision::member(
                    PresenceMember::new(UserId::new(user.clone()).unwrap())
                        .with_info(serde_json::json!({"name": user, "ünï": "☃\n\"q\""})),
                ),
                _ if req.channel().name_without_prefix() == "staff" => {
                    ChannelDecision::deny("staff only")
                }
                _ => ChannelDecision::Allow,
            })
        },
        |req: UserRequest| async move {
            Ok(
                match req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
                    Some(u) => UserDecision::sign_in(
                        UserData::new(UserId::new(u).unwrap())
                            .with_watchlist([UserId::new("friend").unwrap()]),
                    ),
                    None => UserDecision::deny("anonymous"),
                },
            )
        },
    )
}

async fn webhook_handler(webhook: Webhook, _head: http::request::Parts) -> Result<(), Infallible> {
    let _ = webhook.events();
    Ok(())
}

struct Case {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn case(
    method: &'static str,
    path: &'static str,
    content_type: Option<&str>,
    user: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> Case {
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type", ct.to_string()));
    }
    if let Some(u) = user {
        headers.push(("x-user", u.to_string()));
    }
    Case {
        method,
        path,
        headers,
        body: body.into(),
    }
}

fn cases() -> Vec<Case> {
    let form = Some("application/x-www-form-urlencoded");
    let json = Some("application/json");
    let hook_body = r#"{"time_ms":1700000000000,"events":[{"name":"member_added","channel":"presence-chat","user_id":"ann"}]}"#;
    let good_sig = webhook_signature(&credentials(), hook_body.as_bytes());
    let webhook = |key: &str, sig: &str, body: &str| Case {
        method: "POST",
        path: "/pusher/webhooks",
        headers: vec![
            ("content-type", "application/json".into()),
            ("x-pusher-key", key.into()),
            ("x-pusher-signature", sig.into()),
        ],
        body: body.as_bytes().to_vec(),
    };
    vec![
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=private-chat"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=presence-chat"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=private-encrypted-chat"),
        case("POST", "/channels/authorize", json, Some("ann"), r#"{"socket_id":"1.2","channel_name":"presence-chat","extra":[1]}"#),
        case("POST", "/channels/authorize", form, Some("ann"), "&socket_id=1.2&channel_name[0]=private-a&channel_name[1]=private-staff&channel_name[2]=presence-b&channel_name[3]=bad%20name&channel_name[4]=private-boom"),
        case("POST", "/channels/authorize", form, None, "socket_id=1.2&channel_name=private-chat"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=private-staff"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=private-boom"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=public"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2:&channel_name=private-chat"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=private-a%3Ab"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2"),
        case("POST", "/channels/authorize", form, Some("ann"), "socket_id=1.2&socket_id=1.2&channel_name=private-a"),
        case("POST", "/channels/authorize", form, Some("ann"), b"socket_id=1.2&channel_name=%FF".to_vec()),
        case("POST", "/channels/authorize", json, Some("ann"), "{nope"),
        case("POST", "/channels/authorize", Some("text/plain"), Some("ann"), "socket_id=1.2&channel_name=private-chat"),
        case("POST", "/channels/authorize", None, Some("ann"), "socket_id=1.2&channel_name=private-chat"),
        case("GET", "/channels/authorize", None, Some("ann"), ""),
        case("PUT", "/channels/authorize", form, Some("ann"), "socket_id=1.2&channel_name=private-chat"),
        case("POST", "/channels/authorize", form, Some("ann"), vec![b'x'; 20_000]),
        case("POST", "/pusher/user-auth", form, Some("ann"), "socket_id=1.2"),
        case("POST", "/pusher/user-auth", form, None, "socket_id=1.2"),
        case("POST", "/pusher/user-auth", json, Some("ann"), r#"{"socket_id":"x"}"#),
        webhook("conformance-key", &good_sig, hook_body),
        webhook("conformance-key", &"0".repeat(64), hook_body),
        webhook("other-key", &good_sig, hook_body),
        webhook("conformance-key", "nothex", hook_body),
    ]
}

/// What an adapter answered: status, the headers the endpoints set, body.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn interesting(name: &str) -> bool {
    matches!(name, "content-type" | "cache-control" | "allow")
}

fn http_request(c: &Case) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::builder().method(c.method).uri(c.path);
    for (k, v) in &c.headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(c.body.clone()))).unwrap()
}

async fn observe_http<B: http_body::Body>(response: http::Response<B>) -> Observed
where
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(k, _)| interesting(k.as_str()))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    headers.sort();
    Observed {
        status: parts.status.as_u16(),
        headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

fn tower_layer<A: Authorizer>(authorizer: A) -> pusher_auth_tower::PusherAuthLayer<A> {
    pusher_auth_tower::PusherAuthLayer::new(credentials(), authorizer)
        .with_channel_path("/channels/authorize")
        .with_webhooks("/pusher/webhooks", webhook_handler)
}

#[actix_web::test]
async fn every_adapter_answers_alike() {
    let authorizer = authorizer();
    let cases = cases();

    // The plain tower service.
    let layer = tower_layer(authorizer.clone());
    let mut plain = Vec::new();
    for c in &cases {
        let svc = layer.layer(service_fn(|_req: http::Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(
                http::Response::builder()
                    .status(404)
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
        }));
        plain.push(observe_http(svc.oneshot(http_request(c)).await.unwrap()).await);
    }

    // axum, as a layer and as routes.
    for app in [
        axum::Router::new().pusher_auth(tower_layer(authorizer.clone())),
        axum::Router::new().pusher_auth_routes(&tower_layer(authorizer.clone())),
    ] {
        for (i, c) in cases.iter().enumerate() {
            let mut b = http::Request::builder().method(c.method).uri(c.path);
            for (k, v) in &c.headers {
                b = b.header(*k, v);
            }
            let req = b.body(axum::body::Body::from(c.body.clone())).unwrap();
            let got = observe_http(app.clone().oneshot(req).await.unwrap()).await;
            assert_eq!(
                got, plain[i],
                "axum differs on case {i}: {} {}",
                c.method, c.path
            );
        }
    }

    // actix-web.
    let pusher = pusher_auth_actix_web::PusherAuth::new(credentials(), authorizer.clone())
        .with_channel_path("/channels/authorize")
        .with_webhooks("/pusher/webhooks", webhook_handler);
    let app =
        actix_web::test::init_service(actix_web::App::new().configure(|cfg| pusher.configure(cfg)))
            .await;
    for (i, c) in cases.iter().enumerate() {
        let mut req = actix_web::test::TestRequest::default()
            .method(c.method.parse().unwrap())
            .uri(c.path);
        for (k, v) in &c.headers {
            req = req.insert_header((*k, v.as_str()));
        }
        let response =
            actix_web::test::call_service(&app, req.set_payload(c.body.clone()).to_request()).await;
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(k, _)| interesting(k.as_str()))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        headers.sort();
        let body = actix_web::test::read_body(response).await.to_vec();
        assert_eq!(
            Observed {
                status,
                headers,
                body
            },
            plain[i],
            "actix-web differs on case {i}: {} {}",
            c.method,
            c.path
        );
    }

    // The suite covers successes and every class of refusal.
    let statuses: std::collections::BTreeSet<u16> = plain.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [200, 400, 401, 403, 405, 413, 415, 500]
    );
    assert_eq!(plain[0].status, StatusCode::OK.as_u16());
    println!(
        "{} requests answered identically by tower, axum (layer and routes) and actix-web",
        cases.len()
    );
}
