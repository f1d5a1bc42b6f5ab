//! Helpers for testing apps that answer Pusher auth requests (feature `testing`).
//!
//! Check a response the way a Pusher server checks the `auth` a client forwards, make socket
//! ids, and sign webhook bodies.
//!
//! ```
//! use pusher_protocol::testing::{socket_id, verify_channel_auth};
//! use pusher_protocol::Credentials;
//!
//! let credentials = Credentials::new("key", "secret")?;
//! let socket = socket_id();
//! let channel = "private-chat".parse()?;
//! // Whatever your endpoint answered:
//! let body = credentials.authorize_channel(&socket, &channel)?.to_json();
//!
//! let verified = verify_channel_auth(&credentials, socket.as_str(), channel.as_str(), body.as_bytes())?;
//! assert!(verified.member().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use hmac::Mac;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::credentials::Credentials;
use crate::names::{ChannelKind, ChannelName, SocketId};

/// Why a response would be refused by a Pusher server (or by pusher-js before it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The response is not the JSON object pusher-js expects.
    #[error("the response is not an auth JSON object: {0}")]
    NotJson(String),
    /// The socket id or channel name given to the verifier is invalid.
    #[error("invalid input to the verifier: {0}")]
    InvalidInput(String),
    /// The `auth` string is not `KEY:64 hex digits`.
    #[error("`auth` is not of the form KEY:HEX")]
    MalformedAuth,
    /// The `auth` string names another app key.
    #[error("`auth` names another app key")]
    WrongKey,
    /// The signature does not match what the server computes.
    #[error("the signature does not match `{string_to_sign}`")]
    #[non_exhaustive]
    BadSignature {
        /// The string the server signs.
        string_to_sign: String,
    },
    /// A presence answer lacks `channel_data`, or it is not a member object with a string
    /// `user_id`.
    #[error("presence channel_data is missing or invalid")]
    InvalidChannelData,
    /// A field that does not belong to this kind of channel is present (`channel_data` outside
    /// presence, `shared_secret` outside encrypted channels).
    #[error("unexpected field `{0}` for this channel")]
    UnexpectedField(&'static str),
    /// An encrypted channel's `shared_secret` is missing or wrong.
    #[error("shared_secret is missing or wrong")]
    BadSharedSecret,
    /// A sign-in answer's `user_data` is not an object with a non-empty string `id`.
    #[error("user_data is missing or has no non-empty string id")]
    InvalidUserData,
}

/// A channel authorization that a server would accept.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedChannelAuth {
    kind: ChannelKind,
    member: Option<serde_json::Value>,
    shared_secret: Option<String>,
}

impl VerifiedChannelAuth {
    /// The channel's kind.
    pub fn kind(&self) -> ChannelKind {
        self.kind
    }

    /// The presence member (`{"user_id":…,"user_info":…}`), parsed; `None` for a presence
    /// answer without `channel_data` (a signed-in member).
    pub fn member(&self) -> Option<&serde_json::Value> {
        self.member.as_ref()
    }

    /// The encrypted channel's shared secret.
    pub fn shared_secret(&self) -> Option<&str> {
        self.shared_secret.as_deref()
    }
}

#[derive(Deserialize)]
struct Answer {
    auth: String,
    channel_data: Option<String>,
    shared_secret: Option<String>,
    user_data: Option<String>,
}

fn check_auth(
    credentials: &Credentials,
    auth: &str,
    string_to_sign: String,
) -> Result<(), VerifyError> {
    let (key, hex) = auth.split_once(':').ok_or(VerifyError::MalformedAuth)?;
    let tag: [u8; 32] = crate::hex::decode_array(hex).ok_or(VerifyError::MalformedAuth)?;
    if !bool::from(key.as_bytes().ct_eq(credentials.key().as_bytes())) {
        return Err(VerifyError::WrongKey);
    }
    let mut mac = credentials.mac();
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&tag)
        .map_err(|_| VerifyError::BadSignature { string_to_sign })
}

/// Checks a channel-authorization response body as a Pusher server would for this socket and
/// channel: the key, the signature over `SOCKET:CHANNEL[:CHANNEL_DATA]`, presence member data,
/// and (for encrypted channels) the shared secret. A presence answer without `channel_data` is
/// accepted as a signed-in member (the server then requires the connection to be signed in).
pub fn verify_channel_auth(
    credentials: &Credentials,
    socket_id: &str,
    channel: &str,
    response: &[u8],
) -> Result<VerifiedChannelAuth, VerifyError> {
    let socket = SocketId::new(socket_id).map_err(|e| VerifyError::InvalidInput(e.to_string()))?;
    let channel =
        ChannelName::new(channel).map_err(|e| VerifyError::InvalidInput(e.to_string()))?;
    let answer: Answer =
        serde_json::from_slice(response).map_err(|e| VerifyError::NotJson(e.to_string()))?;
    let kind = channel.kind();
    if answer.user_data.is_some() {
        return Err(VerifyError::UnexpectedField("user_data"));
    }
    let member = match (kind, &answer.channel_data) {
        (ChannelKind::Presence, Some(data)) => {
            let value: serde_json::Value =
                serde_json::from_str(data).map_err(|_| VerifyError::InvalidChannelData)?;
            match value.get("user_id") {
                Some(serde_json::Value::String(id)) if !id.is_empty() => {}
                _ => return Err(VerifyError::InvalidChannelData),
            }
            if value.get("user_info").is_some_and(|info| !info.is_object()) {
                return Err(VerifyError::InvalidChannelData);
            }
            Some(value)
        }
        // A signed-in member: no channel_data, the server takes the member from the sign-in.
        (ChannelKind::Presence, None) => None,
        (_, Some(_)) => return Err(VerifyError::UnexpectedField("channel_data")),
        (_, None) => None,
    };
    let mut sts = format!("{socket}:{channel}");
    if let Some(data) = &answer.channel_data {
        sts.push(':');
        sts.push_str(data);
    }
    check_auth(credentials, &answer.auth, sts)?;
    match (kind, &answer.shared_secret) {
        (ChannelKind::PrivateEncrypted, Some(secret)) => {
            let expected = credentials
                .shared_secret(&channel)
                .map_err(|_| VerifyError::BadSharedSecret)?;
            if !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) {
                return Err(VerifyError::BadSharedSecret);
            }
        }
        (ChannelKind::PrivateEncrypted, None) => return Err(VerifyError::BadSharedSecret),
        (_, Some(_)) => return Err(VerifyError::UnexpectedField("shared_secret")),
        (_, None) => {}
    }
    Ok(VerifiedChannelAuth {
        kind,
        member,
        shared_secret: answer.shared_secret,
    })
}

/// Checks a user sign-in response body as a Pusher server would: the key, the signature over
/// `SOCKET::user::USER_DATA`, and a non-empty string `id` in `user_data`. Returns the parsed
/// user data.
#[doc(alias = "signin")]
#[doc(alias = "verify_signin")]
pub fn verify_user_auth(
    credentials: &Credentials,
    socket_id: &str,
    response: &[u8],
) -> Result<serde_json::Value, VerifyError> {
    let socket = SocketId::new(socket_id).map_err(|e| VerifyError::InvalidInput(e.to_string()))?;
    let answer: Answer =
        serde_json::from_slice(response).map_err(|e| VerifyError::NotJson(e.to_string()))?;
    let data = answer.user_data.ok_or(VerifyError::InvalidUserData)?;
    if answer.channel_data.is_some() {
        return Err(VerifyError::UnexpectedField("channel_data"));
    }
    if answer.shared_secret.is_some() {
        return Err(VerifyError::UnexpectedField("shared_secret"));
    }
    check_auth(credentials, &answer.auth, format!("{socket}::user::{data}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&data).map_err(|_| VerifyError::InvalidUserData)?;
    match value.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(value),
        _ => Err(VerifyError::InvalidUserData),
    }
}

/// A fresh, valid socket id, distinct from every other this process has made.
pub fn socket_id() -> SocketId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    SocketId::from_parts(u64::from(std::process::id()), n)
}

/// The `X-Pusher-Signature` a Pusher server would send with `body`, to test webhook routes.
pub fn webhook_signature(credentials: &Credentials, body: &[u8]) -> String {
    credentials.hmac_hex(body)
}

/// A webhook as a Pusher server sends it: the body `{"time_ms":…,"events":[…]}` and the
/// `X-Pusher-Key` and `X-Pusher-Signature` headers, signed with the app's credentials.
///
/// ```
/// use pusher_protocol::testing::SignedWebhook;
/// use pusher_protocol::{Credentials, WebhookVerifier};
///
/// let credentials = Credentials::new("key", "secret")?;
/// let webhook = SignedWebhook::now(&credentials, [serde_json::json!({
///     "name": "member_added", "channel": "presence-team.3", "user_id": "7",
/// })]);
/// // Current, so a verifier with the default 5-minute window accepts it.
/// let verified = WebhookVerifier::new(credentials).verify(webhook.key(), webhook.signature(), webhook.body().as_bytes())?;
/// assert_eq!(verified.events().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    key: String,
    signature: String,
    body: String,
}

impl SignedWebhook {
    /// A webhook sent now, with these events (each a JSON object with a `name`).
    pub fn now(
        credentials: &Credentials,
        events: impl IntoIterator<Item = serde_json::Value>,
    ) -> Self {
        Self::at(credentials, std::time::SystemTime::now(), events)
    }

    /// A webhook sent at `time`.
    pub fn at(
        credentials: &Credentials,
        time: std::time::SystemTime,
        events: impl IntoIterator<Item = serde_json::Value>,
    ) -> Self {
        let time_ms = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let body = serde_json::json!({
            "time_ms": time_ms,
            "events": events.into_iter().collect::<Vec<_>>(),
        })
        .to_string();
        SignedWebhook {
            key: credentials.key().to_owned(),
            signature: credentials.hmac_hex(body.as_bytes()),
            body,
        }
    }

    /// The `X-Pusher-Key` header.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `X-Pusher-Signature` header.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The JSON body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The headers to send: `Content-Type`, `X-Pusher-Key`, `X-Pusher-Signature`.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            ("content-type", "application/json"),
            ("x-pusher-key", &self.key),
            ("x-pusher-signature", &self.signature),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PresenceMember, UserData, UserId};

    #[test]
    fn accepts_what_we_sign_and_rejects_tampering() {
        let c = Credentials::new("key", "secret")
            .unwrap()
            .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
            .unwrap();
        let s = socket_id();
        assert_ne!(s, socket_id());
        let private = c
            .authorize_channel(&s, &"private-a".parse().unwrap())
            .unwrap()
            .to_json();
        assert!(verify_channel_auth(&c, s.as_str(), "private-a", private.as_bytes()).is_ok());
        assert!(matches!(
            verify_channel_auth(&c, s.as_str(), "private-b", private.as_bytes()),
            Err(VerifyError::BadSignature { .. })
        ));
        assert!(matches!(
            verify_channel_auth(&c, "1.1", "private-a", private.as_bytes()),
            Err(VerifyError::BadSignature { .. })
        ));
        let other = Credentials::new("key2", "secret").unwrap();
        assert_eq!(
            verify_channel_auth(&other, s.as_str(), "private-a", private.as_bytes()),
            Err(VerifyError::WrongKey)
        );

        let enc = c
            .authorize_channel(&s, &"private-encrypted-a".parse().unwrap())
            .unwrap()
            .to_json();
        let v = verify_channel_auth(&c, s.as_str(), "private-encrypted-a", enc.as_bytes()).unwrap();
        assert_eq!(v.kind(), ChannelKind::PrivateEncrypted);
        assert!(v.shared_secret().is_some());
        let tampered = enc.replace("\"shared_secret\":\"", "\"shared_secret\":\"A");
        assert_eq!(
            verify_channel_auth(&c, s.as_str(), "private-encrypted-a", tampered.as_bytes()),
            Err(VerifyError::BadSharedSecret)
        );

        let member =
            PresenceMember::new(UserId::new("u").unwrap()).with_info(serde_json::json!({"n": 1}));
        let p = c
            .authorize_presence(
                &s,
                &"presence-a".parse().unwrap(),
                &member.to_channel_data().unwrap(),
            )
            .unwrap()
            .to_json();
        let v = verify_channel_auth(&c, s.as_str(), "presence-a", p.as_bytes()).unwrap();
        assert_eq!(v.member().unwrap()["user_info"]["n"], 1);
        // A presence answer without channel_data is a signed-in member, signed over
        // SOCKET:CHANNEL; the private channel's answer is signed for another channel.
        let signed_in = c
            .authorize_signed_in_member(&s, &"presence-a".parse().unwrap())
            .unwrap()
            .to_json();
        let v = verify_channel_auth(&c, s.as_str(), "presence-a", signed_in.as_bytes()).unwrap();
        assert!(v.member().is_none());
        assert!(matches!(
            verify_channel_auth(&c, s.as_str(), "presence-a", private.as_bytes()),
            Err(VerifyError::BadSignature { .. })
        ));
        assert_eq!(
            verify_channel_auth(&c, s.as_str(), "private-a", p.as_bytes()),
            Err(VerifyError::UnexpectedField("channel_data"))
        );

        let u = c
            .authenticate_user(
                &s,
                &UserData::new(UserId::new("u").unwrap())
                    .to_user_data()
                    .unwrap(),
            )
            .to_json();
        assert_eq!(
            verify_user_auth(&c, s.as_str(), u.as_bytes()).unwrap()["id"],
            "u"
        );
        assert_eq!(
            verify_user_auth(&c, s.as_str(), private.as_bytes()),
            Err(VerifyError::InvalidUserData)
        );
        assert!(matches!(
            verify_channel_auth(&c, s.as_str(), "private-a", b"{"),
            Err(VerifyError::NotJson(_))
        ));
        assert_eq!(
            verify_channel_auth(&c, s.as_str(), "private-a", br#"{"auth":"key"}"#),
            Err(VerifyError::MalformedAuth)
        );
    }

    #[test]
    fn webhook_signatures_verify() {
        let c = Credentials::new("key", "secret").unwrap();
        let body = br#"{"time_ms":1,"events":[]}"#;
        let sig = webhook_signature(&c, body);
        assert!(crate::webhook::WebhookVerifier::new(c)
            .without_max_age()
            .verify("key", &sig, body)
            .is_ok());
    }
}
