//! EC2N groups: elliptic curves `y^2 + xy = x^3 + a x^2 + b` over GF(2^m) (RFC 2409 §6.3-6.4,
//! the Oakley groups 3 and 4, and curves received in New Group Mode, RFC 2409 §5.6).
//!
//! No maintained crate offers these curves, so they are written here: [`field`] does the field
//! arithmetic and this module the x-only Montgomery ladder of López and Dahab ("Fast
//! multiplication on elliptic curves over GF(2^m) without precomputation", CHES 1999; Hankerson,
//! Menezes and Vanstone, *Guide to Elliptic Curve Cryptography*, Algorithm 3.40).
//!
//! # Encoding
//! RFC 2409 §6.3 puts "the value x from the solution (x,y)" of `Ka * P` in the KE payload, and
//! the shared secret is the x-coordinate of `Ka * Kb * P`. Both are written as big-endian octet
//! strings of exactly `ceil(m/8)` octets (20 for group 3, 24 for group 4), left-padded with
//! zeros, as OpenBSD isakmpd (`ec2n_getraw`) does. A received value must have exactly that
//! length.
//!
//! # The generator's y-coordinate
//! The RFC gives only the generator's x-coordinate and notes that either y works, since
//! `x(k * P) = x(k * -P)`. The ladder never needs y. Where y is wanted (checking "Group
//! Generator Two", tests), we take the root with `ỹ = 0`, i.e. the least significant bit of
//! `y / x` clear (the SEC 1 §2.3.3 point-compression convention); this gives `y = 0x1c8` for
//! group 3 and `y = 0xd` for group 4, the values isakmpd and SSH's IPsec toolkit use.
//!
//! # Orders
//! The RFC's "Group Order" is the number of points on the curve: `12 r` for group 3 and `4 r`
//! for group 4, `r` a 152-bit (resp. 184-bit) prime. The generators do not generate the whole
//! group: the order of `P` is `n = 4 r` for group 3 and `n = 2 r` for group 4. Private scalars
//! are uniform in `[1, n-1]`. A peer's value is accepted only if its point `Q` is on the curve,
//! `n * Q = O` (it lies where honest values lie) and `(n/r) * Q != O` (its order has the large
//! prime in it, so it is not in a small subgroup); x = 0 (the point of order two) is refused.
//!
//! # Timing
//! The ladder runs for the bit length of `n` whatever the scalar, swaps its two points by masking
//! (`subtle`), and uses field operations whose instruction and memory-access sequence does not
//! depend on the values (see [`field`]). Not constant-time: validation of the peer's value (it
//! is public), the final test for the point at infinity (it reveals only that the result is
//! infinity, which is then an error), and drawing the scalar (rejection sampling reveals how many
//! draws were refused). Intermediate field elements on the stack are not zeroized; the scalar
//! is.

pub(crate) mod field;

use std::sync::{Arc, OnceLock};

use ike_wire::group::DhGroup;
use openssl::bn::{BigNum, BigNumContext};
use zeroize::Zeroizing;

use self::field::{Fe, Field, LIMBS};
use super::KeyExchange;
use crate::rng::Rng;
use crate::{CryptoError, Secret};

/// A scalar: little-endian `u64` limbs, enough for the order of any accepted curve.
pub(crate) type Scalar = [u64; LIMBS];

/// The largest cofactor `#E / r` accepted for a curve received in New Group Mode.
const MAX_COFACTOR: u64 = 1 << 16;

/// RFC 2409 §6.3, the Third Oakley Group, as the RFC writes it.
const GROUP3: RawCurve = RawCurve {
    polynomial: "0800000000000000000000004000000000000001",
    generator_x: "7b",
    a: "00",
    b: "07338f",
    order: "0800000000000000000057db5698537193aef944",
};

/// RFC 2409 §6.4, the Fourth Oakley Group.
const GROUP4: RawCurve = RawCurve {
    polynomial: "020000000000000000000000000000200000000000000001",
    generator_x: "18",
    a: "00",
    b: "1ee9",
    order: "01ffffffffffffffffffffffdbf2f889b73e484175f94ebc",
};

struct RawCurve {
    polynomial: &'static str,
    generator_x: &'static str,
    a: &'static str,
    b: &'static str,
    order: &'static str,
}

/// A validated curve with a generator.
#[derive(Clone)]
pub(crate) struct Curve {
    field: Field,
    a: Fe,
    b: Fe,
    gx: Fe,
    gy: Fe,
    /// The order `n` of the generator.
    n: Scalar,
    n_bits: usize,
    /// `n / r`, `r` the large prime factor of `n`.
    h: u64,
}

impl std::fmt::Debug for Curve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Curve")
            .field("m", &self.field.degree())
            .field("order_bits", &self.n_bits)
            .field("cofactor", &self.h)
            .finish()
    }
}

/// Group 3 or 4, built once from the RFC's numbers.
pub(crate) fn standard_curve(group: DhGroup) -> Result<Arc<Curve>, CryptoError> {
    static G3: OnceLock<Result<Arc<Curve>, CryptoError>> = OnceLock::new();
    static G4: OnceLock<Result<Arc<Curve>, CryptoError>> = OnceLock::new();
    let (cell, raw) = match group {
        DhGroup::Ec2n155 => (&G3, &GROUP3),
        DhGroup::Ec2n185 => (&G4, &GROUP4),
        _ => return Err(CryptoError::Unsupported("not an EC2N group")),
    };
    cell.get_or_init(|| {
        let hex = |s: &str| hex_bytes(s).ok_or(CryptoError::Backend("EC2N constants"));
        Curve::from_params(
            &hex(raw.polynomial)?,
            &hex(raw.a)?,
            &hex(raw.b)?,
            &hex(raw.generator_x)?,
            None,
            &hex(raw.order)?,
        )
        .map(Arc::new)
    })
    .clone()
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

impl Curve {
    /// A curve from New Group Mode parameters (RFC 2409 Appendix A: Group Prime/Irreducible
    /// Polynomial, Group Curve A and B, Group Generator One and Two, Group Order), validated:
    /// the polynomial is an irreducible trinomial or pentanomial of odd degree in
    /// [155, 571]; `b != 0`; the generator is on the curve (its y-coordinate is checked if given,
    /// derived otherwise); `order * G = O`; `order` is a prime of at least `m - 17` bits times a
    /// cofactor of at most 2^16. The generator's own order is then derived from `order`.
    pub(crate) fn from_params(
        polynomial: &[u8],
        a: &[u8],
        b: &[u8],
        gx: &[u8],
        gy: Option<&[u8]>,
        order: &[u8],
    ) -> Result<Curve, CryptoError> {
        let field = Field::from_polynomial_bytes(polynomial)?;
        let elem = |bytes: &[u8], what| {
            field
                .decode_any(bytes)
                .ok_or(CryptoError::InvalidGroupParameters(what))
        };
        let a = elem(a, "curve coefficient a is not a field element")?;
        let b = elem(b, "curve coefficient b is not a field element")?;
        if b == Fe::ZERO {
            return Err(CryptoError::InvalidGroupParameters(
                "singular curve (b = 0)",
            ));
        }
        let gx = elem(gx, "generator is not a field element")?;
        let gy = gy
            .map(|y| elem(y, "generator is not a field element"))
            .transpose()?;
        if gx == Fe::ZERO {
            return Err(CryptoError::InvalidGroupParameters(
                "generator has order two",
            ));
        }
        let mut curve = Curve {
            field,
            a,
            b,
            gx,
            gy: Fe::ZERO,
            n: [0; LIMBS],
            n_bits: 0,
            h: 0,
        };
        let derived = curve
            .lift_x(&gx)
            .ok_or(CryptoError::InvalidGroupParameters(
                "generator is not on the curve",
            ))?;
        curve.gy = match gy {
            Some(y) if !curve.is_on_curve(&gx, &y) => {
                return Err(CryptoError::InvalidGroupParameters(
                    "generator is not on the curve",
                ))
            }
            Some(y) => y,
            None => derived,
        };
        let (n, h) = curve.generator_order(order)?;
        curve.n = n;
        curve.n_bits = scalar_bits(&n);
        curve.h = h;
        Ok(curve)
    }

    /// Derives the generator's order and cofactor from a multiple of it (the curve order).
    /// Variable-time: everything here is public.
    fn generator_order(&self, order: &[u8]) -> Result<(Scalar, u64), CryptoError> {
        let bad = CryptoError::InvalidGroupParameters;
        let bn = |_| CryptoError::Backend("EC2N group order");
        let m = self.field.degree();
        let mut n = BigNum::from_slice(order).map_err(bn)?;
        let bits = usize::try_from(n.num_bits()).unwrap_or(0);
        if bits == 0 || bits > m + 1 {
            return Err(bad("group order out of range"));
        }
        if self.mul_public(&self.gx, &to_scalar(&n)?).is_some() {
            return Err(bad(
                "group order is not a multiple of the generator's order",
            ));
        }
        // order = (small primes) * r
        let mut small = Vec::new();
        let mut r = n.to_owned().map_err(bn)?;
        let mut cofactor: u64 = 1;
        for p in small_primes() {
            while r.mod_word(p).map_err(bn)? == 0 {
                r.div_word(p).map_err(bn)?;
                small.push(p);
                cofactor = cofactor.saturating_mul(u64::from(p));
                if cofactor > MAX_COFACTOR {
                    return Err(bad("group order has a cofactor above 2^16"));
                }
            }
        }
        let mut ctx = BigNumContext::new().map_err(bn)?;
        let r_bits = usize::try_from(r.num_bits()).unwrap_or(0);
        if r_bits + 17 < m || !r.is_prime(64, &mut ctx).map_err(bn)? {
            return Err(bad("group order has no large prime factor"));
        }
        // The generator's order: remove each small prime that still leaves a multiple of it.
        let mut h: u64 = 1;
        for p in small {
            let mut candidate = n.to_owned().map_err(bn)?;
            candidate.div_word(p).map_err(bn)?;
            if self.mul_public(&self.gx, &to_scalar(&candidate)?).is_none() {
                n = candidate;
            } else {
                h *= u64::from(p);
            }
        }
        // The generator's order must contain r: h * G != O.
        let mut h_scalar = [0u64; LIMBS];
        h_scalar[0] = h;
        if self.mul_public(&self.gx, &h_scalar).is_none() {
            return Err(bad("generator has small order"));
        }
        Ok((to_scalar(&n)?, h))
    }

    /// The field.
    #[cfg(test)]
    pub(crate) fn field(&self) -> &Field {
        &self.field
    }

    /// Octets of the KE data and of the shared secret.
    pub(crate) fn value_len(&self) -> usize {
        self.field.byte_len()
    }

    /// The generator's order and its cofactor `n / r`.
    #[cfg(test)]
    pub(crate) fn order(&self) -> (Scalar, u64) {
        (self.n, self.h)
    }

    /// The generator `(x, y)`.
    #[cfg(test)]
    pub(crate) fn generator(&self) -> (Fe, Fe) {
        (self.gx, self.gy)
    }

    /// The y with `ỹ = 0` for which `(x, y)` is on the curve, if any (`x != 0`): with `y = x z`,
    /// `z^2 + z = x + a + b / x^2`, solvable iff that has trace 0.
    pub(crate) fn lift_x(&self, x: &Fe) -> Option<Fe> {
        let f = &self.field;
        let beta = x.add(&self.a).add(&f.mul(&self.b, &f.inv(&f.sqr(x))));
        if f.trace(&beta) != 0 {
            return None;
        }
        let mut z = f.half_trace(&beta);
        if z.bit(0) == 1 {
            z = z.add(&Fe::ONE);
        }
        Some(f.mul(x, &z))
    }

    /// Whether `(x, y)` satisfies the curve equation.
    pub(crate) fn is_on_curve(&self, x: &Fe, y: &Fe) -> bool {
        let f = &self.field;
        let x2 = f.sqr(x);
        let lhs = f.sqr(y).add(&f.mul(x, y));
        let rhs = f.mul(&x2, x).add(&f.mul(&self.a, &x2)).add(&self.b);
        lhs == rhs
    }

    /// The López-Dahab ladder: projective `(X : Z)` of `k * (x, .)` over the low `bits` bits of
    /// `k`, starting from `(O, P)`. Needs `x != 0`.
    fn ladder(&self, x: &Fe, k: &Scalar, bits: usize) -> (Fe, Fe) {
        let f = &self.field;
        let (mut x1, mut z1) = (Fe::ONE, Fe::ZERO);
        let (mut x2, mut z2) = (*x, Fe::ONE);
        for i in (0..bits).rev() {
            let bit = k.get(i / 64).map_or(0, |l| (l >> (i % 64)) & 1);
            let choice = subtle::Choice::from(bit as u8);
            Fe::ct_swap(&mut x1, &mut x2, choice);
            Fe::ct_swap(&mut z1, &mut z2, choice);
            // (R0, R1) <- (2 R0, R0 + R1); R1 - R0 = P throughout.
            let t1 = f.mul(&x1, &z2);
            let t2 = f.mul(&x2, &z1);
            z2 = f.sqr(&t1.add(&t2));
            x2 = f.mul(x, &z2).add(&f.mul(&t1, &t2));
            let xx = f.sqr(&x1);
            let zz = f.sqr(&z1);
            z1 = f.mul(&xx, &zz);
            x1 = f.sqr(&xx).add(&f.mul(&self.b, &f.sqr(&zz)));
            Fe::ct_swap(&mut x1, &mut x2, choice);
            Fe::ct_swap(&mut z1, &mut z2, choice);
        }
        (x1, z1)
    }

    /// `x(k * P)` for a point with x-coordinate `x != 0`, or `None` for the point at infinity.
    fn mul_x(&self, x: &Fe, k: &Scalar, bits: usize) -> Option<Fe> {
        let (big_x, z) = self.ladder(x, k, bits);
        if bool::from(z.ct_is_zero()) {
            return None;
        }
        Some(self.field.mul(&big_x, &self.field.inv(&z)))
    }

    /// `x(k * P)` for a public scalar.
    fn mul_public(&self, x: &Fe, k: &Scalar) -> Option<Fe> {
        self.mul_x(x, k, scalar_bits(k))
    }

    /// Checks a peer's KE data and returns its x-coordinate.
    pub(crate) fn validate_peer(&self, peer: &[u8]) -> Result<Fe, CryptoError> {
        let bad = CryptoError::InvalidPublicValue;
        if peer.len() != self.value_len() {
            return Err(bad("EC2N value has the wrong length"));
        }
        let x = self
            .field
            .decode(peer)
            .ok_or(bad("EC2N value is not a field element"))?;
        if x == Fe::ZERO {
            return Err(bad("EC2N point of order two"));
        }
        if self.lift_x(&x).is_none() {
            return Err(bad("EC2N point is not on the curve"));
        }
        if self.mul_public(&x, &self.n).is_some() {
            return Err(bad("EC2N point is not in the generator's subgroup"));
        }
        let mut h = [0u64; LIMBS];
        h[0] = self.h;
        if self.mul_public(&x, &h).is_none() {
            return Err(bad("EC2N point is in a small subgroup"));
        }
        Ok(x)
    }

    /// A uniform secret scalar in `[1, n-1]`, drawn from `rng` as `ceil(bits(n)/8)` big-endian
    /// octets with the excess high bits cleared, redrawn while out of range.
    pub(crate) fn random_scalar(
        &self,
        rng: &mut dyn Rng,
    ) -> Result<Zeroizing<Scalar>, CryptoError> {
        let len = self.n_bits.div_ceil(8);
        let excess = 8 * len - self.n_bits;
        let mut buf = Zeroizing::new(vec![0u8; len]);
        for _ in 0..super::MAX_DRAWS {
            rng.fill(&mut buf)?;
            if let Some(first) = buf.first_mut() {
                *first &= 0xff >> excess;
            }
            let mut k = Zeroizing::new([0u64; LIMBS]);
            for (i, byte) in buf.iter().rev().enumerate() {
                if let Some(limb) = k.get_mut(i / 8) {
                    *limb |= u64::from(*byte) << (8 * (i % 8));
                }
            }
            let nonzero = !bool::from(Fe(*k).ct_is_zero());
            if nonzero && ct_less_than(&k, &self.n) {
                return Ok(k);
            }
        }
        Err(CryptoError::Rng)
    }

    /// Our KE data: `x(k * G)`.
    pub(crate) fn public_value(&self, k: &Scalar) -> Result<Vec<u8>, CryptoError> {
        let x = self
            .mul_x(&self.gx, k, self.n_bits)
            .ok_or(CryptoError::Backend("EC2N public value at infinity"))?;
        Ok(self.field.encode(&x))
    }

    /// The shared secret `x(k * Q)` for the peer's KE data.
    pub(crate) fn shared_secret(&self, k: &Scalar, peer: &[u8]) -> Result<Secret, CryptoError> {
        let q = self.validate_peer(peer)?;
        let x = self
            .mul_x(&q, k, self.n_bits)
            .ok_or(CryptoError::InvalidPublicValue(
                "EC2N shared point at infinity",
            ))?;
        Ok(Secret::new(self.field.encode(&x)))
    }
}

/// Our half of an EC2N exchange.
pub(crate) struct Ec2nKeyExchange {
    group: DhGroup,
    curve: Arc<Curve>,
    k: Zeroizing<Scalar>,
    public: Vec<u8>,
}

impl Ec2nKeyExchange {
    pub(crate) fn generate(
        group: DhGroup,
        curve: Arc<Curve>,
        rng: &mut dyn Rng,
    ) -> Result<Self, CryptoError> {
        let k = curve.random_scalar(rng)?;
        let public = curve.public_value(&k)?;
        Ok(Self {
            group,
            curve,
            k,
            public,
        })
    }
}

impl std::fmt::Debug for Ec2nKeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2nKeyExchange")
            .field("group", &self.group)
            .field("public_len", &self.public.len())
            .finish_non_exhaustive()
    }
}

impl KeyExchange for Ec2nKeyExchange {
    fn group(&self) -> DhGroup {
        self.group
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        self.curve.shared_secret(&self.k, peer)
    }
}

/// `a < b` by a borrow chain, without branching on the limbs.
fn ct_less_than(a: &Scalar, b: &Scalar) -> bool {
    let mut borrow = 0u64;
    for (x, y) in a.iter().zip(b.iter()) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (_, b2) = d1.overflowing_sub(borrow);
        borrow = u64::from(b1 | b2);
    }
    borrow == 1
}

fn scalar_bits(k: &Scalar) -> usize {
    k.iter()
        .enumerate()
        .rev()
        .find(|(_, l)| **l != 0)
        .map_or(0, |(i, l)| i * 64 + 64 - l.leading_zeros() as usize)
}

fn to_scalar(n: &openssl::bn::BigNumRef) -> Result<Scalar, CryptoError> {
    let bytes = n.to_vec();
    let mut k = [0u64; LIMBS];
    for (i, byte) in bytes.iter().rev().enumerate() {
        let limb = k
            .get_mut(i / 8)
            .ok_or(CryptoError::InvalidGroupParameters("group order too large"))?;
        *limb |= u64::from(*byte) << (8 * (i % 8));
    }
    Ok(k)
}

/// The primes below 2^16 (sieve of Eratosthenes).
fn small_primes() -> Vec<u32> {
    const LIMIT: usize = 1 << 16;
    let mut composite = vec![false; LIMIT];
    let mut primes = Vec::new();
    for i in 2..LIMIT {
        if composite.get(i) == Some(&false) {
            primes.push(i as u32);
            let mut j = i * i;
            while j < LIMIT {
                if let Some(c) = composite.get_mut(j) {
                    *c = true;
                }
                j += i;
            }
        }
    }
    primes
}

#[cfg(test)]
mod tests;
