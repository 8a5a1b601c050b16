//! Turns what was read into the report's sections: the postmortem template
//! of seed 000 (details, timeline, root cause, impact, response, what went
//! well and badly, action items) with the facts filled in and the
//! judgement left to people.

use std::time::SystemTime;

use gosleuth_diagnose::{Confidence, Finding, Severity};
use gosleuth_model::{Incident, IncidentKind};
use gosleuth_render::report::{Block, Doc, Section, bars_svg};

use super::gather::Gathered;

/// Time as `2026-12-07T17:50:03Z`.
fn stamp(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    gosleuth_logs::time::format_rfc3339(ms)
}

/// The most severe finding of all, with where it was found: among equally
/// severe ones, the first in diagnose's own ranking.
fn top_finding(g: &Gathered) -> Option<(&str, &Finding)> {
    g.diagnoses
        .iter()
        .flat_map(|d| {
            d.findings
                .iter()
                .enumerate()
                .map(move |(i, f)| (d.name.as_str(), i, f))
        })
        .min_by_key(|(_, i, f)| (f.severity, *i))
        .map(|(name, _, f)| (name, f))
}

fn panics(g: &Gathered) -> impl Iterator<Item = (&str, &Incident)> {
    g.texts.iter().flat_map(|t| {
        t.evidence
            .incidents
            .iter()
            .filter(|i| matches!(i.kind, IncidentKind::Panic | IncidentKind::Fatal))
            .map(move |i| (t.name.as_str(), i))
    })
}

fn hedge(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "read from the evidence",
        Confidence::Medium => "inferred from where goroutines wait: check it",
        Confidence::Low => "a pattern that often means this: check it",
    }
}

/// The report.
pub fn compose(g: &Gathered, title: Option<&str>, written: SystemTime) -> Doc {
    let top = top_finding(g).filter(|(_, f)| f.severity != Severity::Info);
    let first_panic = panics(g).next();
    let failed_tests: usize = g
        .texts
        .iter()
        .map(|t| t.evidence.tests.leaf_failures().len())
        .sum();
    let headline = match (title, top, first_panic) {
        (Some(t), _, _) => t.to_string(),
        (None, Some((_, f)), _) => f.title.clone(),
        (None, None, Some((_, inc))) => {
            let msg = inc
                .root_cause
                .as_ref()
                .map(|rc| rc.message.clone())
                .unwrap_or_default();
            format!("panic: {}", msg.lines().next().unwrap_or(""))
        }
        (None, None, None) if failed_tests > 0 => format!("{failed_tests} failed tests"),
        _ => "Incident report".to_string(),
    };
    let mut doc = Doc {
        title: headline,
        byline: format!(
            "A draft written by gosleuth {} on {} from {} piece{} of evidence. The facts are \
             read from the evidence; the sections marked \"to fill in\" are for the people who \
             handled the incident.",
            env!("CARGO_PKG_VERSION"),
            stamp(written),
            g.items.len(),
            if g.items.len() == 1 { "" } else { "s" }
        ),
        sections: Vec::new(),
    };
    doc.sections.push(details(g));
    doc.sections.push(summary(g, top, first_panic));
    doc.sections.push(timeline(g));
    doc.sections.push(root_cause(g));
    if g.texts.iter().any(|t| !t.evidence.tests.is_empty()) {
        doc.sections.push(tests(g));
    }
    if !g.profiles.is_empty() {
        doc.sections.push(profiles(g));
    }
    if !g.traces.is_empty() {
        doc.sections.push(Section {
            heading: "Execution traces".into(),
            to_fill: false,
            blocks: g
                .traces
                .iter()
                .flat_map(|t| [Block::Heading(t.name.clone()), Block::Code(t.text.clone())])
                .collect(),
        });
    }
    if g.texts.iter().any(|t| t.logs.is_some()) {
        doc.sections.push(logs(g));
    }
    doc.sections.push(impact(g));
    for (heading, prompt) in [
        (
            "Response",
            "How the incident was noticed, who responded, and what stopped the damage \
             (a downgrade, a restart, a rollback), with times.",
        ),
        (
            "What went well",
            "What helped: alerts that fired, dashboards, runbooks, evidence that was there \
             when it was needed.",
        ),
        (
            "What went badly",
            "What slowed the response: missing alerts or evidence, unclear ownership, changes \
             made the same day.",
        ),
    ] {
        doc.sections.push(Section {
            heading: heading.into(),
            to_fill: true,
            blocks: vec![Block::Prompt(prompt.into())],
        });
    }
    doc.sections.push(action_items(g));
    doc
}

fn details(g: &Gathered) -> Section {
    let mut blocks = Vec::new();
    if let Some((name, info)) = &g.binary {
        let mut facts = vec![
            format!("Binary: {name}"),
            format!("Main package: {}", info.path),
            format!("Built by: {}", info.go_version),
        ];
        if let Some(m) = &info.main {
            facts.push(format!("Module: {} {}", m.path, m.version));
        }
        for s in info.settings.iter().filter(|s| {
            matches!(
                s.key.as_str(),
                "vcs.revision" | "vcs.time" | "vcs.modified" | "GOOS" | "GOARCH"
            )
        }) {
            facts.push(format!("{}: {}", s.key, s.value));
        }
        blocks.push(Block::List(facts));
    }
    blocks.push(Block::Para(
        "The evidence this report was written from:".into(),
    ));
    blocks.push(Block::Table {
        header: vec![
            "file".into(),
            "kind".into(),
            "size".into(),
            "written".into(),
            "what was read".into(),
        ],
        rows: g
            .items
            .iter()
            .map(|i| {
                vec![
                    i.name.clone(),
                    i.kind.to_string(),
                    gosleuth_render::size::human(i.size),
                    i.modified.map(stamp).unwrap_or_default(),
                    i.read.clone(),
                ]
            })
            .collect(),
    });
    if !g.notes.is_empty() {
        blocks.push(Block::List(g.notes.clone()));
    }
    Section {
        heading: "Details".into(),
        to_fill: false,
        blocks,
    }
}

fn summary(
    g: &Gathered,
    top: Option<(&str, &Finding)>,
    first_panic: Option<(&str, &Incident)>,
) -> Section {
    let mut blocks = Vec::new();
    if let Some((name, f)) = top {
        blocks.push(Block::Para(format!(
            "{} ({}, {} confidence: {}; found in {name}).",
            f.title,
            f.severity.as_str(),
            match f.confidence {
                Confidence::High => "high",
                Confidence::Medium => "medium",
                Confidence::Low => "low",
            },
            hedge(f.confidence)
        )));
        if let Some(first) = f.explanation.split("\n\n").next() {
            blocks.push(Block::Para(first.trim().to_string()));
        }
    }
    if let Some((name, inc)) = first_panic {
        if let Some(rc) = &inc.root_cause {
            let at = rc
                .frame
                .as_ref()
                .map(|f| format!(" in {} at {}:{}", f.function, f.file, f.line))
                .unwrap_or_default();
            blocks.push(Block::Para(format!(
                "A {} ({}){at}, line {} of {name}.",
                if inc.kind == IncidentKind::Fatal {
                    "fatal error"
                } else {
                    "panic"
                },
                rc.message.lines().next().unwrap_or(""),
                inc.line
            )));
        }
    }
    let failed: Vec<String> = g
        .texts
        .iter()
        .flat_map(|t| t.evidence.tests.leaf_failures())
        .map(|t| format!("{} ({}, {})", t.name, t.package, t.outcome.as_str()))
        .take(12)
        .collect();
    if !failed.is_empty() {
        blocks.push(Block::Para(format!("Failed tests: {}.", failed.join(", "))));
    }
    if blocks.is_empty() {
        blocks.push(Block::Para(
            "No deadlock, crash, panic, leak or failed test was found in the evidence.".into(),
        ));
    }
    Section {
        heading: "Summary".into(),
        to_fill: false,
        blocks,
    }
}

fn timeline(g: &Gathered) -> Section {
    // (time, event, source); events without a time are listed after.
    let mut timed: Vec<(String, String, String)> = Vec::new();
    let mut untimed: Vec<String> = Vec::new();
    for t in &g.texts {
        if let Some(l) = &t.logs {
            if let Some(s) = l.start {
                timed.push((
                    gosleuth_logs::time::format_rfc3339(s),
                    "first log record".into(),
                    t.name.clone(),
                ));
            }
            for tpl in l
                .templates
                .iter()
                .filter(|tp| tp.level.is_some_and(|lv| lv >= gosleuth_logs::Level::Warn))
                .take(8)
            {
                if let Some(first) = tpl.first {
                    timed.push((
                        gosleuth_logs::time::format_rfc3339(first),
                        format!(
                            "first {} {:?} ({} records until {})",
                            tpl.level.map(|l| l.to_string()).unwrap_or_default(),
                            tpl.template,
                            tpl.count,
                            tpl.last
                                .map(gosleuth_logs::time::format_rfc3339)
                                .unwrap_or_default()
                        ),
                        t.name.clone(),
                    ));
                }
            }
            if let Some(e) = l.end {
                timed.push((
                    gosleuth_logs::time::format_rfc3339(e),
                    "last log record".into(),
                    t.name.clone(),
                ));
            }
        }
        for inc in &t.evidence.incidents {
            let what = match inc.kind {
                IncidentKind::Panic => "panic",
                IncidentKind::Fatal => "fatal error",
                IncidentKind::Signal => "signal (a SIGQUIT dump or a crash)",
                IncidentKind::Dump => "goroutine dump",
                IncidentKind::Profile => "goroutine profile",
            };
            untimed.push(format!(
                "{what} with {} goroutines at line {} of {}",
                inc.total, inc.line, t.name
            ));
        }
    }
    for i in &g.items {
        if let (Some(m), true) = (
            i.modified,
            matches!(i.kind, "core file" | "pprof profile" | "execution trace")
                || g.diagnoses.iter().any(|d| d.name == i.name),
        ) {
            timed.push((
                stamp(m),
                format!("{} written (the file's modification time)", i.kind),
                i.name.clone(),
            ));
        }
    }
    timed.sort();
    let mut blocks = vec![Block::Table {
        header: vec!["time (UTC)".into(), "event".into(), "source".into()],
        rows: timed.into_iter().map(|(t, e, s)| vec![t, e, s]).collect(),
    }];
    if !untimed.is_empty() {
        blocks.push(Block::Para("Without a time of their own:".into()));
        blocks.push(Block::List(untimed.into_iter().take(20).collect()));
    }
    blocks.push(Block::Prompt(
        "Add when the incident started for users, when it was noticed, and each step of the \
         response."
            .into(),
    ));
    Section {
        heading: "Timeline".into(),
        to_fill: false,
        blocks,
    }
}

fn root_cause(g: &Gathered) -> Section {
    let mut blocks = Vec::new();
    for d in &g.diagnoses {
        let shown: Vec<Finding> = d
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .cloned()
            .collect();
        blocks.push(Block::Heading(format!(
            "{}: {} goroutines, {} finding{}",
            d.name,
            d.total,
            shown.len(),
            if shown.len() == 1 { "" } else { "s" }
        )));
        if shown.is_empty() {
            blocks.push(Block::Para("Nothing stuck, leaking or piling up.".into()));
            continue;
        }
        let mut text = String::new();
        gosleuth_render::findings::render(
            &mut text,
            &d.name,
            d.total,
            &shown,
            &gosleuth_render::findings::TextOptions {
                color: false,
                max_findings: 5,
            },
        );
        blocks.push(Block::Code(text));
    }
    for t in &g.texts {
        for inc in t
            .evidence
            .incidents
            .iter()
            .filter(|i| matches!(i.kind, IncidentKind::Panic | IncidentKind::Fatal))
            .take(5)
        {
            blocks.push(Block::Heading(format!(
                "{} at line {} of {}",
                if inc.kind == IncidentKind::Fatal {
                    "fatal error"
                } else {
                    "panic"
                },
                inc.line,
                t.name
            )));
            let mut text = String::new();
            gosleuth_render::triage::incident(
                &mut text,
                inc,
                &gosleuth_render::triage::TextOptions {
                    max_groups: 5,
                    max_frames: 12,
                    ..Default::default()
                },
            );
            blocks.push(Block::Code(text));
        }
        if !t.evidence.races.is_empty() {
            blocks.push(Block::Heading(format!("data races in {}", t.name)));
            let mut text = String::new();
            for r in t.evidence.races.iter().take(5) {
                gosleuth_render::triage::race(&mut text, r, &Default::default());
                text.push('\n');
            }
            blocks.push(Block::Code(text));
        }
    }
    let points: Vec<(String, u64)> = g
        .diagnoses
        .iter()
        .map(|d| {
            let name = d.name.rsplit('/').next().unwrap_or(&d.name);
            let when = d.modified.map(stamp).unwrap_or_default();
            (format!("{name} {when}"), d.total)
        })
        .collect();
    if !points.is_empty() {
        blocks.push(Block::Figure {
            caption: "Goroutines in each capture, in the order given".into(),
            svg: bars_svg(&points, "goroutines"),
        });
    }
    if blocks.is_empty() {
        blocks.push(Block::Para(
            "No goroutine dump, core, panic or race in the evidence to find a cause in.".into(),
        ));
    }
    Section {
        heading: "Root cause".into(),
        to_fill: false,
        blocks,
    }
}

fn tests(g: &Gathered) -> Section {
    let mut blocks = Vec::new();
    for t in g.texts.iter().filter(|t| !t.evidence.tests.is_empty()) {
        let mut text = String::new();
        gosleuth_render::tests::text(
            &mut text,
            &t.evidence.tests,
            gosleuth_render::tests::Causes {
                incidents: &t.evidence.incidents,
                races: &t.evidence.races,
            },
            gosleuth_render::Style::PLAIN,
        );
        blocks.push(Block::Heading(t.name.clone()));
        blocks.push(Block::Code(text));
    }
    Section {
        heading: "Tests".into(),
        to_fill: false,
        blocks,
    }
}

fn profiles(g: &Gathered) -> Section {
    let mut blocks = Vec::new();
    for p in &g.profiles {
        blocks.push(Block::Heading(p.name.clone()));
        blocks.push(Block::Code(p.top.clone()));
        if let Some(svg) = &p.flame_svg {
            blocks.push(Block::Figure {
                caption: format!("Flame graph of {}", p.name),
                svg: svg.clone(),
            });
        }
    }
    Section {
        heading: "Profiles".into(),
        to_fill: false,
        blocks,
    }
}

fn logs(g: &Gathered) -> Section {
    let mut blocks = Vec::new();
    for t in &g.texts {
        let Some(l) = &t.logs else { continue };
        blocks.push(Block::Heading(t.name.clone()));
        blocks.push(Block::Table {
            header: vec![
                "level".into(),
                "records".into(),
                "first".into(),
                "last".into(),
                "template".into(),
            ],
            rows: l
                .templates
                .iter()
                .take(10)
                .map(|tp| {
                    vec![
                        tp.level.map(|l| l.to_string()).unwrap_or_default(),
                        tp.count.to_string(),
                        tp.first
                            .map(gosleuth_logs::time::format_rfc3339)
                            .unwrap_or_default(),
                        tp.last
                            .map(gosleuth_logs::time::format_rfc3339)
                            .unwrap_or_default(),
                        tp.template.clone(),
                    ]
                })
                .collect(),
        });
    }
    Section {
        heading: "Logs".into(),
        to_fill: false,
        blocks,
    }
}

fn impact(g: &Gathered) -> Section {
    let mut facts = Vec::new();
    for d in &g.diagnoses {
        let stuck: u64 = d
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .map(|f| f.evidence.count)
            .max()
            .unwrap_or(0);
        if stuck > 0 {
            facts.push(format!(
                "{}: {stuck} of {} goroutines are held by the critical finding (each is \
                 typically a request that never completed)",
                d.name, d.total
            ));
        }
    }
    for t in &g.texts {
        if let Some(l) = &t.logs {
            let errors: u64 = l
                .templates
                .iter()
                .filter(|tp| tp.level.is_some_and(|lv| lv >= gosleuth_logs::Level::Error))
                .map(|tp| tp.count)
                .sum();
            if errors > 0 {
                facts.push(format!("{}: {errors} error records", t.name));
            }
        }
    }
    let mut blocks = vec![Block::Prompt(
        "Who was affected, how many requests failed or were slow, for how long, and what it \
         cost."
            .into(),
    )];
    if !facts.is_empty() {
        blocks.insert(0, Block::List(facts));
    }
    Section {
        heading: "Impact".into(),
        to_fill: true,
        blocks,
    }
}

fn action_items(g: &Gathered) -> Section {
    let mut items: Vec<String> = Vec::new();
    for d in &g.diagnoses {
        for f in d
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Critical)
        {
            let at = f
                .evidence
                .frames
                .first()
                .map(|fr| format!(" ({} at {}:{})", fr.function, fr.file, fr.line))
                .unwrap_or_default();
            let item = format!("Fix: {}{at}", f.title);
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    for (_, inc) in panics(g).take(5) {
        if let Some(rc) = &inc.root_cause {
            if let Some(f) = &rc.frame {
                items.push(format!(
                    "Fix the {} in {} at {}:{}",
                    rc.message.lines().next().unwrap_or("panic"),
                    f.function,
                    f.file,
                    f.line
                ));
            }
        }
    }
    for t in &g.texts {
        for f in t.evidence.tests.leaf_failures().into_iter().take(10) {
            items.push(format!("Fix the failing test {} ({})", f.name, f.package));
        }
    }
    let mut blocks = Vec::new();
    if !items.is_empty() {
        blocks.push(Block::Para(
            "Suggested by the findings (check each, add owners and dates):".into(),
        ));
        items.truncate(20);
        blocks.push(Block::List(items));
    }
    blocks.push(Block::Prompt(
        "What will prevent this or catch it sooner: alerts, tests, limits, runbook steps; each \
         with an owner and a date."
            .into(),
    ));
    Section {
        heading: "Action items".into(),
        to_fill: true,
        blocks,
    }
}
