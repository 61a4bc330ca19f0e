//! Dead peer detection for IKEv1 (RFC 3706): when nothing authenticated came from a peer that
//! announced DPD for the connection's `dpd_delay`, we send R-U-THERE (a protected notify with a
//! sequence number) and expect R-U-THERE-ACK with the same number; each retransmission carries
//! the next number, and an acknowledgement of any number still outstanding will do. When the
//! endpoint's retransmissions are exhausted the ISAKMP SA closes with
//! [`crate::CloseReason::Timeout`] and the connection's dead peer action runs, as in IKEv2:
//! clear, restart (a new Main Mode at once) or trap.

use std::time::Instant;

use ike_wire::v1::NotifyType;

use super::sa::{retransmit, IsakmpSa, Output, Retransmit, Sent, Tick};
use super::Ctx;
use crate::config::DpdAction;
use crate::v2::{CloseReason, Event};

/// An R-U-THERE under way.
pub(crate) struct Probe {
    /// The first and the last sequence number sent.
    pub(crate) first: u32,
    pub(crate) last: u32,
    pub(crate) timer: Retransmit,
}

impl IsakmpSa {
    /// When the next DPD step is due.
    pub(crate) fn dpd_deadline(&self, ctx_delay: Option<std::time::Duration>) -> Option<Instant> {
        if !self.is_established() || !self.peer_dpd {
            return None;
        }
        match &self.probe {
            Some(p) => Some(p.timer.next),
            None => ctx_delay.map(|d| self.last_heard + d),
        }
    }

    /// Sends R-U-THERE, or a retransmission of it, or gives up.
    pub(crate) fn dpd_tick(&mut self, now: Instant, ctx: &mut Ctx<'_>, out: &mut Output) -> bool {
        let Some(peer) = self.peer(ctx.peers).cloned() else {
            return false;
        };
        let Some(deadline) = self.dpd_deadline(peer.dpd_delay) else {
            return false;
        };
        if now < deadline {
            return false;
        }
        let seq = match self.probe.as_mut() {
            None => {
                let seq = self.dpd_seq;
                self.probe = Some(Probe {
                    first: seq,
                    last: seq,
                    timer: Retransmit::start(now, ctx.config),
                });
                seq
            }
            Some(p) => {
                let mut s = Sent {
                    bytes: Vec::new(),
                    awaiting: Some(p.timer),
                    answers: None,
                };
                match retransmit(&mut s, now, ctx.config) {
                    Tick::Idle => return false,
                    Tick::GiveUp => {
                        tracing::info!(target: "ike", "dead peer detection: no R-U-THERE-ACK from {}, the peer is dead", self.remote);
                        let o = self.close(CloseReason::Timeout);
                        out.events.extend(o.events);
                        out.closed = true;
                        match peer.dpd_action {
                            DpdAction::Clear => {}
                            DpdAction::Restart => out.restart = Some(now),
                            DpdAction::Trap => out.events.push(Event::TrapInstall {
                                sa: self.handle,
                                connection: self.conn.clone(),
                            }),
                        }
                        return true;
                    }
                    Tick::Resend => {}
                }
                p.timer = s.awaiting.unwrap_or(p.timer);
                p.last = p.last.wrapping_add(1);
                p.last
            }
        };
        self.dpd_seq = seq.wrapping_add(1);
        tracing::debug!(target: "ike", "dead peer detection: sending R-U-THERE {seq}");
        if let Some(t) = self.send_notify(NotifyType::RUThere, &seq.to_be_bytes(), ctx) {
            out.transmits.push(t);
        }
        false
    }

    /// An R-U-THERE-ACK: ends the probe if it acknowledges one of its numbers.
    pub(crate) fn dpd_ack(&mut self, data: &[u8]) {
        let Ok(b) = <[u8; 4]>::try_from(data) else {
            return;
        };
        let seq = u32::from_be_bytes(b);
        if let Some(p) = &self.probe {
            if seq.wrapping_sub(p.first) <= p.last.wrapping_sub(p.first) {
                tracing::debug!(target: "ike", "dead peer detection: R-U-THERE-ACK {seq}");
                self.probe = None;
            }
        }
    }
}
