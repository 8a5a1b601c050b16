//! Byte-for-byte comparisons with `go tool pprof`.

use std::path::Path;

use super::{assert_same, factory_profiles, goprog_profiles, oracle, ours, unordered};

const KINDS: &[&str] = &[
    "cpu.pb.gz",
    "heapold.pb.gz",
    "heapnew.pb.gz",
    "allocs.pb.gz",
    "goroutine.pb.gz",
    "mutex.pb.gz",
    "block.pb.gz",
    "threadcreate.pb.gz",
];

fn each_kind(flags: &[&str]) {
    let dir = goprog_profiles();
    for k in KINDS {
        let mut a: Vec<&str> = flags.to_vec();
        a.push(k);
        assert_same(dir, &a);
    }
}

#[test]
fn top_every_kind() {
    each_kind(&["-top"]);
}

#[test]
fn top_cum_nodecount() {
    each_kind(&["-top", "-cum", "-nodecount=7"]);
}

#[test]
fn traces_every_kind() {
    each_kind(&["-traces"]);
}

#[test]
fn tree_every_kind() {
    each_kind(&["-tree"]);
}

#[test]
fn top_granularities() {
    let dir = goprog_profiles();
    for g in ["-lines", "-addresses", "-filefunctions", "-functions", "-noinlines"] {
        assert_same(dir, &["-top", g, "cpu.pb.gz"]);
        assert_same(dir, &["-top", g, "allocs.pb.gz"]);
    }
}

#[test]
fn top_files_up_to_tie_order() {
    // go tool pprof orders rows with equal flat value and equal file name
    // (functions of one file start at different lines) by map iteration,
    // so only the multiset of rows is stable.
    let dir = goprog_profiles();
    for f in ["cpu.pb.gz", "heapnew.pb.gz"] {
        let a = ["-top", "-files", f];
        assert_eq!(unordered(&oracle(dir, &a)), unordered(&ours(dir, &a)), "-top -files {f}");
    }
}

#[test]
fn filters() {
    let dir = goprog_profiles();
    for f in [
        "-focus=main",
        "-ignore=runtime",
        "-hide=runtime",
        "-show=main",
        "-show_from=main.burn",
        "-focus=sort|sha256",
    ] {
        assert_same(dir, &["-top", f, "cpu.pb.gz"]);
    }
    assert_same(dir, &["-top", "-relative_percentages", "-focus=sort", "cpu.pb.gz"]);
    assert_same(dir, &["-top", "-nodefraction=0", "-cum", "cpu.pb.gz"]);
    assert_same(dir, &["-top", "-nodefraction=0.05", "-edgefraction=0.01", "cpu.pb.gz"]);
}

#[test]
fn sample_indexes_and_units() {
    let dir = goprog_profiles();
    for si in ["-sample_index=alloc_space", "-sample_index=0", "-inuse_objects", "-alloc_objects", "-sample_index=inuse_space"] {
        assert_same(dir, &["-top", si, "heapnew.pb.gz"]);
    }
    assert_same(dir, &["-top", "-mean_delay", "mutex.pb.gz"]);
    assert_same(dir, &["-top", "-contentions", "block.pb.gz"]);
    assert_same(dir, &["-top", "-unit=s", "cpu.pb.gz"]);
    assert_same(dir, &["-top", "-unit=kb", "heapnew.pb.gz"]);
    assert_same(dir, &["-top", "-divide_by=10", "cpu.pb.gz"]);
}

#[test]
fn peek() {
    let dir = goprog_profiles();
    assert_same(dir, &["-peek=main\\.", "cpu.pb.gz"]);
    assert_same(dir, &["-peek=leak", "heapnew.pb.gz"]);
}

#[test]
fn diff_base_and_base() {
    let dir = goprog_profiles();
    assert_same(dir, &["-top", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-top", "-base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-top", "-normalize", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-top", "-drop_negative", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-tree", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-traces", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-top", "-sample_index=alloc_space", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
}

#[test]
fn merging_several_sources() {
    let dir = goprog_profiles();
    assert_same(dir, &["-top", "heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(dir, &["-traces", "cpu.pb.gz", "cpu.pb.gz"]);
}

#[test]
fn proto_output_opens_in_go_tool_pprof() {
    let dir = goprog_profiles();
    let tmp = std::env::temp_dir().join(format!("gosleuth-proto-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("mkdir");
    for k in ["cpu.pb.gz", "heapnew.pb.gz", "goroutine.pb.gz"] {
        let out = tmp.join(format!("re-{k}"));
        let o = out.to_string_lossy().into_owned();
        let src = dir.join(k).to_string_lossy().into_owned();
        gosleuth_pprof::driver::run(&["-proto".into(), format!("-output={o}"), src.clone()]).expect("-proto");
        let a = oracle(dir, &["-top", "-nodefraction=0", &src]);
        let b = oracle(dir, &["-top", "-nodefraction=0", &o]);
        // Only the File line may differ (none does for Go profiles).
        assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b), "{k} after -proto");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

fn factory_case(dir: &Path) {
    for f in ["leak.cpu.pb.gz", "leak.heap.new.pb.gz", "leak.allocs.pb.gz", "leak.goroutine.pb.gz", "leak.mutex.pb.gz", "leak.block.pb.gz"] {
        if !dir.join(f).exists() {
            panic!("factory evidence {} lacks {f}", dir.display());
        }
        assert_same(dir, &["-top", f]);
        assert_same(dir, &["-traces", f]);
        assert_same(dir, &["-top", "-cum", "-nodecount=10", f]);
    }
    assert_same(dir, &["-top", "-diff_base=leak.heap.old.pb.gz", "leak.heap.new.pb.gz"]);
    assert_same(dir, &["-top", "-sample_index=alloc_space", "-base=leak.heap.old.pb.gz", "leak.heap.new.pb.gz"]);
}

#[test]
fn factory_evidence() {
    if let Some(dir) = factory_profiles() {
        factory_case(dir);
    }
}
