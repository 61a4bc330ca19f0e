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
