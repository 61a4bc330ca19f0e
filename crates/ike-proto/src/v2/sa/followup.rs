//! Additional key exchanges after CREATE_CHILD_SA: IKE_FOLLOWUP_KE (RFC 9370 §2.2.4).
//!
//! - Negotiation: the SA payload of a CREATE_CHILD_SA request that creates or rekeys a Child SA
//!   with PFS, or rekeys the IKE SA, may carry ADDKE1-7 transforms next to its KE transform
//!   (`aes256gcm16-x25519-ke1_mlkem768`); the responder selects them as in IKE_SA_INIT, type by
//!   type, NONE skipped.
//! - The exchanges: if the responder chose any, its CREATE_CHILD_SA response carries an
//!   ADDITIONAL_KEY_EXCHANGE notify whose data (opaque to the initiator, 8 random octets here)
//!   links what follows to it. The initiator then runs one IKE_FOLLOWUP_KE exchange per additional
//!   key exchange in order, `SK {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)(link)}` answered by
//!   `SK {KEr(n), [N(ADDITIONAL_KEY_EXCHANGE)(link)]}`, the notify present while more are to
//!   come; the initiator echoes the link it last received.
//! - The keys: once the last exchange is done, `KEYMAT = prf+(SK_d, SK(0) | Ni | Nr | SK(1) |
//!   ... | SK(n))` for a Child SA and `SKEYSEED = prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ... |
//!   SK(n))` for a rekeyed IKE SA, SK(0) being the CREATE_CHILD_SA exchange's shared secret. Only
//!   then is the Child SA installed ([`Event::ChildSaInstall`](crate::v2::Event)) or the new IKE
//!   SA created, on both sides.
//! - Errors: a request whose link the responder does not know (or without one) gets
//!   STATE_NOT_FOUND and changes nothing; one without a KE payload, or with one of another method
//!   than the negotiated one, gets INVALID_SYNTAX (as RFC 9370 §2.2.2 answers the same fault in
//!   IKE_INTERMEDIATE) and ends the creation. Any error notify ends the initiator's creation
//!   (a rekeyed SA stays and can be rekeyed again; TEMPORARY_FAILURE retries later).
//! - Collisions: while an IKE SA rekey with additional key exchanges is under way on either side,
//!   the other side's IKE SA rekey gets TEMPORARY_FAILURE (both retry after different delays)
//!   rather than the §2.8.2 nonce rule, which would have to span the follow-up exchanges.

use std::collections::VecDeque;

use ike_crypto::dh::{self, KeyExchange};
use ike_crypto::rng::Rng;
use ike_crypto::Secret;
use ike_wire::group::DhGroup;
use ike_wire::v2::{self, ExchangeType, KeyExchange as KePayload, Notify, NotifyType, Payload};

use super::create_child::Creating;
use super::{find_notify, first_error_notify, IkeSa, NegotiatedChild, Output, RequestKind};
use crate::proposal::{Chosen, Proposal};
use crate::v2::entropy::Entropy;
use crate::v2::payloads::{check_payloads, ProtocolError};
use crate::v2::{EndpointConfig, PeerConfig};

/// How many CREATE_CHILD_SA exchanges of the peer may wait for their follow-ups at once.
const MAX_PENDING: usize = 4;

/// Length of the link data we hand out.
const LINK_LEN: usize = 8;

/// What a CREATE_CHILD_SA exchange agreed on, applied once every key exchange is done.
pub(super) enum Agreed {
    /// A new or rekeyed Child SA.
    Child(NegotiatedChild),
    /// The IKE SA that replaces this one: its SPIs and transforms.
    Ike {
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        chosen: Chosen,
    },
}

/// The key exchanges of one CREATE_CHILD_SA exchange and its follow-ups.
pub(super) struct KeyExchanges {
    /// SK(0), from the CREATE_CHILD_SA exchange (none for a Child SA without PFS).
    pub(super) first: Option<Secret>,
    /// SK(1), ..., from the IKE_FOLLOWUP_KE exchanges done so far.
    pub(super) additional: Vec<Secret>,
    /// The methods of those still to run, in order; the first is the one under way.
    pub(super) pending: VecDeque<DhGroup>,
}

impl KeyExchanges {
    pub(super) fn new(first: Option<Secret>, chosen: &Chosen) -> Self {
        Self {
            first,
            additional: Vec::new(),
            pending: chosen.additional().map(|(_, g)| g).collect(),
        }
    }

    /// The additional shared secrets, for the key derivation.
    pub(super) fn extra(&self) -> Vec<&[u8]> {
        self.additional.iter().map(Secret::expose).collect()
    }
}

/// The initiator's follow-up exchanges under way.
pub(crate) struct Initiator {
    pub(super) agreed: Agreed,
    pub(super) nr: Vec<u8>,
    pub(super) kes: KeyExchanges,
    /// Our half of the exchange under way.
    kex: Option<Box<dyn KeyExchange>>,
    /// The link data the responder sent last.
    link: Vec<u8>,
}

impl Initiator {
    pub(super) fn new(agreed: Agreed, nr: Vec<u8>, kes: KeyExchanges, link: Vec<u8>) -> Self {
        Self {
            agreed,
            nr,
            kes,
            kex: None,
            link,
        }
    }
}

/// A peer's CREATE_CHILD_SA exchange waiting for its follow-ups.
pub(crate) struct Responder {
    link: Vec<u8>,
    agreed: Agreed,
    ni: Vec<u8>,
    nr: Vec<u8>,
    kes: KeyExchanges,
}

/// Our proposals as a CREATE_CHILD_SA responder selects from them: additional key exchange
/// methods we cannot compute dropped, and a proposal that loses every method of a type with it.
pub(super) fn selectable(ours: &[Proposal]) -> Vec<Proposal> {
    ours.iter()
        .filter_map(|p| {
            let mut p = p.clone();
            for list in &mut p.addke {
                if list.is_empty() {
                    continue;
                }
                list.retain(|g| *g == DhGroup::None || dh::is_supported(*g));
                if list.is_empty() {
                    return None;
                }
            }
            Some(p)
        })
        .collect()
}

impl IkeSa {
    /// Responder: whether a peer's IKE SA rekey waits for its follow-ups; nothing else may
    /// start on this IKE SA until it is done.
    pub(super) fn ike_followup_pending(&self) -> bool {
        self.followups
            .iter()
            .any(|f| matches!(f.agreed, Agreed::Ike { .. }))
    }

    /// Responder: keeps a CREATE_CHILD_SA exchange that needs follow-ups and returns the link
    /// data for its response, or TEMPORARY_FAILURE when too many wait already.
    pub(super) fn await_followups(
        &mut self,
        agreed: Agreed,
        ni: &[u8],
        nr: &[u8],
        kes: KeyExchanges,
        rng: &mut Entropy,
    ) -> Result<Vec<u8>, NotifyType> {
        if self.followups.len() >= MAX_PENDING {
            return Err(NotifyType::TemporaryFailure);
        }
        let mut link = vec![0u8; LINK_LEN];
        rng.fill(&mut link)
            .map_err(|_| NotifyType::TemporaryFailure)?;
        self.followups.push(Responder {
            link: link.clone(),
            agreed,
            ni: ni.to_vec(),
            nr: nr.to_vec(),
            kes,
        });
        Ok(link)
    }

    /// Initiator: the next IKE_FOLLOWUP_KE request, `SK {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)}`.
    pub(super) fn send_followup(
        &mut self,
        mut creating: Creating,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let Some(f) = creating.followup.as_mut() else {
            return;
        };
        let Some(&group) = f.kes.pending.front() else {
            return;
        };
        let kex = match super::intermediate::generate(group, rng) {
            Ok(k) => k,
            Err(e) => {
                self.child_failed(&creating, peer, e, out);
                return;
            }
        };
        let mid = self.window.next_mid;
        let payloads = [
            Payload::Ke(KePayload {
                group,
                data: kex.public_value(),
            }),
            Payload::Notify(Notify::new(NotifyType::AdditionalKeyExchange, &f.link)),
        ];
        let Some(bytes) = self.seal(ExchangeType::IkeFollowupKe, false, mid, &payloads, rng) else {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::LocalFailure("sealing IKE_FOLLOWUP_KE"),
                out,
            );
            return;
        };
        f.kex = Some(kex);
        self.window.next_mid = mid.wrapping_add(1);
        self.creating = Some(Box::new(creating));
        self.send_request(out, self.clock, config, bytes, RequestKind::FollowupKe, mid);
    }

    /// Initiator: the response to our IKE_FOLLOWUP_KE request.
    pub(super) fn handle_followup_response(
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
        let Some(mut f) = creating.followup.take() else {
            return;
        };
        let step = Self::followup_step(&mut f, inner);
        let more = match step {
            Ok(more) => more,
            Err(e) => {
                self.child_failed(&creating, peer, e, out);
                return;
            }
        };
        if more {
            creating.followup = Some(f);
            self.send_followup(*creating, peer, config, rng, out);
        } else {
            self.conclude(*creating, f.agreed, f.nr, f.kes, peer, out);
        }
    }

    /// Checks one IKE_FOLLOWUP_KE response and takes its shared secret; whether more follow.
    fn followup_step(f: &mut Initiator, inner: &[Payload<'_>]) -> Result<bool, ProtocolError> {
        let kex = f
            .kex
            .take()
            .ok_or(ProtocolError::InvalidResponse("no key exchange under way"))?;
        if let Some(err) = first_error_notify(inner) {
            return Err(match err {
                NotifyType::TemporaryFailure => ProtocolError::Unsupported("temporary failure"),
                NotifyType::NoProposalChosen => ProtocolError::NoProposalChosen,
                NotifyType::StateNotFound => {
                    ProtocolError::InvalidResponse("IKE_FOLLOWUP_KE refused with STATE_NOT_FOUND")
                }
                _ => ProtocolError::InvalidResponse("IKE_FOLLOWUP_KE refused"),
            });
        }
        check_payloads(ExchangeType::IkeFollowupKe, true, inner)?;
        let ke = inner
            .iter()
            .find_map(|p| match p {
                Payload::Ke(k) => Some(k),
                _ => None,
            })
            .ok_or(ProtocolError::MissingPayload {
                exchange: ExchangeType::IkeFollowupKe,
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
        f.kes.additional.push(shared);
        f.kes.pending.pop_front();
        if f.kes.pending.is_empty() {
            return Ok(false);
        }
        let link = find_notify(inner, NotifyType::AdditionalKeyExchange).ok_or(
            ProtocolError::InvalidResponse(
                "IKE_FOLLOWUP_KE response without ADDITIONAL_KEY_EXCHANGE while more follow",
            ),
        )?;
        f.link = link.data.to_vec();
        Ok(true)
    }

    /// Responder: an IKE_FOLLOWUP_KE request, answered with `SK {KEr(n), [N(link)]}` or an error
    /// notify; after the last one the Child SA is installed or the new IKE SA created.
    pub(super) fn handle_followup_request(
        &mut self,
        inner: &[Payload<'_>],
        mid: u32,
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        self.window.peer_next_mid = mid.wrapping_add(1);
        let answer = self.answer_followup(inner, peer, rng, out);
        let payloads: Vec<Payload<'_>> = match &answer {
            Ok((group, ours, link)) => {
                let mut p = vec![Payload::Ke(KePayload {
                    group: *group,
                    data: ours,
                })];
                if let Some(l) = link {
                    p.push(Payload::Notify(Notify::new(
                        NotifyType::AdditionalKeyExchange,
                        l,
                    )));
                }
                p
            }
            Err(t) => vec![Payload::Notify(Notify::new(*t, &[]))],
        };
        if let Some(bytes) = self.seal(ExchangeType::IkeFollowupKe, true, mid, &payloads, rng) {
            self.window.last_response = Some((mid, bytes.clone()));
            self.transmit(out, bytes);
        }
    }

    /// Our KE method and value and, if more follow, the link; or the error notify.
    #[allow(clippy::type_complexity)]
    fn answer_followup(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) -> Result<(DhGroup, Vec<u8>, Option<Vec<u8>>), NotifyType> {
        let link = find_notify(inner, NotifyType::AdditionalKeyExchange)
            .map(|n| n.data)
            .ok_or(NotifyType::StateNotFound)?;
        let pos = self
            .followups
            .iter()
            .position(|f| ike_crypto::ct_eq(&f.link, link))
            .ok_or(NotifyType::StateNotFound)?;
        // From here on a fault ends this creation: the state goes.
        let mut f = self.followups.remove(pos);
        check_payloads(ExchangeType::IkeFollowupKe, false, inner)
            .map_err(|e| e.notify().unwrap_or(NotifyType::InvalidSyntax))?;
        let group = *f.kes.pending.front().ok_or(NotifyType::StateNotFound)?;
        let ke = inner
            .iter()
            .find_map(|p| match p {
                Payload::Ke(k) => Some(k),
                _ => None,
            })
            .ok_or(NotifyType::InvalidSyntax)?;
        if ke.group != group || dh::public_value_len(group).is_some_and(|n| n != ke.data.len()) {
            return Err(NotifyType::InvalidSyntax);
        }
        let (ours, shared) =
            dh::respond(group, ke.data, rng).map_err(|_| NotifyType::InvalidSyntax)?;
        f.kes.additional.push(shared);
        f.kes.pending.pop_front();
        if !f.kes.pending.is_empty() {
            let link = f.link.clone();
            self.followups.push(f);
            return Ok((group, ours, Some(link)));
        }
        let Responder {
            agreed,
            ni,
            nr,
            kes,
            ..
        } = f;
        match agreed {
            Agreed::Child(neg) => {
                let extra = kes.extra();
                self.install_child_with(
                    peer,
                    neg,
                    kes.first.as_ref().map(Secret::expose),
                    &extra,
                    &ni,
                    &nr,
                    false,
                    out,
                );
            }
            Agreed::Ike {
                spi_i,
                spi_r,
                chosen,
            } => {
                let first = kes.first.as_ref().ok_or(NotifyType::InvalidSyntax)?;
                let extra = kes.extra();
                let new = self
                    .rekeyed_sa(
                        false,
                        false,
                        spi_i,
                        spi_r,
                        &ni,
                        &nr,
                        chosen,
                        first.expose(),
                        &extra,
                        peer,
                    )
                    .map_err(|_| NotifyType::NoProposalChosen)?;
                out.new_sa = Some(Box::new(new));
            }
        }
        Ok((group, ours, None))
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

    fn peer(remote: &str, local_id: &str, remote_id: &str) -> PeerConfig {
        super::super::test_support::test_peer(
            remote,
            local_id,
            remote_id,
            "aes128gcm16-prfsha256-x25519",
            "aes256gcm16-x25519-ke1_mlkem768",
        )
    }

    /// Two endpoints with an IKE SA; a asked for a new Child SA, b answered the CREATE_CHILD_SA
    /// request (message ID 2); a has not seen the answer.
    struct Two {
        a: Endpoint,
        b: Endpoint,
        ha: SaHandle,
        now: Instant,
        rng: SeededRng,
        /// b's CREATE_CHILD_SA response.
        answer: Vec<u8>,
    }

    impl Two {
        fn new() -> Self {
            let cfg = EndpointConfig {
                fragment_size: 0,
                ..EndpointConfig::default()
            };
            let mut a = Endpoint::new(
                cfg.clone(),
                vec![peer(B, "a", "b")],
                Box::new(SeededRng::new(1)),
            )
            .unwrap();
            let b =
                Endpoint::new(cfg, vec![peer(A, "b", "a")], Box::new(SeededRng::new(2))).unwrap();
            let now = Instant::now();
            let ha = a.initiate(now, A.parse().unwrap(), "b").unwrap();
            let mut t = Self {
                a,
                b,
                ha,
                now,
                rng: SeededRng::new(3),
                answer: Vec::new(),
            };
            let mut to_b: Vec<Vec<u8>> = std::iter::from_fn(|| t.a.poll_transmit())
                .map(|x| x.payload)
                .collect();
            while !to_b.is_empty() {
                let to_a: Vec<Vec<u8>> = to_b.iter().flat_map(|m| t.deliver_b(m)).collect();
                to_b = to_a.iter().flat_map(|m| t.deliver_a(m)).collect();
            }
            assert_eq!(t.b.established().len(), 1);
            assert_eq!(t.installs_b(), 1);
            t.a.create_child(now, ha, "net").unwrap();
            let request = t.a.poll_transmit().unwrap().payload;
            let answer = t.deliver_b(&request);
            assert_eq!(answer.len(), 1);
            t.answer = answer.into_iter().next().unwrap();
            t
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

        fn installs_b(&mut self) -> usize {
            std::iter::from_fn(|| self.b.poll_event())
                .filter(|e| matches!(e, Event::ChildSaInstall(_)))
                .count()
        }

        /// The notifies of a message from b, opened with a's keys.
        fn notifies(&mut self, m: &[u8]) -> Vec<(NotifyType, Vec<u8>)> {
            let sa = self.a.sa_mut(self.ha).unwrap();
            sa.test_open_notifies(m).unwrap()
        }

        /// The link b handed out in its CREATE_CHILD_SA response.
        fn link(&mut self) -> Vec<u8> {
            let answer = self.answer.clone();
            self.notifies(&answer)
                .into_iter()
                .find(|(t, _)| *t == NotifyType::AdditionalKeyExchange)
                .map(|(_, d)| d)
                .unwrap()
        }

        /// An IKE_FOLLOWUP_KE request from a with message ID `mid`, b's answer and its notifies.
        fn followup(&mut self, mid: u32, p: &[Payload<'_>]) -> Vec<(NotifyType, Vec<u8>)> {
            let sa = self.a.sa_mut(self.ha).unwrap();
            let m = sa
                .test_seal(ExchangeType::IkeFollowupKe, false, mid, p, &mut self.rng)
                .unwrap();
            let answer = self.deliver_b(&m);
            assert_eq!(answer.len(), 1);
            self.notifies(&answer[0])
        }
    }

    fn kem(group: DhGroup) -> Box<dyn KeyExchange> {
        dh::generate(group, &mut SeededRng::new(9)).unwrap()
    }

    fn only(n: &[(NotifyType, Vec<u8>)]) -> Vec<NotifyType> {
        n.iter().map(|(t, _)| *t).collect()
    }

    #[test]
    fn the_create_child_sa_response_carries_the_link_and_nothing_is_installed_yet() {
        let mut t = Two::new();
        assert_eq!(t.link().len(), LINK_LEN);
        assert_eq!(t.installs_b(), 0);
        // Delivered, it makes a send the follow-up with the same link.
        let answer = t.answer.clone();
        let followup = t.deliver_a(&answer);
        assert_eq!(followup.len(), 1);
        let m = v2::Message::decode(&followup[0]).unwrap();
        assert_eq!(m.header.exchange, ExchangeType::IkeFollowupKe);
        assert_eq!(m.header.message_id, 3);
        let reply = t.deliver_b(&followup[0]);
        assert_eq!(t.installs_b(), 1);
        assert!(
            t.notifies(&reply[0]).is_empty(),
            "the last response has no link"
        );
    }

    #[test]
    fn an_unknown_or_missing_link_is_state_not_found_and_changes_nothing() {
        let mut t = Two::new();
        let link = t.link();
        let k = kem(DhGroup::MlKem768);
        let ke = Payload::Ke(KePayload {
            group: DhGroup::MlKem768,
            data: k.public_value(),
        });
        let wrong = [9u8; LINK_LEN];
        let bogus = [
            ke.clone(),
            Payload::Notify(Notify::new(NotifyType::AdditionalKeyExchange, &wrong)),
        ];
        let answer = t.followup(3, &bogus);
        assert_eq!(only(&answer), [NotifyType::StateNotFound]);
        let answer = t.followup(4, std::slice::from_ref(&ke));
        assert_eq!(only(&answer), [NotifyType::StateNotFound]);
        assert_eq!(t.installs_b(), 0);
        // The real link still works, and installs.
        let good = [
            ke,
            Payload::Notify(Notify::new(NotifyType::AdditionalKeyExchange, &link)),
        ];
        let answer = t.followup(5, &good);
        assert!(only(&answer).is_empty(), "{answer:?}");
        assert_eq!(t.installs_b(), 1);
        // Used up: the same link again is unknown.
        let answer = t.followup(6, &good);
        assert_eq!(only(&answer), [NotifyType::StateNotFound]);
        assert_eq!(t.installs_b(), 0);
        assert_eq!(t.b.established().len(), 1);
    }

    #[test]
    fn another_method_a_bad_length_or_no_ke_is_invalid_syntax_and_ends_the_creation() {
        let k1024 = kem(DhGroup::MlKem1024);
        let short = [1u8; 100];
        let cases: [Option<Payload<'_>>; 3] = [
            Some(Payload::Ke(KePayload {
                group: DhGroup::MlKem1024,
                data: k1024.public_value(),
            })),
            Some(Payload::Ke(KePayload {
                group: DhGroup::MlKem768,
                data: &short,
            })),
            None,
        ];
        for ke in cases {
            let mut t = Two::new();
            let link = t.link();
            let n = Payload::Notify(Notify::new(NotifyType::AdditionalKeyExchange, &link));
            let payloads: Vec<Payload<'_>> = ke.into_iter().chain([n.clone()]).collect();
            let answer = t.followup(3, &payloads);
            assert_eq!(only(&answer), [NotifyType::InvalidSyntax]);
            // The creation is over: a correct request now finds no state.
            let k = kem(DhGroup::MlKem768);
            let good = [
                Payload::Ke(KePayload {
                    group: DhGroup::MlKem768,
                    data: k.public_value(),
                }),
                n,
            ];
            let answer = t.followup(4, &good);
            assert_eq!(only(&answer), [NotifyType::StateNotFound]);
            assert_eq!(t.installs_b(), 0);
            assert_eq!(t.b.established().len(), 1, "the IKE SA stays");
        }
    }

    #[test]
    fn the_initiator_ends_the_creation_on_an_error_notify() {
        let mut t = Two::new();
        let answer = t.answer.clone();
        let followup = t.deliver_a(&answer);
        // b answers the follow-up request with STATE_NOT_FOUND instead.
        let mid = v2::Message::decode(&followup[0]).unwrap().header.message_id;
        let b_sa = t.b.established()[0];
        let refusal =
            t.b.sa_mut(b_sa)
                .unwrap()
                .test_seal(
                    ExchangeType::IkeFollowupKe,
                    true,
                    mid,
                    &[Payload::Notify(Notify::new(NotifyType::StateNotFound, &[]))],
                    &mut t.rng,
                )
                .unwrap();
        assert!(t.deliver_a(&refusal).is_empty());
        let failed = std::iter::from_fn(|| t.a.poll_event()).find_map(|e| match e {
            Event::ChildSaFailed { reason, .. } => Some(reason),
            _ => None,
        });
        assert_eq!(
            failed,
            Some(ProtocolError::InvalidResponse(
                "IKE_FOLLOWUP_KE refused with STATE_NOT_FOUND"
            ))
        );
        assert_eq!(t.a.child_sas(t.ha).len(), 1, "only the first Child SA");
        assert!(t.a.is_established(t.ha));
    }

    #[test]
    fn selectable_drops_methods_we_cannot_compute() {
        let mut p = Proposal::parse_esp("aes256gcm16-x25519-ke1_mlkem768").unwrap();
        assert_eq!(selectable(std::slice::from_ref(&p)).len(), 1);
        p.addke[0] = vec![DhGroup::from(0x7777)];
        assert!(selectable(std::slice::from_ref(&p)).is_empty());
        p.addke[0].push(DhGroup::None);
        assert_eq!(
            selectable(std::slice::from_ref(&p))[0].addke[0],
            [DhGroup::None]
        );
    }
}
