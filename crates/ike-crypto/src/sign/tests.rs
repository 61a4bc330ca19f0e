//! Unit tests of the signature module that need its internals: the Wycheproof verification sets
//! run through both the automatic backend choice and the OpenSSL-only path, so that the fallback
//! is held to the same vectors as the fast path. The public API is tested in `tests/sign.rs`.

use std::path::PathBuf;

use serde_json::Value;

use super::{
    sign_with, verify_with, Backend, EcdsaFormat, Hash, PrivateKey, PublicKey, SignatureScheme,
};

fn data(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "data",
        "wycheproof",
        name,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn hex_field(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or_else(|| panic!("no {field}"))).unwrap()
}

fn hash_of(group: &Value) -> Hash {
    match group["sha"].as_str().unwrap() {
        "SHA-1" => Hash::Sha1,
        "SHA-256" => Hash::Sha256,
        "SHA-384" => Hash::Sha384,
        "SHA-512" => Hash::Sha512,
        other => panic!("hash {other}"),
    }
}

#[derive(Debug, Default, PartialEq)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

/// Runs a Wycheproof verification file: every valid case must verify and every invalid one must
/// be rejected; "acceptable" cases (legacy encodings the suite allows either way) are counted
/// only. Returns the counts so the callers can check that the whole file ran.
fn run_verify(file: &str, scheme: impl Fn(&Value) -> SignatureScheme, backend: Backend) -> Counts {
    let doc = data(file);
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let key = PublicKey::from_spki_der(&hex_field(group, "publicKeyDer"))
            .unwrap_or_else(|e| panic!("{file}: key: {e}"));
        let scheme = scheme(group);
        for test in group["tests"].as_array().unwrap() {
            let msg = hex_field(test, "msg");
            let sig = hex_field(test, "sig");
            let result = verify_with(&key, scheme, &msg, &sig, backend);
            let id = test["tcId"].as_u64().unwrap();
            match test["result"].as_str().unwrap() {
                "valid" => {
                    counts.valid += 1;
                    if let Err(e) = result {
                        failures.push(format!("tcId {id} valid but {e}"));
                    }
                }
                "invalid" => {
                    counts.invalid += 1;
                    if result.is_ok() {
                        failures.push(format!("tcId {id} invalid but accepted"));
                    }
                }
                _ => counts.acceptable += 1,
            }
        }
    }
    assert!(failures.is_empty(), "{file} ({backend:?}): {failures:#?}");
    counts
}

fn both_backends(
    file: &str,
    scheme: impl Fn(&Value) -> SignatureScheme + Copy,
    expected: (usize, usize),
) {
    for backend in [Backend::Auto, Backend::OpenSsl] {
        let counts = run_verify(file, scheme, backend);
        assert_eq!(
            (counts.valid, counts.invalid),
            expected,
            "{file} ({backend:?})"
        );
    }
}

#[test]
fn wycheproof_rsa_pkcs1_sha256() {
    both_backends(
        "rsa_signature_2048_sha256_test.json",
        |g| SignatureScheme::RsaPkcs1 { hash: hash_of(g) },
        (9, 249),
    );
}

#[test]
fn wycheproof_rsa_pss_sha256() {
    both_backends(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        |g| {
            assert_eq!(g["sLen"], 32);
            assert_eq!(g["mgfSha"], "SHA-256");
            SignatureScheme::RsaPss { hash: hash_of(g) }
        },
        (63, 45),
    );
}

#[test]
fn wycheproof_ecdsa_p256_raw() {
    both_backends(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        |g| SignatureScheme::Ecdsa {
            hash: hash_of(g),
            format: EcdsaFormat::Raw,
        },
        (173, 89),
    );
}

#[test]
fn wycheproof_ecdsa_p256_der() {
    both_backends(
        "ecdsa_secp256r1_sha256_test.json",
        |g| SignatureScheme::Ecdsa {
            hash: hash_of(g),
            format: EcdsaFormat::Der,
        },
        (174, 310),
    );
}

#[test]
fn wycheproof_ecdsa_p384_raw() {
    both_backends(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        |g| SignatureScheme::Ecdsa {
            hash: hash_of(g),
            format: EcdsaFormat::Raw,
        },
        (193, 87),
    );
}

#[test]
fn wycheproof_ecdsa_p521_raw() {
    both_backends(
        "ecdsa_secp521r1_sha512_p1363_test.json",
        |g| SignatureScheme::Ecdsa {
            hash: hash_of(g),
            format: EcdsaFormat::Raw,
        },
        (231, 87),
    );
}

#[test]
fn wycheproof_ed25519() {
    both_backends("ed25519_test.json", |_| SignatureScheme::Ed25519, (88, 63));
}

#[test]
fn wycheproof_ed448() {
    both_backends("ed448_test.json", |_| SignatureScheme::Ed448, (17, 70));
}

#[test]
fn wycheproof_dsa_2048_224_sha256_raw() {
    both_backends(
        "dsa_2048_224_sha256_p1363_test.json",
        |g| SignatureScheme::Dsa { hash: hash_of(g) },
        (79, 58),
    );
}

/// PKCS#1 v1.5 is deterministic, so Wycheproof's signature-generation sets are known answers
/// for signing: SHA-1 through OpenSSL, SHA-2 through aws-lc-rs for 2048-bit keys and OpenSSL for
/// 1024-bit ones (and through OpenSSL for all when forced).
#[test]
fn wycheproof_rsa_pkcs1_generation_known_answers() {
    let mut checked = 0;
    for file in [
        "rsa_pkcs1_1024_sig_gen_test.json",
        "rsa_pkcs1_2048_sig_gen_test.json",
    ] {
        let doc = data(file);
        for group in doc["testGroups"].as_array().unwrap() {
            if group["sha"] == "SHA-224" {
                continue;
            }
            let hash = hash_of(group);
            let key = PrivateKey::from_der(&hex_field(group, "privateKeyPkcs8")).unwrap();
            let scheme = SignatureScheme::RsaPkcs1 { hash };
            for test in group["tests"].as_array().unwrap() {
                let msg = hex_field(test, "msg");
                let expected = hex_field(test, "sig");
                for backend in [Backend::Auto, Backend::OpenSsl] {
                    let sig = sign_with(&key, scheme, &msg, backend).unwrap();
                    assert_eq!(
                        hex::encode(&sig),
                        hex::encode(&expected),
                        "{file} tcId {} {backend:?}",
                        test["tcId"]
                    );
                    verify_with(&key.public_key(), scheme, &msg, &sig, backend).unwrap();
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "{checked}");
}

/// The fast path and the OpenSSL path must each verify what the other signs.
#[test]
fn backends_agree_both_ways() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", "sign"]
        .iter()
        .collect();
    let cases: &[(&str, &[SignatureScheme])] = &[
        (
            "rsa2048.pkcs8.pem",
            &[
                SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 },
                SignatureScheme::RsaPkcs1 { hash: Hash::Sha512 },
                SignatureScheme::RsaPss { hash: Hash::Sha256 },
                SignatureScheme::RsaPss { hash: Hash::Sha384 },
            ],
        ),
        (
            "ec_p256.pkcs8.pem",
            &[
                SignatureScheme::Ecdsa {
                    hash: Hash::Sha256,
                    format: EcdsaFormat::Raw,
                },
                SignatureScheme::Ecdsa {
                    hash: Hash::Sha256,
                    format: EcdsaFormat::Der,
                },
            ],
        ),
        (
            "ec_p521.pkcs8.pem",
            &[SignatureScheme::Ecdsa {
                hash: Hash::Sha512,
                format: EcdsaFormat::Raw,
            }],
        ),
        ("ed25519.pkcs8.pem", &[SignatureScheme::Ed25519]),
    ];
    for (file, schemes) in cases {
        let key = PrivateKey::from_pem(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        assert!(
            key.inner().fast.is_some(),
            "{file} should load into aws-lc-rs"
        );
        let public = key.public_key();
        for &scheme in *schemes {
            let msg = b"signed octets";
            let fast = sign_with(&key, scheme, msg, Backend::Auto).unwrap();
            let slow = sign_with(&key, scheme, msg, Backend::OpenSsl).unwrap();
            verify_with(&public, scheme, msg, &fast, Backend::OpenSsl).unwrap();
            verify_with(&public, scheme, msg, &slow, Backend::Auto).unwrap();
        }
    }
}
