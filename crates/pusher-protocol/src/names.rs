//! Validated socket ids, channel names and user ids.
//!
//! Each type is parsed once, at the edge, and carries the proof of its validity from then on.
//!
//! ```
//! use pusher_protocol::{ChannelKind, ChannelName, SocketId, UserId};
//!
//! let socket: SocketId = "1234.5678".parse()?;
//! let channel: ChannelName = "private-encrypted-chat".parse()?;
//! assert_eq!(channel.kind(), ChannelKind::PrivateEncrypted);
//! assert_eq!(channel.name_without_prefix(), "chat");
//! let user = UserId::new("alice@example.com")?;
//! assert_eq!(user.as_str(), "alice@example.com");
//!
//! // Every rule names the field it guards.
//! let err = "1234.5678:".parse::<SocketId>().unwrap_err();
//! assert_eq!(err.field(), "socket_id");
//! # Ok::<(), pusher_protocol::NameError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a socket id, channel name or user id was rejected.
///
/// The message names the field and the rule it broke; it echoes at most a short prefix of the
/// input, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The value is empty.
    #[error("{field} is empty")]
    #[non_exhaustive]
    Empty {
        /// The field: `socket_id`, `channel_name` or `user_id`.
        field: &'static str,
    },
    /// The value is longer than the protocol allows.
    #[error("{field} is {len} characters long; at most {max} are allowed")]
    #[non_exhaustive]
    TooLong {
        /// The field: `socket_id`, `channel_name` or `user_id`.
        field: &'static str,
        /// The value's length in bytes.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// The value is not of the form the field requires.
    #[error("{field} {rule}")]
    #[non_exhaustive]
    Invalid {
        /// The field: `socket_id`, `channel_name` or `user_id`.
        field: &'static str,
        /// The rule, as a phrase completing "`field` …".
        rule: &'static str,
    },
}

impl NameError {
    /// The name of the field that was rejected (`socket_id`, `channel_name` or `user_id`).
    pub fn field(&self) -> &'static str {
        match self {
            NameError::Empty { field }
            | NameError::TooLong { field, .. }
            | NameError::Invalid { field, .. } => field,
        }
    }
}

/// The characters Pusher allows in channel names: `A-Z a-z 0-9 _ - = @ , . ;`.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'=' | b'@' | b',' | b'.' | b';')
}

macro_rules! string_newtype {
    ($ty:ident) => {
        impl $ty {
            /// The validated value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The validated value as an owned `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = NameError;
            fn try_from(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A connection's socket id, as the Pusher server assigned it: ASCII digits, a dot, ASCII digits.
///
/// Only `[0-9]` counts as a digit (never Unicode digits such as `١`), and at most
/// [`SocketId::MAX_LEN`] bytes are accepted.
///
/// ```
/// use pusher_protocol::SocketId;
/// assert!(SocketId::new("123.456").is_ok());
/// for bad in ["1.1:", ":1.1", "12341234", "1.1foo", "foo1.1", "", "١٢.٣"] {
///     assert!(SocketId::new(bad).is_err(), "{bad:?}");
/// }
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(String);

impl SocketId {
    /// The longest socket id accepted, in bytes. Servers issue two 64-bit numbers at most.
    pub const MAX_LEN: usize = 64;

    /// Validates a socket id.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        check_socket_id(&value)?;
        Ok(SocketId(value))
    }

    /// Two numbers joined by a dot are always a valid socket id.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn from_parts(left: u64, right: u64) -> Self {
        SocketId(format!("{left}.{right}"))
    }
}

fn check_socket_id(s: &str) -> Result<(), NameError> {
    const FIELD: &str = "socket_id";
    if s.is_empty() {
        return Err(NameError::Empty { field: FIELD });
    }
    if s.len() > SocketId::MAX_LEN {
        return Err(NameError::TooLong {
            field: FIELD,
            len: s.len(),
            max: SocketId::MAX_LEN,
        });
    }
    let invalid = NameError::Invalid {
        field: FIELD,
        rule: "must be ASCII digits, a dot, and ASCII digits",
    };
    let (left, right) = s.split_once('.').ok_or(invalid.clone())?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if digits(left) && digits(right) {
        Ok(())
    } else {
        Err(invalid)
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SocketId").field(&self.0).finish()
    }
}

string_newtype!(SocketId);

/// What a channel's name says about how it is authorized.
///
/// Cache channels (`cache-`, `private-cache-`, `presence-cache-`, `private-encrypted-cache-`) have
/// the kind of their prefix; [`ChannelName::is_cache`] tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelKind {
    /// No prefix: anyone may subscribe; no authorization is asked for.
    Public,
    /// `private-`: the answer is `{"auth"}`.
    Private,
    /// `presence-`: the answer is `{"auth","channel_data"}` naming the member.
    Presence,
    /// `private-encrypted-`: the answer is `{"auth","shared_secret"}`.
    PrivateEncrypted,
}

impl ChannelKind {
    /// The name prefix that selects this kind (`""` for public channels).
    pub fn prefix(self) -> &'static str {
        match self {
            ChannelKind::Public => "",
            ChannelKind::Private => "private-",
            ChannelKind::Presence => "presence-",
            ChannelKind::PrivateEncrypted => "private-encrypted-",
        }
    }

    /// A short lowercase name for logs: `public`, `private`, `presence`, `private-encrypted`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Public => "public",
            ChannelKind::Private => "private",
            ChannelKind::Presence => "presence",
            ChannelKind::PrivateEncrypted => "private-encrypted",
        }
    }

    /// Whether a client must ask the app's auth endpoint before subscribing.
    pub fn requires_authorization(self) -> bool {
        !matches!(self, ChannelKind::Public)
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel name: `[A-Za-z0-9_\-=@,.;]`, 1 to [`ChannelName::MAX_LEN`] characters.
///
/// Names starting with `#` are reserved for the Pusher server (`#server-to-user-…`) and rejected,
/// as pusher-js itself does.
///
/// ```
/// use pusher_protocol::{ChannelKind, ChannelName};
/// let c = ChannelName::new("presence-cache-room.42")?;
/// assert_eq!(c.kind(), ChannelKind::Presence);
/// assert!(c.is_cache());
/// assert_eq!(c.name_without_prefix(), "cache-room.42");
/// assert!(ChannelName::new("private-a:b").is_err());
/// assert!(ChannelName::new("#server-to-user-1").is_err());
/// # Ok::<(), pusher_protocol::NameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(String);

impl ChannelName {
    /// The longest channel name accepted, prefix included, as the Pusher documentation states.
    pub const MAX_LEN: usize = 164;

    /// Validates a channel name.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        check_name(&value, "channel_name", Self::MAX_LEN)?;
        Ok(ChannelName(value))
    }

    /// Whether `b` may appear in a channel name: `A-Z a-z 0-9 _ - = @ , . ;`.
    pub fn is_allowed_byte(b: u8) -> bool {
        is_name_byte(b)
    }

    /// The channel's kind, from its prefix (`private-encrypted-` is checked before `private-`).
    pub fn kind(&self) -> ChannelKind {
        let s = self.0.as_str();
        if s.starts_with("private-encrypted-") {
            ChannelKind::PrivateEncrypted
        } else if s.starts_with("private-") {
            ChannelKind::Private
        } else if s.starts_with("presence-") {
            ChannelKind::Presence
        } else {
            ChannelKind::Public
        }
    }

    /// Whether this is a cache channel (`cache-`, `private-cache-`, `presence-cache-`,
    /// `private-encrypted-cache-`).
    pub fn is_cache(&self) -> bool {
        self.name_without_prefix().starts_with("cache-")
    }

    /// The name with its kind prefix (`private-encrypted-`, `private-`, `presence-`) removed.
    pub fn name_without_prefix(&self) -> &str {
        let prefix = self.kind().prefix();
        self.0.get(prefix.len()..).unwrap_or_default()
    }
}

impl fmt::Debug for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChannelName").field(&self.0).finish()
    }
}

string_newtype!(ChannelName);

fn check_name(s: &str, field: &'static str, max: usize) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { field });
    }
    if s.len() > max {
        return Err(NameError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    if s.starts_with('#') {
        return Err(NameError::Invalid {
            field,
            rule: "must not start with `#` (reserved for the Pusher server)",
        });
    }
    if !s.bytes().all(is_name_byte) {
        return Err(NameError::Invalid {
            field,
            rule: "may only contain A-Z a-z 0-9 _ - = @ , . ;",
        });
    }
    Ok(())
}

/// A user id for presence members and user sign-in: any non-empty string of at most
/// [`UserId::MAX_LEN`] characters.
///
/// The protocol asks nothing more of a user id than a non-empty string (pusher-js and the Node
/// SDK check just that), so ids from identity providers work as they are: `auth0|5f7c…`,
/// `google-oauth2|1077…`, `a+b@x.com`, non-ASCII names. User ids are always emitted as JSON
/// strings, so numeric ids from a database survive JavaScript's 2^53 limit and every server's
/// parser. Sending events to a user puts the id inside a channel name
/// (`#server-to-user-{id}`); the REST client checks the channel-name rules there.
///
/// ```
/// use pusher_protocol::UserId;
/// let id = UserId::from(42u64);
/// assert_eq!(id.as_str(), "42");
/// assert!(UserId::new("auth0|5f7c8ec7c33c6c004bbafe82").is_ok());
/// assert!(UserId::new("Zoë Ångström").is_ok());
/// assert!(UserId::new("").is_err());
/// assert!(UserId::new("x".repeat(129)).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// The longest user id accepted, in characters (the Pusher documentation's presence limit).
    pub const MAX_LEN: usize = 128;

    /// Validates a user id: not empty, at most [`UserId::MAX_LEN`] characters.
    pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        const FIELD: &str = "user_id";
        if value.is_empty() {
            return Err(NameError::Empty { field: FIELD });
        }
        let len = value.chars().count();
        if len > Self::MAX_LEN {
            return Err(NameError::TooLong {
                field: FIELD,
                len,
                max: Self::MAX_LEN,
            });
        }
        Ok(UserId(value))
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&self.0).finish()
    }
}

string_newtype!(UserId);

macro_rules! user_id_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for UserId {
            /// Integer ids are always valid; they become their decimal string.
            fn from(n: $t) -> Self {
                UserId(n.to_string())
            }
        }
    )*};
}
user_id_from_int!(u8, u16, u32, u64, u128, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_ids_from_the_sdk_tests_are_rejected() {
        for bad in [
            "1.1:", ":1.1", ":\n1.1", "1.1\n:", "12341234", "1.1foo", "foo1.1", "", ".", "1.",
            ".1", "1.1.1", "١٢.٣", "+1.1", "-1.1", " 1.1",
        ] {
            assert!(SocketId::new(bad).is_err(), "{bad:?} was accepted");
        }
        for good in [
            "1.1",
            "123.456",
            "0.0",
            "18446744073709551615.18446744073709551615",
        ] {
            assert_eq!(SocketId::new(good).unwrap().as_str(), good);
        }
        let long = format!("{}.1", "1".repeat(SocketId::MAX_LEN));
        assert!(matches!(
            SocketId::new(long),
            Err(NameError::TooLong {
                field: "socket_id",
                ..
            })
        ));
    }

    #[test]
    fn kinds_are_read_from_prefixes() {
        let cases = [
            ("chat", ChannelKind::Public, false, "chat"),
            ("cache-chat", ChannelKind::Public, true, "cache-chat"),
            ("private-chat", ChannelKind::Private, false, "chat"),
            (
                "private-cache-chat",
                ChannelKind::Private,
                true,
                "cache-chat",
            ),
            (
                "private-encrypted",
                ChannelKind::Private,
                false,
                "encrypted",
            ),
            (
                "private-encrypted-chat",
                ChannelKind::PrivateEncrypted,
                false,
                "chat",
            ),
            (
                "private-encrypted-cache-chat",
                ChannelKind::PrivateEncrypted,
                true,
                "cache-chat",
            ),
            ("presence-chat", ChannelKind::Presence, false, "chat"),
            (
                "presence-cache-chat",
                ChannelKind::Presence,
                true,
                "cache-chat",
            ),
            ("presencechat", ChannelKind::Public, false, "presencechat"),
        ];
        for (name, kind, cache, base) in cases {
            let c = ChannelName::new(name).unwrap();
            assert_eq!(
                (c.kind(), c.is_cache(), c.name_without_prefix()),
                (kind, cache, base),
                "{name}"
            );
        }
    }

    #[test]
    fn channel_names_follow_the_charset_and_length() {
        assert!(ChannelName::new("-azAZ9_=@,.;").is_ok());
        for bad in [
            "",
            "private-a:b",
            "a b",
            "#server-to-user-1",
            "chat#",
            "é",
            "a\n",
            "a/b",
            "a%20",
        ] {
            let err = ChannelName::new(bad).unwrap_err();
            assert_eq!(err.field(), "channel_name", "{bad:?}");
        }
        assert!(ChannelName::new("a".repeat(ChannelName::MAX_LEN)).is_ok());
        assert!(matches!(
            ChannelName::new("a".repeat(ChannelName::MAX_LEN + 1)),
            Err(NameError::TooLong {
                len: 165,
                max: 164,
                ..
            })
        ));
    }

    #[test]
    fn user_ids_accept_what_the_protocol_accepts() {
        assert_eq!(UserId::from(u64::MAX).as_str(), "18446744073709551615");
        // Real ids from identity providers, e-mail addresses, names: all accepted.
        for good in [
            "auth0|5f7c8ec7c33c6c004bbafe82",
            "google-oauth2|107765443128851183025",
            "a+b@x.com",
            "a b",
            "Zoë",
            "用户",
            "quote\"back\\slash",
            "#1",
        ] {
            assert_eq!(UserId::new(good).unwrap().as_str(), good);
        }
        // The limit counts characters, not bytes.
        assert!(UserId::new("é".repeat(UserId::MAX_LEN)).is_ok());
        assert!(matches!(
            UserId::new("é".repeat(UserId::MAX_LEN + 1)),
            Err(NameError::TooLong {
                len: 129,
                max: 128,
                ..
            })
        ));
        assert_eq!(UserId::new("").unwrap_err().field(), "user_id");
    }

    #[test]
    fn serde_validates() {
        let c: ChannelName = serde_json::from_str("\"private-x\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"private-x\"");
        assert!(serde_json::from_str::<ChannelName>("\"a b\"").is_err());
        assert!(serde_json::from_str::<SocketId>("\"1.1:\"").is_err());
    }
}
