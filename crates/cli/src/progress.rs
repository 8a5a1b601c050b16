//! A one-line progress bar on stderr for long downloads (a CPU profile or
//! trace the server records for `seconds=N` before it answers).
//!
//! Drawn only when stderr is a terminal, so nothing reaches logs or pipes,
//! and never on stdout, where the data goes. The line is erased when the
//! download ends.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use gosleuth_fetch::Progress;

const WIDTH: usize = 24;

/// Draws [`Progress`] reports.
pub struct Bar {
    label: String,
    enabled: bool,
    drawn: bool,
}

impl Bar {
    /// A bar labelled `label`, shown only when stderr is a terminal.
    pub fn new(label: &str) -> Self {
        Bar {
            label: label.to_string(),
            enabled: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Redraws the bar (or erases it when the download is done).
    pub fn update(&mut self, p: &Progress) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        if p.done {
            if self.drawn {
                let _ = write!(err, "\r\x1b[K");
                let _ = err.flush();
                self.drawn = false;
            }
            return;
        }
        // Quick answers get no bar; long captures (seconds=N) and slow
        // downloads do.
        if p.expected.is_none() && p.elapsed < Duration::from_secs(1) {
            return;
        }
        let _ = write!(err, "\r\x1b[K{}", line(&self.label, p));
        let _ = err.flush();
        self.drawn = true;
    }
}

/// The bar's text: `label [#####.....] 1.2s/2s 14.2kB`.
pub fn line(label: &str, p: &Progress) -> String {
    let elapsed = p.elapsed.as_secs_f64();
    let bytes = match p.bytes {
        0 => "0B".to_string(),
        n => gosleuth_pprof::measurement::label(i64::try_from(n).unwrap_or(i64::MAX), "bytes"),
    };
    match p.expected {
        Some(exp) => {
            let exp = exp.as_secs_f64().max(0.001);
            let filled = ((elapsed / exp).min(1.0) * WIDTH as f64) as usize;
            format!(
                "{label} [{}{}] {elapsed:.1}s/{}s {bytes} received",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled),
                exp.round()
            )
        }
        None => format!("{label} {elapsed:.1}s {bytes} received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_text() {
        let p = Progress {
            elapsed: Duration::from_millis(1000),
            expected: Some(Duration::from_secs(2)),
            bytes: 2048,
            done: false,
        };
        assert_eq!(
            line("fetching", &p),
            "fetching [############............] 1.0s/2s 2kB received"
        );
        let late = Progress {
            elapsed: Duration::from_secs(3),
            ..p
        };
        assert!(line("x", &late).contains(&"#".repeat(WIDTH)));
        let open = Progress {
            expected: None,
            ..p
        };
        assert_eq!(line("x", &open), "x 1.0s 2kB received");
        let nothing_yet = Progress { bytes: 0, ..open };
        assert_eq!(line("x", &nothing_yet), "x 1.0s 0B received");
    }
}
