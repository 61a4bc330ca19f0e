//! From the spanned TOML tree to [`Config`]: every section, key and cross-reference, with the
//! problems recorded in the [`Ctx`] as they are found.

use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use ike_crypto::sign::{PrivateKey, PublicKey};
use ike_crypto::x509::{self, Certificate, KeyUsage, SubjectAltName, TrustStore};
use ike_crypto::Secret;
use ike_proto::config::V1Exchange;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, Credential, DpdAction, EndpointConfig, Identity, Mode, PeerCertPolicy,
    PeerConfig, Ts,
};
use toml::de::DeTable;

use crate::doc::{join, Ctx, Item, Node, Table};
use crate::values::{self, Kind};
use crate::{Child, Connection, DaemonConfig, IkeVersion, KernelKind, StartAction};

const ROOT_KEYS: &[&str] = &["daemon", "connections", "secrets", "authorities", "groups"];
const MODP_GROUP_KEYS: &[&str] = &["number", "type", "prime", "generator"];
const EC2N_GROUP_KEYS: &[&str] = &[
    "number",
    "type",
    "polynomial",
    "a",
    "b",
    "generator",
    "generator_y",
    "order",
];
const DAEMON_KEYS: &[&str] = &[
    "listen",
    "port",
    "port_nat_t",
    "control_socket",
    "max_control_clients",
    "secret_file_modes",
    "kernel",
    "log",
    "retransmit_timeout",
    "retransmit_base",
    "retransmit_tries",
    "cookie_threshold",
    "block_threshold",
    "init_limit_half_open",
    "half_open_timeout",
    "fragment_size",
    "keep_alive",
    "prefer_configured_proposals",
    "non_first_fragments",
    "shards",
    "metrics",
    "metrics_public",
];
const CONNECTION_KEYS: &[&str] = &[
    "version",
    "local_addrs",
    "remote_addrs",
    "proposals",
    "aggressive",
    "exchange",
    "dpd_delay",
    "dpd_action",
    "rekey_time",
    "over_time",
    "life_time",
    "encap",
    "local",
    "remote",
    "children",
];
const LOCAL_KEYS: &[&str] = &["auth", "id", "certs", "rsa_pss"];
const REMOTE_KEYS: &[&str] = &["auth", "id", "certs", "cacerts"];
const CHILD_KEYS: &[&str] = &[
    "local_ts",
    "remote_ts",
    "esp_proposals",
    "ah_proposals",
    "mode",
    "start_action",
    "rekey_time",
    "life_time",
];
const SECRETS_KEYS: &[&str] = &["ike", "private_key"];
const IKE_SECRET_KEYS: &[&str] = &["ids", "secret", "file"];
const PRIVATE_KEY_KEYS: &[&str] = &["file"];
const AUTHORITY_KEYS: &[&str] = &["cacert"];

const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// strongSwan's defaults: IKE SAs rekey after 4 hours, Child SAs after 1 hour, and a lifetime
/// 10% past the rekey time.
const IKE_REKEY_DEFAULT: Duration = Duration::from_secs(4 * 3600);
const CHILD_REKEY_DEFAULT: Duration = Duration::from_secs(3600);

/// What the sections outside `connections` provide to every connection.
struct Globals {
    secrets: Vec<IkeSecret>,
    keys: Vec<PrivateKey>,
    /// All `[[authorities]]` anchors that loaded; `None` when there are none.
    trust: Option<TrustStore>,
    /// Whether an `[[authorities]]` entry failed (then a missing trust store is not reported
    /// again for each connection).
    authorities_failed: bool,
    /// Whether a `[[secrets.private_key]]` failed (same, for missing keys).
    keys_failed: bool,
}

struct IkeSecret {
    ids: Vec<Identity>,
    /// `None` when the entry was wrong (already reported).
    secret: Option<Secret>,
}

/// A number of a group parameter: a hex string ("0x..." or plain hex digits) or an integer.
fn group_number(ctx: &mut Ctx<'_>, n: &Node<'_, '_>) -> Option<Vec<u8>> {
    if let Some(text) = n.str_quiet() {
        let hex = text
            .trim()
            .trim_start_matches("0x")
            .trim_start_matches("0X");
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        let padded = if hex.len() % 2 == 1 {
            format!("0{hex}")
        } else {
            hex
        };
        return match (0..padded.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(padded.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
        {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                ctx.error(
                    &n.span,
                    &n.path,
                    "not a hexadecimal number (expected e.g. \"0xFFFF...\" or an integer)",
                );
                None
            }
        };
    }
    let v = n.int(ctx, "a hexadecimal string or a non-negative integer")?;
    match u64::try_from(v) {
        Ok(v) => Some(v.to_be_bytes().to_vec()),
        Err(_) => {
            ctx.error(
                &n.span,
                &n.path,
                "negative (expected a non-negative integer)",
            );
            None
        }
    }
}

/// `[groups.NAME]`: private groups for IKEv1 (RFC 2409 §5.6), validated, their names recorded
/// for proposals.
fn groups(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Vec<ike_proto::config::PrivateGroup> {
    use ike_proto::config::{GroupParams, PrivateGroup};
    let mut out: Vec<PrivateGroup> = Vec::new();
    let Some(n) = root.get("groups") else {
        return out;
    };
    let Some(t) = n.table(ctx, "a table of private groups ([groups.NAME])") else {
        return out;
    };
    for (name, key_span, node) in t.entries() {
        let Some(g) = node.table(ctx, "a table (number, type and the group's parameters)") else {
            continue;
        };
        let valid_name = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && ike_proto::proposal::ke_keyword(name).is_none();
        if !valid_name {
            ctx.error(&key_span, &node.path, "invalid group name (expected letters, digits and _, and not a built-in group keyword such as modp2048)");
            continue;
        }
        // `type` may be left out: a field polynomial makes it EC2N, else MODP.
        let kind = match g.get("type") {
            Some(n) => keyword(ctx, &n, "group type", &[("modp", 1u8), ("ec2n", 3u8)]),
            None if g.get("polynomial").is_some() => Some(3),
            None => Some(1),
        };
        let keys = if kind == Some(3) {
            EC2N_GROUP_KEYS
        } else {
            MODP_GROUP_KEYS
        };
        g.check_keys(ctx, keys, "key");
        let number = g
            .require(ctx, "number", "a private group number, 32768 to 65535")
            .and_then(|n| n.int_in(ctx, 32768..=65535))
            .and_then(|n| u16::try_from(n).ok());
        let mut get = |key: &str| {
            g.require(ctx, key, "a hexadecimal string or an integer")
                .and_then(|n| group_number(ctx, &n))
        };
        let params = match kind {
            Some(1) => match (get("prime"), get("generator")) {
                (Some(prime), Some(generator)) => Some(GroupParams::Modp { prime, generator }),
                _ => None,
            },
            Some(_) => {
                let fields = (
                    get("polynomial"),
                    get("a"),
                    get("b"),
                    get("generator"),
                    get("order"),
                );
                let gy = g.get("generator_y").and_then(|n| group_number(ctx, &n));
                match fields {
                    (Some(polynomial), Some(a), Some(b), Some(gx), Some(order)) => {
                        Some(GroupParams::Ec2n {
                            polynomial,
                            a,
                            b,
                            gx,
                            gy,
                            order,
                        })
                    }
                    _ => None,
                }
            }
            None => None,
        };
        let (Some(number), Some(params)) = (number, params) else {
            continue;
        };
        if out.iter().any(|o| o.number == number) {
            ctx.error(
                &g.span,
                &join(&node.path, "number"),
                format!("group number {number} is already used by another group"),
            );
            continue;
        }
        match PrivateGroup::new(name, number, params) {
            Ok(group) => {
                let weak = match &group.params {
                    GroupParams::Ec2n { .. } => Some("an EC2N group"),
                    GroupParams::Modp { prime, .. }
                        if prime.iter().skip_while(|b| **b == 0).count() < 256 =>
                    {
                        Some("a MODP group under 2048 bits")
                    }
                    GroupParams::Modp { .. } => None,
                };
                if let Some(what) = weak {
                    ctx.warn(&g.span, &node.path, format!("private group \"{name}\" is {what}, which is weak; use modp3072, ecp256 or x25519"));
                }
                ctx.group_names.push((name.to_owned(), number));
                out.push(group);
            }
            Err(e) => ctx.error(&g.span, &node.path, format!("{} (expected a safe prime of 768 to 4096 bits and a generator, or a valid EC2N curve with its order)", e.0)),
        }
    }
    out
}

/// The whole file. Returns `None` only after recording an error.
pub(crate) fn config(ctx: &mut Ctx<'_>, text: &str) -> Option<(DaemonConfig, Vec<Connection>)> {
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            syntax_error(ctx, text, &e);
            return None;
        }
    };
    let root = Table::root(&doc);
    root.check_keys(ctx, ROOT_KEYS, "section");

    let daemon = match root.get("daemon") {
        Some(n) => n
            .table(ctx, "a table ([daemon])")
            .map(|t| daemon(ctx, &t))
            .unwrap_or_default(),
        None => DaemonConfig::default(),
    };

    let mut daemon = daemon;
    daemon.endpoint.private_groups = groups(ctx, &root);
    let (trust, authorities_failed) = authorities(ctx, &root);
    let (secrets, keys, keys_failed) = secrets(ctx, &root, daemon.secret_files_strict);
    let globals = Globals {
        secrets,
        keys,
        trust,
        authorities_failed,
        keys_failed,
    };

    let mut connections = Vec::new();
    if let Some(n) = root.get("connections") {
        if let Some(t) = n.table(ctx, "a table of connections ([connections.NAME])") {
            for (name, key_span, node) in t.entries() {
                let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
                if name.is_empty() || name.len() > 64 || !name.chars().all(safe) {
                    // Names go into logs and the control protocol: nothing that could forge a
                    // line or a field.
                    ctx.error(
                        &key_span,
                        &node.path,
                        "invalid connection name (expected up to 64 letters, digits, '-', '_' or '.', such as \"site-b\")",
                    );
                    continue;
                }
                if let Some(c) = connection(ctx, name, &node, &globals) {
                    connections.push(c);
                }
            }
        }
    }
    Some((daemon, connections))
}

/// A TOML syntax error, named by the key or table header of its line when it has one.
fn syntax_error(ctx: &mut Ctx<'_>, text: &str, e: &toml::de::Error) {
    let offset = e.span().map(|s| s.start).unwrap_or(0);
    let line = ctx.line(offset);
    let lines: Vec<&str> = text.lines().collect();
    let idx = usize::try_from(line).unwrap_or(1).saturating_sub(1);
    let plain = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'))
    };
    let header_of = |l: &str| {
        let l = l.trim();
        l.starts_with('[').then(|| {
            l.split(']')
                .next()
                .unwrap_or_default()
                .trim_matches('[')
                .trim()
                .to_owned()
        })
    };
    let this = lines.get(idx).copied().unwrap_or_default();
    let key = if let Some(h) = header_of(this).filter(|h| plain(h)) {
        h
    } else {
        this.split_once('=')
            .map(|(k, _)| k.trim())
            .filter(|k| plain(k))
            .map(|k| {
                // Prefixed with the table header above it.
                let header = lines
                    .get(..idx)
                    .unwrap_or_default()
                    .iter()
                    .rev()
                    .find_map(|l| header_of(l));
                match header {
                    Some(h) if !h.is_empty() => format!("{h}.{k}"),
                    _ => k.to_owned(),
                }
            })
            .unwrap_or_default()
    };
    let mut message = format!("invalid TOML: {}", e.message().trim().replace('\n', "; "));
    if !message.contains("expected") {
        message.push_str(" (expected key = value lines under [section] headers, each key once)");
    }
    ctx.error(&(offset..offset), &key, message);
}

fn daemon(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> DaemonConfig {
    t.check_keys(ctx, DAEMON_KEYS, "key");
    let mut d = DaemonConfig::default();
    let mut e = EndpointConfig::default();
    if let Some(n) = t.get("listen") {
        if let Some(items) = n.list(ctx, "IP addresses") {
            d.listen = items
                .iter()
                .filter_map(|i| {
                    values::ip(i.text)
                        .map_err(|m| ctx.error(&i.span, &i.path, m))
                        .ok()
                })
                .collect();
        }
    }
    if let Some(n) = t.get("port") {
        if let Some(p) = n.int_in(ctx, 1..=65535) {
            d.port = u16::try_from(p).unwrap_or(500);
        }
    }
    if let Some(n) = t.get("port_nat_t") {
        if let Some(p) = n.int_in(ctx, 1..=65535) {
            d.port_nat_t = u16::try_from(p).unwrap_or(4500);
        }
    }
    if let Some(n) = t.get("control_socket") {
        if let Some(s) = n.str(ctx, "a path (string)") {
            if s.trim().is_empty() {
                ctx.error(
                    &n.span,
                    &n.path,
                    "empty path (expected e.g. \"/run/ike/ike.sock\")",
                );
            } else {
                d.control_socket = values::resolve(ctx.base_dir, s);
            }
        }
    }
    if let Some(n) = t.get("secret_file_modes") {
        if let Some(strict) = keyword(
            ctx,
            &n,
            "secret_file_modes",
            &[("strict", true), ("warn", false)],
        ) {
            d.secret_files_strict = strict;
        }
    }
    if let Some(n) = t.get("max_control_clients") {
        if let Some(v) = n.int_in(ctx, 1..=65536) {
            d.max_control_clients = usize::try_from(v).unwrap_or(64);
        }
    }
    if let Some(n) = t.get("kernel") {
        if let Some(s) = n.str(ctx, "\"xfrm\" or \"none\"") {
            match s {
                "xfrm" => d.kernel = KernelKind::Xfrm,
                "none" => d.kernel = KernelKind::None,
                other => ctx.error(
                    &n.span,
                    &n.path,
                    format!("unknown kernel backend \"{other}\" (expected \"xfrm\" or \"none\")"),
                ),
            }
        }
    }
    if let Some(n) = t.get("log") {
        if let Some(s) = n.str(ctx, "log levels such as \"info,ike=debug\"") {
            match log_filter(s) {
                Ok(()) => d.log = Some(s.to_owned()),
                Err(m) => ctx.error(&n.span, &n.path, m),
            }
        }
    }
    if let Some(v) = t.get("retransmit_timeout").and_then(|n| duration(ctx, &n)) {
        if v.is_zero() {
            ctx.error(
                &span_of(t, "retransmit_timeout"),
                &join(&t.path, "retransmit_timeout"),
                "must not be 0 (expected e.g. \"2s\")",
            );
        } else {
            e.retransmit_timeout = v;
        }
    }
    if let Some(n) = t.get("retransmit_base") {
        match n.number() {
            Some(b) if (1.0..=10.0).contains(&b) => e.retransmit_base = b,
            Some(b) => ctx.error(
                &n.span,
                &n.path,
                format!("{b} is out of range (expected a number from 1.0 to 10.0)"),
            ),
            None => ctx.error(
                &n.span,
                &n.path,
                format!(
                    "expected a number from 1.0 to 10.0, found {}",
                    n.type_name()
                ),
            ),
        }
    }
    if let Some(n) = t.get("retransmit_tries") {
        if let Some(v) = n.int_in(ctx, 0..=100) {
            e.retransmit_tries = u32::try_from(v).unwrap_or(5);
        }
    }
    for (key, field) in [
        ("cookie_threshold", &mut e.cookie_threshold),
        ("block_threshold", &mut e.max_half_open_per_peer),
        ("init_limit_half_open", &mut e.max_half_open),
    ] {
        if let Some(n) = t.get(key) {
            if let Some(v) = n.int_in(ctx, 0..=1_000_000) {
                *field = usize::try_from(v).unwrap_or(*field);
            }
        }
    }
    if let Some(v) = t.get("half_open_timeout").and_then(|n| duration(ctx, &n)) {
        if v.is_zero() {
            ctx.error(
                &span_of(t, "half_open_timeout"),
                &join(&t.path, "half_open_timeout"),
                "must not be 0 (expected e.g. \"30s\")",
            );
        } else {
            e.half_open_timeout = v;
        }
    }
    if let Some(n) = t.get("fragment_size") {
        if let Some(v) = n.int(ctx, "0 to turn fragmentation off, or 576 to 65535") {
            if v == 0 || (576..=65535).contains(&v) {
                e.fragment_size = usize::try_from(v).unwrap_or(e.fragment_size);
            } else {
                ctx.error(
                    &n.span,
                    &n.path,
                    format!("{v} is out of range (expected 0 to turn fragmentation off, or 576 to 65535)"),
                );
            }
        }
    }
    if let Some(n) = t.get("keep_alive") {
        if let Some(v) = duration(ctx, &n) {
            e.keepalive_interval = (!v.is_zero()).then_some(v);
        }
    }
    if let Some(n) = t.get("prefer_configured_proposals") {
        if let Some(v) = n.bool(ctx) {
            e.prefer_initiator_proposals = !v;
        }
    }
    if let Some(n) = t.get("non_first_fragments") {
        if let Some(v) = n.bool(ctx) {
            e.non_first_fragments = v;
        }
    }
    if let Some(n) = t.get("shards") {
        if let Some(v) = n.int_in(ctx, 1..=i64::from(ike_proto::shard::Shard::MAX)) {
            d.shards = u8::try_from(v).ok();
        }
    }
    let public = t.get("metrics_public").and_then(|n| n.bool(ctx));
    if let Some(n) = t.get("metrics") {
        if let Some(s) = n.str(ctx, "an address and port such as \"127.0.0.1:9740\"") {
            match s.trim().parse::<std::net::SocketAddr>() {
                Err(_) => ctx.error(
                    &n.span,
                    &n.path,
                    format!("\"{s}\" is not an address and port (expected e.g. \"127.0.0.1:9740\" or \"[::1]:9740\")"),
                ),
                Ok(a) if a.port() == 0 => ctx.error(
                    &n.span,
                    &n.path,
                    "port 0: Prometheus must know where to scrape (expected e.g. \"127.0.0.1:9740\")",
                ),
                // The page names every connection and its traffic, with no authentication:
                // beyond loopback only when asked for in so many words.
                Ok(a) if !a.ip().is_loopback() && public != Some(true) => ctx.error(
                    &n.span,
                    &n.path,
                    format!("{a} is not a loopback address: the metrics page has no authentication and names every connection (expected e.g. \"127.0.0.1:9740\", or set metrics_public = true to serve it there)"),
                ),
                Ok(a) => d.metrics = Some(a),
            }
        }
    }
    d.endpoint = e;
    d
}

fn span_of(t: &Table<'_, '_>, key: &str) -> Range<usize> {
    t.get(key).map(|n| n.span).unwrap_or_else(|| t.span.clone())
}

/// Checks a `tracing` filter: comma-separated `level` or `target=level`.
fn log_filter(s: &str) -> Result<(), String> {
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (target, level) = match part.split_once('=') {
            Some((t, l)) => (Some(t.trim()), l.trim()),
            None => (None, part),
        };
        if target.is_some_and(|t| {
            t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
        }) || !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "invalid log filter \"{part}\" (expected LEVEL or SUBSYSTEM=LEVEL, comma-separated, \
                 with LEVEL one of {})",
                LOG_LEVELS.join(", ")
            ));
        }
    }
    Ok(())
}

/// A duration value: a string with unit or a number of seconds.
fn duration(ctx: &mut Ctx<'_>, n: &Node<'_, '_>) -> Option<Duration> {
    if let Some(s) = n.number() {
        return match values::seconds(s) {
            Some(d) => Some(d),
            None => {
                ctx.error(&n.span, &n.path, values::bad_seconds(s));
                None
            }
        };
    }
    let s = n.str(ctx, "a duration such as \"30s\", \"4h\" or \"1d\"")?;
    match values::duration(s) {
        Ok(d) => Some(d),
        Err(m) => {
            ctx.error(&n.span, &n.path, m);
            None
        }
    }
}

/// `[[authorities]]`: the global trust store.
fn authorities(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> (Option<TrustStore>, bool) {
    let Some(node) = root.get("authorities") else {
        return (None, false);
    };
    let before = ctx.error_count();
    let mut anchors = Vec::new();
    for t in node
        .tables(ctx, "an array of tables ([[authorities]])")
        .unwrap_or_default()
    {
        t.check_keys(ctx, AUTHORITY_KEYS, "key");
        let Some(item) = t
            .require(ctx, "cacert", "the path of a CA certificate file")
            .and_then(|n| n.item(ctx, "a path (string)"))
        else {
            continue;
        };
        let Some(certs) = load_certs(ctx, &item) else {
            continue;
        };
        if anchors_usable(ctx, &item, &certs) {
            anchors.extend(certs);
        }
    }
    let failed = ctx.error_count() > before;
    (TrustStore::new(anchors).ok(), failed)
}

/// `[secrets]`: `[[secrets.ike]]` and `[[secrets.private_key]]`.
fn secrets(
    ctx: &mut Ctx<'_>,
    root: &Table<'_, '_>,
    strict: bool,
) -> (Vec<IkeSecret>, Vec<PrivateKey>, bool) {
    let mut ike = Vec::new();
    let mut keys = Vec::new();
    let mut keys_failed = false;
    let Some(t) = root
        .get("secrets")
        .and_then(|n| n.table(ctx, "a table ([[secrets.ike]], [[secrets.private_key]])"))
    else {
        return (ike, keys, keys_failed);
    };
    t.check_keys(ctx, SECRETS_KEYS, "kind of secret");
    if let Some(n) = t.get("ike") {
        for s in n
            .tables(ctx, "an array of tables ([[secrets.ike]])")
            .unwrap_or_default()
        {
            s.check_keys(ctx, IKE_SECRET_KEYS, "key");
            let ids = match s.get("ids") {
                Some(n) => n
                    .list(ctx, "identities")
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|i| identity(ctx, i))
                    .collect(),
                None => Vec::new(),
            };
            let secret = match (s.get("secret"), s.get("file")) {
                (Some(n), None) => n.item(ctx, "the pre-shared key (string)").and_then(|i| {
                    values::secret(i.text)
                        .map_err(|m| ctx.error(&i.span, &i.path, m))
                        .ok()
                }),
                (None, Some(n)) => n.item(ctx, "a path (string)").and_then(|i| {
                    match values::secret_file(ctx.base_dir, i.text, strict) {
                        Ok((k, warning)) => {
                            if let Some(w) = warning {
                                ctx.warn(&i.span, &i.path, w);
                            }
                            Some(k)
                        }
                        Err(m) => {
                            ctx.error(&i.span, &i.path, m);
                            None
                        }
                    }
                }),
                (Some(_), Some(f)) => {
                    ctx.error(
                        &f.span,
                        &f.path,
                        "both secret and file are set (expected one of them)",
                    );
                    None
                }
                (None, None) => {
                    ctx.error(
                        &s.span,
                        &join(&s.path, "secret"),
                        "missing (expected secret = \"...\" or file = \"PATH\")",
                    );
                    None
                }
            };
            if let Some(k) = secret.as_ref().filter(|k| k.expose().len() < 16) {
                ctx.warn(
                    &s.span,
                    &s.path,
                    format!(
                        "the pre-shared key has {} bytes: a key under 16 bytes can be guessed offline from one captured handshake (use 16 or more random bytes, e.g. `openssl rand -base64 24`)",
                        k.expose().len()
                    ),
                );
            }
            ike.push(IkeSecret { ids, secret });
        }
    }
    if let Some(n) = t.get("private_key") {
        for s in n
            .tables(ctx, "an array of tables ([[secrets.private_key]])")
            .unwrap_or_default()
        {
            s.check_keys(ctx, PRIVATE_KEY_KEYS, "key");
            let Some(item) = s
                .require(ctx, "file", "the path of a private key file")
                .and_then(|n| n.item(ctx, "a path (string)"))
            else {
                keys_failed = true;
                continue;
            };
            match values::private_key(ctx.base_dir, item.text, strict) {
                Ok((k, warning)) => {
                    if let Some(w) = warning {
                        ctx.warn(&item.span, &item.path, w);
                    }
                    keys.push(k)
                }
                Err(m) => {
                    keys_failed = true;
                    ctx.error(&item.span, &item.path, m);
                }
            }
        }
    }
    (ike, keys, keys_failed)
}

fn identity(ctx: &mut Ctx<'_>, i: &Item<'_>) -> Option<Identity> {
    values::identity(i.text)
        .map_err(|m| ctx.error(&i.span, &i.path, m))
        .ok()
}

/// Whether every certificate of a `cacert`/`cacerts` file can be a trust anchor (what
/// [`TrustStore::new`] requires), reporting the first that cannot.
fn anchors_usable(ctx: &mut Ctx<'_>, item: &Item<'_>, certs: &[Certificate]) -> bool {
    let problem = certs.iter().find_map(|c| {
        if !c.is_ca() {
            Some(format!(
                "certificate \"{}\" is not a CA (basicConstraints cA is not TRUE)",
                c.subject_text()
            ))
        } else if !c.allows(KeyUsage::KEY_CERT_SIGN) {
            Some(format!(
                "certificate \"{}\" lacks keyUsage keyCertSign",
                c.subject_text()
            ))
        } else {
            None
        }
    });
    match problem {
        None => true,
        Some(p) => {
            ctx.error(
                &item.span,
                &item.path,
                format!(
                    "\"{}\" cannot be a trust anchor: {p} (expected a CA certificate: \
                     basicConstraints cA TRUE, keyUsage with keyCertSign)",
                    item.text
                ),
            );
            false
        }
    }
}

/// The certificates of one file named by `item`.
fn load_certs(ctx: &mut Ctx<'_>, item: &Item<'_>) -> Option<Vec<Certificate>> {
    match values::certificates(ctx.base_dir, item.text) {
        Ok(certs) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            for c in &certs {
                if c.not_after() < now {
                    ctx.warn(
                        &item.span,
                        &item.path,
                        format!(
                            "certificate \"{}\" in \"{}\" has expired",
                            c.subject_text(),
                            item.text
                        ),
                    );
                }
            }
            Some(certs)
        }
        Err(m) => {
            ctx.error(&item.span, &item.path, m);
            None
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Auth {
    Psk,
    Pubkey,
    Pke,
    Rpke,
}

/// One end (`local` or `remote`) as written.
struct End<'t> {
    path: String,
    span: Range<usize>,
    /// `None` when the method was wrong (already reported).
    auth: Option<Auth>,
    auth_span: Range<usize>,
    id: Option<(Identity, Item<'t>)>,
    /// Each certs file with its certificates; `None` when a file failed.
    certs: Option<Vec<(Item<'t>, Vec<Certificate>)>>,
    certs_node: Option<Range<usize>>,
    cacerts: Option<Vec<Certificate>>,
    cacerts_given: bool,
    rsa_pss: bool,
}

fn end<'t>(
    ctx: &mut Ctx<'_>,
    conn: &Table<'t, '_>,
    which: &str,
    version: IkeVersion,
) -> Option<End<'t>> {
    let local = which == "local";
    let t = conn
        .require(
            ctx,
            which,
            &format!("a [{}] table with auth and id", join(&conn.path, which)),
        )?
        .table(ctx, &format!("a table ([{}])", join(&conn.path, which)))?;
    t.check_keys(ctx, if local { LOCAL_KEYS } else { REMOTE_KEYS }, "key");
    let mut auth = Some(Auth::Pubkey);
    let mut auth_span = t.span.clone();
    if let Some(n) = t.get("auth") {
        if let Some(s) = n.str(ctx, "psk, pubkey, pke or rpke") {
            auth_span = n.span.clone();
            match s {
                "psk" => auth = Some(Auth::Psk),
                "pubkey" => auth = Some(Auth::Pubkey),
                "pke" | "rpke" if version == IkeVersion::V2 => {
                    auth = None;
                    ctx.error(
                        &n.span,
                        &n.path,
                        format!("\"{s}\" is IKEv1 only (expected psk or pubkey with version = 2)"),
                    );
                }
                "pke" => auth = Some(Auth::Pke),
                "rpke" => auth = Some(Auth::Rpke),
                other => {
                    auth = None;
                    ctx.error(
                        &n.span,
                        &n.path,
                        format!("unknown authentication method \"{other}\" (expected psk, pubkey, pke or rpke)"),
                    );
                }
            }
        }
    }
    let id = t.get("id").and_then(|n| {
        let item = n.item(ctx, "an identity (string)")?;
        let id = identity(ctx, &item)?;
        if local && id == Identity::Any {
            ctx.error(
                &item.span,
                &item.path,
                "%any cannot be our own identity (expected e.g. an FQDN such as \"a.example.org\")",
            );
            return None;
        }
        Some((id, item))
    });
    let mut certs_node = None;
    let certs = match t.get("certs") {
        Some(n) => {
            certs_node = Some(n.span.clone());
            let items = n.list(ctx, "certificate file paths")?;
            let mut out = Vec::new();
            let mut ok = true;
            for item in items {
                match load_certs(ctx, &item) {
                    Some(c) => out.push((item, c)),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        None => Some(Vec::new()),
    };
    let mut cacerts_given = false;
    let cacerts = match t.get("cacerts") {
        Some(n) => {
            let items = n.list(ctx, "CA certificate file paths")?;
            cacerts_given = !items.is_empty();
            let mut out = Vec::new();
            let mut ok = true;
            for item in &items {
                match load_certs(ctx, item) {
                    Some(c) if anchors_usable(ctx, item, &c) => out.extend(c),
                    Some(_) => ok = false,
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        None => Some(Vec::new()),
    };
    let rsa_pss = t.get("rsa_pss").and_then(|n| n.bool(ctx)).unwrap_or(false);
    Some(End {
        path: t.path.clone(),
        span: t.span.clone(),
        auth,
        auth_span,
        id,
        certs,
        certs_node,
        cacerts,
        cacerts_given,
        rsa_pss,
    })
}

/// Addresses: IP addresses, or `%any` alone (an empty list).
/// `None` after an error.
fn addrs(ctx: &mut Ctx<'_>, conn: &Table<'_, '_>, key: &str) -> Option<Vec<IpAddr>> {
    let Some(n) = conn.get(key) else {
        return Some(Vec::new());
    };
    let before = ctx.error_count();
    let items = n.list(ctx, "IP addresses or \"%any\"")?;
    let any = items.iter().any(|i| i.text.trim() == "%any");
    if any && items.len() > 1 {
        ctx.error(
            &n.span,
            &n.path,
            "%any mixed with addresses (expected either \"%any\" alone or IP addresses)",
        );
        return None;
    }
    let out: Vec<IpAddr> = items
        .iter()
        .filter(|i| i.text.trim() != "%any")
        .filter_map(|i| {
            values::ip(i.text)
                .map_err(|_| {
                    ctx.error(
                        &i.span,
                        &i.path,
                        format!(
                            "invalid IP address \"{}\" (expected an IP address such as \"192.0.2.1\" or \"2001:db8::1\", or \"%any\"; host names are not supported)",
                            i.text
                        ),
                    )
                })
                .ok()
        })
        .collect();
    (ctx.error_count() == before).then_some(out)
}

/// A list of proposals; `default` stands for strongSwan-like defaults.
fn proposals(
    ctx: &mut Ctx<'_>,
    n: Option<Node<'_, '_>>,
    kind: Kind,
    at: &Table<'_, '_>,
) -> Vec<Proposal> {
    let parse_defaults = || {
        kind.defaults()
            .iter()
            .filter_map(|p| values::proposal(p, kind).ok())
            .collect::<Vec<_>>()
    };
    let Some(n) = n else {
        return parse_defaults();
    };
    let such_as = match kind {
        Kind::Ah => kind.example(),
        Kind::Ike | Kind::Esp => Kind::Ike.example(),
    };
    let Some(items) = n.list(ctx, &format!("proposals such as \"{such_as}\"")) else {
        return Vec::new();
    };
    if items.is_empty() {
        ctx.error(
            &n.span,
            &join(&at.path, kind.key()),
            format!(
                "empty list (expected at least one proposal, e.g. \"{}\", or \"default\")",
                kind.example()
            ),
        );
    }
    let mut out = Vec::new();
    for i in items {
        if i.text.trim() == "default" {
            out.extend(parse_defaults());
            continue;
        }
        // Private group names (`[groups]`) stand for their `group<N>` keyword.
        let text: String = i
            .text
            .split('-')
            .map(|w| {
                ctx.group_names
                    .iter()
                    .find(|(n, _)| n == w.trim())
                    .map_or_else(|| w.to_owned(), |(_, num)| format!("group{num}"))
            })
            .collect::<Vec<_>>()
            .join("-");
        match values::proposal(&text, kind) {
            Ok(p) => {
                for w in p.weaknesses() {
                    ctx.warn(&i.span, &i.path, format!("\"{}\": {w}", i.text.trim()));
                }
                out.push(p)
            }
            Err(m) => ctx.error(&i.span, &i.path, m),
        }
    }
    out
}

/// A keyword value from a fixed set.
fn keyword<T: Copy>(
    ctx: &mut Ctx<'_>,
    n: &Node<'_, '_>,
    what: &str,
    options: &[(&str, T)],
) -> Option<T> {
    let names: Vec<&str> = options.iter().map(|(k, _)| *k).collect();
    let expected = names.join(", ");
    let s = n.str(ctx, &format!("one of {expected}"))?;
    match options.iter().find(|(k, _)| *k == s) {
        Some((_, v)) => Some(*v),
        None => {
            ctx.error(
                &n.span,
                &n.path,
                format!("unknown {what} \"{s}\" (expected one of {expected})"),
            );
            None
        }
    }
}

/// A timer: a duration where 0 means never.
fn timer(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    key: &str,
    default: Option<Duration>,
) -> Option<Duration> {
    match t.get(key) {
        Some(n) => duration(ctx, &n).filter(|d| !d.is_zero()),
        None => default,
    }
}

/// 110% of `d`: strongSwan's default hard lifetime past a rekey time.
fn plus_ten_percent(d: Duration) -> Duration {
    d + d / 10
}

fn connection(
    ctx: &mut Ctx<'_>,
    name: &str,
    node: &Node<'_, '_>,
    g: &Globals,
) -> Option<Connection> {
    let before = ctx.error_count();
    let t = node.table(ctx, "a table ([connections.NAME])")?;
    t.check_keys(ctx, CONNECTION_KEYS, "key");

    let mut version = IkeVersion::V2;
    if let Some(n) = t.get("version") {
        match n.int(ctx, "1 or 2") {
            Some(1) => version = IkeVersion::V1,
            Some(2) => version = IkeVersion::V2,
            Some(v) => ctx.error(
                &n.span,
                &n.path,
                format!("unsupported IKE version {v} (expected 1 or 2)"),
            ),
            None => {}
        }
    }
    // After a wrong address, checks that depend on the addresses are skipped.
    let local_addrs = addrs(ctx, &t, "local_addrs");
    let remote_addrs = addrs(ctx, &t, "remote_addrs");
    let addrs_ok = local_addrs.is_some() && remote_addrs.is_some();
    let local_addrs = local_addrs.unwrap_or_default();
    let remote_addrs = remote_addrs.unwrap_or_default();
    let ike_proposals = proposals(ctx, t.get("proposals"), Kind::Ike, &t);
    let mut exchange = V1Exchange::Main;
    let mut exchange_span = t.span.clone();
    let mut exchange_key = "exchange";
    if let Some(n) = t.get("aggressive") {
        if n.bool(ctx) == Some(true) {
            if version == IkeVersion::V2 {
                ctx.error(
                    &n.span,
                    &n.path,
                    "aggressive mode is IKEv1 only (expected false, or version = 1)",
                );
            } else {
                exchange = V1Exchange::Aggressive;
                exchange_span = n.span.clone();
                exchange_key = "aggressive";
            }
        }
    }
    if let Some(n) = t.get("exchange") {
        let chosen = keyword(
            ctx,
            &n,
            "IKEv1 exchange",
            &[
                ("main", V1Exchange::Main),
                ("aggressive", V1Exchange::Aggressive),
                ("base", V1Exchange::Base),
                ("auth-only", V1Exchange::AuthOnly),
            ],
        );
        if let Some(x) = chosen {
            if version == IkeVersion::V2 && x != V1Exchange::Main {
                ctx.error(
                    &n.span,
                    &n.path,
                    "the exchange is chosen for IKEv1 only (IKEv2 has one; remove it or set version = 1)",
                );
            } else if exchange == V1Exchange::Aggressive && x != V1Exchange::Aggressive {
                let said = n.str(ctx, "").unwrap_or_default();
                ctx.error(
                    &n.span,
                    &n.path,
                    format!(
                        "aggressive = true contradicts exchange = \"{said}\" (keep one of them)"
                    ),
                );
            } else {
                exchange = x;
                exchange_span = n.span.clone();
                exchange_key = "exchange";
            }
        }
    }
    let dpd_delay = timer(ctx, &t, "dpd_delay", None);
    let dpd_action = t
        .get("dpd_action")
        .and_then(|n| {
            keyword(
                ctx,
                &n,
                "dpd_action",
                &[
                    ("clear", DpdAction::Clear),
                    ("restart", DpdAction::Restart),
                    ("trap", DpdAction::Trap),
                ],
            )
        })
        .unwrap_or_default();
    if dpd_action == DpdAction::Restart && addrs_ok && remote_addrs.is_empty() {
        ctx.warn(
            &span_of(&t, "dpd_action"),
            &join(&t.path, "dpd_action"),
            "\"restart\" with remote_addrs %any cannot initiate again; the IKE SA is cleared instead",
        );
    }
    let rekey_time = timer(ctx, &t, "rekey_time", Some(IKE_REKEY_DEFAULT));
    let over_time = t.get("over_time").and_then(|n| duration(ctx, &n));
    let ike_life_time = match (t.get("life_time"), over_time) {
        (Some(n), Some(_)) => {
            ctx.error(
                &n.span,
                &n.path,
                "both life_time and over_time are set (expected one of them: life_time is rekey_time + over_time)",
            );
            None
        }
        (Some(n), None) => {
            let life = duration(ctx, &n).filter(|d| !d.is_zero());
            if let (Some(l), Some(r)) = (life, rekey_time) {
                if l <= r {
                    ctx.error(
                        &n.span,
                        &n.path,
                        format!(
                            "life_time ({}s) must be longer than rekey_time ({}s) (expected e.g. rekey_time plus 10%)",
                            l.as_secs(),
                            r.as_secs()
                        ),
                    );
                }
            }
            life
        }
        (None, Some(o)) => rekey_time.map(|r| r + o),
        (None, None) => rekey_time.map(plus_ten_percent),
    };
    let encap = t.get("encap").and_then(|n| n.bool(ctx)).unwrap_or(false);

    let local = end(ctx, &t, "local", version);
    let remote = end(ctx, &t, "remote", version);

    // Children.
    let mut children = Vec::new();
    let mut child_configs = Vec::new();
    if let Some(n) = t.get("children") {
        if let Some(ct) = n.table(
            ctx,
            "a table of children ([connections.NAME.children.CHILD])",
        ) {
            for (child_name, _, cn) in ct.entries() {
                if let Some((c, cfg)) =
                    child(ctx, child_name, &cn, &local_addrs, &remote_addrs, addrs_ok)
                {
                    children.push(c);
                    child_configs.push(cfg);
                }
            }
        }
    }

    if version == IkeVersion::V2 {
        let private = |p: &Proposal| {
            p.ke.iter().any(|g| {
                matches!(g, ike_wire::group::DhGroup::Unknown(n) if *n >= ike_proto::config::PRIVATE_GROUP_MIN)
            })
        };
        let uses = ike_proposals.iter().any(private)
            || child_configs
                .iter()
                .any(|c: &ike_proto::config::ChildConfig| {
                    c.esp_proposals.iter().chain(&c.ah_proposals).any(private)
                });
        if uses {
            ctx.error(
                &t.span,
                &t.path,
                "a private group ([groups]) is used, but private groups are IKEv1 only (expected version = 1, or a standard group)",
            );
        }
    }
    let (local, remote) = (local?, remote?);
    let (local_auth, remote_auth, local_id) =
        authentication(ctx, &local, &remote, &local_addrs, g)?;
    let remote_id = remote
        .id
        .as_ref()
        .map(|(i, _)| i.clone())
        .unwrap_or(Identity::Any);

    if ctx.error_count() > before {
        return None;
    }
    let (Some(local_auth), Some(remote_auth)) = (local_auth, remote_auth) else {
        return None;
    };
    let psk = matches!(local_auth, AuthMethod::Psk(_));
    let exchange_path = join(&t.path, exchange_key);
    match exchange {
        V1Exchange::Aggressive if psk => ctx.warn(
            &exchange_span,
            &exchange_path,
            "Aggressive Mode with a pre-shared key sends a hash of the key that an eavesdropper can crack offline (RFC 2409 §5); use Main Mode (aggressive = false) or certificates (auth = \"pubkey\")",
        ),
        V1Exchange::Base | V1Exchange::AuthOnly
            if matches!(local_auth, AuthMethod::PkeKey { .. }) =>
        {
            ctx.error(
                &exchange_span,
                &exchange_path,
                "public-key encryption (pke, rpke) is defined for Main and Aggressive Mode only (RFC 2409 §5.2, §5.3); use exchange = \"main\" or auth = \"psk\" or \"pubkey\"",
            );
        }
        V1Exchange::AuthOnly if !psk => ctx.error(
            &exchange_span,
            &exchange_path,
            "the Authentication Only exchange has no key exchange, so with signatures nothing secret protects the SA's later messages; use auth = \"psk\" on both sides, or exchange = \"main\"",
        ),
        V1Exchange::AuthOnly if !child_configs.is_empty() => ctx.error(
            &exchange_span,
            &exchange_path,
            "an Authentication Only SA derives no keys for IPsec SAs (RFC 2408 §4.6): remove the children, or use exchange = \"main\"",
        ),
        V1Exchange::Base | V1Exchange::AuthOnly if psk => ctx.warn(
            &exchange_span,
            &exchange_path,
            "this exchange sends the identities in the clear, and with a pre-shared key a hash of the key an eavesdropper can attack offline; use Main Mode (exchange = \"main\")",
        ),
        _ => {}
    }
    let peer = PeerConfig {
        name: name.to_owned(),
        remote_addrs: remote_addrs.clone(),
        local_id,
        remote_id,
        local_auth,
        remote_auth,
        ike_proposals,
        children: child_configs,
        rekey_time,
        dpd_delay,
        dpd_action,
        encap,
        life_time: ike_life_time,
        version,
        exchange,
    };
    Some(Connection {
        name: name.to_owned(),
        version,
        local_addrs,
        remote_addrs,
        children,
        peer,
        ike_life_time,
    })
}

/// The two ends' authentication methods and our identity. The methods are `None` for an IKEv1
/// connection using public key encryption (no IKEv2 type exists for it); the whole is `None`
/// after an error.
#[allow(clippy::type_complexity)]
fn authentication(
    ctx: &mut Ctx<'_>,
    local: &End<'_>,
    remote: &End<'_>,
    local_addrs: &[IpAddr],
    g: &Globals,
) -> Option<(Option<AuthMethod>, Option<AuthMethod>, Identity)> {
    let before = ctx.error_count();
    let (Some(local_kind), Some(remote_kind)) = (local.auth, remote.auth) else {
        return None;
    };

    // Our credential, for pubkey (and IKEv1 pke/rpke, which decrypt with the same key).
    let credential = if local_kind == Auth::Psk {
        if local.certs.as_ref().is_some_and(|c| !c.is_empty()) {
            ctx.warn(
                &local
                    .certs_node
                    .clone()
                    .unwrap_or_else(|| local.span.clone()),
                &join(&local.path, "certs"),
                "ignored with auth = \"psk\" (certificates are sent only with pubkey)",
            );
        }
        None
    } else {
        local_credential(ctx, local, g)
    };

    // Our identity: as configured, else the certificate's subject, else our one address.
    let local_id = match (&local.id, &credential) {
        (Some((id, item)), Some((cred, cert_item))) => {
            if let Some(ee) = cred.chain().first() {
                check_identity_in_cert(ctx, id, item, ee, cert_item);
            }
            id.clone()
        }
        (Some((id, _)), None) => id.clone(),
        (None, Some((cred, _))) if !cred.chain().is_empty() => Identity::Dn(
            cred.chain()
                .first()
                .map(Certificate::subject_der)
                .unwrap_or_default(),
        ),
        (None, _) => match local_addrs {
            [one] => Identity::Addr(*one),
            _ => {
                ctx.error(
                    &local.span,
                    &join(&local.path, "id"),
                    "missing (expected an identity such as \"a.example.org\"; it can be left out \
                     only when local_addrs names one address or auth = \"pubkey\" has a certificate)",
                );
                return None;
            }
        },
    };
    let remote_id = remote
        .id
        .as_ref()
        .map(|(i, _)| i.clone())
        .unwrap_or(Identity::Any);

    // The pre-shared key, if either side uses one.
    let psk_end = [local, remote]
        .into_iter()
        .find(|e| e.auth == Some(Auth::Psk));
    let psk = match psk_end {
        Some(e) => Some(find_psk(ctx, e, &local_id, &remote_id, g)?),
        None => None,
    };

    let local_auth = match local_kind {
        Auth::Psk => psk.clone().map(AuthMethod::Psk),
        Auth::Pubkey => credential.map(|(c, _)| AuthMethod::PubKey(c.with_rsa_pss(local.rsa_pss))),
        Auth::Pke | Auth::Rpke => credential.and_then(|(c, item)| {
            let cert = c.chain().first()?.clone();
            match ike_crypto::pke::PkeDecryptor::from_private_key(c.key()) {
                Ok(d) if d.modulus_len() < 256 => {
                    ctx.warn(
                        &item.span,
                        &item.path,
                        format!(
                            "the RSA key of \"{}\" has {} bits: public-key encryption with a key under 2048 bits is weak (use a 3072-bit key)",
                            item.text,
                            d.modulus_len() * 8
                        ),
                    );
                    Some(AuthMethod::PkeKey {
                        decryptor: std::sync::Arc::new(d),
                        cert,
                        revised: local_kind == Auth::Rpke,
                    })
                }
                Ok(d) => Some(AuthMethod::PkeKey {
                    decryptor: std::sync::Arc::new(d),
                    cert,
                    revised: local_kind == Auth::Rpke,
                }),
                Err(_) => {
                    ctx.error(
                        &item.span,
                        &item.path,
                        format!(
                            "public-key encryption needs an RSA key of 1024 to 16384 bits; \"{}\" holds another (expected auth = \"pubkey\" for this key)",
                            item.text
                        ),
                    );
                    None
                }
            }
        }),
    };
    let remote_auth = match remote_kind {
        Auth::Psk => psk.map(AuthMethod::Psk),
        Auth::Pubkey => peer_policy(ctx, remote, g).map(AuthMethod::PeerCert),
        Auth::Pke | Auth::Rpke => {
            // The peer's public key encrypts to it: its certificate must be configured.
            let certs: Vec<&Certificate> = remote
                .certs
                .iter()
                .flatten()
                .flat_map(|(_, c)| c.iter())
                .collect();
            match certs.as_slice() {
                [cert] => {
                    let rsa = PublicKey::from_spki_der(&cert.spki_der())
                        .is_ok_and(|k| matches!(k.kind(), ike_crypto::sign::KeyKind::Rsa { .. }));
                    if rsa {
                        Some(AuthMethod::PkePeer {
                            cert: (*cert).clone(),
                            revised: remote_kind == Auth::Rpke,
                        })
                    } else {
                        ctx.error(
                            &remote.auth_span,
                            &join(&remote.path, "auth"),
                            "public-key encryption needs the peer's RSA certificate; the one in remote certs holds another key",
                        );
                        None
                    }
                }
                _ => {
                    if remote.certs.is_some() {
                        ctx.error(
                            &remote.auth_span,
                            &join(&remote.path, "auth"),
                            "public key encryption needs the peer's certificate, exactly one (expected remote certs = [\"peer.pem\"])",
                        );
                    }
                    None
                }
            }
        }
    };
    if matches!(
        (local_kind, remote_kind),
        (Auth::Pke, Auth::Rpke) | (Auth::Rpke, Auth::Pke)
    ) {
        ctx.error(
            &remote.auth_span,
            &join(&remote.path, "auth"),
            "IKEv1 negotiates one method for both ends: pke on one side and rpke on the other cannot work (expected the same on both)",
        );
    }
    if ctx.error_count() > before {
        return None;
    }
    Some((local_auth, remote_auth, local_id))
}

/// Our key and certificate chain; the second value names the end-entity certificate's file.
fn local_credential<'t>(
    ctx: &mut Ctx<'_>,
    local: &End<'t>,
    g: &Globals,
) -> Option<(Credential, Item<'t>)> {
    let files = local.certs.as_ref()?;
    let Some((ee_item, _)) = files.first() else {
        ctx.error(
            local.certs_node.as_ref().unwrap_or(&local.span),
            &join(&local.path, "certs"),
            format!(
                "auth = \"{}\" needs our certificate (expected certs = [\"our-cert.pem\"] and its \
                 key in a [[secrets.private_key]])",
                if local.auth == Some(Auth::Pubkey) {
                    "pubkey"
                } else {
                    "pke"
                }
            ),
        );
        return None;
    };
    let chain: Vec<Certificate> = files.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    let ee = chain.first()?;
    let ee_key = match PublicKey::from_spki_der(&ee.spki_der()) {
        Ok(k) => k,
        Err(_) => {
            ctx.error(
                &ee_item.span,
                &ee_item.path,
                format!(
                    "the key of certificate \"{}\" is not usable (expected RSA, ECDSA, Ed25519, Ed448 or DSA)",
                    ee_item.text
                ),
            );
            return None;
        }
    };
    let Some(key) = g.keys.iter().find(|k| k.public_key() == ee_key) else {
        if !g.keys_failed {
            ctx.error(
                &ee_item.span,
                &ee_item.path,
                format!(
                    "no [[secrets.private_key]] holds the private key of \"{}\" (expected \
                     [[secrets.private_key]] with file = \"its-key.pem\")",
                    ee_item.text
                ),
            );
        }
        return None;
    };
    match Credential::new(key.clone(), chain) {
        Ok(c) => Some((c, ee_item.clone())),
        Err(e) => {
            ctx.error(
                &ee_item.span,
                &ee_item.path,
                format!("{} (expected our certificate first)", e.0),
            );
            None
        }
    }
}

/// Our configured identity must be in our certificate, or the peer will refuse it.
fn check_identity_in_cert(
    ctx: &mut Ctx<'_>,
    id: &Identity,
    item: &Item<'_>,
    ee: &Certificate,
    cert: &Item<'_>,
) {
    let x = match id {
        Identity::Addr(IpAddr::V4(a)) => x509::Identity::Ipv4(a.octets()),
        Identity::Addr(IpAddr::V6(a)) => x509::Identity::Ipv6(a.octets()),
        Identity::Fqdn(s) => x509::Identity::Fqdn(s),
        Identity::Email(s) => x509::Identity::Rfc822(s),
        Identity::Dn(d) => x509::Identity::DerDn(d),
        // Key IDs are bound by configuration, not by certificates.
        _ => return,
    };
    if x509::matches_identity(ee, &x) {
        return;
    }
    let mut names: Vec<String> = ee
        .subject_alt_names()
        .iter()
        .filter_map(|s| match s {
            SubjectAltName::Dns(d) | SubjectAltName::Rfc822(d) => Some(d.clone()),
            SubjectAltName::IpAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(b.as_slice())
                    .ok()
                    .map(|a| IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(b.as_slice())
                    .ok()
                    .map(|a| IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    names.push(format!("\"{}\"", ee.subject_text()));
    ctx.error(
        &item.span,
        &item.path,
        format!(
            "\"{}\" is not named in certificate \"{}\" (expected one of its subjectAltNames or its subject: {})",
            item.text,
            cert.text,
            names.join(", ")
        ),
    );
}

/// The `[[secrets.ike]]` for a connection: both identities in `ids` beat one, one beats an
/// entry without `ids`; the first of equals wins.
fn find_psk(
    ctx: &mut Ctx<'_>,
    at: &End<'_>,
    local: &Identity,
    remote: &Identity,
    g: &Globals,
) -> Option<Secret> {
    let matches = |ids: &[Identity], who: &Identity| ids.iter().any(|i| i.accepts(who) || i == who);
    let mut best: Option<(u8, &IkeSecret)> = None;
    for s in &g.secrets {
        let score = if s.ids.is_empty() {
            1
        } else {
            let (l, r) = (matches(&s.ids, local), matches(&s.ids, remote));
            match (l, r) {
                (true, true) => 3,
                (true, false) | (false, true) => 2,
                (false, false) => continue,
            }
        };
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, s));
        }
    }
    match best {
        // A broken entry was reported where it is.
        Some((_, s)) => s.secret.clone(),
        None => {
            let remote_text = if *remote == Identity::Any {
                String::new()
            } else {
                format!(", \"{remote}\"")
            };
            ctx.error(
                &at.auth_span,
                &join(&at.path, "auth"),
                format!(
                    "auth = \"psk\" but no [[secrets.ike]] matches local id \"{local}\" or remote id \"{remote}\" \
                     (expected [[secrets.ike]] with ids = [\"{local}\"{remote_text}] and secret or file)"
                ),
            );
            None
        }
    }
}

/// How the peer's certificate is checked.
fn peer_policy(ctx: &mut Ctx<'_>, remote: &End<'_>, g: &Globals) -> Option<PeerCertPolicy> {
    let pinned_files = remote.certs.as_ref()?;
    let cacerts = remote.cacerts.as_ref()?;
    let pinned: Vec<&Certificate> = pinned_files.iter().flat_map(|(_, c)| c.iter()).collect();
    if pinned.len() > 1 {
        if let Some((item, _)) = pinned_files.first() {
            ctx.error(
                &item.span,
                &join(&remote.path, "certs"),
                "more than one certificate to pin (expected the peer's own certificate only)",
            );
        }
        return None;
    }
    let pinned = pinned.first().map(|c| (*c).clone());
    let store = if remote.cacerts_given {
        match TrustStore::new(cacerts.clone()) {
            Ok(s) => Some(s),
            Err(_) => return None,
        }
    } else {
        None
    };
    match (store, pinned) {
        (Some(s), Some(p)) => Some(PeerCertPolicy::trusting(s).with_pinned(p)),
        (Some(s), None) => Some(PeerCertPolicy::trusting(s)),
        (None, Some(p)) => Some(PeerCertPolicy::pinned(p)),
        (None, None) => match &g.trust {
            Some(s) => Some(PeerCertPolicy::trusting(s.clone())),
            None => {
                if !g.authorities_failed {
                    ctx.error(
                        &remote.auth_span,
                        &join(&remote.path, "auth"),
                        "auth = \"pubkey\" for the peer needs a trust anchor (expected [[authorities]] \
                         with cacert, remote cacerts, or remote certs to pin the peer's certificate)",
                    );
                }
                None
            }
        },
    }
}

fn child(
    ctx: &mut Ctx<'_>,
    name: &str,
    node: &Node<'_, '_>,
    local_addrs: &[IpAddr],
    remote_addrs: &[IpAddr],
    addrs_ok: bool,
) -> Option<(Child, ChildConfig)> {
    let before = ctx.error_count();
    let t = node.table(ctx, "a table ([connections.NAME.children.CHILD])")?;
    t.check_keys(ctx, CHILD_KEYS, "key");
    let local_ts = selectors(ctx, &t, "local_ts", addrs_ok.then_some(local_addrs));
    let remote_ts = selectors(ctx, &t, "remote_ts", addrs_ok.then_some(remote_addrs));
    // A child is ESP (the default) or AH (RFC 4302: integrity only), as strongSwan's
    // esp_proposals and ah_proposals say; not both.
    let (esp_proposals, ah_proposals) = match (t.get("esp_proposals"), t.get("ah_proposals")) {
        (Some(_), Some(ah)) => {
            ctx.error(
                &ah.span,
                &ah.path,
                "a child has either esp_proposals or ah_proposals, not both (expected one of \
                 them: ESP encrypts and authenticates, AH only authenticates)",
            );
            (Vec::new(), Vec::new())
        }
        (None, Some(ah)) => (Vec::new(), proposals(ctx, Some(ah), Kind::Ah, &t)),
        (esp, None) => (proposals(ctx, esp, Kind::Esp, &t), Vec::new()),
    };
    let mode = t
        .get("mode")
        .and_then(|n| {
            keyword(
                ctx,
                &n,
                "mode",
                &[("tunnel", Mode::Tunnel), ("transport", Mode::Transport)],
            )
        })
        .unwrap_or(Mode::Tunnel);
    let start_action = t
        .get("start_action")
        .and_then(|n| {
            let a = keyword(
                ctx,
                &n,
                "start_action",
                &[
                    ("none", StartAction::None),
                    ("start", StartAction::Start),
                    ("trap", StartAction::Trap),
                ],
            )?;
            if a != StartAction::None && addrs_ok && remote_addrs.is_empty() {
                let word = if a == StartAction::Start { "start" } else { "trap" };
                ctx.error(
                    &n.span,
                    &n.path,
                    format!(
                        "\"{word}\" needs an address to initiate to, but remote_addrs is %any \
                         (expected start_action = \"none\" for a responder, or remote_addrs with the peer's address)"
                    ),
                );
                return None;
            }
            Some(a)
        })
        .unwrap_or_default();
    let rekey_time = timer(ctx, &t, "rekey_time", Some(CHILD_REKEY_DEFAULT));
    let life_time = match t.get("life_time") {
        Some(n) => {
            let life = duration(ctx, &n).filter(|d| !d.is_zero());
            if let (Some(l), Some(r)) = (life, rekey_time) {
                if l <= r {
                    ctx.error(
                        &n.span,
                        &n.path,
                        format!(
                            "life_time ({}s) must be longer than rekey_time ({}s) (expected e.g. rekey_time plus 10%)",
                            l.as_secs(),
                            r.as_secs()
                        ),
                    );
                }
            }
            life
        }
        None => rekey_time.map(plus_ten_percent),
    };
    if ctx.error_count() > before {
        return None;
    }
    Some((
        Child {
            name: name.to_owned(),
            start_action,
        },
        ChildConfig {
            name: name.to_owned(),
            local_ts,
            remote_ts,
            esp_proposals,
            ah_proposals,
            mode,
            rekey_time,
            life_time,
        },
    ))
}

/// Traffic selectors; `dynamic` (the default) is the end's address: its one configured
/// address, or with none or several (`%any`) the address of each SA at that end, as strongSwan
/// takes it ([`Ts::dynamic`]). `addrs` is `None` when the addresses were wrong.
fn selectors(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str, addrs: Option<&[IpAddr]>) -> Vec<Ts> {
    let dynamic = || match addrs {
        None => None,
        Some([one]) => Ts::cidr(&one.to_string()),
        Some(_) => Some(Ts::dynamic()),
    };
    let Some(n) = t.get(key) else {
        return dynamic().into_iter().collect();
    };
    let Some(items) = n.list(ctx, "subnets such as \"10.88.1.0/24\"") else {
        return Vec::new();
    };
    if items.is_empty() {
        ctx.error(
            &n.span,
            &n.path,
            "empty list (expected at least one subnet such as \"10.88.1.0/24\", or \"dynamic\")",
        );
    }
    let mut out = Vec::new();
    for i in items {
        if i.text.trim() == "dynamic" {
            out.extend(dynamic());
            continue;
        }
        match values::traffic_selector(i.text) {
            Ok(ts) => {
                // "10.88.1.5/24" means the subnet 10.88.1.0/24: say so, it may be a typo.
                let net = i.text.trim().split('[').next().unwrap_or_default().trim();
                if let Some((addr, _)) = net.split_once('/') {
                    if addr
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|a| a != ts.start)
                    {
                        ctx.warn(
                            &i.span,
                            &i.path,
                            format!(
                                "\"{net}\" has host bits set; it is taken as the subnet starting at {} (write that to silence this)",
                                ts.start
                            ),
                        );
                    }
                }
                out.push(ts)
            }
            Err(m) => ctx.error(&i.span, &i.path, m),
        }
    }
    out
}
