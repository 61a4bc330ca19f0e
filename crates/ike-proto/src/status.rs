//! What an endpoint reports about itself, for both IKE versions: admission statistics and the
//! datagrams it dropped, counted by reason.

/// Why the engine dropped a datagram without answering it.
///
/// Before an SA is authenticated there is nothing safe to answer with, and after, RFC 7296
/// §2.21 and RFC 2408 §5 ask for silence for most of these; each is counted
/// ([`AdmissionStats::drops`]) and logged at debug level with the peer's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// It is not an IKE message (the wire codec refused it).
    Undecodable,
    /// It names an SPI (or ISAKMP cookie) we do not hold.
    UnknownSpi,
    /// Its Initiator flag says it comes from our own side of the SA.
    WrongDirection,
    /// A zero responder SPI on anything but an IKE_SA_INIT request.
    NotAnInitiation,
    /// An IKE_SA_INIT request without the payloads it needs.
    InvalidInitiation,
    /// A new IKE_SA_INIT request past the half-open caps (in total or from that address).
    HalfOpenLimit,
    /// A response to no request of ours, or with another message ID.
    UnexpectedResponse,
    /// A request whose message ID is neither the next one nor the last one answered.
    UnexpectedMessageId,
    /// The integrity check (or AEAD tag) failed, or the SA has no keys for it yet.
    IntegrityCheckFailed,
    /// The decrypted payloads do not parse.
    InvalidPayloads,
    /// An exchange the SA's state does not allow (IKE_AUTH twice, CREATE_CHILD_SA before
    /// IKE_AUTH, ...).
    WrongState,
    /// An IKE_SA_INIT response from an address other than the one the request went to.
    UnexpectedAddress,
    /// The IKE version of the header is one this endpoint does not run.
    UnsupportedVersion,
}

impl DropReason {
    /// Every reason, in the order of [`Drops`].
    pub const ALL: [DropReason; 13] = [
        DropReason::Undecodable,
        DropReason::UnknownSpi,
        DropReason::WrongDirection,
        DropReason::NotAnInitiation,
        DropReason::InvalidInitiation,
        DropReason::HalfOpenLimit,
        DropReason::UnexpectedResponse,
        DropReason::UnexpectedMessageId,
        DropReason::IntegrityCheckFailed,
        DropReason::InvalidPayloads,
        DropReason::WrongState,
        DropReason::UnexpectedAddress,
        DropReason::UnsupportedVersion,
    ];

    /// A stable key for status output (`ike status --json`, statistics).
    pub fn key(self) -> &'static str {
        match self {
            DropReason::Undecodable => "undecodable",
            DropReason::UnknownSpi => "unknown_spi",
            DropReason::WrongDirection => "wrong_direction",
            DropReason::NotAnInitiation => "not_an_initiation",
            DropReason::InvalidInitiation => "invalid_initiation",
            DropReason::HalfOpenLimit => "half_open_limit",
            DropReason::UnexpectedResponse => "unexpected_response",
            DropReason::UnexpectedMessageId => "unexpected_message_id",
            DropReason::IntegrityCheckFailed => "integrity_check_failed",
            DropReason::InvalidPayloads => "invalid_payloads",
            DropReason::WrongState => "wrong_state",
            DropReason::UnexpectedAddress => "unexpected_address",
            DropReason::UnsupportedVersion => "unsupported_version",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DropReason::Undecodable => "not a valid IKE message",
            DropReason::UnknownSpi => "no IKE SA with that SPI",
            DropReason::WrongDirection => "the Initiator flag names our own side",
            DropReason::NotAnInitiation => "no responder SPI, yet not an IKE_SA_INIT request",
            DropReason::InvalidInitiation => "IKE_SA_INIT request without the payloads it needs",
            DropReason::HalfOpenLimit => "too many half-open IKE SAs",
            DropReason::UnexpectedResponse => "a response to no request of ours",
            DropReason::UnexpectedMessageId => "unexpected message ID",
            DropReason::IntegrityCheckFailed => "integrity check failed",
            DropReason::InvalidPayloads => "the decrypted payloads do not parse",
            DropReason::WrongState => "an exchange the IKE SA's state does not allow",
            DropReason::UnexpectedAddress => "a response from another address",
            DropReason::UnsupportedVersion => "an IKE version this endpoint does not run",
        })
    }
}

/// Dropped datagrams, counted by [`DropReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops([u64; DropReason::ALL.len()]);

impl Drops {
    /// Drops for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0.get(reason.index()).copied().unwrap_or(0)
    }

    /// Drops for every reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// (reason, count) for every reason, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|r| (*r, self.get(*r)))
    }

    pub(crate) fn add(&mut self, reason: DropReason) {
        if let Some(n) = self.0.get_mut(reason.index()) {
            *n += 1;
        }
    }
}

/// Statistics of an endpoint's admission step and drops, for status and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdmissionStats {
    /// COOKIE notifies sent (RFC 7296 §2.6).
    pub cookies_sent: u64,
    /// Datagrams dropped, by reason.
    pub drops: Drops,
    /// Requests (IKEv2) and Phase 1 / Quick Mode messages (IKEv1) sent again because no
    /// answer came in time.
    pub retransmissions: u64,
}

/// An IKE SA's state, in strongSwan's words (`ike status` shows them as they are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IkeSaState {
    /// Being set up (IKE_SA_INIT, IKE_INTERMEDIATE or IKE_AUTH under way).
    Connecting,
    /// Established and idle or carrying Child SA exchanges.
    Established,
    /// Established, with our rekey of the IKE SA under way.
    Rekeying,
    /// Our Delete is on its way (or queued behind another exchange).
    Deleting,
}

impl IkeSaState {
    /// CONNECTING, ESTABLISHED, REKEYING or DELETING.
    pub fn word(self) -> &'static str {
        match self {
            IkeSaState::Connecting => "CONNECTING",
            IkeSaState::Established => "ESTABLISHED",
            IkeSaState::Rekeying => "REKEYING",
            IkeSaState::Deleting => "DELETING",
        }
    }
}

impl std::fmt::Display for IkeSaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// A Child SA's state, in strongSwan's words. (The engine announces a Child SA once it is
/// negotiated and the driver installs it at once, so INSTALLING is never reported.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChildSaState {
    /// Installed and in use.
    Installed,
    /// A rekey of it is under way.
    Rekeying,
    /// Our delete of it, or of its IKE SA, is under way.
    Deleting,
}

impl ChildSaState {
    /// INSTALLED, REKEYING or DELETING.
    pub fn word(self) -> &'static str {
        match self {
            ChildSaState::Installed => "INSTALLED",
            ChildSaState::Rekeying => "REKEYING",
            ChildSaState::Deleting => "DELETING",
        }
    }
}

/// What the engine knows of an IKE SA, for `ike status` (the driver adds what only it knows,
/// such as the kernel's byte counters).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IkeSaStatus {
    /// The SA.
    pub sa: crate::v2::SaHandle,
    /// Its connection.
    pub connection: String,
    /// 1 or 2.
    pub version: u8,
    /// Its state.
    pub state: IkeSaState,
    /// Whether we initiated it.
    pub initiator: bool,
    /// Our address (and port: 4500 after NAT-T moved it there).
    pub local: std::net::SocketAddr,
    /// The peer's.
    pub remote: std::net::SocketAddr,
    /// Our identity, once established.
    pub local_id: Option<crate::v2::Identity>,
    /// The peer's authenticated identity, once established.
    pub remote_id: Option<crate::v2::Identity>,
    /// Initiator's SPI.
    pub spi_i: [u8; 8],
    /// Responder's SPI (zero until known).
    pub spi_r: [u8; 8],
    /// The negotiated IKE proposal in strongSwan's syntax, once chosen.
    pub proposal: Option<String>,
    /// How long it has been established.
    pub established_for: Option<std::time::Duration>,
    /// When it will be rekeyed, from now.
    pub rekey_in: Option<std::time::Duration>,
    /// Its Child SAs.
    pub children: Vec<ChildSaStatus>,
}

/// What the engine knows of a Child SA.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChildSaStatus {
    /// The child's name.
    pub name: String,
    /// Its state.
    pub state: ChildSaState,
    /// ESP or AH.
    pub protocol: crate::v2::IpsecProtocol,
    /// Our inbound SPI.
    pub spi_in: u32,
    /// Our outbound SPI.
    pub spi_out: u32,
    /// Our selectors.
    pub local_ts: Vec<crate::v2::Ts>,
    /// The peer's selectors.
    pub remote_ts: Vec<crate::v2::Ts>,
    /// Tunnel or transport.
    pub mode: crate::v2::Mode,
    /// The negotiated proposal as in [`crate::v2::ChildSaInstall::proposal`].
    pub proposal: String,
    /// When it will be rekeyed, from now.
    pub rekey_in: Option<std::time::Duration>,
    /// When its hard lifetime ends (it is deleted), from now.
    pub expire_in: Option<std::time::Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_counter_and_key() {
        let mut d = Drops::default();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            for _ in 0..=i {
                d.add(*r);
            }
        }
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(d.get(*r), i as u64 + 1, "{r:?}");
        }
        let n = DropReason::ALL.len() as u64;
        assert_eq!(d.total(), n * (n + 1) / 2);
        let keys: std::collections::HashSet<_> = DropReason::ALL.iter().map(|r| r.key()).collect();
        assert_eq!(keys.len(), DropReason::ALL.len());
    }
}

/// The rate limit of the debug lines about datagrams dropped before any SA could be found
/// (undecodable, an IKE version or ISAKMP minor version we do not speak): a flood of garbage
/// must not flood the log. At most [`DropLog::PER_SECOND`] lines a second; the drops are
/// counted whatever the log says, and the next line logged tells how many were not.
#[derive(Debug, Default)]
pub(crate) struct DropLog {
    window: Option<std::time::Instant>,
    lines: u32,
    suppressed: u64,
}

impl DropLog {
    /// Lines a second.
    pub(crate) const PER_SECOND: u32 = 10;

    /// Whether a line may be logged now; `Some(n)`: yes, and `n` were suppressed before it.
    pub(crate) fn admit(&mut self, now: std::time::Instant) -> Option<u64> {
        match self.window {
            Some(w) if now.saturating_duration_since(w) < std::time::Duration::from_secs(1) => {}
            _ => {
                self.window = Some(now);
                self.lines = 0;
            }
        }
        if self.lines >= Self::PER_SECOND {
            self.suppressed += 1;
            return None;
        }
        self.lines += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// ", and N more not logged" for a line after suppressed ones.
pub(crate) fn suppressed_note(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} more such drops were not logged)")
    }
}
