//! Kernel backends: where the Child SAs negotiated by `ike-proto` are installed.
//!
//! The daemon hands every [`ike_proto::ipsec::ChildSaInstall`] to an [`SaBackend`] and tells it
//! when a Child SA goes away or its peer moves. Two backends are planned:
//!
//! - [`NoneBackend`] (`kernel = "none"`): installs nothing. It logs what it would have
//!   installed (SPIs, selectors, mode, algorithm names, never keys) under the `kernel` tracing
//!   target and keeps an in-memory table, so that `ike status` can show Child SAs. For
//!   negotiation-only use and for tests on kernels without ESP.
//! - [`xfrm::XfrmBackend`] (`kernel = "xfrm"`): Linux XFRM over netlink: SAs, policies, SPI
//!   allocation, traps, acquire and expire notifications ([`xfrm::XfrmMonitor`]), counters.
//!
//! [`sockopt`] sets the two socket options the daemon's IKE sockets need with the `xfrm`
//! backend; it holds the only `unsafe` code of the workspace.
#![deny(unsafe_code)]
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

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ike_proto::ipsec::{ChildSaInstall, IpsecProtocol, Mode, Ts};

pub mod sockopt;
pub mod xfrm;

/// What a backend could not do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The backend does not exist yet or this system cannot run it.
    #[error("{0}")]
    Unsupported(&'static str),
    /// No installed SA with that inbound SPI.
    #[error("no installed SA with inbound SPI {0:08x}")]
    UnknownSa(u32),
    /// The kernel refused a request.
    #[error("{what}: {} (errno {errno})", std::io::Error::from_raw_os_error(*errno))]
    Os {
        /// The request (`XFRM_MSG_NEWSA`, `setsockopt(UDP_ENCAP)`).
        what: &'static str,
        /// The kernel's error number.
        errno: i32,
    },
    /// The kernel's answer could not be understood.
    #[error("unexpected answer from the kernel: {0}")]
    Malformed(String),
}

/// What the kernel tells the daemon (from [`xfrm::XfrmMonitor`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelEvent {
    /// Traffic hit a policy that has no SA yet (a trap): negotiate one.
    Acquire {
        /// The policy's reqid ([`SaBackend::trap_of_reqid`] names the child).
        reqid: u32,
        /// The packet's source.
        src: IpAddr,
        /// The packet's destination.
        dst: IpAddr,
    },
    /// An SA reached its soft (rekey) or hard (gone) limit.
    Expire {
        /// The SA's SPI ([`SaBackend::child_of_spi`] maps it to the Child SA).
        spi: u32,
        /// The SA's destination.
        dst: IpAddr,
        /// The SA's reqid.
        reqid: u32,
        /// Hard: the kernel removed the state.
        hard: bool,
    },
}

/// Outbound policies without SAs for a child, so that matching traffic makes the kernel ask
/// for an SA (`start_action = trap`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapPolicy {
    /// The connection.
    pub connection: String,
    /// The child.
    pub child: String,
    /// Our selectors (as configured).
    pub local_ts: Vec<Ts>,
    /// The peer's selectors (as configured).
    pub remote_ts: Vec<Ts>,
    /// Tunnel or transport.
    pub mode: Mode,
    /// ESP or AH: the protocol of the policies' template.
    pub protocol: IpsecProtocol,
    /// Our address.
    pub local: IpAddr,
    /// The peer's address.
    pub remote: IpAddr,
}

/// Which backend to build (mirrors the configuration's `kernel` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// Linux XFRM over netlink.
    Xfrm,
    /// Install nothing, log and remember.
    None,
}

/// Builds the backend of that kind.
pub fn backend(kind: BackendKind) -> Result<Box<dyn SaBackend>, KernelError> {
    match kind {
        BackendKind::None => Ok(Box::new(NoneBackend::default())),
        BackendKind::Xfrm => Ok(Box::new(xfrm::XfrmBackend::new()?)),
    }
}

/// An installed Child SA pair (inbound and outbound), as the backend knows it; no keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledSa {
    /// The connection's name.
    pub connection: String,
    /// The child's name.
    pub child: String,
    /// Our inbound SPI.
    pub spi_in: u32,
    /// Our outbound SPI.
    pub spi_out: u32,
    /// Negotiated ESP transforms.
    pub proposal: String,
    /// Our selectors.
    pub local_ts: Vec<Ts>,
    /// The peer's selectors.
    pub remote_ts: Vec<Ts>,
    /// Tunnel or transport.
    pub mode: Mode,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// UDP encapsulation ports, if any.
    pub encap: Option<(u16, u16)>,
    /// Bytes received with this SA.
    pub bytes_in: u64,
    /// Bytes sent with this SA.
    pub bytes_out: u64,
    /// Packets received with this SA.
    pub packets_in: u64,
    /// Packets sent with this SA.
    pub packets_out: u64,
    /// The kernel's use time of the pair (Unix seconds; the later of the two directions' XFRM
    /// `use_time`); `None`: not used yet, or a backend that counts nothing.
    pub use_time: Option<u64>,
}

impl InstalledSa {
    /// What a backend remembers of a Child SA it installs (counters at zero).
    pub fn new(sa: &ChildSaInstall) -> Self {
        Self {
            connection: sa.connection.clone(),
            child: sa.child.clone(),
            spi_in: sa.spi_in,
            spi_out: sa.spi_out,
            proposal: sa.proposal.clone(),
            local_ts: sa.local_ts.clone(),
            remote_ts: sa.remote_ts.clone(),
            mode: sa.mode,
            local: sa.local,
            remote: sa.remote,
            encap: sa.encap,
            bytes_in: 0,
            bytes_out: 0,
            packets_in: 0,
            packets_out: 0,
            use_time: None,
        }
    }
}

/// Installs and removes Child SAs (and, later, their policies).
pub trait SaBackend: Send {
    /// The backend's name for logs (`none`, `xfrm`).
    fn name(&self) -> &'static str;
    /// Installs both directions of a Child SA.
    fn install(&mut self, sa: &ChildSaInstall) -> Result<(), KernelError>;
    /// Removes the Child SA whose inbound SPI is `spi_in` (both directions).
    fn delete(&mut self, spi_in: u32) -> Result<(), KernelError>;
    /// The peer moved: the Child SAs with these inbound SPIs now go to `remote` (UDP
    /// encapsulated from `local`).
    fn update_address(&mut self, spis_in: &[u32], local: SocketAddr, remote: SocketAddr);
    /// The installed Child SA with inbound SPI `spi_in`.
    fn get(&self, spi_in: u32) -> Option<InstalledSa>;
    /// Every installed Child SA.
    fn list(&self) -> Vec<InstalledSa>;
    /// Where the engine should take inbound SPIs from ([`ike_proto::ipsec::SpiAllocator`]);
    /// `Ok(None)`: from its RNG.
    fn spi_allocator(
        &self,
    ) -> Result<Option<Box<dyn ike_proto::ipsec::SpiAllocator>>, KernelError> {
        Ok(None)
    }
    /// Installs a trap for a child (see [`TrapPolicy`]).
    fn install_trap(&mut self, trap: &TrapPolicy) -> Result<(), KernelError> {
        let _ = trap;
        Err(KernelError::Unsupported(
            "this backend cannot install traps",
        ))
    }
    /// Removes a child's trap, if any.
    fn uninstall_trap(&mut self, connection: &str, child: &str) {
        let _ = (connection, child);
    }
    /// The trapped (connection, child) whose policies carry `reqid`.
    fn trap_of_reqid(&self, reqid: u32) -> Option<(String, String)> {
        let _ = reqid;
        None
    }
    /// The inbound SPI of the installed Child SA that has `spi` as its inbound or outbound SPI.
    fn child_of_spi(&self, spi: u32) -> Option<u32> {
        let _ = spi;
        None
    }
}

/// The `none` backend: installs nothing, logs and remembers.
#[derive(Debug, Default)]
pub struct NoneBackend {
    sas: BTreeMap<u32, InstalledSa>,
}

pub(crate) fn ts_list(ts: &[Ts]) -> String {
    ts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A traffic selector as strongSwan prints it: `10.88.1.0/24` when the range is a prefix, else
/// `start-end`, then `[protocol/ports]` when not all.
pub fn ts_text(ts: &Ts) -> String {
    ts.to_string()
}

pub(crate) fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Tunnel => "tunnel",
        Mode::Transport => "transport",
    }
}

impl SaBackend for NoneBackend {
    fn name(&self) -> &'static str {
        "none"
    }

    fn install(&mut self, sa: &ChildSaInstall) -> Result<(), KernelError> {
        let mut encap = match sa.encap {
            Some((l, r)) => format!(" udp-encap {l}->{r}"),
            None => String::new(),
        };
        if let Some(old) = sa.outbound_after_delete {
            encap.push_str(&format!(", outbound after {old:08x} is deleted"));
        }
        tracing::info!(
            target: "kernel",
            "{}/{}: would install SAs in {:08x} out {:08x} {} {} {} === {} {} -> {}{} (kernel=none)",
            sa.connection,
            sa.child,
            sa.spi_in,
            sa.spi_out,
            mode_word(sa.mode),
            sa.proposal,
            ts_list(&sa.local_ts),
            ts_list(&sa.remote_ts),
            sa.local,
            sa.remote,
            encap,
        );
        self.sas.insert(sa.spi_in, InstalledSa::new(sa));
        Ok(())
    }

    fn delete(&mut self, spi_in: u32) -> Result<(), KernelError> {
        let sa = self
            .sas
            .remove(&spi_in)
            .ok_or(KernelError::UnknownSa(spi_in))?;
        tracing::info!(
            target: "kernel",
            "{}/{}: would delete SAs in {:08x} out {:08x} (kernel=none)",
            sa.connection,
            sa.child,
            sa.spi_in,
            sa.spi_out,
        );
        Ok(())
    }

    fn update_address(&mut self, spis_in: &[u32], local: SocketAddr, remote: SocketAddr) {
        for spi in spis_in {
            if let Some(sa) = self.sas.get_mut(spi) {
                tracing::info!(
                    target: "kernel",
                    "{}/{}: would move SAs in {:08x} out {:08x} to {} -> {} (kernel=none)",
                    sa.connection, sa.child, sa.spi_in, sa.spi_out, local, remote,
                );
                sa.local = local;
                sa.remote = remote;
                sa.encap = Some((local.port(), remote.port()));
            }
        }
    }

    fn get(&self, spi_in: u32) -> Option<InstalledSa> {
        self.sas.get(&spi_in).cloned()
    }

    fn list(&self) -> Vec<InstalledSa> {
        self.sas.values().cloned().collect()
    }

    fn install_trap(&mut self, trap: &TrapPolicy) -> Result<(), KernelError> {
        tracing::info!(
            target: "kernel",
            "{}/{}: would install a trap {} {} === {} {} -> {} (kernel=none)",
            trap.connection, trap.child, mode_word(trap.mode), ts_list(&trap.local_ts),
            ts_list(&trap.remote_ts), trap.local, trap.remote,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_name_the_request_and_errno() {
        let e = KernelError::Os {
            what: "XFRM_MSG_NEWSA",
            errno: 38,
        };
        assert_eq!(
            e.to_string(),
            "XFRM_MSG_NEWSA: Function not implemented (os error 38) (errno 38)"
        );
    }

    #[test]
    fn none_backend_delete_unknown() {
        let mut b = NoneBackend::default();
        assert_eq!(b.delete(7), Err(KernelError::UnknownSa(7)));
        assert!(b.list().is_empty());
    }

    fn ts(a: &str, b: &str, protocol: u8, ports: (u16, u16)) -> Ts {
        Ts {
            protocol,
            start_port: ports.0,
            end_port: ports.1,
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
        }
    }

    #[test]
    fn selectors_print_like_strongswan() {
        let all = (0, u16::MAX);
        assert_eq!(
            ts_text(&ts("10.88.1.0", "10.88.1.255", 0, all)),
            "10.88.1.0/24"
        );
        assert_eq!(ts_text(&ts("10.0.0.1", "10.0.0.1", 0, all)), "10.0.0.1/32");
        assert_eq!(
            ts_text(&ts("0.0.0.0", "255.255.255.255", 0, all)),
            "0.0.0.0/0"
        );
        assert_eq!(
            ts_text(&ts("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, all)),
            "::/0"
        );
        assert_eq!(
            ts_text(&ts("2001:db8::", "2001:db8::ffff", 0, all)),
            "2001:db8::/112"
        );
        assert_eq!(
            ts_text(&ts("10.0.0.1", "10.0.0.5", 0, all)),
            "10.0.0.1-10.0.0.5"
        );
        assert_eq!(
            ts_text(&ts("10.0.0.0", "10.0.0.255", 6, (443, 443))),
            "10.0.0.0/24[6/443]"
        );
    }
}
