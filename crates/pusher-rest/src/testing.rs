//! Testing an app that publishes (feature `testing`): a recording [`Client`] that keeps what
//! the app published instead of sending it, and [`verify_rest_request`] for tests that run a
//! fake Pusher server of their own.
//!
//! # The recording client
//!
//! [`Client::recording`] returns a [`Client`], the same type the app uses in production, and
//! the [`Recorder`] that sees its requests. Nothing goes over the network, yet every request
//! goes through the whole client: the input checks and limits, the splitting, the encryption
//! and the signature (which the recorder verifies as Pusher would). The recorder decodes each
//! request into what a Pusher server would publish: channels, event name, data as JSON
//! (decrypted for `private-encrypted-` channels), the excluded socket, the attributes asked
//! for. Its assertions say what was published instead when they fail.
//!
//! Give the app its client the way it gets it in production (as state, an extension, a
//! parameter), and hand it the recording one in tests:
//!
//! ```
//! use pusher_rest::testing::{Failure, Recorder};
//! use pusher_rest::{Client, SocketId};
//!
//! // The app's handler: publishes a message to everyone but its sender.
//! async fn send_message(pusher: &Client, sender: Option<SocketId>, text: &str) -> Result<u16, pusher_rest::Error> {
//!     if text.is_empty() {
//!         return Ok(422);
//!     }
//!     pusher
//!         .trigger("private-chat", "message", &serde_json::json!({ "text": text }))
//!         .exclude(sender)
//!         .await?;
//!     Ok(204)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (pusher, recorder) = Client::recording();
//! let sender: SocketId = "123.456".parse()?;
//!
//! assert_eq!(send_message(&pusher, Some(sender.clone()), "hi").await?, 204);
//! let published = recorder.assert_triggered_with("private-chat", "message", &serde_json::json!({ "text": "hi" }));
//! assert_eq!(published.excluded(), Some(&sender));
//!
//! // Nothing is published for an empty message.
//! recorder.clear();
//! assert_eq!(send_message(&pusher, None, "").await?, 422);
//! recorder.assert_nothing_published();
//!
//! // The app's error path: Pusher answers 503 to the next request.
//! recorder.fail_next(Failure::status(503, "over capacity"));
//! assert_eq!(send_message(&pusher, None, "hi").await.unwrap_err().status().map(|s| s.as_u16()), Some(503));
//! recorder.assert_nothing_published();
//! # Ok(()) }
//! ```
//!
//! Encrypted channels are decrypted with the client's master key ([`Client::recording`] has
//! one), so `data()` is what pusher-js would hand the page.
//!
//! Why the same type rather than a trait or a generic parameter: the app's code (its state,
//! its handlers' signatures) names `Client` and does not change for tests, and the recorder
//! replaces only the last step, the HTTP exchange, inside the client. Everything above it runs
//! as in production, so a test also catches a message too large once encrypted, a channel
//! name the API refuses, or a batch split where the app did not expect one.
//!
//! # Verifying requests in a server of your own
//!
//! [`verify_rest_request`] checks a request as a Pusher server does: the app key, the
//! `auth_version`, the timestamp (±600 s), `body_md5` and the signature.

// The assertions panic, as `assert!` does: that is how a test fails.
#![allow(clippy::panic)]

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use http::{Method, StatusCode};
use md5::{Digest, Md5};
use pusher_protocol::{ChannelKind, ChannelName, Credentials, SocketId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Answer, Transport, USER_CHANNEL_PREFIX};
use crate::error::Error;
use crate::types::{event_data, Info};
use crate::{Client, ClientBuilder};

/// The credentials of [`Client::recording`]: app id `recording-app`, key `recording-key`,
/// secret `recording-secret`, and this encryption master key.
pub const RECORDING_MASTER_KEY: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

/// How far `auth_timestamp` may be from the server's clock, as Pusher allows.
pub const TIMESTAMP_WINDOW_SECS: u64 = 600;

impl Client {
    /// A client that records what it would send instead of sending it, and the [`Recorder`]
    /// that holds the records (see the [`testing`](crate::testing) module). It has the default
    /// settings and the credentials `recording-key` / `recording-secret` for app
    /// `recording-app`, with an encryption master key ([`RECORDING_MASTER_KEY`]).
    pub fn recording() -> (Client, Recorder) {
        let recorder = Recorder::new();
        let client = Credentials::new("recording-key", "recording-secret")
            .and_then(|c| c.with_app_id("recording-app"))
            .and_then(|c| c.with_encryption_master_key_base64(RECORDING_MASTER_KEY))
            .map_err(|e| Error::Config(e.into()))
            .and_then(|credentials| {
                Client::assemble(
                    ClientBuilder::new(credentials).host("recording.invalid"),
                    Some(Transport::Recording(recorder.shared.clone())),
                )
            });
        match client {
            Ok(client) => (client, recorder),
            // Fixed, valid settings: this cannot fail.
            Err(e) => panic!("the recording client's settings are invalid: {e}"),
        }
    }
}

impl ClientBuilder {
    /// Builds a recording client with this builder's credentials and settings (limits, batch
    /// size, retries, deadline), and its [`Recorder`]: the same request checks as the
    /// production client, without a network. [`build`](ClientBuilder::build)'s configuration
    /// checks are made too, then the settings go unused: the endpoint and limits, an explicit
    /// proxy ([`Proxy::url`](crate::Proxy::url), or the values given to
    /// [`from_vars`](ClientBuilder::from_vars)), root certificates given as PEM. What needs
    /// the process or the machine is left alone: the proxy variables of the process
    /// environment are not read, nor the platform's root certificates.
    pub fn build_recording(self) -> Result<(Client, Recorder), Error> {
        let recorder = Recorder::new();
        let client = Client::assemble(self, Some(Transport::Recording(recorder.shared.clone())))?;
        Ok((client, recorder))
    }
}

/// A failure the recording client simulates for the next request ([`Recorder::fail_next`]).
#[derive(Debug, Clone)]
pub struct Failure {
    kind: FailureKind,
}

#[derive(Debug, Clone)]
enum FailureKind {
    Timeout,
    ConnectionRefused,
    Status {
        status: StatusCode,
        body: String,
        retry_after: Option<Duration>,
    },
}

impl Failure {
    /// The request times out (at once: the recorder does not wait): [`Error::Timeout`].
    pub fn timeout() -> Failure {
        Failure {
            kind: FailureKind::Timeout,
        }
    }

    /// The connection is refused: [`Error::Connection`], with `never_sent: true`.
    pub fn connection_refused() -> Failure {
        Failure {
            kind: FailureKind::ConnectionRefused,
        }
    }

    /// The server answers `status` (a 4xx or 5xx; anything else reads as 500) with `body`:
    /// [`Error::Status`].
    pub fn status(status: u16, body: impl Into<String>) -> Failure {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Failure {
            kind: FailureKind::Status {
                status,
                body: body.into(),
                retry_after: None,
            },
        }
    }

    /// With a `Retry-After` header of this many seconds (for a status failure).
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Failure {
        if let FailureKind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(wait);
        }
        self
    }
}

/// One event as published, decoded from a trigger, batch or send-to-user request.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    channels: Vec<ChannelName>,
    user: Option<UserId>,
    event: String,
    data: Value,
    data_text: String,
    encrypted: bool,
    excluded: Option<SocketId>,
    info: Info,
    batch: bool,
}

impl Published {
    /// The channels of the request (empty for an event sent to a user). A trigger on more
    /// channels than one request carries is recorded as one `Published` per request.
    pub fn channels(&self) -> &[ChannelName] {
        &self.channels
    }

    /// Whether `channel` is one of [`Published::channels`].
    pub fn is_on(&self, channel: &str) -> bool {
        self.channels.iter().any(|c| c == channel)
    }

    /// The user, for an event sent with [`Client::send_to_user`].
    pub fn user(&self) -> Option<&UserId> {
        self.user.as_ref()
    }

    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The data as the page receives it: the JSON value, or a JSON string when the data is
    /// not JSON (pusher-js does the same). Decrypted for encrypted channels.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The data text as published (decrypted for encrypted channels).
    pub fn data_text(&self) -> &str {
        &self.data_text
    }

    /// Whether the data travelled encrypted (a `private-encrypted-` channel).
    pub fn encrypted(&self) -> bool {
        self.encrypted
    }

    /// The connection left out (`socket_id`), if any.
    pub fn excluded(&self) -> Option<&SocketId> {
        self.excluded.as_ref()
    }

    /// The channel attributes asked for.
    pub fn info(&self) -> Info {
        self.info
    }

    /// Whether the event came in a batch request ([`Client::trigger_batch`]).
    pub fn from_batch(&self) -> bool {
        self.batch
    }
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.user {
            Some(user) => write!(f, "`{}` to user `{user}`", self.event)?,
            None => {
                let channels: Vec<&str> = self.channels.iter().map(ChannelName::as_str).collect();
                write!(f, "`{}` on {channels:?}", self.event)?;
            }
        }
        write!(f, " with {}", self.data)?;
        if let Some(socket) = &self.excluded {
            write!(f, ", excluding {socket}")?;
        }
        Ok(())
    }
}

/// One request the recording client made, as a server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    method: Method,
    path: String,
    params: Vec<(String, String)>,
    body: Bytes,
}

impl RecordedRequest {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path (`/apps/{app_id}/…`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A query parameter other than the signature's (`info`, `filter_by_prefix`).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body as sent (encrypted data stays encrypted here).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What a recording client published; shared with its clones. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Recorder")
            .field("requests", &state.requests.len())
            .field("published", &state.published.len())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    published: Vec<Published>,
    terminated: Vec<UserId>,
    next: VecDeque<Next>,
}

enum Next {
    Fail(Failure),
    Answer(Value),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves the records as they were.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a Pusher server would do with this request.
    pub(crate) fn exchange(
        &self,
        credentials: &Credentials,
        method: &Method,
        path: &str,
        query: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Answer, Error> {
        let answer = |status: StatusCode, body: String| Answer {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body),
            cut: false,
        };
        let verified = match verify_rest_request(credentials, method.as_str(), path, query, body) {
            Ok(verified) => verified,
            Err(e) => {
                return Ok(answer(
                    StatusCode::UNAUTHORIZED,
                    serde_json::json!({ "error": e.to_string() }).to_string(),
                ))
            }
        };
        let mut state = self.lock();
        let scripted = state.next.pop_front();
        match scripted {
            Some(Next::Fail(failure)) => {
                return match failure.kind {
                    FailureKind::Timeout => Err(Error::timeout(method, path, timeout, false)),
                    FailureKind::ConnectionRefused => Err(Error::connection(
                        method,
                        path,
                        true,
                        "connection refused (simulated by the recorder)".into(),
                    )),
                    FailureKind::Status {
                        status,
                        body,
                        retry_after,
                    } => {
                        let mut failed = answer(status, body);
                        if let Some(wait) = retry_after {
                            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string()) {
                                failed.headers.insert(RETRY_AFTER, v);
                            }
                        }
                        Ok(failed)
                    }
                };
            }
            Some(Next::Answer(_)) | None => {}
        }
        let decoded = decode(credentials, method, path, body);
        let published = match decoded {
            Ok(published) => published,
            Err(reason) => {
                return Ok(answer(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({ "error": reason }).to_string(),
                ))
            }
        };
        state.requests.push(RecordedRequest {
            method: method.clone(),
            path: path.to_owned(),
            params: verified.params,
            body: Bytes::copy_from_slice(body),
        });
        match published {
            Decoded::Events(events) => state.published.extend(events),
            Decoded::Terminate(user) => state.terminated.push(user),
            Decoded::Read => {}
        }
        let reply = match scripted {
            Some(Next::Answer(value)) => value.to_string(),
            _ => default_answer(method, path).to_owned(),
        };
        Ok(answer(StatusCode::OK, reply))
    }
}

/// What servers answer when there is nothing to report.
fn default_answer(method: &Method, path: &str) -> &'static str {
    if method != Method::GET {
        "{}"
    } else if path.ends_with("/users") {
        r#"{"users":[]}"#
    } else if path.matches('/').count() > 3 {
        r#"{"occupied":false}"#
    } else {
        r#"{"channels":{}}"#
    }
}

enum Decoded {
    Events(Vec<Published>),
    Terminate(UserId),
    Read,
}

#[derive(Deserialize)]
struct EventIn {
    name: String,
    data: String,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    socket_id: Option<String>,
    #[serde(default)]
    info: Option<String>,
}

#[derive(Deserialize)]
struct BatchIn {
    batch: Vec<EventIn>,
}

fn decode(
    credentials: &Credentials,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Decoded, String> {
    if method == Method::GET {
        return Ok(Decoded::Read);
    }
    let (batch, events) = if path.ends_with("/batch_events") {
        let batch: BatchIn = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        (true, batch.batch)
    } else if path.ends_with("/events") {
        (
            false,
            vec![serde_json::from_slice::<EventIn>(body).map_err(|e| e.to_string())?],
        )
    } else if let Some(user) = path
        .strip_suffix("/terminate_connections")
        .and_then(|p| p.rsplit_once("/users/"))
        .map(|(_, user)| user)
    {
        return UserId::new(user)
            .map(Decoded::Terminate)
            .map_err(|e| e.to_string());
    } else {
        return Err(format!("no such endpoint: POST {path}"));
    };
    let mut published = Vec::with_capacity(events.len());
    for event in events {
        let names: Vec<String> = event.channel.into_iter().chain(event.channels).collect();
        let mut user = None;
        let mut channels = Vec::with_capacity(names.len());
        for name in names {
            match name.strip_prefix(USER_CHANNEL_PREFIX) {
                Some(id) => user = Some(UserId::new(id).map_err(|e| e.to_string())?),
                None => channels.push(ChannelName::new(name).map_err(|e| e.to_string())?),
            }
        }
        let encrypted = channels
            .iter()
            .any(|c| c.kind() == ChannelKind::PrivateEncrypted);
        let data_text = match channels.first() {
            Some(channel) if encrypted => {
                if channels.len() > 1 {
                    return Err("an encrypted event must name exactly one channel".into());
                }
                crate::encryption::decrypt(credentials, channel, &event.data)
                    .map_err(|e| format!("encrypted data for {channel}: {e}"))?
            }
            _ => event.data,
        };
        let data =
            serde_json::from_str(&data_text).unwrap_or_else(|_| Value::String(data_text.clone()));
        let excluded = event
            .socket_id
            .map(|s| SocketId::new(s).map_err(|e| e.to_string()))
            .transpose()?;
        let info = event.info.as_deref().map_or(Info::new(), |i| {
            let mut info = Info::new();
            for attribute in i.split(',') {
                info = match attribute {
                    "user_count" => info.user_count(),
                    "subscription_count" => info.subscription_count(),
                    _ => info,
                };
            }
            info
        });
        published.push(Published {
            channels,
            user,
            event: event.name,
            data,
            data_text,
            encrypted,
            excluded,
            info,
            batch,
        });
    }
    Ok(Decoded::Events(published))
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            shared: Arc::new(Shared::default()),
        }
    }

    /// Every event published so far, in the order the requests were made.
    pub fn published(&self) -> Vec<Published> {
        self.shared.lock().published.clone()
    }

    /// The events published on `channel`, in order.
    pub fn triggered_on(&self, channel: &str) -> Vec<Published> {
        self.shared
            .lock()
            .published
            .iter()
            .filter(|p| p.is_on(channel))
            .cloned()
            .collect()
    }

    /// The users whose connections were terminated, in order.
    pub fn terminated(&self) -> Vec<UserId> {
        self.shared.lock().terminated.clone()
    }

    /// Every request made (triggers, batches, queries), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets everything recorded (scripted failures and answers stay).
    pub fn clear(&self) {
        let mut state = self.shared.lock();
        state.requests.clear();
        state.published.clear();
        state.terminated.clear();
    }

    /// The next request fails this way (then requests succeed again). Several calls queue
    /// several failures, one per request. A failed request publishes nothing.
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().next.push_back(Next::Fail(failure));
    }

    /// The next request succeeds with this JSON answer instead of the empty one (`{}`,
    /// `{"channels":{}}`, `{"occupied":false}`, `{"users":[]}`): channel attributes for a
    /// trigger with `info`, a channel list, a channel's state, presence members.
    pub fn answer_next(&self, answer: Value) {
        self.shared.lock().next.push_back(Next::Answer(answer));
    }

    fn summary(&self) -> String {
        let state = self.shared.lock();
        if state.published.is_empty() {
            return "nothing was published".to_owned();
        }
        let lines: Vec<String> = state.published.iter().map(|p| format!("  - {p}")).collect();
        format!("published:\n{}", lines.join("\n"))
    }

    /// Asserts that `event` was published on `channel`, and returns the last such event.
    ///
    /// # Panics
    ///
    /// When it was not, with what was published instead.
    #[track_caller]
    pub fn assert_triggered(&self, channel: &str, event: &str) -> Published {
        let found = self
            .triggered_on(channel)
            .into_iter()
            .rev()
            .find(|p| p.event == event);
        match found {
            Some(published) => published,
            None => panic!(
                "expected `{event}` on `{channel}`, but it was not published; {}",
                self.summary()
            ),
        }
    }

    /// Asserts that `event` was published on `channel` with `data` (compared as JSON, so key
    /// order does not matter; a string is taken as pre-serialized, as
    /// [`Client::trigger`] takes it), and returns it.
    ///
    /// # Panics
    ///
    /// When it was not, with what was published instead.
    #[track_caller]
    pub fn assert_triggered_with<T: Serialize + ?Sized>(
        &self,
        channel: &str,
        event: &str,
        data: &T,
    ) -> Published {
        let expected = match event_data(data) {
            Ok(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            Err(e) => panic!("the expected data cannot be serialized: {e}"),
        };
        let found = self
            .triggered_on(channel)
            .into_iter()
            .rev()
            .find(|p| p.event == event && p.data == expected);
        match found {
            Some(published) => published,
            None => panic!(
                "expected `{event}` on `{channel}` with {expected}, but it was not published; {}",
                self.summary()
            ),
        }
    }

    /// Asserts that `event` was not published on `channel`.
    ///
    /// # Panics
    ///
    /// When it was.
    #[track_caller]
    pub fn assert_not_triggered(&self, channel: &str, event: &str) {
        if let Some(p) = self
            .triggered_on(channel)
            .into_iter()
            .find(|p| p.event == event)
        {
            panic!("expected no `{event}` on `{channel}`, but {p} was published");
        }
    }

    /// Asserts that `event` was sent to `user` ([`Client::send_to_user`]), and returns it.
    ///
    /// # Panics
    ///
    /// When it was not, with what was published instead.
    #[track_caller]
    pub fn assert_sent_to_user(&self, user: &str, event: &str) -> Published {
        let found = self
            .published()
            .into_iter()
            .rev()
            .find(|p| p.event == event && p.user.as_ref().is_some_and(|u| u.as_str() == user));
        match found {
            Some(published) => published,
            None => panic!(
                "expected `{event}` sent to user `{user}`, but it was not; {}",
                self.summary()
            ),
        }
    }

    /// Asserts that the connections of `user` were terminated.
    ///
    /// # Panics
    ///
    /// When they were not.
    #[track_caller]
    pub fn assert_terminated(&self, user: &str) {
        let terminated = self.terminated();
        if !terminated.iter().any(|u| u.as_str() == user) {
            panic!(
                "expected the connections of `{user}` to be terminated; terminated: {terminated:?}"
            );
        }
    }

    /// Asserts that exactly `count` events were published (one per request for a trigger,
    /// one per event for a batch).
    ///
    /// # Panics
    ///
    /// When another number was, listing them.
    #[track_caller]
    pub fn assert_published_count(&self, count: usize) {
        let published = self.shared.lock().published.len();
        if published != count {
            panic!(
                "expected {count} published events, found {published}; {}",
                self.summary()
            );
        }
    }

    /// Asserts that nothing was published (triggers, batches, events to users) and no
    /// connection was terminated.
    ///
    /// # Panics
    ///
    /// When something was, listing it.
    #[track_caller]
    pub fn assert_nothing_published(&self) {
        let (published, terminated) = {
            let state = self.shared.lock();
            (state.published.len(), state.terminated.clone())
        };
        if published > 0 || !terminated.is_empty() {
            panic!(
                "expected nothing published; {}{}",
                self.summary(),
                if terminated.is_empty() {
                    String::new()
                } else {
                    format!("; terminated: {terminated:?}")
                }
            );
        }
    }
}

/// A REST request that verified: its parameters other than the signature's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRestRequest {
    params: Vec<(String, String)>,
    timestamp: u64,
}

impl VerifiedRestRequest {
    /// The parameters other than the authentication ones, decoded, keys in lowercase, in the
    /// order sent.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// One of [`VerifiedRestRequest::params`].
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `auth_timestamp`.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// Why a REST request would be refused by a Pusher server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestVerifyError {
    /// The query string cannot be decoded, or repeats a key.
    #[error("malformed query string: {0}")]
    Malformed(&'static str),
    /// A required parameter is missing.
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    /// `auth_key` names another app.
    #[error("auth_key is not this app's key")]
    WrongKey,
    /// `auth_version` is not `1.0`.
    #[error("auth_version must be 1.0")]
    WrongVersion,
    /// `auth_timestamp` is not a number, or is more than 600 s from the server's clock.
    #[error(
        "auth_timestamp is missing, malformed or more than 600 s away from the server's clock"
    )]
    Timestamp,
    /// The body is not empty but `body_md5` is missing.
    #[error("the request has a body but no body_md5")]
    BodyMd5Missing,
    /// `body_md5` is present but does not match the body (or there is no body).
    #[error("body_md5 does not match the body")]
    BodyMd5Mismatch,
    /// The signature does not match.
    #[error("invalid signature: expected HMAC-SHA256 hex digest of `{string_to_sign}`")]
    #[non_exhaustive]
    BadSignature {
        /// What the server signed (no secret in it), to compare with
        /// [`rest::SignedQuery::canonical_query`](crate::rest::SignedQuery::canonical_query).
        string_to_sign: String,
    },
}

/// Checks a REST request as a Pusher server does, against the current clock: `auth_key` is
/// the app's, `auth_version` is `1.0`, `auth_timestamp` is within ±600 s, `body_md5` matches a
/// non-empty body (and is absent for an empty one), and `auth_signature` is the HMAC-SHA256
/// of `METHOD\nPATH\nSORTED_QUERY`, compared in constant time.
///
/// `query` is the raw query string as received (percent-encoded, without `?`); `path` the
/// request path (`/apps/{app_id}/events`).
///
/// ```
/// use pusher_rest::testing::verify_rest_request;
/// use pusher_rest::rest::sign_request;
/// use pusher_rest::Credentials;
///
/// let credentials = Credentials::new("key", "secret")?;
/// let body = br#"{"name":"e","data":"x","channels":["chat"]}"#;
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
/// let signed = sign_request(&credentials, "POST", "/apps/1/events", &[], body, now)?;
///
/// verify_rest_request(&credentials, "POST", "/apps/1/events", signed.as_str(), body)?;
/// assert!(verify_rest_request(&credentials, "POST", "/apps/2/events", signed.as_str(), body).is_err());
/// assert!(verify_rest_request(&credentials, "POST", "/apps/1/events", signed.as_str(), b"{}").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_rest_request(
    credentials: &Credentials,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> Result<VerifiedRestRequest, RestVerifyError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    verify_rest_request_at(credentials, method, path, query, body, now)
}

/// [`verify_rest_request`] against the clock reading `now` (Unix seconds).
pub fn verify_rest_request_at(
    credentials: &Credentials,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    now: u64,
) -> Result<VerifiedRestRequest, RestVerifyError> {
    let mut signed: Vec<(String, String)> = Vec::new();
    let mut signature = None;
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_decode(key)?.to_ascii_lowercase();
        let value = form_decode(value)?;
        if key == "auth_signature" {
            if signature.replace(value).is_some() {
                return Err(RestVerifyError::Malformed("auth_signature is repeated"));
            }
            continue;
        }
        if signed.iter().any(|(k, _)| *k == key) {
            return Err(RestVerifyError::Malformed("a parameter is repeated"));
        }
        if !crate::rest::RESERVED_PARAMS.contains(&key.as_str()) {
            params.push((key.clone(), value.clone()));
        }
        signed.push((key, value));
    }
    let get = |key: &str| {
        signed
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let signature = signature.ok_or(RestVerifyError::Missing("auth_signature"))?;
    if get("auth_key").ok_or(RestVerifyError::Missing("auth_key"))? != credentials.key() {
        return Err(RestVerifyError::WrongKey);
    }
    if get("auth_version").ok_or(RestVerifyError::Missing("auth_version"))? != "1.0" {
        return Err(RestVerifyError::WrongVersion);
    }
    let timestamp: u64 = get("auth_timestamp")
        .ok_or(RestVerifyError::Missing("auth_timestamp"))?
        .parse()
        .map_err(|_| RestVerifyError::Timestamp)?;
    if timestamp.abs_diff(now) > TIMESTAMP_WINDOW_SECS {
        return Err(RestVerifyError::Timestamp);
    }
    match get("body_md5") {
        None if body.is_empty() => {}
        None => return Err(RestVerifyError::BodyMd5Missing),
        Some(md5) => {
            if body.is_empty() || !md5.eq_ignore_ascii_case(&hex(&Md5::digest(body))) {
                return Err(RestVerifyError::BodyMd5Mismatch);
            }
        }
    }
    signed.sort();
    let sorted: Vec<String> = signed.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let string_to_sign = format!(
        "{}\n{path}\n{}",
        method.to_ascii_uppercase(),
        sorted.join("&")
    );
    let expected = credentials.sign_hex(string_to_sign.as_bytes());
    if !constant_time_eq(
        expected.as_bytes(),
        signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(RestVerifyError::BadSignature { string_to_sign });
    }
    Ok(VerifiedRestRequest { params, timestamp })
}

/// Percent-decoding as form parsers do (`+` is a space).
fn form_decode(s: &str) -> Result<String, RestVerifyError> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| RestVerifyError::Malformed("a value is not UTF-8 once decoded"))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(d));
            }
        }
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::rest::sign_request;

    #[test]
    fn the_documentation_example_verifies() {
        let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8").unwrap();
        let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        let query = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";
        let ok = verify_rest_request_at(
            &credentials,
            "POST",
            "/apps/3/events",
            query,
            body,
            1353088179 + 600,
        );
        assert_eq!(ok.unwrap().timestamp(), 1353088179);
        let late = verify_rest_request_at(
            &credentials,
            "POST",
            "/apps/3/events",
            query,
            body,
            1353088179 + 601,
        );
        assert_eq!(late, Err(RestVerifyError::Timestamp));
        let tampered = verify_rest_request_at(
            &credentials,
            "POST",
            "/apps/3/events",
            query,
            b"{}",
            1353088179,
        );
        assert_eq!(tampered, Err(RestVerifyError::BodyMd5Mismatch));
        let other = Credentials::new("278d425bdf160c739803", "other").unwrap();
        assert!(matches!(
            verify_rest_request_at(&other, "POST", "/apps/3/events", query, body, 1353088179),
            Err(RestVerifyError::BadSignature { .. })
        ));
        let wrong_key = Credentials::new("k", "7ad3773142a6692b25b8").unwrap();
        assert_eq!(
            verify_rest_request_at(
                &wrong_key,
                "POST",
                "/apps/3/events",
                query,
                body,
                1353088179
            ),
            Err(RestVerifyError::WrongKey)
        );
    }

    #[test]
    fn parameters_are_decoded_and_signed_checks_are_strict() {
        let credentials = Credentials::new("key", "secret").unwrap();
        let signed = sign_request(
            &credentials,
            "GET",
            "/apps/1/channels",
            &[
                ("filter_by_prefix", "presence- +&="),
                ("info", "user_count"),
            ],
            b"",
            1000,
        )
        .unwrap();
        let ok = verify_rest_request_at(
            &credentials,
            "GET",
            "/apps/1/channels",
            signed.as_str(),
            b"",
            1000,
        )
        .unwrap();
        assert_eq!(ok.param("filter_by_prefix"), Some("presence- +&="));
        assert_eq!(ok.params().len(), 2);
        // A body without body_md5, a repeated key, no signature.
        assert_eq!(
            verify_rest_request_at(
                &credentials,
                "GET",
                "/apps/1/channels",
                signed.as_str(),
                b"x",
                1000
            ),
            Err(RestVerifyError::BodyMd5Missing)
        );
        let repeated = format!("info=x&{}", signed.as_str());
        assert!(matches!(
            verify_rest_request_at(
                &credentials,
                "GET",
                "/apps/1/channels",
                &repeated,
                b"",
                1000
            ),
            Err(RestVerifyError::Malformed(_))
        ));
        let unsigned = signed.as_str().split("&auth_signature").next().unwrap();
        assert_eq!(
            verify_rest_request_at(&credentials, "GET", "/apps/1/channels", unsigned, b"", 1000),
            Err(RestVerifyError::Missing("auth_signature"))
        );
    }
}
