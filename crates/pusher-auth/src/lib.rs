//! Pusher Channels authorization, without a web framework: who may join which channel.
//!
//! This crate holds what every auth endpoint needs besides HTTP plumbing: the [`Authorizer`]
//! trait that decides, Laravel-style channel [`routes`] whose handlers receive your user type,
//! the request formats clients send ([`request`], batches included), the [`endpoint`] logic that
//! every adapter shares, and the [`webhook`] handler. The protocol itself (credentials, names,
//! signing, webhook verification) is the `pusher-protocol` crate, re-exported here.
//!
//! Pick the adapter for your framework: `pusher-auth-axum`, `pusher-auth-actix-web`, or
//! `pusher-auth-tower` for any tower stack.
//!
//! ```
//! use pusher_auth::routes::{ChannelRoutes, Membership};
//! use pusher_auth::{PresenceMember, UserId};
//!
//! #[derive(Clone)]
//! struct User { id: u64, name: String }
//!
//! let routes = ChannelRoutes::new()
//!     .private("chat", |_user: User, (): ()| async { true })
//!     .private("orders.{id}", |user: User, order: u64| async move { order / 1000 == user.id })
//!     .presence("chat", |user: User, (): ()| async move {
//!         PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name }))
//!     });
//! # fn check<A: pusher_auth::Authorizer>(_: &A) {}
//! # check(&routes);
//! ```
//!
//! # Features
//!
//! - `testing`: the `testing` module's helpers to check your endpoint's answers as a Pusher server would.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod authorizer;
pub mod endpoint;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod request;
pub mod routes;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

/// The `http` crate, whose request head (`http::request::Parts`) authorizers read.
pub use http;
/// The protocol crate: credentials, names, signing and webhook verification.
pub use pusher_protocol;

pub use authorizer::{
    Authorizer, ChannelDecision, ChannelRequest, Policy, UserDecision, UserRequest,
};
pub use pusher_protocol::{
    ChannelAuth, ChannelData, ChannelKind, ChannelName, ConfigError, Credentials, NameError,
    PresenceMember, SerializedUserData, SignError, SocketId, UserAuth, UserData, UserId,
    MAX_USER_INFO_BYTES, MAX_WATCHLIST,
};
pub use request::RequestError;
pub use routes::ChannelRoutes;
pub use webhook::{WebhookError, WebhookVerifier};
