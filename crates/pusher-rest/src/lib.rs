//! A client for the Pusher Channels HTTP API (the "REST API"): trigger events, batches and
//! end-to-end encrypted events, send to signed-in users, terminate their connections, and ask
//! about channels and presence members. It works against Pusher itself and the servers that
//! speak its protocol: sockudo, soketi and Laravel Reverb.
//!
//! Everything a request could get wrong is checked before it is sent, and every failure is an
//! [`Error`] value, never a panic:
//!
//! ```
//! use pusher_rest::{Client, Credentials, Error, InvalidInput};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let credentials = Credentials::new("app-key", "app-secret")?.with_app_id("app-id")?;
//! // A local sockudo, soketi or Reverb (plain http is the default for a loopback host).
//! let client = Client::builder(credentials).host("127.0.0.1").port(6001).build()?;
//! assert_eq!(client.base_url(), "http://127.0.0.1:6001");
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! // None of these reaches the network.
//! let bad_channel = client.trigger("not a channel!", "message", "hi").await.unwrap_err();
//! assert!(bad_channel.is_invalid_input());
//!
//! let too_big = client.trigger("chat", "message", &"x".repeat(20_000)).await.unwrap_err();
//! assert!(matches!(too_big, Error::InvalidInput(InvalidInput::DataTooLarge { size: 20_000, max: 10_240, .. })));
//!
//! let no_key = client.trigger("private-encrypted-chat", "message", "hi").await.unwrap_err();
//! assert!(matches!(no_key, Error::InvalidInput(InvalidInput::NoMasterKey(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(()) })?;
//! # Ok(()) }
//! ```
//!
//! Against a server (this needs one, hence `no_run`):
//!
//! ```no_run
//! use pusher_rest::{BatchEvent, Client, Info, SocketId, UserId};
//!
//! #[derive(serde::Serialize)]
//! struct Message<'a> {
//!     from: &'a str,
//!     text: &'a str,
//! }
//!
//! # async fn run(sender: Option<SocketId>) -> Result<(), pusher_rest::Error> {
//! // PUSHER_APP_ID, PUSHER_KEY, PUSHER_SECRET, and PUSHER_CLUSTER or PUSHER_HOST/PUSHER_PORT.
//! let client = Client::from_env()?;
//!
//! // To everyone on the channel but the sender (Laravel's `toOthers()`).
//! client
//!     .trigger("private-chat", "message", &Message { from: "ada", text: "hi" })
//!     .exclude(sender)
//!     .await?;
//!
//! // To 250 channels (three requests), asking how many connections each has.
//! let rooms: Vec<String> = (0..250).map(|i| format!("room-{i}")).collect();
//! let answer = client
//!     .trigger(rooms, "tick", &serde_json::json!({ "at": 1 }))
//!     .info(Info::new().subscription_count())
//!     .await?;
//! println!("{:?}", answer.channel("room-0"));
//!
//! // Encrypted end to end (needs PUSHER_ENCRYPTION_MASTER_KEY_BASE64).
//! client.trigger("private-encrypted-chat", "message", &Message { from: "ada", text: "secret" }).await?;
//!
//! // Batches, users, channels.
//! client.trigger_batch([BatchEvent::new("room-1", "a", "1")?, BatchEvent::new("room-2", "b", "2")?]).await?;
//! let user = UserId::new("ada")?;
//! client.send_to_user(&user, "notice", "you have mail").await?;
//! client.terminate_user_connections(&user).await?;
//! let occupied = client.channels().filter_by_prefix("presence-").info(Info::new().user_count()).await?;
//! let members = client.presence_users("presence-lobby").await?;
//! # let _ = (occupied, members);
//! # Ok(()) }
//! ```
//!
//! With your own HTTP client, sign requests with [`rest::sign_request`] (re-exported from
//! `pusher-protocol`) and encrypt payloads with [`encryption::encrypt`].
//!
//! # Why hyper
//!
//! The client is [`hyper`] 1 through `hyper-util`'s pooled client (keep-alive connections,
//! HTTP/1.1), with TLS from `hyper-rustls` (rustls with the `ring` provider and the Mozilla
//! root certificates of `webpki-roots`). An axum or tonic app already compiles hyper 1, so this
//! adds little to its build; reqwest would add its own layers (cookie, redirect, proxy, body
//! and decompression handling) that the Pusher API does not use. There is no hyper 0.14 and no
//! system OpenSSL anywhere in the dependency tree.
//!
//! # Features
//!
//! - `rustls` (default): HTTPS. Without it the client only speaks plain HTTP, enough for a
//!   local or private server, and building an `https` client is a [`ConfigError::TlsDisabled`]
//!   error.
//!
//! # Configuration
//!
//! [`ClientBuilder`]: host, port and scheme (https by default, http for a loopback host), or a
//! Pusher cluster (`api-{cluster}.pusher.com`); a `PUSHER_URL`
//! (`http(s)://key:secret@host:port/apps/{id}`); the environment ([`ClientBuilder::from_env`]:
//! `PUSHER_APP_ID`, `PUSHER_KEY`, `PUSHER_SECRET`, `PUSHER_CLUSTER` or
//! `PUSHER_HOST`/`PUSHER_PORT`/`PUSHER_SCHEME`, `PUSHER_URL`,
//! `PUSHER_ENCRYPTION_MASTER_KEY_BASE64`); the request timeout ([`DEFAULT_TIMEOUT`], 5 s);
//! retries ([`RetryPolicy`], off by default: triggers are not idempotent); the data limit
//! ([`DEFAULT_MAX_DATA_BYTES`], 10 KB) and the batch size ([`DEFAULT_BATCH_SIZE`], 10).
//!
//! # Limits and splitting
//!
//! | rule | what the client does |
//! |---|---|
//! | ≤ 100 channels per `events` request | more channels are sent as several requests of ≤ 100, in order (as Laravel does) |
//! | `private-encrypted-` channels | each gets its own request with its own ciphertext; plain channels of the same trigger share the plain requests (the Node SDK refuses such triggers) |
//! | ≤ 10 events per `batch_events` request | larger batches are sent as several requests, in order |
//! | event name ≤ 200 bytes, data ≤ 10 KB as sent | [`InvalidInput`] before anything is sent |
//! | channel names | [`ChannelName`] rules: `A-Z a-z 0-9 _ - = @ , . ;`, ≤ 164 characters |
//! | user ids for `send_to_user` and `terminate_user_connections` | must also fit the channel-name characters (they become part of `#server-to-user-{id}` and of the path) |
//!
//! When a split operation fails part way, the error is [`Error::Partial`], which says what
//! was delivered. Requests are sent one after another, never concurrently.
//!
//! # Servers
//!
//! | operation | Pusher | sockudo 5.2.0 | soketi 1.x | Laravel Reverb 1.x |
//! |---|---|---|---|---|
//! | trigger, `socket_id` exclusion | ✔ | ✔ tested | ✔ | ✔ |
//! | trigger with `info` | ✔ (`subscription_count` must be enabled for the app) | ✔ tested | answers `{"ok":true}`: no attributes | ✔ |
//! | batch trigger | ✔ (10 events a request) | ✔ tested, with `info` | ✔, without attributes | ✔ |
//! | channel list, `filter_by_prefix`, `info` | ✔ | ✔ tested | lists every channel, ignores both parameters | ✔ |
//! | one channel's info | ✔ | ✔ tested | ✔ (always every count) | ✔ |
//! | presence users | ✔ | ✔ tested | ✔ | ✔ |
//! | `send_to_user` | ✔ | ✔ tested (received by a signed-in pusher-js) | ✔ | accepted, but its protocol handler has no `pusher:signin`, so no connection receives it |
//! | `terminate_user_connections` | ✔ | ✔ tested | ✔ | ✔ (connections whose presence `user_id` matches) |
//! | encrypted channels (the server only relays) | ✔ | ✔ tested (decrypted by pusher-js) | ✔ | ✔ |
//!
//! The sockudo column is what this crate's test suite checks against a real sockudo 5.2.0
//! with a pusher-js client subscribed. The other columns are not run: Pusher's follows its
//! HTTP API reference, soketi's and Reverb's were read from their source code and
//! documentation. The client reads every answer shape seen there (`{}`, `{"ok":true}`,
//! `{"batch":{}}`) as "no attributes", and escapes query values so that each server's
//! parser (PHP's `parse_str` turns `+` into a space) decodes what was signed.
//!
//! # Errors, logs and secrets
//!
//! [`Error`] separates invalid input (nothing sent) from HTTP statuses (with the server's
//! message, cut to [`MAX_ERROR_BODY`] bytes), timeouts, connection failures and undecodable
//! answers. Each HTTP exchange is one `tracing` event (target `pusher_rest`: method, path,
//! status, duration, retry number; `debug` on success, `warn` on failure). The query string is
//! never logged, since it holds the request signature; neither `Debug` of the client nor any
//! error shows the secret, the master key or a signature.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
pub mod encryption;
mod error;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod transport;
mod types;

pub use client::{ChannelsQuery, Client, ResponseFuture, Trigger};
pub use config::{
    ClientBuilder, Proxy, RetryPolicy, Scheme, DEFAULT_BATCH_SIZE, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEADLINE, DEFAULT_HOST, DEFAULT_MAX_DATA_BYTES, DEFAULT_POOL_IDLE_TIMEOUT,
    DEFAULT_SPLIT_CONCURRENCY, DEFAULT_TIMEOUT,
};
pub use error::{ConfigError, Error, InvalidInput, MAX_ERROR_BODY};
pub use types::{
    BatchEvent, BatchResponse, ChannelAttributes, ChannelInfo, ChannelsList, Info, IntoChannel,
    IntoChannels, TriggerResponse, MAX_CHANNELS_PER_REQUEST, MAX_EVENT_NAME_BYTES,
};

pub use pusher_protocol::rest;
pub use pusher_protocol::{ChannelKind, ChannelName, Credentials, NameError, SocketId, UserId};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
