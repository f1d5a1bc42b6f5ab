//! A client for the Pusher Channels HTTP API (the "REST API"): trigger events, batches and
//! end-to-end encrypted events, send to signed-in users, terminate their connections, and ask
//! about channels and presence members. It works against Pusher itself and the servers that
//! speak its protocol: sockudo, soketi and Laravel Reverb.
//!
//! Everything a request could get wrong is checked before it is sent, and every failure is an
//! [`Error`] value, never a panic. One limit: requests run on Tokio, and need its time and IO
//! drivers. Polled outside any Tokio runtime, a request is [`Error::NoRuntime`]; but a runtime
//! built without those drivers cannot be detected, and Tokio itself panics when the request
//! starts its timer or its connection. `#[tokio::main]` and the runtimes of axum, actix-web and
//! Rocket have both; a runtime built by hand needs `enable_all()`.
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
//! # One configuration for the auth endpoints and the client
//!
//! [`Credentials`], [`SocketId`], [`UserId`], [`ChannelName`] and [`ChannelKind`] are
//! re-exported from `pusher-protocol`: they are the very types `pusher-auth` uses (it
//! re-exports the same crate), not copies. Build the credentials once and give them to both:
//!
//! ```
//! use pusher_rest::{Client, Credentials};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let credentials = Credentials::new("key", "secret")?.with_app_id("1")?;
//! // In an app: let credentials = Credentials::from_env()?; (PUSHER_APP_ID, PUSHER_KEY,
//! // PUSHER_SECRET, PUSHER_ENCRYPTION_MASTER_KEY_BASE64, or PUSHER_URL)
//! let client = Client::builder(credentials.clone()).cluster("eu").build()?;
//! // The same value is what pusher-auth's endpoints sign with:
//! let for_the_endpoints: pusher_protocol::Credentials = credentials;
//! # let _ = (client, for_the_endpoints);
//! # Ok(()) }
//! ```
//!
//! # Requests own their data
//!
//! Every operation returns a future that holds a clone of the client (an `Arc` inside) and
//! its own copy of the request, so it is `Send + 'static`: `tokio::spawn(client.trigger(…).send())`
//! is the fire-and-forget broadcast of a handler. [`Trigger`] and [`ChannelsQuery`] are
//! builders you `.await` (through `IntoFuture`) or turn into a [`ResponseFuture`] with `send()`;
//! the other operations return a [`ResponseFuture`] directly.
//!
//! # Why hyper
//!
//! The client is [`hyper`] 1 through `hyper-util`'s pooled client (keep-alive connections,
//! HTTP/1.1, `hyper-util`'s `CONNECT` tunnel for proxies), with TLS from `hyper-rustls`: rustls
//! with the aws-lc-rs provider (rustls' default, with hybrid post-quantum key exchange; the
//! `ring` provider is deprecated by rustls for lacking it) and the Mozilla root certificates of
//! `webpki-roots`. An axum or tonic app already compiles hyper 1, so this adds little to its
//! build; reqwest would add its own layers (cookie, redirect, body and decompression handling)
//! that the Pusher API does not use. There is no hyper 0.14 and no system OpenSSL anywhere in
//! the dependency tree.
//!
//! # Features
//!
//! - `rustls` (default): HTTPS. Without it the client only speaks plain HTTP, enough for a
//!   local or private server, and building an `https` client is a [`ConfigError::TlsDisabled`]
//!   error.
//! - `platform-roots`: `ClientBuilder::platform_roots`, the operating system's trusted roots
//!   (`rustls-native-certs`), for a company CA installed on every machine. It is
//!   `rustls-native-certs` rather than `rustls-platform-verifier` because its certificates
//!   join the same root store as an internal CA from PEM and the Mozilla roots, one
//!   verifier for all; a platform verifier can still be used through
//!   [`ClientBuilder::tls_config`].
//! - `testing`: the `testing` module: a recording [`Client`] (`Client::recording`) and
//!   `testing::verify_rest_request`.
//!
//! # Configuration
//!
//! [`ClientBuilder`]: host, port and scheme (https by default, http for a loopback host), or a
//! Pusher cluster (`api-{cluster}.pusher.com`); a `PUSHER_URL`
//! (`http(s)://key:secret@host:port/apps/{id}`); the environment ([`ClientBuilder::from_env`]:
//! `PUSHER_APP_ID`, `PUSHER_KEY`, `PUSHER_SECRET`, `PUSHER_CLUSTER` or
//! `PUSHER_HOST`/`PUSHER_PORT`/`PUSHER_SCHEME`, `PUSHER_URL`,
//! `PUSHER_ENCRYPTION_MASTER_KEY_BASE64`, and the proxy variables); timeouts, the deadline and
//! retries (below); the data limit ([`DEFAULT_MAX_DATA_BYTES`], 10 KB), the batch size
//! ([`DEFAULT_BATCH_SIZE`], 10) and how many requests of a split operation are in flight
//! ([`DEFAULT_SPLIT_CONCURRENCY`], 4); the pool ([`ClientBuilder::pool_idle_timeout`],
//! [`ClientBuilder::pool_max_idle_per_host`]); the proxy ([`Proxy`]); TLS roots
//! ([`ClientBuilder::add_root_certificates_pem`], [`ClientBuilder::webpki_roots`],
//! `platform_roots`, [`ClientBuilder::tls_config`]).
//!
//! Plain `http` to a server that is not on this machine (anything but `localhost`,
//! `127.0.0.0/8` and `[::1]` literally: a name under `.localhost` may be resolved by DNS) is
//! allowed (a sockudo beside the app on a private network), but [`ClientBuilder::build`] logs
//! one WARN saying what travels in the clear (event data, channel names, socket ids, and
//! signatures a server accepts for ten minutes), unless [`ClientBuilder::allow_plain_http`]
//! acknowledges it. So does plain `http` through a proxy, even to this machine: the proxy
//! reads all of it. A warning rather than
//! an error: the official Node SDK defaults to plain http, and many deployments
//! (`PUSHER_SCHEME=http` to a container named `soketi`) rely on it.
//!
//! # Timeouts and retries
//!
//! | limit | default | covers | when it runs out |
//! |---|---|---|---|
//! | [`connect_timeout`](ClientBuilder::connect_timeout) | 2 s | TCP connect, the proxy's `CONNECT` tunnel, the TLS handshake | [`Error::Connection`] with `never_sent: true` |
//! | [`timeout`](ClientBuilder::timeout) | 5 s | one attempt: connecting, sending, reading the whole answer | [`Error::Timeout`] with `deadline: false` |
//! | [`deadline`](ClientBuilder::deadline) | 10 s (or the timeout, if longer) | the whole operation: every attempt, every wait, every request of a split operation | [`Error::Timeout`] with `deadline: true`; a retry whose wait would end past it is not made |
//! | [`retry`](ClientBuilder::retry) | none | see below | the last error |
//!
//! | failure | retried with [`RetryPolicy::new`] | why |
//! |---|---|---|
//! | connection not established (DNS, TCP, proxy, TLS, connect timeout) | yes | the request never left |
//! | 429 Too Many Requests; 503 Service Unavailable with `Retry-After` | yes, after `Retry-After` (seconds or HTTP date) if it fits in the deadline, else returned at once | the server refused it without acting on it |
//! | 503 without `Retry-After`, other 5xx, timeout, connection broken after sending | reads (`GET`) only; triggers and other `POST`s only with [`RetryPolicy::retry_possibly_delivered`] | Pusher may have delivered the event already and has no idempotency key: a retried trigger can arrive twice. A proxy (Envoy, Istio) answers 503 after forwarding the request when the upstream connection resets |
//! | other 4xx, invalid input | never | sending it again gives the same answer |
//!
//! # Limits and splitting
//!
//! | rule | what the client does |
//! |---|---|
//! | ≤ 100 channels per `events` request | more channels are sent as several requests of ≤ 100, as Laravel splits them |
//! | `private-encrypted-` channels | each gets its own request with its own ciphertext; plain channels of the same trigger share the plain requests (the Node SDK refuses such triggers) |
//! | ≤ 10 events per `batch_events` request | larger batches are sent as several requests |
//! | event name ≤ 200 bytes, data ≤ 10 KB as sent | [`InvalidInput`] before anything is sent |
//! | channel names | [`ChannelName`] rules: `A-Z a-z 0-9 _ - = @ , . ;`, ≤ 164 characters |
//! | user ids for `send_to_user` and `terminate_user_connections` | must also fit the channel-name characters (they become part of `#server-to-user-{id}` and of the path) |
//!
//! Every request of a split operation is checked and serialized (and encrypted) before the
//! first is sent, so a refused part sends nothing. The requests then go out concurrently, at
//! most [`ClientBuilder::split_concurrency`] at once; a batch request waits for every earlier
//! request that shares one of its channels, so events on one channel keep their order. When a
//! split operation fails part way, no further request is started, and the error is
//! [`Error::Partial`], whose [`PartialDelivery`] puts every channel (or event) in one of three
//! lists: delivered (answered 2xx), possibly delivered (no answer in time, a broken
//! connection, a 5xx: the server may have acted on it) and not delivered (refused, or never
//! sent: safe to send again), and keeps the error of every request that failed.
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
//! answers.
//!
//! What a server can make the client read and keep is bounded: a 2xx answer is read whole up
//! to 16 MiB for the channel list and 256 KiB for every other operation (their answers are a
//! few KB; past the limit the answer is an [`Error::Decode`]); of any other answer at most
//! 64 KiB are read, the rest left unread and the connection closed. An error body is then
//! redacted in one pass over it, its control characters replaced (line breaks by spaces,
//! others by U+FFFD, so it cannot forge a log line), and cut to [`MAX_ERROR_BODY`] bytes.
//!
//! Each HTTP exchange is one `tracing` event (target `pusher_rest`: method, path,
//! status, duration, retry number; `debug` on success, `warn` on failure). The query string is
//! never logged, since it holds the request signature; a server or proxy that quotes the
//! request in its error body (its request line, its query string) has that part replaced by
//! `<redacted>` before the body enters an [`Error`] or a log line. Neither `Debug` of the
//! client, its builders and futures, nor any error shows the secret, the master key, a
//! signature or a proxy password; `Debug` of a [`Trigger`] or a [`BatchEvent`] shows the
//! length of the event data, not the data (which an end-to-end encrypted event holds in plain
//! text until it is sent).

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
pub use error::{ConfigError, Error, InvalidInput, PartialDelivery, MAX_ERROR_BODY};
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
