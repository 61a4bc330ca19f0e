//! Simultaneous rekeys (RFC 7296 §2.8.1 for Child SAs, §2.8.2 for IKE SAs): the nonce rule that
//! says which of the two new SAs is redundant. The exchanges that meet it are in `initiator`,
//! `responder` and `ike_rekey`.

/// A peer's rekey of a Child SA we were rekeying ourselves (RFC 7296 §2.8.1).
#[derive(Clone, Debug)]
pub(crate) struct Collision {
    /// The nonces of the peer's exchange (its Ni, our Nr).
    pub(super) nonces: [Vec<u8>; 2],
}

/// Whether our exchange created the redundant SA: the SA created with the lowest of the four
/// nonces is closed by the endpoint that created it (§2.8.1, §2.8.2). Nonces compare octet by
/// octet, and a nonce that is a prefix of another is the lower, which is Rust's slice order.
pub(crate) fn ours_is_redundant(our_exchange: [&[u8]; 2], their_exchange: [&[u8]; 2]) -> bool {
    let ours = our_exchange.iter().min();
    let theirs = their_exchange.iter().min();
    ours < theirs
}
