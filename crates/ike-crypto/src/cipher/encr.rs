//! Encryption transforms: [`EncrAlg`] and the keyed [`Cipher`].

use aes::{Aes128, Aes192, Aes256};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use ccm::consts::{U11, U12, U16, U8};
use ccm::{AeadInPlace, Ccm, KeyInit};
use ike_wire::v1::OakleyEncr;
use ike_wire::v2::EncrId;
use openssl::cipher::{Cipher as OsslCipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use zeroize::{Zeroize, Zeroizing};

use crate::CryptoError;

/// An encryption transform for IKE messages, with its key size and ICV length.
///
/// Build it with [`EncrAlg::from_ikev2`] or [`EncrAlg::from_ikev1`] from negotiated values; a
/// value built by hand is checked again by [`Cipher::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncrAlg {
    /// AES in CBC mode (RFC 3602), IKEv1 and IKEv2.
    AesCbc {
        /// 128, 192 or 256.
        key_bits: u16,
    },
    /// AES in counter mode with an explicit IV (RFC 5930, counter block of RFC 3686 §4).
    AesCtr {
        /// 128, 192 or 256.
        key_bits: u16,
    },
    /// AES-GCM (RFC 5282, RFC 4106), ENCR_AES_GCM_8/12/16.
    AesGcm {
        /// 128, 192 or 256.
        key_bits: u16,
        /// ICV length in bytes: 8, 12 or 16.
        icv_len: usize,
    },
    /// AES-CCM (RFC 5282, RFC 4309), ENCR_AES_CCM_8/12/16.
    AesCcm {
        /// 128, 192 or 256.
        key_bits: u16,
        /// ICV length in bytes: 8, 12 or 16.
        icv_len: usize,
    },
    /// ChaCha20-Poly1305 (RFC 7634, RFC 8439): 256-bit key, 16-byte ICV.
    ChaCha20Poly1305,
    /// Triple DES (EDE, three keys) in CBC mode (RFC 2451); legacy.
    TripleDesCbc,
}

/// Length of the salt that follows the key in the key material (RFC 5282 §7.1, RFC 4309 §7.1,
/// RFC 5930 §2, RFC 7634 §2).
const GCM_SALT: usize = 4;
const CCM_SALT: usize = 3;
const CTR_NONCE: usize = 4;
const CHACHA_SALT: usize = 4;
/// The IV carried in the message for the counter-based transforms.
const EXPLICIT_IV: usize = 8;

fn aes_key_bits(key_bits: Option<u16>) -> Result<u16, CryptoError> {
    match key_bits {
        Some(bits @ (128 | 192 | 256)) => Ok(bits),
        Some(bits) => Err(CryptoError::InvalidLength {
            what: "AES key length (bits)",
            len: usize::from(bits),
        }),
        // RFC 7296 §3.3.5 and RFC 3602 §5.3: AES transforms MUST carry a Key Length attribute.
        None => Err(CryptoError::Unsupported(
            "AES transform without a Key Length attribute",
        )),
    }
}

/// A fixed-key transform accepts no Key Length attribute, or one naming its own size.
fn fixed_key_bits(key_bits: Option<u16>, bits: u16) -> Result<(), CryptoError> {
    match key_bits {
        None => Ok(()),
        Some(b) if b == bits => Ok(()),
        Some(b) => Err(CryptoError::InvalidLength {
            what: "key length attribute of a fixed-key transform (bits)",
            len: usize::from(b),
        }),
    }
}

impl EncrAlg {
    /// The transform of an IKEv2 transform of type 1 (RFC 7296 §3.3.2) with its Key Length
    /// attribute (§3.3.5), if any.
    ///
    /// AES transforms need a Key Length of 128, 192 or 256; ChaCha20-Poly1305 and 3DES have a
    /// fixed key and accept none (or their own size). Anything else is
    /// [`CryptoError::Unsupported`] (an unknown or unimplemented transform, or AES without a key
    /// length) or [`CryptoError::InvalidLength`] (a key length the transform does not have).
    pub fn from_ikev2(id: EncrId, key_bits: Option<u16>) -> Result<Self, CryptoError> {
        Ok(match id {
            EncrId::AesCbc => Self::AesCbc {
                key_bits: aes_key_bits(key_bits)?,
            },
            EncrId::AesCtr => Self::AesCtr {
                key_bits: aes_key_bits(key_bits)?,
            },
            EncrId::AesGcm8 | EncrId::AesGcm12 | EncrId::AesGcm16 => Self::AesGcm {
                key_bits: aes_key_bits(key_bits)?,
                icv_len: match id {
                    EncrId::AesGcm8 => 8,
                    EncrId::AesGcm12 => 12,
                    _ => 16,
                },
            },
            EncrId::AesCcm8 | EncrId::AesCcm12 | EncrId::AesCcm16 => Self::AesCcm {
                key_bits: aes_key_bits(key_bits)?,
                icv_len: match id {
                    EncrId::AesCcm8 => 8,
                    EncrId::AesCcm12 => 12,
                    _ => 16,
                },
            },
            EncrId::ChaCha20Poly1305 => {
                fixed_key_bits(key_bits, 256)?;
                Self::ChaCha20Poly1305
            }
            EncrId::TripleDes => {
                fixed_key_bits(key_bits, 192)?;
                Self::TripleDesCbc
            }
            _ => return Err(CryptoError::Unsupported("IKEv2 encryption transform")),
        })
    }

    /// The transform of an IKEv1 Phase 1 Encryption Algorithm attribute (RFC 2409 Appendix A)
    /// with its Key Length attribute, if any. AES-CBC (RFC 3602 §5.3: Key Length required) and
    /// 3DES-CBC are implemented.
    pub fn from_ikev1(encr: OakleyEncr, key_bits: Option<u16>) -> Result<Self, CryptoError> {
        Ok(match encr {
            OakleyEncr::AesCbc => Self::AesCbc {
                key_bits: aes_key_bits(key_bits)?,
            },
            OakleyEncr::TripleDesCbc => {
                fixed_key_bits(key_bits, 192)?;
                Self::TripleDesCbc
            }
            _ => return Err(CryptoError::Unsupported("IKEv1 encryption algorithm")),
        })
    }

    /// The cipher key length in bytes, without salt or nonce.
    pub fn key_len(&self) -> usize {
        match *self {
            Self::AesCbc { key_bits }
            | Self::AesCtr { key_bits }
            | Self::AesGcm { key_bits, .. }
            | Self::AesCcm { key_bits, .. } => usize::from(key_bits) / 8,
            Self::ChaCha20Poly1305 => 32,
            Self::TripleDesCbc => 24,
        }
    }

    /// How many bytes of key material (`SK_ei`/`SK_er`, or IKEv1's expanded `SKEYID_e`) the
    /// transform takes: the key, then the salt or nonce of the counter-based modes (4 bytes for
    /// GCM, CTR and ChaCha20-Poly1305, 3 for CCM).
    pub fn key_material_len(&self) -> usize {
        self.key_len()
            + match self {
                Self::AesCbc { .. } | Self::TripleDesCbc => 0,
                Self::AesCtr { .. } => CTR_NONCE,
                Self::AesGcm { .. } => GCM_SALT,
                Self::AesCcm { .. } => CCM_SALT,
                Self::ChaCha20Poly1305 => CHACHA_SALT,
            }
    }

    /// Length of the IV carried in each message: 16 for AES-CBC, 8 for everything else.
    pub fn iv_len(&self) -> usize {
        match self {
            Self::AesCbc { .. } => 16,
            Self::TripleDesCbc => 8,
            Self::AesCtr { .. }
            | Self::AesGcm { .. }
            | Self::AesCcm { .. }
            | Self::ChaCha20Poly1305 => EXPLICIT_IV,
        }
    }

    /// The alignment the plaintext (payloads, padding and Pad Length) must have: the cipher's
    /// block size for CBC, 1 for the counter-based transforms.
    pub fn block_len(&self) -> usize {
        match self {
            Self::AesCbc { .. } => 16,
            Self::TripleDesCbc => 8,
            Self::AesCtr { .. }
            | Self::AesGcm { .. }
            | Self::AesCcm { .. }
            | Self::ChaCha20Poly1305 => 1,
        }
    }

    /// Length of the integrity check value an AEAD transform appends; 0 for the others.
    pub fn icv_len(&self) -> usize {
        match *self {
            Self::AesGcm { icv_len, .. } | Self::AesCcm { icv_len, .. } => icv_len,
            Self::ChaCha20Poly1305 => 16,
            Self::AesCbc { .. } | Self::AesCtr { .. } | Self::TripleDesCbc => 0,
        }
    }

    /// Whether the transform is an AEAD (no separate integrity transform is negotiated).
    pub fn is_aead(&self) -> bool {
        matches!(
            self,
            Self::AesGcm { .. } | Self::AesCcm { .. } | Self::ChaCha20Poly1305
        )
    }

    /// Checks a value that may have been built by hand.
    fn validate(&self) -> Result<(), CryptoError> {
        match *self {
            Self::AesCbc { key_bits }
            | Self::AesCtr { key_bits }
            | Self::AesGcm { key_bits, .. }
            | Self::AesCcm { key_bits, .. } => {
                aes_key_bits(Some(key_bits))?;
            }
            Self::ChaCha20Poly1305 | Self::TripleDesCbc => {}
        }
        match *self {
            Self::AesGcm { icv_len, .. } | Self::AesCcm { icv_len, .. }
                if !matches!(icv_len, 8 | 12 | 16) =>
            {
                Err(CryptoError::InvalidLength {
                    what: "ICV length",
                    len: icv_len,
                })
            }
            _ => Ok(()),
        }
    }
}

/// AES-CCM with an 11-byte nonce (RFC 4309 §4: 3-byte salt ‖ 8-byte IV), one type per key size
/// and ICV length.
enum CcmKey {
    A128I8(Ccm<Aes128, U8, U11>),
    A128I12(Ccm<Aes128, U12, U11>),
    A128I16(Ccm<Aes128, U16, U11>),
    A192I8(Ccm<Aes192, U8, U11>),
    A192I12(Ccm<Aes192, U12, U11>),
    A192I16(Ccm<Aes192, U16, U11>),
    A256I8(Ccm<Aes256, U8, U11>),
    A256I12(Ccm<Aes256, U12, U11>),
    A256I16(Ccm<Aes256, U16, U11>),
}

macro_rules! with_ccm {
    ($key:expr, $k:ident => $body:expr) => {
        match $key {
            CcmKey::A128I8($k) => $body,
            CcmKey::A128I12($k) => $body,
            CcmKey::A128I16($k) => $body,
            CcmKey::A192I8($k) => $body,
            CcmKey::A192I12($k) => $body,
            CcmKey::A192I16($k) => $body,
            CcmKey::A256I8($k) => $body,
            CcmKey::A256I12($k) => $body,
            CcmKey::A256I16($k) => $body,
        }
    };
}

impl CcmKey {
    fn new(key: &[u8], icv_len: usize) -> Result<Self, CryptoError> {
        let bad = |_| CryptoError::InvalidLength {
            what: "AES-CCM key",
            len: key.len(),
        };
        Ok(match (key.len(), icv_len) {
            (16, 8) => Self::A128I8(Ccm::new_from_slice(key).map_err(bad)?),
            (16, 12) => Self::A128I12(Ccm::new_from_slice(key).map_err(bad)?),
            (16, 16) => Self::A128I16(Ccm::new_from_slice(key).map_err(bad)?),
            (24, 8) => Self::A192I8(Ccm::new_from_slice(key).map_err(bad)?),
            (24, 12) => Self::A192I12(Ccm::new_from_slice(key).map_err(bad)?),
            (24, 16) => Self::A192I16(Ccm::new_from_slice(key).map_err(bad)?),
            (32, 8) => Self::A256I8(Ccm::new_from_slice(key).map_err(bad)?),
            (32, 12) => Self::A256I12(Ccm::new_from_slice(key).map_err(bad)?),
            (32, 16) => Self::A256I16(Ccm::new_from_slice(key).map_err(bad)?),
            _ => {
                return Err(CryptoError::InvalidLength {
                    what: "AES-CCM key or ICV",
                    len: key.len(),
                })
            }
        })
    }

    /// Encrypts `buf` in place and returns the tag.
    fn seal(&self, nonce: &[u8; 11], aad: &[u8], buf: &mut [u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = ccm::Nonce::<U11>::from(*nonce);
        with_ccm!(self, k => k
            .encrypt_in_place_detached(&nonce, aad, buf)
            .map(|tag| tag.to_vec())
            .map_err(|_| CryptoError::Backend("AES-CCM encryption")))
    }

    /// Checks the tag and decrypts `buf` in place.
    fn open(
        &self,
        nonce: &[u8; 11],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        let nonce = ccm::Nonce::<U11>::from(*nonce);
        with_ccm!(self, k => {
            // The tag's type (and so its length) is the instance's; a slice of another length
            // does not convert.
            let tag = ccm::aead::generic_array::GenericArray::from_exact_iter(tag.iter().copied())
                .ok_or(CryptoError::IntegrityFailure)?;
            k.decrypt_in_place_detached(&nonce, aad, buf, &tag)
                .map_err(|_| CryptoError::IntegrityFailure)
        })
    }
}

/// The prepared key of a [`Cipher`].
enum Backend {
    /// AES-CBC: both directions' key schedules.
    AesCbc {
        enc: EncryptingKey,
        dec: DecryptingKey,
    },
    /// AES-CTR: the counter block is nonce ‖ IV ‖ 0x00000001 (RFC 3686 §4); encryption and
    /// decryption are the same operation.
    AesCtr {
        key: EncryptingKey,
        nonce: Zeroizing<[u8; CTR_NONCE]>,
    },
    /// AES-GCM with 16-byte tags and ChaCha20-Poly1305 through aws-lc-rs.
    AwsAead {
        key: LessSafeKey,
        salt: Zeroizing<[u8; 4]>,
    },
    /// AES-GCM with 8- or 12-byte tags through OpenSSL: keyed EVP contexts, copied for each
    /// message (the copy keeps the key schedule and GHASH table).
    OpensslGcm {
        enc: KeyedCtx,
        dec: KeyedCtx,
        salt: Zeroizing<[u8; GCM_SALT]>,
        icv_len: usize,
    },
    /// AES-CCM through RustCrypto.
    Ccm {
        key: CcmKey,
        salt: Zeroizing<[u8; CCM_SALT]>,
    },
    /// 3DES-CBC through OpenSSL, padding off; keyed EVP contexts copied for each message.
    TripleDes { enc: KeyedCtx, dec: KeyedCtx },
}

/// An encryption transform with its key, prepared once per SA and direction.
///
/// Non-AEAD transforms (AES-CBC, AES-CTR, 3DES-CBC) use [`Cipher::encrypt`] and
/// [`Cipher::decrypt`], which work in place; AEAD transforms use [`Cipher::seal`] and
/// [`Cipher::open`] (or their in-place forms). Calling the other pair is
/// [`CryptoError::Unsupported`].
pub struct Cipher {
    alg: EncrAlg,
    backend: Backend,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn backend_err(what: &'static str) -> impl Fn(aws_lc_rs::error::Unspecified) -> CryptoError {
    move |_| CryptoError::Backend(what)
}

/// Copies secret bytes of a known length into a zeroizing array.
fn fixed<const N: usize>(
    bytes: &[u8],
    what: &'static str,
) -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; N]);
    if bytes.len() != N {
        return Err(CryptoError::InvalidLength {
            what,
            len: bytes.len(),
        });
    }
    out.copy_from_slice(bytes);
    Ok(out)
}

/// The 8-byte explicit IV of the counter-based transforms.
fn iv8(iv: &[u8]) -> Result<[u8; EXPLICIT_IV], CryptoError> {
    iv.try_into().map_err(|_| CryptoError::InvalidLength {
        what: "IV",
        len: iv.len(),
    })
}

fn aes_cipher_alg(key_len: usize) -> Result<&'static aws_lc_rs::cipher::Algorithm, CryptoError> {
    match key_len {
        16 => Ok(&aws_lc_rs::cipher::AES_128),
        24 => Ok(&aws_lc_rs::cipher::AES_192),
        32 => Ok(&aws_lc_rs::cipher::AES_256),
        len => Err(CryptoError::InvalidLength {
            what: "AES key",
            len,
        }),
    }
}

fn aes_gcm_alg(key_len: usize) -> Result<&'static aead::Algorithm, CryptoError> {
    match key_len {
        16 => Ok(&aead::AES_128_GCM),
        24 => Ok(&aead::AES_192_GCM),
        32 => Ok(&aead::AES_256_GCM),
        len => Err(CryptoError::InvalidLength {
            what: "AES key",
            len,
        }),
    }
}

impl Cipher {
    /// Prepares `alg` with `key_material`, which must be exactly
    /// [`EncrAlg::key_material_len`] bytes: the key, then the salt or nonce if the transform has
    /// one (RFC 5282 §7.1, RFC 5930 §2, RFC 7634 §2).
    pub fn new(alg: EncrAlg, key_material: &[u8]) -> Result<Self, CryptoError> {
        alg.validate()?;
        if key_material.len() != alg.key_material_len() {
            return Err(CryptoError::InvalidLength {
                what: "key material",
                len: key_material.len(),
            });
        }
        let (key, salt) =
            key_material
                .split_at_checked(alg.key_len())
                .ok_or(CryptoError::InvalidLength {
                    what: "key material",
                    len: key_material.len(),
                })?;
        let backend = match alg {
            EncrAlg::AesCbc { .. } => {
                let algorithm = aes_cipher_alg(key.len())?;
                let enc = UnboundCipherKey::new(algorithm, key)
                    .and_then(EncryptingKey::cbc)
                    .map_err(backend_err("AES-CBC key"))?;
                let dec = UnboundCipherKey::new(algorithm, key)
                    .and_then(DecryptingKey::cbc)
                    .map_err(backend_err("AES-CBC key"))?;
                Backend::AesCbc { enc, dec }
            }
            EncrAlg::AesCtr { .. } => {
                let key = UnboundCipherKey::new(aes_cipher_alg(key.len())?, key)
                    .and_then(EncryptingKey::ctr)
                    .map_err(backend_err("AES-CTR key"))?;
                Backend::AesCtr {
                    key,
                    nonce: fixed(salt, "salt")?,
                }
            }
            EncrAlg::AesGcm { icv_len: 16, .. } => Backend::AwsAead {
                key: LessSafeKey::new(
                    UnboundKey::new(aes_gcm_alg(key.len())?, key)
                        .map_err(backend_err("AES-GCM key"))?,
                ),
                salt: fixed(salt, "salt")?,
            },
            EncrAlg::AesGcm { icv_len, .. } => {
                let cipher = match key.len() {
                    16 => OsslCipher::aes_128_gcm(),
                    24 => OsslCipher::aes_192_gcm(),
                    _ => OsslCipher::aes_256_gcm(),
                };
                Backend::OpensslGcm {
                    enc: KeyedCtx::new(cipher, key, true)?,
                    dec: KeyedCtx::new(cipher, key, false)?,
                    salt: fixed(salt, "salt")?,
                    icv_len,
                }
            }
            EncrAlg::AesCcm { icv_len, .. } => Backend::Ccm {
                key: CcmKey::new(key, icv_len)?,
                salt: fixed(salt, "salt")?,
            },
            EncrAlg::ChaCha20Poly1305 => Backend::AwsAead {
                key: LessSafeKey::new(
                    UnboundKey::new(&aead::CHACHA20_POLY1305, key)
                        .map_err(backend_err("ChaCha20-Poly1305 key"))?,
                ),
                salt: fixed(salt, "salt")?,
            },
            EncrAlg::TripleDesCbc => Backend::TripleDes {
                enc: KeyedCtx::new(OsslCipher::des_ede3_cbc(), key, true)?,
                dec: KeyedCtx::new(OsslCipher::des_ede3_cbc(), key, false)?,
            },
        };
        Ok(Self { alg, backend })
    }

    /// The transform.
    pub fn alg(&self) -> EncrAlg {
        self.alg
    }

    fn check_iv(&self, iv: &[u8]) -> Result<(), CryptoError> {
        if iv.len() == self.alg.iv_len() {
            Ok(())
        } else {
            Err(CryptoError::InvalidLength {
                what: "IV",
                len: iv.len(),
            })
        }
    }

    /// Encrypts `data` in place with a non-AEAD transform and the message's `iv`
    /// ([`EncrAlg::iv_len`] bytes). For CBC, `data` must be a multiple of
    /// [`EncrAlg::block_len`] (the caller pads); for CTR any length is fine.
    pub fn encrypt(&self, iv: &[u8], data: &mut [u8]) -> Result<(), CryptoError> {
        self.crypt(iv, data, true)
    }

    /// Decrypts `data` in place with a non-AEAD transform; the counterpart of
    /// [`Cipher::encrypt`]. Without an integrity check this cannot fail on bad data: the caller
    /// must have verified the ICV first (RFC 7296 §3.14).
    pub fn decrypt(&self, iv: &[u8], data: &mut [u8]) -> Result<(), CryptoError> {
        self.crypt(iv, data, false)
    }

    fn crypt(&self, iv: &[u8], data: &mut [u8], encrypt: bool) -> Result<(), CryptoError> {
        self.check_iv(iv)?;
        let block = self.alg.block_len();
        if data.len() % block != 0 {
            return Err(CryptoError::InvalidLength {
                what: "CBC data (not a multiple of the block length)",
                len: data.len(),
            });
        }
        match &self.backend {
            Backend::AesCbc { enc, dec } => {
                let iv16: [u8; 16] = iv.try_into().map_err(|_| CryptoError::InvalidLength {
                    what: "IV",
                    len: iv.len(),
                })?;
                let iv = FixedLength::from(&iv16);
                if encrypt {
                    enc.less_safe_encrypt(data, EncryptionContext::Iv128(iv))
                        .map(|_| ())
                        .map_err(backend_err("AES-CBC encryption"))
                } else {
                    dec.decrypt(data, DecryptionContext::Iv128(iv))
                        .map(|_| ())
                        .map_err(backend_err("AES-CBC decryption"))
                }
            }
            Backend::AesCtr { key, nonce } => {
                // RFC 3686 §4: nonce ‖ IV ‖ block counter starting at 1. An IKE message is at
                // most 64 KiB, far from wrapping the 32-bit counter.
                let mut block = Zeroizing::new([0u8; 16]);
                let (head, counter) = block.split_at_mut(CTR_NONCE + EXPLICIT_IV);
                let (n, i) = head.split_at_mut(CTR_NONCE);
                n.copy_from_slice(&nonce[..]);
                i.copy_from_slice(&iv8(iv)?);
                counter.copy_from_slice(&1u32.to_be_bytes());
                key.less_safe_encrypt(data, EncryptionContext::Iv128(FixedLength::from(&*block)))
                    .map(|_| ())
                    .map_err(backend_err("AES-CTR"))
            }
            Backend::TripleDes { enc, dec } => {
                let err = |_| CryptoError::Backend("3DES-CBC");
                let mut c = if encrypt { enc } else { dec }.start(iv)?;
                // In-place operation would need a spare block after the data, so the output
                // goes to a scratch buffer.
                let mut out = Zeroizing::new(vec![0u8; data.len() + block]);
                let n = c.cipher_update(data, Some(&mut out)).map_err(err)?;
                let m = c
                    .cipher_final(out.get_mut(n..).unwrap_or_default())
                    .map_err(err)?;
                let result = out
                    .get(..n + m)
                    .filter(|r| r.len() == data.len())
                    .ok_or(CryptoError::Backend("3DES-CBC output length"))?;
                data.copy_from_slice(result);
                Ok(())
            }
            Backend::AwsAead { .. } | Backend::OpensslGcm { .. } | Backend::Ccm { .. } => Err(
                CryptoError::Unsupported("encrypt/decrypt on an AEAD transform: use seal/open"),
            ),
        }
    }

    /// Encrypts `plaintext` with an AEAD transform and returns ciphertext ‖ ICV. The nonce is
    /// the salt from the key material followed by `iv` (RFC 5282 §4, RFC 4309 §4, RFC 7634 §2);
    /// `aad` is authenticated but not encrypted.
    pub fn seal(&self, iv: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut buf = Vec::with_capacity(plaintext.len() + self.alg.icv_len());
        buf.extend_from_slice(plaintext);
        self.seal_in_place(iv, aad, &mut buf)?;
        Ok(buf)
    }

    /// Like [`Cipher::seal`], but encrypts `buf` in place and appends the ICV to it.
    pub fn seal_in_place(
        &self,
        iv: &[u8],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.check_iv(iv)?;
        let tag = match &self.backend {
            Backend::AwsAead { key, salt } => {
                let nonce = nonce12(salt, iv)?;
                key.seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    buf,
                )
                .map(|t| t.as_ref().to_vec())
                .map_err(backend_err("AEAD seal"))?
            }
            Backend::OpensslGcm {
                enc, salt, icv_len, ..
            } => {
                let nonce = nonce12(salt, iv)?;
                openssl_gcm_seal(enc, &nonce, aad, buf, *icv_len)?
            }
            Backend::Ccm { key, salt } => {
                let nonce = nonce11(salt, iv)?;
                key.seal(&nonce, aad, buf)?
            }
            Backend::AesCbc { .. } | Backend::AesCtr { .. } | Backend::TripleDes { .. } => {
                return Err(CryptoError::Unsupported(
                    "seal/open on a non-AEAD transform: use encrypt/decrypt",
                ))
            }
        };
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Checks the ICV at the end of `ciphertext_and_tag` and returns the plaintext. Any failure
    /// to authenticate (a wrong ICV, AAD, IV or key, or input shorter than the ICV) is
    /// [`CryptoError::IntegrityFailure`]; no plaintext is released then.
    pub fn open(
        &self,
        iv: &[u8],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut buf = ciphertext_and_tag.to_vec();
        let len = self.open_in_place(iv, aad, &mut buf)?.len();
        buf.truncate(len);
        Ok(buf)
    }

    /// Like [`Cipher::open`], but decrypts in place: on success the plaintext is the returned
    /// prefix of `buf` (the ICV bytes after it are left as they were); on failure `buf` is
    /// zeroed.
    pub fn open_in_place<'a>(
        &self,
        iv: &[u8],
        aad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError> {
        self.check_iv(iv)?;
        if matches!(
            self.backend,
            Backend::AesCbc { .. } | Backend::AesCtr { .. } | Backend::TripleDes { .. }
        ) {
            return Err(CryptoError::Unsupported(
                "seal/open on a non-AEAD transform: use encrypt/decrypt",
            ));
        }
        let ct_len = buf
            .len()
            .checked_sub(self.alg.icv_len())
            .ok_or(CryptoError::IntegrityFailure)?;
        let result = match buf.split_at_mut_checked(ct_len) {
            None => Err(CryptoError::IntegrityFailure),
            Some((ct, tag)) => self.open_split(iv, aad, ct, tag),
        };
        match result {
            Ok(()) => buf.get_mut(..ct_len).ok_or(CryptoError::IntegrityFailure),
            Err(e) => {
                buf.zeroize();
                Err(e)
            }
        }
    }

    fn open_split(
        &self,
        iv: &[u8],
        aad: &[u8],
        ct: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        match &self.backend {
            Backend::AwsAead { key, salt } => {
                let nonce = nonce12(salt, iv)?;
                key.open_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    tag,
                    ct,
                )
                .map(|_| ())
                .map_err(|_| CryptoError::IntegrityFailure)
            }
            Backend::OpensslGcm { dec, salt, .. } => {
                let nonce = nonce12(salt, iv)?;
                openssl_gcm_open(dec, &nonce, aad, ct, tag)
            }
            Backend::Ccm { key, salt } => {
                let nonce = nonce11(salt, iv)?;
                key.open(&nonce, aad, ct, tag)
            }
            Backend::AesCbc { .. } | Backend::AesCtr { .. } | Backend::TripleDes { .. } => Err(
                CryptoError::Unsupported("seal/open on a non-AEAD transform: use encrypt/decrypt"),
            ),
        }
    }
}

/// salt ‖ IV for the 12-byte nonces of GCM (RFC 4106 §4) and ChaCha20-Poly1305 (RFC 7634 §2).
fn nonce12(salt: &[u8; 4], iv: &[u8]) -> Result<[u8; 12], CryptoError> {
    let mut n = [0u8; 12];
    let (s, i) = n.split_at_mut(4);
    s.copy_from_slice(salt);
    i.copy_from_slice(&iv8(iv)?);
    Ok(n)
}

/// salt ‖ IV for the 11-byte CCM nonce (RFC 4309 §4).
fn nonce11(salt: &[u8; 3], iv: &[u8]) -> Result<[u8; 11], CryptoError> {
    let mut n = [0u8; 11];
    let (s, i) = n.split_at_mut(3);
    s.copy_from_slice(salt);
    i.copy_from_slice(&iv8(iv)?);
    Ok(n)
}

/// An OpenSSL cipher context with its key set, in one direction. Each message works on a copy
/// (`EVP_CIPHER_CTX_copy`), so the key schedule is computed once and `Cipher` stays `&self`.
/// OpenSSL cleanses the contexts' key material when they are freed.
struct KeyedCtx {
    ctx: CipherCtx,
    encrypt: bool,
}

impl KeyedCtx {
    fn new(cipher: &CipherRef, key: &[u8], encrypt: bool) -> Result<Self, CryptoError> {
        let err = |_| CryptoError::Backend("OpenSSL cipher setup");
        if key.len() != cipher.key_length() {
            return Err(CryptoError::InvalidLength {
                what: "key",
                len: key.len(),
            });
        }
        let mut ctx = CipherCtx::new().map_err(err)?;
        if encrypt {
            ctx.encrypt_init(Some(cipher), Some(key), None)
        } else {
            ctx.decrypt_init(Some(cipher), Some(key), None)
        }
        .map_err(err)?;
        ctx.set_padding(false);
        Ok(Self { ctx, encrypt })
    }

    /// A fresh copy of the keyed context, started with `iv` (whose length the caller checked
    /// against the cipher's).
    fn start(&self, iv: &[u8]) -> Result<CipherCtx, CryptoError> {
        let err = |_| CryptoError::Backend("OpenSSL cipher context");
        if iv.len() != self.ctx.iv_length() {
            return Err(CryptoError::InvalidLength {
                what: "IV",
                len: iv.len(),
            });
        }
        let mut ctx = CipherCtx::new().map_err(err)?;
        ctx.copy(&self.ctx).map_err(err)?;
        // Cipher and key stay as they were; only the IV is set (in the same direction).
        if self.encrypt {
            ctx.encrypt_init(None, None, Some(iv))
        } else {
            ctx.decrypt_init(None, None, Some(iv))
        }
        .map_err(err)?;
        Ok(ctx)
    }
}

fn openssl_gcm_seal(
    enc: &KeyedCtx,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    icv_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let err = |_| CryptoError::Backend("AES-GCM (OpenSSL) seal");
    let mut c = enc.start(nonce)?;
    c.cipher_update(aad, None).map_err(err)?;
    let n = c.cipher_update_inplace(buf, buf.len()).map_err(err)?;
    let m = c.cipher_final(&mut []).map_err(err)?;
    if n + m != buf.len() {
        return Err(CryptoError::Backend("AES-GCM (OpenSSL) output length"));
    }
    // NIST SP 800-38D §5.2.1.2: a t-byte tag is the leftmost t bytes of the full tag; OpenSSL
    // returns exactly that when asked for fewer bytes.
    let mut tag = vec![0u8; icv_len];
    c.tag(&mut tag).map_err(err)?;
    Ok(tag)
}

/// Decrypts `ct` in place and checks `tag`. GCM releases plaintext before the tag is checked:
/// on failure the caller zeroes `ct`.
fn openssl_gcm_open(
    dec: &KeyedCtx,
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &mut [u8],
    tag: &[u8],
) -> Result<(), CryptoError> {
    let err = |_| CryptoError::Backend("AES-GCM (OpenSSL) open");
    let mut c = dec.start(nonce)?;
    c.cipher_update(aad, None).map_err(err)?;
    let n = c.cipher_update_inplace(ct, ct.len()).map_err(err)?;
    c.set_tag(tag).map_err(err)?;
    let m = c
        .cipher_final(&mut [])
        .map_err(|_| CryptoError::IntegrityFailure)?;
    if n + m != ct.len() {
        return Err(CryptoError::Backend("AES-GCM (OpenSSL) output length"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ikev2_ids_map_with_key_lengths() {
        assert_eq!(
            EncrAlg::from_ikev2(EncrId::AesGcm12, Some(192)),
            Ok(EncrAlg::AesGcm {
                key_bits: 192,
                icv_len: 12
            })
        );
        assert_eq!(
            EncrAlg::from_ikev2(EncrId::AesCcm8, Some(256)),
            Ok(EncrAlg::AesCcm {
                key_bits: 256,
                icv_len: 8
            })
        );
        assert_eq!(
            EncrAlg::from_ikev2(EncrId::ChaCha20Poly1305, None),
            Ok(EncrAlg::ChaCha20Poly1305)
        );
        assert_eq!(
            EncrAlg::from_ikev2(EncrId::TripleDes, Some(192)),
            Ok(EncrAlg::TripleDesCbc)
        );
        assert!(matches!(
            EncrAlg::from_ikev2(EncrId::AesCbc, None),
            Err(CryptoError::Unsupported(_))
        ));
        assert!(matches!(
            EncrAlg::from_ikev2(EncrId::AesCbc, Some(64)),
            Err(CryptoError::InvalidLength { len: 64, .. })
        ));
        assert!(matches!(
            EncrAlg::from_ikev2(EncrId::ChaCha20Poly1305, Some(128)),
            Err(CryptoError::InvalidLength { len: 128, .. })
        ));
        for id in [
            EncrId::Des,
            EncrId::Null,
            EncrId::NullAuthAesGmac,
            EncrId::CamelliaCbc,
            EncrId::Unknown(1024),
        ] {
            assert!(matches!(
                EncrAlg::from_ikev2(id, Some(128)),
                Err(CryptoError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn ikev1_values_map() {
        assert_eq!(
            EncrAlg::from_ikev1(OakleyEncr::AesCbc, Some(256)),
            Ok(EncrAlg::AesCbc { key_bits: 256 })
        );
        assert_eq!(
            EncrAlg::from_ikev1(OakleyEncr::TripleDesCbc, None),
            Ok(EncrAlg::TripleDesCbc)
        );
        assert!(EncrAlg::from_ikev1(OakleyEncr::AesCbc, None).is_err());
        assert!(matches!(
            EncrAlg::from_ikev1(OakleyEncr::DesCbc, None),
            Err(CryptoError::Unsupported(_))
        ));
    }

    #[test]
    fn lengths_follow_the_rfcs() {
        let gcm = EncrAlg::AesGcm {
            key_bits: 256,
            icv_len: 16,
        };
        assert_eq!(
            (
                gcm.key_material_len(),
                gcm.iv_len(),
                gcm.block_len(),
                gcm.icv_len()
            ),
            (36, 8, 1, 16)
        );
        let ccm = EncrAlg::AesCcm {
            key_bits: 128,
            icv_len: 8,
        };
        assert_eq!((ccm.key_material_len(), ccm.icv_len()), (19, 8));
        let ctr = EncrAlg::AesCtr { key_bits: 192 };
        assert_eq!(
            (ctr.key_material_len(), ctr.iv_len(), ctr.is_aead()),
            (28, 8, false)
        );
        let cbc = EncrAlg::AesCbc { key_bits: 128 };
        assert_eq!(
            (cbc.key_material_len(), cbc.iv_len(), cbc.block_len()),
            (16, 16, 16)
        );
        let des = EncrAlg::TripleDesCbc;
        assert_eq!(
            (des.key_material_len(), des.iv_len(), des.block_len()),
            (24, 8, 8)
        );
        let cp = EncrAlg::ChaCha20Poly1305;
        assert_eq!(
            (
                cp.key_material_len(),
                cp.iv_len(),
                cp.icv_len(),
                cp.is_aead()
            ),
            (36, 8, 16, true)
        );
    }

    #[test]
    fn hand_built_values_are_validated() {
        let bad = [
            EncrAlg::AesCbc { key_bits: 100 },
            EncrAlg::AesGcm {
                key_bits: 128,
                icv_len: 4,
            },
            EncrAlg::AesCcm {
                key_bits: 128,
                icv_len: 10,
            },
        ];
        for alg in bad {
            let km = vec![0u8; alg.key_material_len()];
            assert!(matches!(
                Cipher::new(alg, &km),
                Err(CryptoError::InvalidLength { .. })
            ));
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let c = Cipher::new(EncrAlg::AesCbc { key_bits: 128 }, &[0xab; 16]).unwrap();
        let s = format!("{c:?}");
        assert!(
            s.contains("AesCbc") && !s.contains("ab") && !s.contains("171"),
            "{s}"
        );
    }
}
