//! Source listings as `dlv`'s `list` and `frame` print them: five lines
//! either side, an arrow at the current line.

use std::fmt::Write as _;

/// Lines shown either side of the current one.
pub const CONTEXT: u32 = 5;
/// Largest source file read.
const MAX_SOURCE: u64 = 16 << 20;

/// The lines around `line` of `path`, read from disk.
pub fn listing(path: &str, line: u32, arrow: bool) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "cannot read source {path}: {e} (the binary was built on another machine or \
             the sources moved)"
        )
    })?;
    if meta.len() > MAX_SOURCE {
        return Err(format!("source {path} is too large to list"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read source {path}: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(render(&text, line, arrow))
}

/// `text`'s lines around `line` in dlv's layout.
pub fn render(text: &str, line: u32, arrow: bool) -> String {
    let first = line.saturating_sub(CONTEXT).max(1);
    let last = line.saturating_add(CONTEXT);
    let mut out = String::new();
    for (n, l) in (1u32..).zip(text.lines()) {
        if n < first {
            continue;
        }
        if n > last {
            break;
        }
        let mark = if arrow && n == line { "=>" } else { "  " };
        let _ = writeln!(out, "{mark}{n:>4}:\t{l}");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn arrow_and_window() {
        let text: String = (1..=20).map(|n| format!("line {n}\n")).collect();
        let out = super::render(&text, 3, true);
        assert!(out.starts_with("     1:\tline 1\n"), "{out}");
        assert!(out.contains("=>   3:\tline 3\n"), "{out}");
        assert!(out.ends_with("     8:\tline 8\n"), "{out}");
    }
}
