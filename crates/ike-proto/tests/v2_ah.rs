//! AH Child SAs (RFC 4302, protocol ID 2 in RFC 7296 §3.3.1) through the simulated network: the
//! first Child SA in IKE_AUTH, another with PFS in CREATE_CHILD_SA, rekeys (REKEY_SA with
//! protocol AH), deletes (Delete payloads with protocol AH), simultaneous rekeys, and refusals
//! between ESP-only and AH-only ends. The messages are opened with the keys the responder
//! exports, so that the tests see the protocol IDs, SPI sizes and transforms on the wire.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use ike_crypto::cipher::{Cipher, EncrAlg, IntegAlg};
use ike_proto::v2::{ChildSaInstall, EndpointConfig, Event, IpsecProtocol, ProtocolError};
use ike_testkit::sim::{Faults, Pair};
use ike_wire::v2::{self, ExchangeType, NotifyType, Payload, ProtocolId, TransformType};

/// What a test looks at in one message.
#[derive(Debug, Default)]
struct Seen {
    exchange: Option<ExchangeType>,
    response: bool,
    /// Each proposal: protocol, SPI size, transform types.
    proposals: Vec<(ProtocolId, usize, Vec<TransformType>)>,
    /// Each Delete: protocol and SPIs.
    deletes: Vec<(ProtocolId, Vec<Vec<u8>>)>,
    /// Each notify: type, protocol, SPI size.
    notifies: Vec<(NotifyType, ProtocolId, usize)>,
    ke: bool,
}

/// Every encrypted message in the log, opened with the IKE SA keys b exported
/// (aes128gcm16: 16-byte key and 4-byte salt, RFC 5282).
fn opened(p: &Pair) -> Vec<Seen> {
    let keys: Vec<_> = p
        .events_b
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaKeys(k) => Some(k),
            _ => None,
        })
        .collect();
    let gcm = EncrAlg::AesGcm {
        key_bits: 128,
        icv_len: 16,
    };
    let mut out = Vec::new();
    for sent in &p.log {
        let Ok(msg) = v2::Message::decode(&sent.payload) else {
            continue;
        };
        let Some(sk) = msg.payloads.iter().find_map(|pl| match pl {
            Payload::Encrypted(e) => Some(e),
            _ => None,
        }) else {
            continue;
        };
        let h = msg.header;
        let k = keys
            .iter()
            .find(|k| k.spi_i == h.spi_i && k.spi_r == h.spi_r)
            .expect("keys of every IKE SA");
        let key = if h.flags.initiator() {
            &k.sk_ei
        } else {
            &k.sk_er
        };
        let cipher = Cipher::new(gcm, key.expose()).unwrap();
        let body_at = sent.payload.len() - sk.body.len();
        let mut plain = cipher
            .open(&sk.body[..8], &sent.payload[..body_at], &sk.body[8..])
            .unwrap();
        let pad = usize::from(*plain.last().unwrap());
        plain.truncate(plain.len() - pad - 1);
        let inner = v2::decode_payloads(sk.first_inner, &plain, 0).unwrap();
        let mut seen = Seen {
            exchange: Some(h.exchange),
            response: h.flags.response(),
            ..Seen::default()
        };
        for pl in &inner {
            match pl {
                Payload::Sa(sa) => seen.proposals.extend(sa.proposals.iter().map(|pr| {
                    (
                        pr.protocol,
                        pr.spi.len(),
                        pr.transforms.iter().map(|t| t.transform_type).collect(),
                    )
                })),
                Payload::Delete(d) => seen
                    .deletes
                    .push((d.protocol, d.spis.iter().map(|s| s.to_vec()).collect())),
                Payload::Notify(n) => seen.notifies.push((n.notify_type, n.protocol, n.spi.len())),
                Payload::Ke(_) => seen.ke = true,
                _ => {}
            }
        }
        out.push(seen);
    }
    out
}

fn exported() -> EndpointConfig {
    EndpointConfig {
        export_keys: true,
        ..EndpointConfig::default()
    }
}

/// A pair whose children are AH with these proposals (`None`: the default ESP child).
fn ah_pair(a: Option<&'static [&'static str]>, b: Option<&'static [&'static str]>) -> Pair {
    pair_with(
        Side {
            ah: a.unwrap_or(&[]),
            ..Side::default()
        },
        Side {
            ah: b.unwrap_or(&[]),
            ..Side::responder()
        },
        exported(),
        Faults::none(),
        11,
    )
}

fn up(p: &mut Pair) {
    initiate(p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1),
        "seed {}",
        p.seed
    );
}

/// The two ends of one AH Child SA agree: protocol, algorithms, SPIs and keys crossed, and the
/// keys are integrity keys only, `len` bytes each way, different each way.
fn check_ah_pair(x: &ChildSaInstall, y: &ChildSaInstall, integ: IntegAlg, len: usize) {
    for c in [x, y] {
        assert_eq!(c.protocol, IpsecProtocol::Ah);
        assert_eq!(c.encr, None);
        assert_eq!(c.integ, Some(integ));
        assert!(
            c.keys_in.0.is_empty() && c.keys_out.0.is_empty(),
            "no encryption keys"
        );
        assert_eq!((c.keys_in.1.len(), c.keys_out.1.len()), (len, len));
        assert_ne!(c.keys_in.1.expose(), c.keys_out.1.expose());
        assert!(c.proposal.starts_with("ah:"), "{}", c.proposal);
    }
    assert_eq!((x.spi_in, x.spi_out), (y.spi_out, y.spi_in));
    assert_eq!(x.keys_out.1.expose(), y.keys_in.1.expose());
    assert_eq!(x.keys_in.1.expose(), y.keys_out.1.expose());
    assert_eq!(x.proposal, y.proposal);
}

fn deletes(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaDelete { spi_in, .. } => Some(*spi_in),
            _ => None,
        })
        .collect()
}

#[test]
fn ah_child_in_ike_auth() {
    let mut p = ah_pair(Some(&["sha256"]), Some(&["sha256"]));
    up(&mut p);
    let (ia, ib) = (installs(&p.events_a), installs(&p.events_b));
    check_ah_pair(ia[0], ib[0], IntegAlg::HmacSha256_128, 32);
    assert_eq!(ia[0].proposal, "ah:sha256");
    let seen = opened(&p);
    let auth: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.exchange == Some(ExchangeType::IkeAuth))
        .collect();
    assert_eq!(auth.len(), 2);
    for s in &auth {
        // One AH proposal each way, a 4-byte SPI, integrity and ESN: no encryption transform.
        assert_eq!(
            s.proposals,
            vec![(
                ProtocolId::Ah,
                4,
                vec![TransformType::Integ, TransformType::Esn]
            )],
            "response {}",
            s.response
        );
    }
}

#[test]
fn ah_key_lengths_follow_the_integrity_algorithm() {
    for (proposal, integ, len) in [
        (&["sha1"][..], IntegAlg::HmacSha1_96, 20),
        (&["sha384"][..], IntegAlg::HmacSha384_192, 48),
        (&["sha512"][..], IntegAlg::HmacSha512_256, 64),
        (&["aesxcbc"][..], IntegAlg::AesXcbc96, 16),
    ] {
        let proposal: &'static [&'static str] = proposal;
        let mut p = ah_pair(Some(proposal), Some(proposal));
        up(&mut p);
        check_ah_pair(
            installs(&p.events_a)[0],
            installs(&p.events_b)[0],
            integ,
            len,
        );
    }
}

#[test]
fn ah_with_pfs_in_create_child_sa() {
    let mut p = ah_pair(Some(&["sha256-x25519"]), Some(&["sha256-x25519"]));
    up(&mut p);
    // The first child takes its keys from the IKE SA: no KE transform in IKE_AUTH.
    assert_eq!(installs(&p.events_a)[0].proposal, "ah:sha256");
    let a = p.a.established()[0];
    p.a.create_child(p.now(), a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    let (ia, ib) = (installs(&p.events_a), installs(&p.events_b));
    check_ah_pair(ia[1], ib[1], IntegAlg::HmacSha256_128, 32);
    assert_eq!(ia[1].proposal, "ah:sha256-x25519");
    assert_ne!(ia[1].keys_out.1.expose(), ia[0].keys_out.1.expose());
    let seen = opened(&p);
    let ccsa: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.exchange == Some(ExchangeType::CreateChildSa))
        .collect();
    assert_eq!(ccsa.len(), 2);
    for s in ccsa {
        assert!(s.ke, "PFS: a KE payload each way");
        assert_eq!(
            s.proposals,
            vec![(
                ProtocolId::Ah,
                4,
                vec![TransformType::Integ, TransformType::Ke, TransformType::Esn]
            )]
        );
    }
}

#[test]
fn ah_rekey_names_the_old_sa_with_protocol_ah() {
    let mut p = ah_pair(Some(&["sha256"]), Some(&["sha256"]));
    up(&mut p);
    let a = p.a.established()[0];
    let old = installs(&p.events_a)[0].spi_in;
    p.a.rekey_child(p.now(), a, old).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| deletes(&p.events_a).len() == 1
            && deletes(&p.events_b).len() == 1)
    );
    let (ia, ib) = (installs(&p.events_a), installs(&p.events_b));
    check_ah_pair(ia[1], ib[1], IntegAlg::HmacSha256_128, 32);
    assert_eq!(live(&p.events_a), BTreeSet::from([ia[1].spi_in]));
    assert_eq!(live(&p.events_b), BTreeSet::from([ib[1].spi_in]));
    let seen = opened(&p);
    let request = seen
        .iter()
        .find(|s| s.exchange == Some(ExchangeType::CreateChildSa) && !s.response)
        .unwrap();
    assert!(request
        .notifies
        .contains(&(NotifyType::RekeySa, ProtocolId::Ah, 4)));
    // The old SA's delete, both ways with protocol AH.
    let del: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.exchange == Some(ExchangeType::Informational))
        .collect();
    assert_eq!(del.len(), 2);
    assert_eq!(
        del[0].deletes,
        vec![(ProtocolId::Ah, vec![old.to_be_bytes().to_vec()])]
    );
    assert_eq!(
        del[1].deletes,
        vec![(ProtocolId::Ah, vec![ib[0].spi_in.to_be_bytes().to_vec()])]
    );
}

#[test]
fn ah_delete_keeps_the_ike_sa() {
    let mut p = ah_pair(Some(&["sha256"]), Some(&["sha256"]));
    up(&mut p);
    let (a, b) = (p.a.established()[0], p.b.established()[0]);
    let spi = installs(&p.events_b)[0].spi_in;
    // The responder deletes this time.
    p.b.delete_child(p.now(), b, spi).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| deletes(&p.events_a).len() == 1
            && deletes(&p.events_b).len() == 1)
    );
    assert!(p.a.child_sas(a).is_empty() && p.b.child_sas(b).is_empty());
    assert!(p.a.is_established(a) && p.b.is_established(b));
    let seen = opened(&p);
    let del: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.exchange == Some(ExchangeType::Informational))
        .collect();
    assert_eq!(del.len(), 2);
    assert!(del
        .iter()
        .all(|s| s.deletes.len() == 1 && s.deletes[0].0 == ProtocolId::Ah));
}

#[test]
fn simultaneous_ah_rekeys_resolve_by_the_nonce_rule() {
    for seed in 0..6u64 {
        let side = |s: Side<'static>| Side {
            ah: &["sha256"],
            ..s
        };
        let mut p = pair_with(
            side(Side::default()),
            side(Side::responder()),
            exported(),
            Faults::none(),
            seed,
        );
        up(&mut p);
        let (a, b) = (p.a.established()[0], p.b.established()[0]);
        let (spi_a, spi_b) = (
            installs(&p.events_a)[0].spi_in,
            installs(&p.events_b)[0].spi_in,
        );
        let now = p.now();
        p.a.rekey_child(now, a, spi_a).unwrap();
        p.b.rekey_child(now, b, spi_b).unwrap();
        p.run_for(Duration::from_secs(30));
        assert_eq!(installs(&p.events_a).len(), 3, "seed {seed}");
        assert_eq!(deletes(&p.events_a).len(), 2, "seed {seed}");
        assert_eq!(deletes(&p.events_b).len(), 2, "seed {seed}");
        let (la, lb) = (p.a.child_sas(a), p.b.child_sas(b));
        assert_eq!((la.len(), lb.len()), (1, 1), "seed {seed}");
        assert_eq!((la[0].1, la[0].2), (lb[0].2, lb[0].1), "seed {seed}");
        // Every Delete on the wire was an AH one.
        assert!(opened(&p)
            .iter()
            .flat_map(|s| &s.deletes)
            .all(|(proto, _)| *proto == ProtocolId::Ah));
    }
}

fn child_failed(events: &[Event]) -> Option<&ProtocolError> {
    events.iter().find_map(|e| match e {
        Event::ChildSaFailed { reason, .. } => Some(reason),
        _ => None,
    })
}

#[test]
fn an_ah_only_responder_refuses_an_esp_only_initiator() {
    let mut p = ah_pair(None, Some(&["sha256"]));
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| child_failed(&p.events_a)
            .is_some())
    );
    assert_eq!(
        child_failed(&p.events_a),
        Some(&ProtocolError::NoProposalChosen)
    );
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    // The IKE SA stays up; the IKE_AUTH response carried NO_PROPOSAL_CHOSEN.
    assert_eq!((p.a.established().len(), p.b.established().len()), (1, 1));
    let seen = opened(&p);
    let resp = seen
        .iter()
        .find(|s| s.exchange == Some(ExchangeType::IkeAuth) && s.response)
        .unwrap();
    assert!(resp
        .notifies
        .iter()
        .any(|n| n.0 == NotifyType::NoProposalChosen));
    assert!(resp.proposals.is_empty());
    // And the other way round: an ESP-only responder refuses an AH-only initiator.
    let mut p = ah_pair(Some(&["sha256"]), None);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| child_failed(&p.events_a)
            .is_some())
    );
    assert_eq!(
        child_failed(&p.events_a),
        Some(&ProtocolError::NoProposalChosen)
    );
    assert!(installs(&p.events_b).is_empty());
}

#[test]
fn esp_children_are_unchanged() {
    let mut p = ah_pair(None, None);
    up(&mut p);
    let (ca, cb) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
    for c in [ca, cb] {
        assert_eq!(c.protocol, IpsecProtocol::Esp);
        assert_eq!(c.proposal, "aes128gcm16");
        assert!(matches!(
            c.encr,
            Some(EncrAlg::AesGcm { key_bits: 128, .. })
        ));
        assert_eq!(c.integ, None);
        // 16-byte key and 4-byte salt, no integrity key.
        assert_eq!((c.keys_in.0.len(), c.keys_in.1.len()), (20, 0));
    }
    assert_eq!(ca.keys_out.0.expose(), cb.keys_in.0.expose());
    let seen = opened(&p);
    assert!(seen
        .iter()
        .filter(|s| s.exchange == Some(ExchangeType::IkeAuth))
        .all(|s| s.proposals
            == vec![(
                ProtocolId::Esp,
                4,
                vec![TransformType::Encr, TransformType::Esn]
            )]));
}

#[test]
fn a_child_with_esp_and_ah_proposals_is_refused() {
    use ike_crypto::rng::SeededRng;
    use ike_proto::proposal::Proposal;
    use ike_proto::v2::{Endpoint, EngineError};
    let mut peer = peer("x", B, "a", "b", &Side::default());
    peer.children[0].ah_proposals = vec![Proposal::parse_ah("sha256").unwrap()];
    let r = Endpoint::new(
        EndpointConfig::default(),
        vec![peer.clone()],
        Box::new(SeededRng::new(1)),
    );
    assert!(matches!(r, Err(EngineError::InvalidConfig(..))));
    // An ESP proposal in the AH list is refused too.
    peer.children[0].esp_proposals.clear();
    peer.children[0].ah_proposals = vec![Proposal::parse_esp("aes128gcm16").unwrap()];
    let r = Endpoint::new(
        EndpointConfig::default(),
        vec![peer],
        Box::new(SeededRng::new(1)),
    );
    assert!(matches!(r, Err(EngineError::InvalidConfig(..))));
}
