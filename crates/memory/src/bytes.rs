//! Bounds-checked little helpers over byte slices. Every accessor returns
//! `None` instead of panicking when the data is short.

use crate::Endian;

/// A view of `data` that decodes integers at offsets.
#[derive(Clone, Copy)]
pub(crate) struct Bytes<'a> {
    pub data: &'a [u8],
    pub endian: Endian,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8], endian: Endian) -> Self {
        Bytes { data, endian }
    }
    pub fn slice(&self, off: u64, len: u64) -> Option<&'a [u8]> {
        let off = usize::try_from(off).ok()?;
        let len = usize::try_from(len).ok()?;
        self.data.get(off..off.checked_add(len)?)
    }
    pub fn u16(&self, off: u64) -> Option<u16> {
        Some(self.endian.u16(self.slice(off, 2)?.try_into().ok()?))
    }
    pub fn u32(&self, off: u64) -> Option<u32> {
        Some(self.endian.u32(self.slice(off, 4)?.try_into().ok()?))
    }
    pub fn i32(&self, off: u64) -> Option<i32> {
        self.u32(off).map(|v| v as i32)
    }
    pub fn u64(&self, off: u64) -> Option<u64> {
        Some(self.endian.u64(self.slice(off, 8)?.try_into().ok()?))
    }
    /// A NUL-terminated string at `off` (lossy UTF-8), within `max` bytes.
    pub fn cstr(&self, off: u64, max: u64) -> Option<String> {
        let rest = self.slice(off, max.min((self.data.len() as u64).saturating_sub(off)))?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}
