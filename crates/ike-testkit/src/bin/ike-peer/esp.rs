//! ESP (RFC 4303) in UDP (RFC 3948) for the interop driver, so that a test can see the keys work.
//!
//! Inbound packets are authenticated and decrypted with the keys the engine derived, which
//! proves they match the peer's; an ICMP echo request or a UDP datagram to the echo port (7)
//! that arrives through the tunnel is answered through it, so that an echo from the peer's side
//! proves the outbound keys too.
//! Test-only: no replay window, no selector checks, no extended sequence numbers.

use std::collections::HashMap;

use ike_crypto::cipher::{Cipher, EncrAlg, Integrity};
use ike_crypto::rng::Rng;
use ike_proto::v2::ChildSaInstall;

/// One direction of a Child SA.
struct Sa {
    encr: EncrAlg,
    cipher: Cipher,
    integ: Option<Integrity>,
}

impl Sa {
    fn new(c: &ChildSaInstall, inbound: bool) -> Result<Self, String> {
        let (ek, ik) = if inbound { &c.keys_in } else { &c.keys_out };
        // An AH Child SA has no cipher: this test driver speaks ESP only.
        let encr = c
            .encr
            .ok_or_else(|| format!("{} Child SAs are not supported here", c.protocol))?;
        let cipher = Cipher::new(encr, ek.expose()).map_err(|e| e.to_string())?;
        let integ = match c.integ {
            Some(alg) => Some(Integrity::new(alg, ik.expose()).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(Self {
            encr,
            cipher,
            integ,
        })
    }

    fn icv_len(&self) -> usize {
        match &self.integ {
            Some(i) => i.alg().output_len(),
            None => self.encr.icv_len(),
        }
    }
}

/// A decrypted ESP packet.
pub struct Opened {
    pub spi: u32,
    pub seq: u32,
    /// The Next Header field (4: IPv4, 41: IPv6, 59: no next header).
    pub next_header: u8,
    /// The inner packet.
    pub inner: Vec<u8>,
}

/// The Child SAs' ESP state.
#[derive(Default)]
pub struct Esp {
    inbound: HashMap<u32, Sa>,
    /// outbound SPI -> (SA, last sequence number sent)
    outbound: HashMap<u32, (Sa, u32)>,
    /// inbound SPI -> outbound SPI of the same Child SA
    pair: HashMap<u32, u32>,
}

impl Esp {
    pub fn install(&mut self, c: &ChildSaInstall) -> Result<(), String> {
        self.inbound.insert(c.spi_in, Sa::new(c, true)?);
        self.outbound.insert(c.spi_out, (Sa::new(c, false)?, 0));
        self.pair.insert(c.spi_in, c.spi_out);
        Ok(())
    }

    pub fn remove(&mut self, spi_in: u32, spi_out: u32) {
        self.inbound.remove(&spi_in);
        self.outbound.remove(&spi_out);
        self.pair.remove(&spi_in);
    }

    /// The outbound SPI of the Child SA whose inbound SPI is `spi_in`.
    pub fn paired(&self, spi_in: u32) -> Option<u32> {
        self.pair.get(&spi_in).copied()
    }

    /// Authenticates and decrypts an ESP packet (the UDP payload on port 4500).
    pub fn open(&self, packet: &[u8]) -> Result<Opened, String> {
        let spi = be32(packet, 0).ok_or("short packet")?;
        let seq = be32(packet, 4).ok_or("short packet")?;
        let sa = self
            .inbound
            .get(&spi)
            .ok_or_else(|| format!("unknown SPI {spi:08x}"))?;
        let iv_len = sa.encr.iv_len();
        let icv_len = sa.icv_len();
        let body_end = packet
            .len()
            .checked_sub(icv_len)
            .filter(|&e| e >= 8 + iv_len)
            .ok_or("short packet")?;
        let header = packet.get(..8).ok_or("short packet")?;
        let iv = packet.get(8..8 + iv_len).ok_or("short packet")?;
        let plain = if sa.encr.is_aead() {
            // RFC 4106 §5: AAD = SPI ‖ sequence number; the ICV follows the ciphertext
            let ct = packet.get(8 + iv_len..).ok_or("short packet")?;
            sa.cipher
                .open(iv, header, ct)
                .map_err(|e| format!("ICV check failed: {e}"))?
        } else {
            let integ = sa.integ.as_ref().ok_or("no integrity algorithm")?;
            let (covered, icv) = packet.split_at(body_end);
            integ
                .verify(covered, icv)
                .map_err(|e| format!("ICV check failed: {e}"))?;
            let mut data = packet.get(8 + iv_len..body_end).ok_or("short")?.to_vec();
            sa.cipher
                .decrypt(iv, &mut data)
                .map_err(|e| format!("decryption failed: {e}"))?;
            data
        };
        // trailer: padding, pad length, next header (RFC 4303 §2.4-2.6)
        let n = plain.len();
        let next_header = *plain.last().ok_or("empty plaintext")?;
        let pad_len = usize::from(*plain.get(n.wrapping_sub(2)).ok_or("no trailer")?);
        let inner_len = n.checked_sub(2 + pad_len).ok_or("bad pad length")?;
        let padding = plain.get(inner_len..n - 2).ok_or("bad pad length")?;
        if !padding
            .iter()
            .enumerate()
            .all(|(i, &b)| usize::from(b) == i + 1)
        {
            return Err("padding is not 1, 2, 3, ...".into());
        }
        Ok(Opened {
            spi,
            seq,
            next_header,
            inner: plain.get(..inner_len).unwrap_or_default().to_vec(),
        })
    }

    /// Encrypts `inner` for the outbound SA `spi`; returns (sequence number, ESP packet).
    pub fn seal(
        &mut self,
        spi: u32,
        next_header: u8,
        inner: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<(u32, Vec<u8>), String> {
        let (sa, last) = self
            .outbound
            .get_mut(&spi)
            .ok_or_else(|| format!("unknown SPI {spi:08x}"))?;
        *last = last.checked_add(1).ok_or("sequence number exhausted")?;
        let seq = *last;
        let block = if sa.encr.is_aead() {
            4
        } else {
            sa.encr.block_len().max(4)
        };
        let pad = (block - (inner.len() + 2) % block) % block;
        let mut plain = inner.to_vec();
        plain.extend((1..=pad).map(|i| u8::try_from(i).unwrap_or(0)));
        plain.push(u8::try_from(pad).map_err(|_| "padding")?);
        plain.push(next_header);
        let mut packet = Vec::with_capacity(plain.len() + 64);
        packet.extend_from_slice(&spi.to_be_bytes());
        packet.extend_from_slice(&seq.to_be_bytes());
        let mut iv = vec![0u8; sa.encr.iv_len()];
        if sa.encr.is_aead() {
            // a counter is a fine unique IV for GCM/CCM/ChaCha20 (RFC 4106 §3.1)
            let s = u64::from(seq).to_be_bytes();
            let k = iv.len().min(8);
            let at = iv.len() - k;
            iv[at..].copy_from_slice(&s[8 - k..]);
            let ct = sa
                .cipher
                .seal(&iv, &packet, &plain)
                .map_err(|e| e.to_string())?;
            packet.extend_from_slice(&iv);
            packet.extend_from_slice(&ct);
        } else {
            rng.fill(&mut iv).map_err(|e| e.to_string())?;
            sa.cipher
                .encrypt(&iv, &mut plain)
                .map_err(|e| e.to_string())?;
            packet.extend_from_slice(&iv);
            packet.extend_from_slice(&plain);
            let integ = sa.integ.as_ref().ok_or("no integrity algorithm")?;
            let icv = integ.compute(&packet);
            packet.extend_from_slice(&icv);
        }
        Ok((seq, packet))
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = match chunk {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// `src -> dst proto N` (and the ICMP type) of an IPv4 packet, for the event log.
pub fn describe_ipv4(p: &[u8]) -> String {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return format!("{} bytes, not IPv4", p.len());
    }
    let src = std::net::Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = std::net::Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let ihl = usize::from(p[0] & 0x0f) * 4;
    match (p[9], p.get(ihl)) {
        (1, Some(8)) => format!("{src} -> {dst} ICMP echo request"),
        (1, Some(0)) => format!("{src} -> {dst} ICMP echo reply"),
        (17, _) => match (be16(p, ihl), be16(p, ihl + 2)) {
            (Some(s), Some(d)) => format!("{src}:{s} -> {dst}:{d} UDP"),
            _ => format!("{src} -> {dst} UDP"),
        },
        (proto, _) => format!("{src} -> {dst} protocol {proto}"),
    }
}

/// The UDP echo port (RFC 862).
const ECHO_PORT: u16 = 7;

/// The answer to an IPv4 ICMP echo request, or to a UDP datagram to the echo port (RFC 862),
/// or `None` for anything else.
pub fn echo_reply(p: &[u8]) -> Option<Vec<u8>> {
    if p.first()? >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    let total = usize::from(be16(p, 2)?);
    if ihl < 20 || total < ihl + 8 || total > p.len() {
        return None;
    }
    let proto = *p.get(9)?;
    let icmp_echo = proto == 1 && *p.get(ihl)? == 8;
    let udp_echo = proto == 17 && be16(p, ihl + 2)? == ECHO_PORT;
    if !icmp_echo && !udp_echo {
        return None;
    }
    let mut r = p.get(..total)?.to_vec();
    let (src, dst) = (r.get(12..16)?.to_vec(), r.get(16..20)?.to_vec());
    r.get_mut(12..16)?.copy_from_slice(&dst);
    r.get_mut(16..20)?.copy_from_slice(&src);
    *r.get_mut(8)? = 64; // TTL
    r.get_mut(10..12)?.copy_from_slice(&[0, 0]);
    let c = checksum(r.get(..ihl)?);
    r.get_mut(10..12)?.copy_from_slice(&c.to_be_bytes());
    if icmp_echo {
        *r.get_mut(ihl)? = 0; // echo reply
        r.get_mut(ihl + 2..ihl + 4)?.copy_from_slice(&[0, 0]);
        let c = checksum(r.get(ihl..)?);
        r.get_mut(ihl + 2..ihl + 4)?
            .copy_from_slice(&c.to_be_bytes());
    } else {
        let (sport, dport) = (
            r.get(ihl..ihl + 2)?.to_vec(),
            r.get(ihl + 2..ihl + 4)?.to_vec(),
        );
        r.get_mut(ihl..ihl + 2)?.copy_from_slice(&dport);
        r.get_mut(ihl + 2..ihl + 4)?.copy_from_slice(&sport);
        // a zero UDP checksum means none (RFC 768), allowed over IPv4
        r.get_mut(ihl + 6..ihl + 8)?.copy_from_slice(&[0, 0]);
    }
    Some(r)
}
