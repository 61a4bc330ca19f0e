//! Arbitrary datagrams into the IKEv1 engine: to a fresh responder (Main Mode or Aggressive
//! Mode message 1 admission), to a half-open responder ISAKMP SA between Main Mode messages
//! (its cookies patched into the header), and to both ends of an established ISAKMP SA with an
//! IPsec SA (the Quick Mode, Informational and fragment paths; the message ID and flags come
//! from the input). The first input byte picks the variant. Nothing may panic, and an
//! established ISAKMP SA must survive garbage: it stays established and keeps its IPsec SA.
//!
//! Variants 6 and 7 run the first two with public-key encryption (RFC 2409 §5.2 in Main Mode,
//! the revised mode of §5.3 in Aggressive Mode). Variants 8 and 9 run the half-open one with
//! the ISAKMP Base exchange and the Authentication Only exchange (RFC 2408 §4.4, §4.6; the
//! latter keys no IPsec SA).
//!
//! Variants 4 and 5 go past authentication: the input is a payload chain that the peer's keys
//! encrypt, after a HASH(1) that is right, wrong or absent, as a Quick Mode (4) or an
//! Informational (5) message to either end (`Endpoint::v1_forge`), so the code after the
//! HASH check sees arbitrary payloads. Layout: byte 0 the variant, byte 1 flags (bit 0: HASH
//! right, bit 1: HASH absent, bit 2: to the initiator, bit 3: New Group Mode instead of Quick
//! Mode), bytes 2..6 the message ID, then
//! payloads as (type, length low byte, body). An authenticated Delete or error notify may end
//! the SA there; the tables must stay consistent (`Endpoint::audit`).
#![no_main]

use std::net::SocketAddr;
use std::time::Instant;

use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_proto::config::{IkeVersion, V1Exchange};
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Event, Identity, Mode,
    PeerConfig, Ts,
};
use libfuzzer_sys::fuzz_target;

/// Public-key encryption keys (both ends hold the same test-only key), made once.
fn pke_keys(revised: bool) -> (AuthMethod, AuthMethod) {
    static KEYS: std::sync::OnceLock<(
        std::sync::Arc<ike_crypto::pke::PkeDecryptor>,
        ike_crypto::x509::Certificate,
    )> = std::sync::OnceLock::new();
    let (d, cert) = KEYS.get_or_init(|| {
        let key = include_bytes!("../../crates/ike-crypto/tests/data/test-only-rsa2048.pem");
        let cert = include_bytes!("../data/test-only-rsa2048-cert.pem");
        (
            std::sync::Arc::new(ike_crypto::pke::PkeDecryptor::from_pem(key).unwrap()),
            ike_crypto::x509::Certificate::from_pem(cert)
                .unwrap()
                .remove(0),
        )
    });
    (
        AuthMethod::PkeKey {
            decryptor: d.clone(),
            cert: cert.clone(),
            revised,
        },
        AuthMethod::PkePeer {
            cert: cert.clone(),
            revised,
        },
    )
}

/// `method`: 0 pre-shared key, 1 public-key encryption, 2 its revised mode.
fn peer(
    remote: &str,
    local_id: &str,
    remote_id: &str,
    exchange: V1Exchange,
    method: u8,
) -> PeerConfig {
    let (local_auth, remote_auth) = match method {
        0 => (
            AuthMethod::Psk(Secret::from_slice(b"fuzz")),
            AuthMethod::Psk(Secret::from_slice(b"fuzz")),
        ),
        m => pke_keys(m == 2),
    };
    PeerConfig {
        name: "peer".into(),
        remote_addrs: vec![remote.parse().unwrap()],
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth,
        remote_auth,
        ike_proposals: vec![Proposal::parse_ike("aes128-sha256-x25519").unwrap()],
        children: if exchange == V1Exchange::AuthOnly {
            Vec::new()
        } else {
            vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            remote_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp("aes128-sha256").unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }]
        },
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: IkeVersion::V1,
        exchange,
    }
}

fn pump(a: &mut Endpoint, b: &mut Endpoint, now: Instant, a_addr: SocketAddr, b_addr: SocketAddr) {
    for _ in 0..8 {
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, t.remote, t.local, &t.payload);
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_datagram(now, t.remote, t.local, &t.payload);
        }
    }
    let _ = (a_addr, b_addr);
}

fuzz_target!(|data: &[u8]| {
    let a_addr: SocketAddr = "10.77.0.1:500".parse().unwrap();
    let b_addr: SocketAddr = "10.77.0.2:500".parse().unwrap();
    let now = Instant::now();
    let variant = data.first().copied().unwrap_or(0) % 10;
    let exchange = match variant {
        3 | 7 => V1Exchange::Aggressive,
        8 => V1Exchange::Base,
        9 => V1Exchange::AuthOnly,
        _ => V1Exchange::Main,
    };
    // Variants 6 and 7: public-key encryption (Main Mode, half-open), its revised mode
    // (Aggressive Mode).
    let method = match variant {
        6 => 1,
        7 => 2,
        _ => 0,
    };
    let cfg = || EndpointConfig {
        fragment_size: if variant == 2 {
            200
        } else {
            EndpointConfig::default().fragment_size
        },
        ..EndpointConfig::default()
    };
    let mut a = Endpoint::new(
        cfg(),
        vec![peer("10.77.0.2", "a", "b", exchange, method)],
        Box::new(SeededRng::new(1)),
    )
    .unwrap();
    let mut b = Endpoint::new(
        cfg(),
        vec![peer("10.77.0.1", "b", "a", exchange, method)],
        Box::new(SeededRng::new(2)),
    )
    .unwrap();

    // A fresh responder sees the datagram first (as it came, and with a zero responder cookie).
    b.handle_datagram(now, b_addr, a_addr, data);
    let mut first = data.to_vec();
    if let Some(r) = first.get_mut(8..16) {
        r.fill(0);
    }
    b.handle_datagram(now, b_addr, a_addr, &first);
    while b.poll_transmit().is_some() {}
    let mut b = Endpoint::new(
        cfg(),
        vec![peer("10.77.0.1", "b", "a", exchange, method)],
        Box::new(SeededRng::new(2)),
    )
    .unwrap();

    a.initiate(now, a_addr, "peer").unwrap();
    // Half-open: after Main Mode message 1 and 2, the datagram with the SA's cookies.
    if matches!(variant, 1 | 6 | 8 | 9) {
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, b_addr, a_addr, &t.payload);
        }
        let mut cookies = None;
        let mut replies = Vec::new();
        while let Some(t) = b.poll_transmit() {
            cookies = t.payload.get(..16).map(<[u8]>::to_vec);
            replies.push(t.payload);
        }
        let mut d = data.to_vec();
        if let (Some(head), Some(c)) = (d.get_mut(..16), cookies.as_ref()) {
            head.copy_from_slice(c);
        }
        b.handle_datagram(now, b_addr, a_addr, &d);
        while b.poll_transmit().is_some() {}
        for r in replies {
            a.handle_datagram(now, a_addr, b_addr, &r);
        }
    }
    pump(&mut a, &mut b, now, a_addr, b_addr);
    let sa = b.established();
    assert_eq!(
        sa.len(),
        1,
        "no ISAKMP SA (variant {variant}): garbage broke a handshake"
    );
    let installed = |e: &mut Endpoint| {
        let mut n = 0;
        while let Some(ev) = e.poll_event() {
            if matches!(ev, Event::ChildSaInstall(_)) {
                n += 1;
            }
        }
        n
    };
    let want = usize::from(exchange != V1Exchange::AuthOnly);
    assert_eq!(installed(&mut b), want, "IPsec SAs (variant {variant})");
    if variant == 4 || variant == 5 {
        authenticated(&mut a, &mut b, variant, data, now, (a_addr, b_addr));
        return;
    }
    let cookies = b.sa_spis(sa[0]).unwrap();
    // The datagram as a message of the established SA, to both ends.
    let mut d = data.to_vec();
    if let Some(head) = d.get_mut(..8) {
        head.copy_from_slice(&cookies.0);
    }
    if let Some(head) = d.get_mut(8..16) {
        head.copy_from_slice(&cookies.1);
    }
    b.handle_datagram(now, b_addr, a_addr, &d);
    a.handle_datagram(now, a_addr, b_addr, &d);
    while b.poll_transmit().is_some() {}
    while a.poll_transmit().is_some() {}
    assert!(
        b.is_established(sa[0]),
        "garbage tore down an established ISAKMP SA"
    );
    assert_eq!(b.child_sas(sa[0]).len(), want, "garbage removed an IPsec SA");
});

/// Variants 4 and 5: `data` as a payload chain, protected with the SA's keys.
fn authenticated(
    a: &mut Endpoint,
    b: &mut Endpoint,
    variant: u8,
    data: &[u8],
    now: Instant,
    (a_addr, b_addr): (SocketAddr, SocketAddr),
) {
    let flags = data.get(1).copied().unwrap_or(0);
    let mid = data
        .get(2..6)
        .map_or(1, |m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]));
    let mut payloads = Vec::new();
    let mut rest = data.get(6..).unwrap_or_default();
    while let [t, len, body @ ..] = rest {
        let n = usize::from(*len).min(body.len());
        payloads.push((*t, body[..n].to_vec()));
        rest = &body[n..];
    }
    // Variant 4 with flag bit 3: New Group Mode instead of Quick Mode.
    let exchange = match (variant, flags & 8 != 0) {
        (4, false) => 32,
        (4, true) => 33,
        _ => 5,
    };
    let hash = if flags & 2 != 0 {
        None
    } else {
        Some(flags & 1 != 0)
    };
    let (to, from, here, there) = if flags & 4 != 0 {
        (a, b, a_addr, b_addr)
    } else {
        (b, a, b_addr, a_addr)
    };
    let h = to.established()[0];
    if let Some(m) = to.v1_forge(h, exchange, mid, &payloads, hash, true) {
        to.handle_datagram(now, here, there, &m);
        to.handle_datagram(now, here, there, &m);
    }
    for _ in 0..4 {
        while let Some(t) = to.poll_transmit() {
            from.handle_datagram(now, t.remote, t.local, &t.payload);
        }
        while let Some(t) = from.poll_transmit() {
            to.handle_datagram(now, t.remote, t.local, &t.payload);
        }
    }
    while to.poll_event().is_some() {}
    to.audit().unwrap();
    from.audit().unwrap();
}
