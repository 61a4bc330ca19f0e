//! The SA table: every IKE SA of an endpoint, with the indexes that let each input find its SA
//! without a walk over the others.
//!
//! Lookups are O(1) or O(log n): by our SPI (RFC 7296 §2.6; an ISAKMP cookie for IKEv1), by the
//! peer's address and SPI of a half-open responder SA (to answer a retransmitted IKE_SA_INIT),
//! by connection, by the pair of authenticated identities (INITIAL_CONTACT, §2.4), and by the
//! inbound SPI of a Child SA (the kernel's acquires and expires). The admission counters (half-open
//! SAs in total and per peer address) and the timer queue are kept here too, updated by
//! [`SaTable::sync`] for the one SA an input touched, never recounted.
//!
//! The table does not know the SA's protocol: an SA type opts in through [`TableSa`]. IKEv2's SA
//! is the first tenant; IKEv1's is the second.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::timers::TimerQueue;
use crate::v2::{Identity, SaHandle};

/// What the table needs to know of an SA to index it.
pub(crate) trait TableSa {
    /// The SPI (IKEv2) or cookie (IKEv1) we chose: it routes the peer's messages to the SA.
    /// Constant for the SA's life.
    fn our_spi(&self) -> [u8; 8];
    /// For a responder: the address and SPI of the peer's first request. Constant; indexed
    /// while the SA is half-open.
    fn init_key(&self) -> Option<(SocketAddr, [u8; 8])>;
    /// The connection's name. Constant.
    fn connection(&self) -> &str;
    /// Both SPIs as known now (the initiator learns the responder's from its first response).
    fn spis(&self) -> ([u8; 8], [u8; 8]);
    /// `Some(peer address)` while the SA is a half-open responder SA.
    fn half_open_from(&self) -> Option<IpAddr>;
    /// (our identity, the peer's authenticated identity), once the peer is authenticated.
    fn identities(&self) -> Option<(Identity, Identity)>;
    /// The inbound SPIs of its Child SAs, appended to `out`.
    fn child_spis(&self, out: &mut Vec<u32>);
}

/// What the table knows of an SA besides the SA itself.
#[derive(Debug)]
struct Meta {
    our_spi: [u8; 8],
    init_key: Option<(SocketAddr, [u8; 8])>,
    connection: String,
    spis: ([u8; 8], [u8; 8]),
    half_open: Option<IpAddr>,
    ids: Option<(Identity, Identity)>,
    children: Vec<u32>,
}

/// What changed in an SA that the driver hears about.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Its SPIs changed (the initiator learned the responder's).
    pub(crate) spis: Option<([u8; 8], [u8; 8])>,
}

/// Every SA of an endpoint, with its indexes.
pub(crate) struct SaTable<S> {
    /// Boxed: a B-tree node holds eleven entries inline, and an SA is a few hundred bytes.
    sas: BTreeMap<SaHandle, Box<(S, Meta)>>,
    by_spi: HashMap<[u8; 8], SaHandle>,
    by_init: HashMap<(SocketAddr, [u8; 8]), SaHandle>,
    by_connection: HashMap<String, BTreeSet<SaHandle>>,
    by_ids: HashMap<(Identity, Identity), BTreeSet<SaHandle>>,
    by_child: HashMap<u32, SaHandle>,
    half_open: usize,
    half_open_per_ip: HashMap<IpAddr, usize>,
    timers: TimerQueue<SaHandle>,
    scratch: Vec<u32>,
}

impl<S> Default for SaTable<S> {
    fn default() -> Self {
        Self {
            sas: BTreeMap::new(),
            by_spi: HashMap::new(),
            by_init: HashMap::new(),
            by_connection: HashMap::new(),
            by_ids: HashMap::new(),
            by_child: HashMap::new(),
            half_open: 0,
            half_open_per_ip: HashMap::new(),
            timers: TimerQueue::default(),
            scratch: Vec::new(),
        }
    }
}

impl<S: TableSa> SaTable<S> {
    /// Adds an SA, indexes it and arms its timer.
    pub(crate) fn insert(&mut self, h: SaHandle, sa: S, next_timeout: Option<Instant>) {
        let meta = Meta {
            our_spi: sa.our_spi(),
            init_key: sa.init_key(),
            connection: sa.connection().to_owned(),
            spis: sa.spis(),
            half_open: None,
            ids: None,
            children: Vec::new(),
        };
        self.by_spi.insert(meta.our_spi, h);
        if let Some(k) = meta.init_key {
            self.by_init.insert(k, h);
        }
        self.by_connection
            .entry(meta.connection.clone())
            .or_default()
            .insert(h);
        self.sas.insert(h, Box::new((sa, meta)));
        self.sync(h, next_timeout);
    }

    /// Brings the indexes, counters and timer of `h` up to date with the SA after an input
    /// changed it. O(log n + its Child SAs).
    pub(crate) fn sync(&mut self, h: SaHandle, next_timeout: Option<Instant>) -> Changes {
        let mut changes = Changes::default();
        let Some(entry) = self.sas.get_mut(&h) else {
            return changes;
        };
        let (sa, meta) = &mut **entry;
        self.timers.arm(h, next_timeout);
        let half_open = sa.half_open_from();
        if half_open.is_none() {
            // Only a half-open responder SA answers a retransmitted IKE_SA_INIT (§2.1); past
            // that, a late copy is a new request like any other.
            if let Some(k) = meta.init_key.take() {
                if self.by_init.get(&k) == Some(&h) {
                    self.by_init.remove(&k);
                }
            }
        }
        if half_open != meta.half_open {
            if let Some(ip) = meta.half_open.take() {
                dec(&mut self.half_open, &mut self.half_open_per_ip, ip);
            }
            if let Some(ip) = half_open {
                self.half_open += 1;
                *self.half_open_per_ip.entry(ip).or_default() += 1;
            }
            meta.half_open = half_open;
        }
        if meta.ids.is_none() {
            if let Some(ids) = sa.identities() {
                self.by_ids.entry(ids.clone()).or_default().insert(h);
                meta.ids = Some(ids);
            }
        }
        let spis = sa.spis();
        if spis != meta.spis {
            meta.spis = spis;
            changes.spis = Some(spis);
        }
        self.scratch.clear();
        sa.child_spis(&mut self.scratch);
        if self.scratch != meta.children {
            for spi in &meta.children {
                if self.by_child.get(spi) == Some(&h) && !self.scratch.contains(spi) {
                    self.by_child.remove(spi);
                }
            }
            for spi in &self.scratch {
                self.by_child.insert(*spi, h);
            }
            std::mem::swap(&mut meta.children, &mut self.scratch);
        }
        changes
    }

    /// Removes an SA and every trace of it in the indexes.
    pub(crate) fn remove(&mut self, h: SaHandle) -> Option<S> {
        let (sa, meta) = *self.sas.remove(&h)?;
        self.timers.arm(h, None);
        if self.by_spi.get(&meta.our_spi) == Some(&h) {
            self.by_spi.remove(&meta.our_spi);
        }
        if let Some(k) = meta.init_key {
            if self.by_init.get(&k) == Some(&h) {
                self.by_init.remove(&k);
            }
        }
        remove_from(&mut self.by_connection, &meta.connection, h);
        if let Some(ids) = &meta.ids {
            remove_from(&mut self.by_ids, ids, h);
        }
        for spi in &meta.children {
            if self.by_child.get(spi) == Some(&h) {
                self.by_child.remove(spi);
            }
        }
        if let Some(ip) = meta.half_open {
            dec(&mut self.half_open, &mut self.half_open_per_ip, ip);
        }
        Some(sa)
    }

    /// The SA.
    pub(crate) fn get(&self, h: SaHandle) -> Option<&S> {
        self.sas.get(&h).map(|e| &e.0)
    }

    /// The SA, to change it; the caller then calls [`Self::sync`].
    pub(crate) fn get_mut(&mut self, h: SaHandle) -> Option<&mut S> {
        self.sas.get_mut(&h).map(|e| &mut e.0)
    }

    /// The SA whose SPI (our half) is `spi`.
    pub(crate) fn by_spi(&self, spi: &[u8; 8]) -> Option<SaHandle> {
        self.by_spi.get(spi).copied()
    }

    /// Whether `spi` is taken by one of our SAs.
    pub(crate) fn spi_taken(&self, spi: &[u8; 8]) -> bool {
        self.by_spi.contains_key(spi)
    }

    /// The responder SA created for the peer's first request from `from` with SPI `spi_i`.
    pub(crate) fn by_init(&self, from: SocketAddr, spi_i: [u8; 8]) -> Option<SaHandle> {
        self.by_init.get(&(from, spi_i)).copied()
    }

    /// The SAs of a connection, in handle order.
    pub(crate) fn of_connection(&self, name: &str) -> impl Iterator<Item = SaHandle> + '_ {
        self.by_connection
            .get(name)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// The SAs whose (our, the peer's) identities are `ids`, in handle order.
    pub(crate) fn with_identities(
        &self,
        ids: &(Identity, Identity),
    ) -> impl Iterator<Item = SaHandle> + '_ {
        self.by_ids
            .get(ids)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// Whether any SA authenticated a peer as `remote` while we were `local`.
    pub(crate) fn has_identities(&self, local: &Identity, remote: &Identity) -> bool {
        // The key owns its identities; a lookup by borrowed parts would need a second map.
        self.by_ids.contains_key(&(local.clone(), remote.clone()))
    }

    /// The IKE SA of the Child SA whose inbound SPI is `spi_in`.
    pub(crate) fn by_child(&self, spi_in: u32) -> Option<SaHandle> {
        self.by_child.get(&spi_in).copied()
    }

    /// Half-open responder SAs.
    pub(crate) fn half_open(&self) -> usize {
        self.half_open
    }

    /// Half-open responder SAs for peers at `ip`.
    pub(crate) fn half_open_from(&self, ip: IpAddr) -> usize {
        self.half_open_per_ip.get(&ip).copied().unwrap_or(0)
    }

    /// The earliest timer.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The SAs whose timer is due at `now` (their timers are disarmed until the next sync).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Vec<SaHandle> {
        self.timers.pop_due(now)
    }

    /// Every handle, in order.
    pub(crate) fn handles(&self) -> impl Iterator<Item = SaHandle> + '_ {
        self.sas.keys().copied()
    }

    /// Every SA, in handle order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (SaHandle, &S)> + '_ {
        self.sas.iter().map(|(h, e)| (*h, &e.0))
    }

    /// The SAs after handle `after` (all with `None`), in handle order.
    pub(crate) fn iter_after(
        &self,
        after: Option<SaHandle>,
    ) -> impl Iterator<Item = (SaHandle, &S)> + '_ {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.sas
            .range((from, Bound::Unbounded))
            .map(|(h, e)| (*h, &e.0))
    }

    /// Number of SAs.
    pub(crate) fn len(&self) -> usize {
        self.sas.len()
    }

    /// Recounts everything the table keeps incrementally, by a walk, and says what disagrees:
    /// for tests, which compare after random sequences of inputs.
    #[cfg(any(test, feature = "test-hooks"))]
    pub(crate) fn audit(&self) -> Result<(), String> {
        let mut half_open = 0;
        let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
        for (h, entry) in &self.sas {
            let sa = &entry.0;
            if let Some(ip) = sa.half_open_from() {
                half_open += 1;
                *per_ip.entry(ip).or_default() += 1;
            }
            if self.by_spi.get(&sa.our_spi()) != Some(h) {
                return Err(format!("{h:?}: not found by its SPI"));
            }
            let mut children = Vec::new();
            sa.child_spis(&mut children);
            for c in children {
                if self.by_child.get(&c) != Some(h) {
                    return Err(format!("{h:?}: child {c:08x} not indexed"));
                }
            }
            if let Some(ids) = sa.identities() {
                if !self.by_ids.get(&ids).is_some_and(|s| s.contains(h)) {
                    return Err(format!("{h:?}: identities not indexed"));
                }
            }
        }
        if half_open != self.half_open {
            return Err(format!(
                "half-open: counted {} but recounted {half_open}",
                self.half_open
            ));
        }
        if per_ip != self.half_open_per_ip {
            return Err(format!(
                "half-open per address: {:?} but recounted {per_ip:?}",
                self.half_open_per_ip
            ));
        }
        if self.by_init.len() != half_open {
            return Err(format!(
                "{} first requests indexed for {half_open} half-open SAs",
                self.by_init.len()
            ));
        }
        if self.by_spi.len() != self.sas.len() {
            return Err(format!(
                "{} SPIs indexed for {} SAs",
                self.by_spi.len(),
                self.sas.len()
            ));
        }
        if self.by_child.values().any(|h| !self.sas.contains_key(h)) {
            return Err("a Child SA index names a removed SA".into());
        }
        if self.timers.len() > self.sas.len() {
            return Err("timers armed for removed SAs".into());
        }
        Ok(())
    }

    /// The armed deadline of `h`, for tests.
    #[cfg(any(test, feature = "test-hooks"))]
    pub(crate) fn deadline(&self, h: SaHandle) -> Option<Instant> {
        self.timers.deadline(&h)
    }
}

fn dec(total: &mut usize, per_ip: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    *total = total.saturating_sub(1);
    if let Some(n) = per_ip.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_ip.remove(&ip);
        }
    }
}

fn remove_from<
    K: std::hash::Hash + Eq + ?Sized,
    Q: std::hash::Hash + Eq + std::borrow::Borrow<K>,
>(
    map: &mut HashMap<Q, BTreeSet<SaHandle>>,
    key: &K,
    h: SaHandle,
) {
    if let Some(set) = map.get_mut(key) {
        set.remove(&h);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
