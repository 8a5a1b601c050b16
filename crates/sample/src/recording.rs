//! Samples gathered so far, aggregated by stack and labels, and what they
//! become: a pprof profile, or the function table of `gosleuth top`.

use std::time::{Duration, SystemTime};

use rustc_hash::FxHashMap;

use gosleuth_memory::Memory;

use gosleuth_pprof::profile::{Function, Line, Location, Mapping, ValueType};
use gosleuth_pprof::{Profile, samples::Labels, samples::Samples};

use crate::symbols::{Frame, Symbolizer};

/// Marks a pc that is exact (where a thread was caught), not a return
/// address: its line is looked up at the pc itself.
pub const EXACT: u64 = 1 << 63;

/// A stack (pcs, innermost first) and the index of its label set.
type StackAndLabels = (Box<[u64]>, u32);

/// What a recording measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Threads caught running: CPU time.
    Cpu,
    /// Every goroutine at each tick, running or not: wall-clock time.
    Wall,
}

/// Samples aggregated by (stack, label set).
#[derive(Debug)]
pub struct Recording {
    pub kind: Kind,
    /// Nanoseconds one on-CPU sample stands for.
    pub period_ns: i64,
    stacks: FxHashMap<StackAndLabels, [i64; 2]>,
    label_sets: Vec<Vec<(String, String)>>,
    label_index: FxHashMap<Vec<(String, String)>, u32>,
    /// Samples taken (stacks added).
    pub samples: u64,
    /// When recording started.
    pub started: SystemTime,
    /// How long it recorded.
    pub elapsed: Duration,
    /// Notes for the profile's comments and the user (the method used,
    /// what was missing).
    pub notes: Vec<String>,
}

/// A function's share of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionShare {
    pub name: String,
    /// Nanoseconds with the function as the innermost frame.
    pub self_ns: i64,
    /// Nanoseconds with the function anywhere on the stack.
    pub total_ns: i64,
}

impl Recording {
    /// An empty recording.
    pub fn new(kind: Kind, period_ns: i64) -> Recording {
        Recording {
            kind,
            period_ns,
            stacks: FxHashMap::default(),
            label_sets: vec![Vec::new()],
            label_index: FxHashMap::default(),
            samples: 0,
            started: SystemTime::now(),
            elapsed: Duration::ZERO,
            notes: Vec::new(),
        }
    }

    /// The same kind of recording, empty (for the next window of `top`).
    pub fn fresh(&self) -> Recording {
        let mut r = Recording::new(self.kind, self.period_ns);
        r.notes = self.notes.clone();
        r
    }

    /// The index of a label set, interned.
    pub fn label_set(&mut self, labels: &[(String, String)]) -> u32 {
        if labels.is_empty() {
            return 0;
        }
        if let Some(&i) = self.label_index.get(labels) {
            return i;
        }
        let i = self.label_sets.len() as u32;
        self.label_sets.push(labels.to_vec());
        self.label_index.insert(labels.to_vec(), i);
        i
    }

    /// Adds one sample of `nanos` for `pcs` (innermost first; see
    /// [`EXACT`]).
    pub fn add(&mut self, pcs: &[u64], labels: u32, nanos: i64) {
        self.samples += 1;
        let v = match self.stacks.get_mut(&(pcs, labels) as &dyn StackKey) {
            Some(v) => v,
            None => self
                .stacks
                .entry((pcs.to_vec().into_boxed_slice(), labels))
                .or_insert([0, 0]),
        };
        v[0] += 1;
        v[1] += nanos;
    }

    /// Total nanoseconds recorded.
    pub fn total_ns(&self) -> i64 {
        self.stacks.values().map(|v| v[1]).sum()
    }

    /// Functions by self and total time, largest self first.
    pub fn functions<M: Memory>(&self, sym: &mut Symbolizer<'_, M>) -> Vec<FunctionShare> {
        let mut by: FxHashMap<String, (i64, i64)> = FxHashMap::default();
        let mut seen: Vec<String> = Vec::new();
        for ((pcs, _), v) in &self.stacks {
            seen.clear();
            let mut first = true;
            for &pc in pcs.iter() {
                for f in sym.frames(pc) {
                    let e = by.entry(f.function.clone()).or_default();
                    if first {
                        e.0 += v[1];
                        first = false;
                    }
                    if !seen.contains(&f.function) {
                        e.1 += v[1];
                        seen.push(f.function.clone());
                    }
                }
            }
        }
        let mut out: Vec<FunctionShare> = by
            .into_iter()
            .map(|(name, (s, t))| FunctionShare {
                name,
                self_ns: s,
                total_ns: t,
            })
            .collect();
        out.sort_by(|a, b| (b.self_ns, b.total_ns, &a.name).cmp(&(a.self_ns, a.total_ns, &b.name)));
        out
    }

    /// The recording as a pprof profile: sample types `samples/count` and
    /// `cpu/nanoseconds` (or `wall/nanoseconds`), one location per pc with
    /// its inlined calls as lines, as Go's own profiles are laid out.
    pub fn to_profile<M: Memory>(
        &self,
        sym: &mut Symbolizer<'_, M>,
    ) -> gosleuth_pprof::Result<Profile> {
        let what = match self.kind {
            Kind::Cpu => "cpu",
            Kind::Wall => "wall",
        };
        let mut p = Profile {
            sample_types: vec![
                ValueType::new("samples", "count"),
                ValueType::new(what, "nanoseconds"),
            ],
            samples: Samples::new(),
            period_type: ValueType::new(what, "nanoseconds"),
            period: self.period_ns,
            time_nanos: self
                .started
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64),
            duration_nanos: self.elapsed.as_nanos() as i64,
            comments: self.notes.clone(),
            ..Profile::default()
        };
        let main = sym.main_mapping();
        p.mappings.push(Mapping {
            id: 1,
            start: main.0,
            limit: main.1,
            offset: main.2,
            file: main.3.clone(),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
            ..Mapping::default()
        });
        let mut functions: FxHashMap<(String, String), u32> = FxHashMap::default();
        let mut locations: FxHashMap<u64, u32> = FxHashMap::default();
        let sets: Vec<u32> = self
            .label_sets
            .iter()
            .map(|l| {
                p.samples.add_label_set(Labels {
                    strs: l.clone(),
                    nums: Vec::new(),
                })
            })
            .collect();
        // A stable order: by value, then by stack.
        let mut order: Vec<(&StackAndLabels, &[i64; 2])> = self.stacks.iter().collect();
        order.sort_by(|a, b| b.1[1].cmp(&a.1[1]).then_with(|| a.0.cmp(b.0)));
        let mut locs = Vec::new();
        for ((pcs, set), v) in order {
            locs.clear();
            for &pc in pcs.iter() {
                let l = match locations.get(&pc) {
                    Some(&l) => l,
                    None => {
                        let frames = sym.frames(pc).to_vec();
                        let native = sym.is_native(pc);
                        let lines = frames
                            .iter()
                            .map(|f: &Frame| {
                                let key = (f.function.clone(), f.file.clone());
                                let func = *functions.entry(key).or_insert_with(|| {
                                    p.functions.push(Function {
                                        id: p.functions.len() as u64 + 1,
                                        name: f.function.clone(),
                                        system_name: f.function.clone(),
                                        filename: f.file.clone(),
                                        start_line: f.start_line,
                                    });
                                    (p.functions.len() - 1) as u32
                                });
                                Line {
                                    function: func,
                                    line: i64::from(f.line),
                                    column: 0,
                                }
                            })
                            .collect();
                        p.locations.push(Location {
                            id: p.locations.len() as u64 + 1,
                            mapping: (!native).then_some(0),
                            address: pc & !EXACT,
                            lines,
                            is_folded: false,
                        });
                        let l = (p.locations.len() - 1) as u32;
                        locations.insert(pc, l);
                        l
                    }
                };
                locs.push(l);
            }
            let set = sets.get(*set as usize).copied().unwrap_or(0);
            p.samples.push_in_set(&locs, v, set)?;
        }
        Ok(p)
    }
}

/// Lets the stack map be probed with a borrowed `(&[u64], u32)`.
trait StackKey {
    fn key(&self) -> (&[u64], u32);
}

impl StackKey for (Box<[u64]>, u32) {
    fn key(&self) -> (&[u64], u32) {
        (&self.0, self.1)
    }
}

impl StackKey for (&[u64], u32) {
    fn key(&self) -> (&[u64], u32) {
        (self.0, self.1)
    }
}

impl<'a> std::borrow::Borrow<dyn StackKey + 'a> for (Box<[u64]>, u32) {
    fn borrow(&self) -> &(dyn StackKey + 'a) {
        self
    }
}

impl PartialEq for dyn StackKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for dyn StackKey + '_ {}

impl std::hash::Hash for dyn StackKey + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}
