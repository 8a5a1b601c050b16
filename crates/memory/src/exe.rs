//! The executable a core was taken from: its bytes back the text and
//! read-only data a kernel core leaves out.

use std::path::Path;

use memmap2::Mmap;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};

use crate::{Error, Result};

/// One `PT_LOAD` of the executable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExeLoad {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub flags: u32,
}

/// A memory-mapped ELF executable.
pub(crate) struct Executable {
    pub map: Mmap,
    pub entry: u64,
    pub pie: bool,
    pub machine: u16,
    pub loads: Vec<ExeLoad>,
    /// The GNU build ID and the link address of its bytes.
    pub build_id: Option<(Vec<u8>, u64)>,
}

pub(crate) fn map_file(path: &Path) -> Result<Mmap> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: the map is read-only; a file truncated by someone else while
    // mapped can raise SIGBUS, which is the accepted risk of mmap (the same
    // as every debugger). We never create a mutable view.
    unsafe { Mmap::map(&f) }.map_err(|e| Error::io(path, e))
}

impl Executable {
    pub fn open(path: &Path) -> Result<Executable> {
        let map = map_file(path)?;
        let unsupported = |what: String| Error::Unsupported {
            path: path.to_path_buf(),
            what,
        };
        let data: &[u8] = &map;
        let hdr = elf::FileHeader64::<object::Endianness>::parse(data)
            .map_err(|e| unsupported(format!("not a 64-bit ELF executable: {e}")))?;
        let endian = hdr
            .endian()
            .map_err(|e| unsupported(format!("bad ELF byte order: {e}")))?;
        let kind = hdr.e_type(endian);
        if kind != elf::ET_EXEC && kind != elf::ET_DYN {
            return Err(unsupported(format!("ELF type {kind} is not an executable")));
        }
        let phdrs = hdr
            .program_headers(endian, data)
            .map_err(|e| unsupported(format!("bad program headers: {e}")))?;
        let loads = phdrs
            .iter()
            .filter(|p| p.p_type(endian) == elf::PT_LOAD)
            .map(|p| ExeLoad {
                vaddr: p.p_vaddr(endian),
                offset: p.p_offset(endian),
                filesz: p.p_filesz(endian),
                flags: p.p_flags(endian).0,
            })
            .collect();
        let build_id = gnu_build_id(data);
        Ok(Executable {
            entry: hdr.e_entry(endian),
            pie: kind == elf::ET_DYN,
            machine: hdr.e_machine(endian).0,
            loads,
            build_id,
            map,
        })
    }
}

/// The GNU build ID from `.note.gnu.build-id` and the link address of its bytes.
fn gnu_build_id(data: &[u8]) -> Option<(Vec<u8>, u64)> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(data).ok()?;
    let sec = file.section_by_name(".note.gnu.build-id")?;
    let note = sec.data().ok()?;
    let namesz = u32::from_le_bytes(note.get(0..4)?.try_into().ok()?) as usize;
    let descsz = u32::from_le_bytes(note.get(4..8)?.try_into().ok()?) as usize;
    let desc_off = 12 + namesz.next_multiple_of(4);
    let desc = note.get(desc_off..desc_off.checked_add(descsz)?)?;
    Some((desc.to_vec(), sec.address() + desc_off as u64))
}
