//! A responder of four shards (four endpoints, each with `EndpointConfig::shard`), fed by
//! `ike_proto::shard::shard_of` as a sharded driver would: SAs spread over the shards, every
//! later message (IKE_AUTH, CREATE_CHILD_SA rekeys of Child and IKE SAs from both sides,
//! INFORMATIONAL) reaches the shard that holds its SA, and every SPI a shard chose names it.

mod common;

use std::time::{Duration, Instant};

use common::*;

use ike_crypto::rng::SeededRng;
use ike_proto::shard::{shard_of, Shard};
use ike_proto::v2::{DropReason, Endpoint, EndpointConfig, Event, Identity, IkeSaState};

struct Sharded {
    a: Endpoint,
    shards: Vec<Endpoint>,
    now: Instant,
    events_a: Vec<Event>,
    /// INITIAL_CONTACT seen by a shard, for the driver to relay: (shard, identities, when).
    contacts: Vec<(usize, (Identity, Identity), Instant)>,
}

impl Sharded {
    /// Delivers what is queued, both ways, until nothing moves; bounded.
    fn pump(&mut self) {
        let (a_addr, b_addr) = (A.parse().unwrap(), B.parse().unwrap());
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit() {
                moved = true;
                let s = shard_of(&t.payload, a_addr, self.shards.len() as u8);
                self.shards[s].handle_datagram(self.now, b_addr, a_addr, &t.payload);
            }
            for (i, s) in self.shards.iter_mut().enumerate() {
                while let Some(t) = s.poll_transmit() {
                    moved = true;
                    self.a.handle_datagram(self.now, a_addr, b_addr, &t.payload);
                }
                while let Some(e) = s.poll_event() {
                    if let Event::InitialContact {
                        local_id,
                        remote_id,
                        established_at,
                        ..
                    } = e
                    {
                        self.contacts
                            .push((i, (local_id, remote_id), established_at));
                    }
                }
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push(e);
            }
            if !moved {
                return;
            }
        }
        panic!("the exchange never went quiet");
    }

    /// Runs timers and messages for `d` of virtual time.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..1_000_000 {
            self.pump();
            let next = std::iter::once(self.a.poll_timeout())
                .chain(self.shards.iter().map(Endpoint::poll_timeout))
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.a.handle_timeout(self.now);
                    for s in &mut self.shards {
                        s.handle_timeout(self.now);
                    }
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("run_for did not end");
    }
}

#[test]
fn sas_spread_over_shards_and_every_message_finds_its_shard() {
    const SHARDS: u8 = 4;
    const SAS: usize = 120;
    let a_side = Side {
        child_rekey: Some(Duration::from_secs(40)),
        ike_rekey: Some(Duration::from_secs(70)),
        ..Side::default()
    };
    let b_side = Side {
        ike_rekey: Some(Duration::from_secs(90)),
        ..Side::responder()
    };
    let a = Endpoint::new(
        EndpointConfig::default(),
        vec![peer("site-b", B, "a.example.org", "b.example.org", &a_side)],
        Box::new(SeededRng::new(1)),
    )
    .unwrap();
    let shards = (0..SHARDS)
        .map(|i| {
            let cfg = EndpointConfig {
                shard: Shard::new(i, SHARDS).unwrap(),
                ..EndpointConfig::default()
            };
            let b = peer("site-a", A, "b.example.org", "a.example.org", &b_side);
            Endpoint::new(cfg, vec![b], Box::new(SeededRng::new(10 + u64::from(i)))).unwrap()
        })
        .collect();
    let mut net = Sharded {
        a,
        shards,
        now: Instant::now(),
        events_a: Vec::new(),
        contacts: Vec::new(),
    };
    let addr = A.parse().unwrap();
    // The first SA alone (INITIAL_CONTACT), then the rest.
    let now = net.now;
    net.a.initiate(now, addr, "site-b").unwrap();
    net.run_for(Duration::from_secs(1));
    for _ in 1..SAS {
        let now = net.now;
        net.a.initiate(now, addr, "site-b").unwrap();
        net.run_for(Duration::from_millis(50));
    }
    // Several rekeys of every Child SA and IKE SA, from both sides.
    net.run_for(Duration::from_secs(300));

    let installs = installs(&net.events_a).len();
    assert!(installs >= SAS * 5, "{installs} Child SA installs");
    assert!(
        net.events_a
            .iter()
            .filter(|e| matches!(e, Event::IkeSaRekeyed { .. }))
            .count()
            >= SAS * 3
    );
    assert_eq!(net.a.established().len(), SAS);
    let mut total = 0;
    for (i, s) in net.shards.iter().enumerate() {
        let shard = Shard::new(i as u8, SHARDS).unwrap();
        let status = s.status(net.now);
        assert!(
            status.len() >= SAS / 8,
            "shard {i} holds only {} SAs",
            status.len()
        );
        for sa in &status {
            assert_eq!(sa.state, IkeSaState::Established);
            let ours = if sa.initiator { sa.spi_i } else { sa.spi_r };
            assert!(
                shard.owns(&ours),
                "shard {i} holds an SA whose SPI names another"
            );
            assert_eq!(sa.children.len(), 1);
        }
        total += status.len();
        let drops = s.stats().drops;
        assert_eq!(drops.get(DropReason::UnknownSpi), 0, "shard {i}");
        assert_eq!(drops.total(), 0, "shard {i}: {drops:?}");
        s.audit().unwrap();
    }
    assert_eq!(total, SAS);
    // Deletes from a reach the right shards too.
    for h in net.a.established() {
        let now = net.now;
        net.a.delete(now, h).unwrap();
    }
    net.run_for(Duration::from_secs(5));
    assert_eq!(net.a.sa_count(), 0);
    assert!(net.shards.iter().all(|s| s.sa_count() == 0));
}

fn two_shard_responder() -> Sharded {
    let a = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "site-b",
            B,
            "a.example.org",
            "b.example.org",
            &Side::default(),
        )],
        Box::new(SeededRng::new(21)),
    )
    .unwrap();
    let shards = (0..2u8)
        .map(|i| {
            let cfg = EndpointConfig {
                shard: Shard::new(i, 2).unwrap(),
                ..EndpointConfig::default()
            };
            let b = peer(
                "site-a",
                A,
                "b.example.org",
                "a.example.org",
                &Side::responder(),
            );
            Endpoint::new(cfg, vec![b], Box::new(SeededRng::new(30 + u64::from(i)))).unwrap()
        })
        .collect();
    Sharded {
        a,
        shards,
        now: Instant::now(),
        events_a: Vec::new(),
        contacts: Vec::new(),
    }
}

/// INITIAL_CONTACT across shards (RFC 7296 §2.4): a restarted initiator's first IKE SA lands on
/// one shard, which drops its own stale SAs and reports the pair of identities; relayed
/// (`Endpoint::replace_stale`), the other shard drops the SAs established before it, and keeps
/// one established since (the relay arrives later than the peer's next SA may).
#[test]
fn initial_contact_reaches_the_other_shards_and_spares_newer_sas() {
    let mut net = two_shard_responder();
    let addr = A.parse().unwrap();
    // Old SAs on both shards (only the first carries INITIAL_CONTACT, and nothing is stale yet).
    for _ in 0..12 {
        let now = net.now;
        net.a.initiate(now, addr, "site-b").unwrap();
        net.run_for(Duration::from_millis(100));
    }
    assert!(net.shards.iter().all(|s| s.established().len() >= 2));
    let old: Vec<usize> = net.shards.iter().map(|s| s.established().len()).collect();
    net.contacts.clear();
    net.run_for(Duration::from_secs(1));
    // The initiator restarts: a fresh endpoint, the same identities.
    net.a = Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "site-b",
            B,
            "a.example.org",
            "b.example.org",
            &Side::default(),
        )],
        Box::new(SeededRng::new(99)),
    )
    .unwrap();
    let now = net.now;
    net.a.initiate(now, addr, "site-b").unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.contacts.len(), 1, "one INITIAL_CONTACT");
    let (k, ids, at) = net.contacts[0].clone();
    assert_eq!(
        net.shards[k].established().len(),
        1,
        "shard {k} dropped its own stale SAs"
    );
    // Before the relay arrives, the restarted peer sets up more SAs (without INITIAL_CONTACT):
    // those on the other shard are newer than the restart.
    net.run_for(Duration::from_secs(1));
    for _ in 0..8 {
        let now = net.now;
        net.a.initiate(now, addr, "site-b").unwrap();
        net.run_for(Duration::from_millis(100));
    }
    let other = 1 - k;
    let before = net.shards[other].established().len();
    assert!(before > old[other], "new SAs reached shard {other} too");
    let newer = before - old[other];
    net.shards[other].replace_stale(&ids, at);
    net.run_for(Duration::from_millis(10));
    assert_eq!(
        net.shards[other].established().len(),
        newer,
        "the old SAs of shard {other} are gone, the newer ones stay"
    );
    assert_eq!(net.a.established().len(), 9);
    let total: usize = net.shards.iter().map(|s| s.established().len()).sum();
    assert_eq!(total, 9, "the responder holds exactly the initiator's SAs");
    for s in &net.shards {
        s.audit().unwrap();
    }
}
