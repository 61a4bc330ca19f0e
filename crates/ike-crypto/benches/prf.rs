//! PRF calls as the key schedules make them: one PRF over a 64-byte input for each PRF, prf+
//! producing the keying material of an IKE SA, and the IKEv2 SKEYSEED from a 256-byte g^ir.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ike_crypto::kdf::v2;
use ike_crypto::prf::{prf_plus, PrfAlg};

fn prfs(c: &mut Criterion) {
    let mut g = c.benchmark_group("prf");
    let data = [0x5au8; 64];
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, prf) in [
        ("hmac-md5", PrfAlg::HmacMd5),
        ("hmac-sha1", PrfAlg::HmacSha1),
        ("hmac-sha256", PrfAlg::HmacSha256),
        ("hmac-sha384", PrfAlg::HmacSha384),
        ("hmac-sha512", PrfAlg::HmacSha512),
        ("aes128-xcbc", PrfAlg::Aes128Xcbc),
        ("aes128-cmac", PrfAlg::Aes128Cmac),
    ] {
        let key = vec![0x11u8; prf.key_len()];
        g.bench_function(name, |b| {
            b.iter(|| prf.compute(black_box(&key), &[black_box(&data)]))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kdf");
    // aes128gcm16-prfsha256: SK_d, SK_pi, SK_pr of 32 bytes and SK_e of 20.
    g.bench_function("prf+ sha256 136 bytes", |b| {
        b.iter(|| {
            prf_plus(
                PrfAlg::HmacSha256,
                black_box(&[1u8; 32]),
                black_box(&[2u8; 80]),
                136,
            )
        })
    });
    g.bench_function("skeyseed sha256 gir 256", |b| {
        b.iter(|| {
            v2::skeyseed(
                PrfAlg::HmacSha256,
                black_box(&[1u8; 32]),
                black_box(&[2u8; 32]),
                black_box(&[3u8; 256]),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, prfs);
criterion_main!(benches);
