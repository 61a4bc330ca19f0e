//! Known answer for IKE_FOLLOWUP_KE (RFC 9370 §2.2.4): a Child SA created and an IKE SA rekeyed
//! with ML-KEM-768 after X25519, checked by an independent Python computation
//! (tests/ikev2_followup_kat.py) that decapsulates ML-KEM itself and derives the Child SA's
//! KEYMAT and the rekeyed IKE SA's keys from the recorded random draws.

mod common;

use std::time::Duration;

use common::{installs, python};

use ike_crypto::Secret;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Identity, Mode, PeerConfig, Ts,
};
use ike_testkit::sim::{Faults, Pair, RecordingRng};
use ike_wire::group::DhGroup;

fn peer(name: &str, remote: &str, ids: (&str, &str), ts: (&str, &str), ike: &str) -> PeerConfig {
    PeerConfig {
        name: name.to_owned(),
        remote_addrs: vec![remote.parse().unwrap()],
        local_id: Identity::parse(ids.0),
        remote_id: Identity::parse(ids.1),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"kat pre-shared key")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"kat pre-shared key")),
        ike_proposals: vec![Proposal::parse_ike(ike).unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr(ts.0).unwrap()],
            remote_ts: vec![Ts::cidr(ts.1).unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp("aes256gcm16-x25519-ke1_mlkem768").unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: ike_proto::config::IkeVersion::V2,
        exchange: Default::default(),
    }
}

#[test]
fn child_and_ike_rekey_followups_match_an_independent_python_computation() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import cryptography, hashlib; hashlib.sha3_256"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("IKE_REQUIRE_PYTHON").is_none(),
            "python3 with `cryptography` is required"
        );
        eprintln!("SKIPPED: python3 with the cryptography package is not available");
        return;
    }
    // The initiator's ML-KEM keys, expanded from fixed seeds by ike-crypto's FIPS 203 script.
    let keygen = format!(
        "{}/../ike-crypto/tests/data/mlkem_keygen.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let seeds = format!("3 {}\n3 {}\n", "33".repeat(64), "44".repeat(64));
    let keys = String::from_utf8(python(&keygen, seeds.as_bytes())).unwrap();
    let dks: Vec<String> = keys
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert_eq!(dks.len(), 2);
    ike_proto::test_hooks::clear_kem_keys();
    for dk in &dks {
        ike_proto::test_hooks::push_kem_decapsulation_key(
            DhGroup::MlKem768,
            hex::decode(dk).unwrap(),
        );
    }

    // First a classic IKE SA; the hybrid IKE proposal comes with a reload, for the rekey.
    let classic = "aes256gcm16-prfsha384-x25519";
    let hybrid = "aes256gcm16-prfsha384-x25519-ke1_mlkem768";
    let ids_a = ("a.example.org", "b.example.org");
    let ids_b = ("b.example.org", "a.example.org");
    let ts_a = ("10.88.1.0/24", "10.88.2.0/24");
    let ts_b = ("10.88.2.0/24", "10.88.1.0/24");
    let (ra, rb) = (RecordingRng::new(41), RecordingRng::new(42));
    let (draws_a, draws_b) = (ra.draws.clone(), rb.draws.clone());
    let a = Endpoint::new(
        EndpointConfig::default(),
        vec![peer("b", "10.77.0.2", ids_a, ts_a, classic)],
        Box::new(ra),
    )
    .unwrap();
    let b = Endpoint::new(
        EndpointConfig::default(),
        vec![peer("a", "10.77.0.1", ids_b, ts_b, classic)],
        Box::new(rb),
    )
    .unwrap();
    let mut p = Pair::new(
        a,
        b,
        "10.77.0.1:500".parse().unwrap(),
        "10.77.0.2:500".parse().unwrap(),
        Faults::none(),
        1,
    );
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "b").unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| installs(&p.events_a).len() == 1
            && installs(&p.events_b).len() == 1)
    );
    let sa = p.a.established()[0];
    p.a.create_child(p.now(), sa, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| installs(&p.events_a).len() == 2
            && installs(&p.events_b).len() == 2)
    );
    p.a.set_peers(vec![peer("b", "10.77.0.2", ids_a, ts_a, hybrid)]);
    p.b.set_peers(vec![peer("a", "10.77.0.1", ids_b, ts_b, hybrid)]);
    p.a.rekey_ike(p.now(), sa).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.a.sa_count() == 1
        && p.b.sa_count() == 1
        && p.a.established().first() != Some(&sa)));
    let new = p.a.established()[0];
    p.a.check_liveness(p.now(), new).unwrap();
    p.run_for(Duration::from_secs(2));

    let child = installs(&p.events_a)[1];
    let draws32 = |d: &std::sync::Mutex<Vec<Vec<u8>>>| -> Vec<String> {
        d.lock()
            .unwrap()
            .iter()
            .filter(|x| x.len() == 32)
            .map(hex::encode)
            .collect()
    };
    let input = serde_json::json!({
        "messages": p.log.iter().map(|s| hex::encode(&s.payload)).collect::<Vec<_>>(),
        "draws_i": draws32(&draws_a),
        "draws_r": draws32(&draws_b),
        "dks": dks,
        "child_i_to_r": hex::encode(child.keys_out.0.expose()),
        "child_r_to_i": hex::encode(child.keys_in.0.expose()),
    });
    let script = format!("{}/tests/ikev2_followup_kat.py", env!("CARGO_MANIFEST_DIR"));
    let out = python(&script, &serde_json::to_vec(&input).unwrap());
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA + IKE_FOLLOWUP_KE (child), the same (IKE rekey),
    // the old SA's delete, and a liveness check on the new SA.
    assert_eq!(
        report["exchanges"],
        serde_json::json!([
            [34, 0, false],
            [34, 0, true],
            [35, 1, false],
            [35, 1, true],
            [36, 2, false],
            [36, 2, true],
            [44, 3, false],
            [44, 3, true],
            [36, 4, false],
            [36, 4, true],
            [44, 5, false],
            [44, 5, true],
            [37, 6, false],
            [37, 6, true],
            [37, 0, false],
            [37, 0, true]
        ]),
        "{report}"
    );
    for part in ["child", "rekey"] {
        assert_eq!(
            report[part],
            serde_json::json!({
                "group": 36, "reencrypts": true, "link_echoed": true, "last_without_link": true
            }),
            "{part}: {report}"
        );
    }
    assert_eq!(report["child_i_to_r_ok"], true, "{report}");
    assert_eq!(report["child_r_to_i_ok"], true, "{report}");
    assert_eq!(report["other_order_matches"], false, "{report}");
    assert_eq!(report["new_sa_decrypts"], true, "{report}");
}
