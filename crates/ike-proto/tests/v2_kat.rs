//! Known answer for a whole exchange: IKE_SA_INIT and IKE_AUTH between two engines, checked by
//! an independent Python computation (tests/ikev2_kat.py, from RFC 7296, RFC 5282 and RFC 7748
//! with `hmac` and the `cryptography` package) that derives every key from the recorded random
//! draws, decrypts both IKE_AUTH messages, verifies both AUTH payloads and recomputes the Child SA
//! keys. A second test does the same for a CREATE_CHILD_SA exchange that the IKE SA's responder
//! initiates (found against strongSwan: such a Child SA's keys and selectors came out mirrored).

use std::time::Duration;

use ike_crypto::Secret;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Event, Identity, Mode,
    PeerConfig, Ts,
};
use ike_testkit::sim::{Faults, Pair, RecordingRng};

fn peer(
    name: &str,
    remote: &str,
    local_id: &str,
    remote_id: &str,
    local_ts: &str,
    remote_ts: &str,
    ah: bool,
) -> PeerConfig {
    PeerConfig {
        name: name.to_owned(),
        remote_addrs: vec![remote.parse().unwrap()],
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"kat pre-shared key")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"kat pre-shared key")),
        ike_proposals: vec![Proposal::parse_ike("aes128gcm16-prfsha256-x25519").unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr(local_ts).unwrap()],
            remote_ts: vec![Ts::cidr(remote_ts).unwrap()],
            ah_proposals: if ah {
                vec![Proposal::parse_ah("sha256").unwrap()]
            } else {
                Vec::new()
            },
            esp_proposals: if ah {
                Vec::new()
            } else {
                vec![Proposal::parse_esp("aes128gcm16").unwrap()]
            },
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
fn whole_exchange_matches_an_independent_python_computation() {
    whole_exchange(false);
}

/// The same with an AH child (sha256): its KEYMAT holds a 32-byte integrity key each way and
/// nothing else, and its proposal is protocol 2 with a 4-byte SPI and INTEG and ESN transforms.
#[test]
fn ah_child_keymat_matches_an_independent_python_computation() {
    whole_exchange(true);
}

fn whole_exchange(ah: bool) {
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
        return;
    }
    let (ra, rb) = (RecordingRng::new(11), RecordingRng::new(12));
    let (draws_a, draws_b) = (ra.draws.clone(), rb.draws.clone());
    let a = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "b",
            "10.77.0.2",
            "a.example.org",
            "b.example.org",
            "10.88.1.0/24",
            "10.88.2.0/24",
            ah,
        )],
        Box::new(ra),
    )
    .unwrap();
    let b = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "a",
            "10.77.0.1",
            "b.example.org",
            "a.example.org",
            "10.88.2.0/24",
            "10.88.1.0/24",
            ah,
        )],
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
    let installed = |ev: &[Event]| ev.iter().any(|e| matches!(e, Event::ChildSaInstall(_)));
    assert!(
        p.run_until(Duration::from_secs(5), |p| installed(&p.events_a)
            && installed(&p.events_b))
    );
    assert_eq!(p.log.len(), 4);
    let child = p
        .events_a
        .iter()
        .find_map(|e| match e {
            Event::ChildSaInstall(c) => Some(c),
            _ => None,
        })
        .unwrap();
    let draws32 = |d: &std::sync::Mutex<Vec<Vec<u8>>>| -> Vec<String> {
        d.lock()
            .unwrap()
            .iter()
            .filter(|x| x.len() == 32)
            .map(hex::encode)
            .collect()
    };
    // ESP: the AEAD key (and salt) each way; AH: the integrity key, the encryption key empty.
    let (key_out, key_in) = if ah {
        assert!(child.keys_out.0.is_empty() && child.keys_in.0.is_empty());
        (&child.keys_out.1, &child.keys_in.1)
    } else {
        assert!(child.keys_out.1.is_empty() && child.keys_in.1.is_empty());
        (&child.keys_out.0, &child.keys_in.0)
    };
    let input = serde_json::json!({
        "messages": p.log.iter().map(|s| hex::encode(&s.payload)).collect::<Vec<_>>(),
        "draws_i": draws32(&draws_a),
        "draws_r": draws32(&draws_b),
        "psk": "kat pre-shared key",
        "child_i_to_r": hex::encode(key_out.expose()),
        "child_r_to_i": hex::encode(key_in.expose()),
        "child_key_len": if ah { 32 } else { 20 },
    });
    let script = format!("{}/tests/ikev2_kat.py", env!("CARGO_MANIFEST_DIR"));
    let mut py = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(py.stdin.take().unwrap(), &input).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["idi"], "a.example.org");
    assert_eq!(report["idr"], "b.example.org");
    for check in [
        "auth_i_ok",
        "auth_r_ok",
        "child_i_to_r_ok",
        "child_r_to_i_ok",
    ] {
        assert_eq!(report[check], true, "{check}: {report}");
    }
    // AH (2): INTEG (3), ESN (5); ESP (3): ENCR (1), ESN (5). SPI size 4 either way.
    let expected = if ah {
        serde_json::json!({"protocol": 2, "spi_size": 4, "transform_types": [3, 5]})
    } else {
        serde_json::json!({"protocol": 3, "spi_size": 4, "transform_types": [1, 5]})
    };
    assert_eq!(report["child_proposal"], expected);
}

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
        eprintln!("SKIPPED (python part): python3 with the cryptography package is not available");
    }
    have
}

fn run_python(input: &serde_json::Value) -> serde_json::Value {
    let script = format!("{}/tests/ikev2_kat.py", env!("CARGO_MANIFEST_DIR"));
    let mut py = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(py.stdin.take().unwrap(), input).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn installs(ev: &[Event]) -> Vec<&ike_proto::v2::ChildSaInstall> {
    ev.iter()
        .filter_map(|e| match e {
            Event::ChildSaInstall(c) => Some(&**c),
            _ => None,
        })
        .collect()
}

/// RFC 7296 §2.17 and §2.9: in a CREATE_CHILD_SA exchange, "initiator" is the initiator of that
/// exchange. When the IKE SA's responder rekeys a Child SA, its outbound keys are the first half
/// of KEYMAT and TSi carries its own selectors. (strongSwan as IKE responder rekeying a Child SA
/// of ours showed both mirrored: our new Child SA had its selectors swapped, and its keys could
/// not have matched strongSwan's.)
#[test]
fn create_child_sa_of_the_ike_responder_takes_the_exchange_roles() {
    let (ra, rb) = (RecordingRng::new(21), RecordingRng::new(22));
    let (draws_a, draws_b) = (ra.draws.clone(), rb.draws.clone());
    let a = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "b",
            "10.77.0.2",
            "a.example.org",
            "b.example.org",
            "10.88.1.0/24",
            "10.88.2.0/24",
            false,
        )],
        Box::new(ra),
    )
    .unwrap();
    let b = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "a",
            "10.77.0.1",
            "b.example.org",
            "a.example.org",
            "10.88.2.0/24",
            "10.88.1.0/24",
            false,
        )],
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
    assert_eq!(p.log.len(), 4);
    // The IKE SA's responder rekeys the Child SA.
    let sa_b = p.b.established()[0];
    let spi_b = installs(&p.events_b)[0].spi_in;
    let now = p.now();
    p.b.rekey_child(now, sa_b, spi_b).unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| installs(&p.events_a).len() == 2
            && installs(&p.events_b).len() == 2)
    );
    let (new_a, new_b) = (installs(&p.events_a)[1], installs(&p.events_b)[1]);
    assert_eq!(new_a.spi_in, new_b.spi_out);
    assert_eq!(new_a.keys_in.0.expose(), new_b.keys_out.0.expose());
    // Each end keeps its own selectors as local, whoever initiated the exchange.
    let cidr = |t: &str| vec![Ts::cidr(t).unwrap()];
    assert_eq!(new_a.local_ts, cidr("10.88.1.0/24"), "A's local selectors");
    assert_eq!(
        new_a.remote_ts,
        cidr("10.88.2.0/24"),
        "A's remote selectors"
    );
    assert_eq!(new_b.local_ts, cidr("10.88.2.0/24"), "B's local selectors");
    assert_eq!(
        new_b.remote_ts,
        cidr("10.88.1.0/24"),
        "B's remote selectors"
    );
    if !have_python() {
        return;
    }
    let first = installs(&p.events_a)[0];
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
        "psk": "kat pre-shared key",
        "child_i_to_r": hex::encode(first.keys_out.0.expose()),
        "child_r_to_i": hex::encode(first.keys_in.0.expose()),
        // B initiated the CREATE_CHILD_SA exchange.
        "ccsa_i_to_r": hex::encode(new_b.keys_out.0.expose()),
        "ccsa_r_to_i": hex::encode(new_b.keys_in.0.expose()),
    });
    let report = run_python(&input);
    for check in [
        "auth_i_ok",
        "auth_r_ok",
        "child_i_to_r_ok",
        "child_r_to_i_ok",
        "ccsa_i_to_r_ok",
        "ccsa_r_to_i_ok",
    ] {
        assert_eq!(report[check], true, "{check}: {report}");
    }
}
