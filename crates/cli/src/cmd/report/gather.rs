//! Reads every piece of evidence with the analysis that fits it: text
//! (logs, dumps, `go test` output) with triage, logs and diagnose; a core
//! with its binary with diagnose; a profile with pprof's top and flame
//! graph; a binary for its build info.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use gosleuth_diagnose::Finding;
use gosleuth_evidence::input::Input;
use gosleuth_evidence::kind::FileKind;
use gosleuth_gobin::GoBinary;
use gosleuth_model::Similarity;
use gosleuth_text::Evidence;

/// One input and what was read from it.
pub struct Item {
    pub name: String,
    pub kind: &'static str,
    pub size: u64,
    /// The file's modification time: when it was written (a capture's
    /// time, for dumps and cores).
    pub modified: Option<SystemTime>,
    /// What was read, in a few words.
    pub read: String,
}

/// A text input's analyses.
pub struct TextRead {
    pub name: String,
    pub evidence: Evidence,
    pub logs: Option<gosleuth_logs::Report>,
}

/// Findings about one set of goroutines (a dump, a core).
pub struct Diagnosis {
    pub name: String,
    pub total: u64,
    pub findings: Vec<Finding>,
    pub modified: Option<SystemTime>,
}

/// An execution trace's summary, as `gosleuth trace` prints it.
pub struct TraceRead {
    pub name: String,
    pub text: String,
    pub findings: Vec<Finding>,
    pub goroutines: u64,
}

/// A profile's top and flame graph.
pub struct ProfileRead {
    pub name: String,
    pub top: String,
    pub flame_svg: Option<String>,
}

/// Everything read.
#[derive(Default)]
pub struct Gathered {
    pub items: Vec<Item>,
    pub texts: Vec<TextRead>,
    pub diagnoses: Vec<Diagnosis>,
    pub profiles: Vec<ProfileRead>,
    pub traces: Vec<TraceRead>,
    /// `go version -m` facts of the binary, when one was given.
    pub binary: Option<(String, gosleuth_gobin::BuildInfo)>,
    /// Inputs gosleuth cannot read yet, or could not read, and why.
    pub notes: Vec<String>,
    /// The first and the latest goroutine dumps, compared at the end (did
    /// goroutines grow between them?).
    first_dump: Option<(String, gosleuth_diagnose::Subject)>,
    last_dump: Option<(String, gosleuth_diagnose::Subject)>,
}

/// Reads `paths` (files; directories are read file by file).
pub fn gather(paths: &[PathBuf], source_dir: &Path) -> Result<Gathered> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    let mut g = Gathered::default();
    let mut kinds = Vec::new();
    for f in &files {
        let kind = gosleuth_evidence::kind::classify(f)
            .with_context(|| format!("cannot read {}", f.display()))?;
        kinds.push(kind);
    }
    let binaries: Vec<&PathBuf> = files
        .iter()
        .zip(&kinds)
        .filter(|(_, k)| **k == FileKind::Executable)
        .map(|(f, _)| f)
        .collect();
    if let Some(bin) = binaries.first() {
        if let Ok(b) = GoBinary::open(bin) {
            if let Ok(info) = b.build_info() {
                g.binary = Some((bin.display().to_string(), info.clone()));
            }
        }
    }
    for (f, kind) in files.iter().zip(kinds) {
        let meta = std::fs::metadata(f).ok();
        let mut item = Item {
            name: f.display().to_string(),
            kind: "",
            size: meta.as_ref().map_or(0, |m| m.len()),
            modified: meta.and_then(|m| m.modified().ok()),
            read: String::new(),
        };
        match kind {
            FileKind::Executable => {
                item.kind = "Go binary";
                item.read = match &g.binary {
                    Some((name, info)) if *name == item.name => {
                        format!("built by {} from {}", info.go_version, info.path)
                    }
                    _ => "an executable (read with the cores)".into(),
                };
            }
            FileKind::Core => {
                item.kind = "core file";
                match binaries.as_slice() {
                    [] => {
                        item.read = "not read: give the Go binary it was taken from too".into();
                        g.notes.push(format!(
                            "{}: a core file is read with its Go binary; add the binary to the \
                             evidence",
                            item.name
                        ));
                    }
                    [bin, ..] => match core(bin, f) {
                        Ok(d) => {
                            item.read = format!(
                                "{} goroutines, {} findings (with {})",
                                d.total,
                                d.findings.len(),
                                bin.display()
                            );
                            g.diagnoses.push(Diagnosis {
                                modified: item.modified,
                                ..d
                            });
                        }
                        Err(e) => {
                            item.read = format!("not read: {e:#}");
                            g.notes.push(format!("{}: {e:#}", item.name));
                        }
                    },
                }
            }
            FileKind::Gzip | FileKind::Data => match profile(f) {
                Ok(p) => {
                    item.kind = "pprof profile";
                    item.read = p
                        .top
                        .lines()
                        .find(|l| l.starts_with("Type: "))
                        .unwrap_or("a profile")
                        .to_string();
                    g.profiles.push(p);
                }
                Err(_) if kind == FileKind::Gzip => {
                    // A compressed log.
                    item.kind = "text (gzip)";
                    read_text(&mut g, &mut item, f, source_dir)?;
                }
                Err(_) if gosleuth_evidence::kind::is_go_trace_file(f) => {
                    item.kind = "execution trace";
                    match trace(f) {
                        Ok((t, read)) => {
                            item.read = read;
                            // Its findings rank with the others.
                            g.diagnoses.push(Diagnosis {
                                name: t.name.clone(),
                                total: t.goroutines,
                                findings: t.findings.clone(),
                                modified: item.modified,
                            });
                            g.traces.push(t);
                        }
                        Err(e) => {
                            item.read = format!("not read: {e:#}");
                            g.notes.push(format!("{}: {e:#}", item.name));
                        }
                    }
                }
                Err(e) => {
                    item.kind = "data";
                    item.read = format!("not read: {e}");
                    g.notes
                        .push(format!("{}: not evidence gosleuth reads ({e})", item.name));
                }
            },
            FileKind::Text => {
                item.kind = "text";
                read_text(&mut g, &mut item, f, source_dir)?;
            }
            FileKind::Empty => {
                item.kind = "empty";
                item.read = "nothing to read".into();
            }
            FileKind::OtherElf => {
                item.kind = "ELF file";
                item.read = "not read: neither a Go executable nor a core".into();
            }
            FileKind::Missing => bail!("{}: no such file", f.display()),
            FileKind::Directory | FileKind::Special => {
                item.kind = "not a file";
                item.read = "not read".into();
            }
        }
        g.items.push(item);
    }
    // Two dumps or more: what grew from the first to the latest (the SOP
    // captures one at its start and one at its end).
    if let (Some((a, before)), Some((b, after))) = (g.first_dump.take(), g.last_dump.take()) {
        let leaks: Vec<Finding> = gosleuth_diagnose::diagnose_pair(
            &before,
            &after,
            &gosleuth_diagnose::Options::default(),
        )
        .into_iter()
        .filter(|f| f.kind == gosleuth_diagnose::Kind::GoroutineLeak)
        .collect();
        // First: a leak explains the pile-up the latest dump shows.
        g.diagnoses.insert(
            0,
            Diagnosis {
                name: format!("{a} -> {b}"),
                total: after.total,
                findings: leaks,
                modified: None,
            },
        );
    }
    Ok(g)
}

fn read_text(g: &mut Gathered, item: &mut Item, f: &Path, source_dir: &Path) -> Result<()> {
    let input = Input::File(f.to_path_buf());
    // Read once for triage and diagnose both: goroutines are kept as
    // diagnose keeps them (all of them unless the input is huge).
    let size = input.open_plain()?.map(|(_, len)| len);
    let read = super::super::triage::read(
        &input,
        gosleuth_text::Options {
            similarity: Similarity::AnyValue,
            keep_goroutines: gosleuth_evidence::policy::keep_every_goroutine(size),
        },
        "report",
    )
    .with_context(|| format!("reading {}", item.name))?;
    let mut evidence = read.evidence;
    evidence.attach_sources(source_dir);
    // Log records are those with a time or a level: the rest of a text
    // (a dump's odd lines) is not a log.
    let logs = super::super::logs::read_report(&input)?.map(|mut l| {
        l.templates
            .retain(|t| t.first.is_some() || t.level.is_some());
        l.records = l.templates.iter().map(|t| t.count).sum();
        l
    });
    let mut what = Vec::new();
    let logged = logs.as_ref().map_or(0, |l| l.records);
    if logged > 0 {
        what.push(format!("{logged} log records"));
    }
    let panics = evidence
        .incidents
        .iter()
        .filter(|i| {
            matches!(
                i.kind,
                gosleuth_model::IncidentKind::Panic | gosleuth_model::IncidentKind::Fatal
            )
        })
        .count();
    if panics > 0 {
        what.push(format!("{panics} panics or fatal errors"));
    }
    let dumped: u64 = evidence
        .incidents
        .iter()
        .filter(|i| i.total > 0)
        .map(|i| i.total)
        .sum();
    if dumped > 0 {
        what.push(format!("{dumped} goroutines"));
    }
    if !evidence.races.is_empty() {
        what.push(format!("{} data races", evidence.races.len()));
    }
    if !evidence.tests.is_empty() {
        what.push(format!(
            "go test: {} failed tests",
            evidence.tests.failed_tests().count()
        ));
    }
    if dumped > 0 {
        // The goroutines go to diagnose; the report shows the groups.
        let incidents = evidence.incidents.clone();
        for inc in &mut evidence.incidents {
            inc.goroutines = Vec::new();
        }
        let subject = gosleuth_diagnose::Subject::from_incidents(item.name.clone(), incidents);
        g.diagnoses.push(Diagnosis {
            name: item.name.clone(),
            total: subject.total,
            findings: gosleuth_diagnose::diagnose(&subject, &gosleuth_diagnose::Options::default()),
            modified: item.modified,
        });
        let kept = Some((item.name.clone(), subject));
        if g.first_dump.is_none() {
            g.first_dump = kept;
        } else {
            g.last_dump = kept;
        }
    }
    item.read = if what.is_empty() {
        "no log records, panics, dumps or test results".into()
    } else {
        what.join(", ")
    };
    g.texts.push(TextRead {
        name: item.name.clone(),
        evidence,
        logs: logs.filter(|l| l.records > 0),
    });
    Ok(())
}

fn core(bin: &Path, core: &Path) -> Result<Diagnosis> {
    let (subject, total) = super::super::diagnose::core_subject(bin, core)?;
    Ok(Diagnosis {
        name: core.display().to_string(),
        total,
        findings: gosleuth_diagnose::diagnose(&subject, &gosleuth_diagnose::Options::default()),
        modified: None,
    })
}

fn trace(f: &Path) -> Result<(TraceRead, String)> {
    let (text, findings, s) = super::super::trace::full_text(f, None)?;
    let read = format!(
        "a Go 1.{} trace: {:.1} ms, {} GC cycles, {} goroutines created",
        s.version,
        s.duration_ns as f64 / 1e6,
        s.gc_cycles,
        s.goroutines_created
    );
    Ok((
        TraceRead {
            name: f.display().to_string(),
            text,
            findings,
            goroutines: s.goroutines_created,
        },
        read,
    ))
}

fn profile(f: &Path) -> Result<ProfileRead> {
    let path = f.display().to_string();
    let run = |flags: &[&str]| -> Result<Vec<u8>> {
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.push(path.clone());
        Ok(gosleuth_pprof::driver::run(&args)?.report)
    };
    let top = String::from_utf8_lossy(&run(&["-top", "-nodecount=15"])?).into_owned();
    let flame_svg = run(&["-svgflame"])
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(ProfileRead {
        name: path,
        top,
        flame_svg,
    })
}
