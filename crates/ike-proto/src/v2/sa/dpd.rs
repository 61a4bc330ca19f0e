//! Dead peer detection (RFC 7296 §2.4) and what follows a dead peer.
//!
//! When nothing authenticated came from the peer of an established IKE SA for the connection's
//! `dpd_delay`, and no request of ours is outstanding, we send an empty INFORMATIONAL request
//! (a liveness check). Every authenticated message counts as a sign of life; ESP traffic is not
//! seen by the engine. When the retransmissions of any request on an established SA give up,
//! the SA closes with [`CloseReason::Timeout`] and the connection's [`DpdAction`] follows:
//! `clear` does nothing more, `restart` initiates the connection again from the endpoint (a new
//! IKE SA, a new handle), `trap` emits [`Event::TrapInstall`]. A failed IKE_SA_INIT or
//! IKE_AUTH, or a failed Delete, only closes: the connection never came up, or we wanted it
//! gone.

use crate::v2::entropy::Entropy;
use std::net::SocketAddr;
use std::time::Instant;

use super::{IkeSa, Output, RequestKind, State};
use crate::v2::{CloseReason, Endpoint, Event};
use crate::v2::{DpdAction, EndpointConfig, PeerConfig};

/// Signs of life from the peer.
pub(crate) struct Liveness {
    last_received: Instant,
}

impl Liveness {
    pub(crate) fn new(now: Instant) -> Self {
        Self { last_received: now }
    }
}

/// A connection to initiate again once its dead IKE SA is gone.
pub(crate) struct Restart {
    at: Instant,
    local: SocketAddr,
    peer_idx: usize,
}

impl IkeSa {
    /// An authenticated message arrived.
    pub(super) fn note_received(&mut self) {
        self.liveness.last_received = self.clock;
    }

    /// When the next liveness check is due, if one is.
    pub(super) fn dpd_at(&self, peer: Option<&PeerConfig>) -> Option<Instant> {
        let delay = peer?.dpd_delay.filter(|d| !d.is_zero())?;
        let idle = matches!(self.state, State::Established)
            && self.window.outstanding.is_none()
            && self.queue.is_empty()
            && !self.rekey.replaced();
        idle.then(|| self.liveness.last_received + delay)
    }

    pub(super) fn run_dpd(
        &mut self,
        now: Instant,
        peer: Option<&PeerConfig>,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        if self.dpd_at(peer).is_none_or(|t| t > now) {
            return;
        }
        let o = self.start_liveness(now, config, rng);
        if o.transmits.is_empty() {
            // Nothing could be sent (no keys): try again after another delay, not at once.
            self.liveness.last_received = now;
        }
        out.transmits.extend(o.transmits);
        out.events.extend(o.events);
    }

    /// The retransmissions of our `kind` request gave up: close, then the dead peer action.
    pub(super) fn give_up(
        &mut self,
        kind: RequestKind,
        peer: Option<&PeerConfig>,
        out: &mut Output,
    ) {
        let was_up = matches!(self.state, State::Established)
            && kind != RequestKind::Delete
            && !self.rekey.replaced();
        self.close(out, CloseReason::Timeout);
        if !was_up {
            return;
        }
        match peer.map(|p| p.dpd_action) {
            Some(DpdAction::Restart) => {
                out.restart = Some(Restart {
                    at: self.clock,
                    local: self.nat.origin_local(),
                    peer_idx: self.peer_idx,
                });
            }
            Some(DpdAction::Trap) => out.events.push(Event::TrapInstall {
                sa: self.handle,
                connection: self.connection.clone(),
            }),
            Some(DpdAction::Clear) | None => {}
        }
    }
}

impl Endpoint {
    /// Initiates a connection again after its IKE SA died (`dpd_action = restart`). A
    /// connection without a remote address cannot be initiated and stays down, as with `clear`.
    pub(in crate::v2) fn reestablish(&mut self, r: Restart) {
        let Some(name) = self.peers.get(r.peer_idx).map(|p| p.name.clone()) else {
            return;
        };
        let mut local = r.local;
        if local.port() == crate::v2::NAT_T_PORT {
            // Start over where IKE starts (§2.23 floats again if there still is a NAT).
            local.set_port(500);
        }
        if let Ok(sa) = self.initiate(r.at, local, &name) {
            self.events.push_back(crate::v2::Event::IkeSaRestarting {
                sa,
                connection: name,
            });
        }
    }
}
