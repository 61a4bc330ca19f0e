//! CREATE_CHILD_SA through the simulated network: another Child SA, Child SA rekeys with and
//! without PFS (make-before-break), IKE SA rekeys that carry the Child SAs over, single Child SA
//! deletes, lifetimes that trigger rekeys, a simultaneous rekey, and rekeys under loss.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use ike_proto::v2::{CloseReason, EndpointConfig, Event, SaHandle};
use ike_testkit::sim::{Faults, Pair};

fn established(p: &mut Pair) -> (SaHandle, SaHandle) {
    initiate(p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1),
        "seed {}",
        p.seed
    );
    (p.a.established()[0], p.b.established()[0])
}

fn deletes(events: &[Event]) -> Vec<(u32, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaDelete {
                spi_in, spi_out, ..
            } => Some((*spi_in, *spi_out)),
            _ => None,
        })
        .collect()
}

#[test]
fn second_child_on_the_same_ike_sa() {
    let mut p = pair(Side::default(), Side::responder());
    let (a, b) = established(&mut p);
    let now = p.now();
    p.a.create_child(now, a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    assert_eq!(p.a.child_sas(a).len(), 2);
    assert_eq!(p.b.child_sas(b).len(), 2);
    let (ia, ib) = (installs(&p.events_a), installs(&p.events_b));
    assert_eq!(ia[1].keys_out.0.expose(), ib[1].keys_in.0.expose());
    assert_ne!(
        ia[1].keys_out.0.expose(),
        ia[0].keys_out.0.expose(),
        "CREATE_CHILD_SA nonces make fresh keys"
    );
    assert_eq!(p.log.len(), 6);
}

#[test]
fn child_rekey_is_make_before_break_on_both_sides() {
    for pfs in [false, true] {
        let esp: &[&str] = if pfs {
            &["aes128gcm16-x25519"]
        } else {
            &["aes128gcm16"]
        };
        let mut p = pair(
            Side {
                esp,
                ..Side::default()
            },
            Side {
                esp,
                ..Side::responder()
            },
        );
        let (a, b) = established(&mut p);
        let old = installs(&p.events_a)[0].spi_in;
        let now = p.now();
        p.a.rekey_child(now, a, old).unwrap();
        assert!(
            p.run_until(Duration::from_secs(10), |p| deletes(&p.events_a).len() == 1
                && deletes(&p.events_b).len() == 1)
        );
        // The new SA was installed before the old one went.
        let new_install = p
            .events_a
            .iter()
            .position(|e| matches!(e, Event::ChildSaInstall(c) if c.spi_in != old))
            .unwrap();
        let old_delete = p
            .events_a
            .iter()
            .position(|e| matches!(e, Event::ChildSaDelete { spi_in, .. } if *spi_in == old))
            .unwrap();
        assert!(new_install < old_delete);
        assert_eq!(live(&p.events_a).len(), 1);
        assert_eq!(live(&p.events_b).len(), 1);
        let (ia, ib) = (installs(&p.events_a), installs(&p.events_b));
        assert_eq!(
            ia[1].keys_out.0.expose(),
            ib[1].keys_in.0.expose(),
            "pfs={pfs}"
        );
        assert_eq!(p.a.child_sas(a).len(), 1);
        assert_eq!(p.b.child_sas(b)[0].1, ia[1].spi_out);
        // CREATE_CHILD_SA pair and INFORMATIONAL pair.
        assert_eq!(p.log.len(), 8);
    }
}

#[test]
fn pfs_mismatch_fails_the_new_child_only() {
    let mut p = pair(
        Side {
            esp: &["aes128gcm16-x25519"],
            ..Side::default()
        },
        Side {
            esp: &["aes128gcm16-modp2048"],
            ..Side::responder()
        },
    );
    let (a, _) = established(&mut p);
    let now = p.now();
    p.a.create_child(now, a, "net").unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| p
        .events_a
        .iter()
        .any(|e| matches!(e, Event::ChildSaFailed { .. }))));
    assert_eq!(installs(&p.events_b).len(), 1);
    assert!(p.a.is_established(a));
}

#[test]
fn invalid_ke_in_create_child_sa_is_retried_with_the_requested_group() {
    let mut p = pair(
        Side {
            esp: &["aes128gcm16-x25519-modp2048"],
            ..Side::default()
        },
        Side {
            esp: &["aes128gcm16-modp2048"],
            ..Side::responder()
        },
    );
    let (a, _) = established(&mut p);
    let now = p.now();
    p.a.create_child(now, a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2)
    );
    assert_eq!(installs(&p.events_a)[1].proposal, "aes128gcm16-modp2048");
}

#[test]
fn ike_rekey_moves_children_and_closes_the_old_sa() {
    let mut p = pair(Side::default(), Side::responder());
    let (a, b) = established(&mut p);
    let child = installs(&p.events_a)[0].spi_in;
    let now = p.now();
    p.a.rekey_ike(now, a).unwrap();
    let rekeyed = |ev: &[Event]| {
        ev.iter().find_map(|e| match e {
            Event::IkeSaRekeyed { old, new, .. } => Some((*old, *new)),
            _ => None,
        })
    };
    assert!(
        p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
            && closed(&p.events_b).is_some())
    );
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Rekeyed));
    assert_eq!(closed(&p.events_b), Some(&CloseReason::Rekeyed));
    let (old_a, new_a) = rekeyed(&p.events_a).unwrap();
    let (old_b, new_b) = rekeyed(&p.events_b).unwrap();
    assert_eq!((old_a, old_b), (a, b));
    assert!(
        deletes(&p.events_a).is_empty() && deletes(&p.events_b).is_empty(),
        "children survive an IKE rekey"
    );
    assert_eq!(p.a.child_sas(new_a)[0].1, child);
    assert_eq!(p.b.child_sas(new_b).len(), 1);
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1));
    // The new SA works: a liveness check and a child rekey on it.
    let before = p.log.len();
    let now = p.now();
    p.a.check_liveness(now, new_a).unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.log.len(), before + 2);
    p.a.rekey_child(p.now(), new_a, child).unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| deletes(&p.events_a).len() == 1));
    // And it can be deleted.
    p.a.delete(p.now(), new_a).unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| p.a.sa_count() == 0
        && p.b.sa_count() == 0));
}

#[test]
fn responder_can_rekey_the_ike_sa_too() {
    let mut p = pair(Side::default(), Side::responder());
    let (_, b) = established(&mut p);
    p.b.rekey_ike(p.now(), b).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
            && closed(&p.events_b).is_some())
    );
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Rekeyed));
    let new_a = p.a.established()[0];
    assert_eq!(p.a.child_sas(new_a).len(), 1);
}

#[test]
fn delete_one_child_keeps_the_ike_sa() {
    let mut p = pair(Side::default(), Side::responder());
    let (a, b) = established(&mut p);
    p.a.create_child(p.now(), a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 2)
    );
    let first = installs(&p.events_a)[0].spi_in;
    p.a.delete_child(p.now(), a, first).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| deletes(&p.events_a).len() == 1
            && deletes(&p.events_b).len() == 1)
    );
    assert_eq!(p.a.child_sas(a).len(), 1);
    assert_eq!(p.b.child_sas(b).len(), 1);
    assert!(p.a.is_established(a) && p.b.is_established(b));
}

#[test]
fn lifetimes_rekey_children_and_the_ike_sa_without_gaps() {
    let a = Side {
        child_rekey: Some(Duration::from_secs(60)),
        ike_rekey: Some(Duration::from_secs(150)),
        ..Side::default()
    };
    let b = Side {
        child_rekey: Some(Duration::from_secs(90)),
        ike_rekey: Some(Duration::from_secs(400)),
        ..Side::responder()
    };
    let mut p = pair(a, b);
    established(&mut p);
    // Ten virtual minutes: several child rekeys and a few IKE rekeys, from both sides.
    for _ in 0..60 {
        p.run_for(Duration::from_secs(10));
        // Never without an installed child, never more than two (old and new during a rekey).
        let (la, lb) = (live(&p.events_a).len(), live(&p.events_b).len());
        assert!(
            (1..=2).contains(&la) && (1..=2).contains(&lb),
            "a {la} b {lb} at {:?}",
            p.elapsed()
        );
    }
    p.run_for(Duration::from_secs(20));
    let rekeys = installs(&p.events_a).len() - 1;
    assert!(rekeys >= 6, "only {rekeys} child rekeys in ten minutes");
    let ike_rekeys = p
        .events_a
        .iter()
        .filter(|e| matches!(e, Event::IkeSaRekeyed { .. }))
        .count();
    assert!(ike_rekeys >= 2, "only {ike_rekeys} IKE rekeys");
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1));
}

/// §2.8.1: both ends rekey the same Child SA at once. Both exchanges succeed; the SA created
/// with the lowest of the four nonces is closed by its creator, and the old SA by the initiator
/// of the surviving exchange. Over several seeds both ends win sometimes.
#[test]
fn simultaneous_child_rekeys_resolve_by_the_nonce_rule() {
    let mut winners = BTreeSet::new();
    for seed in 0..12u64 {
        let mut p = pair_with(
            Side::default(),
            Side::responder(),
            EndpointConfig::default(),
            Faults::none(),
            seed,
        );
        let (a, b) = established(&mut p);
        let (spi_a, spi_b) = (
            installs(&p.events_a)[0].spi_in,
            installs(&p.events_b)[0].spi_in,
        );
        let now = p.now();
        p.a.rekey_child(now, a, spi_a).unwrap();
        p.b.rekey_child(now, b, spi_b).unwrap();
        p.run_for(Duration::from_secs(30));
        // Both exchanges created an SA on each side: the original, ours and theirs.
        assert_eq!(installs(&p.events_a).len(), 3, "seed {seed}");
        assert_eq!(installs(&p.events_b).len(), 3, "seed {seed}");
        // The old one and the redundant one are gone; exactly one survives, the same on both.
        assert_eq!(deletes(&p.events_a).len(), 2, "seed {seed}");
        assert_eq!(deletes(&p.events_b).len(), 2, "seed {seed}");
        let (la, lb) = (p.a.child_sas(a), p.b.child_sas(b));
        assert_eq!((la.len(), lb.len()), (1, 1), "seed {seed}");
        assert_eq!((la[0].1, la[0].2), (lb[0].2, lb[0].1), "seed {seed}");
        assert_eq!(live(&p.events_a), BTreeSet::from([la[0].1]), "seed {seed}");
        // On a, b's request arrives (and installs) before b's answer to a's request, so the
        // second install is b's exchange and the third a's own.
        let survivor = installs(&p.events_a)
            .iter()
            .position(|c| c.spi_in == la[0].1);
        assert!(
            matches!(survivor, Some(1 | 2)),
            "seed {seed}: the original survived"
        );
        winners.insert(survivor);
    }
    assert_eq!(winners.len(), 2, "one end won every time: {winners:?}");
}

#[test]
fn rekeys_under_loss_keep_exactly_one_child_per_side() {
    let mut ok = 0;
    for seed in 0..25u64 {
        let a = Side {
            child_rekey: Some(Duration::from_secs(30)),
            ..Side::default()
        };
        let mut p = pair_with(
            a,
            Side::responder(),
            EndpointConfig::default(),
            Faults::none(),
            seed,
        );
        established(&mut p);
        p.faults = Faults::lossy(0.2);
        p.run_for(Duration::from_secs(300));
        // Let the last exchanges finish on a quiet network.
        p.faults = Faults::none();
        p.run_for(Duration::from_secs(200));
        if p.a.sa_count() == 0 {
            // Retransmissions ran out under loss: the SA is gone on our side with a reason.
            assert!(closed(&p.events_a).is_some(), "seed {seed}");
            continue;
        }
        ok += 1;
        let (la, lb) = (live(&p.events_a), live(&p.events_b));
        assert_eq!(la.len(), 1, "seed {seed}: {la:?}");
        assert_eq!(lb.len(), 1, "seed {seed}: {lb:?}");
    }
    assert!(ok >= 20, "{ok}");
}

/// §2.25.1: one end rekeys a Child SA while the other deletes it. Whatever the order, no SA is
/// left on one side only: the rekeyed SA replaces nothing and is deleted too.
#[test]
fn rekey_against_delete_leaves_no_orphan() {
    for seed in 0..8u64 {
        let mut p = pair_with(
            Side::default(),
            Side::responder(),
            EndpointConfig::default(),
            Faults::lossy(0.0),
            seed,
        );
        let (a, b) = established(&mut p);
        let (spi_a, spi_b) = (
            installs(&p.events_a)[0].spi_in,
            installs(&p.events_b)[0].spi_in,
        );
        let now = p.now();
        p.a.rekey_child(now, a, spi_a).unwrap();
        p.b.delete_child(now, b, spi_b).unwrap();
        p.run_for(Duration::from_secs(60));
        let (la, lb) = (live(&p.events_a), live(&p.events_b));
        assert_eq!(la.len(), lb.len(), "seed {seed}: a {la:?} b {lb:?}");
        assert!(la.is_empty(), "seed {seed}: {la:?}");
        assert!(
            p.a.child_sas(a).is_empty() && p.b.child_sas(b).is_empty(),
            "seed {seed}"
        );
        assert!(p.a.is_established(a) && p.b.is_established(b));
    }
}

/// A second rekey of an SA that is being rekeyed waits and then finds it replaced.
#[test]
fn rekey_of_an_sa_being_rekeyed_is_not_doubled() {
    let mut p = pair(Side::default(), Side::responder());
    let (a, b) = established(&mut p);
    let spi = installs(&p.events_a)[0].spi_in;
    let now = p.now();
    p.a.rekey_child(now, a, spi).unwrap();
    p.a.rekey_child(now, a, spi).unwrap();
    p.run_for(Duration::from_secs(30));
    assert_eq!(installs(&p.events_a).len(), 2);
    assert_eq!((p.a.child_sas(a).len(), p.b.child_sas(b).len()), (1, 1));
}

/// §2.25.2: a Child SA rekey while the IKE SA is rekeyed by the peer ends with the child on the
/// new IKE SA and nothing left behind.
#[test]
fn child_rekey_during_ike_rekey_settles() {
    for seed in 0..6u64 {
        let mut p = pair_with(
            Side::default(),
            Side::responder(),
            EndpointConfig::default(),
            Faults::none(),
            seed,
        );
        let (a, b) = established(&mut p);
        let spi_a = installs(&p.events_a)[0].spi_in;
        let now = p.now();
        p.a.rekey_child(now, a, spi_a).unwrap();
        p.b.rekey_ike(now, b).unwrap();
        p.run_for(Duration::from_secs(60));
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1), "seed {seed}");
        let (na, nb) = (p.a.established()[0], p.b.established()[0]);
        let (la, lb) = (p.a.child_sas(na), p.b.child_sas(nb));
        assert_eq!((la.len(), lb.len()), (1, 1), "seed {seed}: {la:?} {lb:?}");
        assert_eq!((la[0].1, la[0].2), (lb[0].2, lb[0].1), "seed {seed}");
        assert_eq!(live(&p.events_a).len(), 1, "seed {seed}");
        assert_eq!(live(&p.events_b).len(), 1, "seed {seed}");
    }
}

/// §2.8.2: both ends rekey the IKE SA at once. Both exchanges complete; the IKE SA created with
/// the lowest of the four nonces is deleted by the end that created it, the Child SAs move to the
/// other new IKE SA, and its creator deletes the old one. Over several seeds both ends win.
#[test]
fn simultaneous_ike_rekeys_resolve_by_the_nonce_rule() {
    let mut a_won = BTreeSet::new();
    for seed in 0..12u64 {
        let mut p = pair_with(
            Side::default(),
            Side::responder(),
            EndpointConfig::default(),
            Faults::none(),
            seed,
        );
        let (a, b) = established(&mut p);
        let child = installs(&p.events_a)[0].spi_in;
        let now = p.now();
        p.a.rekey_ike(now, a).unwrap();
        p.b.rekey_ike(now, b).unwrap();
        // Settled well before the 2-6 s retry delay a TEMPORARY_FAILURE would cost.
        p.run_for(Duration::from_secs(1));
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1), "seed {seed}");
        let (na, nb) = (p.a.established()[0], p.b.established()[0]);
        assert_ne!(na, a, "seed {seed}: a did not move to a new IKE SA");
        assert_eq!(
            p.a.child_sas(na),
            vec![("net".to_owned(), child, installs(&p.events_a)[0].spi_out)],
            "seed {seed}"
        );
        assert_eq!(p.b.child_sas(nb).len(), 1, "seed {seed}");
        assert!(
            deletes(&p.events_a).is_empty() && deletes(&p.events_b).is_empty(),
            "seed {seed}: a Child SA was lost"
        );
        assert_eq!(
            closed(&p.events_a),
            Some(&CloseReason::Rekeyed),
            "seed {seed}"
        );
        // a reports one rekey for the SA the peer created, and a second one if its own won.
        let rekeys = p
            .events_a
            .iter()
            .filter(|e| matches!(e, Event::IkeSaRekeyed { .. }))
            .count();
        a_won.insert(rekeys == 2);
        // The survivor works.
        assert!(p.a.check_liveness(p.now(), na).is_ok());
        let before = p.log.len();
        p.run_for(Duration::from_secs(10));
        assert_eq!(
            p.log.len(),
            before + 2,
            "seed {seed}: the new SA does not answer"
        );
    }
    assert_eq!(a_won.len(), 2, "one end won every time: {a_won:?}");
}

/// Everything at once: short Child SA and IKE SA lifetimes on both ends, 15% loss with
/// duplication and reordering, for twenty virtual minutes, over many seeds. Whenever the network
/// goes quiet again, both ends agree on one IKE SA with one Child SA.
#[test]
fn rekeys_of_everything_under_loss_converge() {
    let mut converged = 0;
    for seed in 0..16u64 {
        let a = Side {
            child_rekey: Some(Duration::from_secs(40)),
            ike_rekey: Some(Duration::from_secs(100)),
            ..Side::default()
        };
        let b = Side {
            child_rekey: Some(Duration::from_secs(45)),
            ike_rekey: Some(Duration::from_secs(110)),
            ..Side::responder()
        };
        let mut p = pair_with(a, b, EndpointConfig::default(), Faults::none(), seed);
        established(&mut p);
        p.faults = Faults::lossy(0.15);
        p.run_for(Duration::from_secs(1200));
        p.faults = Faults::none();
        p.run_for(Duration::from_secs(400));
        if p.a.sa_count() == 0 || p.b.sa_count() == 0 {
            // A retransmission give-up under loss: the SA closed with a reason on that side.
            assert!(
                closed(&p.events_a).is_some() || closed(&p.events_b).is_some(),
                "seed {seed}"
            );
            continue;
        }
        converged += 1;
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1), "seed {seed}");
        let (na, nb) = (p.a.established()[0], p.b.established()[0]);
        let (la, lb) = (p.a.child_sas(na), p.b.child_sas(nb));
        assert_eq!((la.len(), lb.len()), (1, 1), "seed {seed}: {la:?} {lb:?}");
        assert_eq!((la[0].1, la[0].2), (lb[0].2, lb[0].1), "seed {seed}");
        assert_eq!(live(&p.events_a).len(), 1, "seed {seed}");
        assert_eq!(live(&p.events_b).len(), 1, "seed {seed}");
    }
    assert!(converged >= 10, "{converged}");
}

/// ESP_TFC_PADDING_NOT_SUPPORTED goes with every Child SA of an endpoint whose kernel cannot
/// receive TFC padding; NON_FIRST_FRAGMENTS_ALSO counts only when both ends announce it. Both in
/// IKE_AUTH and in CREATE_CHILD_SA, whichever end initiates.
#[test]
fn esp_notifies_follow_the_endpoint_settings() {
    use ike_proto::v2::ChildFlags;
    let cfg = |tfc, nff| EndpointConfig {
        tfc_padding_supported: tfc,
        non_first_fragments: nff,
        ..EndpointConfig::default()
    };
    // (a's settings, b's settings, a's flags, b's flags)
    let cases = [
        ((true, false), (true, false), (false, false), (false, false)),
        ((true, true), (true, true), (false, true), (false, true)),
        ((true, true), (true, false), (false, false), (false, false)),
        ((true, false), (true, true), (false, false), (false, false)),
        ((true, false), (false, false), (true, false), (false, false)),
        ((false, true), (true, true), (false, true), (true, true)),
    ];
    for (i, (sa, sb, fa, fb)) in cases.into_iter().enumerate() {
        let mut p = pair_with_configs(
            Side::default(),
            Side::responder(),
            cfg(sa.0, sa.1),
            cfg(sb.0, sb.1),
            Faults::none(),
            7,
        );
        let (a, b) = established(&mut p);
        p.a.create_child(p.now(), a, "net").unwrap();
        assert!(
            p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
                == 2)
        );
        p.b.create_child(p.now(), b, "net").unwrap();
        assert!(
            p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
                == 3)
        );
        let flags = |f: (bool, bool)| ChildFlags {
            peer_refuses_tfc_padding: f.0,
            non_first_fragments: f.1,
        };
        for (n, (ca, cb)) in installs(&p.events_a)
            .iter()
            .zip(installs(&p.events_b))
            .enumerate()
        {
            assert_eq!(ca.flags, flags(fa), "case {i}, child {n}, a");
            assert_eq!(cb.flags, flags(fb), "case {i}, child {n}, b");
        }
    }
}

/// An initiated connection brings up every one of its children by itself: the first in
/// IKE_AUTH, the others in CREATE_CHILD_SA exchanges, in the configuration's order, and `up`
/// in a driver needs nothing more than `initiate`.
#[test]
fn initiating_brings_up_every_child_of_the_connection() {
    let with_three = |side: &Side<'_>, local: &str, remote_ip: &str, id: (&str, &str)| {
        let mut c = peer(local, remote_ip, id.0, id.1, side);
        let first = c.children[0].clone();
        c.children = ["net", "dns", "mgmt"]
            .iter()
            .map(|n| {
                let mut ch = first.clone();
                ch.name = (*n).into();
                ch
            })
            .collect();
        c
    };
    let pa = with_three(
        &Side::default(),
        "site-b",
        B,
        ("a.example.org", "b.example.org"),
    );
    let pb = with_three(
        &Side::responder(),
        "site-a",
        A,
        ("b.example.org", "a.example.org"),
    );
    let a = ike_proto::v2::Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(ike_crypto::rng::SeededRng::new(1)),
    )
    .unwrap();
    let b = ike_proto::v2::Endpoint::new(
        EndpointConfig::default(),
        vec![pb],
        Box::new(ike_crypto::rng::SeededRng::new(2)),
    )
    .unwrap();
    let mut p = Pair::new(
        a,
        b,
        A.parse().unwrap(),
        B.parse().unwrap(),
        Faults::none(),
        1,
    );
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 3)
    );
    let names: Vec<&str> = installs(&p.events_a)
        .iter()
        .map(|c| c.child.as_str())
        .collect();
    assert_eq!(names, ["net", "dns", "mgmt"]);
    p.run_for(Duration::from_secs(5));
    assert_eq!(installs(&p.events_a).len(), 3, "no child twice");
    assert_eq!(installs(&p.events_b).len(), 3);
    assert_eq!(p.a.child_sas(p.a.established()[0]).len(), 3);
}
