//! Unit tests of the signature module (the public API is tested in tests/sign.rs).
