//! Our CREATE_CHILD_SA requests (RFC 7296 §1.3): a new Child SA, a Child SA rekey (§1.3.3,
//! make-before-break) or an IKE SA rekey (§1.3.2), with PFS; the INVALID_KE_PAYLOAD retry;
//! checking the response and installing what it agreed.

use super::*;

impl IkeSa {
    pub(in crate::v2::sa) fn start_create(
        &mut self,
        op: Op,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let mut ni = vec![0u8; NONCE_LEN];
        if rng.fill(&mut ni).is_err() {
            return;
        }
        let creating = match &op {
            Op::RekeyIke if self.ike_followup_pending() => {
                // The peer's IKE SA rekey waits for its IKE_FOLLOWUP_KE exchanges; if it
                // completes, this SA is rekeyed anyway, else try again later.
                self.ike_rekey_at = Some(self.clock + retry_delay(&self.our_spi()));
                return;
            }
            Op::RekeyIke => {
                let Ok(spi) = rng.ike_spi().map(|s| s.to_vec()) else {
                    return;
                };
                let group = peer
                    .ike_proposals
                    .iter()
                    .flat_map(|p| p.ke.iter().copied())
                    .find(|g| dh::is_supported(*g));
                let Some(Ok(kex)) = group.map(|g| dh::generate(g, rng)) else {
                    return;
                };
                Creating {
                    op: op.clone(),
                    ni,
                    dh: Some(kex),
                    spi,
                    cfg: 0,
                    ts_i: Vec::new(),
                    ts_r: Vec::new(),
                    transport: false,
                    tried: group.into_iter().collect(),
                    ike_collision: None,
                    followup: None,
                }
            }
            Op::Create { .. } | Op::RekeyChild { .. } => {
                let (cfg, ts_i, ts_r, transport) = match &op {
                    Op::Create { cfg } => {
                        let Some(c) = peer.children.get(*cfg) else {
                            return;
                        };
                        (
                            *cfg,
                            Ts::resolve(&c.local_ts, self.local.ip()),
                            Ts::resolve(&c.remote_ts, self.remote.ip()),
                            c.mode == Mode::Transport,
                        )
                    }
                    Op::RekeyChild { spi_in } => {
                        let Some(c) = self.children.iter_mut().find(|c| c.spi_in == *spi_in) else {
                            return;
                        };
                        c.busy = true;
                        (c.cfg, c.local_ts.clone(), c.remote_ts.clone(), c.transport)
                    }
                    _ => return,
                };
                let protocol = peer
                    .children
                    .get(cfg)
                    .map_or(IpsecProtocol::Esp, ChildConfig::protocol);
                let spi_in = match rng.child_spi(protocol, self.local.ip(), self.remote.ip()) {
                    Ok(s) => s,
                    Err(_) => {
                        if let Op::RekeyChild { spi_in } = &op {
                            if let Some(c) = self.children.iter_mut().find(|c| c.spi_in == *spi_in)
                            {
                                c.busy = false;
                            }
                        }
                        out.events.push(Event::ChildSaFailed {
                            sa: self.handle,
                            connection: self.connection.clone(),
                            child: peer
                                .children
                                .get(cfg)
                                .map(|c| c.name.clone())
                                .unwrap_or_default(),
                            reason: ProtocolError::LocalFailure("no inbound SPI"),
                        });
                        return;
                    }
                };
                let group = peer.children.get(cfg).and_then(|c| {
                    c.proposals()
                        .iter()
                        .flat_map(|p| p.ke.iter().copied())
                        .find(|g| dh::is_supported(*g))
                });
                let kex = match group.map(|g| dh::generate(g, rng)) {
                    Some(Ok(k)) => Some(k),
                    Some(Err(_)) => return,
                    None => None,
                };
                Creating {
                    op: op.clone(),
                    ni,
                    dh: kex,
                    spi: spi_in.to_be_bytes().to_vec(),
                    cfg,
                    ts_i,
                    ts_r,
                    transport,
                    tried: group.into_iter().collect(),
                    ike_collision: None,
                    followup: None,
                }
            }
            _ => return,
        };
        self.send_create(creating, peer, config, rng, out);
    }

    pub(in crate::v2::sa) fn send_create(
        &mut self,
        creating: Creating,
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let mid = self.window.next_mid;
        let bytes = {
            let mut payloads: Vec<Payload<'_>> = Vec::new();
            let old_spi;
            let props: Vec<Proposal>;
            let protocol;
            match &creating.op {
                Op::RekeyIke => {
                    // With their additional key exchanges, if any (IKE_FOLLOWUP_KE).
                    props = peer.ike_proposals.clone();
                    protocol = ProtocolId::Ike;
                }
                _ => {
                    let child = peer.children.get(creating.cfg);
                    props = child.map(|c| c.proposals().to_vec()).unwrap_or_default();
                    protocol = child
                        .map_or(IpsecProtocol::Esp, ChildConfig::protocol)
                        .to_wire();
                }
            }
            if let Op::RekeyChild { spi_in } = creating.op {
                old_spi = spi_in.to_be_bytes();
                // §3.10: REKEY_SA names the SA by its protocol and our inbound SPI.
                let old_protocol = self
                    .children
                    .iter()
                    .find(|c| c.spi_in == spi_in)
                    .map_or(protocol, |c| c.protocol.to_wire());
                payloads.push(Payload::Notify(Notify {
                    protocol: old_protocol,
                    spi: &old_spi,
                    notify_type: NotifyType::RekeySa,
                    data: &[],
                }));
            }
            if creating.transport {
                payloads.push(Payload::Notify(Notify::new(
                    NotifyType::UseTransportMode,
                    &[],
                )));
            }
            let wire: Vec<v2::Proposal<'_>> = props
                .iter()
                .filter(|p| p.protocol == protocol)
                .enumerate()
                .map(|(i, p)| p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), &creating.spi))
                .collect();
            payloads.push(Payload::Sa(v2::Sa { proposals: wire }));
            payloads.push(Payload::Nonce(&creating.ni));
            if let Some(k) = &creating.dh {
                payloads.push(Payload::Ke(KePayload {
                    group: k.group(),
                    data: k.public_value(),
                }));
            }
            let ts_i: Vec<v2::TrafficSelector<'static>> =
                creating.ts_i.iter().map(Ts::to_wire).collect();
            let ts_r: Vec<v2::TrafficSelector<'static>> =
                creating.ts_r.iter().map(Ts::to_wire).collect();
            let notifies;
            if protocol != ProtocolId::Ike {
                payloads.push(Payload::TsI(ts_i));
                payloads.push(Payload::TsR(ts_r));
                notifies = self.esp_notifies.payloads(None);
                payloads.extend(notifies);
            }
            self.seal(ExchangeType::CreateChildSa, false, mid, &payloads, rng)
        };
        let Some(bytes) = bytes else { return };
        self.window.next_mid = mid.wrapping_add(1);
        self.creating = Some(Box::new(creating));
        self.send_request(
            out,
            self.clock,
            config,
            bytes,
            RequestKind::CreateChild,
            mid,
        );
    }

    pub(in crate::v2::sa) fn handle_create_child_response(
        &mut self,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
        config: &EndpointConfig,
        rng: &mut Entropy,
        out: &mut Output,
    ) {
        let Some(mut creating) = self.creating.take() else {
            return;
        };
        if check_payloads(ExchangeType::CreateChildSa, true, inner).is_err() {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::InvalidResponse("CREATE_CHILD_SA response payloads"),
                out,
            );
            return;
        }
        let notify = |t| {
            inner.iter().find_map(|p| match p {
                Payload::Notify(n) if n.notify_type == t => Some(*n),
                _ => None,
            })
        };
        if let Some(n) = notify(NotifyType::InvalidKePayload) {
            // §1.3: retry with the group the responder asked for, if we offered it.
            let wanted = <[u8; 2]>::try_from(n.data)
                .ok()
                .map(|b| DhGroup::from(u16::from_be_bytes(b)));
            let offered: Vec<DhGroup> = match creating.op {
                Op::RekeyIke => peer
                    .ike_proposals
                    .iter()
                    .flat_map(|p| p.ke.clone())
                    .collect(),
                _ => peer
                    .children
                    .get(creating.cfg)
                    .map(|c| c.proposals().iter().flat_map(|p| p.ke.clone()).collect())
                    .unwrap_or_default(),
            };
            if let Some(g) = wanted.filter(|g| offered.contains(g) && !creating.tried.contains(g)) {
                if let Ok(k) = dh::generate(g, rng) {
                    creating.tried.push(g);
                    creating.dh = Some(k);
                    self.send_create(*creating, peer, config, rng, out);
                    return;
                }
            }
            self.child_failed(
                &creating,
                peer,
                ProtocolError::InvalidKe(wanted.map_or(0, DhGroup::value)),
                out,
            );
            return;
        }
        if notify(NotifyType::TemporaryFailure).is_some() {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::Unsupported("temporary failure"),
                out,
            );
            return;
        }
        if let Some(err) = inner.iter().find_map(|p| match p {
            Payload::Notify(n) if n.notify_type.is_error() => Some(n.notify_type),
            _ => None,
        }) {
            if err == NotifyType::ChildSaNotFound {
                // §2.25: the peer no longer has the SA we tried to rekey; drop our half.
                if let Op::RekeyChild { spi_in } = creating.op {
                    if let Some(pos) = self.children.iter().position(|c| c.spi_in == spi_in) {
                        let c = self.children.remove(pos);
                        out.events.push(Event::ChildSaDelete {
                            sa: self.handle,
                            connection: self.connection.clone(),
                            child: c.name,
                            spi_in: c.spi_in,
                            spi_out: c.spi_out,
                        });
                    }
                }
                return;
            }
            let reason = match err {
                NotifyType::NoProposalChosen => ProtocolError::NoProposalChosen,
                NotifyType::TsUnacceptable => ProtocolError::TsUnacceptable,
                _ => ProtocolError::InvalidResponse("CREATE_CHILD_SA refused"),
            };
            self.child_failed(&creating, peer, reason, out);
            return;
        }
        let result = if creating.op == Op::RekeyIke {
            self.check_ike_rekey_reply(&creating, inner, peer)
        } else {
            self.check_child_sa_reply(&creating, inner, peer)
        };
        let (agreed, nr, kes) = match result {
            Ok(r) => r,
            Err(e) => {
                self.child_failed(&creating, peer, e, out);
                return;
            }
        };
        if kes.pending.is_empty() {
            self.conclude(*creating, agreed, nr, kes, peer, out);
            return;
        }
        // RFC 9370 §2.2.4: additional key exchanges follow, linked by the responder's notify.
        let Some(link) = crate::v2::sa::find_notify(inner, NotifyType::AdditionalKeyExchange)
        else {
            self.child_failed(
                &creating,
                peer,
                ProtocolError::InvalidResponse(
                    "additional key exchanges chosen without ADDITIONAL_KEY_EXCHANGE",
                ),
                out,
            );
            return;
        };
        creating.followup = Some(followup::Initiator::new(
            agreed,
            nr,
            kes,
            link.data.to_vec(),
        ));
        self.send_followup(*creating, peer, config, rng, out);
    }

    /// Applies what our exchange agreed on once every key exchange is done: installs the Child
    /// SA or creates the new IKE SA, then deletes what it replaces.
    pub(in crate::v2::sa) fn conclude(
        &mut self,
        creating: Creating,
        agreed: Agreed,
        nr: Vec<u8>,
        kes: KeyExchanges,
        peer: &PeerConfig,
        out: &mut Output,
    ) {
        let extra = kes.extra();
        let result = match agreed {
            Agreed::Child(neg) => {
                self.install_child_with(
                    peer,
                    neg,
                    kes.first.as_ref().map(|s| s.expose()),
                    &extra,
                    &creating.ni,
                    &nr,
                    true,
                    out,
                );
                self.last_exchange_nr = nr;
                Ok(())
            }
            Agreed::Ike {
                spi_i,
                spi_r,
                chosen,
            } => match kes.first.as_ref() {
                Some(first) => self.complete_ike_rekey(
                    &creating,
                    spi_i,
                    spi_r,
                    chosen,
                    &nr,
                    first.expose(),
                    &extra,
                    peer,
                    out,
                ),
                None => Err(ProtocolError::InvalidResponse("no KE")),
            },
        };
        if let Err(e) = result {
            self.child_failed(&creating, peer, e, out);
            return;
        }
        match creating.op {
            Op::RekeyChild { spi_in } => {
                let new_spi = <[u8; 4]>::try_from(creating.spi.as_slice())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                let nr = std::mem::take(&mut self.last_exchange_nr);
                match self.children.iter_mut().find(|c| c.spi_in == spi_in) {
                    // The peer deleted the old SA while we rekeyed it (§2.25.1): the new one
                    // replaces nothing, so it goes too.
                    None => self.queue.push_front(Op::DeleteChild { spi_in: new_spi }),
                    Some(old) => match old.collision.take() {
                        Some(col)
                            if ours_is_redundant(
                                [&creating.ni, &nr],
                                [&col.nonces[0], &col.nonces[1]],
                            ) =>
                        {
                            // Simultaneous rekey, and our new SA has the lowest nonce: we close
                            // it; the peer, whose SA survives, deletes the old one.
                            old.busy = false;
                            self.queue.push_front(Op::DeleteChild { spi_in: new_spi });
                        }
                        // Make-before-break: the new SA is installed; now delete the old one.
                        // In a collision we won, the peer closes its redundant SA itself.
                        _ => self.queue.push_front(Op::DeleteChild { spi_in }),
                    },
                }
            }
            Op::RekeyIke if self.rekey == RekeyState::ReplacedLostCollision => {
                // We lost the §2.8.2 nonce rule: the peer deletes the old IKE SA.
                self.rekey = RekeyState::Replaced;
                self.queue.clear();
            }
            Op::RekeyIke => {
                // §2.18: the initiator of the rekey deletes the old IKE SA.
                self.queue.clear();
                self.queue.push_front(Op::DeleteIke);
            }
            _ => {}
        }
    }

    pub(in crate::v2::sa) fn reply_parts<'p>(inner: &'p [Payload<'p>]) -> Parts<'p> {
        let (mut sa, mut nonce, mut ke, mut tsi, mut tsr) =
            (None, None, None, Vec::new(), Vec::new());
        for p in inner {
            match p {
                Payload::Sa(s) => sa = Some(s),
                Payload::Nonce(n) => nonce = Some(*n),
                Payload::Ke(k) => ke = Some(k),
                Payload::TsI(t) => tsi = t.iter().filter_map(Ts::from_wire).collect(),
                Payload::TsR(t) => tsr = t.iter().filter_map(Ts::from_wire).collect(),
                _ => {}
            }
        }
        (sa, nonce, ke, tsi, tsr)
    }

    /// Our CREATE_CHILD_SA exchange for a Child SA: the responder's choice checked and our
    /// key exchange completed.
    pub(in crate::v2::sa) fn check_child_sa_reply(
        &mut self,
        creating: &Creating,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
    ) -> Result<(Agreed, Vec<u8>, KeyExchanges), ProtocolError> {
        let (sa, nonce, ke, ts_i, ts_r) = Self::reply_parts(inner);
        let (Some(sa), Some(nr)) = (sa, nonce) else {
            return Err(ProtocolError::InvalidResponse("no SA and Nonce"));
        };
        if !(16..=256).contains(&nr.len()) {
            return Err(ProtocolError::InvalidSyntax("nonce length"));
        }
        let [reply] = sa.proposals.as_slice() else {
            return Err(ProtocolError::InvalidResponse(
                "child SA reply with other than one proposal",
            ));
        };
        let child = peer.children.get(creating.cfg);
        let protocol = child.map_or(IpsecProtocol::Esp, ChildConfig::protocol);
        let props = child.map(|c| c.proposals().to_vec()).unwrap_or_default();
        let chosen = check_reply(&props, reply).ok_or(ProtocolError::InvalidResponse(
            "ESP or AH proposal we did not offer",
        ))?;
        let spi_out = <[u8; 4]>::try_from(reply.spi)
            .map(u32::from_be_bytes)
            .map_err(|_| ProtocolError::InvalidSyntax("ESP or AH SPI size"))?;
        let inside = |got: &[Ts], asked: &[Ts]| {
            !got.is_empty() && got.iter().all(|g| asked.iter().any(|a| g.within(a)))
        };
        if !inside(&ts_i, &creating.ts_i) || !inside(&ts_r, &creating.ts_r) {
            return Err(ProtocolError::InvalidResponse(
                "traffic selectors wider than proposed",
            ));
        }
        let gir = match (&creating.dh, chosen.ke) {
            (Some(k), Some(g)) if g == k.group() => {
                let ke = ke
                    .filter(|ke| ke.group == g)
                    .ok_or(ProtocolError::InvalidResponse("KE of another group"))?;
                Some(
                    k.shared_secret(ke.data)
                        .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?,
                )
            }
            (None, None) => None,
            _ => {
                return Err(ProtocolError::InvalidResponse(
                    "PFS group differs from ours",
                ))
            }
        };
        let spi_in = <[u8; 4]>::try_from(creating.spi.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| ProtocolError::InvalidSyntax("SPI"))?;
        let transport = creating.transport && inner.iter().any(|p| matches!(p, Payload::Notify(n) if n.notify_type == NotifyType::UseTransportMode));
        let neg = NegotiatedChild {
            replaces: None,
            cfg: creating.cfg,
            protocol,
            chosen,
            spi_in,
            spi_out,
            ts_i,
            ts_r,
            transport,
            flags: crate::ipsec::ChildFlags::from_payloads(inner),
        };
        let kes = KeyExchanges::new(gir, &chosen);
        Ok((Agreed::Child(neg), nr.to_vec(), kes))
    }
}
