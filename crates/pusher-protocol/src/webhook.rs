//! Webhooks: verify `X-Pusher-Key` and `X-Pusher-Signature` over the raw body, then parse the
//! events.
//!
//! ```
//! use pusher_protocol::webhook::{WebhookEvent, WebhookVerifier};
//! use pusher_protocol::Credentials;
//!
//! let credentials = Credentials::new("key", "secret")?;
//! let body = br#"{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"private-chat"}]}"#;
//! let signature = credentials.sign_hex(body); // what Pusher sends in X-Pusher-Signature
//!
//! // Webhooks more than 5 minutes old are refused by default; this one is from 2023.
//! let sent = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_000);
//! let webhook = WebhookVerifier::new(credentials).verify_at("key", &signature, body, sent)?;
//! let [WebhookEvent::ChannelOccupied { channel, .. }] = webhook.events() else {
//!     panic!("one channel_occupied event");
//! };
//! assert_eq!(channel.as_str(), "private-chat"); // a validated ChannelName
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::credentials::Credentials;
use crate::names::{ChannelName, SocketId, UserId};

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// `X-Pusher-Key` is not this app's key.
    #[error("X-Pusher-Key does not match the app key")]
    WrongKey,
    /// `X-Pusher-Signature` is not 64 hex digits.
    #[error("X-Pusher-Signature is not a 64-digit hex HMAC-SHA256")]
    MalformedSignature,
    /// The signature does not match the body.
    #[error("X-Pusher-Signature does not match the body")]
    BadSignature,
    /// The signed body is not a webhook: `{"time_ms": N, "events": [...]}`.
    #[error("the webhook body is invalid: {0}")]
    InvalidBody(String),
    /// `time_ms` is further from now than the verifier's maximum age.
    #[error("the webhook is {age_ms} ms from now; at most {max_ms} ms are allowed")]
    #[non_exhaustive]
    Expired {
        /// How far `time_ms` is from now, in milliseconds.
        age_ms: u64,
        /// The maximum allowed.
        max_ms: u64,
    },
}

impl WebhookError {
    /// A stable code for logs and error bodies: `wrong_key`, `malformed_signature`,
    /// `bad_signature`, `invalid_body`, `expired`.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::WrongKey => "wrong_key",
            WebhookError::MalformedSignature => "malformed_signature",
            WebhookError::BadSignature => "bad_signature",
            WebhookError::InvalidBody(_) => "invalid_body",
            WebhookError::Expired { .. } => "expired",
        }
    }
}

/// One event of a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookEvent {
    /// A channel gained its first subscriber.
    #[non_exhaustive]
    ChannelOccupied {
        /// The channel.
        channel: ChannelName,
    },
    /// A channel lost its last subscriber.
    #[non_exhaustive]
    ChannelVacated {
        /// The channel.
        channel: ChannelName,
    },
    /// A user joined a presence channel.
    #[non_exhaustive]
    MemberAdded {
        /// The channel.
        channel: ChannelName,
        /// The member's user id.
        user_id: UserId,
    },
    /// A user left a presence channel.
    #[non_exhaustive]
    MemberRemoved {
        /// The channel.
        channel: ChannelName,
        /// The member's user id.
        user_id: UserId,
    },
    /// A client sent an event (`client-…`) on a private or presence channel.
    #[non_exhaustive]
    ClientEvent {
        /// The channel.
        channel: ChannelName,
        /// The event name.
        event: String,
        /// The event's data, as sent (JSON text for non-string data).
        data: String,
        /// The sender's socket id.
        socket_id: SocketId,
        /// The sender's user id (presence channels only).
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    /// A client subscribed to a cache channel that has no cached event.
    #[non_exhaustive]
    CacheMiss {
        /// The channel.
        channel: ChannelName,
    },
    /// A channel's subscriber count changed.
    #[non_exhaustive]
    SubscriptionCount {
        /// The channel.
        channel: ChannelName,
        /// The number of subscribers.
        subscription_count: u64,
    },
    /// An event this crate does not know, kept whole; also a known event whose fields do not
    /// have the documented shape (a field missing, a channel name this crate does not accept),
    /// so that one odd event never costs the rest of a signed batch. [`UnknownEvent::reason`]
    /// tells the two apart.
    #[serde(untagged)]
    Unknown(UnknownEvent),
}

/// A webhook event kept as it came: of a kind this crate does not know, or of a known kind
/// whose fields did not parse. Serializes back to its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UnknownEvent {
    fields: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    reason: Option<String>,
}

impl UnknownEvent {
    /// The event's `name`, if it has one that is a string.
    pub fn name(&self) -> Option<&str> {
        self.fields.get("name").and_then(serde_json::Value::as_str)
    }

    /// Every field, as sent.
    pub fn fields(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.fields
    }

    /// Every field, by value.
    pub fn into_fields(self) -> serde_json::Map<String, serde_json::Value> {
        self.fields
    }

    /// `None` for a kind this crate does not know; for a known kind, why its fields did not
    /// parse (`member_added: user_id is missing or invalid`).
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

impl WebhookEvent {
    /// The channel the event is about (`None` for an event this crate does not know).
    pub fn channel(&self) -> Option<&ChannelName> {
        match self {
            WebhookEvent::ChannelOccupied { channel, .. }
            | WebhookEvent::ChannelVacated { channel, .. }
            | WebhookEvent::MemberAdded { channel, .. }
            | WebhookEvent::MemberRemoved { channel, .. }
            | WebhookEvent::ClientEvent { channel, .. }
            | WebhookEvent::CacheMiss { channel, .. }
            | WebhookEvent::SubscriptionCount { channel, .. } => Some(channel),
            WebhookEvent::Unknown(_) => None,
        }
    }

    /// The channel's typed parameters, when the event is about a channel of definition `C`
    /// (see [`crate::channel`]): `member_added` on `presence-team.3` gives team 3.
    pub fn channel_of<C: crate::channel::Channel>(&self) -> Option<C> {
        self.channel().and_then(C::parse)
    }
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    time_ms: u64,
    events: Vec<WebhookEvent>,
}

impl Webhook {
    /// When Pusher sent the webhook, in milliseconds since the Unix epoch.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The events, in order.
    pub fn events(&self) -> &[WebhookEvent] {
        &self.events
    }

    /// The events, by value.
    pub fn into_events(self) -> Vec<WebhookEvent> {
        self.events
    }
}

/// Verifies and parses webhooks for one app.
///
/// The key is compared in constant time, and the signature is decoded and compared with the
/// HMAC of the raw body in constant time (`hmac`'s `verify_slice`, built on `subtle`).
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    credentials: Credentials,
    max_age: Option<Duration>,
}

impl WebhookVerifier {
    /// The default maximum age: 5 minutes, as the Python SDK checks and as long as Pusher
    /// retries a failed webhook.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

    /// A verifier for the app with these credentials, refusing webhooks whose `time_ms` is
    /// more than [`WebhookVerifier::DEFAULT_MAX_AGE`] from now (a replayed capture is refused
    /// once it is that old).
    pub fn new(credentials: Credentials) -> Self {
        WebhookVerifier {
            credentials,
            max_age: Some(Self::DEFAULT_MAX_AGE),
        }
    }

    /// Refuses webhooks whose `time_ms` is further than `max_age` from now, either way.
    /// Pusher retries failed webhooks for up to 5 minutes, so a shorter window refuses genuine
    /// retries.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Accepts webhooks of any age (for replaying stored webhooks; not for a public route).
    #[must_use]
    pub fn without_max_age(mut self) -> Self {
        self.max_age = None;
        self
    }

    /// The maximum age, if any.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// Verifies `X-Pusher-Key` (`key`) and `X-Pusher-Signature` (`signature`) against the raw
    /// `body`, then parses it.
    pub fn verify(&self, key: &str, signature: &str, body: &[u8]) -> Result<Webhook, WebhookError> {
        self.verify_at(key, signature, body, SystemTime::now())
    }

    /// Like [`WebhookVerifier::verify`], with the current time given.
    pub fn verify_at(
        &self,
        key: &str,
        signature: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Webhook, WebhookError> {
        if !bool::from(key.as_bytes().ct_eq(self.credentials.key().as_bytes())) {
            return Err(WebhookError::WrongKey);
        }
        let tag: [u8; 32] = crate::hex::decode_array(signature.trim_matches([' ', '\t']))
            .ok_or(WebhookError::MalformedSignature)?;
        let mut mac = self.credentials.mac();
        mac.update(body);
        mac.verify_slice(&tag)
            .map_err(|_| WebhookError::BadSignature)?;
        let webhook = parse(body)?;
        if let Some(max) = self.max_age {
            let now_ms = now
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let age_ms = now_ms.abs_diff(webhook.time_ms);
            let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
            if age_ms > max_ms {
                return Err(WebhookError::Expired { age_ms, max_ms });
            }
        }
        Ok(webhook)
    }
}

#[derive(Deserialize)]
struct RawBody {
    time_ms: u64,
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn parse(body: &[u8]) -> Result<Webhook, WebhookError> {
    let raw: RawBody =
        serde_json::from_slice(body).map_err(|e| WebhookError::InvalidBody(e.to_string()))?;
    // A signed body is Pusher's word: an event that does not fit its known shape is kept
    // whole rather than refusing the batch (a refusal would be retried, and lose the rest).
    let events = raw
        .events
        .into_iter()
        .map(|e| match event(&e) {
            Ok(typed) => typed,
            Err(reason) => WebhookEvent::Unknown(UnknownEvent { fields: e, reason }),
        })
        .collect();
    Ok(Webhook {
        time_ms: raw.time_ms,
        events,
    })
}

type Fields = serde_json::Map<String, serde_json::Value>;

/// The typed event, or why it stays unknown: `Err(None)` for a kind this crate does not know,
/// `Err(Some(reason))` for a known kind whose fields do not parse.
fn event(fields: &Fields) -> Result<WebhookEvent, Option<String>> {
    let Some(name) = fields.get("name").and_then(serde_json::Value::as_str) else {
        return Err(Some("`name` is missing or not a string".into()));
    };
    let known = [
        "channel_occupied",
        "channel_vacated",
        "member_added",
        "member_removed",
        "client_event",
        "cache_miss",
        "subscription_count",
    ];
    if !known.contains(&name) {
        return Err(None);
    }
    let odd = |field: &str| Some(format!("{name}: `{field}` is missing or invalid"));
    let text = |field: &str| match fields.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        _ => Err(odd(field)),
    };
    let channel = || ChannelName::new(text("channel")?).map_err(|e| Some(format!("{name}: {e}")));
    // User ids are strings on the wire; a number is accepted and kept as its decimal text.
    let user_id = |field: &str| -> Result<Option<UserId>, Option<String>> {
        let id = match fields.get(field) {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(_) => return Err(odd(field)),
        };
        UserId::new(id)
            .map(Some)
            .map_err(|e| Some(format!("{name}: {e}")))
    };
    let required_user = |field: &str| user_id(field)?.ok_or_else(|| odd(field));
    Ok(match name {
        "channel_occupied" => WebhookEvent::ChannelOccupied {
            channel: channel()?,
        },
        "channel_vacated" => WebhookEvent::ChannelVacated {
            channel: channel()?,
        },
        "member_added" => WebhookEvent::MemberAdded {
            channel: channel()?,
            user_id: required_user("user_id")?,
        },
        "member_removed" => WebhookEvent::MemberRemoved {
            channel: channel()?,
            user_id: required_user("user_id")?,
        },
        "client_event" => WebhookEvent::ClientEvent {
            channel: channel()?,
            event: text("event")?,
            data: match fields.get("data") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return Err(odd("data")),
            },
            socket_id: SocketId::new(text("socket_id")?)
                .map_err(|e| Some(format!("{name}: {e}")))?,
            user_id: user_id("user_id")?,
        },
        "cache_miss" => WebhookEvent::CacheMiss {
            channel: channel()?,
        },
        _ => WebhookEvent::SubscriptionCount {
            channel: channel()?,
            subscription_count: fields
                .get("subscription_count")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| odd("subscription_count"))?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> WebhookVerifier {
        WebhookVerifier::new(Credentials::new("key", "secret").unwrap()).without_max_age()
    }

    fn sig(body: &[u8]) -> String {
        Credentials::new("key", "secret").unwrap().hmac_hex(body)
    }

    #[test]
    fn all_kinds_parse() {
        let body = br#"{"time_ms":5,"events":[
            {"name":"channel_occupied","channel":"a"},
            {"name":"channel_vacated","channel":"a"},
            {"name":"member_added","channel":"presence-a","user_id":"u1"},
            {"name":"member_removed","channel":"presence-a","user_id":7},
            {"name":"client_event","channel":"private-a","event":"client-x","data":"{\"k\":1}","socket_id":"1.2"},
            {"name":"client_event","channel":"presence-a","event":"client-x","data":{"k":1},"socket_id":"1.2","user_id":"u"},
            {"name":"cache_miss","channel":"cache-a"},
            {"name":"subscription_count","channel":"a","subscription_count":5},
            {"name":"something_new","channel":"a","extra":[1]}
        ]}"#;
        let w = verifier().verify("key", &sig(body), body).unwrap();
        assert_eq!(w.time_ms(), 5);
        assert_eq!(w.events().len(), 9);
        assert_eq!(
            w.events()[3],
            WebhookEvent::MemberRemoved {
                channel: "presence-a".parse().unwrap(),
                user_id: "7".parse().unwrap()
            }
        );
        assert!(
            matches!(&w.events()[5], WebhookEvent::ClientEvent { data, user_id: Some(u), .. } if data == r#"{"k":1}"# && u == "u")
        );
        assert_eq!(
            w.events()[7],
            WebhookEvent::SubscriptionCount {
                channel: "a".parse().unwrap(),
                subscription_count: 5
            }
        );
        assert!(
            matches!(&w.events()[8], WebhookEvent::Unknown(u) if u.fields()["extra"] == serde_json::json!([1]) && u.reason().is_none() && u.name() == Some("something_new"))
        );
        // Serializing an event gives back the wire form.
        assert_eq!(
            serde_json::to_value(&w.events()[2]).unwrap(),
            serde_json::json!({"name":"member_added","channel":"presence-a","user_id":"u1"})
        );
    }

    #[test]
    fn refusals() {
        let body = br#"{"time_ms":5,"events":[]}"#;
        let good = sig(body);
        assert_eq!(
            verifier().verify("other", &good, body).unwrap_err(),
            WebhookError::WrongKey
        );
        assert_eq!(
            verifier().verify("key", "zz", body).unwrap_err(),
            WebhookError::MalformedSignature
        );
        assert_eq!(
            verifier().verify("key", &good[1..], body).unwrap_err(),
            WebhookError::MalformedSignature
        );
        assert_eq!(
            verifier()
                .verify("key", &format!("{}é", &good[..63]), body)
                .unwrap_err(),
            WebhookError::MalformedSignature
        );
        let mut flipped = good.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            verifier()
                .verify("key", std::str::from_utf8(&flipped).unwrap(), body)
                .unwrap_err(),
            WebhookError::BadSignature
        );
        assert_eq!(
            verifier()
                .verify("key", &good.to_uppercase(), body)
                .unwrap()
                .events()
                .len(),
            0
        );
        // Spaces and tabs around the tag (what RFC 9110 lets a field value carry) are
        // accepted; other whitespace (a line break, U+00A0, U+3000) is not a tag.
        for padded in [format!(" {good}\t"), format!("\t{good}  ")] {
            assert!(
                verifier().verify("key", &padded, body).is_ok(),
                "{padded:?}"
            );
        }
        for odd in [
            format!("{good}\r\n"),
            format!("\u{a0}{good}"),
            format!("{good}\u{3000}"),
        ] {
            assert_eq!(
                verifier().verify("key", &odd, body).unwrap_err(),
                WebhookError::MalformedSignature,
                "{odd:?}"
            );
        }
        for bad in [
            &b"not json"[..],
            b"{}",
            br#"{"time_ms":"5","events":[]}"#,
            br#"{"time_ms":5,"events":[7]}"#,
        ] {
            let err = verifier().verify("key", &sig(bad), bad).unwrap_err();
            assert_eq!(
                err.code(),
                "invalid_body",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn odd_events_are_kept_whole_and_the_rest_still_parse() {
        let long = "a".repeat(300);
        let body = format!(
            r#"{{"time_ms":5,"events":[
            {{"channel":"a"}},
            {{"name":"subscription_count","channel":"a","subscription_count":-1}},
            {{"name":"member_added","channel":"presence-a"}},
            {{"name":"channel_occupied","channel":"{long}"}},
            {{"name":"client_event","channel":"private-a","event":"client-x","data":"1","socket_id":"nope"}},
            {{"name":"channel_vacated","channel":"a"}}
        ]}}"#
        );
        let w = verifier()
            .verify("key", &sig(body.as_bytes()), body.as_bytes())
            .unwrap();
        assert_eq!(w.events().len(), 6);
        for (i, e) in w.events()[..5].iter().enumerate() {
            assert!(
                matches!(e, WebhookEvent::Unknown(u) if u.reason().is_some()),
                "event {i}: {e:?}"
            );
        }
        assert_eq!(
            w.events()[5],
            WebhookEvent::ChannelVacated {
                channel: "a".parse().unwrap()
            }
        );
        // Kept whole: the odd event's fields are all there.
        assert!(
            matches!(&w.events()[3], WebhookEvent::Unknown(u) if u.fields()["channel"] == serde_json::json!(long))
        );
    }

    #[test]
    fn max_age_defaults_to_five_minutes() {
        let body = br#"{"time_ms":1000000,"events":[]}"#;
        let v = WebhookVerifier::new(Credentials::new("key", "secret").unwrap());
        assert_eq!(v.max_age(), Some(Duration::from_secs(300)));
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert!(v
            .verify_at("key", &sig(body), body, at(1_000_000 + 300_000))
            .is_ok());
        assert!(v
            .verify_at("key", &sig(body), body, at(1_000_000 - 300_000))
            .is_ok());
        assert_eq!(
            v.verify_at("key", &sig(body), body, at(1_000_000 + 300_001))
                .unwrap_err(),
            WebhookError::Expired {
                age_ms: 300_001,
                max_ms: 300_000
            }
        );
    }
}
