//! The `go tool pprof` command line: flags, sources, `-diff_base`/`-base`,
//! and the report, without any I/O on stdout/stderr.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::profile::{DIFF_BASE_LABEL, Profile};
use crate::report::{self, Config, Format};
use crate::transform::Granularity;

/// A parsed command line.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// Report options.
    pub cfg: Config,
    /// Profiles (files or URLs) to merge.
    pub sources: Vec<String>,
    /// Base profiles.
    pub base: Vec<String>,
    /// The base is a `-diff_base` (kept negated, percentages of the base).
    pub diff_base: bool,
    /// `-normalize`.
    pub normalize: bool,
    /// `-output`.
    pub output: Option<PathBuf>,
    /// `-seconds` (-1 when unset).
    pub seconds: i64,
    /// `-timeout` (-1 when unset).
    pub timeout: i64,
    /// `-add_comment`.
    pub comment: String,
    /// `-help` was asked for.
    pub help: bool,
    /// Bounds on reading each profile (`--max-decompressed`).
    pub limits: crate::proto::Limits,
}

const BOOL_FLAGS: &[&str] = &[
    "top",
    "text",
    "traces",
    "tree",
    "proto",
    "raw",
    "comments",
    "folded",
    "flamegraph",
    "svgflame",
    "speedscope",
    "cum",
    "flat",
    "functions",
    "filefunctions",
    "files",
    "lines",
    "addresses",
    "noinlines",
    "showcolumns",
    "mean",
    "drop_negative",
    "relative_percentages",
    "compact_labels",
    "trim",
    "normalize",
    "call_tree",
    "inuse_space",
    "inuse_objects",
    "alloc_space",
    "alloc_objects",
    "total_delay",
    "contentions",
    "mean_delay",
    "help",
    "h",
    "no_browser",
    "intel_syntax",
];

const VALUE_FLAGS: &[&str] = &[
    "peek",
    "list",
    "sample_index",
    "nodecount",
    "nodefraction",
    "edgefraction",
    "focus",
    "ignore",
    "hide",
    "show",
    "show_from",
    "tagfocus",
    "tagignore",
    "tagshow",
    "taghide",
    "prune_from",
    "unit",
    "divide_by",
    "source_path",
    "trim_path",
    "output",
    "o",
    "diff_base",
    "base",
    "seconds",
    "timeout",
    "add_comment",
    "symbolize",
    "buildid",
    "format",
    "tagroot",
    "tagleaf",
    "tools",
    "http",
    "max-decompressed",
    "max_decompressed",
];

/// Usage text for `gosleuth pprof -help`.
pub const USAGE: &str = "usage: gosleuth pprof [format] [options] source...

Formats (go tool pprof's, byte-identical output):
  -top -text -traces -tree -peek=RE -list=RE -proto -raw -comments
Flame graphs:
  -folded  -flamegraph (interactive SVG)  -speedscope   (or --format folded|svg|speedscope)
Options:
  -sample_index=NAME|N  -inuse_space -inuse_objects -alloc_space -alloc_objects
  -total_delay -contentions -mean_delay -mean
  -nodecount=N -nodefraction=F -edgefraction=F -cum -flat
  -functions -filefunctions -files -lines -addresses -noinlines
  -focus=RE -ignore=RE -hide=RE -show=RE -show_from=RE -prune_from=RE
  -tagfocus=[KEY=]RE,RE... or [KEY=]RANGE   (RANGE: 32kb, :64kb, 4mb:, 12kb:64mb, 10ms:)
  -tagignore=(same)  -tagshow=RE -taghide=RE  -tagroot=KEYS -tagleaf=KEYS
  -diff_base=FILE -base=FILE -normalize -divide_by=F -unit=U -drop_negative
  -source_path=P -trim_path=P -output=FILE
Sources: files (profile.proto, gzipped or not, or legacy text) or URLs:
  host:port/path, http://, https:// (roots: SSL_CERT_FILE, SSL_CERT_DIR, the
  system's), https+insecure:// (no certificate check); -seconds=N, -timeout=N
  (the timeout defaults to 1.5x the seconds).
The Time: header is in the zone TZ names (unset: /etc/localtime), as in Go.
Limits (not in go tool pprof):
  --max-decompressed=SIZE   largest profile accepted after gunzip, and the most
                            bytes its strings may take once resolved (default
                            1GiB; SIZE in bytes or with K, M, G, T: powers of 1024)
";

/// Parses a size such as `1073741824`, `512M`, `4GiB` or `64kb`: a whole
/// number of bytes, optionally with K, M, G or T (powers of 1024; `B`,
/// `iB` after it and case are ignored).
pub fn parse_size(v: &str) -> Option<u64> {
    let t = v.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// A byte count the way [`parse_size`] reads it: `1GiB`, `512MiB`, else
/// `N bytes`.
pub fn format_size(n: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<bool> {
    match v {
        None => Ok(true),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(x) => Err(Error::Usage(format!(
            "invalid boolean value {x:?} for -{name}"
        ))),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| Error::Usage(format!("invalid value {v:?} for flag -{name}: parse error")))
}

/// Parses pprof-style flags (`-flag`, `-flag=v`, `-flag v`, `--flag`).
/// Flags and sources may be interleaved; `--` ends the flags.
pub fn parse_args(args: &[String]) -> Result<Invocation> {
    let mut inv = Invocation {
        seconds: -1,
        timeout: -1,
        ..Default::default()
    };
    let cfg = &mut inv.cfg;
    let mut formats: Vec<Format> = Vec::new();
    let mut granularities: Vec<Granularity> = Vec::new();
    let mut sorts: Vec<bool> = Vec::new();
    let mut si_flags: Vec<(&str, &str)> = Vec::new();
    let mut i = 0;
    let mut only_sources = false;
    let mut saw_base = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if only_sources || !a.starts_with('-') || a == "-" {
            inv.sources.push(a.clone());
            continue;
        }
        if a == "--" {
            only_sources = true;
            continue;
        }
        let body = a.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if BOOL_FLAGS.contains(&name) {
            let on = parse_bool(name, inline)?;
            if !on {
                if name == "trim" {
                    cfg.trim = false;
                }
                continue;
            }
            match name {
                "top" | "text" => formats.push(Format::Top),
                "traces" => formats.push(Format::Traces),
                "tree" => formats.push(Format::Tree),
                "proto" => formats.push(Format::Proto),
                "raw" => formats.push(Format::Raw),
                "comments" => formats.push(Format::Comments),
                "folded" => formats.push(Format::Folded),
                "flamegraph" | "svgflame" => formats.push(Format::FlameSvg),
                "speedscope" => formats.push(Format::Speedscope),
                "cum" => sorts.push(true),
                "flat" => sorts.push(false),
                "functions" | "filefunctions" | "files" | "lines" | "addresses" => {
                    granularities.push(Granularity::parse(name).unwrap_or_default())
                }
                "noinlines" => cfg.no_inlines = true,
                "showcolumns" => cfg.show_columns = true,
                "mean" => cfg.mean = true,
                "drop_negative" => cfg.drop_negative = true,
                "relative_percentages" => cfg.relative_percentages = true,
                "compact_labels" => cfg.compact_labels = true,
                "trim" => cfg.trim = true,
                "normalize" => inv.normalize = true,
                "inuse_space" | "inuse_objects" | "alloc_space" | "alloc_objects" => {
                    si_flags.push((name, name))
                }
                "total_delay" => si_flags.push((name, "delay")),
                "contentions" => si_flags.push((name, "contentions")),
                "mean_delay" => {
                    si_flags.push((name, "delay"));
                    cfg.mean = true;
                }
                "help" | "h" => inv.help = true,
                _ => {}
            }
            continue;
        }
        if VALUE_FLAGS.contains(&name) {
            let v = match inline {
                Some(v) => v.to_string(),
                None => {
                    let Some(v) = args.get(i) else {
                        return Err(Error::Usage(format!("flag needs an argument: -{name}")));
                    };
                    i += 1;
                    v.clone()
                }
            };
            match name {
                "peek" => formats.push(Format::Peek(v)),
                "list" => formats.push(Format::List(v)),
                "sample_index" => cfg.sample_index = v,
                "nodecount" => cfg.node_count = parse_num(name, &v)?,
                "nodefraction" => cfg.node_fraction = parse_num(name, &v)?,
                "edgefraction" => cfg.edge_fraction = parse_num(name, &v)?,
                "focus" => cfg.focus = v,
                "ignore" => cfg.ignore = v,
                "hide" => cfg.hide = v,
                "show" => cfg.show = v,
                "show_from" => cfg.show_from = v,
                "prune_from" => cfg.prune_from = v,
                "tagroot" => cfg.tag_root = v,
                "tagleaf" => cfg.tag_leaf = v,
                "tagfocus" => cfg.tag_focus = v,
                "tagignore" => cfg.tag_ignore = v,
                "tagshow" => cfg.tag_show = v,
                "taghide" => cfg.tag_hide = v,
                "unit" => cfg.unit = v,
                "divide_by" => cfg.divide_by = parse_num(name, &v)?,
                "source_path" => cfg.source_path = v,
                "trim_path" => cfg.trim_path = v,
                "output" | "o" => inv.output = Some(PathBuf::from(v)),
                "diff_base" if !v.is_empty() => {
                    inv.base.push(v);
                    inv.diff_base = true;
                }
                "base" if !v.is_empty() => {
                    saw_base = true;
                    inv.base.push(v);
                }
                "seconds" => inv.seconds = parse_num(name, &v)?,
                "timeout" => inv.timeout = parse_num(name, &v)?,
                "add_comment" => inv.comment = v,
                "max-decompressed" | "max_decompressed" => {
                    inv.limits.max_decompressed = parse_size(&v).filter(|&n| n > 0).ok_or_else(|| {
                        Error::Usage(format!(
                            "invalid value {v:?} for flag --max-decompressed: want a size such as 1073741824, 512M or 4GiB"
                        ))
                    })?
                }
                "format" => formats.push(match v.as_str() {
                    "text" | "top" => Format::Top,
                    "traces" => Format::Traces,
                    "tree" => Format::Tree,
                    "proto" => Format::Proto,
                    "folded" => Format::Folded,
                    "svg" | "flamegraph" | "flame" => Format::FlameSvg,
                    "speedscope" => Format::Speedscope,
                    x => {
                        return Err(Error::Usage(format!(
                            "unknown --format {x:?}; use text, traces, tree, proto, folded, svg or speedscope"
                        )));
                    }
                }),
                "http" => {
                    return Err(Error::Usage(
                        "-http (the web UI) is not supported; use -flamegraph -output=FILE.svg for an interactive flame graph".into(),
                    ));
                }
                _ => {}
            }
            continue;
        }
        return Err(Error::Usage(format!(
            "flag provided but not defined: -{name}; run `gosleuth pprof -help` for the list"
        )));
    }
    if formats.len() > 1 {
        return Err(Error::Usage("must set at most one output format".into()));
    }
    cfg.format = formats.pop().unwrap_or_default();
    if granularities.len() > 1 {
        return Err(Error::Usage("conflicting options set: granularity".into()));
    }
    cfg.granularity = granularities.pop();
    if sorts.len() > 1 {
        return Err(Error::Usage("conflicting options set: [cum flat]".into()));
    }
    if let Some(c) = sorts.pop() {
        cfg.cum = c;
    }
    for (_, si) in si_flags {
        if cfg.sample_index.is_empty() {
            cfg.sample_index = si.to_string();
        }
    }
    if saw_base && inv.diff_base {
        return Err(Error::Usage(
            "-base and -diff_base flags cannot both be specified".into(),
        ));
    }
    if inv.normalize && inv.base.is_empty() {
        return Err(Error::Usage(
            "must have base profile to normalize by".into(),
        ));
    }
    if inv.sources.is_empty() && !inv.help {
        return Err(Error::Usage("no profile source specified".into()));
    }
    Ok(inv)
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Report bytes (for stdout, or already written to `-output`).
    pub report: Vec<u8>,
    /// Messages for stderr.
    pub warnings: Vec<String>,
}

/// What a fetcher returns for a URL: the final URL and the body, or why
/// not.
pub type FetchResult =
    std::result::Result<(String, Vec<u8>), Box<dyn std::error::Error + Send + Sync>>;

/// Opens the sources that are not files: given a source and the
/// `-seconds` and `-timeout` values, `None` when it is not a URL, else
/// what fetching it gave. The `gosleuth-fetch` crate speaks pprof's URL
/// rules and http, https and `https+insecure`; this crate does no I/O
/// over the network itself.
pub type FetchFn<'a> = &'a mut dyn FnMut(&str, i64, i64) -> Option<FetchResult>;

/// Loads one source, a file path (URLs need [`load_with_fetch`]).
pub fn load(src: &str, inv: &Invocation, warnings: &mut Vec<String>) -> Result<Profile> {
    load_source(src, inv, warnings, &mut None)
}

/// [`load`], with URL sources opened by `fetch`.
pub fn load_with_fetch(
    src: &str,
    inv: &Invocation,
    warnings: &mut Vec<String>,
    fetch: FetchFn<'_>,
) -> Result<Profile> {
    load_source(src, inv, warnings, &mut Some(fetch))
}

fn load_source(
    src: &str,
    inv: &Invocation,
    warnings: &mut Vec<String>,
    fetch: &mut Option<FetchFn<'_>>,
) -> Result<Profile> {
    if std::path::Path::new(src).exists() {
        return crate::parse_file_with(std::path::Path::new(src), inv.limits).map_err(
            |e| match e {
                Error::Io { .. } => e,
                other => Error::Source {
                    source_name: src.to_string(),
                    source: Box::new(other),
                },
            },
        );
    }
    let Some(fetch) = fetch else {
        return Err(Error::Io {
            path: src.into(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (URLs need a fetcher: driver::run_with_fetch)",
            ),
        });
    };
    if let Some(fetched) = fetch(src, inv.seconds, inv.timeout) {
        let (url, data) = fetched.map_err(Error::Fetch)?;
        warnings.push(format!("Fetching profile over HTTP from {url}"));
        return crate::parse_with(&data, inv.limits).map_err(|e| Error::Source {
            source_name: url,
            source: Box::new(e),
        });
    }
    Err(Error::Io {
        path: src.into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file, and not a URL"),
    })
}

fn load_all(
    srcs: &[String],
    inv: &Invocation,
    warnings: &mut Vec<String>,
    fetch: &mut Option<FetchFn<'_>>,
) -> Result<Option<Profile>> {
    if srcs.is_empty() {
        return Ok(None);
    }
    let mut ps = Vec::new();
    for s in srcs {
        ps.push(load_source(s, inv, warnings, fetch)?);
    }
    Ok(Some(combine(ps)?))
}

/// pprof's `combineProfiles`.
pub fn combine(mut ps: Vec<Profile>) -> Result<Profile> {
    crate::merge::compatibilize_sample_types(&mut ps)?;
    if ps.len() == 1 {
        return Ok(ps.pop().unwrap_or_default());
    }
    crate::merge::merge(&ps)
}

/// Loads sources and bases as pprof does (`fetchProfiles`), files only.
pub fn load_profile(inv: &Invocation, warnings: &mut Vec<String>) -> Result<Profile> {
    load_profiles(inv, warnings, &mut None)
}

/// [`load_profile`], with URL sources opened by `fetch`.
pub fn load_profile_with_fetch(
    inv: &Invocation,
    warnings: &mut Vec<String>,
    fetch: FetchFn<'_>,
) -> Result<Profile> {
    load_profiles(inv, warnings, &mut Some(fetch))
}

fn load_profiles(
    inv: &Invocation,
    warnings: &mut Vec<String>,
    fetch: &mut Option<FetchFn<'_>>,
) -> Result<Profile> {
    let p = load_all(&inv.sources, inv, warnings, fetch)?
        .ok_or_else(|| Error::Usage("no profile source specified".into()))?;
    let base = load_all(&inv.base, inv, warnings, fetch)?;
    let mut p = match base {
        None => p,
        Some(mut b) => {
            let mut p = p;
            if inv.diff_base {
                b.set_label(DIFF_BASE_LABEL, "true");
            }
            if inv.normalize {
                crate::merge::normalize(&mut p, &b)?;
            }
            b.scale(-1.0);
            combine(vec![p, b])?
        }
    };
    if p.mappings.is_empty() {
        p.mappings.push(crate::profile::Mapping {
            id: 1,
            ..Default::default()
        });
        for l in &mut p.locations {
            l.mapping = Some(0);
        }
    }
    if !inv.comment.is_empty() {
        p.comments.push(inv.comment.clone());
    }
    crate::merge::check_valid(&p)?;
    Ok(p)
}

/// Runs a whole `pprof` command line on files and returns the report.
pub fn run(args: &[String]) -> Result<Outcome> {
    run_invocation(&parse_args(args)?)
}

/// [`run`], with URL sources opened by `fetch`.
pub fn run_with_fetch(args: &[String], fetch: FetchFn<'_>) -> Result<Outcome> {
    run_invocation_with_fetch(&parse_args(args)?, fetch)
}

/// Runs a parsed command line (see [`parse_args`]) on files and returns
/// the report.
pub fn run_invocation(inv: &Invocation) -> Result<Outcome> {
    run_parsed(inv, None)
}

/// [`run_invocation`], with URL sources opened by `fetch`.
pub fn run_invocation_with_fetch(inv: &Invocation, fetch: FetchFn<'_>) -> Result<Outcome> {
    run_parsed(inv, Some(fetch))
}

fn run_parsed(inv: &Invocation, mut fetch: Option<FetchFn<'_>>) -> Result<Outcome> {
    if inv.help {
        return Ok(Outcome {
            report: USAGE.as_bytes().to_vec(),
            warnings: Vec::new(),
        });
    }
    let mut warnings = Vec::new();
    let p = load_profiles(inv, &mut warnings, &mut fetch)?;
    let mut rpt = report::prepare(p, &inv.cfg)?;
    warnings.append(&mut rpt.warnings);
    let out = crate::output::generate(&mut rpt)?;
    if let Some(path) = &inv.output {
        warnings.push(format!("Generating report in {}", path.display()));
        std::fs::write(path, &out).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        return Ok(Outcome {
            report: Vec::new(),
            warnings,
        });
    }
    Ok(Outcome {
        report: out,
        warnings,
    })
}
