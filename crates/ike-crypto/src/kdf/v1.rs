//! The IKEv1 key schedule (RFC 2409 §5, §5.5, §5.6 and Appendix B).
//!
//! ```text
//! SKEYID = prf(Ni_b | Nr_b, g^xy)                      signatures
//! SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R)       public key encryption (both modes)
//! SKEYID = prf(pre-shared-key, Ni_b | Nr_b)            pre-shared keys
//! SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//! SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//! SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//! HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//! HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
//! ```
//! `Ni_b`/`Nr_b` are nonce payload bodies, `SAi_b` the initiator's whole SA payload body, `IDii_b`
//! an ID payload body (all without generic headers); `g^xy` is the shared secret.

use crate::prf::PrfAlg;
use crate::{CryptoError, Secret};

/// SKEYID for signature authentication: `prf(Ni_b | Nr_b, g^xy)`.
pub fn skeyid_sig(prf: PrfAlg, ni: &[u8], nr: &[u8], gxy: &[u8]) -> Secret {
    let key = zeroize::Zeroizing::new([ni, nr].concat());
    prf.compute(&key, &[gxy])
}

/// SKEYID for public-key encryption, both the original and the revised mode:
/// `prf(hash(Ni_b | Nr_b), CKY-I | CKY-R)` where `hash` is the negotiated hash (the one under
/// the HMAC PRF).
pub fn skeyid_pke(
    prf: PrfAlg,
    ni: &[u8],
    nr: &[u8],
    cky_i: &[u8],
    cky_r: &[u8],
) -> Result<Secret, CryptoError> {
    let key = zeroize::Zeroizing::new(prf.hash(&[ni, nr])?);
    Ok(prf.compute(&key, &[cky_i, cky_r]))
}

/// SKEYID for pre-shared keys: `prf(pre-shared-key, Ni_b | Nr_b)`.
pub fn skeyid_psk(prf: PrfAlg, psk: &[u8], ni: &[u8], nr: &[u8]) -> Secret {
    prf.compute(psk, &[ni, nr])
}

/// SKEYID_d, SKEYID_a and SKEYID_e.
#[derive(Debug)]
pub struct SkeyidDae {
    /// SKEYID_d: for Phase 2 keying material.
    pub skeyid_d: Secret,
    /// SKEYID_a: for authenticating ISAKMP messages (HASH payloads).
    pub skeyid_a: Secret,
    /// SKEYID_e: for encrypting ISAKMP messages (expanded by [`encryption_key`]).
    pub skeyid_e: Secret,
}

/// SKEYID_d, SKEYID_a and SKEYID_e from SKEYID (RFC 2409 §5).
pub fn skeyid_d_a_e(
    prf: PrfAlg,
    skeyid: &[u8],
    gxy: &[u8],
    cky_i: &[u8],
    cky_r: &[u8],
) -> SkeyidDae {
    let skeyid_d = prf.compute(skeyid, &[gxy, cky_i, cky_r, &[0]]);
    let skeyid_a = prf.compute(skeyid, &[skeyid_d.expose(), gxy, cky_i, cky_r, &[1]]);
    let skeyid_e = prf.compute(skeyid, &[skeyid_a.expose(), gxy, cky_i, cky_r, &[2]]);
    SkeyidDae {
        skeyid_d,
        skeyid_a,
        skeyid_e,
    }
}

/// The encryption key of the ISAKMP SA (RFC 2409 Appendix B): the first `key_len` bytes of
/// SKEYID_e, or, when SKEYID_e is shorter, of `Ka = K1 | K2 | ...` with `K1 = prf(SKEYID_e, 0)`
/// (a single zero octet) and `Kn = prf(SKEYID_e, Kn-1)`.
pub fn encryption_key(prf: PrfAlg, skeyid_e: &[u8], key_len: usize) -> Result<Secret, CryptoError> {
    if key_len > 64 * prf.output_len() {
        return Err(CryptoError::InvalidLength {
            what: "IKEv1 encryption key",
            len: key_len,
        });
    }
    if skeyid_e.len() >= key_len {
        return Ok(Secret::from_slice(
            skeyid_e.get(..key_len).unwrap_or_default(),
        ));
    }
    let mut ka = zeroize::Zeroizing::new(Vec::with_capacity(key_len + prf.output_len()));
    let mut k = prf.compute(skeyid_e, &[&[0]]);
    ka.extend_from_slice(k.expose());
    while ka.len() < key_len {
        k = prf.compute(skeyid_e, &[k.expose()]);
        ka.extend_from_slice(k.expose());
    }
    ka.truncate(key_len);
    Ok(Secret::new(std::mem::take(&mut *ka)))
}

/// The IV of the first encrypted Phase 1 message: `hash(g^xi | g^xr)` truncated to the cipher's
/// block size (RFC 2409 Appendix B). `gxi` and `gxr` are the KE payload bodies.
pub fn phase1_iv(
    prf: PrfAlg,
    gxi: &[u8],
    gxr: &[u8],
    block_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    truncated(prf.hash(&[gxi, gxr])?, block_len)
}

/// The first IV of a Phase 2 or Informational exchange: `hash(last Phase 1 CBC output block |
/// M-ID)` truncated to the block size (RFC 2409 Appendix B). Later messages of the exchange
/// chain from the previous message's last ciphertext block, which the caller tracks.
pub fn phase2_iv(
    prf: PrfAlg,
    last_phase1_block: &[u8],
    message_id: u32,
    block_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    truncated(
        prf.hash(&[last_phase1_block, &message_id.to_be_bytes()])?,
        block_len,
    )
}

fn truncated(mut v: Vec<u8>, len: usize) -> Result<Vec<u8>, CryptoError> {
    if v.len() < len {
        return Err(CryptoError::InvalidLength {
            what: "hash shorter than the cipher block",
            len: v.len(),
        });
    }
    v.truncate(len);
    Ok(v)
}

/// HASH_I (RFC 2409 §5): `prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)`.
pub fn hash_i(
    prf: PrfAlg,
    skeyid: &[u8],
    gxi: &[u8],
    gxr: &[u8],
    cky_i: &[u8],
    cky_r: &[u8],
    sai_b: &[u8],
    idii_b: &[u8],
) -> Secret {
    prf.compute(skeyid, &[gxi, gxr, cky_i, cky_r, sai_b, idii_b])
}

/// HASH_R (RFC 2409 §5): `prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)`.
pub fn hash_r(
    prf: PrfAlg,
    skeyid: &[u8],
    gxi: &[u8],
    gxr: &[u8],
    cky_i: &[u8],
    cky_r: &[u8],
    sai_b: &[u8],
    idir_b: &[u8],
) -> Secret {
    prf.compute(skeyid, &[gxr, gxi, cky_r, cky_i, sai_b, idir_b])
}

/// Quick Mode HASH(1) (RFC 2409 §5.5): `prf(SKEYID_a, M-ID | <the message after the HASH
/// payload>)`: `rest` is every payload that follows HASH(1), with generic headers (SA, Ni,
/// optional KE and IDs).
pub fn qm_hash1(prf: PrfAlg, skeyid_a: &[u8], message_id: u32, rest: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), rest])
}

/// Quick Mode HASH(2): `prf(SKEYID_a, M-ID | Ni_b | <the message after the HASH payload>)`.
pub fn qm_hash2(prf: PrfAlg, skeyid_a: &[u8], message_id: u32, ni_b: &[u8], rest: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), ni_b, rest])
}

/// Quick Mode HASH(3): `prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)`.
pub fn qm_hash3(prf: PrfAlg, skeyid_a: &[u8], message_id: u32, ni_b: &[u8], nr_b: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&[0], &message_id.to_be_bytes(), ni_b, nr_b])
}

/// The HASH of an Informational exchange or of New Group Mode (RFC 2409 §5.6, §5.7):
/// `prf(SKEYID_a, M-ID | <the payloads after the HASH payload>)`.
pub fn informational_hash(prf: PrfAlg, skeyid_a: &[u8], message_id: u32, rest: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), rest])
}

/// Quick Mode KEYMAT (RFC 2409 §5.5) for one SA and direction, `len` bytes:
/// `K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)` and
/// `Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)`. Pass `None` without
/// PFS. `spi` is the SPI of the receiving side of that direction.
pub fn keymat(
    prf: PrfAlg,
    skeyid_d: &[u8],
    gxy_qm: Option<&[u8]>,
    protocol: u8,
    spi: &[u8],
    ni_b: &[u8],
    nr_b: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    if len > 255 * prf.output_len() {
        return Err(CryptoError::InvalidLength {
            what: "KEYMAT",
            len,
        });
    }
    let proto = [protocol];
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(len + prf.output_len()));
    let mut prev = Secret::default();
    while out.len() < len {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(6);
        if !prev.is_empty() {
            parts.push(prev.expose());
        }
        parts.extend(gxy_qm);
        parts.extend_from_slice(&[&proto, spi, ni_b, nr_b]);
        prev = prf.compute(skeyid_d, &parts);
        out.extend_from_slice(prev.expose());
    }
    out.truncate(len);
    Ok(Secret::new(std::mem::take(&mut *out)))
}
