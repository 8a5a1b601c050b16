//! Naming the root cause of a panic or fatal error from the goroutine that
//! raised it.
//!
//! The rule (seed 001, "Locating the Original Panic Location"): find the
//! deepest `panic` in the stack (the outermost one printed, which is the
//! original panic when deferred functions recovered and panicked again);
//! the first frame below it that is not runtime code is where the panic was
//! raised.

use crate::{Frame, Goroutine, Incident, IncidentKind, RootCause, SignalInfo};

/// Functions through which a goroutine raises a panic or fatal error.
fn is_raise(function: &str) -> bool {
    matches!(
        function,
        "panic"
            | "runtime.gopanic"
            | "runtime.sigpanic"
            | "runtime.throw"
            | "runtime.fatal"
            | "runtime.fatalthrow"
            | "runtime.fatalpanic"
            | "sync.fatal"
            | "sync.throw"
            | "internal/sync.fatal"
            | "internal/sync.throw"
            | "internal/runtime/maps.fatal"
    )
}

/// The directory holding the standard library's sources (`.../go/src/`),
/// learned from the runtime frames of a stack.
///
/// A frame gives it away when its function's package is a standard-library
/// package (no dot in the first path element) and its file sits in
/// `<root>/<package>/`.
pub fn goroot_src(frames: &[Frame]) -> Option<&str> {
    frames.iter().find_map(|f| {
        let pkg = f.package();
        let first = pkg.split('/').next().unwrap_or(pkg);
        if first.contains('.') || pkg == "main" || pkg.is_empty() {
            return None;
        }
        let needle = format!("/src/{pkg}/");
        let i = f.file.find(&needle)?;
        let rest = &f.file[i + needle.len()..];
        (!rest.contains('/')).then(|| &f.file[..i + "/src/".len()])
    })
}

/// True when `frame` is standard-library code under `goroot_src`.
pub(crate) fn is_stdlib(frame: &Frame, goroot_src: Option<&str>) -> bool {
    match goroot_src {
        Some(root) => frame.file.starts_with(root),
        None => {
            let pkg = frame.package();
            let first = pkg.split('/').next().unwrap_or(pkg);
            !first.contains('.') && pkg != "main" && frame.file.contains("/go/src/")
        }
    }
}

/// Names the root cause of an incident, when the evidence allows it: a
/// panic or fatal error, or a dump whose first goroutine is panicking.
pub fn root_cause(incident: &Incident) -> Option<RootCause> {
    let g = incident.first.as_ref()?;
    let raises: Vec<usize> = g
        .frames
        .iter()
        .enumerate()
        .filter(|(_, f)| is_raise(&f.function))
        .map(|(i, _)| i)
        .collect();
    let message = incident
        .panics
        .first()
        .map(|p| p.message.clone())
        .or_else(|| incident.fatal.clone());
    match incident.kind {
        IncidentKind::Panic | IncidentKind::Fatal => {}
        IncidentKind::Dump | IncidentKind::Signal if !raises.is_empty() => {}
        _ => return None,
    }
    let root = goroot_src(&g.frames);
    // Runtime code includes the functions other packages link into the
    // runtime (`sync.runtime_Semacquire` lives in runtime/sema.go).
    let runtime = |f: &Frame| {
        f.is_runtime()
            || root.is_some_and(|r| {
                f.file
                    .strip_prefix(r)
                    .is_some_and(|p| p.starts_with("runtime/"))
            })
    };
    let start = raises.last().map_or(0, |&i| i + 1);
    let frame = g.frames[start..]
        .iter()
        .find(|f| !runtime(f))
        .or_else(|| g.frames.iter().find(|f| !runtime(f)))
        .cloned();
    let caller = frame.as_ref().filter(|f| is_stdlib(f, root)).and_then(|f| {
        g.frames
            .iter()
            .skip_while(|x| *x != f)
            .find(|x| !runtime(x) && !is_stdlib(x, root))
            .cloned()
    });
    // Deferred functions that recovered and panicked again sit just above
    // the panic during which they ran; listed from the original outwards.
    let repanicked_in = raises
        .iter()
        .rev()
        .filter_map(|&i| i.checked_sub(1).and_then(|j| g.frames.get(j)))
        .filter(|f| !f.is_runtime())
        .cloned()
        .collect();
    let message = message.unwrap_or_default();
    Some(RootCause {
        goroutine: g.id,
        frame,
        caller,
        explanation: explain(&message, incident.signal.as_ref()),
        message,
        created_by: created_chain(g),
        repanicked_in,
        source: Vec::new(),
    })
}

/// The `go` statements behind a goroutine: its own creation site, then
/// its ancestors' (GODEBUG=tracebackancestors) when printed.
fn created_chain(g: &Goroutine) -> Vec<Frame> {
    g.created_by
        .iter()
        .chain(g.ancestors.iter().filter_map(|a| a.created_by.as_ref()))
        .cloned()
        .collect()
}

/// The runtime's message in plain words.
pub fn explain(message: &str, signal: Option<&SignalInfo>) -> String {
    let msg = message.strip_prefix("runtime error: ").unwrap_or(message);
    if msg.starts_with("invalid memory address or nil pointer dereference") {
        return match signal.and_then(|s| s.addr) {
            Some(0) => "nil pointer dereference: the code used a nil pointer (address 0x0)".into(),
            Some(a) if a < 0x1000 => format!(
                "nil pointer dereference: the code used a field at offset {a:#x} of a nil pointer"
            ),
            Some(a) => format!("invalid memory access at address {a:#x}"),
            None => "nil pointer dereference: the code used a nil pointer".into(),
        };
    }
    if let Some(rest) = msg.strip_prefix("index out of range [") {
        if let Some((idx, len)) = rest.split_once("] with length ") {
            return format!("index {idx} is out of range for length {len}");
        }
    }
    if let Some(rest) = msg.strip_prefix("slice bounds out of range [") {
        if let Some((expr, bound)) = rest.split_once("] with ") {
            return format!("slice expression [{expr}] is past the {bound}");
        }
        if let Some(expr) = rest.strip_suffix(']') {
            return format!("slice expression [{expr}] has its low bound above its high bound");
        }
    }
    let plain = match msg {
        "assignment to entry in nil map" => {
            "write to a nil map: the map was declared but never made"
        }
        "integer divide by zero" => "integer division by zero",
        "close of closed channel" => "a channel was closed twice",
        "close of nil channel" => "close of a nil channel: the channel was never made",
        "send on closed channel" => "send on a channel that was already closed",
        "all goroutines are asleep - deadlock!" => {
            "deadlock: every goroutine is blocked and none can wake the others"
        }
        "concurrent map writes" => "two goroutines wrote the same map at once without a lock",
        "concurrent map read and map write" => {
            "a goroutine read a map while another wrote it, without a lock"
        }
        "concurrent map iteration and map write" => {
            "a goroutine ranged over a map while another wrote it, without a lock"
        }
        "stack overflow" => "stack overflow: unbounded recursion exceeded the stack limit",
        "out of memory" => "the process ran out of memory",
        "sync: unlock of unlocked mutex" => "Unlock of a sync.Mutex that was not locked",
        "sync: RUnlock of unlocked RWMutex" => "RUnlock of a sync.RWMutex that was not read-locked",
        "sync: negative WaitGroup counter" => "WaitGroup.Done called more times than Add",
        _ => "",
    };
    if !plain.is_empty() {
        return plain.to_string();
    }
    if let Some(rest) = msg.strip_prefix("interface conversion: ") {
        return format!("a type assertion failed: {rest}");
    }
    if msg.starts_with("no goroutines (main called runtime.Goexit)") {
        return "main called runtime.Goexit and no goroutine is left to run".into();
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PanicValue;

    fn f(function: &str, file: &str, line: u32) -> Frame {
        Frame {
            function: function.into(),
            args: String::new(),
            file: file.into(),
            line,
            offset: None,
            pc: None,
            inlined: false,
        }
    }

    #[test]
    fn repanicked_chain_points_at_the_original_site() {
        let mut inc = Incident::new(IncidentKind::Panic, 1);
        inc.panics.push(PanicValue {
            message: "runtime error: slice bounds out of range [:5] with capacity 0".into(),
            recovered: true,
            repanicked: false,
        });
        inc.first = Some(Goroutine {
            id: 18,
            frames: vec![
                f(
                    "testing.tRunner.func1.2",
                    "/go/src/testing/testing.go",
                    1144,
                ),
                f("panic", "/go/src/runtime/panic.go", 965),
                f("example.WrapPanic.func1", "/x/panic_test.go", 47),
                f("panic", "/go/src/runtime/panic.go", 965),
                f("runtime.goPanicSliceAcap", "/go/src/runtime/panic.go", 1),
                f("example.Process", "/x/panic_test.go", 36),
                f("example.WrapPanic", "/x/panic_test.go", 50),
            ],
            ..Goroutine::default()
        });
        let rc = root_cause(&inc).unwrap();
        let frame = rc.frame.unwrap();
        assert_eq!(
            (frame.function.as_str(), frame.line),
            ("example.Process", 36)
        );
        assert_eq!(rc.repanicked_in[0].function, "example.WrapPanic.func1");
        assert_eq!(rc.repanicked_in[1].function, "testing.tRunner.func1.2");
        assert_eq!(
            rc.explanation,
            "slice expression [:5] is past the capacity 0"
        );
        assert!(rc.caller.is_none());
    }

    #[test]
    fn stdlib_raiser_names_the_user_caller() {
        let mut inc = Incident::new(IncidentKind::Fatal, 1);
        inc.fatal = Some("sync: unlock of unlocked mutex".into());
        inc.first = Some(Goroutine {
            id: 1,
            frames: vec![
                f("runtime.throw", "/usr/local/go/src/runtime/panic.go", 1),
                f("sync.fatal", "/usr/local/go/src/runtime/panic.go", 2),
                f("sync.(*Mutex).Unlock", "/usr/local/go/src/sync/mutex.go", 3),
                f("main.release", "/app/main.go", 9),
            ],
            ..Goroutine::default()
        });
        let rc = root_cause(&inc).unwrap();
        assert_eq!(rc.frame.unwrap().function, "sync.(*Mutex).Unlock");
        assert_eq!(rc.caller.unwrap().function, "main.release");
    }

    #[test]
    fn explanations() {
        let sig = SignalInfo {
            addr: Some(0),
            ..SignalInfo::default()
        };
        assert!(
            explain(
                "runtime error: invalid memory address or nil pointer dereference",
                Some(&sig)
            )
            .contains("address 0x0")
        );
        assert_eq!(
            explain("runtime error: index out of range [5] with length 3", None),
            "index 5 is out of range for length 3"
        );
        assert_eq!(explain("boom", None), "boom");
    }
}
