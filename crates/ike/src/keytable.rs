//! Reading a key log back: the `ikev2_decryption_table` and `ikev1_decryption_table` files that
//! `ike daemon --keylog DIR` writes ([`crate::keylog`]), for `ike decode --keylog DIR`.
//!
//! The files are Wireshark user tables (UAT): one record per line, fields separated by commas,
//! a field either bare (hex bytes, as Wireshark writes byte fields) or a double-quoted string
//! with backslash escapes (`\"`, `\\`, `\xHH`; `""` is read as a quote too). Blank lines and
//! lines starting with `#` are comments. Anything else that does not parse is an error naming
//! the file and line; a key is never echoed in an error, only the name of its field.
//!
//! Keys are held in [`Secret`]s (zeroized on drop), and the file's text is zeroized once read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ike_crypto::cipher::{EncrAlg, IntegAlg};
use ike_crypto::Secret;
use zeroize::Zeroizing;

/// The file name of the IKEv2 table.
pub const IKEV2_TABLE: &str = "ikev2_decryption_table";
/// The file name of the IKEv1 table.
pub const IKEV1_TABLE: &str = "ikev1_decryption_table";

/// A key log file larger than this is refused (a key log holds a few lines per SA).
const MAX_FILE_LEN: u64 = 64 << 20;

/// The keys of one IKE SA, from a line of `ikev2_decryption_table`.
#[derive(Debug)]
pub struct V2Keys {
    /// The encryption transform (with its key size and ICV length).
    pub encr: EncrAlg,
    /// The integrity transform; none with AEAD.
    pub integ: Option<IntegAlg>,
    /// SK_ei (with the salt for AEAD and CTR).
    pub sk_ei: Secret,
    /// SK_er.
    pub sk_er: Secret,
    /// SK_ai (empty with AEAD).
    pub sk_ai: Secret,
    /// SK_ar.
    pub sk_ar: Secret,
    /// Where the line is, for messages ("DIR/ikev2_decryption_table:3").
    pub source: String,
}

/// The encryption key of one ISAKMP SA, from a line of `ikev1_decryption_table`.
#[derive(Debug)]
pub struct V1Key {
    /// The key (its length must fit the cipher the SA negotiated).
    pub key: Secret,
    /// Where the line is.
    pub source: String,
}

/// Both tables of a key log directory.
#[derive(Debug, Default)]
pub struct KeyTable {
    /// IKEv2 keys by (SPIi, SPIr).
    pub v2: HashMap<([u8; 8], [u8; 8]), V2Keys>,
    /// IKEv1 keys by initiator cookie.
    pub v1: HashMap<[u8; 8], V1Key>,
}

/// A key log that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyTableError {
    /// A file or directory that cannot be read.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A line that does not parse.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

impl KeyTable {
    /// Reads `ikev2_decryption_table` and `ikev1_decryption_table` from `dir`. Either may be
    /// missing, not both.
    pub fn read_dir(dir: &Path) -> Result<KeyTable, KeyTableError> {
        let io = |path: &Path, e: std::io::Error| KeyTableError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(dir).map_err(|e| io(dir, e))?;
        if !meta.is_dir() {
            return Err(KeyTableError::Io {
                path: dir.to_path_buf(),
                message: "not a directory (--keylog takes the directory that `ike daemon \
                          --keylog DIR` wrote)"
                    .into(),
            });
        }
        let mut table = KeyTable::default();
        let mut found = false;
        for (name, v2) in [(IKEV2_TABLE, true), (IKEV1_TABLE, false)] {
            let path = dir.join(name);
            let Some(text) = read_text(&path)? else {
                continue;
            };
            found = true;
            if v2 {
                table.read_v2(&path, &text)?;
            } else {
                table.read_v1(&path, &text)?;
            }
        }
        if !found {
            return Err(KeyTableError::Io {
                path: dir.to_path_buf(),
                message: format!("neither {IKEV2_TABLE} nor {IKEV1_TABLE} is there"),
            });
        }
        Ok(table)
    }

    /// Adds the records of an `ikev2_decryption_table`'s text; `path` names it in errors.
    pub fn read_v2(&mut self, path: &Path, text: &[u8]) -> Result<(), KeyTableError> {
        for (n, fields) in records(path, text)? {
            let err = |message: String| KeyTableError::Line {
                path: path.to_path_buf(),
                line: n,
                message,
            };
            let [spi_i, spi_r, sk_ei, sk_er, encr, sk_ai, sk_ar, integ] =
                <[Zeroizing<String>; 8]>::try_from(fields).map_err(|f| {
                    err(format!(
                        "expected 8 fields (SPIi, SPIr, SK_ei, SK_er, encryption algorithm, \
                         SK_ai, SK_ar, integrity algorithm), found {}",
                        f.len()
                    ))
                })?;
            let spi_i = spi(&spi_i, "SPIi").map_err(err)?;
            let spi_r = spi(&spi_r, "SPIr").map_err(err)?;
            let encr = encr_from_label(&encr).ok_or_else(|| {
                err(format!(
                    "unknown or unsupported encryption algorithm {:?} (expected a label as \
                     `ike daemon --keylog` writes, such as \"AES-CBC-256 [RFC3602]\" or \
                     \"AES-GCM-256 with 16 octet ICV [RFC5282]\")",
                    echoable(&encr)
                ))
            })?;
            let integ = integ_from_label(&integ).ok_or_else(|| {
                err(format!(
                    "unknown or unsupported integrity algorithm {:?} (expected a label as \
                     `ike daemon --keylog` writes, such as \"HMAC_SHA2_256_128 [RFC4868]\" or \
                     \"NONE [RFC4306]\")",
                    echoable(&integ)
                ))
            })?;
            match (encr.is_aead(), integ) {
                (true, Some(_)) => {
                    return Err(err(
                        "an AEAD encryption algorithm takes the integrity algorithm NONE".into(),
                    ))
                }
                (false, None) => {
                    return Err(err(
                        "this encryption algorithm needs an integrity algorithm, not NONE".into(),
                    ))
                }
                _ => {}
            }
            let enc_len = encr.key_material_len();
            let int_len = integ.map_or(0, |i| i.key_len());
            let sk_ei = key(&sk_ei, "SK_ei", enc_len).map_err(err)?;
            let sk_er = key(&sk_er, "SK_er", enc_len).map_err(err)?;
            let sk_ai = key(&sk_ai, "SK_ai", int_len).map_err(err)?;
            let sk_ar = key(&sk_ar, "SK_ar", int_len).map_err(err)?;
            self.v2.insert(
                (spi_i, spi_r),
                V2Keys {
                    encr,
                    integ,
                    sk_ei,
                    sk_er,
                    sk_ai,
                    sk_ar,
                    source: format!("{}:{n}", path.display()),
                },
            );
        }
        Ok(())
    }

    /// Adds the records of an `ikev1_decryption_table`'s text; `path` names it in errors.
    pub fn read_v1(&mut self, path: &Path, text: &[u8]) -> Result<(), KeyTableError> {
        for (n, fields) in records(path, text)? {
            let err = |message: String| KeyTableError::Line {
                path: path.to_path_buf(),
                line: n,
                message,
            };
            let [cookie, enc] = <[Zeroizing<String>; 2]>::try_from(fields).map_err(|f| {
                err(format!(
                    "expected 2 fields (initiator cookie, encryption key), found {}",
                    f.len()
                ))
            })?;
            let cookie = spi(&cookie, "initiator cookie").map_err(err)?;
            let key = hex_field(&enc, "encryption key").map_err(err)?;
            // 3DES and AES keys are 24 to 32 bytes; DES and Blowfish shorter; 64 is ample.
            if key.is_empty() || key.len() > 64 {
                return Err(err(format!(
                    "the encryption key is {} bytes (expected 1 to 64)",
                    key.len()
                )));
            }
            self.v1.insert(
                cookie,
                V1Key {
                    key,
                    source: format!("{}:{n}", path.display()),
                },
            );
        }
        Ok(())
    }
}

/// The file's bytes (zeroized when dropped), or `None` if it does not exist.
fn read_text(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, KeyTableError> {
    use std::io::Read as _;
    let io = |e: std::io::Error| KeyTableError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(KeyTableError::Io {
            path: path.to_path_buf(),
            message: format!("larger than {} MiB: not a key log", MAX_FILE_LEN >> 20),
        });
    }
    Ok(Some(bytes))
}

/// A record of a UAT file: its line number and its fields.
type Record = (usize, Vec<Zeroizing<String>>);

/// The records of a UAT file, comments and blank lines skipped.
fn records(path: &Path, text: &[u8]) -> Result<Vec<Record>, KeyTableError> {
    let mut out = Vec::new();
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let line = std::str::from_utf8(raw).map_err(|_| KeyTableError::Line {
            path: path.to_path_buf(),
            line: n,
            message: "not UTF-8 text".into(),
        })?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_fields(line).map_err(|message| KeyTableError::Line {
            path: path.to_path_buf(),
            line: n,
            message,
        })?;
        out.push((n, fields));
    }
    Ok(out)
}

/// Splits a UAT line into its fields, unquoting quoted ones.
fn split_fields(line: &str) -> Result<Vec<Zeroizing<String>>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        // Room for the whole line up front: a growing String would leave copies of key
        // bytes behind in the buffers it outgrew, which nothing zeroizes.
        let mut field = Zeroizing::new(String::with_capacity(line.len()));
        let number = fields.len() + 1;
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    None => return Err(format!("field {number}: a quote that is not closed")),
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('x') => {
                            let hi = chars.next().and_then(|c| c.to_digit(16));
                            let lo = chars.next().and_then(|c| c.to_digit(16));
                            match (hi, lo) {
                                (Some(h), Some(l)) => {
                                    field.push(char::from(u8::try_from(h * 16 + l).unwrap_or(0)))
                                }
                                _ => {
                                    return Err(format!(
                                        "field {number}: \\x not followed by two hex digits"
                                    ))
                                }
                            }
                        }
                        Some(c) => field.push(c),
                        None => return Err(format!("field {number}: a quote that is not closed")),
                    },
                    Some(c) => field.push(c),
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => {
                    return Err(format!(
                        "field {number}: text after its closing quote (expected a comma)"
                    ))
                }
            }
        } else {
            let mut more = false;
            for c in chars.by_ref() {
                if c == ',' {
                    more = true;
                    break;
                }
                if c == '"' {
                    return Err(format!("field {number}: a quote inside an unquoted field"));
                }
                field.push(c);
            }
            let trimmed = Zeroizing::new(field.trim_end().to_owned());
            fields.push(trimmed);
            if !more {
                return Ok(fields);
            }
        }
    }
}

/// A hex field: optional `0x`, optional colons or spaces between bytes. The error names the
/// field, never its content.
fn hex_field(field: &str, name: &str) -> Result<Secret, String> {
    let s = field.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let mut cleaned = Zeroizing::new(String::with_capacity(s.len()));
    cleaned.extend(s.chars().filter(|c| *c != ':' && *c != ' '));
    if !cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("{name}: not hex bytes"));
    }
    if cleaned.len() % 2 != 0 {
        return Err(format!("{name}: an odd number of hex digits"));
    }
    let mut bytes = vec![0u8; cleaned.len() / 2];
    hex::decode_to_slice(cleaned.as_bytes(), &mut bytes)
        .map(|()| Secret::new(bytes))
        .map_err(|_| format!("{name}: not hex bytes"))
}

fn spi(field: &str, name: &str) -> Result<[u8; 8], String> {
    let bytes = hex_field(field, name)?;
    <[u8; 8]>::try_from(bytes.expose())
        .map_err(|_| format!("{name}: {} bytes (expected 8)", bytes.len()))
}

fn key(field: &str, name: &str, len: usize) -> Result<Secret, String> {
    let k = hex_field(field, name)?;
    if k.len() != len {
        return Err(format!(
            "{name} is {} bytes; the algorithms named on this line need {len}",
            k.len()
        ));
    }
    Ok(k)
}

/// A label as it may be echoed in an error: labels are not secret, but a line whose fields
/// are shifted could put key bytes there, so anything that looks like hex key material is
/// not repeated.
fn echoable(label: &str) -> String {
    let hexlike = label.len() >= 16 && label.chars().all(|c| c.is_ascii_hexdigit());
    if hexlike {
        "(hex digits: a key in the wrong field?)".to_owned()
    } else {
        label.chars().take(80).collect()
    }
}

/// Every encryption transform the key log writer can name.
fn encr_candidates() -> Vec<EncrAlg> {
    let mut v = vec![EncrAlg::TripleDesCbc];
    for key_bits in [128, 192, 256] {
        v.push(EncrAlg::AesCbc { key_bits });
        v.push(EncrAlg::AesCtr { key_bits });
        for icv_len in [8, 12, 16] {
            v.push(EncrAlg::AesGcm { key_bits, icv_len });
            v.push(EncrAlg::AesCcm { key_bits, icv_len });
        }
    }
    v
}

/// The transform behind a Wireshark encryption label (the writer's own labels, so that the two
/// cannot drift apart).
fn encr_from_label(label: &str) -> Option<EncrAlg> {
    let label = label.trim();
    encr_candidates()
        .into_iter()
        .find(|e| crate::keylog::ikev2_encr(*e).as_deref() == Some(label))
}

/// The transform behind a Wireshark integrity label; `Some(None)` for NONE.
fn integ_from_label(label: &str) -> Option<Option<IntegAlg>> {
    let label = label.trim();
    [
        None,
        Some(IntegAlg::HmacMd5_96),
        Some(IntegAlg::HmacSha1_96),
        Some(IntegAlg::HmacSha256_128),
        Some(IntegAlg::HmacSha384_192),
        Some(IntegAlg::HmacSha512_256),
    ]
    .into_iter()
    .find(|i| crate::keylog::ikev2_integ(*i) == Some(label))
}

/// The label of a transform, for messages.
pub fn encr_label(e: EncrAlg) -> String {
    crate::keylog::ikev2_encr(e).unwrap_or_else(|| format!("{e:?}"))
}

/// The label of an integrity transform, for messages.
pub fn integ_label(i: Option<IntegAlg>) -> String {
    crate::keylog::ikev2_integ(i).map_or_else(|| format!("{i:?}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        split_fields(line)
            .unwrap()
            .into_iter()
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn splits_quoted_and_bare_fields() {
        assert_eq!(
            fields(r#"00ff,"AES-CBC-256 [RFC3602]", "a\"b\x41" ,"c""d",,x"#),
            ["00ff", "AES-CBC-256 [RFC3602]", "a\"bA", "c\"d", "", "x"]
        );
        assert!(split_fields(r#""open"#).is_err());
        assert!(split_fields(r#""a"b"#).is_err());
        assert!(split_fields(r#"a"b"#).is_err());
        assert!(split_fields(r#""\x4""#).is_err());
    }

    #[test]
    fn labels_round_trip_through_the_writer() {
        for e in encr_candidates() {
            let label = crate::keylog::ikev2_encr(e).unwrap();
            assert_eq!(encr_from_label(&label), Some(e), "{label}");
        }
        assert_eq!(
            integ_from_label("HMAC_SHA2_256_128 [RFC4868]"),
            Some(Some(IntegAlg::HmacSha256_128))
        );
        assert_eq!(integ_from_label("NONE [RFC4306]"), Some(None));
        assert_eq!(encr_from_label("CAMELLIA-CBC-128 [RFC5529]"), None);
    }

    #[test]
    fn errors_name_the_line_and_never_the_key() {
        let key32 = "11".repeat(32);
        let text = format!(
            "# comment\n\n0102030405060708,1112131415161718,{key32},{key32},\"AES-CBC-256 \
             [RFC3602]\",{key32},{key32},\"HMAC_SHA2_256_128 [RFC4868]\"\n\
             0102030405060709,1112131415161718,{key32},{key32},\"AES-CBC-256 [RFC3602]\",\
             zz{key32},{key32},\"HMAC_SHA2_256_128 [RFC4868]\"\n"
        );
        let mut t = KeyTable::default();
        let e = t
            .read_v2(Path::new("dir/ikev2_decryption_table"), text.as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "dir/ikev2_decryption_table:4: SK_ai: not hex bytes");
        assert!(!e.contains(&key32));
        // Whatever garbage a file holds, reading it fails or succeeds without a panic.
        for garbage in [
            &b"\xff\xfe"[..],
            b",,,,,,,",
            b"\"",
            b"\\x",
            b"a,b",
            b"0102030405060708,\"\\xZZ\"",
        ] {
            let mut t = KeyTable::default();
            let _ = t.read_v2(Path::new("f"), garbage);
            let _ = t.read_v1(Path::new("f"), garbage);
        }
    }

    proptest::proptest! {
        #[test]
        fn no_file_content_panics(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut t = KeyTable::default();
            let _ = t.read_v2(Path::new("f"), &text);
            let _ = t.read_v1(Path::new("f"), &text);
        }

        #[test]
        fn no_line_of_fields_panics(fields in proptest::collection::vec("[0-9a-fA-Fx\\\\\", ]{0,70}", 1..10)) {
            let mut t = KeyTable::default();
            let line = fields.join(",");
            let _ = t.read_v2(Path::new("f"), line.as_bytes());
            let _ = t.read_v1(Path::new("f"), line.as_bytes());
        }
    }

    #[test]
    fn reads_a_v1_line() {
        let mut t = KeyTable::default();
        t.read_v1(
            Path::new("f"),
            format!("0102030405060708,{}\r\n", "ab".repeat(32)).as_bytes(),
        )
        .unwrap();
        assert_eq!(t.v1[&[1, 2, 3, 4, 5, 6, 7, 8]].key.len(), 32);
    }
}
