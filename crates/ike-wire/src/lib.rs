//! Zero-copy codec for ISAKMP/IKEv1 (RFC 2408, RFC 2409, RFC 2407) and IKEv2 (RFC 7296) messages.
//!
//! # Contract
//! - **Parsing** borrows from the datagram: payload bodies, SPIs, nonces and attribute values are
//!   `&[u8]` slices of the input. Nothing is copied except small fixed fields.
//! - Parsing is **strict**: every length field is checked against the bytes that remain and against
//!   the length of its parent; a chain of next-payload fields that runs off the end, trailing bytes
//!   after the last payload, a substructure count that disagrees with what was found, all give a
//!   [`DecodeError`] carrying a [`DecodeErrorKind`] and the byte offset (from the start of the
//!   buffer handed to the parser) where the problem was seen. Nothing panics on any input; nothing
//!   recurses; every allocation is bounded by the input size, and input over
//!   [`MAX_MESSAGE_LEN`] is refused before parsing.
//! - **Reserved fields** are ignored on receipt and written as zero, as RFC 7296 §3 and RFC 2408 §3
//!   require, so `encode(decode(x)) == x` holds for every message whose reserved bits are zero.
//! - **Encoding** appends to a caller's `Vec<u8>` and computes every length, count and
//!   next-payload field itself. It fails only when a value cannot be represented (a body longer
//!   than a 16-bit length allows, an SPI longer than 255 bytes, ...): see [`EncodeError`].
//! - IANA registries are `#[non_exhaustive]` enums with an `Unknown(n)` arm, so numbers this crate
//!   has no name for survive a round trip.
//!
//! IKEv1 and IKEv2 have separate payload types ([`v1::Payload`], [`v2::Payload`]): mixing them
//! produced strongSwan CVE-2015-3991.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

#[macro_use]
mod registry;
pub mod attr;
mod codec;
mod error;
pub mod group;
pub mod v1;
pub mod v2;

pub use codec::{Reader, Writer};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};

/// Largest message the parsers accept (64 KiB). Anything longer is refused before parsing.
pub const MAX_MESSAGE_LEN: usize = 65_536;

/// Length of the fixed ISAKMP / IKEv2 header (RFC 2408 §3.1, RFC 7296 §3.1).
pub const HEADER_LEN: usize = 28;

/// Which protocol a datagram claims to speak, read from its header's major version nibble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IkeVersion {
    /// ISAKMP major version 1 (IKEv1).
    V1,
    /// Major version 2 (IKEv2).
    V2,
}

/// Reads the major version of an IKE message without parsing it, so that a caller can hand the
/// datagram to the right engine. Returns an error for a message shorter than the header or with a
/// major version other than 1 or 2.
pub fn peek_version(datagram: &[u8]) -> Result<IkeVersion, DecodeError> {
    let version = match datagram.get(17) {
        Some(v) if datagram.len() >= HEADER_LEN => *v,
        _ => {
            return Err(DecodeError::new(
                DecodeErrorKind::Truncated {
                    what: "IKE header",
                    needed: HEADER_LEN,
                    available: datagram.len(),
                },
                0,
            ))
        }
    };
    match version >> 4 {
        1 => Ok(IkeVersion::V1),
        2 => Ok(IkeVersion::V2),
        major => Err(DecodeError::new(
            DecodeErrorKind::UnsupportedMajorVersion { major },
            17,
        )),
    }
}

/// The four zero bytes that precede an IKE message on UDP port 4500 (RFC 3948 §2.2, RFC 7296
/// §2.23).
pub const NON_ESP_MARKER: [u8; 4] = [0, 0, 0, 0];

/// What a datagram received on UDP port 4500 carries (RFC 3948 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port4500<'a> {
    /// An IKE message (the non-ESP marker removed).
    Ike(&'a [u8]),
    /// An ESP packet (starts with a non-zero SPI).
    Esp(&'a [u8]),
    /// A NAT-keepalive (a single 0xff byte).
    Keepalive,
}

/// Classifies a UDP 4500 payload: IKE behind a non-ESP marker, ESP, or a NAT-keepalive.
pub fn classify_port_4500(payload: &[u8]) -> Result<Port4500<'_>, DecodeError> {
    match payload {
        [0xff] => Ok(Port4500::Keepalive),
        [0, 0, 0, 0, rest @ ..] => Ok(Port4500::Ike(rest)),
        p if p.len() >= 8 => Ok(Port4500::Esp(p)),
        p => Err(DecodeError::new(
            DecodeErrorKind::Truncated {
                what: "UDP-encapsulated packet",
                needed: 8,
                available: p.len(),
            },
            0,
        )),
    }
}
