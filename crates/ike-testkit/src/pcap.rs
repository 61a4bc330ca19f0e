//! Writing IKE datagrams to a pcap file (link type raw IP) that Wireshark and tshark read, for
//! the tshark oracle and for failing simulation tests.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;

/// Wraps one UDP payload in IPv4 or IPv6 and UDP headers.
pub fn ip_udp_frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let builder = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            etherparse::PacketBuilder::ipv4(s.octets(), d.octets(), 64)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            etherparse::PacketBuilder::ipv6(s.octets(), d.octets(), 64)
        }
        _ => {
            return Err(std::io::Error::other(
                "source and destination of different families",
            ))
        }
    }
    .udp(src.port(), dst.port());
    let mut frame = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut frame, payload)
        .map_err(std::io::Error::other)?;
    Ok(frame)
}

/// Writes `(timestamp, source, destination, UDP payload)` records as a pcap stream.
pub fn write_to<'a, W: Write>(
    out: W,
    records: impl IntoIterator<Item = (Duration, SocketAddr, SocketAddr, &'a [u8])>,
) -> std::io::Result<()> {
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(out, header).map_err(std::io::Error::other)?;
    for (at, src, dst, payload) in records {
        let frame = ip_udp_frame(src, dst, payload)?;
        let len = u32::try_from(frame.len()).map_err(std::io::Error::other)?;
        writer
            .write_packet(&PcapPacket::new(at, len, &frame))
            .map_err(std::io::Error::other)?;
    }
    Ok(())
}

/// Writes the records to a file.
pub fn write<'a>(
    path: &Path,
    records: impl IntoIterator<Item = (Duration, SocketAddr, SocketAddr, &'a [u8])>,
) -> std::io::Result<()> {
    write_to(std::fs::File::create(path)?, records)
}
