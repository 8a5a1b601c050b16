//! Integration tests of gosleuth-gobin against real Go binaries, with the Go
//! toolchain as oracle: `go tool addr2line` for symbols and lines, `go
//! version -m` for build info, Go's `debug/dwarf` for DWARF facts.

mod size;
mod support;

use std::path::{Path, PathBuf};

use gosleuth_gobin::{GoBinary, PclnVersion, Pclntab};
use support::*;

/// Sample addresses: entry, entry+1, middle and last byte of functions
/// spread over the whole table, a pseudo-random offset in each, and some
/// addresses outside any function.
fn sample_pcs(p: &Pclntab, target: usize) -> Vec<u64> {
    let n = p.num_funcs();
    let step = (n * 5 / target).max(1);
    let max = p.max_pc().expect("table has functions");
    let mut pcs = vec![0, 1, p.text_start().saturating_sub(1), max, max + 0x1000];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for f in p.funcs().step_by(step) {
        let (e, end) = (f.entry(), f.end());
        if end <= e {
            continue;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        pcs.extend([e, e + 1, e + (end - e) / 2, end - 1, e + seed % (end - e)]);
    }
    pcs
}

fn ours(p: &Pclntab, pcs: &[u64]) -> String {
    let mut buf = Vec::new();
    for pc in pcs {
        p.write_addr2line(&mut buf, &format!("{pc:#x}"), false)
            .unwrap();
    }
    String::from_utf8(buf).unwrap()
}

/// Our `bin sym` output equals `go tool addr2line`'s on thousands of addresses.
fn check_addr2line(bin: &Path) -> usize {
    let b = GoBinary::open(bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let pcs = sample_pcs(b.pcln(), 4000);
    let want = addr2line(bin, &pcs);
    let got = ours(b.pcln(), &pcs);
    // The batch lookup agrees with one-at-a-time lookups.
    let mut seen = 0;
    b.pcln().lookup_batch(&pcs, |i, loc| {
        seen += 1;
        let one = b.pcln().lookup(pcs[i]);
        let key = |l: Option<gosleuth_gobin::Location<'_>>| {
            l.map(|l| (l.func.index(), l.file.map(|f| f.into_owned()), l.line))
        };
        assert_eq!(
            key(loc),
            key(one),
            "{}: batch lookup of {:#x}",
            bin.display(),
            pcs[i]
        );
    });
    assert_eq!(seen, pcs.len());
    if want != got {
        let (w, g): (Vec<_>, Vec<_>) = (want.lines().collect(), got.lines().collect());
        for (i, pc) in pcs.iter().enumerate() {
            let (ws, gs) = (&w[2 * i..2 * i + 2], &g[2 * i..2 * i + 2]);
            assert_eq!(
                gs,
                ws,
                "{}: pc {pc:#x}: ours vs go tool addr2line",
                bin.display()
            );
        }
        assert_eq!(got, want);
    }
    pcs.len()
}

/// `info` equals `go version -m`.
fn check_build_info(bin: &Path) {
    let b = GoBinary::open(bin).unwrap();
    let bi = b
        .build_info()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let ours = format!(
        "{}: {}\n{}",
        bin.display(),
        bi.go_version,
        bi.version_m_lines()
    );
    assert_eq!(
        ours,
        go_version_m(bin),
        "{}: build info vs go version -m",
        bin.display()
    );
    assert_eq!(b.go_version().as_deref(), Some(bi.go_version.as_str()));
}

/// A stripped build has the same functions, sizes and lines as the unstripped one.
fn check_stripped_same(plain: &Path, stripped: &Path) {
    let a = GoBinary::open(plain).unwrap();
    let b = GoBinary::open(stripped).unwrap();
    assert!(!a.is_stripped() && b.is_stripped());
    assert!(a.has_dwarf() && !b.has_dwarf());
    assert!(b.dwarf().unwrap().is_none());
    let (pa, pb) = (a.pcln(), b.pcln());
    assert_eq!(pa.num_funcs(), pb.num_funcs());
    // Same order, names and sizes; lines and frame sizes at the same offsets.
    for (i, (fa, fb)) in pa.funcs().zip(pb.funcs()).enumerate() {
        let name = fa.name();
        assert_eq!(name, fb.name(), "function #{i}");
        assert_eq!(fa.size(), fb.size(), "{name}: size");
        if i % 7 != 0 {
            continue;
        }
        for off in [0, fa.size() / 3, fa.size() / 2, fa.size().saturating_sub(1)] {
            assert_eq!(
                fa.file_line(fa.entry() + off),
                fb.file_line(fb.entry() + off),
                "{name}+{off:#x}"
            );
            assert_eq!(
                fa.frame_size(fa.entry() + off),
                fb.frame_size(fb.entry() + off),
                "{name}+{off:#x}"
            );
        }
    }
}

/// Inline chains are consistent with the flat lookup: the innermost frame
/// has the pc's file and line, the last is the physical function.
fn check_inline_invariants(bin: &Path) -> usize {
    let b = GoBinary::open(bin).unwrap();
    let p = b.pcln();
    assert!(p.gofunc().is_some(), "{}: gofunc not found", bin.display());
    let mut inlined = 0;
    for pc in sample_pcs(p, 4000) {
        let Some(loc) = p.lookup(pc) else {
            assert!(p.inline_frames(pc).is_empty());
            continue;
        };
        let frames = p.inline_frames(pc);
        let last = frames.last().unwrap();
        assert_eq!(last.name, loc.func.name());
        assert!(!last.inlined);
        assert_eq!(
            (frames[0].file.as_ref(), frames[0].line),
            (loc.file.as_ref(), loc.line),
            "pc {pc:#x}"
        );
        if frames.len() > 1 {
            inlined += 1;
            assert!(
                frames[..frames.len() - 1]
                    .iter()
                    .all(|f| f.inlined && f.name != "?")
            );
        }
    }
    inlined
}

pub(crate) fn bins(dir: &Path, program: &str) -> [PathBuf; 4] {
    ["", ".stripped", ".pie", ".noopt"].map(|v| dir.join("bin").join(format!("{program}{v}")))
}

/// The DWARF facts Go's debug/dwarf reports, against ours.
fn check_dwarf(bin: &Path) {
    let types = [
        "runtime.g",
        "runtime.m",
        "runtime.hchan",
        "runtime.sudog",
        "runtime.gobuf",
    ];
    let globals = [
        "runtime.allgs",
        "runtime.allglen",
        "runtime.allm",
        "runtime.buildVersion",
        "runtime.firstmoduledata",
    ];
    let prefix = "runtime.waitReason";
    let funcs = [
        "main.main",
        "runtime.gopark",
        "runtime.newproc1",
        "runtime.chansend",
    ];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/dwarfdump.go");
    let out = std::process::Command::new(go())
        .current_dir(scratch())
        .env("GOTOOLCHAIN", "local")
        .arg("run")
        .arg(&script)
        .arg(bin)
        .args(types)
        .arg("--")
        .arg(prefix)
        .arg("--")
        .args(globals)
        .arg("--")
        .args(funcs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dwarfdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).unwrap();

    let b = GoBinary::open(bin).unwrap();
    let d = b.dwarf().unwrap().expect("binary has DWARF");
    let mut got = Vec::new();
    for t in types {
        let ti = d
            .type_by_name(t)
            .unwrap()
            .unwrap_or_else(|| panic!("{t} not found"));
        got.push(format!("type {t} size {}", ti.size.unwrap()));
        for f in &ti.fields {
            got.push(format!("field {t} {} {}", f.name, f.offset));
        }
    }
    for (name, v) in d.constants_with_prefix(prefix).unwrap() {
        got.push(format!("const {name} {v}"));
    }
    for g in globals {
        if let Some(addr) = d.global(g).unwrap().and_then(|g| g.addr) {
            got.push(format!("global {g} {addr:#x}"));
        }
    }
    for f in funcs {
        for v in d
            .function_vars(f)
            .unwrap()
            .unwrap_or_else(|| panic!("{f} not in DWARF"))
        {
            got.push(format!("var {f} {} param={}", v.name, v.is_param));
        }
    }
    got.sort();
    let got = got.join("\n") + "\n";
    assert_eq!(got, want, "{}: DWARF facts vs debug/dwarf", bin.display());
    // Cross-checks with other sources.
    assert_eq!(
        d.struct_field_offset("runtime.g", "stack").unwrap(),
        Some(0)
    );
    let allgs = d.global("runtime.allgs").unwrap().unwrap();
    if let Some(sym) = b.symbol("runtime.allgs") {
        assert_eq!(allgs.addr, Some(sym.0));
    }
    assert!(
        want.contains("const runtime.waitReason"),
        "no wait reasons in DWARF"
    );
    let vars = d
        .function_vars("main.main")
        .unwrap()
        .expect("main.main in DWARF");
    let _ = vars;
    let g = d.type_by_name("*runtime.g").unwrap().expect("*runtime.g");
    let pointee = d.go_type(g.target.expect("a pointee")).unwrap();
    assert_eq!(pointee.map(|t| t.name).as_deref(), Some("runtime.g"));
}

fn oracle_version(version: &str) {
    let dir = factory(version, "leak");
    let [plain, stripped, pie, noopt] = bins(&dir, "leak");
    let mut n = 0;
    for bin in [&plain, &stripped, &pie, &noopt] {
        n += check_addr2line(bin);
        check_build_info(bin);
    }
    assert!(n >= 4 * 3000, "only {n} addresses compared");
    assert!(GoBinary::open(&pie).unwrap().is_pie());
    assert!(!GoBinary::open(&plain).unwrap().is_pie());
    check_stripped_same(&plain, &stripped);
    assert!(
        check_inline_invariants(&plain) > 0,
        "no inlined frames found in an optimized build"
    );
    check_inline_invariants(&pie);
    check_dwarf(&plain);
    check_dwarf(&pie);
}

/// The installed release and the others of the factory's matrix that the
/// tests cover (`GOSLEUTH_GO_VERSIONS`), in two tests so they run in
/// parallel.
#[test]
fn oracle_installed() {
    oracle_version("installed");
}
#[test]
fn oracle_other_releases() {
    for v in versions().iter().filter(|v| *v != "installed") {
        oracle_version(v);
    }
}

/// Go 1.18-1.20 (older pclntab, moduledata and inline tree layouts,
/// `.zdebug_*` DWARF), outside the factory's matrix.
#[test]
fn oracle_go1_18_to_1_20() {
    for v in ["go1.18.10", "go1.19.13", "go1.20.14"] {
        let plain = hello_old(v);
        let dir = plain.parent().unwrap();
        let (stripped, pie) = (dir.join("hello.stripped"), dir.join("hello.pie"));
        for bin in [&plain, &stripped, &pie] {
            check_addr2line(bin);
            check_build_info(bin);
            assert!(
                check_inline_invariants(bin) > 0,
                "{}: no inlined frames",
                bin.display()
            );
        }
        let want = if v == "go1.20.14" {
            PclnVersion::Go120
        } else {
            PclnVersion::Go118
        };
        assert_eq!(GoBinary::open(&plain).unwrap().pcln().version(), want);
        check_stripped_same(&plain, &stripped);
        check_dwarf(&plain);
    }
}

/// The variants program (generics, closures, methods) across versions.
#[test]
fn oracle_variants_program() {
    for v in versions() {
        let dir = factory(&v, "variants");
        for bin in bins(&dir, "variants") {
            check_addr2line(&bin);
        }
    }
}

/// The Go toolchain's own tools: big, real binaries.
#[test]
fn oracle_go_tools() {
    let out = std::process::Command::new(go())
        .args(["env", "GOROOT"])
        .output()
        .unwrap();
    let root = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    for bin in [
        root.join("bin/go"),
        root.join("pkg/tool/linux_amd64/compile"),
    ] {
        check_addr2line(&bin);
        check_build_info(&bin);
    }
}

/// Known inlining in a program we write here: `inner` is inlined into `work`.
#[test]
fn inline_chain_names_lines() {
    let dir = hello();
    for name in ["hello", "hello.stripped", "hello.pie"] {
        check_build_info(&dir.join(name));
        let b = GoBinary::open(dir.join(name)).unwrap();
        let bi = b.build_info().unwrap();
        let dep = bi
            .deps
            .iter()
            .find(|d| d.path == "example.com/dep")
            .expect("dep in build info");
        assert_eq!(dep.replace.as_ref().map(|r| r.path.as_str()), Some("./dep"));
        let p = b.pcln();
        let work = p.func_by_name("main.work").expect("main.work");
        let mut seen = false;
        for pc in work.entry()..work.end() {
            let frames = p.inline_frames(pc);
            if frames.len() == 2 {
                assert_eq!(frames[0].name, "main.inner");
                assert!(frames[0].inlined);
                assert_eq!(frames[0].line, Some(14), "{:?}", frames[0]);
                assert_eq!(frames[1].name, "main.work");
                assert_eq!(frames[1].line, Some(10), "call site of inner");
                assert!(frames[1].file.as_deref().unwrap().ends_with("/main.go"));
                seen = true;
            }
        }
        assert!(seen, "{name}: no pc of main.work expands to main.inner");
        assert!(work.frame_size(work.entry()) == Some(0));
        let m = p.func_by_name("main.main").unwrap();
        assert!(m.frame_size(m.entry() + m.size() / 2).unwrap() > 0);
        assert_eq!(work.start_line(), Some(9));
        let main = p.func_by_name("runtime.goexit").unwrap();
        assert!(main.flags().is_top_frame());
    }
}

/// Stripped section headers: the pclntab is found by its magic and
/// confirmed by moduledata; build info by scanning the data segment.
#[test]
fn no_section_headers() {
    let src = hello().join("hello.stripped");
    let mut data = std::fs::read(&src).unwrap();
    // Zero e_shoff, e_shnum, e_shstrndx (ELF64 header offsets 0x28, 0x3c, 0x3e).
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    let b = GoBinary::from_bytes("noshdr", &data).unwrap();
    assert!(!b.has_section_headers());
    assert_eq!(b.pclntab_source(), gosleuth_gobin::PclntabSource::Scan);
    let a = GoBinary::open(&src).unwrap();
    let pcs = sample_pcs(a.pcln(), 2000);
    assert_eq!(ours(b.pcln(), &pcs), ours(a.pcln(), &pcs));
    assert_eq!(b.build_info().unwrap(), a.build_info().unwrap());
    assert!(b.pcln().gofunc().is_some());
    let main_work = b.pcln().func_by_name("main.work").unwrap();
    assert!((main_work.entry()..main_work.end()).any(|pc| b.pcln().inline_frames(pc).len() == 2));
}

/// arm64 (pc quantum 4): lines against addr2line, build info, inlining.
#[test]
fn arm64_cross_build() {
    let bin = hello_arm64();
    let b = GoBinary::open(&bin).unwrap();
    assert_eq!(b.arch(), gosleuth_gobin::Arch::Arm64);
    assert_eq!(b.pcln().pc_quantum(), 4);
    check_addr2line(&bin);
    check_build_info(&bin);
    assert!(check_inline_invariants(&bin) > 0);
    let work = b.pcln().func_by_name("main.work").unwrap();
    assert!(
        (work.entry()..work.end())
            .step_by(4)
            .any(|pc| b.pcln().inline_frames(pc).len() == 2)
    );
}

#[test]
fn not_go_binaries() {
    assert!(GoBinary::from_bytes("empty", b"").is_err());
    assert!(matches!(
        GoBinary::open("/nonexistent/x"),
        Err(gosleuth_gobin::Error::Io { .. })
    ));
    // A non-Go ELF (if the system has one) has no pclntab.
    if Path::new("/bin/true").exists() {
        let e = GoBinary::open("/bin/true").unwrap_err();
        assert!(e.to_string().contains("pclntab"), "{e}");
    }
}
