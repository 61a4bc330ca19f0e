//! The Informational exchange (RFC 2408 §4.8, RFC 2409 §5.7): one message, no answer, protected
//! after Phase 1 by HASH(1) = prf(SKEYID_a, M-ID | N/D) and encrypted under its own message ID's
//! IV. It carries Delete payloads (ISAKMP SA: both cookies; IPsec SAs: the SPIs the sender
//! receives with) and notifies: errors, INITIAL-CONTACT, and dead peer detection's R-U-THERE
//! and R-U-THERE-ACK (RFC 3706).
//!
//! Before Phase 1 completes nothing can authenticate a notify (RFC 2408 §5): one is logged, and
//! only an initiator still waiting for Main Mode message 2 gives up on it (the error notify
//! answers the message 1 it sent); anything else unprotected is dropped.

use std::time::Instant;

use ike_crypto::kdf::v1 as kdf;
use ike_crypto::rng::Rng;
use ike_wire::v1::{
    self as wire, Body, ExchangeType, NotifyType, Padding, Payload, PayloadType, ProtocolId,
    DOI_IPSEC,
};

use super::protect::{self, Chain};
use super::sa::{IsakmpSa, Output, Phase1State};
use super::Ctx;
use crate::status::DropReason;
use crate::v2::{CloseReason, Event, Transmit};

impl IsakmpSa {
    /// A protected Informational message with one payload of type `t`.
    pub(crate) fn protected_message(
        &mut self,
        t: PayloadType,
        body: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Option<Transmit> {
        let mid = loop {
            let mut b = [0u8; 4];
            ctx.rng.fill(&mut b).ok()?;
            let m = u32::from_be_bytes(b);
            if m != 0 && self.seen_mids.insert(m) {
                break m;
            }
        };
        let keys = self.keys.as_ref()?;
        let mut rest = Chain::default();
        rest.add(t, body);
        let hash = kdf::informational_hash(keys.prf, keys.skeyid_a.expose(), mid, &rest.buf);
        let mut c = Chain::default();
        c.add(PayloadType::Hash, hash.expose()).add(t, body);
        if self.auth_only() {
            // RFC 2408 §3.1: integrity (HASH(1)) without encryption, the Authentication Only
            // bit set; an Authentication Only SA has nothing else.
            let bytes = protect::plain_flags(
                self.cookies(),
                ExchangeType::Informational,
                wire::Flags::AUTH_ONLY,
                mid,
                &c,
            );
            return Some(self.transmit(bytes));
        }
        let iv = keys.phase2_iv(mid);
        let (bytes, _) = protect::encrypted(
            &keys.cipher,
            &iv,
            self.cookies(),
            ExchangeType::Informational,
            0,
            mid,
            &c,
        )?;
        Some(self.transmit(bytes))
    }

    /// A protected notify about the ISAKMP SA (`data` follows the cookies' SPI).
    pub(crate) fn send_notify(
        &mut self,
        n: NotifyType,
        data: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> Option<Transmit> {
        let mut body = Vec::new();
        body.extend_from_slice(&DOI_IPSEC.to_be_bytes());
        body.push(ProtocolId::Isakmp.value());
        body.push(16);
        body.extend_from_slice(&n.value().to_be_bytes());
        body.extend_from_slice(&self.icookie);
        body.extend_from_slice(&self.rcookie);
        body.extend_from_slice(data);
        self.protected_message(PayloadType::Notify, &body, ctx)
    }

    /// Deletes the IPsec SAs (one Delete per protocol) and then the ISAKMP SA, telling the peer.
    pub(crate) fn delete(&mut self, _now: Instant, ctx: &mut Ctx<'_>) -> Output {
        let mut transmits = Vec::new();
        if self.is_established() {
            for proto in [ProtocolId::Esp, ProtocolId::Ah] {
                let spis: Vec<u32> = self
                    .children
                    .iter()
                    .filter(|c| c.protocol.to_wire().value() == proto.value())
                    .map(|c| c.spi_in)
                    .collect();
                if spis.is_empty() {
                    continue;
                }
                let mut body = Vec::new();
                body.extend_from_slice(&DOI_IPSEC.to_be_bytes());
                body.push(proto.value());
                body.push(4);
                body.extend_from_slice(
                    &u16::try_from(spis.len()).unwrap_or(u16::MAX).to_be_bytes(),
                );
                for s in spis {
                    body.extend_from_slice(&s.to_be_bytes());
                }
                transmits.extend(self.protected_message(PayloadType::Delete, &body, ctx));
            }
            let mut body = Vec::new();
            body.extend_from_slice(&DOI_IPSEC.to_be_bytes());
            body.push(ProtocolId::Isakmp.value());
            body.push(16);
            body.extend_from_slice(&1u16.to_be_bytes());
            body.extend_from_slice(&self.icookie);
            body.extend_from_slice(&self.rcookie);
            transmits.extend(self.protected_message(PayloadType::Delete, &body, ctx));
            tracing::debug!(target: "ike", "sending Informational Delete for the ISAKMP SA and its IPsec SAs");
        }
        let mut out = self.close(CloseReason::Deleted);
        out.transmits = transmits;
        out
    }

    /// An Informational message from the peer.
    pub(crate) fn informational(
        &mut self,
        _now: Instant,
        data: &[u8],
        msg: &wire::Message<'_>,
        ctx: &mut Ctx<'_>,
    ) -> Output {
        let mid = msg.header.message_id;
        let drop = |r: DropReason, s: &Self| Output {
            dropped: Some((r, s.remote)),
            ..Output::default()
        };
        // The Authentication Only bit (RFC 2408 §3.1): HASH(1) without encryption, honoured
        // once the keys exist (an Authentication Only SA sends nothing else).
        let clear_but_hashed = msg.header.flags.auth_only()
            && self.keys.is_some()
            && mid != 0
            && matches!(msg.body, Body::Plain(_));
        if !clear_but_hashed && self.auth_only() && self.is_established() {
            return drop(DropReason::IntegrityCheckFailed, self);
        }
        let (first, encrypted) = match &msg.body {
            Body::Encrypted {
                first_payload,
                ciphertext,
            } => (first_payload.value(), Some(ciphertext)),
            Body::Plain(_) if clear_but_hashed => (msg.first_payload_type().value(), None),
            Body::Plain(_) => return self.unprotected(msg),
        };
        // Protected once the keys exist: also during Phase 1 (an error after message 5).
        if self.keys.is_none() || mid == 0 {
            return drop(DropReason::WrongState, self);
        }
        if self.seen_mids.contains(&mid) {
            // RFC 2408 §3.1: a message ID names one exchange; a repeat is a replay.
            return drop(DropReason::UnexpectedMessageId, self);
        }
        let Some(keys) = self.keys.as_ref() else {
            return drop(DropReason::WrongState, self);
        };
        let plain = match encrypted {
            Some(ciphertext) => {
                let iv = keys.phase2_iv(mid);
                let Some((plain, _)) = protect::decrypt(&keys.cipher, &iv, ciphertext) else {
                    return drop(DropReason::IntegrityCheckFailed, self);
                };
                plain
            }
            None => data.get(28..).unwrap_or_default().to_vec(),
        };
        let Some((l, end)) = protect::layout(first, &plain) else {
            return drop(DropReason::IntegrityCheckFailed, self);
        };
        if l.first().map(|p| p.0) != Some(PayloadType::Hash.value()) {
            tracing::info!(target: "ike", "Informational (M-ID {mid:08x}) without HASH first: dropped");
            return drop(DropReason::IntegrityCheckFailed, self);
        }
        let rest = plain
            .get(l.get(1).map_or(end, |p| p.1)..end)
            .unwrap_or_default();
        let want = kdf::informational_hash(keys.prf, keys.skeyid_a.expose(), mid, rest);
        if !ike_crypto::ct_eq(want.expose(), protect::body_of(&plain, &l, 0)) {
            tracing::info!(target: "ike", "Informational (M-ID {mid:08x}): HASH(1) does not verify (INVALID-HASH-INFORMATION): dropped");
            return drop(DropReason::IntegrityCheckFailed, self);
        }
        self.seen_mids.insert(mid);
        let Ok(chain) = wire::decode_payloads(
            PayloadType::Hash,
            plain.get(..end).unwrap_or_default(),
            28,
            Padding::Forbidden,
        ) else {
            return drop(DropReason::InvalidPayloads, self);
        };
        let mut out = Output::default();
        let mut isakmp_deleted = false;
        let mut phase1_error = None;
        let mut deleted_spis: Vec<u32> = Vec::new();
        for p in chain.payloads.iter().skip(1) {
            match p {
                Payload::Delete(d) if d.protocol == ProtocolId::Isakmp => {
                    let ours = [self.icookie, self.rcookie].concat();
                    if d.spis.contains(&ours.as_slice()) {
                        isakmp_deleted = true;
                    }
                }
                Payload::Delete(d) if matches!(d.protocol, ProtocolId::Esp | ProtocolId::Ah) => {
                    for s in &d.spis {
                        let Ok(b) = <[u8; 4]>::try_from(*s) else {
                            continue;
                        };
                        let spi = u32::from_be_bytes(b);
                        // The peer names the SPI it receives with (our outbound SPI); strongSwan
                        // names ours when it could not install the SA, and itself accepts
                        // either, so either is taken.
                        if let Some(i) = self.children.iter().position(|c| {
                            (c.spi_out == spi || c.spi_in == spi)
                                && c.protocol.to_wire().value() == d.protocol.value()
                        }) {
                            let c = self.children.remove(i);
                            tracing::debug!(target: "ike", "the peer deleted IPsec SA {} ({:08x}_i {:08x}_o)", c.name, c.spi_in, c.spi_out);
                            deleted_spis.push(spi);
                            out.events.push(Event::ChildSaDelete {
                                sa: self.handle,
                                connection: self.conn.clone(),
                                child: c.name,
                                spi_in: c.spi_in,
                                spi_out: c.spi_out,
                            });
                        }
                    }
                }
                Payload::Notify(n) => {
                    // A notify about an SA deleted in the same message is stale: ignored.
                    let about_deleted = <[u8; 4]>::try_from(n.spi)
                        .ok()
                        .map(u32::from_be_bytes)
                        .is_some_and(|s| deleted_spis.contains(&s));
                    if about_deleted || isakmp_deleted {
                        continue;
                    }
                    match n.notify_type {
                        NotifyType::RUThere => {
                            tracing::debug!(target: "ike", "R-U-THERE from the peer: acknowledging");
                            let data = n.data.to_vec();
                            if let Some(t) = self.send_notify(NotifyType::RUThereAck, &data, ctx) {
                                out.transmits.push(t);
                            }
                        }
                        NotifyType::RUThereAck => self.dpd_ack(n.data),
                        NotifyType::InitialContact => out.initial_contact = true,
                        other if other.is_error() && !self.is_established() => {
                            // An authenticated error before Phase 1 completed ends it.
                            phase1_error = Some(other);
                        }
                        other if other.is_error() => {
                            tracing::info!(target: "ike", "the peer sent notify {}", other.name().map_or_else(|| other.value().to_string(), str::to_owned));
                            let spi = <[u8; 4]>::try_from(n.spi).ok().map(u32::from_be_bytes);
                            self.refused_child(spi, other, ctx, &mut out);
                        }
                        other => {
                            tracing::info!(target: "ike", "the peer sent notify {}", other.name().map_or_else(|| other.value().to_string(), str::to_owned))
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(n) = phase1_error {
            tracing::info!(target: "ike", "the peer refused {} with {}", super::sa::exchange_name(self.exchange), n.name().unwrap_or("an error notify"));
            let o = self.close(CloseReason::PeerErrorV1(n));
            out.events.extend(o.events);
            out.closed = true;
            return out;
        }
        if isakmp_deleted {
            tracing::info!(target: "ike", "the peer deleted the ISAKMP SA");
            out.orphans = std::mem::take(&mut self.children);
            let o = self.close(CloseReason::DeletedByPeer);
            out.events.extend(o.events);
            out.closed = true;
        }
        out
    }

    /// An error notify about an IPsec SA (NO-PROPOSAL-CHOSEN after our Quick Mode message 2,
    /// when the peer could not install): the SA it names (by either SPI), or else the one
    /// Quick Mode we answered and still wait on, goes from our side too, without a Delete.
    fn refused_child(
        &mut self,
        spi: Option<u32>,
        n: NotifyType,
        _ctx: &mut Ctx<'_>,
        out: &mut Output,
    ) {
        let pending: Vec<u32> = self
            .quick
            .iter()
            .filter(|q| !q.initiator && !q.done)
            .map(|q| q.spi_in)
            .collect();
        let target = spi
            .and_then(|s| {
                self.children
                    .iter()
                    .find(|c| c.spi_in == s || c.spi_out == s)
                    .map(|c| c.spi_in)
            })
            .or(match pending.as_slice() {
                [one] => Some(*one),
                _ => None,
            });
        let Some(target) = target else {
            return;
        };
        self.quick.retain(|q| q.spi_in != target);
        if let Some(i) = self.children.iter().position(|c| c.spi_in == target) {
            let c = self.children.remove(i);
            tracing::info!(target: "ike", "IPsec SA {} ({:08x}_i) removed: the peer refused it with {}", c.name, c.spi_in, n.name().unwrap_or("an error notify"));
            out.events.push(Event::ChildSaDelete {
                sa: self.handle,
                connection: self.conn.clone(),
                child: c.name,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
            });
        }
    }

    /// An unprotected Informational message (before Phase 1 is authenticated).
    fn unprotected(&mut self, msg: &wire::Message<'_>) -> Output {
        let Body::Plain(payloads) = &msg.body else {
            return Output::default();
        };
        let n = payloads.iter().find_map(|p| match p {
            Payload::Notify(n) => Some(n.notify_type),
            _ => None,
        });
        match n {
            Some(n)
                if self.initiator
                    && matches!(
                        self.state,
                        Phase1State::MmSent1 | Phase1State::AmSent1 | Phase1State::BaseSent1
                    )
                    && n.is_error() =>
            {
                tracing::info!(target: "ike", "the peer refused {} with {}", super::sa::exchange_name(self.exchange), n.name().unwrap_or("an error notify"));
                self.close(CloseReason::PeerErrorV1(n))
            }
            Some(n) => {
                tracing::info!(target: "ike", "ignored an unauthenticated notify {} (RFC 2408 §5)", n.name().unwrap_or("of unknown type"));
                Output {
                    dropped: Some((DropReason::WrongState, self.remote)),
                    ..Output::default()
                }
            }
            None => Output {
                dropped: Some((DropReason::InvalidPayloads, self.remote)),
                ..Output::default()
            },
        }
    }
}
