//! Shards: several endpoints, one per core, each owning its SAs with no lock between them.
//!
//! Every SPI an endpoint chooses (IKEv2 SPIs as initiator, responder, and for rekeyed IKE SAs)
//! carries its shard in its first octet, so that a driver can hand each received datagram to
//! the shard that holds its SA by looking at the header alone ([`shard_of`]). A new IKE_SA_INIT
//! request names no SPI of ours; it goes to the shard its initiator SPI hashes to, the same shard
//! for every retransmission.
//!
//! IKEv1 (RFC 2408 §3.1): both cookies appear in every message and the dispatcher cannot tell our
//! role; and every ISAKMP SA with a peer must be on one shard, because a re-authentication moves
//! the IPsec SAs of an old ISAKMP SA to a newer one with the same peer, whichever side started
//! it. So ISAKMP SAs live on the shard a hash of the peer's IP address names ([`v1_shard`]), and
//! a driver initiates an IKEv1 connection on the shard of its remote address.

use std::net::SocketAddr;

/// Which of `count` shards an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u8,
    count: u8,
}

impl Default for Shard {
    fn default() -> Self {
        Self::SINGLE
    }
}

impl Shard {
    /// The only shard of an unsharded endpoint.
    pub const SINGLE: Shard = Shard { index: 0, count: 1 };

    /// Most shards a driver may run: the first SPI octet must leave room for randomness.
    pub const MAX: u8 = 64;

    /// Shard `index` of `count` (1 to [`Self::MAX`]).
    pub fn new(index: u8, count: u8) -> Option<Self> {
        ((1..=Self::MAX).contains(&count) && index < count).then_some(Self { index, count })
    }

    /// Its index.
    pub fn index(self) -> u8 {
        self.index
    }

    /// How many shards there are.
    pub fn count(self) -> u8 {
        self.count
    }

    /// Rewrites the first octet of a random SPI so that it names this shard, keeping as much of
    /// its randomness as the other shards leave (`256 / count` values).
    pub fn tag(self, spi: &mut [u8; 8]) {
        let slots = 256 / u16::from(self.count);
        let k = u16::from(spi[0]) % slots;
        spi[0] = u8::try_from(u16::from(self.index) + u16::from(self.count) * k).unwrap_or(0);
    }

    /// Whether `spi` names this shard.
    pub fn owns(self, spi: &[u8; 8]) -> bool {
        spi[0] % self.count == self.index
    }
}

/// The shard (of `count`) of every ISAKMP SA with the peer at `ip` (an FNV hash of the address).
pub fn v1_shard(ip: std::net::IpAddr, count: u8) -> usize {
    if count <= 1 {
        return 0;
    }
    let bytes = match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(h % u64::from(count)).unwrap_or(0)
}

/// The shard (of `count`) that should handle an IKE message (after any non-ESP marker) from
/// `from`. Looks at the header only; anything too short to have one goes to shard 0, which
/// drops it.
pub fn shard_of(message: &[u8], from: SocketAddr, count: u8) -> usize {
    if count <= 1 {
        return 0;
    }
    let (Some(spi_i), Some(spi_r), Some(&version), Some(&flags)) = (
        message.get(0..8),
        message.get(8..16),
        message.get(17),
        message.get(19),
    ) else {
        return 0;
    };
    let n = usize::from(count);
    let tagged = |spi: &[u8]| usize::from(spi.first().copied().unwrap_or(0)) % n;
    if version >> 4 == 1 {
        return v1_shard(from.ip(), count);
    }
    let from_initiator = flags & 0x08 != 0;
    if from_initiator && spi_r.iter().all(|b| *b == 0) {
        // A new IKE_SA_INIT: spread by the initiator's SPI, stable across retransmissions.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in spi_i {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        return usize::try_from(h % u64::from(count)).unwrap_or(0);
    }
    if from_initiator {
        tagged(spi_r)
    } else {
        tagged(spi_i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(spi_i: [u8; 8], spi_r: [u8; 8], version: u8, flags: u8) -> Vec<u8> {
        let mut m = vec![0u8; 28];
        m[0..8].copy_from_slice(&spi_i);
        m[8..16].copy_from_slice(&spi_r);
        m[17] = version;
        m[19] = flags;
        m
    }

    proptest! {
        /// A tagged SPI is owned by its shard only, and every message that names it (as the
        /// responder SPI of a request, the initiator SPI of a response) is routed there.
        #[test]
        fn tagged_spis_route_to_their_shard(count in 1u8..=Shard::MAX, idx in any::<u8>(),
                                            spi in any::<[u8; 8]>(), peer in any::<[u8; 8]>()) {
            let shard = Shard::new(idx % count, count).unwrap();
            let mut ours = spi;
            shard.tag(&mut ours);
            prop_assert!(shard.owns(&ours));
            prop_assert_eq!(&ours[1..], &spi[1..]);
            for other in 0..count {
                prop_assert_eq!(Shard::new(other, count).unwrap().owns(&ours), other == shard.index());
            }
            let from: SocketAddr = "10.77.0.1:500".parse().unwrap();
            let want = usize::from(shard.index());
            // We responded: the initiator's requests name our SPI as the responder's.
            prop_assert_eq!(shard_of(&header(peer, ours, 0x20, 0x08), from, count), want);
            // We initiated: the responder's messages name our SPI as the initiator's.
            prop_assert_eq!(shard_of(&header(ours, peer, 0x20, 0x20), from, count), want);
            // IKEv1: the peer's address decides, whatever the cookies.
            prop_assert_eq!(
                shard_of(&header(ours, peer, 0x10, 0), from, count),
                v1_shard(from.ip(), count)
            );
            prop_assert_eq!(
                shard_of(&header(peer, ours, 0x10, 0), from, count),
                v1_shard(from.ip(), count)
            );
        }
    }

    #[test]
    fn new_initiations_spread_and_stay_put() {
        let from: SocketAddr = "10.77.0.1:500".parse().unwrap();
        let mut hits = [0usize; 4];
        for i in 0..4000u32 {
            let mut spi = [0u8; 8];
            spi[..4].copy_from_slice(&i.to_be_bytes());
            spi[7] = 0x5a;
            let m = header(spi, [0; 8], 0x20, 0x08);
            let s = shard_of(&m, from, 4);
            assert_eq!(
                s,
                shard_of(&m, from, 4),
                "a retransmission goes to the same shard"
            );
            hits[s] += 1;
        }
        for h in hits {
            assert!((800..1200).contains(&h), "{hits:?}");
        }
        assert_eq!(shard_of(&[1, 2, 3], from, 4), 0);
        assert_eq!(Shard::new(4, 4), None);
        assert_eq!(Shard::new(0, 0), None);
        assert_eq!(Shard::new(0, Shard::MAX + 1), None);
    }
}
