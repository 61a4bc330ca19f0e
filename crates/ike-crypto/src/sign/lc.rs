//! The aws-lc-rs fast path. Each function returns `None` (or `Ok(None)`) when aws-lc-rs does not
//! serve the key and scheme, and the caller falls back to OpenSSL.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as lc, RsaEncoding, UnparsedPublicKey, VerificationAlgorithm};

use super::key::{FastKey, PrivateInner};
use super::{Curve, EcdsaFormat, Hash, KeyKind, PublicKey, SignatureScheme};
use crate::CryptoError;

/// The hash aws-lc-rs pairs with each curve for signing (IKEv2 auth methods 9-11).
fn natural_hash(curve: Curve) -> Hash {
    match curve {
        Curve::P256 => Hash::Sha256,
        Curve::P384 => Hash::Sha384,
        Curve::P521 => Hash::Sha512,
    }
}

fn rsa_signing_encoding(scheme: SignatureScheme) -> Option<&'static dyn RsaEncoding> {
    Some(match scheme {
        SignatureScheme::RsaPkcs1 { hash } => match hash {
            Hash::Sha256 => &lc::RSA_PKCS1_SHA256,
            Hash::Sha384 => &lc::RSA_PKCS1_SHA384,
            Hash::Sha512 => &lc::RSA_PKCS1_SHA512,
            Hash::Sha1 => return None,
        },
        SignatureScheme::RsaPss { hash } => match hash {
            Hash::Sha256 => &lc::RSA_PSS_SHA256,
            Hash::Sha384 => &lc::RSA_PSS_SHA384,
            Hash::Sha512 => &lc::RSA_PSS_SHA512,
            Hash::Sha1 => return None,
        },
        _ => return None,
    })
}

/// Signs with aws-lc-rs, or `Ok(None)` if it does not serve this key and scheme.
pub(super) fn sign(
    key: &PrivateInner,
    scheme: SignatureScheme,
    message: &[u8],
) -> Result<Option<Vec<u8>>, CryptoError> {
    // aws-lc-rs ignores the generator argument and uses its own DRBG.
    let rng = SystemRandom::new();
    match (&key.fast, scheme) {
        (Some(FastKey::Rsa(pair)), _) => {
            let Some(encoding) = rsa_signing_encoding(scheme) else {
                return Ok(None);
            };
            let mut signature = vec![0u8; pair.public_modulus_len()];
            pair.sign(encoding, &rng, message, &mut signature)
                .map_err(|_| CryptoError::Backend("aws-lc-rs RSA signing"))?;
            Ok(Some(signature))
        }
        (Some(FastKey::Ecdsa { fixed, der }), SignatureScheme::Ecdsa { hash, format }) => {
            let KeyKind::Ec(curve) = key.kind else {
                return Ok(None);
            };
            if hash != natural_hash(curve) {
                return Ok(None);
            }
            let pair = match format {
                EcdsaFormat::Raw => fixed,
                EcdsaFormat::Der => der,
            };
            let signature = pair
                .sign(&rng, message)
                .map_err(|_| CryptoError::Backend("aws-lc-rs ECDSA signing"))?;
            Ok(Some(signature.as_ref().to_vec()))
        }
        (Some(FastKey::Ed25519(pair)), SignatureScheme::Ed25519) => {
            let signature = pair
                .try_sign(message)
                .map_err(|_| CryptoError::Backend("aws-lc-rs Ed25519 signing"))?;
            Ok(Some(signature.as_ref().to_vec()))
        }
        _ => Ok(None),
    }
}

/// The aws-lc-rs verification algorithm for a key and scheme, if it has one.
fn verification_algorithm(
    kind: KeyKind,
    scheme: SignatureScheme,
) -> Option<&'static dyn VerificationAlgorithm> {
    use EcdsaFormat::{Der, Raw};
    use Hash::{Sha1, Sha256, Sha384, Sha512};
    Some(match (kind, scheme) {
        (KeyKind::Rsa { bits }, _) if !(2048..=8192).contains(&bits) => return None,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPkcs1 { hash }) => match hash {
            Sha1 => &lc::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Sha256 => &lc::RSA_PKCS1_2048_8192_SHA256,
            Sha384 => &lc::RSA_PKCS1_2048_8192_SHA384,
            Sha512 => &lc::RSA_PKCS1_2048_8192_SHA512,
        },
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPss { hash }) => match hash {
            Sha256 => &lc::RSA_PSS_2048_8192_SHA256,
            Sha384 => &lc::RSA_PSS_2048_8192_SHA384,
            Sha512 => &lc::RSA_PSS_2048_8192_SHA512,
            Sha1 => return None,
        },
        (KeyKind::Ec(curve), SignatureScheme::Ecdsa { hash, format }) => {
            match (curve, hash, format) {
                (Curve::P256, Sha256, Raw) => &lc::ECDSA_P256_SHA256_FIXED,
                (Curve::P384, Sha384, Raw) => &lc::ECDSA_P384_SHA384_FIXED,
                (Curve::P521, Sha1, Raw) => &lc::ECDSA_P521_SHA1_FIXED,
                (Curve::P521, Sha256, Raw) => &lc::ECDSA_P521_SHA256_FIXED,
                (Curve::P521, Sha384, Raw) => &lc::ECDSA_P521_SHA384_FIXED,
                (Curve::P521, Sha512, Raw) => &lc::ECDSA_P521_SHA512_FIXED,
                (Curve::P256, Sha1, Der) => &lc::ECDSA_P256_SHA1_ASN1,
                (Curve::P256, Sha256, Der) => &lc::ECDSA_P256_SHA256_ASN1,
                (Curve::P256, Sha384, Der) => &lc::ECDSA_P256_SHA384_ASN1,
                (Curve::P256, Sha512, Der) => &lc::ECDSA_P256_SHA512_ASN1,
                (Curve::P384, Sha256, Der) => &lc::ECDSA_P384_SHA256_ASN1,
                (Curve::P384, Sha384, Der) => &lc::ECDSA_P384_SHA384_ASN1,
                (Curve::P384, Sha512, Der) => &lc::ECDSA_P384_SHA512_ASN1,
                (Curve::P521, Sha1, Der) => &lc::ECDSA_P521_SHA1_ASN1,
                (Curve::P521, Sha256, Der) => &lc::ECDSA_P521_SHA256_ASN1,
                (Curve::P521, Sha384, Der) => &lc::ECDSA_P521_SHA384_ASN1,
                (Curve::P521, Sha512, Der) => &lc::ECDSA_P521_SHA512_ASN1,
                _ => return None,
            }
        }
        (KeyKind::Ed25519, SignatureScheme::Ed25519) => &lc::ED25519,
        _ => return None,
    })
}

/// Verifies with aws-lc-rs, or `None` if it does not serve this key and scheme.
pub(super) fn verify(
    key: &PublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Option<Result<(), CryptoError>> {
    let algorithm = verification_algorithm(key.kind, scheme)?;
    Some(
        UnparsedPublicKey::new(algorithm, &key.lc_bytes)
            .verify(message, signature)
            .map_err(|_| CryptoError::BadSignature),
    )
}
