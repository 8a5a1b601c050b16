//! Delve's `RPCServer` methods over a [`Session`]: one request in, one
//! reply out, with no I/O of its own beyond writing the reply.
//!
//! Replies follow Go's `net/rpc/jsonrpc` codec:
//! `{"id":ID,"result":RESULT,"error":null}` or
//! `{"id":ID,"result":null,"error":"MESSAGE"}`, one per line; `ID` is
//! echoed as the client sent it (`null` when it could not be read).

use std::io::{self, Write};

use crate::error::RequestError;
use crate::values::{LoadConfig, Scope, Variable};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::api::{
    ArgsOut, CommandOut, EvalOut, Event, EventsOut, FindLocationOut, FunctionsOut, MemoryOut,
    PackagesOut, RegistersOut, SourcesOut, StacktraceOut, StateOut, TargetOut, TargetsOut,
    ThreadOut, ThreadsOut, TypesOut, VariablesOut, base64,
};
use crate::args::Args;
use crate::filter::{Field, Filter};
use crate::session::{Listing, Query, Session};

/// Per-connection state.
#[derive(Debug, Default)]
pub struct Connection {
    /// The client called `SetApiVersion` (every Delve client does first):
    /// it is a debugger front end that may sit idle for long.
    pub handshaked: bool,
    /// The client detached: close after this reply.
    pub closing: bool,
    /// Requests answered.
    pub answered: u64,
}

/// Something that writes itself as JSON.
trait Reply {
    fn write_json(&self, w: &mut dyn Write) -> io::Result<()>;
}

impl<T: Serialize> Reply for T {
    fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(w, self).map_err(io::Error::other)
    }
}

type Outcome<'a> = Result<Box<dyn Reply + 'a>, RequestError>;

fn ok<'a, T: Serialize + 'a>(v: T) -> Outcome<'a> {
    Ok(Box::new(v))
}

/// Writes an error reply.
pub fn write_error(w: &mut dyn Write, id: &Value, msg: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &json!({"id": id, "result": null, "error": msg}))
        .map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// Handles one request (the bytes of one JSON value) and writes its reply.
pub fn handle(
    s: &Session,
    conn: &mut Connection,
    request: &[u8],
    w: &mut dyn Write,
) -> io::Result<()> {
    conn.answered += 1;
    let req: Value = match serde_json::from_slice(request) {
        Ok(v) => v,
        Err(e) => return write_error(w, &Value::Null, &format!("malformed request: {e}")),
    };
    let Value::Object(req) = req else {
        return write_error(
            w,
            &Value::Null,
            "malformed request: expected an object {\"method\":...,\"params\":[...],\"id\":...}",
        );
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return write_error(w, &id, "malformed request: no \"method\" string");
    };
    let name = method.strip_prefix("RPCServer.").unwrap_or(method);
    let params = req.get("params").unwrap_or(&Value::Null);
    // Go's codec unmarshals params into a one-element array; an object on
    // its own (JSON-RPC 2.0 style) is accepted too.
    let (arg, legacy) = match params {
        Value::Null => (&Value::Null, true),
        Value::Array(a) => match a.first() {
            None => (&Value::Null, true),
            Some(v) => (v, false),
        },
        other => (other, false),
    };
    // A bug (say in reading a corrupt value) answers an error instead of
    // ending the connection, as Delve does with its internal errors.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch(s, conn, name, arg, legacy)
    }))
    .unwrap_or_else(|p| Err(RequestError::Internal(internal_error(name, p.as_ref()))));
    match outcome {
        Ok(reply) => {
            w.write_all(b"{\"id\":")?;
            serde_json::to_writer(&mut *w, &id).map_err(io::Error::other)?;
            w.write_all(b",\"result\":")?;
            reply.write_json(w)?;
            w.write_all(b",\"error\":null}\n")
        }
        Err(e) => write_error(w, &id, &e.to_string()),
    }
}

/// The message of a caught panic.
pub fn internal_error(what: &str, payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error in gosleuth while answering {what}: {msg} (please report it)")
}

fn not_a_running_process(what: &str) -> RequestError {
    RequestError::Unsupported(format!(
        "{what}: gosleuth serves a snapshot (a core file or a frozen read of a live process), \
         which does not run"
    ))
}

fn unsupported(what: &str) -> Outcome<'static> {
    Err(RequestError::Unsupported(what.to_string()))
}

fn dispatch<'a>(
    s: &'a Session,
    conn: &mut Connection,
    name: &str,
    arg: &Value,
    legacy: bool,
) -> Outcome<'a> {
    let a = Args::from_value(arg, "In").map_err(|e| {
        RequestError::BadRequest(format!(
            "{e} (the arguments of RPCServer.{name} are an object)"
        ))
    })?;
    match name {
        "SetApiVersion" => {
            let v = a.i64("APIVersion")?;
            if v != 2 {
                return Err(RequestError::Unsupported(format!(
                    "unknown API version {v}: gosleuth speaks API v2"
                )));
            }
            conn.handshaked = true;
            ok(json!({}))
        }
        "GetVersion" => ok(s.version()),
        "IsMulticlient" => ok(json!({"IsMulticlient": false})),
        "State" => ok(StateOut { state: s.state() }),
        "Command" => command(s, &a),
        "ProcessPid" => ok(json!({"Pid": s.info().pid})),
        "LastModified" => ok(json!({"Time": last_modified(s)})),
        "BuildID" => ok(json!({"BuildID": s.info().build_id})),
        "Detach" => {
            // Never kills: the process was resumed when it was read.
            conn.closing = true;
            ok(json!({}))
        }
        "Recorded" => ok(json!({"Recorded": false, "TraceDirectory": ""})),
        "AttachedToExistingProcess" => ok(json!({"Answer": false})),
        "ListGoroutines" if legacy => {
            // Old Delve (API v1) answered a bare array; scripts written
            // for it send empty params.
            let listing = s.list(&Query::default());
            ok(LegacyGoroutines {
                s,
                ids: listing.goroutines,
            })
        }
        "ListGoroutines" => list_goroutines(s, &a),
        "Stacktrace" => stacktrace(s, &a),
        "Ancestors" => ok(json!({"Ancestors": []})),
        "ListThreads" => ok(ThreadsOut {
            threads: s.threads(),
        }),
        "GetThread" => {
            let id = a.i64("Id")?;
            let t = s
                .threads()
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| RequestError::Location(format!("no thread with id {id}")))?;
            ok(ThreadOut { thread: t })
        }
        "ListLocalVars" => {
            let scope = scope(s, &a.object("Scope", "EvalScope")?)?;
            let cfg = load_config(&a.object("Cfg", "LoadConfig")?)?;
            ok(VariablesOut {
                variables: s.locals(scope, &cfg)?,
            })
        }
        "ListFunctionArgs" => {
            let scope = scope(s, &a.object("Scope", "EvalScope")?)?;
            let cfg = load_config(&a.object("Cfg", "LoadConfig")?)?;
            ok(ArgsOut {
                args: s.args(scope, &cfg)?,
            })
        }
        "Eval" => {
            let scope = scope(s, &a.object("Scope", "EvalScope")?)?;
            let cfg = match a.optional_object("Cfg", "LoadConfig")? {
                Some(c) => load_config(&c)?,
                None => LoadConfig::default(),
            };
            let expr = a.string("Expr")?;
            ok(EvalOut {
                variable: s.eval(scope, expr, &cfg)?,
            })
        }
        "Set" => unsupported("cannot change variables: the target is a snapshot"),
        "ListSources" => ok(SourcesOut {
            sources: s.sources(a.string("Filter")?)?,
        }),
        "ListFunctions" => ok(FunctionsOut {
            funcs: s.functions(a.string("Filter")?)?,
        }),
        "ListTypes" => ok(TypesOut {
            types: s.types(a.string("Filter")?)?,
        }),
        "ListPackageVars" => {
            let cfg = load_config(&a.object("Cfg", "LoadConfig")?)?;
            ok(VariablesOut {
                variables: s.package_vars(a.string("Filter")?, &cfg)?,
            })
        }
        "ListPackagesBuildInfo" => ok(PackagesOut {
            list: s.packages(a.string("Filter")?, a.bool("IncludeFiles")?)?,
        }),
        "ListRegisters" => {
            let all = a.bool("IncludeFp")?;
            let regs = match a.optional_object("Scope", "EvalScope")? {
                Some(sc) => s.scope_registers(scope(s, &sc)?, all)?,
                None => s.thread_registers(a.i64("ThreadID")?, all)?,
            };
            let width = regs.iter().map(|r| r.name.len()).max().unwrap_or(0);
            let text: String = regs
                .iter()
                .map(|r| format!("{:>width$} = {}\n", r.name, r.value))
                .collect();
            ok(RegistersOut {
                registers: text,
                regs,
            })
        }
        "FindLocation" => {
            let sc = a.object("Scope", "EvalScope")?;
            let scope = scope(s, &sc).ok();
            let locations = s.find_location(
                scope,
                a.string("Loc")?,
                a.bool("IncludeNonExecutableLines")?,
            )?;
            ok(FindLocationOut {
                locations,
                substitute_loc_expr: String::new(),
            })
        }
        "ListBreakpoints" => ok(json!({"Breakpoints": []})),
        "GetBreakpoint" => Err(RequestError::Unsupported(format!(
            "no breakpoint with id {}: a snapshot has no breakpoints",
            a.i64("Id")?
        ))),
        "CreateBreakpoint"
        | "CreateWatchpoint"
        | "CreateEBPFTracepoint"
        | "ClearBreakpoint"
        | "ToggleBreakpoint"
        | "AmendBreakpoint" => Err(not_a_running_process("cannot set breakpoints")),
        "CancelNext" => ok(json!({})),
        "GetBufferedTracepoints" => ok(json!({"TracepointResults": []})),
        "Disassemble" => unsupported("disassembly is not supported by gosleuth"),
        "Restart" | "StopRecording" | "Checkpoint" | "ClearCheckpoint" | "ListCheckpoints"
        | "SetExecutionPoint" => Err(not_a_running_process(&format!("cannot {name}"))),
        "FunctionReturnLocations" => unsupported("function return locations are not supported"),
        "ListDynamicLibraries" => ok(json!({"List": [], "ExecutableTrimpath": false})),
        "ExamineMemory" => {
            let mem = s.examine_memory(a.u64("Address")?, a.i64("Length")?)?;
            ok(MemoryOut {
                mem: base64(&mem),
                is_little_endian: true,
            })
        }
        "DumpStart" | "DumpWait" | "DumpCancel" => unsupported(
            "cannot write a core from here: use `gosleuth dump PID` on the live process",
        ),
        "ListTargets" => ok(TargetsOut {
            targets: vec![TargetOut {
                pid: s.info().pid,
                cmd_line: s.info().command_line.clone(),
                current_thread: s.current_thread(),
            }],
        }),
        "FollowExec" if a.bool("Enable")? => Err(not_a_running_process("cannot follow exec")),
        "FollowExec" => ok(json!({})),
        "FollowExecEnabled" => ok(json!({"Enabled": false})),
        "DebugInfoDirectories" => ok(json!({"List": []})),
        "GuessSubstitutePath" => ok(json!({"List": null})),
        "GetEvents" => ok(EventsOut {
            // api.EventStopped: the target never runs.
            events: vec![Event { kind: 1 }],
        }),
        "CancelDownloads" | "DownloadLibraryDebugInfo" => ok(json!({})),
        "TypeInfo" => unsupported("type information is not supported by gosleuth"),
        _ => Err(RequestError::Unsupported(format!(
            "unknown method: RPCServer.{name}"
        ))),
    }
}

fn command<'a>(s: &'a Session, a: &Args<'_>) -> Outcome<'a> {
    let name = a.string("name")?;
    match name {
        "switchGoroutine" => s.switch_goroutine(a.i64("goroutineID")?)?,
        "switchThread" => s.switch_thread(a.i64("threadID")?)?,
        "halt" => {}
        other => return Err(not_a_running_process(&format!("cannot {other}"))),
    }
    ok(CommandOut { state: s.state() })
}

/// `api.EvalScope` to a validated [`Scope`].
fn scope(s: &Session, a: &Args<'_>) -> Result<Scope, RequestError> {
    s.scope(
        a.i64("GoroutineID")?,
        a.int("Frame")?,
        a.int("DeferredCall")?,
    )
}

/// `api.LoadConfig`, bounded so that no request can ask for unbounded
/// work.
fn load_config(a: &Args<'_>) -> Result<LoadConfig, RequestError> {
    let bound = |n: i64, max: u32| u32::try_from(n.clamp(0, i64::from(max))).unwrap_or(max);
    let fields = a.int("MaxStructFields")?;
    Ok(LoadConfig {
        follow_pointers: a.bool("FollowPointers")?,
        max_variable_recurse: bound(a.int("MaxVariableRecurse")?, 16),
        max_string_len: bound(a.int("MaxStringLen")?, 1 << 20),
        max_array_values: bound(a.int("MaxArrayValues")?, 100_000),
        max_struct_fields: if fields < 0 {
            -1
        } else {
            i32::try_from(fields.min(100_000)).unwrap_or(100_000)
        },
    })
}

fn list_goroutines<'a>(s: &'a Session, a: &Args<'_>) -> Outcome<'a> {
    let start = a.int("Start")?.max(0) as usize;
    let count = a.int("Count")?.max(0) as usize;
    let mut filters = Vec::new();
    let mut only = None;
    for f in a.array("Filters", "[]api.ListGoroutinesFilter")? {
        let f = Args::from_value(f, "ListGoroutinesFilter")?;
        let kind = f.u64("Kind")?;
        let field = Field::from_delve(kind)
            .ok_or_else(|| RequestError::BadRequest(format!("unknown filter kind {kind}")))?;
        if field == Field::WaitingOnChannel {
            // What `print CHANNEL` asks for: the goroutines queued on it.
            if f.bool("Negated")? {
                return Err(RequestError::BadRequest(
                    "channel filter can not be negated".into(),
                ));
            }
            let scope = match a.optional_object("EvalScope", "EvalScope")? {
                Some(sc) => Some(scope(s, &sc)?),
                None => None,
            };
            only = Some(s.channel_waiters(scope, f.string("Arg")?)?);
            continue;
        }
        filters.push(Filter::delve(field, f.bool("Negated")?, f.string("Arg")?));
    }
    let group = a.u64("GroupBy")?;
    let group_by = Field::from_delve(group)
        .ok_or_else(|| RequestError::BadRequest(format!("unknown GroupBy {group}")))?;
    let q = Query {
        start,
        count,
        filters,
        only,
        group_by: Some(group_by),
        group_key: a.string("GroupByKey")?.to_string(),
        max_group_members: a.int("MaxGroupMembers")?.max(0) as usize,
        max_groups: a.int("MaxGroups")?.max(0) as usize,
    };
    let listing = s.list(&q);
    ok(GoroutinesOut { s, listing })
}

fn stacktrace<'a>(s: &'a Session, a: &Args<'_>) -> Outcome<'a> {
    let gi = s.goroutine_index(a.i64("Id")?)?;
    let depth = a.int("Depth")?.max(0) as usize;
    let skip = a.int("Skip")?.max(0) as usize;
    let full = a.bool("Full")?;
    let cfg = match a.optional_object("Cfg", "LoadConfig")? {
        Some(c) => Some(load_config(&c)?),
        None if full => Some(LoadConfig::default()),
        None => None,
    };
    let mut locations = s.stacktrace(gi, depth, skip);
    if let Some(cfg) = cfg {
        for (k, f) in locations.iter_mut().enumerate() {
            let scope = Scope {
                goroutine: gi,
                frame: skip + k,
            };
            f.arguments = Some(or_unreadable(s.args(scope, &cfg), "(args)"));
            f.locals = Some(or_unreadable(s.locals(scope, &cfg), "(locals)"));
        }
    }
    ok(StacktraceOut { locations })
}

/// Variables, or one placeholder saying why they could not be read (so a
/// frame's failure does not fail the whole stack, as it would in Delve).
fn or_unreadable(r: Result<Vec<Variable>, RequestError>, name: &str) -> Vec<Variable> {
    r.unwrap_or_else(|e| {
        vec![Variable {
            name: name.into(),
            unreadable: e.to_string(),
            ..Variable::default()
        }]
    })
}

/// The binary's modification time in RFC 3339, as Go encodes a
/// `time.Time`.
fn last_modified(s: &Session) -> String {
    let t = std::fs::metadata(&s.info().binary)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    rfc3339(t)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    crate::api::variable::rfc3339(secs).unwrap_or_else(|| format!("{secs}s after 1970"))
}

/// Goroutines serialized one at a time, as the reply is written.
struct GoroutineSeq<'a, 'b> {
    s: &'a Session,
    ids: &'b [usize],
}

impl Serialize for GoroutineSeq<'_, '_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.ids.len()))?;
        for &i in self.ids {
            seq.serialize_element(&self.s.goroutine(i))?;
        }
        seq.end()
    }
}

/// The bare array of goroutines of Delve's API v1.
struct LegacyGoroutines<'a> {
    s: &'a Session,
    ids: Vec<usize>,
}

impl Serialize for LegacyGoroutines<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        GoroutineSeq {
            s: self.s,
            ids: &self.ids,
        }
        .serialize(ser)
    }
}

/// `rpc2.ListGoroutinesOut`, goroutines streamed.
struct GoroutinesOut<'a> {
    s: &'a Session,
    listing: Listing,
}

impl Serialize for GoroutinesOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut st = ser.serialize_struct("ListGoroutinesOut", 4)?;
        st.serialize_field(
            "Goroutines",
            &GoroutineSeq {
                s: self.s,
                ids: &self.listing.goroutines,
            },
        )?;
        st.serialize_field("Nextg", &self.listing.nextg)?;
        st.serialize_field("Groups", &self.listing.groups)?;
        st.serialize_field("TooManyGroups", &self.listing.too_many_groups)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
