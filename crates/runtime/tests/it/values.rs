//! Values of Go variables read from cores and live processes: seed 001's
//! `print merr` / `print err` / `print id` on the crash cores (built with
//! and without optimizations) for every release, channels, maps (classic
//! and Swiss), strings, slices and package variables on the seed-004
//! service, live package variables and channel queues of `parked`, an
//! oracle comparison with Delve's own JSON-RPC answers, and evaluation
//! over corrupted memory.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gosleuth_dlvrpc::values::{self, LoadConfig, Scope, Variable, flags, kind};
use gosleuth_memory::{CoreFile, Endian, Memory, Mode, Region};
use gosleuth_runtime::{Capture, Options};
use gosleuth_testkit as kit;
use gosleuth_testkit::process::Running;

use crate::support::*;

/// The goroutine that crashed: the first goroutine of the crash output.
fn crashed_goroutine(text: &str) -> u64 {
    let at = text
        .find("\ngoroutine ")
        .expect("a goroutine header in the crash output");
    text[at + 11..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("goroutine id")
}

/// The argument `main.Handler(0x..)` printed in the crash output for the
/// crashed goroutine; `None` when the runtime marked it `?` (possibly
/// inaccurate: optimized code had not spilled it).
fn handler_arg(text: &str) -> Option<i64> {
    let at = text
        .find("\nmain.Handler(0x")
        .expect("main.Handler in the output")
        + 16;
    let hex: String = text[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    if text[at + hex.len()..].starts_with('?') {
        return None;
    }
    Some(i64::from_str_radix(&hex, 16).expect("hex argument"))
}

fn index_of(c: &Capture<impl Memory>, g: usize, function: &str) -> usize {
    c.view(g)
        .frame_iter()
        .position(|f| f.function == function)
        .unwrap_or_else(|| panic!("no frame {function}"))
}

fn goroutine_by_id(c: &Capture<impl Memory>, id: u64) -> usize {
    c.goroutines()
        .iter()
        .position(|g| g.id == id)
        .unwrap_or_else(|| panic!("goroutine {id} not in the capture"))
}

fn print(c: &Capture<impl Memory>, scope: Scope, expr: &str) -> Variable {
    values::eval(c, scope, expr, &LoadConfig::default())
        .unwrap_or_else(|e| panic!("print {expr}: {e}"))
}

struct Crash {
    capture: Capture,
    goroutine: usize,
    handler: Scope,
    closure: Scope,
    text: String,
}

fn crash(go: &str, case: &str, binary: &str) -> Crash {
    let dir = cores(go, &[case]);
    let bin = bin(go, binary);
    let core = dir.join(format!("{case}.crash.core"));
    let capture = gosleuth_runtime::capture_core(&bin, &core, &Options::default())
        .unwrap_or_else(|e| panic!("{go} {case}: {e}"));
    let text =
        String::from_utf8_lossy(&kit::read(&dir.join(format!("{case}.crash.txt")))).into_owned();
    let goroutine = goroutine_by_id(&capture, crashed_goroutine(&text));
    let h = index_of(&capture, goroutine, "main.Handler");
    let f = index_of(&capture, goroutine, "main.main.func1");
    Crash {
        handler: Scope {
            goroutine,
            frame: h,
        },
        closure: Scope {
            goroutine,
            frame: f,
        },
        goroutine,
        capture,
        text,
    }
}

/// A constant of the crash program's schedule (`factory/programs/crash/
/// schedule.go`), which makes the crash certain: Handler gets `lateID`,
/// the loop is at `crashID` when it crashes.
fn schedule_const(name: &str) -> i64 {
    let line = kit::source_line("crash/schedule.go", &format!("\t{name} "));
    let path = kit::repo_root().join("factory/programs/crash/schedule.go");
    let text = std::fs::read_to_string(&path).expect("schedule.go");
    let l = text.lines().nth(line as usize - 1).expect("line");
    l.split('=')
        .nth(1)
        .and_then(|v| v.split("//").next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no value in {l:?}"))
}

/// Seed 001 with `-gcflags=all=-N -l`: every answer of the seed.
#[test]
fn seed_001_session_on_the_unoptimized_crash_core() {
    for go in kit::go_versions() {
        let k = crash(&go, "crash-noopt", "crash.noopt");
        let c = &k.capture;
        let merr = print(c, k.handler, "merr");
        assert_eq!(values::format(&merr), "*main.MyError nil", "{go}: {merr:?}");
        let err = print(c, k.handler, "err");
        assert_eq!(
            values::format(&err),
            "error(*main.MyError) nil",
            "{go}: {err:?}"
        );
        assert_eq!(err.kind, kind::INTERFACE);
        assert_eq!(err.children[0].type_name, "*main.MyError");
        // Handler got the id the traceback printed; the closure's captured
        // loop variable has moved on since: the root cause. The program's
        // schedule makes both certain.
        let id_handler: i64 = print(c, k.handler, "id").value.parse().expect("int");
        assert_eq!(Some(id_handler), handler_arg(&k.text), "{go}");
        assert_eq!(id_handler, schedule_const("lateID"), "{go}");
        let id_loop = print(c, k.closure, "id");
        assert_eq!(id_loop.flags & flags::ESCAPED, flags::ESCAPED, "{go}");
        let id_loop: i64 = id_loop.value.parse().expect("int");
        assert_eq!(
            id_loop,
            schedule_const("crashID"),
            "{go}: Handler's id {id_handler}, the loop's {id_loop}: the captured variable \
             should have moved on"
        );
        // `locals` and `args` of the Handler frame, as dlv lists them.
        let cfg = LoadConfig::default();
        let locals: Vec<(String, String)> = values::locals(c, k.handler, &cfg)
            .expect("locals")
            .iter()
            .map(|v| (v.name.clone(), values::format(v)))
            .collect();
        for (name, want) in [
            ("merr", "*main.MyError nil"),
            ("err", "error(*main.MyError) nil"),
            ("item", "*main.Item nil"),
            ("ok", "true"),
        ] {
            assert!(
                locals.iter().any(|(n, v)| n == name && v == want),
                "{go}: local {name} = {want} not in {locals:?}"
            );
        }
        let args = values::args(c, k.handler, &cfg).expect("args");
        assert_eq!(args.len(), 1, "{go}: {args:?}");
        assert_eq!(args[0].name, "id");
        assert_eq!(args[0].flags & flags::ARGUMENT, flags::ARGUMENT);
        assert_eq!(args[0].value, id_handler.to_string());
        // The closure's frame lists the captured variables by name.
        let closure: Vec<String> = values::locals(c, k.closure, &cfg)
            .expect("closure locals")
            .iter()
            .map(|v| v.name.clone())
            .collect();
        assert!(
            closure.contains(&"id".to_string()) && closure.contains(&"wg".to_string()),
            "{go}: {closure:?}"
        );
    }
}

/// The crash program's outcome is certain, so its cores always show the
/// same situation: every run of the `-N -l` build, however many Ps, crashes
/// in `main.Handler(lateID)` with only main (waiting at iteration
/// `crashID`) and the crashing goroutine left, after the same log lines.
#[test]
fn the_crash_program_crashes_the_same_way_every_run() {
    let (late, at) = (schedule_const("lateID"), schedule_const("crashID"));
    for go in kit::go_versions() {
        let bin = bin(&go, "crash.noopt");
        for procs in ["1", "2", "8"] {
            for run in 0..3 {
                let out = std::process::Command::new(&bin)
                    .env("GOTRACEBACK", "all")
                    .env("GOMAXPROCS", procs)
                    .output()
                    .unwrap_or_else(|e| panic!("{go}: run {}: {e}", bin.display()));
                let text = String::from_utf8_lossy(&out.stderr);
                let what = format!("{go} GOMAXPROCS={procs} run {run}");
                assert_eq!(out.status.code(), Some(2), "{what}:\n{text}");
                assert_eq!(handler_arg(&text), Some(late), "{what}:\n{text}");
                let states: Vec<&str> = text
                    .lines()
                    .filter(|l| l.starts_with("goroutine "))
                    .filter_map(|l| l.split_once(" [").map(|(_, s)| s))
                    .collect();
                assert_eq!(
                    states,
                    ["running]:", "select (no cases)]:"],
                    "{what}:\n{text}"
                );
                assert!(
                    text.contains("main.(*schedule).next(0x"),
                    "{what}: main is not waiting in the schedule:\n{text}"
                );
                let handling = text.matches("Handling: ").count() as i64;
                let bought = text.matches("Buy item success").count() as i64;
                assert_eq!((handling, bought), (at + 1, at), "{what}:\n{text}");
            }
        }
    }
}

/// Seed 001 on the default (optimized) build: `id` is there in both
/// frames; `merr` and `err` lived only in registers at the faulting
/// instruction, which nothing saved: they are unreadable and say why.
#[test]
fn seed_001_session_on_the_optimized_crash_core() {
    for go in kit::go_versions() {
        let k = crash(&go, "crash", "crash");
        let c = &k.capture;
        let merr = print(c, k.handler, "merr");
        assert_eq!(merr.type_name, "*main.MyError", "{go}");
        assert!(
            merr.unreadable.starts_with("in register ")
                && merr.unreadable.contains("which is not saved in this frame"),
            "{go}: merr: {:?}",
            merr.unreadable
        );
        assert!(values::format(&merr).starts_with("(unreadable in register "));
        let err = print(c, k.handler, "err");
        assert_eq!(err.type_name, "error", "{go}");
        assert!(
            err.unreadable
                .starts_with("part of the value is in register ")
                && err.unreadable.contains("which is not saved in this frame"),
            "{go}: err: {:?}",
            err.unreadable
        );
        // id: an argument spilled to the stack, and the captured variable.
        let id_handler: i64 = print(c, k.handler, "id").value.parse().expect("int");
        if let Some(printed) = handler_arg(&k.text) {
            assert_eq!(id_handler, printed, "{go}");
        }
        assert_eq!(id_handler, schedule_const("lateID"), "{go}");
        let id_loop: i64 = print(c, k.closure, "id").value.parse().expect("int");
        assert_eq!(id_loop, schedule_const("crashID"), "{go}: {id_handler}");
        // Frames below the crash that were interrupted by nothing: the
        // runtime's own frames still read from the stack.
        let frames = c.view(k.goroutine).frame_iter().count();
        for frame in 0..frames {
            let scope = Scope {
                goroutine: k.goroutine,
                frame,
            };
            let _ = values::locals(c, scope, &LoadConfig::default());
            let _ = values::args(c, scope, &LoadConfig::default());
        }
    }
}

fn metrics(go: &str) -> (Capture, Scope) {
    let dir = cores(go, &["metricsdeadlock"]);
    let bin = bin(go, "metricsdeadlock");
    let c = gosleuth_runtime::capture_core(
        &bin,
        &dir.join("metricsdeadlock.gcore.core"),
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("{go}: {e}"));
    let g = (0..c.goroutines().len())
        .find(|&i| {
            c.view(i)
                .frame_iter()
                .any(|f| f.function == "main.(*Metrics).startInChannelConsumer")
        })
        .expect("the consumer goroutine");
    let frame = index_of(&c, g, "main.(*Metrics).startInChannelConsumer");
    (
        c,
        Scope {
            goroutine: g,
            frame,
        },
    )
}

/// Seed 004's service: the `*Metrics` of the consumer, its full channel,
/// the map of values (hash buckets up to 1.23, Swiss tables from 1.24),
/// strings, slices and package variables of the runtime.
#[test]
fn metrics_deadlock_channel_map_and_package_variables() {
    for go in kit::go_versions() {
        let (c, s) = metrics(&go);
        let ch = print(&c, s, "m.inChannel");
        assert_eq!(
            values::format(&ch),
            "chan main.Metric 100/100",
            "{go}: {ch:?}"
        );
        let info = values::channel_info(&c, &ch).expect("channel info");
        assert_eq!((info.len, info.cap, info.closed), (100, 100, false), "{go}");
        assert_eq!(info.elem_type, "main.Metric");
        // Every request goroutine and the consumer itself wait to send.
        let consumer = c.goroutines()[s.goroutine].id;
        assert!(info.senders.contains(&consumer), "{go}");
        assert!(
            info.senders.len() > 1000,
            "{go}: {} senders",
            info.senders.len()
        );
        assert!(info.receivers.is_empty(), "{go}");
        assert_eq!(print(&c, s, "len(m.inChannel)").value, "100");
        assert_eq!(print(&c, s, "cap(m.inChannel)").value, "100");
        // The buffer, as an array of the channel's capacity.
        let buf = ch
            .children
            .iter()
            .find(|v| v.name == "buf")
            .expect("buf field");
        assert_eq!(buf.type_name, "*[100]main.Metric", "{go}");
        assert_eq!(
            values::format(&print(&c, s, "m.outChannel")),
            "chan map[string]int64 0/1"
        );

        let map = print(&c, s, "m.values");
        assert_eq!(map.kind, kind::MAP);
        assert_eq!(map.len, 2, "{go}: {}", values::format(&map));
        let keys: BTreeSet<String> = map
            .children
            .iter()
            .step_by(2)
            .map(|k| k.value.clone())
            .collect();
        assert_eq!(
            keys,
            ["metrics.raw_channel", "server.req-incoming"]
                .map(String::from)
                .into(),
            "{go}"
        );
        let requests: i64 = print(&c, s, "m.values[\"server.req-incoming\"]")
            .value
            .parse()
            .expect("int64");
        let listed = map
            .children
            .chunks(2)
            .find(|kv| kv[0].value == "server.req-incoming")
            .map(|kv| kv[1].value.clone());
        assert_eq!(listed, Some(requests.to_string()), "{go}");
        assert!(requests > 0);
        assert_eq!(print(&c, s, "len(m.values)").value, "2");
        assert!(values::eval(&c, s, "m.values[\"nope\"]", &LoadConfig::default()).is_err());
        // A struct through a pointer, a duration.
        let m = print(&c, s, "*m");
        assert_eq!(m.type_name, "main.Metrics");
        assert_eq!(
            m.children
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["inChannel", "outChannel", "updateInterval", "mu", "values"]
        );
        // The factory runs the service with `-interval 1ns`: a time.Duration
        // equal to the constant time.Nanosecond is shown by its name, as dlv
        // does.
        assert_eq!(print(&c, s, "m.updateInterval").value, "Nanosecond (1)");
        // An integer of a named type shows its constant's name, like dlv.
        let metric = values::eval(&c, s, "inMetrics.Type", &LoadConfig::default());
        if let Ok(t) = metric {
            assert!(
                ["TypeCount (0)", "TypeSet (1)"].contains(&t.value.as_str()),
                "{go}: {t:?}"
            );
        }

        // Package variables, strings and slices of the runtime.
        let version = print(&c, s, "runtime.buildVersion");
        assert_eq!(version.value, c.target().go_version(), "{go}");
        assert_eq!(version.len as usize, c.target().go_version().len());
        assert_eq!(print(&c, s, "runtime.buildVersion[0]").value, "103"); // 'g'
        let allglen = print(&c, s, "runtime.allglen").value;
        let allgs = print(&c, s, "runtime.allgs");
        assert_eq!(allgs.kind, kind::SLICE);
        assert_eq!(allgs.len.to_string(), allglen, "{go}");
        assert_eq!(allgs.children.len(), 64, "max_array_values");
        assert_eq!(print(&c, s, "len(runtime.allgs)").value, allglen);
        assert_eq!(print(&c, s, "runtime.allgs[0].goid").value, "1", "{go}");
        let found = values::package_vars(&c, "^runtime\\.buildVersion$", &LoadConfig::default())
            .expect("package vars");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value, c.target().go_version());
        // A package name for its import path, as Delve accepts it.
        let mux = print(&c, s, "http.DefaultServeMux");
        assert_eq!(mux.type_name, "*net/http.ServeMux", "{go}");
        assert_eq!(print(&c, s, "\"net/http\".DefaultServeMux").addr, mux.addr);
    }
}

/// Every map among the package variables of the seed-004 service reads
/// in full (hash buckets up to 1.23, Swiss tables with several groups and
/// tables from 1.24): as many entries as the header counts, keys distinct;
/// lookups by key find the entry.
#[test]
fn maps_read_in_full_on_every_release() {
    for go in kit::go_versions() {
        let (c, s) = metrics(&go);
        let cfg = LoadConfig {
            max_array_values: 1000,
            ..LoadConfig::default()
        };
        let vars = values::package_vars(&c, "", &cfg).expect("package vars");
        let mut maps = 0;
        let mut largest = 0;
        for v in vars.iter().filter(|v| v.kind == kind::MAP && v.len > 0) {
            assert!(v.unreadable.is_empty(), "{go} {}: {}", v.name, v.unreadable);
            let keys: BTreeSet<String> = v.children.iter().step_by(2).map(values::format).collect();
            assert_eq!(v.children.len() as i64, 2 * v.len, "{go} {}", v.name);
            assert_eq!(keys.len() as i64, v.len, "{go} {}: repeated keys", v.name);
            maps += 1;
            largest = largest.max(v.len);
        }
        assert!(
            maps >= 10 && largest > 30,
            "{go}: {maps} maps, largest {largest}"
        );
        let header = print(&c, s, "\"net/textproto\".commonHeader[\"Content-Type\"]");
        assert_eq!(header.value, "Content-Type", "{go}");
        assert_eq!(
            print(&c, s, "len(\"net/textproto\".commonHeader)").value,
            "39",
            "{go}"
        );
    }
}

/// A live `parked` process: package variables of `main`, the goroutines
/// queued on its channels, and the argument of every parked sender.
#[test]
fn live_package_variables_and_channel_queues() {
    for go in kit::go_versions() {
        let bin = bin(&go, "parked.noopt");
        let mut p = Running::start(&bin, &["-n", "70", "-depth", "5"]);
        let c = gosleuth_runtime::capture_live(p.pid, Mode::freeze(), None, &Options::default())
            .unwrap_or_else(|e| panic!("{go}: {e}"));
        p.assert_running();
        let cfg = LoadConfig::default();
        let vars = values::package_vars(&c, "^main\\.", &cfg).expect("package vars");
        let get = |n: &str| {
            vars.iter().find(|v| v.name == n).unwrap_or_else(|| {
                panic!(
                    "{go}: {n} not in {:?}",
                    vars.iter().map(|v| &v.name).collect::<Vec<_>>()
                )
            })
        };
        assert_eq!(get("main.started").value, "70", "{go}");
        assert_eq!(values::format(get("main.sendCh")), "chan int 0/0");
        let senders = |name: &str| -> BTreeSet<u64> {
            c.goroutines()
                .iter()
                .enumerate()
                .filter(|(i, _)| c.view(*i).frame_iter().any(|f| f.function == name))
                .map(|(_, g)| g.id)
                .collect()
        };
        let send = values::channel_info(&c, get("main.sendCh")).expect("sendCh");
        assert_eq!(
            send.senders.iter().copied().collect::<BTreeSet<_>>(),
            senders("main.blockedSend"),
            "{go}"
        );
        let recv = values::channel_info(&c, get("main.recvCh")).expect("recvCh");
        let mut want = senders("main.blockedRecv");
        want.extend(senders("main.blockedSelect"));
        assert_eq!(
            recv.receivers.iter().copied().collect::<BTreeSet<_>>(),
            want,
            "{go}"
        );
        assert_eq!(recv.receivers.len(), 20);
        // The mutex main holds.
        let mu = get("main.mu");
        assert_eq!(mu.type_name, "sync.Mutex");
        // Every blocked sender's argument: i = 0, 7, 14, ...
        let mut args = BTreeSet::new();
        for (gi, _) in c.goroutines().iter().enumerate() {
            let Some(frame) = c
                .view(gi)
                .frame_iter()
                .position(|f| f.function == "main.blockedSend")
            else {
                continue;
            };
            let a = values::args(
                &c,
                Scope {
                    goroutine: gi,
                    frame,
                },
                &cfg,
            )
            .expect("args");
            args.insert(a[0].value.parse::<i64>().expect("int"));
        }
        assert_eq!(args, (0..70).step_by(7).collect::<BTreeSet<i64>>(), "{go}");
        p.quit();
    }
}

// ---------------------------------------------------------------------------
// Oracle: Delve's JSON-RPC answers for the same core.

struct Dlv {
    child: std::process::Child,
    conn: std::net::TcpStream,
    /// dlv's stderr.
    log: std::path::PathBuf,
    next: u64,
}

impl Drop for Dlv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Dlv {
    /// `dlv core --headless`, or `None` when this dlv refuses the release
    /// (it says so).
    fn start(bin: &Path, core: &Path) -> Option<Dlv> {
        use std::io::{BufRead, BufReader};
        let log = std::env::temp_dir().join(format!(
            "gosleuth-values-dlv-{}-{}.log",
            std::process::id(),
            core.display().to_string().len()
        ));
        let mut child = std::process::Command::new(gosleuth_testkit::dlv_path())
            .arg("core")
            .arg(bin)
            .arg(core)
            .args(["--headless", "--listen=127.0.0.1:0", "--api-version=2"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("dlv log"))
            .spawn()
            .expect("run dlv");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line);
        let Some(addr) = line.trim().strip_prefix("API server listening at: ") else {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            let all = format!("{line}{err}");
            assert!(
                all.contains("is too old for this version of Delve"),
                "dlv did not start: {all}"
            );
            eprintln!("skipped by dlv: {}", all.trim());
            return None;
        };
        let conn = std::net::TcpStream::connect(addr).expect("connect to dlv");
        let mut dlv = Dlv {
            child,
            conn,
            log,
            next: 0,
        };
        // The headless server checks the release when asked something.
        if dlv
            .try_call("State", serde_json::json!({"NonBlocking": true}))
            .is_none()
        {
            let said = std::fs::read_to_string(&dlv.log).unwrap_or_default();
            assert!(
                said.contains("is too old for this version of Delve"),
                "dlv stopped: {said}"
            );
            eprintln!("skipped by dlv: {}", said.trim());
            return None;
        }
        Some(dlv)
    }

    fn try_call(&mut self, method: &str, params: serde_json::Value) -> Option<serde_json::Value> {
        use std::io::Write;
        self.next += 1;
        let req = serde_json::json!({"method": format!("RPCServer.{method}"), "params": [params], "id": self.next});
        self.conn.write_all(req.to_string().as_bytes()).ok()?;
        let mut de =
            serde_json::Deserializer::from_reader(&self.conn).into_iter::<serde_json::Value>();
        de.next()?.ok()
    }

    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use std::io::Write;
        self.next += 1;
        let req = serde_json::json!({"method": format!("RPCServer.{method}"), "params": [params], "id": self.next});
        self.conn
            .write_all(req.to_string().as_bytes())
            .expect("write to dlv");
        let mut de =
            serde_json::Deserializer::from_reader(&self.conn).into_iter::<serde_json::Value>();
        let reply = match de.next() {
            Some(Ok(r)) => r,
            other => panic!(
                "dlv {method}: no reply ({other:?}); dlv said: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            ),
        };
        assert!(reply["error"].is_null(), "dlv {method}: {}", reply["error"]);
        reply["result"].clone()
    }

    fn frames(&mut self, goroutine: u64) -> Vec<String> {
        let r = self.call(
            "Stacktrace",
            serde_json::json!({"Id": goroutine, "Depth": 50}),
        );
        r["Locations"]
            .as_array()
            .expect("locations")
            .iter()
            .map(|l| l["function"]["name"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

fn cfg_json(cfg: &LoadConfig) -> serde_json::Value {
    serde_json::json!({
        "FollowPointers": cfg.follow_pointers,
        "MaxVariableRecurse": cfg.max_variable_recurse,
        "MaxStringLen": cfg.max_string_len,
        "MaxArrayValues": cfg.max_array_values,
        "MaxStructFields": cfg.max_struct_fields,
    })
}

const FAKE: u64 = 0xbeed_0000_0000_0000;

/// Differences between our variable and Delve's, by path.
fn diff(ours: &Variable, theirs: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    let s = |k: &str| theirs[k].as_str().unwrap_or("").to_string();
    let n = |k: &str| theirs[k].as_i64().unwrap_or(0);
    let u = |k: &str| theirs[k].as_u64().unwrap_or(0);
    let mut bad = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{path}: {what}: ours {a:?}, dlv {b:?}"));
        }
    };
    let unreadable = !ours.unreadable.is_empty();
    // Delve assumes a register keeps its value in the frames above the one
    // it was read in (no call-frame rule says otherwise); Go's ABI saves no
    // register across calls, so we call such a value unreadable instead.
    if ours.unreadable.contains("which is not saved in this frame") {
        return;
    }
    bad(
        "readable",
        (!unreadable).to_string(),
        s("unreadable").is_empty().to_string(),
    );
    if unreadable || !s("unreadable").is_empty() {
        return;
    }
    bad("type", ours.type_name.clone(), s("type"));
    bad("kind", ours.kind.to_string(), n("kind").to_string());
    // A constant's name: when several constants have the value (aliases
    // like abi.Pointer and abi.Ptr, or reflectlite's copies of abi.Kind)
    // Delve's choice depends on its unstable sort; ours is the first in
    // DWARF order, preferring the type's own package. Same value and a
    // name on both sides is enough.
    let short_const = |v: &str| match v.rsplit_once(" (") {
        Some((name, n)) if n.ends_with(')') && !name.is_empty() => format!("<const> ({n}"),
        _ => v.to_string(),
    };
    bad("value", short_const(&ours.value), short_const(&s("value")));
    bad("len", ours.len.to_string(), n("len").to_string());
    bad("cap", ours.cap.to_string(), n("cap").to_string());
    bad(
        "onlyAddr",
        ours.only_addr.to_string(),
        theirs["onlyAddr"].as_bool().unwrap_or(false).to_string(),
    );
    if ours.addr < FAKE && u("addr") < FAKE {
        bad(
            "addr",
            format!("{:#x}", ours.addr),
            format!("{:#x}", u("addr")),
        );
    }
    bad(
        "base",
        format!("{:#x}", ours.base),
        format!("{:#x}", u("base")),
    );
    let masked = flags::ESCAPED | flags::ARGUMENT | flags::RETURN_ARGUMENT | flags::SHADOWED;
    bad(
        "flags",
        (ours.flags & masked).to_string(),
        (u("flags") as u32 & masked).to_string(),
    );
    let kids = theirs["children"].as_array().cloned().unwrap_or_default();
    bad(
        "children",
        ours.children.len().to_string(),
        kids.len().to_string(),
    );
    for (i, (a, b)) in ours.children.iter().zip(&kids).enumerate() {
        let name = if a.name.is_empty() {
            format!("[{i}]")
        } else {
            a.name.clone()
        };
        diff(a, b, &format!("{path}.{name}"), out);
    }
}

fn compare_frame_vars(
    go: &str,
    what: &str,
    c: &Capture<impl Memory>,
    dlv: &mut Dlv,
    goroutine: usize,
    functions: &[&str],
) -> usize {
    let cfg = LoadConfig::default();
    let id = c.goroutines()[goroutine].id;
    let theirs = dlv.frames(id);
    let mut compared = 0;
    for f in functions {
        let ours = index_of(c, goroutine, f);
        let dframe = theirs
            .iter()
            .position(|n| n == f)
            .unwrap_or_else(|| panic!("dlv has no frame {f}"));
        let scope = serde_json::json!({"GoroutineID": id, "Frame": dframe});
        for (list, key, mine) in [
            (
                "ListLocalVars",
                "Variables",
                values::locals(
                    c,
                    Scope {
                        goroutine,
                        frame: ours,
                    },
                    &cfg,
                ),
            ),
            (
                "ListFunctionArgs",
                "Args",
                values::args(
                    c,
                    Scope {
                        goroutine,
                        frame: ours,
                    },
                    &cfg,
                ),
            ),
        ] {
            let r = dlv.call(
                list,
                serde_json::json!({"Scope": scope, "Cfg": cfg_json(&cfg)}),
            );
            let dv = r[key].as_array().cloned().unwrap_or_default();
            let mine = mine.unwrap_or_else(|e| panic!("{go} {what} {f}: {e}"));
            let mut names: Vec<&str> = mine.iter().map(|v| v.name.as_str()).collect();
            let mut dnames: Vec<&str> = dv
                .iter()
                .map(|v| v["name"].as_str().unwrap_or(""))
                .collect();
            names.sort_unstable();
            dnames.sort_unstable();
            assert_eq!(names, dnames, "{go} {what} {f} {list}");
            let mut out = Vec::new();
            for v in &mine {
                let d = dv
                    .iter()
                    .find(|d| d["name"] == v.name.as_str())
                    .expect("same names");
                diff(v, d, &format!("{f}:{}", v.name), &mut out);
                compared += 1;
            }
            assert!(
                out.is_empty(),
                "{go} {what}: differences from dlv:\n{}",
                out.join("\n")
            );
        }
    }
    compared
}

fn compare_evals(
    go: &str,
    c: &Capture<impl Memory>,
    dlv: &mut Dlv,
    scope: Scope,
    function: &str,
    exprs: &[&str],
) {
    let cfg = LoadConfig::default();
    let id = c.goroutines()[scope.goroutine].id;
    let dframe = dlv
        .frames(id)
        .iter()
        .position(|n| n == function)
        .expect("frame in dlv");
    for e in exprs {
        let ours = print(c, scope, e);
        let r = dlv.call(
            "Eval",
            serde_json::json!({"Scope": {"GoroutineID": id, "Frame": dframe}, "Expr": e, "Cfg": cfg_json(&cfg)}),
        );
        let mut out = Vec::new();
        diff(&ours, &r["Variable"], e, &mut out);
        assert!(
            out.is_empty(),
            "{go} print {e}: differences from dlv:\n{}",
            out.join("\n")
        );
    }
}

/// `ListPackageVars` with a filter: the same variables, the same values.
fn compare_package_vars(go: &str, c: &Capture<impl Memory>, dlv: &mut Dlv, filter: &str) {
    let cfg = LoadConfig::default();
    // runtime.pdEface holds a *pollDesc, a pointer to a not-in-heap type,
    // which Go boxes in interfaces (no TFlagDirectIface): dlv shows the
    // box's address as the pointer; we read the pointer from the box.
    let skip = |n: &str| n == "runtime.pdEface";
    let mut ours = values::package_vars(c, filter, &cfg).expect("package vars");
    ours.retain(|v| !skip(&v.name));
    let r = dlv.call(
        "ListPackageVars",
        serde_json::json!({"Filter": filter, "Cfg": cfg_json(&cfg)}),
    );
    let mut theirs = r["Variables"].as_array().cloned().unwrap_or_default();
    theirs.retain(|v| !skip(v["name"].as_str().unwrap_or("")));
    let mut names: Vec<&str> = ours.iter().map(|v| v.name.as_str()).collect();
    let mut dnames: Vec<&str> = theirs
        .iter()
        .map(|v| v["name"].as_str().unwrap_or(""))
        .collect();
    names.sort_unstable();
    dnames.sort_unstable();
    assert_eq!(names, dnames, "{go} package variables {filter}");
    let mut out = Vec::new();
    for v in &ours {
        let d = theirs
            .iter()
            .find(|d| d["name"] == v.name.as_str())
            .expect("same names");
        diff(v, d, &v.name, &mut out);
    }
    assert!(
        out.is_empty(),
        "{go} package variables {filter}: differences from dlv:\n{}",
        out.join("\n")
    );
    assert!(ours.len() > 20, "{go}: {} package variables", ours.len());
}

#[test]
fn values_agree_with_dlv() {
    let mut versions = 0;
    for go in kit::go_versions() {
        for (case, binary) in [("crash-noopt", "crash.noopt"), ("crash", "crash")] {
            let k = crash(&go, case, binary);
            let dir = cores(&go, &[case]);
            let Some(mut dlv) =
                Dlv::start(&bin(&go, binary), &dir.join(format!("{case}.crash.core")))
            else {
                continue;
            };
            versions += 1;
            let n = compare_frame_vars(
                &go,
                case,
                &k.capture,
                &mut dlv,
                k.goroutine,
                &["main.Handler", "main.main.func1"],
            );
            assert!(n >= 3, "{go} {case}: {n} variables compared");
            compare_evals(
                &go,
                &k.capture,
                &mut dlv,
                k.handler,
                "main.Handler",
                &["id", "merr", "err", "store", "main.store", "&id"],
            );
            compare_evals(
                &go,
                &k.capture,
                &mut dlv,
                k.closure,
                "main.main.func1",
                &["id"],
            );
        }
        let (c, s) = metrics(&go);
        let dir = cores(&go, &["metricsdeadlock"]);
        let Some(mut dlv) = Dlv::start(
            &bin(&go, "metricsdeadlock"),
            &dir.join("metricsdeadlock.gcore.core"),
        ) else {
            continue;
        };
        compare_frame_vars(
            &go,
            "metricsdeadlock",
            &c,
            &mut dlv,
            s.goroutine,
            &[
                "main.(*Metrics).startInChannelConsumer",
                "main.(*Metrics).sendMetricsToOutChannel",
                // Inlined into sendMetricsToOutChannel.
                "main.(*Metrics).SetM",
            ],
        );
        // A request: the inlined CountS, the handler closure and its
        // captured variable, and the closure as a func value.
        let request = (0..c.goroutines().len())
            .find(|&i| {
                c.view(i)
                    .frame_iter()
                    .any(|f| f.function == "main.(*Metrics).CountS")
            })
            .expect("a request goroutine");
        let n = compare_frame_vars(
            &go,
            "metricsdeadlock request",
            &c,
            &mut dlv,
            request,
            &[
                "main.(*Metrics).CountS",
                "main.run.func1",
                "net/http.HandlerFunc.ServeHTTP",
            ],
        );
        assert!(n >= 3, "{go}: {n} variables of a request compared");
        compare_evals(
            &go,
            &c,
            &mut dlv,
            s,
            "main.(*Metrics).startInChannelConsumer",
            &[
                "m",
                "*m",
                "m.inChannel",
                "m.values",
                "m.values[\"server.req-incoming\"]",
                "len(m.values)",
                "cap(m.inChannel)",
                "runtime.buildVersion",
                "runtime.allglen",
                "runtime.allgs",
                "runtime.allgs[1]",
                "http.DefaultServeMux",
                "runtime.fastlog2Table",
                "runtime.fastlog2Table[3]",
            ],
        );
        compare_package_vars(&go, &c, &mut dlv, "^(runtime|net/http|sync|time|os)\\.");
    }
    assert!(versions > 0, "dlv supports none of the tested Go releases");
}

// ---------------------------------------------------------------------------
// Corrupt memory.

/// A core whose reads turn to garbage once `corrupt` is set: goroutines
/// are found in good memory, then every variable is read from bad.
struct Corrupting {
    inner: CoreFile,
    corrupt: AtomicBool,
    seed: AtomicU64,
}

impl Memory for Corrupting {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> gosleuth_memory::Result<()> {
        self.inner.read_at(addr, buf)?;
        if self.corrupt.load(Ordering::Relaxed) {
            let mut x =
                self.seed.load(Ordering::Relaxed) ^ addr.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly plausible: keep some bytes, make others huge or 0xff.
                *b = match x % 4 {
                    0 => *b,
                    1 => 0xff,
                    2 => 0,
                    _ => x as u8,
                };
            }
        }
        Ok(())
    }
    fn endian(&self) -> Endian {
        self.inner.endian()
    }
    fn regions(&self) -> Vec<Region> {
        self.inner.regions()
    }
}

/// Reads every variable of every distinct stack of `core` with its
/// memory corrupted, `rounds` times with different garbage; returns the
/// values read and how many of them were unreadable.
fn read_corrupted(
    go: &str,
    case: &str,
    binary: &str,
    core: &str,
    exprs: &[&str],
    rounds: u64,
) -> (usize, usize) {
    let dir = cores(go, &[case]);
    let bin_path = bin(go, binary);
    let mem = Corrupting {
        inner: CoreFile::open(dir.join(core), &bin_path).expect("core"),
        corrupt: AtomicBool::new(false),
        seed: AtomicU64::new(1),
    };
    let bin = gosleuth_gobin::GoBinary::open(&bin_path).expect("binary");
    let bias = mem.inner.load_bias();
    let threads = mem.inner.threads().to_vec();
    let t = gosleuth_runtime::Target::new(mem, bin, bias, threads).expect("target");
    let mut c = Capture::read(t, "corrupt".into(), None, &Options::default()).expect("capture");
    c.symbolize();
    c.target().mem().corrupt.store(true, Ordering::Relaxed);
    let cfg = LoadConfig {
        max_variable_recurse: 3,
        max_array_values: 1000,
        ..LoadConfig::default()
    };
    let (mut seen, mut unreadable) = (0, 0);
    fn count(v: &Variable, unreadable: &mut usize) {
        if !v.unreadable.is_empty() {
            *unreadable += 1;
        }
        for c in &v.children {
            count(c, unreadable);
        }
    }
    // The goroutines of distinct stacks (a pile-up has one shape).
    let mut shapes = BTreeSet::new();
    for gi in 0..c.goroutines().len() {
        let shape: Vec<u64> = c.goroutines()[gi].frames.iter().map(|f| f.pc).collect();
        if !shapes.insert(shape) {
            continue;
        }
        for round in 0..rounds {
            c.target()
                .mem()
                .seed
                .store(gi as u64 * 1000 + round + 1, Ordering::Relaxed);
            let frames = c.view(gi).frame_iter().count();
            for frame in 0..frames {
                let s = Scope {
                    goroutine: gi,
                    frame,
                };
                let vars = values::locals(&c, s, &cfg)
                    .unwrap_or_default()
                    .into_iter()
                    .chain(values::args(&c, s, &cfg).unwrap_or_default())
                    .chain(
                        exprs
                            .iter()
                            .filter_map(|e| values::eval(&c, s, e, &cfg).ok()),
                    );
                for v in vars {
                    let _ = values::format(&v);
                    let _ = values::channel_info(&c, &v);
                    seen += 1;
                    count(&v, &mut unreadable);
                }
            }
        }
    }
    (seen, unreadable)
}

#[test]
fn corrupt_memory_gives_unreadable_values_not_panics() {
    // The time bound is on the reads: have the factory make the cores and
    // binaries first (on an empty cache that alone can take minutes).
    for (case, binary) in [
        ("metricsdeadlock", "metricsdeadlock"),
        ("crash-noopt", "crash.noopt"),
    ] {
        cores("installed", &[case]);
        bin("installed", binary);
    }
    let started = std::time::Instant::now();
    let (seen, bad) = read_corrupted(
        "installed",
        "metricsdeadlock",
        "metricsdeadlock",
        "metricsdeadlock.crash.core",
        &[
            "m",
            "*m",
            "m.values",
            "m.inChannel",
            "len(m.values)",
            "runtime.allgs",
            "http.DefaultServeMux",
        ],
        4,
    );
    assert!(seen > 200, "only {seen} variables read");
    assert!(
        bad > 10,
        "corruption made only {bad} of {seen} values unreadable"
    );
    let (seen, bad) = read_corrupted(
        "installed",
        "crash-noopt",
        "crash.noopt",
        "crash-noopt.crash.core",
        &["merr", "err", "*item", "id", "store", "wg"],
        8,
    );
    assert!(
        seen > 200 && bad > 10,
        "{seen} values read, {bad} unreadable"
    );
    assert!(
        started.elapsed().as_secs() < 120,
        "reading corrupt values took {:?}",
        started.elapsed()
    );
}
