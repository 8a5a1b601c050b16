//! Minimum mutator utilisation (MMU): over every window of a given length,
//! the smallest share of the Ps left to the program (the mutator) while the
//! GC stopped the world, ran its background mark workers, made goroutines
//! assist, or swept.
//!
//! Utilisation is followed event by event as `go tool trace`'s MMU view
//! does (Go's `internal/trace.MutatorUtilizationV2`, the "system" view): a
//! P counts as taken while a GC range (sweep, mark assist) is open on it
//! or a GC worker runs on it, and every P while a GC stop of the world
//! lasts; utilisation is the share of Ps not taken, a step function of
//! time. One deliberate difference: a background mark worker is counted
//! from the `GC (dedicated)` or `GC (fractional)` label the runtime writes
//! each time the worker starts, once per stretch of running. Go's reader
//! counts it at the label and again at every later start, so after a
//! worker's second run its P stays taken for the rest of the trace and the
//! curve ends at zero (README, "MMU"); with background workers left out
//! the two curves are the same.
//!
//! The MMU of a window is exact: the windowed mean of a step function is
//! piecewise linear, so its minimum is at a window whose left or right
//! edge meets a step, and both kinds of edge are swept in one pass per
//! window length.

use gosleuth_pprof::fxhash::{FxHashMap, FxHashSet};

/// What takes a P away from the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Flags {
    /// Stops of the world for the GC (all Ps).
    pub stw: bool,
    /// Background mark workers (dedicated and fractional; idle ones run
    /// on Ps the program did not want).
    pub background: bool,
    /// Goroutines assisting the GC.
    pub assist: bool,
    /// Sweeping done in line.
    pub sweep: bool,
}

impl Flags {
    /// Everything that takes a P: `go tool trace`'s default.
    pub const ALL: Flags = Flags {
        stw: true,
        background: true,
        assist: true,
        sweep: true,
    };

    /// Parses `stw|background|assist|sweep` (any of them, `|` or `,`
    /// between; `all` for all).
    pub fn parse(s: &str) -> Option<Flags> {
        let mut f = Flags {
            stw: false,
            background: false,
            assist: false,
            sweep: false,
        };
        for part in s.split(['|', ',']).filter(|p| !p.is_empty()) {
            match part {
                "stw" => f.stw = true,
                "background" => f.background = true,
                "assist" => f.assist = true,
                "sweep" => f.sweep = true,
                "all" => f = Flags::ALL,
                _ => return None,
            }
        }
        Some(f)
    }
}

/// Most steps kept; a longer trace's curve stops there (and says so).
const MAX_POINTS: usize = 1 << 24;

/// Follows utilisation as the merged events go by.
pub(crate) struct Tracker {
    flags: Flags,
    /// Per P (by id): open GC ranges and running GC goroutines.
    gc: Vec<i32>,
    /// Ps with `gc > 0`.
    taken: usize,
    /// Open GC stops of the world.
    stw: i32,
    /// Goroutines inside a mark assist.
    in_assist: FxHashSet<u64>,
    /// Workers counted against a P now (since their label), and the P.
    counted: FxHashMap<u64, u64>,
    /// GOMAXPROCS changes: (time, count).
    procs: Vec<(i64, usize)>,
    generations: u32,
    points: Vec<(i64, f64)>,
    last_time: Option<i64>,
    capped: bool,
    /// (Ps taken, Ps) at the last point recorded: an event that changes
    /// neither changes nothing (most events).
    last_key: (usize, usize),
}

impl Tracker {
    pub(crate) fn new(flags: Flags) -> Tracker {
        Tracker {
            flags,
            gc: Vec::new(),
            taken: 0,
            stw: 0,
            in_assist: FxHashSet::default(),
            counted: FxHashMap::default(),
            procs: Vec::new(),
            generations: 0,
            points: Vec::new(),
            last_time: None,
            capped: false,
            last_key: (usize::MAX, 0),
        }
    }

    pub(crate) fn generation(&mut self) {
        self.generations += 1;
    }

    fn add(&mut self, p: Option<u64>, d: i32) {
        let Some(slot) = p.and_then(|p| self.gc.get_mut(usize::try_from(p).ok()?)) else {
            return;
        };
        let was = *slot > 0;
        *slot += d;
        match (was, *slot > 0) {
            (false, true) => self.taken += 1,
            (true, false) => self.taken -= 1,
            _ => {}
        }
    }

    /// GOMAXPROCS is `n` from `t`.
    pub(crate) fn procs(&mut self, n: u64, t: i64) {
        // A P count beyond any machine is a corrupt trace; bound it.
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(1 << 16);
        while self.gc.len() > n {
            if self.gc.pop().is_some_and(|g| g > 0) {
                self.taken -= 1;
            }
        }
        if self.gc.len() < n {
            if self.points.is_empty() {
                self.points.push((t, 1.0));
            }
            self.gc.resize(n, 0);
        }
        if self.procs.last().is_none_or(|&(_, m)| m != n) {
            self.procs.push((t, n));
        }
        self.last_key = (usize::MAX, 0);
    }

    /// A stop of the world with this reason begins or ends.
    pub(crate) fn stw(&mut self, reason: &str, begin: bool) {
        if self.flags.stw && reason.contains("GC") {
            self.stw += if begin { 1 } else { -1 };
        }
    }

    /// Sweeping begins or ends on P `p`.
    pub(crate) fn sweep(&mut self, p: Option<u64>, begin: bool) {
        if self.flags.sweep {
            self.add(p, if begin { 1 } else { -1 });
        }
    }

    /// Goroutine `g` begins or ends a mark assist on P `p`.
    pub(crate) fn assist(&mut self, g: Option<u64>, p: Option<u64>, begin: bool) {
        if !self.flags.assist {
            return;
        }
        self.add(p, if begin { 1 } else { -1 });
        if let Some(g) = g {
            if begin {
                self.in_assist.insert(g);
            } else {
                self.in_assist.remove(&g);
            }
        }
    }

    /// A sweep (`assist` false) or mark assist of `g` is under way when the
    /// first generation starts: it has been since the trace began, so the
    /// curve so far loses that P's share; then it is a range begun now.
    pub(crate) fn active(&mut self, g: Option<u64>, p: Option<u64>, assist: bool, running: bool) {
        if self.generations > 1 {
            // After a whole generation, nothing is learnt late.
            return;
        }
        let counts = if assist {
            self.flags.assist && running
        } else {
            self.flags.sweep
        };
        if counts {
            let mut pi = 0;
            for point in &mut self.points {
                while pi + 1 < self.procs.len() && self.procs[pi + 1].0 < point.0 {
                    pi += 1;
                }
                let n = self.procs.get(pi).map_or(1, |&(_, n)| n.max(1));
                point.1 = (point.1 - 1.0 / n as f64).max(0.0);
            }
            self.last_key = (usize::MAX, 0);
        }
        if assist {
            self.assist(g, p, true);
        } else {
            self.sweep(p, true);
        }
    }

    /// Goroutine `g` starts or stops executing (running or in a syscall)
    /// on P `p`.
    pub(crate) fn executing(&mut self, g: u64, p: Option<u64>, start: bool) {
        if self.in_assist.contains(&g) {
            self.add(p, if start { 1 } else { -1 });
        }
        if !start {
            if let Some(on) = self.counted.remove(&g) {
                self.add(Some(on), -1);
            }
        }
    }

    /// The runtime labels goroutine `g`, running on P `p`.
    pub(crate) fn label(&mut self, g: Option<u64>, p: Option<u64>, label: &str) {
        if !self.flags.background || !label.starts_with("GC ") || label == "GC (idle)" {
            return;
        }
        let (Some(g), Some(p)) = (g, p) else { return };
        if let std::collections::hash_map::Entry::Vacant(e) = self.counted.entry(g) {
            e.insert(p);
            self.add(Some(p), 1);
        }
    }

    /// Records utilisation after an event at `t`.
    pub(crate) fn tick(&mut self, t: i64) {
        self.last_time = Some(t);
        if self.gc.is_empty() || self.capped {
            return;
        }
        let taken = if self.stw > 0 {
            self.gc.len()
        } else {
            self.taken
        };
        let key = (taken, self.gc.len());
        if key == self.last_key {
            return;
        }
        self.last_key = key;
        let util = 1.0 - taken as f64 / self.gc.len() as f64;
        self.push(t, util);
    }

    fn push(&mut self, t: i64, util: f64) {
        if let Some(last) = self.points.last_mut() {
            if last.1 == util {
                return;
            }
            if last.0 == t {
                // The lowest utilisation at one instant.
                if util < last.1 {
                    last.1 = util;
                }
                return;
            }
        }
        if self.points.len() >= MAX_POINTS {
            self.capped = true;
            return;
        }
        self.points.push((t, util));
    }

    /// The curve, ending at the last event with utilisation 0 (as Go's
    /// does, so no window reaches past the end).
    pub(crate) fn finish(mut self, origin_ns: i64) -> Utilization {
        if let (Some(t), false) = (self.last_time, self.gc.is_empty()) {
            if !self.capped {
                self.push(t, 0.0);
            }
        }
        Utilization {
            flags: self.flags,
            origin_ns,
            points: self.points,
            capped: self.capped,
        }
    }
}

/// The program's share of the Ps over time: a step function, each point
/// the time (ns) from which the share holds.
#[derive(Debug, Clone)]
pub struct Utilization {
    pub flags: Flags,
    /// The time of the trace's first event (ns), which reports count
    /// from.
    pub origin_ns: i64,
    pub points: Vec<(i64, f64)>,
    /// The trace had more steps than are kept; the curve covers its start.
    pub capped: bool,
}

/// The lowest mean utilisation over windows of one length.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Window {
    pub window_ns: i64,
    /// In [0, 1].
    pub mmu: f64,
    /// Where the worst window starts, in ns from the trace's first event.
    pub start_ns: i64,
}

impl Utilization {
    /// From the first to the last point.
    pub fn duration_ns(&self) -> i64 {
        match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0,
        }
    }

    /// The area under the curve (utilisation times nanoseconds).
    pub fn integral(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| w[0].1 * (w[1].0 - w[0].0) as f64)
            .sum()
    }

    /// The mean utilisation over the whole curve; `None` without one.
    pub fn mean(&self) -> Option<f64> {
        let d = self.duration_ns();
        if d <= 0 {
            return None;
        }
        Some(self.integral() / d as f64)
    }

    /// The MMU for windows of `window_ns` (a window longer than the
    /// curve is the whole curve, as in Go); `None` without a curve.
    pub fn mmu(&self, window_ns: i64) -> Option<Window> {
        let pts = &self.points;
        if pts.len() < 2 || window_ns <= 0 {
            return if pts.is_empty() {
                None
            } else {
                Some(Window {
                    window_ns,
                    mmu: 0.0,
                    start_ns: pts[0].0 - self.origin_ns,
                })
            };
        }
        let w = window_ns.min(self.duration_ns());
        if w <= 0 {
            return Some(Window {
                window_ns,
                mmu: 0.0,
                start_ns: pts[0].0 - self.origin_ns,
            });
        }
        // Integral from the first point to each point.
        let mut sums = Vec::with_capacity(pts.len());
        let mut acc = 0.0f64;
        sums.push(0.0);
        for pair in pts.windows(2) {
            acc += pair[0].1 * (pair[1].0 - pair[0].0) as f64;
            sums.push(acc);
        }
        // The integral up to `t`, with `i` the index of t's non-strict
        // predecessor (advanced monotonically by the caller).
        let integral = |i: &mut usize, t: i64| -> f64 {
            while *i + 1 < pts.len() && pts[*i + 1].0 <= t {
                *i += 1;
            }
            sums[*i] + pts[*i].1 * (t - pts[*i].0) as f64
        };
        let (first, last) = (pts[0].0, pts[pts.len() - 1].0);
        let end = last - w;
        let mut best = Window {
            window_ns,
            mmu: f64::INFINITY,
            start_ns: first,
        };
        // Left edges at each step, then right edges at each step, merged
        // in time order so the integrals advance monotonically.
        let (mut li, mut ri) = (0usize, 0usize);
        let (mut a, mut b) = (0usize, 0usize);
        loop {
            let from_left = pts.get(a).map(|p| p.0).filter(|&t| t <= end);
            let from_right = pts.get(b).map(|p| p.0 - w).filter(|&t| t <= end);
            let start = match (from_left, from_right) {
                (None, None) => break,
                (Some(x), None) => {
                    a += 1;
                    x
                }
                (None, Some(y)) => {
                    b += 1;
                    y
                }
                (Some(x), Some(y)) => {
                    if x <= y {
                        a += 1;
                        x
                    } else {
                        b += 1;
                        y
                    }
                }
            };
            if start < first {
                continue;
            }
            let mean = (integral(&mut ri, start + w) - integral(&mut li, start)) / w as f64;
            if mean < best.mmu {
                best.mmu = mean;
                best.start_ns = start;
            }
        }
        if !best.mmu.is_finite() {
            best.mmu = 0.0;
        }
        best.mmu = best.mmu.clamp(0.0, 1.0);
        best.start_ns -= self.origin_ns;
        Some(best)
    }

    /// The MMU at 1, 2 and 5 ms, 10, 20 and 50 ms, ... up to 1 s, for the
    /// windows no longer than the curve.
    pub fn curve(&self) -> Vec<Window> {
        let d = self.duration_ns();
        let mut out = Vec::new();
        for decade in [1_000_000i64, 10_000_000, 100_000_000, 1_000_000_000] {
            for m in [1, 2, 5] {
                let w = decade * m;
                if w > 1_000_000_000 || w > d {
                    continue;
                }
                out.extend(self.mmu(w));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(i64, f64)]) -> Utilization {
        Utilization {
            flags: Flags::ALL,
            origin_ns: 0,
            points: points.to_vec(),
            capped: false,
        }
    }

    #[test]
    fn a_pause_in_the_middle_is_found_by_its_edges() {
        // Full utilisation, a 10 ns pause at 100, full again, end at 200.
        let u = curve(&[(0, 1.0), (100, 0.0), (110, 1.0), (200, 0.0)]);
        assert_eq!(u.mmu(10).map(|w| (w.mmu, w.start_ns)), Some((0.0, 100)));
        let w = u.mmu(20).unwrap();
        assert!((w.mmu - 0.5).abs() < 1e-12, "{w:?}");
        // A window as long as the curve is its mean.
        let w = u.mmu(500).unwrap();
        assert!((w.mmu - 190.0 / 200.0).abs() < 1e-12, "{w:?}");
    }

    #[test]
    fn half_the_ps_taken_halves_utilisation() {
        let mut t = Tracker::new(Flags::ALL);
        t.procs(2, 0);
        t.tick(0);
        t.sweep(Some(1), true);
        t.tick(10);
        t.sweep(Some(1), false);
        t.tick(20);
        t.stw("GC mark termination", true);
        t.tick(30);
        t.stw("GC mark termination", false);
        t.tick(40);
        // Stops of the world that are not the GC's do not count.
        t.stw("read mem stats", true);
        t.tick(50);
        let u = t.finish(0);
        assert_eq!(
            u.points,
            vec![
                (0, 1.0),
                (10, 0.5),
                (20, 1.0),
                (30, 0.0),
                (40, 1.0),
                (50, 0.0)
            ]
        );
    }

    #[test]
    fn a_worker_counts_once_per_run() {
        let mut t = Tracker::new(Flags::ALL);
        t.procs(1, 0);
        t.tick(0);
        for start in [10, 30] {
            t.executing(7, Some(0), true);
            t.label(Some(7), Some(0), "GC (fractional)");
            t.tick(start);
            t.executing(7, Some(0), false);
            t.tick(start + 5);
        }
        t.tick(50);
        let u = t.finish(0);
        assert_eq!(
            u.points,
            vec![
                (0, 1.0),
                (10, 0.0),
                (15, 1.0),
                (30, 0.0),
                (35, 1.0),
                (50, 0.0)
            ]
        );
    }

    #[test]
    fn flags_parse() {
        assert_eq!(Flags::parse("all"), Some(Flags::ALL));
        assert_eq!(
            Flags::parse("stw|assist"),
            Some(Flags {
                stw: true,
                background: false,
                assist: true,
                sweep: false
            })
        );
        assert_eq!(Flags::parse("gc"), None);
    }
}
