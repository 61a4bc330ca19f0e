//! The ISAKMP Base exchange (RFC 2408 §4.4) and Authentication Only exchange (§4.6) as Phase 1
//! of IKE, for connections that enable them (`exchange = "base"`, `"auth-only"`).
//!
//! ```text
//! Base                                       Authentication Only
//! HDR, SA, Ni            -->                 HDR, SA, Ni            -->
//!                        <--  HDR, SA, Nr                           <--  HDR, SA, Nr, IDir, AUTH_R
//! HDR, KE, IDii, AUTH_I  -->                 HDR, IDii, AUTH_I      -->
//!                        <--  HDR, KE, IDir, AUTH_R
//! ```
//!
//! Every message is in the clear (the identities are not protected: ISAKMP's point of these
//! exchanges), AUTH is HASH_I/HASH_R with a pre-shared key or [CERT] SIG_I/SIG_R with
//! signatures, and a vendor ID announces dead peer detection. RFC 2409 gives IKE's key schedule
//! and proofs only for Main and Aggressive Mode, so this module applies them with the fewest
//! changes the message order forces:
//!
//! - **Base.** SKEYID, SKEYID_d/a/e and HASH_R are exactly RFC 2409 §5's. The initiator signs
//!   or hashes message 3 before it has seen g^xr, so HASH_I leaves g^xr (and for signatures
//!   g^xy) out: `HASH_I = prf(K, g^xi | CKY-I | CKY-R | SAi_b | IDii_b)` with `K = SKEYID =
//!   prf(pre-shared-key, Ni_b | Nr_b)` for a pre-shared key and `K = Ni_b | Nr_b` for
//!   signatures (the SKEYID formula without g^xy). HASH_R covers g^xi, so the responder
//!   authenticates both halves of the exchange. Quick Mode IVs start from `hash(g^xi | g^xr)`
//!   as no Phase 1 message was encrypted (RFC 2409 Appendix B).
//! - **Authentication Only.** No KE payload: the RFC 2409 formulas with g^xy, g^xi and g^xr
//!   empty (`SKEYID = prf(pre-shared-key, Ni_b | Nr_b)`, `HASH_I = prf(SKEYID, CKY-I | CKY-R |
//!   SAi_b | IDii_b)`, `SKEYID_a = prf(SKEYID, SKEYID_d | CKY-I | CKY-R | 1)`, ...). Pre-shared
//!   keys only (with signatures nothing secret would protect the SA's later messages). The SA
//!   carries no IPsec SAs and no encryption: its Informational exchanges go in the clear with
//!   the Authentication Only flag (RFC 2408 §3.1), protected by HASH(1) under SKEYID_a.

use std::net::SocketAddr;
use std::time::Instant;

use ike_crypto::rng::Rng;
use ike_crypto::Secret;
use ike_wire::v1::{self as wire, Body, ExchangeType, NotifyType, Payload, PayloadType};

use super::main_mode::{id_body, notify_reply, parse_id, peer_vids, phase1_life, Step};
use super::protect::{self, Chain};
use super::sa::{Handshake, IsakmpSa, Output, Phase1State, Retransmit, Sent};
use super::Ctx;
use crate::config::{AuthMethod, Identity, PeerConfig, V1Exchange};
use crate::proposal::v1::{self as prop, Refusal};
use crate::proposal::Chosen;
use crate::status::DropReason;
use crate::v2::{EngineError, ProtocolError, SaHandle};

const NONCE_LEN: usize = 32;

/// The connection setting that enables an exchange.
fn enabled_by(exchange: ExchangeType) -> V1Exchange {
    if exchange == ExchangeType::Base {
        V1Exchange::Base
    } else {
        V1Exchange::AuthOnly
    }
}

/// Message 1 of either exchange: SA, nonce, the DPD vendor ID.
fn message1(sai_b: &[u8], n: &[u8]) -> Chain {
    let mut c = Chain::default();
    c.add(PayloadType::Sa, sai_b)
        .add(PayloadType::Nonce, n)
        .add(PayloadType::VendorId, &super::nat::VID_DPD);
    c
}

/// The payloads of a clear message and their layout.
fn clear_body<'a>(
    data: &'a [u8],
    msg: &'a wire::Message<'a>,
) -> Result<(&'a [Payload<'a>], &'a [u8], protect::Layout), Step> {
    let Body::Plain(payloads) = &msg.body else {
        return Err(Step::Drop(DropReason::InvalidPayloads));
    };
    let body = data.get(28..).unwrap_or_default();
    let (l, _) = protect::layout(msg.first_payload_type().value(), body)
        .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
    Ok((payloads, body, l))
}

impl IsakmpSa {
    /// Starts a Base or Authentication Only exchange (`exchange`) for connection `idx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn initiate_base(
        handle: SaHandle,
        idx: usize,
        peer: &PeerConfig,
        local: SocketAddr,
        remote: SocketAddr,
        cookie: [u8; 8],
        now: Instant,
        ctx: &mut Ctx<'_>,
        auth: wire::OakleyAuthMethod,
        offered: Vec<Chosen>,
        exchange: ExchangeType,
    ) -> Result<(Self, Vec<u8>), EngineError> {
        let mut ni = vec![0u8; NONCE_LEN];
        ctx.rng.fill(&mut ni)?;
        let sai_b = prop::encode_phase1_sa(&offered, auth, phase1_life(peer));
        let bytes = protect::plain((cookie, [0; 8]), exchange, 0, &message1(&sai_b, &ni));
        tracing::debug!(target: "ike", "sending {} message 1 [SA No V] to {remote}", super::sa::exchange_name(exchange));
        let sa = Self {
            handle,
            peer_idx: idx,
            initiator: true,
            exchange,
            icookie: cookie,
            rcookie: [0; 8],
            local,
            remote,
            state: Phase1State::BaseSent1,
            created: now,
            hs: Some(Box::new(Handshake {
                sai_b,
                offered,
                ni,
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

    /// Message 1 of a Base or Authentication Only exchange at a responder: a connection that
    /// enables the exchange and an acceptable proposal; message 2 (with Authentication Only
    /// already our identity and proof).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn respond_base1(
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
        let name = super::sa::exchange_name(h.exchange);
        let want = enabled_by(h.exchange);
        let enabled = candidates
            .iter()
            .any(|&i| ctx.peers.get(i).is_some_and(|p| p.exchange == want));
        if !enabled {
            tracing::info!(target: "ike", "ISAKMP {name} exchange from {remote} refused (INVALID-EXCHANGE-TYPE): no connection for this peer enables it (exchange = \"{}\")", if want == V1Exchange::Base { "base" } else { "auth-only" });
            ctx.dropped(DropReason::NotAnInitiation, remote);
            return Err(Some(notify_reply(&h, NotifyType::InvalidExchangeType)));
        }
        let Ok((payloads, body, l)) = clear_body(data, msg) else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(None);
        };
        let offer = payloads.iter().find_map(|p| match p {
            Payload::Sa(s) => Some(s),
            _ => None,
        });
        let ni = payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(*n),
            _ => None,
        });
        let sai_b = protect::find_body(body, &l, PayloadType::Sa);
        let (Some(offer), Some(ni), Some(sai_b)) = (offer, ni, sai_b) else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(Some(notify_reply(&h, NotifyType::PayloadMalformed)));
        };
        if !(8..=256).contains(&ni.len()) {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(Some(notify_reply(&h, NotifyType::PayloadMalformed)));
        }
        let mut found = None;
        for &idx in candidates {
            let Some(peer) = ctx.peers.get(idx) else {
                continue;
            };
            if peer.exchange != want {
                continue;
            }
            let Ok(auth) = super::auth::auth_method(peer) else {
                continue;
            };
            let ours = prop::phase1_suites(&peer.ike_proposals);
            match prop::select_phase1(&ours, auth, offer, ctx.config.prefer_initiator_proposals) {
                Ok((c, n)) => {
                    found = Some((idx, c, n));
                    break;
                }
                Err(Refusal::Syntax(why)) => {
                    tracing::info!(target: "ike", "{name} exchange from {remote} refused: {why}");
                    return Err(Some(notify_reply(&h, NotifyType::BadProposalSyntax)));
                }
                Err(Refusal::NoProposalChosen) => {}
            }
        }
        let Some((idx, chosen, number)) = found else {
            tracing::info!(target: "ike", "{name} exchange from {remote}: no acceptable proposal (NO-PROPOSAL-CHOSEN)");
            return Err(Some(notify_reply(&h, NotifyType::NoProposalChosen)));
        };
        let Some(peer) = ctx.peers.get(idx).cloned() else {
            return Err(None);
        };
        let mut nr = vec![0u8; NONCE_LEN];
        if ctx.rng.fill(&mut nr).is_err() {
            return Err(None);
        }
        let mut sa = Self {
            handle,
            peer_idx: idx,
            initiator: false,
            exchange: h.exchange,
            icookie: h.icookie,
            rcookie: cookie,
            local,
            remote,
            init_key: Some((remote, h.icookie)),
            state: Phase1State::BaseSent2,
            created: now,
            chosen: Some(chosen),
            hs: Some(Box::new(Handshake {
                sai_b: sai_b.to_vec(),
                ni: ni.to_vec(),
                nr: nr.clone(),
                ..Handshake::default()
            })),
            peer_dpd: peer_vids(payloads).dpd,
            ..Self::blank(&peer, now, ctx.config.fragment_size)
        };
        let reply = prop::encode_phase1_reply(&chosen, number);
        let mut c = Chain::default();
        c.add(PayloadType::Sa, &reply).add(PayloadType::Nonce, &nr);
        let what = if h.exchange == ExchangeType::AuthenticationOnly {
            // No key exchange: the keys (and our proof) exist already.
            if sa.derive(&peer, &[]).is_err() {
                return Err(None);
            }
            let idir = id_body(&sa.local_id);
            c.add(PayloadType::Id, &idir);
            if sa.add_proof(&mut c, &peer, false, &idir, ctx).is_err() {
                return Err(None);
            }
            "SA No ID HASH V"
        } else {
            "SA No V"
        };
        c.add(PayloadType::VendorId, &super::nat::VID_DPD);
        let bytes = protect::plain((h.icookie, cookie), h.exchange, 0, &c);
        tracing::debug!(target: "ike", "sending {name} message 2 [{what}] to {remote} ({})", chosen.describe());
        sa.p1_sent = Some(Sent {
            bytes: bytes.clone(),
            awaiting: (h.exchange == ExchangeType::AuthenticationOnly)
                .then(|| Retransmit::start(now, ctx.config)),
            answers: Some(data.to_vec()),
        });
        Ok((sa, bytes))
    }

    /// A Phase 1 message of a Base or Authentication Only exchange.
    pub(crate) fn base_exchange(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let auth_only = self.exchange == ExchangeType::AuthenticationOnly;
        let r = match (self.state, self.initiator, auth_only) {
            (Phase1State::BaseSent1, true, false) => self.base2(now, data, msg, ctx),
            (Phase1State::BaseSent2, false, false) => self.base3(now, data, msg, ctx),
            (Phase1State::BaseSent3, true, false) => self.base4(now, data, msg, ctx),
            (Phase1State::BaseSent1, true, true) => self.auth_only2(now, data, msg, ctx),
            (Phase1State::BaseSent2, false, true) => self.auth_only3(now, data, msg, ctx),
            _ => Err(Step::Drop(DropReason::WrongState)),
        };
        self.phase1_outcome(r)
    }

    /// Message 2 at the initiator: the responder's choice and nonce.
    fn take_reply(
        &mut self,
        payloads: &[Payload<'_>],
        msg: &wire::Message<'_>,
        peer: &PeerConfig,
    ) -> Result<(), Step> {
        let (mut sa, mut nr) = (None, None);
        for p in payloads {
            match p {
                Payload::Sa(s) if sa.is_none() => sa = Some(s),
                Payload::Nonce(n) => nr = Some(*n),
                _ => {}
            }
        }
        let (Some(sa), Some(nr)) = (sa, nr) else {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        };
        if !(8..=256).contains(&nr.len()) {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        let auth = super::auth::auth_method(peer)
            .map_err(|_| Step::Fail(ProtocolError::NoProposalChosen))?;
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let chosen = prop::check_phase1_reply(&hs.offered, auth, phase1_life(peer), sa).ok_or(
            Step::Fail(ProtocolError::InvalidResponse(
                "the responder chose a transform we did not offer",
            )),
        )?;
        hs.nr = nr.to_vec();
        self.rcookie = msg.header.rcookie;
        self.chosen = Some(chosen);
        self.peer_dpd = peer_vids(payloads).dpd;
        Ok(())
    }

    /// The Base exchange's HASH_I (see the module comment): computable before g^xr.
    fn base_hash_i(&self, peer: &PeerConfig, idii: &[u8]) -> Result<Secret, Step> {
        let chosen = self.chosen.ok_or(Step::Drop(DropReason::WrongState))?;
        let hs = self.hs.as_ref().ok_or(Step::Drop(DropReason::WrongState))?;
        let prf = match chosen.auth {
            wire::OakleyAuthMethod::DssSignatures => ike_crypto::prf::PrfAlg::HmacSha1,
            _ => chosen
                .prf_alg()
                .map_err(|_| Step::Fail(ProtocolError::LocalFailure("no prf")))?,
        };
        let key = match (&peer.local_auth, self.uses_signatures()) {
            (_, true) => Secret::new([hs.ni.as_slice(), hs.nr.as_slice()].concat()),
            (AuthMethod::Psk(k), false) => {
                ike_crypto::kdf::v1::skeyid_psk(prf, k.expose(), &hs.ni, &hs.nr)
            }
            _ => return Err(Step::Fail(ProtocolError::LocalFailure("no pre-shared key"))),
        };
        Ok(ike_crypto::kdf::v1::hash_i(
            prf,
            key.expose(),
            &hs.gxi,
            &[],
            &self.icookie,
            &self.rcookie,
            &hs.sai_b,
            idii,
        ))
    }

    /// Base messages 3 and 4: the KE payload (of the chosen group's length) and the ID body.
    fn ke_and_id<'a>(
        &self,
        payloads: &[Payload<'a>],
        body: &'a [u8],
        l: &protect::Layout,
        ctx: &Ctx<'_>,
    ) -> Result<(&'a [u8], &'a [u8]), Step> {
        let ke = payloads
            .iter()
            .find_map(|p| match p {
                Payload::Ke(k) => Some(*k),
                _ => None,
            })
            .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
        let id = protect::find_body(body, l, PayloadType::Id)
            .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
        let group = self
            .chosen
            .map_or(ike_wire::group::DhGroup::None, |c| c.group());
        if ctx.dh_len(group) != Some(ke.len()) {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        Ok((ke, id))
    }

    /// The peer's identity from an ID payload body, which the connection must accept.
    fn peer_identity(peer: &PeerConfig, id_b: &[u8]) -> Result<Identity, Step> {
        let id = parse_id(id_b).ok_or(Step::Fail(ProtocolError::AuthenticationFailed(
            "unsupported identity type",
        )))?;
        if !peer.remote_id.accepts(&id) {
            return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                "the peer's identity is not the one configured",
            )));
        }
        Ok(id)
    }

    /// Base, initiator: SA and Nr; send KE, IDii and our proof.
    fn base2(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (payloads, _, _) = clear_body(data, msg)?;
        let peer = self.peer_of(ctx)?.clone();
        self.take_reply(payloads, msg, &peer)?;
        let group = self
            .chosen
            .map_or(ike_wire::group::DhGroup::None, |c| c.group());
        let dh = ctx
            .dh_generate(group)
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("key generation failed")))?;
        let idii = id_body(&self.local_id);
        if let Some(hs) = self.hs.as_mut() {
            hs.gxi = dh.public_value().to_vec();
            hs.dh = Some(dh);
            hs.id_i = idii.clone();
        }
        let hash = self.base_hash_i(&peer, &idii)?;
        let mut c = Chain::default();
        let gxi = self.hs.as_ref().map(|h| h.gxi.clone()).unwrap_or_default();
        c.add(PayloadType::Ke, &gxi).add(PayloadType::Id, &idii);
        self.add_proof_of(&mut c, &peer, &hash, ctx)?;
        if self.uses_signatures() {
            c.add(PayloadType::CertReq, &super::auth::certreq_body());
        }
        let bytes = protect::plain(self.cookies(), ExchangeType::Base, 0, &c);
        tracing::debug!(target: "ike", "Base: the responder chose {}; sending message 3 [KE ID {}]", self.chosen.map(|c| c.describe()).unwrap_or_default(), if self.uses_signatures() { "CERT SIG CERTREQ" } else { "HASH" });
        self.state = Phase1State::BaseSent3;
        Ok(self.send_p1(now, ctx, bytes, true, data))
    }

    /// Base, responder: KE, IDii and the initiator's proof; send KE, IDir and ours;
    /// established.
    fn base3(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (payloads, body, l) = clear_body(data, msg)?;
        let peer = self.peer_of(ctx)?.clone();
        let (ke, idii) = self.ke_and_id(payloads, body, &l, ctx)?;
        if let Some(hs) = self.hs.as_mut() {
            hs.gxi = ke.to_vec();
        }
        let want = self.base_hash_i(&peer, idii)?;
        let id = parse_id(idii).unwrap_or(Identity::Any);
        // A wrong HASH is dropped like a forgery (the peer retransmits); a bad signature fails.
        self.peer_auth = self.verify_proof_of(&peer, &want, &id, body, &l, ctx.unix_now)?;
        let id = Self::peer_identity(&peer, idii)?;
        let dh = ctx
            .dh_generate(
                self.chosen
                    .map_or(ike_wire::group::DhGroup::None, |c| c.group()),
            )
            .map_err(|_| Step::Fail(ProtocolError::LocalFailure("key generation failed")))?;
        let gxy = dh
            .shared_secret(ke)
            .map_err(|_| Step::Fail(ProtocolError::InvalidResponse("invalid KE")))?;
        if let Some(hs) = self.hs.as_mut() {
            hs.gxr = dh.public_value().to_vec();
            hs.id_i = idii.to_vec();
        }
        self.derive(&peer, gxy.expose())?;
        self.remote_id = Some(id);
        let idir = id_body(&self.local_id);
        let mut c = Chain::default();
        c.add(PayloadType::Ke, dh.public_value())
            .add(PayloadType::Id, &idir);
        self.add_proof(&mut c, &peer, false, &idir, ctx)?;
        let bytes = protect::plain(self.cookies(), ExchangeType::Base, 0, &c);
        tracing::debug!(target: "ike", "sending Base message 4 [KE ID {}]", if self.uses_signatures() { "CERT SIG" } else { "HASH" });
        let mut out = self.send_p1(now, ctx, bytes, false, data);
        self.established(now, &mut out);
        Ok(out)
    }

    /// Base, initiator: KE, IDir and the responder's proof; established; start the Quick
    /// Modes.
    fn base4(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (payloads, body, l) = clear_body(data, msg)?;
        let peer = self.peer_of(ctx)?.clone();
        let (ke, idir) = self.ke_and_id(payloads, body, &l, ctx)?;
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let gxy = hs
            .dh
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?
            .shared_secret(ke)
            .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
        hs.gxr = ke.to_vec();
        self.derive(&peer, gxy.expose())?;
        let id = parse_id(idir).unwrap_or(Identity::Any);
        match self.verify_proof(&peer, false, idir, &id, body, &l, ctx.unix_now) {
            Ok(a) => self.peer_auth = a,
            Err(e) => {
                // Not authenticated: perhaps forged; the genuine one may follow.
                self.keys = None;
                return Err(e);
            }
        }
        self.remote_id = Some(Self::peer_identity(&peer, idir)?);
        if let Some(hs) = self.hs.as_mut() {
            hs.dh = None;
        }
        let mut out = Output::default();
        self.p1_sent = None;
        self.initiator_established(now, ctx, &mut out);
        Ok(out)
    }

    /// Authentication Only, initiator: SA, Nr, IDir and the responder's proof; send IDii and
    /// ours; established.
    fn auth_only2(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (payloads, body, l) = clear_body(data, msg)?;
        let peer = self.peer_of(ctx)?.clone();
        let idir = protect::find_body(body, &l, PayloadType::Id)
            .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
        let saved = (self.rcookie, self.chosen);
        self.take_reply(payloads, msg, &peer)?;
        self.derive(&peer, &[])?;
        let id = parse_id(idir).unwrap_or(Identity::Any);
        if let Err(e) = self.verify_proof(&peer, false, idir, &id, body, &l, ctx.unix_now) {
            // Perhaps forged: wait for the genuine message 2.
            (self.rcookie, self.chosen) = saved;
            self.keys = None;
            return Err(e);
        }
        self.remote_id = Some(Self::peer_identity(&peer, idir)?);
        let idii = id_body(&self.local_id);
        let mut c = Chain::default();
        c.add(PayloadType::Id, &idii);
        self.add_proof(&mut c, &peer, true, &idii, ctx)?;
        let bytes = protect::plain(self.cookies(), ExchangeType::AuthenticationOnly, 0, &c);
        tracing::debug!(target: "ike", "sending Authentication Only message 3 [ID HASH]");
        let mut out = self.send_p1(now, ctx, bytes, false, data);
        self.established(now, &mut out);
        Ok(out)
    }

    /// Authentication Only, responder: IDii and the initiator's proof; established.
    fn auth_only3(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (_, body, l) = clear_body(data, msg)?;
        let peer = self.peer_of(ctx)?.clone();
        let idii = protect::find_body(body, &l, PayloadType::Id)
            .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
        let id = parse_id(idii).unwrap_or(Identity::Any);
        self.verify_proof(&peer, true, idii, &id, body, &l, ctx.unix_now)?;
        self.remote_id = Some(Self::peer_identity(&peer, idii)?);
        if let Some(s) = self.p1_sent.as_mut() {
            // Message 2 needs no more retransmission; it stays to answer a repeated message 1.
            s.awaiting = None;
        }
        let mut out = Output::default();
        self.established(now, &mut out);
        Ok(out)
    }

    /// Whether this SA came from an Authentication Only exchange: no encryption, no IPsec SAs.
    pub(crate) fn auth_only(&self) -> bool {
        self.exchange == ExchangeType::AuthenticationOnly
    }
}
