//! Signature keys: parsing private keys (PKCS#8 and the traditional RSA, EC and DSA forms, PEM or
//! DER) and public keys (X.509 SubjectPublicKeyInfo, RFC 5280 §4.1.2.7), and what kind of key each
//! is.
//!
//! Every key is parsed by OpenSSL, which understands all the formats and kinds. Keys that
//! aws-lc-rs can use (RSA of 2048 to 8192 bits, ECDSA on P-256/384/521, Ed25519) are also loaded
//! into aws-lc-rs once, at parse time, for the fast path of [`super::sign`]; the intermediate
//! PKCS#8 encoding lives in zeroized memory. Both libraries clear private key material when they
//! free it.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self as lc, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Smallest RSA modulus and DSA prime accepted, in bits. 1024-bit keys are weak, but IKEv1 peers
/// still use them; refusing them is a policy decision for configuration, which sees
/// [`KeyKind`]'s size.
pub const MIN_RSA_DSA_BITS: u32 = 1024;
/// Largest RSA modulus and DSA prime accepted, in bits (OpenSSL's own limit for RSA).
pub const MAX_RSA_DSA_BITS: u32 = 16384;

/// A named elliptic curve usable for ECDSA (the curves of IKEv2 auth methods 9-11, RFC 4754).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Length in bytes of a field element and of each of r and s in a raw ECDSA signature
    /// (32, 48 and 66).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The curve's size in bits.
    pub fn bits(self) -> u32 {
        match self {
            Curve::P256 => 256,
            Curve::P384 => 384,
            Curve::P521 => 521,
        }
    }

    fn from_nid(nid: Nid) -> Option<Self> {
        match nid {
            Nid::X9_62_PRIME256V1 => Some(Curve::P256),
            Nid::SECP384R1 => Some(Curve::P384),
            Nid::SECP521R1 => Some(Curve::P521),
            _ => None,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        })
    }
}

/// What kind of key, and how big.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA with a modulus of `bits` bits.
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// ECDSA on a named curve.
    Ec(Curve),
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// Ed448 (RFC 8032).
    Ed448,
    /// DSA (FIPS 186) with a prime p of `bits` bits.
    Dsa {
        /// Size of the prime p in bits.
        bits: u32,
    },
}

impl KeyKind {
    /// A short name of the algorithm alone ("RSA", "ECDSA", "Ed25519", "Ed448", "DSA").
    pub fn algorithm_name(self) -> &'static str {
        match self {
            KeyKind::Rsa { .. } => "RSA",
            KeyKind::Ec(_) => "ECDSA",
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Ed448 => "Ed448",
            KeyKind::Dsa { .. } => "DSA",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyKind::Ec(curve) => write!(f, "ECDSA {curve}"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Ed448 => f.write_str("Ed448"),
            KeyKind::Dsa { bits } => write!(f, "DSA-{bits}"),
        }
    }
}

/// Classifies an OpenSSL key and applies the size and curve limits.
fn classify<T: HasPublic>(key: &PKeyRef<T>) -> Result<KeyKind, CryptoError> {
    let sized = |bits: u32| {
        if (MIN_RSA_DSA_BITS..=MAX_RSA_DSA_BITS).contains(&bits) {
            Ok(bits)
        } else {
            Err(CryptoError::Unsupported("RSA or DSA key size out of range"))
        }
    };
    match key.id() {
        Id::RSA => Ok(KeyKind::Rsa {
            bits: sized(key.bits())?,
        }),
        Id::EC => {
            let ec = key.ec_key().map_err(|_| CryptoError::Parse("EC key"))?;
            let nid = ec.group().curve_name().ok_or(CryptoError::Unsupported(
                "EC key with explicit curve parameters",
            ))?;
            let curve = Curve::from_nid(nid).ok_or(CryptoError::Unsupported(
                "ECDSA curve other than P-256, P-384 and P-521",
            ))?;
            Ok(KeyKind::Ec(curve))
        }
        Id::ED25519 => Ok(KeyKind::Ed25519),
        Id::ED448 => Ok(KeyKind::Ed448),
        Id::DSA => Ok(KeyKind::Dsa {
            bits: sized(key.bits())?,
        }),
        Id::RSA_PSS => Err(CryptoError::Unsupported(
            "RSASSA-PSS-restricted RSA keys (id-RSASSA-PSS SubjectPublicKeyInfo)",
        )),
        _ => Err(CryptoError::Unsupported("key algorithm")),
    }
}

/// The aws-lc-rs ECDSA signing algorithms whose hash is the curve's natural one (the pairing of
/// IKEv2 auth methods 9-11): (fixed r‖s, ASN.1 DER).
pub(super) fn natural_ecdsa_signing(
    curve: Curve,
) -> (
    &'static lc::EcdsaSigningAlgorithm,
    &'static lc::EcdsaSigningAlgorithm,
) {
    match curve {
        Curve::P256 => (
            &lc::ECDSA_P256_SHA256_FIXED_SIGNING,
            &lc::ECDSA_P256_SHA256_ASN1_SIGNING,
        ),
        Curve::P384 => (
            &lc::ECDSA_P384_SHA384_FIXED_SIGNING,
            &lc::ECDSA_P384_SHA384_ASN1_SIGNING,
        ),
        Curve::P521 => (
            &lc::ECDSA_P521_SHA512_FIXED_SIGNING,
            &lc::ECDSA_P521_SHA512_ASN1_SIGNING,
        ),
    }
}

/// A key loaded into aws-lc-rs for the fast path.
pub(super) enum FastKey {
    /// RSA of 2048 to 8192 bits.
    Rsa(RsaKeyPair),
    /// ECDSA with the curve's natural hash, one key pair per signature format.
    Ecdsa {
        /// Fixed-size r‖s signatures.
        fixed: EcdsaKeyPair,
        /// ASN.1 DER signatures.
        der: EcdsaKeyPair,
    },
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
}

/// Loads `ossl` into aws-lc-rs where aws-lc-rs supports the key; `None` otherwise (the OpenSSL
/// path then serves every operation).
fn fast_key(kind: KeyKind, ossl: &PKey<Private>) -> Option<FastKey> {
    let usable = match kind {
        KeyKind::Rsa { bits } => (2048..=8192).contains(&bits),
        KeyKind::Ec(_) | KeyKind::Ed25519 => true,
        _ => false,
    };
    if !usable {
        return None;
    }
    let pkcs8 = Zeroizing::new(ossl.private_key_to_pkcs8().ok()?);
    match kind {
        KeyKind::Rsa { .. } => RsaKeyPair::from_pkcs8(&pkcs8).ok().map(FastKey::Rsa),
        KeyKind::Ec(curve) => {
            let (fixed, der) = natural_ecdsa_signing(curve);
            Some(FastKey::Ecdsa {
                fixed: EcdsaKeyPair::from_pkcs8(fixed, &pkcs8).ok()?,
                der: EcdsaKeyPair::from_pkcs8(der, &pkcs8).ok()?,
            })
        }
        KeyKind::Ed25519 => Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .ok()
            .map(FastKey::Ed25519),
        _ => None,
    }
}

/// A private signing key: RSA, ECDSA (P-256/384/521), Ed25519, Ed448 or DSA.
///
/// Opaque: the key material stays inside the backends, which clear it when the last clone is
/// dropped. `Debug` shows only the kind and size. Cloning is cheap (shared, immutable).
#[derive(Clone)]
pub struct PrivateKey(Arc<PrivateInner>);

pub(super) struct PrivateInner {
    pub(super) kind: KeyKind,
    pub(super) ossl: PKey<Private>,
    pub(super) fast: Option<FastKey>,
    pub(super) public: PublicKey,
}

impl PrivateKey {
    /// Parses a PEM private key: `PRIVATE KEY` (PKCS#8, RFC 5208/5958), `RSA PRIVATE KEY`
    /// (PKCS#1, RFC 8017 Appendix A.1.2), `EC PRIVATE KEY` (RFC 5915) or `DSA PRIVATE KEY`
    /// (OpenSSL's traditional form). Encrypted keys are refused.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        if pem.windows(9).any(|w| w == b"ENCRYPTED") {
            return Err(CryptoError::Unsupported("encrypted private keys"));
        }
        // A callback that supplies no passphrase: OpenSSL's default would prompt on the terminal.
        let ossl = PKey::private_key_from_pem_callback(pem, |_buf| Ok(0))
            .map_err(|_| CryptoError::Parse("PEM private key"))?;
        Self::from_openssl(ossl)
    }

    /// Parses a DER private key in any of the forms [`PrivateKey::from_pem`] accepts.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let ossl =
            PKey::private_key_from_der(der).map_err(|_| CryptoError::Parse("DER private key"))?;
        Self::from_openssl(ossl)
    }

    fn from_openssl(ossl: PKey<Private>) -> Result<Self, CryptoError> {
        let kind = classify(&ossl)?;
        if let KeyKind::Rsa { .. } = kind {
            // A corrupted CRT component would make every signature leak the factorisation
            // (the Boneh-DeMillo-Lipton fault attack); check once at load time.
            let rsa = ossl.rsa().map_err(|_| CryptoError::Parse("RSA key"))?;
            if !rsa.check_key().unwrap_or(false) {
                return Err(CryptoError::Parse("RSA key (inconsistent components)"));
            }
        }
        let spki = ossl
            .public_key_to_der()
            .map_err(|_| CryptoError::Backend("public key encoding"))?;
        let public = PublicKey::from_spki_der(&spki)?;
        let fast = fast_key(kind, &ossl);
        Ok(Self(Arc::new(PrivateInner {
            kind,
            ossl,
            fast,
            public,
        })))
    }

    /// The kind and size of the key.
    pub fn kind(&self) -> KeyKind {
        self.0.kind
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.0.public.clone()
    }

    pub(super) fn inner(&self) -> &PrivateInner {
        &self.0
    }

    /// The OpenSSL key (for RSA decryption in [`crate::pke`]).
    pub(crate) fn openssl_key(&self) -> &PKey<Private> {
        &self.0.ossl
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.0.kind)
    }
}

/// A public verification key, from an X.509 SubjectPublicKeyInfo.
#[derive(Clone)]
pub struct PublicKey {
    pub(super) kind: KeyKind,
    spki: Vec<u8>,
    pub(super) ossl: PKey<Public>,
    /// The form aws-lc-rs takes: the SubjectPublicKeyInfo for RSA and EC, the 32 raw bytes for
    /// Ed25519; empty for kinds aws-lc-rs does not verify.
    pub(super) lc_bytes: Vec<u8>,
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7; RFC 3279 for RSA and DSA, RFC 5480
    /// for EC with a named curve, RFC 8410 for Ed25519 and Ed448). Trailing bytes are refused.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        if super::der::whole_sequence(der).is_none() {
            return Err(CryptoError::Parse("SubjectPublicKeyInfo"));
        }
        let ossl = PKey::public_key_from_der(der)
            .map_err(|_| CryptoError::Parse("SubjectPublicKeyInfo"))?;
        let kind = classify(&ossl)?;
        let lc_bytes = match kind {
            KeyKind::Rsa { .. } | KeyKind::Ec(_) => der.to_vec(),
            KeyKind::Ed25519 => ossl
                .raw_public_key()
                .map_err(|_| CryptoError::Parse("Ed25519 public key"))?,
            _ => Vec::new(),
        };
        Ok(Self {
            kind,
            spki: der.to_vec(),
            ossl,
            lc_bytes,
        })
    }

    /// The kind and size of the key.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The DER SubjectPublicKeyInfo, as it was parsed.
    pub fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.ossl.public_eq(&other.ossl)
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.kind)
    }
}
