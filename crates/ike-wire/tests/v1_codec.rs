//! ISAKMP / IKEv1 codec: property round trips over generated messages, a table of malformed inputs
//! each with the exact error it must give, and a Main Mode message built by hand from the RFC
//! layouts.

use ike_testkit::v1::{message, payload};
use ike_wire::attr::{AttrValue, Attribute};
use ike_wire::group::DhGroup;
use ike_wire::v1::{
    self, Body, Delete, ExchangeType, Flags, LifeType, Message, OakleyAttrType, OakleyAuthMethod,
    OakleyEncr, OakleyHash, Padding, Payload, PayloadType, Proposal, ProtocolId, Transform,
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

    /// A decrypted body: the payload chain followed by cipher padding.
    #[test]
    fn plaintext_round_trips_with_padding(
        payloads in prop::collection::vec(payload(), 1..7),
        pad in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut plain = Vec::new();
        let first = v1::encode_payloads(&payloads, &mut plain).unwrap();
        let chain_len = plain.len();
        plain.extend_from_slice(&pad);
        let chain = v1::decode_payloads(first, &plain, 28, Padding::Allowed).unwrap();
        prop_assert_eq!(&chain.payloads, &payloads);
        prop_assert_eq!(chain.padding, pad.len());
        let strict = v1::decode_payloads(first, &plain, 28, Padding::Forbidden);
        if pad.is_empty() {
            prop_assert_eq!(strict.unwrap().payloads, payloads);
        } else {
            prop_assert_eq!(
                strict.unwrap_err(),
                DecodeError::new(
                    DecodeErrorKind::TrailingBytes { what: "the last payload", count: pad.len() },
                    28 + chain_len,
                )
            );
        }
    }

    /// Any prefix of a valid message is refused, and any single corrupted byte gives an error or
    /// a message that itself round-trips, never a panic.
    #[test]
    fn truncation_and_corruption_do_not_panic(
        msg in message(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        val in any::<u8>(),
    ) {
        let bytes = msg.to_vec().unwrap();
        let n = cut.index(bytes.len());
        prop_assert!(Message::decode(&bytes[..n]).is_err());
        let mut corrupt = bytes.clone();
        let i = flip.index(corrupt.len());
        corrupt[i] = val;
        if let Ok(m) = Message::decode(&corrupt) {
            // Reserved bytes may now be non-zero, so compare the re-parsed structure.
            let again = m.to_vec().unwrap();
            prop_assert_eq!(Message::decode(&again).unwrap(), m);
        }
    }

    #[test]
    fn arbitrary_bytes_do_not_panic(mut raw in prop::collection::vec(any::<u8>(), 28..300), first in any::<u8>()) {
        // Make the header plausible so that the payload parsers are reached.
        raw[16] = first;
        raw[17] = 0x10;
        raw[19] &= !Flags::ENCRYPTION;
        let len = u32::try_from(raw.len()).unwrap().to_be_bytes();
        raw[24..28].copy_from_slice(&len);
        let _ = Message::decode(&raw);
        let _ = v1::decode_payloads(PayloadType::from(first), &raw[28..], 28, Padding::Allowed);
    }
}

// ---- byte builders for hand-made messages ----

fn payload_bytes(next: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![next, 0];
    v.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A Main Mode header with a length that matches `body`.
fn msg(first: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![
        1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, first, 0x10, 2, flags, 0, 0, 0, 0,
    ];
    v.extend_from_slice(&u32::try_from(body.len() + 28).unwrap().to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn proposal_bytes(marker: u8, num: u8, spi: &[u8], declared: u8, transforms: &[u8]) -> Vec<u8> {
    let mut v = vec![marker, 0];
    v.extend_from_slice(
        &u16::try_from(8 + spi.len() + transforms.len())
            .unwrap()
            .to_be_bytes(),
    );
    v.extend_from_slice(&[num, 1, u8::try_from(spi.len()).unwrap(), declared]);
    v.extend_from_slice(spi);
    v.extend_from_slice(transforms);
    v
}

fn transform_bytes(marker: u8, num: u8, id: u8, attrs: &[u8]) -> Vec<u8> {
    let mut v = vec![marker, 0];
    v.extend_from_slice(&u16::try_from(8 + attrs.len()).unwrap().to_be_bytes());
    v.extend_from_slice(&[num, id, 0, 0]);
    v.extend_from_slice(attrs);
    v
}

/// SA payload body: DOI IPsec, SIT_IDENTITY_ONLY, then `proposals`.
fn sa_body(proposals: &[u8]) -> Vec<u8> {
    [&[0, 0, 0, 1, 0, 0, 0, 1][..], proposals].concat()
}

fn err(kind: DecodeErrorKind, offset: usize) -> Result<(), DecodeError> {
    Err(DecodeError::new(kind, offset))
}

// Offsets below: header 0..28, first payload's generic header 28..32, SA body's DOI 32..36,
// situation 36..40, first proposal from 40 (its number at 44, its transform count at 47), first
// transform from 48 when the proposal has no SPI.
#[test]
fn malformed_inputs_give_the_exact_error() {
    let good_t = transform_bytes(0, 1, 1, &[0x80, 1, 0, 7]);
    let cases: Vec<(&str, Vec<u8>, Result<(), DecodeError>)> = vec![
        (
            "truncated header",
            vec![0x10; 20],
            err(
                DecodeErrorKind::Truncated {
                    what: "ISAKMP header",
                    needed: 28,
                    available: 20,
                },
                0,
            ),
        ),
        (
            "header length differs from the datagram",
            {
                let mut m = msg(0, 0, &[]);
                m[27] = 29;
                m
            },
            err(
                DecodeErrorKind::LengthMismatch {
                    header: 29,
                    actual: 28,
                },
                24,
            ),
        ),
        (
            "over 64 KiB",
            vec![0; 65_537],
            err(DecodeErrorKind::TooLong { len: 65_537 }, 0),
        ),
        (
            "major version 2",
            {
                let mut m = msg(0, 0, &[]);
                m[17] = 0x20;
                m
            },
            err(DecodeErrorKind::UnsupportedMajorVersion { major: 2 }, 17),
        ),
        (
            "payload length below 4",
            msg(13, 0, &[0, 0, 0, 3, 0xaa]),
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
            "payload length past the end",
            msg(13, 0, &[0, 0, 0, 12, 1, 2, 3, 4]),
            err(
                DecodeErrorKind::LengthOverrun {
                    what: "payload",
                    length: 12,
                    available: 8,
                },
                30,
            ),
        ),
        (
            "chain names a payload after the last byte",
            msg(13, 0, &payload_bytes(10, &[1, 2, 3, 4])),
            err(DecodeErrorKind::ChainOverrun { next: 10 }, 36),
        ),
        (
            "bytes after the last payload",
            msg(13, 0, &[payload_bytes(0, &[1, 2]), vec![0xee; 3]].concat()),
            err(
                DecodeErrorKind::TrailingBytes {
                    what: "the last payload",
                    count: 3,
                },
                34,
            ),
        ),
        (
            "proposal next-payload field 3",
            msg(
                1,
                0,
                &payload_bytes(0, &sa_body(&proposal_bytes(3, 1, &[], 1, &good_t))),
            ),
            err(
                DecodeErrorKind::BadSubstructureMarker {
                    what: "proposal",
                    value: 3,
                    expected: "0 (last) or 2 (more)",
                },
                40,
            ),
        ),
        (
            "transform next-payload field 2",
            msg(
                1,
                0,
                &payload_bytes(
                    0,
                    &sa_body(&proposal_bytes(
                        0,
                        1,
                        &[],
                        1,
                        &transform_bytes(2, 1, 1, &[]),
                    )),
                ),
            ),
            err(
                DecodeErrorKind::BadSubstructureMarker {
                    what: "transform",
                    value: 2,
                    expected: "0 (last) or 3 (more)",
                },
                48,
            ),
        ),
        (
            "transform count disagrees",
            msg(
                1,
                0,
                &payload_bytes(0, &sa_body(&proposal_bytes(0, 1, &[], 2, &good_t))),
            ),
            err(
                DecodeErrorKind::CountMismatch {
                    what: "transforms",
                    declared: 2,
                    found: 1,
                },
                47,
            ),
        ),
        (
            "proposal numbers decrease",
            msg(
                1,
                0,
                &payload_bytes(
                    0,
                    &sa_body(
                        &[
                            proposal_bytes(2, 2, &[], 1, &good_t),
                            proposal_bytes(0, 1, &[], 1, &good_t),
                        ]
                        .concat(),
                    ),
                ),
            ),
            // The first proposal is 8 + 12 bytes, so the second starts at 60.
            err(
                DecodeErrorKind::ProposalNumbering {
                    previous: 2,
                    found: 1,
                },
                64,
            ),
        ),
        (
            "TLV attribute past the end of its transform",
            msg(
                1,
                0,
                &payload_bytes(
                    0,
                    &sa_body(&proposal_bytes(
                        0,
                        1,
                        &[],
                        1,
                        &transform_bytes(0, 1, 1, &[0x80, 1, 0, 7, 0, 12, 0, 8, 0, 0, 0x70]),
                    )),
                ),
            ),
            // The transform's attributes start at 56; the TLV after one TV attribute at 60.
            err(DecodeErrorKind::AttributeOverrun { attr_type: 12 }, 60),
        ),
        (
            "delete SPI count times size disagrees with the bytes",
            msg(
                12,
                0,
                &payload_bytes(0, &[&[0, 0, 0, 1, 3, 4, 0, 2][..], &[0xab; 4]].concat()),
            ),
            err(
                DecodeErrorKind::CountMismatch {
                    what: "SPIs",
                    declared: 2,
                    found: 1,
                },
                38,
            ),
        ),
        (
            "NAT-OA IPv4 type with an IPv6-sized address",
            msg(
                21,
                0,
                &payload_bytes(0, &[&[1, 0, 0, 0][..], &[0; 16]].concat()),
            ),
            err(
                DecodeErrorKind::InvalidValue {
                    field: "NAT-OA payload length for its ID type",
                    value: 24,
                },
                30,
            ),
        ),
        (
            "NAT-OA with an ID type that is not an address",
            msg(131, 0, &payload_bytes(0, &[2, 0, 0, 0, 10, 0, 0, 1])),
            err(
                DecodeErrorKind::InvalidValue {
                    field: "NAT-OA ID type (must be ID_IPV4_ADDR or ID_IPV6_ADDR)",
                    value: 2,
                },
                32,
            ),
        ),
        (
            "Proposal payload at top level",
            msg(2, 0, &proposal_bytes(0, 1, &[], 1, &good_t)),
            err(
                DecodeErrorKind::MisplacedPayload {
                    payload_type: 2,
                    rule: "Proposal and Transform payloads only appear inside an SA payload",
                },
                28,
            ),
        ),
        (
            "Transform payload after a VID",
            msg(13, 0, &[payload_bytes(3, &[9; 4]), good_t.clone()].concat()),
            err(
                DecodeErrorKind::MisplacedPayload {
                    payload_type: 3,
                    rule: "Proposal and Transform payloads only appear inside an SA payload",
                },
                36,
            ),
        ),
        (
            "IPsec situation with secrecy labels",
            msg(
                1,
                0,
                &payload_bytes(
                    0,
                    &[
                        &[0, 0, 0, 1, 0, 0, 0, 3][..],
                        &proposal_bytes(0, 1, &[], 1, &good_t),
                    ]
                    .concat(),
                ),
            ),
            err(DecodeErrorKind::UnsupportedSituation { situation: 3 }, 36),
        ),
        (
            "SA without proposals",
            msg(1, 0, &payload_bytes(0, &sa_body(&[]))),
            err(
                DecodeErrorKind::Truncated {
                    what: "proposal",
                    needed: 8,
                    available: 0,
                },
                40,
            ),
        ),
        (
            "proposal announces another that is not there",
            msg(
                1,
                0,
                &payload_bytes(0, &sa_body(&proposal_bytes(2, 1, &[], 1, &good_t))),
            ),
            err(
                DecodeErrorKind::Truncated {
                    what: "proposal",
                    needed: 8,
                    available: 0,
                },
                60,
            ),
        ),
        (
            "proposal length past the SA payload",
            msg(
                1,
                0,
                &payload_bytes(0, &sa_body(&[0, 0, 0, 40, 1, 1, 0, 1])),
            ),
            err(
                DecodeErrorKind::LengthOverrun {
                    what: "proposal",
                    length: 40,
                    available: 8,
                },
                42,
            ),
        ),
        (
            "bytes after the last transform",
            msg(
                1,
                0,
                &payload_bytes(
                    0,
                    &sa_body(&proposal_bytes(
                        0,
                        1,
                        &[],
                        1,
                        &[good_t.clone(), vec![0; 2]].concat(),
                    )),
                ),
            ),
            err(
                DecodeErrorKind::TrailingBytes {
                    what: "the last transform",
                    count: 2,
                },
                60,
            ),
        ),
        (
            "fragment number 0",
            msg(132, 0, &payload_bytes(0, &[0, 1, 0, 1, 0xde, 0xad])),
            err(
                DecodeErrorKind::InvalidValue {
                    field: "fragment number (counts from 1)",
                    value: 0,
                },
                34,
            ),
        ),
        (
            "notify SPI size past the payload",
            msg(
                11,
                0,
                &payload_bytes(0, &[0, 0, 0, 1, 3, 16, 0x60, 2, 1, 2, 3, 4]),
            ),
            err(
                DecodeErrorKind::Truncated {
                    what: "Notification SPI",
                    needed: 16,
                    available: 4,
                },
                40,
            ),
        ),
    ];
    for (name, input, expected) in cases {
        let got = Message::decode(&input).map(|_| ());
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn encrypted_body_stays_opaque() {
    let ciphertext = [0x5a; 32];
    let bytes = msg(8, Flags::ENCRYPTION, &ciphertext);
    let m = Message::decode(&bytes).unwrap();
    assert!(m.header.flags.encryption());
    assert_eq!(
        m.body,
        Body::Encrypted {
            first_payload: PayloadType::Hash,
            ciphertext: &ciphertext,
        }
    );
    assert_eq!(m.first_payload_type(), PayloadType::Hash);
    assert_eq!(m.to_vec().unwrap(), bytes);
}

#[test]
fn delete_with_several_spis() {
    let body = [
        &[0, 0, 0, 1, 3, 4, 0, 3][..],
        &[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3],
    ]
    .concat();
    let bytes = msg(12, 0, &payload_bytes(0, &body));
    let m = Message::decode(&bytes).unwrap();
    let Body::Plain(payloads) = &m.body else {
        panic!("plain body expected")
    };
    assert_eq!(
        payloads[..],
        [Payload::Delete(Delete {
            doi: 1,
            protocol: ProtocolId::Esp,
            spi_size: 4,
            spis: vec![&[1; 4], &[2; 4], &[3; 4]],
        })]
    );
}

#[test]
fn bundles_group_equal_proposal_numbers() {
    let t = transform_bytes(0, 1, 3, &[]);
    let sa = sa_body(
        &[
            proposal_bytes(2, 1, &[9; 4], 1, &t),
            proposal_bytes(2, 1, &[8; 4], 1, &t),
            proposal_bytes(0, 2, &[7; 4], 1, &t),
        ]
        .concat(),
    );
    let bytes = msg(1, 0, &payload_bytes(0, &sa));
    let m = Message::decode(&bytes).unwrap();
    let Body::Plain(payloads) = &m.body else {
        panic!("plain body expected")
    };
    let Payload::Sa(sa) = &payloads[0] else {
        panic!("SA expected")
    };
    let sizes: Vec<usize> = sa.bundles().map(<[Proposal]>::len).collect();
    assert_eq!(sizes, [2, 1]);
    assert_eq!(m.to_vec().unwrap(), bytes);
}

// ---- Main Mode message 1, written out from RFC 2408 §3.1/§3.4-§3.6/§3.16 and RFC 2409 App. A ----

#[rustfmt::skip]
const MAIN_MODE_1: &str = concat!(
    // ISAKMP header (RFC 2408 §3.1)
    "0102030405060708",         // initiator cookie
    "0000000000000000",         // responder cookie
    "01",                       // next payload: SA
    "10",                       // version 1.0
    "02",                       // exchange: Identity Protection (Main Mode)
    "00",                       // flags
    "00000000",                 // message ID
    "0000006c",                 // length 108
    // SA payload (RFC 2408 §3.4, RFC 2407 §4.6.1)
    "0d", "00", "003c",         // next: VID, reserved, length 60
    "00000001",                 // DOI: IPsec
    "00000001",                 // situation: SIT_IDENTITY_ONLY
    // Proposal payload (RFC 2408 §3.5)
    "00", "00", "0030",         // last proposal, reserved, length 48
    "01", "01", "00", "01",     // proposal 1, PROTO_ISAKMP, SPI size 0, 1 transform
    // Transform payload (RFC 2408 §3.6)
    "00", "00", "0028",         // last transform, reserved, length 40
    "01", "01", "0000",         // transform 1, KEY_IKE, reserved
    "80010007",                 // Encryption Algorithm: AES-CBC
    "800e0080",                 // Key Length: 128
    "80020002",                 // Hash Algorithm: SHA
    "80030001",                 // Authentication Method: pre-shared key
    "8004000e",                 // Group Description: 14 (MODP_2048)
    "800b0001",                 // Life Type: seconds
    "000c0004", "00007080",     // Life Duration: 28800, as TLV
    // Vendor ID payload (RFC 2408 §3.16): RFC 3947's NAT-T vendor ID
    "00", "00", "0014",
    "4a131c81070358455c5728f20e95452f",
);

#[test]
fn main_mode_message_1_decodes_field_by_field() {
    let bytes = hex::decode(MAIN_MODE_1).unwrap();
    assert_eq!(bytes.len(), 108);
    assert_eq!(ike_wire::peek_version(&bytes), Ok(ike_wire::IkeVersion::V1));
    let m = Message::decode(&bytes).unwrap();

    assert_eq!(m.header.icookie, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(m.header.rcookie, [0; 8]);
    assert_eq!(m.header.major_version(), 1);
    assert_eq!(m.header.minor_version(), 0);
    assert_eq!(m.header.exchange, ExchangeType::MAIN_MODE);
    assert_eq!(
        m.header.exchange.name(),
        Some("Identity Protection (Main Mode)")
    );
    assert_eq!(m.header.flags, Flags(0));
    assert_eq!(m.header.message_id, 0);
    assert_eq!(m.first_payload_type(), PayloadType::Sa);

    let Body::Plain(payloads) = &m.body else {
        panic!("plain body expected")
    };
    assert_eq!(payloads.len(), 2);
    let Payload::Sa(sa) = &payloads[0] else {
        panic!("SA expected, got {:?}", payloads[0])
    };
    assert_eq!(sa.doi, v1::DOI_IPSEC);
    assert_eq!(sa.situation, v1::SIT_IDENTITY_ONLY);
    assert_eq!(sa.proposals.len(), 1);
    let p = &sa.proposals[0];
    assert_eq!(p.number, 1);
    assert_eq!(p.protocol, ProtocolId::Isakmp);
    assert!(p.spi.is_empty());
    assert_eq!(p.transforms.len(), 1);
    let t = &p.transforms[0];
    assert_eq!(t.number, 1);
    assert_eq!(t.id, 1);
    assert_eq!(t.id_name(p.protocol), Some("KEY_IKE"));
    assert_eq!(p.transform_name(t), Some("KEY_IKE"));

    let attr = |a: OakleyAttrType| t.attribute(a.value()).map(|x| x.value);
    assert_eq!(
        attr(OakleyAttrType::Encryption),
        Some(AttrValue::Basic(OakleyEncr::AesCbc.value()))
    );
    assert_eq!(attr(OakleyAttrType::KeyLength), Some(AttrValue::Basic(128)));
    assert_eq!(
        attr(OakleyAttrType::Hash),
        Some(AttrValue::Basic(OakleyHash::Sha1.value()))
    );
    assert_eq!(
        attr(OakleyAttrType::AuthMethod),
        Some(AttrValue::Basic(OakleyAuthMethod::PreSharedKey.value()))
    );
    assert_eq!(
        attr(OakleyAttrType::GroupDescription),
        Some(AttrValue::Basic(DhGroup::Modp2048.value()))
    );
    assert_eq!(
        attr(OakleyAttrType::LifeType),
        Some(AttrValue::Basic(LifeType::Seconds.value()))
    );
    assert_eq!(
        attr(OakleyAttrType::LifeDuration),
        Some(AttrValue::Variable(&[0, 0, 0x70, 0x80]))
    );
    let duration = t.attribute(OakleyAttrType::LifeDuration.value()).unwrap();
    assert_eq!(duration.as_u64(), Some(28_800));
    assert_eq!(t.attributes.len(), 7);

    // The names the decode printer shows.
    let names: Vec<_> = t.attributes.iter().map(|a| p.attribute_names(a)).collect();
    assert_eq!(
        names,
        [
            (Some("Encryption Algorithm"), Some("AES-CBC")),
            (Some("Key Length"), None),
            (Some("Hash Algorithm"), Some("SHA")),
            (Some("Authentication Method"), Some("Pre-Shared Key")),
            (Some("Group Description"), Some("MODP_2048")),
            (Some("Life Type"), Some("seconds")),
            (Some("Life Duration"), None),
        ]
    );

    assert_eq!(
        payloads[1],
        Payload::VendorId(&hex::decode("4a131c81070358455c5728f20e95452f").unwrap())
    );

    // And the encoder writes exactly these bytes back.
    assert_eq!(m.to_vec().unwrap(), bytes);
}

#[test]
fn quick_mode_names_use_the_ipsec_doi() {
    let p = Proposal {
        number: 1,
        protocol: ProtocolId::Esp,
        spi: &[1, 2, 3, 4],
        transforms: vec![Transform {
            number: 1,
            id: 12,
            attributes: vec![
                Attribute::basic(4, 1),
                Attribute::basic(5, 5),
                Attribute::basic(3, 14),
            ],
        }],
    };
    let t = &p.transforms[0];
    assert_eq!(p.transform_name(t), Some("ESP_AES"));
    let names: Vec<_> = t.attributes.iter().map(|a| p.attribute_names(a)).collect();
    assert_eq!(
        names,
        [
            (Some("Encapsulation Mode"), Some("Tunnel")),
            (Some("Authentication Algorithm"), Some("HMAC-SHA2-256")),
            (Some("Group Description"), Some("MODP_2048")),
        ]
    );
}
