//! Every transform that IKEv1 (RFC 2409) and IKEv2 (RFC 7296) negotiate, and both key schedules.
//!
//! The protocol engines compute nothing themselves: they call this crate. Key derivation
//! functions are public functions over plain byte slices ([`kdf::v1`], [`kdf::v2`]) so that anyone
//! can check them against published vectors.
//!
//! # Backends
//! - **aws-lc-rs** for the hot path, where it was the fastest candidate measured on these
//!   machines: X25519, P-256/384/521 ECDH, ML-KEM, AES-GCM, ChaCha20-Poly1305, AES-CBC/CTR,
//!   HMAC-SHA1/SHA2, RSA and ECDSA and Ed25519 signatures.
//! - **OpenSSL** (the system library through the `openssl` crate) for what aws-lc-rs lacks:
//!   finite-field Diffie-Hellman over arbitrary MODP groups (constant-time modular exponentiation),
//!   brainpool and the 192/224-bit NIST curves, X448/Ed448, DSA, RSA PKCS#1 v1.5 signatures over a
//!   bare hash (IKEv1), RSA-SHA1 signing, 3DES, AES-GCM with 8- and 12-byte ICVs (aws-lc-rs only
//!   has 16-byte tags), raw RSA for PKCS#1 v1.5 decryption, and X.509 chain validation.
//! - **RustCrypto** crates for small legacy pieces: HMAC-MD5 (`hmac` + `md-5`), AES-CMAC
//!   (`cmac`), AES-CCM (`ccm`), and the AES block function that AES-XCBC (RFC 3566) is built on.
//! - **By hand**, because no crate offers them: the EC2N groups 3 and 4 of RFC 2409 §6.3-6.4 and
//!   the AES-XCBC construction.
//!
//! The `rsa` crate is not used for private-key operations (RUSTSEC-2023-0071).
//!
//! # Secrets
//! Private keys, shared secrets, SKEYID*, SK_* and PSKs live in [`Secret`], which is zeroized on
//! drop and prints as `Secret(<redacted N bytes>)`.
//!
//! # Randomness
//! Everything random comes through the [`rng::Rng`] trait, so tests can fix nonces and DH secrets.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cipher;
pub mod dh;
mod error;
pub mod kdf;
pub mod pke;
pub mod prf;
pub mod rng;
mod secret;
pub mod sign;
pub mod x509;

pub use error::CryptoError;
pub use secret::Secret;

/// Compares two byte strings in constant time (for their common length; different lengths are
/// unequal, which leaks only the lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
