//! `gosleuth report` end to end: the seed-004 evidence (the service's
//! SIGQUIT output with its log line, a core and the binary) becomes a
//! postmortem draft that names the self-deadlock; the Markdown is read
//! back by a CommonMark parser (pulldown-cmark), the HTML by headless
//! Chromium (no console message, every section there); a service with
//! net/http/pprof is captured from in the SOP's order.

use std::path::{Path, PathBuf};
use std::process::Command;

use gosleuth_testkit as kit;
use gosleuth_testkit::process::Running;

use super::{gosleuth, stdout};

/// The postmortem's sections, in order.
const SECTIONS: &[&str] = &[
    "Details",
    "Summary",
    "Timeline",
    "Root cause",
    "Impact (to fill in)",
    "Response (to fill in)",
    "What went well (to fill in)",
    "What went badly (to fill in)",
    "Action items (to fill in)",
];

fn seed_004(go: &str) -> [PathBuf; 3] {
    let text = kit::evidence(go, &["metricsdeadlock"])
        .join("text")
        .join("metricsdeadlock.sigquit.txt");
    let core = kit::factory("cores", go, &["--case", "metricsdeadlock"])
        .join("core")
        .join("metricsdeadlock.gcore.core");
    [text, core, kit::binary(go, "metricsdeadlock")]
}

/// The level-1 and level-2 headings of a Markdown document, as a
/// CommonMark parser reads them.
fn headings(md: &str) -> Vec<(u8, String)> {
    use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
    let mut out = Vec::new();
    let mut current: Option<(u8, String)> = None;
    for ev in Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                let n = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    _ => 3,
                };
                current = Some((n, String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, s)) = &mut current {
                    s.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = current.take() {
                    if h.0 <= 2 {
                        out.push(h);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn seed_004_evidence_makes_a_postmortem_that_names_the_self_deadlock() {
    let metrics = kit::source_line("metricsdeadlock/metrics.go", "m.SetM(");
    for go in kit::go_versions() {
        let files = seed_004(&go);
        let args: Vec<&str> = std::iter::once("report")
            .chain(files.iter().map(|p| p.to_str().expect("utf-8 path")))
            .collect();
        let o = gosleuth(&args);
        assert!(o.status.success(), "{go}: {o:?}");
        let md = stdout(&o);
        let hs = headings(&md);
        let (level, title) = &hs[0];
        assert_eq!(*level, 1, "{go}: {hs:?}");
        assert!(title.starts_with("self-deadlock"), "{go}: {title}");
        let sections: Vec<&str> = hs
            .iter()
            .filter(|h| h.0 == 2)
            .map(|h| h.1.as_str())
            .collect();
        let ordered: Vec<&str> = sections
            .iter()
            .copied()
            .filter(|s| SECTIONS.contains(s))
            .collect();
        assert_eq!(ordered, SECTIONS, "{go}: {sections:?}");
        for needle in [
            // The evidence table names each input and what was read.
            "metricsdeadlock.gcore.core | core file",
            "11899 in chan send at main.(*Metrics).CountS",
            "channel it drains",
            "server listening",
            // The timeline has the log line and the captures.
            "first log record",
            "core file written (the file's modification time)",
            // The fix is suggested as an action item with its place.
            &format!("metrics.go:{metrics}"),
        ] {
            let plain = md.replace('\\', "");
            assert!(plain.contains(needle), "{go}: {needle:?} not in\n{md}");
        }
    }
}

/// Chromium's console messages and the DOM it built from `page`.
fn chromium(page: &Path) -> (Vec<String>, String) {
    let o = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium (Debian's chromium package; .ci/run installs it)");
    assert!(o.status.success(), "{o:?}");
    let console = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (console, String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn the_html_report_opens_in_a_browser_without_errors() {
    let dir = tempdir("html");
    let files = seed_004("installed");
    let page = dir.join("incident.html");
    let mut args: Vec<&str> = vec!["report", "-o", page.to_str().expect("utf-8")];
    args.extend(files.iter().map(|p| p.to_str().expect("utf-8")));
    let o = gosleuth(&args);
    assert!(o.status.success(), "{o:?}");
    let html = std::fs::read_to_string(&page).expect("the report");
    // Static: nothing to run, nothing to fetch.
    for bad in ["<script", " src=", " href=", "onload="] {
        assert!(!html.contains(bad), "{bad:?} in the page");
    }
    let (console, dom) = chromium(&page);
    assert!(console.is_empty(), "console messages: {console:#?}");
    for s in SECTIONS {
        let heading = s.trim_end_matches(" (to fill in)");
        assert!(
            dom.contains(&format!("<h2>{heading}")),
            "{heading:?} not in the DOM"
        );
    }
    assert!(dom.contains("<svg"), "the goroutine figure");
    assert!(dom.contains("self-deadlock"));

    // The browser is a live check: a page with an error is caught.
    let bad = dir.join("bad.html");
    std::fs::write(
        &bad,
        "<html><body><script>undefinedFn()</script></body></html>",
    )
    .unwrap();
    assert!(!chromium(&bad).0.is_empty());
}

fn tempdir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gosleuth-report-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn go_test_output_and_a_profile_make_their_sections() {
    let ci = kit::evidence("installed", &["citest"])
        .join("text")
        .join("citest.json.txt");
    let cpu = kit::evidence("installed", &["leak"])
        .join("pprof")
        .join("leak.cpu.pb.gz");
    let o = gosleuth(&["report", ci.to_str().unwrap(), cpu.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let md = stdout(&o).replace('\\', "");
    for needle in [
        "## Tests",
        "TestConfig/empty",
        "Fix the failing test TestDrain (example.com/citest/hang)",
        "## Profiles",
        "Type: cpu",
        "flat%",
    ] {
        assert!(md.contains(needle), "{needle:?} not in\n{md}");
    }
}

/// `gosleuth report http://...`: the evidence is captured in the SOP's
/// order, kept beside the report, and read.
#[test]
fn a_service_url_is_captured_and_reported() {
    let (_leak, addr) = Running::start_until(
        &kit::binary("installed", "leak"),
        &["-addr", "127.0.0.1:0"],
        None,
        |l| l.contains(':'),
    );
    let dir = tempdir("url");
    let out = dir.join("incident.md");
    let o = gosleuth(&[
        "report",
        &format!("http://{}", addr.trim()),
        "--budget",
        "8s",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{o:?}");
    let evidence = dir.join("incident.md.evidence");
    for f in [
        "1-goroutines.debug1.txt",
        "2-goroutines.txt",
        "3-cpu.pb.gz",
        "4-heap.pb.gz",
        "8-goroutines.later.txt",
    ] {
        assert!(evidence.join(f).is_file(), "{f} not captured: {o:?}");
    }
    let md = std::fs::read_to_string(&out)
        .expect("the report")
        .replace('\\', "");
    assert!(md.contains("3-cpu.pb.gz | pprof profile | "), "{md}");
    assert!(md.contains("## Profiles"), "{md}");
    assert!(md.contains("2-goroutines.txt: "), "{md}");
    // The one-second execution trace is read too.
    assert!(md.contains("7-trace.out | execution trace | "), "{md}");
    assert!(md.contains("## Execution traces"), "{md}");
    assert!(md.contains("stops of the world"), "{md}");
}

/// `gosleuth report --pid PID`: a core of the running process is written
/// beside the report and read with its binary; the process runs on.
#[test]
fn a_running_process_is_captured_and_reported() {
    let parked = Running::start(&kit::binary("installed", "parked"), &["-n", "3"]);
    let dir = tempdir("pid");
    let out = dir.join("incident.md");
    let pid = parked.pid.to_string();
    let o = gosleuth(&["report", "--pid", &pid, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let core = dir.join("incident.md.evidence").join(format!("core.{pid}"));
    assert!(core.is_file(), "{o:?}");
    let md = std::fs::read_to_string(&out)
        .expect("the report")
        .replace('\\', "");
    assert!(md.contains(&format!("core.{pid} | core file")), "{md}");
    assert!(md.contains("| Go binary |"), "{md}");
    assert!(md.contains(" goroutines, "), "{md}");
    // Resumed: every thread runs or sleeps again, none is stopped.
    assert!(
        parked
            .thread_states()
            .iter()
            .all(|s| *s != 't' && *s != 'T'),
        "{:?}",
        parked.thread_states()
    );
}

/// Two goroutine dumps taken a second apart: the report compares them and
/// leads with the leak (the group that grew), not the pile-up it causes.
#[test]
fn two_dumps_make_a_report_that_names_the_leak() {
    let dir = kit::evidence("installed", &["goleak"]).join("text");
    let (t1, t2) = (dir.join("goleak.t1.txt"), dir.join("goleak.t2.txt"));
    let o = gosleuth(&["report", t1.to_str().unwrap(), t2.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let md = stdout(&o).replace('\\', "");
    let title = md.lines().next().unwrap_or("");
    assert!(title.starts_with("# goroutine leak: "), "{title}");
    assert!(title.contains("main.fetchQuote"), "{title}");
    assert!(md.contains("goleak.t1.txt -> "), "{md}");
}
