//! `ike daemon`: the driver of the sans-I/O IKE engine, in shards across cores.
//!
//! - **Shards** ([`shard`]): `[daemon] shards` threads (default: one per core), each with its own
//!   [`ike_proto::v2::Endpoint`] that owns the IKE SAs whose SPIs name it. Nothing on the handshake path is
//!   shared; the kernel backend and the key log are, behind a mutex, for Child SA installs.
//! - **Sockets** ([`net`]): a receive task per UDP socket hands each IKE message to its shard by
//!   its header ([`ike_proto::shard::shard_of`]); shards send on the same sockets.
//! - **The coordinator** (this module): the control socket (see [`crate::control`]) and its
//!   requests ([`requests`]: status gathered over the shards, `up`, `down`), the kernel's
//!   acquires and expires and the trap policies ([`kernel`]), INITIAL_CONTACT across shards,
//!   signals: SIGTERM and SIGINT delete every IKE SA, wait (at most [`SHUTDOWN_WAIT`]) for the
//!   peers' answers and remove the control socket; SIGHUP reloads the configuration.
//!
//! Logs go through `tracing` under the targets `ike` (IKE and Child SA events, with the
//! connection name and SPIs; the engine's own debug lines too), `kernel` (what the backend
//! installs), `net` (sockets) and `control` (the control socket). Keys are never logged.

mod kernel;
mod metrics;
mod net;
mod requests;
mod shard;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ike_config::{Config, Connection, KernelKind, StartAction};
use ike_kernel::{BackendKind, KernelError, KernelEvent};
use ike_proto::v2::Mode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::control::{ChangedConn, ReloadReport, Request, Response, MAX_LINE};
use shard::{ShardInput, ToCoordinator};

/// How long shutdown waits for the peers to answer our deletes.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// How long the daemon keeps an `up` or `down` client waiting before it answers "timed out"
/// (the engine may still succeed later; clients usually give up sooner).
pub const REQUEST_WAIT: Duration = Duration::from_secs(120);

/// How long a client may take to send its request line.
const READ_REQUEST_WAIT: Duration = Duration::from_secs(10);

/// How long a control client may take to send its request before it counts as idle (and may
/// be closed to make room for another).
const IDLE_GRACE: Duration = Duration::from_millis(250);

/// What `ike daemon` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The configuration file.
    pub config: PathBuf,
    /// The control socket, overriding the configuration's.
    pub socket: Option<PathBuf>,
    /// Write negotiated keys for Wireshark into this directory ([`crate::keylog`]).
    pub keylog: Option<PathBuf>,
    /// Where `ike log` clients take the log lines from (the layer is installed by the caller).
    pub log_hub: crate::logstream::LogHub,
}

/// Runs the daemon until SIGTERM or SIGINT. `config` is the already loaded `options.config`.
pub fn run(options: Options, config: Config) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(run_async(options, config))
}

/// What reaches the coordinator.
enum Input {
    Control(Request, oneshot::Sender<Response>),
    /// `status_stream`: the SAs' JSON lines go to this channel.
    StatusStream(mpsc::Sender<String>),
    /// What the kernel said (acquire, expire), from the monitor thread.
    Kernel(KernelEvent),
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

/// The number of shards: `[daemon] shards`, else one per core (at most
/// [`ike_proto::shard::Shard::MAX`]).
fn shard_count(config: &Config) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    config
        .daemon
        .shards
        .map_or(cores, usize::from)
        .clamp(1, usize::from(ike_proto::shard::Shard::MAX))
}

/// The coordinator's state: everything that is not an SA.
struct Coordinator {
    config_path: PathBuf,
    config: Arc<Config>,
    kernel: shard::Kernel,
    socks: Arc<Vec<net::Sock>>,
    routes: net::Routes,
    shards: requests::Shards,
    traps: kernel::Traps,
    started: Instant,
    /// The counters of the Child SAs that are gone.
    totals: metrics::Totals,
    /// What the shards counted as events arrived.
    events: Arc<metrics::Events>,
}

async fn run_async(options: Options, config: Config) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};

    let backend = ike_kernel::backend(match config.daemon.kernel {
        KernelKind::None => BackendKind::None,
        _ => BackendKind::Xfrm,
    })
    .map_err(|e: KernelError| {
        anyhow::anyhow!("kernel backend: {e} (use kernel = \"none\" in [daemon])")
    })?;
    let backend_name = backend.name();
    let kernel: shard::Kernel = Arc::new(Mutex::new(backend));
    let mut config = config;
    let keylog = match &options.keylog {
        Some(dir) => {
            let k = crate::keylog::KeyLog::open(dir)
                .with_context(|| format!("--keylog {}", dir.display()))?;
            warn!(target: "ike", "writing IKE and ESP keys to {} (--keylog): anyone who reads them can decrypt this host's IPsec traffic", dir.display());
            config.daemon.endpoint.export_keys = true;
            Some(Arc::new(Mutex::new(k)))
        }
        None => None,
    };
    let config = Arc::new(config);
    let socks = Arc::new(net::bind_all(&config)?);

    let socket_path = control_path(options.socket.as_deref(), &config);
    let listener = bind_control(&socket_path)?;
    info!(target: "control", "control socket {}", socket_path.display());

    let metrics_listener = match config.daemon.metrics {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics address {addr} (metrics)"))?;
            info!(target: "control", "metrics on http://{addr}/metrics");
            Some(l)
        }
        None => None,
    };
    let totals = metrics::Totals::default();
    let events = Arc::new(metrics::Events::default());
    let (tx, mut rx) = mpsc::channel::<Input>(1024);
    let (to_coordinator, mut from_shards) = mpsc::unbounded_channel::<ToCoordinator>();
    let count = shard_count(&config);
    let mut senders = Vec::with_capacity(count);
    let mut threads = Vec::with_capacity(count);
    for index in 0..count {
        let (stx, thread) = shard::spawn(shard::ShardSetup {
            index,
            count,
            config: config.clone(),
            kernel: kernel.clone(),
            socks: socks.clone(),
            keylog: keylog.clone(),
            to_coordinator: to_coordinator.clone(),
            totals: totals.clone(),
            events: events.clone(),
        })?;
        senders.push(stx);
        threads.push(thread);
    }
    drop(to_coordinator);
    let shards: requests::Shards = Arc::new(senders);
    for i in 0..socks.len() {
        tokio::spawn(net::receive(i, socks.clone(), shards.clone()));
    }
    tokio::spawn(serve_control(
        listener,
        tx.clone(),
        config.daemon.max_control_clients,
        options.log_hub.clone(),
    ));
    if config.daemon.kernel != KernelKind::None {
        kernel::spawn_monitor(tx.clone())?;
    }
    let started = Instant::now();
    if let Some(l) = metrics_listener {
        tokio::spawn(metrics::serve(
            l,
            Arc::new(metrics::Scrape {
                shards: shards.clone(),
                kernel: kernel.clone(),
                totals: totals.clone(),
                events: events.clone(),
                started,
                max_control_clients: config.daemon.max_control_clients,
            }),
        ));
    }

    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;

    let mut c = Coordinator {
        config_path: options.config.clone(),
        config,
        kernel,
        socks,
        routes: net::Routes::default(),
        shards,
        traps: kernel::Traps::default(),
        started,
        totals,
        events,
    };
    let n = c.config.connections.len();
    info!(
        target: "ike",
        "ike daemon started with {} ({n} connection{}, {count} engine shard{}, kernel backend {backend_name})",
        c.config_path.display(),
        if n == 1 { "" } else { "s" },
        if count == 1 { "" } else { "s" },
    );
    let starts: Vec<String> = c
        .config
        .connections
        .iter()
        .filter(|c| starts_at_load(c))
        .map(|c| c.name.clone())
        .collect();
    for name in starts {
        tokio::spawn(requests::up(c.shards.clone(), c.config.clone(), name, None));
    }
    c.traps
        .install_configured(&c.config, &c.kernel, &c.socks, &mut c.routes);

    loop {
        tokio::select! {
            input = rx.recv() => match input {
                Some(Input::Control(req, reply)) => c.control(req, reply),
                Some(Input::StatusStream(lines)) => {
                    tokio::spawn(requests::status_stream(
                        c.shards.clone(),
                        c.kernel.clone(),
                        c.totals.clone(),
                        lines,
                    ));
                }
                Some(Input::Kernel(e)) => kernel::event(e, &c.kernel, &c.shards, &c.config),
                None => break,
            },
            msg = from_shards.recv() => match msg {
                Some(m) => c.shard_message(m),
                None => break,
            },
            _ = sigterm.recv() => { info!(target: "ike", "SIGTERM: shutting down"); break; }
            _ = sigint.recv() => { info!(target: "ike", "SIGINT: shutting down"); break; }
            _ = sighup.recv() => {
                info!(target: "ike", "SIGHUP");
                c.reload();
            }
        }
    }

    c.shutdown(&mut rx, &mut sigterm, &mut sigint).await;
    drop(c);
    for t in threads {
        let ok = match t {
            shard::Running::Thread(t) => t.join().is_ok(),
            shard::Running::Task(t) => t.await.is_ok(),
        };
        if !ok {
            error!(target: "ike", "a shard panicked");
        }
    }
    if let Err(e) = std::fs::remove_file(&socket_path) {
        warn!(target: "control", "removing {}: {e}", socket_path.display());
    }
    info!(target: "ike", "ike daemon stopped");
    Ok(())
}

impl Coordinator {
    fn control(&mut self, req: Request, reply: oneshot::Sender<Response>) {
        let shards = self.shards.clone();
        let req_is_authorities = req == Request::ListAuthorities;
        match req {
            Request::Status => {
                tokio::spawn(requests::status(
                    shards,
                    self.kernel.clone(),
                    self.totals.clone(),
                    reply,
                ));
            }
            Request::ListConns => {
                tokio::spawn(requests::list_conns(
                    shards,
                    self.config.clone(),
                    self.kernel.clone(),
                    self.totals.clone(),
                    reply,
                ));
            }
            Request::Reload => {
                let report = self.reload();
                let ok = report.loaded && report.errors.is_empty();
                let mut r = if ok {
                    Response::ok(format!("{} reloaded", report.file))
                } else {
                    Response::err(format!("{} not reloaded", report.file))
                };
                r.message = None;
                r.reload = Some(report);
                let _ = reply.send(r);
            }
            Request::ListCerts | Request::ListAuthorities => {
                let unix_now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let _ = reply.send(requests::list_certs(
                    &self.config,
                    req_is_authorities,
                    unix_now,
                ));
            }
            Request::Stats => {
                tokio::spawn(requests::stats(
                    shards,
                    self.started,
                    self.config.daemon.max_control_clients,
                    self.events.clone(),
                    reply,
                ));
            }
            Request::Up { name } => {
                tokio::spawn(requests::up(shards, self.config.clone(), name, Some(reply)));
            }
            Request::Down { name } => {
                tokio::spawn(requests::down(shards, name, reply));
            }
            Request::Rekey { name, child, ike } => {
                tokio::spawn(requests::rekey(
                    shards,
                    self.config.clone(),
                    name,
                    child,
                    ike,
                    reply,
                ));
            }
            Request::StatusStream | Request::Log { .. } => {
                let _ = reply.send(Response::err("a stream is answered by the client task"));
            }
        }
    }

    fn shard_message(&mut self, msg: ToCoordinator) {
        match msg {
            ToCoordinator::InstallTraps(conn) => self.traps.install_connection(
                &self.config,
                &self.kernel,
                &self.socks,
                &mut self.routes,
                &conn,
            ),
            ToCoordinator::InitialContact { from, ids, at } => {
                for (i, tx) in self.shards.iter().enumerate() {
                    if i != from
                        && tx
                            .try_send(ShardInput::ReplaceStale(ids.clone(), at))
                            .is_err()
                    {
                        warn!(target: "ike", "INITIAL_CONTACT: shard {i} is busy; its stale IKE SAs stay until they time out");
                    }
                }
            }
        }
    }

    /// SIGHUP or `ike reload`: reload the configuration. Connections that are new start (if
    /// `start_action = "start"`); removed ones lose their IKE SAs (the peer is told); changed
    /// ones keep their SAs when only timers, dead peer detection, start actions or secrets
    /// changed (the new values apply at the next rekey, as strongSwan does), else lose them and
    /// start again; unchanged ones keep theirs. The `[daemon]` section is not re-applied
    /// (sockets, kernel backend, shards).
    fn reload(&mut self) -> ReloadReport {
        let file = self.config_path.display().to_string();
        info!(target: "ike", "reloading {file}");
        let mut report = ReloadReport {
            file: file.clone(),
            ..ReloadReport::default()
        };
        let mut new = match ike_config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!(target: "ike", "reload failed, keeping the running configuration:\n{e}");
                report.errors = e.to_string().lines().map(str::to_owned).collect();
                return report;
            }
        };
        for w in &new.warnings {
            warn!(target: "ike", "{w}");
            report.warnings.push(w.to_string());
        }
        let mut gone = HashSet::new();
        let mut traps_changed = Vec::new();
        let mut start = Vec::new();
        for c in &self.config.connections {
            let Some(n) = new.connection(&c.name) else {
                info!(target: "ike", "{}: removed from the configuration: deleting its IKE SAs", c.name);
                gone.insert(c.name.clone());
                report.removed.push(c.name.clone());
                continue;
            };
            let changes = ike_config::diff::changes(c, n);
            if changes.is_empty() {
                report.unchanged += 1;
                continue;
            }
            let keys: Vec<String> = changes.iter().map(|x| x.key.clone()).collect();
            let sas_kept = changes.iter().all(|x| x.keeps_sas);
            if sas_kept {
                info!(target: "ike", "{}: changed ({}): its SAs stay, the new values apply at the next rekey", c.name, keys.join(", "));
            } else {
                info!(target: "ike", "{}: changed ({}): deleting its IKE SAs", c.name, keys.join(", "));
                gone.insert(c.name.clone());
                if starts_at_load(n) {
                    start.push(n.name.clone());
                }
            }
            if keys.iter().any(|k| k.ends_with(".start_action")) {
                traps_changed.push(c.name.clone());
            }
            report.changed.push(ChangedConn {
                name: c.name.clone(),
                keys,
                sas_kept,
            });
        }
        for c in &new.connections {
            if self.config.connection(&c.name).is_none() {
                info!(target: "ike", "{}: added to the configuration", c.name);
                report.added.push(c.name.clone());
                if starts_at_load(c) {
                    start.push(c.name.clone());
                }
            }
        }
        for name in gone.iter().chain(&traps_changed) {
            self.traps.uninstall_connection(&self.kernel, name);
        }
        // Sockets, the backend and the shards stay as they were started.
        new.daemon = self.config.daemon.clone();
        let new = Arc::new(new);
        let gone = Arc::new(gone);
        for tx in self.shards.iter() {
            let input = ShardInput::Reload {
                config: new.clone(),
                gone: gone.clone(),
            };
            if tx.try_send(input).is_err() {
                error!(target: "ike", "reload: a shard is busy; try again");
                report
                    .errors
                    .push("a shard is busy: the reload did not reach it; try again".to_owned());
            }
        }
        self.config = new;
        for name in start {
            tokio::spawn(requests::up(
                self.shards.clone(),
                self.config.clone(),
                name,
                None,
            ));
        }
        self.traps
            .install_configured(&self.config, &self.kernel, &self.socks, &mut self.routes);
        report.loaded = true;
        info!(target: "ike", "{file} reloaded: {} added, {} removed, {} changed, {} unchanged", report.added.len(), report.removed.len(), report.changed.len(), report.unchanged);
        report
    }

    /// Every shard deletes its IKE SAs and waits (bounded) for the peers, while the receive
    /// tasks keep feeding them; a second SIGTERM or SIGINT stops waiting. Then what is left in
    /// the kernel goes.
    async fn shutdown(
        &mut self,
        rx: &mut mpsc::Receiver<Input>,
        sigterm: &mut tokio::signal::unix::Signal,
        sigint: &mut tokio::signal::unix::Signal,
    ) {
        let mut waits = Vec::new();
        for tx in self.shards.iter() {
            let (done, wait) = oneshot::channel();
            if tx.send(ShardInput::Shutdown(done)).await.is_ok() {
                waits.push(wait);
            }
        }
        let all = async {
            for w in waits {
                let _ = w.await;
            }
        };
        tokio::pin!(all);
        let give_up = tokio::time::sleep(SHUTDOWN_WAIT + Duration::from_secs(1));
        tokio::pin!(give_up);
        loop {
            tokio::select! {
                _ = &mut all => break,
                _ = &mut give_up => {
                    warn!(target: "ike", "the shards did not stop in time");
                    break;
                }
                input = rx.recv() => match input {
                    Some(Input::Control(_, reply)) => {
                        let _ = reply.send(Response::err("the daemon is shutting down"));
                    }
                    Some(Input::Kernel(_) | Input::StatusStream(_)) => {}
                    None => {}
                },
                _ = sigterm.recv() => break,
                _ = sigint.recv() => break,
            }
        }
        let leftovers = self.kernel.lock().unwrap_or_else(|e| e.into_inner()).list();
        for sa in leftovers {
            let _ = self
                .kernel
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .delete(sa.spi_in);
        }
        self.traps.uninstall_all(&self.kernel);
    }
}

/// Accepts control clients, at most `max` at once: one more gets an error line and is closed
/// at once (each client also has [`READ_REQUEST_WAIT`] to send its request), so that idle or
/// piled-up connections cannot exhaust the daemon.
/// Control clients that sent no request within [`IDLE_GRACE`] of connecting, oldest first. A
/// client sends its request as soon as it connects, so only idle connections get here; when
/// every slot is taken, the oldest of them is closed to make room for the newcomer.
#[derive(Default)]
struct Waiting {
    next: u64,
    queue: std::collections::VecDeque<(u64, Arc<tokio::sync::Notify>)>,
}

type WaitingList = Arc<std::sync::Mutex<Waiting>>;

async fn serve_control(
    listener: UnixListener,
    tx: mpsc::Sender<Input>,
    max: usize,
    hub: crate::logstream::LogHub,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let waiting = WaitingList::default();
    let mut refused = 0u64;
    let mut evicted = 0u64;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let mut permit = slots.clone().try_acquire_owned().ok();
                if permit.is_none() {
                    // Full: close the longest-idle client that has sent nothing, and take its
                    // slot (it gives it back as soon as it runs). With none idle, refused at
                    // once (the client retries briefly), so a flood drains fast.
                    let victim = waiting
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .queue
                        .pop_front();
                    if let Some((_, n)) = victim {
                        n.notify_one();
                        evicted += 1;
                        if evicted.is_power_of_two() {
                            debug!(target: "control", "{max} control clients already connected: closed an idle one to make room ({evicted} so far)");
                        }
                        permit = tokio::time::timeout(
                            Duration::from_millis(200),
                            slots.clone().acquire_owned(),
                        )
                        .await
                        .ok()
                        .and_then(Result::ok);
                    }
                }
                match permit {
                    Some(permit) => {
                        let tx = tx.clone();
                        let hub = hub.clone();
                        let waiting = waiting.clone();
                        tokio::spawn(async move {
                            client(stream, tx, hub, waiting).await;
                            drop(permit);
                        });
                    }
                    None => {
                        refused += 1;
                        if refused.is_power_of_two() {
                            warn!(target: "control", "{max} control clients already connected (max_control_clients): refused one ({refused} so far)");
                        }
                        tokio::spawn(async move {
                            let mut stream = stream;
                            let mut out = serde_json::to_string(&Response::err(format!(
                                "too many control clients ({max} connected); try again"
                            )))
                            .unwrap_or_default();
                            out.push('\n');
                            let _ = tokio::time::timeout(
                                Duration::from_secs(1),
                                stream.write_all(out.as_bytes()),
                            )
                            .await;
                        });
                    }
                }
            }
            Err(e) => {
                warn!(target: "control", "accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Writes the status stream: one line per IKE SA, then a [`Response`] line.
async fn stream_status(tx: &mpsc::Sender<Input>, w: &mut tokio::net::unix::OwnedWriteHalf) {
    let (ltx, mut lrx) = mpsc::channel::<String>(64);
    let mut count = 0usize;
    let end = if tx.send(Input::StatusStream(ltx)).await.is_err() {
        Response::err("the daemon is shutting down")
    } else {
        let mut failed = None;
        while let Some(mut line) = lrx.recv().await {
            line.push('\n');
            if let Err(e) = w.write_all(line.as_bytes()).await {
                failed = Some(e);
                break;
            }
            count += 1;
        }
        match failed {
            Some(e) => {
                debug!(target: "control", "status stream: {e}");
                return;
            }
            None => Response::ok(format!(
                "{count} IKE SA{}",
                if count == 1 { "" } else { "s" }
            )),
        }
    };
    let mut out = serde_json::to_string(&end)
        .unwrap_or_else(|_| r#"{"ok":false,"message":"internal error"}"#.to_owned());
    out.push('\n');
    let _ = w.write_all(out.as_bytes()).await;
    let _ = w.shutdown().await;
}

/// `ike log`: the log lines at `level` and above, one JSON object per line ({"log": LINE}),
/// until the client goes away (or the daemon stops).
async fn stream_log(
    hub: &crate::logstream::LogHub,
    level: tracing::Level,
    mut r: BufReader<tokio::io::Take<tokio::net::unix::OwnedReadHalf>>,
    w: &mut tokio::net::unix::OwnedWriteHalf,
) {
    use tokio::io::AsyncReadExt as _;
    use tokio::sync::broadcast::error::RecvError;
    let mut sub = hub.subscribe(level);
    let hello = serde_json::json!({ "log": format!("ike log: streaming the daemon's log at level {level} and above") });
    if w.write_all(format!("{hello}\n").as_bytes()).await.is_err() {
        return;
    }
    let mut scratch = [0u8; 64];
    loop {
        let line = tokio::select! {
            got = sub.rx.recv() => match got {
                Ok(l) if sub.wants(&l) => serde_json::json!({ "log": &*l.text }),
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => serde_json::json!({ "log": format!("ike log: {n} lines were lost (this client read too slowly)") }),
                Err(RecvError::Closed) => break,
            },
            // The client sends nothing more; a read returns only when it closes.
            n = r.read(&mut scratch) => match n {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
        };
        if w.write_all(format!("{line}\n").as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

async fn client(
    stream: UnixStream,
    tx: mpsc::Sender<Input>,
    hub: crate::logstream::LogHub,
    waiting: WaitingList,
) {
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r.take(MAX_LINE as u64));
    let mut line = String::new();
    let evict = Arc::new(tokio::sync::Notify::new());
    let mut id = None;
    let read = {
        let deadline = tokio::time::Instant::now() + READ_REQUEST_WAIT;
        let reading = tokio::time::timeout_at(deadline, reader.read_line(&mut line));
        tokio::pin!(reading);
        let grace = tokio::time::sleep(IDLE_GRACE);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                r = &mut reading => break Some(r),
                () = &mut grace, if id.is_none() => {
                    // Idle: it may now be closed to make room.
                    let mut list = waiting.lock().unwrap_or_else(|e| e.into_inner());
                    list.next += 1;
                    let n = list.next;
                    list.queue.push_back((n, evict.clone()));
                    id = Some(n);
                }
                () = evict.notified(), if id.is_some() => break None,
            }
        }
    };
    if let Some(id) = id {
        waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .queue
            .retain(|(x, _)| *x != id);
    }
    let Some(read) = read else {
        let mut out = serde_json::to_string(&Response::err(
            "closed: no request came, and the daemon needed the slot for another client",
        ))
        .unwrap_or_default();
        out.push('\n');
        let _ = w.try_write(out.as_bytes());
        return;
    };
    let response = match read {
        Err(_) => Response::err("no request received in time"),
        Ok(Err(e)) => Response::err(format!("reading the request: {e}")),
        Ok(Ok(_)) => match serde_json::from_str::<Request>(line.trim()) {
            Err(e) => Response::err(format!("bad request: {e}")),
            Ok(Request::StatusStream) => {
                stream_status(&tx, &mut w).await;
                return;
            }
            Ok(Request::Log { level }) => match crate::logstream::parse_level(&level) {
                Some(l) => {
                    stream_log(&hub, l, reader, &mut w).await;
                    return;
                }
                None => Response::err(format!(
                    "unknown log level \"{level}\" (expected error, warn, info, debug or trace)"
                )),
            },
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
