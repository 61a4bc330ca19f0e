//! New Group Mode (RFC 2409 §5.6, exchange type 33): agreeing on a private group under the
//! protection of an established ISAKMP SA.
//!
//! ```text
//! Initiator                       Responder
//! HDR*, HASH(1), SA         -->
//!                           <--   HDR*, HASH(2), SA
//! HASH(1) = prf(SKEYID_a, M-ID | SA)     HASH(2) = prf(SKEYID_a, M-ID | SA)
//! ```
//!
//! The SA payload carries one KEY_IKE transform with the group's number (2^15 or more), type
//! and parameters. The initiator proposes each private group its connection's proposals name
//! ([`crate::config::EndpointConfig::private_groups`]) once the ISAKMP SA is established, before
//! the Quick Modes. The responder validates what it gets before anything else (a safe or
//! standard prime; an irreducible field polynomial, a generator on the curve, its order; see
//! [`crate::config::GroupParams::build`]), refuses a number already used by other parameters,
//! and answers with the same SA; a refusal is a protected ATTRIBUTES-NOT-SUPPORTED notify
//! (§5.6). IVs are those of any Phase 2 exchange (Appendix B): from `hash(last Phase 1 block |
//! M-ID)`, then chained. A group agreed but not named by the responder's own configuration
//! cannot be used by it: its proposals decide what it accepts later.

use std::time::Instant;

use ike_crypto::kdf::v1 as kdf;
use ike_crypto::rng::Rng;
use ike_wire::v1::{self as wire, Body, ExchangeType, NotifyType, Padding, Payload, PayloadType};

use super::main_mode::Step;
use super::protect::{self, Chain};
use super::sa::{retransmit, IsakmpSa, Output, Retransmit, Sent, Tick};
use super::Ctx;
use crate::config::{GroupParams, PrivateGroup};
use crate::proposal::v1 as prop;
use crate::status::DropReason;

/// A New Group Mode we started.
pub(crate) struct NewGroup {
    pub(crate) mid: u32,
    pub(crate) number: u16,
    /// The IV its answer decrypts with (our request's last ciphertext block).
    pub(crate) iv: Vec<u8>,
    pub(crate) sa: Vec<u8>,
    pub(crate) sent: Sent,
}

/// The parameters without leading zero octets, so that encodings compare.
fn normalized(p: &GroupParams) -> GroupParams {
    let t = |v: &[u8]| {
        v.get(v.iter().position(|b| *b != 0).unwrap_or(v.len())..)
            .unwrap_or_default()
            .to_vec()
    };
    match p {
        GroupParams::Modp { prime, generator } => GroupParams::Modp {
            prime: t(prime),
            generator: t(generator),
        },
        GroupParams::Ec2n {
            polynomial,
            a,
            b,
            gx,
            gy,
            order,
        } => GroupParams::Ec2n {
            polynomial: t(polynomial),
            a: t(a),
            b: t(b),
            gx: t(gx),
            gy: gy.as_deref().map(t),
            order: t(order),
        },
    }
}

impl IsakmpSa {
    /// Proposes the private groups that the connection's proposals use (initiator, once
    /// established). One exchange at a time; the others follow its answer.
    pub(crate) fn start_new_groups(&mut self, now: Instant, ctx: &mut Ctx<'_>) -> Output {
        let mut out = Output::default();
        if self.new_group.is_some() {
            return out;
        }
        let Some(peer) = self.peer(ctx.peers).cloned() else {
            return out;
        };
        let used: Vec<u16> = peer
            .ike_proposals
            .iter()
            .chain(peer.children.iter().flat_map(|c| &c.esp_proposals))
            .chain(peer.children.iter().flat_map(|c| &c.ah_proposals))
            .flat_map(|p| &p.ke)
            .filter_map(|g| match g {
                ike_wire::group::DhGroup::Unknown(n) => Some(*n),
                _ => None,
            })
            .collect();
        let Some(group) = ctx
            .config
            .private_groups
            .iter()
            .find(|g| used.contains(&g.number) && !self.groups_agreed.contains(&g.number))
            .cloned()
        else {
            return out;
        };
        match self.ngm1(now, &group, ctx) {
            Ok(t) => out.transmits.extend(t),
            Err(why) => {
                tracing::info!(target: "ike", "New Group Mode for group {} not started: {why}", group.number)
            }
        }
        out
    }

    fn ngm1(
        &mut self,
        now: Instant,
        group: &PrivateGroup,
        ctx: &mut Ctx<'_>,
    ) -> Result<Vec<crate::v2::Transmit>, &'static str> {
        let mid = loop {
            let mut b = [0u8; 4];
            ctx.rng.fill(&mut b).map_err(|_| "RNG failed")?;
            let m = u32::from_be_bytes(b);
            if m != 0 && self.seen_mids.insert(m) {
                break m;
            }
        };
        let keys = self.keys.as_ref().ok_or("no keys")?;
        let sa = prop::encode_new_group(group.number, &group.params);
        let mut rest = Chain::default();
        rest.add(PayloadType::Sa, &sa);
        let hash = kdf::informational_hash(keys.prf, keys.skeyid_a.expose(), mid, &rest.buf);
        let mut c = Chain::default();
        c.add(PayloadType::Hash, hash.expose())
            .add(PayloadType::Sa, &sa);
        let (bytes, iv) = protect::encrypted(
            &keys.cipher,
            &keys.phase2_iv(mid),
            self.cookies(),
            ExchangeType::NewGroupMode,
            0,
            mid,
            &c,
        )
        .ok_or("encryption failed")?;
        tracing::info!(target: "ike", "New Group Mode (M-ID {mid:08x}): proposing private group {} ({})", group.number, kind(&group.params));
        let t = self.datagrams(bytes.clone());
        self.new_group = Some(NewGroup {
            mid,
            number: group.number,
            iv,
            sa,
            sent: Sent {
                bytes,
                awaiting: Some(Retransmit::start(now, ctx.config)),
                answers: None,
            },
        });
        Ok(t)
    }

    /// A New Group Mode message: the answer to ours, or a peer's proposal.
    pub(crate) fn new_group_mode(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let mid = msg.header.message_id;
        // A repeated request gets the stored answer, computed once.
        if let Some((req, answer)) = &self.ngm_answer {
            if req.as_slice() == data {
                let a = answer.clone();
                return Output {
                    transmits: self.datagrams(a),
                    ..Output::default()
                };
            }
        }
        let r = match &self.new_group {
            Some(n) if n.mid == mid => self.ngm2(now, msg, ctx),
            _ => self.ngm_respond(data, msg, ctx),
        };
        match r {
            Ok(out) => out,
            Err(Step::Drop(reason)) => self.dropped_output(reason),
            Err(Step::Fail(e)) => {
                tracing::info!(target: "ike", "New Group Mode (M-ID {mid:08x}) failed: {e}");
                Output::default()
            }
        }
    }

    /// Decrypts a New Group Mode message and checks its HASH: the SA payload's bytes and
    /// body.
    fn ngm_open(&self, iv: &[u8], msg: &wire::Message<'_>) -> Result<(Vec<u8>, Vec<u8>), Step> {
        let mid = msg.header.message_id;
        let (plain, l, end, _) = self.decrypt_p2(iv, msg)?;
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let kinds: Vec<u8> = l.iter().map(|p| p.0).collect();
        if kinds != [PayloadType::Hash.value(), PayloadType::Sa.value()] {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        let rest_at = l.get(1).map_or(end, |p| p.1);
        let rest = plain.get(rest_at..end).unwrap_or_default();
        let want = kdf::informational_hash(keys.prf, keys.skeyid_a.expose(), mid, rest);
        if !ike_crypto::ct_eq(want.expose(), protect::body_of(&plain, &l, 0)) {
            tracing::info!(target: "ike", "New Group Mode (M-ID {mid:08x}): HASH does not verify");
            return Err(Step::Drop(DropReason::IntegrityCheckFailed));
        }
        Ok((rest.to_vec(), protect::body_of(&plain, &l, 1).to_vec()))
    }

    /// Responder: validate the proposed group and answer with the same SA, or refuse.
    fn ngm_respond(
        &mut self,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        if !self.is_established() {
            return Err(Step::Drop(DropReason::WrongState));
        }
        let mid = msg.header.message_id;
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let iv = keys.phase2_iv(mid);
        let (rest, sa_body) = self.ngm_open(&iv, msg)?;
        // Authenticated: the message ID is spent, whatever follows.
        if !self.seen_mids.insert(mid) {
            return Err(Step::Drop(DropReason::UnexpectedMessageId));
        }
        let mut out = Output::default();
        let refuse = |s: &mut Self, why: &str, ctx: &mut Ctx<'_>, out: &mut Output| {
            tracing::info!(target: "ike", "New Group Mode (M-ID {mid:08x}) refused (ATTRIBUTES-NOT-SUPPORTED): {why}");
            out.transmits
                .extend(s.send_notify(NotifyType::AttributesNotSupported, &[], ctx));
        };
        let sa = match wire::decode_payloads(PayloadType::Sa, &rest, 28, Padding::Forbidden)
            .ok()
            .and_then(|c| match c.payloads.first() {
                Some(Payload::Sa(sa)) => Some(prop::parse_new_group(sa)),
                _ => None,
            }) {
            Some(Ok(g)) => g,
            Some(Err(why)) => {
                refuse(self, why, ctx, &mut out);
                return Ok(out);
            }
            None => return Err(Step::Drop(DropReason::InvalidPayloads)),
        };
        let (number, params) = sa;
        if number < crate::config::PRIVATE_GROUP_MIN {
            refuse(
                self,
                "the group number is not in the private range (2^15 or more)",
                ctx,
                &mut out,
            );
            return Ok(out);
        }
        if let Err(e) = params.build() {
            refuse(
                self,
                &format!("the parameters are no valid group: {e}"),
                ctx,
                &mut out,
            );
            return Ok(out);
        }
        let ours = ctx
            .config
            .private_groups
            .iter()
            .find(|g| g.number == number);
        if ours.is_some_and(|g| normalized(&g.params) != normalized(&params)) {
            refuse(
                self,
                &format!("group number {number} is already in use for other parameters"),
                ctx,
                &mut out,
            );
            return Ok(out);
        }
        let keys = self
            .keys
            .as_ref()
            .ok_or(Step::Drop(DropReason::WrongState))?;
        let hash = kdf::informational_hash(keys.prf, keys.skeyid_a.expose(), mid, &rest);
        let mut c = Chain::default();
        c.add(PayloadType::Hash, hash.expose())
            .add(PayloadType::Sa, &sa_body);
        // The answer's IV: the last ciphertext block of the request.
        let Body::Encrypted { ciphertext, .. } = &msg.body else {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        };
        let block = keys.block;
        let next_iv = ciphertext
            .get(ciphertext.len().saturating_sub(block)..)
            .unwrap_or_default()
            .to_vec();
        let (bytes, _) = protect::encrypted(
            &keys.cipher,
            &next_iv,
            self.cookies(),
            ExchangeType::NewGroupMode,
            0,
            mid,
            &c,
        )
        .ok_or(Step::Drop(DropReason::WrongState))?;
        if ours.is_some() {
            tracing::info!(target: "ike", "New Group Mode (M-ID {mid:08x}): agreed on private group {number} ({})", kind(&params));
        } else {
            tracing::info!(target: "ike", "New Group Mode (M-ID {mid:08x}): agreed on private group {number} ({}); no [groups] entry names it, so our proposals cannot use it", kind(&params));
        }
        self.groups_agreed.push(number);
        out.transmits.extend(self.datagrams(bytes.clone()));
        self.ngm_answer = Some((data.to_vec(), bytes));
        Ok(out)
    }

    /// Initiator: the answer must carry our SA back under HASH(2).
    fn ngm2(
        &mut self,
        now: Instant,
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Output, Step> {
        let Some(n) = self.new_group.as_ref() else {
            return Err(Step::Drop(DropReason::WrongState));
        };
        let (iv, number, ours) = (n.iv.clone(), n.number, n.sa.clone());
        let (_, sa_body) = self.ngm_open(&iv, msg)?;
        if sa_body != ours {
            tracing::info!(target: "ike", "New Group Mode: the answer changed the group; not using it");
            self.new_group = None;
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        tracing::info!(target: "ike", "New Group Mode: the peer agreed on private group {number}");
        self.new_group = None;
        self.groups_agreed.push(number);
        Ok(self.start_new_groups(now, ctx))
    }

    /// Retransmits our New Group Mode request, or gives it up.
    pub(crate) fn new_group_tick(&mut self, now: Instant, ctx: &Ctx<'_>, out: &mut Output) {
        let Some(n) = self.new_group.as_mut() else {
            return;
        };
        match retransmit(&mut n.sent, now, ctx.config) {
            Tick::Idle => {}
            Tick::Resend => {
                let b = n.sent.bytes.clone();
                out.transmits.extend(self.datagrams(b));
            }
            Tick::GiveUp => {
                tracing::info!(target: "ike", "New Group Mode for group {}: no answer", n.number);
                self.new_group = None;
            }
        }
    }
}

fn kind(p: &GroupParams) -> String {
    match p {
        GroupParams::Modp { prime, .. } => format!("MODP, {}-bit prime", prime.len() * 8),
        GroupParams::Ec2n { polynomial, .. } => {
            format!("EC2N, {}-bit field polynomial", polynomial.len() * 8)
        }
    }
}
