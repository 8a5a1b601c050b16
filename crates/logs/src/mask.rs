//! Masking the variable parts of a message: numbers, hex, ids, UUIDs, IP
//! addresses, durations, sizes, paths with ids, the values of `key=value`
//! pairs. The rule is deliberately simple and fast: a token (or the value
//! of a `key=value` token) that contains a digit is a variable.
//! Punctuation around a token is kept (`503,` becomes `<*>,`), so
//! templates read like the lines they stand for.

/// What a masked token is replaced with (Drain's and Loghub's spelling).
pub const VAR: &str = "<*>";

const LEADING: &[u8] = b"([{\"'<&*";
const TRAILING: &[u8] = b",;:.)]}\"'>!?";

/// Separates tokens in a masked message (tokens themselves may contain
/// spaces: a bracketed group such as `[main thread]` is one token).
pub const SEP: char = '\x1f';
/// Tokens a bracketed group may span.
const MAX_GROUP: usize = 6;
/// Tokens of a message at most: the words after the last one are kept in
/// it, so that a template's memory is bounded.
pub const MAX_TOKENS: usize = 128;
/// Characters that split a token into pieces masked one by one
/// (`host:8080` becomes `host:<*>`, `a|b|42` becomes `a|b|<*>`).
pub const DELIMS: &[u8] = b"|,:=;";

/// A masked message: its tokens separated by [`SEP`], and where each
/// separator is (so that the clusterer does not search for them again).
#[derive(Debug, Default, Clone)]
pub struct Masked {
    text: String,
    seps: Vec<usize>,
}

impl Masked {
    /// Empties it, keeping its allocations.
    pub fn clear(&mut self) {
        self.text.clear();
        self.seps.clear();
    }

    /// How many tokens it has.
    pub fn len(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.seps.len() + 1
        }
    }

    /// True for a message of no tokens.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The tokens separated by [`SEP`] (which a token may hold too: use
    /// [`Masked::tokens`] to tell them apart).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The tokens (none for an empty message).
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        let nonempty = !self.text.is_empty();
        let starts = nonempty
            .then_some(0)
            .into_iter()
            .chain(self.seps.iter().map(|&s| s + 1));
        let ends = self.seps.iter().copied().chain(nonempty.then_some(self.text.len()));
        // SEP is ASCII: every piece is on char boundaries.
        starts.zip(ends).map(|(a, b)| self.text.get(a..b).unwrap_or(""))
    }
}

/// Appends the masked tokens of `message` to `masked` (see [`Masked`]).
/// Returns the number of tokens.
pub fn mask_into(message: &str, masked: &mut Masked) -> usize {
    let Masked { text: out, seps } = masked;
    let mut n = 0;
    // Words left in a group (`[a b c]`, `(6.56 KB)`) and what closes it.
    let mut group = 0usize;
    let mut closer = ']';
    let mut quoted = false;
    // The last token was a number: a unit after it joins it.
    let mut number = false;
    for (token, classes) in Tokens::new(message) {
        if quoted {
            // Inside `key="free text"`: already one variable.
            quoted = !closes_quote(token, 0);
            if !quoted {
                push_after_quote(token, out);
            }
            continue;
        }
        if group > 0 || n >= MAX_TOKENS {
            // Inside `[a b c]`: one token.
            out.push(' ');
            mask_token(token, out);
            group = if token.contains(closer) || group >= MAX_GROUP {
                0
            } else {
                group + 1
            };
            continue;
        }
        if std::mem::take(&mut number) && is_unit(token) {
            // `5 ms`, `<1 sec`, `6719 bytes`: one value.
            out.push(' ');
            out.push_str(token);
            continue;
        }
        if n > 0 && is_number_aside(token) {
            // `6719 bytes (6.56 KB) sent`: the aside belongs to the value
            // before it, so that lines with and without it line up.
            out.push(' ');
            mask_token(token, out);
            if !token.contains(')') {
                // One more word (a unit) at most.
                (group, closer) = (MAX_GROUP, ')');
            }
            continue;
        }
        if n > 0 {
            seps.push(out.len());
            out.push(SEP);
        }
        n += 1;
        // `=` is a delimiter: no quoted value without one.
        let quote = if classes & DELIM != 0 {
            quoted_value(token)
        } else {
            None
        };
        if let Some(open) = quote {
            // `key="...` : the key stays, the value is one variable.
            out.push_str(&token[..open]);
            out.push_str(VAR);
            quoted = !closes_quote(token, open + 1);
            if !quoted {
                push_after_quote(&token[open + 1..], out);
            }
            continue;
        }
        mask_classified(token, classes, out);
        number = classes & DIGIT != 0 && is_number(token);
        if token.starts_with('[') && !token.contains(']') {
            (group, closer) = (1, ']');
        }
    }
    n
}

/// A quantity: digits with `.` or `,` inside, punctuation before it
/// (`<1`, `~5`), nothing after it.
fn is_number(token: &str) -> bool {
    let b = token.as_bytes();
    let i = lead_len(b);
    b.get(i).is_some_and(u8::is_ascii_digit)
        && b[i..]
            .iter()
            .all(|&c| c.is_ascii_digit() || c == b'.' || c == b',')
        && b.last().is_some_and(u8::is_ascii_digit)
}

/// Units of time and size written after a number.
const UNITS: &[&str] = &[
    "ns", "us", "µs", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute",
    "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days", "B", "byte", "bytes", "kB", "KB",
    "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB",
];

/// A unit (punctuation after it aside: `KB)`, `sec,`).
fn is_unit(token: &str) -> bool {
    let w = trim_trailing(token);
    UNITS.contains(&w)
}

/// `(6.56` (of `(6.56 KB)`) or `(42)`: a parenthesised number.
fn is_number_aside(token: &str) -> bool {
    token.strip_prefix('(').is_some_and(|r| {
        let r = trim_trailing(r);
        (r.len() + 1 == token.len() || token.contains(')')) && is_number(r)
    })
}

/// Where the quote of a `key="` token is (`key` of letters, digits,
/// `_`, `.`, `-`): a quoted value is data (free text, a query, an error),
/// masked as a whole however many words it has.
fn quoted_value(token: &str) -> Option<usize> {
    let b = token.as_bytes();
    let eq = memchr::memchr(b'=', b)?;
    if eq == 0
        || b.get(eq + 1) != Some(&b'"')
        || !b[..eq]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
    {
        return None;
    }
    Some(eq + 1)
}

/// True when `token[from..]` holds an unescaped `"`.
fn closes_quote(token: &str, from: usize) -> bool {
    let b = token.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return true,
            _ => i += 1,
        }
    }
    false
}

/// The punctuation after the closing quote of a quoted value (`",`).
fn push_after_quote(token: &str, out: &mut String) {
    let b = token.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => {
                let rest = &token[i + 1..];
                if rest.bytes().all(|c| class(c) & TRAIL != 0) {
                    out.push_str(rest);
                }
                return;
            }
            _ => i += 1,
        }
    }
}

const DIGIT: u8 = 1;
const DELIM: u8 = 2;
const LEAD: u8 = 4;
const TRAIL: u8 = 8;
/// ASCII whitespace, as [`u8::is_ascii_whitespace`] has it.
const SPACE: u8 = 16;

/// Byte classes, looked up once per byte.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] |= DIGIT;
        c += 1;
    }
    let mut i = 0;
    while i < DELIMS.len() {
        t[DELIMS[i] as usize] |= DELIM;
        i += 1;
    }
    i = 0;
    while i < LEADING.len() {
        t[LEADING[i] as usize] |= LEAD;
        i += 1;
    }
    i = 0;
    while i < TRAILING.len() {
        t[TRAILING[i] as usize] |= TRAIL;
        i += 1;
    }
    i = 0;
    while i < 5 {
        t[b" \t\n\x0c\r"[i] as usize] |= SPACE;
        i += 1;
    }
    t
};

/// The words of a message split at ASCII whitespace (as
/// [`str::split_ascii_whitespace`]), each with its bytes' classes or-ed,
/// in one pass over the bytes.
struct Tokens<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Tokens<'a> {
        Tokens { s, pos: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (&'a str, u8);

    fn next(&mut self) -> Option<(&'a str, u8)> {
        let b = self.s.as_bytes();
        let mut i = self.pos;
        while i < b.len() && class(b[i]) & SPACE != 0 {
            i += 1;
        }
        if i >= b.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        let mut classes = 0;
        while i < b.len() {
            let k = class(b[i]);
            if k & SPACE != 0 {
                break;
            }
            classes |= k;
            i += 1;
        }
        self.pos = i;
        // ASCII whitespace never falls inside a character.
        Some((self.s.get(start..i)?, classes))
    }
}

fn class(c: u8) -> u8 {
    CLASS[c as usize]
}

/// Month and weekday names (`Dec`, `[Sun`): parts of timestamps inside
/// messages.
pub fn is_date_word(w: &str) -> bool {
    let b = w.as_bytes();
    let i = lead_len(b);
    let Some(word) = b.get(i..i + 3) else {
        return false;
    };
    if !word[0].is_ascii_uppercase() || !b[i + 3..].iter().all(|&c| class(c) & TRAIL != 0) {
        return false;
    }
    matches!(
        word,
        b"Jan"
            | b"Feb"
            | b"Mar"
            | b"Apr"
            | b"May"
            | b"Jun"
            | b"Jul"
            | b"Aug"
            | b"Sep"
            | b"Oct"
            | b"Nov"
            | b"Dec"
            | b"Mon"
            | b"Tue"
            | b"Wed"
            | b"Thu"
            | b"Fri"
            | b"Sat"
            | b"Sun"
    )
}

fn mask_token(token: &str, out: &mut String) {
    let classes = token.bytes().fold(0, |k, c| k | class(c));
    mask_classified(token, classes, out);
}

/// [`mask_token`] of a token whose bytes' classes, or-ed, are `classes`.
fn mask_classified(token: &str, classes: u8, out: &mut String) {
    let b = token.as_bytes();
    if classes & DIGIT == 0 || is_acronym(trim_punct(token)) {
        if b.len() <= 5 && b.len() >= 3 && is_date_word(token) {
            out.push_str(VAR);
        } else {
            out.push_str(token);
        }
        return;
    }
    let start = lead_len(b);
    let end = b.len() - trail_len(&b[start..]);
    // Punctuation is ASCII, so these are char boundaries.
    out.push_str(&token[..start]);
    let mut piece = start;
    let mut digit = false;
    for i in start..end {
        let k = class(b[i]);
        if k & DELIM != 0 {
            push_piece(&token[piece..i], digit, out);
            out.push(b[i] as char);
            piece = i + 1;
            digit = false;
        } else {
            digit |= k & DIGIT != 0;
        }
    }
    push_piece(&token[piece..end], digit, out);
    out.push_str(&token[end..]);
}

fn push_piece(p: &str, digit: bool, out: &mut String) {
    out.push_str(if digit { VAR } else { p });
}

/// True for a word of letters (and `_`) only, punctuation around it
/// aside: two different words at the same place mean different events
/// (`VM Started` and `VM Paused`, `RUNNING` and `FAILED`), unlike ids,
/// numbers, paths or hosts.
pub fn is_plain_word(token: &str) -> bool {
    let w = trim_punct(token);
    !w.is_empty() && w.bytes().all(|c| c.is_ascii_alphabetic() || c == b'_') || is_acronym(w)
}

/// The token without the punctuation around it.
fn trim_punct(token: &str) -> &str {
    trim_trailing(trim_leading(token))
}

/// The token without the punctuation before it ([`LEADING`]).
fn trim_leading(token: &str) -> &str {
    // Punctuation is ASCII: a char boundary.
    token.get(lead_len(token.as_bytes())..).unwrap_or("")
}

/// The token without the punctuation after it ([`TRAILING`]).
fn trim_trailing(token: &str) -> &str {
    let b = token.as_bytes();
    token.get(..b.len() - trail_len(b)).unwrap_or("")
}

/// Bytes of [`LEADING`] punctuation at the start of `b`.
fn lead_len(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| class(c) & LEAD != 0).count()
}

/// Bytes of [`TRAILING`] punctuation at the end of `b`.
fn trail_len(b: &[u8]) -> usize {
    b.iter()
        .rev()
        .take_while(|&&c| class(c) & TRAIL != 0)
        .count()
}

/// An upper-case name ending in one digit (`SOCKS5`, `UTF8`, `IPV6`,
/// `HTTP2`): a word, not a value, as ids and hosts are rarely spelt so.
fn is_acronym(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() >= 3
        && b[b.len() - 1].is_ascii_digit()
        && b[..b.len() - 1].iter().all(u8::is_ascii_uppercase)
}

/// True when two different tokens name different things rather than
/// different values: they differ in a plain word, as whole tokens or in
/// the same piece of tokens with the same shape (`overlap:false` and
/// `overlap:true`, `state=RUNNING` and `state=FAILED`).
pub fn words_conflict(a: &str, b: &str) -> bool {
    if is_plain_word(a) && is_plain_word(b) {
        return true;
    }
    let is_delim = |c: char| c.is_ascii() && DELIMS.contains(&(c as u8));
    let (mut pa, mut pb) = (a.split(is_delim), b.split(is_delim));
    loop {
        match (pa.next(), pb.next()) {
            (Some(x), Some(y)) => {
                if x != y && is_plain_word(x) && is_plain_word(y) {
                    return true;
                }
            }
            (None, None) => return false,
            _ => return false,
        }
    }
}

/// The masked form of a message as text (tokens separated by spaces).
pub fn mask(message: &str) -> String {
    let mut m = Masked::default();
    mask_into(message, &mut m);
    m.text.replace(SEP, " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_masked() {
        assert_eq!(
            mask("handled request method=GET path=/api/orders/100000 status=200 dur=0ms"),
            "handled request method=GET path=<*> status=<*> dur=<*>"
        );
        assert_eq!(
            mask("upstream returned 503 for order 139595, retrying"),
            "upstream returned <*> for order <*>, retrying"
        );
        assert_eq!(
            mask("client 10.0.0.1:5432 (id 7f3e9a2c-1b2d-4c5e-8f90-123456789abc)"),
            "client <*>:<*> (id <*>)"
        );
        assert_eq!(mask("  gc   pause 74us "), "gc pause <*>");
        assert_eq!(
            mask("Buy item success: &{Item-24}"),
            "Buy item success: &{<*>}"
        );
        assert_eq!(mask(""), "");
        assert_eq!(
            mask("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579"),
            "<*>:<*>:<*>:<*>|Step_LSC|<*>|onStandStepChanged <*>"
        );
        let mut key = Masked::default();
        assert_eq!(
            mask_into("INFO [IPC Server handler 7] started", &mut key),
            3
        );
        assert_eq!(key.as_str(), "INFO\x1f[IPC Server handler <*>]\x1fstarted");
        assert_eq!(
            key.tokens().collect::<Vec<_>>(),
            ["INFO", "[IPC Server handler <*>]", "started"]
        );
        key.clear();
        mask_into("", &mut key);
        assert_eq!(key.tokens().count(), 0);
        assert!(is_plain_word("FAIL_TASK_CLEANUP,"));
        // A quoted value is one variable, however many words it holds.
        assert_eq!(
            mask(r#"search query="red shoes \"size 9\"" took=5ms"#),
            "search query=<*> took=<*>"
        );
        assert_eq!(mask(r#"q="unterminated value"#), "q=<*>");
        // A number and its unit are one value; so is a parenthesised
        // number after a value, so lines with and without it line up.
        assert_eq!(
            mask("close, 6719 bytes (6.56 KB) sent, lifetime <1 sec"),
            "close, <*> bytes (<*> KB) sent, lifetime <<*> sec"
        );
        let (mut a, mut b) = (Masked::default(), Masked::default());
        assert_eq!(
            mask_into("close, 6719 bytes (6.56 KB) sent, lifetime <1 sec", &mut a),
            mask_into("close, 0 bytes sent, lifetime 00:02", &mut b)
        );
        assert_eq!(
            mask("connection from 10.0.0.1 (24-54-76.example.net)"),
            "connection from <*> (<*>)"
        );
        // Upper-case names with a digit are words, and differ as words do.
        assert_eq!(
            mask("open through proxy SOCKS5"),
            "open through proxy SOCKS5"
        );
        assert!(words_conflict("SOCKS5", "HTTPS"));
        assert_eq!(mask("via interface eth0"), "via interface <*>");
        assert!(!is_plain_word("host-1"));
        assert!(words_conflict("overlap:false", "overlap:true"));
        assert!(!words_conflict("host-a:<*>", "host-b:<*>"));
    }
}
