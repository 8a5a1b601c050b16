//! gosleuth's goroutine filters (`--with`/`--without` of `gosleuth core`
//! and `attach`, and the REPL's `goroutines --with`): a regular expression
//! over a location written `function file:line`, a pprof label, a state,
//! or `running`/`user`. Delve's own spelling (a substring of `file:line in
//! function`) is `gosleuth_dlvrpc`'s.

use gosleuth_memory::Memory;
use gosleuth_model::{Frame, Stack};

use crate::capture::View;
use crate::goroutines::status;

/// Which location of a goroutine a filter looks at (Delve's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// Delve's user location: the first physical frame in user code
    /// (standard library included; runtime and `internal/` not), else
    /// the current location.
    User,
    /// The innermost physical frame.
    Current,
    /// The `go` statement that created it.
    Go,
    /// The function it started in.
    Start,
}

/// One condition on a goroutine.
#[derive(Debug, Clone)]
pub enum Filter {
    Loc(Loc, regex::Regex),
    /// A pprof label, with or without a value.
    Label(String, Option<String>),
    /// The state as the runtime names it (`chan receive`, `running`...).
    State(regex::Regex),
    Running,
    /// Has a frame outside the runtime.
    User,
}

/// Why a filter does not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// A regular expression does not compile.
    #[error("bad pattern in filter {filter:?}: {source}")]
    BadPattern {
        filter: String,
        #[source]
        source: regex::Error,
    },
    /// Not one of the filters.
    #[error(
        "unknown filter {0:?}: use userloc=RE, curloc=RE, goloc=RE, startloc=RE, \
         label=KEY[=VALUE], state=RE, running or user"
    )]
    Unknown(String),
}

impl Filter {
    /// Parses `userloc=RE`, `curloc=RE`, `goloc=RE`, `startloc=RE`,
    /// `label=KEY[=VALUE]`, `state=RE`, `running` or `user`.
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        let re = |p: &str| {
            regex::Regex::new(p).map_err(|source| FilterError::BadPattern {
                filter: s.to_string(),
                source,
            })
        };
        Ok(match s.split_once('=') {
            Some(("userloc", p)) => Filter::Loc(Loc::User, re(p)?),
            Some(("curloc", p)) => Filter::Loc(Loc::Current, re(p)?),
            Some(("goloc", p)) => Filter::Loc(Loc::Go, re(p)?),
            Some(("startloc", p)) => Filter::Loc(Loc::Start, re(p)?),
            Some(("state", p)) => Filter::State(re(p)?),
            Some(("label", kv)) => match kv.split_once('=') {
                Some((k, v)) => Filter::Label(k.into(), Some(v.into())),
                None => Filter::Label(kv.into(), None),
            },
            None if s == "running" => Filter::Running,
            None if s == "user" => Filter::User,
            _ => return Err(FilterError::Unknown(s.to_string())),
        })
    }

    /// Whether the goroutine `v` passes.
    pub fn matches<M: Memory>(&self, v: &View<'_, M>) -> bool {
        match self {
            Filter::Loc(loc, re) => location(v, *loc).is_some_and(|f| re.is_match(&describe(&f))),
            Filter::Label(k, val) => v
                .labels()
                .iter()
                .any(|(lk, lv)| lk == k && val.as_ref().is_none_or(|x| x == lv)),
            Filter::State(re) => re.is_match(v.state()),
            Filter::Running => v.raw().status == status::RUNNING,
            Filter::User => v.frame_iter().any(|f| !f.is_runtime()),
        }
    }
}

/// `function file:line`, what location patterns match.
pub fn describe(f: &Frame) -> String {
    format!("{} {}:{}", f.function, f.file, f.line)
}

/// The frame at `loc` of goroutine `v`: Delve's locations
/// ([`View::user_location`], [`View::current_location`]), named by the
/// function that owns the pc, as `dlv`'s `goroutines -with` matches them.
pub fn location<M: Memory>(v: &View<'_, M>, loc: Loc) -> Option<Frame> {
    match loc {
        Loc::Current => v.current_location(),
        Loc::User => v.user_location(),
        Loc::Go => v.created_by_frame(),
        Loc::Start => v.start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_and_explains_the_rest() {
        assert!(matches!(
            Filter::parse("userloc=main\\."),
            Ok(Filter::Loc(Loc::User, _))
        ));
        assert!(matches!(
            Filter::parse("goloc=x"),
            Ok(Filter::Loc(Loc::Go, _))
        ));
        assert!(matches!(
            Filter::parse("label=kind=send"),
            Ok(Filter::Label(k, Some(v))) if k == "kind" && v == "send"
        ));
        assert!(matches!(
            Filter::parse("label=kind"),
            Ok(Filter::Label(_, None))
        ));
        assert!(matches!(Filter::parse("running"), Ok(Filter::Running)));
        assert!(
            Filter::parse("userloc=(")
                .unwrap_err()
                .to_string()
                .contains("bad pattern")
        );
        assert!(
            Filter::parse("where=x")
                .unwrap_err()
                .to_string()
                .contains("unknown filter")
        );
    }
}
