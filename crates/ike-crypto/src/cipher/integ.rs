//! Integrity transforms: [`IntegAlg`] and the keyed [`Integrity`].

use ::hmac::Mac as _;
use aws_lc_rs::hmac as lc_hmac;
use ike_wire::v2::IntegId;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{prf, CryptoError};

/// An integrity transform of the IKEv2 Encrypted payload (RFC 7296 §3.3.2, transform type 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntegAlg {
    /// AUTH_HMAC_MD5_96 (RFC 2403); legacy.
    HmacMd5_96,
    /// AUTH_HMAC_SHA1_96 (RFC 2404).
    HmacSha1_96,
    /// AUTH_HMAC_SHA2_256_128 (RFC 4868).
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (RFC 4868).
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (RFC 4868).
    HmacSha512_256,
    /// AUTH_AES_XCBC_96 (RFC 3566).
    AesXcbc96,
    /// AUTH_AES_CMAC_96 (RFC 4494).
    AesCmac96,
}

impl IntegAlg {
    /// The transform of an IKEv2 transform of type 3. `NONE` (used with AEAD transforms) and
    /// the transforms not implemented here are [`CryptoError::Unsupported`].
    pub fn from_ikev2(id: IntegId) -> Result<Self, CryptoError> {
        Ok(match id {
            IntegId::HmacMd5_96 => Self::HmacMd5_96,
            IntegId::HmacSha1_96 => Self::HmacSha1_96,
            IntegId::HmacSha256_128 => Self::HmacSha256_128,
            IntegId::HmacSha384_192 => Self::HmacSha384_192,
            IntegId::HmacSha512_256 => Self::HmacSha512_256,
            IntegId::AesXcbc96 => Self::AesXcbc96,
            IntegId::AesCmac96 => Self::AesCmac96,
            _ => return Err(CryptoError::Unsupported("IKEv2 integrity transform")),
        })
    }

    /// The key length `SK_ai`/`SK_ar` must have: the hash output length for the HMACs (RFC
    /// 2403, RFC 2404, RFC 4868 §2.1.1), 16 for the AES MACs (RFC 3566 §2.1, RFC 4494 §2).
    pub fn key_len(&self) -> usize {
        match self {
            Self::HmacMd5_96 | Self::AesXcbc96 | Self::AesCmac96 => 16,
            Self::HmacSha1_96 => 20,
            Self::HmacSha256_128 => 32,
            Self::HmacSha384_192 => 48,
            Self::HmacSha512_256 => 64,
        }
    }

    /// The ICV length: the truncated MAC that the message carries.
    pub fn output_len(&self) -> usize {
        match self {
            Self::HmacMd5_96 | Self::HmacSha1_96 | Self::AesXcbc96 | Self::AesCmac96 => 12,
            Self::HmacSha256_128 => 16,
            Self::HmacSha384_192 => 24,
            Self::HmacSha512_256 => 32,
        }
    }
}

/// The keyed MAC behind an [`Integrity`], computing the untruncated output.
enum MacKey {
    /// HMAC-SHA1/SHA2 through aws-lc-rs: the key is processed once (boxed: the prepared
    /// contexts are large).
    Hmac(Box<lc_hmac::Key>),
    /// HMAC-MD5 through RustCrypto, keyed per call from the kept key bytes: the crate does not
    /// zeroize its keyed state, so none is kept.
    HmacMd5(Zeroizing<Vec<u8>>),
    /// AES-XCBC-MAC (RFC 3566).
    Xcbc(Zeroizing<[u8; 16]>),
    /// AES-CMAC (RFC 4493).
    Cmac(Zeroizing<[u8; 16]>),
}

type HmacMd5 = ::hmac::Hmac<md5::Md5>;

impl MacKey {
    /// Keys the MAC of `alg`; HMAC takes a key of any length (RFC 2104 §2), the AES MACs exactly
    /// 16 bytes.
    fn new(alg: IntegAlg, key: &[u8]) -> Result<Self, CryptoError> {
        let aes_key = || -> Result<Zeroizing<[u8; 16]>, CryptoError> {
            let mut k = Zeroizing::new([0u8; 16]);
            if key.len() != 16 {
                return Err(CryptoError::InvalidLength {
                    what: "integrity key",
                    len: key.len(),
                });
            }
            k.copy_from_slice(key);
            Ok(k)
        };
        let hmac = |alg| Self::Hmac(Box::new(lc_hmac::Key::new(alg, key)));
        Ok(match alg {
            IntegAlg::HmacMd5_96 => Self::HmacMd5(Zeroizing::new(key.to_vec())),
            IntegAlg::HmacSha1_96 => hmac(lc_hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            IntegAlg::HmacSha256_128 => hmac(lc_hmac::HMAC_SHA256),
            IntegAlg::HmacSha384_192 => hmac(lc_hmac::HMAC_SHA384),
            IntegAlg::HmacSha512_256 => hmac(lc_hmac::HMAC_SHA512),
            IntegAlg::AesXcbc96 => Self::Xcbc(aes_key()?),
            IntegAlg::AesCmac96 => Self::Cmac(aes_key()?),
        })
    }

    /// Writes the full MAC of `data` into `out` and returns its length.
    fn full(&self, data: &[u8], out: &mut [u8; 64]) -> usize {
        let write = |out: &mut [u8; 64], mac: &[u8]| {
            for (o, m) in out.iter_mut().zip(mac) {
                *o = *m;
            }
            mac.len().min(64)
        };
        match self {
            Self::Hmac(key) => write(out, lc_hmac::sign(key, data).as_ref()),
            Self::HmacMd5(key) => {
                let mac = <HmacMd5 as ::hmac::digest::KeyInit>::new_from_slice(key)
                    .map(|mut m| {
                        m.update(data);
                        m.finalize().into_bytes()
                    })
                    // HMAC accepts keys of every length, so this arm is never taken.
                    .unwrap_or_default();
                write(out, &mac)
            }
            Self::Xcbc(key) => write(out, &prf::aes_xcbc_mac(key, data)),
            Self::Cmac(key) => write(out, &prf::aes_cmac(key, data)),
        }
    }
}

/// An integrity transform with its key (`SK_ai` or `SK_ar`), prepared once per SA and
/// direction. It computes and checks the ICV over the whole message up to the ICV (RFC 7296
/// §3.14).
pub struct Integrity {
    alg: IntegAlg,
    key: MacKey,
}

impl std::fmt::Debug for Integrity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integrity")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Integrity {
    /// Keys `alg` with `key`, which must be exactly [`IntegAlg::key_len`] bytes (what the IKEv2
    /// key schedule derives); any other length is [`CryptoError::InvalidLength`], as it means
    /// the key schedule and the transform disagree.
    pub fn new(alg: IntegAlg, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::InvalidLength {
                what: "integrity key",
                len: key.len(),
            });
        }
        Ok(Self {
            alg,
            key: MacKey::new(alg, key)?,
        })
    }

    /// The transform.
    pub fn alg(&self) -> IntegAlg {
        self.alg
    }

    /// The ICV of `data`: the MAC truncated to [`IntegAlg::output_len`] bytes.
    pub fn compute(&self, data: &[u8]) -> Vec<u8> {
        let mut full = Zeroizing::new([0u8; 64]);
        let n = self.key.full(data, &mut full);
        full.iter()
            .take(n.min(self.alg.output_len()))
            .copied()
            .collect()
    }

    /// Checks `icv` against the ICV of `data` in constant time. A wrong length or value is
    /// [`CryptoError::IntegrityFailure`].
    pub fn verify(&self, data: &[u8], icv: &[u8]) -> Result<(), CryptoError> {
        let expected = self.compute(data);
        // Lengths are public (they follow from the negotiated transform); only the value
        // comparison needs to be constant-time.
        if expected.len() == icv.len() && bool::from(expected.as_slice().ct_eq(icv)) {
            Ok(())
        } else {
            Err(CryptoError::IntegrityFailure)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The untruncated MACs against published vectors whose keys have other lengths than IKE
    //! uses (the public [`Integrity`] only takes IKE key lengths).
    use super::*;

    fn data(name: &str) -> serde_json::Value {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn hx(v: &serde_json::Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap()).unwrap()
    }

    fn full_mac(alg: IntegAlg, key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut out = [0u8; 64];
        let n = MacKey::new(alg, key).unwrap().full(msg, &mut out);
        out[..n].to_vec()
    }

    fn alg_of_hash(h: &str) -> IntegAlg {
        match h {
            "md5" => IntegAlg::HmacMd5_96,
            "sha1" => IntegAlg::HmacSha1_96,
            "sha256" => IntegAlg::HmacSha256_128,
            "sha384" => IntegAlg::HmacSha384_192,
            "sha512" => IntegAlg::HmacSha512_256,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn rfc_2202_and_4231_full_and_truncated() {
        let d = data("cipher/rfc_hmac.json");
        let mut n = 0;
        for v in d["vectors"].as_array().unwrap() {
            let alg = alg_of_hash(v["hash"].as_str().unwrap());
            let (key, msg, mac) = (hx(&v["key"]), hx(&v["msg"]), hx(&v["mac"]));
            let full = full_mac(alg, &key, &msg);
            // Test case 5 of RFC 4231 publishes only the first 128 bits.
            assert_eq!(&full[..mac.len()], &mac[..], "{}", v["source"]);
            if mac.len() == full.len() {
                // What an Integrity with this MAC would send: the leftmost output_len bytes.
                assert_eq!(
                    full[..alg.output_len()],
                    mac[..alg.output_len()],
                    "{}",
                    v["source"]
                );
            }
            n += 1;
        }
        assert_eq!(n, 35);
    }

    #[test]
    fn wycheproof_hmac_full_length_groups() {
        let files = [
            ("hmac_sha1_test.json", IntegAlg::HmacSha1_96, 160),
            ("hmac_sha256_test.json", IntegAlg::HmacSha256_128, 256),
            (
                "cipher/wycheproof_hmac_sha384_test.json",
                IntegAlg::HmacSha384_192,
                384,
            ),
            (
                "cipher/wycheproof_hmac_sha512_test.json",
                IntegAlg::HmacSha512_256,
                512,
            ),
        ];
        for (file, alg, bits) in files {
            let d = data(file);
            let mut checked = 0;
            for g in d["testGroups"].as_array().unwrap() {
                if g["tagSize"].as_u64() != Some(bits) {
                    continue;
                }
                for t in g["tests"].as_array().unwrap() {
                    let full = full_mac(alg, &hx(&t["key"]), &hx(&t["msg"]));
                    let ok = full == hx(&t["tag"]);
                    assert_eq!(ok, t["result"] == "valid", "{file} tcId {}", t["tcId"]);
                    checked += 1;
                }
            }
            assert!(checked > 50, "{file}: {checked}");
        }
    }

    #[test]
    fn aes_macs_need_16_byte_keys() {
        assert!(MacKey::new(IntegAlg::AesXcbc96, &[0; 15]).is_err());
        assert!(MacKey::new(IntegAlg::AesCmac96, &[0; 17]).is_err());
        assert!(MacKey::new(IntegAlg::HmacSha256_128, &[]).is_ok());
    }
}
