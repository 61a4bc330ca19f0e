//! A responder of four shards (four endpoints, each with `EndpointConfig::shard`), fed by
//! `ike_proto::shard::shard_of` as a sharded driver would: SAs spread over the shards, every
//! later message (IKE_AUTH, CREATE_CHILD_SA rekeys of Child and IKE SAs from both sides,
//! INFORMATIONAL) reaches the shard that holds its SA, and every SPI a shard chose names it.

mod common;

use std::time::{Duration, Instant};

use common::*;

use ike_crypto::rng::SeededRng;
use ike_proto::shard::{shard_of, Shard};
use ike_proto::v2::{DropReason, Endpoint, EndpointConfig, Event, IkeSaState};

struct Sharded {
    a: Endpoint,
    shards: Vec<Endpoint>,
    now: Instant,
    events_a: Vec<Event>,
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
            for s in &mut self.shards {
                while let Some(t) = s.poll_transmit() {
                    moved = true;
                    self.a.handle_datagram(self.now, a_addr, b_addr, &t.payload);
                }
                while s.poll_event().is_some() {}
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
