//! `gosleuth triage`: read panics, fatal errors, goroutine dumps and race
//! reports from any text, and name the root cause.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use gosleuth_model::{Similarity, TestRun, diff_groups, flaky_tests};
use gosleuth_render::ci;
use gosleuth_render::json::{self, CompareDoc, TRIAGE_SCHEMA, TriageDoc};
use gosleuth_render::tests::Causes;
use gosleuth_render::triage::{self as render, TextOptions};
use gosleuth_text::{Evidence, Options, Parser};

use crate::output::{ColorChoice, emit};
use gosleuth_evidence::BinaryKind;
use gosleuth_evidence::input::{self, Input};

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Files, globs, or - for standard input (the default).
    pub inputs: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TriageFormat,

    /// How alike two stacks must be to share a group.
    #[arg(long, value_enum, default_value_t = SimilarityArg::AnyValue)]
    pub similarity: SimilarityArg,

    /// Compare two dumps (before, after): show the groups that grew or
    /// appeared, the goroutine-leak signal.
    #[arg(long)]
    pub compare: bool,

    /// Show runtime-internal goroutine groups instead of folding them.
    #[arg(long)]
    pub runtime: bool,

    /// Show at most this many groups per incident.
    #[arg(long, default_value_t = 20)]
    pub max_groups: usize,

    /// Show at most this many frames per stack (0 shows all).
    #[arg(long, default_value_t = 0)]
    pub max_frames: usize,

    /// Keep every goroutine in the JSON output, not only the groups.
    #[arg(long)]
    pub all_goroutines: bool,

    /// Do not read source files to show the lines around a root cause.
    #[arg(long)]
    pub no_source: bool,

    /// Where to look for source files whose recorded path does not exist
    /// here: the longest tail of the path found under this directory.
    #[arg(long, default_value = ".")]
    pub source_dir: std::path::PathBuf,

    /// Exit with status 1 when a panic, fatal error or data race is found.
    #[arg(long)]
    pub exit_code: bool,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// `triage --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TriageFormat {
    /// Compact text for people.
    #[default]
    Text,
    /// JSON with a documented, stable schema (docs/json.md).
    Json,
    /// JUnit XML of the `go test` results (for CI test reports).
    Junit,
    /// GitHub Actions annotations (`::error file=...,line=...::...`) for
    /// failed tests, build errors and flaky tests.
    Github,
}

/// `--similarity`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimilarityArg {
    /// Same functions, lines and argument values.
    Exact,
    /// Like exact, but pointer-like arguments may differ.
    AnyPointer,
    /// Same functions and lines, arguments ignored.
    AnyValue,
}

impl From<SimilarityArg> for Similarity {
    fn from(s: SimilarityArg) -> Similarity {
        match s {
            SimilarityArg::Exact => Similarity::Exact,
            SimilarityArg::AnyPointer => Similarity::AnyPointer,
            SimilarityArg::AnyValue => Similarity::AnyValue,
        }
    }
}

/// What was read from one input.
pub struct Read {
    pub evidence: Evidence,
    /// The input broke off after `evidence` was read (a truncated gzip
    /// file, a read error): the caller reports what was read, then this.
    pub broken: Option<anyhow::Error>,
}

impl Read {
    /// Says on stderr that the input broke off, after what was read.
    pub fn warn_broken(&self) {
        if let Some(e) = &self.broken {
            eprintln!(
                "gosleuth: warning: {e:#}; the results are from the {} lines read before it",
                self.evidence.lines
            );
        }
    }

    /// The break as a warning line for JSON output.
    pub fn broken_warning(&self) -> Option<String> {
        self.broken
            .as_ref()
            .map(|e| format!("input broken off after line {}: {e:#}", self.evidence.lines))
    }
}

/// Reads one text input into evidence: plain files are read in parts on
/// every core; stdin and compressed files stream through one parser.
/// Either way memory is bounded by the groups (and the parser's caps),
/// not by the input. An ELF file or a profile is refused with the command
/// that reads it.
pub fn read(input: &Input, opts: Options, command: &str) -> Result<Read> {
    input.check_text(command)?;
    if let Some((file, len)) = input.open_plain()? {
        use std::os::unix::fs::FileExt;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let read_at = |offset: u64, buf: &mut [u8]| file.read_at(buf, offset);
        let evidence = gosleuth_text::parse_parallel_at(len, &read_at, opts, threads)
            .with_context(|| format!("reading {}", input.name()))?;
        return Ok(Read {
            evidence,
            broken: None,
        });
    }
    let mut parser = Parser::new(opts);
    let mut head: Vec<u8> = Vec::new();
    let broken = input.stream(&mut |chunk| {
        if head.len() < 64 {
            head.extend_from_slice(&chunk[..chunk.len().min(64 - head.len())]);
        }
        parser.feed(chunk);
    })?;
    let evidence = parser.finish();
    if evidence.incidents.is_empty() && evidence.races.is_empty() {
        // Standard input cannot be looked at before it is read.
        if let Some(kind) = BinaryKind::of(&head) {
            bail!("{}", kind.advice(&input.name(), command));
        }
    }
    Ok(Read {
        evidence,
        broken: broken.map(anyhow::Error::from),
    })
}

pub fn run(args: TriageArgs) -> Result<ExitCode> {
    let inputs = input::expand(&args.inputs)?;
    let opts = Options {
        similarity: args.similarity.into(),
        keep_goroutines: args.all_goroutines,
    };
    let text_opts = TextOptions {
        style: args.color.style(),
        show_runtime: args.runtime,
        max_groups: args.max_groups,
        max_frames: args.max_frames,
    };
    crate::stdin::announce_stdin(&inputs, "triage");
    if args.compare {
        return compare(&args, &inputs, opts, &text_opts);
    }
    let mut failure = false;
    let mut skipped = false;
    let mut out = String::new();
    let many = inputs.len() > 1;
    // Kept for the documents written at the end (JSON, JUnit, GitHub);
    // text keeps only the test results, for flaky tests.
    let mut docs: Vec<(String, Evidence)> = Vec::new();
    for input in &inputs {
        let read = match read(input, opts, "triage") {
            Ok(r) => r,
            // One unreadable input of many: say so and go on with the rest.
            Err(e) if many => {
                eprintln!("gosleuth: error: {e:#}; skipped");
                skipped = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        read.warn_broken();
        let broken = read.broken_warning();
        let mut evidence = read.evidence;
        if !args.no_source {
            evidence.attach_sources(&args.source_dir);
        }
        failure |= evidence.has_failure();
        match args.format {
            TriageFormat::Text => {
                if many {
                    out.push_str(&text_opts.style.bold(&format!("==> {} <==\n", input.name())));
                }
                render::evidence(&mut out, &input.name(), &evidence, &text_opts);
                emit(&out)?;
                out.clear();
                docs.push((
                    input.name(),
                    Evidence {
                        tests: evidence.tests,
                        ..Evidence::default()
                    },
                ));
            }
            _ => {
                evidence.warnings.extend(broken);
                docs.push((input.name(), evidence));
            }
        }
    }
    let flaky = if many {
        let runs: Vec<&TestRun> = docs.iter().map(|(_, e)| &e.tests).collect();
        flaky_tests(&runs)
    } else {
        Vec::new()
    };
    let names: Vec<String> = docs.iter().map(|(n, _)| n.clone()).collect();
    let ci_runs = || -> Vec<ci::Run<'_>> {
        docs.iter()
            .map(|(name, e)| ci::Run {
                name,
                tests: &e.tests,
                causes: Causes {
                    incidents: &e.incidents,
                    races: &e.races,
                },
            })
            .collect()
    };
    match args.format {
        TriageFormat::Text => {
            if !flaky.is_empty() {
                let mut out = String::from("\n");
                gosleuth_render::tests::flaky(&mut out, &flaky, &names, text_opts.style);
                emit(&out)?;
            }
        }
        TriageFormat::Json => {
            let rendered: Vec<TriageDoc<'_>> = docs
                .iter()
                .map(|(name, e)| TriageDoc {
                    schema: TRIAGE_SCHEMA,
                    source: name,
                    lines: e.lines,
                    incidents: &e.incidents,
                    races: &e.races,
                    races_found: e.races_found,
                    tests: &e.tests,
                    flaky: &flaky,
                    warnings: &e.warnings,
                })
                .collect();
            let s = if rendered.len() == 1 {
                json::to_string(&rendered[0])
            } else {
                json::to_string(&rendered)
            };
            emit(&(s + "\n"))?;
        }
        TriageFormat::Junit => emit(&ci::junit(&ci_runs()))?,
        TriageFormat::Github => {
            let dirs = ModuleDirs::read(&args.source_dir);
            emit(&ci::github(&ci_runs(), &dirs))?;
        }
    }
    Ok(if skipped {
        ExitCode::from(2)
    } else if failure && args.exit_code {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Package directories from the module path in `DIR/go.mod` (the
/// repository root, where `go test ./...` ran).
struct ModuleDirs {
    module: Option<String>,
}

impl ModuleDirs {
    fn read(dir: &std::path::Path) -> ModuleDirs {
        let module = std::fs::read_to_string(dir.join("go.mod"))
            .ok()
            .and_then(|text| {
                text.lines().find_map(|l| {
                    let rest = l.trim().strip_prefix("module")?;
                    let m = rest.trim().trim_matches('"');
                    (!m.is_empty()).then(|| m.to_string())
                })
            });
        ModuleDirs { module }
    }
}

impl ci::PackageDirs for ModuleDirs {
    fn dir(&self, package: &str) -> Option<String> {
        let module = self.module.as_deref()?;
        let rest = package.strip_prefix(module)?;
        if rest.is_empty() {
            return Some(String::new());
        }
        rest.strip_prefix('/').map(str::to_string)
    }
}

/// [`read`], with a break in the input reported on stderr.
fn read_reporting(input: &Input, opts: Options) -> Result<Evidence> {
    let read = read(input, opts, "triage")?;
    read.warn_broken();
    Ok(read.evidence)
}

fn compare(
    args: &TriageArgs,
    inputs: &[Input],
    opts: Options,
    text_opts: &TextOptions,
) -> Result<ExitCode> {
    let [before, after] = inputs else {
        bail!(
            "--compare takes exactly two inputs, before and after; got {}",
            inputs.len()
        );
    };
    let (bt, bg) = read_reporting(before, opts)?.all_groups();
    let (at, ag) = read_reporting(after, opts)?.all_groups();
    let changes = diff_groups(&bg, &ag);
    match args.format {
        TriageFormat::Json => emit(
            &(json::to_string(&CompareDoc {
                schema: TRIAGE_SCHEMA,
                before: &before.name(),
                after: &after.name(),
                before_total: bt,
                after_total: at,
                changes: &changes,
            }) + "\n"),
        )?,
        TriageFormat::Junit | TriageFormat::Github => {
            bail!("--compare writes text or JSON, not JUnit or GitHub annotations")
        }
        TriageFormat::Text => {
            let mut out = format!(
                "{} -> {}: {bt} -> {at} goroutines ({:+})\n\n",
                before.name(),
                after.name(),
                i128::from(at) - i128::from(bt)
            );
            render::changes(&mut out, &changes, text_opts);
            emit(&out)?;
        }
    }
    let grew = changes.iter().any(|c| c.delta() > 0);
    Ok(if grew && args.exit_code {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
