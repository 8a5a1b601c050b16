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
fn raw_every_kind() {
    each_kind(&["-raw"]);
}

#[test]
fn top_granularities() {
    let dir = goprog_profiles();
    for g in [
        "-lines",
        "-addresses",
        "-filefunctions",
        "-functions",
        "-noinlines",
    ] {
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
        assert_eq!(
            unordered(&oracle(dir, &a)),
            unordered(&ours(dir, &a)),
            "-top -files {f}"
        );
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
    assert_same(
        dir,
        &["-top", "-relative_percentages", "-focus=sort", "cpu.pb.gz"],
    );
    assert_same(dir, &["-top", "-nodefraction=0", "-cum", "cpu.pb.gz"]);
    assert_same(
        dir,
        &[
            "-top",
            "-nodefraction=0.05",
            "-edgefraction=0.01",
            "cpu.pb.gz",
        ],
    );
}

#[test]
fn sample_indexes_and_units() {
    let dir = goprog_profiles();
    for si in [
        "-sample_index=alloc_space",
        "-sample_index=0",
        "-inuse_objects",
        "-alloc_objects",
        "-sample_index=inuse_space",
    ] {
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
    assert_same(
        dir,
        &[
            "-top",
            "-normalize",
            "-diff_base=heapold.pb.gz",
            "heapnew.pb.gz",
        ],
    );
    assert_same(
        dir,
        &[
            "-top",
            "-drop_negative",
            "-diff_base=heapold.pb.gz",
            "heapnew.pb.gz",
        ],
    );
    assert_same(dir, &["-tree", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"]);
    assert_same(
        dir,
        &["-traces", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"],
    );
    assert_same(
        dir,
        &[
            "-top",
            "-sample_index=alloc_space",
            "-diff_base=heapold.pb.gz",
            "heapnew.pb.gz",
        ],
    );
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
        gosleuth_pprof::driver::run(&["-proto".into(), format!("-output={o}"), src.clone()])
            .expect("-proto");
        let a = oracle(dir, &["-top", "-nodefraction=0", &src]);
        let b = oracle(dir, &["-top", "-nodefraction=0", &o]);
        // Only the File line may differ (none does for Go profiles).
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{k} after -proto"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

fn factory_case(dir: &Path) {
    for f in [
        "leak.cpu.pb.gz",
        "leak.heap.new.pb.gz",
        "leak.allocs.pb.gz",
        "leak.goroutine.pb.gz",
        "leak.mutex.pb.gz",
        "leak.block.pb.gz",
    ] {
        if !dir.join(f).exists() {
            panic!("factory evidence {} lacks {f}", dir.display());
        }
        assert_same(dir, &["-top", f]);
        assert_same(dir, &["-traces", f]);
        assert_same(dir, &["-top", "-cum", "-nodecount=10", f]);
    }
    assert_same(
        dir,
        &[
            "-top",
            "-diff_base=leak.heap.old.pb.gz",
            "leak.heap.new.pb.gz",
        ],
    );
    assert_same(
        dir,
        &[
            "-top",
            "-sample_index=alloc_space",
            "-base=leak.heap.old.pb.gz",
            "leak.heap.new.pb.gz",
        ],
    );
}

/// The factory's profiles of the seed-001 leak program, from every Go
/// release it builds: our reports equal go tool pprof's byte for byte.
#[test]
fn factory_evidence() {
    for (_go, dir) in factory_profiles() {
        factory_case(&dir);
    }
}

#[test]
fn list_reads_source_from_disk() {
    let dir = goprog_profiles();
    assert_same(dir, &["-list=main.sumSquares", "cpu.pb.gz"]);
    assert_same(dir, &["-list=main\\.", "heapnew.pb.gz"]);
    assert_same(dir, &["-list=Mutex", "mutex.pb.gz"]);
    assert_same(
        dir,
        &[
            "-list=main.leak",
            "-diff_base=heapold.pb.gz",
            "heapnew.pb.gz",
        ],
    );
}

#[test]
fn legacy_text_profiles_match_their_proto_twins() {
    // The debug=1 text and the proto were written at the same moment, so
    // the symbolized text profile must give the proto's totals and rows.
    let dir = goprog_profiles();
    let t = gosleuth_pprof::parse_file(&dir.join("heap.txt")).expect("heap.txt parses");
    let p = gosleuth_pprof::parse_file(&dir.join("heapnew.pb.gz")).expect("proto parses");
    let names = |p: &gosleuth_pprof::Profile| {
        p.sample_types
            .iter()
            .map(|t| t.ty.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&t), names(&p), "heap sample types");
    for i in 0..4 {
        let sum =
            |p: &gosleuth_pprof::Profile| p.samples.iter().map(|s| s.values[i]).sum::<i64>() as f64;
        let (a, b) = (sum(&t), sum(&p));
        assert!(
            (a - b).abs() <= b.abs() * 0.001 + 1.0,
            "{}: text {a} vs proto {b}",
            names(&p)[i]
        );
    }
    let text = String::from_utf8(ours(dir, &["-top", "heap.txt"])).expect("utf8");
    assert!(
        text.lines().any(|l| l.ends_with("main.leak")),
        "heap.txt symbolized from its # lines:\n{text}"
    );
    let g = String::from_utf8(ours(dir, &["-top", "goroutine.txt"])).expect("utf8");
    assert!(g.contains("main.main.func2"), "{g}");
    let m = String::from_utf8(ours(dir, &["-top", "mutex.txt"])).expect("utf8");
    assert!(m.contains("sync.(*Mutex).Unlock"), "{m}");
    let b = String::from_utf8(ours(dir, &["-top", "-contentions", "block.txt"])).expect("utf8");
    assert!(b.contains("Type: contentions"), "{b}");
}

#[test]
fn flame_graphs() {
    let dir = goprog_profiles();
    let folded = String::from_utf8(ours(dir, &["-folded", "cpu.pb.gz"])).expect("utf8");
    // Folded totals equal the profile total (cpu nanoseconds).
    let total: i64 = folded
        .lines()
        .map(|l| {
            l.rsplit_once(' ')
                .expect("value")
                .1
                .parse::<i64>()
                .expect("int")
        })
        .sum();
    let raw = String::from_utf8(ours(dir, &["-raw", "cpu.pb.gz"])).expect("utf8");
    assert!(!raw.is_empty());
    let p = gosleuth_pprof::parse_file(&dir.join("cpu.pb.gz")).expect("parse");
    let want: i64 = p.samples.iter().map(|s| s.values[1]).sum();
    assert_eq!(total, want);
    assert!(
        folded
            .lines()
            .any(|l| l.contains("main.burn;main.sumSquares")),
        "{folded}"
    );
    // Same for --format folded and with a focus.
    assert_eq!(
        folded.as_bytes(),
        ours(dir, &["--format", "folded", "cpu.pb.gz"])
    );
    let focused =
        String::from_utf8(ours(dir, &["-folded", "-focus=sumSquares", "cpu.pb.gz"])).expect("utf8");
    assert!(
        focused.lines().all(|l| l.contains("main.sumSquares")),
        "{focused}"
    );

    let diff = String::from_utf8(ours(
        dir,
        &["-folded", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"],
    ))
    .expect("utf8");
    assert!(
        diff.lines().all(|l| l.split(' ').count() >= 3),
        "difffolded layout: stack base new"
    );

    for args in [
        &["-flamegraph", "cpu.pb.gz"][..],
        &["-flamegraph", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"][..],
    ] {
        let svg = String::from_utf8(ours(dir, args)).expect("utf8");
        assert!(
            svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"),
            "{args:?}"
        );
        assert!(
            svg.contains("function search()") && svg.contains("function zoom("),
            "interactive: {args:?}"
        );
        assert_eq!(
            svg.matches("<g class=\"f\"").count(),
            svg.matches("</g>").count() - 1,
            "balanced groups"
        );
    }

    let ss: serde_json::Value =
        serde_json::from_slice(&ours(dir, &["-speedscope", "cpu.pb.gz"])).expect("speedscope JSON");
    assert_eq!(
        ss["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let prof = &ss["profiles"][0];
    assert_eq!(prof["type"], "sampled");
    assert_eq!(
        prof["samples"].as_array().map(Vec::len),
        prof["weights"].as_array().map(Vec::len)
    );
    assert_eq!(prof["endValue"].as_i64(), Some(want));
}

#[test]
fn list_with_trim_path_and_source_path() {
    // The fixtures were built in a temporary directory that is gone; point
    // pprof at the checked-in source with -trim_path/-source_path.
    let dir = goprog_profiles();
    let p = gosleuth_pprof::parse_file(&dir.join("cpu.pb.gz")).expect("parse");
    let f = p
        .functions
        .iter()
        .find(|f| f.name == "main.sumSquares")
        .expect("main.sumSquares in the profile");
    let build_dir = f
        .filename
        .rsplit_once('/')
        .expect("absolute path")
        .0
        .to_string();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/goprog");
    let trim = format!("-trim_path={build_dir}");
    let source = format!("-source_path={src}");
    assert_same(dir, &["-list=main.sumSquares", &trim, &source, "cpu.pb.gz"]);
    let out = String::from_utf8(ours(
        dir,
        &["-list=main.sumSquares", &trim, &source, "cpu.pb.gz"],
    ))
    .expect("utf8");
    assert!(
        out.contains("s += square(i) % 7"),
        "source lines shown:\n{out}"
    );
}

/// Numeric `-tagfocus`/`-tagignore` (pprof's ranges over numeric labels:
/// heap and allocs profiles carry `bytes` on every sample), plus
/// `-tagshow`/`-taghide`, against go tool pprof.
const NUMERIC_TAG_FILTERS: &[&str] = &[
    "-tagfocus=bytes=1mb:",
    "-tagfocus=64kb:128kb",
    "-tagfocus=:512",
    "-tagfocus=bytes=256kb",
    "-tagfocus=bytes=2kb:1mb",
    "-tagfocus=bytes=1024b",
    "-tagfocus=+1kb:",
    "-tagfocus=96",
    "-tagfocus=1:2mb",
    "-tagfocus=1kb,2kb",
    "-tagfocus=bytes=1mb:1kb",
    "-tagfocus=1ms:",
    "-tagignore=bytes=:1kb",
    "-tagignore=4kb:",
    "-tagshow=bytes",
    "-taghide=bytes",
];

#[test]
fn numeric_tag_filters() {
    let dir = goprog_profiles();
    for f in NUMERIC_TAG_FILTERS {
        assert_same(dir, &["-top", f, "heapnew.pb.gz"]);
        assert_same(
            dir,
            &["-top", "-sample_index=alloc_space", f, "allocs.pb.gz"],
        );
    }
    assert_same(
        dir,
        &["-traces", "-tagfocus=bytes=1kb:4kb", "heapnew.pb.gz"],
    );
    assert_same(dir, &["-traces", "-taghide=bytes", "heapnew.pb.gz"]);
    assert_same(
        dir,
        &[
            "-top",
            "-tagfocus=bytes=4kb:",
            "-tagignore=64kb:",
            "heapnew.pb.gz",
        ],
    );
    for (_go, dir) in factory_profiles() {
        for f in [
            "-tagfocus=bytes=1mb:",
            "-tagfocus=bytes=2kb:1mb",
            "-tagignore=:64kb",
            "-tagfocus=bytes=64kb",
        ] {
            assert_same(&dir, &["-top", f, "leak.heap.new.pb.gz"]);
            assert_same(
                &dir,
                &["-top", "-sample_index=alloc_space", f, "leak.allocs.pb.gz"],
            );
        }
    }
}

/// The `Time:` header (and `-raw`'s `Time:`) in the zone `TZ` names, as
/// go tool pprof prints it: zones with and without daylight saving time,
/// a half-hour offset, a numeric abbreviation, and TZ unset
/// (`/etc/localtime`).
#[test]
fn time_zones() {
    let dir = goprog_profiles();
    for tz in [
        Some("America/New_York"),
        Some("Asia/Kolkata"),
        Some("Australia/Sydney"),
        Some("Asia/Riyadh"),
        Some(":Europe/Paris"),
        Some(""),
        Some("No/Such_Zone"),
        None,
    ] {
        super::assert_same_tz(dir, &["-top", "cpu.pb.gz"], tz);
        super::assert_same_tz(dir, &["-traces", "heapnew.pb.gz"], tz);
        super::assert_same_tz(dir, &["-raw", "goroutine.pb.gz"], tz);
    }
    for (_go, dir) in factory_profiles() {
        for tz in [Some("America/New_York"), Some("Asia/Kolkata"), None] {
            super::assert_same_tz(&dir, &["-top", "leak.heap.new.pb.gz"], tz);
        }
    }
}

/// `-tagroot`/`-tagleaf` (label values as frames; numeric `bytes` labels
/// of heap profiles, string labels of the labelled CPU and goroutine
/// profiles) and `-prune_from`, against go tool pprof.
#[test]
fn tag_roots_leaves_and_prune_from() {
    let dir = goprog_profiles();
    for f in ["-tagroot=bytes", "-tagleaf=bytes", "-tagroot=bytes,nope"] {
        assert_same(dir, &["-top", f, "heapnew.pb.gz"]);
        assert_same(dir, &["-traces", f, "heapnew.pb.gz"]);
    }
    assert_same(
        dir,
        &["-top", "-tagroot=bytes", "-unit=kb", "heapnew.pb.gz"],
    );
    for f in [
        "-tagroot=worker",
        "-tagleaf=phase,worker",
        "-tagroot=worker,phase",
        "-tagleaf=nope",
    ] {
        assert_same(dir, &["-top", f, "cpu.pb.gz"]);
        assert_same(dir, &["-traces", f, "cpu.pb.gz"]);
    }
    assert_same(dir, &["-top", "-tagroot=parked", "goroutine.pb.gz"]);
    assert_same(dir, &["-tree", "-tagroot=worker", "cpu.pb.gz"]);
    for f in [
        "-prune_from=runtime",
        "-prune_from=main.leak",
        "-prune_from=sort",
        "-prune_from=main.",
        "-prune_from=nomatch",
    ] {
        assert_same(dir, &["-top", f, "cpu.pb.gz"]);
        assert_same(dir, &["-traces", f, "heapnew.pb.gz"]);
    }
}

/// String-label filters on the labelled CPU and goroutine profiles.
#[test]
fn string_tag_filters() {
    let dir = goprog_profiles();
    for f in [
        "-tagfocus=worker=1",
        "-tagfocus=worker=0,1",
        "-tagfocus=phase:burn",
        "-tagfocus=worker:0,phase",
        "-tagignore=worker=0",
        "-tagshow=worker",
        "-taghide=phase",
    ] {
        assert_same(dir, &["-top", f, "cpu.pb.gz"]);
        assert_same(dir, &["-traces", f, "goroutine.pb.gz"]);
    }
}
