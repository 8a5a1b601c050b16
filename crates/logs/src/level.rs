//! Severity levels, as the many loggers spell them.

use serde::Serialize;

/// A record's severity, lowest first (so `>=` means "at least as severe").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
    Panic,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
        Level::Panic,
    ];

    /// The name shown in reports (`ERROR`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
            Level::Panic => "PANIC",
        }
    }

    /// A level written as a word, in any case: `info`, `WARNING`, `Err`,
    /// `dpanic`, `crit`, `notice`, `severe`... Brackets and a trailing colon
    /// are ignored (`[INFO]`, `ERROR:`).
    pub fn from_word(word: &str) -> Option<Level> {
        let w = word
            .trim_start_matches(['[', '<', '('])
            .trim_end_matches([']', '>', ')', ':', ',']);
        if w.len() < 3 || w.len() > 11 {
            return None;
        }
        let mut buf = [0u8; 11];
        for (d, s) in buf.iter_mut().zip(w.bytes()) {
            *d = s.to_ascii_lowercase();
        }
        Some(match &buf[..w.len()] {
            b"trace" | b"trc" | b"finest" | b"finer" => Level::Trace,
            b"debug" | b"dbg" | b"dbug" | b"fine" | b"verbose" => Level::Debug,
            b"info" | b"inf" | b"information" | b"informational" | b"notice" => Level::Info,
            b"warn" | b"wrn" | b"warning" => Level::Warn,
            b"error" | b"err" | b"eror" | b"erro" | b"severe" => Level::Error,
            b"fatal" | b"ftl" | b"crit" | b"critical" | b"alert" | b"emerg" | b"emergency" => {
                Level::Fatal
            }
            b"panic" | b"dpanic" => Level::Panic,
            _ => return None,
        })
    }

    /// Like [`Level::from_word`] but only for upper-case or bracketed
    /// spellings, which free text uses for levels and rarely otherwise
    /// (`ERROR`, `[warn]`, `<info>`), for guessing levels in plain text.
    pub fn from_text_token(token: &str) -> Option<Level> {
        let b = token.as_bytes();
        let bracketed = matches!(b.first(), Some(b'[' | b'<'));
        let upper = b
            .iter()
            .filter(|c| c.is_ascii_alphabetic())
            .all(u8::is_ascii_uppercase);
        if !(bracketed || upper) {
            return None;
        }
        Level::from_word(token)
    }

    /// klog/glog's one-letter severity (`I`, `W`, `E`, `F`).
    pub fn from_klog(c: u8) -> Option<Level> {
        Some(match c {
            b'I' => Level::Info,
            b'W' => Level::Warn,
            b'E' => Level::Error,
            b'F' => Level::Fatal,
            _ => return None,
        })
    }

    /// syslog/journald `PRIORITY` (0 emerg .. 7 debug).
    pub fn from_syslog(p: i64) -> Option<Level> {
        Some(match p {
            0..=2 => Level::Fatal,
            3 => Level::Error,
            4 => Level::Warn,
            5 | 6 => Level::Info,
            7 => Level::Debug,
            _ => return None,
        })
    }

    /// A numeric level: pino/bunyan's 10..60; slog's -4/0/4/8 are too
    /// ambiguous with syslog priorities and are not guessed.
    pub fn from_number(n: i64) -> Option<Level> {
        Some(match n {
            10 => Level::Trace,
            20 => Level::Debug,
            30 => Level::Info,
            40 => Level::Warn,
            50 => Level::Error,
            60 => Level::Fatal,
            _ => return None,
        })
    }
}

impl std::str::FromStr for Level {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Level, crate::Error> {
        Level::from_word(s).ok_or_else(|| crate::Error::BadLevel {
            value: s.to_string(),
        })
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(Level::from_word("WARNING"), Some(Level::Warn));
        assert_eq!(Level::from_word("[info]"), Some(Level::Info));
        assert_eq!(Level::from_word("ERROR:"), Some(Level::Error));
        assert_eq!(Level::from_word("dpanic"), Some(Level::Panic));
        assert_eq!(Level::from_word("informed"), None);
        assert_eq!(Level::from_text_token("error"), None);
        assert_eq!(Level::from_text_token("[error]"), Some(Level::Error));
        assert_eq!(Level::from_syslog(3), Some(Level::Error));
        assert!(Level::Error > Level::Warn);
    }
}
