//! RSA PKCS#1 v1.5 encryption for IKEv1 PKE authentication: round trips, interoperability with
//! the openssl CLI, implicit rejection (known answers and Wycheproof), and the absence of any
//! error path on bad padding.

use std::path::PathBuf;
use std::process::Command;

use ike_crypto::pke::{encrypt, PkeDecryptor};
use ike_crypto::rng::{FixedRng, SeededRng};
use ike_crypto::CryptoError;
use openssl::bn::BigNum;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The committed test-only keys (made with `openssl genpkey -algorithm RSA -pkeyopt
/// rsa_keygen_bits:N`).
fn key_pem(bits: u32) -> Vec<u8> {
    std::fs::read(data(&format!("test-only-rsa{bits}.pem"))).unwrap()
}

fn spki_of(pem: &[u8]) -> Vec<u8> {
    PKey::private_key_from_pem(pem)
        .unwrap()
        .public_key_to_der()
        .unwrap()
}

/// Raw RSA public operation on a full k-octet block, whatever its padding.
fn raw_encrypt(pem: &[u8], block: &[u8]) -> Vec<u8> {
    let rsa = PKey::private_key_from_pem(pem).unwrap().rsa().unwrap();
    let mut out = vec![0u8; rsa.size() as usize];
    rsa.public_encrypt(block, &mut out, Padding::NONE).unwrap();
    out
}

fn raw_decrypt(pem: &[u8], ct: &[u8]) -> Vec<u8> {
    let rsa = PKey::private_key_from_pem(pem).unwrap().rsa().unwrap();
    let mut out = vec![0u8; rsa.size() as usize];
    rsa.private_decrypt(ct, &mut out, Padding::NONE).unwrap();
    out
}

#[test]
fn round_trips_for_1024_2048_3072_bit_keys() {
    for bits in [1024u32, 2048, 3072] {
        let pem = key_pem(bits);
        let d = PkeDecryptor::from_pem(&pem).unwrap();
        let k = (bits / 8) as usize;
        assert_eq!(d.modulus_len(), k);
        assert_eq!(d.public_key_spki_der().unwrap(), spki_of(&pem));
        let mut rng = SeededRng::new(u64::from(bits));
        for len in [0, 1, 16, 32, 100, k - 11] {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let ct = encrypt(&spki_of(&pem), &msg, &mut rng).unwrap();
            assert_eq!(ct.len(), k);
            assert_eq!(
                d.decrypt(&ct, None).expose(),
                msg.as_slice(),
                "{bits} bits, {len}"
            );
            assert_eq!(d.decrypt(&ct, Some(len)).expose(), msg.as_slice());
        }
        let too_long = vec![1u8; k - 10];
        assert_eq!(
            encrypt(&spki_of(&pem), &too_long, &mut rng),
            Err(CryptoError::InvalidLength {
                what: "PKCS#1 v1.5 plaintext",
                len: k - 10
            })
        );
    }
}

#[test]
fn pkcs1_and_pkcs8_der_keys_load() {
    let pem = key_pem(2048);
    let rsa = Rsa::private_key_from_pem(&pem).unwrap();
    let pkcs1 = rsa.private_key_to_der().unwrap();
    let pkcs8 = PKey::from_rsa(rsa).unwrap().private_key_to_der().unwrap();
    for der in [pkcs1, pkcs8] {
        let d = PkeDecryptor::from_der(&der).unwrap();
        let ct = encrypt(&spki_of(&pem), b"x", &mut SeededRng::new(0)).unwrap();
        assert_eq!(d.decrypt(&ct, None).expose(), b"x");
    }
    assert!(PkeDecryptor::from_der(b"not a key").is_err());
    let ec = PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        PkeDecryptor::from_der(&ec.private_key_to_der().unwrap()),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(
        encrypt(
            &ec.public_key_to_der().unwrap(),
            b"x",
            &mut SeededRng::new(0)
        ),
        Err(CryptoError::Unsupported(_))
    ));
}

#[test]
fn padding_string_comes_from_the_injected_rng() {
    let pem = key_pem(1024);
    let k = 128;
    let msg = b"IDii_b";
    let ps_len = k - 3 - msg.len();
    // Zeros in the stream are skipped: 0x00 then 0x41.. as padding.
    let mut stream = vec![0u8];
    stream.extend((0..ps_len).map(|i| 0x41 + (i % 26) as u8));
    let ct = encrypt(&spki_of(&pem), msg, &mut FixedRng::new(stream.clone())).unwrap();
    let em = raw_decrypt(&pem, &ct);
    assert_eq!(&em[..2], &[0x00, 0x02]);
    // The zero drawn first was replaced by the next byte of the stream.
    assert_eq!(em[2], stream[ps_len]);
    assert_eq!(&em[3..2 + ps_len], &stream[1..ps_len]);
    assert_eq!(em[2 + ps_len], 0);
    assert_eq!(&em[3 + ps_len..], msg);
}

fn openssl_cli() -> Option<&'static str> {
    match Command::new("openssl").arg("version").output() {
        Ok(o) if o.status.success() => Some("openssl"),
        _ => {
            assert!(
                std::env::var_os("IKE_REQUIRE_OPENSSL").is_none(),
                "the openssl command-line tool is required (IKE_REQUIRE_OPENSSL is set) but missing"
            );
            eprintln!("SKIPPED: no openssl command-line tool; the CLI interop checks did not run");
            None
        }
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ike-crypto-pke-{}-{name}", std::process::id()))
}

#[test]
fn interop_with_openssl_pkeyutl_both_directions() {
    let Some(cli) = openssl_cli() else { return };
    for bits in [1024u32, 2048, 3072] {
        let key = data(&format!("test-only-rsa{bits}.pem"));
        let pem = key_pem(bits);
        let d = PkeDecryptor::from_pem(&pem).unwrap();
        let pub_pem = temp_path(&format!("{bits}-pub.pem"));
        std::fs::write(
            &pub_pem,
            PKey::private_key_from_pem(&pem)
                .unwrap()
                .public_key_to_pem()
                .unwrap(),
        )
        .unwrap();
        let msg: Vec<u8> = (0u8..48).collect();

        // Ours -> openssl pkeyutl -decrypt.
        let ct_path = temp_path(&format!("{bits}-ours.bin"));
        let ct = encrypt(&spki_of(&pem), &msg, &mut SeededRng::new(9)).unwrap();
        std::fs::write(&ct_path, &ct).unwrap();
        let out = Command::new(cli)
            .args([
                "pkeyutl",
                "-decrypt",
                "-pkeyopt",
                "rsa_padding_mode:pkcs1",
                "-inkey",
            ])
            .arg(&key)
            .arg("-in")
            .arg(&ct_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.stdout, msg,
            "openssl decrypts our {bits}-bit ciphertext"
        );

        // openssl pkeyutl -encrypt -> ours.
        let msg_path = temp_path(&format!("{bits}-msg.bin"));
        std::fs::write(&msg_path, &msg).unwrap();
        let out = Command::new(cli)
            .args([
                "pkeyutl",
                "-encrypt",
                "-pubin",
                "-pkeyopt",
                "rsa_padding_mode:pkcs1",
            ])
            .arg("-inkey")
            .arg(&pub_pem)
            .arg("-in")
            .arg(&msg_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(d.decrypt(&out.stdout, None).expose(), msg.as_slice());
        for p in [pub_pem, ct_path, msg_path] {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[test]
fn broken_padding_yields_a_deterministic_synthetic_message() {
    let pem = key_pem(2048);
    let d = PkeDecryptor::from_pem(&pem).unwrap();
    let k = 256;
    let mut outputs = Vec::new();
    for (i, first_two) in [[0x00, 0x01], [0x00, 0x00], [0x01, 0x02], [0x00, 0x03]]
        .iter()
        .enumerate()
    {
        // A block that would carry "hello" if its header were 00 02.
        let mut block = vec![0x77u8; k];
        block[..2].copy_from_slice(first_two);
        block[k - 6] = 0;
        block[k - 5..].copy_from_slice(b"hello");
        block[5] = i as u8 + 1; // make the blocks differ beyond the header
        let ct = raw_encrypt(&pem, &block);
        let a = d.decrypt(&ct, None);
        let b = d.decrypt(&ct, None);
        assert_eq!(a, b, "same ciphertext, same output");
        assert!(a.len() < k - 10, "synthetic length is below k - 10");
        assert_ne!(a.expose(), b"hello");
        let hinted = d.decrypt(&ct, Some(5));
        assert_eq!(
            hinted.len(),
            5,
            "with a hint the synthetic message has the hinted length"
        );
        assert_ne!(hinted.expose(), b"hello");
        assert_eq!(hinted, d.decrypt(&ct, Some(5)));
        outputs.push(a);
    }
    for (i, a) in outputs.iter().enumerate() {
        for b in outputs.iter().skip(i + 1) {
            assert_ne!(
                a, b,
                "different ciphertexts give different synthetic messages"
            );
        }
    }
    // The same block with a valid header decrypts to the message.
    let mut block = vec![0x77u8; k];
    block[..2].copy_from_slice(&[0x00, 0x02]);
    block[k - 6] = 0;
    block[k - 5..].copy_from_slice(b"hello");
    assert_eq!(
        d.decrypt(&raw_encrypt(&pem, &block), None).expose(),
        b"hello"
    );
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn implicit_rejection_known_answers() {
    let text = std::fs::read_to_string(data("rsa_implicit_rejection_2048.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let key = &v["key"];
    let bn = |name: &str| BigNum::from_slice(&hex(&key[name])).unwrap();
    let rsa = Rsa::from_private_components(
        bn("n"),
        bn("e"),
        bn("d"),
        bn("p"),
        bn("q"),
        bn("dp"),
        bn("dq"),
        bn("qinv"),
    )
    .unwrap();
    let d = PkeDecryptor::from_der(&rsa.private_key_to_der().unwrap()).unwrap();
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 4);
    for t in tests {
        let out = d.decrypt(&hex(&t["ct"]), None);
        assert_eq!(
            out.expose(),
            hex(&t["msg"]).as_slice(),
            "{}",
            t["comment"].as_str().unwrap()
        );
    }
}

#[test]
fn wycheproof_rsa_pkcs1_2048() {
    // C2SP/wycheproof testvectors_v1/rsa_pkcs1_2048_test.json (commit dac1dd47).
    let text = std::fs::read_to_string(data("wycheproof_rsa_pkcs1_2048_test.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in v["testGroups"].as_array().unwrap() {
        let d = PkeDecryptor::from_der(&hex(&group["privateKeyPkcs8"])).unwrap();
        for t in group["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let ct = hex(&t["ct"]);
            let msg = hex(&t["msg"]);
            let out = d.decrypt(&ct, None);
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert_eq!(out.expose(), msg.as_slice(), "tcId {id}");
                    valid += 1;
                }
                "invalid" => {
                    assert_ne!(out.expose(), msg.as_slice(), "tcId {id}: would-be message");
                    assert!(out.len() < 256 - 10, "tcId {id}: synthetic length");
                    assert_eq!(out, d.decrypt(&ct, None), "tcId {id}: deterministic");
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    assert_eq!((valid, invalid), (42, 25));
}
