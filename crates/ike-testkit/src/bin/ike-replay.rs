//! `ike-replay`: replays prebuilt IKE_SA_INIT requests at a responder and counts its responses
//! per second, for `bench/shards.sh` (how the daemon's IKE_SA_INIT work scales with shards).
//!
//! One IKE_SA_INIT request (X25519, AES-GCM, the usual notifies) is built with our engine; the
//! others are copies with distinct initiator SPIs (so each makes the responder generate a key
//! pair and compute a shared secret in a new half-open SA) sent from `--local` addresses in turn.
//! At most `--window` requests are unanswered at a time, so the responder is kept busy without
//! its queues overflowing; the sender sleeps while the window is full, and reports its own CPU
//! time so that a run can show it was not the bottleneck. Prints one JSON line: `sent`,
//! `responses`, `elapsed_s` (first send to last response), `rate` (responses per second) and
//! `sender_cpu_s` (this process's CPU time, all threads).
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ike_crypto::rng::SeededRng;
use ike_crypto::Secret;
use ike_proto::proposal::Proposal;
use ike_proto::v2::{AuthMethod, DpdAction, Endpoint, EndpointConfig, Identity, PeerConfig};

/// Replays IKE_SA_INIT requests and counts the responses.
#[derive(Parser, Debug)]
#[command(name = "ike-replay", version)]
struct Args {
    /// Our addresses, comma-separated (one UDP socket on an ephemeral port each).
    #[arg(long, value_delimiter = ',', required = true)]
    local: Vec<IpAddr>,
    /// The responder's address (UDP 500).
    #[arg(long)]
    remote: IpAddr,
    /// Requests to send.
    #[arg(long, default_value_t = 20_000)]
    count: u32,
    /// At most this many requests unanswered at a time.
    #[arg(long, default_value_t = 256)]
    window: u64,
    /// Stop waiting for responses after this long without one.
    #[arg(long, default_value_t = 2.0)]
    quiet_s: f64,
}

fn cpu_s() -> f64 {
    // utime + stime of every thread, in clock ticks of 10 ms (USER_HZ 100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn request(remote: IpAddr) -> anyhow::Result<Vec<u8>> {
    let peer = PeerConfig {
        name: "replay".into(),
        remote_addrs: vec![remote],
        local_id: Identity::parse("replay.example.org"),
        remote_id: Identity::Any,
        local_auth: AuthMethod::Psk(Secret::from_slice(b"replay")),
        remote_auth: AuthMethod::Psk(Secret::from_slice(b"replay")),
        ike_proposals: vec![Proposal::parse_ike("aes128gcm16-prfsha256-x25519")
            .map_err(|e| anyhow::anyhow!("proposal: {e}"))?],
        children: Vec::new(),
        rekey_time: None,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        encap: false,
        life_time: None,
        version: ike_proto::config::IkeVersion::V2,
        exchange: Default::default(),
    };
    let mut e = Endpoint::new(
        EndpointConfig::default(),
        vec![peer],
        Box::new(SeededRng::new(7)),
    )
    .context("engine")?;
    e.initiate(Instant::now(), SocketAddr::new(remote, 500), "replay")
        .context("initiate")?;
    Ok(e.poll_transmit().context("no request")?.payload)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let template = request(args.remote)?;
    let socks: Vec<Arc<UdpSocket>> = args
        .local
        .iter()
        .map(|ip| UdpSocket::bind(SocketAddr::new(*ip, 0)).map(Arc::new))
        .collect::<Result<_, _>>()
        .context("binding the local addresses")?;
    let responses = Arc::new(AtomicU64::new(0));
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    let quiet = Duration::from_secs_f64(args.quiet_s);
    let mut receivers = Vec::new();
    for s in &socks {
        s.set_read_timeout(Some(quiet))?;
        let (s, responses, last) = (s.clone(), responses.clone(), last.clone());
        receivers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while s.recv_from(&mut buf).is_ok() {
                responses.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = last.lock() {
                    *l = Instant::now();
                }
            }
        }));
    }
    let to = SocketAddr::new(args.remote, 500);
    let start = Instant::now();
    let mut msg = template.clone();
    for i in 0..args.count {
        while u64::from(i).saturating_sub(responses.load(Ordering::Relaxed)) >= args.window {
            if start.elapsed() > Duration::from_secs(600) {
                anyhow::bail!("the responder stopped answering");
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        msg[..4].copy_from_slice(&i.to_be_bytes());
        msg[4..8].copy_from_slice(&[0x5a, 0xa5, 0x3c, 0xc3]);
        let s = &socks[usize::try_from(i).unwrap_or(0) % socks.len()];
        s.send_to(&msg, to).context("send")?;
    }
    for r in receivers {
        let _ = r.join();
    }
    let n = responses.load(Ordering::Relaxed);
    let end = last.lock().map(|l| *l).unwrap_or(start);
    let elapsed = end.saturating_duration_since(start).as_secs_f64();
    println!(
        "{{\"sent\":{},\"responses\":{n},\"elapsed_s\":{elapsed:.3},\"rate\":{:.0},\"sender_cpu_s\":{:.2}}}",
        args.count,
        if elapsed > 0.0 { n as f64 / elapsed } else { 0.0 },
        cpu_s()
    );
    Ok(())
}
