//! Cheaply clonable, owned byte ranges over a memory map or a vector.

use std::ops::Range;
use std::sync::Arc;

#[derive(Debug)]
enum Owner {
    Mmap(memmap2::Mmap),
    Vec(Vec<u8>),
}

/// A byte range of shared storage: part of a mapped file or an owned buffer.
/// Clones share the storage.
#[derive(Debug, Clone)]
pub(crate) struct Bytes {
    owner: Arc<Owner>,
    start: usize,
    end: usize,
}

impl Bytes {
    pub(crate) fn from_mmap(m: memmap2::Mmap) -> Bytes {
        let end = m.len();
        Bytes {
            owner: Arc::new(Owner::Mmap(m)),
            start: 0,
            end,
        }
    }

    pub(crate) fn from_vec(v: Vec<u8>) -> Bytes {
        let end = v.len();
        Bytes {
            owner: Arc::new(Owner::Vec(v)),
            start: 0,
            end,
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        let all: &[u8] = match &*self.owner {
            Owner::Mmap(m) => m,
            Owner::Vec(v) => v,
        };
        // The range was checked when it was made.
        all.get(self.start..self.end).unwrap_or(&[])
    }

    /// A sub-range; `None` if it is out of bounds.
    pub(crate) fn slice(&self, r: Range<usize>) -> Option<Bytes> {
        if r.start > r.end || r.end > self.end - self.start {
            return None;
        }
        Some(Bytes {
            owner: self.owner.clone(),
            start: self.start + r.start,
            end: self.start + r.end,
        })
    }
}
