//! ISAKMP / IKEv1 messages (RFC 2408 §3, RFC 2409, RFC 2407 §4.6): the header, the payload chain,
//! and every payload of RFC 2408 §3.4-§3.16 plus NAT-T (RFC 3947), Mode-Config
//! (draft-dukes-ike-mode-cfg) and IKE fragments.
//!
//! [`Message::decode`] parses a whole datagram (without the non-ESP marker). When the header's
//! Encryption bit is set, everything after the header is ciphertext (RFC 2408 §3.1, RFC 2409
//! §5.3): it stays opaque in [`Body::Encrypted`], and once decrypted it is parsed with
//! [`decode_payloads`] and [`Padding::Allowed`], because the plaintext is padded to the cipher's
//! block size (RFC 2409 Appendix B) and nothing inside it says how long the padding is except
//! where the payload chain ends. [`Message::encode`] writes a message whose header length and
//! next-payload fields it computes itself.
//!
//! The parsers check what RFC 2408 §5.1-§5.2 asks a receiver to check of the syntax (lengths,
//! payload chain, nested proposal and transform payloads, counts); which payloads an exchange
//! allows is the engine's business.

mod payload;
mod types;

pub use payload::{
    Cert, Delete, Fragment, Identification, ModeConfig, NatOa, Notify, Payload, Proposal, Sa,
    Transform,
};
pub use types::{
    attribute_type_name, attribute_value_name, transform_id_name, AhTransformId, CertEncoding,
    CfgAttrType, CfgType, EcnTunnel, EncapsulationMode, EspTransformId, ExchangeType, GroupType,
    IdType, IpcompTransformId, IpsecAttrType, IpsecAuthAlg, IsakmpTransformId, LifeType,
    NotifyType, OakleyAttrType, OakleyAuthMethod, OakleyEncr, OakleyHash, PayloadType, ProtocolId,
    DOI_IPSEC, DOI_ISAKMP, SIT_IDENTITY_ONLY, SIT_INTEGRITY, SIT_SECRECY,
};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::{HEADER_LEN, MAX_MESSAGE_LEN};

/// The ISAKMP version byte this codec writes: major version 1, minor version 0.
pub const VERSION: u8 = 0x10;

/// The ISAKMP header flags (RFC 2408 §3.1), kept as the raw byte so that unknown bits survive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// The Encryption bit: everything after the header is encrypted.
    pub const ENCRYPTION: u8 = 0x01;
    /// The Commit bit (RFC 2408 §3.1, RFC 2409 §5.5 CONNECTED).
    pub const COMMIT: u8 = 0x02;
    /// The Authentication Only bit.
    pub const AUTH_ONLY: u8 = 0x04;

    /// Whether the Encryption bit is set.
    pub fn encryption(self) -> bool {
        self.0 & Self::ENCRYPTION != 0
    }

    /// Whether the Commit bit is set.
    pub fn commit(self) -> bool {
        self.0 & Self::COMMIT != 0
    }

    /// Whether the Authentication Only bit is set.
    pub fn auth_only(self) -> bool {
        self.0 & Self::AUTH_ONLY != 0
    }
}

/// The ISAKMP header, less the fields the encoder computes (next payload, length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Initiator cookie.
    pub icookie: [u8; 8],
    /// Responder cookie (zero in the first message of phase 1).
    pub rcookie: [u8; 8],
    /// Major version (high nibble, 1) and minor version (low nibble, 0): [`VERSION`].
    pub version: u8,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags.
    pub flags: Flags,
    /// Message ID (zero in phase 1).
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

/// What follows the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// The payloads in the clear (the Encryption flag is clear).
    Plain(Vec<Payload<'a>>),
    /// Ciphertext (the Encryption flag is set): the encrypted payload chain and its padding.
    Encrypted {
        /// The header's Next Payload field: the type of the first payload inside.
        first_payload: PayloadType,
        /// The ciphertext, every byte after the header.
        ciphertext: &'a [u8],
    },
}

/// A parsed ISAKMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    /// The payloads, or the ciphertext that holds them.
    pub body: Body<'a>,
}

impl<'a> Message<'a> {
    /// Parses a whole ISAKMP datagram (after the non-ESP marker, if it came on port 4500).
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::new(
                DecodeErrorKind::TooLong { len: buf.len() },
                0,
            ));
        }
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::new(
                DecodeErrorKind::Truncated {
                    what: "ISAKMP header",
                    needed: HEADER_LEN,
                    available: buf.len(),
                },
                0,
            ));
        }
        let mut r = Reader::new(buf);
        let icookie = r.array("ISAKMP header")?;
        let rcookie = r.array("ISAKMP header")?;
        let first = r.u8("ISAKMP header")?;
        let version = r.u8("ISAKMP header")?;
        if version >> 4 != 1 {
            return Err(DecodeError::new(
                DecodeErrorKind::UnsupportedMajorVersion {
                    major: version >> 4,
                },
                17,
            ));
        }
        let exchange = ExchangeType::from(r.u8("ISAKMP header")?);
        let flags = Flags(r.u8("ISAKMP header")?);
        let message_id = r.u32("ISAKMP header")?;
        let length = r.u32("ISAKMP header")?;
        if usize::try_from(length).ok() != Some(buf.len()) {
            return Err(DecodeError::new(
                DecodeErrorKind::LengthMismatch {
                    header: length,
                    actual: buf.len(),
                },
                24,
            ));
        }
        let body = if flags.encryption() {
            Body::Encrypted {
                first_payload: PayloadType::from(first),
                ciphertext: r.rest(),
            }
        } else {
            Body::Plain(parse_chain(first, &mut r, Padding::Forbidden)?.payloads)
        };
        Ok(Self {
            header: Header {
                icookie,
                rcookie,
                version,
                exchange,
                flags,
                message_id,
            },
            body,
        })
    }

    /// The header's Next Payload field: the type of the first payload.
    pub fn first_payload_type(&self) -> PayloadType {
        match &self.body {
            Body::Plain(payloads) => first_type(payloads),
            Body::Encrypted { first_payload, .. } => *first_payload,
        }
    }

    /// Appends the encoded message to `out`. The Encryption flag must agree with the body, and
    /// the version must have major version 1, or the message could not be parsed back.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.header.major_version() != 1 {
            return Err(EncodeError::Inconsistent {
                what: "ISAKMP major version must be 1",
            });
        }
        let encrypted = matches!(self.body, Body::Encrypted { .. });
        if self.header.flags.encryption() != encrypted {
            return Err(EncodeError::Inconsistent {
                what: "the Encryption flag must be set exactly when the body is ciphertext",
            });
        }
        let start = out.len();
        let mut w = Writer::new(out);
        w.bytes(&self.header.icookie);
        w.bytes(&self.header.rcookie);
        w.u8(self.first_payload_type().value());
        w.u8(self.header.version);
        w.u8(self.header.exchange.value());
        w.u8(self.header.flags.0);
        w.u32(self.header.message_id);
        let len_at = w.position();
        w.u32(0);
        match &self.body {
            Body::Plain(payloads) => encode_chain(payloads, &mut w)?,
            Body::Encrypted { ciphertext, .. } => w.bytes(ciphertext),
        }
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

/// Whether bytes may follow the last payload of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Every byte must belong to a payload: trailing bytes are an error.
    Forbidden,
    /// Bytes after the last payload are padding (decrypted plaintext, RFC 2409 Appendix B); their
    /// content is not checked, as implementations fill them differently.
    Allowed,
}

/// A payload chain parsed by [`decode_payloads`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadChain<'a> {
    /// The payloads, in order.
    pub payloads: Vec<Payload<'a>>,
    /// How many bytes followed the last payload (always 0 with [`Padding::Forbidden`]).
    pub padding: usize,
}

/// Parses a payload chain that starts with payload type `first`, such as the decrypted body of
/// a message whose header named `first`. `base` is the offset of `buf` within whatever the
/// caller wants error offsets relative to (28, the header length, for a decrypted body).
pub fn decode_payloads(
    first: PayloadType,
    buf: &[u8],
    base: usize,
    padding: Padding,
) -> Result<PayloadChain<'_>, DecodeError> {
    if buf.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLong { len: buf.len() },
            base,
        ));
    }
    let mut r = Reader::with_base(buf, base);
    parse_chain(first.value(), &mut r, padding)
}

/// Encodes a payload chain without a header (the plaintext to encrypt, before padding). Returns
/// the type of its first payload, which goes in the header's Next Payload field.
pub fn encode_payloads(
    payloads: &[Payload<'_>],
    out: &mut Vec<u8>,
) -> Result<PayloadType, EncodeError> {
    let mut w = Writer::new(out);
    encode_chain(payloads, &mut w)?;
    Ok(first_type(payloads))
}

const GENERIC_HEADER_LEN: usize = 4;

fn first_type(payloads: &[Payload<'_>]) -> PayloadType {
    payloads
        .first()
        .map_or(PayloadType::NoNext, Payload::payload_type)
}

fn parse_chain<'a>(
    first: u8,
    r: &mut Reader<'a>,
    padding: Padding,
) -> Result<PayloadChain<'a>, DecodeError> {
    let mut payloads = Vec::new();
    let mut next = first;
    while next != 0 {
        if r.is_empty() {
            return Err(r.error(DecodeErrorKind::ChainOverrun { next }));
        }
        let start = r.offset();
        let this = next;
        next = r.u8("generic payload header")?;
        let _reserved = r.u8("generic payload header")?;
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
        payloads.push(Payload::decode_body(
            PayloadType::from(this),
            start,
            &mut body,
        )?);
    }
    let padding = match padding {
        Padding::Forbidden => {
            r.finish("the last payload")?;
            0
        }
        Padding::Allowed => r.rest().len(),
    };
    Ok(PayloadChain { payloads, padding })
}

fn encode_chain(payloads: &[Payload<'_>], w: &mut Writer<'_>) -> Result<(), EncodeError> {
    let mut iter = payloads.iter().peekable();
    while let Some(payload) = iter.next() {
        let next = iter
            .peek()
            .map_or(PayloadType::NoNext, |p| p.payload_type());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: u8) -> Header {
        Header {
            icookie: [1; 8],
            rcookie: [0; 8],
            version: VERSION,
            exchange: ExchangeType::IdentityProtection,
            flags: Flags(flags),
            message_id: 0,
        }
    }

    #[test]
    fn encryption_flag_must_match_body() {
        let plain = Message {
            header: header(Flags::ENCRYPTION),
            body: Body::Plain(Vec::new()),
        };
        assert!(matches!(
            plain.to_vec(),
            Err(EncodeError::Inconsistent { .. })
        ));
        let encrypted = Message {
            header: header(0),
            body: Body::Encrypted {
                first_payload: PayloadType::Hash,
                ciphertext: &[0; 16],
            },
        };
        assert!(matches!(
            encrypted.to_vec(),
            Err(EncodeError::Inconsistent { .. })
        ));
    }

    #[test]
    fn empty_plain_message_is_a_bare_header() {
        let msg = Message {
            header: header(0),
            body: Body::Plain(Vec::new()),
        };
        let bytes = msg.to_vec().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(bytes[16], 0);
        assert_eq!(Message::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn padding_is_counted_only_when_allowed() {
        let payloads = [Payload::Hash(&[7; 20]), Payload::Nonce(&[9; 16])];
        let mut plain = Vec::new();
        let first = encode_payloads(&payloads, &mut plain).unwrap();
        assert_eq!(first, PayloadType::Hash);
        plain.extend_from_slice(&[0, 0, 0, 3]);
        let chain = decode_payloads(first, &plain, 28, Padding::Allowed).unwrap();
        assert_eq!(chain.payloads, payloads);
        assert_eq!(chain.padding, 4);
        let err = decode_payloads(first, &plain, 28, Padding::Forbidden).unwrap_err();
        assert_eq!(
            err,
            DecodeError::new(
                DecodeErrorKind::TrailingBytes {
                    what: "the last payload",
                    count: 4
                },
                28 + plain.len() - 4
            )
        );
    }

    #[test]
    fn unknown_payload_of_a_parsed_type_is_refused() {
        let payloads = [Payload::Unknown {
            payload_type: PayloadType::Sa.value(),
            body: &[],
        }];
        assert!(encode_payloads(&payloads, &mut Vec::new()).is_err());
        let payloads = [Payload::Unknown {
            payload_type: 200,
            body: &[1, 2],
        }];
        assert!(encode_payloads(&payloads, &mut Vec::new()).is_ok());
    }
}
