//! The ISAKMP payloads of RFC 2408 §3.4-§3.16 with the IPsec DOI layouts of RFC 2407 §4.6, plus
//! NAT-D and NAT-OA (RFC 3947 §3.2, §5.2), the Mode-Config Attribute payload
//! (draft-dukes-ike-mode-cfg §3.2) and Cisco's IKE fragment payload.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::types::{
    attribute_type_name, attribute_value_name, transform_id_name, CertEncoding, CfgType, IdType,
    NotifyType, PayloadType, ProtocolId, DOI_IPSEC, SIT_INTEGRITY, SIT_SECRECY,
};
use crate::attr::{encode_attributes, parse_attributes, AttrValue, Attribute};
use crate::codec::{count_u16, count_u8, Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// One ISAKMP payload, its body borrowed from the message. Proposal and Transform payloads are
/// not here: they only exist inside an [`Sa`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// Security Association (RFC 2408 §3.4).
    Sa(Sa<'a>),
    /// Key Exchange (RFC 2408 §3.7): the public value.
    Ke(&'a [u8]),
    /// Identification (RFC 2408 §3.8, RFC 2407 §4.6.2).
    Id(Identification<'a>),
    /// Certificate (RFC 2408 §3.9).
    Cert(Cert<'a>),
    /// Certificate Request (RFC 2408 §3.10): the encoding and the certificate authority.
    CertReq(Cert<'a>),
    /// Hash (RFC 2408 §3.11).
    Hash(&'a [u8]),
    /// Signature (RFC 2408 §3.12).
    Sig(&'a [u8]),
    /// Nonce (RFC 2408 §3.13).
    Nonce(&'a [u8]),
    /// Notification (RFC 2408 §3.14).
    Notify(Notify<'a>),
    /// Delete (RFC 2408 §3.15).
    Delete(Delete<'a>),
    /// Vendor ID (RFC 2408 §3.16).
    VendorId(&'a [u8]),
    /// Attribute payload of Mode-Config and XAUTH (draft-dukes-ike-mode-cfg §3.2).
    Attribute(ModeConfig<'a>),
    /// NAT Discovery (RFC 3947 §3.2): a hash of an address and port.
    NatD {
        /// Whether it came as the draft payload type 130 rather than 20.
        draft: bool,
        /// The hash.
        hash: &'a [u8],
    },
    /// NAT Original Address (RFC 3947 §5.2).
    NatOa(NatOa),
    /// An IKE fragment (payload type 132).
    Fragment(Fragment<'a>),
    /// A payload type this codec does not parse (the GDOI payloads, private use numbers): kept
    /// so that the engine can reject or skip it and so that it round-trips.
    Unknown {
        /// Its payload type.
        payload_type: u8,
        /// Its body.
        body: &'a [u8],
    },
}

impl<'a> Payload<'a> {
    /// The payload type that goes in the previous Next Payload field.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::Sa,
            Payload::Ke(_) => PayloadType::Ke,
            Payload::Id(_) => PayloadType::Id,
            Payload::Cert(_) => PayloadType::Cert,
            Payload::CertReq(_) => PayloadType::CertReq,
            Payload::Hash(_) => PayloadType::Hash,
            Payload::Sig(_) => PayloadType::Sig,
            Payload::Nonce(_) => PayloadType::Nonce,
            Payload::Notify(_) => PayloadType::Notify,
            Payload::Delete(_) => PayloadType::Delete,
            Payload::VendorId(_) => PayloadType::VendorId,
            Payload::Attribute(_) => PayloadType::Attribute,
            Payload::NatD { draft: false, .. } => PayloadType::NatD,
            Payload::NatD { draft: true, .. } => PayloadType::NatDDraft,
            Payload::NatOa(NatOa { draft: false, .. }) => PayloadType::NatOa,
            Payload::NatOa(NatOa { draft: true, .. }) => PayloadType::NatOaDraft,
            Payload::Fragment(_) => PayloadType::Fragment,
            Payload::Unknown { payload_type, .. } => PayloadType::from(*payload_type),
        }
    }

    /// Parses the body of a payload of type `kind` whose generic header starts at absolute
    /// offset `start`; `r` holds exactly the body.
    pub(super) fn decode_body(
        kind: PayloadType,
        start: usize,
        r: &mut Reader<'a>,
    ) -> Result<Self, DecodeError> {
        let payload = match kind {
            PayloadType::Sa => Payload::Sa(Sa::decode(r)?),
            PayloadType::Ke => Payload::Ke(r.rest()),
            PayloadType::Id => Payload::Id(Identification::decode(r)?),
            PayloadType::Cert => Payload::Cert(Cert::decode(r)?),
            PayloadType::CertReq => Payload::CertReq(Cert::decode(r)?),
            PayloadType::Hash => Payload::Hash(r.rest()),
            PayloadType::Sig => Payload::Sig(r.rest()),
            PayloadType::Nonce => Payload::Nonce(r.rest()),
            PayloadType::Notify => Payload::Notify(Notify::decode(r)?),
            PayloadType::Delete => Payload::Delete(Delete::decode(r)?),
            PayloadType::VendorId => Payload::VendorId(r.rest()),
            PayloadType::Attribute => Payload::Attribute(ModeConfig::decode(r)?),
            PayloadType::NatD | PayloadType::NatDDraft => Payload::NatD {
                draft: kind == PayloadType::NatDDraft,
                hash: r.rest(),
            },
            PayloadType::NatOa | PayloadType::NatOaDraft => {
                Payload::NatOa(NatOa::decode(kind == PayloadType::NatOaDraft, start, r)?)
            }
            PayloadType::Fragment => Payload::Fragment(Fragment::decode(r)?),
            PayloadType::Proposal | PayloadType::Transform => {
                return Err(DecodeError::new(
                    DecodeErrorKind::MisplacedPayload {
                        payload_type: kind.value(),
                        rule: MISPLACED_SUBSTRUCTURE,
                    },
                    start,
                ))
            }
            other => Payload::Unknown {
                payload_type: other.value(),
                body: r.rest(),
            },
        };
        r.finish("payload body")?;
        Ok(payload)
    }

    pub(super) fn encode_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self {
            Payload::Sa(sa) => sa.encode(w),
            Payload::Id(id) => {
                w.u8(id.id_type.value());
                w.u8(id.protocol);
                w.u16(id.port);
                w.bytes(id.data);
                Ok(())
            }
            Payload::Cert(c) | Payload::CertReq(c) => {
                w.u8(c.encoding.value());
                w.bytes(c.data);
                Ok(())
            }
            Payload::Ke(data)
            | Payload::Hash(data)
            | Payload::Sig(data)
            | Payload::Nonce(data)
            | Payload::VendorId(data)
            | Payload::NatD { hash: data, .. } => {
                w.bytes(data);
                Ok(())
            }
            Payload::Notify(n) => n.encode(w),
            Payload::Delete(d) => d.encode(w),
            Payload::Attribute(m) => m.encode(w),
            Payload::NatOa(oa) => {
                w.u8(oa.id_type().value());
                w.zeros(3);
                match oa.addr {
                    IpAddr::V4(a) => w.bytes(&a.octets()),
                    IpAddr::V6(a) => w.bytes(&a.octets()),
                }
                Ok(())
            }
            Payload::Fragment(f) => f.encode(w),
            Payload::Unknown { payload_type, body } => {
                // The decoder would parse a known type as that type (or refuse it), so an
                // Unknown payload of such a type could not round-trip.
                if !decodes_as_unknown(PayloadType::from(*payload_type)) {
                    return Err(EncodeError::Inconsistent {
                        what: "Unknown payload of a type this codec parses",
                    });
                }
                w.bytes(body);
                Ok(())
            }
        }
    }
}

const MISPLACED_SUBSTRUCTURE: &str =
    "Proposal and Transform payloads only appear inside an SA payload";

/// Whether [`Payload::decode_body`] turns a payload of this type into [`Payload::Unknown`].
fn decodes_as_unknown(kind: PayloadType) -> bool {
    matches!(
        kind,
        PayloadType::Sak
            | PayloadType::Sat
            | PayloadType::Kd
            | PayloadType::Seq
            | PayloadType::Pop
            | PayloadType::Unknown(_)
    )
}

/// Security Association payload (RFC 2408 §3.4, RFC 2407 §4.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sa<'a> {
    /// Domain of interpretation ([`super::DOI_IPSEC`] in practice).
    pub doi: u32,
    /// The situation bitmap (4 bytes; [`super::SIT_IDENTITY_ONLY`] in practice).
    pub situation: u32,
    /// The proposals, in the sender's order of preference. Consecutive proposals with the same
    /// number form one AND-bundle (RFC 2408 §4.2), such as AH with ESP.
    pub proposals: Vec<Proposal<'a>>,
}

/// A Proposal payload nested in an SA payload (RFC 2408 §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal<'a> {
    /// Proposal number; equal numbers form a bundle, and numbers never decrease.
    pub number: u8,
    /// The protocol being negotiated.
    pub protocol: ProtocolId,
    /// The sender's SPI (empty or 16 bytes for ISAKMP, 4 bytes for AH/ESP, 2 or 4 for IPCOMP).
    pub spi: &'a [u8],
    /// The transforms, alternatives of which the responder picks one.
    pub transforms: Vec<Transform<'a>>,
}

/// A Transform payload nested in a Proposal payload (RFC 2408 §3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform<'a> {
    /// Transform number, unique within its proposal.
    pub number: u8,
    /// Transform ID, whose registry depends on the proposal's protocol ([`Self::id_name`]).
    pub id: u8,
    /// SA attributes: Oakley attributes for ISAKMP, IPsec DOI attributes otherwise.
    pub attributes: Vec<Attribute<'a>>,
}

/// Marker of the last proposal or transform.
const LAST: u8 = 0;
/// Next-payload value of a proposal followed by another.
const MORE_PROPOSALS: u8 = 2;
/// Next-payload value of a transform followed by another.
const MORE_TRANSFORMS: u8 = 3;
/// Generic header plus proposal number, protocol, SPI size and transform count.
const PROPOSAL_FIXED: usize = 8;
/// Generic header plus transform number, transform ID and two reserved bytes.
const TRANSFORM_FIXED: usize = 8;

impl<'a> Sa<'a> {
    /// The proposals grouped into bundles of equal proposal number (RFC 2408 §4.2): the
    /// responder accepts one bundle whole or not at all.
    pub fn bundles(&self) -> impl Iterator<Item = &[Proposal<'a>]> {
        self.proposals.chunk_by(|a, b| a.number == b.number)
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let doi = r.u32("SA payload")?;
        let situation_at = r.offset();
        let situation = r.u32("SA payload")?;
        // RFC 2407 §4.6.1: with secrecy or integrity bits, labelled-domain fields of their own
        // lengths follow the situation. Nobody deploys them; refuse rather than misparse.
        if doi == DOI_IPSEC && situation & (SIT_SECRECY | SIT_INTEGRITY) != 0 {
            return Err(DecodeError::new(
                DecodeErrorKind::UnsupportedSituation { situation },
                situation_at,
            ));
        }
        let mut proposals: Vec<Proposal<'a>> = Vec::new();
        loop {
            let start = r.offset();
            // An SA holds at least one proposal, and a "more" marker promises another.
            if r.remaining() < PROPOSAL_FIXED {
                return Err(r.error(DecodeErrorKind::Truncated {
                    what: "proposal",
                    needed: PROPOSAL_FIXED,
                    available: r.remaining(),
                }));
            }
            let marker = r.u8("proposal")?;
            if marker != LAST && marker != MORE_PROPOSALS {
                return Err(DecodeError::new(
                    DecodeErrorKind::BadSubstructureMarker {
                        what: "proposal",
                        value: marker,
                        expected: "0 (last) or 2 (more)",
                    },
                    start,
                ));
            }
            let _reserved = r.u8("proposal")?;
            let length = usize::from(r.u16("proposal")?);
            let mut p = sub_struct(r, start, length, PROPOSAL_FIXED, "proposal")?;
            let number = p.u8("proposal")?;
            let protocol = ProtocolId::from(p.u8("proposal")?);
            let spi_size = usize::from(p.u8("proposal")?);
            let declared = usize::from(p.u8("proposal")?);
            let spi = p.take(spi_size, "proposal SPI")?;
            if let Some(prev) = proposals.last() {
                if number < prev.number {
                    return Err(DecodeError::new(
                        DecodeErrorKind::ProposalNumbering {
                            previous: prev.number,
                            found: number,
                        },
                        start + 4,
                    ));
                }
            }
            let transforms = decode_transforms(&mut p)?;
            if transforms.len() != declared {
                return Err(DecodeError::new(
                    DecodeErrorKind::CountMismatch {
                        what: "transforms",
                        declared,
                        found: transforms.len(),
                    },
                    start + 7,
                ));
            }
            proposals.push(Proposal {
                number,
                protocol,
                spi,
                transforms,
            });
            if marker == LAST {
                return Ok(Self {
                    doi,
                    situation,
                    proposals,
                });
            }
        }
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.doi == DOI_IPSEC && self.situation & (SIT_SECRECY | SIT_INTEGRITY) != 0 {
            return Err(EncodeError::Inconsistent {
                what: "labelled IPsec situations are not supported",
            });
        }
        if self.proposals.is_empty() {
            return Err(EncodeError::Inconsistent {
                what: "an SA payload needs at least one proposal",
            });
        }
        if self.proposals.windows(2).any(|pair| match pair {
            [a, b] => b.number < a.number,
            _ => false,
        }) {
            return Err(EncodeError::Inconsistent {
                what: "proposal numbers must not decrease",
            });
        }
        w.u32(self.doi);
        w.u32(self.situation);
        for (i, p) in self.proposals.iter().enumerate() {
            let start = w.position();
            w.u8(if i + 1 == self.proposals.len() {
                LAST
            } else {
                MORE_PROPOSALS
            });
            w.u8(0);
            w.u16(0);
            w.u8(p.number);
            w.u8(p.protocol.value());
            w.u8(count_u8(p.spi.len(), "SPI bytes")?);
            w.u8(count_u8(p.transforms.len(), "transforms")?);
            w.bytes(p.spi);
            for (j, t) in p.transforms.iter().enumerate() {
                let t_start = w.position();
                w.u8(if j + 1 == p.transforms.len() {
                    LAST
                } else {
                    MORE_TRANSFORMS
                });
                w.u8(0);
                w.u16(0);
                w.u8(t.number);
                w.u8(t.id);
                w.u16(0);
                encode_attributes(&t.attributes, w)?;
                let len = w.position() - t_start;
                w.patch_u16(t_start + 2, len, "transform")?;
            }
            let len = w.position() - start;
            w.patch_u16(start + 2, len, "proposal")?;
        }
        Ok(())
    }
}

/// Takes a substructure of `length` bytes that began at `start` (its 4-byte generic header
/// already read) and checks that the length fits.
fn sub_struct<'a>(
    r: &mut Reader<'a>,
    start: usize,
    length: usize,
    minimum: usize,
    what: &'static str,
) -> Result<Reader<'a>, DecodeError> {
    if length < minimum {
        return Err(DecodeError::new(
            DecodeErrorKind::LengthTooShort {
                what,
                length,
                minimum,
            },
            start + 2,
        ));
    }
    let body = length - 4;
    if body > r.remaining() {
        return Err(DecodeError::new(
            DecodeErrorKind::LengthOverrun {
                what,
                length,
                available: r.remaining() + 4,
            },
            start + 2,
        ));
    }
    r.sub(body, what)
}

fn decode_transforms<'a>(p: &mut Reader<'a>) -> Result<Vec<Transform<'a>>, DecodeError> {
    let mut transforms = Vec::new();
    while !p.is_empty() {
        let start = p.offset();
        if p.remaining() < TRANSFORM_FIXED {
            return Err(p.error(DecodeErrorKind::Truncated {
                what: "transform",
                needed: TRANSFORM_FIXED,
                available: p.remaining(),
            }));
        }
        let marker = p.u8("transform")?;
        if marker != LAST && marker != MORE_TRANSFORMS {
            return Err(DecodeError::new(
                DecodeErrorKind::BadSubstructureMarker {
                    what: "transform",
                    value: marker,
                    expected: "0 (last) or 3 (more)",
                },
                start,
            ));
        }
        let _reserved = p.u8("transform")?;
        let length = usize::from(p.u16("transform")?);
        let mut t = sub_struct(p, start, length, TRANSFORM_FIXED, "transform")?;
        let number = t.u8("transform")?;
        let id = t.u8("transform")?;
        let _reserved = t.u16("transform")?;
        let attributes = parse_attributes(&mut t)?;
        transforms.push(Transform {
            number,
            id,
            attributes,
        });
        if marker == LAST && !p.is_empty() {
            return Err(p.error(DecodeErrorKind::TrailingBytes {
                what: "the last transform",
                count: p.remaining(),
            }));
        }
        if marker == MORE_TRANSFORMS && p.is_empty() {
            return Err(p.error(DecodeErrorKind::Truncated {
                what: "transform",
                needed: TRANSFORM_FIXED,
                available: 0,
            }));
        }
    }
    Ok(transforms)
}

impl Proposal<'_> {
    /// The registry name of a transform's ID in this proposal's protocol.
    pub fn transform_name(&self, transform: &Transform<'_>) -> Option<&'static str> {
        transform.id_name(self.protocol)
    }

    /// The names of an attribute's type and, for TV attributes whose values form a registry,
    /// of its value, in this proposal's attribute space: Oakley for PROTO_ISAKMP, IPsec DOI
    /// otherwise.
    pub fn attribute_names(
        &self,
        attribute: &Attribute<'_>,
    ) -> (Option<&'static str>, Option<&'static str>) {
        let value = match attribute.value {
            AttrValue::Basic(v) => attribute_value_name(self.protocol, attribute.attr_type, v),
            AttrValue::Variable(_) => None,
        };
        (
            attribute_type_name(self.protocol, attribute.attr_type),
            value,
        )
    }
}

impl<'a> Transform<'a> {
    /// A transform without attributes.
    pub fn new(number: u8, id: u8) -> Self {
        Self {
            number,
            id,
            attributes: Vec::new(),
        }
    }

    /// The registry name of the transform ID, given the protocol of its proposal.
    pub fn id_name(&self, protocol: ProtocolId) -> Option<&'static str> {
        transform_id_name(protocol, self.id)
    }

    /// The first attribute of type `attr_type`, if present.
    pub fn attribute(&self, attr_type: u16) -> Option<&Attribute<'a>> {
        self.attributes.iter().find(|a| a.attr_type == attr_type)
    }
}

/// Identification payload with the IPsec DOI's fields (RFC 2408 §3.8, RFC 2407 §4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identification<'a> {
    /// ID type.
    pub id_type: IdType,
    /// IP protocol (0 to ignore; 17 for UDP in phase 1 on port 500).
    pub protocol: u8,
    /// Port (0 to ignore).
    pub port: u16,
    /// Identification data.
    pub data: &'a [u8],
}

impl<'a> Identification<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let id_type = IdType::from(r.u8("ID payload")?);
        let protocol = r.u8("ID payload")?;
        let port = r.u16("ID payload")?;
        Ok(Self {
            id_type,
            protocol,
            port,
            data: r.rest(),
        })
    }
}

/// Certificate (RFC 2408 §3.9) or Certificate Request (§3.10) payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cert<'a> {
    /// Certificate encoding.
    pub encoding: CertEncoding,
    /// The certificate, or for a request the certificate authority (a DER Distinguished Name).
    pub data: &'a [u8],
}

impl<'a> Cert<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            encoding: CertEncoding::from(r.u8("CERT payload")?),
            data: r.rest(),
        })
    }
}

/// Notification payload (RFC 2408 §3.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notify<'a> {
    /// Domain of interpretation.
    pub doi: u32,
    /// Protocol of the SA it concerns.
    pub protocol: ProtocolId,
    /// Notify message type.
    pub notify_type: NotifyType,
    /// SPI of the SA it concerns (empty, 16 bytes of cookies for ISAKMP, 4 bytes for AH/ESP).
    pub spi: &'a [u8],
    /// Notification data.
    pub data: &'a [u8],
}

impl<'a> Notify<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let doi = r.u32("Notification payload")?;
        let protocol = ProtocolId::from(r.u8("Notification payload")?);
        let spi_size = usize::from(r.u8("Notification payload")?);
        let notify_type = NotifyType::from(r.u16("Notification payload")?);
        let spi = r.take(spi_size, "Notification SPI")?;
        Ok(Self {
            doi,
            protocol,
            notify_type,
            spi,
            data: r.rest(),
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u32(self.doi);
        w.u8(self.protocol.value());
        w.u8(count_u8(self.spi.len(), "SPI bytes")?);
        w.u16(self.notify_type.value());
        w.bytes(self.spi);
        w.bytes(self.data);
        Ok(())
    }
}

/// Delete payload (RFC 2408 §3.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete<'a> {
    /// Domain of interpretation.
    pub doi: u32,
    /// Protocol of the SAs.
    pub protocol: ProtocolId,
    /// SPI size (16 for ISAKMP, the two cookies; 4 for AH/ESP).
    pub spi_size: u8,
    /// The SPIs, each `spi_size` bytes.
    pub spis: Vec<&'a [u8]>,
}

impl<'a> Delete<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let doi = r.u32("Delete payload")?;
        let protocol = ProtocolId::from(r.u8("Delete payload")?);
        let spi_size = r.u8("Delete payload")?;
        let count_at = r.offset();
        let count = usize::from(r.u16("Delete payload")?);
        let size = usize::from(spi_size);
        if size == 0 {
            // Zero-size SPIs cannot be told apart; a count of them would let a few bytes of input
            // allocate 65535 entries.
            if count != 0 || !r.is_empty() {
                return Err(DecodeError::new(
                    DecodeErrorKind::CountMismatch {
                        what: "zero-size SPIs",
                        declared: count,
                        found: 0,
                    },
                    count_at,
                ));
            }
            return Ok(Self {
                doi,
                protocol,
                spi_size,
                spis: Vec::new(),
            });
        }
        if count.checked_mul(size) != Some(r.remaining()) {
            return Err(DecodeError::new(
                DecodeErrorKind::CountMismatch {
                    what: "SPIs",
                    declared: count,
                    found: r.remaining() / size,
                },
                count_at,
            ));
        }
        let spis = r.rest().chunks_exact(size).collect();
        Ok(Self {
            doi,
            protocol,
            spi_size,
            spis,
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.spi_size == 0 && !self.spis.is_empty() {
            return Err(EncodeError::Inconsistent {
                what: "a Delete payload with SPI size 0 cannot list SPIs",
            });
        }
        w.u32(self.doi);
        w.u8(self.protocol.value());
        w.u8(self.spi_size);
        w.u16(count_u16(self.spis.len(), "SPIs")?);
        for spi in &self.spis {
            if spi.len() != usize::from(self.spi_size) {
                return Err(EncodeError::Inconsistent {
                    what: "SPI length differs from the Delete payload's SPI size",
                });
            }
            w.bytes(spi);
        }
        Ok(())
    }
}

/// The Attribute payload of Mode-Config and XAUTH (draft-dukes-ike-mode-cfg §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModeConfig<'a> {
    /// Request, reply, set or acknowledgement.
    pub cfg_type: CfgType,
    /// Identifier that pairs a reply with its request, or an acknowledgement with its set.
    pub identifier: u16,
    /// The attributes, in the ISAKMP data attribute format; their types are
    /// [`super::CfgAttrType`] numbers.
    pub attributes: Vec<Attribute<'a>>,
}

impl<'a> ModeConfig<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let cfg_type = CfgType::from(r.u8("Attribute payload")?);
        let _reserved = r.u8("Attribute payload")?;
        let identifier = r.u16("Attribute payload")?;
        let attributes = parse_attributes(r)?;
        Ok(Self {
            cfg_type,
            identifier,
            attributes,
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(self.cfg_type.value());
        w.u8(0);
        w.u16(self.identifier);
        encode_attributes(&self.attributes, w)
    }
}

/// NAT Original Address payload (RFC 3947 §5.2). Its ID type is ID_IPV4_ADDR or ID_IPV6_ADDR,
/// following the address's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatOa {
    /// Whether it came as the draft payload type 131 rather than 21.
    pub draft: bool,
    /// The original address.
    pub addr: IpAddr,
}

impl NatOa {
    /// The ID type on the wire.
    pub fn id_type(&self) -> IdType {
        match self.addr {
            IpAddr::V4(_) => IdType::Ipv4Addr,
            IpAddr::V6(_) => IdType::Ipv6Addr,
        }
    }

    fn decode(draft: bool, start: usize, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let type_at = r.offset();
        let id_type = IdType::from(r.u8("NAT-OA payload")?);
        r.take(3, "NAT-OA payload")?;
        let rest = r.rest();
        let addr = match (id_type, rest) {
            (IdType::Ipv4Addr, &[a, b, c, d]) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            (IdType::Ipv6Addr, bytes) if bytes.len() == 16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(bytes);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            (IdType::Ipv4Addr | IdType::Ipv6Addr, _) => {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidValue {
                        field: "NAT-OA payload length for its ID type",
                        value: u32::try_from(rest.len() + 8).unwrap_or(u32::MAX),
                    },
                    start + 2,
                ))
            }
            (other, _) => {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidValue {
                        field: "NAT-OA ID type (must be ID_IPV4_ADDR or ID_IPV6_ADDR)",
                        value: u32::from(other.value()),
                    },
                    type_at,
                ))
            }
        };
        Ok(Self { draft, addr })
    }
}

/// An IKE fragment (payload type 132, Cisco's format as strongSwan and Libreswan send it): a
/// piece of a whole ISAKMP message, header included, which the receiver reassembles before
/// parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Identifies the message the fragment belongs to.
    pub id: u16,
    /// Fragment number, from 1.
    pub number: u8,
    /// Flags ([`Fragment::LAST`]).
    pub flags: u8,
    /// The fragment's share of the message.
    pub data: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Flag of the last fragment.
    pub const LAST: u8 = 0x01;

    /// Whether this is the last fragment.
    pub fn is_last(&self) -> bool {
        self.flags & Self::LAST != 0
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let id = r.u16("fragment payload")?;
        let number_at = r.offset();
        let number = r.u8("fragment payload")?;
        if number == 0 {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidValue {
                    field: "fragment number (counts from 1)",
                    value: 0,
                },
                number_at,
            ));
        }
        let flags = r.u8("fragment payload")?;
        Ok(Self {
            id,
            number,
            flags,
            data: r.rest(),
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.number == 0 {
            return Err(EncodeError::Inconsistent {
                what: "fragment numbers count from 1",
            });
        }
        w.u16(self.id);
        w.u8(self.number);
        w.u8(self.flags);
        w.bytes(self.data);
        Ok(())
    }
}
