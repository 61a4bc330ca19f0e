//! IKEv1 proposals: the strongSwan syntax of [`Proposal`] mapped to Oakley attributes for Phase
//! 1 (RFC 2409 Appendix A) and to the IPsec DOI's transforms and SA attributes for Quick Mode
//! (RFC 2407 §4.4-§4.5), and the responder's choice.
//!
//! An IKEv1 transform carries one value of each attribute, so a proposal such as
//! `aes128-aes256-sha256-modp2048` becomes one transform per combination (a "suite"), in the
//! order of the proposal's keywords; a suite is written as a [`Chosen`] (`prf` follows the hash
//! in Phase 1, `ke` is the group, or in Quick Mode the PFS group). What IKEv1 cannot carry (AEAD
//! ciphers in Phase 1, ChaCha20-Poly1305, additional key exchanges) is left out of the suites;
//! a connection whose proposals leave no suite is refused by [`phase1_suites`] being empty.
//! DES, MD5 and the 768/1024-bit MODP groups are offered and accepted only when a connection's
//! proposals name them, like everything else.

use ike_crypto::cipher::{EncrAlg, IntegAlg};
use ike_crypto::prf::PrfAlg;
use ike_wire::attr::{AttrValue, Attribute};
use ike_wire::group::DhGroup;
use ike_wire::v1::{
    self as wire, AhTransformId, EncapsulationMode, EspTransformId, IpsecAttrType, IpsecAuthAlg,
    IsakmpTransformId, LifeType, OakleyAttrType, OakleyAuthMethod, OakleyEncr, OakleyHash,
    ProtocolId, DOI_IPSEC, SIT_IDENTITY_ONLY,
};
use ike_wire::v2::{EncrId, IntegId, PrfId};

use super::{Chosen, Proposal, ADDKE_TYPES};

/// The default lifetime of an ISAKMP or IPsec SA when none is negotiated (RFC 2407 §4.5: 28800
/// seconds).
pub const DEFAULT_LIFETIME: u32 = 28_800;

fn suite(
    encr: (EncrId, Option<u16>),
    integ: Option<IntegId>,
    prf: Option<PrfId>,
    ke: Option<DhGroup>,
) -> Chosen {
    Chosen {
        encr: Some(encr),
        integ,
        prf,
        ke,
        esn: None,
        addke: [None; ADDKE_TYPES],
        number: 0,
    }
}

/// The Oakley hash of an integrity algorithm keyword (`sha256` names HMAC-SHA2-256 in IKEv2 and
/// the SHA2-256 hash, whose HMAC is the PRF, in IKEv1).
fn oakley_hash(integ: IntegId) -> Option<(OakleyHash, PrfId)> {
    Some(match integ {
        IntegId::HmacMd5_96 => (OakleyHash::Md5, PrfId::HmacMd5),
        IntegId::HmacSha1_96 => (OakleyHash::Sha1, PrfId::HmacSha1),
        IntegId::HmacSha256_128 => (OakleyHash::Sha256, PrfId::HmacSha256),
        IntegId::HmacSha384_192 => (OakleyHash::Sha384, PrfId::HmacSha384),
        IntegId::HmacSha512_256 => (OakleyHash::Sha512, PrfId::HmacSha512),
        _ => return None,
    })
}

fn integ_of_hash(hash: OakleyHash) -> Option<IntegId> {
    Some(match hash {
        OakleyHash::Md5 => IntegId::HmacMd5_96,
        OakleyHash::Sha1 => IntegId::HmacSha1_96,
        OakleyHash::Sha256 => IntegId::HmacSha256_128,
        OakleyHash::Sha384 => IntegId::HmacSha384_192,
        OakleyHash::Sha512 => IntegId::HmacSha512_256,
        _ => return None,
    })
}

fn oakley_encr(encr: EncrId) -> Option<OakleyEncr> {
    Some(match encr {
        EncrId::AesCbc => OakleyEncr::AesCbc,
        EncrId::TripleDes => OakleyEncr::TripleDesCbc,
        _ => return None,
    })
}

/// The Phase 1 suites of a connection's IKE proposals, in preference order.
pub fn phase1_suites(proposals: &[Proposal]) -> Vec<Chosen> {
    let mut out = Vec::new();
    for p in proposals {
        for &(e, bits) in &p.encr {
            if oakley_encr(e).is_none() {
                continue;
            }
            for &i in &p.integ {
                let Some((_, prf)) = oakley_hash(i) else {
                    continue;
                };
                for &g in &p.ke {
                    let s = suite((e, bits), Some(i), Some(prf), Some(g));
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

/// The Phase 1 choice: a suite, the authentication method and the lifetime in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase1 {
    /// Encryption, hash (as `integ` and `prf`) and group.
    pub suite: Chosen,
    /// The authentication method.
    pub auth: OakleyAuthMethod,
    /// The lifetime in seconds.
    pub life: u32,
}

impl Phase1 {
    /// The cipher that protects ISAKMP messages.
    pub fn encr_alg(&self) -> Result<EncrAlg, ike_crypto::CryptoError> {
        let (id, bits) = self.suite.encr.ok_or(ike_crypto::CryptoError::Unsupported(
            "Phase 1 suite without encryption",
        ))?;
        let encr = oakley_encr(id).ok_or(ike_crypto::CryptoError::Unsupported(
            "IKEv1 encryption algorithm",
        ))?;
        EncrAlg::from_ikev1(encr, bits)
    }

    /// The PRF: the HMAC of the negotiated hash.
    pub fn prf_alg(&self) -> Result<PrfAlg, ike_crypto::CryptoError> {
        match self.suite.prf {
            Some(p) => PrfAlg::from_ikev2(p),
            None => Err(ike_crypto::CryptoError::Unsupported("Phase 1 without hash")),
        }
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.suite.ke.unwrap_or(DhGroup::None)
    }

    /// strongSwan-style text with the PRF the hash implies, as IKEv2 SAs show theirs
    /// (`aes128-sha256-prfsha256-modp2048`).
    pub fn describe(&self) -> String {
        self.suite.describe()
    }
}

/// Encodes a life duration: a basic attribute up to 0xffff, else four bytes (RFC 2408 §3.3).
fn life_attr(attr_type: u16, secs: &[u8; 4]) -> Attribute<'_> {
    let v = u32::from_be_bytes(*secs);
    match u16::try_from(v) {
        Ok(short) => Attribute::basic(attr_type, short),
        Err(_) => Attribute::variable(attr_type, secs),
    }
}

fn payload_body(p: &wire::Payload<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    // The only failures are counts that cannot overflow here (one proposal, < 256 transforms).
    if wire::encode_payloads(std::slice::from_ref(p), &mut out).is_err() {
        return Vec::new();
    }
    out.split_off(4.min(out.len()))
}

fn phase1_attributes<'a>(
    s: &Chosen,
    auth: OakleyAuthMethod,
    life: &'a [u8; 4],
) -> Vec<Attribute<'a>> {
    let mut a = Vec::new();
    if let Some((e, bits)) = s.encr {
        if let Some(oe) = oakley_encr(e) {
            a.push(Attribute::basic(
                OakleyAttrType::Encryption.value(),
                oe.value(),
            ));
        }
        if let Some(b) = bits {
            a.push(Attribute::basic(OakleyAttrType::KeyLength.value(), b));
        }
    }
    if let Some((h, _)) = s.integ.and_then(oakley_hash) {
        a.push(Attribute::basic(OakleyAttrType::Hash.value(), h.value()));
    }
    a.push(Attribute::basic(
        OakleyAttrType::AuthMethod.value(),
        auth.value(),
    ));
    if let Some(g) = s.ke {
        a.push(Attribute::basic(
            OakleyAttrType::GroupDescription.value(),
            g.value(),
        ));
    }
    a.push(Attribute::basic(
        OakleyAttrType::LifeType.value(),
        LifeType::Seconds.value(),
    ));
    a.push(life_attr(OakleyAttrType::LifeDuration.value(), life));
    a
}

/// The body of a Phase 1 SA payload (RFC 2409 §5: one proposal for PROTO_ISAKMP, one KEY_IKE
/// transform per suite), numbered from 1. `suites` must hold 1 to 255 suites.
pub fn encode_phase1_sa(suites: &[Chosen], auth: OakleyAuthMethod, life: u32) -> Vec<u8> {
    let life = life.to_be_bytes();
    let transforms = suites
        .iter()
        .zip(1u8..)
        .map(|(s, n)| wire::Transform {
            number: n,
            id: IsakmpTransformId::KeyIke.value(),
            attributes: phase1_attributes(s, auth, &life),
        })
        .collect();
    payload_body(&wire::Payload::Sa(wire::Sa {
        doi: DOI_IPSEC,
        situation: SIT_IDENTITY_ONLY,
        proposals: vec![wire::Proposal {
            number: 1,
            protocol: ProtocolId::Isakmp,
            spi: &[],
            transforms,
        }],
    }))
}

/// The responder's Phase 1 SA payload body: the one transform it accepted, as it was offered
/// (same number, RFC 2408 §4.2).
pub fn encode_phase1_reply(choice: &Phase1, transform_number: u8) -> Vec<u8> {
    let life = choice.life.to_be_bytes();
    payload_body(&wire::Payload::Sa(wire::Sa {
        doi: DOI_IPSEC,
        situation: SIT_IDENTITY_ONLY,
        proposals: vec![wire::Proposal {
            number: 1,
            protocol: ProtocolId::Isakmp,
            spi: &[],
            transforms: vec![wire::Transform {
                number: transform_number,
                id: IsakmpTransformId::KeyIke.value(),
                attributes: phase1_attributes(&choice.suite, choice.auth, &life),
            }],
        }],
    }))
}

/// A variable-length attribute, or a basic one when the value fits in 16 bits (RFC 2408
/// §3.3: either form may carry a value that short; big-endian, leading zeros dropped).
fn number_attr(t: OakleyAttrType, v: &[u8]) -> Attribute<'_> {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    let v = v.get(start..).unwrap_or_default();
    match v {
        [] => Attribute::basic(t.value(), 0),
        [b] => Attribute::basic(t.value(), u16::from(*b)),
        [a, b] => Attribute::basic(t.value(), u16::from_be_bytes([*a, *b])),
        _ => Attribute::variable(t.value(), v),
    }
}

/// The SA payload body of New Group Mode (RFC 2409 §5.6, Appendix A): one KEY_IKE transform
/// with the private group's number, type and parameters.
pub fn encode_new_group(number: u16, params: &crate::config::GroupParams) -> Vec<u8> {
    use crate::config::GroupParams;
    let mut a = vec![Attribute::basic(
        OakleyAttrType::GroupDescription.value(),
        number,
    )];
    match params {
        GroupParams::Modp { prime, generator } => {
            a.push(Attribute::basic(
                OakleyAttrType::GroupType.value(),
                wire::GroupType::Modp.value(),
            ));
            a.push(number_attr(OakleyAttrType::GroupPrime, prime));
            a.push(number_attr(OakleyAttrType::GroupGeneratorOne, generator));
        }
        GroupParams::Ec2n {
            polynomial,
            a: ca,
            b: cb,
            gx,
            gy,
            order,
        } => {
            a.push(Attribute::basic(
                OakleyAttrType::GroupType.value(),
                wire::GroupType::Ec2n.value(),
            ));
            a.push(number_attr(OakleyAttrType::GroupPrime, polynomial));
            a.push(number_attr(OakleyAttrType::GroupGeneratorOne, gx));
            if let Some(gy) = gy {
                a.push(number_attr(OakleyAttrType::GroupGeneratorTwo, gy));
            }
            a.push(number_attr(OakleyAttrType::GroupCurveA, ca));
            a.push(number_attr(OakleyAttrType::GroupCurveB, cb));
            a.push(number_attr(OakleyAttrType::GroupOrder, order));
        }
    }
    payload_body(&wire::Payload::Sa(wire::Sa {
        doi: DOI_IPSEC,
        situation: SIT_IDENTITY_ONLY,
        proposals: vec![wire::Proposal {
            number: 1,
            protocol: ProtocolId::Isakmp,
            spi: &[],
            transforms: vec![wire::Transform {
                number: 1,
                id: IsakmpTransformId::KeyIke.value(),
                attributes: a,
            }],
        }],
    }))
}

/// Reads a New Group Mode SA payload: the group number and parameters. Every attribute must be
/// one of a group's, once; a MODP group needs prime and generator, an EC2N group polynomial,
/// curve A and B, generator x and order.
pub fn parse_new_group(
    sa: &wire::Sa<'_>,
) -> Result<(u16, crate::config::GroupParams), &'static str> {
    use crate::config::GroupParams;
    let [p] = sa.proposals.as_slice() else {
        return Err("not one proposal");
    };
    let [t] = p.transforms.as_slice() else {
        return Err("not one transform");
    };
    if p.protocol != ProtocolId::Isakmp || t.id != IsakmpTransformId::KeyIke.value() {
        return Err("not a KEY_IKE transform of PROTO_ISAKMP");
    }
    let mut seen: Vec<u16> = Vec::new();
    let (mut number, mut kind) = (None, None);
    let mut vals: [Option<Vec<u8>>; 7] = Default::default();
    for a in &t.attributes {
        if seen.contains(&a.attr_type) {
            return Err("an attribute appears twice");
        }
        seen.push(a.attr_type);
        let bytes = match a.value {
            AttrValue::Basic(v) => v.to_be_bytes().to_vec(),
            AttrValue::Variable(v) => v.to_vec(),
        };
        match OakleyAttrType::from(a.attr_type) {
            OakleyAttrType::GroupDescription => number = basic(a),
            OakleyAttrType::GroupType => kind = basic(a).map(wire::GroupType::from),
            OakleyAttrType::GroupPrime => vals[0] = Some(bytes),
            OakleyAttrType::GroupGeneratorOne => vals[1] = Some(bytes),
            OakleyAttrType::GroupGeneratorTwo => vals[2] = Some(bytes),
            OakleyAttrType::GroupCurveA => vals[3] = Some(bytes),
            OakleyAttrType::GroupCurveB => vals[4] = Some(bytes),
            OakleyAttrType::GroupOrder => vals[5] = Some(bytes),
            _ => return Err("an attribute that is not a group's"),
        }
    }
    let number = number.ok_or("no group description (number)")?;
    let [prime, g1, g2, ca, cb, order, _] = vals;
    let params = match kind {
        Some(wire::GroupType::Modp) => {
            if g2.is_some() || ca.is_some() || cb.is_some() {
                return Err("curve attributes in a MODP group");
            }
            GroupParams::Modp {
                prime: prime.ok_or("no prime")?,
                generator: g1.ok_or("no generator")?,
            }
        }
        Some(wire::GroupType::Ec2n) => GroupParams::Ec2n {
            polynomial: prime.ok_or("no field polynomial")?,
            a: ca.ok_or("no curve A")?,
            b: cb.ok_or("no curve B")?,
            gx: g1.ok_or("no generator")?,
            gy: g2,
            order: order.ok_or("no group order")?,
        },
        _ => return Err("group type neither MODP nor EC2N"),
    };
    Ok((number, params))
}

fn basic(a: &Attribute<'_>) -> Option<u16> {
    match a.value {
        AttrValue::Basic(v) => Some(v),
        AttrValue::Variable(_) => None,
    }
}

/// Reads a Phase 1 transform's attributes; an attribute we do not know, a repeated one, or one
/// missing makes the transform unacceptable (RFC 2409 Appendix A: encryption, hash,
/// authentication method and group are mandatory).
pub fn parse_phase1_transform(t: &wire::Transform<'_>) -> Result<Phase1, &'static str> {
    if t.id != IsakmpTransformId::KeyIke.value() {
        return Err("transform is not KEY_IKE");
    }
    let (mut encr, mut bits, mut hash, mut auth, mut group) = (None, None, None, None, None);
    let mut life_type = None;
    let mut life: Option<u32> = None;
    for a in &t.attributes {
        match OakleyAttrType::from(a.attr_type) {
            OakleyAttrType::Encryption => encr = basic(a).map(OakleyEncr::from),
            OakleyAttrType::KeyLength => bits = basic(a),
            OakleyAttrType::Hash => hash = basic(a).map(OakleyHash::from),
            OakleyAttrType::AuthMethod => auth = basic(a).map(OakleyAuthMethod::from),
            OakleyAttrType::GroupDescription => group = basic(a).map(DhGroup::from),
            OakleyAttrType::LifeType => life_type = basic(a).map(LifeType::from),
            OakleyAttrType::LifeDuration => {
                let v = a.as_u64().ok_or("life duration longer than 8 bytes")?;
                match life_type {
                    // Kilobytes are accepted and not enforced (only seconds are).
                    Some(LifeType::Kilobytes) => {}
                    Some(LifeType::Seconds) => {
                        life = Some(u32::try_from(v).unwrap_or(u32::MAX));
                    }
                    _ => return Err("life duration without a life type before it"),
                }
            }
            _ => return Err("unsupported Phase 1 attribute (private group, PRF or field)"),
        }
    }
    let encr = encr.ok_or("no encryption algorithm")?;
    let hash = hash.ok_or("no hash algorithm")?;
    let auth = auth.ok_or("no authentication method")?;
    let group = group.ok_or("no group")?;
    let id = match encr {
        OakleyEncr::AesCbc => EncrId::AesCbc,
        OakleyEncr::TripleDesCbc => EncrId::TripleDes,
        _ => return Err("unsupported encryption algorithm"),
    };
    let integ = integ_of_hash(hash).ok_or("unsupported hash algorithm")?;
    let (_, prf) = oakley_hash(integ).ok_or("unsupported hash algorithm")?;
    Ok(Phase1 {
        suite: suite((id, bits), Some(integ), Some(prf), Some(group)),
        auth,
        life: life.unwrap_or(DEFAULT_LIFETIME),
    })
}

/// Why the responder accepted no Phase 1 or Quick Mode proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed: not one proposal of the right protocol.
    Syntax(&'static str),
    /// No transform matches (NO-PROPOSAL-CHOSEN).
    NoProposalChosen,
}

/// The responder's Phase 1 choice (RFC 2408 §4.2): the first offered transform, in our order of
/// `ours` (or the initiator's with `prefer_initiator`), that equals one of our suites with our
/// authentication method. The transform is returned as offered, lifetime included: RFC 2408
/// §4.2 has the responder return one of the offered transforms unchanged; a responder whose own
/// lifetime is shorter applies it to its own SA (and in Quick Mode says so with
/// RESPONDER-LIFETIME, RFC 2407 §4.6.3.1).
pub fn select_phase1(
    ours: &[Chosen],
    auth: OakleyAuthMethod,
    sa: &wire::Sa<'_>,
    prefer_initiator: bool,
) -> Result<(Phase1, u8), Refusal> {
    if sa.doi != DOI_IPSEC {
        return Err(Refusal::Syntax("DOI is not IPsec"));
    }
    let [p] = sa.proposals.as_slice() else {
        return Err(Refusal::Syntax(
            "Phase 1 SA payload must hold exactly one proposal",
        ));
    };
    if p.protocol != ProtocolId::Isakmp {
        return Err(Refusal::Syntax("Phase 1 proposal is not PROTO_ISAKMP"));
    }
    let offered: Vec<(Phase1, u8)> = p
        .transforms
        .iter()
        .filter_map(|t| parse_phase1_transform(t).ok().map(|c| (c, t.number)))
        .filter(|(c, _)| c.auth == auth)
        .collect();
    let pick = |(c, n): &(Phase1, u8)| (*c, *n);
    if prefer_initiator {
        offered
            .iter()
            .find(|(c, _)| ours.contains(&c.suite))
            .map(pick)
            .ok_or(Refusal::NoProposalChosen)
    } else {
        ours.iter()
            .find_map(|s| offered.iter().find(|(c, _)| c.suite == *s).map(pick))
            .ok_or(Refusal::NoProposalChosen)
    }
}

/// The initiator's check of the responder's Phase 1 SA payload: exactly one transform, one of
/// those offered (`offered`, with our `auth`), with a lifetime no longer than ours.
pub fn check_phase1_reply(
    offered: &[Chosen],
    auth: OakleyAuthMethod,
    life: u32,
    sa: &wire::Sa<'_>,
) -> Option<Phase1> {
    let [p] = sa.proposals.as_slice() else {
        return None;
    };
    let [t] = p.transforms.as_slice() else {
        return None;
    };
    let c = parse_phase1_transform(t).ok()?;
    (p.protocol == ProtocolId::Isakmp
        && c.auth == auth
        && c.life <= life
        && offered.contains(&c.suite))
    .then_some(c)
}

/// The Quick Mode suites of a child's ESP or AH proposals, in preference order.
pub fn phase2_suites(proposals: &[Proposal], protocol: ProtocolId) -> Vec<Chosen> {
    let mut out = Vec::new();
    for p in proposals {
        let encrs: Vec<Option<(EncrId, Option<u16>)>> = if protocol == ProtocolId::Ah {
            vec![None]
        } else {
            p.encr.iter().copied().map(Some).collect()
        };
        for e in encrs {
            if let Some((id, _)) = e {
                if esp_transform(id).is_none() {
                    continue;
                }
            }
            let integs: Vec<Option<IntegId>> = if p.integ.is_empty() {
                vec![None]
            } else {
                p.integ.iter().copied().map(Some).collect()
            };
            for i in integs {
                if i.is_some_and(|i| ipsec_auth(i).is_none()) {
                    continue;
                }
                let kes: Vec<Option<DhGroup>> = if p.ke.is_empty() {
                    vec![None]
                } else {
                    p.ke.iter()
                        .map(|g| (*g != DhGroup::None).then_some(*g))
                        .collect()
                };
                for g in kes {
                    let mut s = suite((EncrId::Null, None), i, None, g);
                    s.encr = e;
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

fn esp_transform(id: EncrId) -> Option<EspTransformId> {
    Some(match id {
        EncrId::AesCbc => EspTransformId::Aes,
        EncrId::AesCtr => EspTransformId::AesCtr,
        EncrId::AesGcm8 => EspTransformId::AesGcm8,
        EncrId::AesGcm12 => EspTransformId::AesGcm12,
        EncrId::AesGcm16 => EspTransformId::AesGcm16,
        EncrId::AesCcm8 => EspTransformId::AesCcm8,
        EncrId::AesCcm12 => EspTransformId::AesCcm12,
        EncrId::AesCcm16 => EspTransformId::AesCcm16,
        EncrId::TripleDes => EspTransformId::TripleDes,
        EncrId::Null => EspTransformId::Null,
        _ => return None,
    })
}

fn encr_of_esp(id: EspTransformId) -> Option<EncrId> {
    Some(match id {
        EspTransformId::Aes => EncrId::AesCbc,
        EspTransformId::AesCtr => EncrId::AesCtr,
        EspTransformId::AesGcm8 => EncrId::AesGcm8,
        EspTransformId::AesGcm12 => EncrId::AesGcm12,
        EspTransformId::AesGcm16 => EncrId::AesGcm16,
        EspTransformId::AesCcm8 => EncrId::AesCcm8,
        EspTransformId::AesCcm12 => EncrId::AesCcm12,
        EspTransformId::AesCcm16 => EncrId::AesCcm16,
        EspTransformId::TripleDes => EncrId::TripleDes,
        EspTransformId::Null => EncrId::Null,
        _ => return None,
    })
}

fn ipsec_auth(i: IntegId) -> Option<IpsecAuthAlg> {
    Some(match i {
        IntegId::HmacMd5_96 => IpsecAuthAlg::HmacMd5,
        IntegId::HmacSha1_96 => IpsecAuthAlg::HmacSha,
        IntegId::HmacSha256_128 => IpsecAuthAlg::HmacSha256,
        IntegId::HmacSha384_192 => IpsecAuthAlg::HmacSha384,
        IntegId::HmacSha512_256 => IpsecAuthAlg::HmacSha512,
        IntegId::AesXcbc96 => IpsecAuthAlg::AesXcbcMac,
        _ => return None,
    })
}

fn integ_of_auth(a: IpsecAuthAlg) -> Option<IntegId> {
    Some(match a {
        IpsecAuthAlg::HmacMd5 => IntegId::HmacMd5_96,
        IpsecAuthAlg::HmacSha => IntegId::HmacSha1_96,
        IpsecAuthAlg::HmacSha256 => IntegId::HmacSha256_128,
        IpsecAuthAlg::HmacSha384 => IntegId::HmacSha384_192,
        IpsecAuthAlg::HmacSha512 => IntegId::HmacSha512_256,
        IpsecAuthAlg::AesXcbcMac => IntegId::AesXcbc96,
        _ => return None,
    })
}

fn ah_transform(i: IntegId) -> Option<AhTransformId> {
    Some(match i {
        IntegId::HmacMd5_96 => AhTransformId::Md5,
        IntegId::HmacSha1_96 => AhTransformId::Sha,
        IntegId::HmacSha256_128 => AhTransformId::Sha256,
        IntegId::HmacSha384_192 => AhTransformId::Sha384,
        IntegId::HmacSha512_256 => AhTransformId::Sha512,
        IntegId::AesXcbc96 => AhTransformId::AesXcbcMac,
        _ => return None,
    })
}

/// A Quick Mode choice: the suite, the peer's SPI, the encapsulation mode and the lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase2 {
    /// Encryption (none for AH), integrity and the PFS group.
    pub suite: Chosen,
    /// ESP or AH.
    pub protocol: ProtocolId,
    /// The SPI in the proposal (the proposer's inbound SPI).
    pub spi: u32,
    /// Encapsulation mode.
    pub mode: EncapsulationMode,
    /// Lifetime in seconds.
    pub life: u32,
}

impl Phase2 {
    /// The ESP cipher (an error for AH).
    pub fn encr_alg(&self) -> Result<Option<EncrAlg>, ike_crypto::CryptoError> {
        match self.suite.encr {
            Some((id, bits)) => EncrAlg::from_ikev2(id, bits).map(Some),
            None => Ok(None),
        }
    }

    /// The integrity algorithm.
    pub fn integ_alg(&self) -> Result<Option<IntegAlg>, ike_crypto::CryptoError> {
        self.suite.integ.map(IntegAlg::from_ikev2).transpose()
    }

    /// strongSwan-style text (`aes128-sha256`, `ah:sha256-modp2048`).
    pub fn describe(&self) -> String {
        let d = self.suite.describe();
        if self.protocol == ProtocolId::Ah {
            format!("ah:{d}")
        } else {
            d
        }
    }
}

fn phase2_attributes<'a>(
    s: &Chosen,
    mode: EncapsulationMode,
    life: &'a [u8; 4],
) -> Vec<Attribute<'a>> {
    let mut a = vec![
        Attribute::basic(IpsecAttrType::SaLifeType.value(), LifeType::Seconds.value()),
        life_attr(IpsecAttrType::SaLifeDuration.value(), life),
    ];
    if let Some(g) = s.ke {
        a.push(Attribute::basic(
            IpsecAttrType::GroupDescription.value(),
            g.value(),
        ));
    }
    a.push(Attribute::basic(
        IpsecAttrType::EncapsulationMode.value(),
        mode.value(),
    ));
    if let Some(auth) = s.integ.and_then(ipsec_auth) {
        a.push(Attribute::basic(
            IpsecAttrType::AuthAlgorithm.value(),
            auth.value(),
        ));
    }
    if let Some((_, Some(bits))) = s.encr {
        a.push(Attribute::basic(IpsecAttrType::KeyLength.value(), bits));
    }
    a
}

fn phase2_transform_id(s: &Chosen, protocol: ProtocolId) -> Option<u8> {
    if protocol == ProtocolId::Ah {
        s.integ.and_then(ah_transform).map(AhTransformId::value)
    } else {
        s.encr
            .and_then(|(e, _)| esp_transform(e))
            .map(EspTransformId::value)
    }
}

/// The body of a Quick Mode SA payload: one proposal of `protocol` with our inbound `spi` and
/// one transform per suite (RFC 2407 §4.6.1, §4.5).
pub fn encode_phase2_sa(
    protocol: ProtocolId,
    spi: u32,
    suites: &[Chosen],
    mode: EncapsulationMode,
    life: u32,
) -> Vec<u8> {
    let life = life.to_be_bytes();
    let spi = spi.to_be_bytes();
    let transforms = suites
        .iter()
        .filter_map(|s| phase2_transform_id(s, protocol).map(|id| (s, id)))
        .zip(1u8..)
        .map(|((s, id), n)| wire::Transform {
            number: n,
            id,
            attributes: phase2_attributes(s, mode, &life),
        })
        .collect();
    payload_body(&wire::Payload::Sa(wire::Sa {
        doi: DOI_IPSEC,
        situation: SIT_IDENTITY_ONLY,
        proposals: vec![wire::Proposal {
            number: 1,
            protocol,
            spi: &spi,
            transforms,
        }],
    }))
}

/// The responder's Quick Mode SA payload body: the accepted transform with our inbound SPI.
pub fn encode_phase2_reply(choice: &Phase2, spi_in: u32, transform_number: u8) -> Vec<u8> {
    let life = choice.life.to_be_bytes();
    let spi = spi_in.to_be_bytes();
    let id = phase2_transform_id(&choice.suite, choice.protocol).unwrap_or(0);
    payload_body(&wire::Payload::Sa(wire::Sa {
        doi: DOI_IPSEC,
        situation: SIT_IDENTITY_ONLY,
        proposals: vec![wire::Proposal {
            number: 1,
            protocol: choice.protocol,
            spi: &spi,
            transforms: vec![wire::Transform {
                number: transform_number,
                id,
                attributes: phase2_attributes(&choice.suite, choice.mode, &life),
            }],
        }],
    }))
}

/// Reads a Quick Mode transform of proposal `p`.
pub fn parse_phase2_transform(
    p: &wire::Proposal<'_>,
    t: &wire::Transform<'_>,
) -> Result<Phase2, &'static str> {
    let spi: [u8; 4] = p.spi.try_into().map_err(|_| "SPI is not 4 bytes")?;
    let (mut mode, mut auth, mut bits, mut group) = (None, None, None, None);
    let mut life_type = None;
    let mut life = None;
    for a in &t.attributes {
        match IpsecAttrType::from(a.attr_type) {
            IpsecAttrType::SaLifeType => life_type = basic(a).map(LifeType::from),
            IpsecAttrType::SaLifeDuration => {
                let v = a.as_u64().ok_or("life duration longer than 8 bytes")?;
                match life_type {
                    Some(LifeType::Kilobytes) => {}
                    Some(LifeType::Seconds) => life = Some(u32::try_from(v).unwrap_or(u32::MAX)),
                    _ => return Err("life duration without a life type before it"),
                }
            }
            IpsecAttrType::GroupDescription => group = basic(a).map(DhGroup::from),
            IpsecAttrType::EncapsulationMode => mode = basic(a).map(EncapsulationMode::from),
            IpsecAttrType::AuthAlgorithm => auth = basic(a).map(IpsecAuthAlg::from),
            IpsecAttrType::KeyLength => bits = basic(a),
            IpsecAttrType::EcnTunnel => {}
            _ => return Err("unsupported IPsec SA attribute"),
        }
    }
    let integ = match auth {
        Some(a) => Some(integ_of_auth(a).ok_or("unsupported authentication algorithm")?),
        None => None,
    };
    let encr = match p.protocol {
        ProtocolId::Esp => {
            let id = encr_of_esp(EspTransformId::from(t.id)).ok_or("unsupported ESP transform")?;
            Some((id, bits))
        }
        ProtocolId::Ah => {
            let want = integ.and_then(ah_transform).map(AhTransformId::value);
            if want != Some(t.id) {
                return Err("AH transform and authentication algorithm disagree");
            }
            None
        }
        _ => return Err("protocol is not ESP or AH"),
    };
    let mut s = suite((EncrId::Null, None), integ, None, group);
    s.encr = encr;
    Ok(Phase2 {
        suite: s,
        protocol: p.protocol,
        spi: u32::from_be_bytes(spi),
        mode: mode.ok_or("no encapsulation mode")?,
        life: life.unwrap_or(DEFAULT_LIFETIME),
    })
}

/// The responder's Quick Mode choice from one SA payload: the first offered transform (in our
/// order) of the one proposal that equals a suite of ours with an acceptable mode
/// (`modes`), as offered (lifetime included; see [`select_phase1`]); also the transform's number.
pub fn select_phase2(
    ours: &[Chosen],
    protocol: ProtocolId,
    modes: &[EncapsulationMode],
    sa: &wire::Sa<'_>,
) -> Result<(Phase2, u8), Refusal> {
    if sa.doi != DOI_IPSEC {
        return Err(Refusal::Syntax("DOI is not IPsec"));
    }
    let offered: Vec<(Phase2, u8)> = sa
        .proposals
        .iter()
        .filter(|p| p.protocol == protocol)
        .flat_map(|p| {
            p.transforms
                .iter()
                .filter_map(move |t| parse_phase2_transform(p, t).ok().map(|c| (c, t.number)))
        })
        .filter(|(c, _)| modes.contains(&c.mode))
        .collect();
    ours.iter()
        .find_map(|s| offered.iter().find(|(c, _)| c.suite == *s))
        .map(|(c, n)| (*c, *n))
        .ok_or(Refusal::NoProposalChosen)
}

/// The initiator's check of the responder's Quick Mode SA payload: one proposal, one transform,
/// of those we offered, in the mode we asked for.
pub fn check_phase2_reply(
    offered: &[Chosen],
    protocol: ProtocolId,
    mode: EncapsulationMode,
    sa: &wire::Sa<'_>,
) -> Option<Phase2> {
    let [p] = sa.proposals.as_slice() else {
        return None;
    };
    let [t] = p.transforms.as_slice() else {
        return None;
    };
    let c = parse_phase2_transform(p, t).ok()?;
    (p.protocol == protocol && c.mode == mode && offered.contains(&c.suite)).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa_payload(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn parse(bytes: &[u8]) -> wire::Sa<'_> {
        let chain =
            wire::decode_payloads(wire::PayloadType::Sa, bytes, 0, wire::Padding::Forbidden)
                .unwrap();
        match chain.payloads.into_iter().next() {
            Some(wire::Payload::Sa(sa)) => sa,
            other => panic!("{other:?}"),
        }
    }

    fn ike(p: &str) -> Vec<Chosen> {
        let list: Vec<Proposal> = p
            .split(", ")
            .map(|p| Proposal::parse_ike(p).unwrap())
            .collect();
        phase1_suites(&list)
    }

    #[test]
    fn one_transform_per_combination_in_keyword_order() {
        let s = ike("aes128-aes256-sha256-sha1-modp2048-ecp256");
        assert_eq!(s.len(), 8);
        let p = Phase1 {
            suite: s[0],
            auth: OakleyAuthMethod::PreSharedKey,
            life: 3600,
        };
        assert_eq!(p.describe(), "aes128-sha256-prfsha256-modp2048");
        // AEAD cannot protect IKEv1 messages: no suite.
        assert!(ike("aes128gcm16-prfsha256-x25519").is_empty());
    }

    #[test]
    fn phase1_round_trip_and_selection() {
        let ours = ike("aes128-sha256-modp2048");
        let theirs = ike("3des-sha1-modp1024, aes128-sha256-modp2048");
        let body = encode_phase1_sa(&theirs, OakleyAuthMethod::PreSharedKey, 100_000);
        let bytes = sa_payload(&body);
        let sa = &parse(&bytes);
        let (c, n) = select_phase1(&ours, OakleyAuthMethod::PreSharedKey, sa, false).unwrap();
        assert_eq!(n, 2);
        assert_eq!(c.life, 100_000, "as offered");
        assert_eq!(c.suite, ours[0]);
        // Another method: nothing.
        assert_eq!(
            select_phase1(&ours, OakleyAuthMethod::RsaSignatures, sa, false),
            Err(Refusal::NoProposalChosen)
        );
        let reply = encode_phase1_reply(&c, n);
        let bytes = sa_payload(&reply);
        let sa = &parse(&bytes);
        assert_eq!(
            check_phase1_reply(&theirs, OakleyAuthMethod::PreSharedKey, 100_000, sa),
            Some(c)
        );
        // A reply lifetime longer than ours is refused.
        assert_eq!(
            check_phase1_reply(&theirs, OakleyAuthMethod::PreSharedKey, 600, sa),
            None
        );
    }

    #[test]
    fn phase2_round_trip_and_selection() {
        let esp = [
            Proposal::parse_esp("aes128-sha256-modp2048").unwrap(),
            Proposal::parse_esp("aes128gcm16").unwrap(),
        ];
        let ours = phase2_suites(&esp, ProtocolId::Esp);
        assert_eq!(ours.len(), 2);
        let body = encode_phase2_sa(
            ProtocolId::Esp,
            0x1234_5678,
            &ours[1..],
            EncapsulationMode::Tunnel,
            3600,
        );
        let bytes = sa_payload(&body);
        let sa = &parse(&bytes);
        let (c, n) =
            select_phase2(&ours, ProtocolId::Esp, &[EncapsulationMode::Tunnel], sa).unwrap();
        assert_eq!((c.spi, n, c.life), (0x1234_5678, 1, 3600));
        assert_eq!(c.describe(), "aes128gcm16");
        assert!(
            select_phase2(&ours, ProtocolId::Esp, &[EncapsulationMode::Transport], sa).is_err()
        );
        let ah = phase2_suites(&[Proposal::parse_ah("sha256").unwrap()], ProtocolId::Ah);
        let body = encode_phase2_sa(
            ProtocolId::Ah,
            0x999,
            &ah,
            EncapsulationMode::Transport,
            3600,
        );
        let bytes = sa_payload(&body);
        let sa = &parse(&bytes);
        let (c, _) =
            select_phase2(&ah, ProtocolId::Ah, &[EncapsulationMode::Transport], sa).unwrap();
        assert_eq!(c.describe(), "ah:sha256");
    }
}
