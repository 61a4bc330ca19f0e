//! Sans-I/O IKE protocol engines.
//!
//! An engine is driven like quinn-proto: the caller hands it datagrams
//! ([`v2::Endpoint::handle_datagram`]), tells it the time ([`v2::Endpoint::handle_timeout`]) and
//! gives it commands ([`v2::Endpoint::initiate`], [`v2::Endpoint::delete`]); it returns datagrams
//! to send ([`v2::Endpoint::poll_transmit`]), the next time it wants to be woken
//! ([`v2::Endpoint::poll_timeout`]) and events ([`v2::Endpoint::poll_event`]). There are no
//! sockets, no clock and no global RNG inside: time is a parameter and randomness comes through
//! [`ike_crypto::rng::Rng`], so every run can be replayed.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod proposal;
pub mod shard;
pub mod status;
mod table;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
mod timers;
pub mod v2;
