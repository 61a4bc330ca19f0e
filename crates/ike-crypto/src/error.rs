//! The crate's error type.

use thiserror::Error;

/// Why a cryptographic operation failed. Messages never contain secret material.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The algorithm or group is not implemented (or disabled by configuration).
    #[error("not implemented: {0}")]
    Unsupported(&'static str),
    /// A key, IV, nonce or output length is wrong for the algorithm.
    #[error("invalid length for {what}: {len}")]
    InvalidLength {
        /// What had the wrong length.
        what: &'static str,
        /// The length given.
        len: usize,
    },
    /// A peer's public value is not acceptable (out of range, not on the curve, in a small
    /// subgroup, or leading to an all-zero shared secret).
    #[error("invalid peer public value: {0}")]
    InvalidPublicValue(&'static str),
    /// Group parameters (New Group Mode) fail validation.
    #[error("invalid group parameters: {0}")]
    InvalidGroupParameters(&'static str),
    /// Authenticated decryption or an integrity check failed.
    #[error("integrity check failed")]
    IntegrityFailure,
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A key or certificate could not be parsed.
    #[error("could not parse {0}")]
    Parse(&'static str),
    /// A certificate chain did not validate.
    #[error("certificate validation failed: {0}")]
    Certificate(String),
    /// The random number generator failed.
    #[error("random number generator failure")]
    Rng,
    /// The backend library reported an error that has no better description.
    #[error("crypto backend error in {0}")]
    Backend(&'static str),
    /// A key of one algorithm was given to a signature scheme of another (for example an ECDSA
    /// key for an RSA scheme).
    #[error("a {key} key cannot be used for a {scheme} signature")]
    WrongKeyType {
        /// The key algorithm the scheme needs ("RSA", "ECDSA", "Ed25519", "Ed448", "DSA").
        scheme: &'static str,
        /// The algorithm of the key given.
        key: &'static str,
    },
}
