//! `gosleuth top`: a live view of a running Go process, sampled from
//! outside: the functions taking the most CPU, the goroutines by state and
//! by where they are, and the GC's counters, refreshed every second, like
//! py-spy's `top`. Not on a terminal: one snapshot, then exit.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use gosleuth_render::top::{Screen, SortBy, render};
use gosleuth_sample::Sampler;
use gosleuth_sample::terminal::RawTerminal;
use gosleuth_sample::top::{View, Viewer};

use crate::cmd::record::MethodArg;

#[derive(Debug, Args)]
pub struct TopArgs {
    /// The process to watch.
    pub pid: i32,

    /// Time between refreshes (`1s`, `500ms`); also the length of the one
    /// snapshot printed when standard output is not a terminal.
    #[arg(short, long, value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,

    /// Samples per second of each thread's running time.
    #[arg(short, long, default_value_t = 100)]
    pub rate: u32,

    /// How running threads are caught (as for gosleuth record).
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,

    /// The process's executable, when /proc/PID/exe is not it.
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::cmd::report::capture::parse_duration(s)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a duration (1s, 500ms)"))
}

const KEYS: &str =
    "keys: q quit | p pause | s sort by self/total | / filter (Enter ends) | c clear the filter";

/// What the keys changed.
#[derive(Default)]
struct Ui {
    sort: SortBy,
    filter: String,
    editing: bool,
    paused: bool,
    quit: bool,
}

impl Ui {
    fn key(&mut self, k: u8) {
        if self.editing {
            match k {
                b'\r' | b'\n' | 0x1b => self.editing = false,
                0x7f | 0x08 => {
                    self.filter.pop();
                }
                c if c.is_ascii_graphic() || c == b' ' => self.filter.push(c as char),
                _ => {}
            }
            return;
        }
        match k {
            b'q' | b'Q' => self.quit = true,
            b'p' | b'P' | b' ' => self.paused = !self.paused,
            b's' | b'S' => {
                self.sort = match self.sort {
                    SortBy::SelfTime => SortBy::TotalTime,
                    SortBy::TotalTime => SortBy::SelfTime,
                }
            }
            b'/' => {
                self.editing = true;
                self.filter.clear();
            }
            b'c' | b'C' => self.filter.clear(),
            _ => {}
        }
    }
}

pub fn run(args: TopArgs) -> Result<ExitCode> {
    let opts = crate::cmd::record::options(args.rate, false, args.method);
    let mut s = Sampler::open(args.pid, args.binary.as_deref(), opts)
        .with_context(|| format!("cannot sample process {}", args.pid))?;
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", args.pid))
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let title = format!(
        "pid {} ({comm}), {} Hz, {}",
        args.pid,
        args.rate,
        match s.used() {
            gosleuth_sample::Used::Perf { .. } => "perf events",
            gosleuth_sample::Used::Ptrace => "ptrace",
        }
    );
    let mut viewer = Viewer::new(&s);
    let stop = gosleuth_sample::interrupt::stop_flag();
    let mut rec = s.recording();
    let interactive = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let term = if interactive {
        RawTerminal::enter()
    } else {
        None
    };
    let Some(term) = term else {
        // One snapshot.
        let until = Instant::now() + args.interval;
        s.run(&mut rec, |_, _| {
            Instant::now() < until && !stop.load(Ordering::Acquire)
        });
        let v = viewer.view(&s, &rec);
        let sc = Screen {
            title: &title,
            ..Screen::default()
        };
        let mut out = std::io::stdout().lock();
        out.write_all(render(&v, &sc).as_bytes())?;
        for w in &s.warnings {
            writeln!(std::io::stderr(), "gosleuth: note: {w}")?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let mut ui = Ui::default();
    let mut last = Instant::now();
    let mut shown: Option<View> = None;
    let draw = |v: &View, ui: &Ui, term: &RawTerminal| {
        let sc = Screen {
            title: &title,
            sort: ui.sort,
            filter: &ui.filter,
            paused: ui.paused,
            keys: if ui.editing {
                "filter: type, Enter to end"
            } else {
                KEYS
            },
            size: term.size(),
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[H\x1b[2J");
        let _ = out.write_all(render(v, &sc).as_bytes());
        let _ = out.flush();
    };
    s.run(&mut rec, |r, smp| {
        let mut changed = false;
        while let Some(k) = term.key() {
            ui.key(k);
            changed = true;
        }
        if ui.quit {
            return false;
        }
        if last.elapsed() >= args.interval {
            last = Instant::now();
            if !ui.paused {
                shown = Some(viewer.view(smp, r));
                changed = true;
            }
            *r = r.fresh();
        }
        if changed && let Some(v) = &shown {
            draw(v, &ui, &term);
        }
        !stop.load(Ordering::Acquire)
    });
    drop(term);
    Ok(ExitCode::SUCCESS)
}
