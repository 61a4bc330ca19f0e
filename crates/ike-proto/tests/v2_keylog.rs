//! Key export for a key log (`EndpointConfig::export_keys`): off by default; when on, the
//! SK_e/SK_a keys of each IKE SA under its SPIs, and a rekeyed IKE SA's new ones. (That they
//! are the right keys is checked by tshark decrypting a capture with the daemon's key log, in
//! crates/ike/tests/keylog.rs.)

mod common;

use std::time::Duration;

use common::*;
use ike_proto::v2::{EndpointConfig, Event, IkeSaKeys};
use ike_testkit::sim::Faults;

fn keys(events: &[Event]) -> Vec<&IkeSaKeys> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaKeys(k) => Some(k.as_ref()),
            _ => None,
        })
        .collect()
}

#[test]
fn no_keys_leave_the_engine_by_default() {
    let mut p = pair(Side::default(), Side::responder());
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_a).len()
            == 1
            && installs(&p.events_b).len() == 1)
    );
    assert!(keys(&p.events_a).is_empty() && keys(&p.events_b).is_empty());
}

#[test]
fn both_ends_export_the_same_keys_and_rekeys_export_new_ones() {
    let export = EndpointConfig {
        export_keys: true,
        ..EndpointConfig::default()
    };
    let mut p = pair_with(
        Side::default(),
        Side::responder(),
        export,
        Faults::none(),
        3,
    );
    initiate(&mut p);
    assert!(
        p.run_until(Duration::from_secs(10), |p| installs(&p.events_b).len()
            == 1
            && installs(&p.events_a).len() == 1)
    );
    // Only B (the responder) was configured to export.
    assert!(keys(&p.events_a).is_empty());
    let kb = keys(&p.events_b);
    assert_eq!(kb.len(), 1);
    let k = kb[0];
    assert_eq!(k.connection, "site-a");
    assert_ne!(k.spi_r, [0; 8]);
    // aes128gcm16: 16-byte key and 4-byte salt each way, no integrity keys.
    assert_eq!((k.sk_ei.len(), k.sk_er.len()), (20, 20));
    assert!(k.sk_ai.is_empty() && k.integ.is_none());
    assert_ne!(k.sk_ei.expose(), k.sk_er.expose());
    let first = (k.spi_i, k.spi_r, k.sk_ei.expose().to_vec());

    // An IKE SA rekey gives the new SA new SPIs and keys.
    let a = p.a.established()[0];
    let now = p.now();
    p.a.rekey_ike(now, a).unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| keys(&p.events_b).len() == 2));
    let k2 = keys(&p.events_b)[1];
    assert_ne!((k2.spi_i, k2.spi_r), (first.0, first.1));
    assert_ne!(k2.sk_ei.expose(), first.2.as_slice());
}
