//! Test-only access for the engine's negative tests: sealing arbitrary (well-formed but
//! unexpected) messages with an SA's keys, as a misbehaving peer would.

use ike_crypto::rng::Rng;
use ike_wire::v2::{ExchangeType, Payload};

use super::IkeSa;

impl IkeSa {
    /// Seals `payloads` as a message of `exchange` from this SA's side.
    pub(crate) fn test_seal(
        &self,
        exchange: ExchangeType,
        response: bool,
        mid: u32,
        payloads: &[Payload<'_>],
        rng: &mut dyn Rng,
    ) -> Option<Vec<u8>> {
        self.seal(exchange, response, mid, payloads, rng)
    }

    /// Whether the responder is still waiting for IKE_AUTH.
    pub(crate) fn test_is_half_open(&self) -> bool {
        self.is_half_open_responder()
    }
}

impl IkeSa {
    /// Opens a message from the peer and returns its notifies (type and data).
    pub(crate) fn test_open_notifies(
        &mut self,
        data: &[u8],
    ) -> Option<Vec<(ike_wire::v2::NotifyType, Vec<u8>)>> {
        let msg = ike_wire::v2::Message::decode(data).ok()?;
        let (plain, first) = self.open(data, &msg)?;
        let inner = ike_wire::v2::decode_payloads(first, &plain, 0).ok()?;
        Some(
            inner
                .iter()
                .filter_map(|p| match p {
                    Payload::Notify(n) => Some((n.notify_type, n.data.to_vec())),
                    _ => None,
                })
                .collect(),
        )
    }
}
