//! Delve's location expressions (`FindLocation`, the REPL's `list`):
//!
//! ```text
//! *ADDRESS | FILE:LINE | FUNCTION[:LINE] | /REGEX/ | +N | -N | LINE
//! ```
//!
//! Files match by full path or by a suffix that starts at a `/`;
//! functions by full name or by a suffix after a `.` or `/`, with
//! receivers written `(*T).M`, `T.M` or `*T.M`.

use crate::api::{Location, location, pc_location};
use crate::error::RequestError;
use gosleuth_runtime::values::Scope;

use crate::session::Session;

/// Most pcs of one function scanned for a line (bounds the work on
/// corrupt or huge functions).
const MAX_FUNC_SCAN: u64 = 1 << 20;
/// Most locations a regular expression returns.
const MAX_MATCHES: usize = 1000;

/// `main.(*T).M` → `main.T.M`, for matching receivers however written.
fn normalize(name: &str) -> String {
    name.replace("(*", "").replace(['(', ')', '*'], "")
}

impl Session {
    /// Delve's `FindLocation`. `scope` gives the current file and line for
    /// relative expressions (the selected goroutine's innermost frame when
    /// absent).
    pub fn find_location(
        &self,
        scope: Option<Scope>,
        spec: &str,
        include_non_exec: bool,
    ) -> Result<Vec<Location>, RequestError> {
        self.locate(scope, spec, include_non_exec)
            .map_err(RequestError::Location)
    }

    fn locate(
        &self,
        scope: Option<Scope>,
        spec: &str,
        include_non_exec: bool,
    ) -> Result<Vec<Location>, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty location expression".into());
        }
        if let Some(addr) = spec.strip_prefix('*') {
            let pc = parse_u64(addr.trim())
                .ok_or_else(|| format!("bad address in location {spec:?}"))?;
            return Ok(vec![pc_location(self.capture(), pc)]);
        }
        if let Some(re) = spec
            .strip_prefix('/')
            .and_then(|s| s.strip_suffix('/'))
            .filter(|s| !s.is_empty())
        {
            let re = regex::Regex::new(re).map_err(|e| format!("bad regular expression: {e}"))?;
            let pcln = self.capture().target().bin().pcln();
            return Ok(pcln
                .funcs()
                .filter(|f| re.is_match(&f.name()))
                .take(MAX_MATCHES)
                .map(|f| pc_location(self.capture(), self.run_pc(f.entry())))
                .collect());
        }
        if let Some(rel) = spec.strip_prefix('+').or_else(|| spec.strip_prefix('-')) {
            let n: i64 = rel
                .parse()
                .map_err(|_| format!("bad line offset in location {spec:?}"))?;
            let (file, line) = self.current_position(scope)?;
            let line = if spec.starts_with('-') {
                i64::from(line) - n
            } else {
                i64::from(line) + n
            };
            let line = u32::try_from(line).map_err(|_| format!("line {line} out of range"))?;
            return self.line_location(&file, line, include_non_exec);
        }
        if spec.bytes().all(|b| b.is_ascii_digit()) {
            let line: u32 = spec.parse().map_err(|_| format!("bad line {spec:?}"))?;
            let (file, _) = self.current_position(scope)?;
            return self.line_location(&file, line, include_non_exec);
        }
        if let Some((left, right)) = spec.rsplit_once(':') {
            if let Ok(line) = right.parse::<u32>() {
                let looks_like_file =
                    left.contains('/') || left.ends_with(".go") || left.ends_with(".s");
                if looks_like_file {
                    return self.file_line_location(left, line, include_non_exec);
                }
                let file = match self.resolve_function(left) {
                    Ok((_, file)) => {
                        file.ok_or_else(|| format!("function {left} has no source file"))?
                    }
                    Err(e) => self
                        .inlined_location(left)
                        .and_then(|l| l.into_iter().next())
                        .map(|l| l.file)
                        .ok_or(e)?,
                };
                return self.line_location(&file, line, include_non_exec);
            }
        }
        match self.resolve_function(spec) {
            Ok((entry, _)) => Ok(vec![pc_location(self.capture(), self.run_pc(entry))]),
            Err(e) => self.inlined_location(spec).ok_or(e),
        }
    }

    /// A function that exists only inlined has no entry in the function
    /// table: it is found where a goroutine's stack shows it.
    fn inlined_location(&self, spec: &str) -> Option<Vec<Location>> {
        let want = normalize(spec);
        let c = self.capture();
        for gi in 0..c.goroutines().len() {
            for f in self.frames(gi) {
                let norm = normalize(&f.frame.function);
                let hit = f.frame.inlined
                    && (norm == want
                        || norm
                            .strip_suffix(want.as_str())
                            .is_some_and(|h| h.ends_with('.') || h.ends_with('/')));
                if hit {
                    return Some(vec![location(c, f.frame)]);
                }
            }
        }
        None
    }

    fn run_pc(&self, link: u64) -> u64 {
        link.wrapping_add(self.capture().target().bias())
    }

    /// File and line of the scope's frame.
    fn current_position(&self, scope: Option<Scope>) -> Result<(String, u32), String> {
        let scope = match scope {
            Some(s) => s,
            None => self.scope(-1, 0, 0).map_err(|e| e.to_string())?,
        };
        let frames = self.frames(scope.goroutine);
        let f = frames
            .get(scope.frame)
            .ok_or("the current frame does not exist")?;
        Ok((f.frame.file.clone(), f.frame.line))
    }

    /// The source files `spec` names: the file itself, or those ending
    /// with `/spec`.
    fn resolve_files(&self, spec: &str) -> Result<Vec<String>, String> {
        let sources = self.all_sources();
        if sources.iter().any(|f| f == spec) {
            return Ok(vec![spec.to_string()]);
        }
        let suffix = format!("/{}", spec.trim_start_matches("./"));
        let found: Vec<String> = sources
            .iter()
            .filter(|f| f.ends_with(&suffix))
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(format!("location {spec:?} not found: no such source file"));
        }
        Ok(found)
    }

    /// `FILE:LINE` where FILE may name several files: the one with code
    /// at that line wins.
    fn file_line_location(
        &self,
        spec: &str,
        line: u32,
        include_non_exec: bool,
    ) -> Result<Vec<Location>, String> {
        let files = self.resolve_files(spec)?;
        if let [one] = files.as_slice() {
            return self.line_location(one, line, include_non_exec);
        }
        let with_code: Vec<Vec<Location>> = files
            .iter()
            .filter_map(|f| self.line_location(f, line, false).ok())
            .collect();
        match with_code.len() {
            1 => Ok(with_code.into_iter().flatten().collect()),
            _ => Err(format!(
                "location \"{spec}:{line}\" is ambiguous: {}",
                files
                    .iter()
                    .take(10)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The entry (link-time) and file of the one function `spec` names.
    fn resolve_function(&self, spec: &str) -> Result<(u64, Option<String>), String> {
        let pcln = self.capture().target().bin().pcln();
        let pick =
            |f: gosleuth_gobin::Func<'_>| (f.entry(), f.file(f.entry()).map(|c| c.into_owned()));
        if let Some(f) = pcln.func_by_name(spec) {
            return Ok(pick(f));
        }
        let want = normalize(spec);
        let mut found = Vec::new();
        for f in pcln.funcs() {
            let name = f.name();
            let norm = normalize(&name);
            let hit = norm == want
                || norm
                    .strip_suffix(want.as_str())
                    .is_some_and(|head| head.ends_with('.') || head.ends_with('/'));
            if hit {
                found.push(f);
                if found.len() > 10 {
                    break;
                }
            }
        }
        match found.len() {
            0 => Err(format!("location {spec:?} not found")),
            1 => Ok(pick(found.remove(0))),
            _ => Err(format!(
                "location {spec:?} is ambiguous: {}",
                found
                    .iter()
                    .take(10)
                    .map(|f| f.name().into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The lowest pc of `file:line`, or the line alone when it has no
    /// code and `include_non_exec` is set.
    fn line_location(
        &self,
        file: &str,
        line: u32,
        include_non_exec: bool,
    ) -> Result<Vec<Location>, String> {
        let pcln = self.capture().target().bin().pcln();
        let mut best: Option<u64> = None;
        for f in pcln.funcs() {
            if f.file(f.entry()).as_deref() != Some(file) {
                continue;
            }
            let end = f.end().min(f.entry().saturating_add(MAX_FUNC_SCAN));
            let pcs: Vec<u64> = (f.entry()..end).collect();
            let mut first: Option<u64> = None;
            pcln.lookup_batch(&pcs, |i, loc| {
                if let Some(loc) = loc {
                    if loc.line == Some(line) && loc.file.as_deref() == Some(file) {
                        let pc = pcs[i];
                        first = Some(first.map_or(pc, |p| p.min(pc)));
                    }
                }
            });
            if let Some(pc) = first {
                best = Some(best.map_or(pc, |b| b.min(pc)));
            }
        }
        match best {
            Some(pc) => {
                let mut loc = pc_location(self.capture(), self.run_pc(pc));
                loc.file = file.to_string();
                loc.line = line;
                if loc.function.is_none() {
                    loc.function = self.function_at(pc);
                }
                Ok(vec![loc])
            }
            None if include_non_exec => Ok(vec![Location {
                pc: 0,
                file: file.to_string(),
                line,
                function: None,
            }]),
            None => Err(format!(
                "could not find statement at {file}:{line}, please use a line with a statement"
            )),
        }
    }
}

/// `0x1f`, `1f` is not accepted without `0x`; decimal otherwise.
fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_normalize() {
        assert_eq!(normalize("main.(*Metrics).CountS"), "main.Metrics.CountS");
        assert_eq!(normalize("(*Metrics).CountS"), "Metrics.CountS");
        assert_eq!(normalize("*Metrics.CountS"), "Metrics.CountS");
        assert_eq!(parse_u64("0x10"), Some(16));
        assert_eq!(parse_u64("10"), Some(10));
        assert_eq!(parse_u64("zz"), None);
    }
}
