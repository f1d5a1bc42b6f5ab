//! A pusher-js-auth batch of 100 private channels, through the axum routes, with a user
//! extractor and a channel decision that each wait 1 ms (a session lookup and a database
//! query), before and after batches were decided concurrently with one extraction:
//!
//! - `before`: the previous behaviour, reproduced: the user is extracted again for every
//!   channel, and the channels are decided one after another;
//! - `after`: the default: the user is extracted once, channels are decided 16 at a time;
//! - `after_64`: the same with `Limits::with_batch_concurrency(64)`.
//!
//! `cargo bench -p pusher-auth-axum --bench batch`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use pusher_auth::{
    Authorizer, BoxAuthorizer, ChannelDecision, ChannelRequest, ChannelRoutes, Credentials,
    Endpoints, Limits,
};
use pusher_auth_axum::RouterExt;
use tower::ServiceExt;

/// The user, found by a 1 ms lookup.
#[derive(Clone)]
struct User;

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = StatusCode;
    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(User)
    }
}

fn routes() -> ChannelRoutes<User> {
    ChannelRoutes::new().private("c.{n}", |_: User, n: u32| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        n < 1000
    })
}

/// The previous behaviour: every channel extracts the user again, decided one at a time
/// (concurrency 1).
struct PerChannel(BoxAuthorizer<User>);

impl Authorizer<()> for PerChannel {
    type Error = pusher_auth::authorizer::BoxError;
    async fn authorize(
        &self,
        (): (),
        request: ChannelRequest,
    ) -> Result<ChannelDecision, Self::Error> {
        let mut head = request.head().clone();
        let user = User::from_request_parts(&mut head, &())
            .await
            .map_err(|s| s.to_string())?;
        self.0.authorize(user, request).await
    }
}

fn batch_request() -> Request<Body> {
    let channels: String = (0..100)
        .map(|i| format!("&channel_name[{i}]=private-c.{i}"))
        .collect();
    Request::post("/pusher/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("socket_id=1.2{channels}")))
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let credentials = Credentials::new("key", "secret").unwrap();
    let before = Router::new().pusher_auth(
        Endpoints::new(
            credentials.clone(),
            PerChannel(BoxAuthorizer::new(routes())),
        )
        .with_limits(Limits::default().with_batch_concurrency(1)),
    );
    let after = Router::new().pusher_auth(Endpoints::new(credentials.clone(), routes()));
    let after_64 = Router::new().pusher_auth(
        Endpoints::new(credentials, routes())
            .with_limits(Limits::default().with_batch_concurrency(64)),
    );
    let mut group = c.benchmark_group("batch_100_channels_1ms");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, app) in [("before", before), ("after", after), ("after_64", after_64)] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let app = app.clone();
                async move {
                    let response = app.oneshot(batch_request()).await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
