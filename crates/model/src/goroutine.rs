//! The goroutine model: what every evidence source (text dump, core file,
//! live process) produces, and what every analysis consumes.

use serde::Serialize;

/// One stack frame, innermost first in [`Goroutine::frames`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    /// Fully qualified function name as Go prints it, e.g. `main.(*Metrics).CountS`.
    /// `runtime.gopanic` is normalised to `panic` the way tracebacks print it.
    pub function: String,
    /// Argument text as printed (`0xc000012345, 0x5`, `{0x4a, 0x1}`, `...`);
    /// empty when the source has none.
    pub args: String,
    pub file: String,
    pub line: u32,
    /// Offset from the function entry (`+0x1f`), when known.
    pub offset: Option<u64>,
    /// Absolute program counter, when known.
    pub pc: Option<u64>,
    /// True when the compiler inlined this call into its caller.
    pub inlined: bool,
}

impl Frame {
    /// The package path of the function: everything before the first `.`
    /// that follows the last `/`.
    pub fn package(&self) -> &str {
        package_of(&self.function)
    }

    /// True for frames of the Go runtime and its internal helpers, which
    /// users rarely care about when looking for a root cause.
    pub fn is_runtime(&self) -> bool {
        is_runtime_function(&self.function)
    }

    /// `file:line`
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The package path of a Go function name.
pub fn package_of(function: &str) -> &str {
    let last_slash = function.rfind('/').map_or(0, |i| i + 1);
    match function[last_slash..].find('.') {
        Some(dot) => &function[..last_slash + dot],
        None => function,
    }
}

/// True for the runtime and the standard-library internals that sit under
/// user code in every stack (`runtime`, `internal/...`, `runtime/internal/...`).
pub fn is_runtime_function(function: &str) -> bool {
    let pkg = package_of(function);
    pkg == "runtime"
        || pkg == "panic"
        || function == "panic"
        || pkg.starts_with("runtime/")
        || pkg.starts_with("internal/")
}

/// Scheduler state of a goroutine, normalised across sources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Runnable,
    Syscall,
    Waiting,
    Idle,
    Dead,
    #[default]
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Runnable => "runnable",
            Status::Syscall => "syscall",
            Status::Waiting => "waiting",
            Status::Idle => "idle",
            Status::Dead => "dead",
            Status::Unknown => "unknown",
        }
    }
}

/// A goroutine, from any evidence source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Goroutine {
    pub id: u64,
    pub status: Status,
    /// The state text as the runtime names it: a wait reason such as
    /// `chan receive`, `sync.Mutex.Lock`, `IO wait`, or a base status such
    /// as `running`.
    pub state: String,
    /// Minutes blocked, as the runtime reports it (`, 12 minutes`).
    pub wait_minutes: Option<u64>,
    /// Locked to an OS thread (`runtime.LockOSThread` or cgo).
    pub locked: bool,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// Number of frames the runtime left out of the printed stack.
    pub elided_frames: Option<u64>,
    /// The stack could not be printed (`goroutine running on other thread`).
    pub stack_unavailable: bool,
    /// The `go` statement that created this goroutine.
    pub created_by: Option<Frame>,
    /// The goroutine that ran that `go` statement (Go 1.21+).
    pub parent_id: Option<u64>,
    /// pprof labels, in source order.
    pub labels: Vec<(String, String)>,
    /// Number of goroutines this record stands for (pprof debug=1 records
    /// aggregate many goroutines with one stack; 1 otherwise).
    pub count: u64,
    /// Extra header fields such as `gp=0x..`, `m=3`, kept verbatim.
    pub extra: Vec<(String, String)>,
    /// Ancestor stacks printed with GODEBUG=tracebackancestors.
    pub ancestors: Vec<Ancestor>,
    /// Memory sources: the function the goroutine started in (`g.startpc`,
    /// Delve's `startLoc`); text sources leave it empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Frame>,
    /// Memory sources: the OS thread the goroutine runs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u64>,
    /// Memory sources: nanoseconds blocked, estimated against the capture
    /// time (see [`SnapshotMeta::now_estimate`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_nanos: Option<u64>,
    /// Memory sources: addresses of the channels and semaphores the
    /// goroutine is queued on; each is described in [`Snapshot::objects`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<u64>,
}

/// A stack of an ancestor goroutine (`[originating from goroutine N]:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ancestor {
    pub id: u64,
    pub frames: Vec<Frame>,
    pub created_by: Option<Frame>,
}

impl Goroutine {
    /// The innermost frame that is not runtime-internal: where the user's
    /// code is (Delve's `userCurrentLoc`).
    pub fn user_frame(&self) -> Option<&Frame> {
        self.frames.iter().find(|f| !f.is_runtime())
    }

    /// The innermost frame (Delve's `currentLoc`).
    pub fn current_frame(&self) -> Option<&Frame> {
        self.frames.first()
    }

    /// The outermost frame that is not `runtime.goexit` (Delve's `startLoc`).
    pub fn start_frame(&self) -> Option<&Frame> {
        self.frames
            .iter()
            .rev()
            .find(|f| f.function != "runtime.goexit")
    }

    /// True when every frame is runtime-internal: GC workers, the
    /// finalizer, signal handling and so on.
    pub fn is_runtime_only(&self) -> bool {
        !self.frames.is_empty() && self.frames.iter().all(Frame::is_runtime)
    }
}

/// An OS thread of the process, when the source knows threads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thread {
    pub id: u64,
    pub goroutine: Option<u64>,
    pub pc: u64,
    pub sp: u64,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SnapshotMeta {
    /// A human description of the source: a file name, `pid 1234`.
    pub source: String,
    pub go_version: Option<String>,
    /// How "now" was determined for wait durations (memory sources): for a
    /// live process the monotonic clock at capture, for a core the newest
    /// runtime timestamp found in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now_estimate: Option<String>,
    /// Problems met while reading that did not stop the read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// All goroutines of one process at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub meta: SnapshotMeta,
    pub goroutines: Vec<Goroutine>,
    pub threads: Vec<Thread>,
    /// Memory sources: the channels and semaphores goroutines wait on,
    /// sorted by address. Empty for text sources.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<WaitObject>,
}

/// What kind of object goroutines wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitObjectKind {
    /// A channel (`runtime.hchan`).
    Channel,
    /// A runtime semaphore: `sync.Mutex`, `RWMutex`, `WaitGroup`, `Cond`...
    Semaphore,
}

/// State of a channel read from memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelState {
    /// Element type name, when the type can be named.
    pub elem_type: Option<String>,
    /// Buffered elements (`qcount`).
    pub len: u64,
    /// Buffer size (`dataqsiz`).
    pub cap: u64,
    pub closed: bool,
}

/// A goroutine frame whose stack memory points at an object, directly or
/// through one pointer (a struct that holds the channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackRef {
    pub goroutine: u64,
    /// Index into the goroutine's frames.
    pub frame: usize,
    /// True when the stack holds a pointer to a struct that holds the object.
    pub indirect: bool,
    /// True when the frame's function contains a channel receive
    /// (`<-c`, `range c`, `select`): it can drain channels. Alone this is
    /// an inference: a word on a stack that equals an object's address may
    /// be a stale copy (see [`StackRef::held_in`]).
    pub receives: bool,
    /// For a frame that receives: the variable of the frame that holds the
    /// channel at the frame's pc, from DWARF (a channel variable `ch`, or
    /// the field of a struct a variable points at, `m.inChannel`). `None`
    /// when no live variable holds it (optimized away, a spill slot, a
    /// stale word).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_in: Option<String>,
    /// With `held_in`: the function (or a call inlined into it) also has a
    /// variable of the channel's element type, where a receive from this
    /// channel puts the value (`for v := range ch`, `v := <-ch`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub elem_var: bool,
}

impl StackRef {
    /// The frame is proved to receive from the channel, from DWARF: its
    /// function receives from channels, a live variable holds this one,
    /// and it has a variable of the element type for what it receives.
    /// Anything less makes the goroutine a candidate.
    pub fn proves_receiver(&self) -> bool {
        self.receives && self.held_in.is_some() && self.elem_var
    }
}

/// A channel or semaphore that goroutines wait on (the wait graph).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitObject {
    /// Address of the `hchan`, or of the semaphore word.
    pub addr: u64,
    pub kind: WaitObjectKind,
    /// Channel state; `None` for semaphores.
    pub channel: Option<ChannelState>,
    /// Goroutines queued to send (channels).
    pub senders: Vec<u64>,
    /// Goroutines queued to receive (channels) or to acquire (semaphores).
    pub receivers: Vec<u64>,
    /// Frames of goroutines whose stacks point at the object.
    pub referenced_by: Vec<StackRef>,
    /// What names the object, when DWARF can say (`(*main.Metrics).inChannel`).
    pub owner: Option<String>,
}

impl Snapshot {
    /// The wait object at `addr`.
    pub fn object(&self, addr: u64) -> Option<&WaitObject> {
        self.objects
            .binary_search_by_key(&addr, |o| o.addr)
            .ok()
            .map(|i| &self.objects[i])
    }
}

impl Snapshot {
    /// Total goroutines, counting aggregated records by their count.
    pub fn total(&self) -> u64 {
        self.goroutines.iter().map(|g| g.count.max(1)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_of_handles_paths_and_methods() {
        assert_eq!(package_of("main.(*Metrics).CountS"), "main");
        assert_eq!(package_of("net/http.(*conn).serve"), "net/http");
        assert_eq!(
            package_of("github.com/a/b.v2/c.Func.func1"),
            "github.com/a/b.v2/c"
        );
        assert_eq!(package_of("runtime.gopark"), "runtime");
        assert_eq!(package_of("panic"), "panic");
    }

    #[test]
    fn runtime_functions_are_recognised() {
        assert!(is_runtime_function("runtime.gopark"));
        assert!(is_runtime_function("internal/poll.runtime_pollWait"));
        assert!(is_runtime_function("panic"));
        assert!(!is_runtime_function("main.main"));
        assert!(!is_runtime_function("net/http.(*conn).serve"));
        assert!(!is_runtime_function("sync.(*Mutex).Lock"));
    }
}
