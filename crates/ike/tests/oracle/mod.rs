//! Runs tshark over a pcap and turns its `-T fields` output, and our own decode, into the same
//! shape: for each field name, the list of values in the order the dissector meets them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use ike_wire::attr::AttrValue;
use ike_wire::v2::{self, Payload, TransformType};
use ike_wire::{DecodeError, IkeVersion};
use proptest::prelude::*;

pub type Fields = BTreeMap<&'static str, Vec<String>>;

/// The tshark fields the oracle compares.
pub const FIELDS: &[&str] = &[
    "isakmp.ispi",
    "isakmp.rspi",
    "isakmp.mjver",
    "isakmp.mnver",
    "isakmp.exchangetype",
    "isakmp.flags",
    "isakmp.messageid",
    "isakmp.length",
    "isakmp.nextpayload",
    "isakmp.typepayload",
    "isakmp.prop.number",
    "isakmp.prop.protoid",
    "isakmp.prop.transforms",
    "isakmp.tf.type",
    "isakmp.tf.id.encr",
    "isakmp.tf.id.prf",
    "isakmp.tf.id.integ",
    "isakmp.tf.id.dh",
    "isakmp.tf.id.esn",
    "isakmp.ike2.attr.key_length",
    "isakmp.key_exchange.dh_group",
    "isakmp.id.type",
    "isakmp.auth.method",
    "isakmp.cert.encoding",
    "isakmp.certreq.type",
    "isakmp.nonce",
    "isakmp.notify.msgtype",
    "isakmp.delete.spi",
    "isakmp.spinum",
    "isakmp.vid_bytes",
    "isakmp.ts.number",
    "isakmp.ts.type",
    "isakmp.ts.start_port",
    "isakmp.ts.end_port",
    "isakmp.ts.start_ipv4",
    "isakmp.ts.end_ipv4",
    "isakmp.ts.start_ipv6",
    "isakmp.ts.end_ipv6",
    "isakmp.cfg.type",
    "isakmp.frag.number",
    "isakmp.frag.total",
];

/// Runs tshark over `path`; one map per frame, in frame order.
pub fn tshark_frames(path: &Path) -> Vec<BTreeMap<String, Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(path)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=/t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ])
        .args(["-e", "frame.number"]);
    let all: Vec<&str> = FIELDS.iter().chain(v1::V1_FIELDS).copied().collect();
    for f in &all {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("running tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            all.iter()
                .zip(cols.iter().skip(1).chain(std::iter::repeat(&"")))
                .map(|(f, v)| {
                    let values = if v.is_empty() {
                        Vec::new()
                    } else {
                        v.split(',').map(str::to_owned).collect()
                    };
                    ((*f).to_owned(), values)
                })
                .collect()
        })
        .collect()
}

/// Compares our fields with tshark's for one frame. With `prefix`, tshark may list more values
/// after ours (it appends the dissection of a reassembled message to the frame that completes
/// it).
pub fn compare_frame(
    ours: &Fields,
    seen: &BTreeMap<String, Vec<String>>,
    prefix: bool,
) -> Result<(), String> {
    let mut diffs = Vec::new();
    for (field, values) in ours {
        let theirs = seen.get(*field).cloned().unwrap_or_default();
        let agree = if prefix {
            theirs.starts_with(values)
        } else {
            &theirs == values
        };
        if !agree {
            diffs.push(format!("{field}: ours {values:?}, tshark {theirs:?}"));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

/// Our decode of one message, in tshark's field shapes.
pub fn expected_fields(bytes: &[u8]) -> Result<Fields, DecodeError> {
    match ike_wire::peek_version(bytes)? {
        IkeVersion::V2 => Ok(v2_fields(&v2::Message::decode(bytes)?, bytes.len())),
        IkeVersion::V1 => crate::oracle::v1::fields(bytes),
    }
}

pub mod v1;

/// Bytes as tshark prints them in `-T fields`: hex, or `<MISSING>` for an empty field.
pub fn tshark_hex(b: &[u8]) -> String {
    if b.is_empty() {
        "<MISSING>".to_owned()
    } else {
        hex::encode(b)
    }
}

fn push(f: &mut Fields, key: &'static str, value: impl ToString) {
    f.entry(key).or_default().push(value.to_string());
}

pub fn v2_fields(m: &v2::Message<'_>, len: usize) -> Fields {
    let mut f: Fields = FIELDS.iter().map(|k| (*k, Vec::new())).collect();
    let h = &m.header;
    push(&mut f, "isakmp.ispi", hex::encode(h.spi_i));
    push(&mut f, "isakmp.rspi", hex::encode(h.spi_r));
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
    push(&mut f, "isakmp.length", len);
    push(&mut f, "isakmp.nextpayload", m.first_payload_type().value());
    for (i, p) in m.payloads.iter().enumerate() {
        let next = match p {
            Payload::Encrypted(e) => e.first_inner.value(),
            Payload::EncryptedFragment(e) => e.first_inner.value(),
            _ => m
                .payloads
                .get(i + 1)
                .map_or(0, |n| n.payload_type().value()),
        };
        push(&mut f, "isakmp.nextpayload", next);
        push(&mut f, "isakmp.typepayload", p.payload_type().value());
        v2_payload_fields(&mut f, p);
    }
    f
}

fn v2_payload_fields(f: &mut Fields, p: &Payload<'_>) {
    match p {
        Payload::Sa(sa) => {
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
                for (j, t) in prop.transforms.iter().enumerate() {
                    push(
                        f,
                        "isakmp.nextpayload",
                        if j + 1 == prop.transforms.len() { 0 } else { 3 },
                    );
                    push(f, "isakmp.typepayload", 3);
                    push(f, "isakmp.tf.type", t.transform_type.value());
                    let id_field = match t.transform_type {
                        TransformType::Encr => Some("isakmp.tf.id.encr"),
                        TransformType::Prf => Some("isakmp.tf.id.prf"),
                        TransformType::Integ => Some("isakmp.tf.id.integ"),
                        TransformType::Ke => Some("isakmp.tf.id.dh"),
                        TransformType::Esn => Some("isakmp.tf.id.esn"),
                        _ => None,
                    };
                    if let Some(field) = id_field {
                        push(f, field, t.id);
                    }
                    for a in &t.attributes {
                        if let (14, AttrValue::Basic(bits)) = (a.attr_type, a.value) {
                            push(f, "isakmp.ike2.attr.key_length", bits);
                        }
                    }
                }
            }
        }
        Payload::Ke(ke) => push(f, "isakmp.key_exchange.dh_group", ke.group.value()),
        Payload::IdI(id) | Payload::IdR(id) => push(f, "isakmp.id.type", id.id_type.value()),
        Payload::Auth(a) => push(f, "isakmp.auth.method", a.method.value()),
        Payload::Cert(c) => push(f, "isakmp.cert.encoding", c.encoding.value()),
        Payload::CertReq(c) => push(f, "isakmp.certreq.type", c.encoding.value()),
        Payload::Nonce(n) => push(f, "isakmp.nonce", tshark_hex(n)),
        Payload::Notify(n) => push(f, "isakmp.notify.msgtype", n.notify_type.value()),
        Payload::Delete(d) => {
            push(f, "isakmp.spinum", d.spis.len());
            for spi in &d.spis {
                push(f, "isakmp.delete.spi", hex::encode(spi));
            }
        }
        Payload::VendorId(v) => push(f, "isakmp.vid_bytes", tshark_hex(v)),
        Payload::TsI(ts) | Payload::TsR(ts) => {
            push(f, "isakmp.ts.number", ts.len());
            for s in ts {
                push(f, "isakmp.ts.type", s.ts_type().value());
                if let v2::TrafficSelector::Range {
                    start_port,
                    end_port,
                    start,
                    end,
                    ..
                } = s
                {
                    push(f, "isakmp.ts.start_port", start_port);
                    push(f, "isakmp.ts.end_port", end_port);
                    let (a, b) = if start.is_ipv4() {
                        ("isakmp.ts.start_ipv4", "isakmp.ts.end_ipv4")
                    } else {
                        ("isakmp.ts.start_ipv6", "isakmp.ts.end_ipv6")
                    };
                    push(f, a, start);
                    push(f, b, end);
                }
            }
        }
        Payload::Config(c) => push(f, "isakmp.cfg.type", c.cfg_type.value()),
        Payload::EncryptedFragment(e) => {
            push(f, "isakmp.frag.number", e.fragment_number);
            push(f, "isakmp.frag.total", e.total_fragments);
        }
        _ => {}
    }
}

/// Generated IKEv2 messages, shaped so that tshark's dissector reads them to the end: it
/// interprets the data of ID, CERT, AUTH, EAP, CP attributes and some notify types, and stops at
/// the first malformed one, so those carry data of the form their type announces. Everything
/// else (SPIs, counts, lengths, ordering, unknown numbers) is as random as in the round-trip tests.
pub fn v2_message_for_tshark() -> impl Strategy<Value = v2::Message<'static>> {
    use ike_testkit::v2::{bytes, leak, sa};
    use ike_wire::group::DhGroup;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use v2::*;
    let id = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| (1u8, leak(a.to_vec()))),
        "[a-z]{1,12}\\.example\\.org".prop_map(|s| (2u8, leak(s.into_bytes()))),
        "[a-z]{1,8}@example\\.org".prop_map(|s| (3u8, leak(s.into_bytes()))),
        any::<[u8; 16]>().prop_map(|a| (5u8, leak(a.to_vec()))),
        bytes(20).prop_map(|b| (11u8, b)),
    ];
    let selector = prop_oneof![
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(p, sp, ep, s, e)| {
                TrafficSelector::Range {
                    ip_protocol: p,
                    start_port: sp,
                    end_port: ep,
                    start: IpAddr::V4(Ipv4Addr::from(s)),
                    end: IpAddr::V4(Ipv4Addr::from(e)),
                }
            }),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u128>(),
            any::<u128>()
        )
            .prop_map(|(p, sp, ep, s, e)| {
                TrafficSelector::Range {
                    ip_protocol: p,
                    start_port: sp,
                    end_port: ep,
                    start: IpAddr::V6(Ipv6Addr::from(s)),
                    end: IpAddr::V6(Ipv6Addr::from(e)),
                }
            }),
    ];
    let notify = prop_oneof![
        (
            prop::sample::select(vec![16388u16, 16389, 16390]),
            bytes(32)
        )
            .prop_map(|(t, d)| (t, &[][..], d)),
        prop::sample::select(vec![
            16384u16, 16430, 16418, 16391, 16394, 16395, 14, 24, 38, 43
        ])
        .prop_map(|t| (t, &[][..], &[][..])),
        (any::<[u8; 4]>()).prop_map(|spi| (16393u16, leak(spi.to_vec()), &[][..])),
        any::<u16>().prop_map(|g| (17u16, &[][..], leak(g.to_be_bytes().to_vec()))),
    ];
    let payload = prop_oneof![
        sa().prop_map(|mut sa| {
            // tshark names transforms only for the types it knows; keep attributes to Key Length.
            for p in &mut sa.proposals {
                for t in &mut p.transforms {
                    t.transform_type = TransformType::from(1 + t.transform_type.value() % 5);
                    t.attributes
                        .retain(|a| a.attr_type == 14 && matches!(a.value, AttrValue::Basic(_)));
                }
            }
            Payload::Sa(sa)
        }),
        (any::<u16>(), bytes(64)).prop_map(|(g, data)| Payload::Ke(KeyExchange {
            group: DhGroup::from(g),
            data
        })),
        id.clone()
            .prop_map(|(t, data)| Payload::IdI(Identification {
                id_type: IdType::from(t),
                data
            })),
        id.prop_map(|(t, data)| Payload::IdR(Identification {
            id_type: IdType::from(t),
            data
        })),
        (prop::sample::select(vec![1u8, 2, 3, 9, 10, 11]), bytes(40)).prop_map(|(m, data)| {
            Payload::Auth(Auth {
                method: AuthMethod::from(m),
                data,
            })
        }),
        prop::collection::vec(any::<[u8; 20]>(), 0..3).prop_map(|hashes| Payload::CertReq(Cert {
            encoding: CertEncoding::X509Signature,
            data: leak(hashes.concat())
        })),
        bytes(64).prop_map(Payload::Nonce),
        notify.prop_map(|(t, spi, data)| Payload::Notify(Notify {
            protocol: if spi.is_empty() {
                ProtocolId::None
            } else {
                ProtocolId::Esp
            },
            spi,
            notify_type: NotifyType::from(t),
            data
        })),
        (1usize..5, any::<[u8; 16]>()).prop_map(|(n, raw)| Payload::Delete(Delete {
            protocol: ProtocolId::Esp,
            spi_size: 4,
            spis: raw.chunks(4).take(n).map(|c| leak(c.to_vec())).collect()
        })),
        Just(Payload::Delete(Delete {
            protocol: ProtocolId::Ike,
            spi_size: 0,
            spis: Vec::new()
        })),
        bytes(20).prop_map(Payload::VendorId),
        prop::collection::vec(selector.clone(), 1..4).prop_map(Payload::TsI),
        prop::collection::vec(selector, 1..4).prop_map(Payload::TsR),
        (
            1u8..=4,
            prop::collection::vec(prop::sample::select(vec![1u16, 2, 3, 8, 10, 13]), 0..4)
        )
            .prop_map(|(t, attrs)| {
                Payload::Config(Config {
                    cfg_type: CfgType::from(t),
                    attributes: attrs
                        .into_iter()
                        .map(|a| ConfigAttribute {
                            attr_type: CfgAttrType::from(a),
                            value: &[],
                        })
                        .collect(),
                })
            }),
        (60u8..=127, bytes(20))
            .prop_map(|(payload_type, body)| Payload::Unknown { payload_type, body }),
    ];
    let last = prop_oneof![
        Just(None),
        (any::<u8>(), bytes(80)).prop_map(|(first, body)| Some(Payload::Encrypted(Encrypted {
            first_inner: PayloadType::from(first),
            body
        }))),
        (1u16..20, 0u16..20, any::<u8>(), bytes(80)).prop_map(|(total, n, first, body)| {
            let number = 1 + n % total;
            Some(Payload::EncryptedFragment(EncryptedFragment {
                fragment_number: number,
                total_fragments: total,
                first_inner: if number == 1 {
                    PayloadType::from(first)
                } else {
                    PayloadType::NoNext
                },
                body,
            }))
        }),
    ];
    (
        any::<[u8; 8]>(),
        any::<[u8; 8]>(),
        34u8..=37,
        prop::sample::select(vec![0x08u8, 0x20, 0x28, 0x00]),
        any::<u32>(),
        prop::collection::vec(payload, 0..8),
        last,
    )
        .prop_map(
            |(spi_i, spi_r, exch, flags, message_id, mut payloads, last)| {
                payloads.extend(last);
                Message {
                    header: Header {
                        spi_i,
                        spi_r,
                        version: 0x20,
                        exchange: ExchangeType::from(exch),
                        flags: Flags(flags),
                        message_id,
                    },
                    payloads,
                }
            },
        )
}
