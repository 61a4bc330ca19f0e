//! Proptest strategies that generate ISAKMP / IKEv1 messages of every payload kind, for the
//! round-trip tests in ike-wire and the tshark oracle in the `ike` crate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ike_wire::v1::{
    self, Body, Cert, CertEncoding, CfgType, Delete, ExchangeType, Flags, Fragment, Header, IdType,
    Identification, Message, ModeConfig, NatOa, Notify, NotifyType, Payload, PayloadType, Proposal,
    ProtocolId, Sa, Transform,
};
use proptest::prelude::*;

use crate::{attribute, bytes, leak};
pub fn transform() -> impl Strategy<Value = Transform<'static>> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(attribute(), 0..5),
    )
        .prop_map(|(number, id, attributes)| Transform {
            number,
            id,
            attributes,
        })
}

pub fn proposal() -> impl Strategy<Value = Proposal<'static>> {
    (
        any::<u8>(),
        any::<u8>(),
        prop_oneof![Just(0usize), Just(4), Just(16)],
        prop::collection::vec(any::<u8>(), 16),
        prop::collection::vec(transform(), 0..4),
    )
        .prop_map(|(number, proto, spi_len, spi, transforms)| Proposal {
            number,
            protocol: ProtocolId::from(proto),
            spi: leak(spi[..spi_len].to_vec()),
            transforms,
        })
}

pub fn sa() -> impl Strategy<Value = Sa<'static>> {
    (
        prop_oneof![Just(v1::DOI_IPSEC), Just(v1::DOI_ISAKMP), any::<u32>()],
        any::<u32>(),
        prop::collection::vec(proposal(), 1..5),
    )
        .prop_map(|(doi, situation, mut proposals)| {
            // Equal numbers are bundles, so sorting keeps some duplicates: both cases covered.
            proposals.sort_by_key(|p| p.number);
            let situation = if doi == v1::DOI_IPSEC {
                situation & !(v1::SIT_SECRECY | v1::SIT_INTEGRITY)
            } else {
                situation
            };
            Sa {
                doi,
                situation,
                proposals,
            }
        })
}

/// Payload types that the codec keeps as [`Payload::Unknown`].
pub fn unknown_type() -> impl Strategy<Value = u8> {
    prop_oneof![15u8..=19, 22u8..=129, 133u8..=255]
}

pub fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

pub fn delete() -> impl Strategy<Value = Delete<'static>> {
    (
        any::<u32>(),
        any::<u8>(),
        prop_oneof![Just(0u8), Just(4), Just(16), 1u8..=20],
        prop::collection::vec(prop::collection::vec(any::<u8>(), 20), 0..5),
    )
        .prop_map(|(doi, proto, spi_size, raw)| Delete {
            doi,
            protocol: ProtocolId::from(proto),
            spi_size,
            spis: if spi_size == 0 {
                Vec::new()
            } else {
                raw.into_iter()
                    .map(|s| leak(s[..usize::from(spi_size)].to_vec()))
                    .collect()
            },
        })
}

pub fn payload() -> impl Strategy<Value = Payload<'static>> {
    prop_oneof![
        sa().prop_map(Payload::Sa),
        bytes(64).prop_map(Payload::Ke),
        (any::<u8>(), any::<u8>(), any::<u16>(), bytes(24)).prop_map(
            |(t, protocol, port, data)| {
                Payload::Id(Identification {
                    id_type: IdType::from(t),
                    protocol,
                    port,
                    data,
                })
            }
        ),
        (any::<u8>(), bytes(40)).prop_map(|(e, data)| Payload::Cert(Cert {
            encoding: CertEncoding::from(e),
            data
        })),
        (any::<u8>(), bytes(20)).prop_map(|(e, data)| Payload::CertReq(Cert {
            encoding: CertEncoding::from(e),
            data
        })),
        bytes(32).prop_map(Payload::Hash),
        bytes(64).prop_map(Payload::Sig),
        bytes(32).prop_map(Payload::Nonce),
        (
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            bytes(17),
            bytes(12)
        )
            .prop_map(|(doi, proto, t, spi, data)| Payload::Notify(Notify {
                doi,
                protocol: ProtocolId::from(proto),
                notify_type: NotifyType::from(t),
                spi,
                data,
            })),
        delete().prop_map(Payload::Delete),
        bytes(20).prop_map(Payload::VendorId),
        (
            any::<u8>(),
            any::<u16>(),
            prop::collection::vec(attribute(), 0..6)
        )
            .prop_map(
                |(t, identifier, attributes)| Payload::Attribute(ModeConfig {
                    cfg_type: CfgType::from(t),
                    identifier,
                    attributes,
                })
            ),
        (any::<bool>(), bytes(32)).prop_map(|(draft, hash)| Payload::NatD { draft, hash }),
        (any::<bool>(), ip_addr()).prop_map(|(draft, addr)| Payload::NatOa(NatOa { draft, addr })),
        (any::<u16>(), 1u8..=255, any::<u8>(), bytes(48)).prop_map(|(id, number, flags, data)| {
            Payload::Fragment(Fragment {
                id,
                number,
                flags,
                data,
            })
        }),
        (unknown_type(), bytes(16))
            .prop_map(|(payload_type, body)| Payload::Unknown { payload_type, body }),
    ]
}

pub fn body() -> impl Strategy<Value = Body<'static>> {
    prop_oneof![
        3 => prop::collection::vec(payload(), 0..7).prop_map(Body::Plain),
        1 => (any::<u8>(), bytes(64)).prop_map(|(first, ciphertext)| Body::Encrypted {
            first_payload: PayloadType::from(first),
            ciphertext,
        }),
    ]
}

pub fn message() -> impl Strategy<Value = Message<'static>> {
    (
        any::<[u8; 8]>(),
        any::<[u8; 8]>(),
        0u8..16,
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
        body(),
    )
        .prop_map(
            |(icookie, rcookie, minor, exchange, flags, message_id, body)| {
                let flags = match body {
                    Body::Plain(_) => flags & !Flags::ENCRYPTION,
                    Body::Encrypted { .. } => flags | Flags::ENCRYPTION,
                };
                Message {
                    header: Header {
                        icookie,
                        rcookie,
                        version: 0x10 | minor,
                        exchange: ExchangeType::from(exchange),
                        flags: Flags(flags),
                        message_id,
                    },
                    body,
                }
            },
        )
}
