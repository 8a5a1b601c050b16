//! From sampled pcs to frames: Go code through pclntab (inlined calls
//! expanded, so stripped binaries work), everything else through the ELF
//! symbols of the file mapped at the pc.

use rustc_hash::FxHashMap;

use gosleuth_memory::Memory;
use gosleuth_runtime::Target;
use gosleuth_runtime::symbolize::Symbols;
use gosleuth_runtime::unwind::RawFrame;

use crate::native::Natives;
use crate::recording::EXACT;

/// One logical frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub start_line: i64,
}

/// Resolves pcs of one process, each once.
pub struct Symbolizer<'t, M> {
    t: &'t Target<M>,
    go: Symbols,
    natives: Natives,
    cache: FxHashMap<u64, (bool, Vec<Frame>)>,
    /// (start, limit, offset, path) of the executable's text mapping.
    main: (u64, u64, u64, String),
}

impl<M> std::fmt::Debug for Symbolizer<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer")
            .field("resolved", &self.cache.len())
            .finish()
    }
}

impl<'t, M: Memory> Symbolizer<'t, M> {
    /// Resolves pcs of `t`, the process `pid`.
    pub fn new(t: &'t Target<M>, pid: i32) -> Symbolizer<'t, M> {
        let maps = gosleuth_memory::LiveProcess::attach(pid, gosleuth_memory::Mode::NoStop)
            .map(|p| p.maps().to_vec())
            .unwrap_or_default();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| t.bin().path().display().to_string());
        let main = maps
            .iter()
            .find(|m| m.path == exe && m.perms.exec)
            .map_or((0, 0, 0, exe.clone()), |m| {
                (m.start, m.end, m.offset, exe.clone())
            });
        Symbolizer {
            t,
            go: Symbols::default(),
            natives: Natives::new(pid, maps),
            cache: FxHashMap::default(),
            main,
        }
    }

    /// The executable's text mapping: (start, limit, offset, path).
    pub fn main_mapping(&self) -> &(u64, u64, u64, String) {
        &self.main
    }

    /// True when `pc` (as recorded, see [`EXACT`]) is outside Go code.
    pub fn is_native(&mut self, pc: u64) -> bool {
        self.resolve(pc).0
    }

    /// The logical frames at `pc` (as recorded), innermost first.
    pub fn frames(&mut self, pc: u64) -> &[Frame] {
        &self.resolve(pc).1
    }

    fn resolve(&mut self, pc: u64) -> &(bool, Vec<Frame>) {
        if !self.cache.contains_key(&pc) {
            let v = self.compute(pc);
            self.cache.insert(pc, v);
        }
        &self.cache[&pc]
    }

    fn compute(&mut self, pc: u64) -> (bool, Vec<Frame>) {
        let addr = pc & !EXACT;
        let link = self.t.link_pc(addr);
        if let Some(f) = self.t.bin().pcln().func_for_pc(link) {
            let start_line = f.start_line().map_or(0, i64::from);
            let raw = RawFrame::new(addr, 0, pc & EXACT != 0);
            self.go.add(self.t, &[raw]);
            let frames = self
                .go
                .frames(&raw)
                .iter()
                .map(|s| Frame {
                    function: s.frame.function.clone(),
                    file: s.frame.file.clone(),
                    line: s.frame.line,
                    start_line: if s.frame.inlined { 0 } else { start_line },
                })
                .collect();
            return (false, frames);
        }
        let n = self.natives.lookup(addr);
        let function = if n.name == "?" {
            format!("{addr:#x}")
        } else {
            n.name
        };
        (
            true,
            vec![Frame {
                function,
                file: n.file,
                line: 0,
                start_line: 0,
            }],
        )
    }
}
