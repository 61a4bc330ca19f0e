//! The control protocol between `ike daemon` and its clients (`ike up`, `ike down`,
//! `ike status`), over a Unix stream socket (mode 0600).
//!
//! One request per connection: the client writes a [`Request`] as one line of JSON, the daemon
//! answers with one [`Response`] line and closes. `up` answers only when the connection is
//! established or has failed; the client bounds its wait. Requests longer than [`MAX_LINE`]
//! and responses longer than [`MAX_RESPONSE`] are refused.
//!
//! ```text
//! > {"cmd":"up","name":"site-b"}
//! < {"ok":true,"message":"site-b established: IKE SA 1a2b.../..., child net in c1234567 out c7654321"}
//! > {"cmd":"status"}
//! < {"ok":true,"status":{"ike_sas":[...]}}
//! > {"cmd":"status_stream"}
//! < {"name":"site-b","version":2,"state":"ESTABLISHED",...}
//! < {"name":"site-c",...}
//! < {"ok":true,"message":"2 IKE SAs"}
//! ```
//!
//! [`Status`] is the `ike status --json` document of DESIGN.md, field for field.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The longest request line the daemon accepts, in bytes.
pub const MAX_LINE: usize = 1 << 20;

/// The longest response line a client accepts, in bytes: a status of many SAs is long (about
/// 400 bytes per SA; 1 MiB ran out at a few thousand), and it comes from the daemon, whose
/// socket only root can open.
pub const MAX_RESPONSE: usize = 256 << 20;

/// A client's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Request {
    /// Initiate the connection; answer when established or failed.
    Up {
        /// Connection name.
        name: String,
    },
    /// Delete the connection's IKE SAs (telling the peer).
    Down {
        /// Connection name.
        name: String,
    },
    /// Rekey the connection's SAs now: its IKE SAs (`ike`: IKEv2 rekey, IKEv1
    /// re-authentication), or the Child SAs of child `child`, or (neither) every Child SA.
    Rekey {
        /// Connection name.
        name: String,
        /// Only this child's SAs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<String>,
        /// The IKE SAs instead of Child SAs.
        #[serde(default)]
        ike: bool,
    },
    /// The daemon's counters (`ike stats`).
    Stats,
    /// Reload the configuration file and say what changed (`ike reload`; SIGHUP does the same
    /// without an answer).
    Reload,
    /// The certificates the configuration loaded, ours and pinned peers' (`ike list-certs`).
    #[serde(rename = "list_certs")]
    ListCerts,
    /// The trust anchors (`ike list-authorities`).
    #[serde(rename = "list_authorities")]
    ListAuthorities,
    /// Stream the daemon's log lines at `level` and above (`ike log`): one `{"log": LINE}`
    /// object per line, without end, until the client closes.
    Log {
        /// error, warn, info, debug or trace.
        level: String,
    },
    /// The loaded connections (`ike list-conns`).
    #[serde(rename = "list_conns")]
    ListConns,
    /// The SAs.
    Status,
    /// The SAs, streamed: one [`IkeSaStatus`] per line, then a [`Response`] line that ends the
    /// answer (`ike status --json --stream`; no line-length limit whatever the number of SAs).
    #[serde(rename = "status_stream")]
    StatusStream,
}

/// The daemon's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// What happened, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The SAs, for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The counters, for `stats`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    /// The connections, for `list-conns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<ConnInfo>>,
    /// What a reload did, for `reload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<ReloadReport>,
    /// Certificates, for `list-certs` and `list-authorities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certs: Option<Vec<CertInfo>>,
}

/// A loaded certificate (`ike list-certs --json`, `ike list-authorities --json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// subjectAltNames ("DNS:...", "email:...", "IP:...").
    pub alt_names: Vec<String>,
    /// Its key ("RSA 2048", "ECDSA P-256", "Ed25519", "DSA 2048").
    pub key: String,
    /// SHA-1 of its subjectPublicKeyInfo, hex (the key ID strongSwan shows).
    pub key_id: String,
    /// Validity start and end, as OpenSSL prints them.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// "valid", "expired" or "not yet valid", at the time of the request.
    pub validity: String,
    /// Whether it is a CA certificate (basicConstraints cA).
    pub ca: bool,
    /// Where the configuration uses it: "CONN: ours", "CONN: our chain", "CONN: peer
    /// (pinned)", "CONN: trust anchor", "CONN: ours (public-key encryption)", ...
    pub used_by: Vec<String>,
}

/// The human form of `list-certs` and `list-authorities`.
pub fn render_certs(certs: &[CertInfo]) -> String {
    let mut out = String::new();
    for c in certs {
        let _ = writeln!(out, "subject:  \"{}\"", c.subject);
        let _ = writeln!(out, "  issuer:   \"{}\"", c.issuer);
        if !c.alt_names.is_empty() {
            let _ = writeln!(out, "  altNames: {}", c.alt_names.join(", "));
        }
        let _ = writeln!(
            out,
            "  validity: {} to {} ({})",
            c.not_before, c.not_after, c.validity
        );
        let _ = writeln!(
            out,
            "  key:      {}{}, keyid {}",
            c.key,
            if c.ca { ", CA" } else { "" },
            c.key_id
        );
        let _ = writeln!(out, "  used by:  {}", c.used_by.join("; "));
    }
    if certs.is_empty() {
        out.push_str("no certificates loaded\n");
    }
    out
}

/// What `ike reload` did (`ike reload --json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// The configuration file.
    pub file: String,
    /// Whether the new configuration was taken (false: it had errors, the running one stays).
    pub loaded: bool,
    /// Connections new in the file.
    pub added: Vec<String>,
    /// Connections no longer in the file (their IKE SAs deleted, the peers told).
    pub removed: Vec<String>,
    /// Connections whose settings changed.
    pub changed: Vec<ChangedConn>,
    /// How many connections did not change.
    pub unchanged: usize,
    /// Every error of the file (FILE:LINE: KEY: MESSAGE), when it was not loaded.
    pub errors: Vec<String>,
    /// Every warning of the file.
    pub warnings: Vec<String>,
}

/// A connection a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedConn {
    /// Its name.
    pub name: String,
    /// The keys that changed, as the file names them under the connection.
    pub keys: Vec<String>,
    /// Whether its SAs stay (only timers, dead peer detection, start actions or secrets
    /// changed: they apply at the next rekey) or were deleted (and the connection restarted
    /// if it starts at load).
    pub sas_kept: bool,
}

impl ReloadReport {
    /// The human form of `ike reload`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.loaded {
            let _ = writeln!(
                out,
                "{}: not reloaded ({} errors); the running configuration stays",
                self.file,
                self.errors.len()
            );
            for e in &self.errors {
                let _ = writeln!(out, "  {e}");
            }
            return out;
        }
        let _ = writeln!(out, "{}: reloaded", self.file);
        for w in &self.warnings {
            let _ = writeln!(out, "  {w}");
        }
        for a in &self.added {
            let _ = writeln!(out, "  added: {a}");
        }
        for r in &self.removed {
            let _ = writeln!(out, "  removed: {r} (its IKE SAs deleted)");
        }
        for c in &self.changed {
            let _ = writeln!(
                out,
                "  changed: {} ({}): {}",
                c.name,
                c.keys.join(", "),
                if c.sas_kept {
                    "SAs kept, the new values apply at the next rekey"
                } else {
                    "IKE SAs deleted, started again if it starts at load"
                }
            );
        }
        let _ = writeln!(out, "  unchanged: {}", self.unchanged);
        out
    }
}

/// A loaded connection (`ike list-conns --json`): what the configuration says and how many IKE
/// SAs it has now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// Its name.
    pub name: String,
    /// IKE version.
    pub version: u8,
    /// Our addresses (empty: any).
    pub local_addrs: Vec<String>,
    /// The peer's addresses (empty: any).
    pub remote_addrs: Vec<String>,
    /// Our identity.
    pub local_id: String,
    /// The identity the peer must prove.
    pub remote_id: String,
    /// How we authenticate ("psk", "pubkey", "pke", "rpke").
    pub local_auth: String,
    /// How the peer authenticates.
    pub remote_auth: String,
    /// IKE proposals in strongSwan's syntax.
    pub proposals: Vec<String>,
    /// IKEv1 Aggressive Mode.
    pub aggressive: bool,
    /// IKEv1: the Phase 1 exchange ("Main Mode", "Aggressive Mode", "Base",
    /// "Authentication Only"); empty for IKEv2.
    #[serde(default)]
    pub exchange: String,
    /// IKE SAs of the connection now, by state.
    pub ike_sas: std::collections::BTreeMap<String, u64>,
    /// Its children.
    pub children: Vec<ChildInfo>,
    /// Bytes received by all its Child SAs, live and gone, since the daemon started (0 with
    /// `kernel = "none"`).
    #[serde(default)]
    pub total_bytes_in: u64,
    /// Bytes sent, likewise.
    #[serde(default)]
    pub total_bytes_out: u64,
    /// Packets received, likewise.
    #[serde(default)]
    pub total_packets_in: u64,
    /// Packets sent, likewise.
    #[serde(default)]
    pub total_packets_out: u64,
}

/// A child of a loaded connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// Its name.
    pub name: String,
    /// "tunnel" or "transport".
    pub mode: String,
    /// Our traffic selectors.
    pub local_ts: Vec<String>,
    /// The peer's.
    pub remote_ts: Vec<String>,
    /// ESP (or AH) proposals.
    pub proposals: Vec<String>,
    /// "none", "start" or "trap".
    pub start_action: String,
}

/// The human form of `list-conns`.
pub fn render_conns(conns: &[ConnInfo]) -> String {
    let mut out = String::new();
    for c in conns {
        let sas: Vec<String> = c.ike_sas.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!(
            "{}: IKEv{}{}, {} === {}, {} ({}) === {} ({}), IKE SAs: {}\n  proposals: {}\n",
            c.name,
            c.version,
            if c.version == 1 && c.exchange != "Main Mode" && !c.exchange.is_empty() {
                format!(" {}", c.exchange)
            } else {
                String::new()
            },
            if c.local_addrs.is_empty() {
                "%any".to_owned()
            } else {
                c.local_addrs.join(",")
            },
            if c.remote_addrs.is_empty() {
                "%any".to_owned()
            } else {
                c.remote_addrs.join(",")
            },
            c.local_id,
            c.local_auth,
            c.remote_id,
            c.remote_auth,
            if sas.is_empty() {
                "none".to_owned()
            } else {
                sas.join(", ")
            },
            c.proposals.join(", ")
        ));
        out.push_str(&format!(
            "  traffic: {} bytes in, {} bytes out, {} packets in, {} packets out (all Child SAs since start)\n",
            c.total_bytes_in, c.total_bytes_out, c.total_packets_in, c.total_packets_out
        ));
        for ch in &c.children {
            out.push_str(&format!(
                "  {}: {} {} === {}, {}, start {}\n",
                ch.name,
                ch.mode,
                ch.local_ts.join(","),
                ch.remote_ts.join(","),
                ch.proposals.join(", "),
                ch.start_action
            ));
        }
    }
    if conns.is_empty() {
        out.push_str("no connections loaded\n");
    }
    out
}

/// The daemon's counters (`ike stats --json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Seconds since the daemon started.
    pub uptime_seconds: u64,
    /// Engine shards (threads).
    pub shards: usize,
    /// IKE SAs by IKE version ("1", "2") and state (strongSwan's words).
    pub ike_sas: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
    /// Child SAs, all versions.
    pub child_sas: u64,
    /// Half-open IKE SAs (responder side, both versions).
    pub half_open: u64,
    /// COOKIE notifies sent (RFC 7296 §2.6).
    pub cookies_sent: u64,
    /// Whether cookies are demanded now: some shard holds `cookie_threshold` half-open SAs or
    /// more, so a new IKE_SA_INIT without a valid COOKIE is answered with one.
    #[serde(default)]
    pub cookies_active: bool,
    /// Datagrams dropped, by reason (only reasons that occurred).
    pub drops: std::collections::BTreeMap<String, u64>,
    /// Control clients served at once at most (`max_control_clients`).
    pub max_control_clients: usize,
    /// IKE SAs established (rekeys not counted), both versions and roles.
    #[serde(default)]
    pub handshakes: u64,
    /// IKE SAs that closed before they were established, by reason (RFC names:
    /// NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, TIMEOUT, ...).
    #[serde(default)]
    pub handshake_failures: std::collections::BTreeMap<String, u64>,
    /// IKE SA rekeys (IKEv1: re-authentications).
    #[serde(default)]
    pub ike_rekeys: u64,
    /// Child SA rekeys.
    #[serde(default)]
    pub child_rekeys: u64,
    /// Messages sent again because no answer came in time.
    #[serde(default)]
    pub retransmissions: u64,
}

impl Stats {
    /// The human form.
    pub fn render(&self) -> String {
        let mut out = format!(
            "uptime {}s, {} engine shard{}, up to {} control clients\n",
            self.uptime_seconds,
            self.shards,
            if self.shards == 1 { "" } else { "s" },
            self.max_control_clients
        );
        for (version, states) in &self.ike_sas {
            let list: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
            out.push_str(&format!("IKEv{version} SAs: {}\n", list.join(", ")));
        }
        if self.ike_sas.is_empty() {
            out.push_str("IKE SAs: none\n");
        }
        out.push_str(&format!(
            "Child SAs: {}\nhalf-open: {}, cookies sent: {}, cookies {}\n",
            self.child_sas,
            self.half_open,
            self.cookies_sent,
            if self.cookies_active {
                "demanded now"
            } else {
                "not demanded now"
            }
        ));
        let failures: Vec<String> = self
            .handshake_failures
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        out.push_str(&format!(
            "handshakes: {} established, failed: {}\nrekeys: {} IKE, {} Child; retransmissions: {}\n",
            self.handshakes,
            if failures.is_empty() {
                "none".to_owned()
            } else {
                failures.join(", ")
            },
            self.ike_rekeys,
            self.child_rekeys,
            self.retransmissions
        ));
        let drops: Vec<String> = self.drops.iter().map(|(r, n)| format!("{r} {n}")).collect();
        out.push_str(&format!(
            "drops: {}\n",
            if drops.is_empty() {
                "none".to_owned()
            } else {
                drops.join(", ")
            }
        ));
        out
    }
}

impl Response {
    /// Success with a message.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            ok: true,
            message: Some(message.into()),
            status: None,
            stats: None,
            connections: None,
            reload: None,
            certs: None,
        }
    }

    /// Failure with a message.
    pub fn err(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            message: Some(message.into()),
            status: None,
            stats: None,
            connections: None,
            reload: None,
            certs: None,
        }
    }
}

/// `ike status --json` (DESIGN.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Every IKE SA.
    pub ike_sas: Vec<IkeSaStatus>,
}

/// One IKE SA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IkeSaStatus {
    /// Connection name.
    pub name: String,
    /// IKE version (2).
    pub version: u8,
    /// CONNECTING, ESTABLISHED, REKEYING or DELETING (strongSwan's words).
    pub state: String,
    /// Our address and port.
    pub local_addr: String,
    /// The peer's address and port.
    pub remote_addr: String,
    /// Our identity.
    pub local_id: String,
    /// The peer's identity (empty until authenticated).
    pub remote_id: String,
    /// Lowercase hex, 16 digits.
    pub initiator_spi: String,
    /// Lowercase hex, 16 digits (zeros until known).
    pub responder_spi: String,
    /// Negotiated transforms (empty until known).
    pub proposal: String,
    /// Seconds since establishment (0 before).
    pub established_seconds: u64,
    /// Seconds until the scheduled rekey (0: none scheduled).
    pub rekey_seconds: u64,
    /// The Child SAs.
    pub child_sas: Vec<ChildSaStatus>,
}

/// One Child SA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSaStatus {
    /// Child name.
    pub name: String,
    /// INSTALLING, INSTALLED, REKEYING or DELETING.
    pub state: String,
    /// Our inbound SPI, lowercase hex, 8 digits.
    pub spi_in: String,
    /// Our outbound SPI.
    pub spi_out: String,
    /// Our traffic selectors.
    pub local_ts: Vec<String>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<String>,
    /// tunnel or transport.
    pub mode: String,
    /// Negotiated ESP transforms.
    pub proposal: String,
    /// Bytes received (the kernel's count of this SA; 0 with `kernel = "none"`).
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Packets received.
    #[serde(default)]
    pub packets_in: u64,
    /// Packets sent.
    #[serde(default)]
    pub packets_out: u64,
    /// Seconds since the kernel last used the SA (its XFRM `use_time`); `null`: never used, or
    /// `kernel = "none"`.
    #[serde(default)]
    pub last_use_seconds: Option<u64>,
    /// Seconds until the scheduled rekey (0: none scheduled).
    #[serde(default)]
    pub rekey_seconds: u64,
    /// Seconds until the hard lifetime ends and the SA is deleted (0: no limit).
    #[serde(default)]
    pub expire_seconds: u64,
    /// Bytes received by every SA of this child of the connection: the live ones and all that
    /// rekeys and deletes replaced since the daemon started.
    #[serde(default)]
    pub total_bytes_in: u64,
    /// Bytes sent, likewise.
    #[serde(default)]
    pub total_bytes_out: u64,
    /// Packets received, likewise.
    #[serde(default)]
    pub total_packets_in: u64,
    /// Packets sent, likewise.
    #[serde(default)]
    pub total_packets_out: u64,
}

impl Status {
    /// The compact human table of `ike status`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.ike_sas.is_empty() {
            out.push_str("no IKE SAs\n");
            return out;
        }
        for sa in &self.ike_sas {
            let _ = writeln!(
                out,
                "{}: IKEv{} {} {} ({}) === {} ({}) {}_i {}_r",
                sa.name,
                sa.version,
                sa.state,
                sa.local_addr,
                sa.local_id,
                sa.remote_addr,
                if sa.remote_id.is_empty() {
                    "?"
                } else {
                    &sa.remote_id
                },
                sa.initiator_spi,
                sa.responder_spi,
            );
            if !sa.proposal.is_empty() {
                let _ = writeln!(
                    out,
                    "  {} established {}s ago, rekey in {}s",
                    sa.proposal, sa.established_seconds, sa.rekey_seconds
                );
            }
            for c in &sa.child_sas {
                let _ = writeln!(
                    out,
                    "  {}: {} {} {} in {} out {} ({}/{} bytes) {} === {}",
                    c.name,
                    c.state,
                    c.mode.to_uppercase(),
                    c.proposal,
                    c.spi_in,
                    c.spi_out,
                    c.bytes_in,
                    c.bytes_out,
                    c.local_ts.join(","),
                    c.remote_ts.join(","),
                );
                let used = match c.last_use_seconds {
                    Some(s) => format!("last use {s}s ago"),
                    None => "not used".to_owned(),
                };
                let timers = match (c.rekey_seconds, c.expire_seconds) {
                    (0, 0) => String::new(),
                    (r, 0) => format!(", rekey in {r}s"),
                    (0, e) => format!(", expires in {e}s"),
                    (r, e) => format!(", rekey in {r}s, expires in {e}s"),
                };
                let _ = writeln!(
                    out,
                    "    {}/{} packets, {used}{timers}; child total {}/{} bytes, {}/{} packets",
                    c.packets_in,
                    c.packets_out,
                    c.total_bytes_in,
                    c.total_bytes_out,
                    c.total_packets_in,
                    c.total_packets_out,
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::Up { name: "a".into() },
            Request::Down { name: "b".into() },
            Request::Status,
            Request::StatusStream,
        ] {
            let line = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Request::Status).unwrap(),
            r#"{"cmd":"status"}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::StatusStream).unwrap(),
            r#"{"cmd":"status_stream"}"#
        );
    }

    #[test]
    fn empty_status_renders() {
        assert_eq!(Status::default().render(), "no IKE SAs\n");
        assert_eq!(
            serde_json::to_string(&Status::default()).unwrap(),
            r#"{"ike_sas":[]}"#
        );
    }
}
