//! `ike`: the IKE daemon and its tools: `ike daemon`, the control clients `ike up`, `ike down`
//! and `ike status`, and the offline tools `ike check`, `ike decode` and `ike import`.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ike::capture::{read_capture, Datagram};
use ike::control::Request;
use ike::decrypt::{Decryptor, Outcome};
use ike::keytable::KeyTable;
use ike::tree::{message_tree, Node};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "ike",
    version,
    about = "A memory-safe IKEv1/IKEv2 daemon and tools"
)]
struct Cli {
    /// The daemon's control socket, for the client commands (also accepted after the
    /// subcommand, where it wins).
    #[arg(short = 's', long = "socket", value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode IKE messages from a capture file (pcap or pcapng; UDP 500 and 4500) or from hex.
    ///
    /// Prints each message as an indented tree named from the IANA registries. Encrypted payloads
    /// are shown as encrypted, unless --keylog names the directory `ike daemon --keylog DIR`
    /// wrote: then IKEv2 SK payloads (and SKF fragments, each on its own and reassembled) whose
    /// SPIs are in its ikev2_decryption_table are checked and decrypted, and IKEv1 messages
    /// whose initiator cookie is in its ikev1_decryption_table are decrypted with an IV rebuilt
    /// from the capture (RFC 2409 Appendix B: it needs the capture's clear Phase 1 messages);
    /// the payloads inside are shown under the encrypted node. A message the key log lacks, or
    /// whose IV the capture cannot give, gets a note and stays encrypted. Exits with status 1
    /// if any message failed to decode or to decrypt (a failed integrity check: a wrong key), 2
    /// if the input or the key log cannot be read (an error naming the file and line).
    Decode(DecodeArgs),
    /// Check a configuration file without starting anything.
    ///
    /// Loads the file as the daemon would, with every certificate, key and secret file it
    /// names. Prints "FILE: OK (N connections, M children)" and exits 0, or prints every
    /// problem as FILE:LINE: KEY: MESSAGE on standard error and exits 1. Warnings go to
    /// standard error and do not change the exit status.
    Check(CheckArgs),
    /// Convert a strongSwan configuration (swanctl.conf, or ipsec.conf with --secrets
    /// ipsec.secrets) into ike's TOML.
    ///
    /// Prints the TOML on standard output; every setting that could not be carried over is a
    /// "# not carried over: ..." comment in it. Warnings, and what `ike check` would say about
    /// the result, go to standard error. Exits 1 when FILE is not valid strongSwan syntax
    /// (printing FILE:LINE: MESSAGE), 2 when it cannot be read.
    Import(ImportArgs),
    /// Run the IKE daemon in the foreground.
    ///
    /// Listens on UDP `port` and `port_nat_t` (500 and 4500) of the configured `listen`
    /// addresses, initiates the connections with a `start_action = "start"` child, and answers
    /// `ike up`, `ike down` and `ike status` on the control socket (mode 0600). Logs go to
    /// standard error. SIGTERM or SIGINT deletes every IKE SA (telling the peers) and exits;
    /// SIGHUP reloads the configuration.
    Daemon(DaemonArgs),
    /// Initiate a connection and wait until it is established or has failed.
    ///
    /// Exits 0 when the IKE SA and its first Child SA are up, 1 when they failed or the wait
    /// ran out (the daemon may keep trying), 2 when the daemon cannot be reached.
    Up(UpArgs),
    /// Delete a connection's IKE SAs (and their Child SAs), telling the peer.
    ///
    /// Waits until the peer answered or the daemon gave up; exits 1 if there was nothing to
    /// delete.
    Down(DownArgs),
    /// Rekey a connection's SAs now, without waiting for their rekey time.
    ///
    /// Every Child SA of the connection, or those of one child (--child), or its IKE SAs
    /// (--ike: an IKEv2 rekey, an IKEv1 re-authentication). Returns once the rekeys are
    /// started (`ike status` shows them); exits 1 if there was nothing to rekey.
    Rekey(RekeyArgs),
    /// Show the daemon's counters: uptime, shards, IKE SAs by version and state, Child SAs,
    /// half-open SAs, cookies (sent, demanded now), drops by reason, handshakes and their
    /// failures by RFC reason, rekeys, retransmissions.
    ///
    /// With --json one JSON object: {"uptime_seconds", "shards", "ike_sas": {"1"|"2":
    /// {STATE: n}}, "child_sas", "half_open", "cookies_sent", "cookies_active", "drops":
    /// {REASON: n}, "max_control_clients", "handshakes", "handshake_failures": {REASON: n},
    /// "ike_rekeys", "child_rekeys", "retransmissions"}.
    Stats(StatsArgs),
    /// Reload the configuration file and print what was added, changed and removed.
    ///
    /// Connections whose timers, dead peer detection, start actions or secrets changed keep
    /// their SAs (the new values apply at the next rekey); other changes delete the
    /// connection's IKE SAs and start it again if it starts at load. A file with errors is not
    /// taken: every error is printed and the exit status is 1. SIGHUP does the same. With
    /// --json one JSON object: {"file", "loaded", "added", "removed", "changed": [{"name",
    /// "keys", "sas_kept"}], "unchanged", "errors", "warnings"}.
    Reload(StatsArgs),
    /// Stream the daemon's log, at a level of your choice, until interrupted.
    ///
    /// Like `swanctl --log`: the lines the daemon logs from now on at LEVEL and above (error,
    /// warn, info, debug, trace), whatever the level of the daemon's own log, as the daemon
    /// formats them. A client that reads too slowly is told how many lines it lost.
    Log(LogArgs),
    /// List the certificates the configuration loaded: ours (with the chain we send) and the
    /// peers' pinned or public-key-encryption certificates.
    ///
    /// Subject, issuer, subjectAltNames, validity (and whether it holds now), key type and key
    /// ID, and the connections that use each. With --json: {"certs": [{"subject", "issuer",
    /// "alt_names", "key", "key_id", "not_before", "not_after", "validity", "ca",
    /// "used_by"}]}.
    #[command(name = "list-certs")]
    ListCerts(StatsArgs),
    /// List the trust anchors (the CA certificates of [[authorities]] and of `cacerts`), in
    /// the form of list-certs.
    #[command(name = "list-authorities")]
    ListAuthorities(StatsArgs),
    /// List the loaded connections: versions, addresses, identities, authentication,
    /// proposals, children and their IKE SAs now (--json: {"connections": [...]}).
    #[command(name = "list-conns")]
    ListConns(StatsArgs),
    /// Show the IKE and Child SAs.
    ///
    /// A compact table, or with --json one JSON object: {"ike_sas": [...]} with
    /// strongSwan's state words and lowercase hex SPIs.
    Status(StatusArgs),
}

impl Command {
    /// The socket options of a client command.
    fn socket_args(&mut self) -> Option<&mut SocketArgs> {
        match self {
            Command::Up(a) => Some(&mut a.socket),
            Command::Down(a) => Some(&mut a.socket),
            Command::Rekey(a) => Some(&mut a.socket),
            Command::Stats(a)
            | Command::Reload(a)
            | Command::ListConns(a)
            | Command::ListCerts(a)
            | Command::ListAuthorities(a) => Some(&mut a.socket),
            Command::Status(a) => Some(&mut a.socket),
            Command::Log(a) => Some(&mut a.socket),
            Command::Decode(_) | Command::Check(_) | Command::Daemon(_) | Command::Import(_) => {
                None
            }
        }
    }
}

#[derive(clap::Args)]
struct DaemonArgs {
    /// The configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: PathBuf,
    /// Log levels per subsystem, e.g. `info`, `ike=debug,kernel=info` (subsystems: ike,
    /// kernel, net, control); overrides the configuration's `log`. Default: info.
    #[arg(long, value_name = "SPEC")]
    log: Option<String>,
    /// The control socket, overriding the configuration's `control_socket`.
    #[arg(short = 's', long = "socket", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Write every negotiated IKE and ESP key into DIR as Wireshark's decryption tables
    /// (ikev2_decryption_table, ikev1_decryption_table, esp_sa, and preferences that enable ESP
    /// decryption): then
    /// `WIRESHARK_CONFIG_DIR=DIR wireshark capture.pcap` decrypts. For debugging only: the
    /// files hold secrets.
    #[arg(long, value_name = "DIR")]
    keylog: Option<PathBuf>,
}

/// How a client finds the daemon.
#[derive(clap::Args)]
struct SocketArgs {
    /// The daemon's control socket. Default: the `control_socket` of the configuration given
    /// with -c, else /run/ike/ike.sock.
    #[arg(short = 's', long = "socket", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// A configuration file to take the control socket's path from.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
struct UpArgs {
    /// The connection's name.
    name: String,
    #[command(flatten)]
    socket: SocketArgs,
    /// Seconds to wait for the outcome.
    #[arg(short = 't', long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
}

#[derive(clap::Args)]
struct DownArgs {
    /// The connection's name.
    name: String,
    #[command(flatten)]
    socket: SocketArgs,
    /// Seconds to wait for the peer's answer.
    #[arg(short = 't', long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
}

#[derive(clap::Args)]
struct RekeyArgs {
    /// The connection's name.
    name: String,
    /// Only the Child SAs of this child.
    #[arg(long, value_name = "CHILD", conflicts_with = "ike")]
    child: Option<String>,
    /// The IKE SAs instead of the Child SAs.
    #[arg(long)]
    ike: bool,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(clap::Args)]
struct LogArgs {
    /// The least severe level shown: error, warn, info, debug or trace.
    #[arg(long, short = 'l', default_value = "info")]
    level: String,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(clap::Args)]
struct StatsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// With --json: one JSON object per IKE SA, one per line, as the daemon streams them (for
    /// many SAs: no single document is built).
    #[arg(long, requires = "json")]
    stream: bool,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The configuration file (TOML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: PathBuf,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The strongSwan configuration: swanctl.conf or ipsec.conf.
    file: PathBuf,
    /// The input's format; default: detected from its content.
    #[arg(long, value_parser = ["swanctl", "ipsec"])]
    format: Option<String>,
    /// An ipsec.secrets file with the PSKs and key files of an ipsec.conf.
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// The directory of the credentials: swanctl's (x509/, x509ca/, private/) or ipsec.d
    /// (certs/, cacerts/, private/). Default: FILE's directory (ipsec.conf: its ipsec.d).
    #[arg(long, value_name = "DIR")]
    base: Option<PathBuf>,
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
    /// Decrypt with the key log in DIR (the ikev2_decryption_table and ikev1_decryption_table
    /// that `ike daemon --keylog DIR` writes).
    #[arg(long, value_name = "DIR")]
    keylog: Option<PathBuf>,
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
    let mut cli = Cli::parse();
    // `ike -s SOCK status` as `ike status -s SOCK` (DESIGN.md: before or after the subcommand).
    if let Some(top) = cli.socket.take() {
        if let Some(s) = cli.command.socket_args() {
            s.socket.get_or_insert(top);
        } else if let Command::Daemon(d) = &mut cli.command {
            d.socket.get_or_insert(top);
        }
    }
    let result = match cli.command {
        Command::Decode(args) => decode(&args),
        Command::Check(args) => Ok(check(&args)),
        Command::Import(args) => import(&args),
        Command::Daemon(args) => daemon(args),
        Command::Up(args) => client(
            &args.socket,
            &Request::Up { name: args.name },
            args.timeout,
            false,
        ),
        Command::Down(args) => client(
            &args.socket,
            &Request::Down { name: args.name },
            args.timeout,
            false,
        ),
        Command::Rekey(args) => client(
            &args.socket,
            &Request::Rekey {
                name: args.name,
                child: args.child,
                ike: args.ike,
            },
            10,
            false,
        ),
        Command::Stats(args) => client(&args.socket, &Request::Stats, 10, args.json),
        Command::Reload(args) => client(&args.socket, &Request::Reload, 30, args.json),
        Command::ListCerts(args) => client(&args.socket, &Request::ListCerts, 10, args.json),
        Command::ListAuthorities(args) => {
            client(&args.socket, &Request::ListAuthorities, 10, args.json)
        }
        Command::ListConns(args) => client(&args.socket, &Request::ListConns, 10, args.json),
        Command::Log(args) => log_stream(&args),
        Command::Status(args) if args.stream => status_stream(&args.socket),
        Command::Status(args) => client(&args.socket, &Request::Status, 10, args.json),
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

fn daemon(args: DaemonArgs) -> anyhow::Result<bool> {
    let config = match ike_config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            bail!("{}: configuration not loaded", args.config.display());
        }
    };
    let spec = args
        .log
        .clone()
        .or_else(|| config.daemon.log.clone())
        .unwrap_or_else(|| "info".to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&spec).with_context(|| {
        format!("--log {spec}: not a valid filter (e.g. ike=debug,kernel=info)")
    })?;
    // Standard error at the configured levels, and `ike log` clients at theirs.
    let log_hub = ike::logstream::LogHub::default();
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        use tracing_subscriber::Layer as _;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .with_filter(filter),
            )
            .with(log_hub.layer())
            .init();
    }
    for w in &config.warnings {
        tracing::warn!(target: "ike", "{w}");
    }
    ike::daemon::run(
        ike::daemon::Options {
            config: args.config,
            socket: args.socket,
            keylog: args.keylog,
            log_hub,
        },
        config,
    )?;
    Ok(true)
}

fn socket_path(args: &SocketArgs) -> anyhow::Result<PathBuf> {
    if let Some(s) = &args.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &args.config {
        return match ike_config::load(c) {
            Ok(config) => Ok(config.daemon.control_socket),
            Err(errors) => bail!("{}: cannot take the socket from it:\n{errors}", c.display()),
        };
    }
    Ok(PathBuf::from(ike_config::DEFAULT_CONTROL_SOCKET))
}

fn client(args: &SocketArgs, req: &Request, timeout: u64, json: bool) -> anyhow::Result<bool> {
    let path = socket_path(args)?;
    let resp = ike::client::request(&path, req, std::time::Duration::from_secs(timeout.max(1)))?;
    if let Some(status) = &resp.status {
        if json {
            println!("{}", serde_json::to_string_pretty(status)?);
        } else {
            print!("{}", status.render());
        }
    }
    if let Some(stats) = &resp.stats {
        if json {
            println!("{}", serde_json::to_string_pretty(stats)?);
        } else {
            print!("{}", stats.render());
        }
    }
    if let Some(conns) = &resp.connections {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "connections": conns }))?
            );
        } else {
            print!("{}", ike::control::render_conns(conns));
        }
    }
    if let Some(certs) = &resp.certs {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "certs": certs }))?
            );
        } else {
            print!("{}", ike::control::render_certs(certs));
        }
    }
    if let Some(r) = &resp.reload {
        if json {
            println!("{}", serde_json::to_string_pretty(r)?);
        } else if resp.ok {
            print!("{}", r.render());
        } else {
            eprint!("{}", r.render());
        }
    }
    if let Some(m) = &resp.message {
        if resp.ok {
            println!("{m}");
        } else {
            eprintln!("ike: {m}");
        }
    }
    Ok(resp.ok)
}

/// `ike log`: the daemon's log lines as they come, until the daemon or the user stops.
fn log_stream(args: &LogArgs) -> anyhow::Result<bool> {
    use std::io::{BufRead as _, Write as _};
    if ike::logstream::parse_level(&args.level).is_none() {
        bail!(
            "--level {}: not a level (expected error, warn, info, debug or trace)",
            args.level
        );
    }
    let path = socket_path(&args.socket)?;
    let stream = ike::client::send(
        &path,
        &Request::Log {
            level: args.level.clone(),
        },
        std::time::Duration::from_secs(5),
    )?;
    // Lines come when the daemon logs: no read timeout.
    stream
        .set_read_timeout(None)
        .context("the control socket")?;
    let mut out = std::io::stdout().lock();
    for line in std::io::BufReader::new(stream).lines() {
        let line = line.context("reading the daemon's log stream")?;
        let v: serde_json::Value =
            serde_json::from_str(&line).context("the daemon's answer is not valid JSON")?;
        if let Some(text) = v.get("log").and_then(|t| t.as_str()) {
            if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
                return Ok(true);
            }
        } else {
            // An error answer (e.g. too many clients).
            let m = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
            eprintln!("ike: {m}");
            return Ok(false);
        }
    }
    eprintln!("ike: the daemon closed the log stream");
    Ok(true)
}

/// `ike status --json --stream`: the daemon's lines as they come.
fn status_stream(args: &SocketArgs) -> anyhow::Result<bool> {
    use std::io::Write as _;
    let path = socket_path(args)?;
    let mut out = std::io::stdout().lock();
    let resp = ike::client::stream(
        &path,
        &Request::StatusStream,
        std::time::Duration::from_secs(30),
        |line| Ok(writeln!(out, "{line}")?),
    )?;
    if !resp.ok {
        if let Some(m) = &resp.message {
            eprintln!("ike: {m}");
        }
    }
    Ok(resp.ok)
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

/// `ike import`: the TOML on stdout; `Ok(false)` after a syntax error.
fn import(args: &ImportArgs) -> anyhow::Result<bool> {
    use ike::import::{import_file, Format, Options};
    if !args.file.is_file() {
        bail!(
            "{}: cannot read the file (no such file)",
            args.file.display()
        );
    }
    let opts = Options {
        format: args.format.as_deref().and_then(Format::from_name),
        base: args.base.clone(),
        secrets: args.secrets.clone(),
    };
    let imported = match import_file(&args.file, &opts) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return Ok(false);
        }
    };
    for w in &imported.warnings {
        eprintln!("ike import: {w}");
    }
    // What `ike check` would say, so that the user knows before writing the file. Paths in
    // the output are absolute, or relative to where the TOML will be: checked from here.
    if let Err(errors) = ike_config::parse(&imported.toml, "(imported)", Path::new(".")) {
        eprintln!("ike import: the result does not pass `ike check` as it is:\n{errors}");
    }
    match std::io::stdout().lock().write_all(imported.toml.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(true)
}

/// Returns whether every message decoded.
fn decode(args: &DecodeArgs) -> anyhow::Result<bool> {
    let datagrams = load_input(args)?;
    if datagrams.is_empty() {
        bail!("no IKE messages (UDP 500/4500) in {}", args.input);
    }
    let mut decryptor = match &args.keylog {
        Some(dir) => Some(Decryptor::new(KeyTable::read_dir(dir)?)),
        None => None,
    };
    let mut all_ok = true;
    let mut reports = Vec::new();
    for d in &datagrams {
        let from_capture = d.frame > 0;
        let (ike, error) = match message_tree(&d.ike) {
            Ok(mut tree) => {
                if let Some(dec) = decryptor.as_mut() {
                    let src = from_capture.then(|| d.src.ip());
                    if dec.process(&d.ike, src, &mut tree) == Outcome::Failed {
                        all_ok = false;
                    }
                }
                (Some(tree), None)
            }
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
