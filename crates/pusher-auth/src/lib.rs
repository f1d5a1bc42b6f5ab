//! Pusher Channels authorization, without a web framework: who may join which channel, and
//! who a connection signs in as.
//!
//! This crate holds what every auth endpoint needs besides HTTP plumbing: the [`Authorizer`]
//! trait that decides channels for your user type, Laravel-style [`ChannelRoutes`] whose
//! handlers receive that user, the [`Signin`] handler for `pusher.signin()`, [`webhook`]
//! handling, and the [`Endpoints`] that put them together: configured once, mounted by your
//! framework's adapter. The protocol itself (credentials, names, signing, webhook
//! verification) is the `pusher-protocol` crate, re-exported here, and its types are the
//! same ones `pusher-rest` publishes with.
//!
//! Pick the adapter for your framework: `pusher-auth-axum`, `pusher-auth-actix-web`,
//! `pusher-auth-rocket`, or `pusher-auth-tower` for any tower stack. Each re-exports this
//! crate.
//!
//! ```
//! use pusher_auth::{ChannelRoutes, Credentials, Endpoints, Membership, PresenceMember, SigninRequest, UserData, UserId};
//!
//! /// Your logged-in user, as your session layer (or extractor, or guard) finds it.
//! #[derive(Clone)]
//! struct User { id: u64, name: String }
//!
//! let routes = ChannelRoutes::new()
//!     .private("chat", |_user: User, (): ()| async { true })
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 1000 == user.id })
//!     .presence("chat", |user: User, (): ()| async move {
//!         PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name }))
//!     });
//! let endpoints = Endpoints::new(Credentials::new("app-key", "app-secret")?, routes)
//!     .with_signin(|user: User, _: SigninRequest| async move { UserData::new(UserId::from(user.id)) });
//! # let _ = endpoints;
//! # Ok::<(), pusher_auth::ConfigError>(())
//! ```
//!
//! # Features
//!
//! - `testing`: the [`testing`] module's helpers to check your endpoint's answers as a Pusher
//!   server would, and to build signed webhook requests. Every adapter crate has a `testing`
//!   feature that turns this one on, so `pusher_auth_axum::pusher_auth::testing` (and so on)
//!   needs no dependency of its own.
//!
//! # Stability
//!
//! The whole crate follows semantic versioning, the [`adapter`] module included: everything
//! outside it is the API apps use; [`adapter`] is what the adapter crates build on (see its
//! docs), and apps never need it.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod adapter;
pub mod authorizer;
mod endpoints;
mod log;
mod request;
pub mod routes;
pub mod signin;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod webhook;

/// The `http` crate, whose request head (`http::request::Parts`) authorizers read.
pub use http;
/// The protocol crate: credentials, names, signing and webhook verification.
pub use pusher_protocol;

pub use authorizer::{Authorizer, BoxAuthorizer, ChannelDecision, ChannelRequest, Misconfigured};
pub use endpoints::{
    Endpoints, DEFAULT_BODY_LIMIT, DEFAULT_WEBHOOK_BODY_LIMIT, LARAVEL_ECHO_PATHS, PUSHER_JS_PATHS,
};
pub use pusher_protocol::{
    ChannelAuth, ChannelData, ChannelKind, ChannelName, ConfigError, Credentials, NameError,
    PresenceMember, SerializedUserData, SignError, SocketId, UserAuth, UserData, UserId,
    MAX_USER_INFO_BYTES, MAX_WATCHLIST,
};
pub use request::{Limits, Params, RequestError};
pub use routes::{Access, ChannelRoutes, Membership};
pub use signin::{Signin, SigninDecision, SigninRequest};
pub use webhook::{Webhook, WebhookError, WebhookEvent, WebhookHandler, WebhookVerifier};
