//! Helpers for testing apps that answer Pusher auth requests (feature `testing`, which every
//! adapter crate forwards): check an endpoint's answers as a Pusher server would (from
//! [`pusher_protocol::testing`]), make socket ids, build signed webhook requests, and a
//! permissive [`AllowPrivate`] authorizer.
//!
//! ```
//! use pusher_auth::testing::{socket_id, verify_channel_auth};
//! use pusher_auth::Credentials;
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

use std::convert::Infallible;

pub use pusher_protocol::testing::{
    socket_id, verify_channel_auth, verify_user_auth, webhook_signature, SignedWebhook,
    VerifiedChannelAuth, VerifyError,
};

use crate::authorizer::{Authorizer, ChannelDecision, ChannelRequest};
use crate::ChannelKind;

/// An authorizer that allows every private and encrypted channel and denies presence channels
/// (it has no member to admit): for tests and benchmarks, never for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowPrivate;

impl Authorizer<()> for AllowPrivate {
    type Error = Infallible;

    async fn authorize(
        &self,
        (): (),
        request: ChannelRequest,
    ) -> Result<ChannelDecision, Infallible> {
        Ok(match request.channel().kind() {
            ChannelKind::Presence => {
                ChannelDecision::deny("AllowPrivate does not admit presence members")
            }
            _ => ChannelDecision::Allow,
        })
    }
}

/// A webhook request as a Pusher server sends it now to `path`: signed with `credentials`,
/// current (so the endpoints' 5-minute window accepts it), carrying `events`. For the app's
/// own webhook tests, under any adapter.
///
/// ```
/// use pusher_auth::testing::webhook_request;
/// use pusher_auth::Credentials;
///
/// let credentials = Credentials::new("key", "secret")?;
/// let request = webhook_request(&credentials, "/pusher/webhooks", [serde_json::json!({
///     "name": "channel_occupied", "channel": "presence-lobby",
/// })]);
/// assert_eq!(request.headers()["x-pusher-key"], "key");
/// # Ok::<(), pusher_auth::ConfigError>(())
/// ```
///
/// # Panics
///
/// When `path` is not a valid request path.
#[track_caller]
#[allow(clippy::panic)]
pub fn webhook_request(
    credentials: &crate::Credentials,
    path: &str,
    events: impl IntoIterator<Item = serde_json::Value>,
) -> http::Request<String> {
    let webhook = SignedWebhook::now(credentials, events);
    let mut request = http::Request::new(webhook.body().to_owned());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = match path.parse() {
        Ok(uri) => uri,
        Err(e) => panic!("webhook_request: `{path}` is not a request path: {e}"),
    };
    for (name, value) in webhook.headers() {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            request
                .headers_mut()
                .insert(http::HeaderName::from_static(name), value);
        }
    }
    request
}
