//! The events of the trace format of Go 1.22 and later, as the wire
//! carries them: each event's type byte, its name, its arguments (unsigned
//! varints) and whether a stack or a data trailer follows. One table for
//! every release; a release knows a prefix of it (Go 1.22 up to
//! `UserLog`, Go 1.23 up to `ExperimentalBatch`, Go 1.25 up to
//! `ClockSnapshot`, Go 1.26 all of it). Experimental events (types above
//! 127) appear only inside experimental batches.
//!
//! Verified against `go tool trace -d=wire` on the factory's traces (the
//! tests print the same text).

/// How one event is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub name: &'static str,
    /// Argument names; `dt` first for timed events (a timestamp delta).
    pub args: &'static [&'static str],
    /// After the arguments: `nframes` frames of four varints (PC, function
    /// string ID, file string ID, line).
    pub is_stack: bool,
    /// After the arguments: a varint length and that many bytes.
    pub has_data: bool,
    /// Appears in a batch's event stream with a timestamp delta.
    pub timed: bool,
}

const fn s(name: &'static str, args: &'static [&'static str]) -> Spec {
    Spec {
        name,
        args,
        is_stack: false,
        has_data: false,
        timed: false,
    }
}

const fn t(name: &'static str, args: &'static [&'static str]) -> Spec {
    Spec {
        name,
        args,
        is_stack: false,
        has_data: false,
        timed: true,
    }
}

/// Event types by their byte.
pub mod ev {
    pub const EVENT_BATCH: u8 = 1;
    pub const STACKS: u8 = 2;
    pub const STACK: u8 = 3;
    pub const STRINGS: u8 = 4;
    pub const STRING: u8 = 5;
    pub const CPU_SAMPLES: u8 = 6;
    pub const CPU_SAMPLE: u8 = 7;
    pub const FREQUENCY: u8 = 8;
    pub const PROCS_CHANGE: u8 = 9;
    pub const PROC_START: u8 = 10;
    pub const PROC_STOP: u8 = 11;
    pub const PROC_STEAL: u8 = 12;
    pub const PROC_STATUS: u8 = 13;
    pub const GO_CREATE: u8 = 14;
    pub const GO_CREATE_SYSCALL: u8 = 15;
    pub const GO_START: u8 = 16;
    pub const GO_DESTROY: u8 = 17;
    pub const GO_DESTROY_SYSCALL: u8 = 18;
    pub const GO_STOP: u8 = 19;
    pub const GO_BLOCK: u8 = 20;
    pub const GO_UNBLOCK: u8 = 21;
    pub const GO_SYSCALL_BEGIN: u8 = 22;
    pub const GO_SYSCALL_END: u8 = 23;
    pub const GO_SYSCALL_END_BLOCKED: u8 = 24;
    pub const GO_STATUS: u8 = 25;
    pub const STW_BEGIN: u8 = 26;
    pub const STW_END: u8 = 27;
    pub const GC_ACTIVE: u8 = 28;
    pub const GC_BEGIN: u8 = 29;
    pub const GC_END: u8 = 30;
    pub const GC_SWEEP_ACTIVE: u8 = 31;
    pub const GC_SWEEP_BEGIN: u8 = 32;
    pub const GC_SWEEP_END: u8 = 33;
    pub const GC_MARK_ASSIST_ACTIVE: u8 = 34;
    pub const GC_MARK_ASSIST_BEGIN: u8 = 35;
    pub const GC_MARK_ASSIST_END: u8 = 36;
    pub const HEAP_ALLOC: u8 = 37;
    pub const HEAP_GOAL: u8 = 38;
    pub const GO_LABEL: u8 = 39;
    pub const USER_TASK_BEGIN: u8 = 40;
    pub const USER_TASK_END: u8 = 41;
    pub const USER_REGION_BEGIN: u8 = 42;
    pub const USER_REGION_END: u8 = 43;
    pub const USER_LOG: u8 = 44;
    pub const GO_SWITCH: u8 = 45;
    pub const GO_SWITCH_DESTROY: u8 = 46;
    pub const GO_CREATE_BLOCKED: u8 = 47;
    pub const GO_STATUS_STACK: u8 = 48;
    pub const EXPERIMENTAL_BATCH: u8 = 49;
    pub const SYNC: u8 = 50;
    pub const CLOCK_SNAPSHOT: u8 = 51;
    pub const END_OF_GENERATION: u8 = 52;
}

/// Every event, by type byte (index 0 is unused).
pub const SPECS: [Spec; 53] = [
    s("None", &[]),
    s("EventBatch", &["gen", "m", "time", "size"]),
    s("Stacks", &[]),
    Spec {
        is_stack: true,
        ..s("Stack", &["id", "nframes"])
    },
    s("Strings", &[]),
    Spec {
        has_data: true,
        ..s("String", &["id"])
    },
    s("CPUSamples", &[]),
    s("CPUSample", &["time", "m", "p", "g", "stack"]),
    s("Frequency", &["freq"]),
    t("ProcsChange", &["dt", "procs_value", "stack"]),
    t("ProcStart", &["dt", "p", "p_seq"]),
    t("ProcStop", &["dt"]),
    t("ProcSteal", &["dt", "p", "p_seq", "m"]),
    t("ProcStatus", &["dt", "p", "pstatus"]),
    t("GoCreate", &["dt", "new_g", "new_stack", "stack"]),
    t("GoCreateSyscall", &["dt", "new_g"]),
    t("GoStart", &["dt", "g", "g_seq"]),
    t("GoDestroy", &["dt"]),
    t("GoDestroySyscall", &["dt"]),
    t("GoStop", &["dt", "reason_string", "stack"]),
    t("GoBlock", &["dt", "reason_string", "stack"]),
    t("GoUnblock", &["dt", "g", "g_seq", "stack"]),
    t("GoSyscallBegin", &["dt", "p_seq", "stack"]),
    t("GoSyscallEnd", &["dt"]),
    t("GoSyscallEndBlocked", &["dt"]),
    t("GoStatus", &["dt", "g", "m", "gstatus"]),
    t("STWBegin", &["dt", "kind_string", "stack"]),
    t("STWEnd", &["dt"]),
    t("GCActive", &["dt", "gc_seq"]),
    t("GCBegin", &["dt", "gc_seq", "stack"]),
    t("GCEnd", &["dt", "gc_seq"]),
    t("GCSweepActive", &["dt", "p"]),
    t("GCSweepBegin", &["dt", "stack"]),
    t("GCSweepEnd", &["dt", "swept_value", "reclaimed_value"]),
    t("GCMarkAssistActive", &["dt", "g"]),
    t("GCMarkAssistBegin", &["dt", "stack"]),
    t("GCMarkAssistEnd", &["dt"]),
    t("HeapAlloc", &["dt", "heapalloc_value"]),
    t("HeapGoal", &["dt", "heapgoal_value"]),
    t("GoLabel", &["dt", "label_string"]),
    t(
        "UserTaskBegin",
        &["dt", "task", "parent_task", "name_string", "stack"],
    ),
    t("UserTaskEnd", &["dt", "task", "stack"]),
    t("UserRegionBegin", &["dt", "task", "name_string", "stack"]),
    t("UserRegionEnd", &["dt", "task", "name_string", "stack"]),
    t(
        "UserLog",
        &["dt", "task", "key_string", "value_string", "stack"],
    ),
    t("GoSwitch", &["dt", "g", "g_seq"]),
    t("GoSwitchDestroy", &["dt", "g", "g_seq"]),
    t("GoCreateBlocked", &["dt", "new_g", "new_stack", "stack"]),
    t("GoStatusStack", &["dt", "g", "m", "gstatus", "stack"]),
    Spec {
        has_data: true,
        ..s("ExperimentalBatch", &["exp", "gen", "m", "time"])
    },
    s("Sync", &[]),
    t("ClockSnapshot", &["dt", "mono", "sec", "nsec"]),
    s("EndOfGeneration", &[]),
];

/// The trace format versions this reader knows (the `N` of the header's
/// `go 1.N trace`; Go 1.24 writes version 23), and the number of event
/// types each defines.
pub fn events_in(version: u32) -> Option<usize> {
    match version {
        22 => Some(usize::from(ev::USER_LOG) + 1),
        23 => Some(usize::from(ev::EXPERIMENTAL_BATCH) + 1),
        25 => Some(usize::from(ev::CLOCK_SNAPSHOT) + 1),
        26 => Some(SPECS.len()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_match_names() {
        assert_eq!(SPECS[usize::from(ev::GO_CREATE)].name, "GoCreate");
        assert_eq!(SPECS[usize::from(ev::USER_LOG)].name, "UserLog");
        assert_eq!(
            SPECS[usize::from(ev::EXPERIMENTAL_BATCH)].name,
            "ExperimentalBatch"
        );
        assert_eq!(
            SPECS[usize::from(ev::END_OF_GENERATION)].name,
            "EndOfGeneration"
        );
        assert_eq!(events_in(21), None);
    }
}
