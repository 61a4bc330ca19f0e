//! The endpoint's SA table and timer queue, through the simulated network: timers fire at their
//! virtual time for hundreds of SAs with random lifetimes (against a model computed from the
//! events), the admission counters and indexes equal a recount after random sequences of
//! creations, failures, expiries and deletes (`Endpoint::audit`, a walk), and INITIAL_CONTACT is
//! about the pair of identities, not the connection.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;

use ike_crypto::rng::SeededRng;
use ike_proto::v2::{
    CloseReason, DeletingReason, Endpoint, EndpointConfig, Event, PeerConfig, SaHandle,
};
use ike_testkit::sim::{Dice, Faults, Pair};
use proptest::prelude::*;

/// Established and deleting times of a's IKE SAs, stamped with the virtual time of the step
/// that produced each event.
#[derive(Default)]
struct Stamps {
    established: HashMap<SaHandle, (Instant, String)>,
    deleting: HashMap<SaHandle, (Instant, Duration)>,
}

impl Stamps {
    fn take(&mut self, events: &[Event], now: Instant) {
        for e in events {
            match e {
                Event::IkeSaEstablished { sa, connection, .. } => {
                    self.established.insert(*sa, (now, connection.clone()));
                }
                Event::IkeSaDeleting {
                    sa,
                    reason: DeletingReason::HardLifetime(life),
                    ..
                } => {
                    assert!(
                        self.deleting.insert(*sa, (now, *life)).is_none(),
                        "{sa:?} expired twice"
                    );
                }
                _ => {}
            }
        }
    }
}

/// Runs the pair for `d` of virtual time, one event of a at a time, stamping each.
fn advance(p: &mut Pair, d: Duration, stamps: &mut Stamps) {
    let end = p.now() + d;
    for _ in 0..1_000_000 {
        let seen = p.events_a.len();
        let left = end.saturating_duration_since(p.now());
        p.run_until(left, |p| p.events_a.len() > seen);
        stamps.take(&p.events_a[seen..], p.now());
        if p.now() >= end || p.events_a.len() == seen {
            return;
        }
    }
    panic!("advance did not end");
}

fn site(name: &str, life: Duration) -> PeerConfig {
    let mut c = peer(name, B, "a.example.org", "b.example.org", &Side::default());
    c.children.clear();
    c.life_time = Some(life);
    c
}

/// Hundreds of IKE SAs over 25 connections with random hard lifetimes, established at random
/// virtual times: each is deleted exactly when its lifetime has passed (the model: established
/// time plus its connection's `life_time`), never earlier or later, and the endpoint's next
/// timeout is never later than the next expiry the model knows of.
#[test]
fn hard_lifetimes_fire_at_their_virtual_time_for_hundreds_of_sas() {
    for seed in [3u64, 11] {
        let mut dice = Dice::new(seed);
        let lives: Vec<Duration> = (0..25)
            .map(|_| Duration::from_secs(60 + dice.next_u64() % 540))
            .collect();
        let conns: Vec<PeerConfig> = lives
            .iter()
            .enumerate()
            .map(|(i, l)| site(&format!("c{i}"), *l))
            .collect();
        let life_of: HashMap<String, Duration> = conns
            .iter()
            .map(|c| (c.name.clone(), c.life_time.unwrap()))
            .collect();
        let a = Endpoint::new(
            EndpointConfig::default(),
            conns,
            Box::new(SeededRng::new(seed)),
        )
        .unwrap();
        let b = Endpoint::new(
            EndpointConfig::default(),
            vec![peer(
                "site-a",
                A,
                "b.example.org",
                "a.example.org",
                &Side::responder(),
            )],
            Box::new(SeededRng::new(seed + 100)),
        )
        .unwrap();
        let mut p = Pair::new(
            a,
            b,
            A.parse().unwrap(),
            B.parse().unwrap(),
            Faults::none(),
            seed,
        );
        let mut stamps = Stamps::default();
        // The first SA alone: it carries INITIAL_CONTACT.
        let (now, addr) = (p.now(), p.addr_a);
        p.a.initiate(now, addr, "c0").unwrap();
        advance(&mut p, Duration::from_secs(1), &mut stamps);
        assert_eq!(stamps.established.len(), 1);
        const SAS: usize = 300;
        for _ in 1..SAS {
            let c = dice.next_u64() % 25;
            let (now, addr) = (p.now(), p.addr_a);
            p.a.initiate(now, addr, &format!("c{c}")).unwrap();
            let pause = Duration::from_millis(dice.next_u64() % 2000);
            advance(&mut p, pause, &mut stamps);
        }
        let mut checks = 0;
        while stamps.deleting.len() < SAS {
            let before = p.now();
            advance(&mut p, Duration::from_secs(7), &mut stamps);
            // The model's next expiry, and the engine's next timer.
            let next_expiry = stamps
                .established
                .iter()
                .filter(|(h, _)| !stamps.deleting.contains_key(h))
                .map(|(_, (at, c))| *at + life_of[c])
                .min();
            if let (Some(model), Some(engine)) = (next_expiry, p.a.poll_timeout()) {
                assert!(engine <= model, "seed {seed}: a timer was lost");
            }
            assert!(
                next_expiry.is_none() || p.a.poll_timeout().is_some(),
                "seed {seed}: no timer armed but SAs are due to expire"
            );
            if checks % 10 == 0 {
                p.a.audit().unwrap();
                p.b.audit().unwrap();
            }
            checks += 1;
            assert!(p.now() > before || stamps.deleting.len() == SAS);
            assert!(checks < 1000, "seed {seed}: the SAs never all expired");
        }
        assert_eq!(stamps.established.len(), SAS, "seed {seed}");
        assert_eq!(stamps.deleting.len(), SAS, "seed {seed}");
        for (h, (at, conn)) in &stamps.established {
            let (deleted_at, life) = stamps.deleting[h];
            assert_eq!(life, life_of[conn], "seed {seed}: {h:?}");
            assert_eq!(deleted_at, *at + life, "seed {seed}: {h:?} of {conn}");
        }
        // The peer answered every Delete: nothing is left on either side.
        advance(&mut p, Duration::from_secs(5), &mut stamps);
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (0, 0), "seed {seed}");
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// a initiates an IKE SA.
    Initiate,
    /// a copy of a's last IKE_SA_INIT request arrives at b from another address (a half-open
    /// SA whose answers go nowhere).
    Spoof(u8),
    /// Virtual time passes (retransmissions, give-ups, half-open expiry).
    Run(u32),
    /// a deletes one of its IKE SAs.
    DeleteA(usize),
    /// b deletes one of its IKE SAs.
    DeleteB(usize),
    /// a rekeys one of its IKE SAs.
    RekeyA(usize),
    /// a rekeys one of its Child SAs.
    RekeyChildA(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Initiate),
        3 => (0u8..6).prop_map(Op::Spoof),
        4 => (0u32..40_000).prop_map(Op::Run),
        1 => any::<usize>().prop_map(Op::DeleteA),
        1 => any::<usize>().prop_map(Op::DeleteB),
        1 => any::<usize>().prop_map(Op::RekeyA),
        1 => any::<usize>().prop_map(Op::RekeyChildA),
    ]
}

fn pick(handles: Vec<SaHandle>, i: usize) -> Option<SaHandle> {
    (!handles.is_empty()).then(|| handles[i % handles.len()])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// After any sequence of creations, failures (loss, give-ups), half-open expiries, rekeys
    /// and deletes, the counters and indexes both endpoints keep incrementally equal a recount
    /// by a walk over every SA, and every SA's timer is the one it wants.
    #[test]
    fn admission_counters_and_indexes_equal_a_recount(
        ops in proptest::collection::vec(op(), 1..40),
        seed in 0u64..1000,
        loss in 0.0f64..0.3,
    ) {
        let cfg_b = EndpointConfig {
            cookie_threshold: 1000,
            max_half_open_per_peer: 1000,
            half_open_timeout: Duration::from_secs(20),
            ..EndpointConfig::default()
        };
        let mut p = pair_with(Side::default(), Side::responder(), cfg_b, Faults::lossy(loss), seed);
        for op in ops {
            let now = p.now();
            match op {
                Op::Initiate => {
                    let addr = p.addr_a;
                    p.a.initiate(now, addr, "site-b").unwrap();
                    p.run_for(Duration::from_millis(1));
                }
                Op::Spoof(i) => {
                    let init = p.log.iter().rev().find(|s| {
                        s.src.ip() == p.addr_a.ip()
                            && s.payload.len() > 28
                            && s.payload[18] == 34
                            && s.payload[8..16] == [0; 8]
                    }).map(|s| s.payload.clone());
                    if let Some(mut init) = init {
                        init[0] ^= i + 1;
                        let from: SocketAddr = format!("10.77.5.{}:500", i + 1).parse().unwrap();
                        let to = p.addr_b;
                        p.inject(from, to, init);
                        p.run_for(Duration::from_millis(1));
                    }
                }
                Op::Run(ms) => p.run_for(Duration::from_millis(u64::from(ms))),
                Op::DeleteA(i) => {
                    if let Some(h) = pick(p.a.handles_all(), i) {
                        p.a.delete(now, h).unwrap();
                    }
                }
                Op::DeleteB(i) => {
                    if let Some(h) = pick(p.b.handles_all(), i) {
                        p.b.delete(now, h).unwrap();
                    }
                }
                Op::RekeyA(i) => {
                    if let Some(h) = pick(p.a.established(), i) {
                        let _ = p.a.rekey_ike(now, h);
                    }
                }
                Op::RekeyChildA(i) => {
                    if let Some(h) = pick(p.a.established(), i) {
                        if let Some((_, spi_in, _)) = p.a.child_sas(h).first() {
                            let _ = p.a.rekey_child(now, h, *spi_in);
                        }
                    }
                }
            }
            p.run_for(Duration::ZERO);
            prop_assert_eq!(p.a.audit(), Ok(()));
            prop_assert_eq!(p.b.audit(), Ok(()));
            prop_assert!(p.b.half_open_count() <= p.b.sa_count());
        }
        // Everything left to itself ends: half-open SAs expire, give-ups close.
        p.run_for(Duration::from_secs(600));
        prop_assert_eq!(p.b.half_open_count(), 0);
        prop_assert_eq!(p.a.audit(), Ok(()));
        prop_assert_eq!(p.b.audit(), Ok(()));
    }
}

/// Two connections with the same pair of identities: bringing up the second must not make the
/// peer drop the first (RFC 7296 §2.4 is about the identities, so the second carries no
/// INITIAL_CONTACT). Before, the decision was per connection name and the peer dropped the
/// first connection's IKE SA without a Delete.
#[test]
fn a_second_connection_with_the_same_identities_keeps_the_first_up() {
    let one = peer("one", B, "a.example.org", "b.example.org", &Side::default());
    let mut two = peer("two", B, "a.example.org", "b.example.org", &Side::default());
    two.children[0].name = "other".into();
    let a = Endpoint::new(
        EndpointConfig::default(),
        vec![one, two],
        Box::new(SeededRng::new(5)),
    )
    .unwrap();
    let b = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "site-a",
            A,
            "b.example.org",
            "a.example.org",
            &Side::responder(),
        )],
        Box::new(SeededRng::new(6)),
    )
    .unwrap();
    let mut p = Pair::new(
        a,
        b,
        A.parse().unwrap(),
        B.parse().unwrap(),
        Faults::none(),
        5,
    );
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "one").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 1)
    );
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "two").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 2)
    );
    p.run_for(Duration::from_secs(5));
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (2, 2));
    assert_eq!(p.b.established().len(), 2);
    assert!(
        closed(&p.events_b).is_none(),
        "b closed an IKE SA: {:?}",
        closed(&p.events_b)
    );
    // A restart still carries INITIAL_CONTACT for the pair, and the peer drops both stale SAs.
    let restarted = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "one",
            B,
            "a.example.org",
            "b.example.org",
            &Side::default(),
        )],
        Box::new(SeededRng::new(7)),
    )
    .unwrap();
    p.a = restarted;
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "one").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 3)
    );
    assert_eq!(p.b.sa_count(), 1);
    let replaced = p
        .events_b
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::IkeSaClosed {
                    reason: CloseReason::Replaced,
                    ..
                }
            )
        })
        .count();
    assert_eq!(replaced, 2);
}
