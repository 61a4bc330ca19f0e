//! The public signature API: RFC 7427 Appendix A encodings, the IKEv1 bare-hash RSA form against
//! an independent computation, sign/verify round trips for every scheme and key kind, key
//! parsing, typed errors and redacted `Debug`. The Wycheproof verification sets run in the unit
//! tests of `src/sign/tests.rs`, through both backends.

use std::path::PathBuf;

use ike_crypto::rng::SeededRng;
use ike_crypto::sign::{
    rfc7427_encode, rfc7427_parse, sign, verify, Curve, EcdsaFormat, Hash, KeyKind, PrivateKey,
    PublicKey, SignatureHashAlgorithm, SignatureScheme,
};
use ike_crypto::CryptoError;

fn path(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "data", "sign", name]
        .iter()
        .collect()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn key(name: &str) -> PrivateKey {
    PrivateKey::from_pem(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn ecdsa(hash: Hash, format: EcdsaFormat) -> SignatureScheme {
    SignatureScheme::Ecdsa { hash, format }
}

const ALL_HASHES: [Hash; 4] = [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512];

// ---------------------------------------------------------------------------------------------
// RFC 7427 Appendix A and RFC 8420 §2
// ---------------------------------------------------------------------------------------------

/// The AlgorithmIdentifier byte strings of RFC 7427 Appendix A (A.1 PKCS#1 1.5, A.3 ECDSA, A.4.1
/// and A.4.3 RSASSA-PSS) and RFC 8420 §2 (Ed25519, Ed448), without the length byte, as libreswan
/// transcribes them in `include/ietf_constants.h`, which also lists the SHA-384 and SHA-512
/// RSASSA-PSS variants (A.4.3's with the hash OIDs and salt changed). See tests/data/README.md.
const APPENDIX_A: &[(&str, &str, SignatureScheme)] = &[
    (
        "A.1.1 sha1WithRSAEncryption",
        "300d06092a864886f70d0101050500",
        SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 },
    ),
    (
        "A.1.2 sha256WithRSAEncryption",
        "300d06092a864886f70d01010b0500",
        SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 },
    ),
    (
        "A.1.3 sha384WithRSAEncryption",
        "300d06092a864886f70d01010c0500",
        SignatureScheme::RsaPkcs1 { hash: Hash::Sha384 },
    ),
    (
        "A.1.4 sha512WithRSAEncryption",
        "300d06092a864886f70d01010d0500",
        SignatureScheme::RsaPkcs1 { hash: Hash::Sha512 },
    ),
    (
        "A.3.1 ecdsa-with-sha1",
        "300906072a8648ce3d0401",
        SignatureScheme::Ecdsa {
            hash: Hash::Sha1,
            format: EcdsaFormat::Der,
        },
    ),
    (
        "A.3.2 ecdsa-with-sha256",
        "300a06082a8648ce3d040302",
        SignatureScheme::Ecdsa {
            hash: Hash::Sha256,
            format: EcdsaFormat::Der,
        },
    ),
    (
        "A.3.3 ecdsa-with-sha384",
        "300a06082a8648ce3d040303",
        SignatureScheme::Ecdsa {
            hash: Hash::Sha384,
            format: EcdsaFormat::Der,
        },
    ),
    (
        "A.3.4 ecdsa-with-sha512",
        "300a06082a8648ce3d040304",
        SignatureScheme::Ecdsa {
            hash: Hash::Sha512,
            format: EcdsaFormat::Der,
        },
    ),
    (
        "A.4.1 RSASSA-PSS with empty parameters (SHA-1 defaults)",
        "300d06092a864886f70d01010a3000",
        SignatureScheme::RsaPss { hash: Hash::Sha1 },
    ),
    (
        "A.4.3 RSASSA-PSS with SHA-256",
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500\
         a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120",
        SignatureScheme::RsaPss { hash: Hash::Sha256 },
    ),
    (
        "RSASSA-PSS with SHA-384",
        "304106092a864886f70d01010a3034a00f300d06096086480165030402020500\
         a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
        SignatureScheme::RsaPss { hash: Hash::Sha384 },
    ),
    (
        "RSASSA-PSS with SHA-512",
        "304106092a864886f70d01010a3034a00f300d06096086480165030402030500\
         a11c301a06092a864886f70d010108300d06096086480165030402030500a203020140",
        SignatureScheme::RsaPss { hash: Hash::Sha512 },
    ),
    (
        "RFC 8420 Ed25519",
        "300506032b6570",
        SignatureScheme::Ed25519,
    ),
    ("RFC 8420 Ed448", "300506032b6571", SignatureScheme::Ed448),
];

#[test]
fn rfc7427_appendix_a_encodings_byte_for_byte() {
    for &(name, alg_hex, scheme) in APPENDIX_A {
        let alg = hex(alg_hex);
        let mut expected = vec![u8::try_from(alg.len()).unwrap()];
        expected.extend_from_slice(&alg);
        assert_eq!(
            hex::encode(rfc7427_encode(scheme).unwrap()),
            hex::encode(&expected),
            "{name}"
        );
        let mut auth_data = expected.clone();
        auth_data.extend_from_slice(b"signature value");
        let (parsed, signature) = rfc7427_parse(&auth_data).unwrap();
        assert_eq!(parsed, scheme, "{name}");
        assert_eq!(signature, b"signature value", "{name}");
    }
}

#[test]
fn rfc7427_lengths_match_the_appendix() {
    // The "Length = N" lines of Appendix A: 15 for PKCS#1 1.5, 11/12 for ECDSA, 67 for PSS-SHA2.
    let len = |s| rfc7427_encode(s).unwrap()[0];
    assert_eq!(len(SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 }), 15);
    assert_eq!(len(ecdsa(Hash::Sha1, EcdsaFormat::Der)), 11);
    assert_eq!(len(ecdsa(Hash::Sha384, EcdsaFormat::Der)), 12);
    assert_eq!(len(SignatureScheme::RsaPss { hash: Hash::Sha512 }), 67);
    assert_eq!(len(SignatureScheme::Ed25519), 7);
}

#[test]
fn rfc7427_parse_accepts_the_spellings_peers_vary_on() {
    let sig = b"\x01\x02";
    // RSASSA-PSS with its DEFAULT values written out (the A.4.2 spelling).
    let explicit_defaults = "303906092a864886f70d01010a302ca00b300906052b0e03021a0500\
                             a118301606092a864886f70d010108300906052b0e03021a0500a203020114";
    // ECDSA with NULL parameters; PKCS#1 1.5 with absent parameters.
    let ecdsa_null = "300c06082a8648ce3d0403020500";
    let pkcs1_absent = "300b06092a864886f70d01010b";
    for (alg_hex, scheme) in [
        (
            explicit_defaults,
            SignatureScheme::RsaPss { hash: Hash::Sha1 },
        ),
        (ecdsa_null, ecdsa(Hash::Sha256, EcdsaFormat::Der)),
        (
            pkcs1_absent,
            SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 },
        ),
    ] {
        let alg = hex(alg_hex);
        let mut data = vec![u8::try_from(alg.len()).unwrap()];
        data.extend_from_slice(&alg);
        data.extend_from_slice(sig);
        assert_eq!(rfc7427_parse(&data).unwrap(), (scheme, &sig[..]));
    }
}

#[test]
fn rfc7427_parse_rejects_what_it_cannot_express_or_read() {
    let with = |alg_hex: &str, sig: &[u8]| {
        let alg = hex(alg_hex);
        let mut data = vec![u8::try_from(alg.len()).unwrap()];
        data.extend_from_slice(&alg);
        data.extend_from_slice(sig);
        data
    };
    fn unsupported<T>(r: Result<T, CryptoError>) -> bool {
        matches!(r, Err(CryptoError::Unsupported(_)))
    }
    fn malformed<T>(r: Result<T, CryptoError>) -> bool {
        matches!(r, Err(CryptoError::Parse(_)))
    }
    // DSA (RFC 7427 A.2.1 and A.2.2): recognised, not carried.
    assert!(unsupported(rfc7427_parse(&with(
        "300906072a8648ce380403",
        b"s"
    ))));
    assert!(unsupported(rfc7427_parse(&with(
        "300b0609608648016503040302",
        b"s"
    ))));
    // RSASSA-PSS with SHA-256 but a 20-byte salt.
    assert!(unsupported(rfc7427_parse(&with(
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500\
         a11c301a06092a864886f70d010108300d06096086480165030402010500a203020114",
        b"s"
    ))));
    // An unknown OID (sha224WithRSAEncryption).
    assert!(unsupported(rfc7427_parse(&with(
        "300d06092a864886f70d01010e0500",
        b"s"
    ))));
    // Ed25519 with parameters; no signature; length byte past the end; junk inside the SEQUENCE.
    assert!(malformed(rfc7427_parse(&with("300706032b65700500", b"s"))));
    assert!(malformed(rfc7427_parse(&with("300506032b6570", b""))));
    assert!(malformed(rfc7427_parse(&[0x20, 0x30, 0x05])));
    assert!(malformed(rfc7427_parse(&[])));
    assert!(malformed(rfc7427_parse(&with("300706032b65700000", b"s"))));
}

#[test]
fn rfc7427_encode_refuses_forms_it_does_not_carry() {
    for scheme in [
        SignatureScheme::RsaPkcs1BareHash,
        ecdsa(Hash::Sha256, EcdsaFormat::Raw),
        SignatureScheme::Dsa { hash: Hash::Sha1 },
    ] {
        assert!(
            matches!(rfc7427_encode(scheme), Err(CryptoError::Unsupported(_))),
            "{scheme}"
        );
    }
}

#[test]
fn rfc7427_auth_payload_round_trip_with_a_real_signature() {
    let key = key("ec_p384.pkcs8.pem");
    let mut rng = SeededRng::new(1);
    let scheme = ecdsa(Hash::Sha384, EcdsaFormat::Der);
    let octets = b"InitiatorSignedOctets";
    let mut auth = rfc7427_encode(scheme).unwrap();
    auth.extend(sign(&key, scheme, octets, &mut rng).unwrap());
    let (parsed, signature) = rfc7427_parse(&auth).unwrap();
    verify(&key.public_key(), parsed, octets, signature).unwrap();
}

// ---------------------------------------------------------------------------------------------
// SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4)
// ---------------------------------------------------------------------------------------------

#[test]
fn signature_hash_algorithm_values() {
    use SignatureHashAlgorithm as H;
    for (alg, value) in [
        (H::Sha1, 1),
        (H::Sha2_256, 2),
        (H::Sha2_384, 3),
        (H::Sha2_512, 4),
        (H::Identity, 5),
        (H::Unknown(1024), 1024),
    ] {
        assert_eq!(alg.value(), value);
        assert_eq!(H::from_value(value), alg);
    }
    let s = |scheme: SignatureScheme| scheme.signature_hash_algorithm();
    assert_eq!(
        s(SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 }),
        Some(H::Sha1)
    );
    assert_eq!(
        s(SignatureScheme::RsaPss { hash: Hash::Sha384 }),
        Some(H::Sha2_384)
    );
    assert_eq!(s(ecdsa(Hash::Sha512, EcdsaFormat::Der)), Some(H::Sha2_512));
    assert_eq!(s(SignatureScheme::Ed25519), Some(H::Identity));
    assert_eq!(s(SignatureScheme::Ed448), Some(H::Identity));
    assert_eq!(s(SignatureScheme::RsaPkcs1BareHash), None);

    let sha2 = [H::Sha2_256, H::Sha2_384, H::Sha2_512];
    assert_eq!(
        KeyKind::Rsa { bits: 2048 }.signature_hash_algorithms(),
        sha2
    );
    assert_eq!(KeyKind::Ec(Curve::P256).signature_hash_algorithms(), sha2);
    assert_eq!(KeyKind::Ed25519.signature_hash_algorithms(), [H::Identity]);
    assert_eq!(KeyKind::Ed448.signature_hash_algorithms(), [H::Identity]);
    assert!(KeyKind::Dsa { bits: 1024 }
        .signature_hash_algorithms()
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// IKEv1 bare-hash RSA and PKCS#1 v1.5 against an independent computation
// ---------------------------------------------------------------------------------------------

/// `rsa_kat.json` was computed by `make_rsa_kat.py` with Python integers (m^d mod n over the
/// padded block built by hand), the bare-hash cases cross-checked with `openssl pkeyutl -sign
/// -pkeyopt rsa_padding_mode:pkcs1`. PKCS#1 v1.5 is deterministic, so the signatures must match
/// byte for byte.
#[test]
fn rsa_pkcs1_and_bare_hash_known_answers() {
    let doc: serde_json::Value =
        serde_json::from_slice(&read("rsa_kat.json")).expect("rsa_kat.json");
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    let mut rng = SeededRng::new(2);
    for case in cases {
        let key = key(case["key"].as_str().unwrap());
        let scheme = match case["scheme"].as_str().unwrap() {
            "bare" => SignatureScheme::RsaPkcs1BareHash,
            "pkcs1-sha1" => SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 },
            "pkcs1-sha256" => SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 },
            other => panic!("{other}"),
        };
        let msg = hex(case["msg"].as_str().unwrap());
        let expected = hex(case["sig"].as_str().unwrap());
        let sig = sign(&key, scheme, &msg, &mut rng).unwrap();
        assert_eq!(hex::encode(&sig), hex::encode(&expected), "{case}");
        let public = key.public_key();
        verify(&public, scheme, &msg, &expected).unwrap();

        let mut other_msg = msg.clone();
        other_msg[0] ^= 1;
        assert_eq!(
            verify(&public, scheme, &other_msg, &expected),
            Err(CryptoError::BadSignature)
        );
        let mut other_sig = expected.clone();
        *other_sig.last_mut().unwrap() ^= 1;
        assert_eq!(
            verify(&public, scheme, &msg, &other_sig),
            Err(CryptoError::BadSignature)
        );
    }
}

#[test]
fn bare_hash_and_digestinfo_forms_do_not_verify_as_each_other() {
    let key = key("rsa2048.pkcs8.pem");
    let mut rng = SeededRng::new(3);
    let public = key.public_key();
    let message = b"message";
    let pkcs1 = SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 };
    let with_digestinfo = sign(&key, pkcs1, message, &mut rng).unwrap();
    // The SHA-1 of the message, signed bare, is not a PKCS#1 SHA-1 signature of the message.
    let sha1 = hex("6f9b9af3cd6e8b8a73c2cdced37fe9f59226e27d"); // SHA-1("message")
    let bare = sign(&key, SignatureScheme::RsaPkcs1BareHash, &sha1, &mut rng).unwrap();
    assert_ne!(bare, with_digestinfo);
    assert_eq!(
        verify(&public, pkcs1, message, &bare),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        verify(
            &public,
            SignatureScheme::RsaPkcs1BareHash,
            &sha1,
            &with_digestinfo
        ),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn bare_hash_length_limits() {
    let mut rng = SeededRng::new(4);
    let key = key("rsa1024.pkcs8.pem");
    // k - 11 = 117 bytes fit; 118 do not; empty is refused.
    sign(&key, SignatureScheme::RsaPkcs1BareHash, &[7; 117], &mut rng).unwrap();
    for len in [0, 118] {
        assert!(matches!(
            sign(&key, SignatureScheme::RsaPkcs1BareHash, &vec![7; len], &mut rng),
            Err(CryptoError::InvalidLength { len: l, .. }) if l == len
        ));
    }
    // A bare-hash signature shorter than the modulus is refused, not padded.
    let sig = sign(&key, SignatureScheme::RsaPkcs1BareHash, &[1; 20], &mut rng).unwrap();
    assert_eq!(
        verify(
            &key.public_key(),
            SignatureScheme::RsaPkcs1BareHash,
            &[1; 20],
            &sig[1..]
        ),
        Err(CryptoError::BadSignature)
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips for every scheme and key kind
// ---------------------------------------------------------------------------------------------

/// Signs, verifies, and checks that a changed message, a changed signature, a truncated
/// signature and an empty one all fail. Returns the signature length.
fn round_trip(key: &PrivateKey, scheme: SignatureScheme, message: &[u8]) -> usize {
    let mut rng = SeededRng::new(5);
    let sig = sign(key, scheme, message, &mut rng).unwrap_or_else(|e| panic!("{scheme}: {e}"));
    let public = key.public_key();
    verify(&public, scheme, message, &sig).unwrap_or_else(|e| panic!("{scheme}: {e}"));

    let mut changed = message.to_vec();
    changed[message.len() / 2] ^= 0x10;
    assert_eq!(
        verify(&public, scheme, &changed, &sig),
        Err(CryptoError::BadSignature),
        "{scheme}: changed message"
    );
    for i in [0, sig.len() / 2, sig.len() - 1] {
        let mut bad = sig.clone();
        bad[i] ^= 0x01;
        assert_eq!(
            verify(&public, scheme, message, &bad),
            Err(CryptoError::BadSignature),
            "{scheme}: byte {i} changed"
        );
    }
    assert_eq!(
        verify(&public, scheme, message, &sig[..sig.len() - 1]),
        Err(CryptoError::BadSignature),
        "{scheme}: truncated"
    );
    assert_eq!(
        verify(&public, scheme, message, &[]),
        Err(CryptoError::BadSignature),
        "{scheme}: empty"
    );
    sig.len()
}

const MESSAGE: &[u8] = b"IKE_SA_INIT request | Nr | prf(SK_pi, IDi')";

#[test]
fn rsa_round_trips() {
    for (file, k) in [("rsa2048.pkcs8.pem", 256), ("rsa1024.pkcs8.pem", 128)] {
        let key = key(file);
        for hash in ALL_HASHES {
            assert_eq!(
                round_trip(&key, SignatureScheme::RsaPkcs1 { hash }, MESSAGE),
                k
            );
            if k == 128 && hash == Hash::Sha512 {
                // emLen 128 < 2 * 64 + 2: no room for PSS with a 64-byte salt.
                continue;
            }
            assert_eq!(
                round_trip(&key, SignatureScheme::RsaPss { hash }, MESSAGE),
                k
            );
        }
        let prf_output = [0x5au8; 20];
        assert_eq!(
            round_trip(&key, SignatureScheme::RsaPkcs1BareHash, &prf_output),
            k
        );
    }
}

#[test]
fn rsa_pss_signatures_are_randomised() {
    let key = key("rsa2048.pkcs8.pem");
    let mut rng = SeededRng::new(6);
    let scheme = SignatureScheme::RsaPss { hash: Hash::Sha256 };
    let a = sign(&key, scheme, MESSAGE, &mut rng).unwrap();
    let b = sign(&key, scheme, MESSAGE, &mut rng).unwrap();
    assert_ne!(a, b, "the salt must be fresh");
}

#[test]
fn rsa_pss_needs_room_for_the_salt() {
    let key = key("rsa1024.pkcs8.pem");
    let mut rng = SeededRng::new(7);
    assert!(matches!(
        sign(
            &key,
            SignatureScheme::RsaPss { hash: Hash::Sha512 },
            MESSAGE,
            &mut rng
        ),
        Err(CryptoError::Unsupported(_))
    ));
}

#[test]
fn ecdsa_round_trips_every_curve_hash_and_format() {
    for (file, curve) in [
        ("ec_p256.pkcs8.pem", Curve::P256),
        ("ec_p384.pkcs8.pem", Curve::P384),
        ("ec_p521.pkcs8.pem", Curve::P521),
    ] {
        let key = key(file);
        assert_eq!(key.kind(), KeyKind::Ec(curve));
        for hash in ALL_HASHES {
            let raw = round_trip(&key, ecdsa(hash, EcdsaFormat::Raw), MESSAGE);
            assert_eq!(raw, 2 * curve.field_len(), "{curve} {hash:?}");
            let der = round_trip(&key, ecdsa(hash, EcdsaFormat::Der), MESSAGE);
            assert!(der > 2 * curve.field_len() - 8 && der < 2 * curve.field_len() + 12);
        }
    }
}

#[test]
fn ecdsa_formats_are_not_interchangeable() {
    let key = key("ec_p256.pkcs8.pem");
    let mut rng = SeededRng::new(8);
    let public = key.public_key();
    let der = sign(
        &key,
        ecdsa(Hash::Sha256, EcdsaFormat::Der),
        MESSAGE,
        &mut rng,
    )
    .unwrap();
    let raw = sign(
        &key,
        ecdsa(Hash::Sha256, EcdsaFormat::Raw),
        MESSAGE,
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        verify(
            &public,
            ecdsa(Hash::Sha256, EcdsaFormat::Raw),
            MESSAGE,
            &der
        ),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        verify(
            &public,
            ecdsa(Hash::Sha256, EcdsaFormat::Der),
            MESSAGE,
            &raw
        ),
        Err(CryptoError::BadSignature)
    );
    // The same hash is part of the scheme: SHA-384 does not verify a SHA-256 signature.
    assert_eq!(
        verify(
            &public,
            ecdsa(Hash::Sha384, EcdsaFormat::Raw),
            MESSAGE,
            &raw
        ),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn eddsa_round_trips_and_determinism() {
    let ed25519 = key("ed25519.pkcs8.pem");
    assert_eq!(round_trip(&ed25519, SignatureScheme::Ed25519, MESSAGE), 64);
    let ed448 = key("ed448.pkcs8.pem");
    assert_eq!(round_trip(&ed448, SignatureScheme::Ed448, MESSAGE), 114);
    let mut rng = SeededRng::new(9);
    for (key, scheme) in [
        (&ed25519, SignatureScheme::Ed25519),
        (&ed448, SignatureScheme::Ed448),
    ] {
        assert_eq!(
            sign(key, scheme, MESSAGE, &mut rng).unwrap(),
            sign(key, scheme, MESSAGE, &mut rng).unwrap()
        );
    }
}

#[test]
fn dsa_round_trips() {
    // IKEv1 DSS (RFC 2409 §5.1): SHA-1 and a 160-bit q give the 40-byte r||s.
    let dsa1024 = key("dsa1024.pkcs8.pem");
    assert_eq!(dsa1024.kind(), KeyKind::Dsa { bits: 1024 });
    assert_eq!(
        round_trip(&dsa1024, SignatureScheme::Dsa { hash: Hash::Sha1 }, MESSAGE),
        40
    );
    assert_eq!(
        round_trip(
            &dsa1024,
            SignatureScheme::Dsa { hash: Hash::Sha256 },
            MESSAGE
        ),
        40
    );
    let dsa2048 = key("dsa2048.pkcs8.pem");
    assert_eq!(dsa2048.kind(), KeyKind::Dsa { bits: 2048 });
    assert_eq!(
        round_trip(
            &dsa2048,
            SignatureScheme::Dsa { hash: Hash::Sha256 },
            MESSAGE
        ),
        64
    );
}

// ---------------------------------------------------------------------------------------------
// Wrong key kinds
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_key_kinds_give_typed_errors() {
    let mut rng = SeededRng::new(10);
    let ec = key("ec_p256.pkcs8.pem");
    let rsa = key("rsa2048.pkcs8.pem");
    let ed = key("ed25519.pkcs8.pem");
    let dsa = key("dsa1024.pkcs8.pem");
    let cases: [(&PrivateKey, SignatureScheme, &str, &str); 6] = [
        (
            &ec,
            SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 },
            "RSA",
            "ECDSA",
        ),
        (&ec, SignatureScheme::RsaPkcs1BareHash, "RSA", "ECDSA"),
        (&rsa, ecdsa(Hash::Sha256, EcdsaFormat::Raw), "ECDSA", "RSA"),
        (&ed, SignatureScheme::Ed448, "Ed448", "Ed25519"),
        (
            &dsa,
            SignatureScheme::RsaPss { hash: Hash::Sha256 },
            "RSA",
            "DSA",
        ),
        (
            &rsa,
            SignatureScheme::Dsa { hash: Hash::Sha1 },
            "DSA",
            "RSA",
        ),
    ];
    for (key, scheme, wants, got) in cases {
        let expected = Err(CryptoError::WrongKeyType {
            scheme: wants,
            key: got,
        });
        assert_eq!(sign(key, scheme, MESSAGE, &mut rng), expected, "{scheme}");
        assert_eq!(
            verify(&key.public_key(), scheme, MESSAGE, &[0; 64]),
            expected.map(|_: Vec<u8>| ()),
            "{scheme}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Key parsing
// ---------------------------------------------------------------------------------------------

#[test]
fn every_private_key_format_parses_to_the_same_key() {
    let groups: &[(&[&str], &[&str], KeyKind)] = &[
        (
            &["rsa2048.pkcs8.pem", "rsa2048.pkcs1.pem"],
            &["rsa2048.pkcs8.der", "rsa2048.pkcs1.der"],
            KeyKind::Rsa { bits: 2048 },
        ),
        (
            &["ec_p256.pkcs8.pem", "ec_p256.sec1.pem"],
            &["ec_p256.sec1.der"],
            KeyKind::Ec(Curve::P256),
        ),
        (
            &["ec_p384.pkcs8.pem", "ec_p384.sec1.pem"],
            &[],
            KeyKind::Ec(Curve::P384),
        ),
        (
            &["ec_p521.pkcs8.pem", "ec_p521.sec1.pem"],
            &[],
            KeyKind::Ec(Curve::P521),
        ),
        (
            &["dsa1024.pkcs8.pem", "dsa1024.trad.pem"],
            &[],
            KeyKind::Dsa { bits: 1024 },
        ),
        (&["ed25519.pkcs8.pem"], &[], KeyKind::Ed25519),
        (&["ed448.pkcs8.pem"], &[], KeyKind::Ed448),
        (&["rsa1024.pkcs8.pem"], &[], KeyKind::Rsa { bits: 1024 }),
    ];
    for (pems, ders, kind) in groups {
        let keys: Vec<PrivateKey> = pems
            .iter()
            .map(|f| key(f))
            .chain(ders.iter().map(|f| PrivateKey::from_der(&read(f)).unwrap()))
            .collect();
        for k in &keys {
            assert_eq!(k.kind(), *kind);
            assert_eq!(k.public_key(), keys[0].public_key(), "{pems:?}");
            assert_eq!(k.public_key().kind(), *kind);
        }
    }
}

#[test]
fn public_keys_from_spki() {
    let private = key("rsa2048.pkcs8.pem");
    let spki = read("rsa2048.spki.der");
    let public = PublicKey::from_spki_der(&spki).unwrap();
    assert_eq!(public, private.public_key());
    assert_eq!(public.spki_der(), spki);
    assert_eq!(private.public_key().spki_der(), spki);
    assert_eq!(public.kind(), KeyKind::Rsa { bits: 2048 });
    assert_ne!(public, key("rsa1024.pkcs8.pem").public_key());

    for file in ["ec_p384.pkcs8.pem", "ed448.pkcs8.pem", "dsa2048.pkcs8.pem"] {
        let k = key(file);
        let again = PublicKey::from_spki_der(&k.public_key().spki_der()).unwrap();
        assert_eq!(again, k.public_key(), "{file}");
    }

    let mut trailing = spki.clone();
    trailing.push(0);
    assert!(matches!(
        PublicKey::from_spki_der(&trailing),
        Err(CryptoError::Parse(_))
    ));
    assert!(matches!(
        PublicKey::from_spki_der(&spki[..spki.len() - 1]),
        Err(CryptoError::Parse(_))
    ));
    assert!(matches!(
        PublicKey::from_spki_der(b"\x30\x00"),
        Err(CryptoError::Parse(_))
    ));
}

#[test]
fn unsupported_and_malformed_private_keys() {
    assert!(matches!(
        PrivateKey::from_pem(&read("ec_p256.encrypted.pem")),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem(&read("ec_secp256k1.pkcs8.pem")),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(CryptoError::Parse(_))
    ));
    assert!(matches!(
        PrivateKey::from_der(b"\x30\x03\x02\x01\x00"),
        Err(CryptoError::Parse(_))
    ));
    // A public key is not a private key.
    assert!(matches!(
        PrivateKey::from_der(&read("rsa2048.spki.der")),
        Err(CryptoError::Parse(_))
    ));
    let mut der = read("rsa2048.pkcs8.der");
    let last = der.len() - 1;
    der[last] ^= 0xff;
    assert!(PrivateKey::from_der(&der).is_err());
}

#[test]
fn debug_prints_only_kind_and_size() {
    for (file, shown) in [
        ("rsa2048.pkcs8.pem", "PrivateKey(RSA-2048)"),
        ("ec_p521.pkcs8.pem", "PrivateKey(ECDSA P-521)"),
        ("ed25519.pkcs8.pem", "PrivateKey(Ed25519)"),
        ("ed448.pkcs8.pem", "PrivateKey(Ed448)"),
        ("dsa1024.pkcs8.pem", "PrivateKey(DSA-1024)"),
    ] {
        let k = key(file);
        assert_eq!(format!("{k:?}"), shown);
        assert_eq!(format!("{:#?}", k), shown);
        assert_eq!(
            format!("{:?}", k.public_key()),
            shown.replace("PrivateKey", "PublicKey")
        );
    }
}

#[test]
fn keys_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PrivateKey>();
    assert_send_sync::<PublicKey>();
}

#[test]
fn certificate_public_keys_load() {
    // The key of a strongSwan 5.9.8 end-entity certificate (see tests/data/README.md), through
    // the x509 module's SubjectPublicKeyInfo accessor.
    let der = std::fs::read(
        [
            env!("CARGO_MANIFEST_DIR"),
            "tests",
            "data",
            "strongswan-a.ikecap.test.der",
        ]
        .iter()
        .collect::<PathBuf>(),
    )
    .unwrap();
    let cert = ike_crypto::x509::Certificate::from_der(&der).unwrap();
    let public = PublicKey::from_spki_der(&cert.spki_der()).unwrap();
    assert_eq!(public.kind(), KeyKind::Rsa { bits: 2048 });
    assert_eq!(public.spki_der(), cert.spki_der());
}

/// IKEv1 ECDSA over a bare hash (strongSwan's form): r‖s of the field length over the given
/// digest, verified independently by Python's `cryptography` with a prehashed digest; a wrong
/// length, a flipped bit or a hash over the hash do not verify.
#[test]
fn ecdsa_over_a_bare_hash_is_checked_by_python() {
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
    let mut rng = SeededRng::new(7);
    for (file, len) in [("ec_p256.pkcs8.pem", 32), ("ec_p384.pkcs8.pem", 48)] {
        let k = key(file);
        let digest: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
        let sig = sign(&k, SignatureScheme::EcdsaBareHash, &digest, &mut rng).unwrap();
        assert_eq!(sig.len(), len * 2, "{file}");
        verify(
            &k.public_key(),
            SignatureScheme::EcdsaBareHash,
            &digest,
            &sig,
        )
        .unwrap();
        let script = concat!(
            "import sys\n",
            "from cryptography.hazmat.primitives import serialization, hashes\n",
            "from cryptography.hazmat.primitives.asymmetric import ec, utils\n",
            "key = serialization.load_pem_private_key(open(sys.argv[1],'rb').read(), None)\n",
            "d = bytes.fromhex(sys.argv[2]); s = bytes.fromhex(sys.argv[3]); h = len(s)//2\n\
             der = utils.encode_dss_signature(int.from_bytes(s[:h],'big'), int.from_bytes(s[h:],'big'))\n\
             alg = hashes.SHA256() if len(d) == 32 else hashes.SHA384()\n\
             key.public_key().verify(der, d, ec.ECDSA(utils.Prehashed(alg)))\n\
             print('ok')\n"
        );
        let path = format!("{}/tests/data/sign/{file}", env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                script,
                &path,
                &hex::encode(&digest),
                &hex::encode(&sig),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "ok",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut bad = sig.clone();
        bad[3] ^= 1;
        assert!(verify(
            &k.public_key(),
            SignatureScheme::EcdsaBareHash,
            &digest,
            &bad
        )
        .is_err());
        assert!(verify(
            &k.public_key(),
            SignatureScheme::EcdsaBareHash,
            &digest,
            &sig[1..]
        )
        .is_err());
        // The hashing form over the same bytes is a different signature.
        let hashed = SignatureScheme::Ecdsa {
            hash: if len == 32 {
                Hash::Sha256
            } else {
                Hash::Sha384
            },
            format: EcdsaFormat::Raw,
        };
        assert!(verify(&k.public_key(), hashed, &digest, &sig).is_err());
    }
}
