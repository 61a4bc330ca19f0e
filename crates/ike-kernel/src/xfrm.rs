//! The `xfrm` backend: Child SAs and their policies in the Linux kernel, over netlink.
//!
//! Messages are built with `netlink-packet-xfrm` and sent on a `netlink-sys` socket; every
//! request asks for an acknowledgement and is answered before `send` returns (the kernel handles
//! XFRM requests synchronously), so the socket is non-blocking and a missing answer is an error,
//! never a hang.
//!
//! What it installs for a Child SA (as strongSwan's kernel-netlink does):
//! - two states (`XFRM_MSG_NEWSA`, or `XFRM_MSG_UPDSA` over the larval state that
//!   `XFRM_MSG_ALLOCSPI` made for our inbound SPI), ESP (`IPPROTO_ESP`) with the AEAD or
//!   cipher+integrity keys, or AH (`IPPROTO_AH`, RFC 4302) with the integrity key alone,
//!   tunnel or transport mode, a replay window, the reqid of the child and, behind a NAT, the
//!   ESP-in-UDP encapsulation template;
//! - policies out, in and (tunnel mode) fwd for every pair of local and remote traffic selectors,
//!   each selector range split into prefixes and port masks, with a template that names the
//!   child's reqid and protocol. Policies are shared by every SA of the same child (a rekey installs the new
//!   SAs under the same reqid; the kernel picks the newest outbound state) and by the child's
//!   trap, and are reference counted: the last owner to go removes them.
//!
//! Keys are copied into the netlink message, sent, and the message buffers are zeroized.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ike_crypto::cipher::{EncrAlg, IntegAlg};
use ike_crypto::Secret;
use ike_proto::ipsec::{ChildSaInstall, IpsecProtocol, Mode, Ts};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_xfrm::policy::{DelGetMessage as PolicyDelGet, ModifyMessage as PolicyModify};
use netlink_packet_xfrm::state::{AllocSpiMessage, DelGetMessage, ModifyMessage};
use netlink_packet_xfrm::{
    Address, Alg, AlgAead, AlgAuth, EncapTmpl, Selector, UserPolicyId, UserPolicyInfo, UserSaId,
    UserSaInfo, UserSpiInfo, UserTemplate, XfrmAttrs, XfrmMessage, AF_INET, AF_INET6, IPPROTO_AH,
    IPPROTO_ESP, XFRM_MODE_TRANSPORT, XFRM_MODE_TUNNEL, XFRM_POLICY_ALLOW, XFRM_POLICY_FWD,
    XFRM_POLICY_IN, XFRM_POLICY_OUT,
};
use netlink_sys::{protocols::NETLINK_XFRM, Socket};
use zeroize::Zeroize;

use crate::{mode_word, ts_list, InstalledSa, KernelError, KernelEvent, SaBackend, TrapPolicy};

/// `UDP_ENCAP_ESPINUDP` (RFC 3948 encapsulation) in an `xfrm_encap_tmpl`.
const ENCAP_ESPINUDP: u16 = 2;
/// The anti-replay window of every inbound SA, in packets (strongSwan's default).
const REPLAY_WINDOW: u8 = 32;
/// The range our inbound SPIs are allocated from (`XFRM_MSG_ALLOCSPI`).
const SPI_MIN: u32 = 0xc000_0000;
const SPI_MAX: u32 = 0xcfff_ffff;
/// The kernel's lifetimes back up the engine's timers: its soft expire (which makes the daemon
/// rekey) comes this long after the engine should have rekeyed, its hard expire (which removes
/// the state even if the daemon is gone) this long after the engine should have deleted.
const KERNEL_LIFETIME_MARGIN: u64 = 30;
/// At most this many selector pairs per child (ranges that are not prefixes multiply).
const MAX_SELECTOR_PAIRS: usize = 256;
/// Policies of installed SAs and of traps share one priority scale: more specific first.
const PRIORITY_BASE: u32 = 200_000;

/// One netlink message of a datagram, checked before `netlink-packet-xfrm` sees it: that crate
/// indexes its input without checking lengths, so only complete messages of the types we read,
/// at least as long as their fixed part, are handed to it. Returns the message and the offset
/// of the next one, or `None` at the end or on anything malformed.
fn next_message(
    buf: &[u8],
    off: usize,
) -> Option<(Result<NetlinkMessage<XfrmMessage>, String>, usize)> {
    let rest = buf.get(off..)?;
    let head = rest.get(..16)?;
    let len = u32::from_ne_bytes(head.get(..4)?.try_into().ok()?) as usize;
    let kind = u16::from_ne_bytes(head.get(4..6)?.try_into().ok()?);
    if len < 16 || len > rest.len() {
        return None;
    }
    let next = off.checked_add((len + 3) & !3)?;
    let min_payload = match kind {
        // NLMSG_ERROR: error code and the request's header.
        2 => 20,
        // NEWSA, UPDSA: xfrm_usersa_info.
        0x10 | 0x1a => 224,
        // ACQUIRE: xfrm_user_acquire.
        0x17 => 280,
        // EXPIRE: xfrm_user_expire.
        0x18 => 232,
        _ => return Some((Err(format!("message type {kind} not read")), next)),
    };
    if len - 16 < min_payload {
        return Some((Err(format!("message type {kind} too short")), next));
    }
    let msg = rest.get(..len)?;
    let parsed = std::panic::catch_unwind(|| NetlinkMessage::<XfrmMessage>::deserialize(msg));
    Some((
        match parsed {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("message type {kind} malformed")),
        },
        next,
    ))
}

/// What a netlink request is called in errors.
fn op_name(msg: &XfrmMessage) -> &'static str {
    match msg {
        XfrmMessage::AddSa(_) => "XFRM_MSG_NEWSA",
        XfrmMessage::UpdateSa(_) => "XFRM_MSG_UPDSA",
        XfrmMessage::DeleteSa(_) => "XFRM_MSG_DELSA",
        XfrmMessage::GetSa(_) => "XFRM_MSG_GETSA",
        XfrmMessage::AllocSpi(_) => "XFRM_MSG_ALLOCSPI",
        XfrmMessage::AddPolicy(_) => "XFRM_MSG_NEWPOLICY",
        XfrmMessage::UpdatePolicy(_) => "XFRM_MSG_UPDPOLICY",
        XfrmMessage::DeletePolicy(_) => "XFRM_MSG_DELPOLICY",
        _ => "XFRM request",
    }
}

fn family(ip: IpAddr) -> u16 {
    if ip.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

fn alg_name<const N: usize>(name: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = b;
    }
    out
}

/// The IP protocol of an SA: `IPPROTO_ESP` (50) or `IPPROTO_AH` (51).
pub fn ip_proto(protocol: IpsecProtocol) -> u8 {
    match protocol {
        IpsecProtocol::Esp => IPPROTO_ESP,
        IpsecProtocol::Ah => IPPROTO_AH,
    }
}

fn bits(len: usize) -> Result<u32, KernelError> {
    len.checked_mul(8)
        .and_then(|b| u32::try_from(b).ok())
        .ok_or(KernelError::Unsupported("key too long"))
}

/// The kernel's name for an encryption transform, and whether it is an AEAD (with its ICV in
/// bits). The key material passed with it includes the salt or nonce.
pub fn encr_name(encr: EncrAlg) -> Result<(&'static str, Option<u32>), KernelError> {
    Ok(match encr {
        EncrAlg::AesGcm { icv_len, .. } => ("rfc4106(gcm(aes))", Some(bits(icv_len)?)),
        EncrAlg::AesCcm { icv_len, .. } => ("rfc4309(ccm(aes))", Some(bits(icv_len)?)),
        EncrAlg::ChaCha20Poly1305 => ("rfc7539esp(chacha20,poly1305)", Some(128)),
        EncrAlg::AesCbc { .. } => ("cbc(aes)", None),
        EncrAlg::AesCtr { .. } => ("rfc3686(ctr(aes))", None),
        EncrAlg::TripleDesCbc => ("cbc(des3_ede)", None),
        _ => {
            return Err(KernelError::Unsupported(
                "encryption transform unknown to XFRM",
            ))
        }
    })
}

/// The kernel's name for an integrity transform and its truncation in bits.
pub fn integ_name(integ: IntegAlg) -> Result<(&'static str, u32), KernelError> {
    Ok(match integ {
        IntegAlg::HmacMd5_96 => ("hmac(md5)", 96),
        IntegAlg::HmacSha1_96 => ("hmac(sha1)", 96),
        IntegAlg::HmacSha256_128 => ("hmac(sha256)", 128),
        IntegAlg::HmacSha384_192 => ("hmac(sha384)", 192),
        IntegAlg::HmacSha512_256 => ("hmac(sha512)", 256),
        IntegAlg::AesXcbc96 => ("xcbc(aes)", 96),
        IntegAlg::AesCmac96 => ("cmac(aes)", 96),
        _ => {
            return Err(KernelError::Unsupported(
                "integrity transform unknown to XFRM",
            ))
        }
    })
}

/// The attributes that carry an SA's algorithms and keys: for ESP the cipher (an AEAD, or with
/// the integrity algorithm), for AH (`protocol` AH, no cipher) `XFRMA_ALG_AUTH_TRUNC` alone.
fn alg_attrs(
    protocol: IpsecProtocol,
    encr: Option<EncrAlg>,
    integ: Option<IntegAlg>,
    keys: &(Secret, Secret),
) -> Result<Vec<XfrmAttrs>, KernelError> {
    let mut attrs = Vec::new();
    let encr = match (protocol, encr, integ) {
        (IpsecProtocol::Esp, Some(encr), _) => encr,
        (IpsecProtocol::Ah, None, Some(integ)) => {
            attrs.push(auth_trunc(integ, &keys.1)?);
            return Ok(attrs);
        }
        (IpsecProtocol::Esp, None, _) => {
            return Err(KernelError::Unsupported("an ESP SA without a cipher"))
        }
        (IpsecProtocol::Ah, Some(_), _) => {
            return Err(KernelError::Unsupported("an AH SA with a cipher"))
        }
        (IpsecProtocol::Ah, None, None) => {
            return Err(KernelError::Unsupported(
                "an AH SA without integrity algorithm",
            ))
        }
    };
    let (name, icv) = encr_name(encr)?;
    match icv {
        Some(icv) => attrs.push(XfrmAttrs::EncryptionAlgAead(AlgAead {
            alg_name: alg_name(name),
            alg_key_len: bits(keys.0.len())?,
            alg_icv_len: icv,
            alg_key: keys.0.expose().to_vec(),
        })),
        None => attrs.push(XfrmAttrs::EncryptionAlg(Alg {
            alg_name: alg_name(name),
            alg_key_len: bits(keys.0.len())?,
            alg_key: keys.0.expose().to_vec(),
        })),
    }
    if let Some(integ) = integ {
        attrs.push(auth_trunc(integ, &keys.1)?);
    } else if icv.is_none() {
        return Err(KernelError::Unsupported(
            "a non-AEAD cipher without integrity",
        ));
    }
    Ok(attrs)
}

/// `XFRMA_ALG_AUTH_TRUNC`: the integrity algorithm, its key and its truncation.
fn auth_trunc(integ: IntegAlg, key: &Secret) -> Result<XfrmAttrs, KernelError> {
    let (name, trunc) = integ_name(integ)?;
    Ok(XfrmAttrs::AuthenticationAlgTrunc(AlgAuth {
        alg_name: alg_name(name),
        alg_key_len: bits(key.len())?,
        alg_trunc_len: trunc,
        alg_key: key.expose().to_vec(),
    }))
}

/// Overwrites every key the attributes carry.
fn wipe_attrs(attrs: &mut [XfrmAttrs]) {
    for a in attrs {
        match a {
            XfrmAttrs::EncryptionAlgAead(x) => x.alg_key.zeroize(),
            XfrmAttrs::EncryptionAlg(x) => x.alg_key.zeroize(),
            XfrmAttrs::AuthenticationAlgTrunc(x) => x.alg_key.zeroize(),
            XfrmAttrs::AuthenticationAlg(x) => x.alg_key.zeroize(),
            _ => {}
        }
    }
}

fn wipe_message(msg: &mut XfrmMessage) {
    match msg {
        XfrmMessage::AddSa(m) | XfrmMessage::UpdateSa(m) => wipe_attrs(&mut m.nlas),
        _ => {}
    }
}

/// Splits `start..=end` (numbers `width` bits wide) into the fewest aligned blocks, as
/// (first value, number of fixed leading bits).
fn blocks(start: u128, end: u128, width: u32) -> Vec<(u128, u8)> {
    let mut out = Vec::new();
    let mut cur = start;
    while cur <= end {
        let mut chosen = None;
        for fixed in 0..=width {
            let free = width - fixed;
            let mask = if free >= 128 {
                u128::MAX
            } else {
                (1u128 << free) - 1
            };
            if cur & mask == 0 && cur.checked_add(mask).is_some_and(|last| last <= end) {
                chosen = Some((fixed, mask));
                break;
            }
        }
        let Some((fixed, mask)) = chosen else { break };
        out.push((cur, u8::try_from(fixed).unwrap_or(u8::MAX)));
        match cur.checked_add(mask).and_then(|l| l.checked_add(1)) {
            Some(next) => cur = next,
            None => break,
        }
    }
    out
}

fn ip_bits(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn ip_from(bits: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(bits.into())
    } else {
        IpAddr::V4(u32::try_from(bits).unwrap_or(0).into())
    }
}

/// One side of an XFRM selector: a prefix, a protocol and a port block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SelSide {
    addr: IpAddr,
    plen: u8,
    port: u16,
    port_mask: u16,
}

/// A traffic selector as XFRM selector sides (prefix x port block), with its protocol.
fn ts_sides(ts: &Ts) -> (u8, Vec<SelSide>) {
    let (s, width) = ip_bits(ts.start);
    let (e, _) = ip_bits(ts.end);
    let v6 = width == 128;
    let ports = blocks(u128::from(ts.start_port), u128::from(ts.end_port), 16);
    let mut out = Vec::new();
    for (addr, plen) in blocks(s, e, width) {
        for &(port, fixed) in &ports {
            let port_mask = if fixed == 0 {
                0
            } else {
                u16::MAX << (16 - u32::from(fixed))
            };
            out.push(SelSide {
                addr: ip_from(addr, v6),
                plen,
                port: u16::try_from(port).unwrap_or(0),
                port_mask,
            });
        }
    }
    (ts.protocol, out)
}

/// An XFRM policy's identity: direction and selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyKey {
    dir: u8,
    proto: u8,
    src: SelSide,
    dst: SelSide,
}

impl PolicyKey {
    fn selector(&self) -> Selector {
        let mut sel = Selector::default();
        sel.source_prefix(&self.src.addr, self.src.plen);
        sel.destination_prefix(&self.dst.addr, self.dst.plen);
        sel.family = family(self.src.addr);
        sel.proto = self.proto;
        sel.sport = self.src.port;
        sel.sport_mask = self.src.port_mask;
        sel.dport = self.dst.port;
        sel.dport_mask = self.dst.port_mask;
        sel
    }

    fn priority(&self) -> u32 {
        let mut p = PRIORITY_BASE - (u32::from(self.src.plen) + u32::from(self.dst.plen)) * 64;
        if self.proto != 0 {
            p -= 32;
        }
        if self.src.port_mask != 0 {
            p -= 16;
        }
        if self.dst.port_mask != 0 {
            p -= 16;
        }
        p
    }
}

/// The policies (out, in, and fwd in tunnel mode) for a child's selectors.
fn policy_keys(local: &[Ts], remote: &[Ts], mode: Mode) -> Result<Vec<PolicyKey>, KernelError> {
    let mut out = Vec::new();
    for l in local {
        for r in remote {
            if l.start.is_ipv4() != r.start.is_ipv4() {
                continue;
            }
            let (lp, lsides) = ts_sides(l);
            let (rp, rsides) = ts_sides(r);
            let proto = match (lp, rp) {
                (0, p) | (p, 0) => p,
                (a, b) if a == b => a,
                _ => continue,
            };
            for ls in &lsides {
                for rs in &rsides {
                    if out.len() >= MAX_SELECTOR_PAIRS * 3 {
                        return Err(KernelError::Unsupported(
                            "traffic selectors need more than 256 XFRM selector pairs",
                        ));
                    }
                    out.push(PolicyKey {
                        dir: XFRM_POLICY_OUT,
                        proto,
                        src: *ls,
                        dst: *rs,
                    });
                    out.push(PolicyKey {
                        dir: XFRM_POLICY_IN,
                        proto,
                        src: *rs,
                        dst: *ls,
                    });
                    if mode == Mode::Tunnel {
                        out.push(PolicyKey {
                            dir: XFRM_POLICY_FWD,
                            proto,
                            src: *rs,
                            dst: *ls,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The kernel's (soft, hard) lifetimes in seconds for a Child SA whose engine timers are
/// `rekey_in` and `expire_in`: each a margin later (0: no limit), and hard after soft.
fn kernel_lifetimes(
    rekey_in: Option<std::time::Duration>,
    expire_in: Option<std::time::Duration>,
) -> (u64, u64) {
    let soft = rekey_in.map_or(0, |d| d.as_secs() + KERNEL_LIFETIME_MARGIN);
    let hard = expire_in.map_or(0, |d| d.as_secs() + KERNEL_LIFETIME_MARGIN);
    if soft != 0 && hard != 0 && hard <= soft {
        (soft, soft + 1)
    } else {
        (soft, hard)
    }
}

/// An installed Child SA and what is needed to move or remove it.
struct Entry {
    info: InstalledSa,
    /// The outbound state waits for the deletion of the Child SA with this inbound SPI
    /// ([`ChildSaInstall::outbound_after_delete`]).
    out_pending: Option<u32>,
    /// Kernel soft and hard lifetimes in seconds (0: none), see [`kernel_lifetimes`].
    lifetime: (u64, u64),
    reqid: u32,
    policies: Vec<PolicyKey>,
    protocol: IpsecProtocol,
    /// `None` for AH.
    encr: Option<EncrAlg>,
    integ: Option<IntegAlg>,
    keys_in: (Secret, Secret),
    keys_out: (Secret, Secret),
}

/// What one policy currently says and who needs it.
struct PolicyState {
    owners: usize,
    local: IpAddr,
    remote: IpAddr,
    reqid: u32,
    mode: Mode,
    /// The protocol of the template.
    protocol: IpsecProtocol,
}

/// A netlink XFRM socket for requests, each answered before the next is sent.
struct Netlink {
    sock: Socket,
    seq: Cell<u32>,
}

impl Netlink {
    fn open() -> Result<Self, KernelError> {
        let sock = open_socket()?;
        sock.set_non_blocking(true).map_err(|e| KernelError::Os {
            what: "netlink O_NONBLOCK",
            errno: e.raw_os_error().unwrap_or(0),
        })?;
        Ok(Self {
            sock,
            seq: Cell::new(1),
        })
    }

    /// Sends one request and collects its answer: the reply message, if the request has one,
    /// and the acknowledgement.
    fn request(
        &self,
        mut msg: XfrmMessage,
        extra_flags: u16,
    ) -> Result<Option<XfrmMessage>, KernelError> {
        let op = op_name(&msg);
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
        header.sequence_number = seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg.clone()));
        wipe_message(&mut msg);
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        if let NetlinkPayload::InnerMessage(m) = &mut nl.payload {
            wipe_message(m);
        }
        let sent = self.sock.send(&buf, 0);
        buf.zeroize();
        sent.map_err(|e| KernelError::Os {
            what: op,
            errno: e.raw_os_error().unwrap_or(0),
        })?;
        let mut reply = None;
        // Bounded: each datagram is read at most once and the kernel queued them all already.
        for _ in 0..64 {
            let mut rbuf: Vec<u8> = Vec::with_capacity(65536);
            if let Err(e) = self.sock.recv(&mut rbuf, 0) {
                return Err(KernelError::Os {
                    what: op,
                    errno: e.raw_os_error().unwrap_or(0),
                });
            }
            let mut off = 0usize;
            while let Some((parsed, next)) = next_message(&rbuf, off) {
                off = next;
                let Ok(parsed) = parsed else { continue };
                if parsed.header.sequence_number != seq {
                    continue;
                }
                match parsed.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(reply),
                            Some(code) => Err(KernelError::Os {
                                what: op,
                                errno: -code.get(),
                            }),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => reply = Some(m),
                    _ => {}
                }
            }
        }
        Err(KernelError::Malformed(format!("{op}: no acknowledgement")))
    }
}

/// Inbound SPIs from the kernel (`XFRM_MSG_ALLOCSPI`), for the engine
/// ([`ike_proto::Endpoint::set_spi_allocator`]). The kernel keeps a larval state with the
/// SPI (so that nobody else gets it) until the SA is installed over it with `XFRM_MSG_UPDSA`,
/// or for `net.core.xfrm_acq_expires` seconds (30 by default) if the negotiation fails.
pub struct XfrmSpiAllocator {
    nl: Netlink,
}

impl std::fmt::Debug for XfrmSpiAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("XfrmSpiAllocator")
    }
}

impl XfrmSpiAllocator {
    /// Opens its own netlink socket.
    pub fn new() -> Result<Self, KernelError> {
        Ok(Self {
            nl: Netlink::open()?,
        })
    }

    /// Reserves an inbound ESP or AH SPI for traffic from `remote` to `local`.
    pub fn alloc(
        &self,
        protocol: IpsecProtocol,
        local: IpAddr,
        remote: IpAddr,
    ) -> Result<u32, KernelError> {
        let mut spi = UserSpiInfo::default();
        spi.info.source(&remote);
        spi.info.destination(&local);
        spi.info.family = family(local);
        spi.info.id.proto = ip_proto(protocol);
        spi.min = SPI_MIN;
        spi.max = SPI_MAX;
        match self.nl.request(
            XfrmMessage::AllocSpi(AllocSpiMessage {
                spi_info: spi,
                nlas: Vec::new(),
            }),
            0,
        )? {
            Some(XfrmMessage::AddSa(m)) | Some(XfrmMessage::UpdateSa(m)) => {
                Ok(m.user_sa_info.id.spi)
            }
            _ => Err(KernelError::Malformed(
                "XFRM_MSG_ALLOCSPI answered without an SA".into(),
            )),
        }
    }
}

impl ike_proto::ipsec::SpiAllocator for XfrmSpiAllocator {
    fn alloc_spi(
        &mut self,
        protocol: IpsecProtocol,
        local: IpAddr,
        remote: IpAddr,
    ) -> Result<u32, String> {
        self.alloc(protocol, local, remote).map_err(|e| {
            tracing::error!(target: "kernel", "allocating an {protocol} SPI for {remote} -> {local}: {e}");
            e.to_string()
        })
    }
}

/// The `xfrm` backend.
pub struct XfrmBackend {
    nl: Netlink,
    sas: BTreeMap<u32, Entry>,
    policies: BTreeMap<PolicyKey, PolicyState>,
    /// reqid of each (connection, child).
    reqids: BTreeMap<(String, String), u32>,
    next_reqid: u32,
    /// Policies held by each trapped (connection, child).
    traps: BTreeMap<(String, String), Vec<PolicyKey>>,
}

impl std::fmt::Debug for XfrmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XfrmBackend")
            .field("sas", &self.sas.len())
            .field("policies", &self.policies.len())
            .finish()
    }
}

fn open_socket() -> Result<Socket, KernelError> {
    let os = |what: &'static str, e: std::io::Error| KernelError::Os {
        what,
        errno: e.raw_os_error().unwrap_or(0),
    };
    let mut sock = Socket::new(NETLINK_XFRM).map_err(|e| os("socket(NETLINK_XFRM)", e))?;
    sock.bind_auto().map_err(|e| os("bind(NETLINK_XFRM)", e))?;
    Ok(sock)
}

impl XfrmBackend {
    /// Opens the netlink socket. Fails where there is no XFRM (or no permission).
    pub fn new() -> Result<Self, KernelError> {
        Ok(Self {
            nl: Netlink::open()?,
            sas: BTreeMap::new(),
            policies: BTreeMap::new(),
            reqids: BTreeMap::new(),
            next_reqid: 1,
            traps: BTreeMap::new(),
        })
    }

    fn request(
        &self,
        msg: XfrmMessage,
        extra_flags: u16,
    ) -> Result<Option<XfrmMessage>, KernelError> {
        self.nl.request(msg, extra_flags)
    }

    fn reqid(&mut self, connection: &str, child: &str) -> u32 {
        let key = (connection.to_owned(), child.to_owned());
        if let Some(r) = self.reqids.get(&key) {
            return *r;
        }
        let r = self.next_reqid;
        self.next_reqid = self.next_reqid.wrapping_add(1).max(1);
        self.reqids.insert(key, r);
        r
    }

    /// Adds (or replaces) one state.
    #[allow(clippy::too_many_arguments)]
    fn add_state(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        protocol: IpsecProtocol,
        spi: u32,
        mode: Mode,
        reqid: u32,
        algs: Vec<XfrmAttrs>,
        encap: bool,
        update: bool,
        lifetime: (u64, u64),
    ) -> Result<(), KernelError> {
        let mut info = UserSaInfo::default();
        info.source(&src.ip());
        info.destination(&dst.ip());
        info.id.spi = spi;
        info.id.proto = ip_proto(protocol);
        info.family = family(dst.ip());
        info.selector.family = info.family;
        info.mode = match mode {
            Mode::Tunnel => XFRM_MODE_TUNNEL,
            Mode::Transport => XFRM_MODE_TRANSPORT,
        };
        info.reqid = reqid;
        info.replay_window = REPLAY_WINDOW;
        // Seconds after the add; 0 means no limit.
        (
            info.lifetime_cfg.soft_add_expires_seconds,
            info.lifetime_cfg.hard_add_expires_seconds,
        ) = lifetime;
        let mut nlas = algs;
        if encap {
            nlas.push(XfrmAttrs::EncapsulationTemplate(EncapTmpl {
                encap_type: ENCAP_ESPINUDP,
                encap_sport: src.port(),
                encap_dport: dst.port(),
                encap_oa: Address::default(),
            }));
        }
        let msg = ModifyMessage {
            user_sa_info: info,
            nlas,
        };
        if update {
            self.request(XfrmMessage::UpdateSa(msg), 0).map(|_| ())
        } else {
            self.request(XfrmMessage::AddSa(msg), NLM_F_CREATE | NLM_F_EXCL)
                .map(|_| ())
        }
    }

    fn delete_state(
        &self,
        dst: IpAddr,
        protocol: IpsecProtocol,
        spi: u32,
    ) -> Result<(), KernelError> {
        let mut id = UserSaId::default();
        id.destination(&dst);
        id.spi = spi;
        id.proto = ip_proto(protocol);
        self.request(
            XfrmMessage::DeleteSa(DelGetMessage {
                user_sa_id: id,
                nlas: Vec::new(),
            }),
            0,
        )
        .map(|_| ())
    }

    /// Bytes, packets and use time (Unix seconds, 0: never) the kernel keeps of a state.
    fn state_counters(
        &self,
        dst: IpAddr,
        protocol: IpsecProtocol,
        spi: u32,
    ) -> Option<(u64, u64, u64)> {
        let mut id = UserSaId::default();
        id.destination(&dst);
        id.spi = spi;
        id.proto = ip_proto(protocol);
        match self.request(
            XfrmMessage::GetSa(DelGetMessage {
                user_sa_id: id,
                nlas: Vec::new(),
            }),
            0,
        ) {
            Ok(Some(XfrmMessage::AddSa(m))) | Ok(Some(XfrmMessage::UpdateSa(m))) => Some((
                m.user_sa_info.lifetime_cur.bytes,
                m.user_sa_info.lifetime_cur.packets,
                m.user_sa_info.lifetime_cur.use_time,
            )),
            _ => None,
        }
    }

    /// Installs or updates one policy with a template towards `remote`.
    fn put_policy(&self, key: &PolicyKey, st: &PolicyState) -> Result<(), KernelError> {
        let info = UserPolicyInfo {
            selector: key.selector(),
            priority: key.priority(),
            direction: key.dir,
            action: XFRM_POLICY_ALLOW,
            ..Default::default()
        };
        let mut tmpl = UserTemplate::default();
        let (src, dst) = if key.dir == XFRM_POLICY_OUT {
            (st.local, st.remote)
        } else {
            (st.remote, st.local)
        };
        tmpl.source(&src);
        tmpl.destination(&dst);
        tmpl.protocol(ip_proto(st.protocol));
        tmpl.mode(match st.mode {
            Mode::Tunnel => XFRM_MODE_TUNNEL,
            Mode::Transport => XFRM_MODE_TRANSPORT,
        });
        tmpl.reqid(st.reqid);
        self.request(
            XfrmMessage::UpdatePolicy(PolicyModify {
                user_policy_info: info,
                nlas: vec![XfrmAttrs::Template(vec![tmpl])],
            }),
            0,
        )
        .map(|_| ())
    }

    fn delete_policy(&self, key: &PolicyKey) -> Result<(), KernelError> {
        let id = UserPolicyId {
            selector: key.selector(),
            direction: key.dir,
            ..Default::default()
        };
        self.request(
            XfrmMessage::DeletePolicy(PolicyDelGet {
                user_policy_id: id,
                nlas: Vec::new(),
            }),
            0,
        )
        .map(|_| ())
    }

    /// Takes a reference on each policy, installing or updating it.
    fn acquire_policies(
        &mut self,
        keys: &[PolicyKey],
        local: IpAddr,
        remote: IpAddr,
        reqid: u32,
        mode: Mode,
        protocol: IpsecProtocol,
    ) -> Result<(), KernelError> {
        for (i, key) in keys.iter().enumerate() {
            let owners = self.policies.get(key).map_or(0, |p| p.owners);
            let st = PolicyState {
                owners: owners + 1,
                local,
                remote,
                reqid,
                mode,
                protocol,
            };
            if let Err(e) = self.put_policy(key, &st) {
                let done: Vec<PolicyKey> = keys.iter().take(i).copied().collect();
                self.release_policies(&done);
                return Err(e);
            }
            self.policies.insert(*key, st);
        }
        Ok(())
    }

    /// Drops a reference on each policy; the last one removes it from the kernel.
    fn release_policies(&mut self, keys: &[PolicyKey]) {
        for key in keys {
            let remove = match self.policies.get_mut(key) {
                Some(p) if p.owners > 1 => {
                    p.owners -= 1;
                    false
                }
                Some(_) => true,
                None => false,
            };
            if remove {
                self.policies.remove(key);
                if let Err(e) = self.delete_policy(key) {
                    tracing::warn!(target: "kernel", "removing a policy: {e}");
                }
            }
        }
    }

    /// Installs both states (the outbound one unless it waits, see `Entry::out_pending`). The
    /// inbound one replaces the larval state `XFRM_MSG_ALLOCSPI`
    /// left for its SPI (`XFRM_MSG_UPDSA`); when there is none (the SPI did not come from the
    /// kernel, or the reservation expired) it is added.
    fn install_states(&mut self, e: &Entry) -> Result<(), KernelError> {
        let i = &e.info;
        let encap = i.encap.is_some();
        let inbound = |this: &Self, update: bool| -> Result<(), KernelError> {
            this.add_state(
                i.remote,
                i.local,
                e.protocol,
                i.spi_in,
                i.mode,
                e.reqid,
                alg_attrs(e.protocol, e.encr, e.integ, &e.keys_in)?,
                encap,
                update,
                e.lifetime,
            )
        };
        match inbound(self, true) {
            Err(KernelError::Os { errno, .. }) if errno == libc::ESRCH => inbound(self, false)?,
            other => other?,
        }
        if e.out_pending.is_some() {
            return Ok(());
        }
        if let Err(err) = self.install_outbound(e) {
            let _ = self.delete_state(i.local.ip(), e.protocol, i.spi_in);
            return Err(err);
        }
        Ok(())
    }

    fn install_outbound(&self, e: &Entry) -> Result<(), KernelError> {
        let i = &e.info;
        self.add_state(
            i.local,
            i.remote,
            e.protocol,
            i.spi_out,
            i.mode,
            e.reqid,
            alg_attrs(e.protocol, e.encr, e.integ, &e.keys_out)?,
            i.encap.is_some(),
            false,
            e.lifetime,
        )
    }
}

impl SaBackend for XfrmBackend {
    fn name(&self) -> &'static str {
        "xfrm"
    }

    fn install(&mut self, sa: &ChildSaInstall) -> Result<(), KernelError> {
        let reqid = self.reqid(&sa.connection, &sa.child);
        let policies = policy_keys(&sa.local_ts, &sa.remote_ts, sa.mode)?;
        let entry = Entry {
            info: InstalledSa::new(sa),
            reqid,
            policies,
            out_pending: sa
                .outbound_after_delete
                .filter(|old| self.sas.contains_key(old)),
            lifetime: kernel_lifetimes(sa.rekey_in, sa.expire_in),
            protocol: sa.protocol,
            encr: sa.encr,
            integ: sa.integ,
            keys_in: sa.keys_in.clone(),
            keys_out: sa.keys_out.clone(),
        };
        if let Err(e) = self.install_states(&entry) {
            // Give back the SPI that XFRM_MSG_ALLOCSPI reserved (the larval state).
            let _ = self.delete_state(sa.local.ip(), sa.protocol, sa.spi_in);
            return Err(e);
        }
        if let Err(e) = self.acquire_policies(
            &entry.policies,
            sa.local.ip(),
            sa.remote.ip(),
            reqid,
            sa.mode,
            sa.protocol,
        ) {
            let _ = self.delete_state(sa.local.ip(), sa.protocol, sa.spi_in);
            let _ = self.delete_state(sa.remote.ip(), sa.protocol, sa.spi_out);
            return Err(e);
        }
        let mut encap = match sa.encap {
            Some((l, r)) => format!(" udp-encap {l}->{r}"),
            None => String::new(),
        };
        if let Some(old) = entry.out_pending {
            encap.push_str(&format!(", outbound after {old:08x} is deleted"));
        }
        tracing::info!(
            target: "kernel",
            "{}/{}: installed SAs in {:08x} out {:08x} reqid {} {} {} {} === {} {} -> {}{}, {} policies",
            sa.connection, sa.child, sa.spi_in, sa.spi_out, reqid, mode_word(sa.mode),
            sa.proposal, ts_list(&sa.local_ts), ts_list(&sa.remote_ts), sa.local, sa.remote,
            encap, entry.policies.len(),
        );
        self.sas.insert(sa.spi_in, entry);
        Ok(())
    }

    fn delete(&mut self, spi_in: u32) -> Result<(), KernelError> {
        let entry = self
            .sas
            .remove(&spi_in)
            .ok_or(KernelError::UnknownSa(spi_in))?;
        // Make before break: a rekey's new outbound state that waited for this deletion goes in
        // before the old one goes out.
        let waiting: Vec<u32> = self
            .sas
            .iter()
            .filter(|(_, e)| e.out_pending == Some(spi_in))
            .map(|(k, _)| *k)
            .collect();
        for k in waiting {
            if let Some(e) = self.sas.get(&k) {
                let r = self.install_outbound(e);
                let i = &e.info;
                match r {
                    Ok(()) => tracing::info!(
                        target: "kernel",
                        "{}/{}: outbound SA {:08x} installed (the rekeyed SA is going)",
                        i.connection, i.child, i.spi_out,
                    ),
                    Err(err) => tracing::error!(
                        target: "kernel",
                        "{}/{}: installing outbound SA {:08x}: {err}",
                        i.connection, i.child, i.spi_out,
                    ),
                }
            }
            if let Some(e) = self.sas.get_mut(&k) {
                e.out_pending = None;
            }
        }
        let i = &entry.info;
        self.release_policies(&entry.policies);
        let r_in = self.delete_state(i.local.ip(), entry.protocol, i.spi_in);
        let r_out = self.delete_state(i.remote.ip(), entry.protocol, i.spi_out);
        tracing::info!(
            target: "kernel",
            "{}/{}: deleted SAs in {:08x} out {:08x}",
            i.connection, i.child, i.spi_in, i.spi_out,
        );
        // A state the kernel already removed (hard expiry) is not an error here.
        for r in [r_in, r_out] {
            match r {
                Err(KernelError::Os { errno, .. }) if errno == libc::ESRCH => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn update_address(&mut self, spis_in: &[u32], local: SocketAddr, remote: SocketAddr) {
        for spi in spis_in {
            let Some(mut entry) = self.sas.remove(spi) else {
                continue;
            };
            let old = (entry.info.local, entry.info.remote);
            let _ = self.delete_state(old.0.ip(), entry.protocol, entry.info.spi_in);
            let _ = self.delete_state(old.1.ip(), entry.protocol, entry.info.spi_out);
            entry.info.local = local;
            entry.info.remote = remote;
            entry.info.encap = Some((local.port(), remote.port()));
            let reqid = entry.reqid;
            let mode = entry.info.mode;
            let protocol = entry.protocol;
            match self.install_states(&entry) {
                Ok(()) => {
                    let keys = entry.policies.clone();
                    // Re-point the templates (tunnel mode names the peer's address).
                    self.release_policies(&keys);
                    if let Err(e) =
                        self.acquire_policies(&keys, local.ip(), remote.ip(), reqid, mode, protocol)
                    {
                        tracing::error!(target: "kernel", "{}/{}: policies after move: {e}", entry.info.connection, entry.info.child);
                    }
                    tracing::info!(
                        target: "kernel",
                        "{}/{}: moved SAs in {:08x} out {:08x} to {} -> {}",
                        entry.info.connection, entry.info.child, entry.info.spi_in,
                        entry.info.spi_out, local, remote,
                    );
                    self.sas.insert(*spi, entry);
                }
                Err(e) => {
                    tracing::error!(target: "kernel", "{}/{}: re-installing after move: {e}", entry.info.connection, entry.info.child);
                    self.release_policies(&entry.policies);
                }
            }
        }
    }

    fn get(&self, spi_in: u32) -> Option<InstalledSa> {
        let e = self.sas.get(&spi_in)?;
        let mut info = e.info.clone();
        let mut used = 0;
        if let Some((b, p, u)) = self.state_counters(info.local.ip(), e.protocol, info.spi_in) {
            info.bytes_in = b;
            info.packets_in = p;
            used = u;
        }
        if let Some((b, p, u)) = self.state_counters(info.remote.ip(), e.protocol, info.spi_out) {
            info.bytes_out = b;
            info.packets_out = p;
            used = used.max(u);
        }
        info.use_time = (used != 0).then_some(used);
        Some(info)
    }

    fn list(&self) -> Vec<InstalledSa> {
        self.sas.keys().filter_map(|spi| self.get(*spi)).collect()
    }

    fn spi_allocator(
        &self,
    ) -> Result<Option<Box<dyn ike_proto::ipsec::SpiAllocator>>, KernelError> {
        Ok(Some(Box::new(XfrmSpiAllocator::new()?)))
    }

    fn install_trap(&mut self, trap: &TrapPolicy) -> Result<(), KernelError> {
        let key = (trap.connection.clone(), trap.child.clone());
        if self.traps.contains_key(&key) {
            return Ok(());
        }
        let reqid = self.reqid(&trap.connection, &trap.child);
        // Only outbound policies trigger acquires; in/fwd come with the SAs.
        let keys: Vec<PolicyKey> = policy_keys(&trap.local_ts, &trap.remote_ts, trap.mode)?
            .into_iter()
            .filter(|k| k.dir == XFRM_POLICY_OUT)
            .collect();
        self.acquire_policies(
            &keys,
            trap.local,
            trap.remote,
            reqid,
            trap.mode,
            trap.protocol,
        )?;
        tracing::info!(
            target: "kernel",
            "{}/{}: trap installed reqid {} {} === {} ({} policies)",
            trap.connection, trap.child, reqid, ts_list(&trap.local_ts),
            ts_list(&trap.remote_ts), keys.len(),
        );
        self.traps.insert(key, keys);
        Ok(())
    }

    fn uninstall_trap(&mut self, connection: &str, child: &str) {
        if let Some(keys) = self
            .traps
            .remove(&(connection.to_owned(), child.to_owned()))
        {
            self.release_policies(&keys);
        }
    }

    fn trap_of_reqid(&self, reqid: u32) -> Option<(String, String)> {
        self.reqids
            .iter()
            .find(|(k, r)| **r == reqid && self.traps.contains_key(*k))
            .map(|(k, _)| k.clone())
    }

    fn child_of_spi(&self, spi: u32) -> Option<u32> {
        if self.sas.contains_key(&spi) {
            return Some(spi);
        }
        self.sas
            .values()
            .find(|e| e.info.spi_out == spi)
            .map(|e| e.info.spi_in)
    }
}

impl Drop for XfrmBackend {
    fn drop(&mut self) {
        let spis: Vec<u32> = self.sas.keys().copied().collect();
        for spi in spis {
            let _ = self.delete(spi);
        }
        let traps: Vec<(String, String)> = self.traps.keys().cloned().collect();
        for (c, ch) in traps {
            self.uninstall_trap(&c, &ch);
        }
    }
}

/// A netlink socket subscribed to the kernel's acquire and expire notifications.
pub struct XfrmMonitor {
    sock: Socket,
}

impl std::fmt::Debug for XfrmMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("XfrmMonitor")
    }
}

impl XfrmMonitor {
    /// Subscribes to `XFRMNLGRP_ACQUIRE` and `XFRMNLGRP_EXPIRE`.
    pub fn new() -> Result<Self, KernelError> {
        let sock = open_socket()?;
        for g in [
            netlink_packet_xfrm::XFRMNLGRP_ACQUIRE,
            netlink_packet_xfrm::XFRMNLGRP_EXPIRE,
        ] {
            sock.add_membership(g).map_err(|e| KernelError::Os {
                what: "NETLINK_ADD_MEMBERSHIP",
                errno: e.raw_os_error().unwrap_or(0),
            })?;
        }
        Ok(Self { sock })
    }

    /// Blocks until the kernel says something; returns what it said that matters to us.
    pub fn wait(&mut self) -> Result<Vec<KernelEvent>, KernelError> {
        let mut buf: Vec<u8> = Vec::with_capacity(65536);
        self.sock.recv(&mut buf, 0).map_err(|e| KernelError::Os {
            what: "recv(NETLINK_XFRM)",
            errno: e.raw_os_error().unwrap_or(0),
        })?;
        Ok(parse_events(&buf))
    }
}

fn addr_of(a: &Address, family: u16) -> IpAddr {
    if family == AF_INET6 {
        IpAddr::V6(a.to_ipv6())
    } else {
        IpAddr::V4(a.to_ipv4())
    }
}

/// The acquire and expire notifications in a datagram from the kernel; anything else (and
/// anything malformed) is skipped.
pub fn parse_events(buf: &[u8]) -> Vec<KernelEvent> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while let Some((msg, next)) = next_message(buf, off) {
        off = next;
        let Ok(msg) = msg else { continue };
        match msg.payload {
            NetlinkPayload::InnerMessage(XfrmMessage::Acquire(a)) => {
                // The policy's templates follow as XFRMA_TMPL; the first names our reqid.
                let reqid = a.nlas.iter().find_map(|n| match n {
                    XfrmAttrs::Template(t) => t.first().map(|t| t.reqid),
                    _ => None,
                });
                let acq = a.acquire;
                let fam = if acq.selector.family == 0 {
                    acq.policy.selector.family
                } else {
                    acq.selector.family
                };
                out.push(KernelEvent::Acquire {
                    reqid: reqid.unwrap_or(0),
                    src: addr_of(&acq.selector.saddr, fam),
                    dst: addr_of(&acq.selector.daddr, fam),
                });
            }
            NetlinkPayload::InnerMessage(XfrmMessage::Expire(e)) => {
                let s = e.expire.state;
                out.push(KernelEvent::Expire {
                    spi: s.id.spi,
                    dst: addr_of(&s.id.daddr, s.family),
                    reqid: s.reqid,
                    hard: e.expire.hard != 0,
                });
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(a: &str, b: &str, protocol: u8, ports: (u16, u16)) -> Ts {
        Ts {
            protocol,
            start_port: ports.0,
            end_port: ports.1,
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
        }
    }

    #[test]
    fn ranges_split_into_prefixes() {
        assert_eq!(blocks(0, u128::from(u32::MAX), 32), vec![(0, 0)]);
        assert_eq!(blocks(0, u128::MAX, 128), vec![(0, 0)]);
        assert_eq!(blocks(5, 5, 32), vec![(5, 32)]);
        // 10.0.0.1 - 10.0.0.6: .1/32, .2/31, .4/31, .6/32
        let base = u128::from(u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(
            blocks(base + 1, base + 6, 32),
            vec![
                (base + 1, 32),
                (base + 2, 31),
                (base + 4, 31),
                (base + 6, 32)
            ]
        );
        assert_eq!(blocks(1024, 65535, 16).len(), 6);
    }

    #[test]
    fn selectors_and_policies() {
        let all = (0, u16::MAX);
        let keys = policy_keys(
            &[ts("10.1.0.0", "10.1.255.255", 0, all)],
            &[ts("10.2.0.0", "10.2.0.255", 0, all)],
            Mode::Tunnel,
        )
        .unwrap();
        assert_eq!(keys.len(), 3);
        let out = keys.iter().find(|k| k.dir == XFRM_POLICY_OUT).unwrap();
        assert_eq!(out.src.plen, 16);
        assert_eq!(out.dst.plen, 24);
        assert_eq!(out.src.port_mask, 0);
        let sel = out.selector();
        assert_eq!(sel.family, AF_INET);
        assert_eq!(sel.prefixlen_s, 16);
        assert_eq!(sel.prefixlen_d, 24);
        // Transport mode has no fwd policy; a TCP port selector is exact.
        let keys = policy_keys(
            &[ts("10.1.0.1", "10.1.0.1", 6, (443, 443))],
            &[ts("10.2.0.1", "10.2.0.1", 0, all)],
            Mode::Transport,
        )
        .unwrap();
        assert_eq!(keys.len(), 2);
        let out = keys.iter().find(|k| k.dir == XFRM_POLICY_OUT).unwrap();
        assert_eq!(
            (out.proto, out.src.port, out.src.port_mask),
            (6, 443, 0xffff)
        );
        let inb = keys.iter().find(|k| k.dir == XFRM_POLICY_IN).unwrap();
        assert_eq!((inb.dst.port, inb.dst.port_mask), (443, 0xffff));
        assert!(out.priority() < PRIORITY_BASE - 64 * 64);
        // Mixed families are not paired; conflicting protocols neither.
        assert!(policy_keys(
            &[ts("10.1.0.1", "10.1.0.1", 0, all)],
            &[ts("::1", "::1", 0, all)],
            Mode::Tunnel
        )
        .unwrap()
        .is_empty());
        assert!(policy_keys(
            &[ts("10.1.0.1", "10.1.0.1", 6, all)],
            &[ts("10.2.0.1", "10.2.0.1", 17, all)],
            Mode::Tunnel
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn huge_selector_sets_are_refused() {
        // 10.0.0.1-10.0.0.254 x ports 1-65534 splits into far too many pairs.
        let r = policy_keys(
            &[ts("10.0.0.1", "10.0.0.254", 6, (1, 65534))],
            &[ts("10.2.0.1", "10.2.0.254", 6, (1, 65534))],
            Mode::Tunnel,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(
            encr_name(EncrAlg::AesGcm {
                key_bits: 128,
                icv_len: 16
            })
            .unwrap(),
            ("rfc4106(gcm(aes))", Some(128))
        );
        assert_eq!(
            integ_name(IntegAlg::HmacSha256_128).unwrap(),
            ("hmac(sha256)", 128)
        );
        let keys = (Secret::new(vec![7; 20]), Secret::new(Vec::new()));
        let mut attrs = alg_attrs(
            IpsecProtocol::Esp,
            Some(EncrAlg::AesGcm {
                key_bits: 128,
                icv_len: 16,
            }),
            None,
            &keys,
        )
        .unwrap();
        match &attrs[0] {
            XfrmAttrs::EncryptionAlgAead(a) => {
                assert_eq!(a.alg_key_len, 160);
                assert_eq!(a.alg_icv_len, 128);
                assert_eq!(&a.alg_name[..17], b"rfc4106(gcm(aes))");
            }
            other => panic!("{other:?}"),
        }
        wipe_attrs(&mut attrs);
        match &attrs[0] {
            XfrmAttrs::EncryptionAlgAead(a) => assert!(a.alg_key.iter().all(|b| *b == 0)),
            other => panic!("{other:?}"),
        }
        assert!(alg_attrs(
            IpsecProtocol::Esp,
            Some(EncrAlg::AesCbc { key_bits: 128 }),
            None,
            &keys
        )
        .is_err());
    }

    #[test]
    fn ah_states_carry_the_integrity_key_alone() {
        assert_eq!(ip_proto(IpsecProtocol::Esp), 50);
        assert_eq!(ip_proto(IpsecProtocol::Ah), 51);
        let keys = (Secret::new(Vec::new()), Secret::new(vec![9; 32]));
        let mut attrs = alg_attrs(
            IpsecProtocol::Ah,
            None,
            Some(IntegAlg::HmacSha256_128),
            &keys,
        )
        .unwrap();
        assert_eq!(attrs.len(), 1, "no encryption attribute: {attrs:?}");
        match &attrs[0] {
            XfrmAttrs::AuthenticationAlgTrunc(a) => {
                assert_eq!(&a.alg_name[..13], b"hmac(sha256)\0");
                assert_eq!(a.alg_key_len, 256);
                assert_eq!(a.alg_trunc_len, 128);
                assert_eq!(a.alg_key, vec![9; 32]);
            }
            other => panic!("{other:?}"),
        }
        wipe_attrs(&mut attrs);
        match &attrs[0] {
            XfrmAttrs::AuthenticationAlgTrunc(a) => assert!(a.alg_key.iter().all(|b| *b == 0)),
            other => panic!("{other:?}"),
        }
        // SHA-1 AH: 160-bit key, 96-bit ICV.
        let sha1 = (Secret::new(Vec::new()), Secret::new(vec![1; 20]));
        match &alg_attrs(IpsecProtocol::Ah, None, Some(IntegAlg::HmacSha1_96), &sha1).unwrap()[..] {
            [XfrmAttrs::AuthenticationAlgTrunc(a)] => {
                assert_eq!((a.alg_key_len, a.alg_trunc_len), (160, 96))
            }
            other => panic!("{other:?}"),
        }
        // Inconsistent requests are refused: AH with a cipher or without integrity, ESP
        // without a cipher.
        let gcm = EncrAlg::AesGcm {
            key_bits: 128,
            icv_len: 16,
        };
        assert!(alg_attrs(IpsecProtocol::Ah, Some(gcm), None, &keys).is_err());
        assert!(alg_attrs(IpsecProtocol::Ah, None, None, &keys).is_err());
        assert!(alg_attrs(
            IpsecProtocol::Esp,
            None,
            Some(IntegAlg::HmacSha256_128),
            &keys
        )
        .is_err());
    }

    #[test]
    fn kernel_lifetimes_back_up_the_engine() {
        use std::time::Duration;
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(kernel_lifetimes(None, None), (0, 0));
        assert_eq!(kernel_lifetimes(s(3000), s(3600)), (3030, 3630));
        assert_eq!(kernel_lifetimes(s(3000), None), (3030, 0));
        assert_eq!(kernel_lifetimes(None, s(60)), (0, 90));
        // A life shorter than the rekey time still ends after the soft limit.
        assert_eq!(kernel_lifetimes(s(100), s(50)), (130, 131));
    }

    #[test]
    fn garbage_from_the_kernel_is_skipped() {
        assert!(parse_events(&[]).is_empty());
        assert!(parse_events(&[0xff; 40]).is_empty());
        assert!(parse_events(&[16, 0, 0, 0, 0x17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_empty());
    }

    proptest::proptest! {
        /// Whatever follows a header of each type we read, parsing returns (no panic).
        #[test]
        fn parse_events_never_panics(
            kind in proptest::sample::select(vec![2u16, 0x10, 0x17, 0x18, 0x1a, 0x99]),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..700),
            claimed in 0usize..800,
        ) {
            let mut buf = Vec::new();
            buf.extend_from_slice(&(u32::try_from(claimed + 16).unwrap()).to_ne_bytes());
            buf.extend_from_slice(&kind.to_ne_bytes());
            buf.extend_from_slice(&[0; 10]);
            buf.extend_from_slice(&body);
            let _ = parse_events(&buf);
        }
    }
}
