//! Delve's wire types, the one place of that contract: the JSON shapes of
//! `service/rpc2` replies (here), the `service/api` types of goroutines,
//! locations, stack frames, threads and registers ([`goroutine`](mod@goroutine)) and of
//! variables ([`variable`]), made from what the runtime read, and Delve's
//! printer of variables ([`format`](mod@format)).
//!
//! rpc2's `...In`/`...Out` structs carry no JSON tags, so their fields go
//! over the wire under their Go names (`Goroutines`, `Nextg`); the `api`
//! types keep their own tags (`currentThread`, `exited`).

pub mod format;
pub mod goroutine;
pub mod variable;

use serde::Serialize;

pub use goroutine::{
    Function, Goroutine, Location, Register, Stackframe, Thread, goroutine, location, pc_location,
    registers, stackframe, thread,
};
pub use variable::{Variable, flags, kind};

/// `api.DebuggerState`.
#[derive(Debug, Clone, Serialize)]
pub struct DebuggerState {
    #[serde(rename = "Pid")]
    pub pid: i64,
    #[serde(rename = "TargetCommandLine")]
    pub target_command_line: String,
    #[serde(rename = "Running")]
    pub running: bool,
    #[serde(rename = "Recording")]
    pub recording: bool,
    #[serde(rename = "CoreDumping")]
    pub core_dumping: bool,
    #[serde(rename = "currentThread", skip_serializing_if = "Option::is_none")]
    pub current_thread: Option<Thread>,
    #[serde(rename = "currentGoroutine", skip_serializing_if = "Option::is_none")]
    pub current_goroutine: Option<Goroutine>,
    #[serde(rename = "Threads")]
    pub threads: Vec<Thread>,
    #[serde(rename = "NextInProgress")]
    pub next_in_progress: bool,
    #[serde(rename = "WatchOutOfScope")]
    pub watch_out_of_scope: Option<Vec<()>>,
    pub exited: bool,
    #[serde(rename = "exitStatus")]
    pub exit_status: i64,
    #[serde(rename = "When")]
    pub when: String,
}

/// `rpc2.StateOut`.
#[derive(Debug, Serialize)]
pub struct StateOut {
    #[serde(rename = "State")]
    pub state: DebuggerState,
}

/// `rpc2.CommandOut`.
#[derive(Debug, Serialize)]
pub struct CommandOut {
    #[serde(rename = "State")]
    pub state: DebuggerState,
}

/// `api.GetVersionOut`.
#[derive(Debug, Serialize)]
#[allow(non_snake_case)]
pub struct GetVersionOut {
    pub DelveVersion: String,
    pub APIVersion: i64,
    pub Backend: String,
    pub TargetGoVersion: String,
    pub MinSupportedVersionOfGo: String,
    pub MaxSupportedVersionOfGo: String,
}

/// `api.GoroutineGroup`.
#[derive(Debug, Clone, Serialize)]
pub struct GoroutineGroup {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Offset")]
    pub offset: usize,
    #[serde(rename = "Count")]
    pub count: usize,
    #[serde(rename = "Total")]
    pub total: usize,
}

/// `rpc2.StacktraceOut`.
#[derive(Debug, Serialize)]
pub struct StacktraceOut {
    #[serde(rename = "Locations")]
    pub locations: Vec<Stackframe>,
}

/// `rpc2.ListLocalVarsOut` and `rpc2.ListPackageVarsOut`.
#[derive(Debug, Serialize)]
pub struct VariablesOut {
    #[serde(rename = "Variables")]
    pub variables: Vec<Variable>,
}

/// `rpc2.ListFunctionArgsOut`.
#[derive(Debug, Serialize)]
pub struct ArgsOut {
    #[serde(rename = "Args")]
    pub args: Vec<Variable>,
}

/// `rpc2.EvalOut`.
#[derive(Debug, Serialize)]
pub struct EvalOut {
    #[serde(rename = "Variable")]
    pub variable: Variable,
}

/// `rpc2.ListThreadsOut`.
#[derive(Debug, Serialize)]
pub struct ThreadsOut {
    #[serde(rename = "Threads")]
    pub threads: Vec<Thread>,
}

/// `rpc2.GetThreadOut`.
#[derive(Debug, Serialize)]
pub struct ThreadOut {
    #[serde(rename = "Thread")]
    pub thread: Thread,
}

/// `rpc2.ListSourcesOut`.
#[derive(Debug, Serialize)]
pub struct SourcesOut {
    #[serde(rename = "Sources")]
    pub sources: Vec<String>,
}

/// `rpc2.ListFunctionsOut`.
#[derive(Debug, Serialize)]
pub struct FunctionsOut {
    #[serde(rename = "Funcs")]
    pub funcs: Vec<String>,
}

/// `rpc2.ListTypesOut`.
#[derive(Debug, Serialize)]
pub struct TypesOut {
    #[serde(rename = "Types")]
    pub types: Vec<String>,
}

/// `rpc2.FindLocationOut`.
#[derive(Debug, Serialize)]
pub struct FindLocationOut {
    #[serde(rename = "Locations")]
    pub locations: Vec<Location>,
    #[serde(rename = "SubstituteLocExpr")]
    pub substitute_loc_expr: String,
}

/// `rpc2.ListRegistersOut`.
#[derive(Debug, Serialize)]
pub struct RegistersOut {
    /// The registers as `dlv regs` prints them.
    #[serde(rename = "Registers")]
    pub registers: String,
    #[serde(rename = "Regs")]
    pub regs: Vec<Register>,
}

/// `api.Event` (only `EventStopped` is ever sent: a snapshot does not run).
#[derive(Debug, Serialize)]
pub struct Event {
    #[serde(rename = "Kind")]
    pub kind: u8,
}

/// `rpc2.GetEventsOut`.
#[derive(Debug, Serialize)]
pub struct EventsOut {
    #[serde(rename = "Events")]
    pub events: Vec<Event>,
}

/// `api.Target`.
#[derive(Debug, Serialize)]
pub struct TargetOut {
    #[serde(rename = "Pid")]
    pub pid: i64,
    #[serde(rename = "CmdLine")]
    pub cmd_line: String,
    #[serde(rename = "CurrentThread")]
    pub current_thread: Option<Thread>,
}

/// `rpc2.ListTargetsOut`.
#[derive(Debug, Serialize)]
pub struct TargetsOut {
    #[serde(rename = "Targets")]
    pub targets: Vec<TargetOut>,
}

/// `api.PackageBuildInfo`.
#[derive(Debug, Serialize)]
pub struct PackageBuildInfo {
    #[serde(rename = "ImportPath")]
    pub import_path: String,
    #[serde(rename = "DirectoryPath")]
    pub directory_path: String,
    #[serde(rename = "Files")]
    pub files: Option<Vec<String>>,
}

/// `rpc2.ListPackagesBuildInfoOut`.
#[derive(Debug, Serialize)]
pub struct PackagesOut {
    #[serde(rename = "List")]
    pub list: Vec<PackageBuildInfo>,
}

/// `rpc2.ExaminedMemoryOut` (`Mem` is a `[]byte`, which Go encodes in
/// base64).
#[derive(Debug, Serialize)]
pub struct MemoryOut {
    #[serde(rename = "Mem")]
    pub mem: String,
    #[serde(rename = "IsLittleEndian")]
    pub is_little_endian: bool,
}

/// Go's standard base64 encoding (with padding), as `encoding/json` writes
/// a `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sym = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sym(18));
        out.push(sym(12));
        out.push(if chunk.len() > 1 { sym(6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_go() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
    }
}
