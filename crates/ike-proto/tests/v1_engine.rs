//! IKEv1 engine to engine in the simulated network: Main Mode with pre-shared keys, Quick Mode
//! with and without PFS for every child, loss and retransmission, deletes from either side,
//! and the refusals (proposals, client IDs, pre-shared key).

mod common;

use std::time::Duration;

use common::*;
use ike_crypto::rng::SeededRng;
use ike_proto::config::{IkeVersion, V1Exchange};
use ike_proto::v2::{CloseReason, Endpoint, EndpointConfig, Event, PeerConfig, Ts};
use ike_testkit::sim::{Faults, Pair};

fn v1(mut p: PeerConfig) -> PeerConfig {
    p.version = IkeVersion::V1;
    p
}

fn side(ike: &'static [&'static str], esp: &'static [&'static str]) -> Side<'static> {
    Side {
        ike,
        esp,
        ..Side::default()
    }
}

fn v1_pair(a: Side<'_>, b: Side<'_>, faults: Faults, seed: u64) -> Pair {
    let b = Side {
        local_ts: &["10.88.2.0/24"],
        remote_ts: &["10.88.1.0/24"],
        ..b
    };
    let pa = v1(peer("site-b", B, "a.example.org", "b.example.org", &a));
    let pb = v1(peer("site-a", A, "b.example.org", "a.example.org", &b));
    let ea = Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(SeededRng::new(seed * 2 + 1)),
    )
    .unwrap();
    let eb = Endpoint::new(
        EndpointConfig::default(),
        vec![pb],
        Box::new(SeededRng::new(seed * 2 + 2)),
    )
    .unwrap();
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

/// The responder's side of `s`: the selectors mirrored.
fn responder(s: Side<'_>) -> PeerConfig {
    v1(peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side {
            local_ts: &["10.88.2.0/24"],
            remote_ts: &["10.88.1.0/24"],
            ..s
        },
    ))
}

/// Two endpoints with `pa` and `pb`, RNGs seeded from `rng` and `rng + 1` (B's seed may be
/// any other: what matters is that each test's is fixed).
fn pair_of(pa: PeerConfig, pb: PeerConfig, rng: u64, seed: u64) -> Pair {
    pair_of_peers(EndpointConfig::default(), pa, pb, rng, Faults::none(), seed)
}

const IKE: &[&str] = &["aes128-sha256-modp2048"];
const ESP: &[&str] = &["aes128-sha256"];

fn up(p: &mut Pair) -> bool {
    initiate(p);
    p.run_until(Duration::from_secs(120), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    })
}

/// Both ends installed the same pair of SAs with the same keys, crossed.
fn check_crossed(p: &Pair) {
    let a = installs(&p.events_a);
    let b = installs(&p.events_b);
    assert_eq!(a.len(), b.len());
    for ia in &a {
        let ib = b
            .iter()
            .find(|ib| ib.spi_in == ia.spi_out)
            .expect("the responder's inbound SPI is the initiator's outbound");
        assert_eq!(ib.spi_out, ia.spi_in);
        assert_eq!(ia.keys_out.0.expose(), ib.keys_in.0.expose());
        assert_eq!(ia.keys_out.1.expose(), ib.keys_in.1.expose());
        assert_eq!(ia.keys_in.0.expose(), ib.keys_out.0.expose());
        assert_ne!(
            (ia.keys_in.0.expose(), ia.keys_in.1.expose()),
            (ia.keys_out.0.expose(), ia.keys_out.1.expose())
        );
        assert_eq!(ia.proposal, ib.proposal);
        assert_eq!(ia.local_ts, ib.remote_ts);
    }
}

#[test]
fn main_mode_psk_and_quick_mode() {
    let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), Faults::none(), 1);
    assert!(up(&mut p));
    assert!(established(&p.events_a) && established(&p.events_b));
    check_crossed(&p);
    let a = installs(&p.events_a)[0];
    assert_eq!(a.proposal, "aes128-sha256");
    assert_eq!(a.keys_in.0.len(), 16);
    assert_eq!(a.keys_in.1.len(), 32);
    assert_eq!(a.local_ts, vec![Ts::cidr("10.88.1.0/24").unwrap()]);
    // Status speaks IKEv1: version 1, cookies as SPIs, the Phase 1 proposal, the IPsec SA.
    let s = p.a.status(p.now());
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].version, 1);
    assert_eq!(
        s[0].proposal.as_deref(),
        Some("aes128-sha256-prfsha256-modp2048")
    );
    assert_eq!(s[0].children.len(), 1);
    assert_eq!(s[0].children[0].spi_in, a.spi_in);
    let sb = p.b.status(p.now());
    assert_eq!((sb[0].spi_i, sb[0].spi_r), (s[0].spi_i, s[0].spi_r));
    assert!(!sb[0].initiator);
    p.a.audit().unwrap();
    p.b.audit().unwrap();
    // Nothing was dropped on either side.
    assert_eq!(p.a.stats().drops.total(), 0);
    assert_eq!(p.b.stats().drops.total(), 0);
}

#[test]
fn quick_mode_with_pfs_and_two_children() {
    let esp: &[&str] = &["aes256-sha256-modp2048"];
    let mut pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(&["aes256-sha256-x25519"], esp),
    ));
    let mut pb = responder(side(&["aes256-sha256-x25519"], esp));
    // A second child: other subnets.
    let mut second = pa.children[0].clone();
    second.name = "net2".to_owned();
    second.local_ts = vec![Ts::cidr("10.99.1.0/24").unwrap()];
    second.remote_ts = vec![Ts::cidr("10.99.2.0/24").unwrap()];
    pa.children.push(second.clone());
    second.local_ts = vec![Ts::cidr("10.99.2.0/24").unwrap()];
    second.remote_ts = vec![Ts::cidr("10.99.1.0/24").unwrap()];
    pb.children.push(second);
    let mut p = pair_of(pa, pb, 3, 2);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(120), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    check_crossed(&p);
    let names: Vec<&str> = installs(&p.events_b)
        .iter()
        .map(|c| c.child.as_str())
        .collect();
    assert!(
        names.contains(&"net") && names.contains(&"net2"),
        "{names:?}"
    );
    assert_eq!(installs(&p.events_a)[0].proposal, "aes256-sha256-modp2048");
    assert_eq!(installs(&p.events_a)[0].keys_in.0.len(), 32);
}

#[test]
fn loss_duplication_and_reordering_end_in_one_sa_pair() {
    for seed in 0..16u64 {
        // Half the seeds also reorder: delays spread from 10 to 400 ms.
        let faults = Faults {
            loss: 0.25,
            duplicate: 0.2,
            max_delay: if seed % 2 == 1 {
                Duration::from_millis(400)
            } else {
                Faults::none().max_delay
            },
            ..Faults::none()
        };
        let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), faults, 100 + seed);
        assert!(up(&mut p), "seed {seed}: not up");
        // Let repeats and retransmissions drain.
        p.run_for(Duration::from_secs(90));
        assert_eq!(installs(&p.events_a).len(), 1, "seed {seed}");
        assert_eq!(installs(&p.events_b).len(), 1, "seed {seed}");
        check_crossed(&p);
        assert_eq!(p.a.sa_count(), 1, "seed {seed}");
        assert_eq!(p.b.sa_count(), 1, "seed {seed}");
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
}

#[test]
fn delete_from_either_side() {
    for initiator_deletes in [true, false] {
        let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), Faults::none(), 5);
        assert!(up(&mut p));
        let now = p.now();
        if initiator_deletes {
            let h = p.a.handles_all()[0];
            p.a.delete(now, h).unwrap();
        } else {
            let h = p.b.handles_all()[0];
            p.b.delete(now, h).unwrap();
        }
        assert!(p.run_until(Duration::from_secs(10), |p| p.a.sa_count() == 0
            && p.b.sa_count() == 0));
        assert!(live(&p.events_a).is_empty() && live(&p.events_b).is_empty());
        let (us, them) = if initiator_deletes {
            (&p.events_a, &p.events_b)
        } else {
            (&p.events_b, &p.events_a)
        };
        assert_eq!(closed(us), Some(&CloseReason::Deleted));
        assert_eq!(closed(them), Some(&CloseReason::DeletedByPeer));
    }
}

#[test]
fn psk_mismatch_never_establishes() {
    let a = Side {
        psk: "one key",
        peer_psk: "one key",
        ..side(IKE, ESP)
    };
    let b = Side {
        psk: "another key",
        peer_psk: "another key",
        ..side(IKE, ESP)
    };
    let mut p = v1_pair(a, b, Faults::none(), 9);
    initiate(&mut p);
    p.run_for(Duration::from_secs(60));
    assert!(!established(&p.events_a) && !established(&p.events_b));
    // The responder dropped message 5 (HASH_I does not verify), counted.
    assert!(p.b.stats().drops.total() >= 1);
    // Both give up eventually: the half-open responder SA expires, the initiator times out.
    p.run_for(Duration::from_secs(600));
    assert_eq!(p.a.sa_count() + p.b.sa_count(), 0);
}

#[test]
fn no_proposal_chosen_is_reported() {
    let mut p = v1_pair(
        side(IKE, ESP),
        side(&["aes256-sha384-ecp384"], ESP),
        Faults::none(),
        11,
    );
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| closed(&p.events_a).is_some()));
    let r = closed(&p.events_a).unwrap();
    assert_eq!(r.to_string(), "the peer refused with NO-PROPOSAL-CHOSEN");
    assert_eq!(p.b.sa_count(), 0, "the responder kept no state");
}

#[test]
fn quick_mode_refused_for_unknown_client_ids() {
    let b = Side {
        esp: ESP,
        ike: IKE,
        ..Side::default()
    };
    // The responder's child covers other subnets.
    let pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, ESP),
    ));
    let pb = v1(peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side {
            local_ts: &["10.77.77.0/24"],
            remote_ts: &["10.88.1.0/24"],
            ..b
        },
    ));
    let mut p = pair_of(pa, pb, 21, 3);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(120), |p| p
        .events_a
        .iter()
        .any(|e| matches!(e, Event::ChildSaFailed { .. }))));
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    // The ISAKMP SA stays up.
    assert!(p.a.is_established(p.a.handles_all()[0]));
}

fn aggressive_pair(a_aggr: bool, b_aggr: bool, faults: Faults, seed: u64) -> Pair {
    let mut pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, ESP),
    ));
    let mut pb = responder(side(IKE, ESP));
    pa.exchange = V1Exchange::main_or_aggressive(a_aggr);
    pb.exchange = V1Exchange::main_or_aggressive(b_aggr);
    pair_of_peers(EndpointConfig::default(), pa, pb, seed, faults, seed)
}

#[test]
fn aggressive_mode_psk_three_messages_then_quick_mode() {
    let mut p = aggressive_pair(true, true, Faults::none(), 31);
    assert!(up(&mut p));
    check_crossed(&p);
    // Aggressive Mode (exchange 4) three messages, then Quick Mode's three.
    let exchanges: Vec<u8> = p.log.iter().map(|s| s.payload[18]).collect();
    assert_eq!(exchanges, [4, 4, 4, 32, 32, 32]);
    // Message 3 is encrypted; 1 and 2 are not.
    let flags: Vec<u8> = p.log.iter().take(3).map(|s| s.payload[19] & 1).collect();
    assert_eq!(flags, [0, 0, 1]);
    assert_eq!(p.a.status(p.now())[0].version, 1);
    p.a.audit().unwrap();
    p.b.audit().unwrap();
    // With loss and duplication too.
    for seed in 0..8u64 {
        let faults = Faults {
            loss: 0.25,
            duplicate: 0.2,
            ..Faults::none()
        };
        let mut p = aggressive_pair(true, true, faults, 200 + seed);
        assert!(up(&mut p), "seed {seed}");
        p.run_for(Duration::from_secs(90));
        assert_eq!(installs(&p.events_a).len(), 1, "seed {seed}");
        assert_eq!(installs(&p.events_b).len(), 1, "seed {seed}");
        check_crossed(&p);
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
}

#[test]
fn aggressive_mode_is_refused_unless_the_responder_enables_it() {
    let mut p = aggressive_pair(true, false, Faults::none(), 41);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| closed(&p.events_a).is_some()));
    assert_eq!(
        closed(&p.events_a).unwrap().to_string(),
        "the peer refused with NO-PROPOSAL-CHOSEN"
    );
    assert_eq!(p.b.sa_count(), 0);
    assert!(!established(&p.events_b));
}

#[test]
fn nat_traversal_floats_to_4500_and_encapsulates() {
    let pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, ESP),
    ));
    let mut pb = responder(side(IKE, ESP));
    // The responder takes the peer from any address (it comes through the NAT).
    pb.remote_addrs.clear();
    let mut p = pair_of(pa, pb, 51, 5);
    p.nat_in_front_of_a("192.0.2.7".parse().unwrap(), 61000);
    assert!(up(&mut p));
    check_crossed(&p);
    // Messages 1-4 on port 500, everything from message 5 on port 4500 with the marker.
    let ports: Vec<(u16, u16, bool)> = p
        .log
        .iter()
        .filter(|s| !s.is_keepalive())
        .map(|s| (s.src.port(), s.dst.port(), s.non_esp_marker))
        .collect();
    assert!(
        ports[..4]
            .iter()
            .all(|(s, d, m)| *s == 500 && (*d == 500 || *d == 61000) && !m),
        "{ports:?}"
    );
    assert!(
        ports[4..]
            .iter()
            .all(|(_, d, m)| (*d == 4500 || *d == 61001 || *d == 61000) && *m),
        "{ports:?}"
    );
    let a = installs(&p.events_a)[0];
    let b = installs(&p.events_b)[0];
    assert_eq!(a.encap.map(|e| e.0), Some(4500));
    assert_eq!(b.encap.map(|e| e.0), Some(4500));
    // The responder sends to the NAT's public address and port.
    assert_eq!(
        b.remote.ip(),
        "192.0.2.7".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(b.encap.map(|e| e.1), Some(b.remote.port()));
    // The side behind the NAT keeps the mapping alive.
    p.run_for(Duration::from_secs(70));
    assert!(p.keepalives_received.1 >= 3, "{:?}", p.keepalives_received);
    assert_eq!(p.keepalives_received.0, 0);
}

#[test]
fn forced_encapsulation_without_a_nat() {
    let mut pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, ESP),
    ));
    pa.encap = true;
    let pb = responder(side(IKE, ESP));
    let mut p = pair_of(pa, pb, 61, 6);
    assert!(up(&mut p));
    assert_eq!(installs(&p.events_a)[0].encap, Some((4500, 4500)));
    assert_eq!(installs(&p.events_b)[0].encap, Some((4500, 4500)));
}

fn dpd_pair(action: ike_proto::v2::DpdAction, seed: u64) -> Pair {
    let mut pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, ESP),
    ));
    let mut pb = responder(side(IKE, ESP));
    pa.dpd_delay = Some(Duration::from_secs(30));
    pa.dpd_action = action;
    pb.dpd_delay = Some(Duration::from_secs(30));
    pair_of_peers(
        EndpointConfig::default(),
        pa,
        pb,
        seed,
        Faults::none(),
        seed,
    )
}

#[test]
fn dead_peer_detection_keeps_a_live_peer_and_acts_on_a_dead_one() {
    use ike_proto::v2::DpdAction;
    // A live peer answers R-U-THERE; nothing closes.
    let mut p = dpd_pair(DpdAction::Clear, 71);
    assert!(up(&mut p));
    let before = p.log.len();
    p.run_for(Duration::from_secs(300));
    let infos = p.log[before..]
        .iter()
        .filter(|s| s.payload.get(18) == Some(&5))
        .count();
    assert!(infos >= 8, "R-U-THERE and ACKs both ways: {infos}");
    assert!(closed(&p.events_a).is_none() && closed(&p.events_b).is_none());
    p.a.audit().unwrap();
    p.b.audit().unwrap();

    for action in [DpdAction::Clear, DpdAction::Restart, DpdAction::Trap] {
        let mut p = dpd_pair(action, 81);
        assert!(up(&mut p));
        // The peer dies.
        p.faults.loss = 1.0;
        assert!(
            p.run_until(Duration::from_secs(600), |p| closed(&p.events_a).is_some()),
            "{action:?}"
        );
        assert_eq!(closed(&p.events_a), Some(&CloseReason::Timeout));
        assert!(live(&p.events_a).is_empty());
        let restarted = p
            .events_a
            .iter()
            .any(|e| matches!(e, Event::IkeSaRestarting { .. }));
        let trapped = p
            .events_a
            .iter()
            .any(|e| matches!(e, Event::TrapInstall { .. }));
        assert_eq!(restarted, action == DpdAction::Restart, "{action:?}");
        assert_eq!(trapped, action == DpdAction::Trap, "{action:?}");
        // Restart: the new ISAKMP SA comes up once the peer is back.
        if action == DpdAction::Restart {
            p.faults.loss = 0.0;
            assert!(
                p.run_until(Duration::from_secs(600), |p| installs(&p.events_a).len()
                    == 2)
            );
        }
    }
}

/// The Child SAs each side holds at `t`: installed and not yet deleted, by inbound SPI.
fn live_at(events: &[Event]) -> std::collections::BTreeSet<u32> {
    live(events)
}

#[test]
fn quick_mode_rekeys_make_before_break_and_expire() {
    let a = Side {
        child_rekey: Some(Duration::from_secs(60)),
        child_life: Some(Duration::from_secs(90)),
        ..side(IKE, ESP)
    };
    let b = Side {
        child_life: Some(Duration::from_secs(90)),
        ..side(IKE, ESP)
    };
    let mut p = v1_pair(a, b, Faults::none(), 91);
    assert!(up(&mut p));
    // Over ten minutes: about ten rekeys; at every moment each side holds one or two pairs
    // (two only during the overlap), never none.
    for _ in 0..120 {
        p.run_for(Duration::from_secs(5));
        let (la, lb) = (live_at(&p.events_a), live_at(&p.events_b));
        assert!((1..=2).contains(&la.len()), "{la:?}");
        assert!((1..=2).contains(&lb.len()), "{lb:?}");
    }
    let rekeys = installs(&p.events_a).len();
    assert!((9..=12).contains(&rekeys), "{rekeys} installs");
    // The responder defers its new outbound SA of each rekey until the old pair is deleted.
    let b = installs(&p.events_b);
    assert!(b[0].outbound_after_delete.is_none());
    assert!(b[1..].iter().all(|c| c.outbound_after_delete.is_some()));
    check_crossed(&p);
    // The overlap ended: one pair each, the same one.
    p.run_for(Duration::from_secs(10));
    let (la, lb) = (live(&p.events_a), live(&p.events_b));
    assert_eq!(la.len(), 1, "{la:?}");
    assert_eq!(lb.len(), 1, "{lb:?}");
    let s = p.a.status(p.now());
    assert_eq!(s[0].children.len(), 1);
    assert!(s[0].children[0].rekey_in.is_some());
    p.a.audit().unwrap();
    p.b.audit().unwrap();
}

#[test]
fn an_sa_nobody_rekeys_expires_at_its_lifetime() {
    let a = Side {
        child_life: Some(Duration::from_secs(120)),
        ..side(IKE, ESP)
    };
    let b = Side {
        child_life: Some(Duration::from_secs(300)),
        ..side(IKE, ESP)
    };
    let mut p = v1_pair(a, b, Faults::none(), 93);
    assert!(up(&mut p));
    // The responder takes the initiator's shorter lifetime.
    assert_eq!(
        installs(&p.events_b)[0].expire_in,
        Some(Duration::from_secs(120))
    );
    p.run_for(Duration::from_secs(125));
    assert!(live(&p.events_a).is_empty() && live(&p.events_b).is_empty());
    // The ISAKMP SA stays.
    assert_eq!(p.a.sa_count(), 1);
}

#[test]
fn isakmp_reauthentication_keeps_the_ipsec_sas() {
    let a = Side {
        ike_rekey: Some(Duration::from_secs(100)),
        child_rekey: Some(Duration::from_secs(250)),
        child_life: Some(Duration::from_secs(300)),
        ..side(IKE, ESP)
    };
    let mut p = v1_pair(a, side(IKE, ESP), Faults::none(), 95);
    assert!(up(&mut p));
    let first = (p.a.handles_all()[0], p.b.handles_all()[0]);
    let child = installs(&p.events_a)[0].spi_in;
    p.run_for(Duration::from_secs(120));
    // One ISAKMP SA each, a new one; the IPsec SA is the same and still there.
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1));
    let now_h = (p.a.handles_all()[0], p.b.handles_all()[0]);
    assert_ne!(now_h.0, first.0);
    assert_ne!(now_h.1, first.1);
    assert_eq!(installs(&p.events_a).len(), 1, "no new Quick Mode");
    assert_eq!(live(&p.events_a), [child].into());
    assert_eq!(p.a.child_sas(now_h.0).len(), 1);
    assert_eq!(p.b.child_sas(now_h.1).len(), 1);
    for ev in [&p.events_a, &p.events_b] {
        assert!(ev.iter().any(|e| matches!(e, Event::IkeSaRekeyed { .. })));
    }
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Rekeyed));
    assert_eq!(closed(&p.events_b), Some(&CloseReason::DeletedByPeer));
    assert!(p
        .events_b
        .iter()
        .all(|e| !matches!(e, Event::ChildSaDelete { .. })));
    // The child rekey later runs on the new ISAKMP SA.
    p.run_for(Duration::from_secs(200));
    assert_eq!(installs(&p.events_a).len(), 2);
    check_crossed(&p);
    assert_eq!(live(&p.events_a).len(), 1);
    assert_eq!(live(&p.events_b).len(), 1);
    p.a.audit().unwrap();
    p.b.audit().unwrap();
}

#[test]
fn aggressive_mode_behind_a_nat_floats_at_message_3() {
    let mut pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, ESP),
    ));
    let mut pb = responder(side(IKE, ESP));
    pa.exchange = V1Exchange::main_or_aggressive(true);
    pb.exchange = V1Exchange::main_or_aggressive(true);
    pb.remote_addrs.clear();
    let mut p = pair_of(pa, pb, 57, 5);
    p.nat_in_front_of_a("192.0.2.7".parse().unwrap(), 61000);
    assert!(up(&mut p));
    check_crossed(&p);
    let ports: Vec<u16> = p
        .log
        .iter()
        .filter(|s| !s.is_keepalive())
        .map(|s| s.src.port())
        .collect();
    assert_eq!(&ports[..3], &[500, 500, 4500], "{ports:?}");
    assert_eq!(installs(&p.events_a)[0].encap.map(|e| e.0), Some(4500));
    assert_eq!(installs(&p.events_b)[0].encap.map(|e| e.0), Some(4500));
}

#[test]
fn a_shorter_responder_lifetime_is_announced_and_used_by_both() {
    let a = Side {
        child_life: Some(Duration::from_secs(600)),
        ..side(IKE, ESP)
    };
    let b = Side {
        child_life: Some(Duration::from_secs(120)),
        ..side(IKE, ESP)
    };
    let mut p = v1_pair(a, b, Faults::none(), 97);
    assert!(up(&mut p));
    // RESPONDER-LIFETIME (RFC 2407 §4.6.3.1) told the initiator.
    assert_eq!(
        installs(&p.events_a)[0].expire_in,
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        installs(&p.events_b)[0].expire_in,
        Some(Duration::from_secs(120))
    );
    p.run_for(Duration::from_secs(125));
    assert!(live(&p.events_a).is_empty() && live(&p.events_b).is_empty());
}

#[test]
fn a_quick_mode_whose_message_3_never_comes_is_undone() {
    let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), Faults::none(), 99);
    initiate(&mut p);
    // Up to Quick Mode message 2; then the network fails for the initiator's sends.
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 1)
    );
    p.faults.loss = 1.0;
    p.run_for(Duration::from_secs(120));
    // B installed at message 2 and removed the SA when message 3 never came.
    assert!(live(&p.events_b).is_empty(), "{:?}", live(&p.events_b));
    p.b.audit().unwrap();
}

#[test]
fn several_sas_in_one_quick_mode() {
    // Two children with the same selectors, one ESP and one AH: one Quick Mode with two SA
    // payloads (RFC 2409 §5.5), with PFS, two SA pairs on each side.
    let esp_pfs: &[&str] = &["aes128-sha256-modp2048"];
    let mut pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, esp_pfs),
    ));
    let mut pb = responder(side(IKE, esp_pfs));
    for p in [&mut pa, &mut pb] {
        let mut ah = p.children[0].clone();
        ah.name = "net-ah".to_owned();
        ah.esp_proposals.clear();
        ah.ah_proposals = vec![ike_proto::proposal::Proposal::parse_ah("sha256-modp2048").unwrap()];
        p.children.push(ah);
    }
    let mut p = pair_of(pa, pb, 101, 10);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(60), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    // One Quick Mode: Main Mode's 6 messages and Quick Mode's 3.
    assert_eq!(p.log.len(), 9);
    check_crossed(&p);
    let protocols: std::collections::BTreeSet<String> = installs(&p.events_a)
        .iter()
        .map(|c| c.proposal.clone())
        .collect();
    assert_eq!(
        protocols,
        [
            "aes128-sha256-modp2048".to_owned(),
            "ah:sha256-modp2048".to_owned()
        ]
        .into()
    );
    p.a.audit().unwrap();
    p.b.audit().unwrap();
}

/// Quick Mode message 1's length in a transport-mode exchange, with a NAT in front of A or not.
fn transport_qm1_len(nat: bool) -> usize {
    let t = Side {
        mode: ike_proto::v2::Mode::Transport,
        local_ts: &["10.77.0.1/32"],
        remote_ts: &["10.77.0.2/32"],
        ..side(IKE, ESP)
    };
    let pa = v1(peer("site-b", B, "a.example.org", "b.example.org", &t));
    let mut pb = v1(peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side {
            local_ts: &["10.77.0.2/32"],
            remote_ts: &["10.77.0.1/32"],
            ..t
        },
    ));
    pb.remote_addrs.clear();
    let mut p = pair_of(pa, pb, 111, 11);
    if nat {
        p.nat_in_front_of_a("192.0.2.7".parse().unwrap(), 61000);
    }
    assert!(up(&mut p));
    let a = installs(&p.events_a)[0];
    assert_eq!(a.mode, ike_proto::v2::Mode::Transport);
    assert_eq!(a.encap.is_some(), nat);
    p.log
        .iter()
        .find(|s| s.payload.get(18) == Some(&32))
        .unwrap()
        .payload
        .len()
}

#[test]
fn transport_mode_behind_a_nat_sends_nat_oa() {
    // Two NAT-OA payloads of 12 bytes make Quick Mode message 1 longer (it is encrypted; the
    // SAs coming up shows the responder took them).
    let (plain, natted) = (transport_qm1_len(false), transport_qm1_len(true));
    assert!(natted >= plain + 16, "{plain} {natted}");
}

/// Both ends rekey the same IPsec SA at the same moment (IKEv1 has no rekey notify: each
/// Quick Mode just names the same client IDs). Each end then holds the old pair and two new
/// ones; the new one whose Quick Mode had the lower nonce goes on both, so exactly one pair
/// remains, the same on both ends. Over seeds, each end's Quick Mode wins sometimes. Also
/// under loss, duplication and reordering.
#[test]
fn simultaneous_quick_mode_rekeys_end_with_one_pair() {
    let mut winners = std::collections::BTreeSet::new();
    for seed in 0..16u64 {
        let faults = if seed >= 10 {
            Faults {
                loss: 0.15,
                duplicate: 0.15,
                min_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(80),
            }
        } else {
            Faults::none()
        };
        let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), faults, 300 + seed);
        assert!(up(&mut p), "seed {seed}");
        let (ha, hb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
        let (spi_a, spi_b) = (
            installs(&p.events_a)[0].spi_in,
            installs(&p.events_b)[0].spi_in,
        );
        let now = p.now();
        p.a.rekey_child(now, ha, spi_a).unwrap();
        p.b.rekey_child(now, hb, spi_b).unwrap();
        // A second request while one is under way changes nothing.
        p.a.rekey_child(now, ha, spi_a).unwrap();
        p.run_for(Duration::from_secs(90));
        let (la, lb) = (p.a.child_sas(ha), p.b.child_sas(hb));
        assert_eq!((la.len(), lb.len()), (1, 1), "seed {seed}: {la:?} {lb:?}");
        assert_eq!((la[0].1, la[0].2), (lb[0].2, lb[0].1), "seed {seed}");
        assert_eq!(live(&p.events_a), [la[0].1].into(), "seed {seed}");
        assert_eq!(live(&p.events_b), [lb[0].1].into(), "seed {seed}");
        if seed < 10 {
            // The original, a's and b's: two of them deleted on each end.
            assert_eq!(installs(&p.events_a).len(), 3, "seed {seed}");
            assert_eq!(installs(&p.events_b).len(), 3, "seed {seed}");
        }
        assert_ne!(la[0].1, spi_a, "seed {seed}: the old SA survived");
        // Who started the surviving SA's Quick Mode: a if a's install of it has no deferred
        // outbound SA (a initiated it), else b.
        let a_started = installs(&p.events_a)
            .iter()
            .find(|c| c.spi_in == la[0].1)
            .is_some_and(|c| c.outbound_after_delete.is_none());
        winners.insert(a_started);
        check_crossed(&p);
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
    assert_eq!(winners.len(), 2, "one end won every time");
}

/// Both ends re-authenticate at the same moment: two new ISAKMP SAs, each end replacing the
/// old one with its own. The one with the lower cookie goes on both ends, its IPsec SAs moving
/// to the other: one ISAKMP SA remains, the same on both ends, and the IPsec SA is untouched.
#[test]
fn simultaneous_reauthentication_ends_with_one_isakmp_sa() {
    let mut kept = std::collections::BTreeSet::new();
    for seed in 0..12u64 {
        let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), Faults::none(), 400 + seed);
        assert!(up(&mut p), "seed {seed}");
        let (ha, hb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
        let child = installs(&p.events_a)[0].spi_in;
        let now = p.now();
        p.a.rekey_ike(now, ha).unwrap();
        p.b.rekey_ike(now, hb).unwrap();
        p.run_for(Duration::from_secs(60));
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1), "seed {seed}");
        let (na, nb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
        assert!(
            na != ha && nb != hb,
            "seed {seed}: the old ISAKMP SA survived"
        );
        assert_eq!(p.a.sa_spis(na), p.b.sa_spis(nb), "seed {seed}");
        assert_eq!(p.a.child_sas(na).len(), 1, "seed {seed}");
        assert_eq!(p.b.child_sas(nb).len(), 1, "seed {seed}");
        assert_eq!(
            installs(&p.events_a).len(),
            1,
            "seed {seed}: no new Quick Mode"
        );
        assert_eq!(live(&p.events_a), [child].into(), "seed {seed}");
        assert_eq!(live(&p.events_b).len(), 1, "seed {seed}");
        // Who initiated the survivor: a if a's cookie is the initiator's.
        let (i, _) = p.a.sa_spis(na).unwrap();
        let a_initiated = p.events_a.iter().any(
            |e| matches!(e, Event::IkeSaEstablished { spi_i, initiator: true, .. } if *spi_i == i),
        );
        kept.insert(a_initiated);
        // Still usable: a Quick Mode rekey over the survivor.
        let spi = p.a.child_sas(na)[0].1;
        let now = p.now();
        p.a.rekey_child(now, na, spi).unwrap();
        p.run_for(Duration::from_secs(20));
        assert_eq!(installs(&p.events_a).len(), 2, "seed {seed}");
        check_crossed(&p);
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
    assert_eq!(kept.len(), 2, "one end's ISAKMP SA won every time");
}

/// Both ends bring the connection up at once (both `start_action = "start"`): two ISAKMP SAs
/// and two IPsec SA pairs for the same child and selectors are negotiated. One ISAKMP SA goes
/// (the lower cookie's), and of the two IPsec SA pairs the one whose Quick Mode had the lower
/// nonce goes after the overlap; both ends pick the same, so one pair remains, crossed.
#[test]
fn both_ends_initiating_at_once_end_with_one_ipsec_sa_pair() {
    // With INITIAL-CONTACT (the first SAs with the peer) and without (as when an older SA with
    // the peer is still around, or after a restart of one end only).
    for (seed, contact) in (0..10u64).flat_map(|s| [(s, true), (s, false)]) {
        // Delays of 1 to 300 ms (reordering, no loss): the two handshakes interleave anyhow.
        let faults = Faults {
            loss: 0.0,
            ..Faults::lossy(0.0)
        };
        let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), faults, 600 + seed);
        let now = p.now();
        let (a, b) = (p.addr_a, p.addr_b);
        p.a.initiate_with(now, a, "site-b", contact).unwrap();
        p.b.initiate_with(now, b, "site-a", contact).unwrap();
        p.run_for(Duration::from_secs(60));
        let seed = format!("{seed} contact {contact}");
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (1, 1), "seed {seed}");
        let (na, nb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
        assert_eq!(p.a.sa_spis(na), p.b.sa_spis(nb), "seed {seed}");
        let (ca, cb) = (p.a.child_sas(na), p.b.child_sas(nb));
        assert_eq!((ca.len(), cb.len()), (1, 1), "seed {seed}: {ca:?} {cb:?}");
        assert_eq!(
            (ca[0].1, ca[0].2),
            (cb[0].2, cb[0].1),
            "seed {seed}: crossed"
        );
        assert_eq!(live(&p.events_a), [ca[0].1].into(), "seed {seed}");
        assert_eq!(live(&p.events_b), [cb[0].1].into(), "seed {seed}");
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
}

/// Local commands on IPsec SAs of an ISAKMP SA: a new Quick Mode for a configured child, a
/// Delete for one SA, and the typed errors for what does not exist.
#[test]
fn commands_create_and_delete_single_ipsec_sas() {
    let mut p = v1_pair(side(IKE, ESP), side(IKE, ESP), Faults::none(), 500);
    assert!(up(&mut p));
    let ha = p.a.handles_all()[0];
    let now = p.now();
    p.a.create_child(now, ha, "net").unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(installs(&p.events_b).len(), 2);
    let spi = installs(&p.events_a)[1].spi_in;
    let now = p.now();
    p.a.delete_child(now, ha, spi).unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(live(&p.events_a).len(), 1);
    assert_eq!(live(&p.events_b).len(), 1);
    let now = p.now();
    assert!(matches!(
        p.a.create_child(now, ha, "nosuch"),
        Err(ike_proto::v2::EngineError::UnknownChild(_))
    ));
    assert!(matches!(
        p.a.rekey_child(now, ha, spi),
        Err(ike_proto::v2::EngineError::UnknownChild(_))
    ));
    check_crossed(&p);
}

/// The legacy EC2N groups 3 and 4 (RFC 2409 §6.3, §6.4) in Phase 1 and as Quick Mode PFS,
/// when a connection names them.
#[test]
fn ec2n_groups_in_phase1_and_quick_mode_pfs() {
    for (ike, esp) in [
        (
            &["aes128-sha256-ec2n155"][..],
            &["aes128-sha256-ec2n185"][..],
        ),
        (&["aes128-sha1-ec2n185"][..], &["aes128-sha1"][..]),
    ] {
        let mut p = v1_pair(side(ike, esp), side(ike, esp), Faults::none(), 600);
        assert!(up(&mut p), "{ike:?} {esp:?}");
        check_crossed(&p);
        let s = p.a.status(p.now());
        let proposal = s[0].proposal.clone().unwrap_or_default();
        assert!(proposal.contains("ec2n"), "{proposal}");
    }
}

/// A private group (RFC 2409 §5.6, number 2^15 or more) that both ends know, named `group<N>`
/// in proposals: in Phase 1 and as Quick Mode PFS.
#[test]
fn a_private_group_in_phase1_and_quick_mode_pfs() {
    let cfg = || EndpointConfig {
        private_groups: vec![private_modp(40000)],
        ..EndpointConfig::default()
    };
    for (ike, esp) in [
        (
            &["aes128-sha256-modp2048"][..],
            &["aes128-sha256-group40000"][..],
        ),
        (&["aes128-sha256-group40000"][..], &["aes128-sha256"][..]),
    ] {
        let pa = v1(peer(
            "site-b",
            B,
            "a.example.org",
            "b.example.org",
            &side(ike, esp),
        ));
        let pb = responder(side(ike, esp));
        let mut p = pair_of_peers(cfg(), pa, pb, 610, Faults::none(), 610);
        assert!(up(&mut p), "{ike:?} {esp:?}");
        check_crossed(&p);
        let s = p.a.status(p.now());
        let text = format!(
            "{} {}",
            s[0].proposal.clone().unwrap_or_default(),
            installs(&p.events_a)[0].proposal
        );
        assert!(text.contains("group40000"), "{text}");
    }
    // Without the group configured on the responder, nothing is negotiated with it.
    let pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(&["aes128-sha256-group40000"], ESP),
    ));
    let pb = responder(side(&["aes128-sha256-group40000"], ESP));
    let ea = Endpoint::new(cfg(), vec![pa], Box::new(SeededRng::new(612))).unwrap();
    let eb = Endpoint::new(
        EndpointConfig::default(),
        vec![pb],
        Box::new(SeededRng::new(613)),
    )
    .unwrap();
    let mut p = Pair::new(
        ea,
        eb,
        A.parse().unwrap(),
        B.parse().unwrap(),
        Faults::none(),
        612,
    );
    assert!(!up(&mut p));
}

/// The EC2N group 3 of RFC 2409 §6.3 as New Group Mode parameters.
fn ec2n155_params() -> ike_proto::config::GroupParams {
    let h = |s: &str| hex::decode(s).unwrap();
    ike_proto::config::GroupParams::Ec2n {
        polynomial: h("0800000000000000000000004000000000000001"),
        a: vec![0],
        b: h("07338f"),
        gx: h("7b"),
        gy: Some(h("01c8")),
        order: h("0800000000000000000057db5698537193aef944"),
    }
}

/// An established pair whose endpoints both know private group 40000 (MODP) and whose child
/// uses it for PFS, so New Group Mode runs after Phase 1.
fn private_group_pair(seed: u64) -> Pair {
    let cfg = || EndpointConfig {
        private_groups: vec![private_modp(40000)],
        ..EndpointConfig::default()
    };
    let esp: &[&str] = &["aes128-sha256-group40000"];
    let pa = v1(peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &side(IKE, esp),
    ));
    let pb = responder(side(IKE, esp));
    let mut p = pair_of_peers(cfg(), pa, pb, seed, Faults::none(), seed);
    assert!(up(&mut p));
    p
}

/// New Group Mode (RFC 2409 §5.6): after Main Mode the initiator proposes the private group its
/// child's PFS names; the responder answers with the same SA; then the Quick Mode uses it.
#[test]
fn new_group_mode_then_a_quick_mode_in_the_group() {
    let p = private_group_pair(620);
    let kinds: Vec<u8> = p.log.iter().map(|m| m.payload[18]).collect();
    assert_eq!(kinds, [2, 2, 2, 2, 2, 2, 33, 32, 33, 32, 32], "{kinds:?}");
    check_crossed(&p);
    assert!(installs(&p.events_a)[0].proposal.contains("group40000"));
    // Under loss too.
    let cfg = || EndpointConfig {
        private_groups: vec![private_modp(40000)],
        ..EndpointConfig::default()
    };
    let esp: &[&str] = &["aes128-sha256-group40000"];
    for seed in 0..4u64 {
        let pa = v1(peer(
            "site-b",
            B,
            "a.example.org",
            "b.example.org",
            &side(IKE, esp),
        ));
        let pb = responder(side(IKE, esp));
        let ea = Endpoint::new(cfg(), vec![pa], Box::new(SeededRng::new(630 + seed))).unwrap();
        let eb = Endpoint::new(cfg(), vec![pb], Box::new(SeededRng::new(640 + seed))).unwrap();
        let faults = Faults {
            loss: 0.25,
            duplicate: 0.1,
            ..Faults::none()
        };
        let mut p = Pair::new(
            ea,
            eb,
            A.parse().unwrap(),
            B.parse().unwrap(),
            faults,
            630 + seed,
        );
        assert!(up(&mut p), "seed {seed}");
        p.a.audit().unwrap();
    }
}

/// New Group Mode refusals: each proposal below, protected with a right HASH(1), gets a
/// protected notify (an Informational, not a New Group Mode answer) and the ISAKMP SA and its
/// IPsec SA stay: a composite "prime", a reducible field polynomial, a generator off the
/// curve, a number below 2^15, and a number the responder uses for other parameters. A New
/// Group Mode without the HASH, or on an SA still in Main Mode, is dropped.
#[test]
fn new_group_mode_refusals() {
    use ike_proto::config::GroupParams;
    let mut p = private_group_pair(650);
    let (ha, hb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
    let mut composite = hex::decode(TEST_SAFE_PRIME).unwrap();
    // The safe prime with its last octet changed: odd, no longer prime (the refusal shows it).
    *composite.last_mut().unwrap() = 0x2d;
    let mut reducible = ec2n155_params();
    if let GroupParams::Ec2n { polynomial, .. } = &mut reducible {
        // x^155 + x^62 + x + 1 has the root 1: reducible.
        *polynomial.last_mut().unwrap() = 0x03;
    }
    let mut off_curve = ec2n155_params();
    if let GroupParams::Ec2n { gy, .. } = &mut off_curve {
        *gy = Some(vec![0x01, 0xc9]);
    }
    let cases: Vec<(u16, GroupParams)> = vec![
        (
            41000,
            GroupParams::Modp {
                prime: composite,
                generator: vec![2],
            },
        ),
        (41001, reducible),
        (41002, off_curve),
        (100, ec2n155_params()),
        (40000, ec2n155_params()),
    ];
    for (i, (number, params)) in cases.into_iter().enumerate() {
        let sa = ike_proto::proposal::v1::encode_new_group(number, &params);
        let m =
            p.a.v1_forge(ha, 33, 0x4000 + i as u32, &[(1, sa)], Some(true), true)
                .unwrap();
        let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
        p.b.handle_datagram(now, b, a, &m);
        let replies: Vec<u8> = std::iter::from_fn(|| p.b.poll_transmit())
            .map(|t| t.payload[18])
            .collect();
        assert_eq!(replies, [5], "case {i}: an Informational notify, no answer");
        assert!(p.b.is_established(hb) && p.b.child_sas(hb).len() == 1);
    }
    // The valid EC2N group 3 under a new number is agreed (an answer of type 33).
    let sa = ike_proto::proposal::v1::encode_new_group(41003, &ec2n155_params());
    let m =
        p.a.v1_forge(ha, 33, 0x5000, &[(1, sa.clone())], Some(true), true)
            .unwrap();
    let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
    p.b.handle_datagram(now, b, a, &m);
    let replies: Vec<u8> = std::iter::from_fn(|| p.b.poll_transmit())
        .map(|t| t.payload[18])
        .collect();
    assert_eq!(replies, [33]);
    // No HASH: dropped without an answer.
    let m =
        p.a.v1_forge(ha, 33, 0x5001, &[(1, sa.clone())], None, true)
            .unwrap();
    p.b.handle_datagram(now, b, a, &m);
    assert!(p.b.poll_transmit().is_none());
    p.b.audit().unwrap();
}
