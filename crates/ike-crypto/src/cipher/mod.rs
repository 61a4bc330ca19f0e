//! Protection of IKE messages: the encryption and integrity transforms of the IKE SA.
//!
//! [`Cipher`] covers the encryption transforms and [`Integrity`] the integrity transforms of
//! the IKEv2 Encrypted payload (RFC 7296 §3.14) and of IKEv1 Phase 1/2 message encryption (RFC
//! 2409 Appendix B). Both are built once per SA and direction from the key material the key
//! schedule derives (`SK_ei`/`SK_er`, `SK_ai`/`SK_ar`, IKEv1 `SKEYID_e` expanded), so the
//! backends' key setup is paid once.
//!
//! | Transform | RFC | Backend | Key material | IV | ICV |
//! | --- | --- | --- | --- | --- | --- |
//! | AES-CBC 128/192/256 | RFC 3602 | aws-lc-rs (`cipher`, no padding) | key | 16 | — |
//! | AES-CTR 128/192/256 | RFC 5930, RFC 3686 | aws-lc-rs (`cipher`) | key ‖ 4-byte nonce | 8 | — |
//! | AES-GCM, 16-byte ICV | RFC 5282, RFC 4106 | aws-lc-rs (`aead`) | key ‖ 4-byte salt | 8 | 16 |
//! | AES-GCM, 8/12-byte ICV | RFC 5282, RFC 4106 | OpenSSL EVP | key ‖ 4-byte salt | 8 | 8/12 |
//! | AES-CCM, 8/12/16-byte ICV | RFC 5282, RFC 4309 | RustCrypto `ccm` + `aes` | key ‖ 3-byte salt | 8 | 8/12/16 |
//! | ChaCha20-Poly1305 | RFC 7634, RFC 8439 | aws-lc-rs (`aead`) | key ‖ 4-byte salt | 8 | 16 |
//! | 3DES-CBC (legacy) | RFC 2451 | OpenSSL EVP (no padding) | 24-byte key | 8 | — |
//! | HMAC-MD5-96 (legacy) | RFC 2403 | RustCrypto `hmac` + `md-5` | 16 | | 12 |
//! | HMAC-SHA1-96 | RFC 2404 | aws-lc-rs (`hmac`) | 20 | | 12 |
//! | HMAC-SHA2-256-128/384-192/512-256 | RFC 4868 | aws-lc-rs (`hmac`) | 32/48/64 | | 16/24/32 |
//! | AES-XCBC-96 | RFC 3566 | [`crate::prf::aes_xcbc_mac`] | 16 | | 12 |
//! | AES-CMAC-96 | RFC 4494 | [`crate::prf::aes_cmac`] | 16 | | 12 |
//!
//! aws-lc-rs only offers full 16-byte GCM tags, and a truncated tag cannot be checked by
//! recomputing the full one without decrypting first, so the 8- and 12-byte variants go through
//! OpenSSL, whose EVP interface accepts short tags on both sides. A GCM tag of length t is the
//! first t bytes of the full tag (NIST SP 800-38D §5.2.1.2), which the tests check across the two
//! backends.
//!
//! # What the caller does
//! - Padding and the Pad Length byte of the Encrypted payload: [`EncrAlg::block_len`] is the
//!   alignment (16 for AES-CBC, 8 for 3DES, 1 for the counter-mode and AEAD transforms: RFC
//!   7296 §3.14 pads to the cipher's block size, and these are stream modes).
//! - Choosing the IV: random for CBC (RFC 7296 §3.14 requires it to be unpredictable); unique per
//!   key for CTR and the AEADs (a message counter is fine; RFC 5282 §3, RFC 7634 §2).
//! - The IKEv1 IV chain (RFC 2409 Appendix B): the next IV is the last ciphertext block of the
//!   previous message, or the hash of the Phase 1/2 material for the first message; the caller
//!   keeps it and passes it to [`Cipher::encrypt`] / [`Cipher::decrypt`].
//! - For AEAD transforms the associated data is the IKE header and the Encrypted payload header
//!   (RFC 5282 §5); [`Cipher::seal`] and [`Cipher::open`] take it as given.
//!
//! # Secrets
//! Key bytes kept by this module are zeroized on drop; the aws-lc-rs and RustCrypto key schedules
//! zeroize themselves. `Debug` shows only the algorithm.

mod encr;
mod integ;

pub use encr::{Cipher, EncrAlg};
pub use integ::{IntegAlg, Integrity};
