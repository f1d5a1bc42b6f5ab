//! The conformance suite across adapters lives in `tests/`; this crate also compiles the
//! workspace README's examples as doctests.

/// The workspace README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
