//! Webhooks: verification and events (from [`pusher_protocol::webhook`]) and the
//! [`WebhookHandler`] that the endpoints hand verified webhooks to.
//!
//! ```
//! use pusher_auth::webhook::{Webhook, WebhookEvent, WebhookHandler};
//!
//! // A closure is a handler: log who came online.
//! let handler = |webhook: Webhook, _head: http::request::Parts| async move {
//!     for event in webhook.events() {
//!         if let WebhookEvent::MemberAdded { channel, user_id, .. } = event {
//!             println!("{user_id} joined {channel}");
//!         }
//!     }
//!     Ok::<_, std::convert::Infallible>(())
//! };
//! # fn check<H: WebhookHandler>(_: &H) {}
//! # check(&handler);
//! ```

use std::future::Future;

pub use pusher_protocol::webhook::{
    UnknownEvent, Webhook, WebhookError, WebhookEvent, WebhookVerifier,
};

use crate::authorizer::{BoxError, BoxFuture, RequestHead};

/// Receives verified webhooks, under any adapter. Closures
/// `Fn(Webhook, http::request::Parts) -> impl Future<Output = Result<(), E>>` implement it.
///
/// `Ok` answers 200; `Err` answers 500 (logged, not sent), so Pusher retries the webhook.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a webhook handler",
    label = "expected a webhook handler here",
    note = "a closure handler looks like `|webhook: Webhook, head: http::request::Parts| async move {{ Ok::<_, Infallible>(()) }}`"
)]
pub trait WebhookHandler: Send + Sync + 'static {
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
    F: Fn(Webhook, RequestHead) -> Fut + Send + Sync + 'static,
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

/// Object-safe form of [`WebhookHandler`].
pub(crate) trait DynWebhookHandler: Send + Sync {
    fn handle_dyn(
        &self,
        webhook: Webhook,
        head: RequestHead,
    ) -> BoxFuture<'_, Result<(), BoxError>>;
}

impl<H: WebhookHandler> DynWebhookHandler for H {
    fn handle_dyn(
        &self,
        webhook: Webhook,
        head: RequestHead,
    ) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move {
            WebhookHandler::handle(self, webhook, head)
                .await
                .map_err(Into::into)
        })
    }
}
