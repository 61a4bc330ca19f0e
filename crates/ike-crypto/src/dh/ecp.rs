//! Elliptic-curve Diffie-Hellman over prime fields (ECP) and the Montgomery curves.
//!
//! - Groups 19, 20, 21 (P-256, P-384, P-521; RFC 5903) and 31 (Curve25519; RFC 8031) with
//!   aws-lc-rs, the fastest backend measured.
//! - Groups 25, 26 (P-192, P-224; RFC 5903 / RFC 5114 §2.6-2.7), 27-30 (brainpoolP224r1 to
//!   brainpoolP512r1; RFC 6954) and 32 (Curve448; RFC 8031) with OpenSSL, which aws-lc-rs does
//!   not cover.
//!
//! # Encoding
//! ECP KE data is `x || y`, each coordinate big-endian and padded to the field length, without
//! the SEC 1 `0x04` prefix (RFC 5903 §7, RFC 6954 §4); the shared secret is the x-coordinate
//! alone (RFC 5903 §7). Curve25519 and Curve448 KE data and shared secrets are the RFC 7748
//! little-endian u-coordinates, 32 and 56 octets (RFC 8031 §2).
//!
//! # Validation
//! ECP: exact length, coordinates below the field prime, point on the curve (checked by the
//! backend when it decodes the point, and again explicitly for OpenSSL), not the point at
//! infinity (which `x || y` cannot encode). Every curve here has cofactor 1, so no small
//! subgroup exists. X25519/X448: exact length, and an all-zero shared secret (a low-order peer
//! value) is refused, as RFC 7748 §6 and RFC 8031 §2.3 require.
//!
//! # Private keys
//! Drawn from the injected [`Rng`]: ECP scalars uniform in `[1, n-1]` by rejection; X25519/X448
//! scalars are the raw 32 or 56 octets (clamped by the backend, RFC 7748 §5).

use aws_lc_rs::agreement;
use ike_wire::group::DhGroup;
use openssl::bn::{BigNum, BigNumContext};
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use zeroize::Zeroizing;

use super::KeyExchange;
use crate::rng::Rng;
use crate::{CryptoError, Secret};

fn openssl_err(_: openssl::error::ErrorStack) -> CryptoError {
    CryptoError::Backend("OpenSSL EC")
}

fn debug_kx(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    group: DhGroup,
    public: &[u8],
) -> std::fmt::Result {
    f.debug_struct(name)
        .field("group", &group)
        .field("public_len", &public.len())
        .finish_non_exhaustive()
}

/// An all-zero shared secret, checked without branching on the bytes.
fn is_all_zero(bytes: &[u8]) -> bool {
    !super::ct_is_nonzero(bytes)
}

// ---------------------------------------------------------------------------------------------
// aws-lc-rs: P-256, P-384, P-521, X25519

/// A curve served by aws-lc-rs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AwsCurve {
    alg: &'static agreement::Algorithm,
    /// Octets of a private scalar.
    scalar_len: usize,
    /// High bits of the first scalar octet that must be clear (P-521: 7).
    scalar_excess_bits: u32,
    /// Octets of the KE data.
    value_len: usize,
    montgomery: bool,
}

impl AwsCurve {
    pub(crate) fn for_group(group: DhGroup) -> Option<Self> {
        let ecp = |alg, len: usize, excess| AwsCurve {
            alg,
            scalar_len: len,
            scalar_excess_bits: excess,
            value_len: 2 * len,
            montgomery: false,
        };
        match group {
            DhGroup::Ecp256 => Some(ecp(&agreement::ECDH_P256, 32, 0)),
            DhGroup::Ecp384 => Some(ecp(&agreement::ECDH_P384, 48, 0)),
            DhGroup::Ecp521 => Some(ecp(&agreement::ECDH_P521, 66, 7)),
            DhGroup::Curve25519 => Some(AwsCurve {
                alg: &agreement::X25519,
                scalar_len: 32,
                scalar_excess_bits: 0,
                value_len: 32,
                montgomery: true,
            }),
            _ => None,
        }
    }

    pub(crate) fn value_len(&self) -> usize {
        self.value_len
    }
}

/// Our half of an exchange over an aws-lc-rs curve.
pub(crate) struct AwsKeyExchange {
    group: DhGroup,
    curve: AwsCurve,
    key: agreement::PrivateKey,
    public: Vec<u8>,
}

impl AwsKeyExchange {
    pub(crate) fn generate(
        group: DhGroup,
        curve: AwsCurve,
        rng: &mut dyn Rng,
    ) -> Result<Self, CryptoError> {
        let mut buf = Zeroizing::new(vec![0u8; curve.scalar_len]);
        let mut key = None;
        for _ in 0..super::MAX_DRAWS {
            rng.fill(&mut buf)?;
            if let Some(first) = buf.first_mut() {
                *first &= 0xffu8 >> curve.scalar_excess_bits;
            }
            // aws-lc refuses 0 and scalars >= n for the NIST curves; X25519 takes any 32 octets.
            if curve.montgomery || super::ct_is_nonzero(&buf) {
                if let Ok(k) = agreement::PrivateKey::from_private_key(curve.alg, &buf) {
                    key = Some(k);
                    break;
                }
            }
        }
        let key = key.ok_or(CryptoError::Rng)?;
        let pk = key
            .compute_public_key()
            .map_err(|_| CryptoError::Backend("aws-lc-rs public key"))?;
        let public = if curve.montgomery {
            pk.as_ref().to_vec()
        } else {
            // SEC 1 uncompressed 0x04 || x || y; IKE drops the 0x04.
            pk.as_ref()
                .get(1..)
                .ok_or(CryptoError::Backend("aws-lc-rs public key"))?
                .to_vec()
        };
        if public.len() != curve.value_len {
            return Err(CryptoError::Backend("aws-lc-rs public key length"));
        }
        Ok(Self {
            group,
            curve,
            key,
            public,
        })
    }
}

impl std::fmt::Debug for AwsKeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_kx(f, "AwsKeyExchange", self.group, &self.public)
    }
}

impl KeyExchange for AwsKeyExchange {
    fn group(&self) -> DhGroup {
        self.group
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        if peer.len() != self.curve.value_len {
            return Err(CryptoError::InvalidPublicValue(if self.curve.montgomery {
                "X25519 value has the wrong length"
            } else {
                "ECP value has the wrong length"
            }));
        }
        let encoded = if self.curve.montgomery {
            peer.to_vec()
        } else {
            let mut v = Vec::with_capacity(1 + peer.len());
            v.push(0x04);
            v.extend_from_slice(peer);
            v
        };
        let unparsed = agreement::UnparsedPublicKey::new(self.curve.alg, encoded);
        let secret = agreement::agree(&self.key, &unparsed, (), |s| Ok(Secret::from_slice(s)))
            .map_err(|()| {
                if self.curve.montgomery {
                    // aws-lc refuses exactly the low-order inputs (all-zero output).
                    CryptoError::InvalidPublicValue("X25519 shared secret is all zero")
                } else {
                    CryptoError::InvalidPublicValue("ECP point is not on the curve")
                }
            })?;
        // RFC 7748 §6: refuse an all-zero X25519 result. (An ECP x-coordinate of zero is a
        // legitimate point on P-256/384/521.)
        if self.curve.montgomery && is_all_zero(secret.expose()) {
            return Err(CryptoError::InvalidPublicValue(
                "X25519 shared secret is all zero",
            ));
        }
        Ok(secret)
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSSL: P-192, P-224, brainpool

/// A prime curve served by OpenSSL.
pub(crate) struct OsslCurve {
    group: EcGroup,
    order: BigNum,
    /// Octets of a field element (and of a coordinate in the KE data).
    field_len: usize,
    order_bits: usize,
}

impl std::fmt::Debug for OsslCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsslCurve")
            .field("curve", &self.group.curve_name())
            .finish()
    }
}

impl OsslCurve {
    pub(crate) fn nid(group: DhGroup) -> Option<Nid> {
        match group {
            DhGroup::Ecp192 => Some(Nid::X9_62_PRIME192V1),
            DhGroup::Ecp224 => Some(Nid::SECP224R1),
            DhGroup::Brainpool224 => Some(Nid::BRAINPOOL_P224R1),
            DhGroup::Brainpool256 => Some(Nid::BRAINPOOL_P256R1),
            DhGroup::Brainpool384 => Some(Nid::BRAINPOOL_P384R1),
            DhGroup::Brainpool512 => Some(Nid::BRAINPOOL_P512R1),
            _ => None,
        }
    }

    /// KE data octets for the group, without building the curve.
    pub(crate) fn value_len(group: DhGroup) -> Option<usize> {
        let field_bits = match group {
            DhGroup::Ecp192 => 192,
            DhGroup::Ecp224 | DhGroup::Brainpool224 => 224,
            DhGroup::Brainpool256 => 256,
            DhGroup::Brainpool384 => 384,
            DhGroup::Brainpool512 => 512,
            _ => return None,
        };
        Some(2 * field_bits / 8)
    }

    pub(crate) fn new(nid: Nid) -> Result<Self, CryptoError> {
        let group = EcGroup::from_curve_name(nid).map_err(openssl_err)?;
        let mut ctx = BigNumContext::new().map_err(openssl_err)?;
        let mut order = BigNum::new().map_err(openssl_err)?;
        group.order(&mut order, &mut ctx).map_err(openssl_err)?;
        let field_len = usize::try_from(group.degree().div_ceil(8))
            .map_err(|_| CryptoError::Backend("EC degree"))?;
        let order_bits = usize::try_from(order.num_bits()).unwrap_or(0);
        Ok(Self {
            group,
            order,
            field_len,
            order_bits,
        })
    }

    fn point_to_ike(
        &self,
        point: &EcPoint,
        ctx: &mut BigNumContext,
    ) -> Result<Vec<u8>, CryptoError> {
        let bytes = point
            .to_bytes(&self.group, PointConversionForm::UNCOMPRESSED, ctx)
            .map_err(openssl_err)?;
        match bytes.split_first() {
            Some((0x04, xy)) if xy.len() == 2 * self.field_len => Ok(xy.to_vec()),
            _ => Err(CryptoError::Backend("OpenSSL EC point encoding")),
        }
    }
}

/// Our half of an exchange over an OpenSSL prime curve.
pub(crate) struct OsslKeyExchange {
    id: DhGroup,
    curve: OsslCurve,
    d: BigNum,
    public: Vec<u8>,
}

impl Drop for OsslKeyExchange {
    fn drop(&mut self) {
        self.d.clear();
    }
}

impl OsslKeyExchange {
    pub(crate) fn generate(id: DhGroup, nid: Nid, rng: &mut dyn Rng) -> Result<Self, CryptoError> {
        let curve = OsslCurve::new(nid)?;
        let order = curve.order.to_vec();
        let len = curve.order_bits.div_ceil(8);
        let mut buf = Zeroizing::new(vec![0u8; len]);
        let mut d = None;
        for _ in 0..super::MAX_DRAWS {
            rng.fill(&mut buf)?;
            if let Some(first) = buf.first_mut() {
                *first &= 0xff >> (8 * len - curve.order_bits);
            }
            if super::ct_is_nonzero(&buf) && super::ct_less_than_be(&buf, &order) {
                let mut bn = BigNum::new_secure().map_err(openssl_err)?;
                bn.set_const_time();
                bn.copy_from_slice(&buf).map_err(openssl_err)?;
                d = Some(bn);
                break;
            }
        }
        let d = d.ok_or(CryptoError::Rng)?;
        let mut ctx = BigNumContext::new_secure().map_err(openssl_err)?;
        let mut point = EcPoint::new(&curve.group).map_err(openssl_err)?;
        // A secret scalar times the generator: OpenSSL uses its constant-time ladder.
        point
            .mul_generator2(&curve.group, &d, &mut ctx)
            .map_err(openssl_err)?;
        let public = curve.point_to_ike(&point, &mut ctx)?;
        Ok(Self {
            id,
            curve,
            d,
            public,
        })
    }
}

impl std::fmt::Debug for OsslKeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_kx(f, "OsslKeyExchange", self.id, &self.public)
    }
}

impl KeyExchange for OsslKeyExchange {
    fn group(&self) -> DhGroup {
        self.id
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        let bad = CryptoError::InvalidPublicValue;
        let c = &self.curve;
        if peer.len() != 2 * c.field_len {
            return Err(bad("ECP value has the wrong length"));
        }
        let mut ctx = BigNumContext::new_secure().map_err(openssl_err)?;
        let mut encoded = Vec::with_capacity(1 + peer.len());
        encoded.push(0x04);
        encoded.extend_from_slice(peer);
        // oct2point refuses coordinates >= p and points off the curve.
        let q = EcPoint::from_bytes(&c.group, &encoded, &mut ctx)
            .map_err(|_| bad("ECP point is not on the curve"))?;
        if !q.is_on_curve(&c.group, &mut ctx).map_err(openssl_err)? {
            return Err(bad("ECP point is not on the curve"));
        }
        if q.is_infinity(&c.group) {
            return Err(bad("ECP point at infinity"));
        }
        let mut z = EcPoint::new(&c.group).map_err(openssl_err)?;
        // A secret scalar times a point: OpenSSL's constant-time ladder.
        z.mul2(&c.group, &q, &self.d, &mut ctx)
            .map_err(openssl_err)?;
        if z.is_infinity(&c.group) {
            return Err(bad("ECP shared point at infinity"));
        }
        let mut x = BigNum::new_secure().map_err(openssl_err)?;
        let mut y = BigNum::new().map_err(openssl_err)?;
        z.affine_coordinates(&c.group, &mut x, &mut y, &mut ctx)
            .map_err(openssl_err)?;
        let len = i32::try_from(c.field_len).map_err(|_| CryptoError::Backend("EC length"))?;
        let out = x.to_vec_padded(len).map_err(openssl_err);
        x.clear();
        y.clear();
        Ok(Secret::new(out?))
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSSL: X448

/// Octets of X448 keys and shared secrets.
pub(crate) const X448_LEN: usize = 56;

/// Our half of an X448 exchange.
pub(crate) struct X448KeyExchange {
    key: PKey<Private>,
    public: Vec<u8>,
}

impl X448KeyExchange {
    pub(crate) fn generate(rng: &mut dyn Rng) -> Result<Self, CryptoError> {
        let mut buf = Zeroizing::new([0u8; X448_LEN]);
        rng.fill(buf.as_mut())?;
        let key = PKey::private_key_from_raw_bytes(buf.as_ref(), Id::X448).map_err(openssl_err)?;
        let public = key.raw_public_key().map_err(openssl_err)?;
        Ok(Self { key, public })
    }
}

impl std::fmt::Debug for X448KeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_kx(f, "X448KeyExchange", DhGroup::Curve448, &self.public)
    }
}

impl KeyExchange for X448KeyExchange {
    fn group(&self) -> DhGroup {
        DhGroup::Curve448
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        let zero = CryptoError::InvalidPublicValue("X448 shared secret is all zero");
        if peer.len() != X448_LEN {
            return Err(CryptoError::InvalidPublicValue(
                "X448 value has the wrong length",
            ));
        }
        let peer_key = PKey::public_key_from_raw_bytes(peer, Id::X448)
            .map_err(|_| CryptoError::InvalidPublicValue("X448 value"))?;
        let mut deriver = Deriver::new(&self.key).map_err(openssl_err)?;
        deriver.set_peer(&peer_key).map_err(openssl_err)?;
        // OpenSSL fails the derivation exactly when the result is all zero (a low-order input).
        let secret = Secret::new(deriver.derive_to_vec().map_err(|_| zero.clone())?);
        if secret.len() != X448_LEN || is_all_zero(secret.expose()) {
            return Err(zero);
        }
        Ok(secret)
    }
}
