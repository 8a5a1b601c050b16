//! Reading Go binaries: symbols, lines, inlining, build info and DWARF.
//!
//! [`GoBinary::open`] maps an ELF file and finds its pclntab; everything else
//! (build info, DWARF, indexes) is parsed on first use. The parsers also
//! take plain byte slices ([`Pclntab::parse`], [`BuildInfo::from_blob`]) so
//! they can be fuzzed and fed from other sources.
//!
//! ```no_run
//! let bin = gosleuth_gobin::GoBinary::open("/usr/local/go/bin/go")?;
//! if let Some(loc) = bin.pcln().lookup(0x401000) {
//!     println!("{} {}:{}", loc.func.name(), loc.file.unwrap_or_default(), loc.line.unwrap_or(0));
//! }
//! # Ok::<(), gosleuth_gobin::Error>(())
//! ```

mod buildinfo;
mod bytes;
mod dwarf;
mod error;
mod image;
mod pclntab;
pub mod size;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use buildinfo::{BUILDINFO_MAGIC, BuildInfo, BuildSetting, Module};
pub use dwarf::{
    Dwarf, FrameScope, Global, GoField, GoType, LocationContext, LocationError, Piece,
    PieceLocation, ScopeVar, TypeId, TypeKind, VarLocation, Variable,
};
pub use error::{Error, Result};
pub use image::Arch;
pub use pclntab::{
    FUNCDATA_INL_TREE, Func, FuncFlags, InlineFrame, Location, PCDATA_INL_TREE_INDEX, PclnShares,
    PclnVersion, Pclntab, PclntabOptions,
};

use bytes::Bytes;
use image::Image;

/// How the pclntab was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PclntabSource {
    /// The `.gopclntab` (or `.data.rel.ro.gopclntab`) section.
    Section,
    /// The `runtime.pclntab` symbol.
    Symbol,
    /// A magic header found by scanning, confirmed by `runtime.firstmoduledata`.
    Scan,
}

/// What `runtime.firstmoduledata` says about the module (the fields we use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleData {
    /// Address of the moduledata itself.
    pub addr: u64,
    /// `text`: start of the text segment.
    pub text: u64,
    /// `etext`.
    pub etext: u64,
    /// `gofunc`: base of funcdata.
    pub gofunc: Option<u64>,
    /// `epclntab`: end of the pclntab (Go 1.20+).
    pub epclntab: Option<u64>,
}

/// An opened Go ELF binary.
pub struct GoBinary {
    path: PathBuf,
    image: Arc<Image>,
    pcln: Pclntab,
    pcln_source: PclntabSource,
    moduledata: Option<ModuleData>,
    build_info: OnceLock<Result<BuildInfo>>,
    dwarf: OnceLock<Result<Option<Dwarf>>>,
}

impl std::fmt::Debug for GoBinary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoBinary")
            .field("path", &self.path)
            .field("arch", &self.image.arch)
            .field("pie", &self.image.pie)
            .field("pclntab", &self.pcln_source)
            .finish()
    }
}

impl GoBinary {
    /// Maps the file and locates its pclntab.
    pub fn open(path: impl AsRef<Path>) -> Result<GoBinary> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::open(&path).map_err(io)?;
        // SAFETY: the map is read-only; a file truncated underneath us is the
        // usual mmap caveat, accepted by every binary reader.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::from_bytes_inner(path, Bytes::from_mmap(map))
    }

    /// Reads a binary held in memory (copied).
    pub fn from_bytes(name: impl Into<PathBuf>, data: &[u8]) -> Result<GoBinary> {
        Self::from_bytes_inner(name.into(), Bytes::from_vec(data.to_vec()))
    }

    fn from_bytes_inner(path: PathBuf, data: Bytes) -> Result<GoBinary> {
        let image = Image::parse(data).map_err(|reason| Error::NotElf {
            path: path.clone(),
            reason,
        })?;
        let image = Arc::new(image);
        let (pcln, pcln_source, moduledata) = locate_pclntab(&image, &path)?;
        Ok(GoBinary {
            path,
            image,
            pcln,
            pcln_source,
            moduledata,
            build_info: OnceLock::new(),
            dwarf: OnceLock::new(),
        })
    }

    /// The file this was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The pc/line table.
    pub fn pcln(&self) -> &Pclntab {
        &self.pcln
    }
    /// How the pclntab was found.
    pub fn pclntab_source(&self) -> PclntabSource {
        self.pcln_source
    }
    /// The module data, when it was found.
    pub fn moduledata(&self) -> Option<ModuleData> {
        self.moduledata
    }
    /// Target architecture.
    pub fn arch(&self) -> Arch {
        self.image.arch
    }
    /// True for a position-independent executable (ELF type ET_DYN).
    pub fn is_pie(&self) -> bool {
        self.image.pie
    }
    /// True if the symbol table was stripped (`-ldflags=-s`).
    pub fn is_stripped(&self) -> bool {
        !self.image.has_symtab
    }
    /// True if the file has a `.debug_info` section (compressed or not); does not parse it.
    pub fn has_dwarf(&self) -> bool {
        self.image
            .sections
            .iter()
            .any(|s| s.name == ".debug_info" || s.name == ".zdebug_info")
    }
    /// True if the file has section headers.
    pub fn has_section_headers(&self) -> bool {
        !self.image.sections.is_empty()
    }

    /// Bytes at a virtual address, as stored in the file (static data only).
    pub fn read_addr(&self, addr: u64, len: u64) -> Option<&[u8]> {
        self.image.read_va(addr, len)
    }

    /// Address and size of a symbol from the symbol table, if present.
    pub fn symbol(&self, name: &str) -> Option<(u64, u64)> {
        self.image.symbols(&[name]).pop().flatten()
    }

    /// Where the file's bytes go, by section, symbol and package.
    pub fn sizes(&self) -> size::Sizes {
        size::sizes(self)
    }

    /// Build info (Go version, modules, settings), parsed on first call.
    pub fn build_info(&self) -> std::result::Result<&BuildInfo, &Error> {
        self.build_info
            .get_or_init(|| read_build_info(&self.image))
            .as_ref()
    }

    /// The Go version that built the binary (`go1.23.12`), from the build
    /// info or, failing that, `runtime.buildVersion`.
    pub fn go_version(&self) -> Option<String> {
        if let Ok(bi) = self.build_info() {
            return Some(bi.go_version.clone());
        }
        let (addr, _) = self.symbol("runtime.buildVersion")?;
        let hdr = self.read_addr(addr, 16)?;
        let p = u64::from_le_bytes(hdr[..8].try_into().ok()?);
        let n = u64::from_le_bytes(hdr[8..16].try_into().ok()?);
        if n > 256 {
            return None;
        }
        Some(String::from_utf8_lossy(self.read_addr(p, n)?).into_owned())
    }

    /// DWARF, loaded on first call; `Ok(None)` when the binary has none (`-w`).
    pub fn dwarf(&self) -> std::result::Result<Option<&Dwarf>, &Error> {
        match self.dwarf.get_or_init(|| Dwarf::load(self.image.bytes())) {
            Ok(d) => Ok(d.as_ref()),
            Err(e) => Err(e),
        }
    }
}

fn read_build_info(image: &Image) -> Result<BuildInfo> {
    let read = |addr: u64, len: u64| image.read_va_upto(addr, len);
    if let Some(s) = image.section(".go.buildinfo")
        && let Some(b) = image.section_bytes(s)
        && let Some(at) = buildinfo::find_magic(b.as_slice())
    {
        return BuildInfo::from_blob(&b.as_slice()[at..], &read);
    }
    // No section: the linker puts the blob at the start of the first
    // writable, non-executable segment.
    for seg in image
        .segments
        .iter()
        .filter(|s| s.writable && !s.executable)
    {
        let Some(data) = image.segment_bytes(seg) else {
            continue;
        };
        if let Some(at) = buildinfo::find_magic(data) {
            return BuildInfo::from_blob(&data[at..], &read);
        }
        break;
    }
    Err(Error::NoBuildInfo)
}

fn word(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(i * 8..i * 8 + 8)?.try_into().ok()?,
    ))
}

/// Reads the moduledata at `addr` and checks that it points at the pclntab at `pcln_addr`.
fn read_moduledata(
    image: &Image,
    addr: u64,
    pcln_addr: u64,
    funcname_off: u64,
    version: PclnVersion,
) -> Option<ModuleData> {
    let b = image.read_va(addr, 42 * 8)?;
    if word(b, 0)? != pcln_addr || word(b, 1)? != pcln_addr.wrapping_add(funcname_off) {
        return None;
    }
    let (gofunc_i, epcln_i) = match version {
        PclnVersion::Go118 => (38, None),
        PclnVersion::Go120 => (40, Some(41)),
    };
    let text = word(b, 22)?;
    let etext = word(b, 23)?;
    if etext < text {
        return None;
    }
    let gofunc = word(b, gofunc_i).filter(|&g| g != 0 && image.va_to_offset(g).is_some());
    let epclntab = epcln_i.and_then(|i| word(b, i)).filter(|&e| e > pcln_addr);
    Some(ModuleData {
        addr,
        text,
        etext,
        gofunc,
        epclntab,
    })
}

/// Scans writable segments for a moduledata whose first words point at the pclntab.
fn find_moduledata(
    image: &Image,
    pcln_addr: u64,
    funcname_off: u64,
    version: PclnVersion,
) -> Option<ModuleData> {
    let needle = pcln_addr.to_le_bytes();
    for seg in image.segments.iter().filter(|s| s.writable) {
        let Some(data) = image.segment_bytes(seg) else {
            continue;
        };
        for pos in memchr::memmem::find_iter(data, &needle) {
            if pos % 8 != 0 {
                continue;
            }
            let addr = seg.vaddr + pos as u64;
            if let Some(md) = read_moduledata(image, addr, pcln_addr, funcname_off, version) {
                return Some(md);
            }
        }
    }
    None
}

fn header_word(b: &[u8], i: usize) -> Option<u64> {
    let ps = usize::from(*b.get(7)?);
    let at = 8 + i * ps;
    let w = b.get(at..at + ps)?;
    Some(match ps {
        8 => u64::from_le_bytes(w.try_into().ok()?),
        4 => u64::from(u32::from_le_bytes(w.try_into().ok()?)),
        _ => return None,
    })
}

fn locate_pclntab(
    image: &Arc<Image>,
    path: &Path,
) -> Result<(Pclntab, PclntabSource, Option<ModuleData>)> {
    let syms = image.symbols(&[
        "runtime.text",
        "runtime.pclntab",
        "runtime.epclntab",
        "runtime.firstmoduledata",
        "go:func.*",
        "go.func.*",
    ]);
    let sym = |i: usize| syms[i].map(|s| s.0);

    // 1. By section name, 2. by symbol, 3. by scanning for the magic.
    let mut found: Option<(Bytes, u64, PclntabSource)> = None;
    for name in [".gopclntab", ".data.rel.ro.gopclntab"] {
        if let Some(s) = image.section(name)
            && let Some(b) = image.section_bytes(s)
            && pclntab::looks_like_header(b.as_slice())
        {
            found = Some((b, s.addr, PclntabSource::Section));
            break;
        }
    }
    if found.is_none()
        && let (Some(start), Some(end)) = (sym(1), sym(2))
        && end > start
        && let Some(off) = image.va_to_offset(start)
        && let Some(b) = image
            .data
            .slice(off as usize..(off + (end - start)) as usize)
        && pclntab::looks_like_header(b.as_slice())
    {
        found = Some((b, start, PclntabSource::Symbol));
    }
    let mut moduledata = None;
    if found.is_none() {
        // Scan the read-only segments for the magic and confirm each candidate.
        for seg in image.segments.iter().filter(|s| !s.writable) {
            let start = seg.offset as usize;
            let Some(data) = image
                .bytes()
                .get(start..start.saturating_add(seg.filesz as usize))
            else {
                continue;
            };
            for magic in [
                [0xf1u8, 0xff, 0xff, 0xff, 0, 0],
                [0xf0, 0xff, 0xff, 0xff, 0, 0],
            ] {
                for pos in memchr::memmem::find_iter(data, &magic) {
                    if pos % 4 != 0 || !pclntab::looks_like_header(&data[pos..]) {
                        continue;
                    }
                    let version = if magic[0] == 0xf1 {
                        PclnVersion::Go120
                    } else {
                        PclnVersion::Go118
                    };
                    let addr = seg.vaddr + pos as u64;
                    let Some(fno) = header_word(&data[pos..], 3) else {
                        continue;
                    };
                    if let Some(md) = find_moduledata(image, addr, fno, version) {
                        let end = md.epclntab.map_or(data.len(), |e| {
                            (pos as u64 + (e - addr)).min(data.len() as u64) as usize
                        });
                        if let Some(b) = image.data.slice(start + pos..start + end) {
                            found = Some((b, addr, PclntabSource::Scan));
                            moduledata = Some(md);
                        }
                        break;
                    }
                }
                if found.is_some() {
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
    }
    let Some((bytes, addr, source)) = found else {
        // A pclntab section of an older Go: say which, rather than "none".
        if let Some(s) = image.section(".gopclntab")
            && let Some(b) = image.section_bytes(s)
            && let Some(m) = b.as_slice().get(..4)
        {
            let magic = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
            if matches!(magic, 0xffff_fffa | 0xffff_fffb) {
                return Err(Error::UnsupportedPclntab { magic });
            }
        }
        return Err(Error::NoPclntab {
            path: path.to_path_buf(),
        });
    };
    let version = match bytes.as_slice().first() {
        Some(0xf0) => PclnVersion::Go118,
        _ => PclnVersion::Go120,
    };
    if moduledata.is_none() {
        let fno = header_word(bytes.as_slice(), 3).unwrap_or(0);
        moduledata = sym(3)
            .and_then(|a| read_moduledata(image, a, addr, fno, version))
            .or_else(|| find_moduledata(image, addr, fno, version));
    }
    let text_start = sym(0)
        .or(moduledata.map(|m| m.text))
        .or_else(|| image.section(".text").map(|s| s.addr))
        .filter(|&t| t != 0);
    let gofunc = sym(4).or(sym(5)).or(moduledata.and_then(|m| m.gofunc));
    let pcln = Pclntab::from_bytes(
        bytes,
        Some(image.clone()),
        PclntabOptions {
            addr,
            text_start,
            gofunc,
        },
    )?;
    Ok((pcln, source, moduledata))
}
