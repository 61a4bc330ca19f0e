//! Test-only access for the engine's negative tests: sealing arbitrary (well-formed but
//! unexpected) messages with an SA's keys, as a misbehaving peer would; and a PSK connection
//! for the in-crate unit tests.

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

/// A PSK connection to `remote` (`ip:port`) between identities `local_id` and `remote_id`, with
/// one IKE proposal and one child on 10.0.0.0/8 with one ESP proposal.
pub(crate) fn test_peer(
    remote: &str,
    local_id: &str,
    remote_id: &str,
    ike: &str,
    esp: &str,
) -> crate::v2::PeerConfig {
    use crate::proposal::Proposal;
    use crate::v2::{AuthMethod, ChildConfig, Identity, Mode, PeerConfig, Ts};
    use ike_crypto::Secret;
    PeerConfig {
        name: remote_id.into(),
        remote_addrs: vec![remote.parse::<std::net::SocketAddr>().unwrap().ip()],
        local_id: Identity::parse(local_id),
        remote_id: Identity::parse(remote_id),
        local_auth: AuthMethod::Psk(Secret::from_slice(b"unit test")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"unit test")),
        ike_proposals: vec![Proposal::parse_ike(ike).unwrap()],
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            remote_ts: vec![Ts::cidr("10.0.0.0/8").unwrap()],
            ah_proposals: Vec::new(),
            esp_proposals: vec![Proposal::parse_esp(esp).unwrap()],
            mode: Mode::Tunnel,
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        dpd_delay: None,
        dpd_action: crate::v2::DpdAction::Clear,
        encap: false,
        life_time: None,
        version: crate::config::IkeVersion::V2,
        exchange: Default::default(),
    }
}
