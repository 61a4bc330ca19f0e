//! Configurations that must load, and what they load into: the DESIGN.md sample as written,
//! every example, and the mapping of each key onto the engine's types.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{data_dir, edit, examples_dir, parse, BASE, CERTS};
use ike_config::{IkeVersion, KernelKind, Severity, StartAction};
use ike_proto::config::V1Exchange;
use ike_proto::v2::{AuthMethod, DpdAction, Identity, Mode, Ts};
use ike_wire::group::DhGroup;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The sample of DESIGN.md ("Contracts that tests and users rely on"), verbatim except for the
/// two absolute paths, which point at the example key and CA.
const DESIGN_SAMPLE: &str = r#"[daemon]
listen = ["10.77.0.1"]            # addresses for UDP 500/4500; default: all
control_socket = "/run/ike/ike.sock"
kernel = "xfrm"                   # "xfrm" | "none"

[connections.site-b]
version = 2                       # 1 (IKEv1) or 2 (IKEv2)
local_addrs = ["10.77.0.1"]
remote_addrs = ["10.77.0.2"]      # "%any" for a responder that accepts anyone
proposals = ["aes128gcm16-prfsha256-x25519", "aes256-sha256-modp2048"]
aggressive = false                # IKEv1 only
dpd_delay = "30s"
rekey_time = "4h"

[connections.site-b.local]
auth = "psk"                      # psk | pubkey | pke | rpke (the last two IKEv1 only)
id = "a.example.org"
certs = []                        # PEM/DER files, for pubkey
[connections.site-b.remote]
auth = "psk"
id = "b.example.org"

[connections.site-b.children.net]
local_ts = ["10.88.1.0/24"]
remote_ts = ["10.88.2.0/24"]
esp_proposals = ["aes128gcm16-x25519"]   # a DH group here means PFS
mode = "tunnel"                   # tunnel | transport
start_action = "start"            # none | start | trap
rekey_time = "1h"

[[secrets.ike]]
ids = ["a.example.org", "b.example.org"]
secret = "a long random string"   # or: file = "/etc/ike/site-b.psk"

[[secrets.private_key]]
file = "/etc/ike/a.key.pem"

[[authorities]]
cacert = "/etc/ike/ca.pem"
"#;

#[test]
fn the_design_sample_is_accepted_as_written() {
    let certs = examples_dir().join("certs");
    let text = DESIGN_SAMPLE
        .replace(
            "/etc/ike/a.key.pem",
            certs.join("a.example.org.key.pem").to_str().unwrap(),
        )
        .replace("/etc/ike/ca.pem", certs.join("ca.pem").to_str().unwrap());
    let config = ike_config::parse(&text, "design.toml", &data_dir()).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);

    let d = &config.daemon;
    assert_eq!(d.listen, vec![ip("10.77.0.1")]);
    assert_eq!(d.control_socket.to_str(), Some("/run/ike/ike.sock"));
    assert_eq!(d.kernel, KernelKind::Xfrm);
    assert_eq!((d.port, d.port_nat_t), (500, 4500));

    assert_eq!(config.connections.len(), 1);
    let c = &config.connections[0];
    assert_eq!(c.name, "site-b");
    assert_eq!(c.version, IkeVersion::V2);
    assert_eq!(c.local_addrs, vec![ip("10.77.0.1")]);
    assert_eq!(c.remote_addrs, vec![ip("10.77.0.2")]);
    let p = &c.peer;
    assert_eq!(p.name, "site-b");
    assert_eq!(p.remote_addrs, vec![ip("10.77.0.2")]);
    assert_eq!(p.local_id, Identity::Fqdn("a.example.org".into()));
    assert_eq!(p.remote_id, Identity::Fqdn("b.example.org".into()));
    match (&p.local_auth, &p.remote_auth) {
        (AuthMethod::Psk(a), AuthMethod::Psk(b)) => {
            assert_eq!(a.expose(), b"a long random string");
            assert_eq!(a, b);
        }
        other => panic!("expected PSK on both sides, got {other:?}"),
    }
    assert_eq!(p.ike_proposals.len(), 2);
    assert_eq!(p.ike_proposals[0].ke, vec![DhGroup::Curve25519]);
    assert_eq!(p.ike_proposals[1].ke, vec![DhGroup::Modp2048]);
    assert_eq!(p.dpd_delay, Some(Duration::from_secs(30)));
    assert_eq!(p.dpd_action, DpdAction::Clear);
    assert_eq!(p.rekey_time, Some(Duration::from_secs(4 * 3600)));
    assert_eq!(c.ike_life_time, Some(Duration::from_secs(4 * 3600 + 1440)));
    assert!(!p.encap);

    assert_eq!(c.children.len(), 1);
    assert_eq!(c.children[0].name, "net");
    assert_eq!(c.children[0].start_action, StartAction::Start);
    let child = &p.children[0];
    assert_eq!(child.name, "net");
    assert_eq!(child.local_ts, vec![Ts::cidr("10.88.1.0/24").unwrap()]);
    assert_eq!(child.remote_ts, vec![Ts::cidr("10.88.2.0/24").unwrap()]);
    assert_eq!(child.esp_proposals.len(), 1);
    assert_eq!(child.esp_proposals[0].ke, vec![DhGroup::Curve25519]);
    assert_eq!(child.mode, Mode::Tunnel);
    assert_eq!(child.rekey_time, Some(Duration::from_secs(3600)));
    assert_eq!(child.life_time, Some(Duration::from_secs(3960)));
    assert!(c.child("net").is_some());
}

#[test]
fn every_example_loads() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let config = ike_config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert!(!config.connections.is_empty(), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 3);
}

#[test]
fn certificate_examples_load_keys_and_trust() {
    let config = ike_config::load(&examples_dir().join("site-to-site-certs.toml")).unwrap();
    let p = &config.connections[0].peer;
    let AuthMethod::PubKey(cred) = &p.local_auth else {
        panic!("local auth {:?}", p.local_auth)
    };
    assert_eq!(cred.chain().len(), 1);
    let AuthMethod::PeerCert(policy) = &p.remote_auth else {
        panic!("remote auth {:?}", p.remote_auth)
    };
    assert_eq!(policy.trust().unwrap().anchors().len(), 1);
    assert!(policy.pinned_cert().is_none());
    assert_eq!(
        config.connections[0].children[0].start_action,
        StartAction::Trap
    );

    let rw = ike_config::load(&examples_dir().join("road-warrior-responder.toml")).unwrap();
    let c = &rw.connections[0];
    assert!(c.remote_addrs.is_empty());
    assert!(c.peer.remote_addrs.is_empty());
    assert_eq!(c.peer.remote_id, Identity::Any);
    assert_eq!(rw.daemon.endpoint.cookie_threshold, 10);
}

#[test]
fn the_local_identity_defaults_to_the_certificate_subject() {
    let text = format!(
        r#"
[connections.gw]
remote_addrs = ["10.0.0.2"]
[connections.gw.local]
certs = ["{CERTS}/a.example.org.pem"]
[connections.gw.remote]
cacerts = ["{CERTS}/ca.pem"]
certs = ["{CERTS}/b.example.org.pem"]
[[secrets.private_key]]
file = "{CERTS}/a.example.org.key.pem"
"#
    );
    let config = parse(&text).unwrap();
    let p = &config.connections[0].peer;
    // auth defaults to pubkey, as in swanctl.conf.
    assert!(matches!(p.local_auth, AuthMethod::PubKey(_)));
    let Identity::Dn(dn) = &p.local_id else {
        panic!("{:?}", p.local_id)
    };
    let AuthMethod::PubKey(cred) = &p.local_auth else {
        unreachable!()
    };
    assert_eq!(dn, &cred.chain()[0].subject_der());
    let AuthMethod::PeerCert(policy) = &p.remote_auth else {
        panic!()
    };
    assert!(policy.trust().is_some() && policy.pinned_cert().is_some());
    // No children: an IKE-only connection.
    assert!(p.children.is_empty());
}

#[test]
fn our_identity_must_be_in_our_certificate() {
    let text = format!(
        r#"
[connections.gw]
remote_addrs = ["10.0.0.2"]
[connections.gw.local]
id = "b.example.org"
certs = ["{CERTS}/a.example.org.pem"]
[connections.gw.remote]
certs = ["{CERTS}/b.example.org.pem"]
[[secrets.private_key]]
file = "{CERTS}/a.example.org.key.pem"
"#
    );
    let e = parse(&text).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "bad.toml:5: connections.gw.local.id: \"b.example.org\" is not named in certificate \
             \"{CERTS}/a.example.org.pem\" (expected one of its subjectAltNames or its subject: \
             a.example.org, \"C=XX, O=ike example (DO NOT USE), CN=a.example.org\")"
        )
    );
}

#[test]
fn ikev1_connections_are_loaded_and_aggressive_psk_warns() {
    let text = edit(5, "version = 1");
    let config = parse(&text).unwrap();
    assert_eq!(config.connections.len(), 1);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(config.connections[0].version, IkeVersion::V1);
    assert_eq!(config.connections[0].peer.version, IkeVersion::V1);
    assert_eq!(config.connections[0].peer.exchange, V1Exchange::Main);
    let text = edit(5, "version = 1\naggressive = true");
    let config = parse(&text).unwrap();
    assert_eq!(config.connections[0].peer.exchange, V1Exchange::Aggressive);
    assert_eq!(config.warnings.len(), 1);
    assert_eq!(config.warnings[0].severity, Severity::Warning);
    assert!(
        config.warnings[0].to_string().contains(
            "connections.site-b.aggressive: warning: Aggressive Mode with a pre-shared key"
        ),
        "{}",
        config.warnings[0]
    );
    // pke is allowed there, but still checked.
    let text = edit(5, "version = 1").replace(
        "auth = \"psk\"\nid = \"a.example.org\"",
        "auth = \"pke\"\nid = \"a.example.org\"",
    );
    let e = parse(&text).unwrap_err().to_string();
    assert!(
        e.contains(
            "bad.toml:12: connections.site-b.local.certs: auth = \"pke\" needs our certificate"
        ),
        "{e}"
    );
}

/// Weak algorithms load (a connection that names them gets them) but `ike check` warns about
/// each, with what to use instead.
#[test]
fn weak_algorithms_are_warned_about() {
    let text = edit(5, "version = 1").replacen(
        "proposals = [\"aes128gcm16-prfsha256-x25519\", \"aes256-sha256-modp2048\"]",
        "proposals = [\"3des-md5-modp1024\", \"aes128-sha1-ec2n155\"]",
        1,
    );
    assert_ne!(text, edit(5, "version = 1"), "the base config changed");
    let config = parse(&text).unwrap();
    assert_eq!(config.connections.len(), 1);
    let all: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    for want in [
        "\"3des-md5-modp1024\": modp1024 is weak",
        "\"3des-md5-modp1024\": md5 is weak (broken collision resistance); use sha256",
        "\"3des-md5-modp1024\": 3des is weak (64-bit blocks: Sweet32); use aes128 or aes256",
        "\"aes128-sha1-ec2n155\": ec2n155 is weak: the Oakley EC2N curves",
    ] {
        assert!(all.iter().any(|w| w.contains(want)), "{want}: {all:#?}");
    }
    assert!(all.iter().all(|w| w.contains("warning:")), "{all:#?}");
    // The defaults and the usual choices warn about nothing.
    assert!(parse(&edit(5, "version = 1")).unwrap().warnings.is_empty());
}

#[test]
fn psk_lookup_prefers_the_entry_naming_both_identities() {
    let text = format!(
        "{BASE}\n[[secrets.ike]]\nsecret = \"wildcard\"\n\n[[secrets.ike]]\nids = [\"b.example.org\"]\nsecret = \"one\"\n"
    )
    .replace("ids = [\"a.example.org\", \"b.example.org\"]\nsecret = \"a long random string\"", "ids = [\"a.example.org\", \"B.EXAMPLE.ORG\"]\nsecret = \"0x6869\"");
    let config = parse(&text).unwrap();
    let AuthMethod::Psk(s) = &config.connections[0].peer.local_auth else {
        panic!()
    };
    assert_eq!(s.expose(), b"hi");

    // Only the one-identity and the wildcard entries: the one-identity entry wins.
    let text = format!("{BASE}\n[[secrets.ike]]\nsecret = \"wildcard\"\n\n[[secrets.ike]]\nids = [\"b.example.org\"]\nsecret = \"one\"\n")
        .replace("ids = [\"a.example.org\", \"b.example.org\"]\nsecret = \"a long random string\"", "ids = [\"c.example.org\"]\nsecret = \"other\"");
    let config = parse(&text).unwrap();
    let AuthMethod::Psk(s) = &config.connections[0].peer.local_auth else {
        panic!()
    };
    assert_eq!(s.expose(), b"one");
}

#[test]
fn secrets_from_files_lose_their_line_break() {
    let config = parse(&edit(29, r#"file = "site-b.psk""#)).unwrap();
    let AuthMethod::Psk(s) = &config.connections[0].peer.remote_auth else {
        panic!()
    };
    assert_eq!(s.expose(), b"secret-from-file");
}

#[test]
fn debug_output_hides_secrets_and_keys() {
    let config = parse(BASE).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("a long random string"), "{shown}");
    assert!(shown.contains("redacted"));
    let config = ike_config::load(&examples_dir().join("site-to-site-certs.toml")).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("PRIVATE KEY"));
}

#[test]
fn metrics_address() {
    let config = parse(&edit(2, "kernel = \"none\"")).unwrap();
    assert_eq!(config.daemon.metrics, None, "off by default");
    for (text, want) in [
        ("metrics = \"127.0.0.1:9740\"", "127.0.0.1:9740"),
        ("metrics = \" [::1]:19740 \"", "[::1]:19740"),
        ("metrics = \"127.9.9.9:80\"", "127.9.9.9:80"),
        (
            "metrics = \"0.0.0.0:9740\"\nmetrics_public = true",
            "0.0.0.0:9740",
        ),
        (
            "metrics_public = true\nmetrics = \"[2001:db8::1]:9740\"",
            "[2001:db8::1]:9740",
        ),
    ] {
        let config = parse(&edit(2, &format!("kernel = \"none\"\n{text}")))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let want: std::net::SocketAddr = want.parse().unwrap();
        assert_eq!(config.daemon.metrics, Some(want), "{text}");
    }
}

#[test]
fn daemon_settings_map_to_the_endpoint() {
    let text = edit(
        2,
        r#"kernel = "none"
listen = ["::1", "127.0.0.1"]
port = 1500
port_nat_t = 14500
control_socket = "run/ike.sock"
log = "info,ike=debug"
retransmit_timeout = 1.5
retransmit_base = 2.0
retransmit_tries = 3
cookie_threshold = 5
block_threshold = 2
init_limit_half_open = 50
half_open_timeout = "10s"
fragment_size = 0
keep_alive = "0"
prefer_configured_proposals = false
non_first_fragments = true
shards = 3"#,
    );
    let config = parse(&text).unwrap();
    let d = &config.daemon;
    assert_eq!(d.kernel, KernelKind::None);
    assert_eq!(d.listen, vec![ip("::1"), ip("127.0.0.1")]);
    assert_eq!((d.port, d.port_nat_t), (1500, 14500));
    assert_eq!(d.control_socket, data_dir().join("run/ike.sock"));
    assert_eq!(d.log.as_deref(), Some("info,ike=debug"));
    assert_eq!(d.shards, Some(3));
    let e = &d.endpoint;
    assert_eq!(e.retransmit_timeout, Duration::from_millis(1500));
    assert_eq!(e.retransmit_base, 2.0);
    assert_eq!(e.retransmit_tries, 3);
    assert_eq!(e.cookie_threshold, 5);
    assert_eq!(e.max_half_open_per_peer, 2);
    assert_eq!(e.max_half_open, 50);
    assert_eq!(e.half_open_timeout, Duration::from_secs(10));
    assert_eq!(e.fragment_size, 0);
    assert_eq!(e.keepalive_interval, None);
    assert!(e.prefer_initiator_proposals);
    assert!(e.non_first_fragments);
    assert!(e.tfc_padding_supported, "a kernel property, not configured");
}

#[test]
fn hybrid_post_quantum_proposals_are_accepted() {
    let config = parse(&edit(
        8,
        r#"proposals = ["aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_none"]"#,
    ))
    .unwrap();
    let p = &config.connections[0].peer.ike_proposals[0];
    assert!(p.has_addke());
    assert_eq!(p.addke[0], vec![DhGroup::MlKem768, DhGroup::None]);
    // In ESP proposals too, after a KE method (IKE_FOLLOWUP_KE, RFC 9370 §2.2.4).
    let config = parse(&edit(
        22,
        r#"esp_proposals = ["aes256gcm16-x25519-ke1_mlkem768"]"#,
    ))
    .unwrap();
    let esp = &config.connections[0].peer.children[0].esp_proposals[0];
    assert_eq!(esp.ke, vec![DhGroup::Curve25519]);
    assert_eq!(esp.addke[0], vec![DhGroup::MlKem768]);
}

#[test]
fn swanctl_forms_are_accepted() {
    // Comma-separated strings, "default" proposals, dynamic selectors, ports, timers off.
    let text = BASE
        .replace(
            r#"proposals = ["aes128gcm16-prfsha256-x25519", "aes256-sha256-modp2048"]"#,
            r#"proposals = "default""#,
        )
        .replace(
            r#"local_ts = ["10.88.1.0/24"]"#,
            r#"local_ts = "dynamic, 10.88.1.0/24[tcp/443]""#,
        )
        .replace(
            r#"esp_proposals = ["aes128gcm16-x25519"]"#,
            r#"esp_proposals = ["default"]"#,
        )
        .replace(r#"rekey_time = "1h""#, "rekey_time = 0\nlife_time = \"2h\"")
        .replace(
            r#"dpd_delay = "30s""#,
            "dpd_delay = \"0\"\nencap = true\ndpd_action = \"trap\"",
        )
        .replace(r#"mode = "tunnel""#, r#"mode = "transport""#);
    let config = parse(&text).unwrap();
    let p = &config.connections[0].peer;
    assert_eq!(p.ike_proposals.len(), 2);
    assert_eq!(p.dpd_delay, None);
    assert_eq!(p.dpd_action, DpdAction::Trap);
    assert!(p.encap);
    let child = &p.children[0];
    assert_eq!(child.local_ts.len(), 2);
    assert_eq!(child.local_ts[0], Ts::cidr("10.77.0.1/32").unwrap());
    assert_eq!(
        (child.local_ts[1].protocol, child.local_ts[1].start_port),
        (6, 443)
    );
    assert_eq!(child.esp_proposals.len(), 2);
    assert!(child.esp_proposals.iter().all(|p| p.ke.is_empty()));
    assert_eq!(child.rekey_time, None);
    assert_eq!(child.life_time, Some(Duration::from_secs(7200)));
    assert_eq!(child.mode, Mode::Transport);
}

#[test]
fn warnings_do_not_stop_loading() {
    let text = edit(
        14,
        "id = \"a.example.org\"\ncerts = [\"../../../../examples/certs/a.example.org.pem\"]",
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.warnings.len(), 1);
    assert_eq!(
        config.warnings[0].to_string(),
        "bad.toml:15: connections.site-b.local.certs: warning: ignored with auth = \"psk\" \
         (certificates are sent only with pubkey)"
    );
}

#[test]
fn the_documented_example_is_accepted() {
    // The key reference in the crate docs must stay true: its TOML block loads.
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let block: Vec<&str> = src
        .lines()
        .skip_while(|l| *l != "//! ```toml")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| {
            l.strip_prefix("//!")
                .unwrap()
                .strip_prefix(' ')
                .unwrap_or("")
        })
        .collect();
    assert!(block.len() > 40);
    let text = block
        .join("\n")
        .replace(
            "\"a.key.pem\"",
            &format!("\"{CERTS}/a.example.org.key.pem\""),
        )
        .replace("\"ca.pem\"", &format!("\"{CERTS}/ca.pem\""));
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let c = &config.connections[0];
    assert_eq!(
        c.ike_life_time,
        Some(Duration::from_secs(4 * 3600 + 24 * 60))
    );
    assert_eq!(config.daemon.log.as_deref(), Some("info,ike=debug"));
}

#[test]
fn ah_proposals_make_an_ah_child() {
    use ike_proto::v2::IpsecProtocol;
    use ike_wire::v2::{IntegId, ProtocolId};
    let config = parse(&edit(22, r#"ah_proposals = ["sha256-x25519", "sha1"]"#)).unwrap();
    let child = &config.connections[0].peer.children[0];
    assert_eq!(child.protocol(), IpsecProtocol::Ah);
    assert!(child.esp_proposals.is_empty());
    assert_eq!(child.ah_proposals.len(), 2);
    assert!(child
        .ah_proposals
        .iter()
        .all(|p| p.protocol == ProtocolId::Ah && p.encr.is_empty()));
    assert_eq!(child.ah_proposals[0].integ, vec![IntegId::HmacSha256_128]);
    assert_eq!(child.ah_proposals[0].ke, vec![DhGroup::Curve25519]);
    assert!(child.ah_proposals[1].ke.is_empty());
    // "default" and a comma-separated string, as in swanctl.conf.
    let config = parse(&edit(22, r#"ah_proposals = "default""#)).unwrap();
    let child = &config.connections[0].peer.children[0];
    assert_eq!(child.protocol(), IpsecProtocol::Ah);
    assert_eq!(
        child.ah_proposals[0].integ,
        vec![
            IntegId::HmacSha256_128,
            IntegId::HmacSha384_192,
            IntegId::HmacSha512_256,
            IntegId::HmacSha1_96,
            IntegId::AesXcbc96
        ]
    );
    // Without either key a child is ESP with the defaults.
    let text = BASE.replace("esp_proposals = [\"aes128gcm16-x25519\"]\n", "");
    let config = parse(&text).unwrap();
    let child = &config.connections[0].peer.children[0];
    assert_eq!(child.protocol(), IpsecProtocol::Esp);
    assert_eq!(child.esp_proposals.len(), 2);
    assert!(child.ah_proposals.is_empty());
}

/// An RSA key and a self-signed certificate for `cn` of `bits`, made with the openssl tool in
/// `dir`: (certificate path, key path).
fn rsa_pair(dir: &std::path::Path, cn: &str, bits: u32) -> Option<(String, String)> {
    let cert = dir.join(format!("{cn}.pem"));
    let key = dir.join(format!("{cn}.key.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            &format!("rsa:{bits}"),
            "-nodes",
            "-days",
            "30",
        ])
        .args([
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            &format!("subjectAltName=DNS:{cn}"),
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("IKE_REQUIRE_OPENSSL").is_none(),
            "the openssl command-line tool is required (IKE_REQUIRE_OPENSSL is set) but missing"
        );
        eprintln!("SKIPPED: no openssl command-line tool");
        return None;
    }
    Some((cert.display().to_string(), key.display().to_string()))
}

/// `auth = "pke"` and `"rpke"` (IKEv1 public-key encryption) load our RSA key as a decryptor
/// and the peer's configured certificate; the two modes cannot be mixed; a short key warns.
#[test]
fn public_key_encryption_loads_with_rsa_keys() {
    let dir = std::env::temp_dir().join(format!("ike-config-pke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some((a_cert, a_key)) = rsa_pair(&dir, "a.example.org", 2048) else {
        return;
    };
    let (b_cert, _) = rsa_pair(&dir, "b.example.org", 2048).unwrap();
    let (short_cert, short_key) = rsa_pair(&dir, "short.example.org", 1024).unwrap();
    let conf = |ours: &str, theirs: &str, cert: &str, key: &str, id: &str| {
        format!(
            r#"
[connections.gw]
version = 1
remote_addrs = ["10.0.0.2"]
[connections.gw.local]
auth = "{ours}"
id = "{id}"
certs = ["{cert}"]
[connections.gw.remote]
auth = "{theirs}"
id = "b.example.org"
certs = ["{b_cert}"]
[[secrets.private_key]]
file = "{key}"
"#
        )
    };
    for (mode, revised) in [("pke", false), ("rpke", true)] {
        let config = parse(&conf(mode, mode, &a_cert, &a_key, "a.example.org")).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let p = &config.connections[0].peer;
        let AuthMethod::PkeKey {
            decryptor,
            cert,
            revised: r,
        } = &p.local_auth
        else {
            panic!("{:?}", p.local_auth)
        };
        assert_eq!((*r, decryptor.modulus_len()), (revised, 256));
        assert_eq!(cert.subject_text(), "CN=a.example.org");
        let AuthMethod::PkePeer { cert, revised: r } = &p.remote_auth else {
            panic!("{:?}", p.remote_auth)
        };
        assert_eq!(
            (*r, cert.subject_text().as_str()),
            (revised, "CN=b.example.org")
        );
    }
    let e = parse(&conf("pke", "rpke", &a_cert, &a_key, "a.example.org"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pke on one side and rpke on the other cannot work"),
        "{e}"
    );
    let config = parse(&conf(
        "pke",
        "pke",
        &short_cert,
        &short_key,
        "short.example.org",
    ))
    .unwrap();
    let w = config.warnings[0].to_string();
    assert!(
        w.contains("has 1024 bits: public-key encryption with a key under 2048 bits is weak"),
        "{w}"
    );
    // IKEv2 has no such method.
    let e =
        parse(&conf("pke", "pke", &a_cert, &a_key, "a.example.org").replace("version = 1\n", ""))
            .unwrap_err()
            .to_string();
    assert!(e.contains("pke"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

const GROUP: &str = r#"
[groups.mine]
number = 40000
prime = "0xED654A4EA778A43FBC1814CD0C77882B3F8C154AEAC87C74D4A3A9780CD8E3DFF3FA05C199B9CFFF9932215C325F84457310B8BA31EB2D75A1160287E841A99F9F398F4FAEE11801CFAB16F77B68A1314A5F5AFAB10B55255339770269D46062AF0CBBC17CBD210E63F376B664B1E282DB919A9A466E8F25FE93BB617FDD682B"
generator = 2
"#;

/// `[groups.NAME]` (IKEv1 private groups, RFC 2409 §5.6): validated, given to the endpoint,
/// and named in proposals; refused when invalid, out of the private range, or used by IKEv2.
#[test]
fn private_groups_load_and_are_checked() {
    let v1 = edit(5, "version = 1").replace(
        "esp_proposals = [\"aes128gcm16-x25519\"]",
        "esp_proposals = [\"aes128-sha256-mine\"]",
    );
    let config = parse(&format!("{v1}{GROUP}")).unwrap();
    assert_eq!(config.daemon.endpoint.private_groups.len(), 1);
    assert_eq!(config.daemon.endpoint.private_groups[0].number, 40000);
    let ke = &config.connections[0].peer.children[0].esp_proposals[0].ke;
    assert_eq!(ke, &[DhGroup::Unknown(40000)]);
    // A 1024-bit prime is weak: warned.
    assert!(
        config.warnings.iter().any(|w| w
            .to_string()
            .contains("a MODP group under 2048 bits, which is weak")),
        "{:?}",
        config.warnings
    );
    // Not a safe prime.
    let bad = GROUP.replace("FDD682B\"", "FDD682D\"");
    let e = parse(&format!("{v1}{bad}")).unwrap_err().to_string();
    assert!(
        e.contains("groups.mine: the group parameters are not a valid group"),
        "{e}"
    );
    // Below the private range.
    let e = parse(&format!("{v1}{}", GROUP.replace("40000", "100")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("groups.mine.number: 100 is out of range (expected 32768 to 65535)"),
        "{e}"
    );
    // IKEv2 cannot use it.
    let v2 = edit(5, "version = 2").replace(
        "esp_proposals = [\"aes128gcm16-x25519\"]",
        "esp_proposals = [\"aes128-sha256-mine\"]",
    );
    let e = parse(&format!("{v2}{GROUP}")).unwrap_err().to_string();
    assert!(e.contains("private groups are IKEv1 only"), "{e}");
}

/// Inputs that work but are probably not what the user meant, or are weak: a selector with host
/// bits set, a pre-shared key under 16 bytes (warnings); a connection name outside letters,
/// digits, '-', '_', '.' (an error: names reach logs and the control protocol).
#[test]
fn doubtful_inputs_are_warned_about_and_unsafe_names_refused() {
    let text = BASE.replace(
        "local_ts = [\"10.88.1.0/24\"]",
        "local_ts = [\"10.88.1.5/24\"]",
    );
    let config = parse(&text).unwrap();
    assert_eq!(
        config.connections[0].peer.children[0].local_ts[0].start,
        ip("10.88.1.0")
    );
    let w: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("bad.toml:20: connections.site-b.children.net.local_ts[0]: warning: \"10.88.1.5/24\" has host bits set; it is taken as the subnet starting at 10.88.1.0"), "{w:?}");
    let text = BASE.replace("secret = \"a long random string\"", "secret = \"short\"");
    let config = parse(&text).unwrap();
    let w: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("the pre-shared key has 5 bytes")),
        "{w:?}"
    );
    assert!(
        w.iter().all(|w| !w.contains("short")),
        "the key itself is never shown: {w:?}"
    );
    for name in ["site b", "x\\ny", "ünïcode", "a/b"] {
        let text = BASE.replace("site-b", &format!("\"{name}\""));
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("invalid connection name"), "{name}: {e}");
    }
}

/// `exchange = "base"` and `"auth-only"` (RFC 2408 §4.4, §4.6): loaded, with the warning a
/// pre-shared key earns there (identities in the clear, an offline-attackable hash).
#[test]
fn ikev1_base_and_authentication_only_exchanges_load_with_a_warning() {
    let text = edit(5, "version = 1\nexchange = \"base\"");
    let config = parse(&text).unwrap();
    assert_eq!(config.connections[0].peer.exchange, V1Exchange::Base);
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    assert!(config.warnings[0]
        .to_string()
        .starts_with("bad.toml:6: connections.site-b.exchange: warning: this exchange sends the identities in the clear"));
    // Authentication Only keys no IPsec SA: no children.
    let mut text = edit(5, "version = 1\nexchange = \"auth-only\"");
    let cut = text.find("[connections.site-b.children.net]").unwrap();
    let secrets = text.find("[[secrets.ike]]").unwrap();
    text.replace_range(cut..secrets, "");
    let config = parse(&text).unwrap();
    assert_eq!(config.connections[0].peer.exchange, V1Exchange::AuthOnly);
    assert!(config.connections[0].peer.children.is_empty());
    // "main" is the default and may be written.
    let config = parse(&edit(5, "version = 1\nexchange = \"main\"")).unwrap();
    assert_eq!(config.connections[0].peer.exchange, V1Exchange::Main);
}

/// A responder for road warriors as strongSwan users write it: `remote_addrs = ["%any"]` with
/// the default `remote_ts` (dynamic): each SA's peer address ([`Ts::dynamic`]), not an error.
#[test]
fn dynamic_selectors_with_any_address_are_each_sas_address() {
    let responder =
        |text: String| text.replace("start_action = \"start\"", "start_action = \"none\"");
    let text = responder(
        edit(7, r#"remote_addrs = ["%any"]"#).replace("remote_ts = [\"10.88.2.0/24\"]\n", ""),
    );
    let config = parse(&text).unwrap();
    let child = &config.connections[0].peer.children[0];
    assert_eq!(child.remote_ts, vec![Ts::dynamic()]);
    assert_eq!(child.local_ts, vec![Ts::cidr("10.88.1.0/24").unwrap()]);
    // Written out, with one local address: that address.
    let text = responder(
        edit(7, r#"remote_addrs = ["%any"]"#)
            .replace("local_ts = [\"10.88.1.0/24\"]", "local_ts = [\"dynamic\"]"),
    );
    let config = parse(&text).unwrap();
    let child = &config.connections[0].peer.children[0];
    assert_eq!(child.local_ts, vec![Ts::cidr("10.77.0.1").unwrap()]);
}

/// A pre-shared key or private key file that group or others may read or write is refused
/// with the fix (chmod 600), or only warned about with `secret_file_modes = "warn"`.
#[test]
fn secret_files_others_can_read_are_refused_or_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("ike-secret-modes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let psk = dir.join("b.psk");
    std::fs::write(&psk, "secret-from-a-file-of-24\n").unwrap();
    let key = dir.join("a.key.pem");
    std::fs::copy(examples_dir().join("certs/a.example.org.key.pem"), &key).unwrap();
    let psk_line = format!("file = \"{}\"", psk.display());
    for (mode, verb) in [
        (0o644, "read"),
        (0o640, "read"),
        (0o666, "change"),
        (0o620, "change"),
    ] {
        std::fs::set_permissions(&psk, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = parse(&edit(29, &psk_line)).unwrap_err().to_string();
        assert!(
            e.contains(&format!("holds a secret but its mode is {mode:04o}: group or others may {verb} it (chmod 600 {};", psk.display())),
            "{mode:o}: {e}"
        );
        assert!(e.contains("secret_file_modes = \"warn\""), "{e}");
        // Relaxed: a warning, and the key is taken.
        let text = edit(2, "kernel = \"none\"\nsecret_file_modes = \"warn\"");
        let text = text.replace("secret = \"a long random string\"", &psk_line);
        let config = parse(&text).unwrap();
        assert!(
            config
                .warnings
                .iter()
                .any(|w| w.to_string().contains("holds a secret but its mode")),
            "{:?}",
            config.warnings
        );
    }
    std::fs::set_permissions(&psk, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = parse(&edit(29, &psk_line)).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    // A private key file, the same.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let certs = examples_dir().join("certs");
    let text = std::fs::read_to_string(examples_dir().join("site-to-site-certs.toml"))
        .unwrap()
        .replace(
            "\"certs/a.example.org.key.pem\"",
            &format!("\"{}\"", key.display()),
        )
        .replace("\"certs/", &format!("\"{}/", certs.display()));
    let e = ike_config::parse(&text, "certs.toml", &examples_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("secrets.private_key[0].file") && e.contains("mode is 0644"),
        "{e}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    ike_config::parse(&text, "certs.toml", &examples_dir()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
