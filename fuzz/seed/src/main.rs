//! Writes the seed corpora of the fuzz targets: every IKE message in the captures of a directory
//! (`crates/ike-wire/tests/data/*.pcap`), one file each, into `<corpus>/<target>/`.
//!
//! - `v2_decode`, `v1_decode`: the messages of that version, and each plaintext message's payload
//!   chain in the targets' `decode_payloads` shape (the header's Next Payload byte followed by
//!   everything after the 28-byte header).
//! - `v2_engine`, `v1_engine`: every message of that version, to that version's engine.
//! - `any_datagram`: every message as it comes on port 500, and behind the non-ESP marker as on
//!   port 4500, plus a NAT-keepalive.
//!
//! Usage: `ike-fuzz-seed <capture-dir> <corpus-dir>`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ike_wire::{peek_version, IkeVersion, HEADER_LEN, NON_ESP_MARKER};

/// ISAKMP header flag: everything after the header is ciphertext (RFC 2408 §3.1).
const V1_ENCRYPTION: u8 = 0x01;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [captures, corpus] = args.as_slice() else {
        eprintln!("usage: ike-fuzz-seed <capture-dir> <corpus-dir>");
        return ExitCode::from(2);
    };
    match run(Path::new(captures), Path::new(corpus)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ike-fuzz-seed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(captures: &Path, corpus: &Path) -> Result<(), String> {
    let mut pcaps: Vec<PathBuf> = fs::read_dir(captures)
        .map_err(|e| format!("{}: {e}", captures.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    pcaps.sort();
    if pcaps.is_empty() {
        return Err(format!("no pcap files in {}", captures.display()));
    }

    let mut out = Corpus::new(corpus)?;
    out.write("any_datagram", "keepalive", &[0xff])?;
    for (name, seed) in v1_authenticated_seeds() {
        out.write("v1_engine", name, &seed)?;
    }
    for pcap in &pcaps {
        let bytes = fs::read(pcap).map_err(|e| format!("{}: {e}", pcap.display()))?;
        let datagrams =
            ike::capture::read_capture(&bytes).map_err(|e| format!("{}: {e}", pcap.display()))?;
        let stem = pcap
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("capture");
        for d in &datagrams {
            let name = format!("{stem}-f{:03}", d.frame);
            let msg = d.ike.as_slice();
            out.write("any_datagram", &name, msg)?;
            let mut marked = NON_ESP_MARKER.to_vec();
            marked.extend_from_slice(msg);
            out.write("any_datagram", &format!("{name}-4500"), &marked)?;

            let target = match peek_version(msg) {
                Ok(IkeVersion::V1) => {
                    out.write("v1_engine", &name, msg)?;
                    "v1_decode"
                }
                Ok(IkeVersion::V2) => {
                    out.write("v2_engine", &name, msg)?;
                    "v2_decode"
                }
                Err(_) => continue,
            };
            out.write(target, &name, msg)?;
            // The chain after the header, unless it is IKEv1 ciphertext (an IKEv2 chain ends in
            // an opaque SK payload and is a fine seed).
            let encrypted = target == "v1_decode" && msg[19] & V1_ENCRYPTION != 0;
            if let (false, Some(chain)) = (encrypted, msg.get(HEADER_LEN..)) {
                let mut seed = vec![msg[16]];
                seed.extend_from_slice(chain);
                out.write(target, &format!("{name}-chain"), &seed)?;
            }
        }
    }
    for (target, count) in &out.counts {
        println!("{target}: {count} seeds");
    }
    Ok(())
}

/// Seeds for `v1_engine`'s authenticated variants (4: Quick Mode, 5: Informational): variant,
/// flags (1: HASH right), message ID, then (type, length, body) payloads.
fn v1_authenticated_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let chain = |variant: u8, payloads: &[(u8, &[u8])]| {
        let mut v = vec![variant, 1, 0x11, 0x22, 0x33, 0x44];
        for (t, body) in payloads {
            v.push(*t);
            v.push(body.len() as u8);
            v.extend_from_slice(body);
        }
        v
    };
    // RFC 2407 4.6.2: ID_IPV4_ADDR_SUBNET, any protocol and port.
    let idci: &[u8] = &[4, 0, 0, 0, 10, 88, 1, 0, 255, 255, 255, 0];
    let idcr: &[u8] = &[4, 0, 0, 0, 10, 88, 2, 0, 255, 255, 255, 0];
    // An SA payload: DOI IPsec, SIT_IDENTITY_ONLY, one ESP proposal with one ESP_AES transform.
    let sa: &[u8] = &[
        0, 0, 0, 1, 0, 0, 0, 1, // DOI, situation
        0, 0, 0, 28, 1, 3, 4, 1, 0x12, 0x34, 0x56, 0x78, // proposal 1: ESP, SPI, 1 transform
        0, 0, 0, 16, 1, 12, 0, 0, // transform 1: ESP_AES
        0x80, 6, 0, 128, 0x80, 5, 0, 12, // key length 128, auth HMAC-SHA2-256
    ];
    let nonce = [0x5a; 16];
    let delete_esp: &[u8] = &[0, 0, 0, 1, 3, 4, 0, 1, 0xc0, 0x01, 0x02, 0x03];
    let r_u_there: &[u8] = &[
        0, 0, 0, 1, 1, 16, 0x8d, 0x28, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0, 0,
        0, 7,
    ];
    // New Group Mode's SA (RFC 2409 §5.6): one KEY_IKE transform with group 40000, MODP, a
    // (too small) prime and generator 2.
    let ngm_sa: &[u8] = &[
        0, 0, 0, 1, 0, 0, 0, 1, // DOI, situation
        0, 0, 0, 36, 1, 1, 0, 1, // proposal 1: ISAKMP, no SPI, 1 transform
        0, 0, 0, 28, 1, 1, 0, 0, // transform 1: KEY_IKE
        0x80, 4, 0x9c, 0x40, 0x80, 5, 0, 1, // group description 40000, type MODP
        0, 6, 0, 4, 0xff, 0xff, 0xff, 0xc5, // prime (TLV)
        0x80, 7, 0, 2, // generator 2
    ];
    let mut ngm = chain(4, &[(1, ngm_sa)]);
    ngm[1] = 1 | 8;
    vec![
        ("auth-new-group", ngm),
        (
            "auth-quick-mode",
            chain(4, &[(1, sa), (10, &nonce), (5, idci), (5, idcr)]),
        ),
        ("auth-delete", chain(5, &[(12, delete_esp)])),
        ("auth-r-u-there", chain(5, &[(11, r_u_there)])),
    ]
}

struct Corpus<'a> {
    root: &'a Path,
    counts: Vec<(&'static str, usize)>,
}

impl<'a> Corpus<'a> {
    fn new(root: &'a Path) -> Result<Self, String> {
        let counts = vec![
            ("v2_decode", 0),
            ("v1_decode", 0),
            ("any_datagram", 0),
            ("v2_engine", 0),
            ("v1_engine", 0),
        ];
        for (target, _) in &counts {
            let dir = root.join(target);
            fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(Self { root, counts })
    }

    fn write(&mut self, target: &'static str, name: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self.root.join(target).join(name);
        fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some((_, n)) = self.counts.iter_mut().find(|(t, _)| *t == target) {
            *n += 1;
        }
        Ok(())
    }
}
