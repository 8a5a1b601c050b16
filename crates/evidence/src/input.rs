//! Inputs named on the command line: files, globs and `-` for stdin, read
//! in chunks (gzip, of a file or of stdin, is undone on the fly).

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::{BinaryKind, Error, Result};

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
        let mut file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", path, e))?;
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
        match self.stream(sink)? {
            Some(broken) => Err(broken),
            None => Ok(()),
        }
    }

    /// Streams the input's bytes to `sink` in chunks of about 1 MiB (gzip
    /// undone on the fly). An input that cannot be opened is an error; one
    /// that breaks off after it was opened (a truncated gzip file, a read
    /// error) returns `Ok(Some(error))` after `sink` saw every byte read
    /// before, so callers can report what was read and then the break.
    pub fn stream(&self, sink: &mut dyn FnMut(&[u8])) -> Result<Option<Error>> {
        let broken = match self {
            Input::Stdin => {
                // Gzip is recognised by its magic (there is no name).
                let mut stdin = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
                let gz =
                    io::BufRead::fill_buf(&mut stdin).is_ok_and(|b| b.starts_with(&[0x1f, 0x8b]));
                let result = if gz {
                    pump(flate2::read::MultiGzDecoder::new(stdin), sink)
                } else {
                    pump(stdin, sink)
                };
                result.err().map(|source| Error::Broken {
                    context: if gz {
                        "reading gzip data from standard input (truncated or corrupt?)"
                    } else {
                        "reading standard input"
                    }
                    .to_string(),
                    source,
                })
            }
            Input::File(path) => {
                let (file, gz) = open(path)?;
                if gz {
                    pump(flate2::read::MultiGzDecoder::new(file), sink)
                        .err()
                        .map(|source| Error::Broken {
                            context: format!(
                                "reading gzip file {} (truncated or corrupt?)",
                                path.display()
                            ),
                            source,
                        })
                } else {
                    pump(file, sink).err().map(|source| Error::Broken {
                        context: format!("reading {}", path.display()),
                        source,
                    })
                }
            }
        };
        Ok(broken)
    }

    /// What the input is when it is not text (an ELF core or binary, a
    /// pprof profile), from its first bytes (after gzip); `None` for text
    /// and for stdin (which cannot be read twice).
    pub fn binary_kind(&self) -> Result<Option<BinaryKind>> {
        let Input::File(path) = self else {
            return Ok(None);
        };
        let (file, gz) = open(path)?;
        let mut head = Vec::with_capacity(64);
        // Errors here show when the input is read as text.
        let _ = if gz {
            flate2::read::MultiGzDecoder::new(file)
                .take(64)
                .read_to_end(&mut head)
        } else {
            file.take(64).read_to_end(&mut head)
        };
        Ok(BinaryKind::of(&head))
    }

    /// An error naming the command that reads this input, when it is an
    /// ELF file or a profile rather than text.
    pub fn check_text(&self, command: &str) -> Result<()> {
        match self.binary_kind()? {
            Some(kind) => bail!("{}", kind.advice(&self.name(), command)),
            None => Ok(()),
        }
    }
}

/// Opens a file, saying whether it is gzip (by its name or magic).
fn open(path: &std::path::Path) -> Result<(File, bool)> {
    let mut file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!(
            "{} is a directory: give the files in it (a glob such as '{}/*.txt' works)",
            path.display(),
            path.display()
        );
    }
    let mut head = [0u8; 2];
    let gz = path.extension().is_some_and(|e| e == "gz")
        || (file.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b]);
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    Ok((file, gz))
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
                .map_err(|source| Error::Glob {
                    pattern: a.clone(),
                    source,
                })?
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
