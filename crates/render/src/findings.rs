//! Findings as text for people. Writes into a string; the caller prints.

use gosleuth_model::WaitObjectKind;

use gosleuth_diagnose::{Finding, FrameEvidence, FrameRole, Severity};

/// How to render.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// Show at most this many findings (0: all).
    pub max_findings: usize,
}

fn ids(v: &[u64]) -> String {
    let shown: Vec<String> = v.iter().take(10).map(u64::to_string).collect();
    if v.len() > 10 {
        format!("{} (+{} more)", shown.join(", "), v.len() - 10)
    } else {
        shown.join(", ")
    }
}

fn goroutines(n: u64) -> String {
    if n == 1 {
        String::from("1 goroutine")
    } else {
        format!("{n} goroutines")
    }
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn role(r: FrameRole) -> &'static str {
    match r {
        FrameRole::BlockedAt => "blocked at",
        FrameRole::DrainsAt => "drains at",
        FrameRole::MayDrainAt => "may drain at",
        FrameRole::StartedAt => "started at",
        FrameRole::CreatedAt => "created at",
        FrameRole::HoldsAt => "holds at",
        FrameRole::RaisedAt => "raised at",
        FrameRole::CalledFrom => "called from",
    }
}

fn frame_line(f: &FrameEvidence) -> String {
    let who = f
        .goroutine
        .map(|g| format!("goroutine {g}: "))
        .unwrap_or_default();
    format!(
        "{:<12} {who}{} {}:{}{}",
        role(f.role),
        f.function,
        f.file,
        f.line,
        if f.inlined { " (inlined)" } else { "" }
    )
}

/// Word-wraps prose at `width` columns with an indent.
fn wrap(out: &mut String, text: &str, indent: &str, width: usize) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
}

/// Renders findings: a summary line, then each finding with its
/// explanation and evidence.
pub fn render(
    out: &mut String,
    source: &str,
    total: u64,
    findings: &[Finding],
    opts: &TextOptions,
) {
    let c = opts.color;
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    if findings.is_empty() {
        out.push_str(&format!(
            "{source}: {}; no findings: nothing looks deadlocked, piled up, leaking or \
             crashing\n",
            goroutines(total)
        ));
        return;
    }
    out.push_str(&paint(
        c,
        "1",
        &format!(
            "{source}: {}; {} finding{} ({} critical, {} warning, {} info)\n",
            goroutines(total),
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            n(Severity::Critical),
            n(Severity::Warning),
            n(Severity::Info)
        ),
    ));
    let shown = if opts.max_findings == 0 {
        findings.len()
    } else {
        opts.max_findings.min(findings.len())
    };
    for (i, f) in findings.iter().take(shown).enumerate() {
        out.push('\n');
        let label = match f.severity {
            Severity::Critical => paint(c, "1;31", "CRITICAL"),
            Severity::Warning => paint(c, "33", "WARNING"),
            Severity::Info => paint(c, "2", "INFO"),
        };
        out.push_str(&format!(
            "{}. {label} {} [{}, {:?} confidence]\n",
            i + 1,
            paint(c, "1", &f.title),
            f.kind.as_str(),
            f.confidence
        ));
        wrap(out, &f.explanation, "   ", 100);
        let e = &f.evidence;
        if !e.goroutines.is_empty() {
            let ids: Vec<String> = e.goroutines.iter().map(u64::to_string).collect();
            let more = e.count.saturating_sub(ids.len() as u64);
            out.push_str(&format!(
                "   {} {}{}\n",
                paint(c, "2", "goroutines"),
                ids.join(", "),
                if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                }
            ));
        }
        for fr in &e.frames {
            out.push_str(&format!("   {}\n", paint(c, "2", &frame_line(fr))));
        }
        for o in &e.objects {
            let mut s = match o.kind {
                WaitObjectKind::Channel => format!("channel {:#x}", o.addr),
                WaitObjectKind::Semaphore => format!("semaphore {:#x}", o.addr),
            };
            if let Some(owner) = &o.owner {
                s.push_str(&format!(" {owner}"));
            }
            if let Some(t) = &o.elem_type {
                s.push_str(&format!(" chan {t}"));
            }
            if let (Some(len), Some(cap)) = (o.len, o.cap) {
                s.push_str(&format!(" len {len} cap {cap}"));
            }
            if o.closed {
                s.push_str(" closed");
            }
            match o.kind {
                WaitObjectKind::Channel => {
                    s.push_str(&format!(" senders {} receivers {}", o.senders, o.receivers));
                    if !o.drainers.is_empty() {
                        s.push_str(&format!(" drained by {}", ids(&o.drainers)));
                    }
                    if !o.candidate_drainers.is_empty() {
                        s.push_str(&format!(
                            " may be drained by {} (inferred)",
                            ids(&o.candidate_drainers)
                        ));
                    }
                }
                WaitObjectKind::Semaphore => {
                    s.push_str(&format!(" waiters {}", o.receivers));
                    if !o.holders.is_empty() {
                        s.push_str(&format!(" probable holders {} (inferred)", ids(&o.holders)));
                    }
                }
            }
            out.push_str(&format!("   {}\n", paint(c, "2", &s)));
        }
        for s in e
            .sites
            .iter()
            .skip(usize::from(e.sites.len() == 1 && !e.frames.is_empty()))
        {
            out.push_str(&format!(
                "   {}\n",
                paint(
                    c,
                    "2",
                    &format!(
                        "{:>7} [{}] {} {}:{}",
                        s.count, s.state, s.function, s.file, s.line
                    )
                )
            ));
        }
        for r in &e.related {
            out.push_str(&format!(
                "   {}\n",
                paint(
                    c,
                    "2",
                    &format!("related: goroutine {} [{}] {}", r.goroutine, r.state, r.why)
                )
            ));
        }
    }
    if shown < findings.len() {
        out.push_str(&format!(
            "\n... and {} more findings (--max-findings 0 shows all)\n",
            findings.len() - shown
        ));
    }
}
