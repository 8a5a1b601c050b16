//! Progress bars on stderr (indicatif): long downloads (a CPU profile or
//! trace the server records for `seconds=N` before it answers) and cores
//! being written (`gosleuth dump`).
//!
//! Drawn only when stderr is a terminal, so nothing reaches logs or pipes,
//! and never on stdout, where the data goes. A bar is erased when its
//! work ends.

use std::io::IsTerminal;
use std::time::Duration;

use gosleuth_fetch::Progress;
use std::fmt;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// A download whose duration is known: `label [#####.....] 1.2s/2s 2kB
/// received`. The position is the time elapsed in milliseconds, the
/// length the time expected; `{secs}` writes them as seconds.
const TIMED: &str = "{prefix} [{bar:24}] {secs} {msg}";

/// A download of unknown duration: `label 1.2s 2kB received`.
const OPEN: &str = "{prefix} {secs} {msg}";

/// A core being written: `  [#####.....] 12.0 MiB of 80.5 MiB read`; the
/// position and length are bytes.
const BYTES: &str = "  [{bar:24}] {read}";

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#.")
        .with_key("secs", |s: &ProgressState, w: &mut dyn fmt::Write| {
            let elapsed = s.pos() as f64 / 1000.0;
            let _ = match s.len() {
                Some(len) => write!(w, "{elapsed:.1}s/{}s", (len as f64 / 1000.0).round()),
                None => write!(w, "{elapsed:.1}s"),
            };
        })
        .with_key("read", |s: &ProgressState, w: &mut dyn fmt::Write| {
            let _ = write!(w, "{} of {} read", mib(s.pos()), mib(s.len().unwrap_or(0)));
        })
}

fn on_stderr(len: Option<u64>, template: &str) -> ProgressBar {
    ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr()).with_style(style(template))
}

/// Draws the [`Progress`] reports of one or more downloads.
pub struct Bar {
    label: String,
    enabled: bool,
    bar: Option<ProgressBar>,
    bytes: u64,
}

impl Bar {
    /// A bar labelled `label`, shown only when stderr is a terminal.
    pub fn new(label: &str) -> Self {
        Bar {
            label: label.to_string(),
            enabled: std::io::stderr().is_terminal(),
            bar: None,
            bytes: 0,
        }
    }

    /// Redraws the bar (or erases it when the download is done).
    pub fn update(&mut self, p: &Progress) {
        if !self.enabled {
            return;
        }
        if p.done {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
            return;
        }
        // Quick answers get no bar; long captures (seconds=N) and slow
        // downloads do.
        if self.bar.is_none() && p.expected.is_none() && p.elapsed < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = match p.expected {
                Some(exp) => on_stderr(Some(millis(exp).max(1)), TIMED),
                None => on_stderr(None, OPEN),
            };
            self.bytes = p.bytes;
            bar.with_prefix(self.label.clone())
                .with_message(received(p.bytes))
        });
        // One redraw a report: the text after the bar changes only when
        // bytes arrive.
        if p.bytes != self.bytes {
            self.bytes = p.bytes;
            bar.set_message(received(p.bytes));
        }
        bar.set_position(millis(p.elapsed));
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `2kB received`.
fn received(bytes: u64) -> String {
    let n = match bytes {
        0 => "0B".to_string(),
        n => gosleuth_pprof::measurement::label(i64::try_from(n).unwrap_or(i64::MAX), "bytes"),
    };
    format!("{n} received")
}

/// The bar of `gosleuth dump` while it copies memory into the core,
/// after the first 200ms (quick dumps draw nothing) and only on a
/// terminal.
pub struct BytesBar {
    enabled: bool,
    start: std::time::Instant,
    bar: Option<ProgressBar>,
}

impl BytesBar {
    /// A bar, or nothing when `quiet` or stderr is not a terminal.
    pub fn new(quiet: bool) -> Self {
        BytesBar {
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: std::time::Instant::now(),
            bar: None,
        }
    }

    /// `done` of `total` bytes are read.
    pub fn update(&mut self, done: u64, total: u64) {
        if !self.enabled || self.start.elapsed() < Duration::from_millis(200) {
            return;
        }
        let bar = self
            .bar
            .get_or_insert_with(|| on_stderr(Some(total), BYTES));
        if bar.length() != Some(total) {
            bar.set_length(total);
        }
        bar.set_position(done);
    }

    /// Erases the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Bytes in MiB with one decimal, as `gosleuth dump` reports them.
pub fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is drawn is checked on a pseudo-terminal
    /// (tests/it/pprof.rs: progress_bar_only_on_a_terminal).
    #[test]
    fn texts() {
        assert_eq!(received(2048), "2kB received");
        assert_eq!(received(0), "0B received");
        assert_eq!(mib(3 << 19), "1.5 MiB");
        for t in [TIMED, OPEN, BYTES] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
