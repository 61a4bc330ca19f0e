//! A table of broken configurations, each with the exact messages it must produce: file, line,
//! key, and what was expected (DESIGN.md: "Every config error names the file, line and key, and
//! says what was expected").

mod common;

use common::{edit, parse, BASE, CERTS};

/// Each case: a name, the configuration text, and every line of the expected report.
fn cases() -> Vec<(&'static str, String, Vec<String>)> {
    let c = |name, text: String, expected: &[&str]| {
        (
            name,
            text,
            expected.iter().map(|s| (*s).to_owned()).collect(),
        )
    };
    vec![
        c(
            "TOML syntax error",
            edit(9, r#"dpd_delay = "30s"#),
            &[r#"bad.toml:9: connections.site-b.dpd_delay: invalid TOML: invalid basic string, expected `"`"#],
        ),
        c(
            "unknown top-level section",
            format!("{BASE}\n[tunnels]\nx = 1\n"),
            &[r#"bad.toml:31: tunnels: unknown section (expected one of: daemon, connections, secrets, authorities, groups)"#],
        ),
        c(
            "string for version",
            edit(5, r#"version = "2""#),
            &[r#"bad.toml:5: connections.site-b.version: expected an integer (1 or 2), found a string"#],
        ),
        c(
            "version 3",
            edit(5, "version = 3"),
            &[r#"bad.toml:5: connections.site-b.version: unsupported IKE version 3 (expected 1 or 2)"#],
        ),
        c(
            "unknown proposal keyword",
            edit(8, r#"proposals = ["aes128gcm16-prfsha256-x25519", "aes128gcm17-prfsha256-x25519"]"#),
            &[r#"bad.toml:8: connections.site-b.proposals[1]: unknown algorithm keyword "aes128gcm17" (expected e.g. aes128gcm16-prfsha256-x25519)"#],
        ),
        c(
            "IKE proposal without key exchange",
            edit(8, r#"proposals = ["aes128gcm16-prfsha256"]"#),
            &[r#"bad.toml:8: connections.site-b.proposals[0]: proposal "aes128gcm16-prfsha256" names no key exchange method (expected e.g. aes128gcm16-prfsha256-x25519, or modp2048, ecp256)"#],
        ),
        c(
            "ESP proposal with a PRF",
            edit(22, r#"esp_proposals = ["aes128gcm16-prfsha256-x25519"]"#),
            &[r#"bad.toml:22: connections.site-b.children.net.esp_proposals[0]: "prfsha256" is not allowed in an ESP proposal: ESP has no PRF (expected e.g. aes128gcm16-x25519 or aes256-sha256)"#],
        ),
        c(
            "additional key exchange in an ESP proposal without PFS",
            edit(22, r#"esp_proposals = ["aes128gcm16-ke1_mlkem768"]"#),
            &[r#"bad.toml:22: connections.site-b.children.net.esp_proposals[0]: proposal "aes128gcm16-ke1_mlkem768" has additional key exchanges but no key exchange method: they follow one in CREATE_CHILD_SA (expected e.g. aes256gcm16-x25519-ke1_mlkem768)"#],
        ),
        c(
            "ESP and AH proposals in one child",
            edit(22, "esp_proposals = [\"aes128gcm16\"]\nah_proposals = [\"sha256\"]"),
            &[r#"bad.toml:23: connections.site-b.children.net.ah_proposals: a child has either esp_proposals or ah_proposals, not both (expected one of them: ESP encrypts and authenticates, AH only authenticates)"#],
        ),
        c(
            "ESP algorithm in an AH proposal",
            edit(22, r#"ah_proposals = ["sha256", "aes128-sha256"]"#),
            &[r#"bad.toml:22: connections.site-b.children.net.ah_proposals[1]: "aes128" is not allowed in an AH proposal: AH authenticates only, with integrity algorithms (expected e.g. sha256-x25519, or esp_proposals to encrypt)"#],
        ),
        c(
            "AH proposal without integrity algorithm",
            edit(22, r#"ah_proposals = ["x25519"]"#),
            &[r#"bad.toml:22: connections.site-b.children.net.ah_proposals[0]: proposal "x25519" names no integrity algorithm (expected e.g. sha256-x25519)"#],
        ),
        c(
            "empty AH proposal list",
            edit(22, "ah_proposals = []"),
            &[r#"bad.toml:22: connections.site-b.children.net.ah_proposals: empty list (expected at least one proposal, e.g. "sha256-x25519", or "default")"#],
        ),
        c(
            "empty proposal list",
            edit(8, "proposals = []"),
            &[r#"bad.toml:8: connections.site-b.proposals: empty list (expected at least one proposal, e.g. "aes128gcm16-prfsha256-x25519", or "default")"#],
        ),
        c(
            "bad duration",
            edit(9, r#"dpd_delay = "30 seconds""#),
            &[r#"bad.toml:9: connections.site-b.dpd_delay: invalid duration "30 seconds" (expected a number with unit s, m, h or d, e.g. "30s", "90m", "4h", "1d"; "0" turns it off)"#],
        ),
        c(
            "negative duration",
            edit(25, "rekey_time = -5"),
            &[r#"bad.toml:25: connections.site-b.children.net.rekey_time: -5 seconds is out of range (expected a number with unit s, m, h or d, e.g. "30s", "90m", "4h", "1d"; "0" turns it off, at most 3650d)"#],
        ),
        c(
            "child life_time not longer than rekey_time",
            edit(25, "rekey_time = \"1h\"\nlife_time = \"30m\""),
            &[r#"bad.toml:26: connections.site-b.children.net.life_time: life_time (1800s) must be longer than rekey_time (3600s) (expected e.g. rekey_time plus 10%)"#],
        ),
        c(
            "bad CIDR",
            edit(20, r#"local_ts = ["10.88.1.0/33"]"#),
            &[r#"bad.toml:20: connections.site-b.children.net.local_ts[0]: invalid traffic selector "10.88.1.0/33" (expected a subnet in CIDR notation such as "10.88.1.0/24" or "fd00::/64", optionally with [protocol/port], or "dynamic")"#],
        ),
        c(
            "integer traffic selector",
            edit(21, "remote_ts = [10]"),
            &[r#"bad.toml:21: connections.site-b.children.net.remote_ts[0]: expected subnets such as "10.88.1.0/24", found an integer"#],
        ),
        c(
            "bad mode",
            edit(23, r#"mode = "tunel""#),
            &[r#"bad.toml:23: connections.site-b.children.net.mode: unknown mode "tunel" (expected one of tunnel, transport)"#],
        ),
        c(
            "bad start_action",
            edit(24, r#"start_action = "begin""#),
            &[r#"bad.toml:24: connections.site-b.children.net.start_action: unknown start_action "begin" (expected one of none, start, trap)"#],
        ),
        c(
            "remote %any with start_action = start",
            edit(7, r#"remote_addrs = ["%any"]"#),
            &[r#"bad.toml:24: connections.site-b.children.net.start_action: "start" needs an address to initiate to, but remote_addrs is %any (expected start_action = "none" for a responder, or remote_addrs with the peer's address)"#],
        ),
        c(
            "host name in remote_addrs",
            edit(7, r#"remote_addrs = ["gw.example.org"]"#),
            &[r#"bad.toml:7: connections.site-b.remote_addrs[0]: invalid IP address "gw.example.org" (expected an IP address such as "192.0.2.1" or "2001:db8::1", or "%any"; host names are not supported)"#],
        ),
        c(
            "auth psk without a secret",
            BASE.replace("[[secrets.ike]]\nids = [\"a.example.org\", \"b.example.org\"]\nsecret = \"a long random string\"\n", ""),
            &[r#"bad.toml:13: connections.site-b.local.auth: auth = "psk" but no [[secrets.ike]] matches local id "a.example.org" or remote id "b.example.org" (expected [[secrets.ike]] with ids = ["a.example.org", "b.example.org"] and secret or file)"#],
        ),
        c(
            "secret file missing",
            edit(29, r#"file = "missing.psk""#),
            &[r#"bad.toml:29: secrets.ike[0].file: cannot read "missing.psk": no such file (relative paths start at the configuration file's directory)"#],
        ),
        c(
            "both secret and file",
            edit(29, "secret = \"x\"\nfile = \"site-b.psk\""),
            &[r#"bad.toml:30: secrets.ike[0].file: both secret and file are set (expected one of them)"#],
        ),
        c(
            "secret in hex that is not hex",
            edit(29, r#"secret = "0xnothex""#),
            &[r#"bad.toml:29: secrets.ike[0].secret: the secret starts with 0x but is not hex (expected 0x and an even number of hex digits)"#],
        ),
        c(
            "cert file neither PEM nor DER",
            edit(13, "auth = \"pubkey\"\ncerts = [\"not-a-cert.pem\"]"),
            &[r#"bad.toml:14: connections.site-b.local.certs[0]: "not-a-cert.pem" is not a certificate (expected an X.509 certificate in PEM, "-----BEGIN CERTIFICATE-----", or DER)"#],
        ),
        c(
            "pubkey without certs",
            edit(13, r#"auth = "pubkey""#),
            &[r#"bad.toml:12: connections.site-b.local.certs: auth = "pubkey" needs our certificate (expected certs = ["our-cert.pem"] and its key in a [[secrets.private_key]])"#],
        ),
        c(
            "pubkey without the private key",
            edit(13, &format!("auth = \"pubkey\"\ncerts = [\"{CERTS}/a.example.org.pem\"]")),
            &[&format!(r#"bad.toml:14: connections.site-b.local.certs[0]: no [[secrets.private_key]] holds the private key of "{CERTS}/a.example.org.pem" (expected [[secrets.private_key]] with file = "its-key.pem")"#)],
        ),
        c(
            "pubkey peer without trust anchors",
            edit(16, r#"auth = "pubkey""#),
            &[r#"bad.toml:16: connections.site-b.remote.auth: auth = "pubkey" for the peer needs a trust anchor (expected [[authorities]] with cacert, remote cacerts, or remote certs to pin the peer's certificate)"#],
        ),
        c(
            "end-entity certificate as a trust anchor",
            format!("{}\n[[authorities]]\ncacert = \"{CERTS}/b.example.org.pem\"\n", edit(16, r#"auth = "pubkey""#)),
            &[&format!(r#"bad.toml:32: authorities[0].cacert: "{CERTS}/b.example.org.pem" cannot be a trust anchor: certificate "C=XX, O=ike example (DO NOT USE), CN=b.example.org" is not a CA (basicConstraints cA is not TRUE) (expected a CA certificate: basicConstraints cA TRUE, keyUsage with keyCertSign)"#)],
        ),
        c(
            "pke on version 2",
            edit(13, r#"auth = "pke""#),
            &[r#"bad.toml:13: connections.site-b.local.auth: "pke" is IKEv1 only (expected psk or pubkey with version = 2)"#],
        ),
        c(
            "unknown auth method",
            edit(16, r#"auth = "eap-mschapv2""#),
            &[r#"bad.toml:16: connections.site-b.remote.auth: unknown authentication method "eap-mschapv2" (expected psk, pubkey, pke or rpke)"#],
        ),
        c(
            "no shards",
            edit(2, "kernel = \"none\"\nshards = 0"),
            &[r#"bad.toml:3: daemon.shards: 0 is out of range (expected 1 to 64)"#],
        ),
        c(
            "non_first_fragments not a boolean",
            edit(2, "kernel = \"none\"\nnon_first_fragments = \"yes\""),
            &[r#"bad.toml:3: daemon.non_first_fragments: expected true or false, found a string"#],
        ),
        c(
            "IKEv1 exchange on version 2",
            edit(9, "exchange = \"base\""),
            &[r#"bad.toml:9: connections.site-b.exchange: the exchange is chosen for IKEv1 only (IKEv2 has one; remove it or set version = 1)"#],
        ),
        c(
            "unknown IKEv1 exchange",
            edit(5, "version = 1\nexchange = \"identity-protection\""),
            &[r#"bad.toml:6: connections.site-b.exchange: unknown IKEv1 exchange "identity-protection" (expected one of main, aggressive, base, auth-only)"#],
        ),
        c(
            "aggressive contradicts the exchange",
            edit(5, "version = 1\naggressive = true\nexchange = \"base\""),
            &[r#"bad.toml:7: connections.site-b.exchange: aggressive = true contradicts exchange = "base" (keep one of them)"#],
        ),
        c(
            "Authentication Only with children",
            edit(5, "version = 1\nexchange = \"auth-only\""),
            &[r#"bad.toml:6: connections.site-b.exchange: an Authentication Only SA derives no keys for IPsec SAs (RFC 2408 §4.6): remove the children, or use exchange = "main""#],
        ),
        c(
            "aggressive on version 2",
            edit(9, "aggressive = true"),
            &[r#"bad.toml:9: connections.site-b.aggressive: aggressive mode is IKEv1 only (expected false, or version = 1)"#],
        ),
        c(
            "typo in a connection key",
            edit(7, r#"remote_adrs = ["10.77.0.2"]"#).replace(r#"start_action = "start""#, r#"start_action = "none""#),
            &[r#"bad.toml:7: connections.site-b.remote_adrs: unknown key (did you mean "remote_addrs"?)"#],
        ),
        c(
            "unknown child key",
            edit(25, "updown = \"/bin/true\""),
            &[r#"bad.toml:25: connections.site-b.children.net.updown: unknown key (expected one of: local_ts, remote_ts, esp_proposals, ah_proposals, mode, start_action, rekey_time, life_time)"#],
        ),
        c(
            "bad identity",
            edit(17, r#"id = "CN=""#),
            &[r#"bad.toml:17: connections.site-b.remote.id: invalid distinguished name "CN=" (expected an FQDN, user@domain, an IP address, @#hex key ID, a DN like "C=CH, O=Example, CN=moon.example.org", or %any)"#],
        ),
        c(
            "missing remote section",
            BASE.replace("[connections.site-b.remote]\nauth = \"psk\"\nid = \"b.example.org\"\n", ""),
            &[r#"bad.toml:4: connections.site-b.remote: missing in [connections.site-b] (expected a [connections.site-b.remote] table with auth and id)"#],
        ),
        c(
            "metrics not an address and port",
            edit(2, "kernel = \"none\"\nmetrics = \"localhost:9740\""),
            &[r#"bad.toml:3: daemon.metrics: "localhost:9740" is not an address and port (expected e.g. "127.0.0.1:9740" or "[::1]:9740")"#],
        ),
        c(
            "metrics without a port",
            edit(2, "kernel = \"none\"\nmetrics = \"127.0.0.1\""),
            &[r#"bad.toml:3: daemon.metrics: "127.0.0.1" is not an address and port (expected e.g. "127.0.0.1:9740" or "[::1]:9740")"#],
        ),
        c(
            "metrics on port 0",
            edit(2, "kernel = \"none\"\nmetrics = \"127.0.0.1:0\""),
            &[r#"bad.toml:3: daemon.metrics: port 0: Prometheus must know where to scrape (expected e.g. "127.0.0.1:9740")"#],
        ),
        c(
            "metrics as a number",
            edit(2, "kernel = \"none\"\nmetrics = 9740"),
            &[r#"bad.toml:3: daemon.metrics: expected an address and port such as "127.0.0.1:9740", found an integer"#],
        ),
        c(
            "metrics on a public address without metrics_public",
            edit(2, "kernel = \"none\"\nmetrics = \"0.0.0.0:9740\""),
            &[r#"bad.toml:3: daemon.metrics: 0.0.0.0:9740 is not a loopback address: the metrics page has no authentication and names every connection (expected e.g. "127.0.0.1:9740", or set metrics_public = true to serve it there)"#],
        ),
        c(
            "metrics_public not a boolean",
            edit(2, "kernel = \"none\"\nmetrics = \"[::1]:9740\"\nmetrics_public = \"yes\""),
            &[r#"bad.toml:4: daemon.metrics_public: expected true or false, found a string"#],
        ),
        c(
            "bad kernel",
            edit(2, r#"kernel = "netlink""#),
            &[r#"bad.toml:2: daemon.kernel: unknown kernel backend "netlink" (expected "xfrm" or "none")"#],
        ),
        c(
            "several errors at once",
            edit(5, "version = 3").replace(r#"mode = "tunnel""#, r#"mode = "beet""#),
            &[
                r#"bad.toml:5: connections.site-b.version: unsupported IKE version 3 (expected 1 or 2)"#,
                r#"bad.toml:23: connections.site-b.children.net.mode: unknown mode "beet" (expected one of tunnel, transport)"#,
            ],
        ),
    ]
}

#[test]
fn every_bad_config_reports_exactly_its_problems() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 15);
    for (name, text, expected) in all {
        match parse(&text) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) => {
                let got: Vec<String> = e.to_string().lines().map(str::to_owned).collect();
                if got != expected {
                    failures.push(format!(
                        "{name}:\n  got:      {got:#?}\n  expected: {expected:#?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_base_config_is_good() {
    parse(BASE).unwrap();
}

#[test]
fn errors_never_show_the_secret() {
    // A secret nobody matches, and a key file in the wrong place: neither message may contain
    // the secret.
    let text = BASE
        .replace(
            r#"ids = ["a.example.org", "b.example.org"]"#,
            r#"ids = ["c.example.org"]"#,
        )
        .replace(r#"version = 2"#, r#"version = "2""#);
    let e = parse(&text).unwrap_err().to_string();
    assert!(!e.contains("a long random string"), "{e}");
    let e = parse(&edit(29, r#"secret = "0xsecretbutnothex""#))
        .unwrap_err()
        .to_string();
    assert!(!e.contains("secretbutnothex"), "{e}");
}

#[test]
fn unreadable_file_is_one_error_without_line() {
    let e = ike_config::load(std::path::Path::new("/nonexistent/ike.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/nonexistent/ike.toml: cannot read the configuration file: no such file"
    );
}
