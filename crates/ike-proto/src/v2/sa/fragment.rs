//! IKE message fragmentation (RFC 7383): sending large encrypted messages as Encrypted Fragment
//! payloads when both ends announced IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT, and
//! reassembling the peer's fragments with bounded memory.
//!
//! Contract with the rest of the SA code: a sealed message that had to be fragmented is kept as
//! its fragments written back to back in one `Vec<u8>`. Every IKE message carries its own
//! length in its header, so [`split_datagrams`] recovers the datagrams when transmitting; the
//! response cache and retransmissions then resend the same fragments (§2.6).

use std::collections::BTreeMap;

use ike_wire::v2::{self, Payload, PayloadType};

use super::IkeSa;

/// At most this many fragments per message (strongSwan's default limit is similar).
const MAX_FRAGMENTS: u16 = 64;
/// At most this many reassembled bytes per message.
const MAX_BYTES: usize = 64 * 1024;

/// The fragments of one message received so far.
#[derive(Debug, Default)]
pub(crate) struct Reassembly {
    message_id: u32,
    total: u16,
    first_inner: Option<PayloadType>,
    pieces: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
}

/// Splits back-to-back IKE messages into datagrams by their header length fields.
pub(crate) fn split_datagrams(bytes: Vec<u8>) -> Vec<Vec<u8>> {
    let whole = |b: &[u8]| -> Option<usize> {
        let len = b
            .get(24..28)
            .and_then(|l| <[u8; 4]>::try_from(l).ok())
            .map(u32::from_be_bytes)?;
        usize::try_from(len)
            .ok()
            .filter(|l| *l >= 28 && *l <= b.len())
    };
    match whole(&bytes) {
        Some(len) if len == bytes.len() => vec![bytes],
        None => vec![bytes],
        Some(_) => {
            let mut out = Vec::new();
            let mut rest = bytes.as_slice();
            while let Some(len) = whole(rest) {
                let (one, tail) = rest.split_at(len);
                out.push(one.to_vec());
                rest = tail;
            }
            out
        }
    }
}

impl IkeSa {
    /// Whether this message must go as fragments: fragmentation negotiated and the whole message
    /// longer than the configured size.
    pub(super) fn wants_fragments(&self, len: usize) -> bool {
        self.fragmentation && self.fragment_size > 0 && len > self.fragment_size
    }

    /// Takes in one fragment. Returns the whole message's plaintext and first payload type once
    /// every fragment has arrived; `None` while some are missing or when this one is invalid.
    pub(super) fn take_fragment(
        &mut self,
        data: &[u8],
        message_id: u32,
        skf: &v2::EncryptedFragment<'_>,
    ) -> Option<(Vec<u8>, PayloadType)> {
        if !self.fragmentation || skf.total_fragments > MAX_FRAGMENTS {
            return None;
        }
        // Each fragment is authenticated on its own before it is kept (§2.6).
        let plain = self.keys.as_ref()?.inn.open_fragment(data, skf).ok()?;
        let buf = self.reassembly.get_or_insert_with(Reassembly::default);
        if buf.message_id != message_id || buf.total != skf.total_fragments {
            // A new message (or a retransmission re-fragmented differently): start over.
            *buf = Reassembly {
                message_id,
                total: skf.total_fragments,
                ..Reassembly::default()
            };
        }
        if skf.fragment_number == 1 {
            buf.first_inner = Some(skf.first_inner);
        }
        if !buf.pieces.contains_key(&skf.fragment_number) {
            buf.bytes += plain.len();
            if buf.bytes > MAX_BYTES {
                self.reassembly = None;
                return None;
            }
            buf.pieces.insert(skf.fragment_number, plain);
        }
        if buf.pieces.len() != usize::from(buf.total) {
            return None;
        }
        let first = buf.first_inner?;
        let whole: Vec<u8> = buf.pieces.values().flatten().copied().collect();
        self.reassembly = None;
        Some((whole, first))
    }
}

/// The Encrypted Fragment payload of a message, if it has one.
pub(super) fn skf<'m>(msg: &'m v2::Message<'_>) -> Option<&'m v2::EncryptedFragment<'m>> {
    msg.payloads.iter().find_map(|p| match p {
        Payload::EncryptedFragment(f) => Some(f),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::split_datagrams;

    fn msg(len: usize, tag: u8) -> Vec<u8> {
        let mut m = vec![tag; len];
        m[24..28].copy_from_slice(&u32::try_from(len).unwrap().to_be_bytes());
        m
    }

    #[test]
    fn back_to_back_messages_split_by_their_lengths() {
        let (a, b, c) = (msg(40, 1), msg(28, 2), msg(100, 3));
        let joined = [a.clone(), b.clone(), c.clone()].concat();
        assert_eq!(split_datagrams(joined), vec![a.clone(), b, c]);
        assert_eq!(split_datagrams(a.clone()), vec![a]);
        // Something that is not an IKE message goes out as it is.
        assert_eq!(split_datagrams(vec![0xff]), vec![vec![0xff]]);
    }
}
