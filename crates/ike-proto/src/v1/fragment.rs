//! IKEv1 fragmentation as strongSwan, Windows and Cisco do it (negotiated with the
//! FRAGMENTATION vendor ID, payload type 132): a message larger than the endpoint's
//! `fragment_size` (a Main Mode message with a certificate chain, typically) is cut into
//! fragments, each sent in its own ISAKMP message with the same cookies, exchange type and
//! message ID and a single Fragment payload (message identifier, fragment number from 1, and
//! the LAST flag on the final one). The receiver reassembles them in number order and handles
//! the whole message as if it had arrived in one datagram.
//!
//! Reassembly is bounded: one message at a time per ISAKMP SA, at most [`MAX_FRAGMENTS`]
//! fragments and [`MAX_REASSEMBLED`] bytes; a fragment of a newer message drops the old one,
//! an unfinished one is dropped after [`REASSEMBLY_TIMEOUT`]. Only SAs we know take fragments.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ike_wire::v1::{Fragment, PayloadType};

use super::protect::{self, Chain};
use super::sa::IsakmpSa;
use crate::v2::Transmit;

/// Cisco's FRAGMENTATION vendor ID: 16 bytes and the capability word `80000000`.
pub(crate) const VID_FRAGMENTATION: [u8; 20] = [
    0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3,
    0x80, 0x00, 0x00, 0x00,
];

/// Most fragments of one message.
pub(crate) const MAX_FRAGMENTS: u8 = 32;
/// Most bytes of a reassembled message.
pub(crate) const MAX_REASSEMBLED: usize = 65_535;
/// How long the fragments of one message may take to arrive.
pub(crate) const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a vendor ID is the FRAGMENTATION one (any capability word).
pub(crate) fn is_fragmentation_vid(v: &[u8]) -> bool {
    v.get(..16) == VID_FRAGMENTATION.get(..16)
}

/// One message being reassembled.
pub(crate) struct Reassembly {
    id: u16,
    parts: BTreeMap<u8, Vec<u8>>,
    last: Option<u8>,
    bytes: usize,
    started: Instant,
}

impl IsakmpSa {
    /// The datagrams that carry `bytes`: itself, or its fragments when the peer takes them
    /// and it is too large.
    pub(crate) fn datagrams(&self, bytes: Vec<u8>) -> Vec<Transmit> {
        let limit = self.frag_size.max(100);
        if !self.peer_frag || bytes.len() <= limit {
            return vec![Transmit::ike(self.local, self.remote, bytes)];
        }
        // Header (28), generic payload header (4) and fragment header (4).
        let chunk = limit - 36;
        let exchange = ike_wire::v1::ExchangeType::from(bytes.get(18).copied().unwrap_or(0));
        let mid = bytes
            .get(20..24)
            .and_then(|m| <[u8; 4]>::try_from(m).ok())
            .map_or(0, u32::from_be_bytes);
        // The same identifier for every retransmission of the same message.
        let id = bytes
            .iter()
            .fold(0x5a5au16, |h, b| h.rotate_left(5) ^ u16::from(*b))
            .max(1);
        let count = bytes.len().div_ceil(chunk);
        bytes
            .chunks(chunk)
            .zip(1u8..)
            .map(|(part, n)| {
                let mut body = Vec::with_capacity(part.len() + 4);
                body.extend_from_slice(&id.to_be_bytes());
                body.push(n);
                body.push(if usize::from(n) == count {
                    Fragment::LAST
                } else {
                    0
                });
                body.extend_from_slice(part);
                let mut c = Chain::default();
                c.add(PayloadType::Fragment, &body);
                Transmit::ike(
                    self.local,
                    self.remote,
                    protect::plain(self.cookies(), exchange, mid, &c),
                )
            })
            .collect()
    }

    /// Takes a fragment; the whole message once every fragment is there.
    pub(crate) fn reassemble(&mut self, now: Instant, f: &Fragment<'_>) -> Option<Vec<u8>> {
        if f.number > MAX_FRAGMENTS {
            return None;
        }
        let stale = self.reassembly.as_ref().is_some_and(|r| {
            now.saturating_duration_since(r.started) > REASSEMBLY_TIMEOUT || r.id != f.id
        });
        if stale {
            self.reassembly = None;
        }
        let r = self.reassembly.get_or_insert_with(|| Reassembly {
            id: f.id,
            parts: BTreeMap::new(),
            last: None,
            bytes: 0,
            started: now,
        });
        if r.parts.contains_key(&f.number) {
            return None;
        }
        if r.bytes + f.data.len() > MAX_REASSEMBLED {
            self.reassembly = None;
            return None;
        }
        r.bytes += f.data.len();
        r.parts.insert(f.number, f.data.to_vec());
        if f.is_last() {
            r.last = Some(f.number);
        }
        let last = r.last?;
        if r.parts.len() != usize::from(last) || r.parts.keys().next_back() != Some(&last) {
            return None;
        }
        let r = self.reassembly.take()?;
        Some(r.parts.into_values().flatten().collect())
    }
}
