//! Finite-field Diffie-Hellman over MODP groups, through OpenSSL's bignum arithmetic.
//!
//! Groups: 1 and 2 (RFC 2409 §6.1-6.2), 5 and 14-18 (RFC 3526), 22-24 (RFC 5114, with prime order
//! subgroups), and groups built from New Group Mode parameters (RFC 2409 §5.6).
//!
//! # Encoding
//! KE data is `g^x mod p` and the shared secret `g^xy mod p`, both big-endian and left-padded
//! with zeros to the length of the prime (RFC 2409 §5, RFC 7296 §3.4 and §2.14). A received value
//! must have exactly that length.
//!
//! # Private exponents
//! For groups 22-24 the exponent is uniform in `[1, q-1]` (RFC 5114 §2, SP 800-56A). For the
//! safe-prime groups it is a uniform short exponent in `[2, 2^e)`, `e` at least twice the
//! group's estimated strength and inside the ranges of RFC 3526 §8: 256 bits for groups 1, 2, 5
//! and 14, 320 for 15, 384 for 16, 448 for 17, 512 for 18 (the same by prime size for New Group
//! Mode primes). A safe prime's subgroup of order `q = (p-1)/2` makes short exponents safe; the
//! saving is large (a 256-bit instead of a 2047-bit exponent for group 14).
//!
//! # Timing
//! Exponentiation with the private exponent goes through `BN_mod_exp` with `BN_FLG_CONSTTIME`
//! set on the exponent, which OpenSSL routes to `BN_mod_exp_mont_consttime` (fixed window,
//! cache-line-safe table access). Exponentiations with public exponents (the subgroup check)
//! are variable-time. Private exponents are cleared (`BN_clear`) before they are freed.
//!
//! # Validation of the peer's value `y`
//! Exact length; `1 < y < p-1` (this excludes the subgroups of order 1 and 2, which for a safe
//! prime are the only small ones); for groups 22-24 also `y^q = 1 mod p` (RFC 5114 §4, SP 800-56A
//! §5.6.2.3.1), since their `p-1` has many small factors; and a shared secret of 1 is refused.

use std::sync::{Arc, OnceLock};

use ike_wire::group::DhGroup;
use openssl::bn::{BigNum, BigNumContext, BigNumRef};

use super::KeyExchange;
use crate::rng::Rng;
use crate::{CryptoError, Secret};

/// Smallest prime accepted in New Group Mode, in bits.
const MIN_PRIME_BITS: i32 = 768;
/// Largest prime accepted in New Group Mode when it is one of the standard primes.
const MAX_PRIME_BITS: i32 = 8192;
/// Largest other prime: testing an unknown safe prime costs about 1.3 s at 4096 bits and about
/// 10 s at 8192 bits (OpenSSL 3.0, this machine), too much to spend on a peer's proposal.
const MAX_TESTED_PRIME_BITS: i32 = 4096;
/// Miller-Rabin rounds (random bases) on `q = (p-1)/2`: error below 2^-64 even for a `q`
/// chosen to fool the test.
const PRIME_CHECKS: i32 = 32;

fn backend(_: openssl::error::ErrorStack) -> CryptoError {
    CryptoError::Backend("OpenSSL bignum")
}

/// Whether `p` is the prime of group 1, 2, 5 or 14-18.
fn is_standard_prime(p: &BigNum) -> Result<bool, CryptoError> {
    for hex in [
        MODP_768, MODP_1024, MODP_1536, MODP_2048, MODP_3072, MODP_4096, MODP_6144, MODP_8192,
    ] {
        if BigNum::from_hex_str(hex).map_err(backend)?.ucmp(p).is_eq() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A private exponent: flagged for constant-time exponentiation and cleared on drop.
struct SecretBn(BigNum);

impl Drop for SecretBn {
    fn drop(&mut self) {
        self.0.clear();
    }
}

/// Parameters of one MODP group.
pub(crate) struct ModpGroup {
    p: BigNum,
    g: BigNum,
    /// The generator's prime order, when published (RFC 5114 groups).
    q: Option<BigNum>,
    p_minus_1: BigNum,
    /// Octets of `p`.
    len: usize,
    /// Bits of a short exponent (groups without `q`).
    exp_bits: usize,
}

impl std::fmt::Debug for ModpGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModpGroup")
            .field("prime_bits", &self.p.num_bits())
            .field(
                "subgroup_order_bits",
                &self.q.as_ref().map(|q| q.num_bits()),
            )
            .field("exponent_bits", &self.exp_bits)
            .finish()
    }
}

/// The short-exponent size for a safe prime of `bits` bits.
fn exponent_bits(bits: i32) -> usize {
    [(2048, 256), (3072, 320), (4096, 384), (6144, 448)]
        .iter()
        .find(|(limit, _)| bits <= *limit)
        .map_or(512, |(_, e)| *e)
}

impl ModpGroup {
    fn new(p: BigNum, g: BigNum, q: Option<BigNum>) -> Result<Self, CryptoError> {
        let mut p_minus_1 = p.to_owned().map_err(backend)?;
        p_minus_1.sub_word(1).map_err(backend)?;
        let len = usize::try_from(p.num_bytes()).map_err(|_| CryptoError::Backend("MODP"))?;
        let exp_bits = exponent_bits(p.num_bits());
        Ok(Self {
            p,
            g,
            q,
            p_minus_1,
            len,
            exp_bits,
        })
    }

    /// A standard group, built once.
    pub(crate) fn standard(group: DhGroup) -> Result<Arc<ModpGroup>, CryptoError> {
        static CELLS: [OnceLock<Result<Arc<ModpGroup>, CryptoError>>; 11] =
            [const { OnceLock::new() }; 11];
        let (index, p, g, q) = match group {
            DhGroup::Modp768 => (0, MODP_768, "02", None),
            DhGroup::Modp1024 => (1, MODP_1024, "02", None),
            DhGroup::Modp1536 => (2, MODP_1536, "02", None),
            DhGroup::Modp2048 => (3, MODP_2048, "02", None),
            DhGroup::Modp3072 => (4, MODP_3072, "02", None),
            DhGroup::Modp4096 => (5, MODP_4096, "02", None),
            DhGroup::Modp6144 => (6, MODP_6144, "02", None),
            DhGroup::Modp8192 => (7, MODP_8192, "02", None),
            DhGroup::Modp1024S160 => (8, MODP_1024_160_P, MODP_1024_160_G, Some(MODP_1024_160_Q)),
            DhGroup::Modp2048S224 => (9, MODP_2048_224_P, MODP_2048_224_G, Some(MODP_2048_224_Q)),
            DhGroup::Modp2048S256 => (10, MODP_2048_256_P, MODP_2048_256_G, Some(MODP_2048_256_Q)),
            _ => return Err(CryptoError::Unsupported("not a MODP group")),
        };
        let cell = CELLS.get(index).ok_or(CryptoError::Backend("MODP table"))?;
        cell.get_or_init(|| {
            let hex = |s: &str| BigNum::from_hex_str(s).map_err(backend);
            let q = q.map(hex).transpose()?;
            ModpGroup::new(hex(p)?, hex(g)?, q).map(Arc::new)
        })
        .clone()
    }

    /// A group from New Group Mode parameters (RFC 2409 §5.6 and Appendix A), validated: the
    /// prime is odd, a safe prime, and has 768 to 4096 bits, or is one of the standard primes
    /// of groups 1, 2, 5 and 14-18 (recognised by value, up to 8192 bits, without a primality
    /// test); and `2 <= g <= p-2`. For another prime, `q = (p-1)/2` must pass 32 Miller-Rabin
    /// rounds and `p` Pocklington's test (`3^(p-1) = 1 mod p`, which with `q` prime and
    /// `q > sqrt(p)` proves `p` prime).
    pub(crate) fn from_params(prime: &[u8], generator: &[u8]) -> Result<ModpGroup, CryptoError> {
        let bad = CryptoError::InvalidGroupParameters;
        let p = BigNum::from_slice(prime).map_err(backend)?;
        let g = BigNum::from_slice(generator).map_err(backend)?;
        let bits = p.num_bits();
        if !(MIN_PRIME_BITS..=MAX_PRIME_BITS).contains(&bits) {
            return Err(bad("prime size out of range (768 to 8192 bits)"));
        }
        if !p.is_odd() {
            return Err(bad("prime is even"));
        }
        let known = is_standard_prime(&p)?;
        let group = ModpGroup::new(p, g, None)?;
        let two = BigNum::from_u32(2).map_err(backend)?;
        if group.g.ucmp(&two).is_lt() || group.g.ucmp(&group.p_minus_1).is_ge() {
            return Err(bad("generator out of range [2, p-2]"));
        }
        if known {
            return Ok(group);
        }
        if bits > MAX_TESTED_PRIME_BITS {
            return Err(bad(
                "prime above 4096 bits that is not a standard MODP prime",
            ));
        }
        let mut ctx = BigNumContext::new().map_err(backend)?;
        let mut q = BigNum::new().map_err(backend)?;
        q.rshift1(&group.p_minus_1).map_err(backend)?;
        if !q.is_prime(PRIME_CHECKS, &mut ctx).map_err(backend)? {
            return Err(bad("prime is not a safe prime"));
        }
        let three = BigNum::from_u32(3).map_err(backend)?;
        let mut t = BigNum::new().map_err(backend)?;
        t.mod_exp(&three, &group.p_minus_1, &group.p, &mut ctx)
            .map_err(backend)?;
        let one = BigNum::from_u32(1).map_err(backend)?;
        if t.ucmp(&one).is_ne() {
            return Err(bad("modulus is not prime"));
        }
        Ok(group)
    }

    /// Octets of the prime, of KE data and of the shared secret.
    pub(crate) fn value_len(&self) -> usize {
        self.len
    }

    /// A private exponent drawn from `rng`: `ceil(bits/8)` big-endian octets with the excess
    /// high bits cleared, redrawn while out of range (`[1, q-1]`, or `[2, 2^e)`).
    fn random_exponent(&self, rng: &mut dyn Rng) -> Result<SecretBn, CryptoError> {
        let (bits, upper) = match &self.q {
            Some(q) => (usize::try_from(q.num_bits()).unwrap_or(0), Some(q.to_vec())),
            None => (self.exp_bits, None),
        };
        let len = bits.div_ceil(8);
        let mut buf = zeroize::Zeroizing::new(vec![0u8; len]);
        for _ in 0..super::MAX_DRAWS {
            rng.fill(&mut buf)?;
            if let Some(first) = buf.first_mut() {
                *first &= 0xff >> (8 * len - bits);
            }
            let in_range = match &upper {
                Some(q) => super::ct_is_nonzero(&buf) && super::ct_less_than_be(&buf, q),
                None => super::ct_greater_than_one(&buf),
            };
            if in_range {
                let mut x = BigNum::new_secure().map_err(backend)?;
                x.set_const_time();
                x.copy_from_slice(&buf).map_err(backend)?;
                return Ok(SecretBn(x));
            }
        }
        Err(CryptoError::Rng)
    }

    /// `base^x mod p`, padded to the prime's length, for a secret exponent.
    fn exp_secret(
        &self,
        base: &BigNumRef,
        x: &SecretBn,
        ctx: &mut BigNumContext,
    ) -> Result<BigNum, CryptoError> {
        let mut r = BigNum::new_secure().map_err(backend)?;
        debug_assert!(x.0.is_const_time());
        r.mod_exp(base, &x.0, &self.p, ctx).map_err(backend)?;
        Ok(r)
    }

    fn validate_peer(&self, peer: &[u8], ctx: &mut BigNumContext) -> Result<BigNum, CryptoError> {
        let bad = CryptoError::InvalidPublicValue;
        if peer.len() != self.len {
            return Err(bad("MODP value has the wrong length"));
        }
        let y = BigNum::from_slice(peer).map_err(backend)?;
        let one = BigNum::from_u32(1).map_err(backend)?;
        if y.ucmp(&one).is_le() || y.ucmp(&self.p_minus_1).is_ge() {
            return Err(bad("MODP value out of range (1, p-1)"));
        }
        if let Some(q) = &self.q {
            let mut t = BigNum::new().map_err(backend)?;
            t.mod_exp(&y, q, &self.p, ctx).map_err(backend)?;
            if t.ucmp(&one).is_ne() {
                return Err(bad("MODP value is not in the prime order subgroup"));
            }
        }
        Ok(y)
    }
}

/// Our half of a MODP exchange.
pub(crate) struct ModpKeyExchange {
    id: DhGroup,
    group: Arc<ModpGroup>,
    x: SecretBn,
    public: Vec<u8>,
}

impl ModpKeyExchange {
    pub(crate) fn generate(
        id: DhGroup,
        group: Arc<ModpGroup>,
        rng: &mut dyn Rng,
    ) -> Result<Self, CryptoError> {
        let x = group.random_exponent(rng)?;
        let mut ctx = BigNumContext::new_secure().map_err(backend)?;
        let y = group.exp_secret(&group.g, &x, &mut ctx)?;
        let public = y.to_vec_padded(pad(group.len)?).map_err(backend)?;
        Ok(Self {
            id,
            group,
            x,
            public,
        })
    }
}

fn pad(len: usize) -> Result<i32, CryptoError> {
    i32::try_from(len).map_err(|_| CryptoError::Backend("MODP length"))
}

impl std::fmt::Debug for ModpKeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModpKeyExchange")
            .field("group", &self.id)
            .field("public_len", &self.public.len())
            .finish_non_exhaustive()
    }
}

impl KeyExchange for ModpKeyExchange {
    fn group(&self) -> DhGroup {
        self.id
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn shared_secret(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        let mut ctx = BigNumContext::new_secure().map_err(backend)?;
        let y = self.group.validate_peer(peer, &mut ctx)?;
        let mut z = self.group.exp_secret(&y, &self.x, &mut ctx)?;
        let one = BigNum::from_u32(1).map_err(backend)?;
        let degenerate = z.ucmp(&one).is_eq();
        let bytes = z.to_vec_padded(pad(self.group.len)?).map_err(backend);
        z.clear();
        if degenerate {
            return Err(CryptoError::InvalidPublicValue("MODP shared secret is one"));
        }
        Ok(Secret::new(bytes?))
    }
}

/// RFC 2409 §6.1, the First Oakley Group (768 bits), generator 2.
const MODP_768: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a63a3620ffffffffffffffff",
);
/// RFC 2409 §6.2, the Second Oakley Group (1024 bits), generator 2.
const MODP_1024: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffffffff",
);
/// RFC 3526 1536-bit MODP group, generator 2.
const MODP_1536: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca237327ffffffffffffffff",
);
/// RFC 3526 2048-bit MODP group, generator 2.
const MODP_2048: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718",
    "3995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff",
);
/// RFC 3526 3072-bit MODP group, generator 2.
const MODP_3072: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718",
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33",
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7",
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864",
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2",
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff",
);
/// RFC 3526 4096-bit MODP group, generator 2.
const MODP_4096: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718",
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33",
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7",
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864",
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2",
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a92108011a723c12a787e6d7",
    "88719a10bdba5b2699c327186af4e23c1a946834b6150bda2583e9ca2ad44ce8",
    "dbbbc2db04de8ef92e8efc141fbecaa6287c59474e6bc05d99b2964fa090c3a2",
    "233ba186515be7ed1f612970cee2d7afb81bdd762170481cd0069127d5b05aa9",
    "93b4ea988d8fddc186ffb7dc90a6c08f4df435c934063199ffffffffffffffff",
);
/// RFC 3526 6144-bit MODP group, generator 2.
const MODP_6144: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718",
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33",
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7",
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864",
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2",
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a92108011a723c12a787e6d7",
    "88719a10bdba5b2699c327186af4e23c1a946834b6150bda2583e9ca2ad44ce8",
    "dbbbc2db04de8ef92e8efc141fbecaa6287c59474e6bc05d99b2964fa090c3a2",
    "233ba186515be7ed1f612970cee2d7afb81bdd762170481cd0069127d5b05aa9",
    "93b4ea988d8fddc186ffb7dc90a6c08f4df435c93402849236c3fab4d27c7026",
    "c1d4dcb2602646dec9751e763dba37bdf8ff9406ad9e530ee5db382f413001ae",
    "b06a53ed9027d831179727b0865a8918da3edbebcf9b14ed44ce6cbaced4bb1b",
    "db7f1447e6cc254b332051512bd7af426fb8f401378cd2bf5983ca01c64b92ec",
    "f032ea15d1721d03f482d7ce6e74fef6d55e702f46980c82b5a84031900b1c9e",
    "59e7c97fbec7e8f323a97a7e36cc88be0f1d45b7ff585ac54bd407b22b4154aa",
    "cc8f6d7ebf48e1d814cc5ed20f8037e0a79715eef29be32806a1d58bb7c5da76",
    "f550aa3d8a1fbff0eb19ccb1a313d55cda56c9ec2ef29632387fe8d76e3c0468",
    "043e8f663f4860ee12bf2d5b0b7474d6e694f91e6dcc4024ffffffffffffffff",
);
/// RFC 3526 8192-bit MODP group, generator 2.
const MODP_8192: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74",
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437",
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05",
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb",
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718",
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33",
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7",
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864",
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2",
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a92108011a723c12a787e6d7",
    "88719a10bdba5b2699c327186af4e23c1a946834b6150bda2583e9ca2ad44ce8",
    "dbbbc2db04de8ef92e8efc141fbecaa6287c59474e6bc05d99b2964fa090c3a2",
    "233ba186515be7ed1f612970cee2d7afb81bdd762170481cd0069127d5b05aa9",
    "93b4ea988d8fddc186ffb7dc90a6c08f4df435c93402849236c3fab4d27c7026",
    "c1d4dcb2602646dec9751e763dba37bdf8ff9406ad9e530ee5db382f413001ae",
    "b06a53ed9027d831179727b0865a8918da3edbebcf9b14ed44ce6cbaced4bb1b",
    "db7f1447e6cc254b332051512bd7af426fb8f401378cd2bf5983ca01c64b92ec",
    "f032ea15d1721d03f482d7ce6e74fef6d55e702f46980c82b5a84031900b1c9e",
    "59e7c97fbec7e8f323a97a7e36cc88be0f1d45b7ff585ac54bd407b22b4154aa",
    "cc8f6d7ebf48e1d814cc5ed20f8037e0a79715eef29be32806a1d58bb7c5da76",
    "f550aa3d8a1fbff0eb19ccb1a313d55cda56c9ec2ef29632387fe8d76e3c0468",
    "043e8f663f4860ee12bf2d5b0b7474d6e694f91e6dbe115974a3926f12fee5e4",
    "38777cb6a932df8cd8bec4d073b931ba3bc832b68d9dd300741fa7bf8afc47ed",
    "2576f6936ba424663aab639c5ae4f5683423b4742bf1c978238f16cbe39d652d",
    "e3fdb8befc848ad922222e04a4037c0713eb57a81a23f0c73473fc646cea306b",
    "4bcbc8862f8385ddfa9d4b7fa2c087e879683303ed5bdd3a062b3cf5b3a278a6",
    "6d2a13f83f44f82ddf310ee074ab6a364597e899a0255dc164f31cc50846851d",
    "f9ab48195ded7ea1b1d510bd7ee74d73faf36bc31ecfa268359046f4eb879f92",
    "4009438b481c6cd7889a002ed5ee382bc9190da6fc026e479558e4475677e9aa",
    "9e3050e2765694dfc81f56e880b96e7160c980dd98edd3dfffffffffffffffff",
);
/// RFC 5114 §2.1, 1024-bit MODP group with 160-bit prime order subgroup: the prime.
const MODP_1024_160_P: &str = concat!(
    "b10b8f96a080e01dde92de5eae5d54ec52c99fbcfb06a3c69a6a9dca52d23b61",
    "6073e28675a23d189838ef1e2ee652c013ecb4aea906112324975c3cd49b83bf",
    "accbdd7d90c4bd7098488e9c219a73724effd6fae5644738faa31a4ff55bccc0",
    "a151af5f0dc8b4bd45bf37df365c1a65e68cfda76d4da708df1fb2bc2e4a4371",
);
/// Its generator.
const MODP_1024_160_G: &str = concat!(
    "a4d1cbd5c3fd34126765a442efb99905f8104dd258ac507fd6406cff14266d31",
    "266fea1e5c41564b777e690f5504f213160217b4b01b886a5e91547f9e2749f4",
    "d7fbd7d3b9a92ee1909d0d2263f80a76a6a24c087a091f531dbf0a0169b6a28a",
    "d662a4d18e73afa32d779d5918d08bc8858f4dcef97c2a24855e6eeb22b3b2e5",
);
/// The order of the generator.
const MODP_1024_160_Q: &str = "f518aa8781a8df278aba4e7d64b7cb9d49462353";
/// RFC 5114 §2.2, 2048-bit MODP group with 224-bit prime order subgroup: the prime.
const MODP_2048_224_P: &str = concat!(
    "ad107e1e9123a9d0d660faa79559c51fa20d64e5683b9fd1b54b1597b61d0a75",
    "e6fa141df95a56dbaf9a3c407ba1df15eb3d688a309c180e1de6b85a1274a0a6",
    "6d3f8152ad6ac2129037c9edefda4df8d91e8fef55b7394b7ad5b7d0b6c12207",
    "c9f98d11ed34dbf6c6ba0b2c8bbc27be6a00e0a0b9c49708b3bf8a3170918836",
    "81286130bc8985db1602e714415d9330278273c7de31efdc7310f7121fd5a074",
    "15987d9adc0a486dcdf93acc44328387315d75e198c641a480cd86a1b9e587e8",
    "be60e69cc928b2b9c52172e413042e9b23f10b0e16e79763c9b53dcf4ba80a29",
    "e3fb73c16b8e75b97ef363e2ffa31f71cf9de5384e71b81c0ac4dffe0c10e64f",
);
/// Its generator.
const MODP_2048_224_G: &str = concat!(
    "ac4032ef4f2d9ae39df30b5c8ffdac506cdebe7b89998caf74866a08cfe4ffe3",
    "a6824a4e10b9a6f0dd921f01a70c4afaab739d7700c29f52c57db17c620a8652",
    "be5e9001a8d66ad7c17669101999024af4d027275ac1348bb8a762d0521bc98a",
    "e247150422ea1ed409939d54da7460cdb5f6c6b250717cbef180eb34118e98d1",
    "19529a45d6f834566e3025e316a330efbb77a86f0c1ab15b051ae3d428c8f8ac",
    "b70a8137150b8eeb10e183edd19963ddd9e263e4770589ef6aa21e7f5f2ff381",
    "b539cce3409d13cd566afbb48d6c019181e1bcfe94b30269edfe72fe9b6aa4bd",
    "7b5a0f1c71cfff4c19c418e1f6ec017981bc087f2a7065b384b890d3191f2bfa",
);
/// The order of the generator.
const MODP_2048_224_Q: &str = "801c0d34c58d93fe997177101f80535a4738cebcbf389a99b36371eb";
/// RFC 5114 §2.3, 2048-bit MODP group with 256-bit prime order subgroup: the prime.
const MODP_2048_256_P: &str = concat!(
    "87a8e61db4b6663cffbbd19c651959998ceef608660dd0f25d2ceed4435e3b00",
    "e00df8f1d61957d4faf7df4561b2aa3016c3d91134096faa3bf4296d830e9a7c",
    "209e0c6497517abd5a8a9d306bcf67ed91f9e6725b4758c022e0b1ef4275bf7b",
    "6c5bfc11d45f9088b941f54eb1e59bb8bc39a0bf12307f5c4fdb70c581b23f76",
    "b63acae1caa6b7902d52526735488a0ef13c6d9a51bfa4ab3ad8347796524d8e",
    "f6a167b5a41825d967e144e5140564251ccacb83e6b486f6b3ca3f7971506026",
    "c0b857f689962856ded4010abd0be621c3a3960a54e710c375f26375d7014103",
    "a4b54330c198af126116d2276e11715f693877fad7ef09cadb094ae91e1a1597",
);
/// Its generator.
const MODP_2048_256_G: &str = concat!(
    "3fb32c9b73134d0b2e77506660edbd484ca7b18f21ef205407f4793a1a0ba125",
    "10dbc15077be463fff4fed4aac0bb555be3a6c1b0c6b47b1bc3773bf7e8c6f62",
    "901228f8c28cbb18a55ae31341000a650196f931c77a57f2ddf463e5e9ec144b",
    "777de62aaab8a8628ac376d282d6ed3864e67982428ebc831d14348f6f2f9193",
    "b5045af2767164e1dfc967c1fb3f2e55a4bd1bffe83b9c80d052b985d182ea0a",
    "db2a3b7313d3fe14c8484b1e052588b9b7d2bbd2df016199ecd06e1557cd0915",
    "b3353bbb64e0ec377fd028370df92b52c7891428cdc67eb6184b523d1db246c3",
    "2f63078490f00ef8d647d148d47954515e2327cfef98c582664b4c0f6cc41659",
);
/// The order of the generator.
const MODP_2048_256_Q: &str = "8cf83642a709a097b447997640129da299b1a47d1eb3750ba308b0fe64f5fbd3";
