//! End-to-end encrypted payloads for `private-encrypted-` channels, as pusher-js decrypts them.
//!
//! The key of a channel is `SHA-256(channel name ‖ master key)`
//! ([`Credentials::shared_secret_bytes`]); the payload is sealed with NaCl's `secretbox`
//! (XSalsa20-Poly1305) under a fresh random 24-byte nonce, and the event's `data` becomes
//! `{"nonce":"<base64>","ciphertext":"<base64>"}`. Pusher never sees the plaintext.
//!
//! ```
//! use pusher_rest::encryption::{decrypt, encrypt};
//! use pusher_rest::{ChannelName, Credentials};
//!
//! let credentials = Credentials::new("key", "secret")?
//!     .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")?;
//! let channel: ChannelName = "private-encrypted-chat".parse()?;
//!
//! let data = encrypt(&credentials, &channel, r#"{"text":"hi"}"#)?;
//! assert!(data.starts_with(r#"{"nonce":""#));
//! assert_eq!(decrypt(&credentials, &channel, &data)?, r#"{"text":"hi"}"#);
//!
//! // Another channel has another key.
//! let other: ChannelName = "private-encrypted-other".parse()?;
//! assert!(decrypt(&credentials, &other, &data).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The plaintext is the event data exactly as a plain channel would carry it: JSON text for
//! serialized values, or the caller's string as is. pusher-js decrypts it and then, as for any
//! event, parses it as JSON when it can, so subscribers of encrypted and plain channels see the
//! same value. (The Node SDK instead encrypts `JSON.stringify(data)`, which wraps a string
//! payload in quotes on encrypted channels only.)

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crypto_secretbox::aead::rand_core::RngCore as _;
use crypto_secretbox::aead::{Aead, KeyInit, OsRng};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use pusher_protocol::{ChannelName, Credentials, SignError};
use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// The nonce length of XSalsa20-Poly1305.
pub const NONCE_BYTES: usize = 24;

#[derive(Serialize)]
struct Sealed<'a> {
    nonce: &'a str,
    ciphertext: &'a str,
}

#[derive(Deserialize)]
struct Opened {
    nonce: String,
    ciphertext: String,
}

/// Why an encrypted payload could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// No encryption master key is configured.
    #[error("no encryption master key is configured")]
    NoMasterKey,
    /// The data is not `{"nonce","ciphertext"}` with base64 values and a 24-byte nonce.
    #[error("not an encrypted payload: {0}")]
    Malformed(&'static str),
    /// The ciphertext does not open under this channel's key (wrong channel, wrong master key,
    /// or tampered data).
    #[error("the payload does not decrypt with this channel's key")]
    Rejected,
    /// The plaintext is not UTF-8.
    #[error("the decrypted payload is not UTF-8")]
    NotUtf8,
}

fn key_for(credentials: &Credentials, channel: &ChannelName) -> Result<Key, SignError> {
    credentials.shared_secret_bytes(channel).map(Key::from)
}

/// Encrypts `plaintext` for `channel` under a fresh random nonce and returns the event `data`:
/// `{"nonce":"<base64>","ciphertext":"<base64>"}`.
///
/// Needs an encryption master key in `credentials`. Any channel name is accepted (the key
/// derivation does not look at the prefix); the client calls this for `private-encrypted-`
/// channels only.
pub fn encrypt(
    credentials: &Credentials,
    channel: &ChannelName,
    plaintext: &str,
) -> Result<String, InvalidInput> {
    let key =
        key_for(credentials, channel).map_err(|_| InvalidInput::NoMasterKey(channel.clone()))?;
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|_| InvalidInput::Encryption(channel.clone()))?;
    seal(&key, &nonce, channel, plaintext)
}

fn seal(
    key: &Key,
    nonce: &[u8; NONCE_BYTES],
    channel: &ChannelName,
    plaintext: &str,
) -> Result<String, InvalidInput> {
    let ciphertext = XSalsa20Poly1305::new(key)
        .encrypt(Nonce::from_slice(nonce), plaintext.as_bytes())
        .map_err(|_| InvalidInput::Encryption(channel.clone()))?;
    let nonce = STANDARD.encode(nonce);
    let ciphertext = STANDARD.encode(ciphertext);
    serde_json::to_string(&Sealed {
        nonce: &nonce,
        ciphertext: &ciphertext,
    })
    .map_err(|e| InvalidInput::Serialize(e.to_string()))
}

/// Opens an encrypted payload (`{"nonce","ciphertext"}`) sent on `channel`: what pusher-js
/// does on receipt, and what a server needs to read a client event of an encrypted channel
/// from a webhook.
pub fn decrypt(
    credentials: &Credentials,
    channel: &ChannelName,
    data: &str,
) -> Result<String, DecryptError> {
    let key = key_for(credentials, channel).map_err(|_| DecryptError::NoMasterKey)?;
    let opened: Opened = serde_json::from_str(data)
        .map_err(|_| DecryptError::Malformed("expected {\"nonce\",\"ciphertext\"}"))?;
    let nonce = STANDARD
        .decode(opened.nonce)
        .map_err(|_| DecryptError::Malformed("nonce is not base64"))?;
    let nonce: [u8; NONCE_BYTES] = nonce
        .as_slice()
        .try_into()
        .map_err(|_| DecryptError::Malformed("nonce is not 24 bytes"))?;
    let ciphertext = STANDARD
        .decode(opened.ciphertext)
        .map_err(|_| DecryptError::Malformed("ciphertext is not base64"))?;
    let plaintext = XSalsa20Poly1305::new(&key)
        .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| DecryptError::Rejected)?;
    String::from_utf8(plaintext).map_err(|_| DecryptError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";

    fn creds() -> Credentials {
        Credentials::new("f00d", "tofu")
            .unwrap()
            .with_encryption_master_key_base64(MASTER)
            .unwrap()
    }

    /// A known answer from NaCl itself: the `secretbox` test vector of the NaCl distribution
    /// (`tests/secretbox.c`: "firstkey", "nonce", the 131-byte message), whose ciphertext
    /// starts `f3ffc7703f9400e52a7dfb4b3d3305d9` (the Poly1305 tag) and ends `…e355a5`.
    #[test]
    fn nacl_secretbox_vector() {
        let key: [u8; 32] = [
            0x1b, 0x27, 0x55, 0x64, 0x73, 0xe9, 0x85, 0xd4, 0x62, 0xcd, 0x51, 0x19, 0x7a, 0x9a,
            0x46, 0xc7, 0x60, 0x09, 0x54, 0x9e, 0xac, 0x64, 0x74, 0xf2, 0x06, 0xc4, 0xee, 0x08,
            0x44, 0xf6, 0x83, 0x89,
        ];
        let nonce: [u8; 24] = [
            0x69, 0x69, 0x6e, 0xe9, 0x55, 0xb6, 0x2b, 0x73, 0xcd, 0x62, 0xbd, 0xa8, 0x75, 0xfc,
            0x73, 0xd6, 0x82, 0x19, 0xe0, 0x03, 0x6b, 0x7a, 0x0b, 0x37,
        ];
        let message: [u8; 131] = [
            0xbe, 0x07, 0x5f, 0xc5, 0x3c, 0x81, 0xf2, 0xd5, 0xcf, 0x14, 0x13, 0x16, 0xeb, 0xeb,
            0x0c, 0x7b, 0x52, 0x28, 0xc5, 0x2a, 0x4c, 0x62, 0xcb, 0xd4, 0x4b, 0x66, 0x84, 0x9b,
            0x64, 0x24, 0x4f, 0xfc, 0xe5, 0xec, 0xba, 0xaf, 0x33, 0xbd, 0x75, 0x1a, 0x1a, 0xc7,
            0x28, 0xd4, 0x5e, 0x6c, 0x61, 0x29, 0x6c, 0xdc, 0x3c, 0x01, 0x23, 0x35, 0x61, 0xf4,
            0x1d, 0xb6, 0x6c, 0xce, 0x31, 0x4a, 0xdb, 0x31, 0x0e, 0x3b, 0xe8, 0x25, 0x0c, 0x46,
            0xf0, 0x6d, 0xce, 0xea, 0x3a, 0x7f, 0xa1, 0x34, 0x80, 0x57, 0xe2, 0xf6, 0x55, 0x6a,
            0xd6, 0xb1, 0x31, 0x8a, 0x02, 0x4a, 0x83, 0x8f, 0x21, 0xaf, 0x1f, 0xde, 0x04, 0x89,
            0x77, 0xeb, 0x48, 0xf5, 0x9f, 0xfd, 0x49, 0x24, 0xca, 0x1c, 0x60, 0x90, 0x2e, 0x52,
            0xf0, 0xa0, 0x89, 0xbc, 0x76, 0x89, 0x70, 0x40, 0xe0, 0x82, 0xf9, 0x37, 0x76, 0x38,
            0x48, 0x64, 0x5e, 0x07, 0x05,
        ];
        let ct = XSalsa20Poly1305::new(&Key::from(key))
            .encrypt(Nonce::from_slice(&nonce), message.as_slice())
            .unwrap();
        assert_eq!(ct.len(), 16 + 131);
        assert_eq!(
            &ct[..16],
            &[
                0xf3, 0xff, 0xc7, 0x70, 0x3f, 0x94, 0x00, 0xe5, 0x2a, 0x7d, 0xfb, 0x4b, 0x3d, 0x33,
                0x05, 0xd9
            ]
        );
        assert_eq!(&ct[ct.len() - 3..], &[0xe3, 0x55, 0xa5]);
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let c = creds();
        let channel: ChannelName = "private-encrypted-bla".parse().unwrap();
        let a = encrypt(&c, &channel, "héllo ☃").unwrap();
        let b = encrypt(&c, &channel, "héllo ☃").unwrap();
        assert_ne!(a, b, "every payload has its own nonce");
        assert_eq!(decrypt(&c, &channel, &a).unwrap(), "héllo ☃");
        assert_eq!(decrypt(&c, &channel, &b).unwrap(), "héllo ☃");
        assert_eq!(
            decrypt(&c, &channel, &encrypt(&c, &channel, "").unwrap()).unwrap(),
            ""
        );
    }

    #[test]
    fn the_key_is_the_channel_shared_secret() {
        let c = creds();
        let channel: ChannelName = "private-encrypted-bla".parse().unwrap();
        let data = encrypt(&c, &channel, "x").unwrap();
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        let nonce = STANDARD.decode(v["nonce"].as_str().unwrap()).unwrap();
        let ct = STANDARD.decode(v["ciphertext"].as_str().unwrap()).unwrap();
        // The Node SDK's vector: shared secret of `private-encrypted-bla`.
        let secret = STANDARD
            .decode("nlr49ISQHz91yS3cy/yWmW8wFMNeTnNL5tNHnbPJcLQ=")
            .unwrap();
        let key: [u8; 32] = secret.as_slice().try_into().unwrap();
        let opened = XSalsa20Poly1305::new(&Key::from(key))
            .decrypt(Nonce::from_slice(&nonce), ct.as_slice())
            .unwrap();
        assert_eq!(opened, b"x");
    }

    #[test]
    fn failures_are_typed() {
        let c = creds();
        let channel: ChannelName = "private-encrypted-bla".parse().unwrap();
        let plain = Credentials::new("k", "s").unwrap();
        assert_eq!(
            encrypt(&plain, &channel, "x"),
            Err(InvalidInput::NoMasterKey(channel.clone()))
        );
        let data = encrypt(&c, &channel, "x").unwrap();
        assert_eq!(
            decrypt(&plain, &channel, &data),
            Err(DecryptError::NoMasterKey)
        );
        let mut v: serde_json::Value = serde_json::from_str(&data).unwrap();
        let mut ct = STANDARD.decode(v["ciphertext"].as_str().unwrap()).unwrap();
        ct[0] ^= 1;
        v["ciphertext"] = STANDARD.encode(&ct).into();
        assert_eq!(
            decrypt(&c, &channel, &v.to_string()),
            Err(DecryptError::Rejected)
        );
        for bad in [
            "",
            "{}",
            r#"{"nonce":"!","ciphertext":""}"#,
            r#"{"nonce":"AAAA","ciphertext":""}"#,
            r#"{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ciphertext":"!"}"#,
        ] {
            assert!(
                matches!(decrypt(&c, &channel, bad), Err(DecryptError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
