//! Control requests that span the shards: `ike status` gathers every shard's SAs, `ike up`
//! asks every shard about the connection before one shard initiates, `ike down` deletes the
//! connection's SAs on every shard. Each runs as its own task, so the coordinator never waits.

use std::sync::Arc;

use ike_config::Config;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::hex8;
use super::metrics::{self, Events, Totals};
use super::shard::{ConnSummary, DownResult, Kernel, ShardInput};
use crate::control::{CertInfo, IkeSaStatus, Response, Status};

/// The shards' input channels, in shard order.
pub(super) type Shards = Arc<Vec<mpsc::Sender<ShardInput>>>;

/// Asks every shard and collects the answers, in shard order (a shard that is gone answers
/// nothing).
pub(super) async fn ask_all<T>(
    shards: &Shards,
    make: impl Fn(oneshot::Sender<T>) -> ShardInput,
) -> Vec<T> {
    let mut waits = Vec::with_capacity(shards.len());
    for tx in shards.iter() {
        let (otx, orx) = oneshot::channel();
        if tx.send(make(otx)).await.is_ok() {
            waits.push(orx);
        }
    }
    let mut out = Vec::with_capacity(waits.len());
    for w in waits {
        if let Ok(v) = w.await {
            out.push(v);
        }
    }
    out
}

/// Fills in the kernel's counters (bytes, packets, last use) of every Child SA, on a blocking
/// thread: with `xfrm` each is a netlink round trip (XFRM_MSG_GETSA), which must not hold up a
/// shard. The backend's lock is taken per Child SA, so that installs go on in between.
pub(super) async fn with_counters(kernel: &Kernel, mut sas: Vec<IkeSaStatus>) -> Vec<IkeSaStatus> {
    let kernel = kernel.clone();
    let filled = tokio::task::spawn_blocking(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for c in sas.iter_mut().flat_map(|s| s.child_sas.iter_mut()) {
            let Ok(spi) = u32::from_str_radix(&c.spi_in, 16) else {
                continue;
            };
            let k = kernel.lock().unwrap_or_else(|e| e.into_inner()).get(spi);
            if let Some(k) = k {
                (c.bytes_in, c.bytes_out) = (k.bytes_in, k.bytes_out);
                (c.packets_in, c.packets_out) = (k.packets_in, k.packets_out);
                c.last_use_seconds = k.use_time.map(|t| now.saturating_sub(t));
            }
        }
        sas
    })
    .await;
    filled.unwrap_or_default()
}

/// `ike status`: every shard's IKE SAs, shard after shard, with the kernel's counters and the
/// per-child totals.
pub(super) async fn status(
    shards: Shards,
    kernel: Kernel,
    totals: Totals,
    reply: oneshot::Sender<Response>,
) {
    let sas = ask_all(&shards, ShardInput::Status)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut ike_sas = with_counters(&kernel, sas).await;
    metrics::fill_totals(&mut ike_sas, &totals);
    let _ = reply.send(Response {
        ok: true,
        message: None,
        status: Some(Status { ike_sas }),
        stats: None,
        connections: None,
        reload: None,
        certs: None,
    });
}

/// SAs per page when streaming a status: bounds what a shard builds at once.
const PAGE: usize = 512;

/// `ike status --json --stream`: every shard's IKE SAs, a page at a time, one JSON line each
/// on `lines`; the channel closes at the end. A child's totals count the live SAs of the
/// same page (a page holds every SA of a connection unless it has more than [`PAGE`]).
pub(super) async fn status_stream(
    shards: Shards,
    kernel: Kernel,
    totals: Totals,
    lines: mpsc::Sender<String>,
) {
    for tx in shards.iter() {
        let mut after = None;
        loop {
            let (otx, orx) = oneshot::channel();
            let ask = ShardInput::StatusPage {
                after,
                limit: PAGE,
                reply: otx,
            };
            if tx.send(ask).await.is_err() {
                break;
            }
            let Ok((page, last)) = orx.await else { break };
            let n = page.len();
            let mut page = with_counters(&kernel, page).await;
            metrics::fill_totals(&mut page, &totals);
            for sa in &page {
                let Ok(line) = serde_json::to_string(sa) else {
                    continue;
                };
                if lines.send(line).await.is_err() {
                    return;
                }
            }
            if n < PAGE || last.is_none() {
                break;
            }
            after = last;
        }
    }
}

/// The shard a connection's own initiations go to when none is under way.
pub(super) fn home_shard(name: &str, count: usize) -> usize {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(h % u64::try_from(count.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// What every shard holds of a connection.
pub(super) async fn lookup(shards: &Shards, name: &str) -> Vec<ConnSummary> {
    ask_all(shards, |reply| ShardInput::Lookup {
        name: name.to_owned(),
        reply,
    })
    .await
}

/// `ike up NAME` (and `start_action = start`, acquires, reloads): "already established" if a
/// shard holds an established IKE SA of the connection; else the shard with an initiation under
/// way waits for it, or the connection's home shard initiates, with INITIAL_CONTACT only when no
/// shard holds an IKE SA with that peer.
pub(super) async fn up(
    shards: Shards,
    config: Arc<Config>,
    name: String,
    reply: Option<oneshot::Sender<Response>>,
) {
    let respond = |reply: Option<oneshot::Sender<Response>>, r: Response| {
        if let Some(tx) = reply {
            let _ = tx.send(r);
        }
    };
    if config.connection(&name).is_none() {
        warn!(target: "ike", "{name}: no such connection");
        return respond(reply, Response::err(format!("no connection named {name}")));
    }
    let summaries = lookup(&shards, &name).await;
    if let Some((i, r, _)) = summaries.iter().find_map(|s| s.established.as_ref()) {
        let msg = format!("{name}: already established ({}_i {}_r)", hex8(i), hex8(r));
        return respond(reply, Response::ok(msg));
    }
    // IKEv1: every ISAKMP SA with a peer lives on the shard of its address (a re-authentication
    // moves IPsec SAs between them); IKEv2: the connection's home shard.
    let v1_home = config.connection(&name).and_then(|c| {
        (c.peer.version == ike_proto::config::IkeVersion::V1)
            .then(|| c.peer.remote_addrs.first().copied())
            .flatten()
            .map(|ip| ike_proto::shard::v1_shard(ip, u8::try_from(shards.len()).unwrap_or(u8::MAX)))
    });
    let target = summaries
        .iter()
        .position(|s| s.connecting)
        .or(v1_home)
        .unwrap_or_else(|| home_shard(&name, shards.len()));
    let contacted_elsewhere = summaries
        .iter()
        .enumerate()
        .any(|(i, s)| i != target && s.peer_contacted);
    let Some(tx) = shards.get(target) else {
        return respond(reply, Response::err("the daemon is shutting down"));
    };
    let input = ShardInput::Up {
        name,
        may_contact: !contacted_elsewhere,
        reply,
    };
    if let Err(e) = tx.send(input).await {
        if let ShardInput::Up { reply, .. } = e.0 {
            respond(reply, Response::err("the daemon is shutting down"));
        }
    }
}

/// `ike down NAME`: every shard deletes the connection's IKE SAs (telling the peers); the answer
/// comes when all of them are gone.
pub(super) async fn down(shards: Shards, name: String, reply: oneshot::Sender<Response>) {
    let results = ask_all(&shards, |r| ShardInput::Down {
        name: name.clone(),
        reply: r,
    })
    .await;
    let response = if results.iter().all(|r| *r == DownResult::Nothing) {
        Response::err(format!("{name}: no IKE SA to delete"))
    } else {
        Response::ok(format!("{name}: IKE SAs deleted"))
    };
    let _ = reply.send(response);
}

/// `ike rekey NAME [--child C] [--ike]`: every shard starts the rekeys of the connection's SAs
/// it holds; the answer says how many were started (the rekeys complete in the background, as
/// `ike status` then shows).
pub(super) async fn rekey(
    shards: Shards,
    config: std::sync::Arc<ike_config::Config>,
    name: String,
    child: Option<String>,
    ike: bool,
    reply: oneshot::Sender<Response>,
) {
    let Some(conn) = config.connection(&name) else {
        let _ = reply.send(Response::err(format!("no connection named {name}")));
        return;
    };
    if let Some(c) = &child {
        if !conn.peer.children.iter().any(|x| &x.name == c) {
            let _ = reply.send(Response::err(format!("{name}: no child named {c}")));
            return;
        }
    }
    let started: usize = ask_all(&shards, |r| ShardInput::Rekey {
        name: name.clone(),
        child: child.clone(),
        ike,
        reply: r,
    })
    .await
    .into_iter()
    .sum();
    let what = match (ike, &child) {
        (true, _) => "IKE SA".to_owned(),
        (false, Some(c)) => format!("Child SA of {c}"),
        (false, None) => "Child SA".to_owned(),
    };
    let response = if started == 0 {
        Response::err(format!("{name}: no established {what} to rekey"))
    } else {
        Response::ok(format!(
            "{name}: rekeying {started} {what}{}",
            if started == 1 { "" } else { "s" }
        ))
    };
    let _ = reply.send(response);
}

/// `ike stats`: every shard's counters, summed.
pub(super) async fn stats(
    shards: Shards,
    started: std::time::Instant,
    max_control_clients: usize,
    events: Arc<Events>,
    reply: oneshot::Sender<Response>,
) {
    let st = gather_stats(&shards, started, max_control_clients, &events).await;
    let _ = reply.send(Response {
        ok: true,
        message: None,
        status: None,
        stats: Some(st),
        connections: None,
        reload: None,
        certs: None,
    });
}

/// Every shard's counters, summed, and the event counts (`ike stats`, the metrics page).
pub(super) async fn gather_stats(
    shards: &Shards,
    started: std::time::Instant,
    max_control_clients: usize,
    events: &Events,
) -> crate::control::Stats {
    let parts = ask_all(shards, ShardInput::Stats).await;
    let mut st = crate::control::Stats {
        uptime_seconds: started.elapsed().as_secs(),
        shards: shards.len(),
        max_control_clients,
        ..Default::default()
    };
    for p in parts {
        for (v, states) in p.ike_sas {
            for (state, n) in states {
                *st.ike_sas
                    .entry(v.clone())
                    .or_default()
                    .entry(state)
                    .or_default() += n;
            }
        }
        st.child_sas += p.child_sas;
        st.half_open += p.half_open;
        st.cookies_sent += p.cookies_sent;
        st.cookies_active |= p.cookies_active;
        st.retransmissions += p.retransmissions;
        for (r, n) in p.drops {
            *st.drops.entry(r).or_default() += n;
        }
    }
    let counts = events.snapshot();
    st.handshakes = counts.handshakes.values().sum();
    for ((_, reason), n) in counts.failures {
        *st.handshake_failures.entry(reason).or_default() += n;
    }
    st.ike_rekeys = counts.ike_rekeys.values().sum();
    st.child_rekeys = counts.child_rekeys;
    st
}

/// `ike list-conns`: the loaded connections, with their IKE SAs now by state.
pub(super) async fn list_conns(
    shards: Shards,
    config: std::sync::Arc<ike_config::Config>,
    kernel: Kernel,
    totals: Totals,
    reply: oneshot::Sender<Response>,
) {
    use crate::control::{ChildInfo, ConnInfo};
    use ike_proto::config::AuthMethod;
    let sas: Vec<IkeSaStatus> = ask_all(&shards, ShardInput::Status)
        .await
        .into_iter()
        .flatten()
        .collect();
    let sas = with_counters(&kernel, sas).await;
    let traffic = metrics::per_connection(&sas, &totals);
    let auth = |a: &AuthMethod| {
        match a {
            AuthMethod::Psk(_) => "psk",
            AuthMethod::PubKey(_) | AuthMethod::PeerCert(_) => "pubkey",
            AuthMethod::PkeKey { revised: false, .. }
            | AuthMethod::PkePeer { revised: false, .. } => "pke",
            AuthMethod::PkeKey { .. } | AuthMethod::PkePeer { .. } => "rpke",
            _ => "other",
        }
        .to_owned()
    };
    let conns = config
        .connections
        .iter()
        .map(|c| {
            let mut ike_sas = std::collections::BTreeMap::new();
            for s in sas.iter().filter(|s| s.name == c.name) {
                *ike_sas.entry(s.state.clone()).or_insert(0u64) += 1;
            }
            let t = traffic.get(&c.name).copied().unwrap_or_default();
            ConnInfo {
                total_bytes_in: t.bytes_in,
                total_bytes_out: t.bytes_out,
                total_packets_in: t.packets_in,
                total_packets_out: t.packets_out,
                name: c.name.clone(),
                version: match c.version {
                    ike_config::IkeVersion::V1 => 1,
                    _ => 2,
                },
                local_addrs: c.local_addrs.iter().map(|a| a.to_string()).collect(),
                remote_addrs: c.remote_addrs.iter().map(|a| a.to_string()).collect(),
                local_id: c.peer.local_id.to_string(),
                remote_id: c.peer.remote_id.to_string(),
                local_auth: auth(&c.peer.local_auth),
                remote_auth: auth(&c.peer.remote_auth),
                proposals: c.peer.ike_proposals.iter().map(|p| p.describe()).collect(),
                aggressive: c.peer.exchange == ike_proto::config::V1Exchange::Aggressive,
                exchange: match c.version {
                    ike_config::IkeVersion::V1 => c.peer.exchange.name().to_owned(),
                    _ => String::new(),
                },
                ike_sas,
                children: c
                    .peer
                    .children
                    .iter()
                    .map(|ch| ChildInfo {
                        name: ch.name.clone(),
                        mode: match ch.mode {
                            ike_proto::ipsec::Mode::Transport => "transport".to_owned(),
                            _ => "tunnel".to_owned(),
                        },
                        local_ts: ch.local_ts.iter().map(ike_kernel::ts_text).collect(),
                        remote_ts: ch.remote_ts.iter().map(ike_kernel::ts_text).collect(),
                        proposals: ch.proposals().iter().map(|p| p.describe()).collect(),
                        start_action: match c.child(&ch.name).map(|(d, _)| d.start_action) {
                            Some(ike_config::StartAction::Start) => "start",
                            Some(ike_config::StartAction::Trap) => "trap",
                            _ => "none",
                        }
                        .to_owned(),
                    })
                    .collect(),
            }
        })
        .collect();
    let _ = reply.send(Response {
        ok: true,
        message: None,
        status: None,
        stats: None,
        connections: Some(conns),
        reload: None,
        certs: None,
    });
}

/// `ike list-certs` (`authorities`: false) or `ike list-authorities`: every certificate the
/// configuration loaded, once each, with where it is used.
pub fn list_certs(config: &ike_config::Config, authorities: bool, unix_now: i64) -> Response {
    use ike_crypto::sign::{Curve, KeyKind};
    use ike_crypto::x509::{Certificate, SubjectAltName};
    use ike_proto::config::AuthMethod;
    let mut found: Vec<(Certificate, Vec<String>)> = Vec::new();
    let mut add = |cert: &Certificate, use_: String| match found
        .iter_mut()
        .find(|(c, _)| c.der() == cert.der())
    {
        Some((_, uses)) => {
            if !uses.contains(&use_) {
                uses.push(use_);
            }
        }
        None => found.push((cert.clone(), vec![use_])),
    };
    for c in &config.connections {
        let n = &c.name;
        for auth in [&c.peer.local_auth, &c.peer.remote_auth] {
            match (auth, authorities) {
                (AuthMethod::PubKey(cred), false) => {
                    for (i, cert) in cred.chain().iter().enumerate() {
                        add(
                            cert,
                            format!("{n}: {}", if i == 0 { "ours" } else { "our chain" }),
                        );
                    }
                }
                (AuthMethod::PeerCert(policy), false) => {
                    if let Some(p) = policy.pinned_cert() {
                        add(p, format!("{n}: peer (pinned)"));
                    }
                }
                (AuthMethod::PeerCert(policy), true) => {
                    for a in policy.trust().map(|t| t.anchors()).unwrap_or_default() {
                        add(a, format!("{n}: trust anchor"));
                    }
                }
                (AuthMethod::PkeKey { cert, .. }, false) => {
                    add(cert, format!("{n}: ours (public-key encryption)"));
                }
                (AuthMethod::PkePeer { cert, .. }, false) => {
                    add(cert, format!("{n}: peer (public-key encryption)"));
                }
                _ => {}
            }
        }
    }
    let certs = found
        .into_iter()
        .map(|(c, used_by)| {
            let key =
                match ike_crypto::sign::PublicKey::from_spki_der(&c.spki_der()).map(|k| k.kind()) {
                    Ok(KeyKind::Rsa { bits }) => format!("RSA {bits}"),
                    Ok(KeyKind::Dsa { bits }) => format!("DSA {bits}"),
                    Ok(KeyKind::Ec(Curve::P256)) => "ECDSA P-256".to_owned(),
                    Ok(KeyKind::Ec(Curve::P384)) => "ECDSA P-384".to_owned(),
                    Ok(KeyKind::Ec(Curve::P521)) => "ECDSA P-521".to_owned(),
                    Ok(KeyKind::Ed25519) => "Ed25519".to_owned(),
                    Ok(KeyKind::Ed448) => "Ed448".to_owned(),
                    _ => "unknown".to_owned(),
                };
            let (not_before, not_after) = c.validity_text();
            let validity = if unix_now < c.not_before() {
                "not yet valid"
            } else if unix_now >= c.not_after() {
                "expired"
            } else {
                "valid"
            };
            CertInfo {
                subject: c.subject_text(),
                issuer: c.issuer_text(),
                alt_names: c
                    .subject_alt_names()
                    .iter()
                    .filter_map(|n| match n {
                        SubjectAltName::Dns(d) => Some(format!("DNS:{d}")),
                        SubjectAltName::Rfc822(e) => Some(format!("email:{e}")),
                        SubjectAltName::IpAddress(b) => match b.len() {
                            4 => <[u8; 4]>::try_from(b.as_slice())
                                .ok()
                                .map(|a| format!("IP:{}", std::net::Ipv4Addr::from(a))),
                            16 => <[u8; 16]>::try_from(b.as_slice())
                                .ok()
                                .map(|a| format!("IP:{}", std::net::Ipv6Addr::from(a))),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect(),
                key,
                key_id: hex::encode(c.spki_sha1()),
                not_before,
                not_after,
                validity: validity.to_owned(),
                ca: c.is_ca(),
                used_by,
            }
        })
        .collect();
    Response {
        ok: true,
        message: None,
        status: None,
        stats: None,
        connections: None,
        reload: None,
        certs: Some(certs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_shards_spread_and_stay_in_range() {
        for count in 1..=8 {
            let mut hit = vec![false; count];
            for i in 0..200 {
                let s = home_shard(&format!("conn-{i}"), count);
                assert!(s < count);
                assert_eq!(s, home_shard(&format!("conn-{i}"), count));
                hit[s] = true;
            }
            assert!(hit.iter().all(|h| *h), "{count}: {hit:?}");
        }
    }
}
