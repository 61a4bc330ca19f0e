//! Aggressive Mode (RFC 2409 §5, the ISAKMP Aggressive exchange of RFC 2408 §4.7) with
//! pre-shared keys:
//!
//! ```text
//! Initiator                          Responder
//! HDR, SA, KE, Ni, IDii       -->
//!                             <--    HDR, SA, KE, Nr, IDir, HASH_R
//! HDR*, HASH_I                -->
//! ```
//!
//! Three messages instead of six, and the identities in the clear. With a pre-shared key the
//! responder's message carries a hash of the key that an eavesdropper can attack offline, so a
//! responder answers only for connections that enable it (`PeerConfig::aggressive`); `ike
//! check` warns about it. The group is fixed by the KE payload of message 1, so the initiator
//! offers only suites of its first suite's group. Message 3 is encrypted (as strongSwan sends
//! it; RFC 2409 leaves it optional) and a clear one is accepted too; the Phase 2 IVs start from
//! its last CBC block, or from `hash(g^xi | g^xr)` after a clear one.

use std::net::SocketAddr;
use std::time::Instant;

use ike_crypto::rng::Rng;
use ike_wire::v1::{self as wire, Body, ExchangeType, NotifyType, Payload, PayloadType};

use super::main_mode::{
    add_vids, auth_method, id_body, notify_reply, parse_id, peer_vids, phase1_life, plain_payloads,
    Step,
};
use super::protect::{self, Chain};
use super::sa::{Handshake, IsakmpSa, Output, Phase1State, Retransmit, Sent};
use super::Ctx;
use crate::config::{PeerConfig, V1Exchange};
use crate::proposal::v1::{self as prop, Refusal};
use crate::proposal::Chosen;
use crate::status::DropReason;
use crate::v2::{EngineError, ProtocolError, SaHandle};

const NONCE_LEN: usize = 32;

impl IsakmpSa {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn initiate_aggressive(
        handle: SaHandle,
        idx: usize,
        peer: &PeerConfig,
        local: SocketAddr,
        remote: SocketAddr,
        cookie: [u8; 8],
        now: Instant,
        ctx: &mut Ctx<'_>,
        auth: wire::OakleyAuthMethod,
        mut offered: Vec<Chosen>,
    ) -> Result<(Self, Vec<u8>), EngineError> {
        let group = offered.first().and_then(|s| s.ke);
        offered.retain(|s| s.ke == group);
        // Public-key encryption needs the cipher and hash before the responder answers (RFC
        // 2409 §5.3: "the cipher and hash cannot be negotiated"): one suite only.
        let pke = matches!(
            auth,
            wire::OakleyAuthMethod::RsaEncryption | wire::OakleyAuthMethod::RsaRevisedEncryption
        );
        if pke {
            offered.truncate(1);
        }
        let group = group.ok_or(EngineError::UnknownSa)?;
        let dh = ctx.dh_generate(group)?;
        let mut ni = vec![0u8; NONCE_LEN];
        ctx.rng.fill(&mut ni)?;
        let sai_b = prop::encode_phase1_sa(&offered, auth, phase1_life(peer));
        let idii = id_body(&peer.local_id);
        let gxi = dh.public_value().to_vec();
        let provisional = offered.first().filter(|_| pke).map(|suite| prop::Phase1 {
            suite: *suite,
            auth,
            life: phase1_life(peer),
        });
        let mut sa = Self {
            handle,
            peer_idx: idx,
            initiator: true,
            exchange: ExchangeType::Aggressive,
            icookie: cookie,
            rcookie: [0; 8],
            local,
            remote,
            state: Phase1State::AmSent1,
            created: now,
            hs: Some(Box::new(Handshake {
                sai_b: sai_b.clone(),
                offered,
                dh: Some(dh),
                ni: ni.clone(),
                gxi: gxi.clone(),
                id_i: idii.clone(),
                ..Handshake::default()
            })),
            chosen: provisional,
            todo: peer.children.iter().map(|c| c.name.clone()).collect(),
            ..Self::blank(peer, now, ctx.config.fragment_size)
        };
        let mut c = Chain::default();
        c.add(PayloadType::Sa, &sai_b);
        if pke {
            add_vids(&mut c, None);
            sa.add_pke(&mut c, peer, true, (&gxi, &ni, &idii), ctx)
                .map_err(|_| {
                    EngineError::Crypto(ike_crypto::CryptoError::Backend("RSA encryption"))
                })?;
        } else {
            c.add(PayloadType::Ke, &gxi)
                .add(PayloadType::Nonce, &ni)
                .add(PayloadType::Id, &idii);
            add_vids(&mut c, None);
        }
        let bytes = protect::plain((cookie, [0; 8]), ExchangeType::Aggressive, 0, &c);
        tracing::debug!(target: "ike", "sending Aggressive Mode message 1 [SA {}] to {remote}", if pke { "V HASH(1) <KE> <ID> <No>" } else { "KE No ID V" });
        sa.p1_sent = Some(Sent {
            bytes: bytes.clone(),
            awaiting: Some(Retransmit::start(now, ctx.config)),
            answers: None,
        });
        Ok((sa, bytes))
    }

    /// Aggressive Mode message 1 at a responder: a connection that allows Aggressive Mode and
    /// names this identity, a transform of the KE's group; message 2 with HASH_R.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn respond_am1(
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
        let mut offer = None;
        let (mut ke, mut ni) = (None, None);
        for p in payloads {
            match p {
                Payload::Sa(s) if offer.is_none() => offer = Some(s),
                Payload::Ke(k) => ke = Some(*k),
                Payload::Nonce(n) => ni = Some(*n),
                _ => {}
            }
        }
        let layout = data
            .get(28..)
            .and_then(|body| Some((body, protect::layout(*data.get(16)?, body)?.0)));
        let (Some(offer), Some(ke), Some(ni), Some((body, l))) = (offer, ke, ni, layout) else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(None);
        };
        let (Some(sai_b), Some(idii)) = (
            protect::find_body(body, &l, PayloadType::Sa),
            protect::find_body(body, &l, PayloadType::Id),
        ) else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(None);
        };
        if !(8..=256).contains(&ni.len()) {
            ctx.dropped(DropReason::InvalidInitiation, remote);
            return Err(None);
        }
        // With public-key encryption the nonce and identity (and in the revised mode the KE)
        // are encrypted to the candidate connection's key: each such candidate decrypts them.
        // A ciphertext with bad padding decrypts to random bytes like one holding another
        // nonce or identity, so which candidate matches tells nothing about padding.
        let clear_id = parse_id(idii);
        let mut found = None;
        for &idx in candidates {
            let Some(peer) = ctx.peers.get(idx) else {
                continue;
            };
            let Ok(auth) = auth_method(peer) else {
                continue;
            };
            if peer.exchange != V1Exchange::Aggressive {
                continue;
            }
            let ours = prop::phase1_suites(&peer.ike_proposals);
            match prop::select_phase1(&ours, auth, offer, ctx.config.prefer_initiator_proposals) {
                Ok((c, n))
                    if matches!(
                        c.auth,
                        wire::OakleyAuthMethod::RsaEncryption
                            | wire::OakleyAuthMethod::RsaRevisedEncryption
                    ) =>
                {
                    let draft = Self {
                        icookie: h.icookie,
                        rcookie: cookie,
                        chosen: Some(c),
                        ..Self::blank(peer, now, ctx.config.fragment_size)
                    };
                    let Ok(part) = draft.take_pke(payloads, peer, true, ctx) else {
                        continue;
                    };
                    let id = parse_id(&part.id_b);
                    if id.as_ref().is_some_and(|id| peer.remote_id.accepts(id))
                        && ctx.dh_len(c.group()) == Some(part.ke.len())
                    {
                        found = Some((idx, c, n, id, part));
                        break;
                    }
                }
                Ok((c, n))
                    if ctx.dh_len(c.group()) == Some(ke.len())
                        && clear_id
                            .as_ref()
                            .is_some_and(|id| peer.remote_id.accepts(id)) =>
                {
                    let part = super::pke::PeerPart {
                        ke: ke.to_vec(),
                        nonce: ni.to_vec(),
                        id_b: idii.to_vec(),
                        hash: None,
                    };
                    found = Some((idx, c, n, clear_id.clone(), part));
                    break;
                }
                Ok(_) | Err(Refusal::NoProposalChosen) => {}
                Err(Refusal::Syntax(why)) => {
                    tracing::info!(target: "ike", "Aggressive Mode from {remote} refused: {why}");
                    return Err(Some(notify_reply(&h, NotifyType::BadProposalSyntax)));
                }
            }
        }
        let Some((idx, chosen, number, Some(id), part)) = found else {
            let Some(id) = clear_id else {
                return Err(Some(notify_reply(&h, NotifyType::InvalidIdInformation)));
            };
            tracing::info!(target: "ike", "Aggressive Mode from {remote} as {id:?}: no connection allows it with an acceptable proposal (NO-PROPOSAL-CHOSEN)");
            return Err(Some(notify_reply(&h, NotifyType::NoProposalChosen)));
        };
        let (ke, ni, idii) = (
            part.ke.as_slice(),
            part.nonce.as_slice(),
            part.id_b.as_slice(),
        );
        let Some(peer) = ctx.peers.get(idx).cloned() else {
            return Err(None);
        };
        let Ok(dh) = ctx.dh_generate(chosen.group()) else {
            return Err(None);
        };
        let Ok(gxy) = dh.shared_secret(ke) else {
            ctx.dropped(DropReason::InvalidInitiation, remote);
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
            exchange: ExchangeType::Aggressive,
            icookie: h.icookie,
            rcookie: cookie,
            local,
            remote,
            init_key: Some((remote, h.icookie)),
            state: Phase1State::AmSent2,
            created: now,
            chosen: Some(chosen),
            hs: Some(Box::new(Handshake {
                sai_b: sai_b.to_vec(),
                ni: ni.to_vec(),
                nr: nr.clone(),
                gxi: ke.to_vec(),
                gxr: dh.public_value().to_vec(),
                id_i: idii.to_vec(),
                ..Handshake::default()
            })),
            remote_id: Some(id),
            force_encap: false,
            ..Self::blank(&peer, now, ctx.config.fragment_size)
        };
        let vids = peer_vids(payloads);
        sa.take_vids(&vids);
        sa.force_encap = peer.encap;
        if sa.derive(&peer, gxy.expose()).is_err() {
            return Err(None);
        }
        let idir = id_body(&sa.local_id);
        let reply = prop::encode_phase1_reply(&chosen, number);
        let mut c = Chain::default();
        c.add(PayloadType::Sa, &reply);
        if sa.pke_mode().is_some() {
            // Everything in the clear before the nonce: in the revised mode what follows it is
            // under Ke_r. HASH_R goes there too (§5.3 fixes only HASH(1)'s and the nonce's
            // places).
            add_vids(&mut c, Some(&vids));
            sa.add_natd(&mut c);
            if sa.add_proof(&mut c, &peer, false, &idir, ctx).is_err() {
                return Err(None);
            }
            let gxr = dh.public_value().to_vec();
            if sa
                .add_pke(&mut c, &peer, false, (&gxr, &nr, &idir), ctx)
                .is_err()
            {
                return Err(None);
            }
        } else {
            c.add(PayloadType::Ke, dh.public_value())
                .add(PayloadType::Nonce, &nr)
                .add(PayloadType::Id, &idir);
            add_vids(&mut c, Some(&vids));
            // RFC 3947 §3.1: NAT-D in Aggressive Mode messages 2 and 3.
            sa.add_natd(&mut c);
            if sa.add_proof(&mut c, &peer, false, &idir, ctx).is_err() {
                return Err(None);
            }
        }
        let bytes = protect::plain((h.icookie, cookie), ExchangeType::Aggressive, 0, &c);
        tracing::debug!(target: "ike", "sending Aggressive Mode message 2 [SA KE No ID V HASH] to {remote} ({})", chosen.describe());
        sa.p1_sent = Some(Sent {
            bytes: bytes.clone(),
            awaiting: Some(Retransmit::start(now, ctx.config)),
            answers: Some(data.to_vec()),
        });
        Ok((sa, bytes))
    }

    pub(crate) fn aggressive_mode(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let r = match (self.state, self.initiator) {
            (Phase1State::AmSent1, true) => self.am2(now, data, msg, ctx),
            (Phase1State::AmSent2, false) => self.am3(now, data, msg, ctx),
            _ => Err(Step::Drop(DropReason::WrongState)),
        };
        self.phase1_outcome(r)
    }

    /// Initiator: the responder's choice, KE, Nr, IDir and HASH_R; send HASH_I.
    fn am2(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let payloads = plain_payloads(msg)?;
        let body = data.get(28..).unwrap_or_default();
        let (l, _) = protect::layout(msg.first_payload_type().value(), body)
            .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
        let (mut sa, mut ke, mut nr) = (None, None, None);
        for p in payloads {
            match p {
                Payload::Sa(s) if sa.is_none() => sa = Some(s),
                Payload::Ke(k) => ke = Some(*k),
                Payload::Nonce(n) => nr = Some(*n),
                _ => {}
            }
        }
        let (Some(sa), Some(ke), Some(nr), Some(idir)) =
            (sa, ke, nr, protect::find_body(body, &l, PayloadType::Id))
        else {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        };
        let peer = self.peer_of(ctx)?.clone();
        let auth = auth_method(&peer).map_err(|_| Step::Fail(ProtocolError::NoProposalChosen))?;
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let chosen = prop::check_phase1_reply(&hs.offered, auth, phase1_life(&peer), sa).ok_or(
            Step::Fail(ProtocolError::InvalidResponse(
                "the responder chose a transform we did not offer",
            )),
        )?;
        // Public-key encryption: KE, Nr and IDir decrypted, HASH_R where the responder put it.
        let provisional = self.chosen;
        let mut pke_hash = None;
        let part = if provisional.is_some() {
            self.rcookie = msg.header.rcookie;
            let part = self.take_pke(payloads, &peer, false, ctx);
            self.rcookie = [0; 8];
            let part = part?;
            pke_hash = Some(
                part.hash
                    .clone()
                    .ok_or(Step::Drop(DropReason::InvalidPayloads))?,
            );
            part
        } else {
            super::pke::PeerPart {
                ke: ke.to_vec(),
                nonce: nr.to_vec(),
                id_b: idir.to_vec(),
                hash: None,
            }
        };
        let (ke, nr, idir) = (
            part.ke.as_slice(),
            part.nonce.as_slice(),
            part.id_b.as_slice(),
        );
        let proof_chain = pke_hash.map(|h| {
            let mut c = Chain::default();
            c.add(PayloadType::Hash, &h);
            c
        });
        let (body, l) = match &proof_chain {
            Some(c) => (
                c.buf.as_slice(),
                protect::layout(c.first(), &c.buf)
                    .ok_or(Step::Drop(DropReason::InvalidPayloads))?
                    .0,
            ),
            None => (body, l),
        };
        let hs = self.hs.as_mut().ok_or(Step::Drop(DropReason::WrongState))?;
        let gxy = hs
            .dh
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?
            .shared_secret(ke)
            .map_err(|_| Step::Drop(DropReason::InvalidPayloads))?;
        hs.gxr = ke.to_vec();
        hs.nr = nr.to_vec();
        self.rcookie = msg.header.rcookie;
        self.chosen = Some(chosen);
        self.take_vids(&peer_vids(payloads));
        self.derive(&peer, gxy.expose())?;
        // A decrypted identity that does not parse fails at the HASH like a wrong nonce.
        let id = match (parse_id(idir), provisional) {
            (Some(id), _) => id,
            (None, Some(_)) => crate::config::Identity::Any,
            (None, None) => {
                return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                    "unsupported identity type",
                )))
            }
        };
        match self.verify_proof(&peer, false, idir, &id, body, &l, ctx.unix_now) {
            Ok(auth) => self.peer_auth = auth,
            Err(e) => {
                // The message is not authenticated: it may be forged; wait for a genuine one
                // (our retransmission brings it) until the give-up.
                self.keys = None;
                self.chosen = provisional;
                self.rcookie = [0; 8];
                return Err(e);
            }
        }
        if parse_id(idir).is_none() {
            return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                "unsupported identity type",
            )));
        }
        if !peer.remote_id.accepts(&id) {
            return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                "the peer's identity is not the one configured",
            )));
        }
        self.remote_id = Some(id);
        let idii = self.hs.as_ref().map(|h| h.id_i.clone()).unwrap_or_default();
        self.detect_nat(payloads);
        let mut c = Chain::default();
        self.add_proof(&mut c, &peer, true, &idii, ctx)?;
        self.add_natd(&mut c);
        if self.behind_nat() {
            // RFC 3947 §4: message 3 already goes to port 4500.
            self.local.set_port(crate::v2::NAT_T_PORT);
            self.remote.set_port(crate::v2::NAT_T_PORT);
        }
        let bytes = self.encrypt_p1(&c)?;
        tracing::debug!(target: "ike", "sending Aggressive Mode message 3 [{}]", if self.uses_signatures() { "CERT SIG" } else { "HASH" });
        let mut out = self.send_p1(now, ctx, bytes, false, data);
        self.initiator_established(now, ctx, &mut out);
        Ok(out)
    }

    /// Responder: HASH_I, encrypted or not; established.
    fn am3(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let (plain, l, next_iv) = match &msg.body {
            Body::Encrypted { .. } => {
                let (plain, l, next) = self.decrypt_p1(msg)?;
                (plain, l, Some(next))
            }
            Body::Plain(_) => {
                let body = data.get(28..).unwrap_or_default().to_vec();
                let (l, _) = protect::layout(msg.first_payload_type().value(), &body)
                    .ok_or(Step::Drop(DropReason::InvalidPayloads))?;
                (body, l, None)
            }
        };
        let peer = self.peer_of(ctx)?.clone();
        let idii = self.hs.as_ref().map(|h| h.id_i.clone()).unwrap_or_default();
        let id = self
            .remote_id
            .clone()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        self.peer_auth = self.verify_proof(&peer, true, &idii, &id, &plain, &l, ctx.unix_now)?;
        if let Some(first) = l.first() {
            if let Ok(chain) = wire::decode_payloads(
                PayloadType::from(first.0),
                &plain,
                28,
                wire::Padding::Allowed,
            ) {
                self.detect_nat(&chain.payloads);
            }
        }
        if let (Some(k), Some(iv)) = (self.keys.as_mut(), next_iv) {
            k.p1_iv = iv;
        }
        let mut out = Output::default();
        // Message 2 needs no more retransmission; it stays to answer a repeated message 1.
        if let Some(s) = self.p1_sent.as_mut() {
            s.awaiting = None;
        }
        self.established(now, &mut out);
        Ok(out)
    }
}
