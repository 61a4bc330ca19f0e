//! Digital signatures for IKE authentication.
//!
//! - IKEv2 (RFC 7296 §2.15, §3.8): auth method 1, RSA Digital Signature, is
//!   [`SignatureScheme::RsaPkcs1`] with SHA-1; methods 9-11, ECDSA with SHA-256 on P-256, SHA-384
//!   on P-384 and SHA-512 on P-521 (RFC 4754 §3, §7), are [`SignatureScheme::Ecdsa`] with the
//!   fixed-size r‖s [`EcdsaFormat::Raw`]; method 14, Digital Signature (RFC 7427), carries an
//!   AlgorithmIdentifier before the signature ([`rfc7427_encode`], [`rfc7427_parse`]) and allows
//!   PKCS#1 v1.5 and RSASSA-PSS with SHA-1/SHA-2, ECDSA with DER signatures, and Ed25519/Ed448
//!   (RFC 8420). The hash algorithms of the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4) are
//!   [`SignatureHashAlgorithm`].
//! - IKEv1 (RFC 2409 §5.1): RSA signatures are PKCS#1 v1.5 type-1 padding over the raw prf
//!   output with no DigestInfo ([`SignatureScheme::RsaPkcs1BareHash`]); DSS signatures are DSA
//!   with SHA-1 and the 40-byte r‖s encoding ([`SignatureScheme::Dsa`]); ECDSA (RFC 4754 §8) uses
//!   the same r‖s form as IKEv2 methods 9-11.
//!
//! # Backends
//! aws-lc-rs, the fastest measured, signs and verifies RSA PKCS#1 v1.5 with SHA-256/384/512 and
//! RSASSA-PSS with SHA-256/384/512 for 2048- to 8192-bit keys (and verifies PKCS#1 v1.5 with
//! SHA-1), ECDSA on P-256/384/521 in both signature formats, and Ed25519. OpenSSL serves the rest:
//! RSA-SHA1 signing and PSS with SHA-1, the bare-hash RSA form (`RSA_private_encrypt` and
//! `RSA_public_decrypt` with PKCS#1 type-1 padding, compared in constant time), RSA keys outside
//! 2048-8192 bits, ECDSA with a hash other than the curve's natural one for signing (and the
//! pairings aws-lc-rs does not verify), DSA and Ed448. Every case has exactly one backend; the
//! choice is made per call from the key and the scheme.
//!
//! # Randomness
//! RSA-PSS salts and ECDSA/DSA nonces are drawn inside the backend from its own CSPRNG (the
//! operating system's through aws-lc-rs's and OpenSSL's DRBGs). Neither backend accepts an
//! external generator for these operations, so the `rng` argument of [`sign`] is currently not
//! used; it is there so the signature does not change if a backend that accepts one is added.
//! Tests that need determinism check signatures by verifying them, or use the deterministic
//! schemes (PKCS#1 v1.5, Ed25519, Ed448).

mod der;
pub mod key;
mod lc;
mod ossl;
mod rfc7427;

use std::fmt;

pub use key::{Curve, KeyKind, PrivateKey, PublicKey};
pub use rfc7427::{rfc7427_encode, rfc7427_parse};

use crate::rng::Rng;
use crate::CryptoError;

/// A hash function used inside a signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Hash {
    /// SHA-1 (legacy: IKEv2 auth method 1, IKEv1 DSS).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The name, e.g. "SHA-256".
    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }
}

/// How an ECDSA signature (r, s) is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EcdsaFormat {
    /// r‖s, each left-padded to the curve's field length (IEEE P1363): IKEv2 auth methods 9-11
    /// (RFC 4754 §7) and IKEv1 ECDSA (RFC 4754 §8).
    Raw,
    /// DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3): RFC 7427 Digital Signature, auth method 14.
    Der,
}

/// A signature algorithm with all its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) with a DigestInfo: IKEv2 auth method 1 (SHA-1) and RFC
    /// 7427 `sha*WithRSAEncryption`.
    RsaPkcs1 {
        /// The hash of the message.
        hash: Hash,
    },
    /// IKEv1 RSA signatures (RFC 2409 §5.1): PKCS#1 v1.5 type-1 padding directly over the
    /// already-computed prf output, with no DigestInfo. [`sign`] and [`verify`] take the hash
    /// bytes as the message.
    RsaPkcs1BareHash,
    /// RSASSA-PSS (RFC 8017 §8.1) with MGF1 over the same hash and a salt as long as the hash
    /// (RFC 7427 Appendix A.4).
    RsaPss {
        /// The hash of the message, and of MGF1.
        hash: Hash,
    },
    /// ECDSA (FIPS 186-4) on the key's curve.
    Ecdsa {
        /// The hash of the message.
        hash: Hash,
        /// How the signature is encoded.
        format: EcdsaFormat,
    },
    /// IKEv1 ECDSA signatures as strongSwan, the peer that exists, makes and checks them: ECDSA
    /// over the already-computed HASH_I/HASH_R taken as the digest (no further hashing), r‖s
    /// with each half the curve's field length. [`sign`] and [`verify`] take the hash bytes as
    /// the message.
    EcdsaBareHash,
    /// Ed25519 (RFC 8032) over the whole signed octets (RFC 8420).
    Ed25519,
    /// Ed448 (RFC 8032) over the whole signed octets, empty context (RFC 8420).
    Ed448,
    /// DSA (FIPS 186-4) with the fixed-size r‖s encoding (RFC 2409 §5.1: 40 bytes for SHA-1 and
    /// a 160-bit q; each half is as long as q).
    Dsa {
        /// The hash of the message.
        hash: Hash,
    },
}

impl SignatureScheme {
    /// The hash inside the scheme, if the scheme hashes the message (not the bare-hash RSA form
    /// nor EdDSA).
    pub fn hash(self) -> Option<Hash> {
        match self {
            SignatureScheme::RsaPkcs1 { hash }
            | SignatureScheme::RsaPss { hash }
            | SignatureScheme::Ecdsa { hash, .. }
            | SignatureScheme::Dsa { hash } => Some(hash),
            SignatureScheme::RsaPkcs1BareHash
            | SignatureScheme::EcdsaBareHash
            | SignatureScheme::Ed25519
            | SignatureScheme::Ed448 => None,
        }
    }

    /// The RFC 7427 §4 SIGNATURE_HASH_ALGORITHMS value that this scheme needs the peer to have
    /// announced: the scheme's hash, or Identity for EdDSA (RFC 8420 §2). `None` for the IKEv1
    /// bare-hash RSA form, which RFC 7427 does not carry.
    pub fn signature_hash_algorithm(self) -> Option<SignatureHashAlgorithm> {
        match self {
            SignatureScheme::Ed25519 | SignatureScheme::Ed448 => {
                Some(SignatureHashAlgorithm::Identity)
            }
            other => other.hash().map(SignatureHashAlgorithm::from),
        }
    }

    /// Which key kind the scheme needs, by algorithm name ("RSA", "ECDSA", ...).
    fn key_algorithm(self) -> &'static str {
        match self {
            SignatureScheme::RsaPkcs1 { .. }
            | SignatureScheme::RsaPkcs1BareHash
            | SignatureScheme::RsaPss { .. } => "RSA",
            SignatureScheme::Ecdsa { .. } | SignatureScheme::EcdsaBareHash => "ECDSA",
            SignatureScheme::Ed25519 => "Ed25519",
            SignatureScheme::Ed448 => "Ed448",
            SignatureScheme::Dsa { .. } => "DSA",
        }
    }

    /// Refuses a key of the wrong kind, with a typed error.
    fn check_key(self, kind: KeyKind) -> Result<(), CryptoError> {
        if self.key_algorithm() == kind.algorithm_name() {
            Ok(())
        } else {
            Err(CryptoError::WrongKeyType {
                scheme: self.key_algorithm(),
                key: kind.algorithm_name(),
            })
        }
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureScheme::RsaPkcs1 { hash } => write!(f, "RSA PKCS#1 v1.5 with {}", hash.name()),
            SignatureScheme::RsaPkcs1BareHash => f.write_str("RSA PKCS#1 v1.5 over a bare hash"),
            SignatureScheme::RsaPss { hash } => write!(f, "RSASSA-PSS with {}", hash.name()),
            SignatureScheme::Ecdsa { hash, format } => {
                let form = match format {
                    EcdsaFormat::Raw => "r||s",
                    EcdsaFormat::Der => "DER",
                };
                write!(f, "ECDSA with {} ({form})", hash.name())
            }
            SignatureScheme::EcdsaBareHash => f.write_str("ECDSA over a bare hash (r||s)"),
            SignatureScheme::Ed25519 => f.write_str("Ed25519"),
            SignatureScheme::Ed448 => f.write_str("Ed448"),
            SignatureScheme::Dsa { hash } => write!(f, "DSA with {}", hash.name()),
        }
    }
}

/// Hash algorithm identifiers of the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4, IANA "IKEv2
/// Hash Algorithms"; Identity from RFC 8420 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SignatureHashAlgorithm {
    /// 1: SHA-1.
    Sha1,
    /// 2: SHA2-256.
    Sha2_256,
    /// 3: SHA2-384.
    Sha2_384,
    /// 4: SHA2-512.
    Sha2_512,
    /// 5: Identity, for signature algorithms that hash internally (EdDSA, RFC 8420).
    Identity,
    /// A value this crate does not know.
    Unknown(u16),
}

impl SignatureHashAlgorithm {
    /// The 16-bit value sent in the notify.
    pub fn value(self) -> u16 {
        match self {
            SignatureHashAlgorithm::Sha1 => 1,
            SignatureHashAlgorithm::Sha2_256 => 2,
            SignatureHashAlgorithm::Sha2_384 => 3,
            SignatureHashAlgorithm::Sha2_512 => 4,
            SignatureHashAlgorithm::Identity => 5,
            SignatureHashAlgorithm::Unknown(v) => v,
        }
    }

    /// The algorithm for a 16-bit value; a value the crate does not know becomes `Unknown`.
    pub fn from_value(value: u16) -> Self {
        match value {
            1 => SignatureHashAlgorithm::Sha1,
            2 => SignatureHashAlgorithm::Sha2_256,
            3 => SignatureHashAlgorithm::Sha2_384,
            4 => SignatureHashAlgorithm::Sha2_512,
            5 => SignatureHashAlgorithm::Identity,
            v => SignatureHashAlgorithm::Unknown(v),
        }
    }
}

impl From<Hash> for SignatureHashAlgorithm {
    fn from(hash: Hash) -> Self {
        match hash {
            Hash::Sha1 => SignatureHashAlgorithm::Sha1,
            Hash::Sha256 => SignatureHashAlgorithm::Sha2_256,
            Hash::Sha384 => SignatureHashAlgorithm::Sha2_384,
            Hash::Sha512 => SignatureHashAlgorithm::Sha2_512,
        }
    }
}

impl KeyKind {
    /// The SIGNATURE_HASH_ALGORITHMS values (RFC 7427 §4) with which this key can sign and
    /// verify RFC 7427 signatures, most preferred first: SHA2-256, SHA2-384, SHA2-512 for RSA and
    /// ECDSA, Identity for EdDSA. SHA-1 is left out (RFC 8247 §4.2: MUST NOT),
    /// although [`verify`] still accepts SHA-1 schemes when the caller's policy asks for them.
    /// DSA has none: this crate does not carry DSA in RFC 7427 AUTH payloads.
    pub fn signature_hash_algorithms(self) -> &'static [SignatureHashAlgorithm] {
        const SHA2: &[SignatureHashAlgorithm] = &[
            SignatureHashAlgorithm::Sha2_256,
            SignatureHashAlgorithm::Sha2_384,
            SignatureHashAlgorithm::Sha2_512,
        ];
        match self {
            KeyKind::Rsa { .. } | KeyKind::Ec(_) => SHA2,
            KeyKind::Ed25519 | KeyKind::Ed448 => &[SignatureHashAlgorithm::Identity],
            KeyKind::Dsa { .. } => &[],
        }
    }
}

/// Which backend may serve an operation; tests force OpenSSL to check the fallback paths against
/// the same vectors as the fast ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// aws-lc-rs where it serves the case, OpenSSL otherwise.
    Auto,
    /// OpenSSL only.
    #[cfg_attr(not(test), allow(dead_code))]
    OpenSsl,
}

/// Signs `message` with `key` under `scheme`.
///
/// For [`SignatureScheme::RsaPkcs1BareHash`], `message` is the already-computed hash (at most
/// the modulus length minus 11 bytes). `rng` is not used by the current backends, which draw
/// salts and nonces from their own CSPRNG (see the module docs).
///
/// Errors: [`CryptoError::WrongKeyType`] if the key does not fit the scheme,
/// [`CryptoError::InvalidLength`] for a bare hash that does not fit, and
/// [`CryptoError::Unsupported`] for an RSA key too small for PSS with the hash.
pub fn sign(
    key: &PrivateKey,
    scheme: SignatureScheme,
    message: &[u8],
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, CryptoError> {
    let _ = rng;
    sign_with(key, scheme, message, Backend::Auto)
}

pub(crate) fn sign_with(
    key: &PrivateKey,
    scheme: SignatureScheme,
    message: &[u8],
    backend: Backend,
) -> Result<Vec<u8>, CryptoError> {
    let inner = key.inner();
    scheme.check_key(inner.kind)?;
    check_rsa_sizes(inner.kind, scheme, message)?;
    if backend == Backend::Auto {
        if let Some(signature) = lc::sign(inner, scheme, message)? {
            return Ok(signature);
        }
    }
    ossl::sign(inner, scheme, message)
}

/// Verifies `signature` over `message` with `key` under `scheme`.
///
/// Errors: [`CryptoError::BadSignature`] if the signature is wrong or malformed (including a
/// wrong length), [`CryptoError::WrongKeyType`] if the key does not fit the scheme.
pub fn verify(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    verify_with(key, scheme, message, signature, Backend::Auto)
}

pub(crate) fn verify_with(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
    backend: Backend,
) -> Result<(), CryptoError> {
    scheme.check_key(key.kind)?;
    if backend == Backend::Auto {
        if let Some(result) = lc::verify(key, scheme, message, signature) {
            return result;
        }
    }
    ossl::verify(key, scheme, message, signature)
}

/// Size checks that depend on the RSA modulus, made before any backend runs so that every
/// backend reports them the same way.
fn check_rsa_sizes(
    kind: KeyKind,
    scheme: SignatureScheme,
    message: &[u8],
) -> Result<(), CryptoError> {
    let KeyKind::Rsa { bits } = kind else {
        return Ok(());
    };
    let k = usize::try_from(bits.div_ceil(8)).map_err(|_| CryptoError::Backend("RSA size"))?;
    let em_len = usize::try_from(bits.saturating_sub(1).div_ceil(8))
        .map_err(|_| CryptoError::Backend("RSA size"))?;
    match scheme {
        // RFC 8017 §9.2 / RFC 2313 §8.1: at least 8 padding bytes plus 00 01 .. 00.
        SignatureScheme::RsaPkcs1BareHash
            if message.is_empty() || message.len().saturating_add(11) > k =>
        {
            Err(CryptoError::InvalidLength {
                what: "hash for a bare-hash RSA signature",
                len: message.len(),
            })
        }
        // RFC 8017 §9.1.1: emLen >= hLen + sLen + 2 with sLen = hLen, emLen = ⌈(modBits-1)/8⌉.
        SignatureScheme::RsaPss { hash } if hash.output_len() * 2 + 2 > em_len => Err(
            CryptoError::Unsupported("RSA key too small for RSASSA-PSS with this hash"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
