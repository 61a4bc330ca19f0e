//! NAT traversal (RFC 7296 §2.23, RFC 3948) and dead peer detection (§2.4) through the simulated
//! network, with a NAPT in front of the initiator where the scenario wants one: detection on both
//! sides, the float to UDP 4500 with the non-ESP marker, UDP-encapsulated Child SAs, keepalives,
//! forced encapsulation, NAT rebinding, forged datagrams, and the dead peer actions.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::*;

use ike_crypto::rng::SeededRng;
use ike_proto::v2::{
    CloseReason, DpdAction, Endpoint, EndpointConfig, Event, PeerConfig, SaHandle,
};
use ike_testkit::sim::{Faults, Pair, Sent};
use ike_wire::v2::{ExchangeType, Header, Message};

const A: &str = "10.77.0.1:500";
const PUBLIC: &str = "192.0.2.1";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// `a` initiates to `b`, which accepts the connection from any address (a road warrior's
/// responder, as a NAT hides the initiator's address).
fn build(
    seed: u64,
    tune_a: impl FnOnce(&mut PeerConfig),
    tune_b: impl FnOnce(&mut PeerConfig),
) -> Pair {
    build_with(seed, EndpointConfig::default(), tune_a, tune_b)
}

fn build_with(
    seed: u64,
    cfg: EndpointConfig,
    tune_a: impl FnOnce(&mut PeerConfig),
    tune_b: impl FnOnce(&mut PeerConfig),
) -> Pair {
    let mut pa = peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &Side::default(),
    );
    let mut pb = peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side::responder(),
    );
    pb.remote_addrs.clear();
    tune_a(&mut pa);
    tune_b(&mut pb);
    let ea = Endpoint::new(
        cfg.clone(),
        vec![pa],
        Box::new(SeededRng::new(seed * 2 + 1)),
    )
    .unwrap();
    let eb = Endpoint::new(cfg, vec![pb], Box::new(SeededRng::new(seed * 2 + 2))).unwrap();
    Pair::new(ea, eb, sa(A), sa(B), Faults::none(), seed)
}

fn natted(seed: u64) -> Pair {
    let mut p = build(seed, |_| {}, |_| {});
    p.nat_in_front_of_a(PUBLIC.parse().unwrap(), 61000);
    p
}

fn establish(p: &mut Pair) -> (SaHandle, SaHandle) {
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

fn header(s: &Sent) -> Option<Header> {
    if s.is_keepalive() {
        return None;
    }
    Message::decode(&s.payload).ok().map(|m| m.header)
}

fn keepalives_from(p: &Pair, ip: &str, since: Duration) -> Vec<Duration> {
    let ip: IpAddr = ip.parse().unwrap();
    p.log
        .iter()
        .filter(|s| s.at >= since && s.src.ip() == ip && s.is_keepalive())
        .map(|s| s.at)
        .collect()
}

/// Liveness checks (empty INFORMATIONAL requests) sent from `ip`, by time.
fn informational_requests_from(p: &Pair, ip: &str, since: Duration) -> Vec<Duration> {
    let ip: IpAddr = ip.parse().unwrap();
    p.log
        .iter()
        .filter(|s| s.at >= since && s.src.ip() == ip)
        .filter(|s| {
            header(s)
                .is_some_and(|h| h.exchange == ExchangeType::Informational && !h.flags.response())
        })
        .map(|s| s.at)
        .collect()
}

fn closes(events: &[Event]) -> Vec<(SaHandle, CloseReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaClosed { sa, reason, .. } => Some((*sa, reason.clone())),
            _ => None,
        })
        .collect()
}

fn address_changes(events: &[Event]) -> Vec<SocketAddr> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::AddressChanged { remote, .. } => Some(*remote),
            _ => None,
        })
        .collect()
}

#[test]
fn without_a_nat_everything_stays_on_port_500_and_no_keepalives() {
    let mut p = build(1, |_| {}, |_| {});
    let (a, b) = establish(&mut p);
    p.run_for(Duration::from_secs(120));
    assert!(p
        .log
        .iter()
        .all(|s| s.src.port() == 500 && s.dst.port() == 500 && !s.non_esp_marker));
    assert_eq!(p.log.len(), 4, "four IKE messages, no keepalives");
    for c in installs(&p.events_a)
        .into_iter()
        .chain(installs(&p.events_b))
    {
        assert_eq!(c.encap, None);
    }
    let (pa, pb) = (p.a.sa_path(a).unwrap(), p.b.sa_path(b).unwrap());
    assert!(!pa.udp_encap() && !pb.udp_encap());
    assert_eq!((pa.remote, pb.remote), (sa(B), sa(A)));
}

#[test]
fn nat_in_front_of_the_initiator_floats_to_4500_and_encapsulates() {
    let mut p = natted(2);
    let (a, b) = establish(&mut p);
    let (pa, pb) = (p.a.sa_path(a).unwrap(), p.b.sa_path(b).unwrap());
    assert!(pa.nat_local && !pa.nat_remote && !pa.nat_faked);
    assert!(!pb.nat_local && pb.nat_remote && !pb.nat_faked);
    // a's port 500 was mapped first, its port 4500 second.
    assert_eq!(pa.local, sa("10.77.0.1:4500"));
    assert_eq!(pa.remote, sa("10.77.0.2:4500"));
    assert_eq!(pb.local, sa("10.77.0.2:4500"));
    assert_eq!(pb.remote, sa("192.0.2.1:61001"));

    // IKE_SA_INIT on 500, IKE_AUTH on 4500 with the marker, the response to the NAT's port.
    let wire: Vec<(SocketAddr, SocketAddr, bool, ExchangeType)> = p
        .log
        .iter()
        .map(|s| (s.src, s.dst, s.non_esp_marker, header(s).unwrap().exchange))
        .collect();
    assert_eq!(
        wire,
        vec![
            (sa(A), sa(B), false, ExchangeType::IkeSaInit),
            (sa(B), sa("192.0.2.1:61000"), false, ExchangeType::IkeSaInit),
            (
                sa("10.77.0.1:4500"),
                sa("10.77.0.2:4500"),
                true,
                ExchangeType::IkeAuth
            ),
            (
                sa("10.77.0.2:4500"),
                sa("192.0.2.1:61001"),
                true,
                ExchangeType::IkeAuth
            ),
        ]
    );
    assert_eq!(
        p.esp_received, 0,
        "every IKE message on 4500 had its marker"
    );

    let (ca, cb) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
    assert_eq!(ca.encap, Some((4500, 4500)));
    assert_eq!(
        (ca.local, ca.remote),
        (sa("10.77.0.1:4500"), sa("10.77.0.2:4500"))
    );
    assert_eq!(cb.encap, Some((4500, 61001)));
    assert_eq!(
        (cb.local, cb.remote),
        (sa("10.77.0.2:4500"), sa("192.0.2.1:61001"))
    );
}

#[test]
fn keepalives_every_20_s_while_idle_and_none_while_other_traffic_flows() {
    let mut p = natted(3);
    establish(&mut p);
    let auth_sent = p.log[2].at;
    p.run_for(Duration::from_secs(101));
    let ka = keepalives_from(&p, "10.77.0.1", Duration::ZERO);
    assert_eq!(ka.len(), 5, "{ka:?}");
    assert_eq!(ka[0], auth_sent + Duration::from_secs(20));
    for w in ka.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_secs(20));
    }
    assert!(
        keepalives_from(&p, "10.77.0.2", Duration::ZERO).is_empty(),
        "b is not behind a NAT"
    );
    assert_eq!(p.keepalives_received, (0, 5));
    for s in p.log.iter().filter(|s| s.is_keepalive()) {
        assert_eq!((s.src, s.dst), (sa("10.77.0.1:4500"), sa("10.77.0.2:4500")));
    }
    // A liveness check every 10 s is traffic enough: no keepalive for a minute.
    let busy = p.elapsed();
    let h = p.a.established()[0];
    for _ in 0..6 {
        let now = p.now();
        p.a.check_liveness(now, h).unwrap();
        p.run_for(Duration::from_secs(10));
    }
    assert!(keepalives_from(&p, "10.77.0.1", busy).is_empty());
    assert_eq!(informational_requests_from(&p, "10.77.0.1", busy).len(), 6);
    // Idle again: they resume 20 s after the last message.
    p.run_for(Duration::from_secs(15));
    assert_eq!(keepalives_from(&p, "10.77.0.1", busy).len(), 1);
}

#[test]
fn forced_encapsulation_without_a_nat_from_either_side() {
    for forcing_a in [true, false] {
        let mut p = if forcing_a {
            build(4, |a| a.encap = true, |_| {})
        } else {
            build(4, |_| {}, |b| b.encap = true)
        };
        let (a, b) = establish(&mut p);
        let (pa, pb) = (p.a.sa_path(a).unwrap(), p.b.sa_path(b).unwrap());
        assert!(!pa.nat_local && !pb.nat_local, "no real NAT");
        if forcing_a {
            assert!(pa.nat_faked && !pa.nat_remote && pb.nat_remote);
        } else {
            assert!(pb.nat_faked && pa.nat_remote && !pb.nat_remote);
        }
        assert_eq!(
            (pa.local, pa.remote),
            (sa("10.77.0.1:4500"), sa("10.77.0.2:4500"))
        );
        assert_eq!(
            (pb.local, pb.remote),
            (sa("10.77.0.2:4500"), sa("10.77.0.1:4500"))
        );
        assert_eq!(installs(&p.events_a)[0].encap, Some((4500, 4500)));
        assert_eq!(installs(&p.events_b)[0].encap, Some((4500, 4500)));
        assert!(p.log[2..].iter().all(|s| s.non_esp_marker));
        // A faked NAT has no mapping to keep open.
        p.run_for(Duration::from_secs(100));
        assert_eq!(p.log.len(), 4, "forcing a: {forcing_a}");
    }
}

#[test]
fn after_nat_rebinding_the_responder_follows_the_next_authenticated_message() {
    let mut p = natted(5);
    let (a, b) = establish(&mut p);
    p.rebind_nat(62000);
    // A keepalive makes the new mapping (192.0.2.1:62000) but proves nothing: b stays.
    p.run_for(Duration::from_secs(25));
    assert_eq!(p.keepalives_received.1, 1);
    assert_eq!(p.b.sa_path(b).unwrap().remote, sa("192.0.2.1:61001"));
    // a's liveness check is authenticated: b moves, and answers at the new address.
    let now = p.now();
    p.a.check_liveness(now, a).unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.b.sa_path(b).unwrap().remote, sa("192.0.2.1:62000"));
    assert_eq!(address_changes(&p.events_b), vec![sa("192.0.2.1:62000")]);
    let last = p.log.last().unwrap();
    assert_eq!(
        (last.src, last.dst),
        (sa("10.77.0.2:4500"), sa("192.0.2.1:62000"))
    );
    assert!(header(last).unwrap().flags.response());
    // a, behind the NAT, changes nothing.
    assert_eq!(p.a.sa_path(a).unwrap().remote, sa("10.77.0.2:4500"));
    assert!(address_changes(&p.events_a).is_empty());
    // b's own requests now reach a through the new mapping.
    let before = p.log.len();
    let now = p.now();
    p.b.check_liveness(now, b).unwrap();
    p.run_for(Duration::from_secs(30));
    let exchange: Vec<(SocketAddr, SocketAddr)> = p.log[before..]
        .iter()
        .filter(|s| !s.is_keepalive())
        .map(|s| (s.src, s.dst))
        .collect();
    assert_eq!(
        exchange,
        vec![
            (sa("10.77.0.2:4500"), sa("192.0.2.1:62000")),
            (sa("10.77.0.1:4500"), sa("10.77.0.2:4500")),
        ],
        "one request, one response, no retransmission"
    );
    assert!(p.a.is_established(a) && p.b.is_established(b));
    assert!(closes(&p.events_a).is_empty() && closes(&p.events_b).is_empty());
}

#[test]
fn forged_datagrams_from_another_address_do_not_move_the_sa() {
    let mut p = natted(6);
    let (a, b) = establish(&mut p);
    let now = p.now();
    p.a.check_liveness(now, a).unwrap();
    p.run_for(Duration::from_secs(1));
    let request = p
        .log
        .iter()
        .rev()
        .find(|s| {
            header(s)
                .is_some_and(|h| h.exchange == ExchangeType::Informational && !h.flags.response())
        })
        .unwrap()
        .payload
        .clone();
    let attacker = sa("198.51.100.66:4500");
    // The next message ID with a broken ICV, and a replay of the answered request.
    // Octet 23 is the low octet of the message ID (RFC 7296 §3.1).
    let mut tampered = request.clone();
    tampered[23] = tampered[23].wrapping_add(1);
    let n = tampered.len();
    tampered[n - 1] ^= 0x55;
    let mut next_mid = request.clone();
    next_mid[23] = next_mid[23].wrapping_add(1);
    let before = p.log.len();
    p.inject(attacker, sa("10.77.0.2:4500"), tampered);
    p.inject(attacker, sa("10.77.0.2:4500"), next_mid);
    p.inject(attacker, sa("10.77.0.2:4500"), request);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.b.sa_path(b).unwrap().remote, sa("192.0.2.1:61001"));
    assert!(address_changes(&p.events_b).is_empty());
    // Only the replay got an answer: the cached response, to where the replay came from.
    let answers: Vec<&Sent> = p.log[before..]
        .iter()
        .filter(|s| s.src.ip() != attacker.ip())
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].dst, attacker);
    // The SA still talks to the real peer.
    let before = p.log.len();
    let now = p.now();
    p.b.check_liveness(now, b).unwrap();
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.log[before].dst, sa("192.0.2.1:61001"));
    assert_eq!(p.log.len(), before + 2);
    assert!(p.b.is_established(b));
}

#[test]
fn keepalives_handed_to_the_engine_are_ignored() {
    let mut p = build(7, |_| {}, |_| {});
    let now = p.now();
    p.b.handle_datagram(now, sa("10.77.0.2:4500"), sa(A), &[0xff]);
    assert_eq!(p.b.stats().drops.total(), 0);
    assert!(p.b.poll_transmit().is_none());
}

#[test]
fn idle_sa_with_dpd_delay_checks_liveness_every_30_s_and_stays_up() {
    let mut p = build(8, |a| a.dpd_delay = Some(Duration::from_secs(30)), |_| {});
    let (a, _) = establish(&mut p);
    let up = p.elapsed();
    p.run_for(Duration::from_secs(100));
    let checks = informational_requests_from(&p, "10.77.0.1", Duration::ZERO);
    assert_eq!(checks.len(), 3, "{checks:?}");
    // 30 s after the last message from b: the IKE_AUTH response, then each check's response
    // (20 ms round trip).
    assert_eq!(checks[0], up + Duration::from_secs(30));
    for w in checks.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_millis(30_020));
    }
    assert!(p.a.is_established(a));
    assert!(closes(&p.events_a).is_empty());
    assert_eq!(
        p.log.len(),
        4 + 6,
        "three checks answered, nothing retransmitted"
    );
    assert!(
        informational_requests_from(&p, "10.77.0.2", Duration::ZERO).is_empty(),
        "b has no dpd_delay"
    );
}

#[test]
fn traffic_from_the_peer_postpones_the_liveness_check() {
    let mut p = build(9, |a| a.dpd_delay = Some(Duration::from_secs(30)), |_| {});
    let (_, b) = establish(&mut p);
    // b's own liveness checks every 20 s are signs of life for a.
    for _ in 0..4 {
        p.run_for(Duration::from_secs(20));
        let now = p.now();
        p.b.check_liveness(now, b).unwrap();
    }
    p.run_for(Duration::from_secs(1));
    assert!(informational_requests_from(&p, "10.77.0.1", Duration::ZERO).is_empty());
}

/// Establishes with `action`, kills the network, and runs until `a` gives up.
fn dead_peer(action: DpdAction, seed: u64) -> (Pair, SaHandle) {
    let mut p = build(
        seed,
        |a| {
            a.dpd_delay = Some(Duration::from_secs(30));
            a.dpd_action = action;
        },
        |_| {},
    );
    let (a, _) = establish(&mut p);
    p.faults.loss = 1.0;
    let dead = p.elapsed();
    assert!(
        p.run_until(Duration::from_secs(600), |p| !closes(&p.events_a)
            .is_empty())
    );
    assert_eq!(closes(&p.events_a), vec![(a, CloseReason::Timeout)]);
    // The check at 30 s, then the default back-off's give-up about 83 s later.
    let gave_up = p.elapsed() - dead;
    assert!(
        gave_up > Duration::from_secs(110) && gave_up < Duration::from_secs(120),
        "{gave_up:?}"
    );
    assert!(p
        .events_a
        .iter()
        .any(|e| matches!(e, Event::ChildSaDelete { sa, .. } if *sa == a)));
    (p, a)
}

#[test]
fn dead_peer_with_clear_closes() {
    let (mut p, _) = dead_peer(DpdAction::Clear, 10);
    let closed_at = p.log.len();
    assert_eq!(p.a.sa_count(), 0);
    p.faults.loss = 0.0;
    p.run_for(Duration::from_secs(60));
    assert_eq!(p.log.len(), closed_at, "nothing more");
    assert!(!p
        .events_a
        .iter()
        .any(|e| matches!(e, Event::TrapInstall { .. })));
}

#[test]
fn dead_peer_with_trap_asks_for_trap_policies() {
    let (p, a) = dead_peer(DpdAction::Trap, 11);
    assert_eq!(p.a.sa_count(), 0);
    let close = p
        .events_a
        .iter()
        .position(|e| matches!(e, Event::IkeSaClosed { .. }))
        .unwrap();
    let trap = p
        .events_a
        .iter()
        .position(|e| matches!(e, Event::TrapInstall { sa, connection } if *sa == a && connection == "site-b"))
        .unwrap();
    assert_eq!(trap, close + 1, "the trap follows the close");
}

#[test]
fn dead_peer_with_restart_initiates_again_and_establishes_when_the_network_is_back() {
    let (mut p, old) = dead_peer(DpdAction::Restart, 12);
    // Closed, and a fresh IKE_SA_INIT left at once.
    assert_eq!(p.a.sa_count(), 1);
    let last = p.log.last().unwrap();
    let h = header(last).unwrap();
    assert_eq!(h.exchange, ExchangeType::IkeSaInit);
    assert!(!h.flags.response() && h.message_id == 0);
    assert_eq!((last.src, last.dst), (sa(A), sa(B)));
    assert!(p.a.established().is_empty());
    p.faults.loss = 0.0;
    assert!(
        p.run_until(Duration::from_secs(30), |p| installs(&p.events_a).len()
            == 2)
    );
    let new = p.a.established();
    assert_eq!(new.len(), 1);
    assert_ne!(new[0], old);
    let again = p
        .events_a
        .iter()
        .filter(|e| matches!(e, Event::IkeSaEstablished { sa, connection, .. } if *sa == new[0] && connection == "site-b"))
        .count();
    assert_eq!(again, 1);
    // The driver heard of the restart when it began, under the new SA's handle.
    let restarts: Vec<_> = p
        .events_a
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaRestarting { sa, connection } => Some((*sa, connection.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(restarts, vec![(new[0], "site-b".to_owned())]);
    assert_eq!(installs(&p.events_a)[1].sa, new[0]);
    // INITIAL_CONTACT in the new IKE_AUTH makes b drop the SA it kept for the dead one.
    assert_eq!(p.b.established().len(), 1);
    assert_eq!(closes(&p.events_b).len(), 1);
}

#[test]
fn dead_peer_behind_a_nat_restarts_on_port_500() {
    let mut p = build(
        13,
        |a| {
            a.dpd_delay = Some(Duration::from_secs(30));
            a.dpd_action = DpdAction::Restart;
        },
        |_| {},
    );
    p.nat_in_front_of_a(PUBLIC.parse().unwrap(), 61000);
    let (a, _) = establish(&mut p);
    assert_eq!(p.a.sa_path(a).unwrap().local.port(), 4500);
    p.faults.loss = 1.0;
    assert!(
        p.run_until(Duration::from_secs(600), |p| !closes(&p.events_a)
            .is_empty())
    );
    let last = p.log.last().unwrap();
    assert_eq!((last.src, last.dst), (sa(A), sa(B)));
    p.faults.loss = 0.0;
    assert!(
        p.run_until(Duration::from_secs(30), |p| installs(&p.events_a).len()
            == 2)
    );
    let new = p.a.established()[0];
    assert_eq!(p.a.sa_path(new).unwrap().local, sa("10.77.0.1:4500"));
    assert_eq!(installs(&p.events_a)[1].encap, Some((4500, 4500)));
}

#[test]
fn authenticated_messages_from_a_new_address_move_only_an_sa_whose_peer_is_natted() {
    // a is behind the NAT (and the original initiator), or there is no NAT at all: in neither
    // case may a move when b's genuine request arrives from elsewhere (§2.23).
    for nat in [true, false] {
        let mut p = if nat {
            natted(14)
        } else {
            build(14, |_| {}, |_| {})
        };
        let (a, b) = establish(&mut p);
        let before = p.a.sa_path(a).unwrap();
        let now = p.now();
        p.b.check_liveness(now, b).unwrap();
        let request = p.b.poll_transmit().unwrap();
        let elsewhere = sa("203.0.113.9:4500");
        p.a.handle_datagram(now, before.local, elsewhere, &request.payload);
        let answer = p.a.poll_transmit().unwrap();
        assert_eq!(
            (answer.local, answer.remote),
            (before.local, elsewhere),
            "§2.11"
        );
        assert!(answer.non_esp_marker);
        assert_eq!(p.a.sa_path(a).unwrap(), before, "nat: {nat}");
        assert!(p.a.poll_event().is_none());
    }
}

#[test]
fn rekeyed_sas_behind_a_nat_stay_encapsulated() {
    let mut p = natted(15);
    let (a, _) = establish(&mut p);
    let now = p.now();
    p.a.rekey_ike(now, a).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| closes(&p.events_a).len() == 1
            && p.a.established().len() == 1)
    );
    let new = p.a.established()[0];
    assert_ne!(new, a);
    let path = p.a.sa_path(new).unwrap();
    assert!(path.nat_local && path.local.port() == 4500);
    let spi = p.a.child_sas(new)[0].1;
    let now = p.now();
    p.a.rekey_child(now, new, spi).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    assert_eq!(installs(&p.events_a)[1].encap, Some((4500, 4500)));
    assert_eq!(installs(&p.events_b)[1].encap, Some((4500, 61001)));
    assert!(p.log[2..]
        .iter()
        .all(|s| s.non_esp_marker || s.is_keepalive()));
    assert_eq!(p.esp_received, 0);
}

/// Over many seeds, with 20% loss, duplicates and reordering through the NAT: every run ends
/// established or timed out, and an established one is encapsulated on both sides with the
/// NAT's port, every IKE message on 4500 carried its marker.
#[test]
fn lossy_networks_through_a_nat_establish_encapsulated_or_fail_with_a_reason() {
    let mut up = 0;
    for seed in 100..130u64 {
        let mut p = natted(seed);
        p.faults = Faults::lossy(0.2);
        initiate(&mut p);
        let settled = p.run_until(Duration::from_secs(300), |p| {
            (installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1)
                || !closes(&p.events_a).is_empty()
        });
        assert!(settled, "seed {seed}");
        if let Some((_, reason)) = closes(&p.events_a).first() {
            assert_eq!(reason, &CloseReason::Timeout, "seed {seed}");
            continue;
        }
        up += 1;
        assert_eq!(
            installs(&p.events_a)[0].encap,
            Some((4500, 4500)),
            "seed {seed}"
        );
        assert_eq!(
            installs(&p.events_b)[0].encap,
            Some((4500, 61001)),
            "seed {seed}"
        );
        assert_eq!(installs(&p.events_b).len(), 1, "seed {seed}");
        assert_eq!(p.esp_received, 0, "seed {seed}");
    }
    assert!(up >= 24, "only {up} of 30 established");
}

#[test]
fn fragmented_ike_auth_floats_through_the_nat_with_a_marker_on_every_fragment() {
    let cfg = EndpointConfig {
        fragment_size: 200,
        ..EndpointConfig::default()
    };
    let mut p = build_with(16, cfg, |_| {}, |_| {});
    p.nat_in_front_of_a(PUBLIC.parse().unwrap(), 61000);
    establish(&mut p);
    assert!(p.log.len() > 4, "IKE_AUTH went in fragments");
    for s in &p.log[2..] {
        assert!(s.non_esp_marker);
        assert!(s.payload.len() <= 200);
        assert!(
            (s.src, s.dst) == (sa("10.77.0.1:4500"), sa("10.77.0.2:4500"))
                || (s.src, s.dst) == (sa("10.77.0.2:4500"), sa("192.0.2.1:61001"))
        );
    }
    assert_eq!(p.esp_received, 0);
    assert_eq!(installs(&p.events_b)[0].encap, Some((4500, 61001)));
}
