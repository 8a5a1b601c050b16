//! A running process: memory through `process_vm_readv` (batched; falls
//! back to `/proc/PID/mem`), mappings from `/proc/PID/maps`, threads from
//! `/proc/PID/task`, registers through ptrace while frozen.
//!
//! Nothing is ever written into the target.

mod freeze;
pub mod maps;

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

use crate::{Arch, Endian, Error, Memory, Region, Result, Thread};
use freeze::Frozen;
pub use freeze::{Peek, peek};
pub use maps::MapEntry;

/// How to read a live process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Stop every thread (ptrace) for a consistent snapshot, within `budget`;
    /// the process is resumed when the [`LiveProcess`] is dropped.
    Freeze {
        /// Longest time to spend stopping the threads.
        budget: Duration,
    },
    /// Never stop the process; each read is repeated until two reads agree.
    NoStop,
}

impl Mode {
    /// The default freeze budget.
    pub const DEFAULT_BUDGET: Duration = Duration::from_millis(100);

    /// [`Mode::Freeze`] with [`Mode::DEFAULT_BUDGET`].
    pub fn freeze() -> Mode {
        Mode::Freeze {
            budget: Mode::DEFAULT_BUDGET,
        }
    }
}

/// How many times a [`Mode::NoStop`] read is attempted before giving up.
const TORN_TRIES: u32 = 8;
/// `IOV_MAX`.
const IOV_MAX: usize = 1024;

/// A running process being read.
///
/// `Sync` (reads from many threads are fine) but not `Send`: ptrace ties a
/// frozen process to the thread that froze it, and that thread must drop it.
pub struct LiveProcess {
    pid: i32,
    mode: Mode,
    frozen: Option<Frozen>,
    maps: Vec<MapEntry>,
    mem: OnceLock<Option<File>>,
    arch: Arch,
}

impl std::fmt::Debug for LiveProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveProcess")
            .field("pid", &self.pid)
            .field("mode", &self.mode)
            .finish()
    }
}

fn read_proc(pid: i32, what: &str) -> Result<Vec<u8>> {
    let path = format!("/proc/{pid}/{what}");
    std::fs::read(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NoSuchProcess { pid },
        io::ErrorKind::PermissionDenied => Error::Permission {
            pid,
            what: "read /proc of",
            source: e,
        },
        _ => Error::io(path, e),
    })
}

impl LiveProcess {
    /// Attaches to `pid`. With [`Mode::Freeze`] every thread is stopped
    /// before this returns, or the error says why and the process runs on.
    pub fn attach(pid: i32, mode: Mode) -> Result<LiveProcess> {
        // A process that is exiting refuses to be traced (EPERM) and its
        // threads vanish: say that it exited, not that tracing failed.
        LiveProcess::attach_running(pid, mode).map_err(|e| {
            if has_exited(pid) {
                Error::NoSuchProcess { pid }
            } else {
                e
            }
        })
    }

    fn attach_running(pid: i32, mode: Mode) -> Result<LiveProcess> {
        if pid <= 0 {
            return Err(Error::NoSuchProcess { pid });
        }
        let arch = if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::Amd64
        };
        let frozen = match mode {
            Mode::Freeze { budget } => Some(Frozen::freeze(pid, budget, arch)?),
            Mode::NoStop => None,
        };
        let text = read_proc(pid, "maps")?;
        let maps = maps::parse(&String::from_utf8_lossy(&text));
        if maps.is_empty() {
            // A zombie or kernel thread has no maps.
            return Err(Error::NoSuchProcess { pid });
        }
        Ok(LiveProcess {
            pid,
            mode,
            frozen,
            maps,
            mem: OnceLock::new(),
            arch,
        })
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }
    /// The mode it was attached with.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The target architecture (that of this machine).
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// How long stopping all threads took (frozen processes only).
    pub fn freeze_duration(&self) -> Option<Duration> {
        self.frozen.as_ref().map(|f| f.took)
    }
    /// The mappings as read at attach time.
    pub fn maps(&self) -> &[MapEntry] {
        &self.maps
    }
    /// Thread ids: the stopped ones when frozen, else `/proc/PID/task` now.
    pub fn tids(&self) -> Result<Vec<i32>> {
        match &self.frozen {
            Some(f) => Ok(f.tids()),
            None => freeze::list_tasks(self.pid),
        }
    }
    /// Threads with registers; needs a frozen process.
    pub fn threads(&self) -> Result<Vec<Thread>> {
        let Some(f) = &self.frozen else {
            return Err(Error::Sys {
                pid: self.pid,
                tid: self.pid,
                what: "reading registers without freezing",
                source: io::Error::new(io::ErrorKind::Unsupported, "attach with Mode::Freeze"),
            });
        };
        Ok(f.registers()
            .iter()
            .map(|&(tid, regs)| Thread {
                tid,
                regs,
                signal: 0,
            })
            .collect())
    }
    /// `/proc/PID/auxv` as (key, value) pairs.
    pub fn auxv(&self) -> Result<Vec<(u64, u64)>> {
        let raw = read_proc(self.pid, "auxv")?;
        Ok(raw
            .chunks_exact(16)
            .map(|c| {
                let k = u64::from_ne_bytes(c[..8].try_into().unwrap_or_default());
                let v = u64::from_ne_bytes(c[8..].try_into().unwrap_or_default());
                (k, v)
            })
            .take_while(|(k, _)| *k != 0)
            .collect())
    }
    /// `/proc/PID/comm`.
    pub fn command(&self) -> Result<String> {
        Ok(String::from_utf8_lossy(&read_proc(self.pid, "comm")?)
            .trim_end()
            .to_string())
    }
    /// `/proc/PID/cmdline`, arguments separated by spaces.
    pub fn cmdline(&self) -> Result<String> {
        let raw = read_proc(self.pid, "cmdline")?;
        Ok(raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" "))
    }
    /// `/proc/PID/stat` fields after the command: state, ppid, pgrp, session.
    pub fn stat(&self) -> Result<(char, i32, i32, i32, u32)> {
        let raw = read_proc(self.pid, "stat")?;
        let s = String::from_utf8_lossy(&raw);
        let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
        let state = f.first().and_then(|s| s.chars().next()).unwrap_or('?');
        let uid = read_proc(self.pid, "status")
            .ok()
            .and_then(|st| {
                let st = String::from_utf8_lossy(&st).into_owned();
                st.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().next().and_then(|u| u.parse().ok()))
            })
            .unwrap_or(0);
        Ok((state, num(1), num(2), num(3), uid))
    }

    /// Resumes the process now (also done on drop).
    pub fn resume(&mut self) {
        if let Some(mut f) = self.frozen.take() {
            f.resume();
        }
    }

    fn map_err(&self, e: io::Error, addr: u64, len: usize) -> Error {
        match e.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ESRCH) => Error::NoSuchProcess { pid: self.pid },
            Some(Errno::EPERM | Errno::EACCES) => Error::Permission {
                pid: self.pid,
                what: "read the memory of",
                source: e,
            },
            _ => self.unmapped(addr, len),
        }
    }

    fn unmapped(&self, addr: u64, len: usize) -> Error {
        let source_name = format!("process {}", self.pid);
        match self.map_at(addr) {
            Some(m) if !m.perms.read => Error::Unreadable {
                addr,
                source_name,
                why: format!(
                    "mapping {:#x}-{:#x} {} has no read permission",
                    m.start, m.end, m.path
                ),
            },
            Some(m) => Error::Unreadable {
                addr,
                source_name,
                why: format!(
                    "the kernel refused the read in {:#x}-{:#x} {}",
                    m.start, m.end, m.path
                ),
            },
            None => Error::Unmapped {
                addr,
                len,
                source_name,
            },
        }
    }

    fn map_at(&self, addr: u64) -> Option<&MapEntry> {
        let i = self.maps.partition_point(|m| m.start <= addr);
        let m = self.maps.get(i.checked_sub(1)?)?;
        (addr < m.end).then_some(m)
    }

    /// One `process_vm_readv` of a single range: the byte count read.
    fn vm_read(&self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let remote = RemoteIoVec {
            base: addr as usize,
            len: buf.len(),
        };
        Ok(process_vm_readv(
            Pid::from_raw(self.pid),
            &mut [IoSliceMut::new(buf)],
            &[remote],
        )?)
    }

    fn mem_file(&self) -> Option<&File> {
        self.mem
            .get_or_init(|| File::open(format!("/proc/{}/mem", self.pid)).ok())
            .as_ref()
    }

    /// One consistent-or-not read of the whole range.
    pub fn read_once(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        let mut fallback = false;
        while done < buf.len() {
            let a = addr + done as u64;
            let r = if fallback {
                let Some(f) = self.mem_file() else {
                    return Err(Error::Permission {
                        pid: self.pid,
                        what: "read the memory (process_vm_readv and /proc/PID/mem) of",
                        source: io::Error::from(io::ErrorKind::PermissionDenied),
                    });
                };
                f.read_at(&mut buf[done..], a)
            } else {
                self.vm_read(a, &mut buf[done..])
            };
            match r {
                Ok(0) => return Err(self.unmapped(a, buf.len() - done)),
                Ok(n) => done += n,
                Err(e)
                    if !fallback
                        && matches!(
                            e.raw_os_error().map(Errno::from_raw),
                            Some(Errno::ENOSYS | Errno::EPERM)
                        ) =>
                {
                    fallback = true
                }
                Err(e) if !fallback && e.raw_os_error() == Some(Errno::EFAULT as i32) => {
                    // Unmapped or unreadable in the target; /proc/PID/mem would
                    // read PROT_NONE pages (FOLL_FORCE), which a core cannot: refuse.
                    return Err(self.unmapped(a, buf.len() - done));
                }
                Err(e) => {
                    // The process may have exited meanwhile.
                    if std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
                        return Err(self.map_err(e, a, buf.len() - done));
                    }
                    return Err(Error::NoSuchProcess { pid: self.pid });
                }
            }
        }
        Ok(())
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        self.resume();
    }
}

/// True when `pid` is gone or a zombie (it exited; its parent has not
/// reaped it yet).
/// The process tracing thread `tid` of process `pid` (`TracerPid` of
/// /proc/PID/task/TID/status), with its command name, or `None` when it is
/// not traced (or its status cannot be read).
pub fn tracer_of(pid: i32, tid: i32) -> Option<(i32, String)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    let tracer: i32 = status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))?
        .trim()
        .parse()
        .ok()?;
    if tracer <= 0 {
        return None;
    }
    let command = std::fs::read_to_string(format!("/proc/{tracer}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_else(|_| "?".to_string());
    Some((tracer, command))
}

/// The thread ids of `pid`, sorted.
pub fn task_ids(pid: i32) -> Result<Vec<i32>> {
    freeze::list_tasks(pid)
}

pub fn has_exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| matches!(state, 'Z' | 'X' | 'x')),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

impl Memory for LiveProcess {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        if addr.checked_add(buf.len() as u64).is_none() {
            return Err(self.unmapped(addr, buf.len()));
        }
        if let Some(f) = &self.frozen {
            if f.thawed() {
                return Err(Error::Thawed { pid: self.pid });
            }
            return self.read_once(addr, buf);
        }
        if buf.is_empty() {
            return Ok(());
        }
        // Not stopped: read until two consecutive reads agree.
        self.read_once(addr, buf)?;
        let mut again = vec![0u8; buf.len()];
        for _ in 1..TORN_TRIES {
            self.read_once(addr, &mut again)?;
            if again == *buf {
                return Ok(());
            }
            buf.copy_from_slice(&again);
        }
        Err(Error::Torn {
            pid: self.pid,
            addr,
            len: buf.len(),
            tries: TORN_TRIES,
        })
    }

    fn endian(&self) -> Endian {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }

    fn regions(&self) -> Vec<Region> {
        self.maps
            .iter()
            .map(|m| Region {
                start: m.start,
                end: m.end,
                perms: m.perms,
                readable: m.perms.read
                    && !matches!(m.path.as_str(), "[vvar]" | "[vvar_vclock]" | "[vsyscall]"),
                path: (!m.path.is_empty()).then(|| m.path.clone()),
            })
            .collect()
    }

    fn prefers_batches(&self) -> bool {
        true
    }

    fn read_many(&self, reqs: &mut [(u64, &mut [u8])]) -> Vec<Result<()>> {
        if self.frozen.as_ref().is_none_or(|f| f.thawed()) {
            return reqs.iter_mut().map(|(a, b)| self.read_at(*a, b)).collect();
        }
        self.read_batch(reqs)
    }
}

impl LiveProcess {
    /// Reads every request once, in batches of `process_vm_readv` (torn
    /// reads of a running process are not retried: for readers that accept
    /// them, such as a sampler).
    pub fn read_batch(&self, reqs: &mut [(u64, &mut [u8])]) -> Vec<Result<()>> {
        let mut out: Vec<Result<()>> = Vec::with_capacity(reqs.len());
        for chunk in reqs.chunks_mut(IOV_MAX) {
            let remote: Vec<RemoteIoVec> = chunk
                .iter()
                .map(|(a, b)| RemoteIoVec {
                    base: *a as usize,
                    len: b.len(),
                })
                .collect();
            let mut local: Vec<IoSliceMut<'_>> =
                chunk.iter_mut().map(|(_, b)| IoSliceMut::new(b)).collect();
            let n = process_vm_readv(Pid::from_raw(self.pid), &mut local, &remote);
            drop(local);
            let mut n = n.unwrap_or(0);
            // Whole iovecs up to the first short one succeeded; redo the rest one by one.
            for (a, b) in chunk.iter_mut() {
                if n >= b.len() {
                    n -= b.len();
                    out.push(Ok(()));
                } else {
                    n = 0;
                    out.push(self.read_once(*a, b));
                }
            }
        }
        out
    }
}
