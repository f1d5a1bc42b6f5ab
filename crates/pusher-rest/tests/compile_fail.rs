//! The compiler's messages for the mistakes typed channel definitions rule out: each case must
//! fail to compile with the message pinned in its `.stderr` file (regenerate with
//! `TRYBUILD=overwrite` after reading the new message).
#![allow(missing_docs)]

#[test]
fn compile_errors_name_the_cause() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
