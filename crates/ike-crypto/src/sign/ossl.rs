//! The OpenSSL path: every scheme and key kind, used where aws-lc-rs does not serve (see the
//! module docs of [`super`]).

use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, PKeyRef};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::der::{der_to_rs, rs_to_der};
use super::key::PrivateInner;
use super::{EcdsaFormat, Hash, KeyKind, PublicKey, SignatureScheme};
use crate::CryptoError;

fn digest(hash: Hash) -> MessageDigest {
    match hash {
        Hash::Sha1 => MessageDigest::sha1(),
        Hash::Sha256 => MessageDigest::sha256(),
        Hash::Sha384 => MessageDigest::sha384(),
        Hash::Sha512 => MessageDigest::sha512(),
    }
}

/// Bytes in each half of a raw r‖s signature: the curve's field length for ECDSA, the length of
/// q for DSA.
fn half_len<T: HasPublic>(kind: KeyKind, key: &PKeyRef<T>) -> Result<usize, CryptoError> {
    match kind {
        KeyKind::Ec(curve) => Ok(curve.field_len()),
        KeyKind::Dsa { .. } => {
            let dsa = key.dsa().map_err(|_| CryptoError::Backend("DSA key"))?;
            usize::try_from(dsa.q().num_bytes()).map_err(|_| CryptoError::Backend("DSA key"))
        }
        _ => Err(CryptoError::Backend("r||s length for a non-ECDSA/DSA key")),
    }
}

/// Signs with OpenSSL.
pub(super) fn sign(
    key: &PrivateInner,
    scheme: SignatureScheme,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let pkey = &key.ossl;
    let fail = |_| CryptoError::Backend("OpenSSL signing");
    match scheme {
        SignatureScheme::RsaPkcs1BareHash => {
            let rsa = pkey.rsa().map_err(fail)?;
            let mut out = vec![0u8; usize::try_from(rsa.size()).map_err(|_| fail_size())?];
            let n = rsa
                .private_encrypt(message, &mut out, Padding::PKCS1)
                .map_err(fail)?;
            out.truncate(n);
            Ok(out)
        }
        SignatureScheme::RsaPkcs1 { hash } => {
            let mut signer = Signer::new(digest(hash), pkey).map_err(fail)?;
            signer.set_rsa_padding(Padding::PKCS1).map_err(fail)?;
            signer.sign_oneshot_to_vec(message).map_err(fail)
        }
        SignatureScheme::RsaPss { hash } => {
            let mut signer = Signer::new(digest(hash), pkey).map_err(fail)?;
            signer.set_rsa_padding(Padding::PKCS1_PSS).map_err(fail)?;
            signer
                .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(fail)?;
            signer.set_rsa_mgf1_md(digest(hash)).map_err(fail)?;
            signer.sign_oneshot_to_vec(message).map_err(fail)
        }
        SignatureScheme::Ecdsa { hash, format } => {
            let mut signer = Signer::new(digest(hash), pkey).map_err(fail)?;
            let der = signer.sign_oneshot_to_vec(message).map_err(fail)?;
            match format {
                EcdsaFormat::Der => Ok(der),
                EcdsaFormat::Raw => der_to_rs(&der, half_len(key.kind, pkey)?)
                    .ok_or(CryptoError::Backend("OpenSSL ECDSA signature encoding")),
            }
        }
        SignatureScheme::EcdsaBareHash => {
            let ec = pkey.ec_key().map_err(fail)?;
            let sig = openssl::ecdsa::EcdsaSig::sign(message, &ec).map_err(fail)?;
            let half = half_len(key.kind, pkey)?;
            let (r, s) = (
                sig.r()
                    .to_vec_padded(i32::try_from(half).map_err(|_| fail_size())?),
                sig.s()
                    .to_vec_padded(i32::try_from(half).map_err(|_| fail_size())?),
            );
            Ok([r.map_err(fail)?, s.map_err(fail)?].concat())
        }
        SignatureScheme::Dsa { hash } => {
            let mut signer = Signer::new(digest(hash), pkey).map_err(fail)?;
            let der = signer.sign_oneshot_to_vec(message).map_err(fail)?;
            der_to_rs(&der, half_len(key.kind, pkey)?)
                .ok_or(CryptoError::Backend("OpenSSL DSA signature encoding"))
        }
        SignatureScheme::Ed25519 | SignatureScheme::Ed448 => {
            let mut signer = Signer::new_without_digest(pkey).map_err(fail)?;
            signer.sign_oneshot_to_vec(message).map_err(fail)
        }
    }
}

fn fail_size() -> CryptoError {
    CryptoError::Backend("RSA size")
}

/// Verifies with OpenSSL. Every failure, including a malformed signature that OpenSSL reports as
/// an error rather than a mismatch, is [`CryptoError::BadSignature`].
pub(super) fn verify(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let pkey = &key.ossl;
    let bad = |_| CryptoError::BadSignature;
    let ok = match scheme {
        SignatureScheme::RsaPkcs1BareHash => {
            let rsa = pkey.rsa().map_err(bad)?;
            let k = usize::try_from(rsa.size()).map_err(|_| fail_size())?;
            // RFC 8017 §8.2.2 step 1: the signature is exactly as long as the modulus.
            if signature.len() != k {
                return Err(CryptoError::BadSignature);
            }
            // RSA_public_decrypt checks the type-1 padding 00 01 FF..FF 00 (at least 8 FF).
            let mut recovered = Zeroizing::new(vec![0u8; k]);
            let n = rsa
                .public_decrypt(signature, &mut recovered, Padding::PKCS1)
                .map_err(bad)?;
            let recovered = recovered.get(..n).ok_or(CryptoError::BadSignature)?;
            // Lengths are public; the contents are compared without early exit.
            recovered.len() == message.len() && bool::from(recovered.ct_eq(message))
        }
        SignatureScheme::RsaPkcs1 { hash } => {
            let mut verifier = Verifier::new(digest(hash), pkey).map_err(bad)?;
            verifier.set_rsa_padding(Padding::PKCS1).map_err(bad)?;
            verifier.verify_oneshot(signature, message).map_err(bad)?
        }
        SignatureScheme::RsaPss { hash } => {
            let mut verifier = Verifier::new(digest(hash), pkey).map_err(bad)?;
            verifier.set_rsa_padding(Padding::PKCS1_PSS).map_err(bad)?;
            verifier
                .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(bad)?;
            verifier.set_rsa_mgf1_md(digest(hash)).map_err(bad)?;
            verifier.verify_oneshot(signature, message).map_err(bad)?
        }
        SignatureScheme::Ecdsa { hash, format } => {
            let der;
            let der_signature = match format {
                EcdsaFormat::Der => signature,
                EcdsaFormat::Raw => {
                    der = rs_to_der(signature, half_len(key.kind, pkey)?)
                        .ok_or(CryptoError::BadSignature)?;
                    &der
                }
            };
            let mut verifier = Verifier::new(digest(hash), pkey).map_err(bad)?;
            verifier
                .verify_oneshot(der_signature, message)
                .map_err(bad)?
        }
        SignatureScheme::EcdsaBareHash => {
            let half = half_len(key.kind, pkey)?;
            // Exactly r‖s of the field length: no other length or encoding is accepted.
            if signature.len() != half * 2 || message.is_empty() {
                return Err(CryptoError::BadSignature);
            }
            let (r, s) = signature.split_at(half);
            let r = openssl::bn::BigNum::from_slice(r).map_err(bad)?;
            let s = openssl::bn::BigNum::from_slice(s).map_err(bad)?;
            let sig = openssl::ecdsa::EcdsaSig::from_private_components(r, s).map_err(bad)?;
            let ec = pkey.ec_key().map_err(bad)?;
            sig.verify(message, &ec).map_err(bad)?
        }
        SignatureScheme::Dsa { hash } => {
            let der =
                rs_to_der(signature, half_len(key.kind, pkey)?).ok_or(CryptoError::BadSignature)?;
            let mut verifier = Verifier::new(digest(hash), pkey).map_err(bad)?;
            verifier.verify_oneshot(&der, message).map_err(bad)?
        }
        SignatureScheme::Ed25519 | SignatureScheme::Ed448 => {
            let mut verifier = Verifier::new_without_digest(pkey).map_err(bad)?;
            verifier.verify_oneshot(signature, message).map_err(bad)?
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}
