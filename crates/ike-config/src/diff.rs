//! What a reload changes in a connection, key by key (`ike reload`, SIGHUP).
//!
//! Keys fall in two kinds. Timers, dead peer detection and start actions apply to a running SA
//! at its next rekey (or next check) without disturbing it, as strongSwan applies them; so does
//! a changed pre-shared key (it authenticates the next handshake). Everything else (addresses,
//! identities, authentication methods, proposals, selectors, modes) changes what the SAs were
//! negotiated for: their IKE SAs are deleted (the peer told) and the connection starts again if
//! it starts at load.

use ike_proto::v2::{AuthMethod, ChildConfig};

use crate::Connection;

/// One changed key of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key as the file names it under the connection (`rekey_time`, `local.id`,
    /// `children.net.esp_proposals`, ...).
    pub key: String,
    /// Whether the running SAs can keep going and take it at their next rekey.
    pub keeps_sas: bool,
}

/// The keys of `new` that differ from `old` (the same connection name), in file order.
pub fn changes(old: &Connection, new: &Connection) -> Vec<Change> {
    let mut out = Vec::new();
    let mut note = |key: &str, keeps_sas: bool| {
        out.push(Change {
            key: key.to_owned(),
            keeps_sas,
        });
    };
    let (o, n) = (&old.peer, &new.peer);
    let differ =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    if old.version != new.version {
        note("version", false);
    }
    if old.local_addrs != new.local_addrs {
        note("local_addrs", false);
    }
    if old.remote_addrs != new.remote_addrs {
        note("remote_addrs", false);
    }
    if differ(&o.ike_proposals, &n.ike_proposals) {
        note("proposals", false);
    }
    if o.exchange != n.exchange {
        note("exchange", false);
    }
    if o.encap != n.encap {
        note("encap", false);
    }
    if o.dpd_delay != n.dpd_delay {
        note("dpd_delay", true);
    }
    if o.dpd_action != n.dpd_action {
        note("dpd_action", true);
    }
    if o.rekey_time != n.rekey_time {
        note("rekey_time", true);
    }
    if old.ike_life_time != new.ike_life_time || o.life_time != n.life_time {
        note("life_time", true);
    }
    for (side, (oa, na), (oi, ni)) in [
        (
            "local",
            (&o.local_auth, &n.local_auth),
            (&o.local_id, &n.local_id),
        ),
        (
            "remote",
            (&o.remote_auth, &n.remote_auth),
            (&o.remote_id, &n.remote_id),
        ),
    ] {
        if oi != ni {
            note(&format!("{side}.id"), false);
        }
        match (oa, na) {
            (AuthMethod::Psk(a), AuthMethod::Psk(b))
                if !ike_crypto::ct_eq(a.expose(), b.expose()) =>
            {
                note(&format!("{side}.secret"), true);
            }
            (AuthMethod::Psk(_), AuthMethod::Psk(_)) => {}
            (a, b) if differ(a, b) => note(&format!("{side}.auth"), false),
            _ => {}
        }
    }
    let names =
        |c: &Connection| -> Vec<String> { c.children.iter().map(|x| x.name.clone()).collect() };
    let (old_names, new_names) = (names(old), names(new));
    for name in &old_names {
        if !new_names.contains(name) {
            note(&format!("children.{name}"), false);
        }
    }
    for name in &new_names {
        let key = |k: &str| format!("children.{name}.{k}");
        let (Some((nd, nc)), Some((od, oc))) = (new.child(name), old.child(name)) else {
            // A new child: the running IKE SAs are unaffected; it starts with the next
            // initiation (or `ike up`).
            note(&format!("children.{name}"), true);
            continue;
        };
        for (k, changed) in child_changes(oc, nc) {
            if changed {
                note(&key(k), matches!(k, "rekey_time" | "life_time"));
            }
        }
        if od.start_action != nd.start_action {
            note(&key("start_action"), true);
        }
    }
    out
}

/// Each key of a child and whether it changed.
fn child_changes(o: &ChildConfig, n: &ChildConfig) -> [(&'static str, bool); 7] {
    let d = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    [
        ("local_ts", d(&o.local_ts, &n.local_ts)),
        ("remote_ts", d(&o.remote_ts, &n.remote_ts)),
        ("esp_proposals", d(&o.esp_proposals, &n.esp_proposals)),
        ("ah_proposals", d(&o.ah_proposals, &n.ah_proposals)),
        ("mode", d(&o.mode, &n.mode)),
        ("rekey_time", o.rekey_time != n.rekey_time),
        ("life_time", o.life_time != n.life_time),
    ]
}
