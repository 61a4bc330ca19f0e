//! The byte reader and writer shared by both protocol versions.

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// A cursor over a borrowed buffer. Offsets in errors are absolute: `base` is the offset of the
/// reader's first byte within the buffer the caller handed to the top-level parser.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, reporting offsets from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_base(buf, 0)
    }

    /// A reader over `buf`, whose first byte is at absolute offset `base`.
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(self.error(DecodeErrorKind::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            })),
        }
    }

    /// Takes every remaining byte.
    pub fn rest(&mut self) -> &'a [u8] {
        let bytes = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        bytes
    }

    /// Takes `n` bytes as a sub-reader whose offsets continue this reader's.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        let bytes = self.take(n, what)?;
        Ok(Reader::with_base(bytes, base))
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Fails with [`DecodeErrorKind::TrailingBytes`] unless every byte has been read.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingBytes {
                what,
                count: self.remaining(),
            }))
        }
    }
}

/// Appends big-endian fields to a caller's buffer and patches length fields afterwards.
#[derive(Debug)]
pub struct Writer<'b> {
    out: &'b mut Vec<u8>,
}

impl<'b> Writer<'b> {
    /// A writer appending to `out`.
    pub fn new(out: &'b mut Vec<u8>) -> Self {
        Self { out }
    }

    /// Current length of the buffer (the offset the next byte will have).
    pub fn position(&self) -> usize {
        self.out.len()
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }

    /// Appends `n` zero bytes (reserved fields).
    pub fn zeros(&mut self, n: usize) {
        self.out.resize(self.out.len() + n, 0);
    }

    /// Writes `len` as a big-endian u16 at `at` (a placeholder written earlier).
    pub fn patch_u16(
        &mut self,
        at: usize,
        len: usize,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        let v = u16::try_from(len).map_err(|_| EncodeError::TooLong { what, len })?;
        match self.out.get_mut(at..at + 2) {
            Some(slot) => {
                slot.copy_from_slice(&v.to_be_bytes());
                Ok(())
            }
            None => Err(EncodeError::Inconsistent { what }),
        }
    }

    /// Writes `len` as a big-endian u32 at `at`.
    pub fn patch_u32(
        &mut self,
        at: usize,
        len: usize,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        let v = u32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })?;
        match self.out.get_mut(at..at + 4) {
            Some(slot) => {
                slot.copy_from_slice(&v.to_be_bytes());
                Ok(())
            }
            None => Err(EncodeError::Inconsistent { what }),
        }
    }

    /// Writes one byte at `at`.
    pub fn patch_u8(&mut self, at: usize, v: u8, what: &'static str) -> Result<(), EncodeError> {
        match self.out.get_mut(at) {
            Some(slot) => {
                *slot = v;
                Ok(())
            }
            None => Err(EncodeError::Inconsistent { what }),
        }
    }
}

/// Converts a count to `u8` or reports that there are too many.
pub(crate) fn count_u8(n: usize, what: &'static str) -> Result<u8, EncodeError> {
    u8::try_from(n).map_err(|_| EncodeError::TooMany { what, count: n })
}

/// Converts a count to `u16` or reports that there are too many.
pub(crate) fn count_u16(n: usize, what: &'static str) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::TooMany { what, count: n })
}
