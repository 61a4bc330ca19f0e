//! Additional key exchanges after CREATE_CHILD_SA (IKE_FOLLOWUP_KE, RFC 9370 §2.2.4) through the
//! simulated network: new Child SAs, Child SA rekeys and IKE SA rekeys with ML-KEM after X25519,
//! initiated by either end of the IKE SA, with one and two follow-up exchanges, the optional and
//! mandatory cases against a peer without them, and loss. The malformed requests (unknown link,
//! wrong method, no KE) are unit tests in `src/v2/sa/followup.rs`; the keys are checked against
//! an independent computation in `v2_followup_kat.rs`.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use ike_proto::v2::{CloseReason, EndpointConfig, Event, ProtocolError, SaHandle};
use ike_testkit::sim::{Faults, Pair};
use ike_wire::v2::{ExchangeType, Message, Payload};

const PQ_ESP: &str = "aes256gcm16-x25519-ke1_mlkem768";
const PQ_IKE: &str = "aes256gcm16-prfsha384-x25519-ke1_mlkem768";

/// (exchange, message ID, is a response) of every message on the wire.
fn wire(p: &Pair) -> Vec<(ExchangeType, u32, bool)> {
    p.log
        .iter()
        .filter_map(|s| {
            let m = Message::decode(&s.payload).ok()?;
            let later_fragment = m
                .payloads
                .iter()
                .any(|p| matches!(p, Payload::EncryptedFragment(f) if f.fragment_number != 1));
            let h = m.header;
            (!later_fragment).then_some((h.exchange, h.message_id, h.flags.response()))
        })
        .collect()
}

fn exchanges(w: &[(ExchangeType, u32, bool)]) -> Vec<ExchangeType> {
    w.iter().filter(|x| !x.2).map(|x| x.0).collect()
}

fn sides<'a>(esp: &'a [&'a str], ike: &'a [&'a str]) -> (Side<'a>, Side<'a>) {
    (
        Side {
            esp,
            ike,
            ..Side::default()
        },
        Side {
            esp,
            ike,
            ..Side::responder()
        },
    )
}

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

fn deletes(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::ChildSaDelete { .. }))
        .count()
}

fn live(events: &[Event]) -> BTreeSet<u32> {
    let mut s = BTreeSet::new();
    for e in events {
        match e {
            Event::ChildSaInstall(c) => {
                s.insert(c.spi_in);
            }
            Event::ChildSaDelete { spi_in, .. } => {
                s.remove(spi_in);
            }
            _ => {}
        }
    }
    s
}

fn failed(events: &[Event]) -> Option<&ProtocolError> {
    events.iter().find_map(|e| match e {
        Event::ChildSaFailed { reason, .. } => Some(reason),
        _ => None,
    })
}

/// The last installs of both ends are the two halves of one Child SA.
fn assert_last_installs_agree(p: &Pair) {
    let (ia, ib) = (installs(&p.events_a), installs(&p.events_b));
    let (ca, cb) = (ia[ia.len() - 1], ib[ib.len() - 1]);
    assert_eq!((ca.spi_in, ca.spi_out), (cb.spi_out, cb.spi_in));
    assert_eq!(ca.keys_out.0.expose(), cb.keys_in.0.expose());
    assert_eq!(ca.keys_in.0.expose(), cb.keys_out.0.expose());
    assert_ne!(ca.keys_in.0.expose(), ca.keys_out.0.expose());
}

/// A new Child SA with ML-KEM after X25519, started by either end: CREATE_CHILD_SA, then one
/// IKE_FOLLOWUP_KE with the next message ID; neither end installs before its part of the
/// follow-up is done.
#[test]
fn new_child_runs_one_followup_exchange_and_installs_after_it_in_both_roles() {
    for a_starts in [true, false] {
        let (sa, sb) = sides(&[PQ_ESP], &["aes128gcm16-prfsha256-x25519"]);
        let mut p = pair(sa, sb);
        let (a, b) = established(&mut p);
        let before = wire(&p).len();
        let now = p.now();
        if a_starts {
            p.a.create_child(now, a, "net").unwrap();
        } else {
            p.b.create_child(now, b, "net").unwrap();
        }
        // Stop as soon as the follow-up request is on the wire: nothing is installed yet.
        assert!(p.run_until(Duration::from_secs(10), |p| wire(p)[before..]
            .iter()
            .any(|w| w.0 == ExchangeType::IkeFollowupKe)));
        assert_eq!(
            (installs(&p.events_a).len(), installs(&p.events_b).len()),
            (1, 1),
            "a_starts={a_starts}: installed before the follow-up exchange"
        );
        assert!(
            p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
                == 2
                && installs(&p.events_b).len() == 2)
        );
        let rest = wire(&p)[before..].to_vec();
        let mid = rest[0].1;
        assert_eq!(
            rest,
            [
                (ExchangeType::CreateChildSa, mid, false),
                (ExchangeType::CreateChildSa, mid, true),
                (ExchangeType::IkeFollowupKe, mid + 1, false),
                (ExchangeType::IkeFollowupKe, mid + 1, true),
            ],
            "a_starts={a_starts}"
        );
        assert_last_installs_agree(&p);
        let ia = installs(&p.events_a);
        assert_eq!(ia[1].proposal, PQ_ESP);
        assert_ne!(ia[1].keys_out.0.expose(), ia[0].keys_out.0.expose());
        assert_eq!((p.a.child_sas(a).len(), p.b.child_sas(b).len()), (2, 2));
        // The IKE SA goes on with the next message IDs.
        let (now, n) = (p.now(), p.log.len());
        p.a.check_liveness(now, a).unwrap();
        p.run_for(Duration::from_secs(5));
        assert_eq!(p.log.len(), n + 2);
    }
}

#[test]
fn two_additional_exchanges_run_two_followups_in_order() {
    let two = "aes256gcm16-x25519-ke1_mlkem768-ke2_mlkem1024";
    let esp = [two];
    let (sa, sb) = sides(&esp, &["aes128gcm16-prfsha256-x25519"]);
    let mut p = pair(sa, sb);
    let (a, _) = established(&mut p);
    let before = wire(&p).len();
    p.a.create_child(p.now(), a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    assert_eq!(
        exchanges(&wire(&p)[before..]),
        [
            ExchangeType::CreateChildSa,
            ExchangeType::IkeFollowupKe,
            ExchangeType::IkeFollowupKe
        ]
    );
    assert_last_installs_agree(&p);
    assert_eq!(installs(&p.events_b)[1].proposal, two);
}

/// Child SA rekeys with a follow-up exchange, by either end: make-before-break, the old SA
/// deleted only after the new one is installed, one Child SA left on each side.
#[test]
fn child_rekey_with_a_followup_is_make_before_break_in_both_roles() {
    for a_starts in [true, false] {
        let (sa, sb) = sides(&[PQ_ESP], &["aes128gcm16-prfsha256-x25519"]);
        let mut p = pair(sa, sb);
        let (a, b) = established(&mut p);
        let before = wire(&p).len();
        let now = p.now();
        if a_starts {
            let old = installs(&p.events_a)[0].spi_in;
            p.a.rekey_child(now, a, old).unwrap();
        } else {
            let old = installs(&p.events_b)[0].spi_in;
            p.b.rekey_child(now, b, old).unwrap();
        }
        assert!(
            p.run_until(Duration::from_secs(10), |p| deletes(&p.events_a) == 1
                && deletes(&p.events_b) == 1)
        );
        assert_eq!(
            exchanges(&wire(&p)[before..]),
            [
                ExchangeType::CreateChildSa,
                ExchangeType::IkeFollowupKe,
                ExchangeType::Informational
            ],
            "a_starts={a_starts}"
        );
        for ev in [&p.events_a, &p.events_b] {
            let install = ev
                .iter()
                .rposition(|e| matches!(e, Event::ChildSaInstall(_)))
                .unwrap();
            let delete = ev
                .iter()
                .position(|e| matches!(e, Event::ChildSaDelete { .. }))
                .unwrap();
            assert!(install < delete, "a_starts={a_starts}: break before make");
        }
        assert_eq!((live(&p.events_a).len(), live(&p.events_b).len()), (1, 1));
        assert_last_installs_agree(&p);
        assert_eq!((p.a.child_sas(a).len(), p.b.child_sas(b).len()), (1, 1));
    }
}

/// IKE SA rekeys with ML-KEM, by either end: the new IKE SA exists only after the follow-up, the
/// Child SA moves to it, the old one closes as rekeyed, and the new one works.
#[test]
fn ike_rekey_with_a_followup_moves_the_children_in_both_roles() {
    for a_starts in [true, false] {
        let (sa, sb) = sides(&["aes128gcm16"], &[PQ_IKE]);
        let mut p = pair(sa, sb);
        let (a, b) = established(&mut p);
        let child = installs(&p.events_a)[0].spi_in;
        let before = wire(&p).len();
        let now = p.now();
        if a_starts {
            p.a.rekey_ike(now, a).unwrap();
        } else {
            p.b.rekey_ike(now, b).unwrap();
        }
        assert!(p.run_until(Duration::from_secs(10), |p| wire(p)[before..]
            .iter()
            .any(|w| w.0 == ExchangeType::IkeFollowupKe)));
        assert_eq!(
            (p.a.sa_count(), p.b.sa_count()),
            (1, 1),
            "a_starts={a_starts}: a new IKE SA before the follow-up"
        );
        assert!(
            p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
                && closed(&p.events_b).is_some())
        );
        assert_eq!(closed(&p.events_a), Some(&CloseReason::Rekeyed));
        assert_eq!(closed(&p.events_b), Some(&CloseReason::Rekeyed));
        let rest = wire(&p)[before..].to_vec();
        let mid = rest[0].1;
        assert_eq!(
            &rest[..4],
            [
                (ExchangeType::CreateChildSa, mid, false),
                (ExchangeType::CreateChildSa, mid, true),
                (ExchangeType::IkeFollowupKe, mid + 1, false),
                (ExchangeType::IkeFollowupKe, mid + 1, true),
            ],
            "a_starts={a_starts}"
        );
        // Then the old SA's delete, with the next message ID of the old SA.
        assert_eq!(rest[4], (ExchangeType::Informational, mid + 2, false));
        assert_eq!((deletes(&p.events_a), deletes(&p.events_b)), (0, 0));
        let (na, nb) = (p.a.established()[0], p.b.established()[0]);
        assert_ne!(na, a);
        assert_eq!(p.a.child_sas(na)[0].1, child);
        assert_eq!(p.b.child_sas(nb).len(), 1);
        // The new SA works: liveness, and a child rekey on it.
        let (now, n) = (p.now(), p.log.len());
        p.a.check_liveness(now, na).unwrap();
        p.run_for(Duration::from_secs(5));
        assert_eq!(p.log.len(), n + 2, "a_starts={a_starts}");
        p.b.rekey_ike(p.now(), nb).unwrap();
        assert!(p.run_until(Duration::from_secs(10), |p| p
            .events_a
            .iter()
            .filter(|e| matches!(e, Event::IkeSaRekeyed { .. }))
            .count()
            == 2));
    }
}

/// `ke1_none` makes the additional exchange optional: against a peer without it, a plain
/// CREATE_CHILD_SA exchange; a mandatory one is NO_PROPOSAL_CHOSEN, and the IKE SA stays.
#[test]
fn optional_falls_back_and_mandatory_fails_against_a_peer_without() {
    let optional = "aes256gcm16-x25519-ke1_mlkem768-ke1_none";
    for (ours, ok) in [(optional, true), (PQ_ESP, false)] {
        let mut p = pair(
            Side {
                esp: &[ours],
                ..Side::default()
            },
            Side {
                esp: &["aes256gcm16-x25519"],
                ..Side::responder()
            },
        );
        let (a, b) = established(&mut p);
        let before = wire(&p).len();
        p.a.create_child(p.now(), a, "net").unwrap();
        p.run_for(Duration::from_secs(10));
        assert_eq!(
            exchanges(&wire(&p)[before..]),
            [ExchangeType::CreateChildSa],
            "{ours}"
        );
        if ok {
            assert_eq!(installs(&p.events_a).len(), 2);
            assert_eq!(installs(&p.events_a)[1].proposal, "aes256gcm16-x25519");
            assert_last_installs_agree(&p);
        } else {
            assert_eq!(failed(&p.events_a), Some(&ProtocolError::NoProposalChosen));
            assert_eq!(installs(&p.events_b).len(), 1);
        }
        assert!(p.a.is_established(a) && p.b.is_established(b));
    }
}

/// Under loss the retransmitted follow-up requests get their cached responses (the keys are
/// not mixed twice): every run that keeps its IKE SA ends with both halves of the new Child SA.
#[test]
fn followups_under_loss_install_matching_halves() {
    let mut done = 0;
    for seed in 0..12u64 {
        let (sa, sb) = sides(&[PQ_ESP], &["aes128gcm16-prfsha256-x25519"]);
        let mut p = pair_with(sa, sb, EndpointConfig::default(), Faults::none(), seed);
        let (a, _) = established(&mut p);
        p.faults = Faults::lossy(0.25);
        p.a.create_child(p.now(), a, "net").unwrap();
        p.run_until(Duration::from_secs(60), |p| {
            installs(&p.events_a).len() == 2 && installs(&p.events_b).len() == 2
        });
        p.faults = Faults::none();
        p.run_for(Duration::from_secs(60));
        if p.a.sa_count() == 0 {
            assert!(closed(&p.events_a).is_some(), "seed {seed}");
            continue;
        }
        if installs(&p.events_a).len() == 2 {
            done += 1;
            assert_eq!(installs(&p.events_b).len(), 2, "seed {seed}");
            assert_last_installs_agree(&p);
        }
    }
    assert!(done >= 8, "{done}");
}
