//! A simulated network and a virtual clock for engine-to-engine tests (DESIGN.md layer 2): two or
//! more IKEv2 endpoints exchange datagrams through a network that can drop, duplicate, reorder
//! and delay them, everything decided by a seed. A failing test prints its seed and can write
//! the traffic to a pcap for Wireshark.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ike_proto::v2::{Endpoint, Event, Transmit};

/// How the network misbehaves.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Smallest one-way delay.
    pub min_delay: Duration,
    /// Largest one-way delay; a spread between the two reorders datagrams.
    pub max_delay: Duration,
}

impl Faults {
    /// A perfect network with a 10 ms delay.
    pub fn none() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        }
    }

    /// Loss, duplication and reordering at the given loss rate.
    pub fn lossy(loss: f64) -> Self {
        Self {
            loss,
            duplicate: 0.05,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(300),
        }
    }
}

/// A small deterministic generator (SplitMix64) for the network's decisions.
#[derive(Clone, Debug)]
pub struct Dice(u64);

impl Dice {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A datagram on the wire, as the capture records it.
#[derive(Clone, Debug)]
pub struct Sent {
    /// When it left.
    pub at: Duration,
    /// Source.
    pub src: SocketAddr,
    /// Destination.
    pub dst: SocketAddr,
    /// The IKE message.
    pub payload: Vec<u8>,
}

/// Two endpoints joined by a faulty network, with a virtual clock.
pub struct Pair {
    /// The first endpoint (usually the initiator).
    pub a: Endpoint,
    /// The second endpoint.
    pub b: Endpoint,
    /// Address of `a`.
    pub addr_a: SocketAddr,
    /// Address of `b`.
    pub addr_b: SocketAddr,
    /// The network's faults.
    pub faults: Faults,
    /// The seed, printed by failing tests.
    pub seed: u64,
    dice: Dice,
    start: Instant,
    now: Instant,
    seq: u64,
    in_flight: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    packets: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Every datagram sent, in order, for pcaps.
    pub log: Vec<Sent>,
    /// Events from `a`.
    pub events_a: Vec<Event>,
    /// Events from `b`.
    pub events_b: Vec<Event>,
}

impl Pair {
    /// Joins two endpoints.
    pub fn new(
        a: Endpoint,
        b: Endpoint,
        addr_a: SocketAddr,
        addr_b: SocketAddr,
        faults: Faults,
        seed: u64,
    ) -> Self {
        let start = Instant::now();
        Self {
            a,
            b,
            addr_a,
            addr_b,
            faults,
            seed,
            dice: Dice::new(seed),
            start,
            now: start,
            seq: 0,
            in_flight: BinaryHeap::new(),
            packets: Vec::new(),
            log: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn send(&mut self, t: Transmit) {
        self.log.push(Sent {
            at: self.elapsed(),
            src: t.local,
            dst: t.remote,
            payload: t.payload.clone(),
        });
        if self.dice.unit() < self.faults.loss {
            return;
        }
        let copies = if self.dice.unit() < self.faults.duplicate {
            2
        } else {
            1
        };
        let idx = self.packets.len();
        self.packets.push((t.local, t.remote, t.payload));
        for _ in 0..copies {
            let spread = self.faults.max_delay.saturating_sub(self.faults.min_delay);
            let delay = self.faults.min_delay + spread.mul_f64(self.dice.unit());
            self.seq += 1;
            self.in_flight
                .push(Reverse((self.now + delay, self.seq, idx)));
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.a.poll_transmit() {
            self.send(t);
        }
        while let Some(t) = self.b.poll_transmit() {
            self.send(t);
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push(e);
        }
    }

    /// Runs until `done` holds or `limit` of virtual time passes; returns whether `done` held.
    /// Bounded in steps as well as in time.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let deadline = self.now + limit;
        for _ in 0..200_000 {
            self.flush();
            if done(self) {
                return true;
            }
            let next_packet = self.in_flight.peek().map(|Reverse((at, _, _))| *at);
            let next = [next_packet, self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { return done(self) };
            if next > deadline {
                self.now = deadline;
                self.flush();
                return done(self);
            }
            self.now = self.now.max(next);
            if next_packet == Some(next) {
                if let Some(Reverse((_, _, idx))) = self.in_flight.pop() {
                    if let Some((src, dst, payload)) = self.packets.get(idx).cloned() {
                        if dst == self.addr_a {
                            self.a.handle_datagram(self.now, dst, src, &payload);
                        } else if dst == self.addr_b {
                            self.b.handle_datagram(self.now, dst, src, &payload);
                        }
                    }
                }
            } else {
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
        }
        false
    }

    /// Advances the virtual clock by `d`, processing everything due.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Writes the traffic so far as a pcap (raw IPv4/IPv6 + UDP) to `path`.
    pub fn write_pcap(&self, path: &std::path::Path) -> std::io::Result<()> {
        crate::pcap::write(
            path,
            self.log
                .iter()
                .map(|s| (s.at, s.src, s.dst, s.payload.as_slice())),
        )
    }
}

/// An RNG that records every draw, so a known-answer test can hand the DH private values and
/// nonces to an independent computation.
#[derive(Clone)]
pub struct RecordingRng {
    inner: ike_crypto::rng::SeededRng,
    /// Every draw, in order.
    pub draws: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl RecordingRng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: ike_crypto::rng::SeededRng::new(seed),
            draws: Default::default(),
        }
    }
}

impl ike_crypto::rng::Rng for RecordingRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ike_crypto::CryptoError> {
        self.inner.fill(buf)?;
        if let Ok(mut d) = self.draws.lock() {
            d.push(buf.to_vec());
        }
        Ok(())
    }
}
