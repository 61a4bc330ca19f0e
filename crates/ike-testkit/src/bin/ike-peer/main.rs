//! `ike-peer`: a minimal, test-only driver that runs the IKEv2 engine on real UDP sockets, for
//! interoperability tests against other implementations (`tests/interop/`).
//!
//! It binds UDP 500 and 4500 on `--local`, feeds every IKE datagram to
//! [`Endpoint::handle_datagram`] (the non-ESP marker stripped on 4500; NAT keepalives dropped),
//! runs the engine's timers, sends what the engine emits, and prints every engine event as one
//! JSON object per line on stdout (never any key). Nothing is installed in the kernel, but ESP in
//! UDP that arrives on 4500 is checked with the Child SA keys the engine derived (`esp_in`
//! events: ICV verified, decrypted), and an ICMP echo request or UDP echo (port 7) inside is
//! answered through the tunnel (`esp_out`), so an echo from the peer's side proves both
//! directions' keys (`esp.rs`). Optional commands fire a fixed time after the first IKE SA is established: Child SA
//! rekey, IKE SA rekey, Child SA delete, IKE SA delete. The same commands can also be given one
//! per line on stdin (`initiate`, `rekey-child`, `rekey-ike`, `delete-child`, `delete`,
//! `exit`), so that a test script triggers them when it is ready. It always exits after
//! `--exit-after` seconds; diagnostics go to stderr.
#![forbid(unsafe_code)]

mod esp;

use std::io::{ErrorKind, Write as _};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;
use ike_crypto::rng::SystemRng;
use ike_crypto::Secret;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{
    AuthMethod, ChildConfig, DpdAction, Endpoint, EndpointConfig, Event, Identity, Mode,
    PeerConfig, SaHandle, Ts, NAT_KEEPALIVE, NAT_T_PORT, NON_ESP_MARKER,
};
use serde_json::{json, Value};

/// Runs one IKEv2 connection on UDP 500/4500 and prints the engine's events as JSON lines.
#[derive(Parser, Debug)]
#[command(name = "ike-peer", version)]
struct Args {
    /// Our address (UDP 500 and 4500 are bound on it).
    #[arg(long)]
    local: IpAddr,
    /// The peer's address.
    #[arg(long)]
    remote: IpAddr,
    /// Our identity (strongSwan syntax: address, FQDN, user@domain, @#hex).
    #[arg(long)]
    local_id: String,
    /// The identity the peer must prove.
    #[arg(long)]
    remote_id: String,
    /// The pre-shared key (both directions).
    #[arg(long)]
    psk: String,
    /// IKE proposals in strongSwan syntax, comma-separated or repeated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "aes128gcm16-prfsha256-x25519"
    )]
    ike_proposal: Vec<String>,
    /// ESP proposals in strongSwan syntax, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', default_value = "aes128gcm16")]
    esp_proposal: Vec<String>,
    /// Our traffic selectors (CIDR), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    local_ts: Vec<String>,
    /// The peer's traffic selectors (CIDR), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    remote_ts: Vec<String>,
    /// Initiate the connection at start (otherwise only respond).
    #[arg(long)]
    initiate: bool,
    /// Rekey the newest Child SA this many seconds after the first IKE SA is established.
    #[arg(long, value_name = "SECS")]
    rekey_child_after: Option<f64>,
    /// Rekey the IKE SA this many seconds after the first IKE SA is established.
    #[arg(long, value_name = "SECS")]
    rekey_ike_after: Option<f64>,
    /// Delete the newest Child SA (not the IKE SA) this many seconds after establishment.
    #[arg(long, value_name = "SECS")]
    delete_child_after: Option<f64>,
    /// Delete the IKE SA this many seconds after the first IKE SA is established.
    #[arg(long, value_name = "SECS")]
    delete_after: Option<f64>,
    /// Exit after this many seconds, whatever happens.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    exit_after: f64,
    /// Exit this many seconds after the last IKE SA closed (once one was established).
    #[arg(long, value_name = "SECS")]
    exit_when_closed: Option<f64>,
    /// Force UDP encapsulation (strongSwan's `encap = yes`).
    #[arg(long)]
    encap: bool,
    /// Transport mode instead of tunnel mode.
    #[arg(long)]
    transport: bool,
    /// The connection's name.
    #[arg(long, default_value = "peer")]
    name: String,
    /// The child's name.
    #[arg(long, default_value = "net")]
    child: String,
    /// Log every datagram (direction, ports, exchange, length) to stderr.
    #[arg(long, short)]
    verbose: bool,
}

/// A command scheduled relative to the first establishment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Initiate,
    RekeyChild,
    RekeyIke,
    DeleteChild,
    DeleteIke,
    Exit,
}

impl Action {
    const ALL: [Action; 6] = [
        Action::Initiate,
        Action::RekeyChild,
        Action::RekeyIke,
        Action::DeleteChild,
        Action::DeleteIke,
        Action::Exit,
    ];

    fn name(self) -> &'static str {
        match self {
            Action::Initiate => "initiate",
            Action::RekeyChild => "rekey-child",
            Action::RekeyIke => "rekey-ike",
            Action::DeleteChild => "delete-child",
            Action::DeleteIke => "delete",
            Action::Exit => "exit",
        }
    }
}

/// Reads commands from stdin, one per line, on a thread of its own; ends at EOF.
fn stdin_commands() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                break;
            }
        }
    });
    rx
}

struct Driver {
    args: Args,
    ep: Endpoint,
    sock500: UdpSocket,
    sock4500: UdpSocket,
    start: Instant,
    /// The IKE SA commands go to (follows rekeys).
    current: Option<SaHandle>,
    /// Live IKE SAs.
    live: Vec<SaHandle>,
    established_at: Option<Instant>,
    closed_at: Option<Instant>,
    /// Installed Child SAs: (IKE SA, inbound SPI), oldest first.
    children: Vec<(SaHandle, u32)>,
    pending: Vec<(Duration, Action)>,
    commands: mpsc::Receiver<String>,
    esp: esp::Esp,
    /// For ESP padding IVs (CBC).
    rng: SystemRng,
    esp_dropped: u64,
    keepalives_dropped: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ike-peer: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn secs(s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("bad duration {s}"))
}

fn parse_list<T>(
    items: &[String],
    what: &str,
    f: impl Fn(&str) -> Option<T>,
) -> anyhow::Result<Vec<T>> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| f(s).with_context(|| format!("bad {what} {s:?}")))
        .collect()
}

fn peer_config(a: &Args) -> anyhow::Result<PeerConfig> {
    let ike = parse_list(&a.ike_proposal, "IKE proposal", |s| {
        Proposal::parse_ike(s).ok()
    })?;
    let esp = parse_list(&a.esp_proposal, "ESP proposal", |s| {
        Proposal::parse_esp(s).ok()
    })?;
    let local_ts = parse_list(&a.local_ts, "traffic selector", Ts::cidr)?;
    let remote_ts = parse_list(&a.remote_ts, "traffic selector", Ts::cidr)?;
    if ike.is_empty() || esp.is_empty() {
        bail!("at least one IKE and one ESP proposal are needed");
    }
    let psk = Secret::from_slice(a.psk.as_bytes());
    Ok(PeerConfig {
        name: a.name.clone(),
        remote_addrs: vec![a.remote],
        local_id: Identity::parse(&a.local_id),
        remote_id: Identity::parse(&a.remote_id),
        local_auth: AuthMethod::Psk(psk.clone()),
        remote_auth: AuthMethod::Psk(psk),
        ike_proposals: ike,
        children: vec![ChildConfig {
            name: a.child.clone(),
            local_ts,
            remote_ts,
            ah_proposals: Vec::new(),
            esp_proposals: esp,
            mode: if a.transport {
                Mode::Transport
            } else {
                Mode::Tunnel
            },
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: a.encap,
        life_time: None,
        version: ike_proto::config::IkeVersion::V2,
        exchange: Default::default(),
    })
}

fn bind(addr: IpAddr, port: u16) -> anyhow::Result<UdpSocket> {
    let s = UdpSocket::bind(SocketAddr::new(addr, port))
        .with_context(|| format!("binding UDP {addr} port {port}"))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn run(args: Args) -> anyhow::Result<()> {
    let peer = peer_config(&args)?;
    let mut pending = Vec::new();
    for (opt, action) in [
        (args.rekey_child_after, Action::RekeyChild),
        (args.rekey_ike_after, Action::RekeyIke),
        (args.delete_child_after, Action::DeleteChild),
        (args.delete_after, Action::DeleteIke),
    ] {
        if let Some(s) = opt {
            pending.push((secs(s)?, action));
        }
    }
    pending.sort_by_key(|(d, _)| *d);
    let ep = Endpoint::new(
        EndpointConfig::default(),
        vec![peer],
        Box::new(SystemRng::new()),
    )?;
    let sock500 = bind(args.local, 500)?;
    let sock4500 = bind(args.local, NAT_T_PORT)?;
    let mut d = Driver {
        ep,
        sock500,
        sock4500,
        start: Instant::now(),
        current: None,
        live: Vec::new(),
        established_at: None,
        closed_at: None,
        children: Vec::new(),
        pending,
        commands: stdin_commands(),
        esp: esp::Esp::default(),
        rng: SystemRng::new(),
        esp_dropped: 0,
        keepalives_dropped: 0,
        args,
    };
    d.run()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn spi32(s: u32) -> String {
    format!("{s:08x}")
}

/// Selectors as strongSwan prints them: `10.88.1.0/24` for a subnet with any protocol and
/// port, the engine's range form otherwise.
fn ts_list(ts: &[Ts]) -> Vec<String> {
    ts.iter().map(ts_text).collect()
}

fn ts_text(t: &Ts) -> String {
    let any = t.protocol == 0 && t.start_port == 0 && t.end_port == u16::MAX;
    let prefix = match (t.start, t.end) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            prefix_len(u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => prefix_len(u128::from(a), u128::from(b), 128),
        _ => None,
    };
    match prefix {
        Some(len) if any => format!("{}/{len}", t.start),
        _ => t.to_string(),
    }
}

/// The prefix length of the range `start..=end` of `bits`-bit addresses, if it is a subnet.
fn prefix_len(start: u128, end: u128, bits: u32) -> Option<u32> {
    let host = start ^ end;
    // host bits must be a run of ones at the bottom, zero in start and one in end
    if host & host.wrapping_add(1) != 0 || start & host != 0 {
        return None;
    }
    Some(bits - (128 - host.leading_zeros()))
}

/// Exchange name and flags of an IKE message, for `--verbose`.
fn describe(data: &[u8]) -> String {
    match ike_wire::v2::Message::decode(data) {
        Ok(m) => {
            let h = m.header;
            format!(
                "{} {} mid={} spi_i={} spi_r={}",
                h.exchange,
                if h.flags.response() {
                    "response"
                } else {
                    "request"
                },
                h.message_id,
                hex(&h.spi_i),
                hex(&h.spi_r)
            )
        }
        Err(e) => format!("undecodable ({e})"),
    }
}

impl Driver {
    fn elapsed(&self) -> f64 {
        (self.start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    }

    fn emit(&self, event: &str, mut fields: Value) {
        if let Value::Object(map) = &mut fields {
            map.insert("t".into(), json!(self.elapsed()));
            map.insert("event".into(), json!(event));
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the engine: ignore write errors.
        let _ = writeln!(out, "{fields}");
        let _ = out.flush();
    }

    fn run(&mut self) -> anyhow::Result<()> {
        let deadline = self.start + secs(self.args.exit_after)?;
        self.emit(
            "start",
            json!({
                "local": self.args.local.to_string(),
                "remote": self.args.remote.to_string(),
                "pid": std::process::id(),
            }),
        );
        self.set_time();
        if self.args.initiate {
            self.do_action(Instant::now(), Action::Initiate);
        }
        let mut buf = vec![0u8; 65536];
        let mut last_clock = Instant::now();
        loop {
            let now = Instant::now();
            if now >= deadline {
                self.exit("exit_after");
                return Ok(());
            }
            while let Ok(line) = self.commands.try_recv() {
                if line.is_empty() {
                    continue;
                }
                match Action::ALL.iter().find(|a| a.name() == line) {
                    Some(Action::Exit) => {
                        self.exit("command");
                        return Ok(());
                    }
                    Some(&a) => self.do_action(now, a),
                    None => self.emit(
                        "command_error",
                        json!({"command": line, "error": "unknown command"}),
                    ),
                }
            }
            if let (Some(closed), Some(s)) = (self.closed_at, self.args.exit_when_closed) {
                if self.live.is_empty() && now >= closed + secs(s)? {
                    self.exit("closed");
                    return Ok(());
                }
            }
            if now.duration_since(last_clock) >= Duration::from_secs(1) {
                self.set_time();
                last_clock = now;
            }
            let mut busy = self.receive(&mut buf, 500)?;
            busy |= self.receive(&mut buf, NAT_T_PORT)?;
            let now = Instant::now();
            if self.ep.poll_timeout().is_some_and(|t| t <= now) {
                self.ep.handle_timeout(now);
                busy = true;
            }
            self.run_actions(now);
            self.flush()?;
            if !busy {
                // Sleep until the engine's next timer, but at most 5 ms (the sockets are
                // polled, not waited on).
                let nap = self
                    .ep
                    .poll_timeout()
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::MAX)
                    .min(Duration::from_millis(5));
                std::thread::sleep(nap);
            }
        }
    }

    fn set_time(&mut self) {
        if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
            self.ep
                .set_unix_time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        }
    }

    /// Reads every datagram waiting on one port; whether any arrived.
    fn receive(&mut self, buf: &mut [u8], port: u16) -> anyhow::Result<bool> {
        let mut any = false;
        loop {
            let sock = if port == 500 {
                &self.sock500
            } else {
                &self.sock4500
            };
            let (n, from) = match sock.recv_from(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(any),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ICMP port unreachable surfaces as ConnectionRefused on Linux: not fatal.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e).context("recv_from"),
            };
            any = true;
            let data = buf.get(..n).unwrap_or_default();
            let local = SocketAddr::new(self.args.local, port);
            let ike = if port == NAT_T_PORT {
                if data == NAT_KEEPALIVE {
                    self.keepalives_dropped += 1;
                    if self.args.verbose {
                        eprintln!("rx {from} -> {local}: NAT keepalive, dropped");
                    }
                    continue;
                }
                match data.strip_prefix(&NON_ESP_MARKER[..]) {
                    Some(rest) => rest,
                    None => {
                        if self.args.verbose {
                            eprintln!("rx {from} -> {local}: ESP ({n} bytes)");
                        }
                        let packet = data.to_vec();
                        self.esp_in(&packet, from);
                        continue;
                    }
                }
            } else {
                data
            };
            if self.args.verbose {
                eprintln!("rx {from} -> {local}: {} ({n} bytes)", describe(ike));
            }
            let ike = ike.to_vec();
            self.ep.handle_datagram(Instant::now(), local, from, &ike);
            self.flush()?;
        }
    }

    /// Sends every pending datagram and prints every pending event.
    fn flush(&mut self) -> anyhow::Result<()> {
        while let Some(t) = self.ep.poll_transmit() {
            let sock = if t.local.port() == NAT_T_PORT {
                &self.sock4500
            } else {
                &self.sock500
            };
            if self.args.verbose {
                let what = if t.payload == NAT_KEEPALIVE {
                    "NAT keepalive".to_owned()
                } else {
                    describe(&t.payload)
                };
                eprintln!(
                    "tx {} -> {}: {what} ({} bytes{})",
                    t.local,
                    t.remote,
                    t.payload.len(),
                    if t.non_esp_marker { ", marker" } else { "" }
                );
            }
            if let Err(e) = sock.send_to(&t.datagram(), t.remote) {
                eprintln!("ike-peer: send to {} failed: {e}", t.remote);
            }
        }
        while let Some(e) = self.ep.poll_event() {
            self.event(e);
        }
        Ok(())
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::IkeSaEstablished {
                sa,
                connection,
                initiator,
                spi_i,
                spi_r,
                local_id,
                remote_id,
                proposal,
                remote_auth,
                ..
            } => {
                self.live.push(sa);
                self.current = Some(sa);
                if self.established_at.is_none() {
                    self.established_at = Some(Instant::now());
                }
                self.emit(
                    "ike_sa_established",
                    json!({
                        "sa": sa.0,
                        "connection": connection,
                        "initiator": initiator,
                        "spi_i": hex(&spi_i),
                        "spi_r": hex(&spi_r),
                        "local_id": local_id.to_string(),
                        "remote_id": remote_id.to_string(),
                        "proposal": proposal,
                        "remote_auth": remote_auth.map(|a| format!("{:?}", a.method)),
                    }),
                );
            }
            Event::ChildSaInstall(c) => {
                self.children.push((c.sa, c.spi_in));
                if let Err(e) = self.esp.install(&c) {
                    eprintln!("ike-peer: cannot prepare ESP for SPI {:08x}: {e}", c.spi_in);
                }
                self.emit(
                    "child_sa_install",
                    json!({
                        "sa": c.sa.0,
                        "connection": c.connection,
                        "child": c.child,
                        "spi_in": spi32(c.spi_in),
                        "spi_out": spi32(c.spi_out),
                        "proposal": c.proposal,
                        "local_ts": ts_list(&c.local_ts),
                        "remote_ts": ts_list(&c.remote_ts),
                        "mode": match c.mode { Mode::Tunnel => "tunnel", Mode::Transport => "transport" },
                        "local": c.local.to_string(),
                        "remote": c.remote.to_string(),
                        "encap": c.encap.is_some(),
                    }),
                );
            }
            Event::ChildSaFailed {
                sa, child, reason, ..
            } => self.emit(
                "child_sa_failed",
                json!({"sa": sa.0, "child": child, "reason": reason.to_string()}),
            ),
            Event::ChildSaDelete {
                sa,
                child,
                spi_in,
                spi_out,
                ..
            } => {
                self.children.retain(|&(_, s)| s != spi_in);
                self.esp.remove(spi_in, spi_out);
                self.emit(
                    "child_sa_delete",
                    json!({"sa": sa.0, "child": child, "spi_in": spi32(spi_in), "spi_out": spi32(spi_out)}),
                );
            }
            Event::IkeSaRekeyed {
                old,
                new,
                spi_i,
                spi_r,
            } => {
                self.live.push(new);
                if self.current == Some(old) {
                    self.current = Some(new);
                }
                // The Child SAs moved to the new IKE SA.
                for c in &mut self.children {
                    if c.0 == old {
                        c.0 = new;
                    }
                }
                self.emit(
                    "ike_sa_rekeyed",
                    json!({"old": old.0, "new": new.0, "spi_i": hex(&spi_i), "spi_r": hex(&spi_r)}),
                );
            }
            Event::IkeSaClosed {
                sa,
                connection,
                reason,
                ..
            } => {
                self.live.retain(|&h| h != sa);
                if self.current == Some(sa) {
                    self.current = None;
                }
                self.children.retain(|&(h, _)| h != sa);
                if self.live.is_empty() {
                    self.closed_at = Some(Instant::now());
                }
                self.emit(
                    "ike_sa_closed",
                    json!({"sa": sa.0, "connection": connection, "reason": format!("{reason:?}")}),
                );
            }
            Event::AddressChanged { sa, local, remote } => self.emit(
                "address_changed",
                json!({"sa": sa.0, "local": local.to_string(), "remote": remote.to_string()}),
            ),
            Event::TrapInstall { sa, connection } => self.emit(
                "trap_install",
                json!({"sa": sa.0, "connection": connection}),
            ),
            other => self.emit(
                "other",
                json!({"debug": format!("{other:?}").chars().take(200).collect::<String>()}),
            ),
        }
    }

    /// Checks an ESP packet from the peer; answers an echo request through the tunnel.
    fn esp_in(&mut self, packet: &[u8], from: SocketAddr) {
        let opened = match self.esp.open(packet) {
            Ok(o) => o,
            Err(e) => {
                self.esp_dropped += 1;
                let spi = packet.get(..4).map(hex);
                self.emit("esp_in", json!({"spi": spi, "ok": false, "error": e}));
                return;
            }
        };
        let inner = if opened.next_header == 4 {
            esp::describe_ipv4(&opened.inner)
        } else {
            format!("next header {}", opened.next_header)
        };
        self.emit(
            "esp_in",
            json!({"spi": spi32(opened.spi), "seq": opened.seq, "ok": true, "inner": inner}),
        );
        if opened.next_header != 4 {
            return;
        }
        let Some(reply) = esp::echo_reply(&opened.inner) else {
            return;
        };
        let Some(spi_out) = self.esp.paired(opened.spi) else {
            return;
        };
        match self.esp.seal(spi_out, 4, &reply, &mut self.rng) {
            Ok((seq, out)) => {
                if let Err(e) = self.sock4500.send_to(&out, from) {
                    eprintln!("ike-peer: ESP send to {from} failed: {e}");
                }
                self.emit(
                    "esp_out",
                    json!({"spi": spi32(spi_out), "seq": seq, "inner": esp::describe_ipv4(&reply)}),
                );
            }
            Err(e) => self.emit(
                "esp_out",
                json!({"spi": spi32(spi_out), "ok": false, "error": e}),
            ),
        }
    }

    fn exit(&self, reason: &str) {
        self.emit(
            "exit",
            json!({
                "reason": reason,
                "esp_dropped": self.esp_dropped,
                "keepalives_dropped": self.keepalives_dropped,
            }),
        );
    }

    /// The scheduled commands that are due.
    fn run_actions(&mut self, now: Instant) {
        let Some(est) = self.established_at else {
            return;
        };
        while let Some(&(after, action)) = self.pending.first() {
            if now < est + after {
                break;
            }
            self.pending.remove(0);
            self.do_action(now, action);
        }
    }

    fn do_action(&mut self, now: Instant, action: Action) {
        if action == Action::Initiate {
            let local = SocketAddr::new(self.args.local, 500);
            let name = self.args.name.clone();
            match self.ep.initiate(now, local, &name) {
                Ok(h) => self.emit("command", json!({"command": action.name(), "sa": h.0})),
                Err(e) => self.emit(
                    "command_error",
                    json!({"command": action.name(), "error": e.to_string()}),
                ),
            }
            return;
        }
        let Some(sa) = self.current else {
            self.emit(
                "command_error",
                json!({"command": action.name(), "error": "no IKE SA"}),
            );
            return;
        };
        let child = match action {
            Action::RekeyChild | Action::DeleteChild => {
                self.children.iter().rev().find(|c| c.0 == sa).map(|c| c.1)
            }
            _ => None,
        };
        let r = match (action, child) {
            (Action::RekeyChild, Some(spi)) => self.ep.rekey_child(now, sa, spi),
            (Action::DeleteChild, Some(spi)) => self.ep.delete_child(now, sa, spi),
            (Action::RekeyChild | Action::DeleteChild, None) => {
                self.emit(
                    "command_error",
                    json!({"command": action.name(), "error": "no Child SA"}),
                );
                return;
            }
            (Action::RekeyIke, _) => self.ep.rekey_ike(now, sa),
            (Action::DeleteIke, _) => self.ep.delete(now, sa),
            (Action::Initiate | Action::Exit, _) => return,
        };
        match r {
            Ok(()) => self.emit(
                "command",
                json!({"command": action.name(), "sa": sa.0, "spi_in": child.map(spi32)}),
            ),
            Err(e) => self.emit(
                "command_error",
                json!({"command": action.name(), "sa": sa.0, "error": e.to_string()}),
            ),
        }
    }
}
