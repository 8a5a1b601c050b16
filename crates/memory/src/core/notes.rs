//! `PT_NOTE` contents of a core: threads (`NT_PRSTATUS`), the process
//! (`NT_PRPSINFO`), the fatal signal (`NT_SIGINFO`), the auxiliary vector
//! (`NT_AUXV`) and the mapped files (`NT_FILE`).

use crate::bytes::Bytes;
use crate::{Arch, Registers, Thread};

pub(crate) const NT_PRSTATUS: u32 = 1;
pub(crate) const NT_PRPSINFO: u32 = 3;
pub(crate) const NT_AUXV: u32 = 6;
pub(crate) const NT_SIGINFO: u32 = 0x5349_4749;
pub(crate) const NT_FILE: u32 = 0x4649_4c45;

pub(crate) const AT_PAGESZ: u64 = 6;
pub(crate) const AT_ENTRY: u64 = 9;

/// Offset of `pr_reg` in `struct elf_prstatus` (64-bit).
pub(crate) const PRSTATUS_REGS: u64 = 112;
/// Size of `struct elf_prpsinfo` (64-bit).
pub(crate) const PRPSINFO_SIZE: usize = 136;

/// The process as `NT_PRPSINFO` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// User id.
    pub uid: u32,
    /// Command name (`comm`, at most 15 bytes).
    pub command: String,
    /// The start of the command line (at most 80 bytes).
    pub args: String,
}

/// The signal that killed the process (`NT_SIGINFO`; the first one when
/// gdb wrote one per thread).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// Signal number (`SIGSEGV` = 11, `SIGABRT` = 6, `SIGQUIT` = 3).
    pub signo: i32,
    /// `si_code` (`SI_USER` 0, `SI_TKILL` -6, `SEGV_MAPERR` 1, ...).
    pub code: i32,
    /// `si_errno`.
    pub errno: i32,
    /// The first word of the union: the faulting address for
    /// SIGSEGV/SIGBUS/SIGILL/SIGFPE, else `si_pid | si_uid << 32`.
    pub addr: u64,
}

/// One `NT_FILE` entry: a file mapped at `[start, end)` from `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedFile {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Byte offset in the file.
    pub offset: u64,
    /// Path of the file in the process's mount namespace.
    pub path: String,
}

/// Everything read from the notes.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub threads: Vec<Thread>,
    pub process: Option<ProcessInfo>,
    pub siginfo: Option<SigInfo>,
    pub auxv: Vec<(u64, u64)>,
    pub files: Vec<MappedFile>,
    pub warnings: Vec<String>,
}

/// A raw note: type, name, descriptor and the file offset of the descriptor.
pub(crate) struct RawNote<'a> {
    pub kind: u32,
    pub name: &'a [u8],
    pub desc: &'a [u8],
    pub desc_offset: u64,
}

impl Notes {
    /// Interprets the raw notes of all `PT_NOTE` segments. Malformed
    /// individual notes become warnings, never panics.
    pub fn parse(raw: &[RawNote<'_>], arch: Arch, endian: crate::Endian) -> Notes {
        let mut n = Notes::default();
        for note in raw {
            let d = Bytes::new(note.desc, endian);
            let core_owner = note.name == b"CORE";
            match note.kind {
                NT_PRSTATUS if core_owner => match parse_prstatus(d, arch) {
                    Some(t) => n.threads.push(t),
                    None => n.warnings.push(format!(
                        "NT_PRSTATUS at file offset {:#x} is {} bytes, expected {}: thread skipped",
                        note.desc_offset,
                        note.desc.len(),
                        arch.prstatus_size()
                    )),
                },
                NT_PRPSINFO if core_owner => match parse_prpsinfo(d) {
                    Some(p) => n.process = Some(p),
                    None => n.warnings.push(format!(
                        "NT_PRPSINFO at file offset {:#x} is too short ({} bytes)",
                        note.desc_offset,
                        note.desc.len()
                    )),
                },
                NT_SIGINFO if core_owner && n.siginfo.is_none() => {
                    n.siginfo = (|| {
                        Some(SigInfo {
                            signo: d.i32(0)?,
                            errno: d.i32(4)?,
                            code: d.i32(8)?,
                            addr: d.u64(16)?,
                        })
                    })();
                }
                NT_AUXV if core_owner => {
                    n.auxv = note
                        .desc
                        .chunks_exact(16)
                        .filter_map(|c| {
                            let c = Bytes::new(c, endian);
                            Some((c.u64(0)?, c.u64(8)?))
                        })
                        .take_while(|(k, _)| *k != 0)
                        .collect();
                }
                NT_FILE if core_owner => match parse_nt_file(d) {
                    Ok(f) => n.files = f,
                    Err(why) => n.warnings.push(format!(
                        "NT_FILE at file offset {:#x}: {why}; mapped files are unknown",
                        note.desc_offset
                    )),
                },
                _ => {}
            }
        }
        n
    }

    pub fn auxv(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

fn parse_prstatus(d: Bytes<'_>, arch: Arch) -> Option<Thread> {
    let signal = i32::from(d.u16(12)? as i16);
    let tid = d.i32(32)?;
    let regs = Registers::from_bytes(arch, d.data.get(PRSTATUS_REGS as usize..)?, d.endian)?;
    Some(Thread { tid, regs, signal })
}

fn parse_prpsinfo(d: Bytes<'_>) -> Option<ProcessInfo> {
    if d.data.len() < PRPSINFO_SIZE {
        return None;
    }
    Some(ProcessInfo {
        uid: d.u32(16)?,
        pid: d.i32(24)?,
        ppid: d.i32(28)?,
        command: d.cstr(40, 16)?,
        args: d.cstr(56, 80)?.trim_end().to_string(),
    })
}

fn parse_nt_file(d: Bytes<'_>) -> Result<Vec<MappedFile>, String> {
    let count = d.u64(0).ok_or("shorter than its header")?;
    let page = d.u64(8).ok_or("shorter than its header")?;
    let table_len = count
        .checked_mul(24)
        .and_then(|l| l.checked_add(16))
        .filter(|l| *l <= d.data.len() as u64)
        .ok_or_else(|| format!("{count} entries do not fit in {} bytes", d.data.len()))?;
    let mut names = d
        .data
        .get(table_len as usize..)
        .unwrap_or_default()
        .split(|&b| b == 0);
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let e = 16 + i * 24;
        let (Some(start), Some(end), Some(pgoff)) = (d.u64(e), d.u64(e + 8), d.u64(e + 16)) else {
            return Err(format!("entry {i} is truncated"));
        };
        let name = names
            .next()
            .ok_or_else(|| format!("entry {i} has no path"))?;
        if end < start {
            return Err(format!(
                "entry {i} ends ({end:#x}) before it starts ({start:#x})"
            ));
        }
        out.push(MappedFile {
            start,
            end,
            offset: pgoff.saturating_mul(page),
            path: String::from_utf8_lossy(name).into_owned(),
        });
    }
    Ok(out)
}
