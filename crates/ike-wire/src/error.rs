//! Typed errors of the codec.

use thiserror::Error;

/// A message could not be parsed: what was wrong ([`DecodeErrorKind`]) and the byte offset, from
/// the start of the buffer handed to the parser, where it was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("{kind} at offset {offset}")]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// Byte offset from the start of the parsed buffer.
    pub offset: usize,
}

impl DecodeError {
    /// A new error of `kind` at `offset`.
    pub const fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }
}

/// The rule a malformed message broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The message is longer than [`crate::MAX_MESSAGE_LEN`]; refused before parsing.
    #[error("message of {len} bytes exceeds the 64 KiB limit")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Fewer bytes remain than a structure needs.
    #[error("truncated {what}: needs {needed} bytes, {available} available")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes that remain.
        available: usize,
    },
    /// The header's length field disagrees with the size of the datagram.
    #[error("header length {header} but the datagram has {actual} bytes")]
    LengthMismatch {
        /// Length field of the header.
        header: u32,
        /// Datagram size.
        actual: usize,
    },
    /// A length field is smaller than the fixed part of its structure.
    #[error("{what} length {length} is shorter than its {minimum}-byte fixed part")]
    LengthTooShort {
        /// The structure.
        what: &'static str,
        /// The length field.
        length: usize,
        /// The smallest valid length.
        minimum: usize,
    },
    /// A length field runs past the end of its parent structure.
    #[error("{what} length {length} overruns its parent ({available} bytes remain)")]
    LengthOverrun {
        /// The structure.
        what: &'static str,
        /// The length field.
        length: usize,
        /// Bytes that remain in the parent.
        available: usize,
    },
    /// Bytes remain after a structure that should have consumed all of them.
    #[error("{count} trailing bytes after {what}")]
    TrailingBytes {
        /// What ended early.
        what: &'static str,
        /// How many bytes are left over.
        count: usize,
    },
    /// The major version is neither 1 nor 2 (or not what the parser expected).
    #[error("unsupported major version {major}")]
    UnsupportedMajorVersion {
        /// The major version nibble.
        major: u8,
    },
    /// The next-payload chain ended while bytes remain, or named a payload where the bytes ran out.
    #[error("next-payload chain names payload type {next} but the message has ended")]
    ChainOverrun {
        /// The payload type the chain still expected.
        next: u8,
    },
    /// An IKEv2 payload type this codec does not know arrived with its critical bit set (RFC 7296
    /// §2.5): the engine answers with UNSUPPORTED_CRITICAL_PAYLOAD carrying this type.
    #[error("unsupported critical payload type {payload_type}")]
    UnsupportedCriticalPayload {
        /// The payload type.
        payload_type: u8,
    },
    /// A substructure count field disagrees with the substructures found.
    #[error("{what} count {declared} but {found} found")]
    CountMismatch {
        /// The counted substructure.
        what: &'static str,
        /// The count field.
        declared: usize,
        /// What was found.
        found: usize,
    },
    /// A "last substructure" / next-payload field inside an SA payload has a value that is not
    /// allowed there (RFC 7296 §3.3.1, RFC 2408 §3.5).
    #[error("{what} has next/last field {value}, expected {expected}")]
    BadSubstructureMarker {
        /// The substructure.
        what: &'static str,
        /// The value found.
        value: u8,
        /// What is allowed.
        expected: &'static str,
    },
    /// Proposal numbers are out of order (RFC 7296 §3.3.1, RFC 2408 §4.2).
    #[error("proposal number {found} follows {previous}")]
    ProposalNumbering {
        /// Number of the previous proposal.
        previous: u8,
        /// Number of this one.
        found: u8,
    },
    /// A transform or data attribute ran past the end of its container.
    #[error("attribute of type {attr_type} overruns its transform")]
    AttributeOverrun {
        /// The attribute type.
        attr_type: u16,
    },
    /// A payload appears where the rules forbid it (an SK payload that is not last, a Proposal
    /// payload outside an SA, ...).
    #[error("payload type {payload_type} is not allowed here: {rule}")]
    MisplacedPayload {
        /// The payload type.
        payload_type: u8,
        /// The rule it broke.
        rule: &'static str,
    },
    /// A field holds a value the format forbids.
    #[error("invalid {field}: {value}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
    },
    /// The SA payload's situation is one this codec cannot delimit (IPsec DOI secrecy or integrity
    /// labels, RFC 2407 §4.6.1).
    #[error(
        "unsupported IPsec situation {situation:#x}: labelled secrecy/integrity is not implemented"
    )]
    UnsupportedSituation {
        /// The situation bitmap.
        situation: u32,
    },
}

/// A value cannot be encoded on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A structure is longer than its length field can express.
    #[error("{what} of {len} bytes does not fit its length field")]
    TooLong {
        /// The structure.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A count (of proposals, transforms, SPIs, selectors) does not fit its field.
    #[error("too many {what}: {count}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many.
        count: usize,
    },
    /// Values that must agree do not (an SPI whose length differs from the declared SPI size, an
    /// address whose family does not match the selector type, ...).
    #[error("inconsistent {what}")]
    Inconsistent {
        /// What disagrees.
        what: &'static str,
    },
}
