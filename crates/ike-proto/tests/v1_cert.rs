//! IKEv1 Phase 1 with signatures (RFC 2409 §5.1, RFC 4754 §8) engine to engine: RSA and ECDSA
//! certificates in Main Mode and Aggressive Mode, chains through an intermediate, and the
//! refusals (untrusted chain, identity not in the certificate).

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::time::Duration;

use common::{installs, A, B};
use ike_crypto::sign::SignatureScheme;
use ike_proto::config::V1Exchange;
use ike_proto::v2::{AuthMethod, CloseReason, Endpoint, EndpointConfig, Event};
use ike_testkit::sim::{Faults, Pair};
use pki::*;

fn pair(
    a: (AuthMethod, AuthMethod),
    b: (AuthMethod, AuthMethod),
    aggressive: bool,
    seed: u64,
) -> Pair {
    pair_over(a, b, aggressive, seed, Faults::none())
}

fn pair_over(
    a: (AuthMethod, AuthMethod),
    b: (AuthMethod, AuthMethod),
    aggressive: bool,
    seed: u64,
    faults: Faults,
) -> Pair {
    let mut pa = common::v1_peer(
        "site-b",
        B,
        ("a.example.org", "b.example.org"),
        a,
        ("10.88.1.0/24", "10.88.2.0/24"),
    );
    let mut pb = common::v1_peer(
        "site-a",
        A,
        ("b.example.org", "a.example.org"),
        b,
        ("10.88.2.0/24", "10.88.1.0/24"),
    );
    pa.exchange = V1Exchange::main_or_aggressive(aggressive);
    pb.exchange = V1Exchange::main_or_aggressive(aggressive);
    let mut ea = Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(ike_crypto::rng::SeededRng::new(seed)),
    )
    .unwrap();
    let mut eb = Endpoint::new(
        EndpointConfig::default(),
        vec![pb],
        Box::new(ike_crypto::rng::SeededRng::new(seed + 1)),
    )
    .unwrap();
    ea.set_unix_time(T0);
    eb.set_unix_time(T0);
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

fn run(p: &mut Pair) -> bool {
    common::initiate(p);
    p.run_until(Duration::from_secs(60), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    })
}

fn scheme(events: &[Event]) -> Option<SignatureScheme> {
    events.iter().find_map(|e| match e {
        Event::IkeSaEstablished { remote_auth, .. } => remote_auth.as_ref().and_then(|a| a.scheme),
        _ => None,
    })
}

#[test]
fn rsa_signatures_in_main_and_aggressive_mode() {
    let k = pki();
    for aggressive in [false, true] {
        let mut p = pair(
            (sign_with(&k.a_rsa, &[]), trusting(&k.root)),
            (sign_with(&k.b_rsa, &[]), trusting(&k.root)),
            aggressive,
            11,
        );
        assert!(run(&mut p), "aggressive {aggressive}");
        assert_eq!(scheme(&p.events_a), Some(SignatureScheme::RsaPkcs1BareHash));
        assert_eq!(scheme(&p.events_b), Some(SignatureScheme::RsaPkcs1BareHash));
        // Message 5 (or Aggressive Mode 2 and 3) carries CERT and SIG, no HASH.
        let k2 = installs(&p.events_a)[0];
        let k3 = installs(&p.events_b)[0];
        assert_eq!(k2.keys_out.0.expose(), k3.keys_in.0.expose());
    }
}

/// DSS signatures (RFC 2409 §5.1, method 2): DSA certificates on both sides, in Main Mode and
/// Aggressive Mode; the signatures are DSA with SHA-1 and 2048/256-bit keys.
/// Every signature method in both modes over a network that loses 20 % of the datagrams,
/// duplicates and reorders them: the retransmissions (and answers from the stored copy) bring
/// each handshake through with the same keys on both ends.
#[test]
fn signatures_in_both_modes_survive_loss_and_retransmission() {
    let k = pki();
    let (da, db) = dsa_pair();
    for (name, a, b, chain) in [
        ("rsa", &k.a_rsa, &k.b_rsa, vec![]),
        ("dss", da, db, vec![]),
        ("ecdsa", &k.a_ec, &k.b_ec, vec![&k.intermediate]),
    ] {
        for aggressive in [false, true] {
            for seed in 0..3u64 {
                let mut p = pair_over(
                    (sign_with(a, &chain), trusting(&k.root)),
                    (sign_with(b, &chain), trusting(&k.root)),
                    aggressive,
                    300 + seed,
                    Faults::lossy(0.2),
                );
                common::initiate(&mut p);
                assert!(
                    p.run_until(Duration::from_secs(300), |p| {
                        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
                    }),
                    "{name} aggressive {aggressive} seed {seed}"
                );
                let (x, y) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
                assert_eq!(x.keys_out.0.expose(), y.keys_in.0.expose());
                assert!(scheme(&p.events_a).is_some() && scheme(&p.events_b).is_some());
            }
        }
    }
}

#[test]
fn dss_signatures_in_main_and_aggressive_mode() {
    let k = pki();
    let (a, b) = dsa_pair();
    for aggressive in [false, true] {
        let mut p = pair(
            (sign_with(a, &[]), trusting(&k.root)),
            (sign_with(b, &[]), trusting(&k.root)),
            aggressive,
            23,
        );
        assert!(run(&mut p), "aggressive {aggressive}");
        for ev in [&p.events_a, &p.events_b] {
            assert_eq!(
                scheme(ev),
                Some(SignatureScheme::Dsa {
                    hash: ike_crypto::sign::Hash::Sha1
                })
            );
        }
    }
    // A's DSA certificate does not chain to what B trusts: refused.
    let mut p = pair(
        (sign_with(a, &[]), trusting(&k.root)),
        (sign_with(b, &[]), trusting(&k.rogue_root)),
        false,
        24,
    );
    assert!(!run(&mut p));
}

#[test]
fn ecdsa_signatures_with_an_intermediate() {
    let k = pki();
    let mut p = pair(
        (sign_with(&k.a_ec, &[&k.intermediate]), trusting(&k.root)),
        (sign_with(&k.b_ec, &[&k.intermediate]), trusting(&k.root)),
        false,
        21,
    );
    assert!(run(&mut p));
    assert!(matches!(
        scheme(&p.events_b),
        Some(SignatureScheme::EcdsaBareHash)
    ));
    let chain = p.events_b.iter().find_map(|e| match e {
        Event::IkeSaEstablished { remote_auth, .. } => remote_auth.as_ref().map(|a| a.chain.len()),
        _ => None,
    });
    assert_eq!(chain, Some(3), "end entity, intermediate, root");
}

#[test]
fn an_untrusted_chain_or_a_foreign_identity_is_refused() {
    let k = pki();
    // The initiator's certificate is from a root the responder does not trust.
    let mut p = pair(
        (sign_with(&k.a_rogue, &[]), trusting(&k.root)),
        (sign_with(&k.b_rsa, &[]), trusting(&k.root)),
        false,
        31,
    );
    assert!(!run(&mut p));
    assert!(
        matches!(
            common::closed(&p.events_b),
            Some(CloseReason::LocalError(_))
        ),
        "{:?}",
        common::closed(&p.events_b)
    );
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    // The responder told the initiator, protected, and the initiator gave up at once.
    assert_eq!(
        common::closed(&p.events_a)
            .map(ToString::to_string)
            .as_deref(),
        Some("the peer refused with AUTHENTICATION-FAILED")
    );
    // The responder's certificate names b.example.org, but the initiator expects another.
    let mut pa = common::v1_peer(
        "site-b",
        B,
        ("a.example.org", "c.example.org"),
        (sign_with(&k.a_rsa, &[]), trusting(&k.root)),
        ("10.88.1.0/24", "10.88.2.0/24"),
    );
    pa.remote_id = ike_proto::v2::Identity::parse("c.example.org");
    let pb = common::v1_peer(
        "site-a",
        A,
        ("b.example.org", "a.example.org"),
        (sign_with(&k.b_rsa, &[]), trusting(&k.root)),
        ("10.88.2.0/24", "10.88.1.0/24"),
    );
    let mut ea = Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(ike_crypto::rng::SeededRng::new(41)),
    )
    .unwrap();
    let mut eb = Endpoint::new(
        EndpointConfig::default(),
        vec![pb],
        Box::new(ike_crypto::rng::SeededRng::new(42)),
    )
    .unwrap();
    ea.set_unix_time(T0);
    eb.set_unix_time(T0);
    let mut p = Pair::new(
        ea,
        eb,
        A.parse().unwrap(),
        B.parse().unwrap(),
        Faults::none(),
        4,
    );
    assert!(!run(&mut p));
    assert!(common::closed(&p.events_a).is_some());
    assert!(installs(&p.events_a).is_empty());
}

#[test]
fn psk_on_one_side_and_certificates_on_the_other_cannot_be_configured() {
    let k = pki();
    let pa = common::v1_peer(
        "site-b",
        B,
        ("a.example.org", "b.example.org"),
        (psk(), trusting(&k.root)),
        ("10.88.1.0/24", "10.88.2.0/24"),
    );
    let mut ea = Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(ike_crypto::rng::SeededRng::new(1)),
    )
    .unwrap();
    let now = std::time::Instant::now();
    let e = ea.initiate(now, A.parse().unwrap(), "site-b").unwrap_err();
    assert!(e.to_string().contains("one method"), "{e}");
}

#[test]
fn large_messages_go_in_fragments_and_are_reassembled() {
    let k = pki();
    let mut pa = common::v1_peer(
        "site-b",
        B,
        ("a.example.org", "b.example.org"),
        (sign_with(&k.a_ec, &[&k.intermediate]), trusting(&k.root)),
        ("10.88.1.0/24", "10.88.2.0/24"),
    );
    let pb = common::v1_peer(
        "site-a",
        A,
        ("b.example.org", "a.example.org"),
        (sign_with(&k.b_ec, &[&k.intermediate]), trusting(&k.root)),
        ("10.88.2.0/24", "10.88.1.0/24"),
    );
    pa.exchange = V1Exchange::Main;
    let cfg = EndpointConfig {
        fragment_size: 400,
        ..EndpointConfig::default()
    };
    for loss in [0.0, 0.2] {
        let mut ea = Endpoint::new(
            cfg.clone(),
            vec![pa.clone()],
            Box::new(ike_crypto::rng::SeededRng::new(51)),
        )
        .unwrap();
        let mut eb = Endpoint::new(
            cfg.clone(),
            vec![pb.clone()],
            Box::new(ike_crypto::rng::SeededRng::new(52)),
        )
        .unwrap();
        ea.set_unix_time(T0);
        eb.set_unix_time(T0);
        let faults = Faults {
            loss,
            ..Faults::none()
        };
        let mut p = Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, 5);
        assert!(run(&mut p), "loss {loss}");
        // Main Mode 5 and 6 (certificate chains) went as fragments (payload 132), each datagram
        // within the size.
        let frags = p
            .log
            .iter()
            .filter(|s| s.payload.get(16) == Some(&132))
            .count();
        assert!(frags >= 4, "{frags} fragments");
        assert!(
            p.log.iter().all(|s| s.payload.len() <= 400),
            "a datagram over the limit"
        );
        assert!(matches!(
            scheme(&p.events_a),
            Some(SignatureScheme::EcdsaBareHash)
        ));
    }
}
