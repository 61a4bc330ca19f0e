//! Hooks for known-answer tests, compiled only with the `test-hooks` feature (which the crate's
//! own tests enable); never for production builds.
//!
//! aws-lc-rs draws ML-KEM key generation randomness itself, so an exchange cannot be replayed
//! from the injected RNG. A test that wants to check the responder's ciphertext independently
//! hands the initiator a FIPS 203 decapsulation key instead: the next additional key exchange
//! of that method started on this thread uses it.

use std::cell::RefCell;
use std::collections::VecDeque;

use ike_wire::group::DhGroup;

thread_local! {
    static KEM_KEYS: RefCell<VecDeque<(DhGroup, Vec<u8>)>> = const { RefCell::new(VecDeque::new()) };
}

/// Queues an ML-KEM decapsulation key (FIPS 203 expanded form) for the next additional key
/// exchange of `group` that this thread's engine initiates.
pub fn push_kem_decapsulation_key(group: DhGroup, dk: Vec<u8>) {
    KEM_KEYS.with(|k| k.borrow_mut().push_back((group, dk)));
}

/// Forgets every queued key.
pub fn clear_kem_keys() {
    KEM_KEYS.with(|k| k.borrow_mut().clear());
}

/// The first queued key for `group`, taken off the queue.
pub(crate) fn take_kem_key(group: DhGroup) -> Option<Vec<u8>> {
    KEM_KEYS.with(|k| {
        let mut q = k.borrow_mut();
        let pos = q.iter().position(|(g, _)| *g == group)?;
        q.remove(pos).map(|(_, dk)| dk)
    })
}
