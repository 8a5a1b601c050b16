//! Local time the way Go's `time` package computes it, so that report
//! headers (`Time: 2026-11-21 18:47:34 EST`) match `go tool pprof` under
//! any `TZ`.
//!
//! The zone comes from `TZ` exactly as Go's `initLocal` reads it: unset
//! means `/etc/localtime`, empty means UTC, `:NAME` or `NAME` is a file
//! under the system zoneinfo directories (or an absolute path), and
//! anything that cannot be loaded falls back to UTC. Zone files are TZif
//! (versions 1 to 3); times after the last transition follow the file's
//! POSIX TZ footer, as Go does.

/// One local time type of a zone (`EST`, -5h, not DST).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ZoneType {
    name: String,
    offset: i64,
    is_dst: bool,
}

/// A time zone: Go's `time.Location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    zones: Vec<ZoneType>,
    /// (transition time, index into `zones`), in time order.
    tx: Vec<(i64, usize)>,
    /// POSIX TZ string for times after the last transition.
    extend: String,
}

impl Default for Location {
    fn default() -> Self {
        Location::utc()
    }
}

/// Where Go looks for zone files (`platformZoneSources`).
const ZONE_DIRS: &[&str] = &[
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo",
];

/// Go's limit on the size of a zone file.
const MAX_ZONE_FILE: u64 = 10 << 20;

fn read_zone_file(path: &str) -> Option<Location> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut data = Vec::new();
    f.take(MAX_ZONE_FILE + 1).read_to_end(&mut data).ok()?;
    if data.len() as u64 > MAX_ZONE_FILE {
        return None;
    }
    Location::from_tzif(&data)
}

fn load(name: &str, dirs: &[&str]) -> Option<Location> {
    dirs.iter().find_map(|dir| {
        let path = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        read_zone_file(&path)
    })
}

impl Location {
    /// UTC.
    pub fn utc() -> Self {
        Location {
            zones: Vec::new(),
            tx: Vec::new(),
            extend: String::new(),
        }
    }

    /// The local zone for a `TZ` environment value (`None`: unset), with
    /// Go's rules.
    pub fn from_tz_var(tz: Option<&str>) -> Self {
        let loaded = match tz {
            None => load("localtime", &["/etc"]),
            Some("") => None,
            Some(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(tz);
                if tz.starts_with('/') {
                    load(tz, &[""])
                } else if !tz.is_empty() && tz != "UTC" {
                    load(tz, ZONE_DIRS)
                } else {
                    None
                }
            }
        };
        loaded.unwrap_or_else(Location::utc)
    }

    /// The zone `TZ` names in this process's environment (read once).
    pub fn local() -> &'static Location {
        static LOCAL: std::sync::OnceLock<Location> = std::sync::OnceLock::new();
        LOCAL.get_or_init(|| {
            let tz = std::env::var_os("TZ");
            Location::from_tz_var(tz.as_ref().map(|t| t.to_str().unwrap_or("\u{0}")))
        })
    }

    /// Reads a TZif zone file (Go's `LoadLocationFromTZData`); `None` when
    /// it is malformed.
    pub fn from_tzif(data: &[u8]) -> Option<Self> {
        let mut d = Bytes(data);
        if d.take(4)? != b"TZif" {
            return None;
        }
        let version = match d.take(16)?[0] {
            0 => 1,
            b'2' => 2,
            b'3' => 3,
            _ => return None,
        };
        let counts = |d: &mut Bytes<'_>| -> Option<[usize; 6]> {
            let mut n = [0usize; 6];
            for x in &mut n {
                *x = usize::try_from(d.u32()?).ok()?;
            }
            Some(n)
        };
        // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
        let mut n = counts(&mut d)?;
        let mut size = 4;
        if version > 1 {
            let skip = n[3] * 4 + n[3] + n[4] * 6 + n[5] + n[2] * 8 + n[1] + n[0];
            d.take(skip)?;
            d.take(4 + 16)?;
            n = counts(&mut d)?;
            size = 8;
        }
        let mut times = Bytes(d.take(n[3].checked_mul(size)?)?);
        let indices = d.take(n[3])?;
        let mut zonedata = Bytes(d.take(n[4].checked_mul(6)?)?);
        let abbrev = d.take(n[5])?;
        d.take(n[2].checked_mul(size + 4)?)?;
        d.take(n[1])?;
        d.take(n[0])?;
        let rest = d.0;
        let extend = if rest.len() > 2 && rest[0] == b'\n' && rest[rest.len() - 1] == b'\n' {
            String::from_utf8_lossy(&rest[1..rest.len() - 1]).into_owned()
        } else {
            String::new()
        };
        if n[4] == 0 {
            return None;
        }
        let mut zones = Vec::with_capacity(n[4]);
        for _ in 0..n[4] {
            let offset = i64::from(zonedata.u32()? as i32);
            let is_dst = zonedata.take(1)?[0] != 0;
            let ni = usize::from(zonedata.take(1)?[0]);
            let name = abbrev.get(ni..)?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            zones.push(ZoneType {
                name: String::from_utf8_lossy(&name[..end]).into_owned(),
                offset,
                is_dst,
            });
        }
        let mut tx = Vec::with_capacity(n[3]);
        for &idx in indices {
            let when = if size == 4 {
                i64::from(times.u32()? as i32)
            } else {
                times.u64()? as i64
            };
            let idx = usize::from(idx);
            if idx >= zones.len() {
                return None;
            }
            tx.push((when, idx));
        }
        if tx.is_empty() {
            // A fixed zone such as Etc/GMT+3: one "transition" at the
            // beginning of time.
            tx.push((i64::MIN, 0));
        }
        Some(Location { zones, tx, extend })
    }

    /// Go's `lookupFirstZone`: the zone in effect before the first
    /// transition.
    fn first_zone(&self) -> usize {
        if !self.tx.iter().any(|&(_, i)| i == 0) {
            return 0;
        }
        if let Some(&(_, first)) = self.tx.first() {
            if self.zones[first].is_dst {
                if let Some(zi) = (0..first).rev().find(|&zi| !self.zones[zi].is_dst) {
                    return zi;
                }
            }
        }
        self.zones.iter().position(|z| !z.is_dst).unwrap_or(0)
    }

    /// The zone name and UTC offset (seconds) in effect at `sec` seconds
    /// since the epoch (Go's `Location.lookup`).
    pub fn lookup(&self, sec: i64) -> (String, i64) {
        if self.zones.is_empty() {
            return ("UTC".into(), 0);
        }
        match self.tx.first() {
            Some(&(first, _)) if sec >= first => {}
            _ => {
                let z = &self.zones[self.first_zone()];
                return (z.name.clone(), z.offset);
            }
        }
        let lo = self.tx.partition_point(|&(when, _)| when <= sec) - 1;
        let (start, zi) = self.tx[lo];
        let z = &self.zones[zi];
        if lo == self.tx.len() - 1 && !self.extend.is_empty() {
            if let Some((name, offset)) = tzset(&self.extend, start, sec) {
                return (name, offset);
            }
        }
        (z.name.clone(), z.offset)
    }
}

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_be_bytes(a))
    }
}

// ------------------------------------------------------------ POSIX TZ rules

const SECONDS_PER_DAY: i64 = 86400;

/// The zone in effect at `sec` by a POSIX TZ string such as
/// `EST5EDT,M3.2.0,M11.1.0` (Go's `tzset`).
fn tzset(s: &str, _last_tx: i64, sec: i64) -> Option<(String, i64)> {
    let (std_name, s) = tz_name(s)?;
    let (std_off, s) = tz_offset(s)?;
    let std_off = -std_off;
    if s.is_empty() || s.starts_with(',') {
        return Some((std_name.to_string(), std_off));
    }
    let (dst_name, mut s) = tz_name(s)?;
    let dst_off = if s.is_empty() || s.starts_with(',') {
        std_off + 3600
    } else {
        let (o, rest) = tz_offset(s)?;
        s = rest;
        -o
    };
    let s = if s.is_empty() { ",M3.2.0,M11.1.0" } else { s };
    let s = s.strip_prefix(',').or_else(|| s.strip_prefix(';'))?;
    let (start_rule, s) = tz_rule(s)?;
    let s = s.strip_prefix(',')?;
    let (end_rule, s) = tz_rule(s)?;
    if !s.is_empty() {
        return None;
    }
    let (year, yday) = year_yday(sec.div_euclid(SECONDS_PER_DAY));
    let ysec = (yday - 1) * SECONDS_PER_DAY + sec % SECONDS_PER_DAY;
    let mut start = rule_time(year, start_rule, std_off);
    let mut end = rule_time(year, end_rule, dst_off);
    let (mut std_name, mut dst_name) = (std_name, dst_name);
    let (mut std_off, mut dst_off) = (std_off, dst_off);
    if end < start {
        std::mem::swap(&mut start, &mut end);
        std::mem::swap(&mut std_name, &mut dst_name);
        std::mem::swap(&mut std_off, &mut dst_off);
    }
    if ysec < start || ysec >= end {
        Some((std_name.to_string(), std_off))
    } else {
        Some((dst_name.to_string(), dst_off))
    }
}

fn tz_name(s: &str) -> Option<(&str, &str)> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('<') {
        let i = rest.find('>')?;
        return Some((&rest[..i], &rest[i + 1..]));
    }
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() || matches!(c, ',' | '-' | '+') {
            if i < 3 {
                return None;
            }
            return Some((&s[..i], &s[i..]));
        }
    }
    if s.len() < 3 {
        return None;
    }
    Some((s, ""))
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn tz_offset(s: &str) -> Option<(i64, &str)> {
    if s.is_empty() {
        return None;
    }
    let (neg, s) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let sign = if neg { -1 } else { 1 };
    let (h, s) = tz_num(s, 0, 24 * 7)?;
    let mut off = h * 3600;
    let Some(s2) = s.strip_prefix(':') else {
        return Some((sign * off, s));
    };
    let (m, s) = tz_num(s2, 0, 59)?;
    off += m * 60;
    let Some(s3) = s.strip_prefix(':') else {
        return Some((sign * off, s));
    };
    let (sec, s) = tz_num(s3, 0, 59)?;
    off += sec;
    Some((sign * off, s))
}

fn tz_num(s: &str, min: i64, max: i64) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut n = 0i64;
    for b in s[..digits].bytes() {
        n = n * 10 + i64::from(b - b'0');
        if n > max {
            return None;
        }
    }
    if n < min {
        return None;
    }
    Some((n, &s[digits..]))
}

#[derive(Clone, Copy)]
enum Rule {
    /// `Jn`: day 1..365, February 29 never counted.
    Julian(i64, i64),
    /// `n`: day 0..365, February 29 counted.
    DayOfYear(i64, i64),
    /// `Mm.w.d`: day d of week w of month m.
    MonthWeekDay {
        mon: i64,
        week: i64,
        day: i64,
        time: i64,
    },
}

fn tz_rule(s: &str) -> Option<(Rule, &str)> {
    enum Kind {
        J(i64),
        D(i64),
        M(i64, i64, i64),
    }
    let (kind, s) = if let Some(r) = s.strip_prefix('J') {
        let (d, r) = tz_num(r, 1, 365)?;
        (Kind::J(d), r)
    } else if let Some(r) = s.strip_prefix('M') {
        let (mon, r) = tz_num(r, 1, 12)?;
        let (week, r) = tz_num(r.strip_prefix('.')?, 1, 5)?;
        let (day, r) = tz_num(r.strip_prefix('.')?, 0, 6)?;
        (Kind::M(mon, week, day), r)
    } else {
        let (d, r) = tz_num(s, 0, 365)?;
        (Kind::D(d), r)
    };
    let (time, s) = match s.strip_prefix('/') {
        None => (2 * 3600, s),
        Some(r) => tz_offset(r)?,
    };
    let rule = match kind {
        Kind::J(d) => Rule::Julian(d, time),
        Kind::D(d) => Rule::DayOfYear(d, time),
        Kind::M(mon, week, day) => Rule::MonthWeekDay {
            mon,
            week,
            day,
            time,
        },
    };
    Some((rule, s))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(mon: i64, y: i64) -> i64 {
    match mon {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days before the first of `mon` in a non-leap year.
fn days_before(mon: i64) -> i64 {
    (1..mon).map(|m| days_in(m, 1)).sum()
}

/// Seconds since the start of `year` at which `r` takes effect, for a
/// zone at UTC offset `off` (Go's `tzruleTime`).
fn rule_time(year: i64, r: Rule, off: i64) -> i64 {
    let (s, time) = match r {
        Rule::Julian(day, time) => {
            let mut s = (day - 1) * SECONDS_PER_DAY;
            if is_leap(year) && day >= 60 {
                s += SECONDS_PER_DAY;
            }
            (s, time)
        }
        Rule::DayOfYear(day, time) => (day * SECONDS_PER_DAY, time),
        Rule::MonthWeekDay {
            mon,
            week,
            day,
            time,
        } => {
            // Zeller's congruence: day of week of the first of the month.
            let m1 = (mon + 9) % 12 + 1;
            let yy0 = if mon <= 2 { year - 1 } else { year };
            let (yy1, yy2) = (yy0 / 100, yy0 % 100);
            let mut dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7;
            if dow < 0 {
                dow += 7;
            }
            let mut d = day - dow;
            if d < 0 {
                d += 7;
            }
            for _ in 1..week {
                if d + 7 >= days_in(mon, year) {
                    break;
                }
                d += 7;
            }
            d += days_before(mon);
            if is_leap(year) && mon > 2 {
                d += 1;
            }
            (d * SECONDS_PER_DAY, time)
        }
    };
    s + time - off
}

/// Civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Year and 1-based day of the year of a day count since 1970-01-01.
fn year_yday(days: i64) -> (i64, i64) {
    let (y, m, d) = civil_from_days(days);
    let mut yday = days_before(m) + d;
    if is_leap(y) && m > 2 {
        yday += 1;
    }
    (y, yday)
}

/// Go's `appendInt(b, x, width)`: zero-padded to `width`, sign first.
fn pad(x: i64, width: usize) -> String {
    if x < 0 {
        format!("-{:0width$}", x.unsigned_abs())
    } else {
        format!("{x:0width$}")
    }
}

/// `YYYY-MM-DD hh:mm:ss` of `sec` since the epoch at UTC offset `offset`.
fn civil(sec: i64, offset: i64) -> String {
    let local = sec + offset;
    let (y, m, d) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
    let rem = local.rem_euclid(SECONDS_PER_DAY);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        pad(y, 4),
        m,
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Go's `-0700` for a UTC offset in seconds.
fn numeric_zone(offset: i64) -> String {
    let mut zone = offset / 60;
    let sign = if zone < 0 {
        zone = -zone;
        '-'
    } else {
        '+'
    };
    format!("{sign}{:02}{:02}", zone / 60, zone % 60)
}

/// `nanos` since the epoch as Go formats `2006-01-02 15:04:05 MST` in `loc`
/// (pprof's report header).
pub fn format_report_time(nanos: i64, loc: &Location) -> String {
    let sec = nanos.div_euclid(1_000_000_000);
    let (name, offset) = loc.lookup(sec);
    let date = civil(sec, offset);
    let zone = if name.is_empty() {
        numeric_zone(offset)
    } else {
        name
    };
    format!("{date} {zone}")
}

/// `nanos` since the epoch as Go's `Time.String` prints it in `loc`:
/// `2006-01-02 15:04:05.999999999 -0700 MST` (pprof's `-raw`).
pub fn format_go_string(nanos: i64, loc: &Location) -> String {
    let sec = nanos.div_euclid(1_000_000_000);
    let nsec = nanos.rem_euclid(1_000_000_000);
    let (name, offset) = loc.lookup(sec);
    let mut s = civil(sec, offset);
    if nsec != 0 {
        let frac = format!("{nsec:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    let num = numeric_zone(offset);
    let zone = if name.is_empty() { num.clone() } else { name };
    format!("{s} {num} {zone}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_2026: i64 = 1_795_304_854_558_232_446; // 2026-11-21 23:47:34.558232446 UTC

    #[test]
    fn utc() {
        let u = Location::utc();
        assert_eq!(format_report_time(NOV_2026, &u), "2026-11-21 23:47:34 UTC");
        assert_eq!(
            format_go_string(NOV_2026, &u),
            "2026-11-21 23:47:34.558232446 +0000 UTC"
        );
        assert_eq!(
            format_go_string(1_700_000_000_000_000_000, &u),
            "2023-11-14 22:13:20 +0000 UTC"
        );
    }

    #[test]
    fn posix_rules() {
        // After the last transition: the footer decides.
        let ny = "EST5EDT,M3.2.0,M11.1.0";
        assert_eq!(
            tzset(ny, 0, NOV_2026 / 1_000_000_000),
            Some(("EST".into(), -5 * 3600))
        );
        // 2026-07-01 12:00 UTC
        assert_eq!(tzset(ny, 0, 1_782_907_200), Some(("EDT".into(), -4 * 3600)));
        // Southern hemisphere: DST across the new year.
        let syd = "AEST-10AEDT,M10.1.0,M4.1.0/3";
        assert_eq!(
            tzset(syd, 0, NOV_2026 / 1_000_000_000),
            Some(("AEDT".into(), 11 * 3600))
        );
        assert_eq!(tzset("<+03>-3", 0, 0), Some(("+03".into(), 3 * 3600)));
        assert_eq!(
            tzset("IST-5:30", 0, 0),
            Some(("IST".into(), 5 * 3600 + 1800))
        );
        assert_eq!(tzset("X", 0, 0), None);
        // The Monday 2am rule around the March change of 2026 (March 8).
        let before = 1_772_953_200 - 1; // 2026-03-08 07:00 UTC is 2am EST
        assert_eq!(tzset(ny, 0, before).map(|z| z.1), Some(-5 * 3600));
        assert_eq!(tzset(ny, 0, before + 1).map(|z| z.1), Some(-4 * 3600));
    }

    #[test]
    fn bad_tzif_is_none() {
        assert!(Location::from_tzif(b"").is_none());
        assert!(Location::from_tzif(b"TZif2").is_none());
        let mut v = b"TZif".to_vec();
        v.extend_from_slice(&[0u8; 16]);
        v.extend_from_slice(&[0xff; 24]);
        assert!(Location::from_tzif(&v).is_none());
    }

    #[test]
    fn tz_var_fallbacks() {
        assert_eq!(Location::from_tz_var(Some("")), Location::utc());
        assert_eq!(Location::from_tz_var(Some("UTC")), Location::utc());
        assert_eq!(Location::from_tz_var(Some("No/Such_Zone")), Location::utc());
    }
}
