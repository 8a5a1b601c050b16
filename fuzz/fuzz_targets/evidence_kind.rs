//! Any first bytes of a file: telling what it holds (ELF core or
//! executable, gzip, profile, text) never panics, and an ELF verdict from
//! one classifier agrees with the other's.
#![no_main]

use gosleuth_evidence::kind::{elf_kind, kind_of};
use gosleuth_evidence::{BinaryKind, FileKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = kind_of(data);
    let binary = BinaryKind::of(data);
    if let Some(elf) = elf_kind(data) {
        assert_eq!(file, elf);
        let expected = match elf {
            FileKind::Core => BinaryKind::Core,
            FileKind::Executable => BinaryKind::Binary,
            _ => BinaryKind::OtherElf,
        };
        assert_eq!(binary, Some(expected));
    }
    if let Some(kind) = binary {
        let _ = kind.advice("input", "triage");
    }
});
