//! X.509 certificates for IKE authentication: parsing (RFC 5280 §4), identity matching against
//! IKE ID payloads (RFC 7296 §3.5, RFC 2407 §4.6.2.1, RFC 4945 §3.1), the CERTREQ hashes of trust
//! anchors (RFC 7296 §3.7) and chain validation ([`TrustStore`], RFC 5280 §6).
//!
//! # Backend
//! OpenSSL parses every certificate (`X509::from_der`) and does the path validation
//! (`X509_verify_cert`: signatures, validity periods, basicConstraints and pathLen, keyUsage of
//! issuers, name constraints, unknown critical extensions), because that code has decades of
//! hostile input behind it. A small DER reader of our own (`x509/der.rs`) locates the exact encodings
//! that IKE carries and compares — the issuer and subject Names (ID_DER_ASN1_DN) and the
//! SubjectPublicKeyInfo (CERTREQ) — and reads the three extensions our own checks need
//! (basicConstraints, keyUsage, subjectAltName), so nothing is re-encoded on the way. A
//! certificate must satisfy both parsers. `x509-parser` was not used: it would be a second
//! complete ASN.1 stack next to OpenSSL's for three extensions.
//!
//! # Not done (future work)
//! No revocation: no CRL or OCSP fetching or checking (RFC 7296 §3.6 "Hash and URL" bundles and
//! OCSP stapling, RFC 4806, are not handled). No extendedKeyUsage policy (strongSwan does not
//! require id-kp-ipsecIKE either, RFC 4945 §5.1.3.12).

mod chain;
mod der;
mod name;

use std::fmt;
use std::ops::Range;

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::x509::X509;
use sha1::{Digest, Sha1};

use crate::CryptoError;
use der::{tag, Reader};

pub use chain::{ChainFailure, EndEntityUse, TrustStore};

/// The keyUsage extension (RFC 5280 §4.2.1.3), as a set of bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyUsage(u16);

impl KeyUsage {
    /// digitalSignature (bit 0): IKE AUTH signatures.
    pub const DIGITAL_SIGNATURE: Self = Self(1 << 0);
    /// nonRepudiation / contentCommitment (bit 1).
    pub const NON_REPUDIATION: Self = Self(1 << 1);
    /// keyEncipherment (bit 2): IKEv1 public-key encryption authentication.
    pub const KEY_ENCIPHERMENT: Self = Self(1 << 2);
    /// dataEncipherment (bit 3).
    pub const DATA_ENCIPHERMENT: Self = Self(1 << 3);
    /// keyAgreement (bit 4).
    pub const KEY_AGREEMENT: Self = Self(1 << 4);
    /// keyCertSign (bit 5): required of every issuer that has the extension.
    pub const KEY_CERT_SIGN: Self = Self(1 << 5);
    /// cRLSign (bit 6).
    pub const CRL_SIGN: Self = Self(1 << 6);
    /// encipherOnly (bit 7).
    pub const ENCIPHER_ONLY: Self = Self(1 << 7);
    /// decipherOnly (bit 8).
    pub const DECIPHER_ONLY: Self = Self(1 << 8);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits, bit 0 (digitalSignature) as the least significant.
    pub fn bits(self) -> u16 {
        self.0
    }
}

/// One subjectAltName entry (RFC 5280 §4.2.1.6) of the kinds IKE identities use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// dNSName, as encoded (IA5String).
    Dns(String),
    /// rfc822Name, as encoded (IA5String).
    Rfc822(String),
    /// iPAddress: 4 or 16 octets (other lengths are kept but never match).
    IpAddress(Vec<u8>),
    /// Any other GeneralName; only its context tag number is kept.
    Other(u8),
}

/// A parsed X.509 certificate that keeps its DER encoding.
#[derive(Clone)]
pub struct Certificate {
    x509: X509,
    der: Vec<u8>,
    issuer: Range<usize>,
    subject: Range<usize>,
    spki: Range<usize>,
    not_before: i64,
    not_after: i64,
    /// basicConstraints: (cA, pathLenConstraint); `None` when the extension is absent.
    basic_constraints: Option<(bool, Option<u32>)>,
    key_usage: Option<KeyUsage>,
    subject_alt_names: Vec<SubjectAltName>,
}

const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

fn unix_time(t: &Asn1TimeRef) -> Result<i64, CryptoError> {
    let epoch = Asn1Time::from_unix(0).map_err(|_| CryptoError::Backend("Asn1Time::from_unix"))?;
    let diff = epoch
        .diff(t)
        .map_err(|_| CryptoError::Parse("certificate validity"))?;
    Ok(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

impl Certificate {
    /// Parses one DER certificate. Trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        const WHAT: &str = "certificate";
        let mut top = Reader::new(der);
        let cert = top.expect(tag::SEQUENCE, WHAT)?;
        top.finish(WHAT)?;
        let mut c = cert.contents();
        let tbs = c.expect(tag::SEQUENCE, WHAT)?;
        c.expect(tag::SEQUENCE, WHAT)?; // signatureAlgorithm
        c.expect(tag::BIT_STRING, WHAT)?; // signatureValue
        c.finish(WHAT)?;

        let mut t = tbs.contents();
        let version = match t.optional(tag::CTX0_CONSTRUCTED, WHAT)? {
            Some(v) => {
                let mut r = v.contents();
                let n = der::small_uint(&r.expect(tag::INTEGER, WHAT)?, WHAT)?;
                r.finish(WHAT)?;
                n
            }
            None => 0,
        };
        if version > 2 {
            return Err(CryptoError::Parse("certificate version"));
        }
        t.expect(tag::INTEGER, WHAT)?; // serialNumber
        t.expect(tag::SEQUENCE, WHAT)?; // signature
        let issuer = t.expect(tag::SEQUENCE, WHAT)?;
        t.expect(tag::SEQUENCE, WHAT)?; // validity
        let subject = t.expect(tag::SEQUENCE, WHAT)?;
        let spki = t.expect(tag::SEQUENCE, WHAT)?;
        t.optional(tag::CTX1_PRIMITIVE, WHAT)?;
        t.optional(tag::CTX2_PRIMITIVE, WHAT)?;
        let extensions = t.optional(tag::CTX3_CONSTRUCTED, WHAT)?;
        t.finish(WHAT)?;

        let issuer_range = issuer.start..issuer.end;
        let subject_range = subject.start..subject.end;
        let spki_range = spki.start..spki.end;
        for r in [&issuer_range, &subject_range] {
            name::validate(der.get(r.clone()).unwrap_or_default())?;
        }

        let mut basic_constraints = None;
        let mut key_usage = None;
        let mut subject_alt_names = Vec::new();
        if let Some(exts) = extensions {
            let mut outer = exts.contents();
            let list = outer.expect(tag::SEQUENCE, "certificate extensions")?;
            outer.finish("certificate extensions")?;
            let mut seen: Vec<&[u8]> = Vec::new();
            let mut r = list.contents();
            while !r.is_empty() {
                let ext = r.expect(tag::SEQUENCE, "certificate extension")?;
                let mut e = ext.contents();
                let oid = e.expect(tag::OID, "certificate extension")?;
                if let Some(b) = e.optional(tag::BOOLEAN, "certificate extension")? {
                    der::boolean(&b, "certificate extension")?;
                }
                let value = e.expect(tag::OCTET_STRING, "certificate extension")?;
                e.finish("certificate extension")?;
                // RFC 5280 §4.2: a certificate MUST NOT include more than one instance.
                if seen.contains(&oid.value) {
                    return Err(CryptoError::Parse("duplicate certificate extension"));
                }
                seen.push(oid.value);
                match oid.value {
                    OID_BASIC_CONSTRAINTS => {
                        basic_constraints = Some(parse_basic_constraints(value.value)?);
                    }
                    OID_KEY_USAGE => key_usage = Some(parse_key_usage(value.value)?),
                    OID_SUBJECT_ALT_NAME => subject_alt_names = parse_san(value.value)?,
                    _ => {}
                }
            }
        }

        let x509 = X509::from_der(der).map_err(|_| CryptoError::Parse(WHAT))?;
        let not_before = unix_time(x509.not_before())?;
        let not_after = unix_time(x509.not_after())?;
        Ok(Self {
            x509,
            der: der.to_vec(),
            issuer: issuer_range,
            subject: subject_range,
            spki: spki_range,
            not_before,
            not_after,
            basic_constraints,
            key_usage,
            subject_alt_names,
        })
    }

    /// Parses every `CERTIFICATE` block of a PEM file, in order. A file without any is an
    /// error.
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Self>, CryptoError> {
        let stack = X509::stack_from_pem(pem).map_err(|_| CryptoError::Parse("PEM certificate"))?;
        if stack.is_empty() {
            return Err(CryptoError::Parse("PEM certificate"));
        }
        stack
            .iter()
            .map(|c| {
                let der = c
                    .to_der()
                    .map_err(|_| CryptoError::Parse("PEM certificate"))?;
                Self::from_der(&der)
            })
            .collect()
    }

    /// The certificate's DER encoding, as received or loaded.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject Name exactly as encoded in the certificate: what an ID_DER_ASN1_DN payload
    /// carries.
    pub fn subject_der(&self) -> Vec<u8> {
        self.slice(&self.subject).to_vec()
    }

    /// The issuer Name exactly as encoded in the certificate.
    pub fn issuer_der(&self) -> Vec<u8> {
        self.slice(&self.issuer).to_vec()
    }

    /// The subject as strongSwan prints it: `C=CH, O=strongSwan, CN=moon.strongswan.org`.
    pub fn subject_text(&self) -> String {
        name::text(self.slice(&self.subject))
    }

    /// The issuer, printed like [`Certificate::subject_text`].
    pub fn issuer_text(&self) -> String {
        name::text(self.slice(&self.issuer))
    }

    /// The SubjectPublicKeyInfo element exactly as encoded in the certificate (the input the
    /// `sign` module's public-key constructors and [`crate::pke::encrypt`] take).
    pub fn spki_der(&self) -> Vec<u8> {
        self.slice(&self.spki).to_vec()
    }

    /// SHA-1 of the whole DER SubjectPublicKeyInfo element: one entry of an IKEv2 CERTREQ
    /// payload's Certification Authority field and of "Hash and URL" lookups (RFC 7296 §3.7:
    /// "the SHA-1 hash of the Subject Public Key Info element"). This is not RFC 5280
    /// §4.2.1.2's key identifier, which hashes only the subjectPublicKey BIT STRING contents.
    /// IKEv1 CERTREQs name the CA by its DN instead ([`Certificate::subject_der`]).
    pub fn spki_sha1(&self) -> [u8; 20] {
        Sha1::digest(self.slice(&self.spki)).into()
    }

    /// Start of the validity period, in seconds since the Unix epoch.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of the validity period, in seconds since the Unix epoch. RFC 5280 §4.1.2.5 makes it
    /// inclusive; OpenSSL's check, which [`TrustStore`] uses, already counts this very second as
    /// expired.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// The validity period as OpenSSL prints it ("Jan  1 00:00:00 2026 GMT"): start, end.
    pub fn validity_text(&self) -> (String, String) {
        (
            self.x509.not_before().to_string(),
            self.x509.not_after().to_string(),
        )
    }

    /// Whether basicConstraints is present with cA TRUE.
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints, Some((true, _)))
    }

    /// The basicConstraints pathLenConstraint, if present.
    pub fn path_len(&self) -> Option<u32> {
        self.basic_constraints.and_then(|(_, p)| p)
    }

    /// The keyUsage extension; `None` when absent (which RFC 5280 reads as "no restriction").
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// Whether the key may be used for `usage`: true when keyUsage is absent or has the bits.
    pub fn allows(&self, usage: KeyUsage) -> bool {
        self.key_usage.is_none_or(|ku| ku.contains(usage))
    }

    /// The subjectAltName entries, in encoding order (empty when the extension is absent).
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.subject_alt_names
    }

    fn slice(&self, r: &Range<usize>) -> &[u8] {
        self.der.get(r.clone()).unwrap_or_default()
    }

    pub(crate) fn x509(&self) -> &X509 {
        &self.x509
    }

    pub(crate) fn from_x509(x: &openssl::x509::X509Ref) -> Result<Self, CryptoError> {
        let der = x.to_der().map_err(|_| CryptoError::Parse("certificate"))?;
        Self::from_der(&der)
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject_text())
            .field("issuer", &self.issuer_text())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("ca", &self.is_ca())
            .finish_non_exhaustive()
    }
}

fn parse_basic_constraints(value: &[u8]) -> Result<(bool, Option<u32>), CryptoError> {
    const WHAT: &str = "basicConstraints";
    let mut outer = Reader::new(value);
    let seq = outer.expect(tag::SEQUENCE, WHAT)?;
    outer.finish(WHAT)?;
    let mut r = seq.contents();
    let ca = match r.optional(tag::BOOLEAN, WHAT)? {
        Some(b) => der::boolean(&b, WHAT)?,
        None => false,
    };
    let path_len = match r.optional(tag::INTEGER, WHAT)? {
        Some(i) => Some(der::small_uint(&i, WHAT)?),
        None => None,
    };
    r.finish(WHAT)?;
    Ok((ca, path_len))
}

fn parse_key_usage(value: &[u8]) -> Result<KeyUsage, CryptoError> {
    const WHAT: &str = "keyUsage";
    let mut outer = Reader::new(value);
    let bits = outer.expect(tag::BIT_STRING, WHAT)?;
    outer.finish(WHAT)?;
    let (unused, bytes) = bits.value.split_first().ok_or(CryptoError::Parse(WHAT))?;
    if *unused > 7 || (bytes.is_empty() && *unused != 0) {
        return Err(CryptoError::Parse(WHAT));
    }
    // Bit 0 is the most significant bit of the first octet; bits beyond 8 are ignored.
    let mut usage = 0u16;
    for (i, byte) in bytes.iter().take(2).enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                usage |= 1 << (i * 8 + bit);
            }
        }
    }
    Ok(KeyUsage(usage))
}

fn parse_san(value: &[u8]) -> Result<Vec<SubjectAltName>, CryptoError> {
    const WHAT: &str = "subjectAltName";
    let mut outer = Reader::new(value);
    let seq = outer.expect(tag::SEQUENCE, WHAT)?;
    outer.finish(WHAT)?;
    let mut names = Vec::new();
    let mut r = seq.contents();
    while !r.is_empty() {
        let gn = r.read(WHAT)?;
        let ia5 = |v: &[u8]| -> Result<String, CryptoError> {
            if v.is_ascii() {
                Ok(v.iter().map(|b| char::from(*b)).collect())
            } else {
                Err(CryptoError::Parse(WHAT))
            }
        };
        names.push(match gn.tag {
            0x81 => SubjectAltName::Rfc822(ia5(gn.value)?),
            0x82 => SubjectAltName::Dns(ia5(gn.value)?),
            0x87 => SubjectAltName::IpAddress(gn.value.to_vec()),
            other => SubjectAltName::Other(other & 0x1f),
        });
    }
    if names.is_empty() {
        return Err(CryptoError::Parse(WHAT)); // GeneralNames is SIZE (1..MAX)
    }
    Ok(names)
}

/// An IKE identity (the ID payload, RFC 7296 §3.5 / RFC 2407 §4.6.2.1) to match against a
/// certificate. Subnet and range identities (IKEv1 ID_IPV4_ADDR_SUBNET and friends) never name a
/// certificate holder and are not represented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity<'a> {
    /// ID_IPV4_ADDR.
    Ipv4([u8; 4]),
    /// ID_IPV6_ADDR.
    Ipv6([u8; 16]),
    /// ID_FQDN.
    Fqdn(&'a str),
    /// ID_RFC822_ADDR (ID_USER_FQDN in IKEv1).
    Rfc822(&'a str),
    /// ID_DER_ASN1_DN: a DER Name.
    DerDn(&'a [u8]),
    /// ID_KEY_ID: opaque.
    KeyId(&'a [u8]),
}

/// Whether `cert` names `id`, the way strongSwan binds a peer's ID payload to its certificate
/// (RFC 4945 §3.1; strongSwan `x509_cert.c` `has_subject`):
///
/// - **Fqdn** equals a dNSName subjectAltName, ASCII case-insensitively. No wildcards on either
///   side: a `*` in the certificate or in the received ID is an ordinary character. Wildcard
///   *policies* ("any peer in example.org") belong to the configuration, which matches them
///   against the identity once this function has bound it to the certificate. Accepting a peer's
///   own `*.example.org` here would let it claim every name below. A trailing dot is not
///   removed. The subject's CN is never consulted (RFC 6125 §6.4.4 and strongSwan agree).
/// - **Rfc822** equals an rfc822Name: the local part exactly, the domain case-insensitively
///   (RFC 5280 §4.2.1.6). An emailAddress attribute in the subject DN is not consulted.
/// - **Ipv4 / Ipv6** equal an iPAddress of the same length, octet for octet (an IPv4-mapped
///   IPv6 address does not match the IPv4 address).
/// - **DerDn** equals the subject Name: byte for byte, or RDN by RDN after normalisation
///   (RDN order significant, attribute order within an RDN not; string values compared after
///   trimming, collapsing inner whitespace and lower-casing ASCII, whatever their string type;
///   other values exactly). An empty DN matches nothing. subjectAltName directoryName entries
///   are not consulted.
/// - **KeyId** never matches a certificate: it is bound to a key by configuration only.
pub fn matches_identity(cert: &Certificate, id: &Identity<'_>) -> bool {
    let sans = cert.subject_alt_names();
    match id {
        Identity::Fqdn(name) => sans
            .iter()
            .any(|s| matches!(s, SubjectAltName::Dns(d) if d.eq_ignore_ascii_case(name))),
        Identity::Rfc822(addr) => sans
            .iter()
            .any(|s| matches!(s, SubjectAltName::Rfc822(r) if email_eq(r, addr))),
        Identity::Ipv4(ip) => sans
            .iter()
            .any(|s| matches!(s, SubjectAltName::IpAddress(a) if a.as_slice() == ip.as_slice())),
        Identity::Ipv6(ip) => sans
            .iter()
            .any(|s| matches!(s, SubjectAltName::IpAddress(a) if a.as_slice() == ip.as_slice())),
        Identity::DerDn(dn) => name::equal(cert.slice(&cert.subject), dn),
        Identity::KeyId(_) => false,
    }
}

fn email_eq(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        // An rfc822Name may be a bare domain or host (RFC 5280 §4.2.1.6 constraint form); an
        // identity without '@' is compared the same way, case-insensitively.
        (None, None) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_bits() {
        // digitalSignature | keyEncipherment: 0x03 0x02 0x05 0xa0
        let ku = parse_key_usage(&[0x03, 0x02, 0x05, 0xa0]).unwrap();
        assert!(ku.contains(KeyUsage::DIGITAL_SIGNATURE));
        assert!(ku.contains(KeyUsage::KEY_ENCIPHERMENT));
        assert!(!ku.contains(KeyUsage::KEY_CERT_SIGN));
        // keyCertSign | cRLSign: 0x03 0x02 0x01 0x06
        let ku = parse_key_usage(&[0x03, 0x02, 0x01, 0x06]).unwrap();
        assert_eq!(
            ku,
            KeyUsage(KeyUsage::KEY_CERT_SIGN.0 | KeyUsage::CRL_SIGN.0)
        );
        // decipherOnly is in the second octet.
        let ku = parse_key_usage(&[0x03, 0x03, 0x07, 0x00, 0x80]).unwrap();
        assert_eq!(ku, KeyUsage::DECIPHER_ONLY);
        assert!(parse_key_usage(&[0x03, 0x01, 0x01]).is_err());
    }

    #[test]
    fn basic_constraints_forms() {
        assert_eq!(
            parse_basic_constraints(&[0x30, 0x00]).unwrap(),
            (false, None)
        );
        assert_eq!(
            parse_basic_constraints(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]).unwrap(),
            (true, Some(0))
        );
        assert!(parse_basic_constraints(&[0x30, 0x03, 0x02, 0x01, 0xff]).is_err());
    }

    #[test]
    fn email_comparison() {
        assert!(email_eq("Alice@Example.ORG", "Alice@example.org"));
        assert!(!email_eq("alice@example.org", "Alice@example.org"));
        assert!(!email_eq("alice@example.org", "example.org"));
    }
}
