//! The ELF file as an address space: sections, loadable segments, symbols.
//!
//! Parsed once with `object` at open time into owned summaries, so the rest
//! of the crate holds no borrow of the mapped file.

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};

use crate::bytes::Bytes;

/// Target architecture of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// AArch64.
    Arm64,
    /// Anything else; pclntab still works, unwinding may not.
    Other,
}

impl Arch {
    /// Go's name for the architecture (`GOARCH`).
    pub fn goarch(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Other => "unknown",
        }
    }
}

/// One section header.
#[derive(Debug, Clone)]
pub(crate) struct SectionInfo {
    pub name: String,
    pub addr: u64,
    /// File range, if the section has bytes in the file.
    pub file: Option<(u64, u64)>,
}

/// One PT_LOAD segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub writable: bool,
    pub executable: bool,
}

#[derive(Debug)]
pub(crate) struct Image {
    pub data: Bytes,
    pub sections: Vec<SectionInfo>,
    pub segments: Vec<Segment>,
    pub arch: Arch,
    pub pie: bool,
    pub has_symtab: bool,
}

impl Image {
    pub(crate) fn parse(data: Bytes) -> Result<Image, String> {
        let file = object::File::parse(data.as_slice()).map_err(|e| e.to_string())?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(format!("{:?} file, only ELF is supported", file.format()));
        }
        let arch = match file.architecture() {
            object::Architecture::X86_64 => Arch::Amd64,
            object::Architecture::Aarch64 => Arch::Arm64,
            _ => Arch::Other,
        };
        let pie = file.kind() == object::ObjectKind::Dynamic;
        let sections = file
            .sections()
            .map(|s| SectionInfo {
                name: s.name().unwrap_or("").to_string(),
                addr: s.address(),
                file: s.file_range(),
            })
            .collect();
        let segments = file
            .segments()
            .map(|s| {
                let (offset, filesz) = s.file_range();
                let (writable, executable) = match s.flags() {
                    object::SegmentFlags::Elf { p_flags, .. } => {
                        (p_flags.0 & 2 != 0, p_flags.0 & 1 != 0)
                    }
                    _ => (false, false),
                };
                Segment {
                    vaddr: s.address(),
                    offset,
                    filesz,
                    writable,
                    executable,
                }
            })
            .collect();
        let has_symtab = file.symbol_table().is_some();
        Ok(Image {
            data,
            sections,
            segments,
            arch,
            pie,
            has_symtab,
        })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// The file bytes of a segment, `None` when they lie past the end of
    /// the file (a truncated binary).
    pub(crate) fn segment_bytes(&self, seg: &Segment) -> Option<&[u8]> {
        let start = usize::try_from(seg.offset).ok()?;
        let len = usize::try_from(seg.filesz).ok()?;
        self.bytes().get(start..start.checked_add(len)?)
    }

    pub(crate) fn section(&self, name: &str) -> Option<&SectionInfo> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The file bytes of a section (not decompressed).
    pub(crate) fn section_bytes(&self, s: &SectionInfo) -> Option<Bytes> {
        let (off, size) = s.file?;
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.data.slice(start..end)
    }

    /// Bytes at a virtual address, clipped to what the file holds for the
    /// segment (or section) containing it: at most `len`, possibly fewer.
    pub(crate) fn read_va_upto(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let off = self.va_to_offset(addr)?;
        let avail = self.file_bytes_after(addr)?;
        let n = len.min(avail);
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(usize::try_from(n).ok()?)?;
        self.bytes().get(start..end)
    }

    /// Exactly `len` bytes at a virtual address.
    pub(crate) fn read_va(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let b = self.read_va_upto(addr, len)?;
        (b.len() as u64 == len).then_some(b)
    }

    fn file_bytes_after(&self, addr: u64) -> Option<u64> {
        for s in &self.segments {
            if addr >= s.vaddr && addr - s.vaddr < s.filesz {
                return Some(s.filesz - (addr - s.vaddr));
            }
        }
        for s in &self.sections {
            if let Some((_, size)) = s.file
                && s.addr != 0
                && addr >= s.addr
                && addr - s.addr < size
            {
                return Some(size - (addr - s.addr));
            }
        }
        None
    }

    pub(crate) fn va_to_offset(&self, addr: u64) -> Option<u64> {
        for s in &self.segments {
            if addr >= s.vaddr && addr - s.vaddr < s.filesz {
                return s.offset.checked_add(addr - s.vaddr);
            }
        }
        for s in &self.sections {
            if let Some((off, size)) = s.file
                && s.addr != 0
                && addr >= s.addr
                && addr - s.addr < size
            {
                return off.checked_add(addr - s.addr);
            }
        }
        None
    }

    /// Addresses of the named symbols (from `.symtab`, then `.dynsym`), in
    /// the order of `names`; one pass over the table.
    pub(crate) fn symbols(&self, names: &[&str]) -> Vec<Option<(u64, u64)>> {
        let mut out = vec![None; names.len()];
        let Ok(file) = object::File::parse(self.bytes()) else {
            return out;
        };
        for sym in file.symbols() {
            let Ok(name) = sym.name() else { continue };
            if let Some(i) = names.iter().position(|n| *n == name)
                && out[i].is_none()
            {
                out[i] = Some((sym.address(), sym.size()));
            }
        }
        out
    }
}
