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
use std::net::SocketAddr;

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
}
