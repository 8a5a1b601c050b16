//! Stack unwinding with pclntab frame sizes (amd64).
//!
//! A frame's size at a pc is its pcsp value; the return address sits just
//! above it, and the caller's sp is 8 bytes further. Unwinding stops at
//! top frames (`goexit`, `mstart`, `rt0_go`), at functions that write SP
//! (except where the runtime itself switches stacks: `systemstack`,
//! `mcall`, `morestack` continue on the goroutine's saved context), and at
//! `sigtramp`, where the interrupted context is read from the `ucontext`
//! the kernel pushed, so that a core written by `GOTRACEBACK=crash` shows
//! the frames up to the faulting instruction.

use rustc_hash::FxHashMap as HashMap;

use gosleuth_memory::Memory;

use crate::target::Target;

/// Most frames kept per goroutine (the runtime prints 100; Delve's
/// default depth is 50). Deeper stacks are cut and say so.
pub const MAX_FRAMES: usize = 1024;

/// One physical frame: the pc and the sp of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawFrame {
    pub pc: u64,
    /// Frame's sp; the top bit marks a frame whose pc is exact (the
    /// innermost frame of a trap, a frame interrupted by a signal), where
    /// the line is looked up at `pc` instead of the call instruction.
    sp_and_trap: u64,
}

const TRAP: u64 = 1 << 63;

impl RawFrame {
    pub fn new(pc: u64, sp: u64, trap: bool) -> RawFrame {
        RawFrame {
            pc,
            sp_and_trap: (sp & !TRAP) | if trap { TRAP } else { 0 },
        }
    }
    pub fn sp(&self) -> u64 {
        self.sp_and_trap & !TRAP
    }
    /// True when [`RawFrame::pc`] is the exact pc (not a return address).
    pub fn trap(&self) -> bool {
        self.sp_and_trap & TRAP != 0
    }
    /// The pc whose file and line describe the frame: the call instruction
    /// for return addresses.
    pub fn lookup_pc(&self) -> u64 {
        if self.trap() {
            self.pc
        } else {
            self.pc.wrapping_sub(1)
        }
    }
}

/// What the unwinder must know of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    /// goexit, mstart, rt0_go...: the last frame.
    Top,
    /// Writes SP: cannot unwind further unless handled.
    SpWrite,
    /// sigpanic, asyncPreempt, debugCallV2: the caller's pc is exact.
    Injected,
    /// runtime.systemstack: continue on the goroutine's stack.
    SystemStack,
    /// runtime.mcall, runtime.morestack: continue at the goroutine's sched.
    SwitchToSched,
    /// runtime.sigtramp: continue at the signal's interrupted context.
    SigTramp,
}

#[derive(Debug, Clone, Copy)]
struct PcInfo {
    known: bool,
    frame_size: u64,
    kind: Kind,
    /// Written in assembly: may not keep a frame pointer.
    asm: bool,
}

impl PcInfo {
    /// Go code with a frame saves the caller's BP in its top word.
    fn saves_bp(&self) -> bool {
        self.known && !self.asm && self.kind == Kind::Normal && self.frame_size >= 16
    }
}

/// Registers to start from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Start {
    pub pc: u64,
    pub sp: u64,
    /// The pc is exact (from thread registers) rather than a saved return address.
    pub trap: bool,
}

/// Why unwinding stopped before a top frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Reached the outermost frame.
    Top,
    /// Stopped by something unexpected, with the reason.
    Broken(String),
    /// More than [`MAX_FRAMES`] frames.
    TooDeep,
}

/// Saved context of the goroutine a system stack runs for (`g.sched`).
#[derive(Debug, Clone, Copy)]
pub struct Sched {
    pub pc: u64,
    pub sp: u64,
}

/// An unwinder with a per-pc cache; one per worker thread.
pub struct Unwinder<'t, M> {
    t: &'t Target<M>,
    cache: HashMap<u64, PcInfo>,
    /// Frame-pointer cross-check: frame links compared, and how many of
    /// them disagreed with the pcsp unwinding.
    pub fp_checked: u64,
    pub fp_mismatched: u64,
}

impl<'t, M: Memory> Unwinder<'t, M> {
    pub fn new(t: &'t Target<M>) -> Unwinder<'t, M> {
        Unwinder {
            t,
            cache: HashMap::default(),
            fp_checked: 0,
            fp_mismatched: 0,
        }
    }

    fn info(&mut self, pc: u64) -> PcInfo {
        if let Some(i) = self.cache.get(&pc) {
            return *i;
        }
        let i = self.compute(pc);
        self.cache.insert(pc, i);
        i
    }

    fn compute(&self, pc: u64) -> PcInfo {
        let unknown = PcInfo {
            known: false,
            frame_size: 0,
            kind: Kind::Normal,
            asm: false,
        };
        let link = self.t.link_pc(pc);
        let Some(f) = self.t.bin.pcln().func_for_pc(link) else {
            return unknown;
        };
        let Some(fs) = f.frame_size(link).and_then(|s| u64::try_from(s).ok()) else {
            return unknown;
        };
        let name = f.name();
        let kind = match &*name {
            // cgoSigtramp is the installed handler; it jumps to sigtramp
            // with the kernel's signal frame untouched.
            "runtime.sigtramp" | "runtime.cgoSigtramp" => Kind::SigTramp,
            "runtime.systemstack" => Kind::SystemStack,
            "runtime.mcall" | "runtime.morestack" => Kind::SwitchToSched,
            "runtime.sigpanic" | "runtime.asyncPreempt" | "runtime.debugCallV2" => Kind::Injected,
            "runtime.goexit" | "runtime.mstart" | "runtime.mstart0" | "runtime.rt0_go" => Kind::Top,
            _ if f.flags().is_top_frame() => Kind::Top,
            _ if f.flags().is_sp_write() => Kind::SpWrite,
            _ => Kind::Normal,
        };
        PcInfo {
            known: true,
            frame_size: fs,
            kind,
            asm: f.flags().is_asm(),
        }
    }

    /// True when `frame` is one a stack ends at (`goexit`, `mstart`...),
    /// not merely the last one unwinding could find.
    pub fn is_top(&mut self, frame: &RawFrame) -> bool {
        self.info(frame.pc).kind == Kind::Top
    }

    /// Unwinds from `start` into `out`. `sched` is the goroutine's saved
    /// context, used where a system stack (g0, gsignal) hands back to the
    /// goroutine; `stack` bounds the goroutine's own stack.
    pub fn unwind(
        &mut self,
        start: Start,
        sched: Option<Sched>,
        stack: (u64, u64),
        out: &mut Vec<RawFrame>,
    ) -> Stop {
        let mut pc = start.pc;
        let mut sp = start.sp;
        let mut trap = start.trap;
        let mut sched = sched;
        let mut switches = 0;
        // The caller's BP saved by the previous frame: it must point at
        // this frame's BP slot (the cross-check of pcsp unwinding).
        let mut saved_bp: Option<u64> = None;
        loop {
            if out.len() >= MAX_FRAMES {
                return Stop::TooDeep;
            }
            if pc == 0 {
                return if out.is_empty() {
                    Stop::Broken("pc is 0".into())
                } else {
                    Stop::Top
                };
            }
            let info = self.info(pc);
            if !info.known {
                return Stop::Broken(format!("pc {pc:#x} is not in any Go function"));
            }
            if let Some(bp) = saved_bp.take()
                && info.saves_bp()
            {
                self.fp_checked += 1;
                if bp != sp + info.frame_size - 8 {
                    self.fp_mismatched += 1;
                }
            }
            let on_goroutine_stack = sp >= stack.0 && sp < stack.1;
            match info.kind {
                Kind::SigTramp => {
                    // The kernel's rt_sigframe starts at sigtramp's entry sp:
                    // the restorer address, then the ucontext.
                    out.push(RawFrame::new(pc, sp, trap));
                    let uc = sp + info.frame_size + 8;
                    let (Ok(rsp), Ok(rip)) =
                        (self.t.mem.read_u64(uc + 160), self.t.mem.read_u64(uc + 168))
                    else {
                        return Stop::Broken(format!("cannot read the signal context at {uc:#x}"));
                    };
                    switches += 1;
                    if switches > 8 {
                        return Stop::Broken("too many stack switches".into());
                    }
                    pc = rip;
                    sp = rsp;
                    trap = true;
                    continue;
                }
                Kind::SwitchToSched if !on_goroutine_stack => {
                    out.push(RawFrame::new(pc, sp, trap));
                    let Some(s) = sched.take() else {
                        return Stop::Top;
                    };
                    pc = s.pc;
                    sp = s.sp;
                    trap = false;
                    continue;
                }
                _ => {}
            }
            out.push(RawFrame::new(pc, sp, trap));
            match info.kind {
                Kind::Top => return Stop::Top,
                Kind::SpWrite if out.len() > 1 => {
                    return Stop::Broken(format!(
                        "function at {pc:#x} writes SP; cannot unwind past it"
                    ));
                }
                _ => {}
            }
            let mut frame_sp = sp;
            if info.kind == Kind::SystemStack && !on_goroutine_stack {
                // Running on g0 for the goroutine: its frame continues on the
                // goroutine's stack, at the sp saved when it switched.
                match sched.take() {
                    Some(s) => frame_sp = s.sp,
                    None => return Stop::Top,
                }
            }
            if info.saves_bp() && frame_sp == sp {
                saved_bp = self.t.mem.read_u64(sp + info.frame_size - 8).ok();
            }
            let ra_at = frame_sp + info.frame_size;
            let Ok(ret) = self.t.mem.read_u64(ra_at) else {
                return Stop::Broken(format!("cannot read the return address at {ra_at:#x}"));
            };
            trap = info.kind == Kind::Injected;
            pc = ret;
            sp = ra_at + 8;
        }
    }
}
