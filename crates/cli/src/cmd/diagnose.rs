//! `gosleuth diagnose`: name the deadlock, the leak and the pile-up.
//!
//! ```text
//! gosleuth diagnose DUMP [DUMP2]    text dumps (SIGQUIT output, debug=2, logs with a dump);
//!                                   with two, also the groups that grew between them
//! gosleuth diagnose BIN CORE        a Go binary and a core file of it
//! gosleuth diagnose --pid PID       a live process (read-only)
//! ```
//!
//! Exit status: 0 when nothing critical was found, 1 when a critical
//! finding was made (a deadlock, a crash, thousands of goroutines stuck on
//! one object), 2 on errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use gosleuth_diagnose::{Finding, Options, Subject};
use gosleuth_memory::Mode;
use gosleuth_model::{Similarity, Snapshot};
use gosleuth_render::findings as report;
use gosleuth_render::json;

use crate::output::{ColorChoice, Format, emit};
use gosleuth_evidence::input::{self, Input};
use gosleuth_evidence::kind::FileKind;

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// DUMP \[DUMP2\] (text dumps; - reads standard input, the default), or
    /// BIN CORE (a Go binary and its core file; told apart by their ELF
    /// headers, which also catch swapped arguments or a missing binary).
    pub inputs: Vec<String>,

    /// Diagnose a running process instead: it is frozen only while its
    /// memory is read (see --no-stop, --budget-ms) and never written to.
    #[arg(long, value_name = "PID", conflicts_with = "inputs")]
    pub pid: Option<u32>,

    /// With --pid: the executable, when /proc/PID/exe is not the binary
    /// with symbols.
    #[arg(long, requires = "pid")]
    pub binary: Option<PathBuf>,

    /// With --pid: read without stopping the process (torn reads are
    /// retried; running goroutines show their last scheduling point).
    #[arg(long, requires = "pid")]
    pub no_stop: bool,

    /// With --pid: longest time to spend stopping the threads, in
    /// milliseconds.
    #[arg(long, default_value_t = 100, requires = "pid")]
    pub budget_ms: u64,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Show at most this many findings in text output (0 shows all).
    #[arg(long, default_value_t = 0)]
    pub max_findings: usize,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// What was read, ready for the rules.
struct Loaded {
    name: String,
    subject: Subject,
    warnings: Vec<String>,
}

pub fn run(args: DiagnoseArgs) -> Result<ExitCode> {
    let opts = Options::default();
    let (before, after) = match args.pid {
        Some(pid) => {
            let (pid, mode) =
                super::live::target(pid, args.binary.as_deref(), args.no_stop, args.budget_ms)?;
            (None, live(pid, mode, args.binary.as_deref())?)
        }
        None => {
            let inputs = input::expand(&args.inputs)?;
            crate::stdin::announce_stdin(&inputs, "diagnose");
            if let [Input::File(path)] = inputs.as_slice() {
                if gosleuth_evidence::kind::is_go_trace_file(path) {
                    return trace(path, &args);
                }
            }
            let kinds = inputs.iter().map(kind).collect::<Result<Vec<_>>>()?;
            if let Some(dir) = inputs
                .iter()
                .zip(&kinds)
                .find_map(|(i, k)| (*k == FileKind::Directory).then_some(i))
            {
                bail!(
                    "{} is a directory; diagnose reads a goroutine dump or a log with one \
                     (DUMP [DUMP2]), a Go executable and its core file (BIN CORE), or a running \
                     process (--pid PID)",
                    dir.name()
                );
            }
            match (inputs.as_slice(), kinds.as_slice()) {
                ([one], [FileKind::Core]) => bail!(
                    "{0} is a core file: a core is read with the Go executable it was taken \
                     from, named first: gosleuth diagnose BIN {0}",
                    one.name()
                ),
                ([one], [k]) if k.is_elf() => bail!(
                    "{} is a binary: give its core file too (gosleuth diagnose BIN CORE), \
                     or --pid PID for a running process",
                    one.name()
                ),
                ([one], _) => (None, text(one)?),
                ([first, second], [k1, k2]) if k1.is_elf() || k2.is_elf() => {
                    let (Input::File(bin), Input::File(core)) = (first, second) else {
                        bail!(
                            "BIN CORE must be two files (standard input cannot be a binary or \
                             a core)"
                        );
                    };
                    gosleuth_evidence::kind::check_binary_and_core(
                        "gosleuth diagnose BIN CORE",
                        bin,
                        core,
                    )?;
                    (None, core_file(bin, core)?)
                }
                ([first, second], _) => (Some(text(first)?), text(second)?),
                _ => bail!(
                    "diagnose takes DUMP, DUMP DUMP2 or BIN CORE (or --pid PID); got {} inputs",
                    inputs.len()
                ),
            }
        }
    };

    let findings = match &before {
        Some(b) => gosleuth_diagnose::diagnose_pair(&b.subject, &after.subject, &opts),
        None => gosleuth_diagnose::diagnose(&after.subject, &opts),
    };

    let mut warnings = Vec::new();
    for r in before.iter().chain(std::iter::once(&after)) {
        warnings.extend(r.warnings.iter().map(|w| format!("{}: {w}", r.name)));
    }
    let title = match &before {
        Some(b) => format!(
            "{} -> {} ({} -> {} goroutines)",
            b.name, after.name, b.subject.total, after.subject.total
        ),
        None => after.name.clone(),
    };
    show(
        &args,
        &doc(before.as_ref(), &after, &findings, &warnings),
        &title,
    )
}

/// Prints a run's findings (JSON, or text after its warnings on stderr)
/// and returns the exit status: 1 when one is critical.
fn show(args: &DiagnoseArgs, doc: &json::DiagnoseDoc<'_>, title: &str) -> Result<ExitCode> {
    match args.format {
        Format::Json => emit(&(doc.to_json() + "\n"))?,
        Format::Text => {
            for w in doc.warnings.iter().take(10) {
                eprintln!("gosleuth: warning: {w}");
            }
            if doc.warnings.len() > 10 {
                eprintln!(
                    "gosleuth: ... and {} more warnings",
                    doc.warnings.len() - 10
                );
            }
            let mut out = String::new();
            report::render(
                &mut out,
                title,
                doc.goroutines,
                doc.findings,
                &report::TextOptions {
                    color: args.color.style().color,
                    max_findings: args.max_findings,
                },
            );
            emit(&out)?;
        }
    }
    Ok(if gosleuth_diagnose::has_critical(doc.findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// An execution trace: its findings (long stops of the world, a contended
/// lock, scheduling latency, GC assists).
fn trace(path: &Path, args: &DiagnoseArgs) -> Result<ExitCode> {
    let name = path.display().to_string();
    let (findings, s) = super::trace::findings(path)?;
    let warnings: Vec<String> = s.truncated.iter().cloned().collect();
    let doc = json::DiagnoseDoc {
        source_kind: gosleuth_diagnose::Source::Trace,
        source: &name,
        goroutines: s.goroutines_created,
        findings: &findings,
        warnings: &warnings,
        before: None,
    };
    show(args, &doc, &name)
}

/// The JSON document of one run (render::json::DiagnoseDoc).
fn doc<'a>(
    before: Option<&'a Loaded>,
    after: &'a Loaded,
    findings: &'a [Finding],
    warnings: &'a [String],
) -> json::DiagnoseDoc<'a> {
    json::DiagnoseDoc {
        source_kind: after.subject.source,
        source: &after.name,
        goroutines: after.subject.total,
        findings,
        warnings,
        before: before.map(|b| (b.name.as_str(), b.subject.total)),
    }
}

/// What an input holds, from its first bytes (standard input counts as
/// text).
fn kind(input: &Input) -> Result<FileKind> {
    match input {
        Input::Stdin => Ok(FileKind::Text),
        Input::File(path) => gosleuth_evidence::kind::classify(path)
            .with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The goroutines of a core file read with its binary (for `gosleuth
/// report`).
pub fn core_subject(bin: &Path, core: &Path) -> Result<(Subject, u64)> {
    let loaded = core_file(bin, core)?;
    let total = loaded.subject.total;
    Ok((loaded.subject, total))
}

/// A text dump. Every goroutine is kept when the input is not huge: the
/// lock rules read each one's arguments, and findings list more ids.
fn text(input: &Input) -> Result<Loaded> {
    let size = input.open_plain()?.map(|(_, len)| len);
    let keep = gosleuth_evidence::policy::keep_every_goroutine(size);
    let read = super::triage::read(
        input,
        gosleuth_text::Options {
            similarity: Similarity::AnyValue,
            keep_goroutines: keep,
        },
        "diagnose",
    )?;
    // Reported with the other warnings (on stderr, or in the JSON).
    let broken = read.broken_warning();
    let evidence = read.evidence;
    if evidence.incidents.is_empty() {
        if !evidence.races.is_empty() {
            let n: u64 = evidence.races.iter().map(|r| r.occurrences).sum();
            bail!(
                "{name}: a race detector report ({} distinct data race{}, {n} report{}) and no \
                 goroutine dump: read it with `gosleuth triage {name}` (diagnose reads \
                 goroutine dumps, cores and live processes)",
                evidence.races.len(),
                if evidence.races.len() == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" },
                name = input.name(),
            );
        }
        bail!(
            "{}: no goroutine dump, panic or fatal error in {} lines (diagnose reads SIGQUIT \
             output, /debug/pprof/goroutine?debug=1|2, `go test` output and logs that contain \
             them)",
            input.name(),
            evidence.lines
        );
    }
    let name = input.name();
    let mut warnings = evidence.warnings;
    warnings.extend(broken);
    if !keep {
        warnings.push(format!(
            "large input ({} MB): diagnosed from groups of goroutines with the same stack; \
             lock addresses are read only from goroutines alone in their group",
            size.unwrap_or(0) >> 20
        ));
    }
    Ok(Loaded {
        subject: Subject::from_incidents(name.clone(), evidence.incidents),
        name,
        warnings,
    })
}

/// Options for the runtime reader: diagnosis needs the wait graph.
fn runtime_options() -> gosleuth_runtime::Options {
    gosleuth_runtime::Options { wait_graph: true }
}

/// Every goroutine, or counted records from
/// [`gosleuth_evidence::policy::AGGREGATE_FROM`] goroutines on.
fn snapshot_of(c: &gosleuth_runtime::Capture) -> Snapshot {
    if gosleuth_evidence::policy::aggregate_goroutines(c.goroutines().len()) {
        c.compact_snapshot()
    } else {
        c.snapshot()
    }
}

fn core_file(bin: &Path, core: &Path) -> Result<Loaded> {
    let capture =
        gosleuth_runtime::capture_core(bin, core, &runtime_options()).with_context(|| {
            format!(
                "cannot read the goroutines of core {} (binary {})",
                core.display(),
                bin.display()
            )
        })?;
    let loaded = from_snapshot(core.display().to_string(), snapshot_of(&capture));
    // Not freed: the process ends soon, and freeing a million goroutines'
    // stacks one by one takes a tenth of a second (a core's mapping holds
    // nothing the kernel does not reclaim at exit).
    std::mem::forget(capture);
    Ok(loaded)
}

fn live(pid: i32, mode: Mode, binary: Option<&Path>) -> Result<Loaded> {
    let capture = gosleuth_runtime::capture_live(pid, mode, binary, &runtime_options())
        .with_context(|| format!("cannot read the goroutines of process {pid}"))?;
    Ok(from_snapshot(format!("pid {pid}"), snapshot_of(&capture)))
}

fn from_snapshot(name: String, snapshot: Snapshot) -> Loaded {
    let warnings = snapshot.meta.warnings.clone();
    Loaded {
        name,
        subject: Subject::from_snapshot(snapshot),
        warnings,
    }
}
