//! Delve's `api.Goroutine`, `api.Location`, `api.Function`,
//! `api.Stackframe`, `api.Thread` and `api.Register`, made from what the
//! runtime read, so `jq` scripts written against `dlv`'s JSON-RPC (and
//! `gosleuth core --format json`) keep working.

use std::collections::BTreeMap;

use gosleuth_model::Frame;
use gosleuth_runtime::Capture;
use gosleuth_runtime::frames::ShownFrame;
use serde::Serialize;

use super::variable::Variable;

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
    pub return_values: Option<Vec<Variable>>,
    #[serde(rename = "CallReturn")]
    pub call_return: bool,
}

/// `api.Stackframe`: a [`Location`] plus the frame's variables.
#[derive(Debug, Clone, Serialize)]
pub struct Stackframe {
    #[serde(flatten)]
    pub location: Location,
    #[serde(rename = "Locals")]
    pub locals: Option<Vec<Variable>>,
    #[serde(rename = "Arguments")]
    pub arguments: Option<Vec<Variable>>,
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

fn empty() -> Location {
    Location {
        pc: 0,
        file: String::new(),
        line: 0,
        function: None,
    }
}

/// Delve's `Location` of a frame.
pub fn location(c: &Capture, f: &Frame) -> Location {
    Location {
        pc: f.pc.unwrap_or(0),
        file: f.file.clone(),
        line: f.line,
        function: Some(Function {
            // Tracebacks print runtime.gopanic as `panic`; Delve names it.
            name: if f.function == "panic" {
                "runtime.gopanic".to_string()
            } else {
                f.function.clone()
            },
            value: if f.inlined { 0 } else { c.frame_entry(f) },
            kind: 0,
            go_type: 0,
            optimized: true,
        }),
    }
}

/// Delve's `api.Goroutine` for goroutine `i` of the capture (every frame
/// in `stacktrace` with `with_stack`).
pub fn goroutine(c: &Capture, i: usize, with_stack: bool) -> Goroutine {
    let v = c.view(i);
    let g = v.raw();
    // Delve names the function that owns the pc (not a call inlined
    // there), at the file and line the pc is at.
    let current = v.current_location().map_or_else(empty, |f| location(c, &f));
    let user = v
        .user_location()
        .map_or_else(|| current.clone(), |f| location(c, &f));
    let site = |f: Option<Frame>| f.map_or_else(empty, |f| location(c, &f));
    let mut go_stmt = site(v.go_statement());
    go_stmt.pc = g.gopc;
    let unwrapped = c.unwrapped_start(i);
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
        labels: c.labels(i).iter().cloned().collect(),
        stacktrace: with_stack.then(|| v.frame_iter().map(|f| location(c, f)).collect()),
        crashed: None,
    }
}

/// Delve's `Stackframe` of a shown frame (variables not loaded).
pub fn stackframe(c: &Capture, f: ShownFrame<'_>, bottom: bool) -> Stackframe {
    Stackframe {
        location: location(c, f.frame),
        locals: None,
        arguments: None,
        // Delve's offsets are relative to the stack's base; a snapshot
        // has the absolute sp, which is what is useful here.
        frame_offset: f.raw.sp() as i64,
        frame_pointer_offset: 0,
        defers: None,
        bottom,
        err: String::new(),
    }
}

/// The location of a pc (a thread's current instruction).
pub fn pc_location(c: &Capture, pc: u64) -> Location {
    let Some(f) = c.pc_function(pc) else {
        return Location {
            pc,
            file: String::new(),
            line: 0,
            function: None,
        };
    };
    Location {
        pc,
        file: f.file,
        line: f.line,
        function: Some(Function {
            name: f.name,
            value: f.entry,
            kind: 0,
            go_type: 0,
            optimized: true,
        }),
    }
}

/// Delve's `api.Thread` for thread `k` of the target.
pub fn thread(c: &Capture, k: usize) -> Option<Thread> {
    let th = c.target().threads().get(k)?;
    let loc = pc_location(c, th.regs.pc());
    let tid = th.tid as u64;
    let goroutine_id = c
        .goroutines()
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

/// Delve's register listing of a thread: names as Delve prints them, in its
/// order, with DWARF register numbers.
pub fn registers(regs: &gosleuth_memory::Registers, all: bool) -> Vec<Register> {
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
