//! Main Mode (RFC 2409 §5, the ISAKMP Identity Protection exchange of RFC 2408 §4.5) with
//! pre-shared keys (§5.4):
//!
//! ```text
//! Initiator                          Responder
//! HDR, SA                     -->
//!                             <--    HDR, SA
//! HDR, KE, Ni                 -->
//!                             <--    HDR, KE, Nr
//! HDR*, IDii, HASH_I          -->
//!                             <--    HDR*, IDir, HASH_R
//! ```
//!
//! SKEYID = prf(pre-shared-key, Ni_b | Nr_b); the messages after the key exchange are encrypted
//! with the key and IVs of Appendix B.

use std::net::SocketAddr;
use std::time::Instant;

use ike_crypto::cipher::Cipher;
use ike_crypto::kdf::v1 as kdf;
use ike_crypto::rng::Rng;
use ike_wire::group::DhGroup;
use ike_wire::v1::{
    self as wire, Body, ExchangeType, NotifyType, Padding, Payload, PayloadType, ProtocolId,
    DOI_IPSEC,
};

pub(super) use super::auth::auth_method;
use super::nat::{self, NatT};
use super::protect::{self, Chain};
use super::sa::{Handshake, IsakmpSa, Keys, Output, Phase1State, Retransmit, Sent};
use super::Ctx;
use crate::config::{Identity, PeerConfig, V1Exchange};
use crate::proposal::v1::{self as prop, Refusal};
use crate::status::DropReason;
use crate::v2::{CloseReason, EngineError, Event, ProtocolError, SaHandle};

const NONCE_LEN: usize = 32;

/// The ISAKMP SA lifetime we propose and accept: the connection's `life_time`, else its
/// `rekey_time` plus 10 % (strongSwan's over_time), else RFC 2407's 8 hours.
pub(super) fn phase1_life(peer: &PeerConfig) -> u32 {
    peer.life_time
        .or(peer.rekey_time.map(|r| r.mul_f64(1.1)))
        .map_or(prop::DEFAULT_LIFETIME, |d| {
            u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
        })
}

/// An ID payload body for Phase 1 (RFC 2407 §4.6.2: protocol and port zero, or UDP/500).
pub(super) fn id_body(id: &Identity) -> Vec<u8> {
    let (t, data) = id.to_wire();
    let mut b = vec![t.value(), 0, 0, 0];
    b.extend_from_slice(&data);
    b
}

/// An unprotected notify to the sender of a first message (RFC 2408 §5: before an SA exists the
/// answer cannot be authenticated; it only tells an honest peer why).
pub(crate) fn notify_reply(h: &wire::Header, n: NotifyType) -> Vec<u8> {
    let mut c = Chain::default();
    let mut body = Vec::new();
    body.extend_from_slice(&DOI_IPSEC.to_be_bytes());
    body.push(ProtocolId::Isakmp.value());
    body.push(16);
    body.extend_from_slice(&n.value().to_be_bytes());
    body.extend_from_slice(&h.icookie);
    body.extend_from_slice(&h.rcookie);
    c.add(PayloadType::Notify, &body);
    protect::plain((h.icookie, h.rcookie), ExchangeType::Informational, 0, &c)
}

impl IsakmpSa {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn initiate(
        handle: SaHandle,
        idx: usize,
        peer: &PeerConfig,
        local: SocketAddr,
        remote: SocketAddr,
        cookie: [u8; 8],
        now: Instant,
        ctx: &mut Ctx<'_>,
    ) -> Result<(Self, Vec<u8>), EngineError> {
        let auth = auth_method(peer)?;
        let offered = prop::phase1_suites(&peer.ike_proposals);
        if offered.is_empty() || offered.len() > 255 {
            return Err(EngineError::InvalidConfig(
                peer.name.clone(),
                crate::config::ConfigError(
                    "no IKE proposal IKEv1 can carry (it needs a CBC cipher and a hash, e.g. aes128-sha256-modp2048)",
                ),
            ));
        }
        match peer.exchange {
            V1Exchange::Aggressive => {
                return Self::initiate_aggressive(
                    handle, idx, peer, local, remote, cookie, now, ctx, auth, offered,
                )
            }
            V1Exchange::Base | V1Exchange::AuthOnly => {
                let exchange = if peer.exchange == V1Exchange::Base {
                    ExchangeType::Base
                } else {
                    ExchangeType::AuthenticationOnly
                };
                return Self::initiate_base(
                    handle, idx, peer, local, remote, cookie, now, ctx, auth, offered, exchange,
                );
            }
            V1Exchange::Main => {}
        }
        let sai_b = prop::encode_phase1_sa(&offered, auth, phase1_life(peer));
        let mut c = Chain::default();
        c.add(PayloadType::Sa, &sai_b);
        add_vids(&mut c, None);
        let bytes = protect::plain((cookie, [0; 8]), ExchangeType::IdentityProtection, 0, &c);
        tracing::debug!(target: "ike", "sending Main Mode message 1 [SA V V V V] to {remote}");
        let sa = Self {
            handle,
            peer_idx: idx,
            initiator: true,
            exchange: ExchangeType::IdentityProtection,
            icookie: cookie,
            rcookie: [0; 8],
            local,
            remote,
            state: Phase1State::MmSent1,
            created: now,
            hs: Some(Box::new(Handshake {
                sai_b,
                offered,
                ..Handshake::default()
            })),
            p1_sent: Some(Sent {
                bytes: bytes.clone(),
                awaiting: Some(Retransmit::start(now, ctx.config)),
                answers: None,
            }),
            todo: peer.children.iter().map(|c| c.name.clone()).collect(),
            ..Self::blank(peer, now, ctx.config.fragment_size)
        };
        Ok((sa, bytes))
    }

    /// Message 1 at a responder: choose a connection and a transform, answer with message 2.
    /// `Err` holds the unprotected notify to send, if any.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn respond_mm1(
        handle: SaHandle,
        candidates: &[usize],
        local: SocketAddr,
        remote: SocketAddr,
        cookie: [u8; 8],
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<(Self, Vec<u8>), Option<Vec<u8>>> {
        let h = msg.header;
        let Body::Plain(payloads) = &msg.body else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(None);
        };
        let sas: Vec<&wire::Sa<'_>> = payloads
            .iter()
            .filter_map(|p| match p {
                Payload::Sa(s) => Some(s),
                _ => None,
            })
            .collect();
        let [offer] = sas.as_slice() else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(Some(notify_reply(&h, NotifyType::PayloadMalformed)));
        };
        // SAi_b, the SA payload's body as it came (RFC 2409 §5), for HASH_I and HASH_R.
        let sai_b = data.get(28..).and_then(|body| {
            let (l, _) = protect::layout(*data.get(16)?, body)?;
            protect::find_body(body, &l, PayloadType::Sa).map(<[u8]>::to_vec)
        });
        let Some(sai_b) = sai_b else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(None);
        };
        let mut found = None;
        for &idx in candidates {
            let Some(peer) = ctx.peers.get(idx) else {
                continue;
            };
            let Ok(auth) = auth_method(peer) else {
                continue;
            };
            let ours = prop::phase1_suites(&peer.ike_proposals);
            match prop::select_phase1(&ours, auth, offer, ctx.config.prefer_initiator_proposals) {
                Ok((c, n)) => {
                    found = Some((idx, c, n));
                    break;
                }
                Err(Refusal::Syntax(why)) => {
                    tracing::info!(target: "ike", "Main Mode from {remote} refused: {why}");
                    return Err(Some(notify_reply(&h, NotifyType::BadProposalSyntax)));
                }
                Err(Refusal::NoProposalChosen) => {}
            }
        }
        let Some((idx, chosen, number)) = found else {
            tracing::info!(target: "ike", "Main Mode from {remote}: no acceptable proposal (NO-PROPOSAL-CHOSEN)");
            return Err(Some(notify_reply(&h, NotifyType::NoProposalChosen)));
        };
        let Some(peer) = ctx.peers.get(idx).cloned() else {
            return Err(None);
        };
        let vids = peer_vids(payloads);
        let reply = prop::encode_phase1_reply(&chosen, number);
        let mut c = Chain::default();
        c.add(PayloadType::Sa, &reply);
        add_vids(&mut c, Some(&vids));
        let bytes = protect::plain((h.icookie, cookie), ExchangeType::IdentityProtection, 0, &c);
        tracing::debug!(target: "ike", "sending Main Mode message 2 [SA V] to {remote} ({})", chosen.describe());
        let sa = Self {
            handle,
            peer_idx: idx,
            initiator: false,
            exchange: ExchangeType::IdentityProtection,
            icookie: h.icookie,
            rcookie: cookie,
            local,
            remote,
            init_key: Some((remote, h.icookie)),
            state: Phase1State::MmSent2,
            created: now,
            chosen: Some(chosen),
            hs: Some(Box::new(Handshake {
                sai_b,
                ..Handshake::default()
            })),
            p1_sent: Some(Sent {
                bytes: bytes.clone(),
                awaiting: None,
                answers: Some(data.to_vec()),
            }),
            nat_t: vids.nat_t,
            peer_dpd: vids.dpd,
            peer_frag: vids.frag,
            ..Self::blank(&peer, now, ctx.config.fragment_size)
        };
        Ok((sa, bytes))
    }

    /// Whether a message with these cookies belongs to this SA (the initiator learns the
    /// responder's cookie from message 2).
    pub(crate) fn matches(&self, icookie: &[u8; 8], rcookie: &[u8; 8]) -> bool {
        *icookie == self.icookie
            && (*rcookie == self.rcookie
                || (self.initiator
                    && matches!(
                        self.state,
                        Phase1State::MmSent1 | Phase1State::AmSent1 | Phase1State::BaseSent1
                    )
                    && self.rcookie == [0; 8]))
    }

    /// The peer repeated the message we answered last: the stored answer again.
    pub(crate) fn repeat_answer(&mut self, data: &[u8]) -> Output {
        let mut out = Output::default();
        let stored = std::iter::once(self.p1_sent.as_ref())
            .chain(self.quick.iter().map(|q| q.sent.as_ref()))
            .flatten()
            .find(|s| s.answers.as_deref() == Some(data))
            .map(|s| s.bytes.clone());
        if let Some(b) = stored {
            tracing::debug!(target: "ike", "the peer repeated a message: answering from the stored copy");
            out.transmits.extend(self.datagrams(b));
        } else {
            out.dropped = Some((DropReason::UnexpectedMessageId, self.remote));
        }
        out
    }

    /// Any message for this SA.
    pub(crate) fn handle_message(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        // A repeat of a message we answered: answer again, compute nothing.
        let repeated = std::iter::once(self.p1_sent.as_ref())
            .chain(self.quick.iter().map(|q| q.sent.as_ref()))
            .flatten()
            .any(|s| s.answers.as_deref() == Some(data));
        if repeated {
            return self.repeat_answer(data);
        }
        let moved = (local, remote) != (self.local, self.remote);
        if moved && !(self.nat_t.is_some() && local.port() == crate::v2::NAT_T_PORT) {
            // Only NAT traversal lets a peer move (RFC 3947 §4), and only to port 4500.
            return Output {
                dropped: Some((DropReason::UnexpectedAddress, remote)),
                ..Output::default()
            };
        }
        let before = (self.local, self.remote);
        if moved {
            // Answer where the message came from; kept only if it authenticates.
            (self.local, self.remote) = (local, remote);
        }
        let mut out = self.dispatch(now, data, msg, ctx);
        if out.dropped.is_none() {
            self.last_heard = now;
        }
        if moved {
            if out.dropped.is_some() {
                (self.local, self.remote) = before;
            } else if self.is_established() && !self.children.is_empty() && !out.closed {
                tracing::info!(target: "ike", "the peer moved to {remote} (NAT mapping changed)");
                out.events.push(crate::v2::Event::AddressChanged {
                    sa: self.handle,
                    local,
                    remote,
                });
            }
        }
        out
    }

    fn dispatch(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let h = msg.header;
        match h.exchange {
            ExchangeType::IdentityProtection
                if h.message_id == 0 && self.exchange == h.exchange =>
            {
                self.main_mode(now, data, msg, ctx)
            }
            ExchangeType::Aggressive if h.message_id == 0 && self.exchange == h.exchange => {
                self.aggressive_mode(now, data, msg, ctx)
            }
            ExchangeType::Base | ExchangeType::AuthenticationOnly
                if h.message_id == 0 && self.exchange == h.exchange =>
            {
                self.base_exchange(now, data, msg, ctx)
            }
            // An Authentication Only SA has no encryption and derives no IPsec SAs.
            ExchangeType::QuickMode | ExchangeType::NewGroupMode if self.auth_only() => {
                tracing::info!(target: "ike", "{} on an Authentication Only ISAKMP SA: dropped (it keys no IPsec SAs)", super::sa::exchange_name(h.exchange));
                Output {
                    dropped: Some((DropReason::WrongState, self.remote)),
                    ..Output::default()
                }
            }
            ExchangeType::QuickMode if self.is_established() && h.message_id != 0 => {
                self.quick_mode(now, data, msg, ctx)
            }
            ExchangeType::Informational if h.message_id != 0 || !h.flags.encryption() => {
                self.informational(now, data, msg, ctx)
            }
            // RFC 2409 §5.6: "MUST NOT be used prior to establishment of an ISAKMP SA".
            ExchangeType::NewGroupMode if self.is_established() && h.message_id != 0 => {
                self.new_group_mode(now, data, msg, ctx)
            }
            _ => Output {
                dropped: Some((DropReason::WrongState, self.remote)),
                ..Output::default()
            },
        }
    }

    fn main_mode(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let r = match (self.state, self.initiator) {
            (Phase1State::MmSent1, true) => self.mm2(now, data, msg, ctx),
            (Phase1State::MmSent2, false) => self.mm3(now, data, msg, ctx),
            (Phase1State::MmSent3, true) => self.mm4(now, data, msg, ctx),
            (Phase1State::MmSent4, false) => self.mm5(now, data, msg, ctx),
            (Phase1State::MmSent5, true) => self.mm6(now, data, msg, ctx),
            _ => Err(Step::Drop(DropReason::WrongState)),
        };
        match r {
            Ok(out) => out,
            Err(Step::Drop(reason)) => self.dropped_output(reason),
            Err(Step::Fail(e)) => {
                tracing::info!(target: "ike", "Main Mode failed: {e}");
                let mut out = Output::default();
                // Once keys exist the peer can be told why, protected (RFC 2409 §5.7).
                if let (ProtocolError::AuthenticationFailed(_), true) = (&e, self.keys.is_some()) {
                    out.transmits.extend(self.send_notify(
                        NotifyType::AuthenticationFailed,
                        &[],
                        ctx,
                    ));
                }
                let o = self.close(CloseReason::LocalError(e));
                out.events = o.events;
                out.closed = true;
                out
            }
        }
    }

    /// A message dropped (not processed, the SA unchanged), counted under `reason`.
    pub(super) fn dropped_output(&self, reason: DropReason) -> Output {
        Output {
            dropped: Some((reason, self.remote)),
            ..Output::default()
        }
    }

    /// The outcome of a Phase 1 step of Aggressive Mode, Base or Authentication Only: a drop
    /// leaves the SA as it was; a failure ends it, logged with the exchange's name.
    pub(super) fn phase1_outcome(&mut self, r: Result<Output, Step>) -> Output {
        match r {
            Ok(out) => out,
            Err(Step::Drop(reason)) => self.dropped_output(reason),
            Err(Step::Fail(e)) => {
                tracing::info!(target: "ike", "{} failed: {e}", super::sa::exchange_name(self.exchange));
                self.close(CloseReason::LocalError(e))
            }
        }
    }

    pub(super) fn peer_of<'a>(
        &self,
        ctx: &'a Ctx<'_>,
    ) -> Result<&'a std::sync::Arc<PeerConfig>, Step> {
        ctx.peers
            .get(self.peer_idx)
            .ok_or(Step::Fail(ProtocolError::LocalFailure("connection gone")))
    }

    /// Initiator: the responder's choice; send KE and Ni.
    fn mm2(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let payloads = plain_payloads(msg)?;
        let sa = payloads
            .iter()
            .find_map(|p| match p {
                Payload::Sa(s) => Some(s),
                _ => None,
            })
            .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
        let peer = self.peer_of(ctx)?.clone();
        let auth = auth_method(&peer).map_err(|_| Step::Fail(ProtocolError::NoProposalChosen))?;
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let chosen = prop::check_phase1_reply(&hs.offered, auth, phase1_life(&peer), sa).ok_or(
            Step::Fail(ProtocolError::InvalidResponse(
                "the responder chose a transform we did not offer",
            )),
        )?;
        self.rcookie = msg.header.rcookie;
        let vids = peer_vids(payloads);
        (self.nat_t, self.peer_dpd, self.peer_frag) = (vids.nat_t, vids.dpd, vids.frag);
        let dh = ctx
            .dh_generate(chosen.group())
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("key generation failed")))?;
        let mut ni = vec![0u8; NONCE_LEN];
        ctx.rng
            .fill(&mut ni)
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("RNG failed")))?;
        hs.gxi = dh.public_value().to_vec();
        hs.ni = ni;
        hs.dh = Some(dh);
        self.chosen = Some(chosen);
        let mut c = Chain::default();
        if self.pke_mode().is_some() {
            // NAT-D first: in the revised mode every payload after the nonce is under Ke_i.
            self.add_natd(&mut c);
            let idii = id_body(&self.local_id);
            let hs = self.hs.as_ref().ok_or(Step::Drop(DropReason::WrongState))?;
            self.add_pke(&mut c, &peer, true, (&hs.gxi, &hs.ni, &idii), ctx)?;
            if let Some(hs) = self.hs.as_mut() {
                hs.id_i = idii;
            }
        } else {
            let hs = self.hs.as_ref().ok_or(Step::Drop(DropReason::WrongState))?;
            c.add(PayloadType::Ke, &hs.gxi)
                .add(PayloadType::Nonce, &hs.ni);
        }
        if self.uses_signatures() {
            c.add(PayloadType::CertReq, &super::auth::certreq_body());
        }
        if self.pke_mode().is_none() {
            self.add_natd(&mut c);
        }
        let bytes = protect::plain(self.cookies(), ExchangeType::IdentityProtection, 0, &c);
        tracing::debug!(target: "ike", "Main Mode: the responder chose {}; sending message 3 [{}]", chosen.describe(), self.p1_payloads(3));
        self.state = Phase1State::MmSent3;
        Ok(self.send_p1(now, ctx, bytes, true, data))
    }

    /// Responder: the initiator's KE and Ni; send ours and derive the keys.
    fn mm3(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let payloads = plain_payloads(msg)?;
        let peer = self.peer_of(ctx)?.clone();
        let part = self.peer_ke_nonce(payloads, &peer, true, ctx)?;
        let (ke, ni) = (part.ke.as_slice(), part.nonce.as_slice());
        let chosen = self.chosen.ok_or(Step::Drop(DropReason::WrongState))?;
        let group = chosen.group();
        if ctx.dh_len(group) != Some(ke.len()) {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        let dh = ctx
            .dh_generate(group)
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("key generation failed")))?;
        let mut nr = vec![0u8; NONCE_LEN];
        ctx.rng
            .fill(&mut nr)
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("RNG failed")))?;
        let gxy = dh
            .shared_secret(ke)
            .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        hs.gxi = ke.to_vec();
        hs.gxr = dh.public_value().to_vec();
        hs.ni = ni.to_vec();
        hs.nr = nr.clone();
        hs.id_i = part.id_b;
        let mut c = Chain::default();
        self.detect_nat(payloads);
        if self.pke_mode().is_some() {
            self.add_natd(&mut c);
            let idir = id_body(&self.local_id);
            let gxr = dh.public_value().to_vec();
            self.add_pke(&mut c, &peer, false, (&gxr, &nr, &idir), ctx)?;
            if let Some(hs) = self.hs.as_mut() {
                hs.id_r = idir;
            }
        } else {
            c.add(PayloadType::Ke, dh.public_value())
                .add(PayloadType::Nonce, &nr);
        }
        if self.uses_signatures() {
            c.add(PayloadType::CertReq, &super::auth::certreq_body());
        }
        if self.pke_mode().is_none() {
            self.add_natd(&mut c);
        }
        self.derive(&peer, gxy.expose())?;
        let bytes = protect::plain(self.cookies(), ExchangeType::IdentityProtection, 0, &c);
        tracing::debug!(target: "ike", "sending Main Mode message 4 [{}]", self.p1_payloads(4));
        self.state = Phase1State::MmSent4;
        Ok(self.send_p1(now, ctx, bytes, false, data))
    }

    /// Initiator: the responder's KE and Nr; derive the keys, send IDii and HASH_I.
    fn mm4(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let payloads = plain_payloads(msg)?;
        let peer = self.peer_of(ctx)?.clone();
        let part = self.peer_ke_nonce(payloads, &peer, false, ctx)?;
        let (ke, nr) = (part.ke.as_slice(), part.nonce.as_slice());
        let group = self.chosen.map_or(DhGroup::None, |c| c.group());
        if ctx.dh_len(group) != Some(ke.len()) {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let gxy = hs
            .dh
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?
            .shared_secret(ke)
            .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
        hs.gxr = ke.to_vec();
        hs.nr = nr.to_vec();
        hs.dh = None;
        hs.id_r = part.id_b;
        self.derive(&peer, gxy.expose())?;
        self.detect_nat(payloads);
        if self.behind_nat() {
            // RFC 3947 §4: the initiator moves to port 4500 from message 5 on.
            self.local.set_port(crate::v2::NAT_T_PORT);
            self.remote.set_port(crate::v2::NAT_T_PORT);
        }
        let mut c = Chain::default();
        if self.pke_mode().is_some() {
            // Our identity went in message 3.
            let idii = self.hs.as_ref().map(|h| h.id_i.clone()).unwrap_or_default();
            self.add_proof(&mut c, &peer, true, &idii, ctx)?;
        } else {
            let idii = id_body(&self.local_id);
            c.add(PayloadType::Id, &idii);
            self.add_proof(&mut c, &peer, true, &idii, ctx)?;
        }
        if self.send_initial_contact {
            let mut n = Vec::new();
            n.extend_from_slice(&DOI_IPSEC.to_be_bytes());
            n.push(ProtocolId::Isakmp.value());
            n.push(16);
            n.extend_from_slice(&NotifyType::InitialContact.value().to_be_bytes());
            n.extend_from_slice(&self.icookie);
            n.extend_from_slice(&self.rcookie);
            c.add(PayloadType::Notify, &n);
        }
        let bytes = self.encrypt_p1(&c)?;
        tracing::debug!(target: "ike", "sending Main Mode message 5 [{}{}]", self.p1_payloads(5), if self.send_initial_contact { " N(INITIAL-CONTACT)" } else { "" });
        self.state = Phase1State::MmSent5;
        Ok(self.send_p1(now, ctx, bytes, true, data))
    }

    /// The peer's KE and nonce of Main Mode message 3 (`from_initiator`) or 4: in the clear,
    /// or with public-key encryption decrypted (with its identity).
    fn peer_ke_nonce(
        &self,
        payloads: &[Payload<'_>],
        peer: &PeerConfig,
        from_initiator: bool,
        ctx: &Ctx<'_>,
    ) -> Result<super::pke::PeerPart, Step> {
        if self.pke_mode().is_some() {
            return self.take_pke(payloads, peer, from_initiator, ctx);
        }
        let (ke, nonce) = ke_and_nonce(payloads)?;
        Ok(super::pke::PeerPart {
            ke: ke.to_vec(),
            nonce: nonce.to_vec(),
            id_b: Vec::new(),
            hash: None,
        })
    }

    /// Main Mode message 5 or 6: decrypts it, checks the peer's ID and proof (`initiator`: the
    /// proof is the initiator's), commits the IV, and returns the plaintext, its layout, the
    /// connection and the peer's identity.
    #[allow(clippy::type_complexity)]
    fn peer_proof(
        &mut self,
        msg: &wire::Message<'_>,
        initiator: bool,
        ctx: &mut Ctx<'_>,
    ) -> Result<
        (
            Vec<u8>,
            protect::Layout,
            std::sync::Arc<PeerConfig>,
            Identity,
        ),
        Step,
    > {
        let (plain, l, next_iv) = self.decrypt_p1(msg)?;
        let id_b = match (self.pke_mode(), self.hs.as_ref()) {
            // Public-key encryption: the identity came (encrypted) in message 3 or 4.
            (Some(_), Some(hs)) if initiator => hs.id_i.clone(),
            (Some(_), Some(hs)) => hs.id_r.clone(),
            _ => protect::find_body(&plain, &l, PayloadType::Id)
                .ok_or(Step::Drop(DropReason::InvalidPayloads))?
                .to_vec(),
        };
        let peer = self.peer_of(ctx)?.clone();
        // A decrypted identity that does not parse must fail like a wrong nonce (silently, at
        // the HASH): stand in a value for it until the HASH over its bytes has verified.
        let id = match (parse_id(&id_b), self.pke_mode()) {
            (Some(id), _) => id,
            (None, Some(_)) => Identity::Any,
            (None, None) => {
                return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                    "unsupported identity type",
                )))
            }
        };
        let auth = match self.verify_proof(&peer, initiator, &id_b, &id, &plain, &l, ctx.unix_now) {
            Err(Step::Fail(e)) => {
                // The message decrypted and parsed: the peer's IV has moved past it, so ours
                // does too, and the AUTHENTICATION-FAILED notify reaches it.
                if let Some(k) = self.keys.as_mut() {
                    k.p1_iv = next_iv;
                }
                return Err(Step::Fail(e));
            }
            other => other?,
        };
        if let Some(k) = self.keys.as_mut() {
            k.p1_iv = next_iv;
        }
        if parse_id(&id_b).is_none() {
            return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                "unsupported identity type",
            )));
        }
        if !peer.remote_id.accepts(&id) {
            return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                "the peer's identity is not the one configured",
            )));
        }
        self.peer_auth = auth;
        Ok((plain, l, peer, id))
    }

    /// Responder: IDii and HASH_I; check them, send IDir and HASH_R; established.
    fn mm5(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (plain, l, peer, id) = self.peer_proof(msg, true, ctx)?;
        let initial_contact = notifies(&plain, &l).contains(&NotifyType::InitialContact);
        self.remote_id = Some(id);
        let mut c = Chain::default();
        if self.pke_mode().is_some() {
            let idir = self.hs.as_ref().map(|h| h.id_r.clone()).unwrap_or_default();
            self.add_proof(&mut c, &peer, false, &idir, ctx)?;
        } else {
            let idir = id_body(&self.local_id);
            c.add(PayloadType::Id, &idir);
            self.add_proof(&mut c, &peer, false, &idir, ctx)?;
        }
        let bytes = self.encrypt_p1(&c)?;
        tracing::debug!(target: "ike", "sending Main Mode message 6 [{}]", self.p1_payloads(6));
        let mut out = self.send_p1(now, ctx, bytes, false, data);
        out.initial_contact = initial_contact;
        self.established(now, &mut out);
        Ok(out)
    }

    /// Initiator: IDir and HASH_R; established; start the Quick Modes.
    fn mm6(
        &mut self,
        now: Instant,
        _data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (_, _, _, id) = self.peer_proof(msg, false, ctx)?;
        self.remote_id = Some(id);
        let mut out = Output::default();
        // Nothing more to send in Phase 1; keep no message.
        self.p1_sent = None;
        self.initiator_established(now, ctx, &mut out);
        Ok(out)
    }

    /// Phase 1 done at the initiator: established, then its New Group Modes and Quick Modes.
    pub(super) fn initiator_established(
        &mut self,
        now: Instant,
        ctx: &mut Ctx<'_>,
        out: &mut Output,
    ) {
        self.established(now, out);
        let o = self.start_new_groups(now, ctx);
        out.transmits.extend(o.transmits);
        // Children it already holds (IPsec SAs inherited from an ISAKMP SA of the same peer
        // that went while this one was negotiated) need no Quick Mode.
        let mut todo = std::mem::take(&mut self.todo);
        todo.retain(|n| {
            !self
                .children
                .iter()
                .any(|c| &c.name == n && c.delete_at.is_none())
        });
        let o = self.start_quick_modes(now, todo, ctx);
        out.transmits.extend(o.transmits);
        out.events.extend(o.events);
    }

    pub(super) fn established(&mut self, now: Instant, out: &mut Output) {
        self.state = Phase1State::Established;
        self.last_heard = now;
        self.schedule_phase1(now, self.ike_rekey);
        out.replaced = self.reauth_of;
        out.established = true;
        // RFC 3706 §5.5: the first sequence number is random; the cookies are.
        self.dpd_seq = u32::from_be_bytes([
            self.icookie[4],
            self.icookie[5],
            self.rcookie[6],
            self.rcookie[7],
        ]) & 0x7fff_ffff;
        if self.nat_local {
            self.next_keepalive = Some(now);
        }
        self.established_at = Some(now);
        self.hs = None;
        let proposal = self.chosen.map(|c| c.describe()).unwrap_or_default();
        tracing::debug!(target: "ike", "ISAKMP SA established ({proposal}) with {}", self.remote);
        out.events.push(Event::IkeSaEstablished {
            sa: self.handle,
            connection: self.conn.clone(),
            initiator: self.initiator,
            spi_i: self.icookie,
            spi_r: self.rcookie,
            local_id: self.local_id.clone(),
            remote_id: self.remote_id.clone().unwrap_or(Identity::Any),
            proposal,
            remote_auth: self.peer_auth.clone(),
            version: 1,
            handshake: now.saturating_duration_since(self.created),
        });
    }

    /// Records a Phase 1 message we send (waiting for the next one, or answering `answers`).
    pub(super) fn send_p1(
        &mut self,
        now: Instant,
        ctx: &Ctx<'_>,
        bytes: Vec<u8>,
        awaiting: bool,
        answers: &[u8],
    ) -> Output {
        let mut out = Output::default();
        out.transmits.extend(self.datagrams(bytes.clone()));
        self.p1_sent = Some(Sent {
            bytes,
            awaiting: awaiting.then(|| Retransmit::start(now, ctx.config)),
            answers: Some(answers.to_vec()),
        });
        out
    }

    /// SKEYID and its offspring, the cipher and the first IV (RFC 2409 §5, Appendix B).
    pub(super) fn derive(&mut self, peer: &PeerConfig, gxy: &[u8]) -> Result<(), Step> {
        let chosen = self.chosen.ok_or(Step::Drop(DropReason::WrongState))?;
        let fail = |_| Step::Fail(ProtocolError::LocalFailure("key derivation failed"));
        let prf = chosen.prf_alg().map_err(fail)?;
        let encr = chosen.encr_alg().map_err(fail)?;
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let skeyid = {
            let (ni, nr) = (hs.ni.clone(), hs.nr.clone());
            self.skeyid(peer, prf, &ni, &nr, gxy)?
        };
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let dae = kdf::skeyid_d_a_e(prf, skeyid.expose(), gxy, &self.icookie, &self.rcookie);
        let enc = kdf::encryption_key(prf, dae.skeyid_e.expose(), encr.key_len()).map_err(fail)?;
        let cipher = Cipher::new(encr, enc.expose()).map_err(fail)?;
        self.fresh_key = Some(enc);
        let block = encr.block_len();
        let iv = kdf::phase1_iv(prf, &hs.gxi, &hs.gxr, block).map_err(fail)?;
        hs.skeyid = Some(skeyid);
        self.keys = Some(Keys {
            prf,
            cipher,
            block,
            skeyid_d: dae.skeyid_d,
            skeyid_a: dae.skeyid_a,
            p1_iv: iv,
        });
        Ok(())
    }

    /// HASH_I (`initiator`) or HASH_R over an ID payload body.
    pub(super) fn auth_hash(
        &self,
        initiator: bool,
        id_b: &[u8],
    ) -> Result<ike_crypto::Secret, Step> {
        let hs = self.hs.as_ref().ok_or(Step::Drop(DropReason::WrongState))?;
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let skeyid = hs
            .skeyid
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let f = if initiator { kdf::hash_i } else { kdf::hash_r };
        // RFC 2409 §5.1: a signature tied to one hash (DSS: SHA-1) signs HASH_I/HASH_R made
        // with the HMAC of that hash; everything else keeps the negotiated prf.
        let prf = match self.chosen.map(|c| c.auth) {
            Some(wire::OakleyAuthMethod::DssSignatures) => ike_crypto::prf::PrfAlg::HmacSha1,
            _ => keys.prf,
        };
        Ok(f(
            prf,
            skeyid.expose(),
            &hs.gxi,
            &hs.gxr,
            &self.icookie,
            &self.rcookie,
            &hs.sai_b,
            id_b,
        ))
    }

    /// The payloads of our Main Mode message `n` (3 to 6), for the log.
    fn p1_payloads(&self, n: u8) -> &'static str {
        match (n, self.pke_mode(), self.uses_signatures()) {
            (3, Some(false), _) => "KE HASH(1) <ID> <No>",
            (4, Some(false), _) => "KE <ID> <No>",
            (3, Some(true), _) => "HASH(1) <No> <KE> <ID>",
            (4, Some(true), _) => "<No> <KE> <ID>",
            (3 | 4, None, true) => "KE No CERTREQ",
            (3 | 4, None, false) => "KE No",
            (_, Some(_), _) => "HASH",
            (_, None, true) => "ID CERT SIG",
            _ => "ID HASH",
        }
    }

    pub(super) fn encrypt_p1(&mut self, c: &Chain) -> Result<Vec<u8>, Step> {
        let exchange = self.exchange;
        let cookies = self.cookies();
        let keys = self
            .keys
            .as_mut()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let (bytes, next) =
            protect::encrypted(&keys.cipher, &keys.p1_iv, cookies, exchange, 0, 0, c)
                .ok_or(Step::Fail(ProtocolError::LocalFailure("encryption failed")))?;
        keys.p1_iv = next;
        Ok(bytes)
    }

    /// Decrypts a Phase 1 message; the IV is committed by the caller once it verified it.
    pub(super) fn decrypt_p1(
        &self,
        msg: &wire::Message<'_>,
    ) -> Result<(Vec<u8>, protect::Layout, Vec<u8>), Step> {
        let Body::Encrypted {
            first_payload,
            ciphertext,
        } = &msg.body
        else {
            // RFC 2409 §5: messages 5 and 6 are encrypted; a clear one is not from the peer.
            return Err(Step::Drop(DropReason::InvalidPayloads));
        };
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let (plain, next) = protect::decrypt(&keys.cipher, &keys.p1_iv, ciphertext)
            .ok_or(Step::Drop(DropReason::IntegrityCheckFailed))?;
        let (l, _) = protect::layout(first_payload.value(), &plain)
            .ok_or(Step::Drop(DropReason::IntegrityCheckFailed))?;
        // Every payload must parse (strict syntax, RFC 2408 §5.2).
        wire::decode_payloads(*first_payload, &plain, 28, Padding::Allowed)
            .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
        Ok((plain, l, next))
    }
}

/// What the peer's vendor IDs announce.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PeerVids {
    /// Its best NAT-T version (RFC 3947 or a draft).
    pub(super) nat_t: Option<NatT>,
    /// Dead peer detection (RFC 3706).
    pub(super) dpd: bool,
    /// IKEv1 fragmentation.
    pub(super) frag: bool,
}

/// The vendor IDs we send: as initiator DPD, fragmentation and every NAT-T version we speak;
/// as responder DPD, fragmentation if the initiator announced it, and the NAT-T version chosen.
pub(super) fn add_vids(c: &mut Chain, responder: Option<&PeerVids>) {
    c.add(PayloadType::VendorId, &nat::VID_DPD);
    match responder {
        None => {
            c.add(PayloadType::VendorId, &super::fragment::VID_FRAGMENTATION);
            for v in nat::OFFERED {
                c.add(PayloadType::VendorId, &v);
            }
        }
        Some(p) => {
            if p.frag {
                c.add(PayloadType::VendorId, &super::fragment::VID_FRAGMENTATION);
            }
            if let Some(n) = p.nat_t {
                c.add(PayloadType::VendorId, n.vid());
            }
        }
    }
}

/// What the peer's vendor IDs announce.
pub(super) fn peer_vids(payloads: &[Payload<'_>]) -> PeerVids {
    let vids = payloads.iter().filter_map(|p| match p {
        Payload::VendorId(v) => Some(*v),
        _ => None,
    });
    PeerVids {
        nat_t: NatT::best(vids.clone()),
        dpd: vids.clone().any(|v| v == nat::VID_DPD),
        frag: vids.into_iter().any(super::fragment::is_fragmentation_vid),
    }
}

impl IsakmpSa {
    /// Takes what the peer's vendor IDs announce.
    pub(super) fn take_vids(&mut self, v: &PeerVids) {
        self.nat_t = v.nat_t;
        self.peer_dpd = v.dpd;
        self.peer_frag = v.frag;
    }
}

impl IsakmpSa {
    /// NAT-D payloads (RFC 3947 §3.2): the address we send to, then ours (a hash that cannot
    /// match with `encap`).
    pub(super) fn add_natd(&self, c: &mut Chain) {
        let (Some(n), Some(prf)) = (self.nat_t, self.chosen.and_then(|ch| ch.prf_alg().ok()))
        else {
            return;
        };
        let (i, r) = (&self.icookie, &self.rcookie);
        c.add(n.natd_type(), &nat::natd_hash(prf, i, r, self.remote));
        let ours = if self.force_encap {
            nat::natd_hash(
                prf,
                i,
                r,
                SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0),
            )
        } else {
            nat::natd_hash(prf, i, r, self.local)
        };
        c.add(n.natd_type(), &ours);
    }

    /// Reads the peer's NAT-D payloads.
    pub(super) fn detect_nat(&mut self, payloads: &[Payload<'_>]) {
        let (Some(_), Some(prf)) = (self.nat_t, self.chosen.and_then(|ch| ch.prf_alg().ok()))
        else {
            return;
        };
        let hashes: Vec<&[u8]> = payloads
            .iter()
            .filter_map(|p| match p {
                Payload::NatD { hash, .. } => Some(*hash),
                _ => None,
            })
            .collect();
        if let Some((local, remote)) = nat::detect(
            prf,
            &self.icookie,
            &self.rcookie,
            self.local,
            self.remote,
            &hashes,
        ) {
            self.nat_local = local;
            self.nat_remote = remote || self.force_encap;
            if self.behind_nat() {
                tracing::info!(target: "ike", "NAT detected ({}): moving to UDP 4500", match (local, remote) { (true, true) => "both ends", (true, false) => "in front of us", _ => "in front of the peer" });
            }
        }
        if self.force_encap {
            self.nat_local = true;
        }
    }
}

/// Why a step did not complete: drop the message and wait, or fail the SA.
pub(crate) enum Step {
    Drop(DropReason),
    Fail(ProtocolError),
}

pub(super) fn plain_payloads<'a>(msg: &'a wire::Message<'a>) -> Result<&'a [Payload<'a>], Step> {
    match &msg.body {
        Body::Plain(p) => Ok(p),
        Body::Encrypted { .. } => Err(Step::Drop(DropReason::InvalidPayloads)),
    }
}

pub(super) fn ke_and_nonce<'a>(payloads: &[Payload<'a>]) -> Result<(&'a [u8], &'a [u8]), Step> {
    let ke = payloads.iter().find_map(|p| match p {
        Payload::Ke(k) => Some(*k),
        _ => None,
    });
    let n = payloads.iter().find_map(|p| match p {
        Payload::Nonce(n) => Some(*n),
        _ => None,
    });
    match (ke, n) {
        // RFC 2409 §5: nonces of 8 to 256 bytes.
        (Some(k), Some(n)) if (8..=256).contains(&n.len()) => Ok((k, n)),
        _ => Err(Step::Drop(DropReason::InvalidPayloads)),
    }
}

/// An identity from an ID payload body.
pub(crate) fn parse_id(b: &[u8]) -> Option<Identity> {
    let (&t, rest) = b.split_first()?;
    let data = rest.get(3..)?;
    Identity::from_wire(ike_wire::v2::IdType::from(t), data)
}

/// The notify types of a decrypted chain.
pub(crate) fn notifies(plain: &[u8], l: &[(u8, usize, usize)]) -> Vec<NotifyType> {
    l.iter()
        .enumerate()
        .filter(|(_, (t, _, _))| *t == PayloadType::Notify.value())
        .filter_map(|(i, _)| {
            let b = protect::body_of(plain, l, i);
            let v = u16::from_be_bytes([*b.get(6)?, *b.get(7)?]);
            Some(NotifyType::from(v))
        })
        .collect()
}
