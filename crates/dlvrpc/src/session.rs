//! One debugging session over a snapshot: what Delve's debugger answers,
//! without any transport. The JSON-RPC server and the REPL both drive it.
//!
//! The snapshot never runs: there are no breakpoints or steps, and the
//! only state is the selected goroutine and thread (shared by every client,
//! as in Delve).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use gosleuth_memory::Memory;
use gosleuth_runtime::Capture;
use gosleuth_runtime::frames::ShownFrame;
use gosleuth_runtime::grouping::{self, Member, Order};

use crate::api::{Function, Goroutine, Register, Stackframe, Thread, registers as delve_registers};
use crate::values::{self, LoadConfig, Scope, Variable};

use crate::api::{DebuggerState, GetVersionOut, GoroutineGroup, PackageBuildInfo};
use crate::error::RequestError;
use crate::filter::{Field, Filter, group_key};

/// What the session is reading, beyond the capture.
#[derive(Debug, Clone, Default)]
pub struct TargetInfo {
    /// The process id (of the live process, or the one the core was
    /// taken from; 0 when unknown).
    pub pid: i64,
    /// Its command line, when known.
    pub command_line: String,
    /// Delve's backend name: `core` for core files, `native` for live
    /// processes.
    pub backend: String,
    /// The executable.
    pub binary: PathBuf,
    /// The GNU build id, when known.
    pub build_id: String,
}

/// The selected goroutine and thread (indexes into the capture).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    pub goroutine: Option<usize>,
    pub thread: Option<usize>,
}

/// A snapshot being debugged.
pub struct Session {
    capture: Capture,
    info: TargetInfo,
    selection: Mutex<Selection>,
    /// Thread index by kernel thread id.
    threads_by_tid: HashMap<u64, usize>,
    sources: OnceLock<Vec<String>>,
}

/// Which goroutines `ListGoroutines` returns and how it groups them.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// First goroutine (index in id order).
    pub start: usize,
    /// How many goroutines to look at from `start` (0: all), before
    /// filtering, as Delve pages.
    pub count: usize,
    pub filters: Vec<Filter>,
    /// Only these goroutines (indexes, in this order) instead of all:
    /// the ones waiting on a channel.
    pub only: Option<Vec<usize>>,
    pub group_by: Option<Field>,
    pub group_key: String,
    pub max_group_members: usize,
    pub max_groups: usize,
}

/// The answer to a [`Query`]: goroutine indexes into the capture.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub goroutines: Vec<usize>,
    /// Where to start the next page, -1 at the end.
    pub nextg: i64,
    pub groups: Vec<GoroutineGroup>,
    pub too_many_groups: bool,
}

/// Most goroutines a group keeps as examples when the client does not say.
pub const DEFAULT_GROUP_MEMBERS: usize = 5;

impl Session {
    /// Starts a session. Frames are shown as Delve shows them (wrapper
    /// frames included). The goroutine of the first thread (the one that
    /// received the signal in a crash core) is selected, or else the
    /// goroutine with the lowest id.
    pub fn new(mut capture: Capture, info: TargetInfo) -> Session {
        capture.show_wrappers(true);
        let threads_by_tid = capture
            .target()
            .threads()
            .iter()
            .enumerate()
            .map(|(k, t)| (t.tid as u64, k))
            .collect();
        let mut s = Session {
            capture,
            info,
            selection: Mutex::new(Selection::default()),
            threads_by_tid,
            sources: OnceLock::new(),
        };
        let first_thread = (!s.capture.target().threads().is_empty()).then_some(0);
        let on_first = first_thread.and_then(|k| s.goroutine_on_thread(k));
        let goroutine = on_first.or((!s.capture.goroutines().is_empty()).then_some(0));
        let thread = goroutine
            .and_then(|g| s.thread_of_goroutine(g))
            .or(first_thread);
        *s.selection.get_mut().unwrap_or_else(|e| e.into_inner()) = Selection { goroutine, thread };
        s
    }

    /// The snapshot.
    pub fn capture(&self) -> &Capture {
        &self.capture
    }

    /// What is being read.
    pub fn info(&self) -> &TargetInfo {
        &self.info
    }

    /// The current selection.
    pub fn selection(&self) -> Selection {
        *self.selection.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_selection(&self, s: Selection) {
        *self.selection.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }

    /// Index of the goroutine with Delve id `id` (-1 or 0: the selected one).
    pub fn goroutine_index(&self, id: i64) -> Result<usize, RequestError> {
        if id <= 0 {
            return self.selection().goroutine.ok_or(RequestError::NoGoroutine);
        }
        let id = id as u64;
        self.capture
            .goroutines()
            .binary_search_by_key(&id, |g| g.id)
            .map_err(|_| RequestError::UnknownGoroutine(id))
    }

    /// The thread goroutine `gi` runs on, if it is on one of the captured
    /// threads.
    pub fn thread_of_goroutine(&self, gi: usize) -> Option<usize> {
        let tid = self.capture.goroutines().get(gi)?.thread?;
        self.threads_by_tid.get(&tid).copied()
    }

    fn goroutine_on_thread(&self, k: usize) -> Option<usize> {
        let tid = self.capture.target().threads().get(k)?.tid as u64;
        self.capture
            .goroutines()
            .iter()
            .position(|g| g.thread == Some(tid))
    }

    /// Selects goroutine `id` (and its thread, when it runs on one).
    pub fn switch_goroutine(&self, id: i64) -> Result<(), RequestError> {
        let gi = self.goroutine_index(id)?;
        let mut s = self.selection();
        s.goroutine = Some(gi);
        if let Some(k) = self.thread_of_goroutine(gi) {
            s.thread = Some(k);
        }
        self.set_selection(s);
        Ok(())
    }

    /// Selects thread `tid` (and the goroutine it runs, if any).
    pub fn switch_thread(&self, tid: i64) -> Result<(), RequestError> {
        let k = u64::try_from(tid)
            .ok()
            .and_then(|t| self.threads_by_tid.get(&t).copied())
            .ok_or(RequestError::UnknownThread(tid))?;
        self.set_selection(Selection {
            goroutine: self.goroutine_on_thread(k),
            thread: Some(k),
        });
        Ok(())
    }

    /// Every captured thread.
    pub fn threads(&self) -> Vec<Thread> {
        (0..self.capture.target().threads().len())
            .filter_map(|k| crate::api::thread(&self.capture, k))
            .collect()
    }

    /// The current thread, or (for a read without threads) one made up
    /// from the selected goroutine, so that clients that expect one get it.
    pub fn current_thread(&self) -> Option<Thread> {
        let s = self.selection();
        if let Some(t) = s.thread.and_then(|k| crate::api::thread(&self.capture, k)) {
            return Some(t);
        }
        let gi = s.goroutine?;
        let g = crate::api::goroutine(&self.capture, gi, false);
        Some(Thread {
            id: 0,
            pc: g.current_loc.pc,
            file: g.current_loc.file,
            line: g.current_loc.line,
            function: g.current_loc.function,
            goroutine_id: g.id as i64,
            return_values: None,
            call_return: false,
        })
    }

    /// Delve's `State`.
    pub fn state(&self) -> DebuggerState {
        let s = self.selection();
        DebuggerState {
            pid: self.info.pid,
            target_command_line: self.info.command_line.clone(),
            running: false,
            recording: false,
            core_dumping: false,
            current_thread: self.current_thread(),
            current_goroutine: s
                .goroutine
                .map(|g| crate::api::goroutine(&self.capture, g, false)),
            threads: self.threads(),
            next_in_progress: false,
            watch_out_of_scope: None,
            exited: false,
            exit_status: 0,
            when: String::new(),
        }
    }

    /// Delve's `GetVersion`.
    pub fn version(&self) -> GetVersionOut {
        GetVersionOut {
            DelveVersion: format!(
                "gosleuth {} (Delve JSON-RPC API v2 over a snapshot)",
                env!("CARGO_PKG_VERSION")
            ),
            APIVersion: 2,
            Backend: self.info.backend.clone(),
            TargetGoVersion: self.capture.target().go_version().to_string(),
            MinSupportedVersionOfGo: "1.21.0".into(),
            MaxSupportedVersionOfGo: "1.26.0".into(),
        }
    }

    /// The frames of goroutine `gi` as Delve lists them.
    pub fn frames(&self, gi: usize) -> Vec<ShownFrame<'_>> {
        self.capture.shown_frames(gi)
    }

    /// A validated evaluation scope (Delve's `EvalScope`).
    pub fn scope(
        &self,
        goroutine_id: i64,
        frame: i64,
        deferred: i64,
    ) -> Result<Scope, RequestError> {
        if deferred > 0 {
            return Err(RequestError::Unsupported(
                "deferred calls are not read from snapshots".into(),
            ));
        }
        let gi = self.goroutine_index(goroutine_id)?;
        let n = self.frames(gi).len();
        let id = self.capture.goroutines()[gi].id;
        let frame =
            usize::try_from(frame)
                .ok()
                .filter(|&f| f < n)
                .ok_or(RequestError::NoFrame {
                    frame,
                    goroutine: id,
                    frames: n,
                })?;
        Ok(Scope {
            goroutine: gi,
            frame,
        })
    }

    /// Frames `skip..=depth` of goroutine `gi` (Delve's `Stacktrace`;
    /// variables not loaded).
    pub fn stacktrace(&self, gi: usize, depth: usize, skip: usize) -> Vec<Stackframe> {
        let frames = self.frames(gi);
        let complete = self
            .capture
            .goroutines()
            .get(gi)
            .is_some_and(|g| g.broken.is_none());
        let last = frames.len().saturating_sub(1);
        frames
            .iter()
            .enumerate()
            .take(depth.saturating_add(1))
            .skip(skip)
            .map(|(k, f)| crate::api::stackframe(&self.capture, *f, complete && k == last))
            .collect()
    }

    /// Arguments of a frame.
    pub fn args(&self, scope: Scope, cfg: &LoadConfig) -> Result<Vec<Variable>, RequestError> {
        Ok(values::args(&self.capture, scope, cfg)?)
    }

    /// Local variables of a frame.
    pub fn locals(&self, scope: Scope, cfg: &LoadConfig) -> Result<Vec<Variable>, RequestError> {
        Ok(values::locals(&self.capture, scope, cfg)?)
    }

    /// Evaluates an expression in a frame.
    pub fn eval(
        &self,
        scope: Scope,
        expr: &str,
        cfg: &LoadConfig,
    ) -> Result<Variable, RequestError> {
        Ok(values::eval(&self.capture, scope, expr, cfg)?)
    }

    /// Package variables matching a regular expression.
    pub fn package_vars(
        &self,
        filter: &str,
        cfg: &LoadConfig,
    ) -> Result<Vec<Variable>, RequestError> {
        Ok(values::package_vars(&self.capture, filter, cfg)?)
    }

    /// Delve's `ListGoroutines`: a page of goroutines, filtered, then
    /// grouped.
    pub fn list(&self, q: &Query) -> Listing {
        let n = q
            .only
            .as_ref()
            .map_or(self.capture.goroutines().len(), Vec::len);
        let start = q.start.min(n);
        let end = if q.count == 0 {
            n
        } else {
            start.saturating_add(q.count).min(n)
        };
        let nextg = if end < n { end as i64 } else { -1 };
        let group_by = q.group_by.filter(|f| *f != Field::None);
        let page: Vec<usize> = match &q.only {
            Some(only) => only[start..end].to_vec(),
            None => (start..end).collect(),
        };
        if q.filters.is_empty() && group_by.is_none() {
            return Listing {
                goroutines: page,
                nextg,
                groups: Vec::new(),
                too_many_groups: false,
            };
        }
        let mut kept = Vec::new();
        // Goroutines to group, with their group names.
        let mut keyed: Vec<(usize, String)> = Vec::new();
        let members = if q.max_group_members == 0 {
            DEFAULT_GROUP_MEMBERS
        } else {
            q.max_group_members
        };
        for i in page {
            let g = crate::api::goroutine(&self.capture, i, false);
            if !q.filters.iter().all(|f| f.matches(&self.capture, i, &g)) {
                continue;
            }
            match group_by {
                None => kept.push(i),
                Some(field) => keyed.push((i, group_key(field, &q.group_key, &g))),
            }
        }
        let mut out = Listing {
            goroutines: kept,
            nextg,
            ..Listing::default()
        };
        let groups = grouping::group(
            keyed.len(),
            |p| {
                keyed.get(p).map(|(i, name)| Member {
                    index: *i,
                    key: name.as_str(),
                    state: None,
                })
            },
            |name, _| (*name).to_string(),
            grouping::Options {
                members,
                order: Order::Name,
            },
        );
        for g in groups {
            if q.max_groups > 0 && out.groups.len() >= q.max_groups {
                out.too_many_groups = true;
                break;
            }
            out.groups.push(GoroutineGroup {
                name: g.name,
                offset: out.goroutines.len(),
                count: g.members.len(),
                total: usize::try_from(g.count).unwrap_or(usize::MAX),
            });
            out.goroutines.extend(g.members);
        }
        out
    }

    /// The goroutines waiting on a channel (receivers, then senders):
    /// `expr` is evaluated in `scope`, or is the cast the dlv client sends
    /// (`*(*"chan T")(0xADDR)`, the address of a channel variable).
    pub fn channel_waiters(
        &self,
        scope: Option<Scope>,
        expr: &str,
    ) -> Result<Vec<usize>, RequestError> {
        let evaluated = scope
            .and_then(|sc| self.eval(sc, expr, &LoadConfig::default()).ok())
            .filter(|v| v.kind == crate::pretty::kind::CHAN);
        let v = match evaluated {
            Some(v) => v,
            None => self.channel_from_cast(expr)?,
        };
        let info = values::channel_info(&self.capture, &v)
            .ok_or_else(|| RequestError::Read(format!("{expr} is not a channel, or is nil")))?;
        Ok(info
            .receivers
            .iter()
            .chain(&info.senders)
            .filter_map(|&id| self.goroutine_index(id as i64).ok())
            .collect())
    }

    /// `*(*"chan T")(0xADDR)` or `*(*chan T)(0xADDR)`: the channel
    /// variable at ADDR.
    fn channel_from_cast(&self, expr: &str) -> Result<Variable, RequestError> {
        let bad = || RequestError::Read(format!("cannot read the channel {expr:?}"));
        let rest = expr.trim().strip_prefix("*(*").ok_or_else(bad)?;
        let (ty, addr) = rest.rsplit_once(")(").ok_or_else(bad)?;
        let addr = addr.strip_suffix(')').ok_or_else(bad)?;
        let addr = addr
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(bad)?;
        let ty = ty.trim_matches('"').to_string();
        if !ty.contains("chan") {
            return Err(bad());
        }
        let base = self.capture.target().mem().read_ptr(addr).map_err(|e| {
            RequestError::Read(format!("cannot read the channel at {addr:#x}: {e}"))
        })?;
        Ok(Variable {
            addr,
            type_name: ty.clone(),
            real_type: ty,
            kind: crate::pretty::kind::CHAN,
            base,
            ..Variable::default()
        })
    }

    /// Registers of a thread (`tid`; 0 is the current thread).
    pub fn thread_registers(&self, tid: i64, all: bool) -> Result<Vec<Register>, RequestError> {
        let k = if tid == 0 {
            self.selection().thread
        } else {
            u64::try_from(tid)
                .ok()
                .and_then(|t| self.threads_by_tid.get(&t).copied())
        }
        .ok_or_else(|| {
            if self.capture.target().threads().is_empty() {
                RequestError::Read(
                    "no thread registers: the process was read without stopping it".to_string(),
                )
            } else {
                RequestError::UnknownThread(tid)
            }
        })?;
        let th = self
            .capture
            .target()
            .threads()
            .get(k)
            .ok_or(RequestError::UnknownThread(tid))?;
        Ok(delve_registers(&th.regs, all))
    }

    /// Registers of a frame: the thread's for the innermost frame of a
    /// goroutine on a thread, else the pc and sp the unwinder found (the
    /// others are not known in outer frames of a snapshot).
    pub fn scope_registers(&self, scope: Scope, all: bool) -> Result<Vec<Register>, RequestError> {
        if scope.frame == 0 {
            if let Some(k) = self.thread_of_goroutine(scope.goroutine) {
                if let Some(th) = self.capture.target().threads().get(k) {
                    return Ok(delve_registers(&th.regs, all));
                }
            }
        }
        let frames = self.frames(scope.goroutine);
        let f = frames
            .get(scope.frame)
            .ok_or_else(|| RequestError::Read(format!("frame {} does not exist", scope.frame)))?;
        let arm64 = self.capture.target().bin().arch() == gosleuth_gobin::Arch::Arm64;
        let (pc, sp) = if arm64 {
            (("Pc", 32), ("Sp", 31))
        } else {
            (("Rip", 16), ("Rsp", 7))
        };
        let pc_value = f.frame.pc.unwrap_or(f.raw.pc);
        Ok(vec![
            Register {
                name: pc.0.into(),
                value: format!("{pc_value:#018x}"),
                dwarf_number: pc.1,
            },
            Register {
                name: sp.0.into(),
                value: format!("{:#018x}", f.raw.sp()),
                dwarf_number: sp.1,
            },
        ])
    }

    /// Source files of the program (those that hold the entry of at least
    /// one function), sorted.
    pub fn all_sources(&self) -> &[String] {
        self.sources.get_or_init(|| {
            let pcln = self.capture.target().bin().pcln();
            let mut files: Vec<String> = pcln
                .funcs()
                .filter_map(|f| f.file(f.entry()).map(|c| c.into_owned()))
                .collect();
            files.sort_unstable();
            files.dedup();
            files
        })
    }

    /// Delve's `ListSources`.
    pub fn sources(&self, filter: &str) -> Result<Vec<String>, RequestError> {
        let re = regex(filter)?;
        Ok(self
            .all_sources()
            .iter()
            .filter(|f| re.as_ref().is_none_or(|r| r.is_match(f)))
            .cloned()
            .collect())
    }

    /// Delve's `ListFunctions`.
    pub fn functions(&self, filter: &str) -> Result<Vec<String>, RequestError> {
        let re = regex(filter)?;
        Ok(self
            .capture
            .target()
            .bin()
            .pcln()
            .funcs()
            .map(|f| f.name().into_owned())
            .filter(|n| re.as_ref().is_none_or(|r| r.is_match(n)))
            .collect())
    }

    /// Delve's `ListTypes` (from DWARF).
    pub fn types(&self, filter: &str) -> Result<Vec<String>, RequestError> {
        let re = regex(filter)?;
        let d = self
            .capture
            .target()
            .bin()
            .dwarf()
            .map_err(|e| RequestError::Read(format!("cannot read DWARF: {e}")))?
            .ok_or_else(|| {
                RequestError::Read("the binary has no DWARF: types are not known".into())
            })?;
        let mut names: Vec<String> = d
            .type_names()
            .map_err(|e| RequestError::Read(format!("cannot read DWARF types: {e}")))?
            .into_iter()
            .filter(|n| re.as_ref().is_none_or(|r| r.is_match(n)))
            .map(str::to_string)
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    /// Delve's `ListPackagesBuildInfo`, from the function table: each
    /// package with the directory of its files.
    pub fn packages(
        &self,
        filter: &str,
        files: bool,
    ) -> Result<Vec<PackageBuildInfo>, RequestError> {
        let re = regex(filter)?;
        let mut pkgs: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for f in self.capture.target().bin().pcln().funcs() {
            let name = f.name();
            let pkg = gosleuth_model::package_of(&name);
            if pkg.is_empty() || re.as_ref().is_some_and(|r| !r.is_match(pkg)) {
                continue;
            }
            let e = pkgs.entry(pkg.to_string()).or_default();
            if let Some(file) = f.file(f.entry()) {
                e.insert(file.into_owned());
            }
        }
        Ok(pkgs
            .into_iter()
            .map(|(pkg, fs)| {
                let dir = fs
                    .iter()
                    .next()
                    .and_then(|f| f.rsplit_once('/').map(|(d, _)| d.to_string()))
                    .unwrap_or_default();
                PackageBuildInfo {
                    import_path: pkg,
                    directory_path: dir,
                    files: files.then(|| fs.into_iter().collect()),
                }
            })
            .collect())
    }

    /// Reads target memory (at most 64 KiB, like Delve).
    pub fn examine_memory(&self, addr: u64, len: i64) -> Result<Vec<u8>, RequestError> {
        const LIMIT: i64 = 1 << 16;
        if !(0..=LIMIT).contains(&len) {
            return Err(RequestError::BadRequest(format!(
                "len must be between 0 and {LIMIT}"
            )));
        }
        self.capture
            .target()
            .mem()
            .read_vec(addr, len as usize)
            .map_err(|e| RequestError::Read(format!("cannot read {len} bytes at {addr:#x}: {e}")))
    }

    /// The goroutine `gi` in Delve's shape.
    pub fn goroutine(&self, gi: usize) -> Goroutine {
        crate::api::goroutine(&self.capture, gi, false)
    }

    /// Delve's name of a function entry, for locations.
    pub(crate) fn function_at(&self, link_pc: u64) -> Option<Function> {
        let f = self.capture.target().bin().pcln().func_for_pc(link_pc)?;
        Some(Function {
            name: f.name().into_owned(),
            value: f.entry().wrapping_add(self.capture.target().bias()),
            kind: 0,
            go_type: 0,
            optimized: true,
        })
    }
}

/// A filter regular expression (empty: everything).
fn regex(filter: &str) -> Result<Option<regex::Regex>, RequestError> {
    if filter.is_empty() {
        return Ok(None);
    }
    regex::Regex::new(filter)
        .map(Some)
        .map_err(|e| RequestError::BadRequest(format!("invalid filter {filter:?}: {e}")))
}
