//! An independent oracle for the codec: Wireshark's IKE dissector, through `tshark -T fields`.
//!
//! 1. Generated messages of both versions are encoded, written into a pcap, read back by tshark,
//!    and every field tshark reports is compared with what our decoder says.
//! 2. Real strongSwan captures (`crates/ike-wire/tests/data/*.pcap`) are decoded message by
//!    message and compared the same way.
//!
//! tshark must be installed (the README's test command installs it). Without it the tests say so
//! loudly and pass, unless `IKE_REQUIRE_TSHARK` is set, as the test command sets it.

mod oracle;

use std::path::PathBuf;

use ike::capture::read_capture;
use oracle::{compare_frame, expected_fields, tshark_frames};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn tshark_present() -> bool {
    let ok = std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_TSHARK").is_none(),
            "tshark is required (IKE_REQUIRE_TSHARK is set) but not installed"
        );
        eprintln!("SKIPPED: tshark is not installed; the tshark oracle did not run");
    }
    ok
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ike-wire/tests/data")
}

/// Writes `messages` into a pcap, runs tshark over it, and compares every frame.
fn check_against_tshark(name: &str, messages: &[Vec<u8>]) {
    let dir = std::env::temp_dir().join(format!("ike-oracle-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pcap"));
    let (src, dst) = (
        "10.77.0.1:500".parse().unwrap(),
        "10.77.0.2:500".parse().unwrap(),
    );
    let records = messages.iter().enumerate().map(|(i, m)| {
        (
            std::time::Duration::from_secs(1_700_000_000 + i as u64),
            src,
            dst,
            m.as_slice(),
        )
    });
    ike_testkit::pcap::write(&path, records).unwrap();
    let frames = tshark_frames(&path);
    assert_eq!(
        frames.len(),
        messages.len(),
        "tshark saw a different number of frames"
    );
    let mut failures = Vec::new();
    for (i, (bytes, seen)) in messages.iter().zip(&frames).enumerate() {
        let ours = expected_fields(bytes)
            .unwrap_or_else(|e| panic!("frame {}: our decode failed: {e}", i + 1));
        if let Err(diff) = compare_frame(&ours, seen, false) {
            failures.push(format!(
                "frame {}: {diff}\n  message: {}",
                i + 1,
                hex::encode(bytes)
            ));
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        failures.is_empty(),
        "{} of {} frames disagree with tshark (pcap kept at {}):\n{}",
        failures.len(),
        messages.len(),
        path.display(),
        failures.join("\n")
    );
}

fn generate<S: Strategy>(strategy: S, count: usize, seed: u8) -> Vec<S::Value> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

#[test]
fn generated_ikev2_messages_match_tshark() {
    if !tshark_present() {
        return;
    }
    let messages: Vec<Vec<u8>> = generate(oracle::v2_message_for_tshark(), 300, 2)
        .iter()
        .map(|m| m.to_vec().unwrap())
        .collect();
    check_against_tshark("v2", &messages);
}

#[test]
fn generated_ikev1_messages_match_tshark() {
    if !tshark_present() {
        return;
    }
    let messages: Vec<Vec<u8>> = generate(oracle::v1::v1_message_for_tshark(), 300, 1)
        .iter()
        .map(|m| m.to_vec().unwrap())
        .collect();
    check_against_tshark("v1", &messages);
}

#[test]
fn real_captures_decode_and_match_tshark() {
    if !tshark_present() {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the committed strongSwan captures, found {files:?}"
    );
    let mut total = 0;
    for file in &files {
        let datagrams = read_capture(&std::fs::read(file).unwrap()).unwrap();
        assert!(
            !datagrams.is_empty(),
            "{}: no IKE datagrams",
            file.display()
        );
        let frames = tshark_frames(file);
        for d in &datagrams {
            let ours = expected_fields(&d.ike).unwrap_or_else(|e| {
                panic!("{} frame {}: decode failed: {e}", file.display(), d.frame)
            });
            let seen = &frames[d.frame - 1];
            let prefix = oracle::v1::completes_reassembly(&d.ike);
            if let Err(diff) = compare_frame(&ours, seen, prefix) {
                panic!("{} frame {}: {diff}", file.display(), d.frame);
            }
            total += 1;
        }
    }
    eprintln!(
        "{total} messages in {} captures agree with tshark",
        files.len()
    );
}
