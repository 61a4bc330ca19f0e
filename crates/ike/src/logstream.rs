//! `ike log`: the daemon's log lines streamed to control clients, each at the level it asked for
//! (like `swanctl --log`), whatever the level of the daemon's own log.
//!
//! [`LogHub`] is a second `tracing` output beside standard error: a formatting layer whose
//! writer sends each finished line to a broadcast channel, behind a per-layer filter that
//! enables an event only when a client listens at its level or a more verbose one. With no
//! client it costs one atomic load per event the other layer does not already enable. A client
//! too slow for the lines loses some and is told how many.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;
use tracing::Level;

/// Lines buffered for each client before a slow one loses some.
const BACKLOG: usize = 4096;

/// The levels, least verbose first.
const LEVELS: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

fn index(level: Level) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

/// A level from its name (error, warn, info, debug, trace; any case).
pub fn parse_level(name: &str) -> Option<Level> {
    LEVELS
        .iter()
        .copied()
        .find(|l| l.as_str().eq_ignore_ascii_case(name.trim()))
}

/// One log line and its level.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Its level.
    pub level: Level,
    /// The formatted line, without the newline.
    pub text: Arc<str>,
}

/// The fan-out of log lines to `ike log` clients.
#[derive(Clone)]
pub struct LogHub {
    tx: broadcast::Sender<LogLine>,
    /// How many clients listen at each level (indexed as [`LEVELS`]).
    listening: Arc<[AtomicUsize; 5]>,
}

impl std::fmt::Debug for LogHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHub")
            .field("max_level", &self.max_level())
            .finish_non_exhaustive()
    }
}

impl Default for LogHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
            listening: Arc::new(Default::default()),
        }
    }
}

/// A client's subscription; dropping it stops the lines at its level.
pub struct Subscription {
    hub: LogHub,
    level: Level,
    /// The lines.
    pub rx: broadcast::Receiver<LogLine>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(n) = self.hub.listening.get(index(self.level)) {
            n.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Subscription {
    /// Whether a line is for this client.
    pub fn wants(&self, line: &LogLine) -> bool {
        line.level <= self.level
    }
}

impl LogHub {
    /// The most verbose level a client listens at, if any.
    pub fn max_level(&self) -> Option<Level> {
        LEVELS
            .iter()
            .enumerate()
            .rev()
            .find(|(i, _)| {
                self.listening
                    .get(*i)
                    .is_some_and(|n| n.load(Ordering::Relaxed) > 0)
            })
            .map(|(_, l)| *l)
    }

    /// A new client at `level`.
    pub fn subscribe(&self, level: Level) -> Subscription {
        let rx = self.tx.subscribe();
        if let Some(n) = self.listening.get(index(level)) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        Subscription {
            hub: self.clone(),
            level,
            rx,
        }
    }

    /// The `tracing` layer that feeds the hub: lines formatted as on standard error.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        let hub = self.clone();
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(self.clone())
            .with_filter(tracing_subscriber::filter::dynamic_filter_fn(
                move |meta, _| hub.max_level().is_some_and(|m| *meta.level() <= m),
            ))
    }
}

/// The writer of one event: the line goes to the hub when the formatter drops it.
pub struct HubWriter {
    tx: broadcast::Sender<LogLine>,
    level: Level,
    buf: Vec<u8>,
}

impl Write for HubWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        // A line is short; a runaway one is cut, never grown without bound.
        let room = (64 * 1024usize).saturating_sub(self.buf.len());
        self.buf
            .extend_from_slice(b.get(..b.len().min(room)).unwrap_or_default());
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for HubWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end_matches('\n');
        // No receiver: nobody listens (any more); nothing to do.
        let _ = self.tx.send(LogLine {
            level: self.level,
            text: Arc::from(text),
        });
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogHub {
    type Writer = HubWriter;

    fn make_writer(&'a self) -> HubWriter {
        HubWriter {
            tx: self.tx.clone(),
            level: Level::INFO,
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> HubWriter {
        HubWriter {
            tx: self.tx.clone(),
            level: *meta.level(),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn clients_get_their_level_and_nothing_is_formatted_without_them() {
        use tracing_subscriber::Layer as _;
        let hub = LogHub::default();
        // The daemon's own log at warn: a debug client still gets debug lines.
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::sink)
                    .with_filter(tracing_subscriber::EnvFilter::new("warn")),
            )
            .with(hub.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "ike", "before any client");
            let mut info = hub.subscribe(Level::INFO);
            let mut debug = hub.subscribe(Level::DEBUG);
            assert_eq!(hub.max_level(), Some(Level::DEBUG));
            tracing::debug!(target: "ike", "a debug line");
            tracing::warn!(target: "kernel", "a warning");
            let got = |s: &mut Subscription| {
                let mut v = Vec::new();
                while let Ok(l) = s.rx.try_recv() {
                    if s.wants(&l) {
                        v.push(l.text.to_string());
                    }
                }
                v
            };
            let d = got(&mut debug);
            assert_eq!(d.len(), 2, "{d:?}");
            assert!(d[0].contains("DEBUG ike: a debug line"), "{d:?}");
            assert!(d[1].contains("WARN kernel: a warning"), "{d:?}");
            let i = got(&mut info);
            assert_eq!(i.len(), 1, "{i:?}");
            drop(debug);
            assert_eq!(hub.max_level(), Some(Level::INFO));
            drop(info);
            assert_eq!(hub.max_level(), None);
        });
        assert_eq!(parse_level("Debug"), Some(Level::DEBUG));
        assert_eq!(parse_level("loud"), None);
    }
}
