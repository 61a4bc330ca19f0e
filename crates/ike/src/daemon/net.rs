//! The daemon's UDP sockets: binding, the receive tasks that hand each IKE message to its shard,
//! and sending from a shard.
//!
//! One receive task per socket (`port` and `port_nat_t` on each `listen` address, or on
//! `0.0.0.0` and `[::]` when `listen` is empty). On the NAT-T socket it demultiplexes as RFC 3948
//! §2.2 says: IKE messages start with the four zero octets of the non-ESP marker, which are
//! stripped; ESP (a non-zero SPI there) and NAT keepalives (0xFF) are dropped, since no userspace
//! ESP exists and the kernel takes ESP-in-UDP itself. The shard comes from the message's header
//! ([`ike_proto::shard::shard_of`]); a shard whose queue is full drops the datagram (the peer
//! retransmits), so a flood cannot grow memory.
//!
//! Sockets go through `quinn-udp`: a receive takes up to a batch of datagrams per system call
//! (`recvmmsg`, GRO on Linux) and reports the local address each was sent to (`IP_PKTINFO`,
//! `IPV6_RECVPKTINFO`), so that a wildcard socket knows which of our addresses a peer used; a
//! send from a wildcard socket names its source address the same way.

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ike_config::{Config, Connection, KernelKind};
use ike_proto::v2::Transmit;
use quinn_udp::{RecvMeta, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::shard::ShardInput;

/// One bound UDP socket: the receive half (tokio, on the coordinator's runtime) and a clone of
/// the same non-blocking socket that the shards send on from their threads.
pub(super) struct Sock {
    pub(super) bound: SocketAddr,
    pub(super) nat_t: bool,
    recv: Arc<UdpSocket>,
    send: std::net::UdpSocket,
    state: Arc<UdpSocketState>,
}

pub(super) fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// Our source address towards `remote`, as the routing table picks it (a connected UDP socket
/// sends nothing).
fn route_source(remote: IpAddr) -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind(SocketAddr::new(unspecified(remote.is_ipv6()), 0)).ok()?;
    s.connect(SocketAddr::new(remote, 9)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// Route lookups for datagrams that arrived on a wildcard socket, cached per peer.
#[derive(Default)]
pub(super) struct Routes(HashMap<IpAddr, IpAddr>);

impl Routes {
    pub(super) fn source_towards(&mut self, remote: IpAddr) -> Option<IpAddr> {
        if let Some(ip) = self.0.get(&remote) {
            return Some(*ip);
        }
        let ip = route_source(remote)?;
        if self.0.len() > 4096 {
            self.0.clear();
        }
        self.0.insert(remote, ip);
        Some(ip)
    }
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // Separate IPv4 and IPv6 sockets, so that `0.0.0.0` and `[::]` can both be bound.
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// The kernel backend's options on an IKE socket: IKE bypasses IPsec policies (ours could
/// cover the IKE traffic itself, in transport mode between the gateways), and the NAT-T
/// socket decapsulates ESP in UDP (RFC 3948) in the kernel.
fn kernel_socket_options(
    s: &std::net::UdpSocket,
    addr: SocketAddr,
    nat_t: bool,
) -> anyhow::Result<()> {
    use std::os::fd::AsFd as _;
    ike_kernel::sockopt::bypass_policies(s.as_fd(), addr.is_ipv6())
        .with_context(|| format!("IPsec bypass policy on {addr}/udp"))?;
    if nat_t {
        ike_kernel::sockopt::enable_udp_encap(s.as_fd())
            .with_context(|| format!("ESP-in-UDP decapsulation on {addr}/udp"))?;
    }
    Ok(())
}

/// Binds `port` and `port_nat_t` on every `listen` address (all addresses when empty; a machine
/// without IPv6 then serves IPv4 alone).
pub(super) fn bind_all(config: &Config) -> anyhow::Result<Vec<Sock>> {
    let listen: Vec<IpAddr> = if config.daemon.listen.is_empty() {
        vec![unspecified(false), unspecified(true)]
    } else {
        config.daemon.listen.clone()
    };
    let mut socks = Vec::new();
    for ip in &listen {
        for (port, nat_t) in [
            (config.daemon.port, false),
            (config.daemon.port_nat_t, true),
        ] {
            let addr = SocketAddr::new(*ip, port);
            match bind_udp(addr) {
                Ok(s) => {
                    if config.daemon.kernel != KernelKind::None {
                        kernel_socket_options(&s, addr, nat_t)?;
                    }
                    let state = UdpSocketState::new((&s).into())
                        .with_context(|| format!("socket options of {addr}/udp"))?;
                    let send = s
                        .try_clone()
                        .with_context(|| format!("duplicating {addr}/udp"))?;
                    let recv = UdpSocket::from_std(s)
                        .with_context(|| format!("registering {addr}/udp"))?;
                    info!(target: "net", "listening on {addr}/udp");
                    socks.push(Sock {
                        bound: addr,
                        nat_t,
                        recv: Arc::new(recv),
                        send,
                        state: Arc::new(state),
                    });
                }
                Err(e) if config.daemon.listen.is_empty() && ip.is_ipv6() => {
                    warn!(target: "net", "cannot bind {addr}/udp: {e}; IPv6 disabled");
                }
                Err(e) => return Err(e).with_context(|| format!("binding {addr}/udp")),
            }
        }
    }
    Ok(socks)
}

/// Receives on socket `index`, a batch at a time, and hands each IKE message to its shard, until
/// the shards are gone.
pub(super) async fn receive(
    index: usize,
    socks: Arc<Vec<Sock>>,
    shards: Arc<Vec<mpsc::Sender<ShardInput>>>,
) {
    let Some(sock) = socks.get(index) else { return };
    let (socket, state, nat_t) = (sock.recv.clone(), sock.state.clone(), sock.nat_t);
    let count = u8::try_from(shards.len()).unwrap_or(u8::MAX);
    let batch = quinn_udp::BATCH_SIZE.clamp(1, 32);
    let mut bufs: Vec<Vec<u8>> = (0..batch).map(|_| vec![0u8; 65536]).collect();
    let mut metas = vec![RecvMeta::default(); batch];
    loop {
        if let Err(e) = socket.readable().await {
            debug!(target: "net", "receive: {e}");
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let got = {
            let mut iovs: Vec<IoSliceMut<'_>> =
                bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            socket.try_io(Interest::READABLE, || {
                state.recv((&*socket).into(), &mut iovs, &mut metas)
            })
        };
        let n = match got {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            // ICMP errors (port unreachable) surface here on Linux; they are no reason to
            // stop, but a pause keeps a persistent error from spinning.
            Err(e) => {
                debug!(target: "net", "receive: {e}");
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        for (meta, buf) in metas.iter().zip(&bufs).take(n) {
            let data = buf.get(..meta.len).unwrap_or_default();
            // GRO hands several datagrams of one sender in one buffer, `stride` bytes each.
            let stride = if meta.stride == 0 {
                meta.len
            } else {
                meta.stride
            };
            for datagram in data.chunks(stride.max(1)) {
                if !dispatch(
                    index,
                    nat_t,
                    datagram,
                    meta.addr,
                    meta.dst_ip,
                    &shards,
                    count,
                ) {
                    return;
                }
            }
        }
    }
}

/// Demultiplexes one datagram and queues its IKE message for its shard; false when the shards
/// are gone.
fn dispatch(
    index: usize,
    nat_t: bool,
    data: &[u8],
    from: SocketAddr,
    local: Option<IpAddr>,
    shards: &[mpsc::Sender<ShardInput>],
    count: u8,
) -> bool {
    let n = data.len();
    let ike = if nat_t {
        // RFC 3948 §2.2: IKE after the non-ESP marker, ESP otherwise; §2.3 keepalives.
        match data {
            [0, 0, 0, 0, rest @ ..] => rest,
            [0xff] => {
                debug!(target: "net", "NAT keepalive from {from}");
                return true;
            }
            _ => {
                debug!(target: "net", "dropped {n} bytes of ESP-in-UDP from {from} (no ESP here)");
                return true;
            }
        }
    } else {
        data
    };
    let shard = ike_proto::shard::shard_of(ike, from, count);
    let Some(tx) = shards.get(shard) else {
        return true;
    };
    let input = ShardInput::Datagram {
        sock: index,
        from,
        local,
        data: ike.to_vec(),
    };
    match tx.try_send(input) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            debug!(target: "net", "shard {shard} is busy: dropped {n} bytes from {from}");
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// The socket bound to `local`, else the wildcard socket of its family and port.
pub(super) fn socket_for(socks: &[Sock], local: SocketAddr) -> Option<&Sock> {
    socks.iter().find(|s| s.bound == local).or_else(|| {
        socks.iter().find(|s| {
            s.bound.ip().is_unspecified()
                && s.bound.is_ipv6() == local.is_ipv6()
                && s.bound.port() == local.port()
        })
    })
}

/// Sends a datagram from a shard's thread. The socket is non-blocking: a full send buffer drops
/// the datagram, which the engine retransmits (or the peer asks again).
pub(super) fn send(socks: &[Sock], t: &Transmit) {
    let Some(sock) = socket_for(socks, t.local) else {
        warn!(target: "net", "no socket for {} (to {}): datagram dropped", t.local, t.remote);
        return;
    };
    let contents = t.datagram();
    let transmit = quinn_udp::Transmit {
        destination: t.remote,
        ecn: None,
        contents: &contents,
        segment_size: None,
        // From a wildcard socket: the address the SA uses, not the routing table's choice.
        src_ip: sock.bound.ip().is_unspecified().then_some(t.local.ip()),
    };
    if let Err(e) = sock.state.try_send((&sock.send).into(), &transmit) {
        warn!(target: "net", "send {} -> {}: {e}", t.local, t.remote);
    }
}

/// Our address for initiating `conn`: its first local address of the peer's family, else
/// such a `listen` address, else the routing table's choice; it must have a socket.
pub(super) fn initiate_local(
    conn: &Connection,
    config: &Config,
    socks: &[Sock],
    routes: &mut Routes,
) -> Result<SocketAddr, String> {
    let Some(remote) = conn.remote_addrs.first().copied() else {
        return Err(format!(
            "connection {} has no remote address (%any) and cannot initiate",
            conn.name
        ));
    };
    let v6 = remote.is_ipv6();
    let ip = conn
        .local_addrs
        .iter()
        .chain(config.daemon.listen.iter())
        .find(|a| a.is_ipv6() == v6)
        .copied()
        .or_else(|| routes.source_towards(remote))
        .ok_or_else(|| format!("no local address to reach {remote}"))?;
    let local = SocketAddr::new(ip, config.daemon.port);
    if socket_for(socks, local).is_none() {
        return Err(format!(
            "connection {}: no socket on {local} (add {ip} to [daemon] listen)",
            conn.name
        ));
    }
    Ok(local)
}
