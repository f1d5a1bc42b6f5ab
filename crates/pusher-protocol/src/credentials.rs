//! App credentials: key, secret and the optional encryption master key.
//!
//! ```
//! use pusher_protocol::Credentials;
//!
//! let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?
//!     .with_app_id("1234")?
//!     .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")?;
//! assert_eq!(credentials.key(), "278d425bdf160c739803");
//!
//! // The secret and master key never appear in `Debug` output.
//! let shown = format!("{credentials:?}");
//! assert!(!shown.contains("7ad3773142a6692b25b8"));
//!
//! // The same from a PUSHER_URL-style URL.
//! let from_url = Credentials::from_url("http://278d425bdf160c739803:7ad3773142a6692b25b8@api.pusherapp.com/apps/1234")?;
//! assert_eq!(from_url.app_id(), Some("1234"));
//! # Ok::<(), pusher_protocol::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::names::{ChannelKind, ChannelName, SocketId};
use crate::sign::{
    check_presence, ChannelAuth, ChannelData, SerializedUserData, SignError, UserAuth,
};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An invalid configuration, reported when the [`Credentials`] are built, never later.
///
/// Messages never contain the secret or the master key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required value is empty.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// The app key contains a character that cannot appear in an auth string.
    #[error("app key must not contain `:` or whitespace")]
    InvalidKey,
    /// The app id contains a character that cannot appear in a REST path.
    #[error("app id must not contain `/`, `?`, `#` or whitespace")]
    InvalidAppId,
    /// The encryption master key is not valid base64.
    #[error("encryption master key is not valid base64")]
    MasterKeyNotBase64,
    /// The encryption master key does not decode to 32 bytes.
    #[error("encryption master key must decode to exactly 32 bytes, not {0}")]
    MasterKeyLength(usize),
    /// The `PUSHER_URL`-style URL is not of the form `http(s)://KEY:SECRET@HOST/apps/APP_ID`.
    #[error("invalid Pusher URL: {0}")]
    InvalidUrl(&'static str),
    /// A required environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingVariable(&'static str),
    /// An environment variable is set but is not valid Unicode.
    #[error("environment variable {0} is not valid Unicode")]
    VariableNotUnicode(&'static str),
}

/// A Pusher app's credentials, with the HMAC keyed once.
///
/// Cloning is cheap (one reference count). The secret itself is not kept: only the keyed HMAC
/// state is, and every signature starts from a copy of it.
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    app_id: Option<String>,
    key: String,
    /// The key has no character JSON escapes (so neither has an auth string).
    key_is_plain: bool,
    mac: HmacSha256,
    master_key: Option<[u8; 32]>,
}

impl Credentials {
    /// Credentials from an app key and secret.
    ///
    /// The key may not be empty or contain `:` (it prefixes the auth string `KEY:SIGNATURE`);
    /// the secret may not be empty.
    pub fn new(key: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let key = key.into();
        let secret = secret.as_ref();
        if key.is_empty() {
            return Err(ConfigError::Empty("app key"));
        }
        if key
            .bytes()
            .any(|b| b == b':' || b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(ConfigError::InvalidKey);
        }
        if secret.is_empty() {
            return Err(ConfigError::Empty("app secret"));
        }
        let mac =
            HmacSha256::new_from_slice(secret).map_err(|_| ConfigError::Empty("app secret"))?;
        Ok(Credentials {
            inner: Arc::new(Inner {
                app_id: None,
                key_is_plain: !key.bytes().any(|b| b == b'"' || b == b'\\'),
                key,
                mac,
                master_key: None,
            }),
        })
    }

    /// Sets the app id (needed for REST calls, not for authorization).
    pub fn with_app_id(mut self, app_id: impl Into<String>) -> Result<Self, ConfigError> {
        let app_id = app_id.into();
        if app_id.is_empty() {
            return Err(ConfigError::Empty("app id"));
        }
        if app_id.bytes().any(|b| {
            matches!(b, b'/' | b'?' | b'#') || b.is_ascii_whitespace() || b.is_ascii_control()
        }) {
            return Err(ConfigError::InvalidAppId);
        }
        Arc::make_mut(&mut self.inner).app_id = Some(app_id);
        Ok(self)
    }

    /// Sets the encryption master key for `private-encrypted-` channels, given as base64 that
    /// decodes to exactly 32 bytes (Pusher's `encryptionMasterKeyBase64`).
    ///
    /// ```
    /// # use pusher_protocol::{Credentials, ConfigError};
    /// let c = Credentials::new("key", "secret")?;
    /// assert_eq!(c.clone().with_encryption_master_key_base64("c2hvcnQ=").unwrap_err(), ConfigError::MasterKeyLength(5));
    /// assert!(c.with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=").is_ok());
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn with_encryption_master_key_base64(mut self, key: &str) -> Result<Self, ConfigError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| ConfigError::MasterKeyNotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ConfigError::MasterKeyLength(bytes.len()))?;
        Arc::make_mut(&mut self.inner).master_key = Some(key);
        Ok(self)
    }

    /// Credentials from a `PUSHER_URL`-style URL: `http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID`.
    ///
    /// Key and secret may be percent-encoded. Only the credentials are read; the host is the
    /// REST client's business.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or(ConfigError::InvalidUrl(
                "scheme must be http:// or https://",
            ))?;
        let (authority, path) = rest
            .split_once('/')
            .ok_or(ConfigError::InvalidUrl("path /apps/APP_ID is missing"))?;
        let (userinfo, host) = authority.rsplit_once('@').ok_or(ConfigError::InvalidUrl(
            "KEY:SECRET@ is missing before the host",
        ))?;
        if host.is_empty() {
            return Err(ConfigError::InvalidUrl("host is empty"));
        }
        let (key, secret) = userinfo.split_once(':').ok_or(ConfigError::InvalidUrl(
            "KEY:SECRET must be separated by `:`",
        ))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
        };
        let key = decode(key).map_err(|_| ConfigError::InvalidUrl("key is not valid UTF-8"))?;
        let secret =
            decode(secret).map_err(|_| ConfigError::InvalidUrl("secret is not valid UTF-8"))?;
        let app_id = path
            .strip_prefix("apps/")
            .map(|p| p.trim_end_matches('/'))
            .filter(|p| !p.is_empty() && !p.contains('/'))
            .ok_or(ConfigError::InvalidUrl("path must be /apps/APP_ID"))?;
        Credentials::new(key, secret)?.with_app_id(app_id)
    }

    /// Credentials from the environment.
    ///
    /// Reads `PUSHER_URL` if set; otherwise `PUSHER_KEY` and `PUSHER_SECRET` (required) and
    /// `PUSHER_APP_ID` (optional). `PUSHER_ENCRYPTION_MASTER_KEY_BASE64` is read in both cases.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::var)
    }

    /// Like [`Credentials::from_env`], reading variables through `get`, which has the shape
    /// of [`std::env::var`] (for tests and other configuration sources). Values are trimmed;
    /// an empty one counts as unset.
    ///
    /// ```
    /// use std::env::VarError;
    /// use pusher_protocol::Credentials;
    ///
    /// let credentials = Credentials::from_vars(|name| match name {
    ///     "PUSHER_URL" => Ok("http://key:secret@api-eu.pusher.com/apps/42".into()),
    ///     _ => Err(VarError::NotPresent),
    /// })?;
    /// assert_eq!((credentials.key(), credentials.app_id()), ("key", Some("42")));
    /// # Ok::<(), pusher_protocol::ConfigError>(())
    /// ```
    pub fn from_vars(
        get: impl Fn(&'static str) -> Result<String, std::env::VarError>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name) {
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(ConfigError::VariableNotUnicode(name))
                }
                Ok(v) if v.trim().is_empty() => Ok(None),
                Ok(v) => Ok(Some(v.trim().to_owned())),
            }
        };
        let credentials = if let Some(url) = var("PUSHER_URL")? {
            Credentials::from_url(&url)?
        } else {
            let key = var("PUSHER_KEY")?.ok_or(ConfigError::MissingVariable("PUSHER_KEY"))?;
            let secret =
                var("PUSHER_SECRET")?.ok_or(ConfigError::MissingVariable("PUSHER_SECRET"))?;
            let credentials = Credentials::new(key, secret)?;
            match var("PUSHER_APP_ID")? {
                Some(id) => credentials.with_app_id(id)?,
                None => credentials,
            }
        };
        match var("PUSHER_ENCRYPTION_MASTER_KEY_BASE64")? {
            Some(master) => credentials.with_encryption_master_key_base64(&master),
            None => Ok(credentials),
        }
    }

    /// The app key, which prefixes every auth string.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The app id, if one was set.
    pub fn app_id(&self) -> Option<&str> {
        self.inner.app_id.as_deref()
    }

    /// Whether an encryption master key is set, so `private-encrypted-` channels can be
    /// authorized.
    pub fn has_encryption_master_key(&self) -> bool {
        self.inner.master_key.is_some()
    }

    /// A copy of the keyed HMAC state, ready for `update`.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.inner.mac.clone()
    }

    pub(crate) fn master_key(&self) -> Option<&[u8; 32]> {
        self.inner.master_key.as_ref()
    }

    /// Lowercase hex HMAC-SHA256 of `message` under the app secret, as every Pusher signature
    /// uses (auth strings, webhooks, REST requests).
    pub(crate) fn hmac_hex(&self, message: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(message);
        let mut out = String::with_capacity(64);
        crate::hex::push_hex32(&mut out, &mac.finalize().into_bytes().into());
        out
    }

    /// Lowercase hex HMAC-SHA256 of `message` under the app secret, as every Pusher signature
    /// uses (auth strings, webhooks, REST requests): for tests that play the Pusher server
    /// (feature `testing`). Apps never need a raw signature under their secret; the typed
    /// methods sign exactly what the protocol asks for.
    ///
    /// ```
    /// # use pusher_protocol::Credentials;
    /// let c = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?;
    /// assert_eq!(
    ///     c.sign_hex(b"1234.1234:private-foobar"),
    ///     "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
    /// );
    /// # Ok::<(), pusher_protocol::ConfigError>(())
    /// ```
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    pub fn sign_hex(&self, message: &[u8]) -> String {
        self.hmac_hex(message)
    }
}

/// Signing: the answers an auth endpoint gives (see the [`sign`](crate::sign) module).
impl Credentials {
    /// `KEY:HEX(HMAC(secret, parts…))`.
    fn auth_string(&self, parts: &[&[u8]]) -> String {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        let tag = mac.finalize().into_bytes();
        let key = self.key();
        // Room for the JSON around it (`ChannelAuth::into_json`), so answering needs no
        // further allocation.
        let mut out = String::with_capacity(key.len() + 1 + 64 + 12);
        out.push_str(key);
        out.push(':');
        crate::hex::push_hex32(&mut out, &tag.into());
        out
    }

    /// `{"auth"}` over `SOCKET_ID:CHANNEL`, with no kind check.
    fn sign_plain(&self, socket_id: &SocketId, channel: &ChannelName) -> ChannelAuth {
        let auth = self.auth_string(&[
            socket_id.as_str().as_bytes(),
            b":",
            channel.as_str().as_bytes(),
        ]);
        ChannelAuth {
            auth,
            auth_is_plain: self.inner.key_is_plain,
            channel_data: None,
            shared_secret: None,
        }
    }

    /// Authorizes a `private-` or `private-encrypted-` channel: signs `SOCKET_ID:CHANNEL`.
    ///
    /// For `private-encrypted-` channels the answer carries the channel's `shared_secret`, which
    /// needs an encryption master key. Presence channels need [`Credentials::authorize_presence`];
    /// public channels need no authorization. Either is a [`SignError::KindMismatch`].
    pub fn authorize_channel(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
    ) -> Result<ChannelAuth, SignError> {
        let shared_secret = match channel.kind() {
            ChannelKind::Private => None,
            ChannelKind::PrivateEncrypted => Some(self.shared_secret(channel)?),
            kind @ ChannelKind::Presence => {
                return Err(SignError::KindMismatch {
                    channel: channel.clone(),
                    kind,
                    hint: "authorize it with member data (authorize_presence)",
                })
            }
            kind @ ChannelKind::Public => {
                return Err(SignError::KindMismatch {
                    channel: channel.clone(),
                    kind,
                    hint: "public channels need no authorization",
                })
            }
        };
        let mut answer = self.sign_plain(socket_id, channel);
        answer.shared_secret = shared_secret;
        Ok(answer)
    }

    /// Authorizes a `presence-` channel for a member: signs
    /// `SOCKET_ID:CHANNEL:CHANNEL_DATA` and returns the same `channel_data` bytes.
    ///
    /// ```
    /// # use pusher_protocol::{Credentials, PresenceMember, UserId};
    /// let credentials = Credentials::new("key", "secret")?;
    /// let member = PresenceMember::new(UserId::from(7u32)).with_info(serde_json::json!({"name": "Ann"}));
    /// let answer = credentials.authorize_presence(&"1.2".parse()?, &"presence-room".parse()?, &member.to_channel_data()?)?;
    /// assert_eq!(answer.channel_data(), Some(r#"{"user_id":"7","user_info":{"name":"Ann"}}"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize_presence(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
        data: &ChannelData,
    ) -> Result<ChannelAuth, SignError> {
        check_presence(channel)?;
        let channel_data = data.as_str();
        let auth = self.auth_string(&[
            socket_id.as_str().as_bytes(),
            b":",
            channel.as_str().as_bytes(),
            b":",
            channel_data.as_bytes(),
        ]);
        Ok(ChannelAuth {
            auth,
            auth_is_plain: self.inner.key_is_plain,
            channel_data: Some(channel_data.to_owned()),
            shared_secret: None,
        })
    }

    /// Authorizes a `presence-` channel for a connection that signed in (`pusher.signin()`):
    /// signs `SOCKET_ID:CHANNEL` and sends no `channel_data`, so the Pusher server takes the
    /// member from the sign-in (pusher-js 7.4 and later). A connection that has not signed in
    /// is refused by the server.
    pub fn authorize_signed_in_member(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
    ) -> Result<ChannelAuth, SignError> {
        check_presence(channel)?;
        Ok(self.sign_plain(socket_id, channel))
    }

    /// Signs a user sign-in (`pusher:signin`): `SOCKET_ID::user::USER_DATA`. The name is the
    /// official SDKs' (`authenticateUser`, `authenticate_user`); pusher-js calls it
    /// `signin()` and `userAuthentication`.
    ///
    /// ```
    /// # use pusher_protocol::{Credentials, UserData, UserId};
    /// let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?;
    /// let user = UserData::new(UserId::new("12345")?).to_user_data()?;
    /// let answer = credentials.authenticate_user(&"1234.1234".parse()?, &user);
    /// assert_eq!(answer.auth(), "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "signin")]
    #[doc(alias = "sign_in")]
    pub fn authenticate_user(&self, socket_id: &SocketId, user: &SerializedUserData) -> UserAuth {
        let user_data = user.as_str();
        let auth = self.auth_string(&[
            socket_id.as_str().as_bytes(),
            b"::user::",
            user_data.as_bytes(),
        ]);
        UserAuth {
            auth,
            user_data: user_data.to_owned(),
        }
    }

    /// The end-to-end encryption secret of `channel`:
    /// `base64(SHA-256(channel_name ‖ master_key))`, as every official SDK computes it.
    ///
    /// ```
    /// # use pusher_protocol::Credentials;
    /// let c = Credentials::new("f00d", "tofu")?
    ///     .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")?;
    /// let secret = c.shared_secret(&"private-encrypted-bla".parse()?)?;
    /// assert_eq!(secret, "nlr49ISQHz91yS3cy/yWmW8wFMNeTnNL5tNHnbPJcLQ=");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shared_secret(&self, channel: &ChannelName) -> Result<String, SignError> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.shared_secret_bytes(channel)?))
    }

    /// The raw 32 bytes behind [`Credentials::shared_secret`]: the secretbox key of an
    /// encrypted channel's payloads.
    pub fn shared_secret_bytes(&self, channel: &ChannelName) -> Result<[u8; 32], SignError> {
        let master = self
            .master_key()
            .ok_or_else(|| SignError::NoMasterKey(channel.clone()))?;
        Ok(Sha256::new()
            .chain_update(channel.as_str().as_bytes())
            .chain_update(master)
            .finalize()
            .into())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.inner.app_id)
            .field("key", &self.inner.key)
            .field("secret", &"<redacted>")
            .field(
                "encryption_master_key",
                &self.inner.master_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn rejects_bad_configuration() {
        assert_eq!(
            Credentials::new("", "s").unwrap_err(),
            ConfigError::Empty("app key")
        );
        assert_eq!(
            Credentials::new("k", "").unwrap_err(),
            ConfigError::Empty("app secret")
        );
        assert_eq!(
            Credentials::new("a:b", "s").unwrap_err(),
            ConfigError::InvalidKey
        );
        let c = Credentials::new("k", "s").unwrap();
        assert_eq!(
            c.clone().with_app_id("").unwrap_err(),
            ConfigError::Empty("app id")
        );
        assert_eq!(
            c.clone().with_app_id("1/2").unwrap_err(),
            ConfigError::InvalidAppId
        );
        assert_eq!(
            c.clone()
                .with_encryption_master_key_base64("!!")
                .unwrap_err(),
            ConfigError::MasterKeyNotBase64
        );
        // A raw 32-character string is the deprecated form, not base64 of 32 bytes.
        assert_eq!(
            c.with_encryption_master_key_base64("abcdefghijklmnopqrstuvwxyz012345")
                .unwrap_err(),
            ConfigError::MasterKeyLength(24)
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::new("the-key", "the-secret-value")
            .unwrap()
            .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
            .unwrap();
        let s = format!("{c:?} {c:#?}");
        assert!(s.contains("the-key"));
        assert!(!s.contains("the-secret-value"));
        assert!(!s.contains("zyrm8pvV"));
        assert!(s.contains("<redacted>"));
    }

    #[test]
    fn urls() {
        let c = Credentials::from_url("https://k:s%40c@api-eu.pusher.com:443/apps/42/").unwrap();
        assert_eq!(c.app_id(), Some("42"));
        // `%3A` decodes to `:`, which is not allowed in a key.
        assert!(Credentials::from_url("https://k%3Ay:s@h/apps/1").is_err());
        let c = Credentials::from_url("http://key:s%40c@127.0.0.1:6001/apps/app-id").unwrap();
        assert_eq!((c.key(), c.app_id()), ("key", Some("app-id")));
        assert_eq!(
            c.hmac_hex(b"x"),
            Credentials::new("key", "s@c").unwrap().hmac_hex(b"x")
        );
        for bad in [
            "ftp://k:s@h/apps/1",
            "http://k:s@h",
            "http://h/apps/1",
            "http://k@h/apps/1",
            "http://k:s@h/apps/",
            "http://k:s@/apps/1",
            "http://k:s@h/x/1",
        ] {
            assert!(
                matches!(Credentials::from_url(bad), Err(ConfigError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn env_vars() {
        let vars = |pairs: &[(&'static str, &str)]| {
            let map: HashMap<&'static str, String> =
                pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
            move |name: &'static str| map.get(name).cloned().ok_or(std::env::VarError::NotPresent)
        };
        let c = Credentials::from_vars(vars(&[
            ("PUSHER_KEY", "k"),
            ("PUSHER_SECRET", "s"),
            ("PUSHER_APP_ID", "7"),
        ]))
        .unwrap();
        assert_eq!(
            (c.key(), c.app_id(), c.has_encryption_master_key()),
            ("k", Some("7"), false)
        );
        let c = Credentials::from_vars(vars(&[
            ("PUSHER_URL", "http://k2:s@h/apps/8"),
            (
                "PUSHER_ENCRYPTION_MASTER_KEY_BASE64",
                "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=",
            ),
        ]))
        .unwrap();
        assert_eq!(
            (c.key(), c.app_id(), c.has_encryption_master_key()),
            ("k2", Some("8"), true)
        );
        // Trimmed, and blank is unset.
        let c = Credentials::from_vars(vars(&[
            ("PUSHER_KEY", " k\n"),
            ("PUSHER_SECRET", "s "),
            ("PUSHER_APP_ID", "  "),
        ]))
        .unwrap();
        assert_eq!((c.key(), c.app_id()), ("k", None));
        assert_eq!(
            Credentials::from_vars(vars(&[("PUSHER_KEY", "k")])).unwrap_err(),
            ConfigError::MissingVariable("PUSHER_SECRET")
        );
        assert_eq!(
            Credentials::from_vars(|n| Err(if n == "PUSHER_URL" {
                std::env::VarError::NotUnicode("\u{fffd}".into())
            } else {
                std::env::VarError::NotPresent
            }))
            .unwrap_err(),
            ConfigError::VariableNotUnicode("PUSHER_URL")
        );
    }
}
