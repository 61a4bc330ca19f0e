//! Proposals on the IKEv2 wire (RFC 7296 §3.3): a configured proposal as an SA payload's
//! proposal, the responder's selection among the peer's proposals (§2.7, in our order or the
//! peer's), and the check of the responder's single-proposal reply.

use super::*;

impl Proposal {
    /// The proposal on the wire, numbered `number`, with `spi`.
    pub fn to_wire<'a>(&self, number: u8, spi: &'a [u8]) -> wire::Proposal<'a> {
        let mut transforms = Vec::new();
        for (id, bits) in &self.encr {
            transforms.push(match bits {
                Some(b) => wire::Transform::with_key_length(TransformType::Encr, id.value(), *b),
                None => wire::Transform::new(TransformType::Encr, id.value()),
            });
        }
        for id in &self.prf {
            transforms.push(wire::Transform::new(TransformType::Prf, id.value()));
        }
        for id in &self.integ {
            transforms.push(wire::Transform::new(TransformType::Integ, id.value()));
        }
        for g in &self.ke {
            transforms.push(wire::Transform::new(TransformType::Ke, g.value()));
        }
        for (i, list) in self.addke.iter().enumerate() {
            for g in list {
                transforms.push(wire::Transform::new(addke_type(i), g.value()));
            }
        }
        for e in &self.esn {
            transforms.push(wire::Transform::new(TransformType::Esn, e.value()));
        }
        wire::Proposal {
            number,
            protocol: self.protocol,
            spi,
            transforms,
        }
    }
}

impl Chosen {
    /// The single-proposal reply that names this choice (RFC 7296 §3.3.6).
    pub fn to_wire<'a>(&self, protocol: ProtocolId, spi: &'a [u8]) -> wire::Proposal<'a> {
        let p = Proposal {
            protocol,
            encr: self.encr.into_iter().collect(),
            integ: self.integ.into_iter().collect(),
            prf: self.prf.into_iter().collect(),
            ke: self.ke.into_iter().collect(),
            esn: self.esn.into_iter().collect(),
            addke: self.addke.map(|g| g.into_iter().collect()),
        };
        p.to_wire(self.number, spi)
    }
}

fn key_length(t: &wire::Transform<'_>) -> Option<u16> {
    t.key_length()
}

/// The responder's selection (RFC 7296 §2.7): the first of `ours` (in our order of preference)
/// that one of `theirs` matches, taking from each transform type the first of our algorithms the
/// peer also offers. A peer proposal matches when, for every type our proposal has, it offers
/// one we accept, and it has no transform type we lack (other than an ESN "none").
pub fn select(ours: &[Proposal], theirs: &[wire::Proposal<'_>]) -> Option<Chosen> {
    select_with(ours, theirs, false)
}

/// [`select`], or with `initiator_order` the first of the peer's proposals (in its order) that
/// one of ours matches: strongSwan's `prefer_configured_proposals = no`.
pub fn select_with(
    ours: &[Proposal],
    theirs: &[wire::Proposal<'_>],
    initiator_order: bool,
) -> Option<Chosen> {
    if initiator_order {
        for peer in theirs {
            for mine in ours.iter().filter(|m| m.protocol == peer.protocol) {
                if let Some(c) = match_one(mine, peer) {
                    return Some(c);
                }
            }
        }
        return None;
    }
    for mine in ours {
        for peer in theirs.iter().filter(|p| p.protocol == mine.protocol) {
            if let Some(c) = match_one(mine, peer) {
                return Some(c);
            }
        }
    }
    None
}

fn match_one(mine: &Proposal, peer: &wire::Proposal<'_>) -> Option<Chosen> {
    let offered = |t: TransformType| {
        peer.transforms
            .iter()
            .filter(move |x| x.transform_type == t)
    };
    // A transform type we do not use at all must not be required by the peer's proposal.
    for t in &peer.transforms {
        let used = match t.transform_type {
            TransformType::Encr => !mine.encr.is_empty(),
            TransformType::Integ => !mine.integ.is_empty(),
            TransformType::Prf => !mine.prf.is_empty(),
            TransformType::Ke => true,
            TransformType::Esn => true,
            // Selected below, type by type (NONE when we do not do that exchange).
            TransformType::AddKe1
            | TransformType::AddKe2
            | TransformType::AddKe3
            | TransformType::AddKe4
            | TransformType::AddKe5
            | TransformType::AddKe6
            | TransformType::AddKe7 => true,
            _ => false,
        };
        if !used {
            return None;
        }
    }
    // AH has no encryption transform (and a peer's AH proposal with one was refused above).
    let encr = if mine.encr.is_empty() {
        None
    } else {
        Some(mine.encr.iter().copied().find(|(id, bits)| {
            offered(TransformType::Encr).any(|t| t.id == id.value() && key_length(t) == *bits)
        })?)
    };
    let integ = if mine.integ.is_empty() {
        None
    } else {
        Some(
            *mine
                .integ
                .iter()
                .find(|i| offered(TransformType::Integ).any(|t| t.id == i.value()))?,
        )
    };
    let prf = if mine.prf.is_empty() {
        None
    } else {
        Some(
            *mine
                .prf
                .iter()
                .find(|p| offered(TransformType::Prf).any(|t| t.id == p.value()))?,
        )
    };
    // Key exchange: for IKE required; for ESP, PFS if either side asks (none matches none).
    let peer_ke: Vec<u16> = offered(TransformType::Ke).map(|t| t.id).collect();
    let ke = if mine.ke.is_empty() {
        if peer_ke.iter().any(|g| *g != 0) {
            return None;
        }
        None
    } else {
        Some(*mine.ke.iter().find(|g| peer_ke.contains(&g.value()))?)
    };
    let esn = if mine.esn.is_empty() {
        None
    } else {
        let peer_esn: Vec<u16> = offered(TransformType::Esn).map(|t| t.id).collect();
        if peer_esn.is_empty() {
            // RFC 7296 §3.3.2: an ESP proposal without ESN transform means no ESN.
            mine.esn.contains(&EsnId::NoEsn).then_some(EsnId::NoEsn)
        } else {
            mine.esn
                .iter()
                .copied()
                .find(|e| peer_esn.contains(&e.value()))
        }
    };
    if !mine.esn.is_empty() && esn.is_none() {
        return None;
    }
    // Additional key exchanges (RFC 9370 §2.2.1), each type like an optional KE: NONE matches
    // NONE or absence, and a method already chosen for an earlier type is not chosen again
    // (strongSwan does the same).
    let mut used: Vec<DhGroup> = ke.into_iter().collect();
    let mut addke = [None; ADDKE_TYPES];
    for ((i, ours), slot) in mine.addke.iter().enumerate().zip(addke.iter_mut()) {
        let theirs: Vec<u16> = offered(addke_type(i)).map(|t| t.id).collect();
        let pick = if theirs.is_empty() {
            (ours.is_empty() || ours.contains(&DhGroup::None)).then_some(DhGroup::None)
        } else if ours.is_empty() {
            theirs.contains(&0).then_some(DhGroup::None)
        } else {
            ours.iter()
                .copied()
                .filter(|g| *g == DhGroup::None || !used.contains(g))
                .find(|g| theirs.contains(&g.value()))
        }?;
        if pick != DhGroup::None {
            used.push(pick);
            *slot = Some(pick);
        }
    }
    Some(Chosen {
        encr,
        integ,
        prf,
        ke,
        esn,
        addke,
        number: peer.number,
    })
}

/// Whether a responder's single-proposal reply is one we offered (RFC 7296 §2.7: the initiator
/// must check it).
pub fn check_reply(ours: &[Proposal], reply: &wire::Proposal<'_>) -> Option<Chosen> {
    let chosen = ours
        .iter()
        .filter(|p| p.protocol == reply.protocol)
        .find_map(|p| match_one(p, reply))?;
    // The reply must have exactly one transform of each type it uses.
    let count = |t: TransformType| {
        reply
            .transforms
            .iter()
            .filter(|x| x.transform_type == t)
            .count()
    };
    let single = [
        TransformType::Encr,
        TransformType::Integ,
        TransformType::Prf,
        TransformType::Ke,
        TransformType::Esn,
    ]
    .into_iter()
    .chain((0..ADDKE_TYPES).map(addke_type))
    .all(|t| count(t) <= 1);
    single.then_some(chosen)
}
