//! NAT traversal for an IKE SA (RFC 7296 §2.23, RFC 3948).
//!
//! - **Detection.** Both IKE_SA_INIT messages carry NAT_DETECTION_SOURCE_IP and
//!   NAT_DETECTION_DESTINATION_IP: `SHA-1(SPIi | SPIr | IP | port)`, with SPIr zero in the
//!   request. Each side recomputes them over the addresses the datagram really had: no matching
//!   source hash means a NAT is in front of the peer, a destination hash that does not match
//!   means one is in front of us. A connection with `encap` sends a source hash that cannot
//!   match, so both ends believe we are behind a NAT and encapsulate ESP (strongSwan's
//!   `encap = yes`).
//! - **Port float.** With any NAT, the initiator sends IKE_AUTH and everything after it from and
//!   to UDP 4500; the responder takes the addresses of the (authenticated) IKE_AUTH request.
//!   Messages on port 4500 carry the non-ESP marker ([`crate::v2::Transmit`]).
//! - **Responses** go back to the address and port their request came from (§2.11), whatever
//!   the SA's addresses are.
//! - **Address updates.** An authenticated new message (a request with the next message ID, or
//!   the response to our outstanding request) from another address moves the SA there when the
//!   peer is behind a NAT and we are not (§2.23), or we are the original responder (a static NAT
//!   in front of us, as strongSwan assumes). Unauthenticated datagrams and retransmissions never
//!   move it.
//! - **Keepalives.** Behind a NAT, on port 4500, we send the one-octet 0xFF datagram when nothing
//!   else went to the peer for `keepalive_interval` (RFC 3948 §4), to keep the NAT mapping.
//!   Not when the NAT is only faked: then there is no mapping to keep.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ike_crypto::prf::PrfAlg;
use ike_wire::v2::{self, ExchangeType, Flags, NotifyType, Payload};

use super::{nat_hash, IkeSa, Output, State};
use crate::v2::EndpointConfig;
use crate::v2::{Endpoint, Event, SaHandle, Transmit, NAT_KEEPALIVE, NAT_T_PORT};

/// Offset of the flags octet in the IKE header (RFC 7296 §3.1).
const FLAGS_OFFSET: usize = 19;

/// What NAT detection found, and the addresses the SA's datagrams use besides its own.
#[derive(Clone, Debug)]
pub(crate) struct Nat {
    /// The peer's NAT_DETECTION_DESTINATION_IP did not match our address.
    here: bool,
    /// None of the peer's NAT_DETECTION_SOURCE_IP matched its address (or it fakes a NAT).
    there: bool,
    /// We send a source hash that cannot match (`encap`).
    fake: bool,
    /// We initiated the connection's first IKE SA (kept across IKE SA rekeys).
    original_initiator: bool,
    /// Our address and the peer's when IKE_SA_INIT ran.
    origin: (SocketAddr, SocketAddr),
    /// Where the request being answered came from (§2.11).
    request_path: (SocketAddr, SocketAddr),
    /// When we last sent the peer anything.
    last_sent: Instant,
}

impl Nat {
    pub(crate) fn new(
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
        initiator: bool,
        fake: bool,
    ) -> Self {
        Self {
            here: false,
            there: false,
            fake,
            original_initiator: initiator,
            origin: (local, remote),
            request_path: (local, remote),
            last_sent: now,
        }
    }

    /// The peer's address in IKE_SA_INIT.
    pub(crate) fn origin_remote(&self) -> SocketAddr {
        self.origin.1
    }

    /// Our address in IKE_SA_INIT.
    pub(crate) fn origin_local(&self) -> SocketAddr {
        self.origin.0
    }
}

/// Where an IKE SA's messages go, and what NAT detection found (RFC 7296 §2.23).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaPath {
    /// Our address (port 4500 after a float).
    pub local: SocketAddr,
    /// The peer's address, as we see it (a NAT's public address and port).
    pub remote: SocketAddr,
    /// A NAT is in front of us.
    pub nat_local: bool,
    /// A NAT is in front of the peer, or the peer fakes one.
    pub nat_remote: bool,
    /// We fake a NAT (`encap`).
    pub nat_faked: bool,
}

impl SaPath {
    /// Whether ESP is encapsulated in UDP (any NAT, real or faked).
    pub fn udp_encap(&self) -> bool {
        self.nat_local || self.nat_remote || self.nat_faked
    }
}

impl Endpoint {
    /// The addresses and NAT state of an IKE SA.
    pub fn sa_path(&self, sa: SaHandle) -> Option<SaPath> {
        self.table.get(sa).map(|s| SaPath {
            local: s.local,
            remote: s.remote,
            nat_local: s.nat.here,
            nat_remote: s.nat.there,
            nat_faked: s.nat.fake,
        })
    }
}

/// A NAT_DETECTION_SOURCE_IP that cannot match: the hash of other input than the peer hashes.
fn fake_hash(spi_i: &[u8; 8], spi_r: &[u8; 8], addr: SocketAddr) -> Vec<u8> {
    let ip = match addr.ip() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    PrfAlg::HmacSha1
        .hash(&[
            b"ike: faked NAT",
            spi_i,
            spi_r,
            &ip,
            &addr.port().to_be_bytes(),
        ])
        .unwrap_or_default()
}

impl IkeSa {
    fn nat_any(&self) -> bool {
        self.nat.here || self.nat.there || self.nat.fake
    }

    /// Our NAT_DETECTION_SOURCE_IP for an IKE_SA_INIT message (SPIr is still zero in the
    /// request).
    pub(super) fn nat_source_hash(&self) -> Vec<u8> {
        if self.nat.fake {
            fake_hash(&self.spi_i, &self.spi_r, self.local)
        } else {
            nat_hash(&self.spi_i, &self.spi_r, self.local)
        }
    }

    /// Checks the peer's NAT detection notifies in an IKE_SA_INIT message that went from
    /// `remote` to `local`; with a NAT, the initiator then moves to port 4500. A peer that sends
    /// none does not do NAT-T, and nothing changes.
    pub(super) fn detect_nat(
        &mut self,
        msg: &v2::Message<'_>,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        let h = &msg.header;
        let (mut sources, mut destination) = (Vec::new(), None);
        for p in &msg.payloads {
            match p {
                Payload::Notify(n) if n.notify_type == NotifyType::NatDetectionSourceIp => {
                    sources.push(n.data);
                }
                Payload::Notify(n) if n.notify_type == NotifyType::NatDetectionDestinationIp => {
                    destination = Some(n.data);
                }
                _ => {}
            }
        }
        let Some(destination) = destination else {
            return;
        };
        if sources.is_empty() {
            return;
        }
        let theirs = nat_hash(&h.spi_i, &h.spi_r, remote);
        self.nat.there = !sources.contains(&theirs.as_slice());
        self.nat.here = nat_hash(&h.spi_i, &h.spi_r, local).as_slice() != destination;
        if self.initiator && self.nat_any() {
            self.local.set_port(NAT_T_PORT);
            self.remote.set_port(NAT_T_PORT);
        }
    }

    /// The ports of UDP-encapsulated ESP, if a NAT was detected or faked.
    pub(super) fn esp_encap(&self) -> Option<(u16, u16)> {
        self.nat_any()
            .then_some((self.local.port(), self.remote.port()))
    }

    /// Addresses an IKE message: a response to where its request came from, anything else to
    /// the SA's addresses.
    pub(super) fn addressed(&mut self, payload: Vec<u8>) -> Transmit {
        self.nat.last_sent = self.clock;
        let response = payload
            .get(FLAGS_OFFSET)
            .is_some_and(|f| f & Flags::RESPONSE != 0);
        let (local, remote) = if response {
            self.nat.request_path
        } else {
            (self.local, self.remote)
        };
        Transmit::ike(local, remote, payload)
    }

    /// A retransmitted IKE_SA_INIT request came from where the first one did.
    pub(super) fn answer_origin(&mut self) {
        self.nat.request_path = self.nat.origin;
    }

    /// The address check before any processing: a request may come from anywhere (its
    /// response goes back there), but the unprotected IKE_SA_INIT response must come from
    /// where we sent the request.
    pub(super) fn accept_from(
        &mut self,
        h: &v2::Header,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> bool {
        if !h.flags.response() {
            self.nat.request_path = (local, remote);
            return true;
        }
        h.exchange != ExchangeType::IkeSaInit || remote == self.remote
    }

    /// A new message from `remote` to `local` passed its integrity check: the peer is alive,
    /// and the SA may follow it to a new address.
    pub(super) fn authenticated(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut Output,
    ) {
        self.note_received();
        if (local, remote) == (self.local, self.remote) {
            return;
        }
        if matches!(self.state, State::InitDone | State::Intermediate(_)) {
            // IKE_INTERMEDIATE or IKE_AUTH: the initiator may have floated to port 4500
            // (RFC 9242 §3.2: from the first IKE_INTERMEDIATE on).
            self.local = local;
            self.remote = remote;
            return;
        }
        let follow = self.nat.there && (!self.nat.here || !self.nat.original_initiator);
        if !follow {
            return;
        }
        self.local = local;
        self.remote = remote;
        if matches!(self.state, State::Established | State::Deleting) {
            out.events.push(Event::AddressChanged {
                sa: self.handle,
                local,
                remote,
            });
        }
    }

    /// When the next keepalive is due, if we send them.
    pub(super) fn keepalive_at(&self, config: &EndpointConfig) -> Option<Instant> {
        let interval = config.keepalive_interval.filter(|d| !d.is_zero())?;
        let on = self.nat.here
            && self.local.port() == NAT_T_PORT
            && matches!(
                self.state,
                State::AuthSent | State::Established | State::Deleting
            );
        on.then(|| self.nat.last_sent + interval)
    }

    pub(super) fn run_keepalive(
        &mut self,
        now: Instant,
        config: &EndpointConfig,
        out: &mut Output,
    ) {
        if self.keepalive_at(config).is_some_and(|t| t <= now) {
            self.nat.last_sent = now;
            out.transmits.push(Transmit {
                local: self.local,
                remote: self.remote,
                payload: NAT_KEEPALIVE.to_vec(),
                non_esp_marker: false,
            });
        }
    }
}
