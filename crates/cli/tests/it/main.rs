//! The `gosleuth` binary end to end, on the bundled example and on the
//! factory's evidence.

use std::io::Write;
#[cfg(feature = "factory")]
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gosleuth_testkit as kit;

#[cfg(feature = "factory")]
mod ci;
mod cores;
#[cfg(feature = "factory")]
mod dlv;
mod escape;
mod fixtures;
#[cfg(feature = "factory")]
mod goroutines;
mod hostile;
mod inputs;
mod logs;
mod messages;
mod pprof;
#[cfg(feature = "factory")]
mod record;
#[cfg(feature = "factory")]
mod report;
#[cfg(feature = "factory")]
mod trace;

fn gosleuth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args(args)
        .current_dir(kit::repo_root())
        .output()
        .expect("run gosleuth")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn readme_example_names_the_root_cause_with_its_source() {
    let o = gosleuth(&["triage", "examples/service.log"]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    let line = kit::source_line("crash/main.go", "get error: %v\", id, merr.Error()");
    assert!(
        out.contains(&format!("root cause: main.Handler  crash/main.go:{line}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("=> {line}")),
        "no source snippet:\n{out}"
    );
    assert!(out.contains("nil pointer dereference"), "{out}");
    assert!(!out.contains("\x1b["), "colour on a pipe");
}

#[test]
fn json_output_follows_the_documented_schema() {
    let o = gosleuth(&["triage", "--format", "json", "examples/service.log"]);
    assert!(o.status.success(), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["source"], "examples/service.log");
    let inc = &doc["incidents"][0];
    assert_eq!(inc["kind"], "panic");
    assert_eq!(inc["root_cause"]["frame"]["function"], "main.Handler");
    assert_eq!(inc["signal"]["name"], "SIGSEGV");
    assert!(inc["groups"].as_array().is_some_and(|g| !g.is_empty()));
}

#[test]
fn exit_code_is_opt_in() {
    assert_eq!(
        gosleuth(&["triage", "examples/service.log"]).status.code(),
        Some(0)
    );
    assert_eq!(
        gosleuth(&["triage", "--exit-code", "examples/service.log"])
            .status
            .code(),
        Some(1)
    );
    let quiet = kit::repo_root().join("factory/README.md");
    let quiet = quiet.to_str().expect("utf-8 path");
    assert_eq!(
        gosleuth(&["triage", "--exit-code", quiet]).status.code(),
        Some(0)
    );
}

#[test]
fn errors_say_what_and_where() {
    let o = gosleuth(&["triage", "no/such/file.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no/such/file.txt"), "{err}");
    let o = gosleuth(&["triage", "--compare", "examples/service.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exactly two"));
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args(["triage", "-"])
        .current_dir(kit::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let input = kit::read(&kit::repo_root().join("examples/service.log"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(stdout(&o).contains("root cause: main.Handler"));
}

#[cfg(feature = "factory")]
#[test]
fn compare_shows_the_leaking_group() {
    let dir = kit::evidence("installed", &["goleak"]).join("text");
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let o = gosleuth(&[
        "triage",
        "--compare",
        &p("goleak.t1.txt"),
        &p("goleak.t2.txt"),
    ]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    let first = out.lines().nth(2).unwrap_or("");
    assert!(
        first.contains("grew") || first.contains("appeared"),
        "{out}"
    );
    let o = gosleuth(&[
        "triage",
        "--compare",
        "--format",
        "json",
        &p("goleak.t1.txt"),
        &p("goleak.t2.txt"),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let c = &doc["changes"][0];
    assert!(c["after"].as_u64() > c["before"].as_u64(), "{doc}");
}

#[cfg(feature = "factory")]
#[test]
fn a_huge_dump_collapses_into_a_few_groups() {
    let dir = kit::evidence("installed", &["metricsdeadlock"]).join("text");
    let path = dir.join("metricsdeadlock.sigquit.txt");
    assert!(Path::new(&path).exists());
    let o = gosleuth(&["triage", &path.to_string_lossy()]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    // The first group shown is the pile-up in CountS.
    let first_group = out
        .split("\n\n")
        .find(|block| {
            block.lines().next().is_some_and(|l| l.contains(" [")) && block.contains("main.")
        })
        .unwrap_or("");
    assert!(first_group.contains("main.(*Metrics).CountS"), "{out}");
}

/// `bin size`: packages in text, exact bytes in JSON that add up to the
/// file's sections, and a comparison of an optimized build with an
/// unoptimized one (`-N -l` makes package main's code larger).
#[cfg(feature = "factory")]
#[test]
fn bin_size_reports_packages_and_what_a_rebuild_changed() {
    let go = kit::go_versions()[0].clone();
    let bin = kit::binary(&go, "leak");
    let noopt = bin.with_file_name("leak.noopt");
    let (bin, noopt) = (bin.to_str().unwrap(), noopt.to_str().unwrap());
    let o = gosleuth(&["bin", "size", "--top", "1000", bin]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    let runtime = out.lines().find(|l| l.ends_with("  runtime")).expect(&out);
    assert!(runtime.contains("KiB"), "{out}");
    assert!(out.lines().any(|l| l.ends_with("  main")), "{out}");

    let o = gosleuth(&["bin", "size", "--format", "json", bin]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let sections: u64 = doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .sum();
    let totals: u64 = doc["totals"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let pieces: u64 = doc["symbols_by_size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .sum();
    assert_eq!(sections, totals);
    assert_eq!(sections, pieces);

    let o = gosleuth(&["bin", "size", "--diff", bin, noopt, "--format", "json"]);
    assert!(o.status.success(), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let main = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "main")
        .expect("main changed");
    assert!(main["change"].as_i64().unwrap() > 0, "{main}");
    let o = gosleuth(&["bin", "size", "--by", "symbol", "--diff", bin, noopt]);
    let out = stdout(&o);
    assert!(
        out.contains(" -> ") && out.lines().any(|l| l.trim_start().starts_with('+')),
        "{out}"
    );
}

/// `deps`: godepgraph's flags in its own spelling, the cycle through a
/// test, JSON, an SVG, and the size of each package in a binary.
#[cfg(feature = "factory")]
#[test]
fn deps_draws_the_module_graph() {
    let module = kit::repo_root().join("crates/deps/tests/testdata/depmod");
    let dir = module.to_str().unwrap();
    let o = gosleuth(&[
        "deps",
        "-C",
        dir,
        "-nostdlib",
        "-withtests",
        "--format",
        "json",
        "./...",
    ]);
    assert!(o.status.success(), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let pkgs: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(pkgs.len(), 5, "{pkgs:?}");
    assert!(
        pkgs.iter().all(|p| p.starts_with("example.com/depmod")),
        "{pkgs:?}"
    );
    assert_eq!(
        doc["cycles"][0]["error"], "import cycle not allowed in test",
        "{doc}"
    );

    let o = gosleuth(&["deps", "-C", dir, "-s", "--format", "svg", "./cmd/app"]);
    let svg = stdout(&o);
    assert!(
        svg.starts_with("<svg ") && svg.contains(">example.com/depmod/store</text>"),
        "{svg}"
    );
    // The same drawing as a PNG of the SVG's size.
    let o = gosleuth(&["deps", "-C", dir, "-s", "--format", "png", "./cmd/app"]);
    assert!(o.status.success(), "{o:?}");
    let png = &o.stdout;
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{:?}",
        &png[..png.len().min(16)]
    );
    let dim = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    let attr = |name: &str| -> u32 {
        let at = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        svg[at..].split('"').next().unwrap().parse().expect(name)
    };
    assert_eq!((dim(16), dim(20)), (attr("width"), attr("height")));

    let bin = std::env::temp_dir().join(format!("gosleuth-deps-app-{}", std::process::id()));
    let built = Command::new("go")
        .args(["build", "-o", bin.to_str().unwrap(), "./cmd/app"])
        .current_dir(&module)
        .status()
        .expect("go build");
    assert!(built.success());
    let o = gosleuth(&[
        "deps",
        "-C",
        dir,
        "-s",
        "--bin",
        bin.to_str().unwrap(),
        "./cmd/app",
    ]);
    let dot = stdout(&o);
    let _ = std::fs::remove_file(&bin);
    // Package main is `main` in the binary: the command's node has its size.
    assert!(
        dot.contains("[label=\"example.com/depmod/cmd/app\\n"),
        "{dot}"
    );
    assert!(
        dot.contains("[label=\"example.com/depmod/native\\n"),
        "{dot}"
    );

    let o = gosleuth(&["deps", "-C", dir, "./nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("directory not found"),
        "{o:?}"
    );
}
