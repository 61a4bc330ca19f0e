//! RSA PKCS#1 v1.5 encryption (RFC 8017 §7.2) for IKEv1 public-key-encryption authentication
//! (RFC 2409 §5.2 and the revised mode of §5.3), with a decryption that gives no padding oracle.
//!
//! # Why this is careful
//! "The Dangers of Key Reuse: Practical Attacks on IPsec IKE" (Felsch, Grothe, Schwenk, Czubak,
//! Szymanek; USENIX Security 2018) broke the IKEv1 PKE modes of Cisco, Huawei, Clavister and
//! ZyXEL with Bleichenbacher's attack: the responder behaved differently when the decrypted nonce
//! or identity was not PKCS#1 conformant, and the same RSA key then forged IKEv2 signatures. So
//! [`PkeDecryptor::decrypt`] never fails and never branches on the padding: it returns bytes for
//! every ciphertext, and a bad ciphertext's bytes simply make authentication fail later, exactly
//! as a good ciphertext with the wrong content does.
//!
//! # Decryption design (implicit rejection)
//! The construction is the "implicit rejection" of draft-irtf-cfrg-rsa-guidance (Kario), which
//! OpenSSL 3.2 ships as its default; ours is bit-compatible with it (tested against its vectors):
//!
//! 1. At construction, the implicit-rejection key `K = SHA-256(I2OSP(d, k))` is derived from the
//!    private exponent `d` and the modulus length `k`, and kept in a zeroized [`Secret`].
//! 2. `KDK = HMAC-SHA256(K, C)`, with the ciphertext `C` left-padded with zeros to `k` octets.
//! 3. From `KDK`, `PRF(label) = HMAC-SHA256(KDK, I2OSP(i, 2) ‖ label ‖ I2OSP(bits, 2))` for
//!    `i = 0, 1, …` gives a `k`-octet synthetic block (label `"message"`) and 128 candidate
//!    lengths (label `"length"`); the synthetic length is the last candidate, masked to the bit
//!    width of `k - 10`, that is below `k - 10`, chosen with constant-time selects. With an
//!    `expected_len_hint`, the hint is the synthetic length instead, and a real message of any
//!    other length is rejected too (as TLS does for its 48-byte premaster secret), so the output
//!    length never depends on validity.
//! 4. Raw RSA (`Rsa::private_decrypt` with `Padding::NONE`: OpenSSL's blinded, constant-time
//!    CRT exponentiation) gives the encoded block `EM`.
//! 5. The padding `00 02 PS 00 M` with `|PS| >= 8` is checked in constant time over all `k`
//!    octets with `subtle` (`ct_eq`, `conditional_assign`), giving a `Choice` and the message
//!    length; no early exit, no branch on any byte of `EM`.
//! 6. Every octet of the output block is `conditional_select`ed between `EM` and the synthetic
//!    block, and the length between the two lengths; the message is the tail of that block.
//!
//! The steps run in the same order for every ciphertext, which a test checks by recording
//! them. What the caller learns is the returned bytes and their length; slicing the tail leaks
//! the length through memory access, which the length of the result reveals anyway.
//!
//! Publicly malformed ciphertexts — not exactly `k` octets, or not below the modulus — skip
//! step 4 (a branch on public data only: anyone can check these without the key) and get the
//! synthetic message. OpenSSL reports such input as an error; we keep the API infallible so
//! that no caller can grow an error path out of it.
//!
//! Keys must have 1024 to 16384-bit moduli (the upper bound keeps the PRF's bit-length field
//! within 16 bits).

use aws_lc_rs::{digest, hmac};
use openssl::bn::BigNum;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

use crate::rng::Rng;
use crate::{CryptoError, Secret};

/// Smallest accepted modulus, in bits.
const MIN_BITS: u32 = 1024;
/// Largest accepted modulus, in bits (the PRF encodes `8 * k` in 16 bits).
const MAX_BITS: u32 = 16384;
/// PKCS#1 v1.5 overhead: `00 02`, at least 8 octets of PS, `00`.
const OVERHEAD: usize = 11;

/// Test-only recording of the steps [`PkeDecryptor::decrypt`] runs, so a test can show that good
/// and bad ciphertexts take the same path. Compiles to nothing outside tests.
#[cfg(test)]
mod trace {
    use std::cell::RefCell;

    thread_local! {
        static STEPS: RefCell<Vec<(&'static str, usize)>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn step(name: &'static str, work: usize) {
        STEPS.with(|s| s.borrow_mut().push((name, work)));
    }

    pub(super) fn take() -> Vec<(&'static str, usize)> {
        STEPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }
}

#[cfg(not(test))]
mod trace {
    #[inline(always)]
    pub(super) fn step(_name: &'static str, _work: usize) {}
}

fn rsa_bits_ok(bits: u32) -> Result<(), CryptoError> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(CryptoError::InvalidLength {
            what: "RSA modulus (bits)",
            len: bits as usize,
        })
    }
}

/// Encrypts `plaintext` to the RSA key in `public_key_spki_der` (a DER SubjectPublicKeyInfo, as
/// [`crate::x509::Certificate::spki_der`] returns) with PKCS#1 v1.5 type 2 padding. The padding
/// string's nonzero octets come from `rng`, so tests can fix them; the RSA operation itself is
/// raw (`Padding::NONE`). The plaintext may be at most `k - 11` octets.
pub fn encrypt(
    public_key_spki_der: &[u8],
    plaintext: &[u8],
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, CryptoError> {
    let rsa = PKey::public_key_from_der(public_key_spki_der)
        .map_err(|_| CryptoError::Parse("RSA SubjectPublicKeyInfo"))?
        .rsa()
        .map_err(|_| CryptoError::Unsupported("PKE with a non-RSA key"))?;
    rsa_bits_ok(rsa.n().num_bits().unsigned_abs())?;
    let k = rsa.size() as usize;
    let ps_len = k
        .checked_sub(plaintext.len() + 3)
        .filter(|n| *n >= OVERHEAD - 3)
        .ok_or(CryptoError::InvalidLength {
            what: "PKCS#1 v1.5 plaintext",
            len: plaintext.len(),
        })?;

    let mut em = Zeroizing::new(vec![0u8; k]);
    let (header, rest) = em.split_at_mut(2);
    header.copy_from_slice(&[0x00, 0x02]);
    let (ps, rest) = rest.split_at_mut(ps_len);
    fill_nonzero(rng, ps)?;
    let (sep, msg) = rest.split_at_mut(1);
    sep.copy_from_slice(&[0x00]);
    msg.copy_from_slice(plaintext);

    let mut out = vec![0u8; k];
    let n = rsa
        .public_encrypt(&em, &mut out, Padding::NONE)
        .map_err(|_| CryptoError::Backend("RSA public_encrypt"))?;
    out.truncate(n);
    Ok(out)
}

/// Fills `buf` with nonzero octets from `rng`, redrawing zeros (RFC 8017 §7.2.1 step 2b).
fn fill_nonzero(rng: &mut dyn Rng, buf: &mut [u8]) -> Result<(), CryptoError> {
    rng.fill(buf)?;
    // A generator that keeps producing zeros is broken; give up rather than loop forever.
    let mut budget = 64 * buf.len() + 64;
    for b in buf.iter_mut() {
        while *b == 0 {
            if budget == 0 {
                return Err(CryptoError::Rng);
            }
            budget -= 1;
            let mut one = [0u8; 1];
            rng.fill(&mut one)?;
            *b = one[0];
        }
    }
    Ok(())
}

/// An RSA private key for IKEv1 PKE decryption, with its implicit-rejection key. See the module
/// documentation for the design.
pub struct PkeDecryptor {
    rsa: Rsa<Private>,
    /// Modulus length in octets.
    k: usize,
    /// The modulus, big-endian, `k` octets (public).
    n: Vec<u8>,
    /// `SHA-256(I2OSP(d, k))`.
    ir_key: Secret,
}

impl std::fmt::Debug for PkeDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkeDecryptor")
            .field("modulus_bits", &self.rsa.n().num_bits())
            .finish_non_exhaustive()
    }
}

impl PkeDecryptor {
    /// From a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        let pkey =
            PKey::private_key_from_pem(pem).map_err(|_| CryptoError::Parse("RSA private key"))?;
        Self::from_pkey(&pkey)
    }

    /// From a DER private key: PKCS#8 or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pkey =
            PKey::private_key_from_der(der).map_err(|_| CryptoError::Parse("RSA private key"))?;
        Self::from_pkey(&pkey)
    }

    /// The decryptor of an RSA signing key already loaded (the same key file serves both).
    pub fn from_private_key(key: &crate::sign::PrivateKey) -> Result<Self, CryptoError> {
        Self::from_pkey(key.openssl_key())
    }

    fn from_pkey(pkey: &PKey<Private>) -> Result<Self, CryptoError> {
        let rsa = pkey
            .rsa()
            .map_err(|_| CryptoError::Unsupported("PKE with a non-RSA key"))?;
        rsa_bits_ok(rsa.n().num_bits().unsigned_abs())?;
        if !rsa.check_key().unwrap_or(false) {
            return Err(CryptoError::Parse("RSA private key (inconsistent)"));
        }
        let k = rsa.size() as usize;
        let width = i32::try_from(k).map_err(|_| CryptoError::Parse("RSA private key"))?;
        let d = Zeroizing::new(
            rsa.d()
                .to_vec_padded(width)
                .map_err(|_| CryptoError::Backend("BN_bn2binpad"))?,
        );
        let ir_key = Secret::from_slice(digest::digest(&digest::SHA256, &d).as_ref());
        let n = rsa
            .n()
            .to_vec_padded(width)
            .map_err(|_| CryptoError::Backend("BN_bn2binpad"))?;
        Ok(Self { rsa, k, n, ir_key })
    }

    /// The modulus length in octets: the length of every valid ciphertext.
    pub fn modulus_len(&self) -> usize {
        self.k
    }

    /// The public key as a DER SubjectPublicKeyInfo (for [`encrypt`] and for matching the
    /// certificate that carries it).
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        let public = Rsa::from_public_components(
            BigNum::from_slice(&self.n).map_err(|_| CryptoError::Backend("BN_bin2bn"))?,
            self.rsa
                .e()
                .to_owned()
                .map_err(|_| CryptoError::Backend("BN_dup"))?,
        )
        .map_err(|_| CryptoError::Backend("RSA_new"))?;
        PKey::from_rsa(public)
            .and_then(|p| p.public_key_to_der())
            .map_err(|_| CryptoError::Backend("i2d_PUBKEY"))
    }

    /// Decrypts a PKCS#1 v1.5 ciphertext without a padding oracle: always returns bytes. For a
    /// valid ciphertext they are the message; for any other, a synthetic message that is a
    /// deterministic function of the key and the ciphertext, indistinguishable from a real one
    /// without the key.
    ///
    /// `expected_len_hint`: when the caller knows the message length (and it is at most
    /// `k - 11`), a valid message of any other length is also rejected implicitly and the
    /// synthetic message has that length, so the output length is always the hint. `None` (or an
    /// impossible hint) gives the draft's pseudo-random synthetic length.
    pub fn decrypt(&self, ciphertext: &[u8], expected_len_hint: Option<usize>) -> Secret {
        let k = self.k;
        let hint = expected_len_hint.filter(|h| *h <= k - OVERHEAD);

        let kdk = self.kdk(ciphertext);
        let (synthetic, synthetic_len) = synthetic(&kdk, k, hint);
        let (em, public_ok) = self.raw_decrypt(ciphertext);
        let (padding_ok, msg_len) = check_padding(&em, hint);
        let good = padding_ok & public_ok;
        select_output(good, &em, msg_len, &synthetic, synthetic_len)
    }

    /// Step 2: `KDK = HMAC-SHA256(K, C)`, `C` left-padded to `k` octets.
    fn kdk(&self, ciphertext: &[u8]) -> Zeroizing<[u8; 32]> {
        trace::step("kdk", ciphertext.len().max(self.k));
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.ir_key.expose());
        let mut mac = hmac::Context::with_key(&key);
        let pad = self.k.saturating_sub(ciphertext.len());
        mac.update(&vec![0u8; pad]);
        mac.update(ciphertext);
        let mut kdk = Zeroizing::new([0u8; 32]);
        kdk.copy_from_slice(mac.sign().as_ref());
        kdk
    }

    /// Step 4: raw RSA, or a zero block when the ciphertext is publicly malformed.
    fn raw_decrypt(&self, ciphertext: &[u8]) -> (Zeroizing<Vec<u8>>, Choice) {
        let mut em = Zeroizing::new(vec![0u8; self.k]);
        // Public checks: length, and C < n (big-endian comparison of equal-length strings).
        if ciphertext.len() != self.k || ciphertext >= self.n.as_slice() {
            trace::step("rsa-skipped-public", self.k);
            return (em, Choice::from(0));
        }
        trace::step("rsa", self.k);
        match self.rsa.private_decrypt(ciphertext, &mut em, Padding::NONE) {
            // With no padding OpenSSL always writes exactly k octets.
            Ok(n) if n == self.k => (em, Choice::from(1)),
            // Only reachable through a backend fault, which is not secret-dependent.
            _ => {
                em.iter_mut().for_each(|b| *b = 0);
                (em, Choice::from(0))
            }
        }
    }
}

/// The draft's PRF: `HMAC-SHA256(KDK, I2OSP(i, 2) ‖ label ‖ I2OSP(bits, 2))` for `i = 0, 1, …`,
/// truncated to `len` octets; `bits` is the output length in bits.
fn prf(kdk: &[u8; 32], label: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let bits = u16::try_from(len * 8).unwrap_or(u16::MAX);
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    let key = hmac::Key::new(hmac::HMAC_SHA256, kdk);
    let mut i: u16 = 0;
    while out.len() < len {
        let mut mac = hmac::Context::with_key(&key);
        mac.update(&i.to_be_bytes());
        mac.update(label);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(mac.sign().as_ref());
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// Step 3: the `k`-octet synthetic block and the synthetic length.
fn synthetic(kdk: &[u8; 32], k: usize, hint: Option<usize>) -> (Zeroizing<Vec<u8>>, u32) {
    trace::step("synthetic", k);
    let block = prf(kdk, b"message", k);
    let candidates = prf(kdk, b"length", 256);
    let max_sep_offset = (k - 10) as u32;
    let mut mask = max_sep_offset;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    let mut len = 0u32;
    for pair in candidates.chunks_exact(2) {
        let candidate = u32::from(u16::from_be_bytes([pair[0], pair[1]])) & mask;
        len.conditional_assign(&candidate, candidate.ct_lt(&max_sep_offset));
    }
    // The hint is public; when given it replaces the pseudo-random length.
    let len = hint.map_or(len, |h| h as u32);
    (block, len)
}

/// Step 5: constant-time check of `00 02 PS 00 M` with `|PS| >= 8`. Returns whether the padding
/// is valid (and, with a hint, whether `|M|` equals it) and `|M|`.
fn check_padding(em: &[u8], hint: Option<usize>) -> (Choice, u32) {
    trace::step("check-padding", em.len());
    let k = em.len() as u32;
    let mut good = Choice::from(1);
    let mut looking = Choice::from(1);
    let mut zero_index = 0u32;
    for (i, b) in em.iter().enumerate() {
        let i = i as u32;
        let is_zero = b.ct_eq(&0);
        // Octets 0 and 1 are public positions; their values are not.
        let first = i.ct_eq(&0);
        let second = i.ct_eq(&1);
        good &= !first | is_zero;
        good &= !second | b.ct_eq(&2);
        let in_body = !(first | second);
        zero_index.conditional_assign(&i, looking & is_zero & in_body);
        looking &= !(is_zero & in_body);
    }
    good &= !looking;
    // |PS| >= 8: the separator is at index 10 or later.
    good &= !zero_index.ct_lt(&10);
    let msg_len = k.wrapping_sub(zero_index).wrapping_sub(1);
    if let Some(h) = hint {
        good &= msg_len.ct_eq(&(h as u32));
    }
    (good, msg_len)
}

/// Step 6: selects, octet by octet, between the decrypted block and the synthetic block, and
/// returns the tail of the selected length.
fn select_output(
    good: Choice,
    em: &[u8],
    msg_len: u32,
    synthetic: &[u8],
    synthetic_len: u32,
) -> Secret {
    trace::step("select", em.len());
    let len = u32::conditional_select(&synthetic_len, &msg_len, good) as usize;
    let mut block = Zeroizing::new(vec![0u8; em.len()]);
    for ((out, real), fake) in block.iter_mut().zip(em).zip(synthetic) {
        *out = u8::conditional_select(fake, real, good);
    }
    let start = block.len().saturating_sub(len);
    Secret::from_slice(block.get(start..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    const KEY_2048: &[u8] = include_bytes!("../tests/data/test-only-rsa2048.pem");

    /// Encrypts `em` (a full k-octet block) with raw RSA, whatever its padding.
    fn raw_encrypt(d: &PkeDecryptor, em: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; d.k];
        d.rsa.public_encrypt(em, &mut out, Padding::NONE).unwrap();
        out
    }

    #[test]
    fn good_and_bad_ciphertexts_run_the_same_steps() {
        let d = PkeDecryptor::from_pem(KEY_2048).unwrap();
        let spki = d.public_key_spki_der().unwrap();
        let good = encrypt(&spki, b"nonce bytes", &mut SeededRng::new(1)).unwrap();
        let mut em = vec![0x5a; d.k];
        em[0] = 0; // below n, but block type 0x5a
        let bad_type = raw_encrypt(&d, &em);
        em[1] = 2;
        em.iter_mut().skip(2).for_each(|b| *b = 0x33); // no separator
        let no_separator = raw_encrypt(&d, &em);

        trace::take();
        let mut traces = Vec::new();
        for (ct, hint) in [
            (&good, None),
            (&bad_type, None),
            (&no_separator, None),
            (&good, Some(11)),
            (&good, Some(12)), // valid padding, wrong length: rejected
            (&bad_type, Some(11)),
        ] {
            let out = d.decrypt(ct, hint);
            traces.push(trace::take());
            if let Some(h) = hint {
                assert_eq!(out.len(), h);
            }
        }
        assert_eq!(d.decrypt(&good, Some(11)).expose(), b"nonce bytes");
        assert_ne!(d.decrypt(&good, Some(12)).expose()[..11], *b"nonce bytes");
        let expected = vec![
            ("kdk", d.k),
            ("synthetic", d.k),
            ("rsa", d.k),
            ("check-padding", d.k),
            ("select", d.k),
        ];
        for t in &traces {
            assert_eq!(t, &expected);
        }
    }

    #[test]
    fn publicly_malformed_ciphertexts_skip_only_the_rsa_step() {
        let d = PkeDecryptor::from_pem(KEY_2048).unwrap();
        trace::take();
        let too_big = vec![0xff; d.k];
        let out = d.decrypt(&too_big, None);
        assert!(out.len() <= d.k - 10);
        assert_eq!(
            trace::take().iter().map(|s| s.0).collect::<Vec<_>>(),
            [
                "kdk",
                "synthetic",
                "rsa-skipped-public",
                "check-padding",
                "select"
            ]
        );
    }

    #[test]
    fn padding_check_edge_cases() {
        let k = 128;
        let mut em = vec![0x11u8; k];
        em[0] = 0;
        em[1] = 2;
        em[10] = 0; // PS of exactly 8 octets
        assert_eq!(check_padding(&em, None).0.unwrap_u8(), 1);
        assert_eq!(check_padding(&em, None).1, (k - 11) as u32);
        em[10] = 0x11;
        em[9] = 0; // PS of 7 octets
        assert_eq!(check_padding(&em, None).0.unwrap_u8(), 0);
        em[9] = 0x11;
        em[k - 1] = 0; // empty message
        assert_eq!(check_padding(&em, None).0.unwrap_u8(), 1);
        assert_eq!(check_padding(&em, None).1, 0);
        em[1] = 1;
        assert_eq!(check_padding(&em, None).0.unwrap_u8(), 0);
    }

    #[test]
    fn fill_nonzero_redraws_zeros_and_gives_up_on_a_stuck_rng() {
        let mut rng = crate::rng::FixedRng::new(vec![0, 5, 0, 0, 7]);
        let mut buf = [0u8; 2];
        fill_nonzero(&mut rng, &mut buf).unwrap();
        assert_eq!(buf, [7, 5]);
        let mut zeros = crate::rng::FixedRng::new(vec![0; 10_000]);
        assert_eq!(fill_nonzero(&mut zeros, &mut buf), Err(CryptoError::Rng));
    }
}
