//! Signing and verification cost of the schemes IKE uses most: RSA-2048 PKCS#1 v1.5 and PSS with
//! SHA-256, ECDSA P-256 and P-384 (r||s, as IKEv2 auth methods 9-10), Ed25519, plus the IKEv1
//! forms served by OpenSSL (bare-hash RSA, RSA with SHA-1, DSA-1024 with SHA-1) for comparison.
//! The message is 200 bytes, about the size of the octets an IKE_AUTH signature covers before
//! hashing.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use ike_crypto::rng::SeededRng;
use ike_crypto::sign::{sign, verify, EcdsaFormat, Hash, PrivateKey, SignatureScheme};

fn key(name: &str) -> PrivateKey {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", "sign", name]
        .iter()
        .collect();
    PrivateKey::from_pem(&std::fs::read(path).expect("test key")).expect("test key parses")
}

fn bench_sign_verify(c: &mut Criterion) {
    let message = [0x42u8; 200];
    let prf_output = [0x17u8; 20];
    let cases: Vec<(&str, PrivateKey, SignatureScheme, &[u8])> = vec![
        (
            "rsa2048_pkcs1_sha256",
            key("rsa2048.pkcs8.pem"),
            SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 },
            &message,
        ),
        (
            "rsa2048_pss_sha256",
            key("rsa2048.pkcs8.pem"),
            SignatureScheme::RsaPss { hash: Hash::Sha256 },
            &message,
        ),
        (
            "ecdsa_p256_sha256",
            key("ec_p256.pkcs8.pem"),
            SignatureScheme::Ecdsa {
                hash: Hash::Sha256,
                format: EcdsaFormat::Raw,
            },
            &message,
        ),
        (
            "ecdsa_p384_sha384",
            key("ec_p384.pkcs8.pem"),
            SignatureScheme::Ecdsa {
                hash: Hash::Sha384,
                format: EcdsaFormat::Raw,
            },
            &message,
        ),
        (
            "ed25519",
            key("ed25519.pkcs8.pem"),
            SignatureScheme::Ed25519,
            &message,
        ),
        (
            "rsa2048_pkcs1_sha1_openssl",
            key("rsa2048.pkcs8.pem"),
            SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 },
            &message,
        ),
        (
            "rsa2048_bare_hash_openssl",
            key("rsa2048.pkcs8.pem"),
            SignatureScheme::RsaPkcs1BareHash,
            &prf_output,
        ),
        (
            "dsa1024_sha1_openssl",
            key("dsa1024.pkcs8.pem"),
            SignatureScheme::Dsa { hash: Hash::Sha1 },
            &message,
        ),
    ];
    let mut group = c.benchmark_group("sign");
    let mut rng = SeededRng::new(0);
    for (name, key, scheme, msg) in &cases {
        let public = key.public_key();
        let signature = sign(key, *scheme, msg, &mut rng).expect("sign");
        group.bench_function(format!("{name}/sign"), |b| {
            b.iter(|| sign(key, *scheme, black_box(msg), &mut rng).expect("sign"))
        });
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| {
                verify(&public, *scheme, black_box(msg), black_box(&signature)).expect("verify")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sign_verify);
criterion_main!(benches);
