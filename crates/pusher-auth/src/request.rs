//! What clients send to the auth endpoints, parsed and validated.
//!
//! Three body shapes arrive at a channel-authorization endpoint:
//!
//! - pusher-js and Laravel Echo: `application/x-www-form-urlencoded`,
//!   `socket_id=…&channel_name=…` followed by any extra `params`;
//! - JSON: `{"socket_id":"…","channel_name":"…", …}` (`channel_name` may be an array: a batch);
//! - the pusher-js-auth batch plugin: `socket_id=…&channel_name[0]=…&channel_name[1]=…`,
//!   answered with a [`BatchResponse`] keyed by channel name.
//!
//! ```
//! use pusher_auth::adapter::{parse_channel_request, BodyFormat, Channels};
//! use pusher_auth::Limits;
//!
//! let format = BodyFormat::from_content_type("application/x-www-form-urlencoded; charset=UTF-8").unwrap();
//! let req = parse_channel_request(format, b"socket_id=1.2&channel_name=private-chat&room=42", &Limits::default())?;
//! assert_eq!(req.socket_id().as_str(), "1.2");
//! assert!(matches!(req.channels(), Channels::One(c) if c.as_str() == "private-chat"));
//! assert_eq!(req.params().get("room"), Some("42"));
//!
//! let batch = parse_channel_request(format, b"&socket_id=1.2&channel_name[0]=private-a&channel_name[1]=presence-b", &Limits::default())?;
//! assert_eq!(batch.channels().len(), 2);
//! # Ok::<(), pusher_auth::RequestError>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserializer, Serialize, Serializer};

use pusher_protocol::{ChannelAuth, ChannelName, NameError, SocketId};

/// Why a request body was refused. Every variant is the client's mistake (a 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A required field is absent.
    #[error("the `{0}` field is missing")]
    MissingField(&'static str),
    /// A field that may appear once appears more than once.
    #[error("the `{0}` field appears more than once")]
    DuplicateField(&'static str),
    /// A field's value breaks its rule.
    #[error(transparent)]
    InvalidField(#[from] NameError),
    /// A field's value has the wrong JSON type.
    #[error("the `{0}` field must be a string")]
    NotAString(&'static str),
    /// The body, once percent-decoded, is not UTF-8.
    #[error("the body is not valid UTF-8")]
    NotUtf8,
    /// The JSON body does not parse, or is not an object.
    #[error("the body is not a JSON object: {0}")]
    MalformedJson(String),
    /// A batch `channel_name[N]` key is malformed or repeats an index.
    #[error("batch key `{0}` is not of the form channel_name[N] with a unique index")]
    InvalidBatchKey(String),
    /// Both `channel_name` and `channel_name[N]` were sent.
    #[error("`channel_name` and `channel_name[N]` cannot be mixed")]
    MixedBatch,
    /// More channels than [`Limits::max_batch`] in one request.
    #[error("the batch holds {count} channels; at most {max} are allowed")]
    #[non_exhaustive]
    BatchTooLarge {
        /// How many the request held.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A batch that names no channel.
    #[error("the batch names no channel")]
    EmptyBatch,
    /// More extra parameters than [`Limits::max_params`].
    #[error("the body holds more than {max} fields")]
    #[non_exhaustive]
    TooManyParams {
        /// The limit.
        max: usize,
    },
}

impl RequestError {
    /// A stable, machine-readable code for the error, for JSON error bodies and logs:
    /// `missing_field`, `duplicate_field`, `invalid_socket_id`, `invalid_channel_name`,
    /// `invalid_user_id`, `invalid_field_type`, `invalid_encoding`, `malformed_json`,
    /// `invalid_batch`, `batch_too_large`, `too_many_params`.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::MissingField(_) => "missing_field",
            RequestError::DuplicateField(_) => "duplicate_field",
            RequestError::InvalidField(e) => match e.field() {
                "socket_id" => "invalid_socket_id",
                "channel_name" => "invalid_channel_name",
                "user_id" => "invalid_user_id",
                _ => "invalid_field",
            },
            RequestError::NotAString(_) => "invalid_field_type",
            RequestError::NotUtf8 => "invalid_encoding",
            RequestError::MalformedJson(_) => "malformed_json",
            RequestError::InvalidBatchKey(_)
            | RequestError::MixedBatch
            | RequestError::EmptyBatch => "invalid_batch",
            RequestError::BatchTooLarge { .. } => "batch_too_large",
            RequestError::TooManyParams { .. } => "too_many_params",
        }
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` (pusher-js, Laravel Echo, pusher-js-auth).
    Form,
    /// `application/json`, or any `+json` type.
    Json,
}

impl BodyFormat {
    /// The format named by a `Content-Type` header value (parameters such as `charset` are
    /// ignored, case does not matter); `None` for anything else.
    ///
    /// ```
    /// # use pusher_auth::adapter::BodyFormat;
    /// assert_eq!(BodyFormat::from_content_type("Application/JSON; charset=utf-8"), Some(BodyFormat::Json));
    /// assert_eq!(BodyFormat::from_content_type("application/vnd.api+json"), Some(BodyFormat::Json));
    /// assert_eq!(BodyFormat::from_content_type("text/plain"), None);
    /// ```
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        // What pusher-js sends, exactly: no need to parse.
        if content_type == "application/x-www-form-urlencoded" {
            return Some(BodyFormat::Form);
        }
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Some(BodyFormat::Form);
        }
        let (top, sub) = essence.split_once('/')?;
        let json_sub = sub.eq_ignore_ascii_case("json")
            || sub.len() > 5
                && sub
                    .get(sub.len() - 5..)
                    .is_some_and(|s| s.eq_ignore_ascii_case("+json"));
        (top.eq_ignore_ascii_case("application") && json_sub).then_some(BodyFormat::Json)
    }
}

/// Bounds on what one request may hold, and on how it is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most channels in one batch request (default 100).
    pub max_batch: usize,
    /// Most extra parameters besides `socket_id` and `channel_name` (default 64).
    pub max_params: usize,
    /// Most channels of one batch decided at the same time (default 16): a 100-channel batch
    /// whose authorizer waits 1 ms per channel is answered in about 7 ms instead of 100 ms,
    /// without starting 100 database queries at once.
    pub batch_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch: 100,
            max_params: 64,
            batch_concurrency: 16,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_batch`].
    #[must_use]
    pub fn with_max_batch(mut self, max: usize) -> Self {
        self.max_batch = max;
        self
    }

    /// Sets [`Limits::max_params`].
    #[must_use]
    pub fn with_max_params(mut self, max: usize) -> Self {
        self.max_params = max;
        self
    }

    /// Sets [`Limits::batch_concurrency`] (1 decides a batch one channel after another).
    #[must_use]
    pub fn with_batch_concurrency(mut self, concurrency: usize) -> Self {
        self.batch_concurrency = concurrency.max(1);
        self
    }
}

/// The extra fields a client sent besides `socket_id` and `channel_name` (pusher-js `params`
/// and `paramsProvider()`), in the order sent; a name may repeat.
///
/// Values from a JSON body that are not strings are kept as their JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The first value sent under `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent under `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All `(name, value)` pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many pairs were sent.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no extra fields were sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Params {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Params(iter.into_iter().collect())
    }
}

/// One channel of a batch request: the name as sent, and whether it is valid.
///
/// An invalid name fails alone (status 400 in the batch answer); the others are still decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    requested: String,
    channel: Result<ChannelName, NameError>,
}

impl BatchEntry {
    /// The channel name exactly as the client sent it (the key of its batch answer).
    pub fn requested(&self) -> &str {
        &self.requested
    }

    /// The validated channel, or why the name is invalid.
    pub fn channel(&self) -> Result<&ChannelName, &NameError> {
        self.channel.as_ref()
    }
}

/// The channels a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channels {
    /// One `channel_name`: answered with a plain auth body.
    One(ChannelName),
    /// A batch (`channel_name[N]`, or a JSON array): answered with a [`BatchResponse`].
    /// Repeated names are kept once, in first-seen order.
    Batch(Vec<BatchEntry>),
}

impl Channels {
    /// How many channels were asked for.
    pub fn len(&self) -> usize {
        match self {
            Channels::One(_) => 1,
            Channels::Batch(entries) => entries.len(),
        }
    }

    /// Whether no channel was asked for (an empty batch).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed channel-authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAuthRequest {
    socket_id: SocketId,
    channels: Channels,
    params: Params,
}

impl ChannelAuthRequest {
    /// The requesting connection's socket id.
    pub fn socket_id(&self) -> &SocketId {
        &self.socket_id
    }

    /// The channel or channels asked for.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// The extra fields sent.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The parts, by value.
    pub fn into_parts(self) -> (SocketId, Channels, Params) {
        (self.socket_id, self.channels, self.params)
    }
}

/// A parsed sign-in request (`socket_id` and any extra fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninAuthRequest {
    socket_id: SocketId,
    params: Params,
}

impl SigninAuthRequest {
    /// The requesting connection's socket id.
    pub fn socket_id(&self) -> &SocketId {
        &self.socket_id
    }

    /// The extra fields sent.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The parts, by value.
    pub fn into_parts(self) -> (SocketId, Params) {
        (self.socket_id, self.params)
    }
}

/// A field's value as found in the body.
enum Value {
    Str(String),
    /// A JSON array of channel names.
    List(Vec<Value>),
    /// Any other JSON value, as its text.
    Other(String),
}

/// What a body holds before validation.
#[derive(Default)]
struct Fields {
    socket_id: Option<Value>,
    channel_name: Option<Value>,
    batch: BTreeMap<u64, String>,
    batch_appended: Vec<String>,
    params: Vec<(String, String)>,
}

impl Fields {
    fn add(
        &mut self,
        key: Cow<'_, str>,
        value: Value,
        limits: &Limits,
        mode: Mode,
    ) -> Result<(), RequestError> {
        match key.as_ref() {
            "socket_id" => set_once(&mut self.socket_id, value, "socket_id"),
            "channel_name" if mode == Mode::Channel => {
                set_once(&mut self.channel_name, value, "channel_name")
            }
            k if mode == Mode::Channel && k.starts_with("channel_name[") => {
                let inner = k
                    .strip_prefix("channel_name[")
                    .and_then(|r| r.strip_suffix(']'))
                    .ok_or_else(|| RequestError::InvalidBatchKey(short(k)))?;
                let Value::Str(value) = value else {
                    return Err(RequestError::NotAString("channel_name"));
                };
                if self.batch.len() + self.batch_appended.len() >= limits.max_batch {
                    return Err(RequestError::BatchTooLarge {
                        count: self.batch.len() + self.batch_appended.len() + 1,
                        max: limits.max_batch,
                    });
                }
                if inner.is_empty() {
                    self.batch_appended.push(value);
                    return Ok(());
                }
                let index: u64 = (inner.bytes().all(|b| b.is_ascii_digit()) && inner.len() <= 9)
                    .then(|| inner.parse().ok())
                    .flatten()
                    .ok_or_else(|| RequestError::InvalidBatchKey(short(k)))?;
                if self.batch.insert(index, value).is_some() {
                    return Err(RequestError::InvalidBatchKey(short(k)));
                }
                Ok(())
            }
            _ => {
                if self.params.len() >= limits.max_params {
                    return Err(RequestError::TooManyParams {
                        max: limits.max_params,
                    });
                }
                let value = match value {
                    Value::Str(s) | Value::Other(s) => s,
                    Value::List(items) => {
                        // Only `channel_name` lists are kept as lists; anywhere else the list
                        // is handed on as its JSON text.
                        let items: Vec<serde_json::Value> = items
                            .into_iter()
                            .map(|v| match v {
                                Value::Str(s) => serde_json::Value::String(s),
                                Value::Other(text) => serde_json::from_str(&text)
                                    .unwrap_or(serde_json::Value::String(text)),
                                Value::List(_) => serde_json::Value::Null,
                            })
                            .collect();
                        serde_json::Value::Array(items).to_string()
                    }
                };
                self.params.push((key.into_owned(), value));
                Ok(())
            }
        }
    }

    fn socket_id(&mut self) -> Result<SocketId, RequestError> {
        match self.socket_id.take() {
            None => Err(RequestError::MissingField("socket_id")),
            Some(Value::Str(s)) => Ok(SocketId::new(s)?),
            Some(_) => Err(RequestError::NotAString("socket_id")),
        }
    }

    fn into_channel_request(mut self, limits: &Limits) -> Result<ChannelAuthRequest, RequestError> {
        let socket_id = self.socket_id()?;
        let has_batch = !self.batch.is_empty() || !self.batch_appended.is_empty();
        let channels = match (self.channel_name, has_batch) {
            (Some(_), true) => return Err(RequestError::MixedBatch),
            (None, false) => return Err(RequestError::MissingField("channel_name")),
            (Some(Value::Str(name)), false) => Channels::One(ChannelName::new(name)?),
            (Some(Value::Other(_)), false) => return Err(RequestError::NotAString("channel_name")),
            (Some(Value::List(items)), false) => {
                if items.len() > limits.max_batch {
                    return Err(RequestError::BatchTooLarge {
                        count: items.len(),
                        max: limits.max_batch,
                    });
                }
                if items.is_empty() {
                    return Err(RequestError::EmptyBatch);
                }
                let names = items
                    .into_iter()
                    .map(|v| match v {
                        Value::Str(s) => Ok(s),
                        _ => Err(RequestError::NotAString("channel_name")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                batch(names)
            }
            (None, true) => batch(self.batch.into_values().chain(self.batch_appended)),
        };
        Ok(ChannelAuthRequest {
            socket_id,
            channels,
            params: Params(self.params),
        })
    }

    fn into_user_request(mut self) -> Result<SigninAuthRequest, RequestError> {
        let socket_id = self.socket_id()?;
        Ok(SigninAuthRequest {
            socket_id,
            params: Params(self.params),
        })
    }
}

fn batch(names: impl IntoIterator<Item = String>) -> Channels {
    let mut entries: Vec<BatchEntry> = Vec::new();
    for name in names {
        if entries.iter().any(|e| e.requested == name) {
            continue;
        }
        let channel = ChannelName::new(name.as_str());
        entries.push(BatchEntry {
            requested: name,
            channel,
        });
    }
    Channels::Batch(entries)
}

fn set_once(
    slot: &mut Option<Value>,
    value: Value,
    field: &'static str,
) -> Result<(), RequestError> {
    if slot.is_some() {
        return Err(RequestError::DuplicateField(field));
    }
    *slot = Some(value);
    Ok(())
}

/// At most 40 characters of client input, for error messages.
fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Parses a channel-authorization request body.
pub fn parse_channel_request(
    format: BodyFormat,
    body: &[u8],
    limits: &Limits,
) -> Result<ChannelAuthRequest, RequestError> {
    parse_fields(format, body, limits, Mode::Channel)?.into_channel_request(limits)
}

/// Parses a sign-in request body (`socket_id` plus extra fields).
///
/// ```
/// use pusher_auth::adapter::{parse_signin_request, BodyFormat};
/// use pusher_auth::Limits;
/// let req = parse_signin_request(BodyFormat::Json, br#"{"socket_id":"1.2","token":"t"}"#, &Limits::default())?;
/// assert_eq!(req.socket_id().as_str(), "1.2");
/// assert_eq!(req.params().get("token"), Some("t"));
/// # Ok::<(), pusher_auth::RequestError>(())
/// ```
pub fn parse_signin_request(
    format: BodyFormat,
    body: &[u8],
    limits: &Limits,
) -> Result<SigninAuthRequest, RequestError> {
    parse_fields(format, body, limits, Mode::User)?.into_user_request()
}

/// Whether `channel_name` fields are channels (channel requests) or plain parameters (user
/// sign-in requests, which name no channel: anything but `socket_id` is handed on as sent).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Channel,
    User,
}

fn parse_fields(
    format: BodyFormat,
    body: &[u8],
    limits: &Limits,
    mode: Mode,
) -> Result<Fields, RequestError> {
    match format {
        BodyFormat::Form => parse_form(body, limits, mode),
        BodyFormat::Json => parse_json(body, limits, mode),
    }
}

fn parse_form(body: &[u8], limits: &Limits, mode: Mode) -> Result<Fields, RequestError> {
    let mut fields = Fields::default();
    // What pusher-js sends is ASCII with nothing to decode: one UTF-8 check for the whole body
    // (a percent-encoded component is checked again once decoded).
    let mut rest = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
    // Bytes, not chars: `&` and `=` are ASCII, so every split is on a character boundary.
    while !rest.is_empty() {
        let end = rest.bytes().position(|b| b == b'&').unwrap_or(rest.len());
        let pair = rest.get(..end).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.bytes().position(|b| b == b'=') {
            Some(i) => (
                pair.get(..i).unwrap_or_default(),
                pair.get(i + 1..).unwrap_or_default(),
            ),
            None => (pair, ""),
        };
        let key = form_decode(key)?;
        let value = form_decode(value)?.into_owned();
        fields.add(key, Value::Str(value), limits, mode)?;
    }
    Ok(fields)
}

/// Decodes one form component: `+` is a space, `%XX` a byte; the result must be UTF-8.
fn form_decode(raw: &str) -> Result<Cow<'_, str>, RequestError> {
    // Most components (field names, socket ids, channel names) need no decoding at all.
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(raw));
    }
    let raw = raw.as_bytes();
    let plus_free: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode(&plus_free).into();
    String::from_utf8(decoded.into_owned())
        .map(Cow::Owned)
        .map_err(|_| RequestError::NotUtf8)
}

fn parse_json(body: &[u8], limits: &Limits, mode: Mode) -> Result<Fields, RequestError> {
    let malformed = |e: serde_json::Error| RequestError::MalformedJson(e.to_string());
    let mut de = serde_json::Deserializer::from_slice(body);
    let pairs = de.deserialize_map(PairsVisitor).map_err(malformed)?;
    de.end().map_err(malformed)?;
    let mut fields = Fields::default();
    for (key, value) in pairs {
        fields.add(Cow::Owned(key), value, limits, mode)?;
    }
    Ok(fields)
}

/// Collects a JSON object's members in order, keeping repeated keys (so they can be refused).
struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match map.next_value::<serde_json::Value>()? {
                serde_json::Value::String(s) => Value::Str(s),
                serde_json::Value::Array(items) if key == "channel_name" => Value::List(
                    items
                        .into_iter()
                        .map(|v| match v {
                            serde_json::Value::String(s) => Value::Str(s),
                            other => Value::Other(other.to_string()),
                        })
                        .collect(),
                ),
                other => Value::Other(other.to_string()),
            };
            pairs.push((key, value));
        }
        Ok(pairs)
    }
}

/// The answer to one channel of a batch request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Authorized: `{"status":200,"data":{…}}`.
    Authorized(ChannelAuth),
    /// Refused with this status (400 invalid name, 403 denied, 500 failure): `{"status":N}`.
    Refused(u16),
}

/// The pusher-js-auth batch answer: a JSON object keyed by channel name.
///
/// ```
/// use pusher_auth::adapter::{BatchOutcome, BatchResponse};
/// let mut answer = BatchResponse::default();
/// answer.push("private-b", BatchOutcome::Refused(403));
/// assert_eq!(serde_json::to_string(&answer)?, r#"{"private-b":{"status":403}}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResponse {
    entries: Vec<(String, BatchOutcome)>,
}

impl BatchResponse {
    /// Adds the answer for `channel` (the name as the client sent it).
    pub fn push(&mut self, channel: impl Into<String>, outcome: BatchOutcome) {
        self.entries.push((channel.into(), outcome));
    }

    /// The answers, in order.
    pub fn entries(&self) -> &[(String, BatchOutcome)] {
        &self.entries
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

impl Serialize for BatchResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Entry<'a> {
            status: u16,
            #[serde(skip_serializing_if = "Option::is_none")]
            data: Option<&'a ChannelAuth>,
        }
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (channel, outcome) in &self.entries {
            let entry = match outcome {
                BatchOutcome::Authorized(auth) => Entry {
                    status: 200,
                    data: Some(auth),
                },
                BatchOutcome::Refused(status) => Entry {
                    status: *status,
                    data: None,
                },
            };
            map.serialize_entry(channel, &entry)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Result<ChannelAuthRequest, RequestError> {
        parse_channel_request(BodyFormat::Form, body.as_bytes(), &Limits::default())
    }

    fn json(body: &str) -> Result<ChannelAuthRequest, RequestError> {
        parse_channel_request(BodyFormat::Json, body.as_bytes(), &Limits::default())
    }

    #[test]
    fn pusher_js_form() {
        let r = form("socket_id=123.456&channel_name=private-foo%40bar%2C%3B&a=1&a=2&b=x+y%20z")
            .unwrap();
        assert_eq!(r.socket_id().as_str(), "123.456");
        assert_eq!(
            r.channels(),
            &Channels::One(ChannelName::new("private-foo@bar,;").unwrap())
        );
        assert_eq!(r.params().get_all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(r.params().get("b"), Some("x y z"));
        assert_eq!(r.params().len(), 3);
    }

    #[test]
    fn batch_plugin_form() {
        let r = form("&socket_id=1.2&channel_name[1]=presence-b&channel_name[0]=private-a&channel_name%5B2%5D=bad%20name&channel_name[3]=private-a&x=y").unwrap();
        let Channels::Batch(entries) = r.channels() else {
            panic!("not a batch")
        };
        let names: Vec<_> = entries.iter().map(|e| e.requested()).collect();
        assert_eq!(names, ["private-a", "presence-b", "bad name"]);
        assert!(entries[0].channel().is_ok());
        assert_eq!(entries[2].channel().unwrap_err().field(), "channel_name");
        assert_eq!(r.params().get("x"), Some("y"));
    }

    #[test]
    fn json_bodies() {
        let r =
            json(r#"{"socket_id":"1.2","channel_name":"private-a","n":5,"o":{"k":[1]}}"#).unwrap();
        assert_eq!(r.params().get("n"), Some("5"));
        assert_eq!(r.params().get("o"), Some(r#"{"k":[1]}"#));
        let r = json(r#"{"socket_id":"1.2","channel_name":["private-a","private-b"]}"#).unwrap();
        assert_eq!(r.channels().len(), 2);
    }

    #[test]
    fn errors_have_codes() {
        let cases: &[(&str, bool, &str)] = &[
            ("channel_name=private-a", false, "missing_field"),
            ("socket_id=1.2", false, "missing_field"),
            (
                "socket_id=1.2&socket_id=1.2&channel_name=private-a",
                false,
                "duplicate_field",
            ),
            (
                "socket_id=1.2&channel_name=private-a&channel_name=private-b",
                false,
                "duplicate_field",
            ),
            (
                "socket_id=1.2:&channel_name=private-a",
                false,
                "invalid_socket_id",
            ),
            (
                "socket_id=1.2&channel_name=private-a%3Ab",
                false,
                "invalid_channel_name",
            ),
            ("socket_id=1.2&channel_name=%FF", false, "invalid_encoding"),
            (
                "socket_id=1.2&channel_name=private-a&channel_name[0]=private-b",
                false,
                "invalid_batch",
            ),
            (
                "socket_id=1.2&channel_name[x]=private-b",
                false,
                "invalid_batch",
            ),
            (
                "socket_id=1.2&channel_name[0]=a&channel_name[0]=b",
                false,
                "invalid_batch",
            ),
            (
                "socket_id=1.2&channel_name[0=private-b",
                false,
                "invalid_batch",
            ),
            (
                r#"{"socket_id":1.2,"channel_name":"private-a"}"#,
                true,
                "invalid_field_type",
            ),
            (
                r#"{"socket_id":"1.2","channel_name":["private-a",3]}"#,
                true,
                "invalid_field_type",
            ),
            (
                r#"{"socket_id":"1.2","socket_id":"1.2","channel_name":"private-a"}"#,
                true,
                "duplicate_field",
            ),
            (
                r#"{"socket_id":"1.2","channel_name":"private-a"} x"#,
                true,
                "malformed_json",
            ),
            (r#"["socket_id"]"#, true, "malformed_json"),
            ("", true, "malformed_json"),
            (
                "{\"socket_id\":\"1.2\",\"channel_name\":\"\\ud800\"}",
                true,
                "malformed_json",
            ),
        ];
        for (body, is_json, code) in cases {
            let err = if *is_json { json(body) } else { form(body) }.unwrap_err();
            assert_eq!(err.code(), *code, "{body}: {err}");
        }
        let invalid_utf8 = parse_channel_request(
            BodyFormat::Json,
            b"{\"socket_id\":\"\xff\"}",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(invalid_utf8.code(), "malformed_json");
    }

    #[test]
    fn limits_hold() {
        let limits = Limits::default().with_max_batch(2).with_max_params(1);
        let err = parse_channel_request(
            BodyFormat::Form,
            b"socket_id=1.2&channel_name[0]=a&channel_name[1]=b&channel_name[2]=c",
            &limits,
        )
        .unwrap_err();
        assert_eq!(err, RequestError::BatchTooLarge { count: 3, max: 2 });
        let err = parse_channel_request(
            BodyFormat::Json,
            br#"{"socket_id":"1.2","channel_name":["a","b","c"]}"#,
            &limits,
        )
        .unwrap_err();
        assert_eq!(err.code(), "batch_too_large");
        let err = parse_channel_request(
            BodyFormat::Json,
            br#"{"socket_id":"1.2","channel_name":"a","p":1,"q":2}"#,
            &limits,
        )
        .unwrap_err();
        assert_eq!(err, RequestError::TooManyParams { max: 1 });
    }

    #[test]
    fn user_requests() {
        let r = parse_signin_request(
            BodyFormat::Form,
            b"socket_id=1.2&channel_name=x&channel_name[0]=y",
            &Limits::default(),
        )
        .unwrap();
        // Sign-in names no channel: channel fields are handed on as parameters, as sent.
        assert_eq!(r.params().get("channel_name"), Some("x"));
        assert_eq!(r.params().get("channel_name[0]"), Some("y"));
        let r = parse_signin_request(
            BodyFormat::Json,
            br#"{"socket_id":"1.2","channel_name":["a","b"]}"#,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(r.params().get("channel_name"), Some(r#"["a","b"]"#));
        assert_eq!(
            json(r#"{"socket_id":"1.2","channel_name":[]}"#).unwrap_err(),
            RequestError::EmptyBatch
        );
        assert_eq!(
            parse_signin_request(BodyFormat::Form, b"", &Limits::default()).unwrap_err(),
            RequestError::MissingField("socket_id")
        );
    }

    #[test]
    fn batch_response_json() {
        let c = pusher_protocol::Credentials::new("k", "s").unwrap();
        let ok = c
            .authorize_channel(
                &SocketId::new("1.2").unwrap(),
                &ChannelName::new("private-a").unwrap(),
            )
            .unwrap();
        let mut r = BatchResponse::default();
        r.push("private-a", BatchOutcome::Authorized(ok.clone()));
        r.push("bad name", BatchOutcome::Refused(400));
        assert_eq!(
            r.to_json(),
            format!(
                r#"{{"private-a":{{"status":200,"data":{}}},"bad name":{{"status":400}}}}"#,
                ok.to_json()
            )
        );
    }
}
