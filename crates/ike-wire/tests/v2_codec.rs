//! IKEv2 codec: property round trips over generated messages, and a table of malformed inputs
//! each with the exact error it must give.

use ike_testkit::v2::{message, plain_payload};
use ike_wire::group::DhGroup;
use ike_wire::v2::{
    self, ExchangeType, KeyExchange, Message, Notify, NotifyType, Payload, PayloadType, ProtocolId,
    TransformType,
};
use ike_wire::{DecodeError, DecodeErrorKind};
use proptest::prelude::*;

proptest! {
    #[test]
    fn message_round_trips(msg in message()) {
        let bytes = msg.to_vec().unwrap();
        let decoded = Message::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &msg);
        prop_assert_eq!(decoded.to_vec().unwrap(), bytes);
    }

    #[test]
    fn inner_payloads_round_trip(payloads in prop::collection::vec(plain_payload(), 1..8)) {
        let mut bytes = Vec::new();
        let first = v2::encode_payloads(&payloads, &mut bytes).unwrap();
        let decoded = v2::decode_payloads(first, &bytes, 0).unwrap();
        prop_assert_eq!(decoded, payloads);
    }

    /// Any prefix of a valid message, and any single corrupted byte, gives an error or a message
    /// but never a panic.
    #[test]
    fn truncation_and_corruption_do_not_panic(msg in message(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), val in any::<u8>()) {
        let bytes = msg.to_vec().unwrap();
        let n = cut.index(bytes.len());
        prop_assert!(Message::decode(&bytes[..n]).is_err());
        let mut corrupt = bytes.clone();
        let i = flip.index(corrupt.len());
        corrupt[i] = val;
        let _ = Message::decode(&corrupt);
    }
}

// ---- the negative table ----

fn payload(next: u8, critical: bool, body: &[u8]) -> Vec<u8> {
    let mut v = vec![next, if critical { 0x80 } else { 0 }];
    v.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn msg(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![
        1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, first, 0x20, 34, 0x08, 0, 0, 0, 0,
    ];
    v.extend_from_slice(&u32::try_from(body.len() + 28).unwrap().to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn proposal(last: u8, num: u8, declared: u8, transforms: &[u8]) -> Vec<u8> {
    let mut v = vec![last, 0];
    v.extend_from_slice(&u16::try_from(8 + transforms.len()).unwrap().to_be_bytes());
    v.extend_from_slice(&[num, 1, 0, declared]);
    v.extend_from_slice(transforms);
    v
}

fn transform_bytes(last: u8, t: u8, id: u16, attrs: &[u8]) -> Vec<u8> {
    let mut v = vec![last, 0];
    v.extend_from_slice(&u16::try_from(8 + attrs.len()).unwrap().to_be_bytes());
    v.extend_from_slice(&[t, 0]);
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(attrs);
    v
}

fn err(kind: DecodeErrorKind, offset: usize) -> Result<(), DecodeError> {
    Err(DecodeError::new(kind, offset))
}

#[test]
fn malformed_inputs_give_the_exact_error() {
    let good_t = transform_bytes(0, 1, 20, &[0x80, 14, 0, 128]);
    let two_t = [
        transform_bytes(3, 1, 20, &[]),
        transform_bytes(0, 4, 31, &[]),
    ]
    .concat();
    let ts_v4 = [
        vec![7, 0, 0, 16, 0, 0, 255, 255],
        vec![10, 0, 0, 0, 10, 0, 0, 255],
    ]
    .concat();
    let cases: Vec<(&str, Vec<u8>, Result<(), DecodeError>)> = vec![
        (
            "header cut short",
            vec![0; 10],
            err(
                DecodeErrorKind::Truncated {
                    what: "IKE header",
                    needed: 8,
                    available: 2,
                },
                8,
            ),
        ),
        (
            "over 64 KiB",
            vec![0; 65_537],
            err(DecodeErrorKind::TooLong { len: 65_537 }, 0),
        ),
        (
            "major version 1",
            {
                let mut m = msg(0, &[]);
                m[17] = 0x10;
                m
            },
            err(DecodeErrorKind::UnsupportedMajorVersion { major: 1 }, 17),
        ),
        (
            "header length larger than datagram",
            {
                let mut m = msg(0, &[]);
                m[27] = 100;
                m
            },
            err(
                DecodeErrorKind::LengthMismatch {
                    header: 100,
                    actual: 28,
                },
                24,
            ),
        ),
        (
            "payload length below 4",
            msg(40, &[0, 0, 0, 3]),
            err(
                DecodeErrorKind::LengthTooShort {
                    what: "payload",
                    length: 3,
                    minimum: 4,
                },
                30,
            ),
        ),
        (
            "payload overruns the message",
            msg(40, &[0, 0, 0, 40, 1, 2, 3, 4]),
            err(
                DecodeErrorKind::LengthOverrun {
                    what: "payload",
                    length: 40,
                    available: 8,
                },
                30,
            ),
        ),
        (
            "next payload chain runs off the end",
            msg(40, &payload(43, false, &[9; 16])),
            err(DecodeErrorKind::ChainOverrun { next: 43 }, 48),
        ),
        (
            "bytes after the last payload",
            msg(40, &[payload(0, false, &[9; 16]), vec![0, 0]].concat()),
            err(
                DecodeErrorKind::TrailingBytes {
                    what: "the last payload",
                    count: 2,
                },
                48,
            ),
        ),
        (
            "unknown payload with the critical bit",
            msg(60, &payload(0, true, &[1, 2])),
            err(
                DecodeErrorKind::UnsupportedCriticalPayload { payload_type: 60 },
                32,
            ),
        ),
        (
            "SK payload followed by more bytes",
            msg(
                46,
                &[payload(41, false, &[1; 20]), payload(0, false, &[])].concat(),
            ),
            err(
                DecodeErrorKind::MisplacedPayload {
                    payload_type: 46,
                    rule: "an encrypted payload must be the last payload",
                },
                52,
            ),
        ),
        (
            "proposal last-marker 1",
            msg(33, &payload(0, false, &proposal(1, 1, 1, &good_t))),
            err(
                DecodeErrorKind::BadSubstructureMarker {
                    what: "proposal",
                    value: 1,
                    expected: "0 (last) or 2 (more)",
                },
                32,
            ),
        ),
        (
            "transform last-marker 2",
            msg(
                33,
                &payload(
                    0,
                    false,
                    &proposal(0, 1, 1, &transform_bytes(2, 1, 20, &[])),
                ),
            ),
            err(
                DecodeErrorKind::BadSubstructureMarker {
                    what: "transform",
                    value: 2,
                    expected: "0 (last) or 3 (more)",
                },
                40,
            ),
        ),
        (
            "transform count says 3, 2 present",
            msg(33, &payload(0, false, &proposal(0, 1, 3, &two_t))),
            err(
                DecodeErrorKind::CountMismatch {
                    what: "transforms",
                    declared: 3,
                    found: 2,
                },
                39,
            ),
        ),
        (
            "proposals numbered 1 then 3",
            msg(
                33,
                &payload(
                    0,
                    false,
                    &[proposal(2, 1, 1, &good_t), proposal(0, 3, 1, &good_t)].concat(),
                ),
            ),
            err(
                DecodeErrorKind::ProposalNumbering {
                    previous: 1,
                    found: 3,
                },
                56,
            ),
        ),
        (
            "first of several proposals numbered 2",
            msg(
                33,
                &payload(
                    0,
                    false,
                    &[proposal(2, 2, 1, &good_t), proposal(0, 3, 1, &good_t)].concat(),
                ),
            ),
            err(
                DecodeErrorKind::ProposalNumbering {
                    previous: 0,
                    found: 2,
                },
                36,
            ),
        ),
        (
            "proposal says more, none follows",
            msg(33, &payload(0, false, &proposal(2, 1, 1, &good_t))),
            err(
                DecodeErrorKind::Truncated {
                    what: "proposal announced by the previous one",
                    needed: 8,
                    available: 0,
                },
                52,
            ),
        ),
        (
            "transform says more, none follows",
            msg(
                33,
                &payload(
                    0,
                    false,
                    &proposal(0, 1, 1, &transform_bytes(3, 1, 20, &[])),
                ),
            ),
            err(
                DecodeErrorKind::Truncated {
                    what: "transform announced by the previous one",
                    needed: 8,
                    available: 0,
                },
                48,
            ),
        ),
        (
            "proposal length below 8",
            msg(33, &payload(0, false, &[0, 0, 0, 6, 1, 1, 0, 0])),
            err(
                DecodeErrorKind::LengthTooShort {
                    what: "proposal",
                    length: 6,
                    minimum: 8,
                },
                34,
            ),
        ),
        (
            "transform attribute overruns",
            msg(
                33,
                &payload(
                    0,
                    false,
                    &proposal(0, 1, 1, &transform_bytes(0, 1, 20, &[0, 14, 0, 9, 1])),
                ),
            ),
            err(DecodeErrorKind::AttributeOverrun { attr_type: 14 }, 48),
        ),
        (
            "TS count 2, one selector",
            msg(
                44,
                &payload(0, false, &[vec![2, 0, 0, 0], ts_v4.clone()].concat()),
            ),
            err(
                DecodeErrorKind::CountMismatch {
                    what: "traffic selectors",
                    declared: 2,
                    found: 1,
                },
                32,
            ),
        ),
        (
            "IPv4 selector with IPv6 length",
            msg(
                44,
                &payload(
                    0,
                    false,
                    &[vec![1, 0, 0, 0, 7, 0, 0, 40], vec![0; 36]].concat(),
                ),
            ),
            err(
                DecodeErrorKind::InvalidValue {
                    field: "traffic selector length for its type",
                    value: 40,
                },
                38,
            ),
        ),
        (
            "Delete with 2 SPIs declared, 1 present",
            msg(42, &payload(0, false, &[3, 4, 0, 2, 1, 2, 3, 4])),
            err(
                DecodeErrorKind::CountMismatch {
                    what: "SPIs",
                    declared: 2,
                    found: 1,
                },
                34,
            ),
        ),
        (
            "IKE Delete with SPIs",
            msg(42, &payload(0, false, &[1, 0, 0, 1])),
            err(
                DecodeErrorKind::CountMismatch {
                    what: "zero-size SPIs",
                    declared: 1,
                    found: 0,
                },
                34,
            ),
        ),
        (
            "SKF fragment 3 of 2",
            msg(53, &payload(41, false, &[0, 3, 0, 2, 1, 2, 3])),
            err(
                DecodeErrorKind::InvalidValue {
                    field: "fragment number (must be 1..=total)",
                    value: 3,
                },
                32,
            ),
        ),
        (
            "EAP length disagrees",
            msg(48, &payload(0, false, &[1, 1, 0, 9, 1])),
            err(
                DecodeErrorKind::LengthMismatch {
                    header: 9,
                    actual: 5,
                },
                34,
            ),
        ),
        (
            "Notify SPI size beyond the payload",
            msg(41, &payload(0, false, &[3, 8, 0x40, 0, 1, 2])),
            err(
                DecodeErrorKind::Truncated {
                    what: "Notify SPI",
                    needed: 8,
                    available: 2,
                },
                36,
            ),
        ),
        (
            "CP attribute overruns",
            msg(47, &payload(0, false, &[1, 0, 0, 0, 0, 1, 0, 4, 10])),
            err(DecodeErrorKind::AttributeOverrun { attr_type: 1 }, 36),
        ),
    ];
    for (name, bytes, expected) in cases {
        let got = Message::decode(&bytes).map(|_| ());
        assert_eq!(got, expected, "case: {name}");
    }
}

#[test]
fn unknown_payload_without_critical_bit_is_kept_and_skipped() {
    let bytes = msg(
        60,
        &[payload(40, false, &[7, 7]), payload(0, false, &[1; 16])].concat(),
    );
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(
        m.payloads,
        vec![
            Payload::Unknown {
                payload_type: 60,
                body: &[7, 7]
            },
            Payload::Nonce(&[1; 16])
        ]
    );
    assert_eq!(m.to_vec().unwrap(), bytes);
}

#[test]
fn known_payload_with_critical_bit_is_accepted() {
    // RFC 7296 §2.5: the critical bit only matters for payload types the recipient does not know.
    let bytes = msg(40, &payload(0, true, &[1; 16]));
    assert_eq!(
        Message::decode(&bytes).unwrap().payloads,
        vec![Payload::Nonce(&[1; 16])]
    );
}

#[test]
fn encrypted_payload_splits_into_iv_ciphertext_icv() {
    let body: Vec<u8> = (0u8..40).collect();
    let bytes = msg(46, &payload(33, false, &body));
    let m = Message::decode(&bytes).unwrap();
    let Payload::Encrypted(sk) = &m.payloads[0] else {
        panic!("not SK")
    };
    assert_eq!(sk.first_inner, PayloadType::Sa);
    let parts = sk.split(8, 16, 32).unwrap();
    assert_eq!(
        (parts.iv, parts.ciphertext, parts.icv),
        (&body[..8], &body[8..24], &body[24..])
    );
    assert_eq!(
        sk.split(32, 16, 32),
        Err(DecodeError::new(
            DecodeErrorKind::Truncated {
                what: "encrypted payload",
                needed: 48,
                available: 40
            },
            32
        ))
    );
}

#[test]
fn registries_round_trip_unknown_values() {
    for v in 0..=u8::MAX {
        assert_eq!(u8::from(ExchangeType::from(v)), v);
        assert_eq!(u8::from(PayloadType::from(v)), v);
    }
    for v in 0..=u16::MAX {
        assert_eq!(u16::from(NotifyType::from(v)), v);
    }
    assert_eq!(NotifyType::from(16390).to_string(), "COOKIE");
    assert_eq!(NotifyType::from(16999).to_string(), "UNKNOWN(16999)");
    assert!(NotifyType::InvalidKePayload.is_error());
    assert!(!NotifyType::Cookie.is_error());
}

/// An IKE_SA_INIT request laid out by hand from RFC 7296 §3, checked field by field.
#[test]
fn hand_built_ike_sa_init_decodes_field_by_field() {
    let sa_body = proposal(
        0,
        1,
        4,
        &[
            transform_bytes(3, 1, 20, &[0x80, 0x0e, 0x00, 0x80]),
            transform_bytes(3, 2, 5, &[]),
            transform_bytes(3, 4, 31, &[]),
            transform_bytes(0, 4, 14, &[]),
        ]
        .concat(),
    );
    let ke_body = [vec![0, 31, 0, 0], vec![0xaa; 32]].concat();
    let nat = [vec![0, 0, 0x40, 0x04], vec![0x55; 20]].concat();
    let body = [
        payload(34, false, &sa_body),
        payload(40, false, &ke_body),
        payload(41, false, &[0x11; 32]),
        payload(0, false, &nat),
    ]
    .concat();
    let bytes = msg(33, &body);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.header.spi_i, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(m.header.exchange, ExchangeType::IkeSaInit);
    assert!(m.header.flags.initiator() && !m.header.flags.response());
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!("SA first")
    };
    let p = &sa.proposals[0];
    assert_eq!((p.number, p.protocol, p.spi), (1, ProtocolId::Ike, &[][..]));
    assert_eq!(p.transforms.len(), 4);
    assert_eq!(p.transforms[0].transform_type, TransformType::Encr);
    assert_eq!(p.transforms[0].id_name(), Some("ENCR_AES_GCM_16"));
    assert_eq!(p.transforms[0].key_length(), Some(128));
    assert_eq!(p.transforms[1].id_name(), Some("PRF_HMAC_SHA2_256"));
    assert_eq!(p.transforms[2].id_name(), Some("CURVE_25519"));
    assert_eq!(p.transforms[3].id_name(), Some("MODP_2048"));
    assert_eq!(
        m.payloads[1],
        Payload::Ke(KeyExchange {
            group: DhGroup::Curve25519,
            data: &[0xaa; 32]
        })
    );
    assert_eq!(m.payloads[2], Payload::Nonce(&[0x11; 32]));
    assert_eq!(
        m.payloads[3],
        Payload::Notify(Notify {
            protocol: ProtocolId::None,
            spi: &[],
            notify_type: NotifyType::NatDetectionSourceIp,
            data: &[0x55; 20]
        })
    );
    assert_eq!(m.to_vec().unwrap(), bytes);
}
