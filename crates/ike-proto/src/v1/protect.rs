//! Building, encrypting and decrypting ISAKMP messages (RFC 2408 §3.1, RFC 2409 Appendix B).
//!
//! Encrypted messages are CBC over the payload chain padded with zeros to the cipher's block,
//! at least one byte (a whole block when the chain is aligned), as strongSwan pads; nothing in
//! IKEv1 says how long the padding is, so the receiver finds the end of the chain from the
//! payload lengths. Each message's IV is the last ciphertext block of the previous message
//! of its exchange; the first message of a Quick Mode or Informational exchange starts from
//! `hash(last Phase 1 CBC block | M-ID)`. The caller commits an IV only after the message that
//! produced it was authenticated, so a forged message cannot desynchronise an exchange.

use ike_crypto::cipher::Cipher;
use ike_wire::v1::{ExchangeType, Flags, PayloadType, VERSION};

/// A payload chain under construction: each payload's generic header is written as it is
/// added and the previous header's Next Payload is patched to it.
#[derive(Default)]
pub(crate) struct Chain {
    pub(crate) buf: Vec<u8>,
    first: u8,
    last: Option<usize>,
}

impl Chain {
    /// Appends a payload of type `t` with `body`.
    pub(crate) fn add(&mut self, t: PayloadType, body: &[u8]) -> &mut Self {
        match self.last.and_then(|at| self.buf.get_mut(at)) {
            Some(np) => *np = t.value(),
            None => self.first = t.value(),
        }
        let at = self.buf.len();
        let len = u16::try_from(body.len() + 4).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(body);
        self.last = Some(at);
        self
    }

    /// The type of the first payload.
    pub(crate) fn first(&self) -> u8 {
        self.first
    }
}

/// The ISAKMP header of a message whose body (after the header) is `body_len` bytes.
pub(crate) fn header(
    cookies: ([u8; 8], [u8; 8]),
    first: u8,
    exchange: ExchangeType,
    flags: u8,
    message_id: u32,
    body_len: usize,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(28 + body_len);
    h.extend_from_slice(&cookies.0);
    h.extend_from_slice(&cookies.1);
    h.push(first);
    h.push(VERSION);
    h.push(exchange.value());
    h.push(flags);
    h.extend_from_slice(&message_id.to_be_bytes());
    let len = u32::try_from(28 + body_len).unwrap_or(u32::MAX);
    h.extend_from_slice(&len.to_be_bytes());
    h
}

/// A message in the clear.
pub(crate) fn plain(
    cookies: ([u8; 8], [u8; 8]),
    exchange: ExchangeType,
    message_id: u32,
    chain: &Chain,
) -> Vec<u8> {
    plain_flags(cookies, exchange, 0, message_id, chain)
}

/// A message in the clear with header flags (the Authentication Only bit).
pub(crate) fn plain_flags(
    cookies: ([u8; 8], [u8; 8]),
    exchange: ExchangeType,
    flags: u8,
    message_id: u32,
    chain: &Chain,
) -> Vec<u8> {
    let mut m = header(
        cookies,
        chain.first(),
        exchange,
        flags,
        message_id,
        chain.buf.len(),
    );
    m.extend_from_slice(&chain.buf);
    m
}

/// An encrypted message and the IV that follows it (its last ciphertext block).
pub(crate) fn encrypted(
    cipher: &Cipher,
    iv: &[u8],
    cookies: ([u8; 8], [u8; 8]),
    exchange: ExchangeType,
    extra_flags: u8,
    message_id: u32,
    chain: &Chain,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let block = cipher.alg().block_len().max(1);
    let mut body = chain.buf.clone();
    let pad = block - body.len() % block;
    body.resize(body.len() + pad, 0);
    cipher.encrypt(iv, &mut body).ok()?;
    let next_iv = body.get(body.len().checked_sub(block)?..)?.to_vec();
    let mut m = header(
        cookies,
        chain.first(),
        exchange,
        Flags::ENCRYPTION | extra_flags,
        message_id,
        body.len(),
    );
    m.extend_from_slice(&body);
    Some((m, next_iv))
}

/// Decrypts the body of an encrypted message; returns the plaintext (payloads and padding) and
/// the IV that follows the message. `None` if the body is not a whole number of blocks.
pub(crate) fn decrypt(cipher: &Cipher, iv: &[u8], ciphertext: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let block = cipher.alg().block_len().max(1);
    if ciphertext.is_empty() || ciphertext.len() % block != 0 {
        return None;
    }
    let next_iv = ciphertext.get(ciphertext.len() - block..)?.to_vec();
    let mut plain = ciphertext.to_vec();
    cipher.decrypt(iv, &mut plain).ok()?;
    Some((plain, next_iv))
}

/// Each payload of a chain: (type, start of its generic header, end).
pub(crate) type Layout = Vec<(u8, usize, usize)>;

/// Where each payload of a chain lies: (type, start of its generic header, end), and where the
/// chain ends (padding follows). `None` if a length runs past the buffer.
pub(crate) fn layout(first: u8, buf: &[u8]) -> Option<(Layout, usize)> {
    let mut out = Vec::new();
    let mut next = first;
    let mut at = 0usize;
    while next != 0 {
        let np = *buf.get(at)?;
        let len = usize::from(u16::from_be_bytes([*buf.get(at + 2)?, *buf.get(at + 3)?]));
        if len < 4 || at + len > buf.len() {
            return None;
        }
        out.push((next, at, at + len));
        next = np;
        at += len;
    }
    Some((out, at))
}

/// The body (without generic header) of the `i`th payload of a layout.
pub(crate) fn body_of<'a>(buf: &'a [u8], l: &[(u8, usize, usize)], i: usize) -> &'a [u8] {
    l.get(i)
        .and_then(|(_, s, e)| buf.get(s + 4..*e))
        .unwrap_or_default()
}

/// The first payload of a message body of type `t` (its body).
pub(crate) fn find_body<'a>(
    buf: &'a [u8],
    l: &[(u8, usize, usize)],
    t: PayloadType,
) -> Option<&'a [u8]> {
    l.iter()
        .position(|(ty, _, _)| *ty == t.value())
        .map(|i| body_of(buf, l, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike_crypto::cipher::EncrAlg;

    #[test]
    fn chain_layout_and_cbc_round_trip() {
        let mut c = Chain::default();
        c.add(PayloadType::Hash, &[1; 20])
            .add(PayloadType::Nonce, &[2; 17]);
        let (l, end) = layout(c.first(), &c.buf).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(end, c.buf.len());
        assert_eq!(body_of(&c.buf, &l, 1), &[2; 17]);
        let cipher = Cipher::new(EncrAlg::AesCbc { key_bits: 128 }, &[7; 16]).unwrap();
        let iv = [9u8; 16];
        let (m, next) = encrypted(
            &cipher,
            &iv,
            ([1; 8], [2; 8]),
            ExchangeType::QuickMode,
            0,
            5,
            &c,
        )
        .unwrap();
        assert_eq!(m.len() % 16, 28 % 16);
        assert_eq!(&m[m.len() - 16..], &next[..]);
        let (plain, next2) = decrypt(&cipher, &iv, &m[28..]).unwrap();
        assert_eq!(next, next2);
        assert_eq!(&plain[..c.buf.len()], &c.buf[..]);
        let msg = ike_wire::v1::Message::decode(&m).unwrap();
        assert_eq!(msg.header.message_id, 5);
        assert!(msg.header.flags.encryption());
    }
}
