//! NAT traversal for IKEv1 (RFC 3947, with the draft versions peers still send) and dead peer
//! detection's vendor ID (RFC 3706).
//!
//! Both ends announce NAT-T support with a vendor ID in the first two messages; then Main Mode
//! messages 3 and 4 carry NAT-D payloads, `HASH(CKY-I | CKY-R | IP | Port)` with the negotiated
//! hash, first the address the message is sent to, then the sender's. A hash that does not match
//! the addresses the receiver sees means a NAT between them. With a NAT either way the initiator
//! moves to UDP 4500 from message 5 on (non-ESP marker, RFC 3948 §2.2), the responder follows
//! the address an authenticated message came from, Quick Mode proposes the UDP-encapsulated
//! modes (3/4, or 61443/61444 with a draft), the Child SAs carry ESP in UDP, and the side
//! behind the NAT sends keepalives. A connection with `encap` sends a source NAT-D that cannot
//! match, so that both sides believe it is behind a NAT (strongSwan's `encap = yes`).

use std::net::{IpAddr, SocketAddr};

use ike_crypto::prf::PrfAlg;
use ike_wire::v1::{EncapsulationMode, PayloadType};

use crate::ipsec::Mode;

/// The NAT-T versions we speak, best last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NatT {
    /// draft-ietf-ipsec-nat-t-ike-02 (with or without the trailing newline).
    Draft02,
    /// draft-ietf-ipsec-nat-t-ike-03.
    Draft03,
    /// RFC 3947.
    Rfc3947,
}

/// MD5("RFC 3947").
pub(crate) const VID_RFC3947: [u8; 16] = [
    0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f,
];
/// MD5("draft-ietf-ipsec-nat-t-ike-03").
pub(crate) const VID_DRAFT03: [u8; 16] = [
    0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f, 0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52, 0x9d, 0x56,
];
/// MD5("draft-ietf-ipsec-nat-t-ike-02\n").
pub(crate) const VID_DRAFT02N: [u8; 16] = [
    0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e, 0x08, 0x63, 0x81, 0xb5, 0xec, 0x42, 0x7b, 0x1f,
];
/// MD5("draft-ietf-ipsec-nat-t-ike-02").
pub(crate) const VID_DRAFT02: [u8; 16] = [
    0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8, 0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6, 0xa4, 0x48,
];

/// The vendor ID of RFC 3706 (dead peer detection), major version 1, minor version 0.
pub(crate) const VID_DPD: [u8; 16] = [
    0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00,
];

/// The NAT-T vendor IDs an initiator sends.
pub(crate) const OFFERED: [[u8; 16]; 3] = [VID_RFC3947, VID_DRAFT03, VID_DRAFT02N];

impl NatT {
    /// The version a vendor ID names.
    pub(crate) fn from_vid(v: &[u8]) -> Option<Self> {
        if v == VID_RFC3947 {
            Some(NatT::Rfc3947)
        } else if v == VID_DRAFT03 {
            Some(NatT::Draft03)
        } else if v == VID_DRAFT02N || v == VID_DRAFT02 {
            Some(NatT::Draft02)
        } else {
            None
        }
    }

    /// The best version among vendor IDs.
    pub(crate) fn best<'a>(vids: impl IntoIterator<Item = &'a [u8]>) -> Option<Self> {
        vids.into_iter().filter_map(Self::from_vid).max()
    }

    /// Its vendor ID.
    pub(crate) fn vid(self) -> &'static [u8; 16] {
        match self {
            NatT::Rfc3947 => &VID_RFC3947,
            NatT::Draft03 => &VID_DRAFT03,
            NatT::Draft02 => &VID_DRAFT02N,
        }
    }

    /// The NAT-D payload type (20, or 130 before the RFC).
    pub(crate) fn natd_type(self) -> PayloadType {
        match self {
            NatT::Rfc3947 => PayloadType::NatD,
            _ => PayloadType::NatDDraft,
        }
    }

    /// The encapsulation mode of a Child SA behind a NAT (RFC 3947 §5.1, draft values 61443/4).
    pub(crate) fn encap(self, mode: Mode) -> EncapsulationMode {
        match (self, mode) {
            (NatT::Rfc3947, Mode::Tunnel) => EncapsulationMode::UdpTunnel,
            (NatT::Rfc3947, Mode::Transport) => EncapsulationMode::UdpTransport,
            (_, Mode::Tunnel) => EncapsulationMode::UdpTunnelDraft,
            (_, Mode::Transport) => EncapsulationMode::UdpTransportDraft,
        }
    }
}

/// `HASH(CKY-I | CKY-R | IP | Port)` (RFC 3947 §3.2).
pub(crate) fn natd_hash(
    prf: PrfAlg,
    icookie: &[u8; 8],
    rcookie: &[u8; 8],
    addr: SocketAddr,
) -> Vec<u8> {
    let ip = match addr.ip() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    prf.hash(&[icookie, rcookie, &ip, &addr.port().to_be_bytes()])
        .unwrap_or_default()
}

/// What a peer's NAT-D payloads say: (we are behind a NAT, the peer is). The first payload is
/// the hash of the address the peer sent to (ours as it saw it), the others of its own.
pub(crate) fn detect(
    prf: PrfAlg,
    icookie: &[u8; 8],
    rcookie: &[u8; 8],
    local: SocketAddr,
    remote: SocketAddr,
    hashes: &[&[u8]],
) -> Option<(bool, bool)> {
    let (first, rest) = hashes.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let ours = natd_hash(prf, icookie, rcookie, local);
    let theirs = natd_hash(prf, icookie, rcookie, remote);
    Some((
        !ike_crypto::ct_eq(first, &ours),
        !rest.iter().any(|h| ike_crypto::ct_eq(h, &theirs)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_ids_are_the_md5_of_their_names() {
        assert_eq!(PrfAlg::HmacMd5.hash(&[b"RFC 3947"]).unwrap(), VID_RFC3947);
        assert_eq!(
            PrfAlg::HmacMd5
                .hash(&[b"draft-ietf-ipsec-nat-t-ike-03"])
                .unwrap(),
            VID_DRAFT03
        );
        assert_eq!(
            PrfAlg::HmacMd5
                .hash(&[b"draft-ietf-ipsec-nat-t-ike-02\n"])
                .unwrap(),
            VID_DRAFT02N
        );
        assert_eq!(
            NatT::best([&VID_DRAFT02[..], &VID_RFC3947[..], &[1, 2][..]]),
            Some(NatT::Rfc3947)
        );
    }

    #[test]
    fn detection_follows_the_hashes() {
        let (i, r) = ([1; 8], [2; 8]);
        let a: SocketAddr = "10.77.0.1:500".parse().unwrap();
        let b: SocketAddr = "10.77.0.2:500".parse().unwrap();
        let prf = PrfAlg::HmacSha256;
        // b's view: sent to b, from a.
        let to_b = natd_hash(prf, &i, &r, b);
        let from_a = natd_hash(prf, &i, &r, a);
        assert_eq!(
            detect(prf, &i, &r, b, a, &[&to_b, &from_a]),
            Some((false, false))
        );
        let nat: SocketAddr = "192.0.2.1:3000".parse().unwrap();
        assert_eq!(
            detect(prf, &i, &r, b, nat, &[&to_b, &from_a]),
            Some((false, true))
        );
        assert_eq!(detect(prf, &i, &r, b, a, &[&to_b]), None);
    }
}
