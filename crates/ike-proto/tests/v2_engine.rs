//! Engine-to-engine scenarios through the simulated network (ike-testkit): establishment with
//! PSK and a first Child SA, the refusals (wrong PSK, no proposal, narrowed selectors), the
//! INVALID_KE_PAYLOAD and COOKIE round trips, admission caps, deletes, retransmission, and a
//! property over many seeds with loss, duplication and reordering.

mod common;

use std::time::Duration;

use common::*;

use ike_proto::v2::{
    CloseReason, DropReason, EndpointConfig, Event, Identity, Mode, ProtocolError, Ts,
};
use ike_testkit::sim::Faults;
use ike_wire::v2::NotifyType;

#[test]
fn psk_establishes_ike_sa_and_first_child_with_matching_keys() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    assert!(established(&p.events_a) && established(&p.events_b));
    let (ca, cb) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
    assert_eq!((ca.spi_in, ca.spi_out), (cb.spi_out, cb.spi_in));
    assert_eq!(ca.keys_out.0.expose(), cb.keys_in.0.expose());
    assert_eq!(ca.keys_in.0.expose(), cb.keys_out.0.expose());
    assert_ne!(ca.keys_in.0.expose(), ca.keys_out.0.expose());
    assert_eq!(ca.keys_out.0.len(), 20, "AES-128-GCM key and 4-byte salt");
    assert_eq!(ca.proposal, "aes128gcm16");
    assert_eq!(ca.local_ts, vec![Ts::cidr("10.88.1.0/24").unwrap()]);
    assert_eq!(cb.local_ts, vec![Ts::cidr("10.88.2.0/24").unwrap()]);
    assert_eq!(ca.mode, Mode::Tunnel);
    let Some(Event::IkeSaEstablished {
        proposal,
        remote_id,
        initiator,
        ..
    }) = p
        .events_a
        .iter()
        .find(|e| matches!(e, Event::IkeSaEstablished { .. }))
    else {
        panic!()
    };
    assert_eq!(proposal, "aes128gcm16-prfsha256-x25519");
    assert_eq!(remote_id, &Identity::parse("b.example.org"));
    assert!(*initiator);
    // Four messages: IKE_SA_INIT and IKE_AUTH, nothing retransmitted.
    assert_eq!(p.log.len(), 4);
}

#[test]
fn cbc_with_hmac_and_modp2048_establish() {
    let mut p = pair(
        Side {
            ike: &["aes256-sha256-modp2048"],
            esp: &["aes256-sha256"],
            ..Side::default()
        },
        Side {
            ike: &["aes256-sha256-modp2048"],
            esp: &["aes256-sha256"],
            ..Side::responder()
        },
    );
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 1
            && installs(&p.events_a).len() == 1)
    );
    let c = installs(&p.events_a)[0];
    assert_eq!(c.proposal, "aes256-sha256");
    assert_eq!((c.keys_out.0.len(), c.keys_out.1.len()), (32, 32));
}

#[test]
fn wrong_psk_is_authentication_failed_on_both_sides() {
    let mut p = pair(
        Side {
            psk: "not the secret",
            ..Side::default()
        },
        Side::responder(),
    );
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
            && closed(&p.events_b).is_some())
    );
    assert!(matches!(
        closed(&p.events_b),
        Some(CloseReason::LocalError(
            ProtocolError::AuthenticationFailed(_)
        ))
    ));
    assert_eq!(
        closed(&p.events_a),
        Some(&CloseReason::PeerError(NotifyType::AuthenticationFailed))
    );
    assert!(!established(&p.events_a) && installs(&p.events_b).is_empty());
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (0, 0));
}

#[test]
fn responder_rejects_the_initiators_wrong_psk_for_it() {
    // The initiator checks the responder's AUTH too, and tells the responder (§2.21.2), which
    // had established the SA: both end with nothing.
    let mut p = pair(
        Side {
            peer_psk: "expected something else",
            ..Side::default()
        },
        Side::responder(),
    );
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
            && closed(&p.events_b).is_some())
    );
    assert!(matches!(
        closed(&p.events_a),
        Some(CloseReason::LocalError(
            ProtocolError::AuthenticationFailed(_)
        ))
    ));
    assert!(established(&p.events_b), "the responder had established it");
    assert_eq!(
        closed(&p.events_b),
        Some(&CloseReason::PeerError(NotifyType::AuthenticationFailed))
    );
    // The responder deleted its Child SA too, and nothing is left on either side.
    assert_eq!(installs(&p.events_b).len(), 1);
    assert!(p
        .events_b
        .iter()
        .any(|e| matches!(e, ike_proto::v2::Event::ChildSaDelete { .. })));
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (0, 0));
}

#[test]
fn no_common_proposal_is_no_proposal_chosen_without_responder_state() {
    let mut p = pair(
        Side {
            ike: &["aes128-sha1-modp2048"],
            ..Side::default()
        },
        Side::responder(),
    );
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()));
    assert_eq!(
        closed(&p.events_a),
        Some(&CloseReason::PeerError(NotifyType::NoProposalChosen))
    );
    assert_eq!(p.b.sa_count(), 0);
}

#[test]
fn invalid_ke_payload_makes_the_initiator_retry_with_the_requested_group() {
    let a = Side {
        ike: &["aes128gcm16-prfsha256-x25519-modp2048"],
        ..Side::default()
    };
    let b = Side {
        ike: &["aes128gcm16-prfsha256-modp2048"],
        ..Side::responder()
    };
    let mut p = pair(a, b);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| established(&p.events_a)
            && established(&p.events_b))
    );
    let Some(Event::IkeSaEstablished { proposal, .. }) = p
        .events_a
        .iter()
        .find(|e| matches!(e, Event::IkeSaEstablished { .. }))
    else {
        panic!()
    };
    assert_eq!(proposal, "aes128gcm16-prfsha256-modp2048");
    // INIT, INVALID_KE, INIT again, response, AUTH pair.
    assert_eq!(p.log.len(), 6);
}

#[test]
fn cookie_round_trip_when_half_open_threshold_is_reached() {
    let cfg = EndpointConfig {
        cookie_threshold: 0,
        ..EndpointConfig::default()
    };
    let mut p = pair_with(Side::default(), Side::responder(), cfg, Faults::none(), 3);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    assert_eq!(p.b.stats().cookies_sent, 1);
    assert_eq!(p.log.len(), 6);
}

#[test]
fn half_open_cap_drops_requests_before_any_state() {
    let cfg = EndpointConfig {
        max_half_open: 0,
        ..EndpointConfig::default()
    };
    let mut p = pair_with(Side::default(), Side::responder(), cfg, Faults::none(), 4);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(600), |p| closed(&p.events_a).is_some()));
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Timeout));
    assert_eq!(p.b.sa_count(), 0);
    // The first transmission and five retransmissions, all dropped.
    assert_eq!(p.b.stats().drops.get(DropReason::HalfOpenLimit), 6);
}

#[test]
fn delete_from_either_side_removes_all_state() {
    for from_a in [true, false] {
        let mut p = pair(Side::default(), Side::responder());
        initiate(&mut p);
        assert!(
            p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
                == 1
                && installs(&p.events_a).len() == 1)
        );
        let now = p.now();
        if from_a {
            let h = p.a.established()[0];
            p.a.delete(now, h).unwrap();
        } else {
            let h = p.b.established()[0];
            p.b.delete(now, h).unwrap();
        }
        assert!(
            p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()
                && closed(&p.events_b).is_some())
        );
        let (deleter, other) = if from_a {
            (&p.events_a, &p.events_b)
        } else {
            (&p.events_b, &p.events_a)
        };
        assert_eq!(closed(deleter), Some(&CloseReason::Deleted));
        assert_eq!(closed(other), Some(&CloseReason::DeletedByPeer));
        for ev in [&p.events_a, &p.events_b] {
            assert_eq!(
                ev.iter()
                    .filter(|e| matches!(e, Event::ChildSaDelete { .. }))
                    .count(),
                1
            );
        }
        assert_eq!((p.a.sa_count(), p.b.sa_count()), (0, 0));
    }
}

#[test]
fn liveness_check_is_answered() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    let before = p.log.len();
    let (now, h) = (p.now(), p.a.established()[0]);
    p.a.check_liveness(now, h).unwrap();
    p.run_for(Duration::from_secs(30));
    assert_eq!(
        p.log.len(),
        before + 2,
        "one request, one response, no retransmission"
    );
    assert!(p.a.is_established(h));
}

#[test]
fn dead_peer_makes_requests_time_out() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    p.faults.loss = 1.0;
    let (now, h) = (p.now(), p.a.established()[0]);
    p.a.check_liveness(now, h).unwrap();
    assert!(p.run_until(Duration::from_secs(600), |p| closed(&p.events_a).is_some()));
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Timeout));
    // 2 + 3.6 + 6.48 + 11.7 + 21 + 37.8 s: the give-up point of the default back-off.
    assert!(
        p.elapsed() > Duration::from_secs(80) && p.elapsed() < Duration::from_secs(90),
        "{:?}",
        p.elapsed()
    );
}

#[test]
fn transport_mode_when_both_ask() {
    let side = || Side {
        mode: Mode::Transport,
        local_ts: &["10.77.0.1/32"],
        remote_ts: &["10.77.0.2/32"],
        ..Side::default()
    };
    let b = Side {
        mode: Mode::Transport,
        local_ts: &["10.77.0.2/32"],
        remote_ts: &["10.77.0.1/32"],
        ..Side::default()
    };
    let mut p = pair(side(), b);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    assert_eq!(installs(&p.events_a)[0].mode, Mode::Transport);
    assert_eq!(installs(&p.events_b)[0].mode, Mode::Transport);
}

#[test]
fn responder_narrows_traffic_selectors() {
    let a = Side {
        local_ts: &["10.88.0.0/16"],
        remote_ts: &["10.99.0.0/16"],
        ..Side::default()
    };
    let b = Side {
        local_ts: &["10.99.5.0/24"],
        remote_ts: &["10.88.1.0/24"],
        ..Side::default()
    };
    let mut p = pair(a, b);
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    let c = installs(&p.events_a)[0];
    assert_eq!(c.local_ts, vec![Ts::cidr("10.88.1.0/24").unwrap()]);
    assert_eq!(c.remote_ts, vec![Ts::cidr("10.99.5.0/24").unwrap()]);
}

#[test]
fn disjoint_selectors_fail_the_child_but_not_the_ike_sa() {
    let b = Side {
        local_ts: &["192.0.2.0/24"],
        remote_ts: &["198.51.100.0/24"],
        ..Side::default()
    };
    let mut p = pair(Side::default(), b);
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(10), |p| established(&p.events_a)));
    let failed = p.events_a.iter().find_map(|e| match e {
        Event::ChildSaFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(failed, Some(ProtocolError::TsUnacceptable));
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    assert_eq!(p.a.established().len(), 1);
}

#[test]
fn garbage_and_unknown_spis_are_dropped_without_state() {
    let mut p = pair(Side::default(), Side::responder());
    let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
    p.b.handle_datagram(now, b, a, b"not an IKE message at all, just bytes");
    let mut msg = vec![0u8; 28];
    msg[0] = 9;
    msg[8] = 7; // a responder SPI we never chose
    msg[17] = 0x20;
    msg[18] = 37;
    msg[19] = 0x08;
    msg[27] = 28;
    p.b.handle_datagram(now, b, a, &msg);
    // An ISAKMP (IKEv1) Main Mode header without an IKEv1 connection: counted, dropped.
    let mut v1 = vec![0u8; 28];
    v1[0] = 3;
    v1[16] = 1; // SA
    v1[17] = 0x10;
    v1[18] = 2; // Identity Protection (Main Mode)
    v1[27] = 28;
    p.b.handle_datagram(now, b, a, &v1);
    let drops = p.b.stats().drops;
    assert_eq!(drops.get(DropReason::Undecodable), 1);
    assert_eq!(drops.get(DropReason::UnknownSpi), 1);
    assert_eq!(drops.get(DropReason::UnsupportedVersion), 1);
    assert_eq!(drops.total(), 3);
    assert_eq!(p.b.sa_count(), 0);
    assert!(p.b.poll_transmit().is_none());
}

#[test]
fn half_open_responder_state_expires() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    // Let IKE_SA_INIT through, then lose everything.
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.half_open_count() == 1));
    p.faults.loss = 1.0;
    assert!(p.run_until(Duration::from_secs(60), |p| p.b.sa_count() == 0));
    assert_eq!(closed(&p.events_b), Some(&CloseReason::HalfOpenExpired));
}

/// Over many seeds, with 25% loss, duplicates and reordering: every initiated connection ends
/// established or failed with a reason within bounded virtual time, keys agree, and after a
/// delete no state remains.
#[test]
fn lossy_networks_establish_or_fail_with_a_reason_and_leave_no_state() {
    let mut established_runs = 0;
    for seed in 0..40u64 {
        let mut p = pair_with(
            Side::default(),
            Side::responder(),
            EndpointConfig::default(),
            Faults::lossy(0.25),
            seed,
        );
        initiate(&mut p);
        let settled = p.run_until(Duration::from_secs(300), |p| {
            (installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1)
                || closed(&p.events_a).is_some()
        });
        assert!(
            settled,
            "seed {seed}: neither established nor failed in 300 s"
        );
        if let Some(reason) = closed(&p.events_a) {
            assert_eq!(reason, &CloseReason::Timeout, "seed {seed}");
            continue;
        }
        established_runs += 1;
        let (ca, cb) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
        assert_eq!(ca.keys_out.0.expose(), cb.keys_in.0.expose(), "seed {seed}");
        assert_eq!(
            installs(&p.events_b).len(),
            1,
            "seed {seed}: a duplicated request installed twice"
        );
        let (now, h) = (p.now(), p.a.established()[0]);
        p.a.delete(now, h).unwrap();
        let done = p.run_until(Duration::from_secs(600), |p| {
            closed(&p.events_a).is_some() && p.a.sa_count() == 0
        });
        assert!(done, "seed {seed}: delete did not finish");
        // The responder learns of the delete, or (if every try was lost) keeps an SA that a
        // liveness check would later remove; it never has more than one.
        assert!(p.b.sa_count() <= 1, "seed {seed}");
    }
    assert!(
        established_runs >= 30,
        "only {established_runs} of 40 runs established"
    );
}

/// §2.4: a restarted initiator's new IKE SA carries INITIAL_CONTACT, and the responder drops
/// the stale IKE SA (and its Child SAs) it still held for that identity.
#[test]
fn initial_contact_replaces_the_stale_sa() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 1)
    );
    let old_b = p.b.established()[0];
    // The initiator "restarts": a fresh endpoint with the same configuration.
    p.a = ike_proto::v2::Endpoint::new(
        EndpointConfig::default(),
        vec![peer(
            "site-b",
            B,
            "a.example.org",
            "b.example.org",
            &Side::default(),
        )],
        Box::new(ike_crypto::rng::SeededRng::new(99)),
    )
    .unwrap();
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 2)
    );
    assert_eq!(p.b.sa_count(), 1);
    assert!(!p.b.established().contains(&old_b));
    assert_eq!(closed(&p.events_b), Some(&CloseReason::Replaced));
    assert_eq!(
        p.events_b
            .iter()
            .filter(|e| matches!(e, Event::ChildSaDelete { .. }))
            .count(),
        1
    );
}

/// A second IKE SA of a connection that is already up carries no INITIAL_CONTACT, so both stay.
#[test]
fn second_sa_does_not_replace_the_first() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 1)
    );
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 2)
    );
    assert_eq!((p.a.sa_count(), p.b.sa_count()), (2, 2));
    assert!(closed(&p.events_b).is_none());
}

/// RFC 6023: a connection without children establishes a childless IKE SA.
#[test]
fn childless_ike_sa() {
    let mut p = pair(Side::default(), Side::responder());
    let pa = {
        let mut c = peer(
            "site-b",
            B,
            "a.example.org",
            "b.example.org",
            &Side::default(),
        );
        c.children.clear();
        c
    };
    p.a = ike_proto::v2::Endpoint::new(
        EndpointConfig::default(),
        vec![pa],
        Box::new(ike_crypto::rng::SeededRng::new(5)),
    )
    .unwrap();
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.a.established().len() == 1
            && p.b.established().len() == 1)
    );
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    // A child can follow with CREATE_CHILD_SA once the connection names one; here the IKE SA
    // simply stays up and answers.
    let (now, h) = (p.now(), p.a.established()[0]);
    p.a.check_liveness(now, h).unwrap();
    p.run_for(Duration::from_secs(5));
    assert!(p.a.is_established(h));
}

/// The responder picks in its own order by default, and in the initiator's order with
/// `prefer_initiator_proposals` (strongSwan's `prefer_configured_proposals = no`).
#[test]
fn proposal_selection_order_is_a_setting() {
    let a = Side {
        ike: &[
            "aes256gcm16-prfsha384-ecp384",
            "aes128gcm16-prfsha256-x25519",
        ],
        ..Side::default()
    };
    let b = || Side {
        ike: &[
            "aes128gcm16-prfsha256-x25519",
            "aes256gcm16-prfsha384-ecp384",
        ],
        ..Side::responder()
    };
    let proposal = |p: &ike_testkit::sim::Pair| {
        p.events_b.iter().find_map(|e| match e {
            Event::IkeSaEstablished { proposal, .. } => Some(proposal.clone()),
            _ => None,
        })
    };
    for (initiator_order, expected) in [
        (false, "aes128gcm16-prfsha256-x25519"),
        (true, "aes256gcm16-prfsha384-ecp384"),
    ] {
        let a = Side {
            ike: a.ike,
            ..Side::default()
        };
        let cfg = EndpointConfig {
            prefer_initiator_proposals: initiator_order,
            ..EndpointConfig::default()
        };
        let mut p = pair_with(a, b(), cfg, Faults::none(), 9);
        initiate(&mut p);
        assert!(
            p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
                == 1)
        );
        assert_eq!(
            proposal(&p).as_deref(),
            Some(expected),
            "initiator order {initiator_order}"
        );
    }
}

/// A configuration reload (`Endpoint::set_peers`): SAs of kept connections follow them by name
/// to their new position and keep working; SAs of removed connections close locally.
#[test]
fn set_peers_keeps_renumbered_connections_and_closes_removed_ones() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    let h = p.a.established()[0];
    assert_eq!(p.a.connection_of(h), Some("site-b"));

    // Another connection in front: site-b moves from index 0 to 1 and its SA still works.
    let other = peer(
        "other",
        "10.77.0.9:500",
        "a.example.org",
        "c.example.org",
        &Side::default(),
    );
    let site_b = peer(
        "site-b",
        B,
        "a.example.org",
        "b.example.org",
        &Side::default(),
    );
    p.a.set_peers(vec![other.clone(), site_b]);
    assert_eq!(p.a.handles_all(), vec![h]);
    let now = p.now();
    p.a.check_liveness(now, h).unwrap();
    p.run_for(Duration::from_secs(5));
    assert!(p.a.is_established(h));
    assert!(closed(&p.events_a).is_none());

    // site-b removed: its SA closes here (the driver deletes it first to tell the peer).
    p.a.set_peers(vec![other]);
    p.run_for(Duration::from_millis(10));
    assert_eq!(closed(&p.events_a), Some(&CloseReason::Deleted));
    assert_eq!(p.a.sa_count(), 0);
    assert_eq!(p.a.connection_of(h), None);
}
