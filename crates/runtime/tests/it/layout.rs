use gosleuth_runtime::layout::Layout;

#[test]
fn print_layouts() {
    for v in [
        "go1.21.13",
        "go1.22.12",
        "go1.23.12",
        "go1.24.13",
        "go1.25.7",
        "go1.26.8",
    ] {
        let dir = std::path::PathBuf::from(std::env::var("HOME").unwrap())
            .join(".cache/gosleuth/factory")
            .join(&v)
            .join("bin/parked");
        let Ok(bin) = gosleuth_gobin::GoBinary::open(&dir) else {
            continue;
        };
        let d = bin.dwarf().unwrap().unwrap();
        let l = Layout::from_dwarf(d).unwrap();
        println!("{v} {l:?}");
    }
}
