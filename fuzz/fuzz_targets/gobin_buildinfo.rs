//! Any bytes as a build info blob (pointers resolve into the same bytes)
//! and as module info text: never a panic, and printing is stable: what
//! parses prints, re-parses and prints the same text again (printing can
//! drop information, as Go's does: a replaced module's sum).
#![no_main]

use gosleuth_gobin::BuildInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = |addr: u64, len: u64| -> Option<&[u8]> {
        let start = usize::try_from(addr).ok()?;
        let end = start
            .checked_add(usize::try_from(len).ok()?)?
            .min(data.len());
        data.get(start..end)
    };
    if let Ok(bi) = BuildInfo::from_blob(data, &read) {
        let _ = bi.version_m_lines();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bi) = BuildInfo::parse_modinfo(text)
    {
        // The printed form (minus the tab indent) parses and prints the same.
        let unindent = |s: String| -> String {
            s.split_terminator('\n')
                .map(|l| format!("{}\n", &l[1..]))
                .collect()
        };
        let printed = unindent(bi.version_m_lines());
        let again = BuildInfo::parse_modinfo(&printed).expect("printed build info parses");
        assert_eq!(unindent(again.version_m_lines()), printed);
    }
});
