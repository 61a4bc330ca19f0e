//! Make-before-break without loss: the responder of a Child SA rekey installs the new
//! outbound SA only once the old Child SA is deleted (`ChildSaInstall::outbound_after_delete`),
//! because the initiator installs the new inbound SA only when the answer arrives. The
//! initiator, and every first Child SA, installs both directions at once.

mod common;

use std::time::Duration;

use common::*;
use ike_proto::v2::Event;

#[test]
fn rekey_responder_defers_its_new_outbound_sa_until_the_old_one_is_deleted() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    assert!(installs(&p.events_a)[0].outbound_after_delete.is_none());
    assert!(installs(&p.events_b)[0].outbound_after_delete.is_none());
    let (old_a, old_b) = (
        installs(&p.events_a)[0].spi_in,
        installs(&p.events_b)[0].spi_in,
    );

    // A rekeys: A is the initiator of the exchange, B the responder.
    let a = p.a.established()[0];
    let now = p.now();
    p.a.rekey_child(now, a, old_a).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && installs(&p.events_b).len() == 2
            && p.b.child_sas(p.b.established()[0]).len() == 1)
    );
    assert_eq!(installs(&p.events_a)[1].outbound_after_delete, None);
    assert_eq!(installs(&p.events_b)[1].outbound_after_delete, Some(old_b));
    // ... and B's old SA is deleted after its new one was installed: that delete is the
    // backend's signal to install the deferred outbound SA.
    let pos = |events: &[Event], f: &dyn Fn(&Event) -> bool| events.iter().position(f).unwrap();
    let installed = pos(
        &p.events_b,
        &|e| matches!(e, Event::ChildSaInstall(c) if c.outbound_after_delete == Some(old_b)),
    );
    let deleted = pos(
        &p.events_b,
        &|e| matches!(e, Event::ChildSaDelete { spi_in, .. } if *spi_in == old_b),
    );
    assert!(installed < deleted);

    // Now B rekeys: the roles swap.
    let new_a = installs(&p.events_a)[1].spi_in;
    let b = p.b.established()[0];
    let new_b = installs(&p.events_b)[1].spi_in;
    let now = p.now();
    p.b.rekey_child(now, b, new_b).unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 3
            && installs(&p.events_b).len() == 3)
    );
    assert_eq!(installs(&p.events_a)[2].outbound_after_delete, Some(new_a));
    assert_eq!(installs(&p.events_b)[2].outbound_after_delete, None);
}
