//! One IKE SA: its state, keys, message IDs, retransmission and response cache, and the dispatch
//! of each message to its exchange (RFC 7296 §1.2-§1.4, §2.1-§2.3). The exchanges live in
//! submodules: `ike_sa_init` (§1.2, §2.6, §2.14), `intermediate` (RFC 9242), `ike_auth` (§2.15,
//! §2.16), `create_child` (§1.3, §2.8; with `followup`, RFC 9370 §2.2.4), `informational`
//! (§1.4); and beside them `fragment` (RFC 7383), `nat` (§2.23) and `dpd` (§2.4).

use crate::v2::entropy::Entropy;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike_crypto::dh::{self, KeyExchange};
use ike_crypto::kdf::v2 as kdf;
use ike_crypto::prf::PrfAlg;
use ike_crypto::rng::Rng;
use ike_crypto::Secret;
use ike_wire::group::DhGroup;
use ike_wire::v2::{
    self, ExchangeType, Identification, KeyExchange as KePayload, Notify, NotifyType, Payload,
    ProtocolId,
};

use super::auth::{self, AuthState};
use super::payloads::{check_payloads, ProtocolError};
use super::protect::{header, Protect};
use super::{ChildSaInstall, CloseReason, EngineError, Event, SaHandle, Transmit};
use crate::ipsec::ChildFlags;
use crate::proposal::{check_reply, select_with, Chosen, Proposal};
use crate::status::DropReason;
use crate::v2::{EndpointConfig, Identity, IpsecProtocol, Mode, PeerConfig, Ts};

/// What an SA asks its endpoint to do.
#[derive(Default)]
pub(crate) struct Output {
    pub(crate) transmits: Vec<Transmit>,
    pub(crate) events: Vec<Event>,
    pub(crate) closed: bool,
    /// The peer sent INITIAL_CONTACT: the endpoint drops its other IKE SAs with this identity.
    pub(crate) initial_contact: Option<Identity>,
    /// An IKE SA that replaces this one (RFC 7296 §2.18); the endpoint gives it a handle.
    pub(crate) new_sa: Option<Box<IkeSa>>,
    /// Run the new SA's queue at once (a redundant SA deleting itself, §2.8.2).
    pub(crate) kick_new_sa: bool,
    /// Move this SA's Child SAs to the SA with this (our) SPI: the survivor of §2.8.2.
    pub(crate) move_children_to: Option<[u8; 8]>,
    /// The SA with this (our) SPI lost the §2.8.2 nonce rule; the peer deletes it.
    pub(crate) mark_redundant: Option<[u8; 8]>,
    /// Initiate the connection again once this SA is gone (dead peer action `restart`).
    pub(crate) restart: Option<dpd::Restart>,
    /// The message was dropped, why, and where it came from (counted by the endpoint).
    pub(crate) dropped: Option<(crate::status::DropReason, SocketAddr)>,
    /// Requests sent again (counted by the endpoint).
    pub(crate) retransmissions: u32,
}

const NONCE_LEN: usize = 32;
const MAX_COOKIE_RETRIES: u32 = 3;

enum State {
    /// Initiator: IKE_SA_INIT sent.
    InitSent {
        dh: Box<dyn KeyExchange>,
        cookie: Option<Vec<u8>>,
        cookie_retries: u32,
        tried: Vec<DhGroup>,
    },
    /// Both: IKE_INTERMEDIATE exchanges of additional key exchanges under way (RFC 9370).
    Intermediate(intermediate::Round),
    /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH.
    InitDone,
    /// Initiator: IKE_AUTH sent.
    AuthSent,
    /// Both: established.
    Established,
    /// Our Delete is outstanding.
    Deleting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestKind {
    Init,
    Intermediate,
    Auth,
    Delete,
    Liveness,
    CreateChild,
    FollowupKe,
    DeleteChild,
}

impl RequestKind {
    /// The exchange the request belongs to, by its RFC name.
    fn exchange(self) -> &'static str {
        match self {
            RequestKind::Init => "IKE_SA_INIT",
            RequestKind::Intermediate => "IKE_INTERMEDIATE",
            RequestKind::Auth => "IKE_AUTH",
            RequestKind::Delete | RequestKind::Liveness | RequestKind::DeleteChild => {
                "INFORMATIONAL"
            }
            RequestKind::CreateChild => "CREATE_CHILD_SA",
            RequestKind::FollowupKe => "IKE_FOLLOWUP_KE",
        }
    }
}

struct Outstanding {
    mid: u32,
    bytes: Vec<u8>,
    tries: u32,
    next_at: Instant,
    kind: RequestKind,
}

pub(crate) struct Child {
    name: String,
    cfg: usize,
    /// The negotiated transforms (for status).
    chosen: Chosen,
    /// ESP or AH: Delete and REKEY_SA name it with the SPI.
    protocol: IpsecProtocol,
    spi_in: u32,
    spi_out: u32,
    local_ts: Vec<Ts>,
    remote_ts: Vec<Ts>,
    transport: bool,
    rekey_at: Option<Instant>,
    expire_at: Option<Instant>,
    /// A rekey or delete of this child is under way.
    busy: bool,
    /// Our delete of this child is under way.
    deleting: bool,
    /// The peer rekeyed this child while we were rekeying it too (§2.8.1): the nonces of its
    /// exchange and the Child SA it created, for the nonce rule.
    collision: Option<create_child::Collision>,
}

struct PendingChild {
    cfg: usize,
    spi_in: u32,
    ts_i: Vec<Ts>,
    ts_r: Vec<Ts>,
    transport: bool,
}

struct Keys {
    prf: PrfAlg,
    sk_d: Secret,
    sk_pi: Secret,
    sk_pr: Secret,
    out: Protect,
    inn: Protect,
    /// SK_ei, SK_er, SK_ai, SK_ar and their algorithms, for a key log, until the endpoint takes
    /// them right after the input that derived them (`IkeSa::take_fresh_keys`): no raw copy
    /// of the keys outlives that input.
    export: Option<KeyCopy>,
}

struct KeyCopy {
    encr: ike_crypto::cipher::EncrAlg,
    integ: Option<ike_crypto::cipher::IntegAlg>,
    sk_ei: Secret,
    sk_er: Secret,
    sk_ai: Secret,
    sk_ar: Secret,
}

/// Whether an IKE SA has been replaced by a rekey (RFC 7296 §2.18, §2.8.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum RekeyState {
    /// It is the current IKE SA of its peer.
    #[default]
    Current,
    /// A new IKE SA took its place (and its Child SAs); it is deleted next.
    Replaced,
    /// Replaced, and our own simultaneous rekey lost the §2.8.2 nonce rule: the peer deletes
    /// it, not we; becomes `Replaced` when our exchange has been concluded.
    ReplacedLostCollision,
}

impl RekeyState {
    fn replaced(self) -> bool {
        self != RekeyState::Current
    }
}

/// The message window of an IKE SA (RFC 7296 §2.1-§2.3; a window of one).
#[derive(Default)]
struct Window {
    /// The message ID of our next request.
    next_mid: u32,
    /// The message ID we expect of the peer's next request.
    peer_next_mid: u32,
    /// Our request awaiting its response, with its retransmission state.
    outstanding: Option<Outstanding>,
    /// The response to the peer's last request, for its retransmissions: (message ID, bytes).
    last_response: Option<(u32, Vec<u8>)>,
}

/// What an IKE SA needs only until it is established (then dropped, `IkeSa::established_events`).
#[derive(Default)]
struct Handshake {
    /// RealMessage1 and RealMessage2 of §2.15: the IKE_SA_INIT request and response.
    init_request: Vec<u8>,
    init_response: Vec<u8>,
    /// IntAuth of the IKE_INTERMEDIATE exchanges, for IKE_AUTH (RFC 9242 §3.3.2).
    int_auth: Option<intermediate::IntAuth>,
    /// The first Child SA proposed in IKE_AUTH (initiator).
    pending_child: Option<PendingChild>,
}

pub(crate) struct IkeSa {
    handle: SaHandle,
    peer_idx: usize,
    connection: String,
    initiator: bool,
    state: State,
    local: SocketAddr,
    remote: SocketAddr,
    spi_i: [u8; 8],
    spi_r: [u8; 8],
    ni: Vec<u8>,
    nr: Vec<u8>,
    chosen: Option<Chosen>,
    keys: Option<Keys>,
    /// What only the handshake needs; emptied once the SA is established.
    handshake: Handshake,
    /// Message IDs, our outstanding request and the response cache (§2.1-§2.3).
    window: Window,
    children: Vec<Child>,
    created: Instant,
    half_open_timeout: Duration,
    remote_id: Option<Identity>,
    /// Our identity, once the IKE SA is established (with `remote_id`, the pair INITIAL_CONTACT
    /// is about, RFC 7296 §2.4).
    local_id: Option<Identity>,
    /// Peer's signature hash algorithms, Unix time, how the peer authenticated.
    auth: AuthState,
    /// The time of the call being handled (the engine has no clock of its own).
    clock: Instant,
    /// Local requests waiting for the window (RFC 7296 §2.3: one outstanding request).
    queue: std::collections::VecDeque<create_child::Op>,
    /// Our CREATE_CHILD_SA exchange under way.
    creating: Option<Box<create_child::Creating>>,
    /// When to rekey this IKE SA.
    ike_rekey_at: Option<Instant>,
    /// When to delete this IKE SA if no rekey replaced it ([`PeerConfig::life_time`]).
    ike_expire_at: Option<Instant>,
    /// When it was established (or created by a rekey).
    established_at: Option<Instant>,
    /// Whether a rekeyed IKE SA replaced this one (§2.18; its deletion then closes it as
    /// rekeyed), and how.
    rekey: RekeyState,
    /// The responder nonce of our last completed CREATE_CHILD_SA, for the collision rule.
    last_exchange_nr: Vec<u8>,
    /// Both ends announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383).
    fragmentation: bool,
    /// Largest message we send unfragmented (0: we do not fragment).
    fragment_size: usize,
    /// The peer's fragments of the message being reassembled.
    reassembly: Option<fragment::Reassembly>,
    /// Send INITIAL_CONTACT in IKE_AUTH: we hold no other IKE SA with this peer (§2.4).
    initial_contact: bool,
    /// The peer announced CHILDLESS_IKEV2_SUPPORTED (RFC 6023).
    peer_childless: bool,
    /// NAT detection and the addresses in use (§2.23).
    nat: nat::Nat,
    /// When the peer last sent an authenticated message (§2.4).
    liveness: dpd::Liveness,
    /// Select proposals in the initiator's order (EndpointConfig).
    prefer_initiator_proposals: bool,
    /// Responder: the peer's CREATE_CHILD_SA exchanges waiting for their IKE_FOLLOWUP_KE
    /// exchanges (RFC 9370 §2.2.4).
    followups: Vec<followup::Responder>,
    /// What our Child SA requests and responses announce about ESP (EndpointConfig).
    esp_notifies: EspNotifies,
}

/// Our ESP announcements (RFC 7296 §3.10.1), from [`EndpointConfig`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EspNotifies {
    /// Send ESP_TFC_PADDING_NOT_SUPPORTED.
    no_tfc_padding: bool,
    /// Send NON_FIRST_FRAGMENTS_ALSO (in a response only when the request had it).
    non_first_fragments: bool,
}

impl EspNotifies {
    pub(crate) fn from_config(config: &EndpointConfig) -> Self {
        Self {
            no_tfc_padding: !config.tfc_padding_supported,
            non_first_fragments: config.non_first_fragments,
        }
    }

    /// The notifies for a Child SA request (`request` is `None`) or for the response to
    /// `request`.
    fn payloads(self, request: Option<&[Payload<'_>]>) -> Vec<Payload<'static>> {
        let mut p = Vec::new();
        if self.no_tfc_padding {
            p.push(Payload::Notify(Notify::new(
                NotifyType::EspTfcPaddingNotSupported,
                &[],
            )));
        }
        let asked =
            request.is_none_or(|r| find_notify(r, NotifyType::NonFirstFragmentsAlso).is_some());
        if self.non_first_fragments && asked {
            p.push(Payload::Notify(Notify::new(
                NotifyType::NonFirstFragmentsAlso,
                &[],
            )));
        }
        p
    }
}

mod create_child;
mod dpd;
mod followup;
mod fragment;
mod ike_auth;
mod ike_sa_init;
mod informational;
mod intermediate;
mod nat;
#[cfg(test)]
mod test_support;
pub(crate) use create_child::Command;
pub use nat::SaPath;

fn nat_hash(spi_i: &[u8; 8], spi_r: &[u8; 8], addr: SocketAddr) -> Vec<u8> {
    let ip = match addr.ip() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    PrfAlg::HmacSha1
        .hash(&[spi_i, spi_r, &ip, &addr.port().to_be_bytes()])
        .unwrap_or_default()
}

/// The keys of an IKE SA from its SKEYSEED (§2.14), each direction prepared for our role:
/// `{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)`.
fn ike_keys(
    chosen: Chosen,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
    initiator: bool,
) -> Result<Keys, ProtocolError> {
    let bad = |_| ProtocolError::Unsupported("negotiated algorithm");
    let prf = chosen.prf_alg().map_err(bad)?;
    let encr = chosen.encr_alg().map_err(bad)?;
    let integ = chosen.integ_alg().map_err(bad)?;
    let k = kdf::ike_sa_keys(
        prf,
        skeyseed,
        ni,
        nr,
        spi_i,
        spi_r,
        integ.map_or(0, |i| i.key_len()),
        encr.key_material_len(),
    )
    .map_err(bad)?;
    let i_side =
        Protect::new(encr, k.sk_ei.expose(), integ.map(|a| (a, k.sk_ai.expose()))).map_err(bad)?;
    let r_side =
        Protect::new(encr, k.sk_er.expose(), integ.map(|a| (a, k.sk_ar.expose()))).map_err(bad)?;
    let (out, inn) = if initiator {
        (i_side, r_side)
    } else {
        (r_side, i_side)
    };
    Ok(Keys {
        prf,
        sk_d: k.sk_d,
        sk_pi: k.sk_pi,
        sk_pr: k.sk_pr,
        out,
        inn,
        export: Some(KeyCopy {
            encr,
            integ,
            sk_ei: k.sk_ei,
            sk_er: k.sk_er,
            sk_ai: k.sk_ai,
            sk_ar: k.sk_ar,
        }),
    })
}

fn id_body(id_type: v2::IdType, data: &[u8]) -> Vec<u8> {
    let mut b = vec![id_type.value(), 0, 0, 0];
    b.extend_from_slice(data);
    b
}

fn find_notify<'p>(payloads: &'p [Payload<'_>], t: NotifyType) -> Option<&'p Notify<'p>> {
    payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.notify_type == t => Some(n),
        _ => None,
    })
}

fn first_error_notify(payloads: &[Payload<'_>]) -> Option<NotifyType> {
    payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.notify_type.is_error() => Some(n.notify_type),
        _ => None,
    })
}

/// An unencrypted IKE_SA_INIT response carrying one notify (errors and COOKIE, §2.6, §1.2).
pub(crate) fn notify_reply(h: &v2::Header, t: NotifyType, data: &[u8]) -> Option<Vec<u8>> {
    let m = v2::Message {
        header: header(
            h.spi_i,
            [0; 8],
            ExchangeType::IkeSaInit,
            false,
            true,
            h.message_id,
        ),
        payloads: vec![Payload::Notify(Notify::new(t, data))],
    };
    m.to_vec().ok()
}

/// The responder's checks of an IKE_SA_INIT request that need no state: proposal selection in
/// our order, and the KE group and length. Errors come with the notify data to send.
pub(crate) fn screen_init_request(
    peer: &PeerConfig,
    msg: &v2::Message<'_>,
    initiator_order: bool,
) -> Result<Chosen, (NotifyType, Vec<u8>)> {
    let sa = msg.payloads.iter().find_map(|p| match p {
        Payload::Sa(sa) => Some(sa),
        _ => None,
    });
    let ke = msg.payloads.iter().find_map(|p| match p {
        Payload::Ke(k) => Some(k),
        _ => None,
    });
    let nonce = msg.payloads.iter().find_map(|p| match p {
        Payload::Nonce(n) => Some(*n),
        _ => None,
    });
    let (Some(sa), Some(ke), Some(nonce)) = (sa, ke, nonce) else {
        return Err((NotifyType::InvalidSyntax, Vec::new()));
    };
    // §2.10: nonces are at least 16 octets and at most 256.
    if !(16..=256).contains(&nonce.len()) {
        return Err((NotifyType::InvalidSyntax, Vec::new()));
    }
    let supported: Vec<Proposal> = peer
        .ike_proposals
        .iter()
        .map(|p| Proposal {
            ke: p
                .ke
                .iter()
                .copied()
                .filter(|g| dh::is_supported(*g))
                .collect(),
            ..p.clone()
        })
        .collect();
    let supported = intermediate::usable_proposals(supported, &msg.payloads);
    let chosen = select_with(&supported, &sa.proposals, initiator_order)
        .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
    let group = chosen
        .ke
        .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
    if ke.group != group {
        return Err((
            NotifyType::InvalidKePayload,
            group.value().to_be_bytes().to_vec(),
        ));
    }
    if dh::public_value_len(group).is_some_and(|n| n != ke.data.len()) {
        return Err((NotifyType::InvalidSyntax, Vec::new()));
    }
    Ok(chosen)
}

impl crate::table::TableSa for IkeSa {
    fn our_spi(&self) -> [u8; 8] {
        IkeSa::our_spi(self)
    }

    fn init_key(&self) -> Option<(SocketAddr, [u8; 8])> {
        IkeSa::init_key(self)
    }

    fn connection(&self) -> &str {
        &self.connection
    }

    fn spis(&self) -> ([u8; 8], [u8; 8]) {
        (self.spi_i, self.spi_r)
    }

    fn half_open_from(&self) -> Option<IpAddr> {
        self.is_half_open_responder()
            .then(|| self.nat.origin_remote().ip())
    }

    fn identities(&self) -> Option<(Identity, Identity)> {
        match (&self.local_id, &self.remote_id) {
            (Some(l), Some(r)) if self.is_established() => Some((l.clone(), r.clone())),
            _ => None,
        }
    }

    fn child_spis(&self, out: &mut Vec<u32>) {
        out.extend(self.children.iter().map(|c| c.spi_in));
    }
}

impl IkeSa {
    pub(crate) fn is_initiator(&self) -> bool {
        self.initiator
    }

    pub(crate) fn peer_index(&self) -> usize {
        self.peer_idx
    }

    pub(crate) fn set_peer_index(&mut self, idx: usize) {
        self.peer_idx = idx;
    }

    pub(crate) fn our_spi(&self) -> [u8; 8] {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }

    pub(crate) fn init_key(&self) -> Option<(SocketAddr, [u8; 8])> {
        (!self.initiator).then_some((self.nat.origin_remote(), self.spi_i))
    }

    pub(crate) fn set_unix_time(&mut self, unix_now: Option<i64>) {
        self.auth.unix_now = unix_now;
    }

    pub(crate) fn set_initial_contact(&mut self, on: bool) {
        self.initial_contact = on;
    }

    pub(crate) fn set_prefer_initiator_proposals(&mut self, on: bool) {
        self.prefer_initiator_proposals = on;
    }

    pub(crate) fn set_esp_notifies(&mut self, n: EspNotifies) {
        self.esp_notifies = n;
    }

    pub(crate) fn connection_name(&self) -> &str {
        &self.connection
    }

    /// The SA's current SK_e/SK_a keys if nobody has taken them since they were derived.
    pub(crate) fn take_fresh_keys(&mut self) -> Option<super::IkeSaKeys> {
        let e = self.keys.as_mut()?.export.take()?;
        Some(super::IkeSaKeys {
            sa: self.handle,
            connection: self.connection.clone(),
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            encr: e.encr,
            integ: e.integ,
            sk_ei: e.sk_ei,
            sk_er: e.sk_er,
            sk_ai: e.sk_ai,
            sk_ar: e.sk_ar,
        })
    }

    /// Drops the SA without telling the peer (INITIAL_CONTACT from a new SA with that peer).
    pub(crate) fn close_silently(&mut self, reason: CloseReason) -> Output {
        let mut out = Output::default();
        self.close(&mut out, reason);
        out
    }

    pub(crate) fn is_established(&self) -> bool {
        matches!(self.state, State::Established)
    }

    /// When it was established (or created by a rekey).
    pub(crate) fn established_at(&self) -> Option<Instant> {
        self.established_at
    }

    /// What status shows of this SA at `now`.
    pub(crate) fn status(&self, now: Instant) -> crate::status::IkeSaStatus {
        use crate::status::{ChildSaState, ChildSaStatus, IkeSaState};
        let deleting = matches!(self.state, State::Deleting)
            || self.queue.contains(&create_child::Op::DeleteIke);
        let state = if deleting {
            IkeSaState::Deleting
        } else if !self.is_established() {
            IkeSaState::Connecting
        } else if self.rekeying_ike() {
            IkeSaState::Rekeying
        } else {
            IkeSaState::Established
        };
        crate::status::IkeSaStatus {
            sa: self.handle,
            connection: self.connection.clone(),
            version: 2,
            state,
            initiator: self.initiator,
            local: self.local,
            remote: self.remote,
            local_id: self.local_id.clone(),
            remote_id: self.remote_id.clone(),
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            proposal: self.chosen.map(|c| c.describe()),
            established_for: self
                .established_at
                .map(|t| now.saturating_duration_since(t)),
            rekey_in: self.ike_rekey_at.map(|t| t.saturating_duration_since(now)),
            children: self
                .children
                .iter()
                .map(|c| ChildSaStatus {
                    name: c.name.clone(),
                    state: if deleting || c.deleting {
                        ChildSaState::Deleting
                    } else if c.busy {
                        ChildSaState::Rekeying
                    } else {
                        ChildSaState::Installed
                    },
                    protocol: c.protocol,
                    spi_in: c.spi_in,
                    spi_out: c.spi_out,
                    local_ts: c.local_ts.clone(),
                    remote_ts: c.remote_ts.clone(),
                    mode: if c.transport {
                        Mode::Transport
                    } else {
                        Mode::Tunnel
                    },
                    proposal: match c.protocol {
                        IpsecProtocol::Esp => c.chosen.describe(),
                        IpsecProtocol::Ah => format!("ah:{}", c.chosen.describe()),
                    },
                    rekey_in: c.rekey_at.map(|t| t.saturating_duration_since(now)),
                    expire_in: c.expire_at.map(|t| t.saturating_duration_since(now)),
                })
                .collect(),
        }
    }

    pub(crate) fn is_half_open_responder(&self) -> bool {
        !self.initiator && matches!(self.state, State::InitDone | State::Intermediate(_))
    }

    pub(crate) fn next_timeout(
        &self,
        config: &EndpointConfig,
        peer: Option<&PeerConfig>,
    ) -> Option<Instant> {
        let retransmit = self.window.outstanding.as_ref().map(|o| o.next_at);
        let half_open = self
            .is_half_open_responder()
            .then(|| self.created + self.half_open_timeout);
        [
            retransmit,
            half_open,
            self.next_rekey_timer(),
            self.keepalive_at(config),
            self.dpd_at(peer),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Sends an IKE message: a response to where its request came from, anything else to the
    /// SA's addresses (`nat.rs`).
    fn transmit(&mut self, out: &mut Output, payload: Vec<u8>) {
        // A fragmented message is kept as its fragments back to back (see `fragment`).
        for payload in fragment::split_datagrams(payload) {
            let t = self.addressed(payload);
            out.transmits.push(t);
        }
    }

    fn close(&mut self, out: &mut Output, reason: CloseReason) {
        for c in self.children.drain(..) {
            out.events.push(Event::ChildSaDelete {
                sa: self.handle,
                connection: self.connection.clone(),
                child: c.name,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
            });
        }
        out.events.push(Event::IkeSaClosed {
            sa: self.handle,
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            connection: self.connection.clone(),
            reason,
            version: 2,
            established: self.established_at.is_some(),
        });
        out.closed = true;
    }

    fn send_request(
        &mut self,
        out: &mut Output,
        now: Instant,
        config: &EndpointConfig,
        bytes: Vec<u8>,
        kind: RequestKind,
        mid: u32,
    ) {
        self.transmit(out, bytes.clone());
        self.window.outstanding = Some(Outstanding {
            mid,
            bytes,
            tries: 0,
            next_at: now + config.retransmit_timeout,
            kind,
        });
    }

    // ---- message protection ----

    fn seal(
        &self,
        exchange: ExchangeType,
        response: bool,
        mid: u32,
        payloads: &[Payload<'_>],
        rng: &mut dyn Rng,
    ) -> Option<Vec<u8>> {
        let keys = self.keys.as_ref()?;
        if tracing::enabled!(target: "ike", tracing::Level::DEBUG) {
            tracing::debug!(
                target: "ike",
                "sending {} {} {} [{}] to {}",
                exchange_name(exchange),
                if response { "response" } else { "request" },
                mid,
                super::payloads::describe(payloads),
                self.remote
            );
        }
        let h = header(
            self.spi_i,
            self.spi_r,
            exchange,
            self.initiator,
            response,
            mid,
        );
        let whole = keys.out.seal(&h, payloads, rng).ok()?;
        if !self.wants_fragments(whole.len()) {
            return Some(whole);
        }
        let pieces = keys
            .out
            .seal_fragments(&h, payloads, self.fragment_size, rng)
            .ok()?;
        Some(pieces.concat())
    }

    fn open(&mut self, data: &[u8], msg: &v2::Message<'_>) -> Option<(Vec<u8>, v2::PayloadType)> {
        if let Some(skf) = fragment::skf(msg) {
            return self.take_fragment(data, msg.header.message_id, skf);
        }
        let keys = self.keys.as_ref()?;
        let sk = msg.payloads.iter().find_map(|p| match p {
            Payload::Encrypted(e) => Some(e),
            _ => None,
        })?;
        keys.inn.open(data, sk).ok()
    }

    // ---- dispatch ----

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_message(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg: &v2::Message<'_>,
        peer: Option<&PeerConfig>,
        peers: &[Arc<PeerConfig>],
        config: &EndpointConfig,
        rng: &mut Entropy,
    ) -> Output {
        let mut out = Output::default();
        self.clock = now;
        let h = msg.header;
        // Addresses are checked by `nat.rs`, and change only after an integrity check (§2.23).
        if !self.accept_from(&h, local, remote) {
            return out;
        }
        let Some(peer) = peer else { return out };
        let drop = |mut out: Output, reason: DropReason| {
            out.dropped = Some((reason, remote));
            out
        };
        if h.flags.response() {
            let Some(outstanding) = self.window.outstanding.as_ref() else {
                return drop(out, DropReason::UnexpectedResponse);
            };
            if h.message_id != outstanding.mid {
                return drop(out, DropReason::UnexpectedResponse);
            }
            let kind = outstanding.kind;
            if kind == RequestKind::Init {
                self.handle_init_response(now, data, msg, peer, config, rng, &mut out);
                return out;
            }
            let Some((plain, first)) = self.open(data, msg) else {
                if fragment::skf(msg).is_some() {
                    // A fragment kept for reassembly (or refused by it).
                    return out;
                }
                return drop(out, DropReason::IntegrityCheckFailed);
            };
            self.authenticated(local, remote, &mut out);
            let Ok(inner) = v2::decode_payloads(first, &plain, 0) else {
                return drop(out, DropReason::InvalidPayloads);
            };
            log_received(&h, &inner, remote);
            match (kind, h.exchange) {
                (RequestKind::Intermediate, ExchangeType::IkeIntermediate) => self
                    .handle_intermediate_response(
                        now, msg, first, &plain, &inner, peer, config, rng, &mut out,
                    ),
                (RequestKind::Auth, ExchangeType::IkeAuth) => {
                    self.handle_auth_response(&inner, peer, rng, &mut out)
                }
                (RequestKind::Delete, ExchangeType::Informational) => {
                    self.window.outstanding = None;
                    let reason = if self.rekey.replaced() {
                        CloseReason::Rekeyed
                    } else {
                        CloseReason::Deleted
                    };
                    self.close(&mut out, reason);
                }
                (RequestKind::Liveness, ExchangeType::Informational) => {
                    self.window.outstanding = None
                }
                (RequestKind::DeleteChild, ExchangeType::Informational) => {
                    self.window.outstanding = None;
                    self.handle_delete_child_response(&inner, &mut out);
                }
                (RequestKind::CreateChild, ExchangeType::CreateChildSa) => {
                    self.window.outstanding = None;
                    self.handle_create_child_response(&inner, peer, config, rng, &mut out);
                }
                (RequestKind::FollowupKe, ExchangeType::IkeFollowupKe) => {
                    self.window.outstanding = None;
                    self.handle_followup_response(&inner, peer, config, rng, &mut out);
                }
                _ => return drop(out, DropReason::UnexpectedResponse),
            }
            if !out.closed {
                self.run_queue(peer, config, rng, &mut out);
            }
            return out;
        }
        // A request from the peer.
        if let Some((mid, bytes)) = &self.window.last_response {
            let later_fragment = fragment::skf(msg).is_some_and(|f| f.fragment_number != 1);
            if h.message_id == *mid && h.exchange != ExchangeType::IkeSaInit && !later_fragment {
                // §2.1: a retransmitted request gets the identical response.
                tracing::debug!(target: "ike", "retransmitted {} request {} from {remote}: answered from the response cache", exchange_name(h.exchange), h.message_id);
                let bytes = bytes.clone();
                self.transmit(&mut out, bytes);
                return out;
            }
        }
        if h.message_id != self.window.peer_next_mid {
            return drop(out, DropReason::UnexpectedMessageId);
        }
        let Some((plain, first)) = self.open(data, msg) else {
            if fragment::skf(msg).is_some() {
                return out;
            }
            return drop(out, DropReason::IntegrityCheckFailed);
        };
        self.authenticated(local, remote, &mut out);
        let Ok(inner) = v2::decode_payloads(first, &plain, 0) else {
            return drop(out, DropReason::InvalidPayloads);
        };
        log_received(&h, &inner, remote);
        match (&self.state, h.exchange) {
            (State::Intermediate(_), ExchangeType::IkeIntermediate) => {
                self.handle_intermediate_request(msg, first, &plain, &inner, rng, &mut out)
            }
            (State::InitDone, ExchangeType::IkeAuth) => {
                self.handle_auth_request(now, &inner, peers, rng, &mut out)
            }
            (State::Established | State::Deleting, ExchangeType::Informational) => {
                self.handle_informational_request(&inner, h.message_id, rng, &mut out)
            }
            (State::Established, ExchangeType::CreateChildSa) => {
                self.handle_create_child_request(&inner, h.message_id, peer, rng, &mut out);
            }
            (State::Established, ExchangeType::IkeFollowupKe) => {
                self.handle_followup_request(&inner, h.message_id, peer, rng, &mut out);
            }
            // An exchange in the wrong state never changes the SA.
            _ => return drop(out, DropReason::WrongState),
        }
        out
    }

    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &EndpointConfig,
        peer: Option<&PeerConfig>,
        rng: &mut Entropy,
    ) -> Output {
        let mut out = Output::default();
        self.clock = now;
        if let Some(peer) = peer {
            self.run_timers(now, peer, config, rng, &mut out);
        }
        if out.closed {
            return out;
        }
        self.run_dpd(now, peer, config, rng, &mut out);
        self.run_keepalive(now, config, &mut out);
        if self.is_half_open_responder() && now >= self.created + self.half_open_timeout {
            self.close(&mut out, CloseReason::HalfOpenExpired);
            return out;
        }
        let Some(o) = self.window.outstanding.as_mut() else {
            return out;
        };
        if now < o.next_at {
            return out;
        }
        if o.tries >= config.retransmit_tries {
            let kind = o.kind;
            self.window.outstanding = None;
            self.give_up(kind, peer, &mut out);
            return out;
        }
        o.tries += 1;
        let factor = config
            .retransmit_base
            .powi(i32::try_from(o.tries).unwrap_or(i32::MAX));
        o.next_at = now + config.retransmit_timeout.mul_f64(factor);
        tracing::debug!(target: "ike", "retransmitting {} request {} to {} (retransmission {} of {})", o.kind.exchange(), o.mid, self.remote, o.tries, config.retransmit_tries);
        let bytes = o.bytes.clone();
        self.transmit(&mut out, bytes);
        out.retransmissions += 1;
        out
    }
}

/// The exchange's RFC name, or its number.
pub(crate) fn exchange_name(e: ExchangeType) -> std::borrow::Cow<'static, str> {
    match e.name() {
        Some(n) => n.into(),
        None => u8::from(e).to_string().into(),
    }
}

fn log_received(h: &v2::Header, inner: &[Payload<'_>], from: SocketAddr) {
    if tracing::enabled!(target: "ike", tracing::Level::DEBUG) {
        tracing::debug!(
            target: "ike",
            "received {} {} {} [{}] from {from}",
            exchange_name(h.exchange),
            if h.flags.response() { "response" } else { "request" },
            h.message_id,
            super::payloads::describe(inner)
        );
    }
}

struct NegotiatedChild {
    cfg: usize,
    protocol: IpsecProtocol,
    chosen: Chosen,
    spi_in: u32,
    spi_out: u32,
    ts_i: Vec<Ts>,
    ts_r: Vec<Ts>,
    transport: bool,
    flags: ChildFlags,
    /// As the responder of a rekey: the inbound SPI of the Child SA this one replaces.
    replaces: Option<u32>,
}

impl crate::ipsec::ChildFlags {
    pub(crate) fn from_payloads(inner: &[Payload<'_>]) -> Self {
        Self {
            peer_refuses_tfc_padding: find_notify(inner, NotifyType::EspTfcPaddingNotSupported)
                .is_some(),
            non_first_fragments: find_notify(inner, NotifyType::NonFirstFragmentsAlso).is_some(),
        }
    }
}
