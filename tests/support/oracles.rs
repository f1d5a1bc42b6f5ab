//! The official SDKs as child processes, shared by the differential tests of
//! `pusher-protocol` and `pusher-rest` (each includes this file with `#[path]`): a case list
//! goes to the oracle's stdin as JSON, one answer per case comes back on its stdout.
//! A missing SDK fails the test with the script that installs it; it never skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `command` on `cases`, and returns its answers (as many as there were cases).
pub(crate) fn run_oracle(mut command: Command, cases: &[Map<String, Value>]) -> Vec<Value> {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {shown}: {e}; run scripts/install-test-tools first")
        });
    let input = serde_json::to_vec(cases).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{shown} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        results.len(),
        cases.len(),
        "{shown} answered a different number of cases"
    );
    results
}

/// `node tests/js/oracle.js`, once `packages` are installed in `tests/js`.
pub(crate) fn node(packages: &[&str]) -> Command {
    let dir = root().join("tests/js");
    for package in packages {
        assert!(
            dir.join("node_modules")
                .join(package)
                .join("package.json")
                .exists(),
            "{package} is not installed in tests/js; run scripts/install-test-tools"
        );
    }
    let mut c = Command::new("node");
    c.arg(dir.join("oracle.js")).current_dir(dir);
    c
}

/// `tests/python/oracle.py` with the project's virtual environment (or `PUSHER_AUTH_PYTHON`).
pub(crate) fn python() -> Command {
    let python = std::env::var_os("PUSHER_AUTH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin/python"));
    assert!(
        python.exists(),
        "{} does not exist; run scripts/install-test-tools",
        python.display()
    );
    let mut c = Command::new(python);
    c.arg(root().join("tests/python/oracle.py"));
    c
}
