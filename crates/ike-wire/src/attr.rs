//! ISAKMP data attributes (RFC 2408 §3.3), the Type/Value and Type/Length/Value format that IKEv1
//! transforms, IKEv1 Mode-Config (draft-dukes-ike-mode-cfg §3.2) and IKEv2 transforms (RFC 7296
//! §3.3.5) share.

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// The Attribute Format bit: set for the short (TV) form.
const AF_TV: u16 = 0x8000;

/// One data attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attribute<'a> {
    /// Attribute type (15 bits; the format bit is not part of it).
    pub attr_type: u16,
    /// Its value, in the form it had on the wire.
    pub value: AttrValue<'a>,
}

/// The value of a data attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrValue<'a> {
    /// The TV form: a 16-bit value in place of the length.
    Basic(u16),
    /// The TLV form: a length and that many bytes.
    Variable(&'a [u8]),
}

impl<'a> Attribute<'a> {
    /// A TV attribute.
    pub const fn basic(attr_type: u16, value: u16) -> Self {
        Self {
            attr_type,
            value: AttrValue::Basic(value),
        }
    }

    /// A TLV attribute.
    pub const fn variable(attr_type: u16, value: &'a [u8]) -> Self {
        Self {
            attr_type,
            value: AttrValue::Variable(value),
        }
    }

    /// The value as an integer, whichever form it has (big-endian, at most 8 bytes), as IKEv1
    /// life durations may come in either form (RFC 2409 Appendix A).
    pub fn as_u64(&self) -> Option<u64> {
        match self.value {
            AttrValue::Basic(v) => Some(u64::from(v)),
            AttrValue::Variable(bytes) if bytes.len() <= 8 => {
                Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
            }
            AttrValue::Variable(_) => None,
        }
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        match self.value {
            AttrValue::Basic(_) => 4,
            AttrValue::Variable(v) => 4 + v.len(),
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.attr_type & AF_TV != 0 {
            return Err(EncodeError::Inconsistent {
                what: "attribute type wider than 15 bits",
            });
        }
        match self.value {
            AttrValue::Basic(v) => {
                w.u16(self.attr_type | AF_TV);
                w.u16(v);
            }
            AttrValue::Variable(bytes) => {
                let len = u16::try_from(bytes.len()).map_err(|_| EncodeError::TooLong {
                    what: "attribute value",
                    len: bytes.len(),
                })?;
                w.u16(self.attr_type);
                w.u16(len);
                w.bytes(bytes);
            }
        }
        Ok(())
    }
}

/// Parses attributes until `r` is exhausted; an attribute that runs past the end is an error.
pub(crate) fn parse_attributes<'a>(r: &mut Reader<'a>) -> Result<Vec<Attribute<'a>>, DecodeError> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let start = r.offset();
        let raw = r.u16("data attribute")?;
        let attr_type = raw & !AF_TV;
        let second = r.u16("data attribute")?;
        let value = if raw & AF_TV != 0 {
            AttrValue::Basic(second)
        } else {
            let len = usize::from(second);
            if len > r.remaining() {
                return Err(DecodeError::new(
                    DecodeErrorKind::AttributeOverrun { attr_type },
                    start,
                ));
            }
            AttrValue::Variable(r.take(len, "attribute value")?)
        };
        out.push(Attribute { attr_type, value });
    }
    Ok(out)
}

pub(crate) fn encode_attributes(
    attrs: &[Attribute<'_>],
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    attrs.iter().try_for_each(|a| a.encode(w))
}
