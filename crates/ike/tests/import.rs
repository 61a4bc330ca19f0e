//! `ike import`: strongSwan configurations to our TOML. Every interop scenario's swanctl.conf
//! (tests/import/interop/, written by make-interop-fixtures.sh with tests/interop/lib.sh's own
//! function) and configurations in the style of strongSwan's examples are imported, loaded by
//! ike-config as `ike check` loads them, and compared field by field with what the input said;
//! settings we lack must show up as `# not carried over` comments; broken input must give a
//! `FILE:LINE: message` error and never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ike::import::{import_bytes, import_file, import_text, Format, Imported, Options};
use ike_config::Config;
use ike_proto::config::{DpdAction, Identity, IkeVersion, V1Exchange};
use ike_proto::ipsec::Mode;
use ike_proto::proposal::Proposal;
use ike_proto::v2::AuthMethod;
use proptest::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh directory under the target's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Loads the TOML as `ike check` does (ike_config::parse is what ike_config::load runs on the
/// file's text); panics with every problem and the TOML when it does not load.
fn load(imported: &Imported) -> Config {
    match ike_config::parse(&imported.toml, "imported.toml", Path::new(".")) {
        Ok(c) => c,
        Err(e) => panic!(
            "the import does not load:\n{e}\n--- TOML:\n{}",
            imported.toml
        ),
    }
}

fn ike(text: &str) -> Proposal {
    Proposal::parse_ike(text).unwrap()
}

fn esp(text: &str) -> Proposal {
    Proposal::parse_esp(text).unwrap()
}

fn id(text: &str) -> Identity {
    Identity::parse(text)
}

fn ts(cfg: &[ike_proto::ipsec::Ts]) -> Vec<String> {
    cfg.iter().map(|t| t.to_string()).collect()
}

fn net(cidr: &str) -> String {
    ike_proto::ipsec::Ts::cidr(cidr).unwrap().to_string()
}

fn psk(a: &AuthMethod) -> Vec<u8> {
    match a {
        AuthMethod::Psk(s) => s.expose().to_vec(),
        other => panic!("expected a PSK, got {other:?}"),
    }
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

// --- the interop scenarios' swanctl.conf ------------------------------------------------------

/// What lib.sh's write_swanctl_conf puts in every file (strongSwan's side: local is B).
const PSK: &[u8] = b"ikei-interop-test-psk-5f0c2a9e";

/// Imports interop/NAME.conf with `base` as the swanctl directory; loads it; checks what every
/// scenario shares: one connection ikei, addresses, identities, the child net and its TS.
fn interop(name: &str, base: Option<&Path>) -> (Imported, Config) {
    let path = fixtures().join("interop").join(format!("{name}.conf"));
    let opts = Options {
        base: base.map(Path::to_path_buf),
        ..Options::default()
    };
    let imported = import_file(&path, &opts).unwrap();
    assert_eq!(imported.format, Format::Swanctl, "{name}");
    let config = load(&imported);
    assert_eq!(config.connections.len(), 1, "{name}");
    let c = &config.connections[0];
    assert_eq!(c.name, "ikei");
    assert_eq!(
        c.local_addrs,
        vec!["10.77.1.2".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        c.remote_addrs,
        vec!["10.77.1.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(c.peer.local_id, id("b.swan.test"), "{name}");
    assert_eq!(c.peer.remote_id, id("a.ike.test"), "{name}");
    let (child, cfg) = c.child("net").unwrap();
    assert_eq!(child.start_action, ike_config::StartAction::None);
    assert_eq!(ts(&cfg.local_ts), vec![net("10.88.2.0/24")], "{name}");
    assert_eq!(ts(&cfg.remote_ts), vec![net("10.88.1.0/24")], "{name}");
    assert_eq!(cfg.mode, Mode::Tunnel);
    (imported, config)
}

/// The PSK scenarios: both ends psk with lib.sh's key, the proposals, the version.
fn interop_psk(name: &str, version: IkeVersion, proposals: &str, esp_proposals: &str) -> Config {
    let (imported, config) = interop(name, None);
    let c = &config.connections[0];
    assert_eq!(c.version, version, "{name}");
    assert_eq!(psk(&c.peer.local_auth), PSK, "{name}");
    assert_eq!(psk(&c.peer.remote_auth), PSK, "{name}");
    assert_eq!(c.peer.ike_proposals, vec![ike(proposals)], "{name}");
    let (_, cfg) = c.child("net").unwrap();
    assert_eq!(cfg.esp_proposals, vec![esp(esp_proposals)], "{name}");
    assert!(
        imported
            .toml
            .contains("ids = [\"a.ike.test\", \"b.swan.test\"]"),
        "{name}: the secret's ids: {}",
        imported.toml
    );
    config
}

const V2: &str = "aes128gcm16-prfsha256-x25519";

#[test]
fn interop_psk_x25519_gcm() {
    // psk-x25519-gcm-*, delete, rekey-child, rekey-ike, daemon-psk
    let config = interop_psk("psk-x25519-gcm", IkeVersion::V2, V2, "aes128gcm16");
    let c = &config.connections[0];
    // nothing else was said: our defaults
    assert_eq!(c.peer.dpd_delay, None);
    assert!(!c.peer.encap);
    assert_eq!(c.peer.rekey_time, secs(4 * 3600));
}

#[test]
fn interop_psk_modp2048_cbc() {
    interop_psk(
        "psk-modp2048-cbc",
        IkeVersion::V2,
        "aes256-sha256-modp2048",
        "aes256-sha256",
    );
}

#[test]
fn interop_dpd() {
    let c = interop_psk("dpd", IkeVersion::V2, V2, "aes128gcm16");
    assert_eq!(c.connections[0].peer.dpd_delay, None);
    let c = interop_psk("dpd-delay", IkeVersion::V2, V2, "aes128gcm16");
    assert_eq!(c.connections[0].peer.dpd_delay, secs(1));
    assert_eq!(c.connections[0].peer.dpd_action, DpdAction::Clear);
    let v1 = "aes128-sha256-x25519";
    let c = interop_psk("v1-dpd", IkeVersion::V1, v1, "aes128-sha256");
    assert_eq!(c.connections[0].peer.dpd_delay, None);
    let c = interop_psk("v1-dpd-delay", IkeVersion::V1, v1, "aes128-sha256");
    assert_eq!(c.connections[0].peer.dpd_delay, secs(1));
}

#[test]
fn interop_natt() {
    let c = interop_psk("natt", IkeVersion::V2, V2, "aes128gcm16");
    assert!(!c.connections[0].peer.encap);
    let c = interop_psk("natt-encap", IkeVersion::V2, V2, "aes128gcm16");
    assert!(c.connections[0].peer.encap);
    let v1 = "aes128-sha256-x25519";
    let c = interop_psk("v1-natt", IkeVersion::V1, v1, "aes128-sha256");
    assert!(!c.connections[0].peer.encap);
    let c = interop_psk("v1-natt-encap", IkeVersion::V1, v1, "aes128-sha256");
    assert!(c.connections[0].peer.encap);
}

#[test]
fn interop_rekey() {
    interop_psk("rekey", IkeVersion::V2, V2, "aes128gcm16-x25519");
    // B1: the child's times; rand_time has no equivalent and says so
    let c = interop_psk("rekey-child", IkeVersion::V2, V2, "aes128gcm16-x25519");
    let (_, cfg) = c.connections[0].child("net").unwrap();
    assert_eq!(cfg.rekey_time, secs(2));
    assert_eq!(cfg.life_time, secs(10));
    let (imported, _) = interop("rekey-child", None);
    assert!(imported.toml.contains(
        "# not carried over: connections.ikei.children.net.rand_time = 0s (ike does not randomize rekey times)"
    ));
    // B2: the IKE SA's times
    let c = interop_psk("rekey-ike", IkeVersion::V2, V2, "aes128gcm16-x25519");
    assert_eq!(c.connections[0].peer.rekey_time, secs(3));
    assert_eq!(c.connections[0].ike_life_time, secs(13));
    let (imported, _) = interop("rekey-ike", None);
    assert!(imported
        .toml
        .contains("# not carried over: connections.ikei.rand_time = 0s"));
    let v1 = "aes128-sha256-x25519";
    interop_psk("v1-rekey", IkeVersion::V1, v1, "aes128-sha256-x25519");
    let c = interop_psk("v1-rekey-child", IkeVersion::V1, v1, "aes128-sha256-x25519");
    let (_, cfg) = c.connections[0].child("net").unwrap();
    assert_eq!((cfg.rekey_time, cfg.life_time), (secs(2), secs(10)));
    let c = interop_psk("v1-rekey-ike", IkeVersion::V1, v1, "aes128-sha256-x25519");
    assert_eq!(c.connections[0].peer.rekey_time, secs(4));
    assert_eq!(c.connections[0].ike_life_time, secs(6));
}

#[test]
fn interop_two_children() {
    for (name, version, p, e) in [
        ("two-children", IkeVersion::V2, V2, "aes128gcm16"),
        (
            "v1-pfs-two-children",
            IkeVersion::V1,
            "aes128-sha256-modp2048",
            "aes128-sha256-modp2048",
        ),
    ] {
        let c = interop_psk(name, version, p, e);
        let (_, cfg) = c.connections[0].child("net2").unwrap();
        // 10.88.12.0/24[tcp]: protocol 6, any port
        assert_eq!(cfg.local_ts.len(), 1);
        assert_eq!(cfg.local_ts[0].protocol, 6);
        assert_eq!(
            cfg.local_ts[0].start,
            "10.88.12.0".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(
            cfg.remote_ts[0].start,
            "10.88.11.0".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(cfg.esp_proposals, vec![esp(e)]);
        assert_eq!(c.child_count(), 2);
    }
}

#[test]
fn interop_v1_main_and_aggressive() {
    let p = "aes128-sha256-modp2048";
    let c = interop_psk("v1-main-psk", IkeVersion::V1, p, "aes128-sha256");
    assert_eq!(c.connections[0].peer.exchange, V1Exchange::Main);
    let c = interop_psk("v1-aggressive-psk", IkeVersion::V1, p, "aes128-sha256");
    assert_eq!(c.connections[0].peer.exchange, V1Exchange::Aggressive);
}

/// A CA and an end-entity certificate for `cn` (dNSName too), as PEM, with the EE key.
fn make_pki(cn: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = || {
        let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
    };
    let name = |cn: &str| {
        let mut n = X509NameBuilder::new().unwrap();
        n.append_entry_by_text("O", "ike import tests").unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    };
    let (ca_key, ee_key) = (key(), key());
    let builder = |subject: &str, serial: u32, pkey: &PKey<openssl::pkey::Private>| {
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name(subject)).unwrap();
        b.set_issuer_name(&name("import test CA")).unwrap();
        b.set_pubkey(pkey).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        b
    };
    let mut ca = builder("import test CA", 1, &ca_key);
    ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    ca.append_extension(KeyUsage::new().critical().key_cert_sign().build().unwrap())
        .unwrap();
    ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let ca = ca.build();
    let mut ee = builder(cn, 2, &ee_key);
    ee.append_extension(BasicConstraints::new().critical().build().unwrap())
        .unwrap();
    ee.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .build()
            .unwrap(),
    )
    .unwrap();
    let san = SubjectAlternativeName::new()
        .dns(cn)
        .build(&ee.x509v3_context(Some(&ca), None))
        .unwrap();
    ee.append_extension(san).unwrap();
    ee.sign(&ca_key, MessageDigest::sha256()).unwrap();
    (
        ca.to_pem().unwrap(),
        ee.build().to_pem().unwrap(),
        ee_key.private_key_to_pem_pkcs8().unwrap(),
    )
}

#[test]
fn interop_cert() {
    // daemon-cert.sh puts b.pem in x509/, ca.pem in x509ca/, b.key.pem in private/
    let dir = temp_dir("cert");
    let (ca, cert, key) = make_pki("b.swan.test");
    for sub in ["x509", "x509ca", "private"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("x509ca/ca.pem"), ca).unwrap();
    std::fs::write(dir.join("x509/b.pem"), cert).unwrap();
    std::fs::write(dir.join("private/b.key.pem"), key).unwrap();
    // As openssl genpkey writes it (and as the loader demands): owner only.
    std::fs::set_permissions(
        dir.join("private/b.key.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    for (name, version, p) in [
        ("cert", IkeVersion::V2, V2),
        ("v1-cert", IkeVersion::V1, "aes128-sha256-x25519"),
    ] {
        let (imported, config) = interop(name, Some(&dir));
        let c = &config.connections[0];
        assert_eq!(c.version, version);
        assert_eq!(c.peer.ike_proposals, vec![ike(p)]);
        assert!(matches!(c.peer.local_auth, AuthMethod::PubKey(_)), "{name}");
        assert!(
            matches!(c.peer.remote_auth, AuthMethod::PeerCert(_)),
            "{name}"
        );
        let d = dir.display();
        for line in [
            format!("certs = [\"{d}/x509/b.pem\"]"),
            format!("cacerts = [\"{d}/x509ca/ca.pem\"]"),
            format!("[[secrets.private_key]]\nfile = \"{d}/private/b.key.pem\""),
            format!("[[authorities]]\ncacert = \"{d}/x509ca/ca.pem\""),
        ] {
            assert!(
                imported.toml.contains(&line),
                "{name}: {line} in\n{}",
                imported.toml
            );
        }
        assert!(!imported.toml.contains("[[secrets.ike]]"));
    }
}

/// Every interop fixture is there for a scenario; and the fixture generator's output is what
/// the tests read (a scenario added to tests/interop/ without a fixture fails here).
#[test]
fn every_interop_scenario_has_a_fixture() {
    let files: Vec<String> = std::fs::read_dir(fixtures().join("interop"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let generator = std::fs::read_to_string(fixtures().join("make-interop-fixtures.sh")).unwrap();
    for e in std::fs::read_dir(repo().join("tests/interop")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(scenario) = name.strip_suffix(".sh") else {
            continue;
        };
        if scenario == "lib" {
            continue;
        }
        assert!(
            generator.contains(scenario),
            "tests/interop/{name} is not in make-interop-fixtures.sh"
        );
    }
    assert_eq!(files.len(), 22, "{files:?}");
    // each fixture names its scenario in lib.sh's header line
    for f in &files {
        let text = std::fs::read_to_string(fixtures().join("interop").join(f)).unwrap();
        assert!(
            text.starts_with("# generated by tests/interop/lib.sh (scenario "),
            "{f}"
        );
    }
}

// --- strongSwan-style examples ---------------------------------------------------------------

/// A swanctl directory with the example certificates (examples/certs) in x509/, x509ca/,
/// private/, and the example configurations (with conf.d/).
fn example_dir() -> PathBuf {
    let dir = temp_dir("examples");
    let certs = repo().join("examples/certs");
    for sub in ["x509", "x509ca", "private", "conf.d"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for n in ["a.example.org", "b.example.org", "vpn.example.org"] {
        std::fs::copy(
            certs.join(format!("{n}.pem")),
            dir.join(format!("x509/{n}.pem")),
        )
        .unwrap();
        std::fs::copy(
            certs.join(format!("{n}.key.pem")),
            dir.join(format!("private/{n}.key.pem")),
        )
        .unwrap();
    }
    std::fs::copy(certs.join("ca.pem"), dir.join("x509ca/ca.pem")).unwrap();
    let src = fixtures().join("examples");
    for f in [
        "swanctl.conf",
        "rw-gateway.conf",
        "rw-client.conf",
        "v1-aggressive-psk.conf",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(src.join("conf.d/host.conf"), dir.join("conf.d/host.conf")).unwrap();
    dir
}

#[test]
fn site_to_site_with_certificates_and_an_include() {
    let dir = example_dir();
    let imported = import_file(&dir.join("swanctl.conf"), &Options::default()).unwrap();
    let config = load(&imported);
    assert_eq!(config.connections.len(), 2, "conf.d/host.conf was included");
    let c = config.connection("site-b").unwrap();
    assert_eq!(c.version, IkeVersion::V2);
    assert_eq!(
        c.peer.ike_proposals,
        vec![
            ike("aes256gcm16-prfsha384-ecp384"),
            ike("aes128gcm16-prfsha256-x25519")
        ]
    );
    assert_eq!(c.peer.local_id, id("a.example.org"));
    assert_eq!(c.peer.remote_id, id("b.example.org"));
    assert!(matches!(c.peer.local_auth, AuthMethod::PubKey(_)));
    assert!(matches!(c.peer.remote_auth, AuthMethod::PeerCert(_)));
    assert_eq!(c.peer.dpd_delay, secs(30));
    assert_eq!(
        c.peer.dpd_action,
        DpdAction::Restart,
        "the child's dpd_action"
    );
    assert_eq!(c.peer.rekey_time, secs(4 * 3600));
    assert_eq!(c.ike_life_time, secs(4 * 3600 + 20 * 60));
    let (child, cfg) = c.child("net").unwrap();
    assert_eq!(child.start_action, ike_config::StartAction::Trap);
    assert_eq!(ts(&cfg.local_ts), vec![net("10.1.0.0/16")]);
    assert_eq!(
        ts(&cfg.remote_ts),
        vec![net("10.2.0.0/16"), net("10.22.0.0/16")]
    );
    assert_eq!(
        cfg.esp_proposals,
        vec![esp("aes256gcm16-ecp384"), esp("aes128gcm16")]
    );
    assert_eq!((cfg.rekey_time, cfg.life_time), (secs(3600), secs(66 * 60)));
    for line in [
        "# not carried over: connections.site-b.mobike = no (MOBIKE is not supported)",
        "# not carried over: connections.site-b.send_cert = always",
        "# not carried over: connections.site-b.children.net.updown = /usr/libexec/ipsec/_updown iptables (updown scripts are not supported)",
        "# not carried over: connections.site-b.children.net.rekey_bytes = 500000000",
    ] {
        assert!(imported.toml.contains(line), "{line} in\n{}", imported.toml);
    }
    // the included host-to-host connection: transport mode, dynamic selectors with one address
    let h = config.connection("host-b").unwrap();
    let (_, cfg) = h.child("host").unwrap();
    assert_eq!(cfg.mode, Mode::Transport);
    assert_eq!(ts(&cfg.local_ts), vec![net("192.0.2.1/32")]);
    assert_eq!(ts(&cfg.remote_ts), vec![net("198.51.100.1/32")]);
    assert_eq!(imported.not_carried_over, 4);
}

#[test]
fn road_warrior_gateway_with_any_peer_and_a_pool() {
    let dir = example_dir();
    let imported = import_file(&dir.join("rw-gateway.conf"), &Options::default()).unwrap();
    let config = load(&imported);
    let c = config.connection("rw").unwrap();
    assert!(c.remote_addrs.is_empty(), "%any");
    assert_eq!(c.peer.remote_id, Identity::Any);
    assert_eq!(c.peer.local_id, id("vpn.example.org"));
    // remote_ts = dynamic (the default) with a %any peer: each SA's peer address, as in
    // strongSwan
    let (_, net_cfg) = c.child("net").unwrap();
    assert_eq!(net_cfg.remote_ts, vec![ike_proto::v2::Ts::dynamic()]);
    assert_eq!(ts(&net_cfg.local_ts), vec![net("10.1.0.0/16")]);
    for line in [
        "# not carried over: connections.rw.pools = rw_pool (virtual IPs and address pools",
        "# not carried over: pools.rw_pool.addrs = 10.3.0.0/24",
        "# not carried over: connections.rw.send_certreq = no",
    ] {
        assert!(imported.toml.contains(line), "{line} in\n{}", imported.toml);
    }
}

#[test]
fn road_warrior_client_psk_and_an_eap_secret() {
    let dir = example_dir();
    let imported = import_file(&dir.join("rw-client.conf"), &Options::default()).unwrap();
    let config = load(&imported);
    let c = config.connection("home").unwrap();
    assert_eq!(c.peer.local_id, id("carol@example.org"));
    assert_eq!(c.peer.remote_id, id("vpn.example.org"));
    // 0s...: base64, read the same way by strongSwan and by us
    let expected = [
        0xbf, 0xe3, 0x64, 0xc5, 0x8f, 0x4b, 0x2d, 0x9b, 0xf0, 0x8f, 0x8a, 0x82, 0x0b, 0x6a, 0x3f,
        0x80, 0x6a, 0xd6, 0x0c, 0x5d, 0x9d, 0xdb, 0x58, 0xcb,
    ];
    assert_eq!(psk(&c.peer.local_auth), expected);
    assert_eq!(c.peer.dpd_delay, secs(60));
    assert_eq!(c.peer.dpd_action, DpdAction::Restart);
    // local_ts dynamic without a local address: each SA's local address
    let (_, home) = c.child("home").unwrap();
    assert_eq!(home.local_ts, vec![ike_proto::v2::Ts::dynamic()]);
    assert!(imported
        .toml
        .contains("# not carried over: connections.home.vips = 0.0.0.0"));
    assert!(imported
        .toml
        .contains("# not carried over: secrets.eap-carol.secret = <not copied> (EAP and XAuth are not supported)"));
    assert!(!imported.toml.contains("do-not-print-this-eap-secret"));
}

#[test]
fn ikev1_aggressive_psk() {
    let dir = example_dir();
    let imported = import_file(&dir.join("v1-aggressive-psk.conf"), &Options::default()).unwrap();
    let config = load(&imported);
    let c = config.connection("v1-agg").unwrap();
    assert_eq!(c.version, IkeVersion::V1);
    assert_eq!(c.peer.exchange, V1Exchange::Aggressive);
    assert_eq!(c.peer.ike_proposals, vec![ike("aes256-sha256-modp2048")]);
    assert_eq!(c.peer.local_id, id("@gw.example.org"));
    assert_eq!(c.peer.remote_id, id("client@example.org"));
    assert_eq!(
        psk(&c.peer.local_auth),
        [
            0x5e, 0x7a, 0xb2, 0xc1, 0x9d, 0x0f, 0x4b, 0x63, 0xa8, 0xe1, 0xc2, 0x7d, 0x90, 0xf3,
            0xb6, 0x45, 0x1a, 0x2e, 0x8c, 0x7d
        ]
    );
    assert_eq!(c.peer.dpd_delay, secs(20));
    assert_eq!(c.peer.rekey_time, secs(3 * 3600));
    let (child, cfg) = c.child("lan").unwrap();
    assert_eq!(child.start_action, ike_config::StartAction::None);
    assert_eq!(cfg.esp_proposals, vec![esp("aes256-sha256-modp2048")]);
    assert_eq!(cfg.rekey_time, secs(45 * 60));
    assert!(imported
        .toml
        .contains("# not carried over: connections.v1-agg.dpd_timeout = 120s"));
    // ike-config warns about Aggressive Mode with a PSK, as for a hand-written file
    assert!(config
        .warnings
        .iter()
        .any(|w| w.message.contains("Aggressive Mode")));
}

#[test]
fn ipsec_conf_with_default_also_and_secrets() {
    let dir = fixtures().join("ipsec");
    let opts = Options {
        secrets: Some(dir.join("ipsec.secrets")),
        ..Options::default()
    };
    let imported = import_file(&dir.join("ipsec.conf"), &opts).unwrap();
    assert_eq!(imported.format, Format::Ipsec);
    let config = load(&imported);
    // "base" has no auto: strongSwan's default, ignore, leaves it out
    assert_eq!(config.connections.len(), 2, "{}", imported.toml);
    assert!(imported
        .toml
        .contains("# not carried over: conn base (auto=ignore"));

    let c = config.connection("net-net").unwrap();
    assert_eq!(c.version, IkeVersion::V2);
    assert_eq!(
        c.local_addrs,
        vec!["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        c.remote_addrs,
        vec!["198.51.100.2".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(c.peer.local_id, id("@moon.example.org"));
    assert_eq!(c.peer.remote_id, id("@sun.example.org"));
    assert_eq!(psk(&c.peer.local_auth), b"moon-and-sun-share-this-long-key");
    assert_eq!(c.peer.ike_proposals, vec![ike("aes128-sha256-modp3072")]);
    assert_eq!(c.peer.dpd_delay, secs(10));
    assert_eq!(c.peer.dpd_action, DpdAction::Restart);
    // ikelifetime=60m and rekeymargin=3m from %default: rekey at 57m, gone at 60m
    assert_eq!(c.peer.rekey_time, secs(57 * 60));
    assert_eq!(c.ike_life_time, secs(60 * 60));
    let (child, cfg) = c.child("net-net").unwrap();
    assert_eq!(child.start_action, ike_config::StartAction::Start);
    assert_eq!(ts(&cfg.local_ts), vec![net("10.1.0.0/16")]);
    assert_eq!(ts(&cfg.remote_ts), vec![net("10.2.0.0/16")]);
    assert_eq!(cfg.esp_proposals, vec![esp("aes128-sha256")]);
    assert_eq!(
        (cfg.rekey_time, cfg.life_time),
        (secs(17 * 60), secs(20 * 60))
    );

    let v = config.connection("v1-agg").unwrap();
    assert_eq!(v.version, IkeVersion::V1);
    assert_eq!(v.peer.exchange, V1Exchange::Aggressive);
    assert_eq!(v.peer.remote_id, id("roadie@example.org"));
    assert_eq!(
        psk(&v.peer.local_auth),
        b"moon-roadie-key-1234",
        "the hex PSK whose ids match both ends"
    );
    let (child, _) = v.child("v1-agg").unwrap();
    assert_eq!(child.start_action, ike_config::StartAction::None);

    for line in [
        "# not carried over: conn net-net: leftfirewall=yes (updown scripts are not supported)",
        "# not carried over: conn net-net: keyingtries=1",
        "# not carried over: config setup: uniqueids=never",
        "# conn v1-agg: ike=aes256-sha256-modp2048 has no '!'",
        "roadie: XAUTH <not copied>",
    ] {
        assert!(imported.toml.contains(line), "{line} in\n{}", imported.toml);
    }
    assert!(!imported.toml.contains("never-copied-xauth-password"));
}

#[test]
fn ipsec_format_is_detected_and_can_be_forced() {
    let text = "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n";
    assert_eq!(Format::detect(text), Format::Ipsec);
    assert_eq!(Format::detect("connections {\n}\n"), Format::Swanctl);
    // forced to swanctl, the same text is not valid settings syntax
    let opts = Options {
        format: Some(Format::Swanctl),
        ..Options::default()
    };
    let e = import_text(text, "x.conf", &opts).unwrap_err();
    assert_eq!(e.line, 1);
}

#[test]
fn include_without_a_file_is_a_comment() {
    let i = import_text(
        "include conf.d/*.conf\nconnections {\n}\n",
        "t.conf",
        &Options::default(),
    )
    .unwrap();
    assert!(i.toml.contains(
        "# not carried over: include conf.d/*.conf (not followed: the input is not a file)"
    ));
}

#[test]
fn names_and_values_that_need_quoting() {
    let text = r#"connections {
  a.b {
    remote_addrs = 192.0.2.9
    local { auth = psk
      id = a.example.org
    }
    remote {
      auth = psk
    }
    children {
      c {
        local_ts = 10.0.0.0/8
        remote_ts = 10.9.0.0/16
      }
    }
  }
}
secrets {
  ike {
    secret = "a \"quoted\" secret with a # and \\ in it"
  }
}
"#;
    let i = import_text(text, "t.conf", &Options::default()).unwrap();
    let config = load(&i);
    let c = config.connection("a.b").unwrap();
    assert_eq!(
        psk(&c.peer.local_auth),
        b"a \"quoted\" secret with a # and \\ in it"
    );
}

// --- the CLI -----------------------------------------------------------------------------------

fn ike_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ike"))
}

#[test]
fn cli_prints_toml_and_warnings() {
    let out = ike_bin()
        .arg("import")
        .arg(fixtures().join("interop/rekey-child.conf"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("[connections.ikei.children.net]"));
    assert!(stderr.contains("1 setting not carried over"), "{stderr}");
    assert!(!stderr.contains("does not pass"), "{stderr}");
}

#[test]
fn cli_exits_1_on_a_syntax_error() {
    let dir = temp_dir("cli");
    let f = dir.join("bad.conf");
    std::fs::write(&f, "connections {\n  a {\n    version = 2\n").unwrap();
    let out = ike_bin().arg("import").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        format!(
            "{}:1: section \"connections\" is not closed (missing '}}')",
            f.display()
        )
    );
    let out = ike_bin()
        .args(["import", "--format", "ipsec"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = ike_bin()
        .arg("import")
        .arg(dir.join("missing.conf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// --- malformed input -----------------------------------------------------------------------------

fn error_of(text: &[u8]) -> String {
    match import_bytes(text, "in.conf", None, &Options::default()) {
        Ok(i) => panic!("imported:\n{}", i.toml),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_inputs_give_file_and_line() {
    assert_eq!(
        error_of(b"connections {\n  a {\n  }\n"),
        "in.conf:1: section \"connections\" is not closed (missing '}')"
    );
    assert_eq!(
        error_of(b"a {\n}\n}\n"),
        "in.conf:3: '}' without a section to close"
    );
    assert_eq!(
        error_of(b"connections {\n  just some words\n}\n"),
        "in.conf:2: expected '{' or '=' after \"just\", found 's'"
    );
    assert_eq!(
        error_of(b"a {\n  k = \"open\n\n"),
        "in.conf:2: unterminated quoted value of \"k\""
    );
    assert_eq!(
        error_of(b"a {\n  k = \"v\" trailing\n}\n"),
        "in.conf:2: text after the quoted value of \"k\""
    );
    assert_eq!(
        error_of(b"# ok\n\n= 3\n"),
        "in.conf:3: unexpected '=' (expected a name: a key or a section)"
    );
    assert_eq!(
        error_of(b"a {\n b = 1\n}\n\xff\xfe\n"),
        "in.conf:4: not UTF-8 text (expected a strongSwan configuration)"
    );
    let deep = "a {".repeat(100_000);
    assert!(error_of(deep.as_bytes()).starts_with("in.conf:1: sections nested deeper than 32"));
    let deep = "a {\n".repeat(40);
    assert!(error_of(deep.as_bytes()).starts_with("in.conf:33: sections nested deeper"));
    // ipsec.conf
    assert_eq!(
        error_of(b"conn a\n\tleft=192.0.2.1\nbogus line here\n"),
        "in.conf:3: expected \"conn NAME\", \"ca NAME\", \"config setup\" or \"include FILE\" at the start of a line, found \"bogus line here\""
    );
    assert_eq!(
        error_of(b"conn a\n\tleft 192.0.2.1\n"),
        "in.conf:2: expected key=value, found \"left 192.0.2.1\""
    );
    assert_eq!(
        error_of(b"conn a\n\tauto=add\nconn a\n\tauto=add\n"),
        "in.conf:3: conn a is defined twice (first at line 1)"
    );
}

#[test]
fn include_cycles_end() {
    let dir = temp_dir("cycle");
    std::fs::write(dir.join("a.conf"), "include b.conf\n").unwrap();
    std::fs::write(dir.join("b.conf"), "include a.conf\n").unwrap();
    let e = import_file(&dir.join("a.conf"), &Options::default()).unwrap_err();
    assert!(e.message.contains("includes nested deeper than 8"), "{e}");
}

#[test]
fn also_cycles_end() {
    let text = "conn a\n\talso=b\n\tauto=add\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=secret\n\nconn b\n\talso=a\n";
    let i = import_text(text, "c.conf", &Options::default()).unwrap();
    assert!(i.toml.contains("[connections.a]"));
    assert!(i.toml.contains("also=a (a cycle"), "{}", i.toml);
}

/// The syntaxes' own characters and words, for the random inputs.
const TOKENS: &[&str] = &[
    "{",
    "}",
    " = ",
    "=",
    "\n",
    "\"",
    "#",
    "\\",
    " ",
    "\t",
    "connections",
    "children",
    "local",
    "remote",
    "secrets",
    "ike-x",
    "local_ts",
    "remote_ts",
    "dynamic",
    "remote_addrs",
    "%any",
    "include",
    "conn",
    "%default",
    "also=",
    "auth",
    "psk",
    "192.0.2.1",
    "start_action",
    "start",
    ",",
    ":",
    "\n\t",
    "leftsubnet=",
    "auto=start",
    "pools",
    "version",
    "1",
    "aggressive",
    "yes",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random text of the syntax's own characters and words: an error or a TOML text; never a
    /// panic, and never TOML that is not TOML.
    #[test]
    fn random_input_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            3 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
            1 => "[a-z0-9.]{1,6}",
            1 => "\\PC{1,3}",
        ], 0..60),
        format in prop_oneof![Just(None), Just(Some(Format::Swanctl)), Just(Some(Format::Ipsec))],
    ) {
        let text: String = parts.concat();
        let opts = Options { format, ..Options::default() };
        if let Ok(i) = import_text(&text, "p.conf", &opts) {
            if let Err(errors) = ike_config::parse(&i.toml, "p.toml", Path::new(".")) {
                for e in errors.iter() {
                    prop_assert!(!e.message.starts_with("invalid TOML"), "{e}\n{}", i.toml);
                }
            }
        }
    }

    /// Arbitrary bytes: no panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = import_bytes(&bytes, "b.conf", None, &Options::default());
    }
}
