#!/usr/bin/env python3
"""Network probes for the UML guest tests: a ping that carries a known payload, and a sniffer
that says whether that payload crossed an interface in the clear or only inside ESP.

    net.py ping DST [--src ADDR] [--count N] [--pattern HEX] [--timeout S]
        ICMP echo requests (IPv4 or IPv6) whose payload is PATTERN repeated; exit 0 when every
        request got its echo reply with the same payload, 1 otherwise.
    net.py sniff IFACE --out FILE [--pattern HEX] [--seconds S]
        an AF_PACKET socket on IFACE; prints "ready" once bound, then counts frames until
        SIGTERM/SIGINT or S seconds, and writes a JSON summary to FILE:
        {"out": COUNTS, "in": COUNTS} (frames the host sent, frames it received), where COUNTS =
        {"frames", "esp", "esp_in_udp", "ike", "echo", "pattern", "spis"}: ESP (IP protocol 50),
        ESP in UDP 4500 (non-zero first word), IKE on UDP 500/4500, plaintext ICMP or ICMPv6 echo
        requests and replies (not the rest of ICMPv6: neighbour discovery and MLD go on by
        themselves), frames that contain PATTERN anywhere, and the ESP SPIs seen (hex).

Only the standard library: it runs with the host's python3 inside the guest.
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
DEFAULT_PATTERN = "696b652d756d6c2d"  # "ike-uml-"


def payload_of(pattern_hex, size=56):
    pattern = bytes.fromhex(pattern_hex)
    return (pattern * (size // len(pattern) + 1))[:size]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(args):
    v6 = ":" in args.dst
    if v6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        request_type, reply_type = 128, 129
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        request_type, reply_type = 8, 0
    if args.src:
        sock.bind((args.src, 0))
    ident = os.getpid() & 0xFFFF
    data = payload_of(args.pattern)
    received = 0
    for seq in range(1, args.count + 1):
        header = struct.pack("!BBHHH", request_type, 0, 0, ident, seq)
        # the kernel fills in the ICMPv6 checksum itself (it needs the pseudo-header)
        csum = 0 if v6 else checksum(header + data)
        packet = struct.pack("!BBHHH", request_type, 0, csum, ident, seq) + data
        sent_at = time.monotonic()
        sock.sendto(packet, (args.dst, 0))
        deadline = sent_at + args.timeout
        ok = False
        while not ok:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                break
            reply, addr = sock.recvfrom(65535)
            icmp = reply if v6 else reply[(reply[0] & 0x0F) * 4:]
            if len(icmp) < 8:
                continue
            rtype, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
            if rtype == reply_type and rid == ident and rseq == seq and icmp[8:] == data:
                ok = True
        if ok:
            received += 1
            print(f"reply from {args.dst}: seq={seq} time={1000 * (time.monotonic() - sent_at):.1f} ms")
        else:
            print(f"no reply from {args.dst}: seq={seq} (waited {args.timeout}s)")
        sys.stdout.flush()
        if seq < args.count:
            time.sleep(args.interval)
    print(f"{args.count} sent, {received} received")
    return 0 if received == args.count else 1


def classify(frame, pattern, counts):
    counts["frames"] += 1
    if pattern and pattern in frame:
        counts["pattern"] += 1
    if len(frame) < 14:
        return
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        proto = ip[9]
        l4 = ip[(ip[0] & 0x0F) * 4:]
        echo = (1, (0, 8))
    elif ethertype == 0x86DD and len(ip) >= 40:
        proto = ip[6]  # extension headers are not followed: none are used here
        l4 = ip[40:]
        echo = (58, (128, 129))
    else:
        return
    if proto == 50 and len(l4) >= 4:
        counts["esp"] += 1
        counts["spis"].add(l4[:4].hex())
    elif proto == 51 and len(l4) >= 8:
        # AH (RFC 4302 §2): next header, length, reserved, then the SPI
        counts["ah"] += 1
        counts["spis"].add(l4[4:8].hex())
    elif proto == echo[0] and l4[:1] and l4[0] in echo[1]:
        counts["echo"] += 1
    elif proto == 17 and len(l4) >= 12:
        sport, dport = struct.unpack("!HH", l4[:4])
        body = l4[8:]
        if 4500 in (sport, dport) and body[:4] != b"\0\0\0\0":
            counts["esp_in_udp"] += 1
            counts["spis"].add(body[:4].hex())
        elif 500 in (sport, dport) or 4500 in (sport, dport):
            counts["ike"] += 1


def sniff(args):
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    pattern = payload_of(args.pattern)[:16] if args.pattern else b""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    counts = {
        d: {"frames": 0, "esp": 0, "ah": 0, "esp_in_udp": 0, "ike": 0, "echo": 0, "pattern": 0, "spis": set()}
        for d in ("out", "in")
    }
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    while not stop and time.monotonic() < deadline:
        try:
            readable = select.select([sock], [], [], 0.1)[0]
        except InterruptedError:
            continue
        if not readable:
            continue
        frame, addr = sock.recvfrom(65535)
        direction = "out" if addr[2] == PACKET_OUTGOING else "in"
        classify(frame, pattern, counts[direction])
    for c in counts.values():
        c["spis"] = sorted(c["spis"])
    with open(args.out + ".tmp", "w") as f:
        json.dump(counts, f)
    os.replace(args.out + ".tmp", args.out)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("ping")
    pp.add_argument("dst")
    pp.add_argument("--src")
    pp.add_argument("--count", type=int, default=3)
    pp.add_argument("--pattern", default=DEFAULT_PATTERN)
    pp.add_argument("--timeout", type=float, default=3.0)
    pp.add_argument("--interval", type=float, default=0.1)
    ps = sub.add_parser("sniff")
    ps.add_argument("iface")
    ps.add_argument("--out", required=True)
    ps.add_argument("--pattern", default=DEFAULT_PATTERN)
    ps.add_argument("--seconds", type=float, default=60.0)
    args = p.parse_args()
    return ping(args) if args.cmd == "ping" else sniff(args)


if __name__ == "__main__":
    sys.exit(main())
