//! `gosleuth bin`: read a Go binary.
//!
//! - `info BIN`: what `go version -m BIN` prints, then facts about the file
//!   (arch, PIE, stripped, DWARF, pclntab); `--format json` for tools.
//! - `sym BIN [ADDR...]`: `go tool addr2line` output (two lines per address:
//!   function, then `file:line`; `?` and `?:0` when unknown), addresses from
//!   the arguments or stdin; `--inline` expands inlined calls, innermost first.
//! - `funcs BIN [REGEX]`: entry address, size and name of each function;
//!   exit status 1 if nothing matches.
//! - `size BIN [--by package|symbol|section] [--diff OLD_BIN]`: where the
//!   bytes go (text, rodata, data, bss and pclntab), and what changed.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use gosleuth_gobin::GoBinary;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum BinCommand {
    /// Go version, modules and build settings (like `go version -m`), plus
    /// DWARF, pclntab, PIE and strip status.
    Info(InfoArgs),
    /// Symbolize hex addresses like `go tool addr2line` (reads stdin when no
    /// address is given).
    Sym(SymArgs),
    /// List functions: entry address, size, name.
    Funcs(FuncsArgs),
    /// Where the bytes go: text, rodata, data, bss and pclntab by package,
    /// symbol or section; `--diff OLD_BIN` shows what changed.
    Size(SizeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SizeBy {
    Package,
    Symbol,
    Section,
}

#[derive(Debug, Args)]
pub struct SizeArgs {
    /// The Go binary.
    pub bin: PathBuf,
    /// What to list.
    #[arg(long, value_enum, default_value_t = SizeBy::Package)]
    pub by: SizeBy,
    /// Rows at most (text output).
    #[arg(long, default_value_t = 30)]
    pub top: usize,
    /// An older build of the same program: show what changed from it.
    #[arg(long, value_name = "OLD_BIN")]
    pub diff: Option<PathBuf>,
    /// Output format (JSON has exact byte counts).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The Go binary.
    pub bin: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SymArgs {
    /// The Go binary.
    pub bin: PathBuf,
    /// Hex addresses (`0x` optional). Without any, read one per line from stdin.
    pub addrs: Vec<String>,
    /// Print the chain of inlined calls at each address, innermost first.
    #[arg(long)]
    pub inline: bool,
}

#[derive(Debug, Args)]
pub struct FuncsArgs {
    /// The Go binary.
    pub bin: PathBuf,
    /// Only functions whose name matches this regular expression.
    pub regex: Option<String>,
}

pub fn run(command: BinCommand) -> anyhow::Result<ExitCode> {
    match command {
        BinCommand::Info(a) => info(a),
        BinCommand::Sym(a) => sym(a),
        BinCommand::Funcs(a) => funcs(a),
        BinCommand::Size(a) => size(a),
    }
}

fn open(path: &PathBuf) -> anyhow::Result<GoBinary> {
    GoBinary::open(path).with_context(|| format!("cannot read Go binary {}", path.display()))
}

fn info(a: InfoArgs) -> anyhow::Result<ExitCode> {
    use gosleuth_render::bininfo;
    let bin = open(&a.bin)?;
    let name = a.bin.display().to_string();
    let doc = match a.format {
        Format::Text => {
            let (text, problem) = bininfo::text(&name, &bin);
            if let Some(e) = problem {
                eprintln!("gosleuth: {name}: {e}");
            }
            text
        }
        Format::Json => pretty(&bininfo::json(&name, &bin))?,
    };
    crate::output::emit(&doc)?;
    Ok(ExitCode::SUCCESS)
}

fn sym(a: SymArgs) -> anyhow::Result<ExitCode> {
    let bin = open(&a.bin)?;
    let pcln = bin.pcln();
    let mut out = BufWriter::new(std::io::stdout().lock());
    if a.addrs.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading addresses from stdin")?;
            pcln.write_addr2line(&mut out, &line, a.inline)?;
        }
    } else {
        for addr in &a.addrs {
            pcln.write_addr2line(&mut out, addr, a.inline)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn funcs(a: FuncsArgs) -> anyhow::Result<ExitCode> {
    let bin = open(&a.bin)?;
    let pcln = bin.pcln();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut n = 0usize;
    let mut emit = |f: gosleuth_gobin::Func<'_>| -> std::io::Result<()> {
        n += 1;
        writeln!(out, "{:#x} {} {}", f.entry(), f.size(), f.name())
    };
    match &a.regex {
        Some(re) => {
            for f in pcln.funcs_matching(re)? {
                emit(f)?;
            }
        }
        None => {
            for f in pcln.funcs() {
                emit(f)?;
            }
        }
    }
    out.flush()?;
    Ok(if n == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn size(a: SizeArgs) -> anyhow::Result<ExitCode> {
    use gosleuth_render::size as render;
    let by = match a.by {
        SizeBy::Package => render::SizeBy::Package,
        SizeBy::Symbol => render::SizeBy::Symbol,
        SizeBy::Section => render::SizeBy::Section,
    };
    let new = open(&a.bin)?.sizes();
    let name = a.bin.display().to_string();
    let doc = match &a.diff {
        Some(old_path) => {
            let old = open(old_path)?.sizes();
            let old_name = old_path.display().to_string();
            match a.format {
                Format::Text => render::diff_text(&old_name, &old, &name, &new, by, a.top),
                Format::Json => pretty(&render::diff_json(&old_name, &old, &name, &new, by))?,
            }
        }
        None => match a.format {
            Format::Text => render::text(&name, &new, by, a.top),
            Format::Json => pretty(&render::json(&name, &new))?,
        },
    };
    crate::output::emit(&doc)?;
    Ok(ExitCode::SUCCESS)
}

fn pretty(v: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}
