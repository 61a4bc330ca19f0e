//! ML-KEM-512/768/1024 (FIPS 203) as IKEv2 key exchange methods 35-37 (RFC 9370 additional key
//! exchanges; draft-ietf-ipsecme-ikev2-mlkem), with aws-lc-rs's stable `kem` module.
//!
//! The initiator's KE data is the encapsulation key; the responder encapsulates to it and sends
//! the ciphertext; the shared secret is the 32-octet ML-KEM key. Lengths are checked exactly
//! (800/1184/1568 octets of key, 768/1088/1568 of ciphertext); aws-lc-rs also applies FIPS 203's
//! input checks (§7.2: the key's coefficients are reduced mod q).
//!
//! # Randomness
//! aws-lc-rs offers no way to feed key generation or encapsulation from outside randomness: both
//! draw from aws-lc's own DRBG. So ML-KEM ignores the injected [`Rng`](crate::rng::Rng), and an
//! exchange cannot be replayed from a seed. Known-answer tests go through
//! [`mlkem_from_decapsulation_key`](super::mlkem_from_decapsulation_key) instead.

use aws_lc_rs::digest;
use aws_lc_rs::kem::{
    Algorithm, AlgorithmId, Ciphertext, DecapsulationKey, EncapsulationKey, ML_KEM_1024,
    ML_KEM_512, ML_KEM_768,
};
use ike_wire::group::DhGroup;

use super::KeyExchange;
use crate::{CryptoError, Secret};

/// Sizes of one parameter set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    alg: &'static Algorithm<AlgorithmId>,
    /// `k`, the module rank.
    k: usize,
    /// Octets of the encapsulation key (the initiator's KE data).
    pub(crate) ek_len: usize,
    /// Octets of the ciphertext (the responder's KE data).
    pub(crate) ct_len: usize,
}

impl Params {
    pub(crate) fn for_group(group: DhGroup) -> Option<Self> {
        let p = |alg, k: usize, ct_len| Params {
            alg,
            k,
            ek_len: 384 * k + 32,
            ct_len,
        };
        match group {
            DhGroup::MlKem512 => Some(p(&ML_KEM_512, 2, 768)),
            DhGroup::MlKem768 => Some(p(&ML_KEM_768, 3, 1088)),
            DhGroup::MlKem1024 => Some(p(&ML_KEM_1024, 4, 1568)),
            _ => None,
        }
    }

    /// Octets of the expanded decapsulation key: `dk_PKE || ek || H(ek) || z`.
    fn dk_len(&self) -> usize {
        384 * self.k + self.ek_len + 64
    }
}

fn backend(_: aws_lc_rs::error::Unspecified) -> CryptoError {
    CryptoError::Backend("aws-lc-rs ML-KEM")
}

/// The initiator's side: a decapsulation key.
pub(crate) struct MlKemKeyExchange {
    group: DhGroup,
    params: Params,
    dk: DecapsulationKey<AlgorithmId>,
    ek: Vec<u8>,
}

impl MlKemKeyExchange {
    pub(crate) fn generate(group: DhGroup, params: Params) -> Result<Self, CryptoError> {
        let dk = DecapsulationKey::generate(params.alg).map_err(backend)?;
        let ek = dk
            .encapsulation_key()
            .and_then(|ek| ek.key_bytes())
            .map_err(backend)?
            .as_ref()
            .to_vec();
        Ok(Self {
            group,
            params,
            dk,
            ek,
        })
    }

    /// From a FIPS 203 expanded decapsulation key. Checks its length and the hash of the
    /// embedded encapsulation key (FIPS 203 §7.3 "hash check").
    pub(crate) fn from_decapsulation_key(
        group: DhGroup,
        params: Params,
        dk: &[u8],
    ) -> Result<Self, CryptoError> {
        if dk.len() != params.dk_len() {
            return Err(CryptoError::InvalidLength {
                what: "ML-KEM decapsulation key",
                len: dk.len(),
            });
        }
        let ek_start = 384 * params.k;
        let ek_end = ek_start + params.ek_len;
        let (ek, hash) = match (dk.get(ek_start..ek_end), dk.get(ek_end..ek_end + 32)) {
            (Some(ek), Some(hash)) => (ek, hash),
            _ => return Err(CryptoError::Parse("ML-KEM decapsulation key")),
        };
        if digest::digest(&digest::SHA3_256, ek).as_ref() != hash {
            return Err(CryptoError::Parse("ML-KEM decapsulation key (hash check)"));
        }
        let key = DecapsulationKey::new(params.alg, dk)
            .map_err(|_| CryptoError::Parse("ML-KEM decapsulation key"))?;
        Ok(Self {
            group,
            params,
            dk: key,
            ek: ek.to_vec(),
        })
    }
}

impl std::fmt::Debug for MlKemKeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlKemKeyExchange")
            .field("group", &self.group)
            .field("public_len", &self.ek.len())
            .finish_non_exhaustive()
    }
}

impl KeyExchange for MlKemKeyExchange {
    fn group(&self) -> DhGroup {
        self.group
    }

    fn public_value(&self) -> &[u8] {
        &self.ek
    }

    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        if peer.len() != self.params.ct_len {
            return Err(CryptoError::InvalidPublicValue(
                "ML-KEM ciphertext has the wrong length",
            ));
        }
        // Decapsulation never fails on a well-sized ciphertext: a bad one yields the implicit
        // rejection key (FIPS 203 §6.3), which will not match the peer's.
        let ss = self
            .dk
            .decapsulate(Ciphertext::from(peer))
            .map_err(|_| CryptoError::InvalidPublicValue("ML-KEM ciphertext"))?;
        Ok(Secret::from_slice(ss.as_ref()))
    }
}

/// The responder's side: encapsulate to the initiator's key.
pub(crate) fn encapsulate(params: Params, peer: &[u8]) -> Result<(Vec<u8>, Secret), CryptoError> {
    if peer.len() != params.ek_len {
        return Err(CryptoError::InvalidPublicValue(
            "ML-KEM encapsulation key has the wrong length",
        ));
    }
    let ek = EncapsulationKey::new(params.alg, peer)
        .map_err(|_| CryptoError::InvalidPublicValue("ML-KEM encapsulation key"))?;
    let (ct, ss) = ek
        .encapsulate()
        .map_err(|_| CryptoError::InvalidPublicValue("ML-KEM encapsulation key"))?;
    Ok((ct.as_ref().to_vec(), Secret::from_slice(ss.as_ref())))
}
