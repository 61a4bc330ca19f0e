//! The little DER (ITU-T X.690 §10) that signatures need: reading and writing single
//! tag-length-value items with definite, minimally encoded lengths, and the conversion between
//! a DER `SEQUENCE { r INTEGER, s INTEGER }` (ECDSA-Sig-Value of RFC 3279 §2.2.3, Dss-Sig-Value of
//! §2.2.2) and the fixed-size r‖s form.
//!
//! Not a general ASN.1 library: only what RFC 7427 AlgorithmIdentifiers and (r, s) pairs use.

/// Universal tags used here.
pub(super) const SEQUENCE: u8 = 0x30;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const OID: u8 = 0x06;
pub(super) const NULL: u8 = 0x05;

/// A cursor over DER bytes.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Whether every byte has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The tag of the next item, without consuming it.
    pub(super) fn peek_tag(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// Reads one item: its tag and its contents. Refuses high tag numbers, indefinite and
    /// non-minimal lengths, and lengths past the end.
    pub(super) fn read_any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.buf.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 2 {
                // Indefinite (0x80) or longer than anything here needs.
                return None;
            }
            let (bytes, tail) = rest.split_at_checked(n)?;
            rest = tail;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            // Minimal: no leading zero byte, and the long form only from 128 on.
            if bytes.first() == Some(&0) || len < 0x80 {
                return None;
            }
            len
        };
        let (contents, tail) = rest.split_at_checked(len)?;
        self.buf = tail;
        Some((tag, contents))
    }

    /// Reads one item that must have tag `tag`.
    pub(super) fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.read_any()? {
            (t, contents) if t == tag => Some(contents),
            _ => None,
        }
    }
}

/// If `der` is exactly one SEQUENCE, its contents.
pub(super) fn whole_sequence(der: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(der);
    let contents = r.read(SEQUENCE)?;
    r.is_empty().then_some(contents)
}

/// Appends a tag-length-value item to `out`.
pub(super) fn write(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(contents);
}

/// The contents of a DER INTEGER holding a non-negative value (minimal two's complement).
fn unsigned_integer(value: &[u8]) -> Vec<u8> {
    let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let digits = value.get(start..).unwrap_or_default();
    let mut out = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// Converts a fixed-size r‖s signature (each half `half` bytes) to DER
/// `SEQUENCE { r INTEGER, s INTEGER }`. `None` if the length is not `2 * half`.
pub(super) fn rs_to_der(raw: &[u8], half: usize) -> Option<Vec<u8>> {
    if raw.len() != half.checked_mul(2)? {
        return None;
    }
    let (r, s) = raw.split_at_checked(half)?;
    let mut body = Vec::with_capacity(raw.len() + 6);
    write(&mut body, INTEGER, &unsigned_integer(r));
    write(&mut body, INTEGER, &unsigned_integer(s));
    let mut out = Vec::with_capacity(body.len() + 3);
    write(&mut out, SEQUENCE, &body);
    Some(out)
}

/// Converts a DER `SEQUENCE { r INTEGER, s INTEGER }` to fixed-size r‖s with `half` bytes each.
/// Strict: refuses trailing bytes, negative or non-minimal integers and values wider than
/// `half` bytes.
pub(super) fn der_to_rs(der: &[u8], half: usize) -> Option<Vec<u8>> {
    let mut seq = Reader::new(whole_sequence(der)?);
    let mut out = vec![0u8; half.checked_mul(2)?];
    for slot in 0..2usize {
        let int = seq.read(INTEGER)?;
        let digits = match int {
            [] => return None,
            [b, ..] if b & 0x80 != 0 => return None,
            [0, next, ..] if next & 0x80 == 0 => return None,
            [0, rest @ ..] => rest,
            all => all,
        };
        let offset = (slot + 1).checked_mul(half)?.checked_sub(digits.len())?;
        if offset < slot * half {
            return None;
        }
        out.get_mut(offset..offset + digits.len())?
            .copy_from_slice(digits);
    }
    seq.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs_round_trip_with_high_bits_and_leading_zeros() {
        let raw = [0x80, 0x01, 0x00, 0x7f];
        let der = rs_to_der(&raw, 2).unwrap();
        assert_eq!(
            der,
            [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x7f]
        );
        assert_eq!(der_to_rs(&der, 2).unwrap(), raw);
    }

    #[test]
    fn zero_values_encode_as_one_zero_byte() {
        let der = rs_to_der(&[0, 0, 0, 0], 2).unwrap();
        assert_eq!(der, [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
        assert_eq!(der_to_rs(&der, 2).unwrap(), [0, 0, 0, 0]);
    }

    #[test]
    fn der_to_rs_is_strict() {
        // Non-minimal integer, negative integer, too wide, trailing bytes, long-form short length.
        for bad in [
            &[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01][..],
            &[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01],
            &[0x30, 0x08, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x01, 0x01],
            &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00],
            &[0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        ] {
            assert_eq!(der_to_rs(bad, 2), None, "{bad:02x?}");
        }
    }

    #[test]
    fn long_lengths() {
        let contents = vec![7u8; 300];
        let mut out = Vec::new();
        write(&mut out, OID, &contents);
        assert_eq!(&out[..4], &[0x06, 0x82, 0x01, 0x2c]);
        let mut r = Reader::new(&out);
        assert_eq!(r.read(OID).unwrap(), &contents[..]);
        assert!(r.is_empty());
    }
}
