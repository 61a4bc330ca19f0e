//! IKE_AUTH (RFC 7296 §1.2, §2.15, §2.16): AUTH of both sides (PSK and signatures, `auth.rs`),
//! the identities, and the first Child SA negotiated and installed with it.

use super::*;

impl IkeSa {
    pub(super) fn auth_octets(&self, sender_is_initiator: bool, id_body: &[u8]) -> Option<Vec<u8>> {
        let keys = self.keys.as_ref()?;
        let (msg, nonce, sk_p) = if sender_is_initiator {
            (&self.handshake.init_request, &self.nr, &keys.sk_pi)
        } else {
            (&self.handshake.init_response, &self.ni, &keys.sk_pr)
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
    pub(super) fn own_auth(
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
    pub(super) fn verify_peer_auth(
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

    pub(super) fn send_auth(
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
        let (local_ts, remote_ts) = child
            .map(|c| {
                (
                    Ts::resolve(&c.local_ts, self.local.ip()),
                    Ts::resolve(&c.remote_ts, self.remote.ip()),
                )
            })
            .unwrap_or_default();
        let ts_i: Vec<v2::TrafficSelector<'static>> = local_ts.iter().map(Ts::to_wire).collect();
        let ts_r: Vec<v2::TrafficSelector<'static>> = remote_ts.iter().map(Ts::to_wire).collect();
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
        let mid = self.window.next_mid;
        let Some(bytes) = self.seal(ExchangeType::IkeAuth, false, mid, &payloads, rng) else {
            return;
        };
        if let (Some(_), Some(spi)) = (child, spi_in) {
            self.handshake.pending_child = Some(PendingChild {
                cfg: 0,
                spi_in: spi,
                ts_i: local_ts,
                ts_r: remote_ts,
                transport,
            });
        }
        self.state = State::AuthSent;
        self.send_request(out, now, config, bytes, RequestKind::Auth, mid);
        self.window.next_mid = mid.wrapping_add(1);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_auth_request(
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
        let mid = self.window.peer_next_mid;
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
        self.window.last_response = Some((mid, bytes.clone()));
        self.window.peer_next_mid = mid.wrapping_add(1);
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

    pub(super) fn authenticate_initiator<'p>(
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
        // Why each connection was passed over, for the log when none matches.
        let mut passed: Vec<String> = Vec::new();
        for (idx, peer) in peers.iter().enumerate() {
            if !(peer.remote_addrs.is_empty() || peer.remote_addrs.contains(&self.remote.ip())) {
                continue;
            }
            if !peer.remote_id.accepts(&peer_id) {
                passed.push(format!("{} expects {}", peer.name, peer.remote_id));
                continue;
            }
            if let Some(w) = wanted_local
                .as_ref()
                .filter(|w| !peer.local_id.accepts(w) && **w != peer.local_id)
            {
                passed.push(format!(
                    "{} is {} but the peer asked for {w} (IDr)",
                    peer.name, peer.local_id
                ));
                continue;
            }
            // The first connection that admits the peer decides; its method for the peer
            // (PSK or certificate) is the only one tried.
            self.verify_peer_auth(peer, &octets, &peer_id, inner)?;
            self.remote_id = Some(peer_id);
            return Ok((idx, &**peer));
        }
        tracing::info!(
            target: "ike",
            "IKE_AUTH from {}: no connection matches the peer's identity {} ({}){}; connections considered: {}",
            self.remote,
            peer_id,
            id_type_name(idi.id_type),
            wanted_local.as_ref().map(|w| format!(", asking for us as {w}")).unwrap_or_default(),
            if passed.is_empty() { "none for this address".to_owned() } else { passed.join("; ") }
        );
        Err(ProtocolError::AuthenticationFailed(
            "no connection matches the peer's identity",
        ))
    }

    pub(super) fn established_events(&mut self, peer: &PeerConfig, out: &mut Output) {
        self.ike_rekey_at = peer
            .rekey_time
            .map(|t| self.clock + create_child::jittered(t, &self.spi_i));
        self.ike_expire_at = peer.life_time.map(|t| self.clock + t);
        self.established_at = Some(self.clock);
        self.local_id = Some(peer.local_id.clone());
        // RealMessage1/2 (§2.15) and IntAuth served IKE_AUTH; an established SA answers a
        // retransmitted IKE_AUTH from its response cache and never signs again. (The first
        // Child SA's proposal, the rest of the handshake, is taken by the caller next.)
        let pending_child = self.handshake.pending_child.take();
        self.handshake = Handshake {
            pending_child,
            ..Handshake::default()
        };
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
            version: 2,
            handshake: self.clock.saturating_duration_since(self.created),
        });
    }

    pub(super) fn negotiate_child_responder(
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
            // `dynamic` selectors are this SA's addresses.
            let (local_ts, remote_ts) = (
                Ts::resolve(&child.local_ts, self.local.ip()),
                Ts::resolve(&child.remote_ts, self.remote.ip()),
            );
            // §2.9: narrow to what both sides allow. TSi are the initiator's (our remote) side.
            let narrowed_i: Vec<Ts> = tsi
                .iter()
                .flat_map(|a| remote_ts.iter().filter_map(move |b| a.intersect(b)))
                .collect();
            let narrowed_r: Vec<Ts> = tsr
                .iter()
                .flat_map(|a| local_ts.iter().filter_map(move |b| a.intersect(b)))
                .collect();
            if narrowed_i.is_empty() || narrowed_r.is_empty() {
                let list = |v: &[Ts]| {
                    v.iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                tracing::info!(target: "ike", "Child SA {}: traffic selectors do not overlap (TS_UNACCEPTABLE): received TSi {} TSr {}; configured remote {} local {}", child.name, list(&tsi), list(&tsr), list(&remote_ts), list(&local_ts));
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
                tracing::info!(target: "ike", "Child SA {}: no acceptable proposal (NO_PROPOSAL_CHOSEN): {}", child.name, crate::proposal::mismatch(&sa.proposals, child.proposals()));
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
    pub(super) fn install_child(
        &mut self,
        peer: &PeerConfig,
        c: NegotiatedChild,
        out: &mut Output,
    ) {
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
    pub(super) fn install_child_with(
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

    pub(super) fn handle_auth_response(
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
                let mid = self.window.next_mid;
                let n = [Payload::Notify(Notify::new(
                    NotifyType::AuthenticationFailed,
                    &[],
                ))];
                if let Some(bytes) = self.seal(ExchangeType::Informational, false, mid, &n, rng) {
                    self.window.next_mid = mid.wrapping_add(1);
                    self.transmit(out, bytes);
                }
                self.close(out, CloseReason::LocalError(e));
                return;
            }
        }
        self.window.outstanding = None;
        self.state = State::Established;
        self.established_events(peer, out);
        // Every other child of the connection follows in CREATE_CHILD_SA exchanges, in the
        // configuration's order (strongSwan too initiates every child of a connection).
        let first = self.handshake.pending_child.as_ref().map(|p| p.cfg);
        for cfg in (0..peer.children.len()).filter(|c| Some(*c) != first) {
            self.queue.push_back(create_child::Op::Create { cfg });
        }
        let Some(pending) = self.handshake.pending_child.take() else {
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

    pub(super) fn verify_responder(
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

    pub(super) fn check_child_reply(
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
}

/// RFC 7296 §3.5's name of an ID type, for logs.
fn id_type_name(t: ike_wire::v2::IdType) -> String {
    match t.name() {
        Some(n) => n.to_owned(),
        None => format!("ID type {}", t.value()),
    }
}
