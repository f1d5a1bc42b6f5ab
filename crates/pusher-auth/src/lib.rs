//! Pusher Channels authorization, without a web framework.
//!
//! This crate holds everything an auth endpoint needs that is not HTTP plumbing: the app's
//! [`Credentials`], validated [`SocketId`], [`ChannelName`] and [`UserId`], byte-exact signing
//! for every channel kind and for user sign-in, the [`request`] formats clients send (including
//! batches), [`webhook`] verification, and the [`Authorizer`] trait with Laravel-style
//! [`routes`]: one authorizer serves every adapter. The `pusher-auth-tower` crate builds the
//! tower layer on top of it.
//!
//! ```
//! use pusher_auth::request::{parse_channel_request, BodyFormat, Channels, Limits};
//! use pusher_auth::{Credentials, PresenceMember, UserId};
//!
//! let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?;
//!
//! // What pusher-js POSTs to the auth endpoint…
//! let body = b"socket_id=1234.1234&channel_name=presence-chat";
//! let request = parse_channel_request(BodyFormat::Form, body, &Limits::default())?;
//! let Channels::One(channel) = request.channels() else { unreachable!() };
//!
//! // …decided by the app, then signed.
//! #[derive(serde::Serialize)]
//! struct Info<'a> { name: &'a str }
//! let member = PresenceMember::new(UserId::from(42u64)).with_info(Info { name: "Ada" });
//! let answer = credentials.authorize_presence(request.socket_id(), channel, &member)?;
//!
//! assert_eq!(answer.channel_data(), Some(r#"{"user_id":"42","user_info":{"name":"Ada"}}"#));
//! assert!(answer.to_json().starts_with(r#"{"auth":"278d425bdf160c739803:"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `testing`: [`testing`] helpers to check your endpoint's answers as a Pusher server would.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authorizer;
mod credentials;
pub mod endpoint;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
mod hex;
mod names;
pub mod request;
pub mod routes;
mod sign;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

/// The `http` crate, whose request head (`http::request::Parts`) authorizers read.
pub use http;

pub use authorizer::{Authorizer, ChannelDecision, ChannelRequest, UserDecision, UserRequest};
pub use credentials::{ConfigError, Credentials};
pub use names::{ChannelKind, ChannelName, NameError, SocketId, UserId};
pub use request::RequestError;
pub use sign::{
    ChannelAuth, PresenceMember, SignError, UserAuth, UserData, MAX_USER_INFO_BYTES, MAX_WATCHLIST,
};
pub use webhook::{WebhookError, WebhookVerifier};
