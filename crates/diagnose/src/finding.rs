//! What a rule reports: a [`Finding`] with a plain-language explanation and
//! structured [`Evidence`].

use gosleuth_model::{Frame, WaitObject, WaitObjectKind};
use serde::Serialize;

/// How bad a finding is. Orders most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The service is stuck or crashing: act now. `gosleuth diagnose`
    /// exits 1 when it reports one.
    Critical,
    /// Likely a problem, or a problem on its way.
    Warning,
    /// Worth knowing; often normal.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// How sure the rule is, given the evidence it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Read from the process's memory (queues, channel state) or printed by
    /// the runtime itself.
    High,
    /// Inferred: holders of a lock from stack references, consumers of a
    /// channel from the functions that receive.
    Medium,
    /// A pattern in a text dump that often means the problem.
    Low,
}

/// The rule that produced a finding: a stable identifier (`snake_case` in
/// JSON) scripts can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A goroutine blocked sending on a full channel that only it drains.
    SelfDeadlock,
    /// Goroutines each holding a lock another one waits for.
    LockOrderDeadlock,
    /// The runtime found (or the snapshot shows) every goroutine blocked.
    AllAsleep,
    /// A panic is unwinding or killed the program.
    Panic,
    /// The runtime stopped the program with `fatal error:`.
    FatalError,
    /// A signal killed the program without a Go panic.
    FatalSignal,
    /// Many goroutines blocked at one place.
    PileUp,
    /// Goroutines that grew between two snapshots and are blocked.
    GoroutineLeak,
    /// Goroutines blocked for many minutes reading from the network.
    LongNetworkRead,
    /// An unusually large number of goroutines.
    RunawayGoroutines,
    /// (Execution trace) A stop of the world long enough to stall
    /// requests.
    LongStopTheWorld,
    /// (Execution trace) One call site takes most of the time goroutines
    /// spend blocked on locks.
    ContendedLock,
    /// (Execution trace) Runnable goroutines waited long for a P.
    SchedulingLatency,
    /// (Execution trace) The GC took a large share of the Ps (low
    /// mutator utilisation): before the assists, which are part of it.
    GcPressure,
    /// (Execution trace) Goroutines spent a large share of the CPU
    /// assisting the GC.
    GcAssist,
    /// (Execution trace) Many more goroutines runnable at once than Ps.
    RunnablePileUp,
    /// (Execution trace) Goroutines blocked on channels, selects or locks
    /// for nearly the whole trace.
    BlockedThroughout,
}

impl Kind {
    /// The stable identifier (`self_deadlock`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SelfDeadlock => "self_deadlock",
            Kind::LockOrderDeadlock => "lock_order_deadlock",
            Kind::AllAsleep => "all_asleep",
            Kind::Panic => "panic",
            Kind::FatalError => "fatal_error",
            Kind::FatalSignal => "fatal_signal",
            Kind::PileUp => "pile_up",
            Kind::GoroutineLeak => "goroutine_leak",
            Kind::LongNetworkRead => "long_network_read",
            Kind::RunawayGoroutines => "runaway_goroutines",
            Kind::LongStopTheWorld => "long_stop_the_world",
            Kind::ContendedLock => "contended_lock",
            Kind::SchedulingLatency => "scheduling_latency",
            Kind::GcAssist => "gc_assist",
            Kind::GcPressure => "gc_pressure",
            Kind::RunnablePileUp => "runnable_pile_up",
            Kind::BlockedThroughout => "blocked_throughout",
        }
    }

    /// Order among findings of equal severity: causes before symptoms
    /// (a self-deadlock explains the pile-up behind it, so it comes first).
    pub(crate) fn rank(self) -> u8 {
        self as u8
    }
}

/// One diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub confidence: Confidence,
    /// One line naming the problem.
    pub title: String,
    /// What happened, in plain words, with the numbers that show it, and
    /// what to do about it.
    pub explanation: String,
    pub evidence: Evidence,
}

/// The facts behind a finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Goroutines the finding is about (aggregated records count their
    /// goroutines).
    pub count: u64,
    /// Their ids, the first ones seen (at most [`crate::Options::max_ids`]).
    pub goroutines: Vec<u64>,
    /// The frames that matter, each with its role.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<FrameEvidence>,
    /// Places where goroutines are blocked, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<Site>,
    /// Channels and semaphores involved (memory sources).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectEvidence>,
    /// A wait cycle, one step per goroutine.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleStep>,
    /// Goroutine counts in the earlier and the later snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth: Option<Growth>,
    /// The longest wait among the goroutines, in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes: Option<u64>,
    /// The panic value or fatal error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Goroutines that may be connected to the problem, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

/// What a frame shows in a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameRole {
    /// Where the goroutine is blocked (innermost application frame).
    BlockedAt,
    /// A frame proved to receive from the channel: its function receives
    /// from channels and a live variable of it holds this one (DWARF).
    DrainsAt,
    /// A frame that may receive from the channel (inferred: its function
    /// receives from channels and its stack holds the channel's address,
    /// or, in a text dump, from the shape of the stacks).
    MayDrainAt,
    /// Where the goroutine started.
    StartedAt,
    /// The `go` statement that created it.
    CreatedAt,
    /// A frame that has a lock on its stack: where it is probably held.
    HoldsAt,
    /// Where a panic or fatal error was raised (the root cause).
    RaisedAt,
    /// The first application frame that called the root-cause frame.
    CalledFrom,
}

/// A frame, with the goroutine it belongs to and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameEvidence {
    pub role: FrameRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
    pub function: String,
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inlined: bool,
}

impl FrameEvidence {
    pub(crate) fn new(role: FrameRole, goroutine: Option<u64>, f: &Frame) -> FrameEvidence {
        FrameEvidence {
            role,
            goroutine,
            function: f.function.clone(),
            file: f.file.clone(),
            line: f.line,
            inlined: f.inlined,
        }
    }
}

/// Goroutines blocked at one place: one state, one application frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// The wait reason (`chan send`, `sync.Mutex.Lock`, `IO wait`).
    pub state: String,
    pub function: String,
    pub file: String,
    pub line: u32,
    pub count: u64,
    /// The first ids seen.
    pub goroutines: Vec<u64>,
    /// The function of the `go` statement that created the first one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// A channel or semaphore in a finding (memory sources).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectEvidence {
    pub addr: u64,
    pub kind: WaitObjectKind,
    /// What names it, e.g. `(*main.Metrics).inChannel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elem_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// Goroutines queued to send (channels).
    pub senders: u64,
    /// Goroutines queued to receive (channels) or to acquire (semaphores).
    pub receivers: u64,
    /// Goroutines proved to receive from the channel: queued to receive
    /// on it, or holding it in a live variable (DWARF) of a frame whose
    /// function receives from channels. The first ones, at most
    /// [`crate::Options::max_ids`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drainers: Vec<u64>,
    /// Goroutines that may receive from the channel (inferred): a frame of
    /// a function that receives from channels has the channel's address
    /// on its stack, and no variable proves it holds the channel. The
    /// first ones, at most [`crate::Options::max_ids`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidate_drainers: Vec<u64>,
    /// Goroutines with the object on their stack that do not wait for it:
    /// for a lock, the probable holders (inferred: nothing records who
    /// holds a lock).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<u64>,
}

impl ObjectEvidence {
    pub(crate) fn of(o: &WaitObject) -> ObjectEvidence {
        let ch = o.channel.as_ref();
        ObjectEvidence {
            addr: o.addr,
            kind: o.kind,
            owner: o.owner.clone(),
            elem_type: ch.and_then(|c| c.elem_type.clone()),
            len: ch.map(|c| c.len),
            cap: ch.map(|c| c.cap),
            closed: ch.is_some_and(|c| c.closed),
            senders: o.senders.len() as u64,
            receivers: o.receivers.len() as u64,
            drainers: Vec::new(),
            candidate_drainers: Vec::new(),
            holders: Vec::new(),
        }
    }
}

/// One goroutine of a wait cycle: it waits for `lock`, which `held_by`
/// probably holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleStep {
    pub goroutine: u64,
    /// Where it is blocked acquiring the lock.
    pub blocked_at: FrameEvidence,
    /// The lock's address (the semaphore, or the mutex printed in a text
    /// dump).
    pub lock: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_owner: Option<String>,
    /// The goroutine that probably holds the lock.
    pub held_by: u64,
    /// The holder's frame that has the lock on its stack (or among its
    /// arguments, in a text dump).
    pub holder_frame: FrameEvidence,
}

/// Goroutine counts of a group in two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Growth {
    pub before: u64,
    pub after: u64,
}

/// A goroutine that may be connected to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub goroutine: u64,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<FrameEvidence>,
    /// Why it is listed.
    pub why: String,
}
