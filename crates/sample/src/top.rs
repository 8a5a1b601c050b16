//! What `gosleuth top` shows for one refresh: the functions taking the most
//! CPU over the last window, the goroutines by state and by where they are,
//! and the GC's counters.

use std::time::Duration;

use rustc_hash::FxHashMap;

use gosleuth_memory::Memory;
use gosleuth_runtime::gcstats::{self, GcCounterAddrs, GcCounters};
use gosleuth_runtime::goroutines;

use crate::recording::{FunctionShare, Recording};
use crate::sampler::Sampler;
use crate::symbols::Symbolizer;

/// One refresh of the view.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Functions over the window, by self time.
    pub functions: Vec<FunctionShare>,
    /// Nanoseconds of the window (CPU of all threads for an on-CPU
    /// recording).
    pub total_ns: i64,
    /// The window's length.
    pub window: Duration,
    /// Samples in the window.
    pub samples: u64,
    /// Goroutines (user ones) now.
    pub goroutines: usize,
    /// Goroutines by state, most first.
    pub states: Vec<(String, usize)>,
    /// Goroutines by the first frame of user code, most first.
    pub groups: Vec<(String, usize)>,
    /// The GC's counters now, and how much they moved in the window.
    pub gc: Option<GcView>,
    /// Why the GC's counters are missing.
    pub gc_missing: Option<String>,
}

/// The GC over the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcView {
    pub now: GcCounters,
    /// Cycles completed during the window.
    pub cycles: u32,
    /// Stop-the-world time during the window.
    pub pause_ns: u64,
}

/// Builds views of one sampler's process.
#[derive(Debug)]
pub struct Viewer {
    gc_at: Result<GcCounterAddrs, String>,
    last_gc: Option<GcCounters>,
}

impl Viewer {
    /// A viewer of `s`'s process.
    pub fn new(s: &Sampler) -> Viewer {
        Viewer {
            gc_at: gcstats::locate(s.target()).map_err(|e| e.to_string()),
            last_gc: None,
        }
    }

    /// The view of the window `rec` holds, with the goroutines as they are
    /// now.
    pub fn view(&mut self, s: &Sampler, rec: &Recording) -> View {
        let t = s.target();
        let mut sym = Symbolizer::new(t, s.pid());
        let mut v = View {
            functions: rec.functions(&mut sym),
            total_ns: rec.total_ns(),
            window: rec.elapsed,
            samples: rec.samples,
            ..View::default()
        };
        match &self.gc_at {
            Ok(at) => match gcstats::read(t, at) {
                Ok(now) => {
                    let before = self.last_gc.unwrap_or(now);
                    v.gc = Some(GcView {
                        now,
                        cycles: now.cycles.wrapping_sub(before.cycles),
                        pause_ns: now.pause_total_ns.saturating_sub(before.pause_total_ns),
                    });
                    self.last_gc = Some(now);
                }
                Err(e) => v.gc_missing = Some(e.to_string()),
            },
            Err(e) => v.gc_missing = Some(e.clone()),
        }
        if let Ok(mut gs) = goroutines::read_headers(t) {
            gs.retain(|g| !g.is_dead() && !s.is_system(g));
            goroutines::unwind_all(t, &mut gs);
            let mut states: FxHashMap<String, usize> = FxHashMap::default();
            let mut groups: FxHashMap<String, usize> = FxHashMap::default();
            for g in &gs {
                *states.entry(t.state_of(g).to_string()).or_default() += 1;
                *groups.entry(user_frame(&mut sym, g)).or_default() += 1;
            }
            v.goroutines = gs.len();
            v.states = sorted(states);
            v.groups = sorted(groups);
        }
        v
    }
}

fn sorted(m: FxHashMap<String, usize>) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The first frame outside the runtime and the standard library's
/// internals, as `function file:line` (the goroutine's innermost frame
/// when all of them are).
fn user_frame<M: Memory>(sym: &mut Symbolizer<'_, M>, g: &goroutines::RawGoroutine) -> String {
    let mut first = None;
    for f in &g.frames {
        let pc = f.pc | if f.trap() { crate::recording::EXACT } else { 0 };
        for fr in sym.frames(pc) {
            let loc = format!("{} {}:{}", fr.function, short_file(&fr.file), fr.line);
            if first.is_none() {
                first = Some(loc.clone());
            }
            if !is_runtime(&fr.function) {
                return loc;
            }
        }
    }
    first.unwrap_or_else(|| "?".into())
}

fn is_runtime(function: &str) -> bool {
    function.starts_with("runtime.")
        || function.starts_with("internal/")
        || function.starts_with("sync.")
        || function.starts_with("time.")
        || function.starts_with("runtime/")
}

fn short_file(f: &str) -> &str {
    f.rsplit('/').next().unwrap_or(f)
}
