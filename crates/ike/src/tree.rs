//! The readable tree that `ike decode` prints: one node per header field, payload and
//! substructure, named from the IANA registries (like `tshark -V`, IKE only). The same tree
//! serializes to JSON for `--json`.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use ike_wire::attr::{AttrValue, Attribute};
use ike_wire::v2;
use ike_wire::{DecodeError, IkeVersion};
use serde::Serialize;

/// A node of the tree: a name, an optional value and children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// What this is ("Exchange type", "Payload", ...).
    pub name: String,
    /// Its value, ready to print.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Its parts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

impl Node {
    /// A node with a value and no children.
    pub fn leaf(name: impl Into<String>, value: impl fmt::Display) -> Self {
        Self {
            name: name.into(),
            value: Some(value.to_string()),
            children: Vec::new(),
        }
    }

    /// A node with a value and children.
    pub fn branch(name: impl Into<String>, value: impl fmt::Display, children: Vec<Node>) -> Self {
        Self {
            name: name.into(),
            value: Some(value.to_string()),
            children,
        }
    }

    /// Renders the tree as indented text, two spaces per level.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![(self, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let _ = write!(out, "{:width$}{}", "", node.name, width = depth * 2);
            if let Some(v) = &node.value {
                let _ = write!(out, ": {v}");
            }
            out.push('\n');
            for child in node.children.iter().rev() {
                stack.push((child, depth + 1));
            }
        }
        out
    }

    /// Finds the first descendant (depth first) with this name.
    pub fn find(&self, name: &str) -> Option<&Node> {
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if node.name == name {
                return Some(node);
            }
            stack.extend(node.children.iter().rev());
        }
        None
    }
}

/// A registry value as "NAME (n)", or "UNKNOWN (n)".
pub fn named(name: Option<&str>, value: impl fmt::Display) -> String {
    match name {
        Some(n) => format!("{n} ({value})"),
        None => format!("UNKNOWN ({value})"),
    }
}

/// Bytes as lowercase hex, shortened after 64 bytes.
pub fn hex_bytes(bytes: &[u8]) -> String {
    const SHOWN: usize = 64;
    if bytes.is_empty() {
        "(empty)".to_owned()
    } else if bytes.len() <= SHOWN {
        hex::encode(bytes)
    } else {
        format!(
            "{}... ({} bytes)",
            hex::encode(bytes.get(..SHOWN).unwrap_or_default()),
            bytes.len()
        )
    }
}

/// Decodes one IKE message of either version into a tree.
pub fn message_tree(bytes: &[u8]) -> Result<Node, DecodeError> {
    match ike_wire::peek_version(bytes)? {
        IkeVersion::V2 => v2::Message::decode(bytes).map(|m| v2_message(&m, bytes.len())),
        IkeVersion::V1 => crate::tree_v1::message_tree(bytes),
    }
}

fn flags_v2(flags: v2::Flags) -> String {
    let mut names = Vec::new();
    if flags.initiator() {
        names.push("Initiator");
    }
    if flags.version() {
        names.push("Version");
    }
    if flags.response() {
        names.push("Response");
    } else {
        names.push("Request");
    }
    format!("{:#04x} ({})", flags.0, names.join(", "))
}

/// The tree of an IKEv2 message.
pub fn v2_message(m: &v2::Message<'_>, len: usize) -> Node {
    let h = &m.header;
    let first = m.first_payload_type();
    let mut children = vec![
        Node::leaf("Initiator SPI", hex::encode(h.spi_i)),
        Node::leaf("Responder SPI", hex::encode(h.spi_r)),
        Node::leaf("Next payload", named(first.name(), first.value())),
        Node::leaf(
            "Version",
            format!("{}.{}", h.major_version(), h.minor_version()),
        ),
        Node::leaf(
            "Exchange type",
            named(h.exchange.name(), h.exchange.value()),
        ),
        Node::leaf("Flags", flags_v2(h.flags)),
        Node::leaf("Message ID", h.message_id),
        Node::leaf("Length", len),
    ];
    children.extend(m.payloads.iter().map(v2_payload));
    Node::branch(
        "IKEv2",
        named(h.exchange.name(), h.exchange.value()),
        children,
    )
}

/// The tree of one IKEv2 payload.
pub fn v2_payload(p: &v2::Payload<'_>) -> Node {
    use v2::Payload as P;
    let t = p.payload_type();
    let title = named(t.name(), t.value());
    let children = match p {
        P::Sa(sa) => sa.proposals.iter().map(v2_proposal).collect(),
        P::Ke(ke) => vec![
            Node::leaf("Group", named(ke.group.name(), ke.group.value())),
            Node::leaf("Key exchange data", hex_bytes(ke.data)),
        ],
        P::IdI(id) | P::IdR(id) => vec![
            Node::leaf("ID type", named(id.id_type.name(), id.id_type.value())),
            Node::leaf("ID data", v2_id_data(id.id_type, id.data)),
        ],
        P::Cert(c) | P::CertReq(c) => vec![
            Node::leaf("Encoding", named(c.encoding.name(), c.encoding.value())),
            Node::leaf("Data", hex_bytes(c.data)),
        ],
        P::Auth(a) => vec![
            Node::leaf("Method", named(a.method.name(), a.method.value())),
            Node::leaf("Data", hex_bytes(a.data)),
        ],
        P::Nonce(n) => vec![Node::leaf("Nonce", hex_bytes(n))],
        P::Notify(n) => {
            let mut c = vec![
                Node::leaf(
                    "Notify type",
                    named(n.notify_type.name(), n.notify_type.value()),
                ),
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
        P::Delete(d) => {
            let mut c = vec![
                Node::leaf("Protocol", named(d.protocol.name(), d.protocol.value())),
                Node::leaf("SPI size", d.spi_size),
                Node::leaf("Number of SPIs", d.spis.len()),
            ];
            c.extend(d.spis.iter().map(|s| Node::leaf("SPI", hex::encode(s))));
            c
        }
        P::VendorId(v) => vec![Node::leaf("Vendor ID", hex_bytes(v))],
        P::TsI(ts) | P::TsR(ts) => {
            let mut c = vec![Node::leaf("Number of selectors", ts.len())];
            c.extend(ts.iter().map(v2_selector));
            c
        }
        P::Encrypted(e) => vec![
            Node::leaf(
                "First inner payload",
                named(e.first_inner.name(), e.first_inner.value()),
            ),
            Node::leaf(
                "Encrypted data",
                format!("{} bytes (IV, ciphertext, ICV)", e.body.len()),
            ),
        ],
        P::EncryptedFragment(f) => vec![
            Node::leaf(
                "Fragment",
                format!("{} of {}", f.fragment_number, f.total_fragments),
            ),
            Node::leaf(
                "First inner payload",
                named(f.first_inner.name(), f.first_inner.value()),
            ),
            Node::leaf(
                "Encrypted data",
                format!("{} bytes (IV, ciphertext, ICV)", f.body.len()),
            ),
        ],
        P::Config(cp) => {
            let mut c = vec![Node::leaf(
                "Type",
                named(cp.cfg_type.name(), cp.cfg_type.value()),
            )];
            c.extend(cp.attributes.iter().map(|a| {
                Node::leaf(
                    named(a.attr_type.name(), a.attr_type.value()),
                    if a.value.is_empty() {
                        "(empty)".to_owned()
                    } else {
                        hex_bytes(a.value)
                    },
                )
            }));
            c
        }
        P::Eap(e) => vec![Node::leaf("EAP message", hex_bytes(e))],
        P::Unknown { body, .. } => vec![Node::leaf("Data", hex_bytes(body))],
        _ => Vec::new(),
    };
    Node::branch("Payload", title, children)
}

fn v2_proposal(p: &v2::Proposal<'_>) -> Node {
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
        let mut value = format!("{} = {}", t.transform_type, named(t.id_name(), t.id));
        for a in &t.attributes {
            match (a.attr_type, a.value) {
                (14, AttrValue::Basic(bits)) => {
                    let _ = write!(value, ", key length {bits}");
                }
                _ => {
                    let _ = write!(value, ", {}", attribute_text(a));
                }
            }
        }
        Node::leaf("Transform", value)
    }));
    Node::branch("Proposal", format!("#{}", p.number), children)
}

/// An attribute whose type has no name: "attribute N = value".
pub fn attribute_text(a: &Attribute<'_>) -> String {
    match a.value {
        AttrValue::Basic(v) => format!("attribute {} = {v}", a.attr_type),
        AttrValue::Variable(bytes) => format!("attribute {} = {}", a.attr_type, hex_bytes(bytes)),
    }
}

fn v2_selector(ts: &v2::TrafficSelector<'_>) -> Node {
    let t = ts.ts_type();
    match ts {
        v2::TrafficSelector::Range {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => Node::branch(
            "Traffic selector",
            named(t.name(), t.value()),
            vec![
                Node::leaf("IP protocol", ip_protocol),
                Node::leaf("Ports", format!("{start_port}-{end_port}")),
                Node::leaf("Addresses", format!("{start} - {end}")),
            ],
        ),
        v2::TrafficSelector::Other { data, .. } => Node::branch(
            "Traffic selector",
            named(t.name(), t.value()),
            vec![Node::leaf("Data", hex_bytes(data))],
        ),
    }
}

fn v2_id_data(id_type: v2::IdType, data: &[u8]) -> String {
    match id_type {
        v2::IdType::Ipv4Addr => ipv4(data),
        v2::IdType::Ipv6Addr => ipv6(data),
        v2::IdType::Fqdn | v2::IdType::Rfc822Addr => printable(data),
        _ => hex_bytes(data),
    }
}

/// Four bytes as an IPv4 address, else hex.
pub fn ipv4(data: &[u8]) -> String {
    <[u8; 4]>::try_from(data).map_or_else(|_| hex_bytes(data), |a| Ipv4Addr::from(a).to_string())
}

/// Sixteen bytes as an IPv6 address, else hex.
pub fn ipv6(data: &[u8]) -> String {
    <[u8; 16]>::try_from(data).map_or_else(|_| hex_bytes(data), |a| Ipv6Addr::from(a).to_string())
}

/// Text that is printable ASCII as a quoted string, else hex.
pub fn printable(data: &[u8]) -> String {
    if data.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(data))
    } else {
        hex_bytes(data)
    }
}
