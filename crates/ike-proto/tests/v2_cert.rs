//! Certificate authentication between two engines through the simulated network (ike-testkit):
//! RFC 7427 signatures (RSA PKCS#1 v1.5 and PSS, ECDSA, Ed25519) and the classic methods 1 and
//! 9-11, CERT chains with an intermediate, CERTREQ and SIGNATURE_HASH_ALGORITHMS on the wire,
//! asymmetric authentication (PSK one way, certificate the other), pinning, and the refusals:
//! untrusted CA, expired certificate, identity not in the certificate, no wall-clock time.
//!
//! The PKI is made at test time with the `openssl` crate: an RSA-2048 root, an ECDSA P-256
//! intermediate below it, end entities for a.example.org and b.example.org (dNSName SANs), and a
//! second, untrusted root.

use std::time::Duration;

use ike_crypto::sign::{EcdsaFormat, Hash, SignatureScheme};
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, CloseReason, Credential, DpdAction, Endpoint, EndpointConfig,
    EngineError, Event, Identity, Mode, PeerAuth, PeerCertPolicy, PeerConfig, ProtocolError, Ts,
};
use ike_testkit::sim::{Faults, Pair};
use ike_wire::v2::{self as wire, AuthMethod as WireAuth, CertEncoding, NotifyType, Payload};

const A: &str = "10.77.0.1:500";
const B: &str = "10.77.0.2:500";

/// The tests' "now": 2025-06-15T15:06:40Z.
#[path = "common/pki.rs"]
mod pki;
use pki::*;

struct Side {
    local_id: Identity,
    remote_id: Identity,
    local_auth: AuthMethod,
    remote_auth: AuthMethod,
}

fn side(local_id: &str, remote_id: &str, local_auth: AuthMethod, remote_auth: AuthMethod) -> Side {
    Side {
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth,
        remote_auth,
    }
}

fn peer(name: &str, remote: &str, s: Side, local_ts: &str, remote_ts: &str) -> PeerConfig {
    PeerConfig {
        name: name.to_owned(),
        remote_addrs: vec![remote.parse::<std::net::SocketAddr>().unwrap().ip()],
        local_id: s.local_id,
        remote_id: s.remote_id,
        local_auth: s.local_auth,
        remote_auth: s.remote_auth,
        ike_proposals: vec![Proposal::parse_ike("aes128gcm16-prfsha256-x25519").unwrap()],
        children: vec![ChildConfig {
            name: "net".to_owned(),
            local_ts: vec![Ts::cidr(local_ts).unwrap()],
            remote_ts: vec![Ts::cidr(remote_ts).unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp("aes128gcm16").unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: ike_proto::config::IkeVersion::V2,
        exchange: Default::default(),
    }
}

/// `a` initiates to `b`; both are told the time T0.
fn pair_with(a: Side, b: Side, faults: Faults, seed: u64) -> Pair {
    let pa = peer("site-b", B, a, "10.88.1.0/24", "10.88.2.0/24");
    let pb = peer("site-a", A, b, "10.88.2.0/24", "10.88.1.0/24");
    let mut ea = Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(ike_crypto::rng::SeededRng::new(seed * 2 + 1)),
    )
    .unwrap();
    let mut eb = Endpoint::new(
        EndpointConfig::default(),
        vec![pb],
        Box::new(ike_crypto::rng::SeededRng::new(seed * 2 + 2)),
    )
    .unwrap();
    ea.set_unix_time(T0);
    eb.set_unix_time(T0);
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

fn pair(a: Side, b: Side) -> Pair {
    pair_with(a, b, Faults::none(), 7)
}

/// Initiates and runs until both sides installed the child or one closed.
fn run(p: &mut Pair) {
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "site-b").unwrap();
    p.run_until(Duration::from_secs(30), |p| {
        (installs(&p.events_a) == 1 && installs(&p.events_b) == 1)
            || closed(&p.events_a).is_some()
            || closed(&p.events_b).is_some()
    });
    // Let the other side see the outcome too.
    p.run_for(Duration::from_secs(1));
}

fn installs(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::ChildSaInstall(_)))
        .count()
}

fn closed(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::IkeSaClosed { reason, .. } => Some(reason),
        _ => None,
    })
}

/// How the peer authenticated, from the IkeSaEstablished event.
fn remote_auth(events: &[Event]) -> Option<&PeerAuth> {
    events.iter().find_map(|e| match e {
        Event::IkeSaEstablished { remote_auth, .. } => remote_auth.as_ref(),
        _ => None,
    })
}

fn child_keys_agree(p: &Pair) -> bool {
    let pick = |ev: &[Event]| {
        ev.iter().find_map(|e| match e {
            Event::ChildSaInstall(c) => Some((
                c.keys_in.0.expose().to_vec(),
                c.keys_out.0.expose().to_vec(),
            )),
            _ => None,
        })
    };
    match (pick(&p.events_a), pick(&p.events_b)) {
        (Some((a_in, a_out)), Some((b_in, b_out))) => a_in == b_out && a_out == b_in,
        _ => false,
    }
}

fn established_both(p: &Pair) -> bool {
    installs(&p.events_a) == 1 && installs(&p.events_b) == 1 && child_keys_agree(p)
}

fn auth_failed(reason: &'static str) -> CloseReason {
    CloseReason::LocalError(ProtocolError::AuthenticationFailed(reason))
}

fn peer_refused() -> CloseReason {
    CloseReason::PeerError(NotifyType::AuthenticationFailed)
}

fn subject(i: &Issued) -> String {
    i.certificate().subject_text()
}

/// The plaintext payloads of a logged IKE_SA_INIT message.
fn init_payloads(p: &Pair, index: usize) -> Vec<Payload<'_>> {
    let m = wire::Message::decode(&p.log[index].payload).unwrap();
    assert_eq!(m.header.exchange, wire::ExchangeType::IkeSaInit);
    m.payloads
}

fn hash_notify(payloads: &[Payload<'_>]) -> Option<Vec<u16>> {
    payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.notify_type == NotifyType::SignatureHashAlgorithms => Some(
            n.data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        _ => None,
    })
}

fn rsa_side_a() -> Side {
    let k = pki();
    side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_rsa, &[]),
        trusting(&k.root),
    )
}

fn rsa_side_b() -> Side {
    let k = pki();
    side(
        "b.example.org",
        "a.example.org",
        sign_with(&k.b_rsa, &[]),
        trusting(&k.root),
    )
}

// ---- establishment ----

#[test]
fn rsa_certificates_on_both_sides_use_rfc7427_signatures() {
    let k = pki();
    let mut p = pair(rsa_side_a(), rsa_side_b());
    run(&mut p);
    assert!(established_both(&p), "{:?} {:?}", p.events_a, p.events_b);
    for (events, ee) in [(&p.events_a, &k.b_rsa), (&p.events_b, &k.a_rsa)] {
        let how = remote_auth(events).unwrap();
        assert_eq!(how.method, WireAuth::DigitalSignature);
        assert_eq!(
            how.scheme,
            Some(SignatureScheme::RsaPkcs1 { hash: Hash::Sha256 })
        );
        assert_eq!(how.chain, vec![subject(ee), subject(&k.root)]);
    }
    // IKE_SA_INIT and IKE_AUTH, nothing retransmitted. The certificate-bearing IKE_AUTH
    // messages exceed 1228 bytes, so they travel as RFC 7383 fragments.
    let mut messages = std::collections::BTreeSet::new();
    let mut fragments = 0;
    for s in &p.log {
        let m = ike_wire::v2::Message::decode(&s.payload).unwrap();
        let frag = m.payloads.iter().find_map(|p| match p {
            ike_wire::v2::Payload::EncryptedFragment(f) => Some(f.fragment_number),
            _ => None,
        });
        fragments += usize::from(frag.is_some());
        assert!(
            s.payload.len() <= 1228,
            "a datagram of {} bytes",
            s.payload.len()
        );
        assert!(
            messages.insert((s.src, m.header.message_id, frag)),
            "retransmitted"
        );
    }
    let exchanges: std::collections::BTreeSet<_> =
        messages.iter().map(|(src, mid, _)| (src, mid)).collect();
    assert_eq!(exchanges.len(), 4);
    assert!(fragments >= 4, "IKE_AUTH was not fragmented");
}

#[test]
fn ike_sa_init_carries_hash_algorithms_and_the_responders_certreq() {
    let k = pki();
    let mut p = pair(rsa_side_a(), rsa_side_b());
    run(&mut p);
    assert!(established_both(&p));
    // RFC 7427 §4 in both directions: SHA2-256, SHA2-384, SHA2-512, Identity.
    let request = init_payloads(&p, 0);
    let response = init_payloads(&p, 1);
    assert_eq!(hash_notify(&request), Some(vec![2, 3, 4, 5]));
    assert_eq!(hash_notify(&response), Some(vec![2, 3, 4, 5]));
    // The responder asks for certificates below its anchor: X.509 Signature encoding and the
    // SHA-1 hash of the root's SubjectPublicKeyInfo.
    let certreqs: Vec<_> = response
        .iter()
        .filter_map(|p| match p {
            Payload::CertReq(c) => Some(*c),
            _ => None,
        })
        .collect();
    assert_eq!(certreqs.len(), 1);
    assert_eq!(certreqs[0].encoding, CertEncoding::X509Signature);
    assert_eq!(certreqs[0].data, k.root.certificate().spki_sha1());
    // The initiator's CERTREQ belongs in IKE_AUTH (encrypted), not in IKE_SA_INIT.
    assert!(!request.iter().any(|p| matches!(p, Payload::CertReq(_))));
}

#[test]
fn ecdsa_certificates_with_an_intermediate_sent_in_cert_payloads() {
    let k = pki();
    let a = side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_ec, &[&k.intermediate]),
        trusting(&k.root),
    );
    let b = side(
        "b.example.org",
        "a.example.org",
        sign_with(&k.b_ec, &[&k.intermediate]),
        trusting(&k.root),
    );
    let mut p = pair(a, b);
    run(&mut p);
    assert!(established_both(&p), "{:?} {:?}", p.events_a, p.events_b);
    for (events, ee) in [(&p.events_a, &k.b_ec), (&p.events_b, &k.a_ec)] {
        let how = remote_auth(events).unwrap();
        assert_eq!(how.method, WireAuth::DigitalSignature);
        assert_eq!(
            how.scheme,
            Some(SignatureScheme::Ecdsa {
                hash: Hash::Sha256,
                format: EcdsaFormat::Der
            })
        );
        // The chain went through the intermediate the peer sent.
        assert_eq!(
            how.chain,
            vec![subject(ee), subject(&k.intermediate), subject(&k.root)]
        );
    }
}

#[test]
fn a_missing_intermediate_means_no_path_to_the_anchor() {
    let k = pki();
    let a = side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_ec, &[]),
        trusting(&k.root),
    );
    let mut p = pair(a, rsa_side_b());
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("certificate not issued by a trusted CA"))
    );
    assert_eq!(closed(&p.events_a), Some(&peer_refused()));
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (0, 0));
}

#[test]
fn classic_methods_when_the_peer_announces_no_hash_algorithms() {
    let k = pki();
    // Neither side announces SIGNATURE_HASH_ALGORITHMS, as a peer without RFC 7427 would.
    let classic =
        |anchor: &Issued| AuthMethod::PeerCert(policy(anchor).with_hash_algorithms(Vec::new()));
    let cases: [(&Issued, Vec<&Issued>, WireAuth, SignatureScheme); 3] = [
        (
            &k.a_rsa,
            vec![],
            WireAuth::RsaSig,
            SignatureScheme::RsaPkcs1 { hash: Hash::Sha1 },
        ),
        (
            &k.a_ec,
            vec![&k.intermediate],
            WireAuth::EcdsaP256,
            SignatureScheme::Ecdsa {
                hash: Hash::Sha256,
                format: EcdsaFormat::Raw,
            },
        ),
        (
            &k.a_p384,
            vec![],
            WireAuth::EcdsaP384,
            SignatureScheme::Ecdsa {
                hash: Hash::Sha384,
                format: EcdsaFormat::Raw,
            },
        ),
    ];
    for (ee, chain, method, scheme) in cases {
        let a = side(
            "a.example.org",
            "b.example.org",
            sign_with(ee, &chain),
            classic(&k.root),
        );
        let b = side(
            "b.example.org",
            "a.example.org",
            sign_with(&k.b_rsa, &[]),
            classic(&k.root),
        );
        let mut p = pair(a, b);
        run(&mut p);
        assert!(established_both(&p), "{method:?}: {:?}", p.events_b);
        let how = remote_auth(&p.events_b).unwrap();
        assert_eq!((how.method, how.scheme), (method, Some(scheme)));
        // And the responder's RSA key used method 1.
        assert_eq!(remote_auth(&p.events_a).unwrap().method, WireAuth::RsaSig);
        assert_eq!(hash_notify(&init_payloads(&p, 0)), None);
        assert_eq!(hash_notify(&init_payloads(&p, 1)), None);
    }
}

#[test]
fn rsa_pss_and_ed25519_through_rfc7427() {
    let k = pki();
    let cases = [
        (
            AuthMethod::PubKey(cred(&k.a_rsa, &[]).with_rsa_pss(true)),
            SignatureScheme::RsaPss { hash: Hash::Sha256 },
        ),
        (sign_with(&k.a_ed25519, &[]), SignatureScheme::Ed25519),
    ];
    for (auth, scheme) in cases {
        let a = side("a.example.org", "b.example.org", auth, trusting(&k.root));
        let mut p = pair(a, rsa_side_b());
        run(&mut p);
        assert!(established_both(&p), "{scheme}: {:?}", p.events_b);
        let how = remote_auth(&p.events_b).unwrap();
        assert_eq!(
            (how.method, how.scheme),
            (WireAuth::DigitalSignature, Some(scheme))
        );
    }
}

#[test]
fn ed25519_cannot_sign_for_a_peer_without_rfc7427() {
    // Ed25519 has no classic method: the initiator refuses to go on, the responder is left
    // half-open (and expires).
    let k = pki();
    let a = side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_ed25519, &[]),
        trusting(&k.root),
    );
    let b = side(
        "b.example.org",
        "a.example.org",
        sign_with(&k.b_rsa, &[]),
        AuthMethod::PeerCert(policy(&k.root).with_hash_algorithms(Vec::new())),
    );
    let mut p = pair(a, b);
    run(&mut p);
    assert!(matches!(
        closed(&p.events_a),
        Some(CloseReason::LocalError(ProtocolError::Unsupported(_)))
    ));
    assert_eq!(p.a.sa_count(), 0);
}

// ---- asymmetric ----

#[test]
fn initiator_psk_responder_certificate() {
    let k = pki();
    let a = side("a.example.org", "b.example.org", psk(), trusting(&k.root));
    let b = side(
        "b.example.org",
        "a.example.org",
        sign_with(&k.b_rsa, &[]),
        psk(),
    );
    let mut p = pair(a, b);
    run(&mut p);
    assert!(established_both(&p), "{:?} {:?}", p.events_a, p.events_b);
    assert_eq!(
        remote_auth(&p.events_a).unwrap().method,
        WireAuth::DigitalSignature
    );
    let at_b = remote_auth(&p.events_b).unwrap();
    assert_eq!(
        (at_b.method, at_b.scheme.as_ref(), at_b.chain.len()),
        (WireAuth::SharedKey, None, 0)
    );
    // The responder does not validate certificates here, so it asks for none.
    assert!(!init_payloads(&p, 1)
        .iter()
        .any(|p| matches!(p, Payload::CertReq(_))));
}

#[test]
fn initiator_certificate_responder_psk() {
    let k = pki();
    let a = side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_ec, &[&k.intermediate]),
        psk(),
    );
    let b = side("b.example.org", "a.example.org", psk(), trusting(&k.root));
    let mut p = pair(a, b);
    run(&mut p);
    assert!(established_both(&p), "{:?} {:?}", p.events_a, p.events_b);
    assert_eq!(
        remote_auth(&p.events_b).unwrap().method,
        WireAuth::DigitalSignature
    );
    assert_eq!(
        remote_auth(&p.events_a).unwrap().method,
        WireAuth::SharedKey
    );
}

#[test]
fn a_psk_where_a_certificate_is_required_fails() {
    let k = pki();
    let a = side("a.example.org", "b.example.org", psk(), psk());
    let b = side("b.example.org", "a.example.org", psk(), trusting(&k.root));
    let mut p = pair(a, b);
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("peer must authenticate with a signature"))
    );
    assert_eq!(closed(&p.events_a), Some(&peer_refused()));
}

// ---- refusals ----

#[test]
fn untrusted_ca_fails_on_the_responder() {
    let k = pki();
    let a = side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_rogue, &[]),
        trusting(&k.root),
    );
    let mut p = pair(a, rsa_side_b());
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("certificate not issued by a trusted CA"))
    );
    assert_eq!(closed(&p.events_a), Some(&peer_refused()));
    assert!(installs(&p.events_a) + installs(&p.events_b) == 0);
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (0, 0));
}

#[test]
fn untrusted_ca_fails_on_the_initiator() {
    let k = pki();
    let b = side(
        "b.example.org",
        "a.example.org",
        sign_with(&k.b_rogue, &[]),
        trusting(&k.root),
    );
    let mut p = pair(rsa_side_a(), b);
    run(&mut p);
    assert_eq!(
        closed(&p.events_a),
        Some(&auth_failed("certificate not issued by a trusted CA"))
    );
    assert_eq!(installs(&p.events_a), 0);
    assert_eq!(p.a.sa_count(), 0);
    // Trusting the rogue root instead makes the same certificate acceptable.
    let a = side(
        "a.example.org",
        "b.example.org",
        sign_with(&k.a_rsa, &[]),
        trusting(&k.rogue_root),
    );
    let b = side(
        "b.example.org",
        "a.example.org",
        sign_with(&k.b_rogue, &[]),
        trusting(&k.root),
    );
    let mut p = pair(a, b);
    run(&mut p);
    assert!(established_both(&p));
}

#[test]
fn expired_certificate_fails() {
    // The end entities are valid for 30 days after T0.
    let mut p = pair(rsa_side_a(), rsa_side_b());
    p.b.set_unix_time(T0 + 31 * DAY);
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("certificate expired"))
    );
    assert_eq!(closed(&p.events_a), Some(&peer_refused()));

    let mut p = pair(rsa_side_a(), rsa_side_b());
    p.a.set_unix_time(T0 + 31 * DAY);
    run(&mut p);
    assert_eq!(
        closed(&p.events_a),
        Some(&auth_failed("certificate expired"))
    );

    // Before notBefore (a day before T0).
    let mut p = pair(rsa_side_a(), rsa_side_b());
    p.b.set_unix_time(T0 - 2 * DAY);
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("certificate not yet valid"))
    );
}

#[test]
fn identity_not_in_the_certificate_fails() {
    let k = pki();
    // The initiator claims c.example.org with a certificate for a.example.org; the responder
    // accepts any identity, so only the certificate binding refuses it.
    let a = side(
        "c.example.org",
        "b.example.org",
        sign_with(&k.a_rsa, &[]),
        trusting(&k.root),
    );
    let b = side(
        "b.example.org",
        "%any",
        sign_with(&k.b_rsa, &[]),
        trusting(&k.root),
    );
    let mut p = pair(a, b);
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("identity not in the certificate"))
    );
    assert_eq!(closed(&p.events_a), Some(&peer_refused()));

    // The responder's IDr against its certificate, checked by the initiator.
    let a = side(
        "a.example.org",
        "%any",
        sign_with(&k.a_rsa, &[]),
        trusting(&k.root),
    );
    let b = side(
        "x.example.org",
        "a.example.org",
        sign_with(&k.b_rsa, &[]),
        trusting(&k.root),
    );
    let mut p = pair(a, b);
    run(&mut p);
    assert_eq!(
        closed(&p.events_a),
        Some(&auth_failed("identity not in the certificate"))
    );
}

#[test]
fn a_distinguished_name_identity_matches_the_subject() {
    let k = pki();
    let dn = k.a_rsa.certificate().subject_der();
    let a = Side {
        local_id: Identity::Dn(dn.clone()),
        ..rsa_side_a()
    };
    let b = Side {
        remote_id: Identity::Dn(dn.clone()),
        ..rsa_side_b()
    };
    let mut p = pair(a, b);
    run(&mut p);
    assert!(established_both(&p), "{:?}", p.events_b);
    let id = p.events_b.iter().find_map(|e| match e {
        Event::IkeSaEstablished { remote_id, .. } => Some(remote_id.clone()),
        _ => None,
    });
    assert_eq!(id, Some(Identity::Dn(dn)));
}

#[test]
fn pinned_certificates() {
    let k = pki();
    // Pinned without a trust store: the certificate itself is trusted.
    let b = Side {
        remote_auth: AuthMethod::PeerCert(PeerCertPolicy::pinned(k.a_rsa.certificate())),
        ..rsa_side_b()
    };
    let mut p = pair(rsa_side_a(), b);
    run(&mut p);
    assert!(established_both(&p), "{:?}", p.events_b);
    assert_eq!(
        remote_auth(&p.events_b).unwrap().chain,
        vec![subject(&k.a_rsa)]
    );
    // No CERTREQ: there is no anchor to name.
    assert!(!init_payloads(&p, 1)
        .iter()
        .any(|p| matches!(p, Payload::CertReq(_))));

    // A trusted certificate that is not the pinned one.
    let b = Side {
        remote_auth: AuthMethod::PeerCert(policy(&k.root).with_pinned(k.a_ec.certificate())),
        ..rsa_side_b()
    };
    let mut p = pair(rsa_side_a(), b);
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("not the pinned certificate"))
    );

    // A pinned certificate still expires.
    let b = Side {
        remote_auth: AuthMethod::PeerCert(PeerCertPolicy::pinned(k.a_rsa.certificate())),
        ..rsa_side_b()
    };
    let mut p = pair(rsa_side_a(), b);
    p.b.set_unix_time(T0 + 31 * DAY);
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("certificate expired"))
    );
}

#[test]
fn without_wall_clock_time_certificates_are_refused() {
    let pa = peer("site-b", B, rsa_side_a(), "10.88.1.0/24", "10.88.2.0/24");
    let pb = peer("site-a", A, rsa_side_b(), "10.88.2.0/24", "10.88.1.0/24");
    let rng = |s| Box::new(ike_crypto::rng::SeededRng::new(s));
    let mut ea = Endpoint::new(EndpointConfig::default(), vec![pa], rng(1)).unwrap();
    ea.set_unix_time(T0);
    // b is never told the time.
    let eb = Endpoint::new(EndpointConfig::default(), vec![pb], rng(2)).unwrap();
    let mut p = Pair::new(
        ea,
        eb,
        A.parse().unwrap(),
        B.parse().unwrap(),
        Faults::none(),
        1,
    );
    run(&mut p);
    assert_eq!(
        closed(&p.events_b),
        Some(&auth_failed("no wall-clock time to validate certificates"))
    );
}

#[test]
fn configuration_mistakes_are_refused_up_front() {
    let k = pki();
    // A key that is not the certificate's.
    assert!(Credential::new(k.a_rsa.private_key(), vec![k.b_rsa.certificate()]).is_err());
    // Methods on the wrong side.
    for (local_auth, remote_auth) in [
        (trusting(&k.root), psk()),
        (psk(), sign_with(&k.b_rsa, &[])),
    ] {
        let s = side("a.example.org", "b.example.org", local_auth, remote_auth);
        let pc = peer("x", B, s, "10.88.1.0/24", "10.88.2.0/24");
        let r = Endpoint::new(
            EndpointConfig::default(),
            vec![pc],
            Box::new(ike_crypto::rng::SeededRng::new(1)),
        );
        assert!(matches!(r, Err(EngineError::InvalidConfig(..))));
    }
}

#[test]
fn a_certificate_authenticated_ike_sa_rekeys() {
    let mut p = pair(rsa_side_a(), rsa_side_b());
    run(&mut p);
    assert!(established_both(&p));
    let (now, old) = (p.now(), p.a.established()[0]);
    p.a.rekey_ike(now, old).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
            && closed(&p.events_b).is_some())
    );
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Rekeyed));
    let new = p.a.established();
    assert_eq!(new.len(), 1);
    assert_ne!(new[0], old);
    // The new SA works: a liveness check is answered.
    let before = p.log.len();
    let now = p.now();
    p.a.check_liveness(now, new[0]).unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.log.len(), before + 2);
    assert!(p.a.is_established(new[0]));
}

// ---- lossy network ----

/// RSA and ECDSA certificates over a network with 25% loss, duplicates and reordering: every
/// run ends established with matching keys, or with a timeout, never with an authentication
/// failure (a retransmitted or duplicated IKE_AUTH is answered from the response cache).
#[test]
fn certificates_interoperate_over_a_lossy_network() {
    let k = pki();
    let mut established = 0;
    for seed in 0..8u64 {
        let (a, b) = if seed % 2 == 0 {
            (rsa_side_a(), rsa_side_b())
        } else {
            (
                side(
                    "a.example.org",
                    "b.example.org",
                    sign_with(&k.a_ec, &[&k.intermediate]),
                    trusting(&k.root),
                ),
                side(
                    "b.example.org",
                    "a.example.org",
                    sign_with(&k.b_ec, &[&k.intermediate]),
                    trusting(&k.root),
                ),
            )
        };
        let mut p = pair_with(a, b, Faults::lossy(0.25), seed);
        let (now, addr) = (p.now(), p.addr_a);
        p.a.initiate(now, addr, "site-b").unwrap();
        let settled = p.run_until(Duration::from_secs(300), |p| {
            (installs(&p.events_a) == 1 && installs(&p.events_b) == 1)
                || closed(&p.events_a).is_some()
        });
        assert!(settled, "seed {seed}: neither established nor failed");
        if let Some(reason) = closed(&p.events_a) {
            assert_eq!(reason, &CloseReason::Timeout, "seed {seed}");
            continue;
        }
        assert!(child_keys_agree(&p), "seed {seed}");
        assert!(closed(&p.events_b).is_none(), "seed {seed}");
        established += 1;
    }
    assert!(established >= 6, "only {established} of 8 runs established");
}
