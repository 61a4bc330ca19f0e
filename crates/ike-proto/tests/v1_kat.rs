//! A whole IKEv1 Phase 1 (AES-CBC-128, SHA2-256, Curve25519) and Quick Mode (ESP AES-CBC-128
//! with HMAC-SHA2-256, with and without PFS), then Informational Deletes, checked by an
//! independent Python computation written from RFC 2409 (`ikev1_kat.py`): every key, IV, HASH,
//! decrypted payload, NAT-D payload and the KEYMAT of the installed SAs. Main Mode with a
//! pre-shared key, RSA and ECDSA signatures; Aggressive Mode with a pre-shared key and RSA.

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::time::Duration;

use common::*;
use ike_proto::config::{IkeVersion, V1Exchange};
use ike_proto::v2::{AuthMethod, Endpoint, EndpointConfig, Event};
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

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Psk,
    Rsa,
    Ecdsa,
    Pke,
    Rpke,
    Dss,
}

impl Auth {
    fn name(self) -> &'static str {
        match self {
            Auth::Psk => "psk",
            Auth::Rsa => "rsa",
            Auth::Ecdsa => "ecdsa",
            Auth::Pke => "pke",
            Auth::Rpke => "rpke",
            Auth::Dss => "dss",
        }
    }

    /// (our method, the peer's) for side A or B.
    fn methods(self, a_side: bool) -> (AuthMethod, AuthMethod) {
        let k = pki::pki();
        match (self, a_side) {
            (Auth::Psk, _) => (pki::psk(), pki::psk()),
            (Auth::Rsa, true) => (pki::sign_with(&k.a_rsa, &[]), pki::trusting(&k.root)),
            (Auth::Rsa, false) => (pki::sign_with(&k.b_rsa, &[]), pki::trusting(&k.root)),
            (Auth::Ecdsa, true) => (
                pki::sign_with(&k.a_ec, &[&k.intermediate]),
                pki::trusting(&k.root),
            ),
            (Auth::Ecdsa, false) => (
                pki::sign_with(&k.b_ec, &[&k.intermediate]),
                pki::trusting(&k.root),
            ),
            (Auth::Dss, a) => {
                let (ia, ib) = pki::dsa_pair();
                (
                    pki::sign_with(if a { ia } else { ib }, &[]),
                    pki::trusting(&k.root),
                )
            }
            (Auth::Pke | Auth::Rpke, a) => {
                let (ours, theirs) = if a {
                    (&k.a_rsa, &k.b_rsa)
                } else {
                    (&k.b_rsa, &k.a_rsa)
                };
                let revised = self == Auth::Rpke;
                (
                    AuthMethod::PkeKey {
                        decryptor: std::sync::Arc::new(
                            ike_crypto::pke::PkeDecryptor::from_private_key(&ours.private_key())
                                .unwrap(),
                        ),
                        cert: ours.certificate(),
                        revised,
                    },
                    AuthMethod::PkePeer {
                        cert: theirs.certificate(),
                        revised,
                    },
                )
            }
        }
    }
}

fn run(esp: &'static [&'static str], seed: u64) -> serde_json::Value {
    run_with(esp, seed, Auth::Psk, V1Exchange::main_or_aggressive(false))
}

fn run_with(
    esp: &'static [&'static str],
    seed: u64,
    auth: Auth,
    exchange: V1Exchange,
) -> serde_json::Value {
    let auth_only = exchange == V1Exchange::AuthOnly;
    let (ra, rb) = (RecordingRng::new(seed), RecordingRng::new(seed + 1));
    let (draws_a, draws_b) = (ra.draws.clone(), rb.draws.clone());
    let s = Side {
        ike: &["aes128-sha256-x25519"],
        esp,
        ..Side::default()
    };
    let mut pa = peer("site-b", B, "a.example.org", "b.example.org", &s);
    pa.version = IkeVersion::V1;
    pa.exchange = exchange;
    (pa.local_auth, pa.remote_auth) = auth.methods(true);
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
    pb.exchange = exchange;
    if auth_only {
        // An Authentication Only SA keys no IPsec SAs.
        pa.children.clear();
        pb.children.clear();
    }
    (pb.local_auth, pb.remote_auth) = auth.methods(false);
    // No IKE fragments: the script reads whole messages only.
    // Private group 40000 is known to both; New Group Mode runs only when a proposal names it.
    let cfg = || EndpointConfig {
        fragment_size: 65_000,
        private_groups: vec![private_modp(40000)],
        ..EndpointConfig::default()
    };
    let mut a = Endpoint::new(cfg(), vec![pa], Box::new(ra)).unwrap();
    let mut b = Endpoint::new(cfg(), vec![pb], Box::new(rb)).unwrap();
    a.set_unix_time(pki::T0);
    b.set_unix_time(pki::T0);
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
        let want = usize::from(!auth_only);
        established(&p.events_a)
            && established(&p.events_b)
            && installs(&p.events_a).len() == want
            && installs(&p.events_b).len() == want
    }));
    // New Group Mode messages (type 33) go apart.
    let is_ngm = |m: &ike_testkit::sim::Sent| m.payload.get(18) == Some(&33);
    // Phase 1 (Main Mode 6 messages, Aggressive Mode 3, Base 4, Authentication Only 3) and
    // Quick Mode 3 (none after Authentication Only).
    let phase2 = match exchange {
        V1Exchange::Main => 9,
        V1Exchange::Aggressive => 6,
        V1Exchange::Base => 7,
        V1Exchange::AuthOnly => 3,
    };
    assert_eq!(p.log.iter().filter(|m| !is_ngm(m)).count(), phase2);
    let now = p.now();
    let h = p.a.handles_all()[0];
    p.a.delete(now, h).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.sa_count() == 0));
    let ngm: Vec<String> = p
        .log
        .iter()
        .filter(|m| is_ngm(m))
        .map(|s| hex::encode(&s.payload))
        .collect();
    let messages: Vec<String> = p
        .log
        .iter()
        .filter(|m| !is_ngm(m))
        .map(|s| hex::encode(&s.payload))
        .collect();
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
    let k = pki::pki();
    let pem = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    let ngm_none = ngm.is_empty();
    let input = serde_json::json!({
        "new_group": ngm,
        "private_groups": {"40000": {"type": "modp", "prime": TEST_SAFE_PRIME.to_ascii_lowercase(), "generator": "02"}},
        "pke_keys": {"i": pem(&k.a_rsa.key), "r": pem(&k.b_rsa.key)},
        "pke_certs": {"i": pem(&k.a_rsa.cert), "r": pem(&k.b_rsa.cert)},
        "messages": messages[..phase2],
        "informational": messages[phase2..],
        "auth": auth.name(),
        "addresses": {"i": A, "r": B},
        "draws_i": draws32(&draws_a),
        "draws_r": draws32(&draws_b),
        "psk": hex::encode("a long random string"),
        "installs": installs_json,
    });
    // The script wants New Group Mode's two messages, or no `new_group` at all.
    let mut input = input;
    if let (true, Some(o)) = (ngm_none, input.as_object_mut()) {
        o.remove("new_group");
    }
    // IKE_KAT_DUMP=DIR keeps each input, for running the script by hand.
    if let Some(dir) = std::env::var_os("IKE_KAT_DUMP") {
        let path =
            std::path::Path::new(&dir).join(format!("{}-{exchange:?}-{seed}.json", auth.name()));
        std::fs::write(path, serde_json::to_vec_pretty(&input).unwrap()).unwrap();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ikev1_kat.py");
    let out = python(script, &serde_json::to_vec(&input).unwrap());
    serde_json::from_slice(&out).unwrap()
}

fn check(report: &serde_json::Value, informational: usize) {
    for key in ["hash_i_ok", "hash_r_ok"] {
        assert_eq!(report[key], serde_json::json!(true), "{key}: {report:#}");
    }
    check_after_phase1(report, informational);
}

/// Everything but the Phase 1 proofs: the keys (and so SKEYID), IVs, Quick Mode hashes, KEYMAT,
/// Informational hashes and NAT-D.
fn check_after_phase1(report: &serde_json::Value, informational: usize) {
    for key in [
        "decrypt_ok",
        "headers_ok",
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

fn expect(report: &serde_json::Value, key: &str, want: serde_json::Value) {
    assert_eq!(report[key], want, "{key}: {report:#}");
}

#[test]
fn main_mode_with_rsa_signatures_matches_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    let r = run_with(
        &["aes128-sha256"],
        51,
        Auth::Rsa,
        V1Exchange::main_or_aggressive(false),
    );
    check(&r, 2);
    expect(&r, "mode", "main".into());
    expect(&r, "sig_i_form", "pkcs1-bare-hash".into());
    expect(&r, "sig_r_form", "pkcs1-bare-hash".into());
    expect(&r, "cert_i_subject", "CN=a.example.org,O=ike tests".into());
    expect(&r, "cert_r_subject", "CN=b.example.org,O=ike tests".into());
    expect(&r, "nat_d_ok", true.into());
}

#[test]
fn aggressive_mode_with_a_psk_and_with_rsa_matches_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    let r = run_with(
        &["aes128-sha256-x25519"],
        61,
        Auth::Psk,
        V1Exchange::main_or_aggressive(true),
    );
    check(&r, 2);
    expect(&r, "mode", "aggressive".into());
    expect(&r, "pfs", true.into());
    expect(&r, "nat_d_ok", true.into());
    let r = run_with(
        &["aes128-sha256"],
        71,
        Auth::Rsa,
        V1Exchange::main_or_aggressive(true),
    );
    check(&r, 2);
    expect(&r, "mode", "aggressive".into());
    expect(&r, "sig_i_form", "pkcs1-bare-hash".into());
    expect(&r, "sig_r_form", "pkcs1-bare-hash".into());
}

/// ECDSA: we sign HASH_I as the digest, as strongSwan does and as interop needs (see
/// `v1::auth`); the script's reading of RFC 4754 is SHA-256(HASH_I). The script names the form
/// it found, so this pins ours; everything after Phase 1 must match.
#[test]
fn main_mode_with_ecdsa_signs_hash_i_as_the_digest() {
    if !have_python() {
        return;
    }
    let r = run_with(
        &["aes128-sha256"],
        81,
        Auth::Ecdsa,
        V1Exchange::main_or_aggressive(false),
    );
    check_after_phase1(&r, 2);
    expect(&r, "sig_i_form", "ecdsa-hash-as-digest".into());
    expect(&r, "sig_r_form", "ecdsa-hash-as-digest".into());
    expect(&r, "cert_i_subject", "CN=a.example.org,O=ike tests".into());
}

/// Public-key encryption, both modes (RFC 2409 §5.2, §5.3): the RSA-encrypted nonces and
/// identities, HASH(1), the revised mode's Ne keys, IV chain and padding, SKEYID and the rest.
#[test]
fn main_mode_with_public_key_encryption_matches_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    for (auth, seed) in [(Auth::Pke, 91), (Auth::Rpke, 93)] {
        let r = run_with(
            &["aes128-sha256"],
            seed,
            auth,
            V1Exchange::main_or_aggressive(false),
        );
        check(&r, 2);
        expect(&r, "pke_mode", auth.name().into());
        expect(&r, "hash1_ok", true.into());
        for key in ["pkcs1_ok", "rpke_padding_ok"] {
            if let Some(m) = r[key].as_object() {
                assert!(
                    !m.is_empty() && m.values().all(|v| v == &serde_json::json!(true)),
                    "{key}: {r:#}"
                );
            } else {
                assert!(
                    key == "rpke_padding_ok" && auth == Auth::Pke,
                    "{key}: {r:#}"
                );
            }
        }
        expect(&r, "nat_d_ok", true.into());
    }
}

/// Aggressive Mode with public-key encryption, both modes, and DSS signatures in Main Mode.
#[test]
fn aggressive_mode_pke_and_main_mode_dss_match_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    for (auth, seed, aggressive) in [
        (Auth::Pke, 95, true),
        (Auth::Rpke, 97, true),
        (Auth::Dss, 99, false),
    ] {
        let r = run_with(
            &["aes128-sha256"],
            seed,
            auth,
            V1Exchange::main_or_aggressive(aggressive),
        );
        check(&r, 2);
        expect(
            &r,
            "mode",
            if aggressive { "aggressive" } else { "main" }.into(),
        );
        if auth == Auth::Dss {
            expect(&r, "sig_i_form", "dsa-sha1-of-hash".into());
            expect(&r, "sig_r_form", "dsa-sha1-of-hash".into());
        } else {
            expect(&r, "pke_mode", auth.name().into());
            expect(&r, "hash1_ok", true.into());
        }
    }
}

/// New Group Mode (RFC 2409 §5.6) for private MODP group 40000, then a Quick Mode with PFS in
/// that group: HASH(1)/HASH(2), the IVs and the SA payload of New Group Mode, and the Quick
/// Mode's KE values, hashes and KEYMAT with g^xy in the private group.
#[test]
fn new_group_mode_and_a_quick_mode_in_the_group_match_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    let r = run_with(
        &["aes128-sha256-group40000"],
        101,
        Auth::Psk,
        V1Exchange::main_or_aggressive(false),
    );
    check(&r, 2);
    expect(&r, "pfs", true.into());
    for key in ["ngm_hash1_ok", "ngm_hash2_ok", "ngm_sa_ok", "ngm_group_ok"] {
        expect(&r, key, true.into());
    }
}

/// The Base exchange (RFC 2408 §4.4) with the keying `v1/base.rs` defines, then Quick Mode:
/// with a pre-shared key and with RSA signatures.
#[test]
fn base_exchange_matches_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    for (auth, seed) in [(Auth::Psk, 111), (Auth::Rsa, 121)] {
        let r = run_with(&["aes128-sha256"], seed, auth, V1Exchange::Base);
        expect(&r, "mode", "base".into());
        check(&r, 2);
    }
}

/// The Authentication Only exchange (RFC 2408 §4.6, no key exchange) with a pre-shared key,
/// and the ISAKMP SA's Delete sent in the clear with the Authentication Only flag.
#[test]
fn authentication_only_exchange_matches_an_independent_python_computation() {
    if !have_python() {
        return;
    }
    let r = run_with(&[], 131, Auth::Psk, V1Exchange::AuthOnly);
    expect(&r, "mode", "authonly".into());
    for key in ["hash_i_ok", "hash_r_ok", "headers_ok"] {
        expect(&r, key, true.into());
    }
    expect(&r, "informational_hash_ok", serde_json::json!([true]));
}
