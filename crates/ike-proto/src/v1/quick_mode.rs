//! Quick Mode (RFC 2409 §5.5): one IPsec SA pair per exchange, with PFS when the child's
//! proposal names a group, and the client identities (IDci, IDcr) as traffic selectors:
//!
//! ```text
//! Initiator                              Responder
//! HDR*, HASH(1), SA, Ni [, KE ] [, IDci, IDcr ] -->
//!                                        <-- HDR*, HASH(2), SA, Nr [, KE ] [, IDci, IDcr ]
//! HDR*, HASH(3)                          -->
//! ```
//!
//! HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [ | KE ] [ | IDci | IDcr ]),
//! HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [ | KE ] [ | IDci | IDcr ]),
//! HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b); KEYMAT per direction from SKEYID_d, the
//! optional g(qm)^xy, the protocol, the receiver's SPI and both nonces. The initiator installs
//! after message 2, the responder after message 3.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ike_crypto::kdf::v1 as kdf;
use ike_crypto::rng::Rng;
use ike_wire::v1::{
    self as wire, Body, EncapsulationMode, ExchangeType, IdType, Padding, Payload, PayloadType,
};

use super::main_mode::Step;
use super::nat::NatT;
use super::protect::{self, Chain};
use super::sa::{Child, IsakmpSa, Output, QuickMode, Retransmit, Sent};
use super::Ctx;
use crate::config::ChildConfig;
use crate::ipsec::{ChildFlags, ChildSaInstall, IpsecProtocol, Mode, Ts};
use crate::proposal::v1::{self as prop};
use crate::status::DropReason;
use crate::v2::{Event, ProtocolError};

const NONCE_LEN: usize = 32;
/// How long a Quick Mode may take, retransmissions included.
const QM_TIMEOUT: Duration = Duration::from_secs(60);
/// Most SA payloads in one Quick Mode (RFC 2409 §5.5 allows several).
const MAX_SAS: usize = 8;

fn plain_encap(mode: Mode) -> EncapsulationMode {
    match mode {
        Mode::Tunnel => EncapsulationMode::Tunnel,
        Mode::Transport => EncapsulationMode::Transport,
    }
}

/// The lifetime we propose and accept for a child's SAs: its `life_time`, else its
/// `rekey_time` plus 10 % (strongSwan's default), else an hour.
fn child_life(c: &ChildConfig) -> u32 {
    c.life_time
        .or(c.rekey_time.map(|r| r.mul_f64(1.1)))
        .map_or(3600, |d| {
            u32::try_from(d.as_secs().max(1)).unwrap_or(u32::MAX)
        })
}

/// An ID payload body for a client identity (RFC 2407 §4.6.2): a single address, a subnet or
/// a range, with the selector's protocol and port (a single port, or 0 for all).
pub(crate) fn ts_id(ts: &Ts) -> Vec<u8> {
    let port = if ts.start_port == ts.end_port {
        ts.start_port
    } else {
        0
    };
    let mut b = Vec::new();
    let (t, data): (IdType, Vec<u8>) = match (ts.start, ts.end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            let (s, e) = (u32::from(s), u32::from(e));
            if s == e {
                (IdType::Ipv4Addr, s.to_be_bytes().to_vec())
            } else if let Some(mask) = subnet_mask32(s, e) {
                (
                    IdType::Ipv4AddrSubnet,
                    [s.to_be_bytes(), mask.to_be_bytes()].concat(),
                )
            } else {
                (
                    IdType::Ipv4AddrRange,
                    [s.to_be_bytes(), e.to_be_bytes()].concat(),
                )
            }
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            let (s, e) = (u128::from(s), u128::from(e));
            if s == e {
                (IdType::Ipv6Addr, s.to_be_bytes().to_vec())
            } else if let Some(mask) = subnet_mask128(s, e) {
                (
                    IdType::Ipv6AddrSubnet,
                    [s.to_be_bytes(), mask.to_be_bytes()].concat(),
                )
            } else {
                (
                    IdType::Ipv6AddrRange,
                    [s.to_be_bytes(), e.to_be_bytes()].concat(),
                )
            }
        }
        _ => (IdType::Ipv4Addr, vec![0; 4]),
    };
    b.push(t.value());
    b.push(ts.protocol);
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&data);
    b
}

fn subnet_mask32(s: u32, e: u32) -> Option<u32> {
    let host = s ^ e;
    (host.wrapping_add(1) & host == 0 && s & host == 0).then_some(!host)
}

fn subnet_mask128(s: u128, e: u128) -> Option<u128> {
    let host = s ^ e;
    (host.wrapping_add(1) & host == 0 && s & host == 0).then_some(!host)
}

/// A traffic selector from a client ID payload body; `None` for the types that are not
/// addresses (RFC 2407 §4.6.2.1: a client ID of another type is refused, INVALID-ID-INFORMATION).
pub(crate) fn id_ts(b: &[u8]) -> Option<Ts> {
    let (&t, rest) = b.split_first()?;
    let protocol = *rest.first()?;
    let port = u16::from_be_bytes([*rest.get(1)?, *rest.get(2)?]);
    let data = rest.get(3..)?;
    let (start, end): (IpAddr, IpAddr) = match IdType::from(t) {
        IdType::Ipv4Addr => {
            let a: [u8; 4] = data.try_into().ok()?;
            (a.into(), a.into())
        }
        IdType::Ipv6Addr => {
            let a: [u8; 16] = data.try_into().ok()?;
            (a.into(), a.into())
        }
        IdType::Ipv4AddrSubnet => {
            let a: [u8; 8] = data.try_into().ok()?;
            let (s, m) = (
                u32::from_be_bytes([a[0], a[1], a[2], a[3]]),
                u32::from_be_bytes([a[4], a[5], a[6], a[7]]),
            );
            // A mask must be contiguous ones.
            if (!m).wrapping_add(1) & !m != 0 {
                return None;
            }
            ((s & m).to_be_bytes().into(), (s | !m).to_be_bytes().into())
        }
        IdType::Ipv6AddrSubnet => {
            let a: [u8; 32] = data.try_into().ok()?;
            let s = u128::from_be_bytes(a.get(..16)?.try_into().ok()?);
            let m = u128::from_be_bytes(a.get(16..)?.try_into().ok()?);
            if (!m).wrapping_add(1) & !m != 0 {
                return None;
            }
            ((s & m).to_be_bytes().into(), (s | !m).to_be_bytes().into())
        }
        IdType::Ipv4AddrRange => {
            let a: [u8; 8] = data.try_into().ok()?;
            let (s, e) = (
                u32::from_be_bytes([a[0], a[1], a[2], a[3]]),
                u32::from_be_bytes([a[4], a[5], a[6], a[7]]),
            );
            if s > e {
                return None;
            }
            (s.to_be_bytes().into(), e.to_be_bytes().into())
        }
        IdType::Ipv6AddrRange => {
            let a: [u8; 32] = data.try_into().ok()?;
            let s = u128::from_be_bytes(a.get(..16)?.try_into().ok()?);
            let e = u128::from_be_bytes(a.get(16..)?.try_into().ok()?);
            if s > e {
                return None;
            }
            (s.to_be_bytes().into(), e.to_be_bytes().into())
        }
        _ => return None,
    };
    let (start_port, end_port) = if port == 0 {
        (0, u16::MAX)
    } else {
        (port, port)
    };
    Some(Ts {
        protocol,
        start_port,
        end_port,
        start,
        end,
    })
}

fn host_ts(ip: IpAddr) -> Ts {
    Ts {
        protocol: 0,
        start_port: 0,
        end_port: u16::MAX,
        start: ip,
        end: ip,
    }
}

impl IsakmpSa {
    /// NAT-OA payloads (RFC 3947 §5.2) for transport mode behind a NAT: the initiator's
    /// original address, then the responder's (as each end knows them: ours, and the one we
    /// send to).
    fn add_nat_oa(&self, c: &mut Chain, mode: Mode) {
        let (Some(n), true, Mode::Transport) = (self.nat_t, self.behind_nat(), mode) else {
            return;
        };
        let t = if n == NatT::Rfc3947 {
            PayloadType::NatOa
        } else {
            PayloadType::NatOaDraft
        };
        let body = |ip: IpAddr| {
            let mut b = Vec::with_capacity(20);
            match ip {
                IpAddr::V4(a) => {
                    b.extend_from_slice(&[IdType::Ipv4Addr.value(), 0, 0, 0]);
                    b.extend_from_slice(&a.octets());
                }
                IpAddr::V6(a) => {
                    b.extend_from_slice(&[IdType::Ipv6Addr.value(), 0, 0, 0]);
                    b.extend_from_slice(&a.octets());
                }
            }
            b
        };
        let (i, r) = if self.initiator {
            (self.local.ip(), self.remote.ip())
        } else {
            (self.remote.ip(), self.local.ip())
        };
        c.add(t, &body(i)).add(t, &body(r));
    }

    /// The encapsulation mode we propose: UDP-encapsulated behind a NAT (RFC 3947 §5.1).
    fn encap_mode(&self, mode: Mode) -> EncapsulationMode {
        match self.nat_t {
            Some(n) if self.behind_nat() => n.encap(mode),
            _ => plain_encap(mode),
        }
    }

    /// The encapsulation modes we accept from an initiator (either NAT-T spelling).
    fn accepted_modes(&self, mode: Mode) -> Vec<EncapsulationMode> {
        if self.nat_t.is_some() && self.behind_nat() {
            vec![NatT::Rfc3947.encap(mode), NatT::Draft03.encap(mode)]
        } else {
            vec![plain_encap(mode)]
        }
    }

    /// Starts a Quick Mode that replaces the Child SA with inbound SPI `old`.
    pub(crate) fn start_rekey(
        &mut self,
        now: Instant,
        name: &str,
        old: u32,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        self.start_qm(now, name, Some(old), ctx)
    }

    fn start_qm(
        &mut self,
        now: Instant,
        name: &str,
        replaces: Option<u32>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        self.start_qm_with(now, name, &[], replaces, ctx)
    }

    /// Quick Modes for children of the connection right after Phase 1: children with the same
    /// selectors and mode go in one exchange with one SA payload each (RFC 2409 §5.5).
    pub(crate) fn start_quick_modes(
        &mut self,
        now: Instant,
        names: Vec<String>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let Some(peer) = self.peer(ctx.peers).cloned() else {
            return Output::default();
        };
        let (here, there) = (self.local.ip(), self.remote.ip());
        let key = |n: &String| {
            peer.children.iter().find(|c| &c.name == n).map(|c| {
                (
                    Ts::resolve(&c.local_ts, here).first().copied(),
                    Ts::resolve(&c.remote_ts, there).first().copied(),
                    c.mode,
                )
            })
        };
        let mut groups: Vec<Vec<String>> = Vec::new();
        for n in names {
            match groups.iter_mut().find(|g| {
                g.first()
                    .is_some_and(|f| key(f).is_some() && key(f) == key(&n))
            }) {
                Some(g) if g.len() < MAX_SAS => g.push(n),
                _ => groups.push(vec![n]),
            }
        }
        let mut out = Output::default();
        for g in groups {
            let Some((first, rest)) = g.split_first() else {
                continue;
            };
            let o = self.start_qm_with(now, first, rest, None, ctx);
            out.transmits.extend(o.transmits);
            out.events.extend(o.events);
        }
        out
    }

    fn start_qm_with(
        &mut self,
        now: Instant,
        name: &str,
        with: &[String],
        replaces: Option<u32>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        match self.qm1(now, name, with, replaces, ctx) {
            Ok(out) => out,
            Err(e) => {
                let mut out = Output::default();
                self.rekey_failed(now, replaces);
                tracing::info!(target: "ike", "Quick Mode for child {name} not started: {e}");
                out.events.push(Event::ChildSaFailed {
                    sa: self.handle,
                    connection: self.conn.clone(),
                    child: name.to_owned(),
                    reason: e,
                });
                out
            }
        }
    }

    fn new_mid(&mut self, ctx: &mut Ctx<'_>) -> Result<u32, ProtocolError> {
        loop {
            let mut b = [0u8; 4];
            ctx.rng
                .fill(&mut b)
                .map_err(|_| ProtocolError::LocalFailure("RNG failed"))?;
            let mid = u32::from_be_bytes(b);
            if mid != 0 && self.seen_mids.insert(mid) {
                return Ok(mid);
            }
        }
    }

    fn qm1(
        &mut self,
        now: Instant,
        name: &str,
        with: &[String],
        replaces: Option<u32>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, ProtocolError> {
        let peer = self
            .peer(ctx.peers)
            .cloned()
            .ok_or(ProtocolError::LocalFailure("connection gone"))?;
        let child = peer
            .children
            .iter()
            .find(|c| c.name == name)
            .ok_or(ProtocolError::LocalFailure("no such child"))?;
        let protocol = child.protocol();
        let wire_proto = match protocol {
            IpsecProtocol::Esp => wire::ProtocolId::Esp,
            IpsecProtocol::Ah => wire::ProtocolId::Ah,
        };
        let mut offered = prop::phase2_suites(child.proposals(), wire_proto);
        // One KE payload: every suite offered has the first one's PFS group.
        let pfs = offered.first().and_then(|s| s.ke);
        offered.retain(|s| s.ke == pfs);
        offered.truncate(255);
        if offered.is_empty() {
            return Err(ProtocolError::Unsupported(
                "no ESP/AH proposal IKEv1 can carry",
            ));
        }
        let (local_list, remote_list) = (
            Ts::resolve(&child.local_ts, self.local.ip()),
            Ts::resolve(&child.remote_ts, self.remote.ip()),
        );
        let (Some(local_ts), Some(remote_ts)) = (local_list.first(), remote_list.first()) else {
            return Err(ProtocolError::LocalFailure(
                "child without traffic selectors",
            ));
        };
        let spi_in = ctx
            .rng
            .child_spi(protocol, self.local.ip(), self.remote.ip())
            .map_err(|_| ProtocolError::LocalFailure("no inbound SPI"))?;
        let mid = self.new_mid(ctx)?;
        let mut ni = vec![0u8; NONCE_LEN];
        ctx.rng
            .fill(&mut ni)
            .map_err(|_| ProtocolError::LocalFailure("RNG failed"))?;
        let dh = match pfs {
            Some(g) => Some(
                ctx.dh_generate(g)
                    .map_err(|_| ProtocolError::LocalFailure("key generation failed"))?,
            ),
            None => None,
        };
        let sa = prop::encode_phase2_sa(
            wire_proto,
            spi_in,
            &offered,
            self.encap_mode(child.mode),
            child_life(child),
        );
        let mut rest = Chain::default();
        rest.add(PayloadType::Sa, &sa);
        // Further SAs with the same selectors, mode and PFS group (RFC 2409 §5.5).
        let mut extra = Vec::new();
        for other in with {
            let Some(oc) = peer.children.iter().find(|c| &c.name == other) else {
                continue;
            };
            let proto = oc.protocol();
            let wp = match proto {
                IpsecProtocol::Esp => wire::ProtocolId::Esp,
                IpsecProtocol::Ah => wire::ProtocolId::Ah,
            };
            let mut o = prop::phase2_suites(oc.proposals(), wp);
            o.retain(|s| s.ke == pfs);
            o.truncate(255);
            if o.is_empty() {
                continue;
            }
            let spi = ctx
                .rng
                .child_spi(proto, self.local.ip(), self.remote.ip())
                .map_err(|_| ProtocolError::LocalFailure("no inbound SPI"))?;
            rest.add(
                PayloadType::Sa,
                &prop::encode_phase2_sa(wp, spi, &o, self.encap_mode(oc.mode), child_life(oc)),
            );
            extra.push(super::sa::ExtraSa {
                child: oc.name.clone(),
                protocol: proto,
                spi_in: spi,
                offered: o,
            });
        }
        rest.add(PayloadType::Nonce, &ni);
        if let Some(dh) = &dh {
            rest.add(PayloadType::Ke, dh.public_value());
        }
        rest.add(PayloadType::Id, &ts_id(local_ts))
            .add(PayloadType::Id, &ts_id(remote_ts));
        self.add_nat_oa(&mut rest, child.mode);
        let keys = self
            .keys
            .as_ref()
            .ok_or(ProtocolError::LocalFailure("no keys"))?;
        let hash = kdf::qm_hash1(keys.prf, keys.skeyid_a.expose(), mid, &rest.buf);
        let mut c = Chain::default();
        c.add(PayloadType::Hash, hash.expose());
        append(&mut c, &rest);
        let iv = keys.phase2_iv(mid);
        let (bytes, next_iv) = protect::encrypted(
            &keys.cipher,
            &iv,
            self.cookies(),
            ExchangeType::QuickMode,
            0,
            mid,
            &c,
        )
        .ok_or(ProtocolError::LocalFailure("encryption failed"))?;
        tracing::debug!(target: "ike", "sending Quick Mode message 1 (M-ID {mid:08x}) [HASH SA No{} ID ID] for child {name}", if pfs.is_some() { " KE" } else { "" });
        self.quick.push(QuickMode {
            mid,
            initiator: true,
            iv: next_iv,
            child: name.to_owned(),
            protocol,
            mode: child.mode,
            spi_in,
            offered,
            extra,
            ni,
            nr: Vec::new(),
            dh,
            local_ts: *local_ts,
            remote_ts: *remote_ts,
            done: false,
            replaces,
            sent: Some(Sent {
                bytes: bytes.clone(),
                awaiting: Some(Retransmit::start(now, ctx.config)),
                answers: None,
            }),
            expires: now + QM_TIMEOUT,
        });
        let mut out = Output::default();
        out.transmits.extend(self.datagrams(bytes));
        Ok(out)
    }

    /// A Quick Mode message.
    pub(crate) fn quick_mode(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let mid = msg.header.message_id;
        let r = match self.quick.iter().position(|q| q.mid == mid) {
            Some(i) => {
                let (initiator, waiting) = self
                    .quick
                    .get(i)
                    .map_or((false, false), |q| (q.initiator, !q.done));
                match (initiator, waiting) {
                    (true, true) => self.qm2(now, i, data, msg, ctx),
                    (false, true) => self.qm3(now, i, msg),
                    _ => Err(Step::Drop(DropReason::UnexpectedMessageId)),
                }
            }
            None if !self.seen_mids.contains(&mid) => self.qm_respond(now, data, msg, ctx),
            // A message ID already used by a finished exchange: a replay.
            None => Err(Step::Drop(DropReason::UnexpectedMessageId)),
        };
        match r {
            Ok(out) => out,
            Err(Step::Drop(reason)) => self.dropped_output(reason),
            Err(Step::Fail(e)) => {
                tracing::info!(target: "ike", "Quick Mode (M-ID {mid:08x}) failed: {e}");
                let mut out = Output::default();
                if let Some(i) = self.quick.iter().position(|q| q.mid == mid) {
                    let q = self.quick.remove(i);
                    self.rekey_failed(now, q.replaces);
                    out.events.push(Event::ChildSaFailed {
                        sa: self.handle,
                        connection: self.conn.clone(),
                        child: q.child,
                        reason: e,
                    });
                }
                out
            }
        }
    }

    /// Decrypts a Phase 2 message with `iv`; the plaintext, its layout and the next IV.
    pub(super) fn decrypt_p2(
        &self,
        iv: &[u8],
        msg: &wire::Message<'_>,
    ) -> Result<(Vec<u8>, protect::Layout, usize, Vec<u8>), Step> {
        let Body::Encrypted {
            first_payload,
            ciphertext,
        } = &msg.body
        else {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        };
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let (plain, next) = protect::decrypt(&keys.cipher, iv, ciphertext)
            .ok_or(Step::Drop(DropReason::IntegrityCheckFailed))?;
        let (l, end) = protect::layout(first_payload.value(), &plain)
            .ok_or(Step::Drop(DropReason::IntegrityCheckFailed))?;
        // RFC 2409 §5.5: HASH comes first.
        if l.first().map(|p| p.0) != Some(PayloadType::Hash.value()) {
            return Err(Step::Drop(DropReason::IntegrityCheckFailed));
        }
        Ok((plain, l, end, next))
    }

    /// Responder: message 1 of a new Quick Mode.
    fn qm_respond(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let mid = msg.header.message_id;
        let iv = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?
            .phase2_iv(mid);
        let (plain, l, end, next_iv) = self.decrypt_p2(&iv, msg)?;
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let rest_at = l.get(1).map_or(end, |p| p.1);
        let rest = plain.get(rest_at..end).unwrap_or_default();
        let want = kdf::qm_hash1(keys.prf, keys.skeyid_a.expose(), mid, rest);
        if !ike_crypto::ct_eq(want.expose(), protect::body_of(&plain, &l, 0)) {
            tracing::info!(target: "ike", "Quick Mode message 1 (M-ID {mid:08x}): HASH(1) does not verify");
            return Err(Step::Drop(DropReason::IntegrityCheckFailed));
        }
        // Authenticated: the message ID is used now, whatever follows.
        self.seen_mids.insert(mid);
        let chain = wire::decode_payloads(
            wire::PayloadType::from(l.first().map_or(0, |p| p.0)),
            plain.get(..end).unwrap_or_default(),
            28,
            Padding::Forbidden,
        )
        .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
        let mut sas = Vec::new();
        let (mut ni, mut ke, mut ids) = (None, None, Vec::new());
        for (i, p) in chain.payloads.iter().enumerate().skip(1) {
            match p {
                Payload::Sa(s) => sas.push(s),
                Payload::Nonce(n) => ni = Some(*n),
                Payload::Ke(k) => ke = Some(*k),
                Payload::Id(_) => ids.push(protect::body_of(&plain, &l, i).to_vec()),
                // NAT-OA (RFC 3947 §5.2): the peer's original addresses in transport mode;
                // Linux needs no checksum fix-up for ESP in UDP, so they are not used.
                Payload::Notify(_) | Payload::VendorId(_) | Payload::NatOa(_) => {}
                _ => return Err(Step::Drop(DropReason::InvalidPayloads)),
            }
        }
        // RFC 2409 §5.5: several SA payloads negotiate several SAs with the same client IDs.
        let (Some(ni), false) = (ni, sas.is_empty() || sas.len() > MAX_SAS) else {
            return self.qm_refuse(
                mid,
                ctx,
                wire::NotifyType::PayloadMalformed,
                "no nonce, or no SA payload, or too many",
            );
        };
        // Client IDs: both or none (RFC 2409 §5.5); none means the peers' addresses.
        let (remote_ts, local_ts) = match ids.as_slice() {
            [] => (host_ts(self.remote.ip()), host_ts(self.local.ip())),
            [i, r] => match (id_ts(i), id_ts(r)) {
                (Some(i), Some(r)) => (i, r),
                _ => {
                    return self.qm_refuse(
                        mid,
                        ctx,
                        wire::NotifyType::InvalidIdInformation,
                        "a client ID that is not an address, subnet or range",
                    )
                }
            },
            _ => {
                return self.qm_refuse(
                    mid,
                    ctx,
                    wire::NotifyType::InvalidIdInformation,
                    "one client ID without the other",
                )
            }
        };
        let peer = self
            .peer(ctx.peers)
            .cloned()
            .ok_or(Step::Fail(ProtocolError::LocalFailure("connection gone")))?;
        // For each SA payload, the first child not yet taken whose selectors contain the
        // proposed ones (no narrowing in IKEv1) and whose proposals accept it.
        let (here, there) = (self.local.ip(), self.remote.ip());
        let fits = |c: &&ChildConfig| {
            Ts::resolve(&c.local_ts, here)
                .iter()
                .any(|t| local_ts.within(t))
                && Ts::resolve(&c.remote_ts, there)
                    .iter()
                    .any(|t| remote_ts.within(t))
        };
        let mut picks: Vec<(&ChildConfig, prop::Phase2, u8)> = Vec::new();
        for sa in &sas {
            let pick = peer.children.iter().filter(fits).find_map(|c| {
                if picks.iter().any(|(p, _, _)| p.name == c.name) {
                    return None;
                }
                let proto = match c.protocol() {
                    IpsecProtocol::Esp => wire::ProtocolId::Esp,
                    IpsecProtocol::Ah => wire::ProtocolId::Ah,
                };
                let ours = prop::phase2_suites(c.proposals(), proto);
                prop::select_phase2(&ours, proto, &self.accepted_modes(c.mode), sa)
                    .ok()
                    .map(|(ch, n)| (c, ch, n))
            });
            match pick {
                Some(p) => picks.push(p),
                None => {
                    let why = if peer.children.iter().any(|c| fits(&c)) {
                        (
                            wire::NotifyType::NoProposalChosen,
                            "no acceptable ESP/AH proposal",
                        )
                    } else {
                        (
                            wire::NotifyType::InvalidIdInformation,
                            "the client IDs match no child",
                        )
                    };
                    tracing::info!(target: "ike", "Quick Mode from {} for {remote_ts} === {local_ts}: {}", self.remote, why.1);
                    return self.qm_refuse(mid, ctx, why.0, why.1);
                }
            }
        }
        // One KE for all: every SA's PFS group must be the KE's.
        let group = picks.first().and_then(|p| p.1.suite.ke);
        if picks.iter().any(|p| p.1.suite.ke != group) {
            return self.qm_refuse(
                mid,
                ctx,
                wire::NotifyType::NoProposalChosen,
                "the SAs ask for different PFS groups",
            );
        }
        let (dh, gxy) = match (group, ke) {
            (Some(g), Some(k)) => {
                if ctx.dh_len(g) != Some(k.len()) {
                    return Err(Step::Drop(DropReason::InvalidPayloads));
                }
                let dh = ctx.dh_generate(g).map_err(|_| {
                    Step::Fail(ProtocolError::LocalFailure("key generation failed"))
                })?;
                let gxy = dh
                    .shared_secret(k)
                    .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
                (Some(dh), Some(gxy))
            }
            (None, None) => (None, None),
            _ => {
                return self.qm_refuse(
                    mid,
                    ctx,
                    wire::NotifyType::NoProposalChosen,
                    "PFS and KE payload disagree",
                )
            }
        };
        let mut nr = vec![0u8; NONCE_LEN];
        ctx.rng
            .fill(&mut nr)
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("RNG failed")))?;
        let mut accepted = Vec::new();
        for (child, chosen, number) in picks {
            let protocol = child.protocol();
            let spi_in = ctx
                .rng
                .child_spi(protocol, self.local.ip(), self.remote.ip())
                .map_err(|_| Step::Fail(ProtocolError::LocalFailure("no inbound SPI")))?;
            accepted.push((child, chosen, number, spi_in));
        }
        let mut rest = Chain::default();
        for (_, chosen, number, spi_in) in &accepted {
            rest.add(
                PayloadType::Sa,
                &prop::encode_phase2_reply(chosen, *spi_in, *number),
            );
        }
        rest.add(PayloadType::Nonce, &nr);
        if let Some(dh) = &dh {
            rest.add(PayloadType::Ke, dh.public_value());
        }
        if let [i, r] = ids.as_slice() {
            rest.add(PayloadType::Id, i).add(PayloadType::Id, r);
        }
        if let Some((child, _, _, _)) = accepted.first() {
            self.add_nat_oa(&mut rest, child.mode);
        }
        // RFC 2407 §4.6.3.1: a shorter lifetime of ours is announced, and used on both sides.
        for (child, chosen, _, _) in &mut accepted {
            let ours = child_life(child);
            if ours < chosen.life {
                rest.add(
                    PayloadType::Notify,
                    &responder_lifetime(chosen.protocol, chosen.spi, ours),
                );
                chosen.life = ours;
            }
        }
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let hash = kdf::qm_hash2(keys.prf, keys.skeyid_a.expose(), mid, ni, &rest.buf);
        let mut c = Chain::default();
        c.add(PayloadType::Hash, hash.expose());
        append(&mut c, &rest);
        let (bytes, after) = protect::encrypted(
            &keys.cipher,
            &next_iv,
            self.cookies(),
            ExchangeType::QuickMode,
            0,
            mid,
            &c,
        )
        .ok_or(Step::Fail(ProtocolError::LocalFailure("encryption failed")))?;
        let mut installs = Vec::new();
        for (child, chosen, _, spi_in) in &accepted {
            let install = self.child_install(
                &child.name,
                child.protocol(),
                child.mode,
                chosen,
                *spi_in,
                chosen.spi,
                ni,
                &nr,
                gxy.as_ref().map(|g| g.expose()),
                local_ts,
                remote_ts,
            )?;
            installs.push(install);
        }
        let names: Vec<String> = accepted.iter().map(|a| a.0.name.clone()).collect();
        tracing::debug!(target: "ike", "sending Quick Mode message 2 (M-ID {mid:08x}) [HASH {}No{} ID ID] for {}", "SA ".repeat(accepted.len()), if dh.is_some() { " KE" } else { "" }, names.join(", "));
        let Some((first, _, _, first_spi)) = accepted.first() else {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        };
        self.quick.push(QuickMode {
            mid,
            initiator: false,
            iv: after,
            child: first.name.clone(),
            protocol: first.protocol(),
            mode: first.mode,
            spi_in: *first_spi,
            offered: Vec::new(),
            extra: Vec::new(),
            ni: ni.to_vec(),
            nr: nr.clone(),
            dh: None,
            local_ts,
            remote_ts,
            done: false,
            replaces: None,
            sent: Some(Sent {
                bytes: bytes.clone(),
                awaiting: Some(Retransmit::start(now, ctx.config)),
                answers: Some(data.to_vec()),
            }),
            expires: now + QM_TIMEOUT,
        });
        // Installed before message 2 leaves: the initiator sends on the new SA as soon as it
        // has message 2. A rekey of a child we hold (same child, same selectors) keeps our
        // outbound traffic on the old SA until that is deleted, because the initiator installs
        // the new inbound SA only when message 2 arrives (make-before-break, no loss).
        let mut out = Output::default();
        for (mut install, (child, chosen, _, _)) in installs.into_iter().zip(&accepted) {
            let same = |c: &&Child| {
                c.name == child.name && c.local_ts == local_ts && c.remote_ts == remote_ts
            };
            install.outbound_after_delete = self
                .children
                .iter()
                .rev()
                .find(|c| same(c) && c.delete_at.is_none())
                .map(|c| c.spi_in);
            // IKEv1 does not say what a Quick Mode replaces: the oldest SA of the same child and
            // selectors (the one a rekey of the peer's is for, even if ours replaced it already).
            let replaces = self.children.iter().find(same).map(|c| c.spi_in);
            let mut c = Child::new(&install, (ni, &nr), (local_ts, remote_ts), replaces, now);
            Self::schedule(&mut c, now, chosen.life, false, None);
            self.add_child(now, c);
            out.events.push(Event::ChildSaInstall(Box::new(install)));
        }
        out.transmits.extend(self.datagrams(bytes));
        Ok(out)
    }

    /// Refuses a Quick Mode with a protected notify (RFC 2409 §5.7).
    fn qm_refuse(
        &mut self,
        mid: u32,
        ctx: &mut Ctx<'_>,
        n: wire::NotifyType,
        why: &'static str,
    ) -> Result<Output, Step> {
        tracing::info!(target: "ike", "Quick Mode (M-ID {mid:08x}) refused with {}: {why}", n.name().unwrap_or("a notify"));
        let mut out = Output::default();
        if let Some(t) = self.send_notify(n, &[], ctx) {
            out.transmits.push(t);
        }
        Ok(out)
    }

    /// Initiator: message 2; install, send message 3.
    fn qm2(
        &mut self,
        now: Instant,
        i: usize,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let mid = msg.header.message_id;
        let iv = self
            .quick
            .get(i)
            .map(|q| q.iv.clone())
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let (plain, l, end, next_iv) = self.decrypt_p2(&iv, msg)?;
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let q = self
            .quick
            .get(i)
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let rest_at = l.get(1).map_or(end, |p| p.1);
        let rest = plain.get(rest_at..end).unwrap_or_default();
        let want = kdf::qm_hash2(keys.prf, keys.skeyid_a.expose(), mid, &q.ni, rest);
        if !ike_crypto::ct_eq(want.expose(), protect::body_of(&plain, &l, 0)) {
            tracing::info!(target: "ike", "Quick Mode message 2 (M-ID {mid:08x}): HASH(2) does not verify");
            return Err(Step::Drop(DropReason::IntegrityCheckFailed));
        }
        let chain = wire::decode_payloads(
            wire::PayloadType::Hash,
            plain.get(..end).unwrap_or_default(),
            28,
            Padding::Forbidden,
        )
        .map_err(|_| Step::Fail(ProtocolError::InvalidSyntax("Quick Mode message 2")))?;
        let (mut sas, mut nr, mut ke, mut ids) = (Vec::new(), None, None, Vec::new());
        let mut responder_life: Vec<(u32, u32)> = Vec::new();
        for (j, p) in chain.payloads.iter().enumerate().skip(1) {
            match p {
                Payload::Sa(s) => sas.push(s),
                Payload::Nonce(n) => nr = Some(*n),
                Payload::Ke(k) => ke = Some(*k),
                Payload::Id(_) => ids.push(protect::body_of(&plain, &l, j).to_vec()),
                Payload::Notify(n) if n.notify_type == wire::NotifyType::ResponderLifetime => {
                    if let (Some(life), Ok(spi)) = (life_of(n.data), <[u8; 4]>::try_from(n.spi)) {
                        responder_life.push((u32::from_be_bytes(spi), life));
                    }
                }
                Payload::Notify(_) | Payload::VendorId(_) | Payload::NatOa(_) => {}
                _ => {
                    return Err(Step::Fail(ProtocolError::InvalidSyntax(
                        "unexpected payload in Quick Mode message 2",
                    )))
                }
            }
        }
        let (Some(sa), Some(nr)) = (sas.first(), nr) else {
            return Err(Step::Fail(ProtocolError::InvalidSyntax(
                "Quick Mode message 2 without SA or nonce",
            )));
        };
        if sas.len() != 1 + q.extra.len() {
            return Err(Step::Fail(ProtocolError::InvalidResponse(
                "not one SA payload for each SA proposed",
            )));
        }
        let wire = |p: IpsecProtocol| match p {
            IpsecProtocol::Esp => wire::ProtocolId::Esp,
            IpsecProtocol::Ah => wire::ProtocolId::Ah,
        };
        // RESPONDER-LIFETIME names the SA by our SPI (its outbound one) or the responder's.
        let cap = |c: &mut prop::Phase2, spi_in: u32| {
            for (spi, life) in &responder_life {
                if *spi == c.spi || *spi == spi_in {
                    c.life = c.life.min(*life);
                }
            }
        };
        let mut chosen =
            prop::check_phase2_reply(&q.offered, wire(q.protocol), self.encap_mode(q.mode), sa)
                .ok_or(Step::Fail(ProtocolError::NoProposalChosen))?;
        cap(&mut chosen, q.spi_in);
        let mut extra_chosen = Vec::new();
        for (e, sa) in q.extra.iter().zip(sas.iter().skip(1)) {
            let mut c =
                prop::check_phase2_reply(&e.offered, wire(e.protocol), self.encap_mode(q.mode), sa)
                    .ok_or(Step::Fail(ProtocolError::NoProposalChosen))?;
            cap(&mut c, e.spi_in);
            extra_chosen.push((e.child.clone(), e.protocol, e.spi_in, c));
        }
        // The responder echoes our client IDs, or none if we sent none.
        if !ids.is_empty() {
            let ours = [ts_id(&q.local_ts), ts_id(&q.remote_ts)];
            if ids.as_slice() != ours.as_slice() {
                return Err(Step::Fail(ProtocolError::TsUnacceptable));
            }
        }
        let gxy = match (&q.dh, ke) {
            (Some(dh), Some(k)) => Some(
                dh.shared_secret(k)
                    .map_err(|_| Step::Fail(ProtocolError::InvalidSyntax("bad KE")))?,
            ),
            (None, None) => None,
            _ => {
                return Err(Step::Fail(ProtocolError::InvalidSyntax(
                    "PFS and KE disagree",
                )))
            }
        };
        let peer = self
            .peer(ctx.peers)
            .cloned()
            .ok_or(Step::Fail(ProtocolError::LocalFailure("connection gone")))?;
        let child = peer
            .children
            .iter()
            .find(|c| c.name == q.child)
            .ok_or(Step::Fail(ProtocolError::LocalFailure("child gone")))?;
        let hash3 = kdf::qm_hash3(keys.prf, keys.skeyid_a.expose(), mid, &q.ni, nr);
        let mut c = Chain::default();
        c.add(PayloadType::Hash, hash3.expose());
        let (bytes, _) = protect::encrypted(
            &keys.cipher,
            &next_iv,
            self.cookies(),
            ExchangeType::QuickMode,
            0,
            mid,
            &c,
        )
        .ok_or(Step::Fail(ProtocolError::LocalFailure("encryption failed")))?;
        let replaces = q.replaces;
        let rekey_cfg = child.clone();
        let (name, protocol, mode, spi_in, ni, lts, rts) = (
            q.child.clone(),
            q.protocol,
            q.mode,
            q.spi_in,
            q.ni.clone(),
            q.local_ts,
            q.remote_ts,
        );
        let install = self.child_install(
            &name,
            protocol,
            mode,
            &chosen,
            spi_in,
            chosen.spi,
            &ni,
            nr,
            gxy.as_ref().map(|g| g.expose()),
            lts,
            rts,
        )?;
        tracing::debug!(target: "ike", "sending Quick Mode message 3 (M-ID {mid:08x}) [HASH]");
        tracing::debug!(target: "ike", "IPsec SA {name} established: SPIs {spi_in:08x}_i {:08x}_o ({})", chosen.spi, chosen.describe());
        if let Some(q) = self.quick.get_mut(i) {
            q.done = true;
            q.dh = None;
            // Keep message 3 to answer a repeated message 2 until the exchange expires.
            q.sent = Some(Sent {
                bytes: bytes.clone(),
                awaiting: None,
                answers: Some(data.to_vec()),
            });
            q.expires = now + QM_TIMEOUT;
        }
        let mut c = Child::new(&install, (&ni, nr), (lts, rts), replaces, now);
        Self::schedule(&mut c, now, chosen.life, true, Some(&rekey_cfg));
        let mut install = install;
        install.rekey_in = c.rekey_at.map(|t| t.saturating_duration_since(now));
        let mut out = Output::default();
        self.rekeyed(now, replaces);
        self.add_child(now, c);
        out.transmits.extend(self.datagrams(bytes));
        out.events.push(Event::ChildSaInstall(Box::new(install)));
        for (name, protocol, spi_in, chosen) in extra_chosen {
            let cfg = peer.children.iter().find(|c| c.name == name).cloned();
            let install = self.child_install(
                &name,
                protocol,
                mode,
                &chosen,
                spi_in,
                chosen.spi,
                &ni,
                nr,
                gxy.as_ref().map(|g| g.expose()),
                lts,
                rts,
            )?;
            let mut c = Child::new(&install, (&ni, nr), (lts, rts), None, now);
            Self::schedule(&mut c, now, chosen.life, true, cfg.as_ref());
            self.add_child(now, c);
            out.events.push(Event::ChildSaInstall(Box::new(install)));
        }
        Ok(out)
    }

    /// Responder: message 3 completes the exchange (the SAs went in with message 2).
    fn qm3(&mut self, _now: Instant, i: usize, msg: &wire::Message<'_>) -> Result<Output, Step> {
        let mid = msg.header.message_id;
        let iv = self
            .quick
            .get(i)
            .map(|q| q.iv.clone())
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let (plain, l, _, _) = self.decrypt_p2(&iv, msg)?;
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let q = self
            .quick
            .get(i)
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let want = kdf::qm_hash3(keys.prf, keys.skeyid_a.expose(), mid, &q.ni, &q.nr);
        if !ike_crypto::ct_eq(want.expose(), protect::body_of(&plain, &l, 0)) {
            tracing::info!(target: "ike", "Quick Mode message 3 (M-ID {mid:08x}): HASH(3) does not verify");
            return Err(Step::Drop(DropReason::IntegrityCheckFailed));
        }
        let q = self.quick.remove(i);
        tracing::debug!(target: "ike", "IPsec SA {} established: SPIs {:08x}_i", q.child, q.spi_in);
        Ok(Output::default())
    }

    /// KEYMAT for both directions (RFC 2409 §5.5) and what the kernel needs.
    #[allow(clippy::too_many_arguments)]
    fn child_install(
        &self,
        name: &str,
        protocol: IpsecProtocol,
        mode: Mode,
        chosen: &prop::Phase2,
        spi_in: u32,
        spi_out: u32,
        ni: &[u8],
        nr: &[u8],
        gxy: Option<&[u8]>,
        local_ts: Ts,
        remote_ts: Ts,
    ) -> Result<ChildSaInstall, Step> {
        let fail = |_| Step::Fail(ProtocolError::LocalFailure("KEYMAT derivation failed"));
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let encr = chosen.encr_alg().map_err(fail)?;
        let integ = chosen.integ_alg().map_err(fail)?;
        let enc_len = encr.map_or(0, |e| e.key_material_len());
        let int_len = integ.map_or(0, |i| i.key_len());
        let proto = match protocol {
            IpsecProtocol::Esp => 3,
            IpsecProtocol::Ah => 2,
        };
        let km = |spi: u32| {
            kdf::keymat(
                keys.prf,
                keys.skeyid_d.expose(),
                gxy,
                proto,
                &spi.to_be_bytes(),
                ni,
                nr,
                enc_len + int_len,
            )
            .map(|mut k| {
                let e = k.take_prefix(enc_len).unwrap_or_default();
                (e, k)
            })
        };
        let keys_in = km(spi_in).map_err(fail)?;
        let keys_out = km(spi_out).map_err(fail)?;
        Ok(ChildSaInstall {
            protocol,
            flags: ChildFlags::default(),
            sa: self.handle,
            connection: self.conn.clone(),
            child: name.to_owned(),
            spi_in,
            spi_out,
            proposal: chosen.describe(),
            encr,
            integ,
            keys_in,
            keys_out,
            local_ts: vec![local_ts],
            remote_ts: vec![remote_ts],
            mode,
            local: self.local,
            remote: self.remote,
            encap: self
                .behind_nat()
                .then_some((self.local.port(), self.remote.port())),
            outbound_after_delete: None,
            rekey_in: None,
            // The negotiated lifetime: the engine deletes the SA then; the kernel may keep it
            // a little longer as a safety net.
            expire_in: Some(Duration::from_secs(u64::from(chosen.life))),
        })
    }
}

/// A RESPONDER-LIFETIME notify body (RFC 2407 §4.6.3.1): the SA's SPI, then its lifetime as
/// SA Life Type and SA Life Duration attributes.
fn responder_lifetime(protocol: wire::ProtocolId, spi: u32, life: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&wire::DOI_IPSEC.to_be_bytes());
    b.push(protocol.value());
    b.push(4);
    b.extend_from_slice(&wire::NotifyType::ResponderLifetime.value().to_be_bytes());
    b.extend_from_slice(&spi.to_be_bytes());
    b.extend_from_slice(&(0x8000 | wire::IpsecAttrType::SaLifeType.value()).to_be_bytes());
    b.extend_from_slice(&wire::LifeType::Seconds.value().to_be_bytes());
    // SA Life Duration as a variable-length attribute of four bytes.
    b.extend_from_slice(&wire::IpsecAttrType::SaLifeDuration.value().to_be_bytes());
    b.extend_from_slice(&4u16.to_be_bytes());
    b.extend_from_slice(&life.to_be_bytes());
    b
}

/// The lifetime in seconds of RESPONDER-LIFETIME's attributes, if it names one.
fn life_of(mut data: &[u8]) -> Option<u32> {
    let mut seconds = false;
    let mut life = None;
    while let Some(&[t0, t1, v0, v1]) = data.get(..4) {
        let t = u16::from_be_bytes([t0, t1]);
        let v = u16::from_be_bytes([v0, v1]);
        let (kind, value, rest): (u16, u64, &[u8]) = if t & 0x8000 != 0 {
            (t & 0x7fff, u64::from(v), data.get(4..)?)
        } else {
            let len = usize::from(v);
            let bytes = data.get(4..4 + len)?;
            if len == 0 || len > 8 {
                return None;
            }
            let value = bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
            (t, value, data.get(4 + len..)?)
        };
        match wire::IpsecAttrType::from(kind) {
            wire::IpsecAttrType::SaLifeType => {
                seconds = value == u64::from(wire::LifeType::Seconds.value())
            }
            wire::IpsecAttrType::SaLifeDuration if seconds => {
                life = Some(u32::try_from(value).unwrap_or(u32::MAX));
            }
            _ => {}
        }
        data = rest;
    }
    life
}

/// Appends every payload of `rest` to `c`.
fn append(c: &mut Chain, rest: &Chain) {
    if let Some((l, _)) = protect::layout(rest.first(), &rest.buf) {
        for (i, (t, _, _)) in l.iter().enumerate() {
            c.add(PayloadType::from(*t), protect::body_of(&rest.buf, &l, i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_round_trip() {
        for t in ["10.88.1.0/24", "10.88.1.7", "fd00::/64", "0.0.0.0/0"] {
            let ts = Ts::cidr(t).unwrap();
            assert_eq!(id_ts(&ts_id(&ts)), Some(ts), "{t}");
        }
        let mut r = Ts::cidr("10.0.0.0/24").unwrap();
        r.end = "10.0.0.9".parse().unwrap();
        r.protocol = 17;
        r.start_port = 500;
        r.end_port = 500;
        assert_eq!(id_ts(&ts_id(&r)), Some(r));
        // FQDN client IDs are refused.
        assert_eq!(id_ts(&[2, 0, 0, 0, b'a']), None);
        // A non-contiguous mask too.
        assert_eq!(id_ts(&[4, 0, 0, 0, 10, 0, 0, 0, 255, 0, 255, 0]), None);
    }
}
