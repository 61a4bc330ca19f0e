//! `ike`: the IKE daemon and its tools. For now: `ike decode` and `ike check`.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ike::capture::{read_capture, Datagram};
use ike::tree::{message_tree, Node};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "ike",
    version,
    about = "A memory-safe IKEv1/IKEv2 daemon and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode IKE messages from a capture file (pcap or pcapng; UDP 500 and 4500) or from hex.
    ///
    /// Prints each message as an indented tree named from the IANA registries. Encrypted payloads
    /// are shown as encrypted. Exits with status 1 if any message failed to decode.
    Decode(DecodeArgs),
    /// Check a configuration file without starting anything.
    ///
    /// Loads the file as the daemon would, with every certificate, key and secret file it
    /// names. Prints "FILE: OK (N connections, M children)" and exits 0, or prints every
    /// problem as FILE:LINE: KEY: MESSAGE on standard error and exits 1. Warnings go to
    /// standard error and do not change the exit status.
    Check(CheckArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: PathBuf,
}

#[derive(clap::Args)]
struct DecodeArgs {
    /// A pcap/pcapng file, or an IKE message as hex (whitespace and colons allowed); `-` reads hex
    /// from standard input.
    input: String,
    /// Print JSON instead of the tree.
    #[arg(long)]
    json: bool,
    /// Treat INPUT as hex even if a file of that name exists.
    #[arg(long)]
    hex: bool,
}

#[derive(Serialize)]
struct DecodedMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst: Option<String>,
    non_esp_marker: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ike: Option<Node>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
}

#[derive(Serialize)]
struct ErrorReport {
    message: String,
    offset: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode(&args),
        Command::Check(args) => Ok(check(&args)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ike: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether the file loaded.
fn check(args: &CheckArgs) -> bool {
    let file = args.config.display();
    match ike_config::load(&args.config) {
        Ok(config) => {
            for w in &config.warnings {
                eprintln!("{w}");
            }
            let n = config.connections.len();
            let m = config.child_count();
            println!(
                "{file}: OK ({n} connection{}, {m} child{})",
                if n == 1 { "" } else { "s" },
                if m == 1 { "" } else { "ren" }
            );
            true
        }
        Err(errors) => {
            eprintln!("{errors}");
            let count = errors.errors().count();
            eprintln!("{file}: {count} error{}", if count == 1 { "" } else { "s" });
            false
        }
    }
}

/// Returns whether every message decoded.
fn decode(args: &DecodeArgs) -> anyhow::Result<bool> {
    let datagrams = load_input(args)?;
    if datagrams.is_empty() {
        bail!("no IKE messages (UDP 500/4500) in {}", args.input);
    }
    let mut all_ok = true;
    let mut reports = Vec::new();
    for d in &datagrams {
        let (ike, error) = match message_tree(&d.ike) {
            Ok(tree) => (Some(tree), None),
            Err(e) => {
                all_ok = false;
                (
                    None,
                    Some(ErrorReport {
                        message: e.kind.to_string(),
                        offset: e.offset,
                    }),
                )
            }
        };
        let from_capture = d.frame > 0;
        reports.push(DecodedMessage {
            frame: from_capture.then_some(d.frame),
            src: from_capture.then(|| d.src.to_string()),
            dst: from_capture.then(|| d.dst.to_string()),
            non_esp_marker: d.non_esp_marker,
            ike,
            error,
        });
    }
    let mut out = String::new();
    if args.json {
        let doc = serde_json::json!({ "messages": reports });
        out = serde_json::to_string_pretty(&doc)?;
        out.push('\n');
    } else {
        for r in &reports {
            if let Some(frame) = r.frame {
                let _ = writeln!(
                    out,
                    "Frame {frame}: {} -> {}{}",
                    r.src.as_deref().unwrap_or("?"),
                    r.dst.as_deref().unwrap_or("?"),
                    if r.non_esp_marker {
                        " (non-ESP marker)"
                    } else {
                        ""
                    }
                );
            }
            if let Some(tree) = &r.ike {
                out.push_str(&tree.render());
            }
            if let Some(e) = &r.error {
                let _ = writeln!(
                    out,
                    "error: {} (at byte offset {} of the IKE message)",
                    e.message, e.offset
                );
            }
            out.push('\n');
        }
    }
    // A closed pipe (`ike decode x | head`) is not an error worth a message.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(all_ok)
}

fn load_input(args: &DecodeArgs) -> anyhow::Result<Vec<Datagram>> {
    let path = Path::new(&args.input);
    if !args.hex && args.input != "-" && path.exists() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", args.input))?;
        return read_capture(&bytes).with_context(|| format!("reading {}", args.input));
    }
    let text = if args.input == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        args.input.clone()
    };
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let cleaned = cleaned.strip_prefix("0x").unwrap_or(&cleaned);
    let bytes = hex::decode(cleaned)
        .with_context(|| format!("{} is neither a readable file nor a hex string", args.input))?;
    Ok(vec![Datagram {
        frame: 0,
        timestamp: std::time::Duration::ZERO,
        src: ([0, 0, 0, 0], 0).into(),
        dst: ([0, 0, 0, 0], 0).into(),
        non_esp_marker: false,
        ike: bytes,
    }])
}
