//! `ike decode` as a user runs it: captures, hex, JSON, and the exit codes for bad input.

use std::path::PathBuf;
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

fn capture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ike-wire/tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A minimal IKE_SA_INIT request: header and one Nonce payload.
const NONCE_MSG: &str = "0102030405060708 0000000000000000 28 20 22 08 00000000 00000030 \
                         00000014 11111111111111111111111111111111";

#[test]
fn decodes_a_strongswan_capture_as_a_tree() {
    let (code, out, _) = ike(&["decode", &capture("ikev2-psk.pcap")]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Frame 1: 10.77.0.1:500 -> 10.77.0.2:500\nIKEv2: IKE_SA_INIT (34)\n"));
    assert!(out.contains("      Transform: ENCR = ENCR_AES_GCM_16 (20), key length 128\n"));
    assert!(out.contains("  Payload: SK (46)\n    First inner payload: IDi (35)\n"));
}

#[test]
fn decodes_ikev1_and_port_4500() {
    let (code, out, _) = ike(&["decode", &capture("ikev1-natt-4500.pcap")]);
    assert_eq!(code, 0);
    assert!(
        out.contains("(non-ESP marker)"),
        "no message on 4500 in:\n{out}"
    );
    assert!(out.contains("IKEv1: Quick Mode (32)"));
    assert!(out.contains("Encrypted payloads: "));
}

#[test]
fn json_output_has_the_same_tree() {
    let (code, out, _) = ike(&["decode", "--json", &capture("ikev2-psk.pcap")]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = &doc["messages"][0];
    assert_eq!(first["frame"], 1);
    assert_eq!(first["src"], "10.77.0.1:500");
    assert_eq!(first["ike"]["name"], "IKEv2");
    assert_eq!(first["ike"]["value"], "IKE_SA_INIT (34)");
    assert_eq!(first["ike"]["children"][0]["name"], "Initiator SPI");
}

#[test]
fn decodes_hex_with_spaces() {
    let (code, out, _) = ike(&["decode", NONCE_MSG]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Nonce: 11111111111111111111111111111111"));
}

#[test]
fn bad_message_reports_rule_and_offset_with_status_1() {
    // The Nonce payload's length (0x40) runs past the end of the message.
    let bad = NONCE_MSG.replace("00000014", "00000040");
    let (code, out, _) = ike(&["decode", &bad]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "error: payload length 64 overruns its parent (20 bytes remain) (at byte offset 30"
        ),
        "{out}"
    );
    let (code, out, _) = ike(&["decode", "--json", &bad]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["messages"][0]["error"]["offset"], 30);
}

#[test]
fn unreadable_input_is_status_2() {
    let (code, _, err) = ike(&["decode", "not-a-file-and-not-hex"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("neither a readable file nor a hex string"),
        "{err}"
    );
    let (code, _, err) = ike(&["decode", "/etc/hostname"]);
    assert_eq!(code, 2, "{err}");
}
