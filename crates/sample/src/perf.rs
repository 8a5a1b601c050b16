//! perf events: a task-clock sampling event on every thread of a process,
//! each with a ring buffer the kernel fills with the thread's user
//! registers and a copy of its user stack. The target is never stopped.
//!
//! One event is opened per thread. The kernel refuses to map the buffer
//! of an inherited per-thread event, so threads created later are found by
//! listing the process's threads again ([`Events::add_new_threads`]).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::records::{self, REGS_MASK};

/// `PERF_TYPE_SOFTWARE`.
const TYPE_SOFTWARE: u32 = 1;
/// `PERF_COUNT_SW_TASK_CLOCK`: the time the thread runs.
const SW_TASK_CLOCK: u64 = 1;
/// `PERF_SAMPLE_IP | TID | TIME | REGS_USER | STACK_USER`.
const SAMPLE_TYPE: u64 = 1 | (1 << 1) | (1 << 2) | (1 << 12) | (1 << 13);
/// The size of `perf_event_attr` this builds (`PERF_ATTR_SIZE_VER7`).
const ATTR_SIZE: usize = 128;
/// `perf_event_mmap_page`: where `data_head`, `data_tail`, `data_offset`
/// and `data_size` sit.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;

/// Flags of `perf_event_attr` (bit positions in the flags word).
const FLAG_EXCLUDE_KERNEL: u64 = 1 << 5;
const FLAG_EXCLUDE_HV: u64 = 1 << 6;

/// How the events are set up.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Nanoseconds of a thread's running time between two samples.
    pub period_ns: u64,
    /// Bytes of user stack copied with each sample (a multiple of 8; the
    /// kernel caps a record at 64 KiB).
    pub stack_bytes: u32,
    /// Pages of each ring buffer (a power of two).
    pub pages: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            period_ns: 10_000_000,
            stack_bytes: 32 * 1024,
            pages: 128,
        }
    }
}

/// The events of one process.
pub struct Events {
    pid: i32,
    cfg: Config,
    /// One ring per thread, with its id.
    rings: Vec<(i32, Ring)>,
    /// Kernel time is not sampled (perf_event_paranoid kept it out).
    pub user_only: bool,
    /// Samples the kernel dropped because a buffer was full.
    pub lost: u64,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("threads", &self.rings.len())
            .field("user_only", &self.user_only)
            .finish()
    }
}

struct Ring {
    fd: i32,
    base: *mut u8,
    len: usize,
    data: usize,
    mask: u64,
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are the mapping made in `Ring::open`, and
        // `fd` the event it maps; neither is used after this.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
            libc::close(self.fd);
        }
    }
}

fn attr(cfg: &Config, exclude_kernel: bool) -> [u8; ATTR_SIZE] {
    let mut a = [0u8; ATTR_SIZE];
    let mut put32 = |off: usize, v: u32| a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    put32(0, TYPE_SOFTWARE);
    put32(4, ATTR_SIZE as u32);
    put32(88, cfg.stack_bytes);
    let mut put64 = |off: usize, v: u64| a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    put64(8, SW_TASK_CLOCK);
    put64(16, cfg.period_ns);
    put64(24, SAMPLE_TYPE);
    let mut flags = FLAG_EXCLUDE_HV;
    if exclude_kernel {
        flags |= FLAG_EXCLUDE_KERNEL;
    }
    put64(40, flags);
    put64(80, REGS_MASK);
    // Wake a poll at every sample (wakeup_events, not a watermark).
    a[48..52].copy_from_slice(&1u32.to_ne_bytes());
    a
}

fn perf_event_open(attr: &[u8; ATTR_SIZE], tid: i32) -> io::Result<i32> {
    // SAFETY: `attr` is a whole `perf_event_attr` of the size it declares;
    // the kernel only reads it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            tid,
            -1i32,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd as i32)
    }
}

impl Ring {
    fn open(fd: i32, pages: usize) -> io::Result<Ring> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let len = page * (pages + 1);
        // SAFETY: a fresh shared read-write mapping of the event's buffer,
        // as perf_event_open(2) describes; checked for failure below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: `fd` is ours and not used after this.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        Ok(Ring {
            fd,
            base: base.cast(),
            len,
            data: page,
            mask: (page * pages) as u64 - 1,
        })
    }

    fn head(&self) -> &AtomicU64 {
        // SAFETY: `data_head` is an aligned u64 inside the first page of the
        // mapping, written by the kernel; read atomically.
        unsafe { &*(self.base.add(DATA_HEAD) as *const AtomicU64) }
    }
    fn tail(&self) -> &AtomicU64 {
        // SAFETY: as `head`; `data_tail` is written by us only.
        unsafe { &*(self.base.add(DATA_TAIL) as *const AtomicU64) }
    }

    /// Copies out every record written since the last drain (whole records
    /// only) into `out`, and hands the space back to the kernel.
    fn drain(&self, out: &mut Vec<u8>) {
        let head = self.head().load(Ordering::Acquire);
        let tail = self.tail().load(Ordering::Relaxed);
        let size = self.mask + 1;
        let avail = head.wrapping_sub(tail).min(size);
        let start = (tail & self.mask) as usize;
        let n = avail as usize;
        // SAFETY: the data area is `size` bytes after the first page; the
        // kernel does not write into [tail, head) until data_tail moves.
        let data = unsafe { std::slice::from_raw_parts(self.base.add(self.data), size as usize) };
        let first = n.min(size as usize - start);
        out.extend_from_slice(&data[start..start + first]);
        out.extend_from_slice(&data[..n - first]);
        self.tail()
            .store(tail.wrapping_add(avail), Ordering::Release);
    }
}

impl Events {
    /// Opens a sampling event on every thread of `pid`. Kernel time is
    /// sampled when allowed (it is then charged to the user code that
    /// entered the kernel, as Go's own profiler does); otherwise only user
    /// time, and [`Events::user_only`] says so.
    /// Sampling starts at once.
    pub fn open(pid: i32, cfg: &Config) -> Result<Events> {
        let mut ev = Events {
            pid,
            cfg: *cfg,
            rings: Vec::new(),
            user_only: false,
            lost: 0,
            scratch: Vec::new(),
        };
        ev.add_new_threads()?;
        if ev.rings.is_empty() {
            return Err(Error::Memory(gosleuth_memory::Error::NoSuchProcess { pid }));
        }
        Ok(ev)
    }

    /// Opens events on the threads created since the last call, and closes
    /// those of threads that exited (after their last samples were read).
    pub fn add_new_threads(&mut self) -> Result<()> {
        let pid = self.pid;
        let tids = gosleuth_memory::live::task_ids(pid)?;
        let mut gone = Vec::new();
        for (i, (tid, _)) in self.rings.iter().enumerate() {
            if tids.binary_search(tid).is_err() {
                gone.push(i);
            }
        }
        if !gone.is_empty() {
            let mut last = std::mem::take(&mut self.scratch);
            for &i in gone.iter().rev() {
                let (_, r) = self.rings.swap_remove(i);
                last.clear();
                r.drain(&mut last);
                // Their last samples are dropped: a thread that exited
                // has nothing left to say about where time goes now.
            }
            self.scratch = last;
        }
        for tid in tids {
            if self.rings.iter().any(|(t, _)| *t == tid) {
                continue;
            }
            let fd = match perf_event_open(&attr(&self.cfg, self.user_only), tid) {
                Ok(fd) => fd,
                Err(e) if !self.user_only && e.raw_os_error() == Some(libc::EACCES) => {
                    self.user_only = true;
                    match perf_event_open(&attr(&self.cfg, true), tid) {
                        Ok(fd) => fd,
                        Err(e) => return Err(open_error(pid, e)),
                    }
                }
                // The thread exited since the list was read.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => continue,
                Err(e) => return Err(open_error(pid, e)),
            };
            let ring = Ring::open(fd, self.cfg.pages).map_err(|e| Error::Perf {
                pid,
                what: format!("mapping a perf ring buffer failed: {e}"),
            })?;
            self.rings.push((tid, ring));
        }
        Ok(())
    }

    /// Waits until a buffer has a sample, or `timeout`.
    pub fn wait(&self, timeout: std::time::Duration) {
        let mut fds: Vec<libc::pollfd> = self
            .rings
            .iter()
            .map(|(_, r)| libc::pollfd {
                fd: r.fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = timeout.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: `fds` is a live array of `fds.len()` pollfd structs.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    }

    /// Calls `f` with every sample recorded since the last call.
    pub fn drain(&mut self, mut f: impl FnMut(&records::Sample<'_>)) -> usize {
        let mut n = 0;
        let mut buf = std::mem::take(&mut self.scratch);
        for (_, r) in &self.rings {
            buf.clear();
            r.drain(&mut buf);
            let mut at = 0;
            while let Some((_, size)) = buf.get(at..).and_then(records::header) {
                if size < 8 || at + size > buf.len() {
                    break;
                }
                match records::decode(&buf[at..at + size]) {
                    Ok(records::Record::Sample(s)) => {
                        n += 1;
                        f(&s);
                    }
                    Ok(records::Record::Lost(k)) => self.lost += k,
                    Ok(records::Record::Other(_)) | Err(_) => {}
                }
                at += size;
            }
        }
        self.scratch = buf;
        n
    }
}

/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

fn open_error(pid: i32, e: io::Error) -> Error {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let what = match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => format!(
            "perf_event_open was refused ({e}); kernel.perf_event_paranoid is {paranoid}: \
             sampling another user's process needs root or CAP_PERFMON, and any sampling \
             needs perf_event_paranoid of 2 or less (sysctl kernel.perf_event_paranoid=2)"
        ),
        Some(libc::ENOSYS) | Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) => {
            format!("this kernel has no perf events for sampling ({e})")
        }
        _ => format!("perf_event_open failed: {e}"),
    };
    Error::Perf { pid, what }
}
