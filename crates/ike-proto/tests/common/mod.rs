//! Shared helpers of the engine tests: connection configs for two sites and the simulated pair.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, CloseReason, DpdAction, Endpoint, EndpointConfig, Event, Identity,
    Mode, PeerConfig, Ts,
};
use ike_testkit::sim::{Faults, Pair};

pub const A: &str = "10.77.0.1:500";
pub const B: &str = "10.77.0.2:500";

pub struct Side<'a> {
    pub ike: &'a [&'a str],
    pub esp: &'a [&'a str],
    /// AH proposals: when not empty, the child is AH and `esp` is ignored.
    pub ah: &'a [&'a str],
    pub local_ts: &'a [&'a str],
    pub remote_ts: &'a [&'a str],
    pub psk: &'a str,
    pub peer_psk: &'a str,
    pub mode: Mode,
    pub child_rekey: Option<Duration>,
    pub child_life: Option<Duration>,
    pub ike_rekey: Option<Duration>,
}

impl Side<'_> {
    /// The default responder: the mirror image of the default initiator.
    pub fn responder() -> Self {
        Self {
            local_ts: &["10.88.2.0/24"],
            remote_ts: &["10.88.1.0/24"],
            ..Self::default()
        }
    }
}

impl Default for Side<'_> {
    fn default() -> Self {
        Self {
            ike: &["aes128gcm16-prfsha256-x25519"],
            esp: &["aes128gcm16"],
            ah: &[],
            local_ts: &["10.88.1.0/24"],
            remote_ts: &["10.88.2.0/24"],
            psk: "a long random string",
            peer_psk: "a long random string",
            mode: Mode::Tunnel,
            child_rekey: None,
            child_life: None,
            ike_rekey: None,
        }
    }
}

pub fn peer(name: &str, remote: &str, local_id: &str, remote_id: &str, s: &Side<'_>) -> PeerConfig {
    PeerConfig {
        name: name.to_owned(),
        remote_addrs: vec![remote.parse::<SocketAddr>().unwrap().ip()],
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth: AuthMethod::Psk(Secret::from_slice(s.psk.as_bytes())),
        remote_auth: AuthMethod::Psk(Secret::from_slice(s.peer_psk.as_bytes())),
        ike_proposals: s
            .ike
            .iter()
            .map(|p| Proposal::parse_ike(p).unwrap())
            .collect(),
        children: vec![ChildConfig {
            name: "net".to_owned(),
            local_ts: s.local_ts.iter().map(|t| Ts::cidr(t).unwrap()).collect(),
            remote_ts: s.remote_ts.iter().map(|t| Ts::cidr(t).unwrap()).collect(),
            esp_proposals: if s.ah.is_empty() {
                s.esp
                    .iter()
                    .map(|p| Proposal::parse_esp(p).unwrap())
                    .collect()
            } else {
                Vec::new()
            },
            ah_proposals: s
                .ah
                .iter()
                .map(|p| Proposal::parse_ah(p).unwrap())
                .collect(),
            mode: s.mode,
            rekey_time: s.child_rekey,
            life_time: s.child_life,
        }],
        rekey_time: s.ike_rekey,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: ike_proto::config::IkeVersion::V2,
        exchange: Default::default(),
    }
}

pub fn pair_with(
    a: Side<'_>,
    b: Side<'_>,
    cfg_b: EndpointConfig,
    faults: Faults,
    seed: u64,
) -> Pair {
    pair_with_configs(a, b, EndpointConfig::default(), cfg_b, faults, seed)
}

pub fn pair_with_configs(
    a: Side<'_>,
    b: Side<'_>,
    cfg_a: EndpointConfig,
    cfg_b: EndpointConfig,
    faults: Faults,
    seed: u64,
) -> Pair {
    let pa = peer("site-b", B, "a.example.org", "b.example.org", &a);
    let pb = peer("site-a", A, "b.example.org", "a.example.org", &b);
    let ea = Endpoint::new(cfg_a, vec![pa], Box::new(SeededRng::new(seed * 2 + 1))).unwrap();
    let eb = Endpoint::new(cfg_b, vec![pb], Box::new(SeededRng::new(seed * 2 + 2))).unwrap();
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}

pub fn pair(a: Side<'_>, b: Side<'_>) -> Pair {
    pair_with(a, b, EndpointConfig::default(), Faults::none(), 7)
}

pub fn initiate(p: &mut Pair) -> ike_proto::v2::SaHandle {
    let now = p.now();
    let addr = p.addr_a;
    p.a.initiate(now, addr, "site-b").unwrap()
}

pub fn installs(events: &[Event]) -> Vec<&ike_proto::v2::ChildSaInstall> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaInstall(c) => Some(c.as_ref()),
            _ => None,
        })
        .collect()
}

pub fn closed(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::IkeSaClosed { reason, .. } => Some(reason),
        _ => None,
    })
}

pub fn established(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::IkeSaEstablished { .. }))
}

/// The Child SAs the kernel would hold: installed and not deleted, by inbound SPI.
pub fn live(events: &[Event]) -> BTreeSet<u32> {
    let mut s = BTreeSet::new();
    for e in events {
        match e {
            Event::ChildSaInstall(c) => {
                s.insert(c.spi_in);
            }
            Event::ChildSaDelete { spi_in, .. } => {
                s.remove(spi_in);
            }
            _ => {}
        }
    }
    s
}

/// Runs the Python script `script` with `stdin`; its stdout (the test fails if it does).
pub fn python(script: &str, stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut py = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A 1024-bit safe prime made for these tests (`openssl prime -generate -bits 1024 -safe`).
pub const TEST_SAFE_PRIME: &str = concat!(
    "ED654A4EA778A43FBC1814CD0C77882B3F8C154AEAC87C74D4A3A9780CD8E3DFF3FA05C199B9CFFF9932215C",
    "325F84457310B8BA31EB2D75A1160287E841A99F9F398F4FAEE11801CFAB16F77B68A1314A5F5AFAB10B5525",
    "5339770269D46062AF0CBBC17CBD210E63F376B664B1E282DB919A9A466E8F25FE93BB617FDD682B",
);

/// Private group `number` (RFC 2409 §5.6): MODP with [`TEST_SAFE_PRIME`] and generator 2.
pub fn private_modp(number: u16) -> ike_proto::config::PrivateGroup {
    ike_proto::config::PrivateGroup::new(
        "test",
        number,
        ike_proto::config::GroupParams::Modp {
            prime: hex::decode(TEST_SAFE_PRIME).unwrap(),
            generator: vec![2],
        },
    )
    .unwrap()
}

/// An IKEv1 connection (aes128-sha256-modp2048, ESP aes128-sha256) named `name` to `remote`,
/// identities `ids` (ours, the peer's), authentication `auth` (ours, the peer's) and selectors
/// `ts` (ours, the peer's).
pub fn v1_peer(
    name: &str,
    remote: &str,
    ids: (&str, &str),
    auth: (ike_proto::v2::AuthMethod, ike_proto::v2::AuthMethod),
    ts: (&str, &str),
) -> PeerConfig {
    let mut p = peer(
        name,
        remote,
        ids.0,
        ids.1,
        &Side {
            ike: &["aes128-sha256-modp2048"],
            esp: &["aes128-sha256"],
            local_ts: &[ts.0],
            remote_ts: &[ts.1],
            ..Side::default()
        },
    );
    p.version = ike_proto::config::IkeVersion::V1;
    (p.local_auth, p.remote_auth) = auth;
    p
}

/// Two endpoints with `cfg`, connections `pa` and `pb`, RNGs seeded `rng` and `rng + 1`.
pub fn endpoints_of(
    cfg: EndpointConfig,
    pa: PeerConfig,
    pb: PeerConfig,
    rng: u64,
) -> (Endpoint, Endpoint) {
    let ea = Endpoint::new(cfg.clone(), vec![pa], Box::new(SeededRng::new(rng))).unwrap();
    let eb = Endpoint::new(cfg, vec![pb], Box::new(SeededRng::new(rng + 1))).unwrap();
    (ea, eb)
}

/// [`endpoints_of`] as a simulated pair (A and B at their usual addresses).
pub fn pair_of_peers(
    cfg: EndpointConfig,
    pa: PeerConfig,
    pb: PeerConfig,
    rng: u64,
    faults: Faults,
    seed: u64,
) -> Pair {
    let (ea, eb) = endpoints_of(cfg, pa, pb, rng);
    Pair::new(ea, eb, A.parse().unwrap(), B.parse().unwrap(), faults, seed)
}
