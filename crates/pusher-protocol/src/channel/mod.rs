//! One typed definition per channel: its kind, its name pattern with typed parameters, the
//! presence member it admits, and the events it carries, each with its payload type. The same
//! definition authorizes (`pusher_auth::ChannelRoutes::route`), publishes
//! (`pusher_rest::Client::publish`), parses webhooks ([`Channel::parse`],
//! [`client_event`]) and, with the `typescript` feature, types the browser's code
//! (`typescript::Declarations`).
//!
//! A definition is a struct holding the channel's parameters and an `impl Channel` that says the
//! rest; the events are an enum that serde writes as `{"event": …, "data": …}`:
//!
//! ```
//! use pusher_protocol::channel::{Channel, NoEvents, Private};
//! use serde::{Deserialize, Serialize};
//!
//! /// `private-orders.{id}`: one customer's order.
//! #[derive(Serialize, Deserialize)]
//! pub struct OrderChannel {
//!     pub id: u64,
//! }
//!
//! /// What the server publishes on it.
//! #[derive(Serialize, Deserialize)]
//! #[serde(tag = "event", content = "data", rename_all = "kebab-case")]
//! pub enum OrderEvent {
//!     /// `order-shipped`
//!     OrderShipped { tracking: String },
//!     /// `order-cancelled`, with no data
//!     OrderCancelled,
//! }
//!
//! impl Channel for OrderChannel {
//!     type Kind = Private;
//!     const PATTERN: &'static str = "orders.{id}";
//!     type Event = OrderEvent;
//!     type ClientEvent = NoEvents;
//! }
//!
//! let channel = OrderChannel { id: 42 };
//! assert_eq!(channel.name()?.as_str(), "private-orders.42");
//! assert_eq!(OrderChannel::parse(&"private-orders.42".parse()?).map(|c| c.id), Some(42));
//! assert!(OrderChannel::parse(&"private-orders.042".parse()?).is_none());
//!
//! let (name, data) = pusher_protocol::channel::event_parts(&OrderEvent::OrderShipped { tracking: "1Z".into() })?;
//! assert_eq!((name.as_str(), data.as_str()), ("order-shipped", r#"{"tracking":"1Z"}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Kinds: [`Private`] (`private-`), [`Encrypted`] (`private-encrypted-`: published end to end
//! encrypted), [`Presence<M>`] (`presence-`, whose members carry user info of type `M`),
//! [`Public`] (no prefix, no authorization). A channel without client events (whispers) says
//! `type ClientEvent = NoEvents`.

mod params;
mod pattern;
#[cfg(feature = "typescript")]
#[cfg_attr(docsrs, doc(cfg(feature = "typescript")))]
pub mod typescript;

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use params::ParamError;
pub use pattern::{Pattern, PatternError};

use crate::names::{ChannelKind, ChannelName, NameError};
use crate::webhook::WebhookEvent;

/// A channel's kind, as a type: [`Private`], [`Encrypted`], [`Presence<M>`] or [`Public`].
pub trait Kind: sealed::Sealed + Send + Sync + 'static {
    /// The kind.
    const KIND: ChannelKind;
}

mod sealed {
    pub trait Sealed {}
}

/// `private-` channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Private {}

/// `private-encrypted-` channels: events are encrypted end to end with a secret derived from
/// the app's encryption master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encrypted {}

/// `presence-` channels, whose members carry user info of type `M` (`()` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence<M>(PhantomData<fn() -> M>, Never);

/// Public channels (no prefix): anyone may subscribe, nothing to authorize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Public {}

/// Makes [`Presence`] impossible to construct (it is a type, never a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Never {}

impl sealed::Sealed for Private {}
impl sealed::Sealed for Encrypted {}
impl<M> sealed::Sealed for Presence<M> {}
impl sealed::Sealed for Public {}

impl Kind for Private {
    const KIND: ChannelKind = ChannelKind::Private;
}

impl Kind for Encrypted {
    const KIND: ChannelKind = ChannelKind::PrivateEncrypted;
}

impl<M: 'static> Kind for Presence<M> {
    const KIND: ChannelKind = ChannelKind::Presence;
}

impl Kind for Public {
    const KIND: ChannelKind = ChannelKind::Public;
}

/// Events for channels (or users) that have none: an enum with no variant, so nothing can be
/// published, and a client event decodes to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub enum NoEvents {}

/// One channel's definition: its kind, its name pattern, and its events. The implementing type
/// holds the channel's parameters (a struct with a field for each `{param}` of the pattern, or
/// a unit struct for a channel without parameters). See the [module docs](self).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a channel definition",
    label = "expected a type that implements `Channel`",
    note = "a channel definition is a struct of its parameters with `impl Channel for …` (kind, pattern, events): see `pusher_protocol::channel`"
)]
pub trait Channel: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// [`Private`], [`Encrypted`], [`Presence<M>`] or [`Public`].
    type Kind: Kind;

    /// The name after the kind prefix, with a `{field}` for each field of `Self`
    /// (`orders.{id}`); see [`Pattern`] for the rules.
    const PATTERN: &'static str;

    /// What the server publishes on the channel: an enum that serde writes as
    /// `{"event": name, "data": payload}` (`#[serde(tag = "event", content = "data")]`).
    type Event: Serialize;

    /// What clients send on the channel (`client-…` events, reported by webhooks), in the
    /// same shape; [`NoEvents`] for none.
    type ClientEvent: DeserializeOwned;

    /// The channel's name: the kind prefix and the pattern filled with `self`'s fields.
    ///
    /// # Errors
    ///
    /// When a parameter's text is not a valid parameter (empty, a `.`, a character channel
    /// names cannot hold), the pattern does not compile, or the name made is of another kind
    /// than `Self::Kind` (a public channel's parameter `private-admin`, a private one's
    /// `encrypted-x`): [`ChannelError`]. A parameter taken from a client can therefore never
    /// steer a publish onto a channel of another kind.
    ///
    /// Not meant to be overridden: routes, publishing and [`Channel::parse`] rely on it
    /// agreeing with `PATTERN`.
    fn name(&self) -> Result<ChannelName, ChannelError> {
        let pattern = Pattern::new(Self::PATTERN)?;
        let rest = pattern.format(self)?;
        let kind = <Self::Kind as Kind>::KIND;
        let name = ChannelName::new(format!("{}{rest}", kind.prefix()))?;
        if name.kind() != kind {
            return Err(ChannelError::KindChanged {
                name: name.as_str().to_owned(),
                expected: kind,
            });
        }
        Ok(name)
    }

    /// The parameters of `name`, when it is one of these channels: `None` for another kind,
    /// another pattern, or values that do not parse as the fields' types. Not meant to be
    /// overridden either.
    fn parse(name: &ChannelName) -> Option<Self> {
        if name.kind() != <Self::Kind as Kind>::KIND {
            return None;
        }
        let pattern = Pattern::new(Self::PATTERN).ok()?;
        pattern.parse(name.name_without_prefix())?.ok()
    }
}

/// Why a typed channel or event could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The definition's pattern does not compile.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// The parameters do not fit the pattern.
    #[error("channel parameters: {0}")]
    Params(#[from] ParamError),
    /// The name made is not a valid channel name (too long, most likely).
    #[error(transparent)]
    Name(#[from] NameError),
    /// The name made from the parameters is of another kind than the definition's: a
    /// parameter began with a kind prefix (`private-`, `encrypted-`, `presence-`).
    #[error("channel `{name}` is not a {expected} channel: a parameter changed its kind")]
    #[non_exhaustive]
    KindChanged {
        /// The name made.
        name: String,
        /// The definition's kind.
        expected: ChannelKind,
    },
    /// The event does not serialize as `{"event": name, "data": payload}`.
    #[error("an event must serialize as {{\"event\": name, \"data\": payload}} (#[serde(tag = \"event\", content = \"data\")] on the enum): {0}")]
    EventShape(String),
}

/// An event's name and its data as JSON text (`null` for an event without data): what
/// publishing sends. The event must serialize as `{"event": name, "data": payload}`.
///
/// # Errors
///
/// [`ChannelError::EventShape`] when it does not.
pub fn event_parts<E: Serialize + ?Sized>(event: &E) -> Result<(String, String), ChannelError> {
    let shape = |why: &str| ChannelError::EventShape(why.to_owned());
    let value = serde_json::to_value(event).map_err(|e| shape(&e.to_string()))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err(shape("it is not an object"));
    };
    let name = match fields.remove("event") {
        Some(serde_json::Value::String(name)) if !name.is_empty() => name,
        _ => return Err(shape("no `event` string")),
    };
    let data = fields.remove("data").unwrap_or(serde_json::Value::Null);
    if let Some(extra) = fields.keys().next() {
        return Err(shape(&format!("an unexpected field `{extra}`")));
    }
    Ok((name, data.to_string()))
}

/// A `client_event` webhook on a channel of definition `C`, decoded: the channel's parameters
/// and the client event (`{"event": …, "data": …}` from the webhook's `event` and `data`).
/// `None` when the webhook event is not a client event on such a channel.
///
/// ```
/// use pusher_protocol::channel::{client_event, Channel, NoEvents, Presence};
/// use pusher_protocol::webhook::WebhookEvent;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Team { id: u32 }
///
/// #[derive(Deserialize, Debug, PartialEq)]
/// #[serde(tag = "event", content = "data")]
/// enum Whisper {
///     #[serde(rename = "client-typing")]
///     Typing { name: String },
/// }
///
/// impl Channel for Team {
///     type Kind = Presence<()>;
///     const PATTERN: &'static str = "team.{id}";
///     type Event = NoEvents;
///     type ClientEvent = Whisper;
/// }
///
/// let body = br#"{"time_ms":1,"events":[{"name":"client_event","channel":"presence-team.3","event":"client-typing","data":"{\"name\":\"ann\"}","socket_id":"1.2","user_id":"7"}]}"#;
/// # let credentials = pusher_protocol::Credentials::new("key", "secret")?;
/// # let signature = credentials.sign_hex(body);
/// let webhook = pusher_protocol::WebhookVerifier::new(credentials).without_max_age().verify("key", &signature, body)?;
/// let (team, whisper) = client_event::<Team>(&webhook.events()[0]).unwrap()?;
/// assert_eq!((team.id, whisper), (3, Whisper::Typing { name: "ann".into() }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_event<C: Channel>(
    event: &WebhookEvent,
) -> Option<Result<(C, C::ClientEvent), serde_json::Error>> {
    let WebhookEvent::ClientEvent {
        channel,
        event,
        data,
        ..
    } = event
    else {
        return None;
    };
    let params = C::parse(channel)?;
    let data: serde_json::Value =
        serde_json::from_str(data).unwrap_or_else(|_| serde_json::Value::String(data.clone()));
    let tagged = serde_json::json!({ "event": event, "data": data });
    Some(serde_json::from_value(tagged).map(|decoded| (params, decoded)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize)]
    struct Open {
        room: String,
    }

    impl Channel for Open {
        type Kind = Public;
        const PATTERN: &'static str = "{room}";
        type Event = NoEvents;
        type ClientEvent = NoEvents;
    }

    #[derive(Serialize, Deserialize)]
    struct Orders {
        room: String,
    }

    impl Channel for Orders {
        type Kind = Private;
        const PATTERN: &'static str = "{room}";
        type Event = NoEvents;
        type ClientEvent = NoEvents;
    }

    #[test]
    fn a_parameter_cannot_change_the_channel_kind() {
        let open = |room: &str| Open { room: room.into() }.name();
        assert_eq!(open("lobby").unwrap().as_str(), "lobby");
        for steer in ["private-admin", "presence-admin", "private-encrypted-admin"] {
            assert!(
                matches!(open(steer), Err(ChannelError::KindChanged { .. })),
                "{steer}"
            );
        }
        let orders = |room: &str| Orders { room: room.into() }.name();
        assert_eq!(orders("a-b").unwrap().as_str(), "private-a-b");
        let steered = orders("encrypted-x").unwrap_err();
        assert!(
            matches!(&steered, ChannelError::KindChanged { name, expected: ChannelKind::Private } if name == "private-encrypted-x"),
            "{steered:?}"
        );
        assert!(
            steered.to_string().contains("changed its kind"),
            "{steered}"
        );
    }
}
