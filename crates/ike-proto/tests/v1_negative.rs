//! IKEv1 negative tests for the bug classes of other daemons' advisories: each sends what a
//! faulty or hostile peer would, asserts the reaction (drop and count, refuse with a notify,
//! or delete cleanly) and that the SA table is unchanged or cleanly emptied.

mod common;

use std::time::Duration;

use common::*;
use ike_crypto::rng::SeededRng;
use ike_proto::config::{IkeVersion, V1Exchange};
use ike_proto::status::DropReason;
use ike_proto::v2::{Endpoint, EndpointConfig, Event, SaHandle};
use ike_testkit::sim::{Faults, Pair};

const INFORMATIONAL: u8 = 5;
const QUICK_MODE: u8 = 32;
const DELETE: u8 = 12;
const NOTIFY: u8 = 11;
const SA: u8 = 1;
const NONCE: u8 = 10;
const ID: u8 = 5;

fn established() -> (Pair, SaHandle, SaHandle) {
    let s = Side {
        ike: &["aes128-sha256-modp2048"],
        esp: &["aes128-sha256"],
        ..Side::default()
    };
    let mut pa = peer("site-b", B, "a.example.org", "b.example.org", &s);
    let mut pb = peer(
        "site-a",
        A,
        "b.example.org",
        "a.example.org",
        &Side {
            local_ts: &["10.88.2.0/24"],
            remote_ts: &["10.88.1.0/24"],
            ..s
        },
    );
    pa.version = IkeVersion::V1;
    pb.version = IkeVersion::V1;
    let mut p = pair_of_peers(EndpointConfig::default(), pa, pb, 5, Faults::none(), 1);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    let (ha, hb) = (p.a.handles_all()[0], p.b.handles_all()[0]);
    (p, ha, hb)
}

/// Delivers `msg` to B as if from A; returns what B sent and B's new drops of `reason`.
fn to_b(p: &mut Pair, msg: &[u8], reason: DropReason) -> (usize, u64) {
    let before = p.b.stats().drops.get(reason);
    let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
    p.b.handle_datagram(now, b, a, msg);
    let mut sent = 0;
    while p.b.poll_transmit().is_some() {
        sent += 1;
    }
    (sent, p.b.stats().drops.get(reason) - before)
}

fn delete_esp(spi: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 1, 3, 4, 0, 1];
    b.extend_from_slice(&spi.to_be_bytes());
    b
}

fn b_events(p: &mut Pair) -> Vec<Event> {
    std::iter::from_fn(|| p.b.poll_event()).collect()
}

#[test]
fn informational_without_or_with_a_wrong_hash_is_dropped() {
    let (mut p, ha, hb) = established();
    let spi = installs(&p.events_b)[0].spi_in;
    for (hash, mid) in [(None, 0x1111), (Some(false), 0x2222)] {
        let m =
            p.a.v1_forge(
                ha,
                INFORMATIONAL,
                mid,
                &[(DELETE, delete_esp(spi))],
                hash,
                true,
            )
            .unwrap();
        let (sent, drops) = to_b(&mut p, &m, DropReason::IntegrityCheckFailed);
        assert_eq!((sent, drops), (0, 1), "{hash:?}");
        assert_eq!(p.b.child_sas(hb).len(), 1, "the IPsec SA survives");
    }
    // Unencrypted, with a right hash: an unprotected Delete after Phase 1 is ignored.
    let m =
        p.a.v1_forge(
            ha,
            INFORMATIONAL,
            0x3333,
            &[(DELETE, delete_esp(spi))],
            Some(true),
            false,
        )
        .unwrap();
    to_b(&mut p, &m, DropReason::WrongState);
    assert_eq!(p.b.child_sas(hb).len(), 1);
    // The same Delete, protected: the IPsec SA goes.
    let m =
        p.a.v1_forge(
            ha,
            INFORMATIONAL,
            0x4444,
            &[(DELETE, delete_esp(spi))],
            Some(true),
            true,
        )
        .unwrap();
    to_b(&mut p, &m, DropReason::IntegrityCheckFailed);
    assert!(p.b.child_sas(hb).is_empty());
    // Replayed: dropped as a reused message ID.
    let (_, drops) = to_b(&mut p, &m, DropReason::UnexpectedMessageId);
    assert_eq!(drops, 1);
    p.b.audit().unwrap();
}

#[test]
fn a_delete_followed_by_notifies_for_the_deleted_sa_is_handled_once() {
    let (mut p, ha, hb) = established();
    let c = installs(&p.events_b)[0];
    let (spi_in, spi_out) = (c.spi_in, c.spi_out);
    // Delete, then R-U-THERE and an error notify naming the deleted SPI.
    let mut n = vec![0, 0, 0, 1, 3, 4, 0x8d, 0x28];
    n.extend_from_slice(&spi_in.to_be_bytes());
    n.extend_from_slice(&7u32.to_be_bytes());
    let mut err = vec![0, 0, 0, 1, 3, 4, 0, 11]; // INVALID-SPI
    err.extend_from_slice(&spi_in.to_be_bytes());
    let m =
        p.a.v1_forge(
            ha,
            INFORMATIONAL,
            0x5151,
            &[(DELETE, delete_esp(spi_in)), (NOTIFY, n), (NOTIFY, err)],
            Some(true),
            true,
        )
        .unwrap();
    let (sent, _) = to_b(&mut p, &m, DropReason::IntegrityCheckFailed);
    assert_eq!(sent, 0, "nothing answered for a deleted SA");
    let deletes = b_events(&mut p)
        .into_iter()
        .filter(|e| matches!(e, Event::ChildSaDelete { spi_out: o, .. } if *o == spi_out))
        .count();
    assert_eq!(deletes, 1);
    assert!(p.b.child_sas(hb).is_empty());
    assert!(p.b.is_established(hb));
    p.b.audit().unwrap();
}

#[test]
fn a_quick_mode_client_id_of_an_unexpected_type_is_refused() {
    let (mut p, ha, hb) = established();
    let before = p.b.child_sas(hb).len();
    // SA from the initiator's first Quick Mode is not needed: the IDs are checked first.
    let sa_body = {
        // One ESP proposal, AES-128-CBC + HMAC-SHA2-256, tunnel.
        let mut b = vec![0, 0, 0, 1, 0, 0, 0, 1];
        let t = [
            0u8, 0, 0, 28, 1, 12, 0, 0, 0x80, 1, 0, 1, 0, 2, 0, 4, 0, 0, 0x0e, 0x10, 0x80, 4, 0, 1,
            0x80, 5, 0, 5,
        ];
        let mut prop = vec![0u8, 0, 0, 0, 1, 3, 4, 1, 0, 0, 0x12, 0x34];
        prop.extend_from_slice(&t);
        let len = u16::try_from(prop.len()).unwrap().to_be_bytes();
        prop[2] = len[0];
        prop[3] = len[1];
        b.extend_from_slice(&prop);
        b
    };
    let fqdn = [2u8, 0, 0, 0, b'e', b'v', b'i', b'l'].to_vec();
    let subnet = [4u8, 0, 0, 0, 10, 88, 2, 0, 255, 255, 255, 0].to_vec();
    let m =
        p.a.v1_forge(
            ha,
            QUICK_MODE,
            0x7777,
            &[
                (SA, sa_body),
                (NONCE, vec![9; 32]),
                (ID, fqdn),
                (ID, subnet),
            ],
            Some(true),
            true,
        )
        .unwrap();
    let (sent, _) = to_b(&mut p, &m, DropReason::InvalidPayloads);
    assert_eq!(sent, 1, "an INVALID-ID-INFORMATION notify");
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.b.child_sas(hb).len(), before);
    assert!(b_events(&mut p)
        .iter()
        .all(|e| !matches!(e, Event::ChildSaInstall(_))));
    p.b.audit().unwrap();
}

#[test]
fn phase_2_before_phase_1_and_foreign_payloads_are_dropped() {
    let (mut p, ha, hb) = established();
    // A Quick Mode with cookies nobody has: unknown SPI.
    let mut m =
        p.a.v1_forge(
            ha,
            QUICK_MODE,
            0x8888,
            &[(NONCE, vec![1; 16])],
            Some(true),
            true,
        )
        .unwrap();
    m[0] ^= 0xff;
    let (_, drops) = to_b(&mut p, &m, DropReason::UnknownSpi);
    assert_eq!(drops, 1);
    // Quick Mode with IKEv2 payload types inside (SA 33, Nonce 40): the HASH verifies, the
    // message is refused (no Child SA, the ISAKMP SA stays).
    let m =
        p.a.v1_forge(
            ha,
            QUICK_MODE,
            0x9999,
            &[(33, vec![0; 8]), (40, vec![1; 16])],
            Some(true),
            true,
        )
        .unwrap();
    to_b(&mut p, &m, DropReason::InvalidPayloads);
    assert!(p.b.is_established(hb));
    assert_eq!(p.b.child_sas(hb).len(), 1);
    // Quick Mode in the clear: must be encrypted.
    let m =
        p.a.v1_forge(
            ha,
            QUICK_MODE,
            0xaaaa,
            &[(NONCE, vec![1; 16])],
            Some(true),
            false,
        )
        .unwrap();
    let (_, drops) = to_b(&mut p, &m, DropReason::InvalidPayloads);
    assert_eq!(drops, 1);
    // An IKEv2 message with the ISAKMP SA's cookies as SPIs: IKEv2 has no such SA.
    let mut v2 = m.clone();
    v2[17] = 0x20;
    v2[18] = 37;
    let (_, drops) = to_b(&mut p, &v2, DropReason::Undecodable);
    let unknown = p.b.stats().drops.get(DropReason::UnknownSpi);
    assert!(
        drops == 1 || unknown >= 2,
        "dropped as undecodable or unknown"
    );
    assert_eq!(p.b.sa_count(), 1);
    p.b.audit().unwrap();

    // Quick Mode to a responder with no ISAKMP SA yet (before Phase 1): a Main Mode responder
    // whose message 1 only arrived.
    let (q, qa, _) = established();
    let forged =
        q.a.v1_forge(
            qa,
            QUICK_MODE,
            0xbbbb,
            &[(NONCE, vec![1; 16])],
            Some(true),
            true,
        )
        .unwrap();
    let fresh = Endpoint::new(
        EndpointConfig::default(),
        Vec::new(),
        Box::new(SeededRng::new(9)),
    )
    .unwrap();
    let mut fresh = fresh;
    fresh.handle_datagram(q.now(), q.addr_b, q.addr_a, &forged);
    assert!(fresh.poll_transmit().is_none());
    assert_eq!(fresh.sa_count(), 0);
}

#[test]
fn an_aggressive_mode_reject_leaves_no_cookie_to_reuse() {
    let s = Side {
        ike: &["aes128-sha256-modp2048"],
        esp: &["aes128-sha256"],
        ..Side::default()
    };
    let mut pa = peer("site-b", B, "a.example.org", "b.example.org", &s);
    let mut pb = peer("site-a", A, "b.example.org", "a.example.org", &s);
    pa.version = IkeVersion::V1;
    pb.version = IkeVersion::V1;
    pa.exchange = V1Exchange::main_or_aggressive(true);
    let mut p = pair_of_peers(EndpointConfig::default(), pa, pb, 7, Faults::none(), 2);
    initiate(&mut p);
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.b.sa_count(), 0, "refused without state");
    // The refused message 1 again, then a Main Mode message 3 reusing its cookie with a made-up
    // responder cookie: no state, counted as an unknown SPI.
    let am1 = p.log[0].payload.clone();
    let mut mm3 = am1.clone();
    mm3[8..16].copy_from_slice(&[7; 8]);
    mm3[18] = 2;
    let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
    p.b.handle_datagram(now, b, a, &am1);
    p.b.handle_datagram(now, b, a, &mm3);
    assert_eq!(p.b.sa_count(), 0);
    assert!(p.b.stats().drops.get(DropReason::UnknownSpi) >= 1);
    p.b.audit().unwrap();
}

#[test]
fn a_protected_no_proposal_chosen_for_an_sa_removes_it() {
    let (mut p, ha, hb) = established();
    let spi_in = installs(&p.events_b)[0].spi_in;
    // NO-PROPOSAL-CHOSEN (14) for ESP naming the responder's inbound SPI, as strongSwan sends
    // it when it cannot install after Quick Mode message 2.
    let mut n = vec![0, 0, 0, 1, 3, 4, 0, 14];
    n.extend_from_slice(&spi_in.to_be_bytes());
    let m =
        p.a.v1_forge(ha, INFORMATIONAL, 0x6161, &[(NOTIFY, n)], Some(true), true)
            .unwrap();
    to_b(&mut p, &m, DropReason::IntegrityCheckFailed);
    assert!(p.b.child_sas(hb).is_empty());
    assert!(b_events(&mut p)
        .iter()
        .any(|e| matches!(e, Event::ChildSaDelete { spi_in: s, .. } if *s == spi_in)));
    assert!(p.b.is_established(hb), "the ISAKMP SA stays");
    p.b.audit().unwrap();
}

/// An ISAKMP Base exchange (type 1, RFC 2408 §4.4) or Authentication Only exchange (type 3,
/// §4.6) message 1: refused with an unprotected INVALID-EXCHANGE-TYPE notify carrying the
/// initiator's cookie, counted, and no state kept.
#[test]
fn base_and_authentication_only_exchanges_are_refused_with_a_notify() {
    let (mut p, _, _) = established();
    for exchange in [1u8, 3] {
        // Main Mode's message 1 (HDR; SA; VIDs) with the exchange type changed and a new
        // initiator cookie.
        let mut m = p.log[0].payload.clone();
        m[..8].copy_from_slice(&[0x11; 8]);
        m[18] = exchange;
        let before = p.b.sa_count();
        let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
        p.b.handle_datagram(now, b, a, &m);
        let reply =
            p.b.poll_transmit()
                .unwrap_or_else(|| panic!("a notify: {:?}", p.b.stats().drops));
        assert!(p.b.poll_transmit().is_none());
        let r = &reply.payload;
        assert_eq!(&r[..8], &[0x11; 8], "the initiator's cookie");
        assert_eq!((r[16], r[18]), (NOTIFY, INFORMATIONAL));
        // Notify body (at 32): DOI (4), protocol, SPI size, then the type, 7.
        assert_eq!(
            u16::from_be_bytes([r[38], r[39]]),
            7,
            "INVALID-EXCHANGE-TYPE"
        );
        assert_eq!(p.b.sa_count(), before);
        p.b.audit().unwrap();
    }
}

/// New Group Mode before Phase 1 is complete (RFC 2409 §5.6: "MUST NOT be used prior to
/// establishment of an ISAKMP SA"): a message of type 33 with the cookies of an SA between
/// Main Mode messages 2 and 3 is dropped, nothing sent, the half-open SA unchanged.
#[test]
fn new_group_mode_before_phase_1_is_dropped() {
    let (p, _, _) = established();
    let mm1 = p.log[0].payload.clone();
    let mut b = Endpoint::new(
        EndpointConfig::default(),
        vec![{
            let mut pb = peer(
                "site-a",
                A,
                "b.example.org",
                "a.example.org",
                &Side {
                    ike: &["aes128-sha256-modp2048"],
                    esp: &["aes128-sha256"],
                    local_ts: &["10.88.2.0/24"],
                    remote_ts: &["10.88.1.0/24"],
                    ..Side::default()
                },
            );
            pb.version = IkeVersion::V1;
            pb
        }],
        Box::new(SeededRng::new(77)),
    )
    .unwrap();
    let (now, a_addr, b_addr) = (p.now(), p.addr_a, p.addr_b);
    b.handle_datagram(now, b_addr, a_addr, &mm1);
    let mm2 = b.poll_transmit().unwrap().payload;
    assert_eq!(b.half_open_count(), 1);
    // HDR* with the SA's cookies, exchange 33, a message ID, and 32 octets of "ciphertext".
    let mut ngm = mm2[..16].to_vec();
    ngm.extend_from_slice(&[8, 0x10, 33, 1, 0, 0, 0, 7]);
    ngm.extend_from_slice(&(28u32 + 32).to_be_bytes());
    ngm.extend_from_slice(&[0x5a; 32]);
    let before = b.stats().drops.get(DropReason::WrongState);
    b.handle_datagram(now, b_addr, a_addr, &ngm);
    assert!(b.poll_transmit().is_none());
    assert_eq!(b.stats().drops.get(DropReason::WrongState), before + 1);
    assert_eq!((b.half_open_count(), b.sa_count()), (1, 1));
    b.audit().unwrap();
}
