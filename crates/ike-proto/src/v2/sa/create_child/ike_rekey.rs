//! The IKE SA rekey (RFC 7296 §1.3.2, §2.18): the new IKE SA's keys from SK_d and the new
//! exchange, its SPIs and state, and handing the Child SAs over; both roles.

use super::*;

impl IkeSa {
    /// Our CREATE_CHILD_SA exchange for an IKE SA rekey: the responder's choice checked and our
    /// key exchange completed.
    pub(in crate::v2::sa) fn check_ike_rekey_reply(
        &mut self,
        creating: &Creating,
        inner: &[Payload<'_>],
        peer: &PeerConfig,
    ) -> Result<(Agreed, Vec<u8>, KeyExchanges), ProtocolError> {
        let (sa, nonce, ke, _, _) = Self::reply_parts(inner);
        let (Some(sa), Some(nr), Some(ke)) = (sa, nonce, ke) else {
            return Err(ProtocolError::InvalidResponse("no SA, Nonce and KE"));
        };
        let [reply] = sa.proposals.as_slice() else {
            return Err(ProtocolError::InvalidResponse(
                "IKE SA reply with other than one proposal",
            ));
        };
        let chosen = check_reply(&peer.ike_proposals, reply).ok_or(
            ProtocolError::InvalidResponse("IKE proposal we did not offer"),
        )?;
        let kex = creating
            .dh
            .as_ref()
            .ok_or(ProtocolError::InvalidResponse("no KE"))?;
        if chosen.ke != Some(kex.group()) || ke.group != kex.group() {
            return Err(ProtocolError::InvalidResponse("KE group differs from ours"));
        }
        let spi_r = <[u8; 8]>::try_from(reply.spi)
            .map_err(|_| ProtocolError::InvalidSyntax("IKE SPI size"))?;
        let spi_i = <[u8; 8]>::try_from(creating.spi.as_slice())
            .map_err(|_| ProtocolError::InvalidSyntax("IKE SPI size"))?;
        let shared = kex
            .shared_secret(ke.data)
            .map_err(|_| ProtocolError::InvalidSyntax("peer key exchange value"))?;
        let kes = KeyExchanges::new(Some(shared), &chosen);
        Ok((
            Agreed::Ike {
                spi_i,
                spi_r,
                chosen,
            },
            nr.to_vec(),
            kes,
        ))
    }

    /// Our IKE SA rekey, every key exchange done: the new IKE SA, with the Child SAs unless a
    /// collision (§2.8.2) decides otherwise.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::v2::sa) fn complete_ike_rekey(
        &mut self,
        creating: &Creating,
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        chosen: Chosen,
        nr: &[u8],
        shared: &[u8],
        extra: &[&[u8]],
        peer: &PeerConfig,
        out: &mut Output,
    ) -> Result<(), ProtocolError> {
        // §2.8.2: if both ends rekeyed at once, the IKE SA created with the lowest of the four
        // nonces is deleted by the end that created it; the Child SAs move to the other one,
        // whose creator deletes the old IKE SA.
        let collision = creating.ike_collision.as_ref().map(|(col, peer_new_spi)| {
            let redundant = ours_is_redundant([&creating.ni, nr], [&col.nonces[0], &col.nonces[1]]);
            (redundant, *peer_new_spi)
        });
        let lost = matches!(collision, Some((true, _)));
        let new = self.rekeyed_sa(
            lost,
            true,
            spi_i,
            spi_r,
            &creating.ni,
            nr,
            chosen,
            shared,
            extra,
            peer,
        );
        let mut new = new?;
        match collision {
            Some((true, peer_new_spi)) => {
                new.rekey = RekeyState::Replaced;
                new.queue.push_back(Op::DeleteIke);
                out.kick_new_sa = true;
                out.move_children_to = Some(peer_new_spi);
                self.rekey = RekeyState::ReplacedLostCollision;
                self.ike_rekey_at = None;
            }
            Some((false, peer_new_spi)) => out.mark_redundant = Some(peer_new_spi),
            None => {}
        }
        out.new_sa = Some(Box::new(new));
        Ok(())
    }

    /// The IKE SA that replaces this one (§2.18): `SKEYSEED = prf(SK_d (old), g^ir (new) | Ni |
    /// Nr [| SK(1) | ... | SK(n)])` (the additional shared secrets `extra` of RFC 9370 §2.2.4),
    /// new SPIs and nonces, message IDs from zero, and this SA's Child SAs.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::v2::sa) fn rekeyed_sa(
        &mut self,
        keep_children: bool,
        initiator: bool,
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        ni: &[u8],
        nr: &[u8],
        chosen: Chosen,
        shared: &[u8],
        extra: &[&[u8]],
        peer: &PeerConfig,
    ) -> Result<IkeSa, ProtocolError> {
        let old = self
            .keys
            .as_ref()
            .ok_or(ProtocolError::InvalidResponse("no keys"))?;
        // The old SA's PRF keys SKEYSEED (§2.18).
        let skeyseed = kdf::rekey_skeyseed(old.prf, old.sk_d.expose(), shared, extra, ni, nr);
        let new_keys =
            crate::v2::sa::ike_keys(chosen, skeyseed.expose(), ni, nr, &spi_i, &spi_r, initiator)?;
        // In a collision (§2.8.2) the Child SAs stay until the nonce rule names the survivor.
        let children = if keep_children {
            Vec::new()
        } else {
            self.rekey = RekeyState::Replaced;
            self.ike_rekey_at = None;
            std::mem::take(&mut self.children)
        };
        Ok(IkeSa {
            handle: self.handle,
            peer_idx: self.peer_idx,
            connection: self.connection.clone(),
            initiator,
            state: State::Established,
            local: self.local,
            remote: self.remote,
            spi_i,
            spi_r,
            ni: ni.to_vec(),
            nr: nr.to_vec(),
            chosen: Some(chosen),
            keys: Some(new_keys),
            handshake: Handshake::default(),
            window: Window::default(),
            children,
            created: self.clock,
            half_open_timeout: self.half_open_timeout,
            remote_id: self.remote_id.clone(),
            local_id: self.local_id.clone(),
            clock: self.clock,
            queue: Default::default(),
            creating: None,
            ike_rekey_at: peer.rekey_time.map(|t| self.clock + jittered(t, &spi_i)),
            ike_expire_at: peer.life_time.map(|t| self.clock + t),
            established_at: Some(self.clock),
            rekey: RekeyState::Current,
            last_exchange_nr: Vec::new(),
            // The peer authenticated on the old SA; the new one inherits that (§2.18).
            auth: self.auth.clone(),
            // Fragmentation support was negotiated for the IKE SA and carries over (RFC 7383
            // §2.3).
            fragmentation: self.fragmentation,
            fragment_size: self.fragment_size,
            reassembly: None,
            initial_contact: false,
            peer_childless: self.peer_childless,
            prefer_initiator_proposals: self.prefer_initiator_proposals,
            nat: self.nat.clone(),
            liveness: crate::v2::sa::dpd::Liveness::new(self.clock),
            followups: Vec::new(),
            esp_notifies: self.esp_notifies,
        })
    }
}
