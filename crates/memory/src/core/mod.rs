//! ELF core files (kernel or gdb `gcore`), read zero-copy from a memory map.
//!
//! ## What a read returns
//! * Bytes inside a `PT_LOAD`'s `p_filesz` come from the core.
//! * Bytes in `[p_filesz, p_memsz)` were not dumped. The kernel leaves out
//!   file-backed pages nobody wrote (text, read-only data) and pages marked
//!   `VM_DONTDUMP`/`VM_IO`, and writes no bytes for `PROT_NONE` reservations.
//!   We read them from the mapped file named by `NT_FILE` (the executable
//!   given to [`CoreFile::open`], or the library at its path) when one covers
//!   the address; the tail of a file's last page reads as zeros as it would
//!   in the process. Anything else is reported as unreadable, never as
//!   zeros: zero would be a lie about memory we do not have.
//! * Addresses in no `PT_LOAD` (nor `NT_FILE` entry) are unmapped.

pub(crate) mod notes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use memmap2::Mmap;
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, NoteIterator, ProgramHeader};
use object::{Endianness, ReadRef};

use crate::bytes::Bytes;
use crate::exe::{Executable, map_file};
use crate::{Arch, Endian, Error, Memory, Perms, Region, Result, Thread};
use notes::{AT_ENTRY, AT_PAGESZ, Notes, RawNote};
pub use notes::{MappedFile, ProcessInfo, SigInfo};

const PT_LOAD: u32 = elf::PT_LOAD.0;
const PT_NOTE: u32 = elf::PT_NOTE.0;
const PF_X: u32 = elf::PF_X.0;
const PF_W: u32 = elf::PF_W.0;
const PF_R: u32 = elf::PF_R.0;
/// Size of an `Elf64_Phdr`.
const PHENTSIZE: u16 = 56;

/// One `PT_LOAD` of the core.
#[derive(Debug, Clone, Copy)]
struct Segment {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    flags: u32,
}

impl Segment {
    fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }
}

enum Data {
    Map(Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Map(m) => m,
            Data::Owned(v) => v,
        }
    }
}

/// A file that backs part of the address space, mapped on first use.
struct BackingFile {
    path: PathBuf,
    map: OnceLock<Option<Mmap>>,
}

impl BackingFile {
    fn bytes(&self) -> Option<&[u8]> {
        self.map
            .get_or_init(|| {
                // Only regular files: a path in a hostile core could name a
                // FIFO (open blocks) or a device.
                let md = std::fs::metadata(&self.path).ok()?;
                if !md.is_file() {
                    return None;
                }
                map_file(&self.path).ok()
            })
            .as_deref()
    }
}

/// An address range backed by `files[file]` from byte `offset`.
#[derive(Debug, Clone, Copy)]
struct Backing {
    start: u64,
    end: u64,
    offset: u64,
    file: usize,
}

/// An ELF core file and, optionally, the executable it was taken from.
pub struct CoreFile {
    path: PathBuf,
    data: Data,
    endian: Endian,
    arch: Arch,
    segments: Vec<Segment>,
    notes: Notes,
    files: Vec<BackingFile>,
    backings: Vec<Backing>,
    exe_path: Option<PathBuf>,
    build_id: Option<String>,
    bias: u64,
    page: u64,
    warnings: Vec<String>,
}

impl std::fmt::Debug for CoreFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreFile")
            .field("path", &self.path)
            .field("segments", &self.segments.len())
            .field("threads", &self.notes.threads.len())
            .finish_non_exhaustive()
    }
}

impl CoreFile {
    /// Opens `core` and checks that `exe` is the binary it was taken from.
    pub fn open(core: impl AsRef<Path>, exe: impl AsRef<Path>) -> Result<CoreFile> {
        let core = core.as_ref();
        let data = Data::Map(map_file(core)?);
        let mut c = CoreFile::parse(core.to_path_buf(), data)?;
        c.attach_exe(exe.as_ref())?;
        Ok(c)
    }

    /// Opens `core` alone: text and read-only data the core lacks are read
    /// from the files named in `NT_FILE`, if they exist on this machine.
    pub fn open_core_only(core: impl AsRef<Path>) -> Result<CoreFile> {
        let core = core.as_ref();
        let data = Data::Map(map_file(core)?);
        let mut c = CoreFile::parse(core.to_path_buf(), data)?;
        c.attach_nt_files(None);
        Ok(c)
    }

    /// Parses a core held in memory (`name` is used in messages); `exe` as
    /// in [`CoreFile::open`]. Used by fuzzing and tests.
    pub fn from_bytes(name: &str, bytes: Vec<u8>, exe: Option<&Path>) -> Result<CoreFile> {
        let mut c = CoreFile::parse(PathBuf::from(name), Data::Owned(bytes))?;
        match exe {
            Some(e) => c.attach_exe(e)?,
            None => c.attach_nt_files(None),
        }
        Ok(c)
    }

    fn parse(path: PathBuf, data: Data) -> Result<CoreFile> {
        let mal = |offset: u64, what: String| Error::Malformed {
            path: path.clone(),
            offset,
            what,
        };
        let ident = data.get(..16).ok_or_else(|| {
            mal(
                0,
                format!("file is {} bytes, shorter than an ELF header", data.len()),
            )
        })?;
        if ident[..4] != *b"\x7fELF" {
            return Err(mal(0, "no ELF magic: this is not a core file".into()));
        }
        if ident[4] != 2 {
            return Err(Error::Unsupported {
                path: path.clone(),
                what: "32-bit core files are not supported".into(),
            });
        }
        let endian = match ident[5] {
            1 => Endian::Little,
            2 => Endian::Big,
            b => return Err(mal(5, format!("unknown ELF byte order {b}"))),
        };
        let bytes: &[u8] = &data;
        let len = bytes.len() as u64;
        let hdr: &FileHeader64<Endianness> = bytes
            .read_at(0)
            .map_err(|()| mal(len, "ELF header is truncated".into()))?;
        let oe = match endian {
            Endian::Little => Endianness::Little,
            Endian::Big => Endianness::Big,
        };
        let e_type = hdr.e_type(oe).0;
        if e_type != elf::ET_CORE.0 {
            return Err(Error::Unsupported {
                path: path.clone(),
                what: format!("ELF type {e_type} is not a core file (ET_CORE = 4)"),
            });
        }
        let arch = match hdr.e_machine(oe) {
            elf::EM_X86_64 => Arch::Amd64,
            elf::EM_AARCH64 => Arch::Arm64,
            m => {
                return Err(Error::Unsupported {
                    path: path.clone(),
                    what: format!("machine {} is not supported (amd64 and arm64 are)", m.0),
                });
            }
        };
        let phentsize = hdr.e_phentsize(oe);
        if phentsize != PHENTSIZE {
            return Err(mal(
                54,
                format!("program header size {phentsize} is not {PHENTSIZE}"),
            ));
        }
        let phoff = hdr.e_phoff(oe);
        let shoff = hdr.e_shoff(oe);
        // With PN_XNUM the real count is in section header 0's sh_info.
        let phnum = hdr.phnum(oe, bytes).map_err(|e| {
            mal(
                shoff,
                format!("PN_XNUM core without a readable section header 0 ({e})"),
            )
        })?;
        let phdrs = hdr.program_headers(oe, bytes).map_err(|_| {
            mal(
                phoff,
                format!("the {phnum} program headers lie past the end of the file ({len} bytes)"),
            )
        })?;
        let mut segments = Vec::new();
        let mut note_headers = Vec::new();
        let mut warnings = Vec::new();
        for (i, ph) in phdrs.iter().enumerate() {
            let vaddr = ph.p_vaddr(oe);
            let memsz = ph.p_memsz(oe);
            match ph.p_type(oe).0 {
                PT_LOAD => {
                    if vaddr.checked_add(memsz).is_none() {
                        warnings.push(format!(
                            "PT_LOAD {i} at {vaddr:#x} + {memsz:#x} wraps around the address space: ignored"
                        ));
                        continue;
                    }
                    segments.push(Segment {
                        vaddr,
                        memsz,
                        offset: ph.p_offset(oe),
                        filesz: ph.p_filesz(oe).min(memsz),
                        flags: ph.p_flags(oe).0,
                    });
                }
                PT_NOTE => note_headers.push((phoff.saturating_add(i as u64 * 56), ph)),
                _ => {}
            }
        }
        segments.sort_by_key(|s| s.vaddr);
        for w in segments.windows(2) {
            if w[0].end() > w[1].vaddr {
                warnings.push(format!(
                    "PT_LOAD segments at {:#x} and {:#x} overlap; the later one wins",
                    w[0].vaddr, w[1].vaddr
                ));
            }
        }
        let truncated: Vec<&Segment> = segments
            .iter()
            .filter(|s| s.filesz > 0 && s.offset.saturating_add(s.filesz) > len)
            .collect();
        if let Some(first) = truncated.first() {
            warnings.push(format!(
                "core is truncated ({len} bytes): {} segments, from {:#x} on, are missing or partial; reads there fail",
                truncated.len(),
                first.vaddr
            ));
        }
        let mut raw = Vec::new();
        for (ph_off, ph) in note_headers {
            let (offset, filesz) = (ph.p_offset(oe), ph.p_filesz(oe));
            let Ok(nb) = ph.data(oe, bytes) else {
                warnings.push(format!(
                    "PT_NOTE (header at file offset {ph_off:#x}) points to {offset:#x}+{filesz:#x}, past the end of the file ({len} bytes): threads and mapped files are unknown"
                ));
                continue;
            };
            if let Err((at, why)) = split_notes(nb, offset, oe, endian, &mut raw) {
                warnings.push(format!(
                    "notes: {why} (file offset {at:#x}); later notes ignored"
                ));
            }
        }
        let notes = Notes::parse(&raw, arch, endian);
        drop(raw);
        warnings.extend(notes.warnings.iter().cloned());
        let page = notes
            .auxv(AT_PAGESZ)
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        Ok(CoreFile {
            path,
            data,
            endian,
            arch,
            segments,
            notes,
            files: Vec::new(),
            backings: Vec::new(),
            exe_path: None,
            build_id: None,
            bias: 0,
            page,
            warnings,
        })
    }

    /// Backs `NT_FILE` entries by files: entries whose path is `exe_nt_path`
    /// by `files[0]` (already set up), the others by their own path.
    fn attach_nt_files(&mut self, exe_nt_path: Option<&str>) {
        let mut by_path: HashMap<String, usize> = HashMap::new();
        for m in &self.notes.files {
            let file = if Some(m.path.as_str()) == exe_nt_path {
                0
            } else if let Some(&i) = by_path.get(&m.path) {
                i
            } else {
                self.files.push(BackingFile {
                    path: PathBuf::from(&m.path),
                    map: OnceLock::new(),
                });
                by_path.insert(m.path.clone(), self.files.len() - 1);
                self.files.len() - 1
            };
            self.backings.push(Backing {
                start: m.start,
                end: m.end,
                offset: m.offset,
                file,
            });
        }
        self.backings.sort_by_key(|b| b.start);
    }

    fn attach_exe(&mut self, exe_path: &Path) -> Result<()> {
        let exe = Executable::open(exe_path)?;
        let mismatch = |detail: String| Error::BinaryMismatch {
            core: self.path.clone(),
            exe: exe_path.to_path_buf(),
            detail,
        };
        if exe.machine != self.arch.machine() {
            return Err(mismatch(format!(
                "the binary is for machine {}, the core for {:?}",
                exe.machine, self.arch
            )));
        }
        // Where the executable was loaded: AT_ENTRY against e_entry.
        let at_entry = self.notes.auxv(AT_ENTRY);
        let bias = match at_entry {
            Some(at) if !exe.pie => {
                if at != exe.entry {
                    return Err(mismatch(format!(
                        "the process's entry point (AT_ENTRY in NT_AUXV) is {at:#x}, the binary's is {:#x}",
                        exe.entry
                    )));
                }
                0
            }
            Some(at) => {
                let bias = at.wrapping_sub(exe.entry);
                if bias % self.page != 0 {
                    return Err(mismatch(format!(
                        "the process's entry point {at:#x} and the binary's {:#x} differ by a non page-aligned amount",
                        exe.entry
                    )));
                }
                bias
            }
            None => {
                self.warnings.push(
                    "no NT_AUXV: assuming the executable was loaded at its link address".into(),
                );
                0
            }
        };
        // Which NT_FILE path is the executable: the mapping holding the entry point.
        let exe_nt_path = at_entry.and_then(|at| {
            self.notes
                .files
                .iter()
                .find(|m| m.start <= at && at < m.end)
                .map(|m| m.path.clone())
        });
        let exe_nt_path = exe_nt_path.or_else(|| {
            let base = exe_path.file_name()?.to_str()?;
            self.notes
                .files
                .iter()
                .find(|m| Path::new(&m.path).file_name().and_then(|n| n.to_str()) == Some(base))
                .map(|m| m.path.clone())
        });
        if let Some(p) = &exe_nt_path
            && Path::new(p).file_name() != exe_path.file_name()
        {
            self.warnings.push(format!(
                "the process ran {p}, checking against {} (contents match)",
                exe_path.display()
            ));
        }
        // Whatever the core holds of the executable's code must equal the file.
        let mut compared = 0u64;
        for l in exe
            .loads
            .iter()
            .filter(|l| l.flags & PF_X != 0 && l.flags & PF_W == 0)
        {
            let want = exe
                .map
                .get(l.offset as usize..)
                .and_then(|s| s.get(..(l.filesz.min(16 << 20)) as usize))
                .ok_or_else(|| mismatch("the binary's text segment lies past its end".into()))?;
            let addr = l.vaddr.wrapping_add(bias);
            let got = self.dumped(addr, want.len() as u64);
            if got.is_empty() {
                continue;
            }
            if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
                if let Some((id, at)) = &exe.build_id {
                    let core_id = self.dumped(at.wrapping_add(bias), id.len() as u64);
                    if core_id.len() == id.len() && core_id != id.as_slice() {
                        return Err(mismatch(format!(
                            "GNU build ID {} in the core, {} in the binary",
                            hex(core_id),
                            hex(id)
                        )));
                    }
                }
                return Err(mismatch(format!(
                    "the code at {:#x} (file offset {:#x} of the binary) differs from the core's bytes (core file offset {:#x})",
                    addr + i as u64,
                    l.offset + i as u64,
                    self.file_offset(addr + i as u64).unwrap_or(0)
                )));
            }
            compared += got.len() as u64;
        }
        if compared == 0 {
            self.warnings.push(
                "the core holds none of the binary's code: could not check that the binary matches"
                    .into(),
            );
        }
        // Every NT_FILE range of the executable must fit in the file.
        if let Some(p) = &exe_nt_path {
            let size = exe.map.len() as u64;
            for m in self.notes.files.iter().filter(|m| &m.path == p) {
                if m.offset >= size.div_ceil(self.page) * self.page {
                    return Err(mismatch(format!(
                        "the process mapped {p} from offset {:#x}, past the end of the binary ({size} bytes)",
                        m.offset
                    )));
                }
            }
        }
        self.bias = bias;
        self.build_id = exe.build_id.as_ref().map(|(id, _)| hex(id));
        self.exe_path = Some(exe_path.to_path_buf());
        let exe_map = exe.map;
        self.files.push(BackingFile {
            path: exe_path.to_path_buf(),
            map: OnceLock::from(Some(exe_map)),
        });
        self.attach_nt_files(exe_nt_path.as_deref());
        if exe_nt_path.is_none() {
            // No NT_FILE: back the executable's own PT_LOADs by the file.
            for l in &exe.loads {
                self.backings.push(Backing {
                    start: l.vaddr.wrapping_add(bias),
                    end: l.vaddr.wrapping_add(bias).saturating_add(l.filesz),
                    offset: l.offset,
                    file: 0,
                });
            }
            self.backings.sort_by_key(|b| b.start);
        }
        Ok(())
    }

    /// The segment containing `addr` (O(log n)).
    fn segment(&self, addr: u64) -> Option<&Segment> {
        thread_local! {
            /// The segment this thread found last, and in which core: a
            /// reader unwinding a stack reads one segment many times.
            static LAST: std::cell::Cell<(usize, usize)> =
                const { std::cell::Cell::new((0, usize::MAX)) };
        }
        let me = std::ptr::from_ref(self) as usize;
        let (owner, last) = LAST.get();
        if owner == me
            && let Some(s) = self.segments.get(last)
            && s.vaddr <= addr
            && addr < s.end()
        {
            return Some(s);
        }
        let i = self
            .segments
            .partition_point(|s| s.vaddr <= addr)
            .checked_sub(1)?;
        let s = self.segments.get(i)?;
        if addr < s.end() {
            LAST.set((me, i));
            Some(s)
        } else {
            None
        }
    }

    fn backing(&self, addr: u64) -> Option<&Backing> {
        let i = self.backings.partition_point(|b| b.start <= addr);
        let b = self.backings.get(i.checked_sub(1)?)?;
        (addr < b.end).then_some(b)
    }

    /// The core's file offset of `addr` if it was dumped.
    fn file_offset(&self, addr: u64) -> Option<u64> {
        let s = self.segment(addr)?;
        let d = addr - s.vaddr;
        (d < s.filesz).then(|| s.offset.saturating_add(d))
    }

    /// The dumped bytes from `addr`, up to `len`, without copying; empty if
    /// `addr` was not dumped. Stops at the end of the segment.
    pub fn dumped(&self, addr: u64, len: u64) -> &[u8] {
        let Some(s) = self.segment(addr) else {
            return &[];
        };
        let d = addr - s.vaddr;
        if d >= s.filesz {
            return &[];
        }
        let n = len.min(s.filesz - d);
        Bytes::new(&self.data, self.endian)
            .slice(s.offset.saturating_add(d), n)
            .or_else(|| {
                // A truncated core: what is there.
                let start = usize::try_from(s.offset.saturating_add(d)).ok()?;
                self.data.get(start..)
            })
            .unwrap_or_default()
    }

    /// Copies what can be read at `addr` into `buf`; returns the count.
    fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize> {
        let seg = self.segment(addr);
        if let Some(s) = seg {
            let d = addr - s.vaddr;
            let room = usize::try_from(s.end() - addr)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            if d < s.filesz {
                let want = room.min(usize::try_from(s.filesz - d).unwrap_or(usize::MAX));
                let src = self.dumped(addr, want as u64);
                if src.is_empty() {
                    return Err(self.unreadable(
                        addr,
                        format!(
                            "the core is truncated: the segment's bytes (file offset {:#x}) are past its end ({} bytes)",
                            s.offset.saturating_add(d),
                            self.data.len()
                        ),
                    ));
                }
                buf[..src.len()].copy_from_slice(src);
                return Ok(src.len());
            }
            if let Some(n) = self.read_backing(addr, &mut buf[..room])? {
                return Ok(n);
            }
            let why = if s.flags & (PF_R | PF_W | PF_X) == 0 {
                "no access permission (PROT_NONE reservation), never dumped".to_string()
            } else {
                format!(
                    "not dumped in the core (p_filesz < p_memsz) and no mapped file covers it{}",
                    if self.exe_path.is_none() {
                        "; pass the executable"
                    } else {
                        ""
                    }
                )
            };
            return Err(self.unreadable(addr, why));
        }
        if let Some(n) = self.read_backing(addr, buf)? {
            return Ok(n);
        }
        Err(Error::Unmapped {
            addr,
            len: buf.len(),
            source_name: self.path.display().to_string(),
        })
    }

    /// Reads from the file mapped at `addr`, if any.
    fn read_backing(&self, addr: u64, buf: &mut [u8]) -> Result<Option<usize>> {
        let Some(b) = self.backing(addr) else {
            return Ok(None);
        };
        let file = &self.files[b.file];
        let Some(bytes) = file.bytes() else {
            return Err(self.unreadable(
                addr,
                format!(
                    "not dumped, and the mapped file {} cannot be opened here",
                    file.path.display()
                ),
            ));
        };
        let room = usize::try_from(b.end - addr)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let fo = b.offset.saturating_add(addr - b.start);
        let flen = bytes.len() as u64;
        if fo < flen {
            let n = room.min(usize::try_from(flen - fo).unwrap_or(usize::MAX));
            let src = usize::try_from(fo).ok().and_then(|o| bytes.get(o..o + n));
            let Some(src) = src else { return Ok(None) };
            buf[..n].copy_from_slice(src);
            return Ok(Some(n));
        }
        let page_end = flen.div_ceil(self.page) * self.page;
        if fo < page_end {
            // The rest of the file's last page reads as zeros in the process.
            let n = room.min(usize::try_from(page_end - fo).unwrap_or(usize::MAX));
            buf[..n].fill(0);
            return Ok(Some(n));
        }
        Err(self.unreadable(
            addr,
            format!(
                "mapped past the end of {} ({flen} bytes); the process would get SIGBUS",
                file.path.display()
            ),
        ))
    }

    fn unreadable(&self, addr: u64, why: String) -> Error {
        Error::Unreadable {
            addr,
            source_name: self.path.display().to_string(),
            why,
        }
    }

    /// The core file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The executable given to [`CoreFile::open`].
    pub fn exe_path(&self) -> Option<&Path> {
        self.exe_path.as_deref()
    }
    /// The GNU build ID (hex) of the executable, when it has one.
    pub fn build_id(&self) -> Option<&str> {
        self.build_id.as_deref()
    }
    /// The target architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// Threads in `NT_PRSTATUS` order (the kernel writes the crashing thread first).
    pub fn threads(&self) -> &[Thread] {
        &self.notes.threads
    }
    /// The process from `NT_PRPSINFO`.
    pub fn process(&self) -> Option<&ProcessInfo> {
        self.notes.process.as_ref()
    }
    /// The signal from `NT_SIGINFO`.
    pub fn siginfo(&self) -> Option<SigInfo> {
        self.notes.siginfo
    }
    /// The auxiliary vector (`AT_*` key, value).
    pub fn auxv(&self) -> &[(u64, u64)] {
        &self.notes.auxv
    }
    /// The files mapped into the process (`NT_FILE`).
    pub fn mapped_files(&self) -> &[MappedFile] {
        &self.notes.files
    }
    /// How far the executable was moved from its link address (PIE), 0 otherwise.
    pub fn load_bias(&self) -> u64 {
        self.bias
    }
    /// Problems that did not stop the core from opening (truncation, bad notes, unchecked binary).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl Memory for CoreFile {
    fn release_cached_pages(&self) {
        if let Data::Map(m) = &self.data {
            // SAFETY: the mapping is a read-only private file mapping: after
            // MADV_DONTNEED the next access faults the same file bytes back
            // in, so concurrent and later reads see unchanged data.
            let _ = unsafe { m.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .checked_add(done as u64)
                .ok_or_else(|| Error::Unmapped {
                    addr,
                    len: buf.len(),
                    source_name: self.path.display().to_string(),
                })?;
            let n = self.read_some(a, &mut buf[done..])?;
            if n == 0 {
                return Err(self.unreadable(a, "empty read".into()));
            }
            done += n;
        }
        Ok(())
    }

    fn endian(&self) -> Endian {
        self.endian
    }

    fn regions(&self) -> Vec<Region> {
        self.segments
            .iter()
            .map(|s| {
                let backing = self.backing(s.vaddr);
                let perms = Perms {
                    read: s.flags & PF_R != 0,
                    write: s.flags & PF_W != 0,
                    exec: s.flags & PF_X != 0,
                };
                Region {
                    start: s.vaddr,
                    end: s.end(),
                    perms,
                    readable: s.filesz == s.memsz || backing.is_some(),
                    path: backing.map(|b| self.files[b.file].path.display().to_string()),
                }
            })
            .collect()
    }
}

/// Appends the notes of a `PT_NOTE` segment (`nb`, at file offset `base`)
/// to `out`. On a malformed note, the notes before it are kept and the
/// file offset and reason of the failure returned.
fn split_notes<'a>(
    nb: &'a [u8],
    base: u64,
    oe: Endianness,
    endian: Endian,
    out: &mut Vec<RawNote<'a>>,
) -> Result<(), (u64, String)> {
    // Core notes are 4-byte aligned (the kernel's, gdb's and ours), whatever
    // p_align says: a damaged p_align must not hide the threads.
    let mut it = NoteIterator::<FileHeader64<Endianness>>::new(oe, 4, nb)
        .map_err(|e| (base, e.to_string()))?;
    // Where the next note starts, for the message on a bad one.
    let mut next = 0usize;
    loop {
        match it.next() {
            Ok(None) => return Ok(()),
            Ok(Some(note)) => {
                let desc = note.desc();
                let desc_at = desc.as_ptr().addr() - nb.as_ptr().addr();
                next = (desc_at + desc.len()).next_multiple_of(4);
                let name = note.name_bytes();
                out.push(RawNote {
                    kind: note.n_type(oe).0,
                    name: name.strip_suffix(&[0]).unwrap_or(name),
                    desc,
                    desc_offset: base + desc_at as u64,
                });
            }
            Err(_) => {
                let at = next as u64;
                let h = Bytes::new(nb, endian);
                let why = match (h.u32(at), h.u32(at + 4), h.u32(at + 8)) {
                    (Some(namesz), Some(descsz), Some(kind)) => format!(
                        "note type {kind:#x} with name size {namesz} and descriptor size {descsz} runs past the end of PT_NOTE ({} bytes)",
                        nb.len()
                    ),
                    _ => "note header runs past the end of PT_NOTE".into(),
                };
                return Err((base + at, why));
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal core: one PT_LOAD of 8 bytes at 0x1000 (value 0x1122334455667788)
    /// and one PROT_NONE segment; `xnum` stores the count PN_XNUM-style.
    fn tiny_core(xnum: bool) -> Vec<u8> {
        let mut b = vec![0u8; 256 + 8];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&4u16.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[32..40].copy_from_slice(&128u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        if xnum {
            // As the kernel writes it: one section header (64 bytes) at e_shoff.
            b[40..48].copy_from_slice(&64u64.to_le_bytes());
            b[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
            b[58..60].copy_from_slice(&64u16.to_le_bytes());
            b[60..62].copy_from_slice(&1u16.to_le_bytes());
            b[64 + 44..64 + 48].copy_from_slice(&2u32.to_le_bytes());
        } else {
            b[56..58].copy_from_slice(&2u16.to_le_bytes());
        }
        let mut ph = |at: usize, flags: u32, off: u64, vaddr: u64, filesz: u64, memsz: u64| {
            b[at..at + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
            b[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
        };
        ph(128, PF_R | PF_W, 256, 0x1000, 8, 8);
        ph(184, 0, 264, 0x2000, 0, 0x1000);
        b[256..264].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        b
    }

    #[test]
    fn tiny_cores_and_pn_xnum() {
        for xnum in [false, true] {
            let c = CoreFile::from_bytes("tiny", tiny_core(xnum), None).expect("parses");
            assert_eq!(c.read_u64(0x1000).expect("dumped"), 0x1122_3344_5566_7788);
            assert_eq!(c.read_u32(0x1004).expect("dumped"), 0x1122_3344);
            assert_eq!(
                c.dumped(0x1002, 100),
                &0x1122_3344_5566_7788u64.to_le_bytes()[2..]
            );
            assert!(matches!(
                c.read_u64(0x1004),
                Err(Error::Unmapped { addr: 0x1008, .. })
            ));
            let e = c.read_u8(0x2000).expect_err("PROT_NONE");
            assert!(e.to_string().contains("PROT_NONE"), "{e}");
            assert!(c.threads().is_empty());
            assert_eq!(c.regions().len(), 2);
        }
    }

    /// Notes are split by object's iterator; a bad one keeps those before
    /// it and is reported at its own file offset.
    #[test]
    fn notes_and_a_bad_note() {
        let mut nb = Vec::new();
        for w in [5u32, 16, 6] {
            nb.extend(w.to_le_bytes());
        }
        nb.extend(b"CORE\0\0\0\0");
        nb.extend([7u8; 16]);
        let good = nb.len();
        let mut out = Vec::new();
        split_notes(&nb, 0x100, Endianness::Little, Endian::Little, &mut out).expect("one note");
        assert_eq!(out.len(), 1);
        let n = &out[0];
        assert_eq!((n.kind, n.name, n.desc), (6, &b"CORE"[..], &[7u8; 16][..]));
        assert_eq!(n.desc_offset, 0x100 + 20);
        // A descriptor past the end, then a cut header.
        let past: Vec<u8> = [5u32, 100, 1]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .chain(*b"CORE\0\0\0\0")
            .collect();
        for (tail, want) in [
            (
                past,
                "descriptor size 100 runs past the end of PT_NOTE (56 bytes)",
            ),
            (vec![5, 0, 0, 0], "note header runs past the end of PT_NOTE"),
        ] {
            let bad = [&nb[..], &tail[..]].concat();
            let mut out = Vec::new();
            let (at, why) = split_notes(&bad, 0x100, Endianness::Little, Endian::Little, &mut out)
                .expect_err("bad second note");
            assert_eq!(out.len(), 1);
            assert_eq!(at, 0x100 + good as u64);
            assert!(why.contains(want), "{why}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bytes in [
            vec![],
            b"\x7fELF".to_vec(),
            vec![0u8; 64],
            b"hello world".repeat(10),
        ] {
            assert!(CoreFile::from_bytes("x", bytes, None).is_err());
        }
    }
}
