//! IKEv1 Phase 1 authenticated with public-key encryption (RFC 2409 §5.2) and its revised mode
//! (§5.3), engine to engine: Main Mode with loss, the refusals (a key we do not hold, HASH(1)
//! naming another certificate), and the padding-oracle test: valid and invalid PKCS#1
//! ciphertexts in message 3 get the same reaction. No third-party IKEv1 peer implements these
//! methods, so there is no interop test.

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{endpoints_of, installs, A, B};
use ike_crypto::pke::PkeDecryptor;
use ike_crypto::rng::SeededRng;
use ike_proto::config::V1Exchange;
use ike_proto::v2::{AuthMethod, Endpoint, EndpointConfig, Event};
use ike_testkit::sim::{Faults, Pair};
use pki::{pki, Issued};

/// Our side of public-key encryption with `ours`, the peer's with `theirs`.
fn pke(ours: &Issued, theirs: &Issued, revised: bool) -> (AuthMethod, AuthMethod) {
    (
        AuthMethod::PkeKey {
            decryptor: Arc::new(PkeDecryptor::from_private_key(&ours.private_key()).unwrap()),
            cert: ours.certificate(),
            revised,
        },
        AuthMethod::PkePeer {
            cert: theirs.certificate(),
            revised,
        },
    )
}

fn endpoints(
    a: (AuthMethod, AuthMethod),
    b: (AuthMethod, AuthMethod),
    seed: u64,
) -> (Endpoint, Endpoint) {
    endpoints_mode(a, b, seed, false)
}

fn endpoints_mode(
    a: (AuthMethod, AuthMethod),
    b: (AuthMethod, AuthMethod),
    seed: u64,
    aggressive: bool,
) -> (Endpoint, Endpoint) {
    let mut pa = common::v1_peer(
        "site-b",
        B,
        ("a.example.org", "b.example.org"),
        a,
        ("10.88.1.0/24", "10.88.2.0/24"),
    );
    let mut pb = common::v1_peer(
        "site-a",
        A,
        ("b.example.org", "a.example.org"),
        b,
        ("10.88.2.0/24", "10.88.1.0/24"),
    );
    pa.exchange = V1Exchange::main_or_aggressive(aggressive);
    pb.exchange = V1Exchange::main_or_aggressive(aggressive);
    endpoints_of(EndpointConfig::default(), pa, pb, seed)
}

fn pair(
    a: (AuthMethod, AuthMethod),
    b: (AuthMethod, AuthMethod),
    faults: Faults,
    seed: u64,
) -> Pair {
    let (ea, eb) = endpoints(a, b, seed);
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

fn up(p: &mut Pair) -> bool {
    common::initiate(p);
    p.run_until(Duration::from_secs(120), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    })
}

#[test]
fn main_mode_with_public_key_encryption_both_modes() {
    let k = pki();
    for revised in [false, true] {
        for seed in 0..4u64 {
            let faults = if seed == 0 {
                Faults::none()
            } else {
                Faults {
                    loss: 0.2,
                    duplicate: 0.1,
                    ..Faults::none()
                }
            };
            let mut p = pair(
                pke(&k.a_rsa, &k.b_rsa, revised),
                pke(&k.b_rsa, &k.a_rsa, revised),
                faults,
                700 + seed,
            );
            assert!(up(&mut p), "revised {revised} seed {seed}");
            let (ia, ib) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
            assert_eq!(ia.spi_out, ib.spi_in);
            assert_eq!(ia.keys_out.0.expose(), ib.keys_in.0.expose());
            let ids: Vec<_> = p
                .events_b
                .iter()
                .filter_map(|e| match e {
                    Event::IkeSaEstablished { remote_id, .. } => Some(remote_id.to_string()),
                    _ => None,
                })
                .collect();
            assert_eq!(ids, ["a.example.org"]);
            if seed == 0 {
                // Main Mode 6 messages, Quick Mode 3; messages 3 and 4 in the clear but with
                // no identity in sight, 5 and 6 encrypted.
                assert_eq!(p.log.len(), 9);
                for m in &p.log[2..4] {
                    let text = String::from_utf8_lossy(&m.payload);
                    assert!(!text.contains("example.org"), "an identity in the clear");
                    assert_eq!(m.payload[19] & 1, 0, "messages 3 and 4 are not encrypted");
                }
                assert_eq!(p.log[4].payload[19] & 1, 1);
            }
        }
    }
}

/// Aggressive Mode (RFC 2409 §5.2, §5.3): message 1 carries the encrypted nonce and identity
/// (and in the revised mode the KE under Ke_i), message 2 the responder's and HASH_R, message 3
/// HASH_I. One suite is offered (the cipher and hash cannot be negotiated).
#[test]
fn aggressive_mode_with_public_key_encryption_both_modes() {
    let k = pki();
    for revised in [false, true] {
        for seed in 0..3u64 {
            let faults = if seed == 0 {
                Faults::none()
            } else {
                Faults {
                    loss: 0.2,
                    duplicate: 0.1,
                    ..Faults::none()
                }
            };
            let (ea, eb) = endpoints_mode(
                pke(&k.a_rsa, &k.b_rsa, revised),
                pke(&k.b_rsa, &k.a_rsa, revised),
                760 + seed,
                true,
            );
            let mut p = Pair::new(
                ea,
                eb,
                A.parse().unwrap(),
                B.parse().unwrap(),
                faults,
                760 + seed,
            );
            assert!(up(&mut p), "revised {revised} seed {seed}");
            let (ia, ib) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
            assert_eq!(ia.keys_out.0.expose(), ib.keys_in.0.expose());
            if seed == 0 {
                assert_eq!(p.log.len(), 6, "Aggressive Mode 3 messages, Quick Mode 3");
                assert_eq!(p.log[0].payload[18], 4, "Aggressive Mode");
                for m in &p.log[..2] {
                    let text = String::from_utf8_lossy(&m.payload);
                    assert!(!text.contains("example.org"), "an identity in the clear");
                }
            }
        }
    }
}

/// The responder configured with a certificate for the initiator whose key the initiator does
/// not hold: it encrypts message 4 to that key; the initiator cannot read the nonce, the keys
/// differ, and no SA comes up on either side. The initiator encrypting to a certificate that
/// is not the responder's is told by HASH(1) and refused at once.
#[test]
fn wrong_keys_never_establish() {
    let k = pki();
    for revised in [false, true] {
        let mut p = pair(
            pke(&k.a_rsa, &k.b_rsa, revised),
            pke(&k.b_rsa, &k.a_rogue, revised),
            Faults::none(),
            720,
        );
        assert!(!up(&mut p));
        assert!(!common::established(&p.events_a) && !common::established(&p.events_b));
        let mut p = pair(
            pke(&k.a_rsa, &k.b_rogue, revised),
            pke(&k.b_rsa, &k.a_rsa, revised),
            Faults::none(),
            730,
        );
        assert!(!up(&mut p));
        assert!(!common::established(&p.events_b));
        p.a.audit().unwrap();
        p.b.audit().unwrap();
    }
}

/// Bleichenbacher: the responder must react the same to a message 3 (Aggressive Mode: 1) whose
/// nonce ciphertext has
/// valid PKCS#1 padding (around a nonce other than the initiator's) and to one whose padding is
/// invalid. For each of many ciphertexts of both kinds, a fresh responder gets the honest
/// message 3 with only the nonce ciphertext replaced, then the initiator's later messages; what
/// the responder sends back (count and sizes of datagrams) and whether an SA comes up must not
/// depend on the kind.
#[test]
fn valid_and_invalid_padding_get_the_same_reaction() {
    let k = pki();
    let b_cert = k.b_rsa.certificate();
    for (revised, aggressive) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut reactions = std::collections::BTreeSet::new();
        let mut kinds = [0usize; 2];
        for trial in 0..24u64 {
            let valid = trial % 2 == 0;
            let (mut a, mut b) = endpoints_mode(
                pke(&k.a_rsa, &k.b_rsa, revised),
                pke(&k.b_rsa, &k.a_rsa, revised),
                740,
                aggressive,
            );
            let (aa, ba): (SocketAddr, SocketAddr) = (A.parse().unwrap(), B.parse().unwrap());
            let now = Instant::now();
            a.initiate(now, aa, "site-b").unwrap();
            let mut to_b = Vec::new();
            let mut sent_by_b = Vec::new();
            // Main Mode: messages 1 and 2 as they are, then message 3 altered; Aggressive
            // Mode: message 1 altered.
            let mut m3 = a.poll_transmit().unwrap().payload;
            if !aggressive {
                b.handle_datagram(now, ba, aa, &m3);
                let m2 = b.poll_transmit().unwrap().payload;
                a.handle_datagram(now, aa, ba, &m2);
                m3 = a.poll_transmit().unwrap().payload;
            }
            // The initiator's retransmissions of the honest message 3 are not passed on: the
            // responder sees only the altered one.
            let honest = m3.clone();
            // Replace the nonce payload's ciphertext (payload type 10, 256 octets).
            let (at, len) = find_payload(&m3, 10).unwrap();
            assert_eq!(len, 256);
            let mut rng = SeededRng::new(9000 + trial);
            let ct = if valid {
                let mut nonce = [0u8; 32];
                ike_crypto::rng::Rng::fill(&mut rng, &mut nonce).unwrap();
                ike_crypto::pke::encrypt(&b_cert.spki_der(), &nonce, &mut rng).unwrap()
            } else {
                // Random below the modulus: invalid padding but with negligible probability.
                let mut c = vec![0u8; 256];
                ike_crypto::rng::Rng::fill(&mut rng, &mut c).unwrap();
                c[0] = 0;
                c[1] |= 0x80;
                c
            };
            m3[at..at + len].copy_from_slice(&ct);
            to_b.push(m3);
            let mut t = now;
            for _ in 0..6 {
                for m in to_b.drain(..) {
                    b.handle_datagram(t, ba, aa, &m);
                }
                while let Some(x) = b.poll_transmit() {
                    sent_by_b.push(x.payload.len());
                    a.handle_datagram(t, aa, ba, &x.payload);
                }
                while let Some(x) = a.poll_transmit() {
                    if x.payload != honest {
                        to_b.push(x.payload);
                    }
                }
                t += Duration::from_secs(3);
                a.handle_timeout(t);
                b.handle_timeout(t);
            }
            let mut up = false;
            while let Some(e) = b.poll_event() {
                up |= matches!(e, Event::IkeSaEstablished { .. });
            }
            reactions.insert((sent_by_b, up));
            kinds[usize::from(valid)] += 1;
        }
        assert_eq!(kinds, [12, 12]);
        assert_eq!(
            reactions.len(),
            1,
            "revised {revised} aggressive {aggressive}: the reaction depends on the padding: {reactions:?}"
        );
        let (_, up) = reactions.iter().next().unwrap();
        assert!(!up, "an SA came up with a replaced nonce");
    }
}

/// The body offset and length of the first payload of type `t` in a clear ISAKMP message.
fn find_payload(m: &[u8], t: u8) -> Option<(usize, usize)> {
    let mut next = m[16];
    let mut at = 28;
    while next != 0 && at + 4 <= m.len() {
        let len = usize::from(u16::from_be_bytes([m[at + 2], m[at + 3]]));
        if next == t {
            return Some((at + 4, len - 4));
        }
        next = m[at];
        at += len;
    }
    None
}

/// A nonce ciphertext one octet short of the modulus (anyone can see it is malformed): the
/// responder drops message 3 without an answer and without RSA work that could tell anything.
#[test]
fn a_truncated_rsa_ciphertext_is_dropped() {
    let k = pki();
    for revised in [false, true] {
        let (mut a, mut b) = endpoints(
            pke(&k.a_rsa, &k.b_rsa, revised),
            pke(&k.b_rsa, &k.a_rsa, revised),
            770,
        );
        let (aa, ba): (SocketAddr, SocketAddr) = (A.parse().unwrap(), B.parse().unwrap());
        let now = Instant::now();
        a.initiate(now, aa, "site-b").unwrap();
        let m1 = a.poll_transmit().unwrap().payload;
        b.handle_datagram(now, ba, aa, &m1);
        let m2 = b.poll_transmit().unwrap().payload;
        a.handle_datagram(now, aa, ba, &m2);
        let m3 = a.poll_transmit().unwrap().payload;
        let (at, len) = find_payload(&m3, 10).unwrap();
        // Rebuild with the nonce body one octet shorter: payload and message lengths follow.
        let mut t = m3[..at].to_vec();
        t.extend_from_slice(&m3[at + 1..at + len]);
        t.extend_from_slice(&m3[at + len..]);
        let plen = u16::from_be_bytes([t[at - 2], t[at - 1]]) - 1;
        t[at - 2..at].copy_from_slice(&plen.to_be_bytes());
        let total = u32::try_from(t.len()).unwrap();
        t[24..28].copy_from_slice(&total.to_be_bytes());
        let before = b
            .stats()
            .drops
            .get(ike_proto::status::DropReason::InvalidPayloads);
        b.handle_datagram(now, ba, aa, &t);
        assert!(b.poll_transmit().is_none(), "revised {revised}");
        assert_eq!(
            b.stats()
                .drops
                .get(ike_proto::status::DropReason::InvalidPayloads),
            before + 1
        );
        b.audit().unwrap();
    }
}
