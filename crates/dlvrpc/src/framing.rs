//! Splitting a byte stream into JSON requests, as Go's `net/rpc/jsonrpc`
//! codec reads them: JSON values back to back, separated by optional
//! whitespace, with no framing of their own.
//!
//! The splitter does no I/O (bytes are pushed in, requests taken out), so
//! it is tested without sockets. It tracks only nesting, strings and
//! escapes; parsing is left to `serde_json`. Unlike Go's codec, which
//! closes the connection at the first byte it cannot decode, it skips
//! garbage to the next `{` or `[` and reports it, so one bad line does not
//! end a session; a value that grows past the size bound is reported and
//! the connection should be closed.

/// What the splitter found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// One complete JSON object or array (possibly malformed inside).
    Value(Vec<u8>),
    /// Bytes that cannot start a request were skipped; `sample` shows the
    /// first few.
    Garbage { skipped: usize, sample: String },
    /// A value grew past the bound without ending.
    TooLarge { limit: usize },
}

/// Incremental splitter of a JSON stream.
#[derive(Debug)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Start of the unconsumed bytes.
    start: usize,
    /// Scan state of the value starting at `start`.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    limit: usize,
    /// A too-large value was reported: nothing more is produced.
    poisoned: bool,
}

impl Splitter {
    /// A splitter refusing values longer than `limit` bytes.
    pub fn new(limit: usize) -> Splitter {
        Splitter {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            limit,
            poisoned: false,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.poisoned {
            return;
        }
        // Drop consumed bytes before growing.
        if self.start > 0 && (self.start == self.buf.len() || self.start > 64 * 1024) {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// True when no partial request is buffered (only whitespace, if
    /// anything).
    pub fn is_idle(&self) -> bool {
        self.buf[self.start..]
            .iter()
            .all(|b| b.is_ascii_whitespace())
    }

    /// The next complete item, if the buffered bytes hold one.
    pub fn next_item(&mut self) -> Option<Item> {
        if self.poisoned {
            return None;
        }
        if self.scanned == self.start {
            // Between values: skip whitespace, then see what starts.
            while self
                .buf
                .get(self.start)
                .is_some_and(|b| b.is_ascii_whitespace())
            {
                self.start += 1;
            }
            self.scanned = self.start;
            let first = *self.buf.get(self.start)?;
            if first != b'{' && first != b'[' {
                let rest = &self.buf[self.start..];
                let n = rest
                    .iter()
                    .position(|&b| b == b'{' || b == b'[')
                    .unwrap_or(rest.len());
                let sample = String::from_utf8_lossy(&rest[..n.min(24)]).into_owned();
                self.start += n;
                self.scanned = self.start;
                return Some(Item::Garbage { skipped: n, sample });
            }
        }
        let mut i = self.scanned;
        while let Some(&b) = self.buf.get(i) {
            i += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        let value = self.buf[self.start..i].to_vec();
                        self.start = i;
                        self.scanned = i;
                        return Some(Item::Value(value));
                    }
                }
                _ => {}
            }
        }
        self.scanned = i;
        if i - self.start > self.limit {
            self.poisoned = true;
            self.buf = Vec::new();
            self.start = 0;
            self.scanned = 0;
            return Some(Item::TooLarge { limit: self.limit });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &mut Splitter) -> Vec<Item> {
        std::iter::from_fn(|| s.next_item()).collect()
    }

    #[test]
    fn values_back_to_back_and_split_across_reads() {
        let mut s = Splitter::new(1024);
        s.push(br#"{"a":"}{[\"x"} [1,2]  {"b":"#);
        assert_eq!(
            all(&mut s),
            vec![
                Item::Value(br#"{"a":"}{[\"x"}"#.to_vec()),
                Item::Value(b"[1,2]".to_vec())
            ]
        );
        assert!(!s.is_idle());
        s.push(b"{}}\n");
        assert_eq!(all(&mut s), vec![Item::Value(br#"{"b":{}}"#.to_vec())]);
        assert!(s.is_idle());
    }

    #[test]
    fn garbage_is_skipped_to_the_next_request() {
        let mut s = Splitter::new(1024);
        s.push(b"hello \x00\xff}{\"x\":1}");
        let items = all(&mut s);
        assert!(
            matches!(items[0], Item::Garbage { skipped: 9, .. }),
            "{items:?}"
        );
        assert_eq!(items[1], Item::Value(br#"{"x":1}"#.to_vec()));
    }

    #[test]
    fn unterminated_values_are_bounded() {
        let mut s = Splitter::new(16);
        s.push(b"{{{{{{{{{{");
        assert_eq!(all(&mut s), vec![]);
        s.push(b"{{{{{{{{{{");
        assert_eq!(all(&mut s), vec![Item::TooLarge { limit: 16 }]);
        s.push(b"}}}}}}}}}}}}}}}}}}}}");
        assert_eq!(all(&mut s), vec![]);
    }
}
