//! The IKEv2 payloads of RFC 7296 §3.3-§3.16 and RFC 7383 §2.5.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::types::{
    AuthMethod, CertEncoding, CfgAttrType, CfgType, EncrId, EsnId, IdType, IntegId, NotifyType,
    PayloadType, PrfId, ProtocolId, TransformType, TsType,
};
use crate::attr::{encode_attributes, parse_attributes, Attribute};
use crate::codec::{count_u16, count_u8, Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::group::DhGroup;

/// One IKEv2 payload, its body borrowed from the message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// Security Association (§3.3).
    Sa(Sa<'a>),
    /// Key Exchange (§3.4).
    Ke(KeyExchange<'a>),
    /// Identification - Initiator (§3.5).
    IdI(Identification<'a>),
    /// Identification - Responder (§3.5).
    IdR(Identification<'a>),
    /// Certificate (§3.6).
    Cert(Cert<'a>),
    /// Certificate Request (§3.7).
    CertReq(Cert<'a>),
    /// Authentication (§3.8).
    Auth(Auth<'a>),
    /// Nonce (§3.9).
    Nonce(&'a [u8]),
    /// Notify (§3.10).
    Notify(Notify<'a>),
    /// Delete (§3.11).
    Delete(Delete<'a>),
    /// Vendor ID (§3.12).
    VendorId(&'a [u8]),
    /// Traffic Selector - Initiator (§3.13).
    TsI(Vec<TrafficSelector<'a>>),
    /// Traffic Selector - Responder (§3.13).
    TsR(Vec<TrafficSelector<'a>>),
    /// Encrypted and Authenticated (§3.14).
    Encrypted(Encrypted<'a>),
    /// Configuration (§3.15).
    Config(Config<'a>),
    /// Extensible Authentication (§3.16): the EAP message.
    Eap(&'a [u8]),
    /// Encrypted and Authenticated Fragment (RFC 7383 §2.5).
    EncryptedFragment(EncryptedFragment<'a>),
    /// A payload type this codec does not parse, sent without the critical bit: kept so that the
    /// engine can skip it (§2.5) and so that it round-trips.
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
            Payload::IdI(_) => PayloadType::IdI,
            Payload::IdR(_) => PayloadType::IdR,
            Payload::Cert(_) => PayloadType::Cert,
            Payload::CertReq(_) => PayloadType::CertReq,
            Payload::Auth(_) => PayloadType::Auth,
            Payload::Nonce(_) => PayloadType::Nonce,
            Payload::Notify(_) => PayloadType::Notify,
            Payload::Delete(_) => PayloadType::Delete,
            Payload::VendorId(_) => PayloadType::VendorId,
            Payload::TsI(_) => PayloadType::TsI,
            Payload::TsR(_) => PayloadType::TsR,
            Payload::Encrypted(_) => PayloadType::Sk,
            Payload::Config(_) => PayloadType::Cp,
            Payload::Eap(_) => PayloadType::Eap,
            Payload::EncryptedFragment(_) => PayloadType::Skf,
            Payload::Unknown { payload_type, .. } => PayloadType::from(*payload_type),
        }
    }

    pub(super) fn decode_body(
        kind: PayloadType,
        critical: bool,
        next: u8,
        r: &mut Reader<'a>,
    ) -> Result<Self, DecodeError> {
        let payload = match kind {
            PayloadType::Sa => Payload::Sa(Sa::decode(r)?),
            PayloadType::Ke => Payload::Ke(KeyExchange::decode(r)?),
            PayloadType::IdI => Payload::IdI(Identification::decode(r)?),
            PayloadType::IdR => Payload::IdR(Identification::decode(r)?),
            PayloadType::Cert => Payload::Cert(Cert::decode(r)?),
            PayloadType::CertReq => Payload::CertReq(Cert::decode(r)?),
            PayloadType::Auth => Payload::Auth(Auth::decode(r)?),
            PayloadType::Nonce => Payload::Nonce(r.rest()),
            PayloadType::Notify => Payload::Notify(Notify::decode(r)?),
            PayloadType::Delete => Payload::Delete(Delete::decode(r)?),
            PayloadType::VendorId => Payload::VendorId(r.rest()),
            PayloadType::TsI => Payload::TsI(decode_selectors(r)?),
            PayloadType::TsR => Payload::TsR(decode_selectors(r)?),
            PayloadType::Sk => Payload::Encrypted(Encrypted {
                first_inner: PayloadType::from(next),
                body: r.rest(),
            }),
            PayloadType::Cp => Payload::Config(Config::decode(r)?),
            PayloadType::Eap => Payload::Eap(decode_eap(r)?),
            PayloadType::Skf => Payload::EncryptedFragment(EncryptedFragment::decode(next, r)?),
            other => {
                if critical {
                    return Err(r.error(DecodeErrorKind::UnsupportedCriticalPayload {
                        payload_type: other.value(),
                    }));
                }
                Payload::Unknown {
                    payload_type: other.value(),
                    body: r.rest(),
                }
            }
        };
        r.finish("payload body")?;
        Ok(payload)
    }

    pub(super) fn encode_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self {
            Payload::Sa(sa) => sa.encode(w),
            Payload::Ke(ke) => {
                w.u16(ke.group.value());
                w.u16(0);
                w.bytes(ke.data);
                Ok(())
            }
            Payload::IdI(id) | Payload::IdR(id) => {
                w.u8(id.id_type.value());
                w.zeros(3);
                w.bytes(id.data);
                Ok(())
            }
            Payload::Cert(c) | Payload::CertReq(c) => {
                w.u8(c.encoding.value());
                w.bytes(c.data);
                Ok(())
            }
            Payload::Auth(a) => {
                w.u8(a.method.value());
                w.zeros(3);
                w.bytes(a.data);
                Ok(())
            }
            Payload::Nonce(data)
            | Payload::VendorId(data)
            | Payload::Eap(data)
            | Payload::Unknown { body: data, .. } => {
                w.bytes(data);
                Ok(())
            }
            Payload::Encrypted(e) => {
                w.bytes(e.body);
                Ok(())
            }
            Payload::Notify(n) => n.encode(w),
            Payload::Delete(d) => d.encode(w),
            Payload::TsI(ts) | Payload::TsR(ts) => encode_selectors(ts, w),
            Payload::Config(c) => c.encode(w),
            Payload::EncryptedFragment(f) => {
                w.u16(f.fragment_number);
                w.u16(f.total_fragments);
                w.bytes(f.body);
                Ok(())
            }
        }
    }
}

/// Security Association payload (§3.3): a list of proposals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sa<'a> {
    /// The proposals, in the sender's order of preference.
    pub proposals: Vec<Proposal<'a>>,
}

/// A proposal substructure (§3.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal<'a> {
    /// Proposal number (1 for the first, one more for each next one).
    pub number: u8,
    /// The protocol being negotiated.
    pub protocol: ProtocolId,
    /// The sender's SPI (empty in the first IKE_SA_INIT; 8 bytes for IKE rekeys, 4 for ESP/AH).
    pub spi: &'a [u8],
    /// The transforms.
    pub transforms: Vec<Transform<'a>>,
}

/// A transform substructure (§3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform<'a> {
    /// Transform type.
    pub transform_type: TransformType,
    /// Transform ID, whose registry depends on the type.
    pub id: u16,
    /// Attributes (in practice only the key length).
    pub attributes: Vec<Attribute<'a>>,
}

const LAST: u8 = 0;
const MORE_PROPOSALS: u8 = 2;
const MORE_TRANSFORMS: u8 = 3;
const KEY_LENGTH_ATTR: u16 = 14;

impl<'a> Sa<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut proposals: Vec<Proposal<'a>> = Vec::new();
        loop {
            let start = r.offset();
            let last = r.u8("proposal")?;
            if last != LAST && last != MORE_PROPOSALS {
                return Err(DecodeError::new(
                    DecodeErrorKind::BadSubstructureMarker {
                        what: "proposal",
                        value: last,
                        expected: "0 (last) or 2 (more)",
                    },
                    start,
                ));
            }
            let _reserved = r.u8("proposal")?;
            let length = usize::from(r.u16("proposal")?);
            let mut p = sub_struct(r, start, length, 8, "proposal")?;
            let number = p.u8("proposal")?;
            let protocol = ProtocolId::from(p.u8("proposal")?);
            let spi_size = usize::from(p.u8("proposal")?);
            let declared = usize::from(p.u8("proposal")?);
            let spi = p.take(spi_size, "proposal SPI")?;
            if let Some(prev) = proposals.last() {
                if prev.number.checked_add(1) != Some(number) {
                    return Err(DecodeError::new(
                        DecodeErrorKind::ProposalNumbering {
                            previous: prev.number,
                            found: number,
                        },
                        start + 4,
                    ));
                }
            } else if last == MORE_PROPOSALS && number != 1 {
                return Err(DecodeError::new(
                    DecodeErrorKind::ProposalNumbering {
                        previous: 0,
                        found: number,
                    },
                    start + 4,
                ));
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
            if last == LAST {
                break;
            }
            if r.is_empty() {
                return Err(r.error(DecodeErrorKind::Truncated {
                    what: "proposal announced by the previous one",
                    needed: 8,
                    available: 0,
                }));
            }
        }
        Ok(Self { proposals })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
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
                w.u8(t.transform_type.value());
                w.u8(0);
                w.u16(t.id);
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

/// Takes a substructure of `length` bytes that began at `start` (its first `consumed` bytes, the
/// 4-byte header, already read) and checks that the length fits.
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
        let last = p.u8("transform")?;
        if last != LAST && last != MORE_TRANSFORMS {
            return Err(DecodeError::new(
                DecodeErrorKind::BadSubstructureMarker {
                    what: "transform",
                    value: last,
                    expected: "0 (last) or 3 (more)",
                },
                start,
            ));
        }
        let _reserved = p.u8("transform")?;
        let length = usize::from(p.u16("transform")?);
        let mut t = sub_struct(p, start, length, 8, "transform")?;
        let transform_type = TransformType::from(t.u8("transform")?);
        let _reserved = t.u8("transform")?;
        let id = t.u16("transform")?;
        let attributes = parse_attributes(&mut t)?;
        transforms.push(Transform {
            transform_type,
            id,
            attributes,
        });
        if last == LAST && !p.is_empty() {
            return Err(p.error(DecodeErrorKind::TrailingBytes {
                what: "the last transform",
                count: p.remaining(),
            }));
        }
        if last == MORE_TRANSFORMS && p.is_empty() {
            return Err(p.error(DecodeErrorKind::Truncated {
                what: "transform announced by the previous one",
                needed: 8,
                available: 0,
            }));
        }
    }
    Ok(transforms)
}

impl<'a> Transform<'a> {
    /// A transform without attributes.
    pub fn new(transform_type: TransformType, id: u16) -> Self {
        Self {
            transform_type,
            id,
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute (bits).
    pub fn with_key_length(transform_type: TransformType, id: u16, bits: u16) -> Self {
        Self {
            transform_type,
            id,
            attributes: vec![Attribute::basic(KEY_LENGTH_ATTR, bits)],
        }
    }

    /// The Key Length attribute, if present.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a.value {
            crate::attr::AttrValue::Basic(v) if a.attr_type == KEY_LENGTH_ATTR => Some(v),
            _ => None,
        })
    }

    /// The registry name of the transform ID, given its type.
    pub fn id_name(&self) -> Option<&'static str> {
        match self.transform_type {
            TransformType::Encr => EncrId::from(self.id).name(),
            TransformType::Prf => PrfId::from(self.id).name(),
            TransformType::Integ => IntegId::from(self.id).name(),
            TransformType::Ke
            | TransformType::AddKe1
            | TransformType::AddKe2
            | TransformType::AddKe3
            | TransformType::AddKe4
            | TransformType::AddKe5
            | TransformType::AddKe6
            | TransformType::AddKe7 => DhGroup::from(self.id).name(),
            TransformType::Esn => EsnId::from(self.id).name(),
            TransformType::Unknown(_) => None,
        }
    }
}

/// Key Exchange payload (§3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyExchange<'a> {
    /// The key exchange method (Diffie-Hellman group) of the data.
    pub group: DhGroup,
    /// The public value.
    pub data: &'a [u8],
}

impl<'a> KeyExchange<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let group = DhGroup::from(r.u16("KE payload")?);
        let _reserved = r.u16("KE payload")?;
        Ok(Self {
            group,
            data: r.rest(),
        })
    }
}

/// Identification payload (§3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identification<'a> {
    /// ID type.
    pub id_type: IdType,
    /// Identification data.
    pub data: &'a [u8],
}

impl<'a> Identification<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let id_type = IdType::from(r.u8("ID payload")?);
        r.take(3, "ID payload")?;
        Ok(Self {
            id_type,
            data: r.rest(),
        })
    }
}

/// Certificate (§3.6) or Certificate Request (§3.7) payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cert<'a> {
    /// Certificate encoding.
    pub encoding: CertEncoding,
    /// Certificate data, or for CERTREQ the certification authority (SHA-1 key hashes).
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

/// Authentication payload (§3.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<'a> {
    /// Authentication method.
    pub method: AuthMethod,
    /// Authentication data.
    pub data: &'a [u8],
}

impl<'a> Auth<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let method = AuthMethod::from(r.u8("AUTH payload")?);
        r.take(3, "AUTH payload")?;
        Ok(Self {
            method,
            data: r.rest(),
        })
    }
}

/// Notify payload (§3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notify<'a> {
    /// Protocol of the SA it concerns, or none.
    pub protocol: ProtocolId,
    /// SPI of the SA it concerns (may be empty).
    pub spi: &'a [u8],
    /// Notify message type.
    pub notify_type: NotifyType,
    /// Notification data.
    pub data: &'a [u8],
}

impl<'a> Notify<'a> {
    /// A notify about no particular SA.
    pub fn new(notify_type: NotifyType, data: &'a [u8]) -> Self {
        Self {
            protocol: ProtocolId::None,
            spi: &[],
            notify_type,
            data,
        }
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let protocol = ProtocolId::from(r.u8("Notify payload")?);
        let spi_size = usize::from(r.u8("Notify payload")?);
        let notify_type = NotifyType::from(r.u16("Notify payload")?);
        let spi = r.take(spi_size, "Notify SPI")?;
        Ok(Self {
            protocol,
            spi,
            notify_type,
            data: r.rest(),
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(self.protocol.value());
        w.u8(count_u8(self.spi.len(), "SPI bytes")?);
        w.u16(self.notify_type.value());
        w.bytes(self.spi);
        w.bytes(self.data);
        Ok(())
    }
}

/// Delete payload (§3.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete<'a> {
    /// Protocol of the SAs (IKE, AH or ESP).
    pub protocol: ProtocolId,
    /// SPI size (0 for IKE, 4 for AH/ESP).
    pub spi_size: u8,
    /// The SPIs, each `spi_size` bytes.
    pub spis: Vec<&'a [u8]>,
}

impl<'a> Delete<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let protocol = ProtocolId::from(r.u8("Delete payload")?);
        let spi_size = r.u8("Delete payload")?;
        let count_at = r.offset();
        let count = usize::from(r.u16("Delete payload")?);
        let size = usize::from(spi_size);
        if size == 0 {
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
            protocol,
            spi_size,
            spis,
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
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

/// One traffic selector (§3.13.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficSelector<'a> {
    /// An address range (TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE, by the addresses' family).
    Range {
        /// IP protocol (0 for any).
        ip_protocol: u8,
        /// Start port.
        start_port: u16,
        /// End port.
        end_port: u16,
        /// Start address.
        start: IpAddr,
        /// End address (same family as `start`).
        end: IpAddr,
    },
    /// Another selector type (Fibre Channel, security label), kept as bytes after its 4-byte
    /// header.
    Other {
        /// Its type.
        ts_type: TsType,
        /// The bytes after type, reserved/protocol and length.
        data: &'a [u8],
    },
}

impl TrafficSelector<'_> {
    /// The selector's type.
    pub fn ts_type(&self) -> TsType {
        match self {
            TrafficSelector::Range {
                start: IpAddr::V4(_),
                ..
            } => TsType::Ipv4AddrRange,
            TrafficSelector::Range { .. } => TsType::Ipv6AddrRange,
            TrafficSelector::Other { ts_type, .. } => *ts_type,
        }
    }
}

fn decode_selectors<'a>(r: &mut Reader<'a>) -> Result<Vec<TrafficSelector<'a>>, DecodeError> {
    let count_at = r.offset();
    let declared = usize::from(r.u8("TS payload")?);
    r.take(3, "TS payload")?;
    let mut selectors = Vec::new();
    while !r.is_empty() {
        let start = r.offset();
        let ts_type = TsType::from(r.u8("traffic selector")?);
        let ip_protocol = r.u8("traffic selector")?;
        let length = usize::from(r.u16("traffic selector")?);
        let mut s = sub_struct(r, start, length, 4, "traffic selector")?;
        let selector = match ts_type {
            TsType::Ipv4AddrRange | TsType::Ipv6AddrRange => {
                let expected = if ts_type == TsType::Ipv4AddrRange {
                    16
                } else {
                    40
                };
                if length != expected {
                    return Err(DecodeError::new(
                        DecodeErrorKind::InvalidValue {
                            field: "traffic selector length for its type",
                            value: u32::try_from(length).unwrap_or(u32::MAX),
                        },
                        start + 2,
                    ));
                }
                let start_port = s.u16("traffic selector")?;
                let end_port = s.u16("traffic selector")?;
                let (start_addr, end_addr) = if ts_type == TsType::Ipv4AddrRange {
                    (
                        IpAddr::V4(Ipv4Addr::from(s.array::<4>("traffic selector")?)),
                        IpAddr::V4(Ipv4Addr::from(s.array::<4>("traffic selector")?)),
                    )
                } else {
                    (
                        IpAddr::V6(Ipv6Addr::from(s.array::<16>("traffic selector")?)),
                        IpAddr::V6(Ipv6Addr::from(s.array::<16>("traffic selector")?)),
                    )
                };
                TrafficSelector::Range {
                    ip_protocol,
                    start_port,
                    end_port,
                    start: start_addr,
                    end: end_addr,
                }
            }
            other => TrafficSelector::Other {
                ts_type: other,
                data: s.rest(),
            },
        };
        selectors.push(selector);
    }
    if selectors.len() != declared {
        return Err(DecodeError::new(
            DecodeErrorKind::CountMismatch {
                what: "traffic selectors",
                declared,
                found: selectors.len(),
            },
            count_at,
        ));
    }
    Ok(selectors)
}

fn encode_selectors(
    selectors: &[TrafficSelector<'_>],
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    w.u8(count_u8(selectors.len(), "traffic selectors")?);
    w.zeros(3);
    for ts in selectors {
        let start = w.position();
        w.u8(ts.ts_type().value());
        match ts {
            TrafficSelector::Range {
                ip_protocol,
                start_port,
                end_port,
                start: first,
                end: last,
            } => {
                w.u8(*ip_protocol);
                w.u16(0);
                w.u16(*start_port);
                w.u16(*end_port);
                match (first, last) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => {
                        w.bytes(&a.octets());
                        w.bytes(&b.octets());
                    }
                    (IpAddr::V6(a), IpAddr::V6(b)) => {
                        w.bytes(&a.octets());
                        w.bytes(&b.octets());
                    }
                    _ => {
                        return Err(EncodeError::Inconsistent {
                            what: "traffic selector addresses of different families",
                        })
                    }
                }
            }
            TrafficSelector::Other { data, .. } => {
                w.u8(0);
                w.u16(0);
                w.bytes(data);
            }
        }
        let len = w.position() - start;
        w.patch_u16(start + 2, len, "traffic selector")?;
    }
    Ok(())
}

/// The three parts of an SK or SKF payload's body (RFC 7296 §3.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkParts<'a> {
    /// Initialization vector.
    pub iv: &'a [u8],
    /// Encrypted payloads, padding and pad length.
    pub ciphertext: &'a [u8],
    /// Integrity checksum (or AEAD tag).
    pub icv: &'a [u8],
}

/// Encrypted and Authenticated payload (§3.14), opaque until decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encrypted<'a> {
    /// Type of the first payload inside (the SK payload's Next Payload field).
    pub first_inner: PayloadType,
    /// Initialization vector, ciphertext (with padding and pad length) and integrity checksum.
    pub body: &'a [u8],
}

impl<'a> Encrypted<'a> {
    /// Splits the body into IV, ciphertext and ICV, given the negotiated cipher's IV size and the
    /// integrity (or AEAD tag) size. `body_offset` is the body's offset in the message, for the
    /// error.
    pub fn split(
        &self,
        iv_len: usize,
        icv_len: usize,
        body_offset: usize,
    ) -> Result<SkParts<'a>, DecodeError> {
        split_encrypted(self.body, iv_len, icv_len, body_offset)
    }
}

fn split_encrypted(
    body: &[u8],
    iv_len: usize,
    icv_len: usize,
    body_offset: usize,
) -> Result<SkParts<'_>, DecodeError> {
    let needed = iv_len.saturating_add(icv_len);
    if body.len() < needed {
        return Err(DecodeError::new(
            DecodeErrorKind::Truncated {
                what: "encrypted payload",
                needed,
                available: body.len(),
            },
            body_offset,
        ));
    }
    let (iv, rest) = body.split_at(iv_len);
    let (ct, icv) = rest.split_at(rest.len() - icv_len);
    Ok(SkParts {
        iv,
        ciphertext: ct,
        icv,
    })
}

/// Encrypted and Authenticated Fragment payload (RFC 7383 §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncryptedFragment<'a> {
    /// Fragment number, from 1.
    pub fragment_number: u16,
    /// Total number of fragments.
    pub total_fragments: u16,
    /// Type of the first inner payload in fragment 1; zero in the others.
    pub first_inner: PayloadType,
    /// IV, ciphertext and ICV.
    pub body: &'a [u8],
}

impl<'a> EncryptedFragment<'a> {
    fn decode(next: u8, r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let fragment_number = r.u16("SKF payload")?;
        let total_fragments = r.u16("SKF payload")?;
        if fragment_number == 0 || total_fragments == 0 || fragment_number > total_fragments {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidValue {
                    field: "fragment number (must be 1..=total)",
                    value: u32::from(fragment_number),
                },
                at,
            ));
        }
        Ok(Self {
            fragment_number,
            total_fragments,
            first_inner: PayloadType::from(next),
            body: r.rest(),
        })
    }

    /// Splits the body into IV, ciphertext and ICV, as [`Encrypted::split`].
    pub fn split(
        &self,
        iv_len: usize,
        icv_len: usize,
        body_offset: usize,
    ) -> Result<SkParts<'a>, DecodeError> {
        split_encrypted(self.body, iv_len, icv_len, body_offset)
    }
}

/// Configuration payload (§3.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config<'a> {
    /// CFG_REQUEST, CFG_REPLY, CFG_SET or CFG_ACK.
    pub cfg_type: CfgType,
    /// The attributes.
    pub attributes: Vec<ConfigAttribute<'a>>,
}

/// A configuration attribute (§3.15.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigAttribute<'a> {
    /// Attribute type (15 bits).
    pub attr_type: CfgAttrType,
    /// Value (empty in requests).
    pub value: &'a [u8],
}

impl<'a> Config<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let cfg_type = CfgType::from(r.u8("CP payload")?);
        r.take(3, "CP payload")?;
        let mut attributes = Vec::new();
        while !r.is_empty() {
            let start = r.offset();
            let attr_type = r.u16("configuration attribute")? & 0x7fff;
            let len = usize::from(r.u16("configuration attribute")?);
            if len > r.remaining() {
                return Err(DecodeError::new(
                    DecodeErrorKind::AttributeOverrun { attr_type },
                    start,
                ));
            }
            attributes.push(ConfigAttribute {
                attr_type: CfgAttrType::from(attr_type),
                value: r.take(len, "configuration attribute")?,
            });
        }
        Ok(Self {
            cfg_type,
            attributes,
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(self.cfg_type.value());
        w.zeros(3);
        for a in &self.attributes {
            let t = a.attr_type.value();
            if t & 0x8000 != 0 {
                return Err(EncodeError::Inconsistent {
                    what: "configuration attribute type wider than 15 bits",
                });
            }
            w.u16(t);
            w.u16(
                u16::try_from(a.value.len()).map_err(|_| EncodeError::TooLong {
                    what: "configuration attribute",
                    len: a.value.len(),
                })?,
            );
            w.bytes(a.value);
        }
        Ok(())
    }
}

/// Checks that an EAP payload holds one EAP packet whose own length field (RFC 3748 §4) matches.
fn decode_eap<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    let at = r.offset();
    let body = r.rest();
    let declared = match body {
        [_, _, hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => {
            return Err(DecodeError::new(
                DecodeErrorKind::Truncated {
                    what: "EAP message",
                    needed: 4,
                    available: body.len(),
                },
                at,
            ))
        }
    };
    if declared != body.len() {
        return Err(DecodeError::new(
            DecodeErrorKind::LengthMismatch {
                header: u32::try_from(declared).unwrap_or(u32::MAX),
                actual: body.len(),
            },
            at + 2,
        ));
    }
    Ok(body)
}
