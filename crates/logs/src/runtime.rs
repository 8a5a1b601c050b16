//! Recognising the Go runtime's own output inside a log: where a panic,
//! fatal error, goroutine dump or race report starts, and which lines
//! continue it. These lines are handed to the text crate's parser rather
//! than clustered.

/// True when `body` (a line without its wrapper) starts runtime output.
pub fn starts_block(body: &str) -> bool {
    let b = body.as_bytes();
    match b.first() {
        Some(b'p') => body.starts_with("panic: "),
        Some(b'f') => body.starts_with("fatal error: "),
        // `goroutine 18 [running]:`, `goroutine 1 gp=0x.. m=0 [running]:`
        // (not a message that starts with the word).
        Some(b'g') => body.strip_prefix("goroutine ").is_some_and(|r| {
            (r.as_bytes().first().is_some_and(u8::is_ascii_digit) && r.trim_end().ends_with("]:"))
                || r.starts_with("profile: total")
        }),
        Some(b'W') => body.starts_with("WARNING: DATA RACE"),
        Some(b'=') => body.starts_with("=================="),
        Some(b'[') => body.starts_with("[signal "),
        Some(b'S') => {
            body.starts_with("SIG")
                && body.split_once(": ").is_some_and(|(name, _)| {
                    name.len() <= 10 && name.bytes().all(|c| c.is_ascii_uppercase())
                })
        }
        Some(b'r') => body.starts_with("runtime: "),
        _ => false,
    }
}

/// True when a line without a timestamp or level keeps runtime output
/// going: blank and indented lines, frames, `created by`, register dumps,
/// race-report headings.
pub fn continues_block(body: &str) -> bool {
    let b = body.as_bytes();
    let Some(&first) = b.first() else { return true };
    if first == b'\t' || first == b' ' || starts_block(body) {
        return true;
    }
    let t = body.trim_end();
    t.starts_with("created by ")
        || t.starts_with("exit status ")
        || t.starts_with("Found ")
        || t.starts_with("-----")
        || t.starts_with("...additional frames elided...")
        || t.ends_with(':')
        || is_frame(t)
        || t.ends_with("...)")
        || is_register(t)
}

/// A frame's function line: `main.Handler(0x18)`, `main.(*T).Do(...)`,
/// `maps.fatal({0x4b8153?, 0x0?})` (a name without spaces, then the
/// arguments).
fn is_frame(t: &str) -> bool {
    t.ends_with(')')
        && t.find('(')
            .is_some_and(|open| open > 0 && !t[..open].contains(' ') && !t[..open].ends_with(':'))
}

/// `rax    0x0` and friends.
fn is_register(t: &str) -> bool {
    let mut parts = t.split_ascii_whitespace();
    matches!((parts.next(), parts.next(), parts.next()),
        (Some(r), Some(v), None) if r.len() <= 6 && r.bytes().all(|c| c.is_ascii_alphanumeric()) && v.starts_with("0x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        assert!(starts_block("panic: boom"));
        assert!(starts_block("goroutine 18 [running]:"));
        assert!(starts_block("SIGSEGV: segmentation violation"));
        assert!(!starts_block("goroutines are cheap"));
        assert!(!starts_block("goroutine 5 started for the pool"));
        assert!(starts_block(
            "goroutine 1 gp=0xc000002380 m=0 mp=0x5eb7a0 [running]:"
        ));
        assert!(!starts_block("SIGN UP: now"));
        assert!(continues_block("main.Handler(0x18)"));
        assert!(continues_block("\t/src/main.go:50 +0x50"));
        assert!(continues_block("main.(*T).Do(...)"));
        assert!(continues_block(
            "internal/runtime/maps.fatal({0x4b8153?, 0x0?})"
        ));
        assert!(!continues_block("Handling (24 requests)"));
        assert!(continues_block("rip    0x4a9430"));
        assert!(!continues_block("Handling: 24 requests now"));
    }
}
