//! Phase 1 authenticated with public-key encryption (RFC 2409 §5.2) and with its revised mode
//! (§5.3). Main Mode:
//!
//! ```text
//! Initiator                                  Responder
//! HDR, SA                              -->
//!                                      <--   HDR, SA
//! HDR, KE, [HASH(1),] <IDii_b>PubKey_r,
//!      <Ni_b>PubKey_r                  -->                                    (§5.2)
//!                                      <--   HDR, KE, <IDir_b>PubKey_i, <Nr_b>PubKey_i
//! HDR, [HASH(1),] <Ni_b>PubKey_r,
//!      <KE_b>Ke_i, <IDii_b>Ke_i        -->                                    (§5.3)
//!                                      <--   HDR, <Nr_b>PubKey_i, <KE_b>Ke_r, <IDir_b>Ke_r
//! HDR*, HASH_I                         -->
//!                                      <--   HDR*, HASH_R
//! ```
//!
//! Aggressive Mode carries the same parts in its messages 1 and 2 (after the SA payload; the
//! responder's HASH_R in the clear before its nonce, since in the revised mode everything after
//! the nonce is under Ke_r), and HASH_I in message 3; the initiator offers one suite, because
//! the cipher and hash must be known before the responder answers.
//!
//! `<x>PubKey` is the payload body encrypted with RSA PKCS#1 v1.5 (type 2) to the peer's key,
//! which is configured (a public-key-encryption peer sends no certificate before it is
//! authenticated); HASH(1) is the negotiated hash of the certificate whose key the initiator
//! used. In the revised mode `Ne_i = prf(Ni_b, CKY-I)` and `Ne_r = prf(Nr_b, CKY-R)` are
//! expanded to `Ke_i`/`Ke_r` as SKEYID_e is (Appendix B), and every payload body after the
//! nonce is encrypted with the negotiated cipher in CBC mode, the first from a zero IV and each
//! next from the last ciphertext block of the one before, padded with zero octets and a last
//! octet that counts them (so there is always one). Generic headers stay in the clear. `SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R)`; the
//! identities are the decrypted bodies in HASH_I/HASH_R.
//!
//! No padding oracle: RSA decryption is implicit rejection ([`ike_crypto::pke`]), so a
//! ciphertext with bad padding yields random bytes, exactly as a well-formed one holding a
//! wrong nonce does. Nothing branches on it before HASH_I or HASH_R: an identity that does not
//! parse is carried to the proof check, where the peer's next message does not decrypt or its
//! HASH does not verify; a revised-mode KE that does not decrypt (a wrong `Ne` key, which a
//! bad padding and a wrong nonce give alike) drops the message. Either way the peer sees
//! silence.

use ike_crypto::cipher::Cipher;
use ike_crypto::pke;
use ike_wire::v1::{Payload, PayloadType};

use super::main_mode::Step;
use super::protect::Chain;
use super::sa::IsakmpSa;
use super::Ctx;
use crate::config::{AuthMethod, PeerConfig};
use crate::status::DropReason;
use crate::v2::ProtocolError;

/// What the peer sent in its encrypted Phase 1 message: its KE, nonce and ID bodies, in the
/// clear.
pub(crate) struct PeerPart {
    pub(crate) ke: Vec<u8>,
    pub(crate) nonce: Vec<u8>,
    pub(crate) id_b: Vec<u8>,
    /// A HASH payload from the responder (Aggressive Mode's HASH_R), in the clear or, in the
    /// revised mode, after the nonce under Ke_r.
    pub(crate) hash: Option<Vec<u8>>,
}

fn local_failure(why: &'static str) -> Step {
    Step::Fail(ProtocolError::LocalFailure(why))
}

/// The peer's certificate (we encrypt to its key) and our decryptor and certificate.
fn keys(
    peer: &PeerConfig,
) -> Result<
    (
        &ike_crypto::x509::Certificate,
        &pke::PkeDecryptor,
        &ike_crypto::x509::Certificate,
    ),
    Step,
> {
    match (&peer.local_auth, &peer.remote_auth) {
        (
            AuthMethod::PkeKey {
                decryptor, cert, ..
            },
            AuthMethod::PkePeer { cert: theirs, .. },
        ) => Ok((theirs, decryptor, cert)),
        _ => Err(local_failure("no public-key-encryption keys")),
    }
}

/// Pads `data` for the revised mode's symmetric encryption (§5.3): zero octets up to a whole
/// number of blocks, the last octet giving the number of padding octets before it, so there
/// is always at least that one.
pub(crate) fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let block = block.max(1);
    let pad = block - data.len() % block;
    let mut v = Vec::with_capacity(data.len() + pad);
    v.extend_from_slice(data);
    v.resize(data.len() + pad - 1, 0);
    v.push(u8::try_from(pad - 1).unwrap_or(0));
    v
}

/// The data of a padded string, or `None` when the last octet is no valid count.
pub(crate) fn unpad(data: &[u8], block: usize) -> Option<&[u8]> {
    let n = usize::from(*data.last()?) + 1;
    if n > block.max(1) || n > data.len() {
        return None;
    }
    data.get(..data.len() - n)
}

/// A payload's body as it was on the wire (the decoder splits some into fields).
fn raw_body(p: &Payload<'_>) -> Vec<u8> {
    match p {
        Payload::Id(i) => {
            let mut v = vec![i.id_type.value(), i.protocol];
            v.extend_from_slice(&i.port.to_be_bytes());
            v.extend_from_slice(i.data);
            v
        }
        Payload::Cert(c) => {
            let mut v = vec![c.encoding.value()];
            v.extend_from_slice(c.data);
            v
        }
        Payload::Ke(b) | Payload::Nonce(b) | Payload::Hash(b) => b.to_vec(),
        _ => Vec::new(),
    }
}

impl IsakmpSa {
    /// Whether Phase 1 uses public-key encryption, and which mode.
    pub(crate) fn pke_mode(&self) -> Option<bool> {
        match self.chosen.map(|c| c.auth) {
            Some(ike_wire::v1::OakleyAuthMethod::RsaEncryption) => Some(false),
            Some(ike_wire::v1::OakleyAuthMethod::RsaRevisedEncryption) => Some(true),
            _ => None,
        }
    }

    /// `Ke_i` (`initiator`) or `Ke_r`: `Ne = prf(N_b, CKY)` expanded to the cipher's key.
    fn nonce_cipher(&self, nonce: &[u8], initiator: bool) -> Result<Cipher, Step> {
        let chosen = self.chosen.ok_or(Step::Drop(DropReason::WrongState))?;
        let fail = |_| local_failure("key derivation failed");
        let prf = chosen.prf_alg().map_err(fail)?;
        let encr = chosen.encr_alg().map_err(fail)?;
        let cky = if initiator {
            self.icookie
        } else {
            self.rcookie
        };
        let ne = prf.compute(nonce, &[&cky]);
        let key =
            ike_crypto::kdf::v1::encryption_key(prf, ne.expose(), encr.key_len()).map_err(fail)?;
        Cipher::new(encr, key.expose()).map_err(fail)
    }

    /// The negotiated hash of a certificate (HASH(1): which key the initiator encrypted to).
    fn cert_hash(&self, cert: &ike_crypto::x509::Certificate) -> Result<Vec<u8>, Step> {
        let chosen = self.chosen.ok_or(Step::Drop(DropReason::WrongState))?;
        let prf = chosen.prf_alg().map_err(|_| local_failure("no hash"))?;
        prf.hash(&[cert.der()])
            .map_err(|_| local_failure("hash failed"))
    }

    /// Appends our part of Main Mode message 3 (`initiator`) or 4: KE, nonce and ID, encrypted
    /// as the method says, after HASH(1) from the initiator.
    pub(crate) fn add_pke(
        &self,
        c: &mut Chain,
        peer: &PeerConfig,
        initiator: bool,
        (ke, nonce, id_b): (&[u8], &[u8], &[u8]),
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Step> {
        let revised = self.pke_mode().ok_or(Step::Drop(DropReason::WrongState))?;
        let (theirs, _, _) = keys(peer)?;
        let spki = theirs.spki_der();
        let rsa = |m: &[u8], ctx: &mut Ctx<'_>| {
            pke::encrypt(&spki, m, &mut *ctx.rng)
                .map_err(|_| local_failure("RSA encryption failed"))
        };
        if !revised {
            c.add(PayloadType::Ke, ke);
            if initiator {
                c.add(PayloadType::Hash, &self.cert_hash(theirs)?);
            }
            c.add(PayloadType::Id, &rsa(id_b, ctx)?);
            c.add(PayloadType::Nonce, &rsa(nonce, ctx)?);
            return Ok(());
        }
        if initiator {
            c.add(PayloadType::Hash, &self.cert_hash(theirs)?);
        }
        c.add(PayloadType::Nonce, &rsa(nonce, ctx)?);
        // The first payload after the nonce from a zero IV, each next one from the last
        // ciphertext block of the one before.
        let cipher = self.nonce_cipher(nonce, initiator)?;
        let block = cipher.alg().block_len();
        let mut iv = vec![0u8; block];
        for (t, body) in [(PayloadType::Ke, ke), (PayloadType::Id, id_b)] {
            let mut b = pad(body, block);
            cipher
                .encrypt(&iv, &mut b)
                .map_err(|_| local_failure("encryption failed"))?;
            iv = b.get(b.len() - block..).unwrap_or_default().to_vec();
            c.add(t, &b);
        }
        Ok(())
    }

    /// The peer's part of Main Mode message 3 (`from_initiator`) or 4, decrypted. Never fails
    /// on what only our private key can see (see the module documentation): only on what
    /// anyone can check (missing payloads, HASH(1) naming another key, lengths).
    pub(crate) fn take_pke(
        &self,
        payloads: &[Payload<'_>],
        peer: &PeerConfig,
        from_initiator: bool,
        ctx: &Ctx<'_>,
    ) -> Result<PeerPart, Step> {
        let revised = self.pke_mode().ok_or(Step::Drop(DropReason::WrongState))?;
        let (_, decryptor, ours) = keys(peer)?;
        let missing = || Step::Drop(DropReason::InvalidPayloads);
        let clear_hash = payloads.iter().find_map(|p| match p {
            Payload::Hash(h) => Some(h.to_vec()),
            _ => None,
        });
        if let Some(h) = &clear_hash {
            // Public: the hash of a certificate anyone may have. Another key cannot decrypt.
            if from_initiator && !ike_crypto::ct_eq(h, &self.cert_hash(ours)?) {
                tracing::info!(target: "ike", "Main Mode message 3: HASH(1) names a certificate that is not ours; the initiator encrypted to another key");
                return Err(Step::Fail(ProtocolError::AuthenticationFailed(
                    "the peer encrypted to a key that is not ours (HASH(1))",
                )));
            }
        }
        let k = decryptor.modulus_len();
        let at = payloads
            .iter()
            .position(|p| matches!(p, Payload::Nonce(_)))
            .ok_or_else(missing)?;
        let nonce_ct = payloads.get(at).map(raw_body).unwrap_or_default();
        let find = |t: PayloadType| payloads.iter().find(|p| p.payload_type() == t);
        if nonce_ct.len() != k {
            return Err(Step::Drop(DropReason::InvalidPayloads));
        }
        let nonce = decryptor.decrypt(&nonce_ct, None).expose().to_vec();
        if !revised {
            let (Some(ke), Some(id)) = (find(PayloadType::Ke), find(PayloadType::Id)) else {
                return Err(Step::Drop(DropReason::InvalidPayloads));
            };
            let id_ct = raw_body(id);
            if id_ct.len() != k {
                return Err(Step::Drop(DropReason::InvalidPayloads));
            }
            let id_b = decryptor.decrypt(&id_ct, None).expose().to_vec();
            return Ok(PeerPart {
                ke: raw_body(ke),
                nonce,
                id_b,
                hash: clear_hash.filter(|_| !from_initiator),
            });
        }
        // Every payload after the nonce is under Ne's key, chained from a zero IV.
        let cipher = self.nonce_cipher(&nonce, from_initiator)?;
        let block = cipher.alg().block_len();
        let mut iv = vec![0u8; block];
        let (mut ke, mut id_b, mut hash) = (None, None, None);
        for p in payloads.iter().skip(at + 1) {
            let ct = raw_body(p);
            if ct.is_empty() || ct.len() % block != 0 {
                return Err(Step::Drop(DropReason::IntegrityCheckFailed));
            }
            let mut b = ct.clone();
            cipher
                .decrypt(&iv, &mut b)
                .map_err(|_| Step::Drop(DropReason::IntegrityCheckFailed))?;
            iv = ct.get(ct.len() - block..).unwrap_or_default().to_vec();
            let plain = unpad(&b, block).map(<[u8]>::to_vec);
            match p.payload_type() {
                PayloadType::Ke => ke = plain,
                PayloadType::Id => id_b = Some(plain.unwrap_or_default()),
                PayloadType::Hash => hash = plain,
                // An initiator's certificate: we encrypt to the configured one.
                _ => {}
            }
        }
        let group = self.chosen.map(|c| c.group());
        let ke_len = group.and_then(|g| ctx.dh_len(g));
        // A KE that does not open means a wrong Ne key: a ciphertext with bad padding and one
        // holding a nonce other than the sender's lead here alike (both give random bytes), so
        // dropping the message tells nothing about the padding.
        let ke = ke
            .filter(|k| Some(k.len()) == ke_len)
            .ok_or(Step::Drop(DropReason::IntegrityCheckFailed))?;
        let id_b = id_b.ok_or_else(missing)?;
        let hash = hash.or(clear_hash).filter(|_| !from_initiator);
        Ok(PeerPart {
            ke,
            nonce,
            id_b,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_counts_itself_and_fills_a_block() {
        // RFC 2409 §5.3: zeros, then the count of the zeros; always at least that octet.
        assert_eq!(pad(&[1, 2, 3], 4), vec![1, 2, 3, 0]);
        assert_eq!(pad(&[1, 2], 4), vec![1, 2, 0, 1]);
        assert_eq!(pad(&[1, 2, 3, 4], 4), vec![1, 2, 3, 4, 0, 0, 0, 3]);
        assert_eq!(unpad(&[1, 2, 3, 0], 4), Some(&[1u8, 2, 3][..]));
        assert_eq!(
            unpad(&[1, 2, 3, 4, 0, 0, 0, 3], 4),
            Some(&[1u8, 2, 3, 4][..])
        );
        assert_eq!(unpad(&[1, 2, 3, 4], 4), None);
        assert_eq!(unpad(&[], 4), None);
    }
}
