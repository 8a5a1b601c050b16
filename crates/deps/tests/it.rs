//! The package graph of a module in the repo (`tests/testdata/depmod`:
//! a command, packages importing each other, a cgo package, an internal
//! test that closes an import cycle) against the go command's own
//! answer, on the installed Go and the oldest supported release.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use gosleuth_deps::{Kind, Options, go_list_with, select};

fn module() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/depmod")
}

/// The Go releases to check (`GOTOOLCHAIN` values): the installed one
/// and the oldest of the matrix by default (`GOSLEUTH_GO_VERSIONS`).
fn toolchains() -> Vec<String> {
    gosleuth_testkit::go_versions()
        .into_iter()
        .map(|v| {
            if v == "installed" {
                "local".to_string()
            } else {
                v
            }
        })
        .collect()
}

/// (importer, imported) for every package of `go list -deps PATTERN`,
/// from its own template output.
fn go_list_edges(pattern: &str, toolchain: &str) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let out = Command::new("go")
        .args([
            "list",
            "-e",
            "-deps",
            "-f",
            "{{.ImportPath}} {{.Standard}} {{join .Imports \" \"}}",
            pattern,
        ])
        .current_dir(module())
        .env("CGO_ENABLED", "1")
        .env("GOTOOLCHAIN", toolchain)
        .output()
        .expect("go list (is Go installed?)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut edges = BTreeSet::new();
    let mut std = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split_whitespace();
        let (Some(p), Some(s)) = (f.next(), f.next()) else {
            continue;
        };
        if s == "true" {
            std.insert(p.to_string());
            continue;
        }
        for i in f.filter(|&i| i != "C") {
            edges.insert((p.to_string(), i.to_string()));
        }
    }
    (edges, std)
}

fn graph(pattern: &str, toolchain: &str, opts: &Options) -> gosleuth_deps::Graph {
    let pkgs = go_list_with(
        &module(),
        &[pattern.to_string()],
        opts.tests,
        &[("GOTOOLCHAIN", toolchain)],
    )
    .unwrap();
    select(&pkgs, &[], opts).unwrap()
}

fn edges(g: &gosleuth_deps::Graph) -> BTreeSet<(String, String)> {
    g.edges
        .iter()
        .map(|e| (g.nodes[e.from].path.clone(), g.nodes[e.to].path.clone()))
        .collect()
}

/// By default: every import of the module's packages, the standard
/// library's packages shown where imported but not followed (as
/// godepgraph draws it); `-s` leaves them out.
#[test]
fn edges_are_the_go_commands() {
    for tc in toolchains() {
        let tc = tc.as_str();
        let (want, std) = go_list_edges("./cmd/app", tc);
        let g = graph("./cmd/app", tc, &Options::default());
        assert_eq!(edges(&g), want, "{tc}");
        for n in &g.nodes {
            assert_eq!(
                n.kind == Kind::Standard,
                std.contains(&n.path),
                "{tc}: {}",
                n.path
            );
        }
        let native = &g.nodes[g.find("example.com/depmod/native").unwrap()];
        assert_eq!(native.kind, Kind::Cgo);
        let g = graph(
            "./cmd/app",
            tc,
            &Options {
                no_std: true,
                ..Options::default()
            },
        );
        let module_only: BTreeSet<_> = want.into_iter().filter(|(_, b)| !std.contains(b)).collect();
        assert_eq!(edges(&g), module_only, "{tc}");
        assert_eq!(g.nodes.len(), 5);
    }
}

/// `-l`, `-o`, `-p` and `-i` cut where godepgraph cuts.
#[test]
fn options_cut_the_graph() {
    let tc = "local";
    let level2 = graph(
        "./cmd/app",
        tc,
        &Options {
            no_std: true,
            max_level: 2,
            ..Options::default()
        },
    );
    let names: BTreeSet<&str> = level2.nodes.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "example.com/depmod/api",
            "example.com/depmod/cmd/app",
            "example.com/depmod/native",
            "example.com/depmod/store"
        ])
    );
    let only = graph(
        "./cmd/app",
        tc,
        &Options {
            only_prefixes: vec!["example.com/depmod/".into()],
            ..Options::default()
        },
    );
    assert!(
        only.nodes
            .iter()
            .all(|n| n.path.starts_with("example.com/depmod/"))
    );
    let ignored = graph(
        "./cmd/app",
        tc,
        &Options {
            no_std: true,
            ignore_prefixes: vec!["example.com/depmod/internal".into()],
            ignore_packages: vec!["example.com/depmod/native".into()],
            ..Options::default()
        },
    );
    let names: BTreeSet<&str> = ignored.nodes.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "example.com/depmod/api",
            "example.com/depmod/cmd/app",
            "example.com/depmod/store"
        ])
    );
}

/// With test imports, the internal test of `store` importing `api` (which
/// imports `store`) is the cycle the go command refuses.
#[test]
fn an_import_cycle_through_a_test_is_flagged() {
    for tc in toolchains() {
        let tc = tc.as_str();
        let g = graph(
            "./...",
            tc,
            &Options {
                tests: true,
                no_std: true,
                ..Options::default()
            },
        );
        assert_eq!(g.cycles.len(), 1, "{tc}: {:?}", g.cycles);
        let (stack, err) = &g.cycles[0];
        assert_eq!(err, "import cycle not allowed in test", "{tc}");
        let set: BTreeSet<&str> = stack.iter().map(String::as_str).collect();
        assert_eq!(
            set,
            BTreeSet::from(["example.com/depmod/api", "example.com/depmod/store"]),
            "{tc}"
        );
        // Without tests, no cycle.
        let g = graph(
            "./...",
            tc,
            &Options {
                no_std: true,
                ..Options::default()
            },
        );
        assert!(g.cycles.is_empty(), "{tc}");
    }
}

/// DOT in godepgraph's layout; an SVG with a box per package and a line
/// per import.
#[test]
fn dot_and_svg() {
    let g = graph("./cmd/app", "local", &Options::default());
    let dot = gosleuth_deps::dot(&g, false, None);
    assert!(dot.starts_with("digraph godep {\nsplines=ortho\n"), "{dot}");
    assert!(dot.contains("\"example.com/depmod/native\" [label=\"example.com/depmod/native\" color=\"darkgoldenrod1\""), "{dot}");
    assert!(
        dot.contains("\"example.com/depmod/api\" -> \"example.com/depmod/store\";"),
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), g.edges.len());
    let svg = gosleuth_deps::svg(&g, false, None);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<g class=\"node\">").count(), g.nodes.len());
    assert_eq!(svg.matches("<path class=\"edge").count(), g.edges.len());
    assert!(svg.trim_end().ends_with("</svg>"));
}

/// A directory without a module, a pattern that matches nothing, and
/// output that is not go list's: the go command's own message or a
/// clear error.
#[test]
fn errors_say_what_went_wrong() {
    let e =
        gosleuth_deps::go_list(Path::new("/nonexistent-dir"), &[".".into()], false).unwrap_err();
    assert!(
        e.to_string().contains("no directory /nonexistent-dir"),
        "{e}"
    );
    let pkgs = gosleuth_deps::go_list(&module(), &["./nosuch".into()], false).unwrap();
    assert!(
        pkgs[0]
            .error
            .as_ref()
            .is_some_and(|e| e.err.contains("nosuch")),
        "{pkgs:?}"
    );
    let e = gosleuth_deps::parse("{\"ImportPath\": 3}").unwrap_err();
    assert!(
        e.to_string().starts_with("not `go list -json` output"),
        "{e}"
    );
}
