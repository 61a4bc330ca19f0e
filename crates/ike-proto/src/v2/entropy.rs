//! Where the engine's random numbers and inbound Child SA SPIs come from.
//!
//! Both are injected: the RNG so that tests replay, the SPI allocator so that a kernel backend
//! can reserve inbound SPIs before they are sent to the peer (Linux `XFRM_MSG_ALLOCSPI`, which
//! guarantees that no other SA, ours or another daemon's, holds the same SPI). Without an
//! allocator, SPIs are drawn from the RNG.

use std::net::IpAddr;

use ike_crypto::rng::Rng;
use ike_crypto::CryptoError;

use super::{EngineError, IpsecProtocol, SpiAllocator};

/// The RNG and the optional SPI allocator, owned by the endpoint and lent to its SAs.
pub(crate) struct Entropy {
    rng: Box<dyn Rng + Send>,
    spis: Option<Box<dyn SpiAllocator>>,
    shard: crate::shard::Shard,
}

impl Entropy {
    pub(crate) fn new(rng: Box<dyn Rng + Send>, shard: crate::shard::Shard) -> Self {
        Self {
            rng,
            spis: None,
            shard,
        }
    }

    /// A fresh IKE SA SPI of ours: random, non-zero, naming our shard in its first octet
    /// ([`crate::shard`]).
    pub(crate) fn ike_spi(&mut self) -> Result<[u8; 8], CryptoError> {
        loop {
            let mut spi = [0u8; 8];
            self.rng.fill(&mut spi)?;
            self.shard.tag(&mut spi);
            if spi != [0; 8] {
                return Ok(spi);
            }
        }
    }

    pub(crate) fn set_spi_allocator(&mut self, spis: Option<Box<dyn SpiAllocator>>) {
        self.spis = spis;
    }

    /// An inbound Child SA SPI: from the allocator when there is one, else random.
    pub(crate) fn child_spi(
        &mut self,
        protocol: IpsecProtocol,
        local: IpAddr,
        remote: IpAddr,
    ) -> Result<u32, EngineError> {
        if let Some(a) = self.spis.as_mut() {
            return match a.alloc_spi(protocol, local, remote) {
                Ok(v) if v > 255 => Ok(v),
                Ok(v) => Err(EngineError::SpiAllocation(format!(
                    "the allocator returned the reserved SPI {v}"
                ))),
                Err(e) => Err(EngineError::SpiAllocation(e)),
            };
        }
        loop {
            let mut b = [0u8; 4];
            self.rng.fill(&mut b)?;
            let v = u32::from_be_bytes(b);
            // SPIs 1-255 are reserved by IANA; 0 is invalid.
            if v > 255 {
                return Ok(v);
            }
        }
    }
}

impl Rng for Entropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.rng.fill(buf)
    }
}
