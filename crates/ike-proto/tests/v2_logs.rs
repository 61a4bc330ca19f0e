//! What the engine logs through `tracing` at debug level (target `ike`): every message sent and
//! received with its exchange, message ID, payloads and peer, inside a span naming the
//! connection and SPIs; retransmissions; and every dropped datagram with its reason.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use ike_proto::v2::DropReason;
use ike_testkit::sim::Faults;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged(f: impl FnOnce()) -> String {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("ike=debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let out = buf.0.lock().unwrap().clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn messages_retransmissions_and_drops_are_logged_in_rfc_terms() {
    let mut retransmissions = 0;
    let log = logged(|| {
        // 40 % loss so that something is retransmitted.
        let mut p = pair_with(
            Side::default(),
            Side::responder(),
            Default::default(),
            Faults::lossy(0.4),
            3,
        );
        initiate(&mut p);
        assert!(
            p.run_until(Duration::from_secs(60), |p| installs(&p.events_a).len()
                == 1
                && installs(&p.events_b).len() == 1)
        );
        let (now, a, b) = (p.now(), p.addr_a, p.addr_b);
        p.b.handle_datagram(now, b, a, b"garbage");
        assert_eq!(p.b.stats().drops.get(DropReason::Undecodable), 1);
        retransmissions = p.a.stats().retransmissions + p.b.stats().retransmissions;
    });
    if std::env::var_os("SHOW_LOG").is_some() {
        eprintln!("{log}");
    }
    for want in [
        "sending IKE_SA_INIT request 0 [SA KE Ni/Nr N(",
        "received IKE_SA_INIT request 0 [SA KE Ni/Nr",
        "sending IKE_SA_INIT response 0 [SA KE Ni/Nr",
        "sending IKE_AUTH request 1 [IDi",
        "received IKE_AUTH request 1 [IDi",
        "AUTH SA TSi TSr",
        "received IKE_AUTH response 1 [IDr AUTH",
        "ike_sa{conn=site-b spi_i=",
        "ike_sa{conn=site-a spi_i=",
        "retransmitting",
        "from 10.77.0.1:500",
        "dropped 7 bytes from 10.77.0.1:500: not a valid IKE message",
    ] {
        assert!(log.contains(want), "missing {want:?} in:\n{log}");
    }
    // Every retransmission logged is counted (AdmissionStats::retransmissions).
    let logged_retransmissions = log.matches("retransmitting ").count() as u64;
    assert!(logged_retransmissions > 0);
    assert_eq!(retransmissions, logged_retransmissions, "{log}");
    // No Rust type name reaches a user.
    for bad in ["Auth ", "RequestKind", "Some(", "IkeAuth", "Notify {"] {
        assert!(!log.contains(bad), "{bad:?} in:\n{log}");
    }
}

/// Why an IKE SA ended or is being deleted, as logs and `ike up` show it: RFC names for
/// notifies, never a Rust variant name.
#[test]
fn close_and_delete_reasons_read_in_rfc_terms() {
    use ike_proto::v2::{CloseReason, DeletingReason};
    use ike_wire::v2::NotifyType;
    assert_eq!(
        CloseReason::PeerError(NotifyType::NoProposalChosen).to_string(),
        "the peer refused with NO_PROPOSAL_CHOSEN"
    );
    assert_eq!(
        CloseReason::PeerError(NotifyType::AuthenticationFailed).to_string(),
        "the peer refused with AUTHENTICATION_FAILED"
    );
    assert_eq!(
        CloseReason::Replaced.to_string(),
        "replaced (the peer sent INITIAL_CONTACT)"
    );
    assert_eq!(
        DeletingReason::HardLifetime(Duration::from_secs(90)).to_string(),
        "reached its hard lifetime (90s) without a rekey"
    );
    for r in [
        CloseReason::Deleted,
        CloseReason::DeletedByPeer,
        CloseReason::Timeout,
        CloseReason::HalfOpenExpired,
        CloseReason::Rekeyed,
    ] {
        let text = r.to_string();
        assert!(
            text.chars().next().is_some_and(char::is_lowercase) && !text.contains("::"),
            "{text}"
        );
    }
}

/// A flood of undecodable and unknown-version datagrams is counted in full but logged at most
/// ten lines a second; the next line logged says how many were not.
#[test]
fn drops_before_any_sa_are_logged_rate_limited_and_all_counted() {
    let mut p = pair_with(
        Side::default(),
        Side::responder(),
        Default::default(),
        Faults::none(),
        5,
    );
    let (a, b) = (p.addr_a, p.addr_b);
    let t0 = p.now();
    // An ISAKMP header (version 1.0) with no IKEv1 connection configured.
    let mut v1 = vec![0x11; 8];
    v1.extend_from_slice(&[0; 8]);
    v1.extend_from_slice(&[1, 0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 28]);
    let log = logged(|| {
        for i in 0..500u32 {
            let m: &[u8] = if i % 2 == 0 { b"garbage" } else { &v1 };
            p.b.handle_datagram(t0, b, a, m);
        }
        // A second later: logged again, with the count of the unlogged.
        p.b.handle_datagram(t0 + Duration::from_millis(1001), b, a, b"garbage");
    });
    let drops = p.b.stats().drops;
    assert_eq!(drops.get(DropReason::Undecodable), 251);
    assert_eq!(drops.get(DropReason::UnsupportedVersion), 250);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("dropped")).collect();
    assert_eq!(lines.len(), 11, "{log}");
    assert!(
        lines[10].ends_with("(490 more such drops were not logged)"),
        "{}",
        lines[10]
    );
    assert!(
        lines[1].contains("no IKEv1 connection is configured"),
        "{}",
        lines[1]
    );
}
