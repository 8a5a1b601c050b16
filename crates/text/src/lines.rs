//! Recognisers for single lines of Go's traceback text. Each takes one
//! logical line (no terminator) and returns what it means, or `None`.

use gosleuth_model::{SignalInfo, Status};

/// `goroutine 17 [chan receive, 12 minutes, locked to thread]:` and the
/// `gp=0x.. m=N mp=0x..` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoroutineHeader {
    pub id: u64,
    pub state: String,
    pub status: Status,
    pub wait_minutes: Option<u64>,
    pub locked: bool,
    pub extra: Vec<(String, String)>,
}

pub fn goroutine_header(line: &str) -> Option<GoroutineHeader> {
    let rest = line.strip_prefix("goroutine ")?;
    let rest = rest.strip_suffix(':')?;
    let sp = rest.find(|c: char| !c.is_ascii_digit())?;
    let id: u64 = rest[..sp].parse().ok()?;
    let rest = &rest[sp..];
    let open = rest.find(" [")?;
    let fields = &rest[..open];
    let bracket = rest[open + 2..].strip_suffix(']')?;
    let mut extra = Vec::new();
    for kv in fields.split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        extra.push((k.to_string(), v.to_string()));
    }
    let mut parts = bracket.split(", ");
    let state = parts.next()?.to_string();
    let mut wait_minutes = None;
    let mut locked = false;
    for p in parts {
        if let Some(m) = p
            .strip_suffix(" minutes")
            .or_else(|| p.strip_suffix(" minute"))
        {
            wait_minutes = m.parse().ok();
        } else if p == "locked to thread" {
            locked = true;
        } else {
            extra.push(("state".to_string(), p.to_string()));
        }
    }
    let status = status_of(&state);
    Some(GoroutineHeader {
        id,
        state,
        status,
        wait_minutes,
        locked,
        extra,
    })
}

/// The base status behind a printed state: wait reasons mean waiting.
pub fn status_of(state: &str) -> Status {
    match state {
        "running" => Status::Running,
        "runnable" => Status::Runnable,
        "syscall" => Status::Syscall,
        "idle" => Status::Idle,
        "dead" => Status::Dead,
        "" => Status::Unknown,
        // `copystack`, `preempted`, `leaked` and every wait reason.
        _ => Status::Waiting,
    }
}

/// A function line: `main.(*T).M(0xc000010000, {0x1, 0x2}, ...)`. Returns
/// the function name and the argument text. Lines without an argument list
/// (zap-style stacks) are accepted when `bare` is set.
pub fn function_line(line: &str, bare: bool) -> Option<(&str, &str)> {
    if line.is_empty() || line.starts_with(['\t', ' ']) {
        return None;
    }
    if let Some(body) = line.strip_suffix(')') {
        // Match the argument list's '(' backwards; arguments contain braces
        // but never parentheses, function names can (`(*T).M`).
        let mut depth = 1usize;
        for (i, c) in body.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        let name = &body[..i];
                        if name.is_empty() || name.contains(' ') {
                            return None;
                        }
                        return Some((name, &body[i + 1..]));
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    // zap-style stacks print bare names: `main.main`, `net/http.(*conn).serve`.
    if bare
        && line.contains('.')
        && line
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && !line.bytes().any(|b| b.is_ascii_whitespace())
    {
        return Some((line, ""));
    }
    None
}

/// A file line: `\t/src/main.go:41 +0x121 fp=0x.. sp=0x.. pc=0x..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLine<'a> {
    pub file: &'a str,
    pub line: u32,
    pub offset: Option<u64>,
    pub pc: Option<u64>,
}

pub fn file_line(line: &str) -> Option<FileLine<'_>> {
    let body = match line.strip_prefix('\t') {
        Some(b) => b,
        None => {
            // Race reports indent with spaces.
            let t = line.trim_start_matches(' ');
            if t.len() + 4 > line.len() {
                return None;
            }
            t
        }
    };
    // `FILE:LINE` then optional ` +0xOFF` and ` fp=/sp=/pc=` fields, peeled
    // off from the right (paths may contain spaces).
    let mut loc = body.trim_end();
    let mut offset = None;
    let mut pc = None;
    while let Some((head, field)) = loc.rsplit_once(' ') {
        if let Some(hex) = field.strip_prefix("+0x") {
            offset = u64::from_str_radix(hex, 16).ok();
        } else if let Some(hex) = field.strip_prefix("pc=0x") {
            pc = u64::from_str_radix(hex, 16).ok();
        } else if !(field.starts_with("fp=") || field.starts_with("sp=")) {
            break;
        }
        loc = head;
    }
    let colon = loc.rfind(':')?;
    let digits = &loc[colon + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let line_no: u32 = digits.parse().ok()?;
    let file = &loc[..colon];
    if file.is_empty() {
        return None;
    }
    Some(FileLine {
        file,
        line: line_no,
        offset,
        pc,
    })
}

/// `created by main.main in goroutine 1` (the parent id is Go 1.21+).
pub fn created_by(line: &str) -> Option<(&str, Option<u64>)> {
    let rest = line.strip_prefix("created by ")?;
    match rest.rsplit_once(" in goroutine ") {
        Some((f, id)) => Some((f, id.parse().ok())),
        None => Some((rest, None)),
    }
}

/// `...additional frames elided...` (before 1.21) or `...N frames elided...`.
/// Returns the number of frames when printed (0 when unknown).
pub fn elided(line: &str) -> Option<u64> {
    let t = line.trim();
    if t == "...additional frames elided..." {
        return Some(0);
    }
    let n = t.strip_prefix("...")?.strip_suffix(" frames elided...")?;
    n.parse().ok()
}

/// `[originating from goroutine N]:` (GODEBUG=tracebackancestors).
pub fn originating_from(line: &str) -> Option<u64> {
    line.strip_prefix("[originating from goroutine ")?
        .strip_suffix("]:")?
        .parse()
        .ok()
}

/// `[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x49a4d0]`
pub fn signal_line(line: &str) -> Option<SignalInfo> {
    let body = line.strip_prefix("[signal ")?.strip_suffix(']')?;
    let (name, rest) = body.split_once(": ").unwrap_or((body, ""));
    let mut info = SignalInfo {
        name: name.to_string(),
        ..SignalInfo::default()
    };
    let mut desc = Vec::new();
    for word in rest.split(' ') {
        if let Some(v) = word.strip_prefix("code=") {
            info.code = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("addr=") {
            info.addr = parse_hex(v);
        } else if let Some(v) = word.strip_prefix("pc=") {
            info.pc = parse_hex(v);
        } else {
            desc.push(word);
        }
    }
    info.description = desc.join(" ");
    Some(info)
}

/// `SIGQUIT: quit` at the start of a signal-induced dump.
pub fn signal_header(line: &str) -> Option<SignalInfo> {
    let (name, desc) = line.split_once(": ")?;
    if !SIGNALS.contains(&name) {
        return None;
    }
    Some(SignalInfo {
        name: name.to_string(),
        description: desc.to_string(),
        ..SignalInfo::default()
    })
}

const SIGNALS: &[&str] = &[
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
    "SIGEMT",
    "SIGINFO",
];

/// `PC=0x4cd901 m=0 sigcode=0` after a signal header: returns the pc.
pub fn signal_pc(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("PC=")?;
    parse_hex(rest.split(' ').next()?)
}

pub fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// `goroutine profile: total 10` (also `goroutineleak profile: ...`).
pub fn profile_header(line: &str) -> Option<u64> {
    let (name, total) = line.split_once(" profile: total ")?;
    if name.contains(' ') {
        return None;
    }
    total.trim().parse().ok()
}

/// `3 @ 0x4c3c4e 0x4a1172 ...` starting a goroutine-profile record.
pub fn profile_record(line: &str) -> Option<u64> {
    let (count, pcs) = line.split_once(" @ ")?;
    if !pcs.starts_with("0x") {
        return None;
    }
    count.parse().ok()
}

/// `#\t0x4c53e4\tinternal/sync.runtime_SemacquireMutex+0x24\t/usr/local/go/src/runtime/sema.go:95`
pub fn profile_frame(line: &str) -> Option<(u64, &str, Option<u64>, &str, u32)> {
    let rest = line.strip_prefix("#\t")?;
    let mut fields = rest.split('\t').filter(|f| !f.is_empty());
    let pc = parse_hex(fields.next()?)?;
    let func = fields.next()?;
    let loc = fields.next()?;
    let (name, offset) = match func.rsplit_once("+0x") {
        Some((n, off)) => (n, u64::from_str_radix(off, 16).ok()),
        None => (func, None),
    };
    let (file, line_no) = loc.rsplit_once(':')?;
    Some((pc, name, offset, file, line_no.trim().parse().ok()?))
}

/// `# labels: {"k":"v", "a":"b"}`
pub fn profile_labels(line: &str) -> Option<Vec<(String, String)>> {
    let body = line.strip_prefix("# labels: ")?;
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body).ok()?;
    Some(
        obj.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
    )
}

/// `exit status 2`
pub fn exit_status(line: &str) -> Option<i32> {
    line.strip_prefix("exit status ")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h =
            goroutine_header("goroutine 17 [chan receive, 12 minutes, locked to thread]:").unwrap();
        assert_eq!(h.id, 17);
        assert_eq!(h.state, "chan receive");
        assert_eq!(h.status, Status::Waiting);
        assert_eq!(h.wait_minutes, Some(12));
        assert!(h.locked);

        let h = goroutine_header("goroutine 1 gp=0xc0000081e0 m=nil [sleep]:").unwrap();
        assert_eq!(h.id, 1);
        assert_eq!(h.extra[0], ("gp".into(), "0xc0000081e0".into()));
        assert_eq!(h.extra[1], ("m".into(), "nil".into()));

        assert!(goroutine_header("goroutine profile: total 3").is_none());
        assert!(goroutine_header("goroutine 1 [running]").is_none());
    }

    #[test]
    fn functions() {
        assert_eq!(
            function_line(
                "main.(*Metrics).CountS(0xc000134000, {0x7a1c2f, 0x13})",
                false
            ),
            Some(("main.(*Metrics).CountS", "0xc000134000, {0x7a1c2f, 0x13}"))
        );
        assert_eq!(
            function_line("panic({0x4d4500?, 0xd230dd0c000?})", false)
                .unwrap()
                .0,
            "panic"
        );
        assert_eq!(
            function_line("main.F[...](...)", false).unwrap().0,
            "main.F[...]"
        );
        assert_eq!(function_line("main.main()", false), Some(("main.main", "")));
        assert_eq!(function_line("main.main", true), Some(("main.main", "")));
        assert!(function_line("main.main", false).is_none());
        assert!(function_line("\t/src/a.go:1", false).is_none());
        assert!(function_line("created by main.main in goroutine 1", true).is_none());
        assert!(function_line("FAIL\tracepanic\t0.026s", true).is_none());
    }

    #[test]
    fn files() {
        let f = file_line("\t/src/main.go:41 +0x121 fp=0xc00004aef8 sp=0xc00004ada0 pc=0x491101")
            .unwrap();
        assert_eq!(
            (f.file, f.line, f.offset, f.pc),
            ("/src/main.go", 41, Some(0x121), Some(0x491101))
        );
        let f = file_line("\t/usr/local/go/src/runtime/panic.go:220").unwrap();
        assert_eq!((f.line, f.offset), (220, None));
        let f = file_line("      /tmp/x/sq.go:36 +0x24").unwrap();
        assert_eq!((f.file, f.line), ("/tmp/x/sq.go", 36));
        let f = file_line("\tC:/go/src/main.go:3 +0x1").unwrap();
        assert_eq!(f.file, "C:/go/src/main.go");
        assert!(file_line("\tnot a location").is_none());
    }

    #[test]
    fn misc() {
        assert_eq!(
            created_by("created by main.main in goroutine 1"),
            Some(("main.main", Some(1)))
        );
        assert_eq!(
            created_by("created by testing.(*T).Run"),
            Some(("testing.(*T).Run", None))
        );
        assert_eq!(elided("...22 frames elided..."), Some(22));
        assert_eq!(elided("...additional frames elided..."), Some(0));
        let s =
            signal_line("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x491101]")
                .unwrap();
        assert_eq!(
            (s.name.as_str(), s.addr, s.pc),
            ("SIGSEGV", Some(0), Some(0x491101))
        );
        assert_eq!(s.description, "segmentation violation");
        assert_eq!(signal_header("SIGQUIT: quit").unwrap().name, "SIGQUIT");
        assert!(signal_header("SIGNAL: x").is_none());
        assert_eq!(profile_header("goroutine profile: total 10"), Some(10));
        assert_eq!(profile_record("3 @ 0x4c3c4e 0x4a1172"), Some(3));
        let (pc, name, off, file, line) = profile_frame(
            "#\t0x4d14f2\tinternal/sync.(*Mutex).lockSlow+0x1f2\t\t/usr/local/go/src/internal/sync/mutex.go:149",
        )
        .unwrap();
        assert_eq!(
            (pc, name, off, file, line),
            (
                0x4d14f2,
                "internal/sync.(*Mutex).lockSlow",
                Some(0x1f2),
                "/usr/local/go/src/internal/sync/mutex.go",
                149
            )
        );
        assert_eq!(
            profile_labels(r#"# labels: {"k":"v"}"#),
            Some(vec![("k".into(), "v".into())])
        );
    }
}
