//! Delve's interface end to end: seed 004's `nc` + `jq` workflow against
//! `gosleuth core --headless`, the real `dlv connect` client, and the REPL
//! (`-i`) on a core and on a live process.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use gosleuth_testkit as kit;
use gosleuth_testkit::process::Running;
use serde_json::{Value, json};

use crate::{gosleuth, stdout};

fn evidence() -> (PathBuf, PathBuf) {
    let core = kit::factory("cores", "installed", &["--case", "metricsdeadlock"])
        .join("core")
        .join("metricsdeadlock.gcore.core");
    let bin = kit::factory("build", "installed", &["--binary", "metricsdeadlock"])
        .join("bin")
        .join("metricsdeadlock");
    (bin, core)
}

/// `gosleuth core BIN CORE --headless` on the metrics core, and its port.
fn headless() -> (Running, u16) {
    let (bin, core) = evidence();
    let (server, line) = Running::start_until(
        Path::new(env!("CARGO_BIN_EXE_gosleuth")),
        &[
            "core",
            bin.to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
            "--headless",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
        |l| l.starts_with("API server listening at: "),
    );
    let port = line
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (server, port)
}

/// A tool the test needs, with how to get it when missing.
fn tool(name: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("{name} not found: {install} (.ci/run installs it)"))
}

fn dlv() -> PathBuf {
    kit::dlv_path()
}

fn sh(script: &str, dir: &Path) -> String {
    let o = Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("run bash");
    assert!(
        o.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One JSON-RPC call over a fresh connection.
fn rpc(port: u16, method: &str, arg: Value) -> Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let req = json!({"method": format!("RPCServer.{method}"), "params": [arg], "id": 1});
    s.write_all(req.to_string().as_bytes()).expect("send");
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("reply");
    let v: Value = serde_json::from_str(&line).expect("JSON reply");
    assert!(v["error"].is_null(), "{method}: {v}");
    v["result"].clone()
}

fn line_of(needle: &str) -> u32 {
    kit::source_line("metricsdeadlock/metrics.go", needle)
}

/// Requests blocked in CountS according to the service's own debug=2
/// dump, taken just before the core.
fn blocked_in_counts_per_dump() -> usize {
    let (_, core) = evidence();
    let dump = core.with_file_name("metricsdeadlock.gcore.debug2.txt");
    let text = String::from_utf8_lossy(&kit::read(&dump)).into_owned();
    text.split("\n\n")
        .filter(|g| g.starts_with("goroutine ") && g.contains("\nmain.(*Metrics).CountS("))
        .count()
}

#[test]
fn seed_004_nc_and_jq_workflow_runs_unchanged() {
    let nc = tool("nc", "apt-get install netcat-openbsd");
    tool("jq", "apt-get install jq");
    let (_server, port) = headless();
    let dir = std::env::temp_dir().join(format!("gosleuth-seed004-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = "server-test-1_dlv-rpc-list_goroutines.json";
    // The seed's command, with our port; nc must end on its own.
    sh(
        &format!(
            "timeout 60 bash -c \"echo -n '{{\\\"method\\\":\\\"RPCServer.ListGoroutines\\\",\\\"params\\\":[],\\\"id\\\":2}}' | {} localhost {port} > {file}\"",
            nc.display()
        ),
        &dir,
    );
    // jq '.result[0:5]'
    let first: Value = serde_json::from_str(&sh(&format!("jq '.result[0:5]' {file}"), &dir))
        .expect("jq printed JSON");
    let first = first.as_array().expect("five goroutines");
    assert_eq!(first.len(), 5);
    assert_eq!(first[0]["id"], 1);
    for g in first {
        for key in ["currentLoc", "userCurrentLoc", "goStatementLoc", "startLoc"] {
            assert!(g[key]["function"]["name"].is_string(), "{key}: {g}");
        }
        assert!(g["threadID"].is_number());
    }
    // jq -c '.result[] | [.userCurrentLoc.function.name, .userCurrentLoc.line]' | sort | uniq -c
    let uniq = sh(
        &format!(
            "jq -c '.result[] | [.userCurrentLoc.function.name, .userCurrentLoc.line]' {file} | sort | uniq -c"
        ),
        &dir,
    );
    // Delve's user location names the function that owns the pc: CountS
    // and SetM are inlined in this build, so their callers are named, at
    // the inlined send's line (the seed's binary had them out of line).
    let count_at_line = |line: u32| {
        uniq.lines()
            .filter(|l| l.trim_end().ends_with(&format!("\",{line}]")))
            .filter_map(|l| l.split_whitespace().next()?.parse::<usize>().ok())
            .sum::<usize>()
    };
    assert_eq!(
        count_at_line(line_of("m.inChannel <- NewCountMetric(key, 1, second)")),
        blocked_in_counts_per_dump(),
        "{uniq}"
    );
    assert_eq!(
        count_at_line(line_of("m.inChannel <- NewSetMetric(key, value, second)")),
        1,
        "{uniq}"
    );
    // The same answer as dlv's own server on the same core.
    let (bin, core) = evidence();
    if let Some(dlv_uniq) = dlv_user_locations(&bin, &core) {
        let ours: Vec<String> = uniq.lines().map(|l| l.trim().to_string()).collect();
        assert_eq!(ours, dlv_uniq, "gosleuth vs dlv");
    }
    // jq '.result[] | select(.startLoc.function.name | test("startInChannelConsumer$"))'
    let found = sh(
        &format!(
            "jq -c '.result[] | select(.startLoc.function.name | test(\"startInChannelConsumer$\"))' {file}"
        ),
        &dir,
    );
    let lines: Vec<&str> = found.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one consumer:\n{found}");
    let g: Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(
        g["userCurrentLoc"]["line"],
        line_of("m.inChannel <- NewSetMetric(key, value, second)")
    );
    assert_eq!(g["goStatementLoc"]["function"]["name"], "main.NewMetrics");
    assert_eq!(
        g["startLoc"]["function"]["name"],
        "main.(*Metrics).startInChannelConsumer"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_real_dlv_client_explores_the_core() {
    let dlv = dlv();
    let (server, port) = headless();
    // The consumer and the frame of sendMetricsToOutChannel, asked over
    // the wire.
    let listed = rpc(
        port,
        "ListGoroutines",
        json!({"Filters": [{"Kind": 4, "Arg": "startInChannelConsumer"}]}),
    );
    let id = listed["Goroutines"][0]["id"].as_u64().expect("consumer id");
    let stack = rpc(port, "Stacktrace", json!({"Id": id, "Depth": 50}));
    let frames = stack["Locations"].as_array().expect("frames");
    let frame = frames
        .iter()
        .position(|f| f["function"]["name"] == "main.(*Metrics).sendMetricsToOutChannel")
        .expect("sendMetricsToOutChannel on the stack");
    let send_line = frames[frame]["line"].as_u64().unwrap_or(0);
    let setm_line = line_of("m.inChannel <- NewSetMetric(key, value, second)");
    let script = std::env::temp_dir().join(format!("gosleuth-dlv-{}.txt", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "goroutines -with userloc metrics.go:{setm_line}\n\
             goroutines -group userloc\n\
             goroutine {id}\n\
             stack\n\
             frame {frame}\n\
             print m\n\
             locals\n\
             args\n\
             frame {frame} print m.values\n\
             exit\n"
        ),
    )
    .expect("write script");
    let o = Command::new(&dlv)
        .arg("connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--init")
        .arg(&script)
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .output()
        .expect("run dlv");
    let _ = std::fs::remove_file(&script);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let all = format!("{out}\n--- stderr ---\n{err}");
    assert!(o.status.success(), "dlv exited with {}:\n{all}", o.status);
    // goroutines -with userloc: the consumer, in dlv's own layout.
    let setm_file = frames
        .iter()
        .find(|f| f["function"]["name"] == "main.(*Metrics).SetM")
        .and_then(|f| f["file"].as_str())
        .expect("SetM on the stack");
    assert!(
        out.contains(&format!(
            "Goroutine {id} - User: {setm_file}:{setm_line} main."
        )),
        "{all}"
    );
    assert!(out.contains("[1 goroutines]"), "{all}");
    // goroutines -group userloc: dlv prints each group with its total.
    let counts = blocked_in_counts_per_dump();
    assert!(out.contains(&format!("\tTotal: {counts}\n")), "{all}");
    // goroutine N
    assert!(out.contains(&format!(" to {id} (thread ")), "{all}");
    // stack: every frame with its file and line.
    for f in frames {
        let name = f["function"]["name"].as_str().unwrap_or("?");
        assert!(
            out.contains(&format!(" in {name}\n")),
            "{name} missing:\n{all}"
        );
    }
    assert!(out.contains(&format!("metrics.go:{setm_line}\n")), "{all}");
    // frame N: dlv prints the frame and the source around it.
    assert!(
        out.contains(&format!("Frame {frame}: "))
            && out.contains(&format!("metrics.go:{send_line} (PC: ")),
        "{all}"
    );
    assert!(
        out.contains(&format!("=>{send_line:>4}:\t")),
        "source listing:\n{all}"
    );
    // print, locals, args: values when the reader has them, else the
    // reader's reason, and the session goes on either way.
    // (dlv reports a failed --init command as `SCRIPT:LINE: message`.)
    if all.contains("not implemented") {
        for n in 6..=9 {
            assert!(
                out.contains(&format!(":{n}: ")),
                "command {n} should fail:\n{all}"
            );
        }
    } else {
        assert!(out.contains("main.Metrics"), "print m:\n{all}");
        assert!(out.contains("m = "), "args:\n{all}");
    }
    // The server outlives the client.
    rpc(port, "GetVersion", json!({}));
    drop(server);
}

#[test]
fn the_repl_reads_commands_from_stdin() {
    let (bin, core) = evidence();
    let setm_line = line_of("m.inChannel <- NewSetMetric(key, value, second)");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args([
            "core",
            bin.to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
            "-i",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gosleuth");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            format!(
                "goroutines -with startloc startInChannelConsumer\n\
                 goroutines --with userloc=metrics\\.go:{setm_line}$ --group-by stack\n\
                 bogus\n\
                 stack 3\n\
                 exit\n"
            )
            .as_bytes(),
        )
        .expect("write commands");
    let o = child.wait_with_output().expect("wait");
    let out = stdout(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\n{err}");
    let listed = out
        .lines()
        .find(|l| l.contains("Goroutine ") && l.contains(" - User: "))
        .unwrap_or_else(|| panic!("no goroutine line:\n{out}"));
    assert!(
        listed.contains(&format!("metrics.go:{setm_line} main.")),
        "{listed}"
    );
    assert!(out.contains("[1 goroutines]"), "{out}");
    assert!(
        out.contains("main.(*Metrics).sendMetricsToOutChannel"),
        "{out}"
    );
    assert!(
        err.contains("Command failed: command not available: bogus"),
        "{err}"
    );
    assert!(out.contains("(truncated)"), "{out}");
    assert!(
        err.contains("core ") && err.contains("goroutines"),
        "header on stderr: {err}"
    );
}

#[test]
fn attach_interactive_reads_a_live_process() {
    let (parked, _) = Running::start_until(
        &kit::factory("build", "installed", &["--binary", "parked"])
            .join("bin")
            .join("parked"),
        &["-n", "50"],
        None,
        |l| l.trim() == "ready",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args(["attach", &parked.pid.to_string(), "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gosleuth");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"goroutines -with userloc blockedSend\nthreads\nexit\n")
        .expect("write commands");
    let o = child.wait_with_output().expect("wait");
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains(" main.blockedSend (0x"), "{out}");
    assert!(
        out.contains("* Thread ") || out.contains("  Thread "),
        "{out}"
    );
    parked.assert_running();
}

#[test]
fn headless_refuses_remote_addresses_unless_allowed() {
    let (bin, core) = evidence();
    let o = gosleuth(&[
        "core",
        bin.to_str().unwrap_or_default(),
        core.to_str().unwrap_or_default(),
        "--headless",
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--accept-remote"), "{err}");
    let o = gosleuth(&[
        "core",
        bin.to_str().unwrap_or_default(),
        core.to_str().unwrap_or_default(),
        "--headless",
        "-i",
    ]);
    assert_eq!(o.status.code(), Some(2), "--headless and -i conflict");
}

/// dlv's own server on `core`: `[function, line]` of every live
/// goroutine's `userCurrentLoc`, counted like `sort | uniq -c` (lines
/// `N ["name",line]`); `None` when this dlv does not read the release.
fn dlv_user_locations(bin: &Path, core: &Path) -> Option<Vec<String>> {
    let (_dlv, line) = Running::start_until(
        &dlv(),
        &[
            "core",
            bin.to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
            "--headless",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
        |l| l.starts_with("API server listening at: ") || l.contains("too old"),
    );
    if line.contains("too old") {
        return None;
    }
    let port: u16 = line.rsplit(':').next()?.trim().parse().ok()?;
    let listed = rpc(port, "ListGoroutines", json!({"Start": 0, "Count": 0}));
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for g in listed["Goroutines"].as_array()? {
        // Dead goroutines (6; 11, an extra M's) are listed by dlv only.
        if matches!(g["status"].as_u64(), Some(6 | 11)) {
            continue;
        }
        let key = serde_json::to_string(&json!([
            g["userCurrentLoc"]["function"]["name"],
            g["userCurrentLoc"]["line"]
        ]))
        .ok()?;
        *counts.entry(key).or_default() += 1;
    }
    Some(
        counts
            .into_iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect(),
    )
}

/// dlv's `goroutines` lines (`Goroutine N - User: ...`, the selection
/// mark dropped) for `script` on a core, in its order; `None` when this
/// dlv does not read the release.
fn dlv_listing(bin: &Path, core: &Path, script: &str) -> Option<Vec<String>> {
    let path = std::env::temp_dir().join(format!(
        "gosleuth-dlv-listing-{}-{}.txt",
        std::process::id(),
        core.file_name().and_then(|n| n.to_str()).unwrap_or("core")
    ));
    std::fs::write(&path, script).expect("write script");
    let o = Command::new(dlv())
        .arg("core")
        .arg(bin)
        .arg(core)
        .arg("--init")
        .arg(&path)
        .arg("--allow-non-terminal-interactive=true")
        .stdin(Stdio::null())
        .output()
        .expect("run dlv");
    let _ = std::fs::remove_file(&path);
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    if out.contains("too old for this version of Delve") {
        return None;
    }
    Some(listing_lines(&out))
}

fn listing_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.trim_start_matches('\t').trim_start_matches("* ").trim())
        .filter(|l| l.starts_with("Goroutine ") || l.starts_with('[') || l.starts_with("Total: "))
        .map(str::to_string)
        .collect()
}

/// The same script in gosleuth's REPL.
fn gosleuth_listing(bin: &Path, core: &Path, script: &str) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args([
            "core",
            bin.to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
            "-i",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gosleuth");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write commands");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{o:?}");
    listing_lines(&stdout(&o))
}

/// With standard-library frames on top of user code, inlined
/// (`sync.(*Mutex).Lock` in `main.transfer`) or not
/// (`sync.(*WaitGroup).Add`, `net.(*netFD).accept`), and with a crashed
/// goroutine running on a thread, every goroutine's user location is
/// dlv's, and so are `goroutines -with userloc` and `-group userloc`.
#[test]
fn user_locations_and_their_filters_are_dlvs() {
    let script = "goroutines\n\
                  goroutines -with userloc main.transfer\n\
                  goroutines -group userloc\n\
                  exit\n";
    let mut compared = 0;
    for (case, core) in [
        ("lockorder", "lockorder.gcore.core"),
        ("crash", "crash.crash.core"),
    ] {
        let core = kit::factory("cores", "installed", &["--case", case])
            .join("core")
            .join(core);
        let bin = kit::factory("build", "installed", &["--program", case])
            .join("bin")
            .join(case);
        let Some(theirs) = dlv_listing(&bin, &core, script) else {
            continue;
        };
        let ours = gosleuth_listing(&bin, &core, script);
        // dlv also lists dead goroutines (no state, in runtime.goexit),
        // which gosleuth leaves out; everything else is the same.
        let live = |v: &[String]| -> Vec<String> {
            v.iter()
                .filter(|l| !l.contains(" runtime.goexit (0x") && !l.ends_with(" goroutines]"))
                .cloned()
                .collect()
        };
        let (o, t) = (live(&ours), live(&theirs));
        let (o_set, t_set): (std::collections::BTreeSet<_>, std::collections::BTreeSet<_>) =
            (o.iter().collect(), t.iter().collect());
        assert_eq!(o_set, t_set, "{case}: gosleuth {ours:#?}\ndlv {theirs:#?}");
        compared += 1;
        if case == "lockorder" {
            let transfer = ours
                .iter()
                .filter(|l| l.contains(" main.transfer (0x"))
                .count();
            // Twice in the listing, twice under -with, twice in a group.
            assert_eq!(transfer, 6, "{ours:#?}");
            assert!(ours.iter().any(|l| l == "[2 goroutines]"), "{ours:#?}");
            // gosleuth's own filter and JSON say the same.
            let o = gosleuth(&[
                "core",
                bin.to_str().unwrap_or_default(),
                core.to_str().unwrap_or_default(),
                "--with",
                "userloc=^main\\.transfer ",
            ]);
            assert!(stdout(&o).contains("\n2 goroutines in "), "{o:?}");
            let o = gosleuth(&[
                "core",
                bin.to_str().unwrap_or_default(),
                core.to_str().unwrap_or_default(),
                "--format",
                "json",
            ]);
            let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON");
            let named = doc
                .as_array()
                .expect("array")
                .iter()
                .filter(|g| g["userCurrentLoc"]["function"]["name"] == "main.transfer")
                .count();
            assert_eq!(named, 2);
        }
    }
    assert!(compared > 0, "dlv reads none of the cores");
}
