//! A goroutine's frames as a debugger lists them: which frames are shown
//! (the one rule, used by tracebacks, scopes and stack listings), where a
//! frame's function starts, which function a pc is in, and the function
//! a `go` statement wrapper started.

use gosleuth_memory::Memory;
use gosleuth_model::Frame;

use crate::capture::{Capture, View};
use crate::symbolize::{Sym, Symbols};
use crate::unwind::RawFrame;

/// One shown frame: the logical frame and the physical frame (pc, sp) it
/// belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ShownFrame<'c> {
    pub frame: &'c Frame,
    pub raw: &'c RawFrame,
}

/// The function a pc is in, from the line table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcFunction {
    pub name: String,
    /// Entry pc (in the process's addresses).
    pub entry: u64,
    /// File and line of the pc (empty and 0 when unknown).
    pub file: String,
    pub line: u32,
}

impl<M: Memory> Capture<M> {
    /// The logical frames of goroutine `gi` that are shown, innermost
    /// first, with the index of their physical frame: compiler-generated
    /// wrappers are left out unless they called a panic (like the
    /// runtime's `elideWrapperCalling`) or [`Capture::show_wrappers`] is
    /// set, and `runtime.goexit` always is. Every listing of frames
    /// ([`View::frame_iter`], [`Capture::shown_frames`],
    /// [`Capture::shown_frame_index`]) is this one.
    pub(crate) fn shown_syms(
        &self,
        gi: usize,
    ) -> impl Iterator<Item = (usize, &RawFrame, &Sym)> + '_ {
        let all = self.show_wrappers;
        let mut callee_panics = false;
        self.goroutines
            .get(gi)
            .into_iter()
            .flat_map(|g| g.frames.iter().enumerate())
            .flat_map(move |(k, raw)| self.symbols.frames(raw).iter().map(move |s| (k, raw, s)))
            .filter(move |(_, _, s)| {
                let keep = (all || !s.wrapper || callee_panics) && !s.goexit;
                callee_panics = s.panics;
                keep
            })
    }

    /// The frames of goroutine `i` that [`View::frame_iter`] shows, in the
    /// same order (so index `k` here is frame `k` of a
    /// [`crate::values::Scope`]), each with its physical frame.
    pub fn shown_frames(&self, i: usize) -> Vec<ShownFrame<'_>> {
        self.shown_syms(i)
            .map(|(_, raw, s)| ShownFrame {
                frame: &s.frame,
                raw,
            })
            .collect()
    }

    /// Index among the frames [`View::frame_iter`] shows of the physical
    /// frame `physical` of goroutine `gi` (its outermost logical frame).
    pub fn shown_frame_index(&self, gi: usize, physical: usize) -> usize {
        let mut index = 0;
        for (n, (k, _, _)) in self.shown_syms(gi).enumerate() {
            if k > physical {
                break;
            }
            index = n;
        }
        index
    }

    /// The entry pc of a frame's function (of the physical function that
    /// holds its pc: a call inlined there has no entry of its own).
    pub fn frame_entry(&self, f: &Frame) -> u64 {
        let pc = f.pc.unwrap_or(0);
        // A physical frame knows its offset from the entry (a pc at the
        // entry itself belongs to no call before it).
        match f.offset {
            Some(off) => pc.wrapping_sub(off),
            None => self
                .target
                .bin
                .pcln()
                .func_for_pc(self.target.link_pc(pc.wrapping_sub(1)))
                .map_or(0, |fi| fi.entry().wrapping_add(self.target.bias)),
        }
    }

    /// The function `pc` is in (a thread's current instruction), with the
    /// file and line of the pc.
    pub fn pc_function(&self, pc: u64) -> Option<PcFunction> {
        let link = self.target.link_pc(pc);
        let f = self.target.bin.pcln().func_for_pc(link)?;
        let (file, line) = f.file_line(link);
        Some(PcFunction {
            name: f.name().into_owned(),
            entry: f.entry().wrapping_add(self.target.bias),
            file: file.map(|c| c.into_owned()).unwrap_or_default(),
            line: line.unwrap_or(0),
        })
    }

    /// The function a `go` statement wrapper (`main.f.gowrap1`, which Go
    /// 1.21+ writes for `go m.f()`) started goroutine `i` in: the frame
    /// the wrapper called, at the bottom of the stack. Delve unwraps the
    /// older `·dwrap·` wrappers the same way; without it, `startLoc`
    /// would name the wrapper and scripts looking for the function (the
    /// seed's `select(.startLoc.function.name | test("...$"))`) would
    /// find nothing. `None` when the goroutine did not start in a wrapper
    /// or its stack does not reach it.
    pub fn unwrapped_start(&self, i: usize) -> Option<Frame> {
        let g = self.goroutines.get(i)?;
        let start = self.view(i).start()?;
        let mut syms = g
            .frames
            .iter()
            .flat_map(|raw| self.symbols.frames(raw).iter().map(move |s| (s, raw)))
            .filter(|(s, _)| !s.goexit);
        let mut callee = None;
        let mut last = None;
        for pair in syms.by_ref() {
            callee = last;
            last = Some(pair);
        }
        let (wrapper, _) = last?;
        if !wrapper.wrapper || wrapper.frame.function != start.function {
            return None;
        }
        let (callee, raw) = callee?;
        if callee.frame.inlined {
            // No entry of its own: name it where it was inlined.
            let mut f = callee.frame.clone();
            f.pc = None;
            f.offset = None;
            return Some(f);
        }
        let link = self.target.link_pc(raw.pc);
        let lookup = if raw.trap() {
            link
        } else {
            link.wrapping_sub(1)
        };
        let entry = self.target.bin.pcln().func_for_pc(lookup)?.entry();
        Symbols::entry(&self.target, entry.wrapping_add(self.target.bias))
    }
}

impl<M: Memory> View<'_, M> {
    /// Where the `go` statement that created the goroutine is (the main
    /// goroutine's creator, `runtime.rt0_go`, which tracebacks leave out,
    /// included).
    pub fn go_statement(&self) -> Option<Frame> {
        self.created_by_frame()
            .or_else(|| Symbols::go_site(&self.c.target, self.raw().gopc))
    }
}
