//! Fuzz what gosleuth pprof parses besides profiles: zone files (TZif, for
//! the report's `Time:` header; `TZ` can name any file) and `-tagfocus`
//! values (regexps or numeric ranges with units). Any input gives a value
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(loc) = gosleuth_pprof::tz::Location::from_tzif(data) {
        for sec in [i64::MIN, -1 << 40, 0, 1_700_000_000, 1 << 40, i64::MAX] {
            let _ = loc.lookup(sec);
        }
        let _ = gosleuth_pprof::tz::format_report_time(1_700_000_000_000_000_000, &loc);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = gosleuth_pprof::transform::TagFilter::new("tagfocus", s);
    }
});
