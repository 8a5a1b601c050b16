//! From a [`Scope`] (goroutine, shown frame) to what reading its
//! variables needs: the physical frame and inlining depth, the pc to look
//! DWARF up at, the canonical frame address, and the registers when this
//! frame has them.
//!
//! Go's register ABI saves no registers across calls, so only two kinds of
//! frames have registers: the innermost frame of a goroutine running on a
//! thread (the thread's registers), and a frame interrupted by a signal
//! (the `ucontext` the kernel pushed for `runtime.sigtramp`). Everywhere
//! else a value that lives in a register is gone, and says so.

use gosleuth_gobin::{FrameScope, ScopeVar};
use gosleuth_memory::Memory;

use super::Scope;
use crate::capture::Capture;
use crate::goroutines::status;

/// DWARF register numbers of amd64 (System V psABI) and their names.
pub(crate) const AMD64_DWARF_REGS: [&str; 17] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];
/// DWARF number of rsp.
const RSP: usize = 7;
/// DWARF number of rip (the return address column).
const RIP: usize = 16;

/// `mcontext_t.gregs` order (REG_R8 .. REG_RIP), at `ucontext + 40`.
const UCONTEXT_GREGS: [&str; 17] = [
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx", "rdx", "rax",
    "rcx", "rsp", "rip",
];
const UCONTEXT_GREGS_OFFSET: u64 = 40;

/// Names of a DWARF register for messages.
pub(crate) fn reg_name(n: u16) -> String {
    match AMD64_DWARF_REGS.get(n as usize) {
        Some(s) => (*s).to_string(),
        None if (17..=32).contains(&n) => format!("xmm{}", n - 17),
        None => format!("register {n}"),
    }
}

/// Where the registers of a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegSource {
    /// Only sp and pc are known (every other frame).
    None,
    /// The thread's registers (innermost frame of a running goroutine).
    Thread,
    /// The signal context (a frame interrupted by a signal).
    Signal,
}

/// One logical frame, ready for reading variables.
#[derive(Debug, Clone)]
pub(crate) struct FrameCtx {
    /// Inlined calls between the physical function and this frame.
    pub inline_depth: usize,
    /// Link-time pc to look scopes and locations up at.
    pub link_pc: u64,
    pub line: u32,
    pub function: String,
    /// Canonical frame address (run time).
    pub cfa: Option<u64>,
    /// Registers in DWARF numbering (rsp and rip always).
    pub regs: [Option<u64>; 17],
    pub reg_source: RegSource,
}

/// Finds the frame a scope names.
pub(crate) fn frame_ctx<M: Memory>(c: &Capture<M>, scope: Scope) -> Result<FrameCtx, String> {
    let g = c.goroutines.get(scope.goroutine).ok_or_else(|| {
        format!(
            "no goroutine at index {} (the capture has {})",
            scope.goroutine,
            c.goroutines.len()
        )
    })?;
    // The same walk as View::frame_iter, remembering where each shown
    // frame comes from.
    let mut shown = 0usize;
    let mut callee_panics = false;
    for (k, f) in g.frames.iter().enumerate() {
        let syms = c.symbols.frames(f);
        let n = syms.len();
        for (j, s) in syms.iter().enumerate() {
            let keep = (c.show_wrappers || !s.wrapper || callee_panics)
                && s.frame.function != "runtime.goexit";
            callee_panics = matches!(
                s.frame.function.as_str(),
                "panic" | "runtime.sigpanic" | "runtime.panicwrap"
            );
            if !keep {
                continue;
            }
            if shown == scope.frame {
                return Ok(logical(c, scope.goroutine, k, n - 1 - j, &s.frame));
            }
            shown += 1;
        }
    }
    Err(format!(
        "goroutine {} has {shown} frames; there is no frame {}",
        g.id, scope.frame
    ))
}

/// The logical frames of physical frame `k` of goroutine `gi` (the
/// function and the calls inlined into it, outermost first), shown or not.
pub(crate) fn physical_frame_ctxs<M: Memory>(c: &Capture<M>, gi: usize, k: usize) -> Vec<FrameCtx> {
    let Some(f) = c.goroutines.get(gi).and_then(|g| g.frames.get(k)) else {
        return Vec::new();
    };
    let syms = c.symbols.frames(f);
    let n = syms.len();
    syms.iter()
        .enumerate()
        .rev()
        .map(|(j, s)| logical(c, gi, k, n - 1 - j, &s.frame))
        .collect()
}

/// The context of one logical frame of physical frame `k`.
fn logical<M: Memory>(
    c: &Capture<M>,
    gi: usize,
    k: usize,
    inline_depth: usize,
    frame: &gosleuth_model::Frame,
) -> FrameCtx {
    let f = c.goroutines[gi].frames[k];
    let link = c.target.link_pc(f.pc);
    let link_pc = if f.trap() { link } else { link.wrapping_sub(1) };
    let (regs, reg_source) = registers(c, gi, k);
    FrameCtx {
        inline_depth,
        link_pc,
        line: frame.line,
        function: frame.function.clone(),
        cfa: cfa(c, f.pc, f.sp()),
        regs,
        reg_source,
    }
}

/// The CFA of a physical frame: its sp plus its frame size plus the
/// return address (amd64).
fn cfa<M: Memory>(c: &Capture<M>, pc: u64, sp: u64) -> Option<u64> {
    let link = c.target.link_pc(pc);
    let f = c.target.bin.pcln().func_for_pc(link)?;
    let fs = u64::try_from(f.frame_size(link)?).ok()?;
    sp.checked_add(fs)?.checked_add(8)
}

fn registers<M: Memory>(c: &Capture<M>, gi: usize, k: usize) -> ([Option<u64>; 17], RegSource) {
    let g = &c.goroutines[gi];
    let f = g.frames[k];
    let mut regs = [None; 17];
    regs[RSP] = Some(f.sp());
    regs[RIP] = Some(f.pc);
    let mut source = RegSource::None;
    if k == 0 && g.status == status::RUNNING {
        if let Some(th) = g
            .thread
            .and_then(|tid| c.target.threads.iter().find(|th| th.tid as u64 == tid))
        {
            if th.regs.pc() == f.pc && th.regs.sp() == f.sp() {
                for (i, name) in AMD64_DWARF_REGS.iter().enumerate() {
                    regs[i] = th.regs.get(name);
                }
                source = RegSource::Thread;
            }
        }
    } else if k > 0 {
        let prev = g.frames[k - 1];
        let link = c.target.link_pc(prev.pc);
        if let Some(func) = c.target.bin.pcln().func_for_pc(link) {
            if func.name() == "runtime.sigtramp" {
                let fs = func
                    .frame_size(link)
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0);
                let uc = prev.sp() + fs + 8;
                let mut buf = [0u8; 17 * 8];
                if c.target
                    .mem
                    .read_at(uc + UCONTEXT_GREGS_OFFSET, &mut buf)
                    .is_ok()
                {
                    for (i, name) in UCONTEXT_GREGS.iter().enumerate() {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(&buf[i * 8..i * 8 + 8]);
                        if let Some(n) = AMD64_DWARF_REGS.iter().position(|r| r == name) {
                            regs[n] = Some(u64::from_le_bytes(w));
                        }
                    }
                    source = RegSource::Signal;
                }
            }
        }
    }
    (regs, source)
}

/// Names the compiler gives to its own variables, not shown.
fn hidden(name: &str) -> bool {
    name == ".dict"
        || name == ".closureptr"
        || name.starts_with("#yield")
        || name.starts_with("&#yield")
        || name.is_empty()
}

/// The variables of a frame that are visible at its line, in Delve's
/// order (by lexical depth, then declaration line).
pub(crate) fn visible_vars<M: Memory>(
    c: &Capture<M>,
    f: &FrameCtx,
) -> Result<Vec<ScopeVar>, String> {
    let d = c
        .target
        .bin
        .dwarf()
        .map_err(|e| format!("cannot read DWARF: {e}"))?
        .ok_or_else(|| {
            "the binary has no DWARF (built with -ldflags=-w or stripped): variables cannot be read"
                .to_string()
        })?;
    let scope: FrameScope = d
        .frame_scope(f.link_pc, f.inline_depth)
        .map_err(|e| format!("cannot read the DWARF scope of {}: {e}", f.function))?
        .ok_or_else(|| {
            format!(
                "no DWARF for {} at pc {:#x} (assembly or runtime code without variables)",
                f.function, f.link_pc
            )
        })?;
    let line = u64::from(f.line);
    let mut vars: Vec<ScopeVar> = scope
        .vars
        .into_iter()
        .filter(|v| !hidden(&v.name))
        .filter(|v| {
            // Like Delve: a variable is visible from the line after its
            // declaration (captured ones from the line itself); arguments
            // everywhere.
            match (v.is_param, v.decl_line) {
                (false, Some(decl)) if line > 0 => {
                    if v.captured {
                        line >= decl
                    } else {
                        line > decl
                    }
                }
                _ => true,
            }
        })
        .collect();
    vars.sort_by_key(|v| {
        (
            if v.is_param { 0 } else { v.depth + 1 },
            v.decl_line.unwrap_or(0),
        )
    });
    Ok(vars)
}
