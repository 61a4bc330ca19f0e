//! The IKEv1 engine (RFC 2409 on ISAKMP, RFC 2408, with the IPsec DOI, RFC 2407).
//!
//! It is the SA table's second tenant: each ISAKMP SA (`sa::IsakmpSa`) is indexed by the
//! cookie we chose (the initiator cookie when we initiate, carrying our shard, the responder
//! cookie when we respond), arms the same kind of timer queue and counts in the same admission
//! counters and drop reasons as IKEv2; [`crate::Endpoint`] routes every ISAKMP datagram here and
//! reports through the same events and status types.
//!
//! Phase 1: Main Mode (`main_mode.rs`) and Aggressive Mode (`aggressive_mode.rs`) with
//! pre-shared keys, RSA/DSS/ECDSA signatures (`auth.rs`) and public-key encryption in both
//! modes (`pke.rs`); the ISAKMP Base and Authentication Only exchanges for connections that
//! enable them (`base.rs`); NAT traversal (`nat.rs`) and IKE fragments (`fragment.rs`).
//! After it: Quick Mode with and without PFS, several IPsec SAs per connection, rekeying and
//! its collisions (`quick_mode.rs`, `rekey.rs`), re-authentication (`reauth.rs`), New Group
//! Mode (`new_group.rs`), and the Informational exchange with HASH(1) for Deletes, notifies and
//! dead peer detection (`informational.rs`, `dpd.rs`); retransmission with back-off and
//! answers to repeated messages from the stored copy.

mod aggressive_mode;
mod auth;
mod base;
mod dpd;
mod fragment;
mod informational;
mod main_mode;
mod nat;
mod new_group;
mod pke;
mod protect;
mod quick_mode;
mod reauth;
mod rekey;
mod sa;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use ike_wire::group::DhGroup;
use ike_wire::v1::{self as wire, ExchangeType};

use crate::config::{EndpointConfig, IkeVersion, PeerConfig};
use crate::status::{DropReason, Drops, IkeSaStatus};
use crate::table::{SaTable, TableSa};
use crate::v2::{CloseReason, EngineError, Event, SaHandle, Transmit};
use sa::{IsakmpSa, Output};

pub(crate) use crate::v2::entropy::Entropy;

/// Eight octets in lowercase hex, for logs.
fn hex8(b: &[u8; 8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the endpoint lends the IKEv1 engine for one input.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a EndpointConfig,
    pub(crate) peers: &'a [Arc<PeerConfig>],
    pub(crate) rng: &'a mut Entropy,
    pub(crate) transmits: &'a mut VecDeque<Transmit>,
    pub(crate) events: &'a mut VecDeque<Event>,
    pub(crate) next_handle: &'a mut u64,
    pub(crate) drops: &'a mut Drops,
    /// The rate limit of the lines about undecodable datagrams.
    pub(crate) drop_log: &'a mut crate::status::DropLog,
    /// Wall-clock time for certificate validity (seconds since the Unix epoch).
    pub(crate) unix_now: Option<i64>,
    /// Half-open SAs of the IKEv2 engine, which count against the same caps.
    pub(crate) other_half_open: (usize, usize),
}

impl Ctx<'_> {
    /// A private group of the configuration (RFC 2409 §5.6), by number.
    pub(crate) fn private_group(&self, group: DhGroup) -> Option<&crate::config::PrivateGroup> {
        match group {
            DhGroup::Unknown(n) => self.config.private_groups.iter().find(|g| g.number == n),
            _ => None,
        }
    }

    /// Our key pair in `group`, a standard or a private one.
    pub(crate) fn dh_generate(
        &mut self,
        group: DhGroup,
    ) -> Result<Box<dyn ike_crypto::dh::KeyExchange>, ike_crypto::CryptoError> {
        match self.private_group(group).map(|g| g.group().clone()) {
            Some(g) => g.generate(&mut *self.rng),
            None => ike_crypto::dh::generate(group, &mut *self.rng),
        }
    }

    /// The length of KE data in `group`.
    pub(crate) fn dh_len(&self, group: DhGroup) -> Option<usize> {
        match self.private_group(group) {
            Some(g) => Some(g.group().public_value_len()),
            None => ike_crypto::dh::public_value_len(group),
        }
    }

    fn alloc_handle(&mut self) -> SaHandle {
        let h = SaHandle(*self.next_handle);
        *self.next_handle += 1;
        h
    }

    fn dropped(&mut self, reason: DropReason, from: SocketAddr) {
        tracing::debug!(target: "ike", "dropped an ISAKMP message from {from}: {reason}");
        self.drops.add(reason);
    }
}

impl TableSa for IsakmpSa {
    fn our_spi(&self) -> [u8; 8] {
        self.our_cookie()
    }

    fn init_key(&self) -> Option<(SocketAddr, [u8; 8])> {
        self.init_key
    }

    fn connection(&self) -> &str {
        &self.conn
    }

    fn spis(&self) -> ([u8; 8], [u8; 8]) {
        self.cookies()
    }

    fn half_open_from(&self) -> Option<IpAddr> {
        (!self.initiator && !self.is_established()).then_some(self.remote.ip())
    }

    fn identities(&self) -> Option<(crate::config::Identity, crate::config::Identity)> {
        self.remote_id
            .clone()
            .filter(|_| self.is_established())
            .map(|r| (self.local_id.clone(), r))
    }

    fn child_spis(&self, out: &mut Vec<u32>) {
        out.extend(self.children.iter().map(|c| c.spi_in));
    }
}

/// A local request on an ISAKMP SA ([`Engine::command`]).
pub(crate) enum Command {
    CreateChild(String),
    RekeyChild(u32),
    DeleteChild(u32),
    Reauthenticate,
}

/// The IKEv1 half of an endpoint.
pub(crate) struct Engine {
    table: SaTable<IsakmpSa>,
    /// The local secret of responder cookies (RFC 2408 §2.5.3).
    secret: [u8; 32],
    cookie_counter: u64,
    /// Messages sent again, for [`crate::status::AdmissionStats::retransmissions`].
    retransmissions: u64,
}

impl Engine {
    pub(crate) fn new(secret: [u8; 32]) -> Self {
        Self {
            table: SaTable::default(),
            secret,
            cookie_counter: 0,
            retransmissions: 0,
        }
    }

    pub(crate) fn retransmissions(&self) -> u64 {
        self.retransmissions
    }

    pub(crate) fn contains(&self, h: SaHandle) -> bool {
        self.table.get(h).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn half_open(&self) -> usize {
        self.table.half_open()
    }

    pub(crate) fn half_open_from(&self, ip: IpAddr) -> usize {
        self.table.half_open_from(ip)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.table.next_timeout()
    }

    pub(crate) fn handles(&self) -> impl Iterator<Item = SaHandle> + '_ {
        self.table.handles()
    }

    pub(crate) fn of_connection<'a>(&'a self, name: &str) -> impl Iterator<Item = SaHandle> + 'a {
        self.table.of_connection(name)
    }

    pub(crate) fn by_child(&self, spi_in: u32) -> Option<SaHandle> {
        self.table.by_child(spi_in)
    }

    pub(crate) fn has_identities(
        &self,
        local: &crate::config::Identity,
        remote: &crate::config::Identity,
    ) -> bool {
        self.table.has_identities(local, remote)
    }

    pub(crate) fn connection_of(&self, h: SaHandle) -> Option<&str> {
        self.table.get(h).map(|s| s.conn.as_str())
    }

    pub(crate) fn is_established(&self, h: SaHandle) -> bool {
        self.table.get(h).is_some_and(IsakmpSa::is_established)
    }

    pub(crate) fn sa_spis(&self, h: SaHandle) -> Option<([u8; 8], [u8; 8])> {
        self.table.get(h).map(IsakmpSa::cookies)
    }

    pub(crate) fn child_sas(&self, h: SaHandle) -> Vec<(String, u32, u32)> {
        self.table
            .get(h)
            .map(|s| {
                s.children
                    .iter()
                    .map(|c| (c.name.clone(), c.spi_in, c.spi_out))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn status(&self, h: SaHandle, now: Instant) -> Option<IkeSaStatus> {
        self.table.get(h).map(|s| s.status(now))
    }

    pub(crate) fn status_after(
        &self,
        after: Option<SaHandle>,
        limit: usize,
        now: Instant,
    ) -> Vec<IkeSaStatus> {
        self.table
            .iter_after(after)
            .take(limit)
            .map(|(_, s)| s.status(now))
            .collect()
    }

    #[cfg(any(test, feature = "test-hooks"))]
    pub(crate) fn audit(&self, config: &EndpointConfig) -> Result<(), String> {
        self.table.audit()?;
        for (h, sa) in self.table.iter() {
            if self.table.deadline(h) != sa.next_timeout(config) {
                return Err(format!("ISAKMP SA {h:?}: timer out of date"));
            }
        }
        Ok(())
    }

    /// A Quick Mode or Informational message as the peer of ISAKMP SA `h` would send it (test
    /// hook): `payloads` (type, body) after an optional HASH(1) (`hash`: `Some(true)` right,
    /// `Some(false)` wrong, `None` absent), encrypted under the IV of message ID `mid`, or in
    /// the clear.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn forge(
        &self,
        h: SaHandle,
        exchange: u8,
        mid: u32,
        payloads: &[(u8, Vec<u8>)],
        hash: Option<bool>,
        encrypt: bool,
    ) -> Option<Vec<u8>> {
        let sa = self.table.get(h)?;
        let keys = sa.keys.as_ref()?;
        let mut rest = protect::Chain::default();
        for (t, b) in payloads {
            rest.add(wire::PayloadType::from(*t), b);
        }
        let mut c = protect::Chain::default();
        if let Some(right) = hash {
            let mut v = ike_crypto::kdf::v1::informational_hash(
                keys.prf,
                keys.skeyid_a.expose(),
                mid,
                &rest.buf,
            )
            .expose()
            .to_vec();
            if !right {
                if let Some(b) = v.first_mut() {
                    *b ^= 1;
                }
            }
            c.add(wire::PayloadType::Hash, &v);
        }
        for (t, b) in payloads {
            c.add(wire::PayloadType::from(*t), b);
        }
        let ex = ExchangeType::from(exchange);
        if encrypt {
            protect::encrypted(
                &keys.cipher,
                &keys.phase2_iv(mid),
                sa.cookies(),
                ex,
                0,
                mid,
                &c,
            )
            .map(|(m, _)| m)
        } else {
            Some(protect::plain(sa.cookies(), ex, mid, &c))
        }
    }

    /// Starts Main Mode for connection `idx`.
    pub(crate) fn initiate(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        local: SocketAddr,
        idx: usize,
        initial_contact: bool,
    ) -> Result<SaHandle, EngineError> {
        let peer = ctx.peers.get(idx).cloned().ok_or(EngineError::UnknownSa)?;
        let remote_ip = *peer
            .remote_addrs
            .first()
            .ok_or_else(|| EngineError::NoRemoteAddress(peer.name.clone()))?;
        let remote = SocketAddr::new(remote_ip, 500);
        let cookie = loop {
            let c = ctx.rng.ike_spi()?;
            if !self.table.spi_taken(&c) {
                break c;
            }
        };
        let handle = ctx.alloc_handle();
        let (sa, bytes) = IsakmpSa::initiate(handle, idx, &peer, local, remote, cookie, now, ctx)?;
        let mut sa = sa;
        sa.send_initial_contact = initial_contact;
        ctx.transmits.push_back(Transmit::ike(local, remote, bytes));
        let next = sa.next_timeout(ctx.config);
        self.table.insert(handle, sa, next);
        Ok(handle)
    }

    /// Deletes an ISAKMP SA and its IPsec SAs, telling the peer (RFC 2408 §4.8, one
    /// Informational exchange per Delete payload).
    pub(crate) fn delete(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        h: SaHandle,
    ) -> Result<(), EngineError> {
        let _span = self.span_of(h).entered();
        let sa = self.table.get_mut(h).ok_or(EngineError::UnknownSa)?;
        let out = sa.delete(now, ctx);
        self.collect(ctx, h, out);
        Ok(())
    }

    /// A local request on an established ISAKMP SA (`ike rekey`, `ike down --child`, and the
    /// like): a new Quick Mode for a configured child, a rekey Quick Mode for an IPsec SA, a
    /// Delete for one, or a re-authentication (a new Phase 1 that takes over the IPsec SAs).
    pub(crate) fn command(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        h: SaHandle,
        cmd: Command,
    ) -> Result<(), EngineError> {
        let _span = self.span_of(h).entered();
        let sa = self.table.get_mut(h).ok_or(EngineError::UnknownSa)?;
        if !sa.is_established() {
            return Err(EngineError::NotEstablished);
        }
        let live = |sa: &IsakmpSa, spi: u32| {
            sa.children
                .iter()
                .find(|c| c.spi_in == spi && c.delete_at.is_none())
                .map(|c| (c.name.clone(), c.rekeying))
        };
        let unknown = |spi: u32| EngineError::UnknownChild(format!("SPI {spi:08x}"));
        let out = match cmd {
            Command::CreateChild(name) => {
                let configured = sa
                    .peer(ctx.peers)
                    .is_some_and(|p| p.children.iter().any(|c| c.name == name));
                if !configured {
                    return Err(EngineError::UnknownChild(name));
                }
                sa.start_quick_modes(now, vec![name], ctx)
            }
            Command::RekeyChild(spi) => {
                let (name, rekeying) = live(sa, spi).ok_or_else(|| unknown(spi))?;
                if rekeying {
                    return Ok(());
                }
                if let Some(c) = sa.children.iter_mut().find(|c| c.spi_in == spi) {
                    c.rekeying = true;
                }
                tracing::info!(target: "ike", "rekeying IPsec SA {name} ({spi:08x}_i) with a new Quick Mode, as asked");
                sa.start_rekey(now, &name, spi, ctx)
            }
            Command::DeleteChild(spi) => {
                live(sa, spi).ok_or_else(|| unknown(spi))?;
                let mut out = Output::default();
                sa.delete_child(spi, ctx, &mut out);
                out
            }
            Command::Reauthenticate => {
                let under_way = self.table.handles().any(|x| {
                    self.table
                        .get(x)
                        .is_some_and(|s| s.reauth_of == Some(h) && !s.is_established())
                });
                if under_way {
                    return Ok(());
                }
                tracing::info!(target: "ike", "re-authenticating, as asked: a new ISAKMP SA will replace this one");
                Output {
                    reauth: Some(now),
                    ..Output::default()
                }
            }
        };
        self.collect(ctx, h, out);
        Ok(())
    }

    /// Closes an SA without a word to the peer (a reload removed its connection, or
    /// INITIAL-CONTACT showed it stale).
    pub(crate) fn close_silently(&mut self, ctx: &mut Ctx<'_>, h: SaHandle, reason: CloseReason) {
        if let Some(mut sa) = self.table.remove(h) {
            let out = sa.close(reason);
            ctx.events.extend(out.events);
        }
    }

    /// After a reload: each SA follows its connection by name; one whose connection is gone
    /// closes without a word to the peer.
    pub(crate) fn reindex(
        &mut self,
        ctx: &mut Ctx<'_>,
        by_name: &std::collections::HashMap<String, usize>,
    ) {
        let handles: Vec<SaHandle> = self.table.handles().collect();
        for h in handles {
            let Some(sa) = self.table.get_mut(h) else {
                continue;
            };
            match by_name.get(&sa.conn) {
                Some(&idx)
                    if ctx
                        .peers
                        .get(idx)
                        .is_some_and(|p| p.version == IkeVersion::V1) =>
                {
                    sa.peer_idx = idx;
                    sa.dpd_delay = ctx.peers.get(idx).and_then(|p| p.dpd_delay);
                }
                _ => self.close_silently(ctx, h, CloseReason::Deleted),
            }
        }
    }

    /// The tracing span of an ISAKMP SA: its connection and cookies on every line inside it.
    fn span_of(&self, h: SaHandle) -> tracing::Span {
        match self.table.get(h) {
            Some(sa) => tracing::debug_span!(
                target: "ike",
                "isakmp_sa",
                conn = %sa.conn,
                cky_i = %hex8(&sa.icookie),
                cky_r = %hex8(&sa.rcookie)
            ),
            None => tracing::Span::none(),
        }
    }

    pub(crate) fn handle_timeout(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        for h in self.table.pop_due(now) {
            let _span = self.span_of(h).entered();
            if let Some(sa) = self.table.get_mut(h) {
                let out = sa.handle_timeout(now, ctx);
                self.collect(ctx, h, out);
            }
        }
    }

    /// One ISAKMP datagram.
    pub(crate) fn handle_datagram(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) {
        let msg = match wire::Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                if let Some(n) = ctx.drop_log.admit(now) {
                    tracing::debug!(target: "ike", "dropped {} bytes of ISAKMP from {remote}: {e}{}", data.len(), crate::status::suppressed_note(n));
                }
                ctx.drops.add(DropReason::Undecodable);
                return;
            }
        };
        let h = msg.header;
        if h.minor_version() != 0 {
            // RFC 2408 §5.1: a minor version we do not speak (an answer would be unauthenticated).
            if let Some(n) = ctx.drop_log.admit(now) {
                tracing::debug!(target: "ike", "dropped an ISAKMP message of version 1.{} from {remote}: only 1.0 is spoken{}", h.minor_version(), crate::status::suppressed_note(n));
            }
            ctx.drops.add(DropReason::Undecodable);
            return;
        }
        tracing::debug!(
            target: "ike",
            "received {} message (M-ID {:08x}{}) from {remote}",
            sa::exchange_name(h.exchange),
            h.message_id,
            if h.flags.encryption() { ", encrypted" } else { "" }
        );
        if h.rcookie == [0; 8] && h.exchange != ExchangeType::Informational {
            if matches!(
                h.exchange,
                ExchangeType::IdentityProtection
                    | ExchangeType::Aggressive
                    | ExchangeType::Base
                    | ExchangeType::AuthenticationOnly
            ) && h.message_id == 0
            {
                // The Base and Authentication Only exchanges (RFC 2408 §4.4, §4.6) are
                // answered only for connections that enable them, else refused with
                // INVALID-EXCHANGE-TYPE (`base.rs`).
                self.handle_mm1(ctx, now, local, remote, data, &msg);
            } else {
                ctx.dropped(DropReason::NotAnInitiation, remote);
            }
            return;
        }
        // Our cookie is the responder's when we responded, the initiator's when we initiated.
        let handle = [h.rcookie, h.icookie].iter().find_map(|c| {
            self.table.by_spi(c).filter(|x| {
                self.table
                    .get(*x)
                    .is_some_and(|s| s.matches(&h.icookie, &h.rcookie))
            })
        });
        let Some(handle) = handle else {
            ctx.dropped(DropReason::UnknownSpi, remote);
            return;
        };
        let _span = self.span_of(handle).entered();
        let Some(sa) = self.table.get_mut(handle) else {
            return;
        };
        let fragment = match &msg.body {
            wire::Body::Plain(p) => match p.as_slice() {
                [wire::Payload::Fragment(f)] => Some(f),
                _ => None,
            },
            wire::Body::Encrypted { .. } => None,
        };
        let out = match fragment {
            None => sa.handle_message(now, local, remote, data, &msg, ctx),
            Some(f) => {
                let Some(whole) = sa.reassemble(now, f) else {
                    return;
                };
                tracing::debug!(target: "ike", "reassembled a message of {} bytes from fragments", whole.len());
                match wire::Message::decode(&whole) {
                    // A fragment inside fragments, or cookies of another SA: dropped.
                    Ok(m)
                        if m.header.icookie == h.icookie
                            && m.header.rcookie == h.rcookie
                            && !matches!(&m.body, wire::Body::Plain(p) if p.iter().any(|x| matches!(x, wire::Payload::Fragment(_)))) =>
                    {
                        sa.handle_message(now, local, remote, &whole, &m, ctx)
                    }
                    _ => {
                        ctx.dropped(DropReason::Undecodable, remote);
                        return;
                    }
                }
            }
        };
        self.collect(ctx, handle, out);
    }

    fn collect(&mut self, ctx: &mut Ctx<'_>, h: SaHandle, mut out: Output) {
        if let Some((reason, from)) = out.dropped.take() {
            ctx.dropped(reason, from);
        }
        self.retransmissions += u64::from(out.retransmissions);
        if let Some(old) = out.replaced.take() {
            self.replace(ctx, old, h);
        }
        if !out.orphans.is_empty() {
            let orphans = std::mem::take(&mut out.orphans);
            self.rehome(ctx, h, orphans);
        }
        if out.initial_contact {
            // RFC 2407 §4.6.3.3: the peer holds no other SA with us: ours with the same pair of
            // identities are stale, if they were established before this one began. One
            // established while this one was negotiated is a sibling (both ends initiated at
            // once, each with INITIAL-CONTACT): `settle_siblings` picks the same survivor at
            // both ends, where closing it here would leave each end a different one.
            let created = self.table.get(h).map(|s| s.created);
            if let (Some(ids), Some(created)) =
                (self.table.get(h).and_then(TableSa::identities), created)
            {
                let stale: Vec<SaHandle> = self
                    .table
                    .with_identities(&ids)
                    .filter(|x| {
                        *x != h
                            && self
                                .table
                                .get(*x)
                                .and_then(|s| s.established_at)
                                .is_some_and(|t| t < created)
                    })
                    .collect();
                // Deleted with a Delete, not silently: if the peer did not restart but initiated
                // at the same time, it learns which SAs are gone, so both ends keep the same.
                let now = self.table.get(h).map(|s| s.last_heard);
                for s in stale {
                    match now {
                        Some(now) => {
                            let _ = self.delete(ctx, now, s);
                        }
                        None => self.close_silently(ctx, s, CloseReason::Replaced),
                    }
                }
            }
        }
        let reauth = out.reauth;
        ctx.transmits.extend(out.transmits);
        ctx.events.extend(out.events);
        if let Some(now) = reauth {
            self.reauthenticate(ctx, h, now);
        }
        if out.closed {
            if let Some(old) = self.table.remove(h) {
                if let Some(now) = out.restart {
                    self.restart(ctx, old, now);
                }
            }
        } else if let Some(sa) = self.table.get_mut(h) {
            // The raw key exists only for this: handed over, or dropped (zeroized) now.
            if let (Some(key), Some(chosen)) = (sa.fresh_key.take(), sa.chosen) {
                if let (true, Ok(encr)) = (ctx.config.export_keys, chosen.encr_alg()) {
                    ctx.events
                        .push_back(Event::IsakmpSaKeys(Box::new(crate::v2::IsakmpSaKeys {
                            sa: h,
                            connection: sa.conn.clone(),
                            icookie: sa.icookie,
                            rcookie: sa.rcookie,
                            encr,
                            key,
                        })));
                }
            }
            let next = sa.next_timeout(ctx.config);
            if let Some((i, r)) = self.table.sync(h, next).spis {
                ctx.events.push_back(Event::IkeSaSpis {
                    sa: h,
                    spi_i: i,
                    spi_r: r,
                });
            }
            if out.established {
                self.settle_siblings(ctx, h);
            }
        }
    }

    /// `h` was just established. Another established ISAKMP SA with the same identities and
    /// peer that was itself established while `h` was being negotiated is its sibling, not its
    /// predecessor: both ends re-authenticated (or initiated) at once. One is enough: the one
    /// whose lower cookie is lower goes, its IPsec SAs moving to the other, with a Delete. Both
    /// ends know both SAs' cookies, so both pick the same one.
    fn settle_siblings(&mut self, ctx: &mut Ctx<'_>, h: SaHandle) {
        let Some(sa) = self.table.get(h) else {
            return;
        };
        let (Some(ids), created, ip) = (sa.identities(), sa.created, sa.remote.ip()) else {
            return;
        };
        let rank = |s: &IsakmpSa| s.icookie.min(s.rcookie);
        let sibling = self.table.with_identities(&ids).find(|x| {
            *x != h
                && self.table.get(*x).is_some_and(|s| {
                    s.remote.ip() == ip && s.established_at.is_some_and(|t| t >= created)
                })
        });
        let (Some(x), Some(ours)) = (sibling, self.table.get(h).map(rank)) else {
            return;
        };
        let Some(theirs) = self.table.get(x).map(rank) else {
            return;
        };
        let (keep, lose) = if ours < theirs { (x, h) } else { (h, x) };
        tracing::info!(target: "ike", "two ISAKMP SAs with the same peer were set up at once (both ends re-authenticated or initiated): keeping one, deleting the other");
        self.replace(ctx, lose, keep);
    }

    /// Re-authentication: a new ISAKMP SA for the connection of `h`, without INITIAL-CONTACT
    /// and without Quick Modes (the IPsec SAs move to it).
    fn reauthenticate(&mut self, ctx: &mut Ctx<'_>, h: SaHandle, now: Instant) {
        let Some(old) = self.table.get(h) else {
            return;
        };
        let (mut local, idx) = (old.local, old.peer_idx);
        local.set_port(500);
        match self.initiate(ctx, now, local, idx, false) {
            Ok(new) => {
                if let Some(sa) = self.table.get_mut(new) {
                    sa.todo.clear();
                    sa.reauth_of = Some(h);
                }
            }
            Err(e) => tracing::info!(target: "ike", "re-authentication not started: {e}"),
        }
    }

    /// `new` re-authenticated `old`: the IPsec SAs move, the old ISAKMP SA is deleted alone.
    fn replace(&mut self, ctx: &mut Ctx<'_>, old: SaHandle, new: SaHandle) {
        let Some(mut o) = self.table.remove(old) else {
            return;
        };
        let children = std::mem::take(&mut o.children);
        let mut out = Output::default();
        o.delete_isakmp_only(ctx, &mut out);
        if let Some(n) = self.table.get_mut(new) {
            n.adopt(children);
            ctx.events.push_back(n.rekeyed_event(old));
        }
        ctx.transmits.extend(out.transmits);
        ctx.events.extend(o.close(CloseReason::Rekeyed).events);
        self.sync_one(ctx, new);
    }

    /// IPsec SAs of ISAKMP SA `h`, which closed: to the newest other established ISAKMP SA
    /// with the same identities, else to one of the same connection and peer still being
    /// negotiated (both ends set the connection up at once: the peer kept these IPsec SAs on
    /// its ISAKMP SA of that negotiation), else deleted.
    fn rehome(&mut self, ctx: &mut Ctx<'_>, h: SaHandle, orphans: Vec<sa::Child>) {
        let ids = self.table.get(h).and_then(TableSa::identities);
        let heir = ids
            .and_then(|ids| {
                self.table
                    .with_identities(&ids)
                    .filter(|x| *x != h && self.table.get(*x).is_some_and(IsakmpSa::is_established))
                    .max()
            })
            .or_else(|| {
                let (conn, ip) = self.table.get(h).map(|s| (s.conn.clone(), s.remote.ip()))?;
                self.table
                    .of_connection(&conn)
                    .filter(|x| {
                        *x != h
                            && self
                                .table
                                .get(*x)
                                .is_some_and(|s| !s.is_established() && s.remote.ip() == ip)
                    })
                    .max()
            });
        match heir.and_then(|x| self.table.get_mut(x).map(|s| (x, s))) {
            Some((x, s)) => {
                tracing::info!(target: "ike", "{} IPsec SAs move to the newer ISAKMP SA", orphans.len());
                s.adopt(orphans);
                ctx.events.push_back(s.rekeyed_event(h));
                self.sync_one(ctx, x);
            }
            None => {
                let conn = self
                    .table
                    .get(h)
                    .map(|s| s.conn.clone())
                    .unwrap_or_default();
                let handle = h;
                for c in orphans {
                    ctx.events.push_back(Event::ChildSaDelete {
                        sa: handle,
                        connection: conn.clone(),
                        child: c.name,
                        spi_in: c.spi_in,
                        spi_out: c.spi_out,
                    });
                }
            }
        }
    }

    fn sync_one(&mut self, ctx: &mut Ctx<'_>, h: SaHandle) {
        if let Some(sa) = self.table.get(h) {
            let next = sa.next_timeout(ctx.config);
            self.table.sync(h, next);
        }
    }

    /// The dead peer action `restart`: a new ISAKMP SA for the connection, from port 500.
    fn restart(&mut self, ctx: &mut Ctx<'_>, old: IsakmpSa, now: Instant) {
        let mut local = old.local;
        local.set_port(500);
        if let Ok(sa) = self.initiate(ctx, now, local, old.peer_idx, true) {
            ctx.events.push_back(Event::IkeSaRestarting {
                sa,
                connection: old.conn,
            });
        }
    }

    /// Phase 1 message 1 (Main Mode, Aggressive Mode, Base, Authentication Only): admission before any state (caps), then a
    /// half-open SA with our cookie and the chosen proposal; in Main Mode no exponentiation
    /// until message 3 (Aggressive Mode must answer with its KE at once).
    fn handle_mm1(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg: &wire::Message<'_>,
    ) {
        let h = msg.header;
        if let Some(handle) = self.table.by_init(remote, h.icookie) {
            // A repeated message 1: message 2 again, from the stored copy.
            if let Some(sa) = self.table.get_mut(handle) {
                let out = sa.repeat_answer(data);
                self.collect(ctx, handle, out);
            }
            return;
        }
        let half_open = self.table.half_open() + ctx.other_half_open.0;
        let per_peer = self.table.half_open_from(remote.ip()) + ctx.other_half_open.1;
        if half_open >= ctx.config.max_half_open || per_peer >= ctx.config.max_half_open_per_peer {
            ctx.dropped(DropReason::HalfOpenLimit, remote);
            return;
        }
        let candidates: Vec<usize> = ctx
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.version == IkeVersion::V1
                    && (p.remote_addrs.is_empty() || p.remote_addrs.contains(&remote.ip()))
            })
            .map(|(i, _)| i)
            .collect();
        let cookie = self.responder_cookie(&h.icookie, remote);
        let handle = ctx.alloc_handle();
        let respond = match h.exchange {
            ExchangeType::Aggressive => IsakmpSa::respond_am1,
            ExchangeType::Base | ExchangeType::AuthenticationOnly => IsakmpSa::respond_base1,
            _ => IsakmpSa::respond_mm1,
        };
        match respond(
            handle,
            &candidates,
            local,
            remote,
            cookie,
            now,
            data,
            msg,
            ctx,
        ) {
            Ok((sa, bytes)) => {
                let next = sa.next_timeout(ctx.config);
                self.table.insert(handle, sa, next);
                let out = Output {
                    transmits: vec![Transmit::ike(local, remote, bytes)],
                    ..Output::default()
                };
                self.collect(ctx, handle, out);
            }
            Err(reply) => {
                if let Some(bytes) = reply {
                    ctx.transmits.push_back(Transmit::ike(local, remote, bytes));
                }
            }
        }
    }

    /// A responder cookie (RFC 2408 §2.5.3): a keyed hash (the endpoint's local secret) over the
    /// peer's address and port, its cookie and a counter that never repeats (in place of the
    /// time: the engine reads no clock), unique in the table.
    fn responder_cookie(&mut self, icookie: &[u8; 8], remote: SocketAddr) -> [u8; 8] {
        let ip = match remote.ip() {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        loop {
            self.cookie_counter = self.cookie_counter.wrapping_add(1);
            let mac = ike_crypto::prf::PrfAlg::HmacSha256.compute(
                &self.secret,
                &[
                    icookie,
                    &ip,
                    &remote.port().to_be_bytes(),
                    &self.cookie_counter.to_be_bytes(),
                ],
            );
            let mut c = [0u8; 8];
            if let Some(b) = mac.expose().get(..8) {
                c.copy_from_slice(b);
            }
            if c != [0; 8] && !self.table.spi_taken(&c) {
                return c;
            }
        }
    }
}
