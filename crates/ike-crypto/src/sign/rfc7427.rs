//! The Authentication Data of IKEv2 auth method 14, Digital Signature (RFC 7427 §3): a one-byte
//! ASN.1 length, the DER AlgorithmIdentifier of the signature algorithm, then the signature.
//!
//! Encodings follow RFC 7427 Appendix A (PKCS#1 v1.5 with NULL parameters, ECDSA with absent
//! parameters, RSASSA-PSS with explicit parameters) and RFC 8420 §2 (Ed25519/Ed448, absent
//! parameters). Parsing accepts the same, plus the two spellings that real peers vary on: absent
//! or NULL parameters for PKCS#1 v1.5 and ECDSA, and RSASSA-PSS parameters with their DEFAULT
//! values written out (RFC 7427 Appendix A.4.2) as well as omitted (A.4.1).

use super::der::{self, Reader, NULL, OID, SEQUENCE};
use super::{EcdsaFormat, Hash, SignatureScheme};
use crate::CryptoError;

// Object identifier contents (the bytes after the 06 tag and length).
const SHA1_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const ECDSA_WITH_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const ECDSA_WITH_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const ECDSA_WITH_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
const DSA_WITH_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03];
const DSA_WITH_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const ED448: &[u8] = &[0x2b, 0x65, 0x71];
const ID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const ID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const ID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const ID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

// Context-specific constructed tags of RSASSA-PSS-params (RFC 8017 Appendix A.2.3).
const PSS_HASH: u8 = 0xa0;
const PSS_MGF: u8 = 0xa1;
const PSS_SALT: u8 = 0xa2;
const PSS_TRAILER: u8 = 0xa3;

fn hash_oid(hash: Hash) -> &'static [u8] {
    match hash {
        Hash::Sha1 => ID_SHA1,
        Hash::Sha256 => ID_SHA256,
        Hash::Sha384 => ID_SHA384,
        Hash::Sha512 => ID_SHA512,
    }
}

fn hash_from_oid(oid: &[u8]) -> Option<Hash> {
    [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512]
        .into_iter()
        .find(|&h| hash_oid(h) == oid)
}

/// `SEQUENCE { oid, params }`, with `params` already encoded (empty for absent).
fn algorithm_identifier(oid: &[u8], params: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(oid.len() + params.len() + 2);
    der::write(&mut body, OID, oid);
    body.extend_from_slice(params);
    let mut out = Vec::with_capacity(body.len() + 2);
    der::write(&mut out, SEQUENCE, &body);
    out
}

/// A hash AlgorithmIdentifier with NULL parameters, as RFC 7427 Appendix A.4.3 writes it.
fn hash_algorithm(hash: Hash) -> Vec<u8> {
    algorithm_identifier(hash_oid(hash), &[NULL, 0])
}

/// The DER AlgorithmIdentifier of `scheme` (without the length byte).
fn encode_algorithm_identifier(scheme: SignatureScheme) -> Result<Vec<u8>, CryptoError> {
    const NULL_PARAMS: &[u8] = &[NULL, 0];
    Ok(match scheme {
        SignatureScheme::RsaPkcs1 { hash } => {
            let oid = match hash {
                Hash::Sha1 => SHA1_WITH_RSA,
                Hash::Sha256 => SHA256_WITH_RSA,
                Hash::Sha384 => SHA384_WITH_RSA,
                Hash::Sha512 => SHA512_WITH_RSA,
            };
            algorithm_identifier(oid, NULL_PARAMS)
        }
        SignatureScheme::RsaPss { hash } => {
            let mut params = Vec::new();
            // DER omits DEFAULT values, so SHA-1 with MGF1-SHA-1 and a 20-byte salt is the empty
            // SEQUENCE of Appendix A.4.1.
            if hash != Hash::Sha1 {
                der::write(&mut params, PSS_HASH, &hash_algorithm(hash));
                der::write(
                    &mut params,
                    PSS_MGF,
                    &algorithm_identifier(MGF1, &hash_algorithm(hash)),
                );
                let salt = u8::try_from(hash.output_len())
                    .map_err(|_| CryptoError::Backend("salt length"))?;
                let mut int = Vec::new();
                der::write(&mut int, der::INTEGER, &[salt]);
                der::write(&mut params, PSS_SALT, &int);
            }
            let mut seq = Vec::new();
            der::write(&mut seq, SEQUENCE, &params);
            algorithm_identifier(RSASSA_PSS, &seq)
        }
        SignatureScheme::Ecdsa {
            hash,
            format: EcdsaFormat::Der,
        } => {
            let oid = match hash {
                Hash::Sha1 => ECDSA_WITH_SHA1,
                Hash::Sha256 => ECDSA_WITH_SHA256,
                Hash::Sha384 => ECDSA_WITH_SHA384,
                Hash::Sha512 => ECDSA_WITH_SHA512,
            };
            algorithm_identifier(oid, &[])
        }
        SignatureScheme::Ed25519 => algorithm_identifier(ED25519, &[]),
        SignatureScheme::Ed448 => algorithm_identifier(ED448, &[]),
        SignatureScheme::Ecdsa {
            format: EcdsaFormat::Raw,
            ..
        } => {
            return Err(CryptoError::Unsupported(
                "RFC 7427 ECDSA signatures are DER (use EcdsaFormat::Der)",
            ))
        }
        SignatureScheme::RsaPkcs1BareHash | SignatureScheme::EcdsaBareHash => {
            return Err(CryptoError::Unsupported(
                "an IKEv1 bare-hash signature form in an RFC 7427 AUTH payload",
            ))
        }
        SignatureScheme::Dsa { .. } => {
            return Err(CryptoError::Unsupported("DSA in an RFC 7427 AUTH payload"))
        }
    })
}

/// RFC 7427 §3 and Appendix A: the bytes that prefix the signature in an AUTH payload of method
/// 14 (the one-byte ASN.1 length, then the DER AlgorithmIdentifier).
///
/// ECDSA must use [`EcdsaFormat::Der`]. The IKEv1 bare-hash RSA form and DSA (whose signature
/// this crate only produces in the IKEv1 r‖s form) give [`CryptoError::Unsupported`].
pub fn rfc7427_encode(scheme: SignatureScheme) -> Result<Vec<u8>, CryptoError> {
    let alg = encode_algorithm_identifier(scheme)?;
    let len = u8::try_from(alg.len()).map_err(|_| CryptoError::InvalidLength {
        what: "RFC 7427 AlgorithmIdentifier",
        len: alg.len(),
    })?;
    let mut out = Vec::with_capacity(alg.len() + 1);
    out.push(len);
    out.extend_from_slice(&alg);
    Ok(out)
}

/// Splits the Authentication Data of an AUTH payload of method 14 (RFC 7427 §3) into the
/// signature scheme its AlgorithmIdentifier names and the signature value.
///
/// Errors: [`CryptoError::Parse`] if the length byte or the DER is malformed or the signature is
/// empty; [`CryptoError::Unsupported`] for an algorithm, or RSASSA-PSS parameters, that
/// [`SignatureScheme`] cannot express (such as a salt length other than the hash length) and for
/// DSA.
pub fn rfc7427_parse(auth_data: &[u8]) -> Result<(SignatureScheme, &[u8]), CryptoError> {
    let malformed = CryptoError::Parse("RFC 7427 AlgorithmIdentifier");
    let (&len, rest) = auth_data.split_first().ok_or(malformed.clone())?;
    let (alg, signature) = rest
        .split_at_checked(usize::from(len))
        .ok_or(malformed.clone())?;
    let scheme = parse_algorithm_identifier(alg)?;
    if signature.is_empty() {
        return Err(CryptoError::Parse("RFC 7427 signature value (empty)"));
    }
    Ok((scheme, signature))
}

fn parse_algorithm_identifier(alg: &[u8]) -> Result<SignatureScheme, CryptoError> {
    let malformed = CryptoError::Parse("RFC 7427 AlgorithmIdentifier");
    let mut body = Reader::new(der::whole_sequence(alg).ok_or(malformed.clone())?);
    let oid = body.read(OID).ok_or(malformed.clone())?;
    let params = body.read_any();
    if !body.is_empty() {
        return Err(malformed);
    }
    // Absent, or NULL: the two spellings seen for algorithms without parameters.
    let absent_or_null = matches!(params, None | Some((NULL, [])));
    let no_params = |scheme: SignatureScheme| {
        if absent_or_null {
            Ok(scheme)
        } else {
            Err(CryptoError::Parse(
                "RFC 7427 AlgorithmIdentifier parameters",
            ))
        }
    };
    let ecdsa = |hash| SignatureScheme::Ecdsa {
        hash,
        format: EcdsaFormat::Der,
    };
    match oid {
        SHA1_WITH_RSA => no_params(SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 }),
        SHA256_WITH_RSA => no_params(SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 }),
        SHA384_WITH_RSA => no_params(SignatureScheme::RsaPkcs1 { hash: Hash::Sha384 }),
        SHA512_WITH_RSA => no_params(SignatureScheme::RsaPkcs1 { hash: Hash::Sha512 }),
        ECDSA_WITH_SHA1 => no_params(ecdsa(Hash::Sha1)),
        ECDSA_WITH_SHA256 => no_params(ecdsa(Hash::Sha256)),
        ECDSA_WITH_SHA384 => no_params(ecdsa(Hash::Sha384)),
        ECDSA_WITH_SHA512 => no_params(ecdsa(Hash::Sha512)),
        // RFC 8410 §3: the parameters MUST be absent.
        ED25519 if params.is_none() => Ok(SignatureScheme::Ed25519),
        ED448 if params.is_none() => Ok(SignatureScheme::Ed448),
        ED25519 | ED448 => Err(CryptoError::Parse("EdDSA AlgorithmIdentifier parameters")),
        RSASSA_PSS => match params {
            Some((SEQUENCE, contents)) => parse_pss_params(contents),
            _ => Err(CryptoError::Parse("RSASSA-PSS parameters")),
        },
        DSA_WITH_SHA1 | DSA_WITH_SHA256 => {
            Err(CryptoError::Unsupported("DSA in an RFC 7427 AUTH payload"))
        }
        _ => Err(CryptoError::Unsupported(
            "signature algorithm in AUTH payload",
        )),
    }
}

/// A hash AlgorithmIdentifier: the OID with NULL or absent parameters.
fn parse_hash_algorithm(alg: &[u8]) -> Result<Hash, CryptoError> {
    let malformed = CryptoError::Parse("RSASSA-PSS hash AlgorithmIdentifier");
    let mut body = Reader::new(der::whole_sequence(alg).ok_or(malformed.clone())?);
    let oid = body.read(OID).ok_or(malformed.clone())?;
    match body.read_any() {
        None | Some((NULL, [])) => {}
        Some(_) => return Err(malformed),
    }
    if !body.is_empty() {
        return Err(malformed);
    }
    hash_from_oid(oid).ok_or(CryptoError::Unsupported("RSASSA-PSS hash"))
}

/// A small non-negative DER INTEGER.
fn parse_small_integer(der_item: &[u8]) -> Option<u32> {
    let mut r = Reader::new(der_item);
    let int = r.read(der::INTEGER)?;
    if !r.is_empty() || int.is_empty() || int.len() > 4 {
        return None;
    }
    match int {
        [b, ..] if b & 0x80 != 0 => return None,
        [0, next, ..] if next & 0x80 == 0 => return None,
        _ => {}
    }
    Some(int.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// RSASSA-PSS-params (RFC 8017 Appendix A.2.3, RFC 4055 §3.1): every field optional with its
/// DEFAULT (SHA-1, MGF1 with SHA-1, salt 20, trailer 1), in order.
fn parse_pss_params(contents: &[u8]) -> Result<SignatureScheme, CryptoError> {
    let malformed = CryptoError::Parse("RSASSA-PSS parameters");
    let mut r = Reader::new(contents);
    let mut hash = Hash::Sha1;
    let mut mgf_hash = Hash::Sha1;
    let mut salt = 20u32;
    let mut trailer = 1u32;
    if r.peek_tag() == Some(PSS_HASH) {
        hash = parse_hash_algorithm(r.read(PSS_HASH).ok_or(malformed.clone())?)?;
    }
    if r.peek_tag() == Some(PSS_MGF) {
        let mgf = der::whole_sequence(r.read(PSS_MGF).ok_or(malformed.clone())?)
            .ok_or(malformed.clone())?;
        let mut mgf = Reader::new(mgf);
        if mgf.read(OID) != Some(MGF1) {
            return Err(CryptoError::Unsupported(
                "RSASSA-PSS mask generation other than MGF1",
            ));
        }
        let (tag, inner) = mgf.read_any().ok_or(malformed.clone())?;
        if tag != SEQUENCE || !mgf.is_empty() {
            return Err(malformed);
        }
        let mut whole = Vec::with_capacity(inner.len() + 2);
        der::write(&mut whole, SEQUENCE, inner);
        mgf_hash = parse_hash_algorithm(&whole)?;
    }
    if r.peek_tag() == Some(PSS_SALT) {
        salt = parse_small_integer(r.read(PSS_SALT).ok_or(malformed.clone())?)
            .ok_or(malformed.clone())?;
    }
    if r.peek_tag() == Some(PSS_TRAILER) {
        trailer = parse_small_integer(r.read(PSS_TRAILER).ok_or(malformed.clone())?)
            .ok_or(malformed.clone())?;
    }
    if !r.is_empty() {
        return Err(malformed);
    }
    let salt_is_hash_len = usize::try_from(salt).is_ok_and(|s| s == hash.output_len());
    if mgf_hash != hash || !salt_is_hash_len || trailer != 1 {
        return Err(CryptoError::Unsupported(
            "RSASSA-PSS parameters other than MGF1 with the same hash and salt = hash length",
        ));
    }
    Ok(SignatureScheme::RsaPss { hash })
}
