//! A whole IKEv1 Main Mode (pre-shared key, AES-CBC-128, SHA2-256, Curve25519) and Quick Mode
//! (ESP AES-CBC-128 with HMAC-SHA2-256, with and without PFS), then an Informational Delete,
//! checked by an independent Python computation written from RFC 2409 (`ikev1_kat.py`): every
//! key, IV, HASH, decrypted payload and the KEYMAT of the installed SAs.

mod common;

use std::time::Duration;

use common::*;
use ike_proto::config::IkeVersion;
use ike_proto::v2::{Endpoint, EndpointConfig, Event};
use ike_testkit::sim::{Faults, Pair, RecordingRng};

fn have_python() -> bool {
    let have = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("IKE_REQUIRE_PYTHON").is_none(),
            "python3 with `cryptography` is required"
        );
        eprintln!("SKIPPED: python3 with the cryptography package is not available");
    }
    have
}

fn run(esp: &'static [&'static str], seed: u64) -> serde_json::Value {
    let (ra, rb) = (RecordingRng::new(seed), RecordingRng::new(seed + 1));
    let (draws_a, draws_b) = (ra.draws.clone(), rb.draws.clone());
    let s = Side {
        ike: &["aes128-sha256-x25519"],
        esp,
        ..Side::default()
    };
    let mut pa = peer("site-b", B, "a.example.org", "b.example.org", &s);
    pa.version = IkeVersion::V1;
    let mut pb = peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side {
            local_ts: &["10.88.2.0/24"],
            remote_ts: &["10.88.1.0/24"],
            ..s
        },
    );
    pb.version = IkeVersion::V1;
    let a = Endpoint::new(EndpointConfig::default(), vec![pa], Box::new(ra)).unwrap();
    let b = Endpoint::new(EndpointConfig::default(), vec![pb], Box::new(rb)).unwrap();
    let mut p = Pair::new(
        a,
        b,
        A.parse().unwrap(),
        B.parse().unwrap(),
        Faults::none(),
        1,
    );
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(10), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    }));
    assert_eq!(p.log.len(), 9, "Main Mode 6 messages, Quick Mode 3");
    let now = p.now();
    let h = p.a.handles_all()[0];
    p.a.delete(now, h).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.sa_count() == 0));
    let messages: Vec<String> = p.log.iter().map(|s| hex::encode(&s.payload)).collect();
    let draws32 = |d: &std::sync::Mutex<Vec<Vec<u8>>>| -> Vec<String> {
        d.lock()
            .unwrap()
            .iter()
            .filter(|x| x.len() == 32)
            .map(hex::encode)
            .collect()
    };
    let mut installs_json = Vec::new();
    for (side, ev) in [("i", &p.events_a), ("r", &p.events_b)] {
        for e in ev.iter() {
            if let Event::ChildSaInstall(c) = e {
                installs_json.push(serde_json::json!({
                    "side": side,
                    "spi_in": c.spi_in,
                    "spi_out": c.spi_out,
                    "enc_in": hex::encode(c.keys_in.0.expose()),
                    "integ_in": hex::encode(c.keys_in.1.expose()),
                    "enc_out": hex::encode(c.keys_out.0.expose()),
                    "integ_out": hex::encode(c.keys_out.1.expose()),
                }));
            }
        }
    }
    let input = serde_json::json!({
        "messages": messages[..9],
        "informational": messages[9..],
        "draws_i": draws32(&draws_a),
        "draws_r": draws32(&draws_b),
        "psk": hex::encode("a long random string"),
        "installs": installs_json,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ikev1_kat.py");
    let out = python(script, &serde_json::to_vec(&input).unwrap());
    serde_json::from_slice(&out).unwrap()
}

fn check(report: &serde_json::Value, informational: usize) {
    for key in [
        "hash_i_ok",
        "hash_r_ok",
        "qm_hash1_ok",
        "qm_hash2_ok",
        "qm_hash3_ok",
        "keymat_ok",
    ] {
        assert_eq!(report[key], serde_json::json!(true), "{key}: {report:#}");
    }
    assert_eq!(
        report["installs_checked"],
        serde_json::json!(2),
        "{report:#}"
    );
    let infos = report["informational_hash_ok"].as_array().unwrap();
    assert_eq!(infos.len(), informational, "{report:#}");
    assert!(
        infos.iter().all(|v| v == &serde_json::json!(true)),
        "{report:#}"
    );
}

#[test]
fn main_mode_and_quick_mode_match_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    // Two Deletes: the ESP SA, then the ISAKMP SA.
    check(&run(&["aes128-sha256"], 31), 2);
}

#[test]
fn quick_mode_with_pfs_matches_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    check(&run(&["aes128-sha256-x25519"], 41), 2);
}
