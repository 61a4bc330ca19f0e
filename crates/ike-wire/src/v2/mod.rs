//! IKEv2 messages (RFC 7296 §3): the header, the payload chain, and every payload of §3.3-§3.16
//! plus the Encrypted Fragment payload of RFC 7383 §2.5.
//!
//! [`Message::decode`] parses a whole datagram (without the non-ESP marker); the Encrypted (SK)
//! and Encrypted Fragment (SKF) payloads stay opaque, and once decrypted their contents are parsed
//! with [`decode_payloads`]. [`Message::encode`] writes a message whose header length and
//! next-payload fields it computes itself.

mod payload;
mod types;

pub use payload::{
    Auth, Cert, Config, ConfigAttribute, Delete, Encrypted, EncryptedFragment, Identification,
    KeyExchange, Notify, Payload, Proposal, Sa, SkParts, TrafficSelector, Transform,
};
pub use types::{
    AuthMethod, CertEncoding, CfgAttrType, CfgType, EncrId, EsnId, ExchangeType, IdType, IntegId,
    NotifyType, PayloadType, PrfId, ProtocolId, TransformAttrType, TransformType, TsType,
};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::MAX_MESSAGE_LEN;

/// The IKEv2 header flags (RFC 7296 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// The Initiator bit: set in messages sent by the original initiator of the IKE SA.
    pub const INITIATOR: u8 = 0x08;
    /// The Version bit: the sender could speak a higher major version.
    pub const VERSION: u8 = 0x10;
    /// The Response bit.
    pub const RESPONSE: u8 = 0x20;

    /// Whether the Initiator bit is set.
    pub fn initiator(self) -> bool {
        self.0 & Self::INITIATOR != 0
    }

    /// Whether the Response bit is set.
    pub fn response(self) -> bool {
        self.0 & Self::RESPONSE != 0
    }

    /// Whether the Version bit is set.
    pub fn version(self) -> bool {
        self.0 & Self::VERSION != 0
    }
}

/// The IKEv2 header, less the fields the encoder computes (next payload, length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// IKE SA Initiator's SPI.
    pub spi_i: [u8; 8],
    /// IKE SA Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: [u8; 8],
    /// Major version (high nibble, 2) and minor version (low nibble, 0).
    pub version: u8,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
}

impl Header {
    /// The major version nibble.
    pub fn major_version(&self) -> u8 {
        self.version >> 4
    }

    /// The minor version nibble.
    pub fn minor_version(&self) -> u8 {
        self.version & 0x0f
    }
}

/// A parsed IKEv2 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    /// The payloads, in order. An [`Payload::Encrypted`] or [`Payload::EncryptedFragment`], if
    /// present, is last.
    pub payloads: Vec<Payload<'a>>,
}

impl<'a> Message<'a> {
    /// Parses a whole IKEv2 datagram (after the non-ESP marker, if it came on port 4500).
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::new(
                DecodeErrorKind::TooLong { len: buf.len() },
                0,
            ));
        }
        let mut r = Reader::new(buf);
        let spi_i = r.array("IKE header")?;
        let spi_r = r.array("IKE header")?;
        let first = r.u8("IKE header")?;
        let version = r.u8("IKE header")?;
        if version >> 4 != 2 {
            return Err(DecodeError::new(
                DecodeErrorKind::UnsupportedMajorVersion {
                    major: version >> 4,
                },
                17,
            ));
        }
        let exchange = ExchangeType::from(r.u8("IKE header")?);
        let flags = Flags(r.u8("IKE header")?);
        let message_id = r.u32("IKE header")?;
        let length = r.u32("IKE header")?;
        if usize::try_from(length).ok() != Some(buf.len()) {
            return Err(DecodeError::new(
                DecodeErrorKind::LengthMismatch {
                    header: length,
                    actual: buf.len(),
                },
                24,
            ));
        }
        let payloads = parse_chain(first, &mut r)?;
        Ok(Self {
            header: Header {
                spi_i,
                spi_r,
                version,
                exchange,
                flags,
                message_id,
            },
            payloads,
        })
    }

    /// The Next Payload field of the header: the type of the first payload.
    pub fn first_payload_type(&self) -> PayloadType {
        self.payloads
            .first()
            .map_or(PayloadType::NoNext, Payload::payload_type)
    }

    /// Appends the encoded message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let mut w = Writer::new(out);
        w.bytes(&self.header.spi_i);
        w.bytes(&self.header.spi_r);
        w.u8(self.first_payload_type().value());
        w.u8(self.header.version);
        w.u8(self.header.exchange.value());
        w.u8(self.header.flags.0);
        w.u32(self.header.message_id);
        let len_at = w.position();
        w.u32(0);
        encode_chain(&self.payloads, &mut w)?;
        let len = w.position() - start;
        if len > MAX_MESSAGE_LEN {
            return Err(EncodeError::TooLong {
                what: "message",
                len,
            });
        }
        w.patch_u32(len_at, len, "message")
    }

    /// The encoded message as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// Parses a payload chain that starts with payload type `first`, such as the plaintext of an SK
/// payload. `base` is the offset of `buf` within whatever the caller wants error offsets relative
/// to. Every byte must belong to a payload.
pub fn decode_payloads(
    first: PayloadType,
    buf: &[u8],
    base: usize,
) -> Result<Vec<Payload<'_>>, DecodeError> {
    if buf.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLong { len: buf.len() },
            base,
        ));
    }
    let mut r = Reader::with_base(buf, base);
    parse_chain(first.value(), &mut r)
}

/// Encodes a payload chain without a header (the plaintext of an SK payload, say). Returns the
/// type of its first payload, which goes in the SK payload's Next Payload field.
pub fn encode_payloads(
    payloads: &[Payload<'_>],
    out: &mut Vec<u8>,
) -> Result<PayloadType, EncodeError> {
    let mut w = Writer::new(out);
    encode_chain(payloads, &mut w)?;
    Ok(payloads
        .first()
        .map_or(PayloadType::NoNext, Payload::payload_type))
}

const GENERIC_HEADER_LEN: usize = 4;
const CRITICAL: u8 = 0x80;

fn parse_chain<'a>(first: u8, r: &mut Reader<'a>) -> Result<Vec<Payload<'a>>, DecodeError> {
    let mut payloads = Vec::new();
    let mut next = first;
    while next != 0 {
        if r.is_empty() {
            return Err(r.error(DecodeErrorKind::ChainOverrun { next }));
        }
        let start = r.offset();
        let this = next;
        next = r.u8("generic payload header")?;
        let critical = r.u8("generic payload header")? & CRITICAL != 0;
        let length = usize::from(r.u16("generic payload header")?);
        if length < GENERIC_HEADER_LEN {
            return Err(DecodeError::new(
                DecodeErrorKind::LengthTooShort {
                    what: "payload",
                    length,
                    minimum: GENERIC_HEADER_LEN,
                },
                start + 2,
            ));
        }
        let body_len = length - GENERIC_HEADER_LEN;
        if body_len > r.remaining() {
            return Err(DecodeError::new(
                DecodeErrorKind::LengthOverrun {
                    what: "payload",
                    length,
                    available: r.remaining() + GENERIC_HEADER_LEN,
                },
                start + 2,
            ));
        }
        let mut body = r.sub(body_len, "payload body")?;
        let payload = Payload::decode_body(PayloadType::from(this), critical, next, &mut body)?;
        let is_encrypted = matches!(
            payload,
            Payload::Encrypted(_) | Payload::EncryptedFragment(_)
        );
        payloads.push(payload);
        if is_encrypted {
            // RFC 7296 §3.14 and RFC 7383 §2.5: the SK or SKF payload is the last one; its Next
            // Payload field names the first payload inside it, not a following one.
            if !r.is_empty() {
                return Err(r.error(DecodeErrorKind::MisplacedPayload {
                    payload_type: this,
                    rule: "an encrypted payload must be the last payload",
                }));
            }
            return Ok(payloads);
        }
    }
    r.finish("the last payload")?;
    Ok(payloads)
}

fn encode_chain(payloads: &[Payload<'_>], w: &mut Writer<'_>) -> Result<(), EncodeError> {
    let mut iter = payloads.iter().peekable();
    while let Some(payload) = iter.next() {
        let next = match payload {
            Payload::Encrypted(e) => {
                if iter.peek().is_some() {
                    return Err(EncodeError::Inconsistent {
                        what: "an SK payload must be last",
                    });
                }
                e.first_inner
            }
            Payload::EncryptedFragment(f) => {
                if iter.peek().is_some() {
                    return Err(EncodeError::Inconsistent {
                        what: "an SKF payload must be last",
                    });
                }
                f.first_inner
            }
            _ => iter
                .peek()
                .map_or(PayloadType::NoNext, |p| p.payload_type()),
        };
        let start = w.position();
        w.u8(next.value());
        w.u8(0);
        w.u16(0);
        payload.encode_body(w)?;
        let len = w.position() - start;
        w.patch_u16(start + 2, len, "payload")?;
    }
    Ok(())
}
