//! Hostile input: never a panic, always a report.

use std::io::Read;

use gosleuth_logs::{Options, scan, scan_parallel};

use crate::repo_file;
use gosleuth_testkit::Rng;

/// Flips, deletes, duplicates and splices bytes of every embedded
/// fixture, thousands of times.
#[test]
fn mutations_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds: Vec<Vec<u8>> = [
        "crash.journald.txt",
        "crash.journald-short-iso.txt",
        "crash.docker-json.log",
        "crash.docker-timestamps.txt",
        "crash.jsonl.txt",
        "crash.crlf.txt",
    ]
    .iter()
    .map(|n| repo_file(&format!("fixtures/text/embedded/{n}")))
    .collect();
    let specials: &[&[u8]] = &[
        b"\xff\xfe",
        b"{\"",
        b"\n",
        b"\t",
        b"panic: ",
        b"goroutine 1 [",
        b"\"}",
        b"=",
        b"\\u00",
        b"]",
        b"\r",
    ];
    let opts = Options {
        assignments: true,
        ..Options::default()
    };
    for round in 0..1500 {
        let mut input = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(input.len());
            match rng.below(4) {
                0 => input[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + rng.below(64)).min(input.len());
                    input.drain(at..end);
                }
                2 => {
                    let s = specials[rng.below(specials.len())];
                    input.splice(at..at, s.iter().copied());
                }
                _ => {
                    let end = (at + rng.below(200)).min(input.len());
                    let copy = input[at..end].to_vec();
                    let to = rng.below(input.len());
                    input.splice(to..to, copy);
                }
            }
            if input.is_empty() {
                break;
            }
        }
        let r = scan(&input, &opts);
        assert_eq!(r.assignments.as_ref().map(Vec::len), Some(r.lines as usize));
    }
}

#[test]
fn invalid_utf8_and_huge_lines() {
    let mut input = b"2026/11/21 10:00:00 ERROR bad \xff\xfe bytes\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 3 << 20));
    input.extend_from_slice(b"\n2026/11/21 10:00:01 ERROR after the long line\n{\"msg\":\"");
    input.extend(std::iter::repeat_n(b'y', 2 << 20));
    let r = scan(&input, &Options::default());
    assert_eq!(r.lines, 4);
    assert_eq!(r.invalid_utf8_lines, 1);
    assert_eq!(r.long_lines, 2);
    assert!(
        r.templates
            .iter()
            .any(|t| t.template == "after the long line")
    );
    // The same input read on several threads and fed in odd chunk sizes.
    let p = scan_parallel(&input, &Options::default(), 4);
    assert_eq!(p.lines, 4);
    let opts = Options::default();
    let mut s = gosleuth_logs::Scanner::new(&opts);
    for c in input.chunks(4093) {
        s.feed(c);
    }
    let c = gosleuth_logs::finish(s, &opts);
    assert_eq!(c.lines, 4);
    assert_eq!(c.long_lines, 2);
}

#[test]
fn unknown_formats_fall_back_to_text() {
    let input = b"\x00\x01\x02 binary junk\n<<<>>>\n  \n%%% 42 %%%\n%%% 43 %%%\n";
    let r = scan(input, &Options::default());
    assert_eq!(r.lines, 5);
    assert!(
        r.templates
            .iter()
            .any(|t| t.template == "%%% <*> %%%" && t.count == 2)
    );
    assert!(r.templates.iter().all(|t| t.level.is_none()));
}

/// A gzip stream cut in the middle yields the lines before the cut (the
/// caller reports the error).
#[test]
fn truncated_gzip_yields_what_was_read() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let plain = repo_file("fixtures/text/embedded/crash.service-log.txt");
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    let cut = &gz[..gz.len() / 2];
    let mut dec = flate2::read::MultiGzDecoder::new(cut);
    let opts = Options::default();
    let mut s = gosleuth_logs::Scanner::new(&opts);
    let mut buf = vec![0u8; 8192];
    let err = loop {
        match dec.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => s.feed(&buf[..n]),
            Err(e) => break Some(e),
        }
    };
    assert!(err.is_some(), "a truncated stream is an error");
    let r = gosleuth_logs::finish(s, &opts);
    assert!(r.lines > 100 && r.lines < 3024, "{}", r.lines);
}

/// Timestamps at the ends of the calendar and absurd epoch numbers.
#[test]
fn extreme_timestamps() {
    let input = b"0000-01-01T00:00:00Z ERROR first\n\
        9999-12-31T23:59:59Z ERROR last\n\
        {\"level\":\"warn\",\"ts\":1e300,\"msg\":\"far\"}\n\
        {\"level\":\"warn\",\"ts\":-5,\"msg\":\"before\"}\n\
        2026/13/45 99:99:99 INFO not a date\n";
    let r = scan(input, &Options::default());
    assert_eq!(r.lines, 5);
    assert!(r.start.is_some() && r.end.is_some());
    let mut out = String::new();
    gosleuth_render::logs::report(&mut out, "x", &r, &Default::default());
    assert!(out.contains("first"));
}

/// Inputs that defeat clustering (random bytes, random words, and a
/// free-text field in every record) keep the template count under the
/// limit, count what is left in `<other>` templates, and never drop a
/// record: the work and memory per line stay bounded (the throughput is
/// measured by `cargo bench -p gosleuth-logs` and
/// `benches/logs-vs-drain3.py`, not here).
#[test]
fn free_text_and_random_input_stay_within_the_template_limit() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    // Random bytes.
    let random: Vec<u8> = (0..4 << 20).map(|_| rng.next() as u8).collect();
    // Random words: every record a new message.
    let mut words = String::new();
    while words.len() < 4 << 20 {
        for _ in 0..1 + rng.below(20) {
            for _ in 0..1 + rng.below(9) {
                words.push((b'a' + rng.below(26) as u8) as char);
            }
            words.push(' ');
        }
        words.push('\n');
    }
    // A logfmt field of free text (quoted) and one of a single free word
    // (unquoted), as a search service logs its queries.
    let mut fields = String::new();
    let vocab: Vec<String> = (0..5000)
        .map(|_| {
            (0..3 + rng.below(6))
                .map(|_| (b'a' + rng.below(26) as u8) as char)
                .collect()
        })
        .collect();
    for i in 0..40_000 {
        let q: Vec<&str> = (0..1 + rng.below(5))
            .map(|_| vocab[rng.below(vocab.len())].as_str())
            .collect();
        fields.push_str(&format!(
            "time=2026-11-21T10:{:02}:{:02}Z level=info msg=search query=\"{}\" sort={} took={}ms\n",
            i / 600 % 60,
            i / 10 % 60,
            q.join(" "),
            vocab[rng.below(vocab.len())],
            rng.below(900)
        ));
    }
    let limit = 500;
    let opts = Options {
        cluster: gosleuth_logs::cluster::ClusterOptions {
            max_templates: limit,
            ..Default::default()
        },
        ..Options::default()
    };
    for (name, input) in [
        ("random bytes", random.as_slice()),
        ("random words", words.as_bytes()),
        ("free-text fields", fields.as_bytes()),
    ] {
        for r in [scan(input, &opts), scan_parallel(input, &opts, 3)] {
            let made = r.templates.iter().filter(|t| !t.other).count();
            assert!(made <= limit, "{name}: {made} templates");
            assert!(
                r.templates.iter().filter(|t| t.other).count() <= 1,
                "{name}"
            );
            let counted: u64 = r.templates.iter().map(|t| t.count).sum();
            assert_eq!(counted, r.records, "{name}: every record is counted once");
            assert_eq!(
                r.lines,
                input.iter().filter(|&&c| c == b'\n').count() as u64
                    + u64::from(!input.ends_with(b"\n")),
                "{name}"
            );
        }
    }
    // The free-text fields are one template: the quoted query is a
    // variable, and the many different words of `sort=` (more than the
    // template limit) make it one too, as soon as four differ.
    let r = scan(fields.as_bytes(), &opts);
    let t: Vec<_> = r.templates.iter().map(|t| (&t.template, t.count)).collect();
    assert_eq!(
        t,
        [(&"search query=<*> sort=<*> took=<*>".to_string(), 40_000)],
        "{t:?}"
    );
    // Random bytes are binary data, left out of the templates.
    let r = scan(&random, &Options::default());
    assert!(
        r.binary_lines * 4 > r.lines * 3,
        "{} of {}",
        r.binary_lines,
        r.lines
    );
}

/// A grep of `panic:` lines (`yes 'panic: x'`): the first
/// [`gosleuth_logs::scan::MAX_PANICS`] panics are parsed, the rest are
/// counted, so memory and output stay bounded; a line of NUL bytes (a
/// file's unwritten blocks after a crash) is binary data, not a template.
#[test]
fn repeated_panic_lines_and_nul_blocks_are_bounded() {
    let max = gosleuth_logs::scan::MAX_PANICS as usize;
    let input = "panic: x\n".repeat(max * 3);
    let r = scan(input.as_bytes(), &Options::default());
    assert_eq!(r.runtime_lines, 3 * max as u64);
    assert_eq!(r.runtime_lines_unparsed, 2 * max as u64);
    assert!(r.templates.is_empty());
    let mut out = String::new();
    gosleuth_render::logs::report(&mut out, "x", &r, &Default::default());
    assert!(out.len() < 4 << 20, "{} bytes of output", out.len());
    assert!(out.contains("counted but not parsed"), "{}", &out[..200]);

    let mut input = b"2026/11/21 10:00:00 ERROR before the crash\n".to_vec();
    input.extend(std::iter::repeat_n(0u8, 3 << 20));
    input.extend_from_slice(b"\n2026/11/21 10:05:00 INFO started\n");
    let r = scan(&input, &Options::default());
    assert_eq!(r.binary_lines, 1);
    assert_eq!(r.templates.len(), 2, "{:?}", r.templates);
}
