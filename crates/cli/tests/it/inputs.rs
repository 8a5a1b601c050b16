//! What triage and diagnose make of `go test` output, of standard input on
//! a terminal, and of inputs that are not text (issue 14).

use std::process::{Command, Output, Stdio};

#[cfg(feature = "factory")]
use gosleuth_testkit as kit;

use super::{gosleuth, stdout};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[cfg(feature = "factory")]
fn testtimeout(file: &str) -> String {
    kit::evidence("installed", &["testtimeout"])
        .join("text")
        .join(file)
        .display()
        .to_string()
}

/// `go test -timeout 2s` on a test stuck on a recursive lock: triage names
/// TestIncr's goroutine in Store.Get (and shows it), not the timer that
/// raised the panic.
#[cfg(feature = "factory")]
#[test]
fn a_test_timeout_names_the_stuck_test() {
    let get = kit::source_line("testtimeout/store.go", "s.mu.Lock()");
    for file in ["testtimeout.timeout.txt", "testtimeout.timeout.json.txt"] {
        let o = gosleuth(&["triage", &testtimeout(file)]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        let out = stdout(&o);
        assert!(
            out.contains(&format!(
                "root cause: testtimeout.(*Store).Get  testtimeout/store.go:{get}"
            )),
            "{file}:\n{out}"
        );
        assert!(
            out.contains("called by testtimeout.(*Store).Incr <- testtimeout.TestIncr"),
            "{file}:\n{out}"
        );
        assert!(!out.contains("root cause: testing."), "{file}:\n{out}");
        // The stuck goroutine is shown under the cause, with its state.
        let shown = out
            .lines()
            .find(|l| l.starts_with("goroutine "))
            .unwrap_or_default();
        assert!(shown.ends_with("[sync.Mutex.Lock]:"), "{file}:\n{out}");
        // diagnose says the timer raised it and names the stuck test's
        // goroutine as stuck, never as the one that raised the panic.
        let o = gosleuth(&["diagnose", &testtimeout(file)]);
        let out = stdout(&o);
        assert!(
            out.contains("The test binary's timer raised `test timed out after"),
            "{file}:\n{out}"
        );
        assert!(
            !out.contains("raised `test timed out after 2s` in"),
            "{file}:\n{out}"
        );
    }
}

/// The runtime output inside `go test -json` events: triage found no panic
/// and diagnose exited 2; both read it now.
#[cfg(feature = "factory")]
#[test]
fn go_test_json_is_read_by_triage_and_diagnose() {
    let nilmap = testtimeout("testtimeout.nilmap.json.txt");
    let line = kit::source_line("testtimeout/store_test.go", "m[\"a\"]++");
    let o = gosleuth(&["triage", "--exit-code", &nilmap]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stdout(&o).contains(&format!(
            "root cause: testtimeout.TestNilMap  testtimeout/store_test.go:{line}"
        )),
        "{}",
        stdout(&o)
    );
    let o = gosleuth(&["diagnose", &nilmap]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stdout(&o)
            .contains("CRITICAL panic: assignment to entry in nil map in testtimeout.TestNilMap"),
        "{}",
        stdout(&o)
    );
    let o = gosleuth(&["diagnose", &testtimeout("testtimeout.timeout.json.txt")]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stdout(&o).contains("testtimeout.(*Store).Get"),
        "{}",
        stdout(&o)
    );
}

/// With no file on a terminal, triage waited without a word; it now says
/// on stderr that it reads standard input (and reads it).
#[test]
fn triage_says_it_reads_standard_input_on_a_terminal() {
    let exe = env!("CARGO_BIN_EXE_gosleuth");
    let mut child = Command::new("script")
        .args(["-qefc", &format!("'{exe}' triage"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script (util-linux) for a pseudo-terminal");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(
                b"panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\n",
            )
            .expect("write");
    }
    let o = child.wait_with_output().expect("wait for script");
    assert!(o.status.success(), "{o:?}");
    let tty = stdout(&o);
    assert!(
        tty.contains("gosleuth triage: reading standard input"),
        "{tty:?}"
    );
    // Coloured on a terminal.
    assert!(
        tty.contains("root cause:\u{1b}[0m \u{1b}[32mmain.main"),
        "{tty:?}"
    );
    // Not on a pipe.
    let o = gosleuth(&["triage", "/dev/null"]);
    assert!(!stderr(&o).contains("reading standard input"), "{o:?}");
}

/// A core, a binary or a profile given to triage, and a race report given
/// to diagnose, are named with the command that reads them.
#[cfg(feature = "factory")]
#[test]
fn each_input_kind_names_the_command_that_reads_it() {
    let cores = kit::factory("cores", "installed", &["--case", "crash"]);
    let core = cores.join("core/crash.crash.core").display().to_string();
    let bin = kit::factory("build", "installed", &["--program", "crash"])
        .join("bin/crash")
        .display()
        .to_string();
    let profile = kit::evidence("installed", &["leak"])
        .join("pprof/leak.heap.new.pb.gz")
        .display()
        .to_string();
    let race = kit::evidence("installed", &["rpcrace"])
        .join("text/rpcrace.race.txt")
        .display()
        .to_string();
    for (args, needle) in [
        (
            vec!["triage", &core],
            format!(
                "is an ELF core file, not text: read its goroutines with `gosleuth core BIN {core}` or diagnose it with `gosleuth diagnose BIN {core}`"
            ),
        ),
        (
            vec!["triage", &bin],
            format!("is an executable, not text: `gosleuth bin {bin}`"),
        ),
        (
            vec!["triage", &profile],
            format!("is a pprof profile, not text: read it with `gosleuth pprof {profile}`"),
        ),
        (
            vec!["diagnose", &profile],
            format!("is a pprof profile, not text: read it with `gosleuth pprof {profile}`"),
        ),
        (
            vec!["diagnose", &race],
            format!(
                "a race detector report (1 distinct data race, 2 reports) and no goroutine dump: read it with `gosleuth triage {race}`"
            ),
        ),
    ] {
        let o = gosleuth(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        assert!(stderr(&o).contains(&needle), "{args:?}: {}", stderr(&o));
    }
    // Standard input is looked at after it was read.
    let o = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .arg("triage")
        .stdin(std::fs::File::open(&profile).expect("profile"))
        .output()
        .expect("run gosleuth");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        stderr(&o).contains("standard input is a pprof profile, not text: read it with `gosleuth pprof FILE` (save it to FILE first)"),
        "{o:?}"
    );
    // With several inputs the others are still read; the status says one
    // was refused.
    let o = gosleuth(&["triage", &race, &bin]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(stdout(&o).contains("DATA RACE"), "{o:?}");
    assert!(stderr(&o).contains("is an executable"), "{o:?}");
}
