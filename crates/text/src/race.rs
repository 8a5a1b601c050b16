//! The race detector's reports (ThreadSanitizer, Go flavour).
//!
//! ```text
//! ==================
//! WARNING: DATA RACE
//! Write at 0x00c000124030 by goroutine 8:
//!   main.Handle.func1()
//!       /src/panic_test.go:21 +0x44
//!
//! Previous read at 0x00c000124030 by goroutine 7:
//!   ...
//! Goroutine 8 (running) created at:
//!   ...
//! ==================
//! ```

use gosleuth_model::{AccessKind, Frame, RaceAccess, RaceGoroutine, RaceLocation, RaceReport};

use crate::lines::{file_line, function_line, parse_hex};

/// The line that opens and closes a report.
pub const SEPARATOR: &str = "==================";
/// The first line inside a report.
pub const WARNING: &str = "WARNING: DATA RACE";

/// True when a line can belong to a report: blank, indented (frames), or
/// one of the section headers.
pub fn continues_block(line: &str) -> bool {
    if line.is_empty() || line.starts_with(' ') || line.starts_with('\t') {
        return true;
    }
    let section = line.strip_prefix("Previous ").unwrap_or(line);
    let lower = section.to_ascii_lowercase();
    [
        "write at ",
        "read at ",
        "atomic write at ",
        "atomic read at ",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || (line.starts_with("Goroutine ") && line.ends_with("created at:"))
        || line.starts_with("Location is ")
        || line.starts_with("Heap block of size ")
        || line.starts_with("Global var ")
}

/// What the lines of a section are collected into.
enum Section {
    None,
    Access(usize),
    HeapBlock,
    Goroutine(usize),
}

/// Parses the lines between two separators (the `WARNING: DATA RACE` line
/// included). Returns `None` when the block is not a data-race report.
pub fn parse_block(lines: &[String], line_no: u64) -> Option<RaceReport> {
    let mut iter = lines.iter().map(|l| l.trim_end());
    if iter.next()? != WARNING {
        return None;
    }
    let mut report = RaceReport {
        line: line_no,
        accesses: Vec::new(),
        location: None,
        goroutines: Vec::new(),
        occurrences: 1,
        test: None,
    };
    let mut section = Section::None;
    let mut pending: Option<(String, String)> = None;
    for line in iter {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            flush(&mut pending, &mut report, &section);
            section = header(line, &mut report);
            continue;
        }
        if line.trim() == "[failed to restore the stack]" {
            if let Section::Access(i) = section {
                if let Some(a) = report.accesses.get_mut(i) {
                    a.stack_restored = false;
                }
            }
            continue;
        }
        let trimmed = line.trim_start();
        if let Some(fl) =
            file_line(line).filter(|_| trimmed.starts_with('/') || line.starts_with("      "))
        {
            if let Some((function, args)) = pending.take() {
                push_frame(
                    &mut report,
                    &section,
                    Frame {
                        function,
                        args,
                        file: fl.file.to_string(),
                        line: fl.line,
                        offset: fl.offset,
                        pc: fl.pc,
                        inlined: fl.offset.is_none(),
                    },
                );
            }
        } else if let Some((f, args)) = function_line(trimmed, true) {
            flush(&mut pending, &mut report, &section);
            pending = Some((f.to_string(), args.to_string()));
        }
    }
    flush(&mut pending, &mut report, &section);
    (!report.accesses.is_empty()).then_some(report)
}

fn flush(pending: &mut Option<(String, String)>, report: &mut RaceReport, section: &Section) {
    if let Some((function, args)) = pending.take() {
        push_frame(
            report,
            section,
            Frame {
                function,
                args,
                file: String::new(),
                line: 0,
                offset: None,
                pc: None,
                inlined: false,
            },
        );
    }
}

fn push_frame(report: &mut RaceReport, section: &Section, frame: Frame) {
    match *section {
        Section::Access(i) => {
            if let Some(a) = report.accesses.get_mut(i) {
                a.frames.push(frame);
            }
        }
        Section::HeapBlock => {
            if let Some(RaceLocation::HeapBlock { allocated_at, .. }) = &mut report.location {
                allocated_at.push(frame);
            }
        }
        Section::Goroutine(i) => {
            if let Some(g) = report.goroutines.get_mut(i) {
                g.created_at.push(frame);
            }
        }
        Section::None => {}
    }
}

/// A section header line; registers the section in the report.
fn header(line: &str, report: &mut RaceReport) -> Section {
    if let Some(access) = access_header(line) {
        report.accesses.push(access);
        return Section::Access(report.accesses.len() - 1);
    }
    if let Some(g) = goroutine_header(line) {
        report.goroutines.push(g);
        return Section::Goroutine(report.goroutines.len() - 1);
    }
    let loc = line.strip_prefix("Location is ").unwrap_or(line);
    if let Some(rest) = loc
        .strip_prefix("Heap block of size ")
        .or_else(|| loc.strip_prefix("heap block of size "))
    {
        // `N at 0xADDR allocated by goroutine N:` / `... by main goroutine:`
        let mut words = rest.split(' ');
        let size = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let addr = words.nth(1).and_then(parse_hex).unwrap_or(0);
        report.location = Some(RaceLocation::HeapBlock {
            size,
            addr,
            goroutine: goroutine_of(rest),
            allocated_at: Vec::new(),
        });
        return Section::HeapBlock;
    }
    if let Some(rest) = loc
        .strip_prefix("Global var ")
        .or_else(|| loc.strip_prefix("global "))
    {
        // `NAME of size N at 0xADDR declared at FILE:LINE`
        // or `'NAME' of size N at 0xADDR (bin+0x..)`
        let (name, rest) = rest.split_once(" of size ").unwrap_or((rest, ""));
        let mut words = rest.split(' ');
        let size = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let addr = words.nth(1).and_then(parse_hex).unwrap_or(0);
        let declared_at = rest
            .split_once(" declared at ")
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        report.location = Some(RaceLocation::GlobalVar {
            name: name.trim_matches('\'').to_string(),
            size,
            addr,
            declared_at,
        });
        return Section::None;
    }
    Section::None
}

/// `Write at 0x.. by goroutine 8:`, `Previous read at 0x.. by main goroutine:`,
/// `Atomic write at ...`.
fn access_header(line: &str) -> Option<RaceAccess> {
    let (previous, rest) = match line.strip_prefix("Previous ") {
        Some(r) => (true, r),
        None => (false, line),
    };
    let lower = rest.to_ascii_lowercase();
    let (kind, after) = [
        ("atomic write at ", AccessKind::AtomicWrite),
        ("atomic read at ", AccessKind::AtomicRead),
        ("write at ", AccessKind::Write),
        ("read at ", AccessKind::Read),
    ]
    .iter()
    .find_map(|(p, k)| lower.starts_with(p).then(|| (*k, &rest[p.len()..])))?;
    let addr = parse_hex(after.split(' ').next()?)?;
    if !after.ends_with(':') {
        return None;
    }
    Some(RaceAccess {
        kind,
        previous,
        addr,
        goroutine: goroutine_of(after),
        frames: Vec::new(),
        stack_restored: true,
    })
}

/// The goroutine named by `by goroutine N:` (`None` for the main goroutine).
fn goroutine_of(s: &str) -> Option<u64> {
    let rest = s.split_once("by goroutine ")?.1;
    rest.trim_end_matches(':').parse().ok()
}

/// `Goroutine 8 (running) created at:`
fn goroutine_header(line: &str) -> Option<RaceGoroutine> {
    let rest = line.strip_prefix("Goroutine ")?;
    let (id, rest) = rest.split_once(' ')?;
    let state = rest.strip_prefix('(')?.split_once(')')?.0;
    Some(RaceGoroutine {
        id: id.parse().ok()?,
        state: state.to_string(),
        created_at: Vec::new(),
    })
}

/// Merges reports with the same pair of access sites, keeping the first of
/// each and counting the others.
pub fn dedup(reports: Vec<RaceReport>) -> Vec<RaceReport> {
    let mut out: Vec<RaceReport> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for r in reports {
        let key = r.site_key();
        match index.get(&key) {
            Some(&i) => {
                let kept: &mut RaceReport = &mut out[i];
                kept.occurrences += r.occurrences;
            }
            None => {
                index.insert(key, out.len());
                out.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn seed_report() {
        let r = parse_block(
            &block(
                "WARNING: DATA RACE
Write at 0x00c000124030 by goroutine 8:
  command-line-arguments.Handle.func1()
      /src/panic_test.go:21 +0x44

Previous read at 0x00c000124030 by main goroutine:
  command-line-arguments.Process()
      /src/panic_test.go:35 +0x5b
  [failed to restore the stack]

Location is heap block of size 24 at 0x00c000124018 allocated by goroutine 7:
  main.alloc()
      /src/a.go:3 +0x1

Goroutine 8 (running) created at:
  command-line-arguments.Handle()
      /src/panic_test.go:19 +0x116
",
            ),
            1,
        )
        .unwrap();
        assert_eq!(r.accesses.len(), 2);
        assert_eq!(r.accesses[0].kind, AccessKind::Write);
        assert_eq!(r.accesses[0].goroutine, Some(8));
        assert_eq!(r.accesses[0].frames[0].line, 21);
        assert!(r.accesses[1].previous);
        assert_eq!(r.accesses[1].goroutine, None);
        assert!(!r.accesses[1].stack_restored);
        assert_eq!(r.goroutines[0].state, "running");
        assert_eq!(
            r.goroutines[0].created_at[0].function,
            "command-line-arguments.Handle"
        );
        match r.location {
            Some(RaceLocation::HeapBlock {
                size,
                goroutine,
                ref allocated_at,
                ..
            }) => {
                assert_eq!((size, goroutine), (24, Some(7)));
                assert_eq!(allocated_at[0].function, "main.alloc");
            }
            ref other => panic!("unexpected location {other:?}"),
        }
    }

    #[test]
    fn global_var() {
        let r = parse_block(
            &block(
                "WARNING: DATA RACE
Read at 0x000000d0fda8 by goroutine 2:
  main.f()
      /src/a.go:3 +0x1

Global var main.g of size 8 at 0x000000d0fda8 declared at /src/a.go:1
",
            ),
            1,
        )
        .unwrap();
        match r.location {
            Some(RaceLocation::GlobalVar {
                ref name,
                size,
                ref declared_at,
                ..
            }) => {
                assert_eq!(
                    (name.as_str(), size, declared_at.as_str()),
                    ("main.g", 8, "/src/a.go:1")
                );
            }
            ref other => panic!("unexpected location {other:?}"),
        }
    }

    #[test]
    fn not_a_race() {
        assert!(parse_block(&block("something else"), 1).is_none());
    }
}
