//! Where a binary's bytes go, as bloaty and goweight answer it: each
//! section's size, split among the symbols in it and among their
//! packages, with the pclntab split among the functions it describes.
//!
//! Every byte of a section is attributed to something, so the parts add
//! up to the section sizes `readelf -S` prints: a symbol's own size (as
//! `go tool nm -size` prints it), a group the linker lays out under one
//! unsized symbol (`type:*`, `go:string.*`), or the section's padding.
//! Without a symbol table (a stripped binary), text is split among the
//! pclntab's functions and the other sections stay whole.

use std::collections::HashMap;

use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, SectionFlags, SectionKind};

use crate::{GoBinary, PclnShares};

/// What kind of bytes a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Machine code.
    Text,
    /// Read-only data (types, strings, constants, funcdata).
    ReadOnly,
    /// Initialised writable data.
    Data,
    /// Zeroed data: no bytes in the file.
    Bss,
    /// The pc-line table (`.gopclntab`): names, lines and frame sizes of
    /// every function.
    Pclntab,
    /// DWARF (`.debug_*`, `.zdebug_*`): in the file, not in memory.
    Debug,
    /// The symbol and string tables and anything else.
    Other,
}

impl Part {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Part::Text => "text",
            Part::ReadOnly => "rodata",
            Part::Data => "data",
            Part::Bss => "bss",
            Part::Pclntab => "pclntab",
            Part::Debug => "debug",
            Part::Other => "other",
        }
    }
}

/// One section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub part: Part,
    /// Its size in memory (`sh_size`; for compressed DWARF, the
    /// compressed size in the file).
    pub size: u64,
    /// Bytes it takes in the file (0 for bss).
    pub file_size: u64,
}

/// A run of bytes in one section owned by one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// A symbol's name, a group's (`type:*`), a function's (pclntab
    /// shares), or a parenthesised part (`(padding)`, `(pclntab header)`).
    pub name: String,
    /// The Go package it belongs to (`net/http`), or a parenthesised
    /// group for bytes of no package (`(padding)`, `(strings)`).
    pub package: String,
    /// Index into [`Sizes::sections`].
    pub section: usize,
    pub size: u64,
}

/// Where the bytes of a binary go ([`sizes`]).
#[derive(Debug, Clone, Default)]
pub struct Sizes {
    pub sections: Vec<Section>,
    /// Pieces whose sizes add up, per section, to the section's size.
    pub pieces: Vec<Piece>,
    /// True when symbols came from `.symtab`; false for a stripped binary.
    pub symbols: bool,
}

/// One package's (or group's) bytes, by part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageSize {
    pub package: String,
    /// Bytes by [`Part`] (indexed by `Part as usize`).
    pub parts: [u64; Part::ALL.len()],
}

impl PackageSize {
    /// Bytes of one part.
    pub fn get(&self, part: Part) -> u64 {
        self.parts[part as usize]
    }

    /// Bytes loaded in memory: text, rodata, data, bss and pclntab.
    pub fn loaded(&self) -> u64 {
        Part::LOADED.iter().map(|&p| self.get(p)).sum()
    }

    /// Bytes of the program in the file: text, rodata, data and pclntab
    /// (bss takes none; DWARF and the symbol table belong to no package).
    pub fn in_file(&self) -> u64 {
        self.loaded() - self.get(Part::Bss)
    }
}

impl Part {
    /// Every part, in report order.
    pub const ALL: [Part; 7] = [
        Part::Text,
        Part::ReadOnly,
        Part::Data,
        Part::Bss,
        Part::Pclntab,
        Part::Debug,
        Part::Other,
    ];
    /// The parts a running process holds in memory.
    pub const LOADED: [Part; 5] = [
        Part::Text,
        Part::ReadOnly,
        Part::Data,
        Part::Bss,
        Part::Pclntab,
    ];
}

impl Sizes {
    /// The part of a piece.
    pub fn part(&self, p: &Piece) -> Part {
        self.sections.get(p.section).map_or(Part::Other, |s| s.part)
    }

    /// Bytes by package, the largest in the file first, then by bss
    /// and name; DWARF and symbol tables belong to no package.
    pub fn by_package(&self) -> Vec<PackageSize> {
        let mut map: HashMap<&str, PackageSize> = HashMap::new();
        for p in &self.pieces {
            let part = self.part(p);
            if !Part::LOADED.contains(&part) {
                continue;
            }
            let e = map.entry(&p.package).or_insert_with(|| PackageSize {
                package: p.package.clone(),
                ..PackageSize::default()
            });
            e.parts[part as usize] += p.size;
        }
        let mut v: Vec<PackageSize> = map.into_values().collect();
        v.sort_by(|a, b| {
            (b.in_file(), b.get(Part::Bss))
                .cmp(&(a.in_file(), a.get(Part::Bss)))
                .then_with(|| a.package.cmp(&b.package))
        });
        v
    }

    /// Bytes by part over the whole file (sections of a part summed).
    pub fn totals(&self) -> [u64; Part::ALL.len()] {
        let mut t = [0; Part::ALL.len()];
        for s in &self.sections {
            t[s.part as usize] += s.size;
        }
        t
    }
}

/// The part of a section, by its name and flags.
fn part_of(name: &str, kind: SectionKind, flags: SectionFlags) -> Part {
    if name.contains("gopclntab") {
        return Part::Pclntab;
    }
    if name.starts_with(".debug_") || name.starts_with(".zdebug_") {
        return Part::Debug;
    }
    let (alloc, write, exec) = match flags {
        SectionFlags::Elf { sh_flags, .. } => {
            let f = sh_flags.0;
            (f & 2 != 0, f & 1 != 0, f & 4 != 0)
        }
        _ => (false, false, false),
    };
    match kind {
        SectionKind::UninitializedData | SectionKind::UninitializedTls => Part::Bss,
        _ if exec => Part::Text,
        _ if alloc && write => Part::Data,
        _ if alloc => Part::ReadOnly,
        _ => Part::Other,
    }
}

/// The Go package of a symbol or function name: `net/http` of
/// `net/http.(*Server).Serve`, `main` of `type:*main.T` and of
/// `go:itab.*main.T,error`; a parenthesised group for names of no
/// package (`(strings)` of `go:string.*`, `(types)` of `type:*`).
pub fn package_of(name: &str) -> String {
    let name = name.strip_prefix("type:.eq.").unwrap_or(name);
    if let Some(t) = name
        .strip_prefix("type:")
        .or_else(|| name.strip_prefix("go:itab."))
    {
        let t = t
            .trim_start_matches(['*', '[', ']'])
            .trim_start_matches(char::is_numeric);
        let t = t.trim_start_matches(['*', ']']);
        return match path_package(t) {
            Some(p) => p.to_string(),
            None => "(types)".to_string(),
        };
    }
    if let Some(rest) = name.strip_prefix("go:") {
        let group = rest.split(['.', '*']).next().unwrap_or(rest);
        return format!("(go:{group})");
    }
    if name.starts_with('$') {
        return "(constants)".to_string();
    }
    path_package(name).map_or_else(|| "(no package)".to_string(), str::to_string)
}

/// `a/b/c` of `a/b/c.F`: up to the first `.` after the last `/` (both
/// before any `[` or `(`, which open type arguments and receivers).
fn path_package(name: &str) -> Option<&str> {
    let head = &name[..name.find(['[', '(']).unwrap_or(name.len())];
    let slash = head.rfind('/').map_or(0, |i| i + 1);
    let dot = head[slash..].find('.')? + slash;
    (dot > 0).then(|| &name[..dot])
}

/// Bytes between two symbols from which on they are not padding.
const UNNAMED: u64 = 64;
const UNNAMED_NAME: &str = "(unnamed)";

/// A section of an object file the linker kept whole (`net(.text)`,
/// `runtime/cgo(.text)`: C code of cgo packages).
fn is_object_section(name: &str) -> bool {
    name.ends_with(')') && name.contains("(.")
}

/// Zero-sized symbols that mark where a section or table starts or ends
/// rather than a group of bytes.
fn is_marker(name: &str) -> bool {
    name.starts_with("runtime.")
        && matches!(
            name.trim_start_matches("runtime."),
            "text"
                | "etext"
                | "rodata"
                | "erodata"
                | "types"
                | "etypes"
                | "pclntab"
                | "epclntab"
                | "noptrdata"
                | "enoptrdata"
                | "data"
                | "edata"
                | "bss"
                | "ebss"
                | "noptrbss"
                | "enoptrbss"
                | "end"
                | "egcdata"
                | "egcbss"
                | "covctrs"
                | "ecovctrs"
                | "itablink"
                | "eitablink"
                | "typelink"
                | "etypelink"
        )
}

/// Where the bytes of `bin` go.
pub fn sizes(bin: &GoBinary) -> Sizes {
    let Ok(file) = object::File::parse(bin.image.bytes()) else {
        return Sizes::default();
    };
    let mut out = Sizes::default();
    // object's section index -> ours.
    let mut index = HashMap::new();
    for s in file.sections() {
        let name = s.name().unwrap_or("");
        if name.is_empty() && s.size() == 0 {
            continue;
        }
        let part = part_of(name, s.kind(), s.flags());
        let file_size = s.file_range().map_or(0, |(_, n)| n);
        index.insert(s.index(), out.sections.len());
        out.sections.push(Section {
            name: name.to_string(),
            part,
            size: if part == Part::Bss {
                s.size()
            } else {
                s.size().max(file_size)
            },
            file_size,
        });
    }
    // Symbols by section, by address.
    let mut by_section: Vec<Vec<(u64, u64, String)>> = vec![Vec::new(); out.sections.len()];
    if let Some(table) = file.symbol_table() {
        out.symbols = true;
        for sym in table.symbols() {
            let Some(&at) = sym.section_index().and_then(|i| index.get(&i)) else {
                continue;
            };
            let Ok(name) = sym.name() else { continue };
            if name.is_empty() || sym.kind() == object::SymbolKind::Section {
                continue;
            }
            by_section[at].push((sym.address(), sym.size(), name.to_string()));
        }
    }
    let sections: Vec<(u64, u64)> = file
        .sections()
        .filter(|s| index.contains_key(&s.index()))
        .map(|s| (s.address(), s.size()))
        .collect();
    for (at, mut syms) in by_section.into_iter().enumerate() {
        let sec = &out.sections[at];
        let (start, _) = sections.get(at).copied().unwrap_or((0, 0));
        let size = sec.size;
        if start.checked_add(size).is_none() {
            // A corrupt header: a range past the address space, one piece.
            out.pieces.push(Piece {
                name: sec.name.clone(),
                package: "(sections)".to_string(),
                section: at,
                size,
            });
            continue;
        }
        if sec.part == Part::Text && !out.symbols {
            text_pieces(bin, at, start, size, &mut out.pieces);
            continue;
        }
        let end = start.saturating_add(size);
        // Bytes covered so far, and the group whose bytes follow.
        let mut covered = start;
        if sec.part == Part::Pclntab && bin.pcln().addr() == start {
            let shares = bin.pcln().shares();
            // A corrupt table may claim more than its section holds:
            // then the section is one piece.
            if shares.len <= size {
                covered = start + pclntab_pieces(bin, &shares, at, &mut out.pieces);
            }
        }
        syms.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        // The group whose bytes follow: a zero-sized symbol's (to the next
        // sized symbol), or an object file's section's (`net(.text)`: the
        // C code of a cgo package, to its end; the symbols inside it are
        // counted as themselves).
        let mut group: Option<(String, u64)> = None;
        let mut gaps: HashMap<Option<String>, u64> = HashMap::new();
        let mut fill = |group: &Option<(String, u64)>, from: u64, to: u64| {
            let inside = group
                .as_ref()
                .map_or(from, |(_, until)| to.min(*until).max(from));
            if inside > from {
                *gaps.entry(group.as_ref().map(|g| g.0.clone())).or_default() += inside - from;
            }
            if to > inside {
                // Alignment leaves less than this between symbols; more is
                // bytes no symbol names (mostly the backing arrays of
                // composite literals, which the linker leaves out of the
                // table).
                let key = (to - inside >= UNNAMED).then(|| UNNAMED_NAME.to_string());
                *gaps.entry(key).or_default() += to - inside;
            }
        };
        for (addr, len, name) in syms {
            let addr = addr.clamp(start, end);
            if addr > covered {
                fill(&group, covered, addr);
                covered = addr;
            }
            if len == 0 {
                if is_marker(&name) {
                    group = None;
                } else if addr >= covered {
                    group = Some((name, u64::MAX));
                }
                continue;
            }
            if is_object_section(&name) {
                group = Some((name, addr.saturating_add(len)));
                continue;
            }
            // Overlapping symbols count once.
            let from = addr.max(covered);
            let to = addr.saturating_add(len).min(end);
            if to > from {
                out.pieces.push(Piece {
                    package: package_of(&name),
                    name,
                    section: at,
                    size: to - from,
                });
                covered = to;
            }
            if group.as_ref().is_some_and(|g| g.1 == u64::MAX) {
                group = None;
            }
        }
        if end > covered {
            fill(&group, covered, end);
        }
        let mut gaps: Vec<_> = gaps.into_iter().filter(|g| g.1 > 0).collect();
        gaps.sort();
        let named = out.pieces.iter().any(|p| p.section == at);
        for (group, size) in gaps {
            let (name, package) = match group {
                Some(g) if g == UNNAMED_NAME => (g.clone(), g),
                Some(g) => (g.clone(), package_of(&g)),
                // A section of no symbols (DWARF, the symbol table): its name.
                None if !named => (sec.name.clone(), "(sections)".to_string()),
                None => ("(padding)".to_string(), "(padding)".to_string()),
            };
            out.pieces.push(Piece {
                name,
                package,
                section: at,
                size,
            });
        }
    }
    out
}

/// The pclntab's bytes: each function's share, then the shared parts;
/// returns the table's length (the section may hold more after it).
fn pclntab_pieces(
    bin: &GoBinary,
    shares: &PclnShares,
    section: usize,
    pieces: &mut Vec<Piece>,
) -> u64 {
    let pcln = bin.pcln();
    let mut total = 0;
    for (i, &n) in shares.per_func.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let name = pcln
            .func(i)
            .map_or_else(|| "?".to_string(), |f| f.name().into_owned());
        total += n;
        pieces.push(Piece {
            package: package_of(&name),
            name,
            section,
            size: n,
        });
    }
    for &(part, n) in &shares.rest {
        total += n;
        pieces.push(Piece {
            name: format!("(pclntab {part})"),
            package: "(pclntab)".to_string(),
            section,
            size: n,
        });
    }
    total
}

/// Text without a symbol table: the pclntab's functions.
fn text_pieces(bin: &GoBinary, section: usize, start: u64, size: u64, pieces: &mut Vec<Piece>) {
    let end = start.saturating_add(size);
    let mut covered = 0;
    // Where the last function ended: a corrupt table's functions may
    // overlap, and no byte counts twice.
    let mut last = start;
    for f in bin.pcln().funcs() {
        let (a, b) = (f.entry().max(start).max(last), f.end().min(end));
        if b <= a {
            continue;
        }
        last = b;
        let name = f.name().into_owned();
        covered += b - a;
        pieces.push(Piece {
            package: package_of(&name),
            name,
            section,
            size: b - a,
        });
    }
    if size > covered {
        pieces.push(Piece {
            name: "(no function)".to_string(),
            package: "(no function)".to_string(),
            section,
            size: size - covered,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::package_of;

    #[test]
    fn packages_of_names() {
        for (name, want) in [
            ("main.main", "main"),
            ("net/http.(*Server).Serve", "net/http"),
            ("github.com/a/b.F[go.shape.int]", "github.com/a/b"),
            ("main.(*T).M.func1", "main"),
            ("type:*main.T", "main"),
            ("type:[]net/http.Header", "net/http"),
            ("type:*", "(types)"),
            ("type:.eq.main.T", "main"),
            ("go:itab.*main.T,error", "main"),
            ("go:string.*", "(go:string)"),
            ("go:funcdesc", "(go:funcdesc)"),
            ("$f64.3ff0000000000000", "(constants)"),
            ("runtime.gcbits.*", "runtime"),
            ("_rt0_amd64_linux", "(no package)"),
        ] {
            assert_eq!(package_of(name), want, "{name}");
        }
    }
}
