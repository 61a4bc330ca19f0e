//! The `ike decode` tree of an ISAKMP / IKEv1 message (RFC 2408, RFC 2409, RFC 2407).

use ike_wire::attr::{AttrValue, Attribute};
use ike_wire::v1::{self, Body, IdType, Payload};
use ike_wire::DecodeError;

use crate::tree::{hex_bytes, ipv4, ipv6, named, printable, Node};

/// Decodes an IKEv1 message into a tree.
pub(crate) fn message_tree(bytes: &[u8]) -> Result<Node, DecodeError> {
    let m = v1::Message::decode(bytes)?;
    Ok(v1_message(&m, bytes.len()))
}

fn flags_v1(flags: v1::Flags) -> String {
    let mut names = Vec::new();
    if flags.encryption() {
        names.push("Encryption");
    }
    if flags.commit() {
        names.push("Commit");
    }
    if flags.auth_only() {
        names.push("Authentication only");
    }
    if names.is_empty() {
        format!("{:#04x}", flags.0)
    } else {
        format!("{:#04x} ({})", flags.0, names.join(", "))
    }
}

/// The tree of an IKEv1 message.
pub fn v1_message(m: &v1::Message<'_>, len: usize) -> Node {
    let h = &m.header;
    let first = m.first_payload_type();
    let mut children = vec![
        Node::leaf("Initiator cookie", hex::encode(h.icookie)),
        Node::leaf("Responder cookie", hex::encode(h.rcookie)),
        Node::leaf("Next payload", named(first.name(), first.value())),
        Node::leaf(
            "Version",
            format!("{}.{}", h.major_version(), h.minor_version()),
        ),
        Node::leaf(
            "Exchange type",
            named(h.exchange.name(), h.exchange.value()),
        ),
        Node::leaf("Flags", flags_v1(h.flags)),
        Node::leaf("Message ID", format!("{:#010x}", h.message_id)),
        Node::leaf("Length", len),
    ];
    match &m.body {
        Body::Plain(payloads) => children.extend(payloads.iter().map(v1_payload)),
        Body::Encrypted { ciphertext, .. } => children.push(Node::leaf(
            "Encrypted payloads",
            format!("{} bytes", ciphertext.len()),
        )),
    }
    Node::branch(
        "IKEv1",
        named(h.exchange.name(), h.exchange.value()),
        children,
    )
}

pub(crate) fn v1_payload(p: &Payload<'_>) -> Node {
    let t = p.payload_type();
    let title = named(t.name(), t.value());
    let children = match p {
        Payload::Sa(sa) => {
            let mut c = vec![
                Node::leaf(
                    "DOI",
                    match sa.doi {
                        v1::DOI_IPSEC => "IPsec (1)".to_owned(),
                        v1::DOI_ISAKMP => "ISAKMP (0)".to_owned(),
                        other => format!("UNKNOWN ({other})"),
                    },
                ),
                Node::leaf("Situation", format!("{:#010x}", sa.situation)),
            ];
            c.extend(sa.proposals.iter().map(v1_proposal));
            c
        }
        Payload::Ke(data) => vec![Node::leaf("Key exchange data", hex_bytes(data))],
        Payload::Id(id) => vec![
            Node::leaf("ID type", named(id.id_type.name(), id.id_type.value())),
            Node::leaf("Protocol", id.protocol),
            Node::leaf("Port", id.port),
            Node::leaf("ID data", id_data(id.id_type, id.data)),
        ],
        Payload::Cert(c) | Payload::CertReq(c) => vec![
            Node::leaf("Encoding", named(c.encoding.name(), c.encoding.value())),
            Node::leaf("Data", hex_bytes(c.data)),
        ],
        Payload::Hash(d) => vec![Node::leaf("Hash", hex_bytes(d))],
        Payload::Sig(d) => vec![Node::leaf("Signature", hex_bytes(d))],
        Payload::Nonce(d) => vec![Node::leaf("Nonce", hex_bytes(d))],
        Payload::Notify(n) => {
            let mut c = vec![
                Node::leaf(
                    "Notify type",
                    named(n.notify_type.name(), n.notify_type.value()),
                ),
                Node::leaf("DOI", n.doi),
                Node::leaf("Protocol", named(n.protocol.name(), n.protocol.value())),
            ];
            if !n.spi.is_empty() {
                c.push(Node::leaf("SPI", hex::encode(n.spi)));
            }
            if !n.data.is_empty() {
                c.push(Node::leaf("Data", hex_bytes(n.data)));
            }
            c
        }
        Payload::Delete(d) => {
            let mut c = vec![
                Node::leaf("DOI", d.doi),
                Node::leaf("Protocol", named(d.protocol.name(), d.protocol.value())),
                Node::leaf("SPI size", d.spi_size),
                Node::leaf("Number of SPIs", d.spis.len()),
            ];
            c.extend(d.spis.iter().map(|s| Node::leaf("SPI", hex::encode(s))));
            c
        }
        Payload::VendorId(v) => vec![Node::leaf("Vendor ID", hex_bytes(v))],
        Payload::Attribute(cfg) => {
            let mut c = vec![
                Node::leaf("Type", named(cfg.cfg_type.name(), cfg.cfg_type.value())),
                Node::leaf("Identifier", cfg.identifier),
            ];
            c.extend(cfg.attributes.iter().map(|a| {
                let name = v1::CfgAttrType::from(a.attr_type);
                Node::leaf(named(name.name(), a.attr_type), attr_value(a, None))
            }));
            c
        }
        Payload::NatD { hash, .. } => vec![Node::leaf("Hash", hex_bytes(hash))],
        Payload::NatOa(oa) => vec![
            Node::leaf("ID type", named(oa.id_type().name(), oa.id_type().value())),
            Node::leaf("Original address", oa.addr),
        ],
        Payload::Fragment(f) => vec![
            Node::leaf("Fragment ID", f.id),
            Node::leaf("Fragment number", f.number),
            Node::leaf("Last", f.is_last()),
            Node::leaf("Data", format!("{} bytes", f.data.len())),
        ],
        Payload::Unknown { body, .. } => vec![Node::leaf("Data", hex_bytes(body))],
        _ => Vec::new(),
    };
    Node::branch("Payload", title, children)
}

fn v1_proposal(p: &v1::Proposal<'_>) -> Node {
    let mut children = vec![
        Node::leaf("Protocol", named(p.protocol.name(), p.protocol.value())),
        Node::leaf(
            "SPI",
            if p.spi.is_empty() {
                "(none)".to_owned()
            } else {
                hex::encode(p.spi)
            },
        ),
        Node::leaf("Number of transforms", p.transforms.len()),
    ];
    children.extend(p.transforms.iter().map(|t| {
        let attrs = t
            .attributes
            .iter()
            .map(|a| {
                let (type_name, value_name) = p.attribute_names(a);
                Node::leaf(named(type_name, a.attr_type), attr_value(a, value_name))
            })
            .collect();
        Node::branch(
            "Transform",
            format!("#{} {}", t.number, named(t.id_name(p.protocol), t.id)),
            attrs,
        )
    }));
    Node::branch("Proposal", format!("#{}", p.number), children)
}

fn attr_value(a: &Attribute<'_>, value_name: Option<&str>) -> String {
    match (a.value, value_name) {
        (AttrValue::Basic(v), Some(name)) => format!("{name} ({v})"),
        (AttrValue::Basic(v), None) => v.to_string(),
        (AttrValue::Variable(bytes), _) => match a.as_u64() {
            Some(n) if !bytes.is_empty() => format!("{n} ({} bytes)", bytes.len()),
            _ => hex_bytes(bytes),
        },
    }
}

fn id_data(id_type: IdType, data: &[u8]) -> String {
    match id_type {
        IdType::Ipv4Addr => ipv4(data),
        IdType::Ipv6Addr => ipv6(data),
        IdType::Fqdn | IdType::UserFqdn => printable(data),
        IdType::Ipv4AddrSubnet | IdType::Ipv4AddrRange if data.len() == 8 => format!(
            "{} {} {}",
            ipv4(data.get(..4).unwrap_or_default()),
            if id_type == IdType::Ipv4AddrSubnet {
                "/"
            } else {
                "-"
            },
            ipv4(data.get(4..).unwrap_or_default())
        ),
        IdType::Ipv6AddrSubnet | IdType::Ipv6AddrRange if data.len() == 32 => format!(
            "{} {} {}",
            ipv6(data.get(..16).unwrap_or_default()),
            if id_type == IdType::Ipv6AddrSubnet {
                "/"
            } else {
                "-"
            },
            ipv6(data.get(16..).unwrap_or_default())
        ),
        _ => hex_bytes(data),
    }
}
