//! `ike daemon`: the driver of the sans-I/O IKEv2 engine.
//!
//! One task owns the [`Endpoint`], the kernel backend and the table of SAs that `ike status`
//! shows; everything else talks to it through a channel:
//!
//! - one receive task per UDP socket (`port` and `port_nat_t` on each `listen` address, or on
//!   `0.0.0.0` and `[::]` when `listen` is empty). On the NAT-T socket it demultiplexes as RFC
//!   3948 §2.2 says: IKE messages start with the four zero octets of the non-ESP marker, which
//!   are stripped; ESP (a non-zero SPI there) and NAT keepalives (0xFF) are dropped, since no
//!   userspace ESP exists and the kernel backend has not taken the socket over;
//! - the control server (see [`crate::control`]), one task per client;
//! - signals: SIGTERM and SIGINT delete every IKE SA, wait (at most
//!   [`SHUTDOWN_WAIT`]) for the peers' answers and remove the control socket; SIGHUP reloads the
//!   configuration.
//!
//! The engine's timer is a `sleep_until` on [`Endpoint::poll_timeout`]; before every call into
//! the engine the driver tells it the wall-clock time ([`Endpoint::set_unix_time`]).
//!
//! Logs go through `tracing` under the targets `ike` (IKE and Child SA events, with the
//! connection name and SPIs), `kernel` (what the backend installs), `net` (sockets) and
//! `control` (the control socket). Keys are never logged.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use ike_config::{Config, Connection, KernelKind, StartAction};
use ike_kernel::{BackendKind, KernelError, KernelEvent, SaBackend, TrapPolicy};
use ike_proto::v2::{
    CloseReason, DeletingReason, Endpoint, Event, IkeSaState, Mode, SaHandle, Transmit,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UdpSocket, UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::control::{ChildSaStatus, IkeSaStatus, Request, Response, Status, MAX_LINE};

/// How long shutdown waits for the peers to answer our deletes.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// How long the daemon keeps an `up` or `down` client waiting before it answers "timed out"
/// (the engine may still succeed later; clients usually give up sooner).
pub const REQUEST_WAIT: Duration = Duration::from_secs(120);

/// How long a client may take to send its request line.
const READ_REQUEST_WAIT: Duration = Duration::from_secs(10);

/// What `ike daemon` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The configuration file.
    pub config: PathBuf,
    /// The control socket, overriding the configuration's.
    pub socket: Option<PathBuf>,
    /// Write negotiated keys for Wireshark into this directory ([`crate::keylog`]).
    pub keylog: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM or SIGINT. `config` is the already loaded `options.config`.
pub fn run(options: Options, config: Config) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(run_async(options, config))
}

/// One bound UDP socket.
struct Sock {
    bound: SocketAddr,
    socket: Arc<UdpSocket>,
    nat_t: bool,
}

enum Input {
    Datagram {
        sock: usize,
        from: SocketAddr,
        data: Vec<u8>,
    },
    Control(Request, oneshot::Sender<Response>),
    /// What the kernel said (acquire, expire), from the monitor thread.
    Kernel(KernelEvent),
}

/// A `down` waiting for its IKE SAs to close.
struct DownWaiter {
    name: String,
    pending: HashSet<SaHandle>,
    reply: oneshot::Sender<Response>,
}

struct Daemon {
    config_path: PathBuf,
    config: Config,
    endpoint: Endpoint,
    kernel: Box<dyn SaBackend>,
    socks: Vec<Sock>,
    up_waiters: HashMap<SaHandle, Vec<oneshot::Sender<Response>>>,
    down_waiters: Vec<DownWaiter>,
    /// Our source address towards a peer, for datagrams that arrived on a wildcard socket.
    route_cache: HashMap<IpAddr, IpAddr>,
    /// (connection, child) pairs whose trap policies are installed.
    traps: HashSet<(String, String)>,
    /// `--keylog`.
    keylog: Option<crate::keylog::KeyLog>,
}

fn hex8(b: &[u8; 8]) -> String {
    hex::encode(b)
}

fn mode_word(m: Mode) -> &'static str {
    match m {
        Mode::Tunnel => "tunnel",
        Mode::Transport => "transport",
    }
}

fn close_words(r: &CloseReason) -> String {
    match r {
        CloseReason::Deleted => "deleted".into(),
        CloseReason::DeletedByPeer => "deleted by the peer".into(),
        CloseReason::Timeout => "the peer stopped answering".into(),
        CloseReason::HalfOpenExpired => "half-open SA expired".into(),
        CloseReason::PeerError(n) => format!("the peer refused with {n:?}"),
        CloseReason::LocalError(e) => format!("refused: {e}"),
        CloseReason::Rekeyed => "rekeyed".into(),
        CloseReason::Replaced => "replaced (INITIAL_CONTACT)".into(),
        other => format!("{other:?}"),
    }
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// Our source address towards `remote`, as the routing table picks it (a connected UDP socket
/// sends nothing).
fn route_source(remote: IpAddr) -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind(SocketAddr::new(unspecified(remote.is_ipv6()), 0)).ok()?;
    s.connect(SocketAddr::new(remote, 9)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // Separate IPv4 and IPv6 sockets, so that `0.0.0.0` and `[::]` can both be bound.
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

/// The control socket's path: `-s`, else the configuration's.
pub fn control_path(options_socket: Option<&Path>, config: &Config) -> PathBuf {
    options_socket
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.daemon.control_socket.clone())
}

fn bind_control(path: &Path) -> anyhow::Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another daemon answers on the control socket {}",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale control socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the directory {}", dir.display()))?;
        }
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("binding the control socket {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("setting mode 0600 on {}", path.display()))?;
    Ok(listener)
}

async fn run_async(options: Options, config: Config) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};

    let kernel = ike_kernel::backend(match config.daemon.kernel {
        KernelKind::None => BackendKind::None,
        _ => BackendKind::Xfrm,
    })
    .map_err(|e: KernelError| {
        anyhow::anyhow!("kernel backend: {e} (use kernel = \"none\" in [daemon])")
    })?;
    let mut config = config;
    let keylog = match &options.keylog {
        Some(dir) => {
            let k = crate::keylog::KeyLog::open(dir)
                .with_context(|| format!("--keylog {}", dir.display()))?;
            warn!(target: "ike", "writing IKE and ESP keys to {} (--keylog): anyone who reads them can decrypt this host's IPsec traffic", dir.display());
            config.daemon.endpoint.export_keys = true;
            Some(k)
        }
        None => None,
    };
    let mut endpoint = new_endpoint(&config)?;
    match kernel.spi_allocator() {
        Ok(a) => endpoint.set_spi_allocator(a),
        Err(e) => bail!("kernel backend: cannot allocate SPIs: {e}"),
    }

    // Sockets.
    let listen: Vec<IpAddr> = if config.daemon.listen.is_empty() {
        vec![unspecified(false), unspecified(true)]
    } else {
        config.daemon.listen.clone()
    };
    let mut socks = Vec::new();
    for ip in &listen {
        for (port, nat_t) in [
            (config.daemon.port, false),
            (config.daemon.port_nat_t, true),
        ] {
            let addr = SocketAddr::new(*ip, port);
            match bind_udp(addr) {
                Ok(s) => {
                    if config.daemon.kernel != KernelKind::None {
                        kernel_socket_options(&s, addr, nat_t)?;
                    }
                    info!(target: "net", "listening on {addr}/udp");
                    socks.push(Sock {
                        bound: addr,
                        socket: Arc::new(s),
                        nat_t,
                    });
                }
                // A machine without IPv6 still serves IPv4 when `listen` is left to default.
                Err(e) if config.daemon.listen.is_empty() && ip.is_ipv6() => {
                    warn!(target: "net", "cannot bind {addr}/udp: {e}; IPv6 disabled");
                }
                Err(e) => return Err(e).with_context(|| format!("binding {addr}/udp")),
            }
        }
    }

    let socket_path = control_path(options.socket.as_deref(), &config);
    let listener = bind_control(&socket_path)?;
    info!(target: "control", "control socket {}", socket_path.display());

    let (tx, mut rx) = mpsc::channel::<Input>(1024);
    for (i, s) in socks.iter().enumerate() {
        tokio::spawn(receive(i, s.socket.clone(), tx.clone()));
    }
    tokio::spawn(serve_control(listener, tx.clone()));
    if config.daemon.kernel != KernelKind::None {
        spawn_kernel_monitor(tx.clone())?;
    }

    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;

    let mut d = Daemon {
        config_path: options.config.clone(),
        config,
        endpoint,
        kernel,
        socks,
        up_waiters: HashMap::new(),
        down_waiters: Vec::new(),
        route_cache: HashMap::new(),
        traps: HashSet::new(),
        keylog,
    };
    info!(
        target: "ike",
        "ike daemon started with {} ({} connections, kernel backend {})",
        d.config_path.display(),
        d.config.connections.len(),
        d.kernel.name()
    );
    let starts: Vec<String> = d
        .config
        .connections
        .iter()
        .filter(|c| starts_at_load(c))
        .map(|c| c.name.clone())
        .collect();
    for name in starts {
        d.up(&name, None);
    }
    d.install_configured_traps();
    d.flush().await;

    loop {
        let deadline = d.endpoint.poll_timeout();
        tokio::select! {
            input = rx.recv() => match input {
                Some(input) => d.input(input),
                None => break,
            },
            _ = sleep_until(deadline) => {
                d.clock();
                d.endpoint.handle_timeout(Instant::now());
            }
            _ = sigterm.recv() => { info!(target: "ike", "SIGTERM: shutting down"); break; }
            _ = sigint.recv() => { info!(target: "ike", "SIGINT: shutting down"); break; }
            _ = sighup.recv() => d.reload(),
        }
        d.flush().await;
    }

    d.shutdown(&mut rx, &mut sigterm, &mut sigint).await;
    if let Err(e) = std::fs::remove_file(&socket_path) {
        warn!(target: "control", "removing {}: {e}", socket_path.display());
    }
    info!(target: "ike", "ike daemon stopped");
    Ok(())
}

/// The kernel backend's options on an IKE socket: IKE bypasses IPsec policies (ours could
/// cover the IKE traffic itself, in transport mode between the gateways), and the NAT-T
/// socket decapsulates ESP in UDP (RFC 3948) in the kernel.
fn kernel_socket_options(s: &UdpSocket, addr: SocketAddr, nat_t: bool) -> anyhow::Result<()> {
    use std::os::fd::AsFd as _;
    ike_kernel::sockopt::bypass_policies(s.as_fd(), addr.is_ipv6())
        .with_context(|| format!("IPsec bypass policy on {addr}/udp"))?;
    if nat_t {
        ike_kernel::sockopt::enable_udp_encap(s.as_fd())
            .with_context(|| format!("ESP-in-UDP decapsulation on {addr}/udp"))?;
    }
    Ok(())
}

/// A thread that waits for the kernel's acquire and expire notifications and passes them on.
fn spawn_kernel_monitor(tx: mpsc::Sender<Input>) -> anyhow::Result<()> {
    let mut monitor =
        ike_kernel::xfrm::XfrmMonitor::new().map_err(|e| anyhow::anyhow!("kernel monitor: {e}"))?;
    std::thread::Builder::new()
        .name("xfrm-monitor".into())
        .spawn(move || {
            let mut failures = 0u32;
            loop {
                match monitor.wait() {
                    Ok(events) => {
                        failures = 0;
                        for e in events {
                            if tx.blocking_send(Input::Kernel(e)).is_err() {
                                return;
                            }
                        }
                    }
                    // ENOBUFS (the kernel dropped notifications) and the like: log and go on,
                    // but not forever on a broken socket.
                    Err(e) => {
                        failures += 1;
                        warn!(target: "kernel", "kernel notifications: {e}");
                        if failures > 100 {
                            error!(target: "kernel", "kernel notifications: giving up");
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        })
        .context("starting the kernel monitor thread")?;
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending::<()>().await,
    }
}

fn starts_at_load(c: &Connection) -> bool {
    c.children
        .iter()
        .any(|ch| ch.start_action == StartAction::Start)
}

fn new_endpoint(config: &Config) -> anyhow::Result<Endpoint> {
    let peers = config.connections.iter().map(|c| c.peer.clone()).collect();
    Endpoint::new(
        config.daemon.endpoint.clone(),
        peers,
        Box::new(ike_crypto::rng::SystemRng::new()),
    )
    .context("starting the IKEv2 engine")
}

async fn receive(index: usize, socket: Arc<UdpSocket>, tx: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let data = buf.get(..n).unwrap_or_default().to_vec();
                if tx
                    .send(Input::Datagram {
                        sock: index,
                        from,
                        data,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // ICMP errors (port unreachable) surface here on Linux; they are no reason to stop,
            // but a pause keeps a persistent error from spinning.
            Err(e) => {
                debug!(target: "net", "receive: {e}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

async fn serve_control(listener: UnixListener, tx: mpsc::Sender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(client(stream, tx.clone()));
            }
            Err(e) => {
                warn!(target: "control", "accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn client(stream: UnixStream, tx: mpsc::Sender<Input>) {
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r.take(MAX_LINE as u64));
    let mut line = String::new();
    let response = match tokio::time::timeout(READ_REQUEST_WAIT, reader.read_line(&mut line)).await
    {
        Err(_) => Response::err("no request received in time"),
        Ok(Err(e)) => Response::err(format!("reading the request: {e}")),
        Ok(Ok(_)) => match serde_json::from_str::<Request>(line.trim()) {
            Err(e) => Response::err(format!("bad request: {e}")),
            Ok(req) => {
                debug!(target: "control", "request {req:?}");
                let (otx, orx) = oneshot::channel();
                if tx.send(Input::Control(req, otx)).await.is_err() {
                    Response::err("the daemon is shutting down")
                } else {
                    match tokio::time::timeout(REQUEST_WAIT, orx).await {
                        Ok(Ok(r)) => r,
                        Ok(Err(_)) => Response::err("the daemon is shutting down"),
                        Err(_) => Response::err("timed out"),
                    }
                }
            }
        },
    };
    let mut out = serde_json::to_string(&response)
        .unwrap_or_else(|_| r#"{"ok":false,"message":"internal error"}"#.to_owned());
    out.push('\n');
    let _ = w.write_all(out.as_bytes()).await;
    let _ = w.shutdown().await;
}

impl Daemon {
    /// Tells the engine the wall-clock time; called before engine calls.
    fn clock(&mut self) {
        if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
            self.endpoint
                .set_unix_time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        }
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Datagram { sock, from, data } => self.datagram(sock, from, &data),
            Input::Control(req, reply) => self.control(req, reply),
            Input::Kernel(e) => self.kernel_event(e),
        }
    }

    /// Acquire: traffic hit a trap, so bring its connection up. Expire: the kernel's lifetime
    /// of a Child SA ran out; soft means rekey it now, hard means it is gone (tell the peer).
    fn kernel_event(&mut self, e: KernelEvent) {
        match e {
            KernelEvent::Acquire { reqid, src, dst } => {
                let Some((conn, child)) = self.kernel.trap_of_reqid(reqid) else {
                    debug!(target: "kernel", "acquire for reqid {reqid} ({src} -> {dst}): no trap of ours");
                    return;
                };
                // An established IKE SA of the connection without this child: add the child
                // to it (CREATE_CHILD_SA); otherwise bring the connection up.
                let now = Instant::now();
                let established = self
                    .endpoint
                    .sas_of(&conn)
                    .into_iter()
                    .filter_map(|h| self.endpoint.sa_status(h, now))
                    .find(|s| s.state == IkeSaState::Established)
                    .map(|s| (s.sa, s.children.iter().any(|c| c.name == child)));
                match established {
                    Some((_, true)) => {
                        debug!(target: "kernel", "{conn}/{child}: acquire {src} -> {dst}: the Child SA is up already");
                    }
                    Some((h, false)) => {
                        info!(target: "kernel", "{conn}/{child}: acquire {src} -> {dst}: creating the Child SA");
                        self.clock();
                        if let Err(e) = self.endpoint.create_child(Instant::now(), h, &child) {
                            warn!(target: "ike", "{conn}/{child}: cannot create the Child SA: {e}");
                        }
                    }
                    None => {
                        info!(target: "kernel", "{conn}/{child}: acquire {src} -> {dst}: initiating");
                        self.up(&conn, None);
                    }
                }
            }
            KernelEvent::Expire { spi, hard, .. } => {
                let Some(spi_in) = self.kernel.child_of_spi(spi) else {
                    return;
                };
                let Some(h) = self.endpoint.sa_of_child(spi_in) else {
                    return;
                };
                let name = self
                    .endpoint
                    .connection_of(h)
                    .unwrap_or_default()
                    .to_owned();
                self.clock();
                let now = Instant::now();
                if hard {
                    info!(target: "kernel", "{name}: Child SA in {spi_in:08x} reached its hard lifetime");
                    let _ = self.endpoint.delete_child(now, h, spi_in);
                } else {
                    info!(target: "kernel", "{name}: Child SA in {spi_in:08x} reached its soft lifetime: rekeying");
                    let _ = self.endpoint.rekey_child(now, h, spi_in);
                }
            }
            other => debug!(target: "kernel", "{other:?}"),
        }
    }

    /// Trap policies for every child with `start_action = "trap"` (not yet installed).
    fn install_configured_traps(&mut self) {
        let todo: Vec<(String, String)> = self
            .config
            .connections
            .iter()
            .flat_map(|c| {
                c.children
                    .iter()
                    .filter(|ch| ch.start_action == StartAction::Trap)
                    .map(|ch| (c.name.clone(), ch.name.clone()))
            })
            .collect();
        for (conn, child) in todo {
            self.install_trap(&conn, &child);
        }
    }

    fn install_trap(&mut self, conn_name: &str, child_name: &str) {
        let key = (conn_name.to_owned(), child_name.to_owned());
        if self.traps.contains(&key) {
            return;
        }
        let Some(conn) = self.config.connection(conn_name).cloned() else {
            return;
        };
        let Some((_, child)) = conn.child(child_name) else {
            return;
        };
        let Some(remote) = conn.remote_addrs.first().copied() else {
            warn!(target: "kernel", "{conn_name}/{child_name}: a trap needs a remote address (not %any)");
            return;
        };
        let local = match self.initiate_local(&conn) {
            Ok(l) => l.ip(),
            Err(e) => {
                warn!(target: "kernel", "{conn_name}/{child_name}: no trap: {e}");
                return;
            }
        };
        let trap = TrapPolicy {
            connection: conn_name.to_owned(),
            child: child_name.to_owned(),
            local_ts: child.local_ts.clone(),
            remote_ts: child.remote_ts.clone(),
            mode: child.mode,
            protocol: child.protocol(),
            local,
            remote,
        };
        match self.kernel.install_trap(&trap) {
            Ok(()) => {
                self.traps.insert(key);
            }
            Err(e) => {
                error!(target: "kernel", "{conn_name}/{child_name}: installing the trap: {e}")
            }
        }
    }

    fn uninstall_traps_of(&mut self, conn_name: &str) {
        let gone: Vec<(String, String)> = self
            .traps
            .iter()
            .filter(|(c, _)| c == conn_name)
            .cloned()
            .collect();
        for (c, ch) in gone {
            self.kernel.uninstall_trap(&c, &ch);
            self.traps.remove(&(c, ch));
        }
    }

    fn datagram(&mut self, sock: usize, from: SocketAddr, data: &[u8]) {
        let Some(s) = self.socks.get(sock) else {
            return;
        };
        let (bound, nat_t) = (s.bound, s.nat_t);
        let ike = if nat_t {
            // RFC 3948 §2.2: IKE after the non-ESP marker, ESP otherwise; §2.3 keepalives.
            match data {
                [0, 0, 0, 0, rest @ ..] => rest,
                [0xff] => {
                    debug!(target: "net", "NAT keepalive from {from}");
                    return;
                }
                _ => {
                    debug!(target: "net", "dropped {} bytes of ESP-in-UDP from {from} (no ESP here)", data.len());
                    return;
                }
            }
        } else {
            data
        };
        let local = if bound.ip().is_unspecified() {
            let ip = self.source_towards(from.ip()).unwrap_or(bound.ip());
            SocketAddr::new(ip, bound.port())
        } else {
            bound
        };
        self.clock();
        self.endpoint
            .handle_datagram(Instant::now(), local, from, ike);
    }

    fn source_towards(&mut self, remote: IpAddr) -> Option<IpAddr> {
        if let Some(ip) = self.route_cache.get(&remote) {
            return Some(*ip);
        }
        let ip = route_source(remote)?;
        if self.route_cache.len() > 4096 {
            self.route_cache.clear();
        }
        self.route_cache.insert(remote, ip);
        Some(ip)
    }

    fn control(&mut self, req: Request, reply: oneshot::Sender<Response>) {
        match req {
            Request::Status => {
                let _ = reply.send(Response {
                    ok: true,
                    message: None,
                    status: Some(self.status()),
                });
            }
            Request::Up { name } => self.up(&name, Some(reply)),
            Request::Down { name } => self.down(&name, reply),
        }
    }

    /// Our address for initiating `conn`: its first local address of the peer's family, else
    /// such a `listen` address, else the routing table's choice.
    fn initiate_local(&mut self, conn: &Connection) -> Result<SocketAddr, String> {
        let Some(remote) = conn.remote_addrs.first().copied() else {
            return Err(format!(
                "connection {} has no remote address (%any) and cannot initiate",
                conn.name
            ));
        };
        let v6 = remote.is_ipv6();
        let ip = conn
            .local_addrs
            .iter()
            .chain(self.config.daemon.listen.iter())
            .find(|a| a.is_ipv6() == v6)
            .copied()
            .or_else(|| self.source_towards(remote))
            .ok_or_else(|| format!("no local address to reach {remote}"))?;
        let local = SocketAddr::new(ip, self.config.daemon.port);
        if self.socket_for(local).is_none() {
            return Err(format!(
                "connection {}: no socket on {local} (add {ip} to [daemon] listen)",
                conn.name
            ));
        }
        Ok(local)
    }

    fn up(&mut self, name: &str, reply: Option<oneshot::Sender<Response>>) {
        let respond = |reply: Option<oneshot::Sender<Response>>, r: Response| {
            if let Some(tx) = reply {
                let _ = tx.send(r);
            }
        };
        let Some(conn) = self.config.connection(name).cloned() else {
            warn!(target: "ike", "{name}: no such connection");
            return respond(reply, Response::err(format!("no connection named {name}")));
        };
        let now = Instant::now();
        let mine: Vec<ike_proto::v2::IkeSaStatus> = self
            .endpoint
            .sas_of(name)
            .into_iter()
            .filter_map(|h| self.endpoint.sa_status(h, now))
            .collect();
        if let Some(sa) = mine.iter().find(|s| s.state == IkeSaState::Established) {
            let msg = format!(
                "{name}: already established ({}_i {}_r)",
                hex8(&sa.spi_i),
                hex8(&sa.spi_r)
            );
            return respond(reply, Response::ok(msg));
        }
        // An initiation under way: wait for that one rather than start a second IKE SA.
        if let Some(s) = mine
            .iter()
            .find(|s| s.state == IkeSaState::Connecting && s.initiator)
        {
            if let Some(tx) = reply {
                self.up_waiters.entry(s.sa).or_default().push(tx);
            }
            return;
        }
        let local = match self.initiate_local(&conn) {
            Ok(l) => l,
            Err(e) => {
                warn!(target: "ike", "{name}: {e}");
                return respond(reply, Response::err(e));
            }
        };
        self.clock();
        match self.endpoint.initiate(Instant::now(), local, name) {
            Ok(h) => {
                let remote = SocketAddr::new(
                    conn.remote_addrs.first().copied().unwrap_or(local.ip()),
                    500,
                );
                info!(target: "ike", "{name}: initiating IKE SA {local} -> {remote}");
                if let Some(tx) = reply {
                    self.up_waiters.entry(h).or_default().push(tx);
                }
            }
            Err(e) => {
                warn!(target: "ike", "{name}: cannot initiate: {e}");
                respond(reply, Response::err(format!("{name}: {e}")));
            }
        }
    }

    fn down(&mut self, name: &str, reply: oneshot::Sender<Response>) {
        let handles: Vec<SaHandle> = self.endpoint.sas_of(name);
        if handles.is_empty() {
            let _ = reply.send(Response::err(format!("{name}: no IKE SA to delete")));
            return;
        }
        self.clock();
        let now = Instant::now();
        for h in &handles {
            if let Some((i, r)) = self.endpoint.sa_spis(*h) {
                info!(target: "ike", "{name}: deleting IKE SA {}_i {}_r", hex8(&i), hex8(&r));
            }
            if let Err(e) = self.endpoint.delete(now, *h) {
                debug!(target: "ike", "{name}: delete: {e}");
            }
        }
        self.down_waiters.push(DownWaiter {
            name: name.to_owned(),
            pending: handles.into_iter().collect(),
            reply,
        });
    }

    async fn flush(&mut self) {
        // Events before datagrams: the SAs an exchange created are in the kernel before the
        // message that completes it leaves (the peer may use them as soon as it arrives), and
        // a rekey's new SAs before the Delete of the old ones.
        loop {
            let mut any = false;
            while let Some(ev) = self.endpoint.poll_event() {
                any = true;
                self.event(ev);
            }
            while let Some(t) = self.endpoint.poll_transmit() {
                any = true;
                self.send(&t).await;
            }
            if !any {
                break;
            }
        }
        self.finish_down_waiters();
    }

    fn finish_down_waiters(&mut self) {
        if self.down_waiters.is_empty() {
            return;
        }
        let mut keep = Vec::new();
        for mut w in self.down_waiters.drain(..) {
            w.pending.retain(|h| self.endpoint.contains(*h));
            if w.pending.is_empty() {
                let _ = w
                    .reply
                    .send(Response::ok(format!("{}: IKE SAs deleted", w.name)));
            } else {
                keep.push(w);
            }
        }
        self.down_waiters = keep;
    }

    /// The socket bound to `local`, else the wildcard socket of its family and port.
    fn socket_for(&self, local: SocketAddr) -> Option<&Sock> {
        self.socks.iter().find(|s| s.bound == local).or_else(|| {
            self.socks.iter().find(|s| {
                s.bound.ip().is_unspecified()
                    && s.bound.is_ipv6() == local.is_ipv6()
                    && s.bound.port() == local.port()
            })
        })
    }

    async fn send(&self, t: &Transmit) {
        let Some(sock) = self.socket_for(t.local) else {
            warn!(target: "net", "no socket for {} (to {}): datagram dropped", t.local, t.remote);
            return;
        };
        if let Err(e) = sock.socket.send_to(&t.datagram(), t.remote).await {
            warn!(target: "net", "send {} -> {}: {e}", t.local, t.remote);
        }
    }

    fn resolve_up(&mut self, sa: SaHandle, r: Response) {
        if let Some(ws) = self.up_waiters.remove(&sa) {
            for w in ws {
                let _ = w.send(r.clone());
            }
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::IkeSaEstablished {
                sa,
                connection,
                initiator,
                spi_i,
                spi_r,
                local_id,
                remote_id,
                proposal,
                ..
            } => {
                let unknown = SocketAddr::new(unspecified(false), 0);
                let (local, remote) = self
                    .endpoint
                    .sa_path(sa)
                    .map_or((unknown, unknown), |p| (p.local, p.remote));
                info!(
                    target: "ike",
                    "{connection}: IKE SA established {}_i {}_r {local}[{local_id}]...{remote}[{remote_id}] {proposal} ({})",
                    hex8(&spi_i),
                    hex8(&spi_r),
                    if initiator { "initiator" } else { "responder" },
                );
                let childless = self
                    .config
                    .connection(&connection)
                    .is_some_and(|c| c.children.is_empty());
                if childless {
                    let msg = format!(
                        "{connection}: established {}_i {}_r",
                        hex8(&spi_i),
                        hex8(&spi_r)
                    );
                    self.resolve_up(sa, Response::ok(msg));
                }
            }
            Event::IkeSaKeys(k) => {
                if let Some(log) = self.keylog.as_mut() {
                    if let Err(e) = log.ike(&k) {
                        error!(target: "ike", "{}: writing the key log: {e}", k.connection);
                    }
                }
            }
            Event::ChildSaInstall(c) => {
                if let Some(log) = self.keylog.as_mut() {
                    if let Err(e) = log.child(&c) {
                        error!(target: "ike", "{}/{}: writing the key log: {e}", c.connection, c.child);
                    }
                }
                if let Err(e) = self.kernel.install(&c) {
                    // The peer installed its half: delete the Child SA (telling it) rather
                    // than show a tunnel that carries nothing.
                    error!(target: "kernel", "{}/{}: install in {:08x} out {:08x} failed: {e}; deleting the Child SA", c.connection, c.child, c.spi_in, c.spi_out);
                    self.clock();
                    let _ = self.endpoint.delete_child(Instant::now(), c.sa, c.spi_in);
                    self.resolve_up(
                        c.sa,
                        Response::err(format!(
                            "{}: IKE SA up but the kernel refused child {}: {e}",
                            c.connection, c.child
                        )),
                    );
                    return;
                }
                let ts = |v: &[ike_proto::v2::Ts]| -> Vec<String> {
                    v.iter().map(ike_kernel::ts_text).collect()
                };
                info!(
                    target: "ike",
                    "{}/{}: Child SA installed in {:08x} out {:08x} {} {} {} === {}",
                    c.connection,
                    c.child,
                    c.spi_in,
                    c.spi_out,
                    mode_word(c.mode),
                    c.proposal,
                    ts(&c.local_ts).join(","),
                    ts(&c.remote_ts).join(","),
                );
                let (spi_i, spi_r) = self.endpoint.sa_spis(c.sa).unwrap_or_default();
                let msg = format!(
                    "{}: established {}_i {}_r, child {} in {:08x} out {:08x}",
                    c.connection,
                    hex8(&spi_i),
                    hex8(&spi_r),
                    c.child,
                    c.spi_in,
                    c.spi_out
                );
                self.resolve_up(c.sa, Response::ok(msg));
            }
            Event::ChildSaFailed {
                sa,
                connection,
                child,
                reason,
            } => {
                warn!(target: "ike", "{connection}/{child}: Child SA failed: {reason}");
                self.resolve_up(
                    sa,
                    Response::err(format!(
                        "{connection}: IKE SA up but child {child} failed: {reason}"
                    )),
                );
            }
            Event::ChildSaDelete {
                connection,
                child,
                spi_in,
                spi_out,
                ..
            } => {
                info!(target: "ike", "{connection}/{child}: Child SA deleted in {spi_in:08x} out {spi_out:08x}");
                if let Err(e) = self.kernel.delete(spi_in) {
                    debug!(target: "kernel", "{connection}/{child}: {e}");
                }
            }
            Event::IkeSaRekeyed {
                old,
                new,
                spi_i,
                spi_r,
            } => {
                let name = self.endpoint.connection_of(new).unwrap_or_default();
                let (old_i, old_r) = self.endpoint.sa_spis(old).unwrap_or_default();
                info!(
                    target: "ike",
                    "{name}: IKE SA rekeyed {}_i {}_r -> {}_i {}_r",
                    hex8(&old_i),
                    hex8(&old_r),
                    hex8(&spi_i),
                    hex8(&spi_r)
                );
                if let Some(w) = self.up_waiters.remove(&old) {
                    self.up_waiters.insert(new, w);
                }
            }
            Event::IkeSaClosed {
                sa,
                spi_i,
                spi_r,
                connection,
                reason,
            } => {
                let spis = format!(" {}_i {}_r", hex8(&spi_i), hex8(&spi_r));
                if reason == CloseReason::Rekeyed {
                    debug!(target: "ike", "{connection}: old IKE SA{spis} closed after rekey");
                } else {
                    info!(target: "ike", "{connection}: IKE SA{spis} closed: {}", close_words(&reason));
                }
                self.resolve_up(
                    sa,
                    Response::err(format!("{connection}: failed: {}", close_words(&reason))),
                );
            }
            Event::AddressChanged { sa, local, remote } => {
                let name = self.endpoint.connection_of(sa).unwrap_or_default();
                info!(target: "ike", "{name}: peer moved to {remote} (from {local})");
                let spis: Vec<u32> = self
                    .endpoint
                    .child_sas(sa)
                    .into_iter()
                    .map(|(_, spi_in, _)| spi_in)
                    .collect();
                self.kernel.update_address(&spis, local, remote);
            }
            Event::IkeSaSpis { .. } => {}
            Event::IkeSaDeleting {
                sa,
                connection,
                reason,
            } => {
                let (i, r) = self.endpoint.sa_spis(sa).unwrap_or_default();
                let spis = format!(" {}_i {}_r", hex8(&i), hex8(&r));
                match reason {
                    DeletingReason::HardLifetime(life) => {
                        info!(target: "ike", "{connection}: IKE SA{spis} reached its hard lifetime ({}s) without a rekey: deleting", life.as_secs())
                    }
                    other => info!(target: "ike", "{connection}: deleting IKE SA{spis}: {other:?}"),
                }
            }
            Event::IkeSaRestarting { sa, connection } => {
                let unknown = SocketAddr::new(unspecified(false), 0);
                let (local, remote) = self
                    .endpoint
                    .sa_path(sa)
                    .map_or((unknown, unknown), |p| (p.local, p.remote));
                info!(target: "ike", "{connection}: dead peer: initiating IKE SA {local} -> {remote} again");
            }
            Event::TrapInstall { connection, .. } => {
                let children: Vec<String> = self
                    .config
                    .connection(&connection)
                    .map(|c| c.children.iter().map(|ch| ch.name.clone()).collect())
                    .unwrap_or_default();
                info!(target: "ike", "{connection}: dead peer: installing traps, traffic brings it back");
                for child in children {
                    self.install_trap(&connection, &child);
                }
            }
            other => debug!(target: "ike", "event {other:?}"),
        }
    }

    /// `ike status`: the engine's view of every IKE SA (it owns their state), with the kernel's
    /// byte counters of each Child SA.
    fn status(&self) -> Status {
        let ike_sas = self
            .endpoint
            .status(Instant::now())
            .into_iter()
            .map(|s| IkeSaStatus {
                name: s.connection,
                version: s.version,
                state: s.state.word().to_owned(),
                local_addr: s.local.to_string(),
                remote_addr: s.remote.to_string(),
                local_id: s.local_id.map(|i| i.to_string()).unwrap_or_default(),
                remote_id: s.remote_id.map(|i| i.to_string()).unwrap_or_default(),
                initiator_spi: hex8(&s.spi_i),
                responder_spi: hex8(&s.spi_r),
                proposal: s.proposal.unwrap_or_default(),
                established_seconds: s.established_for.map_or(0, |d| d.as_secs()),
                rekey_seconds: s.rekey_in.map_or(0, |d| d.as_secs()),
                child_sas: s
                    .children
                    .into_iter()
                    .map(|c| {
                        let k = self.kernel.get(c.spi_in);
                        ChildSaStatus {
                            name: c.name,
                            state: c.state.word().to_owned(),
                            spi_in: format!("{:08x}", c.spi_in),
                            spi_out: format!("{:08x}", c.spi_out),
                            local_ts: c.local_ts.iter().map(ike_kernel::ts_text).collect(),
                            remote_ts: c.remote_ts.iter().map(ike_kernel::ts_text).collect(),
                            mode: mode_word(c.mode).to_owned(),
                            proposal: c.proposal,
                            bytes_in: k.as_ref().map_or(0, |k| k.bytes_in),
                            bytes_out: k.as_ref().map_or(0, |k| k.bytes_out),
                        }
                    })
                    .collect(),
            })
            .collect();
        Status { ike_sas }
    }

    /// SIGHUP: reload the configuration. Connections that are new start (if `start_action =
    /// "start"`); removed or changed ones lose their IKE SAs (the peer is told); unchanged ones
    /// keep theirs. The `[daemon]` section is not re-applied (sockets, kernel backend).
    fn reload(&mut self) {
        info!(target: "ike", "SIGHUP: reloading {}", self.config_path.display());
        let new = match ike_config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!(target: "ike", "reload failed, keeping the running configuration:\n{e}");
                return;
            }
        };
        for w in &new.warnings {
            warn!(target: "ike", "{w}");
        }
        // Secrets print redacted in Debug, so a changed PSK alone is not seen as a change.
        let fingerprint = |c: &Connection| format!("{c:?}");
        let old_by_name: HashMap<&str, String> = self
            .config
            .connections
            .iter()
            .map(|c| (c.name.as_str(), fingerprint(c)))
            .collect();
        let mut gone = HashSet::new();
        let mut start = Vec::new();
        for c in &self.config.connections {
            match new.connection(&c.name) {
                None => {
                    info!(target: "ike", "{}: removed from the configuration", c.name);
                    gone.insert(c.name.clone());
                }
                Some(n) if fingerprint(n) != fingerprint(c) => {
                    info!(target: "ike", "{}: changed in the configuration", c.name);
                    gone.insert(c.name.clone());
                    if starts_at_load(n) {
                        start.push(n.name.clone());
                    }
                }
                Some(_) => {}
            }
        }
        for c in &new.connections {
            if !old_by_name.contains_key(c.name.as_str()) {
                info!(target: "ike", "{}: added to the configuration", c.name);
                if starts_at_load(c) {
                    start.push(c.name.clone());
                }
            }
        }
        self.clock();
        let now = Instant::now();
        for h in self.endpoint.handles_all() {
            if self
                .endpoint
                .connection_of(h)
                .is_some_and(|n| gone.contains(n))
            {
                let _ = self.endpoint.delete(now, h);
            }
        }
        for name in &gone {
            self.uninstall_traps_of(name);
        }
        self.endpoint
            .set_peers(new.connections.iter().map(|c| c.peer.clone()).collect());
        let daemon = self.config.daemon.clone();
        self.config = new;
        // Sockets and the backend stay as they were started.
        self.config.daemon = daemon;
        for name in start {
            self.up(&name, None);
        }
        self.install_configured_traps();
    }

    /// Deletes every IKE SA and waits (bounded) for the peers; a second SIGTERM or SIGINT
    /// stops waiting.
    async fn shutdown(
        &mut self,
        rx: &mut mpsc::Receiver<Input>,
        sigterm: &mut tokio::signal::unix::Signal,
        sigint: &mut tokio::signal::unix::Signal,
    ) {
        self.clock();
        let now = Instant::now();
        let handles = self.endpoint.handles_all();
        for h in &handles {
            if let (Some(name), Some((i, r))) =
                (self.endpoint.connection_of(*h), self.endpoint.sa_spis(*h))
            {
                info!(target: "ike", "{name}: deleting IKE SA {}_i {}_r", hex8(&i), hex8(&r));
            }
            let _ = self.endpoint.delete(now, *h);
        }
        self.flush().await;
        let give_up = Instant::now() + SHUTDOWN_WAIT;
        while self.endpoint.sa_count() > 0 && Instant::now() < give_up {
            let deadline = self
                .endpoint
                .poll_timeout()
                .map_or(give_up, |d| d.min(give_up));
            tokio::select! {
                input = rx.recv() => match input {
                    Some(Input::Datagram { sock, from, data }) => self.datagram(sock, from, &data),
                    Some(Input::Control(_, reply)) => {
                        let _ = reply.send(Response::err("the daemon is shutting down"));
                    }
                    Some(Input::Kernel(_)) => {}
                    None => break,
                },
                _ = sleep_until(Some(deadline)) => {
                    self.clock();
                    self.endpoint.handle_timeout(Instant::now());
                }
                _ = sigterm.recv() => break,
                _ = sigint.recv() => break,
            }
            self.flush().await;
        }
        if self.endpoint.sa_count() > 0 {
            warn!(target: "ike", "{} IKE SAs did not finish deleting in {:?}", self.endpoint.sa_count(), SHUTDOWN_WAIT);
        }
        for sa in self.kernel.list() {
            let _ = self.kernel.delete(sa.spi_in);
        }
        let names: HashSet<String> = self.traps.iter().map(|(c, _)| c.clone()).collect();
        for name in names {
            self.uninstall_traps_of(&name);
        }
        for (_, ws) in self.up_waiters.drain() {
            for w in ws {
                let _ = w.send(Response::err("the daemon is shutting down"));
            }
        }
    }
}
