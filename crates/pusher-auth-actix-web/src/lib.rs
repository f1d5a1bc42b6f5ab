//! actix-web integration for pusher-auth.
//!
//! actix-web is not built on tower, so this crate answers the same endpoints natively, with
//! the same [`Endpoints`] logic as the tower layer: the same routes, statuses, error codes and
//! JSON bytes, and the same portable [`Authorizer`]. The request head is converted to
//! `http::request::Parts` for the authorizer; actix extractors can put what they find (the
//! logged-in user) into its extensions with [`PusherAuth::with_extractor`].
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use pusher_auth::authorizer::{ChannelDecision, ChannelRequest};
//! use pusher_auth::Credentials;
//! use pusher_auth_actix_web::PusherAuth;
//!
//! #[derive(Clone)]
//! struct User(String);
//!
//! # async fn run() -> std::io::Result<()> {
//! let pusher = PusherAuth::new(Credentials::new("key", "secret").unwrap(), |req: ChannelRequest| async move {
//!     let logged_in = req.extensions().get::<User>().is_some();
//!     Ok::<_, std::convert::Infallible>(ChannelDecision::allow_if(logged_in, "not logged in"))
//! })
//! .with_channel_path("/channels/authorize")
//! // Any actix extractor: here the `x-user` header, in a real app your session.
//! .with_extractor(|req: actix_web::HttpRequest| {
//!     req.headers().get("x-user").and_then(|v| v.to_str().ok()).map(|name| User(name.to_string()))
//! });
//!
//! HttpServer::new(move || App::new().configure(|cfg| pusher.configure(cfg)))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode as ActixStatus;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use pusher_auth::endpoint::{Answer, Endpoints, Route};
use pusher_auth::request::Limits;
use pusher_auth::webhook::{WebhookHandler, WebhookVerifier};
pub use pusher_auth::Authorizer;
use pusher_auth::Credentials;

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type Hook = Arc<dyn Fn(HttpRequest) -> LocalFuture<http::Extensions> + Send + Sync>;

/// The Pusher auth endpoints for an actix-web app. Register them with
/// [`PusherAuth::configure`]; the defaults are those of the tower layer (`POST /pusher/auth`,
/// `POST /pusher/user-auth`, no webhooks, 16 KiB bodies).
pub struct PusherAuth<A> {
    endpoints: Endpoints<A>,
    channel_path: String,
    user_path: Option<String>,
    webhook_path: Option<String>,
    hooks: Vec<Hook>,
}

impl<A: Clone> Clone for PusherAuth<A> {
    fn clone(&self) -> Self {
        PusherAuth {
            endpoints: self.endpoints.clone(),
            channel_path: self.channel_path.clone(),
            user_path: self.user_path.clone(),
            webhook_path: self.webhook_path.clone(),
            hooks: self.hooks.clone(),
        }
    }
}

impl<A> std::fmt::Debug for PusherAuth<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherAuth")
            .field("endpoints", &self.endpoints)
            .field("channel_path", &self.channel_path)
            .field("user_path", &self.user_path)
            .field("webhook_path", &self.webhook_path)
            .field("extractors", &self.hooks.len())
            .finish()
    }
}

impl<A: Authorizer> PusherAuth<A> {
    /// Endpoints signing with `credentials` and deciding with `authorizer`.
    pub fn new(credentials: Credentials, authorizer: A) -> Self {
        PusherAuth {
            endpoints: Endpoints::new(credentials, authorizer),
            channel_path: "/pusher/auth".into(),
            user_path: Some("/pusher/user-auth".into()),
            webhook_path: None,
            hooks: Vec::new(),
        }
    }

    /// Answers channel authorization at `path`.
    #[must_use]
    pub fn with_channel_path(mut self, path: impl Into<String>) -> Self {
        self.channel_path = path.into();
        self
    }

    /// Answers user sign-in at `path`.
    #[must_use]
    pub fn with_user_path(mut self, path: impl Into<String>) -> Self {
        self.user_path = Some(path.into());
        self
    }

    /// Does not answer user sign-in.
    #[must_use]
    pub fn without_user_auth(mut self) -> Self {
        self.user_path = None;
        self
    }

    /// Verifies webhooks at `path` and hands them to `handler`.
    #[must_use]
    pub fn with_webhooks(mut self, path: impl Into<String>, handler: impl WebhookHandler) -> Self {
        let verifier = WebhookVerifier::new(self.endpoints.credentials().clone());
        self.endpoints = self.endpoints.with_webhooks(verifier, handler);
        self.webhook_path = Some(path.into());
        self
    }

    /// The largest body read, in bytes.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.endpoints = self.endpoints.with_body_limit(bytes);
        self
    }

    /// The batch and parameter limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.endpoints = self.endpoints.with_limits(limits);
        self
    }

    /// Runs the actix extractor `E` on each request and, when `map` returns a value, puts it in
    /// the request extensions the authorizer sees (`request.extensions().get::<T>()`).
    ///
    /// actix extractors are often `!Send` (sessions, identities); `map` turns what they hold
    /// into a plain `T`. A rejected extraction adds nothing and is logged, so an authorizer that
    /// requires `T` denies (403).
    #[must_use]
    pub fn with_extractor<E, T, F>(mut self, map: F) -> Self
    where
        E: FromRequest + 'static,
        F: Fn(E) -> Option<T> + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let map = Arc::new(map);
        self.hooks.push(Arc::new(move |req: HttpRequest| {
            let map = Arc::clone(&map);
            Box::pin(async move {
                let mut extensions = http::Extensions::new();
                match E::extract(&req).await {
                    Ok(extracted) => {
                        if let Some(value) = map(extracted) {
                            extensions.insert(value);
                        }
                    }
                    Err(e) => {
                        let e: actix_web::Error = e.into();
                        tracing::info!(target: "pusher_auth", extractor = std::any::type_name::<E>(), status = %e.as_response_error().status_code(), "extractor rejected the request");
                    }
                }
                extensions
            })
        }));
        self
    }

    /// Registers the endpoints: `App::new().configure(|cfg| pusher.configure(cfg))`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let mut routes = vec![(self.channel_path.clone(), Route::Channel)];
        routes.extend(self.user_path.clone().map(|p| (p, Route::User)));
        routes.extend(self.webhook_path.clone().map(|p| (p, Route::Webhook)));
        for (path, route) in routes {
            let this = self.clone();
            cfg.service(
                web::resource(path).to(move |req: HttpRequest, payload: web::Payload| {
                    let this = this.clone();
                    async move { this.answer(route, req, payload).await }
                }),
            );
        }
    }

    async fn answer(&self, route: Route, req: HttpRequest, payload: web::Payload) -> HttpResponse {
        let Some(mut head) = request_head(&req) else {
            return respond(Answer::body_read_error());
        };
        let checked = match self.endpoints.precheck(route, &head) {
            Ok(checked) => checked,
            Err(refusal) => return respond(refusal),
        };
        let body = match payload.to_bytes_limited(self.endpoints.body_limit()).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                tracing::debug!(target: "pusher_auth", error = %e, "could not read the request body");
                return respond(Answer::body_read_error());
            }
            Err(_) => return respond(Answer::payload_too_large(self.endpoints.body_limit())),
        };
        for hook in &self.hooks {
            head.extensions.extend(hook(req.clone()).await);
        }
        respond(self.endpoints.answer(checked, head, &body).await)
    }
}

/// The actix request head as `http::request::Parts` (method, URI, version, headers).
fn request_head(req: &HttpRequest) -> Option<http::request::Parts> {
    let version = match req.version() {
        actix_web::http::Version::HTTP_09 => http::Version::HTTP_09,
        actix_web::http::Version::HTTP_10 => http::Version::HTTP_10,
        actix_web::http::Version::HTTP_2 => http::Version::HTTP_2,
        actix_web::http::Version::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    let mut builder = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string())
        .version(version);
    for (name, value) in req.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
}

fn respond(answer: Answer) -> HttpResponse {
    let status = ActixStatus::from_u16(answer.status().as_u16())
        .unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers() {
        response.insert_header((name.as_str(), value.as_bytes()));
    }
    response.body(answer.into_body())
}
