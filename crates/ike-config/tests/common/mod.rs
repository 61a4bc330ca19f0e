//! Shared helpers for the configuration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `crates/ike-config/tests/data`: the base directory of the test configurations.
pub fn data_dir() -> PathBuf {
    ike_testkit::protect_secret_files();
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The repository's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    ike_testkit::protect_secret_files();
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The example certificates, as a path relative to [`data_dir`].
pub const CERTS: &str = "../../../../examples/certs";

/// A complete, valid PSK configuration; the bad-config table edits single lines of it, so its
/// line numbers are part of the tests.
pub const BASE: &str = r#"[daemon]
kernel = "none"

[connections.site-b]
version = 2
local_addrs = ["10.77.0.1"]
remote_addrs = ["10.77.0.2"]
proposals = ["aes128gcm16-prfsha256-x25519", "aes256-sha256-modp2048"]
dpd_delay = "30s"
rekey_time = "4h"

[connections.site-b.local]
auth = "psk"
id = "a.example.org"
[connections.site-b.remote]
auth = "psk"
id = "b.example.org"

[connections.site-b.children.net]
local_ts = ["10.88.1.0/24"]
remote_ts = ["10.88.2.0/24"]
esp_proposals = ["aes128gcm16-x25519"]
mode = "tunnel"
start_action = "start"
rekey_time = "1h"

[[secrets.ike]]
ids = ["a.example.org", "b.example.org"]
secret = "a long random string"
"#;

/// [`BASE`] with line `line` (1-based) replaced by `with` (which may hold several lines or
/// none).
pub fn edit(line: usize, with: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    assert!(line >= 1 && line <= lines.len(), "line {line} out of range");
    lines[line - 1] = with;
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// Parses `text` as `bad.toml` in [`data_dir`].
pub fn parse(text: &str) -> Result<ike_config::Config, ike_config::ConfigErrors> {
    ike_testkit::protect_secret_files();
    ike_config::parse(text, "bad.toml", &data_dir())
}
