//! Goroutine filters and grouping, in Delve's two spellings and gosleuth's.
//!
//! Delve's (`ListGoroutines` filters, the REPL's `goroutines -with userloc
//! X`) match a location as a *substring* of `file:line in function`, like
//! `dlv` does. gosleuth's (`--with userloc=RE`) are
//! [`gosleuth_runtime::filter`], the code `gosleuth core --with` runs: a
//! *regular expression* over `function file:line`. Both are kept with
//! their own meaning so that a filter copied from either tool selects the
//! same goroutines.

use crate::api::{Goroutine, Location};
use gosleuth_runtime::Capture;

/// Delve's `api.GoroutineField` (numbering kept: it goes over the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    None,
    CurrentLoc,
    UserLoc,
    GoLoc,
    StartLoc,
    Label,
    Running,
    User,
    WaitingOnChannel,
    /// gosleuth's `state=RE` (not a Delve field).
    State,
}

impl Field {
    /// From Delve's number.
    pub fn from_delve(n: u64) -> Option<Field> {
        Some(match n {
            0 => Field::None,
            1 => Field::CurrentLoc,
            2 => Field::UserLoc,
            3 => Field::GoLoc,
            4 => Field::StartLoc,
            5 => Field::Label,
            6 => Field::Running,
            7 => Field::User,
            8 => Field::WaitingOnChannel,
            _ => return None,
        })
    }

    /// From a name as `dlv` and `gosleuth` spell it.
    pub fn from_name(s: &str) -> Option<Field> {
        Some(match s {
            "curloc" => Field::CurrentLoc,
            "userloc" => Field::UserLoc,
            "goloc" => Field::GoLoc,
            "startloc" => Field::StartLoc,
            "label" => Field::Label,
            "running" => Field::Running,
            "user" => Field::User,
            "state" => Field::State,
            _ => return None,
        })
    }
}

/// How a filter's argument matches.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Delve: substring of `file:line in function`.
    Substring(String),
    /// gosleuth's spelling, matched as `gosleuth core --with` matches it.
    Gosleuth(gosleuth_runtime::filter::Filter),
}

/// One `-with`/`-without` condition.
#[derive(Debug, Clone)]
pub struct Filter {
    pub field: Field,
    pub negated: bool,
    pub pattern: Pattern,
    /// The raw argument (label `KEY[=VALUE]`, channel expression).
    pub arg: String,
}

impl Filter {
    /// A Delve filter (`api.ListGoroutinesFilter`).
    pub fn delve(field: Field, negated: bool, arg: &str) -> Filter {
        Filter {
            field,
            negated,
            pattern: Pattern::Substring(arg.to_string()),
            arg: arg.to_string(),
        }
    }

    /// gosleuth's spelling: `userloc=RE`, `curloc=RE`, `goloc=RE`,
    /// `startloc=RE`, `label=KEY[=VALUE]`, `state=RE`, `running`, `user`.
    pub fn gosleuth(
        s: &str,
        negated: bool,
    ) -> Result<Filter, gosleuth_runtime::filter::FilterError> {
        use gosleuth_runtime::filter::{Filter as F, Loc};
        let f = F::parse(s)?;
        let field = match &f {
            F::Loc(Loc::User, _) => Field::UserLoc,
            F::Loc(Loc::Current, _) => Field::CurrentLoc,
            F::Loc(Loc::Go, _) => Field::GoLoc,
            F::Loc(Loc::Start, _) => Field::StartLoc,
            F::Label(..) => Field::Label,
            F::State(_) => Field::State,
            F::Running => Field::Running,
            F::User => Field::User,
        };
        Ok(Filter {
            field,
            negated,
            pattern: Pattern::Gosleuth(f),
            arg: s.split_once('=').map_or("", |kv| kv.1).to_string(),
        })
    }

    /// Whether goroutine `i` (whose Delve shape is `g`) passes.
    pub fn matches(&self, c: &Capture, i: usize, g: &Goroutine) -> bool {
        let Some(raw) = c.goroutines().get(i) else {
            return false;
        };
        let substring = match &self.pattern {
            Pattern::Gosleuth(f) => return f.matches(&c.view(i)) != self.negated,
            Pattern::Substring(s) => s.as_str(),
        };
        let loc = |l: &Location| delve_loc(l).contains(substring);
        let v = match self.field {
            Field::None | Field::WaitingOnChannel => true,
            Field::CurrentLoc => loc(&g.current_loc),
            Field::UserLoc => loc(&g.user_current_loc),
            Field::GoLoc => loc(&g.go_statement_loc),
            Field::StartLoc => loc(&g.start_loc),
            Field::Label => match self.arg.split_once('=') {
                Some((k, val)) => g.labels.get(k).is_some_and(|x| x == val),
                None => g.labels.contains_key(&self.arg),
            },
            Field::Running => g.thread_id != 0,
            Field::User => !is_system(g),
            Field::State => c.state(raw).contains(substring),
        };
        v != self.negated
    }
}

/// Delve's `formatLoc`: `file:line in function`.
pub fn delve_loc(l: &Location) -> String {
    let name = l.function.as_ref().map_or("?", |f| f.name.as_str());
    format!("{}:{} in {name}", l.file, l.line)
}

/// Delve's `G.System`: started by the runtime for itself.
pub fn is_system(g: &Goroutine) -> bool {
    match g.start_loc.function.as_ref().map(|f| f.name.as_str()) {
        None | Some("runtime.main" | "runtime.handleAsyncEvent") => false,
        Some(name) => name.starts_with("runtime."),
    }
}

/// Delve's grouping key of a goroutine (`GroupGoroutines`).
pub fn group_key(field: Field, key: &str, g: &Goroutine) -> String {
    match field {
        Field::CurrentLoc => delve_loc(&g.current_loc),
        Field::UserLoc => delve_loc(&g.user_current_loc),
        Field::GoLoc => delve_loc(&g.go_statement_loc),
        Field::StartLoc => delve_loc(&g.start_loc),
        Field::Label => format!("{key}={}", g.labels.get(key).map_or("", String::as_str)),
        Field::Running => format!("running={}", g.thread_id != 0),
        Field::User => format!("user={}", !is_system(g)),
        Field::None | Field::WaitingOnChannel | Field::State => String::new(),
    }
}
