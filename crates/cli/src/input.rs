//! Inputs named on the command line: files, globs and `-` for stdin, read
//! in chunks (gzip, of a file or of stdin, is undone on the fly).

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
    pub fn stream(&self, sink: &mut dyn FnMut(&[u8])) -> Result<Option<anyhow::Error>> {
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
                result.err().map(|e| {
                    anyhow::Error::new(e).context(if gz {
                        "reading gzip data from standard input (truncated or corrupt?)"
                    } else {
                        "reading standard input"
                    })
                })
            }
            Input::File(path) => {
                let (file, gz) = open(path)?;
                if gz {
                    pump(flate2::read::MultiGzDecoder::new(file), sink)
                        .err()
                        .map(|e| {
                            anyhow::Error::new(e).context(format!(
                                "reading gzip file {} (truncated or corrupt?)",
                                path.display()
                            ))
                        })
                } else {
                    pump(file, sink).err().map(|e| {
                        anyhow::Error::new(e).context(format!("reading {}", path.display()))
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
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
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
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((file, gz))
}

/// Inputs that are not text, and the commands that read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// An ELF core file (`ET_CORE`).
    Core,
    /// An ELF executable or shared object.
    Binary,
    /// Another ELF file (an object file).
    OtherElf,
    /// A pprof profile (gzipped protobuf).
    Profile,
}

impl BinaryKind {
    /// Recognises the first bytes of an input (after gzip).
    pub fn of(head: &[u8]) -> Option<BinaryKind> {
        if let Some(rest) = head.strip_prefix(b"\x7fELF") {
            // e_type at offset 16, in the byte order of EI_DATA (offset 5).
            let little = rest.get(1) != Some(&2);
            let et = head.get(16..18).map(|b| {
                if little {
                    u16::from_le_bytes([b[0], b[1]])
                } else {
                    u16::from_be_bytes([b[0], b[1]])
                }
            });
            return Some(match et {
                Some(4) => BinaryKind::Core,
                Some(2 | 3) => BinaryKind::Binary,
                _ => BinaryKind::OtherElf,
            });
        }
        // A profile.proto message: its first fields are those of Profile
        // (numbers 1-14, varints or length-delimited), with control bytes
        // text never holds.
        let binary = head
            .iter()
            .take(32)
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
        if binary && profile_fields(head) >= 3 {
            return Some(BinaryKind::Profile);
        }
        None
    }

    /// What to run instead of `command` on the input `name`.
    pub fn advice(self, name: &str, command: &str) -> String {
        // Standard input is read once: the other command needs a file.
        let (name, arg) = if name == "<stdin>" {
            ("standard input", "FILE")
        } else {
            (name, name)
        };
        let save = if arg == "FILE" {
            " (save it to FILE first)"
        } else {
            ""
        };
        match self {
            BinaryKind::Core => format!(
                "{name} is an ELF core file, not text: read its goroutines with `gosleuth core \
                 BIN {arg}` or diagnose it with `gosleuth diagnose BIN {arg}` (BIN is the \
                 program that dumped it){save}"
            ),
            BinaryKind::Binary => format!(
                "{name} is an executable, not text: `gosleuth bin {arg}` shows what is in a Go \
                 binary{save}; `gosleuth {command}` reads panics, goroutine dumps and logs"
            ),
            BinaryKind::OtherElf => format!(
                "{name} is an ELF file, not text: `gosleuth {command}` reads panics, goroutine \
                 dumps and logs"
            ),
            BinaryKind::Profile => format!(
                "{name} is a pprof profile, not text: read it with `gosleuth pprof {arg}`{save}"
            ),
        }
    }
}

/// How many fields of a pprof `Profile` message the bytes start with
/// (stopping at the first that cannot be one, or the end of `head`).
fn profile_fields(head: &[u8]) -> usize {
    fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut at = 0;
    let mut fields = 0;
    while at < head.len() {
        let Some(key) = varint(head, &mut at) else {
            break;
        };
        let (number, wire) = (key >> 3, key & 7);
        if !(1..=14).contains(&number) {
            break;
        }
        match wire {
            0 => {
                if varint(head, &mut at).is_none() {
                    break;
                }
            }
            2 => {
                let Some(len) = varint(head, &mut at) else {
                    break;
                };
                at = at.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            }
            _ => break,
        }
        fields += 1;
    }
    fields
}

/// Says on stderr that standard input is being read, when it is a
/// terminal (otherwise the command would wait with no word).
pub fn announce_stdin(inputs: &[Input], command: &str) {
    use std::io::IsTerminal;
    if inputs.contains(&Input::Stdin) && io::stdin().is_terminal() {
        eprintln!(
            "gosleuth {command}: reading standard input (paste the text, then Ctrl-D; \
             `gosleuth {command} FILE` reads a file, --help shows more)"
        );
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
