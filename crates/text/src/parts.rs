//! Reading one input on several threads: the input, already cut into
//! parts at points where a reader can start afresh, is read part by part
//! on scoped threads, each part through its own reader fed in chunks, and
//! the readers' results come back in input order for the caller to merge.
//! Shared by the traceback parser and the logs reader, which differ only
//! in where they cut and how they merge.

use std::io;

/// Bytes read at a time.
pub const CHUNK: usize = 1 << 20;

/// A reader fed an input's bytes in order, in chunks of any size.
pub trait Feed {
    type Output;
    fn feed(&mut self, chunk: &[u8]);
    fn finish(self) -> Self::Output;
}

/// Reads the parts between consecutive `bounds` (offsets, ascending; the
/// first is where the input starts, the last where it ends) through
/// `read_at` (like `FileExt::read_at`), one thread per part, part `i` fed
/// to `reader(i)`. Results are in input order; a read error fails only
/// its part.
pub fn read_parts<F, R>(
    bounds: &[u64],
    read_at: &F,
    reader: impl Fn(usize) -> R + Sync,
) -> Vec<io::Result<R::Output>>
where
    F: Fn(u64, &mut [u8]) -> io::Result<usize> + Sync,
    R: Feed,
    R::Output: Send,
{
    let reader = &reader;
    std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (start, end) = (w[0], w[1]);
                s.spawn(move || -> io::Result<R::Output> {
                    let mut r = reader(i);
                    let size =
                        usize::try_from(end.saturating_sub(start)).map_or(CHUNK, |n| n.min(CHUNK));
                    let mut buf = vec![0u8; size];
                    let mut at = start;
                    while at < end {
                        let want = usize::try_from(end - at).map_or(CHUNK, |n| n.min(CHUNK));
                        let n = read_at(at, &mut buf[..want])?;
                        if n == 0 {
                            break;
                        }
                        r.feed(&buf[..n]);
                        at += n as u64;
                    }
                    Ok(r.finish())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
