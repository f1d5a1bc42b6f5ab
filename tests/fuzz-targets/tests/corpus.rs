//! Replays the committed fuzz corpora (and every crash found, kept there as a regression) through
//! the fuzz targets' bodies, so the fast part of fuzzing runs in the ordinary test command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        count += 1;
    }
    assert!(count > 0, "no corpus in {}", dir.display());
    println!("{target}: {count} corpus inputs replayed");
}

#[test]
fn request_corpus() {
    replay("request", pusher_auth_fuzz_targets::request);
}

#[test]
fn names_corpus() {
    replay("names", pusher_auth_fuzz_targets::names);
}

#[test]
fn webhook_corpus() {
    replay("webhook", pusher_auth_fuzz_targets::webhook);
}

#[test]
fn route_params_corpus() {
    replay("route_params", pusher_auth_fuzz_targets::route_params);
}

#[test]
fn channel_data_corpus() {
    replay("channel_data", pusher_auth_fuzz_targets::channel_data);
}

#[test]
fn rest_answers_corpus() {
    replay("rest_answers", pusher_auth_fuzz_targets::rest_answers);
}

#[test]
fn rest_errors_corpus() {
    replay("rest_errors", pusher_auth_fuzz_targets::rest_errors);
}
