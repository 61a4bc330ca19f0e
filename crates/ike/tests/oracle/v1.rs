//! IKEv1 messages in tshark's field shapes.

use ike_wire::attr::AttrValue;
use ike_wire::v1::{self, Body, Payload, ProtocolId};
use ike_wire::DecodeError;

use super::{push, tshark_hex, Fields};

/// The IKEv1 fields the oracle compares, besides the header fields shared with v2.
pub const V1_FIELDS: &[&str] = &[
    "isakmp.sa.doi",
    "isakmp.trans.number",
    "isakmp.trans.id",
    "isakmp.ike.attr.type",
    "isakmp.ike.attr.encryption_algorithm",
    "isakmp.ike.attr.hash_algorithm",
    "isakmp.ike.attr.authentication_method",
    "isakmp.ike.attr.group_description",
    "isakmp.ipsec.attr.type",
    "isakmp.ipsec.attr.encap_mode",
    "isakmp.ipsec.attr.auth_algorithm",
    "isakmp.id.protoid",
    "isakmp.id.port",
    "isakmp.hash",
    "isakmp.sig",
    "isakmp.cfg.identifier",
    "isakmp.cfg.attr.type",
    "isakmp.ike.nat_hash",
    "isakmp.ike.nat_original_address_ipv4",
    "isakmp.ike.nat_original_address_ipv6",
    "isakmp.frag.packetid",
    "isakmp.frag.seq",
    "isakmp.frag.last",
];

/// Our decode of an IKEv1 message, in tshark's field shapes.
pub fn fields(bytes: &[u8]) -> Result<Fields, DecodeError> {
    let m = v1::Message::decode(bytes)?;
    let mut f: Fields = super::FIELDS
        .iter()
        .chain(V1_FIELDS)
        .map(|k| (*k, Vec::new()))
        .collect();
    let h = &m.header;
    push(&mut f, "isakmp.ispi", hex::encode(h.icookie));
    push(&mut f, "isakmp.rspi", hex::encode(h.rcookie));
    push(
        &mut f,
        "isakmp.mjver",
        format!("{:#04x}", h.major_version()),
    );
    push(
        &mut f,
        "isakmp.mnver",
        format!("{:#04x}", h.minor_version()),
    );
    push(&mut f, "isakmp.exchangetype", h.exchange.value());
    push(&mut f, "isakmp.flags", format!("{:#04x}", h.flags.0));
    push(
        &mut f,
        "isakmp.messageid",
        format!("{:#010x}", h.message_id),
    );
    push(&mut f, "isakmp.length", bytes.len());
    push(&mut f, "isakmp.nextpayload", m.first_payload_type().value());
    let Body::Plain(payloads) = &m.body else {
        return Ok(f);
    };
    for (i, p) in payloads.iter().enumerate() {
        let next = payloads.get(i + 1).map_or(0, |n| n.payload_type().value());
        push(&mut f, "isakmp.nextpayload", next);
        push(&mut f, "isakmp.typepayload", p.payload_type().value());
        payload_fields(&mut f, p);
    }
    Ok(f)
}

/// Whether tshark will reassemble fragments in this frame and dissect the result there too
/// (the frame holds the last fragment), adding values after ours.
pub fn completes_reassembly(bytes: &[u8]) -> bool {
    matches!(
        v1::Message::decode(bytes),
        Ok(v1::Message { body: Body::Plain(p), .. })
            if p.iter().any(|p| matches!(p, Payload::Fragment(f) if f.is_last()))
    )
}

fn payload_fields(f: &mut Fields, p: &Payload<'_>) {
    match p {
        Payload::Sa(sa) => {
            push(f, "isakmp.sa.doi", sa.doi);
            for (i, prop) in sa.proposals.iter().enumerate() {
                push(
                    f,
                    "isakmp.nextpayload",
                    if i + 1 == sa.proposals.len() { 0 } else { 2 },
                );
                push(f, "isakmp.typepayload", 2);
                push(f, "isakmp.prop.number", prop.number);
                push(f, "isakmp.prop.protoid", prop.protocol.value());
                push(f, "isakmp.prop.transforms", prop.transforms.len());
                let isakmp = prop.protocol == ProtocolId::Isakmp;
                for (j, t) in prop.transforms.iter().enumerate() {
                    push(
                        f,
                        "isakmp.nextpayload",
                        if j + 1 == prop.transforms.len() { 0 } else { 3 },
                    );
                    push(f, "isakmp.typepayload", 3);
                    push(f, "isakmp.trans.number", t.number);
                    push(f, "isakmp.trans.id", t.id);
                    for a in &t.attributes {
                        let tv = match a.value {
                            AttrValue::Basic(v) => Some(v),
                            AttrValue::Variable(_) => None,
                        };
                        if isakmp {
                            push(f, "isakmp.ike.attr.type", a.attr_type);
                            let named = match a.attr_type {
                                1 => Some("isakmp.ike.attr.encryption_algorithm"),
                                2 => Some("isakmp.ike.attr.hash_algorithm"),
                                3 => Some("isakmp.ike.attr.authentication_method"),
                                4 => Some("isakmp.ike.attr.group_description"),
                                _ => None,
                            };
                            if let (Some(field), Some(v)) = (named, tv) {
                                push(f, field, v);
                            }
                        } else {
                            push(f, "isakmp.ipsec.attr.type", a.attr_type);
                            let named = match a.attr_type {
                                4 => Some("isakmp.ipsec.attr.encap_mode"),
                                5 => Some("isakmp.ipsec.attr.auth_algorithm"),
                                _ => None,
                            };
                            if let (Some(field), Some(v)) = (named, tv) {
                                push(f, field, v);
                            }
                        }
                    }
                }
            }
        }
        Payload::Id(id) => {
            push(f, "isakmp.id.type", id.id_type.value());
            push(f, "isakmp.id.protoid", id.protocol);
            push(f, "isakmp.id.port", id.port);
        }
        Payload::Cert(c) => push(f, "isakmp.cert.encoding", c.encoding.value()),
        Payload::CertReq(c) => push(f, "isakmp.certreq.type", c.encoding.value()),
        Payload::Hash(d) => push(f, "isakmp.hash", tshark_hex(d)),
        Payload::Sig(d) => push(f, "isakmp.sig", tshark_hex(d)),
        Payload::Nonce(d) => push(f, "isakmp.nonce", tshark_hex(d)),
        Payload::Notify(n) => push(f, "isakmp.notify.msgtype", n.notify_type.value()),
        Payload::Delete(d) => {
            push(f, "isakmp.spinum", d.spis.len());
            for spi in &d.spis {
                push(f, "isakmp.delete.spi", hex::encode(spi));
            }
        }
        Payload::VendorId(v) => push(f, "isakmp.vid_bytes", tshark_hex(v)),
        Payload::Attribute(cfg) => {
            push(f, "isakmp.cfg.type", cfg.cfg_type.value());
            push(f, "isakmp.cfg.identifier", cfg.identifier);
            for a in &cfg.attributes {
                push(f, "isakmp.cfg.attr.type", a.attr_type);
            }
        }
        Payload::NatD { hash, .. } => push(f, "isakmp.ike.nat_hash", tshark_hex(hash)),
        Payload::NatOa(oa) => {
            push(f, "isakmp.id.type", oa.id_type().value());
            let field = if oa.addr.is_ipv4() {
                "isakmp.ike.nat_original_address_ipv4"
            } else {
                "isakmp.ike.nat_original_address_ipv6"
            };
            push(f, field, oa.addr);
        }
        Payload::Fragment(fr) => {
            push(f, "isakmp.frag.packetid", format!("{:#06x}", fr.id));
            push(f, "isakmp.frag.seq", fr.number);
            push(f, "isakmp.frag.last", u8::from(fr.is_last()));
        }
        _ => {}
    }
}

/// Generated IKEv1 messages shaped so that tshark's dissector reads them to the end (see
/// [`super::v2_message_for_tshark`]): attribute values, ID data, Mode-Config attributes and
/// certificate requests have the form their type announces.
pub fn v1_message_for_tshark() -> impl proptest::strategy::Strategy<Value = v1::Message<'static>> {
    use ike_testkit::{bytes, leak};
    use ike_wire::attr::Attribute;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use v1::*;

    let oakley = prop_oneof![
        (
            prop::sample::select(vec![1u16, 2, 3, 4, 5, 11, 14]),
            1u16..8
        )
            .prop_map(|(t, v)| Attribute::basic(t, v)),
        any::<u32>().prop_map(|d| Attribute::variable(12, leak(d.to_be_bytes().to_vec()))),
    ];
    let ipsec = prop_oneof![
        (prop::sample::select(vec![1u16, 3, 4, 5, 6]), 1u16..8)
            .prop_map(|(t, v)| Attribute::basic(t, v)),
        any::<u32>().prop_map(|d| Attribute::variable(2, leak(d.to_be_bytes().to_vec()))),
    ];
    let proposal = (
        0u8..4,
        any::<[u8; 4]>(),
        prop::collection::vec(
            (
                any::<u8>(),
                prop::collection::vec(oakley, 0..6),
                prop::collection::vec(ipsec, 0..5),
            ),
            1..4,
        ),
    )
        .prop_map(|(proto, spi, ts)| {
            // Index 0 is ISAKMP; the phase decides below whether it stays.
            let protocol = ProtocolId::from(proto + 1);
            let isakmp = protocol == ProtocolId::Isakmp;
            Proposal {
                number: 0,
                protocol,
                spi: if isakmp { &[] } else { leak(spi.to_vec()) },
                transforms: ts
                    .into_iter()
                    .enumerate()
                    .map(|(i, (id, o, p))| Transform {
                        number: u8::try_from(i + 1).unwrap(),
                        id,
                        attributes: if isakmp { o } else { p },
                    })
                    .collect(),
            }
        });
    let sa = prop::collection::vec((proposal, any::<bool>()), 1..4).prop_map(|props| {
        // Proposal protocols are fixed up per exchange in `message` below.
        let mut number = 0u8;
        let proposals = props
            .into_iter()
            .map(|(mut p, same)| {
                if number == 0 || !same {
                    number += 1;
                }
                p.number = number;
                p
            })
            .collect();
        Payload::Sa(Sa {
            doi: DOI_IPSEC,
            situation: SIT_IDENTITY_ONLY,
            proposals,
        })
    });
    let id = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| (1u8, leak(a.to_vec()))),
        "[a-z]{1,12}\\.example\\.org".prop_map(|s| (2u8, leak(s.into_bytes()))),
        "[a-z]{1,8}@example\\.org".prop_map(|s| (3u8, leak(s.into_bytes()))),
        any::<[u8; 8]>().prop_map(|a| (4u8, leak(a.to_vec()))),
        any::<[u8; 16]>().prop_map(|a| (5u8, leak(a.to_vec()))),
        bytes(20).prop_map(|b| (11u8, b)),
    ];
    let payload = prop_oneof![
        sa,
        bytes(64).prop_map(Payload::Ke),
        (id, any::<u8>(), any::<u16>()).prop_map(|((t, data), protocol, port)| Payload::Id(
            Identification {
                id_type: IdType::from(t),
                protocol,
                port,
                data
            }
        )),
        Just(Payload::CertReq(Cert {
            encoding: CertEncoding::from(4),
            data: &[]
        })),
        bytes(32).prop_map(Payload::Hash),
        bytes(64).prop_map(Payload::Sig),
        bytes(32).prop_map(Payload::Nonce),
        (
            prop::sample::select(vec![1u16, 14, 16, 18, 24, 30, 24578]),
            prop_oneof![Just(0usize), Just(4), Just(16)],
            any::<[u8; 16]>(),
            bytes(12)
        )
            .prop_map(|(t, spi_len, spi, data)| {
                Payload::Notify(Notify {
                    doi: DOI_IPSEC,
                    protocol: if spi_len == 4 {
                        ProtocolId::Esp
                    } else {
                        ProtocolId::Isakmp
                    },
                    notify_type: NotifyType::from(t),
                    spi: leak(spi[..spi_len].to_vec()),
                    data,
                })
            }),
        (1usize..4, any::<[u8; 12]>()).prop_map(|(n, raw)| Payload::Delete(Delete {
            doi: DOI_IPSEC,
            protocol: ProtocolId::Esp,
            spi_size: 4,
            spis: raw.chunks(4).take(n).map(|c| leak(c.to_vec())).collect()
        })),
        any::<[u8; 16]>().prop_map(|c| Payload::Delete(Delete {
            doi: DOI_IPSEC,
            protocol: ProtocolId::Isakmp,
            spi_size: 16,
            spis: vec![leak(c.to_vec())]
        })),
        bytes(20).prop_map(Payload::VendorId),
        (
            1u8..=4,
            any::<u16>(),
            prop::collection::vec(
                prop::sample::select(vec![1u16, 2, 3, 7, 16520, 16521]),
                0..5
            )
        )
            .prop_map(|(t, identifier, attrs)| {
                Payload::Attribute(ModeConfig {
                    cfg_type: CfgType::from(t),
                    identifier,
                    attributes: attrs
                        .into_iter()
                        .map(|a| Attribute::variable(a, &[]))
                        .collect(),
                })
            }),
        (any::<bool>(), bytes(32)).prop_map(|(draft, hash)| Payload::NatD { draft, hash }),
        (any::<bool>(), any::<u32>(), any::<u128>(), any::<bool>()).prop_map(
            |(draft, a4, a6, v4)| Payload::NatOa(NatOa {
                draft,
                addr: if v4 {
                    IpAddr::V4(Ipv4Addr::from(a4))
                } else {
                    IpAddr::V6(Ipv6Addr::from(a6))
                },
            })
        ),
        // tshark dissects v1 payload types 33-54 with its IKEv2 table, so unknown ones come from above.
        (55u8..=127, bytes(16))
            .prop_map(|(payload_type, body)| Payload::Unknown { payload_type, body }),
    ];
    let body = prop_oneof![
        3 => prop::collection::vec(payload, 0..7).prop_map(Body::Plain),
        1 => (prop::sample::select(vec![5u8, 8, 1]), bytes(64)).prop_map(|(first, ciphertext)| Body::Encrypted { first_payload: PayloadType::from(first), ciphertext }),
    ];
    (
        any::<[u8; 8]>(),
        any::<[u8; 8]>(),
        prop::sample::select(vec![2u8, 4, 5, 6, 32, 33]),
        any::<u32>(),
        body,
    )
        .prop_map(|(icookie, rcookie, exchange, message_id, mut body)| {
            // tshark reads transform attributes as Oakley ones only for PROTO_ISAKMP with KEY_IKE
            // (the one ISAKMP transform ID), and as IPsec DOI ones otherwise; real peers send ISAKMP
            // proposals only in phase 1 (Main, Aggressive). Keep generated SAs to that.
            let phase1 = exchange == 2 || exchange == 4;
            if let Body::Plain(payloads) = &mut body {
                for p in payloads {
                    if let Payload::Sa(sa) = p {
                        for prop in &mut sa.proposals {
                            let isakmp = prop.protocol == ProtocolId::Isakmp;
                            if phase1 && isakmp {
                                for t in &mut prop.transforms {
                                    t.id = 1;
                                }
                            }
                            if phase1 != isakmp {
                                prop.protocol = if phase1 {
                                    ProtocolId::Isakmp
                                } else {
                                    ProtocolId::Esp
                                };
                                prop.spi = if phase1 { &[] } else { &[1, 2, 3, 4] };
                                for t in &mut prop.transforms {
                                    t.attributes.clear();
                                }
                            }
                        }
                    }
                }
            }
            let flags = if matches!(body, Body::Encrypted { .. }) {
                Flags::ENCRYPTION
            } else {
                0
            };
            Message {
                header: Header {
                    icookie,
                    rcookie,
                    version: VERSION,
                    exchange: ExchangeType::from(exchange),
                    flags: Flags(flags),
                    message_id,
                },
                body,
            }
        })
}
