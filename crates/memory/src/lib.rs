//! Memory sources: ELF core files and live processes behind one trait.
//!
//! * [`CoreFile`]: an ELF core (kernel or `gcore`) plus the executable it was
//!   taken from, memory-mapped; reads are a binary search and a copy.
//! * [`LiveProcess`]: a running process read with `process_vm_readv`,
//!   optionally frozen (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`, bounded in time,
//!   always resumed).
//! * [`write_core`]: writes an ELF core of a [`LiveProcess`] that gdb, dlv
//!   and [`CoreFile`] open.
//!
//! Everything downstream reads through [`Memory`] and does not care which
//! one it has.

mod bytes;
pub mod core;
mod error;
mod exe;
pub mod live;
mod regs;
pub mod writer;

pub use crate::core::{CoreFile, MappedFile, ProcessInfo, SigInfo};
pub use crate::error::{Error, Result};
pub use crate::live::{LiveProcess, Mode};
pub use crate::regs::{Arch, Registers};
pub use crate::writer::{WriteSummary, write_core};

/// Byte order of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first (amd64, arm64 Linux).
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// Decodes a `u64` from 8 bytes.
    pub fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
    /// Decodes a `u32` from 4 bytes.
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    /// Decodes a `u16` from 2 bytes.
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    /// The `u64` at byte `off` of `buf`; 0 when `buf` ends before it (a
    /// struct copied short reads as zeroes past its end).
    pub fn u64_at(self, buf: &[u8], off: u64) -> u64 {
        usize::try_from(off)
            .ok()
            .and_then(|o| buf.get(o..o.checked_add(8)?))
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| self.u64(b))
    }
    /// The `u32` at byte `off` of `buf`; 0 when `buf` ends before it.
    pub fn u32_at(self, buf: &[u8], off: u64) -> u32 {
        usize::try_from(off)
            .ok()
            .and_then(|o| buf.get(o..o.checked_add(4)?))
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| self.u32(b))
    }
    /// The unsigned integer stored in the first 8 bytes of `b`, or in all
    /// of it when shorter (a narrower integer, zero-extended).
    pub fn uint(self, b: &[u8]) -> u64 {
        let n = b.len().min(8);
        let mut w = [0u8; 8];
        match self {
            Endian::Little => {
                w[..n].copy_from_slice(&b[..n]);
                u64::from_le_bytes(w)
            }
            Endian::Big => {
                w[8 - n..].copy_from_slice(&b[..n]);
                u64::from_be_bytes(w)
            }
        }
    }
    /// The 8-byte words of `buf`, in order (a short tail is left out).
    pub fn words(self, buf: &[u8]) -> impl Iterator<Item = u64> + '_ {
        buf.chunks_exact(8).map(move |c| self.uint(c))
    }
}

/// Access permissions of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

/// A range of the address space, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Permissions the process had.
    pub perms: Perms,
    /// Whether the bytes can be read from this source (dumped, or
    /// available from a mapped file, or a live readable mapping).
    pub readable: bool,
    /// The file mapped there, if any.
    pub path: Option<String>,
}

/// One thread of the process with its registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// Kernel thread id (what Go's `m.procid` holds).
    pub tid: i32,
    /// General-purpose registers.
    pub regs: Registers,
    /// Signal pending on the thread when the core was written (0 if none).
    pub signal: i32,
}

/// Read access to the memory of one process.
///
/// Multi-byte helpers decode with the source's [`Endian`]; pointers are 8
/// bytes (only 64-bit targets are supported).
pub trait Memory {
    /// Fills `buf` with the bytes at `addr`; all or nothing.
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()>;

    /// Byte order of the target.
    fn endian(&self) -> Endian;

    /// The address ranges of the process, sorted by start.
    fn regions(&self) -> Vec<Region>;

    /// True when few large reads are much cheaper than many small ones (a
    /// live process: every read is a system call that pins pages); false
    /// for memory-mapped sources, where small reads are just copies.
    fn prefers_batches(&self) -> bool {
        false
    }

    /// Hints that pages read so far will not be needed again soon: a
    /// memory-mapped source drops them from this process's resident set
    /// (they stay in the page cache), so reading a multi-gigabyte core
    /// does not grow the reader's RSS. Reads keep working afterwards.
    fn release_cached_pages(&self) {}

    /// A buffer of at least `len` bytes whose pages are already faulted in,
    /// if the source keeps one: a reader that copies a stopped process's
    /// memory takes it instead of allocating (page faults are most of the
    /// cost of filling a fresh buffer). `None` by default.
    fn spare_buffer(&self, _len: usize) -> Option<Vec<u8>> {
        None
    }

    /// Reads several ranges; live sources batch them into few system calls.
    /// Returns one result per request, in order.
    fn read_many(&self, reqs: &mut [(u64, &mut [u8])]) -> Vec<Result<()>> {
        reqs.iter_mut().map(|(a, b)| self.read_at(*a, b)).collect()
    }

    /// Reads a `u8`.
    fn read_u8(&self, addr: u64) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read_at(addr, &mut b)?;
        Ok(b[0])
    }
    /// Reads a `u16` in the target's byte order.
    fn read_u16(&self, addr: u64) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read_at(addr, &mut b)?;
        Ok(self.endian().u16(b))
    }
    /// Reads a `u32` in the target's byte order.
    fn read_u32(&self, addr: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read_at(addr, &mut b)?;
        Ok(self.endian().u32(b))
    }
    /// Reads a `u64` in the target's byte order.
    fn read_u64(&self, addr: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_at(addr, &mut b)?;
        Ok(self.endian().u64(b))
    }
    /// Reads a pointer (8 bytes).
    fn read_ptr(&self, addr: u64) -> Result<u64> {
        self.read_u64(addr)
    }
    /// Reads `n` consecutive pointers.
    fn read_ptrs(&self, addr: u64, n: usize) -> Result<Vec<u64>> {
        let len = n.checked_mul(8).ok_or_else(|| Error::Unmapped {
            addr,
            len: usize::MAX,
            source_name: "request".into(),
        })?;
        let buf = self.read_vec(addr, len)?;
        let e = self.endian();
        Ok(buf
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                e.u64(a)
            })
            .collect())
    }
    /// Reads `len` bytes into a new vector.
    fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read_at(addr, &mut v)?;
        Ok(v)
    }
    /// Reads a Go string header (`ptr`, `len`) at `addr` and its bytes, up
    /// to `max` bytes.
    fn read_go_string(&self, addr: u64, max: usize) -> Result<Vec<u8>> {
        let ptr = self.read_ptr(addr)?;
        let len = self.read_u64(addr.wrapping_add(8))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(max);
        self.read_vec(ptr, len)
    }
}

impl<M: Memory + ?Sized> Memory for &M {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(addr, buf)
    }
    fn endian(&self) -> Endian {
        (**self).endian()
    }
    fn regions(&self) -> Vec<Region> {
        (**self).regions()
    }
    fn read_many(&self, reqs: &mut [(u64, &mut [u8])]) -> Vec<Result<()>> {
        (**self).read_many(reqs)
    }
    fn release_cached_pages(&self) {
        (**self).release_cached_pages()
    }
    fn prefers_batches(&self) -> bool {
        (**self).prefers_batches()
    }
    fn spare_buffer(&self, len: usize) -> Option<Vec<u8>> {
        (**self).spare_buffer(len)
    }
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}
    fn sync<T: Sync>() {}

    /// Cores can be read from rayon workers; a live process can be shared
    /// by reference (it must be dropped on the thread that froze it).
    #[test]
    fn thread_safety() {
        send_sync::<crate::CoreFile>();
        sync::<crate::LiveProcess>();
    }

    /// The one endian-aware reader of copied target memory: both byte
    /// orders, short buffers read as zeroes, narrow integers zero-extended.
    #[test]
    fn endian_reads() {
        use crate::Endian::{Big, Little};
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(Little.u64_at(&b, 1), 0x0908_0706_0504_0302);
        assert_eq!(Big.u64_at(&b, 1), 0x0203_0405_0607_0809);
        assert_eq!(Little.u64_at(&b, 2), 0, "past the end");
        assert_eq!(Little.u64_at(&b, u64::MAX), 0);
        assert_eq!(Big.u32_at(&b, 5), 0x0607_0809);
        assert_eq!(Little.uint(&[0x34, 0x12]), 0x1234);
        assert_eq!(Big.uint(&[0x12, 0x34]), 0x1234);
        assert_eq!(Little.uint(&b), 0x0807_0605_0403_0201, "first 8 bytes");
        assert_eq!(
            Little.words(&b).collect::<Vec<_>>(),
            vec![0x0807_0605_0403_0201]
        );
    }
}
