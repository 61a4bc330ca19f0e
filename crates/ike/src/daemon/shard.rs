//! One engine shard: a thread with its own [`Endpoint`], which owns the IKE SAs whose SPIs name
//! it ([`ike_proto::shard`]). Nothing on the handshake path is shared with the other shards; the
//! kernel backend and the key log are (behind a mutex), and only Child SA installs and deletes
//! take them.
//!
//! The shard's loop takes datagrams from the receive tasks and requests from the coordinator,
//! sleeps until the engine's next timer, and after each input hands the engine's events to the
//! kernel backend before it sends the datagrams of the same step (the SAs an exchange created are
//! in the kernel before the message that completes it leaves).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ike_config::Config;
use ike_kernel::SaBackend;
use ike_proto::shard::Shard as ShardId;
use ike_proto::v2::{CloseReason, Endpoint, Event, Identity, IkeSaState, SaHandle};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use super::metrics::{Counters, Events, Totals};
use super::net::{self, Routes, Sock};
use super::{hex8, mode_word, sleep_until, SHUTDOWN_WAIT};
use crate::control::{ChildSaStatus, IkeSaStatus, Response};
use crate::keylog::KeyLog;

/// The kernel backend, shared by the shards and the coordinator.
pub(super) type Kernel = Arc<Mutex<Box<dyn SaBackend>>>;

/// What a connection looks like on one shard (for `up` and acquires).
#[derive(Debug, Default)]
pub(super) struct ConnSummary {
    /// An established IKE SA of the connection: its SPIs and its Child SAs' names.
    pub(super) established: Option<([u8; 8], [u8; 8], Vec<String>)>,
    /// An IKE SA of the connection that we initiated is being set up.
    pub(super) connecting: bool,
    /// This shard holds an IKE SA with the connection's peer (INITIAL_CONTACT must not go out).
    pub(super) peer_contacted: bool,
}

/// What `down` found on one shard.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DownResult {
    /// No IKE SA of the connection here.
    Nothing,
    /// Its IKE SAs here are deleted.
    Deleted,
}

/// What the coordinator and the receive tasks ask of a shard.
pub(super) enum ShardInput {
    /// An IKE message (the non-ESP marker already stripped) that arrived on socket `sock`.
    Datagram {
        sock: usize,
        from: SocketAddr,
        /// The local address it was sent to (`IP_PKTINFO`), when the socket says.
        local: Option<IpAddr>,
        data: Vec<u8>,
    },
    Status(oneshot::Sender<Vec<IkeSaStatus>>),
    /// This shard's counters.
    Stats(oneshot::Sender<crate::control::Stats>),
    /// At most `limit` IKE SAs after handle `after`, and the last handle of the page.
    StatusPage {
        after: Option<SaHandle>,
        limit: usize,
        reply: oneshot::Sender<(Vec<IkeSaStatus>, Option<SaHandle>)>,
    },
    Lookup {
        name: String,
        reply: oneshot::Sender<ConnSummary>,
    },
    /// Bring the connection up here (or wait for the initiation under way here).
    Up {
        name: String,
        may_contact: bool,
        reply: Option<oneshot::Sender<Response>>,
    },
    Down {
        name: String,
        reply: oneshot::Sender<DownResult>,
    },
    /// Rekey the connection's SAs held here; the answer counts the rekeys started.
    Rekey {
        name: String,
        child: Option<String>,
        ike: bool,
        reply: oneshot::Sender<usize>,
    },
    /// Add a child to this shard's established IKE SA of the connection (a kernel acquire).
    CreateChild {
        name: String,
        child: String,
    },
    /// The kernel's soft or hard lifetime of a Child SA (its SA's SPI) ran out.
    KernelExpire {
        spi: u32,
        hard: bool,
    },
    /// Another shard's IKE SA, established at that instant, received INITIAL_CONTACT for this
    /// pair of identities.
    ReplaceStale((Identity, Identity), Instant),
    /// A reloaded configuration: delete the IKE SAs of `gone` connections, then take `config`.
    Reload {
        config: Arc<Config>,
        gone: Arc<HashSet<String>>,
    },
    /// Delete every IKE SA, wait for the peers (bounded), answer, and stop.
    Shutdown(oneshot::Sender<()>),
}

/// What a shard tells the coordinator.
pub(super) enum ToCoordinator {
    /// A dead peer's connection wants its trap policies (`dpd_action = trap`).
    InstallTraps(String),
    /// An IKE SA received INITIAL_CONTACT: the other shards drop their stale SAs.
    InitialContact {
        from: usize,
        ids: (Identity, Identity),
        at: Instant,
    },
}

/// A `down` waiting for its IKE SAs to close.
struct DownWaiter {
    pending: HashSet<SaHandle>,
    reply: oneshot::Sender<DownResult>,
}

struct ShardState {
    index: usize,
    endpoint: Endpoint,
    config: Arc<Config>,
    kernel: Kernel,
    socks: Arc<Vec<Sock>>,
    routes: Routes,
    keylog: Option<Arc<Mutex<KeyLog>>>,
    to_coordinator: mpsc::UnboundedSender<ToCoordinator>,
    up_waiters: HashMap<SaHandle, Vec<oneshot::Sender<Response>>>,
    down_waiters: Vec<DownWaiter>,
    totals: Totals,
    events: Arc<Events>,
}

/// What a shard is started with.
pub(super) struct ShardSetup {
    pub(super) index: usize,
    pub(super) count: usize,
    pub(super) config: Arc<Config>,
    pub(super) kernel: Kernel,
    pub(super) socks: Arc<Vec<Sock>>,
    pub(super) keylog: Option<Arc<Mutex<KeyLog>>>,
    pub(super) to_coordinator: mpsc::UnboundedSender<ToCoordinator>,
    pub(super) totals: Totals,
    pub(super) events: Arc<Events>,
}

/// How many inputs wait for a shard before the receive tasks drop datagrams.
const QUEUE: usize = 4096;

/// Where a shard runs.
pub(super) enum Running {
    /// On its own thread.
    Thread(std::thread::JoinHandle<()>),
    /// As a task on the coordinator's runtime (shard 0: the receive tasks hand it datagrams
    /// without a thread switch, which is all there is with one shard).
    Task(tokio::task::JoinHandle<()>),
}

/// Starts shard `setup.index`: shard 0 as a task on the current (coordinator's) runtime, the
/// others on threads of their own; returns its input channel and where it runs.
pub(super) fn spawn(setup: ShardSetup) -> anyhow::Result<(mpsc::Sender<ShardInput>, Running)> {
    let id = ShardId::new(
        u8::try_from(setup.index).unwrap_or(0),
        u8::try_from(setup.count).unwrap_or(1),
    )
    .context("shard number out of range")?;
    let mut endpoint_config = setup.config.daemon.endpoint.clone();
    endpoint_config.shard = id;
    let peers = setup
        .config
        .connections
        .iter()
        .map(|c| c.peer.clone())
        .collect();
    let mut endpoint = Endpoint::new(
        endpoint_config,
        peers,
        Box::new(ike_crypto::rng::SystemRng::new()),
    )
    .context("starting the IKEv2 engine")?;
    let allocator = setup
        .kernel
        .lock()
        .map_err(|_| anyhow::anyhow!("kernel backend lock poisoned"))?
        .spi_allocator();
    match allocator {
        Ok(a) => endpoint.set_spi_allocator(a),
        Err(e) => anyhow::bail!("kernel backend: cannot allocate SPIs: {e}"),
    }
    let (tx, rx) = mpsc::channel(QUEUE);
    let state = ShardState {
        index: setup.index,
        endpoint,
        config: setup.config,
        kernel: setup.kernel,
        socks: setup.socks,
        routes: Routes::default(),
        keylog: setup.keylog,
        to_coordinator: setup.to_coordinator,
        up_waiters: HashMap::new(),
        down_waiters: Vec::new(),
        totals: setup.totals,
        events: setup.events,
    };
    if setup.index == 0 {
        return Ok((tx, Running::Task(tokio::spawn(state.run(rx)))));
    }
    let thread = std::thread::Builder::new()
        .name(format!("ike-shard-{}", setup.index))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    error!(target: "ike", "shard {}: no runtime: {e}", state.index);
                    return;
                }
            };
            rt.block_on(state.run(rx));
        })
        .context("starting a shard thread")?;
    Ok((tx, Running::Thread(thread)))
}

impl ShardState {
    async fn run(mut self, mut rx: mpsc::Receiver<ShardInput>) {
        loop {
            let deadline = self.endpoint.poll_timeout();
            tokio::select! {
                input = rx.recv() => match input {
                    Some(ShardInput::Shutdown(done)) => {
                        self.shutdown(&mut rx).await;
                        let _ = done.send(());
                        return;
                    }
                    Some(input) => self.input(input),
                    None => return,
                },
                _ = sleep_until(deadline) => {
                    self.clock();
                    self.endpoint.handle_timeout(Instant::now());
                }
            }
            self.flush();
        }
    }

    /// Tells the engine the wall-clock time; called before engine calls.
    fn clock(&mut self) {
        if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
            self.endpoint
                .set_unix_time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        }
    }

    fn kernel(&self) -> std::sync::MutexGuard<'_, Box<dyn SaBackend>> {
        // A panic while holding the lock cannot leave the backend half-updated in a way that
        // matters more than losing it: go on with it.
        self.kernel.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn input(&mut self, input: ShardInput) {
        match input {
            ShardInput::Datagram {
                sock,
                from,
                local,
                data,
            } => self.datagram(sock, from, local, &data),
            ShardInput::Status(reply) => {
                let _ = reply.send(self.status(self.endpoint.status(Instant::now())));
            }
            ShardInput::Stats(reply) => {
                let mut st = crate::control::Stats::default();
                for sa in self.endpoint.status(Instant::now()) {
                    *st.ike_sas
                        .entry(sa.version.to_string())
                        .or_default()
                        .entry(sa.state.to_string())
                        .or_default() += 1;
                    st.child_sas += sa.children.len() as u64;
                }
                let a = self.endpoint.stats();
                st.half_open = self.endpoint.half_open_count() as u64;
                st.cookies_active =
                    self.endpoint.half_open_count() >= self.config.daemon.endpoint.cookie_threshold;
                st.cookies_sent = a.cookies_sent;
                st.retransmissions = a.retransmissions;
                for (reason, n) in a.drops.iter().filter(|(_, n)| *n > 0) {
                    st.drops.insert(reason.key().to_owned(), n);
                }
                let _ = reply.send(st);
            }
            ShardInput::StatusPage {
                after,
                limit,
                reply,
            } => {
                let page = self.endpoint.status_page(after, limit, Instant::now());
                let last = page.last().map(|s| s.sa);
                let _ = reply.send((self.status(page), last));
            }
            ShardInput::Lookup { name, reply } => {
                let _ = reply.send(self.lookup(&name));
            }
            ShardInput::Up {
                name,
                may_contact,
                reply,
            } => self.up(&name, may_contact, reply),
            ShardInput::Down { name, reply } => self.down(&name, reply),
            ShardInput::Rekey {
                name,
                child,
                ike,
                reply,
            } => {
                let n = self.rekey(&name, child.as_deref(), ike);
                let _ = reply.send(n);
            }
            ShardInput::CreateChild { name, child } => self.create_child(&name, &child),
            ShardInput::KernelExpire { spi, hard } => self.expire(spi, hard),
            ShardInput::ReplaceStale(ids, at) => self.endpoint.replace_stale(&ids, at),
            ShardInput::Reload { config, gone } => self.reload(config, &gone),
            ShardInput::Shutdown(done) => {
                let _ = done.send(());
            }
        }
    }

    fn datagram(&mut self, sock: usize, from: SocketAddr, to: Option<IpAddr>, data: &[u8]) {
        let Some(bound) = self.socks.get(sock).map(|s| s.bound) else {
            return;
        };
        let local = if bound.ip().is_unspecified() {
            // The address the peer sent to (IP_PKTINFO), else the routing table's guess.
            let ip = to
                .filter(|ip| !ip.is_unspecified())
                .or_else(|| self.routes.source_towards(from.ip()))
                .unwrap_or(bound.ip());
            SocketAddr::new(ip, bound.port())
        } else {
            bound
        };
        self.clock();
        self.endpoint
            .handle_datagram(Instant::now(), local, from, data);
    }

    fn lookup(&self, name: &str) -> ConnSummary {
        let now = Instant::now();
        let mut summary = ConnSummary {
            peer_contacted: self.endpoint.peer_contacted(name),
            ..ConnSummary::default()
        };
        for h in self.endpoint.sas_of(name) {
            let Some(s) = self.endpoint.sa_status(h, now) else {
                continue;
            };
            match s.state {
                IkeSaState::Established if summary.established.is_none() => {
                    let children = s.children.iter().map(|c| c.name.clone()).collect();
                    summary.established = Some((s.spi_i, s.spi_r, children));
                }
                IkeSaState::Connecting if s.initiator => summary.connecting = true,
                _ => {}
            }
        }
        summary
    }

    fn up(&mut self, name: &str, may_contact: bool, reply: Option<oneshot::Sender<Response>>) {
        let respond = |reply: Option<oneshot::Sender<Response>>, r: Response| {
            if let Some(tx) = reply {
                let _ = tx.send(r);
            }
        };
        let now = Instant::now();
        // An initiation under way here: wait for that one rather than start a second IKE SA.
        let connecting = self.endpoint.sas_of(name).into_iter().find(|h| {
            self.endpoint
                .sa_status(*h, now)
                .is_some_and(|s| s.state == IkeSaState::Connecting && s.initiator)
        });
        if let Some(h) = connecting {
            if let Some(tx) = reply {
                self.up_waiters.entry(h).or_default().push(tx);
            }
            return;
        }
        let Some(conn) = self.config.connection(name).cloned() else {
            return respond(reply, Response::err(format!("no connection named {name}")));
        };
        let local = match net::initiate_local(&conn, &self.config, &self.socks, &mut self.routes) {
            Ok(l) => l,
            Err(e) => {
                warn!(target: "ike", "{name}: {e}");
                return respond(reply, Response::err(e));
            }
        };
        self.clock();
        match self
            .endpoint
            .initiate_with(Instant::now(), local, name, may_contact)
        {
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

    fn down(&mut self, name: &str, reply: oneshot::Sender<DownResult>) {
        let handles = self.endpoint.sas_of(name);
        if handles.is_empty() {
            let _ = reply.send(DownResult::Nothing);
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
            pending: handles.into_iter().collect(),
            reply,
        });
    }

    /// `ike rekey`: starts a rekey of each matching SA of the connection held here (an IKEv1
    /// IKE SA re-authenticates); returns how many were started.
    fn rekey(&mut self, name: &str, child: Option<&str>, ike: bool) -> usize {
        self.clock();
        let now = Instant::now();
        let mut started = 0;
        for h in self.endpoint.sas_of(name) {
            if !self.endpoint.is_established(h) {
                continue;
            }
            if ike {
                match self.endpoint.rekey_ike(now, h) {
                    Ok(()) => started += 1,
                    Err(e) => warn!(target: "ike", "{name}: rekeying the IKE SA: {e}"),
                }
                continue;
            }
            for (c, spi_in, _) in self.endpoint.child_sas(h) {
                if child.is_some_and(|w| w != c) {
                    continue;
                }
                match self.endpoint.rekey_child(now, h, spi_in) {
                    Ok(()) => {
                        info!(target: "ike", "{name}/{c}: rekeying Child SA {spi_in:08x}_i, as asked");
                        started += 1;
                    }
                    Err(e) => {
                        warn!(target: "ike", "{name}/{c}: rekeying Child SA {spi_in:08x}_i: {e}")
                    }
                }
            }
        }
        started
    }

    fn create_child(&mut self, name: &str, child: &str) {
        let now = Instant::now();
        let target = self.endpoint.sas_of(name).into_iter().find(|h| {
            self.endpoint
                .sa_status(*h, now)
                .is_some_and(|s| s.state == IkeSaState::Established)
        });
        if let Some(h) = target {
            self.clock();
            if let Err(e) = self.endpoint.create_child(Instant::now(), h, child) {
                warn!(target: "ike", "{name}/{child}: cannot create the Child SA: {e}");
            }
        }
    }

    /// Soft means rekey it now, hard means it is gone (tell the peer). Every shard hears of
    /// every expire; only the one holding the Child SA acts.
    fn expire(&mut self, spi: u32, hard: bool) {
        let Some(spi_in) = self.kernel().child_of_spi(spi) else {
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

    fn reload(&mut self, config: Arc<Config>, gone: &HashSet<String>) {
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
        self.endpoint
            .set_peers(config.connections.iter().map(|c| c.peer.clone()).collect());
        self.config = config;
    }

    fn flush(&mut self) {
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
                net::send(&self.socks, &t);
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
                let _ = w.reply.send(DownResult::Deleted);
            } else {
                keep.push(w);
            }
        }
        self.down_waiters = keep;
    }

    fn resolve_up(&mut self, sa: SaHandle, r: Response) {
        if let Some(ws) = self.up_waiters.remove(&sa) {
            for w in ws {
                let _ = w.send(r.clone());
            }
        }
    }

    /// The engine's status of SAs as `ike status` shows them; the kernel's byte counters are
    /// filled in by the coordinator, off the shards (`requests::with_counters`).
    fn status(&self, sas: Vec<ike_proto::v2::IkeSaStatus>) -> Vec<IkeSaStatus> {
        sas.into_iter()
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
                    .map(|c| ChildSaStatus {
                        name: c.name,
                        state: c.state.word().to_owned(),
                        spi_in: format!("{:08x}", c.spi_in),
                        spi_out: format!("{:08x}", c.spi_out),
                        local_ts: c.local_ts.iter().map(ike_kernel::ts_text).collect(),
                        remote_ts: c.remote_ts.iter().map(ike_kernel::ts_text).collect(),
                        mode: mode_word(c.mode).to_owned(),
                        proposal: c.proposal,
                        bytes_in: 0,
                        bytes_out: 0,
                        packets_in: 0,
                        packets_out: 0,
                        last_use_seconds: None,
                        rekey_seconds: c.rekey_in.map_or(0, |d| d.as_secs()),
                        expire_seconds: c.expire_in.map_or(0, |d| d.as_secs()),
                        total_bytes_in: 0,
                        total_bytes_out: 0,
                        total_packets_in: 0,
                        total_packets_out: 0,
                    })
                    .collect(),
            })
            .collect()
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
                version,
                handshake,
                ..
            } => {
                self.events.established(version, initiator, handshake);
                let unknown = SocketAddr::new(net::unspecified(false), 0);
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
                if let Some(log) = &self.keylog {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = log.ike(&k) {
                        error!(target: "ike", "{}: writing the key log: {e}", k.connection);
                    }
                }
            }
            Event::IsakmpSaKeys(k) => {
                if let Some(log) = &self.keylog {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = log.isakmp(&k) {
                        error!(target: "ike", "{}: writing the key log: {e}", k.connection);
                    }
                }
            }
            Event::ChildSaInstall(c) => {
                if let Some(log) = &self.keylog {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = log.child(&c) {
                        error!(target: "ike", "{}/{}: writing the key log: {e}", c.connection, c.child);
                    }
                }
                // A rekey: the responder's new SA waits for the old one's delete, or the IKE
                // SA holds another Child SA of the same child.
                let rekey = c.outbound_after_delete.is_some()
                    || self
                        .endpoint
                        .child_sas(c.sa)
                        .iter()
                        .any(|(name, spi_in, _)| *name == c.child && *spi_in != c.spi_in);
                let installed = self.kernel().install(&c);
                if let Err(e) = installed {
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
                let ts = |v: &[ike_proto::ipsec::Ts]| -> Vec<String> {
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
                if rekey {
                    self.events.child_rekeyed();
                }
            }
            Event::ChildSaFailed {
                sa,
                connection,
                child,
                reason,
            } => {
                // The RFC notify name beside the words: what a user searches for.
                let why = match reason.notify().and_then(|n| n.name()) {
                    Some(name) => format!("{reason} ({name})"),
                    None => reason.to_string(),
                };
                warn!(target: "ike", "{connection}/{child}: Child SA failed: {why}");
                self.resolve_up(
                    sa,
                    Response::err(format!(
                        "{connection}: IKE SA up but child {child} failed: {why}"
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
                // Its last counters, before they go with it: the per-child totals outlive it.
                let last = {
                    let mut k = self.kernel();
                    let last = k.get(spi_in);
                    if let Err(e) = k.delete(spi_in) {
                        debug!(target: "kernel", "{connection}/{child}: {e}");
                    }
                    last
                };
                if let Some(k) = last {
                    self.totals
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry((connection, child))
                        .or_default()
                        .add(&Counters {
                            bytes_in: k.bytes_in,
                            bytes_out: k.bytes_out,
                            packets_in: k.packets_in,
                            packets_out: k.packets_out,
                        });
                }
            }
            Event::IkeSaRekeyed {
                old,
                new,
                spi_i,
                spi_r,
            } => {
                if let Some(s) = self.endpoint.sa_status(new, Instant::now()) {
                    self.events.ike_rekeyed(s.version);
                }
                let name = self.endpoint.connection_of(new).unwrap_or_default();
                // (An IKEv1 ISAKMP SA that was re-authenticated is already gone.)
                let from = self.endpoint.sa_spis(old).map_or_else(
                    || "an older IKE SA".to_owned(),
                    |(i, r)| format!("{}_i {}_r", hex8(&i), hex8(&r)),
                );
                info!(
                    target: "ike",
                    "{name}: IKE SA rekeyed {from} -> {}_i {}_r",
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
                version,
                established,
            } => {
                if !established {
                    self.events.failed(version, &reason);
                }
                let spis = format!(" {}_i {}_r", hex8(&spi_i), hex8(&spi_r));
                if reason == CloseReason::Rekeyed {
                    debug!(target: "ike", "{connection}: old IKE SA{spis} closed after rekey");
                } else {
                    info!(target: "ike", "{connection}: IKE SA{spis} closed: {}", reason);
                }
                self.resolve_up(
                    sa,
                    Response::err(format!("{connection}: failed: {}", reason)),
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
                self.kernel().update_address(&spis, local, remote);
            }
            Event::IkeSaSpis { .. } => {}
            Event::IkeSaDeleting {
                sa,
                connection,
                reason,
            } => {
                let (i, r) = self.endpoint.sa_spis(sa).unwrap_or_default();
                let spis = format!(" {}_i {}_r", hex8(&i), hex8(&r));
                info!(target: "ike", "{connection}: IKE SA{spis} {reason}: deleting");
            }
            Event::IkeSaRestarting { sa, connection } => {
                let unknown = SocketAddr::new(net::unspecified(false), 0);
                let (local, remote) = self
                    .endpoint
                    .sa_path(sa)
                    .map_or((unknown, unknown), |p| (p.local, p.remote));
                info!(target: "ike", "{connection}: dead peer: initiating IKE SA {local} -> {remote} again");
            }
            Event::InitialContact {
                local_id,
                remote_id,
                established_at,
                ..
            } => {
                let _ = self.to_coordinator.send(ToCoordinator::InitialContact {
                    from: self.index,
                    ids: (local_id, remote_id),
                    at: established_at,
                });
            }
            Event::TrapInstall { connection, .. } => {
                info!(target: "ike", "{connection}: dead peer: installing traps, traffic brings it back");
                let _ = self
                    .to_coordinator
                    .send(ToCoordinator::InstallTraps(connection));
            }
            other => debug!(target: "ike", "event {other:?}"),
        }
    }

    /// Deletes every IKE SA and waits (bounded) for the peers; requests get "shutting down".
    async fn shutdown(&mut self, rx: &mut mpsc::Receiver<ShardInput>) {
        self.clock();
        let now = Instant::now();
        for h in self.endpoint.handles_all() {
            if let (Some(name), Some((i, r))) =
                (self.endpoint.connection_of(h), self.endpoint.sa_spis(h))
            {
                info!(target: "ike", "{name}: deleting IKE SA {}_i {}_r", hex8(&i), hex8(&r));
            }
            let _ = self.endpoint.delete(now, h);
        }
        self.flush();
        let give_up = Instant::now() + SHUTDOWN_WAIT;
        while self.endpoint.sa_count() > 0 && Instant::now() < give_up {
            let deadline = self
                .endpoint
                .poll_timeout()
                .map_or(give_up, |d| d.min(give_up));
            tokio::select! {
                input = rx.recv() => match input {
                    Some(ShardInput::Datagram { sock, from, local, data }) => self.datagram(sock, from, local, &data),
                    Some(ShardInput::Up { reply: Some(r), .. }) => {
                        let _ = r.send(Response::err("the daemon is shutting down"));
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = sleep_until(Some(deadline)) => {
                    self.clock();
                    self.endpoint.handle_timeout(Instant::now());
                }
            }
            self.flush();
        }
        if self.endpoint.sa_count() > 0 {
            warn!(target: "ike", "{} IKE SAs did not finish deleting in {:?}", self.endpoint.sa_count(), SHUTDOWN_WAIT);
        }
        for (_, ws) in self.up_waiters.drain() {
            for w in ws {
                let _ = w.send(Response::err("the daemon is shutting down"));
            }
        }
    }
}
