//! Names for pcs outside Go code (C called through cgo, libc, the vDSO)
//! from the ELF symbols of the file mapped there, when it has them.

use std::collections::HashMap;
use std::path::PathBuf;

use gosleuth_memory::live::MapEntry;
use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};

/// A native frame's name and the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeSym {
    /// The symbol, or `?` when the file has none covering the pc.
    pub name: String,
    /// The mapped file (`[vdso]` for the vDSO).
    pub file: String,
}

/// Symbols of one mapped file: (file-relative address, size, name),
/// sorted, and how file offsets map to those addresses.
#[derive(Default)]
struct FileSyms {
    syms: Vec<(u64, u64, String)>,
    /// PT_LOAD segments: (file offset, size, address).
    segments: Vec<(u64, u64, u64)>,
}

/// Resolves native pcs of one process, loading each file once.
pub struct Natives {
    pid: i32,
    maps: Vec<MapEntry>,
    files: HashMap<String, Option<FileSyms>>,
}

impl std::fmt::Debug for Natives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Natives").field("pid", &self.pid).finish()
    }
}

/// The largest file whose symbols are loaded (a bigger one is named by its
/// path only).
const MAX_FILE: u64 = 1 << 30;

impl Natives {
    /// Resolves pcs of `pid`, whose mappings are `maps`.
    pub fn new(pid: i32, maps: Vec<MapEntry>) -> Natives {
        Natives {
            pid,
            maps,
            files: HashMap::new(),
        }
    }

    /// The symbol at `pc`.
    pub fn lookup(&mut self, pc: u64) -> NativeSym {
        let Some(m) = self.maps.iter().find(|m| m.start <= pc && pc < m.end) else {
            return NativeSym {
                name: "?".into(),
                file: "?".into(),
            };
        };
        let file = if m.path.is_empty() {
            "[anon]".to_string()
        } else {
            m.path.clone()
        };
        let (start, offset, path) = (m.start, m.offset, m.path.clone());
        let pid = self.pid;
        let syms = self
            .files
            .entry(path.clone())
            .or_insert_with(|| load(pid, &path, start, &self.maps));
        let name = syms
            .as_ref()
            .and_then(|s| s.name_at(pc - start + offset, path.starts_with('[')))
            .unwrap_or_else(|| "?".into());
        NativeSym { name, file }
    }
}

impl FileSyms {
    fn name_at(&self, file_off: u64, is_image: bool) -> Option<String> {
        // The vDSO's "offset" is relative to its image, which is also its
        // address space.
        let addr = if is_image {
            file_off
        } else {
            let (off, _, addr) = self
                .segments
                .iter()
                .find(|(o, sz, _)| *o <= file_off && file_off < o + sz)?;
            file_off - off + addr
        };
        let i = self.syms.partition_point(|s| s.0 <= addr);
        let (start, size, name) = self.syms.get(i.checked_sub(1)?)?;
        (size == &0 || addr < start + size).then(|| name.clone())
    }
}

fn load(pid: i32, path: &str, start: u64, maps: &[MapEntry]) -> Option<FileSyms> {
    let bytes = if path == "[vdso]" {
        let end = maps.iter().find(|m| m.start == start)?.end;
        let mut buf = vec![0u8; usize::try_from(end - start).ok()?];
        let f = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut buf, start).ok()?;
        buf
    } else if path.starts_with('/') {
        // Through the process's root, so that a container's files are
        // found from the host.
        let p = PathBuf::from(format!("/proc/{pid}/root{path}"));
        let len = std::fs::metadata(&p).ok()?.len();
        if len > MAX_FILE {
            return None;
        }
        std::fs::read(&p).ok()?
    } else {
        return None;
    };
    let f = object::File::parse(&*bytes).ok()?;
    let mut syms: Vec<(u64, u64, String)> = f
        .symbols()
        .chain(f.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
        .collect();
    syms.sort();
    syms.dedup_by_key(|s| s.0);
    let segments = f
        .segments()
        .filter_map(|s| {
            let (off, size) = s.file_range();
            Some((off, size, s.address())).filter(|_| size > 0)
        })
        .collect();
    Some(FileSyms { syms, segments })
}
