//! The composition the docs recommend, compiled and exercised: tower-http's `CatchPanicLayer`,
//! `TimeoutLayer`, `CsrfLayer`, `CorsLayer`, an `X-CSRF-Token` header check, tower_governor
//! rate limiting, and `TraceLayer` under `SetSensitiveRequestHeadersLayer`, around the layer in
//! an axum router.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err,
    missing_docs
)]

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::routing::post;
use axum::Router;
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use pusher_auth::{ChannelDecision, ChannelRequest, Credentials, Endpoints};
use pusher_auth_tower::PusherAuthLayer;
use tower::ServiceExt;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::GlobalKeyExtractor;
use tower_governor::GovernorLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::validate_request::ValidateRequestHeaderLayer;

/// Panics on `private-panic`, hangs on `private-hang`, allows the rest.
async fn authorizer((): (), request: ChannelRequest) -> Result<ChannelDecision, Infallible> {
    match request.channel().name_without_prefix() {
        "panic" => panic!("authorizer bug"),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(ChannelDecision::deny("too late"))
        }
        _ => Ok(ChannelDecision::Allow),
    }
}

fn app() -> Router {
    let credentials = Credentials::new("app-key", "app-secret").unwrap();
    Router::new()
        .route("/channels/send-message", post(|| async { "sent" }))
        .layer(PusherAuthLayer::new(
            Endpoints::new(credentials, authorizer).with_channel_path("/channels/authorize"),
        ))
        // The chat page sends `X-CSRF-Token`; a same-origin page can, a cross-site form cannot.
        .layer(ValidateRequestHeaderLayer::custom(
            |request: &mut Request<Body>| {
                if request.method() == Method::POST
                    && !request.headers().contains_key("x-csrf-token")
                {
                    let mut forbidden = http::Response::new(Body::from(
                        r#"{"error":{"code":"csrf","message":"missing X-CSRF-Token"}}"#,
                    ));
                    *forbidden.status_mut() = StatusCode::FORBIDDEN;
                    return Err(forbidden);
                }
                Ok(())
            },
        ))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_millis(100),
        ))
        .layer(
            CsrfLayer::new()
                .add_trusted_origin("https://chat.example")
                .unwrap(),
        )
        .layer(
            CorsLayer::new()
                .allow_origin([HeaderValue::from_static("https://chat.example")])
                .allow_methods([Method::POST])
                .allow_headers([
                    AUTHORIZATION,
                    CONTENT_TYPE,
                    HeaderName::from_static("x-csrf-token"),
                ]),
        )
}

async fn status(app: &Router, request: Request<Body>) -> StatusCode {
    app.clone().oneshot(request).await.unwrap().status()
}

fn auth(channel: &str) -> Request<Body> {
    Request::post("/channels/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-csrf-token", "token")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(format!("socket_id=1.1&channel_name={channel}")))
        .unwrap()
}

#[tokio::test]
async fn panics_and_hangs_are_contained_and_the_app_keeps_serving() {
    let app = app();
    assert_eq!(
        status(&app, auth("private-panic")).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(status(&app, auth("private-ok")).await, StatusCode::OK);
    assert_eq!(
        status(&app, auth("private-hang")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(status(&app, auth("private-ok")).await, StatusCode::OK);
}

#[tokio::test]
async fn csrf_token_and_cross_site_checks() {
    let mut no_token = auth("private-ok");
    no_token.headers_mut().remove("x-csrf-token");
    assert_eq!(
        app().oneshot(no_token).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let mut cross_site = auth("private-ok");
    cross_site
        .headers_mut()
        .insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    cross_site
        .headers_mut()
        .insert("origin", HeaderValue::from_static("https://evil.example"));
    assert_eq!(
        app().oneshot(cross_site).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn cors_preflight_for_the_listed_origin_only() {
    let preflight = |origin: &'static str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/channels/authorize")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,x-csrf-token",
            )
            .body(Body::empty())
            .unwrap()
    };
    let ok = app()
        .oneshot(preflight("https://chat.example"))
        .await
        .unwrap();
    assert_eq!(
        ok.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://chat.example"
    );
    let other = app()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(other.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn rate_limits_compose() {
    // Keyed globally here because oneshot requests have no peer address; a real app keys by
    // peer IP (the default) or by user.
    let config = GovernorConfigBuilder::default()
        .per_second(60)
        .burst_size(2)
        .key_extractor(GlobalKeyExtractor)
        .finish()
        .unwrap();
    let app = app().layer(GovernorLayer::new(config));
    assert_eq!(status(&app, auth("private-ok")).await, StatusCode::OK);
    assert_eq!(status(&app, auth("private-ok")).await, StatusCode::OK);
    assert_eq!(
        status(&app, auth("private-ok")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The layer wrapping a finished router, with `CorsLayer` inside it (on the router) or outside
/// it: a preflight to the auth path gets its CORS answer either way, and the POST that follows
/// is answered by the layer.
#[tokio::test]
async fn preflights_reach_cors_whichever_side_of_the_layer_it_sits() {
    use axum::response::IntoResponse;
    use tower::ServiceBuilder;

    let cors = || {
        CorsLayer::new()
            .allow_origin([HeaderValue::from_static("https://chat.example")])
            .allow_methods([Method::POST])
            .allow_headers([CONTENT_TYPE, HeaderName::from_static("x-csrf-token")])
    };
    let pusher = || {
        PusherAuthLayer::new(
            Endpoints::new(
                Credentials::new("app-key", "app-secret").unwrap(),
                authorizer,
            )
            .with_channel_path("/channels/authorize"),
        )
    };
    let router = || Router::new().route("/channels/send-message", post(|| async { "sent" }));
    let preflight = || {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/channels/authorize")
            .header("origin", "https://chat.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-csrf-token")
            .body(Body::empty())
            .unwrap()
    };
    let post_auth = || {
        Request::post("/channels/authorize")
            .header("origin", "https://chat.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("socket_id=1.1&channel_name=private-ok"))
            .unwrap()
    };
    // CORS inside: on the router the layer wraps.
    let inside = ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(pusher())
        .service(router().layer(cors()));
    // CORS outside: around the layer.
    let outside = ServiceBuilder::new()
        .layer(cors())
        .map_response(IntoResponse::into_response)
        .layer(pusher())
        .service(router());
    for (name, response) in [
        ("inside", inside.clone().oneshot(preflight()).await.unwrap()),
        (
            "outside",
            outside.clone().oneshot(preflight()).await.unwrap(),
        ),
    ] {
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://chat.example",
            "{name}"
        );
    }
    let answered = outside.oneshot(post_auth()).await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(
        answered.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://chat.example"
    );
    // Inside, CORS headers on the POST answer come from the inner CORS layer only for what it
    // answers; the layer's own answer is still 200.
    assert_eq!(
        inside.oneshot(post_auth()).await.unwrap().status(),
        StatusCode::OK
    );
}

#[path = "../../../tests/support/logs.rs"]
mod logs;

/// Request logging (`TraceLayer`, headers included) under `SetSensitiveRequestHeadersLayer`
/// records that the session cookie, the bearer token and the CSRF token were there, never
/// their values: the composition SECURITY.md recommends.
#[test]
fn request_logging_does_not_record_cookies_or_tokens() {
    use http::header::COOKIE;
    use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
    use tower_http::trace::{DefaultMakeSpan, DefaultOnRequest, TraceLayer};

    let captured = logs::Captured::default();
    let credentials = Credentials::new("app-key", "app-secret").unwrap();
    let app = Router::new()
        .layer(PusherAuthLayer::new(Endpoints::new(
            credentials,
            authorizer,
        )))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().include_headers(true))
                .on_request(DefaultOnRequest::new().level(tracing::Level::INFO)),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            COOKIE,
            AUTHORIZATION,
            HeaderName::from_static("x-csrf-token"),
        ]));
    let request = Request::post("/pusher/auth")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(COOKIE, "session=cookie-value-0451")
        .header(AUTHORIZATION, "Bearer token-value-0452")
        .header("x-csrf-token", "csrf-value-0453")
        .body(Body::from("socket_id=1.2&channel_name=private-a"))
        .unwrap();
    let status =
        tracing::subscriber::with_default(captured.subscriber(tracing::Level::DEBUG), || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(app.oneshot(request))
                .unwrap()
                .status()
        });
    assert_eq!(status, StatusCode::OK);
    let log = captured.text();
    assert!(log.contains("started processing request"), "{log}");
    assert!(log.contains("\"cookie\": Sensitive"), "{log}");
    assert!(log.contains("\"x-csrf-token\": Sensitive"), "{log}");
    for secret in ["cookie-value-0451", "token-value-0452", "csrf-value-0453"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}
