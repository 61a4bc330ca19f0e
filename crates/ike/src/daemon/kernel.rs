//! The kernel's side of the daemon: the thread that waits for XFRM acquires and expires, the
//! trap policies of `start_action = trap` (and `dpd_action = trap`) children, and what an
//! acquire or an expire sets off.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ike_config::{Config, StartAction};
use ike_kernel::{KernelEvent, TrapPolicy};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::net::{self, Routes, Sock};
use super::requests::{self, Shards};
use super::shard::{Kernel, ShardInput};
use super::Input;

/// A thread that waits for the kernel's acquire and expire notifications and passes them on.
pub(super) fn spawn_monitor(tx: mpsc::Sender<Input>) -> anyhow::Result<()> {
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

/// The trap policies the daemon installed, by (connection, child).
#[derive(Default)]
pub(super) struct Traps(HashSet<(String, String)>);

impl Traps {
    /// Trap policies for every child with `start_action = "trap"` (not yet installed).
    pub(super) fn install_configured(
        &mut self,
        config: &Config,
        kernel: &Kernel,
        socks: &[Sock],
        routes: &mut Routes,
    ) {
        for c in &config.connections {
            for ch in c
                .children
                .iter()
                .filter(|ch| ch.start_action == StartAction::Trap)
            {
                self.install(config, kernel, socks, routes, &c.name, &ch.name);
            }
        }
    }

    /// Trap policies for every child of a connection (`dpd_action = trap`).
    pub(super) fn install_connection(
        &mut self,
        config: &Config,
        kernel: &Kernel,
        socks: &[Sock],
        routes: &mut Routes,
        conn: &str,
    ) {
        let children: Vec<String> = config
            .connection(conn)
            .map(|c| c.children.iter().map(|ch| ch.name.clone()).collect())
            .unwrap_or_default();
        for child in children {
            self.install(config, kernel, socks, routes, conn, &child);
        }
    }

    fn install(
        &mut self,
        config: &Config,
        kernel: &Kernel,
        socks: &[Sock],
        routes: &mut Routes,
        conn_name: &str,
        child_name: &str,
    ) {
        let key = (conn_name.to_owned(), child_name.to_owned());
        if self.0.contains(&key) {
            return;
        }
        let Some(conn) = config.connection(conn_name) else {
            return;
        };
        let Some((_, child)) = conn.child(child_name) else {
            return;
        };
        let Some(remote) = conn.remote_addrs.first().copied() else {
            warn!(target: "kernel", "{conn_name}/{child_name}: a trap needs a remote address (not %any)");
            return;
        };
        let local = match net::initiate_local(conn, config, socks, routes) {
            Ok(l) => l.ip(),
            Err(e) => {
                warn!(target: "kernel", "{conn_name}/{child_name}: no trap: {e}");
                return;
            }
        };
        let trap = TrapPolicy {
            connection: conn_name.to_owned(),
            child: child_name.to_owned(),
            local_ts: ike_proto::ipsec::Ts::resolve(&child.local_ts, local),
            remote_ts: ike_proto::ipsec::Ts::resolve(&child.remote_ts, remote),
            mode: child.mode,
            protocol: child.protocol(),
            local,
            remote,
        };
        let result = kernel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .install_trap(&trap);
        match result {
            Ok(()) => {
                self.0.insert(key);
            }
            Err(e) => {
                error!(target: "kernel", "{conn_name}/{child_name}: installing the trap: {e}")
            }
        }
    }

    /// Removes the trap policies of a connection.
    pub(super) fn uninstall_connection(&mut self, kernel: &Kernel, conn_name: &str) {
        let gone: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(c, _)| c == conn_name)
            .cloned()
            .collect();
        let mut k = kernel.lock().unwrap_or_else(|e| e.into_inner());
        for (c, ch) in gone {
            k.uninstall_trap(&c, &ch);
            self.0.remove(&(c, ch));
        }
    }

    /// Removes every trap policy.
    pub(super) fn uninstall_all(&mut self, kernel: &Kernel) {
        let names: HashSet<String> = self.0.iter().map(|(c, _)| c.clone()).collect();
        for name in names {
            self.uninstall_connection(kernel, &name);
        }
    }
}

/// Acquire: traffic hit a trap, so bring its connection up (or add the child to its established
/// IKE SA, CREATE_CHILD_SA). Expire: the kernel's lifetime of a Child SA ran out; every shard
/// hears of it and the one holding the Child SA rekeys it (soft) or deletes it (hard).
pub(super) fn event(e: KernelEvent, kernel: &Kernel, shards: &Shards, config: &Arc<Config>) {
    match e {
        KernelEvent::Acquire { reqid, src, dst } => {
            let trap = kernel
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .trap_of_reqid(reqid);
            let Some((conn, child)) = trap else {
                debug!(target: "kernel", "acquire for reqid {reqid} ({src} -> {dst}): no trap of ours");
                return;
            };
            tokio::spawn(acquire(
                shards.clone(),
                config.clone(),
                conn,
                child,
                src,
                dst,
            ));
        }
        KernelEvent::Expire { spi, hard, .. } => {
            for tx in shards.iter() {
                if tx.try_send(ShardInput::KernelExpire { spi, hard }).is_err() {
                    warn!(target: "kernel", "expire of SPI {spi:08x}: a shard is busy; the engine's own lifetime applies");
                }
            }
        }
        other => debug!(target: "kernel", "{other:?}"),
    }
}

async fn acquire(
    shards: Shards,
    config: Arc<Config>,
    conn: String,
    child: String,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
) {
    let summaries = requests::lookup(&shards, &conn).await;
    let established = summaries.iter().enumerate().find_map(|(i, s)| {
        s.established
            .as_ref()
            .map(|(_, _, ch)| (i, ch.contains(&child)))
    });
    match established {
        Some((_, true)) => {
            debug!(target: "kernel", "{conn}/{child}: acquire {src} -> {dst}: the Child SA is up already");
        }
        Some((shard, false)) => {
            info!(target: "kernel", "{conn}/{child}: acquire {src} -> {dst}: creating the Child SA");
            if let Some(tx) = shards.get(shard) {
                let _ = tx.send(ShardInput::CreateChild { name: conn, child }).await;
            }
        }
        None => {
            info!(target: "kernel", "{conn}/{child}: acquire {src} -> {dst}: initiating");
            requests::up(shards, config, conn, None).await;
        }
    }
}
