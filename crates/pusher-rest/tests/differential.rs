//! Differential tests against the official SDKs (npm `pusher` 5.3.4, PyPI `pusher` 3.3.4):
//!
//! - `signing_*`: random requests signed by `pusher_protocol::rest::sign_request` and by each
//!   SDK's own signing function, at the same timestamp over the same body;
//! - `wire_requests_match_the_node_sdk`: random operations sent by this crate's client to a
//!   local server, and the same operations given to the Node SDK with its HTTP calls recorded
//!   (same clock, and for encrypted channels the same nonce): method, path, query and body
//!   compared byte for byte;
//! - `tweetnacl_opens_what_we_seal`: encrypted payloads opened by tweetnacl (what pusher-js
//!   uses) with the key the Node SDK derives.
//!
//! The SDKs run as child processes from `tests/js` and the virtual environment that
//! `scripts/install-test-tools` creates; a missing tool fails these tests, never skips them.
//! `DIFF_SEED` replays a run, `DIFF_CASES` changes the number of cases per test (default 1000).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

#[path = "../../../tests/support/oracles.rs"]
mod oracles;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use md5::Digest as _;
use oracles::{node, python, run_oracle};
use pusher_rest::encryption::{decrypt, encrypt};
use pusher_rest::rest::{sign_request, RestSignError, RESERVED_PARAMS};
use pusher_rest::{BatchEvent, ChannelName, Client, Credentials, Info, SocketId, UserId};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Random inputs (SplitMix64: small, seedable, no dependency).

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chars_from(&mut self, chars: &str, lo: usize, hi: usize) -> String {
        let chars: Vec<char> = chars.chars().collect();
        (0..self.range(lo, hi))
            .map(|_| *self.pick(&chars))
            .collect()
    }
    /// Text with the characters escaping (JSON, URL) is most likely to get wrong.
    fn text(&mut self, hi: usize) -> String {
        const POOL: &[&str] = &[
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}",
            "\u{1f}", "\u{7f}", "é", "☃", "😀", "\u{2028}", "\u{2029}", "<", ">", "&", "'", "%",
            "+", "=", ":", "{", "}", "?", "#", ",", ";", "@", "[", "]", "~",
        ];
        (0..self.range(0, hi)).map(|_| *self.pick(POOL)).collect()
    }
}

const NAME_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=@,.;";
const KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const PARAM_KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-";

fn seed() -> u64 {
    std::env::var("DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            t.as_secs() ^ u64::from(t.subsec_nanos())
        })
}

/// Fewer cases than this cannot cover every kind of operation (the wire test forces one of
/// each kind first), and zero would make every test pass without checking anything.
const MIN_CASES: usize = 20;

fn cases() -> usize {
    let cases = std::env::var("DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    assert!(
        cases >= MIN_CASES,
        "DIFF_CASES={cases}: at least {MIN_CASES} cases are needed for the differential tests to check anything"
    );
    cases
}

#[derive(Clone)]
struct App {
    id: String,
    key: String,
    secret: String,
    master: String,
}

impl App {
    fn random(rng: &mut Rng) -> App {
        let mut secret = rng.chars_from("abcdefABCDEF0123456789", 1, 32);
        if rng.chance(20) {
            secret.push_str(rng.pick::<&str>(&["é", "☃", " ", "!", "😀"]));
        }
        let master: Vec<u8> = (0..32).map(|_| rng.below(256) as u8).collect();
        App {
            id: rng.chars_from("ABCDEFabcdef0123456789-", 1, 12),
            key: rng.chars_from(KEY_CHARS, 1, 24),
            secret,
            master: base64::engine::general_purpose::STANDARD.encode(master),
        }
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.key.clone(), &self.secret)
            .unwrap()
            .with_app_id(self.id.clone())
            .unwrap()
            .with_encryption_master_key_base64(&self.master)
            .unwrap()
    }

    fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("app_id".into(), json!(self.id));
        m.insert("key".into(), json!(self.key));
        m.insert("secret".into(), json!(self.secret));
        m.insert("master_key_base64".into(), json!(self.master));
        m
    }
}

fn channel_name(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}{}", rng.chars_from(NAME_CHARS, 1, 40))
}

fn any_channel(rng: &mut Rng, encrypted_percent: u64) -> String {
    if rng.chance(encrypted_percent) {
        return channel_name(rng, "private-encrypted-");
    }
    let prefix = *rng.pick(&["", "", "private-", "presence-", "cache-", "private-cache-"]);
    channel_name(rng, prefix)
}

fn socket_id(rng: &mut Rng) -> String {
    format!(
        "{}.{}",
        rng.chars_from("0123456789", 1, 20),
        rng.chars_from("0123456789", 1, 20)
    )
}

fn info(rng: &mut Rng) -> Info {
    *rng.pick(&[
        Info::new().user_count(),
        Info::new().subscription_count(),
        Info::new().user_count().subscription_count(),
    ])
}

/// A JSON value without floats (number formatting differs between languages by design) and
/// without top-level strings.
fn json_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 4 } else { 6 }) {
        0 => json!(rng.text(12)),
        1 => json!(rng.below(1 << 53) as i64 - (1i64 << 52)),
        2 => json!(rng.chance(50)),
        3 => Value::Null,
        4 => Value::Array(
            (0..rng.range(0, 3))
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => object(rng, depth + 1),
    }
}

/// An object whose keys never look like array indexes (JavaScript would reorder those) and
/// whose keys serde_json (a sorted map) and JavaScript (insertion order) write alike.
fn object(rng: &mut Rng, depth: usize) -> Value {
    let mut m = Map::new();
    for _ in 0..rng.range(0, 4) {
        m.insert(format!("k{}", rng.text(6)), json_value(rng, depth));
    }
    Value::Object(m)
}

/// Event data: raw text (pre-serialized, sent as is) or a JSON value.
#[derive(Clone, Debug)]
enum Data {
    Raw(String),
    Json(Value),
}

impl Data {
    fn random(rng: &mut Rng, raw_allowed: bool) -> Data {
        if raw_allowed && rng.chance(40) {
            Data::Raw(rng.text(80))
        } else if rng.chance(70) {
            Data::Json(object(rng, 0))
        } else {
            // A string would be taken as pre-serialized text: that is `Data::Raw`.
            loop {
                let v = json_value(rng, 1);
                if !v.is_string() {
                    break Data::Json(v);
                }
            }
        }
    }
    fn node(&self) -> Value {
        match self {
            Data::Raw(s) => json!(s),
            Data::Json(v) => v.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The SDKs as child processes.

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// A URL query decoded back to `k=v&…`, in its order.
fn decoded_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            format!("{}={}", percent_decode(k), percent_decode(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------
// Signing.

/// The documentation's worked example (`rest-api.md`, "Worked authentication example").
const DOCS_BODY: &str = r#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
const DOCS_SIGNATURE: &str = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";

struct SignCase {
    key: String,
    secret: String,
    method: String,
    path: String,
    params: Vec<(String, String)>,
    body: String,
    timestamp: u64,
    /// A caller parameter uses a reserved key.
    reserved: bool,
    /// Some caller keys have uppercase letters (the SDKs get them lowercased, see below).
    uppercase: bool,
}

impl SignCase {
    fn docs() -> SignCase {
        SignCase {
            key: "278d425bdf160c739803".into(),
            secret: "7ad3773142a6692b25b8".into(),
            method: "POST".into(),
            path: "/apps/3/events".into(),
            params: vec![],
            body: DOCS_BODY.into(),
            timestamp: 1353088179,
            reserved: false,
            uppercase: false,
        }
    }

    fn random(rng: &mut Rng) -> SignCase {
        let app = App::random(rng);
        let post = rng.chance(50);
        let channel = any_channel(rng, 10);
        let user = rng.chars_from(NAME_CHARS, 1, 30);
        let path = if post {
            match rng.below(3) {
                0 => format!("/apps/{}/events", app.id),
                1 => format!("/apps/{}/batch_events", app.id),
                _ => format!("/apps/{}/users/{user}/terminate_connections", app.id),
            }
        } else {
            match rng.below(3) {
                0 => format!("/apps/{}/channels", app.id),
                1 => format!("/apps/{}/channels/{channel}", app.id),
                _ => format!("/apps/{}/channels/{channel}/users", app.id),
            }
        };
        let mut params: Vec<(String, String)> = Vec::new();
        if !post || rng.chance(10) {
            if rng.chance(50) {
                params.push(("info".into(), info(rng).to_param().unwrap().into()));
            }
            if rng.chance(40) {
                params.push(("filter_by_prefix".into(), rng.chars_from(NAME_CHARS, 1, 12)));
            }
            for _ in 0..rng.range(0, 3) {
                let key = format!("x{}", rng.chars_from(PARAM_KEY_CHARS, 0, 11));
                if params.iter().all(|(k, _)| *k != key) {
                    params.push((key, rng.text(30)));
                }
            }
        }
        let reserved = rng.chance(3);
        if reserved {
            let key = rng.pick(&RESERVED_PARAMS).to_string();
            params.push((key, rng.chars_from(KEY_CHARS, 1, 10)));
        }
        let uppercase = !reserved && !params.is_empty() && rng.chance(5);
        if uppercase {
            let (k, _) = &mut params[0];
            *k = k.to_uppercase();
        }
        let body = if post && !rng.chance(5) {
            json!({
                "name": rng.text(40),
                "data": rng.text(200),
                "channels": (0..rng.range(1, 4)).map(|_| any_channel(rng, 10)).collect::<Vec<_>>(),
            })
            .to_string()
        } else {
            String::new()
        };
        let method = if post { "POST" } else { "GET" };
        SignCase {
            key: app.key,
            secret: app.secret,
            method: if rng.chance(10) {
                method.to_lowercase()
            } else {
                method.into()
            },
            path,
            params,
            body,
            timestamp: 1_000_000_000 + rng.below(1_000_000_000),
            reserved,
            uppercase,
        }
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.key.clone(), &self.secret).unwrap()
    }

    fn ours(&self) -> Result<pusher_rest::rest::SignedQuery, RestSignError> {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        sign_request(
            &self.credentials(),
            &self.method,
            &self.path,
            &params,
            self.body.as_bytes(),
            self.timestamp,
        )
    }

    /// The case as an oracle input. The SDKs do not lowercase keys; they get the keys in
    /// lowercase, as the documentation says to sign them.
    fn oracle(&self, method: &str) -> Map<String, Value> {
        let params: Vec<Value> = self
            .params
            .iter()
            .map(|(k, v)| json!([k.to_lowercase(), v]))
            .collect();
        let mut m = Map::new();
        m.insert("op".into(), json!("rest_sign"));
        m.insert("key".into(), json!(self.key));
        m.insert("secret".into(), json!(self.secret));
        m.insert("method".into(), json!(method));
        m.insert("path".into(), json!(self.path));
        m.insert("params".into(), Value::Array(params));
        m.insert("body".into(), json!(self.body));
        m.insert("timestamp".into(), json!(self.timestamp));
        m
    }
}

fn sign_cases(seed: u64) -> Vec<SignCase> {
    let mut rng = Rng(seed);
    let mut all = vec![SignCase::docs()];
    all.extend((0..cases()).map(|_| SignCase::random(&mut rng)));
    all
}

#[derive(Debug, Default)]
struct Tally {
    identical: usize,
    both_refused_reserved: usize,
    uppercase_keys: usize,
    only_body_md5_differs: usize,
    sdk_overrode_reserved: usize,
}

#[test]
fn signing_matches_the_node_sdk() {
    let seed = seed();
    let cases = sign_cases(seed);
    let inputs: Vec<_> = cases.iter().map(|c| c.oracle(&c.method)).collect();
    let answers = run_oracle(node(&["pusher", "tweetnacl"]), &inputs);
    let mut tally = Tally::default();
    for (i, (case, answer)) in cases.iter().zip(&answers).enumerate() {
        let ctx = format!("seed {seed} case {i} ({} {})", case.method, case.path);
        match case.ours() {
            Err(RestSignError::ReservedParam(_)) => {
                assert!(case.reserved, "{ctx}");
                let err = answer["err"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{ctx}: {answer}"));
                assert!(err.contains("cannot be overidden"), "{ctx}: {err}");
                tally.both_refused_reserved += 1;
            }
            Err(e) => panic!("{ctx}: {e}"),
            Ok(ours) => {
                let theirs = answer["ok"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{ctx}: {answer}"));
                let expected = format!(
                    "{}&auth_signature={}",
                    ours.canonical_query(),
                    ours.auth_signature()
                );
                assert_eq!(theirs, expected, "{ctx}");
                // The escaped query decodes to exactly what was signed.
                assert_eq!(decoded_query(ours.as_str()), expected, "{ctx}");
                if case.uppercase {
                    tally.uppercase_keys += 1;
                }
                tally.identical += 1;
            }
        }
    }
    assert_eq!(
        answers[0]["ok"].as_str().unwrap().rsplit('=').next(),
        Some(DOCS_SIGNATURE)
    );
    eprintln!(
        "node rest signing, seed {seed}, {} cases: {tally:?}",
        cases.len()
    );
    assert!(
        tally.identical >= 1000.min(cases.len() * 9 / 10),
        "{tally:?}"
    );
}

#[test]
fn signing_matches_the_python_sdk() {
    let seed = seed();
    let cases = sign_cases(seed);
    // The Python SDK signs the method as given; it always gets it in uppercase.
    let inputs: Vec<_> = cases
        .iter()
        .map(|c| c.oracle(&c.method.to_uppercase()))
        .collect();
    let answers = run_oracle(python(), &inputs);
    let mut tally = Tally::default();
    const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    for (i, (case, answer)) in cases.iter().zip(&answers).enumerate() {
        let ctx = format!("seed {seed} case {i} ({} {})", case.method, case.path);
        let theirs = answer
            .get("ok")
            .unwrap_or_else(|| panic!("{ctx}: {answer}"));
        let their_signature = theirs["signature"].as_str().unwrap();
        let their_params: Vec<(String, String)> = theirs["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .filter(|(k, _)| k != "auth_signature")
            .collect();
        match case.ours() {
            Err(RestSignError::ReservedParam(_)) => {
                // Python silently replaces the caller's value with its own; we refuse.
                assert!(case.reserved, "{ctx}");
                tally.sdk_overrode_reserved += 1;
            }
            Err(e) => panic!("{ctx}: {e}"),
            Ok(ours) => {
                // What we signed, pair by pair (values may hold `&` and `=`).
                let mut ours_pairs: Vec<(String, String)> = vec![
                    ("auth_key".into(), case.key.clone()),
                    ("auth_timestamp".into(), case.timestamp.to_string()),
                    ("auth_version".into(), "1.0".into()),
                ];
                if !case.body.is_empty() {
                    let md5 = md5::Md5::digest(case.body.as_bytes());
                    ours_pairs.push(("body_md5".into(), hex::encode(md5)));
                }
                ours_pairs.extend(
                    case.params
                        .iter()
                        .map(|(k, v)| (k.to_lowercase(), v.clone())),
                );
                ours_pairs.sort();
                let joined: Vec<String> =
                    ours_pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                assert_eq!(ours.canonical_query(), joined.join("&"), "{ctx}");
                if case.body.is_empty() {
                    // Python always adds body_md5, of "" here; the documentation (and the
                    // Node SDK, and sockudo, which rejects it on GET) say to leave it out. All
                    // else is the same: Python's signature is ours with that one parameter.
                    let mut with_md5 = ours_pairs.clone();
                    with_md5.push(("body_md5".into(), EMPTY_MD5.into()));
                    with_md5.sort();
                    assert_eq!(their_params, with_md5, "{ctx}");
                    let query: Vec<String> =
                        with_md5.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let sts = format!(
                        "{}\n{}\n{}",
                        case.method.to_uppercase(),
                        case.path,
                        query.join("&")
                    );
                    assert_eq!(
                        their_signature,
                        case.credentials().sign_hex(sts.as_bytes()),
                        "{ctx}"
                    );
                    assert_ne!(their_signature, ours.auth_signature(), "{ctx}");
                    tally.only_body_md5_differs += 1;
                } else {
                    assert_eq!(their_params, ours_pairs, "{ctx}");
                    assert_eq!(their_signature, ours.auth_signature(), "{ctx}");
                    if case.uppercase {
                        tally.uppercase_keys += 1;
                    }
                    tally.identical += 1;
                }
            }
        }
    }
    assert_eq!(answers[0]["ok"]["signature"], DOCS_SIGNATURE);
    eprintln!(
        "python rest signing, seed {seed}, {} cases: {tally:?}",
        cases.len()
    );
    // About half the cases are GETs, where only body_md5 differs; the rest must be identical.
    assert!(tally.identical >= cases.len() / 3, "{tally:?}");
    assert!(
        tally.identical + tally.only_body_md5_differs + tally.sdk_overrode_reserved == cases.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Whole requests on the wire.

/// One operation, as given to our client; `node_calls` gives the Node SDK the same work, one
/// call per request we sent (the SDK refuses what we split: > 100 channels, several encrypted
/// channels, encrypted and plain channels together).
#[derive(Debug)]
enum Op {
    Trigger {
        channels: Vec<String>,
        event: String,
        data: Data,
        socket_id: Option<String>,
        info: Info,
    },
    Batch(Vec<(String, String, Data, Option<String>, Info)>),
    SendToUser(String, String, Data),
    Terminate(String),
    Channels(Option<String>, Info),
    ChannelInfo(String, Info),
    Users(String),
}

impl Op {
    /// Operation number `i` of a run: the first ones are one of each kind that must be
    /// covered (a split trigger, encrypted and plain channels together, a batch of more than
    /// one request with an encrypted event, and every other operation), then random ones.
    fn nth(rng: &mut Rng, i: usize) -> Op {
        match i {
            0 => {
                let n = rng.range(201, 250);
                Op::trigger(rng, n, 0)
            }
            1 => {
                let n = rng.range(2, 5);
                Op::trigger(rng, n, 3)
            }
            2 => loop {
                let op = Op::of(rng, 50);
                if let Op::Batch(events) = &op {
                    if events.len() > pusher_rest::DEFAULT_BATCH_SIZE
                        && events.iter().any(|e| e.0.starts_with("private-encrypted-"))
                    {
                        break op;
                    }
                }
            },
            3 => Op::of(rng, 65),
            4 => Op::of(rng, 73),
            5 => Op::of(rng, 80),
            6 => Op::of(rng, 88),
            7 => Op::of(rng, 94),
            8 => Op::trigger(rng, 1, 0),
            _ => Op::random(rng),
        }
    }

    /// A trigger on `plain` channels that are not encrypted and `encrypted` that are.
    fn trigger(rng: &mut Rng, plain: usize, encrypted: usize) -> Op {
        let mut channels: Vec<String> = (0..plain).map(|_| any_channel(rng, 0)).collect();
        for _ in 0..encrypted {
            let at = rng.range(0, channels.len());
            channels.insert(at, channel_name(rng, "private-encrypted-"));
        }
        Op::Trigger {
            channels,
            event: rng.text(30) + "e",
            data: Data::random(rng, encrypted == 0),
            socket_id: rng.chance(30).then(|| socket_id(rng)),
            info: Info::new(),
        }
    }

    fn random(rng: &mut Rng) -> Op {
        let kind = rng.below(100);
        Op::of(rng, kind)
    }

    fn of(rng: &mut Rng, kind: u64) -> Op {
        let event = |rng: &mut Rng| loop {
            let e = rng.text(50);
            if !e.is_empty() {
                break e;
            }
        };
        match kind {
            0..=49 => {
                let n = if rng.chance(5) {
                    rng.range(101, 250)
                } else {
                    rng.range(1, 6)
                };
                let channels: Vec<String> = (0..n).map(|_| any_channel(rng, 10)).collect();
                let encrypted = channels.iter().any(|c| c.starts_with("private-encrypted-"));
                Op::Trigger {
                    channels,
                    event: event(rng),
                    // Encrypted payloads are JSON values: the Node SDK encrypts
                    // JSON.stringify(data), which quotes a raw string (see the crate docs).
                    data: Data::random(rng, !encrypted),
                    socket_id: rng.chance(30).then(|| socket_id(rng)),
                    info: if rng.chance(30) {
                        info(rng)
                    } else {
                        Info::new()
                    },
                }
            }
            50..=64 => Op::Batch(
                (0..rng.range(1, 25))
                    .map(|_| {
                        let channel = any_channel(rng, 10);
                        let raw = !channel.starts_with("private-encrypted-");
                        (
                            channel,
                            event(rng),
                            Data::random(rng, raw),
                            rng.chance(20).then(|| socket_id(rng)),
                            if rng.chance(20) {
                                info(rng)
                            } else {
                                Info::new()
                            },
                        )
                    })
                    .collect(),
            ),
            65..=72 => Op::SendToUser(
                rng.chars_from(NAME_CHARS, 1, 40),
                event(rng),
                Data::random(rng, true),
            ),
            73..=79 => Op::Terminate(rng.chars_from(NAME_CHARS, 1, 40)),
            80..=87 => Op::Channels(
                rng.chance(60).then(|| rng.chars_from(NAME_CHARS, 1, 12)),
                if rng.chance(50) {
                    info(rng)
                } else {
                    Info::new()
                },
            ),
            88..=93 => Op::ChannelInfo(
                any_channel(rng, 10),
                if rng.chance(50) {
                    info(rng)
                } else {
                    Info::new()
                },
            ),
            _ => Op::Users(channel_name(rng, "presence-")),
        }
    }

    async fn send(&self, client: &Client) {
        match self {
            Op::Trigger {
                channels,
                event,
                data,
                socket_id,
                info,
            } => {
                let socket = socket_id
                    .as_ref()
                    .map(|s| SocketId::new(s.as_str()).unwrap());
                let t = match data {
                    Data::Raw(s) => client.trigger(channels.clone(), event, s.as_str()),
                    Data::Json(v) => client.trigger(channels.clone(), event, v),
                };
                t.exclude(socket).info(*info).await.unwrap();
            }
            Op::Batch(events) => {
                let events: Vec<BatchEvent> = events
                    .iter()
                    .map(|(channel, name, data, socket, info)| {
                        let e = match data {
                            Data::Raw(s) => BatchEvent::new(channel.as_str(), name, s.as_str()),
                            Data::Json(v) => BatchEvent::new(channel.as_str(), name, v),
                        };
                        e.unwrap()
                            .exclude(socket.as_ref().map(|s| SocketId::new(s.as_str()).unwrap()))
                            .info(*info)
                    })
                    .collect();
                client.trigger_batch(events).await.unwrap();
            }
            Op::SendToUser(user, event, data) => {
                let user = UserId::new(user.as_str()).unwrap();
                match data {
                    Data::Raw(s) => client.send_to_user(&user, event, s.as_str()).await.unwrap(),
                    Data::Json(v) => client.send_to_user(&user, event, v).await.unwrap(),
                }
            }
            Op::Terminate(user) => {
                client
                    .terminate_user_connections(&UserId::new(user.as_str()).unwrap())
                    .await
                    .unwrap();
            }
            Op::Channels(prefix, info) => {
                let mut q = client.channels().info(*info);
                if let Some(p) = prefix {
                    q = q.filter_by_prefix(p.as_str());
                }
                q.await.unwrap();
            }
            Op::ChannelInfo(channel, info) => {
                client.channel_info(channel.as_str(), *info).await.unwrap();
            }
            Op::Users(channel) => {
                client.presence_users(channel.as_str()).await.unwrap();
            }
        }
    }

    /// The Node SDK calls that do this operation's work, one per request the client must
    /// send, in order, built from the operation alone (never from what the client sent): a
    /// trigger's plain channels in groups of 100 as given (as Laravel splits them), then one
    /// request per encrypted channel; a batch a batch size at a time. With each call, the
    /// encrypted channels of its body, in order, whose nonces it must reuse.
    fn node_calls(&self) -> Vec<(Value, Vec<String>)> {
        let params = |socket: &Option<String>, info: Info| {
            let mut p = Vec::new();
            if let Some(s) = socket {
                p.push(json!(["socket_id", s]));
            }
            if let Some(i) = info.to_param() {
                p.push(json!(["info", i]));
            }
            Value::Array(p)
        };
        let encrypted = |c: &String| c.starts_with("private-encrypted-");
        match self {
            Op::Trigger {
                channels,
                event,
                data,
                socket_id,
                info,
            } => {
                let call = |channels: &[&String]| {
                    json!({"fn": "trigger", "channels": channels, "event": event, "data": data.node(),
                           "params": params(socket_id, *info)})
                };
                let plain: Vec<&String> = channels.iter().filter(|c| !encrypted(c)).collect();
                let mut calls: Vec<(Value, Vec<String>)> = plain
                    .chunks(pusher_rest::MAX_CHANNELS_PER_REQUEST)
                    .map(|chunk| (call(chunk), vec![]))
                    .collect();
                calls.extend(
                    channels
                        .iter()
                        .filter(|c| encrypted(c))
                        .map(|c| (call(&[c]), vec![c.clone()])),
                );
                calls
            }
            Op::Batch(events) => events
                .chunks(pusher_rest::DEFAULT_BATCH_SIZE)
                .map(|chunk| {
                    let items: Vec<Value> = chunk
                        .iter()
                        .map(|(channel, name, data, socket, info)| {
                            let mut e =
                                json!({"channel": channel, "name": name, "data": data.node()});
                            if let Some(s) = socket {
                                e["socket_id"] = json!(s);
                            }
                            if let Some(i) = info.to_param() {
                                e["info"] = json!(i);
                            }
                            e
                        })
                        .collect();
                    let sealed = chunk
                        .iter()
                        .filter(|e| encrypted(&e.0))
                        .map(|e| e.0.clone())
                        .collect();
                    (json!({"fn": "triggerBatch", "batch": items}), sealed)
                })
                .collect(),
            Op::SendToUser(user, event, data) => vec![(
                json!({"fn": "sendToUser", "user_id": user, "event": event, "data": data.node()}),
                vec![],
            )],
            Op::Terminate(user) => vec![(
                json!({"fn": "terminateUserConnections", "user_id": user}),
                vec![],
            )],
            Op::Channels(prefix, info) => {
                let mut p = Vec::new();
                if let Some(prefix) = prefix {
                    p.push(json!(["filter_by_prefix", prefix]));
                }
                if let Some(i) = info.to_param() {
                    p.push(json!(["info", i]));
                }
                vec![(
                    json!({"fn": "get", "path": "/channels", "params": p}),
                    vec![],
                )]
            }
            Op::ChannelInfo(channel, info) => {
                let p: Vec<Value> = info
                    .to_param()
                    .map(|i| json!(["info", i]))
                    .into_iter()
                    .collect();
                vec![(
                    json!({"fn": "get", "path": format!("/channels/{channel}"), "params": p}),
                    vec![],
                )]
            }
            Op::Users(channel) => vec![(
                json!({"fn": "get", "path": format!("/channels/{channel}/users"), "params": []}),
                vec![],
            )],
        }
    }
}

/// The nonces the Node SDK must use for the encrypted channels `expected` (in order), taken
/// from the request we sent where it carries that channel; a channel the request does not
/// carry at that place gets a nonce of zeros, so the bodies then differ.
fn nonces_for(expected: &[String], request: &common::Captured) -> Vec<String> {
    if expected.is_empty() {
        return Vec::new();
    }
    let body = request.json();
    let sealed: Vec<(String, String)> = match body.get("batch") {
        Some(batch) => batch
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["channel"].as_str().unwrap_or_default().to_owned(),
                    i["data"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        None => body["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c.as_str().unwrap_or_default().to_owned(),
                    body["data"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    };
    let mut sealed = sealed
        .into_iter()
        .filter(|(c, _)| c.starts_with("private-encrypted-"));
    expected
        .iter()
        .map(|channel| match sealed.next() {
            Some((c, data)) if c == *channel => {
                let data: Value = serde_json::from_str(&data).unwrap_or_default();
                data["nonce"].as_str().unwrap_or_default().to_owned()
            }
            _ => base64::engine::general_purpose::STANDARD.encode([0u8; 24]),
        })
        .collect()
}

#[test]
fn wire_requests_match_the_node_sdk() {
    let seed = seed();
    let mut rng = Rng(seed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Every answer reads as success for every operation (the users list included).
    let server = rt.block_on(common::start(|_| {
        common::Reply::Answer(200, r#"{"users":[]}"#.into())
    }));
    let total = cases();
    let mut inputs: Vec<Map<String, Value>> = Vec::new();
    let mut ours: Vec<(usize, common::Captured, App)> = Vec::new();
    let mut kinds: HashMap<&'static str, usize> = HashMap::new();
    // One request after another, so that the server sees them in the order they are made.
    let client_for = |app: &App| {
        Client::builder(app.credentials())
            .host("127.0.0.1")
            .port(server.addr.port())
            .split_concurrency(1)
            .build()
            .unwrap()
    };
    let mut app = App::random(&mut rng);
    let mut client = client_for(&app);
    let mut ops = Vec::new();
    let mut expected_requests = 0;
    for i in 0..total {
        if i % 25 == 0 {
            app = App::random(&mut rng);
            client = client_for(&app);
        }
        let op = Op::nth(&mut rng, i);
        let before = server.requests().len();
        rt.block_on(op.send(&client));
        let sent = server.requests();
        let sent = &sent[before..];
        assert!(
            !sent.is_empty(),
            "seed {seed} case {i}: nothing sent for {op:?}"
        );
        *kinds
            .entry(match &op {
                Op::Trigger { .. } if sent.len() > 1 => "trigger split in several requests",
                Op::Trigger { .. } => "trigger",
                Op::Batch(_) => "trigger_batch",
                Op::SendToUser(..) => "send_to_user",
                Op::Terminate(_) => "terminate_user_connections",
                Op::Channels(..) => "channels",
                Op::ChannelInfo(..) => "channel_info",
                Op::Users(_) => "presence_users",
            })
            .or_default() += 1;
        let calls = op.node_calls();
        assert_eq!(
            sent.len(),
            calls.len(),
            "seed {seed} case {i}: the client sent {} requests where {} were due, for {op:?}",
            sent.len(),
            calls.len()
        );
        expected_requests += calls.len();
        for ((call, sealed), request) in calls.into_iter().zip(sent) {
            let nonces = nonces_for(&sealed, request);
            let timestamp: u64 = request.param("auth_timestamp").unwrap().parse().unwrap();
            let mut input = app.json();
            input.insert("op".into(), json!("rest_request"));
            input.insert("timestamp".into(), json!(timestamp));
            input.insert("nonces".into(), json!(nonces));
            input.insert("call".into(), call);
            inputs.push(input);
            ours.push((i, request.clone(), app.clone()));
        }
        ops.push(op);
    }
    let answers = run_oracle(node(&["pusher", "tweetnacl"]), &inputs);
    let mut encrypted_checked = 0;
    for ((i, request, app), answer) in ours.iter().zip(&answers) {
        let ctx = format!("seed {seed} case {i} ({:?})", ops[*i]);
        let theirs = answer["ok"]
            .as_array()
            .unwrap_or_else(|| panic!("{ctx}: {answer}"));
        assert_eq!(theirs.len(), 1, "{ctx}: {answer}");
        let theirs = &theirs[0];
        assert_eq!(theirs["method"], request.method.as_str(), "{ctx}");
        assert_eq!(theirs["path"], request.path.as_str(), "{ctx}");
        assert_eq!(
            theirs["query"].as_str().unwrap(),
            decoded_query(&request.query),
            "{ctx}"
        );
        let their_body = theirs["body"].as_str().unwrap_or_default();
        assert_eq!(their_body.as_bytes(), &request.body[..], "{ctx}");
        // Where the Node SDK encrypted, we open its payload too.
        if let Ok(body) = serde_json::from_str::<Value>(their_body) {
            let credentials = app.credentials();
            let items = match body.get("batch") {
                Some(batch) => batch.as_array().unwrap().clone(),
                None => vec![json!({"channel": body["channels"][0], "data": body["data"]})],
            };
            for item in items {
                let channel = item["channel"].as_str().unwrap_or_default();
                if channel.starts_with("private-encrypted-") {
                    let channel = ChannelName::new(channel).unwrap();
                    decrypt(&credentials, &channel, item["data"].as_str().unwrap()).unwrap();
                    encrypted_checked += 1;
                }
            }
        }
    }
    eprintln!(
        "node wire requests, seed {seed}: {total} operations, {} requests identical, {encrypted_checked} encrypted payloads opened; {kinds:?}",
        ours.len()
    );
    assert_eq!(answers.len(), expected_requests);
    assert_eq!(ours.len(), expected_requests);
    for kind in [
        "trigger",
        "trigger split in several requests",
        "trigger_batch",
        "send_to_user",
        "terminate_user_connections",
        "channels",
        "channel_info",
        "presence_users",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} was checked: {kinds:?}"
        );
    }
    assert!(encrypted_checked > 0, "no encrypted payload was checked");
}

// ---------------------------------------------------------------------------------------------
// Encryption interop.

#[test]
fn tweetnacl_opens_what_we_seal() {
    let seed = seed();
    let mut rng = Rng(seed);
    let mut inputs = Vec::new();
    let mut expected = Vec::new();
    for i in 0..cases() {
        let app = App::random(&mut rng);
        let channel = ChannelName::new(channel_name(&mut rng, "private-encrypted-")).unwrap();
        let plaintext = match rng.below(3) {
            0 => rng.text(200),
            1 => object(&mut rng, 0).to_string(),
            _ => json_value(&mut rng, 1).to_string(),
        };
        let mut data = encrypt(&app.credentials(), &channel, &plaintext).unwrap();
        // One case in ten is tampered with: tweetnacl must refuse it.
        let tampered = i % 10 == 9;
        if tampered {
            let mut sealed: Value = serde_json::from_str(&data).unwrap();
            let engine = base64::engine::general_purpose::STANDARD;
            let mut ct = engine
                .decode(sealed["ciphertext"].as_str().unwrap())
                .unwrap();
            let at = rng.below(ct.len() as u64) as usize;
            ct[at] ^= 1 << rng.below(8);
            sealed["ciphertext"] = json!(engine.encode(ct));
            data = sealed.to_string();
        }
        let mut input = Map::new();
        input.insert("op".into(), json!("secretbox_open"));
        input.insert("key".into(), json!(app.key));
        input.insert("secret".into(), json!(app.secret));
        input.insert("master_key_base64".into(), json!(app.master));
        input.insert("channel".into(), json!(channel.as_str()));
        input.insert("data".into(), json!(data));
        inputs.push(input);
        expected.push((plaintext, tampered));
    }
    let answers = run_oracle(node(&["pusher", "tweetnacl"]), &inputs);
    let (mut opened, mut refused) = (0, 0);
    for (i, ((plaintext, tampered), answer)) in expected.iter().zip(&answers).enumerate() {
        let ctx = format!("seed {seed} case {i}");
        let answer = &answer["ok"];
        if *tampered {
            assert_eq!(answer["opened"], false, "{ctx}");
            refused += 1;
            continue;
        }
        assert_eq!(answer["opened"], true, "{ctx}: {answer}");
        assert_eq!(answer["text"].as_str().unwrap(), plaintext, "{ctx}");
        // What pusher-js emits: the parsed JSON, or the text when it is not JSON.
        let emitted = serde_json::from_str::<Value>(plaintext).unwrap_or_else(|_| json!(plaintext));
        assert_eq!(answer["emitted"], emitted, "{ctx}");
        opened += 1;
    }
    eprintln!("tweetnacl, seed {seed}: {opened} opened, {refused} tampered refused");
    assert_eq!(opened + refused, cases());
    assert!(
        opened > 0 && refused > 0,
        "{opened} opened, {refused} refused"
    );
}
