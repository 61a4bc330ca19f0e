//! CREATE_CHILD_SA (RFC 7296 §1.3): new Child SAs on an established IKE SA, Child SA rekeying
//! (REKEY_SA, make-before-break), IKE SA rekeying (§2.18), single Child SA deletes (§1.4.1),
//! and the lifetimes that trigger them.
//!
//! This module keeps the queue of our requests (one outstanding at a time, §2.3), the timers and
//! the Child SA deletes; the exchange itself is split by role: `initiator` (our requests and
//! their responses), `responder` (the peer's requests), `ike_rekey` (the new IKE SA of a rekey,
//! both roles) and `collisions` (the nonce rule of §2.8.1/§2.8.2 for simultaneous rekeys).
//!
//! With additional key exchanges (RFC 9370) the exchange is followed by IKE_FOLLOWUP_KE
//! exchanges (`followup.rs`) before what it agreed on is applied (`IkeSa::conclude`).

mod collisions;
mod ike_rekey;
mod initiator;
mod responder;

pub(crate) use collisions::{ours_is_redundant, Collision};

use crate::v2::entropy::Entropy;
use std::time::{Duration, Instant};

use ike_crypto::dh::{self, KeyExchange};
use ike_crypto::kdf::v2 as kdf;
use ike_crypto::rng::Rng;
use ike_wire::group::DhGroup;
use ike_wire::v2::{
    self, ExchangeType, KeyExchange as KePayload, Notify, NotifyType, Payload, ProtocolId,
};

use super::followup::{self, Agreed, KeyExchanges};
use super::{Handshake, IkeSa, NegotiatedChild, Output, RekeyState, RequestKind, State, Window};
use crate::proposal::{check_reply, select_with, Chosen, Proposal};
use crate::v2::payloads::{check_payloads, ProtocolError};
use crate::v2::{ChildConfig, EndpointConfig, IpsecProtocol, Mode, PeerConfig, Ts};
use crate::v2::{DeletingReason, EngineError, Event, SaHandle};

/// A command from the driver.
#[derive(Clone, Debug)]
pub(crate) enum Command {
    CreateChild(String),
    RekeyChild(u32),
    DeleteChild(u32),
    RekeyIke,
}

/// A local request waiting for, or using, the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Create { cfg: usize },
    RekeyChild { spi_in: u32 },
    DeleteChild { spi_in: u32 },
    RekeyIke,
    DeleteIke,
}

/// Our CREATE_CHILD_SA (or child delete) exchange under way.
pub(crate) struct Creating {
    op: Op,
    ni: Vec<u8>,
    dh: Option<Box<dyn KeyExchange>>,
    /// Our new SPI: 4 bytes for ESP and AH, 8 for an IKE SA.
    spi: Vec<u8>,
    cfg: usize,
    ts_i: Vec<Ts>,
    ts_r: Vec<Ts>,
    transport: bool,
    tried: Vec<DhGroup>,
    /// The peer rekeyed this IKE SA while our rekey was under way (§2.8.2): the nonces of its
    /// exchange and our SPI of the IKE SA it created.
    ike_collision: Option<(Collision, [u8; 8])>,
    /// The IKE_FOLLOWUP_KE exchanges after the CREATE_CHILD_SA exchange (RFC 9370 §2.2.4).
    pub(super) followup: Option<followup::Initiator>,
}

/// `t` less up to 10%, taken from `salt` (a random SPI), so that both ends of a connection do
/// not rekey at the same moment.
pub(crate) fn jittered(t: Duration, salt: &[u8]) -> Duration {
    let r = f64::from(salt.iter().fold(0u8, |a, b| a ^ b)) / 255.0;
    t.mul_f64(1.0 - 0.1 * r)
}

const NONCE_LEN: usize = 32;
const TEMPORARY_FAILURE_RETRY: Duration = Duration::from_secs(2);

/// Between two and six seconds, from random bytes.
fn retry_delay(salt: &[u8]) -> Duration {
    let r = f64::from(
        salt.iter()
            .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(*b)),
    ) / 255.0;
    TEMPORARY_FAILURE_RETRY.mul_f64(1.0 + 2.0 * r)
}

fn narrow(proposed: &[Ts], allowed: &[Ts]) -> Vec<Ts> {
    proposed
        .iter()
        .flat_map(|a| allowed.iter().filter_map(move |b| a.intersect(b)))
        .collect()
}

impl IkeSa {
    pub(crate) fn set_handle(&mut self, h: SaHandle) {
        self.handle = h;
    }

    pub(crate) fn spis(&self) -> ([u8; 8], [u8; 8]) {
        (self.spi_i, self.spi_r)
    }

    /// Takes this SA's Child SAs (they move to the surviving IKE SA of a collision).
    pub(crate) fn take_children(&mut self) -> Vec<super::Child> {
        std::mem::take(&mut self.children)
    }

    /// Adopts Child SAs moved from another IKE SA.
    pub(crate) fn adopt_children(&mut self, children: Vec<super::Child>) {
        self.children.extend(children);
    }

    /// Marks an IKE SA made redundant by a collision: the peer deletes it, as rekeyed.
    pub(crate) fn mark_redundant(&mut self) {
        self.rekey = RekeyState::Replaced;
        self.ike_rekey_at = None;
    }

    /// Runs what is queued (a redundant IKE SA's own delete).
    pub(crate) fn kick(
        &mut self,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
    ) -> Output {
        let mut out = Output::default();
        self.run_queue(peer, config, rng, &mut out);
        out
    }

    pub(crate) fn child_list(&self) -> Vec<(String, u32, u32)> {
        self.children
            .iter()
            .map(|c| (c.name.clone(), c.spi_in, c.spi_out))
            .collect()
    }

    /// Whether our rekey of this IKE SA is under way.
    pub(crate) fn rekeying_ike(&self) -> bool {
        self.creating.as_ref().is_some_and(|c| c.op == Op::RekeyIke)
    }

    /// (inbound SPI, rekey under way, our delete under way) of each Child SA.
    pub(crate) fn child_activity(&self) -> Vec<(u32, bool, bool)> {
        self.children
            .iter()
            .map(|c| (c.spi_in, c.busy && !c.deleting, c.deleting))
            .collect()
    }

    pub(in crate::v2::sa) fn child_timers(
        &self,
        cfg: Option<&crate::v2::ChildConfig>,
    ) -> (Option<Instant>, Option<Instant>) {
        let Some(cfg) = cfg else { return (None, None) };
        let rekey = cfg
            .rekey_time
            .map(|t| self.clock + jittered(t, &self.spi_r));
        let expire = cfg.life_time.map(|t| self.clock + t);
        (rekey, expire)
    }

    pub(in crate::v2::sa) fn next_rekey_timer(&self) -> Option<Instant> {
        if !matches!(self.state, State::Established) {
            return None;
        }
        let children = self
            .children
            .iter()
            .flat_map(|c| [if c.busy { None } else { c.rekey_at }, c.expire_at])
            .flatten();
        children
            .chain(self.ike_rekey_at)
            .chain(self.ike_expire_at)
            .min()
    }

    pub(in crate::v2::sa) fn run_timers(
        &mut self,
        now: Instant,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        if !matches!(self.state, State::Established) {
            return;
        }
        for c in &mut self.children {
            if c.expire_at.is_some_and(|t| t <= now) {
                c.expire_at = None;
                c.rekey_at = None;
                let op = Op::DeleteChild { spi_in: c.spi_in };
                if !self.queue.contains(&op) {
                    self.queue.push_back(op);
                }
            } else if !c.busy && c.rekey_at.is_some_and(|t| t <= now) {
                c.rekey_at = None;
                let op = Op::RekeyChild { spi_in: c.spi_in };
                if !self.queue.contains(&op) {
                    self.queue.push_back(op);
                }
            }
        }
        if self.ike_rekey_at.is_some_and(|t| t <= now) {
            self.ike_rekey_at = None;
            if !self.queue.contains(&Op::RekeyIke) {
                self.queue.push_back(Op::RekeyIke);
            }
        }
        if self.ike_expire_at.is_some_and(|t| t <= now) {
            // The hard lifetime passed without a rekey replacing this SA (the rekey kept
            // failing, or the peer never rekeyed): delete it, telling the peer.
            self.ike_expire_at = None;
            self.ike_rekey_at = None;
            out.events.push(Event::IkeSaDeleting {
                sa: self.handle,
                connection: self.connection.clone(),
                reason: DeletingReason::HardLifetime(peer.life_time.unwrap_or_default()),
            });
            if !self.queue.contains(&Op::DeleteIke) {
                self.queue.push_back(Op::DeleteIke);
            }
        }
        self.run_queue(peer, config, rng, out);
    }

    pub(crate) fn command(
        &mut self,
        now: Instant,
        cmd: Command,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
    ) -> Result<Output, EngineError> {
        self.clock = now;
        if !matches!(self.state, State::Established) {
            return Err(EngineError::NotEstablished);
        }
        let op = match cmd {
            Command::CreateChild(name) => Op::Create {
                cfg: peer
                    .children
                    .iter()
                    .position(|c| c.name == name)
                    .ok_or(EngineError::UnknownChild(name))?,
            },
            Command::RekeyChild(spi_in) | Command::DeleteChild(spi_in)
                if !self.children.iter().any(|c| c.spi_in == spi_in) =>
            {
                return Err(EngineError::UnknownChild(format!("SPI {spi_in:08x}")));
            }
            Command::RekeyChild(spi_in) => Op::RekeyChild { spi_in },
            Command::DeleteChild(spi_in) => Op::DeleteChild { spi_in },
            Command::RekeyIke => Op::RekeyIke,
        };
        self.queue.push_back(op);
        let mut out = Output::default();
        self.run_queue(peer, config, rng, &mut out);
        Ok(out)
    }

    /// Starts the next queued request if the window is free.
    pub(in crate::v2::sa) fn run_queue(
        &mut self,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        while self.window.outstanding.is_none() && matches!(self.state, State::Established) {
            let Some(op) = self.queue.pop_front() else {
                return;
            };
            match op {
                Op::DeleteIke => {
                    let o = self.start_delete(self.clock, config, rng);
                    out.transmits.extend(o.transmits);
                    out.events.extend(o.events);
                    out.closed |= o.closed;
                }
                Op::DeleteChild { spi_in } => self.start_delete_child(spi_in, config, rng, out),
                other => self.start_create(other, peer, config, rng, out),
            }
        }
    }

    pub(in crate::v2::sa) fn start_delete_child(
        &mut self,
        spi_in: u32,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let Some(c) = self.children.iter_mut().find(|c| c.spi_in == spi_in) else {
            return;
        };
        c.busy = true;
        c.deleting = true;
        let spi = spi_in.to_be_bytes();
        let payloads = [Payload::Delete(v2::Delete {
            protocol: c.protocol.to_wire(),
            spi_size: 4,
            spis: vec![&spi],
        })];
        let mid = self.window.next_mid;
        let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &payloads, rng) else {
            return;
        };
        self.window.next_mid = mid.wrapping_add(1);
        self.creating = Some(Box::new(Creating {
            op: Op::DeleteChild { spi_in },
            ni: Vec::new(),
            dh: None,
            spi: Vec::new(),
            cfg: 0,
            ts_i: Vec::new(),
            ts_r: Vec::new(),
            transport: false,
            tried: Vec::new(),
            ike_collision: None,
            followup: None,
        }));
        self.send_request(
            out,
            self.clock,
            config,
            bytes,
            RequestKind::DeleteChild,
            mid,
        );
    }

    pub(in crate::v2::sa) fn handle_delete_child_response(
        &mut self,
        _inner: &[Payload<'_>],
        out: &mut Output,
    ) {
        let Some(Creating {
            op: Op::DeleteChild { spi_in },
            ..
        }) = self.creating.take().map(|c| *c)
        else {
            return;
        };
        // The peer answers with the inbound SPI of its half; either way both halves are gone.
        if let Some(pos) = self.children.iter().position(|c| c.spi_in == spi_in) {
            let c = self.children.remove(pos);
            out.events.push(Event::ChildSaDelete {
                sa: self.handle,
                connection: self.connection.clone(),
                child: c.name,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
            });
        }
    }

    pub(in crate::v2::sa) fn child_failed(
        &mut self,
        creating: &Creating,
        peer: &PeerConfig,
        reason: ProtocolError,
        out: &mut Output,
    ) {
        if let Op::RekeyChild { spi_in } = creating.op {
            if let Some(c) = self.children.iter_mut().find(|c| c.spi_in == spi_in) {
                c.busy = false;
                if reason == ProtocolError::Unsupported("temporary failure") {
                    // §2.25: try again a little later, after a delay that differs between the
                    // two ends (it depends on our random SPI) so that they do not collide again.
                    c.rekey_at = Some(self.clock + retry_delay(&c.spi_in.to_be_bytes()));
                    return;
                }
            }
        }
        if creating.op == Op::RekeyIke {
            if reason == ProtocolError::Unsupported("temporary failure") {
                self.ike_rekey_at = Some(self.clock + retry_delay(&self.our_spi()));
            }
            return;
        }
        let child = peer
            .children
            .get(creating.cfg)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        out.events.push(Event::ChildSaFailed {
            sa: self.handle,
            connection: self.connection.clone(),
            child,
            reason,
        });
    }
}

/// The payloads of a CREATE_CHILD_SA message: SA, Nonce, KE, TSi, TSr.
type Parts<'p> = (
    Option<&'p v2::Sa<'p>>,
    Option<&'p [u8]>,
    Option<&'p v2::KeyExchange<'p>>,
    Vec<Ts>,
    Vec<Ts>,
);
