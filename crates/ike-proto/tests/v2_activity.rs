//! `Endpoint::activity`: what status displays call REKEYING and DELETING, set while our
//! exchange is under way and cleared when it completes.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn rekeys_and_deletes_show_while_under_way() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    let a = p.a.established()[0];
    let first = installs(&p.events_a)[0].spi_in;
    let idle = p.a.activity(a).unwrap();
    assert!(!idle.rekeying);
    assert_eq!(idle.children.len(), 1);
    assert!(!idle.children[0].rekeying && !idle.children[0].deleting);

    // A Child SA rekey: REKEYING until the exchange is done, then only the new SA, idle.
    let now = p.now();
    p.a.rekey_child(now, a, first).unwrap();
    let act = p.a.activity(a).unwrap();
    assert!(act.children.iter().any(|c| c.spi_in == first && c.rekeying));
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 2
            && p.a.child_sas(a).len() == 1)
    );
    let act = p.a.activity(a).unwrap();
    assert_eq!(act.children.len(), 1);
    assert_ne!(act.children[0].spi_in, first);
    assert!(!act.children[0].rekeying);

    // A Child SA delete: DELETING until the peer answers.
    let second = act.children[0].spi_in;
    let now = p.now();
    p.a.delete_child(now, a, second).unwrap();
    let act = p.a.activity(a).unwrap();
    assert!(act.children[0].deleting && !act.children[0].rekeying);
    assert!(p.run_until(Duration::from_secs(10), |p| p.a.child_sas(a).is_empty()));

    // An IKE SA rekey: REKEYING on the old SA until the new one takes over.
    let now = p.now();
    p.a.rekey_ike(now, a).unwrap();
    assert!(p.a.activity(a).unwrap().rekeying);
    assert!(p.run_until(Duration::from_secs(10), |p| p.a.activity(a).is_none()));
    let new = p.a.established()[0];
    assert!(!p.a.activity(new).unwrap().rekeying);
    assert!(p.a.activity(new).unwrap().children.is_empty());
}
