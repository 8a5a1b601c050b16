//! Local time the way Go's `time` package computes it, so that report
//! headers (`Time: 2026-11-21 18:47:34 EST`) match `go tool pprof` under
//! any `TZ`.
//!
//! The zone comes from `TZ` exactly as Go's `initLocal` reads it: unset
//! means `/etc/localtime`, empty means UTC, `:NAME` or `NAME` is a file
//! under the system zoneinfo directories (or an absolute path), and
//! anything that cannot be loaded falls back to UTC (a POSIX rule such as
//! `EST5EDT,M3.2.0,M11.1.0` given as `TZ` is a file name to Go, so it is
//! here too). Which files and which fallbacks are Go's rules and stay
//! here; reading a zone file (TZif, with its POSIX footer for times after
//! the last transition) and civil time are `jiff`'s.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A time zone: Go's `time.Location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `None` is Go's UTC.
    zone: Option<TimeZone>,
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
        Location { zone: None }
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
        let zone = TimeZone::tzif("zone", data).ok()?;
        Some(Location { zone: Some(zone) })
    }

    /// The zone abbreviation and UTC offset (seconds) in effect at `sec`
    /// seconds since the epoch (Go's `Location.lookup`).
    pub fn lookup(&self, sec: i64) -> (String, i64) {
        let Some(zone) = &self.zone else {
            return ("UTC".into(), 0);
        };
        let Ok(at) = Timestamp::from_second(sec) else {
            return ("UTC".into(), 0);
        };
        let info = zone.to_offset_info(at);
        (
            info.abbreviation().to_string(),
            i64::from(info.offset().seconds()),
        )
    }
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
    let dt = i32::try_from(offset)
        .ok()
        .and_then(|o| jiff::tz::Offset::from_seconds(o).ok())
        .zip(Timestamp::from_second(sec).ok())
        .map(|(o, t)| o.to_datetime(t));
    let Some(dt) = dt else {
        return format!("{sec}s after 1970 {offset:+}s");
    };
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        pad(i64::from(dt.year()), 4),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
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

    /// Zone files of the system (tzdata): transitions, the POSIX footer
    /// after the last one (Debian's files are "slim": 2026 is past their
    /// last transition), half-hour offsets and numeric abbreviations.
    #[test]
    fn system_zones() {
        let zone = |name: &str| Location::from_tz_var(Some(name));
        let ny = zone("America/New_York");
        assert_eq!(
            ny.lookup(NOV_2026 / 1_000_000_000),
            ("EST".into(), -5 * 3600)
        );
        // 2026-07-01 12:00 UTC
        assert_eq!(ny.lookup(1_782_907_200), ("EDT".into(), -4 * 3600));
        // The change of 2026-03-08: 07:00 UTC is 2am EST.
        let before = 1_772_953_200 - 1;
        assert_eq!(ny.lookup(before).1, -5 * 3600);
        assert_eq!(ny.lookup(before + 1).1, -4 * 3600);
        let syd = zone("Australia/Sydney");
        assert_eq!(
            syd.lookup(NOV_2026 / 1_000_000_000),
            ("AEDT".into(), 11 * 3600)
        );
        assert_eq!(zone("Asia/Kolkata").lookup(0).1, 5 * 3600 + 1800);
        assert_eq!(
            zone("Asia/Riyadh").lookup(NOV_2026 / 1_000_000_000),
            ("+03".into(), 3 * 3600)
        );
        assert_eq!(format_report_time(NOV_2026, &ny), "2026-11-21 18:47:34 EST");
        assert_eq!(
            format_go_string(NOV_2026, &zone("Asia/Kolkata")),
            "2026-11-22 05:17:34.558232446 +0530 IST"
        );
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
