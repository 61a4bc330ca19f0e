//! Problems found in a configuration file, each with its file, line and key.

use std::fmt;

/// Whether a problem stops the file from loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The file is refused.
    Error,
    /// The file loads, but something in it is ignored or probably not what was meant.
    Warning,
}

/// One problem in a configuration file: where it is, which key, and what was expected.
///
/// Displays as `FILE:LINE: KEY: MESSAGE` (`FILE:LINE: KEY: warning: MESSAGE` for a warning),
/// without the line when the problem has none (an unreadable file) and without the key when it
/// concerns no key (a TOML syntax error). Messages never contain secret material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The configuration file's name, as given to [`crate::load`] or [`crate::parse`].
    pub file: String,
    /// The 1-based line, when the problem is at a place in the file.
    pub line: Option<u32>,
    /// The dotted key path, e.g. `connections.site-b.proposals[1]`; empty when none applies.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl ConfigError {
    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem of a file that did not load: at least one error, and the warnings found beside
/// them, in the order of their lines. Displays one problem per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn new(problems: Vec<ConfigError>) -> Self {
        Self(problems)
    }

    /// All problems, errors and warnings, in line order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter().filter(|e| e.is_error())
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never the case for a value returned by this crate).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems.
    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
