//! Pseudorandom functions (RFC 7296 §2.13 and §3.3.2, RFC 2409 §4) and `prf+` (RFC 7296 §2.13).
//!
//! | PRF | Backend | Output | Key |
//! | --- | --- | --- | --- |
//! | HMAC-MD5 (IKEv1 legacy) | `hmac` + `md-5` | 16 | any |
//! | HMAC-SHA1 | aws-lc-rs | 20 | any |
//! | HMAC-SHA2-256/384/512 | aws-lc-rs | 32/48/64 | any |
//! | AES128-XCBC (RFC 4434) | `aes` block function, XCBC by hand (RFC 3566) | 16 | any, adjusted to 16 |
//! | AES128-CMAC (RFC 4615) | `cmac` | 16 | any, adjusted to 16 |
//!
//! The IKEv1 PRF is the HMAC of the negotiated hash unless a PRF attribute is negotiated (RFC
//! 2409 §4), so [`PrfAlg::from_ikev1_hash`] maps a hash to its HMAC.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use aws_lc_rs::{digest, hmac};
use cmac::Mac as _;
use ike_wire::v1::OakleyHash;
use ike_wire::v2::PrfId;
use zeroize::Zeroizing;

use crate::{CryptoError, Secret};

/// A negotiated pseudorandom function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrfAlg {
    /// HMAC-MD5 (RFC 2104); IKEv1 legacy and IKEv2 PRF_HMAC_MD5.
    HmacMd5,
    /// HMAC-SHA1.
    HmacSha1,
    /// HMAC-SHA2-256 (RFC 4868).
    HmacSha256,
    /// HMAC-SHA2-384 (RFC 4868).
    HmacSha384,
    /// HMAC-SHA2-512 (RFC 4868).
    HmacSha512,
    /// AES-XCBC-PRF-128 (RFC 4434).
    Aes128Xcbc,
    /// AES-CMAC-PRF-128 (RFC 4615).
    Aes128Cmac,
}

impl PrfAlg {
    /// The PRF of an IKEv2 transform of type 2.
    pub fn from_ikev2(id: PrfId) -> Result<Self, CryptoError> {
        Ok(match id {
            PrfId::HmacMd5 => Self::HmacMd5,
            PrfId::HmacSha1 => Self::HmacSha1,
            PrfId::HmacSha256 => Self::HmacSha256,
            PrfId::HmacSha384 => Self::HmacSha384,
            PrfId::HmacSha512 => Self::HmacSha512,
            PrfId::Aes128Xcbc => Self::Aes128Xcbc,
            PrfId::Aes128Cmac => Self::Aes128Cmac,
            _ => return Err(CryptoError::Unsupported("PRF transform")),
        })
    }

    /// The IKEv1 PRF for a negotiated Oakley hash: its HMAC (RFC 2409 §4).
    pub fn from_ikev1_hash(hash: OakleyHash) -> Result<Self, CryptoError> {
        Ok(match hash {
            OakleyHash::Md5 => Self::HmacMd5,
            OakleyHash::Sha1 => Self::HmacSha1,
            OakleyHash::Sha256 => Self::HmacSha256,
            OakleyHash::Sha384 => Self::HmacSha384,
            OakleyHash::Sha512 => Self::HmacSha512,
            _ => return Err(CryptoError::Unsupported("IKEv1 hash algorithm")),
        })
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::HmacMd5 | Self::Aes128Xcbc | Self::Aes128Cmac => 16,
            Self::HmacSha1 => 20,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// The preferred key length (RFC 7296 §2.13): the output length for HMACs, 16 for the AES
    /// PRFs. SK_d, SK_pi and SK_pr have this length.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Xcbc | Self::Aes128Cmac => 16,
            other => other.output_len(),
        }
    }

    /// Whether the PRF takes a fixed-size key (RFC 7296 §2.14 then builds SKEYSEED's key from
    /// the first half of each nonce).
    pub fn has_fixed_key(self) -> bool {
        matches!(self, Self::Aes128Xcbc | Self::Aes128Cmac)
    }

    /// `prf(key, data)` where the data is the concatenation of `parts`.
    pub fn compute(self, key: &[u8], parts: &[&[u8]]) -> Secret {
        match self {
            Self::HmacMd5 => {
                let mut mac = <hmac_md5::HmacMd5 as hmac_md5::KeyInit>::new_from_slice(key)
                    .unwrap_or_else(|_| hmac_md5::empty_key());
                for p in parts {
                    hmac_md5::Mac::update(&mut mac, p);
                }
                Secret::new(hmac_md5::Mac::finalize(mac).into_bytes().to_vec())
            }
            Self::HmacSha1 | Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512 => {
                let alg = match self {
                    Self::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                    Self::HmacSha256 => hmac::HMAC_SHA256,
                    Self::HmacSha384 => hmac::HMAC_SHA384,
                    _ => hmac::HMAC_SHA512,
                };
                let key = hmac::Key::new(alg, key);
                let mut ctx = hmac::Context::with_key(&key);
                for p in parts {
                    ctx.update(p);
                }
                Secret::from_slice(ctx.sign().as_ref())
            }
            Self::Aes128Xcbc => {
                let k = xcbc_prf_key(key);
                Secret::from_slice(&xcbc_mac_parts(&k, parts))
            }
            Self::Aes128Cmac => {
                let k = cmac_prf_key(key);
                Secret::from_slice(&cmac_parts(&k, parts))
            }
        }
    }

    /// The hash under an HMAC PRF, as IKEv1 uses it for SKEYID with public-key encryption and
    /// for the Phase 1 IV (RFC 2409 §5, Appendix B). The AES PRFs have none.
    pub fn hash(self, parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
        let alg = match self {
            Self::HmacMd5 => {
                let mut h = <md5::Md5 as md5::Digest>::new();
                for p in parts {
                    md5::Digest::update(&mut h, p);
                }
                return Ok(md5::Digest::finalize(h).to_vec());
            }
            Self::HmacSha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::HmacSha256 => &digest::SHA256,
            Self::HmacSha384 => &digest::SHA384,
            Self::HmacSha512 => &digest::SHA512,
            Self::Aes128Xcbc | Self::Aes128Cmac => {
                return Err(CryptoError::Unsupported("hash of an AES-based PRF"))
            }
        };
        let mut ctx = digest::Context::new(alg);
        for p in parts {
            ctx.update(p);
        }
        Ok(ctx.finish().as_ref().to_vec())
    }
}

/// The largest output `prf+` can give: 255 blocks (RFC 7296 §2.13, the counter is one octet).
pub fn prf_plus_max(prf: PrfAlg) -> usize {
    255 * prf.output_len()
}

/// `prf+ (K, S) = T1 | T2 | ...` with `T1 = prf(K, S | 0x01)` and
/// `Tn = prf(K, Tn-1 | S | n)` (RFC 7296 §2.13), truncated to `len` bytes.
pub fn prf_plus(prf: PrfAlg, key: &[u8], seed: &[u8], len: usize) -> Result<Secret, CryptoError> {
    prf_plus_parts(prf, key, &[seed], len)
}

/// [`prf_plus`] with the seed given as parts to concatenate.
pub fn prf_plus_parts(
    prf: PrfAlg,
    key: &[u8],
    seed: &[&[u8]],
    len: usize,
) -> Result<Secret, CryptoError> {
    if len > prf_plus_max(prf) {
        return Err(CryptoError::InvalidLength {
            what: "prf+ output (at most 255 blocks)",
            len,
        });
    }
    let mut out = Zeroizing::new(Vec::with_capacity(len + prf.output_len()));
    let mut previous = Secret::default();
    let mut counter: u8 = 1;
    while out.len() < len {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 2);
        parts.push(previous.expose());
        parts.extend_from_slice(seed);
        let c = [counter];
        parts.push(&c);
        previous = prf.compute(key, &parts);
        out.extend_from_slice(previous.expose());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    Ok(Secret::new(std::mem::take(&mut *out)))
}

// ---- AES-XCBC (RFC 3566) and AES-CMAC (RFC 4493) ----

fn aes_encrypt_block(cipher: &Aes128, block: &mut [u8; 16]) {
    let mut b = aes::Block::from(*block);
    cipher.encrypt_block(&mut b);
    block.copy_from_slice(&b);
}

/// AES-XCBC-MAC (RFC 3566 §4) with a 128-bit key: the full 16-byte MAC. AES-XCBC-MAC-96 is its
/// first 12 bytes.
pub fn aes_xcbc_mac(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
    xcbc_mac_parts(key, &[data])
}

fn xcbc_mac_parts(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let k = Aes128::new(&(*key).into());
    let mut k1 = Zeroizing::new([0x01u8; 16]);
    let mut k2 = Zeroizing::new([0x02u8; 16]);
    let mut k3 = Zeroizing::new([0x03u8; 16]);
    aes_encrypt_block(&k, &mut k1);
    aes_encrypt_block(&k, &mut k2);
    aes_encrypt_block(&k, &mut k3);
    let c1 = Aes128::new(&(*k1).into());

    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut e = [0u8; 16];
    let mut block = [0u8; 16];
    let mut filled = 0usize;
    let mut consumed = 0usize;
    for part in parts {
        for &byte in *part {
            if filled == 16 {
                // Only a block that is not the last one is processed here.
                for (x, y) in e.iter_mut().zip(block.iter()) {
                    *x ^= y;
                }
                aes_encrypt_block(&c1, &mut e);
                filled = 0;
            }
            if let Some(slot) = block.get_mut(filled) {
                *slot = byte;
            }
            filled += 1;
            consumed += 1;
        }
    }
    debug_assert_eq!(consumed, total);
    // The last block: complete (XOR K2) or padded with 10* (XOR K3); an empty message is one
    // padded block.
    let last_key: &[u8; 16] = if total > 0 && filled == 16 {
        &k2
    } else {
        if let Some(slot) = block.get_mut(filled) {
            *slot = 0x80;
        }
        for slot in block.iter_mut().skip(filled + 1) {
            *slot = 0;
        }
        &k3
    };
    for ((x, y), z) in e.iter_mut().zip(block.iter()).zip(last_key.iter()) {
        *x ^= y ^ z;
    }
    aes_encrypt_block(&c1, &mut e);
    e
}

/// The key AES-XCBC-PRF-128 uses for a key of any length (RFC 4434 §2): zero-padded when
/// shorter than 16 bytes, AES-XCBC-MAC(0^128, key) when longer.
fn xcbc_prf_key(key: &[u8]) -> Zeroizing<[u8; 16]> {
    let mut k = Zeroizing::new([0u8; 16]);
    match key.len() {
        n if n <= 16 => {
            if let Some(dst) = k.get_mut(..n) {
                dst.copy_from_slice(key);
            }
        }
        _ => *k = aes_xcbc_mac(&[0u8; 16], key),
    }
    k
}

/// AES-CMAC (RFC 4493) with a 128-bit key. AES-CMAC-96 is its first 12 bytes.
pub fn aes_cmac(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
    cmac_parts(key, &[data])
}

fn cmac_parts(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <cmac::Cmac<Aes128> as KeyInit>::new(&(*key).into());
    for p in parts {
        mac.update(p);
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The key AES-CMAC-PRF-128 uses (RFC 4615 §3): the key itself if 16 bytes, else
/// AES-CMAC(0^128, key).
fn cmac_prf_key(key: &[u8]) -> Zeroizing<[u8; 16]> {
    let mut k = Zeroizing::new([0u8; 16]);
    match <[u8; 16]>::try_from(key) {
        Ok(exact) => *k = exact,
        Err(_) => *k = aes_cmac(&[0u8; 16], key),
    }
    k
}

/// HMAC-MD5 through the RustCrypto crates (aws-lc-rs has no MD5 HMAC).
mod hmac_md5 {
    pub use hmac::{digest::KeyInit, Mac};
    pub type HmacMd5 = hmac::Hmac<md5::Md5>;

    /// HMAC accepts keys of every length, so this is never reached; it exists to avoid a panic
    /// path in the caller.
    pub fn empty_key() -> HmacMd5 {
        <HmacMd5 as hmac::digest::KeyInit>::new(&Default::default())
    }
}
