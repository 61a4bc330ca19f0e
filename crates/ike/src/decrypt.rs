//! `ike decode --keylog DIR`: decrypting the encrypted parts of captured IKE messages with the
//! keys `ike daemon --keylog DIR` wrote, and adding what they hold to the message's tree.
//!
//! - IKEv2 (RFC 7296 §3.14, RFC 5282 for AEAD, RFC 7383 §2.5 for fragments): the SK_e and
//!   SK_a of the sender (the Initiator flag says which) come from the key log by the message's
//!   SPIs; the ICV (or AEAD tag) is checked before anything is decrypted. An SKF fragment is
//!   checked and decrypted on its own; once every fragment of a message has been, the
//!   reassembled payloads are shown under the last one.
//! - IKEv1 (RFC 2409 Appendix B): the key comes from the key log by the initiator cookie, but
//!   the IV is not in it. It is rebuilt from the capture, in capture order, per ISAKMP SA: the
//!   Phase 1 IV is `hash(g^xi | g^xr)` over the clear KE payloads with the hash of the SA the
//!   responder chose; each encrypted Phase 1 message's last ciphertext block is the IV of the
//!   next; a Quick Mode, Informational or Transaction exchange with message ID M starts from
//!   `hash(last Phase 1 block | M)` and chains the same way. IKEv1 has no integrity check on
//!   the encryption: a wrong key shows as payloads that do not parse.
//!
//! A message whose SPIs or cookie are not in the key log, or whose IV cannot be known from the
//! capture, gets a note and stays encrypted; only a failed check or undecodable plaintext
//! counts as a failure ([`Outcome::Failed`]).

use std::collections::HashMap;
use std::net::IpAddr;

use ike_crypto::cipher::{Cipher, EncrAlg};
use ike_crypto::kdf::v1 as kdf;
use ike_crypto::prf::PrfAlg;
use ike_crypto::CryptoError;
use ike_wire::attr::AttrValue;
use ike_wire::v1::{self, Body, OakleyAttrType, OakleyEncr, OakleyHash};
use ike_wire::v2::{self, PayloadType};
use ike_wire::IkeVersion;

use crate::keytable::{encr_label, integ_label, KeyTable, V2Keys};
use crate::tree::{named, Node};

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing in it is encrypted (or it did not parse at all).
    Clear,
    /// Decrypted and shown.
    Decrypted,
    /// Its SPIs (IKEv2) or initiator cookie (IKEv1) are not in the key log.
    NotInKeyLog,
    /// IKEv1: the IV cannot be known from the capture, or the negotiated cipher is one this
    /// tool does not implement.
    CannotDecrypt,
    /// The ICV or AEAD tag did not verify, or the plaintext does not decode: a wrong key.
    Failed,
}

/// Decrypts the messages of one capture, in capture order.
#[derive(Debug)]
pub struct Decryptor {
    keys: KeyTable,
    v1: HashMap<[u8; 8], V1Sa>,
    /// IKEv2 fragments decrypted so far, by message.
    fragments: HashMap<FragmentKey, Fragments>,
}

/// The fragments of one IKEv2 message decrypted so far.
#[derive(Debug, Default)]
struct Fragments {
    /// The first inner payload's type, from fragment 1.
    first: Option<PayloadType>,
    /// Each fragment's plaintext, by number.
    parts: Vec<Option<Vec<u8>>>,
}

/// Which message an SKF fragment belongs to: SPIs, message ID, Initiator and Response flags.
type FragmentKey = ([u8; 8], [u8; 8], u32, bool, bool);

impl Decryptor {
    /// A decryptor with the keys of a key log.
    pub fn new(keys: KeyTable) -> Self {
        Self {
            keys,
            v1: HashMap::new(),
            fragments: HashMap::new(),
        }
    }

    /// Decrypts what it can of one message (`bytes`, sent from `src` if known) and adds it to
    /// the message's `tree` (what [`crate::tree::message_tree`] made of the same bytes).
    /// Messages must come in capture order: IKEv1 IVs chain from one message to the next.
    pub fn process(&mut self, bytes: &[u8], src: Option<IpAddr>, tree: &mut Node) -> Outcome {
        match ike_wire::peek_version(bytes) {
            Ok(IkeVersion::V2) => self.v2(bytes, tree),
            Ok(IkeVersion::V1) => self.v1(bytes, src, tree),
            _ => Outcome::Clear,
        }
    }

    fn v2(&mut self, bytes: &[u8], tree: &mut Node) -> Outcome {
        let Ok(m) = v2::Message::decode(bytes) else {
            return Outcome::Clear;
        };
        let (body, first_inner, fragment) = match m.payloads.last() {
            Some(v2::Payload::Encrypted(e)) => (e.body, e.first_inner, None),
            Some(v2::Payload::EncryptedFragment(f)) => (
                f.body,
                f.first_inner,
                Some((f.fragment_number, f.total_fragments)),
            ),
            _ => return Outcome::Clear,
        };
        // The SK or SKF payload is the last payload, so its node is the tree's last child.
        let Some(node) = tree.children.last_mut().filter(|n| n.name == "Payload") else {
            return Outcome::Clear;
        };
        let h = &m.header;
        let Some(keys) = self.keys.v2.get(&(h.spi_i, h.spi_r)) else {
            node.children.push(Node::leaf(
                "Decryption",
                format!(
                    "not decrypted: SPIs {} / {} are not in the key log",
                    hex::encode(h.spi_i),
                    hex::encode(h.spi_r)
                ),
            ));
            return Outcome::NotInKeyLog;
        };
        let initiator = h.flags.initiator();
        let names = if keys.encr.is_aead() {
            format!(
                "{} from {} ({})",
                if initiator { "SK_ei" } else { "SK_er" },
                keys.source,
                encr_label(keys.encr)
            )
        } else {
            format!(
                "{} and {} from {} ({}, {})",
                if initiator { "SK_ei" } else { "SK_er" },
                if initiator { "SK_ai" } else { "SK_ar" },
                keys.source,
                encr_label(keys.encr),
                integ_label(keys.integ)
            )
        };
        let check = if keys.encr.is_aead() {
            "AEAD tag"
        } else {
            "integrity checksum"
        };
        let opened = match open_v2(keys, initiator, bytes, body) {
            Ok(o) => o,
            Err(V2Error::Integrity) => {
                node.children.push(Node::leaf(
                    "Decryption",
                    format!("integrity check failed: wrong key in the key log? (tried {names})"),
                ));
                return Outcome::Failed;
            }
            Err(V2Error::Malformed(why)) => {
                node.children.push(Node::leaf(
                    "Decryption",
                    format!("failed: {why} (tried {names})"),
                ));
                return Outcome::Failed;
            }
        };
        let Some((number, total)) = fragment else {
            node.children.push(Node::leaf(
                "Decryption",
                format!("{check} correct; decrypted with {names}"),
            ));
            node.children.push(Node::leaf("Pad length", opened.pad_len));
            return push_v2_payloads(node, first_inner, &opened.plain, opened.offset);
        };
        node.children.push(Node::leaf(
            "Decryption",
            format!(
                "fragment {number} of {total}, decrypted on its own: {check} correct; \
                 decrypted with {names}"
            ),
        ));
        node.children.push(Node::leaf("Pad length", opened.pad_len));
        node.children.push(Node::leaf(
            "Decrypted data",
            format!(
                "{} bytes (part of the fragmented message)",
                opened.plain.len()
            ),
        ));
        // Reassembly (RFC 7383 §2.6): once every fragment is in, decode the whole.
        let key = (
            h.spi_i,
            h.spi_r,
            h.message_id,
            initiator,
            h.flags.response(),
        );
        let frags = self.fragments.entry(key).or_default();
        if frags.parts.len() != usize::from(total) {
            // The first fragment seen, or a retransmission cut differently: start over.
            *frags = Fragments {
                first: None,
                parts: vec![None; usize::from(total)],
            };
        }
        if number == 1 {
            frags.first = Some(first_inner);
        }
        if let Some(slot) = frags.parts.get_mut(usize::from(number).saturating_sub(1)) {
            *slot = Some(opened.plain);
        }
        if let (Some(first), true) = (frags.first, frags.parts.iter().all(Option::is_some)) {
            let whole: Vec<u8> = frags.parts.iter().flatten().flatten().copied().collect();
            self.fragments.remove(&key);
            let mut r = Node::branch(
                "Reassembled message",
                format!("{total} fragments, {} bytes", whole.len()),
                Vec::new(),
            );
            let outcome = push_v2_payloads(&mut r, first, &whole, 0);
            node.children.push(r);
            return outcome;
        }
        Outcome::Decrypted
    }
}

/// Why an SK payload did not open.
enum V2Error {
    /// The ICV or AEAD tag does not verify.
    Integrity,
    /// The payload cannot be what the key log's algorithms make (too short, bad padding).
    Malformed(String),
}

/// An opened SK or SKF payload.
struct Opened {
    /// The inner payloads (padding and Pad Length removed).
    plain: Vec<u8>,
    /// The Pad Length field.
    pad_len: usize,
    /// Where the plaintext starts in the message (for error offsets).
    offset: usize,
}

/// Checks and decrypts the body of the SK or SKF payload that ends `datagram` with the keys of
/// the sender: the original initiator's (SK_ei, SK_ai) if `initiator`, else the responder's.
fn open_v2(
    keys: &V2Keys,
    initiator: bool,
    datagram: &[u8],
    body: &[u8],
) -> Result<Opened, V2Error> {
    let (ek, ak) = if initiator {
        (&keys.sk_ei, &keys.sk_ai)
    } else {
        (&keys.sk_er, &keys.sk_ar)
    };
    let alg = keys.encr;
    let bad_key = |e: CryptoError| V2Error::Malformed(format!("the key does not fit: {e}"));
    let cipher = Cipher::new(alg, ek.expose()).map_err(bad_key)?;
    let icv_len = if alg.is_aead() {
        alg.icv_len()
    } else {
        keys.integ.map_or(0, |i| i.output_len())
    };
    let iv_len = alg.iv_len();
    // The SK payload is last: its body ends the datagram.
    let body_offset = datagram.len().saturating_sub(body.len());
    let (Some(iv), Some(rest)) = (body.get(..iv_len), body.get(iv_len..)) else {
        return Err(V2Error::Malformed(format!(
            "the encrypted data ({} bytes) is shorter than the IV and ICV",
            body.len()
        )));
    };
    if rest.len() < icv_len {
        return Err(V2Error::Malformed(format!(
            "the encrypted data ({} bytes) is shorter than the IV and ICV",
            body.len()
        )));
    }
    let mut plain = if alg.is_aead() {
        // RFC 5282 §5.1: the associated data is the IKE header and the SK payload header.
        let aad = datagram.get(..body_offset).unwrap_or_default();
        match cipher.open(iv, aad, rest) {
            Ok(p) => p,
            Err(CryptoError::IntegrityFailure) => return Err(V2Error::Integrity),
            Err(e) => return Err(V2Error::Malformed(e.to_string())),
        }
    } else {
        let Some(integ) = keys.integ else {
            return Err(V2Error::Malformed("no integrity algorithm".into()));
        };
        let integ = ike_crypto::cipher::Integrity::new(integ, ak.expose()).map_err(bad_key)?;
        let covered_len = datagram.len().saturating_sub(icv_len);
        let covered = datagram.get(..covered_len).unwrap_or_default();
        let icv = datagram.get(covered_len..).unwrap_or_default();
        integ.verify(covered, icv).map_err(|_| V2Error::Integrity)?;
        let ct = rest.get(..rest.len() - icv_len).unwrap_or_default();
        let block = alg.block_len().max(1);
        if ct.is_empty() || ct.len() % block != 0 {
            return Err(V2Error::Malformed(format!(
                "the ciphertext ({} bytes) is not a whole number of {block}-byte blocks",
                ct.len()
            )));
        }
        let mut data = ct.to_vec();
        cipher
            .decrypt(iv, &mut data)
            .map_err(|e| V2Error::Malformed(e.to_string()))?;
        data
    };
    let pad_len = usize::from(plain.last().copied().unwrap_or_default());
    let Some(keep) = plain.len().checked_sub(pad_len + 1) else {
        return Err(V2Error::Malformed(format!(
            "the Pad Length ({pad_len}) is longer than the decrypted data ({} bytes)",
            plain.len()
        )));
    };
    plain.truncate(keep);
    Ok(Opened {
        plain,
        pad_len,
        offset: body_offset + iv_len,
    })
}

/// Decodes an inner payload chain and adds its payloads (or the decode error) to `node`.
fn push_v2_payloads(node: &mut Node, first: PayloadType, plain: &[u8], offset: usize) -> Outcome {
    match v2::decode_payloads(first, plain, offset) {
        Ok(payloads) => {
            node.children
                .extend(payloads.iter().map(crate::tree::v2_payload));
            Outcome::Decrypted
        }
        Err(e) => {
            node.children.push(Node::leaf(
                "error",
                format!(
                    "the decrypted payloads do not decode: {} (at byte offset {})",
                    e.kind, e.offset
                ),
            ));
            Outcome::Failed
        }
    }
}

/// What the capture told about one ISAKMP SA so far (RFC 2409 Appendix B).
#[derive(Debug, Default)]
struct V1Sa {
    /// Where message 1 came from: the initiator.
    initiator: Option<IpAddr>,
    /// The cipher and hash of the transform the responder chose, or why they cannot be used.
    suite: Option<Result<(EncrAlg, PrfAlg), String>>,
    /// The KE payloads of Phase 1: g^xi and g^xr.
    gxi: Option<Vec<u8>>,
    gxr: Option<Vec<u8>>,
    /// While Phase 1 runs, the IV of its next encrypted message; after, its last CBC block.
    p1_iv: Option<Vec<u8>>,
    /// The IV of the next message of each Phase 2 exchange, by message ID.
    p2: HashMap<u32, Vec<u8>>,
    /// The IV each ciphertext was decrypted with: a retransmission is decrypted again with it
    /// and moves no chain.
    seen: HashMap<Vec<u8>, Vec<u8>>,
}

fn is_phase1(e: v1::ExchangeType) -> bool {
    matches!(
        e,
        v1::ExchangeType::Base
            | v1::ExchangeType::IdentityProtection
            | v1::ExchangeType::Aggressive
    )
}

/// The cipher and hash of a Phase 1 transform's Oakley attributes (RFC 2409 Appendix A).
fn suite_of(t: &v1::Transform<'_>) -> Result<(EncrAlg, PrfAlg), String> {
    let basic = |ty: OakleyAttrType| {
        t.attribute(ty.value()).and_then(|a| match a.value {
            AttrValue::Basic(v) => Some(v),
            AttrValue::Variable(_) => a.as_u64().and_then(|v| u16::try_from(v).ok()),
        })
    };
    let encr = basic(OakleyAttrType::Encryption)
        .map(OakleyEncr::from)
        .ok_or("the chosen transform has no Encryption Algorithm")?;
    let hash = basic(OakleyAttrType::Hash)
        .map(OakleyHash::from)
        .ok_or("the chosen transform has no Hash Algorithm")?;
    let encr = EncrAlg::from_ikev1(encr, basic(OakleyAttrType::KeyLength)).map_err(|_| {
        format!(
            "the negotiated cipher {} is not implemented here",
            named(encr.name(), encr.value())
        )
    })?;
    let prf = PrfAlg::from_ikev1_hash(hash).map_err(|_| {
        format!(
            "the negotiated hash {} is not implemented here",
            named(hash.name(), hash.value())
        )
    })?;
    Ok((encr, prf))
}

impl Decryptor {
    fn v1(&mut self, bytes: &[u8], src: Option<IpAddr>, tree: &mut Node) -> Outcome {
        let Ok(m) = v1::Message::decode(bytes) else {
            return Outcome::Clear;
        };
        let h = &m.header;
        let sa = self.v1.entry(h.icookie).or_default();
        let ciphertext = match &m.body {
            Body::Plain(payloads) => {
                if is_phase1(h.exchange) && h.message_id == 0 {
                    sa.learn(h, src, payloads);
                }
                return Outcome::Clear;
            }
            Body::Encrypted { ciphertext, .. } => *ciphertext,
        };
        let Some(node) = tree
            .children
            .iter_mut()
            .rev()
            .find(|n| n.name == "Encrypted payloads")
        else {
            return Outcome::Clear;
        };
        let Some(key) = self.keys.v1.get(&h.icookie) else {
            node.children.push(Node::leaf(
                "Decryption",
                format!(
                    "not decrypted: the initiator cookie {} is not in the key log",
                    hex::encode(h.icookie)
                ),
            ));
            return Outcome::NotInKeyLog;
        };
        let (encr, prf) = match &sa.suite {
            Some(Ok(s)) => *s,
            Some(Err(why)) => {
                node.children
                    .push(Node::leaf("Decryption", format!("not decrypted: {why}")));
                return Outcome::CannotDecrypt;
            }
            None => {
                node.children.push(Node::leaf(
                    "Decryption",
                    "IV unknown (the capture misses the start of Phase 1)",
                ));
                return Outcome::CannotDecrypt;
            }
        };
        let block = encr.block_len().max(1);
        let phase1 = is_phase1(h.exchange) && h.message_id == 0;
        let iv = if let Some(iv) = sa.seen.get(ciphertext) {
            Some(iv.clone())
        } else if phase1 {
            sa.p1_iv.clone()
        } else if let Some(iv) = sa.p2.get(&h.message_id) {
            Some(iv.clone())
        } else {
            sa.p1_iv
                .as_ref()
                .and_then(|last| kdf::phase2_iv(prf, last, h.message_id, block).ok())
        };
        let Some(iv) = iv else {
            node.children.push(Node::leaf(
                "Decryption",
                if sa.gxi.is_some() || sa.gxr.is_some() {
                    // The SA was seen but not both KE payloads: missed, or (public-key
                    // encryption, RFC 2409 §5.2-5.3) not in the clear.
                    "IV unknown (the capture has no clear KE payloads of both peers in Phase 1)"
                } else {
                    "IV unknown (the capture misses the start of Phase 1)"
                },
            ));
            return Outcome::CannotDecrypt;
        };
        // The next IV is the last ciphertext block whatever the key: the chain moves on even
        // when this message does not decrypt.
        if !sa.seen.contains_key(ciphertext) {
            if let Some(last) = ciphertext
                .len()
                .checked_sub(block)
                .and_then(|s| ciphertext.get(s..))
            {
                if phase1 {
                    sa.p1_iv = Some(last.to_vec());
                } else {
                    sa.p2.insert(h.message_id, last.to_vec());
                }
            }
            sa.seen.insert(ciphertext.to_vec(), iv.clone());
        }
        let names = format!("the key from {} ({})", key.source, v1_cipher_name(encr));
        let cipher = match Cipher::new(encr, key.key.expose()) {
            Ok(c) => c,
            Err(_) => {
                node.children.push(Node::leaf(
                    "Decryption",
                    format!(
                        "failed: the key from {} is {} bytes, the negotiated {} takes {}: wrong \
                         key in the key log?",
                        key.source,
                        key.key.len(),
                        v1_cipher_name(encr),
                        encr.key_len()
                    ),
                ));
                return Outcome::Failed;
            }
        };
        if ciphertext.is_empty() || ciphertext.len() % block != 0 {
            node.children.push(Node::leaf(
                "Decryption",
                format!(
                    "failed: the ciphertext ({} bytes) is not a whole number of {block}-byte \
                     blocks",
                    ciphertext.len()
                ),
            ));
            return Outcome::Failed;
        }
        let mut plain = ciphertext.to_vec();
        if let Err(e) = cipher.decrypt(&iv, &mut plain) {
            node.children
                .push(Node::leaf("Decryption", format!("failed: {e}")));
            return Outcome::Failed;
        }
        let first = m.first_payload_type();
        match v1::decode_payloads(first, &plain, ike_wire::HEADER_LEN, v1::Padding::Allowed) {
            Ok(chain) => {
                node.children.push(Node::leaf(
                    "Decryption",
                    format!(
                        "decrypted with {names}; IV from {}",
                        if phase1 {
                            "the Phase 1 chain"
                        } else {
                            "the Phase 1 chain and the message ID"
                        }
                    ),
                ));
                node.children
                    .push(Node::leaf("Padding", format!("{} bytes", chain.padding)));
                node.children
                    .extend(chain.payloads.iter().map(crate::tree_v1::v1_payload));
                Outcome::Decrypted
            }
            Err(e) => {
                node.children.push(Node::leaf(
                    "Decryption",
                    format!(
                        "failed: the decrypted payloads do not parse ({} at byte offset {}): \
                         wrong key in the key log? (tried {names})",
                        e.kind, e.offset
                    ),
                ));
                Outcome::Failed
            }
        }
    }
}

fn v1_cipher_name(e: EncrAlg) -> String {
    match e {
        EncrAlg::AesCbc { key_bits } => format!("AES-CBC-{key_bits}"),
        EncrAlg::TripleDesCbc => "3DES-CBC".to_owned(),
        other => format!("{other:?}"),
    }
}

impl V1Sa {
    /// Takes what the IV needs from a clear Phase 1 message: who the initiator is, the chosen
    /// transform, and the KE payloads.
    fn learn(&mut self, h: &v1::Header, src: Option<IpAddr>, payloads: &[v1::Payload<'_>]) {
        let first_message = h.rcookie == [0; 8];
        if first_message && self.initiator.is_none() {
            self.initiator = src;
        }
        // Who sent it: by address once message 1 was seen, else by cookies and order.
        let from_initiator = match (self.initiator, src) {
            (Some(i), Some(s)) => Some(i == s),
            _ if first_message => Some(true),
            _ => None,
        };
        for p in payloads {
            match p {
                // Message 1 offers, message 2 (both cookies set) holds the chosen transform.
                v1::Payload::Sa(sa)
                    if !first_message && from_initiator != Some(true) && self.suite.is_none() =>
                {
                    self.suite = Some(
                        sa.proposals
                            .first()
                            .and_then(|p| p.transforms.first())
                            .ok_or_else(|| "the responder's SA payload is empty".to_owned())
                            .and_then(suite_of),
                    );
                }
                v1::Payload::Ke(data) => {
                    let data = data.to_vec();
                    match from_initiator {
                        Some(true) => {
                            self.gxi.get_or_insert(data);
                        }
                        Some(false) => {
                            self.gxr.get_or_insert(data);
                        }
                        // In capture order the initiator's KE comes first.
                        None => {
                            if self.gxi.is_none() {
                                self.gxi = Some(data);
                            } else if self.gxr.is_none() && self.gxi.as_ref() != Some(&data) {
                                self.gxr = Some(data);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let (None, Some(Ok((encr, prf))), Some(gxi), Some(gxr)) =
            (&self.p1_iv, &self.suite, &self.gxi, &self.gxr)
        {
            self.p1_iv = kdf::phase1_iv(*prf, gxi, gxr, encr.block_len()).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike_crypto::cipher::IntegAlg;
    use ike_crypto::Secret;

    fn table() -> KeyTable {
        let mut t = KeyTable::default();
        t.v2.insert(
            ([1; 8], [2; 8]),
            V2Keys {
                encr: EncrAlg::AesCbc { key_bits: 128 },
                integ: Some(IntegAlg::HmacSha256_128),
                sk_ei: Secret::new(vec![3; 16]),
                sk_er: Secret::new(vec![4; 16]),
                sk_ai: Secret::new(vec![5; 32]),
                sk_ar: Secret::new(vec![6; 32]),
                source: "t:1".into(),
            },
        );
        t.v2.insert(
            ([1; 8], [3; 8]),
            V2Keys {
                encr: EncrAlg::AesGcm {
                    key_bits: 128,
                    icv_len: 16,
                },
                integ: None,
                sk_ei: Secret::new(vec![3; 20]),
                sk_er: Secret::new(vec![4; 20]),
                sk_ai: Secret::new(Vec::new()),
                sk_ar: Secret::new(Vec::new()),
                source: "t:2".into(),
            },
        );
        t
    }

    /// An IKEv2 message of SPIs (1.., spi_r) whose last payload is SK (or SKF) with `body`.
    fn message(spi_r: u8, fragment: Option<(u16, u16)>, body: &[u8]) -> Vec<u8> {
        let extra = if fragment.is_some() { 4 } else { 0 };
        let len = 28 + 4 + extra + body.len();
        let mut m = vec![1; 8];
        m.extend([spi_r; 8]);
        m.push(if fragment.is_some() { 53 } else { 46 });
        m.extend([0x20, 35, 0x08]);
        m.extend(1u32.to_be_bytes());
        m.extend(u32::try_from(len).unwrap().to_be_bytes());
        m.extend([35, 0]);
        m.extend(u16::try_from(4 + extra + body.len()).unwrap().to_be_bytes());
        if let Some((n, t)) = fragment {
            m.extend(n.to_be_bytes());
            m.extend(t.to_be_bytes());
        }
        m.extend(body);
        m
    }

    proptest::proptest! {
        /// Whatever an SK or SKF payload holds, decrypting it fails cleanly.
        #[test]
        fn no_sk_payload_panics(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            spi_r in 2u8..4,
            fragment in proptest::option::of((1u16..4, 3u16..4)),
        ) {
            let bytes = message(spi_r, fragment, &body);
            let mut tree = crate::tree::message_tree(&bytes).unwrap();
            let mut d = Decryptor::new(table());
            let outcome = d.process(&bytes, None, &mut tree);
            proptest::prop_assert!(matches!(outcome, Outcome::Failed), "{outcome:?}");
        }

        /// Whatever an encrypted IKEv1 message holds after a Phase 1 seen in the clear, the
        /// decryptor does not panic.
        #[test]
        fn no_v1_ciphertext_panics(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            mid in proptest::prelude::any::<u32>(),
        ) {
            let mut t = table();
            t.v1.insert([1; 8], crate::keytable::V1Key { key: Secret::new(vec![7; 32]), source: "t:3".into() });
            let mut d = Decryptor::new(t);
            let sa = d.v1.entry([1; 8]).or_default();
            sa.suite = Some(Ok((EncrAlg::AesCbc { key_bits: 256 }, PrfAlg::HmacSha256)));
            sa.p1_iv = Some(vec![0; 16]);
            let mut m = vec![1; 8];
            m.extend([2; 8]);
            m.extend([8, 0x10, if mid == 0 { 2 } else { 32 }, 1]);
            m.extend(mid.to_be_bytes());
            m.extend(u32::try_from(28 + body.len()).unwrap().to_be_bytes());
            m.extend(&body);
            let mut tree = crate::tree::message_tree(&m).unwrap();
            let _ = d.process(&m, None, &mut tree);
        }
    }
}
