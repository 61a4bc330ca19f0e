//! Proposals in strongSwan's syntax (`aes128gcm16-prfsha256-x25519`, `aes256-sha256-modp2048`,
//! `aes128-sha256-ecp256-esn`), the same for both IKE versions, and what was chosen; their IKEv2
//! wire form and the responder's selection (RFC 7296 §3.3, §2.7) are in `v2`; IKEv1's Oakley and
//! IPsec DOI attributes (RFC 2409 Appendix A, RFC 2407 §4.5) go in `v1` beside it.
//!
//! As in strongSwan, an IKE proposal without a PRF takes the PRF that matches its integrity
//! algorithm; an AEAD IKE proposal must name its PRF. An ESP/AH proposal has no PRF, may name key
//! exchange methods (PFS), and defaults to no extended sequence numbers. An AH proposal (RFC
//! 4302, protocol ID 2 in RFC 7296 §3.3.1: `sha256`, `sha1-modp2048`) has integrity algorithms
//! only: an encryption keyword in one is an error (strongSwan drops it silently).
//!
//! Additional key exchanges (RFC 9370 §2.2.1, transform types 6-12, ADDKE1-7) are written
//! `ke1_mlkem768`, `ke2_mlkem1024`, as in strongSwan; `ke1_none` among them makes that exchange
//! optional. In IKE proposals they run over IKE_INTERMEDIATE when the IKE SA is set up and over
//! IKE_FOLLOWUP_KE when it is rekeyed; in ESP proposals (`aes256gcm16-x25519-ke1_mlkem768`) over
//! IKE_FOLLOWUP_KE after the CREATE_CHILD_SA exchange (RFC 9370 §2.2.4), which is why an ESP
//! proposal with them must name a key exchange method (PFS) too. The first Child SA, created in
//! IKE_AUTH, takes its keys from the IKE SA and uses neither.

use ike_crypto::cipher::{EncrAlg, IntegAlg};
use ike_crypto::prf::PrfAlg;
use ike_wire::group::DhGroup;
use ike_wire::v2::{self as wire, EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformType};

pub mod v1;
pub mod v2;

pub use self::v2::{check_reply, select, select_with};

/// Why a proposal string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProposalError {
    /// A keyword no algorithm has.
    #[error("unknown algorithm keyword `{0}`")]
    UnknownKeyword(String),
    /// The proposal lacks an encryption algorithm.
    #[error("proposal `{0}` names no encryption algorithm")]
    NoEncryption(String),
    /// An IKE proposal lacks a PRF and has no integrity algorithm to derive it from.
    #[error("proposal `{0}` needs a PRF (e.g. prfsha256)")]
    NoPrf(String),
    /// An IKE proposal lacks a key exchange method.
    #[error("IKE proposal `{0}` names no key exchange method (e.g. x25519, modp2048)")]
    NoKeyExchange(String),
    /// A non-AEAD cipher without integrity algorithm.
    #[error("proposal `{0}` has a non-AEAD cipher but no integrity algorithm")]
    NoIntegrity(String),
    /// AEAD and non-AEAD ciphers mixed in one proposal (RFC 7296 §3.3 forbids it).
    #[error("proposal `{0}` mixes AEAD and non-AEAD ciphers")]
    MixedAead(String),
    /// An ESP proposal with additional key exchanges but no key exchange method: they follow a
    /// CREATE_CHILD_SA exchange that has one (RFC 9370 §2.2.4).
    #[error(
        "proposal `{0}` has additional key exchanges but no key exchange method (e.g. x25519)"
    )]
    AddKeWithoutKe(String),
    /// A keyword that is not allowed in this kind of proposal.
    #[error("`{keyword}` is not allowed in an {kind} proposal")]
    NotAllowed {
        /// The keyword.
        keyword: String,
        /// IKE, ESP or AH.
        kind: &'static str,
    },
    /// An AH proposal without an integrity algorithm (AH does nothing else).
    #[error("AH proposal `{0}` names no integrity algorithm (e.g. sha256)")]
    AhWithoutIntegrity(String),
}

/// One proposal: the acceptable transforms of each type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// IKE, ESP or AH.
    pub protocol: ProtocolId,
    /// Encryption algorithms with key length in bits (None for fixed-size ones); empty for AH.
    pub encr: Vec<(EncrId, Option<u16>)>,
    /// Integrity algorithms (empty for AEAD).
    pub integ: Vec<IntegId>,
    /// PRFs (IKE only).
    pub prf: Vec<PrfId>,
    /// Key exchange methods (IKE: at least one; ESP: for PFS, possibly none).
    pub ke: Vec<DhGroup>,
    /// Extended sequence numbers (ESP/AH only).
    pub esn: Vec<EsnId>,
    /// Additional key exchanges (RFC 9370): the acceptable methods of ADDKE1 (index 0)
    /// to ADDKE7, each in our order of preference. [`DhGroup::None`] in a list makes that
    /// exchange optional; an empty list means we do not do it.
    pub addke: [Vec<DhGroup>; ADDKE_TYPES],
}

/// How many additional key exchange transform types there are (ADDKE1-7, RFC 9370 §2.2.1).
pub const ADDKE_TYPES: usize = 7;

/// The transform type of the additional key exchange at `index` (0 is ADDKE1).
pub fn addke_type(index: usize) -> TransformType {
    TransformType::from(u8::try_from(index + 6).unwrap_or(u8::MAX))
}

/// `keN_method` (or `keN_none`): the additional key exchange index (0 for `ke1`) and method.
fn addke_keyword(word: &str) -> Option<(usize, DhGroup)> {
    let rest = word.strip_prefix("ke")?;
    let (n, method) = rest.split_once('_')?;
    let n: usize = n.parse().ok()?;
    if !(1..=ADDKE_TYPES).contains(&n) {
        return None;
    }
    let g = if method == "none" {
        DhGroup::None
    } else {
        ke_keyword(method)?
    };
    Some((n - 1, g))
}

/// Splits `128gcm16` into the key size and the mode suffix.
fn key_bits(rest: &str) -> Option<(u16, &str)> {
    ["128", "192", "256"].iter().find_map(|b| {
        rest.strip_prefix(b)
            .and_then(|mode| b.parse().ok().map(|bits| (bits, mode)))
    })
}

fn encr_keyword(word: &str) -> Option<(EncrId, Option<u16>)> {
    let key = key_bits;
    if let Some(rest) = word.strip_prefix("aes") {
        let (bits, mode) = key(rest)?;
        let id = match mode {
            "" => EncrId::AesCbc,
            "ctr" => EncrId::AesCtr,
            "gcm8" => EncrId::AesGcm8,
            "gcm12" => EncrId::AesGcm12,
            "gcm16" | "gcm" => EncrId::AesGcm16,
            "ccm8" => EncrId::AesCcm8,
            "ccm12" => EncrId::AesCcm12,
            "ccm16" | "ccm" => EncrId::AesCcm16,
            _ => return None,
        };
        return Some((id, Some(bits)));
    }
    match word {
        "chacha20poly1305" => Some((EncrId::ChaCha20Poly1305, None)),
        "3des" => Some((EncrId::TripleDes, None)),
        _ => None,
    }
}

fn integ_keyword(word: &str) -> Option<IntegId> {
    Some(match word {
        "md5" => IntegId::HmacMd5_96,
        "sha1" | "sha" => IntegId::HmacSha1_96,
        "sha256" | "sha2_256" => IntegId::HmacSha256_128,
        "sha384" | "sha2_384" => IntegId::HmacSha384_192,
        "sha512" | "sha2_512" => IntegId::HmacSha512_256,
        "aesxcbc" => IntegId::AesXcbc96,
        "aescmac" => IntegId::AesCmac96,
        _ => return None,
    })
}

fn prf_keyword(word: &str) -> Option<PrfId> {
    Some(match word {
        "prfmd5" => PrfId::HmacMd5,
        "prfsha1" => PrfId::HmacSha1,
        "prfsha256" => PrfId::HmacSha256,
        "prfsha384" => PrfId::HmacSha384,
        "prfsha512" => PrfId::HmacSha512,
        "prfaesxcbc" => PrfId::Aes128Xcbc,
        "prfaescmac" => PrfId::Aes128Cmac,
        _ => return None,
    })
}

/// The key exchange method a strongSwan keyword names; `group<N>` names private group `N`
/// (32768 or more, RFC 2409 §5.6, IKEv1 only).
pub fn ke_keyword(word: &str) -> Option<DhGroup> {
    if let Some(n) = word.strip_prefix("group") {
        return n
            .parse::<u16>()
            .ok()
            .filter(|n| *n >= crate::config::PRIVATE_GROUP_MIN)
            .map(DhGroup::Unknown);
    }
    Some(match word {
        "modp768" => DhGroup::Modp768,
        "modp1024" => DhGroup::Modp1024,
        "modp1536" => DhGroup::Modp1536,
        "modp2048" => DhGroup::Modp2048,
        "modp3072" => DhGroup::Modp3072,
        "modp4096" => DhGroup::Modp4096,
        "modp6144" => DhGroup::Modp6144,
        "modp8192" => DhGroup::Modp8192,
        "modp1024s160" => DhGroup::Modp1024S160,
        "modp2048s224" => DhGroup::Modp2048S224,
        "modp2048s256" => DhGroup::Modp2048S256,
        "ecp192" => DhGroup::Ecp192,
        "ecp224" => DhGroup::Ecp224,
        "ecp256" => DhGroup::Ecp256,
        "ecp384" => DhGroup::Ecp384,
        "ecp521" => DhGroup::Ecp521,
        "ecp224bp" => DhGroup::Brainpool224,
        "ecp256bp" => DhGroup::Brainpool256,
        "ecp384bp" => DhGroup::Brainpool384,
        "ecp512bp" => DhGroup::Brainpool512,
        "x25519" | "curve25519" => DhGroup::Curve25519,
        "x448" | "curve448" => DhGroup::Curve448,
        "ec2n155" => DhGroup::Ec2n155,
        "ec2n185" => DhGroup::Ec2n185,
        "mlkem512" => DhGroup::MlKem512,
        "mlkem768" => DhGroup::MlKem768,
        "mlkem1024" => DhGroup::MlKem1024,
        _ => return None,
    })
}

impl Proposal {
    /// The weak algorithms this proposal names, each with why and what to use instead, for
    /// `ike check` (they still work: a connection that names them gets them).
    pub fn weaknesses(&self) -> Vec<String> {
        let mut out = Vec::new();
        for g in &self.ke {
            let why = match g {
                DhGroup::Modp768 | DhGroup::Modp1024 | DhGroup::Modp1024S160 => {
                    "a MODP group under 2048 bits is within reach of precomputation attacks (Logjam)"
                }
                DhGroup::Ec2n155 | DhGroup::Ec2n185 => {
                    "the Oakley EC2N curves (RFC 2409 groups 3 and 4) are binary curves of 155 and 185 bits, far below current strength"
                }
                DhGroup::Ecp192 => "a 192-bit curve is below current strength",
                _ => continue,
            };
            out.push(format!(
                "{} is weak: {why}; use modp3072, ecp256 or x25519",
                ke_name(*g)
            ));
        }
        if self.integ.contains(&IntegId::HmacMd5_96) || self.prf.contains(&PrfId::HmacMd5) {
            out.push("md5 is weak (broken collision resistance); use sha256".to_owned());
        }
        if self.encr.iter().any(|(e, _)| *e == EncrId::TripleDes) {
            out.push("3des is weak (64-bit blocks: Sweet32); use aes128 or aes256".to_owned());
        }
        out
    }
}

fn is_aead(id: EncrId) -> bool {
    matches!(
        id,
        EncrId::AesGcm8
            | EncrId::AesGcm12
            | EncrId::AesGcm16
            | EncrId::AesCcm8
            | EncrId::AesCcm12
            | EncrId::AesCcm16
            | EncrId::ChaCha20Poly1305
    )
}

fn prf_for_integ(id: IntegId) -> Option<PrfId> {
    Some(match id {
        IntegId::HmacMd5_96 => PrfId::HmacMd5,
        IntegId::HmacSha1_96 => PrfId::HmacSha1,
        IntegId::HmacSha256_128 => PrfId::HmacSha256,
        IntegId::HmacSha384_192 => PrfId::HmacSha384,
        IntegId::HmacSha512_256 => PrfId::HmacSha512,
        IntegId::AesXcbc96 => PrfId::Aes128Xcbc,
        IntegId::AesCmac96 => PrfId::Aes128Cmac,
        _ => return None,
    })
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

impl Proposal {
    /// Parses an IKE proposal (`aes128gcm16-prfsha256-x25519`).
    pub fn parse_ike(text: &str) -> Result<Self, ProposalError> {
        Self::parse(text, ProtocolId::Ike)
    }

    /// Parses an ESP proposal (`aes128gcm16-x25519` for PFS, `aes256-sha256`).
    pub fn parse_esp(text: &str) -> Result<Self, ProposalError> {
        Self::parse(text, ProtocolId::Esp)
    }

    /// Parses an AH proposal (`sha256`, `sha256-x25519` for PFS): integrity algorithms only.
    pub fn parse_ah(text: &str) -> Result<Self, ProposalError> {
        Self::parse(text, ProtocolId::Ah)
    }

    fn parse(text: &str, protocol: ProtocolId) -> Result<Self, ProposalError> {
        let ike = protocol == ProtocolId::Ike;
        let ah = protocol == ProtocolId::Ah;
        let kind = match protocol {
            ProtocolId::Ike => "IKE",
            ProtocolId::Ah => "AH",
            _ => "ESP",
        };
        let mut p = Proposal {
            protocol,
            encr: Vec::new(),
            integ: Vec::new(),
            prf: Vec::new(),
            ke: Vec::new(),
            esn: Vec::new(),
            addke: Default::default(),
        };
        for word in text.split('-').map(str::trim).filter(|w| !w.is_empty()) {
            let word = word.to_ascii_lowercase();
            if let Some(e) = encr_keyword(&word) {
                if ah {
                    return Err(ProposalError::NotAllowed {
                        keyword: word,
                        kind,
                    });
                }
                push_unique(&mut p.encr, e);
            } else if let Some(i) = integ_keyword(&word) {
                push_unique(&mut p.integ, i);
            } else if let Some(f) = prf_keyword(&word) {
                if !ike {
                    return Err(ProposalError::NotAllowed {
                        keyword: word,
                        kind,
                    });
                }
                push_unique(&mut p.prf, f);
            } else if let Some(g) = ke_keyword(&word) {
                push_unique(&mut p.ke, g);
            } else if let Some((n, g)) = addke_keyword(&word) {
                let Some(list) = p.addke.get_mut(n) else {
                    return Err(ProposalError::UnknownKeyword(word));
                };
                push_unique(list, g);
            } else if word == "esn" || word == "noesn" {
                if ike {
                    return Err(ProposalError::NotAllowed {
                        keyword: word,
                        kind,
                    });
                }
                push_unique(
                    &mut p.esn,
                    if word == "esn" {
                        EsnId::Esn
                    } else {
                        EsnId::NoEsn
                    },
                );
            } else {
                return Err(ProposalError::UnknownKeyword(word));
            }
        }
        if ah {
            if p.integ.is_empty() {
                return Err(ProposalError::AhWithoutIntegrity(text.to_owned()));
            }
        } else if p.encr.is_empty() {
            return Err(ProposalError::NoEncryption(text.to_owned()));
        }
        let aead = p.encr.iter().filter(|(id, _)| is_aead(*id)).count();
        if aead != 0 && aead != p.encr.len() {
            return Err(ProposalError::MixedAead(text.to_owned()));
        }
        if aead == 0 && p.integ.is_empty() {
            return Err(ProposalError::NoIntegrity(text.to_owned()));
        }
        if aead != 0 {
            // RFC 5282 §8: no integrity transform with an AEAD cipher.
            p.integ.clear();
        }
        if ike {
            if p.prf.is_empty() {
                p.prf = p.integ.iter().filter_map(|i| prf_for_integ(*i)).collect();
            }
            if p.prf.is_empty() {
                return Err(ProposalError::NoPrf(text.to_owned()));
            }
            if p.ke.is_empty() {
                return Err(ProposalError::NoKeyExchange(text.to_owned()));
            }
        } else {
            if p.esn.is_empty() {
                p.esn.push(EsnId::NoEsn);
            }
            if p.has_addke() && p.ke.is_empty() {
                return Err(ProposalError::AddKeWithoutKe(text.to_owned()));
            }
        }
        Ok(p)
    }

    /// Whether the proposal names additional key exchanges (RFC 9370), even optional ones.
    pub fn has_addke(&self) -> bool {
        self.addke.iter().any(|l| !l.is_empty())
    }

    /// The proposal without additional key exchanges (what IKE_AUTH offers for the first Child
    /// SA, whose keys come from the IKE SA).
    pub fn without_addke(&self) -> Self {
        Self {
            addke: Default::default(),
            ..self.clone()
        }
    }

    /// The proposal for the first Child SA, created in IKE_AUTH: without key exchange methods
    /// of its own, additional or not, since its keys come from the IKE SA (RFC 7296 §1.2).
    pub fn for_ike_auth(&self) -> Self {
        Self {
            ke: Vec::new(),
            addke: Default::default(),
            ..self.clone()
        }
    }
}

/// The transforms chosen from one proposal: one of each type present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// Encryption algorithm and key length; `None` for AH, which has none.
    pub encr: Option<(EncrId, Option<u16>)>,
    /// Integrity algorithm, if any (none with AEAD).
    pub integ: Option<IntegId>,
    /// PRF (IKE only).
    pub prf: Option<PrfId>,
    /// Key exchange method (always for IKE; for ESP only with PFS).
    pub ke: Option<DhGroup>,
    /// ESN (ESP/AH only).
    pub esn: Option<EsnId>,
    /// Additional key exchanges (RFC 9370): the method of ADDKE1 (index 0) to ADDKE7, `None`
    /// where that exchange is not done (not proposed, or NONE selected).
    pub addke: [Option<DhGroup>; ADDKE_TYPES],
    /// The peer's proposal number.
    pub number: u8,
}

impl Chosen {
    /// The additional key exchanges to run, in order (RFC 9370 §2.2.2): transform type and
    /// method, NONE left out.
    pub fn additional(&self) -> impl Iterator<Item = (TransformType, DhGroup)> + '_ {
        self.addke
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.map(|g| (addke_type(i), g)))
    }

    /// The cipher, ready for ike-crypto (an error for AH, which has none).
    pub fn encr_alg(&self) -> Result<EncrAlg, ike_crypto::CryptoError> {
        let (id, bits) = self.encr.ok_or(ike_crypto::CryptoError::Unsupported(
            "proposal without encryption",
        ))?;
        EncrAlg::from_ikev2(id, bits)
    }

    /// The integrity algorithm, if any.
    pub fn integ_alg(&self) -> Result<Option<IntegAlg>, ike_crypto::CryptoError> {
        self.integ.map(IntegAlg::from_ikev2).transpose()
    }

    /// The PRF.
    pub fn prf_alg(&self) -> Result<PrfAlg, ike_crypto::CryptoError> {
        match self.prf {
            Some(p) => PrfAlg::from_ikev2(p),
            None => Err(ike_crypto::CryptoError::Unsupported("proposal without PRF")),
        }
    }

    /// strongSwan-style text of the choice (`aes128gcm16-prfsha256-x25519`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((id, bits)) = self.encr {
            parts.push(encr_name(id, bits));
        }
        if let Some(i) = self.integ {
            parts.push(integ_name(i));
        }
        if let Some(p) = self.prf {
            parts.push(prf_name(p));
        }
        if let Some(g) = self.ke {
            parts.push(ke_name(g));
        }
        for (i, g) in self.addke.iter().enumerate() {
            if let Some(g) = g {
                parts.push(format!("ke{}_{}", i + 1, ke_name(*g)));
            }
        }
        if self.esn == Some(EsnId::Esn) {
            parts.push("esn".to_owned());
        }
        parts.join("-")
    }
}

/// strongSwan's keyword for an encryption algorithm (`aes128gcm16`, `aes256`).
impl Proposal {
    /// The proposal in strongSwan's syntax, every algorithm it allows
    /// (`aes128-aes256-sha256-prfsha256-x25519-modp2048`).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.encr.iter().map(|(e, b)| encr_name(*e, *b)).collect();
        parts.extend(self.integ.iter().map(|i| integ_name(*i)));
        parts.extend(self.prf.iter().map(|p| prf_name(*p)));
        parts.extend(self.ke.iter().map(|g| ke_name(*g)));
        for (i, list) in self.addke.iter().enumerate() {
            parts.extend(list.iter().map(|g| format!("ke{}_{}", i + 1, ke_name(*g))));
        }
        if self.esn.contains(&EsnId::Esn) {
            parts.push("esn".to_owned());
        }
        parts.join("-")
    }
}

/// Why no IKEv2 proposal matched, for the log of either side: the proposals received and ours,
/// side by side in strongSwan's syntax, and the first transform type with nothing in common
/// (`received aes256-sha1-prfsha1-modp1024; configured aes128gcm16-prfsha256-x25519; no common
/// encryption algorithm`).
pub fn mismatch(offered: &[ike_wire::v2::Proposal<'_>], ours: &[Proposal]) -> String {
    let received: Vec<String> = offered.iter().map(describe_offer).collect();
    let configured: Vec<String> = ours.iter().map(Proposal::describe).collect();
    let theirs = |t: TransformType| -> Vec<u16> {
        offered
            .iter()
            .flat_map(|p| &p.transforms)
            .filter(|x| x.transform_type == t)
            .map(|x| x.id)
            .collect()
    };
    let mine = |t: TransformType| -> Vec<u16> {
        ours.iter()
            .flat_map(|p| -> Vec<u16> {
                match t {
                    TransformType::Encr => p.encr.iter().map(|(e, _)| e.value()).collect(),
                    TransformType::Integ => p.integ.iter().map(|i| i.value()).collect(),
                    TransformType::Prf => p.prf.iter().map(|x| x.value()).collect(),
                    _ => p.ke.iter().map(|g| g.value()).collect(),
                }
            })
            .collect()
    };
    let first = [
        (TransformType::Encr, "encryption algorithm"),
        (TransformType::Integ, "integrity algorithm"),
        (TransformType::Prf, "PRF"),
        (TransformType::Ke, "key exchange method"),
    ]
    .into_iter()
    .find(|(t, _)| {
        let (a, b) = (theirs(*t), mine(*t));
        let common = a.iter().any(|x| b.contains(x));
        let neither = a.is_empty() && b.is_empty();
        !common && !neither
    })
    .map_or_else(
        || "no single proposal combines algorithms we both allow".to_owned(),
        |(_, what)| format!("no common {what}"),
    );
    format!(
        "received {}; configured {}; {first}",
        if received.is_empty() {
            "nothing".to_owned()
        } else {
            received.join(", ")
        },
        configured.join(", ")
    )
}

fn integ_name(i: IntegId) -> String {
    match i {
        IntegId::HmacMd5_96 => "md5".to_owned(),
        IntegId::HmacSha1_96 => "sha1".to_owned(),
        IntegId::HmacSha256_128 => "sha256".to_owned(),
        IntegId::HmacSha384_192 => "sha384".to_owned(),
        IntegId::HmacSha512_256 => "sha512".to_owned(),
        IntegId::AesXcbc96 => "aesxcbc".to_owned(),
        IntegId::AesCmac96 => "aescmac".to_owned(),
        other => format!("integ{}", other.value()),
    }
}

fn prf_name(p: PrfId) -> String {
    match p {
        PrfId::HmacMd5 => "prfmd5".to_owned(),
        PrfId::HmacSha1 => "prfsha1".to_owned(),
        PrfId::HmacSha256 => "prfsha256".to_owned(),
        PrfId::HmacSha384 => "prfsha384".to_owned(),
        PrfId::HmacSha512 => "prfsha512".to_owned(),
        PrfId::Aes128Xcbc => "prfaesxcbc".to_owned(),
        PrfId::Aes128Cmac => "prfaescmac".to_owned(),
        other => format!("prf{}", other.value()),
    }
}

/// An IKEv2 proposal as received, in strongSwan's syntax: each transform's keyword, in the
/// order encryption, integrity, PRF, key exchange, additional key exchanges, ESN (numbers for
/// what has no keyword), for logs that put the peer's offer beside ours.
pub fn describe_offer(p: &ike_wire::v2::Proposal<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let order = [
        TransformType::Encr,
        TransformType::Integ,
        TransformType::Prf,
        TransformType::Ke,
    ];
    for t in order {
        for x in p.transforms.iter().filter(|x| x.transform_type == t) {
            parts.push(match t {
                TransformType::Encr => encr_name(EncrId::from(x.id), x.key_length()),
                TransformType::Integ => integ_name(IntegId::from(x.id)),
                TransformType::Prf => prf_name(PrfId::from(x.id)),
                _ => ke_name(DhGroup::from(x.id)),
            });
        }
    }
    // Additional key exchanges (RFC 9370: transform types 6 to 12) as strongSwan's `ke1_`..
    for x in p
        .transforms
        .iter()
        .filter(|x| (6..=12).contains(&x.transform_type.value()))
    {
        parts.push(format!(
            "ke{}_{}",
            x.transform_type.value() - 5,
            ke_name(DhGroup::from(x.id))
        ));
    }
    if p.transforms
        .iter()
        .any(|x| x.transform_type == TransformType::Esn && x.id == 1)
    {
        parts.push("esn".to_owned());
    }
    parts.join("-")
}

fn encr_name(id: EncrId, bits: Option<u16>) -> String {
    let b = bits.map(|b| b.to_string()).unwrap_or_default();
    match id {
        EncrId::AesCbc => format!("aes{b}"),
        EncrId::AesCtr => format!("aes{b}ctr"),
        EncrId::AesGcm8 => format!("aes{b}gcm8"),
        EncrId::AesGcm12 => format!("aes{b}gcm12"),
        EncrId::AesGcm16 => format!("aes{b}gcm16"),
        EncrId::AesCcm8 => format!("aes{b}ccm8"),
        EncrId::AesCcm12 => format!("aes{b}ccm12"),
        EncrId::AesCcm16 => format!("aes{b}ccm16"),
        EncrId::ChaCha20Poly1305 => "chacha20poly1305".to_owned(),
        EncrId::TripleDes => "3des".to_owned(),
        other => other.to_string(),
    }
}

/// strongSwan's keyword for a key exchange method.
pub fn ke_name(g: DhGroup) -> String {
    match g {
        DhGroup::Curve25519 => "x25519".to_owned(),
        DhGroup::Curve448 => "x448".to_owned(),
        DhGroup::Ecp256 => "ecp256".to_owned(),
        DhGroup::Ecp384 => "ecp384".to_owned(),
        DhGroup::Ecp521 => "ecp521".to_owned(),
        DhGroup::Modp2048 => "modp2048".to_owned(),
        DhGroup::Modp3072 => "modp3072".to_owned(),
        DhGroup::Modp4096 => "modp4096".to_owned(),
        DhGroup::Modp1024 => "modp1024".to_owned(),
        DhGroup::Modp768 => "modp768".to_owned(),
        DhGroup::Modp1024S160 => "modp1024s160".to_owned(),
        DhGroup::Ecp192 => "ecp192".to_owned(),
        DhGroup::Ec2n155 => "ec2n155".to_owned(),
        DhGroup::Ec2n185 => "ec2n185".to_owned(),
        DhGroup::Modp1536 => "modp1536".to_owned(),
        DhGroup::MlKem512 => "mlkem512".to_owned(),
        DhGroup::MlKem768 => "mlkem768".to_owned(),
        DhGroup::MlKem1024 => "mlkem1024".to_owned(),
        DhGroup::None => "none".to_owned(),
        DhGroup::Unknown(n) if n >= crate::config::PRIVATE_GROUP_MIN => format!("group{n}"),
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(p: &Proposal) -> wire::Proposal<'static> {
        p.to_wire(1, &[])
    }

    #[test]
    fn additional_key_exchanges_parse_in_strongswan_syntax() {
        let p =
            Proposal::parse_ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_none-ke3_mlkem1024")
                .unwrap();
        assert_eq!(p.ke, [DhGroup::Curve25519]);
        assert_eq!(p.addke[0], [DhGroup::MlKem768, DhGroup::None]);
        assert!(p.addke[1].is_empty());
        assert_eq!(p.addke[2], [DhGroup::MlKem1024]);
        assert!(p.has_addke() && !p.without_addke().has_addke());
        for bad in [
            "aes256gcm16-prfsha384-x25519-ke0_mlkem768",
            "aes256gcm16-prfsha384-x25519-ke8_mlkem768",
            "aes256gcm16-prfsha384-x25519-ke1_foo",
        ] {
            assert!(
                matches!(
                    Proposal::parse_ike(bad),
                    Err(ProposalError::UnknownKeyword(_))
                ),
                "{bad}"
            );
        }
        // ESP: only after a key exchange method of its own (RFC 9370 §2.2.4).
        assert!(matches!(
            Proposal::parse_esp("aes128gcm16-ke1_mlkem768"),
            Err(ProposalError::AddKeWithoutKe(_))
        ));
        let esp = Proposal::parse_esp("aes256gcm16-x25519-ke1_mlkem768").unwrap();
        assert_eq!(esp.ke, [DhGroup::Curve25519]);
        assert_eq!(esp.addke[0], [DhGroup::MlKem768]);
        let wire_esp = esp.to_wire(1, &[1, 2, 3, 4]);
        assert!(wire_esp
            .transforms
            .iter()
            .any(|t| t.transform_type == TransformType::AddKe1 && t.id == 36));
        let c = select(std::slice::from_ref(&esp), &[wire_esp]).unwrap();
        assert_eq!(c.describe(), "aes256gcm16-x25519-ke1_mlkem768");
        assert_eq!(ke_keyword("mlkem512"), Some(DhGroup::MlKem512));
    }

    #[test]
    fn wire_form_uses_transform_types_6_to_12() {
        let p =
            Proposal::parse_ike("aes128gcm16-prfsha256-x25519-ke1_mlkem768-ke1_none-ke7_mlkem512")
                .unwrap();
        let w = wire(&p);
        let add: Vec<(u8, u16)> = w
            .transforms
            .iter()
            .filter(|t| t.transform_type.value() >= 6)
            .map(|t| (t.transform_type.value(), t.id))
            .collect();
        assert_eq!(add, [(6, 36), (6, 0), (12, 35)]);
    }

    #[test]
    fn each_additional_type_is_selected_like_an_optional_ke() {
        let parse = |s: &str| Proposal::parse_ike(s).unwrap();
        let base = "aes128gcm16-prfsha256-x25519";
        let mandatory = parse(&format!("{base}-ke1_mlkem768"));
        let optional = parse(&format!("{base}-ke1_mlkem768-ke1_none"));
        let plain = parse(base);
        let two = parse(&format!("{base}-ke1_mlkem1024-ke1_mlkem768-ke2_mlkem1024"));
        // (ours, theirs, chosen ADDKE1 if the proposal matches)
        let cases = [
            (&mandatory, &mandatory, Some(Some(DhGroup::MlKem768))),
            (&mandatory, &optional, Some(Some(DhGroup::MlKem768))),
            (&optional, &plain, Some(None)),
            (&plain, &optional, Some(None)),
            (&mandatory, &plain, None),
            (&plain, &mandatory, None),
            // Greedy in type order, as strongSwan: ADDKE1 takes ML-KEM-1024, which ADDKE2 may
            // then not take again, so the proposal fails.
            (&two, &two, None),
        ];
        for (i, (ours, theirs, add1)) in cases.iter().enumerate() {
            let c = select(std::slice::from_ref(*ours), &[wire(theirs)]);
            assert_eq!(c.map(|c| c.addke[0]), *add1, "case {i}");
        }
        let dup = parse(&format!("{base}-ke1_mlkem768-ke2_mlkem1024"));
        let c = select(std::slice::from_ref(&dup), &[wire(&dup)]).unwrap();
        assert_eq!(
            c.additional().collect::<Vec<_>>(),
            [
                (TransformType::AddKe1, DhGroup::MlKem768),
                (TransformType::AddKe2, DhGroup::MlKem1024)
            ]
        );
        assert_eq!(
            c.describe(),
            "aes128gcm16-prfsha256-x25519-ke1_mlkem768-ke2_mlkem1024"
        );
        // The reply names one of each; NONE is left out and accepted back as absence.
        let reply = c.to_wire(ProtocolId::Ike, &[]);
        assert_eq!(check_reply(std::slice::from_ref(&dup), &reply), Some(c));
        let none_chosen = select(std::slice::from_ref(&optional), &[wire(&plain)]).unwrap();
        let reply = none_chosen.to_wire(ProtocolId::Ike, &[]);
        assert!(reply
            .transforms
            .iter()
            .all(|t| t.transform_type.value() < 6));
        assert!(check_reply(std::slice::from_ref(&optional), &reply).is_some());
        assert!(check_reply(std::slice::from_ref(&mandatory), &reply).is_none());
        // A reply with two methods for one type is refused.
        assert!(check_reply(std::slice::from_ref(&optional), &wire(&optional)).is_none());
    }

    #[test]
    fn ah_proposals_have_integrity_only() {
        let p = Proposal::parse_ah("sha256-sha1-modp2048").unwrap();
        assert_eq!(p.protocol, ProtocolId::Ah);
        assert!(p.encr.is_empty() && p.prf.is_empty());
        assert_eq!(p.integ, [IntegId::HmacSha256_128, IntegId::HmacSha1_96]);
        assert_eq!(p.ke, [DhGroup::Modp2048]);
        assert_eq!(p.esn, [EsnId::NoEsn]);
        for (bad, keyword) in [("aes128-sha256", "aes128"), ("aes128gcm16", "aes128gcm16")] {
            assert_eq!(
                Proposal::parse_ah(bad),
                Err(ProposalError::NotAllowed {
                    keyword: keyword.into(),
                    kind: "AH"
                }),
                "{bad}"
            );
        }
        assert!(matches!(
            Proposal::parse_ah("sha256-prfsha256"),
            Err(ProposalError::NotAllowed { kind: "AH", .. })
        ));
        assert_eq!(
            Proposal::parse_ah("x25519"),
            Err(ProposalError::AhWithoutIntegrity("x25519".into()))
        );
        // The wire form: integrity, KE and ESN transforms under protocol AH.
        let w = p.to_wire(1, &[1, 2, 3, 4]);
        assert_eq!(w.protocol, ProtocolId::Ah);
        assert!(w
            .transforms
            .iter()
            .all(|t| t.transform_type != TransformType::Encr));
        let c = select(std::slice::from_ref(&p), &[w]).unwrap();
        assert_eq!(c.encr, None);
        assert_eq!(c.integ, Some(IntegId::HmacSha256_128));
        assert_eq!(c.describe(), "sha256-modp2048");
        assert!(c.encr_alg().is_err());
        let reply = c.to_wire(ProtocolId::Ah, &[5, 6, 7, 8]);
        assert_eq!(check_reply(std::slice::from_ref(&p), &reply), Some(c));
        // An AH reply to ESP proposals, an ESP reply to AH ones: not what we offered.
        let esp = Proposal::parse_esp("aes128-sha256").unwrap();
        assert!(check_reply(std::slice::from_ref(&esp), &reply).is_none());
        let esp_reply = select(std::slice::from_ref(&esp), &[wire(&esp)])
            .unwrap()
            .to_wire(ProtocolId::Esp, &[]);
        assert!(check_reply(std::slice::from_ref(&p), &esp_reply).is_none());
        // Selection never matches across protocols, and a peer AH proposal with an encryption
        // transform is refused.
        assert!(select(std::slice::from_ref(&p), &[wire(&esp)]).is_none());
        let mut odd = wire(&esp);
        odd.protocol = ProtocolId::Ah;
        assert!(select(std::slice::from_ref(&p), &[odd]).is_none());
    }
}
