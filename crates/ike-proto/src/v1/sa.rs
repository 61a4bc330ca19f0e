//! An ISAKMP SA (RFC 2408 §2.4, RFC 2409 §5): its Phase 1 handshake, keys and IVs, the Quick
//! Mode and Informational exchanges under it, its IPsec SAs, and the retransmission of each
//! exchange's last message.
//!
//! IKEv1 has no request/response window: each exchange is a sequence of messages, and the side
//! that sent last waits. A side that receives again the message it last answered sends its
//! answer again from the stored copy, without computing anything (RFC 2408 §5); a side waiting
//! for the next message retransmits its last one with exponential back-off and gives up after
//! the endpoint's number of tries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike_crypto::cipher::Cipher;
use ike_crypto::dh::KeyExchange;
use ike_crypto::prf::PrfAlg;
use ike_crypto::Secret;
use ike_wire::v1::ExchangeType;

use crate::config::{EndpointConfig, Identity, PeerConfig};
use crate::ipsec::{IpsecProtocol, Mode, Ts};
use crate::proposal::v1::Phase1;
use crate::proposal::Chosen;
use crate::status::{ChildSaState, ChildSaStatus, DropReason, IkeSaState, IkeSaStatus};
use crate::v2::{CloseReason, Event, SaHandle, Transmit};

/// What an input to an SA produced.
#[derive(Default)]
pub(crate) struct Output {
    pub(crate) transmits: Vec<Transmit>,
    pub(crate) events: Vec<Event>,
    pub(crate) closed: bool,
    pub(crate) dropped: Option<(DropReason, SocketAddr)>,
    /// The peer sent INITIAL-CONTACT: drop our other ISAKMP SAs with this pair of identities.
    pub(crate) initial_contact: bool,
    /// The dead peer action is `restart`: initiate the connection again once this SA is gone.
    pub(crate) restart: Option<Instant>,
    /// Time to re-authenticate: start a new ISAKMP SA that will replace this one.
    pub(crate) reauth: Option<Instant>,
    /// This SA, just established, replaces that one (re-authentication).
    pub(crate) replaced: Option<SaHandle>,
    /// This SA was just established.
    pub(crate) established: bool,
    /// IPsec SAs of an ISAKMP SA that closed without deleting them: a newer ISAKMP SA with the
    /// same peer adopts them, or they are deleted.
    pub(crate) orphans: Vec<Child>,
    /// Messages sent again (counted by the engine).
    pub(crate) retransmissions: u32,
}

/// Where Phase 1 stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase1State {
    /// Initiator: Main Mode message 1 sent.
    MmSent1,
    /// Initiator: message 3 sent.
    MmSent3,
    /// Initiator: message 5 sent.
    MmSent5,
    /// Responder: message 2 sent (half-open).
    MmSent2,
    /// Responder: message 4 sent (half-open).
    MmSent4,
    /// Initiator: Aggressive Mode message 1 sent.
    AmSent1,
    /// Responder: Aggressive Mode message 2 sent (half-open).
    AmSent2,
    /// Initiator: Base or Authentication Only message 1 sent.
    BaseSent1,
    /// Responder: Base or Authentication Only message 2 sent (half-open).
    BaseSent2,
    /// Initiator: Base message 3 sent.
    BaseSent3,
    /// Established.
    Established,
}

/// Phase 1 data needed only until the ISAKMP SA is established.
#[derive(Default)]
pub(crate) struct Handshake {
    /// The body of the initiator's SA payload (SAi_b, RFC 2409 §5).
    pub(crate) sai_b: Vec<u8>,
    /// The suites we offered (initiator).
    pub(crate) offered: Vec<Chosen>,
    pub(crate) dh: Option<Box<dyn KeyExchange>>,
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    pub(crate) gxi: Vec<u8>,
    pub(crate) gxr: Vec<u8>,
    pub(crate) skeyid: Option<Secret>,
    /// Aggressive Mode: the ID payload body of message 1 (IDii_b) and of ours. Public-key
    /// encryption: IDii_b, as sent or decrypted.
    pub(crate) id_i: Vec<u8>,
    /// Public-key encryption: IDir_b, as sent or decrypted (it is in no later message).
    pub(crate) id_r: Vec<u8>,
}

/// The keys and IV state of an ISAKMP SA.
pub(crate) struct Keys {
    pub(crate) prf: PrfAlg,
    pub(crate) cipher: Cipher,
    pub(crate) block: usize,
    pub(crate) skeyid_d: Secret,
    pub(crate) skeyid_a: Secret,
    /// The Phase 1 IV: while Phase 1 runs, the IV of its next message; once established, the
    /// last CBC block of Phase 1, from which Phase 2 IVs are derived (Appendix B).
    pub(crate) p1_iv: Vec<u8>,
}

impl Keys {
    /// The first IV of a Quick Mode or Informational exchange with message ID `mid`.
    pub(crate) fn phase2_iv(&self, mid: u32) -> Vec<u8> {
        ike_crypto::kdf::v1::phase2_iv(self.prf, &self.p1_iv, mid, self.block).unwrap_or_default()
    }
}

/// A message we sent and may have to send again.
pub(crate) struct Sent {
    pub(crate) bytes: Vec<u8>,
    /// Retransmit it on a timer (we wait for an answer), or only when the peer repeats its
    /// message (we answered last).
    pub(crate) awaiting: Option<Retransmit>,
    /// The peer message it answers, to recognise a repeat.
    pub(crate) answers: Option<Vec<u8>>,
}

/// A retransmission timer.
#[derive(Clone, Copy)]
pub(crate) struct Retransmit {
    pub(crate) next: Instant,
    pub(crate) tries: u32,
}

impl Retransmit {
    pub(crate) fn start(now: Instant, config: &EndpointConfig) -> Self {
        Self {
            next: now + config.retransmit_timeout,
            tries: 0,
        }
    }
}

/// A Quick Mode exchange under way (RFC 2409 §5.5).
pub(crate) struct QuickMode {
    pub(crate) mid: u32,
    /// We sent message 1.
    pub(crate) initiator: bool,
    /// The IV of the next message.
    pub(crate) iv: Vec<u8>,
    pub(crate) child: String,
    pub(crate) protocol: IpsecProtocol,
    pub(crate) mode: Mode,
    pub(crate) spi_in: u32,
    pub(crate) offered: Vec<Chosen>,
    /// Initiator: the further SAs negotiated in the same exchange (RFC 2409 §5.5), each for a
    /// child with the same selectors.
    pub(crate) extra: Vec<ExtraSa>,
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    pub(crate) dh: Option<Box<dyn KeyExchange>>,
    pub(crate) local_ts: Ts,
    pub(crate) remote_ts: Ts,
    pub(crate) done: bool,
    /// The inbound SPI of the Child SA this Quick Mode replaces (a rekey).
    pub(crate) replaces: Option<u32>,
    pub(crate) sent: Option<Sent>,
    pub(crate) expires: Instant,
}

/// A further SA of a Quick Mode (initiator).
pub(crate) struct ExtraSa {
    pub(crate) child: String,
    pub(crate) protocol: IpsecProtocol,
    pub(crate) spi_in: u32,
    pub(crate) offered: Vec<Chosen>,
}

/// An installed IPsec SA pair.
pub(crate) struct Child {
    pub(crate) name: String,
    pub(crate) protocol: IpsecProtocol,
    pub(crate) mode: Mode,
    pub(crate) spi_in: u32,
    pub(crate) spi_out: u32,
    pub(crate) proposal: String,
    pub(crate) local_ts: Ts,
    pub(crate) remote_ts: Ts,
    /// When we start a Quick Mode that replaces it (we created it and its child rekeys).
    pub(crate) rekey_at: Option<Instant>,
    /// Its negotiated lifetime ends: deleted, the peer told.
    pub(crate) expire_at: Instant,
    /// A Quick Mode replacing it is under way.
    pub(crate) rekeying: bool,
    /// Replaced by a rekey: deleted at this time (both SAs overlap so that nothing in flight
    /// is lost).
    pub(crate) delete_at: Option<Instant>,
    /// The Child SA (inbound SPI) this one was negotiated to replace: ours when we started the
    /// rekey, else the oldest of the same child and selectors when the peer's Quick Mode came.
    pub(crate) replaces: Option<u32>,
    /// The lower of its Quick Mode's two nonces (first 16 octets): when both ends replaced the
    /// same SA at once, the new SA with the lower one is the redundant one (RFC 7296 §2.8.1's
    /// rule, which both ends can apply: each knows both exchanges' nonces).
    pub(crate) rank: [u8; 16],
}

impl Child {
    /// A Child SA as installed, negotiated by a Quick Mode with nonces `ni` and `nr`; its
    /// lifetime is set by [`IsakmpSa::schedule`].
    pub(crate) fn new(
        install: &crate::ipsec::ChildSaInstall,
        (ni, nr): (&[u8], &[u8]),
        (local_ts, remote_ts): (Ts, Ts),
        replaces: Option<u32>,
        now: Instant,
    ) -> Self {
        let lower = ni.min(nr);
        let mut rank = [0u8; 16];
        for (r, b) in rank.iter_mut().zip(lower) {
            *r = *b;
        }
        Self {
            name: install.child.clone(),
            protocol: install.protocol,
            mode: install.mode,
            spi_in: install.spi_in,
            spi_out: install.spi_out,
            proposal: install.proposal.clone(),
            local_ts,
            remote_ts,
            rekey_at: None,
            expire_at: now,
            rekeying: false,
            delete_at: None,
            replaces,
            rank,
        }
    }
}

/// An ISAKMP SA.
pub(crate) struct IsakmpSa {
    pub(crate) handle: SaHandle,
    pub(crate) peer_idx: usize,
    pub(crate) conn: String,
    pub(crate) initiator: bool,
    /// Main Mode or Aggressive Mode.
    pub(crate) exchange: ExchangeType,
    pub(crate) icookie: [u8; 8],
    pub(crate) rcookie: [u8; 8],
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) init_key: Option<(SocketAddr, [u8; 8])>,
    pub(crate) state: Phase1State,
    pub(crate) created: Instant,
    pub(crate) established_at: Option<Instant>,
    pub(crate) chosen: Option<Phase1>,
    pub(crate) hs: Option<Box<Handshake>>,
    pub(crate) keys: Option<Keys>,
    pub(crate) local_id: Identity,
    pub(crate) remote_id: Option<Identity>,
    /// The last message of Phase 1 we sent.
    pub(crate) p1_sent: Option<Sent>,
    pub(crate) quick: Vec<QuickMode>,
    pub(crate) children: Vec<Child>,
    /// Message IDs of Phase 2 and Informational exchanges seen, against replays (RFC 2408 §3.1:
    /// a message ID names one exchange).
    pub(crate) seen_mids: std::collections::HashSet<u32>,
    /// Children of the connection still to negotiate (initiator).
    pub(crate) todo: Vec<String>,
    pub(crate) send_initial_contact: bool,
    /// The NAT-T version both ends announced (RFC 3947 or a draft).
    pub(crate) nat_t: Option<super::nat::NatT>,
    /// A NAT in front of us / of the peer (NAT-D, RFC 3947 §3.2).
    pub(crate) nat_local: bool,
    pub(crate) nat_remote: bool,
    /// Pretend to be behind a NAT (the connection's `encap`).
    pub(crate) force_encap: bool,
    /// The peer announced dead peer detection (RFC 3706 vendor ID).
    pub(crate) peer_dpd: bool,
    /// When to send the next NAT keepalive (we are behind a NAT).
    pub(crate) next_keepalive: Option<Instant>,
    /// The peer takes IKEv1 fragments (vendor ID), above this size.
    pub(crate) peer_frag: bool,
    pub(crate) frag_size: usize,
    pub(crate) reassembly: Option<super::fragment::Reassembly>,
    /// The connection's `dpd_delay` (RFC 3706 idle time before R-U-THERE).
    pub(crate) dpd_delay: Option<Duration>,
    /// When an authenticated message last came from the peer.
    pub(crate) last_heard: Instant,
    /// The next R-U-THERE sequence number, and the probe under way.
    pub(crate) dpd_seq: u32,
    pub(crate) probe: Option<super::dpd::Probe>,
    /// Our New Group Mode under way.
    pub(crate) new_group: Option<super::new_group::NewGroup>,
    /// The last New Group Mode request we answered and our answer, for a repeat of it.
    pub(crate) ngm_answer: Option<(Vec<u8>, Vec<u8>)>,
    /// Private groups agreed with the peer in New Group Mode.
    pub(crate) groups_agreed: Vec<u16>,
    /// The connection's `rekey_time`: when we re-authenticate an ISAKMP SA we set up.
    pub(crate) ike_rekey: Option<Duration>,
    /// Our own lifetime of the ISAKMP SA: a longer negotiated one is cut to it locally.
    pub(crate) life_cap: u32,
    pub(crate) reauth_at: Option<Instant>,
    /// The negotiated lifetime ends.
    pub(crate) expire_at: Option<Instant>,
    /// The ISAKMP SA this one re-authenticates.
    pub(crate) reauth_of: Option<SaHandle>,
    /// The encryption key just derived, until the endpoint takes it for a key log (or drops it).
    pub(crate) fresh_key: Option<ike_crypto::Secret>,
    /// How the peer authenticated (signatures: the scheme and the validated chain).
    pub(crate) peer_auth: Option<crate::v2::PeerAuth>,
}

impl IsakmpSa {
    /// An SA of connection `peer` with every field at its starting value; the exchange that
    /// creates it sets its handle, role, cookies, addresses and state.
    pub(crate) fn blank(peer: &PeerConfig, now: Instant, frag_size: usize) -> Self {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        Self {
            handle: SaHandle(0),
            peer_idx: 0,
            conn: peer.name.clone(),
            initiator: false,
            exchange: ExchangeType::IdentityProtection,
            icookie: [0; 8],
            rcookie: [0; 8],
            local: unspecified,
            remote: unspecified,
            init_key: None,
            state: Phase1State::MmSent1,
            created: now,
            established_at: None,
            chosen: None,
            hs: None,
            keys: None,
            local_id: peer.local_id.clone(),
            remote_id: None,
            p1_sent: None,
            quick: Vec::new(),
            children: Vec::new(),
            seen_mids: Default::default(),
            todo: Vec::new(),
            send_initial_contact: false,
            nat_t: None,
            nat_local: false,
            nat_remote: false,
            force_encap: peer.encap,
            peer_dpd: false,
            next_keepalive: None,
            peer_frag: false,
            frag_size,
            reassembly: None,
            dpd_delay: peer.dpd_delay,
            last_heard: now,
            dpd_seq: 0,
            probe: None,
            new_group: None,
            ngm_answer: None,
            groups_agreed: Vec::new(),
            ike_rekey: peer.rekey_time,
            life_cap: super::main_mode::phase1_life(peer),
            reauth_at: None,
            expire_at: None,
            reauth_of: None,
            peer_auth: None,
            fresh_key: None,
        }
    }

    pub(crate) fn cookies(&self) -> ([u8; 8], [u8; 8]) {
        (self.icookie, self.rcookie)
    }

    pub(crate) fn our_cookie(&self) -> [u8; 8] {
        if self.initiator {
            self.icookie
        } else {
            self.rcookie
        }
    }

    /// Whether a NAT lies between the peers (either way, or faked).
    pub(crate) fn behind_nat(&self) -> bool {
        self.nat_local || self.nat_remote
    }

    pub(crate) fn is_established(&self) -> bool {
        self.state == Phase1State::Established
    }

    pub(crate) fn transmit(&self, bytes: Vec<u8>) -> Transmit {
        Transmit::ike(self.local, self.remote, bytes)
    }

    /// When this SA next needs [`Self::handle_timeout`].
    pub(crate) fn next_timeout(&self, config: &EndpointConfig) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        if let Some(r) = self.p1_sent.as_ref().and_then(|s| s.awaiting) {
            consider(r.next);
        }
        if !self.is_established() {
            consider(self.created + config.half_open_timeout);
        }
        if let Some(k) = self.next_keepalive {
            consider(k);
        }
        if let Some(d) = self.dpd_deadline(self.dpd_delay) {
            consider(d);
        }
        if let Some(t) = self.reauth_at {
            consider(t);
        }
        if let Some(r) = self.new_group.as_ref().and_then(|n| n.sent.awaiting) {
            consider(r.next);
        }
        if let Some(t) = self.expire_at {
            consider(t);
        }
        for c in &self.children {
            consider(c.expire_at);
            if let Some(t) = c.delete_at {
                consider(t);
            }
            if let (Some(t), false) = (c.rekey_at, c.rekeying) {
                consider(t);
            }
        }
        for q in &self.quick {
            if let Some(r) = q.sent.as_ref().and_then(|s| s.awaiting) {
                consider(r.next);
            }
            consider(q.expires);
        }
        t
    }

    /// Retransmissions, give-ups and the expiry of unfinished exchanges.
    pub(crate) fn handle_timeout(&mut self, now: Instant, ctx: &mut super::Ctx<'_>) -> Output {
        let config = ctx.config;
        let mut out = Output::default();
        if self.dpd_tick(now, ctx, &mut out) || self.phase1_tick(now, ctx, &mut out) {
            return out;
        }
        if !self.is_established() && now >= self.created + config.half_open_timeout {
            tracing::info!(target: "ike", "{} did not complete in {:?}", exchange_name(self.exchange), config.half_open_timeout);
            return self.close(if self.initiator {
                CloseReason::Timeout
            } else {
                CloseReason::HalfOpenExpired
            });
        }
        self.new_group_tick(now, ctx, &mut out);
        if let Some(s) = self.p1_sent.as_mut() {
            match retransmit(s, now, config) {
                Tick::Idle => {}
                Tick::Resend => {
                    tracing::debug!(target: "ike", "retransmitting Main Mode message");
                    out.retransmissions += 1;
                    let b = s.bytes.clone();
                    out.transmits.extend(self.datagrams(b));
                }
                Tick::GiveUp => return self.close(CloseReason::Timeout),
            }
        }
        if let Some(k) = self.next_keepalive.filter(|k| now >= *k) {
            let _ = k;
            // RFC 3948 §2.3: one 0xFF octet from port 4500 keeps the NAT mapping.
            out.transmits.push(Transmit {
                local: self.local,
                remote: self.remote,
                payload: crate::v2::NAT_KEEPALIVE.to_vec(),
                non_esp_marker: false,
            });
            self.next_keepalive = config
                .keepalive_interval
                .filter(|d| !d.is_zero())
                .map(|d| now + d);
        }
        self.children_tick(now, ctx, &mut out);
        let mut resend = Vec::new();
        let mut failed = Vec::new();
        let mut unconfirmed = Vec::new();
        self.quick.retain_mut(|q| {
            if now >= q.expires {
                if !q.done {
                    failed.push((q.child.clone(), q.replaces));
                    if !q.initiator {
                        unconfirmed.push(q.spi_in);
                    }
                }
                return false;
            }
            if let Some(s) = q.sent.as_mut() {
                match retransmit(s, now, config) {
                    Tick::Idle => {}
                    Tick::Resend => resend.push(s.bytes.clone()),
                    Tick::GiveUp => {
                        if !q.done {
                            failed.push((q.child.clone(), q.replaces));
                            if !q.initiator {
                                unconfirmed.push(q.spi_in);
                            }
                        }
                        return false;
                    }
                }
            }
            true
        });
        for b in resend {
            tracing::debug!(target: "ike", "retransmitting Quick Mode message");
            out.retransmissions += 1;
            out.transmits.extend(self.datagrams(b));
        }
        // A responder's SA whose message 3 never came goes again.
        for spi in unconfirmed {
            self.delete_child(spi, ctx, &mut out);
        }
        for (child, replaces) in failed {
            tracing::info!(target: "ike", "Quick Mode for child {child} got no answer");
            self.rekey_failed(now, replaces);
            out.events.push(Event::ChildSaFailed {
                sa: self.handle,
                connection: self.conn.clone(),
                child,
                reason: crate::v2::ProtocolError::LocalFailure(
                    "the peer did not answer the Quick Mode",
                ),
            });
        }
        out
    }

    /// Ends the SA without telling the peer: its IPsec SAs are deleted first.
    pub(crate) fn close(&mut self, reason: CloseReason) -> Output {
        let mut out = Output::default();
        for c in self.children.drain(..) {
            out.events.push(Event::ChildSaDelete {
                sa: self.handle,
                connection: self.conn.clone(),
                child: c.name,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
            });
        }
        tracing::info!(target: "ike", "ISAKMP SA closed: {reason}");
        out.events.push(Event::IkeSaClosed {
            sa: self.handle,
            spi_i: self.icookie,
            spi_r: self.rcookie,
            connection: self.conn.clone(),
            reason,
            version: 1,
            established: self.established_at.is_some(),
        });
        out.closed = true;
        out
    }

    pub(crate) fn status(&self, now: Instant) -> IkeSaStatus {
        IkeSaStatus {
            sa: self.handle,
            connection: self.conn.clone(),
            version: 1,
            state: if self.is_established() {
                IkeSaState::Established
            } else {
                IkeSaState::Connecting
            },
            initiator: self.initiator,
            local: self.local,
            remote: self.remote,
            local_id: Some(self.local_id.clone()),
            remote_id: self.remote_id.clone(),
            spi_i: self.icookie,
            spi_r: self.rcookie,
            proposal: self.chosen.map(|c| c.describe()),
            established_for: self
                .established_at
                .map(|t| now.saturating_duration_since(t)),
            rekey_in: None,
            children: self
                .children
                .iter()
                .map(|c| ChildSaStatus {
                    name: c.name.clone(),
                    state: if c.delete_at.is_some() {
                        ChildSaState::Deleting
                    } else if c.rekeying {
                        ChildSaState::Rekeying
                    } else {
                        ChildSaState::Installed
                    },
                    protocol: c.protocol,
                    spi_in: c.spi_in,
                    spi_out: c.spi_out,
                    local_ts: vec![c.local_ts],
                    remote_ts: vec![c.remote_ts],
                    mode: c.mode,
                    proposal: c.proposal.clone(),
                    rekey_in: c.rekey_at.map(|t| t.saturating_duration_since(now)),
                    expire_in: Some(c.expire_at.saturating_duration_since(now)),
                })
                .collect(),
        }
    }

    pub(crate) fn peer<'a>(&self, peers: &'a [Arc<PeerConfig>]) -> Option<&'a Arc<PeerConfig>> {
        peers.get(self.peer_idx)
    }
}

pub(crate) enum Tick {
    Idle,
    Resend,
    GiveUp,
}

pub(crate) fn retransmit(s: &mut Sent, now: Instant, config: &EndpointConfig) -> Tick {
    let Some(r) = s.awaiting.as_mut() else {
        return Tick::Idle;
    };
    if now < r.next {
        return Tick::Idle;
    }
    if r.tries >= config.retransmit_tries {
        return Tick::GiveUp;
    }
    r.tries += 1;
    let factor = config
        .retransmit_base
        .powi(i32::try_from(r.tries).unwrap_or(i32::MAX));
    let wait = config.retransmit_timeout.mul_f64(factor.min(1e6));
    r.next = now + wait.min(Duration::from_secs(3600));
    Tick::Resend
}

/// The exchange name for logs.
pub(crate) fn exchange_name(e: ExchangeType) -> &'static str {
    match e {
        ExchangeType::IdentityProtection => "Main Mode",
        ExchangeType::Aggressive => "Aggressive Mode",
        ExchangeType::QuickMode => "Quick Mode",
        ExchangeType::Informational => "Informational",
        ExchangeType::NewGroupMode => "New Group Mode",
        ExchangeType::Transaction => "Transaction",
        ExchangeType::Base => "Base",
        ExchangeType::AuthenticationOnly => "Authentication Only",
        _ => "ISAKMP",
    }
}
