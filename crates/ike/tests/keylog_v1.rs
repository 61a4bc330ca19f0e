//! The key log for IKEv1: tshark, an independent dissector, decrypts every encrypted ISAKMP
//! message of a Main Mode + Quick Mode + Delete capture with nothing but the
//! `ikev1_decryption_table` our key log wrote (both identities and the Quick Mode's client IDs
//! appear), and `esp_sa` names both SPIs of the IPsec SA.
//!
//! tshark must be installed; without it the test says so and passes, unless
//! `IKE_REQUIRE_TSHARK` is set (the test command sets it).

use std::process::Command;
use std::time::Duration;

use ike::keylog::KeyLog;
use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_proto::config::IkeVersion;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Event, Identity, Mode,
    PeerConfig, Ts,
};
use ike_testkit::sim::{Faults, Pair};

fn have_tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_TSHARK").is_none(),
            "tshark is required (IKE_REQUIRE_TSHARK is set) but not installed"
        );
        eprintln!("SKIPPED: tshark is not installed");
    }
    ok
}

fn peer(remote: &str, id: &str, rid: &str, l: &str, r: &str) -> PeerConfig {
    PeerConfig {
        name: "gw".into(),
        remote_addrs: vec![remote.parse().unwrap()],
        local_id: Identity::parse(id),
        remote_id: Identity::parse(rid),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"a keylog test key")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"a keylog test key")),
        ike_proposals: vec![Proposal::parse_ike("aes256-sha256-modp2048").unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr(l).unwrap()],
            remote_ts: vec![Ts::cidr(r).unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp("aes128-sha256").unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: IkeVersion::V1,
        exchange: Default::default(),
    }
}

#[test]
fn tshark_decrypts_ikev1_with_the_key_log() {
    if !have_tshark() {
        return;
    }
    let cfg = EndpointConfig {
        export_keys: true,
        ..EndpointConfig::default()
    };
    let a = Endpoint::new(
        cfg.clone(),
        vec![peer(
            "10.77.0.2",
            "a.keylog.test",
            "b.keylog.test",
            "10.88.1.0/24",
            "10.88.2.0/24",
        )],
        Box::new(SeededRng::new(1)),
    )
    .unwrap();
    let b = Endpoint::new(
        cfg,
        vec![peer(
            "10.77.0.1",
            "b.keylog.test",
            "a.keylog.test",
            "10.88.2.0/24",
            "10.88.1.0/24",
        )],
        Box::new(SeededRng::new(2)),
    )
    .unwrap();
    let mut p = Pair::new(
        a,
        b,
        "10.77.0.1:500".parse().unwrap(),
        "10.77.0.2:500".parse().unwrap(),
        Faults::none(),
        1,
    );
    let (now, addr) = (p.now(), p.addr_a);
    p.a.initiate(now, addr, "gw").unwrap();
    let installed = |e: &[Event]| e.iter().any(|e| matches!(e, Event::ChildSaInstall(_)));
    assert!(
        p.run_until(Duration::from_secs(10), |p| installed(&p.events_a)
            && installed(&p.events_b))
    );
    let now = p.now();
    let h = p.a.handles_all()[0];
    p.a.delete(now, h).unwrap();
    p.run_for(Duration::from_secs(2));

    let dir = std::env::temp_dir().join(format!("ike-keylog-v1-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = dir.join("keys");
    let mut log = KeyLog::open(&keys).unwrap();
    let mut isakmp = 0;
    for e in &p.events_a {
        match e {
            Event::IsakmpSaKeys(k) => {
                log.isakmp(k).unwrap();
                isakmp += 1;
            }
            Event::ChildSaInstall(c) => log.child(c).unwrap(),
            _ => {}
        }
    }
    assert_eq!(isakmp, 1, "one key per ISAKMP SA");
    assert!(p
        .events_b
        .iter()
        .any(|e| matches!(e, Event::IsakmpSaKeys(_))));
    drop(log);
    let pcap = dir.join("v1.pcap");
    p.write_pcap(&pcap).unwrap();
    let table = std::fs::read_to_string(keys.join("ikev1_decryption_table")).unwrap();
    assert_eq!(table.lines().count(), 1, "{table}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(keys.join("ikev1_decryption_table"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let tshark = |config: &std::path::Path| {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .arg("-V")
            .env("WIRESHARK_CONFIG_DIR", config)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = tshark(&dir.join("empty-profile"));
    assert!(
        !plain.contains("a.keylog.test"),
        "identities are encrypted in Main Mode"
    );
    let dec = tshark(&keys);
    for want in ["a.keylog.test", "b.keylog.test", "10.88.1.0", "10.88.2.0"] {
        assert!(
            dec.contains(want),
            "{want} not in the decrypted capture:\n{dec}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
