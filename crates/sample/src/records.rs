//! Decoding the records a perf event ring buffer holds: the sample record
//! of the layout [`crate::perf`] asks for, and the loss records.
//!
//! The bytes come from the kernel, but they are decoded as untrusted input
//! all the same (a fuzz target runs over [`decode`]): a short or
//! inconsistent record is an error, never a panic.

/// `PERF_RECORD_LOST`.
pub const RECORD_LOST: u32 = 2;
/// `PERF_RECORD_SAMPLE`.
pub const RECORD_SAMPLE: u32 = 9;

/// The registers each sample carries, in the order the kernel writes them
/// (`PERF_REG_X86_BP`, `_SP`, `_IP`: bits 6, 7 and 8 of the mask).
pub const REGS_MASK: u64 = (1 << 6) | (1 << 7) | (1 << 8);
const NREGS: usize = 3;

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A thread was caught running.
    Sample(Sample<'a>),
    /// The buffer overflowed and this many samples were dropped.
    Lost(u64),
    /// A record type this sampler does not use.
    Other(u32),
}

/// A sample: where a thread was, and a copy of its user stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample<'a> {
    /// The process (thread group) id.
    pub pid: u32,
    /// The thread id.
    pub tid: u32,
    /// `perf_clock` nanoseconds.
    pub time: u64,
    /// The user registers, or `None` for a thread caught without a user
    /// context (a kernel thread).
    pub regs: Option<UserRegs>,
    /// The user stack from `sp` up, as much as the kernel copied.
    pub stack: &'a [u8],
}

/// The user-mode registers of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRegs {
    pub bp: u64,
    pub sp: u64,
    pub ip: u64,
}

/// What went wrong decoding a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("perf record of type {ty}: {what}")]
pub struct DecodeError {
    pub ty: u32,
    pub what: String,
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
    ty: u32,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(end) => {
                let s = &self.b[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err(DecodeError {
                ty: self.ty,
                what: format!(
                    "{what} needs {n} bytes at offset {} of a {}-byte record",
                    self.at,
                    self.b.len()
                ),
            }),
        }
    }
    fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_ne_bytes(a))
    }
    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_ne_bytes(a))
    }
}

/// The header of the record at the start of `b`: (type, total size).
pub fn header(b: &[u8]) -> Option<(u32, usize)> {
    let h = b.get(..8)?;
    let ty = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
    let size = u16::from_ne_bytes([h[6], h[7]]) as usize;
    Some((ty, size))
}

/// Decodes one whole record (header included), as written for the sample
/// layout `IP | TID | TIME | REGS_USER | STACK_USER` with [`REGS_MASK`].
pub fn decode(b: &[u8]) -> Result<Record<'_>, DecodeError> {
    let Some((ty, size)) = header(b) else {
        return Err(DecodeError {
            ty: 0,
            what: format!("a record header needs 8 bytes, {} given", b.len()),
        });
    };
    if size < 8 || size > b.len() {
        return Err(DecodeError {
            ty,
            what: format!("header says {size} bytes, {} available", b.len()),
        });
    }
    let mut c = Cursor {
        b: &b[..size],
        at: 8,
        ty,
    };
    match ty {
        RECORD_LOST => {
            let _id = c.u64("the event id")?;
            Ok(Record::Lost(c.u64("the lost count")?))
        }
        RECORD_SAMPLE => {
            let _ip = c.u64("the ip")?;
            let pid = c.u32("the pid")?;
            let tid = c.u32("the tid")?;
            let time = c.u64("the time")?;
            let abi = c.u64("the register ABI")?;
            let regs = if abi == 0 {
                None
            } else {
                let mut r = [0u64; NREGS];
                for v in &mut r {
                    *v = c.u64("a register")?;
                }
                Some(UserRegs {
                    bp: r[0],
                    sp: r[1],
                    ip: r[2],
                })
            };
            let size = c.u64("the stack size")?;
            let stack = if size == 0 {
                &[][..]
            } else {
                let n = usize::try_from(size).map_err(|_| DecodeError {
                    ty,
                    what: format!("stack size {size} does not fit in memory"),
                })?;
                let data = c.take(n, "the stack copy")?;
                let dynamic = c.u64("the stack's dynamic size")?;
                // The kernel copies `size` bytes but only `dyn_size` of them
                // are the stack (the rest is padding past its top).
                let keep = usize::try_from(dynamic).unwrap_or(usize::MAX).min(n);
                &data[..keep]
            };
            Ok(Record::Sample(Sample {
                pid,
                tid,
                time,
                regs,
                stack,
            }))
        }
        other => Ok(Record::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_bytes(stack: &[u8], dynamic: u64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&RECORD_SAMPLE.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes()); // size, patched below
        b.extend_from_slice(&0x401000u64.to_ne_bytes());
        b.extend_from_slice(&7u32.to_ne_bytes());
        b.extend_from_slice(&8u32.to_ne_bytes());
        b.extend_from_slice(&99u64.to_ne_bytes());
        b.extend_from_slice(&2u64.to_ne_bytes());
        for r in [1u64, 2, 3] {
            b.extend_from_slice(&r.to_ne_bytes());
        }
        b.extend_from_slice(&(stack.len() as u64).to_ne_bytes());
        b.extend_from_slice(stack);
        if !stack.is_empty() {
            b.extend_from_slice(&dynamic.to_ne_bytes());
        }
        let n = b.len() as u16;
        b[6..8].copy_from_slice(&n.to_ne_bytes());
        b
    }

    #[test]
    fn a_sample_keeps_only_the_dynamic_part_of_the_stack() {
        let b = sample_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 8);
        let Ok(Record::Sample(s)) = decode(&b) else {
            panic!("not a sample");
        };
        assert_eq!((s.pid, s.tid, s.time), (7, 8, 99));
        assert_eq!(
            s.regs,
            Some(UserRegs {
                bp: 1,
                sp: 2,
                ip: 3
            })
        );
        assert_eq!(s.stack, &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = sample_bytes(&[0; 16], 16);
        for n in 0..b.len() {
            let mut t = b[..n].to_vec();
            if t.len() >= 8 {
                let sz = n as u16;
                t[6..8].copy_from_slice(&sz.to_ne_bytes());
            }
            assert!(decode(&t).is_err(), "{n} bytes decoded");
        }
    }
}
