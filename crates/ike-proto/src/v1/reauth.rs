//! ISAKMP SA lifetime and re-authentication (RFC 2409 §5: an ISAKMP SA cannot be rekeyed, only
//! replaced by a new Phase 1).
//!
//! The side that set up an ISAKMP SA starts a new Main Mode (or Aggressive Mode) with the same
//! peer at the connection's `rekey_time` less up to 10 %, never after 90 % of the negotiated
//! lifetime, without INITIAL-CONTACT. When it is established the IPsec SAs move to it
//! unchanged (they do not depend on the ISAKMP SA that negotiated them), the old ISAKMP SA is
//! deleted with a Delete for it alone, and [`crate::Event::IkeSaRekeyed`] tells the driver. A
//! peer that deletes an ISAKMP SA while a newer one with the same identities is established
//! gets the same treatment: its IPsec SAs move to the newer one instead of being deleted (this
//! is how strongSwan re-authenticates in IKEv1). An ISAKMP SA whose negotiated lifetime ends
//! is deleted, the peer told; its IPsec SAs move to a newer ISAKMP SA if there is one, else go.
//! When both ends re-authenticate at once, `Engine::settle_siblings` keeps one of the two new
//! ISAKMP SAs, the same on both ends.

use std::time::{Duration, Instant};

use ike_wire::v1::{PayloadType, ProtocolId, DOI_IPSEC};

use super::sa::{IsakmpSa, Output};
use super::Ctx;
use crate::v2::{CloseReason, Event};

impl IsakmpSa {
    /// Sets the re-authentication and expiry times when the SA is established.
    pub(crate) fn schedule_phase1(&mut self, now: Instant, rekey_time: Option<Duration>) {
        let negotiated = self.chosen.map_or(self.life_cap, |c| c.life);
        let life = Duration::from_secs(u64::from(negotiated.min(self.life_cap).max(1)));
        self.expire_at = Some(now + life);
        self.reauth_at = None;
        if !self.initiator {
            return;
        }
        if let Some(rekey) = rekey_time {
            let jitter = rekey.mul_f64(f64::from(self.icookie[7] % 100) / 1000.0);
            self.reauth_at = Some(now + rekey.saturating_sub(jitter).min(life.mul_f64(0.9)));
        }
    }

    /// Re-authentication and expiry; `true` when the SA closed.
    pub(crate) fn phase1_tick(
        &mut self,
        now: Instant,
        ctx: &mut Ctx<'_>,
        out: &mut Output,
    ) -> bool {
        if !self.is_established() {
            return false;
        }
        if self.expire_at.is_some_and(|t| now >= t) {
            tracing::info!(target: "ike", "ISAKMP SA lifetime ended: deleting it");
            self.delete_isakmp_only(ctx, out);
            out.orphans = std::mem::take(&mut self.children);
            let o = self.close(CloseReason::Deleted);
            out.events.extend(o.events);
            out.closed = true;
            return true;
        }
        if self.reauth_at.is_some_and(|t| now >= t) {
            self.reauth_at = None;
            tracing::info!(target: "ike", "re-authenticating: a new ISAKMP SA will replace this one");
            out.reauth = Some(now);
        }
        false
    }

    /// Sends a Delete for this ISAKMP SA alone (its IPsec SAs stay).
    pub(crate) fn delete_isakmp_only(&mut self, ctx: &mut Ctx<'_>, out: &mut Output) {
        let mut body = Vec::new();
        body.extend_from_slice(&DOI_IPSEC.to_be_bytes());
        body.push(ProtocolId::Isakmp.value());
        body.push(16);
        body.extend_from_slice(&1u16.to_be_bytes());
        body.extend_from_slice(&self.icookie);
        body.extend_from_slice(&self.rcookie);
        out.transmits
            .extend(self.protected_message(PayloadType::Delete, &body, ctx));
    }

    /// Takes the IPsec SAs of an older ISAKMP SA with the same peer.
    pub(crate) fn adopt(&mut self, children: Vec<super::sa::Child>) {
        self.children.extend(children);
        // Two live IPsec SAs of the same child and selectors, neither a rekey of the other:
        // both ends set up the connection at once, each on its own ISAKMP SA. The one whose
        // Quick Mode had the lower nonce goes after the overlap (the rule of Quick Mode
        // collisions, `add_child`), so both ends delete the same one.
        let at = self.last_heard + super::rekey::REKEY_OVERLAP;
        let live: Vec<usize> = (0..self.children.len())
            .filter(|&i| self.children.get(i).is_some_and(|c| c.delete_at.is_none()))
            .collect();
        let mut losers = Vec::new();
        for (n, &i) in live.iter().enumerate() {
            for &j in live.iter().skip(n + 1) {
                let (Some(a), Some(b)) = (self.children.get(i), self.children.get(j)) else {
                    continue;
                };
                let twins = a.name == b.name
                    && a.local_ts == b.local_ts
                    && a.remote_ts == b.remote_ts
                    && a.replaces != Some(b.spi_in)
                    && b.replaces != Some(a.spi_in);
                if twins {
                    losers.push(if a.rank < b.rank { i } else { j });
                }
            }
        }
        for i in losers {
            if let Some(c) = self.children.get_mut(i) {
                if c.delete_at.is_none() {
                    tracing::info!(target: "ike", "two IPsec SAs of {} with the same selectors (both ends initiated): deleting {:08x}_i (lower nonce) after the overlap", c.name, c.spi_in);
                    c.rekey_at = None;
                    c.delete_at = Some(at);
                }
            }
        }
    }

    /// The event that tells the driver the children of `old` are now this SA's.
    pub(crate) fn rekeyed_event(&self, old: crate::v2::SaHandle) -> Event {
        Event::IkeSaRekeyed {
            old,
            new: self.handle,
            spi_i: self.icookie,
            spi_r: self.rcookie,
        }
    }
}
