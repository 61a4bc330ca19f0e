//! IPsec SA lifetimes and rekeying in IKEv1 (RFC 2409 §5.5, RFC 2407 §4.5.4).
//!
//! IKEv1 has no rekey exchange: a Child SA is replaced by a new Quick Mode with the same client
//! IDs, make-before-break. The side that created a Child SA starts the new Quick Mode at the
//! child's `rekey_time` less up to 10 % (never after the negotiated lifetime); the new pair is
//! installed when the exchange completes, and the old pair is deleted a few seconds later with
//! a Delete payload, so that packets still in flight under the old SPIs arrive. An SA whose
//! negotiated lifetime ends is deleted and the peer told. The peer's rekey is just a Quick
//! Mode: its new pair is installed beside the old one, which its Delete (or its lifetime)
//! removes. When both ends rekey the same SA at once, [`IsakmpSa::add_child`] keeps one of the
//! two new pairs, the same on both ends.

use std::time::{Duration, Instant};

use ike_wire::v1::{PayloadType, ProtocolId, DOI_IPSEC};

use super::sa::{Child, IsakmpSa, Output};
use super::Ctx;
use crate::config::ChildConfig;
use crate::v2::Event;

/// How long an old Child SA outlives the one that replaced it.
pub(crate) const REKEY_OVERLAP: Duration = Duration::from_secs(5);
/// When a rekey failed, how long until the next attempt.
const RETRY: Duration = Duration::from_secs(30);

impl IsakmpSa {
    /// A Child SA just negotiated, with its rekey and expiry times.
    pub(crate) fn schedule(
        c: &mut Child,
        now: Instant,
        life: u32,
        created_by_us: bool,
        config: Option<&ChildConfig>,
    ) {
        let life = Duration::from_secs(u64::from(life.max(1)));
        c.expire_at = now + life;
        c.rekey_at = None;
        if !created_by_us {
            return;
        }
        if let Some(rekey) = config.and_then(|c| c.rekey_time) {
            // Up to 10 % earlier, spread by the SPI so that many SAs do not rekey at once.
            let jitter = rekey.mul_f64(f64::from(c.spi_in % 100) / 1000.0);
            let at = rekey.saturating_sub(jitter).min(life.mul_f64(0.9));
            c.rekey_at = Some(now + at);
        }
    }

    /// Lifetimes and rekeys of the Child SAs.
    pub(crate) fn children_tick(&mut self, now: Instant, ctx: &mut Ctx<'_>, out: &mut Output) {
        if !self.is_established() {
            return;
        }
        let mut gone = Vec::new();
        let mut rekey = Vec::new();
        for c in &mut self.children {
            if c.delete_at.is_some_and(|t| now >= t) {
                gone.push((c.spi_in, "replaced by a rekey"));
            } else if now >= c.expire_at {
                gone.push((c.spi_in, "its lifetime ended"));
            } else if c.rekey_at.is_some_and(|t| now >= t) && !c.rekeying {
                c.rekeying = true;
                rekey.push((c.name.clone(), c.spi_in));
            }
        }
        for (spi, why) in gone {
            tracing::info!(target: "ike", "deleting IPsec SA {spi:08x}_i: {why}");
            self.delete_child(spi, ctx, out);
        }
        for (name, spi) in rekey {
            tracing::info!(target: "ike", "rekeying IPsec SA {name} ({spi:08x}_i) with a new Quick Mode");
            let o = self.start_rekey(now, &name, spi, ctx);
            out.transmits.extend(o.transmits);
            out.events.extend(o.events);
        }
    }

    /// Removes a Child SA, telling the kernel and the peer.
    pub(crate) fn delete_child(&mut self, spi_in: u32, ctx: &mut Ctx<'_>, out: &mut Output) {
        let Some(i) = self.children.iter().position(|c| c.spi_in == spi_in) else {
            return;
        };
        let c = self.children.remove(i);
        let proto = match c.protocol {
            crate::ipsec::IpsecProtocol::Esp => ProtocolId::Esp,
            crate::ipsec::IpsecProtocol::Ah => ProtocolId::Ah,
        };
        let mut body = Vec::new();
        body.extend_from_slice(&DOI_IPSEC.to_be_bytes());
        body.push(proto.value());
        body.push(4);
        body.extend_from_slice(&1u16.to_be_bytes());
        body.extend_from_slice(&c.spi_in.to_be_bytes());
        out.transmits
            .extend(self.protected_message(PayloadType::Delete, &body, ctx));
        out.events.push(Event::ChildSaDelete {
            sa: self.handle,
            connection: self.conn.clone(),
            child: c.name,
            spi_in: c.spi_in,
            spi_out: c.spi_out,
        });
    }

    /// Adds a Child SA just negotiated. When another live one was negotiated to replace the
    /// same SA (both ends rekeyed it at once, or the peer rekeyed it twice), the one whose Quick
    /// Mode had the lower nonce is redundant: it is deleted after the overlap, with a Delete,
    /// so that one pair remains. Both ends see both exchanges' nonces and pick the same one.
    pub(crate) fn add_child(&mut self, now: Instant, mut c: Child) {
        let rival = c.replaces.and_then(|old| {
            self.children
                .iter_mut()
                .find(|x| x.replaces == Some(old) && x.delete_at.is_none() && x.spi_in != c.spi_in)
        });
        if let Some(rival) = rival {
            let rival_loses = rival.rank < c.rank;
            let (keep, lose) = if rival_loses {
                (c.spi_in, rival.spi_in)
            } else {
                (rival.spi_in, c.spi_in)
            };
            tracing::info!(
                target: "ike",
                "Quick Mode collision: two new IPsec SAs replace {:08x}_i; keeping {keep:08x}_i \
                 (higher nonce), deleting {lose:08x}_i",
                c.replaces.unwrap_or_default()
            );
            let loser = if rival_loses { rival } else { &mut c };
            loser.rekey_at = None;
            loser.delete_at = Some(now + REKEY_OVERLAP);
        }
        self.children.push(c);
    }

    /// A rekey Quick Mode completed: the old SA goes after the overlap.
    pub(crate) fn rekeyed(&mut self, now: Instant, old: Option<u32>) {
        if let Some(c) = old.and_then(|s| self.children.iter_mut().find(|c| c.spi_in == s)) {
            c.rekeying = false;
            c.rekey_at = None;
            c.delete_at = Some(now + REKEY_OVERLAP);
        }
    }

    /// A rekey Quick Mode failed: try again later, if the old SA lives long enough.
    pub(crate) fn rekey_failed(&mut self, now: Instant, old: Option<u32>) {
        if let Some(c) = old.and_then(|s| self.children.iter_mut().find(|c| c.spi_in == s)) {
            c.rekeying = false;
            c.rekey_at = Some(now + RETRY).filter(|t| *t < c.expire_at);
        }
    }
}
