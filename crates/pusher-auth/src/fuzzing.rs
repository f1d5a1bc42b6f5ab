//! The bodies of the fuzz targets in `fuzz/`, kept here so that the committed corpora also run
//! as ordinary tests (`tests/fuzz_corpus.rs`). Each function must never panic, whatever the
//! input; the properties it checks panic on purpose when they do not hold.
#![allow(clippy::panic, missing_docs)]

use crate::request::{parse_channel_request, parse_user_request, BodyFormat, Channels, Limits};
use pusher_protocol::WebhookVerifier;
use pusher_protocol::{ChannelName, Credentials, SocketId, UserId};

/// The request parsers, in both formats; an accepted request holds valid names.
pub fn request(data: &[u8]) {
    for format in [BodyFormat::Form, BodyFormat::Json] {
        if let Ok(req) = parse_channel_request(format, data, &Limits::default()) {
            if SocketId::new(req.socket_id().as_str()).is_err() {
                panic!("an accepted socket id does not validate");
            }
            if let Channels::Batch(entries) = req.channels() {
                if entries.len() > Limits::default().max_batch {
                    panic!("batch limit not enforced");
                }
            }
        }
        let _ = parse_user_request(format, data, &Limits::default());
    }
}

/// The name validators and the URL parser; validation is consistent with display.
pub fn names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(channel) = ChannelName::new(text) {
        let rebuilt = format!(
            "{}{}",
            channel.kind().prefix(),
            channel.name_without_prefix()
        );
        if rebuilt != text {
            panic!("kind prefix and name do not rebuild the channel name");
        }
    }
    let _ = SocketId::new(text);
    let _ = UserId::new(text);
    let _ = Credentials::from_url(text);
    let _ = crate::request::BodyFormat::from_content_type(text);
}

/// Webhook verification: the first byte picks the signature (correct, or taken from the input),
/// the rest is the body. A correct signature over junk is a body error, never a panic.
pub fn webhook(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(credentials) = Credentials::new("fuzz-key", "fuzz-secret") else {
        return;
    };
    let verifier = WebhookVerifier::new(credentials.clone());
    let (signature, body) = if mode % 2 == 0 {
        (credentials.sign_hex(rest), rest)
    } else {
        let split = rest.len().min(usize::from(mode) % 80);
        let (sig, body) = rest.split_at(split);
        (String::from_utf8_lossy(sig).into_owned(), body)
    };
    let _ = verifier.verify("fuzz-key", &signature, body);
    let _ = verifier.verify(&String::from_utf8_lossy(rest), &signature, body);
}
