//! INFORMATIONAL exchanges we start (RFC 7296 §1.4): deletes of the IKE SA and liveness
//! checks; and the peer's INFORMATIONAL requests (Delete, notifies, empty liveness checks).

use super::*;

impl IkeSa {
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
        if self.window.outstanding.is_some() {
            self.queue.push_back(create_child::Op::DeleteIke);
            return out;
        }
        let payloads = [Payload::Delete(v2::Delete {
            protocol: ProtocolId::Ike,
            spi_size: 0,
            spis: Vec::new(),
        })];
        let mid = self.window.next_mid;
        let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &payloads, rng) else {
            self.close(&mut out, CloseReason::Deleted);
            return out;
        };
        self.window.next_mid = mid.wrapping_add(1);
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
        if !matches!(self.state, State::Established) || self.window.outstanding.is_some() {
            return out;
        }
        let mid = self.window.next_mid;
        let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &[], rng) else {
            return out;
        };
        self.window.next_mid = mid.wrapping_add(1);
        self.send_request(&mut out, now, config, bytes, RequestKind::Liveness, mid);
        out
    }

    pub(super) fn handle_informational_request(
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
            self.window.last_response = Some((mid, bytes.clone()));
            self.transmit(out, bytes);
        }
        self.window.peer_next_mid = mid.wrapping_add(1);
        if refused {
            self.close(
                out,
                CloseReason::PeerError(NotifyType::AuthenticationFailed),
            );
            return;
        }
        if close {
            let reason = if self.rekey.replaced() {
                CloseReason::Rekeyed
            } else {
                CloseReason::DeletedByPeer
            };
            self.close(out, reason);
        }
    }
}
