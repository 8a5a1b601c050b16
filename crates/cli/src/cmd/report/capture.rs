//! The SOP in one command: evidence captured from a service with
//! net/http/pprof, in the order seed 000's checklist looks at things: is
//! it alive and how many goroutines (goroutine?debug=1), what they do
//! (debug=2), where the CPU goes (a CPU profile over about a third of the
//! budget), memory (heap), contention (mutex, block), a short execution
//! trace, and the goroutines again (did they grow?). Each file is kept.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// `30s`, `2m`, `1m30s`, `500ms`, `1h` (the logs reader's durations).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let ms = gosleuth_logs::time::parse_duration(s)?;
    Some(Duration::from_millis(u64::try_from(ms).ok()?))
}

/// One step of the capture: the endpoint (under /debug/pprof/) and the
/// file it is kept in.
struct Step {
    path: String,
    file: &'static str,
    what: &'static str,
    /// Seconds the endpoint samples for (0: answers at once).
    seconds: u64,
}

/// Captures into `dir`; returns the files written. A step the budget has
/// no room left for is skipped (said on stderr); a step that fails is said
/// and the capture goes on, unless the service does not answer at all.
pub fn capture(url: &str, dir: &Path, budget: Duration) -> Result<Vec<PathBuf>> {
    let base = base_url(url);
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the evidence directory {}", dir.display()))?;
    let cpu = (budget.as_secs() / 3).clamp(1, 30);
    let steps = [
        Step {
            path: "goroutine?debug=1".into(),
            file: "1-goroutines.debug1.txt",
            what: "goroutine count and groups",
            seconds: 0,
        },
        Step {
            path: "goroutine?debug=2".into(),
            file: "2-goroutines.txt",
            what: "every goroutine's stack",
            seconds: 0,
        },
        Step {
            path: format!("profile?seconds={cpu}"),
            file: "3-cpu.pb.gz",
            what: "CPU profile",
            seconds: cpu,
        },
        Step {
            path: "heap".into(),
            file: "4-heap.pb.gz",
            what: "heap profile",
            seconds: 0,
        },
        Step {
            path: "mutex".into(),
            file: "5-mutex.pb.gz",
            what: "mutex profile",
            seconds: 0,
        },
        Step {
            path: "block".into(),
            file: "6-block.pb.gz",
            what: "block profile",
            seconds: 0,
        },
        Step {
            path: "trace?seconds=1".into(),
            file: "7-trace.out",
            what: "execution trace",
            seconds: 1,
        },
        Step {
            path: "goroutine?debug=2".into(),
            file: "8-goroutines.later.txt",
            what: "every goroutine's stack, again",
            seconds: 0,
        },
    ];
    let start = Instant::now();
    let mut written = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let left = budget.saturating_sub(start.elapsed());
        let need = Duration::from_secs(step.seconds + 2);
        if left < need && i > 0 {
            eprintln!(
                "gosleuth: skipped the {} ({}): {}s of the budget left",
                step.what,
                step.path,
                left.as_secs()
            );
            continue;
        }
        let full = format!("{base}{}", step.path);
        let timeout = Duration::from_secs(step.seconds + 10).min(left.max(Duration::from_secs(2)));
        let mut bar = crate::progress::Bar::new(step.what);
        match gosleuth_fetch::get_with_progress(&full, timeout, &mut |p| bar.update(p)) {
            Ok(body) => {
                let path = dir.join(step.file);
                std::fs::write(&path, &body)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written.push(path);
            }
            Err(e) if i == 0 => bail!(
                "{e}; is the service up, and does it serve net/http/pprof at {base}? \
                 (gosleuth diagnose --pid PID reads a process without it)"
            ),
            Err(e) => eprintln!("gosleuth: {e}; going on without the {}", step.what),
        }
    }
    Ok(written)
}

/// `http://host:port` -> `http://host:port/debug/pprof/`; a URL that
/// already names the pprof prefix keeps it.
fn base_url(url: &str) -> String {
    let u = url.trim_end_matches('/');
    if u.ends_with("/debug/pprof") {
        format!("{u}/")
    } else {
        format!("{u}/debug/pprof/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999h"), None);
    }

    #[test]
    fn base_urls() {
        assert_eq!(base_url("http://h:1"), "http://h:1/debug/pprof/");
        assert_eq!(
            base_url("http://h:1/debug/pprof/"),
            "http://h:1/debug/pprof/"
        );
    }
}
