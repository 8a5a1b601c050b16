//! Timestamps as loggers print them, read into milliseconds since the Unix
//! epoch (UTC). Formats without a year (journald's default, klog) take the
//! year from [`YearHint`]; formats without a zone are read as UTC.

use crate::Error;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// The year assumed for timestamps that do not print one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearHint(pub i32);

impl Default for YearHint {
    fn default() -> Self {
        let now = now_millis();
        YearHint(civil_from_days(now.div_euclid(86_400_000)).0)
    }
}

/// The current time.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Days since the epoch of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day since the epoch.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0')))
}

fn at(b: &[u8], i: usize, n: usize) -> Option<u32> {
    num(b.get(i..i + n)?)
}

fn millis(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Option<Millis> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(
        ((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60_000
            + i64::from(s) * 1000
            + i64::from(ms),
    )
}

/// Reads `.123456` or `,123` at `i`: (milliseconds, bytes consumed).
fn fraction(b: &[u8], i: usize) -> (u32, usize) {
    if !matches!(b.get(i), Some(b'.' | b',')) {
        return (0, 0);
    }
    let mut j = i + 1;
    let mut ms = 0u32;
    let mut digits = 0;
    while let Some(c) = b.get(j).filter(|c| c.is_ascii_digit()) {
        if digits < 3 {
            ms = ms * 10 + u32::from(c - b'0');
        }
        digits += 1;
        j += 1;
    }
    if digits == 0 {
        return (0, 0);
    }
    for _ in digits..3 {
        ms *= 10;
    }
    (ms, j - i)
}

/// `HH:MM:SS[.frac]` at `i`: (h, m, s, ms, end).
fn clock(b: &[u8], i: usize) -> Option<(u32, u32, u32, u32, usize)> {
    let h = at(b, i, 2)?;
    (b.get(i + 2) == Some(&b':')).then_some(())?;
    let m = at(b, i + 3, 2)?;
    (b.get(i + 5) == Some(&b':')).then_some(())?;
    let s = at(b, i + 6, 2)?;
    let (ms, n) = fraction(b, i + 8);
    Some((h, m, s, ms, i + 8 + n))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±hh[:]mm]` (RFC 3339 and its common
/// relatives): the time and the bytes consumed.
pub fn parse_iso(b: &[u8]) -> Option<(Millis, usize)> {
    let y = at(b, 0, 4)?;
    (b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-')).then_some(())?;
    let mo = at(b, 5, 2)?;
    let d = at(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let (h, mi, s, ms, mut i) = clock(b, 11)?;
    let mut t = millis(y as i32, mo, d, h, mi, s, ms)?;
    match b.get(i) {
        Some(b'Z' | b'z') => i += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = at(b, i + 1, 2)?;
            let (om, n) = if b.get(i + 3) == Some(&b':') {
                (at(b, i + 4, 2)?, 6)
            } else {
                (
                    at(b, i + 3, 2).unwrap_or(0),
                    if at(b, i + 3, 2).is_some() { 5 } else { 3 },
                )
            };
            let off = i64::from(oh * 60 + om) * 60_000;
            t += if sign == b'+' { -off } else { off };
            i += n;
        }
        _ => {}
    }
    Some((t, i))
}

/// Go's log package: `YYYY/MM/DD HH:MM:SS[.micro]`.
pub fn parse_golog(b: &[u8]) -> Option<(Millis, usize)> {
    let y = at(b, 0, 4)?;
    (b.get(4) == Some(&b'/') && b.get(7) == Some(&b'/') && b.get(10) == Some(&b' '))
        .then_some(())?;
    let mo = at(b, 5, 2)?;
    let d = at(b, 8, 2)?;
    let (h, mi, s, ms, i) = clock(b, 11)?;
    Some((millis(y as i32, mo, d, h, mi, s, ms)?, i))
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// syslog/journald: `Mon DD HH:MM:SS[.frac]` (no year).
pub fn parse_syslog(b: &[u8], year: YearHint) -> Option<(Millis, usize)> {
    let mon = b.get(0..3)?;
    let mo = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    (b.get(3) == Some(&b' ')).then_some(())?;
    let d = match (b.get(4), b.get(5)) {
        (Some(b' '), Some(c)) if c.is_ascii_digit() => u32::from(c - b'0'),
        _ => at(b, 4, 2)?,
    };
    (b.get(6) == Some(&b' ')).then_some(())?;
    let (h, mi, s, ms, i) = clock(b, 7)?;
    Some((millis(year.0, mo, d, h, mi, s, ms)?, i))
}

/// ctime, as Apache's error log and C programs print it: `Www Mmm DD
/// HH:MM:SS[.frac] YYYY` (`Sun Dec 04 04:47:44 2005`).
pub fn parse_ctime(b: &[u8]) -> Option<(Millis, usize)> {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    DAYS.contains(&b.get(0..3)?).then_some(())?;
    (b.get(3) == Some(&b' ')).then_some(())?;
    // The year comes last: find where the clock ends (2000 is a leap
    // year, so any date parses), then read the date with its year.
    let (_, n) = parse_syslog(b.get(4..)?, YearHint(2000))?;
    let i = 4 + n;
    (b.get(i) == Some(&b' ')).then_some(())?;
    let y = at(b, i + 1, 4)?;
    let (t, _) = parse_syslog(b.get(4..)?, YearHint(y as i32))?;
    Some((t, i + 5))
}

/// `MM.DD HH:MM:SS` (no year), as Proxifier and some Windows tools print
/// it.
pub fn parse_month_day(b: &[u8], year: YearHint) -> Option<(Millis, usize)> {
    let mo = at(b, 0, 2)?;
    (b.get(2) == Some(&b'.') || b.get(2) == Some(&b'-')).then_some(())?;
    let d = at(b, 3, 2)?;
    (b.get(5) == Some(&b' ')).then_some(())?;
    let (h, mi, s, ms, i) = clock(b, 6)?;
    Some((millis(year.0, mo, d, h, mi, s, ms)?, i))
}

/// A timestamp in square brackets at the start of `b`, in any of the
/// shapes above (`[2026-11-21 10:00:00]`, `[Sun Dec 04 04:47:44 2005]`,
/// `[10.30 16:49:06]`): the time and the bytes consumed, the bracket
/// included.
pub fn parse_bracketed(b: &[u8], year: YearHint) -> Option<(Millis, usize)> {
    (b.first() == Some(&b'[')).then_some(())?;
    let close = memchr::memchr(b']', b.get(..b.len().min(48))?)?;
    let inner = &b[1..close];
    let (t, n) = parse_iso(inner)
        .or_else(|| parse_golog(inner))
        .or_else(|| parse_ctime(inner))
        .or_else(|| parse_syslog(inner, year))
        .or_else(|| parse_month_day(inner, year))?;
    (n == inner.len()).then_some((t, close + 1))
}

/// A token of seconds since the epoch (10 digits, 2001 to 2038, with an
/// optional fraction) or milliseconds (13 digits), ending at a space or
/// the end: the time and the bytes consumed.
pub fn parse_epoch(b: &[u8]) -> Option<(Millis, usize)> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n = digits;
    let v: i64 = std::str::from_utf8(&b[..digits]).ok()?.parse().ok()?;
    let t = match digits {
        10 => {
            let (ms, f) = fraction(b, digits);
            if f > 0 && b.get(digits) != Some(&b'.') {
                return None;
            }
            n += f;
            v * 1000 + i64::from(ms)
        }
        13 => v,
        _ => return None,
    };
    if !(978_307_200_000..=2_147_483_647_000).contains(&t) || !matches!(b.get(n), None | Some(b' '))
    {
        return None;
    }
    Some((t, n))
}

/// A record that starts with a sequence number and names its time as
/// epoch seconds among the next four fields (`134681 node-246 unix.hw
/// state_change.unavailable 1077804742 1 Component State Change: ...`):
/// the time and the bytes up to the end of it.
pub fn parse_numbered_epoch(b: &[u8]) -> Option<(Millis, usize)> {
    let first = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if first == 0 || b.get(first) != Some(&b' ') {
        return None;
    }
    let mut i = first;
    for _ in 0..4 {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if let Some((t, n)) = parse_epoch(&b[i..]) {
            return Some((t, i + n));
        }
        while b.get(i).is_some_and(|&c| c != b' ') {
            i += 1;
        }
    }
    None
}

/// klog/glog: `MMDD HH:MM:SS.micro` (after the severity letter; no year).
pub fn parse_klog(b: &[u8], year: YearHint) -> Option<(Millis, usize)> {
    let mo = at(b, 0, 2)?;
    let d = at(b, 2, 2)?;
    (b.get(4) == Some(&b' ')).then_some(())?;
    let (h, mi, s, ms, i) = clock(b, 5)?;
    Some((millis(year.0, mo, d, h, mi, s, ms)?, i))
}

/// A number of seconds, milliseconds, microseconds or nanoseconds since
/// the epoch (told apart by magnitude), as JSON loggers write `ts`.
pub fn from_epoch(x: f64) -> Option<Millis> {
    if !x.is_finite() || x <= 0.0 {
        return None;
    }
    let ms = if x < 1e11 {
        x * 1e3
    } else if x < 1e14 {
        x
    } else if x < 1e17 {
        x / 1e3
    } else {
        x / 1e6
    };
    // Beyond year 9999 it is not a timestamp.
    (ms < 253_402_300_800_000.0).then_some(ms as i64)
}

/// Any of the textual formats above at the start of `b` (ISO, Go log,
/// syslog), or an epoch number when the whole string is one.
pub fn parse_any(s: &str, year: YearHint) -> Option<Millis> {
    let b = s.as_bytes();
    parse_iso(b)
        .or_else(|| parse_golog(b))
        .or_else(|| parse_syslog(b, year))
        .map(|(t, _)| t)
        .or_else(|| s.trim().parse::<f64>().ok().and_then(from_epoch))
}

/// `--since`/`--until`: RFC 3339 (a date alone means its midnight UTC) or
/// a duration before `now` (`90s`, `15m`, `1h30m`, `2d`).
pub fn parse_bound(s: &str, now: Millis) -> Result<Millis, Error> {
    let bad = || Error::BadTime {
        value: s.to_string(),
    };
    let b = s.trim().as_bytes();
    if let Some((t, n)) = parse_iso(b) {
        return if n == b.len() { Ok(t) } else { Err(bad()) };
    }
    if b.len() == 10 {
        if let (Some(y), Some(m), Some(d)) = (at(b, 0, 4), at(b, 5, 2), at(b, 8, 2)) {
            return millis(y as i32, m, d, 0, 0, 0, 0).ok_or_else(bad);
        }
    }
    let total = parse_duration(s).ok_or_else(bad)?;
    Ok(now - total)
}

/// A duration: numbers with units `ms`, `s`, `m`, `h`, `d`, `w`, one after
/// another (`90s`, `1h30m`, `500ms`), in milliseconds; `None` when it is
/// not one, is zero or overflows.
pub fn parse_duration(s: &str) -> Option<Millis> {
    let b = s.trim().as_bytes();
    let mut total: i64 = 0;
    let mut n: i64 = 0;
    let mut digits = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() {
            n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
            digits = true;
            continue;
        }
        let unit = match c {
            b'm' if b.get(i) == Some(&b's') => {
                i += 1;
                1
            }
            b's' => 1000,
            b'm' => 60_000,
            b'h' => 3_600_000,
            b'd' => 86_400_000,
            b'w' => 7 * 86_400_000,
            _ => return None,
        };
        if !digits {
            return None;
        }
        total = n.checked_mul(unit)?.checked_add(total)?;
        n = 0;
        digits = false;
    }
    (!digits && total > 0).then_some(total)
}

/// `2026-11-21T10:00:00.123Z`
pub fn format_rfc3339(t: Millis) -> String {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400_000));
    let ms = t.rem_euclid(86_400_000);
    let (h, mi, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = parse_iso(b"2026-11-21T10:00:00Z").unwrap().0;
        assert_eq!(format_rfc3339(t), "2026-11-21T10:00:00.000Z");
        assert_eq!(parse_iso(b"2026-11-21T11:00:00+01:00").unwrap().0, t);
        assert_eq!(
            parse_iso(b"2026-11-21T10:00:00+0000 host").unwrap(),
            (t, 24)
        );
        assert_eq!(
            parse_iso(b"2026-11-21 10:00:00,250 INFO").unwrap(),
            (t + 250, 23)
        );
        assert_eq!(
            parse_golog(b"2026/11/21 10:00:00.500000 x").unwrap(),
            (t + 500, 26)
        );
        assert_eq!(
            parse_syslog(b"Nov 21 10:00:00 host", YearHint(2026)).unwrap(),
            (t, 15)
        );
        assert_eq!(
            parse_klog(b"1121 10:00:00.123456 ", YearHint(2026)).unwrap(),
            (t + 123, 20)
        );
        assert_eq!(from_epoch(t as f64 / 1000.0), Some(t));
        assert_eq!(
            parse_bracketed(b"[Sat Nov 21 10:00:00 2026] [error] x", YearHint(1999)).unwrap(),
            (t, 26)
        );
        assert_eq!(
            parse_bracketed(b"[11.21 10:00:00] app.exe - x", YearHint(2026)).unwrap(),
            (t, 16)
        );
        assert_eq!(
            parse_bracketed(b"[2026-11-21 10:00:00,250] INFO", YearHint(1999)).unwrap(),
            (t + 250, 25)
        );
        assert!(parse_bracketed(b"[11.21 10:00:00 extra] x", YearHint(2026)).is_none());
        assert!(parse_bracketed(b"[main thread] x", YearHint(2026)).is_none());
        let e = t / 1000;
        assert_eq!(parse_epoch(format!("{e} x").as_bytes()), Some((t, 10)));
        assert_eq!(
            parse_epoch(format!("{e}.25 x").as_bytes()),
            Some((t + 250, 13))
        );
        assert_eq!(parse_epoch(format!("{t} x").as_bytes()), Some((t, 13)));
        assert_eq!(parse_epoch(b"1234567890123456 x"), None);
        assert_eq!(parse_epoch(b"0000000001 x"), None);
        assert_eq!(
            parse_numbered_epoch(format!("134681 node-246 unix.hw state {e} 1 up").as_bytes()),
            Some((t, 40))
        );
        assert_eq!(
            parse_numbered_epoch(format!("job 42 at {e} done").as_bytes()),
            None
        );
        assert_eq!(
            parse_numbered_epoch(format!("1 2 3 4 5 {e} x").as_bytes()),
            None
        );
        assert_eq!(parse_bound("2026-11-21", 0).unwrap(), t - 10 * 3_600_000);
        assert_eq!(parse_bound("1h30m", t).unwrap(), t - 90 * 60_000);
        assert!(parse_bound("soon", t).is_err());
        assert!(parse_iso(b"2026-13-21T10:00:00Z").is_none());
    }
}
