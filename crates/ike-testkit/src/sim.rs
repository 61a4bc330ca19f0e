//! A simulated network and a virtual clock for engine-to-engine tests (DESIGN.md layer 2): two or
//! more IKEv2 endpoints exchange datagrams through a network that can drop, duplicate, reorder
//! and delay them, everything decided by a seed. A failing test prints its seed and can write
//! the traffic to a pcap for Wireshark.
//!
//! The pair plays the drivers' part of the datagram contract ([`Transmit`]): it puts the non-ESP
//! marker on the wire when a transmit asks for it, and on port 4500 it strips the marker, drops
//! keepalives (counting them) and drops anything else as ESP. An optional NAPT ([`Nat`]) can sit
//! in front of `a`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ike_proto::v2::{Endpoint, Event, Transmit, NAT_KEEPALIVE, NAT_T_PORT, NON_ESP_MARKER};

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

/// A datagram on the wire, as the capture records it: as its sender sent it, before a NAT.
#[derive(Clone, Debug)]
pub struct Sent {
    /// When it left.
    pub at: Duration,
    /// Source.
    pub src: SocketAddr,
    /// Destination.
    pub dst: SocketAddr,
    /// The IKE message (without the marker), or a keepalive's 0xFF.
    pub payload: Vec<u8>,
    /// Whether the non-ESP marker preceded the payload on the wire.
    pub non_esp_marker: bool,
}

impl Sent {
    /// Whether this is a NAT keepalive.
    pub fn is_keepalive(&self) -> bool {
        !self.non_esp_marker && self.payload == NAT_KEEPALIVE
    }

    /// The UDP payload on the wire.
    pub fn wire(&self) -> Vec<u8> {
        let mut w = Vec::new();
        if self.non_esp_marker {
            w.extend_from_slice(&NON_ESP_MARKER);
        }
        w.extend_from_slice(&self.payload);
        w
    }
}

/// A NAPT in front of `a`, like a home router: each of `a`'s source addresses that sends to
/// `b` gets a port of the public address, the first seen the first port, the next the next;
/// datagrams to a public port map back, datagrams to an unmapped port are dropped, and `a`'s
/// private address cannot be reached from outside.
#[derive(Clone, Debug)]
pub struct Nat {
    /// The public address.
    pub public: IpAddr,
    next_port: u16,
    map: Vec<(SocketAddr, u16)>,
}

impl Nat {
    /// A NAT with no mappings yet.
    pub fn new(public: IpAddr, first_port: u16) -> Self {
        Self {
            public,
            next_port: first_port,
            map: Vec::new(),
        }
    }

    /// The public address of `private`, if mapped.
    pub fn mapping(&self, private: SocketAddr) -> Option<SocketAddr> {
        self.map
            .iter()
            .find(|(p, _)| *p == private)
            .map(|(_, port)| SocketAddr::new(self.public, *port))
    }

    fn outbound(&mut self, private: SocketAddr) -> SocketAddr {
        if let Some(public) = self.mapping(private) {
            return public;
        }
        let port = self.next_port;
        self.next_port = self.next_port.wrapping_add(1);
        self.map.push((private, port));
        SocketAddr::new(self.public, port)
    }

    fn inbound(&self, public: SocketAddr) -> Option<SocketAddr> {
        self.map
            .iter()
            .find(|(_, port)| SocketAddr::new(self.public, *port) == public)
            .map(|(p, _)| *p)
    }
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
    /// Source (after the NAT), destination, UDP payload.
    packets: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Every datagram sent, in order, for pcaps.
    pub log: Vec<Sent>,
    /// A NAT in front of `a`, if any.
    pub nat: Option<Nat>,
    /// NAT keepalives that arrived (at `a`, at `b`); the drivers drop them.
    pub keepalives_received: (usize, usize),
    /// Datagrams that reached port 4500 without the non-ESP marker (ESP to the kernel here).
    pub esp_received: usize,
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
            nat: None,
            keepalives_received: (0, 0),
            esp_received: 0,
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

    /// Puts a NAT in front of `a`: its datagrams to `b` appear to come from `public`, ports
    /// from `first_port` on.
    pub fn nat_in_front_of_a(&mut self, public: IpAddr, first_port: u16) {
        self.nat = Some(Nat::new(public, first_port));
    }

    /// The NAT forgets its mappings (a reboot, or a timeout): new ones start at `first_port`.
    pub fn rebind_nat(&mut self, first_port: u16) {
        if let Some(n) = &mut self.nat {
            *n = Nat::new(n.public, first_port);
        }
    }

    /// Sends a datagram that no endpoint made (an attacker's), through the same network.
    pub fn inject(&mut self, src: SocketAddr, dst: SocketAddr, payload: Vec<u8>) {
        self.send(Transmit::ike(src, dst, payload));
    }

    fn send(&mut self, t: Transmit) {
        self.log.push(Sent {
            at: self.elapsed(),
            src: t.local,
            dst: t.remote,
            payload: t.payload.clone(),
            non_esp_marker: t.non_esp_marker,
        });
        if self.dice.unit() < self.faults.loss {
            return;
        }
        let a_ip = self.addr_a.ip();
        let src = match &mut self.nat {
            Some(n) if t.local.ip() == a_ip && t.remote.ip() != a_ip => n.outbound(t.local),
            _ => t.local,
        };
        let copies = if self.dice.unit() < self.faults.duplicate {
            2
        } else {
            1
        };
        let idx = self.packets.len();
        self.packets.push((src, t.remote, t.datagram()));
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
                    if let Some((src, dst, wire)) = self.packets.get(idx).cloned() {
                        self.deliver(src, dst, &wire);
                    }
                }
            } else {
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
        }
        false
    }

    /// The NAT's inbound mapping, then the receiving driver's demultiplexing, then the engine.
    fn deliver(&mut self, src: SocketAddr, dst: SocketAddr, wire: &[u8]) {
        let dst = match &self.nat {
            Some(n) if dst.ip() == n.public => match n.inbound(dst) {
                Some(private) => private,
                None => return,
            },
            // Behind the NAT, a's own address is not reachable from outside.
            Some(_) if dst.ip() == self.addr_a.ip() && src.ip() != self.addr_a.ip() => return,
            _ => dst,
        };
        let to_a = dst.ip() == self.addr_a.ip();
        if !to_a && dst.ip() != self.addr_b.ip() {
            return;
        }
        let ike = if dst.port() == NAT_T_PORT {
            if wire == NAT_KEEPALIVE {
                if to_a {
                    self.keepalives_received.0 += 1;
                } else {
                    self.keepalives_received.1 += 1;
                }
                return;
            }
            match wire.strip_prefix(&NON_ESP_MARKER[..]) {
                Some(rest) => rest,
                None => {
                    self.esp_received += 1;
                    return;
                }
            }
        } else {
            wire
        };
        if to_a {
            self.a.handle_datagram(self.now, dst, src, ike);
        } else {
            self.b.handle_datagram(self.now, dst, src, ike);
        }
    }

    /// Advances the virtual clock by `d`, processing everything due.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Writes the traffic so far as a pcap (raw IPv4/IPv6 + UDP) to `path`.
    pub fn write_pcap(&self, path: &std::path::Path) -> std::io::Result<()> {
        let wire: Vec<Vec<u8>> = self.log.iter().map(Sent::wire).collect();
        crate::pcap::write(
            path,
            self.log
                .iter()
                .zip(&wire)
                .map(|(s, w)| (s.at, s.src, s.dst, w.as_slice())),
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
