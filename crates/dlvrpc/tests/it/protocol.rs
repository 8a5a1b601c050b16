//! The JSON-RPC server over real sockets: Delve's shapes, and survival of
//! bad input.

use std::time::{Duration, Instant};

use gosleuth_dlvrpc::{Server, ServerOptions};
use serde_json::{Value, json};

use crate::session::consumer;
use crate::{
    Client, counts_at, file_line, line_of, not_implemented, own_session, patient, serve, setm_at,
    shared, shared_server,
};

#[test]
fn empty_params_answer_the_old_array_and_the_connection_ends() {
    // The server's default quiet time, which `echo ... | nc` relies on.
    let addr = serve(shared(), ServerOptions::default());
    let mut c = Client::connect(addr);
    // Seed 004's request, byte for byte.
    c.send_raw(br#"{"method":"RPCServer.ListGoroutines","params":[],"id":2}"#);
    let reply = c.reply();
    assert_eq!(reply["id"], 2);
    assert!(reply["error"].is_null());
    let gs = reply["result"]
        .as_array()
        .expect("an array, as old Delve answered");
    assert_eq!(gs.len(), shared().capture().goroutines().len());
    for key in [
        "id",
        "currentLoc",
        "userCurrentLoc",
        "goStatementLoc",
        "startLoc",
        "threadID",
        "status",
        "waitSince",
        "waitReason",
        "unreadable",
    ] {
        assert!(gs[0].get(key).is_some(), "{key} missing in {}", gs[0]);
    }
    for key in ["pc", "file", "line", "function"] {
        assert!(gs[0]["currentLoc"].get(key).is_some(), "{key}");
    }
    for key in ["name", "value", "type", "goType", "optimized"] {
        assert!(gs[0]["currentLoc"]["function"].get(key).is_some(), "{key}");
    }
    let consumers: Vec<&Value> = gs
        .iter()
        .filter(|g| {
            g["startLoc"]["function"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("startInChannelConsumer"))
        })
        .collect();
    assert_eq!(consumers.len(), 1);
    let user = file_line(&consumers[0]["userCurrentLoc"]);
    assert!(user.ends_with(&setm_at()), "{user}");
    // Not a Delve client (no SetApiVersion): closed once quiet, so that
    // `echo ... | nc` ends.
    let t0 = Instant::now();
    assert!(c.closed());
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn list_goroutines_v2_pages_filters_and_groups() {
    let mut c = Client::connect(shared_server());
    c.result("SetApiVersion", json!({"APIVersion": 2}));
    let n = shared().capture().goroutines().len();
    let mut seen = 0;
    let mut start = 0i64;
    let mut pages = 0;
    while start >= 0 {
        let r = c.result("ListGoroutines", json!({"Start": start, "Count": 5000}));
        seen += r["Goroutines"].as_array().map_or(0, Vec::len);
        start = r["Nextg"].as_i64().expect("Nextg");
        assert!(
            r["Groups"].as_array().is_some_and(Vec::is_empty),
            "{}",
            r["Groups"]
        );
        assert_eq!(r["TooManyGroups"], false);
        pages += 1;
    }
    assert_eq!(seen, n);
    assert_eq!(pages, n.div_ceil(5000));
    // Filters: Kind 2 is userloc; Negated inverts.
    let counts = c.result(
        "ListGoroutines",
        json!({"Filters": [{"Kind": 2, "Negated": false, "Arg": counts_at()}]}),
    );
    let counted = counts["Goroutines"].as_array().expect("goroutines").len();
    assert!(counted > 1000);
    let others = c.result(
        "ListGoroutines",
        json!({"Filters": [{"Kind": 2, "Negated": true, "Arg": counts_at()}]}),
    );
    assert_eq!(
        others["Goroutines"].as_array().map_or(0, Vec::len),
        n - counted
    );
    // GroupBy 4 is startloc.
    let grouped = c.result(
        "ListGoroutines",
        json!({"GroupBy": 4, "MaxGroupMembers": 3, "MaxGroups": 100}),
    );
    let groups = grouped["Groups"].as_array().expect("groups");
    let total: u64 = groups.iter().filter_map(|g| g["Total"].as_u64()).sum();
    assert_eq!(total as usize, n);
    let consumer = groups
        .iter()
        .find(|g| {
            g["Name"]
                .as_str()
                .is_some_and(|s| s.ends_with(" in main.(*Metrics).startInChannelConsumer"))
        })
        .expect("consumer group");
    assert_eq!(consumer["Total"], 1);
    let off = consumer["Offset"].as_u64().expect("offset") as usize;
    let member = &grouped["Goroutines"][off];
    let user = file_line(&member["userCurrentLoc"]);
    assert!(user.ends_with(&setm_at()), "{user}");
    let label = c.result(
        "ListGoroutines",
        json!({"GroupBy": 5, "GroupByKey": "region"}),
    );
    assert_eq!(label["Groups"][0]["Name"], "region=");
    let bad = c.error(
        "ListGoroutines",
        json!({"Filters": [{"Kind": 8, "Arg": "ch"}]}),
    );
    assert!(bad.contains("cannot read the channel"), "{bad}");
    let bad = c.error("ListGoroutines", json!({"GroupBy": 99}));
    assert!(bad.contains("GroupBy"), "{bad}");
}

#[test]
fn state_switching_and_stacks() {
    let s = own_session();
    let addr = serve(s, patient());
    let mut c = Client::connect(addr);
    c.result("SetApiVersion", json!({"APIVersion": 2}));
    let v = c.result("GetVersion", json!({}));
    assert_eq!(v["APIVersion"], 2);
    assert_eq!(v["Backend"], "core");
    assert!(
        v["TargetGoVersion"]
            .as_str()
            .is_some_and(|g| g.starts_with("go1."))
    );
    let st = c.result("State", json!({"NonBlocking": true}))["State"].clone();
    assert_eq!(st["Running"], false);
    assert_eq!(st["exited"], false);
    assert_eq!(st["Pid"], 1234);
    assert!(
        st["currentThread"]["id"].as_i64().is_some_and(|t| t > 0),
        "{st}"
    );
    assert!(st["Threads"].as_array().is_some_and(|t| !t.is_empty()));
    let gi = consumer(s);
    let id = s.capture().goroutines()[gi].id;
    let switched = c.result(
        "Command",
        json!({"name": "switchGoroutine", "goroutineID": id}),
    );
    assert_eq!(switched["State"]["currentGoroutine"]["id"], id);
    assert!(switched["State"]["currentThread"].is_object());
    let e = c.error("Command", json!({"name": "continue"}));
    assert!(e.contains("snapshot"), "{e}");
    let e = c.error(
        "Command",
        json!({"name": "switchGoroutine", "goroutineID": 99_999_999}),
    );
    assert!(e.contains("unknown goroutine"), "{e}");
    // Id -1 is the selected goroutine.
    let stack = c.result("Stacktrace", json!({"Id": -1, "Depth": 50}))["Locations"].clone();
    let frames = stack.as_array().expect("frames");
    let names: Vec<&str> = frames
        .iter()
        .filter_map(|f| f["function"]["name"].as_str())
        .collect();
    let setm = names
        .iter()
        .position(|n| *n == "main.(*Metrics).SetM")
        .expect("SetM");
    assert_eq!(
        frames[setm]["line"],
        line_of("m.inChannel <- NewSetMetric(key, value, second)")
    );
    assert!(
        names.contains(&"main.(*Metrics).startInChannelConsumer"),
        "{names:?}"
    );
    assert_eq!(
        frames.last().map(|f| f["Bottom"].clone()),
        Some(Value::Bool(true))
    );
    assert!(frames[0]["Locals"].is_null());
    let top = c.result("Stacktrace", json!({"Id": id, "Depth": 1}))["Locations"].clone();
    assert_eq!(top.as_array().map(Vec::len), Some(2));
    assert!(top[1].get("Bottom").is_none());
    // Full: variables per frame, or why they cannot be read.
    let full =
        c.result("Stacktrace", json!({"Id": id, "Depth": 50, "Full": true}))["Locations"].clone();
    let f = &full[setm];
    let args = f["Arguments"].as_array().expect("Arguments");
    let locals = f["Locals"].as_array().expect("Locals");
    match args.first() {
        Some(a) if a["name"] == "(args)" => {
            assert!(!a["unreadable"].as_str().unwrap_or("").is_empty(), "{a}");
        }
        _ => {
            for v in args.iter().chain(locals) {
                assert!(v["name"].as_str().is_some_and(|n| !n.is_empty()), "{v}");
            }
        }
    }
    // Threads and registers.
    let threads = c.result("ListThreads", json!({}))["Threads"].clone();
    let tid = threads[0]["id"].as_i64().expect("thread id");
    let one = c.result("GetThread", json!({"Id": tid}));
    assert_eq!(one["Thread"]["id"], tid);
    let regs = c.result(
        "ListRegisters",
        json!({"ThreadID": tid, "IncludeFp": false}),
    );
    assert_eq!(regs["Regs"][0]["Name"], "Rip");
    assert!(
        regs["Registers"]
            .as_str()
            .is_some_and(|r| r.contains("Rsp = 0x"))
    );
    let scoped = c.result(
        "ListRegisters",
        json!({"Scope": {"GoroutineID": id, "Frame": setm, "DeferredCall": 0}}),
    );
    assert_eq!(
        scoped["Regs"][0]["Value"],
        format!("{:#018x}", frames[setm]["pc"].as_u64().unwrap_or(0))
    );
    let switched = c.result("Command", json!({"name": "switchThread", "threadID": tid}));
    assert_eq!(switched["State"]["currentThread"]["id"], tid);
    // Memory reads, base64 like Go's []byte.
    let mem = c.result(
        "ExamineMemory",
        json!({"Address": frames[0]["pc"], "Length": 16}),
    );
    assert_eq!(mem["Mem"].as_str().map(str::len), Some(24));
    assert!(
        c.error("ExamineMemory", json!({"Address": 0, "Length": 1 << 20}))
            .contains("len")
    );
    // What the dlv client asks on connect and on exit.
    assert_eq!(c.result("IsMulticlient", json!({}))["IsMulticlient"], false);
    assert_eq!(c.result("Recorded", json!({}))["Recorded"], false);
    assert_eq!(
        c.result("AttachedToExistingProcess", json!({}))["Answer"],
        false
    );
    assert!(
        c.result("LastModified", json!({}))["Time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(
        c.result("ListBreakpoints", json!({"All": true}))["Breakpoints"]
            .as_array()
            .is_some()
    );
    assert!(
        c.error("CreateBreakpoint", json!({}))
            .contains("breakpoints")
    );
    assert_eq!(c.result("GetEvents", json!({}))["Events"][0]["Kind"], 1);
    c.result("Detach", json!({"Kill": true}));
    assert!(c.closed(), "Detach ends the session");
    // The server goes on.
    let mut again = Client::connect(addr);
    again.result("GetVersion", json!({}));
}

#[test]
fn variables_come_from_the_values_reader_or_say_why_not() {
    let s = shared();
    let gi = consumer(s);
    let id = s.capture().goroutines()[gi].id;
    let frame = s
        .frames(gi)
        .iter()
        .position(|f| f.frame.function == "main.(*Metrics).sendMetricsToOutChannel")
        .expect("frame");
    let mut c = Client::connect(shared_server());
    let scope = json!({"GoroutineID": id, "Frame": frame, "DeferredCall": 0});
    let cfg = json!({"FollowPointers": true, "MaxVariableRecurse": 1, "MaxStringLen": 64,
                     "MaxArrayValues": 64, "MaxStructFields": -1});
    let args = c.call("ListFunctionArgs", json!({"Scope": scope, "Cfg": cfg}));
    if let Some(e) = args["error"].as_str() {
        assert!(not_implemented(e), "{e}");
    } else {
        let names: Vec<&str> = args["result"]["Args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .collect();
        assert!(names.contains(&"m"), "{args}");
    }
    let locals = c.call("ListLocalVars", json!({"Scope": scope, "Cfg": cfg}));
    if let Some(e) = locals["error"].as_str() {
        assert!(not_implemented(e), "{e}");
    } else {
        assert!(locals["result"]["Variables"].is_array(), "{locals}");
    }
    let eval = c.call("Eval", json!({"Scope": scope, "Expr": "m"}));
    if let Some(e) = eval["error"].as_str() {
        assert!(not_implemented(e), "{e}");
    } else {
        let v = &eval["result"]["Variable"];
        assert!(
            v["type"]
                .as_str()
                .is_some_and(|t| t.contains("main.Metrics")),
            "{v}"
        );
    }
    // What `print m.inChannel` asks next: who waits on the channel (the
    // piled-up CountS requests and the consumer itself).
    let waiting = c.call(
        "ListGoroutines",
        json!({"Count": 100000, "EvalScope": scope,
               "Filters": [{"Kind": 8, "Arg": "m.inChannel"}]}),
    );
    if let Some(e) = waiting["error"].as_str() {
        assert!(not_implemented(e) || e.contains("channel"), "{e}");
    } else {
        let gs = waiting["result"]["Goroutines"]
            .as_array()
            .expect("goroutines");
        let at = counts_at();
        let counts = gs
            .iter()
            .filter(|g| file_line(&g["userCurrentLoc"]).ends_with(&at))
            .count();
        assert!(counts > 1000, "{counts}");
        assert!(
            gs.iter().any(|g| g["id"] == id),
            "the consumer waits on its own channel"
        );
        assert_eq!(gs.len(), counts + 1);
    }
    let pkg = c.call("ListPackageVars", json!({"Filter": "^main\\.", "Cfg": cfg}));
    if let Some(e) = pkg["error"].as_str() {
        assert!(not_implemented(e), "{e}");
    }
    // A frame that does not exist is refused before the values reader.
    let e = c.error(
        "ListLocalVars",
        json!({"Scope": {"GoroutineID": id, "Frame": 500}, "Cfg": cfg}),
    );
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn bad_requests_get_errors_and_the_connection_goes_on() {
    let mut c = Client::connect(shared_server());
    let expect = |c: &mut Client, raw: &[u8], id: Value, text: &str| {
        c.send_raw(raw);
        let r = c.reply();
        assert_eq!(r["id"], id, "{r}");
        assert!(r["result"].is_null(), "{r}");
        let e = r["error"].as_str().unwrap_or_default();
        assert!(e.contains(text), "{text:?} not in {e:?}");
    };
    expect(&mut c, b"hello there\n", Value::Null, "malformed request");
    expect(
        &mut c,
        b"\x00\xff\xfe garbage",
        Value::Null,
        "malformed request",
    );
    expect(
        &mut c,
        br#"{"method": nope}"#,
        Value::Null,
        "malformed request",
    );
    expect(&mut c, b"[1, 2, 3]", Value::Null, "expected an object");
    expect(
        &mut c,
        br#"{"params":[],"id":4}"#,
        json!(4),
        "no \"method\"",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.NoSuchThing","params":[{}],"id":5}"#,
        json!(5),
        "unknown method: RPCServer.NoSuchThing",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.Stacktrace","params":[{"Id":"one"}],"id":"six"}"#,
        json!("six"),
        "cannot unmarshal string",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.Stacktrace","params":[{"Id":1.5}],"id":7}"#,
        json!(7),
        "number 1.5",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.Stacktrace","params":[42],"id":8}"#,
        json!(8),
        "cannot unmarshal number",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.Stacktrace","params":[{"Id":123456789}],"id":9}"#,
        json!(9),
        "unknown goroutine 123456789",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.SetApiVersion","params":[{"APIVersion":1}],"id":10}"#,
        json!(10),
        "API version",
    );
    expect(
        &mut c,
        br#"{"method":"RPCServer.ListFunctions","params":[{"Filter":"("}],"id":11}"#,
        json!(11),
        "invalid filter",
    );
    // Still serving, and requests may come back to back.
    c.send_raw(
        br#"{"method":"RPCServer.GetVersion","params":[{}],"id":12}
           {"method":"GetVersion","params":{},"id":13}"#,
    );
    for id in [12, 13] {
        let r = c.reply();
        assert_eq!(r["id"], id);
        assert_eq!(r["result"]["APIVersion"], 2, "{r}");
    }
}

#[test]
fn disconnects_and_many_clients_do_not_stop_the_server() {
    let addr = shared_server();
    // Half a request, then gone.
    {
        let mut c = Client::connect(addr);
        c.send_raw(br#"{"method":"RPCServer.ListGoroutines","params":[{"Co"#);
    }
    // A client that never reads a large reply.
    {
        let mut c = Client::connect(addr);
        c.send_raw(br#"{"method":"RPCServer.ListGoroutines","params":[],"id":1}"#);
    }
    // One after another.
    for i in 0..20 {
        let mut c = Client::connect(addr);
        let r = c.result("GetVersion", json!({}));
        assert_eq!(r["APIVersion"], 2, "client {i}");
    }
    // Several at once.
    let handles: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                c.result("SetApiVersion", json!({"APIVersion": 2}));
                let r = c.result("ListGoroutines", json!({"Start": 0, "Count": 50}));
                r["Goroutines"].as_array().map_or(0, Vec::len)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("client thread"), 50);
    }
}

#[test]
fn oversized_requests_close_only_their_connection() {
    let addr = serve(
        shared(),
        ServerOptions {
            max_request: 4096,
            ..patient()
        },
    );
    let mut big = Client::connect(addr);
    let mut req = br#"{"method":"RPCServer.GetVersion","params":[{"x":""#.to_vec();
    req.extend(std::iter::repeat_n(b'a', 10_000));
    big.send_raw(&req);
    let r = big.reply();
    assert!(
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("larger than 4096")),
        "{r}"
    );
    assert!(big.closed());
    let mut other = Client::connect(addr);
    other.result("GetVersion", json!({}));
}

#[test]
fn only_loopback_unless_remote_clients_are_allowed() {
    let e = Server::bind("0.0.0.0:0", ServerOptions::default()).unwrap_err();
    assert!(e.to_string().contains("--accept-remote"), "{e}");
    let remote = ServerOptions {
        accept_remote: true,
        ..ServerOptions::default()
    };
    assert!(Server::bind("0.0.0.0:0", remote).is_ok());
    let e = Server::bind("no port here", ServerOptions::default()).unwrap_err();
    assert!(e.to_string().contains("HOST:PORT"), "{e}");
    assert!(
        Server::bind("[::1]:0", ServerOptions::default()).is_ok() || cfg!(not(target_os = "linux"))
    );
}

#[test]
fn a_stopped_server_returns() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default()).expect("bind");
    let addr = server.local_addr();
    let stopper = server.stopper();
    let t = std::thread::spawn(move || server.serve(shared()));
    let mut c = Client::connect(addr);
    c.result("SetApiVersion", json!({"APIVersion": 2}));
    stopper.stop();
    assert!(t.join().expect("server thread").is_ok());
    assert!(c.closed(), "clients are let go");
}

#[test]
fn locations_sources_and_functions_over_the_wire() {
    let mut c = Client::connect(shared_server());
    let line = line_of("m.inChannel <- NewSetMetric(key, value, second)");
    let r = c.result(
        "FindLocation",
        json!({"Scope": {"GoroutineID": -1}, "Loc": format!("metricsdeadlock/metrics.go:{line}"),
               "IncludeNonExecutableLines": false, "SubstitutePathRules": null}),
    );
    assert_eq!(r["Locations"][0]["line"], line, "{r}");
    assert!(r["Locations"][0]["pc"].as_u64().is_some_and(|pc| pc > 0));
    let e = c.error("FindLocation", json!({"Loc": "no.such.func"}));
    assert!(e.contains("not found"), "{e}");
    let src = c.result("ListSources", json!({"Filter": "metricsdeadlock/"}))["Sources"].clone();
    assert!(src.as_array().is_some_and(|a| {
        a.iter()
            .any(|f| f.as_str().is_some_and(|f| f.ends_with("/metrics.go")))
    }));
    let fns = c.result("ListFunctions", json!({"Filter": "^main\\."}))["Funcs"].clone();
    assert!(
        fns.as_array()
            .is_some_and(|a| a.contains(&json!("main.(*Metrics).startInChannelConsumer")))
    );
    let pk = c.result(
        "ListPackagesBuildInfo",
        json!({"Filter": "^main$", "IncludeFiles": true}),
    );
    assert_eq!(pk["List"][0]["ImportPath"], "main");
    assert!(
        pk["List"][0]["Files"]
            .as_array()
            .is_some_and(|f| f.len() >= 2)
    );
    let types = c.call("ListTypes", json!({"Filter": "^main\\.Metrics$"}));
    if types["error"].is_null() {
        assert_eq!(types["result"]["Types"], json!(["main.Metrics"]));
    }
}

/// Requests with arguments of every shape, for every method: each gets a
/// reply (a result or an error) and the server keeps serving.
#[test]
fn random_requests_never_break_the_server() {
    let s = own_session();
    let addr = serve(s, patient());
    let methods = [
        "SetApiVersion",
        "GetVersion",
        "IsMulticlient",
        "State",
        "Command",
        "ProcessPid",
        "LastModified",
        "BuildID",
        "Recorded",
        "AttachedToExistingProcess",
        "ListGoroutines",
        "Stacktrace",
        "Ancestors",
        "ListThreads",
        "GetThread",
        "ListLocalVars",
        "ListFunctionArgs",
        "Eval",
        "Set",
        "ListSources",
        "ListFunctions",
        "ListTypes",
        "ListPackageVars",
        "ListPackagesBuildInfo",
        "ListRegisters",
        "FindLocation",
        "ListBreakpoints",
        "CreateBreakpoint",
        "ExamineMemory",
        "ListTargets",
        "FollowExec",
        "GetEvents",
        "Bogus",
    ];
    let fields = [
        "Id",
        "Depth",
        "Full",
        "Skip",
        "Start",
        "Count",
        "GoroutineID",
        "Frame",
        "DeferredCall",
        "Expr",
        "Filter",
        "Loc",
        "ThreadID",
        "Address",
        "Length",
        "GroupBy",
        "GroupByKey",
        "MaxGroupMembers",
        "MaxGroups",
        "Filters",
        "Scope",
        "Cfg",
        "EvalScope",
        "name",
        "goroutineID",
        "threadID",
        "APIVersion",
        "Kind",
        "Arg",
        "Negated",
        "IncludeFp",
        "IncludeFiles",
        "Enable",
    ];
    let consumer_id = s.capture().goroutines()[consumer(s)].id;
    let atoms = [
        json!(null),
        json!(-1),
        json!(0),
        json!(1),
        json!(2),
        json!(8),
        json!(consumer_id),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1.5),
        json!(""),
        json!("m"),
        json!("m.inChannel"),
        json!("*(*\"chan int\")(0x10)"),
        json!("main.(*Metrics).SetM"),
        json!("/(/"),
        json!("+3"),
        json!("*0x0"),
        json!("metrics.go:99999"),
        json!("switchGoroutine"),
        json!(true),
        json!([]),
        json!({}),
    ];
    // xorshift: reproducible.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut c = Client::connect(addr);
    for round in 0..300 {
        let mut arg = serde_json::Map::new();
        for _ in 0..next(6) {
            let v = match next(4) {
                0 => {
                    let mut inner = serde_json::Map::new();
                    for _ in 0..next(4) {
                        inner.insert(
                            fields[next(fields.len())].to_string(),
                            atoms[next(atoms.len())].clone(),
                        );
                    }
                    Value::Object(inner)
                }
                1 => json!([{"Kind": atoms[next(atoms.len())].clone(),
                             "Arg": atoms[next(atoms.len())].clone()}]),
                _ => atoms[next(atoms.len())].clone(),
            };
            arg.insert(fields[next(fields.len())].to_string(), v);
        }
        let method = methods[next(methods.len())];
        let reply = c.call(method, Value::Object(arg.clone()));
        assert!(
            reply["error"].is_string() != reply.get("result").is_some_and(|r| !r.is_null()),
            "round {round}: {method}({}) -> {reply}",
            Value::Object(arg)
        );
        if let Some(e) = reply["error"].as_str() {
            assert!(
                !e.contains("internal error"),
                "round {round}: {method}: {e}"
            );
        }
    }
    c.result("GetVersion", json!({}));
}

/// A client that never introduced itself (`echo ... | nc`) is closed once
/// answered and quiet for `idle_close`; a Delve client (`SetApiVersion`)
/// may stay quiet for as long as it likes.
#[test]
fn quiet_clients_are_closed_unless_they_are_delve_clients() {
    let addr = serve(
        shared(),
        ServerOptions {
            idle_close: Duration::from_millis(300),
            ..patient()
        },
    );
    let mut nc = Client::connect(addr);
    let mut delve = Client::connect(addr);
    delve.result("SetApiVersion", json!({"APIVersion": 2}));
    nc.result("GetVersion", json!({}));
    let start = Instant::now();
    assert!(
        nc.closed(),
        "a quiet client that never introduced itself stays open"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "closed after {waited:?}, before idle_close"
    );
    std::thread::sleep(Duration::from_millis(600));
    let v = delve.result("GetVersion", json!({}));
    assert_eq!(v["APIVersion"], 2, "{v}");
}
