//! Key exchange through the public API (`ike_crypto::dh`): published known answers, Wycheproof,
//! both sides agreeing over many random keys, and refusal of invalid peer values.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ike_crypto::dh::{self, KeyExchange};
use ike_crypto::rng::{FixedRng, SeededRng};
use ike_crypto::CryptoError;
use ike_wire::group::DhGroup;
use openssl::bn::{BigNum, BigNumContext};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data(name)).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key}"))
}

/// `KEY = VALUE` blocks, each starting at a `COUNT` line (the pyca/CAVS text format).
fn blocks(name: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let mut out = vec![HashMap::new()];
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("COUNT") {
            out.push(HashMap::new());
        }
        if let Some((k, v)) = line.split_once(" = ") {
            out.last_mut().unwrap().insert(k.to_string(), v.to_string());
        }
    }
    out.into_iter().filter(|b| !b.is_empty()).collect()
}

fn generate_fixed(group: DhGroup, private: &[u8]) -> Box<dyn KeyExchange> {
    dh::generate(group, &mut FixedRng::new(private.to_vec())).unwrap()
}

fn invalid(reason: &'static str) -> CryptoError {
    CryptoError::InvalidPublicValue(reason)
}

const ALL_GROUPS: &[u16] = &[
    1, 2, 3, 4, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 35,
    36, 37,
];

// ---------------------------------------------------------------------------------------------
// Known answers

#[test]
fn rfc5903_ecp_known_answers() {
    let v = json("rfc5903_ecp_groups.json");
    let vectors = v["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for t in vectors {
        let group = DhGroup::from(t["group"].as_u64().unwrap() as u16);
        let i = generate_fixed(group, &unhex(str_of(t, "i")));
        let r = generate_fixed(group, &unhex(str_of(t, "r")));
        let gi = [unhex(str_of(t, "gix")), unhex(str_of(t, "giy"))].concat();
        let gr = [unhex(str_of(t, "grx")), unhex(str_of(t, "gry"))].concat();
        assert_eq!(i.public_value(), gi.as_slice(), "{group}");
        assert_eq!(
            i.public_value(),
            unhex(str_of(t, "ike_ke_payload_i")).as_slice()
        );
        assert_eq!(r.public_value(), gr.as_slice(), "{group}");
        let girx = unhex(str_of(t, "girx"));
        assert_eq!(i.shared_secret(&gr).unwrap().expose(), girx.as_slice());
        assert_eq!(r.shared_secret(&gi).unwrap().expose(), girx.as_slice());
        assert_eq!(dh::public_value_len(group), Some(gi.len()));
    }
}

#[test]
fn rfc7748_scalar_multiplication_vectors() {
    // u = 9 (X25519) and u = 5 (X448) are the base points, so vectors with those inputs are
    // also key generation vectors; every vector is a shared-secret computation.
    for (file, group, base) in [
        ("rfc7748-x25519.txt", DhGroup::Curve25519, 9u8),
        ("rfc7748-x448.txt", DhGroup::Curve448, 5u8),
    ] {
        let vectors = blocks(file);
        assert_eq!(vectors.len(), 3, "{file}");
        for b in vectors {
            let kx = generate_fixed(group, &unhex(&b["INPUT_SCALAR"]));
            let u = unhex(&b["INPUT_U"]);
            let out = unhex(&b["OUTPUT_U"]);
            assert_eq!(kx.shared_secret(&u).unwrap().expose(), out.as_slice());
            if u[0] == base && u[1..].iter().all(|&x| x == 0) {
                assert_eq!(kx.public_value(), out.as_slice());
            }
        }
    }
}

#[test]
fn rfc7748_diffie_hellman_examples() {
    let v = json("rfc7748_section6.json");
    for t in v["vectors"].as_array().unwrap() {
        let group = DhGroup::from(t["group"].as_u64().unwrap() as u16);
        let alice = generate_fixed(group, &unhex(str_of(t, "alice_private")));
        let bob = generate_fixed(group, &unhex(str_of(t, "bob_private")));
        assert_eq!(
            alice.public_value(),
            unhex(str_of(t, "alice_public")).as_slice()
        );
        assert_eq!(
            bob.public_value(),
            unhex(str_of(t, "bob_public")).as_slice()
        );
        let k = unhex(str_of(t, "shared"));
        assert_eq!(
            alice.shared_secret(bob.public_value()).unwrap().expose(),
            k.as_slice()
        );
        assert_eq!(
            bob.shared_secret(alice.public_value()).unwrap().expose(),
            k.as_slice()
        );
    }
}

#[test]
fn rfc5114_modp_known_answers() {
    let vectors = blocks("rfc5114-dh.txt");
    let groups = [
        DhGroup::Modp1024S160,
        DhGroup::Modp2048S224,
        DhGroup::Modp2048S256,
    ];
    assert_eq!(vectors.len(), 3);
    for (b, group) in vectors.iter().zip(groups) {
        let p_len = unhex(&b["P"]).len();
        assert_eq!(dh::public_value_len(group), Some(p_len));
        let cavs = generate_fixed(group, &unhex(&b["XstatCAVS"]));
        let iut = generate_fixed(group, &unhex(&b["XstatIUT"]));
        let pad = |s: &str| {
            let v = unhex(s);
            [vec![0u8; p_len - v.len()], v].concat()
        };
        assert_eq!(
            cavs.public_value(),
            pad(&b["YstatCAVS"]).as_slice(),
            "{group}"
        );
        assert_eq!(
            iut.public_value(),
            pad(&b["YstatIUT"]).as_slice(),
            "{group}"
        );
        let z = pad(&b["Z"]);
        assert_eq!(
            cavs.shared_secret(iut.public_value()).unwrap().expose(),
            z.as_slice()
        );
        assert_eq!(
            iut.shared_secret(cavs.public_value()).unwrap().expose(),
            z.as_slice()
        );
        // The same through the responder's API.
        let (ke, secret) = dh::respond(
            group,
            cavs.public_value(),
            &mut FixedRng::new(unhex(&b["XstatIUT"])),
        )
        .unwrap();
        assert_eq!(ke, iut.public_value());
        assert_eq!(secret.expose(), z.as_slice());
    }
}

#[test]
fn rfc3526_primes_match_the_compiled_groups() {
    // KE data has the prime's length, and p - 1 is refused: check both against the file.
    let vectors = blocks("rfc3526-dh.txt");
    let groups = [
        DhGroup::Modp1536,
        DhGroup::Modp2048,
        DhGroup::Modp3072,
        DhGroup::Modp4096,
        DhGroup::Modp6144,
        DhGroup::Modp8192,
    ];
    assert_eq!(vectors.len(), groups.len());
    for (b, group) in vectors.iter().zip(groups) {
        let p = unhex(&b["P"]);
        assert_eq!(b["G"], "2");
        assert_eq!(dh::public_value_len(group), Some(p.len()));
        let kx = dh::generate(group, &mut SeededRng::new(1)).unwrap();
        let mut p_minus_1 = p.clone();
        *p_minus_1.last_mut().unwrap() -= 1; // p ends in 0xff
        let mut p_minus_2 = p.clone();
        *p_minus_2.last_mut().unwrap() -= 2;
        assert_eq!(
            kx.shared_secret(&p_minus_1).unwrap_err(),
            invalid("MODP value out of range (1, p-1)"),
            "{group}"
        );
        assert!(kx.shared_secret(&p_minus_2).is_ok(), "{group}");
        // The documented short-exponent size: exactly that many octets are drawn.
        let x_len = short_exponent_len(group);
        assert_eq!(
            dh::generate(group, &mut FixedRng::new(vec![7; x_len - 1])).unwrap_err(),
            CryptoError::Rng
        );
        // With x = 2 the public value is g^2 = 4.
        let mut x = vec![0u8; x_len];
        x[x_len - 1] = 2;
        let two = generate_fixed(group, &x);
        let mut four = vec![0u8; p.len()];
        four[p.len() - 1] = 4;
        assert_eq!(two.public_value(), four.as_slice(), "2^2 = 4 in {group}");
    }
}

/// Octets of the short private exponent (docs/decisions.md): 256 bits up to 2048-bit primes,
/// then 320, 384, 448, 512.
fn short_exponent_len(group: DhGroup) -> usize {
    match group {
        DhGroup::Modp3072 => 40,
        DhGroup::Modp4096 => 48,
        DhGroup::Modp6144 => 56,
        DhGroup::Modp8192 => 64,
        _ => 32,
    }
}

// ---------------------------------------------------------------------------------------------
// Wycheproof

fn wycheproof_tests(name: &str) -> Vec<Value> {
    json(name)["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap().clone())
        .collect()
}

fn xdh_wycheproof(file: &str, group: DhGroup) -> (usize, usize, usize) {
    let (mut valid, mut acceptable, mut rejected) = (0, 0, 0);
    for t in wycheproof_tests(file) {
        let id = t["tcId"].as_u64().unwrap();
        let private = unhex(str_of(&t, "private"));
        let public = unhex(str_of(&t, "public"));
        let expected = unhex(str_of(&t, "shared"));
        let kx = generate_fixed(group, &private);
        let got = kx.shared_secret(&public);
        match str_of(&t, "result") {
            "valid" => {
                assert_eq!(got.unwrap().expose(), expected.as_slice(), "tcId {id}");
                valid += 1;
            }
            // Acceptable: the twist, non-canonical and low-order inputs RFC 7748 allows. We
            // accept them and must agree with the expected value, except that an all-zero
            // result is refused (RFC 7748 §6, RFC 8031 §2.3).
            "acceptable" => {
                if expected.iter().all(|&b| b == 0) {
                    assert!(got.is_err(), "tcId {id}: all-zero shared secret accepted");
                    rejected += 1;
                } else {
                    assert_eq!(got.unwrap().expose(), expected.as_slice(), "tcId {id}");
                    acceptable += 1;
                }
            }
            _ => {
                assert!(got.is_err(), "tcId {id}: invalid case accepted");
                rejected += 1;
            }
        }
    }
    (valid, acceptable, rejected)
}

#[test]
fn wycheproof_x25519() {
    let (valid, acceptable, rejected) =
        xdh_wycheproof("wycheproof_x25519_test.json", DhGroup::Curve25519);
    // 31 acceptable cases have an all-zero result (low-order public keys) and are refused.
    assert_eq!((valid, acceptable, rejected), (264, 223, 31));
}

#[test]
fn wycheproof_x448() {
    let (valid, acceptable, rejected) =
        xdh_wycheproof("wycheproof_x448_test.json", DhGroup::Curve448);
    // Refused: 12 invalid (57-octet keys) and 11 acceptable with an all-zero result.
    assert_eq!((valid, acceptable, rejected), (253, 234, 23));
}

/// Wycheproof's raw-point ECDH sets. An uncompressed `0x04 || x || y` input becomes IKE's
/// `x || y`; any other encoding (compressed, hybrid, truncated) has no IKE form and is passed
/// as is, which must be refused. Compressed points, "acceptable" in Wycheproof, are therefore
/// refused here.
fn ecpoint_wycheproof(file: &str, group: DhGroup, coord_len: usize) -> (usize, usize) {
    let (mut accepted, mut rejected) = (0, 0);
    for t in wycheproof_tests(file) {
        let id = t["tcId"].as_u64().unwrap();
        let raw = unhex(str_of(&t, "public"));
        let public = match raw.split_first() {
            Some((0x04, xy)) if xy.len() == 2 * coord_len => xy.to_vec(),
            _ => raw.clone(),
        };
        // Private keys are DER-style integers: strip a leading zero, left-pad.
        let mut private = unhex(str_of(&t, "private"));
        while private.len() > coord_len && private[0] == 0 {
            private.remove(0);
        }
        let private = [vec![0u8; coord_len - private.len()], private].concat();
        let kx = generate_fixed(group, &private);
        let got = kx.shared_secret(&public);
        match str_of(&t, "result") {
            "valid" => {
                let expected = unhex(str_of(&t, "shared"));
                assert_eq!(got.unwrap().expose(), expected.as_slice(), "tcId {id}");
                accepted += 1;
            }
            result => {
                assert!(got.is_err(), "tcId {id} ({result}) accepted");
                rejected += 1;
            }
        }
    }
    (accepted, rejected)
}

#[test]
fn wycheproof_ecdh_p256_ecpoint() {
    let (accepted, rejected) = ecpoint_wycheproof(
        "wycheproof_ecdh_secp256r1_ecpoint_test.json",
        DhGroup::Ecp256,
        32,
    );
    assert_eq!((accepted, rejected), (330, 25));
}

#[test]
fn wycheproof_ecdh_p384_ecpoint() {
    let (accepted, rejected) = ecpoint_wycheproof(
        "wycheproof_ecdh_secp384r1_ecpoint_test.json",
        DhGroup::Ecp384,
        48,
    );
    assert_eq!((accepted, rejected), (771, 19));
}

/// Expands 64-octet ML-KEM seeds with tests/data/mlkem_keygen.py: (dk, ek) per seed.
fn mlkem_expand(k: u8, seeds: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut child = Command::new("python3")
        .arg(data("mlkem_keygen.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed to expand ML-KEM seeds");
    let input: String = seeds
        .iter()
        .map(|s| format!("{k} {}\n", hex::encode(s)))
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (dk, ek) = l.split_once(' ').unwrap();
            (unhex(dk), unhex(ek))
        })
        .collect()
}

#[test]
fn wycheproof_mlkem_768_decapsulation() {
    let tests: Vec<Value> = wycheproof_tests("wycheproof_mlkem_768_test.json");
    let with_seed: Vec<&Value> = tests
        .iter()
        .filter(|t| str_of(t, "seed").len() == 128)
        .collect();
    let seeds: Vec<Vec<u8>> = with_seed.iter().map(|t| unhex(str_of(t, "seed"))).collect();
    let keys = mlkem_expand(3, &seeds);
    assert_eq!(keys.len(), with_seed.len());
    let (mut valid, mut invalid_ct) = (0, 0);
    for (t, (dk, ek)) in with_seed.iter().zip(keys) {
        let id = t["tcId"].as_u64().unwrap();
        // The Python expansion is itself checked against Wycheproof's encapsulation key.
        assert_eq!(hex::encode(&ek), str_of(t, "ek"), "tcId {id}");
        let kx = dh::mlkem_from_decapsulation_key(DhGroup::MlKem768, &dk).unwrap();
        assert_eq!(kx.public_value(), ek.as_slice());
        let got = kx.shared_secret(&unhex(str_of(t, "c")));
        if str_of(t, "result") == "valid" {
            // Includes the implicit-rejection cases (modified or random ciphertexts).
            assert_eq!(
                hex::encode(got.unwrap().expose()),
                str_of(t, "K"),
                "tcId {id}"
            );
            valid += 1;
        } else {
            assert_eq!(
                got.unwrap_err(),
                invalid("ML-KEM ciphertext has the wrong length"),
                "tcId {id}"
            );
            invalid_ct += 1;
        }
    }
    assert_eq!((valid, invalid_ct), (153, 20));
    // The other 20 cases have seeds of the wrong length, which have no expanded form; the
    // expanded key's own length and hash are checked instead.
    assert_eq!(tests.len() - with_seed.len(), 20);
    let (dk, _) = &mlkem_expand(3, &seeds[..1])[0];
    for bad in [&dk[..dk.len() - 1], &[dk.as_slice(), &[0]].concat()[..]] {
        assert!(dh::mlkem_from_decapsulation_key(DhGroup::MlKem768, bad).is_err());
    }
    let mut tampered = dk.clone();
    tampered[1200] ^= 1; // inside the embedded ek: H(ek) no longer matches
    assert_eq!(
        dh::mlkem_from_decapsulation_key(DhGroup::MlKem768, &tampered).unwrap_err(),
        CryptoError::Parse("ML-KEM decapsulation key (hash check)")
    );
}

#[test]
fn wycheproof_mlkem_768_encapsulation() {
    // Encapsulation randomness is aws-lc's own, so K cannot be compared; the responder must
    // accept every valid key and refuse every invalid one (wrong length, coefficients >= q).
    let (mut valid, mut invalid) = (0, 0);
    for t in wycheproof_tests("wycheproof_mlkem_768_encaps_test.json") {
        let id = t["tcId"].as_u64().unwrap();
        let ek = unhex(str_of(&t, "ek"));
        let got = dh::respond(DhGroup::MlKem768, &ek, &mut SeededRng::new(0));
        if str_of(&t, "result") == "valid" {
            let (ct, k) = got.unwrap();
            assert_eq!((ct.len(), k.len()), (1088, 32), "tcId {id}");
            valid += 1;
        } else {
            assert!(got.is_err(), "tcId {id} accepted");
            invalid += 1;
        }
    }
    assert_eq!((valid, invalid), (133, 132));
}

// ---------------------------------------------------------------------------------------------
// Both sides agree

fn rounds(group: DhGroup) -> u64 {
    match group {
        DhGroup::Modp6144 | DhGroup::Modp8192 => 5,
        DhGroup::Modp3072 | DhGroup::Modp4096 => 10,
        _ => 24,
    }
}

#[test]
fn both_sides_agree_for_every_group() {
    for &v in ALL_GROUPS {
        let group = DhGroup::from(v);
        assert!(dh::is_supported(group));
        let mut rng = SeededRng::new(u64::from(v));
        for _ in 0..rounds(group) {
            let init = dh::generate(group, &mut rng).unwrap();
            assert_eq!(init.group(), group);
            assert_eq!(Some(init.public_value().len()), dh::public_value_len(group));
            let (resp_ke, resp_secret) = dh::respond(group, init.public_value(), &mut rng).unwrap();
            assert_eq!(Some(resp_ke.len()), dh::response_len(group), "{group}");
            let init_secret = init.shared_secret(&resp_ke).unwrap();
            assert_eq!(init_secret, resp_secret, "{group}");
            assert!(init_secret.expose().iter().any(|&b| b != 0));
            if !dh::is_kem(group) {
                // Diffie-Hellman is symmetric: a second generated pair agrees too.
                let other = dh::generate(group, &mut rng).unwrap();
                assert_eq!(
                    init.shared_secret(other.public_value()).unwrap(),
                    other.shared_secret(init.public_value()).unwrap()
                );
            }
        }
    }
}

#[test]
fn private_values_come_from_the_rng() {
    for &v in ALL_GROUPS {
        let group = DhGroup::from(v);
        let a = dh::generate(group, &mut SeededRng::new(9)).unwrap();
        let b = dh::generate(group, &mut SeededRng::new(9)).unwrap();
        let c = dh::generate(group, &mut SeededRng::new(10)).unwrap();
        if dh::is_kem(group) {
            // aws-lc-rs draws ML-KEM randomness itself (see src/dh/mlkem.rs).
            assert_ne!(a.public_value(), b.public_value());
        } else {
            assert_eq!(a.public_value(), b.public_value(), "{group}");
            assert_ne!(a.public_value(), c.public_value(), "{group}");
        }
        // An exhausted generator is an error, not a panic or a weak key.
        if !dh::is_kem(group) {
            assert_eq!(
                dh::generate(group, &mut FixedRng::new(vec![])).unwrap_err(),
                CryptoError::Rng
            );
        }
    }
}

#[test]
fn debug_output_shows_no_private_value() {
    for &v in ALL_GROUPS {
        let group = DhGroup::from(v);
        let kx = dh::generate(group, &mut SeededRng::new(3)).unwrap();
        let shown = format!("{kx:?}");
        assert!(shown.contains(&format!("{group:?}")), "{shown}");
        assert!(shown.len() < 200, "{shown}");
        let secret = kx.shared_secret(kx.public_value());
        if let Ok(s) = secret {
            assert!(format!("{s:?}").contains("redacted"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invalid peer values

#[test]
fn modp_peer_values_are_validated() {
    for group in [
        DhGroup::Modp768,
        DhGroup::Modp1024,
        DhGroup::Modp2048,
        DhGroup::Modp1024S160,
        DhGroup::Modp2048S224,
        DhGroup::Modp2048S256,
    ] {
        let len = dh::public_value_len(group).unwrap();
        let kx = dh::generate(group, &mut SeededRng::new(4)).unwrap();
        let err = |v: &[u8]| kx.shared_secret(v).unwrap_err();
        let num = |last: u8| {
            let mut v = vec![0u8; len];
            v[len - 1] = last;
            v
        };
        assert_eq!(
            err(&num(5)[1..]),
            invalid("MODP value has the wrong length")
        );
        assert_eq!(
            err(&[num(5), vec![0]].concat()),
            invalid("MODP value has the wrong length")
        );
        assert_eq!(
            err(&[vec![0], num(5)].concat()),
            invalid("MODP value has the wrong length")
        );
        assert_eq!(err(&[]), invalid("MODP value has the wrong length"));
        let range = invalid("MODP value out of range (1, p-1)");
        assert_eq!(err(&num(0)), range);
        assert_eq!(err(&num(1)), range);
        assert_eq!(err(&vec![0xff; len]), range);
        // p and p - 1, from a value that is: the group's own p - 1 is its generator to the
        // power (p-1)/2 for safe primes; build p from the public value's length instead.
        let p = modp_prime(group);
        let mut p_minus_1 = p.clone();
        *p_minus_1.last_mut().unwrap() -= 1;
        assert_eq!(err(&p), range);
        assert_eq!(err(&p_minus_1), range);
        if matches!(
            group,
            DhGroup::Modp1024S160 | DhGroup::Modp2048S224 | DhGroup::Modp2048S256
        ) {
            // 2 is not in the prime-order subgroup of the RFC 5114 groups.
            assert_eq!(
                err(&num(2)),
                invalid("MODP value is not in the prime order subgroup")
            );
        } else {
            assert!(kx.shared_secret(&num(2)).is_ok());
        }
    }
}

/// The prime of a MODP group, read from the test data.
fn modp_prime(group: DhGroup) -> Vec<u8> {
    match group {
        DhGroup::Modp1024S160 | DhGroup::Modp2048S224 | DhGroup::Modp2048S256 => {
            let i = group.value() as usize - 22;
            unhex(&blocks("rfc5114-dh.txt")[i]["P"])
        }
        DhGroup::Modp768 | DhGroup::Modp1024 => {
            // RFC 2409 §6.1-6.2 primes: OpenSSL ships them too.
            let p = if group == DhGroup::Modp768 {
                BigNum::get_rfc2409_prime_768()
            } else {
                BigNum::get_rfc2409_prime_1024()
            };
            p.unwrap().to_vec()
        }
        _ => {
            let i = match group {
                DhGroup::Modp1536 => 0,
                DhGroup::Modp2048 => 1,
                DhGroup::Modp3072 => 2,
                DhGroup::Modp4096 => 3,
                DhGroup::Modp6144 => 4,
                _ => 5,
            };
            unhex(&blocks("rfc3526-dh.txt")[i]["P"])
        }
    }
}

#[test]
fn modp_primes_match_openssl_builtins() {
    let builtin = [
        (DhGroup::Modp768, BigNum::get_rfc2409_prime_768()),
        (DhGroup::Modp1024, BigNum::get_rfc2409_prime_1024()),
        (DhGroup::Modp1536, BigNum::get_rfc3526_prime_1536()),
        (DhGroup::Modp2048, BigNum::get_rfc3526_prime_2048()),
        (DhGroup::Modp3072, BigNum::get_rfc3526_prime_3072()),
        (DhGroup::Modp4096, BigNum::get_rfc3526_prime_4096()),
        (DhGroup::Modp6144, BigNum::get_rfc3526_prime_6144()),
        (DhGroup::Modp8192, BigNum::get_rfc3526_prime_8192()),
    ];
    for (group, p) in builtin {
        let p = p.unwrap().to_vec();
        assert_eq!(dh::public_value_len(group), Some(p.len()));
        // x = 2 (the smallest exponent drawn): public value 2^2 = 4; and p itself is refused.
        let x_len = short_exponent_len(group);
        let mut x = vec![0u8; x_len];
        x[x_len - 1] = 2;
        let kx = generate_fixed(group, &x);
        assert_eq!(kx.public_value()[p.len() - 1], 4);
        assert_eq!(
            kx.shared_secret(&p).unwrap_err(),
            invalid("MODP value out of range (1, p-1)")
        );
        // p - 2 = -2 mod p, and (-2)^2 = 4: the shared secret with x = 2 is 4.
        let mut p_minus_2 = p.clone();
        *p_minus_2.last_mut().unwrap() -= 2;
        assert_eq!(
            kx.shared_secret(&p_minus_2).unwrap().expose(),
            kx.public_value()
        );
        if group != DhGroup::Modp768 && group != DhGroup::Modp1024 {
            assert_eq!(p, modp_prime(group));
        }
    }
}

#[test]
fn ecp_peer_values_are_validated() {
    for v in [19u16, 20, 21, 25, 26, 27, 28, 29, 30] {
        let group = DhGroup::from(v);
        let len = dh::public_value_len(group).unwrap();
        let kx = dh::generate(group, &mut SeededRng::new(5)).unwrap();
        let other = dh::generate(group, &mut SeededRng::new(6)).unwrap();
        let good = other.public_value().to_vec();
        assert!(kx.shared_secret(&good).is_ok());
        let wrong_length = invalid("ECP value has the wrong length");
        assert_eq!(kx.shared_secret(&good[1..]).unwrap_err(), wrong_length);
        assert_eq!(
            kx.shared_secret(&[&[4u8][..], &good].concat()).unwrap_err(),
            wrong_length
        );
        assert_eq!(
            kx.shared_secret(&good[..len / 2 + 1]).unwrap_err(),
            wrong_length
        );
        let mut off_curve = good.clone();
        off_curve[len - 1] ^= 1;
        assert!(
            kx.shared_secret(&off_curve).is_err(),
            "{group}: off-curve point"
        );
        assert!(
            kx.shared_secret(&vec![0u8; len]).is_err(),
            "{group}: (0, 0)"
        );
        assert!(
            kx.shared_secret(&vec![0xffu8; len]).is_err(),
            "{group}: coordinates >= p"
        );
        // The generator's negation (x, p - y) is on the curve and fine; (x, 0) is not.
        let mut y_zero = good.clone();
        y_zero[len / 2..].fill(0);
        assert!(kx.shared_secret(&y_zero).is_err(), "{group}: (x, 0)");
    }
}

#[test]
fn montgomery_low_order_points_are_refused() {
    // RFC 7748 / Wycheproof low-order u-coordinates for Curve25519: each gives an all-zero
    // shared secret for every private key.
    let p = "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    let p_plus_1 = "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    let p_minus_1 = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    let low_order_25519 = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        p_minus_1,
        p,
        p_plus_1,
    ];
    for seed in 0..4 {
        let kx = dh::generate(DhGroup::Curve25519, &mut SeededRng::new(seed)).unwrap();
        for u in low_order_25519 {
            assert_eq!(
                kx.shared_secret(&unhex(u)).unwrap_err(),
                invalid("X25519 shared secret is all zero"),
                "{u}"
            );
        }
        assert_eq!(
            kx.shared_secret(&[0u8; 31]).unwrap_err(),
            invalid("X25519 value has the wrong length")
        );
        let x448 = dh::generate(DhGroup::Curve448, &mut SeededRng::new(seed)).unwrap();
        let mut one = vec![0u8; 56];
        one[0] = 1;
        for u in [vec![0u8; 56], one] {
            assert_eq!(
                x448.shared_secret(&u).unwrap_err(),
                invalid("X448 shared secret is all zero")
            );
        }
        assert_eq!(
            x448.shared_secret(&[0u8; 57]).unwrap_err(),
            invalid("X448 value has the wrong length")
        );
    }
}

#[test]
fn ec2n_peer_values_are_validated() {
    for (group, len) in [(DhGroup::Ec2n155, 20), (DhGroup::Ec2n185, 24)] {
        assert_eq!(dh::public_value_len(group), Some(len));
        let kx = dh::generate(group, &mut SeededRng::new(8)).unwrap();
        let err = |v: &[u8]| kx.shared_secret(v).unwrap_err();
        assert_eq!(
            err(&vec![0; len - 1]),
            invalid("EC2N value has the wrong length")
        );
        assert_eq!(err(&vec![0; len]), invalid("EC2N point of order two"));
        assert_eq!(
            err(&vec![0xff; len]),
            invalid("EC2N value is not a field element")
        );
        // The generator itself is a valid peer value; its x with one bit flipped is either off
        // the curve or outside the subgroup, never accepted silently as something else.
        let mut g = vec![0u8; len];
        g[len - 1] = if group == DhGroup::Ec2n155 {
            0x7b
        } else {
            0x18
        };
        assert!(kx.shared_secret(&g).is_ok());
    }
}

#[test]
fn kem_values_are_validated() {
    for (group, ek_len, ct_len) in [
        (DhGroup::MlKem512, 800, 768),
        (DhGroup::MlKem768, 1184, 1088),
        (DhGroup::MlKem1024, 1568, 1568),
    ] {
        assert!(dh::is_kem(group));
        assert_eq!(dh::public_value_len(group), Some(ek_len));
        assert_eq!(dh::response_len(group), Some(ct_len));
        let kx = dh::generate(group, &mut SeededRng::new(0)).unwrap();
        assert_eq!(
            kx.shared_secret(&vec![0u8; ct_len - 1]).unwrap_err(),
            invalid("ML-KEM ciphertext has the wrong length")
        );
        assert_eq!(
            dh::respond(group, &vec![0u8; ek_len + 1], &mut SeededRng::new(0)).unwrap_err(),
            invalid("ML-KEM encapsulation key has the wrong length")
        );
        // Coefficients of 0xfff >= q: not a reduced key (FIPS 203 §7.2).
        assert!(dh::respond(group, &vec![0xff; ek_len], &mut SeededRng::new(0)).is_err());
        // A wrong but well-formed ciphertext decapsulates to an unrelated key (implicit
        // rejection), so the two sides simply disagree.
        let (ct, k) = dh::respond(group, kx.public_value(), &mut SeededRng::new(0)).unwrap();
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert_ne!(kx.shared_secret(&bad).unwrap(), k);
        assert_eq!(kx.shared_secret(&ct).unwrap(), k);
    }
}

// ---------------------------------------------------------------------------------------------
// New Group Mode

#[test]
fn custom_modp_group_matches_the_standard_one() {
    let p = modp_prime(DhGroup::Modp2048);
    let group = dh::modp_group_from_params(&p, &[2])
        .unwrap()
        .with_id(DhGroup::from(32768));
    assert_eq!(group.id(), DhGroup::from(32768));
    assert_eq!(group.public_value_len(), 256);
    let custom = group.generate(&mut SeededRng::new(12)).unwrap();
    let standard = dh::generate(DhGroup::Modp2048, &mut SeededRng::new(12)).unwrap();
    assert_eq!(custom.public_value(), standard.public_value());
    assert_eq!(custom.group(), DhGroup::from(32768));
    let (ke, secret) = group
        .respond(custom.public_value(), &mut SeededRng::new(13))
        .unwrap();
    assert_eq!(custom.shared_secret(&ke).unwrap(), secret);
    // Leading zeros in the attributes are accepted.
    assert!(dh::modp_group_from_params(&[vec![0, 0], p.clone()].concat(), &[0, 2]).is_ok());
}

#[test]
fn custom_modp_parameters_are_validated() {
    let bad = CryptoError::InvalidGroupParameters;
    let p2048 = modp_prime(DhGroup::Modp2048);
    let mut p_minus_1 = p2048.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    let mut p_minus_2 = p2048.clone();
    *p_minus_2.last_mut().unwrap() -= 2;
    let check = |p: &[u8], g: &[u8], why| {
        assert_eq!(dh::modp_group_from_params(p, g).unwrap_err(), bad(why));
    };
    check(&p2048, &[1], "generator out of range [2, p-2]");
    check(&p2048, &[0], "generator out of range [2, p-2]");
    check(&p2048, &p_minus_1, "generator out of range [2, p-2]");
    check(&p2048, &p2048, "generator out of range [2, p-2]");
    assert!(dh::modp_group_from_params(&p2048, &p_minus_2).is_ok());
    check(&p_minus_1, &[2], "prime is even");
    check(&p_minus_2, &[2], "prime is not a safe prime");
    check(
        &p2048[..64],
        &[2],
        "prime size out of range (768 to 8192 bits)",
    );
    check(
        &[
            p2048.clone(),
            p2048.clone(),
            p2048.clone(),
            p2048.clone(),
            vec![0xff],
        ]
        .concat(),
        &[2],
        "prime size out of range (768 to 8192 bits)",
    );
    // RFC 5114's 2048-bit prime is prime but not safe: refused (see the function's docs).
    check(
        &modp_prime(DhGroup::Modp2048S256),
        &[2],
        "prime is not a safe prime",
    );
    // The 8192-bit standard prime is recognised; another odd 8192-bit number is not tested.
    let p8192 = modp_prime(DhGroup::Modp8192);
    assert!(dh::modp_group_from_params(&p8192, &[5]).is_ok());
    let mut p8192_minus_2 = p8192.clone();
    *p8192_minus_2.last_mut().unwrap() -= 2;
    check(
        &p8192_minus_2,
        &[2],
        "prime above 4096 bits that is not a standard MODP prime",
    );
    // 2q + 1 with q prime but 2q + 1 composite (q = 1 mod 3, so 3 divides 2q + 1).
    let mut ctx = BigNumContext::new().unwrap();
    let composite = loop {
        let mut q = BigNum::new().unwrap();
        q.generate_prime(800, false, None, None).unwrap();
        if q.mod_word(3).unwrap() == 1 {
            let mut p = BigNum::new().unwrap();
            p.lshift1(&q).unwrap();
            p.add_word(1).unwrap();
            assert!(!p.is_prime(20, &mut ctx).unwrap());
            break p.to_vec();
        }
    };
    check(&composite, &[2], "modulus is not prime");
}

#[test]
fn custom_modp_group_with_a_fresh_safe_prime() {
    // A safe prime that is in no table, as a peer might propose: accepted, and usable.
    let mut p = BigNum::new().unwrap();
    p.generate_prime(768, true, None, None).unwrap();
    let group = dh::modp_group_from_params(&p.to_vec(), &[2]).unwrap();
    assert_eq!(group.public_value_len(), 96);
    let a = group.generate(&mut SeededRng::new(1)).unwrap();
    let (ke, secret) = group
        .respond(a.public_value(), &mut SeededRng::new(2))
        .unwrap();
    assert_eq!(a.shared_secret(&ke).unwrap(), secret);
}

#[test]
fn custom_ec2n_group_matches_the_standard_one() {
    let h = |s: &str| unhex(s);
    let group = dh::ec2n_group_from_params(
        &h("0800000000000000000000004000000000000001"),
        &[0],
        &h("07338f"),
        &h("7b"),
        Some(&h("01c8")),
        &h("0800000000000000000057db5698537193aef944"),
    )
    .unwrap();
    assert_eq!(group.public_value_len(), 20);
    let custom = group.generate(&mut SeededRng::new(21)).unwrap();
    let standard = dh::generate(DhGroup::Ec2n155, &mut SeededRng::new(21)).unwrap();
    assert_eq!(custom.public_value(), standard.public_value());
    assert_eq!(custom.group(), DhGroup::None);
    let (ke, secret) = group
        .respond(custom.public_value(), &mut SeededRng::new(22))
        .unwrap();
    assert_eq!(custom.shared_secret(&ke).unwrap(), secret);
    assert_eq!(standard.shared_secret(&ke).unwrap(), secret);
    // NIST B-163 (FIPS 186-4 D.1.3.1.2; cofactor 2) through the same path.
    let b163 = dh::ec2n_group_from_params(
        &h("0800000000000000000000000000000000000000c9"),
        &[1],
        &h("020a601907b8c953ca1481eb10512f78744a3205fd"),
        &h("03f0eba16286a2d57ea0991168d4994637e8343e36"),
        Some(&h("00d51fbc6c71a0094fa2cdd545b11c5c0c797324f1")),
        &h("040000000000000000000292fe77e70c12a4234c33"),
    )
    .unwrap();
    let a = b163.generate(&mut SeededRng::new(1)).unwrap();
    let (ke, secret) = b163
        .respond(a.public_value(), &mut SeededRng::new(2))
        .unwrap();
    assert_eq!(a.shared_secret(&ke).unwrap(), secret);
    assert_eq!(secret.len(), 21);
}
