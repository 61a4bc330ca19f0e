//! The IKEv2 key schedule (RFC 7296 §2.13-§2.18) and its update for additional key exchanges
//! (RFC 9370 §2.2.2, §2.3).
//!
//! ```text
//! SKEYSEED = prf(Ni | Nr, g^ir)
//! {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//! KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr)                       (Child SA)
//! SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)                  (IKE SA rekey)
//! ```
//!
//! With additional key exchanges in IKE_FOLLOWUP_KE (RFC 9370 §2.2.4) their shared secrets
//! `SK(1) | ... | SK(n)` follow the nonces: `KEYMAT = prf+(SK_d, SK(0) | Ni | Nr | SK(1) | ...
//! | SK(n))`, and likewise for the SKEYSEED of a rekeyed IKE SA, so that without them the
//! RFC 7296 formulas are unchanged.

use crate::prf::{prf_plus_parts, PrfAlg};
use crate::{CryptoError, Secret};

/// The key for SKEYSEED: `Ni | Nr`, except that a PRF with a fixed key size takes half its key
/// from the start of each nonce (RFC 7296 §2.14; RFC 4434 and RFC 4615 for the AES PRFs).
fn nonce_key(prf: PrfAlg, ni: &[u8], nr: &[u8]) -> Vec<u8> {
    if prf.has_fixed_key() {
        let half = prf.key_len() / 2;
        let mut k = Vec::with_capacity(prf.key_len());
        k.extend(ni.iter().take(half));
        k.extend(nr.iter().take(half));
        k
    } else {
        [ni, nr].concat()
    }
}

/// `SKEYSEED = prf(Ni | Nr, g^ir)` (RFC 7296 §2.14).
pub fn skeyseed(prf: PrfAlg, ni: &[u8], nr: &[u8], gir: &[u8]) -> Secret {
    let key = zeroize::Zeroizing::new(nonce_key(prf, ni, nr));
    prf.compute(&key, &[gir])
}

/// The derived keying material `prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)`, `len` bytes (RFC 7296
/// §2.14; ACVP calls it DKM).
pub fn dkm(
    prf: PrfAlg,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8],
    spi_r: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    prf_plus_parts(prf, skeyseed, &[ni, nr, spi_i, spi_r], len)
}

/// Child SA keying material `prf+(SK_d, [g^ir (new)] | Ni | Nr)` (RFC 7296 §2.17), `len`
/// bytes. Pass `None` for a Child SA without PFS. With RFC 9370 additional key exchanges, pass
/// their shared secrets in order as `extra`: they follow the nonces (RFC 9370 §2.2.4).
pub fn child_keymat(
    prf: PrfAlg,
    sk_d: &[u8],
    gir_new: Option<&[u8]>,
    extra: &[&[u8]],
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    let mut seed: Vec<&[u8]> = Vec::with_capacity(extra.len() + 3);
    seed.extend(gir_new);
    seed.push(ni);
    seed.push(nr);
    seed.extend_from_slice(extra);
    prf_plus_parts(prf, sk_d, &seed, len)
}

/// SKEYSEED of a rekeyed IKE SA, `prf(SK_d (old), g^ir (new) | Ni | Nr)` (RFC 7296 §2.18).
/// With RFC 9370 additional key exchanges, their shared secrets go in `extra`, after the nonces
/// (RFC 9370 §2.2.4: `prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ... | SK(n))`).
pub fn rekey_skeyseed(
    prf: PrfAlg,
    sk_d_old: &[u8],
    gir_new: &[u8],
    extra: &[&[u8]],
    ni: &[u8],
    nr: &[u8],
) -> Secret {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(extra.len() + 3);
    parts.push(gir_new);
    parts.push(ni);
    parts.push(nr);
    parts.extend_from_slice(extra);
    prf.compute(sk_d_old, &parts)
}

/// SKEYSEED after the n-th additional key exchange in IKE_INTERMEDIATE (RFC 9370 §2.2.2):
/// `SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr)`; the SK_* keys then follow from [`dkm`] with
/// the same nonces and SPIs.
pub fn intermediate_skeyseed(
    prf: PrfAlg,
    sk_d_prev: &[u8],
    shared: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Secret {
    prf.compute(sk_d_prev, &[shared, ni, nr])
}

/// The seven keys of an IKE SA (RFC 7296 §2.14), in the order prf+ produces them.
#[derive(Debug)]
pub struct IkeSaKeys {
    /// SK_d: for deriving Child SA keys and rekeying.
    pub sk_d: Secret,
    /// SK_ai: integrity key for messages from the initiator (empty with an AEAD).
    pub sk_ai: Secret,
    /// SK_ar: integrity key for messages from the responder.
    pub sk_ar: Secret,
    /// SK_ei: encryption key material (key and salt) for messages from the initiator.
    pub sk_ei: Secret,
    /// SK_er: encryption key material for messages from the responder.
    pub sk_er: Secret,
    /// SK_pi: for the initiator's AUTH payload.
    pub sk_pi: Secret,
    /// SK_pr: for the responder's AUTH payload.
    pub sk_pr: Secret,
}

/// Splits `prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)` into the seven keys. SK_d, SK_pi and SK_pr
/// have the PRF's preferred key length; `integ_key_len` is 0 for AEAD ciphers;
/// `encr_key_len` includes any salt.
pub fn ike_sa_keys(
    prf: PrfAlg,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8],
    spi_r: &[u8],
    integ_key_len: usize,
    encr_key_len: usize,
) -> Result<IkeSaKeys, CryptoError> {
    let p = prf.key_len();
    let total = 3 * p + 2 * integ_key_len + 2 * encr_key_len;
    let mut km = dkm(prf, skeyseed, ni, nr, spi_i, spi_r, total)?;
    let mut take = |n| km.take_prefix(n).ok_or(CryptoError::Backend("key split"));
    Ok(IkeSaKeys {
        sk_d: take(p)?,
        sk_ai: take(integ_key_len)?,
        sk_ar: take(integ_key_len)?,
        sk_ei: take(encr_key_len)?,
        sk_er: take(encr_key_len)?,
        sk_pi: take(p)?,
        sk_pr: take(p)?,
    })
}

/// `MACedIDForI = prf(SK_pi, RestOfInitIDPayload)` (RFC 7296 §2.15): `id_payload_body` is the
/// ID payload without its generic header (ID type, three reserved bytes, data). The same with
/// SK_pr gives MACedIDForR.
pub fn maced_id(prf: PrfAlg, sk_p: &[u8], id_payload_body: &[u8]) -> Secret {
    prf.compute(sk_p, &[id_payload_body])
}

/// The octets an AUTH payload signs or MACs (RFC 7296 §2.15):
/// `RealMessage | NonceData of the peer | MACedID`, plus, after IKE_INTERMEDIATE exchanges
/// (RFC 9242 §3.3.2), `IntAuth` (`IntAuth_i | IntAuth_r | IKE_AUTH message ID`).
pub fn signed_octets(
    real_message: &[u8],
    peer_nonce: &[u8],
    maced_id: &[u8],
    int_auth: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        real_message.len() + peer_nonce.len() + maced_id.len() + int_auth.map_or(0, <[u8]>::len),
    );
    out.extend_from_slice(real_message);
    out.extend_from_slice(peer_nonce);
    out.extend_from_slice(maced_id);
    out.extend_from_slice(int_auth.unwrap_or_default());
    out
}

/// The pad string of RFC 7296 §2.15.
pub const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// AUTH data for shared-key authentication (RFC 7296 §2.15):
/// `prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)`. Also the AUTH of EAP methods
/// that produce an MSK, with the MSK as the shared secret.
pub fn psk_auth(prf: PrfAlg, psk: &[u8], signed_octets: &[u8]) -> Secret {
    let inner = prf.compute(psk, &[KEY_PAD]);
    prf.compute(inner.expose(), &[signed_octets])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prf::prf_plus;

    /// RFC 9370 §2.2.4: the additional shared secrets come after the nonces, not before.
    #[test]
    fn additional_secrets_follow_the_nonces() {
        let prf = PrfAlg::HmacSha256;
        let (sk_d, g, ni, nr, s1, s2) =
            ([1u8; 32], [2u8; 32], [3u8; 16], [4u8; 16], [5; 32], [6; 32]);
        let seed = [&g[..], &ni, &nr, &s1, &s2].concat();
        let keymat = child_keymat(prf, &sk_d, Some(&g), &[&s1, &s2], &ni, &nr, 80).unwrap();
        assert_eq!(
            keymat.expose(),
            prf_plus(prf, &sk_d, &seed, 80).unwrap().expose()
        );
        let skeyseed = rekey_skeyseed(prf, &sk_d, &g, &[&s1, &s2], &ni, &nr);
        assert_eq!(skeyseed.expose(), prf.compute(&sk_d, &[&seed]).expose());
        // Without them, the RFC 7296 formulas.
        let plain = child_keymat(prf, &sk_d, Some(&g), &[], &ni, &nr, 80).unwrap();
        assert_ne!(plain.expose(), keymat.expose());
        assert_eq!(
            plain.expose(),
            prf_plus(prf, &sk_d, &[&g[..], &ni, &nr].concat(), 80)
                .unwrap()
                .expose()
        );
    }
}
