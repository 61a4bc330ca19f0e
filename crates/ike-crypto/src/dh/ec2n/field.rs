//! Arithmetic in GF(2^m), polynomial basis, for the EC2N groups (RFC 2409 §6.3-6.4 and New
//! Group Mode curves).
//!
//! An element is a bit vector of `m` bits in little-endian `u64` limbs: bit `i` is the
//! coefficient of `u^i`. The field polynomial is a trinomial or pentanomial
//! `u^m + u^k1 (+ u^k2 + u^k3) + 1` whose middle terms are below `m/2`, which keeps reduction to
//! two word-level folds. Every standard binary-field polynomial (RFC 2409, SEC 2, FIPS 186) is of
//! this shape.
//!
//! # Timing
//! Multiplication, squaring, inversion, trace and half-trace take the same sequence of
//! instructions and memory accesses for every element of a given field: loop bounds and shift
//! amounts depend only on `m` and the polynomial, which are public; bits of an element select by
//! masking, never by a branch or a table index. Parsing, comparison with `==` and the
//! irreducibility test are variable-time and are only used on public values.

use crate::CryptoError;

/// The largest field degree accepted (NIST B-571 / K-571).
pub(crate) const MAX_DEGREE: usize = 571;
/// The smallest field degree accepted (RFC 2409 group 3).
pub(crate) const MIN_DEGREE: usize = 155;
/// Limbs of an element: enough for `MAX_DEGREE` bits and for the field polynomial itself.
pub(crate) const LIMBS: usize = MAX_DEGREE / 64 + 1;
const WIDE: usize = 2 * LIMBS;

/// An element of GF(2^m) (or, transiently, a polynomial of degree < 64 * LIMBS).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fe(pub(crate) [u64; LIMBS]);

impl Fe {
    pub(crate) const ZERO: Fe = Fe([0; LIMBS]);
    pub(crate) const ONE: Fe = {
        let mut l = [0; LIMBS];
        l[0] = 1;
        Fe(l)
    };

    /// `self + other` (XOR).
    pub(crate) fn add(&self, other: &Fe) -> Fe {
        let mut r = self.0;
        for (x, y) in r.iter_mut().zip(other.0.iter()) {
            *x ^= y;
        }
        Fe(r)
    }

    /// Whether the element is zero, without branching on its bits.
    pub(crate) fn ct_is_zero(&self) -> subtle::Choice {
        let acc = self.0.iter().fold(0u64, |acc, x| acc | x);
        subtle::ConstantTimeEq::ct_eq(&acc, &0)
    }

    /// Swaps `a` and `b` when `choice` is set, without branching.
    pub(crate) fn ct_swap(a: &mut Fe, b: &mut Fe, choice: subtle::Choice) {
        for (x, y) in a.0.iter_mut().zip(b.0.iter_mut()) {
            subtle::ConditionallySelectable::conditional_swap(x, y, choice);
        }
    }

    /// Bit `i` (public positions only: this indexes by `i`).
    pub(crate) fn bit(&self, i: usize) -> u64 {
        self.0.get(i / 64).map_or(0, |l| (l >> (i % 64)) & 1)
    }

    /// The degree of the polynomial, `None` for zero. Variable-time.
    fn degree(&self) -> Option<usize> {
        self.0
            .iter()
            .enumerate()
            .rev()
            .find(|(_, l)| **l != 0)
            .map(|(i, l)| i * 64 + 63 - l.leading_zeros() as usize)
    }

    /// `self << s`, dropping bits beyond the limbs. Variable-time in `s` only.
    fn shl(&self, s: usize) -> Fe {
        let (w, b) = (s / 64, s % 64);
        let mut r = [0u64; LIMBS];
        for i in (w..LIMBS).rev() {
            let lo = self.0[i - w] << b;
            let carry = if b != 0 && i > w {
                self.0[i - w - 1] >> (64 - b)
            } else {
                0
            };
            r[i] = lo | carry;
        }
        Fe(r)
    }
}

impl std::fmt::Debug for Fe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field elements can be secret (ladder state); print nothing of them.
        f.write_str("Fe(..)")
    }
}

/// Spreads the 32 bits of `x` to the even bit positions of a `u64` (squaring in GF(2)[u]).
fn spread(x: u32) -> u64 {
    let mut x = u64::from(x);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// GF(2^m) for one field polynomial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    m: usize,
    /// Limbs in use: `ceil(m / 64)`.
    n: usize,
    /// Exponents below `m` with a non-zero coefficient in the polynomial (0 included).
    terms: Vec<usize>,
    /// Word-level folds that bring a product of degree <= 2m-2 below `m`.
    folds: usize,
}

impl Field {
    /// The field for `u^m + sum(u^t for t in middle) + 1`, checked for shape and
    /// irreducibility.
    pub(crate) fn new(m: usize, middle: &[usize]) -> Result<Field, CryptoError> {
        if !(MIN_DEGREE..=MAX_DEGREE).contains(&m) {
            return Err(CryptoError::InvalidGroupParameters(
                "field degree out of range",
            ));
        }
        if m % 2 == 0 {
            // Solving for y uses the half-trace, which needs an odd degree.
            return Err(CryptoError::InvalidGroupParameters("even field degree"));
        }
        if !(middle.len() == 1 || middle.len() == 3) {
            return Err(CryptoError::InvalidGroupParameters(
                "field polynomial is not a trinomial or pentanomial",
            ));
        }
        let mut terms: Vec<usize> = middle.to_vec();
        terms.sort_unstable_by(|a, b| b.cmp(a));
        terms.dedup();
        if terms.len() != middle.len() || terms.iter().any(|&t| t == 0 || 2 * t >= m) {
            return Err(CryptoError::InvalidGroupParameters(
                "field polynomial middle terms must be distinct and below m/2",
            ));
        }
        terms.push(0);
        let kmax = terms.first().copied().unwrap_or(0);
        let (mut deg, mut folds) = (2 * m - 2, 0);
        while deg >= m {
            deg = deg - m + kmax;
            folds += 1;
        }
        let field = Field {
            m,
            n: m.div_ceil(64),
            terms,
            folds,
        };
        if !field.is_irreducible() {
            return Err(CryptoError::InvalidGroupParameters(
                "field polynomial is reducible",
            ));
        }
        Ok(field)
    }

    /// The field whose polynomial is `poly` (big-endian bytes, as in the New Group Mode
    /// "Group Prime/Irreducible Polynomial" attribute, RFC 2409 Appendix A).
    pub(crate) fn from_polynomial_bytes(poly: &[u8]) -> Result<Field, CryptoError> {
        let f = fe_from_be_any(poly).ok_or(CryptoError::InvalidGroupParameters(
            "field polynomial too long",
        ))?;
        let m = f.degree().ok_or(CryptoError::InvalidGroupParameters(
            "field polynomial is zero",
        ))?;
        if f.bit(0) != 1 {
            return Err(CryptoError::InvalidGroupParameters(
                "field polynomial has no constant term",
            ));
        }
        let middle: Vec<usize> = (1..m).filter(|&i| f.bit(i) == 1).collect();
        Field::new(m, &middle)
    }

    /// The polynomial as big-endian bytes (`ceil((m+1)/8)` of them).
    pub(crate) fn polynomial_bytes(&self) -> Vec<u8> {
        let mut f = Fe::ZERO.add(&Fe::ONE).shl(self.m);
        for &t in &self.terms {
            f = f.add(&Fe::ONE.shl(t));
        }
        be_bytes(&f, (self.m + 1).div_ceil(8))
    }

    /// The degree `m`.
    pub(crate) fn degree(&self) -> usize {
        self.m
    }

    /// Octets of an encoded element: `ceil(m / 8)`.
    pub(crate) fn byte_len(&self) -> usize {
        self.m.div_ceil(8)
    }

    /// Parses exactly `byte_len()` big-endian octets; `None` if the length is wrong or the value
    /// has bits at or above `m`.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Option<Fe> {
        if bytes.len() != self.byte_len() {
            return None;
        }
        self.decode_any(bytes)
    }

    /// Parses big-endian octets of any length (leading zeros allowed), as New Group Mode
    /// attributes carry them; `None` if the value has bits at or above `m`.
    pub(crate) fn decode_any(&self, bytes: &[u8]) -> Option<Fe> {
        let fe = fe_from_be_any(bytes)?;
        match fe.degree() {
            Some(d) if d >= self.m => None,
            _ => Some(fe),
        }
    }

    /// Encodes as `byte_len()` big-endian octets.
    pub(crate) fn encode(&self, a: &Fe) -> Vec<u8> {
        be_bytes(a, self.byte_len())
    }

    /// `a * b mod f`: right-to-left comb over 64-bit words, then reduction.
    pub(crate) fn mul(&self, a: &Fe, b: &Fe) -> Fe {
        let n = self.n;
        let mut c = [0u64; WIDE];
        let mut ash = [0u64; LIMBS + 1];
        ash[..n].copy_from_slice(&a.0[..n]);
        for k in 0..64 {
            for j in 0..n {
                let mask = 0u64.wrapping_sub((b.0[j] >> k) & 1);
                for t in 0..=n {
                    c[j + t] ^= ash[t] & mask;
                }
            }
            let mut carry = 0;
            for limb in ash.iter_mut().take(n + 1) {
                let v = *limb;
                *limb = (v << 1) | carry;
                carry = v >> 63;
            }
        }
        self.reduce(&mut c)
    }

    /// `a^2 mod f`: interleave zero bits, then reduce.
    pub(crate) fn sqr(&self, a: &Fe) -> Fe {
        let mut c = [0u64; WIDE];
        for i in 0..self.n {
            c[2 * i] = spread(a.0[i] as u32);
            c[2 * i + 1] = spread((a.0[i] >> 32) as u32);
        }
        self.reduce(&mut c)
    }

    /// `a^(2^k)`.
    pub(crate) fn sqr_n(&self, a: &Fe, k: usize) -> Fe {
        let mut r = *a;
        for _ in 0..k {
            r = self.sqr(&r);
        }
        r
    }

    /// Reduces a product of degree <= 2m-2 modulo the field polynomial: each fold replaces
    /// `hi * u^m` by `hi * (f - u^m)`.
    fn reduce(&self, c: &mut [u64; WIDE]) -> Fe {
        let len = 2 * self.n;
        let (w, b) = (self.m / 64, self.m % 64);
        for _ in 0..self.folds {
            // hi = c >> m
            let mut hi = [0u64; WIDE];
            for i in 0..len - w {
                let lo = c[i + w] >> b;
                let up = if b != 0 && i + w + 1 < len {
                    c[i + w + 1] << (64 - b)
                } else {
                    0
                };
                hi[i] = lo | up;
            }
            // c = c mod u^m
            c[w] &= (1u64 << b) - 1;
            for limb in c.iter_mut().take(len).skip(w + 1) {
                *limb = 0;
            }
            // c += hi * u^t for each term t of f below m
            for &t in &self.terms {
                let (tw, tb) = (t / 64, t % 64);
                for i in 0..len - tw {
                    c[i + tw] ^= hi[i] << tb;
                    if tb != 0 && i + tw + 1 < len {
                        c[i + tw + 1] ^= hi[i] >> (64 - tb);
                    }
                }
            }
        }
        let mut r = [0u64; LIMBS];
        r[..self.n].copy_from_slice(&c[..self.n]);
        Fe(r)
    }

    /// `a^-1` (0 for 0), by Itoh-Tsujii: `a^(2^m - 2) = (a^(2^(m-1) - 1))^2`, with
    /// `b_k = a^(2^k - 1)` built along the binary expansion of `m - 1`. The chain depends only on
    /// `m`.
    pub(crate) fn inv(&self, a: &Fe) -> Fe {
        let e = self.m - 1;
        let bits = (usize::BITS - e.leading_zeros()) as usize;
        let mut beta = *a;
        let mut k = 1usize;
        for i in (0..bits.saturating_sub(1)).rev() {
            let t = self.sqr_n(&beta, k);
            beta = self.mul(&t, &beta);
            k *= 2;
            if (e >> i) & 1 == 1 {
                beta = self.mul(&self.sqr(&beta), a);
                k += 1;
            }
        }
        self.sqr(&beta)
    }

    /// The absolute trace `a + a^2 + ... + a^(2^(m-1))`, 0 or 1.
    pub(crate) fn trace(&self, a: &Fe) -> u64 {
        let mut t = *a;
        let mut acc = *a;
        for _ in 1..self.m {
            t = self.sqr(&t);
            acc = acc.add(&t);
        }
        acc.0[0] & 1
    }

    /// The half-trace `sum a^(2^(2i))` for `i` in `0..=(m-1)/2`: for odd `m` and `Tr(a) = 0` it
    /// solves `z^2 + z = a`.
    pub(crate) fn half_trace(&self, a: &Fe) -> Fe {
        let mut t = *a;
        let mut acc = *a;
        for _ in 0..(self.m - 1) / 2 {
            t = self.sqr(&self.sqr(&t));
            acc = acc.add(&t);
        }
        acc
    }

    /// Rabin's test: `u^(2^m) = u mod f` and `gcd(u^(2^(m/p)) - u, f) = 1` for every prime `p`
    /// dividing `m`. Variable-time; the polynomial is public.
    fn is_irreducible(&self) -> bool {
        let u = Fe::ONE.shl(1);
        if self.sqr_n(&u, self.m) != u {
            return false;
        }
        let f = fe_from_be_any(&self.polynomial_bytes()).unwrap_or(Fe::ZERO);
        prime_factors(self.m).into_iter().all(|p| {
            let h = self.sqr_n(&u, self.m / p).add(&u);
            poly_gcd(h, f) == Fe::ONE
        })
    }
}

/// Big-endian bytes of any length into limbs; `None` if the value does not fit.
fn fe_from_be_any(bytes: &[u8]) -> Option<Fe> {
    let mut r = [0u64; LIMBS];
    for (i, byte) in bytes.iter().rev().enumerate() {
        match r.get_mut(i / 8) {
            Some(limb) => *limb |= u64::from(*byte) << (8 * (i % 8)),
            None if *byte == 0 => {}
            None => return None,
        }
    }
    Some(Fe(r))
}

fn be_bytes(a: &Fe, len: usize) -> Vec<u8> {
    (0..len)
        .rev()
        .map(|i| a.0.get(i / 8).map_or(0, |l| (l >> (8 * (i % 8))) as u8))
        .collect()
}

fn prime_factors(mut n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut p = 2;
    while p * p <= n {
        if n % p == 0 {
            out.push(p);
            while n % p == 0 {
                n /= p;
            }
        }
        p += 1;
    }
    if n > 1 {
        out.push(n);
    }
    out
}

/// `a mod b` for polynomials over GF(2). Variable-time.
fn poly_rem(mut a: Fe, b: &Fe) -> Fe {
    let Some(db) = b.degree() else {
        return a;
    };
    while let Some(da) = a.degree() {
        if da < db {
            break;
        }
        a = a.add(&b.shl(da - db));
    }
    a
}

fn poly_gcd(mut a: Fe, mut b: Fe) -> Fe {
    while b != Fe::ZERO {
        let r = poly_rem(a, &b);
        a = b;
        b = r;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group3() -> Field {
        Field::new(155, &[62]).unwrap()
    }

    fn elem(f: &Field, seed: u64) -> Fe {
        let mut rng = crate::rng::SeededRng::new(seed);
        let mut b = vec![0u8; f.byte_len()];
        crate::rng::Rng::fill(&mut rng, &mut b).unwrap();
        let extra = 8 * f.byte_len() - f.degree();
        b[0] &= 0xff >> extra;
        f.decode(&b).unwrap()
    }

    #[test]
    fn rfc_polynomials_are_irreducible_and_reducible_ones_are_refused() {
        assert!(Field::new(155, &[62]).is_ok());
        assert!(Field::new(185, &[69]).is_ok());
        // NIST B-163 pentanomial u^163 + u^7 + u^6 + u^3 + 1.
        assert!(Field::new(163, &[7, 6, 3]).is_ok());
        // u^155 + u^2 + 1 is reducible (of the trinomials u^155 + u^k + 1 with k < 78 only k = 62 is
        // irreducible).
        assert_eq!(
            Field::new(155, &[2]),
            Err(CryptoError::InvalidGroupParameters(
                "field polynomial is reducible"
            ))
        );
    }

    #[test]
    fn polynomial_bytes_round_trip() {
        let f = group3();
        let bytes = f.polynomial_bytes();
        assert_eq!(
            hex::encode(&bytes),
            "0800000000000000000000004000000000000001"
        );
        assert_eq!(Field::from_polynomial_bytes(&bytes).unwrap(), f);
    }

    #[test]
    fn field_axioms_hold() {
        for f in [
            group3(),
            Field::new(185, &[69]).unwrap(),
            Field::new(571, &[10, 5, 2]).unwrap(),
        ] {
            for s in 0..20 {
                let (a, b, c) = (elem(&f, 3 * s), elem(&f, 3 * s + 1), elem(&f, 3 * s + 2));
                assert_eq!(f.mul(&a, &b), f.mul(&b, &a));
                assert_eq!(f.mul(&f.mul(&a, &b), &c), f.mul(&a, &f.mul(&b, &c)));
                assert_eq!(f.mul(&a, &b.add(&c)), f.mul(&a, &b).add(&f.mul(&a, &c)));
                assert_eq!(f.sqr(&a), f.mul(&a, &a));
                assert_eq!(f.mul(&a, &f.inv(&a)), Fe::ONE);
                assert_eq!(f.mul(&a, &Fe::ONE), a);
                // Frobenius is additive: (a + b)^2 = a^2 + b^2.
                assert_eq!(f.sqr(&a.add(&b)), f.sqr(&a).add(&f.sqr(&b)));
                // a^(2^m) = a.
                assert_eq!(f.sqr_n(&a, f.degree()), a);
                // The half-trace solves z^2 + z = a when Tr(a) = 0.
                if f.trace(&a) == 0 {
                    let z = f.half_trace(&a);
                    assert_eq!(f.sqr(&z).add(&z), a);
                }
            }
        }
    }

    #[test]
    fn element_encoding_is_checked() {
        let f = group3();
        assert_eq!(f.byte_len(), 20);
        let mut b = vec![0u8; 20];
        b[19] = 0x7b;
        assert_eq!(f.encode(&f.decode(&b).unwrap()), b);
        b[0] = 0x08; // bit 155 = u^m: not a reduced element
        assert!(f.decode(&b).is_none());
        assert!(f.decode(&b[1..]).is_none());
    }
}
