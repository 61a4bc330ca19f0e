//! `ike import`: strongSwan configurations (swanctl.conf, and the common subset of ipsec.conf with
//! ipsec.secrets) turned into our TOML configuration (`crates/ike-config`), for migration.
//!
//! [`import_file`] reads a file (following `include` lines relative to it) and [`import_text`]
//! takes the text; both return the TOML and warnings, or an [`ImportError`] that says
//! `FILE:LINE: message` when the input is not valid strongSwan syntax. Neither panics on any
//! input: sections nest at most [`MAX_DEPTH`] deep and includes [`MAX_INCLUDE_DEPTH`] deep.
//!
//! # What is carried over
//!
//! From swanctl.conf's `connections`: `version` (1, 2; 0 becomes 2), `local_addrs` and
//! `remote_addrs` (IP addresses and `%any`), `proposals`, `aggressive` (IKEv1), `encap`,
//! `dpd_delay`, `rekey_time`, `over_time`; the first `local*` and `remote*` rounds with `auth`
//! (`psk`; `pubkey`, `rsa*`, `ecdsa*` and friends as `pubkey`), `id`, `certs` (as paths in the
//! `x509/` directory beside swanctl.conf), `cacerts` (in `x509ca/`), `cert*`/`cacert*`
//! subsections' `file`; children with `local_ts`, `remote_ts`, `esp_proposals`,
//! `ah_proposals`, `mode` (tunnel, transport), `start_action`, `rekey_time`, `life_time`, and
//! `dpd_action` (a child setting in strongSwan, a connection setting here). From `secrets`:
//! `ike*` entries (their `id*` values become `ids`; the secret keeps strongSwan's `0x`/`0s`
//! forms, which we read the same way). swanctl loads every key in `private/`, `rsa/`,
//! `ecdsa/`, `pkcs8/` and every CA certificate in `x509ca/`; the import lists those
//! directories and writes `[[secrets.private_key]]` and `[[authorities]]` entries for them.
//! `authorities` sections' `cacert` become `[[authorities]]`.
//!
//! From ipsec.conf: `conn` sections with `conn %default` and `also=`, `left`/`right` (left is
//! taken as the local end), `leftsubnet`/`rightsubnet` (with `leftprotoport`), `leftid`,
//! `leftauth`/`authby`, `leftcert` (in `ipsec.d/certs/`), `ike=`, `esp=`, `ah=`, `keyexchange`,
//! `auto` (start, route as trap, add), `type` (tunnel, transport), `dpddelay`/`dpdaction`,
//! `ikelifetime`/`lifetime`/`margintime` (as rekey time = lifetime - margin), `aggressive`,
//! `forceencaps`; `ca` sections' `cacert`; from ipsec.secrets (`--secrets`), `PSK` lines with
//! their selectors as ids and `RSA`/`ECDSA` key files (in `ipsec.d/private/`).
//!
//! # What is not
//!
//! Everything else: virtual IPs and pools, EAP and XAuth, multiple authentication rounds,
//! MOBIKE, hostnames and address ranges in `local_addrs`/`remote_addrs`, byte and packet
//! lifetimes, `rand_time`, marks, interface IDs, updown scripts, shunt (pass/drop) children,
//! passphrases of encrypted keys, `config setup`. Each becomes a comment
//! `# not carried over: connections.X.Y = V (why)` (ipsec.conf: `conn X: key=value`) in the
//! table it belongs to; secrets are never copied into such a comment. A setting we have but
//! check differently is written as the closest configuration `ike check` accepts, with a
//! comment: a child whose `dynamic` traffic selector has no single address to stand for (a
//! road warrior's `%any` peer) is written commented out, and a `start_action` that needs the
//! peer's address is dropped when `remote_addrs` is `%any`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// How deep sections may nest in a swanctl.conf (strongSwan's own files use four levels).
pub const MAX_DEPTH: usize = 32;
/// How deep `include` lines may nest (a cycle ends here).
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// How many `also=` levels an ipsec.conf conn may chain.
const MAX_ALSO_DEPTH: usize = 16;

/// The input's syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// swanctl.conf (strongSwan's settings syntax: `name { key = value }`).
    Swanctl,
    /// ipsec.conf (`conn NAME` sections with indented `key=value` lines).
    Ipsec,
}

impl Format {
    /// `swanctl` or `ipsec`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "swanctl" => Some(Self::Swanctl),
            "ipsec" => Some(Self::Ipsec),
            _ => None,
        }
    }

    /// Guesses the format from the text: ipsec.conf when a line starts with `conn NAME`,
    /// `ca NAME` or `config setup`, otherwise swanctl.conf.
    pub fn detect(text: &str) -> Self {
        for line in text.lines() {
            if line.starts_with(char::is_whitespace) {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(first), second) = (words.next(), words.next()) else {
                continue;
            };
            let second_ok = second.is_some_and(|w| !w.starts_with('{') && !w.starts_with('='));
            if (first == "conn" || first == "ca") && second_ok
                || (first == "config" && second == Some("setup"))
            {
                return Self::Ipsec;
            }
        }
        Self::Swanctl
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Swanctl => "swanctl.conf",
            Self::Ipsec => "ipsec.conf",
        }
    }
}

/// What [`import_file`] and [`import_text`] are told.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The input's format; `None`: [`Format::detect`].
    pub format: Option<Format>,
    /// The directory whose subdirectories hold the credentials: swanctl's (`x509/`, `x509ca/`,
    /// `private/`, ...) or ipsec.conf's `ipsec.d` (`certs/`, `cacerts/`, `private/`). Default:
    /// the input file's directory (for ipsec.conf, its `ipsec.d` subdirectory), made absolute;
    /// without a file, credential names stay relative.
    pub base: Option<PathBuf>,
    /// An ipsec.secrets file to take PSKs and key files from (ipsec.conf only).
    pub secrets: Option<PathBuf>,
}

/// A configuration the input could not be read as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ImportError {
    /// The file (as the caller named it).
    pub file: String,
    /// The line, from 1 (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// An imported configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Imported {
    /// The TOML text.
    pub toml: String,
    /// The format that was read.
    pub format: Format,
    /// How many `# not carried over` comments the TOML has.
    pub not_carried_over: usize,
    /// Things the user should know that are not in the TOML (includes not followed, ...).
    pub warnings: Vec<String>,
}

/// Reads and imports the file at `path`.
pub fn import_file(path: &Path, opts: &Options) -> Result<Imported, ImportError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ImportError {
        file: name.clone(),
        line: 0,
        message: format!("cannot read the file: {e}"),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    import_bytes(&bytes, &name, Some(&dir), opts)
}

/// Imports configuration text; `file` is what errors call it. `include` lines are not
/// followed (a comment says so), credential names stay relative unless `opts.base` is set.
pub fn import_text(text: &str, file: &str, opts: &Options) -> Result<Imported, ImportError> {
    import_bytes(text.as_bytes(), file, None, opts)
}

/// Imports bytes read from `file` in directory `dir` (`None`: not from a file).
pub fn import_bytes(
    bytes: &[u8],
    file: &str,
    dir: Option<&Path>,
    opts: &Options,
) -> Result<Imported, ImportError> {
    let text = utf8(bytes, file)?;
    let format = opts.format.unwrap_or_else(|| Format::detect(text));
    let mut out = Out::default();
    let mut warnings = Vec::new();
    match format {
        Format::Swanctl => {
            let mut parser = SettingsParser::default();
            let root = parser.parse_root(text, file, dir)?;
            warnings.append(&mut parser.warnings);
            let base = opts.base.clone().or_else(|| dir.map(Path::to_path_buf));
            let mut sw = Swanctl {
                out: &mut out,
                base,
            };
            sw.convert(&root, parser.not_followed);
        }
        Format::Ipsec => {
            let base = opts.base.clone().or_else(|| dir.map(|d| d.join("ipsec.d")));
            let mut ip = Ipsec {
                out: &mut out,
                base,
                warnings: &mut warnings,
            };
            ip.convert(text, file, dir)?;
            if let Some(secrets) = &opts.secrets {
                ip.secrets_file(secrets)?;
            }
        }
    }
    if opts.secrets.is_some() && format == Format::Swanctl {
        warnings.push(
            "--secrets is for ipsec.secrets beside an ipsec.conf; swanctl.conf has its own secrets section (ignored)"
                .to_owned(),
        );
    }
    let toml = render(&out, file, format);
    let not_carried_over = toml.matches("# not carried over:").count();
    if not_carried_over > 0 {
        warnings.push(format!(
            "{not_carried_over} setting{} not carried over (see the \"# not carried over\" comments)",
            if not_carried_over == 1 { "" } else { "s" }
        ));
    }
    Ok(Imported {
        toml,
        format,
        not_carried_over,
        warnings,
    })
}

/// The text, or an error naming the line of the first byte that is not UTF-8.
fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, ImportError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
        ImportError {
            file: file.to_owned(),
            line: before.iter().filter(|b| **b == b'\n').count() + 1,
            message: "not UTF-8 text (expected a strongSwan configuration)".to_owned(),
        }
    })
}

// --- strongSwan's settings syntax ------------------------------------------------------------

/// A section of a settings file: its keys (a later key of the same name replaces the earlier
/// one, as in strongSwan) and subsections (sections of the same name are merged).
#[derive(Clone, Debug, Default)]
struct Section {
    name: String,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
enum Entry {
    Key { key: String, value: String },
    Section(Section),
}

impl Section {
    fn keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Key { key, value } => Some((key.as_str(), value.as_str())),
            Entry::Section(_) => None,
        })
    }

    fn sections(&self) -> impl Iterator<Item = &Section> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Section(s) => Some(s),
            Entry::Key { .. } => None,
        })
    }

    /// The section reached by following `path` (indices of subsections' entries).
    fn at_mut(&mut self, path: &[usize]) -> Option<&mut Section> {
        let mut s = self;
        for &i in path {
            s = match s.entries.get_mut(i) {
                Some(Entry::Section(sub)) => sub,
                _ => return None,
            };
        }
        Some(s)
    }
}

#[derive(Default)]
struct SettingsParser {
    warnings: Vec<String>,
    /// `include` lines not followed (text without a file, or no file matched).
    not_followed: Vec<String>,
}

/// Characters that end a name.
fn name_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '{' | '}' | '=' | '#' | '"')
}

impl SettingsParser {
    fn parse_root(
        &mut self,
        text: &str,
        file: &str,
        dir: Option<&Path>,
    ) -> Result<Section, ImportError> {
        let mut root = Section::default();
        let mut path = Vec::new();
        self.parse(text, file, dir, &mut root, &mut path, 0)?;
        Ok(root)
    }

    /// Parses `text` into the section at `path` of `root`; the text must close what it opens.
    fn parse(
        &mut self,
        text: &str,
        file: &str,
        dir: Option<&Path>,
        root: &mut Section,
        path: &mut Vec<usize>,
        include_depth: usize,
    ) -> Result<(), ImportError> {
        let err = |line: usize, message: String| ImportError {
            file: file.to_owned(),
            line,
            message,
        };
        let chars: Vec<char> = text.chars().collect();
        let start_depth = path.len();
        // (name, line) of each section this text opened
        let mut opened: Vec<(String, usize)> = Vec::new();
        let mut i = 0;
        let mut line = 1;
        loop {
            // whitespace and comments
            while let Some(&c) = chars.get(i) {
                if c == '\n' {
                    line += 1;
                    i += 1;
                } else if c.is_whitespace() {
                    i += 1;
                } else if c == '#' {
                    while chars.get(i).is_some_and(|c| *c != '\n') {
                        i += 1;
                    }
                } else {
                    break;
                }
            }
            let Some(&c) = chars.get(i) else { break };
            if c == '}' {
                if path.len() <= start_depth {
                    return Err(err(line, "'}' without a section to close".to_owned()));
                }
                path.pop();
                opened.pop();
                i += 1;
                continue;
            }
            if matches!(c, '{' | '=' | '"') {
                return Err(err(
                    line,
                    format!("unexpected '{c}' (expected a name: a key or a section)"),
                ));
            }
            let name_line = line;
            let begin = i;
            while chars.get(i).is_some_and(|c| !name_end(*c)) {
                i += 1;
            }
            let name: String = chars.get(begin..i).unwrap_or_default().iter().collect();
            // `include PATTERN`: the rest of the line
            if name == "include" && chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                let mut j = i;
                while chars.get(j).is_some_and(|c| *c == ' ' || *c == '\t') {
                    j += 1;
                }
                if !chars.get(j).is_some_and(|c| *c == '=' || *c == '{') {
                    let begin = j;
                    while chars.get(j).is_some_and(|c| *c != '\n' && *c != '#') {
                        j += 1;
                    }
                    let pattern: String = chars.get(begin..j).unwrap_or_default().iter().collect();
                    let pattern = pattern.trim().trim_matches('"').to_owned();
                    i = j;
                    self.include(&pattern, file, name_line, dir, root, path, include_depth)?;
                    continue;
                }
            }
            // spaces (and line breaks, before a '{') up to '{' or '='
            while let Some(&c) = chars.get(i) {
                if c == '\n' {
                    line += 1;
                    i += 1;
                } else if c.is_whitespace() {
                    i += 1;
                } else {
                    break;
                }
            }
            match chars.get(i) {
                Some('{') => {
                    i += 1;
                    if path.len() >= MAX_DEPTH {
                        return Err(err(
                            line,
                            format!("sections nested deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    let Some(cur) = root.at_mut(path) else {
                        return Err(err(line, "internal: lost the current section".to_owned()));
                    };
                    let existing = cur
                        .entries
                        .iter()
                        .position(|e| matches!(e, Entry::Section(s) if s.name == name));
                    let index = match existing {
                        Some(x) => x,
                        None => {
                            cur.entries.push(Entry::Section(Section {
                                name: name.clone(),
                                entries: Vec::new(),
                            }));
                            cur.entries.len() - 1
                        }
                    };
                    path.push(index);
                    opened.push((name, name_line));
                }
                Some('=') => {
                    i += 1;
                    while chars
                        .get(i)
                        .is_some_and(|c| c.is_whitespace() && *c != '\n')
                    {
                        i += 1;
                    }
                    let value = if chars.get(i) == Some(&'"') {
                        i += 1;
                        let mut v = String::new();
                        let quote_line = line;
                        loop {
                            match chars.get(i) {
                                None => {
                                    return Err(err(
                                        quote_line,
                                        format!("unterminated quoted value of \"{name}\""),
                                    ))
                                }
                                Some('"') => {
                                    i += 1;
                                    break;
                                }
                                Some('\\') => {
                                    i += 1;
                                    match chars.get(i) {
                                        Some('n') => v.push('\n'),
                                        Some('t') => v.push('\t'),
                                        Some('r') => v.push('\r'),
                                        Some('\n') => line += 1,
                                        Some(&c) => v.push(c),
                                        None => continue,
                                    }
                                    i += 1;
                                }
                                Some(&c) => {
                                    if c == '\n' {
                                        line += 1;
                                    }
                                    v.push(c);
                                    i += 1;
                                }
                            }
                        }
                        // only spaces or a comment may follow on the line
                        while chars
                            .get(i)
                            .is_some_and(|c| c.is_whitespace() && *c != '\n')
                        {
                            i += 1;
                        }
                        if chars.get(i).is_some_and(|c| *c != '\n' && *c != '#') {
                            return Err(err(
                                line,
                                format!("text after the quoted value of \"{name}\""),
                            ));
                        }
                        v
                    } else {
                        let begin = i;
                        while chars.get(i).is_some_and(|c| *c != '\n' && *c != '#') {
                            i += 1;
                        }
                        let v: String = chars.get(begin..i).unwrap_or_default().iter().collect();
                        v.trim().to_owned()
                    };
                    let Some(cur) = root.at_mut(path) else {
                        return Err(err(line, "internal: lost the current section".to_owned()));
                    };
                    if let Some(Entry::Key { value: old, .. }) = cur
                        .entries
                        .iter_mut()
                        .find(|e| matches!(e, Entry::Key { key, .. } if *key == name))
                    {
                        *old = value;
                    } else {
                        cur.entries.push(Entry::Key { key: name, value });
                    }
                }
                Some(&c) => {
                    return Err(err(
                        line,
                        format!("expected '{{' or '=' after \"{name}\", found '{c}'"),
                    ))
                }
                None => {
                    return Err(err(
                        line,
                        format!("expected '{{' or '=' after \"{name}\", found the end of the file"),
                    ))
                }
            }
        }
        if let Some((name, at)) = opened.first() {
            return Err(err(
                *at,
                format!("section \"{name}\" is not closed (missing '}}')"),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn include(
        &mut self,
        pattern: &str,
        file: &str,
        line: usize,
        dir: Option<&Path>,
        root: &mut Section,
        path: &mut Vec<usize>,
        include_depth: usize,
    ) -> Result<(), ImportError> {
        let Some(dir) = dir else {
            self.not_followed.push(format!(
                "include {pattern} (not followed: the input is not a file)"
            ));
            return Ok(());
        };
        if include_depth >= MAX_INCLUDE_DEPTH {
            return Err(ImportError {
                file: file.to_owned(),
                line,
                message: format!(
                    "include {pattern}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels (a cycle?)"
                ),
            });
        }
        let files = expand_include(dir, pattern);
        if files.is_empty() {
            let wild = pattern.contains(['*', '?']);
            if !wild {
                self.not_followed
                    .push(format!("include {pattern} (no such file)"));
                self.warnings
                    .push(format!("{file}:{line}: include {pattern}: no such file"));
            }
            return Ok(());
        }
        for f in files {
            let name = f.display().to_string();
            let bytes = std::fs::read(&f).map_err(|e| ImportError {
                file: file.to_owned(),
                line,
                message: format!("include {pattern}: cannot read {name}: {e}"),
            })?;
            let text = utf8(&bytes, &name)?;
            let sub_dir = f
                .parent()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            self.parse(text, &name, Some(&sub_dir), root, path, include_depth + 1)?;
        }
        Ok(())
    }
}

/// The files an include pattern names, relative to `dir` unless absolute; `*` and `?` in the
/// last component match as in a shell, in sorted order.
fn expand_include(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = dir.join(pattern);
    let Some(last) = full.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !last.contains(['*', '?']) {
        return if full.is_file() {
            vec![full]
        } else {
            Vec::new()
        };
    }
    let parent = full.parent().unwrap_or(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| wildcard(last.as_bytes(), n.as_bytes()))
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Shell-style matching of `*` and `?` (iterative, no backtracking blow-up).
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == name.get(n) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|c| *c == b'*')
}

// --- the output model --------------------------------------------------------------------------

/// A TOML value we write.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(String),
    List(Vec<String>),
    Int(i64),
    Bool(bool),
}

/// One table: comments first, then keys.
#[derive(Clone, Debug, Default)]
struct Table {
    notes: Vec<String>,
    keys: Vec<(String, Val)>,
}

impl Table {
    fn set(&mut self, key: &str, v: Val) {
        if let Some(slot) = self.keys.iter_mut().find(|(k, _)| k == key) {
            slot.1 = v;
        } else {
            self.keys.push((key.to_owned(), v));
        }
    }

    fn get(&self, key: &str) -> Option<&Val> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn remove(&mut self, key: &str) -> Option<Val> {
        let i = self.keys.iter().position(|(k, _)| k == key)?;
        Some(self.keys.remove(i).1)
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn note(&mut self, text: String) {
        self.notes.push(text);
    }
}

#[derive(Clone, Debug, Default)]
struct ChildOut {
    name: String,
    table: Table,
    /// Why the child is written commented out, if it is.
    disabled: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct ConnOut {
    name: String,
    table: Table,
    local: Table,
    remote: Table,
    children: Vec<ChildOut>,
}

#[derive(Clone, Debug, Default)]
struct Out {
    /// Comments at the top of the file.
    notes: Vec<String>,
    conns: Vec<ConnOut>,
    /// `[[secrets.ike]]` entries.
    ike_secrets: Vec<Table>,
    /// Comments before the secrets.
    secret_notes: Vec<String>,
    /// `[[secrets.private_key]]` files.
    private_keys: Vec<String>,
    /// `[[authorities]]` files.
    authorities: Vec<String>,
}

impl Out {
    fn add_private_key(&mut self, file: String) {
        if !self.private_keys.contains(&file) {
            self.private_keys.push(file);
        }
    }

    fn add_authority(&mut self, file: String) {
        if !self.authorities.contains(&file) {
            self.authorities.push(file);
        }
    }
}

fn nco(what: impl std::fmt::Display, why: &str) -> String {
    format!("not carried over: {what} ({why})")
}

/// A comma-separated list, trimmed, without empty items.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "enabled" => Some(true),
        "no" | "false" | "0" | "disabled" => Some(false),
        _ => None,
    }
}

/// A time in strongSwan's form (a number and an optional s/m/h/d), in seconds.
fn seconds(value: &str) -> Option<u64> {
    let t = value.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Seconds written the shortest way (`4h`, `90m`, `45s`).
fn duration_text(s: u64) -> String {
    if s != 0 && s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s != 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s != 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Addresses for `local_addrs`/`remote_addrs`: IP addresses, or `%any`. Returns what we can
/// write and the items we cannot.
fn addresses(items: &[String]) -> (Vec<String>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for i in items {
        match i.as_str() {
            "%any" | "%any4" | "%any6" => ok.push("%any".to_owned()),
            s if s.parse::<IpAddr>().is_ok() => ok.push(s.to_owned()),
            _ => bad.push(i.clone()),
        }
    }
    if ok.iter().any(|a| a == "%any") {
        // %any with addresses: strongSwan takes any; ours wants %any alone
        ok = vec!["%any".to_owned()];
    }
    (ok, bad)
}

/// How many IP addresses an address list names.
fn ip_count(v: Option<&Val>) -> usize {
    match v {
        Some(Val::List(l)) => l.iter().filter(|a| a.parse::<IpAddr>().is_ok()).count(),
        _ => 0,
    }
}

fn path_text(p: &Path) -> String {
    p.display().to_string()
}

/// A credential file named in the configuration: absolute names stay, others go under
/// `base/sub/` (or `sub/` without a base).
fn cred_path(base: Option<&Path>, sub: &str, name: &str) -> String {
    let p = Path::new(name);
    if p.is_absolute() {
        return name.to_owned();
    }
    match base {
        Some(b) => path_text(&b.join(sub).join(p)),
        None => path_text(&Path::new(sub).join(p)),
    }
}

/// The regular files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Checks that apply to both formats, after a connection is converted: what ike-config would
/// refuse becomes the closest configuration it accepts, with a comment.
fn finish_conn(c: &mut ConnOut, origin: &dyn Fn(&str) -> String) {
    let version = match c.table.get("version") {
        Some(Val::Int(1)) => 1,
        _ => 2,
    };
    if version == 2 && c.table.get("aggressive") == Some(&Val::Bool(true)) {
        c.table.remove("aggressive");
        c.table.note(nco(
            origin("aggressive"),
            "Aggressive Mode is IKEv1 only; strongSwan ignores it for IKEv2",
        ));
    }
    let local_one = ip_count(c.table.get("local_addrs")) == 1;
    let remote_ips = ip_count(c.table.get("remote_addrs"));
    let remote_one = remote_ips == 1;
    let remote_any = remote_ips == 0;
    for child in &mut c.children {
        let t = &mut child.table;
        if remote_any {
            if let Some(a) = t.str("start_action").map(str::to_owned) {
                if a != "none" {
                    t.remove("start_action");
                    t.note(nco(
                        format!("{} = {a}", origin(&format!("children.{}.start_action", child.name))),
                        "it needs the peer's address, and remote_addrs is %any: this child waits for the peer",
                    ));
                }
            }
        }
        // `dynamic` (the default) needs no rewriting: with one address it is that address,
        // with none (`%any`) each SA's address at that end, as in strongSwan.
        let _ = (local_one, remote_one);
    }
}

// --- swanctl.conf ------------------------------------------------------------------------------

struct Swanctl<'a> {
    out: &'a mut Out,
    /// The swanctl directory (x509/, x509ca/, private/ ...).
    base: Option<PathBuf>,
}

/// Why a swanctl connection setting has no counterpart.
fn conn_reason(key: &str) -> &'static str {
    match key {
        "vips" | "pools" => {
            "virtual IPs and address pools (configuration payloads) are not supported"
        }
        "local_port" | "remote_port" => {
            "ike uses [daemon] port and port_nat_t for every connection"
        }
        "send_cert" | "send_certreq" => "ike decides when to send certificates and requests",
        "unique" => "ike has no uniqueness policy",
        "keyingtries" => "ike retries as [daemon] retransmit_* say",
        "fragmentation" => "ike fragments as [daemon] fragment_size says",
        "mobike" => "MOBIKE is not supported",
        "reauth_time" => "ike rekeys IKE SAs and does not re-authenticate them on a timer",
        "rand_time" => "ike does not randomize rekey times",
        "dpd_timeout" => "ike gives up on a dead peer when its retransmissions run out",
        "pull" | "dscp" | "childless" | "mediation" | "mediated_by" | "mediation_peer" => {
            "not supported"
        }
        k if k.starts_with("if_id") => "XFRM interface IDs are not supported",
        k if k.starts_with("ppk") => "post-quantum preshared keys (RFC 8784) are not supported",
        _ => "no equivalent in ike",
    }
}

/// Why a swanctl child setting has no counterpart.
fn child_reason(key: &str) -> &'static str {
    match key {
        "rand_time" => "ike does not randomize rekey times",
        "rekey_bytes" | "life_bytes" | "rand_bytes" | "rekey_packets" | "life_packets"
        | "rand_packets" => "ike limits Child SAs by time only",
        "updown" => "updown scripts are not supported",
        "hostaccess" | "policies" | "policies_fwd_out" => "ike installs the policies it needs",
        "close_action" => "ike does not act when the peer closes a Child SA",
        "inactivity" => "ike does not close idle Child SAs",
        "ipcomp" => "IPComp is not supported",
        "reqid" | "priority" | "interface" | "replay_window" | "hw_offload" | "tfc_padding"
        | "sha256_96" => "not configurable in ike",
        k if k.starts_with("mark") || k.starts_with("set_mark") || k.starts_with("if_id") => {
            "marks and interface IDs are not supported"
        }
        k if k.starts_with("copy_") || k.starts_with("label") => "not configurable in ike",
        _ => "no equivalent in ike",
    }
}

/// One comment per key of `sec` (and its subsections), under `path`.
fn note_section(t: &mut Table, path: &str, sec: &Section, why: &str, secret: bool) {
    let mut any = false;
    for (k, v) in sec.keys() {
        any = true;
        let shown = if secret && (k.starts_with("secret") || k == "pin") {
            "<not copied>".to_owned()
        } else {
            v.replace('\n', "\\n")
        };
        t.note(nco(format!("{path}.{k} = {shown}"), why));
    }
    for s in sec.sections() {
        any = true;
        note_section(t, &format!("{path}.{}", s.name), s, why, secret);
    }
    if !any {
        t.note(nco(format!("{path} {{ }}"), why));
    }
}

impl Swanctl<'_> {
    fn convert(&mut self, root: &Section, not_followed: Vec<String>) {
        for n in not_followed {
            self.out.notes.push(format!("not carried over: {n}"));
        }
        for (k, v) in root.keys() {
            self.out
                .notes
                .push(nco(format!("{k} = {v}"), "not a swanctl.conf setting"));
        }
        for s in root.sections() {
            match s.name.as_str() {
                "connections" => {
                    for (k, v) in s.keys() {
                        self.out.notes.push(nco(
                            format!("connections.{k} = {v}"),
                            "a key outside a connection section",
                        ));
                    }
                    for c in s.sections() {
                        let conn = self.connection(c);
                        self.out.conns.push(conn);
                    }
                }
                "secrets" => self.secrets(s),
                "authorities" => self.authorities(s),
                other => {
                    let mut t = Table::default();
                    let why = if other == "pools" {
                        "address pools (configuration payloads) are not supported"
                    } else {
                        "no equivalent in ike"
                    };
                    note_section(&mut t, other, s, why, true);
                    self.out.notes.append(&mut t.notes);
                }
            }
        }
        // swanctl loads every key and CA certificate in its directories
        if let Some(base) = self.base.clone() {
            for sub in ["private", "rsa", "ecdsa", "pkcs8"] {
                for f in files_in(&base.join(sub)) {
                    self.out.add_private_key(path_text(&f));
                }
            }
            for f in files_in(&base.join("x509ca")) {
                self.out.add_authority(path_text(&f));
            }
            for sub in [
                "pkcs12", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "bliss",
            ] {
                let files = files_in(&base.join(sub));
                if !files.is_empty() {
                    self.out.notes.push(nco(
                        format!("{} file(s) in {}", files.len(), path_text(&base.join(sub))),
                        "ike loads no credentials of this kind",
                    ));
                }
            }
        }
    }

    fn connection(&mut self, c: &Section) -> ConnOut {
        let p = format!("connections.{}", c.name);
        let mut conn = ConnOut {
            name: c.name.clone(),
            ..ConnOut::default()
        };
        let t = &mut conn.table;
        for (k, v) in c.keys() {
            let here = || format!("{p}.{k} = {v}");
            match k {
                "version" => match v.trim() {
                    "1" => t.set("version", Val::Int(1)),
                    "2" => t.set("version", Val::Int(2)),
                    "0" | "" => {
                        t.set("version", Val::Int(2));
                        t.note(format!(
                            "{p}.version = 0 (either version) is written as 2: ike needs one version per connection"
                        ));
                    }
                    _ => t.note(nco(here(), "expected 0, 1 or 2")),
                },
                "local_addrs" | "remote_addrs" => {
                    let (ok, bad) = addresses(&list(v));
                    for b in &bad {
                        t.note(nco(
                            format!("{p}.{k} = {b}"),
                            "ike takes IP addresses or %any, not host names, subnets or ranges",
                        ));
                    }
                    if !ok.is_empty() {
                        t.set(k, Val::List(ok));
                    }
                }
                "proposals" => t.set(k, Val::List(list(v))),
                "aggressive" | "encap" => match boolean(v) {
                    Some(b) => t.set(k, Val::Bool(b)),
                    None => t.note(nco(here(), "expected yes or no")),
                },
                "dpd_delay" | "rekey_time" | "over_time" => match seconds(v) {
                    Some(_) => t.set(k, Val::Str(v.trim().to_owned())),
                    None => t.note(nco(here(), "expected a time such as 30s, 4h")),
                },
                "local_port" | "remote_port" if v.trim() == "500" => {} // our default
                "reauth_time" if seconds(v) == Some(0) => {}            // ours: never
                _ => t.note(nco(here(), conn_reason(k))),
            }
        }
        let mut local_seen = false;
        let mut remote_seen = false;
        let mut dpd_action: Option<(String, String)> = None; // (value, child)
        for s in c.sections() {
            let sp = format!("{p}.{}", s.name);
            if s.name.starts_with("local") && !local_seen {
                local_seen = true;
                self.end(s, &sp, true, &mut conn.local);
            } else if s.name.starts_with("remote") && !remote_seen {
                remote_seen = true;
                self.end(s, &sp, false, &mut conn.remote);
            } else if s.name.starts_with("local") || s.name.starts_with("remote") {
                let t = if s.name.starts_with("local") {
                    &mut conn.local
                } else {
                    &mut conn.remote
                };
                note_section(
                    t,
                    &sp,
                    s,
                    "a second authentication round (RFC 4739) is not supported",
                    false,
                );
            } else if s.name == "children" {
                for (k, v) in s.keys() {
                    conn.table.note(nco(
                        format!("{sp}.{k} = {v}"),
                        "a key outside a child section",
                    ));
                }
                for ch in s.sections() {
                    let child = self.child(ch, &format!("{sp}.{}", ch.name), &mut dpd_action);
                    conn.children.push(child);
                }
            } else {
                note_section(&mut conn.table, &sp, s, "no equivalent in ike", false);
            }
        }
        if let Some((a, _)) = dpd_action {
            conn.table.set("dpd_action", Val::Str(a));
        }
        let origin = |k: &str| format!("{p}.{k}");
        finish_conn(&mut conn, &origin);
        conn
    }

    fn end(&mut self, s: &Section, p: &str, local: bool, t: &mut Table) {
        let base = self.base.clone();
        let mut certs: Vec<String> = Vec::new();
        let mut cacerts: Vec<String> = Vec::new();
        for (k, v) in s.keys() {
            let here = || format!("{p}.{k} = {v}");
            match k {
                "auth" => {
                    let a = v.trim().to_ascii_lowercase();
                    if a == "psk" {
                        t.set("auth", Val::Str("psk".to_owned()));
                    } else if a == "pubkey"
                        || ["rsa", "ecdsa", "ed25519", "ed448", "pubkey-", "bliss"]
                            .iter()
                            .any(|w| a.starts_with(w))
                    {
                        t.set("auth", Val::Str("pubkey".to_owned()));
                        if a.contains("pss") && local {
                            t.set("rsa_pss", Val::Bool(true));
                        }
                        if a != "pubkey" && !(a == "rsa/pss" && local) {
                            t.note(format!(
                                "{p}.auth = {v} is written as pubkey: ike chooses the signature scheme by the key (the constraint is not carried over)"
                            ));
                        }
                    } else {
                        t.note(nco(
                            here(),
                            "ike authenticates with psk or pubkey only (no EAP, XAuth)",
                        ));
                    }
                }
                "id" => {
                    if local && v.trim() == "%any" {
                        t.note(nco(
                            here(),
                            "our own identity cannot be %any; the default (the certificate's subject or our address) applies",
                        ));
                    } else {
                        t.set("id", Val::Str(v.trim().to_owned()));
                    }
                }
                "certs" => certs.extend(
                    list(v)
                        .iter()
                        .map(|n| cred_path(base.as_deref(), "x509", n)),
                ),
                "cacerts" if !local => cacerts.extend(
                    list(v)
                        .iter()
                        .map(|n| cred_path(base.as_deref(), "x509ca", n)),
                ),
                "cacerts" => t.note(nco(
                    here(),
                    "ike has trust anchors for the peer only: remote cacerts, or [[authorities]]",
                )),
                "pubkeys" => t.note(nco(here(), "raw public keys are not supported")),
                _ => t.note(nco(here(), "no equivalent in ike")),
            }
        }
        for sub in s.sections() {
            let sp = format!("{p}.{}", sub.name);
            let is_cacert = sub.name.starts_with("cacert");
            let is_cert = !is_cacert && sub.name.starts_with("cert");
            if is_cert || (is_cacert && !local) {
                for (k, v) in sub.keys() {
                    if k == "file" {
                        let (dir, into) = if is_cert {
                            ("x509", &mut certs)
                        } else {
                            ("x509ca", &mut cacerts)
                        };
                        into.push(cred_path(base.as_deref(), dir, v.trim()));
                    } else {
                        t.note(nco(
                            format!("{sp}.{k} = {v}"),
                            "certificates on tokens (PKCS#11) are not supported",
                        ));
                    }
                }
            } else {
                note_section(t, &sp, sub, "no equivalent in ike", false);
            }
        }
        if !certs.is_empty() {
            t.set("certs", Val::List(certs));
        }
        if !cacerts.is_empty() {
            t.set("cacerts", Val::List(cacerts));
        }
    }

    fn child(
        &mut self,
        s: &Section,
        p: &str,
        dpd_action: &mut Option<(String, String)>,
    ) -> ChildOut {
        let mut child = ChildOut {
            name: s.name.clone(),
            ..ChildOut::default()
        };
        let t = &mut child.table;
        for (k, v) in s.keys() {
            let here = || format!("{p}.{k} = {v}");
            match k {
                "local_ts" | "remote_ts" | "esp_proposals" | "ah_proposals" => {
                    t.set(k, Val::List(list(v)))
                }
                "mode" => match v.trim() {
                    "tunnel" | "transport" => t.set(k, Val::Str(v.trim().to_owned())),
                    "pass" | "drop" => {
                        child.disabled = Some(nco(
                            here(),
                            "shunt policies (pass, drop) are not supported; the child is written commented out",
                        ))
                    }
                    _ => {
                        child.disabled = Some(nco(
                            here(),
                            "ike has tunnel and transport mode only; the child is written commented out",
                        ))
                    }
                },
                "start_action" => match v.trim() {
                    "none" | "start" | "trap" => t.set(k, Val::Str(v.trim().to_owned())),
                    _ => t.note(nco(here(), "ike takes none, start or trap")),
                },
                "dpd_action" => {
                    let a = match v.trim() {
                        "clear" | "none" => Some("clear"),
                        "trap" | "hold" => Some("trap"),
                        "restart" => Some("restart"),
                        _ => None,
                    };
                    match (a, &*dpd_action) {
                        (None, _) => t.note(nco(here(), "ike takes clear, trap or restart")),
                        (Some(a), None) => {
                            *dpd_action = Some((a.to_owned(), s.name.clone()));
                            t.note(format!(
                                "{p}.dpd_action = {v} is the connection's dpd_action in ike (one for all children)"
                            ));
                        }
                        (Some(a), Some((prev, from))) if a != prev => t.note(nco(
                            here(),
                            &format!("ike has one dpd_action per connection; child {from}'s ({prev}) is used"),
                        )),
                        (Some(_), Some(_)) => {}
                    }
                }
                "rekey_time" | "life_time" => match seconds(v) {
                    Some(_) => t.set(k, Val::Str(v.trim().to_owned())),
                    None => t.note(nco(here(), "expected a time such as 1h")),
                },
                _ => t.note(nco(here(), child_reason(k))),
            }
        }
        for sub in s.sections() {
            note_section(
                t,
                &format!("{p}.{}", sub.name),
                sub,
                "no equivalent in ike",
                false,
            );
        }
        child
    }

    fn secrets(&mut self, s: &Section) {
        for (k, _) in s.keys() {
            self.out.secret_notes.push(nco(
                format!("secrets.{k} = <not copied>"),
                "a key outside a secret section",
            ));
        }
        for sec in s.sections() {
            let p = format!("secrets.{}", sec.name);
            let n = sec.name.as_str();
            if n.starts_with("ike") {
                let mut t = Table::default();
                let mut ids = Vec::new();
                let mut secret = None;
                for (k, v) in sec.keys() {
                    if k.starts_with("id") {
                        ids.extend(list(v));
                    } else if k == "secret" {
                        secret = Some(v.to_owned());
                    } else {
                        t.note(nco(format!("{p}.{k} = {v}"), "no equivalent in ike"));
                    }
                }
                match secret {
                    Some(sec_text) => {
                        if !ids.is_empty() {
                            t.set("ids", Val::List(ids));
                        }
                        t.set("secret", Val::Str(sec_text));
                        self.out.ike_secrets.push(t);
                    }
                    None => {
                        self.out.secret_notes.push(nco(&p, "it has no secret"));
                        self.out.secret_notes.append(&mut t.notes);
                    }
                }
            } else if ["private", "rsa", "ecdsa", "pkcs8", "pkcs12"]
                .iter()
                .any(|w| n.starts_with(w))
            {
                let file = sec.keys().find(|(k, _)| *k == "file").map(|(_, v)| v);
                self.out.secret_notes.push(nco(
                    format!("{p} (the passphrase of {})", file.unwrap_or("?")),
                    "ike reads unencrypted key files only; decrypt the key (e.g. openssl pkey) and name it in [[secrets.private_key]]",
                ));
            } else {
                let why = if n.starts_with("eap") || n.starts_with("xauth") || n.starts_with("ntlm")
                {
                    "EAP and XAuth are not supported"
                } else if n.starts_with("ppk") {
                    "post-quantum preshared keys (RFC 8784) are not supported"
                } else if n.starts_with("token") {
                    "keys on tokens (PKCS#11) are not supported"
                } else {
                    "no equivalent in ike"
                };
                let mut t = Table::default();
                note_section(&mut t, &p, sec, why, true);
                self.out.secret_notes.append(&mut t.notes);
            }
        }
    }

    fn authorities(&mut self, s: &Section) {
        for a in s.sections() {
            let p = format!("authorities.{}", a.name);
            for (k, v) in a.keys() {
                if k == "cacert" {
                    let f = cred_path(self.base.as_deref(), "x509ca", v.trim());
                    self.out.add_authority(f);
                } else {
                    self.out.notes.push(nco(
                        format!("{p}.{k} = {v}"),
                        "ike checks no CRLs or OCSP and fetches no certificates",
                    ));
                }
            }
            for sub in a.sections() {
                let mut t = Table::default();
                note_section(
                    &mut t,
                    &format!("{p}.{}", sub.name),
                    sub,
                    "no equivalent in ike",
                    false,
                );
                self.out.notes.append(&mut t.notes);
            }
        }
    }
}

// --- ipsec.conf --------------------------------------------------------------------------------

/// One section of an ipsec.conf: its keys with the line each was set on.
#[derive(Clone, Debug, Default)]
struct IpsecSection {
    kind: String,
    name: String,
    line: usize,
    keys: Vec<(String, String)>,
}

impl IpsecSection {
    fn set(&mut self, k: &str, v: &str) {
        if let Some(slot) = self.keys.iter_mut().find(|(key, _)| key == k) {
            slot.1 = v.to_owned();
        } else {
            self.keys.push((k.to_owned(), v.to_owned()));
        }
    }
}

struct Ipsec<'a> {
    out: &'a mut Out,
    /// The ipsec.d directory (certs/, cacerts/, private/).
    base: Option<PathBuf>,
    warnings: &'a mut Vec<String>,
}

/// Strips an unquoted `#` comment and surrounding quotes.
fn ipsec_value(v: &str) -> String {
    let v = v.trim();
    if let Some(rest) = v.strip_prefix('"') {
        if let Some(end) = rest.find('"') {
            return rest.get(..end).unwrap_or_default().to_owned();
        }
        return rest.to_owned();
    }
    v.split('#').next().unwrap_or_default().trim().to_owned()
}

/// Parses ipsec.conf text into its sections (`config`, `conn`, `ca`), following includes.
fn parse_ipsec(
    text: &str,
    file: &str,
    dir: Option<&Path>,
    depth: usize,
    sections: &mut Vec<IpsecSection>,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    let err = |line: usize, message: String| ImportError {
        file: file.to_owned(),
        line,
        message,
    };
    let mut current: Option<IpsecSection> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            let Some(sec) = current.as_mut() else {
                return Err(err(
                    line,
                    "an indented setting outside a section (expected \"conn NAME\", \"ca NAME\" or \"config setup\" first)".to_owned(),
                ));
            };
            let Some((k, v)) = trimmed.split_once('=') else {
                return Err(err(
                    line,
                    format!("expected key=value, found \"{trimmed}\""),
                ));
            };
            let k = k.trim();
            if k.is_empty() || k.contains(char::is_whitespace) {
                return Err(err(line, format!("invalid key \"{k}\"")));
            }
            sec.set(k, &ipsec_value(v));
            continue;
        }
        // a line at the left margin: a section or an include
        if let Some(s) = current.take() {
            sections.push(s);
        }
        let mut words = trimmed.split_whitespace();
        let first = words.next().unwrap_or_default();
        let second = words.next();
        let third = words.next();
        match (first, second, third) {
            ("conn" | "ca", Some(name), None) | ("config", Some(name @ "setup"), None) => {
                let twice = sections
                    .iter()
                    .find(|s| s.kind == first && s.name == name && name != "%default");
                if let Some(s) = twice {
                    return Err(err(
                        line,
                        format!("{first} {name} is defined twice (first at line {})", s.line),
                    ));
                }
                current = Some(IpsecSection {
                    kind: first.to_owned(),
                    name: name.to_owned(),
                    line,
                    keys: Vec::new(),
                });
            }
            ("include", Some(pattern), None) => {
                let Some(dir) = dir else {
                    notes.push(format!(
                        "not carried over: include {pattern} (not followed: the input is not a file)"
                    ));
                    continue;
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(err(
                        line,
                        format!("include {pattern}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels (a cycle?)"),
                    ));
                }
                let files = expand_include(dir, pattern);
                if files.is_empty() && !pattern.contains(['*', '?']) {
                    notes.push(format!("not carried over: include {pattern} (no such file)"));
                }
                for f in files {
                    let name = f.display().to_string();
                    let bytes = std::fs::read(&f).map_err(|e| {
                        err(line, format!("include {pattern}: cannot read {name}: {e}"))
                    })?;
                    let text = utf8(&bytes, &name)?;
                    let sub = f.parent().map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
                    parse_ipsec(text, &name, Some(&sub), depth + 1, sections, notes)?;
                }
            }
            ("version", Some(_), None) => {}
            _ => {
                return Err(err(
                    line,
                    format!(
                        "expected \"conn NAME\", \"ca NAME\", \"config setup\" or \"include FILE\" at the start of a line, found \"{trimmed}\""
                    ),
                ))
            }
        }
    }
    if let Some(s) = current.take() {
        sections.push(s);
    }
    Ok(())
}

/// Why an ipsec.conf conn setting has no counterpart.
fn ipsec_reason(key: &str) -> &'static str {
    let side = key
        .strip_prefix("left")
        .or_else(|| key.strip_prefix("right"))
        .unwrap_or(key);
    match side {
        "sourceip" | "dns" => "virtual IPs (configuration payloads) are not supported",
        "updown" | "firewall" | "hostaccess" => "updown scripts are not supported",
        "ca" | "ca2" | "groups" | "groups2" | "cert2" | "id2" | "auth2" => {
            "ike has no CA constraints or second authentication rounds"
        }
        "sendcert" => "ike decides when to send certificates",
        "rsasigkey" | "sigkey" => "raw public keys are not supported",
        "allowany" | "ikeport" | "nexthop" => "not configurable in ike",
        _ => match key {
            "rekeyfuzz" => "ike does not randomize rekey times",
            "rekey" | "reauth" => "ike always rekeys and does not re-authenticate on a timer",
            "keyingtries" => "ike retries as [daemon] retransmit_* say",
            "mobike" => "MOBIKE is not supported",
            "fragmentation" => "ike fragments as [daemon] fragment_size says",
            "compress" => "IPComp is not supported",
            "dpdtimeout" => "ike gives up on a dead peer when its retransmissions run out",
            "closeaction" | "inactivity" => "ike does not act on closed or idle Child SAs",
            "xauth" | "xauth_identity" | "eap_identity" | "aaa_identity" | "modeconfig" => {
                "EAP, XAuth and Mode-Config are not supported"
            }
            "mark" | "mark_in" | "mark_out" | "reqid" | "installpolicy" | "replay_window"
            | "tfc" | "dscp" => "not configurable in ike",
            "marginbytes" | "marginpackets" | "lifebytes" | "lifepackets" => {
                "ike limits Child SAs by time only"
            }
            _ => "no equivalent in ike",
        },
    }
}

impl Ipsec<'_> {
    fn convert(&mut self, text: &str, file: &str, dir: Option<&Path>) -> Result<(), ImportError> {
        let mut sections = Vec::new();
        let mut notes = Vec::new();
        parse_ipsec(text, file, dir, 0, &mut sections, &mut notes)?;
        self.out.notes.append(&mut notes);
        self.out.notes.push(
            "ipsec.conf's left is taken as the local end and right as the remote end".to_owned(),
        );
        let mut defaults = IpsecSection::default();
        // every conn with the %default values in force where it was defined
        let mut conns: Vec<(IpsecSection, IpsecSection)> = Vec::new();
        for s in &sections {
            match (s.kind.as_str(), s.name.as_str()) {
                ("config", _) => {
                    for (k, v) in &s.keys {
                        self.out.notes.push(nco(
                            format!("config setup: {k}={v}"),
                            "daemon settings are in ike's [daemon] table, which has no equivalent of this",
                        ));
                    }
                }
                ("conn", "%default") => {
                    for (k, v) in &s.keys {
                        defaults.set(k, v);
                    }
                }
                ("conn", _) => conns.push((s.clone(), defaults.clone())),
                _ => {
                    for (k, v) in &s.keys {
                        if k == "cacert" {
                            let f = cred_path(self.base.as_deref(), "cacerts", v);
                            self.out.add_authority(f);
                        } else if k != "auto" {
                            self.out.notes.push(nco(
                                format!("ca {}: {k}={v}", s.name),
                                "ike checks no CRLs or OCSP and fetches no certificates",
                            ));
                        }
                    }
                }
            }
        }
        let all: Vec<IpsecSection> = conns.iter().map(|(c, _)| c.clone()).collect();
        for (c, defaults) in &conns {
            let mut eff = defaults.clone();
            let mut seen = HashSet::new();
            self.also(c, &all, &mut eff, &mut seen, 0);
            for (k, v) in &c.keys {
                if k != "also" {
                    eff.set(k, v);
                }
            }
            let auto = eff
                .keys
                .iter()
                .find(|(k, _)| k == "auto")
                .map(|(_, v)| v.as_str())
                .unwrap_or("ignore");
            if auto == "ignore" {
                self.out.notes.push(nco(
                    format!("conn {}", c.name),
                    "auto=ignore (the default): strongSwan does not load it either",
                ));
                continue;
            }
            let conn = self.conn(&c.name, &eff);
            self.out.conns.push(conn);
        }
        if let Some(base) = self.base.clone() {
            for f in files_in(&base.join("cacerts")) {
                self.out.add_authority(path_text(&f));
            }
        }
        Ok(())
    }

    /// Adds the settings of the conns named by `c`'s `also=` (recursively) to `eff`.
    fn also(
        &mut self,
        c: &IpsecSection,
        all: &[IpsecSection],
        eff: &mut IpsecSection,
        seen: &mut HashSet<String>,
        depth: usize,
    ) {
        let Some((_, names)) = c.keys.iter().find(|(k, _)| k == "also") else {
            return;
        };
        for name in names.split_whitespace() {
            if depth >= MAX_ALSO_DEPTH || !seen.insert(name.to_owned()) {
                self.out.notes.push(nco(
                    format!("conn {}: also={name}", c.name),
                    "a cycle or too deep a chain of also=",
                ));
                continue;
            }
            match all.iter().find(|s| s.name == name) {
                Some(s) => {
                    self.also(s, all, eff, seen, depth + 1);
                    for (k, v) in &s.keys {
                        if k != "also" && k != "auto" {
                            eff.set(k, v);
                        }
                    }
                }
                None => self.out.notes.push(nco(
                    format!("conn {}: also={name}", c.name),
                    "no conn of that name",
                )),
            }
        }
    }

    fn conn(&mut self, name: &str, eff: &IpsecSection) -> ConnOut {
        let mut conn = ConnOut {
            name: name.to_owned(),
            ..ConnOut::default()
        };
        let mut child = ChildOut {
            name: name.to_owned(),
            ..ChildOut::default()
        };
        let get = |k: &str| {
            eff.keys
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let at = |k: &str, v: &str| format!("conn {name}: {k}={v}");
        let mut handled: HashSet<&str> = HashSet::new();
        let mut mark = |k: &'static str| {
            handled.insert(k);
        };
        let base = self.base.clone();

        // the ends
        for (side, local) in [("left", true), ("right", false)] {
            let t = if local {
                &mut conn.local
            } else {
                &mut conn.remote
            };
            let addrs_key = if local { "local_addrs" } else { "remote_addrs" };
            let key = |s: &str| format!("{side}{s}");
            if let Some(v) = get(side) {
                let items = list(v);
                let (ok, bad) = addresses(
                    &items
                        .iter()
                        .filter(|a| a.as_str() != "%defaultroute")
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                if items.iter().any(|a| a == "%defaultroute") {
                    conn.table.note(format!(
                        "{} is written as %any: ike listens on every address",
                        at(side, "%defaultroute")
                    ));
                }
                for b in bad {
                    conn.table.note(nco(
                        at(side, &b),
                        "ike takes IP addresses or %any, not host names, subnets or ranges",
                    ));
                }
                if !ok.is_empty() {
                    conn.table.set(addrs_key, Val::List(ok));
                }
            }
            let ts_key = if local { "local_ts" } else { "remote_ts" };
            let protoport = get(&key("protoport"));
            if let Some(v) = get(&key("subnet")) {
                let mut ts = list(v);
                if let Some(pp) = protoport {
                    for s in &mut ts {
                        s.push_str(&format!("[{pp}]"));
                    }
                }
                child.table.set(ts_key, Val::List(ts));
            } else if let Some(pp) = protoport {
                conn.table.note(nco(
                    at(&key("protoport"), pp),
                    &format!("without {side}subnet the selector is the end's address, which ike cannot restrict to a protocol"),
                ));
            }
            if let Some(v) = get(&key("id")) {
                if local && v == "%any" {
                    t.note(nco(at(&key("id"), v), "our own identity cannot be %any"));
                } else {
                    t.set("id", Val::Str(v.to_owned()));
                }
            }
            if let Some(v) = get(&key("cert")) {
                t.set(
                    "certs",
                    Val::List(
                        list(v)
                            .iter()
                            .map(|n| cred_path(base.as_deref(), "certs", n))
                            .collect(),
                    ),
                );
            }
            let auth = get(&key("auth")).map(str::to_ascii_lowercase).or_else(|| {
                let by = get("authby").unwrap_or("pubkey").to_ascii_lowercase();
                Some(by)
            });
            if let Some(a) = auth {
                match a.as_str() {
                    "psk" | "secret" => t.set("auth", Val::Str("psk".to_owned())),
                    "pubkey" | "rsasig" | "ecdsasig" | "rsa" | "ecdsa" => {
                        t.set("auth", Val::Str("pubkey".to_owned()))
                    }
                    "xauthpsk" => {
                        t.set("auth", Val::Str("psk".to_owned()));
                        t.note(nco(at("authby", &a), "XAuth is not supported; psk is kept"));
                    }
                    "xauthrsasig" => {
                        t.set("auth", Val::Str("pubkey".to_owned()));
                        t.note(nco(
                            at("authby", &a),
                            "XAuth is not supported; pubkey is kept",
                        ));
                    }
                    a if a.starts_with("rsa")
                        || a.starts_with("ecdsa")
                        || a.starts_with("pubkey") =>
                    {
                        t.set("auth", Val::Str("pubkey".to_owned()));
                        t.note(format!(
                            "{} is written as pubkey: ike chooses the signature scheme by the key",
                            at(&key("auth"), a)
                        ));
                    }
                    _ => t.note(nco(
                        at(&key("auth"), &a),
                        "ike authenticates with psk or pubkey only (no EAP, XAuth)",
                    )),
                }
            }
        }
        for k in [
            "left",
            "right",
            "leftsubnet",
            "rightsubnet",
            "leftprotoport",
            "rightprotoport",
            "leftid",
            "rightid",
            "leftcert",
            "rightcert",
            "leftauth",
            "rightauth",
            "authby",
        ] {
            mark(k);
        }

        // the connection
        let t = &mut conn.table;
        match get("keyexchange") {
            Some("ikev1") => t.set("version", Val::Int(1)),
            Some("ikev2") => t.set("version", Val::Int(2)),
            Some("ike") | None => {
                t.set("version", Val::Int(2));
                t.note(format!(
                    "{} (the default: IKEv2, answering both) is written as version 2",
                    at("keyexchange", get("keyexchange").unwrap_or("ike"))
                ));
            }
            Some(v) => t.note(nco(at("keyexchange", v), "expected ike, ikev1 or ikev2")),
        }
        mark("keyexchange");
        for (key, ours, table_is_child) in [
            ("ike", "proposals", false),
            ("esp", "esp_proposals", true),
            ("ah", "ah_proposals", true),
        ] {
            if let Some(v) = get(key) {
                let strict = v.trim_end().ends_with('!');
                let items: Vec<String> = list(v.trim_end().trim_end_matches('!'));
                let target = if table_is_child {
                    &mut child.table
                } else {
                    &mut conn.table
                };
                target.set(ours, Val::List(items));
                if !strict {
                    target.note(format!(
                        "{} has no '!': strongSwan would also accept its default proposals; ike takes only these",
                        at(key, v)
                    ));
                }
            }
        }
        mark("ike");
        mark("esp");
        mark("ah");
        let t = &mut conn.table;
        if let Some(v) = get("aggressive") {
            match boolean(v) {
                Some(b) => t.set("aggressive", Val::Bool(b)),
                None => t.note(nco(at("aggressive", v), "expected yes or no")),
            }
        }
        mark("aggressive");
        if let Some(v) = get("forceencaps") {
            match boolean(v) {
                Some(b) => t.set("encap", Val::Bool(b)),
                None => t.note(nco(at("forceencaps", v), "expected yes or no")),
            }
        }
        mark("forceencaps");
        // dead peer detection: on only with a dpdaction other than none
        let dpd_action = get("dpdaction").unwrap_or("none");
        match dpd_action {
            "none" => {
                if let Some(d) = get("dpddelay") {
                    t.note(format!(
                        "{} has no effect with dpdaction=none",
                        at("dpddelay", d)
                    ));
                }
            }
            "clear" | "hold" | "restart" => {
                let delay = get("dpddelay").unwrap_or("30s");
                match seconds(delay) {
                    Some(_) => t.set("dpd_delay", Val::Str(delay.to_owned())),
                    None => t.note(nco(at("dpddelay", delay), "expected a time such as 30s")),
                }
                let ours = if dpd_action == "hold" {
                    "trap"
                } else {
                    dpd_action
                };
                t.set("dpd_action", Val::Str(ours.to_owned()));
            }
            other => t.note(nco(
                at("dpdaction", other),
                "expected none, clear, hold or restart",
            )),
        }
        mark("dpdaction");
        mark("dpddelay");
        // lifetimes: strongSwan rekeys margintime before the end of a lifetime
        let margin_text = get("margintime").or_else(|| get("rekeymargin"));
        let margin = margin_text.map_or(Some(540), seconds);
        mark("margintime");
        mark("rekeymargin");
        if let Some(v) = get("ikelifetime") {
            match (seconds(v), margin) {
                (Some(life), Some(m)) if life > m && m > 0 => {
                    t.set("rekey_time", Val::Str(duration_text(life - m)));
                    t.set("over_time", Val::Str(duration_text(m)));
                }
                _ => t.note(nco(
                    at("ikelifetime", v),
                    "expected a time longer than margintime (default 9m)",
                )),
            }
        }
        mark("ikelifetime");
        if let Some(v) = get("lifetime").or_else(|| get("keylife")) {
            match (seconds(v), margin) {
                (Some(life), Some(m)) if life > m && m > 0 => {
                    child
                        .table
                        .set("rekey_time", Val::Str(duration_text(life - m)));
                    child.table.set("life_time", Val::Str(duration_text(life)));
                }
                _ => child.table.note(nco(
                    at("lifetime", v),
                    "expected a time longer than margintime (default 9m)",
                )),
            }
        }
        mark("lifetime");
        mark("keylife");
        // the child
        match get("type").unwrap_or("tunnel") {
            m @ ("tunnel" | "transport") => child.table.set("mode", Val::Str(m.to_owned())),
            other => {
                child.disabled = Some(nco(
                    at("type", other),
                    "shunt policies (passthrough, drop) are not supported; the child is written commented out",
                ))
            }
        }
        mark("type");
        match get("auto").unwrap_or("ignore") {
            "start" => child
                .table
                .set("start_action", Val::Str("start".to_owned())),
            "route" => child.table.set("start_action", Val::Str("trap".to_owned())),
            "add" => child.table.set("start_action", Val::Str("none".to_owned())),
            other => child
                .table
                .note(nco(at("auto", other), "expected add, route or start")),
        }
        mark("auto");
        mark("also");
        for (k, v) in &eff.keys {
            if handled.contains(k.as_str()) || v.is_empty() {
                continue;
            }
            conn.table.note(nco(at(k, v), ipsec_reason(k)));
        }
        conn.children.push(child);
        let origin = |k: &str| {
            let k = match k.rsplit('.').next().unwrap_or(k) {
                "local_ts" => "leftsubnet",
                "remote_ts" => "rightsubnet",
                "start_action" => "auto",
                other => other,
            };
            format!("conn {name}: {k}")
        };
        finish_conn(&mut conn, &origin);
        conn
    }

    /// ipsec.secrets: `SELECTORS : PSK "secret"` lines, and `: RSA file` key files.
    fn secrets_file(&mut self, path: &Path) -> Result<(), ImportError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ImportError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read the secrets file: {e}"),
        })?;
        let text = utf8(&bytes, &name)?;
        let dir = path.parent().map(Path::to_path_buf);
        self.secrets_text(text, &name, dir.as_deref(), 0)
    }

    fn secrets_text(
        &mut self,
        text: &str,
        file: &str,
        dir: Option<&Path>,
        depth: usize,
    ) -> Result<(), ImportError> {
        let err = |line: usize, message: String| ImportError {
            file: file.to_owned(),
            line,
            message,
        };
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(pattern) = trimmed.strip_prefix("include ") {
                let pattern = pattern.trim();
                let Some(dir) = dir else { continue };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(err(line, format!("include {pattern}: nested too deep")));
                }
                for f in expand_include(dir, pattern) {
                    let fname = f.display().to_string();
                    let bytes = std::fs::read(&f)
                        .map_err(|e| err(line, format!("include {pattern}: {e}")))?;
                    let t = utf8(&bytes, &fname)?;
                    let sub = f
                        .parent()
                        .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
                    self.secrets_text(t, &fname, Some(&sub), depth + 1)?;
                }
                continue;
            }
            // the separator is a ':' standing alone (IPv6 selectors hold colons too)
            let chars: Vec<char> = trimmed.chars().collect();
            let sep = (0..chars.len()).find(|&i| {
                chars.get(i) == Some(&':')
                    && (i == 0 || chars.get(i - 1).is_some_and(|c| c.is_whitespace()))
                    && chars.get(i + 1).is_none_or(|c| c.is_whitespace())
            });
            let Some(sep) = sep else {
                return Err(err(
                    line,
                    "expected SELECTORS : TYPE VALUE (e.g. moon carol : PSK \"secret\")".to_owned(),
                ));
            };
            let selectors: String = chars.get(..sep).unwrap_or_default().iter().collect();
            let rest: String = chars.get(sep + 1..).unwrap_or_default().iter().collect();
            let rest = rest.trim();
            let (kind, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let ids: Vec<String> = selectors
                .split_whitespace()
                .filter(|s| !matches!(*s, "%any" | "%any4" | "%any6"))
                .map(str::to_owned)
                .collect();
            match kind.to_ascii_uppercase().as_str() {
                "PSK" => {
                    let mut t = Table::default();
                    if !ids.is_empty() {
                        t.set("ids", Val::List(ids));
                    }
                    t.set("secret", Val::Str(ipsec_value(value)));
                    self.out.ike_secrets.push(t);
                }
                "RSA" | "ECDSA" | "PKCS8" | "PRIVATE" => {
                    let mut parts = value.split_whitespace();
                    let f = ipsec_value(parts.next().unwrap_or_default());
                    if f.is_empty() {
                        return Err(err(line, format!("{kind} without a file name")));
                    }
                    self.out
                        .add_private_key(cred_path(self.base.as_deref(), "private", &f));
                    if parts.next().is_some() {
                        self.out.secret_notes.push(nco(
                            format!("{file}:{line}: the passphrase of {f}"),
                            "ike reads unencrypted key files only",
                        ));
                    }
                }
                other => {
                    self.out.secret_notes.push(nco(
                        format!("{file}:{line}: {}: {other} <not copied>", selectors.trim()),
                        "ike uses PSK and private key entries only (no EAP, XAuth, PKCS#12, tokens)",
                    ));
                    if other.is_empty() {
                        self.warnings
                            .push(format!("{file}:{line}: an entry without a type"));
                    }
                }
            }
        }
        Ok(())
    }
}

// --- rendering ---------------------------------------------------------------------------------

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table name part: bare when it can be.
fn key_part(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_owned()
    } else {
        quote(s)
    }
}

fn val_text(v: &Val) -> String {
    match v {
        Val::Str(s) => quote(s),
        Val::Int(n) => n.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::List(l) => format!(
            "[{}]",
            l.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A comment line: one line, whatever the text holds.
fn comment(out: &mut String, prefix: &str, text: &str) {
    let one: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let _ = writeln!(out, "{prefix}# {one}");
}

fn table(out: &mut String, header: &str, t: &Table, prefix: &str) {
    let _ = writeln!(out, "{prefix}[{header}]");
    for n in &t.notes {
        comment(out, prefix, n);
    }
    for (k, v) in &t.keys {
        let _ = writeln!(out, "{prefix}{} = {}", key_part(k), val_text(v));
    }
}

fn render(o: &Out, file: &str, format: Format) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        "",
        &format!(
            "imported from {file} ({}) by `ike import`; check it with `ike check -c FILE`",
            format.describe()
        ),
    );
    comment(
        &mut out,
        "",
        "every setting that could not be carried over is a \"# not carried over\" comment",
    );
    for n in &o.notes {
        comment(&mut out, "", n);
    }
    for c in &o.conns {
        let p = format!("connections.{}", key_part(&c.name));
        out.push('\n');
        table(&mut out, &p, &c.table, "");
        out.push('\n');
        table(&mut out, &format!("{p}.local"), &c.local, "");
        out.push('\n');
        table(&mut out, &format!("{p}.remote"), &c.remote, "");
        for ch in &c.children {
            out.push('\n');
            let header = format!("{p}.children.{}", key_part(&ch.name));
            match &ch.disabled {
                Some(why) => {
                    comment(&mut out, "", why);
                    let mut inner = String::new();
                    table(&mut inner, &header, &ch.table, "");
                    for l in inner.lines() {
                        let _ = writeln!(out, "# {l}");
                    }
                }
                None => table(&mut out, &header, &ch.table, ""),
            }
        }
    }
    if !o.secret_notes.is_empty() {
        out.push('\n');
        for n in &o.secret_notes {
            comment(&mut out, "", n);
        }
    }
    for s in &o.ike_secrets {
        out.push('\n');
        let _ = writeln!(out, "[[secrets.ike]]");
        for n in &s.notes {
            comment(&mut out, "", n);
        }
        for (k, v) in &s.keys {
            let _ = writeln!(out, "{} = {}", key_part(k), val_text(v));
        }
    }
    for f in &o.private_keys {
        out.push('\n');
        let _ = writeln!(out, "[[secrets.private_key]]\nfile = {}", quote(f));
    }
    for f in &o.authorities {
        out.push('\n');
        let _ = writeln!(out, "[[authorities]]\ncacert = {}", quote(f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*.conf", b"a.conf"));
        assert!(!wildcard(b"*.conf", b"a.conf~"));
        assert!(wildcard(b"a?c*", b"abcdef"));
        assert!(wildcard(b"*", b""));
        assert!(!wildcard(b"?", b""));
    }

    #[test]
    fn durations() {
        assert_eq!(seconds("4h"), Some(14_400));
        assert_eq!(seconds("30"), Some(30));
        assert_eq!(seconds("1.5h"), None);
        assert_eq!(duration_text(3 * 3600 - 540), "171m");
        assert_eq!(duration_text(540), "9m");
        assert_eq!(duration_text(86_400), "1d");
    }

    #[test]
    fn settings_merge_and_override() {
        let mut p = SettingsParser::default();
        let root = p
            .parse_root(
                "a {\n x = 1\n}\na { x = 2\n y = \"q # r\" # c\n}\n",
                "f",
                None,
            )
            .unwrap_or_default();
        let a = root.sections().next().map(|s| s.keys().collect::<Vec<_>>());
        assert_eq!(a, Some(vec![("x", "2"), ("y", "q # r")]));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(key_part("site-b"), "site-b");
        assert_eq!(key_part("a.b"), "\"a.b\"");
    }
}
