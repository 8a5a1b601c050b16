//! `gosleuth record` and `gosleuth top` on the factory's `cpushare`, a
//! process with no /debug/pprof endpoint, read by go tool pprof.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::{gosleuth, stdout};

/// A running `cpushare`, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(seconds: &str) -> Running {
    let bin = gosleuth_testkit::binary("installed", "cpushare");
    let mut child = Command::new(bin)
        .args(["-seconds", seconds])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start cpushare");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read its first line");
    assert!(line.starts_with("ready"), "{line:?}");
    Running(child)
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gosleuth-record-{}-{name}", std::process::id()))
}

fn go_tool_pprof(args: &[&str]) -> String {
    let o = Command::new("go")
        .args(["tool", "pprof"])
        .args(args)
        .output()
        .expect("go tool pprof");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn record_writes_a_profile_go_tool_pprof_reads() {
    let p = start("6");
    let pid = p.0.id().to_string();
    let out = temp("cpu.pb.gz");
    let o = gosleuth(&[
        "record",
        &pid,
        "-d",
        "2s",
        "-o",
        out.to_str().expect("path"),
    ]);
    assert!(o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("by perf events"), "{err}");
    assert!(
        err.contains("main.burnA"),
        "the top functions are said: {err}"
    );
    let top = go_tool_pprof(&["-top", out.to_str().expect("path")]);
    assert!(top.contains("Type: cpu"), "{top}");
    for f in [
        "main.burnA",
        "main.burnB (inline)",
        "main.burnC",
        "Cfunc_burn_c",
    ] {
        assert!(top.contains(f), "{f} missing:\n{top}");
    }
    // gosleuth pprof reads it too, with the same top function.
    let o = gosleuth(&["pprof", "-top", out.to_str().expect("path")]);
    assert!(stdout(&o).contains("main.burnA"), "{o:?}");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn record_writes_folded_speedscope_and_a_flame_graph() {
    let p = start("8");
    let pid = p.0.id().to_string();
    let o = gosleuth(&["record", &pid, "-d", "1s", "-f", "folded"]);
    assert!(o.status.success(), "{o:?}");
    let folded = stdout(&o);
    assert!(
        folded
            .lines()
            .any(|l| l.contains("main.work;main.burnA ") || l.contains("main.work;main.burnB ")),
        "{folded}"
    );
    let o = gosleuth(&["record", &pid, "-d", "1s", "-f", "speedscope"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("speedscope JSON");
    assert!(
        v["shared"]["frames"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{v}"
    );
    let o = gosleuth(&["record", &pid, "-d", "1s", "-f", "flamegraph"]);
    let svg = stdout(&o);
    assert!(svg.contains("<svg") && svg.contains("main.burnA"), "{svg}");
}

#[test]
fn record_of_two_processes_labels_each_sample_with_its_pid() {
    let a = start("6");
    let b = start("6");
    let (pa, pb) = (a.0.id().to_string(), b.0.id().to_string());
    let out = temp("two.pb.gz");
    let o = gosleuth(&[
        "record",
        "--pid",
        &pa,
        "--pid",
        &pb,
        "-d",
        "1s",
        "-o",
        out.to_str().expect("path"),
    ]);
    assert!(o.status.success(), "{o:?}");
    let tags = go_tool_pprof(&["-tags", out.to_str().expect("path")]);
    assert!(tags.contains(&pa) && tags.contains(&pb), "{tags}");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn record_of_a_missing_process_says_so() {
    let o = gosleuth(&["record", "999999999", "-d", "1s"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("999999999"), "{err}");
}

#[test]
fn top_on_a_pipe_prints_one_snapshot() {
    let p = start("6");
    let pid = p.0.id().to_string();
    let o = gosleuth(&["top", &pid]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    for s in [
        "gosleuth top: pid",
        "main.burnA",
        "Goroutines: ",
        "GC: ",
        "  main.main main.go:",
    ] {
        assert!(out.contains(s), "{s} missing:\n{out}");
    }
    assert!(!out.contains("\x1b["), "escape codes on a pipe:\n{out}");
}

/// Drives `gosleuth top` in a pseudo-terminal (Python's pty module): the
/// view refreshes, `s` sorts by total, `/burnB` + Enter filters, `q` quits
/// and the terminal is left as it was.
#[test]
fn top_in_a_terminal_answers_its_keys() {
    let p = start("10");
    let pid = p.0.id().to_string();
    let script = r#"
import os, pty, sys, time, select, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "top", sys.argv[2]])
out = b""
def read_for(secs):
    global out
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return
read_for(2.5)
first = out
os.write(fd, b"s"); read_for(1.5)
after_sort = out[len(first):]
os.write(fd, b"/burnB\r"); read_for(1.5)
after_filter = out[len(first) + len(after_sort):]
os.write(fd, b"q"); read_for(1.0)
_, status = os.waitpid(pid, 0)
print("EXIT", os.waitstatus_to_exitcode(status))
print("FIRST", b"main.burnA" in first, b"%Self*" in first)
print("SORT", b"%Total*" in after_sort)
last = after_filter.split(b"\x1b[H\x1b[2J")[-1]
print("FILTER", b"filter: burnB" in last, b"main.burnA" in last.split(b"Goroutines by")[0].split(b"Function")[-1])
print("RESTORED", out.rstrip().endswith(b"\x1b[?1049l"))
"#;
    let python = std::env::var("GOSLEUTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let o = Command::new(python)
        .args(["-c", script, env!("CARGO_BIN_EXE_gosleuth"), &pid])
        .output()
        .expect("python3");
    let out = stdout(&o);
    assert!(out.contains("EXIT 0"), "{out}\n{o:?}");
    assert!(out.contains("FIRST True True"), "{out}");
    assert!(out.contains("SORT True"), "{out}");
    assert!(out.contains("FILTER True False"), "{out}");
    assert!(out.contains("RESTORED True"), "{out}");
}

#[test]
fn ctrl_c_ends_the_recording_and_still_writes_it() {
    let p = start("8");
    let pid = p.0.id().to_string();
    let out = temp("interrupted.pb.gz");
    let rec = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args([
            "record",
            &pid,
            "-d",
            "60s",
            "-o",
            out.to_str().expect("path"),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("gosleuth record");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: a signal to a child we started.
    unsafe { libc::kill(rec.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let o = rec.wait_with_output().expect("wait");
    assert!(o.status.success(), "{o:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let top = go_tool_pprof(&["-top", out.to_str().expect("path")]);
    assert!(top.contains("main.burnA"), "{top}");
    let _ = std::fs::remove_file(&out);
}

/// Copies `path` where every user can run it.
fn runnable_by_all(path: &std::path::Path, name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("gosleuth-record-users-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let to = dir.join(name);
    std::fs::copy(path, &to).expect("copy");
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    to
}

/// As an unprivileged user (`nobody`, through runuser): its own process is
/// sampled with perf events (user time only, said), another user's is
/// refused with the privilege that is missing.
#[test]
fn without_root_its_own_process_is_sampled_and_anothers_is_refused_clearly() {
    let gosleuth = runnable_by_all(
        std::path::Path::new(env!("CARGO_BIN_EXE_gosleuth")),
        "gosleuth",
    );
    let cpushare = runnable_by_all(
        &gosleuth_testkit::binary("installed", "cpushare"),
        "cpushare-nobody",
    );
    let mut theirs = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&cpushare)
        .args(["-seconds", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("runuser");
    let mut line = String::new();
    BufReader::new(theirs.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its first line");
    let pid = line
        .trim()
        .strip_prefix("ready pid=")
        .expect("ready pid=N")
        .to_string();
    let theirs = Running(theirs);
    let o = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&gosleuth)
        .args(["record", &pid, "-d", "1s", "-f", "folded"])
        .output()
        .expect("runuser gosleuth");
    assert!(o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("by perf events (task clock, user time only"),
        "{err}"
    );
    assert!(stdout(&o).contains("main.burnA"), "{o:?}");
    drop(theirs);
    // Root's process, from nobody.
    let mine = start("4");
    let o = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&gosleuth)
        .args(["record", &mine.0.id().to_string(), "-d", "1s"])
        .output()
        .expect("runuser gosleuth");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not allowed to read process") && err.contains("CAP_SYS_PTRACE"),
        "{err}"
    );
}
