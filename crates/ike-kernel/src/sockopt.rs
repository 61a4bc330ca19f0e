//! The two socket options the daemon's IKE sockets need when SAs live in the kernel, set with
//! `setsockopt(2)`: no crate in the dependency set offers them, and both take plain bytes.
//!
//! - `UDP_ENCAP = UDP_ENCAP_ESPINUDP` on the NAT-T socket (port 4500): the kernel then takes
//!   ESP-in-UDP packets (non-zero SPI) off the socket and decapsulates them, and passes IKE
//!   messages (the four-zero-octet non-ESP marker) on to us (RFC 3948 §2.2).
//! - A per-socket bypass policy (`IP_XFRM_POLICY` / `IPV6_XFRM_POLICY`, direction in and out,
//!   action allow) on every IKE socket, so that IKE messages are never caught by the SPD
//!   entries we install ourselves (a transport-mode policy between the two hosts covers UDP 500
//!   too).
//!
//! This is the only module of the workspace with `unsafe` code: one call to `libc::setsockopt`.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::Emitable;
use netlink_packet_xfrm::{UserPolicyInfo, XFRM_POLICY_ALLOW, XFRM_POLICY_IN, XFRM_POLICY_OUT};

use crate::KernelError;

/// `UDP_ENCAP` from `<linux/udp.h>`.
const UDP_ENCAP: libc::c_int = 100;
/// `UDP_ENCAP_ESPINUDP` from `<linux/udp.h>`.
const UDP_ENCAP_ESPINUDP: libc::c_int = 2;
/// `IP_XFRM_POLICY` from `<linux/in.h>`.
const IP_XFRM_POLICY: libc::c_int = 17;
/// `IPV6_XFRM_POLICY` from `<linux/in6.h>`.
const IPV6_XFRM_POLICY: libc::c_int = 35;

fn setsockopt_bytes(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &[u8],
    what: &'static str,
) -> Result<(), KernelError> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| KernelError::Unsupported("socket option value too long"))?;
    // SAFETY: `fd` is a live descriptor for the duration of the borrow, `value` points to
    // `len` initialised bytes that outlive the call, and the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        let err = std::io::Error::last_os_error();
        Err(KernelError::Os {
            what,
            errno: err.raw_os_error().unwrap_or(0),
        })
    }
}

/// Makes the kernel decapsulate ESP-in-UDP arriving on this UDP socket (bound to port 4500).
pub fn enable_udp_encap(fd: BorrowedFd<'_>) -> Result<(), KernelError> {
    setsockopt_bytes(
        fd,
        libc::IPPROTO_UDP,
        UDP_ENCAP,
        &UDP_ENCAP_ESPINUDP.to_ne_bytes(),
        "setsockopt(UDP_ENCAP)",
    )
}

/// Lets this socket's traffic bypass IPsec policies in both directions.
pub fn bypass_policies(fd: BorrowedFd<'_>, ipv6: bool) -> Result<(), KernelError> {
    let (level, name, family) = if ipv6 {
        (
            libc::IPPROTO_IPV6,
            IPV6_XFRM_POLICY,
            netlink_packet_xfrm::AF_INET6,
        )
    } else {
        (
            libc::IPPROTO_IP,
            IP_XFRM_POLICY,
            netlink_packet_xfrm::AF_INET,
        )
    };
    for dir in [XFRM_POLICY_IN, XFRM_POLICY_OUT] {
        let mut policy = UserPolicyInfo::default();
        policy.selector.family = family;
        policy.direction = dir;
        policy.action = XFRM_POLICY_ALLOW;
        let mut bytes = vec![0u8; policy.buffer_len()];
        policy.emit(&mut bytes);
        setsockopt_bytes(fd, level, name, &bytes, "setsockopt(IP_XFRM_POLICY)")?;
    }
    Ok(())
}
