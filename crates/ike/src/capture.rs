//! IKE datagrams in packet captures: reading pcap and pcapng files (Ethernet, Linux cooked v1/v2,
//! raw IP and BSD loopback link types).
//!
//! Only UDP datagrams from or to port 500 or 4500 are kept. On port 4500 the non-ESP marker is
//! removed (RFC 3948 §2.2); ESP packets and NAT-keepalives are skipped.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use ike_wire::Port4500;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;

/// The IKE ports.
pub const IKE_PORT: u16 = 500;
/// The NAT-T port.
pub const NATT_PORT: u16 = 4500;

/// One IKE datagram found in a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Frame number in the capture, from 1 (as Wireshark counts).
    pub frame: usize,
    /// Capture timestamp.
    pub timestamp: Duration,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Whether it came with a non-ESP marker (UDP 4500).
    pub non_esp_marker: bool,
    /// The IKE message (marker removed).
    pub ike: Vec<u8>,
}

/// Errors reading a capture.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Neither a pcap nor a pcapng file, or a corrupt one.
    #[error("not a readable pcap or pcapng file: {0}")]
    Format(String),
    /// A link type the reader does not handle.
    #[error("unsupported link type {0:?}")]
    LinkType(DataLink),
}

/// Reads every IKE datagram from a pcap or pcapng file's bytes.
pub fn read_capture(bytes: &[u8]) -> Result<Vec<Datagram>, CaptureError> {
    const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    if bytes.get(..4) == Some(&PCAPNG_MAGIC[..]) {
        read_pcapng(bytes)
    } else {
        read_pcap(bytes)
    }
}

fn read_pcap(bytes: &[u8]) -> Result<Vec<Datagram>, CaptureError> {
    let mut reader = PcapReader::new(bytes).map_err(|e| CaptureError::Format(e.to_string()))?;
    let link = reader.header().datalink;
    let mut out = Vec::new();
    let mut frame = 0;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| CaptureError::Format(e.to_string()))?;
        frame += 1;
        if let Some(d) = extract(link, frame, packet.timestamp, &packet.data)? {
            out.push(d);
        }
    }
    Ok(out)
}

fn read_pcapng(bytes: &[u8]) -> Result<Vec<Datagram>, CaptureError> {
    let mut reader = PcapNgReader::new(bytes).map_err(|e| CaptureError::Format(e.to_string()))?;
    let mut links = Vec::new();
    let mut out = Vec::new();
    let mut frame = 0;
    while let Some(block) = reader.next_block() {
        match block.map_err(|e| CaptureError::Format(e.to_string()))? {
            Block::InterfaceDescription(idb) => links.push(idb.linktype),
            Block::EnhancedPacket(epb) => {
                frame += 1;
                let link = usize::try_from(epb.interface_id)
                    .ok()
                    .and_then(|i| links.get(i).copied())
                    .ok_or_else(|| {
                        CaptureError::Format("packet of an undeclared interface".into())
                    })?;
                if let Some(d) = extract(link, frame, epb.timestamp, &epb.data)? {
                    out.push(d);
                }
            }
            Block::SimplePacket(spb) => {
                frame += 1;
                let link = links
                    .first()
                    .copied()
                    .ok_or_else(|| CaptureError::Format("packet before any interface".into()))?;
                if let Some(d) = extract(link, frame, Duration::ZERO, &spb.data)? {
                    out.push(d);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn extract(
    link: DataLink,
    frame: usize,
    timestamp: Duration,
    data: &[u8],
) -> Result<Option<Datagram>, CaptureError> {
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data),
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data),
        // Linux cooked v2: a 20-byte header (protocol type in its first two bytes).
        DataLink::LINUX_SLL2 => match data.get(20..) {
            Some(ip) => SlicedPacket::from_ip(ip),
            None => return Ok(None),
        },
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data),
        // BSD loopback: a 4-byte address family in host order.
        DataLink::NULL | DataLink::LOOP => match data.get(4..) {
            Some(ip) => SlicedPacket::from_ip(ip),
            None => return Ok(None),
        },
        other => return Err(CaptureError::LinkType(other)),
    };
    // A frame that is not IP/UDP (ARP, a truncated frame) is not IKE: skip it.
    let Ok(sliced) = sliced else { return Ok(None) };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        _ => return Ok(None),
    };
    let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
        return Ok(None);
    };
    let (sport, dport) = (udp.source_port(), udp.destination_port());
    let payload = udp.payload();
    let (ike, marker) = if sport == NATT_PORT || dport == NATT_PORT {
        match ike_wire::classify_port_4500(payload) {
            Ok(Port4500::Ike(ike)) => (ike, true),
            _ => return Ok(None),
        }
    } else if sport == IKE_PORT || dport == IKE_PORT {
        (payload, false)
    } else {
        return Ok(None);
    };
    Ok(Some(Datagram {
        frame,
        timestamp,
        src: SocketAddr::new(src_ip, sport),
        dst: SocketAddr::new(dst_ip, dport),
        non_esp_marker: marker,
        ike: ike.to_vec(),
    }))
}

/// Reads a whole capture file from any reader.
pub fn read_capture_from<R: Read>(mut r: R) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    Ok(bytes)
}
