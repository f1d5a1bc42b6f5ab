//! The conformance suite lives in `tests/`.
