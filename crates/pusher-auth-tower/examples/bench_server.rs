//! The servers `scripts/bench-http` drives with a load generator, one mode per run, each on a
//! single-threaded runtime (as fair to the single-threaded Node peer as it gets):
//!
//! - `routes`: axum with the endpoints mounted as a route (`route_service`, what
//!   `pusher_auth_axum::RouterExt::pusher_auth` does), answering `POST /pusher/auth` (allow-all
//!   private authorizer) beside `GET /ping`;
//! - `layer`: axum with `PusherAuthLayer` added with `Router::layer`, intercepting
//!   `POST /pusher/auth` and passing `GET /ping` through to its handler;
//! - `ceiling`: axum with a bare `POST /pusher/auth` handler returning a fixed JSON string of
//!   the same size and headers;
//! - `outer`: like `layer`, but the layer wraps the whole router once
//!   (`ServiceBuilder::new().map_response(IntoResponse::into_response).layer(…).service(router)`)
//!   instead of each route;
//! - `plain`: axum with `GET /ping` and no layer.
//!
//! Usage: `cargo run --release -p pusher-auth-tower --example bench_server -- MODE PORT`
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use pusher_auth::testing::AllowPrivate;
use pusher_auth::{Credentials, Endpoints};
use pusher_auth_tower::PusherAuthLayer;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .expect("MODE: routes | layer | outer | ceiling | plain");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("PORT");
    let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8").unwrap();
    // The answer the layer gives for the benchmark's request, as a fixed string.
    let fixed = credentials
        .authorize_channel(
            &"1234.5678".parse().unwrap(),
            &"private-chat".parse().unwrap(),
        )
        .unwrap()
        .to_json();
    let outer_credentials = credentials.clone();
    let ping = get(|| async { "pong" });
    let app = match mode.as_str() {
        "routes" => {
            let layer = PusherAuthLayer::new(Endpoints::new(credentials, AllowPrivate));
            Router::new()
                .route("/ping", ping)
                .route_service(layer.endpoints().channel_path(), layer.channel_service())
        }
        "layer" => Router::new()
            .route("/ping", ping)
            .layer(PusherAuthLayer::new(Endpoints::new(credentials, AllowPrivate))),
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
            let layer = PusherAuthLayer::new(Endpoints::new(outer_credentials, AllowPrivate));
            let service = tower::ServiceBuilder::new()
                .map_response(IntoResponse::into_response)
                .layer(layer)
                .service(app);
            axum::serve(listener, tower::make::Shared::new(service))
                .await
                .unwrap();
        } else {
            axum::serve(listener, app).await.unwrap();
        }
    });
}
