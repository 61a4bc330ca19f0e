//! Two real `ike daemon` processes on loopback addresses negotiating with each other, driven
//! through the control socket as a user would (`ike up`, `ike status --json`, `ike down`),
//! plus startup initiation, shutdown on SIGTERM and reload on SIGHUP.
//!
//! The engine initiates to the peer's UDP port 500, so both daemons listen on port 500 (and
//! 4500) of different loopback addresses (each test its own pair in 127.0.0.0/8, so tests can
//! run in parallel). Binding port 500 needs root (or a lowered
//! `net.ipv4.ip_unprivileged_port_start`); where it is impossible the tests say so loudly and
//! pass without running. Daemons are killed by PID in a guard, whatever happens.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ike");

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ike-daemon-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon, killed by PID when dropped.
struct Daemon {
    child: Option<Child>,
    socket: PathBuf,
    log: PathBuf,
    config: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, name: &str, config_text: &str) -> Daemon {
        Self::start_in(None, dir, name, config_text)
    }

    /// Starts the daemon, inside network namespace `netns` if given (`ip netns exec` execs
    /// the daemon, so the PID is the daemon's).
    fn start_in(netns: Option<&str>, dir: &Path, name: &str, config_text: &str) -> Daemon {
        Self::start_with(netns, dir, name, config_text, &[])
    }

    /// [`Daemon::start_in`] with more arguments for `ike daemon`.
    fn start_with(
        netns: Option<&str>,
        dir: &Path,
        name: &str,
        config_text: &str,
        extra: &[&str],
    ) -> Daemon {
        // Every daemon here runs two engine shards (whatever the machine's cores), so that every
        // scenario crosses shards: SAs of both sides land on either.
        let config_text = if config_text.contains("shards =") {
            config_text.to_owned()
        } else if config_text.contains("[daemon]\n") {
            config_text.replacen("[daemon]\n", "[daemon]\nshards = 2\n", 1)
        } else {
            format!("[daemon]\nshards = 2\n\n{config_text}")
        };
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, config_text).unwrap();
        let socket = dir.join(format!("{name}.sock"));
        let log = dir.join(format!("{name}.log"));
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, BIN]);
                c
            }
            None => Command::new(BIN),
        };
        let child = cmd
            .args(["daemon", "-c"])
            .arg(&config)
            .arg("-s")
            .arg(&socket)
            .args(["--log", "debug"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child: Some(child),
            socket,
            log,
            config,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if d.socket.exists() && d.ike(&["status", "--json"]).0 == 0 {
                return d;
            }
            if let Some(status) = d.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("daemon {name} exited with {status}:\n{}", d.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("daemon {name} did not come up:\n{}", d.log_text());
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `ike ARGS -s SOCKET`: (exit code, stdout, stderr).
    fn ike(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .arg("-s")
            .arg(&self.socket)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn status(&self) -> Value {
        let (code, out, err) = self.ike(&["status", "--json"]);
        assert_eq!(code, 0, "status failed: {err}\n{}", self.log_text());
        serde_json::from_str(&out).unwrap()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("daemon did not exit on SIGTERM:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The test command (scripts/test.sh) sets IKE_REQUIRE_ROOT: there, a test that cannot do what
/// needs root (or a tool the command installs) fails instead of passing quietly.
fn require_root(why: &str) {
    assert!(
        std::env::var_os("IKE_REQUIRE_ROOT").is_none(),
        "IKE_REQUIRE_ROOT is set but {why}"
    );
}

/// Whether this process may bind UDP port 500 on `addr`.
fn can_bind_500(addr: &str) -> bool {
    match std::net::UdpSocket::bind((addr, 500)) {
        Ok(_) => true,
        Err(e) => {
            let why = format!(
                "cannot bind {addr}:500 ({e}); these tests need root or a lowered \
                 net.ipv4.ip_unprivileged_port_start"
            );
            require_root(&why);
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

fn example(name: &str) -> String {
    ike_testkit::protect_secret_files();
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

/// The site-to-site PSK examples on loopback addresses `a` and `b`, with the `none` kernel and
/// A's start action as given.
fn configs(a: &str, b: &str, start_a: &str) -> (String, String) {
    let adapt = |text: String| {
        text.replace("10.77.0.1", a)
            .replace("10.77.0.2", b)
            .replace("kernel = \"xfrm\"", "kernel = \"none\"")
    };
    let ca = adapt(example("site-to-site-psk.toml")).replace(
        "start_action = \"start\"",
        &format!("start_action = \"{start_a}\""),
    );
    let cb = adapt(example("site-to-site-psk-b.toml"));
    (ca, cb)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn sas(status: &Value) -> &Vec<Value> {
    status["ike_sas"].as_array().unwrap()
}

/// Checks that A and B each show one ESTABLISHED IKE SA with the same SPIs and one INSTALLED
/// Child SA whose SPIs are crossed; returns A's SPIs.
fn assert_established(a: &Daemon, b: &Daemon, a_addr: &str, b_addr: &str) -> (String, String) {
    let (sa, sb) = (a.status(), b.status());
    let (ia, ib) = (&sas(&sa)[..], &sas(&sb)[..]);
    assert_eq!(ia.len(), 1, "{sa}");
    assert_eq!(ib.len(), 1, "{sb}");
    let (ia, ib) = (&ia[0], &ib[0]);
    assert_eq!(ia["name"], "site-b");
    assert_eq!(ib["name"], "site-a");
    for (i, local, remote, lid, rid) in [
        (ia, a_addr, b_addr, "a.example.org", "b.example.org"),
        (ib, b_addr, a_addr, "b.example.org", "a.example.org"),
    ] {
        assert_eq!(i["version"], 2);
        assert_eq!(i["state"], "ESTABLISHED");
        assert_eq!(i["local_addr"], format!("{local}:500"));
        assert_eq!(i["remote_addr"], format!("{remote}:500"));
        assert_eq!(i["local_id"], lid);
        assert_eq!(i["remote_id"], rid);
        assert_eq!(i["proposal"], "aes128gcm16-prfsha256-x25519");
        assert!(i["rekey_seconds"].as_u64().unwrap() > 0);
        let spi = i["initiator_spi"].as_str().unwrap();
        assert_eq!(spi.len(), 16);
        assert!(spi
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }
    assert_eq!(ia["initiator_spi"], ib["initiator_spi"]);
    assert_eq!(ia["responder_spi"], ib["responder_spi"]);
    assert_ne!(ia["responder_spi"], "0000000000000000");
    let (ca, cb) = (
        ia["child_sas"].as_array().unwrap(),
        ib["child_sas"].as_array().unwrap(),
    );
    assert_eq!(ca.len(), 1);
    assert_eq!(cb.len(), 1);
    let (ca, cb) = (&ca[0], &cb[0]);
    assert_eq!(ca["name"], "net");
    assert_eq!(ca["state"], "INSTALLED");
    assert_eq!(cb["state"], "INSTALLED");
    assert_eq!(ca["spi_in"], cb["spi_out"]);
    assert_eq!(ca["spi_out"], cb["spi_in"]);
    assert_eq!(ca["spi_in"].as_str().unwrap().len(), 8);
    assert_eq!(ca["mode"], "tunnel");
    assert_eq!(ca["proposal"], "aes128gcm16");
    assert_eq!(ca["local_ts"], serde_json::json!(["10.88.1.0/24"]));
    assert_eq!(ca["remote_ts"], serde_json::json!(["10.88.2.0/24"]));
    assert_eq!(cb["local_ts"], serde_json::json!(["10.88.2.0/24"]));
    (
        ia["initiator_spi"].as_str().unwrap().to_owned(),
        ia["responder_spi"].as_str().unwrap().to_owned(),
    )
}

/// Garbage on both UDP ports and on the control socket: the daemon answers or drops, and lives.
fn hostile_input(d: &Daemon, addr: &str) {
    use std::io::{Read as _, Write as _};
    let udp = std::net::UdpSocket::bind((addr, 0)).unwrap();
    let junk: [&[u8]; 7] = [
        b"",
        b"\xff",
        &[0, 0, 0, 0],
        &[0, 0, 0, 0, 1, 2, 3],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        &[0u8; 28],
        &[0x41; 2000],
    ];
    for port in [500, 4500] {
        for j in junk {
            udp.send_to(j, (addr, port)).unwrap();
        }
    }
    for req in [
        &b"not json\n"[..],
        b"{\"cmd\":\"reboot\"}\n",
        b"{\"cmd\":\"up\"}\n",
        b"\n",
    ] {
        let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(req).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let v: Value = serde_json::from_str(answer.trim()).unwrap();
        assert_eq!(v["ok"], false, "{answer}");
    }
    // A client that connects and says nothing does not block the others.
    let _silent = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    assert!(sas(&d.status()).is_empty());
}

#[test]
fn up_status_down_between_two_daemons() {
    let (a_addr, b_addr) = ("127.0.31.1", "127.0.31.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("updown");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let a = Daemon::start(&dir.0, "a", &ca);
    let b = Daemon::start(&dir.0, "b", &cb);

    // The control socket is the owner's only.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&a.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    assert!(sas(&a.status()).is_empty());
    hostile_input(&a, a_addr);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}\n{}", a.log_text());
    assert!(out.contains("established"), "{out}");
    let (spi_i, spi_r) = assert_established(&a, &b, a_addr, b_addr);

    // `up` again: nothing new.
    let (code, out, _) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0);
    assert!(out.contains("already established"), "{out}");
    assert_eq!(sas(&a.status()).len(), 1);

    // The human table and the logs carry the SPIs; no key material is logged.
    let (code, table, _) = a.ike(&["status"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("ESTABLISHED") && table.contains(&spi_i),
        "{table}"
    );
    let log = a.log_text();
    assert!(log.contains(&spi_i) && log.contains(&spi_r), "{log}");
    assert!(log.contains("site-b"));
    assert!(!log.to_lowercase().contains("key"), "{log}");

    let (code, out, err) = a.ike(&["down", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(sas(&a.status()).is_empty());
    wait_for("B to drop its SA", || sas(&b.status()).is_empty());

    // Nothing left to delete; an unknown connection fails.
    assert_eq!(a.ike(&["down", "site-b"]).0, 1);
    let (code, _, err) = a.ike(&["up", "nonesuch"]);
    assert_eq!(code, 1);
    assert!(err.contains("no connection named nonesuch"), "{err}");
}

/// A connection whose local address the daemon does not listen on fails at once, saying so.
#[test]
fn up_from_an_address_without_a_socket_fails_clearly() {
    let (a_addr, b_addr) = ("127.0.36.1", "127.0.36.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("nosocket");
    let (ca, _) = configs(a_addr, b_addr, "none");
    let ca = ca.replace(
        &format!("local_addrs = [\"{a_addr}\"]"),
        "local_addrs = [\"127.0.36.9\"]",
    );
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, _, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1);
    assert!(err.contains("no socket on 127.0.36.9:500"), "{err}");
    assert!(sas(&a.status()).is_empty());
}

#[test]
fn start_action_and_clean_shutdown() {
    let (a_addr, b_addr) = ("127.0.32.1", "127.0.32.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("shutdown");
    let (ca, cb) = configs(a_addr, b_addr, "start");
    // B first, so that A's start at load finds it.
    let b = Daemon::start(&dir.0, "b", &cb);
    let mut a = Daemon::start(&dir.0, "a", &ca);
    wait_for("A's start_action to establish", || {
        sas(&a.status()).first().is_some_and(|s| {
            s["state"] == "ESTABLISHED" && !s["child_sas"].as_array().unwrap().is_empty()
        })
    });
    assert_established(&a, &b, a_addr, b_addr);

    // SIGTERM: A deletes its SA (B hears of it), exits 0 and removes its socket.
    let status = a.terminate();
    assert!(status.success(), "{status}\n{}", a.log_text());
    assert!(!a.socket.exists());
    wait_for("B to hear A's delete", || sas(&b.status()).is_empty());
    assert!(
        b.log_text().contains("deleted by the peer"),
        "{}",
        b.log_text()
    );
}

#[test]
fn sighup_adds_and_removes_connections() {
    let (a_addr, b_addr) = ("127.0.33.1", "127.0.33.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("reload");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let b = Daemon::start(&dir.0, "b", &cb);
    // A starts without the connection.
    let header_end = ca.find("[connections.site-b]").unwrap();
    let secrets = ca.find("[[secrets.ike]]").unwrap();
    let bare = format!("{}{}", &ca[..header_end], &ca[secrets..]);
    let a = Daemon::start(&dir.0, "a", &bare);
    let (code, _, _) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1);

    // Added with start_action = "start": it comes up on SIGHUP.
    std::fs::write(
        &a.config,
        ca.replace("start_action = \"none\"", "start_action = \"start\""),
    )
    .unwrap();
    a.signal("HUP");
    wait_for("the added connection to come up", || {
        sas(&a.status()).first().is_some_and(|s| {
            s["state"] == "ESTABLISHED" && !s["child_sas"].as_array().unwrap().is_empty()
        })
    });
    let (spi_i, _) = assert_established(&a, &b, a_addr, b_addr);

    // Unchanged on a second SIGHUP: the SA stays.
    a.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sas(&a.status())[0]["initiator_spi"], spi_i.as_str());

    // A broken file: the running configuration stays.
    std::fs::write(&a.config, "[daemon\n").unwrap();
    a.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sas(&a.status()).len(), 1);
    assert!(a.log_text().contains("reload failed"));

    // Removed: its SA is deleted and the peer told.
    std::fs::write(&a.config, &bare).unwrap();
    a.signal("HUP");
    wait_for("A to drop the removed connection's SA", || {
        sas(&a.status()).is_empty()
    });
    wait_for("B to hear the delete", || sas(&b.status()).is_empty());
}

/// `ike reload`: what was added, changed and removed, in text and JSON; timers-only changes
/// keep the SA (the new values apply at the next rekey); other changes replace it; a broken
/// file is refused with its errors and exit status 1.
#[test]
fn reload_says_what_changed_and_keeps_sas_when_only_timers_change() {
    let (a_addr, b_addr) = ("127.0.34.1", "127.0.34.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("reload-cmd");
    let (ca, cb) = configs(a_addr, b_addr, "start");
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    wait_for("the connection to come up", || {
        sas(&a.status())
            .first()
            .is_some_and(|s| s["state"] == "ESTABLISHED")
    });
    let (spi_i, _) = assert_established(&a, &b, a_addr, b_addr);

    // Nothing changed.
    let (code, out, err) = a.ike(&["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(": reloaded") && out.contains("unchanged: 1"),
        "{out}"
    );

    // Timers only (rekey_time, dpd_delay, the child's rekey_time): the SA stays.
    let timers = ca
        .replace("rekey_time = \"4h\"", "rekey_time = \"3h\"")
        .replace("dpd_delay = \"30s\"", "dpd_delay = \"20s\"")
        .replace("rekey_time = \"1h\"", "rekey_time = \"50m\"");
    std::fs::write(&a.config, &timers).unwrap();
    let (code, out, err) = a.ike(&["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        // The hard lifetimes follow the rekey times (rekey_time plus 10 % by default).
        out.contains("changed: site-b (dpd_delay, rekey_time, life_time, children.net.rekey_time, children.net.life_time): SAs kept, the new values apply at the next rekey"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        sas(&a.status())[0]["initiator_spi"],
        spi_i.as_str(),
        "the SA stays"
    );

    // A proposal changed (JSON): the SA goes and the connection starts again.
    let proposals = timers.replace(
        "proposals = [\"aes128gcm16-prfsha256-x25519\", \"aes256-sha256-modp2048\"]",
        "proposals = [\"aes256gcm16-prfsha256-x25519\", \"aes128gcm16-prfsha256-x25519\"]",
    );
    assert_ne!(proposals, timers);
    std::fs::write(&a.config, &proposals).unwrap();
    let (code, out, err) = a.ike(&["reload", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["loaded"], true);
    assert_eq!(v["changed"][0]["name"], "site-b");
    assert_eq!(v["changed"][0]["keys"], serde_json::json!(["proposals"]));
    assert_eq!(v["changed"][0]["sas_kept"], false);
    assert_eq!(v["unchanged"], 0);
    wait_for("a new IKE SA", || {
        sas(&a.status())
            .iter()
            .any(|s| s["state"] == "ESTABLISHED" && s["initiator_spi"] != spi_i.as_str())
    });

    // A broken file: refused with FILE:LINE errors, exit 1; the running configuration stays.
    std::fs::write(&a.config, proposals.replace("version = 2", "version = 3")).unwrap();
    let (code, out, err) = a.ike(&["reload"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("not reloaded (1 errors)"), "{err}");
    assert!(
        err.contains("connections.site-b.version: unsupported IKE version 3"),
        "{err}"
    );
    let (code, out, _) = a.ike(&["reload", "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["loaded"], false);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
    assert_eq!(sas(&a.status()).len(), 1);

    // Added and removed: the connection under a new name.
    std::fs::write(&a.config, proposals.replace("site-b", "site-b2")).unwrap();
    let (code, out, err) = a.ike(&["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("added: site-b2"), "{out}");
    assert!(
        out.contains("removed: site-b (its IKE SAs deleted)"),
        "{out}"
    );
}

/// `ike list-certs` and `ike list-authorities`, text and JSON: the example certificate
/// configuration's own certificate and its CA, with subjects, names, keys and uses.
#[test]
fn list_certs_and_authorities() {
    let a_addr = "127.0.42.1";
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("certs");
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/certs/");
    let text = example("site-to-site-certs.toml")
        .replace("10.77.0.1", a_addr)
        .replace("10.77.0.2", "127.0.42.2")
        .replace("kernel = \"xfrm\"", "kernel = \"none\"")
        .replace("start_action = \"trap\"", "start_action = \"none\"")
        .replace("\"certs/", &format!("\"{}", certs.display()));
    let a = Daemon::start(&dir.0, "a", &text);
    let (code, out, err) = a.ike(&["list-certs", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let list = v["certs"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{out}");
    let c = &list[0];
    assert!(
        c["subject"].as_str().unwrap().contains("CN=a.example.org"),
        "{c}"
    );
    assert!(
        c["alt_names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "DNS:a.example.org"),
        "{c}"
    );
    assert_eq!(c["used_by"], serde_json::json!(["site-b: ours"]));
    assert_eq!(c["ca"], false);
    assert_eq!(c["key_id"].as_str().unwrap().len(), 40);
    assert!(["valid", "expired", "not yet valid"].contains(&c["validity"].as_str().unwrap()));
    let (code, out, _) = a.ike(&["list-certs"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("subject:  \"") && out.contains("used by:  site-b: ours"),
        "{out}"
    );
    let (code, out, err) = a.ike(&["list-authorities", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let list = v["certs"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{out}");
    assert_eq!(list[0]["ca"], true);
    assert_eq!(
        list[0]["used_by"],
        serde_json::json!(["site-b: trust anchor"])
    );
    assert_eq!(list[0]["subject"], list[0]["issuer"], "a self-signed root");
    let (code, out, _) = a.ike(&["list-authorities"]);
    assert_eq!(code, 0);
    assert!(out.contains(", CA, keyid "), "{out}");
}

/// `ike log --level L`: the daemon's lines from now on at L and above, streamed until the
/// client stops; a debug client sees the exchanges, a warn client not; a bad level is refused.
#[test]
fn log_streams_the_daemons_lines_at_the_callers_level() {
    use std::io::BufRead as _;
    let (a_addr, b_addr) = ("127.0.43.1", "127.0.43.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("log");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let _b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let sock = dir.0.join("a.sock");
    let spawn = |level: &str| {
        Command::new(BIN)
            .args(["log", "--level", level, "-s"])
            .arg(&sock)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut debug = spawn("debug");
    let mut warn = spawn("warn");
    // Each client's first line says it is streaming (so both are subscribed before `up`).
    let mut debug_lines = std::io::BufReader::new(debug.stdout.take().unwrap()).lines();
    let mut warn_lines = std::io::BufReader::new(warn.stdout.take().unwrap()).lines();
    assert!(debug_lines
        .next()
        .unwrap()
        .unwrap()
        .contains("streaming the daemon's log at level DEBUG"));
    assert!(warn_lines
        .next()
        .unwrap()
        .unwrap()
        .contains("at level WARN"));
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    // Read the debug client's lines in a thread until the exchange shows (bounded).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in debug_lines.map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => {
                let done = l.contains("IKE_AUTH") && l.contains("DEBUG");
                seen.push(l);
                if done {
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("DEBUG") && l.contains("IKE_AUTH")),
        "{seen:#?}"
    );
    let _ = debug.kill();
    let _ = debug.wait();
    // The warn client got nothing at debug or info.
    let _ = warn.kill();
    let _ = warn.wait();
    let rest: Vec<String> = warn_lines.map_while(Result::ok).collect();
    assert!(
        rest.iter()
            .all(|l| !l.contains(" DEBUG ") && !l.contains(" INFO ")),
        "{rest:#?}"
    );
    // A bad level: refused by the client, and by the daemon if asked directly.
    let (code, _, err) = a.ike(&["log", "--level", "loud"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a level"), "{err}");
    // The daemon still answers after the clients went away.
    assert_eq!(a.ike(&["status"]).0, 0);
}

/// `ip -n NS ARGS`, its stdout.
fn ip_out(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .arg("-n")
        .arg(ns)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kernel = "xfrm"` between two namespaces: the IKE sockets carry per-socket bypass policies,
/// a `start_action = "trap"` child installs its outbound policy, traffic that hits it makes
/// the kernel send an acquire, which brings the connection up. The host kernel here has XFRM
/// but no ESP (DESIGN.md, "Facts about these machines"): then the Child SA install is refused,
/// the daemons delete the Child SA on both sides (the IKE SA stays) and return the reserved
/// SPI; on a kernel with ESP both states must be there. Real ESP traffic is tested in the
/// user-mode-Linux guest (tests/uml). SIGTERM removes the policies.
#[test]
fn xfrm_backend_traps_acquires_and_installs_in_namespaces() {
    let Some(ns) = NetnsPair::create("x") else {
        return;
    };
    let [na, nb] = &ns.names;
    for (n, own, peer, via) in [
        (na, "10.88.1.1/32", "10.88.2.0/24", "10.231.0.2"),
        (nb, "10.88.2.1/32", "10.88.1.0/24", "10.231.0.1"),
    ] {
        ip_out(n, &["addr", "add", own, "dev", "lo"]);
        let src = own.trim_end_matches("/32");
        ip_out(n, &["route", "add", peer, "via", via, "src", src]);
    }
    let dir = Scratch::new("xfrm");
    let config = |me: &str, peer: &str, lts: &str, rts: &str, id: &str, rid: &str, start: &str| {
        format!(
            "[daemon]\nlisten = [\"10.231.0.{me}\"]\nkernel = \"xfrm\"\n\
             [connections.gw]\nlocal_addrs = [\"10.231.0.{me}\"]\nremote_addrs = [\"10.231.0.{peer}\"]\n\
             proposals = [\"aes128gcm16-prfsha256-x25519\"]\n\
             [connections.gw.local]\nauth = \"psk\"\nid = \"{id}\"\n\
             [connections.gw.remote]\nauth = \"psk\"\nid = \"{rid}\"\n\
             [connections.gw.children.net]\nlocal_ts = [\"{lts}\"]\nremote_ts = [\"{rts}\"]\n\
             esp_proposals = [\"aes128gcm16\"]\nstart_action = \"{start}\"\n\
             [[secrets.ike]]\nsecret = \"0sbm90IGEgcmVhbCBzZWNyZXQgYXQgYWxsIQ==\"\n"
        )
    };
    let mut a = Daemon::start_in(
        Some(na),
        &dir.0,
        "a",
        &config(
            "1",
            "2",
            "10.88.1.0/24",
            "10.88.2.0/24",
            "a.test",
            "b.test",
            "trap",
        ),
    );
    let b = Daemon::start_in(
        Some(nb),
        &dir.0,
        "b",
        &config(
            "2",
            "1",
            "10.88.2.0/24",
            "10.88.1.0/24",
            "b.test",
            "a.test",
            "none",
        ),
    );
    // IKE bypasses IPsec: two socket policies (in, out) per IKE socket (500 and 4500).
    let pol = ip_out(na, &["xfrm", "policy"]);
    assert!(pol.matches("socket in").count() >= 2, "{pol}");
    assert!(pol.matches("socket out").count() >= 2, "{pol}");
    // The trap: an outbound tunnel policy with a template towards B.
    assert!(pol.contains("src 10.88.1.0/24 dst 10.88.2.0/24"), "{pol}");
    assert!(pol.contains("dir out"), "{pol}");
    assert!(pol.contains("tmpl src 10.231.0.1 dst 10.231.0.2"), "{pol}");
    assert!(sas(&a.status()).is_empty());

    // Traffic into the trap: the kernel's acquire brings the connection up.
    let sent = Command::new("ip")
        .args([
            "netns",
            "exec",
            na,
            "bash",
            "-c",
            "echo x > /dev/udp/10.88.2.1/9",
        ])
        .status()
        .unwrap();
    assert!(sent.success());
    wait_for("the acquire to establish the IKE SA on both sides", || {
        let (sa_a, sa_b) = (a.status(), b.status());
        [sa_a, sa_b]
            .iter()
            .all(|s| sas(s).first().is_some_and(|x| x["state"] == "ESTABLISHED"))
    });
    assert!(a
        .log_text()
        .contains("gw/net: acquire 10.88.1.1 -> 10.88.2.1"));
    let refused = "XFRM_MSG_UPDSA: Function not implemented";
    wait_for(
        "the Child SA to be installed, or refused by a kernel without ESP",
        || {
            a.log_text().contains(refused)
                || sas(&a.status())[0]["child_sas"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty())
        },
    );
    if a.log_text().contains(refused) {
        eprintln!("this kernel has no ESP: checking the refusal path");
        wait_for("both sides to drop the refused Child SA", || {
            b.log_text().contains("Child SA deleted")
                && [a.status(), b.status()].iter().all(|s| {
                    sas(s)[0]["child_sas"].as_array().is_some_and(Vec::is_empty)
                        && sas(s)[0]["state"] == "ESTABLISHED"
                })
        });
        // The reserved SPI went back: no ESP state but the acquire's larval one (SPI 0).
        let st = ip_out(na, &["xfrm", "state"]);
        assert!(
            st.lines()
                .filter(|l| l.contains("proto esp spi"))
                .all(|l| l.contains("spi 0x00000000")),
            "{st}"
        );
    } else {
        let status = a.status();
        let child = &sas(&status)[0]["child_sas"][0];
        assert_eq!(child["state"], "INSTALLED");
        let st = ip_out(na, &["xfrm", "state"]);
        for spi in ["spi_in", "spi_out"] {
            let want = format!("spi 0x{}", child[spi].as_str().unwrap());
            assert!(st.contains(&want), "{want} in {st}");
        }
    }
    assert!(a.terminate().success());
    let pol = ip_out(na, &["xfrm", "policy"]);
    assert!(!pol.contains("10.88."), "policies left behind: {pol}");
}

#[test]
fn clients_without_a_daemon_fail_cleanly() {
    let dir = Scratch::new("nodaemon");
    let sock = dir.0.join("none.sock");
    for args in [&["status"][..], &["up", "x"], &["down", "x"]] {
        let out = Command::new(BIN)
            .args(args)
            .arg("-s")
            .arg(&sock)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the daemon"));
    }
    // -s before the subcommand too (DESIGN.md); after it, it wins.
    let other = dir.0.join("other.sock");
    for (args, want) in [
        (vec!["-s", sock.to_str().unwrap(), "stats"], &sock),
        (
            vec![
                "-s",
                sock.to_str().unwrap(),
                "reload",
                "-s",
                other.to_str().unwrap(),
            ],
            &other,
        ),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("cannot reach the daemon on {}", want.display())),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "daemon", "up", "down", "rekey", "stats", "status", "check", "decode",
    ] {
        let out = Command::new(BIN).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{sub}"
        );
    }
}

/// Two network namespaces joined by a veth pair, IPv4 and IPv6; deleted on drop.
struct NetnsPair {
    names: [String; 2],
    /// The veth device in each.
    veths: [String; 2],
}

impl NetnsPair {
    /// Two namespaces named after this process and `tag` (one tag per test: tests run in
    /// parallel threads of one process).
    fn create(tag: &str) -> Option<NetnsPair> {
        let id = std::process::id() % 100_000;
        let names = [format!("ike-t{id}{tag}a"), format!("ike-t{id}{tag}b")];
        let veths = [format!("ikv{id}{tag}a"), format!("ikv{id}{tag}b")];
        let pair = NetnsPair { names, veths };
        let [a, b] = &pair.names;
        let [va, vb] = &pair.veths;
        let run = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !run(&["netns", "add", a]) {
            require_root("a network namespace cannot be created (needs root and ip netns)");
            eprintln!("SKIPPED: cannot create a network namespace (needs root and ip netns)");
            return None;
        }
        let ok = run(&["netns", "add", b])
            && run(&[
                "link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b,
            ])
            && [(a, &va, "1"), (b, &vb, "2")]
                .iter()
                .all(|(ns, dev, host)| {
                    run(&[
                        "-n",
                        ns,
                        "addr",
                        "add",
                        &format!("10.231.0.{host}/24"),
                        "dev",
                        dev,
                    ]) && run(&[
                        "-n",
                        ns,
                        "addr",
                        "add",
                        &format!("fd00:231::{host}/64"),
                        "dev",
                        dev,
                        "nodad",
                    ]) && run(&["-n", ns, "link", "set", dev, "up"])
                        && run(&["-n", ns, "link", "set", "lo", "up"])
                });
        assert!(ok, "setting up the namespaces failed");
        Some(pair)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Both daemons with `listen` left out (so on 0.0.0.0 and [::]) and no `local_addrs`: the
/// local address comes from the routing table, over IPv4 and over IPv6.
#[test]
fn wildcard_listen_ipv4_and_ipv6_in_namespaces() {
    let Some(ns) = NetnsPair::create("w") else {
        return;
    };
    let dir = Scratch::new("netns");
    let config = |me: &str, peer: &str, my_id: &str, peer_id: &str| {
        let conn = |name: &str, local: &str, remote: &str| {
            format!(
                "[connections.{name}]\nremote_addrs = [\"{remote}\"]\n\
                 proposals = [\"aes256-sha256-modp2048\"]\n\
                 [connections.{name}.local]\nauth = \"psk\"\nid = \"{my_id}\"\n\
                 [connections.{name}.remote]\nauth = \"psk\"\nid = \"{peer_id}\"\n\
                 [connections.{name}.children.host]\nlocal_ts = [\"{local}\"]\nremote_ts = [\"{remote}\"]\nesp_proposals = [\"aes256-sha256\"]\nmode = \"transport\"\n"
            )
        };
        format!(
            "[daemon]\nkernel = \"none\"\n\n{}{}\n[[secrets.ike]]\nsecret = \"0sbm90IGEgcmVhbCBzZWNyZXQgYXQgYWxsIQ==\"\n",
            conn("v4", &format!("10.231.0.{me}"), &format!("10.231.0.{peer}")),
            conn("v6", &format!("fd00:231::{me}"), &format!("fd00:231::{peer}")),
        )
    };
    // B has a second address; A's childless connection v4b goes to it. B's wildcard socket
    // must answer from the address A sent to (IP_PKTINFO), not from the one its routing table
    // prefers, or A drops the IKE_SA_INIT response (RFC 7296 §2.11).
    ip_out(
        &ns.names[1],
        &["addr", "add", "10.231.0.22/24", "dev", &ns.veths[1]],
    );
    let a_text = config("1", "2", "a.test", "b.test").replace(
        "\n[[secrets.ike]]",
        "[connections.v4b]\nremote_addrs = [\"10.231.0.22\"]\nproposals = [\"aes256-sha256-modp2048\"]\n\
         [connections.v4b.local]\nauth = \"psk\"\nid = \"a.test\"\n\
         [connections.v4b.remote]\nauth = \"psk\"\nid = \"b.test\"\n\n[[secrets.ike]]",
    );
    let a = Daemon::start_in(Some(&ns.names[0]), &dir.0, "a", &a_text);
    let b = Daemon::start_in(
        Some(&ns.names[1]),
        &dir.0,
        "b",
        &config("2", "1", "b.test", "a.test"),
    );
    let (code, out, err) = a.ike(&["up", "v4b"]);
    assert_eq!(
        code,
        0,
        "v4b: {out}{err}\n{}\n{}",
        a.log_text(),
        b.log_text()
    );
    let on_second: Vec<Value> = sas(&b.status())
        .iter()
        .filter(|s| s["local_addr"] == "10.231.0.22:500")
        .cloned()
        .collect();
    assert_eq!(on_second.len(), 1, "{}", b.status());
    let (code, out, err) = a.ike(&["down", "v4b"]);
    assert_eq!(code, 0, "{out}{err}");
    for name in ["v4", "v6"] {
        let (code, out, err) = a.ike(&["up", name]);
        assert_eq!(
            code,
            0,
            "{name}: {out}{err}\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
    }
    let status = b.status();
    let mut seen: Vec<(String, String, String)> = sas(&status)
        .iter()
        .map(|s| {
            assert_eq!(s["state"], "ESTABLISHED");
            assert_eq!(s["child_sas"][0]["state"], "INSTALLED");
            assert_eq!(s["child_sas"][0]["mode"], "transport");
            (
                s["name"].as_str().unwrap().to_owned(),
                s["local_addr"].as_str().unwrap().to_owned(),
                s["remote_addr"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "v4".to_owned(),
                "10.231.0.2:500".to_owned(),
                "10.231.0.1:500".to_owned()
            ),
            (
                "v6".to_owned(),
                "[fd00:231::2]:500".to_owned(),
                "[fd00:231::1]:500".to_owned()
            ),
        ]
    );
    assert_eq!(
        b.status()["ike_sas"][1]["child_sas"][0]["local_ts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    drop(a);
    drop(b);
}

/// `ike up` fails with exit 1 and a reason when the peer refuses us (a wrong PSK), and when
/// nobody answers within `--timeout`; nothing is left in status after the refusal.
#[test]
fn up_reports_failure() {
    let (a_addr, b_addr) = ("127.0.35.1", "127.0.35.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("fail");
    let (ca, cb) = configs(a_addr, b_addr, "none");

    // Nobody there: the wait runs out.
    let a = Daemon::start(&dir.0, "a", &ca);
    let started = Instant::now();
    let (code, _, err) = a.ike(&["up", "site-b", "--timeout", "2"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("site-b: not established within 2s: the peer has not answered yet"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(sas(&a.status())[0]["state"], "CONNECTING");
    drop(a);

    // A peer with another PSK: authentication fails on both sides.
    let wrong = cb.replace(
        "0sv+NkxY9LLZvwj4qCC2o/gGrWDF2d21jL",
        "0sd3JvbmcgcHNrIGZvciB0aGlzIHRlc3Q=",
    );
    assert_ne!(wrong, cb);
    let a = Daemon::start(&dir.0, "a2", &ca);
    let b = Daemon::start(&dir.0, "b", &wrong);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}\n{}", a.log_text());
    assert!(err.contains("site-b: failed"), "{err}");
    assert!(sas(&a.status()).is_empty());
    wait_for("B to forget the half-made SA", || {
        sas(&b.status()).is_empty()
    });
}

/// Short lifetimes: the engine rekeys the Child SA and the IKE SA by itself; status on both
/// sides follows (one IKE SA with the new SPIs, one Child SA with new crossed SPIs), and the
/// kernel table keeps exactly the current Child SA.
#[test]
fn rekeys_show_in_status_on_both_sides() {
    let (a_addr, b_addr) = ("127.0.37.1", "127.0.37.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("rekey");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let ca = ca
        .replace("rekey_time = \"4h\"", "rekey_time = \"4s\"")
        .replace("rekey_time = \"1h\"", "rekey_time = \"2s\"");
    assert!(ca.contains("\"4s\"") && ca.contains("\"2s\""));
    let a = Daemon::start(&dir.0, "a", &ca);
    let b = Daemon::start(&dir.0, "b", &cb);
    assert_eq!(a.ike(&["up", "site-b"]).0, 0);
    let (spi_i, _) = assert_established(&a, &b, a_addr, b_addr);
    let child_spi = a.status()["ike_sas"][0]["child_sas"][0]["spi_in"].clone();
    wait_for("a Child SA rekey", || {
        let s = a.status();
        sas(&s).len() == 1
            && s["ike_sas"][0]["child_sas"].as_array().unwrap().len() == 1
            && s["ike_sas"][0]["child_sas"][0]["spi_in"] != child_spi
    });
    wait_for("an IKE SA rekey", || {
        let s = a.status();
        sas(&s).len() == 1 && s["ike_sas"][0]["initiator_spi"] != spi_i.as_str()
    });
    // Settle between rekeys (the next child rekey is ~2 s away), then compare both sides.
    wait_for("both sides to agree", || {
        let (sa, sb) = (a.status(), b.status());
        let (ia, ib) = (&sa["ike_sas"], &sb["ike_sas"]);
        sas(&sa).len() == 1
            && sas(&sb).len() == 1
            && ia[0]["initiator_spi"] == ib[0]["initiator_spi"]
            && ia[0]["responder_spi"] == ib[0]["responder_spi"]
            && ia[0]["child_sas"].as_array().unwrap().len() == 1
            && ib[0]["child_sas"].as_array().unwrap().len() == 1
            && ia[0]["child_sas"][0]["spi_in"] == ib[0]["child_sas"][0]["spi_out"]
            && ia[0]["child_sas"][0]["spi_out"] == ib[0]["child_sas"][0]["spi_in"]
            && ia[0]["state"] == "ESTABLISHED"
            && ib[0]["state"] == "ESTABLISHED"
    });
    let log = a.log_text();
    assert!(log.contains("IKE SA rekeyed"), "{log}");
    // Every replaced Child SA left the kernel table: one more install than deletes.
    let installs = log.matches("would install SAs").count();
    let deletes = log.matches("would delete SAs").count();
    assert!(installs >= 2, "{log}");
    assert!(
        installs == deletes + 1 || installs == deletes + 2,
        "{installs} installs, {deletes} deletes:\n{log}"
    );
}

/// A process killed (SIGINT, then SIGKILL) by PID when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `--keylog DIR`: tshark, an independent dissector, decrypts every encrypted IKE message of a
/// capture with nothing but the tables the daemon wrote (both identities appear in the clear),
/// the files are private (0600), and the ESP table names both SPIs of the Child SA. (ESP
/// decryption with `esp_sa` is checked where real ESP flows: tests/uml.)
#[test]
fn keylog_lets_tshark_decrypt_the_capture() {
    if !have("tshark") || !have("tcpdump") {
        require_root("tshark or tcpdump is missing");
        eprintln!("SKIPPED: keylog test needs tshark and tcpdump (scripts/test.sh installs them)");
        return;
    }
    let Some(ns) = NetnsPair::create("k") else {
        return;
    };
    let [na, nb] = &ns.names;
    let dir = Scratch::new("keylog");
    let keys = dir.0.join("keys");
    let pcap = dir.0.join("ike.pcap");
    let veth = format!("ikv{}ka", std::process::id() % 100_000);
    let dump_log = std::fs::File::create(dir.0.join("tcpdump.log")).unwrap();
    let dump = Background(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                na,
                "tcpdump",
                "--immediate-mode",
                "-U",
                "-i",
                &veth,
                "-w",
            ])
            .arg(&pcap)
            .arg("udp")
            .stdout(Stdio::null())
            .stderr(dump_log)
            .spawn()
            .unwrap(),
    );
    wait_for("tcpdump to listen", || {
        std::fs::read_to_string(dir.0.join("tcpdump.log")).is_ok_and(|t| t.contains("listening"))
    });
    let config = |me: &str, peer: &str, id: &str, rid: &str| {
        format!(
            "[daemon]\nlisten = [\"10.231.0.{me}\"]\nkernel = \"none\"\n\
             [connections.gw]\nlocal_addrs = [\"10.231.0.{me}\"]\nremote_addrs = [\"10.231.0.{peer}\"]\n\
             proposals = [\"aes256-sha256-modp2048\"]\n\
             [connections.gw.local]\nauth = \"psk\"\nid = \"{id}\"\n\
             [connections.gw.remote]\nauth = \"psk\"\nid = \"{rid}\"\n\
             [connections.gw.children.net]\nlocal_ts = [\"10.88.{me}.0/24\"]\nremote_ts = [\"10.88.{peer}.0/24\"]\n\
             esp_proposals = [\"aes128gcm16\"]\n\
             [[secrets.ike]]\nsecret = \"0sbm90IGEgcmVhbCBzZWNyZXQgYXQgYWxsIQ==\"\n"
        )
    };
    let keys_arg = keys.to_str().unwrap();
    let a = Daemon::start_with(
        Some(na),
        &dir.0,
        "a",
        &config("1", "2", "a.keylog.test", "b.keylog.test"),
        &["--keylog", keys_arg],
    );
    let _b = Daemon::start_in(
        Some(nb),
        &dir.0,
        "b",
        &config("2", "1", "b.keylog.test", "a.keylog.test"),
    );
    let (code, out, err) = a.ike(&["up", "gw"]);
    assert_eq!(code, 0, "{out}{err}\n{}", a.log_text());
    let status = a.status();
    let child = &sas(&status)[0]["child_sas"][0];
    let (spi_in, spi_out) = (
        child["spi_in"].as_str().unwrap().to_owned(),
        child["spi_out"].as_str().unwrap().to_owned(),
    );
    let (code, out, err) = a.ike(&["down", "gw"]);
    assert_eq!(code, 0, "{out}{err}");
    drop(dump);
    assert!(
        a.log_text().contains("--keylog"),
        "the daemon warns about the key log"
    );

    use std::os::unix::fs::PermissionsExt as _;
    for f in ["ikev2_decryption_table", "esp_sa"] {
        let mode = std::fs::metadata(keys.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    let esp = std::fs::read_to_string(keys.join("esp_sa")).unwrap();
    assert_eq!(esp.lines().count(), 2, "{esp}");
    assert!(
        esp.contains(&format!("\"0x{spi_in}\"")) && esp.contains(&format!("\"0x{spi_out}\"")),
        "{esp}"
    );
    assert!(esp.contains("AES-GCM with 16 octet ICV [RFC4106]"), "{esp}");

    // Without the key log tshark sees only ciphertext; with it, the inner payloads.
    let tshark = |config_dir: Option<&Path>| {
        let mut c = Command::new("tshark");
        c.arg("-r").arg(&pcap).arg("-V");
        if let Some(d) = config_dir {
            c.env("WIRESHARK_CONFIG_DIR", d);
        } else {
            c.env("WIRESHARK_CONFIG_DIR", dir.0.join("empty-profile"));
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = tshark(None);
    assert!(
        plain.contains("IKE_AUTH"),
        "the capture has the exchange: {plain}"
    );
    assert!(!plain.contains("Decrypted Data"));
    let dec = tshark(Some(&keys));
    // IKE_AUTH and INFORMATIONAL requests and responses: four encrypted messages.
    assert_eq!(dec.matches("Decrypted Data").count(), 4, "{dec}");
    assert!(dec.contains("Identification Data:a.keylog.test"), "{dec}");
    assert!(dec.contains("Identification Data:b.keylog.test"), "{dec}");
    assert!(!dec.contains("Checksum: [incorrect"), "{dec}");
}

/// `ike up` brings up every child of the connection: the first in IKE_AUTH, the others in
/// CREATE_CHILD_SA exchanges on the same IKE SA, each with its own selectors on both sides.
#[test]
fn every_child_of_a_connection_comes_up() {
    let (a_addr, b_addr) = ("127.0.31.7", "127.0.31.8");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("children");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let child = |conn: &str, l: &str, r: &str| {
        format!(
            "\n[connections.{conn}.children.web]\nlocal_ts = [\"{l}\"]\nremote_ts = [\"{r}\"]\n\
             esp_proposals = [\"aes128gcm16\"]\n"
        )
    };
    let ca = ca + &child("site-b", "10.99.1.0/24", "10.99.2.0/24");
    let cb = cb + &child("site-a", "10.99.2.0/24", "10.99.1.0/24");
    let a = Daemon::start(&dir.0, "a", &ca);
    let b = Daemon::start(&dir.0, "b", &cb);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}\n{}", a.log_text());
    wait_for("two Child SAs on both sides", || {
        [a.status(), b.status()].iter().all(|s| {
            sas(s).len() == 1
                && sas(s)[0]["child_sas"]
                    .as_array()
                    .is_some_and(|c| c.len() == 2)
        })
    });
    let (sa, sb) = (a.status(), b.status());
    let mut names = Vec::new();
    for c in sas(&sa)[0]["child_sas"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        names.push(name.to_owned());
        let peer = sas(&sb)[0]["child_sas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["spi_in"] == c["spi_out"])
            .unwrap_or_else(|| panic!("B has no Child SA matching {c}"));
        assert_eq!(peer["name"], c["name"]);
        assert_eq!(peer["spi_out"], c["spi_in"]);
        assert_eq!(peer["local_ts"], c["remote_ts"]);
        let want = if name == "web" {
            "10.99.1.0/24"
        } else {
            "10.88.1.0/24"
        };
        assert_eq!(c["local_ts"][0], want);
    }
    names.sort();
    assert_eq!(names, ["net", "web"]);
}

/// An IKE SA that is not rekeyed by its hard lifetime is deleted (the peer is told): here B
/// never rekeys (`rekey_time = "0"`) and has `life_time = "2s"`; A's rekey is hours away.
#[test]
fn ike_sa_past_its_hard_lifetime_is_deleted() {
    let (a_addr, b_addr) = ("127.0.31.9", "127.0.31.10");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("lifetime");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let cb = cb.replacen(
        "rekey_time = \"4h\"",
        "rekey_time = \"0\"\nlife_time = \"2s\"",
        1,
    );
    assert!(
        cb.contains("life_time = \"2s\""),
        "the example changed: {cb}"
    );
    let a = Daemon::start(&dir.0, "a", &ca);
    let b = Daemon::start(&dir.0, "b", &cb);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    let up = Instant::now();
    assert_eq!(sas(&b.status()).len(), 1);
    wait_for("B to delete the expired IKE SA, and A to hear it", || {
        sas(&b.status()).is_empty() && sas(&a.status()).is_empty()
    });
    assert!(
        up.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        up.elapsed()
    );
    assert!(
        b.log_text()
            .contains("reached its hard lifetime (2s) without a rekey"),
        "{}",
        b.log_text()
    );
    assert!(
        a.log_text().contains("deleted by the peer"),
        "{}",
        a.log_text()
    );
}

/// An AH child (`ah_proposals`): both daemons show it with the protocol in the proposal
/// (`ah:sha256`, the JSON contract has no protocol field), the `none` kernel logs it, and the
/// key log gets a comment instead of `esp_sa` lines (Wireshark's table is ESP only).
#[test]
fn ah_child_between_two_daemons() {
    let (a_addr, b_addr) = ("127.0.45.1", "127.0.45.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("ah");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let ah = "ah_proposals = [\"sha256\"]";
    let ca = ca.replace(
        "esp_proposals = [\"aes128gcm16-x25519\", \"aes256-sha256-modp2048\"]",
        ah,
    );
    let cb = cb.replace(
        "esp_proposals = [\"aes128gcm16-x25519\", \"aes256-sha256-modp2048\"]",
        ah,
    );
    assert!(ca.contains(ah) && cb.contains(ah));
    let keys = dir.0.join("keys");
    let keys_arg = keys.to_str().unwrap();
    let a = Daemon::start_with(None, &dir.0, "a", &ca, &["--keylog", keys_arg]);
    let b = Daemon::start(&dir.0, "b", &cb);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}\n{}", a.log_text());
    wait_for("B's Child SA", || {
        sas(&b.status())
            .first()
            .is_some_and(|s| !s["child_sas"].as_array().unwrap().is_empty())
    });
    let (sa, sb) = (a.status(), b.status());
    let (ca, cb) = (&sas(&sa)[0]["child_sas"][0], &sas(&sb)[0]["child_sas"][0]);
    assert_eq!(ca["proposal"], "ah:sha256", "{sa}");
    assert_eq!(cb["proposal"], "ah:sha256", "{sb}");
    assert_eq!(ca["spi_in"], cb["spi_out"]);
    assert_eq!(ca["spi_out"], cb["spi_in"]);
    assert_eq!(ca["state"], "INSTALLED");
    let (code, table, _) = a.ike(&["status"]);
    assert_eq!(code, 0);
    assert!(table.contains("ah:sha256"), "{table}");
    let log = a.log_text();
    assert!(
        log.contains("would install SAs") && log.contains("ah:sha256"),
        "{log}"
    );
    let esp_sa = std::fs::read_to_string(keys.join("esp_sa")).unwrap();
    let spi_in = ca["spi_in"].as_str().unwrap();
    assert!(
        esp_sa.starts_with('#') && esp_sa.contains(spi_in) && esp_sa.contains("ah:sha256"),
        "{esp_sa}"
    );
    assert!(
        esp_sa.lines().all(|l| l.starts_with('#')),
        "no esp_sa entry for an AH SA: {esp_sa}"
    );
}

/// Six connections of A to B with the same pair of identities, over two engine shards on each
/// side: `up` spreads them over A's shards, B's responder SAs spread over B's shards by their
/// SPIs, `ike status` gathers all of them on both sides, and only the first carries
/// INITIAL_CONTACT (the others are brought up knowing that some shard holds an IKE SA with
/// that peer), so B keeps all six. `down` finds each connection's SA on whichever shard.
#[test]
fn connections_spread_over_two_shards_and_status_gathers_them() {
    let (a_addr, b_addr) = ("127.0.39.1", "127.0.39.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("shards");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let start = ca.find("[connections.site-b]").unwrap();
    let end = ca.find("[[secrets.ike]]").unwrap();
    let block = &ca[start..end];
    let mut a_text = ca[..start].to_owned();
    for i in 1..=6 {
        a_text.push_str(&block.replace("site-b", &format!("site-b{i}")));
    }
    a_text.push_str(&ca[end..]);
    let a = Daemon::start(&dir.0, "a", &a_text);
    let b = Daemon::start(&dir.0, "b", &cb);
    for i in 1..=6 {
        let (code, out, err) = a.ike(&["up", &format!("site-b{i}")]);
        assert_eq!(code, 0, "site-b{i}: {out}{err}\n{}", a.log_text());
    }
    wait_for("six IKE SAs on both sides", || {
        sas(&a.status()).len() == 6 && sas(&b.status()).len() == 6
    });
    let (sa, sb) = (a.status(), b.status());
    for s in sas(&sa).iter().chain(sas(&sb)) {
        assert_eq!(s["state"], "ESTABLISHED", "{s}");
        assert_eq!(s["child_sas"].as_array().unwrap().len(), 1, "{s}");
    }
    let names: std::collections::BTreeSet<&str> = sas(&sa)
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6);
    // The same SAs streamed, one JSON object per line, gathered page by page over the shards.
    let (code, out, err) = a.ike(&["status", "--json", "--stream"]);
    assert_eq!(code, 0, "{err}");
    let streamed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(streamed.len(), 6, "{out}");
    let mut spis: Vec<&str> = streamed
        .iter()
        .map(|s| s["initiator_spi"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = sas(&sa)
        .iter()
        .map(|s| s["initiator_spi"].as_str().unwrap())
        .collect();
    spis.sort_unstable();
    want.sort_unstable();
    assert_eq!(spis, want);
    let (la, lb) = (a.log_text(), b.log_text());
    assert!(la.contains("2 engine shards"), "{la}");
    assert!(!lb.contains("closed: replaced"), "{lb}");
    assert_eq!(la.matches("N(INITIAL_CONTACT)").count(), 1, "{la}");
    for i in 1..=6 {
        let (code, out, err) = a.ike(&["down", &format!("site-b{i}")]);
        assert_eq!(code, 0, "site-b{i}: {out}{err}");
    }
    wait_for("no SA left", || {
        sas(&a.status()).is_empty() && sas(&b.status()).is_empty()
    });
    let (code, _, err) = a.ike(&["down", "site-b1"]);
    assert_eq!(code, 1);
    assert!(err.contains("no IKE SA to delete"), "{err}");
}

/// Control clients are capped (`max_control_clients`): with the cap held by idle connections
/// (nothing sent), a new client takes the slot of the longest-idle one, which is told why and
/// closed; with the cap held by busy clients (`ike log` streams), the next one is refused at
/// once; idle clients are dropped after their wait for a request anyway.
#[test]
fn control_clients_are_capped_and_idle_ones_make_room() {
    use std::io::Read as _;
    let (a_addr, b_addr) = ("127.0.32.9", "127.0.32.10");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("ctlcap");
    let (ca, _) = configs(a_addr, b_addr, "none");
    let ca = ca.replacen("[daemon]\n", "[daemon]\nmax_control_clients = 4\n", 1);
    let a = Daemon::start(&dir.0, "a", &ca);
    let mut idle: Vec<std::os::unix::net::UnixStream> = (0..4)
        .map(|_| std::os::unix::net::UnixStream::connect(&a.socket).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = std::time::Instant::now();
    let (code, _, err) = a.ike(&["status"]);
    assert_eq!(code, 0, "{err}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // The oldest idle client was told why it was closed.
    idle[0]
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut told = String::new();
    let _ = idle[0].read_to_string(&mut told);
    assert!(
        told.contains("needed the slot for another client"),
        "{told:?}"
    );
    drop(idle);
    // Four busy clients (log streams, each streaming: its first line is there): the fifth is
    // refused.
    let logs: Vec<std::process::Child> = (0..4)
        .map(|_| {
            let mut c = Command::new(BIN)
                .args(["log", "-s"])
                .arg(&a.socket)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut first = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(c.stdout.as_mut().unwrap()),
                &mut first,
            )
            .unwrap();
            assert!(first.contains("streaming the daemon's log"), "{first:?}");
            c
        })
        .collect();
    wait_for("the log clients to hold every slot", || {
        let (code, _, err) = a.ike(&["status"]);
        code != 0 && err.contains("too many control clients (4 connected)")
    });
    for mut l in logs {
        let _ = l.kill();
        let _ = l.wait();
    }
    wait_for("status to answer again", || a.ike(&["status"]).0 == 0);
    assert!(a
        .log_text()
        .contains("control clients already connected (max_control_clients)"));
}

/// 25,000 idle control connections (seven processes holding 3,572 each, within a hard limit of
/// 4,096 open files per process; the default cap of 64):
/// `ike status` still answers within a second, and the daemon's memory stays bounded.
#[test]
fn twenty_five_thousand_idle_control_connections() {
    use std::io::{BufRead as _, Write as _};
    let (a_addr, b_addr) = ("127.0.32.13", "127.0.32.14");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("ctlflood");
    let (ca, _) = configs(a_addr, b_addr, "none");
    let a = Daemon::start(&dir.0, "a", &ca);
    let rss = |pid: u32| -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    assert_eq!(a.ike(&["status"]).0, 0);
    let before = rss(a.pid());
    let script = r#"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    held.append(s)
print("connected", len(held), flush=True)
sys.stdin.read()
"#;
    let mut holders: Vec<std::process::Child> = (0..7)
        .map(|_| {
            Command::new("python3")
                .args(["-c", script])
                .arg(&a.socket)
                .arg("3572")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 (the test command installs it)")
        })
        .collect();
    for h in holders.iter_mut() {
        let mut out = std::io::BufReader::new(h.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(120)).unwrap();
        assert_eq!(line.trim(), "connected 3572");
    }
    let t = std::time::Instant::now();
    let (code, _, err) = a.ike(&["status"]);
    let took = t.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(took < Duration::from_secs(1), "ike status took {took:?}");
    let after = rss(a.pid());
    assert!(
        after < before + 20_000,
        "RSS grew from {before} kB to {after} kB with 25,000 idle control connections"
    );
    for mut h in holders {
        if let Some(mut i) = h.stdin.take() {
            let _ = i.write_all(b"");
        }
        let _ = h.kill();
        let _ = h.wait();
    }
    assert_eq!(a.ike(&["status"]).0, 0);
}

/// Disjoint IKE proposals: the responder says at the default level what it received and what it
/// has, side by side, and the first transform type with nothing in common; the initiator's
/// `ike up` names the RFC notify and exits 1 (issue 12: the responder logged nothing).
#[test]
fn disjoint_ike_proposals_are_explained_on_both_sides() {
    let (a_addr, b_addr) = ("127.0.38.1", "127.0.38.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("noprop");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let ca = ca.replacen(
        "proposals = [\"aes128gcm16-prfsha256-x25519\", \"aes256-sha256-modp2048\"]",
        "proposals = [\"aes256-sha1-modp3072\"]",
        1,
    );
    let cb = cb.replacen(
        "proposals = [\"aes128gcm16-prfsha256-x25519\", \"aes256-sha256-modp2048\"]",
        "proposals = [\"aes128gcm16-prfsha256-x25519\"]",
        1,
    );
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("NO_PROPOSAL_CHOSEN"), "{err}");
    assert!(!err.contains("NoProposalChosen"), "{err}");
    let want = format!(
        "IKE_SA_INIT from {a_addr}:500 refused with NO_PROPOSAL_CHOSEN for connection site-a: \
         received aes256-sha1-prfsha1-modp3072; configured aes128gcm16-prfsha256-x25519; no common \
         encryption algorithm"
    );
    wait_for("B's explanation", || b.log_text().contains(&want));
    let text = b.log_text();
    let line = text.lines().find(|l| l.contains(&want)).unwrap();
    assert!(line.contains(" INFO "), "not at the default level: {line}");
}

/// Disjoint ESP proposals: the responder logs both sides' proposals for the child and the first
/// difference; the initiator's `ike up` names NO_PROPOSAL_CHOSEN and exits 1.
#[test]
fn disjoint_esp_proposals_are_explained_on_both_sides() {
    let (a_addr, b_addr) = ("127.0.38.5", "127.0.38.6");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("noesp");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let ca = ca.replacen(
        "esp_proposals = [\"aes128gcm16-x25519\", \"aes256-sha256-modp2048\"]",
        "esp_proposals = [\"aes256-sha1\"]",
        1,
    );
    let cb = cb.replacen(
        "esp_proposals = [\"aes128gcm16-x25519\", \"aes256-sha256-modp2048\"]",
        "esp_proposals = [\"aes128gcm16\"]",
        1,
    );
    assert!(ca.contains("aes256-sha1\"") && cb.contains("[\"aes128gcm16\"]"));
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("child net failed: no acceptable proposal (NO_PROPOSAL_CHOSEN)"),
        "{err}"
    );
    let want = "Child SA net: no acceptable proposal (NO_PROPOSAL_CHOSEN): received aes256-sha1; \
                configured aes128gcm16; no common encryption algorithm";
    wait_for("B's explanation", || b.log_text().contains(want));
}

/// A wrong identity: the responder logs the identity it received, with its type, and why each
/// connection was passed over; the initiator's `ike up` names AUTHENTICATION_FAILED.
#[test]
fn an_unknown_identity_is_explained() {
    let (a_addr, b_addr) = ("127.0.38.9", "127.0.38.10");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("badid");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let cb = cb.replacen("id = \"a.example.org\"", "id = \"c.example.org\"", 1);
    let cb = cb.replacen(
        "ids = [\"a.example.org\", \"b.example.org\"]",
        "ids = [\"c.example.org\", \"b.example.org\"]",
        1,
    );
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("AUTHENTICATION_FAILED"), "{err}");
    let want = format!(
        "IKE_AUTH from {a_addr}:500: no connection matches the peer's identity a.example.org \
         (ID_FQDN), asking for us as b.example.org; connections considered: site-a expects \
         c.example.org"
    );
    wait_for("B's explanation", || b.log_text().contains(&want));
}

/// A pre-shared key that differs on each side: the responder names the rule (the AUTH payload
/// does not match its key) and the initiator's `ike up` AUTHENTICATION_FAILED, exit 1.
#[test]
fn a_wrong_psk_is_explained_on_both_sides() {
    let (a_addr, b_addr) = ("127.0.44.1", "127.0.44.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("badpsk");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let cb = cb.replacen(
        "secret = \"0sv+NkxY9LLZvwj4qCC2o/gGrWDF2d21jL\"",
        "secret = \"another secret, of good length\"",
        1,
    );
    assert!(cb.contains("another secret"));
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("site-b: failed: the peer refused with AUTHENTICATION_FAILED"),
        "{err}"
    );
    wait_for("B's explanation", || {
        b.log_text().lines().any(|l| {
            l.contains(" INFO ")
                && l.contains("site-a: IKE SA")
                && l.contains("closed: refused: authentication failed: the AUTH payload does not match our pre-shared key (a different key on each side?)")
        })
    });
    assert!(a
        .log_text()
        .contains("closed: the peer refused with AUTHENTICATION_FAILED"));
}

/// Selectors that do not overlap: the IKE SA comes up, the Child SA not; the responder logs
/// what it received and what it has, in strongSwan's notation; both name TS_UNACCEPTABLE and
/// `ike up` exits 1 saying so.
#[test]
fn unacceptable_selectors_are_explained_on_both_sides() {
    let (a_addr, b_addr) = ("127.0.38.21", "127.0.38.22");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("badts");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let cb = cb
        .replacen(
            "local_ts = [\"10.88.2.0/24\"]",
            "local_ts = [\"10.99.2.0/24\"]",
            1,
        )
        .replacen(
            "remote_ts = [\"10.88.1.0/24\"]",
            "remote_ts = [\"10.99.1.0/24\"]",
            1,
        );
    assert!(cb.contains("10.99.1.0/24"));
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("site-b: IKE SA up but child net failed: traffic selectors unacceptable (TS_UNACCEPTABLE)"),
        "{err}"
    );
    let want = "Child SA net: traffic selectors do not overlap (TS_UNACCEPTABLE): received TSi \
                10.88.1.0/24 TSr 10.88.2.0/24; configured remote 10.99.1.0/24 local 10.99.2.0/24";
    wait_for("B's explanation", || b.log_text().contains(want));
    assert!(a
        .log_text()
        .contains("site-b/net: Child SA failed: traffic selectors unacceptable (TS_UNACCEPTABLE)"));
}

/// A certificate past its validity: the responder names the rule (certificate expired), the
/// initiator's `ike up` AUTHENTICATION_FAILED.
#[test]
fn an_expired_certificate_is_explained() {
    let (a_addr, b_addr) = ("127.0.38.25", "127.0.38.26");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("expired");
    let pki = test_pki(&dir.0, true);
    let conf = |me: &str, peer: &str, my_addr: &str, peer_addr: &str, name: &str| {
        format!(
            r#"[daemon]
listen = ["{my_addr}"]
kernel = "none"

[connections.{name}]
local_addrs = ["{my_addr}"]
remote_addrs = ["{peer_addr}"]
proposals = ["aes128gcm16-prfsha256-x25519"]

[connections.{name}.local]
auth = "pubkey"
id = "{me}"
certs = ["{pki}/{me}.pem"]

[connections.{name}.remote]
auth = "pubkey"
id = "{peer}"

[connections.{name}.children.net]
local_ts = ["10.88.1.0/24"]
remote_ts = ["10.88.2.0/24"]
esp_proposals = ["aes128gcm16"]

[[secrets.private_key]]
file = "{pki}/{me}.key.pem"

[[authorities]]
cacert = "{pki}/ca.pem"
"#,
            pki = pki.display()
        )
    };
    let b = Daemon::start(
        &dir.0,
        "b",
        &conf("b.example.org", "a.example.org", b_addr, a_addr, "site-a"),
    );
    // The daemon loads its own expired certificate (the peer is the one to refuse it).
    let a = Daemon::start(
        &dir.0,
        "a",
        &conf("a.example.org", "b.example.org", a_addr, b_addr, "site-b"),
    );
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("AUTHENTICATION_FAILED"), "{err}");
    wait_for("B's explanation", || {
        b.log_text().lines().any(|l| {
            l.contains(" INFO ") && l.contains("authentication failed: certificate expired")
        })
    });
}

/// A CA and two end-entity certificates (ECDSA P-256) in `dir`: ca.pem, a.example.org.pem
/// (expired when `a_expired`), b.example.org.pem and their keys (mode 0600).
fn test_pki(dir: &Path, a_expired: bool) -> PathBuf {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
    use openssl::x509::{X509Builder, X509NameBuilder};
    use std::os::unix::fs::PermissionsExt as _;
    let out = dir.join("pki");
    std::fs::create_dir_all(&out).unwrap();
    let key = || {
        let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
    };
    let name = |cn: &str| {
        let mut n = X509NameBuilder::new().unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    };
    let ca_key = key();
    let mut ca = X509Builder::new().unwrap();
    ca.set_version(2).unwrap();
    ca.set_subject_name(&name("ike test CA")).unwrap();
    ca.set_issuer_name(&name("ike test CA")).unwrap();
    ca.set_pubkey(&ca_key).unwrap();
    ca.set_not_before(&Asn1Time::from_unix(1_000_000_000).unwrap())
        .unwrap();
    ca.set_not_after(&Asn1Time::days_from_now(3650).unwrap())
        .unwrap();
    ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let ca = ca.build();
    std::fs::write(out.join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    for (serial, cn, expired) in [
        (2u32, "a.example.org", a_expired),
        (3, "b.example.org", false),
    ] {
        let k = key();
        let mut ee = X509Builder::new().unwrap();
        ee.set_version(2).unwrap();
        ee.set_serial_number(
            &openssl::bn::BigNum::from_u32(serial)
                .unwrap()
                .to_asn1_integer()
                .unwrap(),
        )
        .unwrap();
        ee.set_subject_name(&name(cn)).unwrap();
        ee.set_issuer_name(ca.subject_name()).unwrap();
        ee.set_pubkey(&k).unwrap();
        ee.set_not_before(&Asn1Time::from_unix(1_000_000_000).unwrap())
            .unwrap();
        let end = if expired {
            Asn1Time::from_unix(1_100_000_000).unwrap()
        } else {
            Asn1Time::days_from_now(365).unwrap()
        };
        ee.set_not_after(&end).unwrap();
        let san = SubjectAlternativeName::new()
            .dns(cn)
            .build(&ee.x509v3_context(Some(&ca), None))
            .unwrap();
        ee.append_extension(san).unwrap();
        ee.sign(&ca_key, MessageDigest::sha256()).unwrap();
        std::fs::write(out.join(format!("{cn}.pem")), ee.build().to_pem().unwrap()).unwrap();
        let kp = out.join(format!("{cn}.key.pem"));
        std::fs::write(&kp, k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        std::fs::set_permissions(&kp, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    out
}

/// `ike rekey`: the Child SAs (all, or one child's), then the IKE SA, rekeyed on demand; the
/// SPIs change on both sides and one of each remains; the refusals name what is missing.
#[test]
fn rekey_on_demand() {
    let (a_addr, b_addr) = ("127.0.38.13", "127.0.38.14");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("rekeycmd");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    let child_spi = |d: &Daemon| sas(&d.status())[0]["child_sas"][0]["spi_in"].clone();
    let ike_spi = |d: &Daemon| sas(&d.status())[0]["initiator_spi"].clone();
    let (c0, i0) = (child_spi(&a), ike_spi(&a));

    let (code, out, err) = a.ike(&["rekey", "site-b", "--child", "net"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("site-b: rekeying 1 Child SA of net"), "{out}");
    wait_for("the new Child SA, alone, on both sides", || {
        let (sa, sb) = (a.status(), b.status());
        let (la, lb) = (&sas(&sa)[0]["child_sas"], &sas(&sb)[0]["child_sas"]);
        la.as_array().unwrap().len() == 1
            && lb.as_array().unwrap().len() == 1
            && la[0]["spi_in"] != c0
            && la[0]["spi_in"] == lb[0]["spi_out"]
    });
    let (code, out, err) = a.ike(&["rekey", "site-b", "--ike"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("site-b: rekeying 1 IKE SA"), "{out}");
    wait_for("the new IKE SA on both sides", || {
        let (sa, sb) = (a.status(), b.status());
        sas(&sa).len() == 1
            && sas(&sb).len() == 1
            && ike_spi(&a) != i0
            && sas(&sa)[0]["initiator_spi"] == sas(&sb)[0]["initiator_spi"]
    });
    for (args, want) in [
        (
            &["rekey", "site-b", "--child", "nosuch"][..],
            "site-b: no child named nosuch",
        ),
        (&["rekey", "nosuch"][..], "no connection named nosuch"),
    ] {
        let (code, _, err) = a.ike(args);
        assert_eq!(code, 1);
        assert!(err.contains(want), "{err}");
    }
}

/// `ike stats`: after one handshake and some garbage, the counters say one established IKEv2
/// SA with one Child SA, nothing half-open, and the garbage's drops by reason; text and JSON.
#[test]
fn stats_count_sas_and_drops() {
    let (a_addr, b_addr) = ("127.0.38.17", "127.0.38.18");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("stats");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    // B demands cookies always (threshold 0): its stats say so, A's not.
    let cb = cb.replacen("[daemon]\n", "[daemon]\ncookie_threshold = 0\n", 1);
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca);
    hostile_input(&a, a_addr);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = a.ike(&["stats", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ike_sas"]["2"]["ESTABLISHED"], 1, "{v}");
    assert_eq!(v["child_sas"], 1, "{v}");
    assert_eq!(v["half_open"], 0, "{v}");
    assert_eq!(v["cookies_active"], false, "{v}");
    assert_eq!(v["shards"], 2, "{v}");
    let (code, out, err) = b.ike(&["stats", "--json"]);
    assert_eq!(code, 0, "{err}");
    let vb: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(vb["cookies_active"], true, "{vb}");
    assert!(vb["cookies_sent"].as_u64().unwrap() >= 1, "{vb}");
    assert!(b.ike(&["stats"]).1.contains("cookies demanded now"));
    assert_eq!(v["max_control_clients"], 64, "{v}");
    let drops: u64 = v["drops"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(drops > 0, "the hostile datagrams were counted: {v}");
    let (code, text, _) = a.ike(&["stats"]);
    assert_eq!(code, 0);
    assert!(text.contains("IKEv2 SAs: 1 ESTABLISHED"), "{text}");
    assert!(text.contains("Child SAs: 1"), "{text}");
    // list-conns: the configuration as loaded, with the SA count.
    let (code, out, err) = a.ike(&["list-conns", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let c = &v["connections"][0];
    assert_eq!(c["name"], "site-b");
    assert_eq!(c["version"], 2);
    assert_eq!(c["remote_addrs"][0], b_addr);
    assert_eq!(
        (c["local_id"].as_str(), c["remote_id"].as_str()),
        (Some("a.example.org"), Some("b.example.org"))
    );
    assert_eq!(
        (c["local_auth"].as_str(), c["remote_auth"].as_str()),
        (Some("psk"), Some("psk"))
    );
    assert_eq!(c["proposals"][0], "aes128gcm16-prfsha256-x25519");
    assert_eq!(c["ike_sas"]["ESTABLISHED"], 1);
    assert_eq!(c["children"][0]["name"], "net");
    assert_eq!(c["children"][0]["local_ts"][0], "10.88.1.0/24");
    let (code, text, _) = a.ike(&["list-conns"]);
    assert_eq!(code, 0);
    assert!(text.starts_with("site-b: IKEv2, "), "{text}");
    assert!(text.contains("IKE SAs: 1 ESTABLISHED"), "{text}");
    let _ = b;
}

/// `GET PATH` (or another method) over plain TCP, by hand: (status line, headers, body).
fn http(addr: &str, method: &str, path: &str) -> (String, String, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let length = headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().unwrap())
        })
        .expect("a Content-Length");
    assert_eq!(length, body.len(), "{raw}");
    (status.to_owned(), headers.to_lowercase(), body.to_owned())
}

/// A strict reader of the OpenMetrics text format as the metrics page uses it: every family
/// has HELP and TYPE before its samples, every sample belongs to the family above it with a
/// suffix its type allows, labels are quoted and escaped, values are numbers, no series twice,
/// histogram buckets grow up to `+Inf` = `_count`, and `# EOF` ends the page. Returns every
/// series as `name{k="v",...}` (labels sorted) with its value, and each family's type.
fn parse_openmetrics(
    text: &str,
) -> (
    std::collections::BTreeMap<String, f64>,
    std::collections::BTreeMap<String, String>,
) {
    use std::collections::BTreeMap;
    let mut series = BTreeMap::new();
    let mut types = BTreeMap::new();
    let mut family: Option<(String, String)> = None;
    let mut help_seen = false;
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.last(), Some(&""), "the page ends with a newline");
    assert_eq!(lines[lines.len() - 2], "# EOF", "the page ends with # EOF");
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for line in &lines[..lines.len() - 2] {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP name text");
            assert!(!types.contains_key(name), "family {name} twice");
            family = None;
            help_seen = true;
            let _ = name;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').expect("TYPE name type");
            assert!(help_seen, "TYPE {name} without HELP");
            assert!(
                ["counter", "gauge", "histogram", "info", "unknown"].contains(&ty),
                "{line}"
            );
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{name}"
            );
            types.insert(name.to_owned(), ty.to_owned());
            family = Some((name.to_owned(), ty.to_owned()));
            help_seen = false;
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        assert!(!line.is_empty(), "empty line before # EOF");
        let (fam, ty) = family
            .as_ref()
            .unwrap_or_else(|| panic!("sample outside a family: {line}"));
        let (name_labels, value) = line.rsplit_once(' ').expect("sample value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, mut labels) = match name_labels.split_once('{') {
            None => (name_labels, Vec::new()),
            Some((n, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut labels = Vec::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(
                        !key.is_empty()
                            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut val = String::new();
                    loop {
                        match chars
                            .next()
                            .unwrap_or_else(|| panic!("unterminated: {line}"))
                        {
                            '\\' => match chars.next() {
                                Some('n') => val.push('\n'),
                                Some('"') => val.push('"'),
                                Some('\\') => val.push('\\'),
                                other => panic!("bad escape {other:?} in {line}"),
                            },
                            '"' => break,
                            c => val.push(c),
                        }
                    }
                    labels.push((key, val));
                    match chars.next() {
                        None => {}
                        Some(',') => {}
                        Some(c) => panic!("{c:?} after a label in {line}"),
                    }
                }
                (n, labels)
            }
        };
        let suffix = name
            .strip_prefix(fam.as_str())
            .unwrap_or_else(|| panic!("{name} outside family {fam}"));
        let allowed: &[&str] = match ty.as_str() {
            "counter" => &["_total", "_created"],
            "gauge" => &[""],
            "histogram" => &["_bucket", "_count", "_sum", "_created"],
            _ => &["", "_info"],
        };
        assert!(allowed.contains(&suffix), "{name} in a {ty} family {fam}");
        if ty == "counter" || suffix == "_count" {
            assert!(value >= 0.0 && value.fract() == 0.0, "{line}");
        }
        if suffix == "_bucket" {
            let le = labels
                .iter()
                .position(|(k, _)| k == "le")
                .unwrap_or_else(|| panic!("bucket without le: {line}"));
            let (_, bound) = labels.remove(le);
            let bound: f64 = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().unwrap()
            };
            labels.sort();
            buckets
                .entry(format!("{fam}{labels:?}"))
                .or_default()
                .push((bound, value));
            labels.push((
                "le".to_owned(),
                if bound.is_infinite() {
                    "+Inf".to_owned()
                } else {
                    bound.to_string()
                },
            ));
        }
        labels.sort();
        let key = format!(
            "{name}{{{}}}",
            labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(series.insert(key.clone(), value).is_none(), "{key} twice");
    }
    for (h, bs) in &buckets {
        assert!(
            bs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{h}: {bs:?}"
        );
        assert!(bs.last().unwrap().0.is_infinite(), "{h}: no +Inf bucket");
    }
    (series, types)
}

/// A series' value, 0 when the page does not have it (counters of events that never happened).
fn metric(series: &std::collections::BTreeMap<String, f64>, key: &str) -> f64 {
    series.get(key).copied().unwrap_or(0.0)
}

/// `[daemon] metrics`: the page answers GET /metrics in the OpenMetrics text format, before and
/// after `ike up` and a rekey, and its numbers are those of `ike stats --json` and
/// `ike status --json`; the status and list-conns gain packets, last use, timers and totals.
#[test]
fn metrics_page_agrees_with_stats_and_status() {
    let (a_addr, b_addr) = ("127.0.41.1", "127.0.41.2");
    if !can_bind_500(a_addr) {
        return;
    }
    let dir = Scratch::new("metrics");
    let (ca, cb) = configs(a_addr, b_addr, "none");
    let port = std::net::TcpListener::bind((a_addr, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let scrape_at = format!("{a_addr}:{port}");
    let ca2 = ca.replacen(
        "[daemon]\n",
        &format!("[daemon]\nmetrics = \"{scrape_at}\"\n"),
        1,
    );
    assert_ne!(ca2, ca);
    let b = Daemon::start(&dir.0, "b", &cb);
    let a = Daemon::start(&dir.0, "a", &ca2);
    let scrape = || {
        let (status, headers, body) = http(&scrape_at, "GET", "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        assert!(
            headers.contains("content-type: application/openmetrics-text; version=1.0.0"),
            "{headers}"
        );
        let promtool = have("promtool");
        assert!(
            promtool || std::env::var_os("IKE_REQUIRE_PROMTOOL").is_none(),
            "promtool (Debian's prometheus package) is required"
        );
        if promtool {
            use std::io::Write as _;
            let mut p = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // promtool lints the classic text format (0.0.4): the same page with the counter
            // families named by their samples (`X_total`), without UNIT lines and `# EOF`.
            let counters: Vec<String> = body
                .lines()
                .filter_map(|l| l.strip_prefix("# TYPE "))
                .filter_map(|l| l.strip_suffix(" counter"))
                .map(str::to_owned)
                .collect();
            let classic: String = body
                .lines()
                .filter(|l| !l.starts_with("# UNIT ") && *l != "# EOF")
                .map(|l| {
                    for c in &counters {
                        for kind in ["# HELP ", "# TYPE "] {
                            if let Some(rest) = l.strip_prefix(&format!("{kind}{c} ")) {
                                return format!("{kind}{c}_total {rest}\n");
                            }
                        }
                    }
                    format!("{l}\n")
                })
                .collect();
            p.stdin
                .take()
                .unwrap()
                .write_all(classic.as_bytes())
                .unwrap();
            let out = p.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        parse_openmetrics(&body)
    };
    let stats = |d: &Daemon| -> Value {
        let (code, out, err) = d.ike(&["stats", "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };

    // Before anything: zeros, and every family typed.
    let (m, types) = scrape();
    assert_eq!(types.get("ike_ike_sas").map(String::as_str), Some("gauge"));
    assert_eq!(types.get("ike_drops").map(String::as_str), Some("counter"));
    assert_eq!(
        types
            .get("ike_handshake_duration_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    assert_eq!(
        metric(&m, "ike_ike_sas{state=\"ESTABLISHED\",version=\"2\"}"),
        0.0
    );
    assert_eq!(
        metric(&m, "ike_handshakes_total{role=\"initiator\",version=\"2\"}"),
        0.0
    );
    assert!(
        m.contains_key("ike_drops_total{reason=\"undecodable\"}"),
        "{m:?}"
    );

    // Elsewhere: 404; another method: 405.
    let (status, _, _) = http(&scrape_at, "GET", "/");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, headers, _) = http(&scrape_at, "POST", "/metrics");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains("allow: get, head"), "{headers}");

    hostile_input(&a, a_addr);
    let (code, out, err) = a.ike(&["up", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    let (m, _) = scrape();
    let st = stats(&a);
    let status = a.status();

    // SA counts as `ike stats` and `ike status` count them.
    for v in ["1", "2"] {
        for state in ["CONNECTING", "ESTABLISHED", "REKEYING", "DELETING"] {
            let want = st["ike_sas"][v][state].as_u64().unwrap_or(0) as f64;
            let key = format!("ike_ike_sas{{state=\"{state}\",version=\"{v}\"}}");
            assert_eq!(m.get(&key), Some(&want), "{key}: {st}");
        }
    }
    assert_eq!(
        metric(&m, "ike_ike_sas{state=\"ESTABLISHED\",version=\"2\"}"),
        1.0
    );
    let children: usize = sas(&status)
        .iter()
        .map(|s| s["child_sas"].as_array().unwrap().len())
        .sum();
    assert_eq!(children, 1);
    assert_eq!(
        metric(&m, "ike_child_sas{}"),
        st["child_sas"].as_u64().unwrap() as f64
    );
    assert_eq!(metric(&m, "ike_child_sas{}"), children as f64);
    assert_eq!(
        metric(&m, "ike_half_open{}"),
        st["half_open"].as_u64().unwrap() as f64
    );
    assert_eq!(
        metric(&m, "ike_cookies_sent_total{}"),
        st["cookies_sent"].as_u64().unwrap() as f64
    );
    assert_eq!(
        metric(&m, "ike_retransmissions_total{}"),
        st["retransmissions"].as_u64().unwrap() as f64
    );
    // Drops by reason: the hostile datagrams, the same on both.
    let drops = st["drops"].as_object().unwrap();
    assert!(!drops.is_empty(), "{st}");
    for (reason, n) in drops {
        let key = format!("ike_drops_total{{reason=\"{reason}\"}}");
        assert_eq!(m.get(&key), Some(&(n.as_u64().unwrap() as f64)), "{key}");
    }
    let page_drops: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("ike_drops_total{"))
        .map(|(_, v)| v)
        .sum();
    let stat_drops: u64 = drops.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(page_drops, stat_drops as f64);
    // One handshake, as initiator, with its latency.
    assert_eq!(st["handshakes"], 1, "{st}");
    assert_eq!(
        metric(&m, "ike_handshakes_total{role=\"initiator\",version=\"2\"}"),
        1.0
    );
    let hist = "ike_handshake_duration_seconds";
    assert_eq!(
        metric(
            &m,
            &format!("{hist}_count{{role=\"initiator\",version=\"2\"}}")
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            &format!("{hist}_bucket{{le=\"+Inf\",role=\"initiator\",version=\"2\"}}")
        ),
        1.0
    );
    let sum = metric(
        &m,
        &format!("{hist}_sum{{role=\"initiator\",version=\"2\"}}"),
    );
    assert!(sum > 0.0 && sum < 15.0, "{sum}");
    // Traffic: kernel = "none" counts nothing, and says 0.
    for dir_ in ["in", "out"] {
        for what in ["bytes", "packets"] {
            let key = format!(
                "ike_connection_{what}_total{{connection=\"site-b\",direction=\"{dir_}\"}}"
            );
            assert_eq!(m.get(&key), Some(&0.0), "{key}");
        }
    }

    // Status: the new fields of each Child SA.
    let c = &status["ike_sas"][0]["child_sas"][0];
    for k in [
        "packets_in",
        "packets_out",
        "total_bytes_in",
        "total_bytes_out",
        "total_packets_in",
        "total_packets_out",
    ] {
        assert_eq!(c[k], 0, "{k}: {c}");
    }
    assert!(c["last_use_seconds"].is_null(), "{c}");
    let rekey = c["rekey_seconds"].as_u64().unwrap();
    let expire = c["expire_seconds"].as_u64().unwrap();
    assert!(rekey > 3000 && rekey <= 3600, "child rekey_time is 1h: {c}");
    assert!(expire >= rekey, "{c}");
    let (code, text, _) = a.ike(&["status"]);
    assert_eq!(code, 0);
    assert!(text.contains("0/0 packets, not used, rekey in"), "{text}");
    let (code, out, _) = a.ike(&["list-conns", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["connections"][0]["total_bytes_in"], 0, "{v}");
    assert_eq!(v["connections"][0]["total_packets_out"], 0, "{v}");

    // A Child SA rekey: counted on both, the totals carry on.
    let (code, out, err) = a.ike(&["rekey", "site-b"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_for("the Child SA rekey", || stats(&a)["child_rekeys"] == 1);
    let (m, _) = scrape();
    assert_eq!(
        metric(&m, "ike_rekeys_total{sa=\"child\",version=\"any\"}"),
        1.0
    );
    assert_eq!(
        metric(&m, "ike_handshakes_total{role=\"initiator\",version=\"2\"}"),
        1.0
    );
    let _ = b;
}
