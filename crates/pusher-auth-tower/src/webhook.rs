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

pub use pusher_auth::webhook::{Webhook, WebhookEvent, WebhookHandler, WebhookVerifier};
