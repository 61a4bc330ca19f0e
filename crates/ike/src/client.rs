//! The control socket's client side: `ike up`, `ike down`, `ike status`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::control::{Request, Response, MAX_RESPONSE};

/// Connects to the daemon at `socket` and writes `request`; reads will wait at most `wait`
/// (the caller may change that on the stream it gets).
pub fn send(socket: &Path, request: &Request, wait: Duration) -> anyhow::Result<UnixStream> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot reach the daemon on {} (is `ike daemon` running? -s sets the socket)",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(wait))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    if let Err(e) = stream.write_all(line.as_bytes()) {
        // A daemon that refuses us (too many clients) answers and closes before reading our
        // request: its answer is still there to read.
        if !matches!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ) {
            return Err(e.into());
        }
    }
    Ok(stream)
}

/// Sends `request` to the daemon at `socket` and waits at most `wait` for its answer; a wait
/// that runs out is a failed [`Response`], a daemon that cannot be reached an error.
pub fn request(socket: &Path, request: &Request, wait: Duration) -> anyhow::Result<Response> {
    // A daemon whose control slots are all taken refuses at once; idle clients become
    // evictable within a moment, so try again for a little while before giving up.
    let give_up = std::time::Instant::now() + RETRY_FULL;
    loop {
        let resp = request_once(socket, request, wait)?;
        let full = !resp.ok
            && resp
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("too many control clients"));
        if !full || std::time::Instant::now() >= give_up {
            return Ok(resp);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How long a client retries a daemon whose control slots are all taken.
const RETRY_FULL: Duration = Duration::from_secs(2);

fn request_once(socket: &Path, request: &Request, wait: Duration) -> anyhow::Result<Response> {
    let stream = send(socket, request, wait)?;
    let mut reader = BufReader::new(stream.take(MAX_RESPONSE as u64));
    let mut answer = String::new();
    match reader.read_line(&mut answer) {
        Ok(0) => bail!("the daemon closed the connection without an answer"),
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            // The daemon is there but the outcome is not known yet: a failure (exit 1), not an
            // unreachable daemon (exit 2).
            return Ok(Response::err(match request {
                Request::Up { name } => format!(
                    "{name}: not established within {}s: the peer has not answered yet (the daemon keeps trying; `ike status` shows where it stands)",
                    wait.as_secs()
                ),
                Request::Down { name } => format!(
                    "{name}: the peer has not confirmed the delete within {}s (the daemon keeps waiting for it)",
                    wait.as_secs()
                ),
                _ => format!("no answer from the daemon within {}s", wait.as_secs()),
            }));
        }
        Err(e) => return Err(e).context("reading the daemon's answer"),
    }
    serde_json::from_str(answer.trim()).context("the daemon's answer is not valid JSON")
}

/// Sends a streaming request (`status_stream`) and hands each line of the answer to `on_line`
/// until the final [`Response`] line, which it returns. Each line may be as long as
/// [`MAX_RESPONSE`]; their number is not limited.
pub fn stream(
    socket: &Path,
    request: &Request,
    wait: Duration,
    mut on_line: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<Response> {
    let mut reader = BufReader::new(send(socket, request, wait)?);
    loop {
        let mut answer = String::new();
        let n = (&mut reader)
            .take(MAX_RESPONSE as u64)
            .read_line(&mut answer)
            .context("reading the daemon's answer")?;
        if n == 0 {
            bail!("the daemon closed the connection before the end of its answer");
        }
        let value: serde_json::Value =
            serde_json::from_str(answer.trim()).context("the daemon's answer is not valid JSON")?;
        if value.get("ok").is_some() {
            return serde_json::from_value(value).context("the daemon's last line");
        }
        on_line(answer.trim_end())?;
    }
}
