//! The IKEv1 engine (RFC 2409 on ISAKMP, RFC 2408, with the IPsec DOI, RFC 2407): Main,
//! Aggressive, Quick, New Group and Informational exchanges. Not implemented yet.
//!
//! It goes here as the SA table's second tenant (`crate::table::TableSa`, with our ISAKMP cookie
//! as the SPI that routes messages), arming the same timer queue and admission counters, and
//! reporting through the same events, drop reasons and status types as `v2`. Until it exists,
//! [`crate::Endpoint::handle_datagram`] counts every ISAKMP message as
//! [`crate::status::DropReason::UnsupportedVersion`] and logs it at debug level; `ike-wire::v1`
//! (the codec) and `ike-crypto::kdf::v1` (the key schedule) are ready for it.
