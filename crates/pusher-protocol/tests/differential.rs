//! Differential tests: the same random inputs signed by this crate and by the official SDKs
//! (npm `pusher` 5.3.4, PyPI `pusher` 3.3.4, crates.io `pusher` 0.4.5), compared byte for byte.
//!
//! The Node and Python SDKs run as child processes from `tests/js` and a virtual environment
//! that `scripts/install-test-tools` creates; a missing tool fails these tests (it never skips
//! them). Set `DIFF_SEED` to replay a run and `DIFF_CASES` to change the case count per kind
//! (at least 100: fewer would let the counts these tests assert on be zero).
//!
//! Webhook signatures: Pusher sends the HMAC-SHA256 of the body as 64 lowercase hex digits, and
//! the Node and Python SDKs compare the header's text with that spelling exactly. Our verifier
//! decodes the header into the 32-byte tag and compares the tag: it also accepts uppercase and
//! mixed-case hex, and spaces and tabs around the digits (not line breaks or other Unicode
//! whitespace, which the unit tests refuse). That is the intended
//! behaviour: every spelling of the correct tag is one the sender could only make with the
//! secret, so no forgery gets through that the SDKs would stop; HTTP already removes spaces and
//! tabs around a header value (RFC 9110, 5.5), so a caller that reads the header from a
//! framework that keeps them gets the same verdict as the layer; and the crates.io `pusher`
//! crate decodes either case too. The `webhook spelling` cases generate exactly those inputs
//! and assert the difference both ways: the SDKs refuse every other spelling, and we give it
//! the verdict the SDKs give the canonical spelling.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../../../tests/support/oracles.rs"]
mod oracles;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use oracles::{node, python, run_oracle};
use pusher_protocol::webhook::WebhookVerifier;
use pusher_protocol::{
    ChannelData, ChannelName, Credentials, PresenceMember, SocketId, UserData, UserId,
};
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
    /// Text with the characters JSON escaping is most likely to get wrong.
    fn text(&mut self, hi: usize) -> String {
        const POOL: &[&str] = &[
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}",
            "\u{1f}", "\u{7f}", "é", "☃", "😀", "\u{2028}", "\u{2029}", "<", ">", "&", "'", "%",
            "+", "=", ":", "{", "}",
        ];
        (0..self.range(0, hi)).map(|_| *self.pick(POOL)).collect()
    }
}

const NAME_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=@,.;";
const KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

fn seed() -> u64 {
    std::env::var("DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            t.as_secs() ^ u64::from(t.subsec_nanos())
        })
}

/// The fewest cases per kind a run may have.
const MIN_CASES: usize = 100;

fn cases_per_kind() -> usize {
    let n = std::env::var("DIFF_CASES")
        .ok()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("DIFF_CASES={s:?} is not a number"))
        })
        .unwrap_or(1000);
    assert!(
        n >= MIN_CASES,
        "DIFF_CASES={n}: at least {MIN_CASES} cases per kind, or the comparisons prove little"
    );
    n
}

#[derive(Clone)]
struct App {
    key: String,
    secret: String,
    master: Option<String>,
}

impl App {
    fn random(rng: &mut Rng, with_master: bool) -> App {
        let key = rng.chars_from(KEY_CHARS, 1, 24);
        // Secrets may hold any printable text; the HMAC key is its UTF-8 bytes.
        let mut secret = rng.chars_from("abcdefABCDEF0123456789", 1, 32);
        if rng.chance(20) {
            let extra: &str = rng.pick::<&str>(&["é", "☃", " ", "!", "😀"]);
            secret.push_str(extra);
        }
        let master = with_master.then(|| {
            use base64::Engine as _;
            let bytes: Vec<u8> = (0..32).map(|_| rng.below(256) as u8).collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        });
        App {
            key,
            secret,
            master,
        }
    }

    fn credentials(&self) -> Credentials {
        let c = Credentials::new(self.key.clone(), &self.secret).unwrap();
        match &self.master {
            Some(m) => c.with_encryption_master_key_base64(m).unwrap(),
            None => c,
        }
    }

    fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("key".into(), json!(self.key));
        m.insert("secret".into(), json!(self.secret));
        m.insert("master_key_base64".into(), json!(self.master));
        m
    }
}

fn socket_id(rng: &mut Rng) -> SocketId {
    let digits = "0123456789";
    SocketId::new(format!(
        "{}.{}",
        rng.chars_from(digits, 1, 20),
        rng.chars_from(digits, 1, 20)
    ))
    .unwrap()
}

fn channel(rng: &mut Rng, prefix: &str) -> ChannelName {
    let max = ChannelName::MAX_LEN - prefix.len();
    ChannelName::new(format!(
        "{prefix}{}",
        rng.chars_from(NAME_CHARS, 1, max.min(60))
    ))
    .unwrap()
}

/// User ids: numbers, channel-name characters, and (since the protocol asks only for a
/// non-empty string) ids from identity providers, e-mail addresses and arbitrary text.
fn user_id(rng: &mut Rng) -> UserId {
    match rng.below(10) {
        0..=2 => UserId::from(rng.below(1 << 53)),
        3..=5 => UserId::new(rng.chars_from(NAME_CHARS, 1, 40)).unwrap(),
        6 => UserId::new(format!(
            "{}|{}",
            rng.pick(&["auth0", "google-oauth2", "github", "samlp|acme"][..]),
            rng.chars_from("0123456789abcdef", 8, 24)
        ))
        .unwrap(),
        7 => UserId::new(format!(
            "{}+{}@{}.com",
            rng.chars_from(NAME_CHARS, 1, 8),
            rng.chars_from(KEY_CHARS, 1, 6),
            rng.chars_from(KEY_CHARS, 1, 8)
        ))
        .unwrap(),
        _ => loop {
            let text = rng.text(40);
            if !text.is_empty() {
                break UserId::new(text).unwrap();
            }
        },
    }
}

/// Whether the Python SDK's user-id rule (the channel-name charset) accepts `id`.
fn python_accepts_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| NAME_CHARS.as_bytes().contains(&b))
}

/// A JSON value without floats (number formatting differs between languages by design).
fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 4 } else { 6 }) {
        0 => json!(rng.text(12)),
        1 => json!(rng.below(1 << 53) as i64 - (1i64 << 52)),
        2 => json!(rng.chance(50)),
        3 => Value::Null,
        4 => Value::Array(
            (0..rng.range(0, 3))
                .map(|_| value(rng, depth + 1))
                .collect(),
        ),
        _ => object(rng, depth + 1),
    }
}

/// An object whose keys never look like array indexes (JavaScript would reorder those).
fn object(rng: &mut Rng, depth: usize) -> Value {
    let mut m = Map::new();
    for _ in 0..rng.range(0, 4) {
        let key = format!("k{}", rng.text(6));
        m.insert(key, value(rng, depth));
    }
    Value::Object(m)
}

fn user_info(rng: &mut Rng) -> Value {
    loop {
        let v = object(rng, 0);
        if serde_json::to_string(&v).unwrap().len() <= pusher_protocol::MAX_USER_INFO_BYTES {
            return v;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cases and what this crate answers.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Private,
    PresenceBare,
    PresenceInfo,
    Encrypted,
    User,
    Webhook,
    /// A webhook whose signature is spelled other than Pusher spells it (see the module docs).
    WebhookSpelling,
}

const KINDS: [Kind; 7] = [
    Kind::Private,
    Kind::PresenceBare,
    Kind::PresenceInfo,
    Kind::Encrypted,
    Kind::User,
    Kind::Webhook,
    Kind::WebhookSpelling,
];

struct Case {
    kind: Kind,
    app: App,
    /// What this crate answers: the JSON the SDK is expected to give.
    ours: Value,
    /// The case as the oracles read it.
    input: Map<String, Value>,
    /// For [`Kind::WebhookSpelling`]: the same case with the signature spelled as Pusher does.
    spelling: Option<Spelling>,
}

/// The canonical form of a respelled webhook signature, and how it was respelled.
struct Spelling {
    /// The case with the signature as generated (lowercase hex, or the malformed text).
    canonical_input: Map<String, Value>,
    /// What this crate answers for it.
    canonical_ours: Value,
    /// `upper`, `mixed`, `padded` or `upper+padded`.
    how: &'static str,
}

fn make_case(rng: &mut Rng, kind: Kind) -> Case {
    let app = App::random(rng, kind == Kind::Encrypted);
    let c = app.credentials();
    let socket = socket_id(rng);
    let mut input = app.json();
    input.insert("socket_id".into(), json!(socket.as_str()));
    let mut spelling = None;
    let ours = match kind {
        Kind::Private | Kind::Encrypted => {
            let ch = channel(
                rng,
                if kind == Kind::Private {
                    "private-"
                } else {
                    "private-encrypted-"
                },
            );
            input.insert("op".into(), json!("channel"));
            input.insert("channel".into(), json!(ch.as_str()));
            input.insert("data".into(), Value::Null);
            serde_json::to_value(c.authorize_channel(&socket, &ch).unwrap()).unwrap()
        }
        Kind::PresenceBare | Kind::PresenceInfo => {
            let ch = channel(rng, "presence-");
            let id = user_id(rng);
            let data = if kind == Kind::PresenceInfo {
                PresenceMember::new(id)
                    .with_info(user_info(rng))
                    .to_channel_data()
            } else {
                PresenceMember::new(id).to_channel_data()
            };
            let auth = c.authorize_presence(&socket, &ch, &data.unwrap()).unwrap();
            input.insert("op".into(), json!("channel"));
            input.insert("channel".into(), json!(ch.as_str()));
            // The member as data: parsed from our own serialization, so key order is shared.
            input.insert(
                "data".into(),
                serde_json::from_str(auth.channel_data().unwrap()).unwrap(),
            );
            serde_json::to_value(auth).unwrap()
        }
        Kind::User => {
            let mut user = UserData::new(user_id(rng)).with_info(user_info(rng));
            if rng.chance(30) {
                user = user.with_watchlist((0..rng.range(1, 5)).map(|_| user_id(rng)));
            }
            let data = if rng.chance(30) {
                UserData::new(user.id().clone()).to_user_data()
            } else {
                user.to_user_data()
            };
            let auth = c.authenticate_user(&socket, &data.unwrap());
            input.insert("op".into(), json!("user"));
            input.insert(
                "user_data".into(),
                serde_json::from_str(auth.user_data()).unwrap(),
            );
            serde_json::to_value(auth).unwrap()
        }
        Kind::Webhook => webhook_case(rng, &app, &mut input),
        Kind::WebhookSpelling => {
            let canonical_ours = webhook_case(rng, &app, &mut input);
            let canonical_input = input.clone();
            let signature = canonical_input["signature"].as_str().unwrap();
            let (respelled, how) = respell(rng, signature);
            input.insert("signature".into(), json!(respelled));
            let key_header = input["key_header"].as_str().unwrap();
            let body = input["body"].as_str().unwrap();
            let ours = webhook_verdict(&app, key_header, &respelled, body);
            spelling = Some(Spelling {
                canonical_input,
                canonical_ours,
                how,
            });
            ours
        }
    };
    Case {
        kind,
        app,
        ours,
        input,
        spelling,
    }
}

/// `signature` spelled otherwise: uppercase or mixed-case hex, spaces and tabs around it, or
/// both.
/// Never the same text (a signature without letters is padded instead).
fn respell(rng: &mut Rng, signature: &str) -> (String, &'static str) {
    const PADS: &[&str] = &["", " ", "  ", "\t", " \t", "\t\t "];
    let pad = |rng: &mut Rng, s: &str| loop {
        let (before, after) = (*rng.pick(PADS), *rng.pick(PADS));
        if !before.is_empty() || !after.is_empty() {
            break format!("{before}{s}{after}");
        }
    };
    let upper = signature.to_ascii_uppercase();
    let has_letters = upper != signature;
    match rng.below(4) {
        0 if has_letters => (upper, "upper"),
        1 if has_letters => loop {
            // Some letters uppercased, at least one, and not all of them.
            let mixed: String = signature
                .chars()
                .map(|c| {
                    if c.is_ascii_lowercase() && rng.chance(50) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            let letters = signature.bytes().filter(u8::is_ascii_lowercase).count();
            if mixed != signature && (mixed != upper || letters < 2) {
                break (mixed, "mixed");
            }
        },
        2 if has_letters => (pad(rng, &upper), "upper+padded"),
        _ => (pad(rng, signature), "padded"),
    }
}

fn webhook_verdict(app: &App, key_header: &str, signature: &str, body: &str) -> Value {
    match WebhookVerifier::new(app.credentials()).verify(key_header, signature, body.as_bytes()) {
        Ok(w) => json!({"valid": true, "events": serde_json::to_value(w.events()).unwrap()}),
        Err(_) => json!({"valid": false, "events": null}),
    }
}

fn webhook_event(rng: &mut Rng) -> Value {
    let prefix = *rng.pick(&["", "private-", "presence-", "cache-"][..]);
    let ch = channel(rng, prefix).into_string();
    match rng.below(7) {
        0 => json!({"name": "channel_occupied", "channel": ch}),
        1 => json!({"name": "channel_vacated", "channel": ch}),
        2 => json!({"name": "member_added", "channel": ch, "user_id": user_id(rng).as_str()}),
        3 => json!({"name": "member_removed", "channel": ch, "user_id": user_id(rng).as_str()}),
        4 => {
            let mut e = json!({"name": "client_event", "channel": ch, "event": format!("client-{}", rng.chars_from(NAME_CHARS, 1, 20)),
                "data": serde_json::to_string(&object(rng, 0)).unwrap(), "socket_id": socket_id(rng).as_str()});
            if rng.chance(50) {
                e["user_id"] = json!(user_id(rng).as_str());
            }
            e
        }
        5 => json!({"name": "cache_miss", "channel": ch}),
        _ => {
            json!({"name": "subscription_count", "channel": ch, "subscription_count": rng.below(100_000)})
        }
    }
}

fn webhook_case(rng: &mut Rng, app: &App, input: &mut Map<String, Value>) -> Value {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let events: Vec<Value> = (0..rng.range(0, 4)).map(|_| webhook_event(rng)).collect();
    let mut body = serde_json::to_string(&json!({"time_ms": now_ms, "events": events})).unwrap();
    if rng.chance(20) {
        body = serde_json::to_string_pretty(&json!({"time_ms": now_ms, "events": events})).unwrap();
    }
    let credentials = app.credentials();
    let good = credentials.sign_hex(body.as_bytes());
    let (key_header, signature) = match rng.below(20) {
        // A flipped hex digit.
        0..=2 => {
            let mut s = good.into_bytes();
            let i = rng.below(64) as usize;
            s[i] = if s[i] == b'0' { b'1' } else { b'0' };
            (app.key.clone(), String::from_utf8(s).unwrap())
        }
        // The signature of another secret.
        3 => (
            app.key.clone(),
            Credentials::new("x", format!("{}x", app.secret))
                .unwrap()
                .sign_hex(body.as_bytes()),
        ),
        // Another key.
        4 => (format!("{}x", app.key), good),
        // Not hex at all, or the wrong length.
        5 => (
            app.key.clone(),
            rng.pick(&["", "zz", "not-a-signature"]).to_string(),
        ),
        6 => (app.key.clone(), good[..62].to_string()),
        _ => (app.key.clone(), good),
    };
    input.insert("op".into(), json!("webhook"));
    input.insert("key_header".into(), json!(key_header));
    input.insert("signature".into(), json!(signature));
    input.insert("body".into(), json!(body));
    webhook_verdict(app, &key_header, &signature, &body)
}

fn generate(seed: u64, n: usize) -> Vec<Case> {
    let mut rng = Rng(seed);
    let mut cases = Vec::new();
    for kind in KINDS {
        for _ in 0..n {
            cases.push(make_case(&mut rng, kind));
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Oracles.

#[derive(Default, Debug)]
struct Tally {
    identical: HashMap<&'static str, usize>,
    total: HashMap<&'static str, usize>,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Private => "private",
        Kind::PresenceBare => "presence",
        Kind::PresenceInfo => "presence+info",
        Kind::Encrypted => "encrypted",
        Kind::User => "user",
        Kind::Webhook => "webhook",
        Kind::WebhookSpelling => "webhook spelling",
    }
}

/// Counts of the respelled-signature cases, by how they were respelled and by verdict.
#[derive(Default)]
struct SpellingTally {
    how: HashMap<&'static str, usize>,
    accepted: usize,
    refused: usize,
}

impl SpellingTally {
    /// Checks one respelled case against the SDK's verdicts on its two spellings.
    fn check(&mut self, case: &Case, theirs: &Value, their_canonical: &Value, context: &str) {
        let spelling = case.spelling.as_ref().unwrap();
        let theirs = json!({"valid": theirs["valid"], "events": theirs["events"]});
        let their_canonical =
            json!({"valid": their_canonical["valid"], "events": their_canonical["events"]});
        // The SDK and we agree on the signature as Pusher spells it...
        assert_eq!(
            spelling.canonical_ours, their_canonical,
            "{context}: canonical spelling {:?}",
            spelling.canonical_input["signature"]
        );
        // ...the SDK compares the text, so it refuses any other spelling...
        assert_eq!(
            theirs,
            json!({"valid": false, "events": null}),
            "{context}: the SDK accepted a signature spelled {} ({:?}); our verifier's leniency is no longer a difference",
            spelling.how,
            case.input["signature"]
        );
        // ...and we compare the tag: the verdict of the canonical spelling, whatever the spelling.
        assert_eq!(
            case.ours, spelling.canonical_ours,
            "{context}: a signature spelled {} ({:?}) got another verdict than its canonical spelling {:?}",
            spelling.how, case.input["signature"], spelling.canonical_input["signature"]
        );
        *self.how.entry(spelling.how).or_default() += 1;
        if case.ours["valid"] == true {
            self.accepted += 1;
        } else {
            self.refused += 1;
        }
    }

    /// Prints the counts and asserts that every respelling, and both verdicts, occurred.
    fn report(&self, sdk: &str, seed: u64) {
        let mut how: Vec<_> = self.how.iter().collect();
        how.sort();
        println!(
            "{sdk} seed={seed} webhook spelling: {} cases ({how:?}); {} correct tags in another spelling accepted by us and refused by the SDK, {} wrong or malformed refused by both",
            self.accepted + self.refused,
            self.accepted,
            self.refused
        );
        assert!(self.accepted + self.refused >= MIN_CASES);
        for h in ["upper", "mixed", "padded", "upper+padded"] {
            assert!(
                self.how.get(h).copied().unwrap_or(0) > 0,
                "no signature spelled {h}"
            );
        }
        assert!(self.accepted > 0, "no correct tag in another spelling");
        assert!(self.refused > 0, "no wrong tag in another spelling");
    }
}

/// The oracle inputs for `cases`: each case's input, then, for a respelled webhook, its
/// canonical spelling. `split` gives each case its result(s) back.
fn oracle_inputs(cases: &[Case]) -> Vec<Map<String, Value>> {
    let mut inputs = Vec::new();
    for case in cases {
        inputs.push(case.input.clone());
        if let Some(s) = &case.spelling {
            inputs.push(s.canonical_input.clone());
        }
    }
    inputs
}

/// Each case's result, and for a respelled webhook the result of its canonical spelling.
fn split<'a>(cases: &[Case], results: &'a [Value]) -> Vec<(&'a Value, Option<&'a Value>)> {
    let mut out = Vec::new();
    let mut results = results.iter();
    for case in cases {
        let result = results.next().expect("a result for every input");
        let canonical = case
            .spelling
            .as_ref()
            .map(|_| results.next().expect("a result for every input"));
        out.push((result, canonical));
    }
    assert!(results.next().is_none(), "more results than inputs");
    out
}

fn report(sdk: &str, seed: u64, tally: &Tally) {
    let mut kinds: Vec<_> = tally.total.keys().collect();
    kinds.sort();
    for k in kinds {
        println!(
            "{sdk} seed={seed} {k}: {}/{} identical",
            tally.identical.get(k).unwrap_or(&0),
            tally.total[k]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn node_sdk_agrees_byte_for_byte() {
    let seed = seed();
    let cases = generate(seed, cases_per_kind());
    let results = run_oracle(node(&["pusher"]), &oracle_inputs(&cases));
    let mut tally = Tally::default();
    let mut spellings = SpellingTally::default();
    for (i, (case, (result, canonical))) in cases.iter().zip(split(&cases, &results)).enumerate() {
        let ok = |result: &'_ Value| -> Value {
            result.get("ok").cloned().unwrap_or_else(|| {
                panic!(
                    "seed {seed} case {i}: the Node SDK refused {:?}: {result}",
                    case.input
                )
            })
        };
        let theirs = ok(result);
        if case.kind == Kind::WebhookSpelling {
            let context = format!("seed {seed} case {i}");
            spellings.check(case, &theirs, &ok(canonical.unwrap()), &context);
            continue;
        }
        let theirs = if case.kind == Kind::Webhook {
            json!({"valid": theirs["valid"], "events": theirs["events"]})
        } else {
            theirs
        };
        assert_eq!(
            case.ours, theirs,
            "seed {seed} case {i} ({:?}): input {:?}",
            case.kind, case.input
        );
        *tally.identical.entry(kind_name(case.kind)).or_default() += 1;
        *tally.total.entry(kind_name(case.kind)).or_default() += 1;
    }
    report("node pusher@5.3.4", seed, &tally);
    spellings.report("node pusher@5.3.4", seed);
    // Every kind compared (the respelled webhooks in `spellings`).
    assert_eq!(tally.total.len(), KINDS.len() - 1);
    assert!(tally.total.values().all(|&n| n >= cases_per_kind()));
    // Both verdicts occur, so the webhook comparison is not one-sided.
    let valid = cases
        .iter()
        .filter(|c| c.kind == Kind::Webhook && c.ours["valid"] == true)
        .count();
    println!(
        "node pusher@5.3.4 seed={seed} webhook: {valid} valid, {} refused",
        cases_per_kind() - valid
    );
    assert!(valid > 0 && valid < cases_per_kind());
}

#[test]
fn python_sdk_agrees() {
    let seed = seed();
    let cases = generate(seed ^ 0x5151, cases_per_kind());
    // Each case twice: with the SDK's default json.dumps and with a compact encoder (a
    // respelled webhook signature, with its canonical spelling after it each time).
    let mut inputs = Vec::new();
    for encoder in ["default", "compact"] {
        for mut input in oracle_inputs(&cases) {
            input.insert("encoder".into(), json!(encoder));
            inputs.push(input);
        }
    }
    let results = run_oracle(python(), &inputs);
    let (default_results, compact_results) = results.split_at(results.len() / 2);
    let by_encoder = [
        split(&cases, default_results),
        split(&cases, compact_results),
    ];
    let mut tally = Tally::default();
    let mut spellings = SpellingTally::default();
    let mut python_refused: HashMap<&'static str, usize> = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        for (j, encoder) in ["default", "compact"].into_iter().enumerate() {
            let (result, canonical) = by_encoder[j][i];
            let name = kind_name(case.kind);
            if case.kind == Kind::WebhookSpelling {
                // The encoder plays no part in a webhook: one check per case.
                if encoder == "compact" {
                    continue;
                }
                let ok = |r: &Value| -> Value {
                    r.get("ok").cloned().unwrap_or_else(|| {
                        panic!(
                            "seed {seed} case {i}: the Python SDK refused {:?}: {r}",
                            case.input
                        )
                    })
                };
                let context = format!("seed {seed} case {i} ({encoder})");
                spellings.check(case, &ok(result), &ok(canonical.unwrap()), &context);
                continue;
            }
            // The Python SDK alone applies the channel-name charset to sign-in user ids; we
            // accept what the protocol (and pusher-js, and the Node SDK) accept.
            if case.kind == Kind::User {
                let id = case.input["user_data"]["id"].as_str().unwrap();
                if !python_accepts_user_id(id) {
                    assert!(
                        result["err"].as_str().is_some_and(|e| e.contains("Invalid user id")),
                        "seed {seed} case {i}: the Python SDK should refuse user id {id:?}: {result}"
                    );
                    if encoder == "compact" {
                        *python_refused.entry(name).or_default() += 1;
                    }
                    continue;
                }
            }
            let theirs = result.get("ok").unwrap_or_else(|| {
                panic!(
                    "seed {seed} case {i}: the Python SDK refused {:?}: {result}",
                    case.input
                )
            });
            let label = if encoder == "compact" {
                format!("{name} (compact encoder)")
            } else {
                name.to_string()
            };
            let label: &'static str = Box::leak(label.into_boxed_str());
            *tally.total.entry(label).or_default() += 1;
            let context = format!(
                "seed {seed} case {i} ({:?}, {encoder}): input {:?}",
                case.kind, case.input
            );
            match case.kind {
                Kind::Webhook => assert_eq!(case.ours, *theirs, "{context}"),
                Kind::WebhookSpelling => unreachable!("checked above"),
                Kind::Private | Kind::Encrypted => assert_eq!(case.ours, *theirs, "{context}"),
                Kind::PresenceBare | Kind::PresenceInfo | Kind::User => {
                    let field = if case.kind == Kind::User {
                        "user_data"
                    } else {
                        "channel_data"
                    };
                    let their_data = theirs[field].as_str().unwrap();
                    let our_data = case.ours[field].as_str().unwrap();
                    // Same data, whatever the serialization.
                    assert_eq!(
                        serde_json::from_str::<Value>(their_data).unwrap(),
                        serde_json::from_str::<Value>(our_data).unwrap(),
                        "{context}"
                    );
                    if encoder == "compact" || their_data == our_data {
                        assert_eq!(case.ours, *theirs, "{context}");
                    } else {
                        // Different bytes: our signature over *their* bytes must equal theirs.
                        let c = case.app.credentials();
                        let socket =
                            SocketId::new(case.input["socket_id"].as_str().unwrap()).unwrap();
                        let auth = if case.kind == Kind::User {
                            let sts = format!("{socket}::user::{their_data}");
                            format!("{}:{}", c.key(), c.sign_hex(sts.as_bytes()))
                        } else {
                            let ch =
                                ChannelName::new(case.input["channel"].as_str().unwrap()).unwrap();
                            let data = ChannelData::new(their_data).unwrap();
                            c.authorize_presence(&socket, &ch, &data)
                                .unwrap()
                                .auth()
                                .to_string()
                        };
                        assert_eq!(auth, theirs["auth"].as_str().unwrap(), "{context}");
                        continue;
                    }
                }
            }
            *tally.identical.entry(label).or_default() += 1;
        }
    }
    report("python pusher==3.3.4", seed, &tally);
    let refused = python_refused.get("user").copied().unwrap_or(0);
    println!(
        "python pusher==3.3.4 seed={seed} user: {refused}/{} refused by the SDK for a user id outside the channel-name charset (accepted by pusher-js, the Node SDK and us)",
        cases_per_kind()
    );
    assert!(refused > 0, "the generator makes ids outside the charset");
    spellings.report("python pusher==3.3.4", seed);
    // With the compact encoder, every case the SDK accepts is byte-identical.
    for kind in KINDS.into_iter().filter(|&k| k != Kind::WebhookSpelling) {
        let label = format!("{} (compact encoder)", kind_name(kind));
        let expected = cases_per_kind() - python_refused.get(kind_name(kind)).copied().unwrap_or(0);
        assert_eq!(
            tally.identical.get(label.as_str()),
            Some(&expected),
            "{label}"
        );
    }
}

#[test]
fn rust_pusher_crate_agrees() {
    let seed = seed();
    let mut rng = Rng(seed ^ 0xC0DE);
    let n = cases_per_kind();
    let (mut private, mut presence_identical, mut presence_total, mut webhooks) = (0, 0, 0, 0);
    let (mut webhooks_valid, mut webhooks_upper) = (0, 0);
    for i in 0..n {
        let app = App::random(&mut rng, false);
        let c = app.credentials();
        let theirs = pusher::PusherBuilder::new("1", &app.key, &app.secret).finalize();
        let socket = socket_id(&mut rng);

        // Private: the crate returns a JSON string.
        let ch = channel(&mut rng, "private-");
        let answer = theirs
            .authenticate_private_channel(ch.as_str(), socket.as_str())
            .unwrap();
        assert_eq!(
            answer,
            c.authorize_channel(&socket, &ch).unwrap().to_json(),
            "seed {seed} case {i}"
        );
        private += 1;

        // Presence: the crate's user info is a string-to-string map (`None` becomes `null`).
        let ch = channel(&mut rng, "presence-");
        let id = user_id(&mut rng);
        let info: Option<HashMap<String, String>> = match rng.below(3) {
            0 => None,
            1 => Some(HashMap::from([(format!("k{}", rng.text(5)), rng.text(10))])),
            _ => Some(
                (0..rng.range(2, 4))
                    .map(|_| (format!("k{}", rng.text(5)), rng.text(10)))
                    .collect(),
            ),
        };
        let member = pusher::Member {
            user_id: id.as_str(),
            user_info: info
                .as_ref()
                .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()),
        };
        let answer: Value = serde_json::from_str(
            &theirs
                .authenticate_presence_channel(ch.as_str(), socket.as_str(), &member)
                .unwrap(),
        )
        .unwrap();
        let their_data = answer["channel_data"].as_str().unwrap();
        let data = match &info {
            Some(map) => PresenceMember::new(id.clone())
                .with_info(map)
                .to_channel_data(),
            None => PresenceMember::new(id.clone()).to_channel_data(),
        };
        let ours = c.authorize_presence(&socket, &ch, &data.unwrap()).unwrap();
        presence_total += 1;
        if ours.channel_data() == Some(their_data) {
            assert_eq!(
                serde_json::to_value(&ours).unwrap(),
                answer,
                "seed {seed} case {i}"
            );
            presence_identical += 1;
        } else {
            // `null` user info or another map order: our signature over their bytes must match.
            match ChannelData::new(their_data) {
                Ok(data) => {
                    let resigned = c.authorize_presence(&socket, &ch, &data).unwrap();
                    assert_eq!(
                        serde_json::to_value(&resigned).unwrap(),
                        answer,
                        "seed {seed} case {i}"
                    );
                }
                // `"user_info":null` is not a valid member for Pusher ("must be a hash"), so
                // `ChannelData` refuses it; the signature over the crate's bytes still agrees.
                Err(_) => {
                    assert!(
                        their_data.contains(r#""user_info":null"#),
                        "seed {seed} case {i}"
                    );
                    let sts = format!("{socket}:{ch}:{their_data}");
                    assert_eq!(
                        answer["auth"].as_str().unwrap(),
                        format!("{}:{}", c.key(), c.sign_hex(sts.as_bytes())),
                        "seed {seed} case {i}"
                    );
                }
            }
        }

        // Webhooks with string-only fields and well-formed signatures (the crate panics on others).
        let events: Vec<Value> = (0..rng.range(0, 3))
            .map(|_| json!({"name": "member_added", "channel": channel(&mut rng, "presence-").as_str(), "user_id": user_id(&mut rng).as_str()}))
            .collect();
        let body = serde_json::to_string(&json!({"time_ms": 1, "events": events})).unwrap();
        let mut sig = c.sign_hex(body.as_bytes());
        if rng.chance(30) {
            sig = c.sign_hex(format!("{body} ").as_bytes());
        }
        // The crate decodes the hex in either case, as we do (it panics on whitespace).
        if rng.chance(30) && sig.bytes().any(|b| b.is_ascii_lowercase()) {
            sig = sig.to_ascii_uppercase();
            webhooks_upper += 1;
        }
        let their_ok = theirs.webhook(&app.key, &sig, &body).is_ok();
        let ours = WebhookVerifier::new(c.clone()).without_max_age().verify(
            &app.key,
            &sig,
            body.as_bytes(),
        );
        assert_eq!(their_ok, ours.is_ok(), "seed {seed} case {i}");
        if let Ok(w) = ours {
            webhooks_valid += 1;
            let theirs = theirs.webhook(&app.key, &sig, &body).unwrap();
            let theirs: Vec<Value> = theirs
                .events
                .iter()
                .map(|e| serde_json::to_value(e).unwrap())
                .collect();
            assert_eq!(
                serde_json::to_value(w.events()).unwrap(),
                Value::Array(theirs),
                "seed {seed} case {i}"
            );
        }
        webhooks += 1;
    }
    println!("crates.io pusher 0.4.5 seed={seed}: private {private}/{n} identical; presence {presence_identical}/{presence_total} identical bytes, all {presence_total} signatures agree; webhook verdicts {webhooks}/{n} agree ({webhooks_valid} valid, {} refused; {webhooks_upper} in uppercase hex)", webhooks - webhooks_valid);
    assert!(private >= MIN_CASES && presence_total >= MIN_CASES && webhooks >= MIN_CASES);
    assert!(presence_identical > 0);
    assert!(webhooks_valid > 0 && webhooks_valid < webhooks);
    assert!(webhooks_upper > 0);
}

#[test]
fn node_sdk_validation_agrees_on_socket_ids_and_channel_names() {
    // The Node SDK's validators, fed random near-valid inputs, against ours. Lengths stay within
    // 164 (the documented limit we enforce; the SDKs allow 200).
    let seed = seed();
    let mut rng = Rng(seed ^ 0xBAD);
    let app = App::random(&mut rng, false);
    let mut inputs = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..cases_per_kind() {
        let socket = match rng.below(6) {
            0 => rng.chars_from("0123456789.", 0, 12),
            1 => format!(
                "{}.{}",
                rng.chars_from("0123456789", 1, 5),
                rng.chars_from("0123456789:a\n ١", 1, 5)
            ),
            _ => socket_id(&mut rng).into_string(),
        };
        let name = match rng.below(4) {
            0 => format!("private-{}", rng.text(10)),
            1 => format!("private-{}", rng.chars_from("abc:#/ %é", 1, 10)),
            _ => channel(&mut rng, "private-").into_string(),
        };
        let accepted =
            SocketId::new(socket.as_str()).is_ok() && ChannelName::new(name.as_str()).is_ok();
        ours.push(accepted);
        let mut input = app.json();
        input.insert("op".into(), json!("channel"));
        input.insert("socket_id".into(), json!(socket));
        input.insert("channel".into(), json!(name));
        input.insert("data".into(), Value::Null);
        inputs.push(input);
    }
    let results = run_oracle(node(&["pusher"]), &inputs);
    let mut rejected = 0;
    for ((input, result), accepted) in inputs.iter().zip(&results).zip(&ours) {
        assert_eq!(
            result.get("ok").is_some(),
            *accepted,
            "seed {seed}: {input:?} -> {result}"
        );
        rejected += usize::from(!accepted);
    }
    println!(
        "validation seed={seed}: {} inputs, {rejected} rejected by both, the rest accepted by both",
        inputs.len()
    );
    assert!(rejected > 0 && rejected < inputs.len());
}
