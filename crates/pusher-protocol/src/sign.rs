//! Signing: the answers an auth endpoint gives, byte for byte as pusher-js reads them.
//!
//! | channel kind | method | JSON |
//! |---|---|---|
//! | `private-` | [`Credentials::authorize_channel`](crate::Credentials::authorize_channel) | `{"auth"}` |
//! | `private-encrypted-` | [`Credentials::authorize_channel`](crate::Credentials::authorize_channel) | `{"auth","shared_secret"}` |
//! | `presence-` | [`Credentials::authorize_presence`](crate::Credentials::authorize_presence) with a [`ChannelData`] | `{"auth","channel_data"}` |
//! | `presence-`, signed-in connection | [`Credentials::authorize_signed_in_member`](crate::Credentials::authorize_signed_in_member) | `{"auth"}` |
//! | user sign-in | [`Credentials::authenticate_user`](crate::Credentials::authenticate_user) with a [`SerializedUserData`] | `{"auth","user_data"}` |
//!
//! Presence and user data are serialized once, compactly, into a validated [`ChannelData`] or
//! [`SerializedUserData`], and those exact bytes are both signed and returned.
//!
//! ```
//! use pusher_protocol::{Credentials, PresenceMember, UserId};
//! use serde::Serialize;
//!
//! let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?;
//!
//! // A private channel: the worked example from the Pusher documentation.
//! let auth = credentials.authorize_channel(&"1234.1234".parse()?, &"private-foobar".parse()?)?;
//! assert_eq!(
//!     auth.to_json(),
//!     r#"{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}"#,
//! );
//!
//! // A presence channel with typed member information.
//! #[derive(Serialize)]
//! struct Info { name: &'static str }
//! let member = PresenceMember::new(UserId::from(10u32)).with_info(Info { name: "Mr. Channels" });
//! let data = member.to_channel_data()?;
//! let auth = credentials.authorize_presence(&"1234.1234".parse()?, &"presence-foobar".parse()?, &data)?;
//! assert_eq!(auth.channel_data(), Some(r#"{"user_id":"10","user_info":{"name":"Mr. Channels"}}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::Serialize;

use crate::names::{ChannelKind, ChannelName, UserId};

/// The largest serialized `user_info` accepted, in bytes (the Pusher documentation's 1 KB).
pub const MAX_USER_INFO_BYTES: usize = 1024;

/// The most user ids a sign-in `watchlist` may hold.
pub const MAX_WATCHLIST: usize = 100;

/// Why an answer could not be signed. Each is a mistake in the app's code or configuration,
/// never in the client's request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The channel's kind does not fit the method (presence data for a private channel, a plain
    /// answer for a presence channel, any answer for a public channel).
    #[error("channel `{channel}` is a {kind} channel: {hint}")]
    #[non_exhaustive]
    KindMismatch {
        /// The channel.
        channel: ChannelName,
        /// Its kind.
        kind: ChannelKind,
        /// What to do instead.
        hint: &'static str,
    },
    /// A `private-encrypted-` channel was asked for, but no encryption master key is configured.
    #[error("channel `{0}` is private-encrypted, but no encryption master key is configured")]
    NoMasterKey(ChannelName),
    /// `user_info` did not serialize to a JSON object (Pusher rejects anything else).
    #[error("user_info must serialize to a JSON object")]
    UserInfoNotObject,
    /// `user_info` is larger than [`MAX_USER_INFO_BYTES`].
    #[error("user_info is {size} bytes once serialized; at most {max} are allowed")]
    #[non_exhaustive]
    UserInfoTooLarge {
        /// Its serialized size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The sign-in watchlist holds more than [`MAX_WATCHLIST`] ids.
    #[error("watchlist has {len} user ids; at most {max} are allowed")]
    #[non_exhaustive]
    WatchlistTooLong {
        /// How many ids it holds.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Pre-serialized presence data breaks a rule of [`ChannelData::new`].
    #[error("invalid channel_data: {0}")]
    InvalidChannelData(&'static str),
    /// Pre-serialized sign-in data breaks a rule of [`SerializedUserData::new`].
    #[error("invalid user_data: {0}")]
    InvalidUserData(&'static str),
    /// The user id breaks a rule of [`UserId`].
    #[error(transparent)]
    InvalidUserId(#[from] crate::names::NameError),
    /// The user info's `Serialize` implementation failed.
    #[error("user_info could not be serialized: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// A signed channel authorization: `{"auth"}`, plus `channel_data` for presence channels or
/// `shared_secret` for encrypted channels.
///
/// It serializes (with [`serde`] or [`ChannelAuth::to_json`]) to exactly what pusher-js expects.
/// Its `Debug` output shows the signature and the shared secret as `<redacted>`: the shared
/// secret is the channel's encryption key, and neither belongs in a log.
///
/// ```
/// use pusher_protocol::{ChannelName, Credentials, SocketId};
///
/// let credentials = Credentials::new("key", "secret")?
///     .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")?;
/// let channel: ChannelName = "private-encrypted-chat".parse()?;
/// let auth = credentials.authorize_channel(&"1.2".parse::<SocketId>()?, &channel)?;
/// let secret = auth.shared_secret().unwrap();
/// assert!(!format!("{auth:?}").contains(secret));
/// assert!(!format!("{auth:?}").contains(auth.auth().split_once(':').unwrap().1));
/// assert!(format!("{auth:?}").contains("key:<redacted>"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ChannelAuth {
    pub(crate) auth: String,
    /// `auth` needs no JSON escaping (known from the key, which is checked once).
    #[serde(skip)]
    pub(crate) auth_is_plain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) channel_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) shared_secret: Option<String>,
}

impl std::fmt::Debug for ChannelAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = self.auth.split_once(':').map_or("", |(key, _)| key);
        f.debug_struct("ChannelAuth")
            .field("auth", &format_args!("{key}:<redacted>"))
            .field("channel_data", &self.channel_data)
            .field(
                "shared_secret",
                &self.shared_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl ChannelAuth {
    /// The auth string, `KEY:HEX_SIGNATURE`.
    pub fn auth(&self) -> &str {
        &self.auth
    }

    /// The presence member data exactly as signed (presence channels only).
    pub fn channel_data(&self) -> Option<&str> {
        self.channel_data.as_deref()
    }

    /// The base64 shared secret (encrypted channels only). It is sent to the client but not
    /// signed.
    pub fn shared_secret(&self) -> Option<&str> {
        self.shared_secret.as_deref()
    }

    /// The JSON body pusher-js expects, by value: for a private channel, written into the
    /// `auth` string's own buffer, with no further allocation.
    pub fn into_json(self) -> String {
        let plain =
            self.channel_data.is_none() && self.shared_secret.is_none() && self.auth_is_plain;
        if !plain {
            return self.to_json();
        }
        let mut out = self.auth;
        out.insert_str(0, "{\"auth\":\"");
        out.push_str("\"}");
        out
    }

    /// The JSON body pusher-js expects.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            16 + self.auth.len()
                + self.channel_data.as_ref().map_or(0, |d| 24 + d.len() * 2)
                + self.shared_secret.as_ref().map_or(0, |s| 20 + s.len()),
        );
        out.push_str("{\"auth\":");
        push_json_string(&mut out, &self.auth);
        if let Some(data) = &self.channel_data {
            out.push_str(",\"channel_data\":");
            push_json_string(&mut out, data);
        }
        if let Some(secret) = &self.shared_secret {
            out.push_str(",\"shared_secret\":");
            push_json_string(&mut out, secret);
        }
        out.push('}');
        out
    }
}

/// A signed user sign-in (`pusher:signin`): `{"auth","user_data"}`. Its `Debug` output shows
/// the signature as `<redacted>`.
#[doc(alias = "signin")]
#[doc(alias = "SigninAuth")]
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct UserAuth {
    pub(crate) auth: String,
    pub(crate) user_data: String,
}

impl std::fmt::Debug for UserAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = self.auth.split_once(':').map_or("", |(key, _)| key);
        f.debug_struct("UserAuth")
            .field("auth", &format_args!("{key}:<redacted>"))
            .field("user_data", &self.user_data)
            .finish()
    }
}

impl UserAuth {
    /// The auth string, `KEY:HEX_SIGNATURE`.
    pub fn auth(&self) -> &str {
        &self.auth
    }

    /// The user data exactly as signed.
    pub fn user_data(&self) -> &str {
        &self.user_data
    }

    /// The JSON body pusher-js expects.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(32 + self.auth.len() + self.user_data.len() * 2);
        out.push_str("{\"auth\":");
        push_json_string(&mut out, &self.auth);
        out.push_str(",\"user_data\":");
        push_json_string(&mut out, &self.user_data);
        out.push('}');
        out
    }
}

/// Whether `s` has a character JSON must escape.
fn needs_escape(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends `s` to `out` as a JSON string literal, escaped exactly as `serde_json` and
/// `JSON.stringify` do.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    if !needs_escape(s) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            crate::hex::push_hex(out, &[b]);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// A presence channel member: a user id (always emitted as a JSON string) and optional typed
/// user information, which must serialize to a JSON object of at most [`MAX_USER_INFO_BYTES`].
///
/// ```
/// use pusher_protocol::{PresenceMember, UserId};
/// let member = PresenceMember::new(UserId::new("alice")?).with_info(serde_json::json!({"name": "Alice"}));
/// assert_eq!(member.to_channel_data()?.as_str(), r#"{"user_id":"alice","user_info":{"name":"Alice"}}"#);
/// assert_eq!(PresenceMember::new(UserId::from(7u8)).to_channel_data()?.as_str(), r#"{"user_id":"7"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceMember<T = ()> {
    user_id: UserId,
    user_info: Option<T>,
}

impl PresenceMember<()> {
    /// A member with no user information.
    pub fn new(user_id: UserId) -> Self {
        PresenceMember {
            user_id,
            user_info: None,
        }
    }
}

impl<T> PresenceMember<T> {
    /// The same member with `info` as its `user_info`.
    #[must_use]
    pub fn with_info<U>(self, info: U) -> PresenceMember<U> {
        PresenceMember {
            user_id: self.user_id,
            user_info: Some(info),
        }
    }

    /// The member's user id.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The member's user information, if any.
    pub fn user_info(&self) -> Option<&T> {
        self.user_info.as_ref()
    }
}

impl<T: Serialize> PresenceMember<T> {
    /// The compact `channel_data` JSON: `{"user_id":"…"}` or `{"user_id":"…","user_info":{…}}`,
    /// serialized once. `user_info` must serialize to a JSON object of at most
    /// [`MAX_USER_INFO_BYTES`].
    pub fn to_channel_data(&self) -> Result<ChannelData, SignError> {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(b"{\"user_id\":");
        write_json(&mut buf, self.user_id.as_str())?;
        if let Some(info) = &self.user_info {
            buf.extend_from_slice(b",\"user_info\":");
            write_user_info(&mut buf, info)?;
        }
        buf.push(b'}');
        Ok(ChannelData {
            json: into_string(buf)?,
            user_id: self.user_id.clone(),
        })
    }
}

/// Presence `channel_data`, serialized and validated: exactly the bytes that are signed and
/// returned to the client. Made by [`PresenceMember::to_channel_data`] or, for JSON produced
/// elsewhere, [`ChannelData::new`].
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelData {
    json: String,
    user_id: UserId,
}

impl ChannelData {
    /// Validates pre-serialized `channel_data` with the rules the typed path applies: a JSON
    /// object whose `user_id` is a string that is a valid [`UserId`], and whose `user_info`, if
    /// present, is an object of at most [`MAX_USER_INFO_BYTES`]. The text is kept byte for byte.
    ///
    /// ```
    /// use pusher_protocol::ChannelData;
    /// let data = ChannelData::new(r#"{"user_id": "auth0|5f7c", "user_info": {"name": "Ann"}}"#)?;
    /// assert_eq!(data.user_id().as_str(), "auth0|5f7c");
    /// assert!(ChannelData::new(r#"{"user_id": 10}"#).is_err()); // ids are strings
    /// assert!(ChannelData::new(r#"{"user_id": "u", "user_info": true}"#).is_err());
    /// # Ok::<(), pusher_protocol::SignError>(())
    /// ```
    pub fn new(json: impl Into<String>) -> Result<Self, SignError> {
        let json = json.into();
        let object =
            parse_object(&json).ok_or(SignError::InvalidChannelData("not a JSON object"))?;
        let user_id = match object.get("user_id") {
            Some(serde_json::Value::String(id)) => UserId::new(id.as_str())?,
            _ => return Err(SignError::InvalidChannelData("user_id must be a string")),
        };
        if let Some(info) = object.get("user_info") {
            check_user_info_value(info)?;
        }
        Ok(ChannelData { json, user_id })
    }

    /// The JSON text, as signed.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// The member's user id.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }
}

impl fmt::Debug for ChannelData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChannelData").field(&self.json).finish()
    }
}

/// What a user signs in as: an id, optional typed user information (shared with presence
/// members) and an optional watchlist of at most [`MAX_WATCHLIST`] user ids.
///
/// ```
/// use pusher_protocol::{UserData, UserId};
/// let user = UserData::new(UserId::new("12345")?);
/// assert_eq!(user.to_user_data()?.as_str(), r#"{"id":"12345"}"#);
/// let user = user.with_watchlist([UserId::new("6")?]).with_info(serde_json::json!({"name": "Ann"}));
/// assert_eq!(user.to_user_data()?.as_str(), r#"{"id":"12345","user_info":{"name":"Ann"},"watchlist":["6"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData<T = ()> {
    id: UserId,
    user_info: Option<T>,
    watchlist: Vec<UserId>,
}

impl UserData<()> {
    /// A user with no information and no watchlist.
    pub fn new(id: UserId) -> Self {
        UserData {
            id,
            user_info: None,
            watchlist: Vec::new(),
        }
    }
}

impl<T> UserData<T> {
    /// The same user with `info` as its `user_info`.
    #[must_use]
    pub fn with_info<U>(self, info: U) -> UserData<U> {
        UserData {
            id: self.id,
            user_info: Some(info),
            watchlist: self.watchlist,
        }
    }

    /// The same user watching `ids` (watchlist online/offline events).
    #[must_use]
    pub fn with_watchlist(mut self, ids: impl IntoIterator<Item = UserId>) -> Self {
        self.watchlist = ids.into_iter().collect();
        self
    }

    /// The user's id.
    pub fn id(&self) -> &UserId {
        &self.id
    }

    /// The user's information, if any.
    pub fn user_info(&self) -> Option<&T> {
        self.user_info.as_ref()
    }

    /// The user's watchlist.
    pub fn watchlist(&self) -> &[UserId] {
        &self.watchlist
    }
}

impl<T: Serialize> UserData<T> {
    /// The compact `user_data` JSON: `{"id":"…"[,"user_info":{…}][,"watchlist":[…]]}`,
    /// serialized once.
    pub fn to_user_data(&self) -> Result<SerializedUserData, SignError> {
        if self.watchlist.len() > MAX_WATCHLIST {
            return Err(SignError::WatchlistTooLong {
                len: self.watchlist.len(),
                max: MAX_WATCHLIST,
            });
        }
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(b"{\"id\":");
        write_json(&mut buf, self.id.as_str())?;
        if let Some(info) = &self.user_info {
            buf.extend_from_slice(b",\"user_info\":");
            write_user_info(&mut buf, info)?;
        }
        if !self.watchlist.is_empty() {
            buf.extend_from_slice(b",\"watchlist\":");
            write_json(&mut buf, &self.watchlist)?;
        }
        buf.push(b'}');
        Ok(SerializedUserData {
            json: into_string(buf)?,
            id: self.id.clone(),
        })
    }
}

/// Sign-in `user_data`, serialized and validated: exactly the bytes that are signed and
/// returned. Made by [`UserData::to_user_data`] or, for JSON produced elsewhere,
/// [`SerializedUserData::new`].
#[derive(Clone, PartialEq, Eq)]
pub struct SerializedUserData {
    json: String,
    id: UserId,
}

impl SerializedUserData {
    /// Validates pre-serialized `user_data` with the rules the typed path applies: a JSON
    /// object whose `id` is a string that is a valid [`UserId`], whose `user_info`, if present,
    /// is an object of at most [`MAX_USER_INFO_BYTES`], and whose `watchlist`, if present, is an
    /// array of at most [`MAX_WATCHLIST`] valid user ids. The text is kept byte for byte.
    ///
    /// ```
    /// use pusher_protocol::SerializedUserData;
    /// let data = SerializedUserData::new(r#"{"id":"google-oauth2|1077","watchlist":["a+b@x.com"]}"#)?;
    /// assert_eq!(data.id().as_str(), "google-oauth2|1077");
    /// assert!(SerializedUserData::new(r#"{"id":""}"#).is_err());
    /// # Ok::<(), pusher_protocol::SignError>(())
    /// ```
    pub fn new(json: impl Into<String>) -> Result<Self, SignError> {
        let json = json.into();
        let object = parse_object(&json).ok_or(SignError::InvalidUserData("not a JSON object"))?;
        let id = match object.get("id") {
            Some(serde_json::Value::String(id)) => UserId::new(id.as_str())?,
            _ => return Err(SignError::InvalidUserData("id must be a string")),
        };
        if let Some(info) = object.get("user_info") {
            check_user_info_value(info)?;
        }
        match object.get("watchlist") {
            None => {}
            Some(serde_json::Value::Array(ids)) => {
                if ids.len() > MAX_WATCHLIST {
                    return Err(SignError::WatchlistTooLong {
                        len: ids.len(),
                        max: MAX_WATCHLIST,
                    });
                }
                for watched in ids {
                    match watched {
                        serde_json::Value::String(w) => {
                            UserId::new(w.as_str())?;
                        }
                        _ => {
                            return Err(SignError::InvalidUserData("watchlist ids must be strings"))
                        }
                    }
                }
            }
            Some(_) => return Err(SignError::InvalidUserData("watchlist must be an array")),
        }
        Ok(SerializedUserData { json, id })
    }

    /// The JSON text, as signed.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// The user's id.
    pub fn id(&self) -> &UserId {
        &self.id
    }
}

impl fmt::Debug for SerializedUserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SerializedUserData")
            .field(&self.json)
            .finish()
    }
}

fn write_json<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> Result<(), SignError> {
    serde_json::to_writer(buf, value).map_err(SignError::Serialize)
}

fn write_user_info<T: Serialize>(buf: &mut Vec<u8>, info: &T) -> Result<(), SignError> {
    let start = buf.len();
    write_json(buf, info)?;
    check_user_info(buf.get(start..).unwrap_or_default())
}

fn parse_object(json: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// Pre-serialized `user_info`: an object whose compact form fits [`MAX_USER_INFO_BYTES`].
fn check_user_info_value(info: &serde_json::Value) -> Result<(), SignError> {
    let compact = serde_json::to_vec(info).map_err(SignError::Serialize)?;
    check_user_info(&compact)
}

/// `user_info` must be a JSON object of at most [`MAX_USER_INFO_BYTES`].
fn check_user_info(json: &[u8]) -> Result<(), SignError> {
    if json.first() != Some(&b'{') {
        return Err(SignError::UserInfoNotObject);
    }
    let size = json.len();
    if size > MAX_USER_INFO_BYTES {
        return Err(SignError::UserInfoTooLarge {
            size,
            max: MAX_USER_INFO_BYTES,
        });
    }
    Ok(())
}

fn into_string(buf: Vec<u8>) -> Result<String, SignError> {
    // serde_json writes UTF-8 only; the check is kept rather than assumed.
    String::from_utf8(buf).map_err(|e| SignError::Serialize(serde::ser::Error::custom(e)))
}

pub(crate) fn check_presence(channel: &ChannelName) -> Result<(), SignError> {
    match channel.kind() {
        ChannelKind::Presence => Ok(()),
        kind => Err(SignError::KindMismatch {
            channel: channel.clone(),
            kind,
            hint: "only presence channels carry member data (use authorize_channel)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, SocketId};

    fn docs() -> Credentials {
        Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8").unwrap()
    }

    fn sid() -> SocketId {
        SocketId::new("1234.1234").unwrap()
    }

    fn ch(s: &str) -> ChannelName {
        ChannelName::new(s).unwrap()
    }

    #[test]
    fn docs_private_example() {
        let a = docs()
            .authorize_channel(&sid(), &ch("private-foobar"))
            .unwrap();
        assert_eq!(
            a.auth(),
            "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        );
        assert_eq!(a.to_json(), serde_json::to_string(&a).unwrap());
        assert_eq!(a.clone().into_json(), a.to_json());
        // A key JSON must escape takes the general path.
        let odd = Credentials::new("k\"ey", "s").unwrap();
        let a = odd.authorize_channel(&sid(), &ch("private-x")).unwrap();
        assert_eq!(a.clone().into_json(), serde_json::to_string(&a).unwrap());
    }

    #[test]
    fn docs_presence_example_and_its_erratum() {
        // The documentation prints this channel_data, but its signature `afaed369…` is for
        // "Mr. Pusher"; the right signature for the printed string is `31935e7d…`.
        let printed = r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#;
        let sts = format!("1234.1234:presence-foobar:{printed}");
        assert!(docs().hmac_hex(sts.as_bytes()).starts_with("31935e7d"));
        let pusher = r#"{"user_id":10,"user_info":{"name":"Mr. Pusher"}}"#;
        let sts = format!("1234.1234:presence-foobar:{pusher}");
        assert!(docs().hmac_hex(sts.as_bytes()).starts_with("afaed369"));
        // Numeric ids are not valid here (we emit strings), so the raw form rejects them...
        assert!(matches!(
            ChannelData::new(printed),
            Err(SignError::InvalidChannelData(_))
        ));
        // ...and the typed form emits the id as a string.
        let member = PresenceMember::new(UserId::from(10u8))
            .with_info(serde_json::json!({"name": "Mr. Channels"}));
        let a = docs()
            .authorize_presence(
                &sid(),
                &ch("presence-foobar"),
                &member.to_channel_data().unwrap(),
            )
            .unwrap();
        let data = r#"{"user_id":"10","user_info":{"name":"Mr. Channels"}}"#;
        assert_eq!(a.channel_data(), Some(data));
        let expected = format!(
            "278d425bdf160c739803:{}",
            docs().hmac_hex(format!("1234.1234:presence-foobar:{data}").as_bytes())
        );
        assert_eq!(a.auth(), expected);
        assert_eq!(a.to_json(), serde_json::to_string(&a).unwrap());
        assert_eq!(a.clone().into_json(), a.to_json());
    }

    #[test]
    fn docs_user_example() {
        let user = UserData::new(UserId::new("12345").unwrap());
        let a = docs().authenticate_user(&sid(), &user.to_user_data().unwrap());
        assert_eq!(a.user_data(), r#"{"id":"12345"}"#);
        assert_eq!(
            a.auth(),
            "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
        );
        assert_eq!(a.to_json(), serde_json::to_string(&a).unwrap());
    }

    #[test]
    fn encrypted_example_from_the_node_sdk() {
        let c = Credentials::new("f00d", "tofu")
            .unwrap()
            .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
            .unwrap();
        let a = c
            .authorize_channel(&sid(), &ch("private-encrypted-bla"))
            .unwrap();
        assert_eq!(
            a.shared_secret(),
            Some("nlr49ISQHz91yS3cy/yWmW8wFMNeTnNL5tNHnbPJcLQ=")
        );
        // The shared secret is not signed.
        assert_eq!(
            a.auth(),
            format!("f00d:{}", c.hmac_hex(b"1234.1234:private-encrypted-bla"))
        );
        assert_eq!(a.to_json(), serde_json::to_string(&a).unwrap());
        assert!(matches!(
            docs().authorize_channel(&sid(), &ch("private-encrypted-bla")),
            Err(SignError::NoMasterKey(_))
        ));
    }

    #[test]
    fn kind_mismatches_are_errors() {
        let member = PresenceMember::new(UserId::new("u").unwrap())
            .to_channel_data()
            .unwrap();
        assert!(matches!(
            docs().authorize_channel(&sid(), &ch("presence-x")),
            Err(SignError::KindMismatch {
                kind: ChannelKind::Presence,
                ..
            })
        ));
        assert!(matches!(
            docs().authorize_channel(&sid(), &ch("public-x")),
            Err(SignError::KindMismatch {
                kind: ChannelKind::Public,
                ..
            })
        ));
        for name in ["private-x", "private-encrypted-x", "x"] {
            assert!(matches!(
                docs().authorize_presence(&sid(), &ch(name), &member),
                Err(SignError::KindMismatch { .. })
            ));
        }
        let msg = docs()
            .authorize_channel(&sid(), &ch("presence-x"))
            .unwrap_err()
            .to_string();
        assert_eq!(msg, "channel `presence-x` is a presence channel: authorize it with member data (authorize_presence)");
    }

    #[test]
    fn user_info_rules() {
        let id = UserId::new("u").unwrap();
        let m = PresenceMember::new(id.clone()).with_info(Option::<u8>::None);
        // (The typed path serializes `None` as `null`, which is not an object.)
        assert!(matches!(
            m.to_channel_data(),
            Err(SignError::UserInfoNotObject)
        ));
        let m = PresenceMember::new(id.clone()).with_info(vec![1, 2]);
        assert!(matches!(
            m.to_channel_data(),
            Err(SignError::UserInfoNotObject)
        ));
        let big = serde_json::json!({ "x": "a".repeat(MAX_USER_INFO_BYTES) });
        let m = PresenceMember::new(id.clone()).with_info(big);
        assert!(matches!(
            m.to_channel_data(),
            Err(SignError::UserInfoTooLarge { max: 1024, .. })
        ));
        let fits = serde_json::json!({ "x": "a".repeat(MAX_USER_INFO_BYTES - 8) });
        assert_eq!(
            serde_json::to_string(&fits).unwrap().len(),
            MAX_USER_INFO_BYTES
        );
        assert!(PresenceMember::new(id.clone())
            .with_info(fits)
            .to_channel_data()
            .is_ok());
        let watch: Vec<UserId> = (0..=MAX_WATCHLIST as u32).map(UserId::from).collect();
        let u = UserData::new(id).with_watchlist(watch);
        assert!(matches!(
            u.to_user_data(),
            Err(SignError::WatchlistTooLong { len: 101, max: 100 })
        ));
    }

    #[test]
    fn pre_serialized_data_follows_the_typed_rules() {
        // Accepted as given, byte for byte (spaces and escapes of another SDK included).
        let python = r#"{"user_id": "auth0|5f7c", "user_info": {"name": "\u00e9"}}"#;
        assert_eq!(ChannelData::new(python).unwrap().as_str(), python);
        assert_eq!(
            ChannelData::new(python).unwrap().user_id().as_str(),
            "auth0|5f7c"
        );
        let big = format!(
            r#"{{"user_id":"u","user_info":{{"x":"{}"}}}}"#,
            "a".repeat(MAX_USER_INFO_BYTES)
        );
        let cases: &[(&str, &str)] = &[
            ("[]", "not an object"),
            ("{", "not an object"),
            (r#"{"user_info":{}}"#, "no user_id"),
            (r#"{"user_id":""}"#, "empty user_id"),
            (r#"{"user_id":7}"#, "numeric user_id"),
            (r#"{"user_id":"u","user_info":null}"#, "null user_info"),
            (r#"{"user_id":"u","user_info":[1]}"#, "array user_info"),
            (big.as_str(), "user_info over 1 KB"),
        ];
        for (json, why) in cases {
            assert!(ChannelData::new(*json).is_err(), "{why}: {json}");
        }
        let long_id = format!(r#"{{"user_id":"{}"}}"#, "x".repeat(UserId::MAX_LEN + 1));
        assert!(matches!(
            ChannelData::new(long_id),
            Err(SignError::InvalidUserId(_))
        ));

        let ok = r#"{"id":"a+b@x.com","user_info":{"n":1},"watchlist":["Zoë"]}"#;
        assert_eq!(
            SerializedUserData::new(ok).unwrap().id().as_str(),
            "a+b@x.com"
        );
        let many: Vec<String> = (0..=MAX_WATCHLIST).map(|i| format!("\"{i}\"")).collect();
        let too_many = format!(r#"{{"id":"u","watchlist":[{}]}}"#, many.join(","));
        for bad in [
            r#"{"id":""}"#,
            r#"{"id":1}"#,
            r#"{"user_id":"u"}"#,
            r#"{"id":"u","watchlist":"x"}"#,
            r#"{"id":"u","watchlist":[1]}"#,
            r#"{"id":"u","watchlist":[""]}"#,
            r#"{"id":"u","user_info":"x"}"#,
            too_many.as_str(),
        ] {
            assert!(SerializedUserData::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_strings_escape_like_serde_json() {
        for s in [
            "plain",
            "quote\" back\\ slash",
            "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}",
            "é ☃ \u{2028}",
            "",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }
}
