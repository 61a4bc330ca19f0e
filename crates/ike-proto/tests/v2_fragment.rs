//! IKE message fragmentation (RFC 7383) through the simulated network: negotiation, every
//! datagram within the configured size, reassembly with loss, duplication and reordering, and
//! no fragmentation when the peer does not announce it.

mod common;

use std::time::Duration;

use common::*;
use ike_crypto::rng::SeededRng;
use ike_proto::v2::{Endpoint, EndpointConfig};
use ike_testkit::sim::{Faults, Pair};
use ike_wire::v2::{Message, NotifyType, Payload};

fn pair_sized(size_a: usize, size_b: usize, faults: Faults, seed: u64) -> Pair {
    let pa = peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &Side::default(),
    );
    let pb = peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side::responder(),
    );
    let cfg = |size| EndpointConfig {
        fragment_size: size,
        ..EndpointConfig::default()
    };
    let ea = Endpoint::new(
        cfg(size_a),
        vec![pa],
        Box::new(SeededRng::new(seed * 2 + 1)),
    )
    .unwrap();
    let eb = Endpoint::new(
        cfg(size_b),
        vec![pb],
        Box::new(SeededRng::new(seed * 2 + 2)),
    )
    .unwrap();
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

fn fragments(p: &Pair) -> Vec<(u16, u16)> {
    p.log
        .iter()
        .filter_map(|s| {
            Message::decode(&s.payload)
                .unwrap()
                .payloads
                .iter()
                .find_map(|pl| match pl {
                    Payload::EncryptedFragment(f) => Some((f.fragment_number, f.total_fragments)),
                    _ => None,
                })
        })
        .collect()
}

fn announces_fragmentation(msg: &[u8]) -> bool {
    Message::decode(msg).unwrap().payloads.iter().any(
        |p| matches!(p, Payload::Notify(n) if n.notify_type == NotifyType::FragmentationSupported),
    )
}

#[test]
fn small_fragment_size_splits_ike_auth_and_establishes() {
    let mut p = pair_sized(200, 200, Faults::none(), 1);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    assert!(
        announces_fragmentation(&p.log[0].payload) && announces_fragmentation(&p.log[1].payload)
    );
    let frags = fragments(&p);
    assert!(frags.len() >= 4, "{frags:?}");
    assert!(frags.iter().all(|(n, t)| *n >= 1 && n <= t));
    for s in &p.log[2..] {
        assert!(s.payload.len() <= 200, "{} bytes", s.payload.len());
    }
    let (ca, cb) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
    assert_eq!(ca.keys_out.0.expose(), cb.keys_in.0.expose());
}

#[test]
fn no_fragments_unless_both_announce() {
    let mut p = pair_sized(200, 0, Faults::none(), 2);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    assert!(announces_fragmentation(&p.log[0].payload));
    assert!(
        !announces_fragmentation(&p.log[1].payload),
        "b has fragmentation off"
    );
    assert!(fragments(&p).is_empty());
    assert_eq!(p.log.len(), 4);
}

#[test]
fn reassembly_survives_loss_duplication_and_reordering() {
    let mut ok = 0;
    for seed in 0..20u64 {
        let mut p = pair_sized(180, 180, Faults::lossy(0.15), seed);
        initiate(&mut p);
        let done = p.run_until(Duration::from_secs(300), |p| {
            (installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1)
                || closed(&p.events_a).is_some()
        });
        assert!(done, "seed {seed}");
        if closed(&p.events_a).is_some() {
            continue;
        }
        ok += 1;
        assert_eq!(
            installs(&p.events_a)[0].keys_out.0.expose(),
            installs(&p.events_b)[0].keys_in.0.expose(),
            "seed {seed}"
        );
        // Rekeys and deletes use fragments too.
        let (a, now) = (p.a.established()[0], p.now());
        p.a.rekey_ike(now, a).unwrap();
        let rekeyed = p.run_until(Duration::from_secs(300), |p| {
            p.events_a
                .iter()
                .any(|e| matches!(e, ike_proto::v2::Event::IkeSaRekeyed { .. }))
                || p.a.sa_count() == 0
        });
        assert!(rekeyed, "seed {seed}");
    }
    assert!(ok >= 14, "{ok}");
}
