//! The Pusher Channels protocol, without HTTP: what every server-side piece needs and nothing
//! that changes with a web framework.
//!
//! - [`Credentials`]: the app key, the secret (kept only as a keyed HMAC) and the optional
//!   encryption master key; from values, a `PUSHER_URL` or the environment.
//! - [`SocketId`], [`ChannelName`] (with [`ChannelKind`]) and [`UserId`]: validated once.
//! - [`sign`]: the answers an auth endpoint gives, byte for byte as the official SDKs give them,
//!   for private, presence, encrypted channels and user sign-in.
//! - [`webhook`]: constant-time verification of `X-Pusher-Key` / `X-Pusher-Signature` and typed
//!   events.
//!
//! This crate is the stable part of the workspace: the `pusher-auth` endpoint crate and the
//! `pusher-rest` REST client both build on it, and it does not depend on either.
//!
//! ```
//! use pusher_protocol::{Credentials, PresenceMember, UserId};
//!
//! let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?;
//! let socket = "1234.1234".parse()?;
//!
//! // The worked example of the Pusher documentation.
//! let private = credentials.authorize_channel(&socket, &"private-foobar".parse()?)?;
//! assert_eq!(
//!     private.to_json(),
//!     r#"{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}"#,
//! );
//!
//! // A presence member with typed information, serialized once and signed as returned.
//! #[derive(serde::Serialize)]
//! struct Info<'a> { name: &'a str }
//! let member = PresenceMember::new(UserId::from(42u64)).with_info(Info { name: "Ada" });
//! let presence = credentials.authorize_presence(&socket, &"presence-chat".parse()?, &member.to_channel_data()?)?;
//! assert_eq!(presence.channel_data(), Some(r#"{"user_id":"42","user_info":{"name":"Ada"}}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `testing`: the `testing` module's helpers to check answers as a Pusher server would.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod channel;
mod credentials;
mod hex;
mod names;
pub mod rest;
pub mod sign;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

pub use credentials::{ConfigError, Credentials};
pub use names::{ChannelKind, ChannelName, NameError, SocketId, UserId};
pub use sign::{
    ChannelAuth, ChannelData, PresenceMember, SerializedUserData, SignError, UserAuth, UserData,
    MAX_USER_INFO_BYTES, MAX_WATCHLIST,
};
pub use webhook::{WebhookError, WebhookVerifier};
