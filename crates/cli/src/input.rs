//! Inputs named on the command line: files, globs and `-` for stdin, read
//! in chunks (gzip is undone on the fly).

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// How the input is named in output.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => String::from("<stdin>"),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Opens a plain (uncompressed, regular) file for positioned reads,
    /// with its length; `None` for stdin and compressed files.
    pub fn open_plain(&self) -> Result<Option<(File, u64)>> {
        let Input::File(path) = self else {
            return Ok(None);
        };
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        let mut head = [0u8; 2];
        let gz = path.extension().is_some_and(|e| e == "gz")
            || (file.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b]);
        if gz || !meta.is_file() {
            return Ok(None);
        }
        Ok(Some((file, meta.len())))
    }

    /// Streams the input's bytes to `sink` in chunks of about 1 MiB.
    pub fn for_each_chunk(&self, sink: &mut dyn FnMut(&[u8])) -> Result<()> {
        match self {
            Input::Stdin => pump(io::stdin().lock(), sink).context("reading standard input"),
            Input::File(path) => {
                let file =
                    File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                let mut head = [0u8; 2];
                let gz = path.extension().is_some_and(|e| e == "gz")
                    || (file
                        .try_clone()
                        .and_then(|mut f| f.read_exact(&mut head))
                        .is_ok()
                        && head == [0x1f, 0x8b]);
                let file =
                    File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                if gz {
                    pump(flate2::read::MultiGzDecoder::new(file), sink).with_context(|| {
                        format!(
                            "reading gzip file {} (truncated or corrupt?)",
                            path.display()
                        )
                    })
                } else {
                    pump(file, sink).with_context(|| format!("reading {}", path.display()))
                }
            }
        }
    }
}

fn pump(mut r: impl Read, sink: &mut dyn FnMut(&[u8])) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => sink(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Expands arguments: `-` is stdin, arguments with glob characters are
/// expanded (sorted), others are taken as paths. No arguments means stdin.
pub fn expand(args: &[String]) -> Result<Vec<Input>> {
    if args.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
        } else if a.contains(['*', '?', '[']) && !std::path::Path::new(a).exists() {
            let mut matched: Vec<PathBuf> = glob::glob(a)
                .with_context(|| format!("bad glob pattern {a:?}"))?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            if matched.is_empty() {
                bail!("no file matches {a:?}");
            }
            matched.sort();
            out.extend(matched.into_iter().map(Input::File));
        } else {
            let p = PathBuf::from(a);
            if !p.exists() {
                bail!("{a}: no such file (pass - to read standard input)");
            }
            out.push(Input::File(p));
        }
    }
    Ok(out)
}
