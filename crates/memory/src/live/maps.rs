//! `/proc/PID/maps`.

use crate::Perms;

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `r`, `w`, `x`.
    pub perms: Perms,
    /// `p` (private) or `s` (shared).
    pub shared: bool,
    /// Offset in the file.
    pub offset: u64,
    /// Inode (0 for anonymous memory).
    pub inode: u64,
    /// Path or pseudo-name (`[heap]`, `[stack]`, `[vvar]`); empty if anonymous.
    pub path: String,
}

impl MapEntry {
    /// Whether a file (not anonymous memory or a `[pseudo]` name) is mapped.
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.starts_with('/')
    }
}

/// Parses the text of `/proc/PID/maps`; lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<MapEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MapEntry> {
    let mut it = line.splitn(6, ' ');
    let range = it.next()?;
    let perms = it.next()?.as_bytes();
    let offset = u64::from_str_radix(it.next()?, 16).ok()?;
    let _dev = it.next()?;
    let inode = it.next()?.parse().ok()?;
    let path = it.next().unwrap_or("").trim_start().to_string();
    let (s, e) = range.split_once('-')?;
    Some(MapEntry {
        start: u64::from_str_radix(s, 16).ok()?,
        end: u64::from_str_radix(e, 16).ok()?,
        perms: Perms {
            read: perms.first() == Some(&b'r'),
            write: perms.get(1) == Some(&b'w'),
            exec: perms.get(2) == Some(&b'x'),
        },
        shared: perms.get(3) == Some(&b's'),
        offset,
        inode,
        path,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_lines() {
        let m = super::parse(
            "00400000-006d2000 r-xp 00000000 08:01 123 /bin/x\n7ffd1000-7ffd3000 r--p 00000000 00:00 0                          [vvar]\nc000000000-c004000000 rw-p 00000000 00:00 0 \nbad\n",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].path, "/bin/x");
        assert!(m[0].perms.exec && m[0].is_file());
        assert_eq!(m[1].path, "[vvar]");
        assert_eq!(m[2].start, 0xc000000000);
        assert!(m[2].path.is_empty());
    }
}
