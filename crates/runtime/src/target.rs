//! A Go process to read: memory, the binary it runs, where the runtime's
//! globals are, and how its structs are laid out.

use gosleuth_gobin::GoBinary;
use gosleuth_memory::{Memory, Thread};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::source::Source;
use crate::wait_reasons;

/// Where the layouts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutSource {
    /// The binary's DWARF.
    Dwarf,
    /// The built-in table for the binary's Go release.
    Table,
}

/// Addresses of the runtime globals the reader uses (run-time addresses,
/// load bias applied).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Globals {
    /// `runtime.allgs` (a `[]*g`).
    pub allgs: u64,
    /// `runtime.semtable`.
    pub semtable: Option<u64>,
    /// `runtime.sched` and the offset of `sched.lastpoll` in it.
    pub lastpoll: Option<u64>,
}

/// Everything needed to read Go runtime structures from one process.
///
/// The reader is generic over [`Memory`]; above `runtime` a target reads a
/// [`Source`] (a core or a live process), the default.
pub struct Target<M = Source> {
    pub(crate) mem: M,
    pub(crate) bin: GoBinary,
    /// Run-time address minus link-time address of the executable.
    pub(crate) bias: u64,
    pub(crate) layout: Layout,
    pub(crate) layout_source: LayoutSource,
    pub(crate) go_version: String,
    pub(crate) minor: u32,
    pub(crate) globals: Globals,
    pub(crate) threads: Vec<Thread>,
    /// Wait reason names indexed by `g.waitreason`.
    pub(crate) wait_reasons: Vec<String>,
    /// Problems met that did not stop the read.
    pub(crate) warnings: Vec<String>,
}

impl<M> Target<M> {
    /// The memory read.
    pub fn mem(&self) -> &M {
        &self.mem
    }
    /// The executable.
    pub fn bin(&self) -> &GoBinary {
        &self.bin
    }
    /// Run-time address minus link-time address of the executable (a PIE's
    /// load address; 0 otherwise).
    pub fn bias(&self) -> u64 {
        self.bias
    }
    /// Where the struct layouts came from.
    pub fn layout_source(&self) -> LayoutSource {
        self.layout_source
    }
    /// The Go release that built the binary (`go1.23.4`).
    pub fn go_version(&self) -> &str {
        &self.go_version
    }
    /// The threads, with their registers (none for a live process read
    /// without stopping it).
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }
    /// Wait reason names indexed by `g.waitreason`.
    pub fn wait_reasons(&self) -> &[String] {
        &self.wait_reasons
    }
    /// Problems met that did not stop the read.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl<M> std::fmt::Debug for Target<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("bin", &self.bin.path())
            .field("go", &self.go_version)
            .field("layout", &self.layout_source)
            .finish_non_exhaustive()
    }
}

/// More goroutines than this in `allgs` means the slice header is not
/// what it should be (wrong binary, corrupt core): 64 Mi goroutines would
/// need at least 128 GiB of stacks.
pub const MAX_GOROUTINES: u64 = 1 << 26;

/// The minor release number of a Go version string (`go1.23.4` -> 23).
pub fn go_minor(version: &str) -> Option<u32> {
    let rest = version.strip_prefix("go1.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl<M> Target<M> {
    /// The same target read through another memory source of the same
    /// process (what was learned from the binary and the globals' addresses
    /// is kept; threads are not).
    pub fn with_memory<N>(self, mem: N) -> Target<N> {
        let mut t = self.map_memory(|_| mem);
        t.threads.clear();
        t
    }

    /// The same target, its memory source wrapped or replaced by `f`
    /// (threads kept).
    pub fn map_memory<N>(self, f: impl FnOnce(M) -> N) -> Target<N> {
        Target {
            mem: f(self.mem),
            bin: self.bin,
            bias: self.bias,
            layout: self.layout,
            layout_source: self.layout_source,
            go_version: self.go_version,
            minor: self.minor,
            globals: self.globals,
            threads: self.threads,
            wait_reasons: self.wait_reasons,
            warnings: self.warnings,
        }
    }
}

impl<M: Memory> Target<M> {
    /// The target's word at byte `off` of `buf`, a copy of its memory (0
    /// past the end of `buf`), in the target's byte order.
    pub(crate) fn word_at(&self, buf: &[u8], off: u64) -> u64 {
        self.mem.endian().u64_at(buf, off)
    }

    /// Prepares to read `mem`, the memory of a process running `bin`.
    pub fn new(mem: M, bin: GoBinary, bias: u64, threads: Vec<Thread>) -> Result<Target<M>> {
        let go_version = bin.go_version().ok_or_else(|| {
            Error::NotGo(format!(
                "{}: no Go version found in the binary (no build info, no runtime.buildVersion); \
                 is it a Go program?",
                bin.path().display()
            ))
        })?;
        let minor = go_minor(&go_version).unwrap_or(0);
        let mut warnings = Vec::new();
        let dwarf = match bin.dwarf() {
            Ok(d) => d,
            Err(e) => {
                warnings.push(format!(
                    "DWARF unreadable ({e}); using the built-in layout table"
                ));
                None
            }
        };
        let from_dwarf = dwarf.map(Layout::from_dwarf);
        let (layout, layout_source) = match from_dwarf {
            Some(Ok(l)) => (l, LayoutSource::Dwarf),
            other => {
                if let Some(Err(e)) = other {
                    warnings.push(format!("DWARF layout incomplete ({e}); using the table"));
                }
                let l = Layout::for_version(minor).ok_or_else(|| {
                    Error::NotGo(format!(
                        "{}: built by {go_version}, which has no DWARF and no built-in layout \
                         (supported without DWARF: Go 1.21 to 1.26); rebuild without -ldflags=-w",
                        bin.path().display()
                    ))
                })?;
                (l, LayoutSource::Table)
            }
        };
        let mut t = Target {
            mem,
            bin,
            bias,
            layout,
            layout_source,
            go_version,
            minor,
            globals: Globals::default(),
            threads,
            wait_reasons: Vec::new(),
            warnings,
        };
        t.globals = t.find_globals()?;
        t.wait_reasons = wait_reasons::read(&t);
        Ok(t)
    }

    /// Link-time address of a runtime global: the symbol table, DWARF, or
    /// (stripped binaries) the code that uses it.
    pub fn global_link_addr(&self, name: &str) -> Option<u64> {
        if let Some((a, _)) = self.bin.symbol(name) {
            return Some(a);
        }
        if let Ok(Some(d)) = self.bin.dwarf() {
            if let Ok(Some(g)) = d.global(name) {
                return g.addr;
            }
        }
        None
    }

    fn find_globals(&self) -> Result<Globals> {
        let allgs = match self.global_link_addr("runtime.allgs") {
            Some(a) => a,
            None => crate::stripped::find_allgs(self).ok_or_else(|| {
                Error::NotGo(format!(
                    "{}: cannot find runtime.allgs (no symbols, no DWARF, and the code pattern \
                     of runtime.forEachG was not recognised)",
                    self.bin.path().display()
                ))
            })?,
        };
        let semtable = self
            .global_link_addr("runtime.semtable")
            .or_else(|| crate::stripped::find_semtable(self));
        let lastpoll = self.global_link_addr("runtime.sched").and_then(|s| {
            let d = self.bin.dwarf().ok().flatten()?;
            let off = crate::layout::field_offset(d, "runtime.schedt", "lastpoll").ok()?;
            Some(s + off)
        });
        Ok(Globals {
            allgs: allgs.wrapping_add(self.bias),
            semtable: semtable.map(|a| a.wrapping_add(self.bias)),
            lastpoll: lastpoll.map(|a| a.wrapping_add(self.bias)),
        })
    }

    /// The pointers in `runtime.allgs`.
    pub fn allgs(&self) -> Result<Vec<u64>> {
        let ptr = self.mem.read_ptr(self.globals.allgs)?;
        let len = self.mem.read_u64(self.globals.allgs + 8)?;
        let cap = self.mem.read_u64(self.globals.allgs + 16)?;
        if len > cap || len > MAX_GOROUTINES {
            return Err(Error::runtime(
                "runtime.allgs",
                format!("implausible slice header (len {len}, cap {cap}); wrong binary?"),
            ));
        }
        let n = usize::try_from(len).map_err(|_| Error::runtime("runtime.allgs", "too long"))?;
        Ok(self.mem.read_ptrs(ptr, n)?)
    }

    /// A goroutine's state as tracebacks name it: its wait reason when
    /// waiting, else its status (the runtime's `gStatusStrings`).
    pub fn state_of(&self, g: &crate::goroutines::RawGoroutine) -> &str {
        use crate::goroutines::status;
        if matches!(g.status, status::WAITING | status::LEAKED) && g.wait_reason != 0 {
            if let Some(r) = self.wait_reasons.get(g.wait_reason as usize) {
                if !r.is_empty() {
                    return r;
                }
            }
        }
        match g.status {
            status::IDLE => "idle",
            status::RUNNABLE => "runnable",
            status::RUNNING => "running",
            status::SYSCALL => "syscall",
            status::WAITING => "waiting",
            status::COPYSTACK => "copystack",
            status::PREEMPTED => "preempted",
            status::LEAKED => "leaked",
            _ => "unknown",
        }
    }

    /// Link-time pc for a run-time pc.
    pub fn link_pc(&self, pc: u64) -> u64 {
        pc.wrapping_sub(self.bias)
    }
}
