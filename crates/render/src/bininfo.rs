//! `gosleuth bin info`: what a Go binary says about itself, as
//! `go version -m` prints it (build info) plus what gosleuth reads from it
//! (architecture, PIE, symbols, DWARF, the pclntab), in text or JSON.

use std::fmt::Write;

use gosleuth_gobin::{GoBinary, Module};
use serde_json::{Value, json};

/// The text report of `bin` (shown as `name`): `go version -m`'s lines,
/// then gosleuth's `binary` lines. The second value is why the build info
/// could not be read, if it could not (the report then names the Go
/// version found elsewhere in the binary).
pub fn text(name: &str, bin: &GoBinary) -> (String, Option<String>) {
    let pcln = bin.pcln();
    let mut out = String::new();
    let mut problem = None;
    match bin.build_info() {
        Ok(bi) => {
            let _ = writeln!(out, "{name}: {}", bi.go_version);
            out.push_str(&bi.version_m_lines());
        }
        Err(e) => {
            let v = bin
                .go_version()
                .unwrap_or_else(|| "unknown Go version".into());
            let _ = writeln!(out, "{name}: {v}");
            problem = Some(e.to_string());
        }
    }
    let _ = writeln!(out, "\tbinary\tarch={}", bin.arch().goarch());
    let _ = writeln!(out, "\tbinary\tpie={}", bin.is_pie());
    let _ = writeln!(out, "\tbinary\tstripped={}", bin.is_stripped());
    let _ = writeln!(out, "\tbinary\tdwarf={}", bin.has_dwarf());
    let _ = writeln!(
        out,
        "\tbinary\tpclntab=go{}+ ({:?}, {} funcs)",
        pcln.version().as_str(),
        bin.pclntab_source(),
        pcln.num_funcs()
    );
    (out, problem)
}

/// The JSON document of `bin` (shown as `name`); a build info that cannot
/// be read is `build_info_error`.
pub fn json(name: &str, bin: &GoBinary) -> Value {
    let pcln = bin.pcln();
    let mut v = json!({
        "path": name,
        "go_version": bin.go_version(),
        "arch": bin.arch().goarch(),
        "pie": bin.is_pie(),
        "stripped": bin.is_stripped(),
        "dwarf": bin.has_dwarf(),
        "pclntab": {
            "version": format!("go{}", pcln.version().as_str()),
            "source": format!("{:?}", bin.pclntab_source()).to_lowercase(),
            "funcs": pcln.num_funcs(),
            "text_start": pcln.text_start(),
        },
    });
    match bin.build_info() {
        Ok(bi) => {
            v["build_info"] = json!({
                "go_version": bi.go_version,
                "path": bi.path,
                "main": bi.main.as_ref().map(module),
                "deps": bi.deps.iter().map(module).collect::<Vec<_>>(),
                "settings": bi.settings.iter().map(|s| json!({"key": s.key, "value": s.value})).collect::<Vec<_>>(),
            });
        }
        Err(e) => v["build_info_error"] = json!(e.to_string()),
    }
    v
}

fn module(m: &Module) -> Value {
    json!({
        "path": m.path,
        "version": m.version,
        "sum": m.sum,
        "replace": m.replace.as_deref().map(module),
    })
}
