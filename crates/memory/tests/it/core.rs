//! Core files written by the kernel (GOTRACEBACK=crash) and by gdb's
//! `gcore`, for every Go release the factory builds.

use std::path::{Path, PathBuf};

use gosleuth_memory::{CoreFile, Error, Memory};
use gosleuth_testkit as kit;

use crate::support::{self, GdbThread};

const SIGABRT: i32 = nix::sys::signal::Signal::SIGABRT as i32;

fn binary(core: &Path) -> PathBuf {
    PathBuf::from(
        support::sidecar(core)["binary"]
            .as_str()
            .expect("binary in sidecar"),
    )
}

fn open(core: &Path) -> CoreFile {
    CoreFile::open(core, binary(core)).unwrap_or_else(|e| panic!("{e}"))
}

/// `runtime.buildVersion` lives in .data and points into .rodata, which a
/// kernel core does not contain: the read goes through the executable.
#[test]
fn build_version_from_every_core_and_go_release() {
    for go in kit::go_versions() {
        let dir = support::cores(&go);
        for name in [
            "crash.crash.core",
            "lockorder.crash.core",
            "lockorder.gcore.core",
        ] {
            let core = dir.join(name);
            let c = open(&core);
            let addr = support::symbol(&binary(&core), "runtime.buildVersion");
            let v = c
                .read_go_string(addr, 64)
                .unwrap_or_else(|e| panic!("{name} {go}: {e}"));
            assert_eq!(
                String::from_utf8_lossy(&v),
                support::go_version(&core),
                "{name} {go}"
            );
            assert_eq!(
                c.process().map(|p| p.pid),
                support::sidecar(&core)["pid"].as_i64().map(|p| p as i32)
            );
        }
    }
}

/// The hung service with > 10,000 goroutines: a 2 GB gcore and its kernel core.
#[test]
fn big_service_cores() {
    let dir = kit::factory("cores", "installed", &["--case", "metricsdeadlock"]).join("core");
    for name in ["metricsdeadlock.gcore.core", "metricsdeadlock.crash.core"] {
        let core = dir.join(name);
        let c = open(&core);
        let bin = binary(&core);
        let v = c
            .read_go_string(support::symbol(&bin, "runtime.buildVersion"), 64)
            .expect("version");
        assert_eq!(String::from_utf8_lossy(&v), support::go_version(&core));
        let allglen = c
            .read_u64(support::symbol(&bin, "runtime.allglen"))
            .expect("allglen");
        assert!(allglen > 10_000, "{name}: {allglen} goroutines");
        // Every g pointer in allgs is readable memory.
        let allgs = c
            .read_ptr(support::symbol(&bin, "runtime.allgs"))
            .expect("allgs");
        let gs = c
            .read_ptrs(allgs, allglen as usize)
            .expect("the allgs array");
        for g in gs.iter().step_by(97) {
            c.read_vec(*g, 64)
                .unwrap_or_else(|e| panic!("g {g:#x}: {e}"));
        }
    }
}

/// Threads and their rip/rsp agree with gdb on the same core.
#[test]
fn threads_and_registers_agree_with_gdb() {
    for go in ["installed".to_string(), "go1.21.13".to_string()] {
        if !kit::go_versions().contains(&go) {
            continue;
        }
        let dir = support::cores(&go);
        for name in [
            "lockorder.crash.core",
            "lockorder.gcore.core",
            "crash.crash.core",
        ] {
            let core = dir.join(name);
            let c = open(&core);
            let mut ours: Vec<GdbThread> = c
                .threads()
                .iter()
                .map(|t| GdbThread {
                    lwp: t.tid,
                    rip: t.regs.pc(),
                    rsp: t.regs.sp(),
                })
                .collect();
            ours.sort();
            let gdb = support::gdb_threads(&binary(&core), &core);
            assert!(!gdb.is_empty(), "gdb saw no threads in {}", core.display());
            assert_eq!(ours, gdb, "{go} {name}");
        }
    }
}

/// The signal that killed the process and who it was.
#[test]
fn siginfo_and_process_of_a_crash() {
    let core = support::cores("installed").join("crash.crash.core");
    let c = open(&core);
    let si = c.siginfo().expect("kernel cores have NT_SIGINFO");
    // GOTRACEBACK=crash: the runtime re-raises SIGABRT after printing the panic.
    assert_eq!(si.signo, SIGABRT);
    assert_eq!(support::sidecar(&core)["exit_status"].as_i64(), Some(-6));
    let p = c.process().expect("NT_PRPSINFO");
    assert_eq!(p.command, "crash");
    assert!(p.args.contains("crash"), "{}", p.args);
    // The kernel writes the thread that got the signal first.
    assert_eq!(c.threads()[0].signal, SIGABRT);
    assert_eq!(c.load_bias(), 0, "default builds are not PIE");
    assert!(c.mapped_files().iter().any(|m| m.path.ends_with("/crash")));
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

/// Every readable region can be read at its start and end, and reads of
/// PROT_NONE reservations and unmapped addresses fail with the right error.
#[test]
fn regions_and_unreadable_memory() {
    let core = support::cores("installed").join("lockorder.crash.core");
    let c = open(&core);
    let regions = c.regions();
    assert!(regions.windows(2).all(|w| w[0].start <= w[1].start));
    let mut none = 0;
    for r in &regions {
        let mut b = [0u8; 8];
        if r.readable {
            c.read_at(r.start, &mut b)
                .unwrap_or_else(|e| panic!("{r:?}: {e}"));
            c.read_at(r.end - 8, &mut b)
                .unwrap_or_else(|e| panic!("{r:?}: {e}"));
        } else if !r.perms.read && !r.perms.write && !r.perms.exec {
            none += 1;
            let e = c
                .read_at(r.start, &mut b)
                .expect_err("PROT_NONE is not readable");
            assert!(matches!(e, Error::Unreadable { .. }), "{e}");
            assert!(e.to_string().contains("PROT_NONE"), "{e}");
        }
    }
    assert!(none > 0, "Go reserves address space with PROT_NONE");
    let e = c.read_u64(8).expect_err("page zero is unmapped");
    assert!(matches!(e, Error::Unmapped { addr: 8, .. }), "{e}");
    // A read spanning the text (from the binary) into rodata (from the binary).
    let text_end = regions.iter().find(|r| r.perms.exec).expect("text").end;
    let mut b = [0u8; 64];
    c.read_at(text_end - 32, &mut b)
        .expect("read across two segments");
}

/// A gcore and a kernel core of the same process read the same code.
#[test]
fn gcore_matches_kernel_core_bytes() {
    let dir = support::cores("installed");
    let g = open(&dir.join("lockorder.gcore.core"));
    let k = open(&dir.join("lockorder.crash.core"));
    // Same process, same binary: text bytes agree (gcore dumped them, the
    // kernel core reads them from the binary).
    let bin = binary(&dir.join("lockorder.gcore.core"));
    for sym in ["main.main", "runtime.main", "runtime.gopark"] {
        let a = support::symbol(&bin, sym);
        assert_eq!(
            g.read_vec(a, 32).expect("gcore"),
            k.read_vec(a, 32).expect("kernel core"),
            "{sym}"
        );
    }
}

#[test]
fn wrong_binary_is_refused() {
    let dir = support::cores("installed");
    let core = dir.join("lockorder.crash.core");
    let other = binary(&dir.join("crash.crash.core"));
    let e =
        CoreFile::open(&core, &other).expect_err("crash binary does not match the lockorder core");
    assert!(matches!(e, Error::BinaryMismatch { .. }), "{e}");
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains("does not match") && msg.contains("lockorder.crash.core"),
        "{msg}"
    );
    // The same program built by another Go release.
    let older = support::bin("go1.21.13", "lockorder");
    let e = CoreFile::open(&core, &older).expect_err("another build does not match");
    eprintln!("{e}");
    assert!(matches!(e, Error::BinaryMismatch { .. }), "{e}");
    // Same entry point, different bytes: a copy of the right binary with
    // its GNU build ID changed (in the first page, which kernel cores keep).
    let right = binary(&core);
    let mut bytes = std::fs::read(&right).expect("read binary");
    let id_at = bytes
        .windows(4)
        .position(|w| w == b"GNU\0")
        .expect("build-id note")
        + 4;
    bytes[id_at] ^= 0xff;
    let tmp = support::TempDir::new("wrongid");
    let doctored = tmp.0.join("lockorder");
    std::fs::write(&doctored, &bytes).expect("write");
    let e = CoreFile::open(&core, &doctored).expect_err("build ID differs");
    eprintln!("{e}");
    assert!(e.to_string().contains("build ID"), "{e}");
    // The stripped build (-ldflags=-s -w) is another build: refused by build ID.
    let stripped = support::bin("installed", "lockorder.stripped");
    let e = CoreFile::open(&core, &stripped).expect_err("another build");
    assert!(e.to_string().contains("build ID"), "{e}");
    let c = CoreFile::open(&core, &right).expect("the right binary");
    assert_eq!(c.build_id().map(str::len), Some(40));
    // Not an executable at all.
    let e = CoreFile::open(&core, &core).expect_err("a core is not an executable");
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
}

#[test]
fn truncated_core() {
    let core = support::cores("installed").join("crash.crash.core");
    let bin = binary(&core);
    let full = std::fs::read(&core).expect("read core");
    let tmp = support::TempDir::new("trunc");
    // Cut in the middle of the memory: opens, warns, reads what is there.
    let half = tmp.0.join("half.core");
    std::fs::write(&half, &full[..full.len() / 2]).expect("write");
    let c = CoreFile::open(&half, &bin).expect("a half core opens");
    assert!(
        c.warnings().iter().any(|w| w.contains("truncated")),
        "{:?}",
        c.warnings()
    );
    assert_eq!(c.threads().len(), open(&core).threads().len());
    let last = c
        .regions()
        .into_iter()
        .rev()
        .find(|r| r.readable)
        .expect("a region");
    let e = c.read_u64(last.end - 8).expect_err("the end is gone");
    assert!(e.to_string().contains("truncated"), "{e}");
    eprintln!("{e}\n{:?}", c.warnings());
    let addr = support::symbol(&bin, "runtime.buildVersion");
    assert!(
        c.read_go_string(addr, 64).is_ok(),
        "early data is still readable"
    );
    // Cut inside the program headers: a clear error.
    let hdr = tmp.0.join("hdr.core");
    std::fs::write(&hdr, &full[..200]).expect("write");
    let e = CoreFile::open(&hdr, &bin).expect_err("headers cut");
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    eprintln!("{e}");
    assert!(
        e.to_string().contains("hdr.core") && e.to_string().contains("offset"),
        "{e}"
    );
    // Empty file.
    let empty = tmp.0.join("empty.core");
    std::fs::write(&empty, b"").expect("write");
    assert!(CoreFile::open(&empty, &bin).is_err());
    // Missing file: the path is in the message.
    let e = CoreFile::open(tmp.0.join("nope.core"), &bin).expect_err("missing");
    assert!(e.to_string().contains("nope.core"), "{e}");
}
