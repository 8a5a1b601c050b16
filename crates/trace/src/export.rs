//! Timelines for viewers that scale: Perfetto's protobuf trace and
//! Chrome's trace-event JSON, written as the trace streams past.
//!
//! One track (Chrome: one thread) per goroutine, whose slices are its
//! states (`running`, `runnable`, `syscall`, `blocked: <reason>`); one per
//! P, whose slices are the goroutines it ran (`G17`); a `GC` track with the
//! GC cycles and a `STW` track with the stops of the world.
//! In Perfetto, an unblock is a flow from the goroutine that unblocked to
//! the runnable slice of the one unblocked.

use std::io::Write;

/// Where the timeline goes.
pub trait Sink {
    /// A track appears (before its first slice).
    fn track(&mut self, id: u64, name: &str) -> std::io::Result<()>;
    /// A slice begins on a track at `ns`; `flow` links it to an instant.
    fn begin(&mut self, track: u64, ns: i64, name: &str, flow: Option<u64>) -> std::io::Result<()>;
    fn end(&mut self, track: u64, ns: i64) -> std::io::Result<()>;
    /// A point event, with a flow to a later slice.
    fn instant(
        &mut self,
        track: u64,
        ns: i64,
        name: &str,
        flow: Option<u64>,
    ) -> std::io::Result<()>;
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Tracks that are not goroutines.
pub const GC_TRACK: u64 = 1;
pub const STW_TRACK: u64 = 2;
/// A goroutine's track: this plus its id.
pub const GOROUTINE_TRACKS: u64 = 1 << 32;
/// A P's track: this plus its id (its slices are the goroutines it ran).
pub const P_TRACKS: u64 = 1 << 16;

/// Perfetto's `Trace` protobuf: a stream of `TracePacket`s (field 1 of
/// `Trace`), each written as soon as it is known.
pub struct Perfetto<W: Write> {
    w: W,
    buf: Vec<u8>,
}

const SEQUENCE: u64 = 1;

impl<W: Write> Perfetto<W> {
    pub fn new(w: W) -> Self {
        Perfetto { w, buf: Vec::new() }
    }

    fn packet(&mut self, body: &[u8]) -> std::io::Result<()> {
        self.buf.clear();
        put_key(&mut self.buf, 1, 2);
        put_varint(&mut self.buf, body.len() as u64);
        self.buf.extend_from_slice(body);
        self.w.write_all(&self.buf)
    }

    fn event(
        &mut self,
        ns: i64,
        ty: u64,
        track: u64,
        name: Option<&str>,
        flow: Option<u64>,
    ) -> std::io::Result<()> {
        let mut ev = Vec::new();
        put_key(&mut ev, 9, 0); // type
        put_varint(&mut ev, ty);
        put_key(&mut ev, 11, 0); // track_uuid
        put_varint(&mut ev, track);
        if let Some(n) = name {
            put_bytes(&mut ev, 23, n.as_bytes()); // name
        }
        if let Some(f) = flow {
            put_key(&mut ev, 47, 1); // flow_ids (fixed64)
            ev.extend_from_slice(&f.to_le_bytes());
        }
        let mut p = Vec::new();
        put_key(&mut p, 8, 0); // timestamp
        put_varint(&mut p, ns.max(0) as u64);
        put_key(&mut p, 10, 0); // trusted_packet_sequence_id
        put_varint(&mut p, SEQUENCE);
        put_bytes(&mut p, 11, &ev); // track_event
        self.packet(&p)
    }
}

impl<W: Write> Sink for Perfetto<W> {
    fn track(&mut self, id: u64, name: &str) -> std::io::Result<()> {
        let mut d = Vec::new();
        put_key(&mut d, 1, 0); // uuid
        put_varint(&mut d, id);
        put_bytes(&mut d, 2, name.as_bytes()); // name
        let mut p = Vec::new();
        put_key(&mut p, 10, 0);
        put_varint(&mut p, SEQUENCE);
        put_bytes(&mut p, 60, &d); // track_descriptor
        self.packet(&p)
    }

    fn begin(&mut self, track: u64, ns: i64, name: &str, flow: Option<u64>) -> std::io::Result<()> {
        self.event(ns, 1, track, Some(name), flow)
    }

    fn end(&mut self, track: u64, ns: i64) -> std::io::Result<()> {
        self.event(ns, 2, track, None, None)
    }

    fn instant(
        &mut self,
        track: u64,
        ns: i64,
        name: &str,
        flow: Option<u64>,
    ) -> std::io::Result<()> {
        self.event(ns, 3, track, Some(name), flow)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

fn put_varint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

fn put_key(b: &mut Vec<u8>, field: u64, wire: u64) {
    put_varint(b, (field << 3) | wire);
}

fn put_bytes(b: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(b, field, 2);
    put_varint(b, bytes.len() as u64);
    b.extend_from_slice(bytes);
}

/// Chrome's trace-event JSON (`{"traceEvents":[...]}`), which Perfetto's
/// UI and `chrome://tracing` open: `B`/`E` events per thread (one per
/// track), `i` for instants, `M` events naming the threads; times in
/// microseconds.
pub struct Chrome<W: Write> {
    w: W,
    first: bool,
}

impl<W: Write> Chrome<W> {
    pub fn new(mut w: W) -> std::io::Result<Self> {
        w.write_all(b"{\"traceEvents\":[\n")?;
        Ok(Chrome { w, first: true })
    }

    fn event(&mut self, json: &str) -> std::io::Result<()> {
        if !self.first {
            self.w.write_all(b",\n")?;
        }
        self.first = false;
        self.w.write_all(json.as_bytes())
    }

    /// One event of phase `ph` (`B`, `E`, `i`: instants are thread-scoped).
    fn timed(&mut self, ph: &str, track: u64, ns: i64, name: Option<&str>) -> std::io::Result<()> {
        let name = name
            .map(|n| format!("\"name\":{},", serde_json::Value::from(n)))
            .unwrap_or_default();
        let scope = if ph == "i" { "\"s\":\"t\"," } else { "" };
        self.event(&format!(
            "{{\"ph\":\"{ph}\",{scope}{name}\"pid\":1,\"tid\":{track},\"ts\":{}}}",
            us(ns)
        ))
    }
}

fn us(ns: i64) -> String {
    format!("{}.{:03}", ns / 1000, (ns % 1000).abs())
}

impl<W: Write> Sink for Chrome<W> {
    fn track(&mut self, id: u64, name: &str) -> std::io::Result<()> {
        self.event(&format!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{id},\"args\":{{\"name\":{}}}}}",
            serde_json::Value::from(name)
        ))
    }

    fn begin(
        &mut self,
        track: u64,
        ns: i64,
        name: &str,
        _flow: Option<u64>,
    ) -> std::io::Result<()> {
        self.timed("B", track, ns, Some(name))
    }

    fn end(&mut self, track: u64, ns: i64) -> std::io::Result<()> {
        self.timed("E", track, ns, None)
    }

    fn instant(
        &mut self,
        track: u64,
        ns: i64,
        name: &str,
        _flow: Option<u64>,
    ) -> std::io::Result<()> {
        self.timed("i", track, ns, Some(name))
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.w.write_all(b"\n]}\n")?;
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_json_is_json() {
        let mut out = Vec::new();
        {
            let mut c = Chrome::new(&mut out).unwrap();
            c.track(5, "G5 \"main\"").unwrap();
            c.begin(5, 1500, "running", None).unwrap();
            c.end(5, 2500).unwrap();
            c.finish().unwrap();
        }
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("\"ts\":1.500"), "{s}");
        assert!(s.contains("\"name\":\"G5 \\\"main\\\"\""), "{s}");
    }

    #[test]
    fn varints() {
        let mut b = Vec::new();
        put_varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
    }
}
