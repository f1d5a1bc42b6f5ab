//! Lists the public API of each published crate and compares it with the committed listing
//! (`crates/<crate>/public-api.txt`), so that any change to the surface shows in the diff.
//!
//! ```text
//! cargo run -p public-api-listing            # check: fails, naming the crate, when they differ
//! cargo run -p public-api-listing -- --bless # write the listings anew
//! ```
//!
//! The listing comes from rustdoc's JSON output (an unstable rustdoc format, enabled on the
//! stable toolchain with `RUSTC_BOOTSTRAP=1`), rendered by the `public-api` crate, all features
//! on, blanket implementations left out (they follow from the items listed). Auto-trait
//! implementations (`Send`, `Sync`, `Unpin`, the unwind-safety traits) are kept on purpose:
//! losing one is a breaking change that nothing else would show.
//!
//! The rendering depends on the toolchain's rustdoc (its JSON format and how it prints paths):
//! after a toolchain update, a difference with no change to the code is blessed in its own
//! commit.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The crates users depend on, and whose surface is therefore reviewed.
const CRATES: [&str; 7] = [
    "pusher-protocol",
    "pusher-auth",
    "pusher-auth-tower",
    "pusher-auth-axum",
    "pusher-auth-actix-web",
    "pusher-auth-rocket",
    "pusher-rest",
];

fn main() -> ExitCode {
    let bless = std::env::args().any(|a| a == "--bless");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut differ = Vec::new();
    for krate in CRATES {
        let listing = match list(&root, krate) {
            Ok(listing) => listing,
            Err(e) => {
                eprintln!("public-api: {krate}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let file = root.join("crates").join(krate).join("public-api.txt");
        if bless {
            if let Err(e) = std::fs::write(&file, &listing) {
                eprintln!("public-api: cannot write {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
            println!(
                "public-api: {krate}: {} items written",
                listing.lines().count()
            );
            continue;
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        if committed == listing {
            println!(
                "public-api: {krate}: {} items, as committed",
                listing.lines().count()
            );
        } else {
            report(krate, &committed, &listing);
            differ.push(krate);
        }
    }
    if differ.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "public-api: the public API of {} differs from the committed listing; if the change is meant, run `cargo run -p public-api-listing -- --bless` and commit the listing with the change (and a CHANGELOG line)",
            differ.join(", ")
        );
        ExitCode::FAILURE
    }
}

/// The crate's public API, one item a line.
fn list(root: &Path, krate: &str) -> Result<String, String> {
    let target = root.join("target");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "rustdoc",
            "--quiet",
            "--locked",
            "--all-features",
            "--lib",
            "-p",
            krate,
        ])
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .status()
        .map_err(|e| format!("cannot run cargo rustdoc: {e}"))?;
    if !status.success() {
        return Err(format!("cargo rustdoc failed ({status})"));
    }
    let json: PathBuf = target
        .join("doc")
        .join(format!("{}.json", krate.replace('-', "_")));
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .build()
        .map_err(|e| format!("cannot read {}: {e}", json.display()))?;
    let mut out = String::new();
    for item in api.items() {
        out.push_str(&item.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// Prints the lines only one side has.
fn report(krate: &str, committed: &str, listed: &str) {
    let old: std::collections::BTreeSet<&str> = committed.lines().collect();
    let new: std::collections::BTreeSet<&str> = listed.lines().collect();
    eprintln!("public-api: {krate} differs from crates/{krate}/public-api.txt:");
    for line in old.difference(&new) {
        eprintln!("  - {line}");
    }
    for line in new.difference(&old) {
        eprintln!("  + {line}");
    }
}
