//! The built-in layout table (for binaries without DWARF) agrees with the
//! DWARF of real binaries of every release.

use gosleuth_runtime::layout::Layout;
use gosleuth_testkit as kit;

use crate::support::bin;

#[test]
fn table_matches_dwarf_for_every_release() {
    for go in kit::layout_go_versions() {
        let bin = gosleuth_gobin::GoBinary::open(bin(&go, "parked"))
            .unwrap_or_else(|e| panic!("{go}: {e}"));
        let d = bin.dwarf().expect("DWARF readable").expect("has DWARF");
        let from_dwarf = Layout::from_dwarf(d).unwrap_or_else(|e| panic!("{go}: {e}"));
        let minor = kit::go_minor(&go);
        assert_eq!(
            Layout::for_version(minor),
            Some(from_dwarf),
            "{go}: the built-in table differs from DWARF; regenerate src/layout_table.rs"
        );
    }
}
