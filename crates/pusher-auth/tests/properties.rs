//! Property tests: no input panics a parser, and what is written reads back the same.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use pusher_auth::adapter::{parse_channel_request, parse_signin_request, BodyFormat, Channels};
use pusher_auth::testing::{verify_channel_auth, verify_user_auth};
use pusher_auth::webhook::WebhookVerifier;
use pusher_auth::{
    ChannelData, ChannelKind, ChannelName, Credentials, Limits, PresenceMember, SerializedUserData,
    SocketId, UserData, UserId,
};

fn credentials() -> Credentials {
    Credentials::new("key", "secret")
        .unwrap()
        .with_encryption_master_key_base64("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=")
        .unwrap()
}

const NAME: &str = "[A-Za-z0-9_\\-=@,.;]{1,40}";

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn request_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), json in any::<bool>()) {
        let format = if json { BodyFormat::Json } else { BodyFormat::Form };
        let _ = parse_channel_request(format, &body, &Limits::default());
        let _ = parse_signin_request(format, &body, &Limits::default());
    }

    #[test]
    fn form_like_bodies_never_panic(parts in proptest::collection::vec(("(socket_id|channel_name|channel_name\\[[0-9x]{0,3}\\]?|[a-z%+]{0,6})", "[0-9.a-z%+\\-\u{0}-\u{7f}é]{0,12}"), 0..12)) {
        let body = parts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        if let Ok(req) = parse_channel_request(BodyFormat::Form, body.as_bytes(), &Limits::default()) {
            prop_assert!(!req.channels().is_empty());
        }
    }

    #[test]
    fn names_never_panic_and_round_trip(s in "\\PC{0,200}") {
        if let Ok(id) = SocketId::new(s.as_str()) {
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        }
        if let Ok(c) = ChannelName::new(s.as_str()) {
            prop_assert_eq!(c.as_str(), s.as_str());
            prop_assert_eq!(format!("{}{}", c.kind().prefix(), c.name_without_prefix()), s.clone());
            let reparsed: ChannelName = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
            prop_assert_eq!(reparsed, c);
        }
        let _ = UserId::new(s.as_str());
        let _ = Credentials::from_url(&s);
    }

    #[test]
    fn webhook_verification_never_panics(key in "\\PC{0,10}", sig in "[0-9a-fA-Fxz]{0,70}", body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let v = WebhookVerifier::new(credentials());
        let _ = v.verify(&key, &sig, &body);
        // Correctly signed junk is refused as a body error, not a panic.
        let signed = credentials().sign_hex(&body);
        if let Err(e) = v.verify("key", &signed, &body) {
            prop_assert_eq!(e.code(), "invalid_body");
        }
    }

    #[test]
    fn form_requests_round_trip(
        left in 0u64..u64::MAX, right in 0u64..u64::MAX,
        names in proptest::collection::vec(NAME, 1..6),
        batch in any::<bool>(),
        params in proptest::collection::vec(("p[a-z]{0,5}", "\\PC{0,10}"), 0..4),
    ) {
        let socket = format!("{left}.{right}");
        let mut body = format!("socket_id={}", enc(&socket));
        if batch {
            for (i, n) in names.iter().enumerate() {
                body.push_str(&format!("&channel_name%5B{i}%5D={}", enc(n)));
            }
        } else {
            body.push_str(&format!("&channel_name={}", enc(&names[0])));
        }
        for (k, v) in &params {
            body.push_str(&format!("&{}={}", enc(k), enc(v)));
        }
        let req = parse_channel_request(BodyFormat::Form, body.as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(req.socket_id().as_str(), socket.as_str());
        match req.channels() {
            Channels::One(c) => prop_assert_eq!(c.as_str(), names[0].as_str()),
            Channels::Batch(entries) => {
                let mut unique: Vec<&String> = Vec::new();
                for n in &names { if !unique.contains(&n) { unique.push(n); } }
                prop_assert_eq!(entries.iter().map(|e| e.requested()).collect::<Vec<_>>(), unique.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            }
        }
        let got: Vec<(String, String)> = req.params().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        prop_assert_eq!(got, params);
    }

    #[test]
    fn signed_answers_verify_and_reparse(
        left in 0u64..1_000_000, right in 0u64..1_000_000,
        name in NAME, prefix in prop::sample::select(vec!["private-", "private-encrypted-", "presence-"]),
        id in "\\PC{1,60}", info in proptest::collection::btree_map("[a-z]{1,5}", "\\PC{0,20}", 0..4),
    ) {
        let c = credentials();
        let socket = SocketId::new(format!("{left}.{right}")).unwrap();
        let channel = ChannelName::new(format!("{prefix}{name}")).unwrap();
        let user = UserId::new(id).unwrap();
        let auth = if channel.kind() == ChannelKind::Presence {
            let data = PresenceMember::new(user.clone()).with_info(&info).to_channel_data().unwrap();
            // The same bytes validate as pre-serialized data.
            prop_assert_eq!(ChannelData::new(data.as_str()).unwrap(), data.clone());
            c.authorize_presence(&socket, &channel, &data).unwrap()
        } else {
            c.authorize_channel(&socket, &channel).unwrap()
        };
        let json = auth.to_json();
        prop_assert_eq!(&json, &serde_json::to_string(&auth).unwrap());
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back["auth"].as_str(), Some(auth.auth()));
        prop_assert_eq!(back["channel_data"].as_str(), auth.channel_data());
        prop_assert_eq!(back["shared_secret"].as_str(), auth.shared_secret());
        let verified = verify_channel_auth(&c, socket.as_str(), channel.as_str(), json.as_bytes()).unwrap();
        if let Some(member) = verified.member() {
            prop_assert_eq!(member["user_id"].as_str(), Some(user.as_str()));
        }
        let user_data = UserData::new(user.clone()).with_info(&info).to_user_data().unwrap();
        prop_assert_eq!(SerializedUserData::new(user_data.as_str()).unwrap(), user_data.clone());
        let signin = c.authenticate_user(&socket, &user_data);
        let data = verify_user_auth(&c, socket.as_str(), signin.to_json().as_bytes()).unwrap();
        prop_assert_eq!(data["id"].as_str(), Some(user.as_str()));
    }
}
