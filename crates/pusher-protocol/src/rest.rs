//! Signing requests to the Pusher Channels HTTP API (the REST API).
//!
//! Every REST request carries `auth_key`, `auth_timestamp`, `auth_version=1.0`, `body_md5`
//! (when the body is not empty) and `auth_signature`, the lowercase hex HMAC-SHA256, under the
//! app secret, of
//!
//! ```text
//! METHOD\nPATH\nQUERY
//! ```
//!
//! where `QUERY` is every parameter but the signature, keys in lowercase, sorted by key, joined
//! as `key=value` with `&`, **not** URL-escaped. [`sign_request`] does exactly that, for any
//! HTTP client: it returns the query string to put after `?`, values percent-encoded.
//!
//! The worked example of the Pusher documentation (`rest-api.md`, "Worked authentication
//! example"):
//!
//! ```
//! use pusher_protocol::rest::sign_request;
//! use pusher_protocol::Credentials;
//!
//! let credentials = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")?;
//! let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
//! let signed = sign_request(&credentials, "POST", "/apps/3/events", &[], body, 1353088179)?;
//! assert_eq!(
//!     signed.canonical_query(),
//!     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
//! );
//! assert_eq!(signed.auth_signature(), "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c");
//! assert!(signed.as_str().ends_with("&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"));
//!
//! // Query parameters of GET requests are signed too, and escaped only in the URL.
//! let signed = sign_request(
//!     &credentials,
//!     "GET",
//!     "/apps/3/channels",
//!     &[("filter_by_prefix", "presence-"), ("info", "user_count")],
//!     b"",
//!     1353088179,
//! )?;
//! assert_eq!(
//!     signed.canonical_query(),
//!     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
//! );
//!
//! // The authentication parameters cannot be overridden.
//! assert!(sign_request(&credentials, "GET", "/apps/3/channels", &[("auth_timestamp", "1")], b"", 1).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Differences from the official SDKs, all on inputs they mishandle: the Node SDK (npm `pusher`
//! 5.3.4) does not lowercase keys and does not escape values in the URL; the Python SDK
//! (`pusher` 3.3.4) silently replaces reserved parameters and adds `body_md5` (of the empty
//! string) to requests without a body, which the documentation does not ask for.

use std::borrow::Cow;
use std::fmt;

use md5::{Digest, Md5};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::Credentials;

/// The `auth_version` every request carries.
pub const AUTH_VERSION: &str = "1.0";

/// The query parameters the signature sets itself; a caller's parameter with one of these keys
/// is a [`RestSignError::ReservedParam`].
pub const RESERVED_PARAMS: [&str; 5] = [
    "auth_key",
    "auth_signature",
    "auth_timestamp",
    "auth_version",
    "body_md5",
];

/// Characters escaped in query values: everything but the RFC 3986 unreserved characters, so
/// that every server (Rack, PHP's `parse_str`, Node's `querystring`, Rust's `form_urlencoded`)
/// decodes the value back to the bytes that were signed (`+` and space included).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// At most this many characters of a rejected key are echoed in an error.
const ECHO_MAX: usize = 40;

/// Why a REST request could not be signed. Raised before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestSignError {
    /// A caller's query parameter uses a key the signature sets (see [`RESERVED_PARAMS`]).
    #[error("query parameter `{0}` is set by the request signature and cannot be overridden")]
    ReservedParam(String),
    /// Two query parameters have the same key once lowercased.
    #[error("query parameter `{0}` is given more than once (keys are compared in lowercase)")]
    DuplicateParam(String),
    /// A query parameter key is empty or has a character other than `A-Z a-z 0-9 _ -`.
    #[error("query parameter key `{0}` must be non-empty and contain only A-Z a-z 0-9 _ -")]
    InvalidParamKey(String),
    /// The HTTP method is empty or not made of ASCII letters.
    #[error("HTTP method must be one or more ASCII letters")]
    InvalidMethod,
    /// The path does not start with `/` or has a character that a URL path would escape.
    #[error("request path {0}")]
    InvalidPath(&'static str),
}

/// A signed REST query string: the authentication parameters, the caller's parameters and
/// `auth_signature`, ready to follow `?` in the request URL.
///
/// `Display` and [`SignedQuery::as_str`] give the query string; `Debug` hides the signature
/// (it authorizes the request it was made for, so it stays out of logs).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedQuery {
    /// `k=v&…&auth_signature=…`, values percent-encoded.
    query: String,
    /// `k=v&…` as signed: sorted, keys in lowercase, not escaped, no signature.
    canonical: String,
    /// Lowercase hex HMAC-SHA256 of the string to sign.
    signature: String,
}

impl SignedQuery {
    /// The query string to put after `?`: parameters sorted by key, values percent-encoded, and
    /// `auth_signature` last.
    pub fn as_str(&self) -> &str {
        &self.query
    }

    /// The query string as an owned `String`.
    pub fn into_string(self) -> String {
        self.query
    }

    /// The `auth_signature` value: lowercase hex HMAC-SHA256 of
    /// `METHOD\nPATH\n` + [`SignedQuery::canonical_query`].
    pub fn auth_signature(&self) -> &str {
        &self.signature
    }

    /// The parameters exactly as signed: sorted by key, keys in lowercase, values not escaped,
    /// without `auth_signature` (the third line of the string to sign). A server that rejects
    /// a signature usually shows the string it expected; compare it with this.
    pub fn canonical_query(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Display for SignedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.query)
    }
}

impl fmt::Debug for SignedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedQuery")
            .field("canonical_query", &self.canonical)
            .field("auth_signature", &"<redacted>")
            .finish()
    }
}

/// Signs a REST API request.
///
/// - `method`: the HTTP method, any case (`POST`, `get`); it is signed in uppercase.
/// - `path`: the request path including `/apps/{app_id}`, exactly as sent: it must start with
///   `/` and contain only characters a URL path carries unescaped (`A-Z a-z 0-9 - . _ ~ ! $ & ' (
///   ) * + , ; = : @ /`), so the path signed is the path the server sees.
/// - `params`: the caller's query parameters (`info`, `filter_by_prefix`, …). Keys are
///   lowercased and must be made of `A-Z a-z 0-9 _ -`; a reserved key ([`RESERVED_PARAMS`]) or
///   a repeated key is an error, never silently replaced. Values may be any text.
/// - `body`: the exact body bytes sent (empty for `GET`); `body_md5` is signed when it is not
///   empty.
/// - `timestamp`: seconds since the Unix epoch; servers accept ±600 s.
///
/// The result is byte-identical to the Node SDK's `createSignedQueryString` for the same
/// inputs (lowercase keys), apart from the percent-encoding of values in the URL.
pub fn sign_request(
    credentials: &Credentials,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    body: &[u8],
    timestamp: u64,
) -> Result<SignedQuery, RestSignError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(RestSignError::InvalidMethod);
    }
    check_path(path)?;

    let timestamp = timestamp.to_string();
    let body_md5 = (!body.is_empty()).then(|| {
        let mut hex = String::with_capacity(32);
        crate::hex::push_hex(&mut hex, &Md5::digest(body));
        hex
    });

    let mut pairs: Vec<(Cow<'_, str>, &str)> = Vec::with_capacity(params.len() + 4);
    pairs.push((Cow::Borrowed("auth_key"), credentials.key()));
    pairs.push((Cow::Borrowed("auth_timestamp"), &timestamp));
    pairs.push((Cow::Borrowed("auth_version"), AUTH_VERSION));
    if let Some(md5) = &body_md5 {
        pairs.push((Cow::Borrowed("body_md5"), md5));
    }
    for &(key, value) in params {
        let key = lowercase_key(key)?;
        if RESERVED_PARAMS.contains(&key.as_ref()) {
            return Err(RestSignError::ReservedParam(echo(&key)));
        }
        pairs.push((key, value));
    }
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if let Some(pair) = pairs.windows(2).find_map(|w| match w {
        [a, b] if a.0 == b.0 => Some(a),
        _ => None,
    }) {
        return Err(RestSignError::DuplicateParam(echo(&pair.0)));
    }

    let canonical_len: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut canonical = String::with_capacity(canonical_len);
    let mut query = String::with_capacity(canonical_len + 16 + 64);
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            canonical.push('&');
            query.push('&');
        }
        canonical.push_str(key);
        canonical.push('=');
        canonical.push_str(value);
        query.push_str(key);
        query.push('=');
        query.extend(utf8_percent_encode(value, QUERY_VALUE));
    }

    let mut to_sign = String::with_capacity(method.len() + path.len() + canonical.len() + 2);
    to_sign.extend(method.chars().map(|c| c.to_ascii_uppercase()));
    to_sign.push('\n');
    to_sign.push_str(path);
    to_sign.push('\n');
    to_sign.push_str(&canonical);
    let signature = credentials.hmac_hex(to_sign.as_bytes());

    query.push_str("&auth_signature=");
    query.push_str(&signature);
    Ok(SignedQuery {
        query,
        canonical,
        signature,
    })
}

/// Whether `b` may appear unescaped in a URL path segment (RFC 3986 `pchar` without `%`).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
        )
}

fn check_path(path: &str) -> Result<(), RestSignError> {
    if !path.starts_with('/') {
        return Err(RestSignError::InvalidPath("must start with `/`"));
    }
    if !path.bytes().all(is_path_byte) {
        return Err(RestSignError::InvalidPath(
            "may only contain A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ /",
        ));
    }
    Ok(())
}

fn lowercase_key(key: &str) -> Result<Cow<'_, str>, RestSignError> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(RestSignError::InvalidParamKey(echo(key)));
    }
    Ok(if key.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        Cow::Borrowed(key)
    })
}

/// A short prefix of `s` for an error message.
fn echo(s: &str) -> String {
    s.chars().take(ECHO_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Credentials {
        Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8").unwrap()
    }

    #[test]
    fn the_documentation_worked_example() {
        let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        let signed =
            sign_request(&docs(), "POST", "/apps/3/events", &[], body, 1353088179).unwrap();
        assert_eq!(
            signed.as_str(),
            "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0\
             &body_md5=ec365a775a4cd0599faeb73354201b6f\
             &auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
        );
        // The method is signed in uppercase whatever the caller wrote.
        let lower = sign_request(&docs(), "post", "/apps/3/events", &[], body, 1353088179).unwrap();
        assert_eq!(lower, signed);
        assert_eq!(signed.to_string(), signed.clone().into_string());
    }

    #[test]
    fn no_body_md5_without_a_body() {
        let signed = sign_request(&docs(), "GET", "/apps/3/channels", &[], b"", 7).unwrap();
        assert_eq!(
            signed.canonical_query(),
            "auth_key=278d425bdf160c739803&auth_timestamp=7&auth_version=1.0"
        );
        let expected = docs().hmac_hex(
            b"GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=7&auth_version=1.0",
        );
        assert_eq!(signed.auth_signature(), expected);
    }

    #[test]
    fn keys_are_lowercased_sorted_and_values_escaped_only_in_the_url() {
        let signed = sign_request(
            &docs(),
            "GET",
            "/apps/3/channels",
            &[
                ("Zeta", "a b+c&d=é"),
                ("info", "user_count,subscription_count"),
                ("a-b", ""),
            ],
            b"",
            1,
        )
        .unwrap();
        assert_eq!(
            signed.canonical_query(),
            "a-b=&auth_key=278d425bdf160c739803&auth_timestamp=1&auth_version=1.0\
             &info=user_count,subscription_count&zeta=a b+c&d=é"
        );
        assert_eq!(
            signed.as_str(),
            format!(
                "a-b=&auth_key=278d425bdf160c739803&auth_timestamp=1&auth_version=1.0\
                 &info=user_count%2Csubscription_count&zeta=a%20b%2Bc%26d%3D%C3%A9\
                 &auth_signature={}",
                signed.auth_signature()
            )
        );
        let expected = docs()
            .hmac_hex(format!("GET\n/apps/3/channels\n{}", signed.canonical_query()).as_bytes());
        assert_eq!(signed.auth_signature(), expected);
    }

    #[test]
    fn reserved_duplicate_and_bad_keys_are_errors() {
        let c = docs();
        for key in RESERVED_PARAMS {
            assert_eq!(
                sign_request(&c, "GET", "/a", &[(key, "x")], b"", 1),
                Err(RestSignError::ReservedParam(key.to_string()))
            );
        }
        // Reserved once lowercased, too.
        assert_eq!(
            sign_request(&c, "GET", "/a", &[("Body_MD5", "x")], b"", 1),
            Err(RestSignError::ReservedParam("body_md5".into()))
        );
        assert_eq!(
            sign_request(&c, "GET", "/a", &[("info", "x"), ("INFO", "y")], b"", 1),
            Err(RestSignError::DuplicateParam("info".into()))
        );
        for bad in ["", "a b", "a=b", "a&b", "é", "a.b", "a[]"] {
            assert!(
                matches!(
                    sign_request(&c, "GET", "/a", &[(bad, "x")], b"", 1),
                    Err(RestSignError::InvalidParamKey(_))
                ),
                "{bad:?}"
            );
        }
        let long = "k".repeat(500);
        match sign_request(
            &c,
            "GET",
            "/a",
            &[(long.as_str(), "x"), (long.as_str(), "y")],
            b"",
            1,
        ) {
            Err(RestSignError::DuplicateParam(k)) => assert_eq!(k.len(), ECHO_MAX),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn methods_and_paths_are_checked() {
        let c = docs();
        for bad in ["", "GE T", "GET\n", "P0ST"] {
            assert_eq!(
                sign_request(&c, bad, "/a", &[], b"", 1),
                Err(RestSignError::InvalidMethod),
                "{bad:?}"
            );
        }
        for bad in [
            "", "apps/1", "/a b", "/a?b", "/a#b", "/a%20b", "/é", "/a\nb",
        ] {
            assert!(
                matches!(
                    sign_request(&c, "GET", bad, &[], b"", 1),
                    Err(RestSignError::InvalidPath(_))
                ),
                "{bad:?}"
            );
        }
        assert!(sign_request(
            &c,
            "POST",
            "/apps/1/users/a@b.c;d=e,f/terminate_connections",
            &[],
            b"{}",
            1
        )
        .is_ok());
    }

    #[test]
    fn debug_hides_the_signature() {
        let signed = sign_request(&docs(), "GET", "/a", &[], b"", 1).unwrap();
        let shown = format!("{signed:?}");
        assert!(!shown.contains(signed.auth_signature()), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
