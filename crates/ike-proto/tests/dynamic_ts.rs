//! `dynamic` traffic selectors with `%any` (strongSwan's road-warrior responder): the address of
//! each SA's end, resolved when the SA's addresses are known; for IKEv2 (IKE_AUTH and
//! CREATE_CHILD_SA) and IKEv1 (Quick Mode), and the refusal of selectors outside it.

mod common;

use std::time::Duration;

use common::*;
use ike_proto::config::IkeVersion;
use ike_proto::v2::{EndpointConfig, PeerConfig, Ts};
use ike_testkit::sim::{Faults, Pair};

const IKE: &[&str] = &["aes128-sha256-modp2048"];
const ESP: &[&str] = &["aes128-sha256"];

fn host(a: &str) -> Ts {
    Ts::cidr(a.split(':').next().unwrap()).unwrap()
}

/// A initiates with `a_ts` (ours, the peer's); B answers anyone (`%any`) with `dynamic` on
/// both ends.
fn pair(version: IkeVersion, a_ts: (Ts, Ts), seed: u64) -> Pair {
    let s = Side {
        ike: IKE,
        esp: ESP,
        ..Side::default()
    };
    let mut pa = peer("site-b", B, "a.example.org", "b.example.org", &s);
    pa.children[0].local_ts = vec![a_ts.0];
    pa.children[0].remote_ts = vec![a_ts.1];
    let mut pb: PeerConfig = peer("road-warriors", A, "b.example.org", "a.example.org", &s);
    pb.remote_addrs.clear();
    pb.children[0].local_ts = vec![Ts::dynamic()];
    pb.children[0].remote_ts = vec![Ts::dynamic()];
    pa.version = version;
    pb.version = version;
    pair_of_peers(
        EndpointConfig::default(),
        pa,
        pb,
        seed,
        Faults::none(),
        seed,
    )
}

fn up(p: &mut Pair) -> bool {
    initiate(p);
    p.run_until(Duration::from_secs(30), |p| {
        installs(&p.events_a).len() == 1 && installs(&p.events_b).len() == 1
    })
}

#[test]
fn dynamic_selectors_are_each_sas_addresses() {
    for version in [IkeVersion::V2, IkeVersion::V1] {
        let mut p = pair(version, (host(A), host(B)), 3);
        assert!(up(&mut p), "{version:?}");
        let b = installs(&p.events_b)[0];
        assert_eq!(b.local_ts, vec![host(B)], "{version:?}");
        assert_eq!(b.remote_ts, vec![host(A)], "{version:?}");
        let a = installs(&p.events_a)[0];
        assert_eq!(a.local_ts, vec![host(A)], "{version:?}");
        // Status never shows the placeholder.
        let s = p.b.status(p.now());
        let shown = format!("{:?}", s[0].children);
        assert!(!shown.contains("255"), "{shown}");
    }
}

#[test]
fn an_initiator_with_dynamic_selectors_proposes_its_addresses() {
    for version in [IkeVersion::V2, IkeVersion::V1] {
        let mut p = pair(version, (Ts::dynamic(), Ts::dynamic()), 5);
        assert!(up(&mut p), "{version:?}");
        let a = installs(&p.events_a)[0];
        assert_eq!(
            (a.local_ts.clone(), a.remote_ts.clone()),
            (vec![host(A)], vec![host(B)])
        );
    }
}

#[test]
fn a_subnet_outside_the_peers_address_is_refused() {
    for version in [IkeVersion::V2, IkeVersion::V1] {
        let mut p = pair(version, (Ts::cidr("10.88.1.0/24").unwrap(), host(B)), 7);
        initiate(&mut p);
        p.run_for(Duration::from_secs(20));
        assert!(installs(&p.events_b).is_empty(), "{version:?}");
        assert!(installs(&p.events_a).is_empty(), "{version:?}");
    }
}

#[test]
fn a_child_sa_created_later_resolves_dynamic_too() {
    let mut p = pair(IkeVersion::V2, (host(A), host(B)), 9);
    assert!(up(&mut p));
    let h = p.a.handles_all()[0];
    let now = p.now();
    p.a.create_child(now, h, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(30), |p| installs(&p.events_b).len()
            == 2)
    );
    let b = installs(&p.events_b)[1];
    assert_eq!(b.remote_ts, vec![host(A)]);
}
