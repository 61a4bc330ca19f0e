//! Parsers for the values of the file: durations, addresses, identities, traffic selectors,
//! proposals, secrets, and the certificate, key and secret files they name. Each returns a
//! message saying what was expected; the caller adds the file, line and key.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ike_crypto::sign::PrivateKey;
use ike_crypto::x509::Certificate;
use ike_crypto::{CryptoError, Secret};
use ike_proto::proposal::{Proposal, ProposalError};
use ike_proto::v2::{Identity, Ts};
use zeroize::Zeroizing;

/// The longest duration accepted (ten years): longer ones are surely mistakes, and keeping
/// them bounded keeps `now + duration` from overflowing in the daemon.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3650 * 86_400);

/// Files larger than this are refused (a certificate chain, a key or a PSK is a few KiB).
const MAX_FILE: u64 = 1 << 20;

const DURATION_EXPECTED: &str =
    "a number with unit s, m, h or d, e.g. \"30s\", \"90m\", \"4h\", \"1d\"; \"0\" turns it off";

/// A duration in strongSwan's form: a number (decimals allowed) and an optional unit `s`, `m`,
/// `h` or `d` (seconds without one). Zero is allowed (the caller decides what it means).
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let factor = match unit.trim() {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(format!(
                "invalid duration \"{text}\" (expected {DURATION_EXPECTED})"
            ))
        }
    };
    let value: f64 = match num.parse() {
        Ok(v) if !num.is_empty() => v,
        _ => {
            return Err(format!(
                "invalid duration \"{text}\" (expected {DURATION_EXPECTED})"
            ))
        }
    };
    seconds(value * factor).ok_or_else(|| {
        format!(
            "duration \"{text}\" is too long (expected at most {}d)",
            MAX_DURATION.as_secs() / 86_400
        )
    })
}

/// A number of seconds as a duration, if finite, not negative and at most [`MAX_DURATION`].
pub(crate) fn seconds(s: f64) -> Option<Duration> {
    if !s.is_finite() || s < 0.0 || s > MAX_DURATION.as_secs_f64() {
        return None;
    }
    Some(Duration::from_secs_f64(s))
}

/// The message for a duration given as a number out of range.
pub(crate) fn bad_seconds(n: f64) -> String {
    format!(
        "{n} seconds is out of range (expected {DURATION_EXPECTED}, at most {}d)",
        MAX_DURATION.as_secs() / 86_400
    )
}

/// An IP address.
pub(crate) fn ip(text: &str) -> Result<IpAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("invalid IP address \"{text}\" (expected e.g. \"192.0.2.1\" or \"2001:db8::1\")")
    })
}

/// An identity in strongSwan's text form: an IP address, an FQDN (`@` forces one), an email
/// address, `@#hex` (key ID), a distinguished name (`C=CH, O=Example, CN=moon.example.org`), or
/// `%any`.
pub(crate) fn identity(text: &str) -> Result<Identity, String> {
    const EXPECTED: &str = "an FQDN, user@domain, an IP address, @#hex key ID, \
                            a DN like \"C=CH, O=Example, CN=moon.example.org\", or %any";
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty identity (expected {EXPECTED})"));
    }
    if let Some(hex) = t.strip_prefix("@#") {
        return match decode_hex(hex) {
            Some(b) if !b.is_empty() => Ok(Identity::KeyId(b)),
            _ => Err(format!(
                "invalid key ID \"{t}\" (expected @# and an even number of hex digits)"
            )),
        };
    }
    if !t.starts_with('@') && t.contains('=') {
        return distinguished_name(t)
            .map(Identity::Dn)
            .ok_or_else(|| format!("invalid distinguished name \"{t}\" (expected {EXPECTED})"));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid identity \"{t}\" (expected {EXPECTED})"));
    }
    Ok(Identity::parse(t))
}

/// The DER encoding of a DN in RFC 4514-like text, in the order written (strongSwan's order):
/// `C=CH, O=Example, CN=moon`. Attribute names are OpenSSL's short or long names.
fn distinguished_name(text: &str) -> Option<Vec<u8>> {
    let mut builder = openssl::x509::X509NameBuilder::new().ok()?;
    let mut count = 0;
    for part in split_unescaped(text) {
        let (k, v) = part.split_once('=')?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return None;
        }
        builder.append_entry_by_text(k, v).ok()?;
        count += 1;
    }
    if count == 0 {
        return None;
    }
    builder.build().to_der().ok()
}

/// Splits on commas not preceded by a backslash, and removes the escaping backslashes.
fn split_unescaped(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            if let Some(p) = parts.last_mut() {
                p.push(c);
            }
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            parts.push(String::new());
        } else if let Some(p) = parts.last_mut() {
            p.push(c);
        }
    }
    parts
}

/// A traffic selector: a subnet in CIDR notation or a single address, optionally followed by
/// `[protocol/port]` as in swanctl.conf (`10.0.0.0/24[tcp/443]`, `[udp]`, `[/53]`, a port range
/// `[tcp/1024-2048]`).
pub(crate) fn traffic_selector(text: &str) -> Result<Ts, String> {
    const EXPECTED: &str = "a subnet in CIDR notation such as \"10.88.1.0/24\" or \"fd00::/64\", \
                            optionally with [protocol/port], or \"dynamic\"";
    let t = text.trim();
    let (net, sel) = match t.split_once('[') {
        Some((net, rest)) => match rest.strip_suffix(']') {
            Some(sel) => (net.trim(), Some(sel)),
            None => {
                return Err(format!(
                    "invalid traffic selector \"{t}\" (expected {EXPECTED})"
                ))
            }
        },
        None => (t, None),
    };
    let mut ts = Ts::cidr(net)
        .ok_or_else(|| format!("invalid traffic selector \"{t}\" (expected {EXPECTED})"))?;
    if let Some(sel) = sel {
        let (proto, port) = match sel.split_once('/') {
            Some((p, port)) => (p.trim(), Some(port.trim())),
            None => (sel.trim(), None),
        };
        ts.protocol = match proto {
            "" | "%any" | "any" => 0,
            "tcp" => 6,
            "udp" => 17,
            "icmp" => 1,
            "ipv6-icmp" | "icmpv6" => 58,
            "sctp" => 132,
            n => n.parse().map_err(|_| {
                format!(
                    "unknown protocol \"{n}\" in traffic selector \"{t}\" \
                     (expected tcp, udp, icmp, ipv6-icmp, sctp or a number 0-255)"
                )
            })?,
        };
        if let Some(port) = port.filter(|p| !p.is_empty() && *p != "%any") {
            let bad = || {
                format!("invalid port \"{port}\" in traffic selector \"{t}\" (expected a port 0-65535 or a range like 1024-2048)")
            };
            let (a, b) = match port.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (port, port),
            };
            let a: u16 = a.parse().map_err(|_| bad())?;
            let b: u16 = b.parse().map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            ts.start_port = a;
            ts.end_port = b;
        }
    }
    Ok(ts)
}

/// What proposals a user would write, for error messages.
const IKE_EXAMPLE: &str = "aes128gcm16-prfsha256-x25519";
const ESP_EXAMPLE: &str = "aes128gcm16-x25519";
const AH_EXAMPLE: &str = "sha256-x25519";

/// Which kind of proposal a list holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `proposals` of a connection.
    Ike,
    /// `esp_proposals` of a child.
    Esp,
    /// `ah_proposals` of a child.
    Ah,
}

impl Kind {
    /// The configuration key of its list.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Kind::Ike => "proposals",
            Kind::Esp => "esp_proposals",
            Kind::Ah => "ah_proposals",
        }
    }

    /// A proposal to show in messages.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Kind::Ike => IKE_EXAMPLE,
            Kind::Esp => ESP_EXAMPLE,
            Kind::Ah => AH_EXAMPLE,
        }
    }

    /// strongSwan's `default` proposals of the kind.
    pub(crate) fn defaults(self) -> &'static [&'static str] {
        match self {
            Kind::Ike => &DEFAULT_IKE,
            Kind::Esp => &DEFAULT_ESP,
            Kind::Ah => &DEFAULT_AH,
        }
    }
}

/// strongSwan's `default` proposals, for IKE and ESP (AEAD first, then classic).
pub(crate) const DEFAULT_IKE: [&str; 2] = [
    "aes128gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-modp3072",
    "aes128-aes256-sha256-sha384-sha512-x25519-ecp256-ecp384-modp3072",
];
/// The ESP defaults carry no key exchange method: no PFS unless asked for.
pub(crate) const DEFAULT_ESP: [&str; 2] = [
    "aes128gcm16-aes256gcm16-chacha20poly1305",
    "aes128-aes256-sha256-sha384-sha512",
];
/// The AH defaults (strongSwan's integrity algorithms for AH, no PFS).
pub(crate) const DEFAULT_AH: [&str; 1] = ["sha256-sha384-sha512-sha1-aesxcbc"];

/// An IKE, ESP or AH proposal in strongSwan's syntax.
pub(crate) fn proposal(text: &str, kind: Kind) -> Result<Proposal, String> {
    let ike = kind == Kind::Ike;
    let parsed = match kind {
        Kind::Ike => Proposal::parse_ike(text),
        Kind::Esp => Proposal::parse_esp(text),
        Kind::Ah => Proposal::parse_ah(text),
    };
    let example = kind.example();
    parsed.map_err(|e| match e {
        ProposalError::UnknownKeyword(w) => {
            format!("unknown algorithm keyword \"{w}\" (expected e.g. {example})")
        }
        ProposalError::NotAllowed { keyword, .. } if kind == Kind::Ah => format!(
            "\"{keyword}\" is not allowed in an AH proposal: AH authenticates only, with \
             integrity algorithms (expected e.g. {example}, or esp_proposals to encrypt)"
        ),
        ProposalError::AhWithoutIntegrity(_) => format!(
            "proposal \"{text}\" names no integrity algorithm (expected e.g. {example})"
        ),
        ProposalError::NotAllowed { keyword, .. } if !ike && keyword.starts_with("prf") => format!(
            "\"{keyword}\" is not allowed in an ESP proposal: ESP has no PRF (expected e.g. {example} or aes256-sha256)"
        ),
        ProposalError::AddKeWithoutKe(_) => format!(
            "proposal \"{text}\" has additional key exchanges but no key exchange method: they \
             follow one in CREATE_CHILD_SA (expected e.g. aes256gcm16-x25519-ke1_mlkem768)"
        ),
        ProposalError::NotAllowed { keyword, kind } => {
            format!("\"{keyword}\" is not allowed in an {kind} proposal (expected e.g. {example})")
        }
        ProposalError::NoEncryption(_) => {
            format!("proposal \"{text}\" names no encryption algorithm (expected e.g. {example})")
        }
        ProposalError::NoPrf(_) => format!(
            "proposal \"{text}\" needs a PRF with an AEAD cipher (expected e.g. {example})"
        ),
        ProposalError::NoKeyExchange(_) => format!(
            "proposal \"{text}\" names no key exchange method (expected e.g. {example}, or modp2048, ecp256)"
        ),
        ProposalError::NoIntegrity(_) => format!(
            "proposal \"{text}\" has a non-AEAD cipher but no integrity algorithm (expected e.g. aes256-sha256{})",
            if ike { "-modp2048" } else { "" }
        ),
        ProposalError::MixedAead(_) => format!(
            "proposal \"{text}\" mixes AEAD and non-AEAD ciphers (expected them in separate proposals)"
        ),
        other => format!("{other} (expected e.g. {example})").replace('`', "\""),
    })
}

/// A pre-shared key as written: `0x` and hex digits, `0s` and base64 (strongSwan's forms), or
/// the text itself. Messages never contain the secret.
pub(crate) fn secret(text: &str) -> Result<Secret, String> {
    let bytes = if let Some(hex) = text.strip_prefix("0x") {
        decode_hex(hex).ok_or("the secret starts with 0x but is not hex (expected 0x and an even number of hex digits)")?
    } else if let Some(b64) = text.strip_prefix("0s") {
        decode_base64(b64)
            .ok_or("the secret starts with 0s but is not base64 (expected 0s and base64)")?
    } else {
        text.as_bytes().to_vec()
    };
    if bytes.is_empty() {
        return Err("the secret is empty (expected a non-empty pre-shared key)".to_owned());
    }
    Ok(Secret::new(bytes))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| *b != b':').collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = char::from(*p.first()?).to_digit(16)?;
            let lo = char::from(*p.get(1)?).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    // Leftover bits must be padding zeros; a single leftover character is not base64.
    if bits >= 6 || acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

/// `path` resolved against the configuration file's directory.
pub(crate) fn resolve(base_dir: &Path, path: &str) -> PathBuf {
    base_dir.join(path)
}

/// Reads a file named in the configuration, with a size cap.
pub(crate) fn read_file(base_dir: &Path, path: &str) -> Result<Vec<u8>, String> {
    read_checked(base_dir, path, None).map(|(b, _)| b)
}

/// Reads a file holding a secret (a pre-shared key, a private key): as [`read_file`], and a
/// file that group or others may read or write is refused (`strict`) or warned about, as
/// OpenSSH refuses an unprotected private key. Returns the bytes and the warning, if any.
pub(crate) fn read_secret(
    base_dir: &Path,
    path: &str,
    strict: bool,
) -> Result<(Vec<u8>, Option<String>), String> {
    read_checked(base_dir, path, Some(strict))
}

fn read_checked(
    base_dir: &Path,
    path: &str,
    secret: Option<bool>,
) -> Result<(Vec<u8>, Option<String>), String> {
    if path.trim().is_empty() {
        return Err("empty file name (expected a path, relative to the configuration file's directory or absolute)".to_owned());
    }
    let full = resolve(base_dir, path);
    let why = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    };
    if full.is_dir() {
        return Err(format!(
            "cannot read \"{path}\": it is a directory (expected a file)"
        ));
    }
    let file = std::fs::File::open(&full).map_err(|e| {
        format!("cannot read \"{path}\": {} (relative paths start at the configuration file's directory)", why(e))
    })?;
    let mut warning = None;
    if let Some(strict) = secret {
        use std::os::unix::fs::MetadataExt as _;
        let mode = file
            .metadata()
            .map_err(|e| format!("cannot read \"{path}\": {}", why(e)))?
            .mode();
        if mode & 0o066 != 0 {
            let m = format!(
                "\"{path}\" holds a secret but its mode is {:04o}: group or others may {} it (chmod 600 {}{})",
                mode & 0o7777,
                if mode & 0o022 != 0 { "change" } else { "read" },
                full.display(),
                if strict {
                    "; or [daemon] secret_file_modes = \"warn\" to take it anyway"
                } else {
                    ""
                }
            );
            if strict {
                return Err(m);
            }
            warning = Some(m);
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read \"{path}\": {}", why(e)))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("\"{path}\" is larger than {MAX_FILE} bytes (expected a certificate, key or secret file)"));
    }
    Ok((bytes, warning))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

/// Every certificate of a PEM file, or the one certificate of a DER file.
pub(crate) fn certificates(base_dir: &Path, path: &str) -> Result<Vec<Certificate>, String> {
    let bytes = read_file(base_dir, path)?;
    let parsed = if is_pem(&bytes) {
        Certificate::from_pem(&bytes)
    } else {
        Certificate::from_der(&bytes).map(|c| vec![c])
    };
    parsed.map_err(|_| {
        format!(
            "\"{path}\" is not a certificate (expected an X.509 certificate in PEM, \
             \"-----BEGIN CERTIFICATE-----\", or DER)"
        )
    })
}

/// A private key from a PEM or DER file (and the warning about its mode, if any).
pub(crate) fn private_key(
    base_dir: &Path,
    path: &str,
    strict: bool,
) -> Result<(PrivateKey, Option<String>), String> {
    let (bytes, warning) = read_secret(base_dir, path, strict)?;
    let bytes = Zeroizing::new(bytes);
    let parsed = if is_pem(&bytes) {
        PrivateKey::from_pem(&bytes)
    } else {
        PrivateKey::from_der(&bytes)
    };
    let parsed = parsed.map_err(|e| match e {
        CryptoError::Unsupported(_) => format!(
            "\"{path}\" is an encrypted private key (expected an unencrypted one: \
             openssl pkey -in KEY -out PLAIN)"
        ),
        _ => format!(
            "\"{path}\" is not a usable private key (expected RSA, ECDSA, Ed25519, Ed448 or DSA \
             in PEM or DER: PKCS#8, PKCS#1 or SEC1)"
        ),
    })?;
    Ok((parsed, warning))
}

/// A pre-shared key from a file: its contents less trailing line breaks, in the same forms as
/// an inline secret (and the warning about its mode, if any).
pub(crate) fn secret_file(
    base_dir: &Path,
    path: &str,
    strict: bool,
) -> Result<(Secret, Option<String>), String> {
    let (bytes, warning) = read_secret(base_dir, path, strict)?;
    let bytes = Zeroizing::new(bytes);
    let text = std::str::from_utf8(&bytes);
    let s = match text {
        Ok(t) => {
            secret(t.trim_end_matches(['\r', '\n'])).map_err(|m| format!("in \"{path}\": {m}"))?
        }
        // Binary secrets are taken as they are.
        Err(_) => Secret::from_slice(&bytes),
    };
    Ok((s, warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("4h"), Ok(Duration::from_secs(14_400)));
        assert_eq!(duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "30x", "-1s", "1e9s", "3.h2", "99999d"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_in_strongswan_forms() {
        assert_eq!(secret("0x0102ff").unwrap().expose(), &[1, 2, 255]);
        assert_eq!(secret("0sAQL/").unwrap().expose(), &[1, 2, 255]);
        assert_eq!(secret("0saGk=").unwrap().expose(), b"hi");
        assert_eq!(secret("plain text").unwrap().expose(), b"plain text");
        assert!(secret("0xabc").is_err());
        assert!(secret("0s!!").is_err());
        assert!(secret("0sa").is_err());
        assert!(secret("").is_err());
    }

    #[test]
    fn identities() {
        assert_eq!(
            identity("a.example.org"),
            Ok(Identity::Fqdn("a.example.org".into()))
        );
        assert_eq!(
            identity("10.0.0.1"),
            Ok(Identity::Addr("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(identity("%any"), Ok(Identity::Any));
        assert_eq!(identity("@#0a0b"), Ok(Identity::KeyId(vec![10, 11])));
        assert!(identity("@#0a0").is_err());
        assert!(identity("").is_err());
        assert!(identity("a b").is_err());
        assert!(matches!(
            identity("C=CH, O=Example, CN=moon"),
            Ok(Identity::Dn(_))
        ));
        assert!(identity("XX=1").is_err());
    }

    #[test]
    fn selectors() {
        let ts = traffic_selector("10.0.0.0/24[tcp/443]").unwrap();
        assert_eq!((ts.protocol, ts.start_port, ts.end_port), (6, 443, 443));
        let ts = traffic_selector("fd00::/64[udp/1000-2000]").unwrap();
        assert_eq!((ts.protocol, ts.start_port, ts.end_port), (17, 1000, 2000));
        let ts = traffic_selector("10.0.0.1").unwrap();
        assert_eq!(ts.start, ts.end);
        for bad in [
            "10.0.0.0/33",
            "10.0.0/24",
            "10.0.0.0/24[tcp",
            "10.0.0.0/24[foo]",
            "1.2.3.4[tcp/9-1]",
        ] {
            assert!(traffic_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_proposals_parse() {
        for kind in [Kind::Ike, Kind::Esp, Kind::Ah] {
            for p in kind.defaults() {
                proposal(p, kind).unwrap();
            }
        }
    }
}
