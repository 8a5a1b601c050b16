//! Reading stacks the way the rules need: which frames are the
//! application's, where a goroutine is blocked, what lock it wants.

use gosleuth_model::{Frame, Goroutine, Status, cause::goroot_src, looks_like_pointer};

/// Facts learned once per snapshot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ctx {
    /// `.../go/src/` of the Go installation that built the program, when a
    /// stack reveals it.
    pub goroot_src: Option<String>,
}

impl Ctx {
    pub fn learn(goroutines: &[Goroutine]) -> Ctx {
        let goroot_src = goroutines
            .iter()
            .take(4096)
            .find_map(|g| goroot_src(&g.frames))
            .map(String::from);
        Ctx { goroot_src }
    }

    /// True for frames of the standard library (runtime included).
    pub fn is_stdlib(&self, f: &Frame) -> bool {
        is_runtime(&f.function) || self.is_stdlib_outside_runtime(f)
    }

    /// [`Ctx::is_stdlib`] for a frame already known not to be runtime code.
    fn is_stdlib_outside_runtime(&self, f: &Frame) -> bool {
        match &self.goroot_src {
            Some(root) if !f.file.is_empty() => f.file.starts_with(root.as_str()),
            _ => {
                let pkg = f.package();
                let first = pkg.split('/').next().unwrap_or(pkg);
                !first.contains('.') && pkg != "main"
            }
        }
    }

    /// True for frames of the program itself or its dependencies.
    pub fn is_app(&self, f: &Frame) -> bool {
        !self.is_stdlib(f)
    }

    /// Where a goroutine is blocked, as a person would name it: the
    /// innermost application frame; else the innermost frame outside the
    /// runtime; else the innermost frame. With its index.
    pub fn blocking_frame<'a>(&self, frames: &'a [Frame]) -> Option<(usize, &'a Frame)> {
        self.blocking_frame_and_runtime_only(frames).0
    }

    /// [`Ctx::blocking_frame`], and whether every frame is runtime code
    /// ([`Goroutine::is_runtime_only`]), in one look at the frames.
    pub fn blocking_frame_and_runtime_only<'a>(
        &self,
        frames: &'a [Frame],
    ) -> (Option<(usize, &'a Frame)>, bool) {
        let mut outside_runtime = None;
        for (i, f) in frames.iter().enumerate() {
            if is_runtime(&f.function) {
                continue;
            }
            if !self.is_stdlib_outside_runtime(f) {
                return (Some((i, f)), false);
            }
            if outside_runtime.is_none() {
                outside_runtime = Some((i, f));
            }
        }
        match outside_runtime {
            Some(x) => (Some(x), false),
            None => (frames.first().map(|f| (0, f)), !frames.is_empty()),
        }
    }

    /// A path as people read it: standard library relative to GOROOT,
    /// modules relative to the module cache, others by their last two
    /// elements.
    pub fn short<'a>(&self, file: &'a str) -> &'a str {
        if let Some(rest) = self
            .goroot_src
            .as_deref()
            .and_then(|root| file.strip_prefix(root))
        {
            return rest;
        }
        if let Some(i) = file.find("/pkg/mod/") {
            return &file[i + "/pkg/mod/".len()..];
        }
        let mut slashes = file.rmatch_indices('/');
        match (slashes.next(), slashes.next()) {
            (Some(_), Some((i, _))) => &file[i + 1..],
            _ => file,
        }
    }

    /// `function (file:line)` with the short path.
    pub fn at(&self, f: &Frame) -> String {
        format!("{} at {}:{}", f.function, self.short(&f.file), f.line)
    }
}

/// [`gosleuth_model::is_runtime_function`] by prefix: it runs on every
/// frame of every goroutine, and looking for the package's last `/`
/// costs more than the answer.
#[inline]
pub(crate) fn is_runtime(function: &str) -> bool {
    function.starts_with("runtime.")
        || function.starts_with("runtime/")
        || function.starts_with("internal/")
        || function.starts_with("panic.")
        || function == "panic"
}

/// True when the goroutine is blocked (parked or in a system call), as
/// opposed to running or ready to run.
pub(crate) fn is_blocked(g: &Goroutine) -> bool {
    match g.status {
        Status::Waiting | Status::Syscall => true,
        Status::Running | Status::Runnable | Status::Idle | Status::Dead => false,
        Status::Unknown => {
            !g.state.is_empty() && !matches!(g.state.as_str(), "running" | "runnable")
        }
    }
}

/// Like [`is_blocked`], also accepting records whose state the source
/// did not record (`debug=1` goroutine profiles).
pub(crate) fn maybe_blocked(g: &Goroutine) -> bool {
    is_blocked(g) || (g.status == Status::Unknown && g.state.is_empty())
}

/// `blocked in chan send`, or a phrase for records without a state.
pub(crate) fn blocked_in(state: &str) -> String {
    if state.is_empty() || state == "unknown" {
        String::from("parked (state not recorded)")
    } else {
        format!("blocked in {state}")
    }
}

/// Minutes blocked: the runtime's own figure, else the memory source's
/// estimate.
pub(crate) fn wait_minutes(g: &Goroutine) -> Option<u64> {
    g.wait_minutes.or(g.wait_nanos.map(|n| n / 60_000_000_000))
}

/// Functions through which a goroutine acquires a `sync` lock.
const LOCK_FUNCS: &[&str] = &[
    "sync.(*Mutex).Lock",
    "sync.(*Mutex).lockSlow",
    "internal/sync.(*Mutex).Lock",
    "internal/sync.(*Mutex).lockSlow",
    "sync.(*RWMutex).Lock",
    "sync.(*RWMutex).RLock",
];

/// Wait reasons of a goroutine acquiring a lock (`semacquire` before Go
/// 1.20 named every semaphore wait, so the frames decide).
fn is_lock_state(state: &str) -> bool {
    matches!(
        state,
        "sync.Mutex.Lock" | "sync.RWMutex.Lock" | "sync.RWMutex.RLock" | "semacquire"
    )
}

/// For a goroutine blocked acquiring a `sync.Mutex` or `RWMutex`: the
/// index of its innermost lock frame.
pub(crate) fn lock_frame(g: &Goroutine) -> Option<usize> {
    if !is_lock_state(&g.state) {
        return None;
    }
    g.frames
        .iter()
        .position(|f| LOCK_FUNCS.contains(&f.function.as_str()))
}

/// The lock's address as a text dump prints it: the receiver argument of
/// the innermost lock frame that was not inlined (`lockSlow(0xc0000bc120)`).
pub(crate) fn lock_addr_from_args(g: &Goroutine) -> Option<u64> {
    let start = lock_frame(g)?;
    g.frames[start..]
        .iter()
        .take_while(|f| LOCK_FUNCS.contains(&f.function.as_str()))
        .find_map(|f| pointer_args(&f.args).next())
}

/// True for the frames of lock machinery (`sync.(*Mutex).Lock` and below).
pub(crate) fn is_lock_machinery(f: &Frame) -> bool {
    LOCK_FUNCS.contains(&f.function.as_str())
        || f.function.starts_with("sync.runtime_")
        || f.function.starts_with("internal/sync.runtime_")
}

/// Pointer-like words among a printed argument list (`0xc000012345`,
/// `0xc000012345?`), as numbers.
pub(crate) fn pointer_args(args: &str) -> impl Iterator<Item = u64> + '_ {
    args.split([',', ' ', '{', '}'])
        .filter(|a| !a.is_empty())
        .filter(|a| looks_like_pointer(a))
        .filter_map(|a| {
            let hex = a.trim_end_matches('?').strip_prefix("0x")?;
            u64::from_str_radix(hex, 16).ok()
        })
}

/// True for a goroutine parked reading from a network connection (not
/// waiting to accept one).
pub(crate) fn is_network_read(g: &Goroutine) -> bool {
    if g.state != "IO wait" {
        return false;
    }
    let mut read = false;
    for f in &g.frames {
        let func = f.function.as_str();
        let pkg = f.package();
        if func.contains("Accept") {
            return false;
        }
        if matches!(pkg, "internal/poll" | "net" | "crypto/tls")
            && (func.ends_with(".Read")
                || func.ends_with(".ReadFrom")
                || func.ends_with(".ReadMsg")
                || func.ends_with(".ReadMsgUDP")
                || func.ends_with(".ReadMsgInet4")
                || func.ends_with(".ReadMsgInet6")
                || func.ends_with(".ReadFromInet4")
                || func.ends_with(".ReadFromInet6"))
        {
            read = true;
        }
    }
    read
}

/// The receiver type of a method (`main.(*Metrics).CountS` ->
/// `main.(*Metrics)`, `pkg.T.M` -> `pkg.T`); `None` for plain functions
/// and closures of plain functions.
pub(crate) fn receiver_type(function: &str) -> Option<&str> {
    let pkg_len = gosleuth_model::package_of(function).len();
    let rest = function.get(pkg_len + 1..)?;
    if rest.starts_with("(*") {
        let close = rest.find(')')?;
        return Some(&function[..pkg_len + 1 + close + 1]);
    }
    let dot = rest.find('.')?;
    let head = &rest[..dot];
    // `main.main.func1` is a closure of the plain function `main`; a type
    // name and a function name cannot be told apart, so only exported-ish
    // heads with a method after them count: `T.M` where M is not `funcN`.
    let tail = &rest[dot + 1..];
    if tail.starts_with("func") || tail.starts_with("gowrap") {
        return None;
    }
    (!head.is_empty()).then(|| &function[..pkg_len + 1 + dot])
}

/// A list of ids for prose: `1, 2, 3` or `1, 2, 3 and 7 more`.
pub(crate) fn id_list(ids: &[u64], total: u64) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(u64::to_string).collect();
    let more = total.saturating_sub(shown.len() as u64);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `1 goroutine`, `12 goroutines`.
pub(crate) fn goroutines(n: u64) -> String {
    if n == 1 {
        String::from("1 goroutine")
    } else {
        format!("{n} goroutines")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_by_prefix_agrees_with_the_model() {
        for f in [
            "runtime.gopark",
            "runtime/pprof.writeGoroutine",
            "internal/poll.(*FD).Read",
            "internal/sync.(*Mutex).lockSlow",
            "panic",
            "main.main",
            "sync.(*Mutex).Lock",
            "net/http.(*conn).serve",
            "github.com/a/internal/b.F",
            "runtimex.F",
        ] {
            assert_eq!(is_runtime(f), gosleuth_model::is_runtime_function(f), "{f}");
        }
    }

    #[test]
    fn receiver_types() {
        assert_eq!(
            receiver_type("main.(*Metrics).CountS"),
            Some("main.(*Metrics)")
        );
        assert_eq!(
            receiver_type("net/http.(*conn).serve"),
            Some("net/http.(*conn)")
        );
        assert_eq!(receiver_type("main.Account.String"), Some("main.Account"));
        assert_eq!(receiver_type("main.main.func1"), None);
        assert_eq!(receiver_type("main.transfer"), None);
    }

    #[test]
    fn pointer_arguments() {
        let v: Vec<u64> =
            pointer_args("0x9e8ff1e320, {0x791fe8?, 0x6d655f8a1e0?}, 0x1, ...").collect();
        assert_eq!(v, vec![0x9e8ff1e320, 0x791fe8, 0x6d655f8a1e0]);
    }

    #[test]
    fn short_paths() {
        let ctx = Ctx {
            goroot_src: Some("/usr/local/go/src/".into()),
        };
        assert_eq!(
            ctx.short("/usr/local/go/src/net/http/server.go"),
            "net/http/server.go"
        );
        assert_eq!(
            ctx.short("/root/go/pkg/mod/github.com/a/b@v1/c.go"),
            "github.com/a/b@v1/c.go"
        );
        assert_eq!(
            ctx.short("/work/app/metrics/metrics.go"),
            "metrics/metrics.go"
        );
        assert_eq!(ctx.short("main.go"), "main.go");
    }
}
