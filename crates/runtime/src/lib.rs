//! Go runtime structures read over a [`Memory`](gosleuth_memory::Memory): every goroutine of a core
//! file or a live process, with stacks unwound by pclntab, inlined calls
//! named, wait reasons and labels read from the target, and (on request)
//! the wait graph of channels and semaphores.
//!
//! Layouts come from the binary's DWARF, or from a per-release table for
//! binaries without it. Everything ends in the shared model
//! ([`gosleuth_model::Snapshot`]), so grouping, diagnosis and rendering do
//! not care where goroutines came from.

pub mod capture;
pub mod error;
pub mod filter;
pub mod frames;
pub mod gcstats;
pub mod goroutines;
pub mod grouping;
pub mod labels;
pub mod layout;
mod layout_table;
pub mod prefetch;
mod sorted_index;
pub mod source;
mod stripped;
pub mod symbolize;
pub mod target;
pub mod threads;
pub mod unwind;
pub mod values;
mod wait_reason_table;
mod wait_reasons;
pub mod waits;

use std::path::Path;

use gosleuth_gobin::GoBinary;
use gosleuth_memory::{CoreFile, LiveProcess, Mode};
use gosleuth_model::Snapshot;

pub use capture::{Capture, Now, Options, View};
pub use error::{Error, Result};
pub use prefetch::Prefetched;
pub use source::Source;
pub use target::{LayoutSource, Target};

/// Opens a core and the binary it was taken from, ready to read.
pub fn open_core(binary: &Path, core: &Path) -> Result<Target<CoreFile>> {
    let bin = GoBinary::open(binary)?;
    let mem = CoreFile::open(core, binary)?;
    let bias = mem.load_bias();
    let threads = mem.threads().to_vec();
    Target::new(mem, bin, bias, threads)
}

/// Reads every goroutine of a core.
pub fn capture_core(binary: &Path, core: &Path, opts: &Options) -> Result<Capture> {
    let t = open_core(binary, core)?;
    let mut c = Capture::read(t, core.display().to_string(), None, opts)?;
    c.symbolize();
    Ok(c.map_memory(Source::Core))
}

/// Reads every goroutine of a core into a [`Snapshot`].
pub fn read_core(binary: &Path, core: &Path, opts: &Options) -> Result<Snapshot> {
    Ok(capture_core(binary, core, opts)?.snapshot())
}

/// The monotonic clock (what Go's `nanotime` reads).
fn monotonic_nanos() -> i64 {
    // CLOCK_MONOTONIC cannot fail on Linux; 0 (time unknown) if it did.
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map_or(0, |ts| ts.tv_sec() * 1_000_000_000 + ts.tv_nsec())
}

/// Reads every goroutine of a live process. With [`Mode::Freeze`] the
/// process is stopped only while memory is copied (goroutine headers,
/// labels, channel and semaphore queues, the live part of every stack),
/// not while unwinding and symbolizing, and it is resumed before this
/// returns, also on errors.
pub fn capture_live(
    pid: i32,
    mode: Mode,
    binary: Option<&Path>,
    opts: &Options,
) -> Result<Capture> {
    // Whatever failed, a process that exited meanwhile is the reason.
    capture_running(pid, mode, binary, opts)
        .map(|c| c.map_memory(Source::Live))
        .map_err(|e| {
            if gosleuth_memory::live::has_exited(pid) {
                Error::Memory(gosleuth_memory::Error::NoSuchProcess { pid })
            } else {
                e
            }
        })
}

/// Opens a live process for reading without ever stopping it (the
/// sampler's way in): its binary (`/proc/PID/exe` unless `binary` is
/// given; that path works across mount namespaces, so a container's
/// process is read from the host), its load bias and its runtime layout.
pub fn open_live(pid: i32, binary: Option<&Path>) -> Result<Target<LiveProcess>> {
    let bin = open_binary_of(pid, binary)?;
    let mem = LiveProcess::attach(pid, Mode::NoStop)?;
    let bias = live_bias(&mem, &bin, pid);
    Target::new(mem, bin, bias, Vec::new())
}

/// The executable of `pid` (or `binary`), with errors that name the
/// missing privilege or the exited process.
fn open_binary_of(pid: i32, binary: Option<&Path>) -> Result<GoBinary> {
    let exe = match binary {
        Some(b) => b.to_path_buf(),
        None => std::path::PathBuf::from(format!("/proc/{pid}/exe")),
    };
    GoBinary::open(&exe).map_err(|e| match &e {
        gosleuth_gobin::Error::Io { source, .. }
            if binary.is_none() && source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            Error::Permission {
                pid,
                what: format!("{} is unreadable", exe.display()),
            }
        }
        gosleuth_gobin::Error::Io { source, .. }
            if binary.is_none() && source.kind() == std::io::ErrorKind::NotFound =>
        {
            Error::Memory(gosleuth_memory::Error::NoSuchProcess { pid })
        }
        _ => Error::Binary(e),
    })
}

fn capture_running(
    pid: i32,
    mode: Mode,
    binary: Option<&Path>,
    opts: &Options,
) -> Result<Capture<Prefetched<LiveProcess>>> {
    let bin = open_binary_of(pid, binary)?;
    // Everything that needs only the binary is done before stopping.
    warm_up(&bin);
    let freeze = matches!(mode, Mode::Freeze { .. });
    // Learn the target, and copy every g and stack, without stopping it:
    // once it is stopped, only the stacks of goroutines that ran since are
    // copied again, into buffers whose pages are already in memory.
    let running = LiveProcess::attach(pid, Mode::NoStop)?;
    let bias = live_bias(&running, &bin, pid);
    let target = Target::new(Prefetched::new(running), bin, bias, Vec::new())?;
    let (pre, spare) = if freeze {
        match prefetch::precopy_stacks(&target) {
            Ok(p) => {
                let spare = prefetch::copy_buffer(p.g_bytes + p.g_bytes / 8 + (1 << 20));
                (Some(p), spare)
            }
            Err(_) => (None, Vec::new()),
        }
    } else {
        (None, Vec::new())
    };
    let stopped_at = std::time::Instant::now();
    let mem = LiveProcess::attach(pid, mode)?;
    // Registers need a stopped thread: without a freeze, running
    // goroutines are shown where they last entered the scheduler.
    let threads = if freeze { mem.threads()? } else { Vec::new() };
    let now = monotonic_nanos();
    let mut t = target.with_memory(Prefetched::new(mem).with_spare_buffer(spare));
    t.threads = threads;
    if mode == Mode::NoStop {
        t.warnings.push(
            "read without stopping the process: running goroutines are shown at their last \
             scheduling point, and goroutines that changed during the read may be inconsistent"
                .into(),
        );
    }
    let mut stopped_for = None;
    let mut c = Capture::read_with(t, format!("pid {pid}"), Some(now), opts, |t, gs| {
        prefetch::prefetch_stacks(t, gs, pre);
        t.mem.inner.resume();
        stopped_for = Some(stopped_at.elapsed());
    })?;
    if freeze {
        c.frozen_for = stopped_for;
    }
    if gosleuth_memory::live::has_exited(pid) {
        c.target.warnings.push(format!(
            "process {pid} exited while it was being read: what had not been copied by \
             then is missing (some stacks may be incomplete)"
        ));
    }
    c.symbolize();
    Ok(c)
}

/// Loads what reading a target needs from the binary alone (DWARF
/// indexes, the function table), so that it is not done while a live
/// process is stopped.
fn warm_up(bin: &GoBinary) {
    if let Ok(Some(d)) = bin.dwarf() {
        let _ = layout::Layout::from_dwarf(d);
        let _ = d.global("runtime.allgs");
    }
    let _ = bin.go_version();
    let _ = bin.symbol("runtime.allgs");
}

/// Reads every goroutine of a live process into a [`Snapshot`].
pub fn read_live(pid: i32, mode: Mode, opts: &Options) -> Result<Snapshot> {
    Ok(capture_live(pid, mode, None, opts)?.snapshot())
}

/// Load bias of a PIE: where the executable's first mapping starts.
fn live_bias(mem: &LiveProcess, bin: &GoBinary, pid: i32) -> u64 {
    if !bin.is_pie() {
        return 0;
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    mem.maps()
        .iter()
        .find(|m| {
            m.offset == 0
                && exe
                    .as_ref()
                    .is_some_and(|e| Some(m.path.as_str()) == e.to_str())
        })
        .map_or(0, |m| m.start)
}
