//! The ISAKMP Base exchange (RFC 2408 §4.4) and Authentication Only exchange (§4.6) as IKEv1
//! Phase 1, engine to engine in the simulated network (no third-party peer implements them):
//! with pre-shared keys and signatures, with loss and retransmission, the refusals, and the
//! Authentication Only flag on Informational exchanges.

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::time::Duration;

use common::*;
use ike_proto::config::V1Exchange;
use ike_proto::status::DropReason;
use ike_proto::v2::{AuthMethod, CloseReason, EndpointConfig, Event, PeerConfig};
use ike_testkit::sim::{Faults, Pair};

const INFORMATIONAL: u8 = 5;
const DELETE: u8 = 12;

fn psk(k: &str) -> AuthMethod {
    AuthMethod::Psk(ike_crypto::Secret::from_slice(k.as_bytes()))
}

fn peers(
    a: (AuthMethod, AuthMethod),
    b: (AuthMethod, AuthMethod),
    x: (V1Exchange, V1Exchange),
) -> (PeerConfig, PeerConfig) {
    let mut pa = v1_peer(
        "site-b",
        B,
        ("a.example.org", "b.example.org"),
        a,
        ("10.88.1.0/24", "10.88.2.0/24"),
    );
    let mut pb = v1_peer(
        "site-a",
        A,
        ("b.example.org", "a.example.org"),
        b,
        ("10.88.2.0/24", "10.88.1.0/24"),
    );
    (pa.exchange, pb.exchange) = x;
    if x.0 == V1Exchange::AuthOnly {
        pa.children.clear();
    }
    if x.1 == V1Exchange::AuthOnly {
        pb.children.clear();
    }
    (pa, pb)
}

fn pair(pa: PeerConfig, pb: PeerConfig, faults: Faults, seed: u64) -> Pair {
    let (mut ea, mut eb) = endpoints_of(EndpointConfig::default(), pa, pb, seed * 2 + 7);
    ea.set_unix_time(pki::T0);
    eb.set_unix_time(pki::T0);
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

fn psk_pair(x: V1Exchange, faults: Faults, seed: u64) -> Pair {
    let (pa, pb) = peers(
        (
            psk("a shared secret of base"),
            psk("a shared secret of base"),
        ),
        (
            psk("a shared secret of base"),
            psk("a shared secret of base"),
        ),
        (x, x),
    );
    pair(pa, pb, faults, seed)
}

/// The exchange types of the Phase 1 messages on the wire (message ID 0), in order.
fn phase1_exchanges(p: &Pair) -> Vec<u8> {
    p.log
        .iter()
        .map(|s| s.payload.as_slice())
        .filter(|m| m.len() >= 28 && m[20..24] == [0; 4] && m[18] != INFORMATIONAL)
        .map(|m| m[18])
        .collect()
}

#[test]
fn base_exchange_with_a_psk_then_quick_mode() {
    let mut p = psk_pair(V1Exchange::Base, Faults::none(), 1);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    }));
    // Four Base messages (type 1), all in the clear, then Quick Mode.
    let ph1: Vec<&[u8]> = p
        .log
        .iter()
        .map(|s| s.payload.as_slice())
        .filter(|m| m[18] == 1)
        .collect();
    assert_eq!(ph1.len(), 4, "{:?}", phase1_exchanges(&p));
    assert!(ph1.iter().all(|m| m[19] & 1 == 0), "Base is not encrypted");
    // The identities are in the clear in messages 3 and 4.
    let has = |m: &[u8], s: &str| m.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has(ph1[2], "a.example.org") && has(ph1[3], "b.example.org"));
    let (a, b) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
    assert_eq!(a.spi_out, b.spi_in);
    assert_eq!(a.keys_out.0.expose(), b.keys_in.0.expose());
    assert_eq!(a.keys_in.1.expose(), b.keys_out.1.expose());
    let s = p.b.status(p.now());
    assert_eq!(
        s[0].remote_id.as_ref().unwrap().to_string(),
        "a.example.org"
    );
    p.a.audit().unwrap();
    p.b.audit().unwrap();
}

#[test]
fn base_exchange_survives_loss_duplication_and_reordering() {
    for seed in 0..10u64 {
        let faults = Faults {
            loss: 0.2,
            duplicate: 0.15,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(65),
        };
        let mut p = psk_pair(V1Exchange::Base, faults, 100 + seed);
        initiate(&mut p);
        assert!(
            p.run_until(Duration::from_secs(300), |p| {
                installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
            }),
            "seed {seed}"
        );
        let (a, b) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
        assert_eq!(a.keys_out.0.expose(), b.keys_in.0.expose(), "seed {seed}");
    }
}

#[test]
fn base_exchange_with_rsa_ecdsa_and_dss_signatures() {
    let k = pki::pki();
    let (da, db) = pki::dsa_pair();
    // The EC certificates come from the intermediate CA: the chain goes with them.
    for (name, ka, kb, chain) in [
        ("rsa", &k.a_rsa, &k.b_rsa, vec![]),
        ("ecdsa", &k.a_ec, &k.b_ec, vec![&k.intermediate]),
        ("dss", da, db, vec![]),
    ] {
        let (pa, pb) = peers(
            (pki::sign_with(ka, &chain), pki::trusting(&k.root)),
            (pki::sign_with(kb, &chain), pki::trusting(&k.root)),
            (V1Exchange::Base, V1Exchange::Base),
        );
        let mut p = pair(pa, pb, Faults::lossy(0.1), 31);
        initiate(&mut p);
        assert!(
            p.run_until(Duration::from_secs(120), |p| {
                installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
            }),
            "{name}"
        );
        let scheme = |ev: &[Event]| {
            ev.iter().find_map(|e| match e {
                Event::IkeSaEstablished { remote_auth, .. } => {
                    remote_auth.as_ref().and_then(|a| a.scheme)
                }
                _ => None,
            })
        };
        assert!(
            scheme(&p.events_a).is_some() && scheme(&p.events_b).is_some(),
            "{name}"
        );
        let (a, b) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
        assert_eq!(a.keys_out.0.expose(), b.keys_in.0.expose(), "{name}");
    }
}

#[test]
fn base_exchange_with_a_wrong_psk_fails_and_a_wrong_certificate_identity_is_refused() {
    let (pa, pb) = peers(
        (
            psk("one shared secret, long"),
            psk("one shared secret, long"),
        ),
        (
            psk("another secret, as long"),
            psk("another secret, as long"),
        ),
        (V1Exchange::Base, V1Exchange::Base),
    );
    let mut p = pair(pa, pb, Faults::none(), 3);
    initiate(&mut p);
    p.run_for(Duration::from_secs(200));
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    assert!(!established(&p.events_a) && !established(&p.events_b));
    assert!(
        p.b.stats().drops.get(DropReason::IntegrityCheckFailed) >= 1,
        "the responder drops message 3 whose HASH_I does not verify"
    );
    assert!(matches!(closed(&p.events_a), Some(CloseReason::Timeout)));
    // Signatures, but B's certificate names another identity than A expects.
    let k = pki::pki();
    let (mut pa, pb) = peers(
        (pki::sign_with(&k.a_rsa, &[]), pki::trusting(&k.root)),
        (pki::sign_with(&k.b_rsa, &[]), pki::trusting(&k.root)),
        (V1Exchange::Base, V1Exchange::Base),
    );
    pa.remote_id = ike_proto::v2::Identity::Fqdn("c.example.org".into());
    let mut p = pair(pa, pb, Faults::none(), 4);
    initiate(&mut p);
    p.run_for(Duration::from_secs(60));
    assert!(installs(&p.events_a).is_empty());
    assert!(matches!(
        closed(&p.events_a),
        Some(CloseReason::LocalError(_))
    ));
}

#[test]
fn an_exchange_the_responder_does_not_enable_is_refused_with_invalid_exchange_type() {
    // A offers Base; B runs Main Mode only, then Authentication Only against Base.
    for (xa, xb) in [
        (V1Exchange::Base, V1Exchange::Main),
        (V1Exchange::AuthOnly, V1Exchange::Base),
        (V1Exchange::Base, V1Exchange::AuthOnly),
    ] {
        let (pa, pb) = peers(
            (
                psk("a shared secret of base"),
                psk("a shared secret of base"),
            ),
            (
                psk("a shared secret of base"),
                psk("a shared secret of base"),
            ),
            (xa, xb),
        );
        let mut p = pair(pa, pb, Faults::none(), 5);
        initiate(&mut p);
        p.run_for(Duration::from_secs(5));
        let why = format!("{:?}", closed(&p.events_a));
        assert!(
            why.contains("InvalidExchangeType"),
            "{xa:?} vs {xb:?}: {why}"
        );
        assert_eq!(p.b.sa_count(), 0, "{xa:?} vs {xb:?}: no state at B");
    }
}

#[test]
fn authentication_only_exchange_authenticates_without_keys_for_ipsec() {
    for seed in 0..6u64 {
        let faults = if seed == 0 {
            Faults::none()
        } else {
            Faults {
                loss: 0.2,
                duplicate: 0.1,
                min_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(45),
            }
        };
        let mut p = psk_pair(V1Exchange::AuthOnly, faults, 200 + seed);
        initiate(&mut p);
        assert!(
            p.run_until(Duration::from_secs(300), |p| {
                established(&p.events_a) && established(&p.events_b)
            }),
            "seed {seed}"
        );
        // Three messages of type 3, in the clear; no KE payload (4) anywhere; no Quick Mode.
        let ph1: Vec<&[u8]> = p
            .log
            .iter()
            .map(|s| s.payload.as_slice())
            .filter(|m| m[18] == 3)
            .collect();
        assert!(ph1.len() >= 3, "seed {seed}");
        assert!(ph1.iter().all(|m| m[19] & 1 == 0 && m[16] != 4));
        assert!(p.log.iter().all(|s| s.payload[18] != 32), "no Quick Mode");
        let s = p.a.status(p.now());
        assert_eq!(
            s[0].remote_id.as_ref().unwrap().to_string(),
            "b.example.org"
        );
        assert!(s[0].children.is_empty());
    }
}

#[test]
fn an_authentication_only_sa_deletes_with_the_authentication_only_flag() {
    let mut p = psk_pair(V1Exchange::AuthOnly, Faults::none(), 9);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| {
        established(&p.events_a) && established(&p.events_b)
    }));
    let ha = p.a.handles_all()[0];
    let before = p.log.len();
    let now = p.now();
    p.a.delete(now, ha).unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| p.b.sa_count() == 0));
    let info: Vec<&[u8]> = p.log[before..]
        .iter()
        .map(|s| s.payload.as_slice())
        .filter(|m| m[18] == INFORMATIONAL)
        .collect();
    assert_eq!(info.len(), 1);
    // Flags: Authentication Only (4), not Encryption (1); HASH(1) first, then the Delete.
    assert_eq!(info[0][19], 4);
    assert_eq!(info[0][16], 8, "HASH first");
    assert!(matches!(
        closed(&p.events_b),
        Some(CloseReason::DeletedByPeer)
    ));
}

#[test]
fn authentication_only_flag_is_honoured_on_an_established_sa_and_needs_the_hash() {
    let mut p = psk_pair(V1Exchange::Main, Faults::none(), 11);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    }));
    let (ha, hb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
    let spi = installs(&p.events_b)[0].spi_in;
    let mut del = vec![0, 0, 0, 1, 3, 4, 0, 1];
    del.extend_from_slice(&spi.to_be_bytes());
    let send = |p: &mut Pair, m: &[u8]| {
        let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
        p.b.handle_datagram(now, b, a, m);
    };
    // In the clear with the flag but a wrong HASH(1): dropped, the IPsec SA stays.
    let mut m =
        p.a.v1_forge(
            ha,
            INFORMATIONAL,
            0x7001,
            &[(DELETE, del.clone())],
            Some(false),
            false,
        )
        .unwrap();
    m[19] |= 4;
    let drops = p.b.stats().drops.get(DropReason::IntegrityCheckFailed);
    send(&mut p, &m);
    assert_eq!(
        p.b.stats().drops.get(DropReason::IntegrityCheckFailed),
        drops + 1
    );
    assert_eq!(p.b.child_sas(hb).len(), 1);
    // The right HASH(1) without the flag: an unprotected message, ignored.
    let m =
        p.a.v1_forge(
            ha,
            INFORMATIONAL,
            0x7002,
            &[(DELETE, del.clone())],
            Some(true),
            false,
        )
        .unwrap();
    send(&mut p, &m);
    assert_eq!(p.b.child_sas(hb).len(), 1);
    // With the flag and the right HASH(1): the Delete is taken.
    let mut m =
        p.a.v1_forge(
            ha,
            INFORMATIONAL,
            0x7003,
            &[(DELETE, del)],
            Some(true),
            false,
        )
        .unwrap();
    m[19] |= 4;
    send(&mut p, &m);
    assert!(p.b.child_sas(hb).is_empty());
    // Replayed: dropped as a reused message ID.
    let reused = p.b.stats().drops.get(DropReason::UnexpectedMessageId);
    send(&mut p, &m);
    assert_eq!(
        p.b.stats().drops.get(DropReason::UnexpectedMessageId),
        reused + 1
    );
    p.b.audit().unwrap();
}

#[test]
fn quick_mode_on_an_authentication_only_sa_is_dropped() {
    let mut p = psk_pair(V1Exchange::AuthOnly, Faults::none(), 13);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| {
        established(&p.events_a) && established(&p.events_b)
    }));
    let ha = p.a.handles_all()[0];
    // A Quick Mode message 1 under the SA's keys, encrypted or not: no IPsec SA from it.
    for encrypt in [true, false] {
        let m =
            p.a.v1_forge(
                ha,
                32,
                0x99 + u32::from(encrypt),
                &[(1, vec![0; 8])],
                Some(true),
                encrypt,
            )
            .unwrap();
        let drops = p.b.stats().drops.get(DropReason::WrongState);
        let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
        p.b.handle_datagram(now, b, a, &m);
        assert!(p.b.poll_transmit().is_none());
        assert!(p.b.poll_event().is_none());
        if encrypt {
            // Decodable (the payloads are encrypted): refused by the SA's kind.
            assert_eq!(p.b.stats().drops.get(DropReason::WrongState), drops + 1);
        }
    }
    p.b.audit().unwrap();
}

#[test]
fn base_responder_accepts_main_mode_too_and_an_engine_answers_both() {
    // A Base connection still answers Main Mode (as an Aggressive Mode one does), so a peer
    // that did not enable Base reaches it.
    let (pa, pb) = peers(
        (
            psk("a shared secret of base"),
            psk("a shared secret of base"),
        ),
        (
            psk("a shared secret of base"),
            psk("a shared secret of base"),
        ),
        (V1Exchange::Main, V1Exchange::Base),
    );
    let mut p = pair(pa, pb, Faults::none(), 15);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(30), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    }));
    assert!(phase1_exchanges(&p).iter().all(|x| *x == 2));
}
