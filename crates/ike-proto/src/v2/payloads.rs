//! Which payloads each exchange accepts (RFC 7296 §1.2-§1.5 and §3), checked before a handler
//! runs, and the typed errors a peer's message can provoke.

use ike_wire::v2::{ExchangeType, NotifyType, Payload, PayloadType};

/// A rule a peer's message broke, and the notify that answers it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A payload the exchange requires is missing.
    #[error("{exchange} {kind} lacks a {payload} payload")]
    MissingPayload {
        /// The exchange.
        exchange: ExchangeType,
        /// Request or response.
        kind: &'static str,
        /// The missing payload type.
        payload: PayloadType,
    },
    /// A payload the exchange does not allow, or one that appears too often.
    #[error("{exchange} {kind} may not carry {payload} here")]
    UnexpectedPayload {
        /// The exchange.
        exchange: ExchangeType,
        /// Request or response.
        kind: &'static str,
        /// The payload type.
        payload: PayloadType,
    },
    /// No proposal is acceptable.
    #[error("no acceptable proposal")]
    NoProposalChosen,
    /// The KE payload uses another group than the chosen one; the notify carries ours.
    #[error("KE payload of the wrong group; {0} expected")]
    InvalidKe(u16),
    /// The peer's AUTH payload does not verify, or its identity is not the configured one.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(&'static str),
    /// No traffic selectors in common.
    #[error("traffic selectors unacceptable")]
    TsUnacceptable,
    /// Something the engine does not implement yet, named.
    #[error("not implemented: {0}")]
    Unsupported(&'static str),
    /// A malformed but parseable message (wrong lengths, KE length, SPI size).
    #[error("invalid syntax: {0}")]
    InvalidSyntax(&'static str),
    /// The responder's reply contradicts our request (a proposal we did not offer).
    #[error("invalid response: {0}")]
    InvalidResponse(&'static str),
    /// We could not do our part (the kernel refused an SPI): not the peer's fault. A Child SA
    /// request is answered as if nothing were acceptable (NO_PROPOSAL_CHOSEN; TEMPORARY_FAILURE
    /// in CREATE_CHILD_SA, where the peer may retry).
    #[error("local failure: {0}")]
    LocalFailure(&'static str),
}

impl ProtocolError {
    /// The notify this error answers with (RFC 7296 §3.10.1), if any.
    pub fn notify(&self) -> Option<NotifyType> {
        Some(match self {
            ProtocolError::MissingPayload { .. } | ProtocolError::UnexpectedPayload { .. } => {
                NotifyType::InvalidSyntax
            }
            ProtocolError::NoProposalChosen | ProtocolError::LocalFailure(_) => {
                NotifyType::NoProposalChosen
            }
            ProtocolError::InvalidKe(_) => NotifyType::InvalidKePayload,
            ProtocolError::AuthenticationFailed(_) => NotifyType::AuthenticationFailed,
            ProtocolError::TsUnacceptable => NotifyType::TsUnacceptable,
            ProtocolError::InvalidSyntax(_) => NotifyType::InvalidSyntax,
            ProtocolError::Unsupported(_) | ProtocolError::InvalidResponse(_) => return None,
        })
    }
}

/// How often a payload may appear: (type, minimum, maximum).
type Rule = (PayloadType, usize, usize);

const MANY: usize = usize::MAX;

fn rules(exchange: ExchangeType, response: bool) -> Option<&'static [Rule]> {
    use PayloadType as P;
    Some(match (exchange, response) {
        // §1.2: HDR, SAi1, KEi, Ni [N+] [V+]; a response may instead be a lone error notify.
        (ExchangeType::IkeSaInit, false) => &[
            (P::Sa, 1, 1),
            (P::Ke, 1, 1),
            (P::Nonce, 1, 1),
            (P::Notify, 0, MANY),
            (P::VendorId, 0, MANY),
        ],
        (ExchangeType::IkeSaInit, true) => &[
            (P::Sa, 0, 1),
            (P::Ke, 0, 1),
            (P::Nonce, 0, 1),
            (P::Notify, 0, MANY),
            (P::VendorId, 0, MANY),
            (P::CertReq, 0, MANY),
        ],
        // Inside SK (§1.2, §1.3, §1.4).
        (ExchangeType::IkeAuth, false) => &[
            (P::IdI, 1, 1),
            (P::Cert, 0, MANY),
            (P::CertReq, 0, MANY),
            (P::IdR, 0, 1),
            (P::Auth, 0, 1),
            (P::Sa, 0, 1),
            (P::TsI, 0, 1),
            (P::TsR, 0, 1),
            (P::Notify, 0, MANY),
            (P::Cp, 0, 1),
            (P::Eap, 0, 1),
            (P::VendorId, 0, MANY),
        ],
        (ExchangeType::IkeAuth, true) => &[
            (P::IdR, 0, 1),
            (P::Cert, 0, MANY),
            (P::Auth, 0, 1),
            (P::Sa, 0, 1),
            (P::TsI, 0, 1),
            (P::TsR, 0, 1),
            (P::Notify, 0, MANY),
            (P::Cp, 0, 1),
            (P::Eap, 0, 1),
            (P::VendorId, 0, MANY),
        ],
        (ExchangeType::CreateChildSa, _) => &[
            (P::Sa, 0, 1),
            (P::Nonce, 0, 1),
            (P::Ke, 0, 1),
            (P::TsI, 0, 1),
            (P::TsR, 0, 1),
            (P::Notify, 0, MANY),
            (P::VendorId, 0, MANY),
        ],
        // RFC 9242 §3.2 with RFC 9370 §2.2.2: SK {KEi} and SK {KEr}, or an error notify.
        (ExchangeType::IkeIntermediate, _) => {
            &[(P::Ke, 0, 1), (P::Notify, 0, MANY), (P::VendorId, 0, MANY)]
        }
        // RFC 9370 §2.2.4: SK {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)} and SK {KEr(n), [N]}, or an
        // error notify.
        (ExchangeType::IkeFollowupKe, _) => {
            &[(P::Ke, 0, 1), (P::Notify, 0, MANY), (P::VendorId, 0, MANY)]
        }
        (ExchangeType::Informational, _) => &[
            (P::Notify, 0, MANY),
            (P::Delete, 0, MANY),
            (P::Cp, 0, 1),
            (P::VendorId, 0, MANY),
        ],
        _ => return None,
    })
}

/// Checks a message's payloads (the inner ones for encrypted exchanges) against the table of
/// what its exchange allows. Unknown non-critical payloads are skipped (§2.5).
pub fn check_payloads(
    exchange: ExchangeType,
    response: bool,
    payloads: &[Payload<'_>],
) -> Result<(), ProtocolError> {
    let kind = if response { "response" } else { "request" };
    let Some(rules) = rules(exchange, response) else {
        return Err(ProtocolError::Unsupported("exchange type"));
    };
    for p in payloads {
        let t = p.payload_type();
        if matches!(
            p,
            Payload::Unknown { .. } | Payload::Encrypted(_) | Payload::EncryptedFragment(_)
        ) {
            continue;
        }
        if !rules.iter().any(|(rt, _, _)| *rt == t) {
            return Err(ProtocolError::UnexpectedPayload {
                exchange,
                kind,
                payload: t,
            });
        }
    }
    for (t, min, max) in rules {
        let n = payloads.iter().filter(|p| p.payload_type() == *t).count();
        if n < *min {
            return Err(ProtocolError::MissingPayload {
                exchange,
                kind,
                payload: *t,
            });
        }
        if n > *max {
            return Err(ProtocolError::UnexpectedPayload {
                exchange,
                kind,
                payload: *t,
            });
        }
    }
    Ok(())
}

/// The payloads of a message as a log shows them, in order: `SA KE Ni/Nr N(NAT_DETECTION_SOURCE_IP)
/// IDi AUTH` (strongSwan's logs look alike). Notifies by their RFC name (or number), other
/// payloads by their short name (or number).
pub(crate) fn describe(payloads: &[Payload<'_>]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for p in payloads {
        if !s.is_empty() {
            s.push(' ');
        }
        match p {
            Payload::Notify(n) => match n.notify_type.name() {
                Some(name) => {
                    let _ = write!(s, "N({name})");
                }
                None => {
                    let _ = write!(s, "N({})", u16::from(n.notify_type));
                }
            },
            other => {
                let t = other.payload_type();
                match t.name() {
                    Some(name) => s.push_str(name),
                    None => {
                        let _ = write!(s, "{}", u8::from(t));
                    }
                }
            }
        }
    }
    s
}
