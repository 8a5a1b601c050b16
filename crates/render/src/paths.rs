//! Shortening source paths for display: relative to GOROOT, to the module
//! cache and to the main module's root.

use gosleuth_model::{Frame, cause::goroot_src};

/// Learns the path prefixes of one set of stacks and shortens paths with
/// them.
#[derive(Debug, Clone, Default)]
pub struct PathShortener {
    goroot_src: Option<String>,
    module_root: Option<String>,
}

impl PathShortener {
    /// Learns from frames: GOROOT from runtime frames, the module root as
    /// the common directory of the remaining (user) files.
    pub fn learn<'a>(frames: impl Iterator<Item = &'a Frame> + Clone) -> PathShortener {
        let all: Vec<Frame> = frames.clone().take(4096).cloned().collect();
        let goroot = goroot_src(&all).map(String::from);
        let mut common: Option<String> = None;
        for f in &all {
            let file = f.file.as_str();
            if file.is_empty()
                || goroot.as_deref().is_some_and(|g| file.starts_with(g))
                || file.contains("/pkg/mod/")
                || !file.starts_with('/')
            {
                continue;
            }
            let dir = match file.rfind('/') {
                Some(i) => &file[..=i],
                None => continue,
            };
            common = Some(match common {
                None => dir.to_string(),
                Some(c) => common_dir(&c, dir).to_string(),
            });
        }
        // Keep the last directory of the root for context: `/src/app/x.go`
        // shows as `app/x.go`.
        let module_root = common.and_then(|c| {
            let trimmed = c.trim_end_matches('/');
            let parent = &trimmed[..trimmed.rfind('/')? + 1];
            (parent.len() > 1).then(|| parent.to_string())
        });
        PathShortener {
            goroot_src: goroot,
            module_root,
        }
    }

    /// The display form of a path.
    pub fn short<'a>(&self, file: &'a str) -> &'a str {
        if let Some(g) = &self.goroot_src {
            if let Some(rest) = file.strip_prefix(g.as_str()) {
                return rest;
            }
        }
        if let Some(i) = file.find("/pkg/mod/") {
            return &file[i + "/pkg/mod/".len()..];
        }
        if let Some(m) = &self.module_root {
            if let Some(rest) = file.strip_prefix(m.as_str()) {
                return rest;
            }
        }
        file
    }

    /// True when the file is in the standard library.
    pub fn is_stdlib(&self, file: &str) -> bool {
        self.goroot_src
            .as_deref()
            .is_some_and(|g| file.starts_with(g))
    }
}

fn common_dir<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for (i, (x, y)) in a.bytes().zip(b.bytes()).enumerate() {
        if x != y {
            break;
        }
        if x == b'/' {
            end = i + 1;
        }
    }
    &a[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(file: &str) -> Frame {
        let function = if file.contains("/src/runtime/") {
            "runtime.gopark"
        } else {
            "main.f"
        };
        Frame {
            function: function.into(),
            args: String::new(),
            file: file.into(),
            line: 1,
            offset: None,
            pc: None,
            inlined: false,
        }
    }

    #[test]
    fn shortens_goroot_modcache_and_module() {
        let frames = [
            f("/usr/local/go/src/runtime/proc.go"),
            f("/home/u/src/app/server/main.go"),
            f("/home/u/src/app/server/metrics.go"),
            f("/home/u/src/app/lib/x.go"),
        ];
        let p = PathShortener::learn(frames.iter());
        assert_eq!(
            p.short("/usr/local/go/src/net/http/server.go"),
            "net/http/server.go"
        );
        assert_eq!(
            p.short("/home/u/src/app/server/main.go"),
            "app/server/main.go"
        );
        assert_eq!(
            p.short("/root/go/pkg/mod/github.com/a/b@v1.0.0/c.go"),
            "github.com/a/b@v1.0.0/c.go"
        );
        assert!(p.is_stdlib("/usr/local/go/src/net/http/server.go"));
    }
}
