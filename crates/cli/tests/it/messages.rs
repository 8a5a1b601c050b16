//! Messages that point at the right thing: the wrong kind of file where a
//! binary or a core goes, a process another tracer holds, and the
//! top-level help.

#[cfg(feature = "factory")]
use std::io::Write as _;
#[cfg(feature = "factory")]
use std::path::{Path, PathBuf};
#[cfg(feature = "factory")]
use std::process::{Command, Stdio};
#[cfg(feature = "factory")]
use std::time::{Duration, Instant};

#[cfg(feature = "factory")]
use gosleuth_testkit as kit;
#[cfg(feature = "factory")]
use gosleuth_testkit::process::Running;

use crate::{gosleuth, stdout};

#[cfg(feature = "factory")]
fn stderr_of(args: &[&str]) -> String {
    let o = gosleuth(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    for wrong in ["pclntab", "os error", "No such device"] {
        assert!(!err.contains(wrong), "{args:?}: {err}");
    }
    err
}

#[cfg(feature = "factory")]
fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

#[cfg(feature = "factory")]
#[test]
fn a_wrong_kind_of_file_is_named_with_what_was_expected() {
    let dir = kit::factory("cores", "installed", &["--case", "crash"]).join("core");
    let core = dir.join("crash.crash.core");
    let text = dir.join("crash.crash.txt");
    let bin = kit::factory("build", "installed", &["--program", "crash"])
        .join("bin")
        .join("crash");
    let tmp = std::env::temp_dir().join(format!("gosleuth-kinds-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let empty = tmp.join("empty.core");
    std::fs::write(&empty, b"").expect("empty file");
    let missing: PathBuf = tmp.join("missing.core");
    let (b, c) = (s(&bin), s(&core));

    // Swapped: core first.
    let err = stderr_of(&["core", c, b]);
    assert!(err.contains("the arguments are swapped"), "{err}");
    assert!(err.contains(&format!("gosleuth core {b} {c}")), "{err}");
    let err = stderr_of(&["diagnose", c, b]);
    assert!(err.contains("the arguments are swapped"), "{err}");
    assert!(err.contains(&format!("gosleuth diagnose {b} {c}")), "{err}");
    // A core alone.
    let err = stderr_of(&["diagnose", c]);
    assert!(
        err.contains("is a core file") && err.contains(&format!("gosleuth diagnose BIN {c}")),
        "{err}"
    );
    assert!(!err.contains("is a binary"), "{err}");
    // Where the core goes: a directory, text, an empty or missing file,
    // the binary again.
    for (arg, says) in [
        (s(&dir), "is a directory; expected a core file"),
        (s(&text), "is a text file, not a core file"),
        (s(&empty), "is empty"),
        (s(&missing), "no such file; expected a core file"),
        (b, "is an executable, not a core file"),
    ] {
        let err = stderr_of(&["core", b, arg]);
        assert!(err.contains(says), "core BIN {arg}: {err}");
        let err = stderr_of(&["diagnose", b, arg]);
        assert!(
            err.contains(says) || err.contains("is a directory") || err.contains("no such file"),
            "diagnose BIN {arg}: {err}"
        );
    }
    // Where the binary goes.
    let err = stderr_of(&["core", s(&text), c]);
    assert!(err.contains("is a text file, not an executable"), "{err}");
    let err = stderr_of(&["core", c, c]);
    assert!(
        err.contains("is a core file where the executable goes"),
        "{err}"
    );
    let err = stderr_of(&["core", s(&dir), c]);
    assert!(
        err.contains("is a directory; expected the Go executable"),
        "{err}"
    );
    let err = stderr_of(&["diagnose", s(&dir)]);
    assert!(err.contains("is a directory; diagnose reads"), "{err}");
    let err = stderr_of(&["attach", "1", "--binary", s(&dir)]);
    assert!(
        err.contains("is a directory; expected the Go executable"),
        "{err}"
    );
    let err = stderr_of(&["diagnose", "--pid", "1", "--binary", s(&core)]);
    assert!(err.contains("is a core file, not an executable"), "{err}");
    // dump: the output path, checked before the process is stopped.
    let err = stderr_of(&["dump", "1", "-o", s(&tmp)]);
    assert!(
        err.contains("is a directory; -o names the core file"),
        "{err}"
    );
    let err = stderr_of(&["dump", "1", "-o", s(&missing.join("x.core"))]);
    assert!(err.contains("does not exist"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A process another tracer holds (gdb here, attached in batch mode until
/// its stdin closes): the tracer is named, with `--no-stop`, which reads it.
#[cfg(feature = "factory")]
#[test]
fn a_process_traced_by_another_debugger_names_it() {
    let gdb = ["/usr/bin/gdb", "/usr/local/bin/gdb"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("gdb not found: apt-get install gdb (the factory needs it for cores)");
    let parked = Running::start(
        &kit::factory("build", "installed", &["--program", "parked"])
            .join("bin")
            .join("parked"),
        &["-n", "20"],
    );
    let pid = parked.pid.to_string();
    let mut tracer = Command::new(gdb)
        .args(["-nx", "-batch", "-p", &pid, "-ex", "shell read line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gdb");
    let tracer_pid = tracer.id().to_string();
    let traced_by = || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .map(|t| t.trim().to_string())
    };
    let t0 = Instant::now();
    while traced_by().as_deref() != Some(tracer_pid.as_str()) {
        assert!(t0.elapsed() < Duration::from_secs(60), "gdb did not attach");
        std::thread::sleep(Duration::from_millis(100));
    }
    let named = format!("already traced by process {tracer_pid} (gdb)");
    for args in [
        vec!["attach", pid.as_str()],
        vec!["diagnose", "--pid", pid.as_str()],
    ] {
        let err = stderr_of(&args);
        assert!(err.contains(&named), "{args:?}: {err}");
        assert!(err.contains("--no-stop"), "{args:?}: {err}");
        assert!(!err.contains("root"), "{args:?}: {err}");
    }
    let out_core = std::env::temp_dir().join(format!("gosleuth-traced-{pid}.core"));
    let err = stderr_of(&["dump", &pid, "-o", s(&out_core)]);
    assert!(
        err.contains(&named) && err.contains("generate-core-file"),
        "{err}"
    );
    assert!(!out_core.exists());
    // --no-stop reads it all the same.
    let o = gosleuth(&["attach", &pid, "--no-stop"]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("main.blockedSend"), "{o:?}");
    // Let gdb go: it detaches, and the process runs on.
    if let Some(mut stdin) = tracer.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = tracer.wait();
    let t0 = Instant::now();
    while traced_by().as_deref() != Some("0") && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    parked.assert_running();
}

#[test]
fn the_top_level_help_maps_symptoms_to_commands() {
    for flag in ["--help", "-h"] {
        let o = gosleuth(&[flag]);
        assert!(o.status.success(), "{o:?}");
        let out = stdout(&o);
        let line = |symptom: &str| {
            out.lines()
                .skip_while(|l| !l.starts_with("Which command for which symptom"))
                .find(|l| l.contains(symptom))
                .unwrap_or_else(|| panic!("{flag}: no {symptom:?} in\n{out}"))
                .to_string()
        };
        assert!(line("hangs").contains("gosleuth diagnose"), "{out}");
        assert!(line("panicked").contains("gosleuth triage"), "{out}");
        assert!(line("memory grows").contains("pprof"), "{out}");
        assert!(line("CPU is high").contains("pprof"), "{out}");
        assert!(
            line("errors in the logs").contains("gosleuth logs"),
            "{out}"
        );
        assert!(line("Exit status").contains("2 on an error"), "{out}");
    }
}
