//! One IKE SA: its state, keys, message IDs and the exchanges it runs (RFC 7296 §1.2-§1.4,
//! §2.1-§2.3, §2.13-§2.17).

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
    /// RealMessage1 and RealMessage2 of §2.15: the IKE_SA_INIT request and response.
    init_request: Vec<u8>,
    init_response: Vec<u8>,
    next_mid: u32,
    peer_next_mid: u32,
    outstanding: Option<Outstanding>,
    last_response: Option<(u32, Vec<u8>)>,
    children: Vec<Child>,
    pending_child: Option<PendingChild>,
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
    /// Set once a rekeyed IKE SA has replaced this one; its deletion then closes it as rekeyed.
    rekeyed: bool,
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
    /// IntAuth of the IKE_INTERMEDIATE exchanges, for IKE_AUTH (RFC 9242 §3.3.2).
    int_auth: Option<intermediate::IntAuth>,
    /// Select proposals in the initiator's order (EndpointConfig).
    prefer_initiator_proposals: bool,
    /// While answering a colliding IKE rekey: keep the Child SAs (§2.8.2).
    ike_collision_pending: bool,
    /// Our IKE rekey lost the §2.8.2 nonce rule: do not delete the old SA ourselves.
    ike_collision_lost: bool,
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
        let retransmit = self.outstanding.as_ref().map(|o| o.next_at);
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
        self.outstanding = Some(Outstanding {
            mid,
            bytes,
            tries: 0,
            next_at: now + config.retransmit_timeout,
            kind,
        });
    }

    // ---- initiator: IKE_SA_INIT ----

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn initiate(
        handle: SaHandle,
        peer_idx: usize,
        peer: &PeerConfig,
        config: &EndpointConfig,
        local: SocketAddr,
        remote: SocketAddr,
        spi_i: [u8; 8],
        now: Instant,
        rng: &mut Entropy,
    ) -> Result<(Self, Output), EngineError> {
        let group = peer
            .ike_proposals
            .iter()
            .flat_map(|p| p.ke.iter().copied())
            .find(|g| dh::is_supported(*g))
            .ok_or(EngineError::Crypto(ike_crypto::CryptoError::Unsupported(
                "no supported key exchange in the IKE proposals",
            )))?;
        let dh = dh::generate(group, rng)?;
        let mut ni = vec![0u8; NONCE_LEN];
        rng.fill(&mut ni)?;
        let mut sa = IkeSa {
            handle,
            peer_idx,
            connection: peer.name.clone(),
            initiator: true,
            state: State::InitSent {
                dh,
                cookie: None,
                cookie_retries: 0,
                tried: vec![group],
            },
            local,
            remote,
            spi_i,
            spi_r: [0; 8],
            ni,
            nr: Vec::new(),
            chosen: None,
            keys: None,
            init_request: Vec::new(),
            init_response: Vec::new(),
            next_mid: 0,
            peer_next_mid: 0,
            outstanding: None,
            last_response: None,
            children: Vec::new(),
            pending_child: None,
            created: now,
            half_open_timeout: config.half_open_timeout,
            remote_id: None,
            local_id: None,
            auth: AuthState::default(),
            clock: now,
            queue: Default::default(),
            creating: None,
            ike_rekey_at: None,
            ike_expire_at: None,
            established_at: None,
            rekeyed: false,
            last_exchange_nr: Vec::new(),
            fragmentation: false,
            fragment_size: config.fragment_size,
            reassembly: None,
            initial_contact: false,
            peer_childless: false,
            nat: nat::Nat::new(local, remote, now, true, peer.encap),
            liveness: dpd::Liveness::new(now),
            int_auth: None,
            prefer_initiator_proposals: false,
            ike_collision_pending: false,
            ike_collision_lost: false,
            followups: Vec::new(),
            esp_notifies: EspNotifies::from_config(config),
        };
        let mut out = Output::default();
        let bytes = sa
            .init_request_bytes(peer)
            .map_err(|_| EngineError::UnknownSa)?;
        sa.init_request = bytes.clone();
        sa.send_request(&mut out, now, config, bytes, RequestKind::Init, 0);
        sa.next_mid = 1;
        Ok((sa, out))
    }

    fn init_request_bytes(&self, peer: &PeerConfig) -> Result<Vec<u8>, ike_wire::EncodeError> {
        let State::InitSent { dh, cookie, .. } = &self.state else {
            return Err(ike_wire::EncodeError::Inconsistent { what: "state" });
        };
        let proposals: Vec<v2::Proposal<'_>> = peer
            .ike_proposals
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), &[]))
            .collect();
        let nat_src = self.nat_source_hash();
        let nat_dst = nat_hash(&self.spi_i, &[0; 8], self.remote);
        let hashes = auth::hash_notify_data(peer);
        let mut payloads = Vec::new();
        if let Some(c) = cookie {
            // §2.6: the COOKIE notify comes first.
            payloads.push(Payload::Notify(Notify::new(NotifyType::Cookie, c)));
        }
        payloads.push(Payload::Sa(v2::Sa { proposals }));
        payloads.push(Payload::Ke(KePayload {
            group: dh.group(),
            data: dh.public_value(),
        }));
        payloads.push(Payload::Nonce(&self.ni));
        payloads.push(Payload::Notify(Notify::new(
            NotifyType::NatDetectionSourceIp,
            &nat_src,
        )));
        payloads.push(Payload::Notify(Notify::new(
            NotifyType::NatDetectionDestinationIp,
            &nat_dst,
        )));
        if let Some(h) = &hashes {
            // RFC 7427 §4.
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::SignatureHashAlgorithms,
                h,
            )));
        }
        if intermediate::announce(peer) {
            // RFC 9242 §3.1, RFC 9370 §2.2.1.
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::IntermediateExchangeSupported,
                &[],
            )));
        }
        if self.fragment_size > 0 {
            // RFC 7383 §2.3.
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::FragmentationSupported,
                &[],
            )));
        }
        // RFC 6023 §3.
        payloads.push(Payload::Notify(Notify::new(
            NotifyType::ChildlessIkev2Supported,
            &[],
        )));
        v2::Message {
            header: header(self.spi_i, [0; 8], ExchangeType::IkeSaInit, true, false, 0),
            payloads,
        }
        .to_vec()
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_init_response(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &v2::Message<'_>,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        if msg.header.message_id != 0 || !msg.header.flags.response() {
            return;
        }
        if check_payloads(ExchangeType::IkeSaInit, true, &msg.payloads).is_err() {
            return;
        }
        if let Some(c) = find_notify(&msg.payloads, NotifyType::Cookie) {
            let cookie = c.data.to_vec();
            if let State::InitSent {
                cookie: slot,
                cookie_retries,
                ..
            } = &mut self.state
            {
                if *cookie_retries >= MAX_COOKIE_RETRIES {
                    return;
                }
                *cookie_retries += 1;
                *slot = Some(cookie);
            }
            self.resend_init(now, peer, config, out);
            return;
        }
        if let Some(n) = find_notify(&msg.payloads, NotifyType::InvalidKePayload) {
            let Ok(raw) = <[u8; 2]>::try_from(n.data) else {
                return;
            };
            let wanted = DhGroup::from(u16::from_be_bytes(raw));
            let offered = peer.ike_proposals.iter().any(|p| p.ke.contains(&wanted));
            let State::InitSent {
                tried, dh: slot, ..
            } = &mut self.state
            else {
                return;
            };
            if !offered || tried.contains(&wanted) || !dh::is_supported(wanted) {
                self.close(out, CloseReason::PeerError(NotifyType::InvalidKePayload));
                return;
            }
            match dh::generate(wanted, rng) {
                Ok(new) => {
                    tried.push(wanted);
                    *slot = new;
                }
                Err(_) => return,
            }
            self.resend_init(now, peer, config, out);
            return;
        }
        if let Some(err) = first_error_notify(&msg.payloads) {
            self.close(out, CloseReason::PeerError(err));
            return;
        }
        let result = self.complete_init(data, msg, peer);
        match result {
            Ok(()) => {
                self.outstanding = None;
                self.detect_nat(msg, self.local, self.remote);
                self.after_init(now, peer, config, rng, out);
            }
            Err(e) => self.close(out, CloseReason::LocalError(e)),
        }
    }

    fn resend_init(
        &mut self,
        now: Instant,
        peer: &PeerConfig,
        config: &EndpointConfig,
        out: &mut Output,
    ) {
        if let Ok(bytes) = self.init_request_bytes(peer) {
            self.init_request = bytes.clone();
            self.send_request(out, now, config, bytes, RequestKind::Init, 0);
        }
    }

    fn complete_init(
        &mut self,
        data: &[u8],
        msg: &v2::Message<'_>,
        peer: &PeerConfig,
    ) -> Result<(), ProtocolError> {
        let State::InitSent { dh, .. } = &self.state else {
            return Err(ProtocolError::InvalidResponse("state"));
        };
        let (mut sa, mut ke, mut nonce) = (None, None, None);
        for p in &msg.payloads {
            match p {
                Payload::Sa(s) => sa = Some(s),
                Payload::Ke(k) => ke = Some(k),
                Payload::Nonce(n) => nonce = Some(*n),
                _ => {}
            }
        }
        let (Some(sa), Some(ke), Some(nonce)) = (sa, ke, nonce) else {
            return Err(ProtocolError::InvalidResponse(
                "IKE_SA_INIT response without SA, KE and Nonce",
            ));
        };
        if msg.header.spi_r == [0; 8] {
            return Err(ProtocolError::InvalidResponse("zero responder SPI"));
        }
        if !(16..=256).contains(&nonce.len()) {
            return Err(ProtocolError::InvalidSyntax("nonce length"));
        }
        let [reply] = sa.proposals.as_slice() else {
            return Err(ProtocolError::InvalidResponse(
                "SA reply with other than one proposal",
            ));
        };
        let chosen = check_reply(&peer.ike_proposals, reply)
            .ok_or(ProtocolError::InvalidResponse("proposal we did not offer"))?;
        intermediate::check_init_reply(&chosen, &msg.payloads)?;
        if chosen.ke != Some(dh.group()) || ke.group != dh.group() {
            return Err(ProtocolError::InvalidResponse("KE group differs from ours"));
        }
        let shared = dh
            .shared_secret(ke.data)
            .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?;
        self.spi_r = msg.header.spi_r;
        self.nr = nonce.to_vec();
        self.init_response = data.to_vec();
        self.derive_keys(chosen, shared.expose())?;
        self.fragmentation = self.fragment_size > 0
            && find_notify(&msg.payloads, NotifyType::FragmentationSupported).is_some();
        self.peer_childless =
            find_notify(&msg.payloads, NotifyType::ChildlessIkev2Supported).is_some();
        self.chosen = Some(chosen);
        self.auth.peer_hashes = auth::peer_hashes(&msg.payloads);
        Ok(())
    }

    fn derive_keys(&mut self, chosen: Chosen, shared: &[u8]) -> Result<(), ProtocolError> {
        let prf = chosen
            .prf_alg()
            .map_err(|_| ProtocolError::Unsupported("negotiated algorithm"))?;
        let skeyseed = kdf::skeyseed(prf, &self.ni, &self.nr, shared);
        self.keys_from_skeyseed(chosen, skeyseed.expose())
    }

    /// `{SK_d | SK_ai | ... | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)` (§2.14), installed.
    fn keys_from_skeyseed(&mut self, chosen: Chosen, skeyseed: &[u8]) -> Result<(), ProtocolError> {
        let keys = ike_keys(
            chosen,
            skeyseed,
            &self.ni,
            &self.nr,
            &self.spi_i,
            &self.spi_r,
            self.initiator,
        )?;
        self.keys = Some(keys);
        Ok(())
    }

    // ---- responder: IKE_SA_INIT ----

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn respond(
        handle: SaHandle,
        peer_idx: usize,
        peer: &PeerConfig,
        chosen: Chosen,
        local: SocketAddr,
        remote: SocketAddr,
        spi_r: [u8; 8],
        data: &[u8],
        msg: &v2::Message<'_>,
        now: Instant,
        fragment_size: usize,
        rng: &mut Entropy,
    ) -> Result<(Self, Output), EngineError> {
        let ke = msg
            .payloads
            .iter()
            .find_map(|p| match p {
                Payload::Ke(k) => Some(k),
                _ => None,
            })
            .ok_or(EngineError::UnknownSa)?;
        let ni = msg
            .payloads
            .iter()
            .find_map(|p| match p {
                Payload::Nonce(n) => Some(n.to_vec()),
                _ => None,
            })
            .ok_or(EngineError::UnknownSa)?;
        let (our_ke, shared) = dh::respond(ke.group, ke.data, rng)?;
        let mut nr = vec![0u8; NONCE_LEN];
        rng.fill(&mut nr)?;
        let mut sa = IkeSa {
            handle,
            peer_idx,
            connection: peer.name.clone(),
            initiator: false,
            state: State::InitDone,
            local,
            remote,
            spi_i: msg.header.spi_i,
            spi_r,
            ni,
            nr,
            chosen: Some(chosen),
            keys: None,
            init_request: data.to_vec(),
            init_response: Vec::new(),
            next_mid: 0,
            peer_next_mid: 1,
            outstanding: None,
            last_response: None,
            children: Vec::new(),
            pending_child: None,
            created: now,
            half_open_timeout: Duration::from_secs(30),
            remote_id: None,
            local_id: None,
            auth: AuthState::default(),
            clock: now,
            queue: Default::default(),
            creating: None,
            ike_rekey_at: None,
            ike_expire_at: None,
            established_at: None,
            rekeyed: false,
            last_exchange_nr: Vec::new(),
            fragmentation: false,
            fragment_size,
            reassembly: None,
            initial_contact: false,
            peer_childless: false,
            nat: nat::Nat::new(local, remote, now, false, peer.encap),
            liveness: dpd::Liveness::new(now),
            int_auth: None,
            prefer_initiator_proposals: false,
            ike_collision_pending: false,
            ike_collision_lost: false,
            followups: Vec::new(),
            esp_notifies: EspNotifies::default(),
        };
        sa.derive_keys(chosen, shared.expose())
            .map_err(|_| EngineError::UnknownSa)?;
        sa.expect_intermediate();
        sa.auth.peer_hashes = auth::peer_hashes(&msg.payloads);
        sa.detect_nat(msg, local, remote);
        let nat_src = sa.nat_source_hash();
        let nat_dst = nat_hash(&sa.spi_i, &sa.spi_r, remote);
        let mut payloads = vec![
            Payload::Sa(v2::Sa {
                proposals: vec![chosen.to_wire(ProtocolId::Ike, &[])],
            }),
            Payload::Ke(KePayload {
                group: ke.group,
                data: &our_ke,
            }),
            Payload::Nonce(&sa.nr),
            Payload::Notify(Notify::new(NotifyType::NatDetectionSourceIp, &nat_src)),
            Payload::Notify(Notify::new(NotifyType::NatDetectionDestinationIp, &nat_dst)),
        ];
        payloads.push(Payload::Notify(Notify::new(
            NotifyType::ChildlessIkev2Supported,
            &[],
        )));
        // RFC 7383 §2.3: answer the initiator's announcement with ours.
        if sa.fragment_size > 0
            && find_notify(&msg.payloads, NotifyType::FragmentationSupported).is_some()
        {
            sa.fragmentation = true;
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::FragmentationSupported,
                &[],
            )));
        }
        // RFC 7427 §4 when this connection uses public keys; CERTREQ (§3.7) naming our trust
        // anchors when we validate the initiator's certificate.
        let hashes = auth::hash_notify_data(peer);
        if let Some(h) = &hashes {
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::SignatureHashAlgorithms,
                h,
            )));
        }
        let certreq = auth::certreq_data(&peer.remote_auth);
        if let Some(c) = &certreq {
            payloads.push(Payload::CertReq(v2::Cert {
                encoding: v2::CertEncoding::X509Signature,
                data: c,
            }));
        }
        if chosen.additional().next().is_some() {
            // RFC 9242 §3.1: only offered to an initiator that announced it (see
            // `intermediate::usable_proposals`).
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::IntermediateExchangeSupported,
                &[],
            )));
        }
        let reply = v2::Message {
            header: header(sa.spi_i, sa.spi_r, ExchangeType::IkeSaInit, false, true, 0),
            payloads,
        }
        .to_vec()
        .map_err(|_| EngineError::UnknownSa)?;
        sa.init_response = reply.clone();
        sa.last_response = Some((0, reply.clone()));
        let mut out = Output::default();
        sa.transmit(&mut out, reply);
        Ok((sa, out))
    }

    pub(crate) fn retransmit_init_response(&mut self, request: &[u8]) -> Output {
        let mut out = Output::default();
        // Only an identical request is a retransmission (§2.1).
        if request == self.init_request.as_slice() {
            if let Some((0, bytes)) = self.last_response.clone() {
                self.answer_origin();
                self.transmit(&mut out, bytes);
            }
        }
        out
    }

    // ---- IKE_AUTH ----

    fn auth_octets(&self, sender_is_initiator: bool, id_body: &[u8]) -> Option<Vec<u8>> {
        let keys = self.keys.as_ref()?;
        let (msg, nonce, sk_p) = if sender_is_initiator {
            (&self.init_request, &self.nr, &keys.sk_pi)
        } else {
            (&self.init_response, &self.ni, &keys.sk_pr)
        };
        let maced = kdf::maced_id(keys.prf, sk_p.expose(), id_body);
        let int_auth = self.int_auth_octets();
        Some(kdf::signed_octets(
            msg,
            nonce,
            maced.expose(),
            int_auth.as_deref(),
        ))
    }

    /// Our AUTH payload (and CERT payloads) as the sender of `octets`.
    fn own_auth(
        &self,
        peer: &PeerConfig,
        octets: &[u8],
        rng: &mut Entropy,
    ) -> Result<auth::OwnAuth, ProtocolError> {
        let keys = self
            .keys
            .as_ref()
            .ok_or(ProtocolError::AuthenticationFailed("no keys"))?;
        auth::own_auth(
            &peer.local_auth,
            keys.prf,
            octets,
            &self.auth.peer_hashes,
            rng,
        )
    }

    /// Checks the peer's AUTH (and CERT) payloads in `inner` over `octets`, and records how it
    /// authenticated.
    fn verify_peer_auth(
        &mut self,
        peer: &PeerConfig,
        octets: &[u8],
        peer_id: &Identity,
        inner: &[Payload<'_>],
    ) -> Result<(), ProtocolError> {
        let keys = self
            .keys
            .as_ref()
            .ok_or(ProtocolError::AuthenticationFailed("no keys"))?;
        let how = auth::verify_peer(
            &peer.remote_auth,
            keys.prf,
            octets,
            peer_id,
            inner,
            self.auth.unix_now,
        )?;
        self.auth.remote = Some(how);
        Ok(())
    }

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

    fn send_auth(
        &mut self,
        now: Instant,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let (id_type, id_data) = peer.local_id.to_wire();
        let body = id_body(id_type, &id_data);
        let Some(octets) = self.auth_octets(true, &body) else {
            return;
        };
        let own = match self.own_auth(peer, &octets, rng) {
            Ok(a) => a,
            Err(e) => {
                self.close(out, CloseReason::LocalError(e));
                return;
            }
        };
        let certreq = auth::certreq_data(&peer.remote_auth);
        let (r_type, r_data) = peer.remote_id.to_wire();
        // §1.2: IDi, [CERT+], [CERTREQ], [IDr], AUTH, ...
        let mut payloads = vec![Payload::IdI(Identification {
            id_type,
            data: &id_data,
        })];
        payloads.extend(own.cert_payloads());
        if let Some(c) = &certreq {
            payloads.push(Payload::CertReq(v2::Cert {
                encoding: v2::CertEncoding::X509Signature,
                data: c,
            }));
        }
        if peer.remote_id != Identity::Any {
            payloads.push(Payload::IdR(Identification {
                id_type: r_type,
                data: &r_data,
            }));
        }
        payloads.push(own.auth_payload());
        if self.initial_contact {
            payloads.push(Payload::Notify(Notify::new(
                NotifyType::InitialContact,
                &[],
            )));
        }
        // The first Child SA (§1.2). No KE transforms in IKE_AUTH: the child uses the IKE SA's
        // key exchange.
        let child = peer.children.first();
        if child.is_none() && !self.peer_childless {
            // RFC 6023 §3: an IKE SA without a Child SA only with a peer that announced it.
            self.close(
                out,
                CloseReason::LocalError(ProtocolError::Unsupported(
                    "the peer does not support IKE SAs without Child SAs (RFC 6023)",
                )),
            );
            return;
        }
        let spi_in = match child {
            Some(c) => match rng.child_spi(c.protocol(), self.local.ip(), self.remote.ip()) {
                Ok(s) => Some(s),
                Err(_) => {
                    self.close(
                        out,
                        CloseReason::LocalError(ProtocolError::LocalFailure(
                            "no inbound SPI for the first Child SA",
                        )),
                    );
                    return;
                }
            },
            None => None,
        };
        let spi_bytes = spi_in.map(u32::to_be_bytes).unwrap_or_default();
        let child_props: Vec<Proposal> = child
            .map(|c| c.proposals().iter().map(Proposal::for_ike_auth).collect())
            .unwrap_or_default();
        let wire_props: Vec<v2::Proposal<'_>> = child_props
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), &spi_bytes))
            .collect();
        let ts_i: Vec<v2::TrafficSelector<'static>> = child
            .map(|c| c.local_ts.iter().map(Ts::to_wire).collect())
            .unwrap_or_default();
        let ts_r: Vec<v2::TrafficSelector<'static>> = child
            .map(|c| c.remote_ts.iter().map(Ts::to_wire).collect())
            .unwrap_or_default();
        let transport = child.is_some_and(|c| c.mode == Mode::Transport);
        if child.is_some() {
            if transport {
                payloads.push(Payload::Notify(Notify::new(
                    NotifyType::UseTransportMode,
                    &[],
                )));
            }
            payloads.push(Payload::Sa(v2::Sa {
                proposals: wire_props,
            }));
            payloads.push(Payload::TsI(ts_i));
            payloads.push(Payload::TsR(ts_r));
            payloads.extend(self.esp_notifies.payloads(None));
        }
        // Message ID 1, or the next after the IKE_INTERMEDIATE exchanges (RFC 9242 §3.2).
        let mid = self.next_mid;
        let Some(bytes) = self.seal(ExchangeType::IkeAuth, false, mid, &payloads, rng) else {
            return;
        };
        if let (Some(c), Some(spi)) = (child, spi_in) {
            self.pending_child = Some(PendingChild {
                cfg: 0,
                spi_in: spi,
                ts_i: c.local_ts.clone(),
                ts_r: c.remote_ts.clone(),
                transport,
            });
        }
        self.state = State::AuthSent;
        self.send_request(out, now, config, bytes, RequestKind::Auth, mid);
        self.next_mid = mid.wrapping_add(1);
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

    #[allow(clippy::too_many_arguments)]
    fn handle_auth_request(
        &mut self,
        now: Instant,
        inner: &[Payload<'_>],
        peers: &[Arc<PeerConfig>],
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let _ = now;
        // The dispatcher checked that the request has the expected message ID: 1, or the next
        // after the IKE_INTERMEDIATE exchanges.
        let mid = self.peer_next_mid;
        // Authenticate the initiator, then build our AUTH; a failure of either is answered
        // with the notify (AUTHENTICATION_FAILED) and closes the SA.
        let found = self
            .authenticate_initiator(inner, peers)
            .and_then(|(idx, peer)| {
                let (id_type, id_data) = peer.local_id.to_wire();
                let octets = self
                    .auth_octets(false, &id_body(id_type, &id_data))
                    .ok_or(ProtocolError::AuthenticationFailed("no keys"))?;
                let own = self.own_auth(peer, &octets, rng)?;
                Ok((idx, peer, id_type, id_data, own))
            });
        let (peer_idx, peer, id_type, id_data, own) = match found {
            Ok(found) => found,
            Err(e) => {
                let notify = e.notify().unwrap_or(NotifyType::AuthenticationFailed);
                let payloads = [Payload::Notify(Notify::new(notify, &[]))];
                if let Some(bytes) = self.seal(ExchangeType::IkeAuth, true, mid, &payloads, rng) {
                    self.transmit(out, bytes);
                }
                self.close(out, CloseReason::LocalError(e));
                return;
            }
        };
        self.peer_idx = peer_idx;
        self.connection = peer.name.clone();
        // §1.2: IDr, [CERT+], AUTH, ...
        let mut payloads = vec![Payload::IdR(Identification {
            id_type,
            data: &id_data,
        })];
        payloads.extend(own.cert_payloads());
        payloads.push(own.auth_payload());
        // The first Child SA.
        let child = self.negotiate_child_responder(inner, peer, rng);
        let mut install = None;
        let mut failed = None;
        let spi_bytes;
        let ts_i: Vec<v2::TrafficSelector<'static>>;
        let ts_r: Vec<v2::TrafficSelector<'static>>;
        match child {
            Some(Ok(c)) => {
                spi_bytes = c.spi_in.to_be_bytes();
                ts_i = c.ts_i.iter().map(Ts::to_wire).collect();
                ts_r = c.ts_r.iter().map(Ts::to_wire).collect();
                if c.transport {
                    payloads.push(Payload::Notify(Notify::new(
                        NotifyType::UseTransportMode,
                        &[],
                    )));
                }
                payloads.push(Payload::Sa(v2::Sa {
                    proposals: vec![c.chosen.to_wire(c.protocol.to_wire(), &spi_bytes)],
                }));
                payloads.push(Payload::TsI(ts_i));
                payloads.push(Payload::TsR(ts_r));
                payloads.extend(self.esp_notifies.payloads(Some(inner)));
                install = Some(c);
            }
            Some(Err((name, e))) => {
                if let Some(n) = e.notify() {
                    payloads.push(Payload::Notify(Notify::new(n, &[])));
                }
                failed = Some((name, e));
            }
            None => {}
        }
        let Some(bytes) = self.seal(ExchangeType::IkeAuth, true, mid, &payloads, rng) else {
            return;
        };
        self.last_response = Some((mid, bytes.clone()));
        self.peer_next_mid = mid.wrapping_add(1);
        self.transmit(out, bytes);
        self.state = State::Established;
        if find_notify(inner, NotifyType::InitialContact).is_some() {
            // §2.4: this is the only IKE SA the peer holds with us; older ones are stale.
            out.initial_contact = self
                .remote_id
                .clone()
                .or_else(|| Some(peer.remote_id.clone()));
        }
        self.established_events(peer, out);
        if let Some(c) = install {
            self.install_child(peer, c, out);
        }
        if let Some((child, reason)) = failed {
            out.events.push(Event::ChildSaFailed {
                sa: self.handle,
                connection: self.connection.clone(),
                child,
                reason,
            });
        }
    }

    fn authenticate_initiator<'p>(
        &mut self,
        inner: &[Payload<'_>],
        peers: &'p [Arc<PeerConfig>],
    ) -> Result<(usize, &'p PeerConfig), ProtocolError> {
        check_payloads(ExchangeType::IkeAuth, false, inner)?;
        let (mut idi, mut idr, mut auth) = (None, None, None);
        for p in inner {
            match p {
                Payload::IdI(i) => idi = Some(i),
                Payload::IdR(i) => idr = Some(i),
                Payload::Auth(a) => auth = Some(a),
                _ => {}
            }
        }
        let idi = idi.ok_or(ProtocolError::AuthenticationFailed("no IDi"))?;
        if auth.is_none() {
            return Err(ProtocolError::Unsupported("EAP authentication"));
        }
        let peer_id = Identity::from_wire(idi.id_type, idi.data)
            .ok_or(ProtocolError::AuthenticationFailed("unusable IDi"))?;
        let wanted_local = idr.and_then(|i| Identity::from_wire(i.id_type, i.data));
        let octets = self
            .auth_octets(true, &id_body(idi.id_type, idi.data))
            .ok_or(ProtocolError::AuthenticationFailed("no keys"))?;
        for (idx, peer) in peers.iter().enumerate() {
            if !(peer.remote_addrs.is_empty() || peer.remote_addrs.contains(&self.remote.ip())) {
                continue;
            }
            if !peer.remote_id.accepts(&peer_id) {
                continue;
            }
            if wanted_local
                .as_ref()
                .is_some_and(|w| !peer.local_id.accepts(w) && *w != peer.local_id)
            {
                continue;
            }
            // The first connection that admits the peer decides; its method for the peer
            // (PSK or certificate) is the only one tried.
            self.verify_peer_auth(peer, &octets, &peer_id, inner)?;
            self.remote_id = Some(peer_id);
            return Ok((idx, &**peer));
        }
        Err(ProtocolError::AuthenticationFailed(
            "no connection matches the peer's identity",
        ))
    }

    fn established_events(&mut self, peer: &PeerConfig, out: &mut Output) {
        self.ike_rekey_at = peer
            .rekey_time
            .map(|t| self.clock + create_child::jittered(t, &self.spi_i));
        self.ike_expire_at = peer.life_time.map(|t| self.clock + t);
        self.established_at = Some(self.clock);
        self.local_id = Some(peer.local_id.clone());
        // RealMessage1/2 (§2.15) served IKE_AUTH; an established SA answers a retransmitted
        // IKE_AUTH from its response cache and never signs again.
        self.init_request = Vec::new();
        self.init_response = Vec::new();
        out.events.push(Event::IkeSaEstablished {
            sa: self.handle,
            connection: peer.name.clone(),
            initiator: self.initiator,
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            local_id: peer.local_id.clone(),
            remote_id: self
                .remote_id
                .clone()
                .unwrap_or_else(|| peer.remote_id.clone()),
            proposal: self.chosen.map(|c| c.describe()).unwrap_or_default(),
            remote_auth: self.auth.remote.clone(),
        });
    }

    fn negotiate_child_responder(
        &self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        rng: &mut Entropy,
    ) -> Option<Result<NegotiatedChild, (String, ProtocolError)>> {
        let (mut sa, mut tsi, mut tsr) = (None, None, None);
        for p in inner {
            match p {
                Payload::Sa(s) => sa = Some(s),
                Payload::TsI(t) => tsi = Some(t),
                Payload::TsR(t) => tsr = Some(t),
                _ => {}
            }
        }
        let sa = sa?;
        let name = peer
            .children
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let (Some(tsi), Some(tsr)) = (tsi, tsr) else {
            return Some(Err((
                name,
                ProtocolError::InvalidSyntax("SA without TSi and TSr"),
            )));
        };
        let tsi: Vec<Ts> = tsi.iter().filter_map(Ts::from_wire).collect();
        let tsr: Vec<Ts> = tsr.iter().filter_map(Ts::from_wire).collect();
        let wants_transport = find_notify(inner, NotifyType::UseTransportMode).is_some();
        let mut last_err = ProtocolError::TsUnacceptable;
        for (cfg, child) in peer.children.iter().enumerate() {
            // §2.9: narrow to what both sides allow. TSi are the initiator's (our remote) side.
            let narrowed_i: Vec<Ts> = tsi
                .iter()
                .flat_map(|a| child.remote_ts.iter().filter_map(move |b| a.intersect(b)))
                .collect();
            let narrowed_r: Vec<Ts> = tsr
                .iter()
                .flat_map(|a| child.local_ts.iter().filter_map(move |b| a.intersect(b)))
                .collect();
            if narrowed_i.is_empty() || narrowed_r.is_empty() {
                continue;
            }
            let protocol = child.protocol();
            let props: Vec<Proposal> = child
                .proposals()
                .iter()
                .map(Proposal::for_ike_auth)
                .collect();
            let Some(chosen) = select_with(&props, &sa.proposals, self.prefer_initiator_proposals)
            else {
                last_err = ProtocolError::NoProposalChosen;
                continue;
            };
            let Some(peer_prop) = sa
                .proposals
                .iter()
                .find(|p| p.number == chosen.number && p.protocol == protocol.to_wire())
            else {
                continue;
            };
            let Ok(spi_raw) = <[u8; 4]>::try_from(peer_prop.spi) else {
                return Some(Err((
                    child.name.clone(),
                    ProtocolError::InvalidSyntax("ESP or AH SPI size"),
                )));
            };
            let Ok(spi_in) = rng.child_spi(protocol, self.local.ip(), self.remote.ip()) else {
                return Some(Err((
                    child.name.clone(),
                    ProtocolError::LocalFailure("no inbound SPI"),
                )));
            };
            return Some(Ok(NegotiatedChild {
                replaces: None,
                cfg,
                protocol,
                chosen,
                spi_in,
                spi_out: u32::from_be_bytes(spi_raw),
                ts_i: narrowed_i,
                ts_r: narrowed_r,
                transport: wants_transport && child.mode == Mode::Transport,
                flags: ChildFlags::from_payloads(inner),
            }));
        }
        Some(Err((name, last_err)))
    }

    /// Child SA keys (§2.17): KEYMAT = prf+(SK_d, Ni | Nr); initiator-to-responder keys first,
    /// encryption before integrity (AH has integrity keys only).
    fn install_child(&mut self, peer: &PeerConfig, c: NegotiatedChild, out: &mut Output) {
        let (ni, nr) = (self.ni.clone(), self.nr.clone());
        let initiator = self.initiator;
        self.install_child_with(peer, c, None, &[], &ni, &nr, initiator, out);
    }

    /// Installs a Child SA whose KEYMAT comes from `prf+(SK_d, [g^ir (new)] | Ni | Nr [| SK(1) |
    /// ... | SK(n)])` with the nonces of the exchange that created it (§2.17) and the shared
    /// secrets `extra` of its IKE_FOLLOWUP_KE exchanges (RFC 9370 §2.2.4). `initiator` is whether we initiated that
    /// exchange: it, not who began the IKE SA, decides which keys are outbound and whether TSi
    /// or TSr holds our selectors.
    #[allow(clippy::too_many_arguments)]
    fn install_child_with(
        &mut self,
        peer: &PeerConfig,
        c: NegotiatedChild,
        gir: Option<&[u8]>,
        extra: &[&[u8]],
        ni: &[u8],
        nr: &[u8],
        initiator: bool,
        out: &mut Output,
    ) {
        let Some(keys) = self.keys.as_ref() else {
            return;
        };
        // ESP: a cipher (with integrity unless it is an AEAD). AH: integrity only (§2.17: for
        // each direction the encryption key, of which AH has none, then the integrity key).
        let algs = match c.protocol {
            IpsecProtocol::Esp => c
                .chosen
                .encr_alg()
                .ok()
                .zip(c.chosen.integ_alg().ok())
                .map(|(e, i)| (Some(e), i)),
            IpsecProtocol::Ah => match (c.chosen.encr, c.chosen.integ_alg()) {
                (None, Ok(Some(i))) => Some((None, Some(i))),
                _ => None,
            },
        };
        let Some((encr, integ)) = algs else {
            out.events.push(Event::ChildSaFailed {
                sa: self.handle,
                connection: self.connection.clone(),
                child: peer
                    .children
                    .get(c.cfg)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                reason: ProtocolError::Unsupported(match c.protocol {
                    IpsecProtocol::Esp => "negotiated ESP algorithm",
                    IpsecProtocol::Ah => "negotiated AH algorithm",
                }),
            });
            return;
        };
        let (ek, ik) = (
            encr.map_or(0, |e| e.key_material_len()),
            integ.map_or(0, |i| i.key_len()),
        );
        let Ok(mut km) = kdf::child_keymat(
            keys.prf,
            keys.sk_d.expose(),
            gir,
            extra,
            ni,
            nr,
            2 * (ek + ik),
        ) else {
            return;
        };
        let mut take = |n| km.take_prefix(n).unwrap_or_default();
        let i_to_r = (take(ek), take(ik));
        let r_to_i = (take(ek), take(ik));
        let (keys_out, keys_in) = if initiator {
            (i_to_r, r_to_i)
        } else {
            (r_to_i, i_to_r)
        };
        let (local_ts, remote_ts) = if initiator {
            (c.ts_i.clone(), c.ts_r.clone())
        } else {
            (c.ts_r.clone(), c.ts_i.clone())
        };
        let name = peer
            .children
            .get(c.cfg)
            .map(|x| x.name.clone())
            .unwrap_or_default();
        let (rekey_at, expire_at) = self.child_timers(peer.children.get(c.cfg));
        self.children.push(Child {
            name: name.clone(),
            cfg: c.cfg,
            chosen: c.chosen,
            protocol: c.protocol,
            spi_in: c.spi_in,
            spi_out: c.spi_out,
            local_ts: local_ts.clone(),
            remote_ts: remote_ts.clone(),
            transport: c.transport,
            rekey_at,
            expire_at,
            busy: false,
            deleting: false,
            collision: None,
        });
        // Non-first fragments only when both ends announced it (RFC 4301 §7.2).
        let mut flags = c.flags;
        flags.non_first_fragments &= self.esp_notifies.non_first_fragments;
        out.events
            .push(Event::ChildSaInstall(Box::new(ChildSaInstall {
                protocol: c.protocol,
                flags,
                sa: self.handle,
                connection: peer.name.clone(),
                child: name,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
                proposal: match c.protocol {
                    IpsecProtocol::Esp => c.chosen.describe(),
                    IpsecProtocol::Ah => format!("ah:{}", c.chosen.describe()),
                },
                encr,
                integ,
                keys_in,
                keys_out,
                local_ts,
                remote_ts,
                mode: if c.transport {
                    Mode::Transport
                } else {
                    Mode::Tunnel
                },
                local: self.local,
                remote: self.remote,
                encap: self.esp_encap(),
                outbound_after_delete: if initiator { None } else { c.replaces },
                rekey_in: rekey_at.map(|t| t.saturating_duration_since(self.clock)),
                expire_in: expire_at.map(|t| t.saturating_duration_since(self.clock)),
            })));
    }

    fn handle_auth_response(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        if let Some(n) = find_notify(inner, NotifyType::AuthenticationFailed) {
            self.close(out, CloseReason::PeerError(n.notify_type));
            return;
        }
        let has_auth = inner.iter().any(|p| matches!(p, Payload::Auth(_)));
        if !has_auth {
            let err = first_error_notify(inner).unwrap_or(NotifyType::InvalidSyntax);
            self.close(out, CloseReason::PeerError(err));
            return;
        }
        match self.verify_responder(inner, peer) {
            Ok(()) => {}
            Err(e) => {
                // §2.21.2: the responder thinks the IKE SA is up; tell it, once (we close at
                // once, so nothing would retransmit or take the answer).
                let mid = self.next_mid;
                let n = [Payload::Notify(Notify::new(
                    NotifyType::AuthenticationFailed,
                    &[],
                ))];
                if let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &n, rng) {
                    self.next_mid = mid.wrapping_add(1);
                    self.transmit(out, bytes);
                }
                self.close(out, CloseReason::LocalError(e));
                return;
            }
        }
        self.outstanding = None;
        self.state = State::Established;
        self.established_events(peer, out);
        // Every other child of the connection follows in CREATE_CHILD_SA exchanges, in the
        // configuration's order (strongSwan too initiates every child of a connection).
        let first = self.pending_child.as_ref().map(|p| p.cfg);
        for cfg in (0..peer.children.len()).filter(|c| Some(*c) != first) {
            self.queue.push_back(create_child::Op::Create { cfg });
        }
        let Some(pending) = self.pending_child.take() else {
            return;
        };
        let name = peer
            .children
            .get(pending.cfg)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        match self.check_child_reply(inner, peer, &pending) {
            Ok(c) => self.install_child(peer, c, out),
            Err(reason) => out.events.push(Event::ChildSaFailed {
                sa: self.handle,
                connection: self.connection.clone(),
                child: name,
                reason,
            }),
        }
    }

    fn verify_responder(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
    ) -> Result<(), ProtocolError> {
        check_payloads(ExchangeType::IkeAuth, true, inner)?;
        let idr = inner
            .iter()
            .find_map(|p| match p {
                Payload::IdR(i) => Some(i),
                _ => None,
            })
            .ok_or(ProtocolError::MissingPayload {
                exchange: ExchangeType::IkeAuth,
                kind: "response",
                payload: v2::PayloadType::IdR,
            })?;
        let id = Identity::from_wire(idr.id_type, idr.data)
            .ok_or(ProtocolError::AuthenticationFailed("unusable IDr"))?;
        if !peer.remote_id.accepts(&id) {
            return Err(ProtocolError::AuthenticationFailed(
                "responder identity is not the configured one",
            ));
        }
        let octets = self
            .auth_octets(false, &id_body(idr.id_type, idr.data))
            .ok_or(ProtocolError::AuthenticationFailed("no keys"))?;
        self.verify_peer_auth(peer, &octets, &id, inner)?;
        self.remote_id = Some(id);
        Ok(())
    }

    fn check_child_reply(
        &self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        pending: &PendingChild,
    ) -> Result<NegotiatedChild, ProtocolError> {
        if let Some(err) = first_error_notify(inner) {
            return Err(match err {
                NotifyType::NoProposalChosen => ProtocolError::NoProposalChosen,
                NotifyType::TsUnacceptable => ProtocolError::TsUnacceptable,
                _ => ProtocolError::InvalidResponse("child refused"),
            });
        }
        let (mut sa, mut tsi, mut tsr) = (None, None, None);
        for p in inner {
            match p {
                Payload::Sa(s) => sa = Some(s),
                Payload::TsI(t) => tsi = Some(t),
                Payload::TsR(t) => tsr = Some(t),
                _ => {}
            }
        }
        let (Some(sa), Some(tsi), Some(tsr)) = (sa, tsi, tsr) else {
            return Err(ProtocolError::InvalidResponse(
                "no SA, TSi and TSr for the child",
            ));
        };
        let [reply] = sa.proposals.as_slice() else {
            return Err(ProtocolError::InvalidResponse(
                "child SA reply with other than one proposal",
            ));
        };
        let child = peer
            .children
            .get(pending.cfg)
            .ok_or(ProtocolError::InvalidResponse("child"))?;
        let props: Vec<Proposal> = child
            .proposals()
            .iter()
            .map(Proposal::for_ike_auth)
            .collect();
        let chosen = check_reply(&props, reply).ok_or(ProtocolError::InvalidResponse(
            "ESP or AH proposal we did not offer",
        ))?;
        let spi_out = <[u8; 4]>::try_from(reply.spi)
            .map(u32::from_be_bytes)
            .map_err(|_| ProtocolError::InvalidSyntax("ESP or AH SPI size"))?;
        let ts_i: Vec<Ts> = tsi.iter().filter_map(Ts::from_wire).collect();
        let ts_r: Vec<Ts> = tsr.iter().filter_map(Ts::from_wire).collect();
        // §2.9: the responder may only narrow.
        let inside = |got: &[Ts], asked: &[Ts]| {
            !got.is_empty() && got.iter().all(|g| asked.iter().any(|a| g.within(a)))
        };
        if !inside(&ts_i, &pending.ts_i) || !inside(&ts_r, &pending.ts_r) {
            return Err(ProtocolError::InvalidResponse(
                "traffic selectors wider than proposed",
            ));
        }
        let transport =
            pending.transport && find_notify(inner, NotifyType::UseTransportMode).is_some();
        Ok(NegotiatedChild {
            replaces: None,
            cfg: pending.cfg,
            protocol: child.protocol(),
            chosen,
            spi_in: pending.spi_in,
            spi_out,
            ts_i,
            ts_r,
            transport,
            flags: ChildFlags::from_payloads(inner),
        })
    }

    // ---- INFORMATIONAL ----

    pub(crate) fn start_delete(
        &mut self,
        now: Instant,
        config: &EndpointConfig,
        rng: &mut Entropy,
    ) -> Output {
        let mut out = Output::default();
        self.clock = now;
        if !matches!(self.state, State::Established) {
            // Not yet established: close locally without telling the peer.
            self.close(&mut out, CloseReason::Deleted);
            return out;
        }
        if self.outstanding.is_some() {
            self.queue.push_back(create_child::Op::DeleteIke);
            return out;
        }
        let payloads = [Payload::Delete(v2::Delete {
            protocol: ProtocolId::Ike,
            spi_size: 0,
            spis: Vec::new(),
        })];
        let mid = self.next_mid;
        let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &payloads, rng) else {
            self.close(&mut out, CloseReason::Deleted);
            return out;
        };
        self.next_mid = mid.wrapping_add(1);
        self.state = State::Deleting;
        self.send_request(&mut out, now, config, bytes, RequestKind::Delete, mid);
        out
    }

    pub(crate) fn start_liveness(
        &mut self,
        now: Instant,
        config: &EndpointConfig,
        rng: &mut Entropy,
    ) -> Output {
        let mut out = Output::default();
        self.clock = now;
        if !matches!(self.state, State::Established) || self.outstanding.is_some() {
            return out;
        }
        let mid = self.next_mid;
        let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &[], rng) else {
            return out;
        };
        self.next_mid = mid.wrapping_add(1);
        self.send_request(&mut out, now, config, bytes, RequestKind::Liveness, mid);
        out
    }

    fn handle_informational_request(
        &mut self,
        inner: &[Payload<'_>],
        mid: u32,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        if check_payloads(ExchangeType::Informational, false, inner).is_err() {
            return;
        }
        let mut reply: Vec<Payload<'_>> = Vec::new();
        let mut close = false;
        // The inbound SPIs of the Child SAs the peer deleted, with their protocol.
        let mut deleted_spis: Vec<(IpsecProtocol, [u8; 4])> = Vec::new();
        for p in inner {
            if let Payload::Delete(d) = p {
                match (d.protocol, IpsecProtocol::from_wire(d.protocol)) {
                    (ProtocolId::Ike, _) => close = true,
                    (_, Some(protocol)) => {
                        for spi in &d.spis {
                            let Ok(raw) = <[u8; 4]>::try_from(*spi) else {
                                continue;
                            };
                            let v = u32::from_be_bytes(raw);
                            if let Some(pos) = self
                                .children
                                .iter()
                                .position(|c| c.spi_out == v && c.protocol == protocol)
                            {
                                let c = self.children.remove(pos);
                                deleted_spis.push((protocol, c.spi_in.to_be_bytes()));
                                out.events.push(Event::ChildSaDelete {
                                    sa: self.handle,
                                    connection: self.connection.clone(),
                                    child: c.name,
                                    spi_in: c.spi_in,
                                    spi_out: c.spi_out,
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // §2.21.2: the initiator rejected our AUTH after we had established the SA.
        let refused =
            !self.initiator && find_notify(inner, NotifyType::AuthenticationFailed).is_some();
        if !close {
            // §1.4.1: answer with the inbound SPIs of the paired SAs we deleted, one Delete
            // payload per protocol.
            for protocol in [IpsecProtocol::Esp, IpsecProtocol::Ah] {
                let spis: Vec<&[u8]> = deleted_spis
                    .iter()
                    .filter(|(p, _)| *p == protocol)
                    .map(|(_, s)| &s[..])
                    .collect();
                if !spis.is_empty() {
                    reply.push(Payload::Delete(v2::Delete {
                        protocol: protocol.to_wire(),
                        spi_size: 4,
                        spis,
                    }));
                }
            }
        }
        if let Some(bytes) = self.seal(ExchangeType::Informational, true, mid, &reply, rng) {
            self.last_response = Some((mid, bytes.clone()));
            self.transmit(out, bytes);
        }
        self.peer_next_mid = mid.wrapping_add(1);
        if refused {
            self.close(
                out,
                CloseReason::PeerError(NotifyType::AuthenticationFailed),
            );
            return;
        }
        if close {
            let reason = if self.rekeyed {
                CloseReason::Rekeyed
            } else {
                CloseReason::DeletedByPeer
            };
            self.close(out, reason);
        }
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
            let Some(outstanding) = self.outstanding.as_ref() else {
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
                    self.outstanding = None;
                    let reason = if self.rekeyed {
                        CloseReason::Rekeyed
                    } else {
                        CloseReason::Deleted
                    };
                    self.close(&mut out, reason);
                }
                (RequestKind::Liveness, ExchangeType::Informational) => self.outstanding = None,
                (RequestKind::DeleteChild, ExchangeType::Informational) => {
                    self.outstanding = None;
                    self.handle_delete_child_response(&inner, &mut out);
                }
                (RequestKind::CreateChild, ExchangeType::CreateChildSa) => {
                    self.outstanding = None;
                    self.handle_create_child_response(&inner, peer, config, rng, &mut out);
                }
                (RequestKind::FollowupKe, ExchangeType::IkeFollowupKe) => {
                    self.outstanding = None;
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
        if let Some((mid, bytes)) = &self.last_response {
            let later_fragment = fragment::skf(msg).is_some_and(|f| f.fragment_number != 1);
            if h.message_id == *mid && h.exchange != ExchangeType::IkeSaInit && !later_fragment {
                // §2.1: a retransmitted request gets the identical response.
                tracing::debug!(target: "ike", "retransmitted {} request {} from {remote}: answered from the response cache", exchange_name(h.exchange), h.message_id);
                let bytes = bytes.clone();
                self.transmit(&mut out, bytes);
                return out;
            }
        }
        if h.message_id != self.peer_next_mid {
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
        let Some(o) = self.outstanding.as_mut() else {
            return out;
        };
        if now < o.next_at {
            return out;
        }
        if o.tries >= config.retransmit_tries {
            let kind = o.kind;
            self.outstanding = None;
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
