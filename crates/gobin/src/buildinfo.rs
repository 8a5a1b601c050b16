//! Go build info: the `\xff Go buildinf:` blob the linker writes into
//! `.go.buildinfo`, holding the Go version and the module information that
//! `go version -m` prints.

use crate::error::{Error, Result};

/// The 14-byte magic at the start of the blob.
pub const BUILDINFO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const FLAGS_VERSION_INLINE: u8 = 0x2;
const FLAGS_BIG_ENDIAN: u8 = 0x1;
/// Longest string we accept from a blob (guards against bogus lengths).
const MAX_STRING: u64 = 1 << 26;

/// A module: the main module, a dependency or a replacement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Version, `(devel)` for the main module built from a checkout.
    pub version: String,
    /// go.sum checksum (`h1:...`), empty if unknown.
    pub sum: String,
    /// The replacement, for a `replace` directive.
    pub replace: Option<Box<Module>>,
}

/// One `build` line: a key and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSetting {
    /// Key (`-ldflags`, `GOARCH`, `vcs.revision`, ...).
    pub key: String,
    /// Value, unquoted.
    pub value: String,
    raw: String,
}

/// Everything `go version -m` shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// The Go release that built the binary, e.g. `go1.23.12`.
    pub go_version: String,
    /// Package path of the main package.
    pub path: String,
    /// The main module.
    pub main: Option<Module>,
    /// Dependencies, in the order the linker recorded them.
    pub deps: Vec<Module>,
    /// Build settings.
    pub settings: Vec<BuildSetting>,
}

fn bad(what: &'static str, offset: u64) -> Error {
    Error::BadBuildInfo { what, offset }
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

impl BuildInfo {
    /// Parses a build info blob starting with the magic. The 1.18+ format
    /// holds its strings inline; older binaries hold pointers to Go string
    /// headers, which `read(addr, len)` resolves (return `None` when the
    /// address is not mapped).
    pub fn from_blob<'d>(
        blob: &'d [u8],
        read: &dyn Fn(u64, u64) -> Option<&'d [u8]>,
    ) -> Result<BuildInfo> {
        let (version, modinfo) = raw_strings(blob, read)?;
        let mut bi = BuildInfo::parse_modinfo(&modinfo)?;
        bi.go_version = version;
        Ok(bi)
    }

    /// Parses the module information text (the format of
    /// `runtime/debug.BuildInfo.String`), without the Go version.
    pub fn parse_modinfo(text: &str) -> Result<BuildInfo> {
        let mut bi = BuildInfo::default();
        // Where a `=>` line attaches: None, the main module, or a dep index.
        enum Last {
            None,
            Main,
            Dep(usize),
        }
        let mut last = Last::None;
        let mut rest = text;
        let mut line_no = 0;
        while let Some((line, tail)) = rest.split_once('\n') {
            rest = tail;
            line_no += 1;
            let err = |what: String| Error::BadModInfo {
                what,
                line: line_no,
            };
            if let Some(p) = line.strip_prefix("path\t") {
                bi.path = p.to_string();
            } else if let Some(m) = line.strip_prefix("mod\t") {
                bi.main = Some(module_line(m).map_err(err)?);
                last = Last::Main;
            } else if let Some(m) = line.strip_prefix("dep\t") {
                bi.deps.push(module_line(m).map_err(err)?);
                last = Last::Dep(bi.deps.len() - 1);
            } else if let Some(m) = line.strip_prefix("=>\t") {
                let parts: Vec<&str> = m.split('\t').collect();
                if parts.len() != 3 {
                    return Err(err(format!(
                        "expected 3 columns for replacement; got {}",
                        parts.len()
                    )));
                }
                let rep = Box::new(Module {
                    path: parts[0].to_string(),
                    version: parts[1].to_string(),
                    sum: parts[2].to_string(),
                    replace: None,
                });
                let target = match last {
                    Last::Main => bi.main.as_mut(),
                    Last::Dep(i) => bi.deps.get_mut(i),
                    Last::None => None,
                };
                match target {
                    Some(t) => t.replace = Some(rep),
                    None => return Err(err("replacement with no module on previous line".into())),
                }
                last = Last::None;
            } else if let Some(kv) = line.strip_prefix("build\t") {
                bi.settings.push(build_line(kv).map_err(err)?);
            }
        }
        // Go keeps the main module as a value and omits a zero one.
        if bi.main.as_ref().is_some_and(|m| *m == Module::default()) {
            bi.main = None;
        }
        Ok(bi)
    }

    /// The module lines exactly as `go version -m` prints them after the
    /// `FILE: VERSION` line: each line starts with a tab and ends with `\n`.
    pub fn version_m_lines(&self) -> String {
        let mut out = String::new();
        if !self.path.is_empty() {
            out.push_str(&format!("\tpath\t{}\n", self.path));
        }
        fn module(out: &mut String, word: &str, m: &Module) {
            out.push('\t');
            out.push_str(word);
            out.push('\t');
            out.push_str(&m.path);
            out.push('\t');
            out.push_str(&m.version);
            match &m.replace {
                None => {
                    out.push('\t');
                    out.push_str(&m.sum);
                    out.push('\n');
                }
                Some(r) => {
                    out.push('\n');
                    module(out, "=>", r);
                    // Go's BuildInfo.String ends a replaced module with a
                    // second newline, which `go version -m` indents: "\t\n".
                    out.push('\t');
                    out.push('\n');
                }
            }
        }
        if let Some(m) = &self.main {
            module(&mut out, "mod", m);
        }
        for d in &self.deps {
            module(&mut out, "dep", d);
        }
        for s in &self.settings {
            out.push_str("\tbuild\t");
            out.push_str(&s.raw);
            out.push('\n');
        }
        out
    }
}

impl BuildSetting {
    /// The setting as written in the module info (`key=value`, quoted as Go quotes it).
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

fn module_line(s: &str) -> std::result::Result<Module, String> {
    let parts: Vec<&str> = s.split('\t').collect();
    if parts.len() != 2 && parts.len() != 3 {
        return Err(format!("expected 2 or 3 columns; got {}", parts.len()));
    }
    Ok(Module {
        path: parts[0].to_string(),
        version: parts[1].to_string(),
        sum: parts.get(2).map_or(String::new(), |s| s.to_string()),
        replace: None,
    })
}

fn build_line(kv: &str) -> std::result::Result<BuildSetting, String> {
    let (key, raw_value) = match kv.as_bytes().first() {
        None => return Err("build line missing '='".into()),
        Some(b'=') => return Err("build line with missing key".into()),
        Some(b'"' | b'`') => {
            let n = quoted_prefix_len(kv).ok_or("invalid quoted key in build line")?;
            let key = unquote(&kv[..n]).ok_or("invalid quoted key in build line")?;
            let rest = kv[n..]
                .strip_prefix('=')
                .ok_or("build line missing '=' after quoted key")?;
            (key, rest)
        }
        Some(_) => {
            let (k, v) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            (k.to_string(), v)
        }
    };
    let value = match raw_value.as_bytes().first() {
        Some(b'"' | b'`') => unquote(raw_value).ok_or("invalid quoted value in build line")?,
        _ => raw_value.to_string(),
    };
    Ok(BuildSetting {
        key,
        value,
        raw: kv.to_string(),
    })
}

/// Length of the Go quoted string at the start of `s`.
fn quoted_prefix_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let q = *b.first()?;
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            c if c == q => return Some(i + 1),
            b'\\' if q == b'"' => i += 2,
            b'\n' if q == b'"' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Go's `strconv.Unquote` for double- and back-quoted strings.
fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match b[0] {
        b'`' => (!inner.contains('`')).then(|| inner.to_string()),
        b'"' => {
            let mut out: Vec<u8> = Vec::with_capacity(inner.len());
            let ib = inner.as_bytes();
            let mut i = 0;
            while i < ib.len() {
                let c = ib[i];
                if c == b'"' || c == b'\n' {
                    return None;
                }
                if c != b'\\' {
                    out.push(c);
                    i += 1;
                    continue;
                }
                let e = *ib.get(i + 1)?;
                i += 2;
                let simple = match e {
                    b'a' => Some(7),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'v' => Some(11),
                    b'\\' => Some(b'\\'),
                    b'"' => Some(b'"'),
                    _ => None,
                };
                if let Some(v) = simple {
                    out.push(v);
                    continue;
                }
                let hex = |n: usize, i: &mut usize| -> Option<u32> {
                    let h = inner.get(*i..*i + n)?;
                    *i += n;
                    u32::from_str_radix(h, 16).ok()
                };
                match e {
                    b'x' => out.push(u8::try_from(hex(2, &mut i)?).ok()?),
                    b'u' | b'U' => {
                        let v = hex(if e == b'u' { 4 } else { 8 }, &mut i)?;
                        let ch = char::from_u32(v)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    b'0'..=b'7' => {
                        let o = inner.get(i - 1..i + 2)?;
                        i += 2;
                        out.push(u8::try_from(u32::from_str_radix(o, 8).ok()?).ok()?);
                    }
                    _ => return None,
                }
            }
            String::from_utf8(out).ok()
        }
        _ => None,
    }
}

/// The version and module info strings of a blob (framing removed).
fn raw_strings<'d>(
    blob: &'d [u8],
    read: &dyn Fn(u64, u64) -> Option<&'d [u8]>,
) -> Result<(String, String)> {
    if blob.len() < HEADER_SIZE {
        return Err(bad("truncated header", blob.len() as u64));
    }
    if &blob[..14] != BUILDINFO_MAGIC {
        return Err(bad("missing magic", 0));
    }
    let ptr_size = blob[14];
    let flags = blob[15];
    let (version, modinfo) = if flags & FLAGS_VERSION_INLINE != 0 {
        let mut pos = HEADER_SIZE;
        let inline = |pos: &mut usize| -> Result<Vec<u8>> {
            let (len, n) = uvarint(blob.get(*pos..).unwrap_or(&[]))
                .ok_or_else(|| bad("bad string length", *pos as u64))?;
            let start = *pos + n;
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| start.checked_add(l))
                .filter(|&e| e <= blob.len());
            let end = end.ok_or_else(|| bad("string runs past the end", start as u64))?;
            *pos = end;
            Ok(blob[start..end].to_vec())
        };
        let v = inline(&mut pos)?;
        let m = inline(&mut pos)?;
        (v, m)
    } else {
        let big = flags & FLAGS_BIG_ENDIAN != 0;
        let ps = usize::from(ptr_size);
        if ps != 4 && ps != 8 {
            return Err(bad("bad pointer size", 14));
        }
        let word = |b: &[u8]| -> u64 {
            let mut v = 0u64;
            for i in 0..ps {
                let byte = u64::from(b[if big { i } else { ps - 1 - i }]);
                v = (v << 8) | byte;
            }
            v
        };
        let go_string = |hdr_addr: u64| -> Result<Vec<u8>> {
            let hdr = read(hdr_addr, 2 * ps as u64)
                .ok_or_else(|| bad("string header not mapped", hdr_addr))?;
            if hdr.len() < 2 * ps {
                return Err(bad("string header not mapped", hdr_addr));
            }
            let (data, len) = (word(&hdr[..ps]), word(&hdr[ps..2 * ps]));
            if len > MAX_STRING {
                return Err(bad("string too long", hdr_addr));
            }
            let s = read(data, len).ok_or_else(|| bad("string data not mapped", data))?;
            if (s.len() as u64) < len {
                return Err(bad("string data not mapped", data));
            }
            Ok(s[..len as usize].to_vec())
        };
        let v = go_string(word(&blob[16..16 + ps]))?;
        let m = go_string(word(&blob[16 + ps..16 + 2 * ps]))?;
        (v, m)
    };
    if version.is_empty() {
        return Err(bad("empty Go version", 16));
    }
    let version = String::from_utf8_lossy(&version).into_owned();
    let mb = &modinfo[..];
    let modinfo = if mb.len() >= 33 && mb[mb.len() - 17] == b'\n' {
        String::from_utf8_lossy(&mb[16..mb.len() - 16]).into_owned()
    } else {
        String::new()
    };
    Ok((version, modinfo))
}

/// Finds the blob: 16-byte aligned magic within `data`.
pub(crate) fn find_magic(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + BUILDINFO_MAGIC.len() <= data.len() {
        let found = memchr::memmem::find(&data[at..], BUILDINFO_MAGIC)?;
        let pos = at + found;
        if pos % 16 == 0 {
            return Some(pos);
        }
        at = pos + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = BUILDINFO_MAGIC.to_vec();
        b.push(8);
        b.push(2);
        b.resize(32, 0);
        for s in [version, modinfo] {
            let mut n = s.len();
            while n >= 0x80 {
                b.push((n as u8) | 0x80);
                n >>= 7;
            }
            b.push(n as u8);
            b.extend_from_slice(s.as_bytes());
        }
        b
    }

    #[test]
    fn inline_format() {
        let text = "path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n=>\t../sys\t(devel)\t\nbuild\t-ldflags=\"-s -w\"\nbuild\tGOOS=linux\n";
        let framed = format!("0123456789abcdef{text}0123456789abcdef");
        let b = blob("go1.23.12", &framed);
        let bi = BuildInfo::from_blob(&b, &|_, _| None).unwrap();
        assert_eq!(bi.go_version, "go1.23.12");
        assert_eq!(bi.path, "example.com/x");
        assert_eq!(bi.deps.len(), 1);
        assert_eq!(bi.deps[0].replace.as_ref().unwrap().path, "../sys");
        assert_eq!(bi.settings[0].key, "-ldflags");
        assert_eq!(bi.settings[0].value, "-s -w");
        assert_eq!(
            bi.version_m_lines(),
            "\tpath\texample.com/x\n\tmod\texample.com/x\t(devel)\t\n\tdep\tgolang.org/x/sys\tv0.1.0\n\t=>\t../sys\t(devel)\t\n\t\n\tbuild\t-ldflags=\"-s -w\"\n\tbuild\tGOOS=linux\n"
        );
    }

    #[test]
    fn pointer_format() {
        // Header with pointers to two string headers at 0x100 and 0x110.
        let mut mem = vec![0u8; 0x200];
        mem[..14].copy_from_slice(BUILDINFO_MAGIC);
        mem[14] = 8;
        mem[15] = 0;
        mem[16..24].copy_from_slice(&0x100u64.to_le_bytes());
        mem[24..32].copy_from_slice(&0x110u64.to_le_bytes());
        mem[0x100..0x108].copy_from_slice(&0x180u64.to_le_bytes());
        mem[0x108..0x110].copy_from_slice(&8u64.to_le_bytes());
        mem[0x110..0x118].copy_from_slice(&0x190u64.to_le_bytes());
        mem[0x118..0x120].copy_from_slice(&0u64.to_le_bytes());
        mem[0x180..0x188].copy_from_slice(b"go1.17.1");
        let bi = BuildInfo::from_blob(&mem, &|a, n| mem.get(a as usize..(a + n) as usize)).unwrap();
        assert_eq!(bi.go_version, "go1.17.1");
        assert!(bi.path.is_empty());
    }

    #[test]
    fn unquoting() {
        assert_eq!(
            unquote("\"a\\tb\\x41\\u00e9\\101\"").as_deref(),
            Some("a\tbAéA")
        );
        assert_eq!(unquote("`x y`").as_deref(), Some("x y"));
        assert_eq!(unquote("\"bad"), None);
    }

    #[test]
    fn garbage() {
        assert!(BuildInfo::from_blob(b"", &|_, _| None).is_err());
        let mut b = blob("go1.22", "");
        b.truncate(34);
        assert!(BuildInfo::from_blob(&b, &|_, _| None).is_err());
        assert!(BuildInfo::parse_modinfo("mod\tonly-one\n").is_err());
        assert!(BuildInfo::parse_modinfo("=>\ta\tb\tc\n").is_err());
    }

    #[test]
    fn aligned_magic() {
        let mut d = vec![0u8; 64];
        d[3..17].copy_from_slice(BUILDINFO_MAGIC);
        assert_eq!(find_magic(&d), None);
        d[32..46].copy_from_slice(BUILDINFO_MAGIC);
        assert_eq!(find_magic(&d), Some(32));
    }
}
