//! Counters that outlive SAs, and the Prometheus metrics page (`[daemon] metrics`).
//!
//! - [`Totals`]: the final kernel counters of every Child SA that was deleted or rekeyed away,
//!   summed per (connection, child). The shard that deletes a Child SA reads its counters just
//!   before the kernel delete and adds them here; `ike status` and `ike list-conns` add the
//!   live SAs' counters to these.
//! - [`Events`]: what the shards count as events arrive (handshakes by version and role,
//!   failures by reason, rekeys, the handshake latency histogram): a lock per handshake or
//!   rekey, never per datagram.
//! - [`serve`]: the HTTP server (hyper) of `GET /metrics` in the OpenMetrics text format
//!   (prometheus-client). Everything else is gathered at scrape time from the shards, the way
//!   `ike stats` and `ike status` are: SA counts by version and state, half-open SAs, cookies,
//!   drops by reason, retransmissions, and per-connection bytes and packets.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use ike_proto::v2::CloseReason;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::{debug, warn};

use super::requests::{self, Shards};
use super::shard::{Kernel, ShardInput};
use crate::control::{IkeSaStatus, Stats};

/// Bytes and packets, both ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) packets_in: u64,
    pub(crate) packets_out: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, o: &Counters) {
        self.bytes_in = self.bytes_in.saturating_add(o.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(o.bytes_out);
        self.packets_in = self.packets_in.saturating_add(o.packets_in);
        self.packets_out = self.packets_out.saturating_add(o.packets_out);
    }
}

/// The counters of the Child SAs that are gone, by (connection, child).
pub(crate) type Totals = Arc<Mutex<BTreeMap<(String, String), Counters>>>;

/// A copy of the totals.
pub(crate) fn totals_now(t: &Totals) -> BTreeMap<(String, String), Counters> {
    t.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The live counters of every Child SA of `sas` (already read from the kernel), by
/// (connection, child).
pub(crate) fn live_counters(sas: &[IkeSaStatus]) -> BTreeMap<(String, String), Counters> {
    let mut live: BTreeMap<(String, String), Counters> = BTreeMap::new();
    for sa in sas {
        for c in &sa.child_sas {
            live.entry((sa.name.clone(), c.name.clone()))
                .or_default()
                .add(&Counters {
                    bytes_in: c.bytes_in,
                    bytes_out: c.bytes_out,
                    packets_in: c.packets_in,
                    packets_out: c.packets_out,
                });
        }
    }
    live
}

/// Fills in every Child SA's `total_*`: the gone SAs of its (connection, child) and every live
/// SA of it in `sas`.
pub(crate) fn fill_totals(sas: &mut [IkeSaStatus], totals: &Totals) {
    let mut sum = totals_now(totals);
    for (k, v) in live_counters(sas) {
        sum.entry(k).or_default().add(&v);
    }
    for sa in sas.iter_mut() {
        for c in sa.child_sas.iter_mut() {
            if let Some(t) = sum.get(&(sa.name.clone(), c.name.clone())) {
                c.total_bytes_in = t.bytes_in;
                c.total_bytes_out = t.bytes_out;
                c.total_packets_in = t.packets_in;
                c.total_packets_out = t.packets_out;
            }
        }
    }
}

/// Per connection: the gone Child SAs and the live ones in `sas`.
pub(crate) fn per_connection(sas: &[IkeSaStatus], totals: &Totals) -> BTreeMap<String, Counters> {
    let mut out: BTreeMap<String, Counters> = BTreeMap::new();
    for ((conn, _), v) in totals_now(totals).iter().chain(live_counters(sas).iter()) {
        out.entry(conn.clone()).or_default().add(v);
    }
    out
}

/// Event counts, as `ike stats` shows them.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventCounts {
    /// Established IKE SAs (not counting IKE SA rekeys), by (version, "initiator"|"responder").
    pub(crate) handshakes: BTreeMap<(u8, &'static str), u64>,
    /// IKE SAs that closed before they were established, by (version, reason).
    pub(crate) failures: BTreeMap<(u8, String), u64>,
    /// IKE SA rekeys (IKEv1: re-authentications), by version.
    pub(crate) ike_rekeys: BTreeMap<u8, u64>,
    /// Child SAs installed in place of one of the same child on the same IKE SA.
    pub(crate) child_rekeys: u64,
}

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s: a loopback PSK handshake to a slow peer's RSA-4096 over a long path.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 16,
    ))
}

/// What the shards count as events arrive.
#[derive(Debug)]
pub(crate) struct Events {
    counts: Mutex<EventCounts>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
}

/// Every (version, role) pair: their series exist from the start (an empty family is not
/// written at all, and a series that appears late is not a zero).
const VERSION_ROLES: [(u8, &str); 4] = [
    (1, "initiator"),
    (1, "responder"),
    (2, "initiator"),
    (2, "responder"),
];

impl Default for Events {
    fn default() -> Self {
        let latency =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        for (v, role) in VERSION_ROLES {
            let _ =
                latency.get_or_create(&vec![("version", v.to_string()), ("role", role.to_owned())]);
        }
        Self {
            counts: Mutex::new(EventCounts::default()),
            latency,
        }
    }
}

fn role(initiator: bool) -> &'static str {
    if initiator {
        "initiator"
    } else {
        "responder"
    }
}

impl Events {
    fn counts(&self) -> std::sync::MutexGuard<'_, EventCounts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An IKE SA was established after `handshake` (from its first message).
    pub(crate) fn established(&self, version: u8, initiator: bool, handshake: Duration) {
        *self
            .counts()
            .handshakes
            .entry((version, role(initiator)))
            .or_default() += 1;
        self.latency
            .get_or_create(&vec![
                ("version", version.to_string()),
                ("role", role(initiator).to_owned()),
            ])
            .observe(handshake.as_secs_f64());
    }

    /// An IKE SA closed before it was established.
    pub(crate) fn failed(&self, version: u8, reason: &CloseReason) {
        *self
            .counts()
            .failures
            .entry((version, reason_name(reason)))
            .or_default() += 1;
    }

    /// An IKE SA was rekeyed (IKEv1: re-authenticated).
    pub(crate) fn ike_rekeyed(&self, version: u8) {
        *self.counts().ike_rekeys.entry(version).or_default() += 1;
    }

    /// A Child SA was rekeyed.
    pub(crate) fn child_rekeyed(&self) {
        self.counts().child_rekeys += 1;
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> EventCounts {
        self.counts().clone()
    }
}

/// A close reason in RFC words: the notify's name (IKEv1's with `_` for `-`, so that both
/// versions share the names: `NO_PROPOSAL_CHOSEN`, `AUTHENTICATION_FAILED`), else `TIMEOUT`,
/// `HALF_OPEN_TIMEOUT`, `DELETED`, `DELETED_BY_PEER`, `REKEYED`, `REPLACED`, `LOCAL_ERROR` (we
/// refused without a notify), `NOTIFY_<number>`, or `OTHER` for a reason newer than this list.
pub(crate) fn reason_name(r: &CloseReason) -> String {
    match r {
        CloseReason::Deleted => "DELETED".to_owned(),
        CloseReason::DeletedByPeer => "DELETED_BY_PEER".to_owned(),
        CloseReason::Timeout => "TIMEOUT".to_owned(),
        CloseReason::HalfOpenExpired => "HALF_OPEN_TIMEOUT".to_owned(),
        CloseReason::PeerError(n) => n
            .name()
            .map_or_else(|| format!("NOTIFY_{}", u16::from(*n)), str::to_owned),
        CloseReason::PeerErrorV1(n) => n
            .name()
            .map_or_else(|| format!("NOTIFY_{}", n.value()), |s| s.replace('-', "_")),
        CloseReason::LocalError(e) => e
            .notify()
            .and_then(|n| n.name())
            .map_or_else(|| "LOCAL_ERROR".to_owned(), str::to_owned),
        CloseReason::Rekeyed => "REKEYED".to_owned(),
        CloseReason::Replaced => "REPLACED".to_owned(),
        _ => "OTHER".to_owned(),
    }
}

/// What a scrape reads.
pub(crate) struct Scrape {
    pub(crate) shards: Shards,
    pub(crate) kernel: Kernel,
    pub(crate) totals: Totals,
    pub(crate) events: Arc<Events>,
    pub(crate) started: Instant,
    pub(crate) max_control_clients: usize,
}

/// Scrapers served at once; more wait for the kernel's backlog.
const MAX_SCRAPERS: usize = 8;

/// How long one HTTP connection may stay open.
const CONNECTION_WAIT: Duration = Duration::from_secs(10);

/// The OpenMetrics content type (what prometheus-client writes).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `GET /metrics` on `listener` until the daemon stops.
pub(crate) async fn serve(listener: tokio::net::TcpListener, scrape: Arc<Scrape>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPERS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(target: "control", "metrics: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let scrape = scrape.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let scrape = scrape.clone();
                async move { Ok::<_, Infallible>(respond(&scrape, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_WAIT, conn).await {
                Ok(Err(e)) => debug!(target: "control", "metrics: {peer}: {e}"),
                Err(_) => {
                    debug!(target: "control", "metrics: {peer}: closed after {CONNECTION_WAIT:?}")
                }
                Ok(Ok(())) => {}
            }
            drop(permit);
        });
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn respond<B>(scrape: &Scrape, req: Request<B>) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
        r.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return r;
    }
    let text = match render(scrape).await {
        Ok(t) => t,
        Err(_) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the metrics could not be encoded\n",
            )
        }
    };
    let body = if req.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(text)
    };
    let mut r = Response::new(Full::new(body));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(CONTENT_TYPE),
    );
    r
}

fn counter_family(values: impl IntoIterator<Item = (Labels, u64)>) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    for (labels, v) in values {
        f.get_or_create(&labels).inc_by(v);
    }
    f
}

fn gauge(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    g
}

fn counter(v: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(v);
    c
}

/// The page: gathered from the shards now, plus the event counts.
pub(crate) async fn render(scrape: &Scrape) -> Result<String, std::fmt::Error> {
    let stats = requests::gather_stats(
        &scrape.shards,
        scrape.started,
        scrape.max_control_clients,
        &scrape.events,
    )
    .await;
    let sas: Vec<IkeSaStatus> = requests::ask_all(&scrape.shards, ShardInput::Status)
        .await
        .into_iter()
        .flatten()
        .collect();
    let sas = requests::with_counters(&scrape.kernel, sas).await;
    let conns = per_connection(&sas, &scrape.totals);
    let counts = scrape.events.snapshot();
    encode(&stats, &counts, &conns, &scrape.events)
}

fn encode(
    stats: &Stats,
    counts: &EventCounts,
    conns: &BTreeMap<String, Counters>,
    events: &Events,
) -> Result<String, std::fmt::Error> {
    let mut reg = Registry::default();
    reg.register(
        "ike_uptime_seconds",
        "Seconds since the daemon started",
        gauge(stats.uptime_seconds),
    );
    let sas = Family::<Labels, Gauge>::default();
    // Every state of both versions, zeros included: a series that vanishes is not a zero.
    for v in ["1", "2"] {
        for state in ["CONNECTING", "ESTABLISHED", "REKEYING", "DELETING"] {
            let n = stats
                .ike_sas
                .get(v)
                .and_then(|m| m.get(state))
                .copied()
                .unwrap_or(0);
            sas.get_or_create(&vec![
                ("version", v.to_owned()),
                ("state", state.to_owned()),
            ])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    for (v, states) in &stats.ike_sas {
        for (state, n) in states {
            sas.get_or_create(&vec![("version", v.clone()), ("state", state.clone())])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }
    reg.register("ike_ike_sas", "IKE SAs now, by IKE version and state", sas);
    reg.register("ike_child_sas", "Child SAs now", gauge(stats.child_sas));
    reg.register(
        "ike_half_open",
        "Half-open IKE SAs now (responder side)",
        gauge(stats.half_open),
    );
    reg.register(
        "ike_cookies_sent",
        "COOKIE notifies sent (RFC 7296 section 2.6)",
        counter(stats.cookies_sent),
    );
    reg.register(
        "ike_retransmissions",
        "Messages sent again because no answer came in time",
        counter(stats.retransmissions),
    );
    let drops = ike_proto::status::DropReason::ALL.iter().map(|r| {
        let key = r.key().to_owned();
        let n = stats.drops.get(&key).copied().unwrap_or(0);
        (vec![("reason", key)], n)
    });
    reg.register(
        "ike_drops",
        "Datagrams dropped, by reason",
        counter_family(drops),
    );
    let hs = counter_family(VERSION_ROLES.iter().map(|(v, role)| {
        (
            vec![("version", v.to_string()), ("role", (*role).to_owned())],
            counts.handshakes.get(&(*v, *role)).copied().unwrap_or(0),
        )
    }));
    reg.register(
        "ike_handshakes",
        "IKE SAs established (rekeys not counted), by IKE version and role",
        hs,
    );
    let failures = counter_family(counts.failures.iter().map(|((v, reason), n)| {
        (
            vec![("version", v.to_string()), ("reason", reason.clone())],
            *n,
        )
    }));
    reg.register(
        "ike_handshake_failures",
        "IKE SAs that closed before they were established, by IKE version and reason (RFC notify names, TIMEOUT, HALF_OPEN_TIMEOUT, ...)",
        failures,
    );
    reg.register(
        "ike_handshake_duration_seconds",
        "From an IKE SA's first message, sent or received, to its establishment",
        events.latency.clone(),
    );
    let mut rekeys = vec![(
        vec![("sa", "child".to_owned()), ("version", "any".to_owned())],
        counts.child_rekeys,
    )];
    for (v, n) in &counts.ike_rekeys {
        rekeys.push((
            vec![("sa", "ike".to_owned()), ("version", v.to_string())],
            *n,
        ));
    }
    reg.register(
        "ike_rekeys",
        "Rekeys completed: IKE SAs (IKEv1: re-authentications) by version, Child SAs",
        counter_family(rekeys),
    );
    let bytes = counter_family(conns.iter().flat_map(|(c, n)| {
        [
            (
                vec![("connection", c.clone()), ("direction", "in".to_owned())],
                n.bytes_in,
            ),
            (
                vec![("connection", c.clone()), ("direction", "out".to_owned())],
                n.bytes_out,
            ),
        ]
    }));
    reg.register(
        "ike_connection_bytes",
        "ESP bytes of a connection's Child SAs, live and gone (0 with kernel = none)",
        bytes,
    );
    let packets = counter_family(conns.iter().flat_map(|(c, n)| {
        [
            (
                vec![("connection", c.clone()), ("direction", "in".to_owned())],
                n.packets_in,
            ),
            (
                vec![("connection", c.clone()), ("direction", "out".to_owned())],
                n.packets_out,
            ),
        ]
    }));
    reg.register(
        "ike_connection_packets",
        "ESP packets of a connection's Child SAs, live and gone (0 with kernel = none)",
        packets,
    );
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &reg)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_have_rfc_names() {
        use ike_wire::v2::NotifyType;
        assert_eq!(reason_name(&CloseReason::Timeout), "TIMEOUT");
        assert_eq!(
            reason_name(&CloseReason::PeerError(NotifyType::NoProposalChosen)),
            "NO_PROPOSAL_CHOSEN"
        );
        assert_eq!(
            reason_name(&CloseReason::PeerError(NotifyType::AuthenticationFailed)),
            "AUTHENTICATION_FAILED"
        );
        assert_eq!(
            reason_name(&CloseReason::PeerError(NotifyType::from(40000))),
            "NOTIFY_40000"
        );
    }

    fn sa(name: &str, children: &[(&str, u64, u64)]) -> IkeSaStatus {
        IkeSaStatus {
            name: name.into(),
            version: 2,
            state: "ESTABLISHED".into(),
            local_addr: String::new(),
            remote_addr: String::new(),
            local_id: String::new(),
            remote_id: String::new(),
            initiator_spi: String::new(),
            responder_spi: String::new(),
            proposal: String::new(),
            established_seconds: 0,
            rekey_seconds: 0,
            child_sas: children
                .iter()
                .map(|(c, bytes, packets)| crate::control::ChildSaStatus {
                    name: (*c).into(),
                    state: "INSTALLED".into(),
                    spi_in: String::new(),
                    spi_out: String::new(),
                    local_ts: Vec::new(),
                    remote_ts: Vec::new(),
                    mode: "tunnel".into(),
                    proposal: String::new(),
                    bytes_in: *bytes,
                    bytes_out: bytes * 2,
                    packets_in: *packets,
                    packets_out: packets * 2,
                    last_use_seconds: None,
                    rekey_seconds: 0,
                    expire_seconds: 0,
                    total_bytes_in: 0,
                    total_bytes_out: 0,
                    total_packets_in: 0,
                    total_packets_out: 0,
                })
                .collect(),
        }
    }

    /// A child's totals: what its gone SAs left plus every live SA of it (two during a rekey);
    /// a connection's: all its children, live and gone.
    #[test]
    fn totals_add_gone_and_live_sas() {
        let totals = Totals::default();
        totals.lock().unwrap().insert(
            ("site-b".into(), "net".into()),
            Counters {
                bytes_in: 100,
                bytes_out: 200,
                packets_in: 1,
                packets_out: 2,
            },
        );
        totals.lock().unwrap().insert(
            ("gone".into(), "x".into()),
            Counters {
                bytes_in: 5,
                ..Counters::default()
            },
        );
        let mut sas = vec![
            sa("site-b", &[("net", 10, 1), ("other", 7, 3)]),
            sa("site-b", &[("net", 5, 1)]),
            sa("site-c", &[("net", 1000, 10)]),
        ];
        fill_totals(&mut sas, &totals);
        for c in [&sas[0].child_sas[0], &sas[1].child_sas[0]] {
            assert_eq!((c.total_bytes_in, c.total_bytes_out), (115, 230), "{c:?}");
            assert_eq!((c.total_packets_in, c.total_packets_out), (3, 6));
        }
        assert_eq!(sas[0].child_sas[1].total_bytes_in, 7);
        assert_eq!(sas[2].child_sas[0].total_bytes_in, 1000);
        let conns = per_connection(&sas, &totals);
        assert_eq!(conns["site-b"].bytes_in, 122);
        assert_eq!(conns["site-b"].packets_out, 2 + 2 + 6 + 2);
        assert_eq!(conns["site-c"].bytes_out, 2000);
        assert_eq!(conns["gone"].bytes_in, 5);
    }

    #[test]
    fn the_page_encodes_every_family() {
        let events = Events::default();
        events.established(2, true, Duration::from_millis(12));
        events.failed(2, &CloseReason::Timeout);
        events.ike_rekeyed(2);
        events.child_rekeyed();
        let mut stats = Stats::default();
        stats
            .ike_sas
            .entry("2".into())
            .or_default()
            .insert("ESTABLISHED".into(), 3);
        stats.drops.insert("undecodable".into(), 4);
        let mut conns = BTreeMap::new();
        conns.insert(
            "site-b".to_owned(),
            Counters {
                bytes_in: 10,
                bytes_out: 20,
                packets_in: 1,
                packets_out: 2,
            },
        );
        let text = encode(&stats, &events.snapshot(), &conns, &events).unwrap();
        for line in [
            "ike_ike_sas{version=\"2\",state=\"ESTABLISHED\"} 3",
            "ike_ike_sas{version=\"1\",state=\"CONNECTING\"} 0",
            "ike_drops_total{reason=\"undecodable\"} 4",
            "ike_handshakes_total{version=\"2\",role=\"initiator\"} 1",
            "ike_handshake_failures_total{version=\"2\",reason=\"TIMEOUT\"} 1",
            "ike_handshake_duration_seconds_count{version=\"2\",role=\"initiator\"} 1",
            "ike_rekeys_total{sa=\"ike\",version=\"2\"} 1",
            "ike_rekeys_total{sa=\"child\",version=\"any\"} 1",
            "ike_connection_bytes_total{connection=\"site-b\",direction=\"out\"} 20",
            "ike_connection_packets_total{connection=\"site-b\",direction=\"in\"} 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
