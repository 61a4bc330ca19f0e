//! Inbound Child SA SPIs from an injected allocator (the kernel's `XFRM_MSG_ALLOCSPI` in the
//! daemon): every Child SA, first or later, takes its inbound SPI from it with the SA's
//! addresses, and a refusal fails only the Child SA that needed the SPI, answered with
//! NO_PROPOSAL_CHOSEN in IKE_AUTH and TEMPORARY_FAILURE in CREATE_CHILD_SA.

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use ike_proto::v2::{Event, IpsecProtocol, ProtocolError, SpiAllocator};

/// Hands out 0x0c000100, 0x0c000101, ... and records who asked; refuses while `refuse` is set.
#[derive(Clone, Default)]
struct Counter {
    log: Arc<Mutex<Vec<(IpAddr, IpAddr, u32)>>>,
    refuse: Arc<Mutex<bool>>,
    /// The protocol of each allocation, in order.
    protocols: Arc<Mutex<Vec<IpsecProtocol>>>,
}

impl SpiAllocator for Counter {
    fn alloc_spi(
        &mut self,
        protocol: IpsecProtocol,
        local: IpAddr,
        remote: IpAddr,
    ) -> Result<u32, String> {
        if *self.refuse.lock().unwrap() {
            return Err("no SPI today".into());
        }
        self.protocols.lock().unwrap().push(protocol);
        let mut log = self.log.lock().unwrap();
        let spi = 0x0c00_0100 + u32::try_from(log.len()).unwrap();
        log.push((local, remote, spi));
        Ok(spi)
    }
}

fn child_failed(events: &[Event]) -> Option<&ProtocolError> {
    events.iter().find_map(|e| match e {
        Event::ChildSaFailed { reason, .. } => Some(reason),
        _ => None,
    })
}

#[test]
fn every_inbound_spi_comes_from_the_allocator() {
    let mut p = pair(Side::default(), Side::responder());
    let (alloc_a, alloc_b) = (Counter::default(), Counter::default());
    p.a.set_spi_allocator(Some(Box::new(alloc_a.clone())));
    p.b.set_spi_allocator(Some(Box::new(alloc_b.clone())));
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    let (ca, cb) = (installs(&p.events_a)[0], installs(&p.events_b)[0]);
    let (ca_in, ca_out, cb_in) = (ca.spi_in, ca.spi_out, cb.spi_in);
    assert_eq!(ca_in, 0x0c00_0100);
    assert_eq!(cb_in, 0x0c00_0100);
    assert_eq!(ca_out, cb_in);
    // Asked with the SA's own addresses: local first.
    let la = alloc_a.log.lock().unwrap().clone();
    assert_eq!(la, vec![(p.addr_a.ip(), p.addr_b.ip(), 0x0c00_0100)]);
    let lb = alloc_b.log.lock().unwrap().clone();
    assert_eq!(lb, vec![(p.addr_b.ip(), p.addr_a.ip(), 0x0c00_0100)]);

    // A rekey (either side's SPI) and a second child also take theirs from the allocators.
    let (a, _) = (p.a.established()[0], p.b.established()[0]);
    let now = p.now();
    p.a.rekey_child(now, a, ca_in).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2)
    );
    let now = p.now();
    p.a.create_child(now, a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 3
            && installs(&p.events_b).len() == 3)
    );
    let spis_a: Vec<u32> = installs(&p.events_a).iter().map(|c| c.spi_in).collect();
    let spis_b: Vec<u32> = installs(&p.events_b).iter().map(|c| c.spi_in).collect();
    assert_eq!(spis_a, vec![0x0c00_0100, 0x0c00_0101, 0x0c00_0102]);
    assert_eq!(spis_b, vec![0x0c00_0100, 0x0c00_0101, 0x0c00_0102]);
}

#[test]
fn responder_refusal_in_ike_auth_fails_the_child_not_the_ike_sa() {
    let mut p = pair(Side::default(), Side::responder());
    let alloc_b = Counter::default();
    *alloc_b.refuse.lock().unwrap() = true;
    p.b.set_spi_allocator(Some(Box::new(alloc_b)));
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| established(&p.events_a)
            && child_failed(&p.events_a).is_some())
    );
    assert!(established(&p.events_b));
    assert!(installs(&p.events_a).is_empty() && installs(&p.events_b).is_empty());
    // The initiator hears NO_PROPOSAL_CHOSEN; the responder knows it was its own failure.
    assert_eq!(
        child_failed(&p.events_a),
        Some(&ProtocolError::NoProposalChosen)
    );
    assert!(matches!(
        child_failed(&p.events_b),
        Some(ProtocolError::LocalFailure(_))
    ));
}

#[test]
fn initiator_refusal_closes_the_ike_sa_before_ike_auth() {
    let mut p = pair(Side::default(), Side::responder());
    let alloc_a = Counter::default();
    *alloc_a.refuse.lock().unwrap() = true;
    p.a.set_spi_allocator(Some(Box::new(alloc_a)));
    initiate(&mut p);
    assert!(p.run_until(Duration::from_secs(10), |p| closed(&p.events_a).is_some()));
    assert!(!established(&p.events_a));
    assert!(matches!(
        closed(&p.events_a),
        Some(ike_proto::v2::CloseReason::LocalError(
            ProtocolError::LocalFailure(_)
        ))
    ));
}

#[test]
fn refusal_in_create_child_sa_is_a_temporary_failure_and_leaves_the_rest() {
    let mut p = pair(Side::default(), Side::responder());
    let (alloc_a, alloc_b) = (Counter::default(), Counter::default());
    p.a.set_spi_allocator(Some(Box::new(alloc_a.clone())));
    p.b.set_spi_allocator(Some(Box::new(alloc_b.clone())));
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    let a = p.a.established()[0];
    let first = installs(&p.events_a)[0].spi_in;

    // The responder cannot allocate: our request fails with TEMPORARY_FAILURE.
    *alloc_b.refuse.lock().unwrap() = true;
    let now = p.now();
    p.a.create_child(now, a, "net").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| child_failed(&p.events_a)
            .is_some())
    );
    // (the engine reports a received TEMPORARY_FAILURE this way, and only that)
    assert_eq!(
        child_failed(&p.events_a),
        Some(&ProtocolError::Unsupported("temporary failure"))
    );
    assert_eq!(p.a.child_sas(a).len(), 1);
    // Our own allocator refuses a rekey: the rekey fails locally and the child stays, and a
    // later rekey (allocator back) still works, so the child was not left marked busy.
    *alloc_b.refuse.lock().unwrap() = false;
    *alloc_a.refuse.lock().unwrap() = true;
    p.events_a.clear();
    let now = p.now();
    p.a.rekey_child(now, a, first).unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| child_failed(&p.events_a)
            .is_some())
    );
    assert!(matches!(
        child_failed(&p.events_a),
        Some(ProtocolError::LocalFailure(_))
    ));
    assert_eq!(p.a.child_sas(a).len(), 1);
    *alloc_a.refuse.lock().unwrap() = false;
    let now = p.now();
    p.a.rekey_child(now, a, first).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    assert_ne!(installs(&p.events_a)[0].spi_in, first);
    assert!(p.a.is_established(a));
}

#[test]
fn an_ah_child_asks_the_allocator_for_an_ah_spi() {
    let mut p = pair(
        Side {
            ah: &["sha256"],
            ..Side::default()
        },
        Side {
            ah: &["sha256"],
            ..Side::responder()
        },
    );
    let (alloc_a, alloc_b) = (Counter::default(), Counter::default());
    p.a.set_spi_allocator(Some(Box::new(alloc_a.clone())));
    p.b.set_spi_allocator(Some(Box::new(alloc_b.clone())));
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    assert_eq!(installs(&p.events_a)[0].spi_in, 0x0c00_0100);
    assert_eq!(installs(&p.events_a)[0].protocol, IpsecProtocol::Ah);
    assert_eq!(*alloc_a.protocols.lock().unwrap(), [IpsecProtocol::Ah]);
    assert_eq!(*alloc_b.protocols.lock().unwrap(), [IpsecProtocol::Ah]);
    // An ESP child still asks for ESP SPIs.
    let mut p = pair(Side::default(), Side::responder());
    let alloc = Counter::default();
    p.a.set_spi_allocator(Some(Box::new(alloc.clone())));
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1)
    );
    assert_eq!(*alloc.protocols.lock().unwrap(), [IpsecProtocol::Esp]);
}
