//! Codec throughput on real strongSwan messages from the bundled captures: decoding an IKEv2
//! IKE_SA_INIT request (SA with proposals, KE, nonce, notifies), an IKE_AUTH request (header and
//! an opaque SK payload), IKEv1 Main Mode message 1 (SA with proposals and attributes, in the
//! clear) and message 5 (encrypted, so an opaque body), and encoding the IKE_SA_INIT request.
//!
//! `cargo bench -p ike-wire --bench decode`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{SlicedPacket, TransportSlice};
use ike_wire::{classify_port_4500, v1, v2, Port4500};
use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");

/// Every IKE message in an Ethernet pcap, in capture order (non-ESP marker removed on port 4500,
/// ESP and keepalives skipped).
fn ike_messages(capture: &str) -> Vec<Vec<u8>> {
    let path = format!("{DATA}{capture}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut reader = PcapReader::new(bytes.as_slice()).expect("a pcap file");
    assert_eq!(reader.header().datalink, DataLink::ETHERNET, "{path}");
    let mut out = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("a pcap record");
        let Ok(sliced) = SlicedPacket::from_ethernet(&packet.data) else {
            continue;
        };
        let Some(TransportSlice::Udp(udp)) = sliced.transport else {
            continue;
        };
        let ports = [udp.source_port(), udp.destination_port()];
        if ports.contains(&4500) {
            if let Ok(Port4500::Ike(ike)) = classify_port_4500(udp.payload()) {
                out.push(ike.to_vec());
            }
        } else if ports.contains(&500) {
            out.push(udp.payload().to_vec());
        }
    }
    out
}

/// The first IKEv2 request (Initiator flag, no Response flag) of an exchange type.
fn v2_request(messages: &[Vec<u8>], exchange: v2::ExchangeType) -> Vec<u8> {
    messages
        .iter()
        .find(|m| {
            let h = v2::Message::decode(m).expect("an IKEv2 message").header;
            h.exchange == exchange && h.flags.initiator() && !h.flags.response()
        })
        .unwrap_or_else(|| panic!("no {exchange:?} request"))
        .clone()
}

/// The `n`th message (from 1) of IKEv1 Main Mode in a capture.
fn main_mode(messages: &[Vec<u8>], n: usize) -> Vec<u8> {
    messages
        .iter()
        .filter(|m| {
            let h = v1::Message::decode(m).expect("an IKEv1 message").header;
            h.exchange == v1::ExchangeType::IdentityProtection
        })
        .nth(n - 1)
        .unwrap_or_else(|| panic!("no Main Mode message {n}"))
        .clone()
}

fn codec(c: &mut Criterion) {
    let v2_psk = ike_messages("ikev2-psk.pcap");
    let sa_init = v2_request(&v2_psk, v2::ExchangeType::IkeSaInit);
    let auth = v2_request(&v2_psk, v2::ExchangeType::IkeAuth);
    let v1_psk = ike_messages("ikev1-main-psk.pcap");
    let mm1 = main_mode(&v1_psk, 1);
    let mm5 = main_mode(&v1_psk, 5);
    assert!(matches!(
        v1::Message::decode(&mm1).map(|m| m.body),
        Ok(v1::Body::Plain(_))
    ));
    assert!(matches!(
        v1::Message::decode(&mm5).map(|m| m.body),
        Ok(v1::Body::Encrypted { .. })
    ));

    let mut g = c.benchmark_group("decode");
    let v2_cases = [
        ("v2 IKE_SA_INIT request", &sa_init),
        ("v2 IKE_AUTH request", &auth),
    ];
    for (name, msg) in v2_cases {
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(format!("{name} ({} B)", msg.len()), |b| {
            b.iter(|| v2::Message::decode(black_box(msg)))
        });
    }
    let v1_cases = [
        ("v1 Main Mode 1 (SA)", &mm1),
        ("v1 Main Mode 5 (encrypted)", &mm5),
    ];
    for (name, msg) in v1_cases {
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(format!("{name} ({} B)", msg.len()), |b| {
            b.iter(|| v1::Message::decode(black_box(msg)))
        });
    }
    g.finish();

    let decoded = v2::Message::decode(&sa_init).expect("IKE_SA_INIT decodes");
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(sa_init.len() as u64));
    let name = format!("v2 IKE_SA_INIT request ({} B)", sa_init.len());
    g.bench_function(format!("{name}, to_vec"), |b| {
        b.iter(|| black_box(&decoded).to_vec())
    });
    let mut out = Vec::with_capacity(sa_init.len());
    g.bench_function(format!("{name}, into a reused buffer"), |b| {
        b.iter(|| {
            out.clear();
            black_box(&decoded).encode(&mut out)
        })
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
