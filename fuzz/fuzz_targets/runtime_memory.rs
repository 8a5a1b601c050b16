//! Any bytes as the memory of a Go process (every address reads from the
//! input, wrapping around), read with a real Go binary's layouts: finding
//! goroutines, unwinding, labels, the wait graph, symbolization and reading
//! variables (locals, arguments, expressions, package variables) never
//! panic, never loop forever and never allocate without bound.
//!
//! The binary: `GOSLEUTH_FUZZ_BINARY`, else the evidence factory's
//! `parked` for the installed Go (`python3 factory/factory.py build`).
#![no_main]

use std::sync::OnceLock;

use gosleuth_memory::{Endian, Memory, Region, Result};
use libfuzzer_sys::fuzz_target;

struct Wrapped<'a>(&'a [u8]);

impl Memory for Wrapped<'_> {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        if self.0.is_empty() {
            return Err(gosleuth_memory::Error::Unmapped {
                addr,
                len: buf.len(),
                source_name: "fuzz".into(),
            });
        }
        let n = self.0.len() as u64;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.0[((addr.wrapping_add(i as u64)) % n) as usize];
        }
        Ok(())
    }
    fn endian(&self) -> Endian {
        Endian::Little
    }
    fn regions(&self) -> Vec<Region> {
        Vec::new()
    }
}

fn binary() -> Option<&'static std::path::Path> {
    static BIN: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let p = std::env::var_os("GOSLEUTH_FUZZ_BINARY").map(std::path::PathBuf::from).or_else(|| {
            let home = std::env::var_os("HOME")?;
            let dir = std::path::Path::new(&home).join(".cache/gosleuth/factory");
            std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path().join("bin/parked")).find(|p| p.exists())
        })?;
        Some(p)
    })
    .as_deref()
}

/// A value read into runtime's tree, printed as Delve prints it (the
/// conversion and the printer see every shape the reader can produce).
fn shown(v: gosleuth_runtime::values::Value) -> String {
    gosleuth_dlvrpc::api::format::format(&gosleuth_dlvrpc::api::Variable::from(v))
}

fuzz_target!(|data: &[u8]| {
    let Some(path) = binary() else { return };
    let Ok(bin) = gosleuth_gobin::GoBinary::open(path) else { return };
    let Ok(t) = gosleuth_runtime::Target::new(Wrapped(data), bin, 0, Vec::new()) else {
        return;
    };
    let opts = gosleuth_runtime::Options { wait_graph: true };
    if let Ok(mut c) = gosleuth_runtime::Capture::read(t, "fuzz".into(), None, &opts) {
        c.symbolize();
        let _ = c.snapshot();
        // Variables of every frame, and expressions, over the same bytes.
        use gosleuth_runtime::values::{self, LoadConfig, Scope};
        let cfg = LoadConfig { max_variable_recurse: 2, ..LoadConfig::default() };
        for goroutine in 0..c.goroutines().len().min(32) {
            let frames = c.view(goroutine).frame_iter().count().min(16);
            for frame in 0..frames {
                let s = Scope { goroutine, frame };
                for v in values::locals(&c, s, &cfg).unwrap_or_default() {
                    let _ = shown(v);
                }
                for v in values::args(&c, s, &cfg).unwrap_or_default() {
                    let _ = shown(v);
                }
            }
            let s = Scope { goroutine, frame: 0 };
            for e in ["main.sendCh", "runtime.allgs", "*runtime.allgs[0]", "len(main.selB)"] {
                if let Ok(v) = values::eval(&c, s, e, &cfg) {
                    let _ = shown(v);
                }
            }
        }
        let _ = values::package_vars(&c, "^main\\.", &cfg);
    }
});
