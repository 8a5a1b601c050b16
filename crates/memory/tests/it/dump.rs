//! `write_core` on live processes: the result opens in gdb and in CoreFile.

use std::path::Path;

use gosleuth_memory::{CoreFile, LiveProcess, Memory, Mode, write_core};

use crate::support::{self, Running, TempDir};

fn dump_and_check(bin: &Path, tag: &str, n: &str) {
    let p = Running::start(bin, &["-n", n]);
    let tmp = TempDir::new(tag);
    let out = tmp.0.join("dump.core");
    let addrs: Vec<u64> = [
        "runtime.buildVersion",
        "runtime.allgs",
        "runtime.allglen",
        "main.main",
    ]
    .iter()
    .map(|s| support::symbol(bin, s))
    .collect();
    let (tids, regs, live_bytes, bias) = {
        let live = LiveProcess::attach(p.pid, Mode::freeze()).unwrap_or_else(|e| panic!("{e}"));
        let summary = write_core(&live, &out, &mut |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            summary.threads > 0 && summary.bytes_dumped > 0,
            "{summary:?}"
        );
        assert!(
            summary.skipped.iter().any(|s| s.contains("[vvar]"))
                || !live
                    .maps()
                    .iter()
                    .any(|m| m.path == "[vvar]" && m.perms.read)
        );
        let threads = live.threads().expect("threads");
        let entry = live
            .auxv()
            .expect("auxv")
            .iter()
            .find(|(k, _)| *k == 9)
            .map(|(_, v)| *v)
            .expect("AT_ENTRY");
        // Addresses are link addresses; PIE moves them by the bias.
        let exe_entry = {
            let data = std::fs::read(bin).expect("bin");
            use object::Object;
            object::File::parse(&*data).expect("elf").entry()
        };
        let bias = entry - exe_entry;
        let live_bytes: Vec<Vec<u8>> = addrs
            .iter()
            .map(|a| live.read_vec(a + bias, 32).expect("live read"))
            .collect();
        (
            threads.iter().map(|t| t.tid).collect::<Vec<_>>(),
            threads.iter().map(|t| (t.tid, t.regs)).collect::<Vec<_>>(),
            live_bytes,
            bias,
        )
    };
    p.assert_running();
    assert_eq!(tids, support::tasks(p.pid), "no thread came or went");

    // Our reader: same threads, registers and bytes.
    let c = CoreFile::open(&out, bin).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.load_bias(), bias);
    let mut core_regs: Vec<_> = c.threads().iter().map(|t| (t.tid, t.regs)).collect();
    core_regs.sort_by_key(|t| t.0);
    assert_eq!(core_regs, regs);
    for (a, want) in addrs.iter().zip(&live_bytes) {
        assert_eq!(
            &c.read_vec(a + bias, 32).expect("core read"),
            want,
            "at {a:#x}"
        );
    }
    assert_eq!(c.process().map(|p| p.pid), Some(p.pid));
    assert!(c.mapped_files().iter().any(|m| Path::new(&m.path) == bin));

    // gdb: same threads and registers.
    let gdb = support::gdb_threads(bin, &out);
    assert_eq!(
        gdb.iter().map(|t| t.lwp).collect::<Vec<_>>(),
        tids,
        "gdb threads"
    );
    for g in &gdb {
        let t = c.threads().iter().find(|t| t.tid == g.lwp).expect("thread");
        assert_eq!((g.rip, g.rsp), (t.regs.pc(), t.regs.sp()));
    }
    // dlv: it finds the goroutines and the threads.
    let (goroutines, dlv_tids) = dlv(bin, &out);
    assert_eq!(dlv_tids, tids, "dlv threads");
    let allglen = c
        .read_u64(support::symbol(bin, "runtime.allglen") + bias)
        .expect("allglen");
    let n: u64 = n.parse().expect("n");
    assert!(
        goroutines > n && goroutines <= allglen,
        "dlv saw {goroutines} goroutines, allglen {allglen}"
    );

    // Sparse: far fewer blocks than bytes.
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(&out).expect("stat");
    assert!(
        md.blocks() * 512 < md.len(),
        "{} blocks for {} bytes",
        md.blocks(),
        md.len()
    );
}

fn dlv_path() -> std::path::PathBuf {
    gosleuth_testkit::dlv_path()
}

/// `dlv core BIN CORE` with `goroutines` and `threads`: the goroutine count and thread ids.
fn dlv(bin: &Path, core: &Path) -> (u64, Vec<i32>) {
    let init = core.with_extension("dlv-init");
    std::fs::write(&init, "goroutines\nthreads\nexit\n").expect("write init");
    let out = std::process::Command::new(dlv_path())
        .arg("core")
        .arg(bin)
        .arg(core)
        .arg("--init")
        .arg(&init)
        .arg("--allow-non-terminal-interactive=true")
        // dlv 1.27 refuses Go < 1.25 by default; the core format is the same.
        .arg("--check-go-version=false")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run dlv");
    let text = String::from_utf8_lossy(&out.stdout);
    let goroutines = text
        .lines()
        .find_map(|l| {
            l.strip_prefix('[')?
                .strip_suffix(" goroutines]")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no goroutine count in dlv output:\n{text}"));
    let mut tids: Vec<i32> = text
        .lines()
        .filter_map(|l| {
            l.trim_start_matches(['*', ' '])
                .strip_prefix("Thread ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    tids.sort_unstable();
    (goroutines, tids)
}

#[test]
fn dump_of_a_live_process_opens_in_gdb_and_corefile() {
    dump_and_check(&support::bin("installed", "parked"), "dump", "1000");
}

/// The oldest Go release the factory builds.
#[test]
fn dump_of_an_older_go_release() {
    let versions = gosleuth_testkit::go_versions();
    let oldest = versions
        .iter()
        .find(|v| *v != "installed")
        .unwrap_or(&versions[0]);
    dump_and_check(&support::bin(oldest, "parked"), "dumpold", "500");
}

#[test]
fn dump_of_a_pie_process() {
    let pie = support::bin("installed", "parked.pie");
    dump_and_check(&pie, "dumppie", "100");
}
