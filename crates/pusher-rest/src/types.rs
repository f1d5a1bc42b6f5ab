//! Typed inputs and answers of the HTTP API.

use std::collections::BTreeMap;

use pusher_protocol::{ChannelName, NameError, SocketId, UserId};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, InvalidInput};

/// The longest event name accepted, in bytes (the official SDKs' limit).
pub const MAX_EVENT_NAME_BYTES: usize = 200;

/// The most channels one `events` request may name (Pusher's documented limit). A trigger on
/// more channels is sent as several requests of at most this many channels.
pub const MAX_CHANNELS_PER_REQUEST: usize = 100;

/// Attributes to ask for about channels: `user_count` (presence channels) and
/// `subscription_count` (other channels; Pusher needs it enabled in the app settings).
///
/// ```
/// use pusher_rest::Info;
/// let info = Info::new().user_count().subscription_count();
/// assert_eq!(info.to_param(), Some("user_count,subscription_count"));
/// assert_eq!(Info::new().to_param(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Info {
    user_count: bool,
    subscription_count: bool,
}

impl Info {
    /// No attributes.
    pub const fn new() -> Self {
        Info {
            user_count: false,
            subscription_count: false,
        }
    }

    /// Also ask for `user_count`: distinct users of a presence channel.
    #[must_use]
    pub const fn user_count(mut self) -> Self {
        self.user_count = true;
        self
    }

    /// Also ask for `subscription_count`: connections subscribed to a channel.
    #[must_use]
    pub const fn subscription_count(mut self) -> Self {
        self.subscription_count = true;
        self
    }

    /// Whether no attribute is asked for.
    pub const fn is_empty(self) -> bool {
        !self.user_count && !self.subscription_count
    }

    /// The `info` parameter: a comma-separated list, or `None` when empty.
    pub const fn to_param(self) -> Option<&'static str> {
        match (self.user_count, self.subscription_count) {
            (true, true) => Some("user_count,subscription_count"),
            (true, false) => Some("user_count"),
            (false, true) => Some("subscription_count"),
            (false, false) => None,
        }
    }
}

/// Counts the server reported for one channel. A count is `None` when it was not asked for,
/// does not apply to the channel, or the server does not report it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ChannelAttributes {
    /// Distinct users subscribed (presence channels).
    #[serde(default)]
    pub user_count: Option<u64>,
    /// Connections subscribed.
    #[serde(default)]
    pub subscription_count: Option<u64>,
}

/// The answer to a trigger: per-channel attributes when [`Info`] was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TriggerResponse {
    /// Attributes by channel name, for every channel the server reported on (empty unless
    /// [`Info`] was asked for; some servers never report them).
    pub channels: BTreeMap<String, ChannelAttributes>,
}

impl TriggerResponse {
    /// The attributes the server reported for `channel`.
    pub fn channel(&self, channel: &str) -> Option<&ChannelAttributes> {
        self.channels.get(channel)
    }
}

/// The answer to a batch trigger: one entry per event, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchResponse {
    /// The attributes of each event's channel, index for index with the events (all empty when
    /// no event asked for [`Info`]).
    pub attributes: Vec<ChannelAttributes>,
}

/// One channel of a channel list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelsList {
    /// Occupied channels by name, with the attributes asked for.
    pub channels: BTreeMap<String, ChannelAttributes>,
}

/// The state of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ChannelInfo {
    /// Whether anyone is subscribed.
    #[serde(default)]
    pub occupied: bool,
    /// Distinct users subscribed (presence channels, when asked for).
    #[serde(default)]
    pub user_count: Option<u64>,
    /// Connections subscribed (when asked for).
    #[serde(default)]
    pub subscription_count: Option<u64>,
}

/// `{"channels": {name: attributes}}`, the answer of `/events` (with `info`) and `/channels`.
/// Anything else (`{}`, `{"ok":true}`) has no attributes.
#[derive(Deserialize, Default)]
pub(crate) struct ChannelsAnswer {
    #[serde(default)]
    pub(crate) channels: Option<BTreeMap<String, ChannelAttributes>>,
}

/// `{"batch": [attributes…]}`; servers answer `{}`, `{"ok":true}` or `{"batch":{}}` without
/// `info`, so anything but an array means "no attributes".
#[derive(Deserialize, Default)]
pub(crate) struct BatchAnswer {
    #[serde(default, deserialize_with = "array_or_nothing")]
    pub(crate) batch: Vec<ChannelAttributes>,
}

fn array_or_nothing<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ChannelAttributes>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|item| ChannelAttributes::deserialize(item).map_err(de::Error::custom))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// `{"users": [{"id": …}]}`.
#[derive(Deserialize)]
pub(crate) struct UsersAnswer {
    pub(crate) users: Vec<UserEntry>,
}

#[derive(Deserialize)]
pub(crate) struct UserEntry {
    #[serde(deserialize_with = "user_id")]
    pub(crate) id: UserId,
}

/// A user id as a string, or as a number (presence data with numeric ids).
fn user_id<'de, D: Deserializer<'de>>(d: D) -> Result<UserId, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => UserId::new(s).map_err(de::Error::custom),
        serde_json::Value::Number(n) => UserId::new(n.to_string()).map_err(de::Error::custom),
        _ => Err(de::Error::custom(
            "user id is neither a string nor a number",
        )),
    }
}

/// Channels to trigger on: one channel or a list, as [`ChannelName`]s or as text to validate.
///
/// ```
/// use pusher_rest::{ChannelName, IntoChannels};
/// assert_eq!("chat".into_channels()?.len(), 1);
/// assert_eq!(["a", "b"].into_channels()?.len(), 2);
/// let names: Vec<ChannelName> = vec!["private-a".parse()?, "presence-b".parse()?];
/// assert_eq!(names.into_channels()?.len(), 2);
/// assert!(["ok", "not ok"].into_channels().is_err());
/// # Ok::<(), pusher_rest::NameError>(())
/// ```
pub trait IntoChannels {
    /// The validated channel names.
    fn into_channels(self) -> Result<Vec<ChannelName>, NameError>;
}

/// One channel, as a [`ChannelName`] or as text to validate.
pub trait IntoChannel {
    /// The validated channel name.
    fn into_channel(self) -> Result<ChannelName, NameError>;
}

impl IntoChannel for ChannelName {
    fn into_channel(self) -> Result<ChannelName, NameError> {
        Ok(self)
    }
}

impl IntoChannel for &ChannelName {
    fn into_channel(self) -> Result<ChannelName, NameError> {
        Ok(self.clone())
    }
}

impl IntoChannel for &str {
    fn into_channel(self) -> Result<ChannelName, NameError> {
        ChannelName::new(self)
    }
}

impl IntoChannel for String {
    fn into_channel(self) -> Result<ChannelName, NameError> {
        ChannelName::new(self)
    }
}

impl IntoChannel for &String {
    fn into_channel(self) -> Result<ChannelName, NameError> {
        ChannelName::new(self.as_str())
    }
}

impl<C: IntoChannel> IntoChannels for C {
    fn into_channels(self) -> Result<Vec<ChannelName>, NameError> {
        Ok(vec![self.into_channel()?])
    }
}

impl<C: IntoChannel> IntoChannels for Vec<C> {
    fn into_channels(self) -> Result<Vec<ChannelName>, NameError> {
        self.into_iter().map(IntoChannel::into_channel).collect()
    }
}

impl<C: IntoChannel, const N: usize> IntoChannels for [C; N] {
    fn into_channels(self) -> Result<Vec<ChannelName>, NameError> {
        self.into_iter().map(IntoChannel::into_channel).collect()
    }
}

impl<'a, C> IntoChannels for &'a [C]
where
    &'a C: IntoChannel,
{
    fn into_channels(self) -> Result<Vec<ChannelName>, NameError> {
        self.iter().map(IntoChannel::into_channel).collect()
    }
}

impl<'a, C> IntoChannels for &'a Vec<C>
where
    &'a C: IntoChannel,
{
    fn into_channels(self) -> Result<Vec<ChannelName>, NameError> {
        self.iter().map(IntoChannel::into_channel).collect()
    }
}

impl IntoChannel for &&str {
    fn into_channel(self) -> Result<ChannelName, NameError> {
        ChannelName::new(*self)
    }
}

/// The `data` text of an event, from any `T: Serialize`, serialized once.
///
/// A value that serializes to a JSON string (`&str`, `String`, …) is taken as pre-serialized
/// data and sent as is, as the official SDKs do; anything else is sent as its compact JSON.
pub(crate) fn event_data<T: Serialize + ?Sized>(data: &T) -> Result<String, InvalidInput> {
    let json = serde_json::to_string(data).map_err(|e| InvalidInput::Serialize(e.to_string()))?;
    if json.starts_with('"') {
        serde_json::from_str::<String>(&json).map_err(|e| InvalidInput::Serialize(e.to_string()))
    } else {
        Ok(json)
    }
}

/// Checks an event name: not empty, at most [`MAX_EVENT_NAME_BYTES`] bytes.
pub(crate) fn check_event_name(name: &str) -> Result<(), InvalidInput> {
    if name.is_empty() {
        return Err(InvalidInput::EmptyEventName);
    }
    if name.len() > MAX_EVENT_NAME_BYTES {
        return Err(InvalidInput::EventNameTooLong {
            len: name.len(),
            max: MAX_EVENT_NAME_BYTES,
        });
    }
    Ok(())
}

/// One event of a batch trigger: a channel, an event name and its data, and optionally a
/// socket to exclude and attributes to report.
///
/// ```
/// use pusher_rest::{BatchEvent, Info};
/// #[derive(serde::Serialize)]
/// struct Move { x: i32, y: i32 }
///
/// let event = BatchEvent::new("game-1", "move", &Move { x: 1, y: 2 })?
///     .exclude("123.456".parse::<pusher_rest::SocketId>()?)
///     .info(Info::new().subscription_count());
/// assert_eq!(event.data(), r#"{"x":1,"y":2}"#);
/// assert!(BatchEvent::new("game 1", "move", "{}").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Its `Debug` output shows the data's length, not the data: an event for an end-to-end
/// encrypted channel holds it in plain text until it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct BatchEvent {
    pub(crate) channel: ChannelName,
    pub(crate) name: String,
    pub(crate) data: String,
    pub(crate) socket_id: Option<SocketId>,
    pub(crate) info: Info,
}

impl std::fmt::Debug for BatchEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchEvent")
            .field("channel", &self.channel)
            .field("name", &self.name)
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("socket_id", &self.socket_id)
            .field("info", &self.info)
            .finish()
    }
}

impl BatchEvent {
    /// An event named `event` with `data` (any `T: Serialize`, serialized once; a string is
    /// taken as pre-serialized) on `channel`. The channel name and event name are checked here.
    pub fn new<T: Serialize + ?Sized>(
        channel: impl IntoChannel,
        event: &str,
        data: &T,
    ) -> Result<Self, Error> {
        let channel = channel.into_channel().map_err(InvalidInput::from)?;
        check_event_name(event)?;
        Ok(BatchEvent {
            channel,
            name: event.to_owned(),
            data: event_data(data)?,
            socket_id: None,
            info: Info::new(),
        })
    }

    /// An event of a typed channel definition (see [`Client::publish`](crate::Client::publish)):
    /// the channel's name, the event's name and its payload as JSON text, from one definition.
    pub fn publish<C: pusher_protocol::channel::Channel>(
        channel: &C,
        event: &C::Event,
    ) -> Result<Self, Error> {
        let (channel, name, data) = crate::client::typed_parts(channel, event)?;
        BatchEvent::new(channel, &name, data.as_str())
    }

    /// Excludes a connection (the sender's, usually from its `X-Socket-ID` header) from
    /// receiving the event. `None` excludes nobody.
    #[must_use]
    pub fn exclude(mut self, socket_id: impl Into<Option<SocketId>>) -> Self {
        self.socket_id = socket_id.into();
        self
    }

    /// Asks for attributes of the event's channel in the answer.
    #[must_use]
    pub fn info(mut self, info: Info) -> Self {
        self.info = info;
        self
    }

    /// The channel.
    pub fn channel(&self) -> &ChannelName {
        &self.channel
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The data text, before any encryption.
    pub fn data(&self) -> &str {
        &self.data
    }
}

/// The body of `POST /events`, in the Node SDK's key order.
#[derive(Serialize)]
pub(crate) struct EventBody<'a, C: Serialize> {
    pub(crate) name: &'a str,
    pub(crate) data: &'a str,
    pub(crate) channels: C,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) socket_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) info: Option<&'static str>,
}

/// One event of `POST /batch_events`.
#[derive(Serialize)]
pub(crate) struct BatchItem<'a> {
    pub(crate) channel: &'a str,
    pub(crate) name: &'a str,
    pub(crate) data: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) socket_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) info: Option<&'static str>,
}

#[derive(Serialize)]
pub(crate) struct BatchBody<'a> {
    pub(crate) batch: &'a [BatchItem<'a>],
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_pre_serialized_everything_else_is_json() {
        assert_eq!(event_data("hello").unwrap(), "hello");
        assert_eq!(
            event_data(&String::from(r#"{"a":1}"#)).unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(event_data("quote\" é\n").unwrap(), "quote\" é\n");
        assert_eq!(
            event_data(&json!({"b": [1, "x"], "a": null})).unwrap(),
            r#"{"a":null,"b":[1,"x"]}"#
        );
        assert_eq!(event_data(&42).unwrap(), "42");
        assert_eq!(event_data(&json!("s")).unwrap(), "s");
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        assert!(matches!(event_data(&bad), Err(InvalidInput::Serialize(_))));
    }

    #[test]
    fn event_names() {
        assert_eq!(check_event_name(""), Err(InvalidInput::EmptyEventName));
        assert!(check_event_name(&"e".repeat(200)).is_ok());
        assert_eq!(
            check_event_name(&"é".repeat(101)),
            Err(InvalidInput::EventNameTooLong { len: 202, max: 200 })
        );
    }

    #[test]
    fn answers_are_read_leniently() {
        let a: ChannelsAnswer = serde_json::from_str(r#"{"ok":true}"#).unwrap();
        assert!(a.channels.is_none());
        let a: ChannelsAnswer = serde_json::from_str(
            r#"{"channels":{"presence-a":{"user_count":2,"subscription_count":3,"extra":1},"b":{}}}"#,
        )
        .unwrap();
        let channels = a.channels.unwrap();
        assert_eq!(channels["presence-a"].user_count, Some(2));
        assert_eq!(channels["presence-a"].subscription_count, Some(3));
        assert_eq!(channels["b"], ChannelAttributes::default());
        for body in [r#"{}"#, r#"{"batch":{}}"#, r#"{"ok":true}"#] {
            let b: BatchAnswer = serde_json::from_str(body).unwrap();
            assert!(b.batch.is_empty(), "{body}");
        }
        let b: BatchAnswer =
            serde_json::from_str(r#"{"batch":[{"subscription_count":1},{}]}"#).unwrap();
        assert_eq!(b.batch.len(), 2);
        let u: UsersAnswer = serde_json::from_str(r#"{"users":[{"id":"a"},{"id":7}]}"#).unwrap();
        let ids: Vec<_> = u.users.into_iter().map(|u| u.id.into_string()).collect();
        assert_eq!(ids, ["a", "7"]);
        assert!(serde_json::from_str::<UsersAnswer>(r#"{"users":[{"id":""}]}"#).is_err());
        let i: ChannelInfo =
            serde_json::from_str(r#"{"occupied":true,"subscription_count":4}"#).unwrap();
        assert!(i.occupied && i.subscription_count == Some(4) && i.user_count.is_none());
    }

    /// The data of an event for an end-to-end encrypted channel must not reach a log through
    /// `Debug`: only its length is shown.
    #[test]
    fn batch_event_debug_leaves_out_the_data() {
        let event = BatchEvent::new("private-encrypted-x", "e", "top secret payload")
            .unwrap()
            .exclude("1.2".parse::<SocketId>().unwrap());
        let shown = format!("{event:?} {event:#?}");
        assert!(!shown.contains("top secret"), "{shown}");
        for expected in ["private-encrypted-x", "\"e\"", "18 bytes", "1.2"] {
            assert!(shown.contains(expected), "{expected}: {shown}");
        }
    }

    #[test]
    fn event_bodies_follow_the_node_sdk_key_order() {
        let body = EventBody {
            name: "foo",
            data: r#"{"some":"data"}"#,
            channels: ["project-3"],
            socket_id: None,
            info: None,
        };
        // The body of the documentation's worked example, byte for byte.
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"name":"foo","data":"{\"some\":\"data\"}","channels":["project-3"]}"#
        );
    }
}
