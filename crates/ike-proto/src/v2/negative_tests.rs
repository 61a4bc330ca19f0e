//! Negative tests: malformed-but-parseable inputs and exchanges in the wrong state, each with the
//! reaction RFC 7296 asks for. A misbehaving peer is simulated by sealing messages with the
//! initiator's real keys, so that they pass the integrity check and reach the state machine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_wire::group::DhGroup;
use ike_wire::v2::{self, ExchangeType, IdType, Identification, NotifyType, Payload, ProtocolId};

use super::*;
use crate::proposal::Proposal;

const A: &str = "10.77.0.1:500";
const B: &str = "10.77.0.2:500";

fn peer(name: &str, remote: &str, local_id: &str, remote_id: &str) -> PeerConfig {
    PeerConfig {
        name: name.into(),
        remote_addrs: vec![remote.parse::<SocketAddr>().unwrap().ip()],
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"negative")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"negative")),
        ike_proposals: vec![Proposal::parse_ike("aes128gcm16-prfsha256-x25519").unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            remote_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp("aes128gcm16").unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: crate::config::IkeVersion::V2,
        exchange: Default::default(),
    }
}

struct Two {
    a: Endpoint,
    b: Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: Instant,
    rng: SeededRng,
}

impl Two {
    fn new() -> Self {
        let a = Endpoint::new(
            EndpointConfig::default(),
            vec![peer("b", B, "a", "b")],
            Box::new(SeededRng::new(1)),
        )
        .unwrap();
        let b = Endpoint::new(
            EndpointConfig::default(),
            vec![peer("a", A, "b", "a")],
            Box::new(SeededRng::new(2)),
        )
        .unwrap();
        Self {
            a,
            b,
            a_addr: A.parse().unwrap(),
            b_addr: B.parse().unwrap(),
            now: Instant::now(),
            rng: SeededRng::new(3),
        }
    }

    /// Delivers everything a has queued to b; returns what b answered.
    fn a_to_b(&mut self) -> Vec<Vec<u8>> {
        let sent: Vec<_> = std::iter::from_fn(|| self.a.poll_transmit()).collect();
        for t in sent {
            self.b
                .handle_datagram(self.now, self.b_addr, self.a_addr, &t.payload);
        }
        std::iter::from_fn(|| self.b.poll_transmit())
            .map(|t| t.payload)
            .collect()
    }

    fn deliver_to_a(&mut self, msgs: &[Vec<u8>]) -> Vec<Vec<u8>> {
        for m in msgs {
            self.a
                .handle_datagram(self.now, self.a_addr, self.b_addr, m);
        }
        std::iter::from_fn(|| self.a.poll_transmit())
            .map(|t| t.payload)
            .collect()
    }

    fn deliver_to_b(&mut self, m: &[u8]) -> Vec<Vec<u8>> {
        self.b
            .handle_datagram(self.now, self.b_addr, self.a_addr, m);
        std::iter::from_fn(|| self.b.poll_transmit())
            .map(|t| t.payload)
            .collect()
    }

    /// IKE_SA_INIT done: b holds a half-open SA; a has its keys but has not sent IKE_AUTH to b.
    fn half_open(&mut self) -> (SaHandle, Vec<u8>) {
        let now = self.now;
        let a_addr = self.a_addr;
        let ha = self.a.initiate(now, a_addr, "b").unwrap();
        let init_resp = self.a_to_b();
        assert_eq!(init_resp.len(), 1);
        let auth = self.deliver_to_a(&init_resp);
        assert_eq!(auth.len(), 1, "a sends IKE_AUTH");
        assert_eq!(self.b.half_open_count(), 1);
        (ha, auth.into_iter().next().unwrap())
    }

    fn seal_from_a(
        &mut self,
        ha: SaHandle,
        exchange: ExchangeType,
        mid: u32,
        payloads: &[Payload<'_>],
    ) -> Vec<u8> {
        let sa = self.a.sa_mut(ha).unwrap();
        sa.test_seal(exchange, false, mid, payloads, &mut self.rng)
            .unwrap()
    }

    fn b_half_open(&mut self) -> bool {
        let hs = self.b.handles();
        hs.len() == 1 && self.b.sa_mut(hs[0]).unwrap().test_is_half_open()
    }
}

fn notify_in_plain(msg: &[u8]) -> Option<NotifyType> {
    v2::Message::decode(msg)
        .ok()?
        .payloads
        .iter()
        .find_map(|p| match p {
            Payload::Notify(n) => Some(n.notify_type),
            _ => None,
        })
}

#[test]
fn ike_sa_init_without_nonce_or_ke_is_dropped_before_state() {
    let mut t = Two::new();
    let now = t.now;
    let a_addr = t.a_addr;
    t.a.initiate(now, a_addr, "b").unwrap();
    let req = t.a.poll_transmit().unwrap().payload;
    let m = v2::Message::decode(&req).unwrap();
    for drop in [
        v2::PayloadType::Nonce,
        v2::PayloadType::Ke,
        v2::PayloadType::Sa,
    ] {
        let stripped = v2::Message {
            header: m.header,
            payloads: m
                .payloads
                .iter()
                .filter(|p| p.payload_type() != drop)
                .cloned()
                .collect(),
        };
        let before = t.b.stats().drops;
        assert!(
            t.deliver_to_b(&stripped.to_vec().unwrap()).is_empty(),
            "{drop:?}"
        );
        let after = t.b.stats().drops;
        assert_eq!(
            after.get(DropReason::InvalidInitiation),
            before.get(DropReason::InvalidInitiation) + 1,
            "{drop:?}"
        );
        assert_eq!(after.total(), before.total() + 1);
        assert_eq!(t.b.sa_count(), 0);
    }
}

#[test]
fn bad_ke_length_is_invalid_syntax_without_state() {
    let mut t = Two::new();
    let now = t.now;
    let a_addr = t.a_addr;
    t.a.initiate(now, a_addr, "b").unwrap();
    let req = t.a.poll_transmit().unwrap().payload;
    let m = v2::Message::decode(&req).unwrap();
    let short = [7u8; 31];
    let payloads = m
        .payloads
        .iter()
        .map(|p| match p {
            Payload::Ke(_) => Payload::Ke(v2::KeyExchange {
                group: DhGroup::Curve25519,
                data: &short,
            }),
            other => other.clone(),
        })
        .collect();
    let bad = v2::Message {
        header: m.header,
        payloads,
    }
    .to_vec()
    .unwrap();
    let out = t.deliver_to_b(&bad);
    assert_eq!(out.len(), 1);
    assert_eq!(notify_in_plain(&out[0]), Some(NotifyType::InvalidSyntax));
    assert_eq!(t.b.sa_count(), 0);
}

#[test]
fn tampered_ike_auth_is_dropped_and_the_real_one_still_works() {
    let mut t = Two::new();
    let (_, auth) = t.half_open();
    let mut bad = auth.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(
        t.deliver_to_b(&bad).is_empty(),
        "an integrity failure is silently dropped"
    );
    assert_eq!(t.b.stats().drops.get(DropReason::IntegrityCheckFailed), 1);
    assert!(t.b_half_open());
    let resp = t.deliver_to_b(&auth);
    assert_eq!(resp.len(), 1);
    assert_eq!(t.b.established().len(), 1);
}

#[test]
fn wrong_message_id_and_unknown_spi_are_dropped() {
    let mut t = Two::new();
    let (ha, auth) = t.half_open();
    // The same IKE_AUTH content sealed with message ID 5: out of the window.
    let id = [Payload::IdI(Identification {
        id_type: IdType::Fqdn,
        data: b"a",
    })];
    let wrong_mid = t.seal_from_a(ha, ExchangeType::IkeAuth, 5, &id);
    assert!(t.deliver_to_b(&wrong_mid).is_empty());
    assert_eq!(t.b.stats().drops.get(DropReason::UnexpectedMessageId), 1);
    assert!(t.b_half_open());
    // An unknown responder SPI.
    let mut unknown = auth.clone();
    unknown[8..16].copy_from_slice(&[9; 8]);
    let before = t.b.stats().drops.get(DropReason::UnknownSpi);
    assert!(t.deliver_to_b(&unknown).is_empty());
    assert_eq!(t.b.stats().drops.get(DropReason::UnknownSpi), before + 1);
    assert!(t.b_half_open());
}

#[test]
fn exchanges_in_the_wrong_state_never_change_the_sa() {
    let mut t = Two::new();
    let (ha, auth) = t.half_open();
    // CREATE_CHILD_SA and INFORMATIONAL (with a Delete) before IKE_AUTH: ignored (the
    // strongSwan CVE-2014-2338 / Libreswan CVE-2019-12312 class).
    let nonce = [1u8; 32];
    let ccsa = t.seal_from_a(
        ha,
        ExchangeType::CreateChildSa,
        1,
        &[Payload::Nonce(&nonce)],
    );
    assert!(t.deliver_to_b(&ccsa).is_empty());
    assert!(t.b_half_open());
    let del = [Payload::Delete(v2::Delete {
        protocol: ProtocolId::Ike,
        spi_size: 0,
        spis: Vec::new(),
    })];
    let info = t.seal_from_a(ha, ExchangeType::Informational, 1, &del);
    assert!(t.deliver_to_b(&info).is_empty());
    assert!(t.b_half_open());
    // An IKE_SA_INIT "request" on the established-SA path (a message ID other than 0).
    let init = t.seal_from_a(ha, ExchangeType::IkeSaInit, 1, &[Payload::Nonce(&nonce)]);
    assert!(t.deliver_to_b(&init).is_empty());
    assert!(t.b_half_open());
    // The real IKE_AUTH still establishes.
    assert_eq!(t.deliver_to_b(&auth).len(), 1);
    assert_eq!(t.b.established().len(), 1);
}

#[test]
fn ike_auth_without_idi_is_invalid_syntax_and_closes() {
    let mut t = Two::new();
    let (ha, _) = t.half_open();
    let auth_data = [0u8; 32];
    let no_id = t.seal_from_a(
        ha,
        ExchangeType::IkeAuth,
        1,
        &[Payload::Auth(v2::Auth {
            method: v2::AuthMethod::SharedKey,
            data: &auth_data,
        })],
    );
    let out = t.deliver_to_b(&no_id);
    assert_eq!(out.len(), 1, "an encrypted INVALID_SYNTAX answer");
    assert_eq!(t.b.sa_count(), 0);
    let Some(Event::IkeSaClosed { reason, .. }) =
        std::iter::from_fn(|| t.b.poll_event()).find(|e| matches!(e, Event::IkeSaClosed { .. }))
    else {
        panic!("no close event")
    };
    assert!(
        matches!(
            reason,
            CloseReason::LocalError(ProtocolError::MissingPayload {
                payload: v2::PayloadType::IdI,
                ..
            })
        ),
        "{reason:?}"
    );
}

#[test]
fn ike_auth_with_a_wrong_auth_value_is_authentication_failed() {
    let mut t = Two::new();
    let (ha, _) = t.half_open();
    let wrong = [0u8; 32];
    let msg = t.seal_from_a(
        ha,
        ExchangeType::IkeAuth,
        1,
        &[
            Payload::IdI(Identification {
                id_type: IdType::Fqdn,
                data: b"a",
            }),
            Payload::Auth(v2::Auth {
                method: v2::AuthMethod::SharedKey,
                data: &wrong,
            }),
        ],
    );
    assert_eq!(t.deliver_to_b(&msg).len(), 1);
    assert_eq!(t.b.sa_count(), 0);
    let reason = std::iter::from_fn(|| t.b.poll_event()).find_map(|e| match e {
        Event::IkeSaClosed { reason, .. } => Some(reason),
        _ => None,
    });
    assert!(
        matches!(
            reason,
            Some(CloseReason::LocalError(
                ProtocolError::AuthenticationFailed(_)
            ))
        ),
        "{reason:?}"
    );
}

#[test]
fn replays_get_the_cached_response_and_old_requests_are_dropped() {
    let mut t = Two::new();
    let (ha, auth) = t.half_open();
    let first = t.deliver_to_b(&auth);
    let again = t.deliver_to_b(&auth);
    assert_eq!(
        first, again,
        "§2.1: the identical response to a retransmitted request"
    );
    assert!(t.deliver_to_a(&first).is_empty());
    // Two liveness checks; then the first one replayed after the second: dropped (too old).
    let now = t.now + Duration::from_secs(1);
    t.now = now;
    t.a.check_liveness(now, ha).unwrap();
    let r1 = t.a_to_b();
    t.deliver_to_a(&r1);
    t.a.check_liveness(now, ha).unwrap();
    let req2: Vec<_> = std::iter::from_fn(|| t.a.poll_transmit()).collect();
    let r2 = t.deliver_to_b(&req2[0].payload);
    assert_eq!(r2.len(), 1);
    let stale = t.seal_from_a(ha, ExchangeType::Informational, 2, &[]);
    assert!(
        t.deliver_to_b(&stale).is_empty(),
        "a request older than the last one is dropped"
    );
    // A request beyond the window (the next expected ID is 4).
    let ahead = t.seal_from_a(ha, ExchangeType::Informational, 9, &[]);
    assert!(t.deliver_to_b(&ahead).is_empty());
    assert_eq!(t.b.established().len(), 1);
}

#[test]
fn payload_table_rules_name_the_offending_payload() {
    let nonce = [1u8; 16];
    let sa = Payload::Sa(v2::Sa {
        proposals: Vec::new(),
    });
    let ke = Payload::Ke(v2::KeyExchange {
        group: DhGroup::Curve25519,
        data: &[],
    });
    type Case<'a> = (
        ExchangeType,
        bool,
        Vec<Payload<'a>>,
        Result<(), ProtocolError>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            ExchangeType::IkeSaInit,
            false,
            vec![sa.clone(), ke.clone(), Payload::Nonce(&nonce)],
            Ok(()),
        ),
        (
            ExchangeType::IkeSaInit,
            false,
            vec![sa.clone(), sa.clone(), ke.clone(), Payload::Nonce(&nonce)],
            Err(ProtocolError::UnexpectedPayload {
                exchange: ExchangeType::IkeSaInit,
                kind: "request",
                payload: v2::PayloadType::Sa,
            }),
        ),
        (
            ExchangeType::IkeSaInit,
            false,
            vec![sa.clone(), ke.clone()],
            Err(ProtocolError::MissingPayload {
                exchange: ExchangeType::IkeSaInit,
                kind: "request",
                payload: v2::PayloadType::Nonce,
            }),
        ),
        (
            ExchangeType::IkeSaInit,
            false,
            vec![
                sa.clone(),
                ke.clone(),
                Payload::Nonce(&nonce),
                Payload::Auth(v2::Auth {
                    method: v2::AuthMethod::SharedKey,
                    data: &[],
                }),
            ],
            Err(ProtocolError::UnexpectedPayload {
                exchange: ExchangeType::IkeSaInit,
                kind: "request",
                payload: v2::PayloadType::Auth,
            }),
        ),
        (
            ExchangeType::Informational,
            false,
            vec![sa.clone()],
            Err(ProtocolError::UnexpectedPayload {
                exchange: ExchangeType::Informational,
                kind: "request",
                payload: v2::PayloadType::Sa,
            }),
        ),
        (
            ExchangeType::CreateChildSa,
            false,
            vec![sa.clone(), Payload::Nonce(&nonce), Payload::Nonce(&nonce)],
            Err(ProtocolError::UnexpectedPayload {
                exchange: ExchangeType::CreateChildSa,
                kind: "request",
                payload: v2::PayloadType::Nonce,
            }),
        ),
        (
            ExchangeType::IkeAuth,
            false,
            vec![Payload::Nonce(&nonce)],
            Err(ProtocolError::UnexpectedPayload {
                exchange: ExchangeType::IkeAuth,
                kind: "request",
                payload: v2::PayloadType::Nonce,
            }),
        ),
        (
            ExchangeType::IkeAuth,
            false,
            vec![],
            Err(ProtocolError::MissingPayload {
                exchange: ExchangeType::IkeAuth,
                kind: "request",
                payload: v2::PayloadType::IdI,
            }),
        ),
        (
            ExchangeType::Unknown(99),
            false,
            vec![],
            Err(ProtocolError::Unsupported("exchange type")),
        ),
        // Unknown non-critical payloads are skipped (§2.5).
        (
            ExchangeType::Informational,
            false,
            vec![Payload::Unknown {
                payload_type: 99,
                body: &[],
            }],
            Ok(()),
        ),
    ];
    for (exchange, response, payloads, expected) in cases {
        assert_eq!(
            check_payloads(exchange, response, &payloads),
            expected,
            "{exchange} {payloads:?}"
        );
    }
    assert_eq!(
        ProtocolError::MissingPayload {
            exchange: ExchangeType::IkeAuth,
            kind: "request",
            payload: v2::PayloadType::IdI
        }
        .notify(),
        Some(NotifyType::InvalidSyntax)
    );
    assert_eq!(
        ProtocolError::InvalidKe(14).notify(),
        Some(NotifyType::InvalidKePayload)
    );
    assert_eq!(
        ProtocolError::TsUnacceptable.notify(),
        Some(NotifyType::TsUnacceptable)
    );
}

#[test]
fn child_flags_come_from_the_peers_notifies() {
    let none = ChildFlags::from_payloads(&[]);
    assert_eq!(none, ChildFlags::default());
    let both = ChildFlags::from_payloads(&[
        Payload::Notify(v2::Notify::new(NotifyType::EspTfcPaddingNotSupported, &[])),
        Payload::Notify(v2::Notify::new(NotifyType::NonFirstFragmentsAlso, &[])),
    ]);
    assert!(both.peer_refuses_tfc_padding && both.non_first_fragments);
}

#[test]
fn rekey_sa_and_delete_name_the_child_by_protocol_and_spi() {
    let mut t = Two::new();
    let (ha, auth) = t.half_open();
    let resp = t.deliver_to_b(&auth);
    assert!(t.deliver_to_a(&resp).is_empty());
    let hb = t.b.established()[0];
    let spi_in_a = std::iter::from_fn(|| t.a.poll_event())
        .find_map(|e| match e {
            Event::ChildSaInstall(c) => Some(c.spi_in),
            _ => None,
        })
        .unwrap();
    // b's outbound SPI of the ESP child: what a's REKEY_SA and Delete name.
    let spi = spi_in_a.to_be_bytes();
    let esp = Proposal::parse_esp("aes128gcm16").unwrap();
    let new_spi = [1u8, 2, 3, 4];
    let nonce = [7u8; 32];
    let ts = vec![Ts::cidr("10.0.0.0/8").unwrap().to_wire()];
    let rekey = |protocol| {
        vec![
            Payload::Notify(v2::Notify {
                protocol,
                spi: &spi,
                notify_type: NotifyType::RekeySa,
                data: &[],
            }),
            Payload::Sa(v2::Sa {
                proposals: vec![esp.to_wire(1, &new_spi)],
            }),
            Payload::Nonce(&nonce),
            Payload::TsI(ts.clone()),
            Payload::TsR(ts.clone()),
        ]
    };
    // REKEY_SA with the right SPI but protocol AH: there is no such AH SA.
    let req = t.seal_from_a(ha, ExchangeType::CreateChildSa, 2, &rekey(ProtocolId::Ah));
    let answer = t.deliver_to_b(&req);
    assert_eq!(answer.len(), 1);
    let notifies =
        t.a.sa_mut(ha)
            .unwrap()
            .test_open_notifies(&answer[0])
            .unwrap();
    assert_eq!(notifies, vec![(NotifyType::ChildSaNotFound, Vec::new())]);
    // A Delete of that SPI with protocol AH deletes nothing; with ESP it deletes the child.
    let delete = |protocol| {
        [Payload::Delete(v2::Delete {
            protocol,
            spi_size: 4,
            spis: vec![&spi[..]],
        })]
    };
    let req = t.seal_from_a(ha, ExchangeType::Informational, 3, &delete(ProtocolId::Ah));
    assert_eq!(t.deliver_to_b(&req).len(), 1);
    assert_eq!(
        t.b.child_sas(hb).len(),
        1,
        "an AH Delete left the ESP SA alone"
    );
    let req = t.seal_from_a(ha, ExchangeType::Informational, 4, &delete(ProtocolId::Esp));
    assert_eq!(t.deliver_to_b(&req).len(), 1);
    assert!(t.b.child_sas(hb).is_empty());
    assert!(std::iter::from_fn(|| t.b.poll_event())
        .any(|e| matches!(e, Event::ChildSaDelete { spi_out, .. } if spi_out == spi_in_a)));
}
