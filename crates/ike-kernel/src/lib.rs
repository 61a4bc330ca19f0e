//! Kernel backends: where the Child SAs negotiated by `ike-proto` are installed.
//!
//! The daemon hands every [`ike_proto::v2::ChildSaInstall`] to an [`SaBackend`] and tells it
//! when a Child SA goes away or its peer moves. Two backends are planned:
//!
//! - [`NoneBackend`] (`kernel = "none"`): installs nothing. It logs what it would have
//!   installed (SPIs, selectors, mode, algorithm names, never keys) under the `kernel` tracing
//!   target and keeps an in-memory table, so that `ike status` can show Child SAs. For
//!   negotiation-only use and for tests on kernels without ESP.
//! - XFRM over netlink (`kernel = "xfrm"`): not implemented yet; [`backend`] answers
//!   [`KernelError::Unsupported`] for it.
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

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ike_proto::v2::{ChildSaInstall, Mode, Ts};

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
        BackendKind::Xfrm => Err(KernelError::Unsupported("xfrm backend not implemented yet")),
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
}

/// The `none` backend: installs nothing, logs and remembers.
#[derive(Debug, Default)]
pub struct NoneBackend {
    sas: BTreeMap<u32, InstalledSa>,
}

fn ts_list(ts: &[Ts]) -> String {
    ts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A traffic selector as strongSwan prints it: `10.88.1.0/24` when the range is a prefix, else
/// `start-end`, then `[protocol/ports]` when not all.
pub fn ts_text(ts: &Ts) -> String {
    fn bits(ip: IpAddr) -> (u128, u32) {
        match ip {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }
    let (s, width) = bits(ts.start);
    let (e, width_e) = bits(ts.end);
    let diff = s ^ e;
    let host_bits = 128 - diff.leading_zeros();
    let is_prefix = width == width_e
        && diff.checked_add(1).is_none_or(u128::is_power_of_two)
        && s & diff == 0
        && e & diff == diff;
    let mut out = if is_prefix {
        format!("{}/{}", ts.start, width.saturating_sub(host_bits))
    } else {
        format!("{}-{}", ts.start, ts.end)
    };
    if ts.protocol != 0 || ts.start_port != 0 || ts.end_port != u16::MAX {
        let ports = if ts.start_port == ts.end_port {
            ts.start_port.to_string()
        } else {
            format!("{}-{}", ts.start_port, ts.end_port)
        };
        out.push_str(&format!("[{}/{}]", ts.protocol, ports));
    }
    out
}

fn mode_word(mode: Mode) -> &'static str {
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
        let encap = match sa.encap {
            Some((l, r)) => format!(" udp-encap {l}->{r}"),
            None => String::new(),
        };
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
        self.sas.insert(
            sa.spi_in,
            InstalledSa {
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
            },
        );
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfrm_is_a_typed_error() {
        assert_eq!(
            backend(BackendKind::Xfrm).err(),
            Some(KernelError::Unsupported("xfrm backend not implemented yet"))
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
