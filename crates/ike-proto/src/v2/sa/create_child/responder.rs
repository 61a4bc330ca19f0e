//! The peer's CREATE_CHILD_SA requests (RFC 7296 §1.3): selection, selectors, PFS, REKEY_SA and
//! the rekey collisions of §2.8.1/§2.8.2 seen from the responder, and the answer.

use super::*;

impl IkeSa {
    pub(in crate::v2::sa) fn handle_create_child_request(
        &mut self,
        inner: &[Payload<'_>],
        mid: u32,
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        self.window.peer_next_mid = mid.wrapping_add(1);
        let reply = self.answer_create_child(inner, peer, rng, out);
        let payloads: Vec<Payload<'_>>;
        let owned;
        match &reply {
            Ok(r) => {
                owned = r;
                payloads = owned.payloads();
            }
            Err((t, data)) => {
                payloads = vec![Payload::Notify(Notify::new(*t, data))];
            }
        }
        if let Some(bytes) = self.seal(ExchangeType::CreateChildSa, true, mid, &payloads, rng) {
            self.window.last_response = Some((mid, bytes.clone()));
            self.transmit(out, bytes);
        }
    }

    fn answer_create_child(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) -> Result<Reply, (NotifyType, Vec<u8>)> {
        check_payloads(ExchangeType::CreateChildSa, false, inner)
            .map_err(|e| (e.notify().unwrap_or(NotifyType::InvalidSyntax), Vec::new()))?;
        let (sa, nonce, ke, ts_i, ts_r) = Self::reply_parts(inner);
        let (Some(sa), Some(ni)) = (sa, nonce) else {
            return Err((NotifyType::InvalidSyntax, Vec::new()));
        };
        if !(16..=256).contains(&ni.len()) {
            return Err((NotifyType::InvalidSyntax, Vec::new()));
        }
        let mut nr = vec![0u8; NONCE_LEN];
        rng.fill(&mut nr)
            .map_err(|_| (NotifyType::TemporaryFailure, Vec::new()))?;
        let rekey_ike = sa.proposals.iter().any(|p| p.protocol == ProtocolId::Ike);
        if rekey_ike {
            let our_ike_rekey = matches!(
                self.creating.as_deref(),
                Some(Creating {
                    op: Op::RekeyIke,
                    ike_collision: None,
                    ..
                })
            );
            if (self.creating.is_some() && !our_ike_rekey)
                || self.rekey.replaced()
                || self.ike_followup_pending()
            {
                // Our own exchange on this IKE SA is under way (a rekey of one of its Child SAs,
                // or a delete): moving the Child SAs now could leave the two ends with different
                // sets, so the peer retries later (§2.25.2).
                return Err((NotifyType::TemporaryFailure, Vec::new()));
            }
            let ours = followup::selectable(&peer.ike_proposals);
            let chosen = select_with(&ours, &sa.proposals, self.prefer_initiator_proposals)
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let needs_followup = chosen.additional().next().is_some();
            if our_ike_rekey
                && (needs_followup || peer.ike_proposals.iter().any(Proposal::has_addke))
            {
                // Both ends rekey the IKE SA and one of them with additional key exchanges:
                // rather than a nonce rule spanning the IKE_FOLLOWUP_KE exchanges, the peer
                // retries later (as we will after its answer to ours).
                return Err((NotifyType::TemporaryFailure, Vec::new()));
            }
            let group = chosen
                .ke
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let ke = ke.ok_or((NotifyType::InvalidSyntax, Vec::new()))?;
            if ke.group != group {
                return Err((
                    NotifyType::InvalidKePayload,
                    group.value().to_be_bytes().to_vec(),
                ));
            }
            let peer_prop = sa
                .proposals
                .iter()
                .find(|p| p.number == chosen.number && p.protocol == ProtocolId::Ike)
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let spi_i = <[u8; 8]>::try_from(peer_prop.spi)
                .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
            let spi_r = rng
                .ike_spi()
                .map_err(|_| (NotifyType::TemporaryFailure, Vec::new()))?;
            let (our_ke, shared) = dh::respond(group, ke.data, rng)
                .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
            if needs_followup {
                // RFC 9370 §2.2.4: the new IKE SA waits for the IKE_FOLLOWUP_KE exchanges.
                let link = self
                    .await_followups(
                        Agreed::Ike {
                            spi_i,
                            spi_r,
                            chosen,
                        },
                        ni,
                        &nr,
                        KeyExchanges::new(Some(shared), &chosen),
                        rng,
                    )
                    .map_err(|t| (t, Vec::new()))?;
                return Ok(Reply {
                    chosen,
                    protocol: ProtocolId::Ike,
                    spi: spi_r.to_vec(),
                    nr,
                    ke: Some((group, our_ke)),
                    ts_i: Vec::new(),
                    ts_r: Vec::new(),
                    transport: false,
                    rekey_of: None,
                    link: Some(link),
                    esp_notifies: Vec::new(),
                });
            }
            // §2.8.2: if we are rekeying this IKE SA too, answer as usual but keep the Child
            // SAs here until both exchanges are done and the nonce rule names the survivor.
            let new = self.rekeyed_sa(
                our_ike_rekey,
                false,
                spi_i,
                spi_r,
                ni,
                &nr,
                chosen,
                shared.expose(),
                &[],
                peer,
            );
            let new = new.map_err(|_| (NotifyType::NoProposalChosen, Vec::new()))?;
            if our_ike_rekey {
                if let Some(c) = self.creating.as_mut() {
                    c.ike_collision = Some((
                        Collision {
                            nonces: [ni.to_vec(), nr.clone()],
                        },
                        spi_r,
                    ));
                }
            }
            out.new_sa = Some(Box::new(new));
            return Ok(Reply {
                chosen,
                protocol: ProtocolId::Ike,
                spi: spi_r.to_vec(),
                nr,
                ke: Some((group, our_ke)),
                ts_i: Vec::new(),
                ts_r: Vec::new(),
                transport: false,
                rekey_of: None,
                link: None,
                esp_notifies: Vec::new(),
            });
        }
        if matches!(
            self.creating.as_deref(),
            Some(Creating {
                op: Op::RekeyIke,
                ..
            })
        ) || self.rekey.replaced()
            || self.ike_followup_pending()
        {
            // We are moving to a new IKE SA: create Child SAs there, later (§2.25.2).
            return Err((NotifyType::TemporaryFailure, Vec::new()));
        }
        // A Child SA: new, or a rekey of the one REKEY_SA names (its protocol and our outbound
        // SPI, §1.3.3).
        let rekey = inner.iter().find_map(|p| match p {
            Payload::Notify(n) if n.notify_type == NotifyType::RekeySa => Some((n.protocol, n.spi)),
            _ => None,
        });
        let (cfgs, rekey_of): (Vec<usize>, Option<u32>) = match rekey {
            Some((protocol, spi)) => {
                let spi = <[u8; 4]>::try_from(spi)
                    .map(u32::from_be_bytes)
                    .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
                let protocol = IpsecProtocol::from_wire(protocol)
                    .ok_or((NotifyType::InvalidSyntax, Vec::new()))?;
                let child = self
                    .children
                    .iter()
                    .find(|c| c.spi_out == spi && c.protocol == protocol)
                    .ok_or((NotifyType::ChildSaNotFound, Vec::new()))?;
                if child.deleting {
                    // We are deleting it ourselves (§2.25.1).
                    return Err((NotifyType::TemporaryFailure, Vec::new()));
                }
                (vec![child.cfg], Some(child.spi_in))
            }
            None => ((0..peer.children.len()).collect(), None),
        };
        let wants_transport = inner.iter().any(
            |p| matches!(p, Payload::Notify(n) if n.notify_type == NotifyType::UseTransportMode),
        );
        let mut last = NotifyType::TsUnacceptable;
        for cfg in cfgs {
            let Some(child) = peer.children.get(cfg) else {
                continue;
            };
            let (ni_ts, nr_ts) = (
                narrow(&ts_i, &Ts::resolve(&child.remote_ts, self.remote.ip())),
                narrow(&ts_r, &Ts::resolve(&child.local_ts, self.local.ip())),
            );
            if ni_ts.is_empty() || nr_ts.is_empty() {
                continue;
            }
            let protocol = child.protocol();
            let Some(chosen) = select_with(
                &followup::selectable(child.proposals()),
                &sa.proposals,
                self.prefer_initiator_proposals,
            ) else {
                last = NotifyType::NoProposalChosen;
                continue;
            };
            let peer_prop = sa
                .proposals
                .iter()
                .find(|p| p.number == chosen.number && p.protocol == protocol.to_wire())
                .ok_or((NotifyType::NoProposalChosen, Vec::new()))?;
            let spi_out = <[u8; 4]>::try_from(peer_prop.spi)
                .map(u32::from_be_bytes)
                .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
            let ke_reply = match chosen.ke {
                Some(g) => {
                    let ke = ke.filter(|k| k.group == g).ok_or((
                        NotifyType::InvalidKePayload,
                        g.value().to_be_bytes().to_vec(),
                    ))?;
                    let (our, shared) = dh::respond(g, ke.data, rng)
                        .map_err(|_| (NotifyType::InvalidSyntax, Vec::new()))?;
                    Some((g, our, shared))
                }
                None => None,
            };
            let spi_in = rng
                .child_spi(protocol, self.local.ip(), self.remote.ip())
                .map_err(|_| (NotifyType::TemporaryFailure, Vec::new()))?;
            let transport = wants_transport && child.mode == Mode::Transport;
            let neg = NegotiatedChild {
                replaces: rekey_of,
                cfg,
                protocol,
                chosen,
                spi_in,
                spi_out,
                ts_i: ni_ts.clone(),
                ts_r: nr_ts.clone(),
                transport,
                flags: crate::ipsec::ChildFlags::from_payloads(inner),
            };
            let (ke_out, shared) = match ke_reply {
                Some((g, our, shared)) => (Some((g, our)), Some(shared)),
                None => (None, None),
            };
            let link = if chosen.additional().next().is_some() {
                // RFC 9370 §2.2.4: installed after the IKE_FOLLOWUP_KE exchanges.
                let kes = KeyExchanges::new(shared, &chosen);
                let link = self
                    .await_followups(Agreed::Child(neg), ni, &nr, kes, rng)
                    .map_err(|t| (t, Vec::new()))?;
                Some(link)
            } else {
                self.install_child_with(
                    peer,
                    neg,
                    shared.as_ref().map(|s| s.expose()),
                    &[],
                    ni,
                    &nr,
                    false,
                    out,
                );
                None
            };
            if let Some(old) = rekey_of {
                // The initiator deletes the old SA once it has the new one; until then, keep it.
                // If we are rekeying it too, remember the peer's nonces for the nonce rule.
                let ours_under_way = matches!(self.creating.as_deref(), Some(Creating { op: Op::RekeyChild { spi_in }, .. }) if *spi_in == old);
                if let Some(c) = self.children.iter_mut().find(|c| c.spi_in == old) {
                    c.rekey_at = None;
                    if ours_under_way {
                        c.collision = Some(Collision {
                            nonces: [ni.to_vec(), nr.clone()],
                        });
                    }
                }
            }
            return Ok(Reply {
                chosen,
                protocol: protocol.to_wire(),
                spi: spi_in.to_be_bytes().to_vec(),
                nr,
                ke: ke_out,
                ts_i: ni_ts,
                ts_r: nr_ts,
                transport,
                rekey_of,
                link,
                esp_notifies: self.esp_notifies.payloads(Some(inner)),
            });
        }
        Err((last, Vec::new()))
    }
}

/// A CREATE_CHILD_SA response in the making.
struct Reply {
    chosen: Chosen,
    protocol: ProtocolId,
    spi: Vec<u8>,
    nr: Vec<u8>,
    ke: Option<(DhGroup, Vec<u8>)>,
    ts_i: Vec<Ts>,
    ts_r: Vec<Ts>,
    transport: bool,
    rekey_of: Option<u32>,
    /// ADDITIONAL_KEY_EXCHANGE data: IKE_FOLLOWUP_KE exchanges follow (RFC 9370 §2.2.4).
    link: Option<Vec<u8>>,
    /// Our ESP notifies for a Child SA (RFC 7296 §3.10.1).
    esp_notifies: Vec<Payload<'static>>,
}

impl Reply {
    fn payloads(&self) -> Vec<Payload<'_>> {
        let mut p = Vec::new();
        if self.transport {
            p.push(Payload::Notify(Notify::new(
                NotifyType::UseTransportMode,
                &[],
            )));
        }
        p.push(Payload::Sa(v2::Sa {
            proposals: vec![self.chosen.to_wire(self.protocol, &self.spi)],
        }));
        p.push(Payload::Nonce(&self.nr));
        if let Some((g, data)) = &self.ke {
            p.push(Payload::Ke(KePayload { group: *g, data }));
        }
        if let Some(link) = &self.link {
            p.push(Payload::Notify(Notify::new(
                NotifyType::AdditionalKeyExchange,
                link,
            )));
        }
        if self.protocol != ProtocolId::Ike {
            p.push(Payload::TsI(self.ts_i.iter().map(Ts::to_wire).collect()));
            p.push(Payload::TsR(self.ts_r.iter().map(Ts::to_wire).collect()));
            p.extend(self.esp_notifies.iter().cloned());
        }
        let _ = self.rekey_of;
        p
    }
}
