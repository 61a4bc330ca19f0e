//! Secret bytes: zeroized on drop, never printed.

use zeroize::Zeroizing;

/// Secret key material. Its memory is zeroized on drop and its `Debug` output shows only the
/// length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Splits off the first `n` bytes as a new secret (for carving keys out of key material).
    pub fn take_prefix(&mut self, n: usize) -> Option<Secret> {
        if n > self.0.len() {
            return None;
        }
        let rest = Zeroizing::new(self.0.split_off(n));
        let head = std::mem::replace(&mut self.0, rest);
        Some(Secret(head))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<redacted {} bytes>)", self.0.len())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_print_the_bytes() {
        let s = Secret::from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let shown = format!("{s:?}");
        assert_eq!(shown, "Secret(<redacted 4 bytes>)");
        assert!(!shown.contains("de") && !shown.contains("222"));
    }

    #[test]
    fn take_prefix_splits_in_order() {
        let mut s = Secret::from_slice(&[1, 2, 3, 4, 5]);
        assert_eq!(s.take_prefix(2).unwrap().expose(), &[1, 2]);
        assert_eq!(s.expose(), &[3, 4, 5]);
        assert!(s.take_prefix(4).is_none());
    }
}
