//! What a Child SA is, for both IKE versions and for the kernel: its protocol (ESP or AH), mode,
//! traffic selectors, the keys and parameters handed to the kernel ([`ChildSaInstall`]), and
//! where inbound SPIs come from ([`SpiAllocator`]). `ike-kernel` depends on these types only.

use std::net::{IpAddr, SocketAddr};

use ike_crypto::Secret;
use ike_wire::v2::{ProtocolId, TrafficSelector};

use crate::v2::SaHandle;

/// A traffic selector owned by the configuration: a protocol, a port range and an address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ts {
    /// IP protocol, 0 for any.
    pub protocol: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start: IpAddr,
    /// Last address (same family).
    pub end: IpAddr,
}

impl Ts {
    /// `dynamic` in a configuration whose end has no single address (strongSwan's `dynamic`
    /// with `%any`): the address of that end of each SA, put in by [`Ts::resolve`] once the
    /// SA's addresses are known. It is the unspecified IPv4 address with the reserved protocol
    /// 255 and an empty port range, which no peer sends and no selector of ours matches.
    pub const fn dynamic() -> Self {
        Self {
            protocol: 255,
            start_port: 1,
            end_port: 0,
            start: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            end: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        }
    }

    /// Whether this is the [`Ts::dynamic`] placeholder.
    pub fn is_dynamic(&self) -> bool {
        *self == Self::dynamic()
    }

    /// `list` with [`Ts::dynamic`] replaced by `addr` (that end's address of the SA).
    pub fn resolve(list: &[Ts], addr: IpAddr) -> Vec<Ts> {
        list.iter()
            .map(|t| {
                if t.is_dynamic() {
                    Self {
                        protocol: 0,
                        start_port: 0,
                        end_port: 65535,
                        start: addr,
                        end: addr,
                    }
                } else {
                    *t
                }
            })
            .collect()
    }

    /// A subnet in CIDR notation (`10.88.1.0/24`, `fd00::/64`, or a single address), any
    /// protocol and port.
    pub fn cidr(text: &str) -> Option<Self> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a.parse::<IpAddr>().ok()?, Some(l.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let (start, end) = match addr {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                if len > 32 {
                    return None;
                }
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                let base = u32::from(a) & mask;
                (
                    IpAddr::from(base.to_be_bytes()),
                    IpAddr::from((base | !mask).to_be_bytes()),
                )
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                if len > 128 {
                    return None;
                }
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                let base = u128::from(a) & mask;
                (
                    IpAddr::from(base.to_be_bytes()),
                    IpAddr::from((base | !mask).to_be_bytes()),
                )
            }
        };
        Some(Self {
            protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
            start,
            end,
        })
    }

    /// The wire selector.
    pub fn to_wire(&self) -> TrafficSelector<'static> {
        TrafficSelector::Range {
            ip_protocol: self.protocol,
            start_port: self.start_port,
            end_port: self.end_port,
            start: self.start,
            end: self.end,
        }
    }

    /// A selector received on the wire (address ranges only).
    pub fn from_wire(ts: &TrafficSelector<'_>) -> Option<Self> {
        match ts {
            TrafficSelector::Range {
                ip_protocol,
                start_port,
                end_port,
                start,
                end,
            } => Some(Self {
                protocol: *ip_protocol,
                start_port: *start_port,
                end_port: *end_port,
                start: *start,
                end: *end,
            }),
            TrafficSelector::Other { .. } => None,
        }
    }

    /// The intersection of two selectors (RFC 7296 §2.9 narrowing), if not empty.
    pub fn intersect(&self, other: &Ts) -> Option<Ts> {
        let protocol = match (self.protocol, other.protocol) {
            (0, p) | (p, 0) => p,
            (a, b) if a == b => a,
            _ => return None,
        };
        let start_port = self.start_port.max(other.start_port);
        let end_port = self.end_port.min(other.end_port);
        if start_port > end_port {
            return None;
        }
        let (start, end) = match (self.start, self.end, other.start, other.end) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(c), IpAddr::V4(d)) => {
                let (s, e) = (
                    u32::from(a).max(u32::from(c)),
                    u32::from(b).min(u32::from(d)),
                );
                if s > e {
                    return None;
                }
                (IpAddr::from(s.to_be_bytes()), IpAddr::from(e.to_be_bytes()))
            }
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(c), IpAddr::V6(d)) => {
                let (s, e) = (
                    u128::from(a).max(u128::from(c)),
                    u128::from(b).min(u128::from(d)),
                );
                if s > e {
                    return None;
                }
                (IpAddr::from(s.to_be_bytes()), IpAddr::from(e.to_be_bytes()))
            }
            _ => return None,
        };
        Some(Ts {
            protocol,
            start_port,
            end_port,
            start,
            end,
        })
    }

    /// Whether `self` lies entirely within `outer`.
    pub fn within(&self, outer: &Ts) -> bool {
        outer.intersect(self).as_ref() == Some(self)
    }
}

impl std::fmt::Display for Ts {
    /// As strongSwan prints it: `10.88.1.0/24` when the range is a prefix, else `start-end`,
    /// then `[protocol/ports]` when not all; `dynamic` for the placeholder.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_dynamic() {
            return f.write_str("dynamic");
        }
        fn bits(ip: IpAddr) -> (u128, u32) {
            match ip {
                IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
                IpAddr::V6(a) => (u128::from(a), 128),
            }
        }
        let (s, width) = bits(self.start);
        let (e, width_e) = bits(self.end);
        let diff = s ^ e;
        let host_bits = 128 - diff.leading_zeros();
        let is_prefix = width == width_e
            && diff.checked_add(1).is_none_or(u128::is_power_of_two)
            && s & diff == 0
            && e & diff == diff;
        if is_prefix {
            write!(f, "{}/{}", self.start, width.saturating_sub(host_bits))?;
        } else {
            write!(f, "{}-{}", self.start, self.end)?;
        }
        if self.protocol != 0 || self.start_port != 0 || self.end_port != u16::MAX {
            if self.start_port == self.end_port {
                write!(f, "[{}/{}]", self.protocol, self.start_port)?;
            } else {
                write!(
                    f,
                    "[{}/{}-{}]",
                    self.protocol, self.start_port, self.end_port
                )?;
            }
        }
        Ok(())
    }
}

/// Tunnel or transport mode (RFC 7296 §1.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Tunnel mode.
    Tunnel,
    /// Transport mode (USE_TRANSPORT_MODE).
    Transport,
}

/// The IPsec protocol of a Child SA (RFC 7296 §3.3.1 protocol IDs 3 and 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpsecProtocol {
    /// ESP (RFC 4303): encryption and integrity, or an AEAD.
    Esp,
    /// AH (RFC 4302): integrity only.
    Ah,
}

impl IpsecProtocol {
    /// The protocol ID in SA, Notify and Delete payloads.
    pub fn to_wire(self) -> ProtocolId {
        match self {
            IpsecProtocol::Esp => ProtocolId::Esp,
            IpsecProtocol::Ah => ProtocolId::Ah,
        }
    }

    /// The protocol of a Child SA protocol ID (`None` for IKE and unknown ones).
    pub fn from_wire(id: ProtocolId) -> Option<Self> {
        match id {
            ProtocolId::Esp => Some(IpsecProtocol::Esp),
            ProtocolId::Ah => Some(IpsecProtocol::Ah),
            _ => None,
        }
    }

    /// The IP protocol number of its packets (IPPROTO_ESP 50, IPPROTO_AH 51).
    pub fn ip_protocol(self) -> u8 {
        match self {
            IpsecProtocol::Esp => 50,
            IpsecProtocol::Ah => 51,
        }
    }

    /// `esp` or `ah`.
    pub fn name(self) -> &'static str {
        match self {
            IpsecProtocol::Esp => "esp",
            IpsecProtocol::Ah => "ah",
        }
    }
}

impl std::fmt::Display for IpsecProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Keys and parameters of a Child SA, for the kernel.
///
/// ESP and AH differ in [`Self::protocol`] and [`Self::encr`]: an AH SA has no encryption
/// algorithm (`encr` is `None`, and the encryption halves of the key pairs are empty), an ESP SA
/// always has one.
#[derive(Debug)]
pub struct ChildSaInstall {
    /// ESP or AH.
    pub protocol: IpsecProtocol,
    /// What the peer said about ESP processing (TFC padding, non-first fragments).
    pub flags: ChildFlags,
    /// The IKE SA it belongs to.
    pub sa: SaHandle,
    /// The connection's name.
    pub connection: String,
    /// The child's name.
    pub child: String,
    /// Our inbound SPI (the peer sends with it).
    pub spi_in: u32,
    /// Our outbound SPI.
    pub spi_out: u32,
    /// The negotiated transforms in strongSwan's syntax: for ESP as they are
    /// (`aes128gcm16`, `aes256-sha256-modp2048`), for AH behind `ah:` (`ah:sha256-x25519`), so
    /// that logs and status show the protocol.
    pub proposal: String,
    /// Encryption algorithm: always for ESP, `None` for AH.
    pub encr: Option<ike_crypto::cipher::EncrAlg>,
    /// Integrity algorithm (none with an ESP AEAD; always for AH).
    pub integ: Option<ike_crypto::cipher::IntegAlg>,
    /// Inbound encryption key (with salt; empty for AH) then integrity key (empty with AEAD).
    pub keys_in: (Secret, Secret),
    /// Outbound encryption key (with salt; empty for AH) then integrity key (empty with AEAD).
    pub keys_out: (Secret, Secret),
    /// Our selectors (narrowed).
    pub local_ts: Vec<Ts>,
    /// The peer's selectors (narrowed).
    pub remote_ts: Vec<Ts>,
    /// Tunnel or transport.
    pub mode: Mode,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// ESP in UDP (RFC 3948) because a NAT was detected or faked: (our port, the peer's port),
    /// the ports of [`Self::local`] and [`Self::remote`]. `None`: plain ESP.
    pub encap: Option<(u16, u16)>,
    /// Install only the inbound SA now, and the outbound one when the Child SA with this
    /// inbound SPI is deleted: we answered the rekey of that SA, and the initiator installs
    /// our new inbound SA only when our answer arrives, so sending on the new SA before then
    /// loses packets. The initiator's Delete of the old SA (or its expiry) says it is time
    /// (strongSwan does the same).
    pub outbound_after_delete: Option<u32>,
    /// When the engine will rekey this Child SA (its `rekey_time` less jitter), from now;
    /// `None`: never.
    pub rekey_in: Option<std::time::Duration>,
    /// When the engine will delete it if no rekey replaced it (`life_time`), from now; `None`:
    /// never. A kernel backend may hold the SA a little longer as a safety net.
    pub expire_in: Option<std::time::Duration>,
}

/// What the peer said about the Child SA's ESP processing (RFC 7296 §3.10.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildFlags {
    /// The peer sent ESP_TFC_PADDING_NOT_SUPPORTED: do not send it TFC padding.
    pub peer_refuses_tfc_padding: bool,
    /// Both ends sent NON_FIRST_FRAGMENTS_ALSO (ours per
    /// [`crate::config::EndpointConfig::non_first_fragments`]): non-first fragments may use this SA.
    pub non_first_fragments: bool,
}

/// Reserves inbound SPIs for Child SAs (RFC 7296 §3.3.1: the SPI the peer will send with).
pub trait SpiAllocator: Send {
    /// A fresh inbound SPI of `protocol` (ESP or AH: the kernel keeps their SPIs apart) for
    /// traffic from `remote` to `local`, reserved until it is installed (or, in the kernel's
    /// case, until the reservation times out). The SPI must be over 255 (RFC 4303 §2.1 and RFC
    /// 4302 §2.4 reserve 1-255). An error refuses the Child SA that needed it.
    fn alloc_spi(
        &mut self,
        protocol: IpsecProtocol,
        local: IpAddr,
        remote: IpAddr,
    ) -> Result<u32, String>;
}
