//! The IKEv2 engine (RFC 7296).
//!
//! [`Endpoint`] owns every IKE SA of one set of local addresses. It routes datagrams to SAs by
//! SPI, and decides admission before any state or exponentiation exists: a responder answers an
//! IKE_SA_INIT request with a COOKIE notify (§2.6) when half-open SAs pass a threshold, drops it
//! past a hard cap (in total and per peer address), and expires half-open SAs.
//!
//! This first slice implements IKE_SA_INIT (proposal selection in the responder's order,
//! INVALID_KE_PAYLOAD and the retry, NO_PROPOSAL_CHOSEN, COOKIE), IKE_AUTH with pre-shared keys
//! or certificates (RFC 7427 and the classic signature methods, CERT and CERTREQ, chain
//! validation at the time given by [`Endpoint::set_unix_time`]; see `auth.rs`), each side with
//! its own method, and the first Child SA (ESP or AH proposal selection, traffic selector
//! narrowing, tunnel and transport mode), INFORMATIONAL deletes and liveness checks, message IDs with a
//! window of one, retransmission with exponential back-off and a give-up point, and a response
//! cache for retransmitted requests; CREATE_CHILD_SA (new Child SAs, rekeying of Child and IKE
//! SAs, collisions) lives in `sa/create_child.rs`, IKE message fragmentation (RFC 7383) in
//! `sa/fragment.rs`, and multiple key exchanges (RFC 9370, e.g. ML-KEM after X25519) over
//! IKE_INTERMEDIATE exchanges (RFC 9242) in `sa/intermediate.rs`, and after CREATE_CHILD_SA over
//! IKE_FOLLOWUP_KE exchanges (RFC 9370 §2.2.4) in `sa/followup.rs`.
//!
//! Child SAs are ESP (RFC 4303) or AH (RFC 4302), as the child's configuration says
//! ([`ChildConfig::protocol`]): the same exchanges, selection, rekeys (REKEY_SA), deletes and
//! collisions, with the protocol ID of the child in SA, Notify and Delete payloads (§3.3.1,
//! §3.10, §3.11), and KEYMAT that holds only integrity keys for AH (§2.17).
//!
//! NAT traversal (§2.23, RFC 3948) and dead peer detection (§2.4) live in `sa::nat` and
//! `sa::dpd`: NAT detection in IKE_SA_INIT, the float to UDP 4500, address updates from
//! authenticated messages, keepalives, and the liveness checks with their dead peer action.

pub(crate) mod auth;
pub(crate) mod entropy;
#[cfg(test)]
mod negative_tests;
mod payloads;
mod protect;
mod sa;

pub use crate::config::{
    AuthMethod, ChildConfig, ConfigError, Credential, DpdAction, EndpointConfig, Identity,
    PeerCertPolicy, PeerConfig, DEFAULT_SIGNATURE_HASHES,
};
pub use crate::ipsec::{ChildFlags, ChildSaInstall, IpsecProtocol, Mode, SpiAllocator, Ts};
pub use crate::status::{
    AdmissionStats, ChildSaState, ChildSaStatus, DropReason, Drops, IkeSaState, IkeSaStatus,
};
pub use auth::PeerAuth;
pub use payloads::{check_payloads, ProtocolError};
pub use sa::SaPath;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike_crypto::rng::Rng;
use ike_crypto::Secret;
use ike_wire::v2::{self, ExchangeType, NotifyType, Payload};

use crate::table::{SaTable, TableSa};
use sa::IkeSa;

/// Identifies an IKE SA within its endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SaHandle(pub u64);

/// A datagram to send.
///
/// The driver sends it from `local` (it listens on UDP 500 and UDP 4500 of each local
/// address) to `remote`. When `non_esp_marker` is set it first prepends the four zero octets of
/// the non-ESP marker (RFC 3948 §2.2); [`Transmit::datagram`] builds exactly those bytes. The
/// engine sets the flag on every IKE message sent from or to port 4500 and never on a NAT
/// keepalive (the single octet 0xFF, RFC 3948 §2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// The IKE message, or the keepalive octet.
    pub payload: Vec<u8>,
    /// Prepend the non-ESP marker before sending.
    pub non_esp_marker: bool,
}

/// An SPI in lowercase hex, for logs.
struct Hex8([u8; 8]);

impl std::fmt::Display for Hex8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The UDP port of NAT traversal (RFC 3948, RFC 7296 §2.23).
pub const NAT_T_PORT: u16 = 4500;

/// The NAT keepalive datagram (RFC 3948 §2.3).
pub const NAT_KEEPALIVE: [u8; 1] = [0xff];

/// The non-ESP marker (RFC 3948 §2.2).
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

impl Transmit {
    /// An IKE message; with the non-ESP marker if either port is [`NAT_T_PORT`].
    pub fn ike(local: SocketAddr, remote: SocketAddr, payload: Vec<u8>) -> Self {
        Self {
            local,
            remote,
            payload,
            non_esp_marker: local.port() == NAT_T_PORT || remote.port() == NAT_T_PORT,
        }
    }

    /// The bytes to put in the UDP datagram: the marker (if set), then the payload.
    pub fn datagram(&self) -> Vec<u8> {
        let mut d = Vec::with_capacity(self.payload.len() + NON_ESP_MARKER.len());
        if self.non_esp_marker {
            d.extend_from_slice(&NON_ESP_MARKER);
        }
        d.extend_from_slice(&self.payload);
        d
    }
}

/// Why an IKE SA ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We deleted it.
    Deleted,
    /// The peer deleted it.
    DeletedByPeer,
    /// The peer stopped answering (retransmissions exhausted).
    Timeout,
    /// A half-open SA never completed.
    HalfOpenExpired,
    /// The peer refused us with an error notify.
    PeerError(NotifyType),
    /// The IKEv1 peer refused us with an error notify (RFC 2408 §3.14.1).
    PeerErrorV1(ike_wire::v1::NotifyType),
    /// We refused the peer (authentication, proposals, identities).
    LocalError(ProtocolError),
    /// A new IKE SA replaced it (RFC 7296 §2.18); its Child SAs moved there.
    Rekeyed,
    /// The peer set up a new IKE SA with INITIAL_CONTACT (§2.4): this one is stale.
    Replaced,
}

/// What an IKE SA is busy with ([`Endpoint::activity`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaActivity {
    /// Our rekey of the IKE SA is under way.
    pub rekeying: bool,
    /// Its Child SAs.
    pub children: Vec<ChildActivity>,
}

/// What a Child SA is busy with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildActivity {
    /// Its inbound SPI.
    pub spi_in: u32,
    /// A rekey of it is under way.
    pub rekeying: bool,
    /// Our delete of it is under way.
    pub deleting: bool,
}

/// The keys that protect an IKE SA's messages (SK_ei/SK_er/SK_ai/SK_ar, RFC 7296 §2.14), for a
/// key log that lets Wireshark decrypt captures; only with [`EndpointConfig::export_keys`].
#[derive(Debug)]
pub struct IkeSaKeys {
    /// The SA.
    pub sa: SaHandle,
    /// Its connection.
    pub connection: String,
    /// Initiator's SPI.
    pub spi_i: [u8; 8],
    /// Responder's SPI.
    pub spi_r: [u8; 8],
    /// Encryption of the Encrypted payload.
    pub encr: ike_crypto::cipher::EncrAlg,
    /// Its integrity algorithm (none with AEAD).
    pub integ: Option<ike_crypto::cipher::IntegAlg>,
    /// SK_ei (with the salt for AEAD and CTR).
    pub sk_ei: Secret,
    /// SK_er.
    pub sk_er: Secret,
    /// SK_ai (empty with AEAD).
    pub sk_ai: Secret,
    /// SK_ar.
    pub sk_ar: Secret,
}

/// The key that encrypts an ISAKMP SA's messages, for a key log (Wireshark's
/// `ikev1_decryption_table` takes the initiator cookie and this key); only with
/// [`EndpointConfig::export_keys`].
#[derive(Debug)]
pub struct IsakmpSaKeys {
    /// The SA.
    pub sa: SaHandle,
    /// Its connection.
    pub connection: String,
    /// The initiator cookie.
    pub icookie: [u8; 8],
    /// The responder cookie.
    pub rcookie: [u8; 8],
    /// The cipher.
    pub encr: ike_crypto::cipher::EncrAlg,
    /// The encryption key (from SKEYID_e).
    pub key: Secret,
}

/// What the engine tells its driver.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// An IKE SA is established.
    IkeSaEstablished {
        /// The SA.
        sa: SaHandle,
        /// Its connection.
        connection: String,
        /// Whether we initiated it.
        initiator: bool,
        /// SPIs.
        spi_i: [u8; 8],
        /// SPIs.
        spi_r: [u8; 8],
        /// Our identity.
        local_id: Identity,
        /// The peer's authenticated identity.
        remote_id: Identity,
        /// Negotiated IKE transforms.
        proposal: String,
        /// How the peer authenticated (method, signature scheme, certificate chain).
        remote_auth: Option<PeerAuth>,
        /// 1 (an ISAKMP SA) or 2.
        version: u8,
        /// From the SA's first message, sent or received, to now.
        handshake: std::time::Duration,
    },
    /// An IKE SA has (new) keys: after IKE_SA_INIT, after each IKE_INTERMEDIATE key update,
    /// and for an SA made by a rekey. Only with [`EndpointConfig::export_keys`].
    IkeSaKeys(Box<IkeSaKeys>),
    /// An ISAKMP SA (IKEv1) has its encryption key (RFC 2409 Appendix B), derived after Main
    /// Mode message 4 or Aggressive Mode message 2. Only with [`EndpointConfig::export_keys`].
    IsakmpSaKeys(Box<IsakmpSaKeys>),
    /// A Child SA is ready to install.
    ChildSaInstall(Box<ChildSaInstall>),
    /// A Child SA could not be created (the IKE SA may still be up).
    ChildSaFailed {
        /// The IKE SA.
        sa: SaHandle,
        /// Its connection.
        connection: String,
        /// The child's name.
        child: String,
        /// Why.
        reason: ProtocolError,
    },
    /// A Child SA is gone: remove it from the kernel.
    ChildSaDelete {
        /// The IKE SA.
        sa: SaHandle,
        /// Its connection.
        connection: String,
        /// The child's name.
        child: String,
        /// Inbound SPI.
        spi_in: u32,
        /// Outbound SPI.
        spi_out: u32,
    },
    /// An IKE SA was rekeyed: `new` replaces `old`, with the same Child SAs.
    IkeSaRekeyed {
        /// The old SA (about to close with [`CloseReason::Rekeyed`]).
        old: SaHandle,
        /// The new SA.
        new: SaHandle,
        /// Its SPIs.
        spi_i: [u8; 8],
        /// Its SPIs.
        spi_r: [u8; 8],
    },
    /// An IKE SA ended; its Child SAs were deleted first.
    IkeSaClosed {
        /// The SA.
        sa: SaHandle,
        /// Its initiator's SPI.
        spi_i: [u8; 8],
        /// Its responder's SPI (zero if it never got one).
        spi_r: [u8; 8],
        /// Its connection.
        connection: String,
        /// Why.
        reason: CloseReason,
        /// 1 (an ISAKMP SA) or 2.
        version: u8,
        /// Whether it had been established (false: its handshake failed).
        established: bool,
    },
    /// The peer of an established IKE SA moved (a NAT changed its mapping, RFC 7296 §2.23): its
    /// Child SAs now send ESP (UDP-encapsulated) to `remote`, so the driver updates them.
    AddressChanged {
        /// The SA.
        sa: SaHandle,
        /// Our address.
        local: SocketAddr,
        /// The peer's new address.
        remote: SocketAddr,
    },
    /// The peer stopped answering and the connection's dead peer action is
    /// [`DpdAction::Restart`]: the engine initiated a new IKE SA for a connection whose peer
    /// stopped answering (the old one was closed first).
    IkeSaRestarting {
        /// The new SA.
        sa: SaHandle,
        /// Its connection.
        connection: String,
    },
    /// The SPIs of an IKE SA changed: the initiator learned the responder's SPI from the
    /// IKE_SA_INIT response (the responder's SA and a rekeyed SA are born with both).
    IkeSaSpis {
        /// The SA.
        sa: SaHandle,
        /// Initiator's SPI.
        spi_i: [u8; 8],
        /// Responder's SPI.
        spi_r: [u8; 8],
    },
    /// The engine started deleting an established IKE SA by itself (its Delete is on the way;
    /// [`Event::IkeSaClosed`] follows).
    IkeSaDeleting {
        /// The SA.
        sa: SaHandle,
        /// Its connection.
        connection: String,
        /// Why.
        reason: DeletingReason,
    },
    /// The peer of an IKE SA sent INITIAL_CONTACT (RFC 7296 §2.4): this endpoint dropped its
    /// other IKE SAs with the pair of identities; a sharded driver tells the other shards
    /// ([`Endpoint::replace_stale`]).
    InitialContact {
        /// The SA that received it.
        sa: SaHandle,
        /// Our identity.
        local_id: Identity,
        /// The peer's authenticated identity.
        remote_id: Identity,
        /// When that SA was established: only IKE SAs established before it are stale.
        established_at: Instant,
    },
    /// [`DpdAction::Trap`]: the IKE SA is closed (an [`Event::IkeSaClosed`] came first); install
    /// trap policies for the connection's children, so that traffic initiates it again.
    TrapInstall {
        /// The closed SA.
        sa: SaHandle,
        /// The connection.
        connection: String,
    },
}

impl std::fmt::Display for CloseReason {
    /// In RFC terms, for logs and `ike up`: notifies by their RFC 7296 names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Deleted => f.write_str("deleted"),
            CloseReason::DeletedByPeer => f.write_str("deleted by the peer"),
            CloseReason::Timeout => f.write_str("the peer stopped answering"),
            CloseReason::HalfOpenExpired => {
                f.write_str("half-open SA expired (the peer never completed the exchange)")
            }
            CloseReason::PeerError(n) => match n.name() {
                Some(name) => write!(f, "the peer refused with {name}"),
                None => write!(f, "the peer refused with notify {}", u16::from(*n)),
            },
            CloseReason::PeerErrorV1(n) => match n.name() {
                Some(name) => write!(f, "the peer refused with {name}"),
                None => write!(f, "the peer refused with notify {}", n.value()),
            },
            CloseReason::LocalError(e) => write!(f, "refused: {e}"),
            CloseReason::Rekeyed => f.write_str("rekeyed"),
            CloseReason::Replaced => f.write_str("replaced (the peer sent INITIAL_CONTACT)"),
        }
    }
}

/// Why the engine deletes an IKE SA by itself ([`Event::IkeSaDeleting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeletingReason {
    /// It reached its hard lifetime ([`PeerConfig::life_time`], given here) without a rekey.
    HardLifetime(Duration),
}

impl std::fmt::Display for DeletingReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeletingReason::HardLifetime(life) => write!(
                f,
                "reached its hard lifetime ({}s) without a rekey",
                life.as_secs()
            ),
        }
    }
}

/// A command the engine refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No connection of that name.
    #[error("no connection named {0}")]
    UnknownConnection(String),
    /// No IKE SA with that handle.
    #[error("no such IKE SA")]
    UnknownSa,
    /// The connection has no remote address to initiate to.
    #[error("connection {0} has no remote address")]
    NoRemoteAddress(String),
    /// The IKE SA is not established (yet, or any more).
    #[error("the IKE SA is not established")]
    NotEstablished,
    /// No Child SA (or child configuration) of that name or SPI.
    #[error("no child {0}")]
    UnknownChild(String),
    /// The RNG or a crypto backend failed.
    #[error("crypto failure: {0}")]
    Crypto(#[from] ike_crypto::CryptoError),
    /// A connection's configuration is unusable.
    #[error("connection {0}: {1}")]
    InvalidConfig(String, ConfigError),
    /// The SPI allocator ([`SpiAllocator`]) refused.
    #[error("SPI allocation failed: {0}")]
    SpiAllocation(String),
    /// The command is not implemented for this SA's IKE version yet.
    #[error("not implemented for IKEv1 yet: {0}")]
    NotImplemented(&'static str),
}

/// The IKEv2 endpoint: every IKE SA of one set of local addresses.
pub struct Endpoint {
    config: EndpointConfig,
    /// The connections, shared with the SAs' calls (never cloned per datagram).
    peers: Vec<Arc<PeerConfig>>,
    /// Connection name -> its index in `peers`.
    peer_by_name: HashMap<String, usize>,
    /// For each connection (by index): the connections with the same pair of configured
    /// identities, itself included, for the INITIAL_CONTACT decision (RFC 7296 §2.4).
    same_identities: Vec<Vec<usize>>,
    rng: entropy::Entropy,
    /// Every IKE SA, its indexes, admission counters and timers.
    table: SaTable<IkeSa>,
    /// The IKEv1 engine and its ISAKMP SAs (the same handles, events and counters).
    v1: crate::v1::Engine,
    next_handle: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    cookie_secret: [u8; 32],
    previous_cookie_secret: Option<[u8; 32]>,
    cookie_version: u8,
    cookie_secret_born: Option<Instant>,
    stats: AdmissionStats,
    /// Wall-clock time for certificate validity, seconds since the Unix epoch; set by the
    /// driver ([`Endpoint::set_unix_time`]), never read from a clock here.
    unix_now: Option<i64>,
    /// The rate limit of the log lines about undecodable and unknown-version datagrams.
    drop_log: crate::status::DropLog,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("sas", &self.table.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint with its connections and RNG.
    pub fn new(
        config: EndpointConfig,
        peers: Vec<PeerConfig>,
        mut rng: Box<dyn Rng + Send>,
    ) -> Result<Self, EngineError> {
        for p in &peers {
            for c in &p.children {
                c.check()
                    .map_err(|e| EngineError::InvalidConfig(p.name.clone(), e))?;
            }
            if matches!(p.local_auth, AuthMethod::PeerCert(_)) {
                return Err(EngineError::InvalidConfig(
                    p.name.clone(),
                    ConfigError("a peer certificate policy cannot authenticate us"),
                ));
            }
            let pke = matches!(p.local_auth, AuthMethod::PkeKey { .. })
                || matches!(p.remote_auth, AuthMethod::PkePeer { .. });
            if pke && p.version != crate::config::IkeVersion::V1 {
                return Err(EngineError::InvalidConfig(
                    p.name.clone(),
                    ConfigError("public-key encryption (pke, rpke) is an IKEv1 method"),
                ));
            }
            if matches!(p.local_auth, AuthMethod::PkePeer { .. })
                || matches!(p.remote_auth, AuthMethod::PkeKey { .. })
            {
                return Err(EngineError::InvalidConfig(
                    p.name.clone(),
                    ConfigError("public-key encryption keys on the wrong side"),
                ));
            }
            if matches!(p.remote_auth, AuthMethod::PubKey(_)) {
                return Err(EngineError::InvalidConfig(
                    p.name.clone(),
                    ConfigError("our own credential cannot authenticate the peer"),
                ));
            }
        }
        let mut cookie_secret = [0u8; 32];
        rng.fill(&mut cookie_secret)?;
        // The ISAKMP responder cookies' secret, derived rather than drawn (the RNG's stream,
        // which replayed tests depend on, stays as it was before IKEv1).
        let mut v1_secret = [0u8; 32];
        let derived =
            ike_crypto::prf::PrfAlg::HmacSha256.compute(&cookie_secret, &[b"ISAKMP cookies"]);
        v1_secret.copy_from_slice(derived.expose().get(..32).unwrap_or(&[0; 32]));
        let shard = config.shard;
        let mut endpoint = Self {
            config,
            peers: Vec::new(),
            peer_by_name: HashMap::new(),
            same_identities: Vec::new(),
            rng: entropy::Entropy::new(rng, shard),
            table: SaTable::default(),
            v1: crate::v1::Engine::new(v1_secret),
            next_handle: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            cookie_secret,
            previous_cookie_secret: None,
            cookie_version: 0,
            cookie_secret_born: None,
            stats: AdmissionStats::default(),
            unix_now: None,
            drop_log: Default::default(),
        };
        endpoint.index_peers(peers);
        Ok(endpoint)
    }

    /// Takes a new list of connections and builds the lookups over it.
    fn index_peers(&mut self, peers: Vec<PeerConfig>) {
        self.peers = peers.into_iter().map(Arc::new).collect();
        self.peer_by_name = self
            .peers
            .iter()
            .enumerate()
            .rev()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let mut groups: HashMap<(&Identity, &Identity), Vec<usize>> = HashMap::new();
        for (i, p) in self.peers.iter().enumerate() {
            if p.remote_id != Identity::Any {
                groups
                    .entry((&p.local_id, &p.remote_id))
                    .or_default()
                    .push(i);
            }
        }
        self.same_identities = self
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                groups
                    .get(&(&p.local_id, &p.remote_id))
                    .cloned()
                    .unwrap_or_else(|| vec![i])
            })
            .collect();
    }

    /// Takes inbound Child SA SPIs from `allocator` from now on (a kernel backend's
    /// `XFRM_MSG_ALLOCSPI`), or from the RNG again with `None`.
    pub fn set_spi_allocator(&mut self, allocator: Option<Box<dyn SpiAllocator>>) {
        self.rng.set_spi_allocator(allocator);
    }

    /// Tells the endpoint the wall-clock time, in seconds since the Unix epoch, against which
    /// certificate validity periods are checked. The engine reads no clock: the driver calls
    /// this before handing it datagrams (every few seconds is enough; validity is checked to
    /// the second). Until it is called, certificate authentication of peers fails.
    pub fn set_unix_time(&mut self, unix_now: i64) {
        self.unix_now = Some(unix_now);
    }

    /// Starts an IKE SA for the connection `name`, from `local` to the connection's first remote
    /// address on port 500: its first child in IKE_AUTH, then every other child of the
    /// connection in CREATE_CHILD_SA exchanges once the IKE SA is established.
    pub fn initiate(
        &mut self,
        now: Instant,
        local: SocketAddr,
        name: &str,
    ) -> Result<SaHandle, EngineError> {
        self.initiate_with(now, local, name, true)
    }

    /// [`Self::initiate`], but with `may_contact` false the IKE SA never carries
    /// INITIAL_CONTACT: a sharded driver knows that another shard holds an IKE SA with this peer
    /// ([`Self::peer_contacted`] there), which the peer would otherwise drop (RFC 7296 §2.4).
    pub fn initiate_with(
        &mut self,
        now: Instant,
        local: SocketAddr,
        name: &str,
        may_contact: bool,
    ) -> Result<SaHandle, EngineError> {
        let idx = *self
            .peer_by_name
            .get(name)
            .ok_or_else(|| EngineError::UnknownConnection(name.to_owned()))?;
        let peer = self.peers.get(idx).cloned().ok_or(EngineError::UnknownSa)?;
        if peer.version == crate::config::IkeVersion::V1 {
            let first = may_contact && self.initial_contact_for(idx);
            let (v1, mut ctx) = self.v1_ctx();
            return v1.initiate(&mut ctx, now, local, idx, first);
        }
        let remote_ip = *peer
            .remote_addrs
            .first()
            .ok_or_else(|| EngineError::NoRemoteAddress(name.to_owned()))?;
        let remote = SocketAddr::new(remote_ip, 500);
        let handle = self.alloc_handle();
        let spi = loop {
            let spi = self.rng.ike_spi()?;
            if !self.table.spi_taken(&spi) {
                break spi;
            }
        };
        // §2.4: INITIAL_CONTACT when we hold no other IKE SA with this peer: none of any
        // connection with the same pair of identities, in any state, and none whose peer
        // authenticated with them.
        let first = may_contact && self.initial_contact_for(idx);
        let (sa, out) = IkeSa::initiate(
            handle,
            idx,
            &peer,
            &self.config,
            local,
            remote,
            spi,
            now,
            &mut self.rng,
        )?;
        let mut sa = sa;
        sa.set_initial_contact(first);
        sa.set_prefer_initiator_proposals(self.config.prefer_initiator_proposals);
        self.insert_sa(handle, sa);
        self.push_transmits(out);
        Ok(handle)
    }

    /// Whether this endpoint holds an IKE SA with the peer of connection `name`: of any
    /// connection with the same pair of identities, in any state, or authenticated with them.
    pub fn peer_contacted(&self, name: &str) -> bool {
        self.peer_by_name
            .get(name)
            .is_some_and(|idx| !self.initial_contact_for(*idx))
    }

    /// Another shard's IKE SA, established at `before`, received INITIAL_CONTACT from the peer
    /// authenticated as `ids.1` while we were `ids.0` ([`Event::InitialContact`]): our IKE SAs
    /// with that pair established before it are stale and close without a word to the peer
    /// (RFC 7296 §2.4), Child SAs first. One established since (the message took a while to get
    /// here) is newer than the peer's restart and stays.
    pub fn replace_stale(&mut self, ids: &(Identity, Identity), before: Instant) {
        let stale: Vec<SaHandle> = self
            .table
            .with_identities(ids)
            .filter(|h| {
                self.table
                    .get(*h)
                    .and_then(IkeSa::established_at)
                    .is_some_and(|t| t < before)
            })
            .collect();
        for h in stale {
            if let Some(mut old) = self.table.remove(h) {
                let o = old.close_silently(CloseReason::Replaced);
                self.events.extend(o.events);
            }
        }
    }

    fn initial_contact_for(&self, idx: usize) -> bool {
        let Some(peer) = self.peers.get(idx) else {
            return false;
        };
        let group = self.same_identities.get(idx).map_or(&[][..], Vec::as_slice);
        let connections_idle = group.iter().chain(std::iter::once(&idx)).all(|i| {
            self.peers.get(*i).is_none_or(|p| {
                self.table.of_connection(&p.name).next().is_none()
                    && self.v1.of_connection(&p.name).next().is_none()
            })
        });
        connections_idle
            && (peer.remote_id == Identity::Any
                || !(self.table.has_identities(&peer.local_id, &peer.remote_id)
                    || self.v1.has_identities(&peer.local_id, &peer.remote_id)))
    }

    /// Deletes an IKE SA and its Child SAs, telling the peer (RFC 7296 §1.4.1).
    pub fn delete(&mut self, now: Instant, sa: SaHandle) -> Result<(), EngineError> {
        if self.v1.contains(sa) {
            let (v1, mut ctx) = self.v1_ctx();
            return v1.delete(&mut ctx, now, sa);
        }
        let _span = self.span_of(sa).entered();
        let s = self.table.get_mut(sa).ok_or(EngineError::UnknownSa)?;
        let out = s.start_delete(now, &self.config, &mut self.rng);
        self.collect(sa, out);
        Ok(())
    }

    /// Creates another Child SA of the connection's child `child` on an IKE SA (§1.3.1).
    pub fn create_child(
        &mut self,
        now: Instant,
        sa: SaHandle,
        child: &str,
    ) -> Result<(), EngineError> {
        self.command(now, sa, sa::Command::CreateChild(child.to_owned()))
    }

    /// Rekeys the Child SA whose inbound SPI is `spi_in` (§1.3.3), make-before-break.
    pub fn rekey_child(
        &mut self,
        now: Instant,
        sa: SaHandle,
        spi_in: u32,
    ) -> Result<(), EngineError> {
        self.command(now, sa, sa::Command::RekeyChild(spi_in))
    }

    /// Deletes one Child SA (§1.4.1).
    pub fn delete_child(
        &mut self,
        now: Instant,
        sa: SaHandle,
        spi_in: u32,
    ) -> Result<(), EngineError> {
        self.command(now, sa, sa::Command::DeleteChild(spi_in))
    }

    /// Rekeys the IKE SA (§1.3.2, §2.18).
    pub fn rekey_ike(&mut self, now: Instant, sa: SaHandle) -> Result<(), EngineError> {
        self.command(now, sa, sa::Command::RekeyIke)
    }

    fn command(&mut self, now: Instant, sa: SaHandle, cmd: sa::Command) -> Result<(), EngineError> {
        if self.v1.contains(sa) {
            let cmd = match cmd {
                sa::Command::CreateChild(name) => crate::v1::Command::CreateChild(name),
                sa::Command::RekeyChild(spi) => crate::v1::Command::RekeyChild(spi),
                sa::Command::DeleteChild(spi) => crate::v1::Command::DeleteChild(spi),
                sa::Command::RekeyIke => crate::v1::Command::Reauthenticate,
            };
            let (v1, mut ctx) = self.v1_ctx();
            return v1.command(&mut ctx, now, sa, cmd);
        }
        let _span = self.span_of(sa).entered();
        let s = self.table.get_mut(sa).ok_or(EngineError::UnknownSa)?;
        let peer = self
            .peers
            .get(s.peer_index())
            .cloned()
            .ok_or(EngineError::UnknownSa)?;
        let out = s.command(now, cmd, &peer, &self.config, &mut self.rng)?;
        self.collect(sa, out);
        Ok(())
    }

    /// Replaces the connections (a configuration reload). Each IKE SA follows its connection by
    /// name to the new list; an IKE SA whose connection is gone is closed without telling the
    /// peer ([`Event::IkeSaClosed`] with [`CloseReason::Deleted`], its Child SAs first), so a
    /// driver that wants the peer told calls [`Self::delete`] on those SAs before this.
    pub fn set_peers(&mut self, peers: Vec<PeerConfig>) {
        self.index_peers(peers);
        // A reload walks every SA once: its connection may have moved or gone, and its timers
        // depend on the connection (dead peer detection).
        let handles: Vec<SaHandle> = self.table.handles().collect();
        {
            let by_name = self.peer_by_name.clone();
            let (v1, mut ctx) = self.v1_ctx();
            v1.reindex(&mut ctx, &by_name);
        }
        for h in handles {
            let Some(sa) = self.table.get_mut(h) else {
                continue;
            };
            if let Some(&idx) = self.peer_by_name.get(sa.connection_name()) {
                sa.set_peer_index(idx);
                self.sync(h);
            } else if let Some(mut old) = self.table.remove(h) {
                let o = old.close_silently(CloseReason::Deleted);
                self.events.extend(o.events);
            }
        }
    }

    /// The connection of an IKE SA.
    pub fn connection_of(&self, sa: SaHandle) -> Option<&str> {
        self.table
            .get(sa)
            .map(IkeSa::connection_name)
            .or_else(|| self.v1.connection_of(sa))
    }

    /// Handles of every IKE SA, in any state.
    pub fn handles_all(&self) -> Vec<SaHandle> {
        let mut v: Vec<SaHandle> = self.table.handles().chain(self.v1.handles()).collect();
        v.sort_unstable();
        v
    }

    /// The IKE SAs of a connection, in any state, oldest first.
    pub fn sas_of(&self, connection: &str) -> Vec<SaHandle> {
        let mut v: Vec<SaHandle> = self
            .table
            .of_connection(connection)
            .chain(self.v1.of_connection(connection))
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether the IKE SA exists (in any state).
    pub fn contains(&self, sa: SaHandle) -> bool {
        self.table.get(sa).is_some() || self.v1.contains(sa)
    }

    /// The IKE SA holding the Child SA whose inbound SPI is `spi_in`.
    pub fn sa_of_child(&self, spi_in: u32) -> Option<SaHandle> {
        self.table
            .by_child(spi_in)
            .or_else(|| self.v1.by_child(spi_in))
    }

    /// The Child SAs of an IKE SA: (name, inbound SPI, outbound SPI).
    pub fn child_sas(&self, sa: SaHandle) -> Vec<(String, u32, u32)> {
        match self.table.get(sa) {
            Some(s) => s.child_list(),
            None => self.v1.child_sas(sa),
        }
    }

    /// An IKE SA's SPIs (initiator's, responder's; the responder's is zero until known).
    pub fn sa_spis(&self, sa: SaHandle) -> Option<([u8; 8], [u8; 8])> {
        self.table
            .get(sa)
            .map(IkeSa::spis)
            .or_else(|| self.v1.sa_spis(sa))
    }

    /// What an SA is busy with, for status displays: whether our rekey of the IKE SA is under
    /// way, and for each Child SA (by inbound SPI) whether it is being rekeyed or deleted.
    pub fn activity(&self, sa: SaHandle) -> Option<SaActivity> {
        if self.v1.contains(sa) {
            return Some(SaActivity::default());
        }
        let s = self.table.get(sa)?;
        Some(SaActivity {
            rekeying: s.rekeying_ike(),
            children: s
                .child_activity()
                .into_iter()
                .map(|(spi_in, rekeying, deleting)| ChildActivity {
                    spi_in,
                    rekeying,
                    deleting,
                })
                .collect(),
        })
    }

    /// The status of every IKE SA, in handle order (a walk: for `ike status`, not for a hot
    /// path).
    pub fn status(&self, now: Instant) -> Vec<IkeSaStatus> {
        self.status_page(None, usize::MAX, now)
    }

    /// At most `limit` IKE SAs' status after handle `after` (from the first with `None`), in
    /// handle order: a page, so that a driver can stream the status of many SAs without
    /// building it all at once.
    pub fn status_page(
        &self,
        after: Option<SaHandle>,
        limit: usize,
        now: Instant,
    ) -> Vec<IkeSaStatus> {
        let mut page: Vec<IkeSaStatus> = self
            .table
            .iter_after(after)
            .take(limit)
            .map(|(_, sa)| sa.status(now))
            .collect();
        if self.v1.len() > 0 {
            page.extend(self.v1.status_after(after, limit, now));
            page.sort_unstable_by_key(|s| s.sa);
            page.truncate(limit);
        }
        page
    }

    /// The status of one IKE SA.
    pub fn sa_status(&self, sa: SaHandle, now: Instant) -> Option<IkeSaStatus> {
        self.table
            .get(sa)
            .map(|s| s.status(now))
            .or_else(|| self.v1.status(sa, now))
    }

    /// Sends a liveness check (an empty INFORMATIONAL request, §1.4).
    pub fn check_liveness(&mut self, now: Instant, sa: SaHandle) -> Result<(), EngineError> {
        if self.v1.contains(sa) {
            return Err(EngineError::NotImplemented(
                "dead peer detection (R-U-THERE)",
            ));
        }
        let s = self.table.get_mut(sa).ok_or(EngineError::UnknownSa)?;
        let out = s.start_liveness(now, &self.config, &mut self.rng);
        self.collect(sa, out);
        Ok(())
    }

    /// Handles one received datagram: the IKE message as it arrived at `local` from `remote`.
    ///
    /// Port 4500 is as welcome as port 500. On port 4500 the driver demultiplexes first (RFC
    /// 3948 §2.2): it strips the non-ESP marker and passes the rest here, leaves ESP (a non-zero
    /// SPI where the marker would be) to the kernel, and may drop NAT keepalives; a keepalive
    /// passed here is ignored.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) {
        self.rotate_cookie_secret(now);
        if data == NAT_KEEPALIVE {
            return;
        }
        if let Ok(ike_wire::IkeVersion::V1) = ike_wire::peek_version(data) {
            if self.v1.len() == 0
                && !self
                    .peers
                    .iter()
                    .any(|p| p.version == crate::config::IkeVersion::V1)
            {
                // No IKEv1 connection: ISAKMP is not spoken here at all.
                if let Some(n) = self.drop_log.admit(now) {
                    tracing::debug!(target: "ike", "dropped an IKEv1 (ISAKMP) message of {} bytes from {remote}: no IKEv1 connection is configured{}", data.len(), crate::status::suppressed_note(n));
                }
                self.stats.drops.add(DropReason::UnsupportedVersion);
                return;
            }
            let per_peer = self.table.half_open_from(remote.ip());
            let (v1, mut ctx) = self.v1_ctx();
            ctx.other_half_open.1 = per_peer;
            v1.handle_datagram(&mut ctx, now, local, remote, data);
            return;
        }
        let msg = match v2::Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                // Includes UNSUPPORTED_CRITICAL_PAYLOAD and bad versions: before an SA is
                // authenticated there is nothing safe to answer with, so drop.
                let reason = match ike_wire::peek_version(data) {
                    Ok(ike_wire::IkeVersion::V1) => DropReason::UnsupportedVersion,
                    _ => DropReason::Undecodable,
                };
                if let Some(n) = self.drop_log.admit(now) {
                    tracing::debug!(target: "ike", "dropped {} bytes from {remote}: {reason} ({e}){}", data.len(), crate::status::suppressed_note(n));
                }
                self.stats.drops.add(reason);
                return;
            }
        };
        let h = msg.header;
        if h.exchange == ExchangeType::IkeSaInit
            && tracing::enabled!(target: "ike", tracing::Level::DEBUG)
        {
            tracing::debug!(
                target: "ike",
                "received IKE_SA_INIT {} {} [{}] from {remote}",
                if h.flags.response() { "response" } else { "request" },
                h.message_id,
                payloads::describe(&msg.payloads)
            );
        }
        let from_initiator = h.flags.initiator();
        // The SPI we chose is the responder SPI in messages from the initiator, and the
        // initiator SPI in messages from the responder.
        let ours = if from_initiator { h.spi_r } else { h.spi_i };
        if from_initiator && h.spi_r == [0; 8] {
            if h.exchange == ExchangeType::IkeSaInit && !h.flags.response() {
                self.handle_init_request(now, local, remote, data, &msg);
            } else {
                self.dropped(DropReason::NotAnInitiation, remote);
            }
            return;
        }
        let Some(handle) = self.table.by_spi(&ours) else {
            self.dropped(DropReason::UnknownSpi, remote);
            return;
        };
        let Some(sa) = self.table.get_mut(handle) else {
            return;
        };
        if sa.is_initiator() == from_initiator {
            self.dropped(DropReason::WrongDirection, remote);
            return;
        }
        let _span = self.span_of(handle).entered();
        let Some(sa) = self.table.get_mut(handle) else {
            return;
        };
        let peer = self.peers.get(sa.peer_index());
        sa.set_unix_time(self.unix_now);
        let out = sa.handle_message(
            now,
            local,
            remote,
            data,
            &msg,
            peer.map(|p| &**p),
            &self.peers,
            &self.config,
            &mut self.rng,
        );
        self.collect(handle, out);
    }

    /// Lets timers run: retransmissions, give-ups, half-open expiry, rekeys, lifetimes, dead
    /// peer detection and keepalives. Only the SAs whose timer is due run.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.rotate_cookie_secret(now);
        if self.v1.len() > 0 {
            let (v1, mut ctx) = self.v1_ctx();
            v1.handle_timeout(&mut ctx, now);
        }
        for h in self.table.pop_due(now) {
            let _span = self.span_of(h).entered();
            if let Some(sa) = self.table.get_mut(h) {
                let peer = self.peers.get(sa.peer_index());
                let out = sa.handle_timeout(now, &self.config, peer.map(|p| &**p), &mut self.rng);
                self.collect(h, out);
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.table.next_timeout(), self.v1.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Number of IKE SAs (in any state).
    pub fn sa_count(&self) -> usize {
        self.table.len() + self.v1.len()
    }

    /// Number of half-open IKE SAs we answered.
    pub fn half_open_count(&self) -> usize {
        self.table.half_open() + self.v1.half_open()
    }

    /// Admission statistics.
    pub fn stats(&self) -> AdmissionStats {
        AdmissionStats {
            retransmissions: self.stats.retransmissions + self.v1.retransmissions(),
            ..self.stats
        }
    }

    /// Whether the SA is established.
    pub fn is_established(&self, sa: SaHandle) -> bool {
        self.table.get(sa).is_some_and(IkeSa::is_established) || self.v1.is_established(sa)
    }

    /// Handles of the established IKE SAs.
    pub fn established(&self) -> Vec<SaHandle> {
        let mut v: Vec<SaHandle> = self
            .table
            .iter()
            .filter(|(_, s)| s.is_established())
            .map(|(h, _)| h)
            .chain(self.v1.handles().filter(|h| self.v1.is_established(*h)))
            .collect();
        v.sort_unstable();
        v
    }

    /// The SA, to change it in a test; the test then calls [`Self::sync`].
    #[cfg(test)]
    pub(crate) fn sa_mut(&mut self, h: SaHandle) -> Option<&mut IkeSa> {
        self.table.get_mut(h)
    }

    #[cfg(test)]
    pub(crate) fn handles(&self) -> Vec<SaHandle> {
        self.table.handles().collect()
    }

    /// An IKEv1 Quick Mode or Informational message as the peer of ISAKMP SA `sa` would send
    /// it, for negative tests (the `test-hooks` feature): `payloads` (type, body) after a HASH(1)
    /// that is right (`Some(true)`), wrong (`Some(false)`) or absent (`None`), encrypted under
    /// the IV of message ID `mid` or in the clear.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn v1_forge(
        &self,
        sa: SaHandle,
        exchange: u8,
        mid: u32,
        payloads: &[(u8, Vec<u8>)],
        hash: Option<bool>,
        encrypt: bool,
    ) -> Option<Vec<u8>> {
        self.v1.forge(sa, exchange, mid, payloads, hash, encrypt)
    }

    /// Recounts the table's counters and indexes by a walk over every SA, and checks that each
    /// SA's armed timer is the one it wants; says what disagrees. For tests (the `test-hooks`
    /// feature), which call it after random sequences of inputs.
    #[cfg(any(test, feature = "test-hooks"))]
    #[doc(hidden)]
    pub fn audit(&self) -> Result<(), String> {
        self.table.audit()?;
        self.v1.audit(&self.config)?;
        for (h, sa) in self.table.iter() {
            let peer = self.peers.get(sa.peer_index()).map(|p| &**p);
            let want = sa.next_timeout(&self.config, peer);
            if self.table.deadline(h) != want {
                return Err(format!(
                    "{h:?}: timer armed for {:?}, the SA wants {want:?}",
                    self.table.deadline(h)
                ));
            }
        }
        Ok(())
    }

    /// Adds an SA to the table and brings its indexes and timer up to date.
    fn insert_sa(&mut self, h: SaHandle, sa: IkeSa) {
        self.table.insert(h, sa, None);
        self.sync(h);
    }

    /// After an input changed SA `h`: its timer, indexes and counters, the keys it derived
    /// (for a key log) and its SPIs, O(log n) whatever the number of SAs.
    pub(crate) fn sync(&mut self, h: SaHandle) {
        let Some(sa) = self.table.get_mut(h) else {
            return;
        };
        let peer = self.peers.get(sa.peer_index()).map(|p| &**p);
        let next = sa.next_timeout(&self.config, peer);
        // Raw copies of SK_e/SK_a exist only for this: handed over, or dropped (zeroized) now.
        if let Some(k) = sa.take_fresh_keys() {
            if self.config.export_keys {
                self.events.push_back(Event::IkeSaKeys(Box::new(k)));
            }
        }
        let changes = self.table.sync(h, next);
        if let Some((spi_i, spi_r)) = changes.spis {
            self.events.push_back(Event::IkeSaSpis {
                sa: h,
                spi_i,
                spi_r,
            });
        }
    }

    /// The IKEv1 engine and what it borrows of the endpoint for one input.
    fn v1_ctx(&mut self) -> (&mut crate::v1::Engine, crate::v1::Ctx<'_>) {
        let other = (self.table.half_open(), 0);
        (
            &mut self.v1,
            crate::v1::Ctx {
                config: &self.config,
                peers: &self.peers,
                rng: &mut self.rng,
                transmits: &mut self.transmits,
                events: &mut self.events,
                next_handle: &mut self.next_handle,
                drops: &mut self.stats.drops,
                drop_log: &mut self.drop_log,
                unix_now: self.unix_now,
                other_half_open: other,
            },
        )
    }

    fn alloc_handle(&mut self) -> SaHandle {
        let h = SaHandle(self.next_handle);
        self.next_handle += 1;
        h
    }

    fn dropped(&mut self, reason: DropReason, from: SocketAddr) {
        tracing::debug!(target: "ike", "dropped a message from {from}: {reason}");
        self.stats.drops.add(reason);
    }

    /// The tracing span of an SA: its connection and SPIs on every line logged inside it.
    fn span_of(&self, h: SaHandle) -> tracing::Span {
        match self.table.get(h) {
            Some(sa) => {
                let (i, r) = sa.spis();
                tracing::debug_span!(target: "ike", "ike_sa", conn = %sa.connection_name(), spi_i = %Hex8(i), spi_r = %Hex8(r))
            }
            None => tracing::Span::none(),
        }
    }

    fn push_transmits(&mut self, out: sa::Output) {
        if tracing::enabled!(target: "ike", tracing::Level::DEBUG) {
            // Encrypted messages are logged when sealed; the plaintext IKE_SA_INIT ones here.
            for t in &out.transmits {
                if t.payload.get(18) == Some(&u8::from(ExchangeType::IkeSaInit)) {
                    if let Ok(m) = v2::Message::decode(&t.payload) {
                        tracing::debug!(
                            target: "ike",
                            "sending IKE_SA_INIT {} 0 [{}] to {}",
                            if m.header.flags.response() { "response" } else { "request" },
                            payloads::describe(&m.payloads),
                            t.remote
                        );
                    }
                }
            }
        }
        self.transmits.extend(out.transmits);
        self.events.extend(out.events);
    }

    /// Applies an SA's output, and removes the SA if it closed.
    fn collect(&mut self, handle: SaHandle, mut out: sa::Output) {
        if let Some((reason, from)) = out.dropped.take() {
            self.dropped(reason, from);
        }
        self.stats.retransmissions += u64::from(out.retransmissions);
        let closed = out.closed;
        let restart = out.restart.take();
        if let Some(id) = out.initial_contact.take() {
            // §2.4: the peer holds no other IKE SA with us: ours with the same pair of
            // authenticated identities, whatever their connection, are stale.
            let ids = self
                .table
                .get(handle)
                .and_then(TableSa::identities)
                .map(|(local, _)| (local, id));
            let stale: Vec<SaHandle> = ids
                .as_ref()
                .map(|ids| {
                    self.table
                        .with_identities(ids)
                        .filter(|h| *h != handle)
                        .collect()
                })
                .unwrap_or_default();
            for h in stale {
                if let Some(mut old) = self.table.remove(h) {
                    let o = old.close_silently(CloseReason::Replaced);
                    self.events.extend(o.events);
                }
            }
            let established_at = self.table.get(handle).and_then(IkeSa::established_at);
            if let (Some((local_id, remote_id)), Some(established_at)) = (ids, established_at) {
                self.events.push_back(Event::InitialContact {
                    sa: handle,
                    local_id,
                    remote_id,
                    established_at,
                });
            }
        }
        let mut kicked = None;
        let mut created = None;
        if let Some(mut new) = out.new_sa.take() {
            let h = self.alloc_handle();
            new.set_handle(h);
            let (spi_i, spi_r) = new.spis();
            self.table.insert(h, *new, None);
            created = Some(h);
            if out.kick_new_sa {
                kicked = Some(h);
            } else {
                out.events.push(Event::IkeSaRekeyed {
                    old: handle,
                    new: h,
                    spi_i,
                    spi_r,
                });
            }
        }
        // §2.8.2: the survivor of simultaneous IKE SA rekeys takes the Child SAs.
        let mut moved_to = None;
        if let Some(target) = out
            .move_children_to
            .take()
            .and_then(|spi| self.table.by_spi(&spi))
        {
            let children = self
                .table
                .get_mut(handle)
                .map(IkeSa::take_children)
                .unwrap_or_default();
            // (Its IkeSaRekeyed event went out when it was created.)
            if let Some(t) = self.table.get_mut(target) {
                t.adopt_children(children);
            }
            moved_to = Some(target);
        }
        let mut redundant = None;
        if let Some(h) = out
            .mark_redundant
            .take()
            .and_then(|spi| self.table.by_spi(&spi))
        {
            if let Some(t) = self.table.get_mut(h) {
                t.mark_redundant();
            }
            redundant = Some(h);
        }
        self.push_transmits(out);
        // The SA first (its Child SAs may have moved to the new one), then the others it
        // changed.
        if closed {
            self.table.remove(handle);
        } else {
            self.sync(handle);
        }
        for h in [created, moved_to, redundant].into_iter().flatten() {
            self.sync(h);
        }
        if let Some(h) = kicked {
            let peer = self
                .table
                .get(h)
                .and_then(|s| self.peers.get(s.peer_index()))
                .cloned();
            if let (Some(sa), Some(peer)) = (self.table.get_mut(h), peer) {
                let o = sa.kick(&peer, &self.config, &mut self.rng);
                self.collect(h, o);
            }
        }
        if let Some(r) = restart {
            self.reestablish(r);
        }
    }

    fn rotate_cookie_secret(&mut self, now: Instant) {
        match self.cookie_secret_born {
            None => self.cookie_secret_born = Some(now),
            Some(born)
                if now.saturating_duration_since(born) >= self.config.cookie_secret_lifetime =>
            {
                let mut fresh = [0u8; 32];
                if self.rng.fill(&mut fresh).is_ok() {
                    self.previous_cookie_secret = Some(self.cookie_secret);
                    self.cookie_secret = fresh;
                    self.cookie_version = self.cookie_version.wrapping_add(1);
                    self.cookie_secret_born = Some(now);
                }
            }
            Some(_) => {}
        }
    }

    /// `Cookie = <secret version> | HMAC-SHA256(secret, Ni | IPi | SPIi)` truncated (§2.6).
    fn cookie(
        &self,
        secret: &[u8; 32],
        version: u8,
        ni: &[u8],
        ip: IpAddr,
        spi_i: &[u8; 8],
    ) -> Vec<u8> {
        let ip_bytes = match ip {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mac = ike_crypto::prf::PrfAlg::HmacSha256.compute(secret, &[ni, &ip_bytes, spi_i]);
        let mut c = vec![version];
        c.extend_from_slice(mac.expose().get(..16).unwrap_or_default());
        c
    }

    fn cookie_valid(&self, cookie: &[u8], ni: &[u8], ip: IpAddr, spi_i: &[u8; 8]) -> bool {
        let Some(&version) = cookie.first() else {
            return false;
        };
        let secret = if version == self.cookie_version {
            Some(self.cookie_secret)
        } else if version == self.cookie_version.wrapping_sub(1) {
            self.previous_cookie_secret
        } else {
            None
        };
        secret.is_some_and(|s| {
            let expected = self.cookie(&s, version, ni, ip, spi_i);
            ike_crypto::ct_eq(&expected, cookie)
        })
    }

    /// The admission step for a new IKE_SA_INIT request: retransmission, caps, cookies,
    /// proposal and KE checks, all before any state or exponentiation.
    fn handle_init_request(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg: &v2::Message<'_>,
    ) {
        let h = msg.header;
        if let Some(handle) = self.table.by_init(remote, h.spi_i) {
            // A retransmitted request: the SA answers from its response cache.
            if let Some(sa) = self.table.get_mut(handle) {
                let out = sa.retransmit_init_response(data);
                self.collect(handle, out);
            }
            return;
        }
        if check_payloads(h.exchange, false, &msg.payloads).is_err() {
            self.dropped(DropReason::InvalidInitiation, remote);
            return;
        }
        let half_open = self.table.half_open() + self.v1.half_open();
        let per_peer = self.table.half_open_from(remote.ip()) + self.v1.half_open_from(remote.ip());
        if half_open >= self.config.max_half_open || per_peer >= self.config.max_half_open_per_peer
        {
            self.dropped(DropReason::HalfOpenLimit, remote);
            return;
        }
        let nonce = msg.payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(*n),
            _ => None,
        });
        let Some(ni) = nonce else { return };
        if half_open >= self.config.cookie_threshold {
            let offered = msg.payloads.iter().find_map(|p| match p {
                Payload::Notify(n) if n.notify_type == NotifyType::Cookie => Some(n.data),
                _ => None,
            });
            let ok = offered.is_some_and(|c| self.cookie_valid(c, ni, remote.ip(), &h.spi_i));
            if !ok {
                let cookie = self.cookie(
                    &self.cookie_secret,
                    self.cookie_version,
                    ni,
                    remote.ip(),
                    &h.spi_i,
                );
                let reply = sa::notify_reply(&h, NotifyType::Cookie, &cookie);
                self.stats.cookies_sent += 1;
                if let Some(payload) = reply {
                    self.transmits
                        .push_back(Transmit::ike(local, remote, payload));
                }
                return;
            }
        }
        // Which connection: the first whose remote addresses admit this peer.
        let candidates: Vec<usize> = self
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.remote_addrs.is_empty() || p.remote_addrs.contains(&remote.ip()))
            .map(|(i, _)| i)
            .collect();
        let Some(&idx) = candidates.first() else {
            if let Some(payload) = sa::notify_reply(&h, NotifyType::NoProposalChosen, &[]) {
                self.transmits
                    .push_back(Transmit::ike(local, remote, payload));
            }
            return;
        };
        let Some(peer) = self.peers.get(idx).cloned() else {
            return;
        };
        match sa::screen_init_request(&peer, msg, self.config.prefer_initiator_proposals) {
            Err((notify, data)) => {
                if notify == NotifyType::NoProposalChosen {
                    let offered = msg
                        .payloads
                        .iter()
                        .find_map(|p| match p {
                            Payload::Sa(sa) => Some(sa.proposals.as_slice()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    tracing::info!(target: "ike", "IKE_SA_INIT from {remote} refused with NO_PROPOSAL_CHOSEN for connection {}: {}", peer.name, crate::proposal::mismatch(offered, &peer.ike_proposals));
                }
                if let Some(payload) = sa::notify_reply(&h, notify, &data) {
                    self.transmits
                        .push_back(Transmit::ike(local, remote, payload));
                }
            }
            Ok(chosen) => {
                let handle = self.alloc_handle();
                let spi = loop {
                    let Ok(spi) = self.rng.ike_spi() else {
                        return;
                    };
                    if !self.table.spi_taken(&spi) {
                        break spi;
                    }
                };
                match IkeSa::respond(
                    handle,
                    idx,
                    &peer,
                    chosen,
                    local,
                    remote,
                    spi,
                    data,
                    msg,
                    now,
                    self.config.fragment_size,
                    &mut self.rng,
                ) {
                    Ok((mut sa, out)) => {
                        sa.set_prefer_initiator_proposals(self.config.prefer_initiator_proposals);
                        sa.set_esp_notifies(sa::EspNotifies::from_config(&self.config));
                        self.insert_sa(handle, sa);
                        self.push_transmits(out);
                    }
                    Err(_) => self.dropped(DropReason::InvalidInitiation, remote),
                }
            }
        }
    }
}
