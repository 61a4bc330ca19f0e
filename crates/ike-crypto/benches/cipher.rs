//! IKE message protection throughput: AEAD seal+open of a 1400-byte message, AES-CBC encryption
//! plus HMAC-SHA256-128, and the integrity MACs alone.
//!
//! Run with `cargo bench -p ike-crypto --bench cipher`; criterion prints the throughput (MiB/s)
//! of each case.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ike_crypto::cipher::{Cipher, EncrAlg, IntegAlg, Integrity};

const MSG: usize = 1400;
/// IKE header (28) and Encrypted payload header (4): the AEAD associated data.
const AAD: usize = 32;

fn aead(c: &mut Criterion) {
    let mut g = c.benchmark_group("aead_seal_open_1400");
    g.throughput(Throughput::Bytes(MSG as u64));
    let algs = [
        (
            "aes128-gcm16",
            EncrAlg::AesGcm {
                key_bits: 128,
                icv_len: 16,
            },
        ),
        (
            "aes256-gcm16",
            EncrAlg::AesGcm {
                key_bits: 256,
                icv_len: 16,
            },
        ),
        (
            "aes128-gcm8",
            EncrAlg::AesGcm {
                key_bits: 128,
                icv_len: 8,
            },
        ),
        (
            "aes256-gcm12",
            EncrAlg::AesGcm {
                key_bits: 256,
                icv_len: 12,
            },
        ),
        (
            "aes128-ccm16",
            EncrAlg::AesCcm {
                key_bits: 128,
                icv_len: 16,
            },
        ),
        (
            "aes256-ccm8",
            EncrAlg::AesCcm {
                key_bits: 256,
                icv_len: 8,
            },
        ),
        ("chacha20-poly1305", EncrAlg::ChaCha20Poly1305),
    ];
    let aad = [0x2eu8; AAD];
    let iv = [7u8; 8];
    let plaintext = vec![0x5au8; MSG];
    for (name, alg) in algs {
        let key = vec![0x42u8; alg.key_material_len()];
        let Ok(cipher) = Cipher::new(alg, &key) else {
            continue;
        };
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let sealed = cipher.seal(&iv, &aad, black_box(&plaintext));
                let opened = sealed.and_then(|s| cipher.open(&iv, &aad, &s));
                black_box(opened)
            })
        });
    }
    g.finish();
}

fn cbc_plus_integrity(c: &mut Criterion) {
    let mut g = c.benchmark_group("encrypt_then_mac_1400");
    g.throughput(Throughput::Bytes(MSG as u64));
    let cases = [
        (
            "aes128-cbc+hmac-sha256-128",
            EncrAlg::AesCbc { key_bits: 128 },
            IntegAlg::HmacSha256_128,
        ),
        (
            "aes256-cbc+hmac-sha256-128",
            EncrAlg::AesCbc { key_bits: 256 },
            IntegAlg::HmacSha256_128,
        ),
        (
            "aes128-ctr+hmac-sha256-128",
            EncrAlg::AesCtr { key_bits: 128 },
            IntegAlg::HmacSha256_128,
        ),
        (
            "3des-cbc+hmac-sha1-96",
            EncrAlg::TripleDesCbc,
            IntegAlg::HmacSha1_96,
        ),
    ];
    // 1400 is not a multiple of 16; the caller pads, so the message is 1408 bytes.
    let len = MSG.div_ceil(16) * 16;
    for (name, e, i) in cases {
        let (Ok(cipher), Ok(integ)) = (
            Cipher::new(e, &vec![0x11u8; e.key_material_len()]),
            Integrity::new(i, &vec![0x22u8; i.key_len()]),
        ) else {
            continue;
        };
        let iv = vec![3u8; e.iv_len()];
        let mut msg = vec![0u8; len];
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let r = cipher.encrypt(&iv, black_box(&mut msg));
                black_box((r, integ.compute(&msg)))
            })
        });
    }
    g.finish();
}

fn integrity(c: &mut Criterion) {
    let mut g = c.benchmark_group("integrity_compute_1400");
    g.throughput(Throughput::Bytes(MSG as u64));
    let algs = [
        ("hmac-md5-96", IntegAlg::HmacMd5_96),
        ("hmac-sha1-96", IntegAlg::HmacSha1_96),
        ("hmac-sha256-128", IntegAlg::HmacSha256_128),
        ("hmac-sha384-192", IntegAlg::HmacSha384_192),
        ("hmac-sha512-256", IntegAlg::HmacSha512_256),
        ("aes-xcbc-96", IntegAlg::AesXcbc96),
        ("aes-cmac-96", IntegAlg::AesCmac96),
    ];
    let msg = vec![0xa5u8; MSG];
    for (name, alg) in algs {
        let Ok(integ) = Integrity::new(alg, &vec![0x33u8; alg.key_len()]) else {
            continue;
        };
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| black_box(integ.compute(black_box(&msg))))
        });
    }
    g.finish();
}

criterion_group!(benches, aead, cbc_plus_integrity, integrity);
criterion_main!(benches);
