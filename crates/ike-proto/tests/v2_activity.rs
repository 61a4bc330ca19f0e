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

/// `Endpoint::status`: the engine's own view of each IKE SA and Child SA (the daemon keeps no
/// copy), with strongSwan's state words through a handshake, a Child SA rekey, an IKE SA rekey
/// and a delete, on both sides.
#[test]
fn status_follows_the_sa_through_its_life() {
    use ike_proto::v2::{ChildSaState, Identity, IkeSaState, Mode};
    let mut p = pair(
        Side {
            ike_rekey: Some(Duration::from_secs(3600)),
            ..Side::default()
        },
        Side::responder(),
    );
    let h = initiate(&mut p);
    let s = p.a.sa_status(h, p.now()).unwrap();
    assert_eq!(s.state, IkeSaState::Connecting);
    assert!(s.initiator && s.proposal.is_none() && s.local_id.is_none());
    assert_eq!(s.spi_r, [0; 8]);
    // The responder's half-open SA, after IKE_SA_INIT.
    assert!(p.run_until(Duration::from_secs(10), |p| p.b.half_open_count() == 1));
    let b0 = p.b.status(p.now());
    assert_eq!(b0.len(), 1);
    assert_eq!(b0[0].state, IkeSaState::Connecting);
    assert!(!b0[0].initiator);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    p.run_for(Duration::from_secs(10));
    let (sa, sb) = (&p.a.status(p.now())[0], &p.b.status(p.now())[0]);
    for s in [sa, sb] {
        assert_eq!(s.state, IkeSaState::Established);
        assert_eq!(s.proposal.as_deref(), Some("aes128gcm16-prfsha256-x25519"));
        // The network's delay separates the two ends' establishment by milliseconds.
        let up = s.established_for.unwrap();
        assert!(
            up >= Duration::from_secs(10) && up < Duration::from_millis(10_100),
            "{up:?}"
        );
        assert_eq!(s.children.len(), 1);
        assert_eq!(s.children[0].state, ChildSaState::Installed);
        assert_eq!(s.children[0].proposal, "aes128gcm16");
        assert_eq!(s.children[0].mode, Mode::Tunnel);
    }
    assert_eq!((sa.spi_i, sa.spi_r), (sb.spi_i, sb.spi_r));
    assert_eq!(sa.local_id, Some(Identity::parse("a.example.org")));
    assert_eq!(sa.remote_id, Some(Identity::parse("b.example.org")));
    assert_eq!(sb.remote_id, Some(Identity::parse("a.example.org")));
    let rekey = sa.rekey_in.unwrap();
    assert!(rekey <= Duration::from_secs(3590) && rekey >= Duration::from_secs(3230));
    assert_eq!(sb.rekey_in, None);
    assert_eq!(sa.children[0].spi_in, sb.children[0].spi_out);
    assert_eq!(sa.children[0].local_ts, sb.children[0].remote_ts);

    let a = sa.sa;
    let first = sa.children[0].spi_in;
    let now = p.now();
    p.a.rekey_child(now, a, first).unwrap();
    let s = p.a.sa_status(a, now).unwrap();
    assert_eq!(s.children[0].state, ChildSaState::Rekeying);
    assert_eq!(s.state, IkeSaState::Established);
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.a.child_sas(a).len() == 1
            && p.a.child_sas(a)[0].1 != first)
    );

    let now = p.now();
    p.a.rekey_ike(now, a).unwrap();
    assert_eq!(p.a.sa_status(a, now).unwrap().state, IkeSaState::Rekeying);
    assert!(p.run_until(Duration::from_secs(10), |p| p
        .a
        .sa_status(a, p.now())
        .is_none()));
    let new = p.a.established()[0];
    let s = p.a.sa_status(new, p.now()).unwrap();
    assert_eq!(s.state, IkeSaState::Established);
    assert_eq!(s.children.len(), 1, "the Child SA moved to the new IKE SA");

    let now = p.now();
    p.a.delete(now, new).unwrap();
    let s = p.a.sa_status(new, now).unwrap();
    assert_eq!(s.state, IkeSaState::Deleting);
    assert_eq!(s.children[0].state, ChildSaState::Deleting);
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.a.status(p.now()).is_empty()
            && p.b.status(p.now()).is_empty())
    );
}
