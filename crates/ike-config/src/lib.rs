//! The `ike` daemon's configuration: a TOML file shaped like strongSwan's swanctl.conf, parsed
//! into the IKEv2 engine's types ([`ike_proto::v2::PeerConfig`], [`ike_proto::v2::EndpointConfig`])
//! with every secret, key and certificate loaded and checked.
//!
//! [`load`] reads a file, [`parse`] takes the text; both collect every problem of the file, not
//! just the first, and each [`ConfigError`] names the file, the line, the key and what was
//! expected:
//!
//! ```text
//! ike.toml:12: connections.site-b.proposals[1]: unknown algorithm keyword "aes128gcm17" (expected e.g. aes128gcm16-prfsha256-x25519)
//! ```
//!
//! # The file
//!
//! Paths of certificates, keys and secret files are relative to the configuration file's
//! directory unless absolute. Durations are a number with an optional unit, `s` (the default),
//! `m`, `h` or `d` (`"30s"`, `"90m"`, `"4h"`, `"1d"`, or a TOML number of seconds); `"0"` turns
//! a timer off. A list of strings may also be written as one comma-separated string, as in
//! swanctl.conf. Unknown keys are errors, with a suggestion when one is close.
//!
//! ```toml
//! [daemon]
//! listen = ["10.77.0.1"]            # addresses for UDP port and port_nat_t; default: all
//! port = 500                        # default 500
//! port_nat_t = 4500                 # default 4500
//! control_socket = "/run/ike/ike.sock"
//! max_control_clients = 64          # control clients at once; one more is refused
//! secret_file_modes = "strict"      # PSK/key files readable by group or others: refused | "warn"
//! metrics = "127.0.0.1:9740"        # Prometheus metrics over HTTP (GET /metrics); default: off
//! metrics_public = false            # true: allow a non-loopback metrics address
//! kernel = "xfrm"                   # "xfrm" (default) | "none"
//! log = "info,ike=debug"            # default level, then per-subsystem levels
//! retransmit_timeout = "2s"         # first retransmission (strongSwan names from here on)
//! retransmit_base = 1.8             # growth factor of each further timeout
//! retransmit_tries = 5
//! cookie_threshold = 10             # half-open IKE SAs before cookies are demanded
//! block_threshold = 20              # half-open IKE SAs per peer address
//! init_limit_half_open = 1000       # half-open IKE SAs in all
//! half_open_timeout = "30s"
//! fragment_size = 1228              # largest unfragmented IKE message; 0: no fragmentation
//! keep_alive = "20s"                # NAT keepalive interval; "0": none
//! prefer_configured_proposals = true  # false: choose in the initiator's order
//! non_first_fragments = false       # announce NON_FIRST_FRAGMENTS_ALSO for Child SAs
//!
//! [connections.site-b]
//! version = 2                       # 2 (default) or 1 (IKEv1)
//! local_addrs = ["10.77.0.1"]       # default %any
//! remote_addrs = ["10.77.0.2"]      # "%any" (default) for a responder that accepts anyone
//! proposals = ["aes128gcm16-prfsha256-x25519", "aes256-sha256-modp2048"]   # or "default"
//! # hybrid post-quantum: "aes256gcm16-prfsha384-x25519-ke1_mlkem768" (RFC 9370 over
//! # IKE_INTERMEDIATE, and IKE_FOLLOWUP_KE when rekeyed; ke1_none makes it optional)
//! aggressive = false                # IKEv1 only (warned with a PSK); same as exchange = "aggressive"
//! exchange = "main"                 # IKEv1 Phase 1: main (default) | aggressive | base | auth-only
//! dpd_delay = "30s"                 # default: off
//! dpd_action = "clear"              # clear (default) | restart | trap
//! rekey_time = "4h"                 # default 4h; "0": never
//! over_time = "24m"                 # hard IKE SA lifetime past rekey_time (default 10% of it)
//! # life_time = "4h24m"             # or the hard lifetime itself (either, not both)
//! encap = false                     # force UDP encapsulation of ESP
//!
//! [connections.site-b.local]
//! auth = "psk"                      # psk | pubkey (default) | pke | rpke (the last two IKEv1)
//! id = "a.example.org"              # default: the certificate's subject, else the one local address
//! certs = []                        # for pubkey: our certificate first, then intermediates
//! rsa_pss = false                   # sign with RSASSA-PSS when the key is RSA
//! [connections.site-b.remote]
//! auth = "psk"
//! id = "b.example.org"              # default %any
//! cacerts = []                      # for pubkey: trust anchors for this peer only
//! certs = []                        # for pubkey: pin the peer's certificate
//!
//! [connections.site-b.children.net]
//! local_ts = ["10.88.1.0/24"]       # default "dynamic": the one local address
//! remote_ts = ["10.88.2.0/24[tcp/443]"]
//! esp_proposals = ["aes128gcm16-x25519"]   # a key exchange method means PFS; default: "default"
//! # hybrid: "aes256gcm16-x25519-ke1_mlkem768" (ML-KEM over IKE_FOLLOWUP_KE, RFC 9370)
//! # or, instead of esp_proposals (not both): AH (RFC 4302), integrity only, no encryption
//! # ah_proposals = ["sha256-x25519"]  # integrity algorithms (sha256, sha384, sha512, sha1,
//! #                                   # aesxcbc, aescmac, md5), a key exchange method means PFS;
//! #                                   # "default": sha256-sha384-sha512-sha1-aesxcbc
//! mode = "tunnel"                   # tunnel (default) | transport
//! start_action = "start"            # none (default) | start | trap
//! rekey_time = "1h"                 # default 1h; "0": never
//! life_time = "66m"                 # default rekey_time + 10%
//!
//! [[secrets.ike]]
//! ids = ["a.example.org", "b.example.org"]  # none: any connection
//! secret = "a long random string"   # 0x... hex, 0s... base64, or text; or: file = "site-b.psk"
//!
//! [[secrets.private_key]]
//! file = "a.key.pem"                # PEM or DER; matched to a certificate by its public key
//!
//! [[authorities]]
//! cacert = "ca.pem"                 # trust anchors for every pubkey peer without cacerts
//! ```
//!
//! A pre-shared key is found as strongSwan finds it: the `[[secrets.ike]]` whose `ids` contain
//! both the local and the remote identity wins over one that contains only one of them, which
//! wins over one without `ids`. Identities are strongSwan's text forms (FQDN, `user@domain`, IP
//! address, `@#hex` key ID, `C=CH, O=Example, CN=moon` DN, `%any`).
//!
//! IKEv1 connections (`version = 1`) run on the IKEv1 engine (Main Mode and Quick Mode with
//! pre-shared keys for now); one with `auth = "pke"` or `"rpke"` is checked but not loaded, with
//! a warning saying so, and Aggressive Mode with a pre-shared key is warned about.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod build;
pub mod diff;
mod doc;
mod error;
mod values;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ike_proto::v2::{EndpointConfig, PeerConfig};

pub use error::{ConfigError, ConfigErrors, Severity};

/// Where the control socket is unless the file says otherwise.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/ike/ike.sock";

/// A loaded configuration, ready for the daemon and the engine.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The `[daemon]` section.
    pub daemon: DaemonConfig,
    /// The IKEv2 connections, in file order.
    pub connections: Vec<Connection>,
    /// Problems that did not stop the file from loading (IKEv1 connections that were skipped,
    /// ignored keys, expired certificates), in line order.
    pub warnings: Vec<ConfigError>,
}

impl Config {
    /// The connection named `name`.
    pub fn connection(&self, name: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// How many children all connections have together.
    pub fn child_count(&self) -> usize {
        self.connections.iter().map(|c| c.children.len()).sum()
    }
}

/// The `[daemon]` section.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DaemonConfig {
    /// Addresses to bind UDP `port` and `port_nat_t` on; empty means every address.
    pub listen: Vec<IpAddr>,
    /// The IKE port (500).
    pub port: u16,
    /// The NAT-T port (4500), where ESP-in-UDP also arrives.
    pub port_nat_t: u16,
    /// The control socket's path (default [`DEFAULT_CONTROL_SOCKET`]); a relative path is
    /// relative to the configuration file's directory.
    pub control_socket: PathBuf,
    /// Which kernel backend installs SAs.
    pub kernel: KernelKind,
    /// Log levels in `tracing`'s filter syntax (`info`, `ike=debug,kernel=info`), if set; the
    /// command line's `--log` wins over it.
    pub log: Option<String>,
    /// Timers and admission limits of the IKEv2 endpoint (each shard's own).
    pub endpoint: EndpointConfig,
    /// Engine shards, one thread each (1 to 64); `None`: one per core.
    pub shards: Option<u8>,
    /// Control clients served at once (default 64); one more is told so and closed.
    pub max_control_clients: usize,
    /// Refuse a pre-shared key or private key file that group or others may read or write
    /// (`secret_file_modes = "strict"`, the default), or only warn (`"warn"`).
    pub secret_files_strict: bool,
    /// Where to serve Prometheus metrics over HTTP (`metrics = "127.0.0.1:9740"`); `None`:
    /// not served. A non-loopback address needs `metrics_public = true`.
    pub metrics: Option<std::net::SocketAddr>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            port: 500,
            port_nat_t: 4500,
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            kernel: KernelKind::Xfrm,
            log: None,
            endpoint: EndpointConfig::default(),
            shards: None,
            max_control_clients: 64,
            secret_files_strict: true,
            metrics: None,
        }
    }
}

/// The kernel backend (`kernel = "xfrm" | "none"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KernelKind {
    /// Linux XFRM over netlink.
    #[default]
    Xfrm,
    /// Install nothing; log what would have been installed.
    None,
}

pub use ike_proto::config::IkeVersion;

/// What the daemon does with a child when the configuration is loaded (strongSwan's
/// `start_action`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StartAction {
    /// Nothing: the peer initiates, or `ike up` does.
    #[default]
    None,
    /// Initiate at once.
    Start,
    /// Install trap policies; matching traffic initiates.
    Trap,
}

/// One `[connections.NAME]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Connection {
    /// Its name.
    pub name: String,
    /// Its IKE version.
    pub version: IkeVersion,
    /// Our addresses; empty means any.
    pub local_addrs: Vec<IpAddr>,
    /// The peer's addresses; empty means any (`%any`, a responder only). The first is where we
    /// initiate to. The same list is in `peer.remote_addrs`.
    pub remote_addrs: Vec<IpAddr>,
    /// The children's daemon-side settings, in the order of `peer.children` (the same names).
    pub children: Vec<Child>,
    /// Everything the engine needs: identities, authentication with secrets, keys and
    /// certificates loaded, proposals, children, timers.
    pub peer: PeerConfig,
    /// The hard lifetime of the IKE SA (`life_time`, or `rekey_time` + `over_time`); `None`
    /// when it never expires. Not enforced by the engine yet.
    pub ike_life_time: Option<Duration>,
}

impl Connection {
    /// The child named `name`, with its engine configuration.
    pub fn child(&self, name: &str) -> Option<(&Child, &ike_proto::v2::ChildConfig)> {
        let i = self.children.iter().position(|c| c.name == name)?;
        Some((self.children.get(i)?, self.peer.children.get(i)?))
    }
}

/// The daemon's settings of one child; the rest is in the matching
/// [`ike_proto::v2::ChildConfig`] of [`Connection::peer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Child {
    /// Its name.
    pub name: String,
    /// What happens when the configuration is loaded.
    pub start_action: StartAction,
}

/// Reads and parses the configuration file at `path`. Relative paths inside it are resolved
/// against its directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let fail = |message: String| {
        Err(ConfigErrors::new(vec![ConfigError {
            file: file.clone(),
            line: None,
            key: String::new(),
            message,
            severity: Severity::Error,
        }]))
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail("cannot read the configuration file: no such file".to_owned())
        }
        Err(e) => return fail(format!("cannot read the configuration file: {e}")),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return fail("the configuration file is not UTF-8 text (expected TOML)".to_owned());
    };
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    parse(&text, &file, base_dir)
}

/// Parses configuration text. `file_name` is what errors call the file; files named inside are
/// resolved against `base_dir`.
pub fn parse(text: &str, file_name: &str, base_dir: &Path) -> Result<Config, ConfigErrors> {
    let mut ctx = doc::Ctx::new(text, file_name, base_dir);
    let built = build::config(&mut ctx, text);
    let mut problems = std::mem::take(&mut ctx.problems);
    problems.sort_by_key(|p| p.line);
    match built {
        Some((daemon, connections)) if !problems.iter().any(ConfigError::is_error) => Ok(Config {
            daemon,
            connections,
            warnings: problems,
        }),
        _ => Err(ConfigErrors::new(problems)),
    }
}
