//! Key derivation: the IKEv1 (RFC 2409 §5, Appendix B) and IKEv2 (RFC 7296 §2.13-§2.18, RFC
//! 9370) key schedules, as public functions over plain byte slices so that they can be checked
//! against published vectors (NIST ACVP, OpenSSL's evpkdf_ikev2 set).
//!
//! The functions take the RFC formulas' inputs one by one as byte slices, even where that makes
//! eight arguments: a struct would hide which octets go where, which is the point of checking
//! them against the RFC text.
#![allow(clippy::too_many_arguments)]

pub mod v1;
pub mod v2;

pub use crate::prf::{prf_plus, PrfAlg};
