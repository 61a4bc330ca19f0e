#!/usr/bin/env bash
# daemon-natt.sh in IKEv1: NAT-T (RFC 3947) forced without a NAT, Main Mode PSK:
#   0. control (strongSwan on kernel-netlink, no encap): everything stays on UDP 500;
#   1. our encap = true, we initiate (kernel-netlink): our NAT-D cannot match, strongSwan sees us
#      behind a NAT, IKE moves to 4500 at Main Mode 5;
#   2. strongSwan's encap = yes, it initiates (kernel-netlink): the same the other way, and our
#      half of the Child SA is UDP-encapsulated;
#   3. our encap = true with kernel-libipsec: the Child SA is UDP-encapsulated on both sides.
# Each part's capture: Main Mode 1-4 in the clear on 500 (NAT-D in 3 and 4 from both sides),
# everything after on 4500 behind the non-ESP marker. In pending/: see pending/README.md.
# Run: sudo bash tests/interop/pending/THIS.sh
SW_VERSION=1
d=$(dirname "${BASH_SOURCE[0]}")
[[ -e $d/daemon-natt.sh ]] || d=$d/..
source "$d/daemon-natt.sh"
