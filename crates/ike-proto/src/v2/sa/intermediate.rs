//! Multiple key exchanges (RFC 9370) over IKE_INTERMEDIATE exchanges (RFC 9242).
//!
//! - Negotiation (RFC 9370 §2.2.1, RFC 9242 §3.1): proposals with additional key exchange
//!   transforms (ADDKE1-7) go with an INTERMEDIATE_EXCHANGE_SUPPORTED notify in IKE_SA_INIT, from
//!   both sides. A responder whose peer did not send it selects as if the peer had offered NONE
//!   for every additional exchange: an optional one is skipped, a mandatory one yields
//!   NO_PROPOSAL_CHOSEN. An initiator whose responder chose additional exchanges without the
//!   notify fails the SA.
//! - The exchanges (RFC 9370 §2.2.2): after IKE_SA_INIT, one IKE_INTERMEDIATE exchange per
//!   negotiated ADDKE type in order (NONE skipped), message IDs 1, 2, ..., carrying `SK {KEi}`
//!   and `SK {KEr}` protected with the keys in use. A KE payload of another method is answered
//!   with INVALID_SYNTAX and ends the SA. After each exchange the keys are updated:
//!   `SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr)`, and every SK_* follows from it with the
//!   same nonces and SPIs. IKE_AUTH then uses the next message ID.
//! - Authentication (RFC 9242 §3.3.2): each IKE_INTERMEDIATE message is folded into a chain,
//!   `IntAuth_iN = prf(SK_pi, IntAuth_i(N-1) | IntAuth_iN_A | IntAuth_iN_P)` (and likewise with
//!   SK_pr for responses), with the SK_p keys that protected that message; the AUTH payloads then
//!   sign `IntAuth_i | IntAuth_r | IKE_AUTH message ID` after the usual octets.
//!
//! An IKE_INTERMEDIATE message in any other state is ignored and changes nothing.

use crate::v2::entropy::Entropy;
use std::collections::VecDeque;
use std::time::Instant;

use ike_crypto::dh::{self, KeyExchange};
use ike_crypto::kdf::v2 as kdf;
use ike_wire::group::DhGroup;
use ike_wire::v2::{
    self, ExchangeType, KeyExchange as KePayload, Notify, NotifyType, Payload, PayloadType,
};

use super::{find_notify, first_error_notify, IkeSa, Output, RequestKind, State};
use crate::proposal::{Chosen, Proposal};
use crate::v2::payloads::{check_payloads, ProtocolError};
use crate::v2::protect::header;
use crate::v2::CloseReason;
use crate::v2::{EndpointConfig, PeerConfig};

/// The IKE_INTERMEDIATE exchanges of one IKE SA under way.
pub(crate) struct Round {
    /// The additional key exchanges still to run, in order; the first is the one under way.
    pending: VecDeque<DhGroup>,
    /// Initiator: our half of the exchange under way.
    kex: Option<Box<dyn KeyExchange>>,
}

/// The IntAuth chain of RFC 9242 §3.3.2.
#[derive(Clone, Debug, Default)]
pub(crate) struct IntAuth {
    /// IntAuth_iN: over the requests.
    i: Vec<u8>,
    /// IntAuth_rN: over the responses.
    r: Vec<u8>,
    /// The message ID of the last IKE_INTERMEDIATE exchange; IKE_AUTH uses the next.
    last_mid: u32,
}

impl IntAuth {
    /// `IntAuth_i | IntAuth_r | IKE_AUTH message ID`, appended to the AUTH payloads' octets.
    pub(crate) fn octets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.i.len() + self.r.len() + 4);
        out.extend_from_slice(&self.i);
        out.extend_from_slice(&self.r);
        out.extend_from_slice(&self.last_mid.wrapping_add(1).to_be_bytes());
        out
    }
}

/// `IntAuth_A | IntAuth_P` of one IKE_INTERMEDIATE message (RFC 9242 §3.3.2 with erratum 8213):
/// the IKE header and the Encrypted payload's generic header with their lengths *adjusted* to
/// count only what is authenticated (no IV, padding, pad length or ICV), then the inner payloads
/// in plaintext. Rebuilt from the header fields rather than cut from the datagram, so that a
/// message sent or received in fragments (RFC 7383) gives the same octets as if it had not been
/// fragmented; like strongSwan 6, which builds it the same way, it assumes no unencrypted
/// payloads before the Encrypted payload (we send none).
fn int_auth_data(h: &v2::Header, first_inner: PayloadType, plain: &[u8]) -> Option<Vec<u8>> {
    let length = u32::try_from(28 + 4 + plain.len()).ok()?;
    let sk_length = u16::try_from(4 + plain.len()).ok()?;
    let mut out = Vec::with_capacity(32 + plain.len());
    out.extend_from_slice(&h.spi_i);
    out.extend_from_slice(&h.spi_r);
    out.push(PayloadType::Sk.value());
    out.push(h.version);
    out.push(h.exchange.value());
    out.push(h.flags.0);
    out.extend_from_slice(&h.message_id.to_be_bytes());
    out.extend_from_slice(&length.to_be_bytes());
    out.push(first_inner.value());
    out.push(0);
    out.extend_from_slice(&sk_length.to_be_bytes());
    out.extend_from_slice(plain);
    Some(out)
}

/// Our proposals as the responder may select from them: unsupported methods dropped, and, if the
/// initiator did not announce IKE_INTERMEDIATE, NONE as the only choice for every additional key
/// exchange (a proposal that requires one is then unusable). A list that loses every method it
/// had makes its proposal unusable too.
pub(crate) fn usable_proposals(ours: Vec<Proposal>, payloads: &[Payload<'_>]) -> Vec<Proposal> {
    let peer_supports = find_notify(payloads, NotifyType::IntermediateExchangeSupported).is_some();
    ours.into_iter()
        .filter_map(|mut p| {
            for list in &mut p.addke {
                if list.is_empty() {
                    continue;
                }
                list.retain(|g| *g == DhGroup::None || (peer_supports && dh::is_supported(*g)));
                if list.is_empty() {
                    return None;
                }
            }
            Some(p)
        })
        .collect()
}

/// Whether IKE_SA_INIT should carry INTERMEDIATE_EXCHANGE_SUPPORTED: when we offer (initiator)
/// or chose (responder) additional key exchanges.
pub(crate) fn announce(peer: &PeerConfig) -> bool {
    peer.ike_proposals.iter().any(Proposal::has_addke)
}

/// The initiator's check of the responder's choice (RFC 9370 §2.2.1, RFC 9242 §3.1).
pub(crate) fn check_init_reply(
    chosen: &Chosen,
    payloads: &[Payload<'_>],
) -> Result<(), ProtocolError> {
    let supports = find_notify(payloads, NotifyType::IntermediateExchangeSupported).is_some();
    if chosen.additional().next().is_some() && !supports {
        return Err(ProtocolError::InvalidResponse(
            "additional key exchanges without INTERMEDIATE_EXCHANGE_SUPPORTED",
        ));
    }
    Ok(())
}

/// A key exchange for an additional exchange; with the `test-hooks` feature, an ML-KEM key may
/// come from a decapsulation key the test supplied, so that an independent computation can
/// decapsulate the responder's ciphertext.
pub(super) fn generate(
    group: DhGroup,
    rng: &mut Entropy,
) -> Result<Box<dyn KeyExchange>, ProtocolError> {
    #[cfg(feature = "test-hooks")]
    if let Some(dk) = crate::test_hooks::take_kem_key(group) {
        return dh::mlkem_from_decapsulation_key(group, &dk)
            .map_err(|_| ProtocolError::Unsupported("test decapsulation key"));
    }
    dh::generate(group, rng).map_err(|_| ProtocolError::Unsupported("additional key exchange"))
}

impl IkeSa {
    /// The octets IntAuth adds to the AUTH payloads, if IKE_INTERMEDIATE exchanges took place.
    pub(super) fn int_auth_octets(&self) -> Option<Vec<u8>> {
        self.handshake.int_auth.as_ref().map(IntAuth::octets)
    }

    /// Responder, after IKE_SA_INIT: wait for the IKE_INTERMEDIATE exchanges if the chosen
    /// proposal has additional key exchanges.
    pub(super) fn expect_intermediate(&mut self) {
        let pending: VecDeque<DhGroup> = self
            .chosen
            .iter()
            .flat_map(|c| c.additional().map(|(_, g)| g).collect::<Vec<_>>())
            .collect();
        if !pending.is_empty() {
            self.state = State::Intermediate(Round { pending, kex: None });
        }
    }

    /// Initiator, after IKE_SA_INIT: the first IKE_INTERMEDIATE exchange, or IKE_AUTH if no
    /// additional key exchange was negotiated.
    pub(super) fn after_init(
        &mut self,
        now: Instant,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let pending: VecDeque<DhGroup> = self
            .chosen
            .iter()
            .flat_map(|c| c.additional().map(|(_, g)| g).collect::<Vec<_>>())
            .collect();
        if pending.is_empty() {
            self.send_auth(now, peer, config, rng, out);
            return;
        }
        self.state = State::Intermediate(Round { pending, kex: None });
        self.send_intermediate(now, config, rng, out);
    }

    /// Initiator: the request of the next additional key exchange, `SK {KEi(n)}`.
    fn send_intermediate(
        &mut self,
        now: Instant,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let State::Intermediate(round) = &mut self.state else {
            return;
        };
        let Some(&group) = round.pending.front() else {
            return;
        };
        let kex = match generate(group, rng) {
            Ok(k) => k,
            Err(e) => {
                self.close(out, CloseReason::LocalError(e));
                return;
            }
        };
        let mid = self.window.next_mid;
        let payloads = [Payload::Ke(KePayload {
            group,
            data: kex.public_value(),
        })];
        let Some((bytes, auth)) = self.seal_intermediate(false, mid, &payloads, rng) else {
            return;
        };
        if let State::Intermediate(round) = &mut self.state {
            round.kex = Some(kex);
        }
        self.handshake.int_auth = Some(auth);
        self.window.next_mid = mid.wrapping_add(1);
        self.send_request(out, now, config, bytes, RequestKind::Intermediate, mid);
    }

    /// Seals an IKE_INTERMEDIATE message of ours and folds it into the IntAuth chain, with the
    /// SK_p of the keys that protect it. Returns the message and the new chain.
    fn seal_intermediate(
        &self,
        response: bool,
        mid: u32,
        payloads: &[Payload<'_>],
        rng: &mut Entropy,
    ) -> Option<(Vec<u8>, IntAuth)> {
        let bytes = self.seal(ExchangeType::IkeIntermediate, response, mid, payloads, rng)?;
        let mut plain = Vec::new();
        let first = v2::encode_payloads(payloads, &mut plain).ok()?;
        let h = header(
            self.spi_i,
            self.spi_r,
            ExchangeType::IkeIntermediate,
            self.initiator,
            response,
            mid,
        );
        let data = int_auth_data(&h, first, &plain)?;
        let auth = self.fold_int_auth(self.initiator, mid, &data)?;
        Some((bytes, auth))
    }

    /// The IntAuth chain with one more message: a request (from the initiator) goes into
    /// IntAuth_i under SK_pi, a response into IntAuth_r under SK_pr.
    fn fold_int_auth(&self, from_initiator: bool, mid: u32, data: &[u8]) -> Option<IntAuth> {
        let keys = self.keys.as_ref()?;
        let mut chain = self.handshake.int_auth.clone().unwrap_or_default();
        let (key, slot) = if from_initiator {
            (&keys.sk_pi, &mut chain.i)
        } else {
            (&keys.sk_pr, &mut chain.r)
        };
        *slot = keys
            .prf
            .compute(key.expose(), &[slot, data])
            .expose()
            .to_vec();
        chain.last_mid = mid;
        Some(chain)
    }

    /// `SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr)` and the SK_* from it (RFC 9370 §2.2.2).
    fn update_keys(&mut self, shared: &[u8]) -> Result<(), ProtocolError> {
        let (Some(keys), Some(chosen)) = (self.keys.as_ref(), self.chosen) else {
            return Err(ProtocolError::InvalidResponse("no keys"));
        };
        let skeyseed =
            kdf::intermediate_skeyseed(keys.prf, keys.sk_d.expose(), shared, &self.ni, &self.nr);
        self.keys_from_skeyseed(chosen, skeyseed.expose())
    }

    /// Initiator: the response `SK {KEr(n)}`, already decrypted (and reassembled): its inner
    /// payloads `plain`, the first of type `first`, and decoded as `inner`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_intermediate_response(
        &mut self,
        now: Instant,
        msg: &v2::Message<'_>,
        first: PayloadType,
        plain: &[u8],
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let State::Intermediate(round) = &mut self.state else {
            return;
        };
        let Some(kex) = round.kex.take() else {
            return;
        };
        round.pending.pop_front();
        self.window.outstanding = None;
        if let Some(err) = first_error_notify(inner) {
            self.close(out, CloseReason::PeerError(err));
            return;
        }
        let result = check_payloads(ExchangeType::IkeIntermediate, true, inner).and_then(|()| {
            let ke = inner
                .iter()
                .find_map(|p| match p {
                    Payload::Ke(k) => Some(k),
                    _ => None,
                })
                .ok_or(ProtocolError::MissingPayload {
                    exchange: ExchangeType::IkeIntermediate,
                    kind: "response",
                    payload: v2::PayloadType::Ke,
                })?;
            if ke.group != kex.group() {
                return Err(ProtocolError::InvalidResponse(
                    "KE of another method than the additional key exchange",
                ));
            }
            let shared = kex
                .shared_secret(ke.data)
                .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?;
            let auth = int_auth_data(&msg.header, first, plain)
                .and_then(|d| self.fold_int_auth(false, msg.header.message_id, &d))
                .ok_or(ProtocolError::InvalidSyntax("IKE_INTERMEDIATE message"))?;
            self.handshake.int_auth = Some(auth);
            self.update_keys(shared.expose())
        });
        if let Err(e) = result {
            self.close(out, CloseReason::LocalError(e));
            return;
        }
        let more = matches!(&self.state, State::Intermediate(r) if !r.pending.is_empty());
        if more {
            self.send_intermediate(now, config, rng, out);
        } else {
            self.send_auth(now, peer, config, rng, out);
        }
    }

    /// Responder: the request `SK {KEi(n)}`, already decrypted, answered with `SK {KEr(n)}` under
    /// the current keys, which are then updated.
    pub(super) fn handle_intermediate_request(
        &mut self,
        msg: &v2::Message<'_>,
        first: PayloadType,
        plain: &[u8],
        inner: &[Payload<'_>],
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let mid = msg.header.message_id;
        let State::Intermediate(round) = &self.state else {
            return;
        };
        let Some(&group) = round.pending.front() else {
            return;
        };
        let answer = int_auth_data(&msg.header, first, plain)
            .and_then(|d| self.fold_int_auth(true, mid, &d))
            .ok_or(ProtocolError::InvalidSyntax("IKE_INTERMEDIATE message"))
            .and_then(|auth| {
                check_payloads(ExchangeType::IkeIntermediate, false, inner)?;
                let ke = inner
                    .iter()
                    .find_map(|p| match p {
                        Payload::Ke(k) => Some(k),
                        _ => None,
                    })
                    .ok_or(ProtocolError::MissingPayload {
                        exchange: ExchangeType::IkeIntermediate,
                        kind: "request",
                        payload: v2::PayloadType::Ke,
                    })?;
                // RFC 9370 §2.2.2: another method than the negotiated one is INVALID_SYNTAX
                // (INVALID_KE_PAYLOAD has no meaning here).
                if ke.group != group {
                    return Err(ProtocolError::InvalidSyntax(
                        "KE of another method than the additional key exchange",
                    ));
                }
                if dh::public_value_len(group).is_some_and(|n| n != ke.data.len()) {
                    return Err(ProtocolError::InvalidSyntax("KE length"));
                }
                let (ours, shared) = dh::respond(group, ke.data, rng)
                    .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?;
                Ok((auth, ours, shared))
            });
        self.window.peer_next_mid = mid.wrapping_add(1);
        let (auth, ours, shared) = match answer {
            Ok(a) => a,
            Err(e) => {
                let notify = e.notify().unwrap_or(NotifyType::InvalidSyntax);
                let payloads = [Payload::Notify(Notify::new(notify, &[]))];
                if let Some(bytes) =
                    self.seal(ExchangeType::IkeIntermediate, true, mid, &payloads, rng)
                {
                    self.transmit(out, bytes);
                }
                self.close(out, CloseReason::LocalError(e));
                return;
            }
        };
        self.handshake.int_auth = Some(auth);
        let payloads = [Payload::Ke(KePayload { group, data: &ours })];
        let Some((bytes, auth)) = self.seal_intermediate(true, mid, &payloads, rng) else {
            self.close(
                out,
                CloseReason::LocalError(ProtocolError::Unsupported("sealing IKE_INTERMEDIATE")),
            );
            return;
        };
        self.handshake.int_auth = Some(auth);
        self.window.last_response = Some((mid, bytes.clone()));
        self.transmit(out, bytes);
        if let Err(e) = self.update_keys(shared.expose()) {
            self.close(out, CloseReason::LocalError(e));
            return;
        }
        if let State::Intermediate(round) = &mut self.state {
            round.pending.pop_front();
            if round.pending.is_empty() {
                self.state = State::InitDone;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ike_crypto::rng::SeededRng;

    use super::*;
    use crate::v2::{Endpoint, Event, SaHandle};

    const A: &str = "10.77.0.1:500";
    const B: &str = "10.77.0.2:500";
    const HYBRID: &str = "aes128gcm16-prfsha256-x25519-ke1_mlkem768";

    fn peer(remote: &str, local_id: &str, remote_id: &str, ike: &str) -> PeerConfig {
        super::super::test_support::test_peer(remote, local_id, remote_id, ike, "aes128gcm16")
    }

    struct Two {
        a: Endpoint,
        b: Endpoint,
        ha: SaHandle,
        now: Instant,
        rng: SeededRng,
    }

    impl Two {
        /// a initiates; IKE_SA_INIT is done on both sides. Returns a's next request (an
        /// IKE_INTERMEDIATE or IKE_AUTH), not yet delivered.
        fn after_init(ike_a: &str, ike_b: &str) -> (Self, Vec<u8>) {
            // Whole messages, so that one datagram is one message here; fragmented
            // IKE_INTERMEDIATE messages are covered engine to engine (tests/v2_intermediate.rs).
            let cfg = EndpointConfig {
                fragment_size: 0,
                ..EndpointConfig::default()
            };
            let mut a = Endpoint::new(
                cfg.clone(),
                vec![peer(B, "a", "b", ike_a)],
                Box::new(SeededRng::new(1)),
            )
            .unwrap();
            let b = Endpoint::new(
                cfg,
                vec![peer(A, "b", "a", ike_b)],
                Box::new(SeededRng::new(2)),
            )
            .unwrap();
            let now = Instant::now();
            let ha = a.initiate(now, A.parse().unwrap(), "b").unwrap();
            let mut t = Self {
                a,
                b,
                ha,
                now,
                rng: SeededRng::new(3),
            };
            let init = t.a.poll_transmit().unwrap().payload;
            let resp = t.deliver_b(&init);
            assert_eq!(resp.len(), 1);
            let next = t.deliver_a(&resp[0]);
            assert_eq!(next.len(), 1);
            (t, next.into_iter().next().unwrap())
        }

        fn deliver_b(&mut self, m: &[u8]) -> Vec<Vec<u8>> {
            self.b
                .handle_datagram(self.now, B.parse().unwrap(), A.parse().unwrap(), m);
            std::iter::from_fn(|| self.b.poll_transmit())
                .map(|t| t.payload)
                .collect()
        }

        fn deliver_a(&mut self, m: &[u8]) -> Vec<Vec<u8>> {
            self.a
                .handle_datagram(self.now, A.parse().unwrap(), B.parse().unwrap(), m);
            std::iter::from_fn(|| self.a.poll_transmit())
                .map(|t| t.payload)
                .collect()
        }

        fn seal_from_a(&mut self, exchange: ExchangeType, mid: u32, p: &[Payload<'_>]) -> Vec<u8> {
            let sa = self.a.sa_mut(self.ha).unwrap();
            sa.test_seal(exchange, false, mid, p, &mut self.rng)
                .unwrap()
        }

        /// Runs messages back and forth until neither side sends anything.
        fn settle(&mut self, first: Vec<u8>) {
            let mut to_b = vec![first];
            while !to_b.is_empty() {
                let mut to_a = Vec::new();
                for m in &to_b {
                    to_a.extend(self.deliver_b(m));
                }
                to_b.clear();
                for m in &to_a {
                    to_b.extend(self.deliver_a(m));
                }
            }
        }
    }

    fn a_closed(t: &mut Two) -> Option<CloseReason> {
        std::iter::from_fn(|| t.a.poll_event()).find_map(|e| match e {
            Event::IkeSaClosed { reason, .. } => Some(reason),
            _ => None,
        })
    }

    #[test]
    fn another_method_missing_ke_or_bad_length_is_invalid_syntax_and_ends_the_sa() {
        let ek1024 = dh::generate(DhGroup::MlKem1024, &mut SeededRng::new(4)).unwrap();
        let short = [1u8; 100];
        let cases: [&[Payload<'_>]; 3] = [
            &[Payload::Ke(KePayload {
                group: DhGroup::MlKem1024,
                data: ek1024.public_value(),
            })],
            &[Payload::Notify(Notify::new(
                NotifyType::InitialContact,
                &[],
            ))],
            &[Payload::Ke(KePayload {
                group: DhGroup::MlKem768,
                data: &short,
            })],
        ];
        for payloads in cases {
            let (mut t, real) = Two::after_init(HYBRID, HYBRID);
            assert_eq!(
                v2::Message::decode(&real).unwrap().header.exchange,
                ExchangeType::IkeIntermediate
            );
            let bad = t.seal_from_a(ExchangeType::IkeIntermediate, 1, payloads);
            let answer = t.deliver_b(&bad);
            assert_eq!(answer.len(), 1);
            assert_eq!(t.b.sa_count(), 0, "the responder ends the SA");
            // The answer is a protected INVALID_SYNTAX, which ends the initiator's SA too.
            assert!(t.deliver_a(&answer[0]).is_empty());
            assert_eq!(
                a_closed(&mut t),
                Some(CloseReason::PeerError(NotifyType::InvalidSyntax))
            );
        }
    }

    #[test]
    fn ike_intermediate_in_the_wrong_state_is_ignored() {
        // A responder that negotiated no additional key exchange, waiting for IKE_AUTH.
        let plain = "aes128gcm16-prfsha256-x25519";
        let (mut t, auth) = Two::after_init(plain, plain);
        let ek = dh::generate(DhGroup::MlKem768, &mut SeededRng::new(4)).unwrap();
        let ke = [Payload::Ke(KePayload {
            group: DhGroup::MlKem768,
            data: ek.public_value(),
        })];
        let stray = t.seal_from_a(ExchangeType::IkeIntermediate, 1, &ke);
        assert!(t.deliver_b(&stray).is_empty());
        assert_eq!(t.b.half_open_count(), 1);
        t.settle(auth);
        assert_eq!(t.b.established().len(), 1);
        assert_eq!(t.a.established().len(), 1);

        // Both established after an additional exchange: another IKE_INTERMEDIATE is ignored,
        // and the SA goes on with the next message ID.
        let (mut t, first) = Two::after_init(HYBRID, HYBRID);
        t.settle(first);
        assert_eq!(t.b.established().len(), 1);
        let stray = t.seal_from_a(ExchangeType::IkeIntermediate, 3, &ke);
        assert!(t.deliver_b(&stray).is_empty());
        assert_eq!(t.b.established().len(), 1);
        let now = t.now;
        t.a.check_liveness(now, t.ha).unwrap();
        let dpd = t.a.poll_transmit().unwrap().payload;
        assert_eq!(v2::Message::decode(&dpd).unwrap().header.message_id, 3);
        assert_eq!(t.deliver_b(&dpd).len(), 1);
    }

    #[test]
    fn ike_auth_before_the_additional_exchange_is_ignored() {
        let (mut t, intermediate) = Two::after_init(HYBRID, HYBRID);
        let id = [Payload::IdI(v2::Identification {
            id_type: v2::IdType::Fqdn,
            data: b"a",
        })];
        let early = t.seal_from_a(ExchangeType::IkeAuth, 1, &id);
        assert!(t.deliver_b(&early).is_empty());
        assert_eq!(t.b.half_open_count(), 1);
        t.settle(intermediate);
        assert_eq!(t.b.established().len(), 1);
        assert_eq!(t.a.established().len(), 1);
    }

    #[test]
    fn a_retransmitted_ike_intermediate_request_gets_the_cached_response() {
        let (mut t, intermediate) = Two::after_init(HYBRID, HYBRID);
        let first = t.deliver_b(&intermediate);
        let again = t.deliver_b(&intermediate);
        assert_eq!(first, again, "identical response, keys not updated twice");
        let auth = t.deliver_a(&first[0]);
        t.settle(auth.into_iter().next().unwrap());
        assert_eq!(t.b.established().len(), 1);
    }

    #[test]
    fn int_auth_data_is_the_header_and_sk_header_with_adjusted_lengths_then_the_plaintext() {
        // A real message: its first 32 octets are the header and SK header; IV, padding and ICV
        // follow the plaintext and are left out, and both lengths count only what is kept.
        let h = header(
            [1; 8],
            [2; 8],
            ExchangeType::IkeIntermediate,
            true,
            false,
            1,
        );
        let keys = crate::v2::protect::Protect::new(
            ike_crypto::cipher::EncrAlg::from_ikev2(v2::EncrId::AesGcm16, Some(128)).unwrap(),
            &[7; 20],
            None,
        )
        .unwrap();
        let payloads = [Payload::Nonce(&[5; 16])];
        let sealed = keys.seal(&h, &payloads, &mut SeededRng::new(1)).unwrap();
        let mut plain = Vec::new();
        let first = v2::encode_payloads(&payloads, &mut plain).unwrap();
        let d = int_auth_data(&h, first, &plain).unwrap();
        assert_eq!(d.len(), 32 + plain.len());
        assert_eq!(&d[..24], &sealed[..24]);
        assert_eq!(&d[24..28], &u32::try_from(d.len()).unwrap().to_be_bytes());
        assert_eq!(&d[28..30], &sealed[28..30]);
        assert_eq!(
            &d[30..32],
            &u16::try_from(4 + plain.len()).unwrap().to_be_bytes()
        );
        assert_eq!(&d[32..], &plain);
        assert!(sealed.len() > d.len());
    }

    #[test]
    fn int_auth_octets_end_with_the_ike_auth_message_id() {
        let a = IntAuth {
            i: vec![1; 4],
            r: vec![2; 4],
            last_mid: 2,
        };
        assert_eq!(a.octets(), [1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 3]);
    }
}
