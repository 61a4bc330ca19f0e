//! Distinguished names (RFC 5280 §4.1.2.4): strongSwan-style text and comparison after
//! normalisation.

use super::der::{self, tag, Reader};
use crate::CryptoError;

/// One attribute type and value of an RDN, as encoded.
#[derive(Clone, Debug)]
struct Ava<'a> {
    /// The contents of the attribute type OID.
    oid: &'a [u8],
    /// The tag of the value.
    value_tag: u8,
    /// The contents of the value.
    value: &'a [u8],
}

/// Splits a DER `Name` (the whole SEQUENCE TLV) into its RDNs. The input must be exactly one
/// Name.
fn rdns(name_der: &[u8]) -> Result<Vec<Vec<Ava<'_>>>, CryptoError> {
    const WHAT: &str = "distinguished name";
    let mut outer = Reader::new(name_der);
    let seq = outer.expect(tag::SEQUENCE, WHAT)?;
    outer.finish(WHAT)?;
    let mut rdns = Vec::new();
    let mut r = seq.contents();
    while !r.is_empty() {
        let set = r.expect(tag::SET, WHAT)?;
        let mut s = set.contents();
        let mut avas = Vec::new();
        while !s.is_empty() {
            let atv = s.expect(tag::SEQUENCE, WHAT)?;
            let mut a = atv.contents();
            let oid = a.expect(tag::OID, WHAT)?;
            let value = a.read(WHAT)?;
            a.finish(WHAT)?;
            avas.push(Ava {
                oid: oid.value,
                value_tag: value.tag,
                value: value.value,
            });
        }
        if avas.is_empty() {
            return Err(CryptoError::Parse(WHAT)); // RDN is SET SIZE (1..MAX)
        }
        rdns.push(avas);
    }
    Ok(rdns)
}

/// Checks that `name_der` is one well-formed DER Name.
pub(crate) fn validate(name_der: &[u8]) -> Result<(), CryptoError> {
    rdns(name_der).map(|_| ())
}

/// The labels strongSwan prints (libstrongswan `utils/identification.c`, `x501rdns`), keyed by
/// the OID contents octets.
const LABELS: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x04], "S"),
    (&[0x55, 0x04, 0x05], "SN"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "street"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x0c], "T"),
    (&[0x55, 0x04, 0x0d], "D"),
    (&[0x55, 0x04, 0x11], "postalCode"),
    (&[0x55, 0x04, 0x29], "N"),
    (&[0x55, 0x04, 0x2a], "G"),
    (&[0x55, 0x04, 0x2b], "I"),
    (&[0x55, 0x04, 0x2e], "dnQualifier"),
    (&[0x55, 0x04, 0x41], "pseudonym"),
    (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01], "E"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x02],
        "unstructuredName",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
];

/// Decodes the string types a DN may use. `None` for non-string types or malformed strings.
fn decode_string(value_tag: u8, value: &[u8]) -> Option<String> {
    match value_tag {
        // UTF8String
        0x0c => std::str::from_utf8(value).ok().map(str::to_owned),
        // NumericString, PrintableString, IA5String, VisibleString: ASCII subsets.
        0x12 | 0x13 | 0x16 | 0x1a => value
            .is_ascii()
            .then(|| value.iter().map(|b| char::from(*b)).collect()),
        // TeletexString: read as Latin-1, as OpenSSL and strongSwan do in practice.
        0x14 => Some(value.iter().map(|b| char::from(*b)).collect()),
        // BMPString: UCS-2, big-endian.
        0x1e => {
            if value.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UCS-4, big-endian.
        0x1c => {
            if value.len() % 4 != 0 {
                return None;
            }
            value
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// strongSwan-style text: `C=CH, O=strongSwan, CN=moon.strongswan.org`. Attributes appear in
/// encoding order; values of a multi-valued RDN are separated like separate RDNs. Unknown
/// attribute types print as dotted OIDs, and values that are not strings as `#` and the hex of
/// their DER encoding (RFC 4514 §2.4).
pub(crate) fn text(name_der: &[u8]) -> String {
    let Ok(rdns) = rdns(name_der) else {
        return String::from("<malformed name>");
    };
    let mut parts = Vec::new();
    for ava in rdns.iter().flatten() {
        let label = LABELS
            .iter()
            .find(|(oid, _)| *oid == ava.oid)
            .map(|(_, l)| (*l).to_owned())
            .or_else(|| der::oid_text(ava.oid))
            .unwrap_or_else(|| String::from("?"));
        let value = decode_string(ava.value_tag, ava.value).unwrap_or_else(|| {
            let mut encoded = vec![ava.value_tag];
            // Re-encode the TLV for the hex form; lengths here always fit the long form.
            let len = ava.value.len();
            if len < 0x80 {
                encoded.push(len as u8);
            } else {
                let bytes = len.to_be_bytes();
                let skip = bytes.iter().take_while(|b| **b == 0).count();
                let significant = bytes.get(skip..).unwrap_or_default();
                encoded.push(0x80 | significant.len() as u8);
                encoded.extend_from_slice(significant);
            }
            encoded.extend_from_slice(ava.value);
            let hex: String = encoded.iter().map(|b| format!("{b:02x}")).collect();
            format!("#{hex}")
        });
        parts.push(format!("{label}={value}"));
    }
    parts.join(", ")
}

/// A value in comparable form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Norm {
    /// A string value, trimmed, with inner whitespace runs collapsed to one space and ASCII
    /// letters lower-cased; the string type itself does not matter.
    Str(String),
    /// Any other value: tag and contents compared exactly.
    Raw(u8, Vec<u8>),
}

fn normalise(ava: &Ava<'_>) -> (Vec<u8>, Norm) {
    let value = match decode_string(ava.value_tag, ava.value) {
        Some(s) => Norm::Str(
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_lowercase(),
        ),
        None => Norm::Raw(ava.value_tag, ava.value.to_vec()),
    };
    (ava.oid.to_vec(), value)
}

/// Whether two DER Names are equal: byte for byte, or RDN by RDN after normalisation (same
/// number of RDNs in the same order; within an RDN the same attributes in any order; attribute
/// types equal; string values equal after [`Norm::Str`] normalisation across string types,
/// other values equal exactly). This is RFC 5280 §7.1's comparison with RFC 4518 preparation
/// reduced to what deployed CAs need, and what OpenSSL's `X509_NAME_cmp` and strongSwan's
/// `compare_dn` accept. An empty Name equals nothing, since it identifies no one. Malformed
/// input equals nothing.
pub(crate) fn equal(a: &[u8], b: &[u8]) -> bool {
    let (Ok(ra), Ok(rb)) = (rdns(a), rdns(b)) else {
        return false;
    };
    if ra.is_empty() || rb.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    if ra.len() != rb.len() {
        return false;
    }
    ra.iter().zip(rb.iter()).all(|(x, y)| {
        let mut nx: Vec<_> = x.iter().map(normalise).collect();
        let mut ny: Vec<_> = y.iter().map(normalise).collect();
        nx.sort();
        ny.sort();
        nx == ny
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a Name from (OID contents, value tag, value) triples, one RDN each.
    fn name(avas: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            assert!(body.len() < 0x80);
            let mut v = vec![tag, body.len() as u8];
            v.extend_from_slice(body);
            v
        }
        let mut rdns = Vec::new();
        for (oid, t, value) in avas {
            let mut atv = tlv(tag::OID, oid);
            atv.extend(tlv(*t, value));
            rdns.extend(tlv(tag::SET, &tlv(tag::SEQUENCE, &atv)));
        }
        tlv(tag::SEQUENCE, &rdns)
    }

    const C: &[u8] = &[0x55, 0x04, 0x06];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const CN: &[u8] = &[0x55, 0x04, 0x03];

    #[test]
    fn strongswan_text() {
        let n = name(&[
            (C, 0x13, b"CH"),
            (O, 0x0c, b"strongSwan"),
            (CN, 0x0c, b"moon.strongswan.org"),
        ]);
        assert_eq!(text(&n), "C=CH, O=strongSwan, CN=moon.strongswan.org");
        let odd = name(&[(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a], 0x02, &[0x05])]);
        assert_eq!(text(&odd), "1.3.6.1.4.1.42=#020105");
    }

    #[test]
    fn normalised_comparison() {
        let a = name(&[(C, 0x13, b"CH"), (CN, 0x13, b"Moon  Strongswan")]);
        let b = name(&[(C, 0x0c, b"ch"), (CN, 0x0c, b" moon strongswan ")]);
        let reordered = name(&[(CN, 0x0c, b"moon strongswan"), (C, 0x0c, b"CH")]);
        let other = name(&[(C, 0x13, b"CH"), (CN, 0x13, b"Sun")]);
        assert!(equal(&a, &a));
        assert!(equal(&a, &b));
        assert!(!equal(&a, &reordered), "RDN order matters");
        assert!(!equal(&a, &other));
        assert!(
            !equal(&name(&[]), &name(&[])),
            "empty names identify no one"
        );
        assert!(!equal(&a, &a[..a.len() - 1]));
    }
}
