//! IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.10): the initiator's request, the cookie and
//! INVALID_KE_PAYLOAD retries, the responder's answer (after the endpoint's admission step), and
//! SKEYSEED and the IKE SA's keys (§2.14).

use super::*;

impl IkeSa {
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
            handshake: Handshake::default(),
            window: Window::default(),
            children: Vec::new(),
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
            rekey: RekeyState::Current,
            last_exchange_nr: Vec::new(),
            fragmentation: false,
            fragment_size: config.fragment_size,
            reassembly: None,
            initial_contact: false,
            peer_childless: false,
            nat: nat::Nat::new(local, remote, now, true, peer.encap),
            liveness: dpd::Liveness::new(now),
            prefer_initiator_proposals: false,
            followups: Vec::new(),
            esp_notifies: EspNotifies::from_config(config),
        };
        let mut out = Output::default();
        let bytes = sa
            .init_request_bytes(peer)
            .map_err(|_| EngineError::UnknownSa)?;
        sa.handshake.init_request = bytes.clone();
        sa.send_request(&mut out, now, config, bytes, RequestKind::Init, 0);
        sa.window.next_mid = 1;
        Ok((sa, out))
    }

    pub(super) fn init_request_bytes(
        &self,
        peer: &PeerConfig,
    ) -> Result<Vec<u8>, ike_wire::EncodeError> {
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
    pub(super) fn handle_init_response(
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
                self.window.outstanding = None;
                self.detect_nat(msg, self.local, self.remote);
                self.after_init(now, peer, config, rng, out);
            }
            Err(e) => self.close(out, CloseReason::LocalError(e)),
        }
    }

    pub(super) fn resend_init(
        &mut self,
        now: Instant,
        peer: &PeerConfig,
        config: &EndpointConfig,
        out: &mut Output,
    ) {
        if let Ok(bytes) = self.init_request_bytes(peer) {
            self.handshake.init_request = bytes.clone();
            self.send_request(out, now, config, bytes, RequestKind::Init, 0);
        }
    }

    pub(super) fn complete_init(
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
        self.handshake.init_response = data.to_vec();
        self.derive_keys(chosen, shared.expose())?;
        self.fragmentation = self.fragment_size > 0
            && find_notify(&msg.payloads, NotifyType::FragmentationSupported).is_some();
        self.peer_childless =
            find_notify(&msg.payloads, NotifyType::ChildlessIkev2Supported).is_some();
        self.chosen = Some(chosen);
        self.auth.peer_hashes = auth::peer_hashes(&msg.payloads);
        Ok(())
    }

    pub(super) fn derive_keys(
        &mut self,
        chosen: Chosen,
        shared: &[u8],
    ) -> Result<(), ProtocolError> {
        let prf = chosen
            .prf_alg()
            .map_err(|_| ProtocolError::Unsupported("negotiated algorithm"))?;
        let skeyseed = kdf::skeyseed(prf, &self.ni, &self.nr, shared);
        self.keys_from_skeyseed(chosen, skeyseed.expose())
    }

    /// `{SK_d | SK_ai | ... | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)` (§2.14), installed.
    pub(super) fn keys_from_skeyseed(
        &mut self,
        chosen: Chosen,
        skeyseed: &[u8],
    ) -> Result<(), ProtocolError> {
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

    // ---- responder ----

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
            handshake: Handshake {
                init_request: data.to_vec(),
                ..Handshake::default()
            },
            window: Window {
                peer_next_mid: 1,
                ..Window::default()
            },
            children: Vec::new(),
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
            rekey: RekeyState::Current,
            last_exchange_nr: Vec::new(),
            fragmentation: false,
            fragment_size,
            reassembly: None,
            initial_contact: false,
            peer_childless: false,
            nat: nat::Nat::new(local, remote, now, false, peer.encap),
            liveness: dpd::Liveness::new(now),
            prefer_initiator_proposals: false,
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
        sa.handshake.init_response = reply.clone();
        sa.window.last_response = Some((0, reply.clone()));
        let mut out = Output::default();
        sa.transmit(&mut out, reply);
        Ok((sa, out))
    }

    pub(crate) fn retransmit_init_response(&mut self, request: &[u8]) -> Output {
        let mut out = Output::default();
        // Only an identical request is a retransmission (§2.1).
        if request == self.handshake.init_request.as_slice() {
            if let Some((0, bytes)) = self.window.last_response.clone() {
                self.answer_origin();
                self.transmit(&mut out, bytes);
            }
        }
        out
    }
}
