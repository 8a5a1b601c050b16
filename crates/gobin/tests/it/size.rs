//! `GoBinary::sizes` against the section sizes `readelf -S` prints and the
//! symbol sizes `go tool nm -size` prints.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use gosleuth_gobin::GoBinary;
use gosleuth_gobin::size::Part;

use crate::bins;
use crate::support::{factory, go, versions};

/// Section name -> size, from `readelf -SW`.
fn readelf_sections(bin: &Path) -> HashMap<String, u64> {
    let out = Command::new("readelf")
        .arg("-SW")
        .arg(bin)
        .output()
        .expect("running readelf (binutils)");
    assert!(out.status.success(), "readelf -SW {}", bin.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut m = HashMap::new();
    for line in text.lines() {
        // `  [ 3] .text  PROGBITS  0000000000401000 001000 0a8ff1 00  AX  0   0 64`
        let Some(rest) = line.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((_, rest)) = rest.split_once(']') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // The null section has no name: its type comes first.
        if f.len() < 5 || f[0] == "Name" || f[0] == "NULL" {
            continue;
        }
        let size = u64::from_str_radix(f[4], 16).expect("readelf size");
        m.insert(f[0].to_string(), size);
    }
    m
}

/// (name, size) of every sized symbol `go tool nm -size` lists.
fn nm_symbols(bin: &Path) -> Vec<(String, u64)> {
    let out = Command::new(go())
        .args(["tool", "nm", "-size"])
        .arg(bin)
        .output()
        .expect("go tool nm");
    assert!(out.status.success(), "go tool nm -size {}", bin.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // addr size type name (the name may hold spaces: rejoin).
            if f.len() < 4 || !matches!(f[2], "T" | "t" | "R" | "r" | "D" | "d" | "B" | "b") {
                return None;
            }
            let size: u64 = f[1].parse().ok()?;
            let name = f[3..].join(" ");
            // An object file's section (`net(.text)`, cgo's C code) is
            // reported as the symbols inside it.
            let section = name.ends_with(')') && name.contains("(.");
            (size > 0 && !section).then_some((name, size))
        })
        .collect()
}

fn check(bin: &Path) {
    let sizes = GoBinary::open(bin).unwrap().sizes();
    let want = readelf_sections(bin);
    let mut sums: HashMap<&str, u64> = HashMap::new();
    for p in &sizes.pieces {
        *sums.entry(&sizes.sections[p.section].name).or_default() += p.size;
    }
    for s in &sizes.sections {
        let w = want.get(&s.name).copied();
        assert_eq!(Some(s.size), w, "{}: size of {}", bin.display(), s.name);
        assert_eq!(
            sums.get(s.name.as_str()).copied().unwrap_or(0),
            s.size,
            "{}: pieces of {} add up",
            bin.display(),
            s.name
        );
    }
    assert_eq!(
        sizes.sections.len(),
        want.len(),
        "{}: sections",
        bin.display()
    );
    let loaded: u64 = sizes.by_package().iter().map(|p| p.loaded()).sum();
    let t = sizes.totals();
    assert_eq!(
        loaded,
        Part::LOADED.iter().map(|&p| t[p as usize]).sum::<u64>(),
        "{}: packages add up",
        bin.display()
    );
    if !sizes.symbols {
        // Stripped: text by the pclntab's functions.
        let main = sizes
            .by_package()
            .into_iter()
            .find(|p| p.package == "main")
            .expect("package main");
        assert!(main.get(Part::Text) > 0 && main.get(Part::Pclntab) > 0);
        return;
    }
    // Every sized symbol, with nm's size.
    let ours: HashMap<(&str, u64), usize> = sizes.pieces.iter().fold(HashMap::new(), |mut m, p| {
        *m.entry((p.name.as_str(), p.size)).or_default() += 1;
        m
    });
    let nm = nm_symbols(bin);
    assert!(nm.len() > 1000, "{}: nm listed {}", bin.display(), nm.len());
    let missing: Vec<_> = nm
        .iter()
        .filter(|(n, s)| !ours.contains_key(&(n.as_str(), *s)))
        .collect();
    assert!(
        missing.is_empty(),
        "{}: symbols of nm not found with their size: {:?}",
        bin.display(),
        &missing[..missing.len().min(10)]
    );
}

#[test]
fn sizes_add_up_to_readelf_and_nm() {
    for v in versions() {
        let dir = factory(&v, "leak");
        for bin in bins(&dir, "leak") {
            check(&bin);
        }
    }
}

/// Every section's pieces add up to its size, on whatever parses.
fn pieces_add_up(bin: &GoBinary) {
    let sizes = bin.sizes();
    for (i, s) in sizes.sections.iter().enumerate() {
        let sum: u64 = sizes
            .pieces
            .iter()
            .filter(|p| p.section == i)
            .map(|p| p.size)
            .sum();
        assert_eq!(sum, s.size, "pieces of {}", s.name);
    }
    let shares = bin.pcln().shares();
    let sum: u64 =
        shares.per_func.iter().sum::<u64>() + shares.rest.iter().map(|r| r.1).sum::<u64>();
    assert_eq!(sum, shares.len);
}

/// Deterministic byte flips in the ELF and section headers and the
/// pclntab's header and function table, and truncations: never a panic,
/// and the sizes of what still parses add up.
#[test]
fn sizes_of_mutated_binaries_add_up() {
    let dir = factory("installed", "crash");
    let path = dir.join("bin/crash");
    let data = std::fs::read(&path).expect("read binary");
    let base = GoBinary::from_bytes("crash", &data).expect("parses");
    pieces_add_up(&base);
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
    let (pc_off, _) = {
        let out = Command::new("readelf")
            .arg("-SW")
            .arg(&path)
            .output()
            .expect("readelf");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.contains(".gopclntab"))
            .expect("gopclntab")
            .to_string();
        let f: Vec<&str> = line.split(']').nth(1).unwrap().split_whitespace().collect();
        (
            usize::from_str_radix(f[3], 16).unwrap(),
            usize::from_str_radix(f[4], 16).unwrap(),
        )
    };
    // About 300 spots: each parse and size of a 2 MB binary takes a few
    // milliseconds in a debug build.
    let mut spots: Vec<usize> = (0..64).step_by(2).collect();
    let headers = data.len().saturating_sub(shoff);
    spots.extend((shoff..data.len()).step_by(headers / 120 + 1));
    spots.extend(
        (pc_off..pc_off + 96)
            .step_by(2)
            .chain((pc_off + 4096..pc_off + 8192).step_by(401)),
    );
    let mut parsed = 0;
    for &i in &spots {
        for x in [0xffu8, 0x80, 0x01] {
            let mut buf = data.clone();
            buf[i] ^= x;
            if let Ok(b) = GoBinary::from_bytes("mutated", &buf) {
                pieces_add_up(&b);
                parsed += 1;
            }
        }
    }
    for cut in (0..data.len()).step_by(data.len() / 41 + 1) {
        if let Ok(b) = GoBinary::from_bytes("cut", &data[..cut]) {
            pieces_add_up(&b);
        }
    }
    assert!(parsed > spots.len(), "only {parsed} mutations parsed");
}
