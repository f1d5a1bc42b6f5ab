//! The servers `scripts/bench-http` drives with a load generator, one mode per run, each on a
//! single-threaded runtime (as fair to the single-threaded Node peer as it gets):
//!
//! - `routes`: axum with the endpoints mounted as routes (`RouterExt::pusher_auth`, the
//!   recommended mounting), answering `POST /pusher/auth` (allow-all private authorizer for
//!   `()`) beside `GET /ping`;
//! - `layer`: axum with `PusherAuthLayer` added with `Router::layer`, intercepting
//!   `POST /pusher/auth` and passing `GET /ping` through to its handler;
//! - `ceiling` (b): axum with a bare `POST /pusher/auth` handler returning a fixed JSON string
//!   of the same size and headers: the floor of axum's own work;
//! - `careful` (b2): the same job written by hand as a careful user would: axum's `Form`
//!   extractor under a 16 KiB body limit, the same validation (socket id digits, channel
//!   charset and length, the private prefix), HMAC-SHA256 with `hmac`/`sha2` keyed once, the
//!   same JSON answer and headers;
//! - `outer`: like `layer`, but the layer wraps the whole router once
//!   (`ServiceBuilder::new().map_response(IntoResponse::into_response).layer(…).service(router)`)
//!   instead of each route;
//! - `plain`: axum with `GET /ping` and no pusher-auth.
//!
//! Usage: `cargo run --release -p pusher-auth-axum --example bench_server -- MODE PORT`
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use axum::extract::{DefaultBodyLimit, Form, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hmac::{Hmac, Mac};
use pusher_auth::testing::AllowPrivate;
use pusher_auth::{Credentials, Endpoints};
use pusher_auth_axum::{PusherAuthLayer, RouterExt};
use sha2::Sha256;

const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";

/// (b2): what a careful user writes by hand.
mod careful {
    use super::*;

    #[derive(serde::Deserialize)]
    pub(crate) struct AuthRequest {
        socket_id: String,
        channel_name: String,
    }

    #[derive(Clone)]
    pub(crate) struct Signer {
        pub(crate) key: &'static str,
        /// Keyed once at start-up; cloned per request.
        pub(crate) mac: Hmac<Sha256>,
    }

    fn valid_socket_id(s: &str) -> bool {
        let Some((a, b)) = s.split_once('.') else {
            return false;
        };
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    }

    fn valid_channel(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 164
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_-=@,.;".contains(&c))
    }

    fn refuse(status: StatusCode, code: &str) -> Response {
        (
            status,
            [
                (CONTENT_TYPE, "application/json"),
                (CACHE_CONTROL, "no-store"),
            ],
            format!(r#"{{"error":{{"code":"{code}","message":"refused"}}}}"#),
        )
            .into_response()
    }

    pub(crate) async fn authorize(
        State(signer): State<Signer>,
        Form(request): Form<AuthRequest>,
    ) -> Response {
        if !valid_socket_id(&request.socket_id) {
            return refuse(StatusCode::BAD_REQUEST, "invalid_socket_id");
        }
        if !valid_channel(&request.channel_name) {
            return refuse(StatusCode::BAD_REQUEST, "invalid_channel_name");
        }
        if !request.channel_name.starts_with("private-") {
            return refuse(StatusCode::FORBIDDEN, "forbidden");
        }
        let mut mac = signer.mac.clone();
        mac.update(request.socket_id.as_bytes());
        mac.update(b":");
        mac.update(request.channel_name.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let body = serde_json::json!({ "auth": format!("{}:{signature}", signer.key) }).to_string();
        (
            [
                (CONTENT_TYPE, "application/json"),
                (CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }
}

fn endpoints() -> Endpoints<()> {
    Endpoints::new(Credentials::new(KEY, SECRET).unwrap(), AllowPrivate)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .expect("MODE: routes | layer | outer | ceiling | careful | plain");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("PORT");
    let credentials = Credentials::new(KEY, SECRET).unwrap();
    // The answer the endpoints give for the benchmark's request, as a fixed string.
    let fixed = credentials
        .authorize_channel(
            &"1234.5678".parse().unwrap(),
            &"private-chat".parse().unwrap(),
        )
        .unwrap()
        .to_json();
    let ping = get(|| async { "pong" });
    let app: Router = match mode.as_str() {
        "routes" => Router::new().route("/ping", ping).pusher_auth(endpoints()),
        "layer" => Router::new()
            .route("/ping", ping)
            .layer(PusherAuthLayer::new(endpoints())),
        "ceiling" => Router::new().route("/ping", ping).route(
            "/pusher/auth",
            post(move || {
                let fixed = fixed.clone();
                async move {
                    (
                        [
                            (CONTENT_TYPE, "application/json"),
                            (CACHE_CONTROL, "no-store"),
                        ],
                        fixed,
                    )
                }
            }),
        ),
        "careful" => {
            let signer = careful::Signer {
                key: KEY,
                mac: Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap(),
            };
            Router::<careful::Signer>::new()
                .route("/ping", get(|| async { "pong" }))
                .route("/pusher/auth", post(careful::authorize))
                .layer(DefaultBodyLimit::max(pusher_auth::DEFAULT_BODY_LIMIT))
                .with_state(signer)
        }
        "plain" | "outer" => Router::new().route("/ping", ping),
        other => panic!("unknown mode {other}"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        if mode == "outer" {
            let service = tower::ServiceBuilder::new()
                .map_response(IntoResponse::into_response)
                .layer(PusherAuthLayer::new(endpoints()))
                .service(app);
            axum::serve(listener, tower::make::Shared::new(service))
                .await
                .unwrap();
        } else {
            axum::serve(listener, app).await.unwrap();
        }
    });
}
