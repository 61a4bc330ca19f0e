//! `ike-load`: a load generator for benchmarks (`bench/handshakes.sh`). It runs the IKEv2 engine
//! as an initiator on real UDP sockets and sets up `--count` IKE SAs with one responder, at
//! most `--in-flight` at a time, deleting none of them: the responder keeps every SA, so its
//! memory per SA can be read afterwards.
//!
//! By default the IKE SAs are childless (RFC 6023: IKE_SA_INIT and IKE_AUTH with a PSK, no
//! Child SA), which keeps the kernel out of the measurement; `--child` asks for a Child SA in
//! each IKE_AUTH instead. The first IKE SA is set up alone: it carries INITIAL_CONTACT (the
//! engine sends it when it holds no other SA of the connection), which would make the responder
//! delete SAs of the same identities that were completed before it.
//!
//! Each `--local` address gets UDP 500 and 4500 (for a responder that floats to 4500); SAs are
//! spread over the addresses in turn. One receive thread per socket hands datagrams to the
//! engine's thread. Progress goes to stderr; at the end one JSON object goes to stdout:
//! `established`, `failed` (with `failures` by reason), `children`, `child_failed`,
//! `closed_after_established`, `cookies` (IKE_SA_INIT responses that demanded a cookie: each
//! costs a round trip, so a comparison wants none), `elapsed_s` (first initiation to last answer) and `rate`
//! (established SAs per second of `elapsed_s`). The exit status is 0 when every SA was
//! established (and, with `--child`, every Child SA installed), 1 otherwise, 2 on a setup error.
//! The process exits without deleting anything.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashSet};
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
use ike_wire::v2::{ExchangeType, Message, NotifyType, Payload};
use serde_json::json;

/// Sets up many IKE SAs with one responder and reports how many were established, how fast.
#[derive(Parser, Debug)]
#[command(name = "ike-load", version)]
struct Args {
    /// Our addresses (UDP 500 and 4500 are bound on each), comma-separated; SAs use them in turn.
    #[arg(long, value_delimiter = ',', required = true)]
    local: Vec<IpAddr>,
    /// The responder's address.
    #[arg(long)]
    remote: IpAddr,
    /// Our identity (strongSwan syntax).
    #[arg(long)]
    local_id: String,
    /// The identity the responder must prove.
    #[arg(long)]
    remote_id: String,
    /// The pre-shared key (both directions).
    #[arg(long)]
    psk: String,
    /// IKE proposals in strongSwan syntax, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "aes128gcm16-prfsha256-x25519"
    )]
    ike_proposal: Vec<String>,
    /// How many IKE SAs to set up.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// At most this many IKE SAs being set up at once (the responder's half-open count).
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// Ask for a Child SA in each IKE_AUTH (otherwise the IKE SAs are childless, RFC 6023).
    #[arg(long)]
    child: bool,
    /// IKEv1: Main Mode, then a Quick Mode for the Child SA (which `--child` must ask for).
    #[arg(long)]
    ikev1: bool,
    /// ESP proposals of the Child SA, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "aes128gcm16")]
    esp_proposal: Vec<String>,
    /// Our traffic selector for the Child SA (CIDR).
    #[arg(long, default_value = "10.88.1.0/24")]
    local_ts: String,
    /// The responder's traffic selector for the Child SA (CIDR).
    #[arg(long, default_value = "10.88.2.0/24")]
    remote_ts: String,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    timeout: f64,
    /// Rekey each Child SA this often (our `rekey_time`, less the engine's jitter); with
    /// `--hold`, to measure the responder's rekeys.
    #[arg(long, value_name = "SECS")]
    child_rekey: Option<u64>,
    /// Once every SA is up, keep running (answering, rekeying) for this many seconds before
    /// the summary.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    hold: u64,
}

/// Where a receive thread found a datagram.
struct Datagram {
    local: SocketAddr,
    from: SocketAddr,
    data: Vec<u8>,
}

#[derive(Default)]
struct Counts {
    started: usize,
    established: usize,
    failed: usize,
    children: usize,
    child_failed: usize,
    closed_after_established: usize,
    /// IKE_SA_INIT responses that demanded a cookie (RFC 7296 §2.6).
    cookies: usize,
    /// Child SAs installed by rekeys (installs beyond the first of each IKE SA).
    child_rekeys: usize,
    failures: BTreeMap<String, usize>,
    child_failures: BTreeMap<String, usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ike-load: {e:#}");
            ExitCode::from(2)
        }
    }
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
    if ike.is_empty() {
        bail!("at least one IKE proposal is needed");
    }
    if a.ikev1 && !a.child {
        bail!("IKEv1 has no childless ISAKMP SAs here: --ikev1 needs --child");
    }
    let children = if a.child {
        let esp = parse_list(&a.esp_proposal, "ESP proposal", |s| {
            Proposal::parse_esp(s).ok()
        })?;
        if esp.is_empty() {
            bail!("at least one ESP proposal is needed with --child");
        }
        vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr(&a.local_ts).context("bad --local-ts")?],
            remote_ts: vec![Ts::cidr(&a.remote_ts).context("bad --remote-ts")?],
            esp_proposals: esp,
            ah_proposals: Vec::new(),
            mode: Mode::Tunnel,
            rekey_time: a.child_rekey.map(Duration::from_secs),
            life_time: None,
        }]
    } else {
        Vec::new()
    };
    let psk = Secret::from_slice(a.psk.as_bytes());
    Ok(PeerConfig {
        name: "load".into(),
        remote_addrs: vec![a.remote],
        local_id: Identity::parse(&a.local_id),
        remote_id: Identity::parse(&a.remote_id),
        local_auth: AuthMethod::Psk(psk.clone()),
        remote_auth: AuthMethod::Psk(psk),
        ike_proposals: ike,
        children,
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: if a.ikev1 {
            ike_proto::config::IkeVersion::V1
        } else {
            ike_proto::config::IkeVersion::V2
        },
        exchange: Default::default(),
    })
}

/// Binds `addr:port` and starts a thread that passes every datagram to `tx` (the non-ESP
/// marker stripped on 4500; keepalives and ESP dropped). Returns the socket for sending.
fn listen(addr: IpAddr, port: u16, tx: mpsc::Sender<Datagram>) -> anyhow::Result<UdpSocket> {
    let local = SocketAddr::new(addr, port);
    let sock = UdpSocket::bind(local).with_context(|| format!("binding UDP {local}"))?;
    let rx_sock = sock.try_clone()?;
    std::thread::Builder::new()
        .name(format!("rx-{local}"))
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                let (n, from) = match rx_sock.recv_from(&mut buf) {
                    Ok(r) => r,
                    // ICMP errors (port unreachable) and interrupted calls: go on
                    Err(_) => continue,
                };
                let data = buf.get(..n).unwrap_or_default();
                let ike = if port == NAT_T_PORT {
                    if data == NAT_KEEPALIVE {
                        continue;
                    }
                    match data.strip_prefix(&NON_ESP_MARKER[..]) {
                        Some(rest) => rest,
                        None => continue, // ESP: nothing to do with it here
                    }
                } else {
                    data
                };
                let d = Datagram {
                    local,
                    from,
                    data: ike.to_vec(),
                };
                if tx.send(d).is_err() {
                    return;
                }
            }
        })
        .context("starting a receive thread")?;
    Ok(sock)
}

struct Driver {
    ep: Endpoint,
    /// (local address, port) -> socket
    socks: Vec<(SocketAddr, UdpSocket)>,
    /// IKE SAs being set up.
    pending: HashSet<SaHandle>,
    /// Established IKE SAs.
    up: HashSet<SaHandle>,
    /// IKE SAs whose first Child SA is installed.
    with_child: HashSet<SaHandle>,
    counts: Counts,
    send_errors: u64,
}

impl Driver {
    fn flush(&mut self) {
        while let Some(t) = self.ep.poll_transmit() {
            let Some((_, sock)) = self.socks.iter().find(|(a, _)| *a == t.local) else {
                self.send_errors += 1;
                continue;
            };
            if sock.send_to(&t.datagram(), t.remote).is_err() {
                self.send_errors += 1;
            }
        }
        while let Some(e) = self.ep.poll_event() {
            self.event(e);
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::IkeSaEstablished { sa, .. } => self.established(sa),
            Event::ChildSaInstall(c) => {
                if self.with_child.insert(c.sa) {
                    self.counts.children += 1;
                } else {
                    self.counts.child_rekeys += 1;
                }
            }
            Event::IkeSaRekeyed { old, new, .. } => {
                if self.with_child.remove(&old) {
                    self.with_child.insert(new);
                }
                if self.up.remove(&old) {
                    self.up.insert(new);
                }
            }
            Event::ChildSaFailed { reason, .. } => {
                self.counts.child_failed += 1;
                *self
                    .counts
                    .child_failures
                    .entry(reason.to_string())
                    .or_default() += 1;
            }
            Event::IkeSaClosed { sa, reason, .. } => {
                if self.pending.remove(&sa) {
                    self.counts.failed += 1;
                    *self
                        .counts
                        .failures
                        .entry(format!("{reason:?}"))
                        .or_default() += 1;
                } else if self.up.remove(&sa) {
                    self.counts.closed_after_established += 1;
                }
            }
            _ => {}
        }
    }

    fn established(&mut self, sa: SaHandle) {
        if self.pending.remove(&sa) {
            self.up.insert(sa);
            self.counts.established += 1;
        }
    }

    fn initiate(&mut self, now: Instant, local: IpAddr) {
        self.counts.started += 1;
        match self.ep.initiate(now, SocketAddr::new(local, 500), "load") {
            Ok(h) => {
                self.pending.insert(h);
            }
            Err(e) => {
                self.counts.failed += 1;
                *self
                    .counts
                    .failures
                    .entry(format!("initiate: {e}"))
                    .or_default() += 1;
            }
        }
    }
}

/// Whether a datagram is an IKE_SA_INIT response with a COOKIE notify.
fn is_cookie_demand(data: &[u8]) -> bool {
    let Ok(m) = Message::decode(data) else {
        return false;
    };
    m.header.exchange == ExchangeType::IkeSaInit
        && m.header.flags.response()
        && m.payloads
            .iter()
            .any(|p| matches!(p, Payload::Notify(n) if n.notify_type == NotifyType::Cookie))
}

fn set_time(ep: &mut Endpoint) {
    if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
        ep.set_unix_time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    }
}

fn run(args: &Args) -> anyhow::Result<bool> {
    if args.count == 0 || args.in_flight == 0 {
        bail!("--count and --in-flight must be at least 1");
    }
    let timeout = Duration::try_from_secs_f64(args.timeout).context("bad --timeout")?;
    let peer = peer_config(args)?;
    let mut ep = Endpoint::new(
        EndpointConfig::default(),
        vec![peer],
        Box::new(SystemRng::new()),
    )?;
    set_time(&mut ep);
    let (tx, rx) = mpsc::channel();
    let mut socks = Vec::new();
    for &addr in &args.local {
        for port in [500, NAT_T_PORT] {
            let s = listen(addr, port, tx.clone())?;
            socks.push((SocketAddr::new(addr, port), s));
        }
    }
    drop(tx);
    let mut d = Driver {
        ep,
        socks,
        pending: HashSet::new(),
        up: HashSet::new(),
        with_child: HashSet::new(),
        counts: Counts::default(),
        send_errors: 0,
    };
    let start = Instant::now();
    let deadline = start + timeout;
    let mut last_answer = start;
    let mut last_report = start;
    let mut last_clock = start;
    let mut timed_out = false;
    let mut all_up: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let c = &d.counts;
        // IKEv1's Child SA comes in a Quick Mode after the ISAKMP SA: wait for it too.
        let children_pending = args.ikev1 && c.children + c.child_failed < c.established;
        if c.established + c.failed >= args.count && !children_pending {
            let since = *all_up.get_or_insert(now);
            if now.duration_since(since) >= Duration::from_secs(args.hold) {
                break;
            }
        }
        if all_up.is_none() && now >= deadline {
            timed_out = true;
            break;
        }
        // The first SA alone (INITIAL_CONTACT), then up to --in-flight at once.
        let limit = if c.established == 0 {
            1
        } else {
            args.in_flight
        };
        while d.pending.len() < limit && d.counts.started < args.count {
            let i = d.counts.started % args.local.len();
            let local = args.local.get(i).copied().unwrap_or(args.remote);
            d.initiate(now, local);
        }
        d.flush();
        let wait =
            d.ep.poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::MAX)
                .min(Duration::from_millis(100))
                .min(deadline.saturating_duration_since(now));
        let mut got = match rx.recv_timeout(wait) {
            Ok(dg) => Some(dg),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("every receive thread ended"),
        };
        while let Some(dg) = got {
            if is_cookie_demand(&dg.data) {
                d.counts.cookies += 1;
            }
            let now = Instant::now();
            d.ep.handle_datagram(now, dg.local, dg.from, &dg.data);
            last_answer = now;
            d.flush();
            got = rx.try_recv().ok();
        }
        let now = Instant::now();
        if d.ep.poll_timeout().is_some_and(|t| t <= now) {
            d.ep.handle_timeout(now);
            d.flush();
        }
        if now.duration_since(last_clock) >= Duration::from_secs(1) {
            set_time(&mut d.ep);
            last_clock = now;
        }
        if now.duration_since(last_report) >= Duration::from_secs(2) {
            last_report = now;
            eprintln!(
                "ike-load: {:.1}s: {} established, {} failed, {} in flight",
                now.duration_since(start).as_secs_f64(),
                d.counts.established,
                d.counts.failed,
                d.pending.len()
            );
        }
    }
    let c = &d.counts;
    let elapsed = all_up
        .unwrap_or(last_answer)
        .min(last_answer)
        .duration_since(start)
        .as_secs_f64();
    let held = all_up.map_or(0.0, |t| {
        last_answer.saturating_duration_since(t).as_secs_f64()
    });
    let rate = if elapsed > 0.0 {
        c.established as f64 / elapsed
    } else {
        0.0
    };
    let summary = json!({
        "count": args.count,
        "in_flight": args.in_flight,
        "child": args.child,
        "established": c.established,
        "failed": c.failed,
        "failures": c.failures,
        "unfinished": d.pending.len(),
        "timed_out": timed_out,
        "children": c.children,
        "child_failed": c.child_failed,
        "child_failures": c.child_failures,
        "closed_after_established": c.closed_after_established,
        "cookies": c.cookies,
        "held_s": (held * 1000.0).round() / 1000.0,
        "child_rekeys": c.child_rekeys,
        "child_rekeys_per_s": if held > 0.0 { (c.child_rekeys as f64 / held).round() } else { 0.0 },
        "send_errors": d.send_errors,
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "rate": rate.round(),
    });
    println!("{summary}");
    let ok = c.established == args.count
        && c.closed_after_established == 0
        && (!args.child || c.children == args.count);
    Ok(ok)
}
