//! Walking the spanned TOML tree: typed access to values that reports every mismatch with its
//! line and key path, and the collection of problems.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{ConfigError, Severity};

/// The state of one parse: where we are reading from and what went wrong so far.
pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a str,
    pub(crate) base_dir: &'a Path,
    line_starts: Vec<usize>,
    pub(crate) problems: Vec<ConfigError>,
    /// The `[groups]` names and their numbers, for proposals (`aes128-sha256-NAME`).
    pub(crate) group_names: Vec<(String, u16)>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(text: &str, file: &'a str, base_dir: &'a Path) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            file,
            base_dir,
            line_starts,
            problems: Vec::new(),
            group_names: Vec::new(),
        }
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        u32::try_from(line.max(1)).unwrap_or(u32::MAX)
    }

    fn push(&mut self, at: Option<&Range<usize>>, key: &str, message: String, severity: Severity) {
        let line = at.map(|r| self.line(r.start));
        self.problems.push(ConfigError {
            file: self.file.to_owned(),
            line,
            key: key.to_owned(),
            message,
            severity,
        });
    }

    /// Records an error at `at` (a span of the file) for `key`.
    pub(crate) fn error(&mut self, at: &Range<usize>, key: &str, message: impl Into<String>) {
        self.push(Some(at), key, message.into(), Severity::Error);
    }

    /// Records a warning.
    pub(crate) fn warn(&mut self, at: &Range<usize>, key: &str, message: impl Into<String>) {
        self.push(Some(at), key, message.into(), Severity::Warning);
    }

    /// How many errors (not warnings) have been recorded; compare before and after a step to
    /// learn whether it failed.
    pub(crate) fn error_count(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }
}

/// `path.key`, quoting keys that would make the path ambiguous.
pub(crate) fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// "a string", "an integer": the article matters in messages.
fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A table of the document with its key path.
#[derive(Clone)]
pub(crate) struct Table<'t, 'i> {
    pub(crate) path: String,
    pub(crate) map: &'t DeTable<'i>,
    pub(crate) span: Range<usize>,
}

/// A value of the document with its key path.
#[derive(Clone)]
pub(crate) struct Node<'t, 'i> {
    pub(crate) path: String,
    pub(crate) value: &'t DeValue<'i>,
    pub(crate) span: Range<usize>,
}

/// A string of a list (an array element, or one comma-separated part of a single string).
#[derive(Clone, Debug)]
pub(crate) struct Item<'t> {
    pub(crate) path: String,
    pub(crate) text: &'t str,
    pub(crate) span: Range<usize>,
}

impl<'t, 'i> Table<'t, 'i> {
    pub(crate) fn root(doc: &'t Spanned<DeTable<'i>>) -> Self {
        Self {
            path: String::new(),
            map: doc.get_ref(),
            span: 0..0,
        }
    }

    /// The value at `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<Node<'t, 'i>> {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(k, v)| Node {
                path: join(&self.path, k.get_ref()),
                value: v.get_ref(),
                span: v.span(),
            })
    }

    /// Every entry, in file order, with the key's span.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'t str, Range<usize>, Node<'t, 'i>)> {
        let path = self.path.clone();
        self.map.iter().map(move |(k, v)| {
            let key: &'t str = k.get_ref().as_ref();
            (
                key,
                k.span(),
                Node {
                    path: join(&path, key),
                    value: v.get_ref(),
                    span: v.span(),
                },
            )
        })
    }

    /// Reports every key not in `allowed`, suggesting the closest allowed one.
    pub(crate) fn check_keys(&self, ctx: &mut Ctx<'_>, allowed: &[&str], what: &str) {
        for (k, v) in self.map.iter() {
            let key = k.get_ref().as_ref();
            if allowed.contains(&key) {
                continue;
            }
            let path = join(&self.path, key);
            let at = if k.span().is_empty() {
                v.span()
            } else {
                k.span()
            };
            let message = match closest(key, allowed) {
                Some(s) => format!("unknown {what} (did you mean \"{s}\"?)"),
                None => format!("unknown {what} (expected one of: {})", allowed.join(", ")),
            };
            ctx.error(&at, &path, message);
        }
    }

    /// A required value: reports its absence at the table.
    pub(crate) fn require(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        expected: &str,
    ) -> Option<Node<'t, 'i>> {
        let node = self.get(key);
        if node.is_none() {
            let where_ = if self.path.is_empty() {
                "the file".to_owned()
            } else {
                format!("[{}]", self.path)
            };
            ctx.error(
                &self.span,
                &join(&self.path, key),
                format!("missing in {where_} (expected {expected})"),
            );
        }
        node
    }
}

impl<'t, 'i> Node<'t, 'i> {
    fn mismatch(&self, ctx: &mut Ctx<'_>, expected: &str) {
        ctx.error(
            &self.span,
            &self.path,
            format!("expected {expected}, found {}", type_name(self.value)),
        );
    }

    pub(crate) fn str(&self, ctx: &mut Ctx<'_>, expected: &str) -> Option<&'t str> {
        match self.value {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.mismatch(ctx, expected);
                None
            }
        }
    }

    /// The string, if this is one (nothing recorded otherwise).
    pub(crate) fn str_quiet(&self) -> Option<&'t str> {
        match self.value {
            DeValue::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// This string as an [`Item`].
    pub(crate) fn item(&self, ctx: &mut Ctx<'_>, expected: &str) -> Option<Item<'t>> {
        self.str(ctx, expected).map(|text| Item {
            path: self.path.clone(),
            text,
            span: self.span.clone(),
        })
    }

    pub(crate) fn bool(&self, ctx: &mut Ctx<'_>) -> Option<bool> {
        match self.value {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.mismatch(ctx, "true or false");
                None
            }
        }
    }

    /// An integer; `expected` describes the allowed values.
    pub(crate) fn int(&self, ctx: &mut Ctx<'_>, expected: &str) -> Option<i64> {
        match self.value {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    ctx.error(
                        &self.span,
                        &self.path,
                        format!("integer out of range (expected {expected})"),
                    );
                    None
                }
            },
            _ => {
                self.mismatch(ctx, &format!("an integer ({expected})"));
                None
            }
        }
    }

    /// An integer within `range`.
    pub(crate) fn int_in(
        &self,
        ctx: &mut Ctx<'_>,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let expected = format!("{} to {}", range.start(), range.end());
        let n = self.int(ctx, &expected)?;
        if range.contains(&n) {
            Some(n)
        } else {
            ctx.error(
                &self.span,
                &self.path,
                format!("{n} is out of range (expected {expected})"),
            );
            None
        }
    }

    pub(crate) fn table(&self, ctx: &mut Ctx<'_>, expected: &str) -> Option<Table<'t, 'i>> {
        match self.value {
            DeValue::Table(map) => Some(Table {
                path: self.path.clone(),
                map,
                span: self.span.clone(),
            }),
            _ => {
                self.mismatch(ctx, expected);
                None
            }
        }
    }

    /// An array of tables (`[[name]]`); a single table is accepted as a list of one.
    pub(crate) fn tables(&self, ctx: &mut Ctx<'_>, expected: &str) -> Option<Vec<Table<'t, 'i>>> {
        match self.value {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    let node = Node {
                        path: format!("{}[{i}]", self.path),
                        value: v.get_ref(),
                        span: v.span(),
                    };
                    if let Some(t) = node.table(ctx, expected) {
                        out.push(t);
                    }
                }
                Some(out)
            }
            DeValue::Table(_) => self.table(ctx, expected).map(|t| vec![t]),
            _ => {
                self.mismatch(ctx, expected);
                None
            }
        }
    }

    /// A list of strings: an array of strings, or one string whose comma-separated parts are
    /// the items (swanctl.conf's form). Empty parts are dropped.
    pub(crate) fn list(&self, ctx: &mut Ctx<'_>, expected: &str) -> Option<Vec<Item<'t>>> {
        match self.value {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, v) in items.iter().enumerate() {
                    let path = format!("{}[{i}]", self.path);
                    match v.get_ref() {
                        DeValue::String(s) => out.push(Item {
                            path,
                            text: s.as_ref(),
                            span: v.span(),
                        }),
                        other => {
                            ok = false;
                            ctx.error(
                                &v.span(),
                                &path,
                                format!("expected {expected}, found {}", type_name(other)),
                            );
                        }
                    }
                }
                ok.then_some(out)
            }
            DeValue::String(s) => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|text| Item {
                        path: self.path.clone(),
                        text,
                        span: self.span.clone(),
                    })
                    .collect(),
            ),
            _ => {
                self.mismatch(ctx, &format!("an array of strings ({expected})"));
                None
            }
        }
    }

    /// A number of seconds as TOML integer or float, for durations.
    pub(crate) fn number(&self) -> Option<f64> {
        match self.value {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse().ok(),
            _ => None,
        }
    }

    /// The type of this value, with its article.
    pub(crate) fn type_name(&self) -> &'static str {
        type_name(self.value)
    }
}

/// The allowed key closest to a misspelt one, if close enough to be a likely typo.
fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4) && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX / 2) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX / 2) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX / 2) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let allowed = ["remote_addrs", "local_addrs", "version"];
        assert_eq!(closest("remote_adrs", &allowed), Some("remote_addrs"));
        assert_eq!(closest("verison", &allowed), Some("version"));
        assert_eq!(closest("colour", &allowed), None);
    }

    #[test]
    fn paths_quote_odd_keys() {
        assert_eq!(join("connections", "site-b"), "connections.site-b");
        assert_eq!(join("connections", "a.b"), "connections.\"a.b\"");
        assert_eq!(join("", "daemon"), "daemon");
    }

    #[test]
    fn lines_are_one_based() {
        let ctx = Ctx::new("a\nb\n\nc", "f", Path::new("."));
        assert_eq!(ctx.line(0), 1);
        assert_eq!(ctx.line(2), 2);
        assert_eq!(ctx.line(5), 4);
        assert_eq!(ctx.line(500), 4);
    }
}
