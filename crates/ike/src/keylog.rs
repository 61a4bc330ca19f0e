//! `ike daemon --keylog DIR`: the negotiated keys in the two tables Wireshark reads to decrypt
//! IKEv2 and ESP, so that a user can read their captures.
//!
//! DIR gets `ikev2_decryption_table` (one line per IKE SA key set: SPIs, SK_ei, SK_er, the
//! encryption algorithm, SK_ai, SK_ar, the integrity algorithm), `ikev1_decryption_table` (one
//! line per ISAKMP SA: the initiator cookie and the encryption key) and `esp_sa` (one line per
//! direction of each Child SA: protocol, addresses, SPI, algorithms and keys), in the CSV form
//! of Wireshark's user tables (UAT), and a `preferences` file that turns ESP decryption on.
//! `WIRESHARK_CONFIG_DIR=DIR wireshark capture.pcap` (or tshark) then decrypts at once; or copy
//! the lines into a profile's files. Algorithm names are the labels of Wireshark's own tables
//! (checked against tshark 4.0 by crates/ike/tests/keylog.rs); an algorithm Wireshark cannot
//! decrypt is written as a comment line naming it.
//!
//! The files are created with mode 0600 and only appended to, never through a symbolic link;
//! a directory or file that another user owns or may write (or, for files, read) is refused,
//! so that a local user cannot redirect the keys or read them. They hold secrets: the daemon
//! says so in its log when it starts with `--keylog`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ike_crypto::cipher::{EncrAlg, IntegAlg};
use ike_proto::v2::{ChildSaInstall, IkeSaKeys, IsakmpSaKeys};
use zeroize::Zeroizing;

/// Wireshark's label for an IKEv2 encryption transform (packet-isakmp.c's table).
pub(crate) fn ikev2_encr(e: EncrAlg) -> Option<String> {
    Some(match e {
        EncrAlg::AesCbc { key_bits } => format!("AES-CBC-{key_bits} [RFC3602]"),
        EncrAlg::AesCtr { key_bits } => format!("AES-CTR-{key_bits} [RFC5930]"),
        EncrAlg::AesGcm { key_bits, icv_len } => {
            format!("AES-GCM-{key_bits} with {icv_len} octet ICV [RFC5282]")
        }
        EncrAlg::AesCcm { key_bits, icv_len } => {
            format!("AES-CCM-{key_bits} with {icv_len} octet ICV [RFC5282]")
        }
        EncrAlg::TripleDesCbc => "3DES [RFC2451]".to_owned(),
        _ => return None,
    })
}

/// Wireshark's label for an IKEv2 integrity transform.
pub(crate) fn ikev2_integ(i: Option<IntegAlg>) -> Option<&'static str> {
    Some(match i {
        None => "NONE [RFC4306]",
        Some(IntegAlg::HmacMd5_96) => "HMAC_MD5_96 [RFC2403]",
        Some(IntegAlg::HmacSha1_96) => "HMAC_SHA1_96 [RFC2404]",
        Some(IntegAlg::HmacSha256_128) => "HMAC_SHA2_256_128 [RFC4868]",
        Some(IntegAlg::HmacSha384_192) => "HMAC_SHA2_384_192 [RFC4868]",
        Some(IntegAlg::HmacSha512_256) => "HMAC_SHA2_512_256 [RFC4868]",
        _ => return None,
    })
}

/// Wireshark's label for an ESP encryption algorithm (packet-ipsec.c's table).
fn esp_encr(e: EncrAlg) -> Option<&'static str> {
    Some(match e {
        EncrAlg::AesCbc { .. } => "AES-CBC [RFC3602]",
        EncrAlg::AesCtr { .. } => "AES-CTR [RFC3686]",
        EncrAlg::AesGcm { icv_len: 8, .. } => "AES-GCM with 8 octet ICV [RFC4106]",
        EncrAlg::AesGcm { icv_len: 12, .. } => "AES-GCM with 12 octet ICV [RFC4106]",
        EncrAlg::AesGcm { icv_len: 16, .. } => "AES-GCM with 16 octet ICV [RFC4106]",
        EncrAlg::TripleDesCbc => "TripleDES-CBC [RFC2451]",
        _ => return None,
    })
}

/// Wireshark's label for an ESP integrity algorithm.
fn esp_integ(i: Option<IntegAlg>) -> Option<&'static str> {
    Some(match i {
        None => "NULL",
        Some(IntegAlg::HmacMd5_96) => "HMAC-MD5-96 [RFC2403]",
        Some(IntegAlg::HmacSha1_96) => "HMAC-SHA-1-96 [RFC2404]",
        Some(IntegAlg::HmacSha256_128) => "HMAC-SHA-256-128 [RFC4868]",
        Some(IntegAlg::HmacSha384_192) => "HMAC-SHA-384-192 [RFC4868]",
        Some(IntegAlg::HmacSha512_256) => "HMAC-SHA-512-256 [RFC4868]",
        _ => return None,
    })
}

/// The `ikev2_decryption_table` line for an IKE SA's keys, or a comment saying why not. SPIs
/// and keys are UAT byte fields: bare hex, not quoted (a quoted one is read as text).
pub fn ikev2_line(k: &IkeSaKeys) -> Zeroizing<String> {
    Zeroizing::new(match (ikev2_encr(k.encr), ikev2_integ(k.integ)) {
        (Some(e), Some(i)) => format!(
            "{},{},{},{},\"{e}\",{},{},\"{i}\"\n",
            hex::encode(k.spi_i),
            hex::encode(k.spi_r),
            hex::encode(k.sk_ei.expose()),
            hex::encode(k.sk_er.expose()),
            hex::encode(k.sk_ai.expose()),
            hex::encode(k.sk_ar.expose()),
        ),
        _ => format!(
            "# {}_i {}_r: Wireshark cannot decrypt {:?} with {:?}\n",
            hex::encode(k.spi_i),
            hex::encode(k.spi_r),
            k.encr,
            k.integ
        ),
    })
}

/// The `ikev1_decryption_table` line of an ISAKMP SA: the initiator cookie and the encryption
/// key, bare hex (Wireshark finds the cipher in the SA payload it dissected).
pub fn ikev1_line(k: &IsakmpSaKeys) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{},{}\n",
        hex::encode(k.icookie),
        Zeroizing::new(hex::encode(k.key.expose())).as_str()
    ))
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// The two `esp_sa` lines (inbound, outbound) of a Child SA, or a comment saying why not. An
/// AH Child SA gets a comment without keys: Wireshark's `esp_sa` table is for ESP only (its AH
/// dissector checks no ICV).
pub fn esp_lines(c: &ChildSaInstall) -> Zeroizing<String> {
    let Some(encr) = c.encr else {
        return Zeroizing::new(format!(
            "# {}/{} in {:08x} out {:08x}: {}: no keys, Wireshark's esp_sa table is ESP only\n",
            c.connection, c.child, c.spi_in, c.spi_out, c.proposal
        ));
    };
    let (Some(e), Some(i)) = (esp_encr(encr), esp_integ(c.integ)) else {
        return Zeroizing::new(format!(
            "# {}/{} in {:08x} out {:08x}: Wireshark cannot decrypt {:?} with {:?}\n",
            c.connection, c.child, c.spi_in, c.spi_out, encr, c.integ
        ));
    };
    let (l, r) = (c.local.ip(), c.remote.ip());
    let line =
        |src: IpAddr, dst: IpAddr, spi: u32, keys: &(ike_crypto::Secret, ike_crypto::Secret)| {
            let ik = Zeroizing::new(if keys.1.is_empty() {
                String::new()
            } else {
                format!("0x{}", hex::encode(keys.1.expose()))
            });
            Zeroizing::new(format!(
                "\"{}\",\"{src}\",\"{dst}\",\"0x{spi:08x}\",\"{e}\",\"0x{}\",\"{i}\",\"{ik}\"\n",
                family(src),
                Zeroizing::new(hex::encode(keys.0.expose())).as_str(),
                ik = ik.as_str(),
            ))
        };
    let mut out = line(r, l, c.spi_in, &c.keys_in);
    out.push_str(&line(l, r, c.spi_out, &c.keys_out));
    out
}

/// The open key log.
#[derive(Debug)]
pub struct KeyLog {
    dir: PathBuf,
    ikev2: File,
    ikev1: File,
    esp: File,
}

/// The effective user ID of this process: the owner of `/proc/self` (no `unsafe` call needed).
fn our_uid() -> std::io::Result<u32> {
    use std::os::unix::fs::MetadataExt as _;
    Ok(std::fs::metadata("/proc/self")?.uid())
}

fn refused(path: &Path, why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!("{}: {why}; refusing to write keys there", path.display()),
    )
}

/// Opens a key file for appending without following a symbolic link (`O_NOFOLLOW`), creating
/// it with mode 0600, and refuses it unless it is a regular file of ours that no one else may
/// read or write: a file another local user planted (or made readable) would leak the keys.
fn open_0600(path: &Path, uid: u32) -> std::io::Result<File> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                refused(path, "a symbolic link")
            } else {
                e
            }
        })?;
    let m = f.metadata()?;
    if !m.file_type().is_file() {
        return Err(refused(path, "not a regular file"));
    }
    if m.uid() != uid {
        return Err(refused(
            path,
            &format!("owned by uid {}, not by us (uid {uid})", m.uid()),
        ));
    }
    if m.mode() & 0o077 != 0 {
        return Err(refused(
            path,
            &format!(
                "mode {:04o} lets others read or write it (expected 0600)",
                m.mode() & 0o7777
            ),
        ));
    }
    Ok(f)
}

impl KeyLog {
    /// Creates DIR (mode 0700) if needed and opens its tables for appending; writes a
    /// `preferences` file turning on ESP decryption unless one is there. DIR must be a
    /// directory of ours that no one else can write to, and each file a regular file of ours
    /// that no one else can read or write (see [`open_0600`]).
    pub fn open(dir: &Path) -> std::io::Result<KeyLog> {
        use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let uid = our_uid()?;
        let m = std::fs::symlink_metadata(dir)?;
        if !m.file_type().is_dir() {
            return Err(refused(dir, "not a directory (a symbolic link?)"));
        }
        if m.uid() != uid {
            return Err(refused(
                dir,
                &format!("owned by uid {}, not by us (uid {uid})", m.uid()),
            ));
        }
        if m.mode() & 0o022 != 0 {
            return Err(refused(
                dir,
                &format!(
                    "mode {:04o} lets others create files in it (expected 0700)",
                    m.mode() & 0o7777
                ),
            ));
        }
        let prefs = dir.join("preferences");
        if std::fs::symlink_metadata(&prefs).is_err() {
            let mut f = open_0600(&prefs, uid)?;
            f.write_all(b"# written by ike daemon --keylog\nesp.enable_encryption_decode: TRUE\n")?;
        }
        Ok(KeyLog {
            dir: dir.to_path_buf(),
            ikev2: open_0600(&dir.join("ikev2_decryption_table"), uid)?,
            ikev1: open_0600(&dir.join("ikev1_decryption_table"), uid)?,
            esp: open_0600(&dir.join("esp_sa"), uid)?,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends an IKE SA's keys.
    pub fn ike(&mut self, k: &IkeSaKeys) -> std::io::Result<()> {
        self.ikev2.write_all(ikev2_line(k).as_bytes())
    }

    /// Appends an ISAKMP SA's key.
    pub fn isakmp(&mut self, k: &IsakmpSaKeys) -> std::io::Result<()> {
        self.ikev1.write_all(ikev1_line(k).as_bytes())
    }

    /// Appends a Child SA's keys.
    pub fn child(&mut self, c: &ChildSaInstall) -> std::io::Result<()> {
        self.esp.write_all(esp_lines(c).as_bytes())
    }
}
