//! Terminal styling: colour only when asked for or on a terminal.

/// Whether to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub const PLAIN: Style = Style { color: false };

    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Headings and root causes.
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }

    /// Failures.
    pub fn red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }

    /// Warnings and counts.
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }

    /// User code.
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }

    /// Runtime and standard-library frames.
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}
