//! The source lines around each root-cause frame, when the file can be
//! found on this machine (the usual case when triaging in the service's
//! checkout): stacks carry the build machine's paths, so a path that does
//! not exist here is tried by its tails under a root directory.

use std::path::Path;

use crate::parser::Evidence;

/// Lines shown above and below a root-cause frame.
pub const CONTEXT_LINES: u32 = 3;

impl Evidence {
    /// Adds the source around each incident's root-cause frame: the file
    /// the frame names, else the longest tail of its path that exists
    /// under `root`. Frames whose file is found nowhere keep no source.
    pub fn attach_sources(&mut self, root: &Path) {
        for inc in &mut self.incidents {
            let Some(rc) = &mut inc.root_cause else {
                continue;
            };
            let Some(f) = &rc.frame else { continue };
            if f.line == 0 {
                continue;
            }
            let Some(text) = find_source(&f.file, root) else {
                continue;
            };
            let first = f.line.saturating_sub(CONTEXT_LINES).max(1);
            rc.source = text
                .lines()
                .enumerate()
                .map(|(i, l)| (i as u32 + 1, l.replace('\t', "    ")))
                .skip(first as usize - 1)
                .take((CONTEXT_LINES * 2 + 1) as usize)
                .collect();
        }
    }
}

/// A source file named in a stack: the path itself, else the longest tail
/// of it that exists under `root`.
fn find_source(file: &str, root: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(file) {
        return Some(text);
    }
    let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
    (1..parts.len())
        .find_map(|skip| std::fs::read_to_string(root.join(parts[skip..].join("/"))).ok())
}
