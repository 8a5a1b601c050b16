//! `gosleuth deps [PKG...]`: the import graph, with godepgraph's options
//! (`-s`, `-novendor`, `-p`, `-i`, `-o`, `-l`, `-t`, `-d`, `-horizontal`,
//! in its single-dash spelling too), as godepgraph's DOT, an SVG drawn
//! without Graphviz, a text listing or JSON. The graph and its drawing
//! live in `gosleuth-deps`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gosleuth_deps::Options;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// godepgraph's DOT (for `dot -Tpng` and other DOT readers).
    Dot,
    /// An SVG drawn here, no Graphviz needed.
    Svg,
    /// The same drawing as a PNG (to a file: `> deps.png`), with the
    /// system's fonts.
    Png,
    /// Each package with what it imports, cycles first.
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DepsArgs {
    /// Packages to start from (go list patterns: `./cmd/app`, `./...`).
    #[arg(default_value = ".")]
    pub packages: Vec<String>,
    /// Run go list in this directory (the module's).
    #[arg(short = 'C', long = "dir", default_value = ".")]
    pub dir: PathBuf,
    /// Read saved `go list -e -deps -json` output instead (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Leave the standard library out.
    #[arg(short = 's', long = "nostdlib")]
    pub no_std: bool,
    /// Leave vendored packages out.
    #[arg(long = "novendor")]
    pub no_vendor: bool,
    /// Follow the imports of standard-library packages too.
    #[arg(short = 'd', long = "withgoroot")]
    pub with_goroot: bool,
    /// Leave out packages with these prefixes (comma-separated).
    #[arg(short = 'p', long = "ignoreprefixes", value_delimiter = ',')]
    pub ignore_prefixes: Vec<String>,
    /// Leave out these packages (comma-separated).
    #[arg(short = 'i', long = "ignorepackages", value_delimiter = ',')]
    pub ignore_packages: Vec<String>,
    /// Keep only packages with these prefixes (comma-separated).
    #[arg(short = 'o', long = "onlyprefixes", value_delimiter = ',')]
    pub only_prefixes: Vec<String>,
    /// Levels at most (the named packages are level 1).
    #[arg(short = 'l', long = "maxlevel", default_value_t = 256)]
    pub max_level: usize,
    /// Follow test imports too (import cycles through tests show).
    #[arg(short = 't', long = "withtests")]
    pub tests: bool,
    /// Lay the graph out left to right.
    #[arg(long)]
    pub horizontal: bool,
    /// Label each package with its size in this binary (`bin size`).
    #[arg(long, value_name = "BIN")]
    pub bin: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    pub format: Format,
}

/// godepgraph's single-dash long flags (`-novendor`) in clap's spelling.
pub fn godepgraph_spelling(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const LONG: [&str; 9] = [
        "nostdlib",
        "novendor",
        "withgoroot",
        "ignoreprefixes",
        "ignorepackages",
        "onlyprefixes",
        "maxlevel",
        "withtests",
        "horizontal",
    ];
    if args.get(1).and_then(|a| a.to_str()) != Some("deps") {
        return args;
    }
    args.into_iter()
        .map(|a| {
            let name = a
                .to_str()
                .and_then(|s| s.strip_prefix('-'))
                .filter(|r| !r.starts_with('-'));
            match name {
                Some(r) if LONG.contains(&r.split('=').next().unwrap_or(r)) => {
                    format!("--{r}").into()
                }
                _ => a,
            }
        })
        .collect()
}

pub fn run(a: DepsArgs) -> anyhow::Result<ExitCode> {
    let packages = match &a.input {
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading stdin")?
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?
            };
            gosleuth_deps::parse(&text).with_context(|| format!("reading {}", path.display()))?
        }
        None => gosleuth_deps::go_list(&a.dir, &a.packages, a.tests)?,
    };
    let opts = Options {
        no_std: a.no_std,
        no_vendor: a.no_vendor,
        with_goroot: a.with_goroot,
        ignore_prefixes: a.ignore_prefixes,
        ignore_packages: a.ignore_packages,
        only_prefixes: a.only_prefixes,
        max_level: a.max_level,
        tests: a.tests,
    };
    // A named package the go command could not load: its own message.
    let named: Vec<_> = packages
        .iter()
        .filter(|p| !p.dep_only && !p.is_test_variant())
        .collect();
    let broken: Vec<String> = named
        .iter()
        .filter_map(|p| {
            p.error
                .as_ref()
                .map(|e| format!("{}: {}", p.import_path, e.err.trim()))
        })
        .collect();
    if !named.is_empty() && broken.len() == named.len() {
        anyhow::bail!("go list could not load {}", broken.join("; "));
    }
    for b in &broken {
        eprintln!("gosleuth deps: {b}");
    }
    let graph = gosleuth_deps::select(&packages, &[], &opts)?;
    let sizes: Option<HashMap<String, u64>> = match &a.bin {
        Some(path) => {
            let bin = gosleuth_gobin::GoBinary::open(path)
                .with_context(|| format!("cannot read Go binary {}", path.display()))?;
            let mut sizes: HashMap<String, u64> = bin
                .sizes()
                .by_package()
                .into_iter()
                .map(|p| (p.package.clone(), p.in_file()))
                .collect();
            // A binary calls its main package `main`: the one named here.
            let mains: Vec<_> = named.iter().filter(|p| p.name == "main").collect();
            if let ([m], Some(&b)) = (mains.as_slice(), sizes.get("main")) {
                sizes.insert(m.import_path.clone(), b);
            }
            Some(sizes)
        }
        None => None,
    };
    let doc = match a.format {
        Format::Dot => gosleuth_deps::dot(&graph, a.horizontal, sizes.as_ref()),
        Format::Svg => gosleuth_deps::svg(&graph, a.horizontal, sizes.as_ref()),
        Format::Png => {
            let svg = gosleuth_deps::svg(&graph, a.horizontal, sizes.as_ref());
            let fonts = gosleuth_render::png::Fonts::system()?;
            let png = gosleuth_render::png::from_svg(&svg, &fonts, 1.0)?;
            crate::output::emit_binary(&png, "a PNG")?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Text => gosleuth_deps::report::text(&graph, sizes.as_ref()),
        Format::Json => {
            serde_json::to_string_pretty(&gosleuth_deps::report::json(&graph, sizes.as_ref()))?
                + "\n"
        }
    };
    crate::output::emit(&doc)?;
    Ok(ExitCode::SUCCESS)
}
