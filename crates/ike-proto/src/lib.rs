//! Sans-I/O IKE protocol engines.
//!
//! An engine is driven like quinn-proto: the caller hands it datagrams
//! ([`Endpoint::handle_datagram`]), tells it the time ([`Endpoint::handle_timeout`]) and
//! gives it commands ([`Endpoint::initiate`], [`Endpoint::delete`]); it returns datagrams
//! to send ([`Endpoint::poll_transmit`]), the next time it wants to be woken
//! ([`Endpoint::poll_timeout`]), events ([`Endpoint::poll_event`]) and its status
//! ([`Endpoint::status`]). There are no sockets, no clock and no global RNG inside: time is a
//! parameter and randomness comes through [`ike_crypto::rng::Rng`], so every run can be
//! replayed.
//!
//! The parts both IKE versions share sit at the crate root: the endpoint's front ([`Endpoint`],
//! [`Event`], [`SaHandle`], [`CloseReason`], [`Transmit`]), the connections ([`config`]), Child
//! SAs and what the kernel gets ([`ipsec`]), proposals ([`proposal`]), status and drop reasons
//! ([`status`]), the SA table and timer queue (private), and shards ([`shard`]). `v2` holds
//! IKEv2's exchanges; IKEv1's go in `v1` beside it.
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

pub mod config;
pub mod ipsec;
pub mod proposal;
pub mod shard;
pub mod status;
mod table;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
mod timers;
pub mod v1;
pub mod v2;

pub use v2::{CloseReason, Endpoint, EngineError, Event, SaHandle, Transmit};
