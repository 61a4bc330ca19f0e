//! Arbitrary datagrams into the IKEv2 engine (issue 4): to a fresh responder endpoint, where they
//! meet the admission step, and to the responder of an IKE SA (with the SA's SPIs patched into
//! the header, so that they reach its message handling): established, or half-open between
//! IKE_SA_INIT and IKE_AUTH; with RFC 7383 fragmentation on or off (the first input byte picks).
//! Nothing may panic, and an SA must survive garbage: it establishes, and stays established.
#![no_main]

use std::net::SocketAddr;
use std::time::Instant;

use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Identity, Mode, PeerConfig, Ts,
};
use libfuzzer_sys::fuzz_target;

fn peer(name: &str, remote: &str, local_id: &str, remote_id: &str) -> PeerConfig {
    PeerConfig {
        name: name.into(),
        remote_addrs: vec![remote.parse().unwrap()],
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"fuzz")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"fuzz")),
        ike_proposals: vec![Proposal::parse_ike("aes128gcm16-prfsha256-x25519").unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            remote_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
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

fuzz_target!(|data: &[u8]| {
    let a_addr: SocketAddr = "10.77.0.1:500".parse().unwrap();
    let b_addr: SocketAddr = "10.77.0.2:500".parse().unwrap();
    let now = Instant::now();
    let variant = data.first().copied().unwrap_or(0) % 4;
    // Variants 1 and 3 fragment every encrypted message above 200 bytes (IKE_AUTH included).
    let cfg = || EndpointConfig {
        fragment_size: if variant % 2 == 1 {
            200
        } else {
            EndpointConfig::default().fragment_size
        },
        ..EndpointConfig::default()
    };
    let half_open = variant >= 2;
    let mut a = Endpoint::new(
        cfg(),
        vec![peer("b", "10.77.0.2", "a", "b")],
        Box::new(SeededRng::new(1)),
    )
    .unwrap();
    let mut b = Endpoint::new(
        cfg(),
        vec![peer("a", "10.77.0.1", "b", "a")],
        Box::new(SeededRng::new(2)),
    )
    .unwrap();

    // A fresh responder sees the datagram first.
    b.handle_datagram(now, b_addr, a_addr, data);
    while b.poll_transmit().is_some() {}

    // Establish an IKE SA (four messages), then deliver the datagram with its SPIs; or deliver
    // it between IKE_SA_INIT and IKE_AUTH.
    let mut b = Endpoint::new(
        cfg(),
        vec![peer("a", "10.77.0.1", "b", "a")],
        Box::new(SeededRng::new(2)),
    )
    .unwrap();
    a.initiate(now, a_addr, "b").unwrap();
    let mut spis = None;
    if half_open {
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, b_addr, a_addr, &t.payload);
        }
        let mut replies = Vec::new();
        while let Some(t) = b.poll_transmit() {
            spis = t.payload.get(..16).map(<[u8]>::to_vec);
            replies.push(t.payload);
        }
        let mut datagram = data.to_vec();
        if let (Some(head), Some(spis)) = (datagram.get_mut(..16), spis.as_ref()) {
            head.copy_from_slice(spis);
        }
        b.handle_datagram(now, b_addr, a_addr, &datagram);
        while b.poll_transmit().is_some() {}
        for r in replies {
            a.handle_datagram(now, a_addr, b_addr, &r);
        }
    }
    for _ in 0..4 {
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, b_addr, a_addr, &t.payload);
        }
        while let Some(t) = b.poll_transmit() {
            spis = t.payload.get(..16).map(<[u8]>::to_vec);
            a.handle_datagram(now, a_addr, b_addr, &t.payload);
        }
    }
    let sa = b.established();
    assert_eq!(
        sa.len(),
        1,
        "no SA established (variant {variant}): garbage broke a handshake"
    );
    let mut datagram = data.to_vec();
    if let (Some(head), Some(spis)) = (datagram.get_mut(..16), spis) {
        head.copy_from_slice(&spis);
    }
    b.handle_datagram(now, b_addr, a_addr, &datagram);
    while b.poll_transmit().is_some() {}
    a.handle_datagram(now, a_addr, b_addr, &datagram);
    while a.poll_transmit().is_some() {}
    assert!(
        b.is_established(sa[0]),
        "garbage tore down an established SA"
    );
});
