//! The secret and the encryption master key never appear in `Debug` output of any public
//! configuration type, nor in tracing output during valid and failing requests, under the
//! tower, actix-web and Rocket adapters (axum, poem and salvo mount the tower services).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../../support/logs.rs"]
mod logs;

use logs::Captured;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use pusher_auth::{
    BoxAuthorizer, ChannelDecision, ChannelKind, ChannelRequest, ChannelRoutes, Credentials,
    Endpoints, PresenceMember, UserId, Webhook, WebhookVerifier,
};
use tower::{service_fn, Layer, ServiceExt};

const SECRET: &str = "s3cr3t-app-secret-value";
const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";
const MASTER_PREFIX: &str = "zyrm8pvV2C9f";

fn credentials() -> Credentials {
    Credentials::new("public-key", SECRET)
        .unwrap()
        .with_app_id("42")
        .unwrap()
        .with_encryption_master_key_base64(MASTER)
        .unwrap()
}

fn authorizer() -> BoxAuthorizer<()> {
    BoxAuthorizer::new(|(): (), req: ChannelRequest| async move {
        Ok::<_, &'static str>(match req.channel().name_without_prefix() {
            "deny" => ChannelDecision::deny("no"),
            "fail" => return Err("failure"),
            _ if req.channel().kind() == ChannelKind::Presence => {
                ChannelDecision::member(PresenceMember::new(UserId::new("u").unwrap()))
            }
            _ => ChannelDecision::Allow,
        })
    })
}

async fn webhooks(_: Webhook, _: http::request::Parts) -> Result<(), Infallible> {
    Ok(())
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    assert!(
        !text.contains(MASTER_PREFIX),
        "{what} shows the master key: {text}"
    );
}

#[test]
fn debug_output_of_every_config_type_hides_secrets() {
    let c = credentials();
    let endpoints = Endpoints::new(c.clone(), authorizer()).with_webhooks("/hooks", webhooks);
    let layer = pusher_auth_tower::PusherAuthLayer::new(endpoints.clone());
    let service = layer.layer(service_fn(|_: http::Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
    }));
    let actix = pusher_auth_actix_web::PusherAuthRoutes::new(endpoints.clone());
    let shown = [
        ("Credentials", format!("{c:?} {c:#?}")),
        ("Endpoints", format!("{endpoints:?} {endpoints:#?}")),
        (
            "WebhookVerifier",
            format!("{:?}", WebhookVerifier::new(c.clone())),
        ),
        ("PusherAuthLayer", format!("{layer:?}")),
        ("PusherAuth service", format!("{service:?}")),
        (
            "PusherAuthService",
            format!("{:?}", layer.channel_service()),
        ),
        ("actix PusherAuthRoutes", format!("{actix:?}")),
        (
            "rocket PusherAuthRoutes",
            format!(
                "{:?}",
                pusher_auth_rocket::PusherAuthRoutes::new(endpoints.clone())
            ),
        ),
        ("BoxAuthorizer", format!("{:?}", authorizer())),
        (
            "ChannelRoutes",
            format!("{:?}", ChannelRoutes::<String>::new()),
        ),
        (
            "ConfigError",
            format!("{:?}", Credentials::new("k", "").unwrap_err()),
        ),
    ];
    for (what, text) in &shown {
        assert_clean(what, text);
    }
    assert!(shown[0].1.contains("public-key") && shown[0].1.contains("<redacted>"));
}

fn bodies() -> Vec<String> {
    [
        "private-ok",
        "presence-ok",
        "private-encrypted-ok",
        "private-deny",
        "private-fail",
        "private-a:b",
        "public",
    ]
    .map(|c| format!("socket_id=1.2&channel_name={c}"))
    .to_vec()
}

fn endpoints() -> Endpoints<()> {
    Endpoints::new(credentials(), authorizer()).with_webhooks("/hooks", webhooks)
}

/// The requests through the tower service; the answers.
fn run_tower() -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let layer = pusher_auth_tower::PusherAuthLayer::new(endpoints());
    let mut answers = Vec::new();
    for body in bodies() {
        let req = http::Request::post("/pusher/auth")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let res = rt.block_on(layer.channel_service().oneshot(req)).unwrap();
        let body = rt.block_on(res.into_body().collect()).unwrap().to_bytes();
        answers.push(String::from_utf8(body.to_vec()).unwrap());
    }
    let hook = http::Request::post("/hooks")
        .header("x-pusher-key", "public-key")
        .header("x-pusher-signature", "0".repeat(64))
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    rt.block_on(layer.webhook_service().unwrap().oneshot(hook))
        .unwrap();
    answers
}

/// The requests through actix-web; the answers.
fn run_actix() -> Vec<String> {
    let actix = pusher_auth_actix_web::PusherAuthRoutes::new(endpoints());
    actix_web::rt::System::new().block_on(async {
        let app = actix_web::test::init_service(
            actix_web::App::new().configure(|cfg| actix.configure(cfg)),
        )
        .await;
        let mut answers = Vec::new();
        for body in bodies() {
            let req = actix_web::test::TestRequest::post()
                .uri("/pusher/auth")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body)
                .to_request();
            let res = actix_web::test::call_service(&app, req).await;
            answers
                .push(String::from_utf8(actix_web::test::read_body(res).await.to_vec()).unwrap());
        }
        answers
    })
}

/// The requests through Rocket; the answers.
fn run_rocket() -> Vec<String> {
    let rocket_routes = pusher_auth_rocket::PusherAuthRoutes::new(endpoints());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let quiet = rocket::Config::figment().merge(("log_level", "off"));
        let client = rocket::local::asynchronous::Client::untracked(
            rocket::custom(quiet).mount("/", rocket_routes.routes()),
        )
        .await
        .unwrap();
        let mut answers = Vec::new();
        for body in bodies() {
            let res = client
                .post("/pusher/auth")
                .header(rocket::http::ContentType::Form)
                .body(body)
                .dispatch()
                .await;
            answers.push(res.into_string().await.unwrap());
        }
        answers
    })
}

/// Each adapter, with its own log: every adapter logs every kind of decision (allowed,
/// denied, failed, malformed), and no log holds a secret, a signature or a shared secret.
#[test]
fn tracing_output_hides_secrets_under_every_adapter() {
    type Run = fn() -> Vec<String>;
    let runs: [(&str, Run); 3] = [
        ("tower", run_tower),
        ("actix-web", run_actix),
        ("rocket", run_rocket),
    ];
    for (adapter, run) in runs {
        let captured = Captured::default();
        let answers =
            tracing::subscriber::with_default(captured.subscriber(tracing::Level::TRACE), run);
        let log = captured.text();
        for expected in [
            "outcome=\"allowed\"",
            "outcome=\"denied\"",
            "outcome=\"failed\"",
            "code=\"invalid_channel_name\"",
            "channel=private-ok",
        ] {
            assert!(
                log.contains(expected),
                "{adapter} did not log {expected}: {log}"
            );
        }
        assert_clean(adapter, &log);
        // Three successes: private, presence, encrypted.
        let signed: Vec<&String> = answers.iter().filter(|a| a.contains("\"auth\"")).collect();
        assert_eq!(signed.len(), 3, "{adapter}: {answers:?}");
        for answer in signed {
            let value: serde_json::Value = serde_json::from_str(answer).unwrap();
            let signature = value["auth"].as_str().unwrap().split(':').nth(1).unwrap();
            assert!(!log.contains(signature), "{adapter} logged a signature");
            if let Some(shared) = value["shared_secret"].as_str() {
                assert!(!log.contains(shared), "{adapter} logged a shared secret");
            }
        }
    }
}
