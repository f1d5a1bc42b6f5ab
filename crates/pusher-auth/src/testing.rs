//! Helpers for testing apps that answer Pusher auth requests (feature `testing`): check an
//! endpoint's answers as a Pusher server would (from [`pusher_protocol::testing`]), make socket
//! ids, sign webhook bodies, and a permissive [`AllowPrivate`] authorizer.
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
    socket_id, verify_channel_auth, verify_user_auth, webhook_signature, VerifiedChannelAuth,
    VerifyError,
};

use crate::authorizer::{Authorizer, ChannelDecision, ChannelRequest};
use crate::ChannelKind;

/// An authorizer that allows every private and encrypted channel and denies presence channels
/// and sign-in: for tests and benchmarks, never for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowPrivate;

impl Authorizer for AllowPrivate {
    type Error = Infallible;

    async fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, Infallible> {
        Ok(match request.channel().kind() {
            ChannelKind::Presence => {
                ChannelDecision::deny("AllowPrivate does not admit presence members")
            }
            _ => ChannelDecision::Allow,
        })
    }

    fn signs_in(&self) -> bool {
        false
    }
}
