//! `ike check -c FILE` as a user runs it: the OK line and exit 0 for the examples, every
//! problem and exit 1 for a broken file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn ike(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ike"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn example(name: &str) -> String {
    ike_testkit::protect_secret_files();
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A file in a fresh temporary directory.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ike-cli-check-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn examples_are_ok() {
    for name in [
        "site-to-site-psk.toml",
        "site-to-site-certs.toml",
        "road-warrior-responder.toml",
    ] {
        let file = example(name);
        let (code, out, err) = ike(&["check", "-c", &file]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("{file}: OK (1 connection, 1 child)\n"));
        assert_eq!(err, "");
    }
}

#[test]
fn counts_connections_and_children() {
    let text = r#"
[connections.a]
remote_addrs = ["10.0.0.2"]
local_addrs = ["10.0.0.1"]
[connections.a.local]
auth = "psk"
[connections.a.remote]
auth = "psk"
[connections.a.children.x]
[connections.a.children.y]
local_ts = ["10.1.0.0/16"]
remote_ts = ["10.2.0.0/16"]

[connections.b]
local_addrs = ["10.0.0.1"]
[connections.b.local]
auth = "psk"
[connections.b.remote]
auth = "psk"

[[secrets.ike]]
secret = "0x00112233445566778899aabbccddeeff"
"#;
    let path = temp_file("two.toml", text);
    let (code, out, err) = ike(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("{}: OK (2 connections, 2 children)\n", path.display())
    );
}

#[test]
fn a_bad_file_lists_every_problem_and_exits_1() {
    let text = "[daemon]\nkernel = \"xfrn\"\n\n[connections.a]\nversion = \"2\"\nremote_adrs = [\"10.0.0.2\"]\n";
    let path = temp_file("bad.toml", text);
    let p = path.display();
    let (code, out, err) = ike(&["check", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "{p}:2: daemon.kernel: unknown kernel backend \"xfrn\" (expected \"xfrm\" or \"none\")\n\
             {p}:4: connections.a.local: missing in [connections.a] (expected a [connections.a.local] table with auth and id)\n\
             {p}:4: connections.a.remote: missing in [connections.a] (expected a [connections.a.remote] table with auth and id)\n\
             {p}:5: connections.a.version: expected an integer (1 or 2), found a string\n\
             {p}:6: connections.a.remote_adrs: unknown key (did you mean \"remote_addrs\"?)\n\
             {p}: 5 errors\n"
        )
    );
}

#[test]
fn a_missing_file_exits_1() {
    let (code, out, err) = ike(&["check", "-c", "/nonexistent/ike.toml"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "/nonexistent/ike.toml: cannot read the configuration file: no such file\n/nonexistent/ike.toml: 1 error\n"
    );
}

#[test]
fn warnings_go_to_stderr_and_keep_exit_0() {
    let text = "[connections.old]\nversion = 1\naggressive = true\nlocal_addrs = [\"10.0.0.1\"]\n[connections.old.local]\nauth = \"psk\"\n[connections.old.remote]\nauth = \"psk\"\n[[secrets.ike]]\nsecret = \"a sixteen byte key or more\"\n";
    let path = temp_file("v1.toml", text);
    let p = path.display();
    let (code, out, err) = ike(&["check", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{p}: OK (1 connection, 0 children)\n"));
    assert!(
        err.starts_with(&format!(
            "{p}:3: connections.old.aggressive: warning: Aggressive Mode with a pre-shared key"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn check_has_help() {
    let (code, out, _) = ike(&["check", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("-c, --config <FILE>"));
    assert!(out.contains("FILE:LINE: KEY: MESSAGE"));
}
