//! The optional webhook route: verify, parse, hand the events to a [`WebhookHandler`].
//!
//! ```
//! use pusher_auth::authorizer::AllowPrivate;
//! use pusher_auth::webhook::Webhook;
//! use pusher_auth::Credentials;
//! use pusher_auth_tower::PusherAuthLayer;
//!
//! let layer = PusherAuthLayer::new(Credentials::new("key", "secret")?, AllowPrivate)
//!     .with_webhooks("/pusher/webhooks", |webhook: Webhook, _head: http::request::Parts| async move {
//!         for event in webhook.events() {
//!             println!("{event:?}");
//!         }
//!         Ok::<_, std::convert::Infallible>(())
//!     });
//! # Ok::<(), pusher_auth::ConfigError>(())
//! ```

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use pusher_auth::authorizer::{Authorizer, BoxError, BoxFuture, RequestHead};
use pusher_auth::webhook::Webhook;
use pusher_auth::WebhookError;

use crate::respond::{json, Refusal};
use crate::Config;

/// Receives verified webhooks. Closures `Fn(Webhook, Parts) -> impl Future<Output = Result<(), E>>`
/// implement it.
///
/// `Ok` answers 200; `Err` answers 500 (logged), so Pusher retries the webhook.
pub trait WebhookHandler: Clone + Send + Sync + 'static {
    /// The error type.
    type Error: Into<BoxError> + Send + 'static;

    /// Handles one verified webhook.
    fn handle(
        &self,
        webhook: Webhook,
        head: RequestHead,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<F, Fut, E> WebhookHandler for F
where
    F: Fn(Webhook, RequestHead) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError> + Send + 'static,
{
    type Error = E;

    fn handle(
        &self,
        webhook: Webhook,
        head: RequestHead,
    ) -> impl Future<Output = Result<(), E>> + Send {
        self(webhook, head)
    }
}

pub(crate) trait DynWebhookHandler: Send + Sync {
    fn handle(&self, webhook: Webhook, head: RequestHead) -> BoxFuture<'_, Result<(), BoxError>>;
}

impl<H: WebhookHandler> DynWebhookHandler for H {
    fn handle(&self, webhook: Webhook, head: RequestHead) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move {
            WebhookHandler::handle(self, webhook, head)
                .await
                .map_err(Into::into)
        })
    }
}

pub(crate) type SharedHandler = Arc<dyn DynWebhookHandler>;

pub(crate) async fn answer<A: Authorizer>(
    config: &Config<A>,
    head: RequestHead,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Refusal> {
    let Some(webhooks) = &config.webhooks else {
        return Err(Refusal::internal("misconfigured"));
    };
    let header = |name: &str| {
        head.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let verified =
        webhooks
            .verifier
            .verify(header("x-pusher-key"), header("x-pusher-signature"), &body);
    let webhook = verified.map_err(|e| {
        tracing::warn!(target: "pusher_auth", code = e.code(), "webhook refused");
        let status = match e {
            WebhookError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        };
        Refusal::new(status, e.code(), e.to_string())
    })?;
    let events = webhook.events().len();
    match webhooks.handler.handle(webhook, head).await {
        Ok(()) => {
            tracing::debug!(target: "pusher_auth", events, "webhook handled");
            Ok(json(StatusCode::OK, "{}"))
        }
        Err(e) => {
            tracing::error!(target: "pusher_auth", error = %e, "webhook handler failed");
            Err(Refusal::internal("webhook_handler_error"))
        }
    }
}
