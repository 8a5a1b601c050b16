//! Delve's JSON shapes (`api.Goroutine`, `api.Location`, `api.Function`),
//! so `jq` scripts written against `dlv`'s JSON-RPC keep working.

use std::collections::BTreeMap;

use gosleuth_memory::Memory;
use gosleuth_model::Frame;
use serde::Serialize;

use crate::capture::{Capture, View};

/// `api.Function`.
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: String,
    /// Entry pc.
    pub value: u64,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(rename = "goType")]
    pub go_type: u64,
    pub optimized: bool,
}

/// `api.Location`.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub pc: u64,
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Function>,
}

/// `api.Goroutine`, plus the full stack when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Goroutine {
    pub id: u64,
    #[serde(rename = "currentLoc")]
    pub current_loc: Location,
    #[serde(rename = "userCurrentLoc")]
    pub user_current_loc: Location,
    #[serde(rename = "goStatementLoc")]
    pub go_statement_loc: Location,
    #[serde(rename = "startLoc")]
    pub start_loc: Location,
    #[serde(rename = "threadID")]
    pub thread_id: u64,
    pub status: u64,
    #[serde(rename = "waitSince")]
    pub wait_since: i64,
    #[serde(rename = "waitReason")]
    pub wait_reason: i64,
    pub unreadable: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// gosleuth's addition with `--stacks`: every frame, innermost first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<Vec<Location>>,
    /// gosleuth's addition in `core`/`attach --format json`: why this
    /// goroutine is the one that crashed (it is then listed first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crashed: Option<String>,
}

fn empty() -> Location {
    Location {
        pc: 0,
        file: String::new(),
        line: 0,
        function: None,
    }
}

impl<M: Memory> Capture<M> {
    /// Delve's `Location` of a frame.
    pub fn delve_location(&self, f: &Frame) -> Location {
        let pc = f.pc.unwrap_or(0);
        // A physical frame knows its offset from the entry (a pc at the
        // entry itself belongs to no call before it).
        let entry = match f.offset {
            Some(off) => pc.wrapping_sub(off),
            None => self
                .target
                .bin
                .pcln()
                .func_for_pc(self.target.link_pc(pc.wrapping_sub(1)))
                .map_or(0, |fi| fi.entry().wrapping_add(self.target.bias)),
        };
        Location {
            pc,
            file: f.file.clone(),
            line: f.line,
            function: Some(Function {
                // Tracebacks print runtime.gopanic as `panic`; Delve names it.
                name: if f.function == "panic" {
                    "runtime.gopanic".to_string()
                } else {
                    f.function.clone()
                },
                value: if f.inlined { 0 } else { entry },
                kind: 0,
                go_type: 0,
                optimized: true,
            }),
        }
    }

    /// Delve's `api.Goroutine` for goroutine `i`.
    pub fn delve_goroutine(&self, i: usize, with_stack: bool) -> Goroutine {
        let v: View<'_, M> = self.view(i);
        let g = v.raw();
        let frames: Vec<&Frame> = v.frame_iter().collect();
        // Delve names the function that owns the pc (not a call inlined
        // there), at the file and line the pc is at.
        let current = v
            .current_location()
            .map_or_else(empty, |f| self.delve_location(&f));
        let user = v
            .user_location()
            .map_or_else(|| current.clone(), |f| self.delve_location(&f));
        let site = |f: Option<Frame>| f.map_or_else(empty, |f| self.delve_location(&f));
        // The main goroutine's creator (runtime.rt0_go) is left out of
        // tracebacks but Delve names it.
        let mut go_stmt = site(
            v.created_by_frame()
                .or_else(|| crate::symbolize::Symbols::go_site(&self.target, g.gopc)),
        );
        go_stmt.pc = g.gopc;
        let unwrapped = self.unwrapped_start(i);
        let mut start = site(unwrapped.clone().or_else(|| v.start()));
        if unwrapped.is_none() {
            start.pc = g.startpc;
        }
        Goroutine {
            id: g.id,
            current_loc: current,
            user_current_loc: user,
            go_statement_loc: go_stmt,
            start_loc: start,
            thread_id: g.thread.unwrap_or(0),
            status: u64::from(g.status),
            wait_since: g.waitsince,
            wait_reason: i64::from(g.wait_reason),
            unreadable: String::new(),
            labels: self.labels.get(i).into_iter().flatten().cloned().collect(),
            stacktrace: with_stack.then(|| frames.iter().map(|f| self.delve_location(f)).collect()),
            crashed: None,
        }
    }
}

impl<M: Memory> Capture<M> {
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
        crate::symbolize::Symbols::entry(&self.target, entry.wrapping_add(self.target.bias))
    }
}

/// `api.Thread`.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    pub id: i64,
    pub pc: u64,
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Function>,
    #[serde(rename = "goroutineID")]
    pub goroutine_id: i64,
    /// Always null: a snapshot has no function returns to report.
    #[serde(rename = "ReturnValues")]
    pub return_values: Option<Vec<crate::values::Variable>>,
    #[serde(rename = "CallReturn")]
    pub call_return: bool,
}

/// `api.Stackframe`: a [`Location`] plus the frame's variables.
#[derive(Debug, Clone, Serialize)]
pub struct Stackframe {
    #[serde(flatten)]
    pub location: Location,
    #[serde(rename = "Locals")]
    pub locals: Option<Vec<crate::values::Variable>>,
    #[serde(rename = "Arguments")]
    pub arguments: Option<Vec<crate::values::Variable>>,
    #[serde(rename = "FrameOffset")]
    pub frame_offset: i64,
    #[serde(rename = "FramePointerOffset")]
    pub frame_pointer_offset: i64,
    /// Deferred calls are not read: always null.
    #[serde(rename = "Defers")]
    pub defers: Option<Vec<()>>,
    /// The outermost frame of a stack that was unwound to its end.
    #[serde(rename = "Bottom", skip_serializing_if = "std::ops::Not::not")]
    pub bottom: bool,
    #[serde(rename = "Err")]
    pub err: String,
}

/// `api.Register`.
#[derive(Debug, Clone, Serialize)]
pub struct Register {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value")]
    pub value: String,
    #[serde(rename = "DwarfNumber")]
    pub dwarf_number: i32,
}

/// One frame as Delve lists it: the logical frame and the physical frame
/// (pc, sp) it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ShownFrame<'c> {
    pub frame: &'c Frame,
    pub raw: &'c crate::unwind::RawFrame,
}

impl<M: Memory> Capture<M> {
    /// The frames of goroutine `i` that [`View::frame_iter`] shows, in the
    /// same order (so index `k` here is frame `k` of a
    /// [`crate::values::Scope`]), each with its physical frame.
    pub fn shown_frames(&self, i: usize) -> Vec<ShownFrame<'_>> {
        let mut out = Vec::new();
        let Some(g) = self.goroutines.get(i) else {
            return out;
        };
        let mut callee_panics = false;
        for raw in &g.frames {
            for s in self.symbols.frames(raw) {
                let keep = (self.show_wrappers || !s.wrapper || callee_panics) && !s.goexit;
                callee_panics = s.panics;
                if keep {
                    out.push(ShownFrame {
                        frame: &s.frame,
                        raw,
                    });
                }
            }
        }
        out
    }

    /// Delve's `Stackframe` of a shown frame (variables not loaded).
    pub fn delve_stackframe(&self, f: ShownFrame<'_>, bottom: bool) -> Stackframe {
        Stackframe {
            location: self.delve_location(f.frame),
            locals: None,
            arguments: None,
            // Delve's offsets are relative to the stack's base; a
            // snapshot has the absolute sp, which is what is useful here.
            frame_offset: f.raw.sp() as i64,
            frame_pointer_offset: 0,
            defers: None,
            bottom,
            err: String::new(),
        }
    }

    /// The location of a pc (a thread's current instruction).
    pub fn delve_pc_location(&self, pc: u64) -> Location {
        let link = self.target.link_pc(pc);
        let Some(f) = self.target.bin.pcln().func_for_pc(link) else {
            return Location {
                pc,
                file: String::new(),
                line: 0,
                function: None,
            };
        };
        let (file, line) = f.file_line(link);
        Location {
            pc,
            file: file.map(|c| c.into_owned()).unwrap_or_default(),
            line: line.unwrap_or(0),
            function: Some(Function {
                name: f.name().into_owned(),
                value: f.entry().wrapping_add(self.target.bias),
                kind: 0,
                go_type: 0,
                optimized: true,
            }),
        }
    }

    /// Delve's `api.Thread` for thread `k` of the target.
    pub fn delve_thread(&self, k: usize) -> Option<Thread> {
        let th = self.target.threads.get(k)?;
        let loc = self.delve_pc_location(th.regs.pc());
        let tid = th.tid as u64;
        let goroutine_id = self
            .goroutines
            .iter()
            .find(|g| g.thread == Some(tid))
            .map_or(0, |g| g.id as i64);
        Some(Thread {
            id: i64::from(th.tid),
            pc: loc.pc,
            file: loc.file,
            line: loc.line,
            function: loc.function,
            goroutine_id,
            return_values: None,
            call_return: false,
        })
    }
}

/// Delve's register listing of a thread: names as Delve prints them, in its
/// order, with DWARF register numbers.
pub fn delve_registers(regs: &gosleuth_memory::Registers, all: bool) -> Vec<Register> {
    use gosleuth_memory::Arch;
    // (kernel name, Delve name, DWARF number)
    const AMD64: &[(&str, &str, i32)] = &[
        ("rip", "Rip", 16),
        ("rsp", "Rsp", 7),
        ("rax", "Rax", 0),
        ("rbx", "Rbx", 3),
        ("rcx", "Rcx", 2),
        ("rdx", "Rdx", 1),
        ("rdi", "Rdi", 5),
        ("rsi", "Rsi", 4),
        ("rbp", "Rbp", 6),
        ("r8", "R8", 8),
        ("r9", "R9", 9),
        ("r10", "R10", 10),
        ("r11", "R11", 11),
        ("r12", "R12", 12),
        ("r13", "R13", 13),
        ("r14", "R14", 14),
        ("r15", "R15", 15),
        ("orig_rax", "Orig_rax", -1),
        ("cs", "Cs", 51),
        ("eflags", "Rflags", 49),
        ("ss", "Ss", 52),
        ("fs_base", "Fs_base", 58),
        ("gs_base", "Gs_base", 59),
    ];
    const AMD64_SEGMENTS: &[(&str, &str, i32)] = &[
        ("ds", "Ds", 53),
        ("es", "Es", 50),
        ("fs", "Fs", 54),
        ("gs", "Gs", 55),
    ];
    let reg = |(k, name, dwarf): &(&str, &str, i32)| {
        regs.get(k).map(|v| Register {
            name: (*name).to_string(),
            value: format!("{v:#018x}"),
            dwarf_number: *dwarf,
        })
    };
    match regs.arch() {
        Arch::Amd64 => AMD64
            .iter()
            .chain(if all { AMD64_SEGMENTS } else { &[] })
            .filter_map(reg)
            .collect(),
        Arch::Arm64 => {
            let mut out: Vec<Register> = (0..=30)
                .filter_map(|n| {
                    let k = format!("x{n}");
                    regs.get(&k).map(|v| Register {
                        name: format!("X{n}"),
                        value: format!("{v:#018x}"),
                        dwarf_number: n,
                    })
                })
                .collect();
            for (k, name, dwarf) in [("sp", "Sp", 31), ("pc", "Pc", 32), ("pstate", "Pstate", -1)] {
                out.extend(reg(&(k, name, dwarf)));
            }
            out
        }
    }
}
