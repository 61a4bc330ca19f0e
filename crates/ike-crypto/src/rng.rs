//! Randomness, injected: the engines and key generation take a `&mut dyn Rng`, so that tests can
//! fix nonces, SPIs and DH secrets.

use crate::CryptoError;

/// A source of random bytes.
pub trait Rng {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG, through aws-lc-rs.
#[derive(Debug, Default)]
pub struct SystemRng(aws_lc_rs::rand::SystemRandom);

impl SystemRng {
    /// A new handle.
    pub fn new() -> Self {
        Self(aws_lc_rs::rand::SystemRandom::new())
    }
}

impl Rng for SystemRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CryptoError> {
        aws_lc_rs::rand::SecureRandom::fill(&self.0, buf).map_err(|_| CryptoError::Rng)
    }
}

/// A deterministic generator for tests and simulations: SHA-256 in counter mode over a seed.
/// Not for production use: anyone who knows the seed knows every output.
#[derive(Clone, Debug)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: u64,
    pending: Vec<u8>,
}

impl SeededRng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_be_bytes());
        Self::from_seed(s)
    }

    /// A generator from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            pending: Vec::new(),
        }
    }
}

impl Rng for SeededRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CryptoError> {
        for byte in buf.iter_mut() {
            if self.pending.is_empty() {
                let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
                ctx.update(&self.seed);
                ctx.update(&self.counter.to_be_bytes());
                self.counter = self.counter.wrapping_add(1);
                self.pending = ctx.finish().as_ref().to_vec();
                self.pending.reverse();
            }
            *byte = self.pending.pop().ok_or(CryptoError::Rng)?;
        }
        Ok(())
    }
}

/// Replays fixed bytes, then fails: for known-answer tests that must use exactly the given nonce
/// or private value.
#[derive(Clone, Debug)]
pub struct FixedRng {
    bytes: Vec<u8>,
    pos: usize,
}

impl FixedRng {
    /// A generator that returns `bytes` in order.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl Rng for FixedRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let end = self.pos.checked_add(buf.len()).ok_or(CryptoError::Rng)?;
        let src = self.bytes.get(self.pos..end).ok_or(CryptoError::Rng)?;
        buf.copy_from_slice(src);
        self.pos = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (mut a, mut b, mut c) = (SeededRng::new(7), SeededRng::new(7), SeededRng::new(8));
        let (mut x, mut y, mut z) = ([0u8; 50], [0u8; 50], [0u8; 50]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn fixed_replays_then_fails() {
        let mut r = FixedRng::new(vec![1, 2, 3]);
        let mut two = [0u8; 2];
        r.fill(&mut two).unwrap();
        assert_eq!(two, [1, 2]);
        assert_eq!(r.fill(&mut two), Err(CryptoError::Rng));
    }

    #[test]
    fn system_rng_fills() {
        let mut r = SystemRng::new();
        let mut buf = [0u8; 32];
        r.fill(&mut buf).unwrap();
        assert_ne!(buf, [0u8; 32]);
    }
}
