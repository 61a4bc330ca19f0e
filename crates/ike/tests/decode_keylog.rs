//! `ike decode --keylog DIR capture.pcap`: engine pairs in the simulated network negotiate
//! (IKEv2: IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL; IKEv1: Main or Aggressive Mode, Quick
//! Mode, Informational Delete), the key log module writes their keys, `Pair::write_pcap` the
//! capture; the built binary must then show the encrypted payloads, in text and JSON, and
//! agree with tshark reading the same key log about the identities. Wrong keys, garbage key
//! logs, unknown SPIs and captures without the start of Phase 1 are checked too.
//!
//! tshark is optional: without it the comparison says so and is skipped, unless
//! `IKE_REQUIRE_TSHARK` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ike::keylog::KeyLog;
use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_proto::config::{IkeVersion, V1Exchange};
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Event, Identity, Mode,
    PeerConfig, Ts,
};
use ike_testkit::sim::{Faults, Pair};
use serde_json::Value;

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

fn have_tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_TSHARK").is_none(),
            "tshark is required (IKE_REQUIRE_TSHARK is set) but not installed"
        );
        eprintln!("SKIPPED: tshark is not installed; no comparison with tshark");
    }
    ok
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ike-decode-keylog-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Setup {
    version: IkeVersion,
    ike: &'static str,
    esp: &'static str,
    exchange: V1Exchange,
    fragment_size: usize,
    faults: Faults,
    seed: u64,
}

fn peer(s: &Setup, remote: &str, id: &str, rid: &str, l: &str, r: &str) -> PeerConfig {
    PeerConfig {
        name: "gw".into(),
        remote_addrs: vec![remote.parse().unwrap()],
        local_id: Identity::parse(id),
        remote_id: Identity::parse(rid),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"a keylog test key")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"a keylog test key")),
        ike_proposals: vec![Proposal::parse_ike(s.ike).unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr(l).unwrap()],
            remote_ts: vec![Ts::cidr(r).unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp(s.esp).unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: s.version,
        exchange: s.exchange,
    }
}

/// Negotiates, rekeys the Child SA (IKEv2), deletes the IKE SA; writes `DIR/keys` (the key
/// log of side A) and `DIR/capture.pcap`.
fn negotiate(s: &Setup, dir: &Path) -> (PathBuf, PathBuf) {
    let cfg = EndpointConfig {
        export_keys: true,
        fragment_size: s.fragment_size,
        ..EndpointConfig::default()
    };
    let a = Endpoint::new(
        cfg.clone(),
        vec![peer(
            s,
            "10.77.0.2",
            "a.keylog.test",
            "b.keylog.test",
            "10.88.1.0/24",
            "10.88.2.0/24",
        )],
        Box::new(SeededRng::new(1)),
    )
    .unwrap();
    let b = Endpoint::new(
        cfg,
        vec![peer(
            s,
            "10.77.0.1",
            "b.keylog.test",
            "a.keylog.test",
            "10.88.2.0/24",
            "10.88.1.0/24",
        )],
        Box::new(SeededRng::new(2)),
    )
    .unwrap();
    let mut p = Pair::new(
        a,
        b,
        "10.77.0.1:500".parse().unwrap(),
        "10.77.0.2:500".parse().unwrap(),
        s.faults,
        s.seed,
    );
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "gw").unwrap();
    let installs = |e: &[Event]| {
        e.iter()
            .filter(|e| matches!(e, Event::ChildSaInstall(_)))
            .count()
    };
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a) >= 1
            && installs(&p.events_b) >= 1)
    );
    let h = p.a.handles_all()[0];
    if s.version == IkeVersion::V2 {
        let spi_in = p
            .events_a
            .iter()
            .find_map(|e| match e {
                Event::ChildSaInstall(c) => Some(c.spi_in),
                _ => None,
            })
            .unwrap();
        let now = p.now();
        p.a.rekey_child(now, h, spi_in).unwrap();
        assert!(
            p.run_until(Duration::from_secs(10), |p| installs(&p.events_a) >= 2
                && installs(&p.events_b) >= 2)
        );
        p.run_for(Duration::from_secs(1));
    }
    let now = p.now();
    p.a.delete(now, h).unwrap();
    p.run_for(Duration::from_secs(2));

    let keys = dir.join("keys");
    let mut log = KeyLog::open(&keys).unwrap();
    for e in &p.events_a {
        match e {
            Event::IkeSaKeys(k) => log.ike(k).unwrap(),
            Event::IsakmpSaKeys(k) => log.isakmp(k).unwrap(),
            Event::ChildSaInstall(c) => log.child(c).unwrap(),
            _ => {}
        }
    }
    drop(log);
    let pcap = dir.join("capture.pcap");
    p.write_pcap(&pcap).unwrap();
    (keys, pcap)
}

fn v2() -> Setup {
    Setup {
        version: IkeVersion::V2,
        ike: "aes256-sha256-x25519",
        esp: "aes128-sha256",
        exchange: V1Exchange::Main,
        fragment_size: 1228,
        faults: Faults::none(),
        seed: 1,
    }
}

fn v1_main() -> Setup {
    Setup {
        version: IkeVersion::V1,
        ike: "aes256-sha256-modp2048",
        esp: "aes128-sha256",
        ..v2()
    }
}

/// The text of each frame ("Frame N: ..." to its last line's newline).
fn frames(out: &str) -> Vec<String> {
    out.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| format!("{f}\n"))
        .collect()
}

/// Every node of a JSON tree with this name and value.
fn json_nodes<'a>(v: &'a Value, name: &str, value: &str, out: &mut Vec<&'a Value>) {
    if v.get("name").and_then(Value::as_str) == Some(name)
        && v.get("value").and_then(Value::as_str) == Some(value)
    {
        out.push(v);
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| json_nodes(x, name, value, out)),
        Value::Object(o) => o.values().for_each(|x| json_nodes(x, name, value, out)),
        _ => {}
    }
}

fn json_has(v: &Value, name: &str, value: &str) -> bool {
    let mut out = Vec::new();
    json_nodes(v, name, value, &mut out);
    !out.is_empty()
}

/// tshark's view of the capture with the key log, or None without tshark.
fn tshark(pcap: &Path, config: &Path) -> Option<String> {
    if !have_tshark() {
        return None;
    }
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .arg("-V")
        .env("WIRESHARK_CONFIG_DIR", config)
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The identities a decode shows, in order, without quotes and spaces (ours quote FQDNs and
/// space subnets; tshark does neither).
fn identities(out: &str, label: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.chars().filter(|c| *c != '"' && *c != ' ').collect())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn ikev2_auth_create_child_sa_and_informational_are_decrypted() {
    let dir = fresh_dir("v2");
    let (keys, pcap) = negotiate(&v2(), &dir);
    let plain = ike(&["decode", s(&pcap)]);
    assert_eq!(plain.0, 0, "{}", plain.2);
    assert!(
        !plain.1.contains("a.keylog.test"),
        "encrypted without a key log"
    );

    let (code, out, err) = ike(&["decode", "--keylog", s(&keys), s(&pcap)]);
    assert_eq!(code, 0, "{err}\n{out}");
    let fr = frames(&out);
    let auth: Vec<_> = fr
        .iter()
        .filter(|f| f.contains("IKEv2: IKE_AUTH (35)"))
        .collect();
    assert_eq!(auth.len(), 2, "{out}");
    for f in &auth {
        assert!(
            f.contains("    Decryption: integrity checksum correct; decrypted with SK_e"),
            "{f}"
        );
        for want in [
            "    Payload: AUTH (39)\n      Method: ",
            "    Payload: SA (33)\n",
            "    Payload: TSi (44)\n",
            "    Payload: TSr (45)\n",
            "        Addresses: 10.88.1.0 - 10.88.1.255\n",
        ] {
            assert!(f.contains(want), "{want:?} not in\n{f}");
        }
    }
    assert!(auth[0].contains(
        "    Payload: IDi (35)\n      ID type: ID_FQDN (2)\n      ID data: \"a.keylog.test\"\n"
    ));
    assert!(auth[0].contains(
        "    Payload: IDr (36)\n      ID type: ID_FQDN (2)\n      ID data: \"b.keylog.test\"\n"
    ));
    assert!(auth[1].contains(
        "    Payload: IDr (36)\n      ID type: ID_FQDN (2)\n      ID data: \"b.keylog.test\"\n"
    ));
    assert!(auth[0].contains("with SK_ei and SK_ai from"));
    assert!(auth[1].contains("with SK_er and SK_ar from"));
    let ccsa: Vec<_> = fr
        .iter()
        .filter(|f| f.contains("IKEv2: CREATE_CHILD_SA (36)"))
        .collect();
    assert_eq!(ccsa.len(), 2, "{out}");
    for f in &ccsa {
        for want in [
            "    Payload: SA (33)\n",
            "    Payload: Ni/Nr (40)\n",
            "    Payload: TSi (44)\n",
            "    Payload: TSr (45)\n",
        ] {
            assert!(f.contains(want), "{want:?} not in\n{f}");
        }
    }
    assert!(
        ccsa[0].contains("      Notify type: REKEY_SA (16393)\n"),
        "{}",
        ccsa[0]
    );
    let info: Vec<_> = fr
        .iter()
        .filter(|f| f.contains("IKEv2: INFORMATIONAL (37)"))
        .collect();
    assert!(
        info.iter()
            .any(|f| f.contains("    Payload: D (42)\n      Protocol: ESP (3)\n")),
        "no Delete of the old Child SA:\n{out}"
    );
    assert!(
        info.iter()
            .any(|f| f.contains("    Payload: D (42)\n      Protocol: IKE (1)\n")),
        "no Delete of the IKE SA:\n{out}"
    );
    for f in &info {
        assert!(f.contains("Decryption: integrity checksum correct"), "{f}");
    }

    let (code, json, _) = ike(&["decode", "--json", "--keylog", s(&keys), s(&pcap)]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    for (name, value) in [
        ("ID data", "\"a.keylog.test\""),
        ("ID data", "\"b.keylog.test\""),
        ("Payload", "AUTH (39)"),
        ("Payload", "TSi (44)"),
        ("Payload", "D (42)"),
    ] {
        assert!(json_has(&v, name, value), "{name}: {value} not in the JSON");
    }
    // The decrypted payloads sit under the SK payload's node.
    let mut sk = Vec::new();
    json_nodes(&v, "Payload", "SK (46)", &mut sk);
    assert!(sk.iter().any(|n| json_has(n, "Payload", "IDi (35)")));

    if let Some(t) = tshark(&pcap, &keys) {
        for id in ["a.keylog.test", "b.keylog.test"] {
            assert!(t.contains(id), "tshark does not show {id}:\n{t}");
            assert!(out.contains(&format!("\"{id}\"")));
        }
        assert_eq!(
            identities(&out, "ID data: "),
            identities(&t, "Identification Data:")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ikev2_aead_and_fragments() {
    let dir = fresh_dir("v2-gcm");
    let setup = Setup {
        ike: "aes128gcm16-prfsha256-x25519",
        esp: "aes128gcm16",
        fragment_size: 140,
        ..v2()
    };
    let (keys, pcap) = negotiate(&setup, &dir);
    let (code, out, err) = ike(&["decode", "--keylog", s(&keys), s(&pcap)]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("Decryption: fragment 1 of "), "{out}");
    assert!(out.contains("AEAD tag correct"), "{out}");
    assert!(out.contains("    Reassembled message: "), "{out}");
    assert!(out.contains("ID data: \"a.keylog.test\""), "{out}");
    assert!(out.contains("ID data: \"b.keylog.test\""), "{out}");
    assert!(!out.contains("failed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Changes one hex digit of field `field` (from 0) of every line of a table.
fn corrupt(table: &Path, field: usize) {
    let text = std::fs::read_to_string(table).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut f: Vec<String> = line.split(',').map(str::to_owned).collect();
        let digit = f[field].remove(0);
        f[field].insert(0, if digit == '0' { '1' } else { '0' });
        out.push_str(&f.join(","));
        out.push('\n');
    }
    std::fs::write(table, out).unwrap();
}

#[test]
fn ikev2_wrong_keys_unknown_spis_and_garbage_key_logs() {
    let dir = fresh_dir("v2-neg");
    let (keys, pcap) = negotiate(&v2(), &dir);
    let table = std::fs::read_to_string(keys.join("ikev2_decryption_table")).unwrap();

    // A wrong key: the ICV does not verify, exit status 1.
    let wrong = dir.join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    std::fs::write(wrong.join("ikev2_decryption_table"), &table).unwrap();
    corrupt(&wrong.join("ikev2_decryption_table"), 5);
    let (code, out, _) = ike(&["decode", "--keylog", s(&wrong), s(&pcap)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Decryption: integrity check failed: wrong key in the key log? (tried SK_ei and SK_ai from"),
        "{out}"
    );
    assert!(!out.contains("a.keylog.test"));
    // No key bytes in the output, only their names.
    for line in table.lines() {
        for field in line.split(',').skip(2).take(2) {
            assert!(!out.contains(field), "a key was printed");
        }
    }

    // SPIs not in the key log: shown encrypted with a note, exit 0.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("ikev2_decryption_table"),
        "# nothing for this capture\n",
    )
    .unwrap();
    let (code, out, _) = ike(&["decode", "--keylog", s(&other), s(&pcap)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Decryption: not decrypted: SPIs "), "{out}");
    assert!(out.contains("are not in the key log"));
    assert!(out.contains("Encrypted data: "));
    assert!(!out.contains("a.keylog.test"));

    // Garbage: an error naming the file and the line, exit 2, no key echoed.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let first = table.lines().next().unwrap();
    let cases = [
        (
            format!("{first}\nthis is, not a key log\n"),
            ":2: expected 8 fields",
        ),
        (
            first.replace("AES-CBC-256 [RFC3602]", "SERPENT-CBC-256"),
            ":1: unknown or unsupported encryption algorithm \"SERPENT-CBC-256\"",
        ),
        (
            first.replace("HMAC_SHA2_256_128 [RFC4868]", "HMAC_WHIRLPOOL"),
            ":1: unknown or unsupported integrity algorithm \"HMAC_WHIRLPOOL\"",
        ),
        (
            format!("# ok\n\n{first}\n\"unterminated\n"),
            ":4: field 1: a quote that is not closed",
        ),
        (format!("{first}\n\u{0}\u{ff}\n"), ":2: "),
        (
            {
                let mut f: Vec<&str> = first.split(',').collect();
                let bad_key = format!("zz{}", f[2]);
                f[2] = &bad_key;
                f.join(",")
            },
            ":1: SK_ei: not hex bytes",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(bad.join("ikev2_decryption_table"), &text).unwrap();
        let (code, out, err) = ike(&["decode", "--keylog", s(&bad), s(&pcap)]);
        assert_eq!(code, 2, "{want}: {out}{err}");
        assert!(
            err.contains(&format!(
                "{}{want}",
                bad.join("ikev2_decryption_table").display()
            )),
            "{want:?} not in {err}"
        );
        assert!(out.is_empty());
        for field in first.split(',').skip(2).take(2) {
            assert!(!err.contains(field), "a key was printed: {err}");
        }
    }
    std::fs::write(bad.join("ikev2_decryption_table"), [0xff, 0xfe, b'\n']).unwrap();
    let (code, _, err) = ike(&["decode", "--keylog", s(&bad), s(&pcap)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ikev2_decryption_table:1: not UTF-8 text"),
        "{err}"
    );
    // A directory without either table.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, _, err) = ike(&["decode", "--keylog", s(&empty), s(&pcap)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("neither ikev2_decryption_table nor ikev1_decryption_table"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ikev1_main_mode_quick_mode_and_delete_are_decrypted() {
    let dir = fresh_dir("v1");
    let (keys, pcap) = negotiate(&v1_main(), &dir);
    let plain = ike(&["decode", s(&pcap)]);
    assert_eq!(plain.0, 0);
    assert!(!plain.1.contains("a.keylog.test"));

    let (code, out, err) = ike(&["decode", "--keylog", s(&keys), s(&pcap)]);
    assert_eq!(code, 0, "{err}\n{out}");
    let fr = frames(&out);
    let mm: Vec<_> = fr
        .iter()
        .filter(|f| {
            f.contains("IKEv1: Identity Protection (Main Mode) (2)")
                && f.contains("Encrypted payloads")
        })
        .collect();
    assert_eq!(mm.len(), 2, "{out}");
    for (f, id) in mm.iter().zip(["a.keylog.test", "b.keylog.test"]) {
        assert!(f.contains("Decryption: decrypted with the key from"), "{f}");
        assert!(f.contains("IV from the Phase 1 chain"), "{f}");
        assert!(
            f.contains("    Payload: ID (5)\n      ID type: ID_FQDN (2)\n"),
            "{f}"
        );
        assert!(f.contains(&format!("      ID data: \"{id}\"\n")), "{f}");
        assert!(f.contains("    Payload: HASH (8)\n"), "{f}");
    }
    let qm: Vec<_> = fr
        .iter()
        .filter(|f| f.contains("IKEv1: Quick Mode (32)"))
        .collect();
    assert_eq!(qm.len(), 3, "{out}");
    for f in &qm {
        assert!(f.contains("    Payload: HASH (8)\n"), "{f}");
        assert!(
            f.contains("IV from the Phase 1 chain and the message ID"),
            "{f}"
        );
    }
    for f in &qm[..2] {
        for want in [
            "    Payload: SA (1)\n",
            "    Payload: NONCE (10)\n",
            "    Payload: ID (5)\n",
            "      ID data: 10.88.1.0 / 255.255.255.0\n",
            "      ID data: 10.88.2.0 / 255.255.255.0\n",
        ] {
            assert!(f.contains(want), "{want:?} not in\n{f}");
        }
    }
    let info: Vec<_> = fr
        .iter()
        .filter(|f| f.contains("IKEv1: Informational (5)"))
        .collect();
    assert!(
        info.iter().any(
            |f| f.contains("    Payload: D (12)\n") && f.contains("Protocol: PROTO_ISAKMP (1)")
        ),
        "no Delete of the ISAKMP SA:\n{out}"
    );
    assert!(
        info.iter()
            .any(|f| f.contains("    Payload: D (12)\n")
                && f.contains("Protocol: PROTO_IPSEC_ESP (3)")),
        "no Delete of the IPsec SA:\n{out}"
    );

    let (code, json, _) = ike(&["decode", "--json", "--keylog", s(&keys), s(&pcap)]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    for (name, value) in [
        ("ID data", "\"a.keylog.test\""),
        ("ID data", "\"b.keylog.test\""),
        ("ID data", "10.88.1.0 / 255.255.255.0"),
        ("Payload", "HASH (8)"),
        ("Payload", "NONCE (10)"),
        ("Payload", "D (12)"),
    ] {
        assert!(json_has(&v, name, value), "{name}: {value} not in the JSON");
    }

    if let Some(t) = tshark(&pcap, &keys) {
        for id in ["a.keylog.test", "b.keylog.test", "10.88.1.0", "10.88.2.0"] {
            assert!(t.contains(id), "tshark does not show {id}:\n{t}");
            assert!(out.contains(id));
        }
        assert_eq!(
            identities(&out, "ID data: "),
            identities(&t, "Identification Data:")
        );
    }

    // A wrong key: the payloads do not parse, exit 1.
    let wrong = dir.join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    std::fs::copy(
        keys.join("ikev1_decryption_table"),
        wrong.join("ikev1_decryption_table"),
    )
    .unwrap();
    corrupt(&wrong.join("ikev1_decryption_table"), 1);
    let (code, out, _) = ike(&["decode", "--keylog", s(&wrong), s(&pcap)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("wrong key in the key log?"), "{out}");
    assert!(!out.contains("a.keylog.test"));

    // A capture without the start of Phase 1: the IV cannot be known.
    let datagrams = ike::capture::read_capture(&std::fs::read(&pcap).unwrap()).unwrap();
    let late = dir.join("late.pcap");
    ike_testkit::pcap::write(
        &late,
        datagrams
            .iter()
            .skip(4)
            .map(|d| (d.timestamp, d.src, d.dst, d.ike.as_slice())),
    )
    .unwrap();
    let (code, out, _) = ike(&["decode", "--keylog", s(&keys), s(&late)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Decryption: IV unknown (the capture misses the start of Phase 1)"),
        "{out}"
    );
    // A cookie not in the key log.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("ikev1_decryption_table"), "").unwrap();
    let (code, out, _) = ike(&["decode", "--keylog", s(&other), s(&pcap)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("not decrypted: the initiator cookie "),
        "{out}"
    );
    // Garbage.
    std::fs::write(other.join("ikev1_decryption_table"), "0102,03\n").unwrap();
    let (code, _, err) = ike(&["decode", "--keylog", s(&other), s(&pcap)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ikev1_decryption_table:1: initiator cookie: 2 bytes (expected 8)"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ikev1_aggressive_mode_is_decrypted() {
    let dir = fresh_dir("v1-am");
    let setup = Setup {
        exchange: V1Exchange::Aggressive,
        ike: "3des-sha1-modp2048",
        ..v1_main()
    };
    let (keys, pcap) = negotiate(&setup, &dir);
    let (code, out, err) = ike(&["decode", "--keylog", s(&keys), s(&pcap)]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(!out.contains("IV unknown"), "{out}");
    assert!(
        out.contains("(3DES-CBC); IV from the Phase 1 chain\n"),
        "{out}"
    );
    assert!(
        out.contains("      ID data: 10.88.2.0 / 255.255.255.0\n"),
        "{out}"
    );
    assert!(out.contains("    Payload: D (12)\n"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Loss, duplication and reordering: retransmitted messages repeat their ciphertext, and the
/// IV chains (which follow the senders' order, as a capture does) must not be thrown off.
#[test]
fn ikev1_and_ikev2_survive_retransmissions() {
    let mut repeats = 0;
    for seed in 1..=3 {
        for setup in [v1_main(), v2()] {
            let dir = fresh_dir(&format!("lossy-{seed}-{:?}", setup.version));
            let setup = Setup {
                faults: Faults::lossy(0.2),
                seed,
                ..setup
            };
            let (keys, pcap) = negotiate(&setup, &dir);
            let datagrams = ike::capture::read_capture(&std::fs::read(&pcap).unwrap()).unwrap();
            let mut seen = std::collections::HashSet::new();
            repeats += datagrams.iter().filter(|d| !seen.insert(&d.ike)).count();
            let (code, out, err) = ike(&["decode", "--keylog", s(&keys), s(&pcap)]);
            assert_eq!(code, 0, "seed {seed}: {err}\n{out}");
            assert!(!out.contains("IV unknown"), "seed {seed}:\n{out}");
            assert!(!out.contains("failed"), "seed {seed}:\n{out}");
            assert!(
                out.contains("ID data: \"b.keylog.test\""),
                "seed {seed}:\n{out}"
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    assert!(
        repeats > 0,
        "no retransmission in any capture: the test proves nothing"
    );
    eprintln!("{repeats} retransmitted messages decoded");
}
