//! Key exchange: every Diffie-Hellman group and KEM that IKEv1 and IKEv2 negotiate.
//!
//! | Groups (IANA) | What | RFC | Backend |
//! | --- | --- | --- | --- |
//! | 1, 2 | MODP 768, 1024 | RFC 2409 §6.1-6.2 | OpenSSL bignum |
//! | 3, 4 | EC2N over GF(2^155), GF(2^185) | RFC 2409 §6.3-6.4 | by hand (`dh/ec2n`) |
//! | 5, 14-18 | MODP 1536 to 8192 | RFC 3526 | OpenSSL bignum |
//! | 19, 20, 21 | ECP P-256, P-384, P-521 | RFC 5903 | aws-lc-rs |
//! | 22, 23, 24 | MODP with prime order subgroup | RFC 5114 | OpenSSL bignum |
//! | 25, 26 | ECP P-192, P-224 | RFC 5903, RFC 5114 | OpenSSL EC |
//! | 27-30 | brainpoolP224r1 to P512r1 | RFC 6954 | OpenSSL EC |
//! | 31 | Curve25519 | RFC 8031 | aws-lc-rs |
//! | 32 | Curve448 | RFC 8031 | OpenSSL |
//! | 35, 36, 37 | ML-KEM-512, -768, -1024 | FIPS 203, RFC 9370 | aws-lc-rs `kem` |
//!
//! New Group Mode (RFC 2409 §5.6) groups are built with [`modp_group_from_params`] and
//! [`ec2n_group_from_params`] and used through [`CustomGroup`].
//!
//! Which groups a peer may use is configuration, not this module's business: [`is_supported`]
//! says what is implemented. The EC2N groups (3, 4), the 768- and 1024-bit MODP groups and New
//! Group Mode are legacy and must stay off unless configuration enables them explicitly.
//!
//! # Contract
//! - The initiator calls [`generate`], sends [`KeyExchange::public_value`], and passes the
//!   responder's KE data to [`KeyExchange::shared_secret`]. The responder calls [`respond`],
//!   which returns its KE data and the shared secret at once (for a KEM it encapsulates; for
//!   Diffie-Hellman it is `generate` followed by `shared_secret`).
//! - Every peer value is validated before use and refused with
//!   [`CryptoError::InvalidPublicValue`]: exact length always; range and subgroup membership for
//!   MODP; on-curve and not at infinity for ECP and EC2N (and not in a small subgroup for EC2N);
//!   an all-zero result for X25519/X448. Details in each submodule.
//! - Encodings: MODP values are padded to the prime's length; ECP KE data is `x || y` without the
//!   `0x04` prefix and the shared secret is `x`; X25519/X448 values are RFC 7748 u-coordinates;
//!   EC2N KE data and shared secrets are the x-coordinate in `ceil(m/8)` octets.
//! - Private values come from the injected [`Rng`], so that tests can fix them (ML-KEM is the
//!   exception: aws-lc-rs draws its randomness itself, see
//!   `dh/mlkem.rs`). They are zeroized when dropped, and `Debug` shows only the group
//!   and the public value's length.

mod ec2n;
mod ecp;
mod mlkem;
mod modp;

use std::sync::Arc;

use ike_wire::group::DhGroup;

use crate::rng::Rng;
use crate::{CryptoError, Secret};

/// How many times a private value is redrawn when the draw falls out of range before giving up.
/// Every range here accepts at least half of the draws, so 64 failures mean a broken generator.
const MAX_DRAWS: usize = 64;

/// One side of a key exchange, holding our private value.
pub trait KeyExchange: Send + Sync + std::fmt::Debug {
    /// The group (for New Group Mode groups, the number given with [`CustomGroup::with_id`]).
    fn group(&self) -> DhGroup;

    /// Our KE payload data: MODP `g^x mod p` padded to the prime's length; ECP `x || y` (RFC 5903
    /// §7, no `0x04`); Curve25519/448 the u-coordinate (RFC 8031); EC2N the x-coordinate in
    /// `ceil(m/8)` octets; ML-KEM the encapsulation key.
    fn public_value(&self) -> &[u8];

    /// The shared secret from the peer's KE data, which is validated first: MODP `g^xy mod p`
    /// padded to the prime's length; ECP and EC2N the x-coordinate; Curve25519/448 the
    /// u-coordinate; ML-KEM the decapsulated key.
    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError>;
}

/// What implements a standard group.
enum Backend {
    Modp,
    Ec2n,
    Aws(ecp::AwsCurve),
    Ossl(openssl::nid::Nid),
    X448,
    MlKem(mlkem::Params),
}

fn backend(group: DhGroup) -> Option<Backend> {
    use DhGroup::*;
    match group {
        Modp768 | Modp1024 | Modp1536 | Modp2048 | Modp3072 | Modp4096 | Modp6144 | Modp8192
        | Modp1024S160 | Modp2048S224 | Modp2048S256 => Some(Backend::Modp),
        Ec2n155 | Ec2n185 => Some(Backend::Ec2n),
        Curve448 => Some(Backend::X448),
        _ => ecp::AwsCurve::for_group(group)
            .map(Backend::Aws)
            .or_else(|| ecp::OsslCurve::nid(group).map(Backend::Ossl))
            .or_else(|| mlkem::Params::for_group(group).map(Backend::MlKem)),
    }
}

/// Whether this build implements the group. Says nothing about whether configuration allows
/// it: the EC2N groups 3 and 4, for instance, are implemented but must be enabled explicitly.
pub fn is_supported(group: DhGroup) -> bool {
    backend(group).is_some()
}

/// Whether the method is a KEM (ML-KEM), whose two sides send different data: the initiator an
/// encapsulation key, the responder a ciphertext.
pub fn is_kem(group: DhGroup) -> bool {
    matches!(backend(group), Some(Backend::MlKem(_)))
}

/// The exact length of the initiator's KE data for the group (for Diffie-Hellman also the
/// responder's), or `None` if the group is not supported.
pub fn public_value_len(group: DhGroup) -> Option<usize> {
    Some(match backend(group)? {
        Backend::Modp => modp::ModpGroup::standard(group).ok()?.value_len(),
        Backend::Ec2n => ec2n::standard_curve(group).ok()?.value_len(),
        Backend::Aws(curve) => curve.value_len(),
        Backend::Ossl(_) => ecp::OsslCurve::value_len(group)?,
        Backend::X448 => ecp::X448_LEN,
        Backend::MlKem(params) => params.ek_len,
    })
}

/// The exact length of the responder's KE data: the ciphertext for a KEM, else the same as
/// [`public_value_len`].
pub fn response_len(group: DhGroup) -> Option<usize> {
    match backend(group)? {
        Backend::MlKem(params) => Some(params.ct_len),
        _ => public_value_len(group),
    }
}

/// Generates our key pair: the initiator's side, or either side of a Diffie-Hellman exchange.
pub fn generate(group: DhGroup, rng: &mut dyn Rng) -> Result<Box<dyn KeyExchange>, CryptoError> {
    let unsupported = CryptoError::Unsupported("key exchange group");
    Ok(match backend(group).ok_or(unsupported)? {
        Backend::Modp => Box::new(modp::ModpKeyExchange::generate(
            group,
            modp::ModpGroup::standard(group)?,
            rng,
        )?),
        Backend::Ec2n => Box::new(ec2n::Ec2nKeyExchange::generate(
            group,
            ec2n::standard_curve(group)?,
            rng,
        )?),
        Backend::Aws(curve) => Box::new(ecp::AwsKeyExchange::generate(group, curve, rng)?),
        Backend::Ossl(nid) => Box::new(ecp::OsslKeyExchange::generate(group, nid, rng)?),
        Backend::X448 => Box::new(ecp::X448KeyExchange::generate(rng)?),
        Backend::MlKem(params) => Box::new(mlkem::MlKemKeyExchange::generate(group, params)?),
    })
}

/// The responder's side: from the initiator's KE data, our KE data and the shared secret. For
/// ML-KEM this encapsulates to the initiator's key (drawing randomness inside aws-lc, not from
/// `rng`); for Diffie-Hellman it generates a key pair from `rng` and combines it with `peer`.
pub fn respond(
    group: DhGroup,
    peer: &[u8],
    rng: &mut dyn Rng,
) -> Result<(Vec<u8>, Secret), CryptoError> {
    if let Some(Backend::MlKem(params)) = backend(group) {
        return mlkem::encapsulate(params, peer);
    }
    let ours = generate(group, rng)?;
    let secret = ours.shared_secret(peer)?;
    Ok((ours.public_value().to_vec(), secret))
}

/// An ML-KEM initiator from a stored decapsulation key in FIPS 203's expanded form
/// (`dk_PKE || ek || H(ek) || z`; 1632, 2400 or 3168 octets), for known-answer tests and for
/// keys kept across restarts. The embedded encapsulation key becomes the public value; its hash
/// is checked (FIPS 203 §7.3).
pub fn mlkem_from_decapsulation_key(
    group: DhGroup,
    dk: &[u8],
) -> Result<Box<dyn KeyExchange>, CryptoError> {
    let params = mlkem::Params::for_group(group).ok_or(CryptoError::Unsupported("not ML-KEM"))?;
    Ok(Box::new(mlkem::MlKemKeyExchange::from_decapsulation_key(
        group, params, dk,
    )?))
}

/// A group built from New Group Mode parameters (RFC 2409 §5.6), validated when built.
#[derive(Clone, Debug)]
pub struct CustomGroup {
    id: DhGroup,
    inner: CustomInner,
}

#[derive(Clone, Debug)]
enum CustomInner {
    Modp(Arc<modp::ModpGroup>),
    Ec2n(Arc<ec2n::Curve>),
}

impl CustomGroup {
    /// Names the group (the private-use group number agreed in New Group Mode); reported by
    /// [`KeyExchange::group`]. Until named, a custom group reports [`DhGroup::None`].
    pub fn with_id(mut self, id: DhGroup) -> Self {
        self.id = id;
        self
    }

    /// The number given with [`with_id`](Self::with_id), or [`DhGroup::None`].
    pub fn id(&self) -> DhGroup {
        self.id
    }

    /// The exact length of KE data and of the shared secret.
    pub fn public_value_len(&self) -> usize {
        match &self.inner {
            CustomInner::Modp(g) => g.value_len(),
            CustomInner::Ec2n(c) => c.value_len(),
        }
    }

    /// Generates our key pair in this group.
    pub fn generate(&self, rng: &mut dyn Rng) -> Result<Box<dyn KeyExchange>, CryptoError> {
        Ok(match &self.inner {
            CustomInner::Modp(g) => Box::new(modp::ModpKeyExchange::generate(
                self.id,
                Arc::clone(g),
                rng,
            )?),
            CustomInner::Ec2n(c) => Box::new(ec2n::Ec2nKeyExchange::generate(
                self.id,
                Arc::clone(c),
                rng,
            )?),
        })
    }

    /// The responder's side in this group: our KE data and the shared secret.
    pub fn respond(
        &self,
        peer: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        let ours = self.generate(rng)?;
        let secret = ours.shared_secret(peer)?;
        Ok((ours.public_value().to_vec(), secret))
    }
}

/// A MODP group from New Group Mode's "Group Prime" and "Group Generator One" attributes
/// (big-endian, leading zeros allowed). Refused with [`CryptoError::InvalidGroupParameters`]
/// unless `2 <= g <= p-2` and the prime is either one of the standard primes of groups 1, 2, 5
/// and 14-18 (recognised by value) or a safe prime of 768 to 4096 bits (`(p-1)/2` passes 32
/// Miller-Rabin rounds, then Pocklington's test proves `p`). Requiring a safe prime is stricter
/// than RFC 2409, but every published MODP group for IKE without a stated subgroup order is one,
/// and without it `1 < y < p-1` would not exclude small subgroups. Testing an unknown prime
/// costs about 1.3 s at 4096 bits (0.09 s at 2048); larger unknown primes are refused rather
/// than tested.
pub fn modp_group_from_params(prime: &[u8], generator: &[u8]) -> Result<CustomGroup, CryptoError> {
    Ok(CustomGroup {
        id: DhGroup::None,
        inner: CustomInner::Modp(Arc::new(modp::ModpGroup::from_params(prime, generator)?)),
    })
}

/// An EC2N group (curve `y^2 + xy = x^3 + a x^2 + b` over GF(2^m)) from New Group Mode's
/// attributes: "Group Prime/Irreducible Polynomial", "Group Curve A", "Group Curve B", "Group
/// Generator One" (x) and, if sent, "Group Generator Two" (y), and "Group Order" (the number of
/// points, as RFC 2409 §6.3 uses it, or any multiple of the generator's order), all big-endian.
///
/// Refused with [`CryptoError::InvalidGroupParameters`] unless: the polynomial is an
/// irreducible trinomial or pentanomial of odd degree `m` in [155, 571] with middle terms below
/// `m/2`; `a` and `b` are field elements and `b != 0`; the generator is on the curve;
/// `order * G = O`; and `order` is a prime of at least `m - 17` bits times a cofactor of at most
/// 2^16. The "Group Order" attribute is optional in RFC 2409, but without it a peer's point
/// could not be checked for small subgroups, so it is required here.
pub fn ec2n_group_from_params(
    polynomial: &[u8],
    a: &[u8],
    b: &[u8],
    generator_x: &[u8],
    generator_y: Option<&[u8]>,
    order: &[u8],
) -> Result<CustomGroup, CryptoError> {
    let curve = ec2n::Curve::from_params(polynomial, a, b, generator_x, generator_y, order)?;
    Ok(CustomGroup {
        id: DhGroup::None,
        inner: CustomInner::Ec2n(Arc::new(curve)),
    })
}

/// Whether any octet is non-zero, without branching on the octets.
fn ct_is_nonzero(bytes: &[u8]) -> bool {
    let acc = bytes.iter().fold(0u8, |acc, b| acc | b);
    !bool::from(subtle::ConstantTimeEq::ct_eq(&acc, &0))
}

/// Whether the big-endian number `bytes` is at least 2, without branching on the octets.
fn ct_greater_than_one(bytes: &[u8]) -> bool {
    let (last, rest) = match bytes.split_last() {
        Some(split) => split,
        None => return false,
    };
    let high = rest.iter().fold(0u8, |acc, b| acc | b);
    let high_nonzero = !bool::from(subtle::ConstantTimeEq::ct_eq(&high, &0));
    let low_big = bool::from(subtle::ConstantTimeGreater::ct_gt(last, &1));
    high_nonzero | low_big
}

/// `a < b` for big-endian numbers, `a` no longer than `b`, by a borrow chain from the least
/// significant octet, without branching on `a`'s octets.
fn ct_less_than_be(a: &[u8], b: &[u8]) -> bool {
    if a.len() > b.len() {
        return false;
    }
    let offset = b.len() - a.len();
    let mut borrow = 0u16;
    for (i, y) in b.iter().enumerate().rev() {
        let x = if i >= offset {
            a.get(i - offset).copied().unwrap_or(0)
        } else {
            0
        };
        let d = u16::from(x)
            .wrapping_sub(u16::from(*y))
            .wrapping_sub(borrow);
        borrow = (d >> 8) & 1;
    }
    borrow == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparisons() {
        assert!(ct_less_than_be(&[0x01, 0x00], &[0x01, 0x01]));
        assert!(!ct_less_than_be(&[0x01, 0x01], &[0x01, 0x01]));
        assert!(!ct_less_than_be(&[0x02, 0x00], &[0x01, 0xff]));
        assert!(ct_less_than_be(&[0xff], &[0x01, 0x00]));
        assert!(!ct_less_than_be(&[0x01, 0x00, 0x00], &[0x01, 0x00]));
        assert!(ct_greater_than_one(&[0, 2]) && ct_greater_than_one(&[1, 0]));
        assert!(!ct_greater_than_one(&[0, 1]) && !ct_greater_than_one(&[0, 0]));
        assert!(ct_is_nonzero(&[0, 0, 1]) && !ct_is_nonzero(&[0, 0]));
    }

    #[test]
    fn every_listed_group_is_supported_and_others_are_not() {
        for v in (1..=5).chain(14..=32).chain(35..=37) {
            let g = DhGroup::from(v);
            assert!(is_supported(g), "{g}");
            assert!(public_value_len(g).is_some(), "{g}");
        }
        for v in [0, 6, 13, 33, 34, 38, 1024] {
            assert!(!is_supported(DhGroup::from(v)));
            assert!(generate(DhGroup::from(v), &mut crate::rng::SeededRng::new(0)).is_err());
        }
    }
}
