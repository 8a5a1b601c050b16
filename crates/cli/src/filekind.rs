//! What a path named on the command line holds, told from its first bytes,
//! so a command given the wrong kind of file (a core where the binary
//! goes, a directory, an empty or text file) says so instead of failing
//! deeper down with a message about something else.

use std::fmt;
use std::io::Read;
use std::path::Path;

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

/// The kind of a file that starts with `head` (non-empty).
pub fn kind_of(head: &[u8]) -> FileKind {
    if head.is_empty() {
        return FileKind::Empty;
    }
    if head.starts_with(b"\x7fELF") {
        // e_ident[EI_DATA] (5) is 1 for little-endian, 2 for big; e_type
        // follows e_ident at offset 16 in both classes.
        let e_type = match (head.get(5), head.get(16..18)) {
            (Some(1), Some(t)) => u16::from_le_bytes([t[0], t[1]]),
            (Some(2), Some(t)) => u16::from_be_bytes([t[0], t[1]]),
            _ => return FileKind::OtherElf,
        };
        return match e_type {
            ET_CORE => FileKind::Core,
            ET_EXEC | ET_DYN => FileKind::Executable,
            _ => FileKind::OtherElf,
        };
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

/// Where a core file comes from, for messages that ask for one.
const CORE_SOURCES: &str =
    "one written by a crash with GOTRACEBACK=crash, by gcore, or by gosleuth dump PID";

/// Checks the `BIN CORE` arguments of `usage` (`gosleuth core BIN CORE`):
/// a core in the binary's place (arguments swapped, or the binary left
/// out), a directory, an empty, text or missing file where either goes.
pub fn check_binary_and_core(usage: &str, bin: &Path, core: &Path) -> anyhow::Result<()> {
    let bk = classify(bin).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", bin.display()))?;
    let ck = classify(core).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", core.display()))?;
    let (b, c) = (bin.display(), core.display());
    if bk == FileKind::Core {
        if ck == FileKind::Executable {
            anyhow::bail!(
                "the arguments are swapped: {b} is a core file and {c} is an executable; \
                 the executable comes first: {} {c} {b}",
                usage.trim_end_matches(" BIN CORE")
            );
        }
        anyhow::bail!(
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
pub fn check_executable(path: &Path, kind: FileKind, what: &str) -> anyhow::Result<()> {
    let p = path.display();
    match kind {
        FileKind::Executable => Ok(()),
        FileKind::Missing => anyhow::bail!("{p}: no such file; expected {what}"),
        FileKind::Core => anyhow::bail!("{p} is a core file, not an executable; expected {what}"),
        FileKind::Text => anyhow::bail!(
            "{p} is a text file, not an executable; expected {what}; a goroutine dump, panic or \
             log is read by gosleuth triage FILE or gosleuth diagnose FILE"
        ),
        k => anyhow::bail!("{p} {k}; expected {what}"),
    }
}

/// Checks that `core` (of kind `kind`) is a core file for `usage`.
pub fn check_core(core: &Path, kind: FileKind, usage: &str) -> anyhow::Result<()> {
    let p = core.display();
    let want = format!("expected a core file as CORE in {usage}: {CORE_SOURCES}");
    match kind {
        FileKind::Core => Ok(()),
        FileKind::Missing => anyhow::bail!("{p}: no such file; {want}"),
        FileKind::Empty => anyhow::bail!(
            "{p} is empty; a core whose writing was cut short (disk full, the dump killed) \
             holds nothing: take it again"
        ),
        FileKind::Executable => anyhow::bail!("{p} is an executable, not a core file; {want}"),
        FileKind::Text => anyhow::bail!(
            "{p} is a text file, not a core file; a goroutine dump, panic or log is read by \
             gosleuth triage {p} or gosleuth diagnose {p}"
        ),
        FileKind::Gzip => anyhow::bail!(
            "{p} is gzip-compressed; decompress it first (gunzip -k {p}) and pass the core"
        ),
        k => anyhow::bail!("{p} {k}; {want}"),
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
}
