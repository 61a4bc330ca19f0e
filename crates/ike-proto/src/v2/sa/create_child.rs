//! CREATE_CHILD_SA (RFC 7296 §1.3): new Child SAs on an established IKE SA, Child SA rekeying
//! (REKEY_SA, make-before-break), IKE SA rekeying (§2.18), single Child SA deletes (§1.4.1),
//! and the lifetimes that trigger them.
//!
//! With additional key exchanges (RFC 9370) the exchange is followed by IKE_FOLLOWUP_KE
//! exchanges (`followup.rs`) before what it agreed on is applied (`IkeSa::conclude`).
//!
//! Collisions (§2.8.1-§2.8.2, §2.25) are answered conservatively in this slice: a request to
//! rekey an SA we are rekeying ourselves gets TEMPORARY_FAILURE, and the peer retries later.

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
use super::{Handshake, IkeSa, NegotiatedChild, Output, RequestKind, State, Window};
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

/// A peer's rekey of a Child SA we were rekeying ourselves (RFC 7296 §2.8.1).
#[derive(Clone, Debug)]
pub(crate) struct Collision {
    /// The nonces of the peer's exchange (its Ni, our Nr).
    nonces: [Vec<u8>; 2],
}

/// Whether our exchange created the redundant SA: the SA created with the lowest of the four
/// nonces is closed by the endpoint that created it (§2.8.1, §2.8.2). Nonces compare octet by
/// octet, and a nonce that is a prefix of another is the lower, which is Rust's slice order.
pub(crate) fn ours_is_redundant(our_exchange: [&[u8]; 2], their_exchange: [&[u8]; 2]) -> bool {
    let ours = our_exchange.iter().min();
    let theirs = their_exchange.iter().min();
    ours < theirs
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
        self.rekeyed = true;
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

    pub(super) fn child_timers(
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

    pub(super) fn next_rekey_timer(&self) -> Option<Instant> {
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

    pub(super) fn run_timers(
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
    pub(super) fn run_queue(
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

    fn start_delete_child(
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

    pub(super) fn handle_delete_child_response(
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

    fn start_create(
        &mut self,
        op: Op,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let mut ni = vec![0u8; NONCE_LEN];
        if rng.fill(&mut ni).is_err() {
            return;
        }
        let creating = match &op {
            Op::RekeyIke if self.ike_followup_pending() => {
                // The peer's IKE SA rekey waits for its IKE_FOLLOWUP_KE exchanges; if it
                // completes, this SA is rekeyed anyway, else try again later.
                self.ike_rekey_at = Some(self.clock + retry_delay(&self.our_spi()));
                return;
            }
            Op::RekeyIke => {
                let Ok(spi) = rng.ike_spi().map(|s| s.to_vec()) else {
                    return;
                };
                let group = peer
                    .ike_proposals
                    .iter()
                    .flat_map(|p| p.ke.iter().copied())
                    .find(|g| dh::is_supported(*g));
                let Some(Ok(kex)) = group.map(|g| dh::generate(g, rng)) else {
                    return;
                };
                Creating {
                    op: op.clone(),
                    ni,
                    dh: Some(kex),
                    spi,
                    cfg: 0,
                    ts_i: Vec::new(),
                    ts_r: Vec::new(),
                    transport: false,
                    tried: group.into_iter().collect(),
                    ike_collision: None,
                    followup: None,
                }
            }
            Op::Create { .. } | Op::RekeyChild { .. } => {
                let (cfg, ts_i, ts_r, transport) = match &op {
                    Op::Create { cfg } => {
                        let Some(c) = peer.children.get(*cfg) else {
                            return;
                        };
                        (
                            *cfg,
                            c.local_ts.clone(),
                            c.remote_ts.clone(),
                            c.mode == Mode::Transport,
                        )
                    }
                    Op::RekeyChild { spi_in } => {
                        let Some(c) = self.children.iter_mut().find(|c| c.spi_in == *spi_in) else {
                            return;
                        };
                        c.busy = true;
                        (c.cfg, c.local_ts.clone(), c.remote_ts.clone(), c.transport)
                    }
                    _ => return,
                };
                let protocol = peer
                    .children
                    .get(cfg)
                    .map_or(IpsecProtocol::Esp, ChildConfig::protocol);
                let spi_in = match rng.child_spi(protocol, self.local.ip(), self.remote.ip()) {
                    Ok(s) => s,
                    Err(_) => {
                        if let Op::RekeyChild { spi_in } = &op {
                            if let Some(c) = self.children.iter_mut().find(|c| c.spi_in == *spi_in)
                            {
                                c.busy = false;
                            }
                        }
                        out.events.push(Event::ChildSaFailed {
                            sa: self.handle,
                            connection: self.connection.clone(),
                            child: peer
                                .children
                                .get(cfg)
                                .map(|c| c.name.clone())
                                .unwrap_or_default(),
                            reason: ProtocolError::LocalFailure("no inbound SPI"),
                        });
                        return;
                    }
                };
                let group = peer.children.get(cfg).and_then(|c| {
                    c.proposals()
                        .iter()
                        .flat_map(|p| p.ke.iter().copied())
                        .find(|g| dh::is_supported(*g))
                });
                let kex = match group.map(|g| dh::generate(g, rng)) {
                    Some(Ok(k)) => Some(k),
                    Some(Err(_)) => return,
                    None => None,
                };
                Creating {
                    op: op.clone(),
                    ni,
                    dh: kex,
                    spi: spi_in.to_be_bytes().to_vec(),
                    cfg,
                    ts_i,
                    ts_r,
                    transport,
                    tried: group.into_iter().collect(),
                    ike_collision: None,
                    followup: None,
                }
            }
            _ => return,
        };
        self.send_create(creating, peer, config, rng, out);
    }

    fn send_create(
        &mut self,
        creating: Creating,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let mid = self.window.next_mid;
        let bytes = {
            let mut payloads: Vec<Payload<'_>> = Vec::new();
            let old_spi;
            let props: Vec<Proposal>;
            let protocol;
            match &creating.op {
                Op::RekeyIke => {
                    // With their additional key exchanges, if any (IKE_FOLLOWUP_KE).
                    props = peer.ike_proposals.clone();
                    protocol = ProtocolId::Ike;
                }
                _ => {
                    let child = peer.children.get(creating.cfg);
                    props = child.map(|c| c.proposals().to_vec()).unwrap_or_default();
                    protocol = child
                        .map_or(IpsecProtocol::Esp, ChildConfig::protocol)
                        .to_wire();
                }
            }
            if let Op::RekeyChild { spi_in } = creating.op {
                old_spi = spi_in.to_be_bytes();
                // §3.10: REKEY_SA names the SA by its protocol and our inbound SPI.
                let old_protocol = self
                    .children
                    .iter()
                    .find(|c| c.spi_in == spi_in)
                    .map_or(protocol, |c| c.protocol.to_wire());
                payloads.push(Payload::Notify(Notify {
                    protocol: old_protocol,
                    spi: &old_spi,
                    notify_type: NotifyType::RekeySa,
                    data: &[],
                }));
            }
            if creating.transport {
                payloads.push(Payload::Notify(Notify::new(
                    NotifyType::UseTransportMode,
                    &[],
                )));
            }
            let wire: Vec<v2::Proposal<'_>> = props
                .iter()
                .filter(|p| p.protocol == protocol)
                .enumerate()
                .map(|(i, p)| p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), &creating.spi))
                .collect();
            payloads.push(Payload::Sa(v2::Sa { proposals: wire }));
            payloads.push(Payload::Nonce(&creating.ni));
            if let Some(k) = &creating.dh {
                payloads.push(Payload::Ke(KePayload {
                    group: k.group(),
                    data: k.public_value(),
                }));
            }
            let ts_i: Vec<v2::TrafficSelector<'static>> =
                creating.ts_i.iter().map(Ts::to_wire).collect();
            let ts_r: Vec<v2::TrafficSelector<'static>> =
                creating.ts_r.iter().map(Ts::to_wire).collect();
            let notifies;
            if protocol != ProtocolId::Ike {
                payloads.push(Payload::TsI(ts_i));
                payloads.push(Payload::TsR(ts_r));
                notifies = self.esp_notifies.payloads(None);
                payloads.extend(notifies);
            }
            self.seal(ExchangeType::CreateChildSa, false, mid, &payloads, rng)
        };
        let Some(bytes) = bytes else { return };
        self.window.next_mid = mid.wrapping_add(1);
        self.creating = Some(Box::new(creating));
        self.send_request(
            out,
            self.clock,
            config,
            bytes,
            RequestKind::CreateChild,
            mid,
        );
    }

    pub(super) fn child_failed(
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

    pub(super) fn handle_create_child_response(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let Some(mut creating) = self.creating.take() else {
            return;
        };
        if check_payloads(ExchangeType::CreateChildSa, true, inner).is_err() {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::InvalidResponse("CREATE_CHILD_SA response payloads"),
                out,
            );
            return;
        }
        let notify = |t| {
            inner.iter().find_map(|p| match p {
                Payload::Notify(n) if n.notify_type == t => Some(*n),
                _ => None,
            })
        };
        if let Some(n) = notify(NotifyType::InvalidKePayload) {
            // §1.3: retry with the group the responder asked for, if we offered it.
            let wanted = <[u8; 2]>::try_from(n.data)
                .ok()
                .map(|b| DhGroup::from(u16::from_be_bytes(b)));
            let offered: Vec<DhGroup> = match creating.op {
                Op::RekeyIke => peer
                    .ike_proposals
                    .iter()
                    .flat_map(|p| p.ke.clone())
                    .collect(),
                _ => peer
                    .children
                    .get(creating.cfg)
                    .map(|c| c.proposals().iter().flat_map(|p| p.ke.clone()).collect())
                    .unwrap_or_default(),
            };
            if let Some(g) = wanted.filter(|g| offered.contains(g) && !creating.tried.contains(g)) {
                if let Ok(k) = dh::generate(g, rng) {
                    creating.tried.push(g);
                    creating.dh = Some(k);
                    self.send_create(*creating, peer, config, rng, out);
                    return;
                }
            }
            self.child_failed(
                &creating,
                peer,
                ProtocolError::InvalidKe(wanted.map_or(0, DhGroup::value)),
                out,
            );
            return;
        }
        if notify(NotifyType::TemporaryFailure).is_some() {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::Unsupported("temporary failure"),
                out,
            );
            return;
        }
        if let Some(err) = inner.iter().find_map(|p| match p {
            Payload::Notify(n) if n.notify_type.is_error() => Some(n.notify_type),
            _ => None,
        }) {
            if err == NotifyType::ChildSaNotFound {
                // §2.25: the peer no longer has the SA we tried to rekey; drop our half.
                if let Op::RekeyChild { spi_in } = creating.op {
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
                return;
            }
            let reason = match err {
                NotifyType::NoProposalChosen => ProtocolError::NoProposalChosen,
                NotifyType::TsUnacceptable => ProtocolError::TsUnacceptable,
                _ => ProtocolError::InvalidResponse("CREATE_CHILD_SA refused"),
            };
            self.child_failed(&creating, peer, reason, out);
            return;
        }
        let result = if creating.op == Op::RekeyIke {
            self.check_ike_rekey_reply(&creating, inner, peer)
        } else {
            self.check_child_sa_reply(&creating, inner, peer)
        };
        let (agreed, nr, kes) = match result {
            Ok(r) => r,
            Err(e) => {
                self.child_failed(&creating, peer, e, out);
                return;
            }
        };
        if kes.pending.is_empty() {
            self.conclude(*creating, agreed, nr, kes, peer, out);
            return;
        }
        // RFC 9370 §2.2.4: additional key exchanges follow, linked by the responder's notify.
        let Some(link) = super::find_notify(inner, NotifyType::AdditionalKeyExchange) else {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::InvalidResponse(
                    "additional key exchanges chosen without ADDITIONAL_KEY_EXCHANGE",
                ),
                out,
            );
            return;
        };
        creating.followup = Some(followup::Initiator::new(
            agreed,
            nr,
            kes,
            link.data.to_vec(),
        ));
        self.send_followup(*creating, peer, config, rng, out);
    }

    /// Applies what our exchange agreed on once every key exchange is done: installs the Child
    /// SA or creates the new IKE SA, then deletes what it replaces.
    pub(super) fn conclude(
        &mut self,
        creating: Creating,
        agreed: Agreed,
        nr: Vec<u8>,
        kes: KeyExchanges,
        peer: &PeerConfig,
        out: &mut Output,
    ) {
        let extra = kes.extra();
        let result = match agreed {
            Agreed::Child(neg) => {
                self.install_child_with(
                    peer,
                    neg,
                    kes.first.as_ref().map(|s| s.expose()),
                    &extra,
                    &creating.ni,
                    &nr,
                    true,
                    out,
                );
                self.last_exchange_nr = nr;
                Ok(())
            }
            Agreed::Ike {
                spi_i,
                spi_r,
                chosen,
            } => match kes.first.as_ref() {
                Some(first) => self.complete_ike_rekey(
                    &creating,
                    spi_i,
                    spi_r,
                    chosen,
                    &nr,
                    first.expose(),
                    &extra,
                    peer,
                    out,
                ),
                None => Err(ProtocolError::InvalidResponse("no KE")),
            },
        };
        if let Err(e) = result {
            self.child_failed(&creating, peer, e, out);
            return;
        }
        match creating.op {
            Op::RekeyChild { spi_in } => {
                let new_spi = <[u8; 4]>::try_from(creating.spi.as_slice())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                let nr = std::mem::take(&mut self.last_exchange_nr);
                match self.children.iter_mut().find(|c| c.spi_in == spi_in) {
                    // The peer deleted the old SA while we rekeyed it (§2.25.1): the new one
                    // replaces nothing, so it goes too.
                    None => self.queue.push_front(Op::DeleteChild { spi_in: new_spi }),
                    Some(old) => match old.collision.take() {
                        Some(col)
                            if ours_is_redundant(
                                [&creating.ni, &nr],
                                [&col.nonces[0], &col.nonces[1]],
                            ) =>
                        {
                            // Simultaneous rekey, and our new SA has the lowest nonce: we close
                            // it; the peer, whose SA survives, deletes the old one.
                            old.busy = false;
                            self.queue.push_front(Op::DeleteChild { spi_in: new_spi });
                        }
                        // Make-before-break: the new SA is installed; now delete the old one.
                        // In a collision we won, the peer closes its redundant SA itself.
                        _ => self.queue.push_front(Op::DeleteChild { spi_in }),
                    },
                }
            }
            Op::RekeyIke if self.ike_collision_lost => {
                // We lost the §2.8.2 nonce rule: the peer deletes the old IKE SA.
                self.ike_collision_lost = false;
                self.queue.clear();
            }
            Op::RekeyIke => {
                // §2.18: the initiator of the rekey deletes the old IKE SA.
                self.queue.clear();
                self.queue.push_front(Op::DeleteIke);
            }
            _ => {}
        }
    }

    fn reply_parts<'p>(inner: &'p [Payload<'p>]) -> Parts<'p> {
        let (mut sa, mut nonce, mut ke, mut tsi, mut tsr) =
            (None, None, None, Vec::new(), Vec::new());
        for p in inner {
            match p {
                Payload::Sa(s) => sa = Some(s),
                Payload::Nonce(n) => nonce = Some(*n),
                Payload::Ke(k) => ke = Some(k),
                Payload::TsI(t) => tsi = t.iter().filter_map(Ts::from_wire).collect(),
                Payload::TsR(t) => tsr = t.iter().filter_map(Ts::from_wire).collect(),
                _ => {}
            }
        }
        (sa, nonce, ke, tsi, tsr)
    }

    /// Our CREATE_CHILD_SA exchange for a Child SA: the responder's choice checked and our
    /// key exchange completed.
    fn check_child_sa_reply(
        &mut self,
        creating: &Creating,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
    ) -> Result<(Agreed, Vec<u8>, KeyExchanges), ProtocolError> {
        let (sa, nonce, ke, ts_i, ts_r) = Self::reply_parts(inner);
        let (Some(sa), Some(nr)) = (sa, nonce) else {
            return Err(ProtocolError::InvalidResponse("no SA and Nonce"));
        };
        if !(16..=256).contains(&nr.len()) {
            return Err(ProtocolError::InvalidSyntax("nonce length"));
        }
        let [reply] = sa.proposals.as_slice() else {
            return Err(ProtocolError::InvalidResponse(
                "child SA reply with other than one proposal",
            ));
        };
        let child = peer.children.get(creating.cfg);
        let protocol = child.map_or(IpsecProtocol::Esp, ChildConfig::protocol);
        let props = child.map(|c| c.proposals().to_vec()).unwrap_or_default();
        let chosen = check_reply(&props, reply).ok_or(ProtocolError::InvalidResponse(
            "ESP or AH proposal we did not offer",
        ))?;
        let spi_out = <[u8; 4]>::try_from(reply.spi)
            .map(u32::from_be_bytes)
            .map_err(|_| ProtocolError::InvalidSyntax("ESP or AH SPI size"))?;
        let inside = |got: &[Ts], asked: &[Ts]| {
            !got.is_empty() && got.iter().all(|g| asked.iter().any(|a| g.within(a)))
        };
        if !inside(&ts_i, &creating.ts_i) || !inside(&ts_r, &creating.ts_r) {
            return Err(ProtocolError::InvalidResponse(
                "traffic selectors wider than proposed",
            ));
        }
        let gir = match (&creating.dh, chosen.ke) {
            (Some(k), Some(g)) if g == k.group() => {
                let ke = ke
                    .filter(|ke| ke.group == g)
                    .ok_or(ProtocolError::InvalidResponse("KE of another group"))?;
                Some(
                    k.shared_secret(ke.data)
                        .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?,
                )
            }
            (None, None) => None,
            _ => {
                return Err(ProtocolError::InvalidResponse(
                    "PFS group differs from ours",
                ))
            }
        };
        let spi_in = <[u8; 4]>::try_from(creating.spi.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| ProtocolError::InvalidSyntax("SPI"))?;
        let transport = creating.transport && inner.iter().any(|p| matches!(p, Payload::Notify(n) if n.notify_type == NotifyType::UseTransportMode));
        let neg = NegotiatedChild {
            replaces: None,
            cfg: creating.cfg,
            protocol,
            chosen,
            spi_in,
            spi_out,
            ts_i,
            ts_r,
            transport,
            flags: crate::ipsec::ChildFlags::from_payloads(inner),
        };
        let kes = KeyExchanges::new(gir, &chosen);
        Ok((Agreed::Child(neg), nr.to_vec(), kes))
    }

    /// Our CREATE_CHILD_SA exchange for an IKE SA rekey: the responder's choice checked and our
    /// key exchange completed.
    fn check_ike_rekey_reply(
        &mut self,
        creating: &Creating,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
    ) -> Result<(Agreed, Vec<u8>, KeyExchanges), ProtocolError> {
        let (sa, nonce, ke, _, _) = Self::reply_parts(inner);
        let (Some(sa), Some(nr), Some(ke)) = (sa, nonce, ke) else {
            return Err(ProtocolError::InvalidResponse("no SA, Nonce and KE"));
        };
        let [reply] = sa.proposals.as_slice() else {
            return Err(ProtocolError::InvalidResponse(
                "IKE SA reply with other than one proposal",
            ));
        };
        let chosen = check_reply(&peer.ike_proposals, reply).ok_or(
            ProtocolError::InvalidResponse("IKE proposal we did not offer"),
        )?;
        let kex = creating
            .dh
            .as_ref()
            .ok_or(ProtocolError::InvalidResponse("no KE"))?;
        if chosen.ke != Some(kex.group()) || ke.group != kex.group() {
            return Err(ProtocolError::InvalidResponse("KE group differs from ours"));
        }
        let spi_r = <[u8; 8]>::try_from(reply.spi)
            .map_err(|_| ProtocolError::InvalidSyntax("IKE SPI size"))?;
        let spi_i = <[u8; 8]>::try_from(creating.spi.as_slice())
            .map_err(|_| ProtocolError::InvalidSyntax("IKE SPI size"))?;
        let shared = kex
            .shared_secret(ke.data)
            .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?;
        let kes = KeyExchanges::new(Some(shared), &chosen);
        Ok((
            Agreed::Ike {
                spi_i,
                spi_r,
                chosen,
            },
            nr.to_vec(),
            kes,
        ))
    }

    /// Our IKE SA rekey, every key exchange done: the new IKE SA, with the Child SAs unless a
    /// collision (§2.8.2) decides otherwise.
    #[allow(clippy::too_many_arguments)]
    fn complete_ike_rekey(
        &mut self,
        creating: &Creating,
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        chosen: Chosen,
        nr: &[u8],
        shared: &[u8],
        extra: &[&[u8]],
        peer: &PeerConfig,
        out: &mut Output,
    ) -> Result<(), ProtocolError> {
        // §2.8.2: if both ends rekeyed at once, the IKE SA created with the lowest of the four
        // nonces is deleted by the end that created it; the Child SAs move to the other one,
        // whose creator deletes the old IKE SA.
        let collision = creating.ike_collision.as_ref().map(|(col, peer_new_spi)| {
            let redundant = ours_is_redundant([&creating.ni, nr], [&col.nonces[0], &col.nonces[1]]);
            (redundant, *peer_new_spi)
        });
        let lost = matches!(collision, Some((true, _)));
        self.ike_collision_pending = lost;
        let new = self.rekeyed_sa(
            true,
            spi_i,
            spi_r,
            &creating.ni,
            nr,
            chosen,
            shared,
            extra,
            peer,
        );
        self.ike_collision_pending = false;
        let mut new = new?;
        match collision {
            Some((true, peer_new_spi)) => {
                new.rekeyed = true;
                new.queue.push_back(Op::DeleteIke);
                out.kick_new_sa = true;
                out.move_children_to = Some(peer_new_spi);
                self.rekeyed = true;
                self.ike_rekey_at = None;
                self.ike_collision_lost = true;
            }
            Some((false, peer_new_spi)) => out.mark_redundant = Some(peer_new_spi),
            None => {}
        }
        out.new_sa = Some(Box::new(new));
        Ok(())
    }

    /// The IKE SA that replaces this one (§2.18): `SKEYSEED = prf(SK_d (old), g^ir (new) | Ni |
    /// Nr [| SK(1) | ... | SK(n)])` (the additional shared secrets `extra` of RFC 9370 §2.2.4),
    /// new SPIs and nonces, message IDs from zero, and this SA's Child SAs.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rekeyed_sa(
        &mut self,
        initiator: bool,
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        ni: &[u8],
        nr: &[u8],
        chosen: Chosen,
        shared: &[u8],
        extra: &[&[u8]],
        peer: &PeerConfig,
    ) -> Result<IkeSa, ProtocolError> {
        let old = self
            .keys
            .as_ref()
            .ok_or(ProtocolError::InvalidResponse("no keys"))?;
        // The old SA's PRF keys SKEYSEED (§2.18).
        let skeyseed = kdf::rekey_skeyseed(old.prf, old.sk_d.expose(), shared, extra, ni, nr);
        let new_keys =
            super::ike_keys(chosen, skeyseed.expose(), ni, nr, &spi_i, &spi_r, initiator)?;
        // In a collision (§2.8.2) the Child SAs stay until the nonce rule names the survivor.
        let children = if self.ike_collision_pending {
            Vec::new()
        } else {
            self.rekeyed = true;
            self.ike_rekey_at = None;
            std::mem::take(&mut self.children)
        };
        Ok(IkeSa {
            handle: self.handle,
            peer_idx: self.peer_idx,
            connection: self.connection.clone(),
            initiator,
            state: State::Established,
            local: self.local,
            remote: self.remote,
            spi_i,
            spi_r,
            ni: ni.to_vec(),
            nr: nr.to_vec(),
            chosen: Some(chosen),
            keys: Some(new_keys),
            handshake: Handshake::default(),
            window: Window::default(),
            children,
            created: self.clock,
            half_open_timeout: self.half_open_timeout,
            remote_id: self.remote_id.clone(),
            local_id: self.local_id.clone(),
            clock: self.clock,
            queue: Default::default(),
            creating: None,
            ike_rekey_at: peer.rekey_time.map(|t| self.clock + jittered(t, &spi_i)),
            ike_expire_at: peer.life_time.map(|t| self.clock + t),
            established_at: Some(self.clock),
            rekeyed: false,
            last_exchange_nr: Vec::new(),
            // The peer authenticated on the old SA; the new one inherits that (§2.18).
            auth: self.auth.clone(),
            // Fragmentation support was negotiated for the IKE SA and carries over (RFC 7383
            // §2.3).
            fragmentation: self.fragmentation,
            fragment_size: self.fragment_size,
            reassembly: None,
            initial_contact: false,
            peer_childless: self.peer_childless,
            prefer_initiator_proposals: self.prefer_initiator_proposals,
            ike_collision_pending: false,
            ike_collision_lost: false,
            nat: self.nat.clone(),
            liveness: super::dpd::Liveness::new(self.clock),
            followups: Vec::new(),
            esp_notifies: self.esp_notifies,
        })
    }

    pub(super) fn handle_create_child_request(
        &mut self,
        inner: &[Payload<'_>],
        mid: u32,
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        self.window.peer_next_mid = mid.wrapping_add(1);
        let reply = self.answer_create_child(inner, peer, rng, out);
        let payloads: Vec<Payload<'_>>;
        let owned;
        match &reply {
            Ok(r) => {
                owned = r;
                payloads = owned.payloads();
            }
            Err((t, data)) => {
                payloads = vec![Payload::Notify(Notify::new(*t, data))];
            }
        }
        if let Some(bytes) = self.seal(ExchangeType::CreateChildSa, true, mid, &payloads, rng) {
            self.window.last_response = Some((mid, bytes.clone()));
            self.transmit(out, bytes);
        }
    }

    fn answer_create_child(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) -> Result<Reply, (NotifyType, Vec<u8>)> {
        check_payloads(ExchangeType::CreateChildSa, false, inner)
            .map_err(|e| (e.notify().unwrap_or(NotifyType::InvalidSyntax), Vec::new()))?;
        let (sa, nonce, ke, ts_i, ts_r) = Self::reply_parts(inner);
        let (Some(sa), Some(ni)) = (sa, nonce) else {
            return Err((NotifyType::InvalidSyntax, Vec::new()));
        };
        if !(16..=256).contains(&ni.len()) {
            return Err((NotifyType::InvalidSyntax, Vec::new()));
        }
        let mut nr = vec![0u8; NONCE_LEN];
        rng.fill(&mut nr)
            .map_err(|_| (NotifyType::TemporaryFailure, Vec::new()))?;
        let rekey_ike = sa.proposals.iter().any(|p| p.protocol == ProtocolId::Ike);
        if rekey_ike {
            let our_ike_rekey = matches!(
                self.creating.as_deref(),
                Some(Creating {
                    op: Op::RekeyIke,
                    ike_collision: None,
                    ..
                })
            );
            if (self.creating.is_some() && !our_ike_rekey)
                || self.rekeyed
                || self.ike_followup_pending()
            {
                // Our own exchange on this IKE SA is under way (a rekey of one of its Child SAs,
                // or a delete): moving the Child SAs now could leave the two ends with different
                // sets, so the peer retries later (§2.25.2).
                return Err((NotifyType::TemporaryFailure, Vec::new()));
            }
            let ours = followup::selectable(&peer.ike_proposals);
            let chosen = select_with(&ours, &sa.proposals, self.prefer_initiator_proposals)
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let needs_followup = chosen.additional().next().is_some();
            if our_ike_rekey
                && (needs_followup || peer.ike_proposals.iter().any(Proposal::has_addke))
            {
                // Both ends rekey the IKE SA and one of them with additional key exchanges:
                // rather than a nonce rule spanning the IKE_FOLLOWUP_KE exchanges, the peer
                // retries later (as we will after its answer to ours).
                return Err((NotifyType::TemporaryFailure, Vec::new()));
            }
            let group = chosen
                .ke
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let ke = ke.ok_or((NotifyType::InvalidSyntax, Vec::new()))?;
            if ke.group != group {
                return Err((
                    NotifyType::InvalidKePayload,
                    group.value().to_be_bytes().to_vec(),
                ));
            }
            let peer_prop = sa
                .proposals
                .iter()
                .find(|p| p.number == chosen.number && p.protocol == ProtocolId::Ike)
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let spi_i = <[u8; 8]>::try_from(peer_prop.spi)
                .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
            let spi_r = rng
                .ike_spi()
                .map_err(|_| (NotifyType::TemporaryFailure, Vec::new()))?;
            let (our_ke, shared) = dh::respond(group, ke.data, rng)
                .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
            if needs_followup {
                // RFC 9370 §2.2.4: the new IKE SA waits for the IKE_FOLLOWUP_KE exchanges.
                let link = self
                    .await_followups(
                        Agreed::Ike {
                            spi_i,
                            spi_r,
                            chosen,
                        },
                        ni,
                        &nr,
                        KeyExchanges::new(Some(shared), &chosen),
                        rng,
                    )
                    .map_err(|t| (t, Vec::new()))?;
                return Ok(Reply {
                    chosen,
                    protocol: ProtocolId::Ike,
                    spi: spi_r.to_vec(),
                    nr,
                    ke: Some((group, our_ke)),
                    ts_i: Vec::new(),
                    ts_r: Vec::new(),
                    transport: false,
                    rekey_of: None,
                    link: Some(link),
                    esp_notifies: Vec::new(),
                });
            }
            // §2.8.2: if we are rekeying this IKE SA too, answer as usual but keep the Child
            // SAs here until both exchanges are done and the nonce rule names the survivor.
            self.ike_collision_pending = our_ike_rekey;
            let new = self.rekeyed_sa(
                false,
                spi_i,
                spi_r,
                ni,
                &nr,
                chosen,
                shared.expose(),
                &[],
                peer,
            );
            self.ike_collision_pending = false;
            let new = new.map_err(|_| (NotifyType::NoProposalChosen, Vec::new()))?;
            if our_ike_rekey {
                if let Some(c) = self.creating.as_mut() {
                    c.ike_collision = Some((
                        Collision {
                            nonces: [ni.to_vec(), nr.clone()],
                        },
                        spi_r,
                    ));
                }
            }
            out.new_sa = Some(Box::new(new));
            return Ok(Reply {
                chosen,
                protocol: ProtocolId::Ike,
                spi: spi_r.to_vec(),
                nr,
                ke: Some((group, our_ke)),
                ts_i: Vec::new(),
                ts_r: Vec::new(),
                transport: false,
                rekey_of: None,
                link: None,
                esp_notifies: Vec::new(),
            });
        }
        if matches!(
            self.creating.as_deref(),
            Some(Creating {
                op: Op::RekeyIke,
                ..
            })
        ) || self.rekeyed
            || self.ike_followup_pending()
        {
            // We are moving to a new IKE SA: create Child SAs there, later (§2.25.2).
            return Err((NotifyType::TemporaryFailure, Vec::new()));
        }
        // A Child SA: new, or a rekey of the one REKEY_SA names (its protocol and our outbound
        // SPI, §1.3.3).
        let rekey = inner.iter().find_map(|p| match p {
            Payload::Notify(n) if n.notify_type == NotifyType::RekeySa => Some((n.protocol, n.spi)),
            _ => None,
        });
        let (cfgs, rekey_of): (Vec<usize>, Option<u32>) = match rekey {
            Some((protocol, spi)) => {
                let spi = <[u8; 4]>::try_from(spi)
                    .map(u32::from_be_bytes)
                    .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
                let protocol = IpsecProtocol::from_wire(protocol)
                    .ok_or((NotifyType::InvalidSyntax, Vec::new()))?;
                let child = self
                    .children
                    .iter()
                    .find(|c| c.spi_out == spi && c.protocol == protocol)
                    .ok_or((NotifyType::ChildSaNotFound, Vec::new()))?;
                if child.deleting {
                    // We are deleting it ourselves (§2.25.1).
                    return Err((NotifyType::TemporaryFailure, Vec::new()));
                }
                (vec![child.cfg], Some(child.spi_in))
            }
            None => ((0..peer.children.len()).collect(), None),
        };
        let wants_transport = inner.iter().any(
            |p| matches!(p, Payload::Notify(n) if n.notify_type == NotifyType::UseTransportMode),
        );
        let mut last = NotifyType::TsUnacceptable;
        for cfg in cfgs {
            let Some(child) = peer.children.get(cfg) else {
                continue;
            };
            let (ni_ts, nr_ts) = (
                narrow(&ts_i, &child.remote_ts),
                narrow(&ts_r, &child.local_ts),
            );
            if ni_ts.is_empty() || nr_ts.is_empty() {
                continue;
            }
            let protocol = child.protocol();
            let Some(chosen) = select_with(
                &followup::selectable(child.proposals()),
                &sa.proposals,
                self.prefer_initiator_proposals,
            ) else {
                last = NotifyType::NoProposalChosen;
                continue;
            };
            let peer_prop = sa
                .proposals
                .iter()
                .find(|p| p.number == chosen.number && p.protocol == protocol.to_wire())
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let spi_out = <[u8; 4]>::try_from(peer_prop.spi)
                .map(u32::from_be_bytes)
                .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
            let ke_reply = match chosen.ke {
                Some(g) => {
                    let ke = ke.filter(|k| k.group == g).ok_or((
                        NotifyType::InvalidKePayload,
                        g.value().to_be_bytes().to_vec(),
                    ))?;
                    let (our, shared) = dh::respond(g, ke.data, rng)
                        .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
                    Some((g, our, shared))
                }
                None => None,
            };
            let spi_in = rng
                .child_spi(protocol, self.local.ip(), self.remote.ip())
                .map_err(|_| (NotifyType::TemporaryFailure, Vec::new()))?;
            let transport = wants_transport && child.mode == Mode::Transport;
            let neg = NegotiatedChild {
                replaces: rekey_of,
                cfg,
                protocol,
                chosen,
                spi_in,
                spi_out,
                ts_i: ni_ts.clone(),
                ts_r: nr_ts.clone(),
                transport,
                flags: crate::ipsec::ChildFlags::from_payloads(inner),
            };
            let (ke_out, shared) = match ke_reply {
                Some((g, our, shared)) => (Some((g, our)), Some(shared)),
                None => (None, None),
            };
            let link = if chosen.additional().next().is_some() {
                // RFC 9370 §2.2.4: installed after the IKE_FOLLOWUP_KE exchanges.
                let kes = KeyExchanges::new(shared, &chosen);
                let link = self
                    .await_followups(Agreed::Child(neg), ni, &nr, kes, rng)
                    .map_err(|t| (t, Vec::new()))?;
                Some(link)
            } else {
                self.install_child_with(
                    peer,
                    neg,
                    shared.as_ref().map(|s| s.expose()),
                    &[],
                    ni,
                    &nr,
                    false,
                    out,
                );
                None
            };
            if let Some(old) = rekey_of {
                // The initiator deletes the old SA once it has the new one; until then, keep it.
                // If we are rekeying it too, remember the peer's nonces for the nonce rule.
                let ours_under_way = matches!(self.creating.as_deref(), Some(Creating { op: Op::RekeyChild { spi_in }, .. }) if *spi_in == old);
                if let Some(c) = self.children.iter_mut().find(|c| c.spi_in == old) {
                    c.rekey_at = None;
                    if ours_under_way {
                        c.collision = Some(Collision {
                            nonces: [ni.to_vec(), nr.clone()],
                        });
                    }
                }
            }
            return Ok(Reply {
                chosen,
                protocol: protocol.to_wire(),
                spi: spi_in.to_be_bytes().to_vec(),
                nr,
                ke: ke_out,
                ts_i: ni_ts,
                ts_r: nr_ts,
                transport,
                rekey_of,
                link,
                esp_notifies: self.esp_notifies.payloads(Some(inner)),
            });
        }
        Err((last, Vec::new()))
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

/// A CREATE_CHILD_SA response in the making.
struct Reply {
    chosen: Chosen,
    protocol: ProtocolId,
    spi: Vec<u8>,
    nr: Vec<u8>,
    ke: Option<(DhGroup, Vec<u8>)>,
    ts_i: Vec<Ts>,
    ts_r: Vec<Ts>,
    transport: bool,
    rekey_of: Option<u32>,
    /// ADDITIONAL_KEY_EXCHANGE data: IKE_FOLLOWUP_KE exchanges follow (RFC 9370 §2.2.4).
    link: Option<Vec<u8>>,
    /// Our ESP notifies for a Child SA (RFC 7296 §3.10.1).
    esp_notifies: Vec<Payload<'static>>,
}

impl Reply {
    fn payloads(&self) -> Vec<Payload<'_>> {
        let mut p = Vec::new();
        if self.transport {
            p.push(Payload::Notify(Notify::new(
                NotifyType::UseTransportMode,
                &[],
            )));
        }
        p.push(Payload::Sa(v2::Sa {
            proposals: vec![self.chosen.to_wire(self.protocol, &self.spi)],
        }));
        p.push(Payload::Nonce(&self.nr));
        if let Some((g, data)) = &self.ke {
            p.push(Payload::Ke(KePayload { group: *g, data }));
        }
        if let Some(link) = &self.link {
            p.push(Payload::Notify(Notify::new(
                NotifyType::AdditionalKeyExchange,
                link,
            )));
        }
        if self.protocol != ProtocolId::Ike {
            p.push(Payload::TsI(self.ts_i.iter().map(Ts::to_wire).collect()));
            p.push(Payload::TsR(self.ts_r.iter().map(Ts::to_wire).collect()));
            p.extend(self.esp_notifies.iter().cloned());
        }
        let _ = self.rekey_of;
        p
    }
}
