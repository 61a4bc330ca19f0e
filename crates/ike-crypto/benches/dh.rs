//! Key exchange cost per group: generating our key pair plus computing the shared secret from a
//! peer's (pre-computed) KE data, the work one side does per exchange. For ML-KEM the measured
//! unit is key generation + encapsulation + decapsulation (both sides' work).
//!
//! `cargo bench -p ike-crypto --bench dh` (add `-- --warm-up-time 0.5 --measurement-time 2` for a
//! quick run).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ike_crypto::dh;
use ike_crypto::rng::SeededRng;
use ike_wire::group::DhGroup;

const GROUPS: &[u16] = &[
    1, 2, 3, 4, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 35,
    36, 37,
];

fn key_exchange(c: &mut Criterion) {
    let mut g = c.benchmark_group("dh");
    for &v in GROUPS {
        let group = DhGroup::from(v);
        let slow = matches!(
            group,
            DhGroup::Modp3072 | DhGroup::Modp4096 | DhGroup::Modp6144 | DhGroup::Modp8192
        ) || matches!(group, DhGroup::Ec2n155 | DhGroup::Ec2n185);
        g.sample_size(if slow { 10 } else { 30 });
        let mut rng = SeededRng::new(u64::from(v));
        let name = format!("{v:02}_{group}");
        if dh::is_kem(group) {
            g.bench_function(name, |b| {
                b.iter(|| {
                    let init = dh::generate(group, &mut rng).unwrap();
                    let (ct, _) = dh::respond(group, init.public_value(), &mut rng).unwrap();
                    black_box(init.shared_secret(&ct).unwrap())
                })
            });
        } else {
            let peer = dh::generate(group, &mut rng).unwrap();
            let peer_value = peer.public_value().to_vec();
            g.bench_function(name, |b| {
                b.iter(|| {
                    let ours = dh::generate(group, &mut rng).unwrap();
                    black_box(ours.shared_secret(black_box(&peer_value)).unwrap())
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = key_exchange
}
criterion_main!(benches);
