//! What a path named on the command line holds, told from its first bytes,
//! so a command given the wrong kind of file (a core where the binary
//! goes, a directory, an empty or text file) says so instead of failing
//! deeper down with a message about something else.

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The kind of a file argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Nothing at that path.
    Missing,
    /// A directory.
    Directory,
    /// A device, pipe or socket.
    Special,
    /// A regular file of length 0.
    Empty,
    /// An ELF core file (`ET_CORE`).
    Core,
    /// An ELF executable or shared object (`ET_EXEC`, `ET_DYN`).
    Executable,
    /// Another ELF file (an object file `ET_REL`, or a header too short to tell).
    OtherElf,
    /// A gzip stream.
    Gzip,
    /// Text (no NUL and mostly printable in its first bytes).
    Text,
    /// Anything else.
    Data,
}

impl FileKind {
    /// True for the ELF kinds.
    pub fn is_elf(self) -> bool {
        matches!(
            self,
            FileKind::Core | FileKind::Executable | FileKind::OtherElf
        )
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Missing => "does not exist",
            FileKind::Directory => "is a directory",
            FileKind::Special => "is a device, pipe or socket, not a regular file",
            FileKind::Empty => "is empty",
            FileKind::Core => "is a core file",
            FileKind::Executable => "is an executable",
            FileKind::OtherElf => "is an ELF file but neither an executable nor a core",
            FileKind::Gzip => "is gzip-compressed",
            FileKind::Text => "is a text file",
            FileKind::Data => "is neither an ELF file nor text",
        })
    }
}

/// ELF `e_type` values.
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const ET_CORE: u16 = 4;

/// Looks at `path` (follows symlinks). A file that exists but cannot be
/// opened or read is an error, with the path.
pub fn classify(path: &Path) -> std::io::Result<FileKind> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        return Ok(FileKind::Directory);
    }
    if !meta.is_file() {
        return Ok(FileKind::Special);
    }
    if meta.len() == 0 {
        return Ok(FileKind::Empty);
    }
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)?
        .take(512)
        .read_to_end(&mut head)?;
    Ok(kind_of(&head))
}

/// The ELF kind of a file starting with `head`: `None` when it is not ELF.
/// `e_ident[EI_DATA]` (5) is 1 for little-endian, 2 for big; e_type follows
/// e_ident at offset 16 in both classes.
pub fn elf_kind(head: &[u8]) -> Option<FileKind> {
    if !head.starts_with(b"\x7fELF") {
        return None;
    }
    let e_type = match (head.get(5), head.get(16..18)) {
        (Some(1), Some(t)) => u16::from_le_bytes([t[0], t[1]]),
        (Some(2), Some(t)) => u16::from_be_bytes([t[0], t[1]]),
        _ => return Some(FileKind::OtherElf),
    };
    Some(match e_type {
        ET_CORE => FileKind::Core,
        ET_EXEC | ET_DYN => FileKind::Executable,
        _ => FileKind::OtherElf,
    })
}

/// The kind of a file that starts with `head` (non-empty).
pub fn kind_of(head: &[u8]) -> FileKind {
    if head.is_empty() {
        return FileKind::Empty;
    }
    if let Some(elf) = elf_kind(head) {
        return elf;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return FileKind::Gzip;
    }
    let text = !head.contains(&0)
        && head
            .iter()
            .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c))
            .count()
            * 100
            <= head.len();
    if text { FileKind::Text } else { FileKind::Data }
}

/// A Go execution trace: `go 1.N trace`, padded with NULs to 16 bytes.
pub fn is_go_trace(head: &[u8]) -> bool {
    let head = &head[..head.len().min(16)];
    head.starts_with(b"go 1.")
        && head
            .iter()
            .position(|&b| b == 0)
            .is_some_and(|nul| head[..nul].ends_with(b" trace"))
}

/// [`is_go_trace`] of the file at `path` (false when it cannot be read).
pub fn is_go_trace_file(path: &Path) -> bool {
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .is_ok_and(|_| is_go_trace(&head))
}

/// Inputs that are not text, and the commands that read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// An ELF core file (`ET_CORE`).
    Core,
    /// An ELF executable or shared object.
    Binary,
    /// Another ELF file (an object file).
    OtherElf,
    /// A pprof profile (gzipped protobuf).
    Profile,
}

impl BinaryKind {
    /// Recognises the first bytes of an input (after gzip).
    pub fn of(head: &[u8]) -> Option<BinaryKind> {
        if let Some(elf) = elf_kind(head) {
            return Some(match elf {
                FileKind::Core => BinaryKind::Core,
                FileKind::Executable => BinaryKind::Binary,
                _ => BinaryKind::OtherElf,
            });
        }
        // A profile.proto message: its first fields are those of Profile
        // (numbers 1-14, varints or length-delimited), with control bytes
        // text never holds.
        let binary = head
            .iter()
            .take(32)
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
        if binary && profile_fields(head) >= 3 {
            return Some(BinaryKind::Profile);
        }
        None
    }

    /// What to run instead of `command` on the input `name`.
    pub fn advice(self, name: &str, command: &str) -> String {
        // Standard input is read once: the other command needs a file.
        let (name, arg) = if name == "<stdin>" {
            ("standard input", "FILE")
        } else {
            (name, name)
        };
        let save = if arg == "FILE" {
            " (save it to FILE first)"
        } else {
            ""
        };
        match self {
            BinaryKind::Core => format!(
                "{name} is an ELF core file, not text: read its goroutines with `gosleuth core \
                 BIN {arg}` or diagnose it with `gosleuth diagnose BIN {arg}` (BIN is the \
                 program that dumped it){save}"
            ),
            BinaryKind::Binary => format!(
                "{name} is an executable, not text: `gosleuth bin {arg}` shows what is in a Go \
                 binary{save}; `gosleuth {command}` reads panics, goroutine dumps and logs"
            ),
            BinaryKind::OtherElf => format!(
                "{name} is an ELF file, not text: `gosleuth {command}` reads panics, goroutine \
                 dumps and logs"
            ),
            BinaryKind::Profile => format!(
                "{name} is a pprof profile, not text: read it with `gosleuth pprof {arg}`{save}"
            ),
        }
    }
}

/// How many fields of a pprof `Profile` message the bytes start with
/// (stopping at the first that cannot be one, or the end of `head`).
fn profile_fields(head: &[u8]) -> usize {
    fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut at = 0;
    let mut fields = 0;
    while at < head.len() {
        let Some(key) = varint(head, &mut at) else {
            break;
        };
        let (number, wire) = (key >> 3, key & 7);
        if !(1..=14).contains(&number) {
            break;
        }
        match wire {
            0 => {
                if varint(head, &mut at).is_none() {
                    break;
                }
            }
            2 => {
                let Some(len) = varint(head, &mut at) else {
                    break;
                };
                at = at.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            }
            _ => break,
        }
        fields += 1;
    }
    fields
}

/// Where a core file comes from, for messages that ask for one.
const CORE_SOURCES: &str =
    "one written by a crash with GOTRACEBACK=crash, by gcore, or by gosleuth dump PID";

/// Checks the `BIN CORE` arguments of `usage` (`gosleuth core BIN CORE`):
/// a core in the binary's place (arguments swapped, or the binary left
/// out), a directory, an empty, text or missing file where either goes.
pub fn check_binary_and_core(usage: &str, bin: &Path, core: &Path) -> Result<()> {
    let bk = classify(bin).map_err(|e| Error::io("cannot read", bin, e))?;
    let ck = classify(core).map_err(|e| Error::io("cannot read", core, e))?;
    let (b, c) = (bin.display(), core.display());
    if bk == FileKind::Core {
        if ck == FileKind::Executable {
            bail!(
                "the arguments are swapped: {b} is a core file and {c} is an executable; \
                 the executable comes first: {} {c} {b}",
                usage.trim_end_matches(" BIN CORE")
            );
        }
        bail!(
            "{b} is a core file where the executable goes: {usage} takes the Go executable \
             the core was taken from, then the core"
        );
    }
    check_executable(
        bin,
        bk,
        &format!("the Go executable the core was taken from (BIN in {usage})"),
    )?;
    check_core(core, ck, usage)
}

/// Checks that `path` (of kind `kind`) is an executable; `what` says what
/// was expected.
pub fn check_executable(path: &Path, kind: FileKind, what: &str) -> Result<()> {
    let p = path.display();
    match kind {
        FileKind::Executable => Ok(()),
        FileKind::Missing => bail!("{p}: no such file; expected {what}"),
        FileKind::Core => bail!("{p} is a core file, not an executable; expected {what}"),
        FileKind::Text => bail!(
            "{p} is a text file, not an executable; expected {what}; a goroutine dump, panic or \
             log is read by gosleuth triage FILE or gosleuth diagnose FILE"
        ),
        k => bail!("{p} {k}; expected {what}"),
    }
}

/// Checks that `core` (of kind `kind`) is a core file for `usage`.
pub fn check_core(core: &Path, kind: FileKind, usage: &str) -> Result<()> {
    let p = core.display();
    let want = format!("expected a core file as CORE in {usage}: {CORE_SOURCES}");
    match kind {
        FileKind::Core => Ok(()),
        FileKind::Missing => bail!("{p}: no such file; {want}"),
        FileKind::Empty => bail!(
            "{p} is empty; a core whose writing was cut short (disk full, the dump killed) \
             holds nothing: take it again"
        ),
        FileKind::Executable => bail!("{p} is an executable, not a core file; {want}"),
        FileKind::Text => bail!(
            "{p} is a text file, not a core file; a goroutine dump, panic or log is read by \
             gosleuth triage {p} or gosleuth diagnose {p}"
        ),
        FileKind::Gzip => {
            bail!("{p} is gzip-compressed; decompress it first (gunzip -k {p}) and pass the core")
        }
        k => bail!("{p} {k}; {want}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(e_type: u16, big: bool) -> Vec<u8> {
        let mut h = b"\x7fELF\x02".to_vec();
        h.push(if big { 2 } else { 1 });
        h.resize(16, 0);
        if big {
            h.extend_from_slice(&e_type.to_be_bytes());
        } else {
            h.extend_from_slice(&e_type.to_le_bytes());
        }
        h.resize(64, 0);
        h
    }

    #[test]
    fn tells_cores_from_executables_in_either_byte_order() {
        assert_eq!(kind_of(&elf(ET_CORE, false)), FileKind::Core);
        assert_eq!(kind_of(&elf(ET_CORE, true)), FileKind::Core);
        assert_eq!(kind_of(&elf(ET_EXEC, false)), FileKind::Executable);
        assert_eq!(kind_of(&elf(ET_DYN, true)), FileKind::Executable);
        assert_eq!(kind_of(&elf(1, false)), FileKind::OtherElf);
        assert_eq!(kind_of(b"\x7fELF\x02"), FileKind::OtherElf);
    }

    #[test]
    fn tells_text_from_data() {
        assert_eq!(
            kind_of(b"goroutine 1 [running]:\n\tmain.go:3\n"),
            FileKind::Text
        );
        assert_eq!(kind_of(&[0x1f, 0x8b, 8, 0]), FileKind::Gzip);
        assert_eq!(kind_of(&[0, 1, 2, 3, 200]), FileKind::Data);
        assert_eq!(kind_of(b""), FileKind::Empty);
    }

    #[test]
    fn go_traces() {
        assert!(is_go_trace(b"go 1.26 trace\0\0\0\x01"));
        assert!(is_go_trace(b"go 1.9 trace\0\0\0\0"));
        assert!(!is_go_trace(b"go 1.26 tracer\0\0"));
        assert!(!is_go_trace(b"go 1.26 trace"));
        assert!(!is_go_trace(b"panic: go 1.26 trace\0"));
    }
}
