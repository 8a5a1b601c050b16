//! Incident reports (`gosleuth report`): one document, written as Markdown
//! or as a static HTML page, from sections the caller fills with what the
//! analyses found. Sections that need people's judgement (the response,
//! what went well) are marked and left with prompts.
//!
//! The HTML holds everything inline (styles, SVG figures), loads nothing
//! and runs no script, so it opens offline, mails as one file and prints.

use std::fmt::Write as _;

/// A report.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    pub title: String,
    /// One line under the title: who wrote it from what.
    pub byline: String,
    pub sections: Vec<Section>,
}

/// A section (`##` in Markdown, `<h2>` in HTML).
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub heading: String,
    /// For people to write: shown with a "to fill in" mark.
    pub to_fill: bool,
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone)]
pub enum Block {
    /// A sub-heading (`###`).
    Heading(String),
    Para(String),
    List(Vec<String>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Preformatted text (stacks, profile tops, findings as gosleuth prints
    /// them).
    Code(String),
    /// An SVG figure (inline in HTML; Markdown says where to find it).
    Figure {
        caption: String,
        svg: String,
    },
    /// A prompt for people, in italics.
    Prompt(String),
}

/// The report as CommonMark (GitHub-flavoured tables).
pub fn markdown(doc: &Doc) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_inline(&doc.title));
    if !doc.byline.is_empty() {
        let _ = writeln!(out, "_{}_\n", md_inline(&doc.byline));
    }
    for s in &doc.sections {
        let mark = if s.to_fill { " (to fill in)" } else { "" };
        let _ = writeln!(out, "## {}{mark}\n", md_inline(&s.heading));
        for b in &s.blocks {
            match b {
                Block::Heading(h) => {
                    let _ = writeln!(out, "### {}\n", md_inline(h));
                }
                Block::Para(p) => {
                    let _ = writeln!(out, "{}\n", md_inline(p));
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(out, "- {}", md_inline(i));
                    }
                    out.push('\n');
                }
                Block::Table { header, rows } => {
                    let cell = |c: &String| md_inline(c).replace('|', "\\|").replace('\n', " ");
                    let _ = writeln!(
                        out,
                        "| {} |",
                        header.iter().map(cell).collect::<Vec<_>>().join(" | ")
                    );
                    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
                    for r in rows {
                        let _ = writeln!(
                            out,
                            "| {} |",
                            r.iter().map(cell).collect::<Vec<_>>().join(" | ")
                        );
                    }
                    out.push('\n');
                }
                Block::Code(c) => {
                    // A fence longer than any backtick run inside.
                    let longest = c
                        .split(|ch| ch != '`')
                        .map(str::len)
                        .max()
                        .unwrap_or(0)
                        .max(2);
                    let fence = "`".repeat(longest + 1);
                    let _ = writeln!(out, "{fence}text\n{}\n{fence}\n", c.trim_end());
                }
                Block::Figure { caption, .. } => {
                    let _ = writeln!(
                        out,
                        "_Figure: {} (drawn in the HTML report: `-o report.html`)._\n",
                        md_inline(caption)
                    );
                }
                Block::Prompt(p) => {
                    let _ = writeln!(out, "_{}_\n", md_inline(p));
                }
            }
        }
    }
    out
}

/// Text for Markdown's inline context: characters that would start HTML
/// or emphasis are escaped, so input-derived text stays text.
fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '`' | '[' | ']' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// The report as one static HTML page.
pub fn html(doc: &Doc) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(&doc.title),
        esc(&doc.title)
    );
    if !doc.byline.is_empty() {
        let _ = writeln!(out, "<p class=\"byline\">{}</p>", esc(&doc.byline));
    }
    for (i, s) in doc.sections.iter().enumerate() {
        let class = if s.to_fill { " class=\"to-fill\"" } else { "" };
        let _ = writeln!(
            out,
            "<section id=\"s{i}\"{class}>\n<h2>{}{}</h2>",
            esc(&s.heading),
            if s.to_fill {
                " <span class=\"mark\">to fill in</span>"
            } else {
                ""
            }
        );
        for b in &s.blocks {
            match b {
                Block::Heading(h) => {
                    let _ = writeln!(out, "<h3>{}</h3>", esc(h));
                }
                Block::Para(p) => {
                    let _ = writeln!(out, "<p>{}</p>", esc(p));
                }
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for i in items {
                        let _ = writeln!(out, "<li>{}</li>", esc(i));
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table { header, rows } => {
                    out.push_str("<table>\n<thead><tr>");
                    for h in header {
                        let _ = write!(out, "<th>{}</th>", esc(h));
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for r in rows {
                        out.push_str("<tr>");
                        for c in r {
                            let _ = write!(out, "<td>{}</td>", esc(c));
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
                Block::Code(c) => {
                    let _ = writeln!(out, "<pre>{}</pre>", esc(c.trim_end()));
                }
                Block::Figure { caption, svg } => {
                    let _ = writeln!(
                        out,
                        "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                        static_svg(svg),
                        esc(caption)
                    );
                }
                Block::Prompt(p) => {
                    let _ = writeln!(out, "<p class=\"prompt\">{}</p>", esc(p));
                }
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// An SVG without its scripts and event handlers (a flame graph's zoom
/// script): the page runs nothing, and the drawing stays as drawn.
fn static_svg(svg: &str) -> String {
    let mut s = svg.to_string();
    while let Some(start) = s.find("<script") {
        let end = s[start..]
            .find("</script>")
            .map_or(s.len(), |e| start + e + "</script>".len());
        s.replace_range(start..end, "");
    }
    for attr in [
        " onload=\"",
        " onclick=\"",
        " onmouseover=\"",
        " onmouseout=\"",
    ] {
        while let Some(start) = s.find(attr) {
            let value = start + attr.len();
            let end = s[value..].find('"').map_or(s.len(), |e| value + e + 1);
            s.replace_range(start..end, "");
        }
    }
    // The XML declaration is not allowed inside HTML.
    if let Some(rest) = s.strip_prefix("<?xml") {
        if let Some(e) = rest.find("?>") {
            s = rest[e + 2..].trim_start().to_string();
        }
    }
    s
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font: 15px/1.5 system-ui, sans-serif; color: #1a1a1a; margin: 0; }
main { max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
.byline { color: #555; margin-top: 0; }
.mark { font-size: 0.75rem; font-weight: normal; background: #fff3c4; border: 1px solid #e0c060; border-radius: 3px; padding: 0 0.3rem; vertical-align: middle; }
.prompt { font-style: italic; color: #555; }
section.to-fill { border-left: 3px solid #e0c060; padding-left: 0.8rem; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 12.5px; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; font-size: 13.5px; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 13px; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; margin: 0; }
  pre { white-space: pre-wrap; break-inside: avoid; }
  section { break-inside: auto; }
  h2, h3 { break-after: avoid; }
}
";

/// A bar chart as SVG: one bar per (label, value), in order (goroutines
/// per capture over time).
pub fn bars_svg(points: &[(String, u64)], unit: &str) -> String {
    const W: u32 = 640;
    const BAR_H: u32 = 22;
    const LABEL_W: u32 = 260;
    let h = 10 + BAR_H * points.len() as u32;
    let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" \
         viewBox=\"0 0 {W} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    for (i, (label, v)) in points.iter().enumerate() {
        let y = 5 + BAR_H * i as u32;
        let len = ((W - LABEL_W - 90) as f64 * *v as f64 / max as f64).round() as u32;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#4a7fb0\"/>\
             <text x=\"{}\" y=\"{}\">{v} {}</text>",
            LABEL_W - 6,
            y + 15,
            esc(label),
            y + 3,
            len.max(1),
            BAR_H - 6,
            LABEL_W + len.max(1) + 5,
            y + 15,
            esc(unit)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        Doc {
            title: "Self-deadlock in <Metrics>".into(),
            byline: "by gosleuth".into(),
            sections: vec![
                Section {
                    heading: "Root cause".into(),
                    to_fill: false,
                    blocks: vec![
                        Block::Para("a *star* and a | pipe".into()),
                        Block::Table {
                            header: vec!["a".into(), "b".into()],
                            rows: vec![vec!["x|y".into(), "<z>".into()]],
                        },
                        Block::Code("```\ninside".into()),
                        Block::Figure {
                            caption: "flame".into(),
                            svg: "<?xml version=\"1.0\"?>\n<svg onload=\"init(evt)\"><script>alert(1)</script><rect/></svg>".into(),
                        },
                    ],
                },
                Section {
                    heading: "What went well".into(),
                    to_fill: true,
                    blocks: vec![Block::Prompt("Write here.".into())],
                },
            ],
        }
    }

    #[test]
    fn markdown_escapes_input_text() {
        let md = markdown(&doc());
        assert!(
            md.starts_with("# Self-deadlock in &lt;Metrics&gt;\n"),
            "{md}"
        );
        assert!(md.contains("a \\*star\\* and a | pipe"), "{md}");
        assert!(md.contains("| x\\|y | &lt;z&gt; |"), "{md}");
        assert!(md.contains("````text\n```\ninside\n````"), "{md}");
        assert!(md.contains("## What went well (to fill in)"), "{md}");
    }

    #[test]
    fn html_is_static() {
        let h = html(&doc());
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("onload"), "{h}");
        assert!(!h.contains("<?xml"), "{h}");
        assert!(h.contains("<svg><rect/></svg>"), "{h}");
        assert!(h.contains("<td>&lt;z&gt;</td>"), "{h}");
    }
}
