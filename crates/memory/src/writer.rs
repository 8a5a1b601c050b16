//! Writes an ELF core file of a live process, in the layout the kernel uses:
//! `PT_NOTE` (`NT_PRPSINFO`, one `NT_PRSTATUS` per thread, `NT_AUXV`,
//! `NT_FILE`) then one `PT_LOAD` per mapping. Unreadable mappings
//! (`PROT_NONE`, `[vvar]`, `[vsyscall]`) get `p_filesz = 0`; all-zero pages
//! are left as holes so the file stays sparse.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::core::notes::{
    NT_AUXV, NT_FILE, NT_PRPSINFO, NT_PRSTATUS, PRPSINFO_SIZE, PRSTATUS_REGS,
};
use crate::live::MapEntry;
use crate::{Error, LiveProcess, Memory, Result};

const CHUNK: usize = 1 << 20;
const PAGE: u64 = 4096;

/// What [`write_core`] did.
#[derive(Debug, Clone, Default)]
pub struct WriteSummary {
    /// Threads written (`NT_PRSTATUS` notes).
    pub threads: usize,
    /// `PT_LOAD` segments.
    pub segments: usize,
    /// Bytes of memory read and stored (holes included).
    pub bytes_dumped: u64,
    /// Apparent size of the file.
    pub file_size: u64,
    /// Mappings left out, with the reason (`[vvar]`: not readable, ...).
    pub skipped: Vec<String>,
    /// How long stopping the process took, if it was frozen.
    pub freeze: Option<Duration>,
    /// Time spent writing.
    pub took: Duration,
}

fn note(out: &mut Vec<u8>, kind: u32, desc: &[u8]) {
    let name = b"CORE\0";
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(name);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

fn put(buf: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = buf.get_mut(off..off + v.len()) {
        d.copy_from_slice(v);
    }
}

/// Builds the notes of `p`.
fn notes(p: &LiveProcess, maps: &[MapEntry]) -> Result<(Vec<u8>, usize)> {
    let pid = p.pid();
    let (state, ppid, pgrp, sid, uid) = p.stat()?;
    let mut out = Vec::new();

    let mut ps = vec![0u8; PRPSINFO_SIZE];
    ps[0] = match state {
        'R' => 0,
        'S' => 1,
        'D' => 2,
        'T' | 't' => 3,
        'Z' => 4,
        _ => 5,
    };
    ps[1] = state as u8;
    put(&mut ps, 16, &uid.to_le_bytes());
    put(&mut ps, 24, &pid.to_le_bytes());
    put(&mut ps, 28, &ppid.to_le_bytes());
    put(&mut ps, 32, &pgrp.to_le_bytes());
    put(&mut ps, 36, &sid.to_le_bytes());
    let comm = p.command().unwrap_or_default();
    put(&mut ps, 40, &comm.as_bytes()[..comm.len().min(15)]);
    let args = p.cmdline().unwrap_or_default();
    put(&mut ps, 56, &args.as_bytes()[..args.len().min(79)]);
    note(&mut out, NT_PRPSINFO, &ps);

    let mut threads = p.threads()?;
    // The main thread first: gdb and dlv show the first as current.
    threads.sort_by_key(|t| (t.tid != pid, t.tid));
    for t in &threads {
        let mut st = vec![0u8; t.regs.arch().prstatus_size()];
        put(&mut st, 32, &t.tid.to_le_bytes());
        put(&mut st, 36, &ppid.to_le_bytes());
        put(&mut st, 40, &pgrp.to_le_bytes());
        put(&mut st, 44, &sid.to_le_bytes());
        put(&mut st, PRSTATUS_REGS as usize, &t.regs.to_le_bytes());
        note(&mut out, NT_PRSTATUS, &st);
    }

    let auxv: Vec<u8> = p
        .auxv()?
        .iter()
        .chain(std::iter::once(&(0, 0)))
        .flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes()))
        .collect();
    note(&mut out, NT_AUXV, &auxv);

    let files: Vec<&MapEntry> = maps.iter().filter(|m| m.is_file()).collect();
    let mut nf = Vec::new();
    nf.extend_from_slice(&(files.len() as u64).to_le_bytes());
    nf.extend_from_slice(&PAGE.to_le_bytes());
    for m in &files {
        for v in [m.start, m.end, m.offset / PAGE] {
            nf.extend_from_slice(&v.to_le_bytes());
        }
    }
    for m in &files {
        nf.extend_from_slice(m.path.trim_end_matches(" (deleted)").as_bytes());
        nf.push(0);
    }
    note(&mut out, NT_FILE, &nf);
    Ok((out, threads.len()))
}

/// Writes the memory and threads of `p` (best frozen) to `out` as an ELF
/// core. `progress(done, total)` is called as memory is copied.
pub fn write_core(
    p: &LiveProcess,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<WriteSummary> {
    let start = Instant::now();
    let maps = p.maps().to_vec();
    let (notes, nthreads) = notes(p, &maps)?;
    let phnum = maps.len() + 1;
    let xnum = phnum >= 0xffff;
    let phoff = 64u64;
    let notes_off = phoff + 56 * phnum as u64;
    let shoff = notes_off + notes.len() as u64;
    let data_start = (shoff + if xnum { 64 } else { 0 }).next_multiple_of(PAGE);

    let file = File::create(out).map_err(|e| Error::io(out, e))?;
    let wr = |buf: &[u8], off: u64| file.write_all_at(buf, off).map_err(|e| Error::io(out, e));

    let total: u64 = maps
        .iter()
        .filter(|m| m.perms.read)
        .map(|m| m.end - m.start)
        .sum();
    let mut summary = WriteSummary {
        threads: nthreads,
        segments: maps.len(),
        ..Default::default()
    };
    let mut phdrs = Vec::with_capacity(56 * phnum);
    // PT_NOTE
    phdrs.extend_from_slice(&4u32.to_le_bytes());
    phdrs.extend_from_slice(&4u32.to_le_bytes());
    for v in [notes_off, 0, 0, notes.len() as u64, 0, 4] {
        phdrs.extend_from_slice(&v.to_le_bytes());
    }
    let mut off = data_start;
    let mut done = 0u64;
    let mut buf = vec![0u8; CHUNK];
    for m in &maps {
        let size = m.end - m.start;
        let mut filesz = 0u64;
        if m.perms.read {
            let mut pos = 0u64;
            while pos < size {
                let n = (size - pos).min(CHUNK as u64) as usize;
                match p.read_at(m.start + pos, &mut buf[..n]) {
                    Ok(()) => {}
                    Err(e @ (Error::NoSuchProcess { .. } | Error::Thawed { .. })) => return Err(e),
                    Err(e) => {
                        summary.skipped.push(format!(
                            "{:#x}-{:#x} {}: {} of {} bytes written ({e})",
                            m.start, m.end, m.path, pos, size
                        ));
                        break;
                    }
                }
                write_nonzero(&buf[..n], off + pos, &wr)?;
                pos += n as u64;
                done += n as u64;
                progress(done, total);
            }
            filesz = pos;
        }
        let flags = (u32::from(m.perms.read) * 4)
            | (u32::from(m.perms.write) * 2)
            | u32::from(m.perms.exec);
        phdrs.extend_from_slice(&1u32.to_le_bytes());
        phdrs.extend_from_slice(&flags.to_le_bytes());
        for v in [off, m.start, 0, filesz, size, PAGE] {
            phdrs.extend_from_slice(&v.to_le_bytes());
        }
        off += filesz;
        summary.bytes_dumped += filesz;
    }

    let mut eh = [0u8; 64];
    eh[..4].copy_from_slice(b"\x7fELF");
    eh[4] = 2; // ELFCLASS64
    eh[5] = 1; // little endian
    eh[6] = 1; // EV_CURRENT
    put(&mut eh, 16, &4u16.to_le_bytes()); // ET_CORE
    put(&mut eh, 18, &p.arch().machine().to_le_bytes());
    put(&mut eh, 20, &1u32.to_le_bytes());
    put(&mut eh, 32, &phoff.to_le_bytes());
    put(&mut eh, 52, &64u16.to_le_bytes());
    put(&mut eh, 54, &56u16.to_le_bytes());
    put(
        &mut eh,
        56,
        &(if xnum { 0xffff } else { phnum as u16 }).to_le_bytes(),
    );
    if xnum {
        put(&mut eh, 40, &shoff.to_le_bytes());
        put(&mut eh, 58, &64u16.to_le_bytes());
        put(&mut eh, 60, &1u16.to_le_bytes());
        let mut sh = [0u8; 64];
        put(&mut sh, 44, &(phnum as u32).to_le_bytes());
        wr(&sh, shoff)?;
    }
    wr(&eh, 0)?;
    wr(&phdrs, phoff)?;
    wr(&notes, notes_off)?;
    file.set_len(off).map_err(|e| Error::io(out, e))?;
    summary.file_size = off;
    summary.freeze = p.freeze_duration();
    summary.took = start.elapsed();
    Ok(summary)
}

/// Writes the pages of `buf` that are not all zero (the rest stay holes).
fn write_nonzero(buf: &[u8], off: u64, wr: &dyn Fn(&[u8], u64) -> Result<()>) -> Result<()> {
    let page = PAGE as usize;
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < buf.len() {
        let end = (i + page).min(buf.len());
        let zero = buf[i..end].iter().all(|&b| b == 0);
        match (zero, run) {
            (false, None) => run = Some(i),
            (true, Some(s)) => {
                wr(&buf[s..i], off + s as u64)?;
                run = None;
            }
            _ => {}
        }
        i = end;
    }
    if let Some(s) = run {
        wr(&buf[s..], off + s as u64)?;
    }
    Ok(())
}
