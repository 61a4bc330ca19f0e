//! A minimal DER reader (ITU-T X.690 §8, §10): just enough to find the exact encodings of the
//! certificate fields that IKE carries or compares (issuer, subject, SubjectPublicKeyInfo) and to
//! read the extensions that chain validation and identity matching need.
//!
//! It accepts only definite, minimally encoded lengths and single-byte tags; anything else is a
//! parse error. Every TLV remembers its absolute position in the outermost input, so callers can
//! slice the original bytes instead of re-encoding them.

use crate::CryptoError;

/// Universal tags and the context-specific tags used in certificates.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[0]` constructed: the explicit version tag of a TBSCertificate.
    pub const CTX0_CONSTRUCTED: u8 = 0xa0;
    /// `[1]` primitive: issuerUniqueID.
    pub const CTX1_PRIMITIVE: u8 = 0x81;
    /// `[2]` primitive: subjectUniqueID.
    pub const CTX2_PRIMITIVE: u8 = 0x82;
    /// `[3]` constructed: the explicit extensions tag.
    pub const CTX3_CONSTRUCTED: u8 = 0xa3;
}

/// One tag-length-value element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// Absolute offset of the identifier octet in the outermost input.
    pub start: usize,
    /// Absolute offset just past the last contents octet.
    pub end: usize,
    /// Absolute offset of the first contents octet.
    value_start: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the contents (for constructed types).
    pub fn contents(&self) -> Reader<'a> {
        Reader {
            input: self.value,
            pos: 0,
            base: self.value_start,
        }
    }
}

/// Reads consecutive TLVs from a byte string.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `input`, whose first byte is at absolute offset 0.
    pub fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            base: 0,
        }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, CryptoError> {
        let b = *self.input.get(self.pos).ok_or(CryptoError::Parse(what))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads the next element, whatever its tag.
    pub fn read(&mut self, what: &'static str) -> Result<Tlv<'a>, CryptoError> {
        let start = self.pos;
        let tag = self.byte(what)?;
        if tag & 0x1f == 0x1f {
            // High-tag-number form: never used by the structures we read.
            return Err(CryptoError::Parse(what));
        }
        let first = self.byte(what)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            // 0x80 is the indefinite form (BER only); more than 4 length octets is absurd here.
            if n == 0 || n > 4 {
                return Err(CryptoError::Parse(what));
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(self.byte(what)?);
            }
            // DER: the long form only for lengths >= 128, with no leading zero octet.
            if len < 0x80 || len >> (8 * (n - 1)) == 0 {
                return Err(CryptoError::Parse(what));
            }
            len
        };
        let value_start = self.pos;
        let end = value_start
            .checked_add(len)
            .ok_or(CryptoError::Parse(what))?;
        let value = self
            .input
            .get(value_start..end)
            .ok_or(CryptoError::Parse(what))?;
        self.pos = end;
        Ok(Tlv {
            tag,
            value,
            start: self.base + start,
            end: self.base + end,
            value_start: self.base + value_start,
        })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, CryptoError> {
        let tlv = self.read(what)?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(CryptoError::Parse(what))
        }
    }

    /// Reads the next element if it has `tag`.
    pub fn optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<Tlv<'a>>, CryptoError> {
        if self.peek_tag() == Some(tag) {
            self.read(what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails if anything is left.
    pub fn finish(&self, what: &'static str) -> Result<(), CryptoError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CryptoError::Parse(what))
        }
    }
}

/// Parses a DER BOOLEAN's contents (X.690 §11.1: FALSE is 0x00, TRUE is 0xff).
pub(crate) fn boolean(tlv: &Tlv<'_>, what: &'static str) -> Result<bool, CryptoError> {
    match (tlv.tag, tlv.value) {
        (tag::BOOLEAN, [0x00]) => Ok(false),
        (tag::BOOLEAN, [0xff]) => Ok(true),
        _ => Err(CryptoError::Parse(what)),
    }
}

/// Parses a small non-negative DER INTEGER.
pub(crate) fn small_uint(tlv: &Tlv<'_>, what: &'static str) -> Result<u32, CryptoError> {
    if tlv.tag != tag::INTEGER || tlv.value.is_empty() {
        return Err(CryptoError::Parse(what));
    }
    let v = tlv.value;
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(CryptoError::Parse(what)); // negative
    }
    let digits = match v {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => v,
    };
    if digits.len() > 4 {
        return Err(CryptoError::Parse(what));
    }
    Ok(digits
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

/// Dotted-decimal text of an OBJECT IDENTIFIER's contents, or `None` if malformed.
pub(crate) fn oid_text(value: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut in_arc = false;
    for b in value {
        if !in_arc && *b == 0x80 {
            return None; // non-minimal arc
        }
        acc = acc.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
        in_arc = true;
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
            in_arc = false;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    let first = *arcs.first()?;
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut text = format!("{a}.{b}");
    for arc in arcs.iter().skip(1) {
        text.push('.');
        text.push_str(&arc.to_string());
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        let mut r = Reader::new(&long);
        let t = r.expect(tag::OCTET_STRING, "t").unwrap();
        assert_eq!((t.start, t.end, t.value.len()), (0, 131, 128));
        assert!(r.is_empty());
        let mut r = Reader::new(&[0x30, 0x03, 0x02, 0x01, 0x05]);
        let seq = r.expect(tag::SEQUENCE, "t").unwrap();
        let mut inner = seq.contents();
        let i = inner.expect(tag::INTEGER, "t").unwrap();
        assert_eq!((i.start, i.end), (2, 5));
        assert_eq!(small_uint(&i, "t").unwrap(), 5);
    }

    #[test]
    fn rejects_non_der_lengths_and_truncation() {
        for bad in [
            &[0x04, 0x81, 0x05, 1, 2, 3, 4, 5][..], // long form for a short length
            &[0x04, 0x82, 0x00, 0x80],              // leading zero length octet
            &[0x04, 0x80, 0x00, 0x00],              // indefinite
            &[0x04, 0x05, 1, 2],                    // truncated
            &[0x1f, 0x01, 0x00],                    // high tag number
            &[0x04],                                // no length
        ] {
            assert!(Reader::new(bad).read("t").is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn oids_and_booleans() {
        assert_eq!(oid_text(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).unwrap(),
            "1.2.840.113549.1.9.1"
        );
        assert!(oid_text(&[0x55, 0x84]).is_none());
        assert!(oid_text(&[0x80, 0x01]).is_none());
        let t = Reader::new(&[0x01, 0x01, 0xff]).read("t").unwrap();
        assert!(boolean(&t, "t").unwrap());
        let t = Reader::new(&[0x01, 0x01, 0x01]).read("t").unwrap();
        assert!(boolean(&t, "t").is_err());
    }
}
